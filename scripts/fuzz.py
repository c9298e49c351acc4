"""Long fuzzing runs of the readers (the CI runs a bounded version: tests/fuzz/).

Random mutants of the seed files (goldens and the TF Serving corpus), each read under the
bounds of ``tests/fuzz/fuzzlib.py`` (only our errors, time, memory)::

    python scripts/fuzz.py                          # every target, 20,000 inputs each
    python scripts/fuzz.py --targets bundle,v1 --inputs 100000 --seed 7 --json out.json
    python scripts/fuzz.py --atheris bundle -- -max_total_time=3600   # needs `pip install atheris`
    python scripts/fuzz.py --replay crashes/bundle-1234.bin

Inputs that break a bound are written to ``--crashes`` (default ``fuzz-crashes/``) as
container files that ``--replay`` runs again. Exit status 1 if any input did.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "src"))

from tests.fuzz import fuzzlib as F  # noqa: E402

# ----------------------------------------------------------------- container format
# A fuzz input is several files; atheris and the crash files need it as one byte string:
# repeated (varint name length, name, varint data length, data), prefixed by the target.


def _varint(n: int) -> bytes:
    return F.varint(n)


def _read_varint(buf: bytes, pos: int) -> tuple[int, int]:
    n = shift = 0
    while pos < len(buf) and shift < 35:
        b = buf[pos]
        pos += 1
        n |= (b & 0x7F) << shift
        if b < 0x80:
            return n, pos
        shift += 7
    raise ValueError("bad varint")


def pack(kind: str, files: F.Files) -> bytes:
    out = bytearray(_varint(len(kind)) + kind.encode())
    for name, data in sorted(files.items()):
        raw = name.encode()
        out += _varint(len(raw)) + raw + _varint(len(data)) + data
    return bytes(out)


def unpack(blob: bytes) -> tuple[str, F.Files]:
    n, pos = _read_varint(blob, 0)
    kind = blob[pos:pos + n].decode()
    pos += n
    files: F.Files = {}
    while pos < len(blob) and len(files) < 16:
        n, pos = _read_varint(blob, pos)
        name = blob[pos:pos + n].decode("utf-8", "replace")
        pos += n
        n, pos = _read_varint(blob, pos)
        if name and ".." not in name and not name.startswith("/"):
            files[name] = blob[pos:pos + n]
        pos += n
    return kind, files


# ----------------------------------------------------------------- random campaign


def run_campaign(kinds: list[str], inputs: int, seed: int, crashes: Path,
                 check_memory: bool) -> dict[str, object]:
    workdir = F.scratch_dir()
    report: dict[str, object] = {"seed": seed, "inputs_per_target": inputs, "targets": {}}
    failed = 0
    for kind in kinds:
        seeds = F.fuzz_seeds(kind)
        stats = F.Stats()
        start = time.monotonic()
        counts = F.campaign(kind, inputs, random.Random(f"{seed}:{kind}"), workdir, seeds,
                            check_memory=check_memory, on_outcome=stats)
        took = time.monotonic() - start
        failures = []
        for i, (seed_name, files, out) in enumerate(stats.failures):
            crashes.mkdir(parents=True, exist_ok=True)
            path = crashes / f"{kind}-{i}-{seed}.bin"
            path.write_bytes(pack(kind, files))
            failures.append(f"{seed_name}: {out.failure} -> {path}")
        failed += len(failures)
        report["targets"][kind] = {  # type: ignore[index]
            "seeds": len(seeds), "inputs": inputs, "outcomes": counts,
            "seconds": round(took, 1), "slowest_input_s": round(stats.slowest, 3),
            "max_peak_over_input": round(stats.max_peak_over_input, 1),
            "failures": failures}
        print(f"{kind:18s} {inputs:7d} inputs {took:7.1f} s  {counts}"
              + (f"  FAILURES: {len(failures)}" if failures else ""), flush=True)
        for f in failures[:10]:
            print("   ", f)
    report["failures"] = failed
    return report


# ----------------------------------------------------------------- atheris


def run_atheris(kind: str, argv: list[str]) -> None:
    import atheris  # optional: pip install atheris

    seeds = F.fuzz_seeds(kind)
    pool = F.seed_pool(seeds)
    names = sorted(seeds)
    workdir = F.scratch_dir()
    corpus = Path(workdir.parent / (workdir.name + "-corpus"))
    corpus.mkdir()
    for i, name in enumerate(names):
        (corpus / f"seed{i}").write_bytes(pack(kind, seeds[name]))
    target = F.TARGETS[kind]

    def one_input(blob: bytes) -> None:
        try:
            _, files = unpack(blob)
        except (ValueError, UnicodeDecodeError):
            return
        if not files:
            return
        out = F.run_bounded(target, files, workdir)
        if out.failure:
            raise RuntimeError(out.failure)

    def mutator(blob: bytes, max_size: int, seed: int) -> bytes:
        rng = random.Random(seed)
        try:
            _, files = unpack(blob)
        except (ValueError, UnicodeDecodeError):
            files = {}
        if not files:
            files = seeds[names[rng.randrange(len(names))]]
        out = pack(kind, F.mutate(kind, files, F.random_mutator(rng, pool)))
        return out if len(out) <= max_size else blob[:max_size]

    atheris.instrument_all()
    atheris.Setup([sys.argv[0], str(corpus), *argv], one_input, custom_mutator=mutator)
    atheris.Fuzz()


# ----------------------------------------------------------------- main


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--targets", default="all", help=f"comma list of {sorted(F.TARGETS)}")
    ap.add_argument("--inputs", type=int, default=20000, help="inputs per target")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--no-memory-check", action="store_true",
                    help="skip tracemalloc (3-5x faster; RLIMIT_AS still applies)")
    ap.add_argument("--crashes", type=Path, default=Path("fuzz-crashes"))
    ap.add_argument("--json", type=Path, help="write the figures here")
    ap.add_argument("--atheris", metavar="TARGET", help="coverage-guided run of one target")
    ap.add_argument("--replay", type=Path, help="run one saved input again and explain")
    ap.add_argument("libfuzzer_args", nargs="*", help="after --: passed to atheris")
    a = ap.parse_args()
    if a.replay:
        kind, files = unpack(a.replay.read_bytes())
        out = F.run_bounded(F.TARGETS[kind], files, F.scratch_dir())
        print(kind, {k: len(v) for k, v in files.items()}, out.kind, out.failure or "",
              out.message)
        return 1 if out.failure else 0
    if a.atheris:
        run_atheris(a.atheris, a.libfuzzer_args)
        return 0
    kinds = sorted(F.TARGETS) if a.targets == "all" else a.targets.split(",")
    report = run_campaign(kinds, a.inputs, a.seed, a.crashes, not a.no_memory_check)
    if a.json:
        a.json.write_text(json.dumps(report, indent=1))
    return 1 if report["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
