"""The pytest plugin, as a user's test suite sees it (pytester runs a separate pytest).

The inner test files import nothing from savedmodel_io to get the fixtures: they come
from the ``pytest11`` entry point of the installed package. What the fixtures make is
checked with the library's readers here and with TensorFlow in
``tests/interop/test_plugin_interop.py``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from savedmodel_io.errors import InvalidArgumentError
from savedmodel_io.pytest_plugin import CheckpointFactory, SavedModelFactory

pytest_plugins = ["pytester"]


def _run(pytester: pytest.Pytester, source: str, passed: int) -> pytest.RunResult:
    pytester.makepyfile(source)
    # A subprocess, so the plugin is found the way a user's pytest finds it (its entry
    # point), not through this process's imports.
    result = pytester.runpytest_subprocess("-q", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=passed)
    return result


def test_fixtures_come_from_the_entry_point(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess("--fixtures", "-p", "no:cacheprovider")
    out = result.stdout.str()
    for name in ("saved_model_factory", "checkpoint_factory", "model_base_path_factory"):
        assert name in out
    assert "savedmodel_io" in out and "pytest_plugin.py" in out


SAVED_MODELS = '''
import numpy as np
from savedmodel_io import saved_model


def test_half_plus_two_default(saved_model_factory, tmp_path):
    m = saved_model_factory.half_plus_two()
    assert m.path == tmp_path / "saved_models" / "half_plus_two"
    assert (m.path / "saved_model.pb").is_file()
    assert (m.path / "variables" / "variables.index").is_file()
    loaded = saved_model.load(m.path, ["serve"])
    assert list(loaded.signatures) == ["serving_default"]
    assert {k: float(v) for k, v in loaded.variables.items()} == {"a": 0.5, "b": 2.0}
    sig = loaded.signatures["serving_default"]
    assert sig.method_name == "tensorflow/serving/predict"
    assert sig.inputs["x"].name == "x:0" and sig.outputs["y"].name == "y:0"
    np.testing.assert_array_equal(m.expected["serving_default"]["y"],
                                  0.5 * m.inputs["serving_default"]["x"] + 2)


def test_every_signature_tag_set_and_asset(saved_model_factory):
    m = saved_model_factory.half_plus_two(
        "hp", version=7, resource=True, signatures=("predict", "classify", "regress"),
        tag_sets=(("serve",), ("serve", "gpu")), assets=True)
    assert m.path.name == "7" and m.path.parent.name == "hp"
    assert m.signatures == ["classify_x_to_y", "regress_x_to_y", "serving_default"]
    assert saved_model.loader.get_saved_model_tag_sets(m.path) == [["serve"], ["serve", "gpu"]]
    for tags in m.tag_sets:
        loaded = saved_model.load(m.path, list(tags))
        assert sorted(loaded.signatures) == m.signatures
        cls = loaded.signatures["classify_x_to_y"]
        assert cls.method_name == "tensorflow/serving/classify"
        assert set(cls.outputs) == {"scores"}
        assert loaded.signatures["regress_x_to_y"].method_name == "tensorflow/serving/regress"
        ops = {n.op for n in loaded.meta_graph_def.graph_def.node}
        assert "VarHandleOp" in ops and "VariableV2" not in ops
    assert (m.path / "assets" / "vocab.txt").read_bytes() == m.assets["vocab.txt"]
    loaded = saved_model.load(m.path, ["serve"])
    assert list(loaded.asset_paths.values()) == [str(m.path / "assets" / "vocab.txt")]
    assert loaded.init_op_name == "main_op"
    examples = m.inputs["regress_x_to_y"]["inputs"]
    assert examples.dtype == object and all(isinstance(e, bytes) for e in examples)


def test_mlp_is_seeded(saved_model_factory):
    one = saved_model_factory.mlp((3, 5, 2), seed=1)
    two = saved_model_factory.mlp((3, 5, 2), seed=1)
    other = saved_model_factory.mlp((3, 5, 2), seed=2)
    assert one.path != two.path
    np.testing.assert_array_equal(one.expected["serving_default"]["y"],
                                  two.expected["serving_default"]["y"])
    assert not np.array_equal(one.variables["dense_0/kernel"],
                              other.variables["dense_0/kernel"])
    loaded = saved_model.load(one.path, ["serve"])
    assert sorted(loaded.variables) == sorted(one.variables)
    for k, v in one.variables.items():
        np.testing.assert_array_equal(loaded.variables[k], v)
    x = one.inputs["serving_default"]["x"]
    k0, b0 = one.variables["dense_0/kernel"], one.variables["dense_0/bias"]
    k1, b1 = one.variables["dense_1/kernel"], one.variables["dense_1/bias"]
    np.testing.assert_allclose(one.expected["serving_default"]["y"],
                               np.maximum(x @ k0 + b0, 0) @ k1 + b1, rtol=1e-6)
    assert one.expected["serving_default"]["y"].shape == (5, 2)


def test_expected_outputs_are_what_the_models_compute(saved_model_factory):
    models = [saved_model_factory.half_plus_two(signatures=("predict", "classify", "regress")),
              saved_model_factory.half_plus_two(resource=True, a=3.0, b=-1.0),
              saved_model_factory.mlp((6, 4, 4, 2), seed=5)]
    for m in models:
        loaded = saved_model.load(m.path, ["serve"])
        for key in m.signatures:
            got = loaded.signatures[key](**m.inputs[key])
            assert set(got) == set(m.expected[key])
            for name, want in m.expected[key].items():
                np.testing.assert_allclose(got[name], want, rtol=1e-5, atol=1e-6)
'''


def test_saved_model_factory(pytester: pytest.Pytester) -> None:
    _run(pytester, SAVED_MODELS, passed=4)


CHECKPOINTS = '''
import numpy as np
from savedmodel_io import train


def test_tf1_steps(checkpoint_factory):
    made = checkpoint_factory(lambda step: {"w": np.full((2, 2), step, np.float32),
                                            "step": np.int64(step)}, steps=(10, 20, 30))
    assert made.steps == [10, 20, 30]
    assert made.latest == str(made.directory / "model.ckpt-30")
    assert train.latest_checkpoint(str(made.directory)) == made.latest
    state = train.get_checkpoint_state(str(made.directory))
    assert list(state.all_model_checkpoint_paths) == [made.prefixes[s] for s in made.steps]
    for step in made.steps:
        reader = train.load_checkpoint(made.prefixes[step])
        assert sorted(reader) == ["step", "w"]
        np.testing.assert_array_equal(reader[made.keys["w"]], made.values[step]["w"])
        assert (made.directory / f"model.ckpt-{step}.meta").is_file()


def test_tf2_object_paths(checkpoint_factory):
    made = checkpoint_factory({"model/dense/kernel": np.ones((3, 2), np.float32),
                               "model/dense/bias": np.zeros(2, np.float32)},
                              style="tf2", steps=(1, 2))
    assert made.latest == str(made.directory / "ckpt-2")
    reader = train.load_checkpoint(str(made.directory))
    assert made.keys["model/dense/kernel"] == "model/dense/kernel/.ATTRIBUTES/VARIABLE_VALUE"
    assert "_CHECKPOINTABLE_OBJECT_GRAPH" in reader
    assert reader["save_counter/.ATTRIBUTES/VARIABLE_VALUE"] == 2
    ckpt = train.Checkpoint.from_paths({"model/dense/kernel": np.zeros((3, 2), np.float32),
                                        "model/dense/bias": np.ones(2, np.float32)})
    ckpt.restore(made.latest).assert_consumed()
    np.testing.assert_array_equal(ckpt.to_paths()["model/dense/kernel"], np.ones((3, 2)))
'''


def test_checkpoint_factory(pytester: pytest.Pytester) -> None:
    _run(pytester, CHECKPOINTS, passed=2)


BASE_PATHS = '''
import numpy as np
from savedmodel_io import saved_model
from savedmodel_io.saved_model import versioned


def test_versions_and_stray_entries(model_base_path_factory):
    base = model_base_path_factory("hp", versions=(1, 2, 10))
    names = sorted(p.name for p in base.path.iterdir())
    assert names == sorted(["1", "2", "10", *base.stray])
    assert base.stray == ["temp-11", "10.bak", "README.txt"]
    assert versioned.list_versions(base.path) == [1, 2, 10]
    assert versioned.latest_version_path(base.path) == str(base.path / "10")
    assert base.latest == 10
    loaded = saved_model.load(base.versions[2].path, ["serve"])
    assert float(loaded.variables["b"]) == 2.0
    np.testing.assert_array_equal(base.versions[10].expected["serving_default"]["y"],
                                  0.5 * base.versions[10].inputs["serving_default"]["x"] + 10)


def test_padded_names_and_custom_models(model_base_path_factory, saved_model_factory):
    base = model_base_path_factory(
        "mlp", versions=(123,), padded=True, stray=False,
        make=lambda d, v: saved_model_factory.mlp((2, 3), seed=v, export_dir=d))
    assert [p.name for p in base.path.iterdir()] == ["00000123"]
    assert versioned.list_versions(base.path) == [123]
    assert base.versions[123].variables["dense_0/kernel"].shape == (2, 3)
'''


def test_model_base_path_factory(pytester: pytest.Pytester) -> None:
    _run(pytester, BASE_PATHS, passed=2)


# ------------------------------------------------------------------ bad arguments


def test_bad_arguments_are_refused_before_writing(tmp_path: Path) -> None:
    models = SavedModelFactory(tmp_path / "m")
    with pytest.raises(InvalidArgumentError, match="signatures are some of"):
        models.half_plus_two(signatures=("predict", "translate"))
    with pytest.raises(InvalidArgumentError, match="layer_sizes"):
        models.mlp((4,))
    with pytest.raises(InvalidArgumentError, match="tag-set"):
        models.half_plus_two(tag_sets=())
    checkpoints = CheckpointFactory(tmp_path / "c")
    with pytest.raises(InvalidArgumentError, match="style"):
        checkpoints({"w": np.zeros(2)}, style="tf3")
    with pytest.raises(InvalidArgumentError, match="distinct"):
        checkpoints({"w": np.zeros(2)}, steps=(1, 1))
    assert not (tmp_path / "m" / "half_plus_two").exists()
    assert not (tmp_path / "c").exists()
