"""``TensorProto`` <-> numpy, like ``tf.make_tensor_proto`` and ``tf.make_ndarray``.

>>> to_numpy(from_numpy(np.array([1.5, 2.0], np.float32)))
array([1.5, 2. ], dtype=float32)

Decoding follows TensorFlow's rules: ``tensor_content`` holds raw bytes; otherwise the
typed ``*_val`` field holds the elements, and when it holds fewer than the shape needs the
last value is repeated (how TensorFlow stores constant fills); an empty field means zeros.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import numpy as np

from savedmodel_io import dtypes
from savedmodel_io.dtypes import DataType
from savedmodel_io.errors import DataLossError, InvalidArgumentError, UnimplementedError
from savedmodel_io.protos import tensor_pb2, tensor_shape_pb2, types_pb2

# DataType -> name of the repeated field that holds its elements.
_FIELD: dict[DataType, str] = {
    DataType.DT_FLOAT: "float_val",
    DataType.DT_DOUBLE: "double_val",
    DataType.DT_INT32: "int_val",
    DataType.DT_UINT8: "int_val",
    DataType.DT_INT16: "int_val",
    DataType.DT_INT8: "int_val",
    DataType.DT_UINT16: "int_val",
    DataType.DT_QINT8: "int_val",
    DataType.DT_QUINT8: "int_val",
    DataType.DT_QINT16: "int_val",
    DataType.DT_QUINT16: "int_val",
    DataType.DT_QINT32: "int_val",
    DataType.DT_STRING: "string_val",
    DataType.DT_COMPLEX64: "scomplex_val",
    DataType.DT_COMPLEX128: "dcomplex_val",
    DataType.DT_INT64: "int64_val",
    DataType.DT_BOOL: "bool_val",
    DataType.DT_HALF: "half_val",
    DataType.DT_BFLOAT16: "half_val",
    DataType.DT_UINT32: "uint32_val",
    DataType.DT_UINT64: "uint64_val",
}

# Types TensorFlow stores as raw ``tensor_content`` when a tensor has more than one element;
# bool, complex, the 4/2-bit ints and strings always use the typed field.
_CONTENT_TYPES = frozenset({
    DataType.DT_HALF, DataType.DT_FLOAT, DataType.DT_DOUBLE, DataType.DT_INT32,
    DataType.DT_UINT8, DataType.DT_INT16, DataType.DT_INT8, DataType.DT_INT64,
    DataType.DT_QINT8, DataType.DT_QUINT8, DataType.DT_QINT16, DataType.DT_QUINT16,
    DataType.DT_QINT32, DataType.DT_UINT32, DataType.DT_UINT64, DataType.DT_BFLOAT16,
} | {dt for dt in DataType if dt.name.startswith(("DT_FLOAT8", "DT_FLOAT4"))})

# Guard against a tiny proto that asks for a gigantic fill.
MAX_FILL_ELEMENTS = 1 << 31


def proto_dtype(dtype: int | DataType) -> types_pb2.DataType:
    """A DataType as the protobuf enum field type (an int at run time)."""
    return cast(types_pb2.DataType, int(dtype))


def shape_to_proto(shape: Sequence[int] | None, out: tensor_shape_pb2.TensorShapeProto
                   ) -> None:
    """Fill a TensorShapeProto; ``None`` means unknown rank, ``-1`` an unknown dimension."""
    out.SetInParent()
    if shape is None:
        out.unknown_rank = True
        return
    for d in shape:
        out.dim.add().size = -1 if d is None else int(d)


def shape_from_proto(p: tensor_shape_pb2.TensorShapeProto) -> tuple[int, ...] | None:
    if p.unknown_rank:
        return None
    return tuple(d.size for d in p.dim)


def values_field(dtype: DataType) -> str:
    field = _FIELD.get(dtypes.base_dtype(dtype))
    if field is None:
        raise UnimplementedError(f"no TensorProto value field for {dtype.name}")
    return field


def to_numpy(p: tensor_pb2.TensorProto, *, dtype: DataType | None = None,
             shape: Sequence[int] | None = None) -> np.ndarray:
    """The array a TensorProto holds; ``dtype``/``shape`` stand in when the proto has none."""
    dt = dtypes.base_dtype(dtype if dtype is not None else p.dtype)
    if shape is None:
        got = shape_from_proto(p.tensor_shape)
        if got is None or any(d < 0 for d in got):
            raise DataLossError(f"constant tensor has an unknown shape {got}")
        shape = got
    n = 1
    for d in shape:
        n *= int(d)
    if dt == DataType.DT_STRING:
        vals = list(p.string_val)
        return _fill_objects(vals, n, tuple(shape))
    if dt in (DataType.DT_RESOURCE, DataType.DT_VARIANT):
        raise UnimplementedError(f"{dt.name} constants have no numpy form")
    npd = dtypes.as_numpy_dtype(dt)
    if p.tensor_content:
        if len(p.tensor_content) != n * npd.itemsize:
            raise DataLossError(
                f"tensor_content has {len(p.tensor_content)} bytes, {dt.name} shape "
                f"{list(shape)} needs {n * npd.itemsize}")
        content: np.ndarray = np.frombuffer(p.tensor_content, dtype=npd).copy()
        return content.reshape(tuple(shape))
    field = values_field(dt)
    raw = getattr(p, field)
    if dt in (DataType.DT_COMPLEX64, DataType.DT_COMPLEX128):
        flat = np.asarray(raw, dtype=np.float32 if dt == DataType.DT_COMPLEX64
                          else np.float64)
        if flat.size % 2:
            raise DataLossError("complex values come in (real, imag) pairs")
        arr = flat.view(npd)
    elif dt in (DataType.DT_HALF, DataType.DT_BFLOAT16):
        arr = np.asarray(raw, dtype=np.uint16).view(npd)
    elif npd.fields is not None:
        base = npd.fields[next(iter(npd.fields))][0]
        arr = np.asarray(raw).astype(base).view(npd)
    else:
        arr = np.asarray(raw).astype(npd)
    return _fill(arr, n, tuple(shape))


def _fill(arr: np.ndarray, n: int, shape: tuple[int, ...]) -> np.ndarray:
    if arr.size == n:
        return arr.reshape(shape)
    if arr.size > n:
        raise DataLossError(f"tensor holds {arr.size} values, its shape {list(shape)} "
                            f"has room for {n}")
    if n > MAX_FILL_ELEMENTS:
        raise DataLossError(f"refusing to expand a constant to {n} elements")
    out = np.zeros(n, dtype=arr.dtype)
    if arr.size:
        out[: arr.size] = arr
        out[arr.size:] = arr[-1]
    return out.reshape(shape)


def _fill_objects(vals: list[bytes], n: int, shape: tuple[int, ...]) -> np.ndarray:
    if len(vals) > n:
        raise DataLossError(f"tensor holds {len(vals)} strings, its shape {list(shape)} "
                            f"has room for {n}")
    if len(vals) < n and n > MAX_FILL_ELEMENTS:
        raise DataLossError(f"refusing to expand a constant to {n} elements")
    out = np.empty(n, dtype=object)
    out[: len(vals)] = vals
    if len(vals) < n:
        out[len(vals):] = vals[-1] if vals else b""
    return out.reshape(shape)


def from_numpy(value: Any, dtype: int | DataType | None = None, *,
               shape: Sequence[int] | None = None,
               use_tensor_content: bool = True) -> tensor_pb2.TensorProto:
    """A TensorProto holding ``value`` (numbers, strings, nested lists or arrays).

    Like TensorFlow, numeric tensors with more than one element use ``tensor_content``;
    scalars, strings, bools and complex numbers use the typed value field. Plain Python
    values (not numpy) become float32 and int32 unless ``dtype`` says otherwise, as in
    ``tf.make_tensor_proto`` (int64 when a value does not fit int32).
    """
    arr, dt = dtypes.to_tensor(value, dtype)
    if dtype is None and not isinstance(value, (np.ndarray, np.generic)):
        if dt == DataType.DT_DOUBLE:
            arr, dt = arr.astype(np.float32), DataType.DT_FLOAT
        elif dt == DataType.DT_INT64 and np.array_equal(arr.astype(np.int32), arr):
            arr, dt = arr.astype(np.int32), DataType.DT_INT32
    if shape is not None:
        if int(np.prod(shape)) != arr.size:
            if arr.size != 1:
                raise InvalidArgumentError(
                    f"cannot shape {arr.size} values as {list(shape)}")
            arr = np.full(tuple(shape), arr.reshape(()), dtype=arr.dtype)
        arr = arr.reshape(tuple(shape))
    p = tensor_pb2.TensorProto()
    p.dtype = proto_dtype(dt)
    shape_to_proto(arr.shape, p.tensor_shape)
    if dt == DataType.DT_STRING:
        p.string_val.extend(dtypes.as_bytes_list(arr))
        return p
    if use_tensor_content and arr.size > 1 and dt in _CONTENT_TYPES:
        p.tensor_content = np.ascontiguousarray(arr).tobytes()
        return p
    field = values_field(dt)
    flat = np.ascontiguousarray(arr).reshape(-1)
    if dt in (DataType.DT_COMPLEX64, DataType.DT_COMPLEX128):
        vals = flat.view(np.float32 if dt == DataType.DT_COMPLEX64 else np.float64).tolist()
    elif dt in (DataType.DT_HALF, DataType.DT_BFLOAT16):
        vals = flat.view(np.uint16).tolist()
    elif flat.dtype.fields is not None:
        vals = flat.view(flat.dtype.fields[next(iter(flat.dtype.fields))][0]).tolist()
    else:
        vals = flat.tolist()
    getattr(p, field).extend(vals)
    return p


__all__ = ["proto_dtype", "to_numpy", "from_numpy", "shape_to_proto", "shape_from_proto",
           "values_field"]
