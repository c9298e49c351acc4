"""Our interpreter against TensorFlow 2.21 run in the same test.

TensorFlow writes the models here (Keras MLP 784-256-10, a small CNN, a text model), runs
them, and we compare; every corpus signature runs in a TF1 Session (as ``saved_model_cli
run``) and in our runtime; single ops run over seeded random attribute combinations; the
kernel registry's output names and attribute defaults are checked against TF's OpDefs;
``savedmodel-cli run`` prints what ``saved_model_cli run`` prints.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest

from savedmodel_io import saved_model
from savedmodel_io.errors import SavedModelIOError
from savedmodel_io.example import (
    FixedLenFeature,
    FixedLenSequenceFeature,
    VarLenFeature,
    parse_example,
    serialize_example,
)
from savedmodel_io.protos import graph_pb2
from savedmodel_io.runtime import GraphRunner, supported_ops
from savedmodel_io.runtime.registry import lookup
from tests.runtime.golden_util import assert_close

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus" / "tf-serving"


def _keras(tf: ModuleType) -> Any:
    import keras

    keras.utils.set_random_seed(3)
    return keras


def _tf_outputs(tf: ModuleType, export_dir: Path, key: str, inputs: dict[str, np.ndarray]
                ) -> dict[str, np.ndarray]:
    fn = tf.saved_model.load(str(export_dir)).signatures[key]
    out = fn(**{k: tf.constant(v) for k, v in inputs.items()})
    return {k: v.numpy() for k, v in out.items()}


def _compare_model(tf: ModuleType, export_dir: Path, make_input: Callable[[int], np.ndarray]
                   ) -> None:
    loaded = saved_model.load(export_dir, ["serve"])
    sig = loaded.signatures["serving_default"]
    (name,) = list(sig.inputs)
    for batch in (1, 7):
        inputs = {name: make_input(batch)}
        want = _tf_outputs(tf, export_dir, "serving_default", inputs)
        got = sig(**inputs)
        assert sorted(got) == sorted(want)
        for k in want:
            assert_close(got[k], want[k], f"{export_dir.name} batch {batch} {k}")


def build_mlp(tf: ModuleType, path: Path) -> Path:
    keras = _keras(tf)
    layers = keras.layers
    model = keras.Sequential([keras.Input((784,)), layers.Dense(256, activation="relu"),
                              layers.Dropout(0.2), layers.Dense(10, activation="softmax")])
    model.export(str(path), verbose=False)
    return path


def build_cnn(tf: ModuleType, path: Path) -> Path:
    keras = _keras(tf)
    layers = keras.layers
    model = keras.Sequential([
        keras.Input((28, 28, 1)),
        layers.Conv2D(16, 3, padding="same", activation="relu"),
        layers.BatchNormalization(),
        layers.MaxPooling2D(2),
        layers.Conv2D(32, 3, strides=2, padding="valid", activation="relu"),
        layers.AveragePooling2D(2),
        layers.Flatten(),
        layers.Dense(64, activation="relu"),
        layers.Dropout(0.3),
        layers.Dense(10),
    ])
    rng = np.random.RandomState(5)
    bn = model.layers[1]
    gamma, beta, mean, var = bn.get_weights()
    bn.set_weights([gamma + rng.rand(*gamma.shape).astype(np.float32),
                    rng.randn(*beta.shape).astype(np.float32),
                    rng.randn(*mean.shape).astype(np.float32),
                    (rng.rand(*var.shape) + 0.5).astype(np.float32)])
    model.export(str(path), verbose=False)
    return path


def build_text(tf: ModuleType, path: Path) -> Path:
    keras = _keras(tf)
    layers = keras.layers
    tokens = keras.Input((20,), dtype="int32")
    x = layers.Embedding(1000, 16)(tokens)
    x = layers.GlobalAveragePooling1D()(x)
    x = layers.Dense(16, activation="relu")(x)
    out = layers.Dense(1, activation="sigmoid")(x)
    keras.Model(tokens, out).export(str(path), verbose=False)
    return path


def test_keras_mlp(tf: ModuleType, tmp_path: Path) -> None:
    rng = np.random.RandomState(0)
    _compare_model(tf, build_mlp(tf, tmp_path / "mlp"),
                   lambda n: rng.rand(n, 784).astype(np.float32))


def test_keras_cnn(tf: ModuleType, tmp_path: Path) -> None:
    rng = np.random.RandomState(1)
    _compare_model(tf, build_cnn(tf, tmp_path / "cnn"),
                   lambda n: rng.rand(n, 28, 28, 1).astype(np.float32))


def test_keras_text(tf: ModuleType, tmp_path: Path) -> None:
    rng = np.random.RandomState(2)
    _compare_model(tf, build_text(tf, tmp_path / "text"),
                   lambda n: rng.randint(0, 1000, size=(n, 20)).astype(np.int32))


def test_bad_input_is_refused_like_tensorflow(tf: ModuleType, tmp_path: Path) -> None:
    from savedmodel_io.errors import InvalidArgumentError

    d = build_text(tf, tmp_path / "text")
    sig = saved_model.load(d, ["serve"]).signatures["serving_default"]
    (name,) = list(sig.inputs)
    bad = np.full((1, 20), 5000, np.int32)  # outside the 1000-word vocabulary
    with pytest.raises(Exception, match=r"5000 is not in \[0, 1000\)"):
        _tf_outputs(tf, d, "serving_default", {name: bad})
    with pytest.raises(InvalidArgumentError, match=r"5000 is not in \[0, 1000\)"):
        sig(**{name: bad})


# ------------------------------------------------------------------ corpus, live


def _signature_inputs(tf: ModuleType, sig: Any, rng: np.random.RandomState
                      ) -> dict[str, np.ndarray]:
    out = {}
    for key, info in sig.inputs.items():
        dims = [d.size for d in info.tensor_shape.dim]
        if info.dtype == tf.string.as_datatype_enum:
            exs = [{"x": [1.5], "x2": [2.0]}, {"x": [-4.0]}]
            out[key] = np.array([serialize_example(e) for e in exs], dtype=object)
        else:
            shape = [2 if d == -1 else d for d in dims] if dims else [2, 1]
            out[key] = rng.randn(*shape).astype(np.float32)
    return out


CORPUS_MODELS = [
    "batching_matrix_half_plus_two/1", "saved_model_half_plus_three/00000123",
    "saved_model_half_plus_two_2_versions/00000123",
    "saved_model_half_plus_two_2_versions/00000124", "saved_model_half_plus_two_cpu/00000123",
    "saved_model_half_plus_two_cpu_with_empty_saved_model_config/00000123",
    "saved_model_half_plus_two_cpu_with_saved_model_config/00000123",
    "saved_model_half_plus_two_gpu/00000123", "saved_model_half_plus_two_gpu_trt/00000123",
    "saved_model_half_plus_two_mkl/00000123", "saved_model_half_plus_two_mlmd/00000123",
    "saved_model_half_plus_two_tf2_cpu/00000123",
]


@pytest.mark.parametrize("model", CORPUS_MODELS)
def test_corpus_signatures_live(tf: ModuleType, model: str) -> None:
    d = CORPUS / model
    if not d.is_dir():
        pytest.skip("corpus not found")
    rng = np.random.RandomState(4)
    loaded = saved_model.load(d, ["serve"])
    with tf.compat.v1.Session(graph=tf.Graph()) as sess:
        tf.compat.v1.saved_model.loader.load(sess, ["serve"], str(d))
        for key, sig in loaded.signatures.items():
            if key.startswith("__") or not sig.inputs:
                continue
            inputs = _signature_inputs(tf, sig, rng)
            keys = sorted(sig.outputs)
            try:
                want = sess.run([sig.outputs[k].name for k in keys],
                                {sig.inputs[k].name: v for k, v in inputs.items()})
            except Exception:
                continue  # a signature TF cannot run with these inputs (see the goldens)
            got = sig(**inputs)
            for k, w in zip(keys, want, strict=True):
                assert_close(got[k], w, f"{model} {key} {k}")


# ------------------------------------------------------------------ single ops, random attrs


def _run_both(tf: ModuleType, fn: Callable[..., Any], *inputs: np.ndarray) -> None:
    specs = [tf.TensorSpec(a.shape, tf.as_dtype(a.dtype)) for a in inputs]
    try:
        cf = tf.function(fn).get_concrete_function(*specs)
    except (ValueError, TypeError):
        return  # TF refuses to even build this combination
    graph = graph_pb2.GraphDef()
    graph.ParseFromString(cf.graph.as_graph_def().SerializeToString())
    runner = GraphRunner(graph)
    fetches = [t.name for t in cf.outputs]
    feeds = {t.name: a for t, a in zip(cf.inputs, inputs, strict=True)}
    try:
        want = [t.numpy() for t in tf.nest.flatten(cf(*inputs))]
    except tf.errors.UnimplementedError:
        return  # a combination TF's CPU kernels do not implement
    except tf.errors.InvalidArgumentError as e:
        if "Current implementation" in str(e) or "only supports" in str(e):
            return  # a limit of TF's CPU kernel, not of the op (we compute it)
        with pytest.raises(SavedModelIOError):  # TF refuses the input: so must we
            runner.run(fetches, feeds)
        return
    got = runner.run(fetches, feeds)
    for i, (g, w) in enumerate(zip(got, want, strict=True)):
        assert_close(np.asarray(g), w, f"output {i}")


@pytest.mark.parametrize("seed", range(12))
def test_conv_and_pool_random_attrs(tf: ModuleType, seed: int) -> None:
    r = np.random.RandomState(100 + seed)
    n, h, w, c = 2, int(r.randint(5, 12)), int(r.randint(5, 12)), int(r.randint(1, 4))
    kh, kw = int(r.randint(1, 4)), int(r.randint(1, 4))
    s = [1, int(r.randint(1, 4)), int(r.randint(1, 4)), 1]
    d = [1, int(r.randint(1, 3)), int(r.randint(1, 3)), 1]
    pad = ["SAME", "VALID"][seed % 2]
    x = r.randn(n, h, w, c).astype(np.float32)
    raw = tf.raw_ops
    if s[1:3] == [1, 1] or d[1:3] == [1, 1]:  # TF: strides > 1 with dilations > 1 unsupported
        _run_both(tf, lambda x, k: raw.Conv2D(input=x, filter=k, strides=s, padding=pad,
                                              dilations=d), x,
                  r.randn(kh, kw, c, 3).astype(np.float32))
    _run_both(tf, lambda x, k: raw.DepthwiseConv2dNative(input=x, filter=k, strides=s,
                                                         padding=pad), x,
              r.randn(kh, kw, c, 2).astype(np.float32))
    _run_both(tf, lambda x: raw.MaxPool(input=x, ksize=[1, kh, kw, 1], strides=s,
                                        padding=pad), x)
    _run_both(tf, lambda x: raw.AvgPool(value=x, ksize=[1, kh, kw, 1], strides=s,
                                        padding=pad), x)


@pytest.mark.parametrize("seed", range(20))
def test_strided_slice_random_masks(tf: ModuleType, seed: int) -> None:
    r = np.random.RandomState(200 + seed)
    x = r.randn(4, 5, 6).astype(np.float32)
    n = int(r.randint(1, 4))
    begin = [int(v) for v in r.randint(-6, 6, size=n)]
    end = [int(v) for v in r.randint(-6, 7, size=n)]
    strides = [int(v) or 1 for v in r.choice([-2, -1, 1, 2, 3], size=n)]
    masks = {k: int(r.randint(0, 1 << n)) for k in ("begin_mask", "end_mask",
                                                     "new_axis_mask")}
    masks["ellipsis_mask"] = 1 << int(r.randint(0, n)) if r.rand() < 0.3 else 0
    shrink = int(r.randint(0, 1 << n)) if r.rand() < 0.5 else 0
    _run_both(tf, lambda x: tf.raw_ops.StridedSlice(
        input=x, begin=begin, end=end, strides=strides, shrink_axis_mask=shrink, **masks), x)


@pytest.mark.parametrize("seed", range(8))
def test_reductions_and_gather_random(tf: ModuleType, seed: int) -> None:
    r = np.random.RandomState(300 + seed)
    x = r.randn(3, 4, 5).astype(np.float32)
    axes = sorted({int(a) for a in r.randint(-3, 3, size=int(r.randint(1, 3)))})
    keep = bool(seed % 2)
    def reduce(fn: Any) -> Callable[[Any], Any]:
        return lambda x: fn(input=x, axis=axes, keep_dims=keep)

    for op in ("Sum", "Mean", "Max", "Min", "Prod"):
        _run_both(tf, reduce(getattr(tf.raw_ops, op)), x)
    idx = r.randint(0, 4, size=(2, 3)).astype(np.int64)
    _run_both(tf, lambda x, i: tf.raw_ops.GatherV2(params=x, indices=i, axis=1), x, idx)


def test_string_ops_and_tables(tf: ModuleType) -> None:
    s = np.array([b"a", b"bc", b""], dtype=object)
    _run_both(tf, lambda s: tf.strings.join([s, s], separator="+"), s)
    _run_both(tf, lambda s: tf.strings.to_number(s), np.array([b"1.5", b"-2"], dtype=object))
    table = tf.lookup.StaticHashTable(tf.lookup.KeyValueTensorInitializer(
        tf.constant([b"x", b"y"]), tf.constant([1, 2], tf.int64)), -1)

    @tf.function
    def f(k: Any) -> Any:
        return table.lookup(k)

    want = f(tf.constant([b"y", b"z"])).numpy()
    assert list(want) == [2, -1]


# ------------------------------------------------------------------ registry vs OpDefs


def test_kernel_signatures_match_tensorflow_opdefs(tf: ModuleType) -> None:
    from tensorflow.python.framework import op_def_registry

    checked = 0
    for op in sorted(supported_ops()):
        opdef = op_def_registry.get(op)
        if opdef is None:
            continue
        kdef = lookup(op)
        assert kdef is not None
        names = []
        for arg in opdef.output_arg:
            count = arg.number_attr or arg.type_list_attr
            names.append(f"{arg.name}*{count}" if count else arg.name)
        assert list(kdef.outputs) == names, f"{op}: outputs {kdef.outputs} != TF's {names}"
        defaults = {a.name: a.default_value for a in opdef.attr if a.HasField("default_value")}
        for attr, ours in kdef.attrs.items():
            assert attr in defaults, f"{op}: we default attribute {attr!r}, TF does not"

            tf_value = defaults[attr]
            kind = tf_value.WhichOneof("value")
            if kind == "list":
                theirs: Any = list(tf_value.list.i) or list(tf_value.list.s) or list(
                    tf_value.list.type) or list(tf_value.list.f)
            elif kind == "s":
                theirs = tf_value.s.decode()
            else:
                theirs = getattr(tf_value, kind)
            if kind == "shape":
                continue
            if kind == "f":
                ours, theirs = np.float32(ours), np.float32(theirs)
            assert ours == theirs, f"{op}: default of {attr} is {ours!r}, TF's {theirs!r}"
        checked += 1
    assert checked > 150


# ------------------------------------------------------------------ tf.Example helpers


def test_examples_we_build_parse_in_tensorflow(tf: ModuleType) -> None:
    raw = [serialize_example({"x": [1.5, 2.5], "ids": [3, 4, 5], "word": "cat",
                              "seq": np.array([0.5, 1.0, 2.0], np.float32)}),
           serialize_example({"x": [0.0, -1.0], "ids": [7], "word": [b"dog", b"eel"]})]
    spec_tf = {"x": tf.io.FixedLenFeature([2], tf.float32),
               "ids": tf.io.VarLenFeature(tf.int64),
               "word": tf.io.VarLenFeature(tf.string),
               "seq": tf.io.FixedLenSequenceFeature([], tf.float32, allow_missing=True)}
    spec_ours = {"x": FixedLenFeature([2], np.float32), "ids": VarLenFeature(np.int64),
                 "word": VarLenFeature(str),
                 "seq": FixedLenSequenceFeature([], np.float32, allow_missing=True)}
    want = tf.io.parse_example(tf.constant(raw), spec_tf)
    got = parse_example(raw, spec_ours)
    np.testing.assert_array_equal(got["x"], want["x"].numpy())
    np.testing.assert_array_equal(got["seq"], want["seq"].numpy())
    for key in ("ids", "word"):
        np.testing.assert_array_equal(got[key].indices, want[key].indices.numpy())
        np.testing.assert_array_equal(got[key].values, want[key].values.numpy())
        np.testing.assert_array_equal(got[key].dense_shape, want[key].dense_shape.numpy())
    one = tf.io.parse_single_example(raw[0], {"x": spec_tf["x"]})
    np.testing.assert_array_equal(parse_example(raw[0], {"x": spec_ours["x"]})["x"],
                                  one["x"].numpy())


def test_tensorflow_examples_parse_here(tf: ModuleType) -> None:
    ex = tf.train.Example(features=tf.train.Features(feature={
        "f": tf.train.Feature(float_list=tf.train.FloatList(value=[1.0, 2.0, 3.0])),
        "i": tf.train.Feature(int64_list=tf.train.Int64List(value=[-5])),
        "b": tf.train.Feature(bytes_list=tf.train.BytesList(value=[b"\x00\xff"]))}))
    raw = ex.SerializeToString()
    got = parse_example([raw], {"f": FixedLenFeature([3], np.float32),
                                "i": FixedLenFeature([], np.int64),
                                "b": FixedLenFeature([1], bytes),
                                "missing": FixedLenFeature([2], np.float32, [9.0, 8.0])})
    assert got["f"].tolist() == [[1.0, 2.0, 3.0]]
    assert got["i"].tolist() == [-5]
    assert got["b"].tolist() == [[b"\x00\xff"]]
    assert got["missing"].tolist() == [[9.0, 8.0]]


# ------------------------------------------------------------------ CLI


def test_cli_prints_what_saved_model_cli_prints(tf: ModuleType, tmp_path: Path) -> None:
    from savedmodel_io.cli import run

    d = CORPUS / "saved_model_half_plus_two_cpu/00000123"
    if not d.is_dir():
        pytest.skip("corpus not found")
    cases = [
        ["--signature_def", "serving_default", "--input_exprs", "x=[[1.0],[2.0],[-7.5]]"],
        ["--signature_def", "regress_x_to_y", "--input_examples",
         'inputs=[{"x":[1.0]},{"x":[3.0]}]'],
    ]
    tool = Path(sys.executable).with_name("saved_model_cli")
    for extra in cases:
        argv = ["run", "--dir", str(d), "--tag_set", "serve", *extra]
        theirs = subprocess.run([str(tool), *argv], capture_output=True, text=True,
                                env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
        assert theirs.returncode == 0, theirs.stderr[-500:]
        parser = argparse.ArgumentParser()
        run.add_parser(parser.add_subparsers())
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            assert run.main(parser.parse_args(argv)) == 0
        assert buf.getvalue() == theirs.stdout


# ------------------------------------------------------------------ builder-made models


@pytest.mark.parametrize("case", ["hp2_ref", "hp2_resource", "two_tags", "mlp", "assets"])
def test_builder_made_models_live(tf: ModuleType, case: str, tmp_path: Path,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    builder_tests = pytest.importorskip("tests.saved_model.test_builder")
    monkeypatch.chdir(tmp_path)
    builder_tests.write_asset_sources(tmp_path)
    out = tmp_path / "model"
    builder_tests.BUILDERS[case](str(out))
    loaded = saved_model.load(out, ["serve"])
    sig = loaded.signatures["serving_default"]
    rng = np.random.RandomState(9)
    (name,) = list(sig.inputs)
    dims = [3 if d.size == -1 else d.size for d in sig.inputs[name].tensor_shape.dim]
    value = (np.array([b"dog", b"fish", b"cat"], dtype=object) if case == "assets"
             else rng.randn(*dims).astype(np.float32))
    with tf.compat.v1.Session(graph=tf.Graph()) as sess:
        tf.compat.v1.saved_model.loader.load(sess, ["serve"], str(out))
        keys = sorted(sig.outputs)
        want = sess.run([sig.outputs[k].name for k in keys], {sig.inputs[name].name: value})
    got = sig(**{name: value})
    for k, w in zip(keys, want, strict=True):
        assert_close(got[k], w, f"{case} {k}")
