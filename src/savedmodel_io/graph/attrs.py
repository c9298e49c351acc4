"""Python values <-> ``AttrValue`` protos, checked against an OpDef's attribute types.

``to_attr_value("list(int)", [1, 2])`` gives ``AttrValue(list=ListValue(i=[1, 2]))``;
an ``AttrValue`` passes through unchanged. Types accept a :class:`DataType`, its number or
name (``"float32"``, ``"DT_FLOAT"``) or a numpy dtype; shapes accept a sequence of ints or
None (unknown dimension), or None (unknown rank); tensors accept a ``TensorProto`` or
anything numpy can hold.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from savedmodel_io import dtypes, tensor_proto
from savedmodel_io.dtypes import DataType
from savedmodel_io.errors import InvalidArgumentError, SavedModelIOError
from savedmodel_io.protos import (
    attr_value_pb2,
    op_def_pb2,
    tensor_pb2,
    tensor_shape_pb2,
)

AttrValue = attr_value_pb2.AttrValue
ShapeLike = Sequence[int | None] | None


def as_datatype(value: Any) -> DataType:
    """A DataType from a DataType, its number or name, or a numpy dtype (``np.float32``)."""
    if isinstance(value, (DataType, int, str)) and not isinstance(value, bool):
        try:
            return dtypes.to_datatype(value)
        except InvalidArgumentError:
            if not isinstance(value, str):
                raise
    try:
        return dtypes.from_numpy_dtype(value)
    except (TypeError, InvalidArgumentError):
        raise InvalidArgumentError(f"{value!r} is not a dtype") from None


def _shape_proto(value: Any, out: tensor_shape_pb2.TensorShapeProto) -> None:
    if isinstance(value, tensor_shape_pb2.TensorShapeProto):
        out.CopyFrom(value)
        return
    if value is None:
        tensor_proto.shape_to_proto(None, out)
        return
    dims = list(value)
    for d in dims:
        if d is not None and (isinstance(d, bool) or not isinstance(d, (int, np.integer))
                              or d < -1):
            raise InvalidArgumentError(f"{value!r} is not a shape (dimensions are ints >= 0 "
                                       "or None for unknown)")
    tensor_proto.shape_to_proto([-1 if d is None else int(d) for d in dims], out)


def _tensor(value: Any) -> tensor_pb2.TensorProto:
    if isinstance(value, tensor_pb2.TensorProto):
        return value
    return tensor_proto.from_numpy(value)


def _scalar(kind: str, value: Any, out: AttrValue) -> None:
    if kind == "string":
        if isinstance(value, str):
            out.s = value.encode("utf-8")
        elif isinstance(value, bytes):
            out.s = value
        else:
            raise InvalidArgumentError(f"expected a string, got {value!r}")
    elif kind == "int":
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise InvalidArgumentError(f"expected an int, got {value!r}")
        out.i = int(value)
    elif kind == "float":
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer,
                                                             np.floating)):
            raise InvalidArgumentError(f"expected a float, got {value!r}")
        out.f = float(value)
    elif kind == "bool":
        if not isinstance(value, (bool, np.bool_)):
            raise InvalidArgumentError(f"expected a bool, got {value!r}")
        out.b = bool(value)
    elif kind == "type":
        out.type = tensor_proto.proto_dtype(as_datatype(value))
    elif kind == "shape":
        _shape_proto(value, out.shape)
    elif kind == "tensor":
        out.tensor.CopyFrom(_tensor(value))
    elif kind == "func":
        if isinstance(value, attr_value_pb2.NameAttrList):
            out.func.CopyFrom(value)
        elif isinstance(value, str):
            out.func.name = value
        else:
            raise InvalidArgumentError(f"expected a function name, got {value!r}")
    else:
        raise InvalidArgumentError(f"attribute type {kind!r} is not supported")


def _list(kind: str, values: Any, out: AttrValue) -> None:
    if isinstance(values, (str, bytes)) or not isinstance(values, (Sequence, np.ndarray)):
        raise InvalidArgumentError(f"expected a list, got {values!r}")
    lst = out.list
    out.list.SetInParent()
    for v in values:
        one = AttrValue()
        _scalar(kind, v, one)
        if kind == "string":
            lst.s.append(one.s)
        elif kind == "int":
            lst.i.append(one.i)
        elif kind == "float":
            lst.f.append(one.f)
        elif kind == "bool":
            lst.b.append(one.b)
        elif kind == "type":
            lst.type.append(one.type)
        elif kind == "shape":
            lst.shape.add().CopyFrom(one.shape)
        elif kind == "tensor":
            lst.tensor.add().CopyFrom(one.tensor)
        else:
            lst.func.add().CopyFrom(one.func)


def to_attr_value(attr_type: str, value: Any) -> AttrValue:
    """``value`` as an AttrValue of OpDef attribute type ``attr_type`` (e.g. ``"list(int)"``)."""
    if isinstance(value, AttrValue):
        return value
    out = AttrValue()
    if attr_type.startswith("list(") and attr_type.endswith(")"):
        _list(attr_type[5:-1], value, out)
    else:
        _scalar(attr_type, value, out)
    return out


def guess_attr_value(value: Any) -> AttrValue:
    """An AttrValue for an op without an OpDef: the kind is taken from the Python type."""
    if isinstance(value, AttrValue):
        return value
    if isinstance(value, (bool, np.bool_)):
        return to_attr_value("bool", value)
    if isinstance(value, (int, np.integer)) and not isinstance(value, DataType):
        return to_attr_value("int", value)
    if isinstance(value, DataType) or isinstance(value, (np.dtype, type)):
        return to_attr_value("type", value)
    if isinstance(value, (float, np.floating)):
        return to_attr_value("float", value)
    if isinstance(value, (str, bytes)):
        return to_attr_value("string", value)
    if isinstance(value, (tensor_pb2.TensorProto, np.ndarray)):
        return to_attr_value("tensor", value)
    if isinstance(value, (list, tuple)):
        if not value:
            out = AttrValue()
            out.list.SetInParent()
            return out
        first = guess_attr_value(value[0])
        kind = first.WhichOneof("value")
        names = {"s": "string", "i": "int", "f": "float", "b": "bool", "type": "type",
                 "tensor": "tensor"}
        if kind in names:
            return to_attr_value(f"list({names[kind]})", value)
    raise InvalidArgumentError(
        f"cannot tell the attribute type of {value!r}; pass an AttrValue proto")


def attr_def(op: op_def_pb2.OpDef, name: str) -> op_def_pb2.OpDef.AttrDef | None:
    for a in op.attr:
        if a.name == name:
            return a
    return None


def check_attr(op_name: str, op: op_def_pb2.OpDef, a: op_def_pb2.OpDef.AttrDef,
               value: AttrValue) -> None:
    """Raise InvalidArgumentError if ``value`` breaks ``a``'s allowed values or minimum."""
    where = f"op {op_name!r} ({op.name}): attribute {a.name!r}"
    kind = value.WhichOneof("value")
    want = "list" if a.type.startswith("list(") else {
        "string": "s", "int": "i", "float": "f", "bool": "b", "type": "type",
        "shape": "shape", "tensor": "tensor", "func": "func"}.get(a.type, kind)
    if kind != want:
        raise InvalidArgumentError(f"{where} must be of type {a.type}, got {kind or 'nothing'}")
    if a.HasField("allowed_values"):
        allowed = a.allowed_values.list
        if a.type == "type" and value.type not in allowed.type:
            names = ", ".join(python_name(t) for t in allowed.type)
            raise InvalidArgumentError(
                f"{where}: {python_name(value.type)} is not one of the allowed types ({names})")
        if a.type == "list(type)":
            for t in value.list.type:
                if t not in allowed.type:
                    raise InvalidArgumentError(f"{where}: {python_name(t)} is not allowed")
        if a.type == "string" and value.s not in allowed.s:
            raise InvalidArgumentError(
                f"{where}: {value.s.decode('utf-8', 'replace')!r} is not one of "
                f"{[s.decode('utf-8', 'replace') for s in allowed.s]}")
    if a.has_minimum:
        if a.type == "int" and value.i < a.minimum:
            raise InvalidArgumentError(f"{where} is {value.i}, at least {a.minimum} required")
        if a.type.startswith("list("):
            n = len(getattr(value.list, _LIST_FIELD[a.type[5:-1]]))
            if n < a.minimum:
                raise InvalidArgumentError(
                    f"{where} has {n} entries, at least {a.minimum} required")


_LIST_FIELD = {"string": "s", "int": "i", "float": "f", "bool": "b", "type": "type",
               "shape": "shape", "tensor": "tensor", "func": "func"}


def python_name(t: int) -> str:
    try:
        return dtypes.python_name(t)
    except SavedModelIOError:
        return f"DataType {t}"


def equal(a: AttrValue, b: AttrValue) -> bool:
    """Whether two AttrValues are the same value (compared as deterministic bytes)."""
    return a.SerializeToString(deterministic=True) == b.SerializeToString(deterministic=True)


def is_default(op: op_def_pb2.OpDef, name: str, value: AttrValue) -> bool:
    """True if the OpDef gives attribute ``name`` a default and ``value`` equals it."""
    a = attr_def(op, name)
    return a is not None and a.HasField("default_value") and equal(a.default_value, value)


__all__ = ["AttrValue", "as_datatype", "to_attr_value", "guess_attr_value", "attr_def",
           "check_attr", "equal", "is_default"]
