"""Saving onto a full disk: a clear error, the previous checkpoint intact, nothing left over.

Two ways to fill the disk (tests/reliability/fulldisk.py runs in a child process):
``fsize`` lowers RLIMIT_FSIZE (works anywhere, no root; writes fail with EFBIG), and
``tmpfs`` mounts a 4 MiB tmpfs in a user namespace (``unshare -Urm``; skipped where user
namespaces are off) and fills it with ballast so that 0, 8 KiB, 16 KiB, ... stay free
(writes fail with ENOSPC at every stage of a save: data, index, meta graph, state file).
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
CHILD = HERE / "fulldisk.py"
APIS = ["saver", "checkpoint", "manager"]
FSIZE_LIMITS = [0, 1, 100, 4096, 30_000, 70_000, 1 << 20]
TMPFS_FREE = [i * 8192 for i in range(24)]


def _env() -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(REPO / "src"), str(REPO), os.environ.get("PYTHONPATH", "")]))


@functools.cache
def _unshare_works() -> bool:
    if not hasattr(os, "fork") or shutil.which("unshare") is None:
        return False
    d = tempfile.mkdtemp()
    try:
        r = subprocess.run(["unshare", "-Urm", "sh", "-c",
                            f"mount -t tmpfs -o size=64k tmpfs {d}"],
                           capture_output=True, timeout=30)
        return r.returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False
    finally:
        os.rmdir(d)


@functools.cache
def run_child(api: str, how: str) -> tuple[dict[str, Any], ...]:
    d = tempfile.mkdtemp(prefix="smio-fulldisk-")
    try:
        if how == "fsize":
            cmd = [sys.executable, str(CHILD), api, d, "fsize",
                   ",".join(map(str, FSIZE_LIMITS))]
        else:
            if not _unshare_works():
                pytest.skip("no user namespaces here (unshare -Urm): tmpfs variant skipped")
            cmd = ["unshare", "-Urm", "sh", "-c",
                   f'mount -t tmpfs -o size=4m tmpfs "{d}" && mkdir "{d}/ckpt" && '
                   f'exec "{sys.executable}" "{CHILD}" {api} "{d}/ckpt" ballast '
                   + ",".join(map(str, TMPFS_FREE))]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=_env())
        assert r.returncode == 0, f"child failed:\n{r.stdout}\n{r.stderr}"
        return tuple(json.loads(line) for line in r.stdout.splitlines())
    finally:
        shutil.rmtree(d, ignore_errors=True)


CASES = [(api, how) for how in ("fsize", "tmpfs") for api in APIS]


@pytest.mark.parametrize(("api", "how"), CASES)
def test_full_disk_keeps_the_previous_checkpoint(api: str, how: str) -> None:
    results = run_child(api, how)
    outcomes = {r["outcome"] for r in results}
    assert "ok" in outcomes and outcomes - {"ok"}, f"the sweep missed a case: {outcomes}"
    for r in results:
        assert r["intact"], f"{api}/{how}: after {r}, the previous checkpoint is not intact"
        assert r["temps"] == [], f"{api}/{how}: temporary files left: {r}"
        assert r["litter"] == [], f"{api}/{how}: the failed save left files: {r}"


@pytest.mark.parametrize(("api", "how"), CASES)
def test_full_disk_error_is_clear(api: str, how: str) -> None:
    """Every failure is our ResourceExhaustedError naming the file it could not write.

    Found by these runs: fileio.os_error used to map EFBIG (RLIMIT_FSIZE) to UnknownError.
    """
    bad = [r for r in run_child(api, how) if r["outcome"] != "ok" and not (
        r["outcome"] == "ResourceExhaustedError" and r.get("names_file"))]
    assert not bad, f"{api}/{how}: {len(bad)} unclear errors, e.g. {bad[:2]}"
