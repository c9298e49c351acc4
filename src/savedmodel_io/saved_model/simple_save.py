"""``simple_save``: TensorFlow 1's one-call export for serving, with a Graph for the Session::

    simple_save(g, "/models/m/1", inputs={"x": x}, outputs={"y": y})

One MetaGraphDef tagged ``serve`` with a Predict signature ``serving_default``, the graph's
``asset_filepaths`` collection as assets, devices cleared, as TensorFlow's ``simple_save``.
"""

from __future__ import annotations

import sys
import types
from collections.abc import Mapping
from typing import Any

from savedmodel_io.errors import PathLike
from savedmodel_io.graph import Graph, Operation
from savedmodel_io.saved_model import signature_constants, tag_constants
from savedmodel_io.saved_model.builder import SavedModelBuilder, VariableValues
from savedmodel_io.saved_model.signature_def_utils import predict_signature_def

ASSET_FILEPATHS = "asset_filepaths"
"""TensorFlow's ``GraphKeys.ASSET_FILEPATHS`` collection: the assets ``simple_save`` exports."""


def simple_save(graph: Graph, export_dir: PathLike, inputs: Mapping[str, Any],
                outputs: Mapping[str, Any], legacy_init_op: Operation | None = None, *,
                variables: VariableValues | None = None) -> str:
    """Export ``graph`` for serving; returns the path of ``saved_model.pb``.

    ``inputs``/``outputs``: name -> graph Tensor (or TensorInfo). ``legacy_init_op``: run
    after restoring (stored as the main op). ``variables``: values to write instead of the
    graph variables' current ones (see ``SavedModelBuilder.add_meta_graph_and_variables``).
    """
    signature_def_map = {
        signature_constants.DEFAULT_SERVING_SIGNATURE_DEF_KEY:
            predict_signature_def(inputs, outputs)}
    builder = SavedModelBuilder(export_dir)
    assets = graph.get_collection(ASSET_FILEPATHS) if isinstance(graph, Graph) else None
    builder.add_meta_graph_and_variables(
        graph, tags=[tag_constants.SERVING], signature_def_map=signature_def_map,
        assets_collection=assets, main_op=legacy_init_op, clear_devices=True,
        variables=variables)
    return builder.save()


__all__ = ["simple_save", "ASSET_FILEPATHS"]


class _CallableModule(types.ModuleType):
    """Lets ``saved_model.simple_save(...)`` work even where Python's import system has bound
    the package attribute to this module rather than to the function of the same name."""

    def __call__(self, *args: Any, **kwargs: Any) -> str:
        return simple_save(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
