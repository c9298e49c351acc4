"""Checkpoint read/write speed only: the tensor-bundle cases of the benchmark suite.

    python benchmarks/bench_bundle.py                 # 1 GiB: 64 float32 tensors of 16 MiB
    python benchmarks/bench_bundle.py --mib 256 --keys 20000 --json bundle.json

Runs ``bench_suite.py`` with ``--cases write,write_durable,read,mmap,list,lookup``; every
other option is passed on (see ``python benchmarks/bench_suite.py --help``).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_suite  # noqa: E402 - found through the line above

CASES = "write,write_durable,read,mmap,list,lookup"


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    if "--cases" not in args:
        args += ["--cases", CASES]
    bench_suite.main(args)


if __name__ == "__main__":
    main()
