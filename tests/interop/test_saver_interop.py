"""Saver against TensorFlow 2.21's ``tf.compat.v1.train.Saver``, in one process."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from savedmodel_io.train.checkpoint_reader import load_checkpoint
from savedmodel_io.train.saver import Saver
from savedmodel_io.train.variable import Variable, partition

tf = pytest.importorskip("tensorflow")
v1 = tf.compat.v1

W = np.arange(6, dtype=np.float32).reshape(2, 3)
B = np.int64(-7)
S = np.array([b"ab", b"", b"\x00\xff"], dtype=object)
FULL = np.arange(10, dtype=np.float32).reshape(5, 2)


def our_vars(resource: bool) -> list[Variable]:
    return [Variable("w", W, resource=resource),
            Variable("scope/b", B, trainable=False, resource=resource),
            Variable("s", S, resource=resource)]


def tf_graph_vars(resource: bool, init: bool = True) -> list[Any]:
    """The same variables in the current TF graph (zeros, or our values)."""
    vals = (W, B, S) if init else (np.zeros_like(W), np.int64(0), np.array([b""] * 3,
                                                                             dtype=object))
    return [v1.Variable(vals[0], name="w", use_resource=resource),
            v1.Variable(vals[1], name="scope/b", trainable=False, use_resource=resource),
            v1.Variable(vals[2], name="s", use_resource=resource)]


def tf_values(sess: Any, names: list[str]) -> dict[str, Any]:
    g = sess.graph
    out = {}
    for n in names:
        var = next(v for v in g.get_collection("variables") if v.op.name == n)
        out[n] = sess.run(var)
    return out


def check_values(got: dict[str, Any]) -> None:
    np.testing.assert_array_equal(got["w"], W)
    assert got["scope/b"] == B
    assert list(got["s"]) == list(S)


# ------------------------------------------------------------- TF reads what we write


@pytest.mark.parametrize("resource", [False, True], ids=["ref", "resource"])
@pytest.mark.parametrize("sharded", [False, True], ids=["unsharded", "sharded"])
def test_tf_imports_our_meta_graph_and_restores(tmp_path: Path, resource: bool,
                                                sharded: bool) -> None:
    prefix = Saver(our_vars(resource), sharded=sharded).save(str(tmp_path / "m"),
                                                             global_step=5)
    assert prefix == str(tmp_path / "m-5")
    with tf.Graph().as_default(), v1.Session() as sess:
        tf_saver = v1.train.import_meta_graph(prefix + ".meta")
        tf_saver.restore(sess, prefix)
        check_values(tf_values(sess, ["w", "scope/b", "s"]))
        # The imported graph also saves: TF writes what we wrote.
        p2 = tf_saver.save(sess, str(tmp_path / "again"), write_meta_graph=False)
        assert v1.train.latest_checkpoint(str(tmp_path)) == p2
        # Initializers from the collections work (initial values = values at export).
        sess.run(v1.global_variables_initializer())
        check_values(tf_values(sess, ["w", "scope/b", "s"]))
    reader = tf.train.load_checkpoint(prefix)
    assert sorted(reader.get_variable_to_shape_map()) == ["s", "scope/b", "w"]
    check_values({k: reader.get_tensor(k) for k in ["w", "scope/b", "s"]})
    with load_checkpoint(str(tmp_path / "again")) as r:
        check_values(dict(r))


def test_tf_restores_our_partitioned_variable(tmp_path: Path) -> None:
    prefix = Saver(partition("emb", FULL, 2)).save(str(tmp_path / "p"))
    assert prefix is not None
    with tf.Graph().as_default(), v1.Session() as sess:
        tf_saver = v1.train.import_meta_graph(prefix + ".meta")
        tf_saver.restore(sess, prefix)
        parts = sess.run([v for v in v1.global_variables()])
        np.testing.assert_array_equal(np.concatenate(parts), FULL)
    with tf.Graph().as_default(), v1.Session() as sess:
        emb = v1.get_variable("emb", shape=[5, 2], partitioner=v1.fixed_size_partitioner(2),
                              initializer=v1.zeros_initializer())
        v1.train.Saver().restore(sess, prefix)
        np.testing.assert_array_equal(sess.run(emb.as_tensor()), FULL)
    np.testing.assert_array_equal(tf.train.load_checkpoint(prefix).get_tensor("emb"), FULL)


# ------------------------------------------------------------- same bytes as TF


@pytest.mark.parametrize("resource", [False, True], ids=["ref", "resource"])
@pytest.mark.parametrize("sharded", [False, True], ids=["unsharded", "sharded"])
def test_same_files_and_graph_as_tf(tmp_path: Path, resource: bool, sharded: bool) -> None:
    ours, theirs = tmp_path / "ours", tmp_path / "tf"
    ours.mkdir()
    theirs.mkdir()
    Saver(our_vars(resource), sharded=sharded).save(str(ours / "m"), global_step=1)
    with tf.Graph().as_default(), v1.Session() as sess:
        tf_graph_vars(resource)
        saver = v1.train.Saver(sharded=sharded)
        sess.run(v1.global_variables_initializer())
        saver.save(sess, str(theirs / "m"), global_step=1)
    for name in ["m-1.index", "m-1.data-00000-of-00001"]:
        assert (ours / name).read_bytes() == (theirs / name).read_bytes(), name
    from tensorflow.core.protobuf import meta_graph_pb2

    mine, tfs = meta_graph_pb2.MetaGraphDef(), meta_graph_pb2.MetaGraphDef()
    mine.ParseFromString((ours / "m-1.meta").read_bytes())
    tfs.ParseFromString((theirs / "m-1.meta").read_bytes())
    tf_nodes = [n for n in tfs.graph_def.node if n.name != "init"]
    assert [n.name for n in mine.graph_def.node] == [n.name for n in tf_nodes]
    for a, b in zip(mine.graph_def.node, tf_nodes, strict=True):
        assert a == b, a.name
    for m in (mine, tfs):
        m.graph_def.ClearField("node")
    assert mine == tfs


# ------------------------------------------------------------- state file


def _tf_save_sequence(base: str, steps: list[int], **kw: Any) -> None:
    with tf.Graph().as_default(), v1.Session() as sess:
        tf_graph_vars(False)
        saver = v1.train.Saver(**kw)
        sess.run(v1.global_variables_initializer())
        for s in steps:
            saver.save(sess, base, global_step=s)


@pytest.mark.parametrize("kw", [{"max_to_keep": 2}, {"max_to_keep": 0},
                                {"max_to_keep": 2, "save_relative_paths": True},
                                {"max_to_keep": 3, "pad_step_number": True}],
                         ids=["keep2", "keep0", "relative", "pad"])
def test_state_file_and_retention_match_tf(tmp_path: Path, kw: dict[str, Any]) -> None:
    steps = [10, 20, 30, 20, 40]
    ours, theirs = tmp_path / "ours", tmp_path / "tf"
    ours.mkdir()
    theirs.mkdir()
    saver = Saver(our_vars(False), **kw)
    for s in steps:
        saver.save(str(ours / "model.ckpt"), global_step=s)
    _tf_save_sequence(str(theirs / "model.ckpt"), steps, **kw)
    assert sorted(os.listdir(ours)) == sorted(os.listdir(theirs))
    expect = (theirs / "checkpoint").read_text().replace(str(theirs), str(ours))
    assert (ours / "checkpoint").read_text() == expect


def test_state_file_relative_save_dir_matches_tf(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    os.mkdir("ours")
    os.mkdir("tf")
    saver = Saver(our_vars(False), max_to_keep=2)
    for s in (1, 2, 3):
        saver.save("ours/model.ckpt", global_step=s)
    _tf_save_sequence("tf/model.ckpt", [1, 2, 3], max_to_keep=2)
    assert Path("ours/checkpoint").read_text() == Path("tf/checkpoint").read_text()
    assert sorted(os.listdir("ours")) == sorted(os.listdir("tf"))


# ------------------------------------------------------------- we read what TF writes


def test_restore_tf_checkpoint_renamed_subset(tmp_path: Path) -> None:
    with tf.Graph().as_default(), v1.Session() as sess:
        w, b, s = tf_graph_vars(True)
        saver = v1.train.Saver({"renamed/w": w, "b": b, "s": s})
        sess.run(v1.global_variables_initializer())
        prefix = saver.save(sess, str(tmp_path / "tf"))
    mine = Variable("anything", np.zeros((2, 3), np.float32))
    out = Saver({"renamed/w": mine, "s": np.array([b""] * 3, dtype=object)}).restore(prefix)
    np.testing.assert_array_equal(mine.value, W)
    assert list(out["s"]) == list(S)
    bb = Variable("b", np.int64(0))
    Saver([bb]).restore(prefix)
    assert bb.value == B


def test_restore_tf_checkpoints_after_retention(tmp_path: Path) -> None:
    base = str(tmp_path / "model.ckpt")
    _tf_save_sequence(base, [1, 2, 3, 4], max_to_keep=2)
    state = v1.train.get_checkpoint_state(str(tmp_path))
    assert list(state.all_model_checkpoint_paths) == [base + "-3", base + "-4"]
    ours = our_vars(False)
    saver = Saver(ours, max_to_keep=2)
    saver.recover_last_checkpoints(list(state.all_model_checkpoint_paths))
    saver.restore(state.model_checkpoint_path)
    check_values({v.name: v.value for v in ours})
    saver.save(base, global_step=5)  # our retention now deletes TF's oldest
    assert not os.path.exists(base + "-3.index") and not os.path.exists(base + "-3.meta")
    assert v1.train.get_checkpoint_state(str(tmp_path)).all_model_checkpoint_paths == [
        base + "-4", base + "-5"]


def test_restore_tf_sharded_two_devices(tmp_path: Path) -> None:
    config = v1.ConfigProto(device_count={"CPU": 2})
    with tf.Graph().as_default(), v1.Session(config=config) as sess:
        with tf.device("/cpu:0"):
            v1.Variable(W, name="w")
        with tf.device("/cpu:1"):
            v1.Variable(B, name="scope/b")
            v1.Variable(S, name="s")
        saver = v1.train.Saver(sharded=True)
        sess.run(v1.global_variables_initializer())
        prefix = saver.save(sess, str(tmp_path / "m"), global_step=3)
    assert sorted(os.listdir(tmp_path))[:3] == ["checkpoint", "m-3.data-00000-of-00002",
                                                "m-3.data-00001-of-00002"]
    ours = our_vars(True)
    Saver(ours).restore(prefix)
    check_values({v.name: v.value for v in ours})


def test_restore_tf_partitioned(tmp_path: Path) -> None:
    with tf.Graph().as_default(), v1.Session() as sess:
        emb = v1.get_variable("emb", shape=[5, 2], partitioner=v1.fixed_size_partitioner(2),
                              initializer=v1.zeros_initializer())
        sess.run(v1.global_variables_initializer())
        for i, part in enumerate(emb):
            part.load(FULL[:3] if i == 0 else FULL[3:], sess)
        prefix = v1.train.Saver().save(sess, str(tmp_path / "p"))
    parts = partition("emb", np.zeros_like(FULL), 2)
    Saver(parts).restore(prefix)
    np.testing.assert_array_equal(np.concatenate([p.value for p in parts]), FULL)
    three = partition("emb", np.zeros_like(FULL), 3)  # other partitioning, same tensor
    Saver(three).restore(prefix)
    np.testing.assert_array_equal(np.concatenate([p.value for p in three]), FULL)
    out = Saver({"emb": np.zeros_like(FULL)}).restore(prefix)
    np.testing.assert_array_equal(out["emb"], FULL)
