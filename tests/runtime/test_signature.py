"""``loaded.signatures[key](**inputs)``: input checks and conversion, outputs, state,
restoring variables, unsupported ops, and files a model may read."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from savedmodel_io import saved_model
from savedmodel_io.dtypes import DataType
from savedmodel_io.errors import (
    InvalidArgumentError,
    NotFoundError,
    PermissionDeniedError,
    SavedModelIOError,
    UnimplementedError,
)
from savedmodel_io.runtime import reset_session, unsupported_ops
from savedmodel_io.saved_model.loader import Signature
from tests.runtime.graphs import (
    F32,
    I32,
    Shape,
    const,
    graph,
    node,
    placeholder,
    predict,
    tensor_info,
    write_saved_model,
)

CPU = "saved_model_half_plus_two_cpu/00000123"
TF2 = "saved_model_half_plus_two_tf2_cpu/00000123"


def test_signature_objects_keep_the_signature_def(corpus: Path) -> None:
    loaded = saved_model.load(corpus / CPU, ["serve"])
    sig = loaded.signatures["serving_default"]
    assert isinstance(sig, Signature)
    assert sig.method_name == "tensorflow/serving/predict"
    assert sig.inputs["x"].name == "x:0" and sig.outputs["y"].name == "y:0"
    assert sig.signature_def is loaded.meta_graph_def.signature_def["serving_default"]
    assert sig.ListFields() == sig.signature_def.ListFields()  # the proto's own API
    assert sig.SerializeToString() == sig.signature_def.SerializeToString()
    assert list(loaded.signatures) == sorted(loaded.signatures)
    assert len(loaded.signatures) == 5 and "serving_default" in loaded.signatures
    assert "Signature 'serving_default' (x) -> (y)" in repr(sig)


def test_tf1_and_tf2_half_plus_two(corpus: Path) -> None:
    tf1 = saved_model.load(corpus / CPU, ["serve"]).signatures["serving_default"]
    out = tf1(x=np.array([[1.0], [2.0], [-3.0]], np.float32))
    assert list(out) == ["y"] and out["y"].dtype == np.float32
    assert out["y"].tolist() == [[2.5], [3.0], [0.5]]  # 0.5 * x + 2
    tf2 = saved_model.load(corpus / TF2, ["serve"]).signatures["serving_default"]
    assert tf2(x=[4.0])["y"].tolist() == [4.0]
    out["y"][0, 0] = 99  # outputs are the caller's to modify
    assert tf1(x=[[1.0]])["y"].tolist() == [[2.5]]


@pytest.mark.parametrize("value", [
    [[1], [2]], np.array([[1], [2]], np.int64), np.array([[1.0], [2.0]]),
    np.array([[True], [False]]),
])
def test_lossless_conversions_are_accepted(corpus: Path, value: object) -> None:
    sig = saved_model.load(corpus / CPU, ["serve"]).signatures["serving_default"]
    assert sig(x=value)["y"].shape == (2, 1)


@pytest.mark.parametrize("kwargs, message", [
    ({}, r"missing input\(s\) 'x' \(it takes: 'x'\)"),
    ({"x": [[1.0]], "z": 1}, r"unknown input\(s\) 'z'"),
    ({"x": [1.0]}, r"input 'x' of signature 'serving_default' must have shape \[\?,1\], got \[1\]"),
    ({"x": 3.0}, r"must have shape \[\?,1\], got \[\]"),
    ({"x": [["a"]]}, r"input 'x' of signature 'serving_default' must be float32, got strings"),
    ({"x": [[1 + 2j]]}, "got complex values"),
    ({"x": [[1], [2, 3]]}, "cannot make an array"),
])
def test_bad_inputs_name_the_input(corpus: Path, kwargs: dict[str, object], message: str
                                   ) -> None:
    sig = saved_model.load(corpus / CPU, ["serve"]).signatures["serving_default"]
    with pytest.raises(InvalidArgumentError, match=message):
        sig(**kwargs)


def int_model(tmp_path: Path) -> Signature:
    g = graph(placeholder("ids", I32, [-1]), const("one", np.int32(1)),
              node("y", "AddV2", ["ids", "one"], T=I32))
    d = write_saved_model(tmp_path / "m", g, {"serving_default": predict(
        {"ids": tensor_info("ids:0", I32, [-1])}, {"y": tensor_info("y:0", I32, [-1])})})
    return saved_model.load(d, ["serve"]).signatures["serving_default"]


@pytest.mark.parametrize("value, message", [
    (np.array([1.5]), "not whole numbers"),
    (np.array([np.nan]), "NaN or infinity cannot be an integer"),
    (np.array([np.inf]), "NaN or infinity"),
    (np.array([2**40]), r"do not fit in int32"),
    (np.array(["1"]), "must be int32, got strings"),
    (np.array([True]), None),
    (np.array([3.0]), None),
    (np.array([7], np.uint64), None),
])
def test_integer_inputs(tmp_path: Path, value: np.ndarray, message: str | None) -> None:
    sig = int_model(tmp_path)
    if message is None:
        assert sig(ids=value)["y"].dtype == np.int32
    else:
        with pytest.raises(InvalidArgumentError, match=f"input 'ids'.*{message}"):
            sig(ids=value)


def test_string_inputs_are_encoded(corpus: Path) -> None:
    from savedmodel_io.example import serialize_example

    sig = saved_model.load(corpus / CPU, ["serve"]).signatures["regress_x_to_y"]
    raw = serialize_example({"x": [1.0]})
    assert sig(inputs=[raw, raw])["outputs"].tolist() == [[2.5], [2.5]]
    with pytest.raises(InvalidArgumentError, match="input 'inputs'.*must be strings"):
        sig(inputs=np.array([1.0, 2.0]))
    with pytest.raises(InvalidArgumentError, match="Could not parse example input"):
        sig(inputs=["not a proto \xff"])
    with pytest.raises(InvalidArgumentError,
                       match="Feature: x \\(data type: float\\) is required but could not be "
                             "found"):
        sig(inputs=[serialize_example({"x2": [1.0]})])
    with pytest.raises(InvalidArgumentError, match="Data types don't match"):
        sig(inputs=[serialize_example({"x": [1]})])


def test_state_persists_per_loaded_model(corpus: Path) -> None:
    loaded = saved_model.load(corpus / "saved_model_counter/00000123", ["serve"])
    s = loaded.signatures
    assert s["get_counter"]()["output"] == 0
    assert s["incr_counter"]()["output"] == 1
    assert s["incr_counter_by"](delta=np.float32(2.5))["output"] == 3.5
    again = saved_model.load(corpus / "saved_model_counter/00000123", ["serve"])
    assert again.signatures["get_counter"]()["output"] == 0  # its own session
    reset_session(loaded)
    assert s["get_counter"]()["output"] == 0


def test_unsupported_ops_are_reported_before_running(tmp_path: Path) -> None:
    g = graph(placeholder("x", F32, [-1]),
              node("a", "Lgamma", ["x"], T=F32), node("b", "Digamma", ["a"], T=F32),
              node("ok", "Neg", ["x"], T=F32),
              node("c", "AddV2", ["b", "ok"], T=F32), node("side", "Betainc", ["x", "x", "x"]))
    sigs = {"bad": predict({"x": tensor_info("x:0", F32, [-1])},
                           {"y": tensor_info("c:0", F32, [-1])}),
            "good": predict({"x": tensor_info("x:0", F32, [-1])},
                            {"y": tensor_info("ok:0", F32, [-1])})}
    loaded = saved_model.load(write_saved_model(tmp_path / "m", g, sigs), ["serve"])
    with pytest.raises(UnimplementedError) as e:
        loaded.signatures["bad"](x=[1.0])
    assert "needs 2 op type(s) with no kernel" in str(e.value)
    assert "Digamma (node 'b'), Lgamma (node 'a')" in str(e.value)
    assert loaded.signatures["good"](x=[1.0])["y"].tolist() == [-1.0]
    assert unsupported_ops(loaded) == ["Digamma", "Lgamma"]
    assert unsupported_ops(loaded, "good") == []
    with pytest.raises(NotFoundError, match="no signature 'nope'"):
        unsupported_ops(loaded, "nope")


def test_tf1_variables_restore_by_name_without_a_saver(tmp_path: Path) -> None:
    g = graph(placeholder("x", F32, [-1]),
              node("w", "VariableV2", dtype=F32, shape=Shape([])),
              node("v", "VarHandleOp", dtype=F32, shape=Shape([]), shared_name="v"),
              node("vr", "ReadVariableOp", ["v"], dtype=F32),
              node("xw", "Mul", ["x", "w"], T=F32), node("y", "AddV2", ["xw", "vr"], T=F32))
    d = write_saved_model(tmp_path / "m", g, {"serving_default": predict(
        {"x": tensor_info("x:0", F32, [-1])}, {"y": tensor_info("y:0", F32, [-1])})},
        variables={"w": np.float32(3), "v": np.float32(0.5)})
    sig = saved_model.load(d, ["serve"]).signatures["serving_default"]
    assert sig(x=[1.0, 2.0])["y"].tolist() == [3.5, 6.5]


def test_checkpoint_dtype_mismatch_is_data_error(tmp_path: Path) -> None:
    g = graph(placeholder("x", F32, [-1]), node("w", "VariableV2", dtype=F32, shape=Shape([])),
              node("y", "Mul", ["x", "w"], T=F32))
    d = write_saved_model(tmp_path / "m", g, {"serving_default": predict(
        {"x": tensor_info("x:0", F32, [-1])}, {"y": tensor_info("y:0", F32, [-1])})},
        variables={"w": np.int64(3)})
    with pytest.raises(InvalidArgumentError, match="variable 'w' holds float32, cannot take "
                                                   "a int64"):
        saved_model.load(d, ["serve"]).signatures["serving_default"](x=[1.0])


def test_models_read_only_their_own_files(tmp_path: Path) -> None:
    outside = tmp_path / "secret.txt"
    outside.write_text("alpha\nbeta\n")
    g = graph(
        node("table", "HashTableV2", key_dtype=DataType.DT_STRING, value_dtype=DataType.DT_INT64),
        const("path", np.array(str(outside).encode(), dtype=object)),
        node("init", "InitializeTableFromTextFileV2", ["table", "path"], key_index=-2,
             value_index=-1),
        placeholder("k", DataType.DT_STRING, [-1]), const("dflt", np.int64(-1)),
        node("y", "LookupTableFindV2", ["table", "k", "dflt"], Tin=DataType.DT_STRING,
             Tout=DataType.DT_INT64))
    d = write_saved_model(tmp_path / "m", g, {"serving_default": predict(
        {"k": tensor_info("k:0", DataType.DT_STRING, [-1])},
        {"y": tensor_info("y:0", DataType.DT_INT64, [-1])})}, main_op="init")
    with pytest.raises(PermissionDeniedError, match="outside the SavedModel directory"):
        saved_model.load(d, ["serve"]).signatures["serving_default"](k=["beta"])
    inside = d / "assets"
    inside.mkdir()
    (inside / "vocab.txt").write_text("alpha\nbeta\n")
    g.node[1].attr["value"].tensor.string_val[0] = str(inside / "vocab.txt").encode()
    write_saved_model(d, g, {"serving_default": predict(
        {"k": tensor_info("k:0", DataType.DT_STRING, [-1])},
        {"y": tensor_info("y:0", DataType.DT_INT64, [-1])})}, main_op="init")
    out = saved_model.load(d, ["serve"]).signatures["serving_default"](k=["beta", "zeta"])
    assert out["y"].tolist() == [1, -1]


def test_mutated_models_give_only_our_errors(corpus: Path, tmp_path: Path) -> None:
    src = corpus / TF2
    raw = bytearray((src / "saved_model.pb").read_bytes())
    rng = np.random.RandomState(0)
    import shutil

    for trial in range(25):
        d = tmp_path / f"m{trial}"
        shutil.copytree(src, d)
        data = bytearray(raw)
        for i in rng.randint(0, len(data), size=3):
            data[i] = rng.randint(0, 256)
        (d / "saved_model.pb").write_bytes(bytes(data))
        try:
            loaded = saved_model.load(d, ["serve"])
            for sig in loaded.signatures.values():
                if sig.key.startswith("__"):
                    continue
                sig(**{k: np.ones([1], np.float32) if v.dtype == 1 else [b""]
                       for k, v in sig.inputs.items()})
        except SavedModelIOError:
            pass


def test_cyclic_or_broken_saved_model_graphs(tmp_path: Path) -> None:
    g = graph(placeholder("x", F32, [-1]), node("a", "AddV2", ["x", "b"], T=F32),
              node("b", "Neg", ["a"], T=F32), node("c", "Neg", ["gone"], T=F32))
    sigs = {"loop": predict({"x": tensor_info("x:0", F32, [-1])},
                            {"y": tensor_info("b:0", F32, [-1])}),
            "broken": predict({"x": tensor_info("x:0", F32, [-1])},
                              {"y": tensor_info("c:0", F32, [-1])})}
    loaded = saved_model.load(write_saved_model(tmp_path / "m", g, sigs), ["serve"])
    with pytest.raises(InvalidArgumentError, match="has a cycle"):
        loaded.signatures["loop"](x=[1.0])
    with pytest.raises(NotFoundError, match="takes an input from 'gone'"):
        loaded.signatures["broken"](x=[1.0])
