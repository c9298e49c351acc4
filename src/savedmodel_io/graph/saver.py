"""``add_saver``: TF1 ``Saver``'s save/restore subgraph, appended to a Graph.

The nodes are the ones :mod:`savedmodel_io.train.saver_graph` writes into ``.meta`` files
(FORMAT.md 5.2/5.3), under a scope the graph makes unique (``save``, ``save_1``...), so a
checkpoint written by :class:`savedmodel_io.train.Saver` for the same variables restores
through the returned SaverDef.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from savedmodel_io.errors import InvalidArgumentError
from savedmodel_io.protos import saver_pb2
from savedmodel_io.train import saver_graph
from savedmodel_io.train.saver_graph import SaveItem

if TYPE_CHECKING:
    from savedmodel_io.graph.graph import Graph
    from savedmodel_io.graph.variables import GraphVariable


def save_items(graph: Graph,
               var_list: Sequence[GraphVariable] | Mapping[str, GraphVariable] | None
               ) -> list[SaveItem]:
    """What the saver writes: (checkpoint key, variable), sorted by key as TF does. Keys are
    the variables' op names, or the keys of a dict."""
    from savedmodel_io.graph.variables import GraphVariable
    if var_list is None:
        pairs = [(v.name, v) for v in graph._vars_in("variables")]
    elif isinstance(var_list, Mapping):
        pairs = list(var_list.items())
    else:
        pairs = [(v.name, v) for v in var_list]
    seen: dict[str, GraphVariable] = {}
    for key, v in pairs:
        if not isinstance(v, GraphVariable):
            raise InvalidArgumentError(
                f"saver var_list holds GraphVariables, got {type(v).__name__} for {key!r}")
        if v.graph is not graph:
            raise InvalidArgumentError(f"variable {v.name!r} is from another graph")
        if key in seen:
            raise InvalidArgumentError(f"several variables are saved under the key {key!r}")
        if any(other is v for other in seen.values()):
            raise InvalidArgumentError(f"variable {v.name!r} appears twice in var_list")
        seen[key] = v
    return [SaveItem(k, seen[k].variable) for k in sorted(seen, key=lambda k: k.encode())]


def add_saver(graph: Graph, sink: saver_graph.NodeSink, *, sharded: bool = False,
              name: str | None = None,
              var_list: Sequence[GraphVariable] | Mapping[str, GraphVariable] | None = None,
              max_to_keep: int = 5, keep_checkpoint_every_n_hours: float = 10000.0,
              filename: str | None = None) -> saver_pb2.SaverDef:
    """Append the saver subgraph to ``graph`` (through ``sink``); returns the SaverDef."""
    items = save_items(graph, var_list)
    if not items:
        raise InvalidArgumentError("no variables to save")
    with graph.name_scope(name or "save") as scope:
        pass
    return saver_graph.add_save_subgraph(
        sink, items, sharded=sharded, filename=filename or "model", scope=scope[:-1],
        max_to_keep=max_to_keep, keep_checkpoint_every_n_hours=keep_checkpoint_every_n_hours)


__all__ = ["add_saver", "save_items"]
