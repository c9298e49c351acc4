"""The benchmark suite: savedmodel_io against TensorFlow and against plain numpy file I/O.

    python benchmarks/bench_suite.py --json results.json
    python benchmarks/bench_suite.py --tf-python /path/to/tf-venv/bin/python
    python benchmarks/bench_suite.py --quick                     # small sizes, a smoke run

Every case is measured in this one run. Each implementation runs in its own worker
process (ours, TensorFlow's, and the hardware reference: numpy ``tofile``/``readinto`` and
crc32c of the same bytes), and the repetitions alternate between them, rotating who goes
first, so that neither the page cache nor a noisy neighbour favours one side. Before every
write the previous output is deleted and ``sync`` runs (untimed), so no write starts
behind another's dirty pages. Reads all read the same files, warm in the page cache.
The medians are printed as a table with the ratios and the targets of issue 9, and
written as JSON with every sample.

TensorFlow runs when it can be imported by ``--tf-python`` (default: this interpreter);
``--no-tf`` skips it. Cold start and peak memory are measured in fresh processes.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np

SRC = str(Path(__file__).resolve().parents[1] / "src")
MiB = 1 << 20
IMPLS = ("ours", "tf", "ref")


# ============================================================ shared test data


@dataclass(frozen=True)
class Config:
    mib: int = 1024  # the big checkpoint: 64 float32 tensors
    tensors: int = 64
    keys: int = 100_000  # the index of small tensors
    lookups: int = 1000
    strings: int = 1_000_000
    graph_mb: int = 50
    work: str = ""

    def path(self, *parts: str) -> str:
        return os.path.join(self.work, *parts)


def big_tensors(cfg: Config) -> dict[str, np.ndarray]:
    per = cfg.mib * MiB // cfg.tensors // 4
    rng = np.random.default_rng(0)
    return {f"layer_{i:03d}/kernel": rng.standard_normal(per, dtype=np.float32)
            for i in range(cfg.tensors)}


def small_keys(cfg: Config) -> list[str]:
    return [f"scope_{i // 1000}/var_{i:06d}" for i in range(cfg.keys)]


def lookup_keys(cfg: Config) -> list[str]:
    return random.Random(0).sample(small_keys(cfg), min(cfg.lookups, cfg.keys))


def string_tensor(cfg: Config) -> np.ndarray:
    """``cfg.strings`` random lowercase strings of 0 to 39 bytes, as an object array."""
    rng = np.random.default_rng(1)
    lengths = rng.integers(0, 40, cfg.strings)
    blob = rng.integers(97, 123, int(lengths.sum()), dtype=np.uint8).tobytes()
    ends = np.cumsum(lengths).tolist()
    starts = [0, *ends[:-1]]
    out = np.empty(cfg.strings, dtype=object)
    out[:] = [blob[a:b] for a, b in zip(starts, ends, strict=True)]
    return out


def _sync_dir_tree(paths: list[str]) -> None:
    for p in paths:
        fd = os.open(p, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


# ============================================================ the workers


class Worker:
    """Runs one implementation's side of every case, in its own process."""

    def __init__(self, impl: str, cfg: Config) -> None:
        self.impl = impl
        self.cfg = cfg
        self.cache: dict[str, Any] = {}

    def data(self, name: str, make: Callable[[], Any]) -> Any:
        if name not in self.cache:
            self.cache[name] = make()
        return self.cache[name]

    def run(self, case: str) -> float:
        fn = getattr(self, f"{self.impl}_{case}")
        prepare = getattr(self, f"prepare_{case}", None)
        if prepare is not None:
            prepare()
        t0 = time.perf_counter()
        fn()
        return time.perf_counter() - t0

    # ------------------------------------------------ setup (the ours worker, untimed)

    def ours_make_inputs(self) -> None:
        """Write the files every implementation reads: made by us, identical to TF's."""
        import savedmodel_io

        cfg = self.cfg
        savedmodel_io.save_checkpoint(big_tensors(cfg), cfg.path("ckpt", "model"))
        small = {k: np.float32(i) for i, k in enumerate(small_keys(cfg))}
        savedmodel_io.save_checkpoint(small, cfg.path("small", "model"))
        savedmodel_io.save_checkpoint({"s": string_tensor(cfg)}, cfg.path("strings", "model"))
        write_saved_model(cfg.path("sm"), cfg.graph_mb)

    # ------------------------------------------------ data each case needs

    def prepare_write(self) -> None:
        tensors = self.data("big", lambda: big_tensors(self.cfg))
        if self.impl == "tf":
            tf = _tf()

            self.data("tf_big", lambda: [tf.constant(v) for v in tensors.values()])

    prepare_write_durable = prepare_write

    def prepare_read(self) -> None:
        self.data("names", lambda: list(big_tensors_names(self.cfg)))

    prepare_mmap = prepare_read

    def prepare_lookup(self) -> None:
        self.data("lookup", lambda: lookup_keys(self.cfg))

    def prepare_strings_write(self) -> None:
        arr = self.data("strings", lambda: string_tensor(self.cfg))
        if self.impl == "tf":
            tf = _tf()

            self.data("tf_strings", lambda: tf.constant(arr))

    # ------------------------------------------------ ours

    def ours_write(self, durable: bool = False) -> None:
        from savedmodel_io.format.bundle_writer import BundleWriter

        with BundleWriter(self.cfg.path("w_ours", "model"), durable=durable) as w:
            for k, v in self.cache["big"].items():
                w.add(k, v)

    def ours_write_durable(self) -> None:
        self.ours_write(durable=True)

    def ours_read(self) -> None:
        import savedmodel_io

        with savedmodel_io.load_checkpoint(self.cfg.path("ckpt", "model")) as r:
            for k in self.cache["names"]:
                r[k]

    def ours_mmap(self) -> None:
        import savedmodel_io

        with savedmodel_io.load_checkpoint(self.cfg.path("ckpt", "model"), mmap=True) as r:
            touch_pages(r[self.cache["names"][0]])

    def ours_list(self) -> None:
        import savedmodel_io

        with savedmodel_io.load_checkpoint(self.cfg.path("small", "model")) as r:
            r.get_variable_to_shape_map()

    def ours_lookup(self) -> None:
        import savedmodel_io

        with savedmodel_io.load_checkpoint(self.cfg.path("small", "model")) as r:
            for k in self.cache["lookup"]:
                r[k]

    def ours_strings_write(self) -> None:
        import savedmodel_io

        savedmodel_io.save_checkpoint({"s": self.cache["strings"]},
                                      self.cfg.path("s_ours", "model"))

    def ours_strings_read(self) -> None:
        import savedmodel_io

        with savedmodel_io.load_checkpoint(self.cfg.path("strings", "model")) as r:
            r["s"]

    def ours_saved_model(self) -> None:
        from savedmodel_io.saved_model import loader

        loader.parse_saved_model(self.cfg.path("sm"))

    # ------------------------------------------------ TensorFlow

    def tf_write(self, durable: bool = False) -> None:
        tf = _tf()

        prefix = self.cfg.path("w_tf", "model")
        names = list(self.cache["big"])
        tf.raw_ops.SaveV2(prefix=prefix, tensor_names=names, shape_and_slices=[""] * len(names),
                          tensors=self.cache["tf_big"])
        if durable:  # TensorFlow never fsyncs: do it after, as a user would have to
            _sync_dir_tree([prefix + ".index", prefix + ".data-00000-of-00001",
                            os.path.dirname(prefix)])

    def tf_write_durable(self) -> None:
        self.tf_write(durable=True)

    def tf_read(self) -> None:
        tf = _tf()

        r = tf.train.load_checkpoint(self.cfg.path("ckpt", "model"))
        for k in self.cache["names"]:
            r.get_tensor(k)

    def tf_list(self) -> None:
        tf = _tf()

        tf.train.load_checkpoint(self.cfg.path("small", "model")).get_variable_to_shape_map()

    def tf_lookup(self) -> None:
        tf = _tf()

        r = tf.train.load_checkpoint(self.cfg.path("small", "model"))
        for k in self.cache["lookup"]:
            r.get_tensor(k)

    def tf_strings_write(self) -> None:
        tf = _tf()

        tf.raw_ops.SaveV2(prefix=self.cfg.path("s_tf", "model"), tensor_names=["s"],
                          shape_and_slices=[""], tensors=[self.cache["tf_strings"]])

    def tf_strings_read(self) -> None:
        tf = _tf()

        tf.train.load_checkpoint(self.cfg.path("strings", "model")).get_tensor("s")

    def tf_saved_model(self) -> None:
        loader_impl = importlib.import_module("tensorflow.python.saved_model.loader_impl")
        loader_impl.parse_saved_model(self.cfg.path("sm"))

    # ------------------------------------------------ the hardware reference

    def ref_write(self, durable: bool = False) -> None:
        import crc32c

        path = self.cfg.path("w_ref.bin")
        with open(path, "wb") as f:
            for v in self.cache["big"].values():
                crc32c.crc32c(v.data)
                v.tofile(f)
            if durable:
                f.flush()
                os.fsync(f.fileno())
        if durable:
            _sync_dir_tree([self.cfg.work])

    def ref_write_durable(self) -> None:
        self.ref_write(durable=True)

    def ref_read(self) -> None:
        import crc32c

        per = self.cfg.mib * MiB // self.cfg.tensors // 4
        with open(self.cfg.path("ckpt", "model.data-00000-of-00001"), "rb",
                  buffering=0) as f:
            for _ in self.cache["names"]:
                out = np.empty(per, np.float32)
                f.readinto(out.data.cast("B"))
                crc32c.crc32c(out.data)

    def ref_mmap(self) -> None:
        per = self.cfg.mib * MiB // self.cfg.tensors // 4
        m = np.memmap(self.cfg.path("ckpt", "model.data-00000-of-00001"), dtype=np.float32,
                      mode="r", shape=(per,))
        touch_pages(m)
        del m


def _tf() -> Any:
    """TensorFlow, imported in the worker that runs it (it has no type stubs)."""
    return importlib.import_module("tensorflow")


def big_tensors_names(cfg: Config) -> list[str]:
    return [f"layer_{i:03d}/kernel" for i in range(cfg.tensors)]


def touch_pages(a: np.ndarray) -> int:
    """Read one byte of every page of ``a`` (what 'touching' a mapped tensor costs)."""
    return int(a.reshape(-1).view(np.uint8)[::4096].sum())


def write_saved_model(export_dir: str, graph_mb: int) -> None:
    """A SavedModel whose graph is ``graph_mb`` MB: Const nodes of 64 floats each."""
    from savedmodel_io.protos import saved_model_pb2, types_pb2

    sm = saved_model_pb2.SavedModel(saved_model_schema_version=1)
    meta = sm.meta_graphs.add()
    meta.meta_info_def.tags.append("serve")
    graph = meta.graph_def
    graph.versions.producer = 1994
    rng = np.random.default_rng(2)
    content = rng.standard_normal((1024, 64), dtype=np.float32)
    node_bytes = 344  # what one node below serializes to, on average
    for i in range(graph_mb * 1_000_000 // node_bytes):
        node = graph.node.add(name=f"block_{i // 100}/const_{i}", op="Const",
                              device="/device:CPU:0")
        node.attr["dtype"].type = types_pb2.DT_FLOAT
        t = node.attr["value"].tensor
        t.dtype = types_pb2.DT_FLOAT
        t.tensor_shape.dim.add().size = 64
        t.tensor_content = content[i % 1024].tobytes()
    os.makedirs(export_dir, exist_ok=True)
    with open(os.path.join(export_dir, "saved_model.pb"), "wb") as f:
        f.write(sm.SerializeToString(deterministic=True))


def worker_main(impl: str, cfg: Config) -> None:
    """Serve requests on stdin: one JSON line in ({"case": ...}), one out ({"s": seconds})."""
    w = Worker(impl, cfg)
    out = sys.stdout
    sys.stdout = sys.stderr  # whatever a library prints must not garble the replies
    for line in sys.stdin:
        req = json.loads(line)
        try:
            reply: dict[str, Any] = {"s": w.run(req["case"])}
        except Exception as e:  # reported to the driver, which shows it in the table
            reply = {"error": f"{type(e).__name__}: {e}"}
        out.write(json.dumps(reply) + "\n")
        out.flush()


# ============================================================ the driver


@dataclass
class Case:
    name: str
    title: str
    impls: tuple[str, ...]
    unit: str = "s"
    # Targets: the largest allowed ratio against TF and against the reference, or an
    # absolute limit on ours (seconds, or the data size's multiple for memory).
    vs_tf: float | None = None
    vs_ref: float | None = None
    limit: float | None = None
    fresh_output: bool = False  # delete the output and sync before every run
    samples: dict[str, list[float]] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


def cases(cfg: Config) -> list[Case]:
    gib = f"{cfg.mib / 1024:g} GiB" if cfg.mib >= 1024 else f"{cfg.mib} MiB"
    return [
        Case("write", f"write {gib} ({cfg.tensors} float32 tensors), no fsync (as TF)",
             IMPLS, vs_tf=1.0, vs_ref=1.5, fresh_output=True),
        Case("write_durable", f"write {gib} + fsync (TF: fsync after SaveV2)", IMPLS,
             fresh_output=True),
        Case("read", f"read {gib} back, checksums verified", IMPLS, vs_tf=0.8, vs_ref=1.5),
        Case("mmap", "open memory-mapped + touch one tensor", ("ours", "ref"),
             limit=0.050),
        Case("rss", f"peak RSS reading all {gib} (x data size)", IMPLS, unit="x",
             limit=1.1),
        Case("list", f"open + list an index of {cfg.keys:,} keys", ("ours", "tf"),
             vs_tf=1.0),
        Case("lookup", f"open + {min(cfg.lookups, cfg.keys):,} random lookups in it",
             ("ours", "tf")),
        Case("cold", "cold start: new process, import, read one tensor", ("ours", "tf"),
             vs_tf=0.1),
        Case("strings_write", f"write a string tensor of {cfg.strings:,} elements",
             ("ours", "tf"), vs_tf=1.0, fresh_output=True),
        Case("strings_read", f"read a string tensor of {cfg.strings:,} elements",
             ("ours", "tf"), vs_tf=1.0),
        Case("saved_model", f"parse a SavedModel with a {cfg.graph_mb} MB graph",
             ("ours", "tf")),
    ]


def child_env() -> dict[str, str]:
    """The environment of every process the suite starts: this checkout's ``src`` first on
    the path, TensorFlow's logging quiet, and bytecode caching on (as in an installed
    package: with PYTHONDONTWRITEBYTECODE set, every start-up would compile our modules
    again, and the cold-start case would time the compiler)."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        p for p in (SRC, os.environ.get("PYTHONPATH")) if p), TF_CPP_MIN_LOG_LEVEL="3")
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


class Pool:
    """The worker processes, one per implementation."""

    def __init__(self, cfg: Config, pythons: dict[str, str]) -> None:
        self.procs: dict[str, subprocess.Popen[str]] = {}
        env = child_env()
        for impl, python in pythons.items():
            self.procs[impl] = subprocess.Popen(
                [python, os.path.abspath(__file__), "--worker", impl, "--config",
                 json.dumps(cfg.__dict__)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                text=True, env=env)

    def run(self, impl: str, case: str) -> tuple[float | None, str | None]:
        p = self.procs[impl]
        stdin: IO[str] | None = p.stdin
        stdout: IO[str] | None = p.stdout
        assert stdin is not None and stdout is not None
        stdin.write(json.dumps({"case": case}) + "\n")
        stdin.flush()
        line = stdout.readline()
        if not line:
            return None, "worker died"
        reply = json.loads(line)
        return reply.get("s"), reply.get("error")

    def close(self) -> None:
        for p in self.procs.values():
            if p.stdin is not None:
                p.stdin.close()
            p.wait(timeout=120)


def fresh_process_run(python: str, code: str, env: dict[str, str]) -> tuple[float, str]:
    t0 = time.perf_counter()
    done = subprocess.run([python, "-c", code], capture_output=True, text=True, env=env,
                          check=False)
    seconds = time.perf_counter() - t0
    if done.returncode:
        raise RuntimeError(done.stderr.strip().splitlines()[-1] if done.stderr else "failed")
    return seconds, done.stdout


COLD = {
    "ours": "import savedmodel_io\nsavedmodel_io.load_checkpoint({p!r})[{k!r}]",
    "tf": "import tensorflow as tf\ntf.train.load_checkpoint({p!r}).get_tensor({k!r})",
}
RSS = {
    "ours": "import savedmodel_io\nr = savedmodel_io.load_checkpoint({p!r})\n"
            "kept = [r[k] for k in r]\n",
    "tf": "import tensorflow as tf\nr = tf.train.load_checkpoint({p!r})\n"
          "kept = [r.get_tensor(k) for k in r.get_variable_to_shape_map()]\n",
    "ref": "import numpy as np, crc32c\nkept = []\n"
           "f = open({d!r}, 'rb', buffering=0)\n"
           "for _ in range({n}):\n"
           "    a = np.empty({per}, np.float32); f.readinto(memoryview(a).cast('B'))\n"
           "    crc32c.crc32c(a); kept.append(a)\n",
}
RSS_TAIL = "import resource\nprint(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n"


def measure(cfg: Config, repeat: int, pythons: dict[str, str], only: set[str] | None,
            log: Callable[[str], None]) -> list[Case]:
    todo = [c for c in cases(cfg) if only is None or c.name in only]
    for c in todo:
        c.impls = tuple(i for i in c.impls if i in pythons)
    env = child_env()
    log("writing the input files ...")
    maker = Pool(cfg, {"ours": pythons["ours"]})
    try:
        _, err = maker.run("ours", "make_inputs")
    finally:
        maker.close()
    if err:
        raise RuntimeError(f"could not write the inputs: {err}")
    os.sync()
    for c in todo:
        log(f"{c.name} ...")
        # Fresh workers for every case: nothing another case left behind (memory the
        # allocator kept, objects the garbage collector must walk) can help or hurt.
        fresh = c.name in ("cold", "rss")
        pool = Pool(cfg, {} if fresh else {i: pythons[i] for i in c.impls})
        try:
            for rep in range(repeat + 1):  # round 0 warms up (caches, lazy imports)
                order = list(c.impls)
                order = order[rep % len(order):] + order[:rep % len(order)]
                for impl in order:
                    if fresh:
                        value = _fresh(c.name, impl, cfg, pythons[impl], env, c)
                    else:
                        if c.fresh_output:
                            for out in (f"w_{impl}", f"s_{impl}", "w_ref.bin"):
                                _remove(cfg.path(out))
                            os.sync()
                        value, err = pool.run(impl, c.name)
                        if err:
                            c.errors[impl] = err
                    if rep and value is not None:
                        c.samples.setdefault(impl, []).append(value)
        finally:
            pool.close()
    return todo


def _fresh(case: str, impl: str, cfg: Config, python: str, env: dict[str, str],
           c: Case) -> float | None:
    ckpt = cfg.path("ckpt", "model")
    try:
        if case == "cold":
            code = COLD[impl].format(p=ckpt, k=big_tensors_names(cfg)[0])
            return fresh_process_run(python, code, env)[0]
        per = cfg.mib * MiB // cfg.tensors // 4
        code = RSS[impl].format(p=ckpt, d=ckpt + ".data-00000-of-00001", n=cfg.tensors,
                                per=per) + RSS_TAIL
        kib = int(fresh_process_run(python, code, env)[1].split()[-1])
        return kib * 1024 / (cfg.mib * MiB)
    except (RuntimeError, KeyError) as e:
        c.errors[impl] = str(e)
        return None


def _remove(path: str) -> None:
    if os.path.isdir(path):
        shutil.rmtree(path, ignore_errors=True)
    elif os.path.exists(path):
        os.remove(path)


# ============================================================ report


def summarize(c: Case) -> dict[str, Any]:
    med = {i: statistics.median(v) for i, v in c.samples.items() if v}
    ours, tf, ref = med.get("ours"), med.get("tf"), med.get("ref")
    ratio_tf = ours / tf if ours is not None and tf else None
    ratio_ref = ours / ref if ours is not None and ref else None
    checks: list[bool] = []
    if c.vs_tf is not None and ratio_tf is not None:
        checks.append(ratio_tf <= c.vs_tf)
    if c.vs_ref is not None and ratio_ref is not None:
        checks.append(ratio_ref <= c.vs_ref)
    if c.limit is not None and ours is not None:
        checks.append(ours <= c.limit)
    parts = []
    if c.vs_tf is not None:
        parts.append(f"<= {c.vs_tf:g}x TF")
    if c.vs_ref is not None:
        parts.append(f"<= {c.vs_ref:g}x ref")
    if c.limit is not None:
        parts.append(f"<= {c.limit * 1000:g} ms" if c.unit == "s" else f"<= {c.limit:g}x data")
    target = " and ".join(parts)
    met = None if not checks else all(checks)
    return {"title": c.title, "unit": c.unit, "median": med, "samples": c.samples,
            "ours/tf": ratio_tf, "ours/ref": ratio_ref, "target": target or None,
            "met": met, "errors": c.errors}


def fmt_value(x: float | None, unit: str) -> str:
    if x is None:
        return "-"
    if unit == "x":
        return f"{x:.2f}x"
    return f"{x * 1000:.1f} ms" if x < 1 else f"{x:.2f} s"


def print_table(report: dict[str, Any]) -> None:
    m = report["machine"]
    print(f"# {m['cpu']} ({m['cores']} cores, {m['ram_gib']} GiB); {m['platform']}; "
          f"python {m['python']}, numpy {m['numpy']}, tensorflow {m['tensorflow']}; "
          f"load average {m['load_before']} -> {m['load_after']}; "
          f"median of {report['repeat']}")
    head = (f"{'case':52} {'ours':>9} {'TF':>9} {'ref':>9} {'ours/TF':>8} {'ours/ref':>8}  "
            f"target")
    print(head)
    print("-" * len(head))
    for r in report["results"].values():
        med = r["median"]

        def ratio(x: float | None) -> str:
            return f"{x:8.2f}" if x is not None else f"{'-':>8}"

        status = {True: "met", False: "MISSED", None: ""}[r["met"]]
        target = f"{r['target']}: {status}" if r["target"] else ""
        print(f"{r['title'][:52]:52} {fmt_value(med.get('ours'), r['unit']):>9} "
              f"{fmt_value(med.get('tf'), r['unit']):>9} "
              f"{fmt_value(med.get('ref'), r['unit']):>9} {ratio(r['ours/tf'])} "
              f"{ratio(r['ours/ref'])}  {target}")
        for impl, err in r["errors"].items():
            print(f"    {impl} failed: {err}")


def markdown_table(report: dict[str, Any]) -> str:
    """The results as a Markdown table (what the README shows)."""
    lines = ["| case | ours | TensorFlow | reference | ours/TF | ours/ref | target |",
             "| --- | ---: | ---: | ---: | ---: | ---: | --- |"]
    def ratio(x: float | None) -> str:
        return f"{x:.2f}" if x is not None else "–"

    for r in report["results"].values():
        ours, tf, ref = (fmt_value(r["median"].get(i), r["unit"]).replace("-", "–")
                         for i in IMPLS)
        status = {True: "met", False: "**missed**", None: ""}[r["met"]]
        target = f"{r['target']}: {status}" if r["target"] else "–"
        lines.append(f"| {r['title']} | {ours} | {tf} | {ref} | "
                     f"{ratio(r['ours/tf'])} | {ratio(r['ours/ref'])} | {target} |")
    return "\n".join(lines) + "\n"


def machine(tf_version: str | None, load_before: str) -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / (1 << 30)
    return {"cpu": cpu, "cores": os.cpu_count(), "ram_gib": round(ram),
            "platform": platform.platform(), "python": platform.python_version(),
            "numpy": np.__version__, "tensorflow": tf_version,
            "load_before": load_before, "load_after": _load()}


def _load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def tf_python(args: argparse.Namespace) -> tuple[str | None, str | None]:
    """The interpreter that runs TensorFlow, and TensorFlow's version (or None, None)."""
    if args.no_tf:
        return None, None
    python = args.tf_python or sys.executable
    if python == sys.executable and importlib.util.find_spec("tensorflow") is None:
        return None, None
    done = subprocess.run(
        [python, "-c", "import tensorflow as tf; print(tf.__version__)"],
        capture_output=True, text=True, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"),
        check=False)
    if done.returncode:
        return None, None
    return python, done.stdout.split()[-1]


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--mib", type=int, default=1024, help="big checkpoint size (1024)")
    p.add_argument("--keys", type=int, default=100_000, help="keys in the index (100000)")
    p.add_argument("--strings", type=int, default=1_000_000,
                   help="elements of the string tensor (1000000)")
    p.add_argument("--graph-mb", type=int, default=50, help="SavedModel graph size (50)")
    p.add_argument("--repeat", type=int, default=5, help="timed repetitions per case (5)")
    p.add_argument("--quick", action="store_true",
                   help="small sizes and 2 repetitions: checks that everything runs")
    p.add_argument("--cases", default=None,
                   help="comma-separated subset: " + ",".join(c.name for c in cases(Config())))
    p.add_argument("--dir", default=None, help="where to write (default: the temp dir)")
    p.add_argument("--json", default=None, help="also write the results here")
    p.add_argument("--markdown", default=None, help="also write the table here, in Markdown")
    p.add_argument("--from-json", default=None,
                   help="measure nothing: print (and --markdown) the results of a --json file")
    p.add_argument("--tf-python", default=None,
                   help="interpreter with tensorflow (default: this one, if it has it)")
    p.add_argument("--no-tf", action="store_true", help="skip TensorFlow")
    p.add_argument("--worker", choices=IMPLS, help=argparse.SUPPRESS)
    p.add_argument("--config", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        worker_main(args.worker, Config(**json.loads(args.config)))
        return
    if args.from_json:
        with open(args.from_json) as f:
            report = json.load(f)
        print_table(report)
        if args.markdown:
            with open(args.markdown, "w") as f:
                f.write(markdown_table(report))
        return
    if args.quick:
        args.mib, args.keys, args.strings, args.graph_mb = 64, 5000, 50_000, 2
        args.repeat = min(args.repeat, 2)
    load_before = _load()
    tf_py, tf_version = tf_python(args)
    pythons = {"ours": sys.executable, "ref": sys.executable}
    if tf_py:
        pythons["tf"] = tf_py
    work = tempfile.mkdtemp(prefix="bench-suite-", dir=args.dir)
    cfg = Config(mib=args.mib, keys=args.keys, strings=args.strings,
                 graph_mb=args.graph_mb, work=work)
    only = set(args.cases.split(",")) if args.cases else None
    try:
        done = measure(cfg, args.repeat, pythons, only,
                       lambda s: print(s, file=sys.stderr, flush=True))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report = {"machine": machine(tf_version, load_before), "repeat": args.repeat,
              "config": {k: v for k, v in cfg.__dict__.items() if k != "work"},
              "results": {c.name: summarize(c) for c in done}}
    print_table(report)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=2)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(markdown_table(report))


if __name__ == "__main__":
    main()
