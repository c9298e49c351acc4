"""Small helpers shared by the kernel modules."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import numpy as np

from savedmodel_io.errors import InvalidArgumentError
from savedmodel_io.runtime.registry import Node


def ints(value: Any, node: Node, what: str) -> list[int]:
    """A 0-d or 1-d integer tensor as a list of Python ints."""
    arr = np.asarray(value)
    if arr.dtype.kind not in "iu":
        raise node.error(f"{what} must be integers, got {arr.dtype}")
    if arr.ndim > 1:
        raise node.error(f"{what} must be a scalar or a vector, got shape {list(arr.shape)}")
    return [int(v) for v in arr.reshape(-1)]


def scalar_int(value: Any, node: Node, what: str) -> int:
    arr = np.asarray(value)
    if arr.dtype.kind not in "iu" or arr.size != 1:
        raise node.error(f"{what} must be one integer, got {arr.dtype} of shape "
                         f"{list(arr.shape)}")
    return int(arr.reshape(-1)[0])


def axis(value: int, rank: int, node: Node, what: str = "axis") -> int:
    """Normalize a possibly negative axis into ``[0, rank)``."""
    if not -rank <= value < max(rank, 1):
        raise node.error(f"{what} {value} is out of range for a tensor of rank {rank} "
                         f"(expected [{-rank}, {rank}))")
    return value % rank if rank else 0


def axes(values: Sequence[int], rank: int, node: Node) -> tuple[int, ...]:
    out = []
    for v in values:
        if not -rank <= v < rank:
            raise node.error(f"axis {v} is out of range for a tensor of rank {rank} "
                             f"(expected [{-rank}, {rank}))")
        out.append(v % rank)
    return tuple(sorted(set(out)))


def shape_str(shape: Sequence[int]) -> str:
    return "[" + ",".join(str(d) for d in shape) + "]"


def as_array(value: Any) -> np.ndarray:
    """numpy returns scalars for 0-d results; kernels hand on arrays."""
    return value if isinstance(value, np.ndarray) else np.asarray(value)


def num_elements(shape: Sequence[int]) -> int:
    n = 1
    for d in shape:
        n *= int(d)
    return n


def check_shape_values(dims: Sequence[int], node: Node, what: str) -> None:
    for d in dims:
        if d < 0:
            raise InvalidArgumentError(
                f"{node.describe()}: {what} has a negative dimension: {shape_str(dims)}")




def owned(x: Any) -> bool:
    """Whether a kernel may write its input ``x`` in place: a writeable array that is no
    view and that nothing but the kernel's argument list and one local name refers to
    (the plan drops a slot before the step that uses it last). Constants, variable values
    and fed inputs are read-only, so they never qualify."""
    return (type(x) is np.ndarray and x.base is None and x.flags.writeable
            and sys.getrefcount(x) <= _OWNED_REFS)


def _calibrate(args: list[Any]) -> int:
    x = args[0]  # the shape of a kernel: the argument list, then one local name
    return _count(x)


def _count(x: Any) -> int:
    return sys.getrefcount(x)


# Reference counts are exact only where CPython's semantics are known (3.10-3.13 with the
# GIL): there the argument list, the local name, owned()'s parameter and getrefcount's
# argument make 4. min() keeps a count inflated by a tracer from loosening the test;
# elsewhere nothing is ever reused in place.
_KNOWN_REFCOUNTS = (sys.implementation.name == "cpython"
                    and (3, 10) <= sys.version_info[:2] <= (3, 13)
                    and getattr(sys, "_is_gil_enabled", lambda: True)())
_OWNED_REFS = min(_calibrate([np.empty(1)]), 4) if _KNOWN_REFCOUNTS else 0
