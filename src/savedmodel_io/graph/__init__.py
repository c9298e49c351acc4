"""Build TF1 GraphDefs and MetaGraphDefs without TensorFlow (see :mod:`.graph`)."""

from __future__ import annotations

from savedmodel_io.graph.graph import Graph
from savedmodel_io.graph.registry import op_def, registered_ops
from savedmodel_io.graph.tensor import Operation, Shape, Tensor
from savedmodel_io.graph.variables import GraphVariable

__all__ = ["Graph", "GraphVariable", "Operation", "Shape", "Tensor", "op_def",
           "registered_ops"]
