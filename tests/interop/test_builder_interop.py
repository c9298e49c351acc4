"""SavedModels built here load in TensorFlow 2.21; SavedModels TensorFlow writes load here.

The models of the first half are built by running this file as a script in a fresh
Python process that never imports TensorFlow (checked there), then loaded with
``tf.compat.v1.saved_model.loader.load`` in a Session, with ``tf.saved_model.load``, and
with ``saved_model_cli show --all`` / ``run``. The second half has TensorFlow write
SavedModels (TF1 builder with two tag-sets, assets and a main_op; ``simple_save``;
``as_text``; a TF2 ``tf.Module``; Keras ``model.export``) and checks what our loader reads
against what TensorFlow reads.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from savedmodel_io.protos import fingerprint_pb2
from savedmodel_io.saved_model import fingerprint as fp_mod
from savedmodel_io.saved_model import loader

HERE = Path(__file__).resolve()
VOCAB = b"cat\ndog\nbird\n"
LABELS = [b"ant", b"bee", b"cow"]


def mlp_weights() -> list[np.ndarray]:
    rng = np.random.RandomState(3)
    return [rng.randn(4, 8).astype(np.float32), rng.randn(8).astype(np.float32),
            rng.randn(8, 3).astype(np.float32), rng.randn(3).astype(np.float32)]


def example_weights() -> list[np.ndarray]:
    rng = np.random.RandomState(4)
    return [rng.randn(2, 3).astype(np.float32), rng.randn(3).astype(np.float32),
            rng.randn(2, 1).astype(np.float32)]


def softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    out: np.ndarray = e / e.sum(axis=1, keepdims=True)
    return out


# ------------------------------------------------------------ building, without TensorFlow


def build_all(root: str) -> dict[str, str]:  # pragma: no cover - runs in the subprocess
    """Build every model under ``root``; returns name -> export dir."""
    from savedmodel_io.graph import Graph
    from savedmodel_io.saved_model import SavedModelBuilder
    from savedmodel_io.saved_model import signature_def_utils as sdu

    out: dict[str, str] = {}

    def hp2(resource: bool) -> tuple[Any, Any, Any]:
        g = Graph()
        x = g.placeholder(np.float32, shape=(None,), name="x")
        a = g.variable("a", np.float32(0.5), resource=resource)
        b = g.variable("b", np.float32(2.0), resource=resource)
        y = g.op("AddV2", [g.op("Mul", [a, x]), b], name="y")
        return g, x, y

    for resource in (False, True):
        name = f"half_plus_two_{'resource' if resource else 'ref'}"
        g, x, y = hp2(resource)
        bld = SavedModelBuilder(os.path.join(root, name))
        bld.add_meta_graph_and_variables(g, ["serve"], signature_def_map={
            "serving_default": sdu.predict_signature_def({"x": x}, {"y": y})})
        bld.save()
        out[name] = os.path.join(root, name)

    w1, b1, w2, b2 = mlp_weights()
    g = Graph()
    x = g.placeholder(np.float32, shape=(None, 4), name="x")
    with g.name_scope("dense"):
        h = g.op("Relu", [g.op("BiasAdd", [g.op("MatMul", [x, g.variable("kernel", w1)]),
                                           g.variable("bias", b1)])])
    with g.name_scope("logits"):
        logits = g.op("BiasAdd", [g.op("MatMul", [h, g.variable("kernel", w2)]),
                                  g.variable("bias", b2)])
    probs = g.op("Softmax", [logits], name="probabilities")
    bld = SavedModelBuilder(os.path.join(root, "mlp"))
    bld.add_meta_graph_and_variables(g, ["serve"], signature_def_map={
        "serving_default": sdu.predict_signature_def({"x": x}, {"probabilities": probs})})
    bld.save()
    out["mlp"] = os.path.join(root, "mlp")

    wc, bc, wr = example_weights()
    g = Graph()
    examples = g.placeholder(np.object_, shape=(None,), name="tf_example")
    empty = np.array([], dtype=object)
    parsed = g.add_op(
        "ParseExampleV2",
        [examples, empty, empty, np.array([b"x"], dtype=object), empty,
         [np.zeros(0, np.float32)]],
        attrs={"num_sparse": 0, "sparse_types": [], "ragged_value_types": [],
               "ragged_split_types": [], "dense_shapes": [[2]]},
        name="ParseExample/ParseExampleV2").outputs[0]
    scores = g.op("Softmax", [g.op("BiasAdd", [g.op("MatMul", [parsed, g.variable("w", wc)]),
                                               g.variable("b", bc)])], name="scores")
    batch = g.op("StridedSlice", [g.op("Shape", [examples]), np.array([0], np.int32),
                                  np.array([1], np.int32), np.array([1], np.int32)],
                 shrink_axis_mask=1)
    labels = g.constant(np.array(LABELS, dtype=object), name="labels")
    classes = g.op("Tile", [g.op("ExpandDims", [labels, np.int32(0)]),
                            g.op("Pack", [batch, np.int32(1)])], name="classes")
    regress = g.op("MatMul", [parsed, g.variable("wr", wr)], name="regress")
    bld = SavedModelBuilder(os.path.join(root, "classify_regress"))
    bld.add_meta_graph_and_variables(g, ["serve"], signature_def_map={
        "serving_default": sdu.classification_signature_def(examples, classes, scores),
        "classify": sdu.classification_signature_def(examples, classes, scores),
        "regress": sdu.regression_signature_def(examples, regress)})
    bld.save()
    out["classify_regress"] = os.path.join(root, "classify_regress")

    src = os.path.join(root, "sources")
    os.makedirs(src)
    with open(os.path.join(src, "vocab.txt"), "wb") as f:
        f.write(VOCAB)
    g = Graph()
    vocab = g.constant(os.path.join(src, "vocab.txt"), name="vocab_path")
    g.add_to_collection("asset_filepaths", vocab)
    words = g.placeholder(np.object_, shape=(None,), name="words")
    table = g.op("HashTableV2", [], name="table", key_dtype="string", value_dtype="int64",
                 shared_name=b"vocab_table")
    init = g.add_op("InitializeTableFromTextFileV2", [table, vocab], name="table_init",
                    attrs={"key_index": -2, "value_index": -1})
    ids = g.add_op("LookupTableFindV2", [table, words, np.int64(-1)], name="ids",
                   output_shapes=[None]).outputs[0]
    bld = SavedModelBuilder(os.path.join(root, "vocab_asset"))
    bld.add_meta_graph_and_variables(
        g, ["serve"], signature_def_map={
            "serving_default": sdu.predict_signature_def({"words": words}, {"ids": ids})},
        assets_collection=g.get_collection("asset_filepaths"),
        main_op=g.group([init], name="main_op"))
    bld.save()
    out["vocab_asset"] = os.path.join(root, "vocab_asset")

    g, x, y = hp2(False)
    doubled = g.op("Mul", [y, np.float32(2.0)], name="doubled")
    bld = SavedModelBuilder(os.path.join(root, "two_tag_sets"))
    bld.add_meta_graph_and_variables(g, ["serve"], signature_def_map={
        "serving_default": sdu.predict_signature_def({"x": x}, {"y": y})})
    bld.add_meta_graph(["serve", "gpu"], signature_def_map={
        "serving_default": sdu.predict_signature_def({"x": x}, {"y": doubled})})
    bld.save()
    out["two_tag_sets"] = os.path.join(root, "two_tag_sets")
    return out


def _script_main(root: str) -> None:  # pragma: no cover - runs in the subprocess
    built = build_all(root)
    leaked = sorted(m for m in sys.modules if m == "tensorflow" or m.startswith("tensorflow."))
    if leaked:
        raise SystemExit(f"tensorflow was imported while building: {leaked[:5]}")
    print(json.dumps(built))


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("built_here")
    env = dict(os.environ)
    src = str(HERE.parents[2] / "src")
    env["PYTHONPATH"] = os.pathsep.join([src, env.get("PYTHONPATH", "")])
    p = subprocess.run([sys.executable, str(HERE), str(root)], capture_output=True, env=env,
                       timeout=300)
    assert p.returncode == 0, p.stderr.decode(errors="replace")[-3000:]
    return {k: Path(v) for k, v in json.loads(p.stdout.decode().splitlines()[-1]).items()}


def example_bytes(tf: Any, rows: list[list[float]]) -> list[bytes]:
    out = []
    for r in rows:
        ex = tf.train.Example(features=tf.train.Features(feature={
            "x": tf.train.Feature(float_list=tf.train.FloatList(value=r))}))
        out.append(ex.SerializeToString())
    return out


# ------------------------------------------------------------ TF1 Session loading


def session_run(tf: Any, export_dir: Path, tags: list[str], key: str,
                feeds: dict[str, Any], outputs: list[str]) -> dict[str, Any]:
    v1 = tf.compat.v1
    with v1.Session(graph=tf.Graph()) as sess:
        meta = v1.saved_model.loader.load(sess, tags, str(export_dir))
        sig = meta.signature_def[key]
        fetched = sess.run({k: sig.outputs[k].name for k in outputs},
                           {sig.inputs[k].name: v for k, v in feeds.items()})
    return dict(fetched)


X3 = np.array([1.0, 2.0, 5.0], np.float32)


@pytest.mark.parametrize("name", ["half_plus_two_ref", "half_plus_two_resource"])
def test_half_plus_two_in_a_session(tf: Any, built: dict[str, Path], name: str) -> None:
    got = session_run(tf, built[name], ["serve"], "serving_default", {"x": X3}, ["y"])
    np.testing.assert_allclose(got["y"], 0.5 * X3 + 2.0)


def test_mlp_in_a_session(tf: Any, built: dict[str, Path]) -> None:
    w1, b1, w2, b2 = mlp_weights()
    x = np.random.RandomState(9).randn(5, 4).astype(np.float32)
    got = session_run(tf, built["mlp"], ["serve"], "serving_default", {"x": x},
                      ["probabilities"])
    want = softmax(np.maximum(x @ w1 + b1, 0) @ w2 + b2)
    np.testing.assert_allclose(got["probabilities"], want, rtol=1e-5, atol=1e-6)


def test_classify_and_regress_in_a_session(tf: Any, built: dict[str, Path]) -> None:
    wc, bc, wr = example_weights()
    rows = [[1.0, -2.0], [0.5, 3.0]]
    feed = {"inputs": np.array(example_bytes(tf, rows), dtype=object)}
    got = session_run(tf, built["classify_regress"], ["serve"], "classify", feed,
                      ["classes", "scores"])
    x = np.array(rows, np.float32)
    np.testing.assert_allclose(got["scores"], softmax(x @ wc + bc), rtol=1e-5, atol=1e-6)
    assert got["classes"].tolist() == [LABELS, LABELS]
    got = session_run(tf, built["classify_regress"], ["serve"], "regress", feed, ["outputs"])
    np.testing.assert_allclose(got["outputs"], x @ wr, rtol=1e-5)


def test_vocab_asset_in_a_session(tf: Any, built: dict[str, Path]) -> None:
    words = np.array([b"dog", b"fish", b"cat"], dtype=object)
    got = session_run(tf, built["vocab_asset"], ["serve"], "serving_default",
                      {"words": words}, ["ids"])
    assert got["ids"].tolist() == [1, -1, 0]


def test_two_tag_sets_in_a_session(tf: Any, built: dict[str, Path]) -> None:
    for tags, factor in ((["serve"], 1.0), (["serve", "gpu"], 2.0)):
        got = session_run(tf, built["two_tag_sets"], tags, "serving_default", {"x": X3},
                          ["y"])
        np.testing.assert_allclose(got["y"], factor * (0.5 * X3 + 2.0))


# ------------------------------------------------------------ TF2 loading


@pytest.mark.parametrize("name", ["half_plus_two_ref", "half_plus_two_resource"])
def test_half_plus_two_with_tf_saved_model_load(tf: Any, built: dict[str, Path],
                                                name: str) -> None:
    m = tf.saved_model.load(str(built[name]))
    out = m.signatures["serving_default"](x=tf.constant(X3))
    np.testing.assert_allclose(out["y"].numpy(), 0.5 * X3 + 2.0)


def test_mlp_classify_regress_vocab_with_tf_saved_model_load(tf: Any,
                                                             built: dict[str, Path]) -> None:
    w1, b1, w2, b2 = mlp_weights()
    x = np.random.RandomState(10).randn(2, 4).astype(np.float32)
    m = tf.saved_model.load(str(built["mlp"]))
    probs = m.signatures["serving_default"](x=tf.constant(x))["probabilities"].numpy()
    np.testing.assert_allclose(probs, softmax(np.maximum(x @ w1 + b1, 0) @ w2 + b2),
                               rtol=1e-5, atol=1e-6)

    wc, bc, wr = example_weights()
    rows = [[0.0, 1.0]]
    m = tf.saved_model.load(str(built["classify_regress"]))
    ex = tf.constant(example_bytes(tf, rows))
    out = m.signatures["classify"](inputs=ex)
    xr = np.array(rows, np.float32)
    np.testing.assert_allclose(out["scores"].numpy(), softmax(xr @ wc + bc), rtol=1e-5)
    assert out["classes"].numpy().tolist() == [LABELS]
    out = m.signatures["regress"](inputs=ex)
    np.testing.assert_allclose(out["outputs"].numpy(), xr @ wr, rtol=1e-5)

    m = tf.saved_model.load(str(built["vocab_asset"]))
    ids = m.signatures["serving_default"](words=tf.constant([b"bird", b"cat", b"?"]))["ids"]
    assert ids.numpy().tolist() == [2, 0, -1]


def test_two_tag_sets_with_tf_saved_model_load(tf: Any, built: dict[str, Path]) -> None:
    for tags, factor in ((["serve"], 1.0), (["serve", "gpu"], 2.0)):
        m = tf.saved_model.load(str(built["two_tag_sets"]), tags=tags)
        y = m.signatures["serving_default"](x=tf.constant(X3))["y"].numpy()
        np.testing.assert_allclose(y, factor * (0.5 * X3 + 2.0))


def test_our_fingerprint_is_tensorflows(tf: Any, built: dict[str, Path]) -> None:
    from tensorflow.python.saved_model.pywrap_saved_model import fingerprinting

    for name, d in built.items():
        ours = fingerprint_pb2.FingerprintDef.FromString((d / "fingerprint.pb").read_bytes())
        theirs = fingerprint_pb2.FingerprintDef.FromString(
            fingerprinting.CreateFingerprintDef(str(d)))
        theirs.uuid = ours.uuid
        assert ours == theirs, name
        read = tf.saved_model.experimental.read_fingerprint(str(d))
        assert read.singleprint() == fp_mod.singleprint(ours)


# ------------------------------------------------------------ saved_model_cli


def _cli(*args: str) -> subprocess.CompletedProcess[bytes]:
    """``saved_model_cli`` of the TensorFlow installed with this Python."""
    tool = [sys.executable, "-m", "tensorflow.python.tools.saved_model_cli"]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="")
    return subprocess.run([*tool, *args], capture_output=True, env=env, timeout=300)


CLI_RUNS = {
    "half_plus_two_ref": (["--tag_set", "serve", "--signature_def", "serving_default",
                           "--input_exprs", "x=[1.0,2.0]"], "[2.5 3. ]"),
    "half_plus_two_resource": (["--tag_set", "serve", "--signature_def", "serving_default",
                                "--input_exprs", "x=[4.0]"], "[4.]"),
    "mlp": (["--tag_set", "serve", "--signature_def", "serving_default", "--input_exprs",
             "x=[[0.0,0.0,0.0,0.0]]"], "probabilities"),
    "classify_regress": (["--tag_set", "serve", "--signature_def", "regress",
                          "--input_examples", "inputs=[{'x':[1.0,2.0]}]"], "outputs"),
    "vocab_asset": (["--tag_set", "serve", "--signature_def", "serving_default",
                     "--input_exprs", "words=['dog']"], "[1]"),
    "two_tag_sets": (["--tag_set", "gpu,serve", "--signature_def", "serving_default",
                      "--input_exprs", "x=[0.0]"], "[4.]"),
}


@pytest.mark.parametrize("name", sorted(CLI_RUNS))
def test_saved_model_cli_show_and_run(built: dict[str, Path], name: str) -> None:
    show = _cli("show", "--dir", str(built[name]), "--all")
    assert show.returncode == 0, show.stderr.decode(errors="replace")[-2000:]
    assert b"signature_def['serving_default']" in show.stdout
    args, expected = CLI_RUNS[name]
    run = _cli("run", "--dir", str(built[name]), *args)
    assert run.returncode == 0, run.stderr.decode(errors="replace")[-2000:]
    assert expected in run.stdout.decode(), run.stdout.decode()


# ------------------------------------------------------------ read here what TF writes


def _tf1_builder_model(tf: Any, export_dir: Path, src: Path, as_text: bool) -> None:
    v1 = tf.compat.v1
    S = v1.saved_model
    with tf.Graph().as_default():
        x = v1.placeholder(tf.float32, [None, 2], name="x")
        w = v1.Variable(np.arange(6, dtype=np.float32).reshape(2, 3), name="w")
        y = tf.identity(tf.matmul(x, w), name="y")
        vocab = tf.constant(str(src), name="vocab_path")
        v1.add_to_collection(v1.GraphKeys.ASSET_FILEPATHS, vocab)
        table = tf.lookup.StaticHashTable(tf.lookup.TextFileInitializer(
            vocab, tf.string, tf.lookup.TextFileIndex.WHOLE_LINE, tf.int64,
            tf.lookup.TextFileIndex.LINE_NUMBER), -1)
        words = v1.placeholder(tf.string, [None], name="words")
        ids = tf.identity(table.lookup(words), name="ids")
        main_op = tf.group(v1.tables_initializer(), name="main_op")
        with v1.Session() as sess:
            sess.run(v1.global_variables_initializer())
            b = S.Builder(str(export_dir))
            b.add_meta_graph_and_variables(
                sess, ["serve"],
                signature_def_map={"serving_default": S.predict_signature_def({"x": x},
                                                                              {"y": y})},
                assets_collection=v1.get_collection(v1.GraphKeys.ASSET_FILEPATHS),
                main_op=main_op)
            b.add_meta_graph(["serve", "gpu"], signature_def_map={
                "lookup": S.predict_signature_def({"words": words}, {"ids": ids})})
            b.save(as_text=as_text)


def _compare_with_tensorflow(tf: Any, export_dir: Path, tags: list[str]) -> None:
    """Our loader's view of one meta graph against TensorFlow's."""
    from tensorflow.core.protobuf import meta_graph_pb2 as tf_meta

    from savedmodel_io.protos import meta_graph_pb2

    ours = loader.load(export_dir, tags)
    with tf.compat.v1.Session(graph=tf.Graph()) as sess:
        theirs = tf.compat.v1.saved_model.loader.load(sess, tags, str(export_dir))
        assert isinstance(theirs, tf_meta.MetaGraphDef)
    assert set(ours.tags) == set(theirs.meta_info_def.tags)
    assert sorted(ours.meta_graph_def.signature_def) == sorted(theirs.signature_def)
    for key, sig in ours.meta_graph_def.signature_def.items():
        assert sig == meta_graph_pb2.SignatureDef.FromString(
            theirs.signature_def[key].SerializeToString()), key
    reader = tf.train.load_checkpoint(str(export_dir / "variables" / "variables"))
    assert ours.variables is not None
    tf_keys = set(reader.get_variable_to_shape_map())
    assert set(ours.variables) == tf_keys
    for k in tf_keys:
        want = reader.get_tensor(k)
        got = ours.variables[k]
        if isinstance(want, bytes):
            assert got.item() == want
        else:
            np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("as_text", [False, True], ids=["pb", "pbtxt"])
def test_tf1_builder_with_tag_sets_assets_and_main_op(tf: Any, tmp_path: Path,
                                                      as_text: bool) -> None:
    src = tmp_path / "vocab.txt"
    src.write_bytes(VOCAB)
    d = tmp_path / "m"
    _tf1_builder_model(tf, d, src, as_text)
    assert (d / ("saved_model.pbtxt" if as_text else "saved_model.pb")).exists()
    for tags in (["serve"], ["serve", "gpu"]):
        _compare_with_tensorflow(tf, d, tags)
        ours = loader.load(d, tags)
        assert ours.init_op_name == "main_op"
        assert {os.path.basename(p) for p in ours.asset_paths.values()} == {"vocab.txt"}
        assert all(Path(p).read_bytes() == VOCAB for p in ours.asset_paths.values())
    assert loader.get_saved_model_tag_sets(d) == [["serve"], ["serve", "gpu"]]
    if not as_text:
        from tensorflow.python.saved_model.pywrap_saved_model import fingerprinting
        theirs = fingerprint_pb2.FingerprintDef.FromString(
            fingerprinting.CreateFingerprintDef(str(d)))
        assert fp_mod.create_fingerprint_def(d, uuid=theirs.uuid) == theirs


def test_simple_save_written_by_tensorflow(tf: Any, tmp_path: Path) -> None:
    v1 = tf.compat.v1
    d = tmp_path / "m"
    with tf.Graph().as_default():
        x = v1.placeholder(tf.float32, [None, 3], name="x")
        w = v1.Variable(np.ones((3, 2), np.float32), name="w")
        y = tf.matmul(x, w, name="y")
        with v1.Session() as sess:
            sess.run(v1.global_variables_initializer())
            v1.saved_model.simple_save(sess, str(d), inputs={"x": x}, outputs={"y": y})
    _compare_with_tensorflow(tf, d, ["serve"])
    sig = loader.load(d, ["serve"]).meta_graph_def.signature_def["serving_default"]
    assert (sig.method_name, sig.inputs["x"].name, sig.outputs["y"].name) == (
        "tensorflow/serving/predict", "x:0", "y:0")


def test_tf2_module_written_by_tensorflow(tf: Any, tmp_path: Path) -> None:
    class Mod(tf.Module):  # type: ignore[misc, name-defined]
        def __init__(self) -> None:
            super().__init__()
            self.w = tf.Variable(np.eye(2, dtype=np.float32) * 3, name="w")
            self.vocab = tf.saved_model.Asset(str(tmp_path / "vocab.txt"))

        @tf.function(input_signature=[tf.TensorSpec([None, 2], tf.float32, name="x")])
        def __call__(self, x: Any) -> Any:
            return {"y": tf.matmul(x, self.w)}

    (tmp_path / "vocab.txt").write_bytes(VOCAB)
    m = Mod()
    d = tmp_path / "m"
    tf.saved_model.save(m, str(d), signatures=m.__call__)
    ours = loader.load(d, ["serve"])
    assert "serving_default" in ours.meta_graph_def.signature_def
    assert ours.meta_graph_def.signature_def["serving_default"].outputs["y"].dtype == 1
    paths = ours.variables_by_path()
    assert ours.variables is not None
    np.testing.assert_array_equal(ours.variables[paths["w"]], np.eye(2) * 3)
    assert [os.path.basename(p) for p in ours.asset_paths.values()] == ["vocab.txt"]
    written = fingerprint_pb2.FingerprintDef.FromString((d / "fingerprint.pb").read_bytes())
    assert ours.fingerprint == written
    assert fp_mod.create_fingerprint_def(d, uuid=written.uuid) == written


def test_keras_export_written_by_tensorflow(tf: Any, tmp_path: Path) -> None:
    keras = pytest.importorskip("keras")
    model = keras.Sequential([keras.Input((4,), name="features"),
                              keras.layers.Dense(3, name="out")])
    kernel = np.arange(12, dtype=np.float32).reshape(4, 3)
    model.layers[-1].kernel.assign(kernel)
    d = tmp_path / "m"
    import contextlib
    import io
    with contextlib.redirect_stdout(io.StringIO()):
        model.export(str(d))
    ours = loader.load(d, ["serve"])
    sig = ours.meta_graph_def.signature_def["serving_default"]
    assert [d_.size for d_ in sig.inputs["features"].tensor_shape.dim] == [-1, 4]
    assert ours.variables is not None
    values = [ours.variables[k] for k in ours.variables
              if k != "_CHECKPOINTABLE_OBJECT_GRAPH"]
    assert any(v.shape == (4, 3) and np.array_equal(v, kernel) for v in values)
    written = fingerprint_pb2.FingerprintDef.FromString((d / "fingerprint.pb").read_bytes())
    assert fp_mod.create_fingerprint_def(d, uuid=written.uuid) == written


if __name__ == "__main__":  # pragma: no cover - the builder subprocess
    _script_main(sys.argv[1])
