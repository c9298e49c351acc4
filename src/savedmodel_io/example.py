"""``tf.train.Example`` without TensorFlow: build them, and parse them as ``tf.io.parse_example``.

::

    raw = serialize_example({"x": [1.5], "ids": [3, 4], "word": "cat"})
    parse_example([raw], {"x": FixedLenFeature([1], np.float32),
                          "ids": VarLenFeature(np.int64)})
    # {"x": array([[1.5]], dtype=float32), "ids": SparseValue(indices=..., values=..., ...)}

A feature holds one list: ``float_list`` (float32), ``int64_list`` or ``bytes_list``.
:func:`parse_batch` is the engine behind the interpreter's ``ParseExample`` kernels; its
errors say which example and which key is wrong, as TensorFlow's do.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from savedmodel_io.errors import InvalidArgumentError
from savedmodel_io.protos import example_pb2, feature_pb2

_KINDS = {"float_list": np.dtype(np.float32), "int64_list": np.dtype(np.int64),
          "bytes_list": np.dtype(object)}
_TYPE_NAMES = {np.dtype(np.float32): "float", np.dtype(np.int64): "int64",
               np.dtype(object): "string"}

# ------------------------------------------------------------------ building


def _list_kind(values: Sequence[Any], key: str) -> str:
    if all(isinstance(v, (bytes, str)) for v in values):
        return "bytes_list"
    if all(isinstance(v, (bool, int, np.integer, np.bool_)) for v in values):
        return "int64_list"
    if all(isinstance(v, (bool, int, float, np.integer, np.floating, np.bool_))
           for v in values):
        return "float_list"
    kinds = sorted({type(v).__name__ for v in values})
    raise InvalidArgumentError(
        f"feature {key!r}: values must be all numbers or all strings, got {kinds}")


def make_feature(value: Any, key: str = "") -> feature_pb2.Feature:
    """One ``tf.train.Feature`` from a scalar, a list or a numpy array."""
    feature = feature_pb2.Feature()
    if isinstance(value, np.ndarray):
        arr = value.reshape(-1)
        if arr.dtype.kind == "f":
            feature.float_list.value.extend(arr.astype(np.float32).tolist())
        elif arr.dtype.kind in "iub":
            feature.int64_list.value.extend(arr.astype(np.int64).tolist())
        elif arr.dtype.kind in "SUO":
            feature.bytes_list.value.extend(_as_bytes(v, key) for v in arr.tolist())
        else:
            raise InvalidArgumentError(f"feature {key!r}: numpy dtype {arr.dtype} cannot go "
                                       "in a tf.train.Feature")
        return feature
    values = list(value) if isinstance(value, (list, tuple)) else [value]
    if not values:
        raise InvalidArgumentError(
            f"feature {key!r}: an empty list has no type; pass a typed numpy array such as "
            "np.zeros(0, np.float32)")
    kind = _list_kind(values, key)
    if kind == "bytes_list":
        feature.bytes_list.value.extend(_as_bytes(v, key) for v in values)
    elif kind == "int64_list":
        ints = [int(v) for v in values]
        if any(not -(1 << 63) <= v < (1 << 63) for v in ints):
            raise InvalidArgumentError(f"feature {key!r}: a value does not fit in int64")
        feature.int64_list.value.extend(ints)
    else:
        feature.float_list.value.extend(float(v) for v in values)
    return feature


def _as_bytes(v: Any, key: str) -> bytes:
    if isinstance(v, bytes):
        return v
    if isinstance(v, str):
        return v.encode("utf-8")
    raise InvalidArgumentError(f"feature {key!r}: {v!r} is not a string")


def build_example(features: Mapping[str, Any]) -> example_pb2.Example:
    """A ``tf.train.Example`` from ``{name: value}``: floats -> ``float_list``, ints and
    bools -> ``int64_list``, str (UTF-8) and bytes -> ``bytes_list``."""
    example = example_pb2.Example()
    for key, value in features.items():
        if not isinstance(key, str):
            raise InvalidArgumentError(f"feature names must be strings, got {key!r}")
        example.features.feature[key].CopyFrom(make_feature(value, key))
    return example


def serialize_example(features: Mapping[str, Any]) -> bytes:
    """``build_example(features).SerializeToString()``."""
    return build_example(features).SerializeToString(deterministic=True)


# ------------------------------------------------------------------ feature specs


def _np_type(dtype: Any) -> np.dtype:
    d = np.dtype(object) if dtype in (str, bytes, "string") else np.dtype(dtype)
    if d.kind in "SUO":
        return np.dtype(object)
    if d not in _TYPE_NAMES:
        raise InvalidArgumentError(
            f"a tf.train.Example feature is float32, int64 or string, not {d}")
    return d


@dataclass(frozen=True)
class FixedLenFeature:
    """A dense feature of fixed ``shape`` (``tf.io.FixedLenFeature``)."""

    shape: Sequence[int]
    dtype: Any
    default_value: Any = None


@dataclass(frozen=True)
class FixedLenSequenceFeature:
    """A dense feature whose first dimension varies, padded to the longest example
    (``tf.io.FixedLenSequenceFeature``; TensorFlow requires ``allow_missing=True``)."""

    shape: Sequence[int]
    dtype: Any
    allow_missing: bool = True
    default_value: Any = None


@dataclass(frozen=True)
class VarLenFeature:
    """A variable-length feature, returned as a :class:`SparseValue`."""

    dtype: Any


class SparseValue(NamedTuple):
    """A sparse tensor as three arrays (``tf.SparseTensor``'s fields)."""

    indices: np.ndarray
    values: np.ndarray
    dense_shape: np.ndarray


@dataclass(frozen=True)
class DenseSpec:
    """One dense feature as ParseExample sees it; ``shape[0] == -1`` is variable-length and
    ``default`` is ``None`` for a required feature."""

    key: str
    dtype: np.dtype
    shape: tuple[int, ...]
    default: np.ndarray | None


@dataclass(frozen=True)
class SparseSpec:
    key: str
    dtype: np.dtype


@dataclass(frozen=True)
class RaggedSpec:
    key: str
    dtype: np.dtype
    split_dtype: np.dtype


@dataclass
class Parsed:
    """What :func:`parse_batch` returns, in the order of the specs."""

    sparse_indices: list[np.ndarray]
    sparse_values: list[np.ndarray]
    sparse_shapes: list[np.ndarray]
    dense_values: list[np.ndarray]
    ragged_values: list[np.ndarray]
    ragged_row_splits: list[np.ndarray]


# ------------------------------------------------------------------ parsing


def _decode(raw: Any, index: int, name: str) -> example_pb2.Example:
    if not isinstance(raw, bytes):
        raise InvalidArgumentError(
            f"{_where(name, index)}serialized examples must be bytes, got {type(raw).__name__}")
    example = example_pb2.Example()
    try:
        example.ParseFromString(raw)
    except Exception:  # DecodeError
        raise InvalidArgumentError(
            f"{_where(name, index)}Could not parse example input, value: "
            f"{raw[:40]!r}{'...' if len(raw) > 40 else ''}") from None
    return example


def _where(name: str, index: int, key: str | None = None) -> str:
    parts = [f"Name: {name or '<unknown>'}"]
    if key is not None:
        parts.append(f"Key: {key}")
    parts.append(f"Index: {index}")
    return ", ".join(parts) + ".  "


def _values(example: example_pb2.Example, key: str, dtype: np.dtype, name: str, index: int
            ) -> np.ndarray | None:
    """The values of feature ``key`` (``None`` if absent); a type mismatch is an error."""
    fmap = example.features.feature
    if key not in fmap:
        return None
    feature = fmap[key]
    kind = feature.WhichOneof("kind")
    if kind is None:
        return np.zeros((0,), dtype)
    if _KINDS[kind] != dtype:
        raise InvalidArgumentError(
            f"{_where(name, index, key)}Data types don't match. Data type: "
            f"{_TYPE_NAMES[_KINDS[kind]]} but expected type: {_TYPE_NAMES[dtype]}")
    values = getattr(feature, kind).value
    if dtype.kind == "O":
        out = np.empty(len(values), object)
        out[:] = list(values)
        return out
    return np.asarray(values, dtype=dtype)


def _stride(shape: Sequence[int]) -> int:
    n = 1
    for d in shape:
        n *= int(d)
    return n


def _fill(dtype: np.dtype) -> Any:
    return b"" if dtype.kind == "O" else 0


def parse_batch(serialized: np.ndarray, dense: Sequence[DenseSpec],
                sparse: Sequence[SparseSpec] = (), ragged: Sequence[RaggedSpec] = (),
                names: Sequence[str] = ()) -> Parsed:
    """Parse a scalar or vector of serialized Examples (ParseExample's semantics).

    Vector input: dense outputs are ``[batch, *shape]``; sparse indices are
    ``[n, 2]`` (example, position) with ``dense_shape [batch, longest]``. A scalar input
    drops the batch dimension.
    """
    arr = np.asarray(serialized, dtype=object)
    if arr.ndim > 1:
        raise InvalidArgumentError(
            f"serialized must be a scalar or a vector, got shape {list(arr.shape)}")
    scalar = arr.ndim == 0
    items = [arr.item()] if scalar else list(arr)
    labels = list(names) if len(names) == len(items) else [""] * len(items)
    examples = [_decode(raw, i, labels[i]) for i, raw in enumerate(items)]
    out = Parsed([], [], [], [], [], [])
    for spec in dense:
        out.dense_values.append(_dense(examples, spec, labels, scalar))
    for sspec in sparse:
        idx, vals, shape = _sparse(examples, sspec, labels, scalar)
        out.sparse_indices.append(idx)
        out.sparse_values.append(vals)
        out.sparse_shapes.append(shape)
    for rspec in ragged:
        vals, splits = _ragged(examples, rspec, labels)
        out.ragged_values.append(vals)
        out.ragged_row_splits.append(splits)
    return out


def _dense(examples: list[example_pb2.Example], spec: DenseSpec, labels: list[str],
           scalar: bool) -> np.ndarray:
    variable = bool(spec.shape) and spec.shape[0] == -1
    if variable:
        return _dense_variable(examples, spec, labels, scalar)
    n = _stride(spec.shape)
    default = None
    if spec.default is not None and spec.default.size:
        if spec.default.size not in (1, n):
            raise InvalidArgumentError(
                f"default of {spec.key!r} has {spec.default.size} values, its shape "
                f"{list(spec.shape)} needs {n}")
        default = np.broadcast_to(spec.default.reshape(-1), (n,)).astype(spec.dtype)
    rows = np.empty((len(examples), n), dtype=spec.dtype)
    for i, ex in enumerate(examples):
        values = _values(ex, spec.key, spec.dtype, labels[i], i)
        if values is None:
            if default is None:
                raise InvalidArgumentError(
                    f"{_where(labels[i], i)}Feature: {spec.key} (data type: "
                    f"{_TYPE_NAMES[spec.dtype]}) is required but could not be found.")
            values = default
        elif values.size != n:
            raise InvalidArgumentError(
                f"{_where(labels[i], i, spec.key)}Number of {_TYPE_NAMES[spec.dtype]} "
                f"values != expected.  Values size: {values.size} but output shape: "
                f"[{','.join(str(d) for d in spec.shape)}]")
        rows[i] = values
    shape = tuple(spec.shape) if scalar else (len(examples), *spec.shape)
    return rows.reshape(shape)


def _dense_variable(examples: list[example_pb2.Example], spec: DenseSpec, labels: list[str],
                    scalar: bool) -> np.ndarray:
    inner = tuple(spec.shape[1:])
    stride = _stride(inner)
    pad: Any = _fill(spec.dtype)
    if spec.default is not None and spec.default.size:
        if spec.default.size != 1:
            raise InvalidArgumentError(
                f"default of variable-length feature {spec.key!r} must be one value")
        pad = spec.default.reshape(-1)[0]
    per: list[np.ndarray] = []
    for i, ex in enumerate(examples):
        values = _values(ex, spec.key, spec.dtype, labels[i], i)
        if values is None:
            values = np.zeros((0,), spec.dtype)
        if stride == 0 or values.size % stride:
            raise InvalidArgumentError(
                f"{_where(labels[i], i, spec.key)}Number of {_TYPE_NAMES[spec.dtype]} values "
                f"is not a multiple of stride length. Saw {values.size} values but output "
                f"shape is: [?,{','.join(str(d) for d in inner)}]")
        per.append(values.reshape((-1, *inner)) if stride else values.reshape((0, *inner)))
    longest = max((p.shape[0] for p in per), default=0)
    out = np.full((len(examples), longest, *inner), pad, dtype=spec.dtype)
    for i, p in enumerate(per):
        out[i, :p.shape[0]] = p
    return out[0] if scalar else out


def _sparse(examples: list[example_pb2.Example], spec: SparseSpec, labels: list[str],
            scalar: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    per = []
    for i, ex in enumerate(examples):
        values = _values(ex, spec.key, spec.dtype, labels[i], i)
        per.append(np.zeros((0,), spec.dtype) if values is None else values)
    counts = [p.size for p in per]
    longest = max(counts, default=0)
    values = np.concatenate(per) if per else np.zeros((0,), spec.dtype)
    if spec.dtype == object:
        values = values.astype(object)
    position = np.concatenate([np.arange(c, dtype=np.int64) for c in counts]) if per \
        else np.zeros((0,), np.int64)
    if scalar:
        return position.reshape(-1, 1), values, np.array([longest], np.int64)
    batch = np.repeat(np.arange(len(per), dtype=np.int64), counts)
    return (np.stack([batch, position], axis=1), values,
            np.array([len(per), longest], np.int64))


def _ragged(examples: list[example_pb2.Example], spec: RaggedSpec, labels: list[str]
            ) -> tuple[np.ndarray, np.ndarray]:
    per = []
    for i, ex in enumerate(examples):
        values = _values(ex, spec.key, spec.dtype, labels[i], i)
        per.append(np.zeros((0,), spec.dtype) if values is None else values)
    values = np.concatenate(per) if per else np.zeros((0,), spec.dtype)
    splits = np.concatenate([[0], np.cumsum([p.size for p in per])]).astype(spec.split_dtype)
    return values, splits


# ------------------------------------------------------------------ public parse


FeatureSpec = FixedLenFeature | FixedLenSequenceFeature | VarLenFeature


def _specs(features: Mapping[str, FeatureSpec]) -> tuple[list[DenseSpec], list[SparseSpec]]:
    dense: list[DenseSpec] = []
    sparse: list[SparseSpec] = []
    for key, f in features.items():
        if isinstance(f, VarLenFeature):
            sparse.append(SparseSpec(key, _np_type(f.dtype)))
            continue
        dtype = _np_type(f.dtype)
        shape = tuple(int(d) for d in f.shape)
        if any(d < 0 for d in shape):
            raise InvalidArgumentError(f"feature {key!r}: shape {list(shape)} must be known")
        default = None if f.default_value is None else np.asarray(
            f.default_value, dtype=dtype if dtype.kind != "O" else None)
        if default is not None and dtype.kind == "O":
            default = np.asarray([_as_bytes(v, key) for v in np.asarray(
                default, dtype=object).reshape(-1)], dtype=object)
        if isinstance(f, FixedLenSequenceFeature):
            dense.append(DenseSpec(key, dtype, (-1, *shape), default))
        else:
            dense.append(DenseSpec(key, dtype, shape, default))
    return dense, sparse


def parse_example(serialized: Iterable[bytes] | np.ndarray | bytes,
                  features: Mapping[str, FeatureSpec]) -> dict[str, Any]:
    """Parse serialized Examples (a list, or one ``bytes`` for a single example) into
    ``{key: array}`` (dense features) and ``{key: SparseValue}`` (VarLenFeature)."""
    if isinstance(serialized, bytes):
        arr: np.ndarray = np.empty((), object)
        arr[()] = serialized
    else:
        items = list(serialized)
        arr = np.empty(len(items), object)
        arr[:] = items
    dense, sparse = _specs(features)
    parsed = parse_batch(arr, dense, sparse)
    out: dict[str, Any] = {}
    for spec, value in zip(dense, parsed.dense_values, strict=True):
        out[spec.key] = value
    for sspec, idx, vals, shape in zip(sparse, parsed.sparse_indices, parsed.sparse_values,
                                       parsed.sparse_shapes, strict=True):
        out[sspec.key] = SparseValue(idx, vals, shape)
    return {k: out[k] for k in features}


def parse_single_example(serialized: bytes, features: Mapping[str, FeatureSpec]
                         ) -> dict[str, Any]:
    """:func:`parse_example` of one example, without the batch dimension."""
    return parse_example(serialized, features)


__all__ = [
    "build_example", "serialize_example", "make_feature", "parse_example",
    "parse_single_example", "parse_batch", "FixedLenFeature", "FixedLenSequenceFeature",
    "VarLenFeature", "SparseValue", "DenseSpec", "SparseSpec", "RaggedSpec", "Parsed",
]
