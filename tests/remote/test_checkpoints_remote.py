"""Checkpoints on remote storage: round trips on S3 (a real server) and ``memory://``.

The writing order on stores without rename: data first, the index (the commit point) last,
the state file after it; an old index at the prefix goes before anything is written.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import ml_dtypes
import numpy as np
import pytest

import savedmodel_io
from savedmodel_io import fileio, remote
from savedmodel_io.errors import NotFoundError
from savedmodel_io.train.checkpoint import Checkpoint, Module
from savedmodel_io.train.checkpoint_manager import CheckpointManager
from savedmodel_io.train.checkpoint_reader import (
    checkpoint_exists,
    latest_checkpoint,
    list_variables,
    load_checkpoint,
    load_variable,
)
from savedmodel_io.train.checkpoint_state import get_checkpoint_state
from savedmodel_io.train.saver import Saver
from savedmodel_io.train.variable import Variable


@pytest.fixture(params=["s3", "mem"])
def store(request: pytest.FixtureRequest) -> str:
    """A fresh remote directory: an S3 bucket on the test server, or ``memory://``."""
    url: str = request.getfixturevalue(request.param)
    return url


def tensors() -> dict[str, Any]:
    rng = np.random.default_rng(5)
    return {
        "dense/kernel": rng.standard_normal((64, 32)).astype(np.float32),
        "dense/bias": np.arange(32, dtype=np.float64),
        "step": np.int64(7),
        "words": np.array([b"alpha", b"", b"\xff\x00"], dtype=object),
        "half": np.arange(6, dtype=np.float32).astype(ml_dtypes.bfloat16).reshape(2, 3),
        "empty": np.zeros((0, 4), np.int32),
        "flags": np.array([True, False]),
    }


def assert_same(got: Any, want: Any) -> None:
    got, want = np.asarray(got), np.asarray(want)
    assert got.dtype == want.dtype and got.shape == want.shape
    np.testing.assert_array_equal(got, want)


def test_save_and_load_checkpoint_round_trip(store: str, tmp_path: Path) -> None:
    prefix = fileio.join(store, "run", "model")
    assert savedmodel_io.save_checkpoint(tensors(), prefix) == prefix
    assert fileio.exists(prefix + ".index")
    assert fileio.glob(prefix + ".data-*") == [prefix + ".data-00000-of-00001"]
    # The same bytes as a local save.
    savedmodel_io.save_checkpoint(tensors(), str(tmp_path / "model"))
    for suffix in (".index", ".data-00000-of-00001"):
        assert fileio.read_bytes(prefix + suffix) == (tmp_path / ("model" + suffix)
                                                      ).read_bytes()
    with load_checkpoint(prefix) as r:
        assert sorted(r) == sorted(tensors())
        for k, v in tensors().items():
            assert_same(r[k], v)
        assert_same(r.get_slice("dense/kernel", "0,8:-"), tensors()["dense/kernel"][:8])
        many = r.get_tensors(["words", "dense/bias", "step"])
        assert list(many) == ["words", "dense/bias", "step"]
        for k, v in many.items():
            assert_same(v, tensors()[k])
        everything = r.get_tensors()
        assert sorted(everything) == sorted(tensors())
    assert dict(list_variables(prefix))["dense/kernel"] == [64, 32]
    assert_same(load_variable(prefix, "dense/bias:0"), tensors()["dense/bias"])


def test_missing_checkpoint_is_not_found(store: str) -> None:
    with pytest.raises(NotFoundError) as e:
        load_checkpoint(fileio.join(store, "nothing", "model"))
    assert "nothing/model" in str(e.value)
    assert not checkpoint_exists(fileio.join(store, "nothing", "model"))


def test_read_many_fetches_neighbours_together(store: str) -> None:
    prefix = fileio.join(store, "many", "model")
    values = {f"t{i:03d}": np.full(1000, i, np.float32) for i in range(50)}
    savedmodel_io.save_checkpoint(values, prefix)
    with load_checkpoint(prefix) as r:
        before = remote.STATS.snapshot()
        got = r.get_tensors()
        after = remote.STATS.snapshot()
    for k, v in values.items():
        assert_same(got[k], v)
    # 50 adjacent tensors: the data file's size, then one request for all of them.
    assert after["requests"] - before["requests"] == 2
    assert after["bytes_read"] - before["bytes_read"] == 50 * 4000


def test_saver_round_trip_with_state_file_and_retention(store: str) -> None:
    directory = fileio.join(store, "tf1")
    fileio.make_dirs(directory)  # as tf.io.gfile.makedirs: needed where directories exist
    w = Variable("w", np.zeros((3, 4), np.float32))
    s = Variable("s", np.int64(0), resource=True)
    saver = Saver([w, s], max_to_keep=2)
    saved = []
    for step in (1, 2, 3):
        w.assign(np.full((3, 4), step, np.float32))
        s.assign(np.int64(step))
        saved.append(saver.save(fileio.join(directory, "model.ckpt"), global_step=step))
    assert saved[-1] == fileio.join(directory, "model.ckpt-3")
    assert latest_checkpoint(directory) == saved[-1]
    state = get_checkpoint_state(directory)
    assert state is not None and list(state.all_model_checkpoint_paths) == saved[1:]
    # The state file holds paths relative to its directory, as TensorFlow writes them.
    text = fileio.read_bytes(fileio.join(directory, "checkpoint")).decode()
    assert 'model_checkpoint_path: "model.ckpt-3"' in text
    assert not checkpoint_exists(saved[0])  # retention deleted it
    assert fileio.glob(saved[0] + ".*") == []
    assert fileio.exists(saved[-1] + ".meta")
    w.assign(np.zeros((3, 4), np.float32))
    saver.restore(saved[1])
    assert_same(w.value, np.full((3, 4), 2, np.float32))
    assert int(s.value) == 2


def test_sharded_saver_writes_in_place(store: str) -> None:
    v = Variable("v", np.arange(10, dtype=np.float32))
    fileio.make_dirs(fileio.join(store, "sh"))
    prefix = Saver([v], sharded=True).save(fileio.join(store, "sh", "model"), global_step=1)
    assert fileio.list_dir(fileio.join(store, "sh")) == [
        "checkpoint", "model-1.data-00000-of-00001", "model-1.index", "model-1.meta"]
    with load_checkpoint(prefix) as r:
        assert_same(r["v"], np.arange(10, dtype=np.float32))


def test_object_checkpoint_and_manager(store: str) -> None:
    directory = fileio.join(store, "tf2")
    model = Module(kernel=Variable("kernel", np.ones((2, 2), np.float32)))
    ckpt = Checkpoint(model=model)
    manager = CheckpointManager(ckpt, directory, max_to_keep=2)
    paths = []
    for i in range(3):
        model.kernel.assign(np.full((2, 2), i, np.float32))
        paths.append(manager.save())
    assert paths[-1] == fileio.join(directory, "ckpt-3")
    assert manager.checkpoints == paths[1:]
    assert not checkpoint_exists(paths[0])
    # Nothing of the local "_temp" staging is left on the store.
    assert [n for n in fileio.list_dir(directory) if "temp" in n] == []
    fresh = Module(kernel=Variable("kernel", np.zeros((2, 2), np.float32)))
    again = CheckpointManager(Checkpoint(model=fresh), directory, max_to_keep=2)
    assert again.restore_or_initialize() == paths[-1]
    assert_same(fresh.kernel.value, np.full((2, 2), 2, np.float32))


def test_write_order_data_index_state(store: str, monkeypatch: pytest.MonkeyPatch) -> None:
    order: list[str] = []
    commit = remote.RemoteWriter.commit

    def spy(self: remote.RemoteWriter) -> None:
        assert not fileio.exists(self.path), "visible before its upload completed"
        commit(self)
        order.append(fileio.basename(self.path))
    monkeypatch.setattr(remote.RemoteWriter, "commit", spy)
    v = Variable("v", np.ones(3, np.float32))
    fileio.make_dirs(fileio.join(store, "order"))
    Saver([v]).save(fileio.join(store, "order", "model"), global_step=1,
                    write_meta_graph=False)
    assert order == ["model-1.data-00000-of-00001", "model-1.index", "checkpoint"]


def test_overwriting_a_prefix_removes_its_index_first(store: str, monkeypatch: pytest.MonkeyPatch
                                                      ) -> None:
    prefix = fileio.join(store, "over", "model")
    savedmodel_io.save_checkpoint({"a": np.ones(2)}, prefix)
    seen: list[bool] = []
    commit = remote.RemoteWriter.commit

    def spy(self: remote.RemoteWriter) -> None:
        if self.path.endswith(".data-00000-of-00001"):
            # New data is going in: the old index must be gone, or a reader would pair
            # the old index with the new data.
            seen.append(fileio.exists(prefix + ".index"))
        commit(self)
    monkeypatch.setattr(remote.RemoteWriter, "commit", spy)
    savedmodel_io.save_checkpoint({"b": np.zeros(5)}, prefix)
    assert seen == [False]
    with load_checkpoint(prefix) as r:
        assert list(r) == ["b"]


def test_multi_shard_checkpoint_from_tensorflow(store: str, golden: Path) -> None:
    """TF's sharded checkpoint (golden tf1_sharded) uploaded as is: every shard read."""
    local = golden / "tf1_sharded"
    fs, root = remote.resolve(store)
    for f in sorted(local.iterdir()):
        fs.pipe_file(f"{root}/tf1_sharded/{f.name}", f.read_bytes())
    prefix_name = next(f.name for f in local.iterdir() if f.name.endswith(".index"))[:-6]
    here = load_checkpoint(str(local / prefix_name))
    there = load_checkpoint(fileio.join(store, "tf1_sharded", prefix_name))
    assert there.get_variable_to_shape_map() == here.get_variable_to_shape_map()
    everything = there.get_tensors()
    for k in here:
        assert_same(everything[k], here[k])
