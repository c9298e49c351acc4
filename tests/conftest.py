"""Shared test set-up.

Tests marked ``interop`` need TensorFlow. Without it they skip; with
``SAVEDMODEL_IO_REQUIRE_INTEROP=1`` (the interop lane of CI) a skip is turned into a
failure, so a lane that was meant to check against TensorFlow cannot pass by skipping.
"""

from __future__ import annotations

import os
from collections.abc import Generator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO.parent / "shared" / "corpus" / "tf-serving"
GOLDEN = REPO / "tests" / "data" / "golden"
REQUIRE_INTEROP = os.environ.get("SAVEDMODEL_IO_REQUIRE_INTEROP") == "1"


def pytest_configure(config: pytest.Config) -> None:
    _cap_address_space()


def _cap_address_space() -> None:
    """Cap this process's address space (default 12 GiB; ``SAVEDMODEL_IO_TEST_MEMORY_GB``,
    0 for none), so a runaway allocation fails one test with MemoryError instead of the
    kernel killing the whole run. Not with TensorFlow present: it reserves address space
    far beyond what it uses."""
    import importlib.util

    try:
        import resource
    except ImportError:  # not on POSIX
        return
    gib = int(os.environ.get("SAVEDMODEL_IO_TEST_MEMORY_GB", "12"))
    if gib <= 0 or importlib.util.find_spec("tensorflow") is not None:
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    cap = gib << 30 if hard == resource.RLIM_INFINITY else min(gib << 30, hard)
    if soft == resource.RLIM_INFINITY or soft > cap:
        resource.setrlimit(resource.RLIMIT_AS, (cap, hard))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if "/interop/" in str(item.path).replace(os.sep, "/"):
            item.add_marker(pytest.mark.interop)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, None]:
    outcome = yield
    report: pytest.TestReport = outcome.get_result()  # type: ignore[attr-defined]
    if REQUIRE_INTEROP and report.skipped and item.get_closest_marker("interop"):
        report.outcome = "failed"
        report.longrepr = f"interop test skipped in the interop lane: {report.longrepr}"


@pytest.fixture(scope="session")
def corpus() -> Path:
    """The real TensorFlow Serving test data beside the checkout."""
    if not CORPUS.is_dir():
        pytest.skip(f"corpus not found at {CORPUS}")
    return CORPUS


@pytest.fixture(scope="session")
def golden() -> Path:
    if not GOLDEN.is_dir():
        pytest.fail(f"golden files missing at {GOLDEN}: run tests/data/make_goldens.py")
    return GOLDEN
