"""The dispatcher: subcommand modules, help, exit statuses, one-line errors, --debug."""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import types
from pathlib import Path

import pytest

from savedmodel_io import cli
from savedmodel_io.cli import main
from tests.conftest import GOLDEN

SM = GOLDEN / "sm_tf1_builder"
CKPT = GOLDEN / "tf1_plain" / "model.ckpt-30"
COMMANDS = ["show", "scan", "inspect", "export-weights"]


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out = capsys.readouterr()
    return code, out.out, out.err


def assert_one_line_error(code: int, err: str, *words: str) -> None:
    assert code == 1
    assert err.count("\n") == 1 and err.endswith("\n"), err
    assert "Traceback" not in err
    assert err.startswith("savedmodel-cli ")
    for w in words:
        assert w in err, (w, err)


# ------------------------------------------------------------------ help


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_with_examples(command: str,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as e:
        main([command, "--help"])
    assert e.value.code == 0
    text = capsys.readouterr().out
    assert text.startswith(f"usage: savedmodel-cli {command}")
    examples = text.split("examples:\n", 1)[1].splitlines()
    assert examples and all(e.startswith(f"  savedmodel-cli {command} ") for e in examples)
    assert len(text.splitlines()) < 45  # short


def test_top_level_help_lists_commands(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run([], capsys)
    assert code == 0 and out.startswith("usage: savedmodel-cli")
    for command in COMMANDS:
        assert f"    {command}" in out
    assert "examples:" in out


def test_usage_error_is_one_line_status_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as e:
        main(["show"])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--dir" in err and "show --help" in err


# ------------------------------------------------------------------ bad input


def test_missing_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["show", "--dir", str(tmp_path / "nope"), "--all"], capsys)
    assert out == ""
    assert_one_line_error(code, err, "nope: no such directory")
    code, _, err = run(["show", "--dir", str(CKPT.parent)], capsys)  # not a SavedModel
    assert_one_line_error(code, err, "SavedModel file does not exist")


def test_unknown_tag_set_lists_the_tag_sets(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["show", "--dir", str(SM), "--tag_set", "train"], capsys)
    assert_one_line_error(code, err, "tag-set train could not be found",
                          "Please use one of the following tag-sets: ['serve', 'gpu,serve']")


def test_unknown_signature_lists_the_keys(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["show", "--dir", str(SM), "--tag_set", "serve", "--signature_def",
                        "nope"], capsys)
    assert_one_line_error(code, err, 'Could not find signature "nope"',
                          "classify, regress, serving_default")


def test_empty_tag_set_with_list_ops(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["show", "--dir", str(SM), "--tag_set", " , ", "--list_ops"], capsys)
    assert_one_line_error(code, err, "tag_set must contain at least one non-empty item")


def test_corrupt_saved_model(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "saved_model.pb").write_bytes(b"\xff\xff\xff not a proto")
    for command in (["show", "--dir", str(tmp_path), "--all"],
                    ["scan", "--dir", str(tmp_path)]):
        code, _, err = run(command, capsys)
        assert_one_line_error(code, err, "saved_model.pb", "cannot parse")


def test_unreadable_checkpoint(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for f in CKPT.parent.glob("model.ckpt-30.*"):
        shutil.copy(f, tmp_path / f.name)
    index = tmp_path / "model.ckpt-30.index"
    data = bytearray(index.read_bytes())
    data[len(data) // 3] ^= 0xFF
    index.write_bytes(bytes(data))
    code, out, err = run(["inspect", "--file_name", str(tmp_path / "model.ckpt-30")], capsys)
    assert out == ""
    assert_one_line_error(code, err, "model.ckpt-30.index")


def test_missing_checkpoint(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["inspect", "--file_name", str(tmp_path / "model")], capsys)
    assert_one_line_error(code, err, str(tmp_path / "model"))


def test_data_file_given_for_prefix_gets_a_hint(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["inspect", "--file_name", f"{CKPT}.data-00000-of-00001"], capsys)
    assert_one_line_error(code, err, f"try --file_name {CKPT}")


def test_bad_printoption_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as e:
        main(["inspect", "--file_name", str(CKPT), "--printoptions", "colour=3"])
    assert e.value.code == 2
    assert "'colour' is not a valid printoption." in capsys.readouterr().err


def test_existing_output_needs_overwrite(tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "w.npz"
    out.write_bytes(b"keep me")
    code, _, err = run(["export-weights", "--input", str(CKPT), "--output", str(out)], capsys)
    assert_one_line_error(code, err, "w.npz", "--overwrite")
    assert out.read_bytes() == b"keep me"
    code, _, err = run(["export-weights", "--input", str(CKPT), "--output", str(out),
                        "--overwrite"], capsys)
    assert code == 0 and out.read_bytes()[:2] == b"PK"


def test_debug_shows_the_traceback(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["--debug", "show", "--dir", str(tmp_path), "--all"],
                 ["show", "--dir", str(tmp_path), "--all", "--debug"]):
        code, _, err = run(argv, capsys)
        assert code == 1
        assert err.startswith("Traceback (most recent call last):")
        assert err.splitlines()[-1].startswith("savedmodel-cli show: error: ")


def test_error_and_status_from_a_real_process(tmp_path: Path) -> None:
    for prog in ([sys.executable, "-m", "savedmodel_io"],
                 [os.path.join(os.path.dirname(sys.executable), "savedmodel-cli")]):
        if not os.path.exists(prog[0]):
            continue
        p = subprocess.run([*prog, "inspect", "--file_name", str(tmp_path / "x")],
                           capture_output=True, text=True, check=False)
        assert p.returncode == 1 and p.stdout == ""
        assert p.stderr.count("\n") == 1 and "Traceback" not in p.stderr
        p = subprocess.run([*prog, "--debug", "inspect", "--file_name", str(tmp_path / "x")],
                           capture_output=True, text=True, check=False)
        assert p.returncode == 1 and "Traceback" in p.stderr


def test_same_output_from_module_and_function(capsys: pytest.CaptureFixture[str]) -> None:
    p = subprocess.run([sys.executable, "-m", "savedmodel_io", "inspect", "--file_name",
                        str(CKPT)], capture_output=True, text=True, check=True)
    code, out, _ = run(["inspect", "--file_name", str(CKPT)], capsys)
    assert code == 0 and out == p.stdout


def test_closed_pipe_is_quiet(tmp_path: Path) -> None:
    many = str(GOLDEN / "bundle_many_keys" / "ckpt")
    code = ("import sys; from savedmodel_io.cli import main; "
            f"sys.exit(main(['inspect', '--file_name', {many!r}]))")
    p = subprocess.run(f"{sys.executable} -c \"{code}\" | head -1", shell=True,
                       capture_output=True, text=True, check=False)
    assert p.stdout.count("\n") == 1
    assert "Traceback" not in p.stderr and "BrokenPipe" not in p.stderr


# ------------------------------------------------------------------ subcommand modules


def _fake_module(name: str, calls: list[argparse.Namespace]) -> types.ModuleType:
    module = types.ModuleType(f"savedmodel_io.cli.{name}")

    def add_parser(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
        p = subparsers.add_parser(name.replace("_", "-"), help="a test command")
        p.add_argument("--status", type=int, default=0)

    def main(args: argparse.Namespace) -> int:
        calls.append(args)
        if args.status < 0:
            raise ValueError("asked to fail")
        return int(args.status)

    module.add_parser = add_parser  # type: ignore[attr-defined]
    module.main = main  # type: ignore[attr-defined]
    return module


def test_modules_plug_in_with_add_parser_and_main(monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    calls: list[argparse.Namespace] = []
    monkeypatch.setitem(sys.modules, "savedmodel_io.cli.fake_cmd", _fake_module("fake_cmd",
                                                                                 calls))
    monkeypatch.setattr(cli, "SUBCOMMANDS", (*cli.SUBCOMMANDS, "fake_cmd"))
    assert main(["fake-cmd", "--status", "3"]) == 3
    assert calls[-1].status == 3
    code, _, err = run(["fake-cmd", "--status", "-1"], capsys)
    assert_one_line_error(code, err, "fake-cmd: error: ValueError: asked to fail")


def test_missing_module_is_skipped(monkeypatch: pytest.MonkeyPatch,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(cli, "SUBCOMMANDS", ("show", "does_not_exist"))
    code, out, _ = run([], capsys)
    assert code == 0 and "show" in out and "does-not-exist" not in out


def test_broken_module_leaves_a_command_that_says_why(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    real = cli.importlib.import_module

    def broken(name: str) -> types.ModuleType:
        if name == "savedmodel_io.cli.run":
            raise ImportError("cannot import name 'kernels'")
        return real(name)

    monkeypatch.setattr(cli.importlib, "import_module", broken)
    code, _, err = run(["run", "--dir", "x"], capsys)
    assert_one_line_error(code, err, "run", "unavailable", "cannot import name 'kernels'")
    code, out, _ = run(["show", "--dir", str(SM)], capsys)
    assert code == 0 and out.startswith("The given SavedModel contains the following tag-sets:")


def test_bad_regular_expressions(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["inspect", "--file_name", str(CKPT), "--count_exclude_pattern",
                          "(("], capsys)
    assert out == ""  # refused before anything is printed
    assert_one_line_error(code, err, "--count_exclude_pattern", "bad regular expression")
    code, _, err = run(["export-weights", "--input", str(CKPT), "--output",
                        str(tmp_path / "w.npz"), "--exclude", "["], capsys)
    assert_one_line_error(code, err, "--exclude", "bad regular expression")
    assert not (tmp_path / "w.npz").exists()
