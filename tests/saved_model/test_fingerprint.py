"""fingerprint.pb and its hashes, against what TensorFlow 2.21 computed (the TF2 goldens'
own fingerprint.pb, and tests/data/golden/builder/fingerprint.json)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from savedmodel_io.errors import DataLossError, InvalidArgumentError
from savedmodel_io.protos import (
    fingerprint_pb2,
    function_pb2,
    graph_pb2,
    saved_model_pb2,
    saved_object_graph_pb2,
    types_pb2,
)
from savedmodel_io.saved_model import constants, fingerprint, loader
from savedmodel_io.saved_model.farmhash import fingerprint64, fingerprint_cat64


@pytest.fixture(scope="module")
def tf_data(golden: Path) -> dict[str, object]:
    data: dict[str, object] = json.loads((golden / "builder" / "fingerprint.json").read_text())
    return data


def test_fingerprint64_matches_tensorflows_farmhash(tf_data: dict[str, object]) -> None:
    vectors = tf_data["farmhash"]
    assert isinstance(vectors, dict)
    rng = np.random.RandomState(vectors["seed"])
    for n, want in zip(vectors["lengths"], vectors["fingerprint64"], strict=True):
        data = bytes(rng.randint(0, 256, n).astype(np.uint8))
        assert fingerprint64(data) == want, n
    assert fingerprint64(b"") == 0x9AE16A3B2F90404F
    assert fingerprint64(memoryview(b"abc")) == fingerprint64(bytearray(b"abc"))


def test_fingerprint_cat64_is_order_sensitive() -> None:
    a, b = fingerprint64(b"a"), fingerprint64(b"b")
    assert fingerprint_cat64(a, b) != fingerprint_cat64(b, a)
    assert 0 <= fingerprint_cat64(a, b) < 1 << 64


@pytest.mark.parametrize("name", ["sm_tf2_module", "sm_keras_export"])
def test_tf2_savedmodels_fingerprint_as_tensorflow_wrote_it(golden: Path, name: str) -> None:
    """Function libraries with integer-keyed maps: the checksum needs C++'s order."""
    d = golden / name
    theirs = fingerprint_pb2.FingerprintDef.FromString(
        (d / constants.FINGERPRINT_FILENAME).read_bytes())
    ours = fingerprint.create_fingerprint_def(d, uuid=theirs.uuid)
    assert ours == theirs
    assert ours.saved_model_checksum != fingerprint64((d / "saved_model.pb").read_bytes())
    assert fingerprint.singleprint(ours) == (
        f"{theirs.graph_def_program_hash}/{theirs.signature_def_hash}/"
        f"{theirs.saved_object_graph_hash}/{theirs.checkpoint_hash}")


BUILDER_CASES = ["assets", "hp2_ref", "hp2_resource", "mlp", "simple_save", "two_tags"]


@pytest.mark.parametrize("case", BUILDER_CASES)
def test_tf1_savedmodels_fingerprint_as_tensorflow_computes(
        golden: Path, tf_data: dict[str, object], case: str) -> None:
    """TensorFlow's TF1 builder writes no fingerprint.pb; fingerprint.json holds what
    TensorFlow's CreateFingerprintDef computed for these directories."""
    fps = tf_data["fingerprints"]
    assert isinstance(fps, dict)
    want = fps[case]
    fp = fingerprint.create_fingerprint_def(golden / "builder" / case)
    assert (fp.saved_model_checksum, fp.graph_def_program_hash, fp.signature_def_hash,
            fp.saved_object_graph_hash, fp.checkpoint_hash, fp.version.producer) == (
        want["saved_model_checksum"], want["graph_def_program_hash"],
        want["signature_def_hash"], want["saved_object_graph_hash"],
        want["checkpoint_hash"], want["version_producer"])
    # Without function libraries the C++ bytes are the file's own.
    assert fp.saved_model_checksum == fingerprint64(
        (golden / "builder" / case / "saved_model.pb").read_bytes())


def test_written_fingerprint_is_what_the_loader_reads(golden: Path, tmp_path: Path) -> None:
    d = tmp_path / "m"
    shutil.copytree(golden / "sm_tf1_builder", d)
    written = fingerprint.write_fingerprint(d)
    assert loader.load(d, ["serve"]).fingerprint == written


def test_empty_graph_hash_is_tensorflows(tf_data: dict[str, object]) -> None:
    fps = tf_data["fingerprints"]
    assert isinstance(fps, dict)
    want = fps["empty_graph"]
    sm = saved_model_pb2.SavedModel(saved_model_schema_version=1)
    sm.meta_graphs.add().meta_info_def.tags.append("serve")
    fp = fingerprint.fingerprint_from_saved_model(sm)
    assert fp.graph_def_program_hash == want["graph_def_program_hash"]
    assert fp.saved_model_checksum == want["saved_model_checksum"]
    assert (fp.signature_def_hash, fp.saved_object_graph_hash, fp.checkpoint_hash) == (0, 0, 0)
    # library and versions stay present, empty: the regularized graph is 4 bytes.
    assert fingerprint.cpp_deterministic_bytes(
        fingerprint.regularize_graph_def(graph_pb2.GraphDef())) == b"\x12\x00\x22\x00"


def _wire_keys(data: bytes) -> list[bytes]:
    """Keys of the map entries of a message that holds only one string-keyed map."""
    keys, pos = [], 0
    while pos < len(data):
        n = data[pos + 1]
        entry = data[pos + 2:pos + 2 + n]
        keys.append(entry[2:2 + entry[1]])
        pos += 2 + n
    return keys


def test_cpp_order_of_map_entries() -> None:
    f = function_pb2.FunctionDef()
    for k in ["b", "a_1", "a", "AssignVariableOp_1", "AssignVariableOp", "a1"]:
        f.control_ret[k] = "x"
    data = fingerprint.cpp_deterministic_bytes(f)
    assert _wire_keys(data) == sorted(k.encode() for k in f.control_ret)
    assert function_pb2.FunctionDef.FromString(data) == f
    g = function_pb2.FunctionDef()
    for i in (3, 0, 2, 1):
        g.resource_arg_unique_id[i] = 10 + i
        g.arg_attr[i].attr["k"].i = i
    data = fingerprint.cpp_deterministic_bytes(g)
    assert function_pb2.FunctionDef.FromString(data) == g
    assert len(data) == len(g.SerializeToString(deterministic=True))
    ids = function_pb2.FunctionDef()
    for i in (3, 0, 2, 1):
        ids.resource_arg_unique_id[i] = 10 + i
    raw = fingerprint.cpp_deterministic_bytes(ids)
    # Each entry is 42 04 08 <key> 10 <value>: keys ascending.
    assert [raw[i + 3] for i in range(0, len(raw), 6)] == [0, 1, 2, 3]


def test_regularization_rules() -> None:
    g = graph_pb2.GraphDef()
    g.versions.producer = 2474
    g.library.function.add().signature.name = "f"
    call = g.node.add(name="call", op="StatefulPartitionedCall")
    call.attr["f"].func.name = "__inference_serve_1234"
    call.attr["config_proto"].s = b"\x01\x02"
    s = g.node.add(name="s", op="Const")
    s.attr["dtype"].type = types_pb2.DT_STRING
    s.attr["value"].tensor.string_val.append(b"/machine/specific/path")
    n = g.node.add(name="n", op="Const")
    n.attr["dtype"].type = types_pb2.DT_INT32
    n.attr["value"].tensor.int_val.append(5)
    r = fingerprint.regularize_graph_def(g)
    assert r.node[0].attr["f"].func.name == "__inference_serve_"
    assert r.node[0].attr["config_proto"].HasField("s") and r.node[0].attr["config_proto"].s == b""
    assert r.node[1].attr["value"].WhichOneof("value") is None
    assert r.node[2].attr["value"].tensor.int_val == [5]
    assert r.HasField("library") and not r.library.function
    assert r.HasField("versions") and r.versions.producer == 0
    assert g.versions.producer == 2474  # the input is not changed
    other = graph_pb2.GraphDef()
    other.CopyFrom(g)
    other.node[0].attr["f"].func.name = "__inference_serve_99"
    other.node[1].attr["value"].tensor.string_val[0] = b"/elsewhere"
    assert fingerprint.hash_graph_def(other) == fingerprint.hash_graph_def(g)


def test_object_graph_hash_follows_uid_order() -> None:
    og = saved_object_graph_pb2.SavedObjectGraph()
    og.concrete_functions["__inference_f_20"].bound_inputs.append(1)
    og.concrete_functions["__inference_g_3"].bound_inputs.append(2)
    h = fingerprint.hash_saved_object_graph(og)
    want = 0
    for stem, uid in (("__inference_g_", 3), ("__inference_f_", 20)):
        want = fingerprint_cat64(want, fingerprint64(stem.encode()))
        want = fingerprint_cat64(want, fingerprint64(fingerprint.cpp_deterministic_bytes(
            og.concrete_functions[f"{stem}{uid}"])))
    assert h == want
    og.concrete_functions["no_uid"].bound_inputs.append(3)
    with pytest.raises(InvalidArgumentError, match="'no_uid' does not end in"):
        fingerprint.hash_saved_object_graph(og)


def test_write_fingerprint_and_refusals(tmp_path: Path, golden: Path) -> None:
    d = tmp_path / "m"
    shutil.copytree(golden / "builder" / "hp2_ref", d)
    first = fingerprint.write_fingerprint(d)
    second = fingerprint.create_fingerprint_def(d)
    assert first.uuid != second.uuid and first.uuid.isdigit()
    assert first.version.producer == fingerprint.FINGERPRINT_PRODUCER == 4
    on_disk = fingerprint_pb2.FingerprintDef.FromString(
        (d / constants.FINGERPRINT_FILENAME).read_bytes())
    assert on_disk == first
    assert first.checkpoint_hash == fingerprint64(
        (d / "variables" / "variables.index").read_bytes())
    (d / "variables" / "variables.index").unlink()
    assert fingerprint.create_fingerprint_def(d).checkpoint_hash == 0
    (d / "saved_model.pb").write_bytes(b"\xff\xff\xff")
    with pytest.raises(DataLossError, match="cannot parse as a SavedModel"):
        fingerprint.create_fingerprint_def(d)
    text_only = tmp_path / "t"
    shutil.copytree(golden / "builder" / "hp2_ref_text", text_only)
    with pytest.raises(InvalidArgumentError, match="binary SavedModel only"):
        fingerprint.create_fingerprint_def(text_only)
    with pytest.raises(InvalidArgumentError, match="no MetaGraphDef"):
        fingerprint.fingerprint_from_saved_model(saved_model_pb2.SavedModel())
