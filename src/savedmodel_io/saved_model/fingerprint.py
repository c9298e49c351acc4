"""``fingerprint.pb``: the ``FingerprintDef`` TensorFlow 2.21 writes beside ``saved_model.pb``.

::

    fp = create_fingerprint_def(export_dir)      # from saved_model.pb and variables.index
    write_fingerprint(export_dir)                # fingerprint.pb, written atomically
    singleprint(fp)                              # "<graph>/<signatures>/<objects>/<ckpt>"

Every field is computed as TensorFlow's ``CreateFingerprintDef`` computes it (fingerprint
producer 4), for the first MetaGraphDef:

* ``saved_model_checksum``: Fingerprint64 of the SavedModel serialized the way C++ protobuf
  serializes deterministically (map entries in ascending key order; Python's upb orders
  integer keys descending and puts ``"a_1"`` before ``"a"``, so for TF2 SavedModels the
  file's own bytes hash differently).
* ``graph_def_program_hash``: Fingerprint64 of the GraphDef after TensorFlow's
  "simple delete" regularization: the values of DT_STRING ``Const`` nodes cleared, the
  trailing uid dropped from the function name of ``(Stateful)PartitionedCall`` nodes and
  their ``config_proto`` emptied, and ``library`` and ``versions`` cleared but kept
  *present* (so even an empty graph serializes to four bytes).
* ``signature_def_hash``: FingerprintCat64 over the signatures in key order, of the key's
  and of the SignatureDef's fingerprint.
* ``saved_object_graph_hash``: FingerprintCat64 over ``concrete_functions`` in the order of
  the uid that ends each name, of the name without the uid and of the
  SavedConcreteFunction's fingerprint (``nodes`` do not count). 0 for TF1 SavedModels.
* ``checkpoint_hash``: Fingerprint64 of ``variables/variables.index``, 0 without one.
* ``version.producer``: 4. ``uuid``: a fresh random 128-bit number in decimal.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from typing import Any

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

from savedmodel_io import fileio
from savedmodel_io.errors import DataLossError, InvalidArgumentError, PathLike
from savedmodel_io.protos import (
    fingerprint_pb2,
    graph_pb2,
    meta_graph_pb2,
    saved_model_pb2,
    saved_object_graph_pb2,
    types_pb2,
)
from savedmodel_io.saved_model import constants
from savedmodel_io.saved_model.farmhash import fingerprint64, fingerprint_cat64

FINGERPRINT_PRODUCER = 4
"""``version.producer`` of the fingerprints TensorFlow 2.21 writes."""

MAX_INDEX_BYTES = 1 << 31
_CALL_OPS = ("PartitionedCall", "StatefulPartitionedCall")
_BYTES_KEY_TYPES = frozenset({FieldDescriptor.TYPE_STRING, FieldDescriptor.TYPE_BYTES})
_ZIGZAG_KEY_TYPES = frozenset({FieldDescriptor.TYPE_SINT32, FieldDescriptor.TYPE_SINT64})
_SIGNED_KEY_TYPES = frozenset({
    FieldDescriptor.TYPE_INT32, FieldDescriptor.TYPE_INT64, FieldDescriptor.TYPE_SFIXED32,
    FieldDescriptor.TYPE_SFIXED64})


# ------------------------------------------------------------ C++ deterministic bytes

def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(buf) or shift > 63:
            raise DataLossError("malformed protobuf wire data (bad varint)")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if b < 0x80:
            return result, pos
        shift += 7


def _skip(buf: bytes, pos: int, wire_type: int) -> int:
    if wire_type == 0:
        return _varint(buf, pos)[1]
    if wire_type == 1:
        return pos + 8
    if wire_type == 5:
        return pos + 4
    if wire_type == 2:
        n, pos = _varint(buf, pos)
        return pos + n
    raise DataLossError(f"unsupported protobuf wire type {wire_type}")


def _map_key(entry: bytes, key_field: FieldDescriptor) -> int | bytes:
    """The key of one serialized map entry (field 1; absent means the default), as a value
    that sorts in C++ order: integers by value, strings bytewise."""
    pos = 0
    key: int | bytes = b"" if key_field.type in _BYTES_KEY_TYPES else 0
    while pos < len(entry):
        tag, pos = _varint(entry, pos)
        start = pos
        pos = _skip(entry, pos, tag & 7)
        if tag >> 3 != 1:
            continue
        if tag & 7 == 2:
            n, body = _varint(entry, start)
            key = entry[body:body + n]
        elif tag & 7 == 0:
            value = _varint(entry, start)[0] & ((1 << 64) - 1)
            if key_field.type in _ZIGZAG_KEY_TYPES:
                value = (value >> 1) ^ -(value & 1)
            elif key_field.type in _SIGNED_KEY_TYPES and value >= 1 << 63:
                value -= 1 << 64
            key = value
        else:
            width = 8 if tag & 7 == 1 else 4
            key = int.from_bytes(entry[start:start + width], "little",
                                 signed=key_field.type in _SIGNED_KEY_TYPES)
    return key


def _reorder(buf: bytes, desc: Any) -> bytes:
    """``buf`` (one message of type ``desc``) with every map's entries in C++ order."""
    fields = desc.fields_by_number
    out: list[bytes] = []
    run: list[tuple[Any, bytes]] = []
    run_field = -1
    pos = 0

    def flush() -> None:
        nonlocal run_field
        if run:
            run.sort(key=lambda item: item[0])
            out.extend(raw for _, raw in run)
            run.clear()
        run_field = -1

    while pos < len(buf):
        start = pos
        tag, pos = _varint(buf, pos)
        number, wire_type = tag >> 3, tag & 7
        field = fields.get(number)
        is_message = (field is not None and wire_type == 2
                      and field.type == FieldDescriptor.TYPE_MESSAGE)
        if not is_message:
            flush()
            pos = _skip(buf, pos, wire_type)
            out.append(buf[start:pos])
            continue
        assert field is not None and field.message_type is not None
        n, body_start = _varint(buf, pos)
        pos = body_start + n
        body = _reorder(buf[body_start:pos], field.message_type)
        raw = buf[start:body_start] + body
        entry_type = field.message_type
        if not entry_type.GetOptions().map_entry:
            flush()
            out.append(raw)
            continue
        if run_field != number:
            flush()
            run_field = number
        run.append((_map_key(body, entry_type.fields_by_number[1]), raw))
    flush()
    return b"".join(out)


def cpp_deterministic_bytes(message: Message) -> bytes:
    """``message`` serialized as C++ protobuf does with deterministic serialization.

    Python's (upb) deterministic serialization differs only in the order of map entries:
    integer keys descending, and a string key before its own prefixes ("a_1" before "a").
    The entries are put back in C++ order (ascending; bytewise for strings); no length
    changes, so the rest of the bytes stay as they are.
    """
    data = message.SerializeToString(deterministic=True)
    return _reorder(data, message.DESCRIPTOR)


# ------------------------------------------------------------ the five hashes

def _get_suffix_uid(name: str) -> int | None:
    tail = name.rsplit("_", 1)[-1]
    sign = 1
    if tail[:1] in ("+", "-"):
        sign, tail = (-1 if tail[0] == "-" else 1), tail[1:]
    if not tail or not tail.isascii() or not tail.isdigit():
        return None
    return sign * int(tail)


def regularize_graph_def(graph_def: graph_pb2.GraphDef) -> graph_pb2.GraphDef:
    """A copy of ``graph_def`` regularized as TensorFlow does before hashing it."""
    g = graph_pb2.GraphDef()
    g.CopyFrom(graph_def)
    for node in g.node:
        if node.op in _CALL_OPS:
            if "f" in node.attr:
                func = node.attr["f"].func
                uid = _get_suffix_uid(func.name)
                if uid is not None and func.name.endswith(str(uid)):
                    func.name = func.name[:-len(str(uid))]
            if "config_proto" in node.attr:
                node.attr["config_proto"].s = b""
        if (node.op == "Const" and "dtype" in node.attr
                and node.attr["dtype"].type == types_pb2.DT_STRING and "value" in node.attr):
            node.attr["value"].Clear()
    g.library.Clear()
    g.library.SetInParent()
    g.versions.Clear()
    g.versions.SetInParent()
    return g


def hash_graph_def(graph_def: graph_pb2.GraphDef) -> int:
    """``graph_def_program_hash`` of a GraphDef."""
    return fingerprint64(cpp_deterministic_bytes(regularize_graph_def(graph_def)))


def hash_signature_defs(signature_defs: Mapping[str, meta_graph_pb2.SignatureDef]) -> int:
    """``signature_def_hash`` of a MetaGraphDef's signature map."""
    h = 0
    for key in sorted(signature_defs, key=lambda k: k.encode("utf-8")):
        h = fingerprint_cat64(h, fingerprint64(key.encode("utf-8")))
        h = fingerprint_cat64(h, fingerprint64(cpp_deterministic_bytes(signature_defs[key])))
    return h


def hash_saved_object_graph(object_graph: saved_object_graph_pb2.SavedObjectGraph) -> int:
    """``saved_object_graph_hash``: the concrete functions in uid order (nodes ignored)."""
    by_uid: dict[int, str] = {}
    for name in object_graph.concrete_functions:
        uid = _get_suffix_uid(name)
        if uid is None:
            raise InvalidArgumentError(
                f"concrete function name {name!r} does not end in '_<uid>', as every "
                "TensorFlow function name does")
        by_uid.setdefault(uid, name)  # TensorFlow keeps the first name seen for a uid
    h = 0
    for uid in sorted(by_uid):
        name = by_uid[uid]
        stem = name[:-len(str(uid))] if name.endswith(str(uid)) else name
        h = fingerprint_cat64(h, fingerprint64(stem.encode("utf-8")))
        h = fingerprint_cat64(h, fingerprint64(
            cpp_deterministic_bytes(object_graph.concrete_functions[name])))
    return h


def hash_checkpoint_index(export_dir: PathLike) -> int:
    """``checkpoint_hash``: Fingerprint64 of ``variables/variables.index``, else 0."""
    path = os.path.join(os.fspath(export_dir), constants.VARIABLES_DIRECTORY,
                        constants.VARIABLES_FILENAME + ".index")
    if not fileio.exists(path):
        return 0
    return fingerprint64(fileio.read_bytes(path, limit=MAX_INDEX_BYTES))


def fingerprint_from_saved_model(saved_model: saved_model_pb2.SavedModel,
                                 checkpoint_hash: int = 0, *, uuid: str | None = None
                                 ) -> fingerprint_pb2.FingerprintDef:
    """The FingerprintDef of an in-memory SavedModel (its first MetaGraphDef)."""
    if not saved_model.meta_graphs:
        raise InvalidArgumentError("the SavedModel has no MetaGraphDef to fingerprint")
    meta = saved_model.meta_graphs[0]
    fp = fingerprint_pb2.FingerprintDef(
        saved_model_checksum=fingerprint64(cpp_deterministic_bytes(saved_model)),
        graph_def_program_hash=hash_graph_def(meta.graph_def),
        signature_def_hash=hash_signature_defs(meta.signature_def),
        saved_object_graph_hash=hash_saved_object_graph(meta.object_graph_def),
        checkpoint_hash=checkpoint_hash,
        uuid=uuid if uuid is not None else str(secrets.randbits(128)))
    fp.version.producer = FINGERPRINT_PRODUCER
    return fp


def create_fingerprint_def(export_dir: PathLike, *, uuid: str | None = None
                           ) -> fingerprint_pb2.FingerprintDef:
    """The FingerprintDef of the SavedModel in ``export_dir``, from ``saved_model.pb``
    (as TensorFlow, a text-only ``saved_model.pbtxt`` is not fingerprinted)."""
    path = os.path.join(os.fspath(export_dir), constants.SAVED_MODEL_FILENAME_PB)
    if not fileio.exists(path):
        raise InvalidArgumentError(
            f"cannot fingerprint: no {constants.SAVED_MODEL_FILENAME_PB} (fingerprints are "
            "computed from the binary SavedModel only)", path=path)
    from savedmodel_io.saved_model.loader import MAX_SAVED_MODEL_BYTES
    saved_model = saved_model_pb2.SavedModel()
    try:
        saved_model.ParseFromString(fileio.read_bytes(path, limit=MAX_SAVED_MODEL_BYTES))
    except DataLossError:
        raise
    except Exception as e:  # DecodeError
        raise DataLossError(f"cannot parse as a SavedModel proto: {e}", path=path) from None
    return fingerprint_from_saved_model(saved_model, hash_checkpoint_index(export_dir),
                                        uuid=uuid)


def write_fingerprint(export_dir: PathLike, *, uuid: str | None = None
                      ) -> fingerprint_pb2.FingerprintDef:
    """Compute the fingerprint of ``export_dir`` and write ``fingerprint.pb`` atomically."""
    fp = create_fingerprint_def(export_dir, uuid=uuid)
    fileio.atomic_write_bytes(
        os.path.join(os.fspath(export_dir), constants.FINGERPRINT_FILENAME),
        fp.SerializeToString(deterministic=True))
    return fp


def singleprint(fp: fingerprint_pb2.FingerprintDef) -> str:
    """TensorFlow's singleprint: the four regularized hashes joined by ``/``."""
    return (f"{fp.graph_def_program_hash}/{fp.signature_def_hash}/"
            f"{fp.saved_object_graph_hash}/{fp.checkpoint_hash}")


__all__ = [
    "FINGERPRINT_PRODUCER",
    "cpp_deterministic_bytes",
    "regularize_graph_def",
    "hash_graph_def",
    "hash_signature_defs",
    "hash_saved_object_graph",
    "hash_checkpoint_index",
    "fingerprint_from_saved_model",
    "create_fingerprint_def",
    "write_fingerprint",
    "singleprint",
]
