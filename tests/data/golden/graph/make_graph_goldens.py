"""Write the MetaGraphDefs TensorFlow 2.21 exports for the programs of
tests/graph/graph_programs.py (same names, same ops, built with ``tf.compat.v1``).

    /work/tfenv/bin/python tests/data/golden/graph/make_graph_goldens.py

Each program becomes ``<name>.pbtxt`` (a text-format MetaGraphDef) next to this script.
tests/interop/test_graph_interop.py also imports ``PROGRAMS`` to build them live.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any

import numpy as np
import tensorflow as tf
from google.protobuf import text_format

v1 = tf.compat.v1
raw = tf.raw_ops
HERE = os.path.dirname(os.path.abspath(__file__))

W = np.arange(6, dtype=np.float32).reshape(3, 2)
B = np.array([0.5, -1.0], np.float32)
S = np.float32(2.0)


def dense_graph(sharded: bool) -> tuple[Any, Any]:
    g = tf.Graph()
    with g.as_default():
        x = v1.placeholder(tf.float32, shape=(None, 3), name="x")
        w = v1.Variable(W, name="w", use_resource=False)
        b = v1.Variable(B, name="b", use_resource=True)
        v1.Variable(S, name="s", trainable=False, use_resource=True)
        with g.name_scope("dense"):
            mm = raw.MatMul(a=x, b=w)
            r = tf.nn.relu(tf.nn.bias_add(mm, b))
        scaled = raw.Mul(x=r, y=g.get_tensor_by_name("s/Read/ReadVariableOp:0"), name="scaled")
        tf.nn.softmax(scaled, name="out")
        v1.global_variables_initializer()
        saver = v1.train.Saver(sharded=sharded)
    return g, saver


def _export(g: Any, saver: Any = None, **kw: Any) -> Any:
    with g.as_default():
        sd = saver.as_saver_def() if saver is not None else None
        return v1.train.export_meta_graph(saver_def=sd, **kw)


def dense_unsharded() -> Any:
    return _export(*dense_graph(False))


def dense_sharded() -> Any:
    return _export(*dense_graph(True))


def dense_sharded_stripped() -> Any:
    return _export(*dense_graph(True), strip_default_attrs=True, clear_devices=True)


def ops() -> Any:
    g = tf.Graph()
    with g.as_default():
        x = v1.placeholder(tf.float32, shape=(None, 2, 3), name="x")
        img = v1.placeholder(tf.float32, shape=(None, 8, 8, 3), name="img")
        idx = v1.placeholder(tf.int32, shape=(None,), name="idx")
        cond = v1.placeholder(tf.bool, shape=(None, 6), name="cond")
        r = raw.Reshape(tensor=x, shape=[-1, 6], name="r")
        raw.Reshape(tensor=x, shape=np.array([2, -1], np.int64), name="r2")
        raw.Transpose(x=x, perm=[2, 0, 1], name="t")
        raw.ConcatV2(values=[r, r], axis=1, name="cat")
        raw.ConcatV2(values=[r, r], axis=0, name="cat0")
        raw.Pack(values=[r, r], axis=1, name="pk")
        raw.Squeeze(input=raw.ExpandDims(input=r, axis=1, name="ed"), axis=[1], name="sq")
        raw.Cast(x=r, DstT=tf.int32, name="cast")
        raw.ArgMax(input=r, dimension=1, name="am")
        raw.Mean(input=x, axis=[1, 2], keep_dims=True, name="mean")
        raw.Sum(input=x, axis=1, name="sum")
        raw.Max(input=x, axis=[-1], name="max")
        kernel = np.ones((3, 3, 3, 4), np.float32)
        raw.Conv2D(input=img, filter=kernel, strides=[1, 2, 2, 1], padding="SAME", name="conv")
        raw.Conv2D(input=img, filter=kernel, strides=[1, 1, 1, 1], padding="VALID",
                   name="conv_v")
        raw.MaxPool(input=img, ksize=[1, 2, 2, 1], strides=[1, 2, 2, 1], padding="VALID",
                    name="mp")
        raw.AvgPool(value=img, ksize=[1, 3, 3, 1], strides=[1, 2, 2, 1], padding="SAME",
                    name="ap")
        table = np.arange(20, dtype=np.float32).reshape(10, 2)
        raw.GatherV2(params=table, indices=idx, axis=0, name="gather")
        raw.Select(condition=cond, x=r, y=raw.ZerosLike(x=r, name="z"), name="sel")
        raw.SelectV2(condition=cond, t=r, e=0.0, name="sel2")
        raw.BatchMatMulV2(x=x, y=np.ones((3, 4), np.float32), name="bmm")
        for op in ("Sub", "RealDiv", "Maximum", "Minimum", "AddV2", "Add", "SquaredDifference"):
            getattr(raw, op)(x=r, y=np.ones((1, 6), np.float32))
        for op in ("Relu6", "Sigmoid", "Tanh", "Square", "Sqrt", "Exp", "Neg", "Abs",
                   "Softplus"):
            getattr(raw, op)(**{"features" if op in ("Relu6", "Softplus") else "x": r})
        raw.Equal(x=idx, y=3)
        raw.Shape(input=x, name="shape")
        raw.Fill(dims=[2, 3], value=1.5, name="fill")
        raw.OneHot(indices=idx, depth=5, on_value=1.0, off_value=0.0, name="oh")
        raw.TopKV2(input=r, k=2, name="topk")
        raw.Tile(input=r, multiples=[2, 1], name="tile")
        raw.Range(start=0, limit=10, delta=3, name="range")
        raw.IdentityN(input=[r, idx], name="idn")
        raw.AddN(inputs=[r, r, r], name="addn")
        raw.Softmax(logits=r, name="sm")
        raw.Identity(input=tf.constant(["a", "bc"], name="strings"), name="id_s")
        v1.placeholder_with_default(np.zeros((2,), np.int64), shape=(None,), name="pwd")
    return _export(g)


def parse_example() -> Any:
    g = tf.Graph()
    with g.as_default():
        serialized = v1.placeholder(tf.string, shape=(None,), name="tf_example")
        tf.io.parse_example(serialized, {
            "x": tf.io.FixedLenFeature([3], tf.float32),
            "y": tf.io.FixedLenFeature([], tf.int64, default_value=7),
            "s": tf.io.VarLenFeature(tf.string)})
    return _export(g, strip_default_attrs=True)


def names() -> Any:
    g = tf.Graph()
    with g.as_default():
        x = v1.placeholder(tf.float32, shape=(2,), name="x")
        tf.constant(1.0, name="x")
        tf.constant(2.0, name="X")
        tf.constant(3.0, name="y_1")
        y = raw.Neg(x=x, name="y")
        raw.Neg(x=x, name="y")
        with g.name_scope("dense"):
            a = raw.Relu(features=x)
            with g.name_scope("inner"):
                raw.Relu(features=a)
        with g.name_scope("dense"):
            raw.Relu(features=x)
        with g.name_scope("dense/"):
            raw.Relu(features=x)
        v = v1.Variable(np.zeros((2,), np.float32), name="save", use_resource=False)
        with g.name_scope("layer"):
            k = v1.Variable(np.ones((2,), np.float32), name="kernel", use_resource=True)
            v1.Variable(np.int64(0), name="counter", trainable=False, use_resource=False,
                        collections=[v1.GraphKeys.LOCAL_VARIABLES])
        with g.device("/cpu:0"):
            on_cpu = raw.AddV2(x=y, y=g.get_tensor_by_name("layer/kernel/Read/ReadVariableOp:0"),
                               name="on_cpu")
        c = tf.constant(4.0, name="c")
        with g.control_dependencies([c, on_cpu.op]):
            d = raw.Mul(x=on_cpu, y=2.0, name="d")
            with g.control_dependencies([v.initializer]):
                raw.Identity(input=d, name="e")
        tf.group(on_cpu, d.op, c.op, name="grouped")
        v1.global_variables_initializer()
        v1.local_variables_initializer()
        g.add_to_collection("outputs", d)
        g.add_to_collection("outputs", g.get_operation_by_name("grouped"))
        g.add_to_collection("labels", b"one")
        g.add_to_collection("labels", "two")
        g.add_to_collection("ints", 3)
        g.add_to_collection("floats", 0.25)
        saver = v1.train.Saver()
        v1.train.Saver(sharded=True, var_list={"renamed": k})
    return _export(g, saver)


def ops2() -> Any:
    g = tf.Graph()
    with g.as_default():
        x = v1.placeholder(tf.float32, shape=(None, 4, 6), name="x")
        k = v1.placeholder(tf.float32, shape=(5, 4, 6), name="k")
        img = v1.placeholder(tf.float32, shape=(2, 8, 8, 3), name="img")
        keys = v1.placeholder(tf.string, shape=(None,), name="keys")
        ss = raw.StridedSlice
        ss(input=k, begin=[1, 0], end=[0, 5], strides=[1, 2], begin_mask=0, end_mask=1,
           name="ss1")
        ss(input=raw.Shape(input=x, name="sx"), begin=[0], end=[1], strides=[1],
           shrink_axis_mask=1, name="ss2")
        ss(input=k, begin=[0, -1], end=[0, 0], strides=[1, 1], ellipsis_mask=1,
           shrink_axis_mask=2, name="ss3")
        ss(input=x, begin=[0, 0, 0], end=[0, 0, 0], strides=[1, 1, -1], begin_mask=7,
           end_mask=7, new_axis_mask=2, name="ss4")
        ss(input=k, begin=[-2], end=[-5], strides=[-1], name="ss5")
        raw.Slice(input=k, begin=[1, 0, 2], size=[-1, 2, -1], name="sl")
        raw.Split(axis=2, value=k, num_split=3, name="sp")
        raw.SplitV(value=k, size_splits=[1, -1, 2], axis=0, num_split=3, name="spv")
        raw.Unpack(value=k, num=4, axis=1, name="up")
        raw.Pad(input=x, paddings=[[0, 0], [1, 2], [0, 1]], name="pad")
        raw.PadV2(input=k, paddings=[[1, 1], [0, 0], [2, 0]], constant_values=0.5,
                  name="pad2")
        raw.BroadcastTo(input=tf.constant(np.float32(1.0)), shape=[3, 2], name="bt")
        raw.ResizeBilinear(images=img, size=[16, 4], name="resize")
        c3 = np.ones((3,), np.float32)
        raw.FusedBatchNormV3(x=img, scale=c3, offset=c3, mean=c3, variance=c3,
                             is_training=False, name="bn")
        raw.GatherNd(params=k, indices=v1.placeholder(tf.int32, shape=(None, 2),
                                                      name="nd_idx"), name="gnd")
        raw.DepthwiseConv2dNative(input=img, filter=np.ones((3, 3, 3, 2), np.float32),
                                  strides=[1, 1, 1, 1], padding="SAME", name="dw")
        raw.Einsum(inputs=[x, v1.placeholder(tf.float32, shape=(6, 7), name="m")],
                   equation="bij,jk->bik", name="es")
        table = raw.HashTableV2(key_dtype=tf.string, value_dtype=tf.int64, name="table")
        raw.LookupTableImportV2(table_handle=table, keys=["a", "b"],
                                values=np.array([1, 2], np.int64), name="table_init")
        raw.LookupTableFindV2(table_handle=table, keys=keys, default_value=np.int64(-1),
                              name="lookup")
        raw.StringJoin(inputs=[keys, "suffix"], separator="_", name="join")
        raw.Where(condition=raw.Less(x=x, y=0.0, name="neg"), name="where")
        raw.Size(input=x, name="size")
        raw.Rank(input=x, name="rank")
        raw.ShapeN(input=[x, k], name="shapes")
        raw.Cumsum(x=x, axis=1, name="cumsum")
        for op in ("LeakyRelu", "Elu", "LogSoftmax", "StopGradient", "Sign", "Round", "Rsqrt",
                   "Log", "Log1p", "OnesLike"):
            arg = {"LeakyRelu": "features", "Elu": "features", "LogSoftmax": "logits",
                   "StopGradient": "input"}.get(op, "x")
            getattr(raw, op)(**{arg: x})
        raw.LogicalAnd(x=raw.Greater(x=x, y=1.0), y=raw.Cast(x=x, DstT=tf.bool))
        raw.Pow(x=x, y=2.0)
        raw.FloorDiv(x=x, y=3.0)
        nchw = v1.placeholder(tf.float32, shape=(None, 3, 5, 5), name="nchw")
        raw.BiasAdd(value=nchw, bias=c3, data_format="NCHW", name="bias_nchw")
        raw.Conv2D(input=nchw, filter=np.ones((2, 2, 3, 4), np.float32), strides=[1, 1, 2, 2],
                   padding="VALID", data_format="NCHW", name="conv_nchw")
        raw.Prod(input=x, axis=[0, 2], name="prod")
        raw.Any(input=g.get_tensor_by_name("neg:0"), axis=-1, keep_dims=True, name="any")
        raw.Min(input=k, axis=0, name="min")
        raw.ArgMin(input=k, dimension=np.int64(2), name="argmin")
    return _export(g)


PROGRAMS: dict[str, Callable[[], Any]] = {
    "ops2": ops2,
    "dense_unsharded": dense_unsharded,
    "dense_sharded": dense_sharded,
    "dense_sharded_stripped": dense_sharded_stripped,
    "ops": ops,
    "parse_example": parse_example,
    "names": names,
}


def main() -> int:
    for name, build in PROGRAMS.items():
        mg = build()
        with open(os.path.join(HERE, f"{name}.pbtxt"), "w", encoding="utf-8") as f:
            f.write(f"# Exported by TensorFlow {tf.__version__}; see make_graph_goldens.py.\n")
            f.write(text_format.MessageToString(mg))
        print(f"wrote {name}.pbtxt ({len(mg.graph_def.node)} nodes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
