"""Constants, placeholders, identities, no-ops, and the checking ops (Assert, CheckNumerics)."""

from __future__ import annotations

import sys
from typing import Any

import ml_dtypes
import numpy as np

from savedmodel_io.errors import InvalidArgumentError
from savedmodel_io.runtime.context import BuildContext
from savedmodel_io.runtime.registry import KernelFn, Node, kernel

_BFLOAT16 = np.dtype(ml_dtypes.bfloat16)


@kernel("Const", attrs={})
def const(node: Node, ctx: BuildContext) -> KernelFn:
    value = node.get_tensor("value", max_elements=ctx.limits.max_tensor_elements)
    value.flags.writeable = False
    return lambda args: (value,)


@kernel("Placeholder", attrs={"shape": None})
def placeholder(node: Node, ctx: BuildContext) -> KernelFn:
    def unfed(args: list[Any]) -> tuple[Any, ...]:
        raise node.error("placeholder was not fed")
    return unfed


def _first(args: list[Any]) -> tuple[Any, ...]:
    return (args[0],)


@kernel(["Identity", "Snapshot", "StopGradient", "PlaceholderWithDefault"])
def identity(node: Node, ctx: BuildContext) -> KernelFn:
    return _first


@kernel("PreventGradient", attrs={"message": ""})
def prevent_gradient(node: Node, ctx: BuildContext) -> KernelFn:
    return _first


@kernel("IdentityN", outputs=("output*T",))
def identity_n(node: Node, ctx: BuildContext) -> KernelFn:
    return tuple


@kernel("NoOp", outputs=())
def no_op(node: Node, ctx: BuildContext) -> KernelFn:
    return lambda args: ()


@kernel("EnsureShape")
def ensure_shape(node: Node, ctx: BuildContext) -> KernelFn:
    want = node.get_shape("shape")

    def run(args: list[Any]) -> tuple[Any, ...]:
        x = args[0]
        if want is not None and (len(want) != x.ndim or any(
                w >= 0 and w != g for w, g in zip(want, x.shape, strict=True))):
            raise node.error(f"Shape of tensor {list(x.shape)} is not compatible with "
                             f"expected shape {_shape_text(want)}.")
        return (x,)
    return run


def _shape_text(shape: tuple[int, ...]) -> str:
    return "[" + ",".join("?" if d < 0 else str(d) for d in shape) + "]"


@kernel("CheckNumerics", attrs={}, stateful=True)
def check_numerics(node: Node, ctx: BuildContext) -> KernelFn:
    message = node.get_str("message")

    def run(args: list[Any]) -> tuple[Any, ...]:
        x = args[0]
        if x.dtype.kind in "fc" or x.dtype == _BFLOAT16:
            finite = np.isfinite(x)
            if not finite.all():
                what = ("NaN" if np.isnan(x).any() else "Inf")
                if what == "NaN" and np.isinf(x).any():
                    what = "Inf and NaN"
                raise InvalidArgumentError(f"{message} : Tensor had {what} values")
        return (x,)
    return run


@kernel("Assert", outputs=(), attrs={"summarize": 3}, stateful=True)
def assert_(node: Node, ctx: BuildContext) -> KernelFn:
    summarize = node.get_int("summarize")

    def run(args: list[Any]) -> tuple[Any, ...]:
        cond = np.asarray(args[0])
        if cond.dtype != np.bool_ or cond.size != 1:
            raise node.error(f"condition must be one bool, got {cond.dtype} of shape "
                             f"{list(cond.shape)}")
        if not bool(cond.reshape(-1)[0]):
            shown = ", ".join(_summary(a, summarize) for a in args[1:])
            raise InvalidArgumentError(f"assertion failed: [{shown}]")
        return ()
    return run


def _summary(value: Any, n: int) -> str:
    arr = np.asarray(value)
    flat = arr.reshape(-1)[: max(n, 0)] if arr.ndim else arr.reshape(1)
    items = [v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v) for v in flat]
    more = "..." if arr.size > len(items) else ""
    return " ".join(items) + more if arr.ndim else items[0]


@kernel("Print", attrs={"message": "", "first_n": -1, "summarize": 3}, stateful=True)
def print_(node: Node, ctx: BuildContext) -> KernelFn:
    message = node.get_str("message")
    summarize = node.get_int("summarize")
    first_n = node.get_int("first_n")
    count = [0]

    def run(args: list[Any]) -> tuple[Any, ...]:
        if first_n < 0 or count[0] < first_n:
            count[0] += 1
            shown = "".join(f"[{_summary(a, summarize)}]" for a in args[1:])
            print(f"{message}{shown}", file=sys.stderr)
        return (args[0],)
    return run


@kernel("PrintV2", outputs=(), attrs={"output_stream": "stderr", "end": "\n"}, stateful=True)
def print_v2(node: Node, ctx: BuildContext) -> KernelFn:
    stream = node.get_str("output_stream")
    end = node.get_str("end")
    out = sys.stdout if stream == "stdout" else sys.stderr

    def run(args: list[Any]) -> tuple[Any, ...]:
        v = np.asarray(args[0]).reshape(-1)
        text = v[0].decode("utf-8", "replace") if v.size and isinstance(v[0], bytes) else ""
        print(text, end=end, file=out)
        return ()
    return run
