"""The fuzzing harness shared by the CI tests, the long runs and the atheris driver.

Inputs are dicts of file name -> bytes. :mod:`tests.fuzz.bounds` runs one under time and
memory bounds, :mod:`tests.fuzz.targets` has one target per reader,
:mod:`tests.fuzz.seeds` the real files to start from, :mod:`tests.fuzz.mutations` the
mutations; :func:`campaign` puts them together. Everything is re-exported here.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Callable
from pathlib import Path

from tests.fuzz.bounds import (
    AS_HEADROOM,
    MEM_FACTOR,
    MEM_SLACK,
    SECONDS,
    Files,
    Hang,
    Malformed,
    Outcome,
    _address_space_limit,
    _alarm,
    check,
    input_size,
    reset_dir,
    run_bounded,
    scratch_dir,
    write_files,
)
from tests.fuzz.mutations import Mutator, mutate, random_mutator, seed_pool, varint
from tests.fuzz.seeds import (
    CORPUS,
    GOLDEN,
    SEEDS,
    _bundle_seed,
    _saved_model_seed,
    fuzz_seeds,
    seed_v1,
)
from tests.fuzz.targets import TARGETS

MAX_SEED_SIZE = 64 << 10  # larger seeds run once unmutated (text parsing is slow)


@dataclasses.dataclass
class Stats:
    """Collects what a campaign's inputs did (pass it as ``on_outcome``)."""

    slowest: float = 0.0
    max_peak_over_input: float = 0.0  # among passing inputs that used more than 1 MiB
    failures: list[tuple[str, Files, Outcome]] = dataclasses.field(default_factory=list)

    def __call__(self, seed: str, files: Files, out: Outcome) -> None:
        self.slowest = max(self.slowest, out.seconds)
        if out.failure:
            self.failures.append((seed, files, out))
        elif out.size and out.peak > 1 << 20:
            self.max_peak_over_input = max(self.max_peak_over_input, out.peak / out.size)


def campaign(kind: str, count: int, rng: random.Random, workdir: Path,
             seeds: dict[str, Files] | None = None, *, check_memory: bool = True,
             max_seed_size: int = MAX_SEED_SIZE,
             on_outcome: Callable[[str, Files, Outcome], None] | None = None
             ) -> dict[str, int]:
    """Run ``count`` inputs of target ``kind``: the seeds themselves first (by default
    :func:`fuzz_seeds`), then mutants.

    Returns counts by outcome kind; failures are passed to ``on_outcome`` (with all others).
    """
    seeds = fuzz_seeds(kind) if seeds is None else seeds
    names = sorted(seeds)
    small = [n for n in names if input_size(seeds[n]) <= max_seed_size] or names
    pool = seed_pool(seeds)
    m = random_mutator(rng, pool)
    counts: dict[str, int] = {}
    for i in range(count):
        if i < len(names):
            seed = names[i]
            files = seeds[seed]
        else:
            seed = small[rng.randrange(len(small))]
            files = mutate(kind, seeds[seed], m)
        out = run_bounded(TARGETS[kind], files, workdir, check_memory=check_memory)
        key = "FAILURE" if out.failure else out.kind
        counts[key] = counts.get(key, 0) + 1
        if on_outcome is not None:
            on_outcome(seed, files, out)
    return counts


__all__ = [
    # this module
    "MAX_SEED_SIZE", "Stats", "campaign",
    # bounds
    "AS_HEADROOM", "MEM_FACTOR", "MEM_SLACK", "SECONDS", "Files", "Hang", "Malformed",
    "Outcome", "_address_space_limit", "_alarm", "check", "input_size", "reset_dir",
    "run_bounded", "scratch_dir", "write_files",
    # mutations, seeds, targets
    "Mutator", "mutate", "random_mutator", "seed_pool", "varint", "CORPUS", "GOLDEN",
    "SEEDS", "_bundle_seed", "_saved_model_seed", "fuzz_seeds", "seed_v1", "TARGETS",
]
