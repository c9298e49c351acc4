"""Crash safety: SIGKILL savers at every file operation and at random moments.

Per API (tests/reliability/scenarios.py): a few complete saves (so retention deletes old
checkpoints), one kill before *each* file operation of a save (the boundary sweep), then
random-time kills up to ``KILLS``; after every kill the scenario's invariants hold (state
file and previous checkpoints loadable, nothing half-written taken for a checkpoint, no
pile-up of leftovers) and one clean save at the end leaves no leftovers at all.

The long run (``SAVEDMODEL_IO_LONG=1``, marked ``slow``; not part of CI) does 1,000 random
kills per API; see docs/reliability.md.
"""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

from tests.reliability.killtrials import KillRig, Tally
from tests.reliability.scenarios import fresh

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork and SIGKILL")

KILLS = 100  # per API in CI
LONG_KILLS = 1000
LONG = os.environ.get("SAVEDMODEL_IO_LONG") == "1"
APIS = ["saver", "checkpoint", "manager"]


def run_trials(name: str, directory: str, kills: int, seed: int, sweeps: int = 1,
               *, leftovers: bool = True) -> Tally:
    """Warm-up saves, ``sweeps`` boundary sweeps, random kills up to ``kills`` in all, one
    clean save. ``leftovers=False`` skips the leftover checks (tested separately)."""
    rig = KillRig(fresh(name), directory, max_leftovers=6 if leftovers else None)
    try:
        for _ in range(4):
            rig.save_once()
        rig.check("warm-up saves")
        rig.measure()
        for _ in range(sweeps):
            ops = rig.boundary_kills()
            assert ops >= 4, f"a {name} save has only {ops} file operations?"
        before, wanted = rig.tally.last_step, max(0, kills - rig.tally.kills)
        rig.random_kills(wanted, random.Random(seed))
        assert not wanted or rig.tally.last_step > before, \
            "no save completed between the random kills"
        if leftovers:
            rig.clean_save_leaves_nothing()
    finally:
        rig.close()
    assert rig.tally.kills >= kills
    return rig.tally


@pytest.mark.parametrize("name", APIS)
def test_kills_during_saves(name: str, tmp_path: Path) -> None:
    run_trials(name, str(tmp_path), KILLS, seed=1234)


def test_kills_during_builder_saves(tmp_path: Path) -> None:
    """SavedModelBuilder exports ``<dir>/<version>``: a numbered directory is always a
    whole SavedModel (leftovers: the next test)."""
    run_trials("builder", str(tmp_path), KILLS, seed=99, leftovers=False)


def test_builder_cleans_up_after_killed_saves(tmp_path: Path) -> None:
    """Staging directories of killed builder saves must not pile up, and the next save of
    the same export removes them.

    Found by the kill trials: the builder used to remove its staging directory only in the
    process that made it, so every kill left ``<version>.tempstate<n>/`` behind for good.
    """
    run_trials("builder", str(tmp_path), 0, seed=5)


def test_kills_during_sharded_saver_saves(tmp_path: Path) -> None:
    """The sharded Saver merges bundles: only the boundary sweep in CI."""
    run_trials("saver_sharded", str(tmp_path), 0, seed=7)


@pytest.mark.slow
@pytest.mark.skipif(not LONG, reason="long run: set SAVEDMODEL_IO_LONG=1")
@pytest.mark.parametrize("name", APIS + ["saver_sharded", "builder"])
def test_long_kills_during_saves(name: str, tmp_path: Path) -> None:
    tally = run_trials(name, str(tmp_path), LONG_KILLS, seed=20240601, sweeps=3,
                       leftovers=name != "builder")
    print(tally)
