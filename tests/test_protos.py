"""The generated protos: up to date, private pool, no TensorFlow, round trips, Any."""

from __future__ import annotations

import importlib
import importlib.util
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from google.protobuf import descriptor_pool, json_format, text_format

import savedmodel_io.protos as protos
from savedmodel_io.protos import (
    any_pb2,
    checkpoint_state_pb2,
    example_pb2,
    meta_graph_pb2,
    tensor_bundle_pb2,
    trackable_object_graph_pb2,
    types_pb2,
    wrappers_pb2,
)
from savedmodel_io.protos._pool import POOL

REPO = Path(__file__).resolve().parents[1]
PROTOS_PKG = REPO / "src" / "savedmodel_io" / "protos"
HAVE_GRPC_TOOLS = importlib.util.find_spec("grpc_tools") is not None
# The dev lane sets this so that missing grpc_tools fails instead of skipping.
REQUIRE_REGEN = os.environ.get("SAVEDMODEL_IO_REQUIRE_REGEN") == "1"


def _subprocess(code: str, **env_extra: str) -> str:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO / "src") + os.pathsep + env.get("PYTHONPATH", "")
    env.update(env_extra)
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_generated_code_is_up_to_date() -> None:
    if not HAVE_GRPC_TOOLS:
        message = "grpc_tools not installed (dev extra): cannot check generated protos"
        if REQUIRE_REGEN:
            pytest.fail(message)
        pytest.skip(message)
    proc = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "regen_protos.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_modules_list_matches_files() -> None:
    on_disk = sorted(p.stem for p in PROTOS_PKG.glob("*_pb2.py"))
    assert list(protos.MODULES) == on_disk
    assert sorted(p.stem for p in PROTOS_PKG.glob("*_pb2.pyi")) == on_disk
    assert sorted(p.stem + "_pb2" for p in (REPO / "protos").glob("*.proto")) == [
        m for m in on_disk if m not in ("any_pb2", "wrappers_pb2")
    ]


def test_lazy_package_attributes() -> None:
    assert protos.meta_graph_pb2 is meta_graph_pb2
    assert "tensor_bundle_pb2" in dir(protos)
    with pytest.raises(AttributeError):
        protos.not_a_module  # noqa: B018


def test_import_does_not_load_tensorflow_or_touch_default_pool() -> None:
    out = _subprocess(
        """
        import sys
        import savedmodel_io
        import savedmodel_io.protos as p
        for name in p.MODULES:
            getattr(p, name)
        from google.protobuf import descriptor_pool
        try:
            descriptor_pool.Default().FindMessageTypeByName("tensorflow.MetaGraphDef")
        except KeyError:
            pass
        else:
            raise SystemExit("tensorflow.MetaGraphDef leaked into the default pool")
        bad = sorted(m for m in sys.modules if m == "tensorflow" or m.startswith("tensorflow."))
        print(bad)
        """
    )
    assert out.strip() == "[]"


@pytest.mark.parametrize("name", protos.MODULES)
def test_full_names_and_pool(name: str) -> None:
    module = importlib.import_module(f"savedmodel_io.protos.{name}")
    fd = module.DESCRIPTOR
    assert fd.pool is POOL
    expected = "google.protobuf" if name in ("any_pb2", "wrappers_pb2") else "tensorflow"
    assert fd.package == expected
    for msg_name, desc in fd.message_types_by_name.items():
        assert desc.full_name == f"{expected}.{msg_name}"
        cls = getattr(module, msg_name)
        assert cls.DESCRIPTOR is desc
        assert cls.__module__ == f"savedmodel_io.protos.{name}"
    if expected == "tensorflow":  # the default pool never sees our files
        with pytest.raises(KeyError):
            descriptor_pool.Default().FindFileByName(fd.name)


def test_datatype_values() -> None:
    dt = types_pb2.DataType
    assert dt.Value("DT_INVALID") == 0
    assert dt.Value("DT_FLOAT") == 1
    assert dt.Value("DT_STRING") == 7
    assert dt.Value("DT_BFLOAT16") == 14
    assert dt.Value("DT_RESOURCE") == 20
    assert dt.Value("DT_VARIANT") == 21
    assert dt.Value("DT_FLOAT_REF") == 101
    assert dt.Value("DT_VARIANT_REF") == 121
    for name in ("DT_FLOAT8_E5M2", "DT_FLOAT8_E4M3FN", "DT_INT4", "DT_UINT4", "DT_INT2"):
        assert dt.Value(name) > 0
        assert dt.Value(name + "_REF") == dt.Value(name) + 100


def test_bundle_entry_exact_bytes() -> None:
    entry = tensor_bundle_pb2.BundleEntryProto(
        dtype=types_pb2.DT_FLOAT, offset=0, size=8, crc32c=0x12345678
    )
    entry.shape.dim.add().size = 2
    raw = entry.SerializeToString()
    assert raw == bytes.fromhex("0801 1204 1202 0802 2808 3578563412")
    assert tensor_bundle_pb2.BundleEntryProto.FromString(raw) == entry
    # A scalar's shape is still emitted (empty message) once it is set.
    scalar = tensor_bundle_pb2.BundleEntryProto(dtype=types_pb2.DT_INT64)
    scalar.shape.SetInParent()
    assert scalar.SerializeToString() == bytes.fromhex("0809 1200")


def test_header_and_enums() -> None:
    header = tensor_bundle_pb2.BundleHeaderProto(num_shards=1)
    header.version.producer = 1
    assert header.endianness == tensor_bundle_pb2.BundleHeaderProto.LITTLE
    assert header.SerializeToString() == bytes.fromhex("0801 1a02 0801")


def test_map_fields_and_deterministic_serialization() -> None:
    a = meta_graph_pb2.SignatureDef(method_name="m")
    b = meta_graph_pb2.SignatureDef(method_name="m")
    for key in ("z", "a", "m"):
        a.inputs[key].name = f"{key}:0"
    for key in ("m", "z", "a"):
        b.inputs[key].name = f"{key}:0"
    assert a == b
    assert a.SerializeToString(deterministic=True) == b.SerializeToString(deterministic=True)
    assert sorted(a.inputs) == ["a", "m", "z"]
    assert meta_graph_pb2.SignatureDef.FromString(a.SerializeToString()) == a


def test_any_pack_unpack_and_text_json() -> None:
    asset = meta_graph_pb2.AssetFileDef(filename="vocab.txt")
    asset.tensor_info.name = "asset:0"
    mg = meta_graph_pb2.MetaGraphDef()
    packed = mg.collection_def["saved_model_assets"].any_list.value.add()
    packed.Pack(asset)
    assert isinstance(packed, any_pb2.Any)
    assert packed.type_url == "type.googleapis.com/tensorflow.AssetFileDef"
    assert packed.TypeName() == "tensorflow.AssetFileDef"
    out = meta_graph_pb2.AssetFileDef()
    assert packed.Unpack(out) and out == asset

    text = text_format.MessageToString(mg, descriptor_pool=POOL)
    assert "[type.googleapis.com/tensorflow.AssetFileDef] {" in text
    assert text_format.Parse(text, meta_graph_pb2.MetaGraphDef(), descriptor_pool=POOL) == mg

    js = json_format.MessageToJson(mg, descriptor_pool=POOL)
    assert '"@type": "type.googleapis.com/tensorflow.AssetFileDef"' in js
    assert json_format.Parse(js, meta_graph_pb2.MetaGraphDef(), descriptor_pool=POOL) == mg

    info = mg.meta_info_def
    info.any_info.Pack(wrappers_pb2.StringValue(value="x"))
    assert info.any_info.type_url == "type.googleapis.com/google.protobuf.StringValue"


def test_wrappers_in_object_graph() -> None:
    graph = trackable_object_graph_pb2.TrackableObjectGraph()
    node = graph.nodes.add()
    node.children.add(node_id=1, local_name="v")
    node.has_checkpoint_values.value = True
    assert node.HasField("has_checkpoint_values")
    again = trackable_object_graph_pb2.TrackableObjectGraph.FromString(graph.SerializeToString())
    assert again.nodes[0].has_checkpoint_values.value is True


def test_checkpoint_state_text_format() -> None:
    state = checkpoint_state_pb2.CheckpointState(
        model_checkpoint_path="model.ckpt-2",
        all_model_checkpoint_paths=["model.ckpt-1", "model.ckpt-2"],
        all_model_checkpoint_timestamps=[1.5, 2.5],
        last_preserved_timestamp=1.25,
    )
    text = text_format.MessageToString(state)
    assert text.startswith('model_checkpoint_path: "model.ckpt-2"\n')
    assert text_format.Parse(text, checkpoint_state_pb2.CheckpointState()) == state


def test_example_oneof() -> None:
    ex = example_pb2.Example()
    feat = ex.features.feature["x"]
    feat.float_list.value.extend([1.0, 2.0])
    assert feat.WhichOneof("kind") == "float_list"
    feat.int64_list.value.append(3)
    assert feat.WhichOneof("kind") == "int64_list"
    assert example_pb2.Example.FromString(ex.SerializeToString()) == ex


def test_pure_python_backend() -> None:
    out = _subprocess(
        """
        from google.protobuf.internal import api_implementation
        from google.protobuf import text_format
        from savedmodel_io.protos import meta_graph_pb2
        from savedmodel_io.protos._pool import POOL
        assert api_implementation.Type() == "python", api_implementation.Type()
        mg = meta_graph_pb2.MetaGraphDef()
        mg.collection_def["a"].any_list.value.add().Pack(meta_graph_pb2.AssetFileDef(filename="f"))
        mg.signature_def["s"].inputs["x"].name = "x:0"
        again = meta_graph_pb2.MetaGraphDef.FromString(mg.SerializeToString())
        assert again == mg
        print(text_format.MessageToString(again, descriptor_pool=POOL, as_one_line=True))
        """,
        PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION="python",
    )
    assert "[type.googleapis.com/tensorflow.AssetFileDef] { filename: " in out
