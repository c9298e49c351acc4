"""The batch decoders: index entries (entry_batch), block walking (block_spans) and the
vectorized varints, each checked against the one-at-a-time code it speeds up."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from savedmodel_io.dtypes import DataType
from savedmodel_io.errors import DataLossError, SavedModelIOError
from savedmodel_io.format.block import Block, BlockBuilder
from savedmodel_io.format.block_spans import MAX_KEY_WIDTH, block_spans
from savedmodel_io.format.bundle_entry import BundleEntry, BundleHeader, index_filename
from savedmodel_io.format.bundle_reader import BundleReader
from savedmodel_io.format.bundle_writer import BundleWriter, write_index
from savedmodel_io.format.coding import decode_varint64, decode_varints_at, encode_varint64
from savedmodel_io.format.entry_batch import decode_batch
from savedmodel_io.format.slices import TensorSlice
from savedmodel_io.protos import tensor_bundle_pb2

FIELDS = ("dtype", "shape", "shard_id", "offset", "size", "crc32c")


def _batch(values: list[bytes], num_shards: int | None = 1):
    """decode_batch over ``values`` laid end to end in one buffer (with a stray prefix,
    so offsets are not all zero)."""
    buf = b"\xff\xff" + b"".join(values)
    ends = np.cumsum([len(v) for v in values], dtype=np.int64) + 2
    return decode_batch(buf, ends - [len(v) for v in values], ends, num_shards=num_shards)


def _protobuf(value: bytes, num_shards: int | None) -> BundleEntry | None:
    try:
        return BundleEntry.decode(value, path="x.index", key=b"k", num_shards=num_shards)
    except SavedModelIOError:
        return None


def _agrees(values: list[bytes], num_shards: int | None = 1) -> np.ndarray:
    """Assert that every entry the batch decoder accepts is what protobuf decodes, and
    that it accepts nothing protobuf refuses; return its ``ok`` mask."""
    batch = _batch(values, num_shards)
    for i, v in enumerate(values):
        want = _protobuf(v, num_shards)
        if batch.ok[i]:
            assert want is not None, v.hex()
            got = (batch.dtype[i], batch.shape[i], int(batch.shard_id[i]),
                   int(batch.offset[i]), int(batch.size[i]), int(batch.crc32c[i]))
            assert got == tuple(getattr(want, f) for f in FIELDS), v.hex()
            assert not want.slices
            assert type(got[1]) is tuple and all(type(d) is int for d in got[1])
    return batch.ok


FIXED = [DataType.DT_FLOAT, DataType.DT_DOUBLE, DataType.DT_INT8, DataType.DT_COMPLEX128,
         DataType.DT_BFLOAT16, DataType.DT_BOOL, DataType.DT_QINT32, DataType.DT_UINT4]


@st.composite
def valid_entries(draw: st.DrawFn) -> BundleEntry:
    shape = tuple(draw(st.lists(st.integers(0, 3000), max_size=5)))
    n = int(np.prod(shape, dtype=object)) if shape else 1
    kind = draw(st.sampled_from(["fixed", "string", "variant"]))
    if kind == "fixed":
        dt = draw(st.sampled_from(FIXED))
        size = n * {1: 4, 2: 8, 6: 1, 18: 16, 14: 2, 10: 1, 13: 4, 30: 1}[dt]
    elif kind == "string":
        dt, size = DataType.DT_STRING, n + 4 + draw(st.integers(0, 10**6))
    else:
        dt, size = DataType.DT_VARIANT, 5 * n + draw(st.integers(0, 1000))
    return BundleEntry(dt, shape, draw(st.integers(0, 3)), draw(st.integers(0, 2**62)),
                       size, draw(st.integers(0, 2**32 - 1)))


@given(st.lists(valid_entries(), min_size=1, max_size=40))
@settings(max_examples=150, deadline=None)
def test_canonical_entries_decode_like_protobuf(entries: list[BundleEntry]) -> None:
    values = [e.encode() for e in entries]
    ok = _agrees(values, num_shards=4)
    assert ok.all(), "every entry TensorFlow's way of writing produces takes the fast path"


@given(st.lists(valid_entries(), min_size=1, max_size=8), st.data())
@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
def test_mutated_entries_are_accepted_only_as_protobuf_reads_them(
        entries: list[BundleEntry], data: st.DataObject) -> None:
    values = []
    for e in entries:
        v = bytearray(e.encode())
        for _ in range(data.draw(st.integers(0, 3))):
            op = data.draw(st.sampled_from(["flip", "cut", "insert"]))
            at = data.draw(st.integers(0, len(v)))
            if op == "flip" and at < len(v):
                v[at] ^= 1 << data.draw(st.integers(0, 7))
            elif op == "cut":
                del v[at:at + data.draw(st.integers(1, 3))]
            else:
                v[at:at] = data.draw(st.binary(min_size=1, max_size=3))
        values.append(bytes(v))
    _agrees(values, num_shards=data.draw(st.sampled_from([None, 1, 2])))


@given(st.lists(st.binary(max_size=40), min_size=1, max_size=20))
@settings(max_examples=200, deadline=None)
def test_random_bytes_are_accepted_only_as_protobuf_reads_them(values: list[bytes]) -> None:
    _agrees(values, num_shards=None)


def _proto(**kw: object) -> tensor_bundle_pb2.BundleEntryProto:
    p = tensor_bundle_pb2.BundleEntryProto(**kw)  # type: ignore[arg-type]
    p.shape.SetInParent()
    return p


def _varint(v: int) -> bytes:
    return encode_varint64(v % 2**64)


def _shape(*dims: int) -> bytes:
    """A serialized ``shape`` field (2) with these dimensions."""
    body = b"".join(b"\x12" + _varint(len(d)) + d
                    for d in (b"\x08" + _varint(x) if x else b"" for x in dims))
    return b"\x12" + _varint(len(body)) + body


# Entries the batch decoder must leave to protobuf (which then accepts or refuses them).
LEFT_TO_PROTOBUF = {
    "negative dim": b"\x08\x01" + _shape(-3) + b"\x28\x00",
    "element count past 2^63": b"\x08\x01" + _shape(2**35, 2**35, 0) + b"\x28\x00",
    "element count past 2^58": b"\x08\x01" + _shape(2**30, 2**29) + b"\x28\x00",
    "unknown dtype": b"\x08\xc8\x01\x12\x00\x28\x04",
    "resource dtype": b"\x08\x14\x12\x00\x28\x04",
    "reference dtype": b"\x08\x65\x12\x00\x28\x04",
    "negative dtype": b"\x08" + _varint(-1) + b"\x12\x00\x28\x04",
    "no dtype": b"\x12\x00\x28\x04",
    "shard past the bundle": b"\x08\x01\x12\x00\x18\x07\x28\x04",
    "negative shard": b"\x08\x01\x12\x00\x18" + _varint(-1) + b"\x28\x04",
    "offset + size overflow": b"\x08\x01\x12\x00\x20" + _varint(2**63 - 2) + b"\x28\x04",
    "negative offset": b"\x08\x01\x12\x00\x20" + _varint(-4) + b"\x28\x04",
    "size not the shape's": b"\x08\x01" + _shape(3) + b"\x28\x04",
    "string too small": b"\x08\x07" + _shape(9) + b"\x28\x04",
    "variant too small": b"\x08\x15" + _shape(2) + b"\x28\x09",
    "unknown rank": b"\x08\x01\x12\x02\x18\x01\x28\x04",
    "named dim": b"\x08\x01\x12\x07\x12\x05\x08\x01\x12\x01x\x28\x04",
    "rank 255": b"\x08\x01" + _shape(*[1] * 255) + b"\x28\x04",
    "fields out of order": b"\x28\x04\x08\x01\x12\x00",
    "field twice": b"\x08\x01\x08\x01\x12\x00\x28\x04",
    "unknown field": b"\x08\x01\x12\x00\x28\x04\x48\x01",
    "slices": _proto(dtype=1, slices=[{}]).SerializeToString(),
    "truncated varint": b"\x08\x01\x12\x00\x20\x80",
    "11-byte varint": b"\x08\x01\x12\x00\x20" + b"\xff" * 10 + b"\x01\x28\x04",
    "shape runs past the entry": b"\x08\x01\x12\x09\x12\x02\x08\x01",
    "dim runs past the shape": b"\x08\x01\x12\x02\x12\x05\x08\x01\x28\x04",
    "dim with a wrong field": b"\x08\x01\x12\x04\x12\x02\x10\x01\x28\x04",
    "crc cut short": b"\x08\x01\x12\x00\x28\x04\x35\x01\x02",
    "wrong wire type": b"\x0a\x01\x01\x12\x00\x28\x04",
}


@pytest.mark.parametrize("case", sorted(LEFT_TO_PROTOBUF))
def test_hostile_and_unusual_entries_go_to_protobuf(case: str) -> None:
    value = LEFT_TO_PROTOBUF[case]
    ok = _agrees([_proto(dtype=1, size=4).SerializeToString(), value], num_shards=2)
    assert ok.tolist() == [True, False]


def test_rank_254_and_zero_sized_dims_are_fine() -> None:
    values = [b"\x08\x01" + _shape(*[1] * 254) + b"\x28\x04",
              b"\x08\x01" + _shape(2**40, 0, 2**40) + b"\x28\x00"]
    assert _agrees(values).tolist() == [True, True]


def test_nothing_to_decode() -> None:
    batch = decode_batch(b"", [], [])
    assert batch.ok.size == 0 and batch.shape == []


# ------------------------------------------------------------------ through the reader


def _write_index(prefix: str, entries: dict[bytes, BundleEntry]) -> None:
    with open(index_filename(prefix), "wb") as f:
        write_index(f, BundleHeader(), entries)


def test_hostile_entry_among_many_names_file_and_key(tmp_path: Path) -> None:
    prefix = str(tmp_path / "h")
    (tmp_path / "h.data-00000-of-00001").write_bytes(bytes(4 * 3000))
    entries = {f"v{i:05d}".encode(): BundleEntry(DataType.DT_FLOAT, (), 0, 4 * i, 4, 0)
               for i in range(3000)}
    entries[b"v01234"] = BundleEntry(DataType.DT_FLOAT, (2**40, 2**40), 0, 0, 16, 0)
    _write_index(prefix, entries)
    with BundleReader(prefix) as r, pytest.raises(DataLossError) as err:
        r.list_tensors()
    assert err.value.key == b"v01234" and err.value.path == index_filename(prefix)
    with BundleReader(prefix) as r, pytest.raises(DataLossError):
        list(r.entries())


def test_listing_matches_entry_by_entry_decoding(tmp_path: Path) -> None:
    prefix = str(tmp_path / "m")
    rng = np.random.default_rng(0)
    with BundleWriter(prefix) as w:
        for i in range(2500):
            w.add(f"scope_{i % 7}/var_{i}", rng.standard_normal(i % 5).astype(np.float32))
        w.add("strings", np.array([b"a", b"bc"], dtype=object))
        for rows in ((0, 2), (2, 2)):
            w.add_slice("part", (4, 3), TensorSlice((rows, (0, 3))), np.ones((2, 3), np.int32))
    with BundleReader(prefix) as r:
        pairs = list(r.entries(include_slices=True))
        keys, dts, shapes = r.list_tensors()
        table = r._table
        for k, e in pairs:
            v = table.get(k)
            assert v is not None
            assert e == BundleEntry.decode(v, num_shards=1)
        listed = [(k, e.dtype, e.shape) for k, e in pairs if b"\x00" not in k]
        assert list(zip(keys, dts, shapes, strict=True)) == listed
        assert r.read("part").tolist() == np.ones((4, 3), np.int32).tolist()
        assert r.entry("scope_3/var_10").shape == (0,)
        assert "scope_3/var_10" in r and "nope" not in r


# ------------------------------------------------------------------ block walking


def _build(items: list[tuple[bytes, bytes]], interval: int) -> Block:
    b = BlockBuilder(interval)
    for k, v in items:
        b.add(k, v)
    return Block(b.finish())


def _loop(block: Block, lower: bytes | None = None) -> tuple[list[bytes], list[int], list[int]]:
    return block._spans_loop(lower)


keys_st = st.binary(max_size=20) | st.binary(max_size=300) | st.sampled_from(
    [b"", b"\x00", b"a\x00", b"a\x00\x00", b"a", b"ab", b"scope/\x00x"])
items_st = st.dictionaries(keys_st, st.binary(max_size=200), min_size=1,
                           max_size=200).map(lambda d: sorted(d.items()))


@given(items_st, st.integers(1, 20))
@settings(max_examples=200, deadline=None)
def test_block_spans_match_the_loop(items: list[tuple[bytes, bytes]], interval: int) -> None:
    block = _build(items, interval)
    found = block_spans(block.data, block._data_end, block.restarts)
    want = _loop(block)
    if found is None:  # only for keys too long for the matrix
        assert max(len(k) for k, _ in items) > MAX_KEY_WIDTH
    else:
        keys, starts, ends = found
        assert (keys, starts.tolist(), ends.tolist()) == want
    keys, starts, ends = block.spans()
    assert keys == [k for k, _ in items]
    assert [block.data[a:b] for a, b in zip(starts, ends, strict=True)] == [v for _, v in items]


@given(items_st, st.integers(1, 20), st.data())
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_mutated_blocks_fail_or_agree_with_the_loop(items: list[tuple[bytes, bytes]],
                                                    interval: int, data: st.DataObject) -> None:
    raw = bytearray(_build(items, interval).data)
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(raw) - 1))
        raw[at] = data.draw(st.integers(0, 255))
    try:
        block = Block(bytes(raw))
    except DataLossError:
        return
    lower = data.draw(st.none() | st.binary(max_size=3))
    try:
        want = _loop(block, lower)
    except DataLossError:
        want = None
    found = block_spans(block.data, block._data_end, block.restarts, lower)
    if found is not None:
        assert want is not None
        assert (found[0], found[1].tolist(), found[2].tolist()) == want
    if want is None:
        with pytest.raises(DataLossError):
            block.spans(lower)


def test_block_spans_refuse_what_they_cannot_check() -> None:
    items = [(b"k%04d" % i, b"v") for i in range(100)]
    block = _build(items, 16)
    assert block_spans(block.data, block._data_end, block.restarts, b"k9") is None
    with pytest.raises(DataLossError, match="out of order"):
        block.spans(b"k9")
    long_keys = [(b"x" * 300 + b"%04d" % i, b"v") for i in range(100)]
    long_block = _build(long_keys, 16)
    assert block_spans(long_block.data, long_block._data_end, long_block.restarts) is None
    assert long_block.spans()[0] == [k for k, _ in long_keys]


# ------------------------------------------------------------------ varints


@given(st.lists(st.integers(0, 2**64 - 1) | st.integers(0, 300), max_size=50))
def test_decode_varints_at_matches_the_scalar_decoder(values: list[int]) -> None:
    buf = b"".join(encode_varint64(v) for v in values)
    u8 = np.zeros(len(buf) + 16, dtype=np.uint8)
    u8[:len(buf)] = np.frombuffer(buf, dtype=np.uint8)
    pos, at = [], 0
    for v in values:
        pos.append(at)
        at += len(encode_varint64(v))
    p = np.array(pos, dtype=np.int64)
    got, end, good = decode_varints_at(u8, p, np.full(len(values), len(buf)))
    assert good.all()
    assert got.tolist() == values
    assert end.tolist() == [decode_varint64(buf, q, len(buf))[1] for q in pos]


def test_decode_varints_at_flags_bad_ones() -> None:
    buf = b"\x80\x80" + b"\xff" * 9 + b"\x02" + b"\xff" * 10 + b"\x01"
    u8 = np.zeros(len(buf) + 16, dtype=np.uint8)
    u8[:len(buf)] = np.frombuffer(buf, dtype=np.uint8)
    # cut by its limit; a tenth byte over 1; eleven bytes long
    _, _, good = decode_varints_at(u8, np.array([0, 2, 12]), np.array([2, 12, len(buf)]))
    assert good.tolist() == [False, False, False]
