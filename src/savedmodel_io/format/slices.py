"""Tensor slices: the region of a partitioned variable a stored piece covers.

Three spellings of the same thing live here, each with encode and decode:

* :class:`TensorSlice` with ``(start, length)`` per dimension (length ``-1`` = the whole
  dimension), and its TensorSliceProto form;
* the ``shape_and_slices`` strings SaveV2/RestoreV2 take: ``"5 2 0,3:0,2"``;
* the checkpoint key of a slice, ``slice_key(name, slice)``, in TensorFlow's OrderedCode
  ("increasing") encoding: ``00 <name, escaped> 00 01 <rank> <start,length>...``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from savedmodel_io.errors import DataLossError, InvalidArgumentError

FULL = -1  # length of a dimension that is taken whole


@dataclass(frozen=True)
class TensorSlice:
    """``extents[d] = (start, length)``; length FULL (-1) means all of dimension d."""

    extents: tuple[tuple[int, int], ...]

    @classmethod
    def full(cls, rank: int) -> TensorSlice:
        return cls(tuple((0, FULL) for _ in range(rank)))

    @property
    def rank(self) -> int:
        return len(self.extents)

    def is_full(self) -> bool:
        return all(length == FULL for _, length in self.extents)

    def bounds(self, shape: Sequence[int]) -> list[tuple[int, int]]:
        """(start, stop) per dimension, with FULL dimensions resolved against ``shape``."""
        return [(0, dim) if length == FULL else (start, start + length)
                for (start, length), dim in zip(self.extents, shape, strict=True)]

    def slice_shape(self, shape: Sequence[int]) -> list[int]:
        return [stop - start for start, stop in self.bounds(shape)]

    def check_inside(self, shape: Sequence[int]) -> None:
        if self.rank != len(shape):
            raise InvalidArgumentError(
                f"slice {self} has rank {self.rank}, the tensor has rank {len(shape)}")
        for d, ((start, length), dim) in enumerate(zip(self.extents, shape, strict=True)):
            if length == FULL:
                continue
            if start < 0 or length < 0 or start + length > dim:
                raise InvalidArgumentError(
                    f"slice {self} leaves the tensor of shape {list(shape)} in dimension {d}")

    def covers_whole(self, shape: Sequence[int]) -> bool:
        return all(length == FULL or (start == 0 and length == dim)
                   for (start, length), dim in zip(self.extents, shape, strict=True))

    def __str__(self) -> str:
        return to_slice_spec(self)


def intersect(a: Sequence[tuple[int, int]], b: Sequence[tuple[int, int]]
              ) -> list[tuple[int, int]] | None:
    """Intersection of two (start, stop) boxes, or None when they do not overlap."""
    out = []
    for (a0, a1), (b0, b1) in zip(a, b, strict=True):
        lo, hi = max(a0, b0), min(a1, b1)
        if lo >= hi:
            return None
        out.append((lo, hi))
    return out


# ------------------------------------------------ shape_and_slices strings


def to_slice_spec(s: TensorSlice) -> str:
    """``"0,3:-"`` style spelling; ``-`` is a whole dimension."""
    return ":".join("-" if length == FULL else f"{start},{length}"
                    for start, length in s.extents)


def parse_slice_spec(spec: str) -> TensorSlice:
    if spec == "":
        return TensorSlice(())
    extents = []
    for item in spec.split(":"):
        if item == "-":
            extents.append((0, FULL))
            continue
        parts = item.split(",")
        if len(parts) != 2:
            raise InvalidArgumentError(f"bad slice extent {item!r} in {spec!r}")
        try:
            start, length = int(parts[0]), int(parts[1])
        except ValueError:
            raise InvalidArgumentError(f"bad slice extent {item!r} in {spec!r}") from None
        if start < 0 or length < 0:
            raise InvalidArgumentError(f"negative slice extent {item!r} in {spec!r}")
        extents.append((start, length))
    return TensorSlice(tuple(extents))


def parse_shape_and_slice(text: str) -> tuple[list[int], TensorSlice] | None:
    """``"5 2 0,3:0,2"`` -> ([5, 2], slice); ``""`` (not sliced) -> None."""
    if text == "":
        return None
    words = text.split(" ")
    try:
        shape = [int(w) for w in words[:-1]]
    except ValueError:
        raise InvalidArgumentError(f"bad shape in shape_and_slice {text!r}") from None
    if any(d < 0 for d in shape):
        raise InvalidArgumentError(f"negative dimension in shape_and_slice {text!r}")
    s = parse_slice_spec(words[-1])
    s.check_inside(shape)
    return shape, s


def format_shape_and_slice(shape: Sequence[int], s: TensorSlice) -> str:
    return " ".join([*(str(d) for d in shape), to_slice_spec(s)])


# ------------------------------------------------ TensorSliceProto (duck-typed)


def to_proto_fields(s: TensorSlice) -> list[tuple[int, int] | None]:
    """Per-dimension (start, length), or None for a whole dimension (an empty Extent)."""
    return [None if length == FULL else (start, length) for start, length in s.extents]


def from_extent_list(extents: Sequence[tuple[int, int] | None]) -> TensorSlice:
    return TensorSlice(tuple((0, FULL) if e is None else e for e in extents))


# ------------------------------------------------ OrderedCode keys


def _num_increasing(u: int) -> bytes:
    n = (u.bit_length() + 7) // 8
    return bytes([n]) + u.to_bytes(n, "big")


def _signed_length(v: int) -> int:
    # An L-byte code holds values in [-2^(7L-1), 2^(7L-1)); 10 bytes hold any int64.
    x = v if v >= 0 else ~v
    return min(10, (x.bit_length() + 7) // 7) if x >= 64 else 1


def _header_bits(length: int) -> int:
    # The top `length` bits of an L-byte code are ones (zeros for a negative number).
    return ((1 << length) - 1) << (7 * length)


def _signed_increasing(v: int) -> bytes:
    length = _signed_length(v)
    raw = v & ((1 << (8 * length)) - 1)
    raw = raw | _header_bits(length) if v >= 0 else raw & ~_header_bits(length)
    return raw.to_bytes(length, "big")


_SPECIAL = re.compile(b"[\\x00\\xff]")
_ESCAPES = {b"\x00": b"\x00\xff", b"\xff": b"\xff\x00"}


def _escape_bytes(name: bytes) -> bytes:
    return _SPECIAL.sub(lambda m: _ESCAPES[m.group()], name) + b"\x00\x01"


def slice_key(name: str | bytes, s: TensorSlice) -> bytes:
    """The checkpoint key under which one slice of ``name`` is stored."""
    raw = name.encode("utf-8") if isinstance(name, str) else name
    out = bytearray(_num_increasing(0))
    out += _escape_bytes(raw)
    out += _num_increasing(s.rank)
    for start, length in s.extents:
        out += _signed_increasing(start)
        out += _signed_increasing(length)
    return bytes(out)


class _Cursor:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def fail(self, what: str) -> DataLossError:
        return DataLossError(f"bad slice key {self.data!r}: {what} at position {self.pos}")

    def num_increasing(self) -> int:
        if self.pos >= len(self.data):
            raise self.fail("ends before a number")
        n = self.data[self.pos]
        if n > 8 or self.pos + 1 + n > len(self.data):
            raise self.fail("bad unsigned number")
        v = int.from_bytes(self.data[self.pos + 1:self.pos + 1 + n], "big")
        self.pos += 1 + n
        return v

    def string(self) -> bytes:
        d = self.data
        out = bytearray()
        while True:
            i = self.pos
            if i >= len(d):
                raise self.fail("name not terminated")
            b = d[i]
            if b not in (0x00, 0xFF):
                out.append(b)
                self.pos += 1
                continue
            if i + 1 >= len(d):
                raise self.fail("name not terminated")
            pair = d[i:i + 2]
            self.pos += 2
            if pair == b"\x00\x01":
                return bytes(out)
            if pair == b"\x00\xff":
                out.append(0x00)
            elif pair == b"\xff\x00":
                out.append(0xFF)
            else:
                raise self.fail("bad escape in name")

    def signed_increasing(self) -> int:
        d = self.data
        if self.pos >= len(d):
            raise self.fail("ends before a signed number")
        negative = d[self.pos] < 0x80
        inv = 0xFF if negative else 0x00
        second = d[self.pos + 1] if self.pos + 1 < len(d) else inv
        word = ((d[self.pos] ^ inv) << 8) | (second ^ inv)
        length = 0
        while length < 10 and word & (0x8000 >> length):
            length += 1
        if self.pos + length > len(d):
            raise self.fail("signed number cut short")
        raw = int.from_bytes(d[self.pos:self.pos + length], "big")
        self.pos += length
        if negative:
            return (raw | _header_bits(length)) - (1 << (8 * length))
        return raw & ~_header_bits(length)


def parse_slice_key(key: bytes) -> tuple[bytes, TensorSlice]:
    """Inverse of :func:`slice_key`: (name, slice). Raises DataLossError on a bad key."""
    c = _Cursor(key)
    if c.num_increasing() != 0:
        raise c.fail("does not start with 0")
    name = c.string()
    rank = c.num_increasing()
    if rank == 0 and c.pos == len(key):
        return name, TensorSlice(())
    if rank > 64:
        raise c.fail(f"rank {rank} is absurd")
    extents = []
    for _ in range(rank):
        start = c.signed_increasing()
        length = c.signed_increasing()
        if start < 0 or length < FULL:
            raise c.fail(f"negative extent ({start}, {length})")
        extents.append((start, length))
    if c.pos != len(key):
        raise c.fail("trailing bytes")
    return name, TensorSlice(tuple(extents))


def is_slice_key(key: bytes) -> bool:
    """Slice keys start with byte 0 (they sort right after the bundle header)."""
    return len(key) > 0 and key[0] == 0
