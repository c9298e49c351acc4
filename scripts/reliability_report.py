"""Compute the figures of docs/reliability.md: fuzzing, known attacks, exhaustive
corruption, SIGKILL trials, full disk, hostile models.

    python scripts/reliability_report.py                 # CI-sized (a few minutes)
    python scripts/reliability_report.py --long          # the long run (about an hour)
    python scripts/reliability_report.py --only kills,corruption --json figures.json

Prints a Markdown summary (``--markdown`` writes it to a file too); ``--json`` keeps every
count. Exit status 1 when any violation was found (a failing check is a finding, reported
with the others, not a crash of this script).
"""

from __future__ import annotations

import argparse
import json
import random
import re
import shutil
import sys
import tempfile
import time
import traceback
from collections import Counter
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "src"))

from tests.fuzz import attacks as A  # noqa: E402
from tests.fuzz import corruption as C  # noqa: E402
from tests.fuzz import fuzzlib as F  # noqa: E402

SECTIONS = ["fuzz", "attacks", "corruption", "kills", "fulldisk", "hostile"]
CI_FUZZ = {"table": 200, "state_file": 200, "v1": 200, "bundle": 200,
           "bundle_unverified": 150, "saved_model": 150, "saved_model_text": 15,
           "cli_input_strings": 200, "cli_input_files": 150}
LONG_FUZZ = {k: (1_000 if k == "saved_model_text" else 10_000) for k in CI_FUZZ}
KILL_APIS = ["saver", "saver_sharded", "checkpoint", "manager", "builder"]


def fuzz(long: bool, seed: int) -> dict[str, Any]:
    workdir = F.scratch_dir()
    out: dict[str, Any] = {}
    try:
        for kind, n in (LONG_FUZZ if long else CI_FUZZ).items():
            stats = F.Stats()
            start = time.monotonic()
            counts = F.campaign(kind, n, random.Random(f"{seed}:{kind}"), workdir,
                                on_outcome=stats)
            failures = Counter(o.failure.split(" for ")[0][:120]
                               for _, _, o in stats.failures if o.failure)
            out[kind] = {"inputs": n, "outcomes": dict(counts),
                         "failures": dict(failures.most_common(8)),
                         "slowest_s": round(stats.slowest, 3),
                         "max_peak_over_input": round(stats.max_peak_over_input, 1),
                         "seconds": round(time.monotonic() - start, 1)}
            print(f"fuzz {kind}: {out[kind]}", file=sys.stderr, flush=True)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return out


def attacks() -> dict[str, Any]:
    workdir = F.scratch_dir()
    out: dict[str, Any] = {}
    try:
        for a in A.attacks():
            o = F.run_bounded(F.TARGETS[a.target], a.files, workdir)
            want = a.error.__name__ if a.error else "ok"
            refused = o.failure is None and o.kind == want and bool(
                re.search(a.match, o.message))
            out[a.name] = {"expected": want, "got": o.kind, "as_expected": refused,
                           "failure": o.failure, "message": o.message[:200]}
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return out


def corruption(long: bool) -> dict[str, Any]:
    names = None if long else ["bundle_all_dtypes", "bundle_variant", "v1_unsharded",
                               "sm_simple_save"]
    values = C.VALUES_LONG if long else C.VALUES_CI
    out: dict[str, Any] = {}
    for r in C.run_sweeps(names, values, rotate=not long):
        out[r.name] = {"trials": r.trials, "outcomes": dict(r.counts.most_common()),
                       "by_file": {f: dict(c.most_common()) for f, c in r.by_file.items()},
                       "violations": r.violations[:20], "seconds": round(r.seconds, 1)}
        print(f"corruption {r.name}: {r.trials} trials, {len(r.violations)} violations",
              file=sys.stderr, flush=True)
    return out


def kills(long: bool, seed: int) -> dict[str, Any]:
    from tests.reliability.killtrials import KillRig
    from tests.reliability.scenarios import fresh

    total = 1000 if long else 100
    out: dict[str, Any] = {}
    for api in KILL_APIS:
        d = tempfile.mkdtemp(prefix=f"smio-kills-{api}-")
        rig = KillRig(fresh(api), d, max_leftovers=None)
        error = None
        try:
            for _ in range(4):
                rig.save_once()
            rig.measure()
            for _ in range(3 if long else 1):
                rig.boundary_kills()
            rig.random_kills(max(0, total - rig.tally.kills),
                             random.Random(f"{seed}:{api}"))
            rig.save_once()
            rig.check("a clean save")
        except AssertionError as e:
            error = str(e)[:400]
        finally:
            rig.close()
        from tests.reliability.scenarios import leftovers

        left = leftovers(d)
        t = rig.tally
        out[api] = {"kills": t.kills, "boundary_points": t.boundary_points,
                    "completed_saves": t.completed_saves, "last_step": t.last_step,
                    "max_leftovers": t.max_leftovers,
                    "leftovers_after_clean_save": left, "violation": error,
                    "save_seconds": round(t.save_seconds, 3), "seconds": round(t.seconds, 1)}
        print(f"kills {api}: {out[api]}", file=sys.stderr, flush=True)
        shutil.rmtree(d, ignore_errors=True)
    return out


def fulldisk() -> dict[str, Any]:
    sys.path.insert(0, str(REPO / "tests" / "reliability"))
    from tests.reliability import test_full_disk as T

    out: dict[str, Any] = {}
    for api, how in T.CASES:
        try:
            results = T.run_child(api, how)
        except BaseException as e:  # a pytest skip when user namespaces are off
            out[f"{api}/{how}"] = {"skipped": repr(e)[:200]}
            continue
        fails = [r for r in results if r["outcome"] != "ok"]
        out[f"{api}/{how}"] = {
            "attempts": len(results), "failed_saves": len(fails),
            "previous_intact": sum(r["intact"] for r in results),
            "left_files": sum(bool(r["temps"] or r["litter"]) for r in results),
            "errors": dict(Counter(r["outcome"] for r in fails)),
            "clear": sum(r["outcome"] == "ResourceExhaustedError" and bool(r.get("names_file"))
                         for r in fails)}
    return out


def hostile() -> dict[str, Any]:
    from tests.reliability import hostile as H

    workdir = F.scratch_dir()
    out: dict[str, Any] = {}
    try:
        for case in H.cases():
            o = F.run_bounded(lambda files, d, c=case: c.run(d), {"size": bytes(256 << 10)},
                              workdir, seconds=case.seconds)
            if case.errors:
                ok = o.failure is None and isinstance(o.error, case.errors) and \
                    case.match in o.message
            else:
                ok = o.failure is None and o.ok
            out[case.name] = {"group": case.group, "handled": ok, "got": o.kind,
                              "failure": o.failure, "message": o.message[:200]}
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return out


# ----------------------------------------------------------------- markdown


def markdown(r: dict[str, Any]) -> str:
    lines = [f"Run: {r['when']}, {'long' if r['long'] else 'CI-sized'}, seed {r['seed']}, "
             f"{r['seconds']:.0f} s", ""]
    if "fuzz" in r:
        lines += ["| fuzz target | inputs | ok | our errors | failures | slowest | "
                  "max peak / input |", "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
        for k, v in r["fuzz"].items():
            oc = v["outcomes"]
            ours = sum(n for kind, n in oc.items() if kind not in ("ok", "FAILURE"))
            lines.append(f"| {k} | {v['inputs']} | {oc.get('ok', 0)} | {ours} | "
                         f"{oc.get('FAILURE', 0)} | {v['slowest_s']} s | "
                         f"{v['max_peak_over_input']} |")
        lines.append("")
    if "attacks" in r:
        good = sum(v["as_expected"] for v in r["attacks"].values())
        lines += [f"Known attacks: {good} of {len(r['attacks'])} end as expected.", ""]
        lines += [f"- not as expected: {k}: {v['got']} {v['failure'] or ''}"
                  for k, v in r["attacks"].items() if not v["as_expected"]]
        lines.append("")
    if "corruption" in r:
        lines += ["| corrupted subject | trials | outcomes | violations |",
                  "| --- | ---: | --- | ---: |"]
        for k, v in r["corruption"].items():
            oc = ", ".join(f"{n} {kind}" for kind, n in v["outcomes"].items())
            lines.append(f"| {k} | {v['trials']} | {oc} | {len(v['violations'])} |")
        lines += ["", "| corrupted file | outcomes |", "| --- | --- |"]
        for k, v in r["corruption"].items():
            for f, oc in v.get("by_file", {}).items():
                text = ", ".join(f"{n} {kind}" for kind, n in oc.items())
                lines.append(f"| {k}/{f} | {text} |")
        lines.append("")
    if "kills" in r:
        lines += ["| saver killed | SIGKILLs | of them at file operations | checkpoints "
                  "completed | max leftovers | left after a clean save | violation |",
                  "| --- | ---: | ---: | ---: | ---: | ---: | --- |"]
        for k, v in r["kills"].items():
            lines.append(f"| {k} | {v['kills']} | {v['boundary_points']} | "
                         f"{v.get('last_step', '?')} | {v['max_leftovers']} | "
                         f"{len(v['leftovers_after_clean_save'])} | "
                         f"{v['violation'] or 'none'} |")
        lines.append("")
    if "fulldisk" in r:
        lines += ["| full disk | attempts | failed saves | previous intact | files left | "
                  "clear errors | errors |", "| --- | ---: | ---: | ---: | ---: | ---: | --- |"]
        for k, v in r["fulldisk"].items():
            if "skipped" in v:
                lines.append(f"| {k} | skipped | | | | | |")
                continue
            lines.append(f"| {k} | {v['attempts']} | {v['failed_saves']} | "
                         f"{v['previous_intact']} | {v['left_files']} | {v['clear']} | "
                         f"{v['errors']} |")
        lines.append("")
    if "hostile" in r:
        groups: dict[str, list[bool]] = {}
        for v in r["hostile"].values():
            groups.setdefault(v["group"], []).append(v["handled"])
        lines += ["| hostile cases | handled | of |", "| --- | ---: | ---: |"]
        lines += [f"| {g} | {sum(v)} | {len(v)} |" for g, v in groups.items()]
        lines += [""] + [f"- not handled: {k}: {v['failure'] or v['got']}"
                         for k, v in r["hostile"].items() if not v["handled"]]
    return "\n".join(lines) + "\n"


def violations(r: dict[str, Any]) -> int:
    n = 0
    n += sum(v["outcomes"].get("FAILURE", 0) for v in r.get("fuzz", {}).values())
    n += sum(not v["as_expected"] for v in r.get("attacks", {}).values())
    n += sum(len(v["violations"]) for v in r.get("corruption", {}).values())
    n += sum(v["violation"] is not None for v in r.get("kills", {}).values())
    n += sum(not v["handled"] for v in r.get("hostile", {}).values())
    return n


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--long", action="store_true", help="the long run (about an hour)")
    ap.add_argument("--only", default=",".join(SECTIONS), help=f"comma list of {SECTIONS}")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--markdown", type=Path)
    a = ap.parse_args()
    start = time.monotonic()
    result: dict[str, Any] = {"long": a.long, "seed": a.seed,
                              "when": time.strftime("%Y-%m-%d %H:%M"),
                              "python": sys.version.split()[0]}
    for section in a.only.split(","):
        try:
            if section == "fuzz":
                result[section] = fuzz(a.long, a.seed)
            elif section == "attacks":
                result[section] = attacks()
            elif section == "corruption":
                result[section] = corruption(a.long)
            elif section == "kills":
                result[section] = kills(a.long, a.seed)
            elif section == "fulldisk":
                result[section] = fulldisk()
            elif section == "hostile":
                result[section] = hostile()
            else:
                raise SystemExit(f"unknown section {section!r}")
        except Exception:  # noqa: BLE001 - report it with the rest
            result[section + "_crashed"] = traceback.format_exc()
            print(traceback.format_exc(), file=sys.stderr)
        if a.json:  # after every section: a run cut short keeps what it measured
            a.json.write_text(json.dumps(result, indent=1, default=str))
    result["seconds"] = time.monotonic() - start
    result["violations"] = violations(result)
    text = markdown(result)
    print(text)
    if a.markdown:
        a.markdown.write_text(text)
    if a.json:
        a.json.write_text(json.dumps(result, indent=1, default=str))
    return 1 if result["violations"] else 0


if __name__ == "__main__":
    sys.exit(main())
