"""The checkpoint API of ``tf.train``, with numpy arrays in place of Sessions."""

from __future__ import annotations

from savedmodel_io.train.checkpoint import (
    Checkpoint,
    CheckpointLoadStatus,
    Module,
    Optimizer,
)
from savedmodel_io.train.checkpoint_manager import CheckpointManager
from savedmodel_io.train.checkpoint_reader import (
    CheckpointReader,
    checkpoint_exists,
    get_checkpoint_mtimes,
    latest_checkpoint,
    list_variables,
    load_checkpoint,
    load_variable,
)
from savedmodel_io.train.checkpoint_state import (
    CheckpointState,
    get_checkpoint_state,
    update_checkpoint_state,
)
from savedmodel_io.train.object_graph import ObjectGraphView
from savedmodel_io.train.saver import Saver
from savedmodel_io.train.variable import SaveSliceInfo, Variable, partition

__all__ = [
    "Checkpoint",
    "CheckpointLoadStatus",
    "CheckpointManager",
    "Module",
    "ObjectGraphView",
    "Optimizer",
    "Saver",
    "SaveSliceInfo",
    "Variable",
    "partition",
    "CheckpointReader",
    "CheckpointState",
    "checkpoint_exists",
    "get_checkpoint_mtimes",
    "get_checkpoint_state",
    "latest_checkpoint",
    "list_variables",
    "load_checkpoint",
    "load_variable",
    "update_checkpoint_state",
]
