"""Loading SavedModels: TensorFlow Serving's real exports, and hand-made bad ones."""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from google.protobuf import text_format
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from savedmodel_io import saved_model
from savedmodel_io.dtypes import DataType
from savedmodel_io.errors import (
    DataLossError,
    FailedPreconditionError,
    InvalidArgumentError,
    NotFoundError,
    ResourceExhaustedError,
    SavedModelIOError,
    UnimplementedError,
)
from savedmodel_io.protos import (
    any_pb2,
    meta_graph_pb2,
    saved_model_pb2,
    saved_object_graph_pb2,
    trackable_object_graph_pb2,
)
from savedmodel_io.protos._pool import POOL
from savedmodel_io.saved_model import constants, loader, object_graph, tag_constants

# Every SavedModel of the corpus: (folder, version).
MODELS = [
    ("batching_matrix_half_plus_two", "1"),
    ("saved_model_counter", "00000123"),
    ("saved_model_half_plus_three", "00000123"),
    ("saved_model_half_plus_two_2_versions", "00000123"),
    ("saved_model_half_plus_two_2_versions", "00000124"),
    ("saved_model_half_plus_two_cpu", "00000123"),
    ("saved_model_half_plus_two_cpu_with_empty_saved_model_config", "00000123"),
    ("saved_model_half_plus_two_cpu_with_saved_model_config", "00000123"),
    ("saved_model_half_plus_two_gpu", "00000123"),
    ("saved_model_half_plus_two_gpu_trt", "00000123"),
    ("saved_model_half_plus_two_mkl", "00000123"),
    ("saved_model_half_plus_two_mlmd", "00000123"),
    ("saved_model_half_plus_two_tf2_cpu", "00000123"),
]
MODEL_IDS = [f"{f}/{v}" for f, v in MODELS]
TF2 = "saved_model_half_plus_two_tf2_cpu/00000123"
CORPUS_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "corpus" / "tf-serving"


# ------------------------------------------------------------ saved_model_cli's text

def parse_show_all(text: str) -> dict[str, dict[str, dict[str, Any]]]:
    """``saved_model_cli show --all`` -> {tag-set: {key: {inputs, outputs, method}}}."""
    result: dict[str, dict[str, dict[str, Any]]] = {}
    sigs: dict[str, dict[str, Any]] = {}
    sig: dict[str, Any] | None = None
    side = ""
    tensor: dict[str, str] = {}
    for line in text.splitlines():
        if m := re.match(r"MetaGraphDef with tag-set: '(.*)' contains", line):
            sigs = result.setdefault(m.group(1), {})
        elif m := re.match(r"signature_def\['(.*)'\]:$", line):
            sig = sigs[m.group(1)] = {"inputs": {}, "outputs": {}, "method": None}
        elif m := re.match(r"    (inputs|outputs)\['(.*)'\] tensor_info:$", line):
            assert sig is not None
            side = m.group(1)
            tensor = sig[side][m.group(2)] = {}
        elif m := re.match(r"        (dtype|shape|name): (.*)$", line):
            tensor[m.group(1)] = m.group(2)
        elif m := re.match(r"  Method name is: (.*)$", line):
            assert sig is not None
            sig["method"] = m.group(1)
        elif line.startswith("Concrete Functions:"):
            break
    return result


def shape_text(shape: Any) -> str:
    if shape.unknown_rank:
        return "unknown_rank"
    return "(" + ", ".join(str(d.size) for d in shape.dim) + ")"


def describe(sig: meta_graph_pb2.SignatureDef) -> dict[str, Any]:
    def side(m: Any) -> dict[str, dict[str, str]]:
        return {k: {"dtype": DataType(v.dtype).name, "shape": shape_text(v.tensor_shape),
                    "name": v.name} for k, v in m.items()}
    return {"inputs": side(sig.inputs), "outputs": side(sig.outputs),
            "method": sig.method_name}


@pytest.fixture(scope="module")
def expected_variables(corpus: Path) -> dict[str, dict[str, Any]]:
    data: dict[str, dict[str, Any]] = json.loads(
        (corpus / "_expected" / "variables.json").read_text())
    return data


# ------------------------------------------------------------ the corpus

def test_model_list_covers_corpus(corpus: Path) -> None:
    found = {f"{p.parent.parent.name}/{p.parent.name}"
             for p in corpus.glob("*/*/saved_model.pb")}
    assert found == set(MODEL_IDS)


@pytest.mark.parametrize("model", MODEL_IDS)
def test_corpus_signatures_match_saved_model_cli(corpus: Path, model: str) -> None:
    folder, version = model.split("/")
    text = (corpus / "_expected" / f"{folder}__{version}.show-all.txt").read_text()
    expected = parse_show_all(text)
    assert list(expected) == ["serve"]
    assert saved_model.contains_saved_model(corpus / model)
    loaded = saved_model.load(corpus / model, [tag_constants.SERVING])
    assert loaded.tags == ["serve"]
    assert ", ".join(sorted(loaded.tags)) == "serve"
    assert loaded.meta_graph_def is loaded.saved_model.meta_graphs[0] or (
        loaded.meta_graph_def == loaded.saved_model.meta_graphs[0])
    got = {k: describe(v) for k, v in loaded.signatures.items()}
    assert got == expected["serve"]
    assert list(loaded.signatures) == sorted(loaded.signatures)


@pytest.mark.parametrize("model", MODEL_IDS)
def test_corpus_variables_match_tensorflow(corpus: Path, model: str,
                                           expected_variables: dict[str, Any]) -> None:
    loaded = saved_model.load(str(corpus / model), ["serve"])
    prefix = f"{model}/variables/variables"
    if prefix not in expected_variables:
        assert loaded.variables is None
        assert not (corpus / model / "variables").exists()
        return
    assert loaded.variables_prefix == str(corpus / prefix)
    assert loaded.variables_prefix == loader.variables_path(corpus / model)
    reader = loaded.variables
    assert reader is not None
    want = expected_variables[prefix]
    assert sorted(reader) == sorted(want)
    for key, info in want.items():
        value = reader[key]
        assert list(value.shape) == info["shape"], key
        if info["dtype"] == "string":
            assert value.dtype == object
            m = re.fullmatch(r"<bytes tensor, (\d+) bytes>", info["value"])
            assert m and len(value.item()) == int(m.group(1))
        else:
            assert value.dtype.name == info["dtype"], key
            np.testing.assert_array_equal(value, np.asarray(info["value"], dtype=value.dtype))


@pytest.mark.parametrize("model", MODEL_IDS)
def test_corpus_init_op_and_assets(corpus: Path, model: str) -> None:
    loaded = saved_model.load(corpus / model, ["serve"])
    meta = loaded.meta_graph_def
    if model == TF2:
        assert loaded.init_op_name == "NoOp"  # the signature wins over the collection
        assert loaded.asset_paths == {
            "asset_path_initializer:0": str(corpus / model / "assets" / "foo.txt")}
        return
    collections = meta.collection_def
    if constants.MAIN_OP_KEY in collections:
        assert loaded.init_op_name == collections[constants.MAIN_OP_KEY].node_list.value[0]
    elif constants.LEGACY_INIT_OP_KEY in collections:
        assert loaded.init_op_name == "group_deps"
    else:
        assert loaded.init_op_name is None
    if constants.ASSETS_KEY in collections:
        assert loaded.asset_paths == {"Const:0": str(corpus / model / "assets" / "foo.txt")}
    else:
        assert loaded.asset_paths == {}
    assert loaded.train_op_name is None
    assert loaded.object_graph is None
    assert loaded.functions == {} and loaded.concrete_functions == {}
    assert loaded.fingerprint is None


def test_corpus_legacy_init_op(corpus: Path) -> None:
    loaded = saved_model.load(corpus / "saved_model_half_plus_three/00000123", ["serve"])
    assert loaded.init_op_name == "group_deps"
    scoped = saved_model.load(corpus / "saved_model_half_plus_three/00000123", ["serve"],
                              import_scope="imported")
    assert scoped.init_op_name == "imported/group_deps"
    assert list(scoped.asset_paths) == ["imported/Const:0"]


def test_tf2_object_graph(corpus: Path) -> None:
    loaded = saved_model.load(corpus / TF2, ["serve"])
    assert loaded.object_graph is not None
    paths = object_graph.node_paths(loaded.object_graph)
    assert paths[0] == "" and paths[1] == "a" and paths[4] == "asset"
    assert paths[18] == "signatures/regress_x_to_y"
    assert loaded.variables_by_path() == {
        "a": "a/.ATTRIBUTES/VARIABLE_VALUE",
        "b": "b/.ATTRIBUTES/VARIABLE_VALUE",
        "c": "c/.ATTRIBUTES/VARIABLE_VALUE",
    }
    reader = loaded.variables
    assert reader is not None
    values = {p: float(reader[k]) for p, k in loaded.variables_by_path().items()}
    assert values == {"a": 0.5, "b": 2.0, "c": 3.0}
    # The same names as the `Concrete Functions:` part of saved_model_cli's output.
    assert sorted(loaded.functions) == ["classify_x2y3", "classify_xy", "predict",
                                        "regress_x2y3", "regress_xy", "regress_xy2"]
    assert list(loaded.functions["predict"].concrete_functions) == ["__inference_predict_235"]
    assert len(loaded.concrete_functions) == 12
    assert "__inference_signature_wrapper_predict_245" in loaded.concrete_functions
    for fn in loaded.functions.values():
        for name in fn.concrete_functions:
            assert name in loaded.concrete_functions
    ckpt_graph = loaded.checkpoint_object_graph()
    assert ckpt_graph is not None
    assert len(ckpt_graph.nodes) == len(loaded.object_graph.nodes)
    fp = loaded.fingerprint
    # An older TF wrote this one: fingerprint producer 1, no uuid.
    assert fp is not None and fp.version.producer == 1 and fp.uuid == ""
    assert fp.saved_model_checksum == 3202314178945370836
    assert fp.checkpoint_hash == 17568057568585441542


def test_tf1_model_has_no_object_graph(corpus: Path) -> None:
    loaded = saved_model.load(corpus / "saved_model_half_plus_two_cpu/00000123", ["serve"])
    assert loaded.checkpoint_object_graph() is None
    with pytest.raises(NotFoundError, match="no object graph"):
        loaded.variables_by_path()


def test_tags_forms(corpus: Path) -> None:
    d = corpus / "saved_model_half_plus_two_cpu/00000123"
    for tags in (["serve"], ("serve",), {"serve"}, "serve", None, ["serve", "serve"]):
        assert saved_model.load(d, tags).tags == ["serve"]
    assert loader.get_meta_graph_def(d, "serve").meta_info_def.tags == ["serve"]
    assert loader.get_meta_graph_def(d, ",serve,").meta_info_def.tags == ["serve"]
    assert loader.get_saved_model_tag_sets(d) == [["serve"]]


# Messages TensorFlow 2.21 gives for the same calls on saved_model_half_plus_two_cpu.
@pytest.mark.parametrize("tags, words", [
    (["serve", "gpu"], "tags 'serve', 'gpu' could"),
    ({"serve", "gpu"}, "tags {'gpu', 'serve'} could"),
    (("x",), "tags ('x',) could"),
    ([], "tags  could"),
])
def test_unknown_tags_message_is_tensorflows(corpus: Path, tags: Any, words: str) -> None:
    d = corpus / "saved_model_half_plus_two_cpu/00000123"
    with pytest.raises(NotFoundError) as e:
        saved_model.load(d, tags)
    assert str(e.value) == (
        f"MetaGraphDef associated with {words} not be found in SavedModel, with available tags "
        "'[{'serve'}]'. To inspect available tag-sets in the SavedModel, please use the "
        "SavedModel CLI: `saved_model_cli`.")


def test_unknown_tag_set_string_message_is_tensorflows(corpus: Path) -> None:
    d = corpus / "saved_model_half_plus_two_cpu/00000123"
    with pytest.raises(NotFoundError) as e:
        loader.get_meta_graph_def(d, "gpu,serve")
    assert str(e.value) == (
        "MetaGraphDef associated with tag-set gpu,serve could not be found in the "
        "SavedModel. Please use one of the following tag-sets: ['serve']")


# ------------------------------------------------------------ hand-made SavedModels

def meta(*tags: str) -> meta_graph_pb2.MetaGraphDef:
    m = meta_graph_pb2.MetaGraphDef()
    m.meta_info_def.tags.extend(tags)
    return m


def write_model(d: Path, *metas: meta_graph_pb2.MetaGraphDef, text: bool = False) -> Path:
    sm = saved_model_pb2.SavedModel(saved_model_schema_version=1)
    for m in metas:
        sm.meta_graphs.add().CopyFrom(m)
    d.mkdir(parents=True, exist_ok=True)
    if text:
        (d / "saved_model.pbtxt").write_text(
            text_format.MessageToString(sm, descriptor_pool=POOL))
    else:
        (d / "saved_model.pb").write_bytes(sm.SerializeToString())
    return d


def with_asset_collection(*filenames: str) -> meta_graph_pb2.MetaGraphDef:
    m = meta("serve")
    for i, name in enumerate(filenames):
        packed = any_pb2.Any()
        packed.Pack(meta_graph_pb2.AssetFileDef(
            tensor_info=meta_graph_pb2.TensorInfo(name=f"Const_{i}:0"), filename=name))
        m.collection_def[constants.ASSETS_KEY].any_list.value.add().CopyFrom(packed)
    return m


def test_missing_dir_and_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    with pytest.raises(NotFoundError) as e:
        saved_model.load(missing, ["serve"])
    assert str(e.value) == (f"SavedModel file does not exist at: {missing}{os.sep}"
                            "{saved_model.pbtxt|saved_model.pb}")
    assert isinstance(e.value, KeyError)
    (tmp_path / "empty").mkdir()
    assert not saved_model.contains_saved_model(tmp_path / "empty")
    with pytest.raises(NotFoundError, match="SavedModel file does not exist at"):
        loader.parse_saved_model(tmp_path / "empty")


def test_garbled_pb_and_pbtxt(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "saved_model.pb").write_bytes(b"\x0a\xff\xff\xff\xff\x0f garbage")
    with pytest.raises(DataLossError) as e:
        saved_model.load(tmp_path / "a", ["serve"])
    assert e.value.path == str(tmp_path / "a" / "saved_model.pb")
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "saved_model.pbtxt").write_text("meta_graphs { nonsense: 1 }")
    with pytest.raises(DataLossError, match="saved_model.pbtxt"):
        loader.parse_saved_model(tmp_path / "b")
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "saved_model.pbtxt").write_bytes(b"\xff\xfe")
    with pytest.raises(DataLossError):
        loader.parse_saved_model(tmp_path / "c")


def test_pbtxt_with_any_and_pb_preferred(tmp_path: Path) -> None:
    d = write_model(tmp_path / "m", with_asset_collection("vocab.txt"), text=True)
    assert "[type.googleapis.com/tensorflow.AssetFileDef]" in (
        d / "saved_model.pbtxt").read_text()
    loaded = saved_model.load(d, ["serve"])
    assert loaded.asset_paths == {"Const_0:0": str(d / "assets" / "vocab.txt")}
    write_model(d, meta("train"))  # now a .pb too: it wins
    assert saved_model.load(d, ["train"]).tags == ["train"]


def test_chunked_only_and_size_limit(tmp_path: Path) -> None:
    (tmp_path / "saved_model.cpb").write_bytes(b"x")
    assert saved_model.contains_saved_model(tmp_path)
    with pytest.raises(UnimplementedError, match="chunked"):
        saved_model.load(tmp_path, ["serve"])
    d = write_model(tmp_path / "m", meta("serve"))
    with pytest.raises(ResourceExhaustedError):
        loader.parse_saved_model(d, max_bytes=2)


def test_several_meta_graphs(tmp_path: Path) -> None:
    d = write_model(tmp_path, meta("serve"), meta("serve", "gpu"), meta())
    assert saved_model.load(d, ["gpu", "serve"]).tags == ["serve", "gpu"]
    assert saved_model.load(d, []).tags == []
    assert loader.get_meta_graph_def(d, "").meta_info_def.tags == []
    with pytest.raises(NotFoundError) as e:
        saved_model.load(d, ["tpu"])
    assert "available tags '[{'serve'}, {'gpu', 'serve'}, set()]'" in str(e.value)
    with pytest.raises(NotFoundError) as e2:
        loader.get_meta_graph_def(d, "tpu")
    assert str(e2.value).endswith("tag-sets: ['serve', 'gpu,serve', '']")
    with pytest.raises(InvalidArgumentError, match="requires a `tags=` argument"):
        saved_model.load(d, None)


@pytest.mark.parametrize("filename", [
    "../x", "a/../../x", "..", "/etc/passwd", "", "a\x00b", "sub/../../../x", "..\\x", ".",
])
def test_asset_escaping_is_refused(tmp_path: Path, filename: str) -> None:
    d = write_model(tmp_path / "m", with_asset_collection("ok.txt", filename))
    with pytest.raises(InvalidArgumentError, match="asset file name") as e:
        saved_model.load(d, ["serve"])
    assert e.value.path == str(d / "saved_model.pb")


def test_asset_file_def_field_wins_and_is_checked(tmp_path: Path) -> None:
    m = with_asset_collection("from_collection.txt")
    m.asset_file_def.add(tensor_info=meta_graph_pb2.TensorInfo(name="p:0"), filename="v.txt")
    d = write_model(tmp_path / "m", m)
    assert saved_model.load(d, ["serve"]).asset_paths == {"p:0": str(d / "assets" / "v.txt")}
    m.asset_file_def[0].filename = "../../etc/passwd"
    write_model(d, m)
    with pytest.raises(InvalidArgumentError):
        saved_model.load(d, ["serve"])


def test_asset_symlinks(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret").write_text("s")
    d = write_model(tmp_path / "m", with_asset_collection("link", "dirlink/secret",
                                                          "inner", "sub/v.txt"))
    assets = d / "assets"
    (assets / "sub").mkdir(parents=True)
    (assets / "sub" / "v.txt").write_text("v")
    (assets / "inner").symlink_to(assets / "sub" / "v.txt")
    (assets / "link").symlink_to(outside / "secret")
    with pytest.raises(InvalidArgumentError, match="symlink"):
        saved_model.load(d, ["serve"])
    (assets / "link").unlink()
    (assets / "link").symlink_to("sub/v.txt")  # relative, stays inside: fine
    (assets / "dirlink").symlink_to(outside, target_is_directory=True)
    with pytest.raises(InvalidArgumentError, match="symlink"):
        saved_model.load(d, ["serve"])
    (assets / "dirlink").unlink()
    (assets / "dirlink").mkdir()
    loaded = saved_model.load(d, ["serve"])
    assert loaded.asset_paths["Const_3:0"] == str(assets / "sub" / "v.txt")
    assert loaded.asset_paths["Const_1:0"] == str(assets / "dirlink" / "secret")


def test_asset_collection_with_wrong_any(tmp_path: Path) -> None:
    m = meta("serve")
    packed = m.collection_def[constants.ASSETS_KEY].any_list.value.add()
    packed.Pack(meta_graph_pb2.TensorInfo(name="x"))
    d = write_model(tmp_path / "m", m)
    with pytest.raises(InvalidArgumentError, match="tensorflow.TensorInfo"):
        saved_model.load(d, ["serve"])
    packed.type_url = "type.googleapis.com/tensorflow.AssetFileDef"
    packed.value = b"\xff\xff"
    write_model(d, m)
    with pytest.raises(InvalidArgumentError, match="cannot parse"):
        saved_model.load(d, ["serve"])


def test_init_op_precedence(tmp_path: Path) -> None:
    m = meta("serve")
    m.collection_def[constants.LEGACY_INIT_OP_KEY].node_list.value.append("legacy")
    d = write_model(tmp_path / "m", m)
    assert saved_model.load(d, ["serve"]).init_op_name == "legacy"
    m.collection_def[constants.MAIN_OP_KEY].node_list.value.append("main")
    write_model(d, m)
    assert saved_model.load(d, ["serve"]).init_op_name == "main"
    sig = m.signature_def[constants.INIT_OP_SIGNATURE_KEY]
    sig.outputs[constants.INIT_OP_SIGNATURE_KEY].name = "from_sig"
    m.signature_def[constants.TRAIN_OP_SIGNATURE_KEY].outputs[
        constants.TRAIN_OP_SIGNATURE_KEY].name = "train"
    write_model(d, m)
    loaded = saved_model.load(d, ["serve"], import_scope="s")
    assert (loaded.init_op_name, loaded.train_op_name) == ("s/from_sig", "s/train")
    m.signature_def[constants.INIT_OP_SIGNATURE_KEY].ClearField("outputs")
    write_model(d, m)
    with pytest.raises(NotFoundError, match="could not be found in the graph"):
        saved_model.load(d, ["serve"])
    del m.signature_def[constants.INIT_OP_SIGNATURE_KEY]
    m.collection_def[constants.MAIN_OP_KEY].node_list.value.append("second")
    write_model(d, m)
    with pytest.raises(FailedPreconditionError, match="Expected exactly one SavedModel init"):
        saved_model.load(d, ["serve"])


def test_garbled_fingerprint(tmp_path: Path) -> None:
    d = write_model(tmp_path / "m", meta("serve"))
    (d / "fingerprint.pb").write_bytes(b"\xff\xff\xff")
    loaded = saved_model.load(d, ["serve"])
    with pytest.raises(DataLossError, match="FingerprintDef"):
        _ = loaded.fingerprint
    assert loaded.variables is None


def test_object_graph_paths_and_derived_keys() -> None:
    g = saved_object_graph_pb2.SavedObjectGraph()
    root, model, dense, kernel, odd, fn = (g.nodes.add() for _ in range(6))
    root.children.add(node_id=1, local_name="model")
    root.children.add(node_id=5, local_name="f")
    model.children.add(node_id=2, local_name="dense")
    model.children.add(node_id=4, local_name="a.b/c")
    model.children.add(node_id=0, local_name="back")  # a cycle
    model.children.add(node_id=99, local_name="dangling")  # out of range: ignored
    dense.children.add(node_id=3, local_name="kernel")
    dense.children.add(node_id=3, local_name="again")  # second path: the first one wins
    kernel.variable.name = "kernel"
    odd.variable.name = "odd"
    fn.function.concrete_functions.append("__inference_f_1")
    g.concrete_functions["__inference_f_1"].bound_inputs.append(3)
    assert object_graph.node_paths(g) == {0: "", 1: "model", 5: "f", 2: "model/dense",
                                          4: "model/a.b/c", 3: "model/dense/kernel"}
    assert object_graph.variables_by_path(g, None) == {
        "model/a.b/c": "model/a..b.Sc/.ATTRIBUTES/VARIABLE_VALUE",
        "model/dense/kernel": "model/dense/kernel/.ATTRIBUTES/VARIABLE_VALUE",
    }
    ckpt = trackable_object_graph_pb2.TrackableObjectGraph()
    for _ in range(4):
        ckpt.nodes.add()
    ckpt.nodes[3].attributes.add(name="VARIABLE_VALUE", checkpoint_key="custom/key")
    assert object_graph.variables_by_path(g, ckpt)["model/dense/kernel"] == "custom/key"
    assert list(object_graph.functions(g)) == ["f"]
    assert object_graph.node_paths(saved_object_graph_pb2.SavedObjectGraph()) == {}


# ------------------------------------------------------------ hostile bytes

def _only_our_errors(d: str) -> None:
    try:
        loaded = saved_model.load(d, ["serve"])
        loaded.variables_by_path() if loaded.object_graph is not None else None
    except SavedModelIOError:
        pass


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=300))
def test_random_bytes_give_only_our_errors(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as d:
        Path(d, "saved_model.pb").write_bytes(data)
        _only_our_errors(d)
        os.remove(os.path.join(d, "saved_model.pb"))
        Path(d, "saved_model.pbtxt").write_bytes(data)
        _only_our_errors(d)


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_mutated_corpus_model_gives_only_our_errors(data: st.DataObject) -> None:
    src = CORPUS_DIR / "saved_model_half_plus_two_cpu/00000123/saved_model.pb"
    if not src.exists():
        pytest.skip("corpus not found")
    raw = bytearray(src.read_bytes())
    for _ in range(data.draw(st.integers(1, 8))):
        i = data.draw(st.integers(0, len(raw) - 1))
        raw[i] = data.draw(st.integers(0, 255))
    with tempfile.TemporaryDirectory() as d:
        Path(d, "saved_model.pb").write_bytes(bytes(raw))
        _only_our_errors(d)


def test_package_exports() -> None:
    import savedmodel_io.saved_model as pkg
    from savedmodel_io.saved_model import (  # noqa: F401
        contains_saved_model,
        load,
        signature_def_utils,
        versioned,
    )

    assert pkg.load is loader.load and pkg.contains_saved_model is loader.contains_saved_model
    assert loader.maybe_saved_model_directory is loader.contains_saved_model
    for name in pkg.__all__:
        assert getattr(pkg, name) is not None
    assert set(pkg.__all__) <= set(dir(pkg))
    with pytest.raises(AttributeError):
        _ = pkg.no_such_thing
