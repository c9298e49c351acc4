"""Bundle writer/reader: round trips, slices, merging, and hostile files."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from savedmodel_io import dtypes
from savedmodel_io.dtypes import DataType
from savedmodel_io.errors import (
    DataLossError,
    InvalidArgumentError,
    NotFoundError,
    SavedModelIOError,
)
from savedmodel_io.format import crc
from savedmodel_io.format.bundle_entry import BundleEntry, BundleHeader, index_filename
from savedmodel_io.format.bundle_merge import merge_bundles
from savedmodel_io.format.bundle_reader import BundleReader
from savedmodel_io.format.bundle_writer import BundleWriter, write_index
from savedmodel_io.format.slices import TensorSlice

NUMERIC = [info.numpy for dt, info in dtypes._INFO.items()
           if info.numpy is not None and info.numpy.kind != "O"]


def _roundtrip(tmp: Path, tensors: dict[str, np.ndarray], **kw: object) -> dict[str, np.ndarray]:
    prefix = str(tmp / "ck" / "model")
    with BundleWriter(prefix) as w:
        for k, v in tensors.items():
            w.add(k, v)
    with BundleReader(prefix, **kw) as r:  # type: ignore[arg-type]
        return {k.decode(): r.read(k) for k in r.keys()}


@pytest.mark.parametrize("npd", NUMERIC, ids=str)
def test_every_numeric_dtype_round_trips(tmp_path: Path, npd: np.dtype) -> None:
    raw = np.arange(12, dtype=np.uint8).reshape(3, 4)
    if npd.fields is not None:
        value = np.zeros((3, 4), dtype=npd)
    elif npd.itemsize == 1:
        value = raw.view(npd) if npd.kind not in "V" else raw.view(npd)
    else:
        value = np.arange(12).reshape(3, 4).astype(npd)
    got = _roundtrip(tmp_path, {"t": value})["t"]
    assert got.dtype == npd
    assert got.tobytes() == value.tobytes()


def test_strings_scalars_and_empty(tmp_path: Path) -> None:
    tensors = {
        "s": np.array([b"hello", b"", b"x" * 200, "é".encode(), b"\x00\xff"], dtype=object),
        "big": np.array([b"y" * 70000], dtype=object),
        "scalar_str": np.array(b"", dtype=object),
        "f": np.float32(2.5),
        "empty": np.zeros((2, 0), np.float32),
        "empty_str": np.zeros((0,), dtype=object),
        "b": np.array([True, False]),
    }
    got = _roundtrip(tmp_path, tensors)
    for k, v in tensors.items():
        assert got[k].shape == np.shape(v), k
        assert got[k].tolist() == np.asarray(v).tolist(), k


def test_string_layout_matches_format_doc(tmp_path: Path) -> None:
    # FORMAT.md 2.8, verified against TensorFlow 2.21.
    prefix = str(tmp_path / "m")
    with BundleWriter(prefix) as w:
        w.add("s", np.array([b"hello", b"", b"x" * 200], dtype=object))
    data = (tmp_path / "m.data-00000-of-00001").read_bytes()
    assert data[:4] == bytes.fromhex("0500c801")
    assert data[4:8] == bytes.fromhex("018caa2b")
    assert len(data) == 213


def test_entry_bytes_match_format_doc() -> None:
    # FORMAT.md 2.4: float32 [2,3] at offset 0, 24 bytes.
    e = BundleEntry(DataType.DT_FLOAT, (2, 3), 0, 0, 24, int.from_bytes(
        bytes.fromhex("7aebf5ab"), "little"))
    assert e.encode() == bytes.fromhex("0801120812020802120208032818357aebf5ab")
    assert BundleHeader().encode() == bytes.fromhex("08011a020801")


@st.composite
def arrays_of_any_dtype(draw: st.DrawFn) -> np.ndarray:
    """Arrays of every fixed-size dtype, filled with arbitrary bytes (any bit pattern)."""
    npd = draw(st.sampled_from(NUMERIC))
    shape = draw(hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4))
    n = int(np.prod(shape)) if shape else 1
    raw = draw(st.binary(min_size=n * npd.itemsize, max_size=n * npd.itemsize))
    return np.frombuffer(raw, dtype=npd).reshape(shape)


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.dictionaries(st.text(min_size=1, max_size=20), arrays_of_any_dtype(), max_size=8))
def test_any_dict_of_arrays_round_trips(tmp_path: Path, tensors: dict[str, np.ndarray]) -> None:
    got = _roundtrip(Path(tempfile.mkdtemp(dir=tmp_path)), tensors)
    assert set(got) == set(tensors)
    for k, v in tensors.items():
        assert got[k].dtype == v.dtype and got[k].shape == v.shape
        assert got[k].tobytes() == v.tobytes()


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.binary(max_size=300), max_size=20))
def test_any_strings_round_trip(tmp_path: Path, items: list[bytes]) -> None:
    arr = np.empty(len(items), dtype=object)
    arr[:] = items
    got = _roundtrip(Path(tempfile.mkdtemp(dir=tmp_path)), {"s": arr})
    assert got["s"].tolist() == items


def test_mmap_reads_are_read_only_views(tmp_path: Path) -> None:
    value = np.arange(1000, dtype=np.float64)
    got = _roundtrip(tmp_path, {"v": value}, mmap=True)["v"]
    np.testing.assert_array_equal(got, value)
    assert not got.flags.writeable


def test_partitioned_tensor(tmp_path: Path) -> None:
    full = np.arange(10, dtype=np.float32).reshape(5, 2)
    prefix = str(tmp_path / "p")
    with BundleWriter(prefix) as w:
        w.add_slice("part", [5, 2], TensorSlice(((0, 3), (0, 2))), full[:3])
        w.add_slice("part", [5, 2], TensorSlice(((3, 2), (0, 2))), full[3:])
        w.add_slice("whole", [2], TensorSlice(((0, 2),)), np.ones(2, np.int32))
    with BundleReader(prefix) as r:
        assert [k for k in r.keys()] == [b"part", b"whole"]
        assert len(list(r.keys(include_slices=True))) == 4
        np.testing.assert_array_equal(r.read("part"), full)
        np.testing.assert_array_equal(r.read_slice("part", TensorSlice(((2, 2), (1, 1)))),
                                      full[2:4, 1:2])
        assert not r.entry("whole").slices
        assert r.entry("part").slices == [TensorSlice(((0, 3), (0, 2))),
                                          TensorSlice(((3, 2), (0, 2)))]


def test_missing_slice_coverage_is_data_loss(tmp_path: Path) -> None:
    prefix = str(tmp_path / "p")
    with BundleWriter(prefix) as w:
        w.add_slice("part", [5, 2], TensorSlice(((0, 3), (0, 2))), np.ones((3, 2), np.float32))
    with BundleReader(prefix) as r, pytest.raises(DataLossError, match="sufficient slices"):
        r.read("part")


def test_merge_renumbers_shards(tmp_path: Path) -> None:
    p0, p1 = str(tmp_path / "m_temp" / "part-00000-of-00002"), str(
        tmp_path / "m_temp" / "part-00001-of-00002")
    with BundleWriter(p0) as w:
        w.add("a", np.ones(3, np.float32))
        w.add_slice("part", [4], TensorSlice(((0, 2),)), np.array([1, 2], np.int64))
    with BundleWriter(p1) as w:
        w.add("b", np.zeros(2, np.int32))
        w.add_slice("part", [4], TensorSlice(((2, 2),)), np.array([3, 4], np.int64))
    out = str(tmp_path / "m")
    merge_bundles([p0, p1], out)
    assert sorted(os.listdir(tmp_path)) == ["m.data-00000-of-00002", "m.data-00001-of-00002",
                                            "m.index"]
    with BundleReader(out) as r:
        assert r.header.num_shards == 2
        assert r.entry("b").shard_id == 1
        np.testing.assert_array_equal(r.read("part"), [1, 2, 3, 4])
        np.testing.assert_array_equal(r.read("a"), np.ones(3))


def test_duplicate_and_bad_keys(tmp_path: Path) -> None:
    w = BundleWriter(str(tmp_path / "d"))
    w.add("a", np.ones(1))
    with pytest.raises(InvalidArgumentError, match="duplicate"):
        w.add("a", np.ones(1))
    with pytest.raises(InvalidArgumentError):
        w.add("", np.ones(1))
    w.abort()
    assert os.listdir(tmp_path) == []


def test_failed_write_leaves_nothing(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError), BundleWriter(str(tmp_path / "x")) as w:
        w.add("a", np.ones(4))
        raise RuntimeError("boom")
    assert os.listdir(tmp_path) == []


def test_missing_files_are_not_found(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError):
        BundleReader(str(tmp_path / "nothing"))
    prefix = str(tmp_path / "m")
    with BundleWriter(prefix) as w:
        w.add("a", np.ones(4))
    os.remove(prefix + ".data-00000-of-00001")
    with BundleReader(prefix) as r, pytest.raises(NotFoundError, match="data file"):
        r.read("a")


# ------------------------------------------------------------------ hostile indexes


def _write_raw_index(prefix: str, entries: dict[bytes, BundleEntry],
                     header: BundleHeader | None = None) -> None:
    with open(index_filename(prefix), "wb") as f:
        write_index(f, header or BundleHeader(), entries)


HOSTILE = {
    "offset past end": BundleEntry(DataType.DT_FLOAT, (4,), 0, 0x7FFFFFFFFFFFFFF0, 16, 0),
    "size mismatch": BundleEntry(DataType.DT_FLOAT, (4,), 0, 0, 12, 0),
    "element count overflow": BundleEntry(DataType.DT_FLOAT, (2**40, 2**40), 0, 0, 16, 0),
    "huge string shape": BundleEntry(DataType.DT_STRING, (10**12,), 0, 0, 16, 0),
    "unsupported dtype": BundleEntry(DataType.DT_RESOURCE, (1,), 0, 0, 16, 0),
    "bad shard": BundleEntry(DataType.DT_FLOAT, (4,), 7, 0, 16, 0),
    "bad checksum": BundleEntry(DataType.DT_FLOAT, (4,), 0, 0, 16, 12345),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_entries_raise_our_errors(tmp_path: Path, case: str) -> None:
    prefix = str(tmp_path / "h")
    (tmp_path / "h.data-00000-of-00001").write_bytes(np.ones(4, np.float32).tobytes())
    _write_raw_index(prefix, {b"t": HOSTILE[case]})
    with pytest.raises(SavedModelIOError), BundleReader(prefix) as r:
        r.read("t")


def test_negative_dimension_and_unknown_dtype(tmp_path: Path) -> None:
    from savedmodel_io.protos import tensor_bundle_pb2

    for mutate in (lambda p: p.shape.dim.add(size=-3), lambda p: setattr(p, "dtype", 999)):
        p = tensor_bundle_pb2.BundleEntryProto(dtype=1)
        p.shape.SetInParent()
        mutate(p)
        with pytest.raises(SavedModelIOError):
            BundleEntry.decode(p.SerializeToString(), path="x.index", key=b"t")


def test_unsupported_version_is_refused() -> None:
    from savedmodel_io.protos import tensor_bundle_pb2

    p = tensor_bundle_pb2.BundleHeaderProto(num_shards=1)
    p.version.producer = 1
    p.version.min_consumer = 5
    with pytest.raises(SavedModelIOError, match="version"):
        BundleHeader.decode(p.SerializeToString(), "x.index")


def test_corrupted_data_byte_is_caught(tmp_path: Path) -> None:
    prefix = str(tmp_path / "c")
    with BundleWriter(prefix) as w:
        w.add("a", np.arange(100, dtype=np.int32))
        w.add("s", np.array([b"abc", b"defg"], dtype=object))
    data_path = tmp_path / "c.data-00000-of-00001"
    original = data_path.read_bytes()
    for pos in range(len(original)):
        corrupt = bytearray(original)
        corrupt[pos] ^= 0x41
        data_path.write_bytes(bytes(corrupt))
        with BundleReader(prefix) as r:
            failures = 0
            for key in (b"a", b"s"):
                try:
                    r.read(key)
                except DataLossError:
                    failures += 1
            assert failures == 1, pos
    data_path.write_bytes(original)
    with BundleReader(prefix, verify_checksums=False) as r:
        assert r.read("a").sum() == sum(range(100))


def test_masked_crc_of_empty_tensor() -> None:
    assert crc.mask(0) == 0xA282EAD8


def test_big_endian_bundle_is_byte_swapped(tmp_path: Path) -> None:
    """A bundle written on a big-endian host (header BIG, data and CRCs in big-endian bytes)."""
    import ml_dtypes

    values = {
        "f": np.arange(6, dtype=np.float32).reshape(2, 3),
        "c": np.array([1 + 2j, -3.5 + 0.25j], dtype=np.complex64),
        "h": np.array([1.5, -2.0], dtype=np.float16),
        "bf": np.array([1.5, 3.0], dtype=ml_dtypes.bfloat16),
        "i": np.array([1, -2, 70000], dtype=np.int64),
        "u8": np.array([1, 2, 255], dtype=np.uint8),
    }
    prefix = str(tmp_path / "be")
    with BundleWriter(prefix) as w:
        for k, v in values.items():
            unit = v.dtype.itemsize // 2 if v.dtype.kind == "c" else v.dtype.itemsize
            swapped = v.view(np.dtype(f"u{unit}")).byteswap().view(v.dtype)
            w.add(k, swapped)
    with BundleReader(prefix) as r:
        entries = dict(r.entries())
    _write_raw_index(prefix, entries, BundleHeader(big_endian=True))
    with BundleReader(prefix) as r:
        assert r.header.big_endian
        for k, v in values.items():
            got = r.read(k)
            assert got.dtype == v.dtype and got.tobytes() == v.tobytes(), k


def test_merge_with_allow_missing_files_skips_absent_inputs(tmp_path: Path) -> None:
    p0 = str(tmp_path / "m_temp" / "part-00000-of-00002")
    with BundleWriter(p0) as w:
        w.add("a", np.ones(2, np.float32))
    missing = str(tmp_path / "m_temp" / "part-00001-of-00002")
    with pytest.raises(SavedModelIOError):
        merge_bundles([p0, missing], str(tmp_path / "x"))
    merge_bundles([p0, missing], str(tmp_path / "m"), allow_missing_files=True)
    with BundleReader(str(tmp_path / "m")) as r:
        np.testing.assert_array_equal(r.read("a"), np.ones(2))
    with pytest.raises(InvalidArgumentError):
        merge_bundles([missing], str(tmp_path / "y"), allow_missing_files=True)
