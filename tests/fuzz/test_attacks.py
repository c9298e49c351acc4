"""Known attacks (tests/fuzz/attacks.py): each ends in the right error, within the bounds."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fuzz import fuzzlib as F
from tests.fuzz.attacks import Attack, attacks

ATTACKS = attacks()


@pytest.fixture()
def workdir() -> Iterator[Path]:
    d = F.scratch_dir()
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.mark.parametrize("attack", ATTACKS, ids=[a.name for a in ATTACKS])
def test_attack_is_refused(attack: Attack, workdir: Path) -> None:
    out = F.run_bounded(F.TARGETS[attack.target], attack.files, workdir)
    assert out.failure is None, f"{attack.name}: {out.failure}"
    if attack.error is None:
        assert out.ok, f"{attack.name}: {out.kind}: {out.message}"
    else:
        assert out.kind == attack.error.__name__, f"{attack.name}: {out.kind}: {out.message}"
        assert re.search(attack.match, out.message), out.message
