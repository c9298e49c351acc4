"""``StructuredValue`` protos (function signatures in a SavedModel) as Python values.

The values print as TensorFlow's objects do after ``tf.saved_model.load``, so the CLI can
reproduce ``saved_model_cli``'s text: ``TensorSpec(shape=(None, 2), dtype=tf.float32,
name='x')``, ``TensorShape([None, 2])``, ``tf.float32`` (``str``: ``<dtype: 'float32'>``),
``RaggedTensorSpec(TensorShape([None, None]), tf.float32, 1, tf.int64)``. Tuples, lists,
dicts and named tuples decode to their Python kinds. :func:`to_json` gives a plain
JSON-ready form of the same values.
"""

from __future__ import annotations

import collections
from collections.abc import Iterator
from typing import Any

import numpy as np

from savedmodel_io import dtypes, tensor_proto
from savedmodel_io.errors import InvalidArgumentError, SavedModelIOError
from savedmodel_io.protos import struct_pb2, tensor_shape_pb2

# TypeSpecProto.TypeSpecClass -> the Python class name TensorFlow gives the spec.
_TYPE_SPEC_NAMES = {
    struct_pb2.TypeSpecProto.SPARSE_TENSOR_SPEC: "SparseTensorSpec",
    struct_pb2.TypeSpecProto.INDEXED_SLICES_SPEC: "IndexedSlicesSpec",
    struct_pb2.TypeSpecProto.RAGGED_TENSOR_SPEC: "RaggedTensorSpec",
    struct_pb2.TypeSpecProto.TENSOR_ARRAY_SPEC: "TensorArraySpec",
    struct_pb2.TypeSpecProto.DATA_DATASET_SPEC: "DatasetSpec",
    struct_pb2.TypeSpecProto.DATA_ITERATOR_SPEC: "IteratorSpec",
    struct_pb2.TypeSpecProto.OPTIONAL_SPEC: "OptionalSpec",
    struct_pb2.TypeSpecProto.PER_REPLICA_SPEC: "PerReplicaSpec",
    struct_pb2.TypeSpecProto.VARIABLE_SPEC: "VariableSpec",
    struct_pb2.TypeSpecProto.ROW_PARTITION_SPEC: "RowPartitionSpec",
}

MAX_DEPTH = 100  # nesting deeper than this is refused: the proto is hostile or broken


class DType:
    """A TensorFlow dtype: ``repr`` is ``tf.float32``, ``str`` is ``<dtype: 'float32'>``."""

    def __init__(self, number: int) -> None:
        self.number = number
        try:
            self.name = dtypes.python_name(number)
        except (InvalidArgumentError, ValueError):
            self.name = f"<unknown dtype {number}>"

    def __repr__(self) -> str:
        return f"tf.{self.name}"

    def __str__(self) -> str:
        return f"<dtype: {self.name!r}>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, DType) and other.number == self.number

    def __hash__(self) -> int:
        return hash(self.number)


class TensorShape:
    """A shape with ``None`` for unknown dims, or unknown rank (``dims is None``)."""

    def __init__(self, dims: list[int | None] | None) -> None:
        self.dims = dims

    @classmethod
    def from_proto(cls, p: tensor_shape_pb2.TensorShapeProto) -> TensorShape:
        if p.unknown_rank:
            return cls(None)
        return cls([d.size if d.size >= 0 else None for d in p.dim])

    def __iter__(self) -> Iterator[int | None]:
        if self.dims is None:
            raise ValueError("Cannot iterate over a shape with unknown rank.")
        return iter(self.dims)

    def __repr__(self) -> str:
        return "TensorShape(None)" if self.dims is None else f"TensorShape({self.dims})"

    def __str__(self) -> str:
        if self.dims is None:
            return "<unknown>"
        if len(self.dims) == 1:
            return f"({self.dims[0]},)"
        return "(" + ", ".join(str(d) for d in self.dims) + ")"


class TensorSpec:
    """``TensorSpec(shape=(None, 2), dtype=tf.float32, name='x')``."""

    def __init__(self, shape: TensorShape, dtype: DType, name: str | None) -> None:
        self.shape = shape
        self.dtype = dtype
        self.name = name

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(shape={self.shape}, dtype={self.dtype!r}, "
                f"name={self.name!r})")


class BoundedTensorSpec(TensorSpec):
    def __init__(self, shape: TensorShape, dtype: DType, name: str | None,
                 minimum: np.ndarray, maximum: np.ndarray) -> None:
        super().__init__(shape, dtype, name)
        self.minimum = minimum
        self.maximum = maximum

    def __repr__(self) -> str:
        return (f"BoundedTensorSpec(shape={self.shape}, dtype={self.dtype!r}, "
                f"name={self.name!r}, minimum={self.minimum!r}, maximum={self.maximum!r})")


class TypeSpec:
    """Any other ``tf.TypeSpec``: TensorFlow prints it as ``<ClassName><repr(state)>``."""

    class_name = "TypeSpec"

    def __init__(self, state: Any) -> None:
        self.state = state

    def __repr__(self) -> str:
        return f"{self.class_name}{self.state!r}"


class VariableSpec(TypeSpec):
    class_name = "VariableSpec"

    def __repr__(self) -> str:
        s = self.state if isinstance(self.state, tuple) and len(self.state) == 4 else None
        if s is None:
            return super().__repr__()
        shape, dtype, trainable, alias_id = s
        return (f"VariableSpec(shape={shape}, dtype={dtype!r}, trainable={trainable!r}, "
                f"alias_id={alias_id!r})")


def _type_spec_class(name: str) -> type[TypeSpec]:
    if name == "VariableSpec":
        return VariableSpec
    # type(x).__name__ must print the spec's class name, so make a class of that name.
    return type(name, (TypeSpec,), {"class_name": name})


class Tensor:
    """A constant tensor inside a signature (``tensor_value``): printed like TF's."""

    def __init__(self, value: np.ndarray, dtype: DType) -> None:
        self.value = value
        self.dtype = dtype

    def __repr__(self) -> str:
        shape = TensorShape(list(self.value.shape))
        return f"tf.Tensor({self.value}, shape={shape}, dtype={self.dtype.name})"


def decode(value: struct_pb2.StructuredValue, _depth: int = 0) -> Any:
    """The Python value of a ``StructuredValue`` (TensorFlow's ``decode_proto``)."""
    if _depth > MAX_DEPTH:
        raise InvalidArgumentError(f"structured value nested deeper than {MAX_DEPTH}")
    kind = value.WhichOneof("kind")
    d = _depth + 1
    if kind is None or kind == "none_value":
        return None
    if kind == "float64_value":
        return value.float64_value
    if kind == "int64_value":
        return int(value.int64_value)
    if kind == "string_value":
        return value.string_value
    if kind == "bool_value":
        return value.bool_value
    if kind == "tensor_shape_value":
        return TensorShape.from_proto(value.tensor_shape_value)
    if kind == "tensor_dtype_value":
        return DType(value.tensor_dtype_value)
    if kind == "tensor_spec_value":
        p = value.tensor_spec_value
        return TensorSpec(TensorShape.from_proto(p.shape), DType(p.dtype), p.name or None)
    if kind == "bounded_tensor_spec_value":
        b = value.bounded_tensor_spec_value
        return BoundedTensorSpec(TensorShape.from_proto(b.shape), DType(b.dtype),
                                 b.name or None, _array(b.minimum), _array(b.maximum))
    if kind == "type_spec_value":
        t = value.type_spec_value
        name = _TYPE_SPEC_NAMES.get(t.type_spec_class) or (
            t.type_spec_class_name.rsplit(".", 1)[-1] or "TypeSpec")
        return _type_spec_class(name)(decode(t.type_state, d))
    if kind == "list_value":
        return [decode(v, d) for v in value.list_value.values]
    if kind == "tuple_value":
        return tuple(decode(v, d) for v in value.tuple_value.values)
    if kind == "dict_value":
        # Sorted: protobuf iterates maps in an order that changes from process to process
        # (TensorFlow's own output varies the same way).
        fields = value.dict_value.fields
        return {k: decode(fields[k], d) for k in sorted(fields)}
    if kind == "named_tuple_value":
        nt = value.named_tuple_value
        items = [(p.key, decode(p.value, d)) for p in nt.values]
        try:
            cls = collections.namedtuple(nt.name, [k for k, _ in items])  # type: ignore[misc]
        except ValueError:  # a name Python refuses as an identifier
            return tuple(v for _, v in items)
        return cls(*[v for _, v in items])
    if kind == "tensor_value":
        return Tensor(_array(value.tensor_value), DType(value.tensor_value.dtype))
    if kind == "numpy_value":
        return _array(value.numpy_value)
    raise InvalidArgumentError(f"unknown structured value kind {kind!r}")


def _array(p: Any) -> np.ndarray:
    try:
        return tensor_proto.to_numpy(p)
    except SavedModelIOError:
        return np.array([])


def to_json(value: Any) -> Any:
    """A JSON-ready form: specs become objects with ``type``, ``name``, ``shape``, ``dtype``."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if np.isfinite(value) else repr(value)
    if isinstance(value, TensorSpec):
        return {"type": type(value).__name__, "name": value.name,
                "shape": value.shape.dims, "dtype": value.dtype.name}
    if isinstance(value, TensorShape):
        return {"type": "TensorShape", "dims": value.dims}
    if isinstance(value, DType):
        return {"type": "DType", "name": value.name}
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        return {"type": type(value).__name__,
                "fields": {k: to_json(v) for k, v in zip(value._fields, value, strict=True)}}
    if isinstance(value, (list, tuple)):
        return [to_json(v) for v in value]
    return {"type": getattr(value, "class_name", type(value).__name__), "repr": repr(value)}


__all__ = ["decode", "to_json", "DType", "TensorShape", "TensorSpec", "BoundedTensorSpec",
           "TypeSpec", "Tensor"]
