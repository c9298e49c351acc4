"""Giving variables their saved values without running a restore op.

TF2 SavedModels: a graph node calling a traced function (``StatefulPartitionedCall``)
passes the function's captured resources as its last inputs, and the function's
``SavedConcreteFunction.bound_inputs`` say which object-graph node each one is. A variable
node's value is in the variables checkpoint under the key the checkpoint's own object graph
gives that node id (``<path>/.ATTRIBUTES/VARIABLE_VALUE``); an asset node's value is the
asset's path. Each captured ``VarHandleOp`` is bound to that value, read on first use.

TF1 SavedModels without a usable restore op: each variable is restored from the checkpoint
key equal to its node name, as ``tf.compat.v1.train.Saver()`` names them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from savedmodel_io.dtypes import as_numpy_dtype
from savedmodel_io.errors import DataLossError, NotFoundError
from savedmodel_io.protos import (
    meta_graph_pb2,
    saved_object_graph_pb2,
    trackable_object_graph_pb2,
    variable_pb2,
)
from savedmodel_io.runtime.kernels.state import resource_key
from savedmodel_io.runtime.values import Loader
from savedmodel_io.saved_model.object_graph import node_paths
from savedmodel_io.tensor_proto import shape_from_proto

if TYPE_CHECKING:
    from savedmodel_io.runtime.session import Session
    from savedmodel_io.train.checkpoint_reader import CheckpointReader

CALL_OPS = frozenset({"StatefulPartitionedCall", "PartitionedCall"})


def checkpoint_keys(graph: saved_object_graph_pb2.SavedObjectGraph,
                    ckpt: trackable_object_graph_pb2.TrackableObjectGraph | None
                    ) -> dict[int, str]:
    """Object-graph node id of each variable -> its key in the variables checkpoint."""
    escaped = node_paths(graph, escaped=True)
    out: dict[int, str] = {}
    for node_id, node in enumerate(graph.nodes):
        if node.WhichOneof("kind") != "variable":
            continue
        key = None
        if ckpt is not None and node_id < len(ckpt.nodes):
            for attr in ckpt.nodes[node_id].attributes:
                if attr.name == "VARIABLE_VALUE":
                    key = attr.checkpoint_key
                    break
        if key is None and node_id in escaped:
            key = f"{escaped[node_id]}/.ATTRIBUTES/VARIABLE_VALUE"
        if key is not None:
            out[node_id] = key
    return out


def captured_inputs(session: Session) -> dict[str, int]:
    """Graph node name -> object-graph node id, for every captured input of a call."""
    og = session.loaded.object_graph
    assert og is not None
    out: dict[str, int] = {}
    for name, nd in session.body.nodes.items():
        if nd.op in CALL_OPS and "f" in nd.attr:
            fname = nd.attr["f"].func.name
        elif nd.op in og.concrete_functions:
            fname = nd.op
        else:
            continue
        saved = og.concrete_functions.get(fname)
        if saved is None or not saved.bound_inputs:
            continue
        data = [i for i in nd.input if not i.startswith("^")]
        bound = list(saved.bound_inputs)
        if len(bound) > len(data):
            raise DataLossError(
                f"node {name!r} calls {fname!r} with {len(data)} inputs, fewer than its "
                f"{len(bound)} captured inputs", path=session.loaded.source)
        for text, node_id in zip(data[len(data) - len(bound):], bound, strict=True):
            src = text.split(":", 1)[0]
            out.setdefault(src, node_id)
    return out


def _loader(reader: CheckpointReader, key: str, what: str, prefix: str) -> Loader:
    def load() -> np.ndarray:
        if key not in reader:
            raise NotFoundError(f"{what} has no value in the variables checkpoint: key "
                                f"{key!r} not found", path=prefix)
        return reader[key]
    return load


def _constant(value: np.ndarray) -> Loader:
    return lambda: value


def bind_object_graph(session: Session) -> None:
    """Bind each captured VarHandleOp of a TF2 SavedModel (see the module docstring)."""
    loaded = session.loaded
    og = loaded.object_graph
    reader = loaded.variables
    assert og is not None and reader is not None
    keys = checkpoint_keys(og, loaded.checkpoint_object_graph())
    paths = node_paths(og)
    meta = loaded.meta_graph_def
    for name, node_id in captured_inputs(session).items():
        nd = session.body.nodes.get(name)
        if nd is None or nd.op != "VarHandleOp" or not 0 <= node_id < len(og.nodes):
            continue
        container, shared = resource_key(nd)
        dtype = as_numpy_dtype(nd.attr["dtype"].type) if "dtype" in nd.attr else None
        shape = shape_from_proto(nd.attr["shape"].shape) if "shape" in nd.attr else None
        var = session.ctx.resources.get(container, shared, dtype, shape, "resource variable")
        obj = og.nodes[node_id]
        kind = obj.WhichOneof("kind")
        what = f"variable {paths.get(node_id, name)!r} (object {node_id}, node {name!r})"
        if kind == "variable" and node_id in keys:
            var.bind(_loader(reader, keys[node_id], what, reader.prefix))
        elif kind == "asset":
            index = obj.asset.asset_file_def_index
            if 0 <= index < len(meta.asset_file_def):
                tensor = meta.asset_file_def[index].tensor_info.name
                path = loaded.asset_paths.get(tensor)
                if path is not None:
                    var.bind(_constant(np.asarray(path.encode("utf-8"), dtype=object)))


def bind_by_name(session: Session) -> None:
    """Bind every TF1 variable node to the checkpoint key equal to its name."""
    loaded = session.loaded
    reader = loaded.variables
    assert reader is not None
    names = _collection_variables(loaded.meta_graph_def)
    for name, nd in session.body.nodes.items():
        if nd.op not in ("VariableV2", "Variable", "VarHandleOp"):
            continue
        if names and name not in names:
            continue
        container, shared = resource_key(nd)
        dtype = as_numpy_dtype(nd.attr["dtype"].type) if "dtype" in nd.attr else None
        shape = shape_from_proto(nd.attr["shape"].shape) if "shape" in nd.attr else None
        kind = "resource variable" if nd.op == "VarHandleOp" else "variable"
        var = session.ctx.resources.get(container, shared, dtype, shape, kind)
        if name in reader:
            var.bind(_loader(reader, name, f"{kind} {name!r}", reader.prefix))


def _collection_variables(meta: meta_graph_pb2.MetaGraphDef) -> set[str]:
    """Node names of the variables in the graph's variable collections (empty if none)."""
    out: set[str] = set()
    collections = meta.collection_def
    for key in ("variables", "local_variables", "trainable_variables"):
        if key not in collections:
            continue
        for raw in collections[key].bytes_list.value:
            vdef = variable_pb2.VariableDef()
            try:
                vdef.ParseFromString(raw)
            except Exception:  # DecodeError: ignore a broken entry
                continue
            out.add(vdef.variable_name.split(":", 1)[0])
    return out
