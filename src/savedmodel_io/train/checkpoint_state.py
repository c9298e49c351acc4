"""The ``checkpoint`` state file: which checkpoints a directory holds, newest last.

It is a text-format ``CheckpointState`` proto::

    model_checkpoint_path: "ckpt-2"
    all_model_checkpoint_paths: "ckpt-1"
    all_model_checkpoint_paths: "ckpt-2"

Relative paths are relative to the directory holding the file. Writes are atomic
(temporary file, then rename), so a crash leaves the previous state readable.
"""

from __future__ import annotations

import contextlib
import glob
import os
import re
import warnings
from collections.abc import Sequence

from google.protobuf import text_format

from savedmodel_io import fileio
from savedmodel_io.errors import (
    DataLossError,
    InvalidArgumentError,
    NotFoundError,
    SavedModelIOError,
)
from savedmodel_io.format.bundle_entry import index_filename
from savedmodel_io.protos import checkpoint_state_pb2

CheckpointState = checkpoint_state_pb2.CheckpointState

DEFAULT_FILENAME = "checkpoint"
MAX_STATE_FILE = 64 << 20  # a state file listing a million checkpoints is still far below


def state_path(checkpoint_dir: str, latest_filename: str | None = None) -> str:
    name = latest_filename or DEFAULT_FILENAME
    if os.path.basename(name) != name:
        raise InvalidArgumentError(
            f"latest_filename must be a plain file name, got {name!r}")
    return os.path.join(checkpoint_dir, name)


def parse_state(text: str | bytes, path: str = "<checkpoint state>") -> CheckpointState:
    """Parse state-file text; raise DataLossError naming the file if it is garbled."""
    state = CheckpointState()
    try:
        raw = text.decode("utf-8") if isinstance(text, bytes) else text
        text_format.Merge(raw, state)
    except (text_format.ParseError, UnicodeDecodeError) as e:
        raise DataLossError(f"checkpoint state file is garbled: {e}", path=path) from None
    if not state.model_checkpoint_path:
        raise DataLossError("checkpoint state file names no model_checkpoint_path",
                            path=path)
    if any("\x00" in p for p in (state.model_checkpoint_path,
                                 *state.all_model_checkpoint_paths)):
        # No file name holds a NUL; the OS would refuse it (ValueError) further on.
        raise DataLossError("checkpoint state file names a path with a NUL character",
                            path=path)
    return state


def format_state(state: CheckpointState) -> str:
    return text_format.MessageToString(state)


def read_checkpoint_state(checkpoint_dir: str, latest_filename: str | None = None
                          ) -> CheckpointState:
    """The state of ``checkpoint_dir`` with relative paths made absolute; raises on error."""
    path = state_path(checkpoint_dir, latest_filename)
    if not fileio.exists(path):
        raise NotFoundError("no checkpoint state file", path=path)
    state = parse_state(fileio.read_bytes(path, limit=MAX_STATE_FILE), path)
    _absolutize(state, checkpoint_dir)
    return state


def _absolutize(state: CheckpointState, checkpoint_dir: str) -> None:
    # fileio.isabs: a URL (gs://b/ckpt-1) is absolute too.
    if not fileio.isabs(state.model_checkpoint_path):
        state.model_checkpoint_path = fileio.join(checkpoint_dir,
                                                  state.model_checkpoint_path)
    for i, p in enumerate(state.all_model_checkpoint_paths):
        if not fileio.isabs(p):
            state.all_model_checkpoint_paths[i] = fileio.join(checkpoint_dir, p)


def get_checkpoint_state(checkpoint_dir: str, latest_filename: str | None = None
                         ) -> CheckpointState | None:
    """Like ``tf.train.get_checkpoint_state``: None when there is no usable state file.

    A garbled file gives a warning naming it (TensorFlow logs one) and None.
    """
    try:
        return read_checkpoint_state(os.fspath(checkpoint_dir), latest_filename)
    except NotFoundError:
        return None
    except DataLossError as e:
        warnings.warn(str(e), stacklevel=2)
        return None


def make_state(save_dir: str, model_checkpoint_path: str,
               all_model_checkpoint_paths: Sequence[str] | None = None,
               all_model_checkpoint_timestamps: Sequence[float] | None = None,
               last_preserved_timestamp: float | None = None,
               save_relative_paths: bool = False) -> CheckpointState:
    """The state TensorFlow would record (paths made relative as it makes them)."""
    paths = list(all_model_checkpoint_paths or [])
    if not paths or paths[-1] != model_checkpoint_path:
        paths.append(model_checkpoint_path)
    if all_model_checkpoint_timestamps is not None and len(
            all_model_checkpoint_timestamps) != len(paths):
        raise InvalidArgumentError(
            f"{len(all_model_checkpoint_timestamps)} timestamps for {len(paths)} "
            "checkpoint paths")

    def rel(p: str) -> str:
        if save_relative_paths and os.path.isabs(p):
            return os.path.relpath(p, save_dir)
        return p

    model = rel(model_checkpoint_path)
    paths = [rel(p) for p in paths]
    if not os.path.isabs(save_dir):
        # A relative save dir: TensorFlow records paths relative to it.
        model = model if os.path.isabs(model) else os.path.relpath(model, save_dir)
        paths = [p if os.path.isabs(p) else os.path.relpath(p, save_dir) for p in paths]
    state = CheckpointState(model_checkpoint_path=model, all_model_checkpoint_paths=paths)
    if all_model_checkpoint_timestamps is not None:
        state.all_model_checkpoint_timestamps.extend(all_model_checkpoint_timestamps)
    if last_preserved_timestamp is not None:
        state.last_preserved_timestamp = last_preserved_timestamp
    return state


def update_checkpoint_state(save_dir: str, model_checkpoint_path: str,
                            all_model_checkpoint_paths: Sequence[str] | None = None,
                            latest_filename: str | None = None,
                            all_model_checkpoint_timestamps: Sequence[float] | None = None,
                            last_preserved_timestamp: float | None = None,
                            save_relative_paths: bool = False) -> None:
    """Write the state file atomically (``tf.train.update_checkpoint_state``)."""
    save_dir = os.fspath(save_dir)
    path = state_path(save_dir, latest_filename)
    if os.path.abspath(path) == os.path.abspath(model_checkpoint_path):
        raise InvalidArgumentError(
            f"save path {model_checkpoint_path!r} collides with the state file {path!r}")
    state = make_state(save_dir, model_checkpoint_path, all_model_checkpoint_paths,
                       all_model_checkpoint_timestamps, last_preserved_timestamp,
                       save_relative_paths)
    fileio.atomic_write_bytes(path, format_state(state).encode("utf-8"))


# ------------------------------------------------------------------ leftovers of crashes


def remove_temporaries(path: str) -> None:
    """Delete the temporary files interrupted atomic writes of ``path`` left
    (``<path>.tempstate<random>``): the next save of the same file calls this."""
    d, name = fileio.split(path)
    for p in fileio.glob(fileio.join(d, glob.escape(name) + fileio.TEMP_MARKER + "*")):
        with contextlib.suppress(SavedModelIOError):
            fileio.remove(p)


def remove_orphans(prefix: str) -> None:
    """Delete the pieces interrupted saves or deletions of earlier steps left.

    ``prefix`` is ``<base>-<step>``, the checkpoint about to be written. Checkpoints are
    deleted index first, and their data files renamed into place before the index is
    written, so a data file of ``<base>-<n>`` (n < step) with no index is a piece nothing
    can read; so is a ``<base>-<n>_temp`` directory (a sharded save's work area) and a
    temporary file of either. Later steps are left alone: another process may be writing
    them.
    """
    m = re.fullmatch(r"(.*)-(\d+)", prefix)
    if m is None:
        return
    base, step = m.group(1), int(m.group(2))
    d, name = fileio.split(base)
    pattern = re.compile(re.escape(name) + r"-(\d+)(_temp|\.index|\.data-\d{5}-of-\d{5})"
                         + "(" + re.escape(fileio.TEMP_MARKER) + r"\d*)?")
    for p in fileio.glob(fileio.join(d, glob.escape(name) + "-*")):
        hit = pattern.fullmatch(fileio.basename(p))
        if hit is None or int(hit.group(1)) >= step:
            continue
        kind, temp = hit.group(2), hit.group(3)
        with contextlib.suppress(SavedModelIOError):
            if kind == "_temp" and temp is None:
                fileio.remove_tree(p)
            elif temp is not None:
                fileio.remove(p)
            elif kind != ".index" and not fileio.exists(
                    index_filename(fileio.join(d, f"{name}-{hit.group(1)}"))):
                fileio.remove(p)


__all__ = [
    "CheckpointState",
    "get_checkpoint_state",
    "read_checkpoint_state",
    "update_checkpoint_state",
    "parse_state",
    "format_state",
    "make_state",
    "state_path",
    "remove_temporaries",
    "remove_orphans",
]
