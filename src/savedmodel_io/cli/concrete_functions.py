"""The "Concrete Functions" part of ``saved_model_cli show --all`` for TF2 SavedModels.

TensorFlow loads the model and lists the functions attached to the root object: the
root's children whose nodes are ``tf.function``s or bare concrete functions, sorted by
name. Each function's traces ("options") are sorted by the name TensorFlow gives them on
load, ``__inference_<name>_<uid>``, compared as strings (so ``_150`` sorts before ``_76``).
The uids come from a process-wide counter that loading the function library advances in
a way fixed by the library itself; :func:`loaded_uids` replays it.
"""

from __future__ import annotations

import collections
import functools
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from savedmodel_io.cli import structured_value
from savedmodel_io.protos import (
    function_pb2,
    meta_graph_pb2,
    op_def_pb2,
    saved_model_pb2,
    saved_object_graph_pb2,
)

_INFERENCE_NAME = re.compile(r"^__inference_(.*)_\d+$")


@dataclass
class ConcreteOption:
    """One trace of a function: its positional and keyword argument structure."""

    name: str
    args: Any = None  # tuple of decoded values, or a list of keyword names
    kwargs: dict[str, Any] = field(default_factory=dict)


@dataclass
class RootFunction:
    name: str
    options: list[ConcreteOption]


def _gradient_op_type(node: Any) -> bytes | None:
    if "_gradient_op_type" in node.attr and node.op not in (
            "StatefulPartitionedCall", "PartitionedCall"):
        value: bytes = node.attr["_gradient_op_type"].s
        return value
    return None


def _function_deps(fdef: function_pb2.FunctionDef, names: set[str],
                   gradient_names: dict[bytes, str]) -> set[str]:
    deps: set[str] = set()
    for node in fdef.node_def:
        grad = _gradient_op_type(node)
        if node.op in names:
            deps.add(node.op)
        elif grad and grad in gradient_names:
            deps.add(gradient_names[grad])
        else:
            for value in node.attr.values():
                kind = value.WhichOneof("value")
                if kind == "func":
                    deps.add(value.func.name)
                elif kind == "list":
                    deps.update(f.name for f in value.list.func)
    return deps


def load_order(library: function_pb2.FunctionDefLibrary) -> dict[str, int]:
    """Position of each library function in TensorFlow's load order (its uid order).

    TensorFlow loads dependencies first, taking ready functions from the end of a list that
    starts in library order. Functions in a dependency cycle, which TensorFlow refuses, go
    last in library order.
    """
    names = {f.signature.name for f in library.function}
    gradient_names = {g.registered_op_type.encode(): g.gradient_func
                      for g in library.registered_gradients if g.registered_op_type}
    deps = {f.signature.name: _function_deps(f, names, gradient_names)
            for f in library.function}
    edges: dict[str, list[str]] = collections.defaultdict(list)
    in_count: dict[str, int] = collections.defaultdict(int)
    for fname, ds in deps.items():
        for dep in ds:
            edges[dep].append(fname)
            in_count[fname] += 1
    ready = [f.signature.name for f in library.function if in_count[f.signature.name] == 0]
    order: dict[str, int] = {}
    while ready:
        node = ready.pop()
        order.setdefault(node, len(order))
        for dest in edges[node]:
            in_count[dest] -= 1
            if not in_count[dest]:
                ready.append(dest)
    for f in library.function:
        order.setdefault(f.signature.name, len(order))
    return order


def _num_outputs(node: Any, op_defs: Callable[[], dict[str, op_def_pb2.OpDef]]) -> int:
    """Output count of a function's node: its ``_output_shapes`` (which TF2 saves on
    every function node), else what its OpDef says, else 1."""
    if "_output_shapes" in node.attr:
        return len(node.attr["_output_shapes"].list.shape)
    op = op_defs().get(node.op)
    if op is None:
        return 1
    n = 0
    for arg in op.output_arg:
        if arg.number_attr:
            n += node.attr[arg.number_attr].i
        elif arg.type_list_attr:
            n += len(node.attr[arg.type_list_attr].list.type)
        else:
            n += 1
    return n


def _op_defs(meta: meta_graph_pb2.MetaGraphDef) -> dict[str, op_def_pb2.OpDef]:
    defs = {}
    try:
        from savedmodel_io.graph.registry import op_def, registered_ops
    except ImportError:
        pass
    else:
        defs = {name: d for name in registered_ops() if (d := op_def(name)) is not None}
    defs.update({op.name: op for op in meta.meta_info_def.stripped_op_list.op})
    return defs


def loaded_uids(meta: meta_graph_pb2.MetaGraphDef) -> dict[str, int]:
    """The uid each library function gets in its new name when ``saved_model_cli`` loads
    the model, TensorFlow's process-wide counter starting from zero.

    The counter is taken by the graph the CLI loads into (1), the load's name suffix (1),
    each registered custom gradient (1), then for each function in load order: its
    function graph (1), every tensor created in it (one per input placeholder and one per
    output of each node), and finally the name itself.
    """
    library = meta.graph_def.library
    functions = {f.signature.name: f for f in library.function}
    op_defs = functools.cache(lambda: _op_defs(meta))  # only for nodes without shapes
    uid = 2 + sum(1 for g in library.registered_gradients if g.registered_op_type)
    out = {}
    order = load_order(library)
    for name in sorted(order, key=order.__getitem__):
        f = functions[name]
        uid += 1 + len(f.signature.input_arg) + sum(_num_outputs(n, op_defs)
                                                     for n in f.node_def)
        out[name] = uid
        uid += 1
    return out


def loaded_name(name: str, uids: dict[str, int]) -> str:
    """The name TensorFlow gives a library function when it loads it (what the CLI sorts
    the traces of a function by, as strings)."""
    m = _INFERENCE_NAME.search(name)
    base = m.group(1) if m else name
    return f"__inference_{base}_{uids.get(name, 0)}"


def _option(name: str, graph: saved_object_graph_pb2.SavedObjectGraph,
            keywords: Iterable[str] | None) -> ConcreteOption:
    saved = graph.concrete_functions.get(name)
    signature = None
    if saved is not None and saved.HasField("canonicalized_input_signature"):
        signature = structured_value.decode(saved.canonicalized_input_signature)
    if signature:
        args, kwargs = (signature if isinstance(signature, tuple) and len(signature) == 2
                        else (signature, {}))
        return ConcreteOption(name, args, dict(kwargs) if isinstance(kwargs, dict) else {})
    return ConcreteOption(name, list(keywords) if keywords else None)


def root_functions(saved_model: saved_model_pb2.SavedModel) -> list[RootFunction] | None:
    """The root's functions and their traces, as TensorFlow lists them; ``None`` when
    TensorFlow could not load the model (it needs exactly one MetaGraphDef)."""
    if len(saved_model.meta_graphs) != 1:
        return None
    meta = saved_model.meta_graphs[0]
    graph = meta.object_graph_def
    if not graph.nodes:
        return []
    uids = loaded_uids(meta)
    n = len(graph.nodes)
    out = []
    for ref in sorted(graph.nodes[0].children, key=lambda r: r.local_name):
        if not 0 <= ref.node_id < n:
            continue
        node = graph.nodes[ref.node_id]
        kind = node.WhichOneof("kind")
        if kind == "function":
            names = list(node.function.concrete_functions)
            keywords: list[str] | None = None
        elif kind == "bare_concrete_function":
            names = [node.bare_concrete_function.concrete_function_name]
            keywords = list(node.bare_concrete_function.argument_keywords)
        else:
            continue
        names.sort(key=lambda name: loaded_name(name, uids))
        out.append(RootFunction(ref.local_name, [_option(c, graph, keywords) for c in names]))
    return out


# ------------------------------------------------------------------ TensorFlow's text


def _quoted(value: Any) -> str:
    return f"'{value}'" if isinstance(value, str) else str(value)


def _args_text(arguments: Iterable[Any], kind: str, indent: int = 4) -> str:
    pad = "  " * indent
    lines: list[str] = []
    for index, element in enumerate(arguments, 1):
        lines.append(f"{pad}{kind} #{index}\n")
        if isinstance(element, str):
            lines.append(f"{pad}  {element}\n")
        elif isinstance(element, structured_value.TensorSpec):
            lines.append(f"{'  ' * (indent + 1)}{element.name}: {element!r}\n")
        elif isinstance(element, dict):
            items = "".join(f"'{k}': {_quoted(v)}, " for k, v in element.items())
            lines.append(f"{pad}  DType: dict\n{pad}  Value: {{{items}\b\b}}\n")
        elif isinstance(element, Iterable):
            try:
                values = list(element)
            except (TypeError, ValueError):  # unknown-rank shape, 0-d array
                values = []
            items = "".join(f"{_quoted(v)}, " for v in values)
            lines.append(f"{pad}  DType: {type(element).__name__}\n"
                         f"{pad}  Value: [{items}\b\b]\n")
        else:
            lines.append(f"{pad}  DType: {type(element).__name__}\n{pad}  Value: {element}\n")
    return "".join(lines)


def section_text(saved_model: saved_model_pb2.SavedModel) -> str:
    """The text ``saved_model_cli show --all`` prints after the meta graphs ("" for TF1)."""
    if not any(m.HasField("object_graph_def") for m in saved_model.meta_graphs):
        return ""
    functions = root_functions(saved_model)
    if functions is None:
        return "\nConcrete Functions: N/A (could not be listed due to unknown reasons)\n"
    parts = ["\nConcrete Functions:"]
    for fn in functions:
        parts.append(f"\n  Function Name: '{fn.name}'\n")
        for index, option in enumerate(fn.options, 1):
            if option.args:
                parts.append(f"    Option #{index}\n      Callable with:\n")
                parts.append(_args_text(option.args, "Argument"))
            if option.kwargs:
                parts.append(_args_text(option.kwargs, "Named Argument"))
    return "".join(parts)


def section_json(saved_model: saved_model_pb2.SavedModel) -> list[dict[str, Any]] | None:
    """The same facts for ``--json``: name, and per option its args and kwargs."""
    functions = root_functions(saved_model)
    if functions is None:
        return None
    return [{"name": fn.name,
             "options": [{"concrete_function": o.name,
                          "args": structured_value.to_json(list(o.args or [])),
                          "kwargs": structured_value.to_json(o.kwargs)}
                         for o in fn.options]}
            for fn in functions]


__all__ = ["ConcreteOption", "RootFunction", "load_order", "loaded_uids", "loaded_name",
           "root_functions", "section_text", "section_json"]
