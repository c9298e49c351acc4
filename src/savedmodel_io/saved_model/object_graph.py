"""Views of a TF2 SavedModel's ``SavedObjectGraph``: object paths, functions, variables.

An object's *path* is the names of the child edges from the root (node 0) joined with
``/``, e.g. ``model/dense/kernel``; the shortest path wins when an object is reachable in
several ways (breadth-first, children in stored order), as TensorFlow's checkpoint keys do.
The variables checkpoint of a SavedModel carries a ``TrackableObjectGraph`` whose node ids
coincide with the ``SavedObjectGraph``'s, which maps each variable node to its checkpoint key.
"""

from __future__ import annotations

from collections import deque

from savedmodel_io.protos import saved_object_graph_pb2, trackable_object_graph_pb2

SavedObjectGraph = saved_object_graph_pb2.SavedObjectGraph
TrackableObjectGraph = trackable_object_graph_pb2.TrackableObjectGraph

VARIABLE_VALUE_KEY = "VARIABLE_VALUE"


def escape_local_name(name: str) -> str:
    """TensorFlow's escaping of one path element in checkpoint keys: ``.`` -> ``..``,
    then ``/`` -> ``.S``."""
    return name.replace(".", "..").replace("/", ".S")


def node_paths(graph: SavedObjectGraph, *, escaped: bool = False) -> dict[int, str]:
    """Node id -> object path for every node reachable from the root (root -> ``""``).

    With ``escaped=True`` each element is escaped as in checkpoint keys."""
    n = len(graph.nodes)
    if n == 0:
        return {}
    paths: dict[int, str] = {0: ""}
    queue = deque([0])
    while queue:
        node_id = queue.popleft()
        prefix = paths[node_id]
        for ref in graph.nodes[node_id].children:
            child = ref.node_id
            if 0 <= child < n and child not in paths:
                name = escape_local_name(ref.local_name) if escaped else ref.local_name
                paths[child] = f"{prefix}/{name}" if prefix else name
                queue.append(child)
    return paths


def concrete_functions(graph: SavedObjectGraph
                       ) -> dict[str, saved_object_graph_pb2.SavedConcreteFunction]:
    """Function-library name -> SavedConcreteFunction, sorted by name."""
    return {name: graph.concrete_functions[name] for name in sorted(graph.concrete_functions)}


def functions(graph: SavedObjectGraph) -> dict[str, saved_object_graph_pb2.SavedFunction]:
    """Object path -> SavedFunction (a ``tf.function``; ``.concrete_functions`` lists its
    traces' names)."""
    out: dict[str, saved_object_graph_pb2.SavedFunction] = {}
    for node_id, path in node_paths(graph).items():
        node = graph.nodes[node_id]
        if node.WhichOneof("kind") == "function":
            out[path] = node.function
    return out


def variables_by_path(graph: SavedObjectGraph, checkpoint_graph: TrackableObjectGraph | None
                      ) -> dict[str, str]:
    """Object path of each variable node -> its key in the variables checkpoint.

    The key comes from the checkpoint's object graph (same node id, attribute
    ``VARIABLE_VALUE``); without one it is derived from the escaped path
    (``<path>/.ATTRIBUTES/VARIABLE_VALUE``), as TensorFlow names it.
    """
    paths = node_paths(graph)
    escaped = node_paths(graph, escaped=True)
    out: dict[str, str] = {}
    for node_id in sorted(paths, key=lambda i: paths[i]):
        if graph.nodes[node_id].WhichOneof("kind") != "variable":
            continue
        key = None
        if checkpoint_graph is not None and node_id < len(checkpoint_graph.nodes):
            for attr in checkpoint_graph.nodes[node_id].attributes:
                if attr.name == VARIABLE_VALUE_KEY:
                    key = attr.checkpoint_key
                    break
        if key is None:
            key = f"{escaped[node_id]}/.ATTRIBUTES/{VARIABLE_VALUE_KEY}"
        out[paths[node_id]] = key
    return out


__all__ = [
    "escape_local_name",
    "node_paths",
    "concrete_functions",
    "functions",
    "variables_by_path",
]
