"""Hand-made GraphDefs and SavedModels for the runtime tests (no TensorFlow)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

import savedmodel_io
from savedmodel_io.dtypes import DataType, from_numpy_dtype
from savedmodel_io.protos import (
    attr_value_pb2,
    function_pb2,
    graph_pb2,
    meta_graph_pb2,
    node_def_pb2,
    saved_model_pb2,
)
from savedmodel_io.tensor_proto import from_numpy

F32 = DataType.DT_FLOAT
I32 = DataType.DT_INT32


class Func:
    """A function name for a ``func`` attribute."""

    def __init__(self, name: str) -> None:
        self.name = name


class Shape:
    def __init__(self, dims: list[int] | None) -> None:
        self.dims = dims


def attr(value: Any) -> attr_value_pb2.AttrValue:
    a = attr_value_pb2.AttrValue()
    if isinstance(value, DataType):
        a.type = int(value)  # type: ignore[assignment]
    elif isinstance(value, bool):
        a.b = value
    elif isinstance(value, int):
        a.i = value
    elif isinstance(value, float):
        a.f = value
    elif isinstance(value, (str, bytes)):
        a.s = value.encode() if isinstance(value, str) else value
    elif isinstance(value, np.ndarray):
        a.tensor.CopyFrom(from_numpy(value))
    elif isinstance(value, Func):
        a.func.name = value.name
    elif isinstance(value, Shape):
        if value.dims is None:
            a.shape.unknown_rank = True
        else:
            for d in value.dims:
                a.shape.dim.add().size = d
    elif isinstance(value, list):
        a.list.SetInParent()
        for v in value:
            if isinstance(v, DataType):
                a.list.type.append(int(v))  # type: ignore[arg-type]
            elif isinstance(v, int):
                a.list.i.append(v)
            elif isinstance(v, Func):
                a.list.func.add().name = v.name
            elif isinstance(v, Shape):
                s = a.list.shape.add()
                for d in v.dims or []:
                    s.dim.add().size = d
            else:
                a.list.s.append(v.encode() if isinstance(v, str) else v)
    else:
        raise TypeError(f"no attr for {value!r}")
    return a


def node(name: str, op: str, inputs: list[str] | None = None, **attrs: Any
         ) -> node_def_pb2.NodeDef:
    nd = node_def_pb2.NodeDef(name=name, op=op)
    nd.input.extend(inputs or [])
    for k, v in attrs.items():
        nd.attr[k].CopyFrom(attr(v))
    return nd


def const(name: str, value: Any) -> node_def_pb2.NodeDef:
    arr = np.asarray(value)
    return node(name, "Const", value=arr, dtype=from_numpy_dtype(arr.dtype))


def placeholder(name: str, dtype: DataType = F32, shape: list[int] | None = None
                ) -> node_def_pb2.NodeDef:
    return node(name, "Placeholder", dtype=dtype, shape=Shape(shape))


def graph(*nodes: node_def_pb2.NodeDef, functions: list[function_pb2.FunctionDef] | None = None
          ) -> graph_pb2.GraphDef:
    g = graph_pb2.GraphDef()
    g.node.extend(nodes)
    for f in functions or []:
        g.library.function.add().CopyFrom(f)
    return g


def function(name: str, args: list[tuple[str, DataType]], outs: list[tuple[str, DataType]],
             nodes: list[node_def_pb2.NodeDef], ret: dict[str, str],
             control_ret: dict[str, str] | None = None) -> function_pb2.FunctionDef:
    f = function_pb2.FunctionDef()
    f.signature.name = name
    for a, t in args:
        f.signature.input_arg.add(name=a, type=int(t))  # type: ignore[arg-type]
    for a, t in outs:
        f.signature.output_arg.add(name=a, type=int(t))  # type: ignore[arg-type]
    f.node_def.extend(nodes)
    for k, v in ret.items():
        f.ret[k] = v
    for k, v in (control_ret or {}).items():
        f.control_ret[k] = v
    return f


def tensor_info(name: str, dtype: DataType, shape: list[int] | None
                ) -> meta_graph_pb2.TensorInfo:
    info = meta_graph_pb2.TensorInfo(name=name, dtype=int(dtype))  # type: ignore[arg-type]
    if shape is None:
        info.tensor_shape.unknown_rank = True
    else:
        for d in shape:
            info.tensor_shape.dim.add().size = d
    return info


def write_saved_model(d: Path, g: graph_pb2.GraphDef,
                      signatures: dict[str, meta_graph_pb2.SignatureDef], *,
                      variables: dict[str, np.ndarray] | None = None,
                      main_op: str | None = None) -> Path:
    """A one-meta-graph SavedModel (tag ``serve``) with optional variables by name."""
    sm = saved_model_pb2.SavedModel(saved_model_schema_version=1)
    meta = sm.meta_graphs.add()
    meta.meta_info_def.tags.append("serve")
    meta.graph_def.CopyFrom(g)
    for k, s in signatures.items():
        meta.signature_def[k].CopyFrom(s)
    if main_op:
        meta.collection_def["saved_model_main_op"].node_list.value.append(main_op)
    d.mkdir(parents=True, exist_ok=True)
    (d / "saved_model.pb").write_bytes(sm.SerializeToString())
    if variables:
        (d / "variables").mkdir(exist_ok=True)
        savedmodel_io.save_checkpoint(variables, d / "variables" / "variables")
    return d


def predict(inputs: dict[str, meta_graph_pb2.TensorInfo],
            outputs: dict[str, meta_graph_pb2.TensorInfo]) -> meta_graph_pb2.SignatureDef:
    sig = meta_graph_pb2.SignatureDef(method_name="tensorflow/serving/predict")
    for k, v in inputs.items():
        sig.inputs[k].CopyFrom(v)
    for k, v in outputs.items():
        sig.outputs[k].CopyFrom(v)
    return sig
