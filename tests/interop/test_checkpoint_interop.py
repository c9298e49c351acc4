"""TF2 object-based checkpoints against TensorFlow 2.21: both directions, bytes, state files."""

from __future__ import annotations

import os
import re
from typing import Any

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

from savedmodel_io.train import object_graph as og  # noqa: E402
from savedmodel_io.train.checkpoint import Checkpoint, Module, Optimizer  # noqa: E402
from savedmodel_io.train.checkpoint_manager import CheckpointManager  # noqa: E402
from savedmodel_io.train.checkpoint_reader import load_checkpoint  # noqa: E402
from savedmodel_io.train.variable import Variable  # noqa: E402

STRINGS = np.array([b"a", b"bc", b""], dtype=object)


def _ours_simple(fill: float = 1.0) -> Checkpoint:
    """FORMAT.md 6.3's structure plus a few dtypes, as our objects."""
    model = Module(
        dense=Variable("Variable", np.full((2, 2), fill, np.float32)),
        lst=[Variable("Variable", np.float32(fill)), Variable("kernel", np.arange(3) * fill)],
        d={"a.b/c": Variable("Variable", np.int32(fill)),
           "s": Variable("names", STRINGS)},
    )
    return Checkpoint(model=model, step=Variable("step", np.int64(fill)))


def _tf_simple(fill: float = 1.0) -> Any:
    class M(tf.Module):  # type: ignore[misc, name-defined]
        def __init__(self) -> None:
            super().__init__()
            self.dense = tf.Variable(np.full((2, 2), fill, np.float32))
            self.lst = [tf.Variable(np.float32(fill)),
                        tf.Variable(np.arange(3) * fill, name="kernel")]
            self.d = {"a.b/c": tf.Variable(np.int32(fill)),
                      "s": tf.Variable(STRINGS, name="names")}

    return tf.train.Checkpoint(model=M(), step=tf.Variable(np.int64(fill), name="step"))


def _files(d: str) -> dict[str, bytes]:
    out = {}
    for f in sorted(os.listdir(d)):
        with open(os.path.join(d, f), "rb") as fh:
            out[f] = fh.read()
    return out


# ------------------------------------------------------------------ (1) ours -> TF


def test_tf_restores_our_module_tree(tmp_path: Any) -> None:
    path = _ours_simple(3.0).save(os.path.join(str(tmp_path), "ck"))
    dst = _tf_simple(0.0)
    dst.restore(path).assert_consumed()
    assert np.array_equal(dst.model.dense.numpy(), np.full((2, 2), 3, np.float32))
    assert np.array_equal(dst.model.lst[1].numpy(), np.arange(3) * 3.0)
    assert dst.model.d["a.b/c"].numpy() == 3
    assert list(dst.model.d["s"].numpy()) == list(STRINGS)
    assert int(dst.step.numpy()) == 3 and int(dst.save_counter.numpy()) == 1
    assert tf.train.latest_checkpoint(str(tmp_path)) == path


def _keras_model() -> Any:
    model = tf.keras.Sequential([tf.keras.Input((4,)), tf.keras.layers.Dense(3)])
    return model


def test_tf_restores_keras_model_from_paths(tmp_path: Any) -> None:
    # Learn the structure from a checkpoint TensorFlow writes for a fresh model.
    probe = tf.train.Checkpoint(model=_keras_model()).write(os.path.join(str(tmp_path), "p"))
    with load_checkpoint(probe) as reader:
        view = og.ObjectGraphView(reader)
        shapes = {p: (reader.get_variable_to_shape_map()[k],
                      reader.get_variable_to_dtype_map()[k]) for p, k in view.paths().items()}
        names = {p: view.full_name(p) for p in view.paths()}
    rng = np.random.default_rng(0)
    values = {p: rng.standard_normal(s).astype(np.float32) for p, (s, _) in shapes.items()}
    ours = Checkpoint.from_paths(values, full_names=names).write(
        os.path.join(str(tmp_path), "ours"))
    model = _keras_model()
    tf.train.Checkpoint(model=model).read(ours).assert_consumed()
    layer = model.layers[0]
    kernel_path = next(p for p in values if p.endswith("kernel"))
    bias_path = next(p for p in values if p.endswith("bias"))
    assert np.array_equal(layer.kernel.numpy(), values[kernel_path])
    assert np.array_equal(layer.bias.numpy(), values[bias_path])
    # Our mirror's object graph records the same keys and full names as TensorFlow's.
    with load_checkpoint(ours) as r:
        mine = og.ObjectGraphView(r)
        assert mine.paths() == {p: og.path_to_key(p) for p in values}
        assert {p: mine.full_name(p) for p in values} == names


# ------------------------------------------------------------------ (2) TF -> ours


def _check_view_against_tf(path: str) -> og.ObjectGraphView:
    tf_reader = tf.train.load_checkpoint(path)
    reader = load_checkpoint(path)
    view = og.ObjectGraphView(reader)
    tf_keys = set(tf_reader.get_variable_to_shape_map()) - {og.OBJECT_GRAPH_KEY}
    assert set(view.paths().values()) == tf_keys
    for p, k in view.paths().items():
        want = tf_reader.get_tensor(k)
        assert np.array_equal(view[p], want), p
        assert np.array_equal(reader[k], want), k
        assert view.path_of_key(k) == p
    return view


def test_we_read_and_restore_tf_checkpoint(tmp_path: Any) -> None:
    src = _tf_simple(5.0)
    path = src.save(os.path.join(str(tmp_path), "ck"))
    view = _check_view_against_tf(path)
    assert view["model/d/a..b.Sc"] == 5
    dst = _ours_simple(0.0)
    dst.restore(path).assert_consumed()
    assert np.array_equal(dst.model.dense.value, np.full((2, 2), 5, np.float32))
    assert list(dst.model.d["s"].value) == list(STRINGS)
    assert int(dst.save_counter.value) == 1


def test_we_read_tf_manager_checkpoints(tmp_path: Any) -> None:
    d = str(tmp_path)
    src = _tf_simple(1.0)
    mgr = tf.train.CheckpointManager(src, d, max_to_keep=2)
    for i in range(3):
        src.model.dense.assign(np.full((2, 2), i, np.float32))
        mgr.save()
    ours = CheckpointManager(_ours_simple(0.0), d, max_to_keep=2)
    assert ours.latest_checkpoint == mgr.latest_checkpoint
    assert ours.checkpoints == mgr.checkpoints
    assert ours.restore_or_initialize() == os.path.join(d, "ckpt-3")
    assert np.array_equal(ours.checkpoint.model.dense.value, np.full((2, 2), 2, np.float32))
    assert ours.save() == os.path.join(d, "ckpt-4")
    # ...and TensorFlow carries on from our state file.
    tf_again = tf.train.CheckpointManager(_tf_simple(0.0), d, max_to_keep=2)
    assert tf_again.checkpoints == [os.path.join(d, "ckpt-3"), os.path.join(d, "ckpt-4")]
    tf_again.restore_or_initialize()
    assert int(tf_again.checkpoint.save_counter.numpy()) == 4


def test_we_read_keras_model_with_adam(tmp_path: Any) -> None:
    model = _keras_model()
    opt = tf.keras.optimizers.Adam(0.01)
    model.compile(opt, "mse")
    model.train_on_batch(np.ones((2, 4), np.float32), np.zeros((2, 3), np.float32))
    path = tf.train.Checkpoint(model=model, optimizer=opt).save(
        os.path.join(str(tmp_path), "k"))
    view = _check_view_against_tf(path)
    layer = model.layers[0]
    # The kernel's canonical path goes through the optimizer (found first breadth-first);
    # the route through the model is an alias that resolves to the same key.
    alias = [p for p in _all_routes(view) if p.startswith("model/") and p.endswith("kernel")]
    assert alias, "no route to the kernel through the model"
    assert np.array_equal(view[alias[0]], layer.kernel.numpy())
    by_name = {v.path: v.numpy() for v in opt.variables}
    slots = {view.full_name(p): view[p] for p in view.paths()}
    for name, value in by_name.items():
        assert np.array_equal(slots[name], value), name


def _all_routes(view: og.ObjectGraphView) -> list[str]:
    """Every loop-free route from the root to a node with values (small graphs only)."""
    out: list[str] = []
    nodes = view.graph.nodes

    def walk(nid: int, path: str, seen: frozenset[int]) -> None:
        if nodes[nid].attributes:
            out.append(path)
        for c in nodes[nid].children:
            if c.node_id not in seen:
                esc = og.escape_local_name(c.local_name)
                walk(c.node_id, f"{path}/{esc}" if path else esc, seen | {c.node_id})

    walk(0, "", frozenset({0}))
    return out


def test_slot_variables_tf_to_ours(tmp_path: Any) -> None:
    v = tf.Variable(np.ones(2, np.float32))
    w = tf.Variable(2.0)
    opt = tf.compat.v1.train.AdamOptimizer(0.1)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(v * v) * w
    opt.apply_gradients(zip(tape.gradient(loss, [v, w]), [v, w], strict=True))
    path = tf.train.Checkpoint(v=v, w=w, opt=opt).write(os.path.join(str(tmp_path), "s"))
    view = _check_view_against_tf(path)
    assert np.array_equal(view["v/.OPTIMIZER_SLOT/opt/m"], opt.get_slot(v, "m").numpy())
    assert np.array_equal(view["w/.OPTIMIZER_SLOT/opt/v"], opt.get_slot(w, "v").numpy())
    ov, ow = Variable("v", np.zeros(2, np.float32)), Variable("w", np.float32(0))
    oopt = Optimizer(beta1_power=np.array(0, np.float32), beta2_power=np.array(0, np.float32))
    Checkpoint(v=ov, w=ow, opt=oopt).read(path).assert_consumed()
    assert np.array_equal(oopt.get_slot(ov, "m").value, opt.get_slot(v, "m").numpy())
    assert np.array_equal(oopt.get_slot(ow, "v").value, opt.get_slot(w, "v").numpy())
    # And back: our slot checkpoint has TF's paths and restores into TF's slots.
    oopt.get_slot(ov, "m").assign(np.array([3, 4], np.float32))
    ours = Checkpoint(v=ov, w=ow, opt=oopt).write(os.path.join(str(tmp_path), "o"))
    with load_checkpoint(ours) as r:
        mine = og.ObjectGraphView(r)
        assert mine.paths() == view.paths()
    v2, w2 = tf.Variable(np.zeros(2, np.float32)), tf.Variable(0.0)
    opt2 = tf.compat.v1.train.AdamOptimizer(0.1)
    opt2.apply_gradients([(tf.ones(2), v2), (tf.ones(()), w2)])  # creates the slots
    tf.train.Checkpoint(v=v2, w=w2, opt=opt2).read(ours).assert_consumed()
    assert np.array_equal(opt2.get_slot(v2, "m").numpy(), [3, 4])
    assert np.array_equal(opt2.get_slot(w2, "v").numpy(), opt.get_slot(w, "v").numpy())
    assert np.array_equal(v2.numpy(), ov.value)


# ------------------------------------------------------------------ (3) identical bytes


@pytest.mark.parametrize("mode", ["save", "write"])
def test_bundle_bytes_identical_to_tf(tmp_path: Any, mode: str) -> None:
    td, od = os.path.join(str(tmp_path), "tf"), os.path.join(str(tmp_path), "ours")
    os.makedirs(td)
    os.makedirs(od)
    tfc, ours = _tf_simple(2.0), _ours_simple(2.0)
    if mode == "save":
        tp, op = tfc.save(os.path.join(td, "ck")), ours.save(os.path.join(od, "ck"))
    else:
        tp, op = tfc.write(os.path.join(td, "ck")), ours.write(os.path.join(od, "ck"))
    tg = tf.train.load_checkpoint(tp).get_tensor(og.OBJECT_GRAPH_KEY)
    with load_checkpoint(op) as r:
        assert r[og.OBJECT_GRAPH_KEY].item() == tg
    assert _files(td) == _files(od)


# ------------------------------------------------------------------ (4) state files


def test_checkpoint_save_state_file_equal(tmp_path: Any) -> None:
    td, od = os.path.join(str(tmp_path), "tf"), os.path.join(str(tmp_path), "ours")
    tfc, ours = _tf_simple(), _ours_simple()
    for _ in range(2):
        tfc.save(os.path.join(td, "ck"))
        ours.save(os.path.join(od, "ck"))
    assert _files(td) == _files(od)


class _Clock:
    def __init__(self) -> None:
        self.t = 1_700_000_000.25

    def __call__(self) -> float:
        return self.t

    def time(self) -> float:
        return self.t


def _strip_times(text: bytes) -> bytes:
    return re.sub(rb"(timestamp[s]?): [0-9.e+]+", rb"\1: T", text)


@pytest.mark.parametrize("keep_hours", [None, 1.0])
def test_manager_state_files_equal(tmp_path: Any, monkeypatch: pytest.MonkeyPatch,
                                   keep_hours: float | None) -> None:
    from tensorflow.python.checkpoint import checkpoint_management

    clock = _Clock()
    monkeypatch.setattr(checkpoint_management, "time", clock)
    td, od = os.path.join(str(tmp_path), "tf"), os.path.join(str(tmp_path), "ours")
    tmgr = tf.train.CheckpointManager(_tf_simple(), td, max_to_keep=2,
                                      keep_checkpoint_every_n_hours=keep_hours)
    omgr = CheckpointManager(_ours_simple(), od, max_to_keep=2,
                             keep_checkpoint_every_n_hours=keep_hours, clock=clock)
    for i, step in enumerate([600.0, 2400.0, 3000.0, 4000.0, 9000.0]):
        clock.t += step
        number = 100 + i if i == 3 else None
        assert os.path.basename(tmgr.save(checkpoint_number=number)) == os.path.basename(
            omgr.save(checkpoint_number=number) or "")
        tfiles, ofiles = _files(td), _files(od)
        assert list(tfiles) == list(ofiles)
        assert tfiles["checkpoint"] == ofiles["checkpoint"]  # even the timestamps
        assert _strip_times(tfiles["checkpoint"]) == _strip_times(ofiles["checkpoint"])
    assert [os.path.basename(p) for p in tmgr.checkpoints] == [
        os.path.basename(p) for p in omgr.checkpoints]


def test_manager_relative_directory(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(str(tmp_path))
    tmgr = tf.train.CheckpointManager(_tf_simple(), "tfrun", max_to_keep=1)
    omgr = CheckpointManager(_ours_simple(), "ourrun", max_to_keep=1)
    for _ in range(2):
        tmgr.save()
        omgr.save()
    assert tmgr.latest_checkpoint == "tfrun/ckpt-2"
    assert omgr.latest_checkpoint == "ourrun/ckpt-2"
    assert _strip_times(_files("tfrun")["checkpoint"]) == _strip_times(
        _files("ourrun")["checkpoint"])
