"""``tensor_proto.from_numpy`` makes the same TensorProto bytes as ``tf.make_tensor_proto``,
and ``to_numpy`` reads TensorFlow's protos as ``tf.make_ndarray`` does."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import ml_dtypes
import numpy as np
import pytest

from savedmodel_io import tensor_proto
from savedmodel_io.protos import tensor_pb2

CASES: dict[str, Any] = {
    "float32 matrix": np.arange(6, dtype=np.float32).reshape(2, 3),
    "float32 scalar": np.float32(1.5),
    "float32 one element": np.array([4.0], np.float32),
    "float64": np.array([1.0, 2.5]),
    "int64": np.array([1, 2, 3], np.int64),
    "int32 scalar": np.int32(7),
    "int8": np.array([-1, 2], np.int8),
    "uint8": np.array([1, 2, 255], np.uint8),
    "uint32": np.array([1, 2], np.uint32),
    "uint64 scalar": np.uint64(5),
    "bool": np.array([True, False]),
    "bool scalar": np.bool_(True),
    "float16": np.array([1, 2], np.float16),
    "float16 scalar": np.float16(3),
    "bfloat16": np.array([1, 2], ml_dtypes.bfloat16),
    "bfloat16 scalar": np.array(1.5, ml_dtypes.bfloat16),
    "complex64": np.array([1 + 2j, 3j], np.complex64),
    "complex64 scalar": np.complex64(1 + 2j),
    "complex128": np.array([1 + 2j, 3j], np.complex128),
    "strings": np.array([b"a", b"bc", "\u00e9".encode()], object),
    "bytes scalar": b"xyz",
    "empty": np.zeros((0, 3), np.float32),
    "python float": 2.5,
    "python int": 3,
    "python big int": 2**40,
    "python nested list": [[1.0, 2.0]],
    "python bool list": [True, False, True],
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_from_numpy_equals_make_tensor_proto(tf: ModuleType, name: str) -> None:
    value = CASES[name]
    theirs = tf.make_tensor_proto(value).SerializeToString()
    ours = tensor_proto.from_numpy(value).SerializeToString()
    assert ours == theirs


@pytest.mark.parametrize("name", sorted(CASES))
def test_to_numpy_reads_tensorflow_protos(tf: ModuleType, name: str) -> None:
    value = CASES[name]
    proto = tf.make_tensor_proto(value)
    expected = tf.make_ndarray(proto)
    got = tensor_proto.to_numpy(tensor_pb2.TensorProto.FromString(proto.SerializeToString()))
    assert got.dtype == expected.dtype
    assert got.shape == expected.shape
    assert got.tolist() == expected.tolist()


def test_constant_fill_written_by_tensorflow(tf: ModuleType) -> None:
    # tf.fill-style constants store one value for many elements.
    proto = tf.make_tensor_proto(7.0, shape=[2, 3])
    got = tensor_proto.to_numpy(tensor_pb2.TensorProto.FromString(proto.SerializeToString()))
    np.testing.assert_array_equal(got, tf.make_ndarray(proto))
