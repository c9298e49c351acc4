"""Running a graph by tensor names (``GraphRunner``), and a loaded SavedModel (``Session``).

``GraphRunner(graph_def).run(["y:0"], {"x:0": x})`` is TensorFlow 1's ``Session.run``:
feeds and fetches are tensor names, targets are node names, and each distinct
(feeds, fetches, targets) combination is compiled once into a :class:`Plan` and cached.

``Session(loaded)`` does what TensorFlow's SavedModel loader does before a signature can
run: it restores the variables (TF1: runs the Saver's restore op with the variables
prefix; TF2: binds every captured variable to its checkpoint key through the object
graph, read lazily on first use) and runs the init op with the asset paths fed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from savedmodel_io.errors import NotFoundError, UnimplementedError
from savedmodel_io.protos import graph_pb2
from savedmodel_io.runtime.context import BuildContext, Limits
from savedmodel_io.runtime.functions import FunctionLibrary
from savedmodel_io.runtime.interpreter import (
    Body,
    Plan,
    TensorKey,
    compile_plan,
    parse_tensor_name,
)
from savedmodel_io.tensor_proto import shape_from_proto

if TYPE_CHECKING:
    from savedmodel_io.saved_model.loader import LoadedSavedModel

PlanKey = tuple[tuple[TensorKey, ...], tuple[TensorKey, ...], tuple[str, ...]]


class GraphRunner:
    """Run parts of one GraphDef (and its function library) with numpy kernels."""

    def __init__(self, graph_def: graph_pb2.GraphDef, *, limits: Limits | None = None) -> None:
        self.ctx = BuildContext(limits=limits or Limits())
        self.ctx.library = FunctionLibrary(graph_def.library, self.ctx)
        self.body = Body(graph_def.node)
        self._plans: dict[PlanKey, Plan] = {}

    def plan(self, feeds: Sequence[str], fetches: Sequence[str], targets: Sequence[str] = ()
             ) -> Plan:
        """The compiled plan for these tensor names (cached)."""
        feed_keys = tuple(parse_tensor_name(n) for n in feeds)
        fetch_keys = tuple(parse_tensor_name(n) for n in fetches)
        key = (feed_keys, fetch_keys, tuple(targets))
        plan = self._plans.get(key)
        if plan is None:
            for name, idx in feed_keys:
                if name not in self.body.nodes:
                    raise NotFoundError(f"cannot feed {name}:{idx}: the graph has no node "
                                        f"{name!r}")
            plan = self._plans[key] = compile_plan(self.body, self.ctx, feeds=feed_keys,
                                                   fetches=fetch_keys, targets=targets)
        return plan

    def static_shape(self, tensor_name: str) -> tuple[int, ...] | None:
        """The shape the graph declares for a tensor (a placeholder's ``shape`` attribute,
        else the ``_output_shapes`` TF1 graphs record), ``None`` when unknown."""
        name, index = parse_tensor_name(tensor_name)
        nd = self.body.nodes.get(name)
        if nd is None:
            return None
        if nd.op in ("Placeholder", "PlaceholderWithDefault") and index == 0 and \
                "shape" in nd.attr:
            return shape_from_proto(nd.attr["shape"].shape)
        if "_output_shapes" in nd.attr:
            shapes = nd.attr["_output_shapes"].list.shape
            if index < len(shapes):
                return shape_from_proto(shapes[index])
        return None

    def run(self, fetches: Sequence[str], feed_dict: Mapping[str, Any] | None = None,
            targets: Sequence[str] = ()) -> list[Any]:
        """Values of the ``fetches`` tensors with ``feed_dict`` fed, after also running the
        ``targets`` nodes. Fed values are used as given (convert them beforehand)."""
        feeds = dict(feed_dict or {})
        names = list(feeds)
        plan = self.plan(names, fetches, targets)
        values = [_as_input(feeds[n]) for n in names]
        with np.errstate(all="ignore"):
            return plan.run(values)


def _as_input(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value
    arr = np.asarray(value)
    if arr.dtype.kind in "US":
        arr = np.vectorize(lambda s: s.encode() if isinstance(s, str) else s,
                           otypes=[object])(arr)
    return arr


class Session(GraphRunner):
    """One MetaGraphDef of a loaded SavedModel, restored and initialized, ready to run."""

    def __init__(self, loaded: LoadedSavedModel, *, limits: Limits | None = None) -> None:
        super().__init__(loaded.meta_graph_def.graph_def, limits=limits)
        self.loaded = loaded
        self.ctx.read_roots = (loaded.export_dir,)
        self.runners: dict[str, Any] = {}  # signature key -> prepared SignatureRunner
        self.asset_feeds: dict[str, np.ndarray] = {
            name: np.asarray(path.encode("utf-8"), dtype=object)
            for name, path in loaded.asset_paths.items()}
        self._restore()
        if loaded.init_op_name:
            self.run([], {}, [loaded.init_op_name])

    def run(self, fetches: Sequence[str], feed_dict: Mapping[str, Any] | None = None,
            targets: Sequence[str] = ()) -> list[Any]:
        feeds: dict[str, Any] = {n: v for n, v in self.asset_feeds.items()
                                 if parse_tensor_name(n)[0] in self.body.nodes}
        feeds.update(feed_dict or {})
        return super().run(fetches, feeds, targets)

    # ------------------------------------------------------------ restoring variables

    def _restore(self) -> None:
        from savedmodel_io.runtime import binding

        loaded = self.loaded
        if loaded.variables is None:
            return
        if loaded.object_graph is not None and len(loaded.object_graph.nodes):
            binding.bind_object_graph(self)
            return
        saver = loaded.meta_graph_def.saver_def
        if saver.restore_op_name and saver.filename_tensor_name:
            try:
                plan_needs = self.plan([saver.filename_tensor_name], [],
                                       [saver.restore_op_name])
            except UnimplementedError:
                plan_needs = None  # e.g. a V1 Saver: restore by variable names instead
            if plan_needs is not None:
                prefix = np.asarray(loaded.variables_prefix.encode("utf-8"), dtype=object)
                self.run([], {saver.filename_tensor_name: prefix}, [saver.restore_op_name])
                return
        binding.bind_by_name(self)


__all__ = ["GraphRunner", "Session"]
