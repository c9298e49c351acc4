"""Graph-building programs written with savedmodel_io.graph.

Each function mirrors, op for op, the ``tf.compat.v1`` program of the same name in
tests/data/golden/graph/make_graph_goldens.py; the tests compare our MetaGraphDef with the
one TensorFlow 2.21 exports (golden files, and live in the interop lane).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from savedmodel_io.graph import Graph
from savedmodel_io.protos import meta_graph_pb2, saver_pb2

W = np.arange(6, dtype=np.float32).reshape(3, 2)
B = np.array([0.5, -1.0], np.float32)
S = np.float32(2.0)


def dense_graph(sharded: bool) -> tuple[Graph, saver_pb2.SaverDef]:
    """placeholder -> MatMul (ref variable) -> BiasAdd (resource variable) -> Relu -> Mul
    (non-trainable resource variable) -> Softmax, an initializer and a Saver."""
    g = Graph()
    x = g.placeholder(np.float32, shape=(None, 3), name="x")
    w = g.variable("w", W)
    b = g.variable("b", B, resource=True)
    s = g.variable("s", S, trainable=False, resource=True)
    with g.name_scope("dense"):
        mm = g.op("MatMul", [x, w.read()])
        r = g.op("Relu", [g.op("BiasAdd", [mm, b])])
    scaled = g.op("Mul", [r, s.read()], name="scaled")
    g.op("Softmax", [scaled], name="out")
    g.global_variables_initializer()
    return g, g.add_saver(sharded=sharded)


def dense_unsharded() -> meta_graph_pb2.MetaGraphDef:
    g, sd = dense_graph(sharded=False)
    return g.export_meta_graph(saver_def=sd)


def dense_sharded() -> meta_graph_pb2.MetaGraphDef:
    g, sd = dense_graph(sharded=True)
    return g.export_meta_graph(saver_def=sd)


def dense_sharded_stripped() -> meta_graph_pb2.MetaGraphDef:
    g, sd = dense_graph(sharded=True)
    return g.export_meta_graph(saver_def=sd, strip_default_attrs=True, clear_devices=True)


def ops() -> meta_graph_pb2.MetaGraphDef:
    """Many registry ops with constant arguments, for attributes and output shapes."""
    g = Graph()
    x = g.placeholder(np.float32, shape=(None, 2, 3), name="x")
    img = g.placeholder(np.float32, shape=(None, 8, 8, 3), name="img")
    idx = g.placeholder(np.int32, shape=(None,), name="idx")
    cond = g.placeholder(np.bool_, shape=(None, 6), name="cond")
    r = g.op("Reshape", [x, [-1, 6]], name="r")
    g.op("Reshape", [x, np.array([2, -1], np.int64)], name="r2")
    g.op("Transpose", [x, [2, 0, 1]], name="t")
    g.op("ConcatV2", [[r, r], 1], name="cat")
    g.op("ConcatV2", [[r, r], 0], name="cat0")
    g.op("Pack", [[r, r]], axis=1, name="pk")
    g.op("Squeeze", [g.op("ExpandDims", [r, 1], name="ed")], squeeze_dims=[1], name="sq")
    g.op("Cast", [r], DstT=np.int32, name="cast")
    g.op("ArgMax", [r, 1], name="am")
    g.op("Mean", [x, [1, 2]], keep_dims=True, name="mean")
    g.op("Sum", [x, 1], name="sum")
    g.op("Max", [x, [-1]], name="max")
    kernel = np.ones((3, 3, 3, 4), np.float32)
    g.op("Conv2D", [img, kernel], strides=[1, 2, 2, 1], padding="SAME", name="conv")
    g.op("Conv2D", [img, kernel], strides=[1, 1, 1, 1], padding="VALID", name="conv_v")
    g.op("MaxPool", [img], ksize=[1, 2, 2, 1], strides=[1, 2, 2, 1], padding="VALID",
         name="mp")
    g.op("AvgPool", [img], ksize=[1, 3, 3, 1], strides=[1, 2, 2, 1], padding="SAME", name="ap")
    table = np.arange(20, dtype=np.float32).reshape(10, 2)
    g.op("GatherV2", [table, idx, 0], name="gather")
    g.op("Select", [cond, r, g.op("ZerosLike", [r], name="z")], name="sel")
    g.op("SelectV2", [cond, r, 0.0], name="sel2")
    g.op("BatchMatMulV2", [x, np.ones((3, 4), np.float32)], name="bmm")
    for op in ("Sub", "RealDiv", "Maximum", "Minimum", "AddV2", "Add", "SquaredDifference"):
        g.op(op, [r, np.ones((1, 6), np.float32)])
    for op in ("Relu6", "Sigmoid", "Tanh", "Square", "Sqrt", "Exp", "Neg", "Abs", "Softplus"):
        g.op(op, [r])
    g.op("Equal", [idx, 3])
    g.op("Shape", [x], name="shape")
    g.op("Fill", [[2, 3], 1.5], name="fill")
    g.op("OneHot", [idx, 5, 1.0, 0.0], name="oh")
    g.add_op("TopKV2", [r, 2], name="topk")
    g.op("Tile", [r, [2, 1]], name="tile")
    g.op("Range", [0, 10, 3], name="range")
    g.add_op("IdentityN", [r, idx], name="idn")
    g.op("AddN", [[r, r, r]], name="addn")
    g.op("Softmax", [r], name="sm")
    g.op("Identity", [g.constant(["a", "bc"], name="strings")], name="id_s")
    g.placeholder_with_default(np.zeros((2,), np.int64), shape=(None,), name="pwd")
    return g.export_meta_graph()


def parse_example() -> meta_graph_pb2.MetaGraphDef:
    """What ``tf.io.parse_example`` builds for a FixedLen float[3], a FixedLen int64 with a
    default and a VarLen string feature."""
    g = Graph()
    serialized = g.placeholder(np.str_, shape=(None,), name="tf_example")
    with g.name_scope("ParseExample"):
        no_default = g.constant(np.zeros((0,), np.float32))
        y_default = g.constant(np.int64(7), name="key_y")
        y_default = g.op("Reshape", [y_default, np.zeros((0,), np.int32)])
        g.add_op("ParseExampleV2", [serialized, np.array([], dtype=object), ["s"], ["x", "y"],
                                    np.array([], dtype=object), [no_default, y_default]],
                 attrs={"num_sparse": 1, "sparse_types": [np.str_],
                        "dense_shapes": [[3], []], "ragged_value_types": [],
                        "ragged_split_types": []})
    return g.export_meta_graph(strip_default_attrs=True)


def names() -> meta_graph_pb2.MetaGraphDef:
    """Name uniquification, scopes, control dependencies, collections, devices, savers."""
    g = Graph()
    x = g.placeholder(np.float32, shape=(2,), name="x")
    g.constant(1.0, name="x")                      # x_1
    g.constant(2.0, name="X")                      # X_2: names compare case-insensitively
    g.constant(3.0, name="y_1")
    y = g.op("Neg", [x], name="y")
    g.op("Neg", [x], name="y")                     # y_2: y_1 is taken
    with g.name_scope("dense"):
        a = g.op("Relu", [x])
        with g.name_scope("inner"):
            g.op("Relu", [a])
    with g.name_scope("dense"):                    # dense_1
        g.op("Relu", [x])
    with g.name_scope("dense/"):                   # the first scope again
        g.op("Relu", [x])
    v = g.variable("save", np.zeros((2,), np.float32))   # the saver scope becomes save_1
    with g.name_scope("layer"):
        k = g.variable("kernel", np.ones((2,), np.float32), resource=True)
        local = g.variable("counter", np.int64(0), trainable=False,
                           collections=["local_variables"])
    with g.device("/cpu:0"):
        on_cpu = g.op("AddV2", [y, k.read()], name="on_cpu")
    c = g.constant(4.0, name="c")
    with g.control_dependencies([c, on_cpu.op]):
        d = g.op("Mul", [on_cpu, 2.0], name="d")   # on_cpu is an input: only ^c
        with g.control_dependencies([v.initializer]):
            g.op("Identity", [d], name="e")
    g.group([on_cpu, d.op, c.op], name="grouped")
    g.global_variables_initializer()
    g.local_variables_initializer()
    g.add_to_collection("outputs", d)
    g.add_to_collection("outputs", g.get_operation_by_name("grouped"))
    g.add_to_collection("labels", b"one")
    g.add_to_collection("labels", "two")
    g.add_to_collection("ints", 3)
    g.add_to_collection("floats", 0.25)
    del local
    sd = g.add_saver()
    g.add_saver(sharded=True, var_list={"renamed": k})
    return g.export_meta_graph(saver_def=sd)


def ops2() -> meta_graph_pb2.MetaGraphDef:
    """Slicing, splitting, padding, normalization, lookup tables and more shape rules."""
    g = Graph()
    x = g.placeholder(np.float32, shape=(None, 4, 6), name="x")
    k = g.placeholder(np.float32, shape=(5, 4, 6), name="k")
    img = g.placeholder(np.float32, shape=(2, 8, 8, 3), name="img")
    keys = g.placeholder(np.str_, shape=(None,), name="keys")
    g.op("StridedSlice", [k, [1, 0], [0, 5], [1, 2]], begin_mask=0, end_mask=1, name="ss1")
    g.op("StridedSlice", [g.op("Shape", [x], name="sx"), [0], [1], [1]], shrink_axis_mask=1,
         name="ss2")
    g.op("StridedSlice", [k, [0, -1], [0, 0], [1, 1]], ellipsis_mask=1, shrink_axis_mask=2,
         name="ss3")
    g.op("StridedSlice", [x, [0, 0, 0], [0, 0, 0], [1, 1, -1]], begin_mask=7, end_mask=7,
         new_axis_mask=2, name="ss4")
    g.op("StridedSlice", [k, [-2], [-5], [-1]], name="ss5")
    g.op("Slice", [k, [1, 0, 2], [-1, 2, -1]], name="sl")
    g.add_op("Split", [2, k], attrs={"num_split": 3}, name="sp")
    g.add_op("SplitV", [k, [1, -1, 2], 0], attrs={"num_split": 3}, name="spv")
    g.add_op("Unpack", [k], attrs={"num": 4, "axis": 1}, name="up")
    g.op("Pad", [x, [[0, 0], [1, 2], [0, 1]]], name="pad")
    g.op("PadV2", [k, [[1, 1], [0, 0], [2, 0]], 0.5], name="pad2")
    g.op("BroadcastTo", [g.constant(np.float32(1.0)), [3, 2]], name="bt")
    g.op("ResizeBilinear", [img, [16, 4]], name="resize")
    c3 = np.ones((3,), np.float32)
    g.add_op("FusedBatchNormV3", [img, c3, c3, c3, c3], attrs={"is_training": False},
             name="bn")
    g.op("GatherNd", [k, g.placeholder(np.int32, shape=(None, 2), name="nd_idx")], name="gnd")
    g.op("DepthwiseConv2dNative", [img, np.ones((3, 3, 3, 2), np.float32)],
         strides=[1, 1, 1, 1], padding="SAME", name="dw")
    g.op("Einsum", [[x, g.placeholder(np.float32, shape=(6, 7), name="m")]],
         equation="bij,jk->bik", name="es")
    table = g.op("HashTableV2", [], key_dtype=np.str_, value_dtype=np.int64, name="table")
    g.add_op("LookupTableImportV2", [table, ["a", "b"], np.array([1, 2], np.int64)],
             name="table_init")
    g.op("LookupTableFindV2", [table, keys, np.int64(-1)], name="lookup")
    g.op("StringJoin", [[keys, "suffix"]], separator="_", name="join")
    g.op("Where", [g.op("Less", [x, 0.0], name="neg")], name="where")
    g.op("Size", [x], name="size")
    g.op("Rank", [x], name="rank")
    g.add_op("ShapeN", [x, k], name="shapes")
    g.op("Cumsum", [x, 1], name="cumsum")
    for op in ("LeakyRelu", "Elu", "LogSoftmax", "StopGradient", "Sign", "Round", "Rsqrt",
               "Log", "Log1p", "OnesLike"):
        g.op(op, [x])
    g.op("LogicalAnd", [g.op("Greater", [x, 1.0]), g.op("Cast", [x], DstT=np.bool_)])
    g.op("Pow", [x, 2.0])
    g.op("FloorDiv", [x, 3.0])
    g.op("BiasAdd", [g.placeholder(np.float32, shape=(None, 3, 5, 5), name="nchw"), c3],
         data_format="NCHW", name="bias_nchw")
    g.op("Conv2D", [g.get_tensor_by_name("nchw:0"), np.ones((2, 2, 3, 4), np.float32)],
         strides=[1, 1, 2, 2], padding="VALID", data_format="NCHW", name="conv_nchw")
    g.op("Prod", [x, [0, 2]], name="prod")
    g.op("Any", [g.get_tensor_by_name("neg:0"), -1], keep_dims=True, name="any")
    g.op("Min", [k, 0], name="min")
    g.op("ArgMin", [k, np.int64(2)], name="argmin")
    return g.export_meta_graph()


PROGRAMS: dict[str, Callable[[], meta_graph_pb2.MetaGraphDef]] = {
    "ops2": ops2,
    "dense_unsharded": dense_unsharded,
    "dense_sharded": dense_sharded,
    "dense_sharded_stripped": dense_sharded_stripped,
    "ops": ops,
    "parse_example": parse_example,
    "names": names,
}
