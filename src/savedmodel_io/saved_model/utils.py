"""Build ``TensorInfo`` protos (TensorFlow's ``saved_model.utils``).

>>> info = build_tensor_info_from_spec("x:0", "float32", [None, 1])
>>> info.dtype, [d.size for d in info.tensor_shape.dim]
(1, [-1, 1])

``build_tensor_info(t)`` does the same from a :class:`savedmodel_io.graph.Tensor` (its name,
dtype and inferred shape); ``build_tensor_info_from_op(op)`` names an operation, as init
and train ops are named in signatures.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from savedmodel_io import dtypes
from savedmodel_io.dtypes import DataType
from savedmodel_io.errors import InvalidArgumentError
from savedmodel_io.protos import meta_graph_pb2
from savedmodel_io.tensor_proto import shape_to_proto

if TYPE_CHECKING:
    from savedmodel_io.graph.graph import Graph
    from savedmodel_io.graph.tensor import Operation, Tensor

DTypeLike = int | str | DataType | np.dtype | type


def as_datatype(dtype: DTypeLike) -> DataType:
    """A DataType from a DataType, its number, a name (``DT_FLOAT``, ``float32``) or numpy."""
    if isinstance(dtype, (DataType, int, str)):
        try:
            return dtypes.to_datatype(dtype)
        except InvalidArgumentError:
            if not isinstance(dtype, str):
                raise
    try:
        return dtypes.from_numpy_dtype(dtype)
    except TypeError:
        raise InvalidArgumentError(f"not a dtype: {dtype!r}") from None


def build_tensor_info_from_spec(name: str, dtype: DTypeLike,
                                shape: Sequence[int | None] | None
                                ) -> meta_graph_pb2.TensorInfo:
    """A dense ``TensorInfo``: tensor ``name`` (e.g. ``"x:0"``), dtype and static shape.

    ``shape=None`` means unknown rank; ``None`` or ``-1`` in it an unknown dimension.
    """
    if not isinstance(name, str) or not name:
        raise InvalidArgumentError(f"a tensor name must be a non-empty string, got {name!r}")
    info = meta_graph_pb2.TensorInfo(name=name, dtype=int(as_datatype(dtype)))  # type: ignore[arg-type]
    if shape is not None:
        dims = [-1 if d is None else int(d) for d in shape]
        if any(d < -1 for d in dims):
            raise InvalidArgumentError(f"bad shape {list(shape)}: dimensions must be >= -1")
        shape_to_proto(dims, info.tensor_shape)
    else:
        shape_to_proto(None, info.tensor_shape)
    return info


def build_tensor_info_op_ref(op_name: str) -> meta_graph_pb2.TensorInfo:
    """A ``TensorInfo`` that names an operation (init or train op), as TensorFlow writes it:
    ``name`` = the op name, dtype DT_INVALID, ``tensor_shape { unknown_rank: true }``."""
    if not isinstance(op_name, str) or not op_name:
        raise InvalidArgumentError(f"an op name must be a non-empty string, got {op_name!r}")
    info = meta_graph_pb2.TensorInfo(name=op_name)
    shape_to_proto(None, info.tensor_shape)
    return info


def _is_sparse(value: Any) -> bool:
    return all(hasattr(value, a) for a in ("indices", "values", "dense_shape"))


def build_tensor_info(tensor: Tensor | Any) -> meta_graph_pb2.TensorInfo:
    """The ``TensorInfo`` of a graph tensor: its name (``"y:0"``), dtype and static shape.

    A sparse tensor (an object with graph tensors ``indices``, ``values`` and
    ``dense_shape``, like TensorFlow's SparseTensor) fills ``coo_sparse`` instead of
    ``name``; its dtype is the values' dtype and its shape ``tensor.shape`` when it has one.
    """
    from savedmodel_io.graph.tensor import Tensor

    if isinstance(tensor, Tensor):
        return build_tensor_info_from_spec(tensor.name, tensor.dtype, tensor.shape)
    if _is_sparse(tensor):
        parts = {a: getattr(tensor, a) for a in ("indices", "values", "dense_shape")}
        for a, t in parts.items():
            if not isinstance(t, Tensor):
                raise InvalidArgumentError(
                    f"sparse tensor part {a!r} must be a graph Tensor, got {type(t).__name__}")
        info = meta_graph_pb2.TensorInfo(dtype=int(parts["values"].dtype))  # type: ignore[arg-type]
        info.coo_sparse.values_tensor_name = parts["values"].name
        info.coo_sparse.indices_tensor_name = parts["indices"].name
        info.coo_sparse.dense_shape_tensor_name = parts["dense_shape"].name
        shape = getattr(tensor, "shape", None)
        shape_to_proto(None if shape is None else [-1 if d is None else int(d) for d in shape],
                       info.tensor_shape)
        return info
    raise InvalidArgumentError(
        f"build_tensor_info takes a graph Tensor (savedmodel_io.graph.Tensor), got "
        f"{type(tensor).__name__}; for a name, dtype and shape use "
        "build_tensor_info_from_spec")


def build_tensor_info_from_op(op: Operation) -> meta_graph_pb2.TensorInfo:
    """A ``TensorInfo`` naming graph operation ``op`` (see ``build_tensor_info_op_ref``)."""
    from savedmodel_io.graph.tensor import Operation

    if not isinstance(op, Operation):
        raise InvalidArgumentError(
            f"build_tensor_info_from_op takes a graph Operation, got {type(op).__name__}")
    return build_tensor_info_op_ref(op.name)


def get_tensor_from_tensor_info(tensor_info: meta_graph_pb2.TensorInfo, graph: Graph,
                                import_scope: str | None = None) -> Tensor:
    """The dense graph tensor a ``TensorInfo`` names (NotFoundError when absent)."""
    if tensor_info.WhichOneof("encoding") != "name":
        raise InvalidArgumentError(
            f"only dense TensorInfos name one tensor; this one is "
            f"{tensor_info.WhichOneof('encoding') or 'empty'}")
    name = tensor_info.name
    if import_scope:
        name = f"{import_scope}/{name}"
    return graph.get_tensor_by_name(name)


__all__ = ["as_datatype", "build_tensor_info", "build_tensor_info_from_op",
           "build_tensor_info_from_spec", "build_tensor_info_op_ref",
           "get_tensor_from_tensor_info"]
