"""TensorList ops: what ``tf.TensorArray`` and Keras' recurrent layers compile to in TF2.

A list is a DT_VARIANT value: :class:`TensorList`, passed through ``While`` loops, calls
and identities like any other value. Lists have value semantics, as in TensorFlow: an op
that changes a list returns a new :class:`TensorList` and leaves its input as it was (the
element arrays are shared, never written). Unset elements ("reserved") cost nothing, so a
``TensorListReserve`` of many elements allocates nothing until the list is stacked; lengths
past ``Limits.max_tensor_elements`` are refused outright.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from savedmodel_io import dtypes
from savedmodel_io.errors import InvalidArgumentError
from savedmodel_io.runtime.context import BuildContext
from savedmodel_io.runtime.kernels._util import num_elements, scalar_int
from savedmodel_io.runtime.registry import KernelFn, Node, kernel

Shape = tuple[int, ...] | None
"""A partial shape: ``None`` for unknown rank, ``-1`` for an unknown dimension."""


class TensorList:
    """An immutable list of tensors of one dtype (TensorFlow's ``TensorList`` variant).

    Element ``i`` is ``items[i]`` if present, else row ``i`` of ``base`` (the tensor a
    ``TensorListFromTensor`` unstacked, kept whole) if ``base`` has one, else unset.
    """

    __slots__ = ("dtype", "element_shape", "length", "base", "items", "max_elements")

    def __init__(self, dtype: np.dtype, element_shape: Shape, length: int, *,
                 base: np.ndarray | None = None,
                 items: Mapping[int, np.ndarray] | None = None,
                 max_elements: int = -1) -> None:
        self.dtype = dtype
        self.element_shape = element_shape
        self.length = length
        # Rows of ``base`` past the length are not elements (a list that shrank).
        self.base = base if base is None or base.shape[0] <= length else base[:length]
        # Never modified after construction: callers hand over a dict of their own.
        self.items: Mapping[int, np.ndarray] = {} if items is None else items
        self.max_elements = max_elements

    def __repr__(self) -> str:
        return (f"<TensorList of {self.length} {self.dtype} element(s), element shape "
                f"{shape_text(self.element_shape)}>")

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        # A list where a tensor belongs (a signature output, an arithmetic op) is a
        # wrongly typed graph, not an object array.
        raise InvalidArgumentError(
            f"a TensorList (DT_VARIANT) of {self.length} element(s) was used where a tensor "
            "is expected; TensorFlow graphs stack a list (TensorListStack) first")

    def get(self, i: int) -> np.ndarray | None:
        """Element ``i`` (``0 <= i < length``), or ``None`` when it was never set."""
        item = self.items.get(i)
        if item is None and self.base is not None and i < self.base.shape[0]:
            item = self.base[i]
        return item

    def set_count(self) -> int:
        """How many elements are set."""
        n_base = 0 if self.base is None else self.base.shape[0]
        return n_base + sum(1 for i in self.items if i >= n_base)

    def set_elements(self) -> Iterator[tuple[int, np.ndarray]]:
        """``(index, element)`` of every set element (base rows, then overrides)."""
        if self.base is not None:
            for i in range(self.base.shape[0]):
                if i not in self.items:
                    yield i, self.base[i]
        yield from self.items.items()

    def replace(self, *, length: int | None = None,
                updates: Mapping[int, np.ndarray] | None = None) -> TensorList:
        """A new list like this one with another length and/or some elements replaced."""
        n = self.length if length is None else length
        items = {**self.items, **updates} if updates else dict(self.items)
        if n < self.length:
            items = {i: v for i, v in items.items() if i < n}
        return TensorList(self.dtype, self.element_shape, n, base=self.base, items=items,
                          max_elements=self.max_elements)


# ------------------------------------------------------------------ shapes


def shape_text(shape: Shape) -> str:
    if shape is None:
        return "<unknown>"
    return "[" + ",".join("?" if d < 0 else str(d) for d in shape) + "]"


def parse_shape(node: Node, value: Any, what: str = "element_shape") -> Shape:
    """A shape tensor: ``-1`` (a scalar) for unknown rank, else a vector of dims >= -1."""
    arr = np.asarray(value)
    if arr.dtype.kind not in "iu":
        raise node.error(f"{what} must be int32 or int64, got {arr.dtype}")
    if arr.ndim == 0:
        if int(arr) != -1:
            raise node.error(f"{what}: the only valid scalar shape tensor is the fully "
                             f"unknown shape specified as -1, got {int(arr)}")
        return None
    if arr.ndim != 1:
        raise node.error(f"{what} must be a scalar or a vector, got shape {list(arr.shape)}")
    dims = tuple(int(d) for d in arr)
    for d in dims:
        if d < -1:
            raise node.error(f"{what}: dimension {d} must be >= -1")
    return dims


def merge(node: Node, a: Shape, b: Shape) -> Shape:
    """The most specific shape compatible with both, or an error when they disagree."""
    if a is None:
        return b
    if b is None:
        return a
    if len(a) != len(b) or any(x >= 0 and y >= 0 and x != y for x, y in zip(a, b,
                                                                            strict=False)):
        raise node.error(f"incompatible shapes during merge: {shape_text(a)} vs. "
                         f"{shape_text(b)}")
    return tuple(x if x >= 0 else y for x, y in zip(a, b, strict=True))


def compatible(shape: tuple[int, ...], partial: Shape) -> bool:
    return partial is None or (len(shape) == len(partial) and all(
        p < 0 or p == s for s, p in zip(shape, partial, strict=True)))


def fully_defined(shape: Shape) -> bool:
    return shape is not None and all(d >= 0 for d in shape)


# ------------------------------------------------------------------ checks


def _dtype_name(dtype: np.dtype) -> str:
    try:
        return dtypes.python_name(dtypes.from_numpy_dtype(dtype))
    except Exception:  # a dtype TF has no name for: numpy's is as good
        return str(dtype)


def _the_list(node: Node, value: Any, dtype: np.dtype | None = None) -> TensorList:
    if not isinstance(value, TensorList):
        raise node.error(f"input_handle must be a TensorList (DT_VARIANT), got "
                         f"{type(value).__name__}")
    if dtype is not None and value.dtype != dtype:
        raise node.error(f"Invalid data types; op elements {_dtype_name(dtype)} but list "
                         f"elements {_dtype_name(value.dtype)}")
    return value


def _tensor(node: Node, value: Any, dtype: np.dtype, what: str) -> np.ndarray:
    if isinstance(value, TensorList):
        raise node.error(f"{what} must be a tensor, got a TensorList")
    arr = np.asarray(value)
    if arr.dtype != dtype:
        raise node.error(f"{what} has dtype {_dtype_name(arr.dtype)}, but the op's "
                         f"element_dtype is {_dtype_name(dtype)}")
    return arr


def _frozen(arr: np.ndarray) -> np.ndarray:
    """A read-only view: no kernel may later write into an element a list holds."""
    view: np.ndarray = arr.view()
    view.flags.writeable = False
    return view


def _check_length(node: Node, ctx: BuildContext, n: int, what: str) -> int:
    if n < 0:
        raise node.error(f"{what} must be a non negative number, but got {n}")
    ctx.check_size(n, f"{node.describe()}: the list")
    return n


def _index(node: Node, value: Any, length: int, verb: str = "access") -> int:
    i = scalar_int(value, node, "index")
    if not 0 <= i < length:
        raise node.error(f"Trying to {verb} element {i} in a list with {length} elements.")
    return i


def _zeros(node: Node, ctx: BuildContext, dtype: np.dtype, shape: Shape, what: str
           ) -> np.ndarray:
    if shape is None or not fully_defined(shape):
        raise node.error(f"Trying to read an uninitialized tensor but element_shape is not "
                         f"fully defined: {shape_text(shape)} ({what})")
    ctx.check_size(num_elements(shape), node.describe())
    return _frozen(np.zeros(shape, dtype))


def _element_shape(node: Node, lst: TensorList, requested: Shape,
                   indices: list[int] | None = None) -> Shape:
    """The element shape of a stack or gather: the list's, the op's and (while still
    partial) the shapes of the set elements used, merged."""
    shape = merge(node, lst.element_shape, requested)
    if not fully_defined(shape):
        if indices is None:
            used: Iterator[np.ndarray] = (v for _, v in lst.set_elements())
        else:
            used = (v for v in (lst.get(i) for i in indices) if v is not None)
        for v in used:
            shape = merge(node, shape, v.shape)
            if fully_defined(shape):
                break
    return shape


def _check_item(node: Node, lst: TensorList, item: np.ndarray, action: str) -> None:
    if not compatible(item.shape, lst.element_shape):
        raise node.error(f"Tried to {action} a tensor with incompatible shape: item shape "
                         f"{shape_text(item.shape)}, list element shape "
                         f"{shape_text(lst.element_shape)}")


# ------------------------------------------------------------------ creating lists


@kernel("EmptyTensorList", outputs=("handle",))
def empty_tensor_list(node: Node, ctx: BuildContext) -> KernelFn:
    dtype = node.get_np_type("element_dtype")

    def run(args: list[Any]) -> tuple[Any, ...]:
        shape = parse_shape(node, args[0])
        max_n = scalar_int(args[1], node, "max_num_elements")
        if max_n < -1:
            raise node.error(f"max_num_elements must be -1 (no limit) or >= 0, got {max_n}")
        return (TensorList(dtype, shape, 0, max_elements=max_n),)
    return run


@kernel("TensorListReserve", outputs=("handle",))
def tensor_list_reserve(node: Node, ctx: BuildContext) -> KernelFn:
    dtype = node.get_np_type("element_dtype")

    def run(args: list[Any]) -> tuple[Any, ...]:
        shape = parse_shape(node, args[0])
        n = _check_length(node, ctx, scalar_int(args[1], node, "num_elements"),
                          "The num_elements to reserve")
        return (TensorList(dtype, shape, n),)
    return run


@kernel("TensorListFromTensor", outputs=("output_handle",))
def tensor_list_from_tensor(node: Node, ctx: BuildContext) -> KernelFn:
    dtype = node.get_np_type("element_dtype")

    def run(args: list[Any]) -> tuple[Any, ...]:
        t = _tensor(node, args[0], dtype, "tensor")
        shape = parse_shape(node, args[1])
        if t.ndim < 1:
            raise node.error("Tensor must be at least a vector, but saw shape: []")
        if not compatible(t.shape[1:], shape):
            raise node.error(f"Specified a list with shape {shape_text(shape)} from a "
                             f"tensor with shape {shape_text(t.shape)}")
        return (TensorList(dtype, shape, t.shape[0], base=_frozen(t)),)
    return run


@kernel(["TensorListScatterV2", "TensorListScatter"], outputs=("output_handle",))
def tensor_list_scatter(node: Node, ctx: BuildContext) -> KernelFn:
    dtype = node.get_np_type("element_dtype")
    with_count = node.op == "TensorListScatterV2"

    def run(args: list[Any]) -> tuple[Any, ...]:
        t = _tensor(node, args[0], dtype, "tensor")
        shape = parse_shape(node, args[2])
        n = scalar_int(args[3], node, "num_elements") if with_count else -1
        if n < -1:
            raise node.error(f"num_elements must be -1 or >= 0, got {n}")
        empty = TensorList(dtype, shape, 0)
        return (_scatter(node, ctx, empty, t, args[1], max(n, 0)),)
    return run


def _scatter(node: Node, ctx: BuildContext, lst: TensorList, t: np.ndarray, indices: Any,
             min_length: int) -> TensorList:
    idx = np.asarray(indices)
    if idx.dtype.kind not in "iu" or idx.ndim != 1:
        raise node.error(f"indices must be a vector of integers, got {idx.dtype} of shape "
                         f"{list(idx.shape)}")
    if t.ndim < 1 or t.shape[0] != idx.shape[0]:
        raise node.error(f"Expected len(indices) == tensor.shape[0], but saw: "
                         f"{idx.shape[0]} vs. {t.shape[0] if t.ndim else 'a scalar'}")
    if idx.size and int(idx.min()) < 0:
        raise node.error("Indices in TensorListScatter must all be non-negative.")
    if not compatible(t.shape[1:], lst.element_shape):
        raise node.error(f"Tried to scatter a tensor whose rows have shape "
                         f"{shape_text(t.shape[1:])} into a list of element shape "
                         f"{shape_text(lst.element_shape)}")
    top = int(idx.max()) + 1 if idx.size else 0
    length = _check_length(node, ctx, max(lst.length, top, min_length), "the list length")
    rows = _frozen(t)
    # A repeated index keeps its last row, as TF's loop over the indices does.
    updates = {i: rows[row] for row, i in enumerate(idx.tolist())}
    return lst.replace(length=length, updates=updates)


# ------------------------------------------------------------------ reading


@kernel("TensorListGetItem", outputs=("item",))
def tensor_list_get_item(node: Node, ctx: BuildContext) -> KernelFn:
    dtype = node.get_np_type("element_dtype")

    def run(args: list[Any]) -> tuple[Any, ...]:
        lst = _the_list(node, args[0], dtype)
        i = _index(node, args[1], lst.length)
        item = lst.get(i)
        if item is None:
            shape = merge(node, lst.element_shape, parse_shape(node, args[2]))
            item = _zeros(node, ctx, dtype, shape, f"element {i}")
        return (item,)
    return run


@kernel("TensorListLength", outputs=("length",))
def tensor_list_length(node: Node, ctx: BuildContext) -> KernelFn:
    return lambda args: (np.asarray(_the_list(node, args[0]).length, np.int32),)


@kernel("TensorListElementShape", outputs=("element_shape",))
def tensor_list_element_shape(node: Node, ctx: BuildContext) -> KernelFn:
    out = node.get_np_type("shape_type")

    def run(args: list[Any]) -> tuple[Any, ...]:
        shape = _the_list(node, args[0]).element_shape
        return (np.asarray(-1 if shape is None else list(shape), out).reshape(
            () if shape is None else (len(shape),)),)
    return run


@kernel("TensorListStack", outputs=("tensor",), attrs={"num_elements": -1})
def tensor_list_stack(node: Node, ctx: BuildContext) -> KernelFn:
    dtype = node.get_np_type("element_dtype")
    want = node.get_int("num_elements")

    def run(args: list[Any]) -> tuple[Any, ...]:
        lst = _the_list(node, args[0], dtype)
        if want != -1 and lst.length != want:
            raise node.error(f"Operation expected a list with {want} elements but got a "
                             f"list with {lst.length} elements.")
        requested = parse_shape(node, args[1])
        if lst.length == 0 and not fully_defined(merge(node, lst.element_shape, requested)):
            raise node.error(f"Tried to stack elements of an empty list with "
                             f"non-fully-defined element_shape: "
                             f"{shape_text(merge(node, lst.element_shape, requested))}")
        shape = _element_shape(node, lst, requested)
        if shape is None or not fully_defined(shape):
            raise node.error(f"Tried to stack list which only contains uninitialized "
                             f"tensors and has a non-fully-defined element_shape: "
                             f"{shape_text(shape)}")
        return (_stack(node, ctx, lst, shape),)
    return run


def _stack(node: Node, ctx: BuildContext, lst: TensorList, shape: tuple[int, ...]
           ) -> np.ndarray:
    n = lst.length
    base = lst.base
    if base is not None and not lst.items and base.shape == (n, *shape):
        return base  # an unchanged TensorListFromTensor: the tensor it came from
    ctx.check_size(n * num_elements(shape), node.describe())
    out = np.zeros((n, *shape), lst.dtype)
    if base is not None:
        if base.shape[1:] != shape:
            raise node.error(f"the list's elements have shape {shape_text(base.shape[1:])}, "
                             f"but it is stacked with element shape {shape_text(shape)}")
        out[:base.shape[0]] = base  # in one copy: base rows may be many
    for i, v in lst.items.items():
        if v.shape != shape:
            raise node.error(f"element {i} has shape {shape_text(v.shape)}, but the list is "
                             f"stacked with element shape {shape_text(shape)}")
        out[i] = v
    return out


@kernel("TensorListGather", outputs=("values",))
def tensor_list_gather(node: Node, ctx: BuildContext) -> KernelFn:
    dtype = node.get_np_type("element_dtype")

    def run(args: list[Any]) -> tuple[Any, ...]:
        lst = _the_list(node, args[0], dtype)
        idx = np.asarray(args[1])
        if idx.dtype.kind not in "iu" or idx.ndim != 1:
            raise node.error(f"indices must be a vector of integers, got {idx.dtype} of "
                             f"shape {list(idx.shape)}")
        indices = idx.tolist()
        for i in indices:
            if not 0 <= i < lst.length:
                raise node.error(f"Trying to access element {i} in a list with "
                                 f"{lst.length} elements.")
        shape = _element_shape(node, lst, parse_shape(node, args[2]), indices)
        if shape is None or not fully_defined(shape):
            raise node.error(f"Tried to gather elements of a list with a non-fully-defined "
                             f"element_shape {shape_text(shape)} and no initialized "
                             "element to take it from")
        ctx.check_size(len(indices) * num_elements(shape), node.describe())
        out = np.zeros((len(indices), *shape), dtype)
        for row, i in enumerate(indices):
            v = lst.get(i)
            if v is not None:
                if v.shape != shape:
                    raise node.error(f"element {i} has shape {shape_text(v.shape)}, "
                                     f"expected {shape_text(shape)}")
                out[row] = v
        return (out,)
    return run


@kernel("TensorListConcatV2", outputs=("tensor", "lengths"))
def tensor_list_concat_v2(node: Node, ctx: BuildContext) -> KernelFn:
    dtype = node.get_np_type("element_dtype")

    def run(args: list[Any]) -> tuple[Any, ...]:
        lst = _the_list(node, args[0], dtype)
        shape = merge(node, lst.element_shape, parse_shape(node, args[1]))
        leading = np.asarray(args[2])
        if leading.dtype.kind not in "iu" or leading.ndim != 1:
            raise node.error("leading_dims must be a vector of integers")
        return _concat(node, ctx, lst, shape, [int(d) for d in leading])
    return run


def _concat(node: Node, ctx: BuildContext, lst: TensorList, shape: Shape,
            leading: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """TF's rules (checked against TF 2.21): the dimensions past the first come from the
    element shape merged with every set element's; an unset element has ``leading_dims[i]``
    rows, else the element shape's first dimension, else the first set element's."""
    if shape is not None and not shape:
        raise node.error("Concat requires elements to be at least vectors, found element "
                         "shape []")
    rest: Shape = None if shape is None else shape[1:]
    set_items = sorted(lst.set_elements(), key=lambda kv: kv[0])
    for i, v in set_items:
        if v.ndim < 1:
            raise node.error(f"Concat saw a scalar shape at index {i} but requires at least "
                             "vectors.")
        rest = merge(node, rest, v.shape[1:])
    if lst.length == 0:
        if not fully_defined(rest):
            raise node.error(f"All except the first dimension must be fully defined when "
                             f"concating an empty tensor list. element_shape: "
                             f"{shape_text(shape)}")
        assert rest is not None
        return np.zeros((0, *rest), lst.dtype), np.zeros(0, np.int64)
    if rest is None or not fully_defined(rest):
        raise node.error(f"Trying to concat list with only uninitialized tensors but "
                         f"element_shape_except_first_dim is not fully defined: "
                         f"{shape_text(rest)}")
    first = shape[0] if shape is not None and shape[0] >= 0 else (
        set_items[0][1].shape[0] if set_items else -1)
    lengths = np.full(lst.length, first, np.int64)
    given = leading[:lst.length]
    lengths[:len(given)] = given
    for i, v in set_items:
        lengths[i] = v.shape[0]
    if lengths.size and int(lengths.min()) < 0:
        i = int(np.argmin(lengths))
        raise node.error(f"List contains uninitialized tensor at index {i} but leading_dims "
                         f"has only {len(leading)} elements.")
    row = num_elements(rest)
    ctx.check_size(int(lengths.sum()) * row, node.describe())
    out = np.zeros((int(lengths.sum()), *rest), lst.dtype)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    for i, v in set_items:
        out[int(starts[i]):int(starts[i]) + v.shape[0]] = v
    return out, lengths


# ------------------------------------------------------------------ changing lists


@kernel("TensorListSetItem", outputs=("output_handle",),
        attrs={"resize_if_index_out_of_bounds": False})
def tensor_list_set_item(node: Node, ctx: BuildContext) -> KernelFn:
    dtype = node.get_np_type("element_dtype")
    resize = node.get_bool("resize_if_index_out_of_bounds")

    def run(args: list[Any]) -> tuple[Any, ...]:
        lst = _the_list(node, args[0], dtype)
        item = _tensor(node, args[2], dtype, "item")
        length = lst.length
        if resize:
            i = scalar_int(args[1], node, "index")
            if i < 0:
                raise node.error(f"Trying to modify element {i} in a list with {length} "
                                 "elements.")
            length = _check_length(node, ctx, max(length, i + 1), "the list length")
        else:
            i = _index(node, args[1], length, "modify")
        _check_item(node, lst, item, "set")
        return (lst.replace(length=length, updates={i: _frozen(item)}),)
    return run


@kernel("TensorListPushBack", outputs=("output_handle",))
def tensor_list_push_back(node: Node, ctx: BuildContext) -> KernelFn:
    dtype = node.get_np_type("element_dtype")

    def run(args: list[Any]) -> tuple[Any, ...]:
        lst = _the_list(node, args[0], dtype)
        item = _tensor(node, args[1], dtype, "tensor")
        _check_item(node, lst, item, "append")
        if 0 <= lst.max_elements <= lst.length:
            raise node.error(f"Tried to push item into a full list list size: {lst.length}, "
                             f"max_num_elements: {lst.max_elements}")
        length = _check_length(node, ctx, lst.length + 1, "the list length")
        return (lst.replace(length=length, updates={lst.length: _frozen(item)}),)
    return run


@kernel("TensorListPopBack", outputs=("output_handle", "tensor"))
def tensor_list_pop_back(node: Node, ctx: BuildContext) -> KernelFn:
    dtype = node.get_np_type("element_dtype")

    def run(args: list[Any]) -> tuple[Any, ...]:
        lst = _the_list(node, args[0], dtype)
        if lst.length == 0:
            raise node.error("Trying to pop from an empty list.")
        last = lst.length - 1
        item = lst.get(last)
        if item is None:
            shape = merge(node, lst.element_shape, parse_shape(node, args[1]))
            item = _zeros(node, ctx, dtype, shape, f"element {last}")
        return (lst.replace(length=last), item)
    return run


@kernel("TensorListResize", outputs=("output_handle",))
def tensor_list_resize(node: Node, ctx: BuildContext) -> KernelFn:
    def run(args: list[Any]) -> tuple[Any, ...]:
        lst = _the_list(node, args[0])
        size = scalar_int(args[1], node, "size")
        if size < 0:
            raise node.error(f"TensorListSlice expects size to be non-negative. Got: {size}")
        return (lst.replace(length=_check_length(node, ctx, size, "size")),)
    return run


@kernel("TensorListScatterIntoExistingList", outputs=("output_handle",))
def tensor_list_scatter_into_existing(node: Node, ctx: BuildContext) -> KernelFn:
    dtype = node.get_np_type("element_dtype")

    def run(args: list[Any]) -> tuple[Any, ...]:
        lst = _the_list(node, args[0], dtype)
        t = _tensor(node, args[1], dtype, "tensor")
        return (_scatter(node, ctx, lst, t, args[2], 0),)
    return run


__all__ = ["TensorList", "Shape", "parse_shape", "merge", "compatible", "fully_defined",
           "shape_text"]
