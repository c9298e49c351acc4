"""TF1 control flow (v1) on hand-built GraphDefs: dead tensors, Merge, while-loop frames,
TensorArrayV3, malformed frames and the iteration limit."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from savedmodel_io.dtypes import DataType
from savedmodel_io.errors import (
    InvalidArgumentError,
    ResourceExhaustedError,
    SavedModelIOError,
    UnimplementedError,
)
from savedmodel_io.protos import node_def_pb2
from savedmodel_io.runtime import GraphRunner, Limits
from savedmodel_io.runtime.control_flow_v1 import DeadAwarePlan
from savedmodel_io.runtime.interpreter import Plan
from tests.runtime.graphs import F32, I32, const, graph, node, placeholder

B = np.array(True), np.array(False)
NodeList = list[node_def_pb2.NodeDef]


def run(nodes: NodeList, fetches: list[str], feeds: dict[str, object],
        limits: Limits | None = None) -> list[np.ndarray]:
    return GraphRunner(graph(*nodes), limits=limits).run(fetches, feeds)


def cond_graph() -> NodeList:
    """y = cond(p, x * 2, [7, 8, 9]) the way tf.compat.v1.cond builds it."""
    return [
        placeholder("p", DataType.DT_BOOL, []), placeholder("x", F32, [3]),
        node("sw_p", "Switch", ["p", "p"]),
        node("t", "Identity", ["sw_p:1"]), node("f", "Identity", ["sw_p:0"]),
        node("sw_x", "Switch", ["x", "p"]),
        node("two", "Const", ["^t"], value=np.array(2, np.float32), dtype=F32),
        node("mul", "Mul", ["sw_x:1", "two"]),
        node("c", "Const", ["^f"], value=np.array([7, 8, 9], np.float32), dtype=F32),
        node("y", "Merge", ["c", "mul"], N=2),
    ]


def test_switch_routes_data_and_merge_forwards_the_live_input() -> None:
    x = np.array([1, 2, 3], np.float32)
    y, idx = run(cond_graph(), ["y:0", "y:1"], {"p:0": B[0], "x:0": x})
    np.testing.assert_array_equal(y, x * 2)
    assert idx.dtype == np.int32 and int(idx) == 1
    y, idx = run(cond_graph(), ["y:0", "y:1"], {"p:0": B[1], "x:0": x})
    # The constant under ^f is live only when the false branch is taken.
    np.testing.assert_array_equal(y, [7, 8, 9])
    assert int(idx) == 0
    false_out, = run(cond_graph(), ["sw_x:0"], {"p:0": B[1], "x:0": x})
    np.testing.assert_array_equal(false_out, x)


def test_fetching_a_dead_tensor_is_an_error() -> None:
    x = np.ones(3, np.float32)
    with pytest.raises(InvalidArgumentError, match="mul:0 was not computed.*not taken"):
        run(cond_graph(), ["mul:0"], {"p:0": B[1], "x:0": x})
    with pytest.raises(InvalidArgumentError, match="sw_x:0 was not computed"):
        run(cond_graph(), ["sw_x:0"], {"p:0": B[0], "x:0": x})


def test_dead_control_input_kills_a_node_and_its_kernel_does_not_run() -> None:
    nodes = [
        placeholder("p", DataType.DT_BOOL, []), placeholder("x", F32, [3]),
        node("sw", "Switch", ["x", "p"]),
        node("pivot", "Identity", ["sw:1"]),
        # Would fail if it ran: 3 elements cannot become shape [7].
        const("bad_shape", np.array([7], np.int32)),
        node("bad", "Reshape", ["x", "bad_shape", "^pivot"]),
        node("ok", "Identity", ["sw:0"]),
        node("out", "Merge", ["bad", "ok"], N=2),
    ]
    x = np.arange(3, dtype=np.float32)
    out, idx = run(nodes, ["out:0", "out:1"], {"p:0": B[1], "x:0": x})
    np.testing.assert_array_equal(out, x)
    assert int(idx) == 1
    with pytest.raises(InvalidArgumentError, match="bad"):
        run(nodes, ["out:0"], {"p:0": B[0], "x:0": x})


def test_merge_of_only_dead_inputs_is_dead() -> None:
    nodes = [placeholder("p", DataType.DT_BOOL, []), placeholder("x", F32, []),
             node("sw", "Switch", ["x", "p"]),
             node("a", "Neg", ["sw:1"]), node("b", "Abs", ["sw:1"]),
             node("m", "Merge", ["a", "b"], N=2), node("after", "Neg", ["m"])]
    out, = run(nodes, ["after:0"], {"p:0": B[0], "x:0": np.float32(-2)})
    assert out == -2  # Neg(Neg(-2)): Merge took its first input
    with pytest.raises(InvalidArgumentError, match="after:0 was not computed"):
        run(nodes, ["after:0"], {"p:0": B[1], "x:0": np.float32(-2)})


def test_nested_cond() -> None:
    nodes = [placeholder("p", DataType.DT_BOOL, []), placeholder("q", DataType.DT_BOOL, []),
             placeholder("x", F32, []),
             node("s1", "Switch", ["x", "p"]),
             node("s2", "Switch", ["s1:1", "q"]),  # inner cond in the true branch
             node("tt", "Mul", ["s2:1", "s2:1"]), node("tf", "Neg", ["s2:0"]),
             node("m_in", "Merge", ["tf", "tt"], N=2),
             node("f", "Abs", ["s1:0"]),
             node("y", "Merge", ["f", "m_in"], N=2)]
    x = np.float32(-3)
    want = {(True, True): 9, (True, False): 3, (False, True): 3, (False, False): 3}
    for (p, q), expected in want.items():
        y, = run(nodes, ["y:0"], {"p:0": np.array(p), "q:0": np.array(q), "x:0": x})
        assert y == expected, (p, q)


def test_switch_predicate_must_be_a_bool_scalar() -> None:
    nodes = [placeholder("p", I32, []), placeholder("x", F32, []),
             node("sw", "Switch", ["x", "p"])]
    with pytest.raises(InvalidArgumentError, match="pred must be bool"):
        run(nodes, ["sw:0"], {"p:0": np.int32(1), "x:0": np.float32(1)})


def test_plans_without_switch_stay_plain() -> None:
    nodes = [placeholder("x", F32, []), node("y", "Neg", ["x"])]
    assert type(GraphRunner(graph(*nodes)).plan(["x:0"], ["y:0"])) is Plan
    assert isinstance(GraphRunner(graph(*cond_graph())).plan(["p:0", "x:0"], ["y:0"]),
                      DeadAwarePlan)


# ------------------------------------------------------------------ while loops

Cond = Callable[[list[str], dict[str, str]], tuple[NodeList, str]]
Body = Callable[[list[str], dict[str, str]], tuple[NodeList, list[str]]]


def while_loop(prefix: str, inits: list[str], invariants: dict[str, str],
               cond: Cond, body: Body, *, frame: str | None = None
               ) -> tuple[NodeList, list[str]]:
    """Nodes of a TF1 while loop as tf.compat.v1.while_loop lays it out; returns the nodes
    and the Exit names. ``cond`` gets the Merge names, ``body`` the Identity names (both
    also the invariant Enter names by key); ``cond`` returns its nodes and the predicate,
    ``body`` its nodes and the next values."""
    frame = frame or f"{prefix}/ctx"
    n = len(inits)
    nodes: NodeList = []
    for k, src in enumerate(inits):
        nodes.append(node(f"{prefix}/Enter_{k}", "Enter", [src], frame_name=frame))
        nodes.append(node(f"{prefix}/Merge_{k}", "Merge",
                          [f"{prefix}/Enter_{k}", f"{prefix}/Next_{k}"], N=2))
    inv = {}
    for key, src in invariants.items():
        inv[key] = f"{prefix}/Inv_{key}"
        nodes.append(node(inv[key], "Enter", [src], frame_name=frame, is_constant=True))
    cond_nodes, pred = cond([f"{prefix}/Merge_{k}" for k in range(n)], inv)
    nodes += cond_nodes
    nodes.append(node(f"{prefix}/LoopCond", "LoopCond", [pred]))
    for k in range(n):
        nodes.append(node(f"{prefix}/Switch_{k}", "Switch",
                          [f"{prefix}/Merge_{k}", f"{prefix}/LoopCond"]))
        nodes.append(node(f"{prefix}/Exit_{k}", "Exit", [f"{prefix}/Switch_{k}:0"]))
        nodes.append(node(f"{prefix}/Id_{k}", "Identity", [f"{prefix}/Switch_{k}:1"]))
    body_nodes, nexts = body([f"{prefix}/Id_{k}" for k in range(n)], inv)
    nodes += body_nodes
    for k, src in enumerate(nexts):
        nodes.append(node(f"{prefix}/Next_{k}", "NextIteration", [src]))
    return nodes, [f"{prefix}/Exit_{k}" for k in range(n)]


def less_than(key: str, prefix: str) -> Cond:
    def cond(merges: list[str], inv: dict[str, str]) -> tuple[NodeList, str]:
        return [node(f"{prefix}/less", "Less", [merges[0], inv[key]])], f"{prefix}/less"
    return cond


def counter_body(prefix: str) -> Body:
    """(i, acc) -> (i + 1, acc + i)."""
    def body(ids: list[str], inv: dict[str, str]) -> tuple[NodeList, list[str]]:
        return [node(f"{prefix}/one", "Const", [f"^{ids[0]}"], value=np.array(1, np.int32),
                     dtype=I32),
                node(f"{prefix}/inc", "AddV2", [ids[0], f"{prefix}/one"]),
                node(f"{prefix}/acc", "AddV2", [ids[1], ids[0]])], \
            [f"{prefix}/inc", f"{prefix}/acc"]
    return body


def counter_graph() -> NodeList:
    loop, exits = while_loop("w", ["zero", "zero"], {"n": "n"}, less_than("n", "w"),
                             counter_body("w"))
    return [placeholder("n", I32, []), const("zero", np.int32(0)), *loop,
            node("count", "Identity", [exits[0]]), node("total", "Identity", [exits[1]])]


@pytest.mark.parametrize("n", [0, 1, 5, 40])
def test_while_counter(n: int) -> None:
    count, total = run(counter_graph(), ["count:0", "total:0"], {"n:0": np.int32(n)})
    assert count.dtype == np.int32
    assert int(count) == n and int(total) == n * (n - 1) // 2


def test_fetching_only_one_exit_prunes_nothing_needed() -> None:
    total, = run(counter_graph(), ["w/Exit_1:0"], {"n:0": np.int32(4)})
    assert int(total) == 6


def test_loop_invariant_enter_carries_a_tensor_into_every_iteration() -> None:
    def body(ids: list[str], inv: dict[str, str]) -> tuple[NodeList, list[str]]:
        return [node("w/one", "Const", [f"^{ids[0]}"], value=np.array(1, np.int32), dtype=I32),
                node("w/inc", "AddV2", [ids[0], "w/one"]),
                node("w/acc", "AddV2", [ids[1], inv["x"]])], ["w/inc", "w/acc"]

    loop, exits = while_loop("w", ["zero", "zx"], {"n": "n", "x": "x"}, less_than("n", "w"),
                             body)
    nodes = [placeholder("n", I32, []), placeholder("x", F32, [2]), const("zero", np.int32(0)),
             const("zx", np.zeros(2, np.float32)), *loop]
    x = np.array([1.5, -2], np.float32)
    out, = run(nodes, [f"{exits[1]}:0"], {"n:0": np.int32(3), "x:0": x})
    np.testing.assert_array_equal(out, 3 * x)


def nested_graph() -> NodeList:
    """for i < n: for j < i: acc += 1 -> n(n-1)/2, the inner loop inside the outer body."""
    def outer_body(ids: list[str], inv: dict[str, str]) -> tuple[NodeList, list[str]]:
        def inner_cond(merges: list[str], iv: dict[str, str]) -> tuple[NodeList, str]:
            return [node("o/i/less", "Less", [merges[0], iv["i"]])], "o/i/less"

        def inner_body(jds: list[str], iv: dict[str, str]) -> tuple[NodeList, list[str]]:
            return [node("o/i/one", "Const", [f"^{jds[0]}"], value=np.array(1, np.int32),
                         dtype=I32),
                    node("o/i/inc", "AddV2", [jds[0], "o/i/one"]),
                    node("o/i/acc", "AddV2", [jds[1], "o/i/one"])], ["o/i/inc", "o/i/acc"]

        zero = node("o/zero", "Const", [f"^{ids[0]}"], value=np.array(0, np.int32), dtype=I32)
        inner, exits = while_loop("o/i", ["o/zero", ids[1]], {"i": ids[0]}, inner_cond,
                                  inner_body)
        return [zero, *inner,
                node("o/one", "Const", [f"^{ids[0]}"], value=np.array(1, np.int32), dtype=I32),
                node("o/inc", "AddV2", [ids[0], "o/one"])], ["o/inc", exits[1]]

    loop, exits = while_loop("o", ["zero", "zero"], {"n": "n"}, less_than("n", "o"),
                             outer_body)
    return [placeholder("n", I32, []), const("zero", np.int32(0)), *loop,
            node("total", "Identity", [exits[1]])]


@pytest.mark.parametrize("n", [0, 1, 2, 6])
def test_nested_while(n: int) -> None:
    total, = run(nested_graph(), ["total:0"], {"n:0": np.int32(n)})
    assert int(total) == n * (n - 1) // 2


def test_cond_inside_a_loop() -> None:
    """acc += i if i is even else -1."""
    def body(ids: list[str], inv: dict[str, str]) -> tuple[NodeList, list[str]]:
        return [node("w/one", "Const", [f"^{ids[0]}"], value=np.array(1, np.int32), dtype=I32),
                node("w/two", "Const", [f"^{ids[0]}"], value=np.array(2, np.int32), dtype=I32),
                node("w/inc", "AddV2", [ids[0], "w/one"]),
                node("w/mod", "FloorMod", [ids[0], "w/two"]),
                node("w/zero", "Const", [f"^{ids[0]}"], value=np.array(0, np.int32), dtype=I32),
                node("w/even", "Equal", ["w/mod", "w/zero"]),
                node("w/sw", "Switch", [ids[0], "w/even"]),
                node("w/t", "Identity", ["w/sw:1"]),
                node("w/fpivot", "Identity", ["w/sw:0"]),
                node("w/minus", "Const", ["^w/fpivot"], value=np.array(-1, np.int32), dtype=I32),
                node("w/m", "Merge", ["w/minus", "w/t"], N=2),
                node("w/acc", "AddV2", [ids[1], "w/m"])], ["w/inc", "w/acc"]

    loop, exits = while_loop("w", ["zero", "zero"], {"n": "n"}, less_than("n", "w"), body)
    nodes = [placeholder("n", I32, []), const("zero", np.int32(0)), *loop]
    for n in (0, 1, 6, 7):
        total, = run(nodes, [f"{exits[1]}:0"], {"n:0": np.int32(n)})
        assert int(total) == sum(i if i % 2 == 0 else -1 for i in range(n)), n


def test_loop_in_an_untaken_branch_does_not_run() -> None:
    loop, exits = while_loop("w", ["sw_n:1", "sw_n:1"], {"n": "sw_n:1"}, less_than("n", "w"),
                             counter_body("w"))
    nodes = [placeholder("p", DataType.DT_BOOL, []), placeholder("n", I32, []),
             node("sw_n", "Switch", ["n", "p"]), *loop,
             node("neg", "Neg", ["sw_n:0"]), node("out", "Merge", ["neg", exits[0]], N=2)]
    # Limit 1: had the untaken loop run it would hit the limit (it starts at n, stops at n).
    out, = run(nodes, ["out:0"], {"p:0": B[1], "n:0": np.int32(5)}, Limits(max_loop_iterations=1))
    assert int(out) == -5
    out, = run(nodes, ["out:0"], {"p:0": B[0], "n:0": np.int32(5)})
    assert int(out) == 5


def always_true(merges: list[str], inv: dict[str, str]) -> tuple[NodeList, str]:
    return [node("w/true", "Const", [f"^{merges[0]}"], value=np.array(True),
                 dtype=DataType.DT_BOOL)], "w/true"


def test_infinite_loop_stops_at_the_iteration_limit() -> None:
    loop, exits = while_loop("w", ["zero", "zero"], {}, always_true, counter_body("w"))
    nodes = [const("zero", np.int32(0)), *loop]
    with pytest.raises(ResourceExhaustedError, match="did not finish within 50 iterations"):
        run(nodes, [f"{exits[0]}:0"], {}, Limits(max_loop_iterations=50))


def test_nested_loops_share_the_total_iteration_budget() -> None:
    limits = Limits(max_loop_iterations=1000, max_total_iterations=20)
    total, = run(nested_graph(), ["total:0"], {"n:0": np.int32(5)}, limits)  # 5 + 10 = 15
    assert int(total) == 10
    with pytest.raises(ResourceExhaustedError, match="total iteration budget"):
        run(nested_graph(), ["total:0"], {"n:0": np.int32(7)}, limits)  # 7 + 21


# ------------------------------------------------------------------ malformed frames


def test_value_leaving_a_frame_without_exit_is_an_error() -> None:
    nodes = counter_graph() + [node("leak", "AddV2", ["w/inc", "count"])]
    with pytest.raises(InvalidArgumentError, match="'leak'.*'w/inc'.*without an Exit"):
        run(nodes, ["leak:0"], {"n:0": np.int32(3)})
    nodes = counter_graph() + [node("inside", "Neg", ["w/inc"])]
    with pytest.raises(UnimplementedError, match="inside:0 is inside while loop frame"):
        run(nodes, ["inside:0"], {"n:0": np.int32(3)})


def test_enter_without_exit_is_an_error() -> None:
    nodes = [placeholder("n", I32, []), node("e", "Enter", ["n"], frame_name="f"),
             node("m", "Merge", ["e", "nx"], N=2), node("less", "Less", ["m", "m"]),
             node("lc", "LoopCond", ["less"]), node("sw", "Switch", ["m", "lc"]),
             node("id", "Identity", ["sw:1"]), node("nx", "NextIteration", ["id"]),
             node("done", "Identity", ["sw:0"])]
    with pytest.raises(InvalidArgumentError, match="frame 'f' .*'e'.* has no Exit"):
        run(nodes, ["done:0"], {"n:0": np.int32(3)})


def test_next_iteration_must_feed_a_merge() -> None:
    nodes = counter_graph() + [node("bad", "Neg", ["w/Next_0"])]
    with pytest.raises(InvalidArgumentError, match="NextIteration node 'w/Next_0' feeds 'bad'"):
        run(nodes, ["bad:0"], {"n:0": np.int32(3)})


def test_mismatched_frames_are_named() -> None:
    first, _ = while_loop("a", ["zero", "zero"], {"n": "n"}, less_than("n", "a"),
                          counter_body("a"))
    second, exits = while_loop("b", ["zero", "zero"], {"n": "n"}, less_than("n", "b"),
                               counter_body("b"))
    nodes = [placeholder("n", I32, []), const("zero", np.int32(0)), *first, *second]
    for nd in nodes:  # b's body adds a value from a's body
        if nd.name == "b/acc":
            nd.input[1] = "a/Id_0"
    with pytest.raises(InvalidArgumentError, match="mismatched frames.*'b/acc'"):
        run(nodes, [f"{exits[1]}:0"], {"n:0": np.int32(3)})


def test_frame_without_loop_cond_is_an_error() -> None:
    nodes = counter_graph()
    for nd in nodes:
        if nd.op == "LoopCond":
            nd.op = "Identity"
    with pytest.raises(InvalidArgumentError, match="frame 'w/ctx' has 0 LoopCond"):
        run(nodes, ["count:0"], {"n:0": np.int32(3)})


def test_loop_merge_needs_an_enter_of_its_frame() -> None:
    nodes = counter_graph()
    for nd in nodes:
        if nd.name == "w/Merge_0":
            nd.input[0] = "zero"
    with pytest.raises(SavedModelIOError, match="w/Merge_0"):
        run(nodes, ["count:0"], {"n:0": np.int32(3)})


def test_fetching_inside_a_loop_is_refused() -> None:
    with pytest.raises(UnimplementedError, match="w/inc:0 is inside while loop frame"):
        run(counter_graph(), ["w/inc:0"], {"n:0": np.int32(3)})


def test_cycle_without_next_iteration_is_an_error() -> None:
    nodes = [node("a", "Neg", ["b"]), node("b", "Neg", ["a"]),
             node("e", "Enter", ["a"], frame_name="f")]
    with pytest.raises(InvalidArgumentError, match="cycle"):
        run(nodes, ["e:0"], {})


# ------------------------------------------------------------------ TensorArrayV3


def ta_nodes(dynamic: bool = False) -> NodeList:
    return [const("size", np.int32(2)),
            node("ta", "TensorArrayV3", ["size"], dtype=F32, dynamic_size=dynamic),
            placeholder("v", F32, [3]), const("i0", np.int32(0)), const("i1", np.int32(1)),
            node("w0", "TensorArrayWriteV3", ["ta", "i0", "v", "ta:1"], T=F32),
            node("neg", "Neg", ["v"]),
            node("w1", "TensorArrayWriteV3", ["ta", "i1", "neg", "w0"], T=F32),
            const("idx", np.array([1, 0], np.int32)),
            node("g", "TensorArrayGatherV3", ["ta", "idx", "w1"], dtype=F32),
            node("size_out", "TensorArraySizeV3", ["ta", "w1"])]


def test_tensor_array_write_gather_size() -> None:
    v = np.array([1, 2, 3], np.float32)
    g, size = run(ta_nodes(), ["g:0", "size_out:0"], {"v:0": v})
    np.testing.assert_array_equal(g, np.stack([-v, v]))
    assert size.dtype == np.int32 and int(size) == 2


def test_tensor_array_refuses_bad_writes() -> None:
    v = np.ones(3, np.float32)
    nodes = ta_nodes() + [const("i5", np.int32(5)),
                          node("w5", "TensorArrayWriteV3", ["ta", "i5", "v", "w1"], T=F32)]
    with pytest.raises(InvalidArgumentError, match="index 5: its size is 2"):
        run(nodes, ["w5:0"], {"v:0": v})
    nodes = ta_nodes() + [node("again", "TensorArrayWriteV3", ["ta", "i0", "v", "w1"], T=F32)]
    with pytest.raises(InvalidArgumentError, match="already been written"):
        run(nodes, ["again:0"], {"v:0": v})
    nodes = ta_nodes(dynamic=True) + [
        const("i5", np.int32(5)),
        node("w5", "TensorArrayWriteV3", ["ta", "i5", "v", "w1"], T=F32),
        node("size5", "TensorArraySizeV3", ["ta", "w5"])]
    size, = run(nodes, ["size5:0"], {"v:0": v})
    assert int(size) == 6


def test_loops_nested_past_the_depth_limit_are_refused() -> None:
    limits = Limits(max_call_depth=1)
    with pytest.raises(ResourceExhaustedError, match="while loops nest deeper than 1"):
        run(nested_graph(), ["total:0"], {"n:0": np.int32(2)}, limits)
    total, = run(counter_graph(), ["total:0"], {"n:0": np.int32(3)}, limits)
    assert int(total) == 3


def test_frames_entering_each_other_do_not_hang() -> None:
    nodes = [const("zero", np.int32(0)),
             node("ea", "Enter", ["xb"], frame_name="a"), node("xa", "Neg", ["ea"]),
             node("eb", "Enter", ["xa"], frame_name="b"), node("xb", "Neg", ["eb"])]
    with pytest.raises(InvalidArgumentError):
        run(nodes, ["xb:0"], {})


def test_tensor_array_scatter_read_concat() -> None:
    nodes = [const("size", np.int32(3)),
             node("ta", "TensorArrayV3", ["size"], dtype=F32, clear_after_read=False),
             placeholder("v", F32, [3, 2]), const("idx", np.array([2, 0, 1], np.int32)),
             node("sc", "TensorArrayScatterV3", ["ta", "idx", "v", "ta:1"], T=F32),
             const("i2", np.int32(2)),
             node("r", "TensorArrayReadV3", ["ta", "i2", "sc"], dtype=F32),
             node("cat", "TensorArrayConcatV3", ["ta", "sc"], dtype=F32)]
    v = np.arange(6, dtype=np.float32).reshape(3, 2)
    r, cat, lengths = run(nodes, ["r:0", "cat:0", "cat:1"], {"v:0": v})
    np.testing.assert_array_equal(r, v[0])
    np.testing.assert_array_equal(cat, np.concatenate([v[1], v[2], v[0]]))
    assert lengths.dtype == np.int64 and list(lengths) == [2, 2, 2]  # rows per element


def test_tensor_array_read_clears_by_default() -> None:
    nodes = ta_nodes() + [node("r1", "TensorArrayReadV3", ["ta", "i0", "w1"], dtype=F32),
                          node("r2", "TensorArrayReadV3", ["ta", "i0", "w1", "^r1"],
                               dtype=F32)]
    with pytest.raises(InvalidArgumentError, match="twice because it was cleared"):
        run(nodes, ["r2:0"], {"v:0": np.ones(3, np.float32)})
