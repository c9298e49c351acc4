"""TF1 control flow ops: Switch, Merge, Enter, Exit, NextIteration, LoopCond.

Dead tensors and loop frames are the interpreter's business
(:mod:`savedmodel_io.runtime.control_flow_v1`): a Switch kernel only says which output is
dead, a Merge kernel forwards its first live input. ``Enter``, ``NextIteration`` and loop
``Merge`` nodes never run as kernels: frames are collapsed into loop nodes first.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from savedmodel_io.runtime.context import BuildContext
from savedmodel_io.runtime.control_flow_v1 import DEAD
from savedmodel_io.runtime.kernels._util import ints, scalar_int
from savedmodel_io.runtime.registry import KernelFn, Node, kernel


def _predicate(node: Node, value: Any) -> bool:
    arr = np.asarray(value)
    if arr.shape != ():
        raise node.error(f"pred must be a scalar, got shape {list(arr.shape)}")
    if arr.dtype != np.bool_:
        raise node.error(f"pred must be bool, got {arr.dtype}")
    return bool(arr)


@kernel("Switch", outputs=("output_false", "output_true"))
def switch(node: Node, ctx: BuildContext) -> KernelFn:
    def run(args: list[Any]) -> tuple[Any, Any]:
        data = args[0]
        return (DEAD, data) if _predicate(node, args[1]) else (data, DEAD)
    return run


@kernel("RefSwitch", outputs=("output_false", "output_true"), ref_inputs=(0,),
        ref_outputs=(0, 1))
def ref_switch(node: Node, ctx: BuildContext) -> KernelFn:
    return switch(node, ctx)


@kernel(["Merge", "RefMerge"], outputs=("output", "value_index"))
def merge(node: Node, ctx: BuildContext) -> KernelFn:
    def run(args: list[Any]) -> tuple[Any, Any]:
        for i, value in enumerate(args):
            if value is not DEAD:
                return value, np.int32(i)
        return DEAD, DEAD
    return run


def _first(args: list[Any]) -> tuple[Any]:
    return (args[0],)


@kernel(["Exit", "RefExit", "LoopCond"])
def passthrough(node: Node, ctx: BuildContext) -> KernelFn:
    # An Exit reads its collapsed loop's output; LoopCond's value is the condition.
    return _first


@kernel(["Enter", "RefEnter"], attrs={"is_constant": False, "parallel_iterations": 10})
def enter(node: Node, ctx: BuildContext) -> KernelFn:
    raise node.error("is not part of a recognized while loop (Enter nodes are replaced "
                     "when their frame is compiled)")


@kernel(["NextIteration", "RefNextIteration"])
def next_iteration(node: Node, ctx: BuildContext) -> KernelFn:
    raise node.error("is not part of a recognized while loop (it must feed a loop Merge)")


# ------------------------------------------------------------------ TensorArray (TF1)


class TensorArray:
    """The state behind a ``TensorArrayV3`` handle: elements by index, written once.

    The flow scalar that each op takes and returns only orders the ops in the graph; the
    handle (this object) is what carries the data, also into loop frames.
    """

    __slots__ = ("name", "dtype", "size", "dynamic", "clear_after_read", "element_shape",
                 "elements", "cleared", "closed", "max_size")

    def __init__(self, name: str, dtype: np.dtype, size: int, *, dynamic: bool,
                 clear_after_read: bool, element_shape: tuple[int, ...] | None,
                 max_size: int) -> None:
        self.name = name
        self.dtype = dtype
        self.size = size
        self.dynamic = dynamic
        self.clear_after_read = clear_after_read
        self.element_shape = element_shape  # None: unknown rank; -1: unknown dimension
        self.elements: dict[int, np.ndarray] = {}
        self.cleared: set[int] = set()
        self.closed = False
        self.max_size = max_size

    def __repr__(self) -> str:
        return f"<TensorArray {self.name!r} size {self.size}>"

    def _where(self) -> str:
        return f"TensorArray {self.name!r}"

    def write(self, node: Node, index: int, value: Any) -> None:
        arr = np.asarray(value)
        if self.closed:
            raise node.error(f"{self._where()} has already been closed")
        if arr.dtype != self.dtype:
            raise node.error(f"{self._where()} holds {self.dtype}, cannot write a "
                             f"{arr.dtype} value")
        if index < 0:
            raise node.error(f"cannot write to {self._where()} at negative index {index}")
        if index >= self.size:
            if not self.dynamic:
                raise node.error(f"cannot write to {self._where()} at index {index}: its "
                                 f"size is {self.size} and it is not dynamic_size")
            if index >= self.max_size:
                raise node.error(f"cannot grow {self._where()} to {index + 1} elements "
                                 f"(limit {self.max_size})")
            self.size = index + 1
        if index in self.elements or index in self.cleared:
            raise node.error(f"Could not write to {self._where()} index {index} because it "
                             "has already been written to")
        shape = self.element_shape
        if shape is not None and (len(shape) != arr.ndim or any(
                d >= 0 and d != g for d, g in zip(shape, arr.shape, strict=True))):
            raise node.error(f"{self._where()} holds elements of shape {list(shape)}, "
                             f"cannot write one of shape {list(arr.shape)}")
        self.elements[index] = arr

    def read(self, node: Node, index: int) -> np.ndarray:
        if not 0 <= index < self.size:
            raise node.error(f"cannot read {self._where()} at index {index}: its size is "
                             f"{self.size}")
        value = self.elements.get(index)
        if value is None:
            if index in self.cleared:
                raise node.error(f"Could not read {self._where()} index {index} twice "
                                 "because it was cleared after a previous read "
                                 "(clear_after_read is true)")
            shape = self.element_shape
            if shape is None or any(d < 0 for d in shape):
                raise node.error(f"Could not read from {self._where()} index {index} "
                                 "because it has not yet been written to")
            return np.zeros(shape, self.dtype)  # TF: an unwritten, fully shaped element
        if self.clear_after_read:
            del self.elements[index]
            self.cleared.add(index)
        return value


def _ta(node: Node, handle: Any) -> TensorArray:
    if not isinstance(handle, TensorArray):
        raise node.error(f"input 0 must be a TensorArray handle, got {type(handle).__name__}")
    return handle


def _flow() -> np.ndarray:
    return np.zeros((), np.float32)


_TA_ATTRS: dict[str, Any] = {"element_shape": None, "dynamic_size": False,
                             "clear_after_read": True, "identical_element_shapes": False,
                             "tensor_array_name": ""}


@kernel("TensorArrayV3", outputs=("handle", "flow"), attrs=_TA_ATTRS, stateful=True)
def tensor_array(node: Node, ctx: BuildContext) -> KernelFn:
    dtype = node.get_np_type("dtype")
    shape = node.get_shape("element_shape")
    dynamic = node.get_bool("dynamic_size")
    clear = node.get_bool("clear_after_read")
    name = node.get_str("tensor_array_name") or node.name
    max_size = ctx.limits.max_tensor_elements

    def run(args: list[Any]) -> tuple[Any, Any]:
        size = scalar_int(args[0], node, "size")
        if size < 0:
            raise node.error(f"size must be non-negative, got {size}")
        ctx.check_size(size, f"{node.describe()}: the TensorArray")
        ta = TensorArray(name, dtype, size, dynamic=dynamic, clear_after_read=clear,
                         element_shape=shape, max_size=max_size)
        return ta, _flow()
    return run


@kernel("TensorArrayWriteV3", outputs=("flow_out",), stateful=True)
def tensor_array_write(node: Node, ctx: BuildContext) -> KernelFn:
    def run(args: list[Any]) -> tuple[Any]:
        _ta(node, args[0]).write(node, scalar_int(args[1], node, "index"), args[2])
        return (_flow(),)
    return run


@kernel("TensorArrayReadV3", outputs=("value",), stateful=True)
def tensor_array_read(node: Node, ctx: BuildContext) -> KernelFn:
    def run(args: list[Any]) -> tuple[Any]:
        return (_ta(node, args[0]).read(node, scalar_int(args[1], node, "index")),)
    return run


@kernel("TensorArrayScatterV3", outputs=("flow_out",), stateful=True)
def tensor_array_scatter(node: Node, ctx: BuildContext) -> KernelFn:
    def run(args: list[Any]) -> tuple[Any]:
        ta = _ta(node, args[0])
        indices = ints(args[1], node, "indices")
        value = np.asarray(args[2])
        if value.ndim == 0 or value.shape[0] != len(indices):
            raise node.error(f"value of shape {list(value.shape)} must have one row per "
                             f"index ({len(indices)})")
        for row, index in enumerate(indices):
            ta.write(node, index, value[row])
        return (_flow(),)
    return run


@kernel("TensorArrayGatherV3", outputs=("value",), attrs={"element_shape": None},
        stateful=True)
def tensor_array_gather(node: Node, ctx: BuildContext) -> KernelFn:
    attr_shape = node.get_shape("element_shape")

    def run(args: list[Any]) -> tuple[Any]:
        ta = _ta(node, args[0])
        indices = ints(args[1], node, "indices")
        values = [ta.read(node, i) for i in indices]
        if values:
            first = values[0].shape
            for i, v in zip(indices, values, strict=True):
                if v.shape != first:
                    raise node.error(f"cannot gather {ta._where()}: element {i} has shape "
                                     f"{list(v.shape)}, element {indices[0]} has "
                                     f"{list(first)}")
            return (np.stack(values),)
        shape = attr_shape if attr_shape is not None and all(d >= 0 for d in attr_shape) \
            else ta.element_shape
        if shape is None or any(d < 0 for d in shape):
            raise node.error(f"cannot gather no elements of {ta._where()}: its element "
                             "shape is not fully known")
        return (np.zeros((0, *shape), ta.dtype),)
    return run


@kernel("TensorArrayConcatV3", outputs=("value", "lengths"),
        attrs={"element_shape_except0": None}, stateful=True)
def tensor_array_concat(node: Node, ctx: BuildContext) -> KernelFn:
    def run(args: list[Any]) -> tuple[Any, Any]:
        ta = _ta(node, args[0])
        values = [ta.read(node, i) for i in range(ta.size)]
        if any(v.ndim == 0 for v in values):
            raise node.error(f"cannot concatenate {ta._where()}: it holds scalars")
        lengths = np.array([v.shape[0] for v in values], np.int64)
        if not values:
            tail = ta.element_shape[1:] if ta.element_shape else None
            if tail is None or any(d < 0 for d in tail):
                raise node.error(f"cannot concatenate the empty {ta._where()}: its element "
                                 "shape is not known")
            return np.zeros((0, *tail), ta.dtype), lengths
        return np.concatenate(values), lengths
    return run


@kernel("TensorArraySizeV3", outputs=("size",))
def tensor_array_size(node: Node, ctx: BuildContext) -> KernelFn:
    return lambda args: (np.int32(_ta(node, args[0]).size),)


@kernel("TensorArrayCloseV3", outputs=(), stateful=True)
def tensor_array_close(node: Node, ctx: BuildContext) -> KernelFn:
    def run(args: list[Any]) -> tuple[()]:
        ta = _ta(node, args[0])
        ta.closed = True
        ta.elements.clear()
        return ()
    return run
