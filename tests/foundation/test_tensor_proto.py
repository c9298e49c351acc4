"""TensorProto <-> numpy, with TensorFlow's decoding rules."""

from __future__ import annotations

import numpy as np
import pytest

from savedmodel_io import tensor_proto
from savedmodel_io.dtypes import DataType
from savedmodel_io.errors import DataLossError
from savedmodel_io.protos import tensor_pb2


@pytest.mark.parametrize("value", [
    np.arange(6, dtype=np.float32).reshape(2, 3), np.float64(2.5), np.array([1, -2], np.int8),
    np.array([True, False]), np.array([1 + 2j], np.complex64), np.array([1.5], np.float16),
    np.array([b"a", b"\x00\xff"], dtype=object), np.int64(-7),
])
def test_round_trip(value: np.ndarray) -> None:
    got = tensor_proto.to_numpy(tensor_proto.from_numpy(value))
    assert got.dtype == np.asarray(value).dtype
    assert got.tolist() == np.asarray(value).tolist()


def test_scalars_use_value_fields_and_arrays_tensor_content() -> None:
    assert list(tensor_proto.from_numpy(np.float32(1.5)).float_val) == [1.5]
    assert tensor_proto.from_numpy(np.ones(3, np.float32)).tensor_content == \
        np.ones(3, np.float32).tobytes()


def test_short_value_field_repeats_its_last_value() -> None:
    p = tensor_pb2.TensorProto(dtype=DataType.DT_INT32, int_val=[1, 2])
    p.tensor_shape.dim.add(size=4)
    assert tensor_proto.to_numpy(p).tolist() == [1, 2, 2, 2]
    empty = tensor_pb2.TensorProto(dtype=DataType.DT_FLOAT)
    empty.tensor_shape.dim.add(size=2)
    assert tensor_proto.to_numpy(empty).tolist() == [0.0, 0.0]


@pytest.mark.parametrize("content", [b"\x00" * 5, b""])
def test_bad_or_oversized_protos_are_data_loss(content: bytes) -> None:
    p = tensor_pb2.TensorProto(dtype=DataType.DT_FLOAT, tensor_content=content, float_val=[1.0])
    p.tensor_shape.dim.add(size=2**40)
    with pytest.raises(DataLossError):
        tensor_proto.to_numpy(p)
