"""Numbered export directories: TF Serving's model base path and Estimator-style exports.

TensorFlow Serving watches a *base path* whose subdirectories named by a number are the
versions of one model (``/models/m/1``, ``/models/m/2``, ...) and serves the largest.
Estimator exports name them by Unix time and write through a ``temp-<ts>`` directory::

    export_dir = get_timestamped_export_dir("/models/m")   # /models/m/1718000000
    tmp = get_temp_export_dir(export_dir)                  # /models/m/temp-1718000000
    ... write the SavedModel into tmp, then rename tmp -> export_dir ...
    garbage_collect_exports("/models/m", exports_to_keep=5)

Only names made of ASCII digits count as versions; anything else (``tmp``, ``1.bak``,
``temp-123``, files) is never listed and never deleted.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable

from savedmodel_io import fileio
from savedmodel_io.errors import AlreadyExistsError, InvalidArgumentError, NotFoundError, PathLike
from savedmodel_io.saved_model.loader import contains_saved_model

_VERSION = re.compile(r"[0-9]+\Z")
MAX_VERSION = (1 << 63) - 1  # TF Serving parses versions as int64
MAX_DIRECTORY_CREATION_ATTEMPTS = 1000


def parse_version(name: str) -> int | None:
    """The version number a directory name stands for, or ``None`` when it is not one."""
    if not _VERSION.match(name):
        return None
    version = int(name)
    return version if version <= MAX_VERSION else None


def _numeric_dirs(base_path: str) -> list[tuple[int, str]]:
    if not fileio.is_dir(base_path):
        raise NotFoundError("model base path is not a directory", path=base_path)
    out = []
    for name in fileio.list_dir(base_path):
        version = parse_version(name)
        full = os.path.join(base_path, name)
        if version is not None and fileio.is_dir(full):
            out.append((version, full))
    out.sort()
    return out


def list_versions(base_path: PathLike) -> list[int]:
    """Ascending version numbers under ``base_path`` whose directory holds a SavedModel."""
    return [v for v, full in _numeric_dirs(os.fspath(base_path)) if contains_saved_model(full)]


def latest_version_path(base_path: PathLike) -> str:
    """The directory of the largest version (what TF Serving serves by default)."""
    base = os.fspath(base_path)
    candidates = [full for _, full in _numeric_dirs(base) if contains_saved_model(full)]
    if not candidates:
        raise NotFoundError("no numbered version directory holding a SavedModel", path=base)
    return candidates[-1]


def get_timestamped_export_dir(export_dir_base: PathLike, *,
                               clock: Callable[[], float] = time.time) -> str:
    """``<export_dir_base>/<unix seconds>``, a name that does not exist yet.

    When the current second is taken (or its ``temp-`` twin), the next free second is
    used instead of sleeping, so two exports in one second get distinct names. The
    directory is not created.
    """
    base = os.fspath(export_dir_base)
    timestamp = int(clock())
    for _ in range(MAX_DIRECTORY_CREATION_ATTEMPTS):
        candidate = os.path.join(base, str(timestamp))
        if not (os.path.lexists(candidate) or os.path.lexists(get_temp_export_dir(candidate))):
            return candidate
        timestamp += 1
    raise AlreadyExistsError(
        "Failed to obtain a unique export directory name after "
        f"{MAX_DIRECTORY_CREATION_ATTEMPTS} attempts.", path=base)


def get_temp_export_dir(timestamped_export_dir: PathLike) -> str:
    """``<base>/temp-<ts>`` for ``<base>/<ts>``: where to write before renaming into place."""
    dirname, basename = os.path.split(os.fspath(timestamped_export_dir).rstrip(os.sep))
    return os.path.join(dirname, f"temp-{basename}")


def garbage_collect_exports(export_dir_base: PathLike, exports_to_keep: int | None) -> list[str]:
    """Delete all but the ``exports_to_keep`` newest numbered export directories.

    ``None`` keeps everything. Returns the deleted paths. Names that are not all digits,
    and plain files, are left alone; a directory that vanishes meanwhile is ignored.
    """
    if exports_to_keep is None:
        return []
    if exports_to_keep < 0:
        raise InvalidArgumentError(f"exports_to_keep must be >= 0, got {exports_to_keep}")
    base = os.fspath(export_dir_base)
    if not fileio.is_dir(base):
        return []
    dirs = _numeric_dirs(base)
    doomed = dirs[:len(dirs) - exports_to_keep] if exports_to_keep else dirs
    deleted = []
    for _, full in doomed:
        fileio.remove_tree(full)  # a link to a version: only the link goes
        deleted.append(full)
    return deleted


__all__ = [
    "parse_version",
    "list_versions",
    "latest_version_path",
    "get_timestamped_export_dir",
    "get_temp_export_dir",
    "garbage_collect_exports",
]
