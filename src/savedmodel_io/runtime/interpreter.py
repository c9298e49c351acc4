"""Graph execution: prune to what the fetches need, order it, run it with numpy kernels.

A ``Body`` is the nodes of a GraphDef or of one FunctionDef. ``compile_plan`` turns a body,
the tensors fed, the tensors fetched and the nodes to run into a ``Plan``: the needed nodes
in topological order (data and control dependencies), each bound to its kernel, with every
tensor in a numbered slot. Constants are evaluated once, at compile time. Running a plan
is a loop over its steps; a slot is cleared after its last use so intermediate arrays die
early. Cycles, missing nodes, unfed placeholders and ops without a kernel are errors found
while compiling, before anything runs.

TF1 control flow (Switch/Merge conditionals, Enter/Exit/NextIteration while loops) is
handled by :mod:`savedmodel_io.runtime.control_flow_v1`: loop frames are collapsed into
structured loop nodes before ordering, and only plans holding such ops run the slower
dead-tensor-aware loop (:class:`~savedmodel_io.runtime.control_flow_v1.DeadAwarePlan`).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from savedmodel_io.errors import (
    InvalidArgumentError,
    NotFoundError,
    ResourceExhaustedError,
    SavedModelIOError,
    UnimplementedError,
)
from savedmodel_io.protos import node_def_pb2
from savedmodel_io.runtime.registry import KernelDef, KernelFn, Node, lookup

if TYPE_CHECKING:
    from savedmodel_io.runtime.context import BuildContext

ARG = "\x00arg"
"""Source name of a function argument in a tensor key (node names cannot contain NUL)."""

TensorKey = tuple[str, int]


@dataclass(frozen=True)
class InputRef:
    """One data input of a node: ``src``'s output ``index`` (of output argument ``arg`` in
    function bodies, where ``index`` counts within that argument)."""

    src: str
    arg: str | None
    index: int


def parse_tensor_name(name: str) -> TensorKey:
    """``"x:1"`` -> ``("x", 1)``; ``"x"`` -> ``("x", 0)`` (a graph tensor name)."""
    base, sep, idx = name.rpartition(":")
    if sep and idx.isdigit() and base:
        return base, int(idx)
    if ":" in name or not name:
        raise InvalidArgumentError(f"malformed tensor name {name!r} (expected 'node:index')")
    return name, 0


class Body:
    """The nodes of a graph (``arg_names=None``) or of a function body."""

    def __init__(self, node_defs: Iterable[node_def_pb2.NodeDef], *, where: str = "",
                 arg_names: Sequence[str] | None = None) -> None:
        self.where = where
        self.is_function = arg_names is not None
        self.args = {n: i for i, n in enumerate(arg_names or ())}
        self.nodes: dict[str, node_def_pb2.NodeDef] = {}
        for nd in node_defs:
            if nd.name in self.nodes:
                raise InvalidArgumentError(f"{self._in()}two nodes are named {nd.name!r}")
            if not nd.name:
                raise InvalidArgumentError(f"{self._in()}a node has no name")
            self.nodes[nd.name] = nd
        self._parsed: dict[str, tuple[list[InputRef], list[str]]] = {}
        # How many TF1 loop frames this body is nested in (one iteration of a frame is
        # compiled as a body of its own, see control_flow_v1): bounds their nesting.
        self.frame_depth = 0

    def _in(self) -> str:
        return f"{self.where}: " if self.where else ""

    def inputs(self, name: str) -> tuple[list[InputRef], list[str]]:
        """(data inputs, control input node names) of node ``name``."""
        got = self._parsed.get(name)
        if got is None:
            data: list[InputRef] = []
            control: list[str] = []
            for text in self.nodes[name].input:
                if text.startswith("^"):
                    control.append(text[1:])
                else:
                    data.append(self._parse(text, name))
            got = self._parsed[name] = (data, control)
        return got

    def _parse(self, text: str, consumer: str) -> InputRef:
        if not self.is_function:
            src, idx = _parse_graph_input(text, consumer, self.where)
            return InputRef(src, None, idx)
        parts = text.split(":")
        if len(parts) == 1:
            if text in self.args:
                return InputRef(ARG, None, self.args[text])
            raise NotFoundError(
                f"{self._in()}node {consumer!r} takes input {text!r}, which is neither an "
                "argument of the function nor a node output ('node:arg:index')")
        if len(parts) == 2 and parts[0] in self.args and parts[1].isdigit():
            raise UnimplementedError(
                f"{self._in()}node {consumer!r} takes element {parts[1]} of list argument "
                f"{parts[0]!r} (list arguments are not supported)")
        if len(parts) == 2:
            return InputRef(parts[0], parts[1], 0)
        if len(parts) == 3 and parts[2].isdigit():
            return InputRef(parts[0], parts[1], int(parts[2]))
        raise InvalidArgumentError(
            f"{self._in()}node {consumer!r} has malformed input {text!r}")


def _parse_graph_input(text: str, consumer: str, where: str) -> TensorKey:
    try:
        return parse_tensor_name(text)
    except InvalidArgumentError:
        inside = f"{where}: " if where else ""
        raise InvalidArgumentError(
            f"{inside}node {consumer!r} has malformed input {text!r}") from None


# ------------------------------------------------------------------ pruning and order

def needed_nodes(body: Body, fetch_nodes: Iterable[str], fed: set[TensorKey],
                 extra: Iterable[str] = ()) -> list[str]:
    """The nodes that computing ``fetch_nodes`` and running ``extra`` needs, stopping at fed
    tensors; raises NotFoundError for an input naming no node."""
    seen: set[str] = set()
    stack: list[str] = []
    for name in [*fetch_nodes, *extra]:
        if name not in body.nodes:
            raise NotFoundError(f"{body._in()}the graph has no node {name!r}")
        if name not in seen:
            seen.add(name)
            stack.append(name)
    order: list[str] = []
    while stack:
        name = stack.pop()
        order.append(name)
        data, control = body.inputs(name)
        for ref in data:
            if ref.src == ARG or (ref.src, ref.index) in fed and ref.arg is None:
                continue
            _need(body, ref.src, name, seen, stack)
        for src in control:
            _need(body, src, name, seen, stack)
    return order


def _need(body: Body, src: str, consumer: str, seen: set[str], stack: list[str]) -> None:
    if src in seen:
        return
    if src not in body.nodes:
        raise NotFoundError(
            f"{body._in()}node {consumer!r} takes an input from {src!r}, but there is no "
            "node of that name")
    seen.add(src)
    stack.append(src)


def topological_order(body: Body, names: Sequence[str], fed: set[TensorKey]) -> list[str]:
    """``names`` ordered so every node comes after its (unfed) inputs; a cycle is an error
    naming the nodes on it."""
    members = set(names)
    indegree = dict.fromkeys(names, 0)
    users: dict[str, list[str]] = {n: [] for n in names}
    for name in names:
        for src in _deps(body, name, fed):
            if src in members:
                indegree[name] += 1
                users[src].append(name)
    order = kahn_order(body, names, indegree, users)
    if len(order) != len(names):
        stuck = [n for n in names if indegree[n] > 0]
        cycle = _find_cycle(body, stuck, fed)
        raise InvalidArgumentError(
            f"{body._in()}the graph has a cycle: {' -> '.join(cycle)} (a loop must be a "
            "While op or a TF1 Enter/Merge/NextIteration frame)")
    return order


def kahn_order(body: Body, names: Sequence[str], indegree: dict[str, int],
               users: dict[str, list[str]]) -> list[str]:
    """Kahn's walk over ``names`` given each one's count of unmet dependencies and its
    users; ties go in the body's node order, so plans are the same on every run. Nodes on
    a cycle are left out (and keep a positive ``indegree``)."""
    position = {n: i for i, n in enumerate(body.nodes)}
    ready = deque(sorted((n for n in names if indegree[n] == 0), key=position.__getitem__))
    order: list[str] = []
    while ready:
        name = ready.popleft()
        order.append(name)
        for user in users[name]:
            indegree[user] -= 1
            if indegree[user] == 0:
                ready.append(user)
    return order


def _deps(body: Body, name: str, fed: set[TensorKey]) -> list[str]:
    data, control = body.inputs(name)
    out = [r.src for r in data
           if r.src != ARG and not (r.arg is None and (r.src, r.index) in fed)]
    out.extend(control)
    return out


def _find_cycle(body: Body, stuck: list[str], fed: set[TensorKey]) -> list[str]:
    members = set(stuck)
    path: list[str] = []
    on_path: dict[str, int] = {}
    name = stuck[0]
    while name not in on_path:
        on_path[name] = len(path)
        path.append(name)
        name = next(d for d in _deps(body, name, fed) if d in members)
    cycle = path[on_path[name]:] + [name]
    return list(reversed(cycle))[:12] + (["..."] if len(cycle) > 12 else [])


# ------------------------------------------------------------------ plans


@dataclass(frozen=True)
class Step:
    fn: KernelFn
    ins: tuple[int, ...]
    outs: tuple[tuple[int, int], ...]  # (output position, slot)
    deref: tuple[int, ...]  # input positions holding a reference to read
    free: tuple[int, ...]  # slots last used by this step
    node: Node
    # Used by dead-aware plans only (TF1 control flow):
    ctrl: tuple[int, ...] = ()  # slots telling whether each control input is dead
    ctrl_out: int = -1  # slot telling this node's control users whether it is dead
    merge: bool = False  # runs with dead inputs (Merge); otherwise a dead input skips it


class Plan:
    """A compiled, pruned, ordered program: ``run(feeds)`` -> fetched values."""

    def __init__(self, steps: list[Step], n_slots: int, template: list[Any],
                 feed_slots: list[int], fetch_slots: list[int], fetch_deref: list[bool]
                 ) -> None:
        self.steps = steps
        self.n_slots = n_slots
        self.template = template
        self.feed_slots = feed_slots
        self.fetch_slots = fetch_slots
        self.fetch_deref = fetch_deref
        # Plain tuples: unpacking them in the hot loop is cheaper than attribute access.
        self._program = [(s.fn, s.ins, s.outs, s.deref, s.free) for s in steps]

    def __len__(self) -> int:
        return len(self.steps)

    def _fed_slots(self, feeds: Sequence[Any]) -> list[Any]:
        """A fresh slot list: the constants, with ``feeds`` in their slots."""
        if len(feeds) != len(self.feed_slots):
            raise InvalidArgumentError(f"the plan takes {len(self.feed_slots)} fed value(s), "
                                       f"got {len(feeds)}")
        vals = self.template.copy()
        for slot, value in zip(self.feed_slots, feeds, strict=True):
            vals[slot] = value
        return vals

    def run(self, feeds: Sequence[Any]) -> list[Any]:
        vals = self._fed_slots(feeds)
        i = -1
        try:
            # `i` names the failing step in the handler below.
            for i, (fn, ins, outs, deref, free) in enumerate(self._program):  # noqa: B007
                args = [vals[j] for j in ins]
                if deref:
                    for p in deref:
                        args[p] = args[p].read()
                if free:
                    # Dropped before the call: an input nothing else holds may then be
                    # reused in place by the kernel (see kernels._util.owned).
                    for slot in free:
                        vals[slot] = None
                res = fn(args)
                for pos, slot in outs:
                    vals[slot] = res[pos]
                del res, args  # hold no extra references (see the note above)
        except KERNEL_ERRORS as e:
            if i < 0:
                raise
            raise located(e, self.steps[i].node) from None
        out = [vals[s] for s in self.fetch_slots]
        for i, d in enumerate(self.fetch_deref):
            if d:
                out[i] = out[i].read()
        return out


KERNEL_ERRORS = (SavedModelIOError, ValueError, TypeError, IndexError, ArithmeticError,
                 AttributeError, KeyError, np.linalg.LinAlgError, MemoryError)
"""What a failing kernel may raise; :func:`located` turns it into our error for the node."""


def located(e: BaseException, node: Node) -> BaseException:
    """``e`` (one of :data:`KERNEL_ERRORS`, raised by ``node``'s kernel) as our error type
    naming the node."""
    if isinstance(e, SavedModelIOError):
        if getattr(e, "node_context", None) is not None:
            return e
        return _with_node(e, node)
    if isinstance(e, MemoryError):
        err: SavedModelIOError = ResourceExhaustedError(f"{node.describe()}: out of memory")
    else:
        err = InvalidArgumentError(f"{node.describe()}: {e}")
    err.node_context = node.name  # type: ignore[attr-defined]
    return err


def _with_node(e: SavedModelIOError, node: Node) -> SavedModelIOError:
    try:
        new = type(e)(f"{node.describe()}: {e.message}", path=e.path, key=e.key,
                      offset=e.offset)
    except TypeError:  # a subclass with another constructor: keep it as it is
        new = e
    new.node_context = node.name  # type: ignore[attr-defined]
    return new


def resolve_kernel(op: str, ctx: BuildContext) -> KernelDef | None:
    """The kernel of ``op``: a registered one, else a call of the library function ``op``."""
    kdef = lookup(op)
    if kdef is None and ctx.library is not None:
        kdef = ctx.library.call_kernel(op)
    return kdef


def compile_plan(body: Body, ctx: BuildContext, *, feeds: Sequence[TensorKey],
                 fetches: Sequence[TensorKey], targets: Sequence[str] = (),
                 keep_stateful: bool = False, frame_iteration: bool = False) -> Plan:
    """Compile the part of ``body`` that ``fetches`` and ``targets`` need.

    ``feeds`` are the tensors given at run time, in the order ``Plan.run`` takes them (for
    a function body: ``(ARG, i)`` for argument ``i``). ``keep_stateful`` also runs every
    node with side effects, as TensorFlow does inside function bodies.
    ``frame_iteration`` compiles one iteration of a TF1 loop frame: always dead-aware, and
    dead fetched values are returned rather than refused.
    """
    fed = set(feeds)
    extra = list(targets)
    if keep_stateful:
        for name, nd in body.nodes.items():
            kdef = resolve_kernel(nd.op, ctx)
            if kdef is not None and kdef.stateful:
                extra.append(name)
    fetch_nodes = [k[0] for k in fetches if k not in fed and k[0] != ARG]
    names = needed_nodes(body, fetch_nodes, fed, extra)
    loops: dict[str, KernelDef] = {}
    if any(body.nodes[n].op in _FRAME_OPS for n in names):
        from savedmodel_io.runtime.control_flow_v1 import collapse_frames

        body, names, loops = collapse_frames(body, names, ctx, fed, fetches, targets)
    kdefs: dict[str, KernelDef | None] = {
        n: loops[n] if n in loops else resolve_kernel(body.nodes[n].op, ctx) for n in names}
    missing = sorted({body.nodes[n].op for n, k in kdefs.items() if k is None})
    if missing:
        raise UnimplementedError(
            f"{body._in()}no kernel for op{'s' if len(missing) > 1 else ''} "
            f"{', '.join(missing)} (needed by the requested outputs)")
    order = topological_order(body, names, fed)
    nodes = {n: Node(body.nodes[n], kdefs[n], body.where) for n in order}
    dead_aware = frame_iteration or bool(loops) or any(
        body.nodes[n].op in _DEAD_OPS for n in names)
    return _build(body, ctx, nodes, order, feeds, fetches, fed, dead_aware=dead_aware,
                  allow_dead_fetch=frame_iteration)


# Ops that make a body a TF1 loop (collapsed by control_flow_v1), and ops that can make a
# tensor dead (only plans holding one take the slower dead-aware run loop).
_FRAME_OPS = frozenset({"Enter", "RefEnter", "Exit", "RefExit", "NextIteration",
                        "RefNextIteration", "LoopCond"})
_DEAD_OPS = frozenset({"Switch", "RefSwitch", "Merge", "RefMerge"})


def _build(body: Body, ctx: BuildContext, nodes: dict[str, Node], order: list[str],
           feeds: Sequence[TensorKey], fetches: Sequence[TensorKey], fed: set[TensorKey],
           *, dead_aware: bool = False, allow_dead_fetch: bool = False) -> Plan:
    slots: dict[TensorKey, int] = {}
    template: list[Any] = []

    def slot_of(key: TensorKey) -> int:
        s = slots.get(key)
        if s is None:
            s = slots[key] = len(template)
            template.append(None)
        return s

    feed_slots = [slot_of(k) for k in feeds]
    resolved: dict[str, list[TensorKey]] = {}
    is_ref: dict[TensorKey, bool] = {}
    controlled: set[str] = set()  # nodes some node has a control input from
    for name in order:
        node = nodes[name]
        data, control = body.inputs(name)
        keys: list[TensorKey] = []
        for ref in data:
            keys.append(_resolve(body, ref, nodes, name, fed))
        resolved[name] = keys
        controlled.update(control)
        kdef = node.kdef
        assert kdef is not None
        for pos in kdef.ref_outputs:
            is_ref[(name, pos)] = True
    if dead_aware:
        from savedmodel_io.runtime.control_flow_v1 import LIVE
    steps: list[Step] = []
    for name in order:
        node = nodes[name]
        kdef = node.kdef
        assert kdef is not None
        keys = resolved[name]
        if kdef.op == "Placeholder" and (name, 0) not in fed:
            raise _unfed_placeholder(node)
        deref: list[int] = []
        for pos, key in enumerate(keys):
            takes_ref = pos in kdef.ref_inputs
            if is_ref.get(key, False) and not takes_ref:
                deref.append(pos)
            elif takes_ref and not is_ref.get(key, False):
                raise node.error(f"input {pos} must be a reference variable (a TF1 "
                                 "VariableV2 output)")
        control = body.inputs(name)[1]
        # A constant under a control input (TF1 puts one on every constant inside a cond
        # branch) is dead when that input is: then it must be a step, not a template value.
        if kdef.op in _NO_STEP and not (dead_aware and control and kdef.op == "Const"):
            if kdef.op == "Const" and (name, 0) not in fed:
                template[slot_of((name, 0))] = _const_value(
                    node, ctx.limits.max_tensor_elements)
            if dead_aware and name in controlled:
                template[slot_of((name, -1))] = LIVE
            continue
        if kdef.op == "Const":
            fn = _const_step(_const_value(node, ctx.limits.max_tensor_elements))
        else:
            fn = kdef.factory(node, ctx)
        ins = tuple(slot_of(k) for k in keys)
        n_out = sum(node.arg_counts())
        outs = tuple((i, slot_of((name, i))) for i in range(n_out) if (name, i) not in fed)
        step = Step(fn, ins, outs, tuple(deref), (), node)
        if dead_aware:
            step = replace(step, ctrl=tuple(slot_of((c, -1)) for c in control),
                           ctrl_out=slot_of((name, -1)) if name in controlled else -1,
                           merge=kdef.op in ("Merge", "RefMerge"))
        steps.append(step)
    fetch_slots = [slot_of(k) for k in fetches]
    fetch_deref = [is_ref.get(k, False) for k in fetches]
    _drop_unused_outputs(steps, set(fetch_slots))
    _schedule_frees(steps, set(fetch_slots) | set(feed_slots))
    if dead_aware:
        from savedmodel_io.runtime.control_flow_v1 import DeadAwarePlan

        return DeadAwarePlan(steps, len(template), template, feed_slots, fetch_slots,
                             fetch_deref, fetches=list(fetches),
                             allow_dead_fetch=allow_dead_fetch)
    return Plan(steps, len(template), template, feed_slots, fetch_slots, fetch_deref)


def _const_step(value: np.ndarray) -> KernelFn:
    return lambda args: (value,)


# Ops that need no step: constants are evaluated at compile time; a needed placeholder is
# fed (or an error was raised above).
_NO_STEP = frozenset({"Const", "Placeholder"})


def _resolve(body: Body, ref: InputRef, nodes: dict[str, Node], consumer: str,
             fed: set[TensorKey]) -> TensorKey:
    if ref.src == ARG:
        return (ARG, ref.index)
    if ref.arg is None:
        key = (ref.src, ref.index)
        if key in fed:
            return key
        count = nodes[ref.src].output_count()
        if count is not None and ref.index >= count:
            raise InvalidArgumentError(
                f"{body._in()}node {consumer!r} takes output {ref.index} of {ref.src!r} "
                f"({nodes[ref.src].op}), which has {count} output(s)")
        return key
    return (ref.src, nodes[ref.src].output_index(ref.arg, ref.index))


def _const_value(node: Node, max_elements: int) -> np.ndarray:
    value = node.get_tensor("value", max_elements=max_elements)
    value.flags.writeable = False
    return value


def _unfed_placeholder(node: Node) -> InvalidArgumentError:
    from savedmodel_io.dtypes import python_name

    dtype = python_name(node.get_type("dtype")) if node.has("dtype") else "?"
    shape = node.get_shape("shape") if node.has("shape") else None
    shape_text = "unknown" if shape is None else (
        "[" + ",".join("?" if d < 0 else str(d) for d in shape) + "]")
    return InvalidArgumentError(
        f"You must feed a value for placeholder tensor {node.name!r} with dtype {dtype} "
        f"and shape {shape_text}")


def _drop_unused_outputs(steps: list[Step], fetch_slots: set[int]) -> None:
    used = set(fetch_slots)
    for step in steps:
        used.update(step.ins)
    for i, step in enumerate(steps):
        outs = tuple(o for o in step.outs if o[1] in used)
        if outs != step.outs:
            steps[i] = replace(step, outs=outs)


def _schedule_frees(steps: list[Step], keep: set[int]) -> None:
    last: dict[int, int] = {}
    for i, step in enumerate(steps):
        for s in step.ins:
            last[s] = i
    frees: dict[int, list[int]] = {}
    for s, i in last.items():
        if s not in keep:
            frees.setdefault(i, []).append(s)
    for i, step in enumerate(steps):
        if i in frees:
            steps[i] = replace(step, free=tuple(frees[i]))


__all__ = ["ARG", "Body", "Plan", "Step", "InputRef", "TensorKey", "compile_plan", "located",
           "needed_nodes", "topological_order", "parse_tensor_name", "resolve_kernel"]
