"""Write the TF1 control-flow (v1) SavedModels and TensorFlow's outputs for them.

Run with TensorFlow (2.21 was used): ``/work/tfenv/bin/python make_cf_v1_goldens.py``.
Every model is built in graph mode with control flow v1 (Switch/Merge/Enter/Exit/
NextIteration/LoopCond ops, checked below) and saved with ``simple_save``; each call's
inputs and the outputs TensorFlow's Session computed go to ``arrays.npz`` as
``<model>/<call>/in/<key>`` and ``<model>/<call>/out/<key>``; ``manifest.json`` lists the
models and calls.
"""

from __future__ import annotations

import json
import os
import shutil

import numpy as np
import tensorflow as tf
from tensorflow.python.ops import rnn, rnn_cell_impl

HERE = os.path.dirname(os.path.abspath(__file__))
V1_OPS = {"Switch", "Merge"}
LOOP_OPS = {"Enter", "Exit", "NextIteration", "LoopCond"}

v1 = tf.compat.v1
v1.disable_v2_behavior()
v1.disable_control_flow_v2()


def cond_model(x, p):
    # The false branch is a constant: TF1 puts it under a control input from the pivot.
    y = v1.cond(p, lambda: x * 2.0 + 1.0, lambda: tf.constant([7.0, -8.0, 9.0]))
    z = v1.cond(p, lambda: tf.reduce_sum(x), lambda: tf.reduce_max(x) - 1.0)
    return {"y": y, "z": z}


def nested_cond_model(x, p, q):
    y = v1.cond(p, lambda: v1.cond(q, lambda: x + 1.0, lambda: x * x),
                lambda: v1.cond(q, lambda: -x, lambda: x - 10.0))
    return {"y": y}


def while_model(x, n):
    i, acc = v1.while_loop(lambda i, a: i < n,
                           lambda i, a: (i + 1, a + tf.cast(i, tf.float32) * x),
                           [tf.constant(0), tf.zeros_like(x)])
    return {"acc": acc, "count": i}


def nested_while_model(x, n):
    def outer(i, a):
        _, b = v1.while_loop(lambda j, b: j < i, lambda j, b: (j + 1, b * 0.5 + x),
                             [tf.constant(0), a])
        return i + 1, b
    _, out = v1.while_loop(lambda i, a: i < n, outer, [tf.constant(0), tf.zeros_like(x)])
    return {"out": out}


def cond_in_while_model(x, n):
    def body(i, a):
        step = v1.cond(tf.equal(i % 3, 0), lambda: x, lambda: a * 0.25)
        return i + 1, a + step
    _, out = v1.while_loop(lambda i, a: i < n, body, [tf.constant(0), tf.zeros_like(x)])
    return {"out": out}


def rnn_model(x, seq_len):
    cell = rnn_cell_impl.LSTMCell(4, initializer=v1.random_uniform_initializer(-0.5, 0.5,
                                                                              seed=7))
    outputs, state = rnn.dynamic_rnn(cell, x, sequence_length=seq_len, dtype=tf.float32)
    return {"outputs": outputs, "c": state.c, "h": state.h}


def basic_rnn_model(x):
    cell = rnn_cell_impl.BasicRNNCell(4)
    outputs, state = rnn.dynamic_rnn(cell, x, dtype=tf.float32)
    return {"outputs": outputs, "state": state}


rng = np.random.RandomState(20)
f32 = np.float32
MODELS = [
    ("cond", cond_model, {"x": (tf.float32, [3]), "p": (tf.bool, [])},
     [{"x": rng.randn(3).astype(f32), "p": np.array(True)},
      {"x": rng.randn(3).astype(f32), "p": np.array(False)}]),
    ("nested_cond", nested_cond_model,
     {"x": (tf.float32, [None]), "p": (tf.bool, []), "q": (tf.bool, [])},
     [{"x": rng.randn(4).astype(f32), "p": np.array(p), "q": np.array(q)}
      for p in (True, False) for q in (True, False)]),
    ("while", while_model, {"x": (tf.float32, [3]), "n": (tf.int32, [])},
     [{"x": rng.randn(3).astype(f32), "n": np.array(n, np.int32)} for n in (0, 1, 7)]),
    ("nested_while", nested_while_model, {"x": (tf.float32, [2]), "n": (tf.int32, [])},
     [{"x": rng.randn(2).astype(f32), "n": np.array(n, np.int32)} for n in (0, 3, 6)]),
    ("cond_in_while", cond_in_while_model, {"x": (tf.float32, [3]), "n": (tf.int32, [])},
     [{"x": rng.randn(3).astype(f32), "n": np.array(n, np.int32)} for n in (1, 5)]),
    ("lstm", rnn_model, {"x": (tf.float32, [None, 5, 3]), "seq_len": (tf.int32, [None])},
     [{"x": rng.randn(2, 5, 3).astype(f32), "seq_len": np.array([5, 3], np.int32)}]),
    ("basic_rnn", basic_rnn_model, {"x": (tf.float32, [None, 5, 3])},
     [{"x": rng.randn(3, 5, 3).astype(f32)}]),
]


def build(name, fn, specs, calls, arrays):
    export_dir = os.path.join(HERE, name)
    shutil.rmtree(export_dir, ignore_errors=True)
    graph = tf.Graph()
    with graph.as_default():
        v1.set_random_seed(5)
        inputs = {k: v1.placeholder(dt, shape, name=k) for k, (dt, shape) in specs.items()}
        outputs = fn(**inputs)
        ops = {op.type for op in graph.get_operations()}
        loops = fn not in (cond_model, nested_cond_model)
        assert V1_OPS <= ops and (not loops or LOOP_OPS <= ops), (name, sorted(ops))
        with v1.Session(graph=graph) as sess:
            sess.run(v1.global_variables_initializer())
            records = []
            for i, call in enumerate(calls):
                got = sess.run(outputs, {inputs[k]: v for k, v in call.items()})
                for k, v in call.items():
                    arrays[f"{name}/{i}/in/{k}"] = v
                for k, v in got.items():
                    arrays[f"{name}/{i}/out/{k}"] = np.asarray(v)
                records.append({"inputs": sorted(call), "outputs": sorted(got)})
            v1.saved_model.simple_save(sess, export_dir, inputs, outputs)
    return {"model": name, "signature": "serving_default", "calls": records}


def main():
    arrays = {}
    manifest = [build(*m, arrays) for m in MODELS]
    np.savez(os.path.join(HERE, "arrays.npz"), **arrays)
    with open(os.path.join(HERE, "manifest.json"), "w") as f:
        json.dump({"tensorflow": tf.__version__, "models": manifest}, f, indent=1,
                  sort_keys=True)


if __name__ == "__main__":
    main()
