"""The SSTable ("table") file: data blocks, metaindex, index, footer (FORMAT.md 1.2-1.11).

:class:`TableBuilder` writes exactly the bytes TensorFlow's table writer writes for the
same entries and options; :class:`TableReader` reads a table through a
:class:`~savedmodel_io.format.source.ByteSource`, touching only the footer and the index
block when opened and one data block per point lookup.
"""

from __future__ import annotations

import os
from bisect import bisect_left
from collections import OrderedDict
from collections.abc import Iterator
from typing import IO, Any, NamedTuple

import numpy as np

from ..errors import (
    DataLossError,
    FailedPreconditionError,
    InvalidArgumentError,
    UnimplementedError,
)
from ..remote import INDEX_READAHEAD, INDEX_TAIL
from . import crc
from .block import Block, BlockBuilder
from .coding import (
    decode_fixed32,
    decode_fixed64,
    decode_varint32,
    decode_varint64,
    encode_fixed32,
    encode_fixed64,
    put_varint,
)
from .source import ByteSource, BytesSource, open_source

BytesLike = bytes | bytearray | memoryview

TABLE_MAGIC = 0xDB4775248B80FB57
FOOTER_SIZE = 48
BLOCK_TRAILER_SIZE = 5
NO_COMPRESSION = 0
SNAPPY_COMPRESSION = 1
COMPRESSION_TYPES = {"none": NO_COMPRESSION, "snappy": SNAPPY_COMPRESSION}
DEFAULT_BLOCK_SIZE = 262144
DEFAULT_RESTART_INTERVAL = 16
# A Snappy element never expands to more than 64 output bytes per 3 input bytes, so a
# declared length above this is impossible and is refused before anything is allocated.
_SNAPPY_MAX_RATIO = 22
_SNAPPY_SLACK = 64


# ----------------------------------------------------------------------------- handles


class BlockHandle(NamedTuple):
    """Where a block lies: ``offset`` in the file and ``size`` without the trailer."""

    offset: int
    size: int

    def encode(self) -> bytes:
        out = bytearray()
        put_varint(out, self.offset)
        put_varint(out, self.size)
        return bytes(out)

    @classmethod
    def decode(cls, buf: BytesLike, pos: int = 0, limit: int | None = None,
               path: str | None = None) -> tuple[BlockHandle, int]:
        """Decode a handle at ``buf[pos:limit]``; returns it and the position after it."""
        if limit is None:
            limit = len(buf)
        offset, pos = decode_varint64(buf, pos, limit, path)
        size, pos = decode_varint64(buf, pos, limit, path)
        return cls(offset, size), pos


class Footer(NamedTuple):
    """The last 48 bytes of a table: two handles, padding, magic number."""

    metaindex_handle: BlockHandle
    index_handle: BlockHandle

    def encode(self) -> bytes:
        out = bytearray(self.metaindex_handle.encode())
        out += self.index_handle.encode()
        out += bytes(FOOTER_SIZE - 8 - len(out))
        out += encode_fixed64(TABLE_MAGIC)
        return bytes(out)

    @classmethod
    def decode(cls, buf: BytesLike, path: str | None = None, offset: int = 0) -> Footer:
        """Decode the 48 footer bytes ``buf`` found at file position ``offset``."""
        if len(buf) != FOOTER_SIZE:
            raise DataLossError(f"footer must be {FOOTER_SIZE} bytes, got {len(buf)}",
                                path=path, offset=offset)
        magic = decode_fixed64(buf, FOOTER_SIZE - 8)
        if magic != TABLE_MAGIC:
            raise DataLossError(
                f"not an sstable (bad magic number): expected {TABLE_MAGIC:#018x}, "
                f"found {magic:#018x}", path=path, offset=offset + FOOTER_SIZE - 8)
        try:
            meta, pos = BlockHandle.decode(buf, 0, FOOTER_SIZE - 8)
            index, _ = BlockHandle.decode(buf, pos, FOOTER_SIZE - 8)
        except DataLossError as e:
            raise DataLossError(f"bad block handle in footer: {e.message}", path=path,
                                offset=offset + (e.offset or 0)) from None
        return cls(meta, index)


# ----------------------------------------------------------------------------- blocks


def _snappy() -> Any:
    """The snappy module, imported on first use: TensorFlow never compresses its tables,
    so most processes never need it (and it costs start-up time)."""
    import snappy

    return snappy


def block_trailer(contents: BytesLike, compression_type: int) -> bytes:
    """The 5 bytes following a stored block: type byte and masked CRC32C."""
    type_byte = bytes((compression_type,))
    checksum = crc.extend(crc.value(contents), type_byte)
    return type_byte + encode_fixed32(crc.mask(checksum))


def _snappy_length(data: BytesLike, path: str, offset: int) -> int:
    try:
        length, _ = decode_varint32(data, 0, len(data), path)
    except DataLossError as e:
        raise DataLossError(f"bad snappy length preamble: {e.message}", path=path,
                            offset=offset) from None
    return length


def read_block(source: ByteSource, handle: BlockHandle, *, limit: int | None = None,
               max_block_size: int | None = None) -> bytes:
    """Read, check and (if needed) decompress the block at ``handle``.

    The block and its trailer must lie inside ``[0, limit)`` (default: the source's size).
    Returns the block contents as ``bytes``. The checksum is always verified.
    """
    data, size = _read_block(source, handle, limit, max_block_size)
    return data if len(data) == size else data[:size]


def _read_block(source: ByteSource, handle: BlockHandle, limit: int | None,
                max_block_size: int | None) -> tuple[bytes, int]:
    """Like :func:`read_block`, but returns ``(buffer, size)``: the contents are
    ``buffer[:size]`` (saves copying a block read together with its trailer)."""
    path = source.path
    if limit is None:
        limit = source.size
    offset, size = handle
    if offset + size + BLOCK_TRAILER_SIZE > limit:
        raise DataLossError(
            f"block handle (offset {offset}, size {size}) plus its {BLOCK_TRAILER_SIZE}-byte "
            f"trailer runs past the end of the table area ({limit} bytes)",
            path=path, offset=offset)
    raw = source.read_at(offset, size + BLOCK_TRAILER_SIZE)
    view = memoryview(raw)
    stored = decode_fixed32(view, size + 1)
    actual = crc.value(view[:size + 1])
    if crc.unmask(stored) != actual:
        raise DataLossError(
            f"block checksum mismatch: stored {crc.unmask(stored):#010x}, computed "
            f"{actual:#010x} (block at offset {offset}, {size} bytes)",
            path=path, offset=offset)
    block_type = view[size]
    if block_type == NO_COMPRESSION:
        return (raw, size) if isinstance(raw, bytes) else (bytes(view[:size]), size)
    if block_type == SNAPPY_COMPRESSION:
        compressed = view[:size]
        length = _snappy_length(compressed, path, offset)
        bound = _SNAPPY_MAX_RATIO * size + _SNAPPY_SLACK
        if max_block_size is not None:
            bound = min(bound, max_block_size)
        if length > bound:
            raise DataLossError(
                f"snappy block claims {length} uncompressed bytes from {size} compressed "
                f"(limit {bound})", path=path, offset=offset)
        try:
            out: bytes = _snappy().uncompress(compressed)
        except Exception as e:  # snappy.UncompressError, cramjam errors
            raise DataLossError(f"corrupt snappy block: {e}", path=path,
                                offset=offset) from None
        if len(out) != length:
            raise DataLossError(
                f"snappy block decompressed to {len(out)} bytes, preamble says {length}",
                path=path, offset=offset)
        return out, length
    raise UnimplementedError(f"bad block type {block_type} (known: 0 = none, 1 = snappy)",
                             path=path, offset=offset + size)


# ----------------------------------------------------------------------------- separators


def shortest_separator(start: bytes, limit: bytes) -> bytes:
    """A short key ``s`` with ``start <= s < limit`` (TF's FindShortestSeparator)."""
    n = min(len(start), len(limit))
    i = 0
    while i < n and start[i] == limit[i]:
        i += 1
    if i >= n:
        return start
    byte = start[i]
    if byte < 0xFF and byte + 1 < limit[i]:
        return start[:i] + bytes((byte + 1,))
    return start


def short_successor(key: bytes) -> bytes:
    """A short key ``>= key`` (TF's FindShortSuccessor)."""
    for i, byte in enumerate(key):
        if byte != 0xFF:
            return key[:i] + bytes((byte + 1,))
    return key


# ----------------------------------------------------------------------------- builder


class TableBuilder:
    """Writes a table to ``file`` (any object with ``write(bytes)``) as TensorFlow does.

    Blocks are written as soon as they are full; only the current data block and the
    index block are held in memory. Call :meth:`finish` once at the end; the file is
    neither flushed nor closed here.
    """

    def __init__(self, file: IO[bytes], *, block_size: int = DEFAULT_BLOCK_SIZE,
                 restart_interval: int = DEFAULT_RESTART_INTERVAL,
                 compression: str = "none") -> None:
        if not isinstance(block_size, int) or block_size < 1:
            raise InvalidArgumentError(f"block_size must be a positive integer, got "
                                       f"{block_size!r}")
        if compression not in COMPRESSION_TYPES:
            raise InvalidArgumentError(
                f"compression must be one of {sorted(COMPRESSION_TYPES)}, got {compression!r}")
        self._file = file
        self._block_size = block_size
        self._compression = COMPRESSION_TYPES[compression]
        self._data_block = BlockBuilder(restart_interval)
        self._index_block = BlockBuilder(1)
        self._restart_interval = restart_interval
        self._offset = 0
        self._num_entries = 0
        self._last_key = b""
        self._pending_handle: BlockHandle | None = None
        self._closed = False

    @property
    def file_size(self) -> int:
        """Bytes written so far (the final file size once :meth:`finish` returned)."""
        return self._offset

    @property
    def num_entries(self) -> int:
        return self._num_entries

    def add(self, key: BytesLike, value: BytesLike) -> None:
        """Append an entry; keys must be strictly increasing (bytewise)."""
        if self._closed:
            raise FailedPreconditionError("TableBuilder.add called after finish()")
        key = bytes(key)
        if self._num_entries:
            if key <= self._last_key:
                raise InvalidArgumentError(
                    f"table keys must be strictly increasing: {key!r} after "
                    f"{self._last_key!r}")
            if len(key) + len(value) >= 2 * self._block_size:
                self._flush()
        if self._pending_handle is not None:
            self._index_block.add(shortest_separator(self._last_key, key),
                                  self._pending_handle.encode())
            self._pending_handle = None
        self._last_key = key
        self._num_entries += 1
        block = self._data_block
        block.add(key, value)
        if block.current_size_estimate() >= self._block_size:
            self._flush()

    def _flush(self) -> None:
        if self._data_block.empty:
            return
        self._pending_handle = self._write_block(self._data_block)

    def _write_block(self, block: BlockBuilder) -> BlockHandle:
        raw = block.finish()
        contents = raw
        block_type = NO_COMPRESSION
        if self._compression == SNAPPY_COMPRESSION:
            compressed: bytes = _snappy().compress(raw)
            if len(compressed) < len(raw) - len(raw) // 8:
                contents = compressed
                block_type = SNAPPY_COMPRESSION
        handle = BlockHandle(self._offset, len(contents))
        self._write(contents)
        self._write(block_trailer(contents, block_type))
        block.reset()
        return handle

    def _write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            n = self._file.write(view)
            if n is None:  # non-blocking raw file that could not take anything
                raise OSError("file would block; pass a blocking or buffered file")
            self._offset += n
            view = view[n:]

    def finish(self) -> int:
        """Write the remaining block, the metaindex, the index and the footer.

        Returns the file size.
        """
        if self._closed:
            raise FailedPreconditionError("TableBuilder.finish called twice")
        self._flush()
        self._closed = True
        metaindex = self._write_block(BlockBuilder(self._restart_interval))
        if self._pending_handle is not None:
            self._index_block.add(short_successor(self._last_key),
                                  self._pending_handle.encode())
            self._pending_handle = None
        index = self._write_block(self._index_block)
        self._write(Footer(metaindex, index).encode())
        return self._offset


# ----------------------------------------------------------------------------- reader


class TableReader:
    """Reads a table through a :class:`ByteSource` (or bytes in memory).

    Opening reads the footer and the index block only; :meth:`get` reads one data block;
    iteration reads data blocks one at a time. Parsed data blocks are kept in a cache of
    up to ``block_cache_bytes`` bytes (least recently used dropped first; ``0`` disables
    it), so repeated lookups do not re-read and re-check a block.
    ``max_block_size`` optionally caps the size a compressed block may expand to.
    """

    def __init__(self, source: ByteSource | BytesLike, size: int | None = None,
                 path: str | None = None, *, block_cache_bytes: int = 32 << 20,
                 max_block_size: int | None = None) -> None:
        if isinstance(source, (bytes, bytearray, memoryview)):
            source = BytesSource(source, path if path is not None else "<memory>")
        self._source = source
        self._owns_source = False
        self.path: str = path if path is not None else source.path
        if size is None:
            size = source.size
        elif not 0 <= size <= source.size:
            raise InvalidArgumentError(f"table size {size} larger than the source "
                                       f"({source.size} bytes)", path=self.path)
        self.size: int = size
        self._max_block_size = max_block_size
        self._cache_capacity = max(0, block_cache_bytes)
        self._cache_used = 0
        self._cache: OrderedDict[int, Block] = OrderedDict()
        if size < FOOTER_SIZE:
            raise DataLossError(
                f"file is too short to be an sstable: {size} bytes, a footer alone is "
                f"{FOOTER_SIZE}", path=self.path, offset=0)
        footer_at = size - FOOTER_SIZE
        self.footer = Footer.decode(bytes(source.read_at(footer_at, FOOTER_SIZE)),
                                    self.path, footer_at)
        index_block = self._block(self.footer.index_handle)
        keys: list[bytes] = []
        handles: list[BlockHandle] = []
        for key, value in index_block:
            try:
                handle, _ = BlockHandle.decode(value, 0, len(value), self.path)
            except DataLossError as e:
                raise DataLossError(f"bad block handle in index entry {key!r}: {e.message}",
                                    path=self.path,
                                    offset=self.footer.index_handle.offset) from None
            if handle.offset + handle.size + BLOCK_TRAILER_SIZE > footer_at:
                raise DataLossError(
                    f"index entry {key!r} points at a block (offset {handle.offset}, size "
                    f"{handle.size}) outside the file's {footer_at} bytes of blocks",
                    path=self.path, offset=self.footer.index_handle.offset)
            keys.append(key)
            handles.append(handle)
        self._index_keys = keys
        self._handles = handles

    @classmethod
    def open(cls, path: str | os.PathLike[str], **kwargs: int | None) -> TableReader:
        """Open a table file (local path or URL); close it with :meth:`close` or ``with``.

        Remotely the first read takes the file's tail (footer and index block in one
        request) and block reads fetch a little ahead.
        """
        source = open_source(path, tail=INDEX_TAIL, readahead=INDEX_READAHEAD)
        try:
            reader = cls(source, **kwargs)  # type: ignore[arg-type]
        except BaseException:
            source.close()
            raise
        reader._owns_source = True
        return reader

    def close(self) -> None:
        self._cache.clear()
        self._cache_used = 0
        if self._owns_source:
            close = getattr(self._source, "close", None)
            if close is not None:
                close()

    def __enter__(self) -> TableReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ blocks

    def _block(self, handle: BlockHandle) -> Block:
        data, size = _read_block(self._source, handle, self.size - FOOTER_SIZE,
                                 self._max_block_size)
        return Block(data, size, path=self.path, offset=handle.offset)

    @property
    def index(self) -> list[tuple[bytes, BlockHandle]]:
        """The index entries: (separator key, data block handle), in order."""
        return list(zip(self._index_keys, self._handles, strict=True))

    @property
    def num_blocks(self) -> int:
        return len(self._handles)

    def data_block(self, i: int) -> Block:
        """The ``i``-th data block, parsed (and cached)."""
        handle = self._handles[i]
        cache = self._cache
        block = cache.get(handle.offset)
        if block is not None:
            cache.move_to_end(handle.offset)
            return block
        block = self._block(handle)
        if block.size <= self._cache_capacity:
            cache[handle.offset] = block
            self._cache_used += block.size
            while self._cache_used > self._cache_capacity:
                _, dropped = cache.popitem(last=False)
                self._cache_used -= dropped.size
        return block

    # ------------------------------------------------------------------ lookups

    def get(self, key: BytesLike) -> bytes | None:
        """The value stored under ``key``, or None."""
        key = bytes(key)
        i = bisect_left(self._index_keys, key)
        if i == len(self._index_keys):
            return None
        return self.data_block(i).get(key)

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, (bytes, bytearray, memoryview)):
            return False
        return self.get(key) is not None

    def iter_from(self, key: BytesLike | None = None) -> Iterator[tuple[bytes, bytes]]:
        """Yield ``(key, value)`` for every entry with key >= ``key`` (all if None)."""
        keys = self._index_keys
        start = 0
        if key is not None:
            key = bytes(key)
            start = bisect_left(keys, key)
        for i in range(start, len(keys)):
            block = self.data_block(i)
            lower = keys[i - 1] if i else None
            if i == start and key is not None:
                last = yield from block.iter_from(key, lower)
            else:
                last = yield from block.scan(0, lower)
            if last is not None and last > keys[i]:
                raise self._order_error(i, last, keys[i])

    def block_spans(self) -> Iterator[tuple[bytes, list[bytes], np.ndarray, np.ndarray]]:
        """Per data block in order: (block bytes, keys, value starts, value ends).

        Every entry of the table, checked as iteration checks them (see
        :meth:`Block.spans`), with the values left in place for bulk decoding.
        """
        keys = self._index_keys
        for i in range(len(keys)):
            block = self.data_block(i)
            found, starts, ends = block.spans(keys[i - 1] if i else None)
            if found and found[-1] > keys[i]:
                raise self._order_error(i, found[-1], keys[i])
            yield block.data, found, starts, ends

    def _order_error(self, i: int, key: bytes, bound: bytes) -> DataLossError:
        handle = self._handles[i]
        return DataLossError(
            f"data block {i} (offset {handle.offset}) holds key {key!r}, out of order with "
            f"index key {bound!r}", path=self.path, offset=handle.offset)

    def __iter__(self) -> Iterator[tuple[bytes, bytes]]:
        return self.iter_from(None)

    def items(self) -> Iterator[tuple[bytes, bytes]]:
        """All ``(key, value)`` pairs in key order."""
        return self.iter_from(None)

    def keys(self) -> Iterator[bytes]:
        """All keys in order."""
        for key, _ in self.iter_from(None):
            yield key


__all__ = [
    "TABLE_MAGIC",
    "FOOTER_SIZE",
    "BLOCK_TRAILER_SIZE",
    "NO_COMPRESSION",
    "SNAPPY_COMPRESSION",
    "BlockHandle",
    "Footer",
    "block_trailer",
    "read_block",
    "shortest_separator",
    "short_successor",
    "TableBuilder",
    "TableReader",
]
