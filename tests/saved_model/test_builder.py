"""SavedModelBuilder against what TensorFlow 2.21's TF1 builder wrote for the same graphs
(tests/data/golden/builder, made by make_builder_goldens.py there), plus the refusals and
the all-or-nothing behaviour TensorFlow does not have."""

from __future__ import annotations

import gc
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from google.protobuf import text_format

from savedmodel_io import fileio
from savedmodel_io.errors import (
    AlreadyExistsError,
    FailedPreconditionError,
    InvalidArgumentError,
    NotFoundError,
    SavedModelIOError,
    UnimplementedError,
)
from savedmodel_io.graph import Graph, Tensor
from savedmodel_io.protos import fingerprint_pb2, meta_graph_pb2, saved_model_pb2, types_pb2
from savedmodel_io.saved_model import SavedModelBuilder, constants, loader, utils
from savedmodel_io.saved_model import builder as builder_mod
from savedmodel_io.saved_model import signature_def_utils as sdu
from savedmodel_io.train import Variable

VOCAB_A = b"cat\ndog\nbird\n"
VOCAB_B = b"red\ngreen\n"


# ------------------------------------------------------------ the golden graphs, rebuilt


def half_plus_two(resource: bool) -> tuple[Graph, Tensor, Tensor]:
    g = Graph()
    x = g.placeholder(np.float32, shape=(None,), name="x")
    a = g.variable("a", np.float32(0.5), resource=resource)
    b = g.variable("b", np.float32(2.0), resource=resource)
    y = g.op("AddV2", [g.op("Mul", [a, x]), b], name="y")
    g.global_variables_initializer()
    return g, x, y


def predict(x: Tensor, y: Tensor, xk: str = "x", yk: str = "y") -> dict[str, Any]:
    return {"serving_default": sdu.predict_signature_def({xk: x}, {yk: y})}


def build_hp2(out: str, resource: bool, as_text: bool = False) -> None:
    g, x, y = half_plus_two(resource)
    b = SavedModelBuilder(out)
    b.add_meta_graph_and_variables(g, ["serve"], signature_def_map=predict(x, y))
    b.save(as_text=as_text)


def build_two_tags(out: str) -> None:
    g, x, y = half_plus_two(False)
    b = SavedModelBuilder(out)
    b.add_meta_graph_and_variables(g, ["serve"], signature_def_map=predict(x, y),
                                   strip_default_attrs=True)
    b.add_meta_graph(["serve", "gpu"], signature_def_map={
        "gpu_default": sdu.predict_signature_def({"input": x}, {"output": y})})
    b.save()


def mlp_weights() -> list[np.ndarray]:
    rng = np.random.RandomState(7)
    return [rng.randn(4, 8).astype(np.float32), rng.randn(8).astype(np.float32),
            rng.randn(8, 3).astype(np.float32), rng.randn(3).astype(np.float32)]


def build_mlp(out: str) -> None:
    w1, b1, w2, b2 = mlp_weights()
    g = Graph()
    x = g.placeholder(np.float32, shape=(None, 4), name="x")
    with g.name_scope("hidden"):
        w, b = g.variable("kernel", w1, resource=True), g.variable("bias", b1, resource=True)
        h = g.op("Relu", [g.op("BiasAdd", [g.op("MatMul", [x, w]), b])])
    with g.name_scope("logits"):
        w, b = g.variable("kernel", w2, resource=True), g.variable("bias", b2, resource=True)
        logits = g.op("BiasAdd", [g.op("MatMul", [h, w]), b])
    probs = g.op("Softmax", [logits], name="probabilities")
    g.global_variables_initializer()
    bld = SavedModelBuilder(out)
    bld.add_meta_graph_and_variables(g, ["serve"], signature_def_map=predict(
        x, probs, "x", "probabilities"))
    bld.save()


def write_asset_sources(where: Path) -> None:
    (where / "src_a").mkdir(exist_ok=True)
    (where / "src_b").mkdir(exist_ok=True)
    (where / "src_a" / "vocab.txt").write_bytes(VOCAB_A)
    (where / "src_b" / "vocab.txt").write_bytes(VOCAB_B)


def build_assets(out: str) -> None:
    """Run with cwd holding src_a/ and src_b/ (relative paths, as the golden)."""
    g = Graph()
    va = g.constant("src_a/vocab.txt", name="vocab_a")
    vb = g.constant("src_b/vocab.txt", name="vocab_b")
    va2 = g.constant("src_a/vocab.txt", name="vocab_a_again")
    for t in (va, vb, va2):
        g.add_to_collection("asset_filepaths", t)
    words = g.placeholder(np.object_, shape=(None,), name="words")
    table = g.op("HashTableV2", [], name="table", key_dtype="string", value_dtype="int64",
                 shared_name=b"vocab_table")
    init = g.add_op("InitializeTableFromTextFileV2", [table, va], name="table_init",
                    attrs={"key_index": -2, "value_index": -1})
    # TensorFlow gives LookupTableFindV2 an unknown output shape here.
    ids = g.add_op("LookupTableFindV2", [table, words, np.int64(-1)], name="ids",
                   output_shapes=[None]).outputs[0]
    main_op = g.group([init], name="main_op")
    bld = SavedModelBuilder(out)
    bld.add_meta_graph_and_variables(
        g, ["serve"], signature_def_map=predict(words, ids, "words", "ids"),
        assets_collection=g.get_collection("asset_filepaths"), main_op=main_op)
    bld.save()


BUILDERS: dict[str, Callable[[str], None]] = {
    "hp2_ref": lambda out: build_hp2(out, False),
    "hp2_resource": lambda out: build_hp2(out, True),
    "two_tags": build_two_tags,
    "mlp": build_mlp,
    "assets": build_assets,
}


def files_under(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file()}


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    write_asset_sources(tmp_path)
    return tmp_path


@pytest.fixture(scope="module")
def tf_fingerprints(golden: Path) -> dict[str, dict[str, int]]:
    data: dict[str, dict[str, int]] = json.loads(
        (golden / "builder" / "fingerprint.json").read_text())["fingerprints"]
    return data


@pytest.mark.parametrize("case", sorted(BUILDERS))
def test_files_are_byte_identical_to_tensorflows(case: str, in_tmp: Path,
                                                 golden: Path) -> None:
    out = in_tmp / "out"
    BUILDERS[case](str(out))
    ours = files_under(out)
    theirs = files_under(golden / "builder" / case)
    assert ours.pop(constants.FINGERPRINT_FILENAME)  # TF's TF1 builder writes none
    assert ours == theirs
    assert (out / "variables").is_dir()  # present even without variables, as in TF


@pytest.mark.parametrize("case", sorted(BUILDERS))
def test_fingerprint_is_the_one_tensorflow_computes(
        case: str, in_tmp: Path, tf_fingerprints: dict[str, dict[str, int]]) -> None:
    out = in_tmp / "out"
    BUILDERS[case](str(out))
    fp = fingerprint_pb2.FingerprintDef.FromString(
        (out / constants.FINGERPRINT_FILENAME).read_bytes())
    want = tf_fingerprints[case]
    assert {"saved_model_checksum": fp.saved_model_checksum,
            "graph_def_program_hash": fp.graph_def_program_hash,
            "signature_def_hash": fp.signature_def_hash,
            "saved_object_graph_hash": fp.saved_object_graph_hash,
            "checkpoint_hash": fp.checkpoint_hash,
            "version_producer": fp.version.producer} == want
    assert fp.uuid.isdigit() and int(fp.uuid) < 1 << 128


def test_as_text_writes_tensorflows_text_proto_and_no_fingerprint(tmp_path: Path,
                                                                 golden: Path) -> None:
    out = tmp_path / "m"
    build_hp2(str(out), False, as_text=True)
    assert sorted(os.listdir(out)) == ["saved_model.pbtxt", "variables"]
    theirs = golden / "builder" / "hp2_ref_text"
    parsed = [text_format.Parse(p.read_text(), saved_model_pb2.SavedModel())
              for p in (out / "saved_model.pbtxt", theirs / "saved_model.pbtxt")]
    assert parsed[0] == parsed[1]
    assert files_under(out / "variables") == files_under(theirs / "variables")
    loaded = loader.load(out, ["serve"])
    assert loaded.variables is not None and float(loaded.variables["a"]) == 0.5


def test_loader_reads_the_built_model(in_tmp: Path) -> None:
    out = in_tmp / "out"
    build_assets(str(out))
    loaded = loader.load(out, ["serve"])
    assert loaded.init_op_name == "main_op"
    assert loaded.asset_paths == {
        "vocab_a:0": str(out.resolve() / "assets" / "vocab.txt"),
        "vocab_b:0": str(out.resolve() / "assets" / "vocab.txt_1"),
        "vocab_a_again:0": str(out.resolve() / "assets" / "vocab.txt")}
    assert (out / "assets" / "vocab.txt").read_bytes() == VOCAB_A
    assert (out / "assets" / "vocab.txt_1").read_bytes() == VOCAB_B
    assert loaded.variables is None
    assert not loaded.meta_graph_def.HasField("saver_def")  # no variables, no saver
    sig = loaded.meta_graph_def.signature_def["serving_default"]
    assert sig.method_name == "tensorflow/serving/predict"
    assert sig.outputs["ids"].dtype == types_pb2.DT_INT64


def test_two_tag_sets_share_the_variables(tmp_path: Path) -> None:
    out = tmp_path / "m"
    build_two_tags(str(out))
    first, second = (loader.load(out, tags) for tags in (["serve"], ["gpu", "serve"]))
    assert first.meta_graph_def.saver_def.restore_op_name == "save/restore_all"
    assert second.meta_graph_def.saver_def.restore_op_name == "save_1/restore_all"
    assert second.meta_graph_def.saver_def.sharded
    assert list(second.meta_graph_def.signature_def) == ["gpu_default"]
    assert first.variables is not None and dict(first.variables) == {
        "a": np.float32(0.5), "b": np.float32(2.0)}
    # The second graph holds the first saver too (same graph, as TensorFlow).
    names = {n.name for n in second.meta_graph_def.graph_def.node}
    assert {"save/restore_all", "save_1/restore_all"} <= names


def test_variables_override_writes_other_values_and_leaves_the_graph(tmp_path: Path) -> None:
    g, x, y = half_plus_two(False)
    b = SavedModelBuilder(tmp_path / "m")
    b.add_meta_graph_and_variables(g, ["serve"], signature_def_map=predict(x, y),
                                   variables={"a": np.float32(3.0)})
    b.save()
    reader = loader.load(tmp_path / "m", ["serve"]).variables
    assert reader is not None
    assert (float(reader["a"]), float(reader["b"])) == (3.0, 2.0)
    assert float(g.graph_variables[0].value) == 0.5

    g2, x2, y2 = half_plus_two(True)
    b2 = SavedModelBuilder(tmp_path / "m2")
    b2.add_meta_graph_and_variables(g2, "serve", signature_def_map=predict(x2, y2),
                                    variables=[Variable("b", np.float32(-1.0))])
    b2.save()
    loaded = loader.load(tmp_path / "m2", "serve")
    assert loaded.tags == ["serve"]  # one string is one tag
    assert loaded.variables is not None and float(loaded.variables["b"]) == -1.0


@pytest.mark.parametrize("override, words", [
    ({"nope": np.float32(1)}, "which the SavedModel does not save"),
    ({"a": np.float64(1)}, "dtype"),
    ({"a": np.zeros(2, np.float32)}, "shape"),
    ([np.float32(1)], "list of savedmodel_io.train.Variable"),
])
def test_bad_variables_override_is_refused(tmp_path: Path, override: Any, words: str) -> None:
    g, x, y = half_plus_two(False)
    with pytest.raises(InvalidArgumentError, match=words):
        SavedModelBuilder(tmp_path / "m").add_meta_graph_and_variables(
            g, ["serve"], signature_def_map=predict(x, y), variables=override)
    assert os.listdir(tmp_path) == []


# ------------------------------------------------------------ export directory


def test_existing_non_empty_directory_is_refused_as_tensorflow(tmp_path: Path) -> None:
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "keep.txt").write_text("mine")
    with pytest.raises(AlreadyExistsError) as e:
        SavedModelBuilder(tmp_path / "m")
    assert str(e.value) == (
        f"Export directory {tmp_path / 'm'} already exists, and isn't empty. Please choose "
        "a different export directory, or delete all the contents of the specified "
        "directory.")
    (tmp_path / "f").write_text("x")
    with pytest.raises(AlreadyExistsError, match="not a directory"):
        SavedModelBuilder(tmp_path / "f")


def test_existing_empty_directory_is_used(tmp_path: Path) -> None:
    (tmp_path / "m").mkdir()
    build_hp2(str(tmp_path / "m"), False)
    assert sorted(os.listdir(tmp_path)) == ["m"]
    assert sorted(os.listdir(tmp_path / "m")) == ["fingerprint.pb", "saved_model.pb",
                                                  "variables"]


def test_parents_are_created(tmp_path: Path) -> None:
    build_hp2(str(tmp_path / "a" / "b" / "1"), False)
    assert loader.contains_saved_model(tmp_path / "a" / "b" / "1")


def test_nothing_appears_before_save(tmp_path: Path) -> None:
    g, x, y = half_plus_two(False)
    b = SavedModelBuilder(tmp_path / "m")
    b.add_meta_graph_and_variables(g, ["serve"], signature_def_map=predict(x, y))
    assert not (tmp_path / "m").exists()
    path = b.save()
    assert path == str(tmp_path / "m" / "saved_model.pb")
    assert sorted(os.listdir(tmp_path)) == ["m"]  # the temporary directory is gone


def test_a_builder_dropped_without_save_leaves_nothing(tmp_path: Path) -> None:
    g, x, y = half_plus_two(False)
    b = SavedModelBuilder(tmp_path / "m")
    b.add_meta_graph_and_variables(g, ["serve"], signature_def_map=predict(x, y))
    assert len(os.listdir(tmp_path)) == 1  # the temporary sibling
    del b
    gc.collect()
    assert os.listdir(tmp_path) == []


def test_directory_filled_meanwhile_is_refused_at_save(tmp_path: Path) -> None:
    g, x, y = half_plus_two(False)
    b = SavedModelBuilder(tmp_path / "m")
    b.add_meta_graph_and_variables(g, ["serve"], signature_def_map=predict(x, y))
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "other").write_text("someone else's")
    with pytest.raises(AlreadyExistsError, match="already exists, and isn't empty"):
        b.save()
    assert os.listdir(tmp_path) == ["m"]
    assert os.listdir(tmp_path / "m") == ["other"]
    with pytest.raises(FailedPreconditionError, match="failed while saving"):
        b.save()


# ------------------------------------------------------------ nothing half-way


def _graph_state(g: Graph) -> tuple[list[str], dict[str, int]]:
    return ([op.name for op in g.get_operations()],
            {k: len(g.get_collection(k)) for k in g.get_all_collection_keys()})


def _bad_signatures(x: Tensor, y: Tensor) -> list[tuple[Any, str]]:
    no_dtype = meta_graph_pb2.SignatureDef(method_name="tensorflow/serving/predict")
    no_dtype.inputs["x"].name = "x:0"
    no_encoding = meta_graph_pb2.SignatureDef()
    no_encoding.outputs["y"].dtype = types_pb2.DT_FLOAT
    missing = sdu.predict_signature_def(
        {"x": utils.build_tensor_info_from_spec("nope:0", "float32", None)}, {"y": y})
    init_key = {constants.INIT_OP_SIGNATURE_KEY: sdu.predict_signature_def({"x": x},
                                                                            {"y": y})}
    train_key = {constants.TRAIN_OP_SIGNATURE_KEY: sdu.predict_signature_def({"x": x},
                                                                             {"y": y})}
    return [({"s": no_dtype}, "must have the dtype field set"),
            ({"s": no_encoding}, "must have one of the 'encoding' fields"),
            ({"s": missing}, "names tensor 'nope:0', which is not in the graph"),
            (init_key, "is reserved for initialization"),
            (train_key, "is reserved for the train op"),
            ({"s": "not a signature"}, "must be a SignatureDef")]


def test_invalid_signatures_change_nothing(tmp_path: Path) -> None:
    g, x, y = half_plus_two(False)
    before = _graph_state(g)
    b = SavedModelBuilder(tmp_path / "m")
    for sigs, words in _bad_signatures(x, y):
        with pytest.raises(InvalidArgumentError, match=words):
            b.add_meta_graph_and_variables(g, ["serve"], signature_def_map=sigs)
        assert _graph_state(g) == before
        assert os.listdir(tmp_path) == []
    # The builder is still usable.
    b.add_meta_graph_and_variables(g, ["serve"], signature_def_map=predict(x, y))
    for sigs, words in _bad_signatures(x, y):
        state = _graph_state(g)
        with pytest.raises(InvalidArgumentError, match=words):
            b.add_meta_graph(["serve", "gpu"], signature_def_map=sigs)
        assert _graph_state(g) == state
    b.save()
    assert [m.meta_info_def.tags for m in loader.parse_saved_model(tmp_path / "m").meta_graphs
            ] == [["serve"]]


def test_unknown_ops_are_refused_unless_allowed(tmp_path: Path) -> None:
    g, x, y = half_plus_two(False)
    g.add_op("MyCustomOp", [y], attrs={"T": types_pb2.DT_FLOAT}, output_types=["float32"])
    before = _graph_state(g)
    with pytest.raises(InvalidArgumentError, match=r"not in the op registry: \['MyCustomOp'\]"):
        SavedModelBuilder(tmp_path / "m").add_meta_graph_and_variables(
            g, ["serve"], signature_def_map=predict(x, y))
    assert _graph_state(g) == before and os.listdir(tmp_path) == []
    b = SavedModelBuilder(tmp_path / "m")
    b.add_meta_graph_and_variables(g, ["serve"], signature_def_map=predict(x, y),
                                   allow_custom_ops=True)
    b.save()
    nodes = loader.load(tmp_path / "m", ["serve"]).meta_graph_def.graph_def.node
    assert "MyCustomOp" in {n.op for n in nodes}


@pytest.mark.parametrize("where", ["variables", "fingerprint", "saved_model"])
def test_failure_mid_write_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                          where: str) -> None:
    class Boom(Exception):
        pass

    def boom(*args: Any, **kwargs: Any) -> Any:
        raise Boom("injected")

    if where == "variables":
        monkeypatch.setattr(builder_mod.Saver, "save", boom)
    elif where == "fingerprint":
        monkeypatch.setattr(builder_mod, "write_fingerprint", boom)
    else:
        real = fileio.atomic_write_bytes

        def fail_on_saved_model(path: str, data: bytes, **kw: Any) -> None:
            if path.endswith(constants.SAVED_MODEL_FILENAME_PB):
                # Half a file, then the crash.
                real(path, data[: len(data) // 2], **kw)
                raise Boom("injected")
            real(path, data, **kw)
        monkeypatch.setattr(builder_mod.fileio, "atomic_write_bytes", fail_on_saved_model)
    g, x, y = half_plus_two(False)
    b = SavedModelBuilder(tmp_path / "m")
    with pytest.raises(Boom):
        b.add_meta_graph_and_variables(g, ["serve"], signature_def_map=predict(x, y))
        b.save()
    assert os.listdir(tmp_path) == []
    with pytest.raises(FailedPreconditionError, match="nothing was left behind"):
        b.save()


# ------------------------------------------------------------ TensorFlow's other rules


def test_call_order_rules(tmp_path: Path) -> None:
    g, x, y = half_plus_two(False)
    b = SavedModelBuilder(tmp_path / "m")
    with pytest.raises(FailedPreconditionError, match="invoke `add_meta_graph_and_variables"):
        b.add_meta_graph(["serve"], graph=g)
    b.add_meta_graph_and_variables(g, ["serve"])
    with pytest.raises(FailedPreconditionError, match="Please invoke `add_meta_graph"):
        b.add_meta_graph_and_variables(g, ["train"])
    with pytest.raises(UnimplementedError, match="chunked"):
        b.save(experimental_image_format=True)
    b.save()
    with pytest.raises(FailedPreconditionError, match="has saved its SavedModel"):
        b.save()
    with pytest.raises(InvalidArgumentError, match="savedmodel_io.graph.Graph"):
        SavedModelBuilder(tmp_path / "n").add_meta_graph_and_variables(object(), ["serve"])


def test_main_op_rules(tmp_path: Path) -> None:
    g, x, y = half_plus_two(False)
    init = g.get_operation_by_name("init")
    b = SavedModelBuilder(tmp_path / "m")
    with pytest.raises(InvalidArgumentError, match="to be an Operation"):
        b.add_meta_graph_and_variables(g, ["serve"], main_op=y)  # type: ignore[arg-type]
    b.add_meta_graph_and_variables(g, ["serve"], legacy_init_op=init)
    with pytest.raises(InvalidArgumentError, match="already contains one or more main ops"):
        b.add_meta_graph(["serve", "gpu"], main_op=init)
    b.add_meta_graph(["serve", "gpu"])
    b.save()
    for tags in (["serve"], ["serve", "gpu"]):
        meta = loader.load(tmp_path / "m", tags).meta_graph_def
        assert list(meta.collection_def[constants.MAIN_OP_KEY].node_list.value) == ["init"]


def test_later_meta_graph_must_restore_the_saved_variables(tmp_path: Path) -> None:
    g, x, y = half_plus_two(False)
    b = SavedModelBuilder(tmp_path / "m")
    b.add_meta_graph_and_variables(g, ["serve"])
    other = Graph()
    other.variable("a", np.zeros(3, np.float32))
    with pytest.raises(InvalidArgumentError, match=r"'a'.*DT_FLOAT \[3\].*hold DT_FLOAT \[\]"):
        b.add_meta_graph(["other"], graph=other)
    third = Graph()
    third.variable("c", np.float32(1))
    with pytest.raises(InvalidArgumentError, match="'c'.*was not saved"):
        b.add_meta_graph(["third"], graph=third)
    fourth = Graph()
    fourth.variable("a", np.float32(7))
    b.add_meta_graph(["fourth"], graph=fourth)  # a subset with the same key, dtype, shape
    b.save()
    assert [list(m.meta_info_def.tags)
            for m in loader.parse_saved_model(tmp_path / "m").meta_graphs] == [
        ["serve"], ["fourth"]]


def test_saver_var_list_picks_keys(tmp_path: Path) -> None:
    g, x, y = half_plus_two(False)
    a, b_var = g.graph_variables
    b = SavedModelBuilder(tmp_path / "m")
    b.add_meta_graph_and_variables(g, ["serve"], saver={"alpha": a, "beta": b_var})
    b.save()
    reader = loader.load(tmp_path / "m", ["serve"]).variables
    assert reader is not None and sorted(reader) == ["alpha", "beta"]


@pytest.mark.parametrize("make, words", [
    (lambda g: "src_a/vocab.txt", "must be a Tensor"),
    (lambda g: g.placeholder(np.object_, shape=(), name="p"), "must be of type constant"),
    (lambda g: g.constant(np.int32(3), name="i"), "must be of dtype string"),
    (lambda g: g.constant(np.array([b"a", b"b"], dtype=object), name="v"), "must be a scalar"),
    (lambda g: g.constant("", name="e"), "an empty path"),
])
def test_bad_asset_tensors_are_refused(in_tmp: Path, make: Callable[[Graph], Any],
                                       words: str) -> None:
    g, x, y = half_plus_two(False)
    with pytest.raises(InvalidArgumentError, match=words):
        SavedModelBuilder(in_tmp / "m").add_meta_graph_and_variables(
            g, ["serve"], assets_collection=[make(g)])
    assert not (in_tmp / "m").exists()


def test_missing_asset_file_is_refused(in_tmp: Path) -> None:
    g, x, y = half_plus_two(False)
    with pytest.raises(NotFoundError, match="asset file does not exist"):
        SavedModelBuilder(in_tmp / "m").add_meta_graph_and_variables(
            g, ["serve"], assets_collection=[g.constant("src_a/missing.txt")])
    with pytest.raises(NotFoundError, match="not a regular file"):
        SavedModelBuilder(in_tmp / "m").add_meta_graph_and_variables(
            g, ["serve"], assets_collection=[g.constant("src_a")])


def test_asset_names_as_tensorflow(in_tmp: Path) -> None:
    (in_tmp / "src_c").mkdir()
    (in_tmp / "src_c" / "vocab.txt").write_bytes(VOCAB_A)  # same contents as src_a's
    g = Graph()
    ts = [g.constant(p, name=f"v{i}") for i, p in enumerate(
        ["src_a/vocab.txt", "src_b/vocab.txt", "src_c/vocab.txt", "src_b/vocab.txt"])]
    b = SavedModelBuilder(in_tmp / "m")
    b.add_meta_graph_and_variables(g, ["serve"], assets_collection=ts[:3])
    # A later meta graph naming a different vocab.txt keeps the first file (TF's rule).
    g2 = Graph()
    later = g2.constant("src_b/vocab.txt", name="late")
    b.add_meta_graph(["other"], graph=g2, assets_collection=[later])
    b.save()
    first = loader.load(in_tmp / "m", ["serve"])
    assert {k: os.path.basename(v) for k, v in first.asset_paths.items()} == {
        "v0:0": "vocab.txt", "v1:0": "vocab.txt_1", "v2:0": "vocab.txt"}
    second = loader.load(in_tmp / "m", ["other"])
    assert {k: os.path.basename(v) for k, v in second.asset_paths.items()} == {
        "late:0": "vocab.txt"}
    assert sorted(os.listdir(in_tmp / "m" / "assets")) == ["vocab.txt", "vocab.txt_1"]
    assert (in_tmp / "m" / "assets" / "vocab.txt").read_bytes() == VOCAB_A


def test_errors_are_ours(tmp_path: Path) -> None:
    g, x, y = half_plus_two(False)
    with pytest.raises(SavedModelIOError):
        SavedModelBuilder(tmp_path / "m").add_meta_graph_and_variables(
            g, ["serve"], signature_def_map={"s": "nope"})  # type: ignore[dict-item]


def test_save_without_fingerprint(tmp_path: Path) -> None:
    g, x, y = half_plus_two(False)
    b = SavedModelBuilder(tmp_path / "m")
    b.add_meta_graph_and_variables(g, ["serve"])
    b.save(write_fingerprint_file=False)
    assert sorted(os.listdir(tmp_path / "m")) == ["saved_model.pb", "variables"]


# ------------------------------------------------------------ TensorInfo/SignatureDef from tensors


def test_build_tensor_info_from_graph_tensors() -> None:
    g, x, y = half_plus_two(False)
    info = utils.build_tensor_info(x)
    assert (info.name, info.dtype, [d.size for d in info.tensor_shape.dim]) == (
        "x:0", types_pb2.DT_FLOAT, [-1])
    ref = utils.build_tensor_info(g.graph_variables[0].handle)
    assert (ref.name, ref.dtype) == ("a:0", types_pb2.DT_FLOAT_REF)
    unknown = g.add_op("Custom", [x], output_types=["float32"]).outputs[0]
    assert utils.build_tensor_info(unknown).tensor_shape.unknown_rank
    op_info = utils.build_tensor_info_from_op(g.get_operation_by_name("init"))
    assert (op_info.name, op_info.dtype, op_info.tensor_shape.unknown_rank) == (
        "init", types_pb2.DT_INVALID, True)
    assert utils.get_tensor_from_tensor_info(info, g) is x
    with pytest.raises(InvalidArgumentError, match="takes a graph Tensor"):
        utils.build_tensor_info("x:0")
    with pytest.raises(InvalidArgumentError, match="takes a graph Operation"):
        utils.build_tensor_info_from_op(x)  # type: ignore[arg-type]

    class Sparse:
        def __init__(self) -> None:
            self.indices = g.placeholder(np.int64, shape=(None, 2), name="sp_indices")
            self.values = g.placeholder(np.float32, shape=(None,), name="sp_values")
            self.dense_shape = g.placeholder(np.int64, shape=(2,), name="sp_shape")
            self.shape = (None, 5)

    sp = utils.build_tensor_info(Sparse())
    assert sp.WhichOneof("encoding") == "coo_sparse"
    assert (sp.coo_sparse.values_tensor_name, sp.coo_sparse.indices_tensor_name,
            sp.coo_sparse.dense_shape_tensor_name, sp.dtype) == (
        "sp_values:0", "sp_indices:0", "sp_shape:0", types_pb2.DT_FLOAT)
    assert [d.size for d in sp.tensor_shape.dim] == [-1, 5]


def test_signature_builders_take_graph_tensors_with_tensorflows_rules() -> None:
    g = Graph()
    ex = g.placeholder(np.object_, shape=(None,), name="examples")
    f = g.placeholder(np.float32, shape=(None, 3), name="scores")
    s = g.placeholder(np.object_, shape=(None, 3), name="classes")
    i = g.placeholder(np.int64, shape=(None,), name="ids")
    sig = sdu.classification_signature_def(ex, s, f)
    assert sdu.is_valid_signature(sig)
    assert (sig.inputs["inputs"].name, sig.outputs["classes"].name,
            sig.outputs["scores"].name) == ("examples:0", "classes:0", "scores:0")
    assert sdu.is_valid_signature(sdu.regression_signature_def(ex, f))
    with pytest.raises(InvalidArgumentError, match="input tensors must be of type string"):
        sdu.regression_signature_def(f, f)
    with pytest.raises(InvalidArgumentError, match="output tensors must be of type float"):
        sdu.regression_signature_def(ex, i)
    with pytest.raises(InvalidArgumentError, match="classes must be of type string"):
        sdu.classification_signature_def(ex, i, None)
    with pytest.raises(InvalidArgumentError, match="scores must be a float Tensor"):
        sdu.classification_signature_def(ex, None, i)
    default = g.constant(np.float32(1.5), name="d")
    sig = sdu.build_signature_def({"x": f}, {"y": f}, "m", defaults={"x": default})
    assert sig.defaults["x"].float_val == [1.5]
    with pytest.raises(InvalidArgumentError, match="only Const tensors"):
        sdu.build_signature_def({"x": f}, defaults={"x": f})
    assert sdu.op_signature_def(g.no_op(name="init_all"), "k").outputs["k"].name == "init_all"
