"""Read legacy V1 checkpoints: one table per shard, holding ``SavedTensorSlices`` records.

The first record (empty key) lists every tensor of the file with its shape, dtype and the
slices stored there; every other record holds one slice as a TensorProto under the slice's
OrderedCode key. An unsharded file is named by the prefix itself; a sharded checkpoint is
a file pattern like ``model.ckpt-?????-of-00002``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from savedmodel_io import dtypes, fileio, tensor_proto
from savedmodel_io.dtypes import DataType
from savedmodel_io.errors import (
    DataLossError,
    NotFoundError,
    SavedModelIOError,
    UnimplementedError,
)
from savedmodel_io.format.bundle_entry import MAX_INT64, decode_shape, decode_slice
from savedmodel_io.format.slices import TensorSlice, intersect, slice_key
from savedmodel_io.format.source import open_source
from savedmodel_io.format.table import TableReader
from savedmodel_io.protos import saved_tensor_slice_pb2, tensor_pb2


@dataclass
class V1Tensor:
    name: str
    dtype: DataType
    shape: tuple[int, ...]
    # (slice, index of the file holding it)
    slices: list[tuple[TensorSlice, int]] = field(default_factory=list)


def _parse(data: bytes | memoryview, path: str, key: bytes
           ) -> saved_tensor_slice_pb2.SavedTensorSlices:
    p = saved_tensor_slice_pb2.SavedTensorSlices()
    try:
        p.ParseFromString(bytes(data))
    except Exception as e:
        raise DataLossError(f"record is not a valid SavedTensorSlices: {e}",
                            path=path, key=key) from None
    return p


def looks_like_v1(path: str) -> bool:
    """True if ``path`` names one table file (the V1 layout) rather than a bundle prefix."""
    try:
        with open_source(path) as src:
            if src.size < 48:
                return False
            return bytes(src.read_at(src.size - 8, 8)) == bytes.fromhex("57fb808b247547db")
    except (OSError, SavedModelIOError):
        return False


class V1Reader:
    """All tensors of a V1 checkpoint (one file or a sharded file pattern)."""

    def __init__(self, pattern: str, *, files: list[str] | None = None) -> None:
        self.pattern = pattern
        self.files = files if files is not None else fileio.glob(pattern)
        if not self.files:
            raise NotFoundError("no V1 checkpoint files match", path=pattern)
        self._tables: list[TableReader] = []
        self.tensors: dict[str, V1Tensor] = {}
        self._budget = 0  # total bytes of the files: no tensor can hold more elements
        try:
            for i, path in enumerate(self.files):
                t = TableReader.open(path)
                self._tables.append(t)
                self._budget += t.size
                self._read_meta(i, path, t)
        except BaseException:
            self.close()
            raise

    def _read_meta(self, i: int, path: str, table: TableReader) -> None:
        raw = table.get(b"")
        if raw is None:
            raise DataLossError("V1 checkpoint file has no metadata record", path=path)
        meta = _parse(raw, path, b"").meta
        for t in meta.tensor:
            try:
                dt = DataType(t.type)
            except ValueError:
                raise UnimplementedError(f"unknown dtype number {t.type}", path=path,
                                         key=t.name) from None
            shape = decode_shape(t.shape, path=path, key=t.name.encode())
            _check_allocatable(shape, dt, path, t.name)
            known = self.tensors.get(t.name)
            if known is None:
                known = self.tensors[t.name] = V1Tensor(t.name, dt, shape)
            elif (known.dtype, known.shape) != (dt, shape):
                raise DataLossError("shards disagree on the tensor's dtype or shape",
                                    path=path, key=t.name)
            for s in t.slice:
                ts = decode_slice(s, path=path, key=t.name.encode())
                if ts.rank != len(shape) and not (ts.rank == 0 and not shape):
                    raise DataLossError(f"slice {ts} does not match shape {list(shape)}",
                                        path=path, key=t.name)
                try:
                    # A slice reaching past the tensor would be copied into a smaller box.
                    ts.check_inside(shape)
                except ValueError as e:
                    raise DataLossError(str(e), path=path, key=t.name) from None
                known.slices.append((ts, i))

    def read(self, name: str) -> np.ndarray:
        t = self.tensors.get(name)
        if t is None:
            raise NotFoundError("tensor not found in checkpoint", path=self.pattern, key=name)
        n = 1
        for d in t.shape:
            n *= d
        if n > self._budget:
            raise DataLossError(
                f"shape {list(t.shape)} has {n} elements, more than the checkpoint's "
                f"{self._budget} bytes can hold", path=self.pattern, key=name)
        npd = (np.dtype(object) if t.dtype == DataType.DT_STRING
               else dtypes.as_numpy_dtype(t.dtype))
        out = np.zeros(t.shape, dtype=npd) if npd.kind != "O" else np.full(t.shape, b"",
                                                                            dtype=object)
        mask = np.zeros(t.shape, dtype=bool)
        box = [(0, d) for d in t.shape]
        for s, file_index in t.slices:
            sbox = s.bounds(t.shape)
            inter = intersect(sbox, box) if sbox else []
            if inter is None:
                continue
            path = self.files[file_index]
            key = slice_key(name, s)
            raw = self._tables[file_index].get(key)
            if raw is None:
                raise DataLossError(f"slice {s} listed in the metadata is missing",
                                    path=path, key=name)
            rec = _parse(raw, path, key).data
            sshape = tuple(b - a for a, b in sbox)
            if _count(rec.data, t.dtype) != _volume(sshape):
                raise DataLossError(f"slice {s} holds the wrong number of values for shape "
                                    f"{list(sshape)}", path=path, key=name)
            try:
                data = tensor_proto.to_numpy(rec.data, dtype=t.dtype, shape=sshape)
            except (DataLossError, UnimplementedError) as e:
                raise type(e)(e.message, path=path, key=name) from None
            dst = tuple(slice(lo, hi) for lo, hi in inter)
            out[dst] = data
            mask[dst] = True
        if not mask.all():
            raise DataLossError("stored slices do not cover the whole tensor",
                                path=self.pattern, key=name)
        return out

    def close(self) -> None:
        for t in self._tables:
            t.close()
        self._tables.clear()


def _check_allocatable(shape: tuple[int, ...], dtype: DataType, path: str, key: str) -> None:
    """numpy refuses shapes whose non-zero dimensions multiply past 2^63 bytes, even when
    another dimension is 0 (no elements at all): refuse them as corrupt first."""
    n = dtypes.itemsize(dtype) or 8
    for d in shape:
        n *= max(d, 1)
    if n > MAX_INT64:
        raise DataLossError(f"shape {list(shape)} is too large to hold in memory",
                            path=path, key=key)


def _volume(shape: tuple[int, ...]) -> int:
    n = 1
    for d in shape:
        n *= d
    return n


def _count(p: tensor_pb2.TensorProto, dtype: DataType) -> int:
    if p.tensor_content:
        size = dtypes.itemsize(dtype) or 1
        return len(p.tensor_content) // size
    n = len(getattr(p, tensor_proto.values_field(dtype)))
    return n // 2 if dtype in (DataType.DT_COMPLEX64, DataType.DT_COMPLEX128) else n


__all__ = ["V1Reader", "V1Tensor", "looks_like_v1"]
