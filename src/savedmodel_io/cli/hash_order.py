"""The order in which TensorFlow lists the tensors of a legacy V1 checkpoint.

TensorFlow's V1 reader keeps its tensors in a ``std::unordered_map<std::string, ...>``
and ``inspect_checkpoint`` prints them in that map's iteration order. With GNU libstdc++
(what TensorFlow's Linux and macOS-from-source builds use) the order is deterministic: it
follows from the string hash (``std::_Hash_bytes``, a 64-bit Murmur variant), the prime
bucket counts of the rehash policy, where a new node goes in the bucket list, and how a
rehash relinks the nodes. :func:`unordered_map_order` replays that for a sequence of
insertions of distinct keys.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable

_MASK = (1 << 64) - 1
_MUL = (0xC6A4A793 << 32) + 0x5BD1E995
_STRING_SEED = 0xC70F6907

# libstdc++'s bucket counts (its __prime_list), up to the sizes a checkpoint can reach.
_PRIMES = (
    2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79,
    83, 89, 97, 103, 109, 113, 127, 137, 139, 149, 157, 167, 179, 193, 199, 211, 227, 241,
    257, 277, 293, 313, 337, 359, 383, 409, 439, 467, 503, 541, 577, 619, 661, 709, 761,
    823, 887, 953, 1031, 1109, 1193, 1289, 1381, 1493, 1613, 1741, 1879, 2029, 2179, 2357,
    2549, 2753, 2971, 3209, 3469, 3739, 4027, 4349, 4703, 5087, 5503, 5953, 6427, 6949,
    7517, 8123, 8783, 9497, 10273, 11113, 12011, 12983, 14033, 15173, 16411, 17749, 19183,
    20753, 22447, 24281, 26267, 28411, 30727, 33223, 35933, 38873, 42043, 45481, 49201,
    53201, 57557, 62233, 67307, 72817, 78779, 85229, 92203, 99733, 107897, 116731, 126271,
    136607, 147793, 159871, 172933, 187091, 202409, 218971, 236897, 256279, 277261, 299951,
    324503, 351061, 379787, 410857, 444487, 480881, 520241, 562841, 608903, 658753, 712697,
    771049, 834181, 902483, 976369, 1056323, 1142821, 1236397, 1337629, 1447153, 1565659,
    1693859, 1832561, 1982627, 2144977, 2320627, 2510653, 2716249, 2938679, 3179303,
    3439651, 3721303, 4026031,
)
_FAST_BUCKETS = (2, 2, 2, 3, 5, 5, 7, 7, 11, 11, 11, 11, 13, 13)
MAX_KEYS = 3_000_000  # beyond this the table above may run out: keep insertion order


def _shift_mix(v: int) -> int:
    return v ^ (v >> 47)


def hash_bytes(data: bytes, seed: int = _STRING_SEED) -> int:
    """``std::hash<std::string>`` of libstdc++ on 64-bit targets."""
    n = len(data)
    h = (seed ^ (n * _MUL)) & _MASK
    aligned = n & ~7
    for i in range(0, aligned, 8):
        word = int.from_bytes(data[i:i + 8], "little")
        h ^= (_shift_mix((word * _MUL) & _MASK) * _MUL) & _MASK
        h = (h * _MUL) & _MASK
    if n & 7:
        h ^= int.from_bytes(data[aligned:], "little")
        h = (h * _MUL) & _MASK
    h = (_shift_mix(h) * _MUL) & _MASK
    return _shift_mix(h)


class _Policy:
    """libstdc++'s ``_Prime_rehash_policy`` at max load factor 1."""

    def __init__(self) -> None:
        self.next_resize = 0

    def next_bucket_count(self, n: int) -> int:
        if n < len(_FAST_BUCKETS):
            if n == 0:
                return 1
            self.next_resize = _FAST_BUCKETS[n]
            return _FAST_BUCKETS[n]
        i = bisect_left(_PRIMES, n, lo=6, hi=len(_PRIMES) - 1)
        self.next_resize = _PRIMES[i]
        return _PRIMES[i]

    def need_rehash(self, buckets: int, elements: int, inserting: int) -> int | None:
        if elements + inserting <= self.next_resize:
            return None
        # An empty table starts at 11+ buckets.
        min_buckets = max(elements + inserting, 11 if self.next_resize == 0 else 0)
        if min_buckets >= buckets:
            return self.next_bucket_count(max(min_buckets + 1, buckets * 2))
        self.next_resize = buckets
        return None


_BEFORE_BEGIN = -1  # the list head sentinel


def unordered_map_order(keys: Iterable[bytes]) -> list[int]:
    """Indices of ``keys`` (distinct, in insertion order) in iteration order."""
    key_list = list(keys)
    if len(key_list) > MAX_KEYS:
        return list(range(len(key_list)))
    hashes = [hash_bytes(k) for k in key_list]
    policy = _Policy()
    nxt: dict[int, int | None] = {_BEFORE_BEGIN: None}
    buckets: list[int | None] = [None]  # bucket -> node before its first node

    def insert_bucket_begin(bkt: int, node: int, count: int) -> None:
        before = buckets[bkt]
        if before is not None:
            nxt[node] = nxt[before]
            nxt[before] = node
            return
        first = nxt[_BEFORE_BEGIN]
        nxt[node] = first
        nxt[_BEFORE_BEGIN] = node
        if first is not None:
            buckets[hashes[first] % count] = node
        buckets[bkt] = _BEFORE_BEGIN

    def rehash(count: int) -> list[int | None]:
        new: list[int | None] = [None] * count
        p = nxt[_BEFORE_BEGIN]
        nxt[_BEFORE_BEGIN] = None
        begin_bucket = 0
        while p is not None:
            following = nxt[p]
            bkt = hashes[p] % count
            before = new[bkt]
            if before is None:
                nxt[p] = nxt[_BEFORE_BEGIN]
                nxt[_BEFORE_BEGIN] = p
                new[bkt] = _BEFORE_BEGIN
                if nxt[p] is not None:
                    new[begin_bucket] = p
                begin_bucket = bkt
            else:
                nxt[p] = nxt[before]
                nxt[before] = p
            p = following
        return new

    for node in range(len(key_list)):
        count = policy.need_rehash(len(buckets), node, 1)
        if count is not None:
            buckets = rehash(count)
        insert_bucket_begin(hashes[node] % len(buckets), node, len(buckets))

    order = []
    p = nxt[_BEFORE_BEGIN]
    while p is not None:
        order.append(p)
        p = nxt[p]
    return order


__all__ = ["hash_bytes", "unordered_map_order", "MAX_KEYS"]
