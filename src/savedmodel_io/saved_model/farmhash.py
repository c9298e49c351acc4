"""TensorFlow's 64-bit fingerprints: ``Fingerprint64`` (FarmHash's ``Fingerprint64``, the
"na" variant of ``Hash64``) and ``FingerprintCat64``, the way ``fingerprint.pb`` combines them.

>>> hex(fingerprint64(b""))
'0x9ae16a3b2f90404f'

Pure Python, about 4 MB/s (64 bytes per loop turn): milliseconds for a typical
``saved_model.pb``, some 25 s for a 100 MB one. Not meant for gigabytes.
"""

from __future__ import annotations

import numpy as np

_MASK = (1 << 64) - 1
_K0 = 0xC3A5C85C97CB3127
_K1 = 0xB492B66FBE98F273
_K2 = 0x9AE16A3B2F90404F
_KMUL = 0xC6A4A7935BD1E995  # FingerprintCat64's multiplier (MurmurHash2's)


def _fetch64(s: bytes, i: int) -> int:
    return int.from_bytes(s[i:i + 8], "little")


def _fetch32(s: bytes, i: int) -> int:
    return int.from_bytes(s[i:i + 4], "little")


def _rotate(v: int, shift: int) -> int:
    # A right rotation, as farmhash's Rotate64.
    return v if shift == 0 else ((v >> shift) | (v << (64 - shift))) & _MASK


def _shift_mix(v: int) -> int:
    return v ^ (v >> 47)


def _hash_len16(u: int, v: int, mul: int) -> int:
    a = ((u ^ v) * mul) & _MASK
    a ^= a >> 47
    b = ((v ^ a) * mul) & _MASK
    b ^= b >> 47
    return (b * mul) & _MASK


def _hash_len0to16(s: bytes) -> int:
    n = len(s)
    if n >= 8:
        mul = _K2 + n * 2
        a = (_fetch64(s, 0) + _K2) & _MASK
        b = _fetch64(s, n - 8)
        c = (_rotate(b, 37) * mul + a) & _MASK
        d = ((_rotate(a, 25) + b) * mul) & _MASK
        return _hash_len16(c, d, mul)
    if n >= 4:
        mul = _K2 + n * 2
        a = _fetch32(s, 0)
        return _hash_len16(n + (a << 3), _fetch32(s, n - 4), mul)
    if n > 0:
        y = s[0] + (s[n >> 1] << 8)
        z = n + (s[n - 1] << 2)
        return (_shift_mix(((y * _K2) ^ (z * _K0)) & _MASK) * _K2) & _MASK
    return _K2


def _hash_len17to32(s: bytes) -> int:
    n = len(s)
    mul = _K2 + n * 2
    a = (_fetch64(s, 0) * _K1) & _MASK
    b = _fetch64(s, 8)
    c = (_fetch64(s, n - 8) * mul) & _MASK
    d = (_fetch64(s, n - 16) * _K2) & _MASK
    return _hash_len16((_rotate((a + b) & _MASK, 43) + _rotate(c, 30) + d) & _MASK,
                       (a + _rotate((b + _K2) & _MASK, 18) + c) & _MASK, mul)


def _hash_len33to64(s: bytes) -> int:
    n = len(s)
    mul = _K2 + n * 2
    a = (_fetch64(s, 0) * _K2) & _MASK
    b = _fetch64(s, 8)
    c = (_fetch64(s, n - 8) * mul) & _MASK
    d = (_fetch64(s, n - 16) * _K2) & _MASK
    y = (_rotate((a + b) & _MASK, 43) + _rotate(c, 30) + d) & _MASK
    z = _hash_len16(y, (a + _rotate((b + _K2) & _MASK, 18) + c) & _MASK, mul)
    e = (_fetch64(s, 16) * mul) & _MASK
    f = _fetch64(s, 24)
    g = ((y + _fetch64(s, n - 32)) * mul) & _MASK
    h = ((z + _fetch64(s, n - 24)) * mul) & _MASK
    return _hash_len16((_rotate((e + f) & _MASK, 43) + _rotate(g, 30) + h) & _MASK,
                       (e + _rotate((f + a) & _MASK, 18) + g) & _MASK, mul)


def _weak_hash_len32_with_seeds(s: bytes, i: int, a: int, b: int) -> tuple[int, int]:
    w, x, y, z = (_fetch64(s, i), _fetch64(s, i + 8), _fetch64(s, i + 16),
                  _fetch64(s, i + 24))
    a = (a + w) & _MASK
    b = _rotate((b + a + z) & _MASK, 21)
    c = a
    a = (a + x + y) & _MASK
    b = (b + _rotate(a, 44)) & _MASK
    return (a + z) & _MASK, (b + c) & _MASK


def fingerprint64(data: bytes | bytearray | memoryview) -> int:
    """TensorFlow's ``Fingerprint64(data)``: an unsigned 64-bit integer."""
    s = bytes(data)
    n = len(s)
    if n <= 16:
        return _hash_len0to16(s)
    if n <= 32:
        return _hash_len17to32(s)
    if n <= 64:
        return _hash_len33to64(s)
    seed = 81
    x = seed
    y = (seed * _K1 + 113) & _MASK
    z = (_shift_mix((y * _K2 + 113) & _MASK) * _K2) & _MASK
    v0 = v1 = w0 = w1 = 0
    x = (x * _K2 + _fetch64(s, 0)) & _MASK
    end = ((n - 1) // 64) * 64
    last64 = end + ((n - 1) & 63) - 63
    # The 64-byte blocks as 8-byte words, unpacked once; the loop body is farmhash's,
    # with Rotate and WeakHashLen32WithSeeds written out (this loop is all the time).
    words = np.frombuffer(s, dtype="<u8", count=end // 8).tolist()
    m, k1 = _MASK, _K1
    for j in range(0, end // 8, 8):
        w_0, w_1, w_2, w_3, w_4, w_5, w_6, w_7 = words[j:j + 8]
        t = (x + y + v0 + w_1) & m
        x = (((t >> 37) | (t << 27)) & m) * k1 & m
        t = (y + v1 + w_6) & m
        y = (((t >> 42) | (t << 22)) & m) * k1 & m
        x ^= w1
        y = (y + v0 + w_5) & m
        t = (z + w0) & m
        z = (((t >> 33) | (t << 31)) & m) * k1 & m
        # v = WeakHashLen32WithSeeds(block[0:32], v1 * k1, x + w0)
        a = (v1 * k1 + w_0) & m
        t = (x + w0 + a + w_3) & m
        b = (t >> 21) | (t << 43) & m
        c = a
        a = (a + w_1 + w_2) & m
        b = (b + ((a >> 44) | (a << 20) & m)) & m
        v0, v1 = (a + w_3) & m, (b + c) & m
        # w = WeakHashLen32WithSeeds(block[32:64], z + w1, y + block word 2)
        a = (z + w1 + w_4) & m
        t = (y + w_2 + a + w_7) & m
        b = (t >> 21) | (t << 43) & m
        c = a
        a = (a + w_5 + w_6) & m
        b = (b + ((a >> 44) | (a << 20) & m)) & m
        w0, w1 = (a + w_7) & m, (b + c) & m
        z, x = x, z
    i = last64
    mul = _K1 + ((z & 0xFF) << 1)
    w0 = (w0 + ((n - 1) & 63)) & _MASK
    v0 = (v0 + w0) & _MASK
    w0 = (w0 + v0) & _MASK
    x = (_rotate((x + y + v0 + _fetch64(s, i + 8)) & _MASK, 37) * mul) & _MASK
    y = (_rotate((y + v1 + _fetch64(s, i + 48)) & _MASK, 42) * mul) & _MASK
    x ^= (w1 * 9) & _MASK
    y = (y + v0 * 9 + _fetch64(s, i + 40)) & _MASK
    z = (_rotate((z + w0) & _MASK, 33) * mul) & _MASK
    v0, v1 = _weak_hash_len32_with_seeds(s, i, (v1 * mul) & _MASK, (x + w0) & _MASK)
    w0, w1 = _weak_hash_len32_with_seeds(s, i + 32, (z + w1) & _MASK,
                                         (y + _fetch64(s, i + 16)) & _MASK)
    z, x = x, z
    return _hash_len16(
        (_hash_len16(v0, w0, mul) + _shift_mix(y) * _K0 + z) & _MASK,
        (_hash_len16(v1, w1, mul) + x) & _MASK, mul)


def fingerprint_cat64(fp1: int, fp2: int) -> int:
    """TensorFlow's ``FingerprintCat64(fp1, fp2)``: combine two fingerprints (order matters)."""
    result = fp1 ^ _KMUL
    result ^= (_shift_mix((fp2 * _KMUL) & _MASK) * _KMUL) & _MASK
    result = (result * _KMUL) & _MASK
    result = (_shift_mix(result) * _KMUL) & _MASK
    return _shift_mix(result)


__all__ = ["fingerprint64", "fingerprint_cat64"]
