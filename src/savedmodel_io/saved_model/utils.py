"""Build ``TensorInfo`` protos (TensorFlow's ``saved_model.utils``) without Tensor objects.

>>> info = build_tensor_info_from_spec("x:0", "float32", [None, 1])
>>> info.dtype, [d.size for d in info.tensor_shape.dim]
(1, [-1, 1])

``build_tensor_info(tensor)`` for graph tensors arrives with the graph layer.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from savedmodel_io import dtypes
from savedmodel_io.dtypes import DataType
from savedmodel_io.errors import InvalidArgumentError
from savedmodel_io.protos import meta_graph_pb2
from savedmodel_io.tensor_proto import shape_to_proto

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


__all__ = ["as_datatype", "build_tensor_info_from_spec", "build_tensor_info_op_ref"]
