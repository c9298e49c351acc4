"""Every message and enum of savedmodel_io.protos matches TensorFlow 2.21's, field by field."""

from __future__ import annotations

import importlib
from typing import Any

import pytest
from google.protobuf import descriptor_pool
from google.protobuf.descriptor import Descriptor, EnumDescriptor, FieldDescriptor

from savedmodel_io.protos import MODULES
from savedmodel_io.protos._pool import POOL

pytestmark = pytest.mark.interop


def _walk() -> tuple[list[Descriptor], list[EnumDescriptor]]:
    messages: list[Descriptor] = []
    enums: list[EnumDescriptor] = []

    def visit(desc: Descriptor) -> None:
        messages.append(desc)
        enums.extend(desc.enum_types)
        for nested in desc.nested_types:
            visit(nested)

    for name in MODULES:
        fd = importlib.import_module(f"savedmodel_io.protos.{name}").DESCRIPTOR
        if fd.package != "tensorflow":
            continue  # google.protobuf well-known types
        enums.extend(fd.enum_types_by_name.values())
        for desc in fd.message_types_by_name.values():
            visit(desc)
    return messages, enums


OUR_MESSAGES, OUR_ENUMS = _walk()


def _tf_pool() -> Any:
    return descriptor_pool.Default()


def _field_facts(f: FieldDescriptor) -> dict[str, Any]:
    return {
        "number": f.number,
        "type": f.type,
        "repeated": f.is_repeated,
        "required": f.is_required,
        "has_presence": f.has_presence,
        "packed": f.is_packed,
        "message_type": f.message_type.full_name if f.message_type else None,
        "map": bool(f.message_type and f.message_type.GetOptions().map_entry),
        "enum_type": f.enum_type.full_name if f.enum_type else None,
        "oneof": f.containing_oneof.name if f.containing_oneof else None,
        "json_name": f.json_name,
        "deprecated": f.GetOptions().deprecated,
    }


def test_walk_covers_everything() -> None:
    assert len(OUR_MESSAGES) > 100
    names = {m.full_name for m in OUR_MESSAGES}
    for required in (
        "tensorflow.MetaGraphDef",
        "tensorflow.BundleEntryProto",
        "tensorflow.TensorSliceProto",
        "tensorflow.SavedTensorSlices",
        "tensorflow.TrackableObjectGraph",
        "tensorflow.Example",
        "tensorflow.SequenceExample",
        "tensorflow.FingerprintDef",
        "tensorflow.CheckpointState",
        "tensorflow.TypeSpecProto",
    ):
        assert required in names
    assert all(m.file.pool is POOL for m in OUR_MESSAGES)


@pytest.mark.parametrize("ours", OUR_MESSAGES, ids=lambda d: d.full_name)
def test_message_matches_tensorflow(ours: Descriptor) -> None:
    theirs = _tf_pool().FindMessageTypeByName(ours.full_name)
    assert theirs.file.pool is not POOL
    ours_fields = {f.name: _field_facts(f) for f in ours.fields}
    their_fields = {f.name: _field_facts(f) for f in theirs.fields}
    assert ours_fields == their_fields
    assert [o.name for o in ours.oneofs] == [o.name for o in theirs.oneofs]
    assert {n.name for n in ours.nested_types} == {n.name for n in theirs.nested_types}
    assert {e.name for e in ours.enum_types} == {e.name for e in theirs.enum_types}
    assert ours.GetOptions().map_entry == theirs.GetOptions().map_entry


@pytest.mark.parametrize("ours", OUR_ENUMS, ids=lambda d: d.full_name)
def test_enum_matches_tensorflow(ours: EnumDescriptor) -> None:
    theirs = _tf_pool().FindEnumTypeByName(ours.full_name)
    assert [(v.name, v.number) for v in ours.values] == [(v.name, v.number) for v in theirs.values]


def test_tensorflow_has_no_extra_top_level_types() -> None:
    """Each TF file we mirror defines nothing we lack."""
    ours = {m.full_name for m in OUR_MESSAGES} | {e.full_name for e in OUR_ENUMS}
    top_level = [name for name in ours if "." not in name.removeprefix("tensorflow.")]
    tf_files = {_tf_pool().FindFileContainingSymbol(name) for name in top_level}
    assert len(tf_files) == len([m for m in MODULES if m not in ("any_pb2", "wrappers_pb2")])
    missing = []
    for fd in tf_files:
        for name in list(fd.message_types_by_name) + list(fd.enum_types_by_name):
            if f"tensorflow.{name}" not in ours:
                missing.append(f"{fd.name}: {name}")
    assert missing == []
