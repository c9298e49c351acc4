"""Remote reads: bytes transferred and requests made, against downloading everything first.

Starts the test S3 server (moto's server mode, tests/remote/s3server.py) on 127.0.0.1,
uploads a checkpoint of ``--tensors`` tensors of ``--tensor-mib`` MiB each across
``--shards`` data files, then measures, as the server counts them: listing the variables,
reading one tensor, reading all tensors (``get_tensors``: neighbouring ranges merged, data
files in parallel), and the download-then-read-locally baseline. Needs the ``remote`` and
``remote-test`` extras::

    python benchmarks/bench_remote.py --tensors 64 --tensor-mib 4 --shards 4
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "remote"))
sys.path.insert(0, str(REPO / "src"))

from conftest import start_server, stop_server  # noqa: E402

import savedmodel_io  # noqa: E402
from savedmodel_io.format.bundle_merge import merge_bundles  # noqa: E402
from savedmodel_io.train.checkpoint_reader import (  # noqa: E402
    list_variables,
    load_checkpoint,
    load_variable,
)


def make_checkpoint(directory: Path, tensors: int, tensor_mib: int, shards: int) -> str:
    """A sharded checkpoint made as TensorFlow makes one: per-shard bundles, merged."""
    elems = (tensor_mib << 20) // 4
    parts = []
    per = -(-tensors // shards)
    for s in range(shards):
        part = str(directory / f"model_temp/part-{s:05d}-of-{shards:05d}")
        values = {f"layer{i:04d}/kernel": np.full(elems, i, np.float32)
                  for i in range(s * per, min(tensors, (s + 1) * per))}
        savedmodel_io.save_checkpoint(values, part)
        parts.append(part)
    prefix = str(directory / "model")
    merge_bundles(parts, prefix)
    return prefix


def measure(server: Any, what: str, fn: Any) -> dict[str, Any]:
    server.reset()
    t = time.perf_counter()
    fn()
    seconds = time.perf_counter() - t
    log = server.requests()
    return {"what": what, "requests": len(log), "bytes": sum(n for *_, n in log),
            "seconds": seconds}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tensors", type=int, default=64)
    ap.add_argument("--tensor-mib", type=int, default=4)
    ap.add_argument("--shards", type=int, default=4)
    args = ap.parse_args()
    import fsspec

    proc, server = start_server()
    try:
        fsspec.config.conf["s3"] = server.options()
        fs = server.filesystem()
        fs.mkdir("bench-bucket")
        with tempfile.TemporaryDirectory() as tmp:
            local = make_checkpoint(Path(tmp), args.tensors, args.tensor_mib, args.shards)
            files = sorted(Path(tmp).glob("model.*"))
            total = sum(f.stat().st_size for f in files)
            for f in files:
                fs.put_file(str(f), f"bench-bucket/ckpt/{f.name}")
            del local
        url = "s3://bench-bucket/ckpt/model"
        one = f"layer{args.tensors // 2:04d}/kernel"

        def read_all() -> None:
            with load_checkpoint(url) as r:
                r.get_tensors()

        def download_then_read() -> None:
            # The least a download can cost: list, then one GET per file.
            with tempfile.TemporaryDirectory() as d:
                for key in fs.ls("bench-bucket/ckpt", detail=False, refresh=True):
                    Path(d, key.rsplit("/", 1)[1]).write_bytes(fs.cat_file(key))
                with load_checkpoint(d + "/model") as r:
                    r.get_tensors()

        rows = [measure(server, "list variables", lambda: list_variables(url)),
                measure(server, "read one tensor", lambda: load_variable(url, one)),
                measure(server, "read all tensors", read_all),
                measure(server, "download all, then read", download_then_read)]
    finally:
        stop_server(proc)
    print(f"checkpoint: {args.tensors} tensors x {args.tensor_mib} MiB in {args.shards} "
          f"data files, {total / 2**20:.1f} MiB in all (S3 test server on 127.0.0.1)")
    print(f"{'operation':<26}{'requests':>9}{'MiB sent':>11}{'seconds':>9}")
    for r in rows:
        print(f"{r['what']:<26}{r['requests']:>9}{r['bytes'] / 2**20:>11.3f}"
              f"{r['seconds']:>9.2f}")


if __name__ == "__main__":
    main()
