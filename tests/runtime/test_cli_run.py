"""``savedmodel-cli run`` (the subcommand module, driven through argparse)."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pytest

from savedmodel_io.cli import run
from savedmodel_io.errors import (
    AlreadyExistsError,
    InvalidArgumentError,
    NotFoundError,
    PermissionDeniedError,
)
from tests.runtime.graphs import (
    F32,
    graph,
    node,
    placeholder,
    predict,
    tensor_info,
    write_saved_model,
)

CPU = "saved_model_half_plus_two_cpu/00000123"


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="savedmodel-cli")
    run.add_parser(parser.add_subparsers())
    return parser.parse_args(["run", *argv])


def run_cli(*argv: str) -> int:
    return run.main(parse(*argv))


def test_help_has_examples(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        parse("--help")
    text = capsys.readouterr().out
    assert "--input_exprs 'x=[[1.0],[2.0]]'" in text and "--allow_pickle" in text
    assert parse("--dir", "d", "--tag_set", "serve", "--signature_def", "s").func is run.main


def test_prints_like_saved_model_cli(corpus: Path, capsys: pytest.CaptureFixture[str]
                                     ) -> None:
    d = str(corpus / CPU)
    assert run_cli("--dir", d, "--tag_set", "serve", "--signature_def", "serving_default",
                   "--input_exprs", "x=np.array([[1.0],[2.0]], dtype=np.float32)") == 0
    assert capsys.readouterr().out == "Result for output key y:\n[[2.5]\n [3. ]]\n"
    assert run_cli("--dir", d, "--tag_set", "serve", "--signature_def", "regress_x_to_y",
                   "--input_examples", 'inputs=[{"x":[1.0]},{"x":[3.0]}]') == 0
    assert capsys.readouterr().out == "Result for output key outputs:\n[[2.5]\n [3.5]]\n"


def test_outdir_and_overwrite(corpus: Path, tmp_path: Path,
                              capsys: pytest.CaptureFixture[str]) -> None:
    np.save(tmp_path / "x.npy", np.array([[4.0]], np.float32))
    out = tmp_path / "out" / "nested"
    argv = ["--dir", str(corpus / CPU), "--tag_set", "serve", "--signature_def",
            "serving_default", "--inputs", f"x={tmp_path / 'x.npy'}", "--outdir", str(out)]
    assert run_cli(*argv) == 0
    assert np.load(out / "y.npy").tolist() == [[4.0]]
    assert f"Output y is saved to {out / 'y.npy'}" in capsys.readouterr().out
    with pytest.raises(AlreadyExistsError, match='Add "--overwrite"'):
        run_cli(*argv)
    assert run_cli(*argv, "--overwrite") == 0


def test_bad_invocations(corpus: Path, tmp_path: Path) -> None:
    d = str(corpus / CPU)
    base = ["--dir", d, "--tag_set", "serve", "--signature_def", "serving_default"]
    with pytest.raises(InvalidArgumentError, match="At least one of --inputs"):
        run_cli(*base)
    with pytest.raises(InvalidArgumentError, match=r"unknown input\(s\) 'z'"):
        run_cli(*base, "--input_exprs", "z=[1.0]")
    with pytest.raises(InvalidArgumentError, match="no SignatureDef 'nope'"):
        run_cli("--dir", d, "--tag_set", "serve", "--signature_def", "nope",
                "--input_exprs", "x=[[1.0]]")
    with pytest.raises(NotFoundError, match="could not be found"):
        run_cli("--dir", d, "--tag_set", "gpu", "--signature_def", "serving_default",
                "--input_exprs", "x=[[1.0]]")
    with pytest.raises(InvalidArgumentError, match="at least one tag"):
        run_cli("--dir", d, "--tag_set", ",", "--signature_def", "serving_default",
                "--input_exprs", "x=[[1.0]]")
    with pytest.raises(InvalidArgumentError, match="not allowed"):
        run_cli(*base, "--input_exprs", "x=__import__('os').getcwd()")
    np.save(tmp_path / "p.npy", np.array([object()], dtype=object), allow_pickle=True)
    with pytest.raises(PermissionDeniedError, match="--allow_pickle"):
        run_cli(*base, "--inputs", f"x={tmp_path / 'p.npy'}")


def test_output_keys_cannot_escape_outdir(tmp_path: Path) -> None:
    g = graph(placeholder("x", F32, [-1]), node("y", "Neg", ["x"], T=F32))
    d = write_saved_model(tmp_path / "m", g, {"serving_default": predict(
        {"x": tensor_info("x:0", F32, [-1])}, {"../evil": tensor_info("y:0", F32, [-1])})})
    with pytest.raises(InvalidArgumentError, match="cannot be used as a file name"):
        run_cli("--dir", str(d), "--tag_set", "serve", "--signature_def", "serving_default",
                "--input_exprs", "x=[1.0]", "--outdir", str(tmp_path / "out"))
    assert not (tmp_path / "evil.npy").exists()
