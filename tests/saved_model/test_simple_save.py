"""simple_save against TensorFlow 2.21's tf.compat.v1.saved_model.simple_save output
(tests/data/golden/builder/simple_save, made by make_builder_goldens.py there)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from savedmodel_io import saved_model
from savedmodel_io.errors import AlreadyExistsError, InvalidArgumentError
from savedmodel_io.graph import Graph, Tensor
from savedmodel_io.protos import fingerprint_pb2
from savedmodel_io.saved_model import constants, loader
from savedmodel_io.saved_model.simple_save import simple_save


def linear() -> tuple[Graph, Tensor, Tensor]:
    rng = np.random.RandomState(11)
    g = Graph()
    x = g.placeholder(np.float32, shape=(None, 3), name="x")
    w = g.variable("w", rng.randn(3, 1).astype(np.float32), resource=True)
    y = g.identity(g.op("MatMul", [x, w]), name="y")
    g.global_variables_initializer()
    return g, x, y


def test_same_files_as_tensorflows_simple_save(tmp_path: Path, golden: Path) -> None:
    g, x, y = linear()
    path = simple_save(g, tmp_path / "m", inputs={"x": x}, outputs={"y": y})
    assert path == str(tmp_path / "m" / "saved_model.pb")
    theirs = golden / "builder" / "simple_save"
    out = tmp_path / "m"
    assert (out / "saved_model.pb").read_bytes() == (theirs / "saved_model.pb").read_bytes()
    for name in ("variables.index", "variables.data-00000-of-00001"):
        assert (out / "variables" / name).read_bytes() == (theirs / "variables" /
                                                           name).read_bytes()
    assert sorted(os.listdir(out)) == ["fingerprint.pb", "saved_model.pb", "variables"]
    want = json.loads((golden / "builder" / "fingerprint.json").read_text())["fingerprints"][
        "simple_save"]
    fp = fingerprint_pb2.FingerprintDef.FromString((out / "fingerprint.pb").read_bytes())
    assert (fp.saved_model_checksum, fp.graph_def_program_hash, fp.signature_def_hash,
            fp.checkpoint_hash) == (want["saved_model_checksum"],
                                    want["graph_def_program_hash"],
                                    want["signature_def_hash"], want["checkpoint_hash"])


def test_what_simple_save_writes(tmp_path: Path) -> None:
    g, x, y = linear()
    with g.device("/device:CPU:0"):
        z = g.identity(y, name="z")
    src = tmp_path / "labels.txt"
    src.write_text("a\nb\n")
    g.add_to_collection("asset_filepaths", g.constant(str(src), name="labels"))
    init = g.no_op(name="legacy_init")
    saved_model.simple_save(g, tmp_path / "m", {"x": x}, {"z": z}, legacy_init_op=init,
                            variables={"w": np.ones((3, 1), np.float32)})
    loaded = loader.load(tmp_path / "m", ["serve"])
    sig = loaded.meta_graph_def.signature_def["serving_default"]
    assert sig.method_name == "tensorflow/serving/predict"
    assert (sig.inputs["x"].name, sig.outputs["z"].name) == ("x:0", "z:0")
    assert [d.size for d in sig.inputs["x"].tensor_shape.dim] == [-1, 3]
    assert loaded.init_op_name == "legacy_init"
    assert loaded.asset_paths == {"labels:0": str((tmp_path / "m" / "assets" /
                                                   "labels.txt").resolve())}
    assert {n.device for n in loaded.meta_graph_def.graph_def.node} == {""}  # cleared
    assert loaded.variables is not None
    np.testing.assert_array_equal(loaded.variables["w"], np.ones((3, 1), np.float32))
    assert (tmp_path / "m" / constants.ASSETS_DIRECTORY / "labels.txt").read_text() == "a\nb\n"


def test_simple_save_refusals_leave_nothing(tmp_path: Path) -> None:
    g, x, y = linear()
    with pytest.raises(InvalidArgumentError, match="`inputs` cannot be None or empty"):
        simple_save(g, tmp_path / "m", inputs={}, outputs={"y": y})
    with pytest.raises(InvalidArgumentError, match="graph Tensor or a TensorInfo"):
        simple_save(g, tmp_path / "m", inputs={"x": "x:0"}, outputs={"y": y})
    assert os.listdir(tmp_path) == []
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "x").write_text("")
    with pytest.raises(AlreadyExistsError, match="already exists, and isn't empty"):
        simple_save(g, tmp_path / "m", inputs={"x": x}, outputs={"y": y})


def test_package_attribute_is_the_function_even_after_module_import() -> None:
    import savedmodel_io.saved_model.simple_save as module

    assert saved_model.simple_save is simple_save or callable(saved_model.simple_save)
    assert callable(module)  # `saved_model.simple_save(...)` works either way
    assert saved_model.SavedModelBuilder is saved_model.Builder
