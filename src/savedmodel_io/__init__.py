"""savedmodel_io: TensorFlow checkpoints and SavedModels without TensorFlow.

The two calls most people need::

    import numpy as np, savedmodel_io
    savedmodel_io.save_checkpoint({"w": np.ones((2, 3), np.float32)}, "/tmp/ckpt/model")
    reader = savedmodel_io.load_checkpoint("/tmp/ckpt/model")   # lazy, read-only mapping
    reader["w"]

``savedmodel_io.train`` mirrors ``tf.train``; ``savedmodel_io.saved_model`` mirrors
``tf.compat.v1.saved_model``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from savedmodel_io.errors import SavedModelIOError
from savedmodel_io.train.checkpoint_reader import CheckpointReader, load_checkpoint

__version__ = "0.1.0"


def save_checkpoint(tensors: Mapping[str, Any], prefix: str | os.PathLike[str]) -> str:
    """Write a dict of arrays as a TensorFlow V2 checkpoint at ``prefix``; return the prefix.

    The dict's order is the order of the tensors in the data file (TensorFlow's add order);
    the index lists them sorted by key. TensorFlow reads the result with
    ``tf.train.load_checkpoint(prefix)``.
    """
    from savedmodel_io.format.bundle_writer import BundleWriter

    p = os.fspath(prefix)
    with BundleWriter(p) as w:
        for key, value in tensors.items():
            w.add(key, value)
    return p


__all__ = ["__version__", "save_checkpoint", "load_checkpoint", "CheckpointReader",
           "SavedModelIOError"]
