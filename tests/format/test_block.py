"""Blocks: BlockBuilder and Block (format/block.py)."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from savedmodel_io.errors import (
    DataLossError,
    FailedPreconditionError,
    InvalidArgumentError,
    SavedModelIOError,
)
from savedmodel_io.format.block import Block, BlockBuilder, shared_prefix_length

sorted_items = st.dictionaries(st.binary(max_size=12), st.binary(max_size=40),
                               max_size=60).map(lambda d: sorted(d.items()))


def build(items: list[tuple[bytes, bytes]], interval: int = 16) -> bytes:
    b = BlockBuilder(interval)
    for k, v in items:
        b.add(k, v)
    return b.finish()


def test_empty_block_bytes() -> None:
    b = BlockBuilder()
    assert b.empty
    assert b.current_size_estimate() == 8
    data = b.finish()
    assert data == bytes.fromhex("0000000001000000")
    blk = Block(data)
    assert list(blk) == []
    assert blk.get(b"a") is None
    assert list(blk.iter_from(b"")) == []


def test_entry_encoding_with_prefix_compression() -> None:
    data = build([(b"abc", b"1"), (b"abd", b"22"), (b"b", b"")])
    assert data == (b"\x00\x03\x01abc1" b"\x02\x01\x02d22" b"\x00\x01\x00b"
                    + struct.pack("<II", 0, 1))


def test_long_lengths_use_multibyte_varints() -> None:
    key = b"k" * 200
    value = b"v" * 300
    data = build([(key, value), (key + b"x", value)])
    assert data.startswith(b"\x00\xc8\x01\xac\x02" + key + value)
    assert Block(data).items() == [(key, value), (key + b"x", value)]


@given(sorted_items, st.integers(1, 20))
def test_roundtrip(items: list[tuple[bytes, bytes]], interval: int) -> None:
    b = BlockBuilder(interval)
    for k, v in items:
        b.add(k, v)
    assert b.num_entries == len(items)
    estimate = b.current_size_estimate()
    data = b.finish()
    assert len(data) == estimate
    blk = Block(data)
    assert blk.items() == items
    n = len(items)
    assert blk.num_restarts == max(1, -(-n // interval))
    d = dict(items)
    for k, v in items:
        assert blk.get(k) == v
        assert blk.get(k + b"\x00") == d.get(k + b"\x00")
    # A second Block instance, sought many times, switches to its decoded restart keys.
    blk2 = Block(data)
    for _ in range(3):
        for k, v in items:
            assert blk2.get(k) == v


@given(sorted_items, st.binary(max_size=13), st.integers(1, 5))
def test_seek(items: list[tuple[bytes, bytes]], target: bytes, interval: int) -> None:
    blk = Block(build(items, interval))
    want = [(k, v) for k, v in items if k >= target]
    assert list(blk.iter_from(target)) == want
    assert blk.get(target) == dict(items).get(target)


def test_restart_points_every_interval() -> None:
    items = [(b"key%04d" % i, b"v") for i in range(50)]
    blk = Block(build(items, 16))
    entry_size = 3 + 7 + 1  # restart entries store the whole 7-byte key
    assert blk.restarts[0] == 0
    assert len(blk.restarts) == 4
    # Entries 1..15 store 1 key byte each, except "key0010" which shares only "key00".
    assert blk.restarts[1] == entry_size + 15 * (3 + 1 + 1) + 1
    assert blk.restarts[2] - blk.restarts[1] == entry_size + 15 * (3 + 1 + 1) + 2


@given(st.binary(max_size=40), st.binary(max_size=40))
def test_shared_prefix_length(a: bytes, b: bytes) -> None:
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    assert shared_prefix_length(a, b) == n


def test_builder_rejects_bad_order_and_use() -> None:
    b = BlockBuilder()
    b.add(b"b", b"")
    with pytest.raises(InvalidArgumentError):
        b.add(b"a", b"")
    with pytest.raises(InvalidArgumentError):
        b.add(b"b", b"")
    b.finish()
    with pytest.raises(FailedPreconditionError):
        b.add(b"c", b"")
    b.reset()
    b.add(b"a", b"")  # usable again after reset
    with pytest.raises(InvalidArgumentError):
        BlockBuilder(0)


def test_empty_key_first_is_allowed() -> None:
    items = [(b"", b"header"), (b"a", b"1")]
    assert Block(build(items)).items() == items


# ----------------------------------------------------------------------------- corruption


def raw_block(entries: bytes, restarts: list[int]) -> bytes:
    return entries + struct.pack(f"<{len(restarts)}I", *restarts) + struct.pack(
        "<I", len(restarts))


def test_too_short() -> None:
    with pytest.raises(DataLossError, match="too short"):
        Block(b"\x01\x00")


def test_restart_count_too_large() -> None:
    with pytest.raises(DataLossError, match="restart count"):
        Block(b"\x00" * 4 + struct.pack("<I", 2))
    with pytest.raises(DataLossError, match="restart count"):
        Block(struct.pack("<I", 0xFFFFFFFF))


def test_restart_outside_entries() -> None:
    with pytest.raises(DataLossError, match="outside"):
        Block(raw_block(b"\x00\x01\x00a", [0, 4]))


def test_restart_backwards() -> None:
    entries = b"\x00\x01\x00a\x00\x01\x00b\x00\x01\x00c"
    with pytest.raises(DataLossError, match="strictly increasing"):
        Block(raw_block(entries, [0, 8, 4]))
    with pytest.raises(DataLossError, match="strictly increasing"):
        Block(raw_block(entries, [0, 4, 4]))


def test_first_restart_not_zero() -> None:
    with pytest.raises(DataLossError, match="first restart"):
        Block(raw_block(b"\x00\x01\x00a\x00\x01\x00b", [4]))


def test_entries_without_restarts() -> None:
    with pytest.raises(DataLossError, match="no restart"):
        Block(raw_block(b"\x00\x01\x00a", []))


def test_shared_longer_than_previous_key() -> None:
    blk = Block(raw_block(b"\x00\x01\x00a\x05\x01\x00b", [0]))
    with pytest.raises(DataLossError, match="shares 5 bytes"):
        list(blk)


def test_shared_at_restart_point() -> None:
    blk = Block(raw_block(b"\x01\x01\x00a", [0]))
    with pytest.raises(DataLossError, match="shares 1 bytes"):
        list(blk)
    with pytest.raises(DataLossError):
        blk.get(b"a")


def test_value_runs_past_block() -> None:
    blk = Block(raw_block(b"\x00\x01\x7fa", [0]), path="x.index", offset=100)
    with pytest.raises(DataLossError, match="runs past") as info:
        list(blk)
    assert info.value.path == "x.index"
    assert info.value.offset == 100


def test_truncated_varint_header() -> None:
    blk = Block(raw_block(b"\x00\x81", [0]))
    with pytest.raises(DataLossError, match="bad entry header"):
        list(blk)


def test_keys_out_of_order() -> None:
    blk = Block(raw_block(b"\x00\x01\x00b\x00\x01\x00a", [0]))
    with pytest.raises(DataLossError, match="out of order"):
        list(blk)
    blk = Block(raw_block(b"\x00\x01\x00b\x01\x00\x00", [0]))  # duplicate key "b"
    with pytest.raises(DataLossError, match="out of order"):
        list(blk)
    with pytest.raises(DataLossError, match="out of order"):
        blk.get(b"c")


@settings(max_examples=300)
@given(st.binary(max_size=80))
def test_random_bytes_never_crash(data: bytes) -> None:
    try:
        blk = Block(data)
        list(blk)
        blk.get(b"m")
        list(blk.iter_from(b"b"))
    except SavedModelIOError:
        pass


@settings(max_examples=300)
@given(sorted_items, st.data())
def test_mutated_blocks_never_crash(items: list[tuple[bytes, bytes]], data: st.DataObject
                                    ) -> None:
    good = bytearray(build(items, 3))
    n = data.draw(st.integers(1, 4))
    for _ in range(n):
        i = data.draw(st.integers(0, len(good) - 1))
        good[i] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(good)))
    for candidate in (bytes(good), bytes(good[:cut])):
        try:
            blk = Block(candidate)
            got = list(blk)
            keys = [k for k, _ in got]
            assert keys == sorted(set(keys))
            for k, _ in got[:5]:
                # Hostile restart arrays may make lookups disagree with the scan, but
                # the answer is still a value or None.
                assert isinstance(blk.get(k), (bytes, type(None)))
        except SavedModelIOError:
            pass
