"""The ``experimental_type`` (FullTypeDef) TensorFlow sets on some NodeDefs.

TensorFlow derives it from a type constructor registered with the op in C++, which the
OpDef does not carry. Building every op of the built-in registry in TF 2.21 graph mode
shows exactly one with a type constructor: ``Shape``, typed
``TFT_PRODUCT[TFT_SHAPE_TENSOR[<out_type>]]``.
"""

from __future__ import annotations

from collections.abc import Mapping

from savedmodel_io.dtypes import DataType
from savedmodel_io.protos import attr_value_pb2, full_type_pb2

_SHAPE_ELEMENT = {DataType.DT_INT32: "TFT_INT32", DataType.DT_INT64: "TFT_INT64"}


def full_type_for(op_type: str, attrs: Mapping[str, attr_value_pb2.AttrValue]
                  ) -> full_type_pb2.FullTypeDef | None:
    """The FullTypeDef TensorFlow gives a new node of ``op_type``, or None."""
    if op_type != "Shape" or "out_type" not in attrs:
        return None
    element = _SHAPE_ELEMENT.get(DataType(attrs["out_type"].type))
    if element is None:
        return None
    out = full_type_pb2.FullTypeDef(type_id=full_type_pb2.TFT_PRODUCT)
    shape = out.args.add(type_id=full_type_pb2.TFT_SHAPE_TENSOR)
    shape.args.add(type_id=full_type_pb2.FullTypeId.Value(element))
    return out


__all__ = ["full_type_for"]
