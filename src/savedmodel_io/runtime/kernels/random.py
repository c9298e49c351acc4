"""Random tensors (RandomUniform, RandomStandardNormal, TruncatedNormal, RandomUniformInt).

They appear in TF1 initializers. The values come from numpy's generator, not TensorFlow's
Philox streams: they have the right distribution, dtype and shape, never TF's numbers.
Fixed seeds (``seed``/``seed2``) give the same numbers on every run of one session.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from savedmodel_io.runtime.context import BuildContext
from savedmodel_io.runtime.kernels._util import check_shape_values, ints, num_elements
from savedmodel_io.runtime.registry import KernelFn, Node, kernel

_SEEDS = {"seed": 0, "seed2": 0}


def _generator(node: Node) -> np.random.Generator:
    seed, seed2 = node.get_int("seed"), node.get_int("seed2")
    if seed == 0 and seed2 == 0:
        return np.random.default_rng()
    return np.random.default_rng([seed & 0xFFFFFFFF, seed2 & 0xFFFFFFFF])


def _shape(node: Node, ctx: BuildContext, value: Any) -> list[int]:
    dims = ints(value, node, "shape")
    check_shape_values(dims, node, "shape")
    ctx.check_size(num_elements(dims), node.describe())
    return dims


@kernel(["RandomUniform", "RandomStandardNormal", "TruncatedNormal"], attrs=_SEEDS,
        stateful=True)
def random_float(node: Node, ctx: BuildContext) -> KernelFn:
    dtype = node.get_np_type("dtype")
    rng = _generator(node)
    op = node.op

    def run(args: list[Any]) -> tuple[Any, ...]:
        dims = _shape(node, ctx, args[0])
        if op == "RandomUniform":
            out = rng.random(dims)
        elif op == "RandomStandardNormal":
            out = rng.standard_normal(dims)
        else:  # truncated at two standard deviations by redrawing
            out = rng.standard_normal(dims)
            for _ in range(64):
                bad = np.abs(out) > 2
                if not bad.any():
                    break
                out[bad] = rng.standard_normal(int(bad.sum()))
            out = np.clip(out, -2, 2)
        return (np.asarray(out).astype(dtype),)
    return run


@kernel("RandomUniformInt", attrs=_SEEDS, stateful=True)
def random_uniform_int(node: Node, ctx: BuildContext) -> KernelFn:
    rng = _generator(node)

    def run(args: list[Any]) -> tuple[Any, ...]:
        dims = _shape(node, ctx, args[0])
        lo, hi = args[1], args[2]
        if lo.size != 1 or hi.size != 1 or int(lo.reshape(())) >= int(hi.reshape(())):
            raise node.error("Need minval < maxval, both scalars")
        return (rng.integers(int(lo.reshape(())), int(hi.reshape(())), size=dims)
                .astype(lo.dtype),)
    return run
