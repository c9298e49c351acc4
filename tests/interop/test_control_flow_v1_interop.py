"""TF1 control flow (v1) graphs built by TensorFlow in graph mode, run by our interpreter
and by TensorFlow's Session on the same random inputs (both branches of every cond)."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

import numpy as np
import pytest

from savedmodel_io.errors import InvalidArgumentError
from savedmodel_io.protos import graph_pb2
from savedmodel_io.runtime import GraphRunner

Build = Callable[[Any, dict[str, Any]], dict[str, Any]]


@pytest.fixture(scope="module")
def v1(tf: ModuleType) -> Any:
    tf.compat.v1.disable_control_flow_v2()
    yield tf.compat.v1
    tf.compat.v1.enable_control_flow_v2()


def _compare(tf: ModuleType, v1: Any, specs: dict[str, tuple[Any, list[int | None]]],
             build: Build, feeds_list: list[dict[str, np.ndarray]],
             loops: bool = True) -> None:
    graph = tf.Graph()
    with graph.as_default():
        v1.set_random_seed(3)
        ph = {k: v1.placeholder(dt, shape, name=k) for k, (dt, shape) in specs.items()}
        outputs = build(tf, ph)
        ops = {op.type for op in graph.get_operations()}
        assert {"Switch", "Merge"} <= ops
        assert not loops or {"Enter", "Exit", "NextIteration", "LoopCond"} <= ops
        init = v1.global_variables_initializer()
        with v1.Session(graph=graph) as sess:
            sess.run(init)
            values = {v.op.name: sess.run(v) for v in v1.global_variables()}
            want = [sess.run(outputs, {ph[k]: v for k, v in feeds.items()})
                    for feeds in feeds_list]
        gdef = graph_pb2.GraphDef()
        gdef.ParseFromString(graph.as_graph_def().SerializeToString())
    runner = GraphRunner(gdef)
    if values:  # variables: each one's Assign run with TF's initial value fed to it
        assigns = {n.input[0]: n for n in gdef.node if n.op in ("Assign", "AssignVariableOp")}
        feeds = {_tensor(assigns[k].input[1]): v for k, v in values.items()}
        runner.run([], feeds, [assigns[k].name for k in values])
    names = sorted(outputs)
    for feeds, tf_out in zip(feeds_list, want, strict=True):
        got = runner.run([outputs[k].name for k in names],
                         {f"{k}:0": v for k, v in feeds.items()})
        for k, g in zip(names, got, strict=True):
            w = np.asarray(tf_out[k])
            assert np.asarray(g).dtype == w.dtype, k
            np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6, err_msg=k)


def _tensor(name: str) -> str:
    return name if ":" in name else f"{name}:0"


def test_cond_on_a_placeholder_predicate(tf: ModuleType, v1: Any) -> None:
    rng = np.random.default_rng(1)

    def build(tf: ModuleType, ph: dict[str, Any]) -> dict[str, Any]:
        x, p = ph["x"], ph["p"]
        y = v1.cond(p, lambda: tf.nn.relu(x) * 3.0, lambda: tf.constant(2.0) - x)
        z = v1.cond(tf.reduce_sum(x) > 0, lambda: tf.reduce_mean(x), lambda: tf.constant(0.5))
        return {"y": y, "z": z}

    feeds = [{"x": rng.standard_normal(6).astype(np.float32), "p": np.array(p)}
             for p in (True, False, True, False)]
    _compare(tf, v1, {"x": (tf.float32, [6]), "p": (tf.bool, [])}, build, feeds,
             loops=False)


def test_nested_cond_all_branches(tf: ModuleType, v1: Any) -> None:
    rng = np.random.default_rng(2)

    def build(tf: ModuleType, ph: dict[str, Any]) -> dict[str, Any]:
        x, p, q = ph["x"], ph["p"], ph["q"]
        y = v1.cond(p, lambda: v1.cond(q, lambda: x * x, lambda: x + 1.0),
                    lambda: v1.cond(q, lambda: tf.abs(x), lambda: -x))
        return {"y": y}

    feeds = [{"x": rng.standard_normal((2, 3)).astype(np.float32), "p": np.array(p),
              "q": np.array(q)} for p in (True, False) for q in (True, False)]
    _compare(tf, v1, {"x": (tf.float32, [2, 3]), "p": (tf.bool, []), "q": (tf.bool, [])},
             build, feeds, loops=False)


def test_while_loops_nested_and_with_cond(tf: ModuleType, v1: Any) -> None:
    rng = np.random.default_rng(3)

    def build(tf: ModuleType, ph: dict[str, Any]) -> dict[str, Any]:
        x, n = ph["x"], ph["n"]
        i, acc = v1.while_loop(lambda i, a: i < n,
                               lambda i, a: (i + 1, a * 0.9 + tf.sin(x * tf.cast(i, tf.float32))),
                               [tf.constant(0), tf.zeros_like(x)])

        def outer(i: Any, a: Any) -> tuple[Any, Any]:
            def inner_body(j: Any, b: Any) -> tuple[Any, Any]:
                step = v1.cond(tf.equal(j % 2, 0), lambda: x, lambda: b * 0.5)
                return j + 1, b + step
            _, b = v1.while_loop(lambda j, b: j < i, inner_body, [tf.constant(0), a])
            return i + 1, b

        _, nested = v1.while_loop(lambda i, a: i < n, outer, [tf.constant(0), tf.zeros_like(x)])
        return {"count": i, "acc": acc, "nested": nested}

    feeds = [{"x": rng.standard_normal(4).astype(np.float32), "n": np.array(n, np.int32)}
             for n in (0, 1, 4, 9)]
    _compare(tf, v1, {"x": (tf.float32, [4]), "n": (tf.int32, [])}, build, feeds)


def test_dynamic_rnn(tf: ModuleType, v1: Any) -> None:
    from tensorflow.python.ops import rnn, rnn_cell_impl  # type: ignore[import-untyped]

    rng = np.random.default_rng(4)

    def build(tf: ModuleType, ph: dict[str, Any]) -> dict[str, Any]:
        lstm = rnn_cell_impl.LSTMCell(4, name="lstm")
        out, state = rnn.dynamic_rnn(lstm, ph["x"], sequence_length=ph["n"], dtype=tf.float32,
                                     scope="lstm_rnn")
        basic = rnn_cell_impl.BasicRNNCell(4, name="basic")
        out2, state2 = rnn.dynamic_rnn(basic, ph["x"], dtype=tf.float32, scope="basic_rnn")
        return {"out": out, "c": state.c, "h": state.h, "out2": out2, "state2": state2}

    feeds = [{"x": rng.standard_normal((3, 5, 2)).astype(np.float32),
              "n": np.array([5, 2, 4], np.int32)}]
    _compare(tf, v1, {"x": (tf.float32, [None, 5, 2]), "n": (tf.int32, [None])}, build,
             feeds)


def test_dead_fetch_is_refused_like_tensorflow(tf: ModuleType, v1: Any) -> None:
    from tensorflow.python.ops import control_flow_ops

    graph = tf.Graph()
    with graph.as_default():
        p = v1.placeholder(tf.bool, [], name="p")
        x = tf.constant(1.0)
        _, t = control_flow_ops.switch(x, p)
        y = tf.identity(t * 2.0, name="y")
        with v1.Session(graph=graph) as sess, pytest.raises(tf.errors.InvalidArgumentError):
            sess.run(y, {p: False})
        gdef = graph_pb2.GraphDef()
        gdef.ParseFromString(graph.as_graph_def().SerializeToString())
    runner = GraphRunner(gdef)
    with pytest.raises(InvalidArgumentError, match="not computed"):
        runner.run(["y:0"], {"p:0": np.array(False)})
    assert runner.run(["y:0"], {"p:0": np.array(True)})[0] == 2.0
