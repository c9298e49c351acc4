"""The MetaGraphDef a TF1 ``tf.compat.v1.train.Saver`` exports, built without TensorFlow.

The graph holds the variables (``VariableV2`` + ``Assign``/initial value ``Const``/``read``
for reference variables; ``VarHandleOp`` + ``AssignVariableOp``/``ReadVariableOp`` for
resource variables) and the ``save/`` subgraph (FORMAT.md 5.2 unsharded, 5.3 sharded) with
the node names and attributes TensorFlow 2.21 gives them, so that
``tf.compat.v1.train.import_meta_graph`` and ``Saver.restore`` work on it, plus the
``SaverDef``, the ``variables``/``trainable_variables`` collections and ``meta_info_def``.

``add_variable`` and ``add_save_subgraph`` write these nodes into any :class:`NodeSink`: a
fresh GraphDef here, or a ``savedmodel_io.graph.Graph``, which appends them to its ops.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Protocol, cast

import numpy as np
from google.protobuf import text_format

from savedmodel_io import dtypes, tensor_proto
from savedmodel_io.dtypes import DataType
from savedmodel_io.protos import (
    attr_value_pb2,
    graph_pb2,
    meta_graph_pb2,
    node_def_pb2,
    op_def_pb2,
    saver_pb2,
    tensor_pb2,
    types_pb2,
    variable_pb2,
)
from savedmodel_io.train.variable import SaveSliceInfo, Variable

TENSORFLOW_VERSION = "2.21.0"
TENSORFLOW_GIT_VERSION = "v2.21.0-rc1-5-ga481b10260d"
GRAPH_PRODUCER = 2474  # GraphDef versions.producer of TF 2.21
CPU0 = "/device:CPU:0"
ANY_CPU = "/device:CPU:*"
# Initial-value Consts with more elements than this hold a compact zero fill instead of
# the value (the .meta is rewritten on every save and must stay small).
MAX_INLINE_INITIAL_VALUE = 1 << 16


@dataclass(frozen=True)
class SaveItem:
    """One tensor the saver writes: checkpoint key, variable, and for a partition of a
    partitioned variable where it sits in the whole."""

    key: str
    var: Variable
    info: SaveSliceInfo | None = None

    @property
    def spec(self) -> str:
        """The ``shape_and_slices`` string: ``""`` or e.g. ``"5 2 0,3:0,2"``."""
        return self.info.spec if self.info is not None else ""


# ------------------------------------------------------------------ attr helpers


def _shape(shape: Sequence[int] | None) -> attr_value_pb2.AttrValue:
    a = attr_value_pb2.AttrValue()
    tensor_proto.shape_to_proto(shape, a.shape)
    return a


def _shapes(shapes: Iterable[Sequence[int] | None]) -> attr_value_pb2.AttrValue:
    a = attr_value_pb2.AttrValue()
    a.list.SetInParent()
    for s in shapes:
        tensor_proto.shape_to_proto(s, a.list.shape.add())
    return a


def _pb_type(dt: DataType) -> types_pb2.DataType:
    return cast("types_pb2.DataType", int(dt))


def _type(dt: DataType) -> attr_value_pb2.AttrValue:
    return attr_value_pb2.AttrValue(type=_pb_type(dt))


def _types(dts: Iterable[DataType]) -> attr_value_pb2.AttrValue:
    a = attr_value_pb2.AttrValue()
    a.list.SetInParent()
    a.list.type.extend(_pb_type(d) for d in dts)
    return a


def _s(v: str) -> attr_value_pb2.AttrValue:
    return attr_value_pb2.AttrValue(s=v.encode("utf-8"))


def _b(v: bool) -> attr_value_pb2.AttrValue:
    return attr_value_pb2.AttrValue(b=v)


def _i(v: int) -> attr_value_pb2.AttrValue:
    return attr_value_pb2.AttrValue(i=v)


def _class(name: str) -> attr_value_pb2.AttrValue:
    a = attr_value_pb2.AttrValue()
    a.list.s.append(f"loc:@{name}".encode())
    return a


def _tensor(p: tensor_pb2.TensorProto) -> attr_value_pb2.AttrValue:
    a = attr_value_pb2.AttrValue()
    a.tensor.CopyFrom(p)
    return a


def _initial_value_proto(var: Variable) -> tensor_pb2.TensorProto:
    if var.value.size <= MAX_INLINE_INITIAL_VALUE:
        return tensor_proto.from_numpy(var.value, var.dtype)
    # A fill: one zero element; TensorFlow repeats the last value over the whole shape.
    one = np.empty((1,), dtype=object) if var.dtype == DataType.DT_STRING else np.zeros(
        (1,), dtype=dtypes.as_numpy_dtype(var.dtype))
    if var.dtype == DataType.DT_STRING:
        one[0] = b""
    p = tensor_proto.from_numpy(one, var.dtype, use_tensor_content=False)
    p.ClearField("tensor_shape")
    tensor_proto.shape_to_proto(var.shape, p.tensor_shape)
    return p


# ------------------------------------------------------------------ graph building


class NodeSink(Protocol):
    """Where the variable and saver nodes go: a plain GraphDef (:class:`GraphDefSink`) or a
    ``savedmodel_io.graph.Graph`` (which appends them to its own operations)."""

    def unique(self, name: str) -> str:
        """TensorFlow's name uniquification: ``name``, ``name_1``, ``name_2``..."""

    def add(self, name: str, op: str, inputs: Sequence[str], device: str,
            attrs: dict[str, attr_value_pb2.AttrValue]) -> str:
        """Append one node with exactly these attributes (``_output_shapes`` included when
        the op has outputs); returns its name."""


class GraphDefSink:
    """A :class:`NodeSink` that fills a fresh GraphDef."""

    def __init__(self) -> None:
        self.graph = graph_pb2.GraphDef()
        self.graph.versions.producer = GRAPH_PRODUCER
        self._used: set[str] = set()

    def unique(self, name: str) -> str:
        if name.lower() not in self._used:
            return name
        i = 1
        while f"{name}_{i}".lower() in self._used:
            i += 1
        return f"{name}_{i}"

    def add(self, name: str, op: str, inputs: Sequence[str], device: str,
            attrs: dict[str, attr_value_pb2.AttrValue]) -> str:
        n: node_def_pb2.NodeDef = self.graph.node.add()
        n.name = name
        n.op = op
        n.input.extend(inputs)
        if device:
            n.device = device
        for k in sorted(attrs):
            n.attr[k].CopyFrom(attrs[k])
        self._used.add(name.lower())
        return name


def _node(g: NodeSink, name: str, op: str, inputs: Sequence[str] = (), *, device: str = "",
          **attrs: attr_value_pb2.AttrValue) -> str:
    return g.add(name, op, inputs, device, attrs)


def _const(g: NodeSink, name: str, value: tensor_pb2.TensorProto, *, device: str = "",
           shape: Sequence[int] | None = None, **extra: attr_value_pb2.AttrValue) -> str:
    if shape is None:
        shape = [d.size for d in value.tensor_shape.dim]
    attrs = dict(extra, _output_shapes=_shapes([shape]),
                 dtype=_type(DataType(value.dtype)), value=_tensor(value))
    return g.add(name, "Const", (), device, attrs)


def _strings(values: Sequence[str]) -> tensor_pb2.TensorProto:
    arr = np.empty((len(values),), dtype=object)
    arr[:] = [v.encode("utf-8") for v in values]
    return tensor_proto.from_numpy(arr, DataType.DT_STRING)


def _scalar_string(v: str) -> tensor_pb2.TensorProto:
    return tensor_proto.from_numpy(np.array(v.encode("utf-8"), dtype=object),
                                   DataType.DT_STRING)


def _scalar_int32(v: int) -> tensor_pb2.TensorProto:
    return tensor_proto.from_numpy(np.int32(v), DataType.DT_INT32)


def add_variable(g: NodeSink, var: Variable, info: SaveSliceInfo | None = None, *,
                 mark_initializer: bool = True) -> variable_pb2.VariableDef:
    """Append ``var``'s nodes as TF1 builds them; returns its VariableDef.

    ``mark_initializer`` gives the ``<var>/Assign`` initializer the
    ``_has_manual_control_dependencies`` attribute TensorFlow adds once it is a control
    input (as in graphs that made ``global_variables_initializer``).
    """
    n, dt, shape = var.name, var.dtype, list(var.shape)
    manual = {"_has_manual_control_dependencies": _b(True)} if mark_initializer else {}
    vd = variable_pb2.VariableDef()
    vd.variable_name = f"{n}:0"
    vd.initializer_name = f"{n}/Assign"
    if var.resource:
        init = _const(g, f"{n}/Initializer/initial_value", _initial_value_proto(var),
                      shape=shape, _class=_class(n))
        allowed = attr_value_pb2.AttrValue()
        allowed.list.SetInParent()
        _node(g, n, "VarHandleOp", _class=_class(n), _output_shapes=_shapes([[]]),
              allowed_devices=allowed, container=_s(""), debug_name=_s(f"{n}/"),
              dtype=_type(dt), shape=_shape(shape), shared_name=_s(n))
        _node(g, f"{n}/IsInitialized/VarIsInitializedOp", "VarIsInitializedOp", [n],
              _output_shapes=_shapes([[]]))
        g.add(f"{n}/Assign", "AssignVariableOp", [n, init], "",
              dict(manual, dtype=_type(dt), validate_shape=_b(False)))
        _node(g, f"{n}/Read/ReadVariableOp", "ReadVariableOp", [n],
              _output_shapes=_shapes([shape]), dtype=_type(dt))
        vd.snapshot_name = f"{n}/Read/ReadVariableOp:0"
        vd.is_resource = True
    else:
        init = _const(g, f"{n}/initial_value", _initial_value_proto(var), shape=shape)
        _node(g, n, "VariableV2", _output_shapes=_shapes([shape]), container=_s(""),
              dtype=_type(dt), shape=_shape(shape), shared_name=_s(""))
        g.add(f"{n}/Assign", "Assign", [n, init], "",
              dict(manual, T=_type(dt), _class=_class(n), _output_shapes=_shapes([shape]),
                   use_locking=_b(True), validate_shape=_b(True)))
        _node(g, f"{n}/read", "Identity", [n], T=_type(dt), _class=_class(n),
              _output_shapes=_shapes([shape]))
        vd.snapshot_name = f"{n}/read:0"
    vd.initial_value_name = f"{init}:0"
    vd.trainable = var.trainable
    if info is not None:
        ssi = vd.save_slice_info_def
        ssi.full_name = info.full_name
        ssi.full_shape.extend(info.full_shape)
        ssi.var_offset.extend(info.var_offset)
        ssi.var_shape.extend(info.var_shape)
    return vd


def _save_input(item: SaveItem) -> str:
    """The graph tensor SaveV2 reads for an item (what TF 2.21 wires in)."""
    v = item.var
    if v.resource:
        return f"{v.name}/Read/ReadVariableOp"
    return f"{v.name}/read" if item.info is not None else v.name


def _restore_ops(g: NodeSink, scope: str, items: Sequence[SaveItem], filename: str,
                 device: str) -> list[str]:
    """RestoreV2 for all items and one assign per item; returns the assign op names."""
    names = _const(g, f"{scope}/RestoreV2/tensor_names", _strings([i.key for i in items]),
                   device=CPU0)
    sas = _const(g, f"{scope}/RestoreV2/shape_and_slices", _strings([i.spec for i in items]),
                 device=CPU0)
    restore = _node(g, f"{scope}/RestoreV2", "RestoreV2", [filename, names, sas], device=CPU0,
                    _output_shapes=_shapes([None] * len(items)),
                    dtypes=_types(i.var.dtype for i in items))
    assigns = []
    for k, item in enumerate(items):
        out = restore if k == 0 else f"{restore}:{k}"
        v = item.var
        if v.resource:
            ident = _node(g, g.unique(f"{scope}/Identity"), "Identity", [out],
                          T=_type(v.dtype), _output_shapes=_shapes([None]))
            assigns.append(_node(g, g.unique(f"{scope}/AssignVariableOp"), "AssignVariableOp",
                                 [v.name, ident], _has_manual_control_dependencies=_b(True),
                                 dtype=_type(v.dtype), validate_shape=_b(False)))
        else:
            assigns.append(_node(g, g.unique(f"{scope}/Assign"), "Assign", [v.name, out],
                                 T=_type(v.dtype), _class=_class(v.name),
                                 _has_manual_control_dependencies=_b(True),
                                 _output_shapes=_shapes([list(v.shape)]),
                                 use_locking=_b(True), validate_shape=_b(True)))
    del device
    return assigns


def _save_v2(g: NodeSink, scope: str, items: Sequence[SaveItem], filename: str,
             device: str) -> str:
    names = _const(g, f"{scope}/SaveV2/tensor_names", _strings([i.key for i in items]),
                   device=device)
    sas = _const(g, f"{scope}/SaveV2/shape_and_slices", _strings([i.spec for i in items]),
                 device=device)
    return _node(g, f"{scope}/SaveV2", "SaveV2",
                 [filename, names, sas, *(_save_input(i) for i in items)], device=device,
                 _has_manual_control_dependencies=_b(True),
                 dtypes=_types(i.var.dtype for i in items))


def saver_scope(variables: Sequence[Variable], name: str | None = None) -> str:
    """``save`` (or the given name), uniquified against the variables' names as TF does."""
    base = name or "save"
    taken = {v.name.split("/")[0].lower() for v in variables}
    if base.lower() not in taken:
        return base
    i = 1
    while f"{base}_{i}".lower() in taken:
        i += 1
    return f"{base}_{i}"


def build_graph(variables: Sequence[Variable], items: Sequence[SaveItem], *,
                sharded: bool = False, filename: str = "model", scope: str = "save",
                max_to_keep: int = 5, keep_checkpoint_every_n_hours: float = 10000.0,
                ) -> tuple[graph_pb2.GraphDef, saver_pb2.SaverDef,
                           list[variable_pb2.VariableDef]]:
    """The GraphDef, SaverDef and VariableDefs of ``variables`` saved as ``items``."""
    g = GraphDefSink()
    infos = {id(i.var): i.info for i in items}
    vdefs = [add_variable(g, v, infos.get(id(v))) for v in variables]
    sd = add_save_subgraph(g, items, sharded=sharded, filename=filename, scope=scope,
                           max_to_keep=max_to_keep,
                           keep_checkpoint_every_n_hours=keep_checkpoint_every_n_hours)
    return g.graph, sd, vdefs


def add_save_subgraph(g: NodeSink, items: Sequence[SaveItem], *, sharded: bool = False,
                      filename: str = "model", scope: str = "save", max_to_keep: int = 5,
                      keep_checkpoint_every_n_hours: float = 10000.0) -> saver_pb2.SaverDef:
    """Append TF1 Saver's save/restore nodes for ``items`` under ``scope``; the variables'
    nodes must be in ``g`` already. Returns the SaverDef."""
    s = scope
    _node(g, f"{s}/filename/input", "Const", _output_shapes=_shapes([[]]),
          dtype=_type(DataType.DT_STRING), value=_tensor(_scalar_string(filename)))
    _node(g, f"{s}/filename", "PlaceholderWithDefault", [f"{s}/filename/input"],
          _output_shapes=_shapes([[]]), dtype=_type(DataType.DT_STRING), shape=_shape([]))
    const = _node(g, f"{s}/Const", "PlaceholderWithDefault", [f"{s}/filename"],
                  _output_shapes=_shapes([[]]), dtype=_type(DataType.DT_STRING),
                  shape=_shape([]))
    sd = saver_pb2.SaverDef(filename_tensor_name=f"{const}:0",
                            restore_op_name=f"{s}/restore_all",
                            max_to_keep=max_to_keep, sharded=sharded,
                            keep_checkpoint_every_n_hours=keep_checkpoint_every_n_hours,
                            version=saver_pb2.SaverDef.V2)
    st = _type(DataType.DT_STRING)
    if not sharded:
        save = _save_v2(g, s, items, const, "")
        _node(g, f"{s}/control_dependency", "Identity", [const, f"^{save}"], T=st,
              _class=_class(const), _output_shapes=_shapes([[]]))
        sd.save_tensor_name = f"{s}/control_dependency:0"
        assigns = _restore_ops(g, s, items, const, "")
        _node(g, f"{s}/restore_all", "NoOp", [f"^{a}" for a in assigns])
        return sd
    # Sharded: one shard (everything lives on this process's CPU).
    match = _node(g, f"{s}/StaticRegexFullMatch", "StaticRegexFullMatch", [const],
                  device=ANY_CPU, _output_shapes=_shapes([[]]), pattern=_s("^s3://.*"))
    c1 = _const(g, g.unique(f"{s}/Const"), _scalar_string(".part"), device=ANY_CPU)
    c2 = _const(g, g.unique(f"{s}/Const"), _scalar_string("_temp/part"), device=ANY_CPU)
    sel = _node(g, f"{s}/Select", "Select", [match, c1, c2], device=ANY_CPU, T=st,
                _output_shapes=_shapes([[]]))
    join = _node(g, f"{s}/StringJoin", "StringJoin", [const, sel], device=ANY_CPU, N=_i(2),
                 _output_shapes=_shapes([[]]), separator=_s(""))
    num = _const(g, f"{s}/num_shards", _scalar_int32(1))
    shard = _const(g, f"{s}/ShardedFilename/shard", _scalar_int32(0), device=CPU0)
    fname = _node(g, f"{s}/ShardedFilename", "ShardedFilename", [join, shard, num],
                  device=CPU0, _output_shapes=_shapes([[]]))
    save = _save_v2(g, s, items, fname, CPU0)
    dep = _node(g, f"{s}/control_dependency", "Identity", [fname, f"^{save}"], device=CPU0,
                T=st, _class=_class(fname), _has_manual_control_dependencies=_b(True),
                _output_shapes=_shapes([[]]))
    pack = _node(g, f"{s}/MergeV2Checkpoints/checkpoint_prefixes", "Pack", [fname, f"^{dep}"],
                 device=CPU0, N=_i(1), T=st, _output_shapes=_shapes([[1]]), axis=_i(0))
    merge = _node(g, f"{s}/MergeV2Checkpoints", "MergeV2Checkpoints", [pack, const],
                  device=CPU0, _has_manual_control_dependencies=_b(True),
                  allow_missing_files=_b(False), delete_old_dirs=_b(True))
    ident = _node(g, f"{s}/Identity", "Identity", [const, f"^{dep}", f"^{merge}"], device=CPU0,
                  T=st, _output_shapes=_shapes([[]]))
    sd.save_tensor_name = f"{ident}:0"
    assigns = _restore_ops(g, s, items, const, CPU0)
    rs = _node(g, f"{s}/restore_shard", "NoOp", [f"^{a}" for a in assigns],
               _has_manual_control_dependencies=_b(True))
    _node(g, f"{s}/restore_all", "NoOp", [f"^{rs}"])
    return sd


# ------------------------------------------------------------------ OpDefs


@functools.lru_cache(maxsize=1)
def saver_op_defs() -> dict[str, op_def_pb2.OpDef]:
    """The OpDefs TF 2.21 lists for Saver graphs (from ``saver_opdefs.pbtxt``)."""
    text = resources.files("savedmodel_io.train").joinpath("saver_opdefs.pbtxt").read_text(
        encoding="utf-8")
    ops = op_def_pb2.OpList()
    text_format.Parse(text, ops)
    return {op.name: op for op in ops.op}


def strip_default_attrs(graph: graph_pb2.GraphDef) -> None:
    """Drop attributes equal to their OpDef default (``strip_default_attrs=True``)."""
    defs = saver_op_defs()
    for n in graph.node:
        op = defs.get(n.op)
        if op is None:
            continue
        for a in op.attr:
            if a.HasField("default_value") and a.name in n.attr and (
                    n.attr[a.name].SerializeToString(deterministic=True)
                    == a.default_value.SerializeToString(deterministic=True)):
                del n.attr[a.name]


def sort_control_inputs(graph: graph_pb2.GraphDef) -> None:
    """Put each node's control inputs in name order, as TensorFlow's C++ ``ToGraphDef``
    writes them. (Nodes keep them in creation order; ``tf.compat.v1.train.export_meta_graph``
    with ``clear_devices=True`` copies Python NodeDefs and keeps that order.)"""
    for n in graph.node:
        data = [i for i in n.input if not i.startswith("^")]
        controls = sorted(i for i in n.input if i.startswith("^"))
        if len(controls) > 1:
            del n.input[:]
            n.input.extend(data + controls)


def build_meta_graph(variables: Sequence[Variable], items: Sequence[SaveItem], *,
                     sharded: bool = False, filename: str = "model", scope: str = "save",
                     max_to_keep: int = 5, keep_checkpoint_every_n_hours: float = 10000.0,
                     strip_defaults: bool = False, clear_devices: bool = False,
                     ) -> meta_graph_pb2.MetaGraphDef:
    """The MetaGraphDef TF1's ``Saver.export_meta_graph`` writes for these variables."""
    graph, sd, vdefs = build_graph(variables, items, sharded=sharded, filename=filename,
                                   scope=scope, max_to_keep=max_to_keep,
                                   keep_checkpoint_every_n_hours=keep_checkpoint_every_n_hours)
    mg = meta_graph_pb2.MetaGraphDef()
    info = mg.meta_info_def
    defs = saver_op_defs()
    for op in sorted({n.op for n in graph.node}):
        if op in defs:
            info.stripped_op_list.op.add().CopyFrom(defs[op])
    info.tensorflow_version = TENSORFLOW_VERSION
    info.tensorflow_git_version = TENSORFLOW_GIT_VERSION
    if strip_defaults:
        strip_default_attrs(graph)
        info.stripped_default_attrs = True
    if clear_devices:
        for n in graph.node:
            n.device = ""
    # Saver.export_meta_graph exports the C++ GraphDef, even when clearing devices.
    sort_control_inputs(graph)
    mg.graph_def.CopyFrom(graph)
    mg.saver_def.CopyFrom(sd)
    if vdefs:
        blobs = [vd.SerializeToString(deterministic=True) for vd in vdefs]
        mg.collection_def["variables"].bytes_list.value.extend(blobs)
        trainable = [b for b, v in zip(blobs, variables, strict=True) if v.trainable]
        if trainable:
            mg.collection_def["trainable_variables"].bytes_list.value.extend(trainable)
    return mg


__all__ = [
    "GraphDefSink",
    "NodeSink",
    "SaveItem",
    "add_save_subgraph",
    "add_variable",
    "build_graph",
    "build_meta_graph",
    "saver_op_defs",
    "saver_scope",
    "sort_control_inputs",
    "strip_default_attrs",
    "TENSORFLOW_VERSION",
]
