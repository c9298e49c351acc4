"""``Variable``: a named numpy array that a :class:`~savedmodel_io.train.Saver` saves and
restores in place, standing in for a TensorFlow variable in a Session::

    w = Variable("dense/kernel", np.zeros((4, 2), np.float32))
    w.assign(np.ones((4, 2), np.float32))     # same dtype and shape, or an error

``resource=True`` makes the exported graph use a resource variable (``VarHandleOp``),
``resource=False`` a reference variable (``VariableV2``), as TF1 does. A piece of a
partitioned variable carries a :class:`SaveSliceInfo` saying where it sits in the whole.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from savedmodel_io.dtypes import DataType, to_tensor
from savedmodel_io.errors import InvalidArgumentError
from savedmodel_io.format.slices import TensorSlice, format_shape_and_slice

# TensorFlow's rule for op names (the first character may not be '_' or '/').
_OP_NAME = re.compile(r"[A-Za-z0-9.][A-Za-z0-9_.\-/>]*\Z")


@dataclass(frozen=True)
class SaveSliceInfo:
    """Where a partition sits in its full variable (TensorFlow's ``SaveSliceInfoDef``)."""

    full_name: str
    full_shape: tuple[int, ...]
    var_offset: tuple[int, ...]
    var_shape: tuple[int, ...]

    def __post_init__(self) -> None:
        n = len(self.full_shape)
        if len(self.var_offset) != n or len(self.var_shape) != n or n == 0:
            raise InvalidArgumentError(
                f"slice info of {self.full_name!r}: full_shape {list(self.full_shape)}, "
                f"var_offset {list(self.var_offset)} and var_shape {list(self.var_shape)} "
                "must have the same non-zero rank")
        for full, off, size in zip(self.full_shape, self.var_offset, self.var_shape, strict=True):
            if off < 0 or size < 0 or off + size > full:
                raise InvalidArgumentError(
                    f"slice info of {self.full_name!r}: offset {list(self.var_offset)} + "
                    f"shape {list(self.var_shape)} leaves {list(self.full_shape)}")

    @property
    def tensor_slice(self) -> TensorSlice:
        return TensorSlice(tuple(zip(self.var_offset, self.var_shape, strict=True)))

    @property
    def spec(self) -> str:
        """The ``shape_and_slices`` string SaveV2 takes, e.g. ``"5 2 0,3:0,2"``."""
        return format_shape_and_slice(self.full_shape, self.tensor_slice)


class Variable:
    """A named, mutable numpy array with a fixed dtype and shape."""

    def __init__(self, name: str, value: Any, trainable: bool = True, resource: bool = False,
                 *, dtype: int | DataType | None = None,
                 save_slice_info: SaveSliceInfo | None = None) -> None:
        if name.endswith(":0"):
            name = name[:-2]
        if not _OP_NAME.match(name):
            raise InvalidArgumentError(
                f"{name!r} is not a valid variable name (TensorFlow op names match "
                "[A-Za-z0-9.][A-Za-z0-9_.\\-/>]*)")
        arr, dt = to_tensor(value, dtype)
        self.name = name
        self.trainable = bool(trainable)
        self.resource = bool(resource)
        self._dtype = dt
        self.value: np.ndarray = np.array(arr, copy=True)
        if save_slice_info is not None and tuple(self.value.shape) != tuple(
                save_slice_info.var_shape):
            raise InvalidArgumentError(
                f"variable {name!r} has shape {list(self.value.shape)}, its slice info "
                f"says {list(save_slice_info.var_shape)}")
        self.save_slice_info = save_slice_info

    @property
    def dtype(self) -> DataType:
        return self._dtype

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(int(d) for d in self.value.shape)

    def numpy(self) -> np.ndarray:
        return self.value

    def check_compatible(self, value: Any, *, source: str | None = None) -> np.ndarray:
        """``value`` as an array of this variable's dtype and shape, or an error saying why."""
        arr = np.asarray(value) if not isinstance(value, np.ndarray) else value
        where = f" (from {source})" if source else ""
        try:
            got_dt = to_tensor(arr)[1]
        except InvalidArgumentError:
            got_dt = None
        if got_dt != self._dtype:
            got = got_dt.name if got_dt is not None else str(arr.dtype)
            raise InvalidArgumentError(
                f"cannot assign a {got} value to variable {self.name!r} of dtype "
                f"{self._dtype.name}{where}")
        if tuple(arr.shape) != self.shape:
            raise InvalidArgumentError(
                f"cannot assign a value of shape {list(arr.shape)} to variable "
                f"{self.name!r} of shape {list(self.shape)}{where}")
        return to_tensor(arr, self._dtype)[0]

    def assign(self, value: Any) -> Variable:
        """Replace the value (same dtype and shape; the array is copied)."""
        self.value = np.array(self.check_compatible(value), copy=True)
        return self

    def __repr__(self) -> str:
        kind = "resource" if self.resource else "ref"
        return (f"Variable({self.name!r}, shape={list(self.shape)}, "
                f"dtype={self._dtype.name}, {kind})")


def partition(name: str, value: Any, num_shards: int, *, axis: int = 0,
              trainable: bool = True, resource: bool = False) -> list[Variable]:
    """Split ``value`` into ``num_shards`` partitions like ``fixed_size_partitioner``.

    Partitions are named ``<name>/part_<i>``; the first ``dim % num_shards`` get one extra
    row, as in TensorFlow.
    """
    arr, dt = to_tensor(value)
    if arr.ndim == 0:
        raise InvalidArgumentError("cannot partition a scalar")
    dim = arr.shape[axis]
    n = max(1, min(num_shards, dim))
    base, extra = divmod(dim, n)
    out: list[Variable] = []
    offset = 0
    for i in range(n):
        size = base + (1 if i < extra else 0)
        idx: list[Any] = [slice(None)] * arr.ndim
        idx[axis] = slice(offset, offset + size)
        part = arr[tuple(idx)]
        var_offset = [0] * arr.ndim
        var_offset[axis] = offset
        info = SaveSliceInfo(name, tuple(arr.shape), tuple(var_offset), tuple(part.shape))
        out.append(Variable(f"{name}/part_{i}", part, trainable, resource, dtype=dt,
                            save_slice_info=info))
        offset += size
    return out


def infer_partitions(full_name: str, parts: Sequence[Variable]) -> list[SaveSliceInfo]:
    """Slice infos of ``parts``: their own, or, if none has one, stacked along axis 0."""
    if all(p.save_slice_info is not None for p in parts):
        return [p.save_slice_info for p in parts if p.save_slice_info is not None]
    if any(p.save_slice_info is not None for p in parts):
        raise InvalidArgumentError(
            f"partitioned variable {full_name!r}: either every part or none has slice info")
    if not parts or any(len(p.shape) == 0 for p in parts):
        raise InvalidArgumentError(
            f"partitioned variable {full_name!r} needs at least one part of rank >= 1")
    rest = parts[0].shape[1:]
    if any(p.shape[1:] != rest or p.dtype != parts[0].dtype for p in parts):
        raise InvalidArgumentError(
            f"parts of {full_name!r} disagree on dtype or on dimensions after the first")
    full = (sum(p.shape[0] for p in parts), *rest)
    infos, off = [], 0
    for p in parts:
        infos.append(SaveSliceInfo(full_name, full, (off,) + (0,) * len(rest), p.shape))
        off += p.shape[0]
    return infos


__all__ = ["Variable", "SaveSliceInfo", "partition", "infer_partitions"]
