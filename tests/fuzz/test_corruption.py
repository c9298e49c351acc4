"""Exhaustive single-byte corruption of small TensorFlow-written files (tests/fuzz/corruption.py).

In CI every byte of four subjects is changed once (the four replacement values taken in
turn); the long run (``SAVEDMODEL_IO_LONG=1``, or scripts/reliability_report.py) tries
eight values at every byte of every subject. No trial may change data silently where a
checksum covers the byte, and nothing but our errors may come out.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fuzz import corruption as C
from tests.fuzz import fuzzlib as F

CI_SUBJECTS = ["bundle_all_dtypes", "bundle_variant", "v1_unsharded", "sm_simple_save"]
LONG = os.environ.get("SAVEDMODEL_IO_LONG") == "1"


@pytest.fixture()
def workdir() -> Iterator[Path]:
    d = F.scratch_dir()
    yield d
    shutil.rmtree(d, ignore_errors=True)


def _subject(name: str) -> C.Subject:
    found = C.subjects([name])
    if not found:
        pytest.fail(f"golden files of {name} missing")
    return found[0]


def _check(result: C.Sweep, files: F.Files) -> None:
    assert not result.violations, "\n".join(result.violations[:20])
    assert result.trials >= sum(len(v) for v in files.values())
    caught = sum(n for k, n in result.counts.items() if k.startswith("caught:"))
    assert caught > result.trials // 2, result.counts


@pytest.mark.parametrize("name", CI_SUBJECTS)
def test_every_byte_changed_once(name: str, workdir: Path) -> None:
    s = _subject(name)
    _check(C.sweep(s.name, s.files, s.read, workdir, values=C.VALUES_CI, rotate=True),
           s.files)


def test_checksummed_bytes_are_all_caught(workdir: Path) -> None:
    """Where a checksum covers a byte, every change of it raises (here: all four values on
    the data file of a bundle of variants, where every byte lies in a checksummed extent
    and the variant decoder meets the damage)."""
    s = _subject("bundle_variant")
    data = next(n for n in s.files if ".data-" in n)
    r = C.sweep(s.name, s.files, s.read, workdir, only=lambda n: n == data)
    original = s.files[data]
    assert r.trials == sum(len({v(b) for v in C.VALUES_CI} - {b}) for b in original)
    assert all(k.startswith("caught:DataLossError:") for k in r.counts), r.counts
    assert r.counts["caught:DataLossError:checksum"] > r.trials * 0.9, r.counts


@pytest.mark.slow
@pytest.mark.skipif(not LONG, reason="long run: set SAVEDMODEL_IO_LONG=1")
@pytest.mark.parametrize("name", [s.name for s in C.subjects()])
def test_long_every_byte_eight_values(name: str, workdir: Path) -> None:
    s = _subject(name)
    _check(C.sweep(s.name, s.files, s.read, workdir, values=C.VALUES_LONG), s.files)
