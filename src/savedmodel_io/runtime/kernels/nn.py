"""Neural-network ops: MatMul, BiasAdd, convolutions, pooling, batch normalization.

Convolutions run as im2col: for each of the few window offsets, one strided view of the
padded input is copied into its column block (strides and dilations are just the view's
steps), then one matmul with the filter does the rest. Pooling and depthwise convolution
accumulate the same per-offset views with whole-array operations. Geometry follows
TensorFlow: SAME pads ``max((out-1)*stride + eff_k - in, 0)`` with the smaller half before,
VALID pads nothing, EXPLICIT takes the pads from the node. Half-precision inputs are
computed in float32 and rounded back, as TF's CPU kernels do.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import ml_dtypes
import numpy as np

from savedmodel_io.runtime.context import BuildContext
from savedmodel_io.runtime.kernels._util import as_array, owned, shape_str
from savedmodel_io.runtime.registry import KernelFn, Node, kernel

_HALF = frozenset({np.dtype(np.float16), np.dtype(ml_dtypes.bfloat16)})


def _up(x: np.ndarray) -> np.ndarray:
    return x.astype(np.float32) if x.dtype in _HALF else x


def _matmul(a: np.ndarray, b: np.ndarray, out_dtype: np.dtype) -> np.ndarray:
    r = np.matmul(_up(a), _up(b))
    return as_array(r).astype(out_dtype, copy=False)


@kernel("MatMul", outputs=("product",),
        attrs={"transpose_a": False, "transpose_b": False, "grad_a": False, "grad_b": False})
def matmul(node: Node, ctx: BuildContext) -> KernelFn:
    ta = node.get_bool("transpose_a")
    tb = node.get_bool("transpose_b")

    def run(args: list[Any]) -> tuple[Any, ...]:
        a, b = args
        if a.ndim != 2 or b.ndim != 2:
            raise node.error(f"In[0] and In[1] must be matrices, got shapes "
                             f"{shape_str(a.shape)} and {shape_str(b.shape)}")
        a2 = a.T if ta else a
        b2 = b.T if tb else b
        if a2.shape[1] != b2.shape[0]:
            raise node.error(f"Matrix size-incompatible: In[0]: {shape_str(a.shape)}, "
                             f"In[1]: {shape_str(b.shape)}")
        return (_matmul(a2, b2, a.dtype),)
    return run


def _adjoint(x: np.ndarray) -> np.ndarray:
    y = np.swapaxes(x, -1, -2)
    return np.conj(y) if y.dtype.kind == "c" else y


@kernel(["BatchMatMul", "BatchMatMulV2", "BatchMatMulV3"], outputs=("output",),
        attrs={"adj_x": False, "adj_y": False, "grad_x": False, "grad_y": False})
def batch_matmul(node: Node, ctx: BuildContext) -> KernelFn:
    adj_x = node.get_bool("adj_x")
    adj_y = node.get_bool("adj_y")
    out_t = node.get_np_type("Tout") if node.op == "BatchMatMulV3" else None

    def run(args: list[Any]) -> tuple[Any, ...]:
        x, y = args
        if x.ndim < 2 or y.ndim < 2:
            raise node.error(f"inputs must have rank >= 2, got {shape_str(x.shape)} and "
                             f"{shape_str(y.shape)}")
        out = out_t if out_t is not None else x.dtype
        if out_t is not None:
            x, y = x.astype(out_t, copy=False), y.astype(out_t, copy=False)
        x2 = _adjoint(x) if adj_x else x
        y2 = _adjoint(y) if adj_y else y
        if x2.shape[-1] != y2.shape[-2]:
            raise node.error(f"Matrix size-incompatible: In[0]: {shape_str(x.shape)}, "
                             f"In[1]: {shape_str(y.shape)}")
        if node.op == "BatchMatMul" and x2.shape[:-2] != y2.shape[:-2]:
            raise node.error(f"batch dimensions differ: {shape_str(x.shape)} vs. "
                             f"{shape_str(y.shape)}")
        try:
            return (_matmul(x2, y2, out),)
        except ValueError:
            raise node.error(f"In[0] and In[1] must have compatible batch dimensions: "
                             f"{shape_str(x.shape)} vs. {shape_str(y.shape)}") from None
    return run


def _channel_axis(data_format: str, ndim: int, node: Node) -> int:
    if data_format.startswith("NC"):
        return 1
    if data_format.startswith("N") and data_format.endswith("C"):
        return ndim - 1
    raise node.error(f"unknown data_format {data_format!r}")


@kernel("BiasAddV1")
def bias_add_v1(node: Node, ctx: BuildContext) -> KernelFn:
    return bias_add(node, ctx)


@kernel("BiasAdd", attrs={"data_format": "NHWC"})
def bias_add(node: Node, ctx: BuildContext) -> KernelFn:
    fmt = node.get_str("data_format") if node.op == "BiasAdd" else "NHWC"

    def run(args: list[Any]) -> tuple[Any, ...]:
        x, b = args
        if x.ndim < 2 or b.ndim != 1:
            raise node.error(f"value must be at least 2-D and bias 1-D, got "
                             f"{shape_str(x.shape)} and {shape_str(b.shape)}")
        c = _channel_axis(fmt, x.ndim, node)
        if x.shape[c] != b.shape[0]:
            raise node.error(f"Must provide as many biases as the channel dimension of the "
                             f"input tensor: {shape_str(b.shape)} vs. {shape_str(x.shape)}")
        bias = b if c == x.ndim - 1 else b.reshape((-1,) + (1,) * (x.ndim - 2))
        if x.dtype == b.dtype and owned(x):
            np.add(x, bias, out=x)
            return (x,)
        return (x + bias,)
    return run


# ------------------------------------------------------------------ geometry


def _geometry(size: int, k: int, stride: int, dilation: int, padding: str,
              explicit: tuple[int, int], node: Node) -> tuple[int, int, int]:
    """(output size, pad before, pad after) of one spatial dimension."""
    if stride < 1 or dilation < 1 or k < 1:
        raise node.error(f"strides, dilations and window sizes must be positive, got "
                         f"stride {stride}, dilation {dilation}, size {k}")
    eff = (k - 1) * dilation + 1
    if padding == "VALID":
        return ((size - eff) // stride + 1 if size >= eff else 0), 0, 0
    if padding == "SAME":
        out = -(-size // stride)
        total = max((out - 1) * stride + eff - size, 0)
        return out, total // 2, total - total // 2
    if padding == "EXPLICIT":
        before, after = explicit
        if before < 0 or after < 0:
            raise node.error(f"explicit paddings must be non-negative, got {explicit}")
        padded = size + before + after
        return (padded - eff) // stride + 1 if padded >= eff else 0, before, after
    raise node.error(f"unknown padding {padding!r}")


def _spatial(node: Node, key: str, fmt: str) -> tuple[int, int]:
    vals = node.get_ints(key)
    if len(vals) != 4:
        raise node.error(f"{key} must have 4 entries, got {vals}")
    h, w = (vals[2], vals[3]) if fmt == "NCHW" else (vals[1], vals[2])
    others = (vals[0], vals[1]) if fmt == "NCHW" else (vals[0], vals[3])
    if others != (1, 1):
        raise node.error(f"{key} {vals} must be 1 in the batch and depth dimensions")
    return h, w


def _explicit(node: Node, fmt: str) -> tuple[tuple[int, int], tuple[int, int]]:
    p = node.get_ints("explicit_paddings") if node.has("explicit_paddings") else []
    if not p:
        return (0, 0), (0, 0)
    if len(p) != 8:
        raise node.error(f"explicit_paddings must have 8 entries, got {p}")
    if fmt == "NCHW":
        return (p[4], p[5]), (p[6], p[7])
    return (p[2], p[3]), (p[4], p[5])


def _to_nhwc(x: np.ndarray, fmt: str) -> np.ndarray:
    return np.transpose(x, (0, 2, 3, 1)) if fmt == "NCHW" else x


def _from_nhwc(x: np.ndarray, fmt: str) -> np.ndarray:
    return np.transpose(x, (0, 3, 1, 2)) if fmt == "NCHW" else x


def _pad_nhwc(x: np.ndarray, pads: tuple[tuple[int, int], tuple[int, int]],
              fill: Any = 0) -> np.ndarray:
    (pt, pb), (pl, pr) = pads
    if pt or pb or pl or pr:
        return np.pad(x, ((0, 0), (pt, pb), (pl, pr), (0, 0)), constant_values=fill)
    return x


def _shifted(xp: np.ndarray, kh: int, kw: int, strides: tuple[int, int],
             dilations: tuple[int, int], oh: int, ow: int
             ) -> Iterator[tuple[int, int, np.ndarray]]:
    """For each window offset (i, j): the [N, OH, OW, C] view of the padded input that
    offset sees from every output position. Looping over the few offsets with whole-array
    operations beats materializing every window at once."""
    sh, sw = strides
    dh, dw = dilations
    for i in range(kh):
        for j in range(kw):
            h0, w0 = i * dh, j * dw
            yield i, j, xp[:, h0:h0 + (oh - 1) * sh + 1:sh, w0:w0 + (ow - 1) * sw + 1:sw, :]


class _ConvSpec:
    """Attributes of a 2-D convolution node, decoded once."""

    def __init__(self, node: Node) -> None:
        self.fmt = node.get_str("data_format")
        if self.fmt not in ("NHWC", "NCHW"):
            raise node.error(f"data_format {self.fmt!r} is not supported (NHWC or NCHW)")
        self.strides = _spatial(node, "strides", self.fmt)
        self.dilations = _spatial(node, "dilations", self.fmt)
        self.padding = node.get_str("padding")
        self.explicit = _explicit(node, self.fmt)
        self.node = node

    def geometry(self, h: int, w: int, kh: int, kw: int
                 ) -> tuple[int, int, tuple[tuple[int, int], tuple[int, int]]]:
        oh, pt, pb = _geometry(h, kh, self.strides[0], self.dilations[0], self.padding,
                               self.explicit[0], self.node)
        ow, pl, pr = _geometry(w, kw, self.strides[1], self.dilations[1], self.padding,
                               self.explicit[1], self.node)
        return oh, ow, ((pt, pb), (pl, pr))


_CONV_ATTRS = {"use_cudnn_on_gpu": True, "explicit_paddings": [], "data_format": "NHWC",
               "dilations": [1, 1, 1, 1]}


def conv2d_nhwc(x: np.ndarray, w: np.ndarray, spec: _ConvSpec) -> np.ndarray:
    node = spec.node
    n, h, wd, c = x.shape
    kh, kw, cin, cout = w.shape
    if cin == 0 or c % cin:
        raise node.error(f"input depth {c} must be a multiple of the filter's input depth "
                         f"{cin}")
    groups = c // cin
    if cout % groups:
        raise node.error(f"filter output depth {cout} must be a multiple of the number of "
                         f"groups {groups}")
    oh, ow, pads = spec.geometry(h, wd, kh, kw)
    dtype = x.dtype
    xs, ws = _up(x), _up(w)
    if oh <= 0 or ow <= 0:
        return np.zeros((n, max(oh, 0), max(ow, 0), cout), dtype)
    if kh == kw == 1 and spec.strides == (1, 1) and pads == ((0, 0), (0, 0)) and groups == 1:
        out = np.matmul(xs.reshape(-1, c), ws.reshape(cin, cout))
        return as_array(out).reshape(n, oh, ow, cout).astype(dtype, copy=False)
    xp = _pad_nhwc(xs, pads)
    # im2col: one row per output position holding its window, in the filter's
    # (kh, kw, cin) order, so the filter reshapes to the matmul's right side as it is.
    cols = np.empty((n, oh, ow, kh, kw, c), xs.dtype)
    for i, j, view in _shifted(xp, kh, kw, spec.strides, spec.dilations, oh, ow):
        cols[:, :, :, i, j, :] = view
    per_out = cout // groups
    # The result is written into its final 4-D array (not a reshaped view of a 2-D one), so
    # the next op may reuse it in place.
    out = np.empty((n, oh, ow, cout), xs.dtype)
    flat = out.reshape(n * oh * ow, cout)
    if groups == 1:
        np.matmul(cols.reshape(n * oh * ow, kh * kw * c), ws.reshape(kh * kw * cin, cout),
                  out=flat)
    else:
        for g in range(groups):
            cg = cols[..., g * cin:(g + 1) * cin].reshape(n * oh * ow, kh * kw * cin)
            wg = ws[..., g * per_out:(g + 1) * per_out].reshape(kh * kw * cin, per_out)
            flat[:, g * per_out:(g + 1) * per_out] = np.matmul(cg, wg)
    return out.astype(dtype, copy=False)


def _check_rank(node: Node, x: np.ndarray, w: np.ndarray, rank: int = 4) -> None:
    if x.ndim != rank or w.ndim != rank:
        raise node.error(f"input and filter must be {rank}-D, got {shape_str(x.shape)} and "
                         f"{shape_str(w.shape)}")


@kernel("Conv2D", attrs=_CONV_ATTRS)
def conv2d(node: Node, ctx: BuildContext) -> KernelFn:
    spec = _ConvSpec(node)

    def run(args: list[Any]) -> tuple[Any, ...]:
        x, w = args
        _check_rank(node, x, w)
        out = conv2d_nhwc(_to_nhwc(x, spec.fmt), w, spec)
        return (_from_nhwc(out, spec.fmt),)
    return run


@kernel("DepthwiseConv2dNative",
        attrs={"explicit_paddings": [], "data_format": "NHWC", "dilations": [1, 1, 1, 1]})
def depthwise_conv2d(node: Node, ctx: BuildContext) -> KernelFn:
    spec = _ConvSpec(node)

    def run(args: list[Any]) -> tuple[Any, ...]:
        x, w = args
        _check_rank(node, x, w)
        xn = _to_nhwc(x, spec.fmt)
        n, h, wd, c = xn.shape
        kh, kw, cin, mult = w.shape
        if cin != c:
            raise node.error(f"input depth {c} must equal the filter's depth {cin}")
        oh, ow, pads = spec.geometry(h, wd, kh, kw)
        if oh <= 0 or ow <= 0:
            return (_from_nhwc(np.zeros((n, max(oh, 0), max(ow, 0), c * mult), x.dtype),
                               spec.fmt),)
        xp, wu = _pad_nhwc(_up(xn), pads), _up(w)
        acc = np.zeros((n, oh, ow, c, mult), xp.dtype)
        for i, j, view in _shifted(xp, kh, kw, spec.strides, spec.dilations, oh, ow):
            acc += view[..., None] * wu[i, j]
        out = acc.reshape(n, oh, ow, c * mult).astype(x.dtype, copy=False)
        return (_from_nhwc(out, spec.fmt),)
    return run


@kernel("Conv2DBackpropInput", attrs=_CONV_ATTRS)
def conv2d_backprop_input(node: Node, ctx: BuildContext) -> KernelFn:
    spec = _ConvSpec(node)

    def run(args: list[Any]) -> tuple[Any, ...]:
        sizes, w, dy = args
        _check_rank(node, dy, w)
        dims = [int(v) for v in np.asarray(sizes).reshape(-1)]
        if len(dims) != 4 or any(d < 0 for d in dims):
            raise node.error(f"input_sizes must hold 4 non-negative sizes, got {dims}")
        ctx.check_size(int(np.prod(dims)), node.describe())
        n, h, wd, c = (dims[0], dims[2], dims[3], dims[1]) if spec.fmt == "NCHW" else dims
        dyn = _to_nhwc(dy, spec.fmt)
        kh, kw, cin, cout = w.shape
        if cin != c or dyn.shape[3] != cout or dyn.shape[0] != n:
            raise node.error(f"filter {shape_str(w.shape)}, out_backprop "
                             f"{shape_str(dy.shape)} and input_sizes {dims} do not agree")
        oh, ow, ((pt, _), (pl, _)) = spec.geometry(h, wd, kh, kw)
        if dyn.shape[1:3] != (oh, ow):
            raise node.error(f"out_backprop spatial size {dyn.shape[1:3]} should be "
                             f"{(oh, ow)} for input {dims}")
        sh, sw = spec.strides
        dh, dw = spec.dilations
        hp = max((oh - 1) * sh + (kh - 1) * dh + 1, pt + h)
        wp = max((ow - 1) * sw + (kw - 1) * dw + 1, pl + wd)
        acc = np.zeros((n, hp, wp, c), np.float32 if dy.dtype in _HALF else dy.dtype)
        dyu, wu = _up(dyn), _up(w)
        for i in range(kh):
            for j in range(kw):
                contrib = np.matmul(dyu, wu[i, j].T)  # [N,OH,OW,Cin]
                acc[:, i * dh:i * dh + (oh - 1) * sh + 1:sh,
                    j * dw:j * dw + (ow - 1) * sw + 1:sw, :] += contrib
        out = acc[:, pt:pt + h, pl:pl + wd, :].astype(dy.dtype, copy=False)
        return (_from_nhwc(np.ascontiguousarray(out), spec.fmt),)
    return run


# ------------------------------------------------------------------ pooling


class _PoolSpec:
    def __init__(self, node: Node, ksize: list[int], strides: list[int]) -> None:
        self.fmt = node.get_str("data_format")
        if self.fmt not in ("NHWC", "NCHW"):
            raise node.error(f"data_format {self.fmt!r} is not supported (NHWC or NCHW)")
        if len(ksize) != 4 or len(strides) != 4:
            raise node.error(f"ksize and strides must have 4 entries, got {ksize} and "
                             f"{strides}")
        h, w = (2, 3) if self.fmt == "NCHW" else (1, 2)
        rest = [i for i in range(4) if i not in (h, w)]
        if any(ksize[i] != 1 or strides[i] != 1 for i in rest):
            raise node.error(f"pooling over the batch or depth dimension is not supported "
                             f"(ksize {ksize}, strides {strides})")
        self.k = (ksize[h], ksize[w])
        self.s = (strides[h], strides[w])
        self.padding = node.get_str("padding")
        self.explicit = _explicit(node, self.fmt) if node.op == "MaxPool" else ((0, 0), (0, 0))
        self.node = node

    def geometry(self, h: int, w: int) -> tuple[int, int, tuple[tuple[int, int],
                                                                 tuple[int, int]]]:
        oh, pt, pb = _geometry(h, self.k[0], self.s[0], 1, self.padding, self.explicit[0],
                               self.node)
        ow, pl, pr = _geometry(w, self.k[1], self.s[1], 1, self.padding, self.explicit[1],
                               self.node)
        return oh, ow, ((pt, pb), (pl, pr))


def _lowest(dtype: np.dtype) -> Any:
    if dtype.kind in "iu":
        return np.iinfo(dtype).min
    return -np.inf


def max_pool_nhwc(x: np.ndarray, spec: _PoolSpec) -> np.ndarray:
    n, h, w, c = x.shape
    oh, ow, pads = spec.geometry(h, w)
    if oh <= 0 or ow <= 0:
        return np.zeros((n, max(oh, 0), max(ow, 0), c), x.dtype)
    xp = _pad_nhwc(x, pads, fill=_lowest(x.dtype))
    out: np.ndarray | None = None
    for _, _, view in _shifted(xp, spec.k[0], spec.k[1], spec.s, (1, 1), oh, ow):
        if out is None:
            out = view.copy()
        else:
            np.maximum(out, view, out=out)
    assert out is not None
    return out


def _valid_counts(size: int, k: int, s: int, before: int, out: int) -> np.ndarray:
    start = np.arange(out) * s - before
    return np.minimum(start + k, size) - np.maximum(start, 0)


def avg_pool_nhwc(x: np.ndarray, spec: _PoolSpec) -> np.ndarray:
    n, h, w, c = x.shape
    oh, ow, pads = spec.geometry(h, w)
    if oh <= 0 or ow <= 0:
        return np.zeros((n, max(oh, 0), max(ow, 0), c), x.dtype)
    (kh, kw), (sh, sw) = spec.k, spec.s
    xp = _pad_nhwc(_up(x), pads)
    total: np.ndarray | None = None
    for _, _, view in _shifted(xp, kh, kw, (sh, sw), (1, 1), oh, ow):
        if total is None:
            total = view.copy()
        else:
            np.add(total, view, out=total)
    assert total is not None
    if pads == ((0, 0), (0, 0)):
        total /= np.asarray(kh * kw, total.dtype)
    else:  # SAME: each window averages only the input cells it covers
        counts = np.outer(_valid_counts(h, kh, sh, pads[0][0], oh),
                          _valid_counts(w, kw, sw, pads[1][0], ow)).astype(total.dtype)
        total /= counts[None, :, :, None]
    return total.astype(x.dtype, copy=False)


@kernel("MaxPool", attrs={"explicit_paddings": [], "data_format": "NHWC", "T": 1})
def max_pool(node: Node, ctx: BuildContext) -> KernelFn:
    spec = _PoolSpec(node, node.get_ints("ksize"), node.get_ints("strides"))

    def run(args: list[Any]) -> tuple[Any, ...]:
        x = args[0]
        if x.ndim != 4:
            raise node.error(f"input must be 4-D, got {shape_str(x.shape)}")
        return (_from_nhwc(max_pool_nhwc(_to_nhwc(x, spec.fmt), spec), spec.fmt),)
    return run


@kernel("MaxPoolV2", attrs={"data_format": "NHWC", "T": 1})
def max_pool_v2(node: Node, ctx: BuildContext) -> KernelFn:
    def run(args: list[Any]) -> tuple[Any, ...]:
        x, ksize, strides = args
        if x.ndim != 4:
            raise node.error(f"input must be 4-D, got {shape_str(x.shape)}")
        spec = _PoolSpec(node, [int(v) for v in np.asarray(ksize).reshape(-1)],
                         [int(v) for v in np.asarray(strides).reshape(-1)])
        return (_from_nhwc(max_pool_nhwc(_to_nhwc(x, spec.fmt), spec), spec.fmt),)
    return run


@kernel("AvgPool", attrs={"data_format": "NHWC"})
def avg_pool(node: Node, ctx: BuildContext) -> KernelFn:
    spec = _PoolSpec(node, node.get_ints("ksize"), node.get_ints("strides"))

    def run(args: list[Any]) -> tuple[Any, ...]:
        x = args[0]
        if x.ndim != 4:
            raise node.error(f"input must be 4-D, got {shape_str(x.shape)}")
        return (_from_nhwc(avg_pool_nhwc(_to_nhwc(x, spec.fmt), spec), spec.fmt),)
    return run


# ------------------------------------------------------------------ batch normalization


@kernel(["FusedBatchNorm", "FusedBatchNormV2"],
        outputs=("y", "batch_mean", "batch_variance", "reserve_space_1", "reserve_space_2"),
        attrs={"epsilon": 0.0001, "exponential_avg_factor": 1.0, "data_format": "NHWC",
               "is_training": True})
def fused_batch_norm(node: Node, ctx: BuildContext) -> KernelFn:
    return _batch_norm(node, v3=False)


@kernel("FusedBatchNormV3",
        outputs=("y", "batch_mean", "batch_variance", "reserve_space_1", "reserve_space_2",
                 "reserve_space_3"),
        attrs={"epsilon": 0.0001, "exponential_avg_factor": 1.0, "data_format": "NHWC",
               "is_training": True})
def fused_batch_norm_v3(node: Node, ctx: BuildContext) -> KernelFn:
    return _batch_norm(node, v3=True)


def _batch_norm(node: Node, *, v3: bool) -> KernelFn:
    eps = node.get_float("epsilon")
    factor = node.get_float("exponential_avg_factor")
    fmt = node.get_str("data_format")
    training = node.get_bool("is_training")

    def run(args: list[Any]) -> tuple[Any, ...]:
        x, scale, offset, mean, var = args
        c = _channel_axis(fmt, x.ndim, node)
        depth = x.shape[c]
        for v, what in ((scale, "scale"), (offset, "offset")):
            if v.shape != (depth,):
                raise node.error(f"{what} must have shape [{depth}], got {shape_str(v.shape)}")
        shape = [1] * x.ndim
        shape[c] = depth
        xs = x.astype(np.float32) if x.dtype in _HALF else x
        u = scale.dtype
        if training:
            red = tuple(i for i in range(x.ndim) if i != c)
            count = xs.size // max(depth, 1)
            b_mean = as_array(xs.mean(axis=red, dtype=u))
            b_var = as_array(np.square(xs - b_mean.reshape(shape)).mean(axis=red, dtype=u))
            use_mean, use_var = b_mean, b_var
            corrected = b_var * (count / max(count - 1, 1))
            if factor != 1.0 and mean.size and var.size:
                out_mean = (1 - factor) * mean + factor * b_mean
                out_var = (1 - factor) * var + factor * corrected
            else:
                out_mean, out_var = b_mean, corrected
        else:
            for v, what in ((mean, "mean"), (var, "variance")):
                if v.shape != (depth,):
                    raise node.error(f"{what} must have shape [{depth}], got "
                                     f"{shape_str(v.shape)}")
            use_mean, use_var = mean, var
            out_mean, out_var = mean, var
        inv = (scale / np.sqrt(use_var + np.asarray(eps, u))).astype(u, copy=False)
        y = (xs - use_mean.reshape(shape)) * inv.reshape(shape) + offset.reshape(shape)
        y = as_array(y).astype(x.dtype, copy=False)
        outs = [y, as_array(out_mean).astype(u), as_array(out_var).astype(u),
                as_array(use_mean).astype(u), as_array(use_var).astype(u)]
        if v3:
            outs.append(np.zeros((0,), u))
        return tuple(outs)
    return run


@kernel("L2Loss")
def l2_loss(node: Node, ctx: BuildContext) -> KernelFn:
    def run(args: list[Any]) -> tuple[Any, ...]:
        x = args[0]
        return (as_array(np.sum(np.square(_up(x))) / 2).astype(x.dtype),)
    return run
