"""TF2 object-based checkpoints: the ``_CHECKPOINTABLE_OBJECT_GRAPH`` and object paths.

A TF2 checkpoint stores, besides the tensors, a ``TrackableObjectGraph``: node 0 is the
root (the ``tf.train.Checkpoint``), every edge has a local name, and every variable node
names the bundle key holding its value. A variable's *object path* is the escaped edge
names from the root joined with ``/`` and its key is ``<path>/.ATTRIBUTES/VARIABLE_VALUE``::

    view = ObjectGraphView(load_checkpoint("/tmp/ckpt-1"))
    view.paths()                 # {"model/dense/kernel": "model/dense/kernel/.ATTRIBUTES/...", ...}
    view["model/dense/kernel"]   # the array
    view["v/.OPTIMIZER_SLOT/opt/m"]   # a slot variable of optimizer "opt" for "v"

Escaping (FORMAT.md 6.1): every ``.`` of a local name becomes ``..`` and then every ``/``
becomes ``.S``, so a dict key ``"a.b/c"`` appears in paths as ``a..b.Sc``.

The writing half, :func:`serialize_object_graph`, numbers the objects of a live structure
breadth-first exactly like TensorFlow and produces the proto plus the tensors to write.
"""

from __future__ import annotations

import collections
import types
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from savedmodel_io.dtypes import DataType
from savedmodel_io.errors import DataLossError, InvalidArgumentError, NotFoundError
from savedmodel_io.protos import trackable_object_graph_pb2, wrappers_pb2
from savedmodel_io.train.checkpoint_reader import OBJECT_GRAPH_KEY
from savedmodel_io.train.variable import Variable

TrackableObjectGraph = trackable_object_graph_pb2.TrackableObjectGraph
TrackableObject = TrackableObjectGraph.TrackableObject

ESCAPE_CHAR = "."
OBJECT_ATTRIBUTES_NAME = ".ATTRIBUTES"
OPTIMIZER_SLOTS_NAME = ".OPTIMIZER_SLOT"
SERIALIZE_TO_TENSORS_NAME = ".TENSORS"
VARIABLE_VALUE = "VARIABLE_VALUE"
_VALUE_SUFFIX = f"/{OBJECT_ATTRIBUTES_NAME}/{VARIABLE_VALUE}"

# ------------------------------------------------------------------ names and keys


def escape_local_name(name: str) -> str:
    """TensorFlow's ``escape_local_name``: ``.`` → ``..``, then ``/`` → ``.S``."""
    return name.replace(".", "..").replace("/", ".S")


def unescape_local_name(escaped: str) -> str:
    """Inverse of :func:`escape_local_name`; a stray ``.`` is an InvalidArgumentError."""
    if "." not in escaped:
        return escaped
    out: list[str] = []
    i, n = 0, len(escaped)
    while i < n:
        c = escaped[i]
        if c != ".":
            out.append(c)
            i += 1
            continue
        nxt = escaped[i + 1] if i + 1 < n else ""
        if nxt == ".":
            out.append(".")
        elif nxt == "S":
            out.append("/")
        else:
            raise InvalidArgumentError(
                f"bad escape in object path component {escaped!r} at character {i}: "
                "'.' must be followed by '.' or 'S'")
        i += 2
    return "".join(out)


def join_object_path(names: Iterable[str]) -> str:
    """Escape each local name and join them: the object path TensorFlow uses in keys."""
    return "/".join(escape_local_name(n) for n in names)


def split_object_path(path: str) -> list[str]:
    """The unescaped local names of an object path (``""`` is the root: ``[]``)."""
    if path == "":
        return []
    return [unescape_local_name(p) for p in path.split("/")]


def checkpoint_key(object_path: str, attribute: str = VARIABLE_VALUE) -> str:
    """Bundle key of one attribute of the object at ``object_path`` (escaped path)."""
    suffix = "" if attribute == SERIALIZE_TO_TENSORS_NAME else escape_local_name(attribute)
    return f"{object_path}/{OBJECT_ATTRIBUTES_NAME}/{suffix}"


def slot_variable_path(variable_path: str, optimizer_path: str, slot_name: str) -> str:
    """Object path of a slot variable: ``<var>/.OPTIMIZER_SLOT/<optimizer>/<slot>``."""
    return (f"{variable_path}/{OPTIMIZER_SLOTS_NAME}/{optimizer_path}/"
            f"{escape_local_name(slot_name)}")


def path_to_key(path: str) -> str:
    """Object path → bundle key. A path that already holds ``.ATTRIBUTES`` is a key."""
    if OBJECT_ATTRIBUTES_NAME in path.split("/"):
        return path
    return path + _VALUE_SUFFIX


def key_to_path(key: str) -> str:
    """Bundle key → object path (inverse of :func:`path_to_key`).

    Only ``VARIABLE_VALUE`` keys are shortened; other attribute keys are their own path.
    """
    if key.endswith(_VALUE_SUFFIX):
        return key[: -len(_VALUE_SUFFIX)]
    return key


def parse_object_graph(data: bytes | np.ndarray | Any, path: str | None = None
                       ) -> TrackableObjectGraph:
    """Parse the serialized graph (bytes, or the scalar string array a reader returns)."""
    if isinstance(data, np.ndarray):
        data = data.reshape(-1)[0] if data.size == 1 else b""
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogateescape")
    graph = TrackableObjectGraph()
    try:
        graph.ParseFromString(bytes(data))
    except Exception as e:  # protobuf raises DecodeError or RuntimeError
        raise DataLossError(f"cannot parse the object graph: {e}", path=path,
                            key=OBJECT_GRAPH_KEY) from None
    n = len(graph.nodes)
    for i, node in enumerate(graph.nodes):
        for c in node.children:
            if not 0 <= c.node_id < n:
                raise DataLossError(
                    f"object graph node {i} has child {c.local_name!r} -> node "
                    f"{c.node_id}, but there are only {n} nodes", path=path,
                    key=OBJECT_GRAPH_KEY)
        for s in node.slot_variables:
            if not (0 <= s.original_variable_node_id < n and
                    0 <= s.slot_variable_node_id < n):
                raise DataLossError(
                    f"object graph node {i} has a slot variable reference out of range",
                    path=path, key=OBJECT_GRAPH_KEY)
    return graph


def node_paths(graph: TrackableObjectGraph) -> list[str | None]:
    """Canonical (breadth-first, first-found) object path of every node, by node id.

    Slot-variable nodes get their slot path; unreachable nodes get None.
    """
    n = len(graph.nodes)
    paths: list[str | None] = [None] * n
    if n == 0:
        return paths
    paths[0] = ""
    queue = collections.deque([0])
    while queue:
        i = queue.popleft()
        base = paths[i]
        for c in graph.nodes[i].children:
            if paths[c.node_id] is None:
                esc = escape_local_name(c.local_name)
                paths[c.node_id] = f"{base}/{esc}" if base else esc
                queue.append(c.node_id)
    for i, node in enumerate(graph.nodes):
        for s in node.slot_variables:
            var, opt = paths[s.original_variable_node_id], paths[i]
            if var is not None and opt is not None and paths[s.slot_variable_node_id] is None:
                paths[s.slot_variable_node_id] = slot_variable_path(var, opt, s.slot_name)
    return paths


# ------------------------------------------------------------------ reading


class ObjectGraphView(Mapping[str, np.ndarray]):
    """The object structure of a TF2 checkpoint: object path ↔ bundle key ↔ array.

    A read-only mapping of canonical object path to array (values are read on access).
    :meth:`get`/``[]`` also accept alias paths (another route to the same object, as
    Keras models with a tracked optimizer have) and full bundle keys.
    """

    def __init__(self, reader: Mapping[str, np.ndarray], *, path: str | None = None) -> None:
        self.reader = reader
        self.file = path if path is not None else getattr(reader, "prefix", None)
        if OBJECT_GRAPH_KEY not in reader:
            raise NotFoundError(
                f"not an object-based (TF2) checkpoint: it has no {OBJECT_GRAPH_KEY} "
                "tensor (a name-based checkpoint; read it by key)", path=self.file)
        self.graph = parse_object_graph(reader[OBJECT_GRAPH_KEY], self.file)
        self.node_paths = node_paths(self.graph)
        self._paths: dict[str, str] = {}
        self._key_node: dict[str, int] = {}
        for i, node in enumerate(self.graph.nodes):
            for a in node.attributes:
                self._paths[key_to_path(a.checkpoint_key)] = a.checkpoint_key
                self._key_node[a.checkpoint_key] = i

    # ---------------------------------------------------------- lookups

    def paths(self) -> dict[str, str]:
        """Canonical object path → bundle key, for every saved value, in node order."""
        return dict(self._paths)

    def keys_to_paths(self) -> dict[str, str]:
        return {k: p for p, k in self._paths.items()}

    def path_of_key(self, key: str) -> str:
        if key not in self._key_node:
            raise NotFoundError("no object of the object graph saves this key",
                                path=self.file, key=key)
        return key_to_path(key)

    def node_id(self, path: str) -> int:
        """Node id of the object at ``path`` (aliases and slot paths allowed)."""
        if path in self._paths:
            return self._key_node[self._paths[path]]
        parts = path.split("/") if path else []
        if OBJECT_ATTRIBUTES_NAME in parts:
            raise InvalidArgumentError(f"{path!r} names an attribute, not an object")
        if OPTIMIZER_SLOTS_NAME in parts:
            i = parts.index(OPTIMIZER_SLOTS_NAME)
            if len(parts) < i + 2:
                raise InvalidArgumentError(f"slot path {path!r} lacks a slot name")
            var = self._walk(parts[:i], path)
            opt = self._walk(parts[i + 1:-1], path)
            slot = unescape_local_name(parts[-1])
            for s in self.graph.nodes[opt].slot_variables:
                if s.original_variable_node_id == var and s.slot_name == slot:
                    return s.slot_variable_node_id
            raise NotFoundError(f"no slot {slot!r} of this variable in the optimizer",
                                path=self.file, key=path)
        return self._walk(parts, path)

    def _walk(self, parts: Sequence[str], whole: str) -> int:
        node = 0
        if not self.graph.nodes:
            raise NotFoundError("the object graph is empty", path=self.file)
        for depth, p in enumerate(parts):
            name = unescape_local_name(p)
            for c in self.graph.nodes[node].children:
                if c.local_name == name:
                    node = c.node_id
                    break
            else:
                have = sorted(c.local_name for c in self.graph.nodes[node].children)
                where = "/".join(parts[:depth]) or "<root>"
                raise NotFoundError(
                    f"object path {whole!r}: {where} has no child {name!r} "
                    f"(children: {have})", path=self.file)
        return node

    def key(self, path: str, attribute: str = VARIABLE_VALUE) -> str:
        """Bundle key for an object path (or the key itself)."""
        if path in self._paths:
            return self._paths[path]
        if path in self._key_node:
            return path
        parts = path.split("/")
        if OBJECT_ATTRIBUTES_NAME in parts:
            i = parts.index(OBJECT_ATTRIBUTES_NAME)
            path, attribute = "/".join(parts[:i]), unescape_local_name("/".join(parts[i + 1:]))
        node = self.graph.nodes[self.node_id(path)]
        esc = escape_local_name(attribute)
        for a in node.attributes:
            if a.name in (attribute, esc):
                return a.checkpoint_key
        names = [a.name for a in node.attributes]
        raise NotFoundError(f"object {path!r} saves no attribute {attribute!r} "
                            f"(it has {names})", path=self.file)

    def full_name(self, path: str) -> str:
        key = self.key(path)
        for a in self.graph.nodes[self._key_node[key]].attributes:
            if a.checkpoint_key == key:
                return a.full_name
        return ""  # pragma: no cover

    def children(self, path: str = "") -> dict[str, str]:
        """Local name → canonical path of each child of the object at ``path``."""
        node = self.graph.nodes[self.node_id(path)]
        out = {}
        for c in node.children:
            p = self.node_paths[c.node_id]
            out[c.local_name] = p if p is not None else ""
        return out

    def get_tensor(self, path: str) -> np.ndarray:
        return self.reader[self.key(path)]

    # ---------------------------------------------------------- mapping

    def __getitem__(self, path: str) -> np.ndarray:
        return self.get_tensor(path)

    def __contains__(self, path: object) -> bool:
        if not isinstance(path, str):
            return False
        try:
            self.key(path)
        except (NotFoundError, InvalidArgumentError):
            return False
        return True

    def __iter__(self) -> Iterator[str]:
        return iter(self._paths)

    def __len__(self) -> int:
        return len(self._paths)

    def __repr__(self) -> str:
        return (f"ObjectGraphView({self.file!r}, {len(self.graph.nodes)} objects, "
                f"{len(self)} values)")


# ------------------------------------------------------------------ the live structure


class Trackable:
    """Marker base: objects whose tracked attributes become children, in assignment order.

    Subclasses may override :meth:`_checkpoint_children` to list children explicitly.
    """

    def _checkpoint_children(self) -> list[tuple[str, Any]]:
        return [(k, v) for k, v in vars(self).items() if is_trackable(v)]


def _is_variable(obj: Any) -> bool:
    return isinstance(obj, Variable)


def is_trackable(obj: Any) -> bool:
    """True for what becomes a node: variables, arrays, containers, tracked objects."""
    return (isinstance(obj, (np.ndarray, dict, list, tuple, Trackable,
                             types.SimpleNamespace))
            or _is_variable(obj) or hasattr(obj, "_serialize_to_tensors")
            or hasattr(obj, "_checkpoint_children"))


def list_children(obj: Any) -> list[tuple[str, Any]]:
    """(local name, child) pairs of one object, in the order TensorFlow lists them."""
    if isinstance(obj, np.ndarray) or _is_variable(obj):
        return []
    if hasattr(obj, "_checkpoint_children"):
        return list(obj._checkpoint_children())
    if isinstance(obj, dict):
        out = []
        for k, v in obj.items():
            if is_trackable(v):
                if not isinstance(k, str):
                    raise InvalidArgumentError(
                        f"dict key {k!r} holds a value to checkpoint but is not a string")
                out.append((k, v))
        return out
    if isinstance(obj, (list, tuple)):
        return [(str(i), v) for i, v in enumerate(obj) if is_trackable(v)]
    if isinstance(obj, types.SimpleNamespace):
        return [(k, v) for k, v in vars(obj).items() if is_trackable(v)]
    return []


def _full_name(obj: Any) -> str:
    name = getattr(obj, "name", None)
    if isinstance(name, str) and name:
        return name[:-2] if name.endswith(":0") else name
    return "Variable"


def _variable_array(obj: Any) -> np.ndarray:
    return obj if isinstance(obj, np.ndarray) else np.asarray(obj.value)


def serialize_tensors(obj: Any) -> list[tuple[str, Any, DataType | None]]:
    """The (attribute name, value, dtype) triples one object saves (none for containers)."""
    if isinstance(obj, np.ndarray):
        return [(VARIABLE_VALUE, obj, None)]
    if isinstance(obj, Variable):
        return [(VARIABLE_VALUE, obj.value, obj.dtype)]
    fn = getattr(obj, "_serialize_to_tensors", None)
    if fn is not None and callable(fn):
        return [(k, v, None) for k, v in fn().items()]
    return []


def _has_slots(obj: Any) -> bool:
    return callable(getattr(obj, "get_slot_names", None)) and callable(
        getattr(obj, "get_slot", None))


@dataclass
class SerializedGraph:
    """What a save writes: the proto, tensors in data-file order, and the node objects."""

    proto: TrackableObjectGraph
    tensors: list[tuple[str, Any, DataType | None]] = field(default_factory=list)
    objects: list[Any] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)


def breadth_first(root: Any, children: Callable[[Any], list[tuple[str, Any]]] = list_children
                  ) -> tuple[list[Any], list[str], dict[int, int], list[list[tuple[str, int]]]]:
    """Objects in node-id order, their paths, id(obj) → node id, and child references."""
    objects: list[Any] = [root]
    paths: list[str] = [""]
    ids: dict[int, int] = {id(root): 0}
    refs: list[list[tuple[str, int]]] = []
    i = 0
    while i < len(objects):
        obj = objects[i]
        mine: list[tuple[str, int]] = []
        for name, child in children(obj):
            cid = ids.get(id(child))
            if cid is None:
                cid = len(objects)
                ids[id(child)] = cid
                objects.append(child)
                paths.append(f"{paths[i]}/{escape_local_name(name)}" if paths[i]
                             else escape_local_name(name))
            mine.append((name, cid))
        refs.append(mine)
        i += 1
    return objects, paths, ids, refs


def serialize_object_graph(root: Any) -> SerializedGraph:
    """Number the objects under ``root`` as TensorFlow does and build the object graph.

    Tensors come back in node-id order (per object its attributes in order); the caller
    writes them and then the serialized proto under :data:`OBJECT_GRAPH_KEY`.
    """
    objects, paths, ids, refs = breadth_first(root)
    n_regular = len(objects)
    slot_refs: dict[int, list[TrackableObject.SlotVariableReference]] = {}
    for opt_id in range(n_regular):
        opt = objects[opt_id]
        if not _has_slots(opt):
            continue
        for slot_name in opt.get_slot_names():
            for var_id in range(n_regular):
                try:
                    slot = opt.get_slot(objects[var_id], slot_name)
                except (AttributeError, KeyError):
                    slot = None
                if slot is None:
                    continue
                if id(slot) in ids:
                    raise InvalidArgumentError(
                        f"slot {slot_name!r} of {paths[var_id]!r} is also a regular "
                        "dependency; TensorFlow does not allow that")
                sid = len(objects)
                ids[id(slot)] = sid
                objects.append(slot)
                paths.append(slot_variable_path(paths[var_id], paths[opt_id], slot_name))
                refs.append([])
                slot_refs.setdefault(opt_id, []).append(
                    TrackableObject.SlotVariableReference(
                        original_variable_node_id=var_id, slot_name=slot_name,
                        slot_variable_node_id=sid))
    proto = TrackableObjectGraph()
    out = SerializedGraph(proto, objects=objects, paths=paths)
    for i, obj in enumerate(objects):
        node = proto.nodes.add()
        for name, cid in refs[i]:
            node.children.add(node_id=cid, local_name=name)
        node.slot_variables.extend(slot_refs.get(i, ()))
        for attr, value, dtype in serialize_tensors(obj):
            local = escape_local_name(attr)
            key = checkpoint_key(paths[i], local)
            node.attributes.add(name=local, full_name=_full_name(obj), checkpoint_key=key)
            out.tensors.append((key, value, dtype))
    fill_has_checkpoint_values(proto)
    return out


def fill_has_checkpoint_values(graph: TrackableObjectGraph) -> None:
    """Set ``has_checkpoint_values`` on every node as TensorFlow does (FORMAT 6.2)."""
    parents: dict[int, set[int]] = {}
    marked: set[int] = set()
    for i, node in enumerate(graph.nodes):
        if node.attributes or node.slot_variables or node.HasField("registered_saver"):
            marked.add(i)
        for c in node.children:
            parents.setdefault(c.node_id, set()).add(i)
    todo = list(marked)
    while todo:
        i = todo.pop()
        for p in parents.pop(i, ()):
            if p not in marked:
                marked.add(p)
                todo.append(p)
    for i, node in enumerate(graph.nodes):
        node.has_checkpoint_values.CopyFrom(wrappers_pb2.BoolValue(value=i in marked))


__all__ = [
    "OBJECT_GRAPH_KEY",
    "VARIABLE_VALUE",
    "ObjectGraphView",
    "SerializedGraph",
    "Trackable",
    "TrackableObjectGraph",
    "checkpoint_key",
    "escape_local_name",
    "fill_has_checkpoint_values",
    "join_object_path",
    "key_to_path",
    "list_children",
    "node_paths",
    "parse_object_graph",
    "path_to_key",
    "serialize_object_graph",
    "slot_variable_path",
    "split_object_path",
    "unescape_local_name",
]
