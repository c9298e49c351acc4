"""``tf.train.CheckpointManager``: numbered saves in a directory, keeping the newest few.

    manager = CheckpointManager(Checkpoint(model=model), "/tmp/run", max_to_keep=3)
    manager.restore_or_initialize()
    for step in range(...):
        ...
        manager.save()            # /tmp/run/ckpt-<n>; deletes the oldest beyond 3

Retention follows TensorFlow (FORMAT.md 4.4): the state file lists the managed checkpoints
with their timestamps and ``last_preserved_timestamp``; with ``keep_checkpoint_every_n_hours``
a checkpoint falling out of the window is kept on disk (and dropped from the list) when it
is at least that many hours newer than the last one kept. The state file is written twice
per save, before and after deleting old checkpoints, so a crash in between still leaves
it naming the new checkpoint.
"""

from __future__ import annotations

import collections
import os
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from savedmodel_io import fileio
from savedmodel_io.errors import InvalidArgumentError
from savedmodel_io.format.bundle_entry import index_filename
from savedmodel_io.train.checkpoint import Checkpoint
from savedmodel_io.train.checkpoint_reader import checkpoint_exists
from savedmodel_io.train.checkpoint_state import (
    get_checkpoint_state,
    remove_orphans,
    remove_temporaries,
    state_path,
    update_checkpoint_state,
)


def _as_int(value: Any) -> int:
    v = getattr(value, "value", value)
    return int(np.asarray(v))


class CheckpointManager:
    """Manage the checkpoints of one :class:`Checkpoint` in ``directory``.

    ``clock`` (default ``time.time``) gives the timestamps; tests pass a fake one.
    """

    def __init__(self, checkpoint: Checkpoint, directory: str | os.PathLike[str],
                 max_to_keep: int | None, keep_checkpoint_every_n_hours: float | None = None,
                 checkpoint_name: str = "ckpt", step_counter: Any = None,
                 checkpoint_interval: int | None = None,
                 init_fn: Callable[[], Any] | None = None, *,
                 last_checkpoint_step: int | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        if max_to_keep is not None and max_to_keep <= 0:
            raise InvalidArgumentError(
                f"Expected a positive integer or None for max_to_keep, got {max_to_keep}")
        if checkpoint_interval is not None and step_counter is None:
            raise InvalidArgumentError(
                "step_counter should be passed if checkpoint_interval is not None")
        self._checkpoint = checkpoint
        self._max_to_keep = max_to_keep
        self._keep_checkpoint_every_n_hours = keep_checkpoint_every_n_hours
        self._directory = os.fspath(directory)
        self._checkpoint_prefix = fileio.join(self._directory, checkpoint_name)
        self._init_fn = init_fn
        self._step_counter = step_counter
        self._checkpoint_interval = checkpoint_interval
        self._last_checkpoint_step = last_checkpoint_step
        self._clock = clock
        self._maybe_delete: collections.OrderedDict[str, float] = collections.OrderedDict()
        recovered = get_checkpoint_state(self._directory)
        now = clock()
        if recovered is None:
            self._latest_checkpoint: str | None = None
            self._last_preserved_timestamp = now - 1.0
            return
        self._latest_checkpoint = recovered.model_checkpoint_path
        self._last_preserved_timestamp = recovered.last_preserved_timestamp
        if now < self._last_preserved_timestamp:
            warnings.warn(
                f"the clock returned a value {self._last_preserved_timestamp - now:f} seconds "
                "behind the last preserved checkpoint timestamp", stacklevel=2)
            self._last_preserved_timestamp = now
        paths = list(recovered.all_model_checkpoint_paths)
        stamps = list(recovered.all_model_checkpoint_timestamps) or [
            self._last_preserved_timestamp] * len(paths)
        for path, stamp in zip(paths, stamps, strict=False):
            if not checkpoint_exists(path):
                continue  # deleted, or half-deleted by a crash during a sweep
            stamp = min(stamp, now)
            if stamp > self._last_preserved_timestamp:
                self._maybe_delete[path] = stamp

    # ---------------------------------------------------------- properties

    @property
    def directory(self) -> str:
        return self._directory

    @property
    def checkpoint(self) -> Checkpoint:
        return self._checkpoint

    @property
    def checkpoint_interval(self) -> int | None:
        return self._checkpoint_interval

    @property
    def latest_checkpoint(self) -> str | None:
        """Prefix of the newest checkpoint, or None."""
        return self._latest_checkpoint

    @property
    def checkpoints(self) -> list[str]:
        """Managed checkpoints, oldest first (those kept for ever are not listed)."""
        return list(self._maybe_delete)

    # ---------------------------------------------------------- saving

    def _record_state(self) -> None:
        assert self._latest_checkpoint is not None
        update_checkpoint_state(
            self._directory, self._latest_checkpoint,
            all_model_checkpoint_paths=list(self._maybe_delete),
            all_model_checkpoint_timestamps=list(self._maybe_delete.values()),
            last_preserved_timestamp=self._last_preserved_timestamp,
            save_relative_paths=True)

    def _sweep(self) -> None:
        if not self._max_to_keep:
            return
        while len(self._maybe_delete) > self._max_to_keep:
            path, stamp = self._maybe_delete.popitem(last=False)
            hours = self._keep_checkpoint_every_n_hours
            if hours and stamp - hours * 3600.0 >= self._last_preserved_timestamp:
                self._last_preserved_timestamp = stamp
                continue
            fileio.remove(index_filename(path))
            for f in fileio.glob(path + ".data-?????-of-?????"):
                fileio.remove(f)

    def save(self, checkpoint_number: Any = None, check_interval: bool = True) -> str | None:
        """Save ``<directory>/<name>-<n>`` and apply retention; None if the interval skips.

        ``n`` is ``checkpoint_number`` or else the incremented ``save_counter`` (which is
        incremented either way, as in TensorFlow).
        """
        if self._checkpoint_interval is not None:
            step = _as_int(self._step_counter)
            if self._last_checkpoint_step is not None:
                if step == self._last_checkpoint_step:
                    return None
                if check_interval and step < (self._last_checkpoint_step
                                              + self._checkpoint_interval):
                    return None
            self._last_checkpoint_step = step
        counter = self._checkpoint.save_counter
        counter.assign(counter.value + 1)
        number = _as_int(counter if checkpoint_number is None else checkpoint_number)
        prefix = f"{self._checkpoint_prefix}-{number}"
        # Pieces interrupted saves left: state file temporaries, half-deleted checkpoints.
        remove_temporaries(state_path(self._directory))
        remove_orphans(prefix)
        path = self._checkpoint.write(prefix)
        stamp = self._clock()
        self._maybe_delete.pop(path, None)
        self._maybe_delete[path] = stamp
        self._latest_checkpoint = path
        self._record_state()
        self._sweep()
        self._record_state()
        return path

    def restore_or_initialize(self) -> str | None:
        """Restore the latest checkpoint if any (returning its path), else run ``init_fn``."""
        if self._latest_checkpoint is not None:
            self._checkpoint.restore(self._latest_checkpoint)
            if self._checkpoint_interval is not None:
                self._last_checkpoint_step = _as_int(self._step_counter)
            return self._latest_checkpoint
        if self._init_fn is not None:
            self._init_fn()
        return None

    def sync(self) -> None:
        """Nothing to wait for: saves are synchronous."""


__all__ = ["CheckpointManager"]
