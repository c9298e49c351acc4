"""Shape and indexing ops: Reshape, Shape, Concat, Pack, Slice, StridedSlice, Gather, Pad...

Ops that allocate from *values* they are given (Fill, Tile, Range, Pad, BroadcastTo, OneHot)
check the size first: a hostile model cannot make them allocate without bound.
"""

from __future__ import annotations

import math
from typing import Any, Literal

import numpy as np

from savedmodel_io.runtime.context import BuildContext
from savedmodel_io.runtime.kernels._util import (
    as_array,
    axis,
    check_shape_values,
    ints,
    num_elements,
    scalar_int,
    shape_str,
)
from savedmodel_io.runtime.registry import KernelFn, Node, kernel

I32 = 3  # DT_INT32
I64 = 9  # DT_INT64


@kernel("Reshape", attrs={"Tshape": I32})
def reshape(node: Node, ctx: BuildContext) -> KernelFn:
    def run(args: list[Any]) -> tuple[Any, ...]:
        x, shape = args
        dims = ints(shape, node, "shape")
        if sum(1 for d in dims if d == -1) > 1 or any(d < -1 for d in dims):
            raise node.error(f"bad target shape {dims}: only one dimension may be -1 and "
                             "none may be below -1")
        known = num_elements([d for d in dims if d != -1])
        if -1 in dims:
            if known == 0 or x.size % known:
                raise node.error(f"Input to reshape is a tensor with {x.size} values, but "
                                 f"the requested shape requires a multiple of {known}")
        elif known != x.size:
            raise node.error(f"Input to reshape is a tensor with {x.size} values, but the "
                             f"requested shape has {known}")
        return (x.reshape(dims),)
    return run


@kernel("Shape", attrs={"out_type": I32})
def shape(node: Node, ctx: BuildContext) -> KernelFn:
    out = node.get_np_type("out_type")
    return lambda args: (np.array(args[0].shape, dtype=out),)


@kernel("ShapeN", outputs=("output*N",), attrs={"out_type": I32})
def shape_n(node: Node, ctx: BuildContext) -> KernelFn:
    out = node.get_np_type("out_type")
    return lambda args: tuple(np.array(a.shape, dtype=out) for a in args)


@kernel("Size", attrs={"out_type": I32})
def size(node: Node, ctx: BuildContext) -> KernelFn:
    out = node.get_np_type("out_type")
    return lambda args: (np.array(args[0].size, dtype=out),)


@kernel("Rank")
def rank(node: Node, ctx: BuildContext) -> KernelFn:
    return lambda args: (np.array(args[0].ndim, dtype=np.int32),)


@kernel("Squeeze", attrs={"squeeze_dims": []})
def squeeze(node: Node, ctx: BuildContext) -> KernelFn:
    dims = node.get_ints("squeeze_dims")

    def run(args: list[Any]) -> tuple[Any, ...]:
        x = args[0]
        if not dims:
            return (x.reshape([d for d in x.shape if d != 1]),)
        ax = {axis(d, x.ndim, node, "squeeze dimension") for d in dims}
        for a in ax:
            if x.shape[a] != 1:
                raise node.error(f"Can not squeeze dim[{a}], expected a dimension of 1, got "
                                 f"{x.shape[a]}")
        return (x.reshape([d for i, d in enumerate(x.shape) if i not in ax]),)
    return run


@kernel("ExpandDims", attrs={"Tdim": I32})
def expand_dims(node: Node, ctx: BuildContext) -> KernelFn:
    def run(args: list[Any]) -> tuple[Any, ...]:
        x, dim = args
        d = scalar_int(dim, node, "dim")
        if not -x.ndim - 1 <= d <= x.ndim:
            raise node.error(f"dim {d} is out of range for a tensor of rank {x.ndim}")
        return (np.expand_dims(x, d if d >= 0 else d + x.ndim + 1),)
    return run


@kernel("Transpose", outputs=("y",), attrs={"Tperm": I32})
def transpose(node: Node, ctx: BuildContext) -> KernelFn:
    def run(args: list[Any]) -> tuple[Any, ...]:
        x, perm = args
        p = ints(perm, node, "perm")
        if sorted(p) != list(range(x.ndim)):
            raise node.error(f"perm {p} is not a permutation of the {x.ndim} dimensions")
        return (np.transpose(x, p),)
    return run


def _concat(node: Node, values: list[Any], ax_value: Any) -> Any:
    first = values[0]
    a = axis(scalar_int(ax_value, node, "axis"), first.ndim, node)
    for v in values[1:]:
        if v.ndim != first.ndim or any(s != t for i, (s, t) in enumerate(
                zip(v.shape, first.shape, strict=True)) if i != a):
            raise node.error(f"ConcatOp : Dimension mismatch: shapes "
                             f"{shape_str(first.shape)} and {shape_str(v.shape)} differ "
                             f"outside axis {a}")
    if len(values) == 1:
        return first
    return np.concatenate(values, axis=a)


@kernel("ConcatV2", attrs={"Tidx": I32})
def concat_v2(node: Node, ctx: BuildContext) -> KernelFn:
    return lambda args: (_concat(node, args[:-1], args[-1]),)


@kernel("Concat")
def concat(node: Node, ctx: BuildContext) -> KernelFn:
    return lambda args: (_concat(node, args[1:], args[0]),)


@kernel("Pack", attrs={"axis": 0})
def pack(node: Node, ctx: BuildContext) -> KernelFn:
    ax = node.get_int("axis")

    def run(args: list[Any]) -> tuple[Any, ...]:
        first = args[0]
        for v in args[1:]:
            if v.shape != first.shape:
                raise node.error(f"Shapes of all inputs must match: {shape_str(first.shape)} "
                                 f"!= {shape_str(v.shape)}")
        a = axis(ax, first.ndim + 1, node)
        return (np.stack(args, axis=a),)
    return run


@kernel("Unpack", outputs=("output*num",), attrs={"axis": 0})
def unpack(node: Node, ctx: BuildContext) -> KernelFn:
    ax = node.get_int("axis")
    num = node.get_int("num")

    def run(args: list[Any]) -> tuple[Any, ...]:
        x = args[0]
        a = axis(ax, x.ndim, node)
        if x.shape[a] != num:
            raise node.error(f"Input shape axis {a} must equal {num}, got shape "
                             f"{shape_str(x.shape)}")
        return tuple(np.take(x, i, axis=a) for i in range(num))
    return run


@kernel("Split", outputs=("output*num_split",))
def split(node: Node, ctx: BuildContext) -> KernelFn:
    num = node.get_int("num_split")

    def run(args: list[Any]) -> tuple[Any, ...]:
        dim, x = args
        a = axis(scalar_int(dim, node, "split_dim"), x.ndim, node)
        if num <= 0 or x.shape[a] % num:
            raise node.error(f"Number of ways to split should evenly divide the split "
                             f"dimension, but got split_dim {a} (size = {x.shape[a]}) and "
                             f"num_split {num}")
        return tuple(np.split(x, num, axis=a))
    return run


@kernel("SplitV", outputs=("output*num_split",), attrs={"Tlen": I64})
def split_v(node: Node, ctx: BuildContext) -> KernelFn:
    def run(args: list[Any]) -> tuple[Any, ...]:
        x, sizes_value, dim = args
        a = axis(scalar_int(dim, node, "split_dim"), x.ndim, node)
        sizes = ints(sizes_value, node, "size_splits")
        if sizes.count(-1) > 1 or any(s < -1 for s in sizes):
            raise node.error(f"bad size_splits {sizes}")
        if -1 in sizes:
            rest = x.shape[a] - sum(s for s in sizes if s != -1)
            sizes[sizes.index(-1)] = rest
        if sum(sizes) != x.shape[a] or any(s < 0 for s in sizes):
            raise node.error(f"size_splits {sizes} do not add up to dimension {a} of size "
                             f"{x.shape[a]}")
        return tuple(np.split(x, np.cumsum(sizes)[:-1].tolist(), axis=a))
    return run


@kernel("Slice", attrs={})
def slice_(node: Node, ctx: BuildContext) -> KernelFn:
    def run(args: list[Any]) -> tuple[Any, ...]:
        x, begin_v, size_v = args
        begin = ints(begin_v, node, "begin")
        sizes = ints(size_v, node, "size")
        if len(begin) != x.ndim or len(sizes) != x.ndim:
            raise node.error(f"begin and size must have {x.ndim} elements, got {begin} and "
                             f"{sizes}")
        index = []
        for d, (b, s) in enumerate(zip(begin, sizes, strict=True)):
            end = x.shape[d] if s == -1 else b + s
            if b < 0 or s < -1 or end > x.shape[d]:
                raise node.error(f"Expected begin[{d}] in [0, {x.shape[d]}] and size[{d}] "
                                 f"in [0, {x.shape[d] - b}], got {b} and {s}")
            index.append(slice(b, end))
        return (x[tuple(index)],)
    return run


@kernel("StridedSlice", attrs={"begin_mask": 0, "end_mask": 0, "ellipsis_mask": 0,
                                "new_axis_mask": 0, "shrink_axis_mask": 0})
def strided_slice(node: Node, ctx: BuildContext) -> KernelFn:
    masks = {k: node.get_int(k) for k in ("begin_mask", "end_mask", "ellipsis_mask",
                                          "new_axis_mask", "shrink_axis_mask")}

    def run(args: list[Any]) -> tuple[Any, ...]:
        x, b, e, s = args
        return (strided_slice_value(node, x, ints(b, node, "begin"), ints(e, node, "end"),
                                    ints(s, node, "strides"), **masks),)
    return run


def strided_slice_value(node: Node, x: np.ndarray, begin: list[int], end: list[int],
                        strides: list[int], *, begin_mask: int, end_mask: int,
                        ellipsis_mask: int, new_axis_mask: int, shrink_axis_mask: int
                        ) -> np.ndarray:
    """TensorFlow's StridedSlice as one numpy basic index (numpy's clamping of slice bounds
    is TensorFlow's); shrunk axes are bounds-checked as TensorFlow does."""
    if not len(begin) == len(end) == len(strides):
        raise node.error(f"begin, end and strides must have the same length, got "
                         f"{len(begin)}, {len(end)} and {len(strides)}")
    index: list[Any] = []
    seen_ellipsis = False
    for i in range(len(begin)):
        bit = 1 << i
        if ellipsis_mask & bit and not seen_ellipsis:
            seen_ellipsis = True
            index.append(Ellipsis)
            continue
        if ellipsis_mask & bit:
            raise node.error("Multiple ellipses in slice spec not allowed")
        if new_axis_mask & bit:
            index.append(None)
            continue
        if strides[i] == 0:
            raise node.error(f"strides[{i}] must be non-zero")
        index.append((i, bit))
    consumed = sum(1 for item in index if isinstance(item, tuple))
    if consumed > x.ndim:
        raise node.error(f"Index out of range using input dim {consumed - 1}; input has only "
                         f"{x.ndim} dims")
    # Map each spec item to its input dimension to bounds-check shrunk axes.
    out: list[Any] = []
    dim = 0
    for pos, item in enumerate(index):
        if item is Ellipsis:
            remaining = sum(1 for it in index[pos + 1:] if isinstance(it, tuple))
            dim = x.ndim - remaining
            out.append(Ellipsis)
            continue
        if item is None:
            out.append(None)
            continue
        i, bit = item
        size_d = x.shape[dim]
        if shrink_axis_mask & bit:
            if strides[i] < 0:
                raise node.error("only stride 1 allowed on non-range indexing.")
            b = begin[i]
            k = b + size_d if b < 0 else b
            if not 0 <= k < size_d:
                raise node.error(f"slice index {b} of dimension {dim} out of bounds.")
            out.append(k)
        else:
            out.append(slice(None if begin_mask & bit else begin[i],
                             None if end_mask & bit else end[i], strides[i]))
        dim += 1
    result: np.ndarray = x[tuple(out)]
    return result


def _check_indices(node: Node, idx: np.ndarray, limit: int) -> None:
    if idx.dtype.kind not in "iu":
        raise node.error(f"indices must be integers, got {idx.dtype}")
    if idx.size and (idx.min() < 0 or idx.max() >= limit):
        bad = np.argwhere((idx < 0) | (idx >= limit))[0]
        where = ",".join(str(int(v)) for v in bad)
        value = int(idx[tuple(bad)])
        raise node.error(f"indices[{where}] = {value} is not in [0, {limit})")


def gather(node: Node, params: np.ndarray, idx: np.ndarray, a: int, batch_dims: int
           ) -> np.ndarray:
    """GatherV2 semantics: out = params[:a] + idx[batch_dims:] + params[a+1:]."""
    if params.ndim == 0:
        raise node.error("params must be at least 1 dimensional")
    _check_indices(node, idx, params.shape[a])
    if batch_dims == 0:
        return np.take(params, idx, axis=a)
    if batch_dims < 0:
        batch_dims += idx.ndim
    if not 0 <= batch_dims <= min(a, idx.ndim) or params.shape[:batch_dims] != \
            idx.shape[:batch_dims]:
        raise node.error(f"batch_dims {batch_dims} does not fit params "
                         f"{shape_str(params.shape)} and indices {shape_str(idx.shape)}")
    batch = params.shape[:batch_dims]
    n = num_elements(batch)
    p = params.reshape((n,) + params.shape[batch_dims:])
    i = idx.reshape((n,) + idx.shape[batch_dims:])
    parts = [np.take(p[k], i[k], axis=a - batch_dims) for k in range(n)]
    out = np.stack(parts) if parts else np.take(p, i, axis=a - batch_dims + 1)[:0]
    return out.reshape(batch + out.shape[1:])


@kernel("GatherV2", attrs={"batch_dims": 0})
def gather_v2(node: Node, ctx: BuildContext) -> KernelFn:
    batch_dims = node.get_int("batch_dims")

    def run(args: list[Any]) -> tuple[Any, ...]:
        params, idx, ax = args
        a = axis(scalar_int(ax, node, "axis"), params.ndim, node)
        return (gather(node, params, idx, a, batch_dims),)
    return run


@kernel("Gather", attrs={"validate_indices": True})
def gather_v1(node: Node, ctx: BuildContext) -> KernelFn:
    return lambda args: (gather(node, args[0], args[1], 0, 0),)


@kernel("GatherNd", attrs={"bad_indices_policy": ""})
def gather_nd(node: Node, ctx: BuildContext) -> KernelFn:
    def run(args: list[Any]) -> tuple[Any, ...]:
        params, idx = args
        if idx.ndim < 1 or idx.shape[-1] > params.ndim:
            raise node.error(f"indices {shape_str(idx.shape)} do not fit params "
                             f"{shape_str(params.shape)}")
        depth = idx.shape[-1]
        for d in range(depth):
            _check_indices(node, idx[..., d], params.shape[d])
        return (params[tuple(idx[..., d] for d in range(depth))],)
    return run


@kernel("Fill", attrs={"index_type": I32})
def fill(node: Node, ctx: BuildContext) -> KernelFn:
    def run(args: list[Any]) -> tuple[Any, ...]:
        dims_v, value = args
        dims = ints(dims_v, node, "dims")
        check_shape_values(dims, node, "dims")
        ctx.check_size(num_elements(dims), node.describe())
        if value.size != 1:
            raise node.error(f"value must be a scalar, got shape {shape_str(value.shape)}")
        return (np.full(dims, value.reshape(()), dtype=value.dtype),)
    return run


@kernel("ZerosLike", outputs=("y",))
def zeros_like(node: Node, ctx: BuildContext) -> KernelFn:
    return lambda args: (np.zeros_like(args[0]),)


@kernel("OnesLike", outputs=("y",))
def ones_like(node: Node, ctx: BuildContext) -> KernelFn:
    return lambda args: (np.ones_like(args[0]),)


@kernel("Tile", attrs={"Tmultiples": I32})
def tile(node: Node, ctx: BuildContext) -> KernelFn:
    def run(args: list[Any]) -> tuple[Any, ...]:
        x, mult_v = args
        mult = ints(mult_v, node, "multiples")
        if len(mult) != x.ndim or any(m < 0 for m in mult):
            raise node.error(f"multiples {mult} must have {x.ndim} non-negative entries")
        ctx.check_size(x.size * num_elements(mult), node.describe())
        return (np.tile(x, mult),)
    return run


def _paddings(node: Node, ctx: BuildContext, x: np.ndarray, pad_v: Any) -> list[tuple[int, int]]:
    pads = np.asarray(pad_v)
    if pads.shape != (x.ndim, 2) or pads.dtype.kind not in "iu":
        raise node.error(f"paddings must be an integer matrix of shape [{x.ndim},2], got "
                         f"{pads.dtype} {shape_str(pads.shape)}")
    out = [(int(a), int(b)) for a, b in pads]
    if any(a < 0 or b < 0 for a, b in out):
        raise node.error(f"paddings must be non-negative, got {out}")
    ctx.check_size(num_elements([d + a + b for d, (a, b) in zip(x.shape, out, strict=True)]),
                   node.describe())
    return out


@kernel("Pad", attrs={"Tpaddings": I32})
def pad(node: Node, ctx: BuildContext) -> KernelFn:
    def run(args: list[Any]) -> tuple[Any, ...]:
        x, p = args
        fill_value = b"" if x.dtype == object else 0
        return (np.pad(x, _paddings(node, ctx, x, p), constant_values=fill_value),)
    return run


@kernel("PadV2", attrs={"Tpaddings": I32})
def pad_v2(node: Node, ctx: BuildContext) -> KernelFn:
    def run(args: list[Any]) -> tuple[Any, ...]:
        x, p, c = args
        if c.size != 1:
            raise node.error("constant_values must be a scalar")
        return (np.pad(x, _paddings(node, ctx, x, p), constant_values=c.reshape(())),)
    return run


@kernel("MirrorPad", attrs={"Tpaddings": I32})
def mirror_pad(node: Node, ctx: BuildContext) -> KernelFn:
    mode = node.get_str("mode").upper()
    if mode not in ("REFLECT", "SYMMETRIC"):
        raise node.error(f"unknown mode {mode!r}")
    np_mode: Literal["reflect", "symmetric"] = "reflect" if mode == "REFLECT" else "symmetric"
    offset = 1 if mode == "REFLECT" else 0

    def run(args: list[Any]) -> tuple[Any, ...]:
        x, p = args
        pads = _paddings(node, ctx, x, p)
        for d, (a, b) in enumerate(pads):
            if max(a, b) > x.shape[d] - offset:
                raise node.error(f"paddings {pads[d]} too large for dimension {d} of size "
                                 f"{x.shape[d]} in {mode} mode")
        return (np.pad(x, pads, mode=np_mode),)
    return run


@kernel("Range", attrs={"Tidx": I32})
def range_(node: Node, ctx: BuildContext) -> KernelFn:
    def run(args: list[Any]) -> tuple[Any, ...]:
        start_v, limit_v, delta_v = args
        for v, what in ((start_v, "start"), (limit_v, "limit"), (delta_v, "delta")):
            if v.size != 1:
                raise node.error(f"{what} must be a scalar, got shape {shape_str(v.shape)}")
        dtype = start_v.dtype
        start, limit, delta = (v.reshape(()).item() for v in (start_v, limit_v, delta_v))
        if delta == 0:
            raise node.error("Requires delta != 0")
        if (delta > 0 and start > limit) or (delta < 0 and start < limit):
            raise node.error(f"Requires start <= limit when delta > 0 (or >= when delta < 0): "
                             f"{start}/{limit}")
        if dtype.kind in "iu":
            n = (abs(limit - start) + abs(delta) - 1) // abs(delta)
        else:
            if not all(math.isfinite(v) for v in (start, limit, delta)):
                raise node.error("start, limit and delta must be finite")
            n = int(math.ceil(abs((limit - start) / delta)))
        ctx.check_size(n, node.describe())
        return ((start + np.arange(n, dtype=dtype) * np.asarray(delta, dtype)).astype(dtype),)
    return run


@kernel("Select")
def select(node: Node, ctx: BuildContext) -> KernelFn:
    def run(args: list[Any]) -> tuple[Any, ...]:
        cond, t, e = args
        if t.shape != e.shape:
            raise node.error(f"'then' and 'else' must have the same shape: "
                             f"{shape_str(t.shape)} vs. {shape_str(e.shape)}")
        if cond.ndim == 0:
            return (t if bool(cond) else e,)
        if cond.shape == t.shape:
            return (np.where(cond, t, e),)
        if cond.ndim == 1 and t.ndim >= 1 and cond.shape[0] == t.shape[0]:
            c = cond.reshape((-1,) + (1,) * (t.ndim - 1))
            return (np.where(c, t, e),)
        raise node.error(f"condition {shape_str(cond.shape)} must be a scalar, a vector "
                         f"matching the first dimension, or match {shape_str(t.shape)}")
    return run


@kernel("SelectV2")
def select_v2(node: Node, ctx: BuildContext) -> KernelFn:
    def run(args: list[Any]) -> tuple[Any, ...]:
        cond, t, e = args
        try:
            out_shape = np.broadcast_shapes(cond.shape, t.shape, e.shape)
        except ValueError:
            raise node.error(f"condition {shape_str(cond.shape)}, then {shape_str(t.shape)} "
                             f"and else {shape_str(e.shape)} are not broadcastable") from None
        ctx.check_size(num_elements(out_shape), node.describe())
        return (as_array(np.where(cond, t, e)),)
    return run


@kernel("Where", outputs=("index",), attrs={"T": 10})
def where(node: Node, ctx: BuildContext) -> KernelFn:
    return lambda args: (np.argwhere(args[0]).astype(np.int64),)


@kernel("OneHot", attrs={"axis": -1, "TI": I64})
def one_hot(node: Node, ctx: BuildContext) -> KernelFn:
    ax = node.get_int("axis")

    def run(args: list[Any]) -> tuple[Any, ...]:
        idx, depth_v, on, off = args
        depth = scalar_int(depth_v, node, "depth")
        if depth < 0:
            raise node.error(f"depth must be non-negative, got {depth}")
        a = idx.ndim if ax == -1 else ax
        if not 0 <= a <= idx.ndim:
            raise node.error(f"axis {ax} is out of range for indices of rank {idx.ndim}")
        ctx.check_size(idx.size * depth, node.describe())
        hot = idx[..., None] == np.arange(depth, dtype=idx.dtype)
        out = np.where(hot, on.reshape(()), off.reshape(()))
        return (np.moveaxis(out, -1, a) if a != idx.ndim else out,)
    return run


@kernel("BroadcastTo", attrs={"Tidx": I32})
def broadcast_to(node: Node, ctx: BuildContext) -> KernelFn:
    def run(args: list[Any]) -> tuple[Any, ...]:
        x, shape_v = args
        dims = ints(shape_v, node, "shape")
        check_shape_values(dims, node, "shape")
        ctx.check_size(num_elements(dims), node.describe())
        try:
            return (np.broadcast_to(x, dims),)
        except ValueError:
            raise node.error(f"Unable to broadcast tensor of shape {shape_str(x.shape)} to "
                             f"tensor of shape {shape_str(dims)}") from None
    return run


@kernel("BroadcastArgs", outputs=("r0",))
def broadcast_args(node: Node, ctx: BuildContext) -> KernelFn:
    def run(args: list[Any]) -> tuple[Any, ...]:
        s0, s1 = args
        try:
            out = np.broadcast_shapes(tuple(ints(s0, node, "s0")), tuple(ints(s1, node, "s1")))
        except ValueError:
            raise node.error(f"Incompatible shapes: {s0.tolist()} vs. {s1.tolist()}") from None
        return (np.array(out, dtype=s0.dtype),)
    return run


@kernel("ReverseV2", attrs={"Tidx": I32})
def reverse_v2(node: Node, ctx: BuildContext) -> KernelFn:
    def run(args: list[Any]) -> tuple[Any, ...]:
        x, ax_v = args
        ax = tuple(axis(a, x.ndim, node) for a in ints(ax_v, node, "axis"))
        return (np.flip(x, ax) if ax else x,)
    return run


@kernel("Einsum", attrs={})
def einsum(node: Node, ctx: BuildContext) -> KernelFn:
    equation = node.get_str("equation").replace(" ", "")

    def run(args: list[Any]) -> tuple[Any, ...]:
        return (as_array(np.einsum(equation, *args, optimize=len(args) > 2)),)
    return run


@kernel("TopKV2", outputs=("values", "indices"),
        attrs={"sorted": True, "Tk": I32, "index_type": I32})
def top_k(node: Node, ctx: BuildContext) -> KernelFn:
    index_type = node.get_np_type("index_type")

    def run(args: list[Any]) -> tuple[Any, ...]:
        x, k_v = args
        k = scalar_int(k_v, node, "k")
        if x.ndim < 1 or not 0 <= k <= x.shape[-1]:
            raise node.error(f"k ({k}) must be in [0, {x.shape[-1] if x.ndim else 0}]")
        # Largest first; among equal values the lower index first (a stable sort).
        order = np.argsort(-x if x.dtype.kind != "u" else ~x, axis=-1, kind="stable")
        idx = order[..., :k]
        return (np.take_along_axis(x, idx, axis=-1), idx.astype(index_type))
    return run


@kernel("Unique", outputs=("y", "idx"), attrs={"out_idx": I32})
def unique(node: Node, ctx: BuildContext) -> KernelFn:
    out_idx = node.get_np_type("out_idx")

    def run(args: list[Any]) -> tuple[Any, ...]:
        x = args[0]
        if x.ndim != 1:
            raise node.error(f"x must be a vector, got shape {shape_str(x.shape)}")
        _, first, inverse = np.unique(x, return_index=True, return_inverse=True)
        # TF lists values in order of first appearance, not sorted.
        order = np.argsort(first, kind="stable")
        rank = np.empty_like(order)
        rank[order] = np.arange(order.size)
        return (x[first[order]], rank[inverse.reshape(-1)].astype(out_idx))
    return run


@kernel("InvertPermutation", outputs=("y",))
def invert_permutation(node: Node, ctx: BuildContext) -> KernelFn:
    def run(args: list[Any]) -> tuple[Any, ...]:
        p = args[0]
        if p.ndim != 1 or sorted(p.tolist()) != list(range(p.size)):
            raise node.error("x is not a permutation of 0..n-1")
        out = np.empty_like(p)
        out[p] = np.arange(p.size, dtype=p.dtype)
        return (out,)
    return run
