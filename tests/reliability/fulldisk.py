"""Saving onto a full disk: run in a child process (``python fulldisk.py <api> <dir> <how>``).

The child saves one small checkpoint, then tries a bigger save with the disk "full" at
many points: ``how=fsize`` lowers ``RLIMIT_FSIZE`` (with SIGXFSZ ignored, a write past the
limit fails with EFBIG; no root needed), ``how=ballast`` fills a small tmpfs (mounted by
the caller) so that only N bytes stay free (ENOSPC). After every attempt it checks that the
previous checkpoint and the state file are intact and that no temporary file is left, and
prints one JSON line per attempt: ``{"limit": N, "outcome": "ok"|<error class>, ...}``
(``litter``: new files that belong to no new checkpoint: what a failed save left behind).
"""

from __future__ import annotations

import json
import os
import resource
import signal
import sys
import traceback
from collections.abc import Callable
from typing import Any

import numpy as np

from savedmodel_io.errors import SavedModelIOError
from savedmodel_io.train.checkpoint_reader import load_checkpoint
from savedmodel_io.train.checkpoint_state import get_checkpoint_state

SMALL = (16,)
BIG = (1 << 14,)  # 64 KiB of float32


def _saver(directory: str) -> Callable[[float, tuple[int, ...]], str]:
    from savedmodel_io.train.saver import Saver
    from savedmodel_io.train.variable import Variable

    step = [0]

    def save(value: float, shape: tuple[int, ...]) -> str:
        step[0] += 1
        v = Variable("w", np.full(shape, value, np.float32))
        out = Saver([v], max_to_keep=2).save(os.path.join(directory, "model.ckpt"),
                                             global_step=step[0])
        assert out is not None
        return out

    return save


def _checkpoint(directory: str) -> Callable[[float, tuple[int, ...]], str]:
    from savedmodel_io.train.checkpoint import Checkpoint

    ckpt = Checkpoint(w=np.zeros(SMALL, np.float32))

    def save(value: float, shape: tuple[int, ...]) -> str:
        nonlocal ckpt
        counter = int(ckpt.save_counter.value)
        ckpt = Checkpoint(w=np.full(shape, value, np.float32))
        ckpt.save_counter.assign(np.int64(counter))
        return ckpt.save(os.path.join(directory, "ckpt"))

    return save


def _manager(directory: str) -> Callable[[float, tuple[int, ...]], str]:
    from savedmodel_io.train.checkpoint import Checkpoint
    from savedmodel_io.train.checkpoint_manager import CheckpointManager

    counter = [0]

    def save(value: float, shape: tuple[int, ...]) -> str:
        ckpt = Checkpoint(w=np.full(shape, value, np.float32))
        ckpt.save_counter.assign(np.int64(counter[0]))
        path = CheckpointManager(ckpt, directory, max_to_keep=2).save()
        assert path is not None
        counter[0] = int(ckpt.save_counter.value)
        return path

    return save


APIS: dict[str, Callable[[str], Callable[[float, tuple[int, ...]], str]]] = {
    "saver": _saver, "checkpoint": _checkpoint, "manager": _manager}


def _temps(directory: str) -> list[str]:
    out = []
    for root, dirs, files in os.walk(directory):
        for n in files + dirs:
            if ".tempstate" in n or n.endswith("_temp"):
                out.append(os.path.relpath(os.path.join(root, n), directory))
    return out


def _latest(directory: str) -> tuple[str, float]:
    state = get_checkpoint_state(directory)
    assert state is not None, "the state file is gone or garbled"
    with load_checkpoint(state.model_checkpoint_path) as r:
        keys = [k for k in r if k == "w" or k.startswith("w/")]
        w = r[keys[0]]
        assert bool((w == w.reshape(-1)[0]).all()), "mixed data"
        return state.model_checkpoint_path, float(w.reshape(-1)[0])


def attempt(save: Callable[[float, tuple[int, ...]], str], directory: str, value: float,
            limit: int, how: str) -> dict[str, Any]:
    """One save under a full disk; the facts as a dict."""
    before = _latest(directory)
    files_before = set(os.listdir(directory))
    result: dict[str, Any] = {"limit": limit}
    hard = resource.getrlimit(resource.RLIMIT_FSIZE)[1]
    ballast = os.path.join(directory, "..", "ballast")
    if how == "fsize":
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
    else:
        _fill(ballast, limit)
    try:
        save(value, BIG)
        result["outcome"] = "ok"
    except SavedModelIOError as e:
        result.update(outcome=type(e).__name__, ours=True, message=str(e),
                      names_file=e.path is not None)
    except OSError as e:
        result.update(outcome=type(e).__name__, ours=False, message=repr(e),
                      names_file=bool(e.filename),
                      where=traceback.extract_tb(e.__traceback__)[-1].filename.rsplit(
                          "savedmodel_io/", 1)[-1])
    finally:
        if how == "fsize":
            resource.setrlimit(resource.RLIMIT_FSIZE, (hard, hard))
        elif os.path.exists(ballast):
            os.remove(ballast)
    after = _latest(directory)
    new_files = set(os.listdir(directory)) - files_before - {"checkpoint"}
    if result["outcome"] == "ok":
        result["intact"] = after[1] == value
        new_files = {f for f in new_files if not f.startswith(os.path.basename(after[0]) + ".")}
    else:
        result["intact"] = after == before
    result["temps"] = _temps(directory)
    result["litter"] = sorted(new_files)
    return result


def _fill(ballast: str, free: int) -> None:
    """Leave about ``free`` bytes on the filesystem holding ``ballast``."""
    st = os.statvfs(os.path.dirname(ballast))
    avail = st.f_bavail * st.f_frsize
    with open(ballast, "wb") as f:
        size = max(0, avail - free)
        chunk = b"\0" * (1 << 16)
        while size > 0:
            try:
                size -= f.write(chunk[:size])
            except OSError:
                break


def main(api: str, directory: str, how: str, limits: list[int]) -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    save = APIS[api](directory)
    save(1.0, SMALL)
    value = 1.0
    for limit in limits:
        value += 1.0
        print(json.dumps(attempt(save, directory, value, limit, how)), flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], [int(x) for x in sys.argv[4].split(",")])
