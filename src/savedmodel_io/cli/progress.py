"""A progress bar on stderr for work that takes longer than about a second.

With tqdm installed (the ``progress`` extra) it is a tqdm bar; otherwise a plain line that
is rewritten in place on a terminal, or printed now and then when stderr is a file. Nothing
at all appears for work that finishes within :data:`DELAY` seconds.
"""

from __future__ import annotations

import importlib
import sys
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any, TextIO

DELAY = 1.0  # seconds of work before anything is shown
_TTY_EVERY = 0.2  # seconds between redraws on a terminal
_FILE_EVERY = 5.0  # seconds between lines in a log file


def human_size(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"  # pragma: no cover


class PlainProgress:
    """The fallback bar: ``label: 42% (1.2 GiB of 2.9 GiB)``."""

    def __init__(self, total: int, label: str, *, stream: TextIO | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.total = max(total, 0)
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.clock = clock
        self.start = clock()
        self.done = 0
        self.last_shown: float | None = None
        isatty = getattr(self.stream, "isatty", None)
        self.tty = bool(isatty and isatty())

    def _line(self) -> str:
        pct = 100 * self.done // self.total if self.total else 100
        return f"{self.label}: {pct}% ({human_size(self.done)} of {human_size(self.total)})"

    def update(self, n: int) -> None:
        self.done += n
        now = self.clock()
        if now - self.start < DELAY:
            return
        every = _TTY_EVERY if self.tty else _FILE_EVERY
        if self.last_shown is not None and now - self.last_shown < every:
            return
        self.last_shown = now
        self.stream.write(f"\r{self._line()}" if self.tty else f"{self._line()}\n")
        self.stream.flush()

    def close(self) -> None:
        if self.last_shown is None:
            return
        self.stream.write(f"\r{self._line()}\n" if self.tty else f"{self._line()}\n")
        self.stream.flush()


class Progress:
    """``with Progress(total_bytes, "export") as p: ... p.update(nbytes)``."""

    def __init__(self, total: int, label: str, *, enabled: bool = True,
                 use_tqdm: bool = True, stream: TextIO | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._bar: Any = None
        if not enabled:
            return
        if use_tqdm:
            try:
                tqdm: Any = importlib.import_module("tqdm").tqdm
            except ImportError:
                pass
            else:
                self._bar = tqdm(total=total, desc=label, unit="B", unit_scale=True,
                                 unit_divisor=1024, delay=DELAY, leave=False,
                                 file=stream if stream is not None else sys.stderr)
                return
        self._bar = PlainProgress(total, label, stream=stream, clock=clock)

    def update(self, n: int) -> None:
        if self._bar is not None:
            self._bar.update(n)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


__all__ = ["Progress", "PlainProgress", "DELAY", "human_size"]
