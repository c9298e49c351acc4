"""TensorFlow 2.21 loads what each pytest fixture makes and computes the expected outputs."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np
import pytest

from savedmodel_io import pytest_plugin
from savedmodel_io.pytest_plugin import MadeSavedModel

# The interop environment may run from a source tree (PYTHONPATH=src) where the pytest11
# entry point is not installed: take the fixtures from the module itself.
saved_model_factory = pytest_plugin.saved_model_factory
checkpoint_factory = pytest_plugin.checkpoint_factory
model_base_path_factory = pytest_plugin.model_base_path_factory


def _run_tf1(tf: ModuleType, model: MadeSavedModel, tags: list[str]) -> None:
    """Load as TensorFlow Serving does (TF1 loader, a Session) and run every signature."""
    with tf.Graph().as_default(), tf.compat.v1.Session() as sess:
        meta = tf.compat.v1.saved_model.loader.load(sess, tags, str(model.path))
        assert sorted(k for k in meta.signature_def if not k.startswith("__")) == \
            model.signatures
        for key in model.signatures:
            sig = meta.signature_def[key]
            feed = {sig.inputs[name].name: value for name, value in model.inputs[key].items()}
            fetch = {name: info.name for name, info in sig.outputs.items()}
            got = sess.run(fetch, feed_dict=feed)
            assert set(got) == set(model.expected[key])
            for name, want in model.expected[key].items():
                np.testing.assert_allclose(got[name], want, rtol=1e-6, atol=1e-6,
                                           err_msg=f"{key}/{name}")


@pytest.mark.parametrize("resource", [False, True], ids=["ref", "resource"])
def test_half_plus_two_every_signature_and_tag_set(
        tf: ModuleType, saved_model_factory: pytest_plugin.SavedModelFactory,
        resource: bool) -> None:
    model = saved_model_factory.half_plus_two(
        resource=resource, signatures=("predict", "classify", "regress"),
        tag_sets=(("serve",), ("serve", "gpu")), assets=True)
    for tags in model.tag_sets:
        _run_tf1(tf, model, list(tags))
    # The asset tensor is fed with the file's path inside the export when the main op runs.
    with tf.Graph().as_default(), tf.compat.v1.Session() as sess:
        meta = tf.compat.v1.saved_model.loader.load(sess, ["serve"], str(model.path))
        assert "saved_model_assets" in meta.collection_def
    assert tf.io.gfile.exists(str(model.path / "assets" / "vocab.txt"))


def test_half_plus_two_through_tf2_load(
        tf: ModuleType, saved_model_factory: pytest_plugin.SavedModelFactory) -> None:
    model = saved_model_factory.half_plus_two(as_text=True)
    loaded = tf.saved_model.load(str(model.path), tags=["serve"])
    out = loaded.signatures["serving_default"](x=tf.constant(
        model.inputs["serving_default"]["x"]))
    np.testing.assert_allclose(out["y"].numpy(), model.expected["serving_default"]["y"])


@pytest.mark.parametrize("sizes", [(4, 8, 3), (2, 1)], ids=["4-8-3", "2-1"])
def test_mlp(tf: ModuleType, saved_model_factory: pytest_plugin.SavedModelFactory,
             sizes: tuple[int, ...]) -> None:
    model = saved_model_factory.mlp(sizes, seed=3)
    _run_tf1(tf, model, ["serve"])


def test_tf1_checkpoints(tf: ModuleType,
                         checkpoint_factory: pytest_plugin.CheckpointFactory) -> None:
    made = checkpoint_factory(lambda s: {"dense/kernel": np.full((3, 2), s, np.float32),
                                         "global_step": np.int64(s)}, steps=(5, 10))
    assert tf.train.latest_checkpoint(str(made.directory)) == made.latest
    state = tf.train.get_checkpoint_state(str(made.directory))
    assert list(state.all_model_checkpoint_paths) == [made.prefixes[5], made.prefixes[10]]
    for step in made.steps:
        reader = tf.train.load_checkpoint(made.prefixes[step])
        for name, value in made.values[step].items():
            np.testing.assert_array_equal(reader.get_tensor(made.keys[name]), value)
    # TF1 code restores it through the .meta graph the Saver wrote.
    with tf.Graph().as_default(), tf.compat.v1.Session() as sess:
        saver = tf.compat.v1.train.import_meta_graph(made.latest + ".meta")
        saver.restore(sess, made.latest)
        np.testing.assert_array_equal(sess.run("dense/kernel:0"), np.full((3, 2), 10))


def test_tf2_checkpoints(tf: ModuleType,
                         checkpoint_factory: pytest_plugin.CheckpointFactory) -> None:
    made = checkpoint_factory(lambda s: {"model/dense/kernel": np.full((3, 2), s, np.float32),
                                         "model/dense/bias": np.zeros(2, np.float32),
                                         "step": np.int64(s)}, style="tf2", steps=(1, 2, 3))
    assert tf.train.latest_checkpoint(str(made.directory)) == made.latest
    dense: Any = tf.Module()
    dense.kernel = tf.Variable(tf.zeros((3, 2)))
    dense.bias = tf.Variable(tf.ones(2))
    model: Any = tf.Module()
    model.dense = dense
    ckpt = tf.train.Checkpoint(model=model, step=tf.Variable(0, dtype=tf.int64))
    ckpt.restore(made.prefixes[2]).assert_consumed()
    np.testing.assert_array_equal(dense.kernel.numpy(), np.full((3, 2), 2))
    assert int(ckpt.step.numpy()) == 2 and int(ckpt.save_counter.numpy()) == 2
    manager = tf.train.CheckpointManager(ckpt, str(made.directory), max_to_keep=None)
    assert manager.checkpoints == [made.prefixes[s] for s in made.steps]


def test_model_base_path(tf: ModuleType,
                         model_base_path_factory: pytest_plugin.ModelBasePathFactory) -> None:
    base = model_base_path_factory(versions=(1, 2), padded=True)
    for version, model in base.versions.items():
        assert model.path.name == f"{version:08d}"
        _run_tf1(tf, model, ["serve"])
