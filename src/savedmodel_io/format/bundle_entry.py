"""Index records of a tensor bundle: the header and one entry per tensor, and file names.

``BundleHeaderProto`` sits under the empty key; every other key maps to a
``BundleEntryProto`` that says where the tensor's bytes are. Decoding checks every field a
hostile file could abuse (dtype, dimensions, element count, offsets, sizes, shard ids)
before anything trusts it.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass, field

from savedmodel_io import dtypes
from savedmodel_io.dtypes import DataType
from savedmodel_io.errors import DataLossError, InvalidArgumentError, UnimplementedError
from savedmodel_io.format.slices import FULL, TensorSlice
from savedmodel_io.protos import tensor_bundle_pb2, tensor_shape_pb2, tensor_slice_pb2
from savedmodel_io.tensor_proto import proto_dtype

BUNDLE_VERSION = 1  # the only format version there is
MAX_INT64 = 2**63 - 1
MAX_RANK = 254  # TensorFlow's TensorShape limit
HOST_BIG_ENDIAN = sys.byteorder == "big"


# ------------------------------------------------------------------ file names


def index_filename(prefix: str) -> str:
    return prefix + ".index"


def data_filename(prefix: str, shard: int, num_shards: int) -> str:
    return f"{prefix}.data-{shard:05d}-of-{num_shards:05d}"


def sharded_filename(prefix: str, shard: int, num_shards: int) -> str:
    """TensorFlow's ShardedFilename: ``prefix-00000-of-00002``."""
    return f"{prefix}-{shard:05d}-of-{num_shards:05d}"


# ------------------------------------------------------------------ header


@dataclass(frozen=True)
class BundleHeader:
    num_shards: int = 1
    big_endian: bool = HOST_BIG_ENDIAN
    version: bytes = b"\x08\x01"  # serialized VersionDef{producer: 1}

    def encode(self) -> bytes:
        p = tensor_bundle_pb2.BundleHeaderProto()
        p.num_shards = self.num_shards
        p.endianness = (tensor_bundle_pb2.BundleHeaderProto.BIG if self.big_endian
                        else tensor_bundle_pb2.BundleHeaderProto.LITTLE)
        p.version.ParseFromString(self.version)
        return p.SerializeToString(deterministic=True)

    @classmethod
    def decode(cls, data: bytes, path: str | None = None) -> BundleHeader:
        p = tensor_bundle_pb2.BundleHeaderProto()
        try:
            p.ParseFromString(data)
        except Exception as e:  # protobuf raises DecodeError, sometimes others
            raise DataLossError(f"bundle header is not a valid BundleHeaderProto: {e}",
                                path=path) from None
        v = p.version
        if v.producer < 0 or v.min_consumer > BUNDLE_VERSION or BUNDLE_VERSION in \
                v.bad_consumers:
            raise UnimplementedError(
                f"bundle format version not supported: producer {v.producer}, "
                f"min_consumer {v.min_consumer}, bad_consumers {list(v.bad_consumers)}; "
                f"this reader implements version {BUNDLE_VERSION}", path=path)
        if p.num_shards < 0 or p.num_shards > 1_000_000:
            raise DataLossError(f"bundle header claims {p.num_shards} shards", path=path)
        if p.endianness not in (0, 1):
            raise DataLossError(f"bundle header has unknown endianness {p.endianness}",
                                path=path)
        return cls(p.num_shards, p.endianness == 1, v.SerializeToString(deterministic=True))


# ------------------------------------------------------------------ entries


@dataclass
class BundleEntry:
    """Where one tensor (or one stored slice) lives in the data files."""

    dtype: DataType
    shape: tuple[int, ...]
    shard_id: int = 0
    offset: int = 0
    size: int = 0
    crc32c: int = 0  # masked
    slices: list[TensorSlice] = field(default_factory=list)

    @property
    def num_elements(self) -> int:
        n = 1
        for d in self.shape:
            n *= d
        return n

    def encode(self) -> bytes:
        p = tensor_bundle_pb2.BundleEntryProto()
        p.dtype = proto_dtype(self.dtype)
        encode_shape(self.shape, p.shape)
        p.shard_id = self.shard_id
        p.offset = self.offset
        p.size = self.size
        p.crc32c = self.crc32c
        for s in self.slices:
            encode_slice(s, p.slices.add())
        return p.SerializeToString(deterministic=True)

    @classmethod
    def decode(cls, data: bytes | memoryview, *, path: str | None = None,
               key: bytes | None = None, num_shards: int | None = None) -> BundleEntry:
        p = tensor_bundle_pb2.BundleEntryProto()
        try:
            p.ParseFromString(bytes(data))
        except Exception as e:
            raise DataLossError(f"index entry is not a valid BundleEntryProto: {e}",
                                path=path, key=key) from None
        try:
            dt = DataType(p.dtype)
        except ValueError:
            raise UnimplementedError(f"unknown dtype number {p.dtype} in the index",
                                     path=path, key=key) from None
        shape = decode_shape(p.shape, path=path, key=key)
        if p.offset < 0 or p.size < 0 or p.offset > MAX_INT64 - p.size:
            raise DataLossError(
                f"bad extent: offset {p.offset}, size {p.size}", path=path, key=key)
        if p.shard_id < 0 or (num_shards is not None and p.shard_id >= max(num_shards, 1)
                              and not p.slices):
            raise DataLossError(
                f"shard id {p.shard_id} outside the {num_shards} shards of the bundle",
                path=path, key=key)
        entry = cls(dt, shape, p.shard_id, p.offset, p.size, p.crc32c,
                    [decode_slice(s, path=path, key=key) for s in p.slices])
        for s in entry.slices:
            if s.rank != len(shape):
                raise DataLossError(f"slice {s} has rank {s.rank}, tensor shape {shape}",
                                    path=path, key=key)
            try:
                s.check_inside(shape)
            except ValueError as e:
                raise DataLossError(str(e), path=path, key=key) from None
        entry.check_size(path=path, key=key)
        return entry

    def check_size(self, *, path: str | None = None, key: bytes | None = None) -> None:
        """The stored size must fit the dtype and shape (fixed-size types exactly)."""
        if self.slices:
            return
        if self.dtype in (DataType.DT_INVALID, DataType.DT_RESOURCE) or dtypes.is_ref(
                self.dtype):
            raise UnimplementedError(f"a bundle cannot hold {self.dtype.name} tensors",
                                     path=path, key=key)
        n = self.num_elements
        size_per = dtypes.itemsize(self.dtype)
        if size_per is not None:
            if n * size_per != self.size:
                raise DataLossError(
                    f"invalid size in bundle entry: {self.dtype.name} shape "
                    f"{list(self.shape)} needs {n * size_per} bytes, the entry says "
                    f"{self.size}", path=path, key=key)
        elif self.dtype == DataType.DT_STRING and self.size < n + 4:
            raise DataLossError(
                f"string tensor of {n} elements cannot fit in {self.size} bytes",
                path=path, key=key)
        elif self.dtype == DataType.DT_VARIANT and self.size < 5 * n:
            raise DataLossError(
                f"variant tensor of {n} elements cannot fit in {self.size} bytes",
                path=path, key=key)


def check_allocatable(dtype: DataType, shape: Sequence[int], *, path: str | None = None,
                      key: bytes | None = None) -> None:
    """Refuse, as corrupt, a shape numpy cannot allocate: numpy refuses shapes whose
    non-zero dimensions multiply past 2^63 bytes even when another dimension is 0 (no
    elements at all). Decoding an entry allows such shapes (listing them is harmless);
    reading one calls this first."""
    try:
        n = dtypes.itemsize(dtype) or 8  # strings and variants: one pointer each
    except InvalidArgumentError:
        n = 8  # not a tensor type at all: check_size or the reader refuses it
    for d in shape:
        n *= max(d, 1)
    if n > MAX_INT64:
        raise DataLossError(f"shape {list(shape)} is too large to hold in memory",
                            path=path, key=key)


def encode_shape(shape: Sequence[int], out: tensor_shape_pb2.TensorShapeProto) -> None:
    out.SetInParent()
    for d in shape:
        out.dim.add().size = int(d)


def decode_shape(p: tensor_shape_pb2.TensorShapeProto, *, path: str | None = None,
                 key: bytes | None = None) -> tuple[int, ...]:
    if p.unknown_rank:
        raise DataLossError("stored tensor has unknown rank", path=path, key=key)
    if len(p.dim) > MAX_RANK:
        raise DataLossError(f"rank {len(p.dim)} is over {MAX_RANK}", path=path, key=key)
    dims = tuple(d.size for d in p.dim)
    n = 1
    for d in dims:
        if d < 0:
            raise DataLossError(f"negative dimension in shape {list(dims)}",
                                path=path, key=key)
        n *= d
        if n > MAX_INT64:
            raise DataLossError(f"shape {list(dims)} has more than 2^63 elements",
                                path=path, key=key)
    return dims


def encode_slice(s: TensorSlice, out: tensor_slice_pb2.TensorSliceProto) -> None:
    out.SetInParent()
    for start, length in s.extents:
        e = out.extent.add()
        if length != FULL:
            e.start = start
            e.length = length


def decode_slice(p: tensor_slice_pb2.TensorSliceProto, *, path: str | None = None,
                 key: bytes | None = None) -> TensorSlice:
    extents = []
    for e in p.extent:
        if e.HasField("length"):
            if e.start < 0 or e.length < 0 or e.start > MAX_INT64 - e.length:
                raise DataLossError(f"bad slice extent ({e.start}, {e.length})",
                                    path=path, key=key)
            extents.append((e.start, e.length))
        else:
            extents.append((0, FULL))
    return TensorSlice(tuple(extents))
