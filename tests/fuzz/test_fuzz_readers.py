"""Fuzz every reader with mutants of real files (the CI-bounded run; see docs/reliability.md).

Each example takes a seed (a file TensorFlow wrote: goldens and the TF Serving corpus),
mutates it (bytes, or protobuf fields inside a re-checksummed table so the damage gets past
the block checks), and runs the reader under the bounds of ``fuzzlib.run_bounded``: only
our errors may escape, within the time limit, and the memory peak must stay within a small
multiple of the input. The long run (``scripts/fuzz.py``) uses the same targets and
mutations.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests.fuzz import fuzzlib as F

# Examples per target in CI (the long run: scripts/fuzz.py, scripts/reliability_report.py).
EXAMPLES = {
    "table": 200,
    "state_file": 200,
    "v1": 200,
    "bundle": 200,
    "bundle_unverified": 150,
    "saved_model": 150,
    "saved_model_text": 15,
    "cli_input_strings": 200,
    "cli_input_files": 150,
}
TEXT_SEED_CAP = 12 << 10  # the pure-Python text parser takes ~10 ms per KB when traced


@pytest.fixture()
def workdir() -> Iterator[Path]:
    d = F.scratch_dir()
    yield d
    shutil.rmtree(d, ignore_errors=True)


def _seeds(kind: str) -> dict[str, F.Files]:
    seeds = F.SEEDS[kind]()
    if not seeds:
        pytest.skip(f"no seed files for {kind} (goldens or corpus missing)")
    return seeds


def _describe(files: F.Files) -> str:
    return ", ".join(f"{k} ({len(v)} bytes)" for k, v in sorted(files.items()))


@pytest.mark.parametrize("kind", sorted(EXAMPLES))
def test_seeds_read_cleanly(kind: str, workdir: Path) -> None:
    """Unmutated, every seed reads without error, within the bounds."""
    for name, files in _seeds(kind).items():
        out = F.run_bounded(F.TARGETS[kind], files, workdir)
        assert out.failure is None and out.ok, f"{kind} seed {name}: {out.kind} {out.message}"


@pytest.mark.parametrize("kind", sorted(EXAMPLES))
def test_fuzz(kind: str, workdir: Path) -> None:
    seeds = {**_seeds(kind), **F.fuzz_seeds(kind)}  # real files and the known attacks
    cap = TEXT_SEED_CAP if kind == "saved_model_text" else F.MAX_SEED_SIZE
    names = sorted(n for n in seeds if F.input_size(seeds[n]) <= cap) or sorted(seeds)
    pool = F.seed_pool(seeds)

    # The same inputs on every CI run (the long runs are the random ones), and no
    # shrinking: a failure names its seed and what broke, and CI time stays bounded.
    @settings(max_examples=EXAMPLES[kind], deadline=None, database=None, derandomize=True,
              phases=[Phase.generate], suppress_health_check=list(HealthCheck))
    @given(st.data())
    def run(data: st.DataObject) -> None:
        name = data.draw(st.sampled_from(names), label="seed")

        def draw(n: int) -> int:
            return data.draw(st.integers(0, n - 1)) if n > 1 else 0

        files = F.mutate(kind, seeds[name], F.Mutator(draw, pool))
        out = F.run_bounded(F.TARGETS[kind], files, workdir)
        assert out.failure is None, (
            f"{kind} on a mutant of {name} [{_describe(files)}]: {out.failure}")

    run()


def test_bounds_catch_a_hang_and_a_giant_allocation(workdir: Path) -> None:
    """The harness itself: a hang and an allocation far beyond the input are failures."""
    def hang(files: F.Files, d: Path) -> None:
        while True:
            pass

    def hog(files: F.Files, d: Path) -> bytes:
        return bytes(64 << 20)

    def explode(files: F.Files, d: Path) -> bytes:
        return bytes(1 << 46)  # 64 TiB: refused by RLIMIT_AS before anything is touched

    out = F.run_bounded(hang, {"x": b"1"}, workdir, seconds=0.2)
    assert out.kind == "Hang" and out.failure
    out = F.run_bounded(hog, {"x": b"1"}, workdir)
    assert out.ok and out.failure and "memory" in out.failure
    if os.path.exists("/proc/self/statm"):
        out = F.run_bounded(explode, {"x": b"1"}, workdir, check_memory=False)
        assert out.kind == "MemoryError" and out.failure
