"""Varints, fixed ints and CRC32C (format/coding.py, format/crc.py)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from savedmodel_io.errors import DataLossError
from savedmodel_io.format import crc
from savedmodel_io.format.coding import (
    decode_fixed32,
    decode_fixed64,
    decode_varint32,
    decode_varint64,
    encode_fixed32,
    encode_fixed64,
    encode_varint32,
    encode_varint64,
    put_varint,
)

# ----------------------------------------------------------------------------- varint


@pytest.mark.parametrize(("value", "encoded"), [
    (0, b"\x00"),
    (1, b"\x01"),
    (127, b"\x7f"),
    (128, b"\x80\x01"),
    (300, b"\xac\x02"),
    (16383, b"\xff\x7f"),
    (16384, b"\x80\x80\x01"),
    (2**32 - 1, b"\xff\xff\xff\xff\x0f"),
])
def test_varint32_known(value: int, encoded: bytes) -> None:
    assert encode_varint32(value) == encoded
    assert encode_varint64(value) == encoded
    assert decode_varint32(encoded, 0, len(encoded)) == (value, len(encoded))
    assert decode_varint64(encoded, 0, len(encoded)) == (value, len(encoded))


def test_varint64_max() -> None:
    enc = encode_varint64(2**64 - 1)
    assert enc == b"\xff" * 9 + b"\x01"
    assert decode_varint64(enc, 0, len(enc)) == (2**64 - 1, 10)


@given(st.integers(0, 2**32 - 1), st.binary(max_size=4), st.binary(max_size=4))
def test_varint32_roundtrip(value: int, before: bytes, after: bytes) -> None:
    enc = encode_varint32(value)
    buf = before + enc + after
    assert decode_varint32(buf, len(before), len(buf)) == (value, len(before) + len(enc))
    out = bytearray()
    put_varint(out, value)
    assert bytes(out) == enc


@given(st.integers(0, 2**64 - 1))
def test_varint64_roundtrip(value: int) -> None:
    enc = encode_varint64(value)
    assert len(enc) <= 10
    assert decode_varint64(memoryview(enc), 0, len(enc)) == (value, len(enc))


def test_varint_out_of_range_encode() -> None:
    with pytest.raises(ValueError):
        encode_varint32(2**32)
    with pytest.raises(ValueError):
        encode_varint64(-1)
    with pytest.raises(ValueError):
        encode_varint64(2**64)


def test_varint_truncated() -> None:
    with pytest.raises(DataLossError, match="truncated"):
        decode_varint32(b"\x80\x80", 0, 2)
    with pytest.raises(DataLossError, match="truncated"):
        decode_varint64(b"", 0, 0)
    # The limit, not the buffer end, bounds the read.
    with pytest.raises(DataLossError, match="truncated"):
        decode_varint32(b"\xac\x02", 0, 1)


def test_varint_overlong_and_overflow() -> None:
    with pytest.raises(DataLossError, match="longer than 5"):
        decode_varint32(b"\x80" * 6 + b"\x00", 0, 7)
    with pytest.raises(DataLossError, match="overflows"):
        decode_varint32(b"\xff\xff\xff\xff\x1f", 0, 5)
    with pytest.raises(DataLossError, match="longer than 10"):
        decode_varint64(b"\x80" * 11 + b"\x00", 0, 12)
    with pytest.raises(DataLossError, match="overflows"):
        decode_varint64(b"\xff" * 9 + b"\x02", 0, 10)


def test_varint_error_names_path_and_offset() -> None:
    with pytest.raises(DataLossError) as info:
        decode_varint32(b"\x00\x80", 1, 2, "f.index")
    assert info.value.path == "f.index"
    assert info.value.offset == 1


# ----------------------------------------------------------------------------- fixed


@given(st.integers(0, 2**32 - 1), st.integers(0, 2**64 - 1))
def test_fixed_roundtrip(a: int, b: int) -> None:
    assert decode_fixed32(encode_fixed32(a)) == a
    assert decode_fixed64(encode_fixed64(b)) == b
    assert decode_fixed32(b"xx" + encode_fixed32(a), 2) == a


def test_fixed_little_endian_and_truncation() -> None:
    assert encode_fixed32(0x8B80FB57) == bytes.fromhex("57fb808b")
    assert encode_fixed64(0xDB4775248B80FB57) == bytes.fromhex("57fb808b247547db")
    with pytest.raises(DataLossError):
        decode_fixed32(b"\x00\x00\x00", 0)
    with pytest.raises(DataLossError):
        decode_fixed64(b"\x00" * 8, 1)


# ----------------------------------------------------------------------------- crc


def test_crc_known_values() -> None:
    assert crc.value(b"123456789") == 0xE3069283
    assert crc.value(bytes(32)) == 0x8A9136AA
    assert crc.value(b"\xff" * 32) == 0x62A8AB43
    assert crc.value(bytes(range(32))) == 0x46DD794E
    assert crc.value(b"") == 0


def test_crc_mask_constants() -> None:
    assert crc.mask(0) == 0xA282EAD8
    # The trailer of an empty metaindex block in every TF table (FORMAT.md 1.12).
    c = crc.extend(crc.value(bytes.fromhex("0000000001000000")), b"\x00")
    assert encode_fixed32(crc.mask(c)) == bytes.fromhex("c0f2a1b0")


@given(st.integers(0, 2**32 - 1))
def test_crc_mask_roundtrip(c: int) -> None:
    m = crc.mask(c)
    assert 0 <= m < 2**32
    assert crc.unmask(m) == c
    if c:
        assert m != c or crc.mask(m) != m


@given(st.binary(), st.binary())
def test_crc_extend(a: bytes, b: bytes) -> None:
    assert crc.extend(crc.value(a), b) == crc.value(a + b)


def test_crc_buffer_types() -> None:
    data = b"hello world, checksum me"
    want = crc.value(data)
    assert crc.value(bytearray(data)) == want
    assert crc.value(memoryview(data)) == want
    assert crc.value(memoryview(b"xx" + data)[2:]) == want
    assert crc.value(np.frombuffer(data, dtype=np.uint8)) == want
    arr = np.arange(6, dtype=np.float32)
    assert crc.value(arr) == crc.value(arr.tobytes())
