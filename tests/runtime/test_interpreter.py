"""Graph execution: pruning, feeds, control dependencies, variables, functions, limits,
and the errors for cycles, missing nodes and ops without kernels."""

from __future__ import annotations

import numpy as np
import pytest

from savedmodel_io.dtypes import DataType
from savedmodel_io.errors import (
    FailedPreconditionError,
    InvalidArgumentError,
    NotFoundError,
    ResourceExhaustedError,
    UnimplementedError,
)
from savedmodel_io.runtime import GraphRunner, Limits, supported_ops, unsupported_ops
from savedmodel_io.runtime.interpreter import parse_tensor_name
from tests.runtime.graphs import F32, I32, Func, Shape, const, function, graph, node, placeholder


def add_graph() -> GraphRunner:
    return GraphRunner(graph(
        placeholder("x"), const("two", np.float32(2)),
        node("y", "Mul", ["x", "two"], T=F32),
        node("z", "AddV2", ["y", "x"], T=F32),
        node("unused", "NoSuchOp", ["x"]),  # never needed: no error
    ))


def test_run_prunes_and_feeds_intermediate_tensors() -> None:
    r = add_graph()
    x = np.array([1.0, -2.0], np.float32)
    (z,) = r.run(["z:0"], {"x:0": x})
    assert z.dtype == np.float32 and z.tolist() == [3.0, -6.0]
    # Feeding y replaces its producer: x is only needed by z.
    (z2,) = r.run(["z"], {"y:0": np.float32([10, 10]), "x": x})
    assert z2.tolist() == [11.0, 8.0]
    (y,) = r.run(["y:0"], {"y:0": np.float32([5])})  # a fed tensor is returned as fed
    assert y.tolist() == [5.0]
    assert len(r.plan(["x:0"], ["z:0"])) == 2


def test_unfed_placeholder_names_it() -> None:
    with pytest.raises(InvalidArgumentError,
                       match=r"must feed a value for placeholder tensor 'x' with dtype float"):
        add_graph().run(["z:0"])


def test_unsupported_ops_are_listed_together() -> None:
    g = graph(placeholder("x"), node("a", "FooOp", ["x"]), node("b", "BarOp", ["a"]),
              node("c", "AddV2", ["b", "x"], T=F32))
    with pytest.raises(UnimplementedError, match="no kernel for ops BarOp, FooOp"):
        GraphRunner(g).run(["c:0"], {"x:0": np.float32(1)})
    assert unsupported_ops(g) == ["BarOp", "FooOp"]
    assert {"MatMul", "Conv2D", "ParseExampleV2", "StatefulPartitionedCall"} <= supported_ops()


def test_cycle_is_an_error_not_a_hang() -> None:
    g = graph(placeholder("x"), node("a", "AddV2", ["x", "c"], T=F32),
              node("b", "Neg", ["a"], T=F32), node("c", "Neg", ["b"], T=F32))
    with pytest.raises(InvalidArgumentError, match=r"has a cycle: c -> a -> b -> c"):
        GraphRunner(g).run(["c:0"], {"x:0": np.float32(1)})
    # Feeding a tensor on the cycle breaks it, as in TensorFlow.
    (c,) = GraphRunner(g).run(["c:0"], {"x:0": np.float32(1), "a:0": np.float32(3)})
    assert c == 3


def test_missing_nodes_and_bad_names() -> None:
    g = graph(placeholder("x"), node("y", "Neg", ["nowhere:0"], T=F32))
    with pytest.raises(NotFoundError, match="'y' takes an input from 'nowhere'"):
        GraphRunner(g).run(["y:0"])
    with pytest.raises(NotFoundError, match="no node 'zzz'"):
        GraphRunner(g).run(["zzz:0"])
    with pytest.raises(NotFoundError, match="cannot feed q:0"):
        GraphRunner(g).run(["x:0"], {"q:0": 1.0})
    g2 = graph(placeholder("x"), node("y", "Neg", ["x:3"], T=F32))
    with pytest.raises(InvalidArgumentError, match="output 3 of 'x'"):
        GraphRunner(g2).run(["y:0"], {"x:0": np.float32(1)})
    with pytest.raises(InvalidArgumentError, match="two nodes are named"):
        GraphRunner(graph(placeholder("x"), placeholder("x")))
    with pytest.raises(InvalidArgumentError, match="malformed"):
        parse_tensor_name("a:b:c")
    assert parse_tensor_name("scope/x:12") == ("scope/x", 12)


def test_control_dependencies_order_side_effects() -> None:
    # v = VariableV2; assign 5 then read; the read waits for the assign.
    g = graph(
        node("v", "VariableV2", dtype=F32, shape=Shape([])),
        const("five", np.float32(5)), const("one", np.float32(1)),
        node("assign", "Assign", ["v", "five"], T=F32),
        node("read", "Identity", ["v", "^assign"], T=F32),
        node("incr", "AssignAdd", ["v", "one"], T=F32),
        node("uninit", "VariableV2", dtype=F32, shape=Shape([2])),
        node("bad", "Identity", ["uninit"], T=F32),
        node("is_init", "IsVariableInitialized", ["uninit"], dtype=F32),
    )
    r = GraphRunner(g)
    assert r.run(["read:0"]) == [5.0]
    assert r.run(["incr:0"]) == [6.0]  # a ref output is read when fetched
    assert r.run(["v:0"]) == [6.0]  # state persists between runs
    assert r.run(["is_init:0"])[0].item() is False
    with pytest.raises(FailedPreconditionError, match="uninitialized value uninit"):
        r.run(["bad:0"])
    with pytest.raises(InvalidArgumentError, match="must be a reference variable"):
        GraphRunner(graph(const("a", np.float32(1)), node("x", "Assign", ["a", "a"], T=F32))
                    ).run(["x:0"])


def test_resource_variables_share_by_name() -> None:
    g = graph(
        node("h1", "VarHandleOp", dtype=F32, shape=Shape([2]), shared_name="w"),
        node("h2", "VarHandleOp", dtype=F32, shape=Shape([2]), shared_name="w"),
        const("val", np.float32([1, 2])),
        node("assign", "AssignVariableOp", ["h1", "val"], dtype=F32),
        node("read", "ReadVariableOp", ["h2", "^assign"], dtype=F32),
        node("init", "VarIsInitializedOp", ["h2"]),
    )
    r = GraphRunner(g)
    assert r.run(["init:0"])[0].item() is False
    out = r.run(["read:0"])[0]
    assert out.tolist() == [1.0, 2.0]
    out2 = r.run(["read:0"])[0]
    assert not out2.flags.writeable  # variable values are never written in place


def test_function_calls_if_while() -> None:
    double = function("double", [("a", F32)], [("out", F32)],
                      [const("k", np.float32(2)), node("m", "Mul", ["a", "k:output:0"], T=F32)],
                      {"out": "m:z:0"})
    is_pos = function("cond", [("i", I32), ("s", F32)], [("c", DataType.DT_BOOL)],
                      [const("n", np.int32(4)), node("lt", "Less", ["i", "n:output:0"], T=I32)],
                      {"c": "lt:z:0"})
    body = function("body", [("i", I32), ("s", F32)], [("i2", I32), ("s2", F32)],
                    [const("one", np.int32(1)), node("inc", "AddV2", ["i", "one:output:0"], T=I32),
                     node("call", "double", ["s"])],
                    {"i2": "inc:z:0", "s2": "call:out:0"})
    g = graph(
        placeholder("x"), const("zero", np.int32(0)),
        node("c1", "StatefulPartitionedCall", ["x"], f=Func("double"), Tin=[F32], Tout=[F32]),
        node("p", "Greater", ["x", "zero_f"], T=F32), const("zero_f", np.float32(0)),
        node("if", "StatelessIf", ["p", "x"], then_branch=Func("double"),
             else_branch=Func("double"), Tin=[F32], Tout=[F32]),
        node("loop", "While", ["zero", "x"], cond=Func("cond"), body=Func("body"),
             T=[I32, F32]),
        functions=[double, is_pos, body])
    r = GraphRunner(g)
    c1, f, (w) = r.run(["c1:0", "if:0", "loop:1"], {"x:0": np.float32(3)})
    assert (c1, f, w) == (6.0, 6.0, 48.0)
    assert r.run(["loop:0"], {"x:0": np.float32(1)})[0] == 4


def test_recursive_and_deep_libraries_are_refused() -> None:
    f = function("f", [("a", F32)], [("o", F32)], [node("c", "g", ["a"])], {"o": "c:o:0"})
    g_ = function("g", [("a", F32)], [("o", F32)], [node("c", "f", ["a"])], {"o": "c:o:0"})
    g = graph(placeholder("x"), node("y", "f", ["x"]), functions=[f, g_])
    with pytest.raises(InvalidArgumentError, match="recursive: f -> g -> f"):
        GraphRunner(g).run(["y:0"], {"x:0": np.float32(1)})
    chain = [function(f"f{i}", [("a", F32)], [("o", F32)],
                      [node("c", f"f{i + 1}", ["a"])] if i < 99 else
                      [node("c", "Neg", ["a"], T=F32)],
                      {"o": "c:o:0" if i < 99 else "c:y:0"}) for i in range(100)]
    deep = graph(placeholder("x"), node("y", "f0", ["x"]), functions=chain)
    with pytest.raises(ResourceExhaustedError, match="nest deeper than 64"):
        GraphRunner(deep).run(["y:0"], {"x:0": np.float32(1)})
    assert GraphRunner(deep, limits=Limits(max_call_depth=200)).run(
        ["y:0"], {"x:0": np.float32(1)}) == [-1.0]


def test_endless_while_loop_stops() -> None:
    cond = function("cond", [("i", I32)], [("c", DataType.DT_BOOL)],
                    [const("t", np.bool_(True))], {"c": "t:output:0"})
    body = function("body", [("i", I32)], [("o", I32)], [], {"o": "i"})
    g = graph(const("zero", np.int32(0)),
              node("loop", "While", ["zero"], cond=Func("cond"), body=Func("body"), T=[I32]),
              functions=[cond, body])
    with pytest.raises(ResourceExhaustedError, match="did not finish within 1000 iterations"):
        GraphRunner(g, limits=Limits(max_loop_iterations=1000)).run(["loop:0"])


@pytest.mark.parametrize("nodes, fetch", [
    ([const("d", np.array([100000, 100000], np.int32)), const("v", np.float32(0)),
      node("f", "Fill", ["d", "v"], T=F32)], "f:0"),
    ([const("s", np.int64(0)), const("l", np.int64(10**12)), const("d", np.int64(1)),
      node("r", "Range", ["s", "l", "d"], Tidx=DataType.DT_INT64)], "r:0"),
    ([const("x", np.ones((10, 10), np.float32)), const("m", np.array([10**5, 10**4], np.int32)),
      node("t", "Tile", ["x", "m"], T=F32)], "t:0"),
    ([const("a", np.ones((100000, 1), np.float32)), const("b", np.ones((1, 100000), np.float32)),
      node("c", "AddV2", ["a", "b"], T=F32)], "c:0"),
])
def test_huge_allocations_are_refused(nodes: list[object], fetch: str) -> None:
    with pytest.raises(ResourceExhaustedError, match="more than the limit"):
        GraphRunner(graph(*nodes)).run([fetch])  # type: ignore[arg-type]


def test_kernel_errors_name_the_node() -> None:
    g = graph(placeholder("a"), placeholder("b"), node("sum", "AddV2", ["a", "b"], T=F32),
              node("mm", "MatMul", ["a", "b"], T=F32),
              node("check", "CheckNumerics", ["a"], T=F32, message="bad a"),
              node("div", "Div", ["ia", "ib"], T=I32), placeholder("ia", I32),
              placeholder("ib", I32))
    r = GraphRunner(g)
    feeds = {"a:0": np.ones((2, 3), np.float32), "b:0": np.ones((4,), np.float32)}
    with pytest.raises(InvalidArgumentError,
                       match=r"node 'sum' \(AddV2\): Incompatible shapes: \[2,3\] vs. \[4\]"):
        r.run(["sum:0"], feeds)
    with pytest.raises(InvalidArgumentError, match=r"node 'mm' \(MatMul\): In\[0\] and In\[1\]"):
        r.run(["mm:0"], feeds)
    with pytest.raises(InvalidArgumentError, match="bad a : Tensor had NaN values"):
        r.run(["check:0"], {"a:0": np.array([1, np.nan], np.float32)})
    with pytest.raises(InvalidArgumentError, match="Integer division by zero"):
        r.run(["div:0"], {"ia:0": np.int32([1]), "ib:0": np.int32([0])})


def test_inputs_still_needed_are_never_overwritten() -> None:
    # n feeds Relu (which may work in place on an input used for the last time) and AddV2;
    # t + t passes one array twice. Every output must equal the plain numpy formula.
    g = graph(placeholder("x"), const("bias", np.float32([0.5, -1.0])),
              node("n", "Neg", ["x"], T=F32), node("r", "Relu", ["n"], T=F32),
              node("s", "AddV2", ["n", "r"], T=F32), node("t", "Tanh", ["s"], T=F32),
              node("u", "AddV2", ["t", "t"], T=F32), node("b", "BiasAdd", ["u", "bias"], T=F32),
              node("e", "Exp", ["b"], T=F32))
    x = np.array([[1.0, -2.0], [0.25, 3.0]], np.float32)
    before = x.copy()
    n, r, s, e = GraphRunner(g).run(["n:0", "r:0", "s:0", "e:0"], {"x:0": x})
    np.testing.assert_array_equal(x, before)  # fed arrays are not touched
    np.testing.assert_array_equal(n, -x)
    np.testing.assert_array_equal(r, np.maximum(-x, 0))
    np.testing.assert_array_equal(s, -x + np.maximum(-x, 0))
    np.testing.assert_allclose(e, np.exp(2 * np.tanh(s) + np.float32([0.5, -1.0])), rtol=1e-6)
