"""CRC32C (Castagnoli) and the masked form the table and bundle formats store.

All functions accept any object exposing a contiguous buffer (``bytes``, ``bytearray``,
``memoryview``, a contiguous numpy array) and never copy it.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import os
from collections.abc import Callable
from typing import Any

_MASK_DELTA = 0xA282EAD8
_U32 = 0xFFFFFFFF


def _load_crc32c() -> Callable[..., int]:
    """The ``crc32c`` function of the crc32c package's C extension.

    Loaded straight from its file when it can be: the package's ``__init__`` reads its own
    distribution metadata and imports its command line tool, which costs more at start-up
    (tens of milliseconds, hundreds on a busy machine) than everything else this module
    does. Any surprise in the package's layout falls back to the plain import.
    """
    try:
        spec = importlib.util.find_spec("crc32c")
        for folder in (spec.submodule_search_locations or []) if spec else []:
            for suffix in importlib.machinery.EXTENSION_SUFFIXES:
                path = os.path.join(folder, "_crc32c" + suffix)
                if os.path.exists(path):
                    ext = importlib.util.spec_from_file_location("crc32c._crc32c", path)
                    if ext is None or ext.loader is None:
                        continue
                    module = importlib.util.module_from_spec(ext)
                    ext.loader.exec_module(module)
                    fn: Callable[..., int] = module.crc32c
                    return fn
    except (ImportError, OSError, AttributeError):
        pass
    import crc32c

    fallback: Callable[..., int] = crc32c.crc32c
    return fallback


_crc32c = _load_crc32c()


def value(data: Any) -> int:
    """CRC32C of ``data``."""
    return _crc32c(data)


def extend(crc: int, data: Any) -> int:
    """Continue ``crc`` (the CRC32C of some bytes) over ``data``."""
    return _crc32c(data, value=crc)


def mask(crc: int) -> int:
    """The stored form of a CRC: rotated right by 15 bits plus a constant (mod 2**32)."""
    return ((((crc >> 15) | (crc << 17)) & _U32) + _MASK_DELTA) & _U32


def unmask(masked: int) -> int:
    """Inverse of :func:`mask`."""
    rot = (masked - _MASK_DELTA) & _U32
    return ((rot >> 17) | (rot << 15)) & _U32


__all__ = ["value", "extend", "mask", "unmask"]
