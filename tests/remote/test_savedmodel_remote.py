"""SavedModels on remote storage: the loader, the builder (assets included) and the CLI.

TensorFlow-written SavedModels (the goldens, the TF Serving corpus) are uploaded as they
are and must load exactly as they do from disk; what we write remotely must be byte for
byte what TensorFlow wrote (simple_save's golden).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from savedmodel_io import fileio, remote
from savedmodel_io.cli import main as cli_main
from savedmodel_io.errors import AlreadyExistsError
from savedmodel_io.graph import Graph, Tensor
from savedmodel_io.saved_model import constants, loader
from savedmodel_io.saved_model.simple_save import simple_save


@pytest.fixture(params=["s3", "mem"])
def store(request: pytest.FixtureRequest) -> str:
    url: str = request.getfixturevalue(request.param)
    return url


def upload(local: Path, url: str) -> str:
    """Copy a local directory tree to ``url`` as it is."""
    fs, root = remote.resolve(url)
    for f in sorted(local.rglob("*")):
        if f.is_file():
            fs.pipe_file(f"{root}/{f.relative_to(local).as_posix()}", f.read_bytes())
    return url


def test_loader_reads_a_tensorflow_savedmodel_with_assets(store: str, golden: Path) -> None:
    local = golden / "sm_tf1_builder"
    url = upload(local, fileio.join(store, "exports", "sm"))
    here = loader.load(local, ["serve"])
    there = loader.load(url, ["serve"])
    assert there.export_dir == url
    assert there.meta_graph_def == here.meta_graph_def  # signatures, assets, everything
    assert list(there.signatures) == list(here.signatures)
    assert there.init_op_name == here.init_op_name
    assert here.asset_paths, "the golden has assets"
    for name, path in here.asset_paths.items():
        rel = Path(path).relative_to(local.resolve()).as_posix()
        assert there.asset_paths[name] == f"{url}/{rel}"
        assert fileio.read_bytes(there.asset_paths[name]) == Path(path).read_bytes()
    assert there.variables is not None and here.variables is not None
    assert there.variables.get_variable_to_shape_map() == \
        here.variables.get_variable_to_shape_map()
    for key in here.variables:
        np.testing.assert_array_equal(there.variables[key], here.variables[key])
    assert loader.contains_saved_model(url)
    assert not loader.contains_saved_model(fileio.join(store, "exports", "none"))


def linear() -> tuple[Graph, Tensor, Tensor]:
    rng = np.random.RandomState(11)
    g = Graph()
    x = g.placeholder(np.float32, shape=(None, 3), name="x")
    w = g.variable("w", rng.randn(3, 1).astype(np.float32), resource=True)
    y = g.identity(g.op("MatMul", [x, w]), name="y")
    g.global_variables_initializer()
    return g, x, y


def test_simple_save_to_a_store_writes_tensorflows_bytes(store: str, golden: Path) -> None:
    g, x, y = linear()
    export = fileio.join(store, "m")
    path = simple_save(g, export, inputs={"x": x}, outputs={"y": y})
    assert path == fileio.join(export, "saved_model.pb")
    theirs = golden / "builder" / "simple_save"
    assert fileio.read_bytes(path) == (theirs / "saved_model.pb").read_bytes()
    for name in ("variables.index", "variables.data-00000-of-00001"):
        assert fileio.read_bytes(fileio.join(export, "variables", name)) == (
            theirs / "variables" / name).read_bytes()
    assert fileio.list_dir(export) == ["fingerprint.pb", "saved_model.pb", "variables"]
    assert fileio.list_dir(fileio.join(export, "variables")) == [
        "variables.data-00000-of-00001", "variables.index"]
    loaded = loader.load(export, ["serve"])
    assert loaded.fingerprint is not None
    assert loaded.variables is not None
    np.testing.assert_array_equal(loaded.variables["w"],
                                  np.random.RandomState(11).randn(3, 1).astype(np.float32))


def test_builder_copies_assets_to_the_store(store: str, tmp_path: Path) -> None:
    g, x, y = linear()
    src = tmp_path / "labels.txt"
    src.write_text("a\nb\n")
    g.add_to_collection("asset_filepaths", g.constant(str(src), name="labels"))
    export = fileio.join(store, "with_assets")
    simple_save(g, export, {"x": x}, {"y": y}, variables={"w": np.ones((3, 1), np.float32)})
    loaded = loader.load(export, ["serve"])
    asset = fileio.join(export, constants.ASSETS_DIRECTORY, "labels.txt")
    assert loaded.asset_paths == {"labels:0": asset}
    assert fileio.read_bytes(asset) == b"a\nb\n"
    assert loaded.variables is not None
    np.testing.assert_array_equal(loaded.variables["w"], np.ones((3, 1), np.float32))
    # Nothing staged beside the export: remote exports are written in place.
    assert fileio.list_dir(store) == ["with_assets"]


def test_builder_refuses_a_non_empty_remote_export(store: str) -> None:
    g, x, y = linear()
    export = fileio.join(store, "taken")
    fileio.make_dirs(export)
    fileio.atomic_write_bytes(fileio.join(export, "x"), b"")
    with pytest.raises(AlreadyExistsError, match="already exists, and isn't empty"):
        simple_save(g, export, inputs={"x": x}, outputs={"y": y})
    assert fileio.list_dir(export) == ["x"]


def test_cli_show_dir_on_s3(s3: str, corpus: Path, capsys: pytest.CaptureFixture[str]) -> None:
    local = corpus / "saved_model_half_plus_three" / "00000123"
    url = upload(local, f"{s3}/half_plus_three/00000123")
    for args in (["--all"], [], ["--tag_set", "serve"],
                 ["--tag_set", "serve", "--signature_def", "serving_default"]):
        assert cli_main(["show", "--dir", str(local), *args]) == 0
        want = capsys.readouterr()
        assert cli_main(["show", "--dir", url, *args]) == 0
        got = capsys.readouterr()
        assert got.out == want.out and "serv" in got.out
        assert got.err == want.err
