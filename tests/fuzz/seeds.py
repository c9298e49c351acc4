"""Fuzzing seeds: real files TensorFlow wrote (tests/data/golden, the TF Serving corpus in
../shared/corpus/tf-serving), inputs as people type them, and the known attacks."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import numpy as np
from google.protobuf import text_format

from tests.fuzz.bounds import Files

REPO = Path(__file__).resolve().parents[2]
GOLDEN = REPO / "tests" / "data" / "golden"
CORPUS = REPO.parent / "shared" / "corpus" / "tf-serving"


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
