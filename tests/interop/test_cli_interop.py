"""savedmodel-cli against TensorFlow 2.21's own tools, on files TensorFlow writes here.

TensorFlow saves TF1, TF2 and Keras SavedModels and V1/V2/TF2 checkpoints (the builders of
tests/data/make_cli_goldens.py), then its ``saved_model_cli`` and ``inspect_checkpoint``
run on them (``show --all`` as a real ``python -m tensorflow.python.tools.saved_model_cli``
process, since its function listing depends on a process-wide counter; the rest through
the tools' own functions, as the golden script does) and our output must be the same line
for line, printed sets compared as sets. Weight export is checked by TensorFlow reading
and restoring what we write.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from savedmodel_io.cli import main
from tests.cli.clitext import canonical, set_of

HERE = Path(__file__).resolve().parent
TF_READER_FAILURES = ("Data type not supported", "Sliced checkpoints are not supported",
                      "Dtype string not supported")


def _generator() -> ModuleType:
    path = HERE.parent / "data" / "make_cli_goldens.py"
    spec = importlib.util.spec_from_file_location("make_cli_goldens", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


GEN = _generator()


@pytest.fixture(scope="module")
def files(tf: ModuleType, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    root = tmp_path_factory.mktemp("cli_interop")
    out = {name: str(root / name) for name in ("tf1", "tf2", "keras_export", "keras_tfsave")}
    GEN.build_tf1(out["tf1"])
    GEN.build_tf2(out["tf2"])
    GEN.build_keras(out["keras_export"], out["keras_tfsave"])
    out["ckpt_v1"] = GEN.build_tf1_checkpoint(str(root / "v1"), version="V1", count=90,
                                              sharded=False)
    out["ckpt_v1_sharded"] = GEN.build_tf1_checkpoint(str(root / "v1s"), version="V1",
                                                      count=30, sharded=True)
    out["ckpt_v2"] = GEN.build_tf1_checkpoint(str(root / "v2"), version="V2", count=30,
                                              sharded=True)
    out["ckpt_tf2"] = GEN.build_tf2_checkpoint(str(root / "tf2ckpt"))
    return out


def ours(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


def _same(mine: str, theirs: str) -> bool:
    a, b = canonical(mine), canonical(theirs)
    cut = next((i for i, ln in enumerate(b) if ln.startswith(TF_READER_FAILURES)), None)
    if cut is None:
        return a == b
    return a[:cut] == b[:cut]  # TensorFlow gave up on a tensor; we print it


@pytest.mark.parametrize("model", ["tf1", "tf2", "keras_export", "keras_tfsave"])
def test_show_equals_saved_model_cli(model: str, files: dict[str, str]) -> None:
    d = files[model]
    different = []
    for argv in GEN.show_argvs(d):
        status, theirs, error = GEN.run_saved_model_cli(
            "show", ["--dir", d, *argv], subprocess_run="--all" in argv)
        code, mine, err = ours(["show", "--dir", d, *argv])
        assert status == 0, (argv, error)
        if code != 0 or not _same(mine, theirs):
            different.append((argv, mine, theirs, err))
    assert not different, different[0]


@pytest.mark.parametrize("model", ["tf1", "tf2"])
def test_show_errors_name_what_is_there(model: str, files: dict[str, str]) -> None:
    d = files[model]
    for argv in (["--tag_set", "nope"], ["--tag_set", "serve", "--signature_def", "nope"]):
        status, _, error = GEN.run_saved_model_cli("show", ["--dir", d, *argv],
                                                   subprocess_run=False)
        code, mine, err = ours(["show", "--dir", d, *argv])
        assert status == 1 and code == 1 and mine == ""
        assert err.count("\n") == 1 and error.split("Please")[0].strip() in err
        tf_choices = error.split(":")[-1].replace("[", "").replace("]", "").replace("'", "")
        our_choices = err.split(":")[-1].replace("[", "").replace("]", "").replace("'", "")
        as_set = {frozenset(c.strip().split(",")) for c in tf_choices.split(", ")}
        assert {frozenset(c.strip().split(",")) for c in our_choices.split(", ")} == as_set


@pytest.mark.parametrize("model", ["tf1", "tf2", "keras_export"])
def test_scan_reports_at_least_what_tensorflow_reports(model: str,
                                                       files: dict[str, str]) -> None:
    d = files[model]
    for argv in GEN.scan_argvs(d):
        status, theirs, error = GEN.run_saved_model_cli("scan", ["--dir", d, *argv],
                                                        subprocess_run=False)
        code, mine, _ = ours(["scan", "--dir", d, *argv])
        assert status == 0 and code == 0, error
        tf_lines = theirs.splitlines()
        my_lines = [ln for ln in mine.splitlines()
                    if not ln.startswith("  ") and "run here" not in ln]
        assert len(my_lines) == len(tf_lines)
        for m, t in zip(my_lines, tf_lines, strict=True):
            assert m.split(" contain")[0] == t.split(" contain")[0]
            assert set_of(m) >= set_of(t)
            if model != "tf2":  # only the TF2 model hides ops where TensorFlow's scan
                assert m == t or set_of(m) == set_of(t)  # cannot see them


def test_scan_sees_the_write_inside_a_while_body(files: dict[str, str]) -> None:
    _, theirs, _ = GEN.run_saved_model_cli("scan", ["--dir", files["tf2"]],
                                           subprocess_run=False)
    _, mine, _ = ours(["scan", "--dir", files["tf2"]])
    assert set_of(theirs.splitlines()[0]) == {"PrintV2"}
    assert set_of(mine.splitlines()[0]) == {"PrintV2", "WriteFile"}
    assert "TensorFlow's scan misses it" in mine


CHECKPOINTS = {"ckpt_v1": "big", "ckpt_v1_sharded": "count", "ckpt_v2": "part",
               "ckpt_tf2": "model/l/1/.ATTRIBUTES/VARIABLE_VALUE"}


@pytest.mark.parametrize("name", sorted(CHECKPOINTS))
def test_inspect_equals_inspect_checkpoint(name: str, files: dict[str, str]) -> None:
    prefix = files[name]
    different = []
    for argv in GEN.inspect_argvs(prefix, CHECKPOINTS[name]):
        full = [f"--file_name={prefix}", *argv]
        _, theirs, _ = GEN.run_inspect_checkpoint(full, subprocess_run=False)
        code, mine, err = ours(["inspect", *full])
        if code != 0 or not _same(mine, theirs):
            different.append((argv, mine, theirs, err))
    assert not different, different[0]


def test_inspect_equals_the_real_tool(files: dict[str, str]) -> None:
    """One run each through ``python -m tensorflow.python.tools.inspect_checkpoint``."""
    for name in ("ckpt_v1_sharded", "ckpt_tf2"):
        full = [f"--file_name={files[name]}", "--all_tensors"]
        _, theirs, _ = GEN.run_inspect_checkpoint(full, subprocess_run=True)
        code, mine, _ = ours(["inspect", *full])
        assert code == 0 and _same(mine, theirs)


def test_missing_tensor_line(files: dict[str, str]) -> None:
    full = [f"--file_name={files['ckpt_v2']}", "--tensor_name=nope"]
    _, theirs, _ = GEN.run_inspect_checkpoint(full, subprocess_run=False)
    code, mine, _ = ours(["inspect", *full])
    assert mine == theirs == "Tensor nope not found in checkpoint\n" and code == 1


# ------------------------------------------------------------------ weight export


def test_exported_tf2_checkpoint_restores_in_tensorflow(tf: ModuleType, tmp_path: Path) -> None:
    class Net(tf.Module):  # type: ignore[name-defined,misc]
        def __init__(self, seed: int) -> None:
            rng = np.random.RandomState(seed)
            self.dense = {"kernel": tf.Variable(rng.randn(3, 2).astype(np.float32)),
                          "bias.x/y": tf.Variable(rng.randn(2))}
            self.steps = tf.Variable(seed, dtype=tf.int64)
            self.half = tf.Variable(tf.constant(rng.randn(4), tf.bfloat16))

    source = Net(1)
    prefix = tf.train.Checkpoint(net=source).save(str(tmp_path / "src" / "ckpt"))
    st_file = str(tmp_path / "w.safetensors")
    assert ours(["export-weights", "--input", prefix, "--output", st_file])[0] == 0
    back = str(tmp_path / "back" / "ckpt")
    assert ours(["export-weights", "--input", st_file, "--output", back])[0] == 0

    target = Net(2)
    tf.train.Checkpoint(net=target).restore(back).assert_consumed()
    for a, b in ((source.dense["kernel"], target.dense["kernel"]),
                 (source.dense["bias.x/y"], target.dense["bias.x/y"]),
                 (source.steps, target.steps), (source.half, target.half)):
        assert a.dtype == b.dtype and np.array_equal(a.numpy(), b.numpy())

    reader = tf.train.load_checkpoint(back)
    original = tf.train.load_checkpoint(prefix)
    assert reader.get_variable_to_shape_map() == original.get_variable_to_shape_map()


def test_exported_savedmodel_variables_match_tensorflow(tf: ModuleType, files: dict[str, str],
                                                        tmp_path: Path) -> None:
    npz = tmp_path / "w.npz"
    assert ours(["export-weights", "--input", files["tf2"], "--output", str(npz)])[0] == 0
    loaded = tf.saved_model.load(files["tf2"])
    with np.load(npz) as data:
        assert np.array_equal(data["v"], loaded.v.numpy())
        assert np.array_equal(data["inner/w"], loaded.inner.w.numpy())
        assert np.array_equal(data["table/a..b.Sc"], loaded.table["a.b/c"].numpy())


def test_checkpoint_written_from_npz_reads_in_tensorflow(tf: ModuleType, files: dict[str, str],
                                                         tmp_path: Path) -> None:
    npz = tmp_path / "w.npz"
    assert ours(["export-weights", "--input", files["ckpt_v1"], "--output", str(npz)])[0] == 0
    prefix = str(tmp_path / "ckpt" / "model")
    assert ours(["export-weights", "--input", str(npz), "--output", prefix])[0] == 0
    reader = tf.train.load_checkpoint(prefix)
    with np.load(npz) as data:
        assert sorted(reader.get_variable_to_shape_map()) == sorted(data.files)
        for name in data.files:
            assert np.array_equal(reader.get_tensor(name), data[name])
    # and both inspectors agree about it
    _, theirs, _ = GEN.run_inspect_checkpoint([f"--file_name={prefix}", "--all_tensors"],
                                              subprocess_run=False)
    assert _same(ours(["inspect", f"--file_name={prefix}", "--all_tensors"])[1], theirs)


def test_structured_values_print_as_tensorflow_prints_them(tf: ModuleType) -> None:
    """Signature values encoded by TensorFlow, decoded by both: the same repr and str
    (what ``show --all`` prints for arguments)."""
    import collections

    from tensorflow.python.framework import tensor_spec
    from tensorflow.python.ops import resource_variable_ops
    from tensorflow.python.saved_model import nested_structure_coder as coder

    from savedmodel_io.cli import structured_value
    from savedmodel_io.protos import struct_pb2

    point = collections.namedtuple("Point", ["x", "y"])
    values = [
        tf.TensorSpec([None, 2], tf.float32, name="x"), tf.TensorSpec([], tf.string),
        tf.TensorSpec(None, tf.int64, name="any"), tf.TensorSpec([3], tf.bfloat16),
        tf.RaggedTensorSpec([None, None], tf.float32),
        tf.SparseTensorSpec([None, 3], tf.int64),
        tf.TensorShape([None, 4]), tf.TensorShape(None), tf.float16, tf.resource,
        (1, 2.5, "s", None, True), [tf.TensorSpec([1], tf.int32, "a"), "b"],
        point(1, tf.TensorSpec([2], tf.float32)), {"only": 3}, 1e-300, -7,
        tensor_spec.BoundedTensorSpec([2], tf.float32, 0.0, [1.0, 2.0], name="b"),
        resource_variable_ops.VariableSpec([2], tf.float32, trainable=False),
    ]
    for value in values:
        proto = coder.encode_structure(value)
        theirs = coder.decode_proto(proto)
        ours = structured_value.decode(struct_pb2.StructuredValue.FromString(
            proto.SerializeToString()))
        assert repr(ours) == repr(theirs), value
        assert str(ours) == str(theirs), value
        assert type(ours).__name__ == type(theirs).__name__, value
