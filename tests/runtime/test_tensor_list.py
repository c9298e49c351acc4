"""TensorList kernels (tf.TensorArray / Keras RNN ops in TF2) on hand-made graphs.

Expected values follow TensorFlow's list semantics (list_kernels.h): unset elements read as
zeros when the element shape is known, lists are values (an update makes a new list),
indices out of range and dtype mismatches are InvalidArgumentErrors naming the node.
The recurrent models TF 2.21 wrote are checked in test_rnn_goldens.py.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from savedmodel_io import saved_model
from savedmodel_io.dtypes import DataType
from savedmodel_io.errors import InvalidArgumentError, ResourceExhaustedError
from savedmodel_io.protos import node_def_pb2
from savedmodel_io.runtime import GraphRunner
from savedmodel_io.runtime.kernels.tensor_list import TensorList
from tests.runtime.graphs import (
    F32,
    I32,
    Func,
    const,
    function,
    graph,
    node,
    placeholder,
    predict,
    tensor_info,
    write_saved_model,
)

V = DataType.DT_VARIANT
NodeDef = node_def_pb2.NodeDef


def shape(name: str, dims: Any) -> NodeDef:
    return const(name, np.asarray(dims, np.int32))


def reserve(name: str, dims: Any, n: int, dtype: DataType = F32) -> list[NodeDef]:
    return [shape(f"{name}/shape", dims), const(f"{name}/n", np.int32(n)),
            node(name, "TensorListReserve", [f"{name}/shape", f"{name}/n"],
                 element_dtype=dtype, shape_type=I32)]


def set_item(name: str, lst: str, index: int, value: Any, dtype: DataType = F32,
             **attrs: Any) -> list[NodeDef]:
    return [const(f"{name}/i", np.int32(index)), const(f"{name}/v", value),
            node(name, "TensorListSetItem", [lst, f"{name}/i", f"{name}/v"],
                 element_dtype=dtype, **attrs)]


def stack(name: str, lst: str, dims: Any = -1, dtype: DataType = F32, **attrs: Any
          ) -> list[NodeDef]:
    return [shape(f"{name}/shape", dims),
            node(name, "TensorListStack", [lst, f"{name}/shape"], element_dtype=dtype,
                 **attrs)]


def get_item(name: str, lst: str, index: int, dims: Any = -1, dtype: DataType = F32
             ) -> list[NodeDef]:
    return [const(f"{name}/i", np.int32(index)), shape(f"{name}/shape", dims),
            node(name, "TensorListGetItem", [lst, f"{name}/i", f"{name}/shape"],
                 element_dtype=dtype)]


def from_tensor(name: str, value: Any, dims: Any = -1, dtype: DataType = F32
                ) -> list[NodeDef]:
    return [const(f"{name}/t", value), shape(f"{name}/shape", dims),
            node(name, "TensorListFromTensor", [f"{name}/t", f"{name}/shape"],
                 element_dtype=dtype, shape_type=I32)]


def run(nodes: list[NodeDef], *fetches: str) -> list[Any]:
    return GraphRunner(graph(*nodes)).run(list(fetches))


def f32(x: Any) -> np.ndarray:
    return np.asarray(x, np.float32)


def refused(nodes: list[NodeDef], fetch: str, match: str, node_name: str) -> None:
    with pytest.raises(InvalidArgumentError, match=match) as info:
        run(nodes, fetch)
    assert repr(node_name) in str(info.value)


# ------------------------------------------------------------------ reserve / set / stack


def test_reserve_set_stack_fills_unset_elements_with_zeros() -> None:
    nodes = [*reserve("l", [2], 3), *set_item("s", "l", 1, f32([1, 2])), *stack("st", "s")]
    (out,) = run(nodes, "st")
    np.testing.assert_array_equal(out, f32([[0, 0], [1, 2], [0, 0]]))
    assert out.dtype == np.float32


def test_stack_takes_the_element_shape_from_set_elements() -> None:
    nodes = [*reserve("l", -1, 2), *set_item("s", "l", 0, f32([[1, 2, 3]])),
             *stack("st", "s")]
    np.testing.assert_array_equal(run(nodes, "st")[0], f32([[[1, 2, 3]], [[0, 0, 0]]]))


def test_stack_of_only_unset_elements_needs_a_known_shape() -> None:
    refused([*reserve("l", [-1, 2], 2), *stack("st", "l")], "st",
            "uninitialized tensors and has a non-fully-defined", "st")
    # The op's element_shape input completes the list's partial shape.
    out = run([*reserve("l", [-1, 2], 2), *stack("st", "l", [3, 2])], "st")[0]
    np.testing.assert_array_equal(out, np.zeros((2, 3, 2), np.float32))


def test_stack_checks_num_elements_and_shape_merge() -> None:
    refused([*reserve("l", [2], 3), *stack("st", "l", num_elements=4)], "st",
            "expected a list with 4 elements but got a list with 3", "st")
    refused([*reserve("l", [2], 3), *stack("st", "l", [3])], "st", "incompatible shapes",
            "st")


def test_empty_list_stacks_to_zero_rows_only_with_a_known_shape() -> None:
    assert run([*reserve("l", [4], 0), *stack("st", "l")], "st")[0].shape == (0, 4)
    refused([*reserve("l", -1, 0), *stack("st", "l")], "st", "empty list", "st")


def test_lists_are_values_an_update_leaves_the_input_list_alone() -> None:
    nodes = [*reserve("l", [2], 2), *set_item("a", "l", 0, f32([1, 1])),
             *set_item("b", "a", 0, f32([5, 5])), *set_item("c", "a", 1, f32([7, 7])),
             *stack("sa", "a"), *stack("sb", "b"), *stack("sc", "c")]
    sa, sb, sc = run(nodes, "sa", "sb", "sc")
    np.testing.assert_array_equal(sa, f32([[1, 1], [0, 0]]))
    np.testing.assert_array_equal(sb, f32([[5, 5], [0, 0]]))
    np.testing.assert_array_equal(sc, f32([[1, 1], [7, 7]]))


def test_set_item_index_and_shape_errors() -> None:
    refused([*reserve("l", [2], 2), *set_item("s", "l", 2, f32([1, 2]))], "s",
            "Trying to modify element 2 in a list with 2 elements", "s")
    refused([*reserve("l", [2], 2), *set_item("s", "l", -1, f32([1, 2]))], "s",
            "Trying to modify element -1", "s")
    refused([*reserve("l", [2], 2), *set_item("s", "l", 0, f32([1, 2, 3]))], "s",
            "incompatible shape", "s")
    refused([*reserve("l", [2], 2), *set_item("s", "l", 0, np.array([1, 2], np.int32), I32)], "s",
            "Invalid data types; op elements int32 but list elements float32", "s")


def test_set_item_resize_if_index_out_of_bounds_grows_the_list() -> None:
    nodes = [*reserve("l", [1], 0),
             *set_item("s", "l", 2, f32([9]), resize_if_index_out_of_bounds=True),
             node("len", "TensorListLength", ["s"]), *stack("st", "s")]
    length, out = run(nodes, "len", "st")
    assert length.dtype == np.int32 and int(length) == 3
    np.testing.assert_array_equal(out, f32([[0], [0], [9]]))
    refused([*reserve("l", [1], 0),
             *set_item("s", "l", -1, f32([9]), resize_if_index_out_of_bounds=True)], "s",
            "Trying to modify element -1", "s")


# ------------------------------------------------------------------ from tensor / get item


def test_from_tensor_get_item_length_and_stack_round_trip() -> None:
    t = np.arange(12, dtype=np.int32).reshape(3, 2, 2)
    nodes = [*from_tensor("l", t, [-1, 2], I32), *get_item("g", "l", 2, -1, I32),
             node("len", "TensorListLength", ["l"]), *stack("st", "l", -1, I32)]
    got, length, out = run(nodes, "g", "len", "st")
    np.testing.assert_array_equal(got, t[2])
    assert int(length) == 3
    np.testing.assert_array_equal(out, t)


def test_from_tensor_errors() -> None:
    refused(from_tensor("l", f32(1.0)), "l", "at least a vector", "l")
    refused(from_tensor("l", np.zeros((2, 3), np.float32), [4]), "l",
            r"Specified a list with shape \[4\] from a tensor with shape \[2,3\]", "l")


def test_get_item_errors_name_the_node() -> None:
    base = from_tensor("l", f32([[1, 2], [3, 4]]))
    refused([*base, *get_item("g", "l", 2)], "g",
            "Trying to access element 2 in a list with 2 elements", "g")
    refused([*base, *get_item("g", "l", -1)], "g", "Trying to access element -1", "g")
    refused([*base, *get_item("g", "l", 0, -1, I32)], "g",
            "op elements int32 but list elements float32", "g")


def test_get_item_of_an_unset_element() -> None:
    nodes = [*reserve("l", [-1, 2], 2), *get_item("g", "l", 1, [3, -1])]
    np.testing.assert_array_equal(run(nodes, "g")[0], np.zeros((3, 2), np.float32))
    refused([*reserve("l", [-1, 2], 2), *get_item("g", "l", 1)], "g",
            "uninitialized tensor but element_shape is not fully defined", "g")


def test_element_shape() -> None:
    nodes = [*reserve("a", -1, 1), *reserve("b", [-1, 3], 1),
             node("ea", "TensorListElementShape", ["a"], shape_type=I32),
             node("eb", "TensorListElementShape", ["b"], shape_type=DataType.DT_INT64)]
    ea, eb = run(nodes, "ea", "eb")
    assert ea.shape == () and int(ea) == -1 and ea.dtype == np.int32
    np.testing.assert_array_equal(eb, np.array([-1, 3], np.int64))
    assert eb.dtype == np.int64


# ------------------------------------------------------------------ push / pop / resize


def empty(name: str, dims: Any, max_n: int = -1, dtype: DataType = F32) -> list[NodeDef]:
    return [shape(f"{name}/shape", dims), const(f"{name}/max", np.int32(max_n)),
            node(name, "EmptyTensorList", [f"{name}/shape", f"{name}/max"],
                 element_dtype=dtype, shape_type=I32)]


def push(name: str, lst: str, value: Any, dtype: DataType = F32) -> list[NodeDef]:
    return [const(f"{name}/v", value),
            node(name, "TensorListPushBack", [lst, f"{name}/v"], element_dtype=dtype)]


def pop(name: str, lst: str, dims: Any = -1, dtype: DataType = F32) -> list[NodeDef]:
    return [shape(f"{name}/shape", dims),
            node(name, "TensorListPopBack", [lst, f"{name}/shape"], element_dtype=dtype)]


def test_push_back_and_pop_back() -> None:
    nodes = [*empty("e", [2]), *push("p1", "e", f32([1, 2])), *push("p2", "p1", f32([3, 4])),
             *pop("q", "p2"), node("len", "TensorListLength", ["q"]), *stack("st", "q"),
             *stack("st2", "p2")]
    item, length, out, out2 = run(nodes, "q:1", "len", "st", "st2")
    np.testing.assert_array_equal(item, f32([3, 4]))
    assert int(length) == 1
    np.testing.assert_array_equal(out, f32([[1, 2]]))
    np.testing.assert_array_equal(out2, f32([[1, 2], [3, 4]]))  # p2 is unchanged


def test_push_pop_errors() -> None:
    refused([*empty("e", [2]), *pop("q", "e")], "q", "pop from an empty list", "q")
    refused([*empty("e", [2], 1), *push("p1", "e", f32([1, 2])), *push("p2", "p1", f32([3, 4]))],
            "p2", "Tried to push item into a full list", "p2")
    refused([*empty("e", [2]), *push("p", "e", f32([1, 2, 3]))], "p", "incompatible shape",
            "p")
    # Popping an unset element: zeros of the known shape.
    nodes = [*reserve("l", [2], 1), *pop("q", "l")]
    np.testing.assert_array_equal(run(nodes, "q:1")[0], f32([0, 0]))


def resize(name: str, lst: str, n: int) -> list[NodeDef]:
    return [const(f"{name}/n", np.int32(n)),
            node(name, "TensorListResize", [lst, f"{name}/n"])]


def test_resize_shrinks_and_grows_with_unset_elements() -> None:
    nodes = [*from_tensor("l", f32([[1], [2], [3]]), [1]), *resize("small", "l", 1),
             *resize("big", "small", 3), *stack("st", "big"), *stack("st_l", "l")]
    out, orig = run(nodes, "st", "st_l")
    np.testing.assert_array_equal(out, f32([[1], [0], [0]]))
    np.testing.assert_array_equal(orig, f32([[1], [2], [3]]))
    refused([*reserve("l", [1], 2), *resize("r", "l", -1)], "r", "non-negative", "r")


# ------------------------------------------------------------------ gather / scatter / concat


def test_gather() -> None:
    nodes = [*from_tensor("l", f32([[1, 2], [3, 4], [5, 6]])),
             const("idx", np.array([2, 0, 2], np.int32)),
             shape("gs", -1), node("g", "TensorListGather", ["l", "idx", "gs"],
                                   element_dtype=F32)]
    np.testing.assert_array_equal(run(nodes, "g")[0], f32([[5, 6], [1, 2], [5, 6]]))
    bad = [*nodes[:-3], const("idx", np.array([3], np.int32)), *nodes[-2:]]
    refused(bad, "g", "Trying to access element 3 in a list with 3 elements", "g")


def test_scatter_into_existing_list_grows_it() -> None:
    nodes = [*reserve("l", [2], 2), const("t", f32([[1, 1], [2, 2]])),
             const("idx", np.array([3, 0], np.int32)),
             node("s", "TensorListScatterIntoExistingList", ["l", "t", "idx"],
                  element_dtype=F32), *stack("st", "s")]
    np.testing.assert_array_equal(run(nodes, "st")[0], f32([[2, 2], [0, 0], [0, 0], [1, 1]]))
    neg = [*nodes[:4], const("idx", np.array([-1, 0], np.int32)), *nodes[5:]]
    refused(neg, "st", "must all be non-negative", "s")
    short = [*nodes[:4], const("idx", np.array([1], np.int32)), *nodes[5:]]
    refused(short, "st", r"len\(indices\) == tensor.shape\[0\]", "s")


def test_scatter_v2_makes_a_list_of_at_least_num_elements() -> None:
    nodes = [const("t", f32([[7], [8]])), const("idx", np.array([1, 0], np.int32)),
             shape("es", [1]),
             const("n", np.int32(4)),
             node("s", "TensorListScatterV2", ["t", "idx", "es", "n"], element_dtype=F32,
                  shape_type=I32), *stack("st", "s")]
    np.testing.assert_array_equal(run(nodes, "st")[0], f32([[8], [7], [0], [0]]))


def test_concat_v2_joins_elements_along_their_first_axis() -> None:
    nodes = [*empty("e", [-1, 2]), *push("p1", "e", f32([[1, 2]])),
             *push("p2", "p1", f32([[3, 4], [5, 6]])), shape("cs", [-1, 2]),
             const("lead", np.zeros(0, np.int64)),
             node("c", "TensorListConcatV2", ["p2", "cs", "lead"], element_dtype=F32,
                  shape_type=I32)]
    out, lengths = run(nodes, "c:0", "c:1")
    np.testing.assert_array_equal(out, f32([[1, 2], [3, 4], [5, 6]]))
    np.testing.assert_array_equal(lengths, np.array([1, 2], np.int64))


# ------------------------------------------------------------------ control flow and misuse


def test_list_is_a_while_loop_variable() -> None:
    # for i in range(n): lst[i] = i * 2.0  (cond and body as TF2 writes them)
    cond = function("cond", [("i", I32), ("n", I32), ("l", V)], [("ok", DataType.DT_BOOL)],
                    [node("lt", "Less", ["i", "n"], T=I32)], {"ok": "lt:z:0"})
    body = function(
        "body", [("i", I32), ("n", I32), ("l", V)], [("i2", I32), ("n2", I32), ("l2", V)],
        [const("one", np.int32(1)), const("two", np.float32(2)),
         node("fi", "Cast", ["i"], SrcT=I32, DstT=F32),
         node("v", "Mul", ["fi:y:0", "two:output:0"], T=F32),
         node("set", "TensorListSetItem", ["l", "i", "v:z:0"], element_dtype=F32),
         node("next", "AddV2", ["i", "one:output:0"], T=I32)],
        {"i2": "next:z:0", "n2": "n", "l2": "set:output_handle:0"})
    nodes = [*reserve("l", [], 4), const("i0", np.int32(0)), const("n", np.int32(4)),
             node("w", "While", ["i0", "n", "l"], T=[I32, I32, V], cond=Func("cond"),
                  body=Func("body")),
             node("id", "Identity", ["w:2"], T=V), *stack("st", "id", [])]
    out = GraphRunner(graph(*nodes, functions=[cond, body])).run(["st"])[0]
    np.testing.assert_array_equal(out, f32([0, 2, 4, 6]))


def test_a_list_where_a_tensor_belongs_is_an_error() -> None:
    nodes = [*reserve("l", [2], 2), const("one", f32(1)),
             node("add", "AddV2", ["l", "one"], T=F32)]
    with pytest.raises(InvalidArgumentError, match="TensorList"):
        run(nodes, "add")
    (lst,) = run(reserve("l", [2], 2), "l")
    assert isinstance(lst, TensorList) and lst.length == 2


def test_a_signature_returning_a_list_is_refused(tmp_path: Path) -> None:
    g = graph(placeholder("x", F32, [2]), *reserve("l", [2], 2))
    sig = predict({"x": tensor_info("x:0", F32, [2])}, {"lst": tensor_info("l:0", V, None)})
    loaded = saved_model.load(write_saved_model(tmp_path / "m", g, {"s": sig}), ["serve"])
    with pytest.raises(InvalidArgumentError, match="TensorList"):
        loaded.signatures["s"](x=f32([1, 2]))


# ------------------------------------------------------------------ hostile sizes


@pytest.mark.parametrize("n", [1 << 40, (1 << 28) + 1])
def test_huge_reserve_is_refused_without_allocating(n: int) -> None:
    nodes = [shape("s", [4]), const("n", np.int64(n)),
             node("l", "TensorListReserve", ["s", "n"], element_dtype=F32,
                  shape_type=I32), *stack("st", "l")]
    start = time.perf_counter()
    with pytest.raises(ResourceExhaustedError, match="more than the limit") as info:
        run(nodes, "st")
    assert time.perf_counter() - start < 2.0
    assert "'l'" in str(info.value)


def test_element_shape_whose_product_overflows_int64_is_refused_by_the_limit() -> None:
    # 2^32 x 2^32 elements is 2^64: an int64 product wraps to 0 and would pass the check.
    nodes = [const("s", np.array([1 << 32, 1 << 32], np.int64)), const("n", np.int64(1)),
             node("l", "TensorListReserve", ["s", "n"], element_dtype=F32,
                  shape_type=DataType.DT_INT64), *stack("st", "l")]
    with pytest.raises(ResourceExhaustedError, match="more than the limit"):
        run(nodes, "st")


def test_huge_reserve_inside_a_function_is_refused() -> None:
    fn = function("make", [("n", DataType.DT_INT64)], [("out", F32)],
                  [shape("s", [4]),
                   node("l", "TensorListReserve", ["s:output:0", "n"], element_dtype=F32,
                        shape_type=I32),
                   shape("ss", [4]),
                   node("st", "TensorListStack", ["l:handle:0", "ss:output:0"],
                        element_dtype=F32)],
                  {"out": "st:tensor:0"})
    g = graph(const("n", np.int64(1 << 40)),
              node("call", "PartitionedCall", ["n"], Tin=[DataType.DT_INT64], Tout=[F32],
                   f=Func("make")), functions=[fn])
    start = time.perf_counter()
    with pytest.raises(ResourceExhaustedError, match="more than the limit"):
        GraphRunner(g).run(["call"])
    assert time.perf_counter() - start < 2.0


def test_huge_resize_set_item_and_scatter_are_refused() -> None:
    big = 1 << 40
    with pytest.raises(ResourceExhaustedError):
        run([*reserve("l", [1], 1), const("n", np.int64(big)),
             node("r", "TensorListResize", ["l", "n"])], "r")
    with pytest.raises(ResourceExhaustedError):
        run([*reserve("l", [1], 1), const("i", np.int64(big)), const("v", f32([1])),
             node("s", "TensorListSetItem", ["l", "i", "v"], element_dtype=F32,
                  resize_if_index_out_of_bounds=True)], "s")
    with pytest.raises(ResourceExhaustedError):
        run([*reserve("l", [1], 1), const("t", f32([[1]])), const("idx", np.array([big], np.int64)),
             node("s", "TensorListScatterIntoExistingList", ["l", "t", "idx"],
                  element_dtype=F32)], "s")
    refused([*reserve("l", [1], -1)], "l", "non negative", "l")


def test_a_large_reserve_of_empty_elements_stacks_without_a_loop() -> None:
    # 2^27 zero-size elements: a valid list TF would stack instantly; so must we.
    nodes = [*reserve("l", [0], 1 << 27), *stack("st", "l")]
    start = time.perf_counter()
    assert run(nodes, "st")[0].shape == (1 << 27, 0)
    assert time.perf_counter() - start < 2.0


def test_concat_v2_unset_elements_take_leading_dims_or_the_set_elements_rows() -> None:
    lst = [*reserve("l", [-1, 2], 3), *set_item("s", "l", 1, f32([[1, 2]]))]
    nodes = [*lst, shape("cs", [-1, 2]), const("lead", np.array([2, 5, 0], np.int64)),
             node("c", "TensorListConcatV2", ["s", "cs", "lead"], element_dtype=F32,
                  shape_type=I32)]
    out, lengths = run(nodes, "c:0", "c:1")
    # leading_dims sizes the unset elements 0 and 2; the set element keeps its one row.
    np.testing.assert_array_equal(out, f32([[0, 0], [0, 0], [1, 2]]))
    np.testing.assert_array_equal(lengths, np.array([2, 1, 0], np.int64))
    no_lead = [*reserve("l", [-1, 2], 2), shape("cs", [-1, 2]),
               const("lead", np.zeros(0, np.int64)),
               node("c", "TensorListConcatV2", ["l", "cs", "lead"], element_dtype=F32,
                    shape_type=I32)]
    refused(no_lead, "c", "uninitialized tensor at index 0", "c")
