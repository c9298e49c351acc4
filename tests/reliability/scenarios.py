"""What a crash-safety trial saves, and what must hold after it is killed.

Each :class:`Scenario` knows how to *resume and save* (in the process that gets killed: find
the newest step from the state file, set every tensor to the next step, save) and how to
*verify* a directory afterwards (in the test process). Invariants after every kill:

* the state file, if any, parses and names checkpoints that load completely, every
  tensor holding that checkpoint's step (checksums verified);
* nothing half-written is taken for a checkpoint: every ``*.index`` in the directory
  (anything ``checkpoint_exists`` would accept) loads completely and consistently;
* the newest step never goes back;
* leftovers (temporary files and directories, data files without an index) stay few,
  and one complete save removes them all.
"""

from __future__ import annotations

import glob
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from savedmodel_io.train.checkpoint_reader import load_checkpoint
from savedmodel_io.train.checkpoint_state import get_checkpoint_state

SHAPE = (128, 128)


def _step_of(prefix: str) -> int:
    m = re.search(r"-(\d+)$", prefix)
    if m is None:
        raise AssertionError(f"checkpoint prefix without a step: {prefix!r}")
    return int(m.group(1))


def check_checkpoint(prefix: str, keys: Callable[[list[str]], dict[str, str]],
                     step: int | None = None) -> int:
    """Load every tensor of ``prefix``; each role (big/step/text) must hold its step
    (by default the number ending the prefix)."""
    step = _step_of(prefix) if step is None else step
    with load_checkpoint(prefix) as r:  # verifies checksums
        roles = keys(sorted(r))
        big = r[roles["big"]]
        assert big.shape == SHAPE and bool((big == step).all()), f"{prefix}: mixed data"
        assert int(r[roles["step"]]) == step, f"{prefix}: step tensor disagrees"
        assert list(r[roles["text"]]) == [str(step).encode()] * 3, f"{prefix}: text"
    return step


def _roles_by_suffix(names: list[str]) -> dict[str, str]:
    """Checkpoint keys of the three variables, TF1 names or TF2 object paths alike."""
    out = {}
    for role in ("big", "step", "text"):
        hits = [n for n in names if n == role or n.startswith(role + "/")]
        assert len(hits) == 1, f"no single key for {role!r} in {names}"
        out[role] = hits[0]
    return out


@dataclass
class Scenario:
    """A kind of save to kill. ``child_code`` runs in the helper process."""

    name: str
    child_code: str  # defines run(directory, saves) and imports what it needs
    max_listed: int | None  # how many checkpoints the state file may list
    seen: dict[str, tuple[float, int]] = field(default_factory=dict)

    def verify(self, directory: str) -> int:
        """Check the invariants; return the newest step the state file names (0: none)."""
        state = get_checkpoint_state(directory)
        latest = 0
        if state is None:
            assert not os.path.exists(os.path.join(directory, "checkpoint")), \
                "the state file exists but does not parse"
        else:
            listed = list(state.all_model_checkpoint_paths)
            assert listed and state.model_checkpoint_path == listed[-1], \
                f"the newest checkpoint is not last in the state file: {state}"
            if self.max_listed is not None:
                assert len(listed) <= self.max_listed, f"too many listed: {listed}"
            for prefix in listed:
                # An older checkpoint may be listed while a sweep deletes it (index first,
                # so it is then no checkpoint at all); the newest must be whole.
                if prefix == listed[-1] or os.path.exists(prefix + ".index"):
                    check_checkpoint(prefix, _roles_by_suffix)
            latest = _step_of(state.model_checkpoint_path)
        # Nothing half-written may look like a checkpoint: every index must load whole.
        for index in glob.glob(os.path.join(glob.escape(directory), "*.index")):
            st = os.stat(index)
            if self.seen.get(index) == (st.st_mtime, st.st_size):
                continue
            check_checkpoint(index[: -len(".index")], _roles_by_suffix)
            self.seen[index] = (st.st_mtime, st.st_size)
        return latest


def leftovers(directory: str) -> list[str]:
    """Partial files: temporaries, temporary directories, data files without an index."""
    out = []
    for name in sorted(os.listdir(directory)):
        path = os.path.join(directory, name)
        if ".tempstate" in name or name.endswith("_temp"):
            out.append(name)
        m = re.match(r"(.*)\.data-\d{5}-of-\d{5}$", name)
        if m and not os.path.exists(os.path.join(directory, m.group(1) + ".index")):
            out.append(name)
        if name.endswith(".meta") and not os.path.exists(path[: -len(".meta")] + ".index"):
            out.append(name)
    return out


_COMMON = r"""
import os, re, sys
import numpy as np
from savedmodel_io.train.checkpoint_state import get_checkpoint_state
from savedmodel_io.train.variable import Variable

SHAPE = (128, 128)

def latest_step(directory):
    state = get_checkpoint_state(directory)
    if state is None:
        return 0, None
    return int(re.search(r"-(\d+)$", state.model_checkpoint_path).group(1)), state

def fill(big, step_var, text, step):
    big.value[...] = step
    step_var.assign(np.int64(step))
    text.assign(np.array([str(step).encode()] * 3, dtype=object))
"""

SAVER = Scenario("saver", _COMMON + r"""
from savedmodel_io.train.saver import Saver

def run(directory, saves):
    step, state = latest_step(directory)
    big = Variable("big", np.zeros(SHAPE, np.float32))
    step_var = Variable("step", np.int64(0), resource=True)
    text = Variable("text", np.array([b""] * 3, dtype=object))
    saver = Saver([big, step_var, text], max_to_keep=3)
    if state is not None:
        saver.recover_last_checkpoints(list(state.all_model_checkpoint_paths))
    done = 0
    while saves is None or done < saves:
        step += 1
        fill(big, step_var, text, step)
        saver.save(os.path.join(directory, "model.ckpt"), global_step=step)
        done += 1
""", max_listed=3)

SAVER_SHARDED = Scenario("saver_sharded", SAVER.child_code.replace(
    "max_to_keep=3)", "max_to_keep=3, sharded=True)"), max_listed=3)

CHECKPOINT = Scenario("checkpoint", _COMMON + r"""
from savedmodel_io.train.checkpoint import Checkpoint

def run(directory, saves):
    step, state = latest_step(directory)
    big = Variable("big", np.zeros(SHAPE, np.float32))
    step_var = Variable("step", np.int64(0))
    text = Variable("text", np.array([b""] * 3, dtype=object))
    ckpt = Checkpoint(big=big, step=step_var, text=text)
    if state is not None:
        ckpt.restore(state.model_checkpoint_path).assert_consumed()
        assert int(ckpt.save_counter.value) == step
    done = 0
    while saves is None or done < saves:
        step += 1
        fill(big, step_var, text, step)
        path = ckpt.save(os.path.join(directory, "ckpt"))
        assert path.endswith(f"-{step}"), path
        done += 1
""", max_listed=1)

MANAGER = Scenario("manager", _COMMON + r"""
from savedmodel_io.train.checkpoint import Checkpoint
from savedmodel_io.train.checkpoint_manager import CheckpointManager

def run(directory, saves):
    big = Variable("big", np.zeros(SHAPE, np.float32))
    step_var = Variable("step", np.int64(0))
    text = Variable("text", np.array([b""] * 3, dtype=object))
    ckpt = Checkpoint(big=big, step=step_var, text=text)
    manager = CheckpointManager(ckpt, directory, max_to_keep=3)
    manager.restore_or_initialize()
    step = int(ckpt.save_counter.value)
    done = 0
    while saves is None or done < saves:
        step += 1
        fill(big, step_var, text, step)
        path = manager.save()
        assert path.endswith(f"-{step}"), path
        done += 1
""", max_listed=None)  # lists the new one before the sweep deletes the oldest

class ExportScenario(Scenario):
    """Numbered SavedModel exports (``<dir>/<version>``, TF Serving's layout): every
    numbered directory must load whole, variables holding its version."""

    def verify(self, directory: str) -> int:
        from savedmodel_io.saved_model import loader

        latest = 0
        for name in os.listdir(directory):
            path = os.path.join(directory, name)
            if not name.isdigit():
                continue
            latest = max(latest, int(name))
            st = os.stat(os.path.join(path, "saved_model.pb"))  # a version is complete
            if self.seen.get(path) == (st.st_mtime, st.st_size):
                continue
            loaded = loader.load(path, ["serve"])
            assert loaded.variables is not None, f"{path}: no variables"
            prefix = loaded.variables_prefix
            loaded.variables.close()
            check_checkpoint(prefix, _roles_by_suffix, step=int(name))
            self.seen[path] = (st.st_mtime, st.st_size)
        return latest


BUILDER = ExportScenario("builder", _COMMON + r"""
from savedmodel_io.graph import Graph
from savedmodel_io.saved_model import signature_def_utils as sdu
from savedmodel_io.saved_model.builder import SavedModelBuilder

def run(directory, saves):
    step = max([int(n) for n in os.listdir(directory) if n.isdigit()], default=0)
    done = 0
    while saves is None or done < saves:
        step += 1
        g = Graph()
        x = g.placeholder(np.float32, shape=(None,), name="x")
        g.variable("big", np.full(SHAPE, step, np.float32))
        g.variable("step", np.int64(step))
        g.variable("text", np.array([str(step).encode()] * 3, dtype=object))
        y = g.op("AddV2", [x, x], name="y")
        g.global_variables_initializer()
        b = SavedModelBuilder(os.path.join(directory, str(step)))
        b.add_meta_graph_and_variables(g, ["serve"], signature_def_map={
            "serving_default": sdu.predict_signature_def({"x": x}, {"y": y})})
        b.save()
        done += 1
""", max_listed=None)

SCENARIOS = {s.name: s for s in (SAVER, SAVER_SHARDED, CHECKPOINT, MANAGER, BUILDER)}


def fresh(name: str) -> Scenario:
    """A scenario with an empty cache of verified files."""
    s = SCENARIOS[name]
    return type(s)(s.name, s.child_code, s.max_listed)


__all__ = ["Scenario", "SCENARIOS", "fresh", "leftovers", "check_checkpoint", "np"]
