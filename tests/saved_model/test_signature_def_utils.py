"""SignatureDef builders and TF Serving's validity rules; TensorInfo helpers; constants."""

from __future__ import annotations

import numpy as np
import pytest

from savedmodel_io.dtypes import DataType
from savedmodel_io.errors import InvalidArgumentError
from savedmodel_io.protos import meta_graph_pb2, tensor_pb2, types_pb2
from savedmodel_io.saved_model import (
    constants,
    signature_constants,
    signature_def_utils,
    tag_constants,
    utils,
)
from savedmodel_io.saved_model.signature_def_utils import (
    build_signature_def,
    classification_signature_def,
    is_valid_signature,
    predict_signature_def,
    regression_signature_def,
)

spec = utils.build_tensor_info_from_spec


def test_constants_have_tensorflows_values() -> None:
    assert (constants.SAVED_MODEL_FILENAME_PB, constants.SAVED_MODEL_FILENAME_PBTXT,
            constants.SAVED_MODEL_FILENAME_CPB, constants.SAVED_MODEL_FILENAME_PREFIX) == (
        "saved_model.pb", "saved_model.pbtxt", "saved_model.cpb", "saved_model")
    assert (constants.ASSETS_DIRECTORY, constants.EXTRA_ASSETS_DIRECTORY,
            constants.ASSETS_KEY) == ("assets", "assets.extra", "saved_model_assets")
    assert (constants.VARIABLES_DIRECTORY, constants.VARIABLES_FILENAME) == (
        "variables", "variables")
    assert (constants.MAIN_OP_KEY, constants.LEGACY_INIT_OP_KEY, constants.TRAIN_OP_KEY) == (
        "saved_model_main_op", "legacy_init_op", "saved_model_train_op")
    assert (constants.INIT_OP_SIGNATURE_KEY, constants.TRAIN_OP_SIGNATURE_KEY) == (
        "__saved_model_init_op", "__saved_model_train_op")
    assert (constants.DEBUG_DIRECTORY, constants.DEBUG_INFO_FILENAME_PB) == (
        "debug", "saved_model_debug_info.pb")
    assert constants.SAVED_MODEL_SCHEMA_VERSION == 1
    assert (tag_constants.SERVING, tag_constants.TRAINING, tag_constants.EVAL,
            tag_constants.GPU, tag_constants.TPU) == ("serve", "train", "eval", "gpu", "tpu")
    sc = signature_constants
    assert sc.DEFAULT_SERVING_SIGNATURE_DEF_KEY == "serving_default"
    assert (sc.CLASSIFY_METHOD_NAME, sc.PREDICT_METHOD_NAME, sc.REGRESS_METHOD_NAME) == (
        "tensorflow/serving/classify", "tensorflow/serving/predict",
        "tensorflow/serving/regress")
    assert (sc.SUPERVISED_TRAIN_METHOD_NAME, sc.SUPERVISED_EVAL_METHOD_NAME) == (
        "tensorflow/supervised/training", "tensorflow/supervised/eval")
    assert (sc.CLASSIFY_INPUTS, sc.PREDICT_INPUTS, sc.REGRESS_INPUTS) == ("inputs",) * 3
    assert (sc.CLASSIFY_OUTPUT_CLASSES, sc.CLASSIFY_OUTPUT_SCORES) == ("classes", "scores")
    assert (sc.PREDICT_OUTPUTS, sc.REGRESS_OUTPUTS) == ("outputs", "outputs")
    assert (sc.DEFAULT_TRAIN_SIGNATURE_DEF_KEY, sc.DEFAULT_EVAL_SIGNATURE_DEF_KEY) == (
        "train", "eval")


def test_build_tensor_info_from_spec() -> None:
    info = spec("x:0", "float32", [None, 1])
    assert info.name == "x:0" and info.dtype == types_pb2.DT_FLOAT
    assert [d.size for d in info.tensor_shape.dim] == [-1, 1]
    assert not info.tensor_shape.unknown_rank
    assert spec("s:0", np.dtype(object), []).dtype == types_pb2.DT_STRING
    assert spec("s:0", "DT_STRING", ()).HasField("tensor_shape")
    assert spec("i:0", np.int64, [-1]).dtype == types_pb2.DT_INT64
    assert spec("h:0", DataType.DT_HALF, [2]).dtype == types_pb2.DT_HALF
    assert spec("b:0", 10, [2]).dtype == types_pb2.DT_BOOL
    assert spec("u:0", "float32", None).tensor_shape.unknown_rank
    with pytest.raises(InvalidArgumentError):
        spec("", "float32", [1])
    with pytest.raises(InvalidArgumentError):
        spec("x:0", "float32", [-2])
    with pytest.raises(InvalidArgumentError):
        spec("x:0", "no_such_type", [1])


def test_op_ref_is_like_tensorflows() -> None:
    info = utils.build_tensor_info_op_ref("NoOp")
    expected = meta_graph_pb2.TensorInfo(name="NoOp")
    expected.tensor_shape.unknown_rank = True
    assert info == expected
    assert info.SerializeToString() == b"\n\x04NoOp\x1a\x02\x18\x01"
    sig = signature_def_utils.op_signature_def("init_all", constants.INIT_OP_SIGNATURE_KEY)
    assert sig.outputs[constants.INIT_OP_SIGNATURE_KEY].name == "init_all"
    assert sig.method_name == "" and not sig.inputs


def test_build_signature_def() -> None:
    x, y = spec("x:0", "float32", [None]), spec("y:0", "float32", [None])
    sig = build_signature_def({"x": x}, {"y": y}, "m", defaults={"x": np.float32(1.5)})
    assert sig.inputs["x"] == x and sig.outputs["y"] == y and sig.method_name == "m"
    assert sig.defaults["x"].float_val == [1.5]
    proto = tensor_pb2.TensorProto(dtype=types_pb2.DT_INT32)
    assert build_signature_def(defaults={"k": proto}).defaults["k"] == proto
    assert build_signature_def() == meta_graph_pb2.SignatureDef()
    with pytest.raises(InvalidArgumentError, match="TensorInfo"):
        build_signature_def({"x": "x:0"})  # type: ignore[dict-item]


def test_predict() -> None:
    x, y = spec("x:0", "int32", [None]), spec("y:0", "float64", [None])
    sig = predict_signature_def({"x": x}, {"y": y})
    assert sig.method_name == signature_constants.PREDICT_METHOD_NAME
    assert is_valid_signature(sig)
    with pytest.raises(InvalidArgumentError, match="Prediction `inputs` cannot be None"):
        predict_signature_def({}, {"y": y})
    with pytest.raises(InvalidArgumentError, match="Prediction `outputs` cannot be None"):
        predict_signature_def({"x": x}, None)  # type: ignore[arg-type]


def test_regression() -> None:
    ex, pred = spec("ex:0", "string", [None]), spec("p:0", "float32", [None, 1])
    sig = regression_signature_def(ex, pred)
    assert set(sig.inputs) == {"inputs"} and set(sig.outputs) == {"outputs"}
    assert sig.method_name == signature_constants.REGRESS_METHOD_NAME
    assert is_valid_signature(sig)
    with pytest.raises(InvalidArgumentError, match="input tensors must be of type string"):
        regression_signature_def(pred, pred)
    with pytest.raises(InvalidArgumentError, match="output tensors must be of type float"):
        regression_signature_def(ex, ex)
    with pytest.raises(InvalidArgumentError, match="`examples` cannot be None"):
        regression_signature_def(None, pred)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match="`predictions` cannot be None"):
        regression_signature_def(ex, None)  # type: ignore[arg-type]


def test_classification() -> None:
    ex = spec("ex:0", "string", [None])
    classes, scores = spec("c:0", "string", [None, 3]), spec("s:0", "float32", [None, 3])
    sig = classification_signature_def(ex, classes, scores)
    assert set(sig.outputs) == {"classes", "scores"}
    assert is_valid_signature(sig)
    assert set(classification_signature_def(ex, None, scores).outputs) == {"scores"}
    assert is_valid_signature(classification_signature_def(ex, classes, None))
    with pytest.raises(InvalidArgumentError, match="cannot both be None"):
        classification_signature_def(ex, None, None)
    with pytest.raises(InvalidArgumentError, match="input tensors must be of type string"):
        classification_signature_def(scores, classes, None)
    with pytest.raises(InvalidArgumentError, match="classes must be of type string"):
        classification_signature_def(ex, scores, None)
    with pytest.raises(InvalidArgumentError, match="scores must be a float Tensor"):
        classification_signature_def(ex, None, classes)


def _sig(method: str, inputs: dict[str, str], outputs: dict[str, str]
         ) -> meta_graph_pb2.SignatureDef:
    return build_signature_def({k: spec(f"{k}:0", t, [None]) for k, t in inputs.items()},
                               {k: spec(f"{k}_out:0", t, [None]) for k, t in outputs.items()},
                               method)


@pytest.mark.parametrize("sig, valid", [
    (None, False),
    (_sig(signature_constants.PREDICT_METHOD_NAME, {"a": "int8"}, {"b": "int8"}), True),
    (_sig(signature_constants.PREDICT_METHOD_NAME, {}, {"b": "int8"}), False),
    (_sig(signature_constants.PREDICT_METHOD_NAME, {"a": "int8"}, {}), False),
    (_sig("tensorflow/serving/other", {"a": "int8"}, {"b": "int8"}), False),
    (_sig(signature_constants.REGRESS_METHOD_NAME, {"inputs": "string"},
          {"outputs": "float32"}), True),
    (_sig(signature_constants.REGRESS_METHOD_NAME, {"inputs": "float32"},
          {"outputs": "float32"}), False),
    (_sig(signature_constants.REGRESS_METHOD_NAME, {"inputs": "string"},
          {"outputs": "float64"}), False),
    (_sig(signature_constants.REGRESS_METHOD_NAME, {"inputs": "string", "x": "string"},
          {"outputs": "float32"}), False),
    (_sig(signature_constants.REGRESS_METHOD_NAME, {"x": "string"},
          {"outputs": "float32"}), False),
    (_sig(signature_constants.CLASSIFY_METHOD_NAME, {"inputs": "string"},
          {"scores": "float32"}), True),
    (_sig(signature_constants.CLASSIFY_METHOD_NAME, {"inputs": "string"},
          {"classes": "string"}), True),
    (_sig(signature_constants.CLASSIFY_METHOD_NAME, {"inputs": "string"}, {}), False),
    (_sig(signature_constants.CLASSIFY_METHOD_NAME, {"inputs": "string"},
          {"scores": "float32", "extra": "float32"}), False),
    (_sig(signature_constants.CLASSIFY_METHOD_NAME, {"inputs": "string"},
          {"classes": "int64"}), False),
    (_sig(signature_constants.CLASSIFY_METHOD_NAME, {"inputs": "string"},
          {"scores": "float64"}), False),
    (_sig(signature_constants.CLASSIFY_METHOD_NAME, {"inputs": "int64"},
          {"scores": "float32"}), False),
])
def test_is_valid_signature(sig: meta_graph_pb2.SignatureDef | None, valid: bool) -> None:
    assert is_valid_signature(sig) is valid


def test_corpus_signatures_validity(corpus: object) -> None:
    from pathlib import Path

    from savedmodel_io import saved_model
    assert isinstance(corpus, Path)
    loaded = saved_model.load(corpus / "saved_model_half_plus_two_cpu/00000123", ["serve"])
    valid = {k: is_valid_signature(s) for k, s in loaded.signatures.items()}
    assert valid == {"classify_x_to_y": True, "regress_x2_to_y3": False,  # DT_FLOAT input
                     "regress_x_to_y": True, "regress_x_to_y2": True,
                     "serving_default": True}
    tf2 = saved_model.load(corpus / "saved_model_half_plus_two_tf2_cpu/00000123", ["serve"])
    assert not is_valid_signature(tf2.signatures[constants.INIT_OP_SIGNATURE_KEY])
    assert is_valid_signature(tf2.signatures["serving_default"])
