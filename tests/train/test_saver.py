"""Saver: round trips, keys, retention, state-file paths, restore errors."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from savedmodel_io.errors import InvalidArgumentError, NotFoundError
from savedmodel_io.format.bundle_writer import write_bundle
from savedmodel_io.protos import meta_graph_pb2
from savedmodel_io.train.checkpoint_reader import load_checkpoint
from savedmodel_io.train.checkpoint_state import get_checkpoint_state
from savedmodel_io.train.saver import Saver, meta_graph_filename
from savedmodel_io.train.variable import SaveSliceInfo, Variable, partition


class FakeClock:
    def __init__(self, t: float = 1_000_000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def make_vars() -> tuple[Variable, Variable, Variable]:
    return (Variable("w", np.arange(6, dtype=np.float32).reshape(2, 3)),
            Variable("scope/b", np.int64(7), trainable=False, resource=True),
            Variable("s", np.array([b"x", b"yz"], dtype=object)))


def state_text(d: Path) -> str:
    return (d / "checkpoint").read_text()


def test_round_trip_in_place(tmp_path: Path) -> None:
    w, b, s = make_vars()
    saver = Saver([w, b, s])
    prefix = saver.save(str(tmp_path / "model.ckpt"), global_step=3)
    assert prefix == str(tmp_path / "model.ckpt-3")
    names = sorted(os.listdir(tmp_path))
    assert names == ["checkpoint", "model.ckpt-3.data-00000-of-00001", "model.ckpt-3.index",
                     "model.ckpt-3.meta"]
    with load_checkpoint(prefix) as r:
        assert sorted(r) == ["s", "scope/b", "w"]
        np.testing.assert_array_equal(r["w"], w.value)
    w.assign(np.zeros((2, 3), np.float32))
    b.assign(np.int64(0))
    s.assign(np.array([b"", b""], dtype=object))
    assert saver.restore(prefix) == {}
    np.testing.assert_array_equal(w.value, np.arange(6, dtype=np.float32).reshape(2, 3))
    assert b.value == 7 and list(s.value) == [b"x", b"yz"]


def test_data_in_ascending_key_order(tmp_path: Path) -> None:
    vs = [Variable(n, np.float32(i)) for i, n in enumerate(["z", "a", "m/x", "m"])]
    prefix = Saver(vs).save(str(tmp_path / "c"))
    assert prefix is not None
    data = (tmp_path / "c.data-00000-of-00001").read_bytes()
    assert np.frombuffer(data, np.float32).tolist() == [1.0, 3.0, 2.0, 0.0]  # a m m/x z


def test_sharded_round_trip(tmp_path: Path) -> None:
    w, b, s = make_vars()
    saver = Saver([w, b, s], sharded=True)
    prefix = saver.save(str(tmp_path / "m"), global_step=1)
    assert prefix == str(tmp_path / "m-1")
    assert not (tmp_path / "m-1_temp").exists()
    assert sorted(os.listdir(tmp_path)) == ["checkpoint", "m-1.data-00000-of-00001",
                                            "m-1.index", "m-1.meta"]
    w.assign(np.zeros((2, 3), np.float32))
    saver.restore(prefix)
    assert w.value[1, 2] == 5
    # Identical bytes to the unsharded save (one shard, merged).
    p2 = Saver([w, b, s]).save(str(tmp_path / "u"), global_step=1)
    assert p2 is not None
    assert (tmp_path / "u-1.index").read_bytes() == (tmp_path / "m-1.index").read_bytes()


def test_dict_var_list_renames_and_arrays(tmp_path: Path) -> None:
    w, _, _ = make_vars()
    arr = np.array([9, 9, 9], np.int32)
    saver = Saver({"renamed/w": w, "plain": arr})
    arr[:] = [1, 2, 3]  # plain arrays are read when saving, not when the Saver is made
    prefix = saver.save(str(tmp_path / "ckpt"))
    assert prefix is not None
    assert sorted(load_checkpoint(prefix)) == ["plain", "renamed/w"]
    arr[:] = 0
    w.assign(np.zeros((2, 3), np.float32))
    out = saver.restore(prefix)
    np.testing.assert_array_equal(out["plain"], [1, 2, 3])
    np.testing.assert_array_equal(arr, [1, 2, 3])  # writeable arrays are filled in place
    assert w.value[0, 1] == 1
    # A subset restores from the bigger checkpoint; a rename restores under its new key.
    w2 = Variable("other", np.zeros((2, 3), np.float32))
    Saver({"renamed/w": w2}).restore(prefix)
    np.testing.assert_array_equal(w2.value, w.value)


def test_partitioned_variable(tmp_path: Path) -> None:
    full = np.arange(10, dtype=np.float32).reshape(5, 2)
    parts = partition("emb", full, 2)
    assert [p.shape for p in parts] == [(3, 2), (2, 2)]
    assert parts[0].save_slice_info == SaveSliceInfo("emb", (5, 2), (0, 0), (3, 2))
    saver = Saver(parts)
    prefix = saver.save(str(tmp_path / "p"))
    assert prefix is not None
    with load_checkpoint(prefix) as r:
        assert r.get_variable_to_shape_map() == {"emb": [5, 2]}
        np.testing.assert_array_equal(r["emb"], full)
    # A dict of parts without slice info: stacked along axis 0.
    q = [Variable("q0", np.zeros((3, 2), np.float32)), Variable("q1", np.zeros((2, 2),
                                                                              np.float32))]
    Saver({"emb": q}).restore(prefix)
    np.testing.assert_array_equal(np.concatenate([q[0].value, q[1].value]), full)
    # The whole tensor restores into one plain variable too.
    one = Variable("emb", np.zeros((5, 2), np.float32))
    Saver([one]).restore(prefix)
    np.testing.assert_array_equal(one.value, full)


def test_pad_step_number(tmp_path: Path) -> None:
    w, _, _ = make_vars()
    prefix = Saver([w], pad_step_number=True).save(str(tmp_path / "m"), global_step=42)
    assert prefix == str(tmp_path / "m-00000042")
    assert (tmp_path / "m-00000042.meta").exists()


def test_global_step_variable(tmp_path: Path) -> None:
    w, _, _ = make_vars()
    step = Variable("global_step", np.int64(9), trainable=False)
    assert Saver([w, step]).save(str(tmp_path / "m"), global_step=step) == str(
        tmp_path / "m-9")


def test_retention_max_to_keep(tmp_path: Path) -> None:
    w, _, _ = make_vars()
    saver = Saver([w], max_to_keep=2, clock=FakeClock())
    base = str(tmp_path / "model.ckpt")
    for step in (10, 20, 30):
        saver.save(base, global_step=step)
    assert saver.last_checkpoints == [base + "-20", base + "-30"]
    assert not any(n.startswith("model.ckpt-10") for n in os.listdir(tmp_path))
    # FORMAT 4.1: TF1 Saver with an absolute path records absolute paths.
    assert state_text(tmp_path) == (
        f'model_checkpoint_path: "{base}-30"\n'
        f'all_model_checkpoint_paths: "{base}-20"\n'
        f'all_model_checkpoint_paths: "{base}-30"\n')
    # Re-saving an existing path moves it to the end.
    saver.save(base, global_step=20)
    assert saver.last_checkpoints == [base + "-30", base + "-20"]


def test_retention_keep_every_n_hours(tmp_path: Path) -> None:
    w, _, _ = make_vars()
    clock = FakeClock(0.0)
    saver = Saver([w], max_to_keep=1, keep_checkpoint_every_n_hours=1.0, clock=clock)
    base = str(tmp_path / "m")
    for step, t in enumerate([0.0, 1800.0, 3601.0, 3700.0, 5000.0, 7300.0, 7400.0]):
        clock.t = t
        saver.save(base, global_step=step)
    left = sorted(n[:-6] for n in os.listdir(tmp_path) if n.endswith(".index"))
    # next_checkpoint_time starts at 3600: the first checkpoint saved after it (step 2,
    # t=3601) is kept; then the next one after 7200 (step 5, t=7300); plus the newest.
    assert left == ["m-2", "m-5", "m-6"]
    assert saver.last_checkpoints == [base + "-6"]


def test_max_to_keep_zero_keeps_everything(tmp_path: Path) -> None:
    w, _, _ = make_vars()
    saver = Saver([w], max_to_keep=0)
    for step in range(3):
        saver.save(str(tmp_path / "m"), global_step=step)
    assert len([n for n in os.listdir(tmp_path) if n.endswith(".index")]) == 3
    assert saver.last_checkpoints == []
    assert state_text(tmp_path).count("all_model_checkpoint_paths") == 1


def test_recover_last_checkpoints(tmp_path: Path) -> None:
    w, _, _ = make_vars()
    base = str(tmp_path / "m")
    first = Saver([w], max_to_keep=2)
    for step in range(2):
        first.save(base, global_step=step)
    state = get_checkpoint_state(str(tmp_path))
    assert state is not None
    second = Saver([w], max_to_keep=2)
    second.recover_last_checkpoints(list(state.all_model_checkpoint_paths) + [base + "-99"])
    assert second.last_checkpoints == [base + "-0", base + "-1"]
    second.save(base, global_step=2)
    assert not os.path.exists(base + "-0.index") and not os.path.exists(base + "-0.meta")


def test_relative_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    w, _, _ = make_vars()
    monkeypatch.chdir(tmp_path)
    os.mkdir("t2")
    saver = Saver([w], max_to_keep=2)
    assert saver.save("t2/model.ckpt") == "t2/model.ckpt"
    # FORMAT 4.2: a relative save dir records paths relative to it.
    assert (tmp_path / "t2" / "checkpoint").read_text() == (
        'model_checkpoint_path: "model.ckpt"\nall_model_checkpoint_paths: "model.ckpt"\n')
    # save_relative_paths with an absolute path
    d = tmp_path / "abs"
    d.mkdir()
    saver2 = Saver([w], max_to_keep=2, save_relative_paths=True)
    for step in (1, 2):
        saver2.save(str(d / "ckpt"), global_step=step)
    assert (d / "checkpoint").read_text() == (
        'model_checkpoint_path: "ckpt-2"\n'
        'all_model_checkpoint_paths: "ckpt-1"\nall_model_checkpoint_paths: "ckpt-2"\n')


def test_write_state_false_and_no_meta(tmp_path: Path) -> None:
    w, _, _ = make_vars()
    Saver([w]).save(str(tmp_path / "m"), write_state=False, write_meta_graph=False)
    assert sorted(os.listdir(tmp_path)) == ["m.data-00000-of-00001", "m.index"]


def test_save_errors(tmp_path: Path) -> None:
    w, _, _ = make_vars()
    saver = Saver([w])
    with pytest.raises(InvalidArgumentError, match="doesn't exist"):
        saver.save(str(tmp_path / "missing" / "m"))
    with pytest.raises(InvalidArgumentError, match="collides"):
        saver.save(str(tmp_path / "checkpoint"))
    with pytest.raises(InvalidArgumentError, match="path components"):
        saver.save(str(tmp_path / "m"), latest_filename="a/b")
    with pytest.raises(InvalidArgumentError, match="no variables"):
        Saver([])
    assert Saver([], allow_empty=True).save(str(tmp_path / "e")) is None
    with pytest.raises(InvalidArgumentError, match="named"):
        Saver([Variable("x", 1.0), Variable("x", 2.0)])


def test_restore_errors_name_variable_and_file(tmp_path: Path) -> None:
    prefix = str(tmp_path / "c")
    write_bundle(prefix, {"w": np.zeros((2, 3), np.float64), "v": np.zeros(4, np.float32)})
    w = Variable("w", np.ones((2, 3), np.float32))
    with pytest.raises(InvalidArgumentError) as e:
        Saver([w]).restore(prefix)
    assert "'w'" in str(e.value) and prefix in str(e.value) and "DT_DOUBLE" in str(e.value)
    v = Variable("v", np.ones((2, 2), np.float32))
    with pytest.raises(InvalidArgumentError, match=r"shape \[2, 2\].*\[4\]"):
        Saver([v]).restore(prefix)
    Saver([v], reshape=True).restore(prefix)
    assert v.value.shape == (2, 2) and not v.value.any()
    with pytest.raises(NotFoundError, match="not found"):
        Saver([Variable("nope", 1.0)]).restore(prefix)
    with pytest.raises(NotFoundError):
        Saver([v]).restore(str(tmp_path / "absent"))


def test_nothing_overwritten_on_failure(tmp_path: Path) -> None:
    prefix = str(tmp_path / "c")
    write_bundle(prefix, {"a": np.full(3, 5.0, np.float32), "b": np.zeros(2, np.int32)})
    a = Variable("a", np.ones(3, np.float32))
    b = Variable("b", np.ones(3, np.int32))  # wrong shape
    with pytest.raises(InvalidArgumentError, match="'b'"):
        Saver([a, b]).restore(prefix)
    np.testing.assert_array_equal(a.value, np.ones(3, np.float32))


def test_variable_assign_checks() -> None:
    v = Variable("v:0", np.zeros(2, np.float32))
    assert v.name == "v"
    with pytest.raises(InvalidArgumentError, match="dtype"):
        v.assign(np.zeros(2, np.int32))
    with pytest.raises(InvalidArgumentError, match="shape"):
        v.assign(np.zeros(3, np.float32))
    src = np.ones(2, np.float32)
    v.assign(src)
    src[0] = 9
    assert v.value[0] == 1
    with pytest.raises(InvalidArgumentError):
        Variable("_bad", 1.0)


def test_meta_graph_contents(tmp_path: Path) -> None:
    w, b, _ = make_vars()
    saver = Saver([w, b], max_to_keep=3)
    prefix = saver.save(str(tmp_path / "m"))
    assert prefix is not None
    mg = meta_graph_pb2.MetaGraphDef()
    mg.ParseFromString((tmp_path / "m.meta").read_bytes())
    assert mg.saver_def == saver.as_saver_def()
    assert mg.saver_def.max_to_keep == 3
    assert mg.meta_info_def.tensorflow_version == "2.21.0"
    names = [n.name for n in mg.graph_def.node]
    assert {"w", "w/read", "scope/b", "scope/b/Read/ReadVariableOp", "save/SaveV2",
            "save/restore_all"} <= set(names)
    assert len(mg.collection_def["variables"].bytes_list.value) == 2
    assert len(mg.collection_def["trainable_variables"].bytes_list.value) == 1
    ops = [o.name for o in mg.meta_info_def.stripped_op_list.op]
    assert ops == sorted({n.op for n in mg.graph_def.node})
    stripped = saver.export_meta_graph(strip_default_attrs=True)
    assert stripped.meta_info_def.stripped_default_attrs
    text = saver.export_meta_graph(str(tmp_path / "x.pbtxt"), as_text=True)
    assert (tmp_path / "x.pbtxt").read_text().startswith("meta_info_def")
    assert text.saver_def.restore_op_name == "save/restore_all"


def test_meta_graph_filename() -> None:
    assert meta_graph_filename("a/m-00000-of-00002") == "a/m.meta"
    assert meta_graph_filename("a/m-10", "x") == "a/m-10.x"


def test_cleans_tempstate_leftovers(tmp_path: Path) -> None:
    w, _, _ = make_vars()
    junk = [tmp_path / "m-1.index.tempstate123", tmp_path / "m-1.data-00000-of-00001.tempstate9",
            tmp_path / "checkpoint.tempstate77"]
    for j in junk:
        j.write_bytes(b"junk")
    keep = tmp_path / "other.index.tempstate5"
    keep.write_bytes(b"x")
    Saver([w]).save(str(tmp_path / "m"), global_step=1)
    assert not any(j.exists() for j in junk)
    assert keep.exists()
