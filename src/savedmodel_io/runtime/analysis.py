"""Which ops running a signature needs, and which of them have no kernel.

The walk is the interpreter's own pruning: from the signature's output tensors (inputs fed)
and from the init op, through every function those nodes call (function attributes such
as ``f``, ``then_branch``, ``body``, and nodes whose op is a library function), where a
function body contributes what its return values, control outputs and side-effecting
nodes need. Nothing is compiled or run, so it works on any model.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from savedmodel_io.errors import NotFoundError
from savedmodel_io.protos import function_pb2, graph_pb2, meta_graph_pb2, node_def_pb2
from savedmodel_io.runtime.interpreter import ARG, Body, TensorKey, needed_nodes, parse_tensor_name
from savedmodel_io.runtime.registry import lookup, supported_ops

if TYPE_CHECKING:
    from savedmodel_io.saved_model.loader import LoadedSavedModel


def _called(nd: node_def_pb2.NodeDef, library: dict[str, function_pb2.FunctionDef]
            ) -> list[str]:
    names = [nd.op] if nd.op in library else []
    for value in nd.attr.values():
        kind = value.WhichOneof("value")
        if kind == "func":
            names.append(value.func.name)
        elif kind == "list":
            names.extend(f.name for f in value.list.func)
    return names


class OpWalk:
    """Collects op types (with where each was seen first) over a graph and its library."""

    def __init__(self, graph_def: graph_pb2.GraphDef) -> None:
        self.library = {f.signature.name: f for f in graph_def.library.function}
        self.body = Body(graph_def.node)
        self.ops: dict[str, str] = {}  # op -> first place seen
        self._functions: set[str] = set()

    def graph(self, fetches: Iterable[str], feeds: Iterable[str] = (),
              targets: Iterable[str] = ()) -> None:
        fed: set[TensorKey] = {parse_tensor_name(n) for n in feeds}
        fetch_nodes = []
        for name in fetches:
            key = parse_tensor_name(name)
            if key not in fed:
                fetch_nodes.append(key[0])
        for n in needed_nodes(self.body, fetch_nodes, fed, list(targets)):
            self._node(self.body.nodes[n], f"node {n!r}")

    def _node(self, nd: node_def_pb2.NodeDef, where: str) -> None:
        if nd.op not in self.library:
            self.ops.setdefault(nd.op, where)
        for fname in _called(nd, self.library):
            self._function(fname)

    def _function(self, name: str) -> None:
        if name in self._functions:
            return
        self._functions.add(name)
        fdef = self.library.get(name)
        if fdef is None:
            raise NotFoundError(f"a node calls function {name!r}, which the function "
                                "library does not define")
        body = Body(fdef.node_def, where=f"function {name!r}",
                    arg_names=[a.name for a in fdef.signature.input_arg])
        seeds: list[str] = []
        for text in fdef.ret.values():
            src = text.split(":", 1)[0]
            if src in body.nodes:
                seeds.append(src)
        seeds.extend(t for t in fdef.control_ret.values() if t in body.nodes)
        for n, nd in body.nodes.items():
            kdef = lookup(nd.op)
            if (kdef is not None and kdef.stateful) or nd.op in self.library:
                seeds.append(n)
        fed: set[TensorKey] = {(ARG, i) for i in range(len(fdef.signature.input_arg))}
        for n in needed_nodes(body, [], fed, seeds):
            self._node(body.nodes[n], f"function {name!r}")

    def unsupported(self) -> dict[str, str]:
        known = supported_ops()
        return {op: where for op, where in sorted(self.ops.items()) if op not in known}


def signature_walk(model: LoadedSavedModel | meta_graph_pb2.MetaGraphDef,
                   signature_key: str | None = None) -> OpWalk:
    """The ops the init op and signature ``signature_key`` (all signatures if ``None``)
    need, with the signature inputs and the asset tensors fed."""
    from savedmodel_io.saved_model.asset_paths import asset_file_defs
    from savedmodel_io.saved_model.loader import get_init_op_name

    meta = model if isinstance(model, meta_graph_pb2.MetaGraphDef) else model.meta_graph_def
    walk = OpWalk(meta.graph_def)
    assets = [a.tensor_info.name for a in asset_file_defs(meta)]
    init_op = get_init_op_name(meta)
    if init_op:
        walk.graph([], assets, [init_op])
    keys = [signature_key] if signature_key is not None else [
        k for k in meta.signature_def if not k.startswith("__saved_model")]
    for key in keys:
        if key not in meta.signature_def:
            raise NotFoundError(f"the MetaGraphDef has no signature {key!r}; it has "
                                f"{sorted(meta.signature_def)}")
        sig = meta.signature_def[key]
        feeds = [*assets, *(n for info in sig.inputs.values() for n in _tensor_names(info))]
        fetches: list[str] = []
        targets: list[str] = []
        for info in sig.outputs.values():
            for n in _tensor_names(info):
                (fetches if ":" in n else targets).append(n)
        walk.graph(fetches, feeds, targets)
    return walk


def _tensor_names(info: object) -> list[str]:
    encoding = info.WhichOneof("encoding")  # type: ignore[attr-defined]
    if encoding == "name":
        return [info.name]  # type: ignore[attr-defined]
    if encoding == "coo_sparse":
        c = info.coo_sparse  # type: ignore[attr-defined]
        return [c.values_tensor_name, c.indices_tensor_name, c.dense_shape_tensor_name]
    if encoding == "composite_tensor":
        out: list[str] = []
        for comp in info.composite_tensor.components:  # type: ignore[attr-defined]
            out.extend(_tensor_names(comp))
        return out
    return []


__all__ = ["OpWalk", "signature_walk"]
