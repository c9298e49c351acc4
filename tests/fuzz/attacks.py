"""Hand-made hostile files, one per known attack on checkpoint and SavedModel readers.

Each attack is a set of files, the target that reads them (``fuzzlib.TARGETS``) and the
error it must end in. They model the crafted-checkpoint CVEs TensorFlow had (integer
overflows in extents, sizes and offsets; huge declared shapes; unsupported types) and
decompression and recursion bombs. The tests run them (tests/fuzz/test_attacks.py) and the
fuzzers start from them too (``attack_seeds``).
"""

from __future__ import annotations

import functools
import io
from collections.abc import Callable
from dataclasses import dataclass

from savedmodel_io.errors import (
    DataLossError,
    InvalidArgumentError,
    ResourceExhaustedError,
    SavedModelIOError,
    UnimplementedError,
)
from savedmodel_io.format import crc
from savedmodel_io.format.bundle_entry import BundleHeader
from savedmodel_io.format.coding import encode_fixed32
from savedmodel_io.format.slices import TensorSlice, slice_key
from savedmodel_io.format.table import (
    BlockHandle,
    Footer,
    TableBuilder,
    block_trailer,
)
from savedmodel_io.protos import (
    function_pb2,
    saved_model_pb2,
    saved_tensor_slice_pb2,
    tensor_bundle_pb2,
)
from tests.fuzz.bounds import Files
from tests.fuzz.mutations import varint

I64_MAX = 2**63 - 1
DT_FLOAT, DT_STRING, DT_RESOURCE, DT_VARIANT = 1, 7, 20, 21


@dataclass
class Attack:
    name: str
    target: str
    files: Files
    error: type[SavedModelIOError] | None  # None: must load cleanly (and within bounds)
    match: str  # a regular expression the message must contain (plain words)


def table(items: list[tuple[bytes, bytes]], **kw: object) -> bytes:
    out = io.BytesIO()
    tb = TableBuilder(out, **kw)  # type: ignore[arg-type]
    for k, v in sorted(items):
        tb.add(k, v)
    tb.finish()
    return out.getvalue()


def entry(dtype: int = DT_FLOAT, shape: tuple[int, ...] = (2,), offset: int = 0,
          size: int = 8, shard: int = 0, crc32c: int = 0,
          slices: list[list[tuple[int, int] | None]] | None = None) -> bytes:
    p = tensor_bundle_pb2.BundleEntryProto(dtype=dtype, shard_id=shard, offset=offset,
                                           size=size, crc32c=crc32c)
    p.shape.SetInParent()
    for d in shape:
        p.shape.dim.add().size = d
    for s in slices or []:
        sp = p.slices.add()
        for ext in s:
            e = sp.extent.add()
            if ext is not None:
                e.start, e.length = ext
    return p.SerializeToString()


def bundle(entries: dict[bytes, bytes], data: bytes = b"\0" * 64, *,
           header: bytes | None = None, index: bytes | None = None) -> Files:
    items = [(b"", header if header is not None else BundleHeader().encode())]
    items += list(entries.items())
    return {"ckpt.index": index if index is not None else table(items),
            "ckpt.data-00000-of-00001": data}


def good_crc(data: bytes) -> int:
    return crc.mask(crc.value(data))


def partitioned_bomb(full_shape: tuple[int, ...]) -> Files:
    """A partitioned float tensor declaring ``full_shape`` whose only stored slice is the
    2x2 corner (16 bytes of data): reading it must not allocate the declared shape."""
    corner = TensorSlice(((0, 2), (0, 2)))
    data = b"\x00\x00\x80\x3f" * 4
    return bundle({
        b"part": entry(shape=full_shape, size=0, slices=[[(0, 2), (0, 2)]]),
        slice_key("part", corner): entry(shape=(2, 2), size=16, crc32c=good_crc(data)),
    }, data)


def snappy_bomb_index() -> bytes:
    """An index whose only data block says it inflates to 4 GiB (the preamble of a Snappy
    block is its uncompressed length) while holding 20 bytes."""
    contents = varint(0xFFFFFFFF) + b"\x00" * 20
    out = bytearray(contents + block_trailer(contents, 1))
    index_block = bytearray()
    # One restart-point block with the key "\xff" -> handle of the data block.
    handle = BlockHandle(0, len(contents)).encode()
    index_block += bytes([0, 1, len(handle)]) + b"\xff" + handle
    index_block += encode_fixed32(0) + encode_fixed32(1)
    meta = bytes(encode_fixed32(0)) + encode_fixed32(1)  # empty block: one restart at 0
    meta_handle = BlockHandle(len(out), len(meta))
    out += meta + block_trailer(meta, 0)
    index_handle = BlockHandle(len(out), len(index_block))
    out += index_block + block_trailer(bytes(index_block), 0)
    out += Footer(meta_handle, index_handle).encode()
    return bytes(out)


def v1_file(metas: list[saved_tensor_slice_pb2.SavedSliceMeta],
            records: list[tuple[str, TensorSlice, object]]) -> bytes:
    head = saved_tensor_slice_pb2.SavedTensorSlices()
    for m in metas:
        head.meta.tensor.add().CopyFrom(m)
    head.meta.versions.producer = 1
    items = [(b"", head.SerializeToString())]
    for name, s, tensor in records:
        rec = saved_tensor_slice_pb2.SavedTensorSlices()
        rec.data.name = name
        for start, length in s.extents:
            e = rec.data.slice.extent.add()
            if length != -1:
                e.start, e.length = start, length
        rec.data.data.CopyFrom(tensor)  # type: ignore[arg-type]
        items.append((slice_key(name, s), rec.SerializeToString()))
    return table(items)


def v1_meta(name: str, dtype: int, shape: tuple[int, ...],
            slices: list[list[tuple[int, int] | None]]) -> saved_tensor_slice_pb2.SavedSliceMeta:
    m = saved_tensor_slice_pb2.SavedSliceMeta(name=name, type=dtype)  # type: ignore[arg-type]
    m.shape.SetInParent()
    for d in shape:
        m.shape.dim.add().size = d
    for s in slices:
        sp = m.slice.add()
        for ext in s:
            e = sp.extent.add()
            if ext is not None:
                e.start, e.length = ext
    return m


def float_tensor(values: list[float], shape: tuple[int, ...]) -> object:
    from savedmodel_io.protos import tensor_pb2

    t = tensor_pb2.TensorProto(dtype=DT_FLOAT, float_val=values)  # type: ignore[arg-type]
    for d in shape:
        t.tensor_shape.dim.add().size = d
    return t


def saved_model_with_library(build: Callable[[function_pb2.FunctionDefLibrary], None]
                             ) -> Files:
    sm = saved_model_pb2.SavedModel(saved_model_schema_version=1)
    meta = sm.meta_graphs.add()
    meta.meta_info_def.tags.append("serve")
    build(meta.graph_def.library)
    meta.graph_def.node.add(name="call", op="f0")
    return {"saved_model.pb": sm.SerializeToString()}


def cyclic_library(lib: function_pb2.FunctionDefLibrary) -> None:
    for i in range(2):
        f = lib.function.add()
        f.signature.name = f"f{i}"
        f.node_def.add(name="call", op=f"f{1 - i}")


def deep_library(lib: function_pb2.FunctionDefLibrary) -> None:
    for i in range(5000):
        f = lib.function.add()
        f.signature.name = f"f{i}"
        f.node_def.add(name="call", op=f"f{i + 1}")


def nested_attr_bytes(depth: int) -> bytes:
    """An AttrValue nested ``depth`` levels deep (AttrValue.func.attr -> AttrValue ...),
    serialized by hand: protobuf refuses to build it (recursion limit)."""
    # AttrValue{func (10): NameAttrList{name (1), attr (2): map entry{key 1, value 2}}}
    inner = _field(2, b"x")  # AttrValue{s: "x"}
    for _ in range(depth):
        inner = _field(10, _field(1, b"f") + _field(2, _field(1, b"a") + _field(2, inner)))
    return inner


def _field(number: int, payload: bytes) -> bytes:
    """A length-delimited protobuf field."""
    return varint(number << 3 | 2) + varint(len(payload)) + payload


def deeply_nested_saved_model(depth: int) -> Files:
    """SavedModel > MetaGraphDef > GraphDef > NodeDef whose attr nests ``depth`` levels."""
    attr_entry = _field(1, b"value") + _field(2, nested_attr_bytes(depth))
    node = _field(1, b"n") + _field(2, b"Const") + _field(5, attr_entry)
    graph = _field(1, node)
    meta = _field(1, _field(4, b"serve")) + _field(2, graph)  # meta_info_def.tags, graph_def
    return {"saved_model.pb": b"\x08\x01" + _field(2, meta)}


def deeply_nested_pbtxt(depth: int) -> Files:
    attr = "s: 'x'"
    for _ in range(depth):
        attr = "func { name: 'f' attr { key: 'a' value { " + attr + " } } }"
    body = ("saved_model_schema_version: 1\nmeta_graphs { meta_info_def { tags: 'serve' } "
            "graph_def { node { name: 'n' op: 'Const' attr { key: 'value' value { "
            + attr + " } } } } }\n")
    return {"saved_model.pbtxt": body.encode()}


def cyclic_object_graph() -> Files:
    sm = saved_model_pb2.SavedModel(saved_model_schema_version=1)
    meta = sm.meta_graphs.add()
    meta.meta_info_def.tags.append("serve")
    og = meta.object_graph_def
    for i in range(3):
        n = og.nodes.add()
        n.user_object.identifier = "_generic_user_object"
        n.children.add(node_id=(i + 1) % 3, local_name=f"c{i}")
        n.children.add(node_id=i, local_name="self")
        n.children.add(node_id=10**9, local_name="dangling")
    v = og.nodes.add()
    v.variable.dtype = DT_FLOAT
    og.nodes[2].children.add(node_id=3, local_name="v")
    return {"saved_model.pb": sm.SerializeToString()}


# ------------------------------------------------------------------ the list


@functools.cache
def attacks() -> list[Attack]:
    """Every attack (built once; treat the files as read-only)."""
    A = Attack
    out = [
        # ---- extents of partitioned tensors (TF CVE-2021-29548 et al.)
        A("slice extent end overflows int64", "bundle",
          bundle({b"t": entry(shape=(4,), size=0, slices=[[(I64_MAX - 10, 100)]])}),
          DataLossError, "bad slice extent"),
        A("slice extent past the dimension", "bundle",
          bundle({b"t": entry(shape=(4,), size=0, slices=[[(1, 10)]])}),
          DataLossError, "leaves the tensor"),
        A("negative extent start", "bundle",
          bundle({b"t": entry(shape=(4,), size=0, slices=[[(-1, 2)]])}),
          DataLossError, "bad slice extent"),
        A("negative extent length", "bundle",
          bundle({b"t": entry(shape=(4,), size=0, slices=[[(0, -5)]])}),
          DataLossError, "bad slice extent"),
        # ---- sizes and shapes
        A("element count overflows int64", "bundle",
          bundle({b"t": entry(shape=(2**32, 2**32), size=8)}),
          DataLossError, r"more than 2\^63 elements"),
        A("byte size overflows int64 (count fits)", "bundle",
          bundle({b"t": entry(shape=(2**31, 2**31), size=8)}),
          DataLossError, "invalid size|too large"),
        A("negative dimension", "bundle",
          bundle({b"t": entry(shape=(-1, 3), size=8)}),
          DataLossError, "negative dimension"),
        A("zero-size shape (0, 2^62): no elements, yet too big for numpy", "bundle",
          bundle({b"t": entry(shape=(0, 1 << 62), size=0)}),
          DataLossError, "too large"),
        A("zero-size shape (0, 2^62), checksums off", "bundle_unverified",
          bundle({b"t": entry(shape=(0, 1 << 62), size=0)}),
          DataLossError, "too large"),
        A("rank over 254", "bundle",
          bundle({b"t": entry(shape=(1,) * 300, size=4)}),
          DataLossError, "rank 300"),
        # ---- types
        A("DT_RESOURCE tensor (TF aborts the process)", "bundle",
          bundle({b"t": entry(dtype=DT_RESOURCE, size=8)}),
          UnimplementedError, "cannot hold DT_RESOURCE"),
        A("DT_INVALID tensor", "bundle",
          bundle({b"t": entry(dtype=0, size=8)}),
          UnimplementedError, "cannot hold DT_INVALID"),
        A("reference dtype (float_ref)", "bundle",
          bundle({b"t": entry(dtype=101, size=8)}),
          UnimplementedError, "cannot hold"),
        A("unknown dtype number", "bundle",
          bundle({b"t": entry(dtype=999, size=8)}),
          UnimplementedError, "unknown dtype number 999"),
        # ---- offsets
        A("offset 0x7FFFFFFFFFFFFFF0 with size 16 (end = 2^63)", "bundle",
          bundle({b"t": entry(shape=(4,), offset=0x7FFFFFFFFFFFFFF0, size=16)}),
          DataLossError, "bad extent"),
        A("offset 0x7FFFFFFFFFFFFFF0 with size 8 (end fits, file does not)", "bundle",
          bundle({b"t": entry(shape=(2,), offset=0x7FFFFFFFFFFFFFF0, size=8)}),
          DataLossError, "runs past the end of the data file"),
        A("negative offset", "bundle",
          bundle({b"t": entry(offset=-8, size=8)}),
          DataLossError, "bad extent"),
        A("shard id beyond the header's shard count", "bundle",
          bundle({b"t": entry(shard=7)}),
          DataLossError, "shard id 7"),
        A("header claims a billion shards", "bundle",
          bundle({b"t": entry()},
                 header=tensor_bundle_pb2.BundleHeaderProto(
                     num_shards=10**9).SerializeToString()),
          DataLossError, "claims 1000000000 shards"),
        # ---- strings and variants
        A("string tensor declaring 2^40 elements in 10 bytes", "bundle",
          bundle({b"t": entry(dtype=DT_STRING, shape=(2**40,), size=10)}),
          DataLossError, "cannot fit"),
        A("string tensor declaring 2^40 elements and 2^40+4 bytes", "bundle",
          bundle({b"t": entry(dtype=DT_STRING, shape=(2**40,), size=2**40 + 4)}),
          DataLossError, "runs past the end"),
        A("string tensor declaring 2^40 elements, checksums off", "bundle_unverified",
          bundle({b"t": entry(dtype=DT_STRING, shape=(2**40,), size=2**40 + 4)}),
          DataLossError, "runs past the end"),
        A("string element length of 2^62", "bundle_unverified",
          bundle({b"t": entry(dtype=DT_STRING, shape=(1,), size=16)},
                 data=varint(2**62) + b"\0" * 7),
          DataLossError, "string lengths add up"),
        A("variant tensor declaring 2^40 elements", "bundle",
          bundle({b"t": entry(dtype=DT_VARIANT, shape=(2**40,), size=64)}),
          DataLossError, "cannot fit"),
        # ---- partitioned tensors (found by the fuzzer)
        A("partitioned tensor of 2^40 elements with one 2x2 slice stored", "bundle",
          partitioned_bomb((1 << 20, 1 << 20)), DataLossError, "sufficient slices"),
        A("partitioned tensor of 6 x 2^32 elements with one 2x2 slice", "bundle",
          partitioned_bomb((6, 1 << 32)), DataLossError, "sufficient slices"),
        # ---- compression
        A("snappy block declaring 4 GiB uncompressed", "bundle",
          {"ckpt.index": snappy_bomb_index(), "ckpt.data-00000-of-00001": b""},
          DataLossError, "claims 4294967295 uncompressed bytes"),
        A("table footer pointing 2^63 bytes in", "table",
          {"table": bytes(Footer(BlockHandle(2**63, 16), BlockHandle(2**63 - 1, 2**63))
                          .encode())},
          DataLossError, "runs past the end"),
        # ---- legacy V1
        A("V1 shape of 2^62 elements from a 1-value proto", "v1",
          {"model.ckpt": v1_file([v1_meta("t", DT_FLOAT, (2**31, 2**31), [[None, None]])],
                                 [("t", TensorSlice.full(2), float_tensor([1.0], ()))])},
          DataLossError, "too large to hold"),
        A("V1 shape of 2^40 elements from a 1-value proto", "v1",
          {"model.ckpt": v1_file([v1_meta("t", DT_FLOAT, (1 << 20, 1 << 20), [[None, None]])],
                                 [("t", TensorSlice.full(2), float_tensor([1.0], ()))])},
          DataLossError, "elements, more than the checkpoint"),
        A("V1 zero-size shape (2^31, 2^31, 0) (found by the fuzzer)", "v1",
          {"model.ckpt": v1_file([v1_meta("t", DT_FLOAT, (1 << 31, 1 << 31, 0),
                                           [[None, None, None]])], [])},
          DataLossError, "too large"),
        A("V1 negative dimension", "v1",
          {"model.ckpt": v1_file([v1_meta("t", DT_FLOAT, (-3,), [[None]])], [])},
          DataLossError, "negative dimension"),
        A("V1 slice extent end overflows int64", "v1",
          {"model.ckpt": v1_file([v1_meta("t", DT_FLOAT, (4,), [[(I64_MAX - 1, 10)]])], [])},
          DataLossError, "bad slice extent"),
        A("V1 slice extent past the dimension", "v1",
          {"model.ckpt": v1_file(
              [v1_meta("t", DT_FLOAT, (4,), [[(2, 6)]])],
              [("t", TensorSlice(((2, 6),)), float_tensor([1.0] * 6, (6,)))])},
          DataLossError, "leaves the tensor"),
        A("V1 tensor_content of the wrong size", "v1",
          {"model.ckpt": v1_file(
              [v1_meta("t", DT_FLOAT, (4,), [[None]])],
              [("t", TensorSlice.full(1), _content_tensor(b"\0" * 12, (4,)))])},
          DataLossError, "wrong number of values"),
        A("V1 unknown dtype", "v1",
          {"model.ckpt": v1_file([v1_meta("t", 999, (4,), [[None]])], [])},
          UnimplementedError, "unknown dtype number 999"),
        # ---- SavedModels
        A("function library calling itself in a cycle", "saved_model",
          saved_model_with_library(cyclic_library), None, ""),
        A("function library nested 5000 calls deep", "saved_model",
          saved_model_with_library(deep_library), None, ""),
        A("object graph with cycles, self-loops and dangling ids", "saved_model",
          cyclic_object_graph(), None, ""),
        A("attribute nested 2,000 deep (binary)", "saved_model",
          deeply_nested_saved_model(2_000), DataLossError, "cannot parse"),
        A("attribute nested 3,000 deep (text)", "saved_model_text",
          deeply_nested_pbtxt(3_000), DataLossError, "cannot parse"),
        A("saved_model.pb of random bytes", "saved_model",
          {"saved_model.pb": bytes(range(256)) * 4}, DataLossError, "cannot parse"),
        # ---- state file
        A("state file naming a path with a NUL (found by the fuzzer)", "state_file",
          {"checkpoint": b'model_checkpoint_path: "a/\\000b/ckpt-3-?????-of-00002"\n'},
          DataLossError, "NUL"),
        A("state file of 65 MiB", "state_file",
          {"checkpoint": b"model_checkpoint_path: 'x' " + b" " * (65 << 20)},
          ResourceExhaustedError, "more than the 67108864 allowed"),
    ]
    return out


def _content_tensor(content: bytes, shape: tuple[int, ...]) -> object:
    from savedmodel_io.protos import tensor_pb2

    t = tensor_pb2.TensorProto(dtype=DT_FLOAT, tensor_content=content)  # type: ignore[arg-type]
    for d in shape:
        t.tensor_shape.dim.add().size = d
    return t


def attack_seeds(target: str) -> dict[str, Files]:
    """The attacks for ``target``, as extra fuzzing seeds."""
    return {f"attack:{a.name}": a.files for a in attacks() if a.target == target}


__all__ = ["Attack", "attacks", "attack_seeds", "InvalidArgumentError"]
