"""``savedmodel-cli scan``: ``saved_model_cli scan``, and a closer look.

TensorFlow's scan checks the op types it collects from the graph and the functions the
graph calls through ``PartitionedCall``-style nodes. This one checks every node of the
graph and of *every* function in the library (``While``/``If`` bodies, dataset functions,
functions nobody calls), prints TensorFlow's line for each MetaGraphDef, and under it
where each flagged op was found. When the numpy runtime is installed it also lists the
ops the signatures need that have no kernel here.
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Callable, Iterator
from typing import Any

from savedmodel_io.cli import common, graph_ops
from savedmodel_io.cli.show_format import set_repr, tags_repr
from savedmodel_io.errors import InvalidArgumentError, SavedModelIOError
from savedmodel_io.protos import meta_graph_pb2
from savedmodel_io.saved_model import loader

DEFAULT_DENYLIST = frozenset({"WriteFile", "ReadFile", "PrintV2"})
MAX_LOCATIONS = 10  # per flagged op; the rest are counted


def add_parser(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = common.add_command(
        subparsers, "scan", "look for denylisted ops, in the graph and every function",
        "Report denylisted ops (default: WriteFile, ReadFile, PrintV2) as TensorFlow's "
        "`saved_model_cli scan` does, but looking inside every function of the library, "
        "and say where each was found.",
        ["savedmodel-cli scan --dir /tmp/saved_model",
         "savedmodel-cli scan --dir /tmp/saved_model --tag_set serve",
         "savedmodel-cli scan --dir /tmp/saved_model --op_denylist ReadFile,WriteFile,PyFunc"])
    p.add_argument("--dir", required=True, help="directory containing the SavedModel")
    p.add_argument("--tag_set", help="scan only this MetaGraphDef (comma-separated tags)")
    p.add_argument("--op_denylist", metavar="OP,OP,...",
                   help="comma-separated op types to look for "
                        "(default: WriteFile,ReadFile,PrintV2)")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")


def denylist(text: str | None) -> frozenset[str]:
    """TensorFlow's parsing: a comma list, blanks dropped; absent or empty: the default."""
    if not text:
        return DEFAULT_DENYLIST
    return frozenset(op.strip() for op in text.split(",") if op.strip())


def _supported_ops() -> frozenset[str] | None:
    """The ops the numpy runtime has kernels for, or None without a runtime."""
    try:
        runtime = importlib.import_module("savedmodel_io.runtime")
    except ImportError:
        return None
    supported = getattr(runtime, "supported_ops", None)
    return frozenset(supported()) if supported is not None else None


def _tensor_names(info: meta_graph_pb2.TensorInfo) -> Iterator[str]:
    encoding = info.WhichOneof("encoding")
    if encoding == "name":
        yield info.name
    elif encoding == "coo_sparse":
        c = info.coo_sparse
        yield from (c.values_tensor_name, c.indices_tensor_name, c.dense_shape_tensor_name)
    elif encoding == "composite_tensor":
        for component in info.composite_tensor.components:
            yield from _tensor_names(component)


def signature_fetches(meta: meta_graph_pb2.MetaGraphDef) -> list[str]:
    """Tensors the signatures compute, and the init op."""
    fetches = [name for sig in meta.signature_def.values() for info in sig.outputs.values()
               for name in _tensor_names(info) if name]
    try:
        init = loader.get_init_op_name(meta)
    except SavedModelIOError:
        init = None
    return fetches + ([init] if init else [])


def _meta_graphs(args: argparse.Namespace) -> list[meta_graph_pb2.MetaGraphDef]:
    if args.tag_set:
        tags = [t.strip() for t in args.tag_set.split(",") if t.strip()]
        if not tags:
            raise InvalidArgumentError("tag_set must contain at least one non-empty item.")
        return [loader.get_meta_graph_def(args.dir, ",".join(tags))]
    return list(loader.parse_saved_model(args.dir).meta_graphs)


def scan_meta_graph(meta: meta_graph_pb2.MetaGraphDef, ops: frozenset[str],
                    supported: frozenset[str] | None) -> dict[str, Any]:
    """What the scan found in one MetaGraphDef."""
    graph = meta.graph_def
    seen_by_tf = graph_ops.tf_functions_visited(graph)
    found: dict[str, list[dict[str, Any]]] = {}
    for loc in graph_ops.op_locations(graph):
        if loc.op in ops:
            found.setdefault(loc.op, []).append({
                "node": loc.node, "function": loc.function, "reachable": loc.reachable,
                "seen_by_tensorflow": loc.function is None or loc.function in seen_by_tf,
                "where": loc.describe()})
    out: dict[str, Any] = {"tags": list(meta.meta_info_def.tags), "denylist": sorted(ops),
                           "denylisted_ops": {op: found[op] for op in sorted(found)}}
    if supported is not None:
        try:
            from savedmodel_io.runtime import unsupported_ops
        except ImportError:
            needed = graph_ops.ops_needed(graph, signature_fetches(meta))
            out["cannot_run_here"] = sorted(needed - supported)
        else:  # the list a signature call checks: inputs fed, init op, called functions
            out["cannot_run_here"] = unsupported_ops(meta)
    return out


def _text(result: dict[str, Any], meta: meta_graph_pb2.MetaGraphDef) -> str:
    tags = tags_repr(meta)
    found: dict[str, list[dict[str, Any]]] = result["denylisted_ops"]
    if found:
        lines = [f"MetaGraph with tag set {tags} contains the following denylisted ops: "
                 f"{set_repr(set(found))}"]
        for op, locations in found.items():
            for loc in locations[:MAX_LOCATIONS]:
                missed = "" if loc["seen_by_tensorflow"] else "; TensorFlow's scan misses it"
                lines.append(f"  {op}: {loc['where']}{missed}")
            if len(locations) > MAX_LOCATIONS:
                lines.append(f"  {op}: ... and {len(locations) - MAX_LOCATIONS} more nodes")
    else:
        lines = [f"MetaGraph with tag set {tags} does not contain the default denylisted ops: "
                 f"{set_repr(set(result['denylist']))}"]
    if "cannot_run_here" in result:
        missing = result["cannot_run_here"]
        if missing:
            lines.append(f"MetaGraph with tag set {tags} needs ops that cannot run here "
                         f"(no numpy kernel): {set_repr(set(missing))}")
        else:
            lines.append(f"MetaGraph with tag set {tags}: every op its signatures need "
                         "can run here.")
    return "\n".join(lines) + "\n"


def main(args: argparse.Namespace,
         supported_ops: Callable[[], frozenset[str] | None] = _supported_ops) -> int:
    common.saved_model_dir(args.dir)
    ops = denylist(args.op_denylist)
    supported = supported_ops()
    metas = _meta_graphs(args)
    results = [scan_meta_graph(m, ops, supported) for m in metas]
    if args.json:
        common.write_json({"meta_graphs": results})
    else:
        common.write("".join(_text(r, m) for r, m in zip(results, metas, strict=True)))
    return 0
