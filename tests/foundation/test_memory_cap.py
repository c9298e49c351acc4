"""The test run caps its own address space (tests/conftest.py), so a runaway allocation
fails one test with MemoryError rather than getting the whole run killed."""

from __future__ import annotations

import importlib.util
import os

import pytest

resource = pytest.importorskip("resource")


def test_the_test_process_has_an_address_space_cap() -> None:
    if importlib.util.find_spec("tensorflow") is not None:
        pytest.skip("no cap where TensorFlow is installed (it reserves far more than it uses)")
    gib = int(os.environ.get("SAVEDMODEL_IO_TEST_MEMORY_GB", "12"))
    if gib <= 0:
        pytest.skip("the cap was turned off with SAVEDMODEL_IO_TEST_MEMORY_GB=0")
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    assert soft != resource.RLIM_INFINITY
    assert soft <= gib << 30


def test_an_allocation_past_the_cap_is_a_memory_error() -> None:
    if resource.getrlimit(resource.RLIMIT_AS)[0] == resource.RLIM_INFINITY:
        pytest.skip("no cap in this process")
    with pytest.raises(MemoryError):
        bytearray(64 << 30)
