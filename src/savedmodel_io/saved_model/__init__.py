"""SavedModel directories: build, load and inspect them (TensorFlow's
``tf.compat.v1.saved_model``).

Submodules load on first use::

    from savedmodel_io import saved_model
    loaded = saved_model.load(export_dir, [saved_model.tag_constants.SERVING])
    builder = saved_model.SavedModelBuilder(export_dir)      # or saved_model.simple_save(...)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from savedmodel_io.saved_model import (
        assets,
        builder,
        constants,
        farmhash,
        fingerprint,
        loader,
        signature_constants,
        signature_def_utils,
        tag_constants,
        utils,
        versioned,
    )
    from savedmodel_io.saved_model.builder import Builder, SavedModelBuilder
    from savedmodel_io.saved_model.loader import contains_saved_model, load
    from savedmodel_io.saved_model.simple_save import simple_save

_SUBMODULES = {"assets", "builder", "constants", "farmhash", "fingerprint", "loader",
               "signature_constants", "signature_def_utils", "tag_constants", "utils",
               "versioned"}
_FROM_LOADER = {"load", "contains_saved_model"}
# name -> module it comes from (``simple_save`` is the function, as in TensorFlow).
_FROM_MODULE = {"SavedModelBuilder": "builder", "Builder": "builder",
                "simple_save": "simple_save"}


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    if name in _FROM_LOADER:
        return getattr(importlib.import_module(f"{__name__}.loader"), name)
    if name in _FROM_MODULE:
        value = getattr(importlib.import_module(f"{__name__}.{_FROM_MODULE[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | _SUBMODULES | _FROM_LOADER | set(_FROM_MODULE))


__all__ = ["load", "contains_saved_model", "SavedModelBuilder", "Builder", "simple_save",
           "assets", "builder", "constants", "farmhash", "fingerprint", "loader",
           "signature_constants", "signature_def_utils", "tag_constants", "utils",
           "versioned"]
