"""Build and check ``SignatureDef`` protos (TensorFlow's ``saved_model.signature_def_utils``).

The builders take graph tensors (:class:`savedmodel_io.graph.Tensor`), as TensorFlow's do,
or ``TensorInfo`` protos (see :mod:`savedmodel_io.saved_model.utils` to make them); the
checks and error messages are TensorFlow's::

    sig = predict_signature_def({"x": x}, {"y": y})                  # graph tensors
    sig = predict_signature_def({"x": build_tensor_info_from_spec("x:0", "float32", [None])},
                                {"y": build_tensor_info_from_spec("y:0", "float32", [None])})
    assert is_valid_signature(sig)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Union

from savedmodel_io.dtypes import DataType
from savedmodel_io.errors import InvalidArgumentError
from savedmodel_io.protos import meta_graph_pb2, tensor_pb2, types_pb2
from savedmodel_io.saved_model import signature_constants as sc
from savedmodel_io.saved_model.utils import build_tensor_info, build_tensor_info_op_ref

if TYPE_CHECKING:
    from savedmodel_io.graph.tensor import Tensor

TensorInfo = meta_graph_pb2.TensorInfo
SignatureDef = meta_graph_pb2.SignatureDef
TensorLike = Union[TensorInfo, "Tensor"]
"""A graph Tensor or a TensorInfo proto: what the builders take."""


def _is_graph_tensor(value: object) -> bool:
    from savedmodel_io.graph.tensor import Tensor
    return isinstance(value, Tensor) or all(
        isinstance(getattr(value, a, None), Tensor) for a in ("indices", "values", "dense_shape"))


def _tensor_info(value: object, what: str) -> TensorInfo:
    if isinstance(value, TensorInfo):
        return value
    if _is_graph_tensor(value):
        return build_tensor_info(value)
    if hasattr(value, "SerializeToString") and getattr(
            getattr(value, "DESCRIPTOR", None), "full_name", "") == "tensorflow.TensorInfo":
        # A TensorInfo of another protobuf class (e.g. TensorFlow's own): go through bytes.
        info = TensorInfo()
        info.ParseFromString(value.SerializeToString())
        return info
    raise InvalidArgumentError(
        f"{what} must be a graph Tensor or a TensorInfo proto (see saved_model.utils."
        f"build_tensor_info_from_spec), got {type(value).__name__}")


def _tensor_proto(value: object, what: str) -> tensor_pb2.TensorProto:
    if isinstance(value, tensor_pb2.TensorProto):
        return value
    from savedmodel_io.graph.tensor import Tensor
    if isinstance(value, Tensor):
        # TensorFlow takes a default from a Const tensor's value, and nothing else.
        node = value.op.node_def
        if value.op.type == "Const" and "value" in node.attr:
            return node.attr["value"].tensor
        raise InvalidArgumentError(
            f"Unable to convert object {value!r} of type {type(value)} to TensorProto "
            f"({what}): only Const tensors have a value to take")
    from savedmodel_io.tensor_proto import from_numpy
    try:
        return from_numpy(value)
    except (InvalidArgumentError, TypeError, ValueError) as e:
        raise InvalidArgumentError(
            f"Unable to convert object {value!r} of type {type(value)} to TensorProto "
            f"({what}): {e}") from None


def build_signature_def(inputs: Mapping[str, TensorLike] | None = None,
                        outputs: Mapping[str, TensorLike] | None = None,
                        method_name: str | None = None,
                        defaults: Mapping[str, Any] | None = None) -> SignatureDef:
    """A SignatureDef from maps of key -> TensorInfo (or graph Tensor), a method name and
    input defaults (TensorProtos, Const graph tensors, or values numpy can hold)."""
    sig = SignatureDef()
    for key, value in (inputs or {}).items():
        sig.inputs[key].CopyFrom(_tensor_info(value, f"input {key!r}"))
    for key, value in (outputs or {}).items():
        sig.outputs[key].CopyFrom(_tensor_info(value, f"output {key!r}"))
    if method_name is not None:
        sig.method_name = method_name
    for key, value in (defaults or {}).items():
        sig.defaults[key].CopyFrom(_tensor_proto(value, f"default {key!r}"))
    return sig


def _dtype_name(dtype: int) -> str:
    try:
        return DataType(dtype).name
    except ValueError:
        return str(dtype)


def regression_signature_def(examples: TensorLike, predictions: TensorLike
                             ) -> SignatureDef:
    """TF Serving Regress: DT_STRING serialized examples -> DT_FLOAT predictions."""
    if examples is None:
        raise InvalidArgumentError("Regression `examples` cannot be None.")
    if predictions is None:
        raise InvalidArgumentError("Regression `predictions` cannot be None.")
    inp = _tensor_info(examples, "Regression `examples`")
    if inp.dtype != types_pb2.DT_STRING:
        raise InvalidArgumentError("Regression input tensors must be of type string. "
                                   f"Found tensors with type {_dtype_name(inp.dtype)}.")
    out = _tensor_info(predictions, "Regression `predictions`")
    if out.dtype != types_pb2.DT_FLOAT:
        raise InvalidArgumentError("Regression output tensors must be of type float. "
                                   f"Found tensors with type {_dtype_name(out.dtype)}.")
    return build_signature_def({sc.REGRESS_INPUTS: inp}, {sc.REGRESS_OUTPUTS: out},
                               sc.REGRESS_METHOD_NAME)


def classification_signature_def(examples: TensorLike, classes: TensorLike | None,
                                 scores: TensorLike | None) -> SignatureDef:
    """TF Serving Classify: DT_STRING examples -> DT_STRING classes and/or DT_FLOAT scores."""
    if examples is None:
        raise InvalidArgumentError("Classification `examples` cannot be None.")
    if classes is None and scores is None:
        raise InvalidArgumentError(
            "Classification `classes` and `scores` cannot both be None.")
    inp = _tensor_info(examples, "Classification `examples`")
    if inp.dtype != types_pb2.DT_STRING:
        raise InvalidArgumentError("Classification input tensors must be of type string. "
                                   f"Found tensors of type {_dtype_name(inp.dtype)}")
    outputs: dict[str, TensorInfo] = {}
    if classes is not None:
        c = _tensor_info(classes, "Classification `classes`")
        if c.dtype != types_pb2.DT_STRING:
            raise InvalidArgumentError("Classification classes must be of type string "
                                       f"Tensor. Found tensors of type {_dtype_name(c.dtype)}.")
        outputs[sc.CLASSIFY_OUTPUT_CLASSES] = c
    if scores is not None:
        s = _tensor_info(scores, "Classification `scores`")
        if s.dtype != types_pb2.DT_FLOAT:
            raise InvalidArgumentError("Classification scores must be a float Tensor.")
        outputs[sc.CLASSIFY_OUTPUT_SCORES] = s
    return build_signature_def({sc.CLASSIFY_INPUTS: inp}, outputs, sc.CLASSIFY_METHOD_NAME)


def predict_signature_def(inputs: Mapping[str, TensorLike],
                          outputs: Mapping[str, TensorLike]) -> SignatureDef:
    """TF Serving Predict: any non-empty maps of inputs and outputs, any dtypes."""
    if not inputs:
        raise InvalidArgumentError("Prediction `inputs` cannot be None or empty.")
    if not outputs:
        raise InvalidArgumentError("Prediction `outputs` cannot be None or empty.")
    return build_signature_def(inputs, outputs, sc.PREDICT_METHOD_NAME)


def _supervised_signature_def(method_name: str, inputs: Mapping[str, TensorLike],
                              loss: Mapping[str, TensorLike] | None,
                              predictions: Mapping[str, TensorLike] | None,
                              metrics: Mapping[str, TensorLike] | None) -> SignatureDef:
    if not inputs:
        raise InvalidArgumentError(f"{method_name} `inputs` cannot be None or empty.")
    outputs: dict[str, TensorLike] = {}
    for group in (loss, predictions, metrics):
        outputs.update(group or {})
    return build_signature_def(inputs, outputs, method_name)


def supervised_train_signature_def(
        inputs: Mapping[str, TensorLike], loss: Mapping[str, TensorLike] | None,
        predictions: Mapping[str, TensorLike] | None = None,
        metrics: Mapping[str, TensorLike] | None = None) -> SignatureDef:
    return _supervised_signature_def(sc.SUPERVISED_TRAIN_METHOD_NAME, inputs, loss,
                                     predictions, metrics)


def supervised_eval_signature_def(
        inputs: Mapping[str, TensorLike], loss: Mapping[str, TensorLike] | None,
        predictions: Mapping[str, TensorLike] | None = None,
        metrics: Mapping[str, TensorLike] | None = None) -> SignatureDef:
    return _supervised_signature_def(sc.SUPERVISED_EVAL_METHOD_NAME, inputs, loss,
                                     predictions, metrics)


def op_signature_def(op: Any, key: str) -> SignatureDef:
    """A SignatureDef whose one output ``key`` names operation ``op`` (a graph Operation or
    Tensor, or an op name)."""
    name = op if isinstance(op, str) else getattr(op, "name", None)
    if not isinstance(name, str):
        raise InvalidArgumentError(f"op_signature_def takes an Operation or a name, got "
                                   f"{type(op).__name__}")
    return build_signature_def(outputs={key: build_tensor_info_op_ref(name)})


def is_valid_signature(signature_def: SignatureDef | None) -> bool:
    """Whether TensorFlow Serving can serve the SignatureDef (classify, regress or predict)."""
    if signature_def is None:
        return False
    return (_is_valid_classification_signature(signature_def)
            or _is_valid_regression_signature(signature_def)
            or _is_valid_predict_signature(signature_def))


def _is_valid_predict_signature(sig: SignatureDef) -> bool:
    return (sig.method_name == sc.PREDICT_METHOD_NAME
            and len(sig.inputs) > 0 and len(sig.outputs) > 0)


def _is_valid_regression_signature(sig: SignatureDef) -> bool:
    return (sig.method_name == sc.REGRESS_METHOD_NAME
            and set(sig.inputs) == {sc.REGRESS_INPUTS}
            and sig.inputs[sc.REGRESS_INPUTS].dtype == types_pb2.DT_STRING
            and set(sig.outputs) == {sc.REGRESS_OUTPUTS}
            and sig.outputs[sc.REGRESS_OUTPUTS].dtype == types_pb2.DT_FLOAT)


def _is_valid_classification_signature(sig: SignatureDef) -> bool:
    if sig.method_name != sc.CLASSIFY_METHOD_NAME:
        return False
    if set(sig.inputs) != {sc.CLASSIFY_INPUTS}:
        return False
    if sig.inputs[sc.CLASSIFY_INPUTS].dtype != types_pb2.DT_STRING:
        return False
    keys = set(sig.outputs)
    if not keys or keys - {sc.CLASSIFY_OUTPUT_CLASSES, sc.CLASSIFY_OUTPUT_SCORES}:
        return False
    if (sc.CLASSIFY_OUTPUT_CLASSES in keys
            and sig.outputs[sc.CLASSIFY_OUTPUT_CLASSES].dtype != types_pb2.DT_STRING):
        return False
    return not (sc.CLASSIFY_OUTPUT_SCORES in keys
                and sig.outputs[sc.CLASSIFY_OUTPUT_SCORES].dtype != types_pb2.DT_FLOAT)


__all__ = [
    "build_signature_def",
    "regression_signature_def",
    "classification_signature_def",
    "predict_signature_def",
    "supervised_train_signature_def",
    "supervised_eval_signature_def",
    "op_signature_def",
    "is_valid_signature",
]
