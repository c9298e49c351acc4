"""Primitive encodings of the table format: varints (LEB128) and little-endian fixed ints.

Decoders take ``(buf, pos, limit)`` and return ``(value, new_pos)``; they never read at or
beyond ``limit`` and raise :class:`DataLossError` when a varint is cut off by ``limit`` or
is longer than its type allows. ``buf`` may be any object indexable by integers that yields
ints: ``bytes``, ``bytearray`` or a ``memoryview`` of format ``B``.
"""

from __future__ import annotations

import struct

import numpy as np

from ..errors import DataLossError

Buffer = bytes | bytearray | memoryview

MAX_VARINT32_BYTES = 5
MAX_VARINT64_BYTES = 10
_MASK32 = 0xFFFFFFFF
_MASK64 = 0xFFFFFFFFFFFFFFFF

_FIXED32 = struct.Struct("<I")
_FIXED64 = struct.Struct("<Q")

# One-byte varints are by far the most common; keep their encodings ready-made.
_SMALL_VARINTS = tuple(bytes((i,)) for i in range(128))


# ----------------------------------------------------------------------------- varint


def encode_varint64(value: int) -> bytes:
    """The LEB128 encoding of ``0 <= value < 2**64``."""
    if 0 <= value < 128:
        return _SMALL_VARINTS[value]
    if value < 0 or value > _MASK64:
        raise ValueError(f"varint64 out of range: {value}")
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def encode_varint32(value: int) -> bytes:
    """The LEB128 encoding of ``0 <= value < 2**32``."""
    if 0 <= value < 128:
        return _SMALL_VARINTS[value]
    if value < 0 or value > _MASK32:
        raise ValueError(f"varint32 out of range: {value}")
    return encode_varint64(value)


def put_varint(out: bytearray, value: int) -> None:
    """Append the LEB128 encoding of a non-negative ``value`` to ``out``."""
    if value < 128:
        out.append(value)
        return
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)


def _decode_varint(
    buf: Buffer, pos: int, limit: int, max_bytes: int, max_value: int, what: str,
    path: str | None,
) -> tuple[int, int]:
    start = pos
    result = 0
    shift = 0
    end = min(limit, pos + max_bytes)
    while pos < end:
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            if result > max_value:
                raise DataLossError(f"{what} overflows: value {result}", path=path,
                                    offset=start)
            return result, pos
        shift += 7
    if pos - start < max_bytes:
        raise DataLossError(f"truncated {what}", path=path, offset=start)
    raise DataLossError(f"{what} longer than {max_bytes} bytes", path=path, offset=start)


def decode_varint32(
    buf: Buffer, pos: int, limit: int, path: str | None = None
) -> tuple[int, int]:
    """Decode a varint32 at ``buf[pos:limit]``; returns ``(value, position after it)``."""
    if pos < limit:
        byte = buf[pos]
        if byte < 0x80:
            return byte, pos + 1
    return _decode_varint(buf, pos, limit, MAX_VARINT32_BYTES, _MASK32, "varint32", path)


def decode_varint64(
    buf: Buffer, pos: int, limit: int, path: str | None = None
) -> tuple[int, int]:
    """Decode a varint64 at ``buf[pos:limit]``; returns ``(value, position after it)``."""
    if pos < limit:
        byte = buf[pos]
        if byte < 0x80:
            return byte, pos + 1
    return _decode_varint(buf, pos, limit, MAX_VARINT64_BYTES, _MASK64, "varint64", path)


def decode_varints_at(
    u8: np.ndarray, pos: np.ndarray, limit: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Decode one varint64 at each position ``pos`` of the byte array ``u8``, at once.

    Returns ``(values as uint64, positions after them, good)``; ``good`` is False where a
    varint reaches ``limit`` (per position) or beyond, or is longer than 64 bits (values
    there are meaningless). ``u8`` must extend at least 10 bytes past every ``limit``
    (zero padding), so no read leaves the array.
    """
    first = u8[pos]
    value = (first & 0x7F).astype(np.uint64)
    end = pos + 1
    good = np.ones(pos.shape, dtype=bool)
    rows = np.flatnonzero(first >= 0x80)
    shift = 7
    # One pass per byte position, over the varints still going: most are 1-3 bytes.
    while rows.size:
        if shift > 63:
            good[rows] = False
            break
        byte = u8[end[rows]]
        if shift == 63:
            good[rows[byte > 1]] = False  # only one bit of a tenth byte fits in 64
        value[rows] |= (byte & 0x7F).astype(np.uint64) << np.uint64(shift)
        end[rows] += 1
        rows = rows[byte >= 0x80]
        shift += 7
    good &= end <= limit
    return value, end, good


# ----------------------------------------------------------------------------- fixed


def encode_fixed32(value: int) -> bytes:
    """Four little-endian bytes."""
    return _FIXED32.pack(value)


def encode_fixed64(value: int) -> bytes:
    """Eight little-endian bytes."""
    return _FIXED64.pack(value)


def decode_fixed32(buf: Buffer, pos: int = 0, path: str | None = None) -> int:
    """The little-endian uint32 at ``buf[pos:pos+4]``."""
    if pos < 0 or pos + 4 > len(buf):
        raise DataLossError("truncated fixed32", path=path, offset=pos)
    value: int = _FIXED32.unpack_from(buf, pos)[0]
    return value


def decode_fixed64(buf: Buffer, pos: int = 0, path: str | None = None) -> int:
    """The little-endian uint64 at ``buf[pos:pos+8]``."""
    if pos < 0 or pos + 8 > len(buf):
        raise DataLossError("truncated fixed64", path=path, offset=pos)
    value: int = _FIXED64.unpack_from(buf, pos)[0]
    return value


__all__ = [
    "MAX_VARINT32_BYTES",
    "MAX_VARINT64_BYTES",
    "encode_varint32",
    "encode_varint64",
    "put_varint",
    "decode_varint32",
    "decode_varint64",
    "decode_varints_at",
    "encode_fixed32",
    "encode_fixed64",
    "decode_fixed32",
    "decode_fixed64",
]
