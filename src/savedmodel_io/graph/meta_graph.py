"""``export_meta_graph``: a Graph as the MetaGraphDef ``tf.compat.v1.train.export_meta_graph``
writes.

``meta_info_def`` lists the OpDefs of the ops used (``stripped_op_list``, sorted) and the
TensorFlow version; ``graph_def`` carries ``_output_shapes``; ``collection_def`` holds the
variables (VariableDef bytes) and every collection added with ``add_to_collection``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from google.protobuf.message import Message

from savedmodel_io.errors import InvalidArgumentError
from savedmodel_io.graph.tensor import Operation, Tensor
from savedmodel_io.protos import meta_graph_pb2, saver_pb2
from savedmodel_io.train import saver_graph

if TYPE_CHECKING:
    from savedmodel_io.graph.graph import Graph


def _kind(value: Any) -> str:
    from savedmodel_io.graph.variables import GraphVariable
    if isinstance(value, (Tensor, Operation)):
        return "node_list"
    if isinstance(value, GraphVariable):
        return "variable"
    if isinstance(value, (bytes, str)):
        return "bytes_list"
    if isinstance(value, bool):
        return "int64_list"
    if isinstance(value, int):
        return "int64_list"
    if isinstance(value, float):
        return "float_list"
    if isinstance(value, Message):
        return "any_list"
    raise InvalidArgumentError(
        f"cannot store a {type(value).__name__} in a collection (Tensor, Operation, "
        "GraphVariable, bytes/str, int, float or a proto)")


def add_collection(mg: meta_graph_pb2.MetaGraphDef, key: str, values: Sequence[Any]) -> None:
    """Store one collection as TensorFlow does (kind taken from the first value)."""
    from savedmodel_io.graph.graph import pack_any
    if not values:
        return
    kind = _kind(values[0])
    for v in values[1:]:
        if _kind(v) != kind:
            raise InvalidArgumentError(
                f"collection {key!r} mixes {kind} and {_kind(v)} values; TensorFlow stores a "
                "collection as one kind")
    col = mg.collection_def[key]
    if kind == "node_list":
        col.node_list.value.extend(v.name for v in values)
    elif kind == "variable":
        col.bytes_list.value.extend(v.to_proto().SerializeToString(deterministic=True)
                                    for v in values)
    elif kind == "bytes_list":
        col.bytes_list.value.extend(v.encode("utf-8") if isinstance(v, str) else v
                                    for v in values)
    elif kind == "int64_list":
        col.int64_list.value.extend(int(v) for v in values)
    elif kind == "float_list":
        col.float_list.value.extend(float(v) for v in values)
    else:
        col.any_list.value.extend(pack_any(v) for v in values)


def export_meta_graph(graph: Graph, *, saver_def: saver_pb2.SaverDef | None = None,
                      clear_devices: bool = False, strip_default_attrs: bool = False,
                      collection_list: Sequence[str] | None = None,
                      sort_control_inputs: bool | None = None
                      ) -> meta_graph_pb2.MetaGraphDef:
    """The MetaGraphDef of ``graph`` (see the module docstring and
    ``Graph.export_meta_graph``)."""
    mg = meta_graph_pb2.MetaGraphDef()
    info = mg.meta_info_def
    info.stripped_op_list.op.extend(graph.used_op_defs())
    info.tensorflow_version = saver_graph.TENSORFLOW_VERSION
    info.tensorflow_git_version = saver_graph.TENSORFLOW_GIT_VERSION
    # TF copies Python NodeDefs (control inputs in creation order) when clearing devices,
    # else uses the C++ GraphDef (sorted).
    if sort_control_inputs is None:
        sort_control_inputs = not clear_devices
    mg.graph_def.CopyFrom(graph.as_graph_def(add_shapes=True, clear_devices=clear_devices,
                                             strip_default_attrs=strip_default_attrs,
                                             sort_control_inputs=sort_control_inputs))
    if strip_default_attrs:
        info.stripped_default_attrs = True
    if saver_def is not None:
        mg.saver_def.CopyFrom(saver_def)
    keys = graph.get_all_collection_keys() if collection_list is None else collection_list
    for key in keys:
        add_collection(mg, key, graph.get_collection(key))
    return mg


__all__ = ["add_collection", "export_meta_graph"]
