"""Function calls and functional control flow: (Stateful)PartitionedCall, If, While, Case.

The called functions are compiled when the calling node is (so a missing kernel anywhere
below a signature is reported before anything runs). A While loop that has not finished
after ``Limits.max_loop_iterations`` iterations stops with an error rather than hang.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from savedmodel_io.errors import ResourceExhaustedError
from savedmodel_io.runtime.context import BuildContext
from savedmodel_io.runtime.functions import function_caller, library_function
from savedmodel_io.runtime.registry import KernelFn, Node, kernel

_CALL_ATTRS = {"config": "", "config_proto": "", "executor_type": ""}
_FLOW_ATTRS: dict[str, Any] = {"output_shapes": []}


@kernel("StatefulPartitionedCall", outputs=("output*Tout",), attrs=_CALL_ATTRS, stateful=True)
def stateful_partitioned_call(node: Node, ctx: BuildContext) -> KernelFn:
    return function_caller(ctx, node.get_func("f"), node)


@kernel("PartitionedCall", outputs=("output*Tout",), attrs=_CALL_ATTRS)
def partitioned_call(node: Node, ctx: BuildContext) -> KernelFn:
    return function_caller(ctx, node.get_func("f"), node)


def truth(value: Any) -> bool:
    """TensorFlow's truth of a condition tensor: a scalar's value (non-zero number,
    non-empty string), else whether the tensor has any elements."""
    arr = np.asarray(value)
    if arr.ndim:
        return arr.size > 0
    item = arr.item()
    if isinstance(item, bytes):
        return len(item) > 0
    return bool(item)


@kernel(["If", "StatelessIf"], outputs=("output*Tout",), attrs=_FLOW_ATTRS, stateful=True)
def if_(node: Node, ctx: BuildContext) -> KernelFn:
    then_fn = library_function(ctx, node.get_func("then_branch"), node)
    else_fn = library_function(ctx, node.get_func("else_branch"), node)

    def run(args: list[Any]) -> list[Any]:
        branch = then_fn if truth(args[0]) else else_fn
        return branch.call(args[1:])
    return run


@kernel(["Case", "StatelessCase"], outputs=("output*Tout",), attrs=_FLOW_ATTRS, stateful=True)
def case(node: Node, ctx: BuildContext) -> KernelFn:
    branches = [library_function(ctx, name, node) for name in node.get_funcs("branches")]
    if not branches:
        raise node.error("has no branches")

    def run(args: list[Any]) -> list[Any]:
        index = np.asarray(args[0])
        if index.size != 1 or index.dtype.kind not in "iu":
            raise node.error(f"branch_index must be one integer, got {index.dtype} of shape "
                             f"{list(index.shape)}")
        i = int(index.reshape(()))
        # Out of range selects the last branch (TensorFlow's default branch).
        branch = branches[i] if 0 <= i < len(branches) else branches[-1]
        return branch.call(args[1:])
    return run


@kernel(["While", "StatelessWhile"], outputs=("output*T",),
        attrs={**_FLOW_ATTRS, "parallel_iterations": 10}, stateful=True)
def while_(node: Node, ctx: BuildContext) -> KernelFn:
    cond_fn = library_function(ctx, node.get_func("cond"), node)
    body_fn = library_function(ctx, node.get_func("body"), node)
    limit = ctx.limits.max_loop_iterations

    def run(args: list[Any]) -> list[Any]:
        if ctx.loop_depth == 0:
            ctx.loop_iterations = 0
        ctx.loop_depth += 1
        try:
            values = list(args)
            for _ in range(limit):
                if not truth(cond_fn.call(values)[0]):
                    return values
                ctx.count_iteration(node.describe())
                values = body_fn.call(values)
        finally:
            ctx.loop_depth -= 1
        raise ResourceExhaustedError(
            f"{node.describe()}: the loop did not finish within {limit} iterations")
    return run
