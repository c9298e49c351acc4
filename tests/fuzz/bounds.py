"""Run one fuzz input under bounds, and say what happened.

:func:`run_bounded` writes the input's files into a scratch directory and runs a *target*
(a function of the files and that directory) under three bounds:

* time: ``SIGALRM`` after ``seconds`` (a hang is a failure, not an error);
* memory: the tracemalloc peak (numpy registers its buffers there) must stay below
  ``MEM_FACTOR`` x the input size + ``MEM_SLACK``;
* address space: ``RLIMIT_AS`` is lowered to the current size + ``AS_HEADROOM`` while the
  target runs, so an attempt at a giant allocation fails fast instead of taking the machine.

Only :class:`SavedModelIOError` may escape a target; anything else, and a
:class:`Malformed` answer, is a failure.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import resource
import shutil
import signal
import tempfile
import time
import tracemalloc
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from savedmodel_io.errors import SavedModelIOError

Files = dict[str, bytes]

# Bounds. A reader may hold the input a few times over (bytes, a parsed proto, the arrays it
# returns, Python objects per string element): 64x covers the worst honest case measured
# (string tensors of 2-byte elements); a declared-but-absent gigabyte does not fit.
MEM_FACTOR = 64
MEM_SLACK = 8 << 20
AS_HEADROOM = 2 << 30
SECONDS = 10.0


class Hang(BaseException):
    """Raised by the alarm: the target ran past its time bound."""


@dataclasses.dataclass
class Outcome:
    """What one bounded run did: ``kind`` is "ok", an error class name, or a failure."""

    kind: str
    ok: bool  # returned normally
    ours: bool  # raised one of our errors
    failure: str | None  # a violation (foreign exception, hang, memory), else None
    seconds: float
    peak: int
    size: int
    message: str = ""
    detail: Any = None  # what the target returned
    error: BaseException | None = None  # what it raised


def _vm_size() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[0]) * resource.getpagesize()


@contextlib.contextmanager
def _address_space_limit(headroom: int) -> Iterator[None]:
    if not os.path.exists("/proc/self/statm"):
        yield
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    want = _vm_size() + headroom
    if hard != resource.RLIM_INFINITY:
        want = min(want, hard)
    resource.setrlimit(resource.RLIMIT_AS, (want, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


@contextlib.contextmanager
def _alarm(seconds: float) -> Iterator[None]:
    def fire(signum: int, frame: Any) -> None:
        raise Hang(f"no answer after {seconds} s")

    old = signal.signal(signal.SIGALRM, fire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def input_size(files: Files) -> int:
    return sum(len(v) for v in files.values())


def run_bounded(target: Callable[[Files, Path], Any], files: Files, workdir: Path, *,
                seconds: float = SECONDS, mem_factor: int = MEM_FACTOR,
                mem_slack: int = MEM_SLACK, check_memory: bool = True) -> Outcome:
    """Write ``files`` into ``workdir`` (emptied first) and run ``target`` under the bounds."""
    reset_dir(workdir)
    write_files(workdir, files)
    size = input_size(files)
    tracing = check_memory and not tracemalloc.is_tracing()
    if tracing:
        tracemalloc.start()
    if check_memory:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
    start = time.perf_counter()
    kind, failure, message, detail = "ok", None, "", None
    error: BaseException | None = None
    try:
        with warnings.catch_warnings(), _address_space_limit(AS_HEADROOM), _alarm(seconds):
            warnings.simplefilter("ignore")  # garbled state files warn, as TF logs
            detail = target(files, workdir)
    except SavedModelIOError as e:
        kind, message, error = type(e).__name__, str(e), e
    except Hang as e:
        kind, failure, message = "Hang", f"hang: {e}", str(e)
    except MemoryError as e:
        kind, failure, message = "MemoryError", f"memory: {e!r}", repr(e)
    except Malformed as e:
        kind, failure, message = "Malformed", f"malformed result: {e}", str(e)
    except Exception as e:  # noqa: BLE001 - this is what we are looking for
        kind, failure, message = type(e).__name__, f"foreign exception {e!r}", repr(e)
        error = e
    elapsed = time.perf_counter() - start
    peak = 0
    if check_memory:
        peak = tracemalloc.get_traced_memory()[1] - base
        if tracing:
            tracemalloc.stop()
        if failure is None and peak > mem_factor * size + mem_slack:
            failure = (f"memory: peak {peak} bytes for {size} input bytes "
                       f"(bound {mem_factor}x + {mem_slack})")
    return Outcome(kind, kind == "ok", failure is None and kind != "ok", failure, elapsed,
                   peak, size, message, detail, error)


def reset_dir(d: Path) -> None:
    if d.exists():
        for p in d.iterdir():
            if p.is_dir() and not p.is_symlink():
                shutil.rmtree(p)
            else:
                p.unlink()
    else:
        d.mkdir(parents=True)


def write_files(d: Path, files: Files) -> None:
    for name, data in files.items():
        p = d / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)


def scratch_dir() -> Path:
    """A fresh directory for a fuzz run, in memory (/dev/shm) when the machine has it."""
    base = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
    return Path(tempfile.mkdtemp(prefix="smio-fuzz-", dir=base))


# ------------------------------------------------------------------ well-formedness


class Malformed(AssertionError):
    """A reader returned normally but its answer contradicts itself."""


def check(cond: bool, what: str) -> None:
    if not cond:
        raise Malformed(what)
