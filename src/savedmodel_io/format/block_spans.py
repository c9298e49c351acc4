"""Find every entry of a table block at once, with numpy: keys and where values lie.

The entries of a block form chains: each key shares a prefix with the key before it,
and each entry's position depends on the lengths of the one before. But every restart
point (every 16th entry in TensorFlow's tables) starts a fresh chain at a known offset,
so step ``k`` of all chains can be decoded together: 16 vectorized steps instead of a
Python loop over thousands of entries. Keys are rebuilt the same way, as rows of a byte
matrix, and handed out as ``bytes`` at the end.

This is only a faster route to what :meth:`Block.spans <savedmodel_io.format.block.Block
.spans>` computes with a loop: whenever a block is not laid out as expected (a chain that
does not end exactly at the next restart point, a shared prefix at a restart point, keys
out of order, anything out of bounds, chains longer than ``MAX_STEPS``, keys longer than
``MAX_KEY_WIDTH``), this returns None and the loop walks the block and reports the
problem.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from savedmodel_io.format.coding import decode_varints_at

MAX_STEPS = 64  # longer chains (restart interval > 64) are left to the loop
MAX_KEY_WIDTH = 256  # so are blocks with longer keys
# Zero bytes after the entries, so every varint and key read stays inside the array.
_PAD = MAX_KEY_WIDTH + 16

Step = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def block_spans(data: bytes, end: int, restarts: Sequence[int], lower: bytes | None = None
                ) -> tuple[list[bytes], np.ndarray, np.ndarray] | None:
    """(keys, value starts, value ends) of the entries in ``data[:end]``, or None.

    ``restarts`` are the block's (already checked) restart offsets; ``lower``, if given,
    is a key the first entry must exceed.
    """
    if end == 0:
        empty = np.zeros(0, dtype=np.int64)
        return [], empty, empty
    u8 = np.zeros(end + _PAD, dtype=np.uint8)
    u8[:end] = np.frombuffer(data, dtype=np.uint8, count=end)
    steps = _walk(u8, np.array(restarts, dtype=np.int64), end)
    if steps is None:
        return None

    # Entry order: chain by chain, step by step within a chain.
    counts = np.zeros(len(restarts), dtype=np.int64)
    for chains, *_ in steps:
        counts[chains] += 1
    chain_first = np.cumsum(counts) - counts
    n = int(counts.sum())
    rows_by_step = [chain_first[chains] + k for k, (chains, *_) in enumerate(steps)]
    key_len = np.empty(n, dtype=np.int64)
    vstart = np.empty(n, dtype=np.int64)
    vend = np.empty(n, dtype=np.int64)
    for rows, (_, shared, unshared, kstart, vend_k) in zip(rows_by_step, steps, strict=True):
        key_len[rows] = shared + unshared
        vstart[rows] = kstart + unshared
        vend[rows] = vend_k
    width = int(key_len.max())
    if width > MAX_KEY_WIDTH:
        return None

    # Keys as rows of a byte matrix: row i is the prefix of row i - 1 (the chain's
    # previous key) followed by the entry's own bytes. Bytes past a key's length are
    # garbage until zeroed at the end; a prefix never reaches them.
    table = np.empty((n, width), dtype=np.uint8)
    windows = sliding_window_view(u8, width) if width else u8[:, None][:, :0]
    col = np.arange(width, dtype=np.int64)
    for k, (rows, (_, shared, _, kstart, _)) in enumerate(zip(rows_by_step, steps,
                                                                strict=True)):
        # kstart - shared >= 0: a chain's key never outgrows the bytes its entries used.
        own = windows[kstart - shared]
        table[rows] = np.where(col < shared[:, None], table[rows - 1], own) if k else own
    table[col >= key_len[:, None]] = 0
    if not _increasing(table, key_len):
        return None
    # As fixed-width strings, numpy hands out bytes objects in C; it drops trailing zero
    # bytes, which only matters for keys that really end in one.
    keys: list[bytes] = table.view(f"S{width}").ravel().tolist() if width else [b""] * n
    if width:
        ends_in_zero = np.flatnonzero((key_len > 0) & (table[np.arange(n), key_len - 1] == 0))
        for i in ends_in_zero.tolist():
            keys[i] = table[i, :key_len[i]].tobytes()
    if lower is not None and not keys[0] > lower:
        return None
    return keys, vstart, vend


def _walk(u8: np.ndarray, first: np.ndarray, end: int) -> list[Step] | None:
    """Decode the entry headers of all chains, one step at a time.

    Returns per step (chains still going, shared, unshared, key start, value end), or
    None if a chain breaks the expected layout.
    """
    limit = np.empty_like(first)
    limit[:-1] = first[1:]
    limit[-1] = end
    cur = first.copy()
    prev_len = np.zeros(len(first), dtype=np.int64)
    alive = np.arange(len(first), dtype=np.int64)
    steps: list[Step] = []
    three = np.arange(3, dtype=np.int64)
    while alive.size:
        if len(steps) == MAX_STEPS:
            return None
        lim = limit[alive]
        pos = cur[alive]
        head = u8[pos[:, None] + three].astype(np.int64)
        if int(head.max()) < 0x80:  # every length fits in one byte: the usual case
            shared, unshared, vlen = head.T
            pos = pos + 3
            good = pos <= lim
        else:
            s64, pos, g1 = decode_varints_at(u8, pos, lim)
            u64, pos, g2 = decode_varints_at(u8, pos, lim)
            v64, pos, g3 = decode_varints_at(u8, pos, lim)
            good = g1 & g2 & g3 & (s64 < 1 << 32) & (u64 < 1 << 32) & (v64 < 1 << 32)
            shared, unshared, vlen = (x.astype(np.int64) for x in (s64, u64, v64))
        vend = pos + unshared + vlen
        good &= vend <= lim
        good &= (shared <= prev_len[alive]) if steps else (shared == 0)
        if not good.all():
            return None
        steps.append((alive, shared, unshared, pos, vend))
        prev_len[alive] = shared + unshared
        cur[alive] = vend
        alive = alive[vend < lim]
    return steps


def _increasing(table: np.ndarray, key_len: np.ndarray) -> bool:
    """Whether the keys (rows of ``table``, zero-padded to equal width) strictly increase.

    Where two padded rows first differ, the larger byte marks the larger key (a zero
    from padding only meets a real byte that makes its key longer, hence larger); rows
    that are equal padded differ only in trailing zeros, so the longer key is larger.
    """
    if len(table) < 2 or not table.shape[1]:
        return len(table) < 2
    a, b = table[:-1], table[1:]
    differ = a != b
    j = differ.argmax(axis=1)
    rows = np.arange(len(a))
    some = differ[rows, j]
    return bool(np.all(np.where(some, b[rows, j] > a[rows, j], key_len[1:] > key_len[:-1])))


__all__ = ["MAX_KEY_WIDTH", "MAX_STEPS", "block_spans"]
