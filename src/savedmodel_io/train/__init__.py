"""The checkpoint API of ``tf.train``, with numpy arrays in place of Sessions."""

from __future__ import annotations

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

__all__ = [
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
