"""SIGKILL a saving process, over and over, and check what it leaves behind.

A helper process imports the library once, then forks one saver process per request (so a
trial costs a fork, not an interpreter start). Two ways to kill:

* **random time** (:meth:`KillRig.random_kills`): the saver saves in a loop; the test
  SIGKILLs it after a random delay of 0 to 1.5 times the measured length of one save, so
  kills land anywhere, inside ``write`` calls included;
* **every file operation** (:meth:`KillRig.boundary_kills`): the saver SIGKILLs itself just
  before its k-th file operation (an audit hook on opens for writing, renames, removals,
  mkdir/rmdir), for k = 1, 2, ... until a save gets through: every point between two
  operations is tried once.

After each kill the scenario's invariants are checked (tests/reliability/scenarios.py).
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.reliability.scenarios import Scenario, leftovers

REPO = Path(__file__).resolve().parents[2]

HELPER = textwrap.dedent(r"""
    import os, signal, sys, time

    WRITE_EVENTS = {"os.rename", "os.remove", "os.rmdir", "os.mkdir", "shutil.rmtree",
                    "os.truncate", "os.link", "os.symlink"}

    def kill_before(k):
        count = [0]
        def hook(event, args):
            if event in WRITE_EVENTS or (event == "open" and _writes(args)):
                count[0] += 1
                if count[0] == k:
                    os.kill(os.getpid(), signal.SIGKILL)
        sys.addaudithook(hook)

    def _writes(args):
        mode, flags = args[1], args[2]
        if isinstance(mode, str) and any(c in mode for c in "wxa+"):
            return True
        return isinstance(flags, int) and bool(flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT))

    from tests.reliability.scenarios import SCENARIOS

    directory = sys.argv[1]
    namespace = {}
    exec(SCENARIOS[sys.argv[2]].child_code, namespace)
    run = namespace["run"]

    for line in sys.stdin:
        cmd = line.split()
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                if cmd[0] == "at":
                    kill_before(int(cmd[1]))
                started = time.perf_counter()
                run(directory, None if cmd[0] == "loop" else 1)
                if cmd[0] == "time":
                    print("took", time.perf_counter() - started, flush=True)
            except BaseException as e:
                print("error", repr(e).replace("\n", " "), flush=True)
                code = 3
            finally:
                os._exit(code)
        print("pid", pid, flush=True)
        _, status = os.waitpid(pid, 0)
        killed = os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
        print("reaped", "killed" if killed else f"exit{os.waitstatus_to_exitcode(status)}",
              flush=True)
""")


@dataclass
class Tally:
    """Figures of a run of trials."""

    scenario: str
    kills: int = 0
    completed_saves: int = 0
    boundary_points: int = 0
    max_leftovers: int = 0
    last_step: int = 0
    seconds: float = 0.0
    save_seconds: float = 0.0
    notes: list[str] = field(default_factory=list)


class KillRig:
    """One helper process saving into ``directory`` with ``scenario``."""

    def __init__(self, scenario: Scenario, directory: str, *,
                 max_leftovers: int | None = 6) -> None:
        self.scenario = scenario
        self.directory = directory
        self.max_leftovers = max_leftovers
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(
            [str(REPO / "src"), str(REPO), os.environ.get("PYTHONPATH", "")]))
        self.proc = subprocess.Popen(
            [sys.executable, "-c", HELPER, directory, scenario.name], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, text=True, env=env)
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self._in, self._out = self.proc.stdin, self.proc.stdout
        self._running: int | None = None  # the saver process of the current trial
        self.tally = Tally(scenario.name)

    # --------------------------------------------------------- plumbing

    def _send(self, cmd: str) -> int:
        self._in.write(cmd + "\n")
        self._in.flush()
        line = self._read()
        assert line.startswith("pid "), line
        self._running = int(line.split()[1])
        return self._running

    def _read(self) -> str:
        line = self._out.readline()
        if not line:
            raise AssertionError("the helper process died")
        return line.strip()

    def _reap(self) -> tuple[str, list[str]]:
        """The saver's fate ("killed", "exit0", ...) and what it printed before."""
        said = []
        while True:
            line = self._read()
            if line.startswith("reaped "):
                self._running = None
                return line.split()[1], said
            said.append(line)

    def close(self) -> None:
        """Stop the helper; a saver still running (a trial cut short by a failed check)
        is killed first, so the helper is not left waiting for it."""
        if self._running is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self._running, signal.SIGKILL)
        self._in.close()
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    # --------------------------------------------------------- checks

    def check(self, after: str) -> None:
        try:
            step = self.scenario.verify(self.directory)
        except AssertionError as e:
            raise AssertionError(f"{self.scenario.name}, after {after}: {e}; directory: "
                                 f"{sorted(os.listdir(self.directory))}") from None
        assert step >= self.tally.last_step, (
            f"{self.scenario.name}, after {after}: the state file went back from step "
            f"{self.tally.last_step} to {step}")
        self.tally.last_step = step
        left = leftovers(self.directory)
        self.tally.max_leftovers = max(self.tally.max_leftovers, len(left))
        assert self.max_leftovers is None or len(left) <= self.max_leftovers, (
            f"{self.scenario.name}, after {after}: leftovers pile up: {left}")

    # --------------------------------------------------------- trials

    def save_once(self, what: str = "once") -> float:
        """One complete save; returns its duration."""
        self._send("time" if what == "time" else "once")
        fate, said = self._reap()
        assert fate == "exit0", f"{self.scenario.name}: a clean save failed: {said}"
        self.tally.completed_saves += 1
        took = [float(s.split()[1]) for s in said if s.startswith("took ")]
        return took[0] if took else 0.0

    def clean_save_leaves_nothing(self) -> None:
        before = self.tally.last_step
        self.save_once()
        self.check("a clean save")
        assert self.tally.last_step == before + 1, "a clean save did not advance the step"
        left = leftovers(self.directory)
        assert left == [], f"{self.scenario.name}: a complete save left {left}"

    def measure(self, saves: int = 3) -> float:
        times = [self.save_once("time") for _ in range(saves)]
        self.check("timed saves")
        self.tally.save_seconds = sorted(times)[len(times) // 2]
        return self.tally.save_seconds

    def random_kills(self, kills: int, rng: random.Random, *, time_budget: float | None = None
                     ) -> None:
        """``kills`` SIGKILLs at random moments of a saving loop."""
        period = self.tally.save_seconds or self.measure()
        start = time.monotonic()
        for i in range(kills):
            if time_budget is not None and time.monotonic() - start > time_budget:
                self.tally.notes.append(f"time budget reached after {i} random kills")
                break
            pid = self._send("loop")
            time.sleep(rng.uniform(0.0, 1.5 * period))
            os.kill(pid, signal.SIGKILL)
            fate, said = self._reap()
            assert fate == "killed", f"saver ended by itself ({fate}): {said}"
            self.tally.kills += 1
            self.check(f"random kill {i + 1}")
        self.tally.seconds += time.monotonic() - start

    def boundary_kills(self, *, limit: int = 400) -> int:
        """Kill before the 1st, 2nd, ... file operation of a save until one completes."""
        start = time.monotonic()
        k = 0
        while k < limit:
            k += 1
            self._send(f"at {k}")
            fate, said = self._reap()
            if fate != "killed":
                assert fate == "exit0", f"{self.scenario.name}: save failed: {said}"
                self.tally.completed_saves += 1
                self.check(f"a save that got past {k - 1} operations")
                break
            self.tally.kills += 1
            self.tally.boundary_points += 1
            self.check(f"a kill before file operation {k}")
        self.tally.seconds += time.monotonic() - start
        return k - 1


__all__ = ["KillRig", "Tally"]
