"""Crash safety: SIGKILL a saving process at random moments, over and over.

A helper process (``sys.executable`` running ``CHILD``) imports the library once, then on
each request forks a fresh saver process that resumes from the state file and saves in a
loop (``max_to_keep=3``); the test SIGKILLs it after a random 5-60 ms. After every kill the
checkpoint the state file names (and every other one it lists) must load and verify, with
every tensor holding that checkpoint's step; temporary leftovers must not pile up, and one
clean save at the end leaves none.
"""

from __future__ import annotations

import glob
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from savedmodel_io.train.checkpoint_reader import load_checkpoint
from savedmodel_io.train.checkpoint_state import get_checkpoint_state

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork and SIGKILL")

KILLS = 150
TIME_BUDGET = 50.0  # seconds; stop early (after at least 100 kills) on a slow machine

CHILD = textwrap.dedent(r"""
    import os, sys
    import numpy as np
    from savedmodel_io.train.checkpoint_state import get_checkpoint_state
    from savedmodel_io.train.saver import Saver
    from savedmodel_io.train.variable import Variable

    directory = sys.argv[1]

    def run(saves):
        state = get_checkpoint_state(directory)
        step = 0
        variables = [Variable("big", np.zeros((256, 256), np.float32)),
                     Variable("step", np.int64(0), resource=True),
                     Variable("text", np.array([b""] * 3, dtype=object))]
        saver = Saver(variables, max_to_keep=3)
        if state is not None:
            step = int(state.model_checkpoint_path.rsplit("-", 1)[1])
            saver.recover_last_checkpoints(list(state.all_model_checkpoint_paths))
        done = 0
        while saves is None or done < saves:
            step += 1
            variables[0].value[...] = step
            variables[1].assign(np.int64(step))
            variables[2].assign(np.array([str(step).encode()] * 3, dtype=object))
            saver.save(os.path.join(directory, "model.ckpt"), global_step=step)
            done += 1

    for line in sys.stdin:
        cmd = line.strip()
        pid = os.fork()
        if pid == 0:
            try:
                run(None if cmd == "loop" else 1)
            finally:
                os._exit(0)
        print(pid, flush=True)
        os.waitpid(pid, 0)
        print("reaped", flush=True)
""")


def verify(directory: str) -> int:
    """Check every checkpoint the state file lists; return the latest step (0: none)."""
    state = get_checkpoint_state(directory)
    if state is None:
        assert not glob.glob(os.path.join(directory, "checkpoint")), "unreadable state file"
        return 0
    assert state.model_checkpoint_path == state.all_model_checkpoint_paths[-1]
    assert len(state.all_model_checkpoint_paths) <= 3
    for prefix in state.all_model_checkpoint_paths:
        step = int(prefix.rsplit("-", 1)[1])
        with load_checkpoint(prefix) as r:  # verifies checksums
            assert sorted(r) == ["big", "step", "text"]
            assert int(r["step"]) == step
            big = r["big"]
            assert big.shape == (256, 256) and bool((big == step).all())
            assert list(r["text"]) == [str(step).encode()] * 3
    return int(state.model_checkpoint_path.rsplit("-", 1)[1])


def test_sigkill_during_saves(tmp_path: Path) -> None:
    directory = str(tmp_path)
    src = str(Path(__file__).resolve().parents[2] / "src")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [src, os.environ.get("PYTHONPATH", "")]))
    helper = subprocess.Popen([sys.executable, "-c", CHILD, directory], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True, env=env)
    assert helper.stdin is not None and helper.stdout is not None
    rng = random.Random(1234)
    start = time.monotonic()
    kills, last_step = 0, 0
    try:
        while kills < KILLS and (kills < 100 or time.monotonic() - start < TIME_BUDGET):
            helper.stdin.write("loop\n")
            helper.stdin.flush()
            pid = int(helper.stdout.readline())
            time.sleep(rng.uniform(0.005, 0.060))
            os.kill(pid, signal.SIGKILL)
            assert helper.stdout.readline().strip() == "reaped"
            kills += 1
            step = verify(directory)
            assert step >= last_step, "the state file went back in time"
            last_step = step
            temps = glob.glob(os.path.join(directory, "*.tempstate*"))
            assert len(temps) <= 4, f"temporary files pile up: {temps}"
        # One save to completion: it cleans whatever the last kill left behind.
        helper.stdin.write("once\n")
        helper.stdin.flush()
        int(helper.stdout.readline())
        assert helper.stdout.readline().strip() == "reaped"
        assert verify(directory) == last_step + 1
        assert glob.glob(os.path.join(directory, "*.tempstate*")) == []
    finally:
        helper.stdin.close()
        helper.wait(timeout=30)
    assert kills >= 100
    assert last_step > 10, "the kills never let a save finish"
