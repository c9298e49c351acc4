"""savedmodel_io.protos and tensorflow coexist in one process, imported in either order."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import savedmodel_io

pytestmark = pytest.mark.interop

SRC = str(Path(savedmodel_io.__file__).resolve().parent.parent)

IMPORT_OURS = """
from savedmodel_io.protos import meta_graph_pb2 as ours_mg
from savedmodel_io.protos import saved_model_pb2 as ours_sm
from savedmodel_io.protos import tensor_bundle_pb2 as ours_tb
from savedmodel_io.protos._pool import POOL
"""
IMPORT_TF = """
import tensorflow as tf
from tensorflow.core.protobuf import meta_graph_pb2 as tf_mg
from tensorflow.core.protobuf import saved_model_pb2 as tf_sm
from tensorflow.core.protobuf import tensor_bundle_pb2 as tf_tb
"""

CHECKS = r"""
import tempfile
from google.protobuf import text_format

assert ours_mg.MetaGraphDef is not tf_mg.MetaGraphDef
assert ours_mg.MetaGraphDef.DESCRIPTOR.full_name == tf_mg.MetaGraphDef.DESCRIPTOR.full_name

def same(ours, theirs):
    # Equal text (Any payloads expanded on both sides) and identical deterministic bytes.
    t_ours = text_format.MessageToString(ours, descriptor_pool=POOL)
    t_theirs = text_format.MessageToString(theirs)
    assert t_ours == t_theirs, (t_ours, t_theirs)
    assert ours.SerializeToString(deterministic=True) == theirs.SerializeToString(
        deterministic=True
    )

# ours -> TF
m = ours_mg.MetaGraphDef()
m.meta_info_def.tags.append("serve")
m.meta_info_def.tensorflow_version = "2.21.0"
sig = m.signature_def["serving_default"]
sig.method_name = "tensorflow/serving/predict"
sig.inputs["x"].name = "x:0"
sig.inputs["x"].dtype = 1
sig.inputs["x"].tensor_shape.dim.add().size = -1
sig.outputs["y"].coo_sparse.values_tensor_name = "v:0"
node = m.graph_def.node.add(name="x", op="Placeholder")
node.attr["dtype"].type = 1
node.attr["shape"].shape.unknown_rank = True
m.graph_def.versions.producer = 1882
asset = ours_mg.AssetFileDef(filename="vocab.txt")
asset.tensor_info.name = "asset_path:0"
m.collection_def["saved_model_assets"].any_list.value.add().Pack(asset)
m.collection_def["variables"].bytes_list.value.append(b"\x00\x01")
theirs = tf_mg.MetaGraphDef.FromString(m.SerializeToString())
same(m, theirs)
unpacked = tf_mg.AssetFileDef()
assert theirs.collection_def["saved_model_assets"].any_list.value[0].Unpack(unpacked)
assert unpacked.filename == "vocab.txt"

e = ours_tb.BundleEntryProto(dtype=1, shard_id=0, offset=8, size=16, crc32c=0xDEADBEEF)
e.shape.dim.add().size = 4
e.slices.add().extent.add(start=0, length=2)
te = tf_tb.BundleEntryProto.FromString(e.SerializeToString())
same(e, te)
assert te.crc32c == 0xDEADBEEF

# TF -> ours: a real graph exported by TensorFlow.
g = tf.Graph()
with g.as_default():
    v = tf.compat.v1.get_variable("v", shape=[2, 3], initializer=tf.compat.v1.zeros_initializer())
    x = tf.compat.v1.placeholder(tf.float32, [None, 3], name="x")
    y = tf.matmul(x, tf.transpose(v), name="y")
    tf.compat.v1.train.Saver()
    exported = tf.compat.v1.train.export_meta_graph(graph=g)
back = ours_mg.MetaGraphDef.FromString(exported.SerializeToString())
same(back, exported)

# TF -> ours: a TF2 SavedModel with an object graph and functions.
class M(tf.Module):
    def __init__(self):
        self.w = tf.Variable([1.0, 2.0])
    @tf.function(input_signature=[tf.TensorSpec([None, 2], tf.float32)])
    def __call__(self, x):
        return x * self.w

with tempfile.TemporaryDirectory() as d:
    tf.saved_model.save(M(), d)
    raw = open(d + "/saved_model.pb", "rb").read()
ours_model = ours_sm.SavedModel.FromString(raw)
tf_model = tf_sm.SavedModel.FromString(raw)
same(ours_model, tf_model)
assert tf_sm.SavedModel.FromString(ours_model.SerializeToString()) == tf_model
print("OK")
"""


def _run(code: str) -> None:
    env = dict(os.environ)
    env["PYTHONPATH"] = SRC + os.pathsep + env.get("PYTHONPATH", "")
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0 and proc.stdout.strip().endswith("OK"), proc.stderr[-4000:]


def test_savedmodel_io_first_then_tensorflow() -> None:
    _run(IMPORT_OURS + IMPORT_TF + CHECKS)


def test_tensorflow_first_then_savedmodel_io() -> None:
    _run(IMPORT_TF + IMPORT_OURS + CHECKS)
