"""Tables: TableBuilder, TableReader, handles, footer, byte sources (format/table.py,
format/source.py)."""

from __future__ import annotations

import io
import os
import random
from pathlib import Path

import pytest
import snappy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from savedmodel_io.errors import (
    DataLossError,
    FailedPreconditionError,
    InvalidArgumentError,
    SavedModelIOError,
    UnimplementedError,
)
from savedmodel_io.format import crc
from savedmodel_io.format.block import Block, BlockBuilder
from savedmodel_io.format.coding import encode_fixed32, encode_varint32
from savedmodel_io.format.source import BytesSource, FileSource, check_range
from savedmodel_io.format.table import (
    BLOCK_TRAILER_SIZE,
    FOOTER_SIZE,
    BlockHandle,
    Footer,
    TableBuilder,
    TableReader,
    block_trailer,
    short_successor,
    shortest_separator,
)

CORPUS = Path(__file__).resolve().parents[2] / ".." / "shared" / "corpus" / "tf-serving"

Items = list[tuple[bytes, bytes]]


def build(items: Items, **options: object) -> bytes:
    out = io.BytesIO()
    b = TableBuilder(out, **options)  # type: ignore[arg-type]
    for k, v in items:
        b.add(k, v)
    size = b.finish()
    data = out.getvalue()
    assert size == len(data) == b.file_size
    assert b.num_entries == len(items)
    return data


def block_types(data: bytes) -> set[int]:
    """Trailer type bytes of the data blocks."""
    r = TableReader(data)
    return {data[h.offset + h.size] for _, h in r.index}


# ----------------------------------------------------------------------------- FORMAT.md 1.12


def test_annotated_example_from_format_md() -> None:
    header_value = bytes.fromhex("08011a020801")
    items = [(b"", header_value), (b"a", b"A" * 19), (b"c", b"C" * 18),
             (b"scope/b", b"S" * 14)]
    data = build(items)
    assert len(data) == 171
    r = TableReader(data)
    assert r.index == [(b"t", BlockHandle(0, 86))]
    assert r.footer == Footer(BlockHandle(91, 8), BlockHandle(104, 14))
    # Data block: header entry, prefix-compressed entries, restart array.
    assert data[:9] == bytes.fromhex("000006") + header_value
    assert data[9:13] == bytes.fromhex("00011361")
    assert data[32:36] == bytes.fromhex("00011263")
    assert data[54:64] == bytes.fromhex("00070e") + b"scope/b"
    assert data[78:86] == bytes.fromhex("0000000001000000")
    assert data[86] == 0  # trailer type; its CRC depends on the proto bytes
    # Metaindex, index and footer are fully determined: compare every byte.
    assert data[91:104] == bytes.fromhex("0000000001000000" "00c0f2a1b0")
    assert data[104:123] == bytes.fromhex("000102740056" "0000000001000000" "003a93fa44")
    assert data[123:] == bytes.fromhex("5b08680e") + bytes(36) + bytes.fromhex(
        "57fb808b247547db")
    assert list(r) == items


def test_empty_table() -> None:
    data = build([])
    # Empty metaindex at 0, empty index at 13, footer.
    assert data == (bytes.fromhex("0000000001000000" "00c0f2a1b0") * 2
                    + bytes.fromhex("00080d08") + bytes(36)
                    + bytes.fromhex("57fb808b247547db"))
    r = TableReader(data)
    assert list(r) == []
    assert r.get(b"") is None
    assert r.num_blocks == 0


# ----------------------------------------------------------------------------- separators


@pytest.mark.parametrize(("start", "limit", "want"), [
    (b"abc", b"abe", b"abd"),
    (b"abc", b"abd", b"abc"),      # next byte is only one more: unchanged
    (b"abc", b"abcd", b"abc"),     # prefix: unchanged
    (b"ab\xff", b"ac", b"ab\xff"),
    (b"a\xffz", b"a\xff\xff", b"a\xff{"),
    (b"a\xff", b"b", b"a\xff"),         # 0xff cannot be incremented
    (b"scope/a", b"scope/z", b"scope/b"),
    (b"", b"a", b""),
])
def test_shortest_separator(start: bytes, limit: bytes, want: bytes) -> None:
    got = shortest_separator(start, limit)
    assert got == want
    assert start <= got < limit


@pytest.mark.parametrize(("key", "want"), [
    (b"scope/b", b"t"), (b"w", b"x"), (b"\x00abc", b"\x01"), (b"layer_1", b"m"),
    (b"\xff\xffa", b"\xff\xffb"), (b"\xff\xff", b"\xff\xff"), (b"", b""),
])
def test_short_successor(key: bytes, want: bytes) -> None:
    assert short_successor(key) == want


# ----------------------------------------------------------------------------- golden corpus


def corpus_tables() -> list[Path]:
    if not CORPUS.is_dir():
        return []
    found = sorted(CORPUS.rglob("*.index"))
    # Legacy V1 checkpoints are tables too (SavedTensorSlices values).
    found += [p for p in (CORPUS / "session_bundle_half_plus_two" / "00000123"
                          / "export-00000-of-00001",
                          CORPUS / "bad_half_plus_two" / "00000123" / "export")
              if p.is_file()]
    return found


@pytest.mark.skipif(not CORPUS.is_dir(),
                    reason=f"TF-written corpus not found at {CORPUS.resolve()}")
@pytest.mark.parametrize("path", corpus_tables(),
                         ids=lambda p: str(p.relative_to(CORPUS)) if CORPUS.is_dir() else "")
def test_golden_rewrite_is_byte_identical(path: Path) -> None:
    original = path.read_bytes()
    with TableReader.open(path) as reader:
        items = list(reader.items())
        for k, v in items:
            assert reader.get(k) == v
        # TF (before the bundle writer forced kNoCompression) wrote Snappy data blocks.
        snappy_used = any(original[h.offset + h.size] == 1 for _, h in reader.index)
    assert items and items[0][0] == b""
    rewritten = build(items, compression="snappy" if snappy_used else "none")
    assert rewritten == original


def test_corpus_present_or_skipped() -> None:
    if not CORPUS.is_dir():
        pytest.skip(f"TF-written corpus not found at {CORPUS.resolve()}")
    assert len(corpus_tables()) >= 12


# ----------------------------------------------------------------------------- round trips

item_lists = st.dictionaries(st.binary(max_size=20), st.binary(max_size=90),
                             max_size=80).map(lambda d: sorted(d.items()))


@settings(max_examples=150, deadline=None)
@given(item_lists, st.sampled_from([16, 64, 200]), st.sampled_from([1, 2, 16]),
       st.sampled_from(["none", "snappy"]), st.lists(st.binary(max_size=20), max_size=8))
def test_roundtrip(items: Items, block_size: int, interval: int, compression: str,
                   probes: list[bytes]) -> None:
    data = build(items, block_size=block_size, restart_interval=interval,
                 compression=compression)
    r = TableReader(data, block_cache_bytes=0 if interval == 2 else 1 << 20)
    assert list(r) == items
    assert list(r.keys()) == [k for k, _ in items]
    d = dict(items)
    for k, v in items:
        assert r.get(k) == v
        assert k in r
    for p in probes:
        assert r.get(p) == d.get(p)
        assert list(r.iter_from(p)) == [(k, v) for k, v in items if k >= p]


def test_snappy_blocks_are_used_when_they_pay() -> None:
    items = [(b"key%05d" % i, b"abcd" * 30) for i in range(500)]
    data = build(items, block_size=4096, compression="snappy")
    assert 1 in block_types(data)
    assert list(TableReader(data)) == items
    rnd = random.Random(1)
    noise = [(b"key%05d" % i, rnd.randbytes(120)) for i in range(200)]
    data = build(noise, block_size=4096, compression="snappy")
    assert block_types(data) == {0}
    assert list(TableReader(data)) == noise


def test_snappy_rule_keeps_only_12_5_percent_savings() -> None:
    # For each written block, type 1 iff the compressed size < raw - raw // 8.
    rnd = random.Random(7)
    items = [(b"k%04d" % i, rnd.randbytes(rnd.randrange(1, 60)) + bytes(rnd.randrange(60)))
             for i in range(400)]
    data = build(items, block_size=512, compression="snappy")
    r = TableReader(data)
    plain_data = build(items, block_size=512)
    plain = TableReader(plain_data)
    assert [h for _, h in r.index] != [h for _, h in plain.index]
    for i in range(plain.num_blocks):
        raw = plain.data_block(i)
        handle = plain.index[i][1]
        raw_bytes = plain_data[handle.offset:handle.offset + handle.size]
        compressed = snappy.compress(raw_bytes)
        stored_type = data[r.index[i][1].offset + r.index[i][1].size]
        assert stored_type == (1 if len(compressed) < len(raw_bytes) - len(raw_bytes) // 8
                               else 0)
        assert raw.items() == r.data_block(i).items()


def test_many_blocks_default_block_size() -> None:
    items = [(b"variables/%06d/.ATTRIBUTES/VARIABLE_VALUE" % i, bytes([i % 251]) * 100)
             for i in range(20000)]
    data = build(items)
    r = TableReader(data)
    assert r.num_blocks > 5
    index = r.index
    # The index block has restart interval 1: one restart per entry.
    ih = r.footer.index_handle
    index_block = Block(data[ih.offset:ih.offset + ih.size])
    assert index_block.num_restarts == len(index)
    # Metaindex: the empty block right after the last data block.
    mh = r.footer.metaindex_handle
    last = index[-1][1]
    assert mh == BlockHandle(last.offset + last.size + BLOCK_TRAILER_SIZE, 8)
    assert ih.offset == mh.offset + 8 + BLOCK_TRAILER_SIZE
    assert ih.offset + ih.size + BLOCK_TRAILER_SIZE + FOOTER_SIZE == len(data)
    pos = 0
    first_keys = []
    last_key = b""
    for i, (_, handle) in enumerate(index):
        assert handle.offset == pos  # blocks back to back
        pos += handle.size + BLOCK_TRAILER_SIZE
        blk = r.data_block(i)
        entries = blk.items()
        first_keys.append(entries[0][0])
        # Restarts every 16 entries.
        assert blk.num_restarts == -(-len(entries) // 16)
        if i + 1 < len(index):
            # Cut as soon as the size estimate reached block_size.
            assert handle.size >= 262144
            assert handle.size - 200 < 262144
        if i:
            assert shortest_separator(last_key, entries[0][0]) == index[i - 1][0]
            assert last_key <= index[i - 1][0] < entries[0][0]
        last_key = entries[-1][0]
    assert index[-1][0] == short_successor(items[-1][0]) == b"w"
    assert [k for k, _ in r] == [k for k, _ in items]
    assert len(first_keys) == len(index)


def test_oversized_entry_starts_its_own_block() -> None:
    big = b"B" * 200
    items = [(b"a", b"1"), (b"b", b"2"), (b"c", big), (b"d", b"3")]
    data = build(items, block_size=100)
    r = TableReader(data)
    blocks = [r.data_block(i).items() for i in range(r.num_blocks)]
    assert blocks == [items[:2], [items[2]], [items[3]]]
    # Not for the very first entry: nothing to flush, it just fills the first block.
    data = build([(b"a", big), (b"b", b"x")], block_size=100)
    r = TableReader(data)
    assert [r.data_block(i).items() for i in range(r.num_blocks)] == [
        [(b"a", big)], [(b"b", b"x")]]
    # Just below the threshold (len(key)+len(value) == 2*block_size - 1): same block.
    data = build([(b"a", b"1"), (b"b", b"v" * 198)], block_size=100)
    assert TableReader(data).num_blocks == 1


def test_builder_errors() -> None:
    out = io.BytesIO()
    b = TableBuilder(out)
    b.add(b"b", b"")
    with pytest.raises(InvalidArgumentError, match="strictly increasing"):
        b.add(b"a", b"")
    with pytest.raises(InvalidArgumentError):
        b.add(b"b", b"")
    b.finish()
    with pytest.raises(FailedPreconditionError):
        b.add(b"c", b"")
    with pytest.raises(FailedPreconditionError):
        b.finish()
    with pytest.raises(InvalidArgumentError):
        TableBuilder(io.BytesIO(), compression="zstd")
    with pytest.raises(InvalidArgumentError):
        TableBuilder(io.BytesIO(), block_size=0)


def test_builder_streams_blocks_to_the_file() -> None:
    out = io.BytesIO()
    b = TableBuilder(out, block_size=1024)
    for i in range(100):
        b.add(b"%04d" % i, b"x" * 100)
    assert 0 < len(out.getvalue()) == b.file_size
    b.finish()


def test_builder_handles_short_writes(tmp_path: Path) -> None:
    items = [(b"%05d" % i, b"y" * 50) for i in range(300)]

    class Trickle(io.RawIOBase):
        def __init__(self) -> None:
            self.buf = bytearray()

        def writable(self) -> bool:
            return True

        def write(self, b: object) -> int:
            chunk = bytes(memoryview(b)[:7])  # type: ignore[arg-type]
            self.buf += chunk
            return len(chunk)

    t = Trickle()
    b = TableBuilder(t, block_size=512)  # type: ignore[arg-type]
    for k, v in items:
        b.add(k, v)
    b.finish()
    assert bytes(t.buf) == build(items, block_size=512)


# ----------------------------------------------------------------------------- reader I/O


class CountingSource:
    def __init__(self, data: bytes) -> None:
        self.inner = BytesSource(data, "counted")
        self.size = self.inner.size
        self.path = self.inner.path
        self.reads: list[tuple[int, int]] = []

    def read_at(self, offset: int, length: int) -> memoryview:
        self.reads.append((offset, length))
        return self.inner.read_at(offset, length)


def test_open_reads_only_footer_and_index() -> None:
    items = [(b"%06d" % i, b"z" * 50) for i in range(3000)]
    data = build(items, block_size=4096)
    src = CountingSource(data)
    r = TableReader(src)
    assert len(src.reads) == 2
    assert src.reads[0] == (len(data) - FOOTER_SIZE, FOOTER_SIZE)
    assert src.reads[1][0] == r.footer.index_handle.offset
    assert r.get(b"001234") == b"z" * 50
    assert len(src.reads) == 3
    assert r.get(b"001235") == b"z" * 50  # same block: cached
    assert len(src.reads) == 3
    assert r.get(b"zzz") is None  # beyond the last index key: no block read
    assert len(src.reads) == 3


def test_file_source(tmp_path: Path) -> None:
    items = [(b"%05d" % i, b"q" * 30) for i in range(2000)]
    data = build(items, block_size=2048)
    path = tmp_path / "t.index"
    path.write_bytes(data)
    with TableReader.open(path) as r:
        assert r.path == str(path)
        assert list(r) == items
    with open(path, "rb") as f:
        src = FileSource(f)
        assert src.size == len(data)
        assert bytes(src.read_at(10, 5)) == data[10:15]
        assert list(TableReader(src)) == items
    # Without a descriptor (no pread): seek + read.
    src = FileSource(io.BytesIO(data), path="mem")  # type: ignore[arg-type]
    assert src.size == len(data)
    assert list(TableReader(src)) == items


def test_file_source_truncated(tmp_path: Path) -> None:
    path = tmp_path / "short"
    path.write_bytes(b"0123456789")
    with open(path, "rb") as f:
        src = FileSource(f, size=20)  # claims more than the file holds
        with pytest.raises(DataLossError, match="file truncated: wanted 8 bytes at offset 6, "
                                                "got 4"):
            src.read_at(6, 8)
        with pytest.raises(DataLossError, match="past the end"):
            src.read_at(15, 6)


def test_check_range() -> None:
    check_range(0, 10, 10, "p")
    with pytest.raises(DataLossError):
        check_range(2**63, 2**63, 10, "p")
    with pytest.raises(DataLossError):
        check_range(1, 10, 10, "p")
    with pytest.raises(InvalidArgumentError):
        check_range(-1, 1, 10, "p")
    with pytest.raises(InvalidArgumentError):
        check_range(0, -1, 10, "p")
    with pytest.raises(DataLossError):
        BytesSource(b"abc").read_at(2, 2)


def test_reader_over_memoryview_and_numpy() -> None:
    import numpy as np

    items = [(b"a", b"1"), (b"b", b"2")]
    data = build(items)
    assert list(TableReader(memoryview(data))) == items
    assert list(TableReader(BytesSource(np.frombuffer(data, np.uint8).data))) == items


# ----------------------------------------------------------------------------- corruption


def assemble(data_blocks: list[tuple[bytes, int]], index_keys: list[bytes]) -> bytes:
    """A table from raw (contents, type) data blocks, with correct trailers."""
    out = bytearray()
    index = BlockBuilder(1)
    for (contents, block_type), key in zip(data_blocks, index_keys, strict=True):
        index.add(key, BlockHandle(len(out), len(contents)).encode())
        out += contents + block_trailer(contents, block_type)
    meta = BlockHandle(len(out), 8)
    out += BlockBuilder().finish() + block_trailer(BlockBuilder().finish(), 0)
    idx = index.finish()
    ih = BlockHandle(len(out), len(idx))
    out += idx + block_trailer(idx, 0)
    return bytes(out + Footer(meta, ih).encode())


def good_block() -> bytes:
    b = BlockBuilder()
    b.add(b"k", b"v")
    return b.finish()


def test_too_short_and_bad_magic() -> None:
    with pytest.raises(DataLossError, match="too short"):
        TableReader(b"\x00" * 47)
    data = bytearray(build([(b"a", b"b")]))
    data[-1] ^= 1
    with pytest.raises(DataLossError, match="bad magic"):
        TableReader(bytes(data))


def test_checksum_mismatch() -> None:
    data = bytearray(build([(b"a", b"b")]))
    data[5] ^= 0x40
    r = TableReader(bytes(data), path="x.index")
    with pytest.raises(DataLossError, match="checksum mismatch") as info:
        r.get(b"a")
    assert info.value.path == "x.index"
    assert info.value.offset == 0


def test_handle_outside_file() -> None:
    data = bytearray(build([(b"a", b"b")]))
    # Point the index handle far past the end (footer starts with the metaindex handle).
    footer = Footer(BlockHandle(0, 8), BlockHandle(2**62, 14)).encode()
    data[-FOOTER_SIZE:] = footer
    with pytest.raises(DataLossError, match="runs past the end"):
        TableReader(bytes(data))


def test_unknown_block_type() -> None:
    data = assemble([(good_block(), 2)], [b"l"])
    r = TableReader(data)
    with pytest.raises(UnimplementedError, match="bad block type 2"):
        r.get(b"k")


def test_snappy_block_roundtrip_via_assemble() -> None:
    data = assemble([(snappy.compress(good_block()), 1)], [b"l"])
    assert list(TableReader(data)) == [(b"k", b"v")]


def test_hostile_snappy_length_is_refused_before_allocating() -> None:
    contents = encode_varint32(0xFFFFFFFF) + b"\x00" * 20
    data = assemble([(contents, 1)], [b"l"])
    with pytest.raises(DataLossError, match="claims 4294967295 uncompressed bytes"):
        TableReader(data).get(b"k")
    # A configurable cap applies too.
    payload = snappy.compress(b"\x00" * 10000)
    data = assemble([(payload, 1)], [b"l"])
    with pytest.raises(DataLossError, match="limit 1000"):
        TableReader(data, max_block_size=1000).get(b"k")


def test_corrupt_snappy_stream() -> None:
    bad = encode_varint32(30) + b"\xff\xff\xff\xff"
    data = assemble([(bad, 1)], [b"l"])
    with pytest.raises(DataLossError, match="snappy"):
        TableReader(data).get(b"k")


def test_data_block_keys_beyond_index_key() -> None:
    data = assemble([(good_block(), 0)], [b"a"])  # index says all keys <= "a"
    with pytest.raises(DataLossError, match="out of order"):
        list(TableReader(data))


def test_blocks_out_of_order() -> None:
    b1 = BlockBuilder()
    b1.add(b"m", b"1")
    b2 = BlockBuilder()
    b2.add(b"c", b"2")
    data = assemble([(b1.finish(), 0), (b2.finish(), 0)], [b"n", b"z"])
    with pytest.raises(DataLossError, match="out of order"):
        list(TableReader(data))


def test_bad_index_handle() -> None:
    index = BlockBuilder(1)
    index.add(b"k", b"\x80")  # truncated varint
    idx = index.finish()
    out = BlockBuilder().finish() + block_trailer(BlockBuilder().finish(), 0)
    ih = BlockHandle(len(out), len(idx))
    out += idx + block_trailer(idx, 0)
    out += Footer(BlockHandle(0, 8), ih).encode()
    with pytest.raises(DataLossError, match="bad block handle"):
        TableReader(out)


def exercise(data: bytes) -> None:
    """Open, iterate and probe a possibly corrupt table; only our errors may escape."""
    try:
        r = TableReader(data, block_cache_bytes=0)
        got = list(r)
        keys = [k for k, _ in got]
        assert keys == sorted(set(keys))
        for probe in keys[:3] + [b"", b"m", b"\xff"]:
            assert isinstance(r.get(probe), (bytes, type(None)))
        list(r.iter_from(b"k"))
    except SavedModelIOError:
        pass


FUZZ_ITEMS = [(b"key%03d" % i, b"value%d" % (i * 7)) for i in range(60)]
FUZZ_PLAIN = build(FUZZ_ITEMS, block_size=128, restart_interval=4)
FUZZ_SNAPPY = build([(k, v * 10) for k, v in FUZZ_ITEMS], block_size=256,
                    compression="snappy")


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from([FUZZ_PLAIN, FUZZ_SNAPPY]), st.data())
def test_random_flips_and_truncations(table: bytes, data: st.DataObject) -> None:
    buf = bytearray(table)
    for _ in range(data.draw(st.integers(1, 3))):
        buf[data.draw(st.integers(0, len(buf) - 1))] = data.draw(st.integers(0, 255))
    exercise(bytes(buf))
    exercise(bytes(buf[:data.draw(st.integers(0, len(buf)))]))
    exercise(table[:data.draw(st.integers(0, len(table)))])


def refresh_checksums(buf: bytearray) -> None:
    """Recompute every block trailer of a table whose structure is still intact."""
    meta, index = Footer.decode(bytes(buf[-FOOTER_SIZE:]))
    handles = [meta, index]
    try:
        idx_contents = bytes(buf[index.offset:index.offset + index.size])
        for _, value in Block(idx_contents):
            handles.append(BlockHandle.decode(value)[0])
    except SavedModelIOError:
        pass
    for h in handles:
        end = h.offset + h.size
        if end + BLOCK_TRAILER_SIZE <= len(buf) - FOOTER_SIZE:
            c = crc.extend(crc.value(bytes(buf[h.offset:end])), bytes(buf[end:end + 1]))
            buf[end + 1:end + 5] = encode_fixed32(crc.mask(c))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_flips_behind_valid_checksums(data: st.DataObject) -> None:
    """Corrupt block contents but fix the CRCs, so the block parser sees the damage."""
    buf = bytearray(FUZZ_PLAIN)
    r = TableReader(FUZZ_PLAIN)
    ends = {h.offset + h.size for _, h in r.index}
    ends |= {r.footer.index_handle.offset + r.footer.index_handle.size}
    positions = [i for i in range(len(buf) - FOOTER_SIZE)
                 if not any(e <= i < e + BLOCK_TRAILER_SIZE for e in ends)]
    for _ in range(data.draw(st.integers(1, 3))):
        buf[data.draw(st.sampled_from(positions))] = data.draw(st.integers(0, 255))
    refresh_checksums(buf)
    exercise(bytes(buf))


def test_big_table_timing_smoke() -> None:
    """A 100k-key table builds, reads and answers lookups (numbers in the report)."""
    keys = [b"model/layer_%06d/kernel" % i for i in range(100000)]
    data = build([(k, b"v" * 40) for k in keys])
    r = TableReader(data)
    assert sum(1 for _ in r.keys()) == len(keys)
    rnd = random.Random(0)
    for k in rnd.sample(keys, 1000):
        assert r.get(k) == b"v" * 40
    assert os.fspath(r.path) == "<memory>"
