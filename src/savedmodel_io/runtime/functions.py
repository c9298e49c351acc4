"""The function library of a graph: each FunctionDef compiled once into a callable plan.

TF2 SavedModels keep their computation in ``graph_def.library``: the graph's
``StatefulPartitionedCall`` nodes call ``__inference_signature_wrapper_*``, which calls the
traced function, which may call others. A function body runs like a graph with its
arguments fed and its ``ret`` tensors fetched; as in TensorFlow, nodes with side effects
run even when nothing uses their outputs. Calls nest at most ``Limits.max_call_depth`` deep
and a library whose functions call each other in a circle is refused while compiling.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from savedmodel_io.errors import (
    InvalidArgumentError,
    NotFoundError,
    ResourceExhaustedError,
    UnimplementedError,
)
from savedmodel_io.protos import function_pb2
from savedmodel_io.runtime.interpreter import ARG, Body, Plan, TensorKey, compile_plan
from savedmodel_io.runtime.registry import KernelDef, KernelFn, Node, lookup

if TYPE_CHECKING:
    from savedmodel_io.runtime.context import BuildContext


class Function:
    """One compiled FunctionDef: ``call(args)`` -> list of its outputs."""

    def __init__(self, name: str, n_args: int, plan: Plan) -> None:
        self.name = name
        self.n_args = n_args
        self.plan = plan

    def call(self, args: Sequence[Any]) -> list[Any]:
        if len(args) != self.n_args:
            raise InvalidArgumentError(
                f"function {self.name!r} takes {self.n_args} argument(s), got {len(args)}")
        return self.plan.run(args)


class FunctionLibrary:
    """The FunctionDefs of a graph by name, compiled on first use."""

    def __init__(self, library: function_pb2.FunctionDefLibrary, ctx: BuildContext) -> None:
        self.defs: dict[str, function_pb2.FunctionDef] = {}
        for fdef in library.function:
            name = fdef.signature.name
            if name in self.defs:
                raise InvalidArgumentError(f"the function library defines {name!r} twice")
            self.defs[name] = fdef
        self.ctx = ctx
        self._compiled: dict[str, Function] = {}
        self._stack: list[str] = []
        self._call_kdefs: dict[str, KernelDef] = {}

    def __contains__(self, name: object) -> bool:
        return name in self.defs

    def get(self, name: str) -> Function:
        """The compiled function ``name`` (compiling it and everything it calls)."""
        fn = self._compiled.get(name)
        if fn is not None:
            return fn
        if name not in self.defs:
            raise NotFoundError(f"the function library has no function {name!r}")
        if name in self._stack:
            chain = " -> ".join([*self._stack[self._stack.index(name):], name])
            raise InvalidArgumentError(f"the function library is recursive: {chain}")
        if len(self._stack) >= self.ctx.limits.max_call_depth:
            raise ResourceExhaustedError(
                f"function calls nest deeper than {self.ctx.limits.max_call_depth} "
                f"(... -> {' -> '.join(self._stack[-3:])} -> {name})")
        self._stack.append(name)
        try:
            fn = self._compile(self.defs[name])
        finally:
            self._stack.pop()
        self._compiled[name] = fn
        return fn

    def _compile(self, fdef: function_pb2.FunctionDef) -> Function:
        name = fdef.signature.name
        where = f"function {name!r}"
        for arg in (*fdef.signature.input_arg, *fdef.signature.output_arg):
            if arg.number_attr or arg.type_list_attr:
                raise UnimplementedError(
                    f"{where}: argument {arg.name!r} is a list of tensors (not supported)")
        arg_names = [a.name for a in fdef.signature.input_arg]
        body = Body(fdef.node_def, where=where, arg_names=arg_names)
        fetches = [self._ret_key(body, fdef, out.name) for out in fdef.signature.output_arg]
        targets = []
        for key in fdef.control_ret:
            target = fdef.control_ret[key]
            if target not in body.nodes:
                raise NotFoundError(f"{where}: control output {key!r} names no node "
                                    f"({target!r})")
            targets.append(target)
        feeds: list[TensorKey] = [(ARG, i) for i in range(len(arg_names))]
        plan = compile_plan(body, self.ctx, feeds=feeds, fetches=fetches, targets=targets,
                            keep_stateful=True)
        return Function(name, len(arg_names), plan)

    def _ret_key(self, body: Body, fdef: function_pb2.FunctionDef, out: str) -> TensorKey:
        where = f"function {fdef.signature.name!r}"
        if out not in fdef.ret:
            raise NotFoundError(f"{where}: output {out!r} has no return value")
        ref = body._parse(fdef.ret[out], "<return>")
        if ref.src == ARG:
            return (ARG, ref.index)
        if ref.src not in body.nodes:
            raise NotFoundError(f"{where}: output {out!r} comes from {ref.src!r}, which is "
                                "not a node of the function")
        nd = body.nodes[ref.src]
        kdef = lookup(nd.op) or self.call_kernel(nd.op)
        if kdef is None or ref.arg is None:
            return (ref.src, ref.index)  # compile_plan reports the missing kernel
        return (ref.src, Node(nd, kdef, where).output_index(ref.arg, ref.index))

    def call_kernel(self, op: str) -> KernelDef | None:
        """A kernel for a node whose op *is* a library function's name (a direct call)."""
        if op not in self.defs:
            return None
        kdef = self._call_kdefs.get(op)
        if kdef is None:
            fdef = self.defs[op]
            outputs = tuple(a.name for a in fdef.signature.output_arg)

            def factory(node: Node, ctx: BuildContext) -> KernelFn:
                return function_caller(ctx, op, node)

            kdef = self._call_kdefs[op] = KernelDef(op, factory, outputs, {}, stateful=True)
        return kdef


def function_caller(ctx: BuildContext, name: str, node: Node) -> KernelFn:
    """A kernel calling library function ``name`` with all of ``node``'s inputs."""
    if ctx.library is None:
        raise NotFoundError(f"{node.describe()}: calls function {name!r} but the graph "
                            "has no function library")
    fn = ctx.library.get(name)
    n_in = sum(1 for i in node.node_def.input if not i.startswith("^"))
    if n_in != fn.n_args:
        raise node.error(f"passes {n_in} input(s) to function {name!r}, which takes "
                         f"{fn.n_args}")
    return fn.call


def library_function(ctx: BuildContext, name: str, node: Node) -> Function:
    if ctx.library is None:
        raise NotFoundError(f"{node.describe()}: calls function {name!r} but the graph "
                            "has no function library")
    return ctx.library.get(name)


__all__ = ["Function", "FunctionLibrary", "function_caller", "library_function"]
