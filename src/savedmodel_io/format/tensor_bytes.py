"""How one tensor's elements are laid out in a bundle data file, and its checksum.

Fixed-size types are the raw row-major bytes. ``DT_STRING`` is N varint lengths, a masked
CRC32C of the lengths (as fixed-width integers), then the bytes back to back.
``DT_VARIANT`` is, per element, a varint length, a serialized VariantTensorDataProto and a
masked running CRC. Encoding and decoding of each layout sit side by side; both work on
whole arrays with numpy (no Python loop over the elements of a numeric tensor, and only
the unavoidable one that builds the ``bytes`` objects of a string tensor).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Union

import numpy as np

from savedmodel_io import dtypes
from savedmodel_io.dtypes import DataType
from savedmodel_io.errors import DataLossError, UnimplementedError
from savedmodel_io.format import crc

Buffer = Union[bytes, bytearray, memoryview]  # noqa: UP007 - a runtime alias

_U32_MAX = 0xFFFFFFFF
_JOIN_RUN = 2048


# ---------------------------------------------------------------- varint vectors


def varint_sizes(values: np.ndarray) -> np.ndarray:
    """Bytes each unsigned value takes as a varint (1..10)."""
    v = values.astype(np.uint64, copy=False)
    n = np.ones(v.shape, dtype=np.int64)
    for shift in range(7, 64, 7):
        n += v >= (np.uint64(1) << np.uint64(shift))
    return n


def encode_varints(values: np.ndarray) -> bytes:
    """Concatenated LEB128 varints of unsigned 64-bit values."""
    v = values.astype(np.uint64, copy=False).ravel()
    if v.size == 0:
        return b""
    if int(v.max()) < 0x80:
        return v.astype(np.uint8).tobytes()  # all one byte: the common case
    sizes = varint_sizes(v)
    total = int(sizes.sum())
    ends = np.cumsum(sizes)
    starts = ends - sizes
    # Position of each output byte inside its varint: 0 for the first byte.
    owner = np.repeat(np.arange(v.size), sizes)
    pos = np.arange(total) - starts[owner]
    groups = (v[owner] >> (np.uint64(7) * pos.astype(np.uint64))) & np.uint64(0x7F)
    more = pos < (sizes[owner] - 1)
    out = groups.astype(np.uint8) | (more.astype(np.uint8) << np.uint8(7))
    return bytes(out.tobytes())


def decode_varints(
    buf: Buffer, count: int, *, path: str | None = None, key: str | bytes | None = None
) -> tuple[np.ndarray, int]:
    """Decode ``count`` varints from the start of ``buf``: (uint64 values, bytes used).

    Raises DataLossError when the buffer ends early or a varint is longer than 64 bits.
    """
    if count == 0:
        return np.zeros(0, dtype=np.uint64), 0
    # A varint takes at most 10 bytes, so only that much of the buffer matters.
    raw = np.frombuffer(buf, dtype=np.uint8, count=min(len(buf), 10 * count))
    if raw.size >= count and int(raw[:count].max()) < 0x80:
        return raw[:count].astype(np.uint64), count  # all one-byte: the common case
    # Look for the ends of the varints in a growing prefix, not in all 10 * count bytes
    # (whose tail is usually string data, full of bytes that look like ends).
    span = min(raw.size, 2 * count + 64)
    while True:
        ends = np.flatnonzero(raw[:span] < 0x80)
        if ends.size >= count or span == raw.size:
            break
        span = min(raw.size, 2 * span)
    if ends.size < count:
        raise DataLossError(
            f"string lengths end early: wanted {count} varints, found {ends.size}",
            path=path, key=key,
        )
    ends = ends[:count]
    starts = np.empty_like(ends)
    starts[0] = 0
    starts[1:] = ends[:-1] + 1
    sizes = ends - starts + 1
    if int(sizes.max()) > 10 or np.any((sizes == 10) & (raw[ends] > 1)):
        raise DataLossError("a string length varint overflows 64 bits", path=path, key=key)
    used = int(ends[-1]) + 1
    if int(sizes.max()) == 1:
        return raw[:count].astype(np.uint64), used
    body = raw[:used]
    owner = np.repeat(np.arange(count), sizes)
    pos = (np.arange(used) - starts[owner]).astype(np.uint64)
    contrib = (body & 0x7F).astype(np.uint64) << (np.uint64(7) * pos)
    return np.add.reduceat(contrib, starts), used


# ---------------------------------------------------------------- fixed-size types


def encode_fixed(array: np.ndarray, dtype: DataType) -> memoryview:
    """The raw little-endian C-order bytes of a fixed-size tensor (no copy when possible)."""
    want = dtypes.as_numpy_dtype(dtype)
    arr = np.asarray(array)
    if arr.dtype != want:
        if arr.dtype.fields is None and want.fields is not None:
            arr = arr.astype(want.fields[next(iter(want.fields))][0]).view(want)
        else:
            arr = arr.astype(want)
    arr = np.ascontiguousarray(arr)
    return arr.reshape(-1).view(np.uint8).data


def decode_fixed(
    data: Buffer,
    dtype: DataType,
    shape: Sequence[int],
    *,
    byteswap: bool = False,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """An array over ``data`` (a view: no copy unless ``out`` or ``byteswap``)."""
    npd = dtypes.as_numpy_dtype(dtype)
    arr = np.frombuffer(data, dtype=npd).reshape(tuple(shape))
    if byteswap and npd.itemsize > 1:
        arr = _byteswapped(arr, npd)
    if out is not None:
        np.copyto(out, arr)
        return out
    return arr


def _swap_unit(npd: np.dtype) -> np.dtype:
    # Swap within units of the element's scalar size: complex numbers swap their real
    # and imaginary halves separately; structured and ml_dtypes types swap as integers.
    return np.dtype(f"u{npd.itemsize // 2 if npd.kind == 'c' else npd.itemsize}")


def _byteswapped(arr: np.ndarray, npd: np.dtype) -> np.ndarray:
    swapped: np.ndarray = arr.view(_swap_unit(npd)).byteswap().view(npd)
    return swapped


def byteswap_inplace(arr: np.ndarray) -> None:
    """Reverse the byte order of every element of the contiguous array ``arr``, in place."""
    if arr.dtype.itemsize > 1:
        arr.reshape(-1).view(_swap_unit(arr.dtype)).byteswap(inplace=True)


# ---------------------------------------------------------------- strings


def _length_crc(lengths: np.ndarray, big_endian: bool = False) -> int:
    order = ">" if big_endian else "<"
    if lengths.size == 0 or int(lengths.max()) <= _U32_MAX:
        return crc.value(lengths.astype(order + "u4").tobytes())
    # Rare: lengths over 4 GiB take 8 bytes each in the checksum.
    c = 0
    for n in lengths.tolist():
        c = crc.extend(c, int(n).to_bytes(4 if n <= _U32_MAX else 8, "big" if big_endian
                                          else "little"))
    return c


def encode_strings(elements: list[bytes]) -> tuple[list[Buffer], int, int]:
    """(chunks to write, total size, masked crc) of a string tensor."""
    lengths = np.fromiter(map(len, elements), dtype=np.uint64, count=len(elements))
    return _encode_strings(lengths, _join_runs(elements))


def encode_string_array(array: np.ndarray) -> tuple[list[Buffer], int, int]:
    """:func:`encode_strings` of the elements of a string tensor, in C where it can be.

    An object array of bytes is joined with no type check per element: the join refuses
    whatever is not bytes-like, and lengths that do not add up to the joined size (a
    memoryview of wider items, say) are caught too; either way the elements then go
    through :func:`savedmodel_io.dtypes.as_bytes_list`, which encodes ``str`` as UTF-8 and
    reports anything else.
    """
    if array.dtype == object:
        elements = array.ravel().tolist()
        try:
            body = _join_runs(elements)
            lengths = np.fromiter(map(len, elements), dtype=np.uint64, count=len(elements))
        except TypeError:
            pass
        else:
            if int(lengths.sum()) == sum(map(len, body)):
                return _encode_strings(lengths, body)
    return encode_strings(dtypes.as_bytes_list(array))


def _join_runs(elements: list[Any]) -> list[bytes]:
    # Joined in runs: one join of a million small strings spends more time on its
    # bookkeeping (a buffer record per element) than on copying.
    return [b"".join(elements[i:i + _JOIN_RUN]) for i in range(0, len(elements), _JOIN_RUN)]


def _encode_strings(lengths: np.ndarray, body: list[bytes]) -> tuple[list[Buffer], int, int]:
    header = encode_varints(lengths)
    length_crc = _length_crc(lengths)
    masked = crc.mask(length_crc).to_bytes(4, "little")
    c = crc.extend(length_crc, masked)
    for run in body:
        c = crc.extend(c, run)
    size = len(header) + 4 + sum(map(len, body))
    return [header, masked, *body], size, crc.mask(c)


def decode_strings(
    data: Buffer,
    count: int,
    *,
    verify: bool = True,
    big_endian: bool = False,
    path: str | None = None,
    key: str | bytes | None = None,
) -> tuple[np.ndarray, int]:
    """Parse a string tensor's bytes: (flat object array of the elements, unmasked crc of
    the whole encoding)."""
    mv = memoryview(data)
    if len(mv) < count + 4:
        # Each element needs at least one length byte: a huge declared shape is refused
        # here, before anything is allocated.
        raise DataLossError(
            f"string tensor of {count} elements needs at least {count + 4} bytes, "
            f"the entry has {len(mv)}", path=path, key=key,
        )
    lengths, used = decode_varints(mv, count, path=path, key=key)
    if used + 4 > len(mv):
        raise DataLossError("string tensor ends inside its length checksum", path=path, key=key)
    stored = int.from_bytes(mv[used:used + 4], "little")
    length_crc = _length_crc(lengths, big_endian)
    if verify and crc.unmask(stored) != length_crc:
        raise DataLossError(
            "the length checksum does not match: expected "
            f"{crc.unmask(stored):#010x}, computed {length_crc:#010x}", path=path, key=key,
        )
    start = used + 4
    total = int(lengths.sum(dtype=np.uint64)) if count else 0
    if lengths.size and int(lengths.max()) > len(mv):
        total = len(mv) + 1  # any single length past the buffer is an error below
    if start + total != len(mv):
        raise DataLossError(
            f"string lengths add up to {total} bytes but the entry holds "
            f"{len(mv) - start} after the lengths", path=path, key=key,
        )
    body = mv[start:]
    out = split_elements(body, lengths.astype(np.int64))
    c = crc.extend(crc.extend(length_crc, mv[used:used + 4]), body) if verify else 0
    return out, c


# np.strings.slice (numpy >= 2.3) cuts fixed-width strings to per-element lengths in C.
_strings_slice: Callable[..., np.ndarray] | None = getattr(
    getattr(np, "strings", None), "slice", None)
# Scratch space split_elements may use for its byte matrix, at least.
_MATRIX_BYTES = 16 << 20
_MAX_WIDTH = 1024  # longer elements are cut out one by one


def split_elements(body: Buffer, lengths: np.ndarray) -> np.ndarray:
    """Cut ``body`` into consecutive elements of ``lengths``: a flat object array of bytes.

    Slicing a million ``bytes`` objects out one at a time is slow in Python; instead the
    elements are gathered as fixed-width numpy strings (through a strided view of the
    body), cut to length, and numpy makes the ``bytes`` objects in C. Fixed-width strings
    drop trailing zero bytes, so elements that really end in one are cut out again by
    slicing, as are elements wider than the matrix.
    """
    n = len(lengths)
    out = np.empty(n, dtype=object)
    if n == 0:
        return out
    ends = np.cumsum(lengths)
    starts = ends - lengths
    longest = int(lengths.max())
    if longest == 0:
        out[:] = [b""] * n
        return out
    width = min(longest, _MAX_WIDTH, max(_MATRIX_BYTES, 4 * int(ends[-1])) // n)
    src = np.frombuffer(body, dtype=np.uint8)
    # Elements wider than the matrix, and the last few, whose window of ``width`` bytes
    # would run past the end of the body, are cut out one by one.
    slow = np.flatnonzero((lengths > width) | (starts > src.size - width))
    if width and slow.size < n:
        # Element i of this view is body[i:i + width]: gathering rows copies only them.
        windows = np.ndarray((src.size - width + 1,), dtype=f"S{width}", buffer=src,
                             strides=(1,))
        starts_in = np.minimum(starts, src.size - width)
        fixed = windows[starts_in]
        clipped = np.minimum(lengths, width)
        if _strings_slice is not None:
            fixed = _strings_slice(fixed, 0, clipped)
        else:  # numpy < 2.3: zero the bytes past each element by hand
            rows = fixed.view(np.uint8).reshape(n, width)
            np.multiply(rows, np.arange(width) < clipped[:, None], out=rows)
        out = fixed.astype(object)
        last = src[np.maximum(starts_in + clipped - 1, 0)]
        zero_ended = np.flatnonzero((lengths > 0) & (last == 0))
        slow = np.union1d(slow, zero_ended) if zero_ended.size else slow
    else:
        slow = np.arange(n)
    if slow.size:
        blob = memoryview(body)
        for i, a, b in zip(slow.tolist(), starts[slow].tolist(), ends[slow].tolist(),
                           strict=True):
            out[i] = bytes(blob[a:b])
    return out


def strings_to_array(elements: list[bytes] | np.ndarray, shape: Sequence[int]) -> np.ndarray:
    if isinstance(elements, np.ndarray):
        return elements.reshape(tuple(shape))
    arr = np.empty(len(elements), dtype=object)
    arr[:] = elements
    return arr.reshape(tuple(shape))


# ---------------------------------------------------------------- variants


def encode_variants(serialized: list[bytes]) -> tuple[list[Buffer], int, int]:
    """Chunks, size and masked crc of a DT_VARIANT tensor of serialized
    VariantTensorDataProto messages."""
    chunks: list[Buffer] = []
    c = 0
    size = 0
    for s in serialized:
        head = encode_varints(np.array([len(s)], dtype=np.uint64))
        c = crc.extend(c, len(s).to_bytes(8, "little"))
        c = crc.extend(c, s)
        tail = crc.mask(c).to_bytes(4, "little")
        c = crc.extend(c, tail)
        chunks += [head, s, tail]
        size += len(head) + len(s) + 4
    return chunks, size, crc.mask(c)


def decode_variants(
    data: Buffer,
    count: int,
    *,
    verify: bool = True,
    path: str | None = None,
    key: str | bytes | None = None,
) -> tuple[list[bytes], int]:
    """Serialized VariantTensorDataProto of each element, and the unmasked crc."""
    mv = memoryview(data)
    if len(mv) < 5 * count:
        raise DataLossError(
            f"variant tensor of {count} elements cannot fit in {len(mv)} bytes",
            path=path, key=key,
        )
    pos = 0
    c = 0
    out: list[bytes] = []
    for i in range(count):
        (n,), used = decode_varints(mv[pos:], 1, path=path, key=key)
        pos += used
        length = int(n)
        if length > len(mv) - pos - 4:
            raise DataLossError(
                f"variant element {i} declares {length} bytes, past the end of the entry",
                path=path, key=key,
            )
        body = bytes(mv[pos:pos + length])
        pos += length
        c = crc.extend(crc.extend(c, length.to_bytes(8, "little")), body)
        stored = mv[pos:pos + 4]
        if verify and crc.unmask(int.from_bytes(stored, "little")) != c:
            raise DataLossError(f"checksum of variant element {i} does not match",
                                path=path, key=key)
        c = crc.extend(c, stored)
        pos += 4
        out.append(body)
    if pos != len(mv):
        raise DataLossError(f"{len(mv) - pos} bytes left after the variant elements",
                            path=path, key=key)
    return out, c


def check_supported(dtype: DataType, *, path: str | None = None,
                    key: str | bytes | None = None) -> None:
    """Raise for types no bundle can hold (resource, invalid, reference types)."""
    if dtype in (DataType.DT_INVALID, DataType.DT_RESOURCE) or dtypes.is_ref(dtype):
        raise UnimplementedError(f"a checkpoint cannot hold {dtype.name} tensors",
                                 path=path, key=key)
