"""SavedModel file, directory and collection names (TensorFlow's ``saved_model.constants``).

The values are those of TensorFlow 2.21 (``tensorflow/cc/saved_model/constants.h``).
"""

from __future__ import annotations

ASSETS_DIRECTORY = "assets"
"""Subdirectory of the export directory that holds the asset files."""

EXTRA_ASSETS_DIRECTORY = "assets.extra"
"""Subdirectory reserved for files the user adds; TensorFlow writes nothing there."""

ASSETS_KEY = "saved_model_assets"
"""Collection holding ``Any``-packed ``AssetFileDef`` protos (TF1 builder)."""

LEGACY_INIT_OP_KEY = "legacy_init_op"
MAIN_OP_KEY = "saved_model_main_op"
TRAIN_OP_KEY = "saved_model_train_op"

SAVED_MODEL_SCHEMA_VERSION = 1
SAVED_MODEL_FILENAME_PREFIX = "saved_model"
SAVED_MODEL_FILENAME_PB = "saved_model.pb"
SAVED_MODEL_FILENAME_CPB = "saved_model.cpb"
SAVED_MODEL_FILENAME_PBTXT = "saved_model.pbtxt"

DEBUG_DIRECTORY = "debug"
DEBUG_INFO_FILENAME_PB = "saved_model_debug_info.pb"

VARIABLES_DIRECTORY = "variables"
VARIABLES_FILENAME = "variables"

FINGERPRINT_FILENAME = "fingerprint.pb"

INIT_OP_SIGNATURE_KEY = "__saved_model_init_op"
TRAIN_OP_SIGNATURE_KEY = "__saved_model_train_op"

OBJECT_GRAPH_PROTO_KEY = "_CHECKPOINTABLE_OBJECT_GRAPH"
"""Key of the serialized ``TrackableObjectGraph`` in an object-based checkpoint."""

__all__ = [
    "ASSETS_DIRECTORY",
    "EXTRA_ASSETS_DIRECTORY",
    "ASSETS_KEY",
    "LEGACY_INIT_OP_KEY",
    "MAIN_OP_KEY",
    "TRAIN_OP_KEY",
    "SAVED_MODEL_SCHEMA_VERSION",
    "SAVED_MODEL_FILENAME_PREFIX",
    "SAVED_MODEL_FILENAME_PB",
    "SAVED_MODEL_FILENAME_CPB",
    "SAVED_MODEL_FILENAME_PBTXT",
    "DEBUG_DIRECTORY",
    "DEBUG_INFO_FILENAME_PB",
    "VARIABLES_DIRECTORY",
    "VARIABLES_FILENAME",
    "FINGERPRINT_FILENAME",
    "INIT_OP_SIGNATURE_KEY",
    "TRAIN_OP_SIGNATURE_KEY",
    "OBJECT_GRAPH_PROTO_KEY",
]
