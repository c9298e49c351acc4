"""Read a tensor bundle: list keys without touching data, read tensors and slices.

Opening reads the index footer, the index block and the header; each tensor is read only
when asked, straight into a preallocated array (or, with ``mmap=True``, as a read-only
view of the memory-mapped data file), and its checksum is verified unless
``verify_checksums=False``::

    with BundleReader("/tmp/ckpt/model") as r:
        for key, entry in r.entries():
            print(key, entry.dtype.name, entry.shape)
        w = r.read("weights")
"""

from __future__ import annotations

import mmap as _mmap
import os
from collections.abc import Iterator
from types import TracebackType

import numpy as np

from savedmodel_io import dtypes
from savedmodel_io.dtypes import DataType
from savedmodel_io.errors import (
    DataLossError,
    InvalidArgumentError,
    NotFoundError,
    SavedModelIOError,
)
from savedmodel_io.fileio import os_error
from savedmodel_io.format import crc, tensor_bytes
from savedmodel_io.format.bundle_entry import (
    HOST_BIG_ENDIAN,
    BundleEntry,
    BundleHeader,
    data_filename,
    index_filename,
)
from savedmodel_io.format.slices import TensorSlice, intersect, slice_key
from savedmodel_io.format.source import ByteSource, FileSource
from savedmodel_io.format.table import TableReader


def _as_key(key: str | bytes) -> bytes:
    return key.encode("utf-8") if isinstance(key, str) else bytes(key)


class BundleReader:
    """Random access to the tensors of one bundle."""

    def __init__(self, prefix: str | os.PathLike[str], *, verify_checksums: bool = True,
                 mmap: bool = False) -> None:
        self.prefix = os.fspath(prefix)
        self.index_path = index_filename(self.prefix)
        self.verify_checksums = verify_checksums
        self.use_mmap = mmap
        try:
            self._table = TableReader.open(self.index_path)
        except FileNotFoundError:
            raise NotFoundError("no checkpoint index here (is the prefix right?)",
                                path=self.index_path) from None
        except OSError as e:
            if isinstance(e, SavedModelIOError):
                raise
            raise os_error(e, self.index_path, "open") from e
        self._shards: dict[int, ByteSource] = {}
        self._maps: dict[int, _mmap.mmap] = {}
        self._cache: dict[bytes, BundleEntry] = {}
        try:
            first = next(iter(self._table), None)
            if first is None or first[0] != b"":
                raise DataLossError("the index has no bundle header entry",
                                    path=self.index_path)
            self.header = BundleHeader.decode(bytes(first[1]), self.index_path)
        except BaseException:
            self._table.close()
            raise
        self._byteswap = self.header.big_endian != HOST_BIG_ENDIAN

    # ------------------------------------------------------------ the index

    def entries(self, *, include_slices: bool = False) -> Iterator[tuple[bytes, BundleEntry]]:
        """(key, entry) in key order, without the header.

        Unless ``include_slices``, the per-slice entries of partitioned tensors are left
        out (their full entry stands for them), as TensorFlow's reader lists them.
        """
        pairs = [(k, self._decode(k, v)) for k, v in self._table if k != b""]
        hidden: set[bytes] = set()
        if not include_slices:
            hidden = {slice_key(k, s) for k, e in pairs if e.slices for s in e.slices}
        for k, e in pairs:
            if k not in hidden:
                yield k, e

    def keys(self, *, include_slices: bool = False) -> Iterator[bytes]:
        for k, _ in self.entries(include_slices=include_slices):
            yield k

    def _decode(self, key: bytes, value: bytes | memoryview) -> BundleEntry:
        return BundleEntry.decode(value, path=self.index_path, key=key,
                                  num_shards=self.header.num_shards)

    def entry(self, key: str | bytes) -> BundleEntry:
        k = _as_key(key)
        cached = self._cache.get(k)
        if cached is not None:
            return cached
        v = self._table.get(k) if k != b"" else None
        if v is None:
            raise NotFoundError("key not found in checkpoint", path=self.prefix, key=k)
        e = self._decode(k, v)
        self._cache[k] = e
        return e

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, (str, bytes)):
            return False
        k = _as_key(key)
        return k != b"" and self._table.get(k) is not None

    # ------------------------------------------------------------ data files

    def _shard_path(self, shard_id: int) -> str:
        return data_filename(self.prefix, shard_id, max(self.header.num_shards, 1))

    def _source(self, shard_id: int, key: bytes) -> ByteSource:
        src = self._shards.get(shard_id)
        if src is None:
            path = self._shard_path(shard_id)
            try:
                src = FileSource.open(path)
            except FileNotFoundError:
                raise NotFoundError("data file of the checkpoint is missing",
                                    path=path, key=key) from None
            except OSError as e:
                if isinstance(e, SavedModelIOError):
                    raise
                raise os_error(e, path, "open") from e
            self._shards[shard_id] = src
        return src

    def _map(self, shard_id: int, key: bytes) -> _mmap.mmap | None:
        m = self._maps.get(shard_id)
        if m is None:
            src = self._source(shard_id, key)
            if src.size == 0:
                return None
            fd = getattr(src, "_fd", None)
            if fd is None:
                return None
            m = _mmap.mmap(fd, 0, access=_mmap.ACCESS_READ)
            self._maps[shard_id] = m
        return m

    def _locate(self, e: BundleEntry, key: bytes) -> ByteSource:
        """The data file holding ``e``, after checking the entry lies inside it."""
        src = self._source(e.shard_id, key)
        if e.offset + e.size > src.size:
            raise DataLossError(
                f"tensor data at {e.offset}..{e.offset + e.size} runs past the end of the "
                f"data file ({src.size} bytes)", path=src.path, key=key, offset=e.offset)
        return src

    def _raw(self, e: BundleEntry, key: bytes) -> memoryview | bytes:
        """The entry's bytes: a view of the mapped file, or a fresh copy."""
        src = self._locate(e, key)
        if self.use_mmap and e.size:
            m = self._map(e.shard_id, key)
            if m is not None:
                return memoryview(m)[e.offset:e.offset + e.size]
        return src.read_at(e.offset, e.size)

    def _read_into(self, e: BundleEntry, key: bytes, buf: np.ndarray) -> None:
        """Fill the byte array ``buf`` (of ``e.size`` bytes) with the entry's data."""
        src = self._locate(e, key)
        if not e.size:
            return
        read_into = getattr(src, "read_into", None)
        if read_into is not None:
            read_into(e.offset, buf)
        else:
            buf[:] = np.frombuffer(src.read_at(e.offset, e.size), dtype=np.uint8)

    def _check(self, e: BundleEntry, key: bytes, computed: int) -> None:
        if self.verify_checksums and computed != crc.unmask(e.crc32c):
            raise DataLossError(
                f"checksum does not match: stored {crc.unmask(e.crc32c):#010x}, computed "
                f"{computed:#010x}", path=self._shard_path(e.shard_id), key=key,
                offset=e.offset)

    # ------------------------------------------------------------ tensors

    def read(self, key: str | bytes) -> np.ndarray:
        """The whole tensor under ``key`` (assembled from its slices if partitioned)."""
        k = _as_key(key)
        e = self.entry(k)
        if e.slices:
            return self._assemble(k, e, [(0, d) for d in e.shape])
        return self._read_entry(k, e)

    def _read_entry(self, k: bytes, e: BundleEntry) -> np.ndarray:
        if e.dtype == DataType.DT_STRING:
            elems, c = tensor_bytes.decode_strings(
                self._raw(e, k), e.num_elements, verify=self.verify_checksums,
                big_endian=self.header.big_endian, path=self.prefix, key=k)
            self._check(e, k, c)
            return tensor_bytes.strings_to_array(elems, e.shape)
        if e.dtype == DataType.DT_VARIANT:
            if self._byteswap:
                raise DataLossError("byte-swapping variant tensors is not supported",
                                    path=self.prefix, key=k)
            elems, c = tensor_bytes.decode_variants(
                self._raw(e, k), e.num_elements, verify=self.verify_checksums,
                path=self.prefix, key=k)
            self._check(e, k, c)
            return tensor_bytes.strings_to_array(elems, e.shape)
        if self.use_mmap:
            raw = self._raw(e, k)
            if self.verify_checksums:
                self._check(e, k, crc.value(raw))
            return tensor_bytes.decode_fixed(raw, e.dtype, e.shape, byteswap=self._byteswap)
        out = np.empty(e.shape, dtype=dtypes.as_numpy_dtype(e.dtype))
        flat = out.reshape(-1).view(np.uint8)
        self._read_into(e, k, flat)
        if self.verify_checksums:
            self._check(e, k, crc.value(flat))
        if self._byteswap:
            return tensor_bytes.decode_fixed(flat.tobytes(), e.dtype, e.shape, byteswap=True)
        return out

    def read_slice(self, key: str | bytes, tensor_slice: TensorSlice) -> np.ndarray:
        """Part of a tensor: works on partitioned and ordinary tensors alike."""
        k = _as_key(key)
        e = self.entry(k)
        try:
            tensor_slice.check_inside(e.shape)
        except InvalidArgumentError as err:
            raise InvalidArgumentError(err.message, path=self.prefix, key=k) from None
        box = tensor_slice.bounds(e.shape)
        if e.slices:
            return self._assemble(k, e, box)
        part: np.ndarray = self._read_entry(k, e)[tuple(slice(a, b) for a, b in box)]
        copied: np.ndarray = part.copy()
        return copied

    def _assemble(self, k: bytes, e: BundleEntry, box: list[tuple[int, int]]) -> np.ndarray:
        """Fill the region ``box`` of partitioned tensor ``k`` from its stored slices."""
        shape = tuple(b - a for a, b in box)
        npd = (np.dtype(object) if e.dtype in (DataType.DT_STRING, DataType.DT_VARIANT)
               else dtypes.as_numpy_dtype(e.dtype))
        out = np.empty(shape, dtype=npd)
        covered = 0
        overlaps = False
        parts = []
        for s in e.slices:
            sbox = s.bounds(e.shape)
            inter = intersect(sbox, box) if box else []
            if inter is None:
                continue
            parts.append((s, sbox, inter))
        volume = int(np.prod(shape)) if shape else 1
        for i, (_, a, _) in enumerate(parts):
            for _, b, _ in parts[i + 1:]:
                if intersect(a, b) is not None:
                    overlaps = True
        mask = np.zeros(shape, dtype=bool) if overlaps else None
        for s, sbox, inter in parts:
            skey = slice_key(k, s)
            se = self.entry(skey)
            want = tuple(b - a for a, b in sbox)
            if se.dtype != e.dtype or se.shape != want:
                raise DataLossError(
                    f"stored slice {s} has {se.dtype.name} {list(se.shape)}, expected "
                    f"{e.dtype.name} {list(want)}", path=self.prefix, key=k)
            data = self._read_entry(skey, se)
            src = tuple(slice(lo - sa, hi - sa)
                        for (lo, hi), (sa, _) in zip(inter, sbox, strict=True))
            dst = tuple(slice(lo - ba, hi - ba)
                        for (lo, hi), (ba, _) in zip(inter, box, strict=True))
            out[dst] = data[src]
            if mask is not None:
                mask[dst] = True
            else:
                covered += int(np.prod([hi - lo for lo, hi in inter])) if inter else 1
        if (mask is not None and not mask.all()) or (mask is None and covered != volume):
            raise DataLossError(
                "does not have sufficient slices for partitioned tensor: stored slices "
                f"{[str(s) for s in e.slices]} do not cover {box}", path=self.prefix, key=k)
        return out

    # ------------------------------------------------------------ lifetime

    def close(self) -> None:
        for m in self._maps.values():
            try:
                m.close()
            except BufferError:
                pass  # arrays still view the map; it closes when they are gone
        self._maps.clear()
        for s in self._shards.values():
            close = getattr(s, "close", None)
            if close is not None:
                close()
        self._shards.clear()
        self._table.close()

    def __enter__(self) -> BundleReader:
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


__all__ = ["BundleReader"]
