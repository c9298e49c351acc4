"""Slice keys (OrderedCode), shape_and_slices strings and slice geometry."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from savedmodel_io.errors import DataLossError, InvalidArgumentError
from savedmodel_io.format import slices as S

# Examples from FORMAT.md 2.13, each checked against TensorFlow 2.21 output there.
SIGNED = [
    (0, "80"), (5, "85"), (63, "bf"), (-1, "7f"), (-64, "40"), (64, "c040"), (100, "c064"),
    (200, "c0c8"), (8191, "dfff"), (8192, "e02000"), (70000, "e11170"), (-65, "3fbf"),
    (-8192, "2000"), (2**40, "fd0000000000"), (2**62, "ffc04000000000000000"),
]


@pytest.mark.parametrize(("value", "hexcode"), SIGNED)
def test_signed_increasing_known_codes(value: int, hexcode: str) -> None:
    code = S._signed_increasing(value)
    assert code.hex() == hexcode
    cursor = S._Cursor(code)
    assert cursor.signed_increasing() == value
    assert cursor.pos == len(code)


@given(st.integers(min_value=-(2**63), max_value=2**63 - 1))
def test_signed_round_trip(value: int) -> None:
    cursor = S._Cursor(S._signed_increasing(value))
    assert cursor.signed_increasing() == value


@given(st.lists(st.integers(min_value=-(2**63), max_value=2**63 - 1), min_size=2))
def test_signed_codes_sort_like_numbers(values: list[int]) -> None:
    values = sorted(set(values))
    codes = [S._signed_increasing(v) for v in values]
    assert codes == sorted(codes)


def test_slice_keys_match_tensorflow() -> None:
    rows = S.TensorSlice(((0, 3), (0, 2)))
    assert S.slice_key("part", rows).hex() == "00" "7061727400" "01" "0102" "8083" "8082"
    assert S.slice_key("part", S.TensorSlice(((3, 2), (0, 2)))).hex().endswith("83828082")
    assert S.slice_key("w", S.TensorSlice.full(1)).hex() == "00770001" "0101" "807f"
    assert S.slice_key("s", S.TensorSlice(())).hex() == "0073000100"


@given(
    st.binary(max_size=30),
    st.lists(st.tuples(st.integers(0, 2**40), st.integers(-1, 2**40)), max_size=6),
)
def test_slice_key_round_trip(name: bytes, extents: list[tuple[int, int]]) -> None:
    s = S.TensorSlice(tuple(extents))
    got_name, got = S.parse_slice_key(S.slice_key(name, s))
    assert got_name == name
    assert got == s


@pytest.mark.parametrize("bad", [
    b"", b"\x01\x00", b"\x00abc", b"\x00a\x00\x01", b"\x00a\x00\x02",
    b"\x00a\x00\x01\x01\x01\x80", b"\x00a\x00\x01\x01\x01\x80\x7f\x00",
])
def test_bad_slice_keys_are_data_loss(bad: bytes) -> None:
    with pytest.raises(DataLossError):
        S.parse_slice_key(bad)


@given(st.binary(max_size=40))
def test_any_key_parses_or_raises_data_loss(key: bytes) -> None:
    try:
        S.parse_slice_key(b"\x00" + key)
    except DataLossError:
        pass


def test_shape_and_slice_strings() -> None:
    parsed = S.parse_shape_and_slice("5 2 0,3:0,2")
    assert parsed == ([5, 2], S.TensorSlice(((0, 3), (0, 2))))
    assert S.format_shape_and_slice(*parsed) == "5 2 0,3:0,2"
    assert S.parse_shape_and_slice("") is None
    shape, full = S.parse_shape_and_slice("4 3 -:1,2")  # type: ignore[misc]
    assert full.bounds(shape) == [(0, 4), (1, 3)]
    assert full.slice_shape(shape) == [4, 2]


@pytest.mark.parametrize("bad", ["5 2 0,6:0,2", "5 x 0,3:0,2", "5 2 0,3", "5 2 0;3:0,2",
                                 "-5 0,1", "5 -1,2"])
def test_bad_shape_and_slice(bad: str) -> None:
    with pytest.raises(InvalidArgumentError):
        S.parse_shape_and_slice(bad)


def test_intersect() -> None:
    assert S.intersect([(0, 3), (0, 2)], [(2, 5), (1, 2)]) == [(2, 3), (1, 2)]
    assert S.intersect([(0, 3)], [(3, 5)]) is None
