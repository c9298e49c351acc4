#!/usr/bin/env python
"""Regenerate tests/data/golden/runtime/: models and outputs written by TensorFlow 2.21.

Run with the TensorFlow venv:

    /work/tfenv/bin/python tests/data/make_runtime_goldens.py

It writes (deleting the folder first):

* ``models/<name>/``: small SavedModels TF writes here (Keras 3 ``model.export`` of an MLP,
  a CNN and a text model; a TF1 ``SavedModelBuilder`` model with ref and resource
  variables, a main_op and tf.Example parsing; a TF2 ``tf.Module`` with If/While/nested
  calls/ResourceGather/strings);
* ``arrays.npz``: numeric inputs and TensorFlow's outputs; ``manifest.json`` says which
  array belongs where (string tensors are inline as base64 lists);
* ``manifest.json["corpus"]``: TensorFlow's outputs for every signature of the tf-serving
  corpus models (run as ``saved_model_cli run`` does: a TF1 Session after
  ``loader.load``), call after call (the counter model keeps state);
* ``manifest.json["existing"]``: the same for the SavedModels other generators wrote under
  tests/data/golden/ (including TF's twins of the builder tests' models, golden/builder/);
* ``manifest.json["ops"]``: single-op (or small) graphs traced with ``tf.function``, each
  as a serialized GraphDef with feed/fetch tensor names, inputs and TF's outputs.

Values come from ``numpy.random.RandomState`` with fixed seeds. Only this script imports
TensorFlow; the tests read its output.
"""

import base64
import json
import os
import shutil
import sys

os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

tf.get_logger().setLevel("ERROR")

HERE = os.path.dirname(os.path.abspath(__file__))
GOLDEN = os.path.join(HERE, "golden")
OUT = os.path.join(GOLDEN, "runtime")
MODELS = os.path.join(OUT, "models")
CORPUS = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(HERE))), "shared",
                      "corpus", "tf-serving")

ARRAYS: dict = {}
MANIFEST: dict = {
    "generator": "tests/data/make_runtime_goldens.py",
    "tensorflow_version": tf.__version__,
    "conventions": {
        "value": "{'npz': key} (arrays.npz) or {'strings_b64': [...], 'shape': [...]} for "
                 "DT_STRING; outputs are keyed by signature output key (sorted)",
        "error": "a call TensorFlow refused: the 'error' field holds its exception type",
    },
    "corpus": [],
    "existing": [],
    "models": [],
    "ops": [],
}


def enc(key, value):
    arr = np.asarray(value)
    if arr.dtype.kind in "OSU":
        flat = [v if isinstance(v, bytes) else str(v).encode() for v in arr.reshape(-1).tolist()]
        return {"strings_b64": [base64.b64encode(v).decode() for v in flat],
                "shape": list(arr.shape)}
    if key in ARRAYS:
        raise KeyError(f"duplicate array key {key}")
    ARRAYS[key] = arr
    return {"npz": key}


def example(features):
    ex = tf.train.Example()
    for k, v in features.items():
        f = ex.features.feature[k]
        if isinstance(v[0], float):
            f.float_list.value.extend(v)
        elif isinstance(v[0], int):
            f.int64_list.value.extend(v)
        else:
            f.bytes_list.value.extend(x.encode() if isinstance(x, str) else x for x in v)
    return ex.SerializeToString()


EXAMPLES = [{"x": [1.0], "x2": [4.0]}, {"x": [3.0]}, {"x": [-2.5], "x2": [0.5]}]


def input_for(info, rng):
    """A value for one signature input (serialized Examples for strings)."""
    dims = None if info.tensor_shape.unknown_rank else [d.size for d in info.tensor_shape.dim]
    if info.dtype == tf.string.as_datatype_enum:
        n = 3 if not dims or dims[0] == -1 else dims[0]
        return np.array([example(EXAMPLES[i % 3]) for i in range(n)], dtype=object)
    shape = [3, 1] if dims is None else [3 if d == -1 else d for d in dims]
    dtype = tf.as_dtype(info.dtype).as_numpy_dtype
    if np.dtype(dtype).kind in "iu":
        return np.asarray(rng.randint(0, 5, size=shape)).astype(dtype)
    return np.asarray(rng.randn(*shape) * 2).astype(dtype)


# ------------------------------------------------------------------ TF1 session runs


def session_calls(export_dir, plan, tag):
    """Run ``plan`` [(signature, inputs or None)] in one TF1 session after loader.load, as
    saved_model_cli run does; returns the manifest records."""
    rng = np.random.RandomState(7)
    records = []
    with tf.compat.v1.Session(graph=tf.Graph()) as sess:
        meta = tf.compat.v1.saved_model.loader.load(sess, ["serve"], export_dir)
        sigs = meta.signature_def
        for i, (key, given) in enumerate(plan or [(k, None) for k in sorted(sigs)]):
            if key.startswith("__saved_model"):
                continue
            sig = sigs[key]
            inputs = given if given is not None else {
                k: input_for(sig.inputs[k], rng) for k in sorted(sig.inputs)}
            prefix = f"{tag}/{i}_{key}"
            rec = {"signature": key,
                   "inputs": {k: enc(f"{prefix}/in/{k}", v) for k, v in inputs.items()}}
            out_keys = sorted(sig.outputs)
            try:
                values = sess.run([sig.outputs[k].name for k in out_keys],
                                  {sig.inputs[k].name: v for k, v in inputs.items()})
                rec["outputs"] = {k: enc(f"{prefix}/out/{k}", v)
                                  for k, v in zip(out_keys, values, strict=True)}
            except Exception as e:  # recorded: our runtime must refuse it too
                rec["error"] = type(e).__name__
            records.append(rec)
    return records


CORPUS_MODELS = [
    "batching_matrix_half_plus_two/1", "saved_model_counter/00000123",
    "saved_model_half_plus_three/00000123", "saved_model_half_plus_two_2_versions/00000123",
    "saved_model_half_plus_two_2_versions/00000124", "saved_model_half_plus_two_cpu/00000123",
    "saved_model_half_plus_two_cpu_with_empty_saved_model_config/00000123",
    "saved_model_half_plus_two_cpu_with_saved_model_config/00000123",
    "saved_model_half_plus_two_gpu/00000123", "saved_model_half_plus_two_gpu_trt/00000123",
    "saved_model_half_plus_two_mkl/00000123", "saved_model_half_plus_two_mlmd/00000123",
    "saved_model_half_plus_two_tf2_cpu/00000123",
]

COUNTER_PLAN = [
    ("get_counter", {}), ("incr_counter", {}), ("incr_counter", {}),
    ("incr_counter_by", {"delta": np.float32(2.5)}), ("get_counter", {}),
    ("reset_counter", {}), ("get_counter", {}), ("incr_counter_by", {"delta": np.float32(-1)}),
]


def corpus():
    for model in CORPUS_MODELS:
        plan = COUNTER_PLAN if model.startswith("saved_model_counter") else None
        calls = session_calls(os.path.join(CORPUS, model), plan, f"corpus/{model}")
        MANIFEST["corpus"].append({"model": model, "calls": calls})
        print("corpus", model, len(calls), "calls")


EXISTING = ["sm_tf1_builder", "sm_tf1_builder_text", "sm_simple_save", "sm_tf2_module",
            "sm_keras_export", "builder/hp2_ref", "builder/hp2_ref_text",
            "builder/hp2_resource", "builder/mlp", "builder/simple_save", "builder/two_tags",
            "builder/assets"]
EXISTING_PLANS = {"builder/assets": [("serving_default", {
    "words": np.array([b"dog", b"fish", b"cat", b"bird"], dtype=object)})]}


def existing():
    """The SavedModels other generators wrote under tests/data/golden/ (run as they are)."""
    for name in EXISTING:
        d = os.path.join(GOLDEN, name)
        if not os.path.isdir(d):
            print("existing", name, "missing: skipped")
            continue
        calls = session_calls(d, EXISTING_PLANS.get(name), f"existing/{name}")
        MANIFEST["existing"].append({"model": name, "calls": calls})
        print("existing", name, len(calls), "calls")


# ------------------------------------------------------------------ models written here


def record_tf2(name, export_dir, inputs_by_sig, note):
    loaded = tf.saved_model.load(export_dir)
    calls = []
    for sig, inputs in inputs_by_sig:
        fn = loaded.signatures[sig]
        out = fn(**{k: tf.constant(v) for k, v in inputs.items()})
        prefix = f"models/{name}/{len(calls)}_{sig}"
        calls.append({"signature": sig,
                      "inputs": {k: enc(f"{prefix}/in/{k}", v) for k, v in inputs.items()},
                      "outputs": {k: enc(f"{prefix}/out/{k}", out[k].numpy())
                                  for k in sorted(out)}})
    MANIFEST["models"].append({"model": name, "dir": f"models/{name}", "written_by": note,
                               "calls": calls})
    print("model", name, len(calls), "calls")


def set_weights(model, rng, scale=0.4):
    for layer in model.layers:
        ws = layer.get_weights()
        if not ws:
            continue
        new = []
        for w in ws:
            v = rng.randn(*w.shape).astype(w.dtype) * scale
            new.append(v)
        if type(layer).__name__ == "BatchNormalization":
            gamma, beta, mean, var = new
            new = [1 + gamma, beta, mean, np.abs(var) + 0.5]
        layer.set_weights(new)


def keras_models():
    import keras
    from keras import layers

    keras.utils.set_random_seed(1)
    rng = np.random.RandomState(11)
    mlp = keras.Sequential([keras.Input((20,), name="features"),
                            layers.Dense(16, activation="relu"), layers.Dropout(0.3),
                            layers.Dense(5, activation="softmax")])
    set_weights(mlp, rng)
    d = os.path.join(MODELS, "keras_mlp")
    mlp.export(d, verbose=False)
    record_tf2("keras_mlp", d, [("serving_default", {
        "features": rng.randn(4, 20).astype(np.float32)})],
        "keras Sequential Input(20) Dense(16,relu) Dropout(0.3) Dense(5,softmax); "
        "model.export")

    inp = keras.Input((12, 12, 2), name="image")
    x = layers.Conv2D(4, 3, padding="same", activation="relu")(inp)
    x = layers.BatchNormalization()(x)
    x = layers.MaxPooling2D(2)(x)
    x = layers.DepthwiseConv2D(3, padding="same", depth_multiplier=2, activation="elu")(x)
    a = layers.Conv2D(6, 3, strides=2, padding="valid", dilation_rate=1)(x)
    a = layers.AveragePooling2D(pool_size=2, strides=1, padding="same")(a)
    a = layers.Flatten()(a)
    b = layers.GlobalAveragePooling2D()(x)
    c = layers.Concatenate()([a, b])
    h1 = layers.Dense(8, activation="gelu")(c)
    h2 = layers.Dense(8, activation="tanh")(c)
    h = layers.Add()([h1, h2])
    out = layers.Dense(3, activation="softmax")(h)
    cnn = keras.Model(inp, out)
    set_weights(cnn, rng)
    d = os.path.join(MODELS, "keras_cnn")
    cnn.export(d, verbose=False)
    record_tf2("keras_cnn", d, [("serving_default", {
        "image": rng.randn(3, 12, 12, 2).astype(np.float32)})],
        "keras functional CNN: Conv2D same relu, BatchNormalization, MaxPooling2D, "
        "DepthwiseConv2D elu, Conv2D valid stride 2, AveragePooling2D same, Flatten, "
        "GlobalAveragePooling2D, Concatenate, Dense gelu/tanh, Add, Dense softmax")

    tokens = keras.Input((10,), dtype="int32", name="tokens")
    e = layers.Embedding(50, 8)(tokens)
    conv = layers.Conv1D(6, 3, padding="same", activation="relu")(e)
    p = layers.Concatenate()([layers.GlobalMaxPooling1D()(conv),
                              layers.GlobalAveragePooling1D()(e)])
    o = layers.Dense(1, activation="sigmoid")(layers.Dense(4, activation="softplus")(p))
    text = keras.Model(tokens, o)
    set_weights(text, rng)
    d = os.path.join(MODELS, "keras_text")
    text.export(d, verbose=False)
    record_tf2("keras_text", d, [("serving_default", {
        "tokens": rng.randint(0, 50, size=(4, 10)).astype(np.int32)})],
        "keras functional text model: Embedding(50,8), Conv1D(6,3,same,relu), "
        "GlobalMaxPooling1D + GlobalAveragePooling1D, Concatenate, Dense softplus, "
        "Dense sigmoid")


def tf1_model():
    d = os.path.join(MODELS, "tf1_vars")
    rng = np.random.RandomState(21)
    g = tf.Graph()
    with g.as_default():
        x = tf.compat.v1.placeholder(tf.float32, [None, 3], name="x")
        w = tf.compat.v1.Variable(rng.randn(3, 2).astype(np.float32), name="w",
                                  use_resource=False)
        b = tf.compat.v1.get_variable("b", initializer=rng.randn(2).astype(np.float32),
                                      use_resource=True)
        offset = tf.compat.v1.get_local_variable("offset", initializer=tf.constant(0.25))
        y = tf.identity(tf.tanh(tf.matmul(x, w) + b) + offset, name="y")
        ser = tf.compat.v1.placeholder(tf.string, [None], name="tf_example")
        feats = tf.compat.v1.io.parse_example(ser, {
            "a": tf.io.FixedLenFeature([2], tf.float32, default_value=[1.0, -1.0]),
            "ids": tf.io.VarLenFeature(tf.int64),
            "seq": tf.io.FixedLenSequenceFeature([], tf.float32, allow_missing=True,
                                                 default_value=0.0)})
        scaled = tf.identity(feats["a"] * 2.0, name="scaled")
        seq_sum = tf.reduce_sum(feats["seq"], axis=1, name="seq_sum")
        with tf.compat.v1.Session() as sess:
            sess.run([w.initializer, b.initializer])
            builder = tf.compat.v1.saved_model.Builder(d)
            info = tf.compat.v1.saved_model.utils.build_tensor_info
            sigs = {
                "serving_default": tf.compat.v1.saved_model.predict_signature_def(
                    {"x": x}, {"y": y}),
                "parse": tf.compat.v1.saved_model.signature_def_utils.build_signature_def(
                    {"examples": info(ser)},
                    {"scaled": info(scaled), "seq_sum": info(seq_sum),
                     "ids_values": info(feats["ids"].values),
                     "ids_indices": info(feats["ids"].indices),
                     "ids_shape": info(feats["ids"].dense_shape)},
                    "tensorflow/serving/predict"),
            }
            builder.add_meta_graph_and_variables(
                sess, ["serve"], signature_def_map=sigs,
                main_op=tf.compat.v1.saved_model.main_op.main_op())
            builder.save()
    exs = np.array([example({"a": [1.5, 2.5], "ids": [3, 4, 5], "seq": [1.0, 2.0]}),
                    example({"ids": [7], "seq": [0.5, 0.5, 0.5]}),
                    example({"a": [0.0, -3.0]})], dtype=object)
    plan = [("serving_default", {"x": rng.randn(4, 3).astype(np.float32)}),
            ("parse", {"examples": exs})]
    calls = session_calls(d, plan, "models/tf1_vars")
    MANIFEST["models"].append({
        "model": "tf1_vars", "dir": "models/tf1_vars", "calls": calls,
        "written_by": "tf.compat.v1 SavedModelBuilder: VariableV2 w, resource b, local "
                      "variable offset set by main_op; ParseExampleV2 with dense default, "
                      "VarLen and FixedLenSequence features"})
    print("model tf1_vars", len(calls), "calls")


def tf2_module():
    d = os.path.join(MODELS, "tf2_control")
    rng = np.random.RandomState(31)
    vocab_dir = os.path.join(OUT, "_vocab")
    os.makedirs(vocab_dir)
    vocab_file = os.path.join(vocab_dir, "vocab.txt")
    with open(vocab_file, "w") as f:
        f.write("apple\nbanana\ncherry\n")

    class M(tf.Module):
        def __init__(self):
            super().__init__()
            self.w = tf.Variable(rng.randn(4).astype(np.float32), name="w")
            self.table = tf.Variable(rng.randn(6, 3).astype(np.float32), name="table")
            self.labels = tf.lookup.StaticHashTable(tf.lookup.KeyValueTensorInitializer(
                tf.constant([0, 1, 2], tf.int64), tf.constant(["zero", "one", "two"])), "?")
            self.vocab = tf.lookup.StaticHashTable(tf.lookup.TextFileInitializer(
                vocab_file, tf.string, tf.lookup.TextFileIndex.WHOLE_LINE, tf.int64,
                tf.lookup.TextFileIndex.LINE_NUMBER), -1)

        @tf.function
        def helper(self, x):
            return tf.nn.relu(x * self.w) + 1.0

        @tf.function(input_signature=[tf.TensorSpec([None, 4], tf.float32, name="x")])
        def cond(self, x):
            y = tf.cond(tf.reduce_sum(x) > 0.0, lambda: self.helper(x), lambda: x - self.w)
            return {"y": y}

        @tf.function(input_signature=[tf.TensorSpec([], tf.int32, name="n")])
        def loop(self, n):
            i = tf.constant(0)
            acc = tf.zeros([4])

            def body(i, acc):
                return i + 1, acc + tf.cast(i, tf.float32) * self.w

            _, acc = tf.while_loop(lambda i, acc: i < n, body, [i, acc])
            return {"acc": acc}

        @tf.function(input_signature=[tf.TensorSpec([None], tf.int32, name="ids")])
        def gather(self, ids):
            return {"rows": tf.gather(self.table, ids)}

        @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="s")])
        def strings(self, s):
            return {"joined": tf.strings.join([s, tf.constant("!")], separator="-")}

        @tf.function(input_signature=[tf.TensorSpec([None], tf.int64, name="k"),
                                      tf.TensorSpec([None], tf.string, name="word")])
        def tables(self, k, word):
            return {"label": self.labels.lookup(k), "index": self.vocab.lookup(word)}

    m = M()
    tf.saved_model.save(m, d, signatures={"cond": m.cond, "loop": m.loop,
                                          "gather": m.gather, "strings": m.strings,
                                          "tables": m.tables})
    shutil.rmtree(vocab_dir)
    x = rng.randn(2, 4).astype(np.float32)
    record_tf2("tf2_control", d, [
        ("cond", {"x": np.abs(x)}), ("cond", {"x": -np.abs(x)}),
        ("loop", {"n": np.int32(5)}), ("loop", {"n": np.int32(0)}),
        ("gather", {"ids": np.array([5, 0, 2, 2], np.int32)}),
        ("strings", {"s": np.array([b"a", b"bc"], dtype=object)}),
        ("tables", {"k": np.array([2, 0, 7], np.int64),
                    "word": np.array([b"cherry", b"kiwi", b"apple"], dtype=object)})],
        "tf.saved_model.save of a tf.Module: tf.cond over a nested tf.function, "
        "tf.while_loop, tf.gather on a variable (ResourceGather), tf.strings.join, "
        "StaticHashTables from tensors and from a vocabulary asset")


# ------------------------------------------------------------------ single-op graphs


def op_case(name, fn, *inputs):
    specs = [tf.TensorSpec(np.shape(a), tf.as_dtype(np.asarray(a).dtype)) for a in inputs]
    try:
        cf = tf.function(fn).get_concrete_function(*specs)
        outs = tf.nest.flatten(cf(*[tf.constant(a) for a in inputs]))
    except Exception as e:
        print(f"  op case {name} skipped: TF refused it ({type(e).__name__}: "
              f"{str(e).splitlines()[0][:100]})")
        return
    gd = cf.graph.as_graph_def()
    raw = np.frombuffer(gd.SerializeToString(), dtype=np.uint8)
    ARRAYS[f"ops/{name}/graph"] = raw
    MANIFEST["ops"].append({
        "name": name,
        "graph": {"npz": f"ops/{name}/graph"},
        "feeds": [t.name for t in cf.inputs],
        "fetches": [t.name for t in cf.outputs],
        "inputs": [enc(f"ops/{name}/in{i}", a) for i, a in enumerate(inputs)],
        "outputs": [enc(f"ops/{name}/out{i}", o.numpy()) for i, o in enumerate(outs)],
    })


def op_cases():  # noqa: C901 - one long table
    r = np.random.RandomState(5)
    f32 = lambda *s: r.randn(*s).astype(np.float32)  # noqa: E731
    pos = lambda *s: (np.abs(r.randn(*s)) + 0.1).astype(np.float32)  # noqa: E731
    i32 = lambda lo, hi, *s: r.randint(lo, hi, size=s).astype(np.int32)  # noqa: E731
    raw = tf.raw_ops
    a, b = f32(2, 3), f32(3)
    for op in ["Add", "AddV2", "Sub", "Mul", "RealDiv", "Div", "Maximum", "Minimum",
               "SquaredDifference", "FloorDiv", "FloorMod", "TruncateDiv", "Atan2",
               "Less", "LessEqual", "Greater", "GreaterEqual", "Equal", "NotEqual",
               "Xlogy", "DivNoNan", "MulNoNan"]:
        fn = getattr(raw, op)
        if op == "Atan2":
            op_case(op, lambda x, y, fn=fn: fn(y=x, x=y), a, b)
        else:
            op_case(op, lambda x, y, fn=fn: fn(x=x, y=y), a, b)
    op_case("Pow", lambda x, y: raw.Pow(x=x, y=y), pos(2, 3), f32(2, 3))
    op_case("DivNoNan_zero", lambda x, y: raw.DivNoNan(x=x, y=y), a,
            np.array([0, 1.5, 0], np.float32))
    ia, ib = i32(-9, 9, 3, 4), np.array([2, -3, 4, -5], np.int32)
    for op in ["Div", "FloorDiv", "FloorMod", "TruncateDiv", "TruncateMod", "Mod", "Maximum",
               "Mul", "Sub"]:
        fn = getattr(raw, op)
        op_case(f"{op}_int32", lambda x, y, fn=fn: fn(x=x, y=y), ia, ib)
    op_case("LogicalAnd", lambda x, y: raw.LogicalAnd(x=x, y=y), a > 0, b > 0)
    op_case("LogicalOr", lambda x, y: raw.LogicalOr(x=x, y=y), a > 0, b > 0)
    op_case("LogicalNot", lambda x: raw.LogicalNot(x=x), a > 0)
    u = f32(3, 5) * 3
    for op in ["Neg", "Abs", "Sign", "Exp", "Expm1", "Square", "Floor", "Ceil", "Round", "Rint",
               "Sin", "Cos", "Tanh", "Sigmoid", "Erf", "Erfc", "Atan", "Asinh", "IsNan",
               "IsFinite", "Reciprocal"]:
        fn = getattr(raw, op)
        op_case(op, lambda x, fn=fn: fn(x=x), u)
    op_case("Round_halves", lambda x: raw.Round(x=x),
            np.array([0.5, 1.5, 2.5, -0.5, -1.5, 2.4999], np.float32))
    for op in ["Sqrt", "Rsqrt", "Log", "Log1p"]:
        fn = getattr(raw, op)
        op_case(op, lambda x, fn=fn: fn(x=x), pos(3, 5) * 3)
    wide = np.concatenate([u.reshape(-1), [-30, -12, 12, 30, 80, -80, 0]]).astype(np.float32)
    for op in ["Relu", "Relu6", "Elu", "Selu", "Softplus", "Softsign"]:
        fn = getattr(raw, op)
        op_case(op, lambda x, fn=fn: fn(features=x), wide * 2)
    op_case("LeakyRelu", lambda x: raw.LeakyRelu(features=x, alpha=0.3), u)
    op_case("Softmax", lambda x: raw.Softmax(logits=x), u)
    op_case("LogSoftmax", lambda x: raw.LogSoftmax(logits=x), u)
    op_case("Erf_wide", lambda x: raw.Erf(x=x), np.linspace(-6, 6, 97).astype(np.float32))
    op_case("Gelu", lambda x: tf.nn.gelu(x, approximate=False), wide)
    op_case("Gelu_tanh", lambda x: tf.nn.gelu(x, approximate=True), wide)
    op_case("Cast_f2i", lambda x: raw.Cast(x=x, DstT=tf.int32), u * 3)
    op_case("Cast_i2f", lambda x: raw.Cast(x=x, DstT=tf.float32), ia)
    op_case("Cast_f2b", lambda x: raw.Cast(x=x, DstT=tf.bool), np.array([0, 0.5, -2], np.float32))
    op_case("Cast_b2f", lambda x: raw.Cast(x=x, DstT=tf.float32), a > 0)
    op_case("Cast_f2h", lambda x: raw.Cast(x=x, DstT=tf.float16), u)
    op_case("Cast_i64_i32", lambda x: raw.Cast(x=x, DstT=tf.int32),
            np.array([1, -2, 3], np.int64))
    # reductions
    t = f32(2, 3, 4)
    for op in ["Sum", "Mean", "Max", "Min", "Prod"]:
        fn = getattr(raw, op)
        op_case(f"{op}_axis1_keep", lambda x, fn=fn: fn(input=x, axis=[1], keep_dims=True), t)
        op_case(f"{op}_axes", lambda x, fn=fn: fn(input=x, axis=[0, -1]), t)
    op_case("Sum_all", lambda x: raw.Sum(input=x, axis=[0, 1, 2]), t)
    op_case("Mean_int", lambda x: raw.Mean(input=x, axis=[1]), i32(-9, 9, 3, 4))
    op_case("Sum_int", lambda x: raw.Sum(input=x, axis=[0]), i32(-9, 9, 3, 4))
    op_case("All", lambda x: raw.All(input=x, axis=[1]), t > -1)
    op_case("Any", lambda x: raw.Any(input=x, axis=[1]), t > 1)
    op_case("ArgMax", lambda x: raw.ArgMax(input=x, dimension=1), t)
    op_case("ArgMin_i32", lambda x: raw.ArgMin(input=x, dimension=-1, output_type=tf.int32), t)
    op_case("Cumsum", lambda x: raw.Cumsum(x=x, axis=1), t)
    op_case("Cumsum_excl_rev", lambda x: raw.Cumsum(x=x, axis=2, exclusive=True, reverse=True),
            t)
    op_case("Cumprod", lambda x: raw.Cumprod(x=x, axis=0), t)
    # matmul
    m1, m2 = f32(3, 4), f32(4, 5)
    op_case("MatMul", lambda x, y: raw.MatMul(a=x, b=y), m1, m2)
    op_case("MatMul_ta_tb", lambda x, y: raw.MatMul(a=x, b=y, transpose_a=True, transpose_b=True),
            f32(4, 3), f32(5, 4))
    op_case("BatchMatMulV2_bcast", lambda x, y: raw.BatchMatMulV2(x=x, y=y),
            f32(2, 1, 3, 4), f32(5, 4, 2))
    op_case("BatchMatMulV2_adj", lambda x, y: raw.BatchMatMulV2(x=x, y=y, adj_x=True,
                                                                adj_y=True),
            f32(2, 4, 3), f32(2, 5, 4))
    op_case("BatchMatMulV3", lambda x, y: raw.BatchMatMulV3(x=x, y=y, Tout=tf.float32),
            f32(2, 3, 4), f32(2, 4, 2))
    op_case("BiasAdd", lambda x, y: raw.BiasAdd(value=x, bias=y), f32(2, 3, 4), f32(4))
    op_case("BiasAdd_NCHW", lambda x, y: raw.BiasAdd(value=x, bias=y, data_format="NCHW"),
            f32(2, 3, 4, 5), f32(3))
    # convolutions
    img, img_odd = f32(2, 8, 8, 3), f32(1, 7, 9, 3)
    k33 = f32(3, 3, 3, 4)
    for pad in ["SAME", "VALID"]:
        for s in [1, 2, 3]:
            op_case(f"Conv2D_{pad}_s{s}", lambda x, k, pad=pad, s=s: raw.Conv2D(
                input=x, filter=k, strides=[1, s, s, 1], padding=pad), img_odd, k33)
    op_case("Conv2D_SAME_dil2", lambda x, k: raw.Conv2D(
        input=x, filter=k, strides=[1, 1, 1, 1], padding="SAME", dilations=[1, 2, 2, 1]),
        img, k33)
    op_case("Conv2D_VALID_dil2_s1x2", lambda x, k: raw.Conv2D(
        input=x, filter=k, strides=[1, 1, 2, 1], padding="VALID", dilations=[1, 2, 1, 1]),
        img_odd, f32(2, 3, 3, 2))
    op_case("Conv2D_EXPLICIT", lambda x, k: raw.Conv2D(
        input=x, filter=k, strides=[1, 2, 1, 1], padding="EXPLICIT",
        explicit_paddings=[0, 0, 1, 2, 0, 3, 0, 0]), img, k33)
    op_case("Conv2D_1x1", lambda x, k: raw.Conv2D(
        input=x, filter=k, strides=[1, 1, 1, 1], padding="VALID"), img, f32(1, 1, 3, 5))
    op_case("Conv2D_grouped", lambda x, k: raw.Conv2D(
        input=x, filter=k, strides=[1, 1, 1, 1], padding="SAME"), f32(1, 6, 6, 4),
        f32(3, 3, 2, 6))
    op_case("Conv2D_5x2_s2", lambda x, k: raw.Conv2D(
        input=x, filter=k, strides=[1, 2, 2, 1], padding="SAME"), f32(2, 10, 11, 2),
        f32(5, 2, 2, 3))
    for pad, s, dil, mult in [("SAME", 1, 1, 1), ("SAME", 2, 1, 2), ("VALID", 1, 2, 1),
                              ("VALID", 2, 1, 3)]:
        op_case(f"Depthwise_{pad}_s{s}_d{dil}_m{mult}", lambda x, k, pad=pad, s=s, dil=dil:
                raw.DepthwiseConv2dNative(input=x, filter=k, strides=[1, s, s, 1],
                                          padding=pad, dilations=[1, dil, dil, 1]),
                img_odd, f32(3, 3, 3, mult))
    for pad, s in [("SAME", 2), ("VALID", 1), ("SAME", 1), ("VALID", 2)]:
        h = {"SAME": (7 + s - 1) // s, "VALID": (7 - 3) // s + 1}[pad]
        w = {"SAME": (9 + s - 1) // s, "VALID": (9 - 3) // s + 1}[pad]
        op_case(f"Conv2DBackpropInput_{pad}_s{s}", lambda k, dy, pad=pad, s=s:
                raw.Conv2DBackpropInput(input_sizes=[1, 7, 9, 3], filter=k, out_backprop=dy,
                                        strides=[1, s, s, 1], padding=pad),
                k33, f32(1, h, w, 4))
    for pad in ["SAME", "VALID"]:
        for k, s in [(2, 2), (3, 2), (3, 1), (2, 3)]:
            op_case(f"MaxPool_{pad}_k{k}_s{s}", lambda x, pad=pad, k=k, s=s: raw.MaxPool(
                input=x, ksize=[1, k, k, 1], strides=[1, s, s, 1], padding=pad), img_odd)
            op_case(f"AvgPool_{pad}_k{k}_s{s}", lambda x, pad=pad, k=k, s=s: raw.AvgPool(
                value=x, ksize=[1, k, k, 1], strides=[1, s, s, 1], padding=pad), img_odd)
    op_case("MaxPoolV2", lambda x: raw.MaxPoolV2(input=x, ksize=[1, 2, 3, 1],
                                                 strides=[1, 2, 1, 1], padding="SAME"), img)
    op_case("FusedBatchNormV3_infer", lambda x, sc, of, mu, var: raw.FusedBatchNormV3(
        x=x, scale=sc, offset=of, mean=mu, variance=var, epsilon=0.001, is_training=False)[0],
        img, pos(3), f32(3), f32(3), pos(3))
    op_case("FusedBatchNormV3_train", lambda x, sc, of, mu, var: raw.FusedBatchNormV3(
        x=x, scale=sc, offset=of, mean=mu, variance=var, epsilon=0.001, is_training=True)[:3],
        img, pos(3), f32(3), np.zeros(0, np.float32), np.zeros(0, np.float32))
    op_case("L2Loss", lambda x: raw.L2Loss(t=x), t)
    # arrays
    op_case("Reshape", lambda x: raw.Reshape(tensor=x, shape=[4, -1]), t)
    op_case("Shape", lambda x: raw.Shape(input=x), t)
    op_case("Shape_i64", lambda x: raw.Shape(input=x, out_type=tf.int64), t)
    op_case("Size", lambda x: raw.Size(input=x), t)
    op_case("Rank", lambda x: raw.Rank(input=x), t)
    op_case("Squeeze", lambda x: raw.Squeeze(input=x), f32(1, 3, 1, 2))
    op_case("Squeeze_axis", lambda x: raw.Squeeze(input=x, axis=[-2]), f32(1, 3, 1, 2))
    op_case("ExpandDims", lambda x: raw.ExpandDims(input=x, axis=-1), t)
    op_case("Transpose", lambda x: raw.Transpose(x=x, perm=[2, 0, 1]), t)
    op_case("ConcatV2", lambda x, y: raw.ConcatV2(values=[x, y, x], axis=-1), t, f32(2, 3, 1))
    op_case("Pack", lambda x, y: raw.Pack(values=[x, y], axis=1), a, f32(2, 3))
    op_case("Unpack", lambda x: raw.Unpack(value=x, num=3, axis=1), t)
    op_case("Split", lambda x: raw.Split(axis=2, value=x, num_split=2), t)
    op_case("SplitV", lambda x: raw.SplitV(value=x, size_splits=[1, -1, 1], axis=2,
                                           num_split=3), t)
    op_case("Slice", lambda x: raw.Slice(input=x, begin=[0, 1, 1], size=[-1, 2, 2]), t)
    big = f32(4, 5, 6)
    for label, spec in [
        ("basic", lambda x: x[1:3, ::2, -3:]),
        ("negstride", lambda x: x[::-1, 3:0:-2]),
        ("shrink", lambda x: x[2, :, -1]),
        ("newaxis_ellipsis", lambda x: x[tf.newaxis, ..., 1, tf.newaxis]),
        ("ellipsis_mid", lambda x: x[1:, ..., ::-3]),
        ("clamp", lambda x: x[-10:10, 7:, :100:4]),
        ("masks", lambda x: raw.StridedSlice(input=x, begin=[1, 2, 3], end=[3, 4, 5],
                                             strides=[1, 1, -1], begin_mask=5, end_mask=2,
                                             shrink_axis_mask=0)),
    ]:
        op_case(f"StridedSlice_{label}", spec, big)
    op_case("GatherV2_axis1", lambda x, i: raw.GatherV2(params=x, indices=i, axis=1), t,
            np.array([[2, 0], [1, 1]], np.int32))
    op_case("GatherV2_batch", lambda x, i: raw.GatherV2(params=x, indices=i, axis=2,
                                                        batch_dims=1),
            t, np.array([[3, 0], [1, 2]], np.int32))
    op_case("GatherNd", lambda x, i: raw.GatherNd(params=x, indices=i), t,
            np.array([[1, 2], [0, 0]], np.int64))
    op_case("Fill", lambda v: raw.Fill(dims=[2, 3], value=v), np.float32(1.5))
    op_case("ZerosLike", lambda x: raw.ZerosLike(x=x), t)
    op_case("OnesLike", lambda x: raw.OnesLike(x=x), ia)
    op_case("Tile", lambda x: raw.Tile(input=x, multiples=[2, 1, 3]), t)
    op_case("Pad", lambda x: raw.Pad(input=x, paddings=[[1, 0], [0, 2], [2, 1]]), t)
    op_case("PadV2", lambda x: raw.PadV2(input=x, paddings=[[1, 1], [0, 2]],
                                         constant_values=-7.0), a)
    op_case("MirrorPad_reflect", lambda x: raw.MirrorPad(input=x, paddings=[[1, 1], [2, 1]],
                                                         mode="REFLECT"), f32(3, 4))
    op_case("MirrorPad_symmetric", lambda x: raw.MirrorPad(
        input=x, paddings=[[2, 3], [1, 0]], mode="SYMMETRIC"), f32(3, 4))
    op_case("Range_int", lambda s: raw.Range(start=s, limit=17, delta=3), np.int32(2))
    op_case("Range_float", lambda s: raw.Range(start=s, limit=1.0, delta=0.15),
            np.float32(-0.5))
    op_case("Range_neg", lambda s: raw.Range(start=s, limit=-5, delta=-2), np.int32(6))
    op_case("Select_vector", lambda c, x, y: raw.Select(condition=c, x=x, y=y),
            np.array([True, False]), a, f32(2, 3))
    op_case("SelectV2_bcast", lambda c, x, y: raw.SelectV2(condition=c, t=x, e=y),
            b > 0, a, np.float32(9))
    op_case("Where", lambda x: raw.Where(condition=x), t > 0.3)
    op_case("OneHot", lambda i: raw.OneHot(indices=i, depth=4, on_value=2.0, off_value=-1.0),
            np.array([[0, 3], [5, -1]], np.int32))
    op_case("OneHot_axis0", lambda i: raw.OneHot(indices=i, depth=3, on_value=1.0,
                                                 off_value=0.0, axis=0),
            np.array([0, 2, 1, 1], np.int64))
    op_case("BroadcastTo", lambda x: raw.BroadcastTo(input=x, shape=[2, 4, 3]), b)
    op_case("ReverseV2", lambda x: raw.ReverseV2(tensor=x, axis=[0, -1]), t)
    op_case("Einsum_mm", lambda x, y: raw.Einsum(inputs=[x, y], equation="ij,jk->ik"), m1, m2)
    op_case("Einsum_batch", lambda x, y: raw.Einsum(inputs=[x, y], equation="bij,bkj->bik"),
            f32(2, 3, 4), f32(2, 5, 4))
    op_case("Einsum_ellipsis", lambda x: raw.Einsum(inputs=[x], equation="...ij->...ji"), t)
    op_case("TopKV2", lambda x: raw.TopKV2(input=x, k=3), f32(3, 6))
    op_case("TopKV2_ties", lambda x: raw.TopKV2(input=x, k=4),
            np.array([[1, 3, 3, 2, 3, 1]], np.float32))
    op_case("Unique", lambda x: raw.Unique(x=x), np.array([4, 1, 4, 7, 1, 1, 9], np.int32))
    op_case("ClipByValue", lambda x: raw.ClipByValue(t=x, clip_value_min=-0.5,
                                                     clip_value_max=0.7), t)
    op_case("AddN", lambda x, y: raw.AddN(inputs=[x, y, x]), a, f32(2, 3))
    op_case("IdentityN", lambda x, y: raw.IdentityN(input=[x, y]), a, ia)
    op_case("InvertPermutation", lambda x: raw.InvertPermutation(x=x),
            np.array([3, 0, 2, 1], np.int32))
    # functions and control flow inside one graph
    inner = tf.function(lambda x: tf.nn.relu(x) * 2.0)
    op_case("call_nested", lambda x: inner(x) + inner(-x), a)
    op_case("cond", lambda x: tf.cond(tf.reduce_sum(x) > 0, lambda: x * 2.0,
                                      lambda: x - 1.0), a)
    op_case("cond_neg", lambda x: tf.cond(tf.reduce_sum(x) > 0, lambda: x * 2.0,
                                          lambda: x - 1.0), -np.abs(a))
    op_case("while", lambda n: tf.while_loop(lambda i, s: i < n, lambda i, s: (i + 1, s * 1.5),
                                             [tf.constant(0), tf.constant(1.0)])[1],
            np.int32(6))
    op_case("case", lambda i: tf.switch_case(i, [lambda: tf.constant(1.0),
                                                 lambda: tf.constant(2.0),
                                                 lambda: tf.constant(3.0)]), np.int32(1))
    op_case("case_default", lambda i: tf.switch_case(i, [lambda: tf.constant(1.0),
                                                         lambda: tf.constant(3.0)]),
            np.int32(7))
    print("ops", len(MANIFEST["ops"]), "cases")


def main():
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    os.makedirs(MODELS)
    keras_models()
    tf1_model()
    tf2_module()
    corpus()
    existing()
    op_cases()
    np.savez_compressed(os.path.join(OUT, "arrays.npz"), **ARRAYS)
    with open(os.path.join(OUT, "manifest.json"), "w") as f:
        json.dump(MANIFEST, f, indent=1, sort_keys=True)
        f.write("\n")
    total = sum(os.path.getsize(os.path.join(dp, fn)) for dp, _, fns in os.walk(OUT)
                for fn in fns)
    print(f"wrote {OUT}: {total} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
