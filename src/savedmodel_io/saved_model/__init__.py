"""SavedModel directories: load and inspect them (TensorFlow's ``tf.compat.v1.saved_model``).

Submodules load on first use::

    from savedmodel_io import saved_model
    loaded = saved_model.load(export_dir, [saved_model.tag_constants.SERVING])
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from savedmodel_io.saved_model import (
        constants,
        loader,
        signature_constants,
        signature_def_utils,
        tag_constants,
        utils,
        versioned,
    )
    from savedmodel_io.saved_model.loader import contains_saved_model, load

_SUBMODULES = {"constants", "loader", "signature_constants", "signature_def_utils",
               "tag_constants", "utils", "versioned"}
_FROM_LOADER = {"load", "contains_saved_model"}


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    if name in _FROM_LOADER:
        return getattr(importlib.import_module(f"{__name__}.loader"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | _SUBMODULES | _FROM_LOADER)


__all__ = ["load", "contains_saved_model", "constants", "loader", "signature_constants",
           "signature_def_utils", "tag_constants", "utils", "versioned"]
