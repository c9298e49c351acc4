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
from bisect import bisect_left
from collections.abc import Iterable, Iterator
from itertools import compress
from types import TracebackType

import numpy as np

from savedmodel_io import dtypes, remote
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
    check_allocatable,
    data_filename,
    index_filename,
)
from savedmodel_io.format.entry_batch import EntryBatch, decode_batch
from savedmodel_io.format.slices import TensorSlice, intersect, slice_key
from savedmodel_io.format.source import ByteSource, open_source
from savedmodel_io.format.table import TableReader

_NUMPY_DTYPES: dict[DataType, np.dtype] = {}


def _as_key(key: str | bytes) -> bytes:
    return key.encode("utf-8") if isinstance(key, str) else bytes(key)


class _Columns:
    """The whole decoded index as columns, in key order.

    ``decoded`` holds the rows protobuf decoded instead of the batch decoder (their
    column values are placeholders).
    """

    def __init__(self) -> None:
        self.keys: list[bytes] = []
        self.dtype: list[DataType | None] = []
        self.shape: list[tuple[int, ...]] = []
        self._numbers: list[np.ndarray] = []  # per block: shard_id, offset, size, crc32c
        self.numbers = np.zeros((4, 0), dtype=np.int64)
        self.decoded: dict[int, BundleEntry] = {}

    def add(self, keys: list[bytes], batch: EntryBatch) -> None:
        self.keys += keys
        self.dtype += batch.dtype
        self.shape += batch.shape
        self._numbers.append(np.stack([batch.shard_id, batch.offset, batch.size,
                                       batch.crc32c]))

    def finish(self) -> _Columns:
        if self._numbers:
            self.numbers = np.concatenate(self._numbers, axis=1)
            self._numbers = []
        for i, e in self.decoded.items():
            self.dtype[i] = e.dtype
            self.shape[i] = e.shape
        return self

    def entries(self) -> list[BundleEntry]:
        shard, offset, size, crc = self.numbers.tolist()
        out = list(map(BundleEntry, self.dtype, self.shape, shard, offset, size, crc))
        for i, e in self.decoded.items():  # copies: callers may change what they get
            out[i] = BundleEntry(e.dtype, e.shape, e.shard_id, e.offset, e.size, e.crc32c,
                                 list(e.slices))
        return out

    def entry(self, key: bytes) -> BundleEntry | None:
        """The entry of ``key`` (a binary search in C), or None."""
        i = bisect_left(self.keys, key)
        if i == len(self.keys) or self.keys[i] != key:
            return None
        found = self.decoded.get(i)
        if found is not None:
            return found
        shard, offset, size, crc = self.numbers[:, i].tolist()
        return BundleEntry(self.dtype[i], self.shape[i],  # type: ignore[arg-type]
                           shard, offset, size, crc)

    def hidden_slice_keys(self) -> set[bytes]:
        """Keys of the stored slices of partitioned tensors (only protobuf decodes those)."""
        return {slice_key(self.keys[i], s) for i, e in self.decoded.items() for s in e.slices}


# Overlapping slices are checked on a grid cut at their edges; past this many cells the
# slices are refused instead (TensorFlow never writes overlapping slices).
_MAX_GRID_CELLS = 1 << 20


def _volume(box: Iterable[tuple[int, int]]) -> int:
    n = 1
    for lo, hi in box:
        n *= hi - lo
    return n


def _covers(box: list[tuple[int, int]], pieces: list[list[tuple[int, int]]]) -> bool:
    """Whether ``pieces`` (boxes inside ``box``) cover all of ``box``, in exact integers
    and without allocating anything of the size of ``box``."""
    overlapping = any(intersect(a, b) is not None
                      for i, a in enumerate(pieces) for b in pieces[i + 1:])
    if not overlapping:
        return sum(_volume(p) for p in pieces) == _volume(box)
    # Cut every dimension at the pieces' edges; a cell is covered when a piece holds it.
    cuts = [sorted({lo, hi, *(p[d][0] for p in pieces), *(p[d][1] for p in pieces)})
            for d, (lo, hi) in enumerate(box)]
    cells = 1
    for c in cuts:
        cells *= len(c) - 1
    if cells > _MAX_GRID_CELLS:
        return False
    mask = np.zeros([len(c) - 1 for c in cuts], dtype=bool)
    for p in pieces:
        mask[tuple(slice(c.index(lo), c.index(hi)) for c, (lo, hi) in zip(cuts, p,
                                                                         strict=True))] = True
    return bool(mask.all())


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
        except (FileNotFoundError, NotFoundError):
            raise NotFoundError("no checkpoint index here (is the prefix right?)",
                                path=self.index_path) from None
        except OSError as e:
            if isinstance(e, SavedModelIOError):
                raise
            raise os_error(e, self.index_path, "open") from e
        self._shards: dict[int, ByteSource] = {}
        self._maps: dict[int, _mmap.mmap] = {}
        self._cache: dict[bytes, BundleEntry] = {}
        self._index: _Columns | None = None
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
        cols = self._columns()
        pairs = zip(cols.keys, cols.entries(), strict=True)
        hidden = set() if include_slices else cols.hidden_slice_keys()
        if hidden:
            return (p for p in pairs if p[0] not in hidden)
        return pairs

    def list_tensors(self, *, include_slices: bool = False
                     ) -> tuple[list[bytes], list[DataType], list[tuple[int, ...]]]:
        """(keys, dtypes, shapes) of the tensors in key order, as :meth:`entries` lists them.

        What a listing needs, without making an entry object per tensor (the fast way to
        list an index of many thousands of keys).
        """
        cols = self._columns()
        keys, shapes = list(cols.keys), list(cols.shape)
        dts: list[DataType] = list(cols.dtype)  # type: ignore[arg-type]
        hidden = set() if include_slices else cols.hidden_slice_keys()
        if hidden:
            keep = [k not in hidden for k in keys]
            keys = list(compress(keys, keep))
            dts = list(compress(dts, keep))
            shapes = list(compress(shapes, keep))
        return keys, dts, shapes

    def keys(self, *, include_slices: bool = False) -> Iterator[bytes]:
        if include_slices:
            return iter(list(self._columns().keys))
        return iter(self.list_tensors()[0])

    def _columns(self) -> _Columns:
        """Every entry of the index, decoded a block at a time (see entry_batch), once.

        Kept afterwards: lookups then search it instead of the table.
        """
        if self._index is not None:
            return self._index
        cols = _Columns()
        num_shards = self.header.num_shards
        for data, keys, starts, ends in self._table.block_spans():
            if keys and keys[0] == b"":  # the header
                keys, starts, ends = keys[1:], starts[1:], ends[1:]
            batch = decode_batch(data, starts, ends, num_shards=num_shards)
            base = len(cols.keys)
            for i in np.flatnonzero(~batch.ok).tolist():
                # Whatever the batch decoder leaves goes through protobuf (and its errors).
                cols.decoded[base + i] = self._decode(keys[i], data[starts[i]:ends[i]])
            cols.add(keys, batch)
        self._index = cols.finish()
        return self._index

    def _decode(self, key: bytes, value: bytes | memoryview) -> BundleEntry:
        return BundleEntry.decode(value, path=self.index_path, key=key,
                                  num_shards=self.header.num_shards)

    def entry(self, key: str | bytes) -> BundleEntry:
        k = _as_key(key)
        cached = self._cache.get(k)
        if cached is not None:
            return cached
        if self._index is not None:
            e = self._index.entry(k)
        else:
            v = self._table.get(k) if k != b"" else None
            e = None if v is None else self._decode(k, v)
        if e is None:
            raise NotFoundError("key not found in checkpoint", path=self.prefix, key=k)
        self._cache[k] = e
        return e

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, (str, bytes)):
            return False
        k = _as_key(key)
        if self._index is not None:
            return self._index.entry(k) is not None
        return k != b"" and self._table.get(k) is not None

    # ------------------------------------------------------------ data files

    def _shard_path(self, shard_id: int) -> str:
        return data_filename(self.prefix, shard_id, max(self.header.num_shards, 1))

    def _source(self, shard_id: int, key: bytes) -> ByteSource:
        src = self._shards.get(shard_id)
        if src is None:
            path = self._shard_path(shard_id)
            try:
                src = open_source(path)
            except (FileNotFoundError, NotFoundError):
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
        check_allocatable(e.dtype, e.shape, path=self.prefix, key=k)
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
            variants, c = tensor_bytes.decode_variants(
                self._raw(e, k), e.num_elements, verify=self.verify_checksums,
                path=self.prefix, key=k)
            self._check(e, k, c)
            return tensor_bytes.strings_to_array(variants, e.shape)
        if self.use_mmap:
            raw = self._raw(e, k)
            if self.verify_checksums:
                self._check(e, k, crc.value(raw))
            return tensor_bytes.decode_fixed(raw, e.dtype, e.shape, byteswap=self._byteswap)
        npd = _NUMPY_DTYPES.get(e.dtype)
        if npd is None:
            npd = _NUMPY_DTYPES[e.dtype] = dtypes.as_numpy_dtype(e.dtype)
        # The one allocation of a read: the file's bytes land in the returned array.
        out = np.empty(e.shape, dtype=npd)
        flat = out.reshape(-1).view(np.uint8)
        self._read_into(e, k, flat)
        if self.verify_checksums:
            self._check(e, k, crc.value(flat))
        if self._byteswap:
            tensor_bytes.byteswap_inplace(out)
        return out

    def read_many(self, keys: Iterable[str | bytes], *, batch_bytes: int = 256 << 20
                  ) -> dict[bytes, np.ndarray]:
        """Several tensors, keyed as bytes. From remote data files their byte ranges are
        fetched together, about ``batch_bytes`` at a time: neighbouring ranges in one
        request, several data files in parallel. Locally this is :meth:`read` in a loop."""
        ks = list(dict.fromkeys(_as_key(k) for k in keys))
        out: dict[bytes, np.ndarray] = {}
        start = 0
        while start < len(ks):
            stop, total = start, 0
            wanted: dict[int, list[tuple[int, int]]] = {}
            while stop < len(ks) and (stop == start or total < batch_bytes):
                e = self.entry(ks[stop])
                stored = [self.entry(slice_key(ks[stop], s)) for s in e.slices] or [e]
                for s in stored:
                    wanted.setdefault(s.shard_id, []).append((s.offset, s.size))
                    total += s.size
                stop += 1
            self._prefetch(wanted, ks[start])
            try:
                for k in ks[start:stop]:
                    out[k] = self.read(k)
            finally:
                for src in self._shards.values():
                    if isinstance(src, remote.RemoteSource):
                        src.release()
            start = stop
        return out

    def _prefetch(self, wanted: dict[int, list[tuple[int, int]]], key: bytes) -> None:
        """Fetch byte ranges of remote data files together (local files need nothing)."""
        jobs = []
        for shard_id, ranges in wanted.items():
            src = self._source(shard_id, key)
            if isinstance(src, remote.RemoteSource):
                # A range past the end is left for read() to report, naming its tensor.
                jobs.append((src, [(o, n) for o, n in ranges if o + n <= src.size]))
        if jobs:
            remote.fetch(jobs)

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
        """Fill the region ``box`` of partitioned tensor ``k`` from its stored slices.

        The stored slices are checked (entries, data extents, coverage of ``box``) before
        the output is allocated: the declared shape of a hostile index may be huge while
        the slices and bytes present are tiny.
        """
        shape = tuple(b - a for a, b in box)
        check_allocatable(e.dtype, shape, path=self.prefix, key=k)
        parts = []
        for s in e.slices:
            sbox = s.bounds(e.shape)
            inter = intersect(sbox, box) if box else []
            if inter is None:
                continue
            skey = slice_key(k, s)
            se = self.entry(skey)
            want = tuple(b - a for a, b in sbox)
            if se.dtype != e.dtype or se.shape != want:
                raise DataLossError(
                    f"stored slice {s} has {se.dtype.name} {list(se.shape)}, expected "
                    f"{e.dtype.name} {list(want)}", path=self.prefix, key=k)
            self._locate(se, skey)  # its bytes are present in the data file
            parts.append((skey, se, sbox, inter))
        if not _covers(box, [inter for _, _, _, inter in parts]):
            raise DataLossError(
                "does not have sufficient slices for partitioned tensor: stored slices "
                f"{[str(s) for s in e.slices]} do not cover {box}", path=self.prefix, key=k)
        npd = (np.dtype(object) if e.dtype in (DataType.DT_STRING, DataType.DT_VARIANT)
               else dtypes.as_numpy_dtype(e.dtype))
        out = np.empty(shape, dtype=npd)
        for skey, se, sbox, inter in parts:
            data = self._read_entry(skey, se)
            src = tuple(slice(lo - sa, hi - sa)
                        for (lo, hi), (sa, _) in zip(inter, sbox, strict=True))
            dst = tuple(slice(lo - ba, hi - ba)
                        for (lo, hi), (ba, _) in zip(inter, box, strict=True))
            out[dst] = data[src]
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
