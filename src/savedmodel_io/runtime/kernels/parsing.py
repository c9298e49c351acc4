"""tf.Example parsing ops: ParseExample, ParseExampleV2, ParseSingleExample.

The parsing itself is :func:`savedmodel_io.example.parse_batch`; these kernels only map the
op's inputs and attributes onto feature specs and its outputs back into TF's order
(sparse indices, sparse values, sparse shapes, dense values[, ragged values, row splits]).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from savedmodel_io import dtypes
from savedmodel_io.example import DenseSpec, Parsed, RaggedSpec, SparseSpec, parse_batch
from savedmodel_io.runtime.context import BuildContext
from savedmodel_io.runtime.registry import KernelFn, Node, kernel


def _keys(node: Node, value: Any, what: str) -> list[str]:
    arr = np.asarray(value)
    if arr.dtype != object:
        raise node.error(f"{what} must be strings, got {arr.dtype}")
    return [v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)
            for v in arr.reshape(-1)]


def _np(node: Node, dt: Any) -> np.dtype:
    d = dtypes.as_numpy_dtype(dt)
    if d not in (np.dtype(np.float32), np.dtype(np.int64), np.dtype(object)):
        raise node.error(f"example features are float32, int64 or string, not {d}")
    return d


def _dense_specs(node: Node, keys: list[str], defaults: list[Any]) -> list[DenseSpec]:
    types = [_np(node, t) for t in node.get_types("Tdense")]
    shapes = node.get_shapes("dense_shapes")
    if not len(keys) == len(types) == len(shapes) == len(defaults):
        raise node.error(f"dense keys ({len(keys)}), Tdense ({len(types)}), dense_shapes "
                         f"({len(shapes)}) and defaults ({len(defaults)}) must agree")
    specs = []
    for key, dt, shape, default in zip(keys, types, shapes, defaults, strict=True):
        if shape is None or any(d < 0 for d in shape[1:]):
            raise node.error(f"dense feature {key!r} needs a known shape, got {shape}")
        d = np.asarray(default)
        specs.append(DenseSpec(key, dt, tuple(shape), d if d.size else None))
    return specs


def _outputs(parsed: Parsed, ragged: bool) -> tuple[Any, ...]:
    out: list[Any] = [*parsed.sparse_indices, *parsed.sparse_values, *parsed.sparse_shapes,
                      *parsed.dense_values]
    if ragged:
        out += [*parsed.ragged_values, *parsed.ragged_row_splits]
    return tuple(out)


@kernel("ParseExample", outputs=("sparse_indices*Nsparse", "sparse_values*sparse_types",
                                 "sparse_shapes*Nsparse", "dense_values*Tdense"))
def parse_example(node: Node, ctx: BuildContext) -> KernelFn:
    n_sparse = node.get_int("Nsparse")
    n_dense = node.get_int("Ndense")
    sparse_types = [_np(node, t) for t in node.get_types("sparse_types")]
    if len(sparse_types) != n_sparse:
        raise node.error(f"Nsparse is {n_sparse} but sparse_types has {len(sparse_types)}")

    def run(args: list[Any]) -> tuple[Any, ...]:
        serialized, names = args[0], args[1]
        if serialized.ndim != 1:
            raise node.error(f"serialized must be a vector, got shape "
                             f"{list(serialized.shape)}")
        sparse_keys = [_keys(node, v, "sparse_keys")[0] for v in args[2:2 + n_sparse]]
        dense_keys = [_keys(node, v, "dense_keys")[0]
                      for v in args[2 + n_sparse:2 + n_sparse + n_dense]]
        defaults = args[2 + n_sparse + n_dense:]
        sparse = [SparseSpec(k, t) for k, t in zip(sparse_keys, sparse_types, strict=True)]
        parsed = parse_batch(serialized, _dense_specs(node, dense_keys, defaults), sparse,
                             names=_keys(node, names, "names"))
        return _outputs(parsed, ragged=False)
    return run


@kernel("ParseExampleV2", outputs=(
    "sparse_indices*num_sparse", "sparse_values*sparse_types", "sparse_shapes*num_sparse",
    "dense_values*Tdense", "ragged_values*ragged_value_types",
    "ragged_row_splits*ragged_split_types"))
def parse_example_v2(node: Node, ctx: BuildContext) -> KernelFn:
    sparse_types = [_np(node, t) for t in node.get_types("sparse_types")]
    ragged_types = [_np(node, t) for t in node.get_types("ragged_value_types")]
    split_types = [dtypes.as_numpy_dtype(t) for t in node.get_types("ragged_split_types")]

    def run(args: list[Any]) -> tuple[Any, ...]:
        serialized, names, sparse_v, dense_v, ragged_v = args[:5]
        sparse_keys = _keys(node, sparse_v, "sparse_keys")
        ragged_keys = _keys(node, ragged_v, "ragged_keys")
        if len(sparse_keys) != len(sparse_types) or not (
                len(ragged_keys) == len(ragged_types) == len(split_types)):
            raise node.error("the number of sparse/ragged keys does not match their types")
        sparse = [SparseSpec(k, t) for k, t in zip(sparse_keys, sparse_types, strict=True)]
        ragged = [RaggedSpec(k, t, s) for k, t, s in zip(ragged_keys, ragged_types,
                                                          split_types, strict=True)]
        dense = _dense_specs(node, _keys(node, dense_v, "dense_keys"), list(args[5:]))
        parsed = parse_batch(serialized, dense, sparse, ragged,
                             names=_keys(node, names, "names"))
        return _outputs(parsed, ragged=True)
    return run


@kernel("ParseSingleExample", outputs=(
    "sparse_indices*num_sparse", "sparse_values*sparse_types", "sparse_shapes*num_sparse",
    "dense_values*Tdense"))
def parse_single_example(node: Node, ctx: BuildContext) -> KernelFn:
    sparse_types = [_np(node, t) for t in node.get_types("sparse_types")]
    sparse_keys = node.get_strs("sparse_keys")
    dense_keys = node.get_strs("dense_keys")
    if len(sparse_keys) != len(sparse_types):
        raise node.error(f"{len(sparse_keys)} sparse keys but {len(sparse_types)} sparse types")

    def run(args: list[Any]) -> tuple[Any, ...]:
        serialized = args[0]
        if serialized.ndim != 0:
            raise node.error(f"serialized must be a scalar, got shape "
                             f"{list(serialized.shape)}")
        sparse = [SparseSpec(k, t) for k, t in zip(sparse_keys, sparse_types, strict=True)]
        parsed = parse_batch(serialized, _dense_specs(node, dense_keys, list(args[1:])),
                             sparse)
        return _outputs(parsed, ragged=False)
    return run
