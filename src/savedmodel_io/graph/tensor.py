"""``Tensor`` and ``Operation``: the nodes of a :class:`~savedmodel_io.graph.Graph`.

An Operation is one NodeDef (name, op type, inputs, device, attributes) plus what the graph
computed for it: the dtypes and, for common ops, the shapes of its outputs. A Tensor is
one output of an Operation, named ``"<op name>:<index>"``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from savedmodel_io import dtypes, tensor_proto
from savedmodel_io.dtypes import DataType
from savedmodel_io.errors import InvalidArgumentError, NotFoundError
from savedmodel_io.graph.full_type import full_type_for
from savedmodel_io.protos import attr_value_pb2, node_def_pb2, op_def_pb2

if TYPE_CHECKING:
    from savedmodel_io.graph.graph import Graph

Shape = tuple[int | None, ...] | None  # None: unknown rank; None in the tuple: unknown size


def shape_from_attr(p: Any) -> Shape:
    """A TensorShapeProto as a Shape (``-1`` sizes become None)."""
    dims = tensor_proto.shape_from_proto(p)
    if dims is None:
        return None
    return tuple(None if d < 0 else int(d) for d in dims)


def shape_to_attr(shape: Shape, out: Any) -> None:
    tensor_proto.shape_to_proto(None if shape is None else [-1 if d is None else d
                                                            for d in shape], out)


class Tensor:
    """One output of an Operation: ``t.name`` is ``"op:0"``; dtype and shape as the graph
    inferred them (``shape`` None = unknown rank, a None dimension = unknown size)."""

    __slots__ = ("op", "index", "dtype", "shape", "handle_dtype", "handle_shape")

    def __init__(self, op: Operation, index: int, dtype: DataType, shape: Shape) -> None:
        self.op = op
        self.index = index
        self.dtype = dtype
        self.shape = shape
        # For DT_RESOURCE outputs of variable handles: the variable's dtype and shape
        # (TensorFlow's "handle data"), which ReadVariableOp's output takes.
        self.handle_dtype: DataType | None = None
        self.handle_shape: Shape = None

    @property
    def name(self) -> str:
        return f"{self.op.name}:{self.index}"

    @property
    def graph(self) -> Graph:
        return self.op.graph

    @property
    def input_name(self) -> str:
        """How a NodeDef input names this tensor: ``"op"`` for output 0, else ``"op:i"``."""
        return self.op.name if self.index == 0 else self.name

    @property
    def base_dtype(self) -> DataType:
        return dtypes.base_dtype(self.dtype)

    def __repr__(self) -> str:
        shape = "<unknown>" if self.shape is None else list(self.shape)
        return f"<Tensor {self.name!r} shape={shape} dtype={self.dtype.name}>"


class Operation:
    """One node of a Graph. Build them with ``Graph.add_op``/``Graph.op``."""

    def __init__(self, graph: Graph, name: str, op_type: str,
                 inputs: Sequence[Tensor], control_inputs: Sequence[Operation],
                 attrs: dict[str, attr_value_pb2.AttrValue], device: str,
                 op_def: op_def_pb2.OpDef | None) -> None:
        self.graph = graph
        self.name = name
        self.type = op_type
        self.inputs: tuple[Tensor, ...] = tuple(inputs)
        self._control_inputs: list[Operation] = list(control_inputs)
        self._attrs = attrs
        self.device = device
        self.op_def = op_def
        self.outputs: tuple[Tensor, ...] = ()
        self.experimental_type = full_type_for(op_type, attrs)

    @property
    def control_inputs(self) -> tuple[Operation, ...]:
        return tuple(self._control_inputs)

    @property
    def attrs(self) -> dict[str, attr_value_pb2.AttrValue]:
        """A copy of the attributes (``_output_shapes`` is added only on export)."""
        out = {}
        for k, v in self._attrs.items():
            c = attr_value_pb2.AttrValue()
            c.CopyFrom(v)
            out[k] = c
        return out

    def get_attr(self, name: str) -> Any:
        """An attribute as a Python value: bytes, int, float, bool, DataType, shape tuple,
        numpy array (tensor), function name, or a list of those."""
        if name not in self._attrs:
            raise NotFoundError(f"operation {self.name!r} ({self.type}) has no attribute "
                                f"{name!r}")
        return _attr_to_python(self._attrs[name])

    def set_attr(self, name: str, value: attr_value_pb2.AttrValue) -> None:
        """Set or replace one attribute (e.g. ``_class`` for colocation)."""
        c = attr_value_pb2.AttrValue()
        c.CopyFrom(value)
        self._attrs[name] = c

    def add_control_input(self, op: Operation) -> None:
        if op.graph is not self.graph:
            raise InvalidArgumentError(
                f"control input {op.name!r} of {self.name!r} is from another graph")
        if op not in self._control_inputs:
            self._control_inputs.append(op)

    @property
    def node_def(self) -> node_def_pb2.NodeDef:
        """This operation as a NodeDef (a fresh copy; control inputs in the order they
        were added, as TensorFlow's ``Operation.node_def``)."""
        n = node_def_pb2.NodeDef(name=self.name, op=self.type)
        n.input.extend(t.input_name for t in self.inputs)
        n.input.extend(f"^{c.name}" for c in self._control_inputs)
        if self.device:
            n.device = self.device
        for k in sorted(self._attrs):
            n.attr[k].CopyFrom(self._attrs[k])
        if self.experimental_type is not None:
            n.experimental_type.CopyFrom(self.experimental_type)
        return n

    def __repr__(self) -> str:
        return f"<Operation {self.name!r} type={self.type}>"


def _attr_to_python(a: attr_value_pb2.AttrValue) -> Any:
    kind = a.WhichOneof("value")
    if kind == "list":
        lst = a.list
        for field in ("s", "i", "f", "b"):
            if getattr(lst, field):
                return list(getattr(lst, field))
        if lst.type:
            return [DataType(t) for t in lst.type]
        if lst.shape:
            return [shape_from_attr(s) for s in lst.shape]
        if lst.tensor:
            return [tensor_proto.to_numpy(t) for t in lst.tensor]
        if lst.func:
            return [f.name for f in lst.func]
        return []
    if kind == "type":
        return DataType(a.type)
    if kind == "shape":
        return shape_from_attr(a.shape)
    if kind == "tensor":
        arr: np.ndarray = tensor_proto.to_numpy(a.tensor)
        return arr
    if kind == "func":
        return a.func.name
    if kind is None:
        return None
    return getattr(a, kind)


__all__ = ["Operation", "Shape", "Tensor", "shape_from_attr", "shape_to_attr"]
