"""Output shape inference (savedmodel_io.graph.shapes). The rules were checked against
TensorFlow 2.21 on the golden programs; these tests pin the cases one by one."""

from __future__ import annotations

import numpy as np
import pytest

from savedmodel_io.errors import InvalidArgumentError
from savedmodel_io.graph import Graph, Tensor
from savedmodel_io.graph.tensor import Shape


def ph(g: Graph, shape: Shape, dtype: object = np.float32) -> Tensor:
    return g.placeholder(dtype, shape=shape)


def test_matmul() -> None:
    g = Graph()
    a, b = ph(g, (None, 3)), ph(g, (3, 2))
    assert g.op("MatMul", [a, b]).shape == (None, 2)
    assert g.op("MatMul", [b, a], transpose_a=True, transpose_b=True).shape == (2, None)
    assert g.op("MatMul", [a, ph(g, None)]).shape == (None, None)
    with pytest.raises(InvalidArgumentError, match="dimensions 3 and 2 must be equal"):
        g.op("MatMul", [a, ph(g, (2, 2))])
    with pytest.raises(InvalidArgumentError, match="must be 2-D"):
        g.op("MatMul", [a, ph(g, (3,))])


def test_batch_matmul_broadcasts_batch_dims() -> None:
    g = Graph()
    x = ph(g, (4, 1, 2, 3))
    y = ph(g, (5, 3, 7))
    assert g.op("BatchMatMulV2", [x, y]).shape == (4, 5, 2, 7)
    assert g.op("BatchMatMulV2", [x, ph(g, (5, 7, 3))], adj_y=True).shape == (4, 5, 2, 7)


def test_bias_add_merges_the_channel_dimension() -> None:
    g = Graph()
    b = ph(g, (4,))
    assert g.op("BiasAdd", [ph(g, (None, None)), b]).shape == (None, 4)
    assert g.op("BiasAdd", [ph(g, (2, None, 5, 5)), b], data_format="NCHW").shape == (2, 4, 5, 5)
    with pytest.raises(InvalidArgumentError, match="dimensions 3 and 4"):
        g.op("BiasAdd", [ph(g, (2, 3)), b])


@pytest.mark.parametrize("x,y,out", [
    ((None, 3), (), (None, 3)),
    ((None, 1), (1, 5), (None, 5)),
    ((None, 3), (None, 3), (None, 3)),
    ((2, 1, 3), (4, 1), (2, 4, 3)),
    ((None,), (1,), (None,)),
    ((None,), (4,), (4,)),
    ((0,), (None,), (0,)),
    (None, (3,), None),
])
def test_elementwise_broadcast(x: Shape, y: Shape, out: Shape) -> None:
    g = Graph()
    assert g.op("AddV2", [ph(g, x), ph(g, y)]).shape == out
    assert g.op("Maximum", [ph(g, y), ph(g, x)]).shape == out


def test_incompatible_broadcast_is_an_error() -> None:
    g = Graph()
    with pytest.raises(InvalidArgumentError, match=r"incompatible shapes.*\[2, 3\] and \[4\]"):
        g.op("Mul", [ph(g, (2, 3)), ph(g, (4,))])


def test_reshape() -> None:
    g = Graph()
    x = ph(g, (2, 3, 4))
    assert g.op("Reshape", [x, [-1, 4]]).shape == (6, 4)
    assert g.op("Reshape", [ph(g, (None, 3)), [-1, 3]]).shape == (None, 3)
    assert g.op("Reshape", [x, ph(g, (3,), np.int32)]).shape == (None, None, None)
    with pytest.raises(InvalidArgumentError, match="cannot reshape"):
        g.op("Reshape", [x, [5, -1]])
    with pytest.raises(InvalidArgumentError, match="only one dimension"):
        g.op("Reshape", [x, [-1, -1]])


def test_concat_pack_squeeze_expand() -> None:
    g = Graph()
    a, b = ph(g, (None, 2)), ph(g, (3, 5))
    assert g.op("ConcatV2", [[a, b], -1]).shape == (3, 7)
    assert g.op("ConcatV2", [[a, ph(g, (3, 2))], 0]).shape == (None, 2)
    with pytest.raises(InvalidArgumentError, match="dimensions 2 and 5 must be equal"):
        g.op("ConcatV2", [[a, b], 0])
    assert g.op("ConcatV2", [[a, a], ph(g, (), np.int32)]).shape == (None, None)
    assert g.op("Pack", [[a, a]], axis=-1).shape == (None, 2, 2)
    assert g.op("Squeeze", [ph(g, (1, None, 1, 3))], squeeze_dims=[0, 2]).shape == (None, 3)
    assert g.op("Squeeze", [ph(g, (1, 4, 1))]).shape == (4,)
    assert g.op("Squeeze", [ph(g, (1, None))]).shape is None   # might squeeze more
    assert g.op("ExpandDims", [a, -1]).shape == (None, 2, 1)
    with pytest.raises(InvalidArgumentError, match="cannot squeeze dimension 0 of size 3"):
        g.op("Squeeze", [b], squeeze_dims=[0])


def test_reductions_and_argmax() -> None:
    g = Graph()
    x = ph(g, (None, 4, 5))
    assert g.op("Mean", [x, [1, -1]]).shape == (None,)
    assert g.op("Sum", [x, 1], keep_dims=True).shape == (None, 1, 5)
    assert g.op("Max", [x, ph(g, (1,), np.int32)]).shape is None
    assert g.op("ArgMax", [x, 2]).shape == (None, 4)
    with pytest.raises(InvalidArgumentError, match="axis 3 is out of range"):
        g.op("ArgMax", [x, 3])


def test_transpose_gather_shape_fill() -> None:
    g = Graph()
    x = ph(g, (None, 4, 5))
    assert g.op("Transpose", [x, [2, 0, 1]]).shape == (5, None, 4)
    with pytest.raises(InvalidArgumentError, match="not a permutation"):
        g.op("Transpose", [x, [0, 0, 1]])
    idx = ph(g, (7, 2), np.int32)
    assert g.op("GatherV2", [x, idx, 1]).shape == (None, 7, 2, 5)
    assert g.op("Shape", [x]).shape == (3,)
    assert g.op("Fill", [[2, 3], 0.0]).shape == (2, 3)
    # A Reshape to the Shape of a fully known tensor is known too.
    y = ph(g, (2, 6))
    assert g.op("Reshape", [x, g.op("Shape", [y])]).shape == (2, 6)


def test_conv_and_pool() -> None:
    g = Graph()
    img = ph(g, (None, 9, 9, 3))
    k = np.ones((3, 3, 3, 8), np.float32)
    assert g.op("Conv2D", [img, k], strides=[1, 2, 2, 1], padding="SAME").shape == (
        None, 5, 5, 8)
    assert g.op("Conv2D", [img, k], strides=[1, 2, 2, 1], padding="VALID").shape == (
        None, 4, 4, 8)
    assert g.op("Conv2D", [img, k], strides=[1, 1, 1, 1], padding="VALID",
                dilations=[1, 2, 2, 1]).shape == (None, 5, 5, 8)
    assert g.op("MaxPool", [img], ksize=[1, 3, 3, 1], strides=[1, 3, 3, 1],
                padding="VALID").shape == (None, 3, 3, 3)


def test_strided_slice() -> None:
    g = Graph()
    k = ph(g, (5, 4, 6))
    assert g.op("StridedSlice", [k, [1], [4], [2]]).shape == (2, 4, 6)
    assert g.op("StridedSlice", [k, [0, 1], [0, 0], [1, 1]], begin_mask=1,
                end_mask=3).shape == (5, 3, 6)
    assert g.op("StridedSlice", [k, [2], [3], [1]], shrink_axis_mask=1).shape == (4, 6)
    assert g.op("StridedSlice", [k, [0, 0], [0, 0], [1, 1]], ellipsis_mask=1,
                shrink_axis_mask=2).shape == (5, 4)
    assert g.op("StridedSlice", [k, [0], [0], [1]], new_axis_mask=1).shape == (1, 5, 4, 6)
    assert g.op("StridedSlice", [k, [-1], [-6], [-1]]).shape == (5, 4, 6)
    assert g.op("StridedSlice", [ph(g, (None, 3)), [0], [2], [1]]).shape == (None, 3)
    with pytest.raises(InvalidArgumentError, match="index 5 is out of range"):
        g.op("StridedSlice", [k, [5], [6], [1]], shrink_axis_mask=1)


def test_multi_output_rules() -> None:
    g = Graph()
    k = ph(g, (6, 4))
    assert [t.shape for t in g.add_op("Split", [0, k], attrs={"num_split": 3}).outputs] == [
        (2, 4)] * 3
    sv = g.add_op("SplitV", [k, [1, -1], 1], attrs={"num_split": 2})
    assert [t.shape for t in sv.outputs] == [(6, 1), (6, 3)]
    assert [t.shape for t in g.add_op("Unpack", [k], attrs={"num": 6}).outputs] == [(4,)] * 6
    top = g.add_op("TopKV2", [k, 2])
    assert [t.shape for t in top.outputs] == [(6, 2), (6, 2)]
    with pytest.raises(InvalidArgumentError, match="does not split into 4"):
        g.add_op("Split", [0, k], attrs={"num_split": 4})


def test_parse_example_v2_outputs() -> None:
    g = Graph()
    s = g.placeholder(np.str_, shape=(None,))
    op = g.add_op("ParseExampleV2", [s, [], ["sp"], ["a", "b"], [],
                                     [np.zeros((0,), np.float32), np.zeros((0,), np.int64)]],
                  attrs={"num_sparse": 1, "sparse_types": [np.int64],
                         "dense_shapes": [[3], [None, 2]], "ragged_value_types": [],
                         "ragged_split_types": []})
    assert [t.shape for t in op.outputs] == [(None, 2), (None,), (2,), (None, 3),
                                             (None, None, 2)]


def test_variables_and_reads() -> None:
    g = Graph()
    v = g.variable("v", np.zeros((3, 2), np.float32), resource=True)
    assert v.handle.shape == () and v.read().shape == (3, 2)
    assert v.read_value().shape == (3, 2)
    r = g.variable("r", np.zeros((3,), np.float32))
    assert r.handle.shape == (3,) and g.add_op("Assign", [r.handle, r.read()]).outputs[
        0].shape == (3,)


def test_unknown_ops_have_unknown_shapes() -> None:
    g = Graph()
    x = ph(g, (2,))
    assert g.op("Einsum", [[x]], equation="i->i").shape == (2,)
    assert g.op("Einsum", [[x]], equation="...->...").shape is None
    out = g.add_op("LookupTableFindV2", [g.op("HashTableV2", [], key_dtype=np.int64,
                                                value_dtype=np.float32),
                                         ph(g, (None,), np.int64), 0.0])
    assert out.outputs[0].shape is None


def test_bad_constant_arguments_are_errors_not_crashes() -> None:
    g = Graph()
    x = ph(g, (2, 3))
    with pytest.raises(InvalidArgumentError, match="multiples has 1 entries"):
        g.op("Tile", [x, [2]])
    with pytest.raises(InvalidArgumentError, match=r"paddings must have shape \[rank, 2\]"):
        g.op("Pad", [x, [[1, 1, 1]]])
    with pytest.raises(InvalidArgumentError, match="inputs do not fit"):
        g.op("ExpandDims", [x, np.zeros((0,), np.int32)])
    # A huge constant fill is not expanded to infer a shape.
    big = g.constant(np.int32(1), shape=(1 << 24,))
    assert g.op("Tile", [x, big]).shape == (None, None)
