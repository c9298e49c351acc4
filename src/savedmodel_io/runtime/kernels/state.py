"""Variables: TF2 resource variables (VarHandleOp, ReadVariableOp, AssignVariableOp...) and
TF1 reference variables (VariableV2, Assign, AssignAdd...).

A handle op evaluates to the session's :class:`~savedmodel_io.runtime.values.VarState` for
its (container, shared name); an empty shared name means the node's name, as TensorFlow
does in graph mode. Reading an uninitialized variable is a FailedPreconditionError.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from savedmodel_io.protos import node_def_pb2
from savedmodel_io.runtime.context import BuildContext
from savedmodel_io.runtime.kernels._util import shape_str
from savedmodel_io.runtime.kernels.array import gather
from savedmodel_io.runtime.registry import KernelFn, Node, kernel
from savedmodel_io.runtime.values import VarState

_HANDLE_ATTRS = {"container": "", "shared_name": "", "debug_name": "", "allowed_devices": []}


def resource_key(node_def: node_def_pb2.NodeDef) -> tuple[str, str]:
    """The (container, shared name) a handle or variable node refers to."""
    container = node_def.attr["container"].s.decode() if "container" in node_def.attr else ""
    shared = node_def.attr["shared_name"].s.decode() if "shared_name" in node_def.attr else ""
    return container, shared or node_def.name


def _declared(node: Node) -> tuple[np.dtype | None, tuple[int, ...] | None]:
    dtype = node.get_np_type("dtype")
    shape = node.get_shape("shape") if node.has("shape") else None
    return dtype, shape


def _handle(node: Node, ctx: BuildContext, kind: str) -> VarState:
    container, name = resource_key(node.node_def)
    dtype, shape = _declared(node)
    return ctx.resources.get(container, name, dtype, shape, kind)


def _check(node: Node, value: Any) -> VarState:
    if not isinstance(value, VarState):
        raise node.error(f"expected a variable handle, got {type(value).__name__}")
    return value


# ------------------------------------------------------------------ TF2 resources


@kernel("VarHandleOp", outputs=("resource",), attrs=_HANDLE_ATTRS, stateful=True)
def var_handle_op(node: Node, ctx: BuildContext) -> KernelFn:
    var = _handle(node, ctx, "resource variable")
    return lambda args: (var,)


@kernel("ReadVariableOp", outputs=("value",))
def read_variable(node: Node, ctx: BuildContext) -> KernelFn:
    want = node.get_np_type("dtype")

    def run(args: list[Any]) -> tuple[Any, ...]:
        var = _check(node, args[0])
        value = var.read()
        if value.dtype != want:
            raise node.error(f"variable {var.name!r} holds {value.dtype}, read as {want}")
        return (value,)
    return run


@kernel("AssignVariableOp", outputs=(), attrs={"validate_shape": False}, stateful=True)
def assign_variable(node: Node, ctx: BuildContext) -> KernelFn:
    validate = node.get_bool("validate_shape")

    def run(args: list[Any]) -> tuple[Any, ...]:
        _check(node, args[0]).assign(args[1], validate_shape=validate)
        return ()
    return run


@kernel(["AssignAddVariableOp", "AssignSubVariableOp"], outputs=(), stateful=True)
def assign_add_variable(node: Node, ctx: BuildContext) -> KernelFn:
    sign = 1 if node.op == "AssignAddVariableOp" else -1

    def run(args: list[Any]) -> tuple[Any, ...]:
        var = _check(node, args[0])
        _update(node, var, args[1], sign)
        return ()
    return run


def _update(node: Node, var: VarState, delta: np.ndarray, sign: int) -> None:
    old = var.read()
    if old.shape != delta.shape:
        raise node.error(f"Cannot update variable with shape {shape_str(old.shape)} using "
                         f"a Tensor with shape {shape_str(delta.shape)}, shapes must be equal.")
    var.assign(old + delta if sign > 0 else old - delta)


@kernel("VarIsInitializedOp", outputs=("is_initialized",), stateful=True)
def var_is_initialized(node: Node, ctx: BuildContext) -> KernelFn:
    return lambda args: (np.asarray(_check(node, args[0]).initialized),)


@kernel("DestroyResourceOp", outputs=(), attrs={"ignore_lookup_error": True}, stateful=True)
def destroy_resource(node: Node, ctx: BuildContext) -> KernelFn:
    def run(args: list[Any]) -> tuple[Any, ...]:
        _check(node, args[0]).reset()
        return ()
    return run


@kernel("DisableCopyOnRead", outputs=(), stateful=True)
def disable_copy_on_read(node: Node, ctx: BuildContext) -> KernelFn:
    # Copy-on-read is a TF memory-sharing detail; our values are never written in place.
    return lambda args: ()


@kernel("ResourceGather", attrs={"batch_dims": 0, "validate_indices": True})
def resource_gather(node: Node, ctx: BuildContext) -> KernelFn:
    batch_dims = node.get_int("batch_dims")
    want = node.get_np_type("dtype")

    def run(args: list[Any]) -> tuple[Any, ...]:
        params = _check(node, args[0]).read()
        if params.dtype != want:
            raise node.error(f"variable holds {params.dtype}, gathered as {want}")
        return (gather(node, params, args[1], batch_dims, batch_dims),)
    return run


# ------------------------------------------------------------------ TF1 reference variables


@kernel(["VariableV2", "Variable"], outputs=("ref",), attrs={"container": "",
                                                             "shared_name": ""},
        stateful=True, ref_outputs=(0,))
def variable_v2(node: Node, ctx: BuildContext) -> KernelFn:
    var = _handle(node, ctx, "variable")
    return lambda args: (var,)


@kernel("Assign", outputs=("output_ref",), attrs={"validate_shape": True, "use_locking": True},
        stateful=True, ref_inputs=(0,), ref_outputs=(0,))
def assign(node: Node, ctx: BuildContext) -> KernelFn:
    validate = node.get_bool("validate_shape")

    def run(args: list[Any]) -> tuple[Any, ...]:
        var = _check(node, args[0])
        var.assign(args[1], validate_shape=validate)
        return (var,)
    return run


@kernel(["AssignAdd", "AssignSub"], outputs=("output_ref",), attrs={"use_locking": False},
        stateful=True, ref_inputs=(0,), ref_outputs=(0,))
def assign_add(node: Node, ctx: BuildContext) -> KernelFn:
    sign = 1 if node.op == "AssignAdd" else -1

    def run(args: list[Any]) -> tuple[Any, ...]:
        var = _check(node, args[0])
        _update(node, var, args[1], sign)
        return (var,)
    return run


@kernel("IsVariableInitialized", outputs=("is_initialized",), ref_inputs=(0,))
def is_variable_initialized(node: Node, ctx: BuildContext) -> KernelFn:
    return lambda args: (np.asarray(_check(node, args[0]).initialized),)


@kernel("RefIdentity", ref_inputs=(0,), ref_outputs=(0,))
def ref_identity(node: Node, ctx: BuildContext) -> KernelFn:
    return lambda args: (args[0],)
