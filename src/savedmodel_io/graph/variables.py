"""``GraphVariable``: a variable's nodes in a Graph, tied to the value a Saver writes.

``Graph.variable`` adds the nodes TF1 builds (reference: ``VariableV2``, ``<v>/initial_value``,
``<v>/Assign``, ``<v>/read``; resource: ``VarHandleOp``, ``<v>/Initializer/initial_value``,
``<v>/IsInitialized/VarIsInitializedOp``, ``<v>/Assign``, ``<v>/Read/ReadVariableOp``) and
returns a GraphVariable. Its ``variable`` is the :class:`savedmodel_io.train.Variable`
holding the current value, which ``train.Saver`` writes under the name the graph's saver
subgraph restores.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from savedmodel_io.dtypes import DataType
from savedmodel_io.protos import variable_pb2
from savedmodel_io.train.variable import Variable

if TYPE_CHECKING:
    from savedmodel_io.graph.graph import Graph
    from savedmodel_io.graph.tensor import Operation, Tensor


class GraphVariable:
    """A variable of a Graph (see the module docstring)."""

    def __init__(self, graph: Graph, variable: Variable,
                 variable_def: variable_pb2.VariableDef) -> None:
        self.graph = graph
        self.variable = variable
        self._def = variable_def

    @property
    def name(self) -> str:
        """The variable op's name, e.g. ``"dense/kernel"``."""
        return self.variable.name

    @property
    def dtype(self) -> DataType:
        return self.variable.dtype

    @property
    def shape(self) -> tuple[int, ...]:
        return self.variable.shape

    @property
    def resource(self) -> bool:
        return self.variable.resource

    @property
    def trainable(self) -> bool:
        return self.variable.trainable

    @property
    def value(self) -> np.ndarray:
        """The current value (what a Saver writes)."""
        return self.variable.value

    def assign(self, value: Any) -> GraphVariable:
        """Set the current value (same dtype and shape)."""
        self.variable.assign(value)
        return self

    @property
    def handle(self) -> Tensor:
        """The variable op's output: a reference tensor (``float32_ref``) or a resource."""
        return self.graph.get_tensor_by_name(self._def.variable_name)

    def read(self) -> Tensor:
        """The variable's value tensor made with it: ``<v>/read:0`` or
        ``<v>/Read/ReadVariableOp:0``."""
        return self.graph.get_tensor_by_name(self._def.snapshot_name)

    def read_value(self, name: str | None = None) -> Tensor:
        """A new read of the variable: a ReadVariableOp (resource) or an Identity (ref)."""
        if self.resource:
            return self.graph.op("ReadVariableOp", [self.handle], name=name or "ReadVariableOp",
                                 dtype=self.dtype)
        return self.graph.op("Identity", [self.handle], name=name or "read")

    @property
    def initializer(self) -> Operation:
        """``<v>/Assign``: sets the initial value."""
        return self.graph.get_operation_by_name(self._def.initializer_name)

    @property
    def initial_value(self) -> Tensor:
        return self.graph.get_tensor_by_name(self._def.initial_value_name)

    def to_proto(self) -> variable_pb2.VariableDef:
        """The VariableDef TensorFlow stores in the ``variables`` collection."""
        out = variable_pb2.VariableDef()
        out.CopyFrom(self._def)
        return out

    def __repr__(self) -> str:
        kind = "resource" if self.resource else "ref"
        return (f"<GraphVariable {self.name!r} shape={list(self.shape)} "
                f"dtype={self.dtype.name} {kind}>")


__all__ = ["GraphVariable"]
