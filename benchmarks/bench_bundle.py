"""Checkpoint read/write speed against TensorFlow and against plain numpy file I/O.

    python benchmarks/bench_bundle.py                 # 1 GiB: 64 float32 tensors of 16 MiB
    python benchmarks/bench_bundle.py --mib 256 --keys 20000

Every case is measured in this one run (median of --repeat runs) and printed as a table of
seconds and ratios; the table is also written as JSON (--json). TensorFlow's numbers appear
when ``import tensorflow`` works in this environment. The hardware reference is numpy
``tofile`` + crc32c (write) and ``readinto`` + crc32c (read) of the same bytes.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from typing import Any

import crc32c
import numpy as np

import savedmodel_io
from savedmodel_io.format.bundle_reader import BundleReader


def median_time(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def make_tensors(total_mib: int, count: int) -> dict[str, np.ndarray]:
    per = total_mib * (1 << 20) // count // 4
    rng = np.random.default_rng(0)
    return {f"layer_{i:03d}/kernel": rng.standard_normal(per, dtype=np.float32)
            for i in range(count)}


def numpy_write(tensors: dict[str, np.ndarray], path: str) -> None:
    with open(path, "wb") as f:
        for v in tensors.values():
            crc32c.crc32c(v)
            v.tofile(f)
        f.flush()
        os.fsync(f.fileno())


def numpy_read(tensors: dict[str, np.ndarray], path: str) -> None:
    with open(path, "rb", buffering=0) as f:
        for v in tensors.values():
            out = np.empty_like(v)
            f.readinto(memoryview(out).cast("B"))
            crc32c.crc32c(out)


def ours_write(tensors: dict[str, np.ndarray], prefix: str) -> None:
    savedmodel_io.save_checkpoint(tensors, prefix)


def ours_read(prefix: str) -> None:
    with savedmodel_io.load_checkpoint(prefix) as r:
        for k in r:
            r[k]


def ours_mmap_touch(prefix: str, key: str) -> None:
    with BundleReader(prefix, mmap=True, verify_checksums=False) as r:
        r.read(key)[0]


def run(args: argparse.Namespace) -> dict[str, Any]:
    tf: Any = None
    if not args.no_tf:
        try:
            import tensorflow as tf_module

            tf = tf_module
        except ImportError:
            tf = None
    work = tempfile.mkdtemp(prefix="bench-bundle-", dir=args.dir)
    results: dict[str, dict[str, float]] = {}
    try:
        tensors = make_tensors(args.mib, args.tensors)
        raw = os.path.join(work, "raw.bin")
        ours = os.path.join(work, "ours", "model")
        os.mkdir(os.path.dirname(ours))

        def case(name: str, **times: float) -> None:
            results[name] = times

        w_np = median_time(lambda: numpy_write(tensors, raw), args.repeat)
        w_ours = median_time(lambda: ours_write(tensors, ours), args.repeat)
        r_np = median_time(lambda: numpy_read(tensors, raw), args.repeat)
        r_ours = median_time(lambda: ours_read(ours), args.repeat)
        first = next(iter(tensors))
        mm = median_time(lambda: ours_mmap_touch(ours, first), args.repeat)
        w_tf = r_tf = None
        if tf is not None:
            tfp = os.path.join(work, "tf", "model")
            names = list(tensors)
            tf_values = [tf.constant(v) for v in tensors.values()]

            def tf_write() -> None:
                tf.raw_ops.SaveV2(prefix=tfp, tensor_names=names,
                                  shape_and_slices=[""] * len(names), tensors=tf_values)

            def tf_read() -> None:
                reader = tf.train.load_checkpoint(tfp)
                for k in names:
                    reader.get_tensor(k)

            w_tf = median_time(tf_write, args.repeat)
            r_tf = median_time(tf_read, args.repeat)
        case("write", ours=w_ours, numpy=w_np, **({"tf": w_tf} if w_tf else {}))
        case("read (checksums verified)", ours=r_ours, numpy=r_np,
             **({"tf": r_tf} if r_tf else {}))
        case("mmap open + touch one tensor", ours=mm)

        # An index of many small tensors: open + list, then random lookups.
        small = {f"scope_{i // 1000}/var_{i:06d}": np.float32(i) for i in range(args.keys)}
        sp = os.path.join(work, "small", "model")
        os.mkdir(os.path.dirname(sp))
        savedmodel_io.save_checkpoint(small, sp)
        keys = random.Random(0).sample(list(small), min(1000, len(small)))

        def ours_list() -> None:
            with savedmodel_io.load_checkpoint(sp) as r:
                r.get_variable_to_shape_map()

        def ours_lookup() -> None:
            with BundleReader(sp) as r:
                for k in keys:
                    r.read(k)

        times = {"ours": median_time(ours_list, args.repeat)}
        lookups = {"ours": median_time(ours_lookup, args.repeat)}
        if tf is not None:
            def tf_list() -> None:
                tf.train.load_checkpoint(sp).get_variable_to_shape_map()

            def tf_lookup() -> None:
                reader = tf.train.load_checkpoint(sp)
                for k in keys:
                    reader.get_tensor(k)

            times["tf"] = median_time(tf_list, args.repeat)
            lookups["tf"] = median_time(tf_lookup, args.repeat)
        case(f"open + list {args.keys} keys", **times)
        case(f"open + {len(keys)} random lookups", **lookups)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return {
        "machine": f"{platform.machine()} {os.cpu_count()} cpus, {platform.platform()}",
        "python": platform.python_version(),
        "tensorflow": getattr(tf, "__version__", None),
        "data_mib": args.mib,
        "results": results,
    }


def print_table(report: dict[str, Any]) -> None:
    print(f"# {report['machine']}; python {report['python']}; "
          f"tensorflow {report['tensorflow']}; {report['data_mib']} MiB of data")
    print(f"{'case':38} {'ours s':>9} {'tf s':>9} {'numpy s':>9} {'ours/tf':>8} "
          f"{'ours/numpy':>10}")
    for name, t in report["results"].items():
        ours, tfs, nps = t.get("ours"), t.get("tf"), t.get("numpy")

        def fmt(x: float | None) -> str:
            return f"{x:9.4f}" if x is not None else f"{'-':>9}"

        ratio_tf = f"{ours / tfs:8.2f}" if ours and tfs else f"{'-':>8}"
        ratio_np = f"{ours / nps:10.2f}" if ours and nps else f"{'-':>10}"
        print(f"{name:38} {fmt(ours)} {fmt(tfs)} {fmt(nps)} {ratio_tf} {ratio_np}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--mib", type=int, default=1024, help="checkpoint size (default 1024)")
    p.add_argument("--tensors", type=int, default=64)
    p.add_argument("--keys", type=int, default=100_000, help="keys in the small-tensor index")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--dir", default=None, help="where to write (default: the temp dir)")
    p.add_argument("--json", default=None, help="also write the results here")
    p.add_argument("--no-tf", action="store_true", help="skip TensorFlow even if installed")
    args = p.parse_args()
    report = run(args)
    print_table(report)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=2)


if __name__ == "__main__":
    main()
