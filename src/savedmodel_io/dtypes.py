"""One table between TensorFlow's ``DataType`` enum and numpy dtypes.

>>> as_numpy_dtype(DataType.DT_BFLOAT16)
dtype(bfloat16)
>>> from_numpy_dtype(np.dtype("float32"))
<DataType.DT_FLOAT: 1>

Strings are numpy ``object`` arrays of ``bytes`` (what TensorFlow's ``.numpy()`` gives).
The quantized types are structured dtypes with one field named after the type, as
TensorFlow's Python API defines them. ``DT_RESOURCE`` and ``DT_VARIANT`` have no numpy
dtype; asking for one raises :class:`~savedmodel_io.errors.UnimplementedError`.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import ml_dtypes
import numpy as np

from savedmodel_io.errors import InvalidArgumentError, UnimplementedError

REF_OFFSET = 100


class DataType(enum.IntEnum):
    """TensorFlow's ``DataType`` enum values (types.proto)."""

    DT_INVALID = 0
    DT_FLOAT = 1
    DT_DOUBLE = 2
    DT_INT32 = 3
    DT_UINT8 = 4
    DT_INT16 = 5
    DT_INT8 = 6
    DT_STRING = 7
    DT_COMPLEX64 = 8
    DT_INT64 = 9
    DT_BOOL = 10
    DT_QINT8 = 11
    DT_QUINT8 = 12
    DT_QINT32 = 13
    DT_BFLOAT16 = 14
    DT_QINT16 = 15
    DT_QUINT16 = 16
    DT_UINT16 = 17
    DT_COMPLEX128 = 18
    DT_HALF = 19
    DT_RESOURCE = 20
    DT_VARIANT = 21
    DT_UINT32 = 22
    DT_UINT64 = 23
    DT_FLOAT8_E5M2 = 24
    DT_FLOAT8_E4M3FN = 25
    DT_FLOAT8_E4M3FNUZ = 26
    DT_FLOAT8_E4M3B11FNUZ = 27
    DT_FLOAT8_E5M2FNUZ = 28
    DT_INT4 = 29
    DT_UINT4 = 30
    DT_INT2 = 31
    DT_UINT2 = 32
    DT_FLOAT4_E2M1FN = 33
    DT_FLOAT_REF = 101
    DT_DOUBLE_REF = 102
    DT_INT32_REF = 103
    DT_UINT8_REF = 104
    DT_INT16_REF = 105
    DT_INT8_REF = 106
    DT_STRING_REF = 107
    DT_COMPLEX64_REF = 108
    DT_INT64_REF = 109
    DT_BOOL_REF = 110
    DT_QINT8_REF = 111
    DT_QUINT8_REF = 112
    DT_QINT32_REF = 113
    DT_BFLOAT16_REF = 114
    DT_QINT16_REF = 115
    DT_QUINT16_REF = 116
    DT_UINT16_REF = 117
    DT_COMPLEX128_REF = 118
    DT_HALF_REF = 119
    DT_RESOURCE_REF = 120
    DT_VARIANT_REF = 121
    DT_UINT32_REF = 122
    DT_UINT64_REF = 123
    DT_FLOAT8_E5M2_REF = 124
    DT_FLOAT8_E4M3FN_REF = 125
    DT_FLOAT8_E4M3FNUZ_REF = 126
    DT_FLOAT8_E4M3B11FNUZ_REF = 127
    DT_FLOAT8_E5M2FNUZ_REF = 128
    DT_INT4_REF = 129
    DT_UINT4_REF = 130
    DT_INT2_REF = 131
    DT_UINT2_REF = 132
    DT_FLOAT4_E2M1FN_REF = 133


@dataclass(frozen=True)
class DTypeInfo:
    """What the library knows about one (non-reference) DataType."""

    dtype: DataType
    python_name: str  # TensorFlow's Python name: "float32", "string", "qint8"...
    numpy: np.dtype | None  # None for resource and variant
    itemsize: int | None  # bytes per element in bundle data; None when variable-sized


def _q(name: str, base: str) -> np.dtype:
    return np.dtype([(name, base)])


def _ml(name: str) -> np.dtype | None:
    # Older ml_dtypes releases lack the newest 2- and 4-bit types.
    t = getattr(ml_dtypes, name, None)
    return None if t is None else np.dtype(t)


_ROWS: list[tuple[DataType, str, np.dtype | None, int | None]] = [
    (DataType.DT_FLOAT, "float32", np.dtype("<f4"), 4),
    (DataType.DT_DOUBLE, "float64", np.dtype("<f8"), 8),
    (DataType.DT_INT32, "int32", np.dtype("<i4"), 4),
    (DataType.DT_UINT8, "uint8", np.dtype("u1"), 1),
    (DataType.DT_INT16, "int16", np.dtype("<i2"), 2),
    (DataType.DT_INT8, "int8", np.dtype("i1"), 1),
    (DataType.DT_STRING, "string", np.dtype(object), None),
    (DataType.DT_COMPLEX64, "complex64", np.dtype("<c8"), 8),
    (DataType.DT_INT64, "int64", np.dtype("<i8"), 8),
    (DataType.DT_BOOL, "bool", np.dtype("?"), 1),
    (DataType.DT_QINT8, "qint8", _q("qint8", "i1"), 1),
    (DataType.DT_QUINT8, "quint8", _q("quint8", "u1"), 1),
    (DataType.DT_QINT32, "qint32", _q("qint32", "<i4"), 4),
    (DataType.DT_BFLOAT16, "bfloat16", np.dtype(ml_dtypes.bfloat16), 2),
    (DataType.DT_QINT16, "qint16", _q("qint16", "<i2"), 2),
    (DataType.DT_QUINT16, "quint16", _q("quint16", "<u2"), 2),
    (DataType.DT_UINT16, "uint16", np.dtype("<u2"), 2),
    (DataType.DT_COMPLEX128, "complex128", np.dtype("<c16"), 16),
    (DataType.DT_HALF, "float16", np.dtype("<f2"), 2),
    (DataType.DT_RESOURCE, "resource", None, None),
    (DataType.DT_VARIANT, "variant", None, None),
    (DataType.DT_UINT32, "uint32", np.dtype("<u4"), 4),
    (DataType.DT_UINT64, "uint64", np.dtype("<u8"), 8),
    (DataType.DT_FLOAT8_E5M2, "float8_e5m2", _ml("float8_e5m2"), 1),
    (DataType.DT_FLOAT8_E4M3FN, "float8_e4m3fn", _ml("float8_e4m3fn"), 1),
    (DataType.DT_FLOAT8_E4M3FNUZ, "float8_e4m3fnuz", _ml("float8_e4m3fnuz"), 1),
    (DataType.DT_FLOAT8_E4M3B11FNUZ, "float8_e4m3b11fnuz", _ml("float8_e4m3b11fnuz"), 1),
    (DataType.DT_FLOAT8_E5M2FNUZ, "float8_e5m2fnuz", _ml("float8_e5m2fnuz"), 1),
    (DataType.DT_INT4, "int4", _ml("int4"), 1),
    (DataType.DT_UINT4, "uint4", _ml("uint4"), 1),
    (DataType.DT_INT2, "int2", _ml("int2"), 1),
    (DataType.DT_UINT2, "uint2", _ml("uint2"), 1),
    (DataType.DT_FLOAT4_E2M1FN, "float4_e2m1fn", _ml("float4_e2m1fn"), 1),
]

_INFO: dict[DataType, DTypeInfo] = {
    dt: DTypeInfo(dt, name, npd, size) for dt, name, npd, size in _ROWS
}

# numpy -> DataType. Structured quantized dtypes map back by equality; plain numpy
# dtypes of either byte order map to the same DataType.
_FROM_NUMPY: dict[np.dtype, DataType] = {
    info.numpy: dt for dt, info in _INFO.items() if info.numpy is not None
}


def to_datatype(value: int | str | DataType) -> DataType:
    """A DataType from its number or name (``1``, ``"DT_FLOAT"``, ``"float32"``)."""
    if isinstance(value, DataType):
        return value
    if isinstance(value, str):
        if value in DataType.__members__:
            return DataType[value]
        for info in _INFO.values():
            if info.python_name == value:
                return info.dtype
        raise InvalidArgumentError(f"unknown dtype name {value!r}")
    try:
        return DataType(int(value))
    except ValueError:
        raise InvalidArgumentError(
            f"unknown DataType number {value} (known: 0..33 and their _REF variants)"
        ) from None


def base_dtype(dtype: int | DataType) -> DataType:
    """Strip ``_REF``: ``DT_FLOAT_REF`` -> ``DT_FLOAT``."""
    dt = to_datatype(dtype)
    return DataType(dt - REF_OFFSET) if dt > REF_OFFSET else dt


def is_ref(dtype: int | DataType) -> bool:
    return to_datatype(dtype) > REF_OFFSET


def info(dtype: int | DataType) -> DTypeInfo:
    """The table row of a DataType (reference types use their base type's row)."""
    dt = base_dtype(dtype)
    row = _INFO.get(dt)
    if row is None:
        raise InvalidArgumentError(f"{dt.name} is not a type a tensor can hold")
    return row


def as_numpy_dtype(dtype: int | DataType) -> np.dtype:
    """The numpy dtype for a DataType; resource/variant and unsupported types raise."""
    row = info(dtype)
    if row.numpy is None:
        raise UnimplementedError(
            f"{row.dtype.name} ({row.python_name}) has no numpy dtype: "
            "such tensors are handles or opaque objects, not arrays"
        )
    return row.numpy


def from_numpy_dtype(dtype: np.dtype | type | str) -> DataType:
    """The DataType for a numpy dtype (``object`` and ``bytes_``/``str_`` -> DT_STRING)."""
    npd = np.dtype(dtype)
    if npd.kind in ("O", "S", "U"):
        return DataType.DT_STRING
    found = _FROM_NUMPY.get(npd) or _FROM_NUMPY.get(npd.newbyteorder("<"))
    if found is None:
        raise InvalidArgumentError(f"numpy dtype {npd} has no TensorFlow DataType")
    return found


def itemsize(dtype: int | DataType) -> int | None:
    """Bytes per element in checkpoint data, or None for strings and variants."""
    return info(dtype).itemsize


def python_name(dtype: int | DataType) -> str:
    """TensorFlow's Python name of the type: ``DT_HALF`` -> ``"float16"``."""
    dt = to_datatype(dtype)
    name = info(dt).python_name
    return name + "_ref" if is_ref(dt) else name


def is_fixed_size(dtype: int | DataType) -> bool:
    """True when every element takes the same number of bytes (a plain memory copy)."""
    return info(dtype).itemsize is not None


def to_tensor(value: Any, dtype: int | DataType | None = None) -> tuple[np.ndarray, DataType]:
    """Normalize a value to (array, DataType); strings become object arrays of bytes."""
    if dtype is not None:
        dt = base_dtype(dtype)
        if dt == DataType.DT_STRING:
            arr = np.asarray(value, dtype=object)
            return arr, dt
        if dt == DataType.DT_VARIANT:
            return np.asarray(value, dtype=object), dt
        want = as_numpy_dtype(dt)
        arr = np.asarray(value)
        if arr.dtype != want:
            if want.fields is not None and arr.dtype.fields is None:
                base = want.fields[next(iter(want.fields))][0]
                arr = np.ascontiguousarray(arr, dtype=base).view(want)
            else:
                arr = arr.astype(want)
        return arr, dt
    arr = np.asarray(value)
    if arr.dtype.kind in "OSU":
        if arr.dtype.kind != "O":
            arr = arr.astype(object)
        return arr, DataType.DT_STRING
    return arr, from_numpy_dtype(arr.dtype)


def as_bytes_list(array: np.ndarray | Sequence[object]) -> list[bytes]:
    """Elements of a string tensor as a flat list of ``bytes`` (``str`` is UTF-8 encoded)."""
    arr = np.asarray(array, dtype=object) if not isinstance(array, np.ndarray) else array
    out: list[bytes] = []
    for e in arr.ravel().tolist():
        if isinstance(e, bytes):
            out.append(e)
        elif isinstance(e, str):
            out.append(e.encode("utf-8"))
        elif isinstance(e, (bytearray, memoryview, np.bytes_)):
            out.append(bytes(e))
        else:
            raise InvalidArgumentError(
                f"a string tensor holds bytes or str, found {type(e).__name__}"
            )
    return out


__all__ = [
    "to_tensor",
    "as_bytes_list",
    "DataType",
    "DTypeInfo",
    "to_datatype",
    "base_dtype",
    "is_ref",
    "info",
    "as_numpy_dtype",
    "from_numpy_dtype",
    "itemsize",
    "python_name",
    "is_fixed_size",
]
