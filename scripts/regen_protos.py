#!/usr/bin/env python
"""Regenerate ``src/savedmodel_io/protos/*_pb2.py`` (and ``.pyi`` stubs) from ``protos/*.proto``.

Usage::

    python scripts/regen_protos.py           # rewrite the generated files in the package
    python scripts/regen_protos.py --check   # exit 1 if the committed files are stale

Needs ``grpcio-tools`` (the ``dev`` extra); its bundled protoc must be ``EXPECTED_PROTOC`` so
that the output is byte-identical everywhere. Steps:

1. ``python -m grpc_tools.protoc -I protos --python_out=TMP --pyi_out=TMP`` on every
   ``protos/*.proto`` plus the well-known types we use (``google/protobuf/any.proto``,
   ``google/protobuf/wrappers.proto``, taken from grpc_tools' bundled copies).
2. Post-processing of each generated module:

   * imports of sibling modules become ``from savedmodel_io.protos import X_pb2 as ...``
     (the well-known types too: we ship our own ``any_pb2`` / ``wrappers_pb2``);
   * descriptors go into the private pool ``savedmodel_io.protos._pool.POOL`` instead of
     protobuf's default pool, so TensorFlow's own ``tensorflow.*`` descriptors never clash
     with ours;
   * generated classes get ``__module__ = "savedmodel_io.protos.X_pb2"``;
   * protobuf's global symbol database is not touched;
   * in the ``.pyi`` stubs, bare ``Mapping`` gets type arguments (mypy --strict).
3. Files are written to ``src/savedmodel_io/protos/`` (stale ``*_pb2.py[i]`` are removed), or
   compared with it in ``--check`` mode.
"""

from __future__ import annotations

import argparse
import difflib
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROTO_DIR = ROOT / "protos"
OUT_DIR = ROOT / "src" / "savedmodel_io" / "protos"
PACKAGE = "savedmodel_io.protos"
EXPECTED_PROTOC = "libprotoc 35.1"  # grpcio-tools 1.85.x
WELL_KNOWN = ("google/protobuf/any.proto", "google/protobuf/wrappers.proto")
HEADER = "# Post-processed by scripts/regen_protos.py: private descriptor pool, package imports.\n"


def _protoc_version() -> str:
    proc = subprocess.run(
        [sys.executable, "-m", "grpc_tools.protoc", "--version"],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise SystemExit(
            "regen_protos: grpc_tools is not importable by "
            f"{sys.executable} (install the 'dev' extra): {proc.stderr.strip()}"
        )
    return proc.stdout.strip()


def _module_names() -> list[str]:
    names = [p.stem + "_pb2" for p in sorted(PROTO_DIR.glob("*.proto"))]
    names += [Path(w).stem + "_pb2" for w in WELL_KNOWN]
    return sorted(names)


def _fix_imports(text: str, modules: set[str]) -> str:
    def repl_plain(m: re.Match[str]) -> str:
        mod, alias = m.group(1), m.group(2)
        if mod not in modules:
            raise SystemExit(f"regen_protos: unexpected import of {mod}")
        return f"from {PACKAGE} import {mod} as {alias}"

    text = re.sub(r"^import (\w+_pb2) as (\w+)$", repl_plain, text, flags=re.M)

    def repl_google(m: re.Match[str]) -> str:
        mod, alias = m.group(1), m.group(2)
        if mod in modules:
            return f"from {PACKAGE} import {mod} as {alias}"
        return m.group(0)

    return re.sub(
        r"^from google\.protobuf import (\w+_pb2) as (\w+)$", repl_google, text, flags=re.M
    )


def _postprocess_py(text: str, module: str, modules: set[str]) -> str:
    text = _fix_imports(text, modules)
    old_pool = "_descriptor_pool.Default().AddSerializedFile("
    if text.count(old_pool) != 1:
        raise SystemExit(f"regen_protos: {module}: default-pool registration not found")
    text = text.replace(old_pool, "_POOL.AddSerializedFile(")
    text = text.replace(
        "from google.protobuf import descriptor_pool as _descriptor_pool\n",
        f"from {PACKAGE}._pool import POOL as _POOL\n",
    )
    text, n = re.subn(
        r"_builder\.BuildTopDescriptorsAndMessages\(DESCRIPTOR, '[\w.]+', _globals\)",
        f"_builder.BuildTopDescriptorsAndMessages(DESCRIPTOR, '{PACKAGE}.{module}', _globals)",
        text,
    )
    if n != 1:
        raise SystemExit(f"regen_protos: {module}: BuildTopDescriptorsAndMessages not found")
    # The symbol database is protobuf's global registry; our classes stay out of it.
    text = text.replace("from google.protobuf import symbol_database as _symbol_database\n", "")
    text = text.replace("_sym_db = _symbol_database.Default()\n", "")
    if "_descriptor_pool" in text or "_sym_db" in text:
        raise SystemExit(f"regen_protos: {module}: leftover default-pool reference")
    lines = text.splitlines(keepends=True)
    # Keep protoc's header comment, then say what we changed.
    i = 0
    while i < len(lines) and lines[i].startswith("#"):
        i += 1
    return "".join(lines[:i]) + HEADER + "".join(lines[i:])


def _postprocess_pyi(text: str, module: str, modules: set[str]) -> str:
    text = _fix_imports(text, modules)
    # protoc writes a bare ``Mapping`` for dict-style message arguments; mypy --strict
    # wants type arguments.
    if "_Mapping]" in text:
        if re.search(r"\b_Any\b", text):
            raise SystemExit(f"regen_protos: {module}.pyi already uses the name _Any")
        text = text.replace("_Mapping]", "_Mapping[str, _Any]]")
        text = "from typing import Any as _Any\n" + text
    return HEADER + text


def generate(dest: Path) -> None:
    """Run protoc and post-processing; write the final files flat into ``dest``."""
    version = _protoc_version()
    if version != EXPECTED_PROTOC:
        raise SystemExit(
            f"regen_protos: need {EXPECTED_PROTOC} (grpcio-tools 1.85.x), found {version!r}; "
            "other protoc versions emit different code"
        )
    protos = [p.name for p in sorted(PROTO_DIR.glob("*.proto"))]
    modules = set(_module_names())
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp)
        cmd = [
            sys.executable,
            "-m",
            "grpc_tools.protoc",
            f"-I{PROTO_DIR}",
            f"--python_out={raw}",
            f"--pyi_out={raw}",
            *protos,
            *WELL_KNOWN,
        ]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode != 0 or proc.stderr.strip():
            raise SystemExit(f"regen_protos: protoc failed:\n{proc.stderr}")
        for path in sorted(raw.rglob("*_pb2.py*")):
            module = path.name.split(".")[0]
            text = path.read_text(encoding="utf-8")
            if path.suffix == ".py":
                out = _postprocess_py(text, module, modules)
            else:
                out = _postprocess_pyi(text, module, modules)
            (dest / path.name).write_text(out, encoding="utf-8", newline="\n")


def _generated_files(directory: Path) -> dict[str, str]:
    return {
        p.name: p.read_text(encoding="utf-8")
        for p in sorted(directory.glob("*_pb2.py*"))
        if p.suffix in (".py", ".pyi")
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--check",
        action="store_true",
        help="regenerate into a temporary directory and fail if the committed files differ",
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        fresh_dir = Path(tmp)
        generate(fresh_dir)
        fresh = _generated_files(fresh_dir)
        current = _generated_files(OUT_DIR)
        if args.check:
            problems = []
            for name in sorted(fresh.keys() | current.keys()):
                if name not in current:
                    problems.append(f"missing: {name}")
                elif name not in fresh:
                    problems.append(f"stale (no .proto generates it): {name}")
                elif fresh[name] != current[name]:
                    diff = difflib.unified_diff(
                        current[name].splitlines(),
                        fresh[name].splitlines(),
                        f"committed/{name}",
                        f"regenerated/{name}",
                        lineterm="",
                        n=1,
                    )
                    problems.append(f"differs: {name}\n" + "\n".join(list(diff)[:40]))
            if problems:
                print(
                    "Generated protos are out of date; run scripts/regen_protos.py", file=sys.stderr
                )
                print("\n".join(problems), file=sys.stderr)
                return 1
            print(f"OK: {len(fresh)} generated files up to date")
            return 0
        OUT_DIR.mkdir(parents=True, exist_ok=True)
        for name in sorted(current.keys() - fresh.keys()):
            (OUT_DIR / name).unlink()
        for name, text in fresh.items():
            if current.get(name) != text:
                (OUT_DIR / name).write_text(text, encoding="utf-8", newline="\n")
        print(f"wrote {len(fresh)} files to {OUT_DIR.relative_to(ROOT)}")
        return 0


if __name__ == "__main__":
    sys.exit(main())
