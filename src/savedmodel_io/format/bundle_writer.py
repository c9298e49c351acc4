"""Write a tensor bundle (``prefix.index`` + ``prefix.data-00000-of-00001``) like TensorFlow.

Tensor bytes go to the data file in the order they are added; the index lists every key in
sorted order when :meth:`BundleWriter.finish` runs. Both files are written under temporary
names and renamed only when complete (data first, index last), so a failed or interrupted
write never leaves something that looks like a checkpoint.

Like TensorFlow's writer, it does not fsync by default: a killed process leaves either
the old checkpoint or the complete new one (renames are atomic and the page cache
survives the process), but after a power failure the newest files may be incomplete.
``durable=True`` fsyncs the data file, the index and their directory before returning,
which costs the time to put every byte on the disk::

    with BundleWriter("/tmp/ckpt/model") as w:
        w.add("weights", np.ones((2, 3), np.float32))
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from types import TracebackType
from typing import Any

import numpy as np

from savedmodel_io import fileio
from savedmodel_io.dtypes import DataType, as_bytes_list, to_tensor
from savedmodel_io.errors import InvalidArgumentError, SavedModelIOError
from savedmodel_io.format import crc, tensor_bytes
from savedmodel_io.format.bundle_entry import (
    BundleEntry,
    BundleHeader,
    data_filename,
    index_filename,
)
from savedmodel_io.format.slices import TensorSlice, slice_key
from savedmodel_io.format.table import TableBuilder

_WRITE_BUFFER = 1 << 20


def as_key(key: str | bytes) -> bytes:
    return key.encode("utf-8") if isinstance(key, str) else bytes(key)


class BundleWriter:
    """Builds one bundle. Call :meth:`finish` (or leave the ``with`` block) to commit it."""

    def __init__(self, prefix: str | os.PathLike[str], *, data_alignment: int = 1,
                 durable: bool = False) -> None:
        self.prefix = os.fspath(prefix)
        if data_alignment < 1:
            raise InvalidArgumentError(f"data_alignment must be >= 1, got {data_alignment}")
        self._alignment = data_alignment
        self._durable = durable
        parent = fileio.dirname(self.prefix)
        if parent:
            fileio.make_dir(parent)
        self._data_path = data_filename(self.prefix, 0, 1)
        if fileio.is_remote(self.prefix):
            # No rename there: each file is uploaded under its final name, data first and
            # the index (the commit point) last. First clear the old index at this prefix
            # and whatever an interrupted save of it left.
            remove_partial_bundle(self.prefix)
        self._writer = fileio.AtomicWriter(self._data_path, durable=durable,
                                           buffering=_WRITE_BUFFER)
        self._file = self._writer.file
        self._offset = 0
        self._entries: dict[bytes, BundleEntry] = {}
        self._done = False

    # -------------------------------------------------------------- adding

    def add(self, key: str | bytes, value: Any, dtype: int | DataType | None = None) -> None:
        """Append one whole tensor under ``key``."""
        k = as_key(key)
        if k == b"":
            raise InvalidArgumentError("the empty key is reserved for the bundle header")
        if k in self._entries:
            raise InvalidArgumentError(f"adding duplicate key {k!r}", path=self.prefix)
        arr, dt = to_tensor(value, dtype)
        self._entries[k] = self._append(k, arr, dt)

    def add_slice(self, key: str | bytes, full_shape: Sequence[int], tensor_slice: TensorSlice,
                  value: Any, dtype: int | DataType | None = None) -> None:
        """Append one slice of a partitioned tensor ``key`` of shape ``full_shape``."""
        k = as_key(key)
        shape = tuple(int(d) for d in full_shape)
        tensor_slice.check_inside(shape)
        arr, dt = to_tensor(value, dtype)
        want = tuple(tensor_slice.slice_shape(shape))
        if tuple(arr.shape) != want:
            raise InvalidArgumentError(
                f"slice {tensor_slice} of shape {list(shape)} needs a value of shape "
                f"{list(want)}, got {list(arr.shape)}", key=k)
        if tensor_slice.covers_whole(shape):
            self.add(k, arr, dt)
            return
        full = self._entries.get(k)
        if full is None:
            full = BundleEntry(dt, shape)
            self._entries[k] = full
        elif not full.slices or full.dtype != dt or full.shape != shape:
            raise InvalidArgumentError(
                f"slices of {k!r} disagree on dtype or shape, or it was added whole")
        skey = slice_key(k, tensor_slice)
        if skey in self._entries:
            raise InvalidArgumentError(f"slice {tensor_slice} of {k!r} added twice")
        full.slices.append(tensor_slice)
        self._entries[skey] = self._append(skey, arr, dt)

    def _append(self, key: bytes, arr: np.ndarray, dt: DataType) -> BundleEntry:
        if self._done:
            raise InvalidArgumentError("the bundle was already finished", path=self.prefix)
        tensor_bytes.check_supported(dt, path=self.prefix, key=key)
        chunks: list[Any]
        if dt == DataType.DT_STRING:
            chunks, size, masked = tensor_bytes.encode_string_array(arr)
        elif dt == DataType.DT_VARIANT:
            chunks, size, masked = tensor_bytes.encode_variants(
                as_bytes_list(arr))
        else:
            data = tensor_bytes.encode_fixed(arr, dt)
            chunks, size, masked = [data], len(data), crc.mask(crc.value(data))
        entry = BundleEntry(dt, tuple(int(d) for d in arr.shape), 0, self._offset, size,
                            masked)
        try:
            for c in chunks:
                self._file.write(c)
            pad = (-size) % self._alignment
            if pad:
                self._file.write(b"\0" * pad)
        except (OSError, SavedModelIOError) as e:
            self.abort()
            if isinstance(e, SavedModelIOError):
                raise
            raise fileio.os_error(e, self._data_path, "write tensor data") from e
        self._offset += size + pad
        return entry

    # -------------------------------------------------------------- finishing

    def finish(self) -> None:
        """Commit: put the data file in place, then write the index."""
        if self._done:
            return
        try:
            self._writer.commit()
            with fileio.atomic_open(index_filename(self.prefix),
                                    durable=self._durable) as f:
                write_index(f, BundleHeader(num_shards=1), self._entries)
        except BaseException:
            self.abort()
            raise
        self._done = True

    def abort(self) -> None:
        """Drop everything written so far; nothing that looks like a checkpoint remains."""
        self._done = True
        self._writer.abort()

    def __enter__(self) -> BundleWriter:
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None,
                 tb: TracebackType | None) -> None:
        if et is None:
            self.finish()
        else:
            self.abort()


def remove_partial_bundle(prefix: str) -> None:
    """Delete ``prefix.index`` (first: it is the commit point), then every data file of
    ``prefix`` and unfinished uploads to them: what an interrupted save that wrote in
    place may have left, cleared before writing there again."""
    fileio.remove(index_filename(prefix))
    for p in fileio.glob(prefix + ".data-?????-of-?????"):
        fileio.remove(p)
    fileio.abort_uploads(prefix + ".")


def write_index(f: Any, header: BundleHeader, entries: dict[bytes, BundleEntry]) -> None:
    """Write the index table: header under ``""`` then entries in ascending key order."""
    table = TableBuilder(f)
    table.add(b"", header.encode())
    for k in sorted(entries):
        table.add(k, entries[k].encode())
    table.finish()


def write_bundle(prefix: str, tensors: dict[str, Any] | Sequence[tuple[str, Any]]) -> None:
    """Write ``tensors`` (in the given order) as one bundle at ``prefix``."""
    items = tensors.items() if isinstance(tensors, dict) else tensors
    with BundleWriter(prefix) as w:
        for k, v in items:
            w.add(k, v)


__all__ = ["BundleWriter", "write_bundle", "write_index", "as_key", "remove_partial_bundle"]
