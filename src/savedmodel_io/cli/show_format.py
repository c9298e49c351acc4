"""The text of ``saved_model_cli show`` (TensorFlow 2.21), and the same facts as JSON.

Each function returns the exact text TensorFlow prints, newlines included. The one
difference: the ops line prints a Python set, whose order TensorFlow leaves to string
hashing; here it is sorted.
"""

from __future__ import annotations

from typing import Any

from savedmodel_io.cli import concrete_functions, graph_ops
from savedmodel_io.dtypes import DataType
from savedmodel_io.errors import NotFoundError
from savedmodel_io.protos import meta_graph_pb2, saved_model_pb2


def dtype_name(number: int) -> str:
    try:
        return DataType(number).name
    except ValueError:
        return f"<unknown DataType {number}>"


def shape_text(info: meta_graph_pb2.TensorInfo) -> str:
    if info.tensor_shape.unknown_rank:
        return "unknown_rank"
    return "(" + ", ".join(str(d.size) for d in info.tensor_shape.dim) + ")"


def tag_sets_text(saved_model: saved_model_pb2.SavedModel) -> str:
    tag_sets = sorted(list(m.meta_info_def.tags) for m in saved_model.meta_graphs)
    lines = ["The given SavedModel contains the following tag-sets:"]
    lines += [repr(", ".join(sorted(tags))) for tags in tag_sets]
    return "\n".join(lines) + "\n"


def signature_keys_text(meta: meta_graph_pb2.MetaGraphDef) -> str:
    lines = ["The given SavedModel MetaGraphDef contains SignatureDefs with the following keys:"]
    lines += [f'SignatureDef key: "{key}"' for key in sorted(meta.signature_def)]
    return "\n".join(lines) + "\n"


def tensor_info_text(info: meta_graph_pb2.TensorInfo, indent: int) -> str:
    pad = "  " * indent
    return (f"{pad}    dtype: {dtype_name(info.dtype)}\n"
            f"{pad}    shape: {shape_text(info)}\n"
            f"{pad}    name: {info.name}\n")


def get_signature(meta: meta_graph_pb2.MetaGraphDef, key: str) -> meta_graph_pb2.SignatureDef:
    """The SignatureDef ``key``, or NotFoundError listing the keys there are."""
    if key not in meta.signature_def:
        keys = ", ".join(sorted(meta.signature_def))
        raise NotFoundError(f'Could not find signature "{key}". Please choose from: {keys}')
    return meta.signature_def[key]


def signature_text(meta: meta_graph_pb2.MetaGraphDef, key: str, indent: int = 0) -> str:
    sig = get_signature(meta, key)
    pad = "  " * indent
    parts = [f"{pad}The given SavedModel SignatureDef contains the following input(s):\n"]
    for k in sorted(sig.inputs):
        parts.append(f"{pad}  inputs['{k}'] tensor_info:\n")
        parts.append(tensor_info_text(sig.inputs[k], indent + 1))
    parts.append(f"{pad}The given SavedModel SignatureDef contains the following output(s):\n")
    for k in sorted(sig.outputs):
        parts.append(f"{pad}  outputs['{k}'] tensor_info:\n")
        parts.append(tensor_info_text(sig.outputs[k], indent + 1))
    parts.append(f"{pad}Method name is: {sig.method_name}\n")
    return "".join(parts)


def set_repr(items: set[str] | frozenset[str]) -> str:
    """A Python set's repr with its items sorted (``set()`` when empty)."""
    return "{" + ", ".join(repr(s) for s in sorted(items)) + "}" if items else "set()"


def tags_repr(meta: meta_graph_pb2.MetaGraphDef) -> str:
    return repr(list(meta.meta_info_def.tags))


def ops_line(meta: meta_graph_pb2.MetaGraphDef) -> str:
    ops = graph_ops.tf_ops_used(meta.graph_def)
    return (f"The MetaGraph with tag set {tags_repr(meta)} contains the following ops: "
            f"{set_repr(ops)}\n")


def _ordered(saved_model: saved_model_pb2.SavedModel) -> list[meta_graph_pb2.MetaGraphDef]:
    return sorted(saved_model.meta_graphs, key=lambda m: list(m.meta_info_def.tags))


def show_all_text(saved_model: saved_model_pb2.SavedModel) -> str:
    parts = []
    for meta in _ordered(saved_model):
        tags = ", ".join(meta.meta_info_def.tags)
        parts.append(f"\nMetaGraphDef with tag-set: '{tags}' contains the following "
                     "SignatureDefs:\n")
        for key in sorted(meta.signature_def):
            parts.append(f"\nsignature_def['{key}']:\n")
            parts.append(signature_text(meta, key, indent=1))
        parts.append(ops_line(meta))
    parts.append(concrete_functions.section_text(saved_model))
    return "".join(parts)


# ------------------------------------------------------------------ JSON


def tensor_info_json(info: meta_graph_pb2.TensorInfo) -> dict[str, Any]:
    shape = (None if info.tensor_shape.unknown_rank
             else [d.size for d in info.tensor_shape.dim])
    out: dict[str, Any] = {"dtype": dtype_name(info.dtype), "shape": shape, "name": info.name}
    encoding = info.WhichOneof("encoding")
    if encoding == "coo_sparse":
        c = info.coo_sparse
        out["coo_sparse"] = {"values": c.values_tensor_name, "indices": c.indices_tensor_name,
                             "dense_shape": c.dense_shape_tensor_name}
    elif encoding == "composite_tensor":
        out["composite_tensor"] = True
    return out


def signature_json(meta: meta_graph_pb2.MetaGraphDef, key: str) -> dict[str, Any]:
    sig = get_signature(meta, key)
    return {"inputs": {k: tensor_info_json(sig.inputs[k]) for k in sorted(sig.inputs)},
            "outputs": {k: tensor_info_json(sig.outputs[k]) for k in sorted(sig.outputs)},
            "method_name": sig.method_name}


def meta_graph_json(meta: meta_graph_pb2.MetaGraphDef, *, ops: bool) -> dict[str, Any]:
    out: dict[str, Any] = {
        "tags": list(meta.meta_info_def.tags),
        "signature_defs": {k: signature_json(meta, k) for k in sorted(meta.signature_def)},
    }
    if ops:
        out["ops"] = sorted(graph_ops.tf_ops_used(meta.graph_def))
    return out


def show_all_json(saved_model: saved_model_pb2.SavedModel) -> dict[str, Any]:
    out: dict[str, Any] = {
        "meta_graphs": [meta_graph_json(m, ops=True) for m in _ordered(saved_model)]}
    if any(m.HasField("object_graph_def") for m in saved_model.meta_graphs):
        out["concrete_functions"] = concrete_functions.section_json(saved_model)
    return out


__all__ = ["tag_sets_text", "signature_keys_text", "signature_text", "ops_line",
           "show_all_text", "show_all_json", "meta_graph_json", "signature_json",
           "set_repr", "tags_repr", "get_signature"]
