"""Python values -> AttrValue (savedmodel_io.graph.attrs) and OpDef checks."""

from __future__ import annotations

import numpy as np
import pytest

from savedmodel_io.dtypes import DataType
from savedmodel_io.errors import InvalidArgumentError
from savedmodel_io.graph import Graph, op_def
from savedmodel_io.graph.attrs import (
    AttrValue,
    as_datatype,
    equal,
    guess_attr_value,
    is_default,
    to_attr_value,
)
from savedmodel_io.tensor_proto import to_numpy


def test_scalars() -> None:
    assert to_attr_value("string", "NHWC").s == b"NHWC"
    assert to_attr_value("string", b"\xff").s == b"\xff"
    assert to_attr_value("int", np.int64(3)).i == 3
    assert to_attr_value("float", 2).f == 2.0
    assert to_attr_value("bool", np.bool_(True)).b is True
    assert to_attr_value("type", np.float32).type == DataType.DT_FLOAT
    assert to_attr_value("type", "int64").type == DataType.DT_INT64
    assert to_attr_value("type", DataType.DT_STRING).type == DataType.DT_STRING
    shape = to_attr_value("shape", (None, 3)).shape
    assert [d.size for d in shape.dim] == [-1, 3]
    assert to_attr_value("shape", None).shape.unknown_rank
    t = to_attr_value("tensor", np.array([1, 2], np.int32)).tensor
    np.testing.assert_array_equal(to_numpy(t), [1, 2])
    assert to_attr_value("func", "f").func.name == "f"
    given = AttrValue(i=5)
    assert to_attr_value("int", given) is given


def test_lists() -> None:
    assert list(to_attr_value("list(int)", [1, 2]).list.i) == [1, 2]
    assert list(to_attr_value("list(type)", [np.float32, "int32"]).list.type) == [1, 3]
    assert list(to_attr_value("list(string)", ["a", b"b"]).list.s) == [b"a", b"b"]
    shapes = to_attr_value("list(shape)", [[2], [], None]).list.shape
    assert [len(s.dim) for s in shapes] == [1, 0, 0] and shapes[2].unknown_rank
    empty = to_attr_value("list(type)", [])
    assert empty.HasField("list") and not empty.list.type


@pytest.mark.parametrize("kind,value", [
    ("int", True), ("int", 1.5), ("bool", 1), ("float", "x"), ("string", 3),
    ("list(int)", 3), ("list(int)", "ab"), ("shape", [2, -5]), ("shape", [1.5]),
    ("type", "no_such_type"), ("func", 3), ("magic", 1),
])
def test_wrong_values_are_rejected(kind: str, value: object) -> None:
    with pytest.raises(InvalidArgumentError):
        to_attr_value(kind, value)


def test_guess_attr_value() -> None:
    assert guess_attr_value(True).b is True
    assert guess_attr_value(3).i == 3
    assert guess_attr_value(0.5).f == 0.5
    assert guess_attr_value("s").s == b"s"
    assert guess_attr_value(DataType.DT_INT8).type == DataType.DT_INT8
    assert guess_attr_value(np.float32).type == DataType.DT_FLOAT
    assert list(guess_attr_value([1, 2]).list.i) == [1, 2]
    assert guess_attr_value([]).HasField("list")
    with pytest.raises(InvalidArgumentError, match="cannot tell"):
        guess_attr_value(object())


def test_as_datatype() -> None:
    assert as_datatype("float32") == DataType.DT_FLOAT
    assert as_datatype("DT_BOOL") == DataType.DT_BOOL
    assert as_datatype(9) == DataType.DT_INT64
    assert as_datatype(np.dtype("int16")) == DataType.DT_INT16
    assert as_datatype(np.str_) == DataType.DT_STRING
    with pytest.raises(InvalidArgumentError):
        as_datatype(object())


def test_defaults_and_equality() -> None:
    mm = op_def("MatMul")
    assert mm is not None
    assert is_default(mm, "transpose_a", AttrValue(b=False))
    assert not is_default(mm, "transpose_a", AttrValue(b=True))
    assert not is_default(mm, "T", AttrValue(type=1))          # no default
    assert not is_default(mm, "nope", AttrValue(b=False))
    assert equal(AttrValue(i=1), AttrValue(i=1)) and not equal(AttrValue(i=1), AttrValue(f=1))


def test_opdef_minimums_and_lists_are_checked() -> None:
    g = Graph()
    a = g.placeholder(np.float32, shape=(2,))
    with pytest.raises(InvalidArgumentError, match="'N' is 1, at least 2"):
        g.op("ConcatV2", [[a], 0])
    with pytest.raises(InvalidArgumentError, match="takes a list"):
        g.op("ConcatV2", [a, 0])
    # Explicit attributes that agree with the inputs are fine.
    assert g.op("ConcatV2", [[a, a], 0], N=2, T=np.float32).shape == (4,)
    with pytest.raises(InvalidArgumentError, match="'N' is 3 but the inputs make it 2"):
        g.op("ConcatV2", [[a, a], 0], N=3)
    # A plain value must suit the input's type (numpy values are cast, as in TF).
    with pytest.raises(InvalidArgumentError, match="'shard' of 'ShardedFilename' must be "
                                                   "int32, got 0.5"):
        g.add_op("ShardedFilename", ["a", 0.5, 1])
    with pytest.raises(InvalidArgumentError, match="must be string"):
        g.add_op("ShardedFilename", [1, 0, 1])
    op = g.add_op("ShardedFilename", ["a", np.float64(0.0), 1])
    assert op.inputs[1].dtype == DataType.DT_INT32
