"""tf.train.Example helpers: building, parsing, and the errors for bad examples."""

from __future__ import annotations

import numpy as np
import pytest

from savedmodel_io.errors import InvalidArgumentError
from savedmodel_io.example import (
    FixedLenFeature,
    FixedLenSequenceFeature,
    VarLenFeature,
    build_example,
    make_feature,
    parse_example,
    parse_single_example,
    serialize_example,
)
from savedmodel_io.protos import example_pb2


def test_build_picks_the_list_type() -> None:
    ex = build_example({"f": [1.5, 2], "i": [1, True], "s": "héllo", "b": [b"\x00", "x"],
                        "a": np.arange(3, dtype=np.int16), "af": np.ones((2, 2), np.float64),
                        "one": 7})
    feats = ex.features.feature
    assert list(feats["f"].float_list.value) == [1.5, 2.0]
    assert list(feats["i"].int64_list.value) == [1, 1]
    assert list(feats["s"].bytes_list.value) == ["héllo".encode()]
    assert list(feats["b"].bytes_list.value) == [b"\x00", b"x"]
    assert list(feats["a"].int64_list.value) == [0, 1, 2]
    assert list(feats["af"].float_list.value) == [1.0] * 4
    assert list(feats["one"].int64_list.value) == [7]
    parsed = example_pb2.Example.FromString(serialize_example({"f": [1.5, 2]}))
    assert list(parsed.features.feature["f"].float_list.value) == [1.5, 2.0]


@pytest.mark.parametrize("value, message", [
    ([], "an empty list has no type"),
    ([1, "a"], "all numbers or all strings"),
    ([2**70], "does not fit in int64"),
    (np.array([1 + 1j]), "cannot go in a tf.train.Feature"),
    ([None], "all numbers or all strings"),
])
def test_build_errors(value: object, message: str) -> None:
    with pytest.raises(InvalidArgumentError, match=message):
        make_feature(value, "k")


def test_parse_dense_sparse_and_sequences() -> None:
    raw = [serialize_example({"x": [1.0, 2.0], "ids": [5, 6, 7], "seq": [1.0, 2.0, 3.0],
                              "w": "a"}),
           serialize_example({"ids": [9], "seq": [4.0]}),
           serialize_example({"x": [3.0, 4.0]})]
    out = parse_example(raw, {
        "x": FixedLenFeature([2], np.float32, default_value=[-1.0, -2.0]),
        "ids": VarLenFeature(np.int64),
        "seq": FixedLenSequenceFeature([], np.float32, default_value=0.5),
        "w": FixedLenFeature([], str, default_value="none"),
    })
    assert out["x"].tolist() == [[1.0, 2.0], [-1.0, -2.0], [3.0, 4.0]]
    assert out["seq"].tolist() == [[1.0, 2.0, 3.0], [4.0, 0.5, 0.5], [0.5, 0.5, 0.5]]
    assert out["w"].tolist() == [b"a", b"none", b"none"]
    ids = out["ids"]
    assert ids.indices.tolist() == [[0, 0], [0, 1], [0, 2], [1, 0]]
    assert ids.values.tolist() == [5, 6, 7, 9] and ids.dense_shape.tolist() == [3, 3]
    single = parse_single_example(raw[1], {"ids": VarLenFeature(np.int64),
                                           "x": FixedLenFeature([2], np.float32, [0.0, 0.0])})
    assert single["ids"].indices.tolist() == [[0]] and single["ids"].dense_shape.tolist() == [1]
    assert single["x"].tolist() == [0.0, 0.0]


@pytest.mark.parametrize("raw, spec, message", [
    (serialize_example({"y": [1.0]}), FixedLenFeature([1], np.float32),
     r"Index: 0.  Feature: x \(data type: float\) is required"),
    (serialize_example({"x": [1.0, 2.0]}), FixedLenFeature([1], np.float32),
     r"Key: x, Index: 0.  Number of float values != expected.  Values size: 2"),
    (serialize_example({"x": ["a"]}), FixedLenFeature([1], np.float32),
     "Data types don't match. Data type: string but expected type: float"),
    (b"\xff\xff\xff", FixedLenFeature([1], np.float32), "Could not parse example input"),
    (serialize_example({"x": [1.0, 2.0, 3.0]}), FixedLenSequenceFeature([2], np.float32),
     "not a multiple of stride length"),
])
def test_parse_errors(raw: bytes, spec: object, message: str) -> None:
    with pytest.raises(InvalidArgumentError, match=message):
        parse_example([raw], {"x": spec})  # type: ignore[dict-item]


def test_bad_spec_dtypes() -> None:
    with pytest.raises(InvalidArgumentError, match="float32, int64 or string"):
        parse_example([b""], {"x": FixedLenFeature([1], np.float64)})
    with pytest.raises(InvalidArgumentError, match="must be known"):
        parse_example([b""], {"x": FixedLenFeature([-1], np.float32)})
