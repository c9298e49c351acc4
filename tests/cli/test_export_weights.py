"""export-weights: checkpoints and SavedModels to .safetensors/.npz and back."""

from __future__ import annotations

import io
import json
import os
import struct
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from savedmodel_io.cli import main, progress, weights_io
from savedmodel_io.train import ObjectGraphView, load_checkpoint
from savedmodel_io.train.checkpoint_reader import OBJECT_GRAPH_KEY
from tests.conftest import GOLDEN

TF2_CKPT = GOLDEN / "tf2_module" / "ckpt-1"
TF1_CKPT = GOLDEN / "tf1_plain" / "model.ckpt-30"
ALL_DTYPES = GOLDEN / "bundle_all_dtypes" / "ckpt"
safetensors = pytest.importorskip("safetensors.numpy")


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(["export-weights", *argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def numeric(reader: object) -> dict[str, np.ndarray]:
    r = load_checkpoint(str(reader))
    return {k: r[k] for k in r if r[k].dtype.kind != "O"}


def test_tf2_checkpoint_to_safetensors_by_object_path(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "w.safetensors"
    code, stdout, _ = run(["--input", str(TF2_CKPT), "--output", str(out)], capsys)
    assert code == 0 and stdout.startswith("wrote ")
    reader = load_checkpoint(str(TF2_CKPT))
    paths = ObjectGraphView(reader).keys_to_paths()
    loaded = safetensors.load_file(str(out))  # the reference implementation reads it
    expected = {paths[k]: v for k, v in numeric(TF2_CKPT).items()}
    assert loaded.keys() == expected.keys()
    for name, value in expected.items():
        assert loaded[name].dtype == value.dtype and np.array_equal(loaded[name], value)
    with open(out, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        recorded = json.loads(json.loads(f.read(n))["__metadata__"][weights_io.KEYS_METADATA])
    assert recorded == {paths[k]: k for k in numeric(TF2_CKPT)}


def test_safetensors_back_to_the_same_keys(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    st_file = tmp_path / "w.safetensors"
    assert run(["--input", str(TF2_CKPT), "--output", str(st_file)], capsys)[0] == 0
    prefix = tmp_path / "back" / "model"
    code, stdout, _ = run(["--input", str(st_file), "--output", str(prefix)], capsys)
    assert code == 0 and "to checkpoint" in stdout
    original = numeric(TF2_CKPT)
    back = numeric(prefix)
    assert back.keys() == original.keys()
    for k in original:
        assert back[k].dtype == original[k].dtype and np.array_equal(back[k], original[k])
    # The object graph travels in the metadata, so TF2 restores work from the copy.
    assert load_checkpoint(str(prefix))[OBJECT_GRAPH_KEY].item() == load_checkpoint(
        str(TF2_CKPT))[OBJECT_GRAPH_KEY].item()


def test_tf1_checkpoint_to_npz_by_key_and_back(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    npz = tmp_path / "w.npz"
    code, _, err = run(["--input", str(TF1_CKPT), "--output", str(npz)], capsys)
    assert code == 0
    assert "left out" in err  # the string variable
    original = numeric(TF1_CKPT)
    with np.load(npz) as data:
        assert set(data.files) == set(original)
        for k, v in original.items():
            assert data[k].shape == v.shape and np.array_equal(data[k], v)
    prefix = tmp_path / "ckpt"
    assert run(["--input", str(npz), "--output", str(prefix)], capsys)[0] == 0
    back = numeric(prefix)
    assert {k: v.tolist() for k, v in back.items()} == {k: v.tolist()
                                                        for k, v in original.items()}


def test_checkpoint_directory_means_its_latest(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "w.npz"
    assert run(["--input", str(TF1_CKPT.parent), "--output", str(out)], capsys)[0] == 0
    with np.load(out) as data:
        assert set(data.files) == set(numeric(TF1_CKPT))


def test_savedmodel_variables(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "w.safetensors"
    assert run(["--input", str(GOLDEN / "sm_tf2_module"), "--output", str(out)], capsys)[0] == 0
    variables = numeric(GOLDEN / "sm_tf2_module" / "variables" / "variables")
    assert sorted(safetensors.load_file(str(out))) == sorted(
        k.split("/")[0] for k in variables)


def test_full_names_and_duplicates(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "k.npz"
    code, _, err = run(["--input", str(GOLDEN / "sm_keras_export"), "--output", str(out),
                        "--names", "full"], capsys)
    assert code == 0
    reader = load_checkpoint(str(GOLDEN / "sm_keras_export" / "variables" / "variables"))
    view = ObjectGraphView(reader)
    full = {view.full_name(p) for p in view.paths()}
    with np.load(out) as data:
        assert set(data.files) == full
    # Keras tracks each variable twice (variables/N and _all_variables/N).
    assert err.count("is taken by") == len(view.paths()) - len(full)


def test_exclude(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "w.npz"
    ckpt = GOLDEN / "tf2_keras_adam" / "ckpt-1"
    assert run(["--input", str(ckpt), "--output", str(out), "--exclude", "^optimizer/"],
               capsys)[0] == 0
    with np.load(out) as data:
        assert data.files and not any(n.startswith("optimizer/") for n in data.files)


def test_names_path_needs_an_object_graph(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["--input", str(TF1_CKPT), "--output", str(tmp_path / "w.npz"),
                        "--names", "path"], capsys)
    assert code == 1 and "object graph" in err and err.count("\n") == 1


def test_savedmodel_without_variables(tmp_path: Path, corpus: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["--input", str(corpus / "batching_matrix_half_plus_two" / "1"),
                        "--output", str(tmp_path / "w.npz")], capsys)
    assert code == 1 and "has no variables" in err


def test_unknown_direction(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["--input", str(TF1_CKPT), "--output", str(tmp_path / "w.bin")],
                       capsys)
    assert code == 1 and ".safetensors or .npz" in err


def test_every_dtype_safetensors_can_hold_round_trips(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """bfloat16 and float8 too: our reader maps safetensors' codes to ml_dtypes."""
    out = tmp_path / "all.safetensors"
    code, _, err = run(["--input", str(ALL_DTYPES), "--output", str(out)], capsys)
    assert code == 0
    reader = load_checkpoint(str(ALL_DTYPES))
    types = reader.get_variable_to_dtype_map()
    written = {k for k in reader
               if np.dtype(reader[k].dtype).name in weights_io.SAFETENSORS_CODES}
    for k in set(reader) - written:
        assert f"left out {k!r}" in err or "more (not listed)" in err
    prefix = tmp_path / "back"
    assert run(["--input", str(out), "--output", str(prefix)], capsys)[0] == 0
    back = load_checkpoint(str(prefix))
    assert set(back) == written
    for k in written:
        assert back.get_variable_to_dtype_map()[k] == types[k]
        assert back[k].tobytes() == reader[k].tobytes()


def test_import_by_object_path_rebuilds_tf2_keys(tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    npz = tmp_path / "w.npz"
    assert run(["--input", str(TF2_CKPT), "--output", str(npz)], capsys)[0] == 0
    prefix = tmp_path / "ckpt"
    assert run(["--input", str(npz), "--output", str(prefix), "--names", "path"],
               capsys)[0] == 0
    assert set(load_checkpoint(str(prefix))) == set(numeric(TF2_CKPT))


def test_failed_write_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    def explode(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(safetensors, "save_file", explode)
    out = tmp_path / "w.safetensors"
    code, _, err = run(["--input", str(TF2_CKPT), "--output", str(out)], capsys)
    assert code == 1 and "No space left" in err
    assert os.listdir(tmp_path) == []


def _valid_safetensors(tmp_path: Path) -> bytes:
    path = tmp_path / "v.safetensors"
    safetensors.save_file({"a": np.arange(6, dtype=np.float32).reshape(2, 3),
                           "b": np.array(7, dtype=np.int64)}, str(path), metadata={"k": "v"})
    return path.read_bytes()


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_damaged_safetensors_fail_cleanly(tmp_path: Path, data: st.DataObject,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    raw = bytearray(_valid_safetensors(tmp_path))
    how = data.draw(st.sampled_from(["flip", "truncate", "length"]))
    if how == "flip":
        i = data.draw(st.integers(0, len(raw) - 1))
        raw[i] ^= data.draw(st.integers(1, 255))
    elif how == "truncate":
        raw = raw[: data.draw(st.integers(0, len(raw) - 1))]
    else:
        raw[:8] = struct.pack("<Q", data.draw(st.integers(0, 2**64 - 1)))
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(bytes(raw))
    prefix = tmp_path / "out" / "model"
    code, _, err = run(["--input", str(bad), "--output", str(prefix), "--overwrite"], capsys)
    assert code in (0, 1)
    assert "Traceback" not in err
    if code == 1:
        assert err.count("\n") == 1


# ------------------------------------------------------------------ progress


def test_progress_plain_fallback_waits_a_second() -> None:
    now = [0.0]
    stream = io.StringIO()
    bar = progress.PlainProgress(100 << 20, "export", stream=stream, clock=lambda: now[0])
    bar.update(10 << 20)
    assert stream.getvalue() == ""  # quick work shows nothing
    now[0] = 1.5
    bar.update(40 << 20)
    now[0] = 1.6
    bar.update(10 << 20)  # too soon after the last line for a log file
    now[0] = 9.0
    bar.update(40 << 20)
    bar.close()
    lines = stream.getvalue().splitlines()
    assert lines[0] == "export: 50% (50.0 MiB of 100.0 MiB)"
    assert lines[1] == "export: 100% (100.0 MiB of 100.0 MiB)"


def test_progress_on_a_terminal_redraws_one_line() -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    now = [0.0]
    stream = Tty()
    bar = progress.PlainProgress(10, "x", stream=stream, clock=lambda: now[0])
    now[0] = 1.0
    bar.update(5)
    bar.close()
    assert stream.getvalue() == "\rx: 50% (5 B of 10 B)\rx: 50% (5 B of 10 B)\n"


def test_progress_uses_tqdm_when_installed() -> None:
    pytest.importorskip("tqdm")
    stream = io.StringIO()
    with progress.Progress(1000, "export", stream=stream) as bar:
        assert type(bar._bar).__name__ == "tqdm"
        bar.update(1000)
    assert stream.getvalue() == ""  # finished within tqdm's delay


def test_progress_without_tqdm(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "tqdm", None)  # import tqdm -> ImportError
    with progress.Progress(10, "x", stream=io.StringIO()) as bar:
        assert isinstance(bar._bar, progress.PlainProgress)


def test_export_reports_progress(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(progress, "DELAY", 0.0)
    monkeypatch.setitem(sys.modules, "tqdm", None)
    code, _, err = run(["--input", str(TF1_CKPT), "--output", str(tmp_path / "w.npz")], capsys)
    assert code == 0 and "export-weights: 100%" in err
    code, _, err = run(["--input", str(TF1_CKPT), "--output", str(tmp_path / "w2.npz"),
                        "--no-progress"], capsys)
    assert code == 0 and "export-weights:" not in err


def test_reader_rejects_object_key_alone() -> None:
    assert OBJECT_GRAPH_KEY not in weights_io.export_names(load_checkpoint(str(TF2_CKPT)),
                                                          "key")
