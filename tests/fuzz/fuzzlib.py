"""Fuzzing harness shared by the CI tests, the long runs and the atheris driver.

Every *target* takes one input (a dict of file name -> bytes; ``files``) and drives one reader
through everything it offers, checking that what comes back is well formed. Only
:class:`SavedModelIOError` may escape a target. :func:`run_bounded` runs a target under
three bounds and says what happened:

* time: ``SIGALRM`` after ``seconds`` (a hang is a failure, not an error);
* memory: the tracemalloc peak (numpy registers its buffers there) must stay below
  ``MEM_FACTOR`` x the input size + ``MEM_SLACK``;
* address space: ``RLIMIT_AS`` is lowered to the current size + ``AS_HEADROOM`` while the
  target runs, so an attempt at a giant allocation fails fast instead of taking the machine.

Seeds are real files: the goldens TensorFlow wrote (tests/data/golden) and the TF Serving
corpus (../shared/corpus/tf-serving).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import random
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

import numpy as np
from google.protobuf import message as pb_message
from google.protobuf import text_format
from google.protobuf.descriptor import FieldDescriptor

from savedmodel_io.errors import SavedModelIOError
from savedmodel_io.format.table import TableBuilder, TableReader

REPO = Path(__file__).resolve().parents[2]
GOLDEN = REPO / "tests" / "data" / "golden"
CORPUS = REPO.parent / "shared" / "corpus" / "tf-serving"

Files = dict[str, bytes]

# Bounds. A reader may hold the input a few times over (bytes, a parsed proto, the arrays it
# returns, Python objects per string element): 64x covers the worst honest case measured
# (string tensors of 2-byte elements); a declared-but-absent gigabyte does not fit.
MEM_FACTOR = 64
MEM_SLACK = 8 << 20
AS_HEADROOM = 2 << 30
SECONDS = 10.0
MAX_SEED_SIZE = 64 << 10  # larger seeds run once unmutated (text parsing is slow)


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


# ------------------------------------------------------------------ targets

MAX_TENSORS = 200  # per input: a mutated index may list thousands of keys


def target_table(files: Files, workdir: Path) -> int:
    """The SSTable reader, in memory: iterate, point lookups, range scans."""
    (data,) = files.values()
    r = TableReader(data, block_cache_bytes=0 if len(data) % 2 else 1 << 20)
    items = list(r)
    keys = [k for k, _ in items]
    check(keys == sorted(set(keys)), "table keys not strictly increasing")
    for k, v in items[:MAX_TENSORS:7]:
        check(r.get(k) == v, f"get({k!r}) disagrees with iteration")
    for probe in (b"", b"\x00", b"m", b"\xff" * 4):
        got = r.get(probe)
        check(got is None or probe in keys, "get found a key iteration did not")
    got_from = [k for k, _ in r.iter_from(b"k")]
    check(got_from == [k for k in keys if k >= b"k"], "iter_from disagrees with iteration")
    return len(items)


def _prefix_of(files: Files) -> str:
    for name in files:
        if name.endswith(".index"):
            return name[: -len(".index")]
    return "ckpt"


def _read_all(reader: Any) -> int:
    """Read every tensor (up to MAX_TENSORS) of a CheckpointReader and check each."""
    shapes = reader.get_variable_to_shape_map()
    dts = reader.get_variable_to_dtype_map()
    check(set(shapes) == set(dts) == set(reader), "shape/dtype maps disagree with keys")
    total = 0
    from savedmodel_io import dtypes

    for name in sorted(shapes)[:MAX_TENSORS]:
        value = reader.get_tensor(name)
        check(isinstance(value, np.ndarray), f"{name}: not an array")
        check(list(value.shape) == shapes[name],
              f"{name}: shape {value.shape} but the index says {shapes[name]}")
        if dts[name].name in ("DT_STRING", "DT_VARIANT"):
            check(value.dtype == object, f"{name}: string tensor of dtype {value.dtype}")
        else:
            check(value.dtype == dtypes.as_numpy_dtype(dts[name]),
                  f"{name}: dtype {value.dtype}, the index says {dts[name].name}")
        total += value.size
        if value.ndim and value.shape[0] > 1:
            part = reader.get_slice(name, "0,1" + ":-" * (value.ndim - 1)
                                    if value.ndim > 1 else "0,1")
            check(part.shape == (1,) + value.shape[1:], f"{name}: bad slice shape")
    return total


def target_bundle(files: Files, workdir: Path, *, verify: bool = True,
                  mmap: bool = False) -> int:
    """The V2 bundle reader (through CheckpointReader): list, read every tensor, slice."""
    from savedmodel_io.format.bundle_reader import BundleReader
    from savedmodel_io.train.checkpoint_reader import CheckpointReader

    prefix = str(workdir / _prefix_of(files))
    with BundleReader(prefix, verify_checksums=verify, mmap=mmap) as b:
        for _ in b.entries(include_slices=True):
            pass
    with CheckpointReader(prefix, verify_checksums=verify, mmap=mmap) as r:
        return _read_all(r)


def target_bundle_unverified(files: Files, workdir: Path) -> int:
    """Same without checksum checks (and memory-mapped): the parsers behind them must hold."""
    return target_bundle(files, workdir, verify=False, mmap=True)


def target_v1(files: Files, workdir: Path) -> int:
    """The legacy V1 reader: one file or a sharded pattern."""
    from savedmodel_io.train.checkpoint_reader import CheckpointReader

    names = sorted(files)
    if len(names) == 1:
        pattern = str(workdir / names[0])
    else:
        pattern = str(workdir / (names[0].rsplit("-", 3)[0] + "-?????-of-?????"))
    with CheckpointReader(pattern) as r:
        check(r.format_version == 1, "V1 files read as a bundle")
        return _read_all(r)


def target_saved_model(files: Files, workdir: Path) -> int:
    """The SavedModel loader: every MetaGraphDef, its signatures, assets, variables,
    object graph and fingerprint."""
    from savedmodel_io.saved_model import loader

    sm = loader.parse_saved_model(workdir)
    source = loader.saved_model_file(workdir)
    n = 0
    for i, meta in enumerate(list(sm.meta_graphs)[:8]):
        tags = list(meta.meta_info_def.tags)
        if i == 0:  # the public entry points once (each parses the file again)
            loaded = loader.load(workdir, tags)
            loader.get_meta_graph_def(workdir, ",".join(tags))
        else:
            loaded = loader.LoadedSavedModel(workdir, sm, meta, source=source)
        n += len(loaded.signatures)
        for name, p in loaded.asset_paths.items():
            check(isinstance(name, str), "asset tensor name not a string")
            real = os.path.realpath(p)
            check(real.startswith(os.path.realpath(workdir / "assets") + os.sep),
                  f"asset path {p!r} escapes the assets directory")
        _ = loaded.fingerprint
        if loaded.variables is not None:
            n += _read_all(loaded.variables)
            loaded.variables.close()
        if loaded.object_graph is not None:
            loaded.variables_by_path()
            n += len(loaded.functions) + len(loaded.concrete_functions)
        loaded.checkpoint_object_graph()
    return n


def target_state_file(files: Files, workdir: Path) -> int:
    """The ``checkpoint`` state file: TF's lenient look-ups, then the strict reader."""
    from savedmodel_io.train import checkpoint_reader, checkpoint_state

    (data,) = files.values()
    lenient = checkpoint_state.get_checkpoint_state(str(workdir))  # None when garbled
    checkpoint_reader.latest_checkpoint(str(workdir))
    read = checkpoint_state.read_checkpoint_state(str(workdir))  # raises when garbled
    check(lenient is not None, "get_checkpoint_state gave None for a readable file")
    check(bool(read.model_checkpoint_path), "state without model_checkpoint_path")
    for p in read.all_model_checkpoint_paths:
        check(os.path.isabs(p), f"path {p!r} not made absolute")
    again = checkpoint_state.parse_state(data)
    check(len(again.all_model_checkpoint_paths) == len(read.all_model_checkpoint_paths),
          "parse_state and the file reader disagree")
    return len(read.all_model_checkpoint_paths)


CLI_MAX_ELEMENTS = 1 << 16  # the fuzzer checks the limit holds, not how big it is


def target_cli_input_strings(files: Files, workdir: Path) -> int:
    """``savedmodel-cli run``'s string options: ``--inputs``, ``--input_exprs`` (the safe
    evaluator: no code may run), ``--input_examples``. Each is parsed; our errors are
    collected and the last one raised."""
    from savedmodel_io.runtime import inputs

    def text(name: str) -> str:
        return files.get(name, b"").decode("utf-8", "replace")

    last: SavedModelIOError | None = None
    n = 0
    try:
        n += len(inputs.parse_inputs_arg(text("inputs")))
    except SavedModelIOError as e:
        last = e
    try:
        values = inputs.parse_input_exprs(text("input_exprs"), max_elements=CLI_MAX_ELEMENTS)
        for v in values.values():  # literals may be ragged lists: check arrays only
            if isinstance(v, np.ndarray):
                check(v.size <= CLI_MAX_ELEMENTS, "an expression built more than allowed")
        n += len(values)
    except SavedModelIOError as e:
        last = e
    try:
        examples = inputs.parse_input_examples(text("input_examples"))
        for v in examples.values():
            check(v.dtype == object and all(isinstance(x, bytes) for x in v),
                  "examples are not serialized bytes")
        n += len(examples)
    except SavedModelIOError as e:
        last = e
    if last is not None:
        raise last
    return n


def target_cli_input_files(files: Files, workdir: Path) -> int:
    """``--inputs`` files: ``.npy``/``.npz`` (pickles refused) read by the CLI's loader."""
    from savedmodel_io.runtime import inputs

    (name,) = files
    value = inputs.load_input_file(str(workdir / name), None)
    check(isinstance(value, np.ndarray), "not an array")
    check(value.dtype != object, "an object array came out of a file without allow_pickle")
    return int(value.size)


TARGETS: dict[str, Callable[[Files, Path], Any]] = {
    "table": target_table,
    "bundle": target_bundle,
    "bundle_unverified": target_bundle_unverified,
    "v1": target_v1,
    "saved_model": target_saved_model,
    "saved_model_text": target_saved_model,
    "state_file": target_state_file,
    "cli_input_strings": target_cli_input_strings,
    "cli_input_files": target_cli_input_files,
}


# ------------------------------------------------------------------ seeds


def _read_dir(d: Path, names: list[str]) -> Files:
    return {n: (d / n).read_bytes() for n in names}


def _bundle_seed(index: Path) -> Files:
    prefix = index.name[: -len(".index")]
    names = [index.name] + sorted(p.name for p in index.parent.glob(prefix + ".data-*"))
    return _read_dir(index.parent, names)


def seed_tables() -> dict[str, Files]:
    out: dict[str, Files] = {}
    for name, files in {**seed_bundles(), **seed_v1()}.items():
        for fname, data in files.items():
            if fname.endswith(".index") or ".data-" not in fname:
                out[f"{name}:{fname}"] = {"table": data}
    return out


def seed_bundles() -> dict[str, Files]:
    out: dict[str, Files] = {}
    for root in (GOLDEN, CORPUS):
        if not root.is_dir():
            continue
        for index in sorted(root.rglob("*.index")):
            if "_expected" in index.parts:
                continue
            out[str(index.relative_to(root.parent))] = _bundle_seed(index)
    return out


def seed_v1() -> dict[str, Files]:
    out: dict[str, Files] = {}
    g1 = GOLDEN / "v1_unsharded"
    if g1.is_dir():
        out["golden/v1_unsharded"] = _read_dir(g1, ["model.ckpt-5"])
    g2 = GOLDEN / "v1_sharded"
    if g2.is_dir():
        out["golden/v1_sharded"] = _read_dir(
            g2, ["model.ckpt-5-00000-of-00002", "model.ckpt-5-00001-of-00002"])
    c1 = CORPUS / "bad_half_plus_two" / "00000123"
    if (c1 / "export").is_file():
        out["corpus/bad_half_plus_two"] = _read_dir(c1, ["export"])
    c2 = CORPUS / "session_bundle_half_plus_two" / "00000123"
    if (c2 / "export-00000-of-00001").is_file():
        out["corpus/session_bundle"] = _read_dir(c2, ["export-00000-of-00001"])
    return out


def _saved_model_seed(d: Path) -> Files:
    names = []
    for p in sorted(d.rglob("*")):
        if p.is_file() and p.stat().st_size < 256 << 10:
            names.append(str(p.relative_to(d)))
    return _read_dir(d, names)


def seed_saved_models() -> dict[str, Files]:
    """SavedModel directories (binary ``saved_model.pb``) with their variables and assets."""
    out: dict[str, Files] = {}
    for root in (GOLDEN, CORPUS):
        if not root.is_dir():
            continue
        for sm in sorted(root.rglob("saved_model.pb")):
            if "_expected" in sm.parts:
                continue
            out[str(sm.parent.relative_to(root.parent))] = _saved_model_seed(sm.parent)
    return out


def seed_saved_models_text() -> dict[str, Files]:
    """The TF-written ``.pbtxt`` SavedModel, and text renderings of the small binary ones
    (the text parser is slow: small seeds let the fuzzer try more inputs)."""
    from savedmodel_io.protos import saved_model_pb2

    out: dict[str, Files] = {}
    for name, files in seed_saved_models().items():
        if "saved_model.pbtxt" in files:
            out[name] = files
        else:
            sm = saved_model_pb2.SavedModel()
            sm.ParseFromString(files["saved_model.pb"])
            rendered = text_format.MessageToString(sm).encode()
            if len(rendered) <= 32 << 10:
                text = {k: v for k, v in files.items() if k != "saved_model.pb"}
                text["saved_model.pbtxt"] = rendered
                out[name + "(as text)"] = text
    return out


def seed_state_files() -> dict[str, Files]:
    out: dict[str, Files] = {}
    for root in (GOLDEN, CORPUS):
        if root.is_dir():
            for p in sorted(root.rglob("checkpoint")):
                if p.is_file() and "_expected" not in p.parts:
                    out[str(p.relative_to(root.parent))] = {"checkpoint": p.read_bytes()}
    out["synthetic/timestamps"] = {"checkpoint": (
        b'model_checkpoint_path: "ckpt-3"\nall_model_checkpoint_paths: "ckpt-2"\n'
        b'all_model_checkpoint_paths: "ckpt-3"\nall_model_checkpoint_timestamps: 1.5\n'
        b'all_model_checkpoint_timestamps: 2.5\nlast_preserved_timestamp: 1.25\n')}
    return out


# Inputs as people write them (TensorFlow's saved_model_cli documentation and examples).
CLI_STRINGS = [
    ("x=input.npy", "x=[[1],[2],[3]]", ""),
    ("x=a.npz[x];y=b.npy", "x=np.ones((2,3));y=np.zeros((2,3), dtype=np.float32)", ""),
    ("", "x=np.array([[1.0],[2.0]], dtype=np.float32)", ""),
    ("", "x=np.arange(6, dtype=np.float32).reshape(2, 3).T", ""),
    ("", "x=numpy.full([2, 2], 7, dtype='int32') * 2 + np.eye(2, dtype=np.int32)", ""),
    ("", "x=np.random.rand(2, 4);y=np.random.randint(0, 10, size=(3,))", ""),
    ("", "x=[b'a', b'bc'];y={'k': (1, 2.5, -3)};z=3**4-2/7", ""),
    ("", "", 'inputs=[{"x":[1.0]},{"x":[3.0]}]'),
    ("", "", 'examples=[{"ids":[1,2,3],"words":[b"cat"],"w":[0.5]}]'),
    ("x=in.npy", "y=np.linspace(0, 1, 5)", 'e=[{"f":[1.0, 2.0]}]'),
]


def seed_cli_strings() -> dict[str, Files]:
    return {f"cli:{i}": {"inputs": a.encode(), "input_exprs": b.encode(),
                         "input_examples": c.encode()}
            for i, (a, b, c) in enumerate(CLI_STRINGS)}


def seed_cli_files() -> dict[str, Files]:
    """``.npy`` and ``.npz`` files of arrays TensorFlow computed (the runtime goldens)."""
    import io
    import zipfile

    out: dict[str, Files] = {}
    src = GOLDEN / "runtime" / "arrays.npz"
    arrays: list[tuple[str, np.ndarray]] = []
    if src.is_file():
        with np.load(src) as z:
            for name in z.files:
                a = z[name]
                if a.dtype != object and 0 < a.nbytes <= 4096 and not name.endswith("/graph"):
                    arrays.append((name, a))
                if len(arrays) >= 12:
                    break
    if not arrays:
        arrays = [("x", np.arange(6, dtype=np.float32).reshape(2, 3))]
    for name, a in arrays[:8]:
        buf = io.BytesIO()
        np.save(buf, a)
        out[f"npy:{name}"] = {"input.npy": buf.getvalue()}
    for compress in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", compression=compress) as zf:
            member = io.BytesIO()
            np.save(member, arrays[0][1])
            zf.writestr("x.npy", member.getvalue())
        out[f"npz:{compress}"] = {"input.npz": buf.getvalue()}
    return out


SEEDS: dict[str, Callable[[], dict[str, Files]]] = {
    "table": seed_tables,
    "bundle": seed_bundles,
    "bundle_unverified": seed_bundles,
    "v1": seed_v1,
    "saved_model": seed_saved_models,
    "saved_model_text": seed_saved_models_text,
    "state_file": seed_state_files,
    "cli_input_strings": seed_cli_strings,
    "cli_input_files": seed_cli_files,
}


def fuzz_seeds(kind: str) -> dict[str, Files]:
    """What the fuzzer mutates for ``kind``: the real files and the known attacks
    (tests/fuzz/attacks.py) aimed at that target."""
    from tests.fuzz.attacks import attack_seeds

    return {**SEEDS[kind](), **attack_seeds(kind)}


# ------------------------------------------------------------------ mutations

INTERESTING_64 = [0, 1, 0x7F, 0x80, 0xFF, 0x7FFF, 0x8000, 0xFFFF, 0x7FFFFFFF, 0x80000000,
                  0xFFFFFFFF, 0x100000000, 0x7FFFFFFFFFFFFFF0, 0x7FFFFFFFFFFFFFFF,
                  0x8000000000000000, 0xFFFFFFFFFFFFFFFF]
INTERESTING_SIGNED = [0, 1, -1, 2, 255, 256, 65536, 2**31 - 1, -2**31, 2**32, 2**40,
                      2**62, 2**63 - 16, 2**63 - 1, -2**63]


def varint(n: int) -> bytes:
    n &= (1 << 64) - 1
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


class Mutator:
    """Byte- and structure-level mutations, driven by ``draw(n) -> int in [0, n)``.

    ``draw`` comes from hypothesis (so failures shrink), from atheris' data provider, or
    from ``random.Random``: the same mutations serve all three.
    """

    def __init__(self, draw: Callable[[int], int], pool: list[bytes] | None = None) -> None:
        self.draw = draw
        self.pool = pool or []

    def choice(self, seq: list[Any]) -> Any:
        return seq[self.draw(len(seq))]

    def chance(self, percent: int) -> bool:
        return self.draw(100) < percent

    # -------------------------------------------------------- bytes

    def bytes_once(self, data: bytes) -> bytes:
        buf = bytearray(data)
        if not buf:
            return bytes(self.draw(256) for _ in range(self.draw(64)))
        op = self.draw(9)
        i = self.draw(len(buf))
        if op == 0:  # flip one bit
            buf[i] ^= 1 << self.draw(8)
        elif op == 1:  # one byte to an interesting value
            buf[i] = self.choice([0, 1, 0x7F, 0x80, 0xFF, self.draw(256)])
        elif op == 2:  # 8 bytes to an interesting 64-bit value
            buf[i:i + 8] = self.choice(INTERESTING_64).to_bytes(8, "little")
        elif op == 3:  # a varint
            buf[i:i + self.draw(4)] = varint(self.choice(INTERESTING_64))
        elif op == 4:  # delete a range
            del buf[i:i + 1 + self.draw(16)]
        elif op == 5:  # insert random bytes
            buf[i:i] = bytes(self.draw(256) for _ in range(1 + self.draw(8)))
        elif op == 6:  # duplicate a range
            j = self.draw(len(buf))
            buf[i:i] = buf[j:j + 1 + self.draw(32)]
        elif op == 7:  # truncate
            del buf[i:]
        else:  # splice with another seed
            other = self.choice(self.pool) if self.pool else bytes(buf)
            j = self.draw(len(other) + 1)
            buf = buf[:i] + other[j:j + 1 + self.draw(64)] + buf[i + self.draw(64):]
        return bytes(buf)

    def bytes(self, data: bytes, rounds: int | None = None) -> bytes:
        for _ in range(rounds if rounds is not None else 1 + self.draw(4)):
            data = self.bytes_once(data)
        return data

    # -------------------------------------------------------- expressions

    TOKENS = [b"np.", b"numpy.", b"(", b")", b"[", b"]", b",", b"=", b";", b"**", b"*", b"-",
              b"1e308", b"10**9", b"2**62", b"-1", b"0", b"'", b'"', b"__import__('os')",
              b".__class__", b"lambda: 0", b"[x for x in ()]", b"open('/etc/passwd')",
              b"dtype='S1000000'", b"dtype=np.complex128", b".reshape(-1)", b".T",
              b".astype(object)", b"np.zeros", b"np.eye", b"np.arange", b"np.full", b"{",
              b"}", b":", b"np.random.randint", b"size=", b"shape=", b"(((", b"nan",
              b"np.ones_like", b"b'x'", b"\\x00", b"True", b"None"]

    def text(self, data: bytes) -> bytes:
        """Insert, replace or delete tokens of the expression language."""
        buf = bytearray(data)
        for _ in range(1 + self.draw(3)):
            i = self.draw(len(buf) + 1)
            op = self.draw(3)
            if op == 0:
                buf[i:i] = self.choice(self.TOKENS)
            elif op == 1:
                buf[i:i + 1 + self.draw(6)] = self.choice(self.TOKENS)
            else:
                del buf[i:i + 1 + self.draw(6)]
        return bytes(buf)

    # -------------------------------------------------------- protobuf messages

    def _messages(self, msg: pb_message.Message, depth: int = 0,
                  out: list[pb_message.Message] | None = None) -> list[pb_message.Message]:
        out = [] if out is None else out
        out.append(msg)
        if depth > 12 or len(out) > 400:
            return out
        for fd, value in msg.ListFields():
            if fd.type != FieldDescriptor.TYPE_MESSAGE:
                continue
            if fd.message_type.GetOptions().map_entry:
                vals = list(value.values()) if hasattr(value, "values") else []
                for v in vals:
                    if isinstance(v, pb_message.Message):
                        self._messages(v, depth + 1, out)
            elif fd.is_repeated:
                for v in value:
                    self._messages(v, depth + 1, out)
            else:
                self._messages(value, depth + 1, out)
        return out

    def _scalar(self, fd: FieldDescriptor) -> Any:
        t = fd.type
        if t in (FieldDescriptor.TYPE_STRING,):
            return self.choice(["", "..", "../../etc/passwd", "/etc/passwd", "a" * 300,
                                "x:0", "\u00e9", "serve", "assets/../x", "a/b/../../.."])
        if t == FieldDescriptor.TYPE_BYTES:
            return self.choice([b"", b"\x00" * 8, b"\xff" * 3, bytes(range(16)),
                                self.choice(self.pool)[:64] if self.pool else b"x"])
        if t == FieldDescriptor.TYPE_BOOL:
            return bool(self.draw(2))
        if t in (FieldDescriptor.TYPE_FLOAT, FieldDescriptor.TYPE_DOUBLE):
            return self.choice([0.0, -1.0, 1e300, float("inf"), float("nan"), 1e-30])
        if t == FieldDescriptor.TYPE_ENUM:
            return self.choice([0, 1, 7, 20, 101, 120, 999, -1])
        bits = 32 if t in (FieldDescriptor.TYPE_INT32, FieldDescriptor.TYPE_SINT32,
                           FieldDescriptor.TYPE_SFIXED32, FieldDescriptor.TYPE_UINT32,
                           FieldDescriptor.TYPE_FIXED32) else 64
        unsigned = t in (FieldDescriptor.TYPE_UINT32, FieldDescriptor.TYPE_FIXED32,
                         FieldDescriptor.TYPE_UINT64, FieldDescriptor.TYPE_FIXED64)
        v = self.choice(INTERESTING_SIGNED)
        if unsigned:
            return v % (1 << bits)
        lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
        return min(max(v, lo), hi)

    def proto_once(self, msg: pb_message.Message) -> None:
        """Change one field somewhere in ``msg`` (in place)."""
        target = self.choice(self._messages(msg))
        fields = [f for f in target.DESCRIPTOR.fields]
        if not fields:
            return
        fd = self.choice(fields)
        try:
            self._mutate_field(target, fd)
        except (ValueError, TypeError, AttributeError):
            pass  # the value does not fit the field; another draw will do

    def _mutate_field(self, msg: pb_message.Message, fd: FieldDescriptor) -> None:
        value = getattr(msg, fd.name)
        if fd.type == FieldDescriptor.TYPE_MESSAGE and fd.message_type.GetOptions().map_entry:
            if len(value) and self.chance(50):
                del value[self.choice(sorted(value))]
            return
        if fd.is_repeated:
            op = self.draw(4)
            if op == 0 and len(value):
                del value[self.draw(len(value))]
            elif op == 1 and len(value) and fd.type == FieldDescriptor.TYPE_MESSAGE:
                value.add().CopyFrom(value[self.draw(len(value))])
            elif fd.type == FieldDescriptor.TYPE_MESSAGE:
                value.add()
            elif op == 2 and len(value):
                value[self.draw(len(value))] = self._scalar(fd)
            else:
                value.append(self._scalar(fd))
            return
        if fd.type == FieldDescriptor.TYPE_MESSAGE:
            if self.chance(50):
                msg.ClearField(fd.name)
            else:
                value.SetInParent()
            return
        setattr(msg, fd.name, self._scalar(fd))

    def proto(self, data: bytes, cls: type[pb_message.Message]) -> bytes:
        msg = cls()
        try:
            msg.ParseFromString(data)
        except Exception:  # noqa: BLE001 - a mutated seed: mutate the bytes instead
            return self.bytes(data)
        for _ in range(1 + self.draw(3)):
            self.proto_once(msg)
        return msg.SerializeToString()

    # -------------------------------------------------------- tables

    def table(self, data: bytes, value_cls: type[pb_message.Message] | None = None) -> bytes:
        """Rebuild a table with mutated entries and *valid* checksums, so the damage
        reaches the parsers behind the block checks."""
        try:
            items = list(TableReader(data))
        except SavedModelIOError:
            return self.bytes(data)
        items = [(bytes(k), bytes(v)) for k, v in items]
        for _ in range(1 + self.draw(3)):
            if not items:
                break
            i = self.draw(len(items))
            k, v = items[i]
            op = self.draw(6)
            if op <= 2 and value_cls is not None:
                items[i] = (k, self.proto(v, value_cls))
            elif op == 3:
                items[i] = (k, self.bytes(v, 1))
            elif op == 4:
                del items[i]
            else:
                items.append((self.bytes(k, 1), self.choice(items)[1]))
        items = sorted(dict(items).items())
        import io

        out = io.BytesIO()
        tb = TableBuilder(out, block_size=self.choice([64, 256, 4096, 262144]),
                          restart_interval=self.choice([1, 2, 16]),
                          compression=self.choice(["none", "snappy"]))
        for k, v in items:
            tb.add(k, v)
        tb.finish()
        return out.getvalue()


def _index_entry_cls() -> Any:
    from savedmodel_io.protos import tensor_bundle_pb2

    return tensor_bundle_pb2.BundleEntryProto


def _v1_record_cls() -> Any:
    from savedmodel_io.protos import saved_tensor_slice_pb2

    return saved_tensor_slice_pb2.SavedTensorSlices


def _saved_model_cls() -> Any:
    from savedmodel_io.protos import saved_model_pb2

    return saved_model_pb2.SavedModel


def _state_cls() -> Any:
    from savedmodel_io.protos import checkpoint_state_pb2

    return checkpoint_state_pb2.CheckpointState


def _fix_crc(files: Files, m: Mutator) -> Files:
    """After mutating a data file, make one index entry's checksum match it again (so the
    string/variant decoders, not the checksum, meet the damage)."""
    from savedmodel_io.format import crc
    from savedmodel_io.format.bundle_entry import BundleEntry

    index_name = next((n for n in files if n.endswith(".index")), None)
    if index_name is None:
        return files
    try:
        items = [(bytes(k), bytes(v)) for k, v in TableReader(files[index_name])]
    except SavedModelIOError:
        return files
    entries = []
    for i, (k, v) in enumerate(items):
        if k:
            with contextlib.suppress(SavedModelIOError):
                entries.append((i, BundleEntry.decode(v)))
    if not entries:
        return files
    i, e = m.choice(entries)
    data_names = sorted(n for n in files if ".data-" in n)
    if e.shard_id >= len(data_names):
        return files
    data = files[data_names[e.shard_id]]
    chunk = data[e.offset:e.offset + e.size]
    e.crc32c = crc.mask(crc.value(chunk))
    items[i] = (items[i][0], e.encode())
    import io

    out = io.BytesIO()
    tb = TableBuilder(out)
    for k, v in items:
        tb.add(k, v)
    tb.finish()
    return {**files, index_name: out.getvalue()}


def mutate(kind: str, files: Files, m: Mutator) -> Files:
    """One mutated input for target ``kind`` from seed ``files``."""
    files = dict(files)
    names = sorted(files)
    if kind == "table":
        (name,) = names
        files[name] = m.table(files[name]) if m.chance(40) else m.bytes(files[name])
        return files
    if kind in ("bundle", "bundle_unverified"):
        index = next((n for n in names if n.endswith(".index")), names[0])
        op = m.draw(10)
        if op < 5:
            files[index] = m.table(files[index], _index_entry_cls())
        elif op < 7:
            files[index] = m.bytes(files[index])
        else:
            data_names = [n for n in names if ".data-" in n]
            if data_names:
                name = m.choice(data_names)
                files[name] = m.bytes(files[name])
                if op == 9:
                    files = _fix_crc(files, m)
            if m.chance(10) and data_names:
                del files[m.choice(data_names)]
        return files
    if kind == "v1":
        name = m.choice(names)
        files[name] = (m.table(files[name], _v1_record_cls()) if m.chance(60)
                       else m.bytes(files[name]))
        return files
    if kind in ("saved_model", "saved_model_text"):
        pb = "saved_model.pb" if "saved_model.pb" in files else "saved_model.pbtxt"
        op = m.draw(10)
        if op < 5:
            cls = _saved_model_cls()
            if pb.endswith(".pbtxt"):
                msg = cls()
                try:
                    text_format.Parse(files[pb].decode(), msg,
                                      descriptor_pool=_pool())
                    for _ in range(1 + m.draw(3)):
                        m.proto_once(msg)
                    files[pb] = text_format.MessageToString(msg).encode()
                except Exception:  # noqa: BLE001
                    files[pb] = m.bytes(files[pb])
            else:
                files[pb] = m.proto(files[pb], cls)
        elif op < 7:
            files[pb] = m.bytes(files[pb])
        else:
            others = [n for n in names if n != pb]
            if others:
                name = m.choice(others)
                files[name] = (m.table(files[name], _index_entry_cls())
                               if name.endswith(".index") and m.chance(50)
                               else m.bytes(files[name]))
        return files
    if kind == "cli_input_strings":
        name = m.choice(names)
        data = files[name]
        if m.chance(50):
            data = m.text(data)
        else:
            data = m.bytes(data)
        files[name] = data
        return files
    if kind == "cli_input_files":
        (name,) = names
        files[name] = m.bytes(files[name])
        return files
    if kind == "state_file":
        (name,) = names
        data = files[name]
        if m.chance(50):
            msg = _state_cls()()
            try:
                text_format.Parse(data.decode(), msg)
                for _ in range(1 + m.draw(3)):
                    m.proto_once(msg)
                files[name] = text_format.MessageToString(msg).encode()
                return files
            except Exception:  # noqa: BLE001
                pass
        files[name] = m.bytes(data)
        return files
    raise KeyError(kind)


def _pool() -> Any:
    from savedmodel_io.protos._pool import POOL

    return POOL


def seed_pool(seeds: dict[str, Files]) -> list[bytes]:
    return [v for files in seeds.values() for v in files.values() if v][:64]


def random_mutator(rng: random.Random, pool: list[bytes]) -> Mutator:
    return Mutator(lambda n: rng.randrange(n) if n > 0 else 0, pool)


@dataclasses.dataclass
class Stats:
    """Collects what a campaign's inputs did (pass it as ``on_outcome``)."""

    slowest: float = 0.0
    max_peak_over_input: float = 0.0  # among passing inputs that used more than 1 MiB
    failures: list[tuple[str, Files, Outcome]] = dataclasses.field(default_factory=list)

    def __call__(self, seed: str, files: Files, out: Outcome) -> None:
        self.slowest = max(self.slowest, out.seconds)
        if out.failure:
            self.failures.append((seed, files, out))
        elif out.size and out.peak > 1 << 20:
            self.max_peak_over_input = max(self.max_peak_over_input, out.peak / out.size)


def campaign(kind: str, count: int, rng: random.Random, workdir: Path,
             seeds: dict[str, Files] | None = None, *, check_memory: bool = True,
             max_seed_size: int = MAX_SEED_SIZE,
             on_outcome: Callable[[str, Files, Outcome], None] | None = None
             ) -> dict[str, int]:
    """Run ``count`` inputs of target ``kind``: the seeds themselves first (by default
    :func:`fuzz_seeds`), then mutants.

    Returns counts by outcome kind; failures are passed to ``on_outcome`` (with all others).
    """
    seeds = fuzz_seeds(kind) if seeds is None else seeds
    names = sorted(seeds)
    small = [n for n in names if input_size(seeds[n]) <= max_seed_size] or names
    pool = seed_pool(seeds)
    m = random_mutator(rng, pool)
    counts: dict[str, int] = {}
    for i in range(count):
        if i < len(names):
            seed = names[i]
            files = seeds[seed]
        else:
            seed = small[rng.randrange(len(small))]
            files = mutate(kind, seeds[seed], m)
        out = run_bounded(TARGETS[kind], files, workdir, check_memory=check_memory)
        key = "FAILURE" if out.failure else out.kind
        counts[key] = counts.get(key, 0) + 1
        if on_outcome is not None:
            on_outcome(seed, files, out)
    return counts


__all__ = [
    "Files", "Outcome", "Mutator", "TARGETS", "SEEDS", "mutate", "run_bounded",
    "scratch_dir", "seed_pool", "random_mutator", "Malformed", "campaign", "Stats",
    "fuzz_seeds",
]
