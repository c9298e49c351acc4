#!/usr/bin/env python
"""Regenerate tests/data/golden/rnn/: recurrent SavedModels and TensorFlow's outputs.

Run with the TensorFlow venv (it deletes and rewrites the model folders):

    /work/tfenv/bin/python tests/data/golden/rnn/make_rnn_goldens.py

Writes, next to this script:

* ``<name>/``: small TF 2.21 SavedModels. Keras 3 models are written with ``model.export``
  (as tests/data/make_runtime_goldens.py does): Sequential LSTM, GRU and SimpleRNN, each with
  ``return_sequences`` true and false, and a Bidirectional LSTM. ``tensor_array`` is a
  ``tf.Module`` saved with ``tf.saved_model.save`` whose ``tf.function`` writes, reads,
  sizes and stacks a ``tf.TensorArray`` in a ``tf.range`` loop.
* ``<name>.npz``: the inputs (``in/<key>``) and TensorFlow's outputs (``out/<key>``) of
  ``serving_default``, for a batch of 1 and a batch of 3 (``<batch>/in/<key>``...).

Weights and inputs come from ``numpy.random.RandomState`` with fixed seeds.
"""

import os
import shutil

os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

tf.get_logger().setLevel("ERROR")

HERE = os.path.dirname(os.path.abspath(__file__))
SEQ, FEATURES = 5, 3


def set_weights(model, rng, scale=0.5):
    for layer in model.layers:
        ws = layer.get_weights()
        if ws:
            layer.set_weights([rng.randn(*w.shape).astype(w.dtype) * scale for w in ws])


def record(name, export_dir, inputs_by_batch):
    loaded = tf.saved_model.load(export_dir)
    fn = loaded.signatures["serving_default"]
    arrays = {}
    for batch, inputs in inputs_by_batch.items():
        out = fn(**{k: tf.constant(v) for k, v in inputs.items()})
        for k, v in inputs.items():
            arrays[f"{batch}/in/{k}"] = v
        for k in sorted(out):
            arrays[f"{batch}/out/{k}"] = out[k].numpy()
    np.savez_compressed(os.path.join(HERE, f"{name}.npz"), **arrays)
    print("model", name, sorted(arrays))


def keras_rnn(name, make_layer, seed):
    import keras

    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((SEQ, FEATURES), name="seq"), make_layer()])
    rng = np.random.RandomState(seed)
    set_weights(model, rng)
    d = os.path.join(HERE, name)
    model.export(d, verbose=False)
    record(name, d, {b: {"seq": rng.randn(b, SEQ, FEATURES).astype(np.float32)}
                     for b in (1, 3)})


def keras_models():
    from keras import layers

    keras_rnn("lstm_seq", lambda: layers.LSTM(6, return_sequences=True), 1)
    keras_rnn("lstm_last", lambda: layers.LSTM(6), 2)
    keras_rnn("gru_seq", lambda: layers.GRU(5, return_sequences=True), 3)
    keras_rnn("gru_last", lambda: layers.GRU(5), 4)
    keras_rnn("simple_rnn_seq", lambda: layers.SimpleRNN(4, return_sequences=True), 5)
    keras_rnn("simple_rnn_last", lambda: layers.SimpleRNN(4), 6)
    keras_rnn("bidi_lstm", lambda: layers.Bidirectional(layers.LSTM(4)), 7)


class ArrayModule(tf.Module):
    """A TensorArray filled in a loop: write, read back, size and stack."""

    @tf.function(input_signature=[tf.TensorSpec([None, 3], tf.float32, name="x")])
    def run(self, x):
        n = tf.shape(x)[0]
        ta = tf.TensorArray(tf.float32, size=n, element_shape=[3])
        for i in tf.range(n):
            ta = ta.write(i, x[i] * tf.cast(i + 1, tf.float32))
        acc = tf.zeros([3])
        for i in tf.range(n):
            acc = acc + ta.read(i)
        grow = tf.TensorArray(tf.int32, size=0, dynamic_size=True)
        for i in tf.range(n):
            grow = grow.write(i, i * i)
        return {"stacked": ta.stack(), "sum": acc, "size": ta.size(),
                "squares": grow.stack()}


def tensor_array_module():
    m = ArrayModule()
    d = os.path.join(HERE, "tensor_array")
    tf.saved_model.save(m, d, signatures={"serving_default": m.run})
    rng = np.random.RandomState(11)
    record("tensor_array", d, {b: {"x": rng.randn(b, 3).astype(np.float32)}
                               for b in (1, 4)})


def main():
    for entry in os.listdir(HERE):
        path = os.path.join(HERE, entry)
        if os.path.isdir(path):
            shutil.rmtree(path)
        elif entry.endswith(".npz"):
            os.remove(path)
    keras_models()
    tensor_array_module()


if __name__ == "__main__":
    main()
