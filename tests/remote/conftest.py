"""Fixtures for the remote-storage tests.

``s3``: a real S3-compatible server (moto's server mode, ``s3server.py``) started in its own
process on 127.0.0.1 at a free port, with fsspec configured to reach it, and a fresh bucket
per test. ``mem``: a fresh ``memory://`` directory per test.

Without the ``remote`` extra (fsspec, s3fs) and moto the tests skip; with
``SAVEDMODEL_IO_REQUIRE_REMOTE=1`` (CI) a skip in this directory is a failure, so a lane
meant to test remote storage cannot pass by skipping.
"""

from __future__ import annotations

import importlib.util
import json
import os
import secrets
import subprocess
import sys
import urllib.request
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REQUIRE_REMOTE = os.environ.get("SAVEDMODEL_IO_REQUIRE_REMOTE") == "1"
SERVER = Path(__file__).with_name("s3server.py")
REGION = "us-west-2"


def _missing(*modules: str) -> list[str]:
    return [m for m in modules if importlib.util.find_spec(m) is None]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]
                              ) -> Generator[None, Any, None]:
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    if REQUIRE_REMOTE and report.skipped and "/remote/" in str(item.path).replace(os.sep, "/"):
        report.outcome = "failed"
        report.longrepr = f"remote test skipped with SAVEDMODEL_IO_REQUIRE_REMOTE=1: " \
                          f"{report.longrepr}"


def require(*modules: str) -> None:
    missing = _missing(*modules)
    if missing:
        pytest.skip(f"needs {', '.join(missing)} (pip install -e '.[remote,remote-test]')")


@dataclass
class S3Server:
    """The running server: its endpoint and its request log."""

    endpoint: str

    def requests(self) -> list[tuple[str, str, str, int]]:
        """(method, path, Range header, response body bytes) of every request so far."""
        with urllib.request.urlopen(self.endpoint + "/__counts__") as r:
            return [tuple(x) for x in json.loads(r.read())]  # type: ignore[misc]

    def reset(self) -> None:
        req = urllib.request.Request(self.endpoint + "/__counts__", method="DELETE")
        urllib.request.urlopen(req).close()

    def filesystem(self) -> Any:
        """An s3fs client of its own, patient with slow server-side work (big copies)."""
        import s3fs
        return s3fs.S3FileSystem(**self.options(), skip_instance_cache=True,
                                 config_kwargs={"read_timeout": 600, "retries":
                                                {"max_attempts": 1}})

    def options(self) -> dict[str, Any]:
        return {"key": "testing", "secret": "testing",
                "client_kwargs": {"endpoint_url": self.endpoint, "region_name": REGION}}


def start_server() -> tuple[subprocess.Popen[str], S3Server]:
    proc = subprocess.Popen([sys.executable, str(SERVER)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line.startswith("PORT "):
        proc.kill()
        raise RuntimeError(f"the S3 test server did not start: {line!r}")
    return proc, S3Server(f"http://127.0.0.1:{int(line.split()[1])}")


def stop_server(proc: subprocess.Popen[str]) -> None:
    assert proc.stdin is not None
    proc.stdin.close()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    require("fsspec", "s3fs", "moto", "flask")
    import fsspec

    proc, server = start_server()
    saved = fsspec.config.conf.get("s3")
    fsspec.config.conf["s3"] = server.options()
    try:
        yield server
    finally:
        if saved is None:
            fsspec.config.conf.pop("s3", None)
        else:
            fsspec.config.conf["s3"] = saved
        stop_server(proc)


@pytest.fixture
def s3(s3_server: S3Server) -> Iterator[str]:
    """``s3://<fresh bucket>`` on the test server."""
    bucket = f"test-{secrets.token_hex(6)}"
    fs = s3_server.filesystem()
    fs.mkdir(bucket)
    yield f"s3://{bucket}"
    fs.rm(bucket, recursive=True)


@pytest.fixture
def mem() -> Iterator[str]:
    """A fresh ``memory://`` directory."""
    require("fsspec")
    import fsspec

    root = f"memory://t{secrets.token_hex(6)}"
    fs = fsspec.filesystem("memory")
    fs.makedirs(root, exist_ok=True)
    yield root
    if fs.exists(root):
        fs.rm(root, recursive=True)
