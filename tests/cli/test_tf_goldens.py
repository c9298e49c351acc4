"""Our CLI against what TensorFlow 2.21's tools printed for the same files.

Three sources, all written by TensorFlow: the TF Serving corpus' ``_expected/`` (``show
--all``), ``tests/data/golden/expected`` (``show --all``, ``inspect_checkpoint``) and
``tests/data/golden/cli/manifest.json`` (every other flag combination, ``scan``, errors,
and models saved by TensorFlow for this purpose; see tests/data/make_cli_goldens.py).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from savedmodel_io.cli import main
from tests.cli.clitext import canonical, set_of
from tests.conftest import CORPUS, GOLDEN

CLI_MANIFEST = json.loads((GOLDEN / "cli" / "manifest.json").read_text(encoding="utf-8"))
OUTPUTS: dict[str, dict[str, Any]] = CLI_MANIFEST["outputs"]
GOLDEN_MANIFEST = json.loads((GOLDEN / "manifest.json").read_text(encoding="utf-8"))

# Where TensorFlow's reader gives up and prints the error instead of the rest: we go on.
TF_READER_FAILURES = ("Data type not supported", "Sliced checkpoints are not supported",
                      "Dtype string not supported")


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out = capsys.readouterr()
    return code, out.out, out.err


def _paths(argv: list[str]) -> list[str]:
    roots = {"{cli}": str(GOLDEN / "cli"), "{golden}": str(GOLDEN), "{corpus}": str(CORPUS)}
    out = []
    for a in argv:
        for token, root in roots.items():
            a = a.replace(token, root)
        out.append(a)
    return out


def _needs_corpus(entry: dict[str, Any]) -> bool:
    return any("{corpus}" in a for a in entry["argv"])


# ------------------------------------------------------------------ show --all files


CORPUS_EXPECTED = sorted(p.name for p in (CORPUS / "_expected").glob("*.show-all.txt")) \
    if CORPUS.is_dir() else []


@pytest.mark.parametrize("name", CORPUS_EXPECTED)
def test_corpus_show_all(name: str, corpus: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder, version = name[: -len(".show-all.txt")].split("__")
    code, out, err = run(["show", "--dir", str(corpus / folder / version), "--all"], capsys)
    assert (code, err) == (0, "")
    assert canonical(out) == canonical((corpus / "_expected" / name).read_text())


GOLDEN_EXPECTED = sorted(GOLDEN_MANIFEST["expected_outputs"])


@pytest.mark.parametrize("name", GOLDEN_EXPECTED)
def test_golden_expected(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    spec = GOLDEN_MANIFEST["expected_outputs"][name]
    command = spec["command"]
    if command[0] == "saved_model_cli":
        argv = command[1:]
    else:  # python -m tensorflow.python.tools.inspect_checkpoint ...
        argv = ["inspect", *command[3:]]
    argv = [a.replace("--dir", "--dir") for a in argv]
    # Paths in the commands are relative to golden/ (their cwd).
    fixed = []
    for a in argv:
        if a.startswith("--file_name="):
            a = "--file_name=" + str(GOLDEN / a.split("=", 1)[1])
        elif fixed and fixed[-1] == "--dir":
            a = str(GOLDEN / a)
        fixed.append(a)
    expected = (GOLDEN / spec["stdout_file"]).read_text(encoding="utf-8")
    code, out, err = run(fixed, capsys)
    assert (code, err) == (0, "")
    _assert_same(out, expected)


def _assert_same(ours: str, tf: str) -> None:
    theirs = canonical(tf)
    mine = canonical(ours)
    failure = next((i for i, line in enumerate(theirs) if line.startswith(TF_READER_FAILURES)),
                   None)
    if failure is None:
        assert mine == theirs
        return
    # TensorFlow stopped at a tensor its reader cannot read; we printed it and went on.
    assert mine[:failure] == theirs[:failure]
    assert len(mine) > failure + 1


# ------------------------------------------------------------------ the CLI manifest


@pytest.mark.parametrize("name", sorted(OUTPUTS))
def test_cli_manifest(name: str, request: pytest.FixtureRequest,
                      capsys: pytest.CaptureFixture[str]) -> None:
    entry = OUTPUTS[name]
    if _needs_corpus(entry):
        request.getfixturevalue("corpus")
    tool = entry["tool"]
    command = {"saved_model_cli show": ["show"], "saved_model_cli scan": ["scan"],
               "inspect_checkpoint": ["inspect"]}[tool]
    code, out, err = run([*command, *_paths(entry["argv"])], capsys)
    if entry["returncode"]:
        _assert_same_error(entry, code, out, err)
    elif tool == "saved_model_cli scan":
        _assert_scan_covers(out, entry["stdout"])
    elif entry["stdout"].startswith("Tensor ") and "not found in checkpoint" in entry["stdout"]:
        # TensorFlow's line, but a failure status (TensorFlow exits 0).
        assert (code, out, err) == (1, entry["stdout"], "")
    else:
        assert (code, err) == (0, "")
        _assert_same(out, entry["stdout"])


def _assert_same_error(entry: dict[str, Any], code: int, out: str, err: str) -> None:
    assert code == 1 and err.count("\n") == 1 and "Traceback" not in err
    assert canonical(out) == canonical(entry["stdout"])
    tf_message = entry["error"]
    # The lists of valid tag-sets and keys come in set/map order in TensorFlow's message.
    head = tf_message.split("Please")[0]
    assert head.strip() in err
    if "choose from:" in tf_message:
        keys = {k.strip() for k in tf_message.split("choose from:")[1].split(",")}
        assert {k.strip() for k in err.split("choose from:")[1].split(",")} == keys


def _assert_scan_covers(ours: str, tf: str) -> None:
    """Our scan prints TensorFlow's line for each MetaGraphDef (finding at least what it
    finds), then indented locations and the runtime line."""
    tf_lines = [ln for ln in tf.splitlines() if ln]
    mine = [ln for ln in ours.splitlines()
            if ln and not ln.startswith("  ") and "run here" not in ln]
    assert len(mine) == len(tf_lines)
    for m, t in zip(mine, tf_lines, strict=True):
        if "does not contain" in t:
            assert "does not contain" in m and set_of(m) == set_of(t)
            continue
        assert m.split(" contains")[0] == t.split(" contains")[0]
        assert set_of(m) >= set_of(t)


def test_tf2_scan_finds_what_tensorflow_misses(capsys: pytest.CaptureFixture[str]) -> None:
    entry = OUTPUTS["cli_tf2.scan.plain"]
    assert "WriteFile" not in entry["stdout"]  # TensorFlow does not look into While bodies
    code, out, _ = run(["scan", *_paths(entry["argv"])], capsys)
    assert code == 0
    first = out.splitlines()[0]
    assert set_of(first) == {"PrintV2", "WriteFile"}
    assert "  WriteFile: node 'while/WriteFile' in function 'while_body_" in out
    assert "TensorFlow's scan misses it" in out


def test_manifest_covers_every_kind_of_output() -> None:
    """The goldens hold what the tests above rely on (a regenerated manifest keeps it)."""
    names = set(OUTPUTS)
    assert {"cli_tf2.show.all", "cli_tf1.show.all", "cli_keras_export.show.all",
            "cli_keras_tfsave.show.all"} <= names
    assert any(n.startswith("corpus_") and ".show.tag_set" in n for n in names)
    assert any(".show.error." in n for n in names)
    assert sum(1 for e in OUTPUTS.values() if e["tool"] == "inspect_checkpoint") >= 50
    # The TF2 model has a function with traces whose load uids cross a power of ten, so
    # their printed order is not load order: the emulation of the uid counter matters.
    text = OUTPUTS["cli_tf2.show.all"]["stdout"]
    assert "Option #4" in text and "Named Argument #1" in text and "RaggedTensorSpec" in text
