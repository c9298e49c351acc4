"""Hostile models and run inputs (tests/reliability/hostile.py): each is refused with our
error, within the time and memory bounds, and nothing it asked for happens."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from savedmodel_io.errors import InvalidArgumentError
from tests.fuzz import fuzzlib as F
from tests.reliability import hostile as H

CASES = H.cases()
# Input bytes for the memory bound: the case files are small; 256 KiB covers the zip bomb.
CASE_SIZE = 256 << 10


@pytest.fixture()
def workdir() -> Iterator[Path]:
    d = F.scratch_dir()
    yield d
    shutil.rmtree(d, ignore_errors=True)


def run_case(case: H.Hostile, workdir: Path) -> F.Outcome:
    return F.run_bounded(lambda files, d: case.run(d), {"size": bytes(CASE_SIZE)}, workdir,
                         seconds=case.seconds)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_hostile_case(case: H.Hostile, workdir: Path) -> None:
    if case.group == "assets" and not hasattr(os, "symlink"):
        pytest.skip("no symlinks here")
    out = run_case(case, workdir)
    assert out.failure is None, f"{case.name}: {out.failure}"
    if not case.errors:
        assert out.ok, f"{case.name}: {out.kind}: {out.message}"
        return
    assert isinstance(out.error, case.errors), (
        f"{case.name}: expected {[e.__name__ for e in case.errors]}, got {out.kind}: "
        f"{out.message}")
    assert case.match in out.message, out.message
    assert not (workdir / H.MARKER).exists()


names = st.lists(st.sampled_from(["a", "..", ".", "b.txt", "", "in", "out", "/", "\\",
                                  "C:", "\x00", "sub"]), min_size=1, max_size=5)


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(names)
def test_any_asset_name_is_refused_or_stays_inside(parts: list[str]) -> None:
    """Whatever the file name and whatever the links in the assets directory, an asset
    path is refused or resolves inside ``<export>/assets``."""
    from savedmodel_io.saved_model.asset_paths import resolve_asset_path

    d = F.scratch_dir()
    try:
        export = d / "m"
        (export / "assets" / "sub").mkdir(parents=True)
        (d / "outside").mkdir()
        (export / "assets" / "in").symlink_to("sub", target_is_directory=True)
        (export / "assets" / "out").symlink_to(d / "outside", target_is_directory=True)
        name = "/".join(parts)
        try:
            full = resolve_asset_path(str(export), name)
        except InvalidArgumentError:
            return
        real = os.path.realpath(full)
        assert real.startswith(os.path.join(os.path.realpath(export), "assets") + os.sep), (
            name, full, real)
    finally:
        shutil.rmtree(d, ignore_errors=True)
