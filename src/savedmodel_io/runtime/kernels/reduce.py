"""Reductions (Sum, Mean, Max, ...), ArgMax/ArgMin and cumulative sums.

TensorFlow reduces integers in their own type (numpy would widen them) and takes the mean
of integers with truncating division; an empty Max gives the lowest value of the type.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from savedmodel_io.runtime.context import BuildContext
from savedmodel_io.runtime.kernels._util import as_array, axes, axis, ints, scalar_int
from savedmodel_io.runtime.registry import KernelFn, Node, kernel

_REDUCE_ATTRS = {"keep_dims": False, "Tidx": 3}


def _lowest(dtype: np.dtype) -> Any:
    if dtype.kind in "iu":
        return np.iinfo(dtype).min
    if dtype == np.bool_:
        return False
    return -np.inf


def _highest(dtype: np.dtype) -> Any:
    if dtype.kind in "iu":
        return np.iinfo(dtype).max
    if dtype == np.bool_:
        return True
    return np.inf


def _sum(x: np.ndarray, ax: tuple[int, ...], keep: bool) -> Any:
    return np.sum(x, axis=ax, keepdims=keep, dtype=x.dtype)


def _mean(x: np.ndarray, ax: tuple[int, ...], keep: bool) -> Any:
    count = 1
    for a in ax:
        count *= x.shape[a]
    if x.dtype.kind in "iu":
        total = np.sum(x, axis=ax, keepdims=keep, dtype=x.dtype)
        if count == 0:
            return np.zeros_like(total)
        q = np.abs(total) // count
        return np.where(total < 0, -q, q).astype(x.dtype)
    if count == 0:  # TensorFlow: NaN (0/0), without numpy's "Mean of empty slice" warning
        total = np.sum(x, axis=ax, keepdims=keep, dtype=x.dtype)
        return np.full_like(total, np.nan)
    if x.dtype.kind in "fc" and x.dtype.itemsize >= 4:
        return np.mean(x, axis=ax, keepdims=keep, dtype=x.dtype)
    # half/bfloat16: accumulate in float32, as TensorFlow does
    return np.mean(x.astype(np.float32), axis=ax, keepdims=keep).astype(x.dtype)


def _max(x: np.ndarray, ax: tuple[int, ...], keep: bool) -> Any:
    return np.max(x, axis=ax, keepdims=keep, initial=_lowest(x.dtype))


def _min(x: np.ndarray, ax: tuple[int, ...], keep: bool) -> Any:
    return np.min(x, axis=ax, keepdims=keep, initial=_highest(x.dtype))


def _prod(x: np.ndarray, ax: tuple[int, ...], keep: bool) -> Any:
    return np.prod(x, axis=ax, keepdims=keep, dtype=x.dtype)


def _all(x: np.ndarray, ax: tuple[int, ...], keep: bool) -> Any:
    return np.all(x, axis=ax, keepdims=keep)


def _any(x: np.ndarray, ax: tuple[int, ...], keep: bool) -> Any:
    return np.any(x, axis=ax, keepdims=keep)


def _euclidean(x: np.ndarray, ax: tuple[int, ...], keep: bool) -> Any:
    return np.sqrt(np.sum(np.square(x), axis=ax, keepdims=keep, dtype=x.dtype))


_REDUCERS = {"Sum": _sum, "Mean": _mean, "Max": _max, "Min": _min, "Prod": _prod,
             "All": _all, "Any": _any, "EuclideanNorm": _euclidean}


@kernel(list(_REDUCERS), attrs=_REDUCE_ATTRS)
def reduction(node: Node, ctx: BuildContext) -> KernelFn:
    fn = _REDUCERS[node.op]
    keep = node.get_bool("keep_dims")

    def run(args: list[Any]) -> tuple[Any, ...]:
        x, idx = args
        ax = axes(ints(idx, node, "reduction_indices"), x.ndim, node) if x.ndim else ()
        if not ax:
            return (x,)
        return (as_array(fn(x, ax, keep)),)
    return run


@kernel(["ArgMax", "ArgMin"], attrs={"Tidx": 3, "output_type": 9})
def arg_max(node: Node, ctx: BuildContext) -> KernelFn:
    out_type = node.get_np_type("output_type")
    pick = np.argmax if node.op == "ArgMax" else np.argmin

    def run(args: list[Any]) -> tuple[Any, ...]:
        x, dim = args
        a = axis(scalar_int(dim, node, "dimension"), x.ndim, node, "dimension")
        if x.shape[a] == 0:
            raise node.error(f"Reduction axis {a} is empty in shape {list(x.shape)}")
        return (as_array(pick(x, axis=a)).astype(out_type),)
    return run


@kernel(["Cumsum", "Cumprod"], outputs=("out",),
        attrs={"exclusive": False, "reverse": False, "Tidx": 3})
def cumulative(node: Node, ctx: BuildContext) -> KernelFn:
    exclusive = node.get_bool("exclusive")
    reverse = node.get_bool("reverse")
    is_sum = node.op == "Cumsum"

    def run(args: list[Any]) -> tuple[Any, ...]:
        x, ax_value = args
        a = axis(scalar_int(ax_value, node, "axis"), x.ndim, node)
        y = np.flip(x, a) if reverse else x
        out = (np.cumsum if is_sum else np.cumprod)(y, axis=a, dtype=x.dtype)
        if exclusive:
            pad = [(0, 0)] * x.ndim
            pad[a] = (1, 0)
            out = np.pad(out, pad, constant_values=0 if is_sum else 1)
            out = np.take(out, np.arange(x.shape[a]), axis=a)
        if reverse:
            out = np.flip(out, a)
        return (np.ascontiguousarray(out),)
    return run
