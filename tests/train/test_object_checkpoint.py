"""TF2 object-based checkpoints: object paths, the object graph, Checkpoint and its manager."""

from __future__ import annotations

import os
import types

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from savedmodel_io.errors import DataLossError, InvalidArgumentError, NotFoundError
from savedmodel_io.format.bundle_reader import BundleReader
from savedmodel_io.format.bundle_writer import write_bundle
from savedmodel_io.train import object_graph as og
from savedmodel_io.train.checkpoint import Checkpoint, Module, Optimizer
from savedmodel_io.train.checkpoint_manager import CheckpointManager
from savedmodel_io.train.checkpoint_reader import load_checkpoint
from savedmodel_io.train.checkpoint_state import get_checkpoint_state
from savedmodel_io.train.variable import Variable

# ------------------------------------------------------------------ escaping

names = st.text(alphabet=st.sampled_from("ab./S_-0 é"), max_size=12)


@given(names)
def test_escape_round_trip(name: str) -> None:
    esc = og.escape_local_name(name)
    assert "/" not in esc
    assert og.unescape_local_name(esc) == name


@given(st.lists(names.filter(bool), min_size=1, max_size=5))
def test_object_path_round_trip(parts: list[str]) -> None:
    path = og.join_object_path(parts)
    assert og.split_object_path(path) == parts
    key = og.path_to_key(path)
    assert key == path + "/.ATTRIBUTES/VARIABLE_VALUE"
    assert og.key_to_path(key) == path


def test_escape_examples() -> None:
    assert og.escape_local_name("a.b/c") == "a..b.Sc"
    assert og.escape_local_name("./") == "...S"
    assert og.unescape_local_name("...S") == "./"
    assert og.split_object_path("") == []
    assert og.slot_variable_path("v", "opt", "m") == "v/.OPTIMIZER_SLOT/opt/m"
    for bad in ["a.", "a.x", ".T"]:
        with pytest.raises(InvalidArgumentError):
            og.unescape_local_name(bad)


# ------------------------------------------------------------------ object graph numbering


def _format_example() -> Checkpoint:
    """FORMAT.md 6.3: Checkpoint(model=M), M with dense, lst [v0, v1], d {'a.b/c': v}."""
    m = Module(dense=Variable("Variable", np.ones((2, 2), np.float32)),
               lst=[Variable("Variable", np.float32(1)), Variable("Variable", np.float32(2))],
               d={"a.b/c": Variable("Variable", np.float32(3))})
    ckpt = Checkpoint(model=m)
    ckpt.save_counter.assign(np.int64(1))
    return ckpt


def test_numbering_matches_format_example() -> None:
    g = og.serialize_object_graph(_format_example()).proto
    children = [[(c.local_name, c.node_id) for c in n.children] for n in g.nodes]
    assert children == [
        [("model", 1), ("save_counter", 2)],
        [("dense", 3), ("lst", 4), ("d", 5)],
        [], [], [("0", 6), ("1", 7)], [("a.b/c", 8)], [], [], [],
    ]
    keys = [[(a.name, a.full_name, a.checkpoint_key) for a in n.attributes] for n in g.nodes]
    assert keys[2] == [("VARIABLE_VALUE", "save_counter",
                        "save_counter/.ATTRIBUTES/VARIABLE_VALUE")]
    assert keys[3] == [("VARIABLE_VALUE", "Variable", "model/dense/.ATTRIBUTES/VARIABLE_VALUE")]
    assert keys[8][0][2] == "model/d/a..b.Sc/.ATTRIBUTES/VARIABLE_VALUE"
    assert all(n.HasField("has_checkpoint_values") and n.has_checkpoint_values.value
               for n in g.nodes)


def test_has_checkpoint_values_false_is_present() -> None:
    g = og.serialize_object_graph(Checkpoint(a=[], b=np.zeros(2))).proto
    assert [n.has_checkpoint_values.value for n in g.nodes] == [True, False, True]
    assert g.nodes[1].HasField("has_checkpoint_values")
    assert g.nodes[1].SerializeToString() == b"\x2a\x00"


def test_data_order_matches_format(tmp_path: object) -> None:
    path = _format_example().write(os.path.join(str(tmp_path), "ck"))
    with BundleReader(path) as r:
        offsets = {k.decode(): e.offset for k, e in r.entries()}
    assert offsets == {
        "save_counter/.ATTRIBUTES/VARIABLE_VALUE": 0,
        "model/dense/.ATTRIBUTES/VARIABLE_VALUE": 8,
        "model/lst/0/.ATTRIBUTES/VARIABLE_VALUE": 24,
        "model/lst/1/.ATTRIBUTES/VARIABLE_VALUE": 28,
        "model/d/a..b.Sc/.ATTRIBUTES/VARIABLE_VALUE": 32,
        "_CHECKPOINTABLE_OBJECT_GRAPH": 36,
    }
    assert not os.path.exists(path + "_temp")


def test_children_order_rules() -> None:
    shared = Variable("s", np.float32(0))
    ns = types.SimpleNamespace(z=shared, a={"b": np.zeros(1), "a": np.zeros(1), 1.5: 3},
                               t=(np.zeros(1), 5, np.zeros(1)), skip="text")
    ckpt = Checkpoint(zz=ns, aa=shared)
    sg = og.serialize_object_graph(ckpt)
    assert sg.paths == ["", "aa", "zz", "zz/a", "zz/t", "zz/a/b", "zz/a/a", "zz/t/0", "zz/t/2"]
    assert [(c.local_name, c.node_id) for c in sg.proto.nodes[2].children] == [
        ("z", 1), ("a", 3), ("t", 4)]


def test_slot_variables_numbered_last() -> None:
    v, w = Variable("v", np.ones(2, np.float32)), Variable("w", np.float32(2))
    opt = Optimizer(beta1_power=Variable("beta1_power", np.float32(0.9)))
    for s in ("v", "m"):
        opt.add_slot(v, s)
        opt.add_slot(w, s)
    sg = og.serialize_object_graph(Checkpoint(v=v, w=w, opt=opt))
    assert sg.paths[-4:] == ["v/.OPTIMIZER_SLOT/opt/m", "w/.OPTIMIZER_SLOT/opt/m",
                             "v/.OPTIMIZER_SLOT/opt/v", "w/.OPTIMIZER_SLOT/opt/v"]
    refs = [(s.original_variable_node_id, s.slot_name, s.slot_variable_node_id)
            for s in sg.proto.nodes[1].slot_variables]
    assert refs == [(2, "m", 5), (3, "m", 6), (2, "v", 7), (3, "v", 8)]


# ------------------------------------------------------------------ save / restore


def test_save_write_and_state_file(tmp_path: object) -> None:
    d = str(tmp_path)
    ckpt = Checkpoint(x=np.arange(3, dtype=np.int32))
    assert ckpt.write(os.path.join(d, "w")) == os.path.join(d, "w")
    assert not os.path.exists(os.path.join(d, "checkpoint"))
    with load_checkpoint(os.path.join(d, "w")) as r:
        assert "save_counter/.ATTRIBUTES/VARIABLE_VALUE" not in r  # write() adds none
    p1 = ckpt.save(os.path.join(d, "ck"))
    p2 = ckpt.save(os.path.join(d, "ck"))
    assert p2 == os.path.join(d, "ck-2")
    assert int(ckpt.save_counter.value) == 2
    text = open(os.path.join(d, "checkpoint")).read()
    assert text == 'model_checkpoint_path: "ck-2"\nall_model_checkpoint_paths: "ck-2"\n'
    with load_checkpoint(p1) as r:
        assert r["save_counter/.ATTRIBUTES/VARIABLE_VALUE"] == 1
        assert r["save_counter/.ATTRIBUTES/VARIABLE_VALUE"].dtype == np.int64


def test_round_trip_nested(tmp_path: object) -> None:
    def build(fill: float) -> Checkpoint:
        return Checkpoint(
            model=Module(k=Variable("k", np.full((2, 3), fill, np.float32)),
                         layers=[{"w": np.full(4, fill), "b": np.full((), fill, np.float16)}],
                         ns=types.SimpleNamespace(words=np.array([b"x" * int(fill)],
                                                                 dtype=object))),
            step=np.array(int(fill), np.int64))

    src = build(3)
    path = src.save(os.path.join(str(tmp_path), "ck"))
    dst = build(0)
    words = dst.model.ns.words
    dst.restore(path).assert_consumed()
    assert np.array_equal(dst.model.k.value, np.full((2, 3), 3, np.float32))
    assert np.array_equal(dst.model.layers[0]["w"], np.full(4, 3.0))
    assert dst.model.ns.words is words and words[0] == b"xxx"  # arrays restored in place
    assert int(dst.step) == 3 and int(dst.save_counter.value) == 1
    assert list(dst.to_paths()) == list(src.to_paths())


def test_read_does_not_create_save_counter(tmp_path: object) -> None:
    path = Checkpoint(v=np.ones(2)).write(os.path.join(str(tmp_path), "w"))
    c = Checkpoint(v=np.zeros(2))
    c.read(path).assert_consumed()
    assert "save_counter" not in dict(c._checkpoint_children())
    c2 = Checkpoint(v=np.zeros(2))
    with pytest.raises(AssertionError, match="save_counter"):
        c2.restore(path).assert_consumed()  # like TF: restore() creates the counter


def test_status_partial(tmp_path: object) -> None:
    path = Checkpoint(a=np.ones(2), b=np.ones(3)).write(os.path.join(str(tmp_path), "w"))
    st_ = Checkpoint(a=np.zeros(2), c=np.zeros(1)).read(path)
    with pytest.raises(AssertionError, match="b"):
        st_.assert_consumed()
    with pytest.raises(AssertionError, match="c"):
        st_.assert_existing_objects_matched()
    st_.expect_partial().assert_nontrivial_match()
    with pytest.raises(AssertionError):
        Checkpoint(a=np.zeros(2)).restore(None).assert_consumed()


def test_from_paths_and_view(tmp_path: object) -> None:
    k = np.arange(12, dtype=np.float32).reshape(4, 3)
    values = {
        "model/layer_with_weights-0/kernel": k,
        "model/layer_with_weights-0/bias": np.ones(3, np.float32),
        "model/d/a..b.Sc/.ATTRIBUTES/VARIABLE_VALUE": np.float32(5),
        "model/layer_with_weights-0/kernel/.OPTIMIZER_SLOT/optimizer/m": k * 2,
        "optimizer/iter": np.int64(7),
        "save_counter": np.int64(4),
    }
    ckpt = Checkpoint.from_paths(values)
    path = ckpt.write(os.path.join(str(tmp_path), "fp"))
    with load_checkpoint(path) as reader:
        view = og.ObjectGraphView(reader)
        assert list(view.paths()) == [
            "save_counter", "optimizer/iter", "model/layer_with_weights-0/kernel",
            "model/layer_with_weights-0/bias", "model/d/a..b.Sc",
            "model/layer_with_weights-0/kernel/.OPTIMIZER_SLOT/optimizer/m"]
        assert set(view) == {og.key_to_path(p) for p in values}
        assert np.array_equal(view["model/layer_with_weights-0/kernel"], k)
        assert np.array_equal(
            view["model/layer_with_weights-0/kernel/.OPTIMIZER_SLOT/optimizer/m"], k * 2)
        assert view["model/d/a..b.Sc"] == 5
        assert view.key("model/d/a..b.Sc") == "model/d/a..b.Sc/.ATTRIBUTES/VARIABLE_VALUE"
        assert view.children("model") == {"layer_with_weights-0": "model/layer_with_weights-0",
                                          "d": "model/d"}
        assert view.full_name("optimizer/iter") == "optimizer/iter"
        with pytest.raises(NotFoundError, match="no child 'nope'"):
            view["model/nope"]
        assert "model/nope" not in view
    back = Checkpoint.from_paths({p: np.zeros_like(np.asarray(v)) for p, v in values.items()})
    back.read(path).assert_consumed()
    got = back.to_paths()
    for p, v in values.items():
        assert np.array_equal(got[og.key_to_path(p)], v)


def test_view_aliases_and_shared_objects(tmp_path: object) -> None:
    v = Variable("v", np.float32(1))
    path = Checkpoint(a=Module(v=v), b={"again": v}).write(os.path.join(str(tmp_path), "s"))
    with load_checkpoint(path) as reader:
        view = og.ObjectGraphView(reader)
        assert view.paths() == {"a/v": "a/v/.ATTRIBUTES/VARIABLE_VALUE"}
        assert view.key("b/again") == "a/v/.ATTRIBUTES/VARIABLE_VALUE"
        assert view.node_id("b/again") == view.node_id("a/v")


def test_slot_restore_creates_slots(tmp_path: object) -> None:
    v = Variable("v", np.ones(2, np.float32))
    opt = Optimizer(lr=np.float32(0.1))
    opt.add_slot(v, "m", np.full(2, 7, np.float32))
    path = Checkpoint(v=v, opt=opt).write(os.path.join(str(tmp_path), "o"))
    v2 = Variable("v", np.zeros(2, np.float32))
    opt2 = Optimizer(lr=np.float32(0))
    Checkpoint(v=v2, opt=opt2).read(path).assert_consumed()
    assert np.array_equal(opt2.get_slot(v2, "m").value, [7, 7])


def test_view_rejects_name_based_and_garbage(tmp_path: object) -> None:
    p = os.path.join(str(tmp_path), "n")
    write_bundle(p, {"dense/kernel": np.ones(2, np.float32)})
    with load_checkpoint(p) as r, pytest.raises(NotFoundError, match="name-based"):
        og.ObjectGraphView(r)
    # Checkpoint.restore falls back to names.
    c = Checkpoint(k=Variable("dense/kernel", np.zeros(2, np.float32)))
    c.read(p).assert_consumed()
    assert np.array_equal(c.k.value, [1, 1])
    g = os.path.join(str(tmp_path), "g")
    write_bundle(g, {og.OBJECT_GRAPH_KEY: np.array(b"\xff\xff", dtype=object)})
    with load_checkpoint(g) as r, pytest.raises(DataLossError):
        og.ObjectGraphView(r)


@pytest.mark.parametrize("bad, words", [
    (np.zeros(3, np.float32), "shape [2]"),
    (np.zeros(2, np.int32), "dtype DT_FLOAT"),
])
def test_restore_mismatch_names_variable_and_file(tmp_path: object, bad: np.ndarray,
                                                  words: str) -> None:
    path = Checkpoint(a=np.ones(1, np.float32),
                      model=Module(w=np.ones(2, np.float32))).write(
        os.path.join(str(tmp_path), "m"))
    a = np.zeros(1, np.float32)
    dst = Checkpoint(a=a, model=Module(w=bad))
    with pytest.raises(InvalidArgumentError) as e:
        dst.read(path)
    msg = str(e.value)
    assert "'model/w'" in msg and path in msg and words in msg
    assert a[0] == 0 and not bad.any()  # nothing was overwritten


def test_write_failure_leaves_nothing(tmp_path: object) -> None:
    d = str(tmp_path)
    ckpt = Checkpoint(bad=np.array([object()], dtype=object))
    with pytest.raises(Exception):  # noqa: B017 - any error; the point is the cleanup
        ckpt.save(os.path.join(d, "ck"))
    assert os.listdir(d) == []
    assert int(ckpt.save_counter.value) == 0


# ------------------------------------------------------------------ manager


class FakeClock:
    def __init__(self, t: float = 1_700_000_000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def _files(d: str) -> list[str]:
    return sorted(f for f in os.listdir(d) if f != "checkpoint")


def test_manager_retention(tmp_path: object) -> None:
    d = str(tmp_path)
    clock = FakeClock()
    ckpt = Checkpoint(v=np.zeros(2))
    mgr = CheckpointManager(ckpt, d, max_to_keep=2, clock=clock)
    assert mgr.latest_checkpoint is None and mgr.directory == d
    for _ in range(4):
        clock.t += 10
        mgr.save()
    assert mgr.checkpoints == [os.path.join(d, "ckpt-3"), os.path.join(d, "ckpt-4")]
    assert _files(d) == ["ckpt-3.data-00000-of-00001", "ckpt-3.index",
                         "ckpt-4.data-00000-of-00001", "ckpt-4.index"]
    assert open(os.path.join(d, "checkpoint")).read() == (
        'model_checkpoint_path: "ckpt-4"\n'
        'all_model_checkpoint_paths: "ckpt-3"\n'
        'all_model_checkpoint_paths: "ckpt-4"\n'
        "all_model_checkpoint_timestamps: 1700000030.0\n"
        "all_model_checkpoint_timestamps: 1700000040.0\n"
        "last_preserved_timestamp: 1699999999.0\n")
    # A new manager picks the list up from the state file.
    mgr2 = CheckpointManager(Checkpoint(v=np.zeros(2)), d, max_to_keep=2, clock=clock)
    assert mgr2.checkpoints == mgr.checkpoints
    assert mgr2.latest_checkpoint == os.path.join(d, "ckpt-4")
    v = np.zeros(2)
    mgr3 = CheckpointManager(Checkpoint(v=v), d, max_to_keep=2, clock=clock)
    assert mgr3.restore_or_initialize() == os.path.join(d, "ckpt-4")
    assert int(mgr3.checkpoint.save_counter.value) == 4
    clock.t += 10
    assert mgr3.save() == os.path.join(d, "ckpt-5")
    assert get_checkpoint_state(d) is not None


def test_manager_keep_every_n_hours(tmp_path: object) -> None:
    d = str(tmp_path)
    clock = FakeClock(0.0)
    mgr = CheckpointManager(Checkpoint(v=np.zeros(1)), d, max_to_keep=1,
                            keep_checkpoint_every_n_hours=1, clock=clock)
    for t in (1000.0, 2000.0, 4000.0, 5000.0):
        clock.t = t
        mgr.save()
    # ckpt-1 (t=1000 >= -1 + 3600? no) deleted; ckpt-2 deleted; ckpt-3 (4000-3600 >= -1) kept.
    assert _files(d) == ["ckpt-3.data-00000-of-00001", "ckpt-3.index",
                         "ckpt-4.data-00000-of-00001", "ckpt-4.index"]
    assert mgr.checkpoints == [os.path.join(d, "ckpt-4")]
    state = get_checkpoint_state(d)
    assert state is not None and state.last_preserved_timestamp == 4000.0


def test_manager_options(tmp_path: object) -> None:
    d = str(tmp_path)
    with pytest.raises(InvalidArgumentError):
        CheckpointManager(Checkpoint(), d, max_to_keep=0)
    with pytest.raises(InvalidArgumentError):
        CheckpointManager(Checkpoint(), d, max_to_keep=1, checkpoint_interval=2)
    called = []
    step = Variable("step", np.int64(0))
    mgr = CheckpointManager(Checkpoint(step=step), d, max_to_keep=None, step_counter=step,
                            checkpoint_interval=2, init_fn=lambda: called.append(1),
                            checkpoint_name="model")
    assert mgr.restore_or_initialize() is None and called == [1]
    assert mgr.save() == os.path.join(d, "model-1")
    assert mgr.save() is None  # same step
    step.assign(np.int64(1))
    assert mgr.save() is None  # interval not reached
    assert mgr.save(check_interval=False) == os.path.join(d, "model-2")
    step.assign(np.int64(5))
    assert mgr.save(checkpoint_number=50) == os.path.join(d, "model-50")
    assert int(mgr.checkpoint.save_counter.value) == 3
    assert len(mgr.checkpoints) == 3  # max_to_keep=None keeps everything


def test_manager_clock_went_back(tmp_path: object) -> None:
    d = str(tmp_path)
    clock = FakeClock(100.0)
    CheckpointManager(Checkpoint(v=np.zeros(1)), d, max_to_keep=3, clock=clock).save()
    clock.t = 50.0
    with pytest.warns(UserWarning, match="behind"):
        mgr = CheckpointManager(Checkpoint(v=np.zeros(1)), d, max_to_keep=3, clock=clock)
    assert mgr.checkpoints == []  # its timestamp is clipped to now = last preserved
