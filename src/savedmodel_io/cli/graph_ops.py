"""The ops a GraphDef uses, and where each one sits: the graph or a library function.

Two views:

* :func:`tf_ops_used` is what ``saved_model_cli`` reports (``--list_ops``, ``--all``,
  ``scan``): op types of the graph's nodes, following function calls only through nodes
  whose op *is* a library function and through the ``f`` attribute of
  ``PartitionedCall``/``StatefulPartitionedCall``. Bodies reached any other way (``While``
  and ``If`` branches, ``MapDataset`` functions, functions nobody calls) are missed.
* :func:`op_locations` lists every node of the graph and of *every* library function,
  with the function it sits in and whether the graph can reach that function through any
  function reference (op name, ``func`` or ``list(func)`` attributes, nested ones too).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from savedmodel_io.protos import attr_value_pb2, graph_pb2, node_def_pb2

_CALL_OPS = ("PartitionedCall", "StatefulPartitionedCall")


@dataclass(frozen=True)
class OpLocation:
    """One node using ``op``: ``function`` is None for the main graph."""

    op: str
    node: str
    function: str | None
    reachable: bool

    def describe(self) -> str:
        if self.function is None:
            return f"node {self.node!r} of the graph"
        note = "" if self.reachable else " (not called from the graph)"
        return f"node {self.node!r} in function {self.function!r}{note}"


def _tf_walk(graph_def: graph_pb2.GraphDef) -> tuple[set[str], set[str]]:
    functions = {f.signature.name: f for f in graph_def.library.function}
    used: set[str] = set()
    pending: list[str] = []

    def mark(op: str) -> None:
        if op not in used and op in functions:
            pending.append(op)
        used.add(op)

    def visit(node: node_def_pb2.NodeDef) -> None:
        mark(node.op)
        if node.op in _CALL_OPS:
            # A call node without "f" counts as op "" in TensorFlow's view too.
            mark(node.attr["f"].func.name if "f" in node.attr else "")

    for node in graph_def.node:
        visit(node)
    while pending:
        for node in functions[pending.pop()].node_def:
            visit(node)
    return {op for op in used if op not in functions}, used & set(functions)


def tf_ops_used(graph_def: graph_pb2.GraphDef) -> set[str]:
    """Op types as TensorFlow's ``meta_graph.ops_used_by_graph_def`` collects them."""
    return _tf_walk(graph_def)[0]


def tf_functions_visited(graph_def: graph_pb2.GraphDef) -> set[str]:
    """The library functions whose nodes :func:`tf_ops_used` looks at."""
    return _tf_walk(graph_def)[1]


def _attr_functions(value: attr_value_pb2.AttrValue) -> Iterator[str]:
    kind = value.WhichOneof("value")
    if kind == "func":
        yield value.func.name
        for nested in value.func.attr.values():
            yield from _attr_functions(nested)
    elif kind == "list":
        for f in value.list.func:
            yield f.name
            for nested in f.attr.values():
                yield from _attr_functions(nested)


def referenced_functions(node: node_def_pb2.NodeDef, names: set[str] | frozenset[str]
                         ) -> set[str]:
    """Library functions a node refers to: its op, or any function-valued attribute."""
    out = {node.op} & names
    for value in node.attr.values():
        out.update(f for f in _attr_functions(value) if f in names)
    return out


def reachable_functions(graph_def: graph_pb2.GraphDef) -> set[str]:
    """Library functions the graph refers to, directly or through other functions."""
    functions = {f.signature.name: f for f in graph_def.library.function}
    names = frozenset(functions)
    seen: set[str] = set()
    pending = [f for node in graph_def.node for f in referenced_functions(node, names)]
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        for node in functions[name].node_def:
            pending.extend(referenced_functions(node, names) - seen)
    return seen


def op_locations(graph_def: graph_pb2.GraphDef) -> list[OpLocation]:
    """Every node of the graph and of every library function, calls to functions aside."""
    names = {f.signature.name for f in graph_def.library.function}
    reachable = reachable_functions(graph_def)
    out = [OpLocation(n.op, n.name, None, True) for n in graph_def.node if n.op not in names]
    for f in graph_def.library.function:
        fname = f.signature.name
        out.extend(OpLocation(n.op, n.name, fname, fname in reachable)
                   for n in f.node_def if n.op not in names)
    return out


def _node_name(tensor: str) -> str:
    name = tensor[1:] if tensor.startswith("^") else tensor
    return name.split(":", 1)[0]


def ops_needed(graph_def: graph_pb2.GraphDef, fetches: list[str]) -> set[str]:
    """Op types needed to compute ``fetches`` (tensor or node names): the nodes they
    depend on, through data and control inputs, and every op of the functions those
    nodes call, directly or not."""
    nodes = {n.name: n for n in graph_def.node}
    functions = {f.signature.name: f for f in graph_def.library.function}
    names = frozenset(functions)
    seen: set[str] = set()
    pending = [_node_name(f) for f in fetches]
    called: set[str] = set()
    while pending:
        name = pending.pop()
        node = nodes.get(name)
        if node is None or name in seen:
            continue
        seen.add(name)
        called |= referenced_functions(node, names)
        pending.extend(_node_name(i) for i in node.input)
    todo = list(called)
    while todo:
        for node in functions[todo.pop()].node_def:
            new = referenced_functions(node, names) - called
            called |= new
            todo.extend(new)
    ops = {nodes[n].op for n in seen}
    ops.update(n.op for f in called for n in functions[f].node_def)
    return ops - names


def all_ops(graph_def: graph_pb2.GraphDef) -> set[str]:
    """Op types used anywhere: the graph and every library function."""
    return {loc.op for loc in op_locations(graph_def)}


__all__ = ["OpLocation", "tf_ops_used", "tf_functions_visited", "ops_needed", "op_locations",
           "all_ops", "reachable_functions", "referenced_functions"]
