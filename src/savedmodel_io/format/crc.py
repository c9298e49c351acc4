"""CRC32C (Castagnoli) and the masked form the table and bundle formats store.

All functions accept any object exposing a contiguous buffer (``bytes``, ``bytearray``,
``memoryview``, a contiguous numpy array) and never copy it.
"""

from __future__ import annotations

from typing import Any

import crc32c as _crc32c

_MASK_DELTA = 0xA282EAD8
_U32 = 0xFFFFFFFF


def value(data: Any) -> int:
    """CRC32C of ``data``."""
    result: int = _crc32c.crc32c(data)
    return result


def extend(crc: int, data: Any) -> int:
    """Continue ``crc`` (the CRC32C of some bytes) over ``data``."""
    result: int = _crc32c.crc32c(data, value=crc)
    return result


def mask(crc: int) -> int:
    """The stored form of a CRC: rotated right by 15 bits plus a constant (mod 2**32)."""
    return ((((crc >> 15) | (crc << 17)) & _U32) + _MASK_DELTA) & _U32


def unmask(masked: int) -> int:
    """Inverse of :func:`mask`."""
    rot = (masked - _MASK_DELTA) & _U32
    return ((rot >> 17) | (rot << 15)) & _U32


__all__ = ["value", "extend", "mask", "unmask"]
