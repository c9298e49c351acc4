"""What TensorFlow 2.21 wrote, we read exactly; replaying its writes, we write the same bytes.

The goldens and ``manifest.json`` come from ``tests/data/make_goldens.py`` (run in a
TensorFlow environment); these tests need no TensorFlow.
"""

from __future__ import annotations

import base64
import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from savedmodel_io import dtypes, load_checkpoint
from savedmodel_io.dtypes import DataType
from savedmodel_io.format.bundle_merge import merge_bundles
from savedmodel_io.format.bundle_reader import BundleReader
from savedmodel_io.format.bundle_writer import BundleWriter
from savedmodel_io.format.slices import parse_shape_and_slice
from tests.conftest import GOLDEN

MANIFEST: dict[str, Any] = json.loads((GOLDEN / "manifest.json").read_text())
CHECKPOINTS: dict[str, Any] = MANIFEST["checkpoints"]
V2 = sorted(k for k, v in CHECKPOINTS.items() if v["format"] == "V2")
REPLAYABLE = sorted(k for k, v in CHECKPOINTS.items()
                    if isinstance(v.get("written_by"), list)
                    and all(op["op"] in ("SaveV2", "MergeV2Checkpoints")
                            for op in v["written_by"]))


def expected_value(t: dict[str, Any]) -> np.ndarray:
    """The tensor a manifest row describes, as a numpy array."""
    shape = tuple(t["shape"])
    if t["dtype"] == "DT_STRING":
        items = [base64.b64decode(s) for s in t["value_strings_b64"]]
        arr = np.empty(len(items), dtype=object)
        arr[:] = items
        return arr.reshape(shape)
    if t["dtype"] == "DT_VARIANT":
        raise ValueError("variant")
    npd = dtypes.as_numpy_dtype(DataType[t["dtype"]])
    return np.frombuffer(base64.b64decode(t["value_b64"]), dtype=npd).reshape(shape)


def test_manifest_covers_the_issue() -> None:
    assert len(REPLAYABLE) >= 6, REPLAYABLE
    names = {t["dtype"] for t in CHECKPOINTS["bundle_all_dtypes/ckpt"]["tensors"]}
    assert len(names) >= 30


@pytest.mark.parametrize("prefix", V2)
def test_reads_every_tensor_tensorflow_wrote(prefix: str) -> None:
    info = CHECKPOINTS[prefix]
    with BundleReader(str(GOLDEN / prefix)) as r:
        for t in info.get("tensors", []):
            if t.get("dtype") == "DT_VARIANT":
                continue
            key = t["name"]
            if t.get("shape_and_slices"):
                parsed = parse_shape_and_slice(t["shape_and_slices"])
                assert parsed is not None
                got = r.read_slice(key, parsed[1])
            else:
                got = r.read(key)
            want = expected_value(t)
            assert got.dtype == want.dtype, key
            assert got.shape == want.shape, key
            assert got.tobytes() == want.tobytes() if want.dtype != object else \
                got.tolist() == want.tolist(), key


WITH_TF_VIEW = sorted(k for k, v in CHECKPOINTS.items() if "tf_reader" in v)


@pytest.mark.parametrize("prefix", WITH_TF_VIEW)
def test_checkpoint_reader_matches_tf_reader(prefix: str) -> None:
    """Names, shapes, dtypes and values equal what tf.train.load_checkpoint gave (V1 and V2)."""
    tf_view: dict[str, Any] = CHECKPOINTS[prefix]["tf_reader"]
    with load_checkpoint(GOLDEN / prefix) as reader:
        assert sorted(reader) == sorted(tf_view)
        shapes = reader.get_variable_to_shape_map()
        dts = reader.get_variable_to_dtype_map()
        for name, want in tf_view.items():
            assert shapes[name] == want["shape"], name
            assert dts[name].name == want["dtype"], name
            if "value_b64" not in want and "value_strings_b64" not in want:
                continue
            got = reader[name]
            expect = expected_value(want)
            if expect.dtype == object:
                assert got.tolist() == expect.tolist(), name
            else:
                assert got.tobytes() == expect.tobytes(), name


def _replay(info: dict[str, Any], out: Path) -> None:
    by_name: dict[str, list[dict[str, Any]]] = {}
    for t in info["tensors"]:
        by_name.setdefault(t["name"], []).append(t)
    cursor: dict[str, int] = {}
    for op in info["written_by"]:
        if op["op"] == "SaveV2":
            prefix = out / op["prefix"]
            prefix.parent.mkdir(parents=True, exist_ok=True)
            with BundleWriter(str(prefix)) as w:
                for name, sas in zip(op["tensor_names"], op["shape_and_slices"], strict=True):
                    i = cursor.get(name, 0)
                    cursor[name] = i + 1
                    row = [t for t in by_name[name] if t["shape_and_slices"] == sas][0]
                    if row["dtype"] == "DT_VARIANT":
                        value = np.array(base64.b64decode(row["raw_data_b64"]), dtype=object)
                        # The raw bytes are the encoded tensor; re-encode from the element.
                        from savedmodel_io.format.tensor_bytes import decode_variants

                        elems, _ = decode_variants(value.item(), 1)
                        arr = np.empty((), dtype=object)
                        arr[()] = elems[0]
                        w.add(name, arr, DataType.DT_VARIANT)
                        continue
                    value = expected_value(row)
                    parsed = parse_shape_and_slice(sas)
                    if parsed is None:
                        w.add(name, value, DataType[row["dtype"]])
                    else:
                        w.add_slice(name, parsed[0], parsed[1], value, DataType[row["dtype"]])
        else:
            merge_bundles([str(out / p) for p in op["checkpoint_prefixes"]],
                          str(out / op["destination_prefix"]),
                          delete_old_dirs=op["delete_old_dirs"])


@pytest.mark.parametrize("prefix", REPLAYABLE)
def test_writes_the_bytes_tensorflow_wrote(tmp_path: Path, prefix: str) -> None:
    info = CHECKPOINTS[prefix]
    _replay(info, tmp_path)
    for f in info["files"]:
        ours = (tmp_path / f["path"]).read_bytes()
        theirs = (GOLDEN / f["path"]).read_bytes()
        assert ours == theirs, f["path"]
    temp_dirs = [p for p in tmp_path.rglob("*_temp")]
    assert temp_dirs == [] or all(not any(d.iterdir()) for d in temp_dirs)


def test_golden_copy_is_intact() -> None:
    # Guard: a test run must never modify the committed goldens.
    for prefix in REPLAYABLE:
        for f in CHECKPOINTS[prefix]["files"]:
            assert (GOLDEN / f["path"]).stat().st_size == f["size"]
    assert shutil.which("python3") is not None
