"""savedmodel_io.graph against TensorFlow 2.21's ``tf.compat.v1`` graph mode.

The programs of tests/graph/graph_programs.py are built here by TensorFlow too (the
``PROGRAMS`` of tests/data/golden/graph/make_graph_goldens.py) and must give the same
MetaGraphDef; our exports must import and run in TF, and TF's Saver must restore, through
our SaverDef, the values savedmodel_io.train.Saver wrote.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest

from savedmodel_io.graph import Graph
from savedmodel_io.protos import meta_graph_pb2
from savedmodel_io.train.saver import Saver
from savedmodel_io.train.variable import Variable

tf = pytest.importorskip("tensorflow")
v1 = tf.compat.v1
TESTS = Path(__file__).resolve().parents[1]


def _load(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


ours_programs = _load("graph_programs", TESTS / "graph" / "graph_programs.py")
tf_programs = _load("make_graph_goldens", TESTS / "data" / "golden" / "graph" /
                    "make_graph_goldens.py")
goldens = _load("test_graph_goldens", TESTS / "graph" / "test_graph_goldens.py")


def to_ours(tf_meta_graph: Any) -> meta_graph_pb2.MetaGraphDef:
    out = meta_graph_pb2.MetaGraphDef()
    out.ParseFromString(tf_meta_graph.SerializeToString())
    return out


def to_tf(meta_graph: meta_graph_pb2.MetaGraphDef) -> Any:
    out = v1.MetaGraphDef()
    out.ParseFromString(meta_graph.SerializeToString())
    return out


@pytest.mark.parametrize("name", sorted(ours_programs.PROGRAMS))
def test_same_meta_graph_as_tensorflow(name: str) -> None:
    theirs = to_ours(tf_programs.PROGRAMS[name]())
    ours = ours_programs.PROGRAMS[name]()
    assert goldens.diff_meta_graphs(ours, theirs) == []
    assert ours.SerializeToString(deterministic=True) == theirs.SerializeToString(
        deterministic=True)


def _expected_out(x: np.ndarray, w: np.ndarray, b: np.ndarray, s: np.float32) -> np.ndarray:
    z = np.maximum(x @ w + b, 0) * s
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return np.asarray(e / e.sum(axis=1, keepdims=True))


X = np.array([[1.0, -2.0, 0.5], [0.0, 3.0, -1.0]], np.float32)


@pytest.mark.parametrize("sharded", [False, True], ids=["unsharded", "sharded"])
def test_tf_imports_and_runs_our_graph(sharded: bool) -> None:
    g, sd = ours_programs.dense_graph(sharded)
    mg = g.export_meta_graph(saver_def=sd)
    with tf.Graph().as_default() as tg, v1.Session() as sess:
        v1.train.import_meta_graph(to_tf(mg))
        sess.run("init")
        out = sess.run("out:0", feed_dict={"x:0": X})
        assert sorted(v.op.name for v in v1.global_variables()) == ["b", "s", "w"]
        assert sorted(v.op.name for v in v1.trainable_variables()) == ["b", "w"]
        assert tg.get_tensor_by_name("out:0").shape.as_list() == [None, 2]
    np.testing.assert_allclose(out, _expected_out(X, ours_programs.W, ours_programs.B,
                                                  ours_programs.S), rtol=1e-6)


@pytest.mark.parametrize("sharded", [False, True], ids=["unsharded", "sharded"])
def test_tf_restores_values_our_saver_wrote(tmp_path: Path, sharded: bool) -> None:
    g, sd = ours_programs.dense_graph(sharded)
    new = {"w": ours_programs.W * 10 - 1, "b": np.array([3.0, 4.0], np.float32),
           "s": np.float32(0.5)}
    for gv in g.graph_variables:
        gv.assign(new[gv.name])
    prefix = Saver(g.variables, sharded=sharded).save(str(tmp_path / "ckpt"))
    assert prefix is not None
    mg = g.export_meta_graph(saver_def=sd)
    with tf.Graph().as_default(), v1.Session() as sess:
        tf_saver = v1.train.import_meta_graph(to_tf(mg))
        assert tf_saver is not None
        sess.run("init")   # initial values first: the restore must overwrite them
        tf_saver.restore(sess, prefix)
        got = {v.op.name: sess.run(v) for v in v1.global_variables()}
        out = sess.run("out:0", feed_dict={"x:0": X})
        # TF saves through our SaverDef too, and writes the same values.
        again = tf_saver.save(sess, str(tmp_path / "again"), write_meta_graph=False)
    for k, v in new.items():
        np.testing.assert_array_equal(got[k], v)
    np.testing.assert_allclose(out, _expected_out(X, new["w"], new["b"], new["s"]),
                               rtol=1e-6)
    reader = tf.train.load_checkpoint(again)
    for k, v in new.items():
        np.testing.assert_array_equal(reader.get_tensor(k), v)


def test_tf_restores_renamed_key_through_second_saver(tmp_path: Path) -> None:
    g = Graph()
    k = g.variable("kernel", np.zeros((2,), np.float32), resource=True)
    g.add_saver()
    sd = g.add_saver(sharded=True, var_list={"renamed": k})
    assert sd.filename_tensor_name == "save_1/Const:0"
    prefix = Saver({"renamed": Variable("x", np.array([7.0, 8.0], np.float32))}).save(
        str(tmp_path / "r"))
    with tf.Graph().as_default(), v1.Session() as sess:
        tf_saver = v1.train.import_meta_graph(to_tf(g.export_meta_graph(saver_def=sd)))
        tf_saver.restore(sess, prefix)
        np.testing.assert_array_equal(sess.run("kernel/Read/ReadVariableOp:0"), [7.0, 8.0])


def test_parse_example_graph_runs_in_tf() -> None:
    mg = ours_programs.parse_example()
    ex = tf.train.Example(features=tf.train.Features(feature={
        "x": tf.train.Feature(float_list=tf.train.FloatList(value=[1.0, 2.0, 3.0])),
        "s": tf.train.Feature(bytes_list=tf.train.BytesList(value=[b"a", b"b"]))}))
    with tf.Graph().as_default(), v1.Session() as sess:
        v1.train.import_meta_graph(to_tf(mg))
        x, y, values = sess.run(["ParseExample/ParseExampleV2:3", "ParseExample/ParseExampleV2:4",
                                 "ParseExample/ParseExampleV2:1"],
                                feed_dict={"tf_example:0": [ex.SerializeToString()]})
    np.testing.assert_array_equal(x, [[1.0, 2.0, 3.0]])
    np.testing.assert_array_equal(y, [7])
    assert list(values) == [b"a", b"b"]


@pytest.mark.parametrize("clear_devices", [False, True])
def test_train_saver_meta_graph_mixed_variables(tmp_path: Path, clear_devices: bool) -> None:
    """train.Saver's .meta (shared saver_graph code) with ref and resource variables mixed,
    where control input order depends on how TF exports."""
    w = np.ones((2,), np.float32)
    ours = Saver([Variable("w", w), Variable("b", w, resource=True)], sharded=True)
    mine = ours.export_meta_graph(clear_devices=clear_devices)
    with tf.Graph().as_default():
        v1.Variable(w, name="w", use_resource=False)
        v1.Variable(w, name="b", use_resource=True)
        v1.global_variables_initializer()   # marks the initializers as TF's graphs have them
        theirs = to_ours(v1.train.Saver(sharded=True).export_meta_graph(
            clear_devices=clear_devices))
    del theirs.graph_def.node[[n.name for n in theirs.graph_def.node].index("init")]
    assert goldens.diff_meta_graphs(mine, theirs) == []


def test_saver_style_export_sorts_control_inputs() -> None:
    """``sort_control_inputs=True`` gives what ``Saver.export_meta_graph`` (and so
    SavedModelBuilder) writes with ``clear_devices=True``."""
    g, sd = ours_programs.dense_graph(sharded=True)
    ours = g.export_meta_graph(saver_def=sd, clear_devices=True, sort_control_inputs=True)
    tg, saver = tf_programs.dense_graph(True)
    with tg.as_default():
        theirs = to_ours(saver.export_meta_graph(clear_devices=True))
    assert goldens.diff_meta_graphs(ours, theirs) == []
