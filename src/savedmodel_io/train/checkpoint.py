"""``tf.train.Checkpoint`` without TensorFlow: object-based (TF2) checkpoints.

Give it a structure of variables and it writes the checkpoint TensorFlow would write for
the same structure of ``tf.Variable``s, object graph included, so TensorFlow restores it
with ``tf.train.Checkpoint(...).restore(path)``; and it restores TensorFlow's checkpoints
into the same kind of structure::

    model = Module(dense=Variable("kernel", np.zeros((4, 3), np.float32)))
    ckpt = Checkpoint(model=model, step=np.zeros((), np.int64))
    path = ckpt.save("/tmp/run/ckpt")      # /tmp/run/ckpt-1 and the state file
    ckpt.restore(path).assert_consumed()

Values may be :class:`Variable`\\ s, numpy arrays (saved like variables and restored in
place), dicts (children in key order), lists and tuples (children ``"0"``, ``"1"``...),
and objects whose attributes are tracked in assignment order (:class:`Module`,
``types.SimpleNamespace``), nested at will. :meth:`Checkpoint.from_paths` builds the
structure from object paths instead, e.g. to mirror a Keras model's checkpoint.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping
from typing import Any

import numpy as np

from savedmodel_io import fileio
from savedmodel_io.dtypes import DataType, from_numpy_dtype
from savedmodel_io.errors import InvalidArgumentError, NotFoundError, SavedModelIOError
from savedmodel_io.format.bundle_entry import index_filename, sharded_filename
from savedmodel_io.format.bundle_merge import merge_bundles
from savedmodel_io.format.bundle_writer import BundleWriter
from savedmodel_io.train import object_graph as og
from savedmodel_io.train.checkpoint_reader import CheckpointReader, load_checkpoint
from savedmodel_io.train.checkpoint_state import (
    remove_orphans,
    remove_temporaries,
    state_path,
    update_checkpoint_state,
)
from savedmodel_io.train.variable import Variable

SAVE_COUNTER = "save_counter"


# ------------------------------------------------------------------ live objects


class Module(og.Trackable):
    """A plain container like ``tf.Module``: attributes are children in assignment order.

    ``Module(dense=..., out=...)`` sets the keyword arguments in the order given.
    """

    def __init__(self, **attributes: Any) -> None:
        for k, v in attributes.items():
            setattr(self, k, v)

    def __repr__(self) -> str:
        names = ", ".join(k for k, _ in self._checkpoint_children())
        return f"{type(self).__name__}({names})"


class Optimizer(Module):
    """A module that also owns *slot variables* (TF1-optimizer style), e.g. Adam's m and v.

    Slots are saved under ``<variable path>/.OPTIMIZER_SLOT/<optimizer path>/<slot>`` and
    the optimizer node lists them in ``slot_variables``. Restoring creates missing slots.
    """

    def __init__(self, **attributes: Any) -> None:
        self._slots: dict[str, dict[int, tuple[Any, Any]]] = {}
        super().__init__(**attributes)

    def _checkpoint_children(self) -> list[tuple[str, Any]]:
        return [(k, v) for k, v in vars(self).items()
                if k != "_slots" and og.is_trackable(v)]

    def add_slot(self, var: Any, slot_name: str, value: Any = None) -> Any:
        """Create (or replace) slot ``slot_name`` of ``var``; zeros like ``var`` by default."""
        if value is None:
            value = np.zeros_like(og._variable_array(var))
        slot = value if isinstance(value, Variable) else _new_variable(
            _slot_full_name(var, slot_name), value)
        self._slots.setdefault(slot_name, {})[id(var)] = (var, slot)
        return slot

    def get_slot(self, var: Any, slot_name: str) -> Any:
        pair = self._slots.get(slot_name, {}).get(id(var))
        return None if pair is None else pair[1]

    def get_slot_names(self) -> list[str]:
        return sorted(self._slots)


def _slot_full_name(var: Any, slot_name: str) -> str:
    return f"{og._full_name(var)}/{slot_name}"


def _new_variable(name: str, value: Any) -> Variable:
    """A Variable named ``name``, or ``Variable`` if that is no valid TF name."""
    try:
        return Variable(name, np.array(value))
    except InvalidArgumentError:
        return Variable("Variable", np.array(value))


def _as_trackable(value: Any, what: str) -> Any:
    if og.is_trackable(value):
        return value
    if isinstance(value, (np.generic, int, float, bool)):
        return Variable("Variable", np.array(value))
    raise InvalidArgumentError(
        f"Checkpoint was given {what}={type(value).__name__}, which holds no variables "
        "(expected a Variable, numpy array, dict, list, tuple or Module)")


# ------------------------------------------------------------------ load status


class CheckpointLoadStatus:
    """What a restore matched; ``assert_consumed()`` checks that everything did."""

    def __init__(self, path: str, unresolved: list[str], unbound: list[str],
                 matched: int) -> None:
        self.path = path
        self.unresolved_paths = unresolved  # in the checkpoint, not in the structure
        self.unbound_objects = unbound      # in the structure, not in the checkpoint
        self.matched = matched

    def assert_consumed(self) -> CheckpointLoadStatus:
        """Every saved value was restored and every object of ours got a value."""
        if self.unresolved_paths:
            raise AssertionError(
                f"{self.path}: {len(self.unresolved_paths)} saved value(s) matched no object "
                f"of the structure: {self.unresolved_paths[:20]}")
        return self.assert_existing_objects_matched()

    def assert_existing_objects_matched(self) -> CheckpointLoadStatus:
        if self.unbound_objects:
            raise AssertionError(
                f"{self.path}: {len(self.unbound_objects)} object(s) of the structure were "
                f"not in the checkpoint: {self.unbound_objects[:20]}")
        return self

    def assert_nontrivial_match(self) -> CheckpointLoadStatus:
        if self.matched == 0:
            raise AssertionError(f"{self.path}: nothing of the structure was restored")
        return self

    def expect_partial(self) -> CheckpointLoadStatus:
        return self

    def run_restore_ops(self, session: Any = None) -> None:
        """Nothing to run: values are restored eagerly."""

    def initialize_or_restore(self, session: Any = None) -> None:
        """Nothing to run: values are restored eagerly."""

    def __repr__(self) -> str:
        return (f"CheckpointLoadStatus({self.path!r}, matched={self.matched}, "
                f"unresolved={len(self.unresolved_paths)}, "
                f"unbound={len(self.unbound_objects)})")


class InitializationOnlyStatus(CheckpointLoadStatus):
    """``restore(None)``: nothing restored, nothing to check but non-trivial matches."""

    def __init__(self) -> None:
        super().__init__("<no checkpoint>", [], [], 0)

    def assert_consumed(self) -> CheckpointLoadStatus:
        raise AssertionError("no checkpoint was restored (restore(None))")

    def assert_existing_objects_matched(self) -> CheckpointLoadStatus:
        raise AssertionError("no checkpoint was restored (restore(None))")


# ------------------------------------------------------------------ the Checkpoint


class Checkpoint(og.Trackable):
    """``tf.train.Checkpoint(**kwargs)``: children in sorted keyword order, then save_counter.

    Attributes assigned later (``ckpt.extra = ...``) are tracked after those.
    """

    def __init__(self, **kwargs: Any) -> None:
        object.__setattr__(self, "_children", {})
        object.__setattr__(self, "_save_counter", None)
        for k in sorted(kwargs):
            if k == SAVE_COUNTER:
                raise InvalidArgumentError("'save_counter' is reserved by Checkpoint")
            setattr(self, k, kwargs[k])

    # ---------------------------------------------------------- attributes

    def __setattr__(self, name: str, value: Any) -> None:
        if name.startswith("_") and name in vars(self):
            object.__setattr__(self, name, value)
            return
        if name == SAVE_COUNTER:
            raise InvalidArgumentError("'save_counter' is reserved by Checkpoint")
        self._children[name] = _as_trackable(value, name)

    def __getattr__(self, name: str) -> Any:
        children = self.__dict__.get("_children", {})
        if name in children:
            return children[name]
        raise AttributeError(name)

    def _checkpoint_children(self) -> list[tuple[str, Any]]:
        return list(self._children.items())

    @property
    def save_counter(self) -> Variable:
        """The int64 scalar variable counting saves (created on first use, like TF)."""
        return self._maybe_create_save_counter()

    def _maybe_create_save_counter(self) -> Variable:
        if self._save_counter is None:
            v = Variable(SAVE_COUNTER, np.zeros((), np.int64), trainable=False)
            object.__setattr__(self, "_save_counter", v)
            self._children[SAVE_COUNTER] = v
        sc: Variable = self._save_counter
        return sc

    # ---------------------------------------------------------- from paths

    @classmethod
    def from_paths(cls, values: Mapping[str, Any], *,
                   full_names: Mapping[str, str] | None = None) -> Checkpoint:
        """A Checkpoint whose structure is given by object paths (escaped, ``/``-joined).

        ``{"model/layer_with_weights-0/kernel": k, "v/.OPTIMIZER_SLOT/opt/m": m}`` gives
        the structure TensorFlow would save those keys from. Keys ending in
        ``/.ATTRIBUTES/VARIABLE_VALUE`` are accepted too. Children keep the order of
        first appearance; top-level names are sorted as ``Checkpoint(**kw)`` sorts them.
        ``full_names`` maps a path to the TF1 name recorded for it (default: the path).
        ``save_counter`` in ``values`` becomes the save counter.
        """
        full_names = dict(full_names or {})
        top: dict[str, Any] = {}
        leaves: dict[str, Any] = {}
        slots: list[tuple[str, list[str], list[str], str, Any]] = []
        counter: Any = None

        def node_at(parts: list[str], whole: str) -> _PathNode:
            here: dict[str, Any] = top
            node: _PathNode | None = None
            for depth, name in enumerate(parts):
                child = here.get(name)
                if child is None:
                    child = _PathNode()
                    here[name] = child
                if not isinstance(child, _PathNode):
                    raise InvalidArgumentError(
                        f"path {whole!r}: {'/'.join(parts[:depth + 1])!r} is a variable, "
                        "it cannot have children")
                node = child
                here = child._children
            assert node is not None
            return node

        for raw, value in values.items():
            path = og.key_to_path(raw)
            parts = path.split("/")
            if og.OBJECT_ATTRIBUTES_NAME in parts:
                raise InvalidArgumentError(
                    f"path {raw!r}: only VARIABLE_VALUE attributes can be given")
            if path == SAVE_COUNTER:
                counter = value
                continue
            if og.OPTIMIZER_SLOTS_NAME in parts:
                i = parts.index(og.OPTIMIZER_SLOTS_NAME)
                if i == 0 or len(parts) < i + 3:
                    raise InvalidArgumentError(
                        f"slot path {raw!r} must be <variable>/.OPTIMIZER_SLOT/<optimizer>/"
                        "<slot name>")
                slots.append((path, parts[:i], parts[i + 1:-1], parts[-1], value))
                continue
            names = og.split_object_path(path)
            if not names:
                raise InvalidArgumentError("the empty path (the root) cannot hold a value")
            var = value if isinstance(value, Variable) else _new_variable(
                full_names.get(path, path), value)
            if len(names) == 1:
                here: dict[str, Any] = top
            else:
                here = node_at(names[:-1], path)._children
            if names[-1] in here:
                raise InvalidArgumentError(f"path {raw!r} given twice or as a parent")
            here[names[-1]] = var
            leaves[path] = var
        for path, var_parts, opt_parts, slot, value in slots:
            var_path = "/".join(var_parts)
            if var_path not in leaves:
                raise InvalidArgumentError(
                    f"slot path {path!r}: its variable {var_path!r} is not among the paths")
            opt = node_at(og.split_object_path("/".join(opt_parts)), path)
            name = og.unescape_local_name(slot)
            sv = value if isinstance(value, Variable) else _new_variable(
                full_names.get(path, path), value)
            opt.add_slot(leaves[var_path], name, sv)
        ckpt = cls(**top)
        if counter is not None:
            ckpt.save_counter.assign(np.asarray(counter, np.int64))
        return ckpt

    def to_paths(self) -> dict[str, np.ndarray]:
        """Object path → current value of every variable in the structure (node order)."""
        sg = og.serialize_object_graph(self)
        return {og.key_to_path(k): np.asarray(v) for k, v, _ in sg.tensors}

    # ---------------------------------------------------------- writing

    def write(self, file_prefix: str | os.PathLike[str]) -> str:
        """Write a checkpoint at ``file_prefix`` (no numbering, no state file)."""
        prefix = os.fspath(file_prefix)
        sg = og.serialize_object_graph(self)
        if fileio.is_remote(prefix):
            # No rename there: write in place; the index, written last, commits.
            with BundleWriter(prefix) as w:
                for key, value, dtype in sg.tensors:
                    w.add(key, value, dtype)
                w.add(og.OBJECT_GRAPH_KEY,
                      np.array(sg.proto.SerializeToString(), dtype=object))
            return prefix
        temp_dir = prefix + "_temp"
        shard = sharded_filename(fileio.join(temp_dir, "part"), 0, 1)
        # What an interrupted write of this prefix left: its work area, index temporaries.
        fileio.remove_tree(temp_dir)
        remove_temporaries(index_filename(prefix))
        existed = fileio.exists(index_filename(prefix))
        try:
            fileio.make_dirs(temp_dir)
            with BundleWriter(shard) as w:
                for key, value, dtype in sg.tensors:
                    w.add(key, value, dtype)
                w.add(og.OBJECT_GRAPH_KEY,
                      np.array(sg.proto.SerializeToString(), dtype=object))
            merge_bundles([shard], prefix, delete_old_dirs=True)
        except BaseException:
            fileio.remove(index_filename(shard))
            fileio.remove(sharded_filename(shard + ".data", 0, 1))
            fileio.remove_dir(temp_dir)
            if not existed:  # data files already moved into place, with no index
                for f in fileio.glob(prefix + ".data-?????-of-?????"):
                    fileio.remove(f)
            raise
        return prefix

    def save(self, file_prefix: str | os.PathLike[str]) -> str:
        """Increment ``save_counter``, write ``<file_prefix>-<n>``, update the state file."""
        prefix = os.fspath(file_prefix)
        counter = self.save_counter
        old = np.array(counter.value, copy=True)
        counter.assign(old + 1)
        save_dir = fileio.dirname(prefix) or "."
        numbered = f"{prefix}-{int(counter.value)}"
        try:
            remove_temporaries(state_path(save_dir))
            remove_orphans(numbered)
            path = self.write(numbered)
        except BaseException:
            counter.assign(old)
            raise
        update_checkpoint_state(save_dir, path, [path], save_relative_paths=True)
        return path

    # ---------------------------------------------------------- reading

    def read(self, save_path: str | os.PathLike[str]) -> CheckpointLoadStatus:
        """Restore from a checkpoint written by ``write`` (or ``save``)."""
        return self._restore(os.fspath(save_path))

    def restore(self, save_path: str | os.PathLike[str] | None) -> CheckpointLoadStatus:
        """Restore values; ``save_path`` is a prefix, a checkpoint directory or a SavedModel.

        Like TF this creates ``save_counter`` first. Everything is checked before anything
        is assigned: a shape or dtype mismatch raises and leaves every value unchanged.
        """
        if save_path is None:
            return InitializationOnlyStatus()
        self._maybe_create_save_counter()
        return self._restore(os.fspath(save_path))

    def _restore(self, path: str) -> CheckpointLoadStatus:
        sm_vars = fileio.join(path, "variables", "variables")
        if fileio.is_dir(path) and fileio.exists(index_filename(sm_vars)):
            path = sm_vars
        with load_checkpoint(path) as reader:
            if og.OBJECT_GRAPH_KEY not in reader:
                return _restore_by_name(self, reader)
            return restore_object_graph(self, reader)


class _PathNode(Optimizer):
    """An object made up by :meth:`Checkpoint.from_paths`: ordered, arbitrary names."""

    def __init__(self) -> None:
        super().__init__()
        self._children: dict[str, Any] = {}

    def _checkpoint_children(self) -> list[tuple[str, Any]]:
        return list(self._children.items())

    def __getattr__(self, name: str) -> Any:
        children = self.__dict__.get("_children", {})
        if name in children:
            return children[name]
        raise AttributeError(name)


# ------------------------------------------------------------------ restoring


def _expected(obj: Any) -> tuple[tuple[int, ...], DataType] | None:
    if isinstance(obj, np.ndarray):
        if obj.dtype.kind in "OSU":
            return obj.shape, DataType.DT_STRING
        return obj.shape, from_numpy_dtype(obj.dtype)
    if isinstance(obj, Variable):
        return obj.shape, obj.dtype
    return None


class _Source:
    """A reader plus its shape and dtype maps (fetched once, not once per variable)."""

    def __init__(self, reader: CheckpointReader) -> None:
        self.reader = reader
        self.shapes = reader.get_variable_to_shape_map()
        self.dtypes = reader.get_variable_to_dtype_map()


def _check_value(obj: Any, path: str, key: str, src: _Source) -> np.ndarray:
    """Read ``key`` for the live object at ``path``; raise naming both if it does not fit."""
    reader = src.reader
    if key not in reader:
        raise NotFoundError(f"the object graph lists {key!r} for {path!r} but the bundle "
                            "has no such tensor", path=reader.prefix, key=key)
    dt = src.dtypes[key]
    shape = tuple(src.shapes[key])
    want = _expected(obj)
    if want is not None:
        wshape, wdtype = want
        if shape != wshape:
            raise InvalidArgumentError(
                f"cannot restore variable {path!r}: the checkpoint has shape {list(shape)}, "
                f"the variable has shape {list(wshape)}", path=reader.prefix, key=key)
        if dt != wdtype:
            raise InvalidArgumentError(
                f"cannot restore variable {path!r}: the checkpoint has dtype {dt.name}, "
                f"the variable has dtype {wdtype.name}", path=reader.prefix, key=key)
    return reader.get_tensor(key)


def _assign(obj: Any, value: np.ndarray) -> None:
    if isinstance(obj, np.ndarray):
        np.copyto(obj, value, casting="unsafe")
    else:
        obj.assign(value)


def restore_object_graph(root: Any, reader: CheckpointReader) -> CheckpointLoadStatus:
    """Match the checkpoint's object graph against ``root`` and restore what matches."""
    graph = og.parse_object_graph(reader[og.OBJECT_GRAPH_KEY], reader.prefix)
    if not graph.nodes:
        raise InvalidArgumentError("the checkpoint's object graph has no nodes",
                                   path=reader.prefix)
    ckpt_paths = og.node_paths(graph)
    src = _Source(reader)
    live: dict[int, Any] = {0: root}
    queue = [0]
    while queue:
        nid = queue.pop(0)
        children = dict(og.list_children(live[nid]))
        for ref in graph.nodes[nid].children:
            if ref.node_id in live or ref.local_name not in children:
                continue
            live[ref.node_id] = children[ref.local_name]
            queue.append(ref.node_id)
    # Slot variables: created when missing, but only after everything is checked.
    new_slots: list[tuple[Any, Any, str, int]] = []
    for nid in list(live):
        opt = live[nid]
        for s in graph.nodes[nid].slot_variables:
            var = live.get(s.original_variable_node_id)
            if var is None or s.slot_variable_node_id in live:
                continue
            slot = opt.get_slot(var, s.slot_name) if og._has_slots(opt) else None
            if slot is not None:
                live[s.slot_variable_node_id] = slot
            elif callable(getattr(opt, "add_slot", None)):
                new_slots.append((opt, var, s.slot_name, s.slot_variable_node_id))
    # Check and read every value first.
    pending: list[tuple[Any, np.ndarray]] = []
    custom: list[tuple[Any, dict[str, np.ndarray]]] = []
    restored: set[int] = set()
    consumed: set[int] = set()
    for nid, obj in live.items():
        attrs = graph.nodes[nid].attributes
        if not attrs:
            continue
        path = ckpt_paths[nid] or ""
        if isinstance(obj, (np.ndarray, Variable)):
            for a in attrs:
                if a.name == og.VARIABLE_VALUE:
                    pending.append((obj, _check_value(obj, path, a.checkpoint_key, src)))
                    restored.add(id(obj))
                    consumed.add(nid)
        elif callable(getattr(obj, "_restore_from_tensors", None)):
            tensors = {og.unescape_local_name(a.name):
                       _check_value(None, path, a.checkpoint_key, src) for a in attrs}
            custom.append((obj, tensors))
            restored.add(id(obj))
            consumed.add(nid)
    slot_values = []
    for opt, var, name, sid in new_slots:
        attrs = graph.nodes[sid].attributes
        path = ckpt_paths[sid] or ""
        for a in attrs:
            if a.name == og.VARIABLE_VALUE:
                slot_values.append((opt, var, name, sid,
                                    _check_value(None, path, a.checkpoint_key, src)))
    # Commit.
    for obj, value in pending:
        _assign(obj, value)
    for obj, tensors in custom:
        obj._restore_from_tensors(tensors)
    for opt, var, name, sid, value in slot_values:
        slot = opt.add_slot(var, name, _new_variable(_slot_full_name(var, name), value))
        live[sid] = slot
        restored.add(id(slot))
        consumed.add(sid)
    # Status.
    unresolved = [ckpt_paths[i] or f"<node {i}>" for i, n in enumerate(graph.nodes)
                  if n.attributes and i not in consumed]
    sg = og.serialize_object_graph(root)
    unbound = [sg.paths[i] for i, obj in enumerate(sg.objects)
               if og.serialize_tensors(obj) and id(obj) not in restored]
    return CheckpointLoadStatus(reader.prefix, unresolved, unbound, len(restored))


def _restore_by_name(root: Any, reader: CheckpointReader) -> CheckpointLoadStatus:
    """A name-based checkpoint (no object graph): match variables by their TF1 names."""
    sg = og.serialize_object_graph(root)
    src = _Source(reader)
    pending = []
    unbound = []
    for path, obj in zip(sg.paths, sg.objects, strict=True):
        if not isinstance(obj, (np.ndarray, Variable)):
            continue
        name = og._full_name(obj)
        if name in reader:
            pending.append((obj, _check_value(obj, path, name, src)))
        else:
            unbound.append(path)
    for obj, value in pending:
        _assign(obj, value)
    return CheckpointLoadStatus(reader.prefix, [], unbound, len(pending))


def remove_checkpoint(prefix: str) -> None:
    """Delete ``prefix.index`` and its data files (best effort)."""
    fileio.remove(index_filename(prefix))
    for f in fileio.glob(prefix + ".data-?????-of-?????"):
        fileio.remove(f)
    temp = prefix + "_temp"
    if fileio.is_dir(temp):
        with contextlib.suppress(SavedModelIOError):
            fileio.remove_tree(temp)


__all__ = [
    "Checkpoint",
    "CheckpointLoadStatus",
    "InitializationOnlyStatus",
    "Module",
    "Optimizer",
    "remove_checkpoint",
    "restore_object_graph",
]
