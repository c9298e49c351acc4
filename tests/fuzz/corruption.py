"""Exhaustive single-byte corruption of small TensorFlow-written files.

For every byte of every file of a checkpoint or SavedModel, and several replacement values,
the reader must either raise one of our errors or return well-formed data; where a checksum
covers the byte (a table block with its trailer, a tensor's extent in a data file) it must
raise. Each trial is classified:

* ``caught:<Error>:<how>``: our error; ``how`` groups the messages (checksum, magic, ...);
* ``same``: the reader returned exactly what it returned for the intact files (the byte
  is padding, an unused handle, a field nobody reads...);
* ``changed-unchecked``: different but well-formed data, from a byte no checksum covers
  (the bytes of ``saved_model.pb``, a table footer's handles);
* ``VIOLATION:...``: different data from a checksummed byte, a foreign exception, a hang
  or an allocation beyond the bounds. There must be none.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from savedmodel_io.errors import SavedModelIOError
from tests.fuzz import fuzzlib as F

VALUES_CI: tuple[Callable[[int], int], ...] = (
    lambda b: b ^ 0x01, lambda b: b ^ 0x80, lambda b: 0x00, lambda b: 0xFF)
VALUES_LONG: tuple[Callable[[int], int], ...] = VALUES_CI + (
    lambda b: (b + 1) & 0xFF, lambda b: (b - 1) & 0xFF, lambda b: b ^ 0x40, lambda b: 0x7F)

CATEGORIES = [  # first match wins
    ("checksum", ("checksum",)),
    ("magic", ("magic",)),
    ("bounds", ("past the end", "truncated", "too short", "outside", "ends early",
                "ends inside", "runs past", "does not fit")),
    ("protobuf", ("not a valid", "cannot parse", "garbled")),
    ("entry", ("dtype", "shape", "size", "slice", "shard", "extent", "rank", "dimension")),
    ("structure", ("block", "restart", "key", "order", "varint", "entry", "header")),
    ("missing", ("not found", "no such", "missing", "no checkpoint", "does not exist",
                 "could not be found")),
]


def category(message: str) -> str:
    low = message.lower()
    for name, words in CATEGORIES:
        if any(w in low for w in words):
            return name
    return "other"


# ------------------------------------------------------------------ digests


def _array_digest(a: np.ndarray) -> tuple[Any, ...]:
    if a.dtype == object:
        body = hashlib.sha256(b"\0".join(bytes(x) for x in a.reshape(-1))).hexdigest()
    else:
        body = hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()
    return (str(a.dtype), a.shape, body)


def checkpoint_digest(prefix: str) -> dict[str, Any]:
    """Every tensor of the checkpoint at ``prefix`` (V2 or V1), checked like the fuzz target."""
    from savedmodel_io.train.checkpoint_reader import CheckpointReader

    with CheckpointReader(prefix) as r:
        shapes = r.get_variable_to_shape_map()
        out: dict[str, Any] = {}
        for name in sorted(shapes):
            a = r.get_tensor(name)
            F.check(list(a.shape) == shapes[name], f"{name}: shape disagrees with the index")
            out[name] = _array_digest(a)
        return out


def saved_model_digest(export_dir: str) -> dict[str, Any]:
    from savedmodel_io.saved_model import loader

    sm = loader.parse_saved_model(export_dir)
    out: dict[str, Any] = {"proto": hashlib.sha256(
        sm.SerializeToString(deterministic=True)).hexdigest()}
    for i, meta in enumerate(sm.meta_graphs):
        loaded = loader.LoadedSavedModel(export_dir, sm, meta, source="x")
        out[f"{i}:assets"] = sorted(loaded.asset_paths.items())
        out[f"{i}:init"] = loaded.init_op_name
        if loaded.object_graph is not None:
            out[f"{i}:vars"] = loaded.variables_by_path()
        fp = loaded.fingerprint
        out[f"{i}:fp"] = None if fp is None else fp.SerializeToString(deterministic=True)
    if os.path.exists(os.path.join(export_dir, "variables", "variables.index")):
        out["variables"] = checkpoint_digest(os.path.join(export_dir, "variables",
                                                          "variables"))
    return out


# ------------------------------------------------------------------ checksum coverage


def table_coverage(data: bytes) -> np.ndarray:
    """Bytes of a table covered by a block checksum (contents, type byte, crc)."""
    from savedmodel_io.format.table import BLOCK_TRAILER_SIZE, TableReader

    covered = np.zeros(len(data), dtype=bool)
    r = TableReader(data)
    handles = [r.footer.metaindex_handle, r.footer.index_handle] + [h for _, h in r.index]
    for h in handles:
        covered[h.offset:h.offset + h.size + BLOCK_TRAILER_SIZE] = True
    return covered


def bundle_coverage(index: bytes) -> dict[int, list[tuple[int, int]]]:
    """Shard id -> extents of the data files covered by a tensor checksum."""
    from savedmodel_io.format.bundle_entry import BundleEntry
    from savedmodel_io.format.table import TableReader

    out: dict[int, list[tuple[int, int]]] = {}
    for k, v in TableReader(index):
        if k:
            e = BundleEntry.decode(bytes(v))
            if not e.slices:
                out.setdefault(e.shard_id, []).append((e.offset, e.offset + e.size))
    return out


def coverage(files: F.Files) -> dict[str, np.ndarray]:
    """For each file, which bytes a checksum covers."""
    out: dict[str, np.ndarray] = {}
    for name, data in files.items():
        base = os.path.basename(name)
        if base.endswith(".index"):
            out[name] = table_coverage(data)
            prefix = name[: -len(".index")]
            data_files = sorted(n for n in files if n.startswith(prefix + ".data-"))
            for shard, extents in bundle_coverage(data).items():
                if shard < len(data_files):
                    cov = np.zeros(len(files[data_files[shard]]), dtype=bool)
                    for a, b in extents:
                        cov[a:b] = True
                    out[data_files[shard]] = cov
        elif ".data-" in base or base == "saved_model.pbtxt" or base.endswith(
                (".pb", ".txt", ".meta")) or base == "checkpoint":
            out.setdefault(name, np.zeros(len(data), dtype=bool))
        else:  # a V1 table file
            out[name] = table_coverage(data)
    return out


# ------------------------------------------------------------------ the sweep


@dataclass
class Sweep:
    name: str
    trials: int = 0
    counts: Counter[str] = field(default_factory=Counter)
    by_file: dict[str, Counter[str]] = field(default_factory=dict)
    violations: list[str] = field(default_factory=list)
    seconds: float = 0.0


def sweep(name: str, files: F.Files, read: Callable[[Path], Any], workdir: Path, *,
          values: tuple[Callable[[int], int], ...] = VALUES_CI, rotate: bool = False,
          only: Callable[[str], bool] = lambda n: True, seconds: float = 10.0) -> Sweep:
    """Corrupt each byte of each file (``only`` picks files) with each value; classify.

    ``rotate``: one value per position, taking the values in turn (position i gets value
    i mod len(values)): every byte is still tried, at a fraction of the cost."""
    F.reset_dir(workdir)
    F.write_files(workdir, files)
    reference = read(workdir)
    cover = coverage(files)
    result = Sweep(name)
    start = time.monotonic()
    for fname in sorted(files):
        if not only(fname):
            continue
        original = files[fname]
        path = workdir / fname
        per_file: Counter[str] = Counter()
        cov = cover.get(fname, np.zeros(len(original), dtype=bool))
        buf = bytearray(original)
        for pos in range(len(original)):
            tried = {original[pos]}
            picked = values[pos % len(values):] + values[:pos % len(values)] if rotate \
                else values
            for v in picked:
                new = v(original[pos])
                if new in tried:
                    continue
                tried.add(new)
                buf[pos] = new
                path.write_bytes(buf)
                label = _classify(read, workdir, reference, bool(cov[pos]), seconds)
                if label.startswith("VIOLATION"):
                    result.violations.append(f"{fname} byte {pos}: {original[pos]:#04x} -> "
                                             f"{new:#04x}: {label}")
                per_file[label if label.startswith("caught") else label.split(":")[0]] += 1
                result.counts[label] += 1
                result.trials += 1
                if rotate:
                    break
            buf[pos] = original[pos]
        path.write_bytes(original)
        result.by_file[fname] = per_file
    result.seconds = time.monotonic() - start
    return result


def _classify(read: Callable[[Path], Any], workdir: Path, reference: Any, covered: bool,
              seconds: float) -> str:
    got: Any = None
    try:
        with contextlib.ExitStack() as stack:
            stack.enter_context(F._address_space_limit(F.AS_HEADROOM))
            stack.enter_context(F._alarm(seconds))
            got = read(workdir)
    except SavedModelIOError as e:
        return f"caught:{type(e).__name__}:{category(str(e))}"
    except F.Hang:
        return "VIOLATION:hang"
    except F.Malformed as e:
        return f"VIOLATION:malformed:{e}"
    except Exception as e:  # noqa: BLE001 - what we are looking for
        return f"VIOLATION:foreign:{e!r}"
    if got == reference:
        return "same"
    if covered:
        return "VIOLATION:checksummed byte changed the data silently"
    return "changed-unchecked"


# ------------------------------------------------------------------ subjects


@dataclass
class Subject:
    name: str
    files: F.Files
    read: Callable[[Path], Any]


def _ckpt_reader(prefix: str) -> Callable[[Path], Any]:
    return lambda d: checkpoint_digest(str(d / prefix))


def subjects(names: list[str] | None = None) -> list[Subject]:
    """Small golden checkpoints and SavedModels (``names`` picks some)."""
    g = F.GOLDEN
    out: list[Subject] = []

    def add_bundle(name: str, sub: str, prefix: str) -> None:
        idx = g / sub / (prefix + ".index")
        if idx.exists():
            out.append(Subject(name, F._bundle_seed(idx), _ckpt_reader(prefix)))

    add_bundle("bundle_all_dtypes", "bundle_all_dtypes", "ckpt")
    add_bundle("bundle_sliced", "bundle_sliced", "ckpt")
    add_bundle("bundle_variant", "bundle_variant", "ckpt")
    add_bundle("bundle_scalars_empty", "bundle_scalars_empty", "ckpt")
    add_bundle("tf2_write", "tf2_write", "ckpt")
    add_bundle("bundle_multi_shard", "bundle_multi_shard", "ckpt")
    v1 = F.seed_v1()
    if "golden/v1_unsharded" in v1:
        out.append(Subject("v1_unsharded", v1["golden/v1_unsharded"],
                           _ckpt_reader("model.ckpt-5")))
    if "golden/v1_sharded" in v1:
        out.append(Subject("v1_sharded", v1["golden/v1_sharded"],
                           _ckpt_reader("model.ckpt-5-?????-of-00002")))
    for sm in ("sm_simple_save", "sm_tf2_module"):
        d = g / sm
        if (d / "saved_model.pb").exists():
            out.append(Subject(sm, F._saved_model_seed(d),
                               lambda p: saved_model_digest(str(p))))
    if names is not None:
        out = [s for s in out if s.name in names]
    return out


def run_sweeps(names: list[str] | None, values: tuple[Callable[[int], int], ...],
               workdir: Path | None = None, *, rotate: bool = False) -> list[Sweep]:
    wd = workdir or F.scratch_dir()
    try:
        return [sweep(s.name, s.files, s.read, wd, values=values, rotate=rotate)
                for s in subjects(names)]
    finally:
        if workdir is None:
            shutil.rmtree(wd, ignore_errors=True)
