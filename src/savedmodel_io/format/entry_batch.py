"""Decode every ``BundleEntryProto`` of an index block at once, with numpy.

Listing a checkpoint of many small tensors is dominated by decoding its index entries;
protobuf plus the per-entry checks cost about 20 µs an entry in Python. This decoder reads
the layout TensorFlow writes (fields in number order, each at most once, no slices, no
unknown fields) for all entries of a block with a few dozen array operations, and applies
the checks of :meth:`BundleEntry.decode <savedmodel_io.format.bundle_entry.BundleEntry.decode>`.

It never decides an error itself: an entry it does not recognise, or one that fails a
check, is only marked ``ok = False``, and the caller decodes it with
``BundleEntry.decode`` (protobuf), which either accepts it or raises the error naming file
and key. So every entry ends up exactly as the protobuf path would have it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from savedmodel_io import dtypes
from savedmodel_io.dtypes import DataType
from savedmodel_io.format.bundle_entry import MAX_RANK
from savedmodel_io.format.coding import decode_varints_at

_PAD = 16  # zero bytes after the block, so a 10-byte varint window never leaves the array
_I63 = np.uint64(1 << 63)
_I31 = np.uint64(1 << 31)
# Shapes whose running element count reaches this go to the exact (Python integer) path:
# with at most 16 bytes an element, n * itemsize then stays far from int64 overflow.
_BIG_COUNT = float(1 << 58)

# Per DataType number: 1 fixed-size, 2 string, 3 variant, 0 anything the fast path leaves
# to the protobuf path (unknown numbers, DT_INVALID, DT_RESOURCE, reference types).
_KIND = np.zeros(256, dtype=np.int8)
_ITEMSIZE = np.zeros(256, dtype=np.int64)
for _dt in DataType:
    if _dt in (DataType.DT_INVALID, DataType.DT_RESOURCE) or dtypes.is_ref(_dt):
        continue
    if _dt == DataType.DT_STRING:
        _KIND[_dt] = 2
    elif _dt == DataType.DT_VARIANT:
        _KIND[_dt] = 3
    else:
        _size = dtypes.itemsize(_dt)
        if _size is not None:
            _KIND[_dt] = 1
            _ITEMSIZE[_dt] = _size

_DATATYPES: list[DataType | None] = [None] * 256
for _dt in DataType:
    if _dt < 256:
        _DATATYPES[_dt] = _dt


@dataclass
class EntryBatch:
    """Decoded fields of ``n`` entries; row ``i`` is meaningful only where ``ok[i]``."""

    ok: np.ndarray  # bool
    dtype: list[DataType | None]
    shape: list[tuple[int, ...]]
    shard_id: np.ndarray  # int64
    offset: np.ndarray  # int64
    size: np.ndarray  # int64
    crc32c: np.ndarray  # int64 (masked, as stored)


def decode_batch(block: bytes, starts: Sequence[int] | np.ndarray,
                 ends: Sequence[int] | np.ndarray, *,
                 num_shards: int | None = None) -> EntryBatch:
    """Decode the entries stored at ``block[starts[i]:ends[i]]``.

    ``num_shards`` as for ``BundleEntry.decode``: when given, a shard id outside the
    bundle's shards is a failure (left to the protobuf path, which raises).
    """
    n = len(starts)
    u8 = np.zeros(len(block) + _PAD, dtype=np.uint8)
    u8[:len(block)] = np.frombuffer(block, dtype=np.uint8)
    pos = np.array(starts, dtype=np.int64)  # a copy: advanced field by field
    end = np.asarray(ends, dtype=np.int64)
    ok = np.ones(n, dtype=bool)
    if n and (int(pos.min()) < 0 or int(end.max()) > len(block) or bool(np.any(pos > end))):
        raise ValueError("entry spans outside the block")

    def scalar(tag: int, limit: np.uint64) -> np.ndarray:
        """Read the optional varint field ``tag`` where it comes next; values >= limit
        (negative or out of the field's range) fail."""
        out = np.zeros(n, dtype=np.uint64)
        rows = np.flatnonzero(ok & (pos < end) & (u8[pos] == tag))
        if rows.size:
            val, after, good = decode_varints_at(u8, pos[rows] + 1, end[rows])
            good &= val < limit
            out[rows] = val
            ok[rows[~good]] = False
            pos[rows[good]] = after[good]
        return out

    dtype = scalar(0x08, _I31)
    rank, dims, count = _shapes(u8, pos, end, ok)
    shard = scalar(0x18, _I31)
    offset = scalar(0x20, _I63)
    size = scalar(0x28, _I63)
    crc = np.zeros(n, dtype=np.int64)
    rows = np.flatnonzero(ok & (pos < end) & (u8[pos] == 0x35))
    if rows.size:
        p = pos[rows] + 1
        good = p + 4 <= end[rows]
        word = (u8[p].astype(np.int64) | (u8[p + 1].astype(np.int64) << 8)
                | (u8[p + 2].astype(np.int64) << 16) | (u8[p + 3].astype(np.int64) << 24))
        crc[rows] = word
        ok[rows[~good]] = False
        pos[rows[good]] = p[good] + 4
    ok &= pos == end  # anything left over (slices, unknown or repeated fields): protobuf

    # The checks of BundleEntry.decode; a failing entry goes to the protobuf path.
    dt = np.minimum(dtype, np.uint64(255)).astype(np.int64)
    kind = _KIND[dt]
    ok &= (kind != 0) & (dtype < 256)
    if num_shards is not None:
        ok &= shard < np.uint64(max(num_shards, 1))
    ok &= offset <= np.uint64((1 << 63) - 1) - size
    n_elem = np.where(ok, count, 0)
    size_i = size.astype(np.int64)
    ok &= np.where(kind == 1, n_elem * _ITEMSIZE[dt] == size_i,
                   np.where(kind == 2, size_i >= n_elem + 4, size_i >= 5 * n_elem))

    return EntryBatch(ok, [_DATATYPES[d] for d in dt.tolist()],
                      _tuples(rank, dims, ok, n), shard.astype(np.int64),
                      offset.astype(np.int64), size_i, crc)


def _shapes(u8: np.ndarray, pos: np.ndarray, end: np.ndarray, ok: np.ndarray
            ) -> tuple[np.ndarray, list[tuple[np.ndarray, np.ndarray]], np.ndarray]:
    """Read the optional ``shape`` field (2): (rank, [(rows, dim k) for each k], count).

    A shape is ``dim*``, each dim ``12 len [08 size]``; a dim with a name, an unknown
    rank flag or anything else fails. ``count`` is the element count. Like
    ``decode_shape``, which refuses a shape once a running product passes 2^63, a running
    product reaching 2^58 fails here (judged in floating point, so it cannot wrap); below
    that the int64 product is exact.
    """
    n = len(pos)
    rank = np.zeros(n, dtype=np.int64)
    count = np.ones(n, dtype=np.int64)
    approx = np.ones(n, dtype=np.float64)
    dims: list[tuple[np.ndarray, np.ndarray]] = []
    rows = np.flatnonzero(ok & (pos < end) & (u8[pos] == 0x12))
    if not rows.size:
        return rank, dims, count
    length, start, good = decode_varints_at(u8, pos[rows] + 1, end[rows])
    good &= length <= (end[rows] - start).astype(np.uint64)
    ok[rows[~good]] = False
    rows, start = rows[good], start[good]
    stop = start + length[good].astype(np.int64)
    pos[rows] = stop
    cur = start
    while rows.size:
        more = cur < stop
        rows, cur, stop = rows[more], cur[more], stop[more]
        if not rows.size:
            break
        if len(dims) == MAX_RANK:
            ok[rows] = False
            break
        dlen, body, good = decode_varints_at(u8, cur + 1, stop)
        good &= (u8[cur] == 0x12) & (dlen <= (stop - body).astype(np.uint64))
        dend = body + np.where(good, dlen, 0).astype(np.int64)
        value = np.zeros(rows.size, dtype=np.uint64)
        sized = np.flatnonzero(good & (dlen > 0))
        if sized.size:
            v, after, g = decode_varints_at(u8, body[sized] + 1, dend[sized])
            g &= (u8[body[sized]] == 0x08) & (after == dend[sized]) & (v < _I63)
            value[sized] = v
            good[sized] = g
        ival = value.astype(np.int64)
        approx[rows] *= ival
        good &= approx[rows] < _BIG_COUNT
        ok[rows[~good]] = False
        rows, cur, stop, ival = rows[good], dend[good], stop[good], ival[good]
        dims.append((rows, ival))
        rank[rows] += 1
        count[rows] *= ival
    return rank, dims, count


def _tuples(rank: np.ndarray, dims: list[tuple[np.ndarray, np.ndarray]], ok: np.ndarray,
            n: int) -> list[tuple[int, ...]]:
    """The shapes as tuples of Python ints (``()`` where not ``ok``)."""
    shapes: list[tuple[int, ...]] = [()] * n
    if not dims:
        return shapes
    table = np.zeros((n, len(dims)), dtype=np.int64)
    for k, (rows, values) in enumerate(dims):
        table[rows, k] = values
    for r in np.unique(rank[ok]).tolist():
        if r == 0:
            continue
        sel = np.flatnonzero(ok & (rank == r))
        for i, t in zip(sel.tolist(), map(tuple, table[sel, :r].tolist()), strict=True):
            shapes[i] = t
    return shapes


__all__ = ["EntryBatch", "decode_batch"]
