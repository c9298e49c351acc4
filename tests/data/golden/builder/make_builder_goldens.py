#!/usr/bin/env python
"""Regenerate the SavedModels TensorFlow's TF1 builder writes (tests/saved_model/test_builder.py).

Run with the TensorFlow venv (TF 2.21 CPU), from anywhere:

    /work/tfenv/bin/python tests/data/golden/builder/make_builder_goldens.py

Each case below builds a small graph with ``tf.compat.v1`` and exports it with
``tf.compat.v1.saved_model.Builder`` (or ``simple_save``) into ``<case>/`` beside this
script. The tests build the same graphs with savedmodel_io and compare the files. Asset
sources are written with relative paths (cwd = a scratch folder), so the graphs hold no
machine-specific path. ``fingerprint.json`` holds what TensorFlow's ``CreateFingerprintDef``
computes for each binary SavedModel (the TF1 builder writes no fingerprint.pb itself),
plus an ``empty_graph`` SavedModel (one MetaGraphDef, empty GraphDef) and
``tf.fingerprint(..., "farmhash64")`` of byte strings of many lengths (``farmhash``:
inputs are ``RandomState(FARMHASH_SEED).randint(0, 256, n)`` for each length ``n``).
"""

import json
import os
import shutil
import tempfile

os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from tensorflow.core.protobuf import fingerprint_pb2  # noqa: E402
from tensorflow.python.saved_model.pywrap_saved_model import (  # noqa: E402
    fingerprinting as fingerprinting_pywrap,
)

tf.get_logger().setLevel("ERROR")
v1 = tf.compat.v1
S = v1.saved_model
HERE = os.path.dirname(os.path.abspath(__file__))

VOCAB_A = b"cat\ndog\nbird\n"   # asset sources (also written by the tests)
VOCAB_B = b"red\ngreen\n"
MLP_SEED = 7
FARMHASH_SEED = 5
FARMHASH_LENGTHS = list(range(0, 130)) + [191, 192, 193, 255, 256, 257, 1000, 4099]


def half_plus_two(resource):
    x = v1.placeholder(tf.float32, shape=(None,), name="x")
    a = v1.Variable(np.float32(0.5), name="a", use_resource=resource)
    b = v1.Variable(np.float32(2.0), name="b", use_resource=resource)
    y = tf.add(tf.multiply(a, x), b, name="y")
    return x, y, v1.global_variables_initializer()


def case_hp2(out, resource, as_text=False):
    with tf.Graph().as_default():
        x, y, init = half_plus_two(resource)
        with v1.Session() as sess:
            sess.run(init)
            b = S.Builder(out)
            b.add_meta_graph_and_variables(
                sess, ["serve"],
                signature_def_map={"serving_default": S.predict_signature_def({"x": x},
                                                                              {"y": y})})
            b.save(as_text=as_text)


def case_two_tags(out):
    with tf.Graph().as_default():
        x, y, init = half_plus_two(False)
        with v1.Session() as sess:
            sess.run(init)
            b = S.Builder(out)
            b.add_meta_graph_and_variables(
                sess, ["serve"],
                signature_def_map={"serving_default": S.predict_signature_def({"x": x},
                                                                              {"y": y})},
                strip_default_attrs=True)
            b.add_meta_graph(["serve", "gpu"], signature_def_map={
                "gpu_default": S.predict_signature_def({"input": x}, {"output": y})})
            b.save()


def mlp_weights():
    rng = np.random.RandomState(MLP_SEED)
    return (rng.randn(4, 8).astype(np.float32), rng.randn(8).astype(np.float32),
            rng.randn(8, 3).astype(np.float32), rng.randn(3).astype(np.float32))


def case_mlp(out):
    w1, b1, w2, b2 = mlp_weights()
    with tf.Graph().as_default():
        x = v1.placeholder(tf.float32, shape=(None, 4), name="x")
        with tf.name_scope("hidden"):
            w = v1.Variable(w1, name="kernel")
            b = v1.Variable(b1, name="bias")
            h = tf.nn.relu(tf.nn.bias_add(tf.matmul(x, w), b))
        with tf.name_scope("logits"):
            w = v1.Variable(w2, name="kernel")
            b = v1.Variable(b2, name="bias")
            logits = tf.nn.bias_add(tf.matmul(h, w), b)
        probs = tf.nn.softmax(logits, name="probabilities")
        with v1.Session() as sess:
            sess.run(v1.global_variables_initializer())
            bld = S.Builder(out)
            bld.add_meta_graph_and_variables(
                sess, ["serve"], signature_def_map={
                    "serving_default": S.predict_signature_def({"x": x},
                                                               {"probabilities": probs})})
            bld.save()


def case_assets(out):
    """Three asset tensors: two files named vocab.txt with different contents, and the
    first one again; a hash table initialized from the first, run by main_op."""
    with tf.Graph().as_default():
        va = tf.constant("src_a/vocab.txt", name="vocab_a")
        vb = tf.constant("src_b/vocab.txt", name="vocab_b")
        va2 = tf.constant("src_a/vocab.txt", name="vocab_a_again")
        for t in (va, vb, va2):
            v1.add_to_collection(v1.GraphKeys.ASSET_FILEPATHS, t)
        words = v1.placeholder(tf.string, shape=(None,), name="words")
        table = tf.raw_ops.HashTableV2(key_dtype=tf.string, value_dtype=tf.int64,
                                       shared_name="vocab_table", name="table")
        init = tf.raw_ops.InitializeTableFromTextFileV2(
            table_handle=table, filename=va, key_index=-2, value_index=-1, name="table_init")
        ids = tf.raw_ops.LookupTableFindV2(table_handle=table, keys=words,
                                           default_value=np.int64(-1), name="ids")
        main_op = tf.group(init, name="main_op")
        with v1.Session() as sess:
            bld = S.Builder(out)
            bld.add_meta_graph_and_variables(
                sess, ["serve"],
                signature_def_map={"serving_default": S.predict_signature_def(
                    {"words": words}, {"ids": ids})},
                assets_collection=v1.get_collection(v1.GraphKeys.ASSET_FILEPATHS),
                main_op=main_op)
            bld.save()


def case_simple_save(out):
    rng = np.random.RandomState(11)
    with tf.Graph().as_default():
        x = v1.placeholder(tf.float32, shape=(None, 3), name="x")
        w = v1.Variable(rng.randn(3, 1).astype(np.float32), name="w")
        y = tf.identity(tf.matmul(x, w), name="y")
        with v1.Session() as sess:
            sess.run(v1.global_variables_initializer())
            S.simple_save(sess, out, inputs={"x": x}, outputs={"y": y})


CASES = {
    "hp2_ref": lambda out: case_hp2(out, False),
    "hp2_resource": lambda out: case_hp2(out, True),
    "hp2_ref_text": lambda out: case_hp2(out, False, as_text=True),
    "two_tags": case_two_tags,
    "mlp": case_mlp,
    "assets": case_assets,
    "simple_save": case_simple_save,
}


def case_empty_graph(out):
    from tensorflow.core.protobuf import saved_model_pb2
    os.makedirs(out)
    sm = saved_model_pb2.SavedModel(saved_model_schema_version=1)
    sm.meta_graphs.add().meta_info_def.tags.append("serve")
    with open(os.path.join(out, "saved_model.pb"), "wb") as f:
        f.write(sm.SerializeToString(deterministic=True))


def farmhash_vectors():
    rng = np.random.RandomState(FARMHASH_SEED)
    data = [bytes(rng.randint(0, 256, n).astype(np.uint8)) for n in FARMHASH_LENGTHS]
    out = tf.fingerprint(tf.constant(data, dtype=tf.string), "farmhash64").numpy()
    return {"seed": FARMHASH_SEED, "lengths": FARMHASH_LENGTHS,
            "fingerprint64": [int.from_bytes(bytes(o), "little") for o in out]}


CASES_FINGERPRINT_ONLY = {"empty_graph": case_empty_graph}


def main():
    fingerprints = {}
    scratch = tempfile.mkdtemp()
    cwd = os.getcwd()
    try:
        os.chdir(scratch)
        os.makedirs("src_a")
        os.makedirs("src_b")
        with open("src_a/vocab.txt", "wb") as f:
            f.write(VOCAB_A)
        with open("src_b/vocab.txt", "wb") as f:
            f.write(VOCAB_B)
        for name, make in list(CASES.items()) + list(CASES_FINGERPRINT_ONLY.items()):
            out = os.path.join(HERE, name)
            shutil.rmtree(out, ignore_errors=True)
            make(out)
            if os.path.exists(os.path.join(out, "saved_model.pb")):
                fp = fingerprint_pb2.FingerprintDef.FromString(
                    fingerprinting_pywrap.CreateFingerprintDef(out))
                fingerprints[name] = {
                    "saved_model_checksum": fp.saved_model_checksum,
                    "graph_def_program_hash": fp.graph_def_program_hash,
                    "signature_def_hash": fp.signature_def_hash,
                    "saved_object_graph_hash": fp.saved_object_graph_hash,
                    "checkpoint_hash": fp.checkpoint_hash,
                    "version_producer": fp.version.producer}
            if name in CASES_FINGERPRINT_ONLY:
                shutil.rmtree(out)
    finally:
        os.chdir(cwd)
        shutil.rmtree(scratch)
    with open(os.path.join(HERE, "fingerprint.json"), "w") as f:
        json.dump({"tensorflow_version": tf.__version__, "fingerprints": fingerprints,
                   "farmhash": farmhash_vectors()}, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
