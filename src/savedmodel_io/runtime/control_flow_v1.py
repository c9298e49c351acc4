"""TF1 control flow (v1): dead tensors for Switch/Merge, and Enter/Exit loop frames.

Graphs built by ``tf.compat.v1.cond`` / ``while_loop`` in graph mode have no If/While ops.
A conditional is a ``Switch`` (the data comes out of output 1 when the predicate is true,
else output 0; the other output is *dead*) and a ``Merge`` (forwards its first live
input). Dead spreads: a node with a dead data or control input does not run and all its
outputs are dead. :class:`DeadAwarePlan` runs plans holding such ops; plans without them
keep the plain, faster loop of :class:`~savedmodel_io.runtime.interpreter.Plan`.

A while loop is a *frame*: ``Enter`` nodes (attribute ``frame_name``) carry values in,
each loop variable is ``Merge(Enter, NextIteration)``, ``LoopCond`` holds the condition,
``Switch(Merge, LoopCond)`` sends the value to the body (output 1) or to ``Exit``
(output 0), and ``NextIteration`` carries the body's result back to the ``Merge``.
:func:`collapse_frames` finds each outermost frame and replaces it by one loop node
whose kernel runs a compiled plan of one iteration (the frame's nodes, with the loop
``Merge`` values and the constant ``Enter`` values fed) until ``LoopCond`` is false, then
returns what reached the ``Exit`` nodes. Nested frames are collapsed the same way when
that iteration plan is compiled. Loops count against ``Limits`` like the TF2 ``While``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from savedmodel_io.errors import (
    InvalidArgumentError,
    ResourceExhaustedError,
    UnimplementedError,
)
from savedmodel_io.protos import node_def_pb2
from savedmodel_io.runtime.interpreter import (
    KERNEL_ERRORS,
    Body,
    Plan,
    Step,
    TensorKey,
    compile_plan,
    kahn_order,
    located,
)
from savedmodel_io.runtime.registry import KernelDef, KernelFn, Node

if TYPE_CHECKING:
    from savedmodel_io.runtime.context import BuildContext


class _Dead:
    """The value of a dead tensor (an output of an untaken Switch branch)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<dead tensor>"


class _Live:
    """The value of a control slot whose node ran."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<live>"


DEAD: Any = _Dead()
LIVE: Any = _Live()

ENTER_OPS = frozenset({"Enter", "RefEnter"})
EXIT_OPS = frozenset({"Exit", "RefExit"})
NEXT_OPS = frozenset({"NextIteration", "RefNextIteration"})
MERGE_OPS = frozenset({"Merge", "RefMerge"})
LOOP_OP = "WhileLoopV1"
"""Op of the node standing for a collapsed frame (no NodeDef of TensorFlow has it)."""


# ------------------------------------------------------------------ dead-aware plans


class DeadAwarePlan(Plan):
    """A plan whose tensors may be dead: kernels of nodes with a dead input are skipped."""

    def __init__(self, steps: list[Step], n_slots: int, template: list[Any],
                 feed_slots: list[int], fetch_slots: list[int], fetch_deref: list[bool],
                 *, fetches: Sequence[TensorKey], allow_dead_fetch: bool) -> None:
        super().__init__(steps, n_slots, template, feed_slots, fetch_slots, fetch_deref)
        self.fetches = list(fetches)
        self.allow_dead_fetch = allow_dead_fetch
        self._dead_program = [(s.fn, s.ins, s.outs, s.deref, s.free, s.ctrl, s.ctrl_out,
                               s.merge) for s in steps]

    def run(self, feeds: Sequence[Any]) -> list[Any]:
        vals = self._fed_slots(feeds)
        i = -1
        try:
            for i, (fn, ins, outs, deref, free, ctrl, ctrl_out, merge) in enumerate(  # noqa: B007
                    self._dead_program):
                args = [vals[j] for j in ins]
                # Merge runs on dead inputs (and ignores dead control inputs, as in TF).
                dead = not merge and (any(a is DEAD for a in args)
                                      or any(vals[c] is DEAD for c in ctrl))
                if not dead:
                    for p in deref:
                        if args[p] is not DEAD:
                            args[p] = args[p].read()
                for slot in free:
                    vals[slot] = None
                if dead:
                    for _, slot in outs:
                        vals[slot] = DEAD
                else:
                    res = fn(args)
                    for pos, slot in outs:
                        vals[slot] = res[pos]
                    dead = merge and res[0] is DEAD
                    del res
                del args
                if ctrl_out >= 0:
                    vals[ctrl_out] = DEAD if dead else LIVE
        except KERNEL_ERRORS as e:
            if i < 0:
                raise
            raise located(e, self.steps[i].node) from None
        out = [vals[s] for s in self.fetch_slots]
        for k, value in enumerate(out):
            if value is DEAD:
                if self.allow_dead_fetch:
                    continue
                name, index = self.fetches[k]
                raise InvalidArgumentError(
                    f"fetched tensor {name}:{index} was not computed: it is on a branch of a "
                    f"conditional (Switch) that was not taken (TensorFlow: Retval[{k}] does "
                    "not have value)")
            if self.fetch_deref[k]:
                out[k] = value.read()
        return out


# ------------------------------------------------------------------ frames


class _Frames:
    """Which while-loop frame each needed node of a body runs in.

    ``frame_of[n]`` is ``""`` for the body itself, a frame name for a node inside a loop,
    ``None`` for a node with no inputs at all (a constant: usable in any frame). An
    ``Enter`` runs in the enclosing frame and its output is in its ``frame_name`` frame;
    an ``Exit`` runs inside its frame and its output is in the enclosing one.
    """

    def __init__(self, body: Body, names: list[str], fed: set[TensorKey]) -> None:
        self.body = body
        self.fed = fed
        self.names = names
        self.frame_of: dict[str, str | None] = {}
        self.parent_of: dict[str, str] = {}
        self._definite: set[str] = set()  # frames whose parent an Enter fixed
        self._parent_used: set[str] = set()
        for name in _order_without_back_edges(body, names, fed):
            self._assign(name)

    def op(self, name: str) -> str:
        return self.body.nodes[name].op

    def out_frame(self, name: str) -> str | None:
        """The frame the outputs of ``name`` live in."""
        op = self.op(name)
        if op in ENTER_OPS:
            return _frame_name(self.body, name)
        f = self.frame_of[name]
        if op in EXIT_OPS and f:
            self._parent_used.add(f)
            return self.parent_of[f]
        return f

    def sources(self, name: str) -> list[str]:
        """Inputs that decide the frame of ``name`` (a loop Merge's NextIteration aside)."""
        data, control = self.body.inputs(name)
        is_merge = self.op(name) in MERGE_OPS
        out = [r.src for r in data if (r.src, r.index) not in self.fed
               and not (is_merge and self.op(r.src) in NEXT_OPS)]
        return out + list(control)

    def _assign(self, name: str) -> None:
        seen: dict[str, str] = {}  # frame -> an input in it
        for src in self.sources(name):
            f = self.out_frame(src)
            if f is not None and f not in seen:
                seen[f] = src
        if len(seen) > 1:
            raise self._mismatch(name, seen)
        frame = next(iter(seen), None)
        self.frame_of[name] = frame
        op = self.op(name)
        if op in ENTER_OPS:
            self._enter(name, frame)
        elif op in EXIT_OPS and not frame:
            raise InvalidArgumentError(
                f"{self.body._in()}Exit node {name!r} is not inside a while loop (its input "
                "does not come from any Enter)")

    def _enter(self, name: str, frame: str | None) -> None:
        child = _frame_name(self.body, name)
        data, _ = self.body.inputs(name)
        if len(data) != 1:
            raise InvalidArgumentError(
                f"{self.body._in()}Enter node {name!r} has {len(data)} data inputs "
                "(expected 1)")
        if frame is None:
            self.parent_of.setdefault(child, "")
            return
        if child == frame or self._encloses(child, frame):
            raise InvalidArgumentError(
                f"{self.body._in()}Enter node {name!r} enters frame {child!r} from inside "
                "that same frame")
        old = self.parent_of.get(child)
        if old is not None and old != frame and (child in self._definite
                                                 or child in self._parent_used):
            raise InvalidArgumentError(
                f"{self.body._in()}mismatched frames: Enter node {name!r} enters frame "
                f"{child!r} from frame {frame or '(top level)'!r}, but other nodes enter it "
                f"from {old or '(top level)'!r}")
        self.parent_of[child] = frame
        self._definite.add(child)

    def _encloses(self, outer: str, inner: str) -> bool:
        """Whether frame ``outer`` is ``inner`` or one of its enclosing frames."""
        f: str | None = inner
        for _ in range(len(self.parent_of) + 1):
            if f == outer:
                return True
            if not f:
                return False
            f = self.parent_of.get(f)
        return False

    def _mismatch(self, name: str, seen: dict[str, str]) -> InvalidArgumentError:
        frames = list(seen)
        for a in frames:
            for b in frames:
                if a != b and a and self._encloses(b, a):
                    return InvalidArgumentError(
                        f"{self.body._in()}node {name!r} takes {seen[a]!r} from inside while "
                        f"loop frame {a!r} without an Exit (it also takes {seen[b]!r} from "
                        f"{b or 'the top level'!r})")
        described = ", ".join(f"{src!r} (frame {f or '(top level)'!r})"
                              for f, src in seen.items())
        return InvalidArgumentError(
            f"{self.body._in()}mismatched frames: node {name!r} takes inputs from different "
            f"while-loop frames: {described}")

    def top_within(self, frame: str | None) -> str | None:
        """The outermost frame holding ``frame`` (``None`` for the top level)."""
        f = frame
        for _ in range(len(self.parent_of) + 1):
            if not f:
                return None
            parent = self.parent_of.get(f, "")
            if not parent:
                return f
            f = parent
        return None


def _frame_name(body: Body, name: str) -> str:
    attr = body.nodes[name].attr
    fname = attr["frame_name"].s.decode("utf-8", "replace") if "frame_name" in attr else ""
    if not fname:
        raise InvalidArgumentError(f"{body._in()}Enter node {name!r} has no frame_name")
    return fname


def _order_without_back_edges(body: Body, names: list[str], fed: set[TensorKey]
                              ) -> list[str]:
    """``names`` in topological order, ignoring NextIteration -> Merge edges."""
    members = set(names)
    indegree = dict.fromkeys(names, 0)
    users: dict[str, list[str]] = {n: [] for n in names}
    for name in names:
        data, control = body.inputs(name)
        is_merge = body.nodes[name].op in MERGE_OPS
        for ref in data:
            src = ref.src
            if (src, ref.index) in fed or src not in members:
                continue
            if body.nodes[src].op in NEXT_OPS:
                if not is_merge:
                    raise InvalidArgumentError(
                        f"{body._in()}NextIteration node {src!r} feeds {name!r} "
                        f"({body.nodes[name].op}); it may only feed a Merge")
                continue
            indegree[name] += 1
            users[src].append(name)
        for src in control:
            if src in members:
                indegree[name] += 1
                users[src].append(name)
    order = kahn_order(body, names, indegree, users)
    if len(order) != len(names):
        position = {n: i for i, n in enumerate(body.nodes)}
        stuck = sorted((n for n in names if indegree[n] > 0), key=position.__getitem__)
        shown = ", ".join(repr(n) for n in stuck[:8]) + (" ..." if len(stuck) > 8 else "")
        raise InvalidArgumentError(
            f"{body._in()}the graph has a cycle that is not a while loop (no NextIteration "
            f"-> Merge edge closes it); nodes on or after it: {shown}")
    return order


# ------------------------------------------------------------------ collapsing frames


def collapse_frames(body: Body, names: list[str], ctx: BuildContext, fed: set[TensorKey],
                    fetches: Sequence[TensorKey], targets: Sequence[str]
                    ) -> tuple[Body, list[str], dict[str, KernelDef]]:
    """``body`` with each outermost while-loop frame among ``names`` replaced by a loop
    node; returns the new body, its needed nodes and the loop nodes' kernels."""
    if body.is_function:
        raise UnimplementedError(
            f"{body._in()}TF1 while loops (Enter/Exit nodes) inside a function body are not "
            "supported")
    if body.frame_depth >= ctx.limits.max_call_depth and any(
            body.nodes[n].op in ENTER_OPS for n in names):
        raise ResourceExhaustedError(
            f"{body._in()}while loops nest deeper than {ctx.limits.max_call_depth}")
    frames = _Frames(body, names, fed)
    _check_outside(frames, fetches, targets)
    members: dict[str, list[str]] = {}  # top frame -> its nodes (nested frames included)
    enters: dict[str, list[str]] = {}  # top frame -> Enter nodes into it
    for name in frames.names:
        top = frames.top_within(frames.frame_of[name])
        if top is not None:
            members.setdefault(top, []).append(name)
        elif frames.op(name) in ENTER_OPS:
            enters.setdefault(_frame_name(body, name), []).append(name)
    _check_next_iterations(frames)
    replaced: set[str] = set()
    new_defs: list[node_def_pb2.NodeDef] = []
    loops: dict[str, KernelDef] = {}
    for top, nodes in members.items():
        loop = _Loop(frames, top, nodes, enters.get(top, []), ctx)
        replaced.update(nodes)
        replaced.update(loop.enters)
        new_defs.extend(loop.parent_defs())
        loops[loop.node_name] = loop.kernel_def()
    kept = [body.nodes[n] for n in frames.names if n not in replaced]
    new_body = Body([*kept, *new_defs], where=body.where)
    return new_body, list(new_body.nodes), loops


def _check_outside(frames: _Frames, fetches: Sequence[TensorKey],
                   targets: Sequence[str]) -> None:
    where = frames.body._in()
    for name, index in [*fetches, *frames.fed]:
        frame = frames.out_frame(name) if name in frames.frame_of else None
        if frame and not _has_exit(frames, frame):
            enters = [n for n in frames.names if frames.op(n) in ENTER_OPS
                      and _frame_name(frames.body, n) == frame]
            raise InvalidArgumentError(
                f"{where}while loop frame {frame!r} (Enter nodes {enters[:4]}) has no Exit "
                f"node, so nothing can leave it; tensor {name}:{index} is inside it")
        if frame:
            raise UnimplementedError(
                f"{where}tensor {name}:{index} is inside while loop frame "
                f"{frame!r}; only values leaving the loop through an Exit "
                "can be fetched or fed")
    for name in targets:
        if name in frames.frame_of and (frames.frame_of[name]
                                        or frames.op(name) in ENTER_OPS):
            raise UnimplementedError(
                f"{where}node {name!r} is inside a while loop frame and cannot be run as a "
                "target on its own")


def _has_exit(frames: _Frames, frame: str) -> bool:
    """Whether any Exit of the whole body (not only the needed part) leaves ``frame``."""
    body = frames.body
    if any(frames.op(n) in EXIT_OPS and frames.frame_of[n] == frame for n in frames.names):
        return True
    try:
        whole = _Frames(body, list(body.nodes), frames.fed)
    except (InvalidArgumentError, KeyError):
        return True  # malformed elsewhere: do not claim the frame has no Exit
    return any(nd.op in EXIT_OPS and whole.frame_of[n] == frame
               for n, nd in body.nodes.items())


def _check_next_iterations(frames: _Frames) -> None:
    body = frames.body
    for name in frames.names:
        op = frames.op(name)
        if op in MERGE_OPS:
            data, _ = body.inputs(name)
            nexts = [r.src for r in data if frames.op(r.src) in NEXT_OPS
                     and (r.src, r.index) not in frames.fed]
            if not nexts:
                continue
            frame = frames.frame_of[name]
            if not frame:
                raise InvalidArgumentError(
                    f"{body._in()}Merge node {name!r} takes NextIteration {nexts[0]!r} but is "
                    "not inside a while loop (no Enter feeds it)")
            for src in nexts:
                if src in frames.frame_of and frames.frame_of[src] != frame:
                    raise InvalidArgumentError(
                        f"{body._in()}mismatched frames: NextIteration node {src!r} is in "
                        f"frame {frames.frame_of[src] or '(top level)'!r} but feeds Merge "
                        f"{name!r} of frame {frame!r}")


class _Loop:
    """One outermost frame: its parts, the iteration plan and the loop node's kernel."""

    def __init__(self, frames: _Frames, frame: str, nodes: list[str], enters: list[str],
                 ctx: BuildContext) -> None:
        self.frames = frames
        self.frame = frame
        self.body = body = frames.body
        self.node_name = f"<while loop {frame}>"
        self.enters = enters
        self.ctx = ctx
        inside = set(nodes)
        own = [n for n in nodes if frames.frame_of[n] == frame]
        where = body._in()
        if not enters:
            raise InvalidArgumentError(f"{where}while loop frame {frame!r} has no Enter node")
        conds = [n for n in own if frames.op(n) == "LoopCond"]
        if len(conds) != 1:
            raise InvalidArgumentError(
                f"{where}while loop frame {frame!r} has {len(conds)} LoopCond nodes "
                f"{conds[:4]} (expected exactly 1); its Enter nodes: {enters[:4]}")
        self.loop_cond = conds[0]
        self.exits = [n for n in own if frames.op(n) in EXIT_OPS]
        if not self.exits:
            raise InvalidArgumentError(
                f"{where}while loop frame {frame!r} (Enter nodes {enters[:4]}) has no Exit")
        # Loop variables: Merge(Enter, NextIteration).
        self.merges: list[str] = []
        self.merge_enter: dict[str, str] = {}
        self.merge_index: dict[str, tuple[int, int]] = {}  # (Enter's input pos, Next's)
        self.next_of: dict[str, TensorKey] = {}  # merge -> the tensor its NextIteration takes
        for n in own:
            if frames.op(n) in MERGE_OPS:
                self._loop_merge(n)
        loop_enters = set(self.merge_enter.values())
        self.invariants = [e for e in enters if e not in loop_enters]
        for e in self.invariants:
            attr = body.nodes[e].attr
            if not ("is_constant" in attr and attr["is_constant"].b):
                users = [n for n in nodes if e in self._data_srcs(n)]
                raise InvalidArgumentError(
                    f"{where}Enter node {e!r} of frame {frame!r} is not constant "
                    f"(is_constant=false) but feeds {users[:3]} rather than a loop Merge")
        # Everything the frame's nodes take from outside it, Enter nodes aside.
        self.externals: list[TensorKey] = []
        control_externals: set[str] = set()
        for n in nodes:
            data, control = body.inputs(n)
            for ref in data:
                key = (ref.src, ref.index)
                if ref.src not in inside and ref.src not in enters and \
                        key not in self.externals and not (n in self.merges and
                                                           ref.src in loop_enters):
                    self.externals.append(key)
            control_externals.update(c for c in control if c not in inside
                                     and c not in enters)
        self.plan = self._compile(nodes, control_externals)

    def _data_srcs(self, name: str) -> list[str]:
        return [r.src for r in self.body.inputs(name)[0]]

    def _loop_merge(self, name: str) -> None:
        body, frames = self.body, self.frames
        data, _ = body.inputs(name)
        kinds = [frames.op(r.src) for r in data]
        if not any(k in NEXT_OPS for k in kinds):
            return  # a conditional's Merge inside the loop
        enter_pos = [i for i, k in enumerate(kinds) if k in ENTER_OPS]
        next_pos = [i for i, k in enumerate(kinds) if k in NEXT_OPS]
        if len(data) != 2 or len(enter_pos) != 1 or len(next_pos) != 1:
            raise InvalidArgumentError(
                f"{body._in()}loop Merge node {name!r} of frame {self.frame!r} must take one "
                f"Enter and one NextIteration, got inputs {[r.src for r in data]}")
        enter = data[enter_pos[0]].src
        if _frame_name(body, enter) != self.frame:
            raise InvalidArgumentError(
                f"{body._in()}mismatched frames: loop Merge node {name!r} of frame "
                f"{self.frame!r} takes Enter {enter!r} of frame {_frame_name(body, enter)!r}")
        nxt = data[next_pos[0]].src
        next_data, _ = body.inputs(nxt)
        if len(next_data) != 1:
            raise InvalidArgumentError(
                f"{body._in()}NextIteration node {nxt!r} has {len(next_data)} data inputs "
                "(expected 1)")
        self.merges.append(name)
        self.merge_enter[name] = enter
        self.merge_index[name] = (enter_pos[0], next_pos[0])
        self.next_of[name] = (next_data[0].src, next_data[0].index)

    def _compile(self, nodes: list[str], control_externals: set[str]) -> Plan:
        """The plan of one iteration: feeds the loop Merges (value, value_index), the
        constant Enters and the external tensors; fetches LoopCond, what each NextIteration
        takes and what each Exit takes."""
        body = self.body
        defs: list[node_def_pb2.NodeDef] = []
        stubbed = set(self.merges) | set(self.enters)
        for n in nodes:
            if n in self.merges:
                defs.append(node_def_pb2.NodeDef(name=n, op="Placeholder"))
            elif n not in self.exits:
                defs.append(body.nodes[n])
        for e in self.enters:
            defs.append(node_def_pb2.NodeDef(
                name=e, op="Placeholder" if e in self.invariants else "NoOp"))
        ext_names = {k[0] for k in self.externals} | control_externals
        for n in sorted(ext_names - stubbed):
            # Data externals are fed; one only waited for is a no-op here (it ran outside).
            op = "Placeholder" if any(k[0] == n for k in self.externals) else "NoOp"
            defs.append(node_def_pb2.NodeDef(name=n, op=op))
        frame_body = Body(defs, where=body.where)
        frame_body.frame_depth = body.frame_depth + 1
        feeds: list[TensorKey] = []
        for m in self.merges:
            feeds += [(m, 0), (m, 1)]
        feeds += [(e, 0) for e in self.invariants]
        feeds += self.externals
        fetches: list[TensorKey] = [(self.loop_cond, 0)]
        fetches += [self.next_of[m] for m in self.merges]
        for x in self.exits:
            data, _ = body.inputs(x)
            if len(data) != 1:
                raise InvalidArgumentError(
                    f"{body._in()}Exit node {x!r} has {len(data)} data inputs (expected 1)")
            fetches.append((data[0].src, data[0].index))
        return compile_plan(frame_body, self.ctx, feeds=feeds, fetches=fetches,
                            frame_iteration=True)

    def parent_defs(self) -> list[node_def_pb2.NodeDef]:
        """The loop node and the Exit nodes (now reading the loop node's outputs)."""
        body = self.body
        loop = node_def_pb2.NodeDef(name=self.node_name, op=LOOP_OP)
        for m in self.merges:
            ref = body.inputs(self.merge_enter[m])[0][0]
            loop.input.append(f"{ref.src}:{ref.index}")
        for e in self.invariants:
            ref = body.inputs(e)[0][0]
            loop.input.append(f"{ref.src}:{ref.index}")
        loop.input.extend(f"{src}:{idx}" for src, idx in self.externals)
        control: list[str] = []
        for e in self.enters:
            control += [c for c in body.inputs(e)[1] if c not in control]
        loop.input.extend(f"^{c}" for c in control)
        out = [loop]
        for k, x in enumerate(self.exits):
            nd = node_def_pb2.NodeDef(name=x, op=body.nodes[x].op)
            for key, value in body.nodes[x].attr.items():
                nd.attr[key].CopyFrom(value)
            nd.input.append(f"{self.node_name}:{k}")
            out.append(nd)
        return out

    def kernel_def(self) -> KernelDef:
        outputs = tuple(f"output_{k}" for k in range(len(self.exits)))
        return KernelDef(LOOP_OP, self._factory, outputs)

    def _factory(self, node: Node, ctx: BuildContext) -> KernelFn:
        from savedmodel_io.runtime.kernels.functional import truth

        plan = self.plan
        n_vars = len(self.merges)
        first = [np.int32(self.merge_index[m][0]) for m in self.merges]
        later = [np.int32(self.merge_index[m][1]) for m in self.merges]
        limit = ctx.limits.max_loop_iterations
        what = f"while loop frame {self.frame!r}"
        cond = self.loop_cond

        def run(args: list[Any]) -> list[Any]:
            state = args[:n_vars]
            rest = args[n_vars:]
            index = first
            if ctx.loop_depth == 0:
                ctx.loop_iterations = 0
            ctx.loop_depth += 1
            try:
                for count in range(limit + 1):
                    feeds: list[Any] = []
                    for value, idx in zip(state, index, strict=True):
                        feeds += (value, idx)
                    outs = plan.run(feeds + rest)
                    pred = outs[0]
                    if pred is DEAD:
                        raise InvalidArgumentError(
                            f"{what}: LoopCond {cond!r} received a dead value")
                    if not truth(pred):
                        return outs[1 + n_vars:]
                    if count == limit:
                        break
                    ctx.count_iteration(what)
                    state = outs[1:1 + n_vars]
                    index = later
            finally:
                ctx.loop_depth -= 1
            raise ResourceExhaustedError(
                f"{what}: the loop did not finish within {limit} iterations")
        return run


__all__ = ["DEAD", "LIVE", "DeadAwarePlan", "collapse_frames", "LOOP_OP"]
