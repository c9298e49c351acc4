"""String tensors in bulk: splitting the element bytes, the writer's fast path, and the
in-place byte swap, each against the plain one-at-a-time way."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from savedmodel_io.dtypes import as_bytes_list
from savedmodel_io.errors import DataLossError, InvalidArgumentError
from savedmodel_io.format import crc, tensor_bytes
from savedmodel_io.format.coding import encode_varint64

elements_st = st.lists(
    st.binary(max_size=30) | st.binary(max_size=3000)
    | st.sampled_from([b"", b"\x00", b"a\x00", b"\x00\x00\x00", b"x" * 1025]),
    max_size=300)


def _encode(elements: list[bytes]) -> bytes:
    chunks, size, _ = tensor_bytes.encode_strings(elements)
    data = b"".join(bytes(c) for c in chunks)
    assert len(data) == size
    return data


@given(elements_st)
@settings(max_examples=300, deadline=None)
def test_split_elements_cuts_exactly(elements: list[bytes]) -> None:
    body = b"".join(elements)
    got = tensor_bytes.split_elements(body, np.array([len(e) for e in elements], np.int64))
    assert got.dtype == object and got.shape == (len(elements),)
    assert got.tolist() == elements
    assert all(type(e) is bytes for e in got)


def test_split_elements_without_numpy_strings_slice(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tensor_bytes, "_strings_slice", None)  # as with numpy < 2.3
    elements = [b"ab\x00", b"", b"c" * 50, b"\x00", b"de", b"\x01\x00\x02"] * 20
    lengths = np.array([len(e) for e in elements], np.int64)
    assert tensor_bytes.split_elements(b"".join(elements), lengths).tolist() == elements


def test_split_elements_with_a_tight_matrix(monkeypatch: pytest.MonkeyPatch) -> None:
    # Many elements and one long one: the long one is cut out on its own.
    monkeypatch.setattr(tensor_bytes, "_MATRIX_BYTES", 64)
    elements = [b"ab\x00", b"", b"c" * 5000, b"\x00", b"de"] * 50
    lengths = np.array([len(e) for e in elements], np.int64)
    assert tensor_bytes.split_elements(b"".join(elements), lengths).tolist() == elements


@given(elements_st)
@settings(max_examples=200, deadline=None)
def test_string_tensor_round_trip_and_checksum(elements: list[bytes]) -> None:
    data = _encode(elements)
    out, c = tensor_bytes.decode_strings(data, len(elements))
    assert out.tolist() == elements
    # The checksum TensorFlow defines covers the lengths as 4-byte integers, not the
    # varints: what the reader computes must be what the writer stored.
    _, _, masked = tensor_bytes.encode_strings(elements)
    assert crc.mask(c) == masked


def test_string_lengths_of_several_bytes_and_damage() -> None:
    elements = [b"x" * 200, b"", b"y" * 70000, b"z"]
    data = _encode(elements)
    assert data[:7] == b"".join(encode_varint64(len(e)) for e in elements)
    assert tensor_bytes.decode_strings(data, 4)[0].tolist() == elements
    with pytest.raises(DataLossError, match="length checksum"):
        tensor_bytes.decode_strings(b"\x01" + data[1:], 4)
    with pytest.raises(DataLossError, match="add up"):
        tensor_bytes.decode_strings(data[:-1], 4, verify=False)
    # 10 elements' worth of length bytes that never end: refused, not scanned forever.
    with pytest.raises(DataLossError, match="end early"):
        tensor_bytes.decode_strings(b"\xff" * 200, 10)


def _array_encoding(array: np.ndarray) -> bytes:
    chunks, size, masked = tensor_bytes.encode_string_array(array)
    data = b"".join(bytes(c) for c in chunks)
    assert len(data) == size
    return data + masked.to_bytes(4, "little")


def test_string_array_fast_path_and_fallback() -> None:
    plain = [b"a", b"", b"\x00b"]
    assert _array_encoding(np.array(plain, dtype=object)) == \
        _encode(plain) + tensor_bytes.encode_strings(plain)[2].to_bytes(4, "little")
    # str, bytearray, np.bytes_: through as_bytes_list, as before
    mixed = np.array([b"a", "\u00e9", bytearray(b"c"), np.bytes_(b"d")], dtype=object)
    want = [b"a", "\u00e9".encode(), b"c", b"d"]
    assert as_bytes_list(mixed) == want
    assert _array_encoding(mixed) == _array_encoding(np.array(want, dtype=object))
    # a memoryview of 4-byte items: its len() is not its size, so it is converted
    wide = np.empty(1, dtype=object)
    wide[0] = memoryview(np.array([1, 2], np.int32))
    assert _array_encoding(wide) == _array_encoding(
        np.array([np.array([1, 2], np.int32).tobytes()], dtype=object))
    with pytest.raises(InvalidArgumentError):
        tensor_bytes.encode_string_array(np.array([b"a", 3], dtype=object))
    fixed = np.array([b"ab", b"c"], dtype="S2")
    assert _array_encoding(fixed) == _array_encoding(np.array([b"ab", b"c"], dtype=object))


@pytest.mark.parametrize("npd", ["<u2", "<i4", "<f8", "<c8", "<c16", "u1"])
def test_byteswap_inplace(npd: str) -> None:
    a = np.arange(12).astype(npd).reshape(3, 4)
    want = a.astype(np.dtype(npd).newbyteorder(">")).view(npd)
    tensor_bytes.byteswap_inplace(a)
    assert a.tobytes() == want.tobytes()
