"""Element-wise math: arithmetic, comparisons, logic, unary functions, activations, casts.

Both operands of a binary op have the same dtype in a valid graph (TF never promotes), so
numpy keeps it. Broadcasting is numpy's, which is TensorFlow's; incompatible shapes give
TensorFlow's "Incompatible shapes: [a] vs. [b]". Integer division by zero is an error, as
in TensorFlow, instead of numpy's silent zero.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from savedmodel_io.runtime.context import BuildContext
from savedmodel_io.runtime.kernels._util import num_elements, owned, shape_str
from savedmodel_io.runtime.registry import KernelFn, Node, kernel

Array = np.ndarray
Binary = Callable[[Array, Array], Any]
Unary = Callable[[Array], Any]


def _arr(value: Any) -> Array:
    return value if type(value) is np.ndarray else np.asarray(value)


def _broadcast(x: Array, y: Array, node: Node, ctx: BuildContext) -> None:
    try:
        shape = np.broadcast_shapes(x.shape, y.shape)
    except ValueError:
        raise node.error(f"Incompatible shapes: {shape_str(x.shape)} vs. "
                         f"{shape_str(y.shape)}") from None
    ctx.check_size(num_elements(shape), f"{node.describe()}: the broadcast result")


# Arithmetic ufuncs whose result has the operands' dtype: may write into an input the
# plan no longer needs instead of allocating (large activations are the common case).
_IN_PLACE: frozenset[Any] = frozenset({np.add, np.subtract, np.multiply, np.true_divide,
                                       np.maximum, np.minimum})


def _binary_kernel(fn: Binary, *, int_check: bool = False) -> Callable[[Node, BuildContext],
                                                                        KernelFn]:
    in_place = fn in _IN_PLACE

    def factory(node: Node, ctx: BuildContext) -> KernelFn:
        def run(args: list[Any]) -> tuple[Any, ...]:
            x, y = args
            if x.shape != y.shape:
                _broadcast(x, y, node, ctx)
            if int_check and x.dtype.kind in "iu" and not np.all(y):
                raise node.error("Integer division by zero")
            if in_place and x.dtype == y.dtype and x.dtype.kind == "f":
                if x.shape == np.broadcast_shapes(x.shape, y.shape) and owned(x):
                    return (fn(x, y, out=x),)  # type: ignore[call-arg]
                if y.shape == np.broadcast_shapes(x.shape, y.shape) and owned(y):
                    return (fn(x, y, out=y),)  # type: ignore[call-arg]
            return (_arr(fn(x, y)),)
        return run
    return factory


def _register_binary(op: str, fn: Binary, *, int_check: bool = False) -> None:
    kernel(op, outputs=("z",))(_binary_kernel(fn, int_check=int_check))


def _truncate_div(x: Array, y: Array) -> Any:
    if x.dtype.kind in "iu":
        q = np.floor_divide(x, y)
        # floor -> toward zero: add one where the signs differ and the division is inexact
        fix = (np.remainder(x, y) != 0) & ((x < 0) != (y < 0))
        return q + fix.astype(q.dtype)
    return np.trunc(np.true_divide(x, y)).astype(x.dtype, copy=False)


def _div(x: Array, y: Array) -> Any:
    if x.dtype.kind in "iu":
        return _truncate_div(x, y)
    return np.true_divide(x, y)


def _add(x: Array, y: Array) -> Any:
    if x.dtype == object:  # string concatenation, as TF's Add on strings
        return np.frompyfunc(lambda a, b: a + b, 2, 1)(x, y)
    return np.add(x, y)


def _div_no_nan(x: Array, y: Array) -> Any:
    out = np.true_divide(x, np.where(y == 0, np.ones_like(y), y))
    return np.where(y == 0, np.zeros_like(out), out)


def _mul_no_nan(x: Array, y: Array) -> Any:
    return np.where(y == 0, np.zeros_like(x), np.multiply(x, y))


def _pow(x: Array, y: Array) -> Any:
    if x.dtype.kind in "iu" and np.any(y < 0):
        raise ValueError("Integers to negative integer powers are not allowed")
    return np.power(x, y)


def _xlogy(x: Array, y: Array) -> Any:
    return np.where(x == 0, np.zeros_like(x), x * np.log(y))


def _xdivy(x: Array, y: Array) -> Any:
    return np.where(x == 0, np.zeros_like(x), x / np.where(x == 0, np.ones_like(y), y))


_BINARY: list[tuple[str, Binary]] = [
    ("AddV2", np.add), ("Sub", np.subtract), ("Mul", np.multiply),
    ("RealDiv", np.true_divide), ("Maximum", np.maximum), ("Minimum", np.minimum),
    ("SquaredDifference", lambda x, y: np.square(np.subtract(x, y))),
    ("Atan2", np.arctan2), ("DivNoNan", _div_no_nan), ("MulNoNan", _mul_no_nan),
    ("Pow", _pow), ("Xlogy", _xlogy), ("Xdivy", _xdivy),
    ("Less", np.less), ("LessEqual", np.less_equal), ("Greater", np.greater),
    ("GreaterEqual", np.greater_equal), ("LogicalAnd", np.logical_and),
    ("LogicalOr", np.logical_or), ("BitwiseAnd", np.bitwise_and),
    ("BitwiseOr", np.bitwise_or), ("BitwiseXor", np.bitwise_xor), ("Add", _add),
]
_INT_DIVISIONS: list[tuple[str, Binary]] = [
    ("Div", _div), ("FloorDiv", np.floor_divide), ("FloorMod", np.remainder),
    ("TruncateDiv", _truncate_div), ("TruncateMod", np.fmod), ("Mod", np.fmod),
]
for _op, _fn in _BINARY:
    _register_binary(_op, _fn)
for _op, _fn in _INT_DIVISIONS:
    _register_binary(_op, _fn, int_check=True)


@kernel(["Equal", "NotEqual"], outputs=("z",), attrs={"incompatible_shape_error": True})
def equal(node: Node, ctx: BuildContext) -> KernelFn:
    strict = node.get_bool("incompatible_shape_error")
    negate = node.op == "NotEqual"

    def run(args: list[Any]) -> tuple[Any, ...]:
        x, y = args
        if x.shape != y.shape:
            try:
                _broadcast(x, y, node, ctx)
            except Exception:
                if strict:
                    raise
                # TF without the shape check: incompatible shapes are simply not equal
                return (np.asarray(negate),)
        out = np.equal(x, y) if x.dtype != object else _object_equal(x, y)
        return (_arr(np.logical_not(out) if negate else out),)
    return run


def _object_equal(x: Array, y: Array) -> Any:
    return np.frompyfunc(lambda a, b: a == b, 2, 1)(x, y).astype(bool)


# ------------------------------------------------------------------ unary


def _register_unary(op: str, fn: Unary, outputs: tuple[str, ...] = ("y",),
                    attrs: dict[str, Any] | None = None) -> None:
    in_place = _IN_PLACE_UNARY.get(op)

    def factory(node: Node, ctx: BuildContext) -> KernelFn:
        if in_place is None:
            return lambda args: (_arr(fn(args[0])),)

        def run(args: list[Any]) -> tuple[Any, ...]:
            x = args[0]
            if x.dtype.kind == "f" and owned(x):
                in_place(x)
                return (x,)
            return (_arr(fn(x)),)
        return run
    kernel(op, outputs=outputs, attrs=attrs)(factory)


def _sigmoid_in_place(x: Array) -> None:
    np.negative(x, out=x)
    np.exp(x, out=x)
    x += np.ones((), x.dtype)
    np.reciprocal(x, out=x)


# Unary ops done in place on an input the plan no longer needs (float inputs only).
_IN_PLACE_UNARY: dict[str, Callable[[Array], Any]] = {
    "Relu": lambda x: np.maximum(x, np.zeros((), x.dtype), out=x),
    "Relu6": lambda x: np.clip(x, np.zeros((), x.dtype), np.asarray(6, x.dtype), out=x),
    "Tanh": lambda x: np.tanh(x, out=x),
    "Sigmoid": _sigmoid_in_place,
    "Exp": lambda x: np.exp(x, out=x),
    "Neg": lambda x: np.negative(x, out=x),
    "Square": lambda x: np.square(x, out=x),
    "Sqrt": lambda x: np.sqrt(x, out=x),
    "Abs": lambda x: np.abs(x, out=x),
}


def _same_dtype(fn: Unary) -> Unary:
    """numpy computes some functions of small floats in float32/64: give the input dtype."""
    def run(x: Array) -> Any:
        return _arr(fn(x)).astype(x.dtype, copy=False)
    return run


def _rsqrt(x: Array) -> Any:
    return np.reciprocal(np.sqrt(x))


def _sigmoid(x: Array) -> Any:
    one = np.ones((), x.dtype)
    return one / (one + np.exp(-x))


def _erf64(x: np.ndarray) -> np.ndarray:
    """erf in float64: Taylor series near zero (exact to rounding), and Numerical Recipes'
    Chebyshev fit of erfc elsewhere (fractional error < 1.2e-7)."""
    x = x.astype(np.float64)
    a = np.abs(x)
    small = a < 0.5
    # Taylor: 2/sqrt(pi) * sum (-1)^n x^(2n+1) / (n! (2n+1)); 12 terms suffice for |x|<0.5
    x2 = x * x
    term = x.copy()
    total = x.copy()
    for n in range(1, 13):
        term = term * (-x2) / n
        total = total + term / (2 * n + 1)
    series = total * (2.0 / np.sqrt(np.pi))
    far = np.sign(x) * (1.0 - _erfc_positive(a))
    out: np.ndarray = np.where(small, series, far)
    return out


def _erfc_positive(a: np.ndarray) -> np.ndarray:
    t = 1.0 / (1.0 + 0.5 * a)
    poly = -1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (
        -0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (
            -0.82215223 + t * 0.17087277))))))))
    with np.errstate(all="ignore"):
        out: np.ndarray = t * np.exp(-a * a + poly)
    return out


def _erf(x: Array) -> Any:
    return _erf64(np.asarray(x)).astype(x.dtype)


def _erfc(x: Array) -> Any:
    x64 = np.asarray(x, np.float64)
    pos = _erfc_positive(np.abs(x64))
    out = np.where(x64 >= 0, pos, 2.0 - pos)
    return np.where(np.abs(x64) < 0.5, 1.0 - _erf64(x64), out).astype(x.dtype)


def _softplus(x: Array) -> Any:
    return np.logaddexp(np.zeros((), x.dtype), x)


def _softsign(x: Array) -> Any:
    return x / (np.ones((), x.dtype) + np.abs(x))


def _relu(x: Array) -> Any:
    return np.maximum(x, np.zeros((), x.dtype))


def _relu6(x: Array) -> Any:
    return np.minimum(np.maximum(x, np.zeros((), x.dtype)), np.asarray(6, x.dtype))


def _elu(x: Array) -> Any:
    return np.where(x > 0, x, np.expm1(x))


_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def _selu(x: Array) -> Any:
    scale = np.asarray(_SELU_SCALE, x.dtype)
    alpha = np.asarray(_SELU_SCALE * _SELU_ALPHA, x.dtype)
    return np.where(x > 0, scale * x, alpha * np.expm1(x))


def _round(x: Array) -> Any:
    return x if x.dtype.kind in "iu" else np.round(x)


def _reciprocal(x: Array) -> Any:
    if x.dtype.kind in "iu":
        return np.floor_divide(np.ones((), x.dtype), x)
    return np.reciprocal(x)


_UNARY: list[tuple[str, Unary]] = [
    ("Neg", np.negative), ("Abs", np.abs), ("Sign", np.sign), ("Sqrt", np.sqrt),
    ("Rsqrt", _rsqrt), ("Exp", np.exp), ("Expm1", np.expm1), ("Log", np.log),
    ("Log1p", np.log1p), ("Square", np.square), ("Reciprocal", _reciprocal),
    ("Inv", _reciprocal), ("Floor", np.floor), ("Ceil", np.ceil), ("Round", _round),
    ("Rint", np.rint), ("Sin", np.sin), ("Cos", np.cos), ("Tan", np.tan), ("Asin", np.arcsin),
    ("Acos", np.arccos), ("Atan", np.arctan), ("Sinh", np.sinh), ("Cosh", np.cosh),
    ("Tanh", np.tanh), ("Asinh", np.arcsinh), ("Acosh", np.arccosh), ("Atanh", np.arctanh),
    ("Sigmoid", _sigmoid), ("Erf", _erf), ("Erfc", _erfc),
    ("IsNan", np.isnan), ("IsInf", np.isinf), ("IsFinite", np.isfinite),
    ("LogicalNot", np.logical_not), ("Invert", np.invert),
]
for _op, _ufn in _UNARY:
    _register_unary(_op, _ufn)
_COMPLEX_PARTS: list[tuple[str, Unary]] = [("Real", np.real), ("Imag", np.imag),
                                           ("Conj", np.conj)]
for _op, _ufn in _COMPLEX_PARTS:
    _register_unary(_op, _ufn, outputs=("output",))

_ACTIVATIONS: list[tuple[str, Unary]] = [
    ("Relu", _relu), ("Relu6", _relu6), ("Elu", _elu), ("Selu", _selu),
    ("Softplus", _softplus), ("Softsign", _softsign)]
for _op, _ufn in _ACTIVATIONS:
    _register_unary(_op, _same_dtype(_ufn), outputs=("activations",))


@kernel("LeakyRelu", outputs=("activations",), attrs={"alpha": 0.2})
def leaky_relu(node: Node, ctx: BuildContext) -> KernelFn:
    alpha = node.get_float("alpha")

    def run(args: list[Any]) -> tuple[Any, ...]:
        x = args[0]
        return (np.where(x > 0, x, x * np.asarray(alpha, x.dtype)),)
    return run


def _softmax(x: Array, node: Node) -> Array:
    if x.ndim < 1:
        raise node.error("logits must have at least one dimension")
    e: Array = np.exp(x - x.max(axis=-1, keepdims=True))
    e /= e.sum(axis=-1, keepdims=True)
    return e


@kernel("Softmax", outputs=("softmax",))
def softmax(node: Node, ctx: BuildContext) -> KernelFn:
    return lambda args: (_softmax(args[0], node),)


@kernel("LogSoftmax", outputs=("logsoftmax",))
def log_softmax(node: Node, ctx: BuildContext) -> KernelFn:
    def run(args: list[Any]) -> tuple[Any, ...]:
        x = args[0]
        if x.ndim < 1:
            raise node.error("logits must have at least one dimension")
        shifted = x - np.max(x, axis=-1, keepdims=True)
        return (_arr(shifted - np.log(np.sum(np.exp(shifted), axis=-1, keepdims=True))),)
    return run


@kernel("ClipByValue")
def clip_by_value(node: Node, ctx: BuildContext) -> KernelFn:
    def run(args: list[Any]) -> tuple[Any, ...]:
        x, lo, hi = args
        for v, what in ((lo, "clip_value_min"), (hi, "clip_value_max")):
            if v.size != 1 and v.shape != x.shape:
                raise node.error(f"{what} must be a scalar or have the shape of t "
                                 f"{shape_str(x.shape)}, got {shape_str(v.shape)}")
        return (_arr(np.minimum(np.maximum(x, lo), hi)),)
    return run


@kernel("AddN", outputs=("sum",))
def add_n(node: Node, ctx: BuildContext) -> KernelFn:
    def run(args: list[Any]) -> tuple[Any, ...]:
        first = args[0]
        for other in args[1:]:
            if other.shape != first.shape:
                raise node.error(f"inputs must have the same shape: {shape_str(first.shape)} "
                                 f"vs. {shape_str(other.shape)}")
        total = first
        for other in args[1:]:
            total = total + other
        return (_arr(total),)
    return run


@kernel("Cast", outputs=("y",), attrs={"Truncate": False})
def cast(node: Node, ctx: BuildContext) -> KernelFn:
    dst = node.get_np_type("DstT")

    def run(args: list[Any]) -> tuple[Any, ...]:
        x = args[0]
        if x.dtype == dst:
            return (x,)
        if (x.dtype.kind == "O") != (dst.kind == "O"):
            raise node.error(f"cannot cast {x.dtype} to {dst} (Cast does not convert "
                             "strings)")
        if dst == np.bool_:
            return (x != 0,)
        if dst.kind in "iu" and x.dtype.kind == "f":
            # float -> int truncates toward zero; NaN and out-of-range become the minimum,
            # as TensorFlow's CPU kernel gives
            info = np.iinfo(dst)
            bad = ~np.isfinite(x) | (x >= float(info.max) + 1) | (x <= float(info.min) - 1)
            out = np.where(bad, np.zeros_like(x), x).astype(dst)
            if bad.any():
                out = np.where(bad, np.asarray(info.min if dst.kind == "i" else 0, dst), out)
            return (out,)
        return (x.astype(dst),)
    return run


@kernel("Bucketize", attrs={})
def bucketize(node: Node, ctx: BuildContext) -> KernelFn:
    boundaries = np.asarray(node.get_floats("boundaries"), np.float64)

    def run(args: list[Any]) -> tuple[Any, ...]:
        x = args[0]
        return (np.searchsorted(boundaries, x.astype(np.float64), side="right")
                .astype(np.int32),)
    return run
