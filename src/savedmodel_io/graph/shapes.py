"""Output shapes of common ops, following TensorFlow's C++ shape functions.

``infer(op)`` returns one Shape per output: a tuple with None for unknown sizes, or None
for unknown rank. Ops without a rule here get unknown shapes, which is what TensorFlow
reports for ops it cannot infer either. Inconsistent shapes (e.g. a MatMul of [2, 3] by
[4, 5]) raise InvalidArgumentError naming the op, as TensorFlow rejects them when the
graph is built.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from savedmodel_io import tensor_proto
from savedmodel_io.errors import InvalidArgumentError, SavedModelIOError
from savedmodel_io.graph.tensor import Operation, Shape, shape_from_attr

Dim = int | None
# Constant inputs larger than this are not read (a compact fill could expand hugely).
MAX_CONST = 1 << 16
Rule = Callable[["_Ctx"], list[Shape]]


class _Ctx:
    """What a shape rule sees: the op, its input shapes and constant inputs."""

    def __init__(self, op: Operation) -> None:
        self.op = op

    def fail(self, message: str) -> InvalidArgumentError:
        return InvalidArgumentError(f"op {self.op.name!r} ({self.op.type}): {message}")

    def shape(self, i: int) -> Shape:
        return self.op.inputs[i].shape

    def attr(self, name: str) -> object:
        a = self.op._attrs.get(name)
        return None if a is None else self.op.get_attr(name)

    def const(self, i: int) -> np.ndarray | None:
        """The value of input ``i`` when it is known while building (a Const, or the Shape
        of a fully known tensor)."""
        src = self.op.inputs[i].op
        if src.type == "Const":
            dims = src._attrs["value"].tensor.tensor_shape.dim
            if int(np.prod([max(d.size, 0) for d in dims], dtype=np.float64)) > MAX_CONST:
                return None     # shape arguments are small; do not expand a big fill
            try:
                arr: np.ndarray = tensor_proto.to_numpy(src._attrs["value"].tensor)
            except SavedModelIOError:
                return None
            return arr
        if src.type == "Shape" and src.inputs:
            s = src.inputs[0].shape
            if s is not None and all(d is not None for d in s):
                return np.array(s, dtype=np.int64)
        return None

    def n_out(self) -> int:
        return len(self.op.outputs)


def merge_dim(a: Dim, b: Dim, ctx: _Ctx) -> Dim:
    if a is None:
        return b
    if b is not None and a != b:
        raise ctx.fail(f"dimensions {a} and {b} must be equal")
    return a


def broadcast(x: Shape, y: Shape, ctx: _Ctx) -> Shape:
    """NumPy-style broadcasting with unknown sizes, as TensorFlow's
    BroadcastBinaryOpOutputShapeFn."""
    if x is None or y is None:
        return None
    n = max(len(x), len(y))
    xs = (1,) * (n - len(x)) + tuple(x)
    ys = (1,) * (n - len(y)) + tuple(y)
    out: list[Dim] = []
    for a, b in zip(xs, ys, strict=True):
        if a is not None and b is not None and a != b and a != 1 and b != 1:
            raise ctx.fail(f"incompatible shapes for broadcasting: {list(x)} and {list(y)}")
        if a is not None and a > 1:
            out.append(a)
        elif b is not None and b > 1:
            out.append(b)
        elif a == 1:
            out.append(b)
        elif b == 1:
            out.append(a)
        elif a is None and b is None:
            out.append(None)
        else:
            out.append(merge_dim(a, b, ctx))
    return tuple(out)


def _axis(axis: int, rank: int, ctx: _Ctx) -> int:
    if not -rank <= axis < rank:
        raise ctx.fail(f"axis {axis} is out of range for rank {rank}")
    return axis % rank


def _same(ctx: _Ctx) -> list[Shape]:
    return [ctx.shape(0)] * ctx.n_out()


def _scalar(ctx: _Ctx) -> list[Shape]:
    return [()] * ctx.n_out()


def _binary(ctx: _Ctx) -> list[Shape]:
    return [broadcast(ctx.shape(0), ctx.shape(1), ctx)]


def _const(ctx: _Ctx) -> list[Shape]:
    a = ctx.op._attrs["value"].tensor.tensor_shape
    return [shape_from_attr(a)]


def _shape_attr(ctx: _Ctx) -> list[Shape]:
    return [shape_from_attr(ctx.op._attrs["shape"].shape)]


def _placeholder_with_default(ctx: _Ctx) -> list[Shape]:
    declared = shape_from_attr(ctx.op._attrs["shape"].shape)
    return [declared]


def _read_variable(ctx: _Ctx) -> list[Shape]:
    return [ctx.op.inputs[0].handle_shape]


def _assign(ctx: _Ctx) -> list[Shape]:
    ref, value = ctx.shape(0), ctx.shape(1)
    if ref is None or value is None:
        return [value if ref is None else ref]
    if len(ref) != len(value):
        if ctx.op.type == "Assign" and not ctx.attr("validate_shape"):
            return [value]
        raise ctx.fail(f"shapes {list(ref)} and {list(value)} differ")
    return [tuple(merge_dim(a, b, ctx) for a, b in zip(ref, value, strict=True))]


def _identity_n(ctx: _Ctx) -> list[Shape]:
    return [t.shape for t in ctx.op.inputs]


def _matmul(ctx: _Ctx) -> list[Shape]:
    a, b = ctx.shape(0), ctx.shape(1)
    for s in (a, b):
        if s is not None and len(s) != 2:
            raise ctx.fail(f"inputs must be 2-D, got shape {list(s)}")
    ta, tb = bool(ctx.attr("transpose_a")), bool(ctx.attr("transpose_b"))
    a2 = (None, None) if a is None else (a[::-1] if ta else a)
    b2 = (None, None) if b is None else (b[::-1] if tb else b)
    merge_dim(a2[1], b2[0], ctx)
    return [(a2[0], b2[1])]


def _batch_matmul(ctx: _Ctx) -> list[Shape]:
    a, b = ctx.shape(0), ctx.shape(1)
    if a is None or b is None:
        return [None]
    if len(a) < 2 or len(b) < 2:
        raise ctx.fail("inputs must have rank >= 2")
    if ctx.attr("adj_x"):
        a = (*a[:-2], a[-1], a[-2])
    if ctx.attr("adj_y"):
        b = (*b[:-2], b[-1], b[-2])
    merge_dim(a[-1], b[-2], ctx)
    batch = broadcast(a[:-2], b[:-2], ctx)
    assert batch is not None
    return [(*batch, a[-2], b[-1])]


def _bias_add(ctx: _Ctx) -> list[Shape]:
    v, b = ctx.shape(0), ctx.shape(1)
    if v is None:
        return [None]
    if len(v) < 2:
        raise ctx.fail(f"value must be at least 2-D, got shape {list(v)}")
    channel = len(v) - 3 if ctx.attr("data_format") == b"NCHW" and len(v) >= 3 else len(v) - 1
    out = list(v)
    if b is not None:
        if len(b) != 1:
            raise ctx.fail(f"bias must be 1-D, got shape {list(b)}")
        out[channel] = merge_dim(out[channel], b[0], ctx)
    return [tuple(out)]


def _reshape(ctx: _Ctx) -> list[Shape]:
    x, target = ctx.shape(0), ctx.const(1)
    if target is None:
        s = ctx.shape(1)
        return [None if s is None or not s or s[0] is None else (None,) * int(s[0])]
    dims = [int(d) for d in target.reshape(-1)]
    if dims.count(-1) > 1:
        raise ctx.fail("only one dimension of the new shape may be -1")
    out: list[Dim] = [None if d == -1 else d for d in dims]
    known = int(np.prod([d for d in dims if d != -1]))
    if x is not None and all(d is not None for d in x):
        total = int(np.prod([d for d in x if d is not None]))
        if -1 in dims:
            if known == 0 or total % known:
                raise ctx.fail(f"cannot reshape {list(x)} to {dims}")
            out[dims.index(-1)] = total // known
        elif total != known:
            raise ctx.fail(f"cannot reshape a tensor of {total} elements to {dims}")
    return [tuple(out)]


def _transpose(ctx: _Ctx) -> list[Shape]:
    x, perm = ctx.shape(0), ctx.const(1)
    if perm is None:
        p = ctx.shape(1)
        if x is not None:
            return [(None,) * len(x)]
        return [None if p is None or not p or p[0] is None else (None,) * int(p[0])]
    order = [int(i) for i in perm.reshape(-1)]
    if x is None:
        return [(None,) * len(order)]
    if sorted(order) != list(range(len(x))):
        raise ctx.fail(f"perm {order} is not a permutation of the {len(x)} dimensions")
    return [tuple(x[i] for i in order)]


def _concat(ctx: _Ctx) -> list[Shape]:
    n = len(ctx.op.inputs) - 1
    axis_v = ctx.const(n)
    shapes = [ctx.shape(i) for i in range(n)]
    rank = next((len(s) for s in shapes if s is not None), None)
    if rank is None:
        return [None]
    if axis_v is None:
        return [(None,) * rank]
    axis = _axis(int(axis_v), rank, ctx)
    out: list[Dim] = [None] * rank
    total: Dim = 0
    for s in shapes:
        if s is None:
            total = None
            continue
        if len(s) != rank:
            raise ctx.fail(f"inputs have ranks {rank} and {len(s)}")
        for i, d in enumerate(s):
            if i == axis:
                total = None if total is None or d is None else total + d
            else:
                out[i] = merge_dim(out[i], d, ctx)
    out[axis] = total
    return [tuple(out)]


def _pack(ctx: _Ctx) -> list[Shape]:
    shape: Shape = ()
    first = True
    for t in ctx.op.inputs:
        s = t.shape
        if first:
            shape, first = s, False
        elif shape is None:
            shape = s
        elif s is not None:
            if len(s) != len(shape):
                raise ctx.fail("all packed tensors must have the same rank")
            shape = tuple(merge_dim(a, b, ctx) for a, b in zip(shape, s, strict=True))
    if shape is None:
        return [None]
    axis = int(ctx.attr("axis"))  # type: ignore[call-overload]
    axis = _axis(axis, len(shape) + 1, ctx)
    out = list(shape)
    out.insert(axis, len(ctx.op.inputs))
    return [tuple(out)]


def _squeeze(ctx: _Ctx) -> list[Shape]:
    x = ctx.shape(0)
    if x is None:
        return [None]
    dims = [_axis(int(d), len(x), ctx) for d in ctx.attr("squeeze_dims") or []]  # type: ignore[attr-defined]
    out = []
    for i, d in enumerate(x):
        if dims:
            if i in dims:
                if d is not None and d != 1:
                    raise ctx.fail(f"cannot squeeze dimension {i} of size {d}")
                continue
        elif d == 1:
            continue
        elif d is None:
            return [None]
        out.append(d)
    return [tuple(out)]


def _expand_dims(ctx: _Ctx) -> list[Shape]:
    x, axis_v = ctx.shape(0), ctx.const(1)
    if x is None:
        return [None]
    if axis_v is None:
        return [(None,) * (len(x) + 1)]
    axis = _axis(int(axis_v.reshape(-1)[0]), len(x) + 1, ctx)
    out = list(x)
    out.insert(axis, 1)
    return [tuple(out)]


def _reduce(ctx: _Ctx) -> list[Shape]:
    x, axes_v = ctx.shape(0), ctx.const(1)
    keep = bool(ctx.attr("keep_dims"))
    if x is None:
        return [None]
    if axes_v is None:
        return [(None,) * len(x) if keep else None]
    axes = {_axis(int(a), len(x), ctx) for a in axes_v.reshape(-1)} if len(x) else set()
    if keep:
        return [tuple(1 if i in axes else d for i, d in enumerate(x))]
    return [tuple(d for i, d in enumerate(x) if i not in axes)]


def _arg_minmax(ctx: _Ctx) -> list[Shape]:
    x, axis_v = ctx.shape(0), ctx.const(1)
    if x is None:
        return [None]
    if axis_v is None:
        return [(None,) * (len(x) - 1)]
    axis = _axis(int(axis_v.reshape(-1)[0]), len(x), ctx)
    return [tuple(d for i, d in enumerate(x) if i != axis)]


def _shape_op(ctx: _Ctx) -> list[Shape]:
    x = ctx.shape(0)
    return [(None if x is None else len(x),)]


def _shape_n(ctx: _Ctx) -> list[Shape]:
    return [(None if t.shape is None else len(t.shape),) for t in ctx.op.inputs]


def _fill(ctx: _Ctx) -> list[Shape]:
    dims = ctx.const(0)
    if dims is None:
        s = ctx.shape(0)
        return [None if s is None or not s or s[0] is None else (None,) * int(s[0])]
    return [tuple(int(d) for d in dims.reshape(-1))]


def _select(ctx: _Ctx) -> list[Shape]:
    t, e = ctx.shape(1), ctx.shape(2)
    if t is None:
        return [e]
    if e is None:
        return [t]
    if len(t) != len(e):
        raise ctx.fail(f"then and else shapes differ: {list(t)} and {list(e)}")
    return [tuple(merge_dim(a, b, ctx) for a, b in zip(t, e, strict=True))]


def _select_v2(ctx: _Ctx) -> list[Shape]:
    return [broadcast(broadcast(ctx.shape(0), ctx.shape(1), ctx), ctx.shape(2), ctx)]


def _gather(ctx: _Ctx) -> list[Shape]:
    params, indices, axis_v = ctx.shape(0), ctx.shape(1), ctx.const(2)
    batch = int(ctx.attr("batch_dims") or 0)  # type: ignore[call-overload]
    if params is None or indices is None or axis_v is None:
        return [None]
    axis = _axis(int(axis_v.reshape(-1)[0]), len(params), ctx)
    return [(*params[:axis], *indices[batch:], *params[axis + 1:])]


def _conv_out(size: Dim, window: int, stride: int, dilation: int, same: bool) -> Dim:
    if size is None:
        return None
    if same:
        return -(-size // stride)
    eff = (window - 1) * dilation + 1
    return max(0, (size - eff) // stride + 1)


def _spatial(ctx: _Ctx, x: Shape, window_hw: tuple[int, int], channels: Dim) -> list[Shape]:
    if x is None:
        return [None]
    if len(x) != 4:
        raise ctx.fail(f"input must be 4-D, got shape {list(x)}")
    nchw = ctx.attr("data_format") == b"NCHW"
    strides = list(ctx.attr("strides"))  # type: ignore[call-overload]
    dil = list(ctx.attr("dilations") or [1, 1, 1, 1])  # type: ignore[call-overload]
    padding = ctx.attr("padding")
    if padding not in (b"SAME", b"VALID"):
        hw: tuple[Dim, Dim] = (None, None)
    else:
        same = padding == b"SAME"
        h_i, w_i = (2, 3) if nchw else (1, 2)
        hw = (_conv_out(x[h_i], window_hw[0], strides[h_i], dil[h_i], same),
              _conv_out(x[w_i], window_hw[1], strides[w_i], dil[w_i], same))
    if nchw:
        return [(x[0], channels, hw[0], hw[1])]
    return [(x[0], hw[0], hw[1], channels)]


def _conv2d(ctx: _Ctx) -> list[Shape]:
    x, f = ctx.shape(0), ctx.shape(1)
    if f is None or x is None:
        return [None if x is None else (x[0], None, None, None)]
    if f[0] is None or f[1] is None:
        return [(x[0], None, None, None)]
    return _spatial(ctx, x, (f[0], f[1]), f[3])


def _pool(ctx: _Ctx) -> list[Shape]:
    x = ctx.shape(0)
    k = list(ctx.attr("ksize"))  # type: ignore[call-overload]
    nchw = ctx.attr("data_format") == b"NCHW"
    if x is None:
        return [None]
    channels = x[1] if nchw else x[3] if len(x) == 4 else None
    window = (k[2], k[3]) if nchw else (k[1], k[2])
    return _spatial(ctx, x, window, channels)


def _one_hot(ctx: _Ctx) -> list[Shape]:
    idx, depth_v = ctx.shape(0), ctx.const(1)
    if idx is None:
        return [None]
    depth = None if depth_v is None else int(depth_v)
    axis = int(ctx.attr("axis"))  # type: ignore[call-overload]
    out = list(idx)
    out.insert(len(idx) if axis == -1 else axis, depth)
    return [tuple(out)]


def _top_k(ctx: _Ctx) -> list[Shape]:
    x, k_v = ctx.shape(0), ctx.const(1)
    if x is None:
        return [None, None]
    k = None if k_v is None else int(k_v)
    s = (*x[:-1], k)
    return [s, s]


def _tile(ctx: _Ctx) -> list[Shape]:
    x, m = ctx.shape(0), ctx.const(1)
    if x is None:
        return [None]
    if m is None:
        return [(None,) * len(x)]
    multiples = [int(k) for k in m.reshape(-1)]
    if len(multiples) != len(x):
        raise ctx.fail(f"multiples has {len(multiples)} entries for an input of rank {len(x)}")
    return [tuple(None if d is None else d * k for d, k in zip(x, multiples, strict=True))]


def _where(ctx: _Ctx) -> list[Shape]:
    x = ctx.shape(0)
    return [(None, None if x is None else len(x))]


def _add_n(ctx: _Ctx) -> list[Shape]:
    out: Shape = None
    for t in ctx.op.inputs:
        if t.shape is None:
            continue
        if out is None:
            out = t.shape
        elif len(out) != len(t.shape):
            raise ctx.fail("all inputs must have the same shape")
        else:
            out = tuple(merge_dim(a, b, ctx) for a, b in zip(out, t.shape, strict=True))
    return [out]


def _range(ctx: _Ctx) -> list[Shape]:
    vals = [ctx.const(i) for i in range(3)]
    if any(v is None for v in vals):
        return [(None,)]
    start, limit, delta = (float(v) for v in vals)  # type: ignore[arg-type]
    if delta == 0:
        raise ctx.fail("delta must not be 0")
    return [(max(0, int(np.ceil((limit - start) / delta))),)]


def _parse_example(ctx: _Ctx) -> list[Shape]:
    serialized = ctx.shape(0)
    rank = None if serialized is None else len(serialized)
    op = ctx.op
    v2 = op.type == "ParseExampleV2"
    n_sparse = int(op.get_attr("num_sparse" if v2 else "Nsparse"))
    dense_shapes = op.get_attr("dense_shapes") or []
    out: list[Shape] = []
    idx_rank = None if rank is None else rank + 1
    out += [(None, idx_rank)] * n_sparse
    out += [(None,)] * n_sparse
    out += [(idx_rank,)] * n_sparse
    for ds in dense_shapes:
        out.append(None if serialized is None or ds is None else (*serialized, *ds))
    if v2:
        n_ragged = len(op.get_attr("ragged_value_types") or [])
        out += [(None,)] * (2 * n_ragged)
    return out[: ctx.n_out()] + [None] * (ctx.n_out() - len(out))


def _strided_slice(ctx: _Ctx) -> list[Shape]:
    x = ctx.shape(0)
    vals = [ctx.const(i) for i in (1, 2, 3)]
    if x is None or any(v is None for v in vals):
        return [None]
    begin, end, strides = ([int(d) for d in v.reshape(-1)] for v in vals)  # type: ignore[union-attr]
    n = len(begin)
    if len(end) != n or len(strides) != n:
        raise ctx.fail("begin, end and strides must have the same length")
    mask = {k: int(ctx.attr(f"{k}_mask") or 0)  # type: ignore[call-overload]
            for k in ("begin", "end", "ellipsis", "new_axis", "shrink_axis")}
    if not mask["ellipsis"]:  # an implicit ellipsis after the last given dimension
        mask["ellipsis"] = 1 << n
        n += 1
        begin, end, strides = begin + [0], end + [0], strides + [1]
    rank = len(x)
    out: list[Dim] = []
    full = 0
    for i in range(n):
        bit = 1 << i
        if mask["ellipsis"] & bit:
            after = sum(1 for j in range(i + 1, n) if mask["new_axis"] & (1 << j))
            stop = min(rank - (n - i) + 1 + after, rank)
            out.extend(x[full:stop])
            full = max(full, stop)
            continue
        if mask["new_axis"] & bit:
            out.append(1)
            continue
        if full >= rank:
            raise ctx.fail(f"slice index {i} is out of range for rank {rank}")
        d, b, e, st = x[full], begin[i], end[i], strides[i]
        full += 1
        if st == 0:
            raise ctx.fail("strides must be non-zero")
        if mask["shrink_axis"] & bit:
            if d is not None and not -d <= b < d:
                raise ctx.fail(f"index {b} is out of range for a dimension of size {d}")
            continue
        if d is None:
            out.append(None)
            continue
        out.append(_slice_size(d, b, e, st, bool(mask["begin"] & bit), bool(mask["end"] & bit)))
    return [tuple(out)]


def _slice_size(d: int, b: int, e: int, st: int, b_masked: bool, e_masked: bool) -> int:
    def canonical(x: int, masked: bool, is_begin: bool) -> int:
        if masked:
            if st > 0:
                return 0 if is_begin else d
            return d - 1 if is_begin else -1
        x = d + x if x < 0 else x
        lo, hi = (0, d) if st > 0 else (-1, d - 1)
        return min(max(x, lo), hi)

    length = canonical(e, e_masked, False) - canonical(b, b_masked, True)
    if length == 0 or (length > 0) != (st > 0):
        return 0
    q, r = divmod(abs(length), abs(st))
    return q + (1 if r else 0)


def _slice(ctx: _Ctx) -> list[Shape]:
    x, begin, size = ctx.shape(0), ctx.const(1), ctx.const(2)
    if size is None:
        s = ctx.shape(2)
        n = None if s is None or not s else s[0]
        return [None if n is None else (None,) * n]
    sizes = [int(v) for v in size.reshape(-1)]
    starts = None if begin is None else [int(v) for v in begin.reshape(-1)]
    out: list[Dim] = []
    for i, n in enumerate(sizes):
        if n != -1:
            out.append(n)
        elif x is not None and starts is not None and x[i] is not None:
            out.append(x[i] - starts[i])  # type: ignore[operator]
        else:
            out.append(None)
    return [tuple(out)]


def _split(ctx: _Ctx) -> list[Shape]:
    axis_v, x = ctx.const(0), ctx.shape(1)
    n = ctx.n_out()
    if x is None:
        return [None] * n
    if axis_v is None:
        return [(None,) * len(x)] * n
    axis = _axis(int(axis_v), len(x), ctx)
    d = x[axis]
    if d is not None and d % n:
        raise ctx.fail(f"dimension {axis} of size {d} does not split into {n} parts")
    out = list(x)
    out[axis] = None if d is None else d // n
    return [tuple(out)] * n


def _split_v(ctx: _Ctx) -> list[Shape]:
    x, sizes_v, axis_v = ctx.shape(0), ctx.const(1), ctx.const(2)
    n = ctx.n_out()
    if x is None:
        return [None] * n
    if sizes_v is None or axis_v is None:
        return [(None,) * len(x)] * n
    axis = _axis(int(axis_v), len(x), ctx)
    sizes: list[Dim] = [int(v) for v in sizes_v.reshape(-1)]
    if -1 in sizes:
        known = sum(s for s in sizes if s is not None and s != -1)
        d = x[axis]
        sizes[sizes.index(-1)] = None if d is None else d - known
    outs: list[Shape] = []
    for size in sizes:
        shape = list(x)
        shape[axis] = size
        outs.append(tuple(shape))
    return outs


def _unpack(ctx: _Ctx) -> list[Shape]:
    x = ctx.shape(0)
    n = ctx.n_out()
    if x is None:
        return [None] * n
    axis = _axis(int(ctx.attr("axis")), len(x), ctx)  # type: ignore[call-overload]
    return [tuple(d for i, d in enumerate(x) if i != axis)] * n


def _pad(ctx: _Ctx) -> list[Shape]:
    x, pads = ctx.shape(0), ctx.const(1)
    if pads is None:
        s = ctx.shape(1)
        rank = len(x) if x is not None else (None if s is None or not s else s[0])
        return [None if rank is None else (None,) * rank]
    if pads.ndim != 2 or pads.shape[1] != 2 or (x is not None and pads.shape[0] != len(x)):
        raise ctx.fail(f"paddings must have shape [rank, 2], got {list(pads.shape)}")
    if x is None:
        return [(None,) * len(pads)]
    return [tuple(None if d is None else d + int(a) + int(b)
                  for d, (a, b) in zip(x, pads.tolist(), strict=True))]


def _broadcast_to(ctx: _Ctx) -> list[Shape]:
    shape = ctx.const(1)
    if shape is None:
        s = ctx.shape(1)
        return [None if s is None or not s or s[0] is None else (None,) * int(s[0])]
    return [tuple(int(d) for d in shape.reshape(-1))]


def _resize(ctx: _Ctx) -> list[Shape]:
    x, size = ctx.shape(0), ctx.const(1)
    hw: tuple[Dim, Dim] = (None, None) if size is None else (int(size[0]), int(size[1]))
    if x is None:
        return [(None, *hw, None)]
    return [(x[0], *hw, x[3])]


def _batch_norm(ctx: _Ctx) -> list[Shape]:
    x = ctx.shape(0)
    nchw = ctx.attr("data_format") == b"NCHW"
    channels: Dim = None
    if x is not None:
        channels = x[1] if nchw else x[-1]
    for i in range(1, 5):
        s = ctx.shape(i)
        if s is not None and s:
            channels = merge_dim(channels, s[0], ctx)
    vec: Shape = (channels,)
    out = [x, vec, vec, vec, vec]
    if ctx.n_out() > 5:
        out.append(None)
    return out


def _gather_nd(ctx: _Ctx) -> list[Shape]:
    params, indices = ctx.shape(0), ctx.shape(1)
    if params is None or indices is None or not indices or indices[-1] is None:
        return [None]
    return [(*indices[:-1], *params[indices[-1]:])]


def _depthwise(ctx: _Ctx) -> list[Shape]:
    x, f = ctx.shape(0), ctx.shape(1)
    if x is None or f is None or f[0] is None or f[1] is None:
        return [None if x is None else (x[0], None, None, None)]
    channels = None if f[2] is None or f[3] is None else f[2] * f[3]
    return _spatial(ctx, x, (f[0], f[1]), channels)


def _einsum(ctx: _Ctx) -> list[Shape]:
    eq = ctx.attr("equation")
    text = eq.decode() if isinstance(eq, bytes) else ""
    if "..." in text or "->" not in text:
        return [None]
    lhs, rhs = text.replace(" ", "").split("->")
    terms = lhs.split(",")
    if len(terms) != len(ctx.op.inputs):
        raise ctx.fail(f"equation {text!r} does not match {len(ctx.op.inputs)} inputs")
    sizes: dict[str, Dim] = {}
    for term, t in zip(terms, ctx.op.inputs, strict=True):
        if t.shape is None:
            continue
        if len(term) != len(t.shape):
            raise ctx.fail(f"input of shape {list(t.shape)} does not match {term!r}")
        for letter, d in zip(term, t.shape, strict=True):
            if sizes.get(letter) is None or sizes.get(letter) == 1:
                sizes[letter] = d if d != 1 or sizes.get(letter) is None else sizes[letter]
    return [tuple(sizes.get(letter) for letter in rhs)]


def _unary_list(*names: str) -> dict[str, Rule]:
    return {n: _same for n in names}


RULES: dict[str, Rule] = {
    **_unary_list("Identity", "StopGradient", "CheckNumerics", "Relu", "Relu6", "Elu",
                  "Selu", "LeakyRelu", "Sigmoid", "Tanh", "Softmax", "LogSoftmax", "Softplus",
                  "Softsign", "Cast", "Neg", "Abs", "Exp", "Log", "Log1p", "Sqrt", "Rsqrt",
                  "Square", "Reciprocal", "Sign", "Floor", "Ceil", "Round", "Erf", "Sin",
                  "Cos", "LogicalNot", "ZerosLike", "OnesLike", "StaticRegexFullMatch",
                  "StringToHashBucketFast", "StringToNumber", "Cumsum"),
    **{n: _assign for n in ("Assign", "AssignAdd", "AssignSub")},
    **{n: _binary for n in (
        "Add", "AddV2", "Sub", "Mul", "RealDiv", "DivNoNan", "FloorDiv", "FloorMod", "Maximum",
        "Minimum", "Pow", "SquaredDifference", "Equal", "NotEqual", "Less", "LessEqual",
        "Greater", "GreaterEqual", "LogicalAnd", "LogicalOr")},
    **{n: _scalar for n in ("VarHandleOp", "VarIsInitializedOp", "IsVariableInitialized",
                            "Rank", "Size", "ShardedFilename", "HashTableV2",
                            "MutableHashTableV2", "LookupTableSizeV2", "L2Loss")},
    **{n: _reduce for n in ("Mean", "Sum", "Max", "Min", "Prod", "All", "Any")},
    "Const": _const,
    "Placeholder": _shape_attr,
    "VariableV2": _shape_attr,
    "PlaceholderWithDefault": _placeholder_with_default,
    "ReadVariableOp": _read_variable,
    "IdentityN": _identity_n,
    "MatMul": _matmul,
    "BatchMatMul": _batch_matmul,
    "BatchMatMulV2": _batch_matmul,
    "BatchMatMulV3": _batch_matmul,
    "BiasAdd": _bias_add,
    "Reshape": _reshape,
    "Transpose": _transpose,
    "ConcatV2": _concat,
    "Pack": _pack,
    "Squeeze": _squeeze,
    "ExpandDims": _expand_dims,
    "ArgMax": _arg_minmax,
    "ArgMin": _arg_minmax,
    "Shape": _shape_op,
    "ShapeN": _shape_n,
    "Fill": _fill,
    "Select": _select,
    "SelectV2": _select_v2,
    "GatherV2": _gather,
    "Conv2D": _conv2d,
    "MaxPool": _pool,
    "AvgPool": _pool,
    "OneHot": _one_hot,
    "TopKV2": _top_k,
    "Tile": _tile,
    "Where": _where,
    "AddN": _add_n,
    "Range": _range,
    "ParseExample": _parse_example,
    "ParseExampleV2": _parse_example,
    "StridedSlice": _strided_slice,
    "Slice": _slice,
    "Split": _split,
    "SplitV": _split_v,
    "Unpack": _unpack,
    "Pad": _pad,
    "PadV2": _pad,
    "BroadcastTo": _broadcast_to,
    "ResizeBilinear": _resize,
    "FusedBatchNorm": _batch_norm,
    "FusedBatchNormV3": _batch_norm,
    "GatherNd": _gather_nd,
    "DepthwiseConv2dNative": _depthwise,
    "Einsum": _einsum,
    "StringJoin": lambda ctx: [_broadcast_all(ctx)],
}


def _broadcast_all(ctx: _Ctx) -> Shape:
    out: Shape = ()
    for t in ctx.op.inputs:
        out = broadcast(out, t.shape, ctx)
    return out


def infer(op: Operation) -> list[Shape]:
    """One Shape per output of ``op`` (unknown where there is no rule)."""
    rule = RULES.get(op.type)
    if rule is None or not op.outputs:
        return [None] * len(op.outputs)
    try:
        return rule(_Ctx(op))
    except SavedModelIOError:
        raise
    except (ValueError, TypeError, IndexError, OverflowError) as e:
        # E.g. a constant axis that is not a scalar: the inputs do not fit the op.
        raise InvalidArgumentError(
            f"op {op.name!r} ({op.type}): inputs do not fit the op ({e})") from None


def known_rules() -> Sequence[str]:
    return sorted(RULES)


__all__ = ["broadcast", "infer", "known_rules"]
