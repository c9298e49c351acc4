"""Matching inputs and attributes to an OpDef, as TensorFlow's ``op_def_library`` does.

An OpDef says, per input, whether it takes one tensor or a list (``number_attr``: N
tensors of one type; ``type_list_attr``: tensors of listed types), and which attribute
holds its type. From the inputs the graph knows the type attributes (``T``), the list
lengths (``N``) and type lists; remaining attributes get their OpDef default. The output
dtypes then follow from the attributes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from savedmodel_io import tensor_proto
from savedmodel_io.dtypes import DataType
from savedmodel_io.errors import InvalidArgumentError
from savedmodel_io.graph import attrs as attrs_mod
from savedmodel_io.graph.attrs import AttrValue
from savedmodel_io.protos import op_def_pb2

ArgDef = op_def_pb2.OpDef.ArgDef


def is_list_arg(arg: ArgDef) -> bool:
    return bool(arg.number_attr or arg.type_list_attr)


def split_inputs(op_name: str, op: op_def_pb2.OpDef, inputs: Sequence[Any]) -> list[Any]:
    """One entry per OpDef input: a value, or a list for list inputs.

    An op whose only input is a list also takes that list's elements directly
    (``g.op("IdentityN", [a, b])``).
    """
    args = list(op.input_arg)
    if (len(args) == 1 and is_list_arg(args[0])
            and not (len(inputs) == 1 and isinstance(inputs[0], (list, tuple)))):
        inputs = [list(inputs)]
    if len(inputs) != len(args):
        names = ", ".join(a.name for a in args) or "none"
        raise InvalidArgumentError(
            f"op {op_name!r} ({op.name}) takes {len(args)} inputs ({names}), got {len(inputs)}")
    out = []
    for arg, value in zip(args, inputs, strict=True):
        if is_list_arg(arg):
            if not isinstance(value, (list, tuple)):
                raise InvalidArgumentError(
                    f"op {op_name!r} ({op.name}): input {arg.name!r} takes a list of tensors, "
                    f"got {type(value).__name__}")
            out.append(list(value))
        else:
            out.append(value)
    return out


def set_inferred(op_name: str, op: op_def_pb2.OpDef, attrs: dict[str, AttrValue],
                 name: str, value: AttrValue) -> None:
    """Record an attribute inferred from the inputs; a different given value is an error."""
    old = attrs.get(name)
    if old is not None and not attrs_mod.equal(old, value):
        raise InvalidArgumentError(
            f"op {op_name!r} ({op.name}): attribute {name!r} is {_show(old)} but the inputs "
            f"make it {_show(value)}")
    attrs[name] = value


def _show(a: AttrValue) -> str:
    kind = a.WhichOneof("value")
    if kind == "type":
        return attrs_mod.python_name(a.type)
    if kind == "list" and a.list.type:
        return "[" + ", ".join(attrs_mod.python_name(t) for t in a.list.type) + "]"
    if kind == "i":
        return str(a.i)
    return str(a).strip() or "empty"


def known_type(arg: ArgDef, attrs: Mapping[str, AttrValue], index: int = 0
               ) -> DataType | None:
    """The dtype input ``arg`` (element ``index`` of a type list) must have, if known."""
    if arg.type:
        return DataType(arg.type)
    if arg.type_attr and arg.type_attr in attrs:
        return DataType(attrs[arg.type_attr].type)
    if arg.type_list_attr and arg.type_list_attr in attrs:
        types = attrs[arg.type_list_attr].list.type
        if index < len(types):
            return DataType(types[index])
    return None


def default_type(op: op_def_pb2.OpDef, arg: ArgDef) -> DataType | None:
    """The default of the type attribute of ``arg``, used for inputs given as plain values."""
    if arg.type_attr:
        a = attrs_mod.attr_def(op, arg.type_attr)
        if a is not None and a.HasField("default_value"):
            return DataType(a.default_value.type)
    return None


def allowed_types(op: op_def_pb2.OpDef, arg: ArgDef) -> list[DataType] | None:
    """The types the type attribute of ``arg`` allows, or None (any type)."""
    a = attrs_mod.attr_def(op, arg.type_attr) if arg.type_attr else None
    if a is None or not a.HasField("allowed_values"):
        return None
    return [DataType(t) for t in a.allowed_values.list.type]


def infer_from_types(op_name: str, op: op_def_pb2.OpDef, arg: ArgDef,
                     types: Sequence[DataType | None], attrs: dict[str, AttrValue]) -> None:
    """Set N / T / type-list attributes from the dtypes of one input's tensors (None for
    an element still to be converted from a plain value)."""
    where = f"op {op_name!r} ({op.name}): input {arg.name!r}"
    if arg.number_attr:
        set_inferred(op_name, op, attrs, arg.number_attr, AttrValue(i=len(types)))
    if arg.type_list_attr:
        if all(t is not None for t in types):
            lst = AttrValue()
            lst.list.SetInParent()
            lst.list.type.extend(tensor_proto.proto_dtype(t) for t in types if t is not None)
            set_inferred(op_name, op, attrs, arg.type_list_attr, lst)
        return
    known = [t for t in types if t is not None]
    if arg.type:
        for t in known:
            if int(t) != int(arg.type):
                raise InvalidArgumentError(
                    f"{where} must be {attrs_mod.python_name(arg.type)}, got "
                    f"{attrs_mod.python_name(t)}")
        return
    if arg.type_attr and known:
        first = known[0]
        for t in known[1:]:
            if t != first:
                raise InvalidArgumentError(
                    f"{where}: all tensors must have one dtype, got "
                    f"{attrs_mod.python_name(first)} and {attrs_mod.python_name(t)}")
        set_inferred(op_name, op, attrs, arg.type_attr,
                     AttrValue(type=tensor_proto.proto_dtype(first)))


def complete_attrs(op_name: str, op: op_def_pb2.OpDef, given: Mapping[str, Any],
                   ) -> dict[str, AttrValue]:
    """Convert the explicitly given attributes by their OpDef types; unknown names that do
    not start with ``_`` are an error."""
    out: dict[str, AttrValue] = {}
    for name, value in given.items():
        a = attrs_mod.attr_def(op, name)
        if a is None:
            if not name.startswith("_"):
                known = ", ".join(x.name for x in op.attr) or "none"
                raise InvalidArgumentError(
                    f"op {op_name!r} ({op.name}) has no attribute {name!r} (it has: {known})")
            out[name] = attrs_mod.guess_attr_value(value)
            continue
        try:
            out[name] = attrs_mod.to_attr_value(a.type, value)
        except InvalidArgumentError as e:
            raise InvalidArgumentError(
                f"op {op_name!r} ({op.name}): attribute {name!r}: {e}") from None
    return out


def fill_defaults(op_name: str, op: op_def_pb2.OpDef, attrs: dict[str, AttrValue]) -> None:
    """Add OpDef defaults for missing attributes; check every attribute's constraints."""
    for a in op.attr:
        if a.name not in attrs:
            if not a.HasField("default_value"):
                raise InvalidArgumentError(
                    f"op {op_name!r} ({op.name}): attribute {a.name!r} ({a.type}) has no "
                    "default and could not be inferred from the inputs; pass it explicitly")
            v = AttrValue()
            v.CopyFrom(a.default_value)
            attrs[a.name] = v
        attrs_mod.check_attr(op_name, op, a, attrs[a.name])


def output_types(op_name: str, op: op_def_pb2.OpDef, attrs: Mapping[str, AttrValue]
                 ) -> list[DataType]:
    """The dtypes of the outputs the OpDef and attributes give (reference types for
    ``is_ref`` outputs)."""
    out: list[DataType] = []
    for arg in op.output_arg:
        try:
            if arg.type_list_attr:
                types = [DataType(t) for t in attrs[arg.type_list_attr].list.type]
            else:
                dt = DataType(arg.type) if arg.type else DataType(attrs[arg.type_attr].type)
                n = attrs[arg.number_attr].i if arg.number_attr else 1
                types = [dt] * n
        except KeyError as e:
            raise InvalidArgumentError(
                f"op {op_name!r} ({op.name}): output {arg.name!r} needs attribute {e}"
            ) from None
        if arg.is_ref:
            types = [DataType(int(t) + 100) for t in types]
        out.extend(types)
    return out


__all__ = ["allowed_types", "complete_attrs", "default_type", "fill_defaults", "infer_from_types",
           "is_list_arg", "known_type", "output_types", "set_inferred", "split_inputs"]
