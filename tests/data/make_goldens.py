#!/usr/bin/env python
"""Regenerate the TensorFlow-written golden files under tests/data/golden/.

Run with the TensorFlow venv (TF 2.21 CPU):

    /work/tfenv/bin/python tests/data/make_goldens.py

Everything under tests/data/golden/ is deleted and rewritten.  All values come from
numpy RandomState generators with fixed seeds.  The result is described by
tests/data/golden/manifest.json (see tests/data/README.md), which our TF-free tests
use as the expected values.

Only this script imports TensorFlow; the tests must not.
"""

import base64
import contextlib
import hashlib
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from unittest import mock

os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
os.environ.setdefault("PYTHONHASHSEED", "0")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

import ml_dtypes  # noqa: E402,F401
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from tensorflow.core.framework import types_pb2  # noqa: E402
from tensorflow.core.protobuf import tensor_bundle_pb2  # noqa: E402
from tensorflow.core.util import saved_tensor_slice_pb2  # noqa: E402

tf.get_logger().setLevel("ERROR")

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "golden")
EXPECTED = os.path.join(OUT, "expected")
TFBIN = os.path.dirname(sys.executable)
assert sys.byteorder == "little", "goldens must be produced on a little-endian host"

MANIFEST = {
    "generator": "tests/data/make_goldens.py",
    "tensorflow_version": tf.__version__,
    "numpy_version": np.__version__,
    "conventions": {
        "paths": "relative to tests/data/golden/",
        "value_b64": "base64 of the raw little-endian C-order element bytes (numeric/bool/quantized/"
                     "float8/int4...: 1 byte per element for the sub-byte types, as ml_dtypes/TF)",
        "value_strings_b64": "DT_STRING: list (flattened C order) of base64 element bytes",
        "tensors": "items in the order TF added them to the data file (SaveV2 argument order)",
        "index_entries": "every non-header .index entry in key (table) order",
        "shape_and_slices": "SaveV2/RestoreV2 shape_and_slices string; '' = not sliced",
        "slice": "per-dimension [start, length]; null = full dimension (empty Extent)",
        "index_key_b64": "only for slice entries (binary OrderedCode key); otherwise key == name",
        "tf_reader": "tf.train.load_checkpoint(prefix): per key shape, dtype and value; values "
                     "over 16384 bytes are given as value_sha256/value_nbytes (strings: "
                     "value_strings_sha256/value_strings_len per element) instead of base64",
    },
    "checkpoints": {},
    "savedmodels": {},
    "state_files": {},
    "observations": {},
    "expected_outputs": {},
}

BIG_VALUE = 16384  # tf_reader values larger than this (bytes) are stored as sha256 only
DT_NAME = {v: k for k, v in types_pb2.DataType.items()}


# --------------------------------------------------------------------------------------
# small helpers


def b64(b):
    return base64.b64encode(bytes(b)).decode("ascii")


def tf_dtype(dt):
    return tf.dtypes.as_dtype(dt)


def dtype_info(dt):
    dt = tf_dtype(dt)
    return {"dtype": DT_NAME[dt.as_datatype_enum], "dtype_enum": dt.as_datatype_enum,
            "numpy_dtype": dt.name}


def value_record(arr, dt):
    """Expected value of a numpy array (as TF returns it) for the manifest."""
    dt = tf_dtype(dt)
    arr = np.asarray(arr)
    if dt == tf.string:
        return {"value_strings_b64": [b64(x) for x in arr.reshape(-1).tolist()]}
    if dt == tf.variant:
        return {}
    return {"value_b64": b64(np.ascontiguousarray(arr).tobytes())}


def error_text(e):
    return f"{type(e).__name__}: {str(e).strip()}"


@contextlib.contextmanager
def chdir(path):
    old = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(old)


@contextlib.contextmanager
def fake_clock(start=1700000000.0, step=0.25):
    """Deterministic time.time() (CheckpointManager writes timestamps into the state file)."""
    t = [start]

    def fake():
        t[0] += step
        return t[0]

    with mock.patch("time.time", fake):
        yield


def rel(path):
    return os.path.relpath(path, OUT)


# --------------------------------------------------------------------------------------
# Independent SSTable / bundle index parser (used only to describe what TF wrote)


def _varint(buf, pos):
    result = shift = 0
    while True:
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7


def _parse_block(data):
    n = struct.unpack_from("<I", data, len(data) - 4)[0]
    limit = len(data) - 4 - 4 * n
    pos, key, out = 0, b"", []
    while pos < limit:
        shared, pos = _varint(data, pos)
        unshared, pos = _varint(data, pos)
        vlen, pos = _varint(data, pos)
        key = key[:shared] + data[pos:pos + unshared]
        pos += unshared
        out.append((key, data[pos:pos + vlen]))
        pos += vlen
    restarts = list(struct.unpack_from("<%dI" % n, data, limit))
    return out, restarts


def read_table(path):
    buf = open(path, "rb").read()
    footer = buf[-48:]
    assert footer[40:] == bytes.fromhex("57fb808b247547db"), path
    pos = 0
    mo, pos = _varint(footer, pos)
    ms, pos = _varint(footer, pos)
    io, pos = _varint(footer, pos)
    isz, pos = _varint(footer, pos)
    for off, size in ((mo, ms), (io, isz)):
        assert buf[off + size] == 0, "compressed block?"
    index, _ = _parse_block(buf[io:io + isz])
    entries, blocks = [], []
    for ikey, handle in index:
        off, p = _varint(handle, 0)
        size, p = _varint(handle, p)
        assert buf[off + size] == 0, "compressed block?"
        ents, restarts = _parse_block(buf[off:off + size])
        blocks.append({"offset": off, "size": size, "num_entries": len(ents),
                       "num_restarts": len(restarts), "index_key_b64": b64(ikey),
                       "last_key_b64": b64(ents[-1][0])})
        entries.extend(ents)
    table = {"file_size": len(buf), "num_data_blocks": len(blocks), "data_blocks": blocks,
             "metaindex_handle": [mo, ms], "index_handle": [io, isz]}
    return entries, table


def _ordered_string(buf, pos):
    out = bytearray()
    while True:
        b = buf[pos]
        if b == 0x00:
            nxt = buf[pos + 1]
            pos += 2
            if nxt == 0x01:
                return bytes(out), pos
            assert nxt == 0xFF
            out.append(0)
        elif b == 0xFF:
            assert buf[pos + 1] == 0x00
            out.append(0xFF)
            pos += 2
        else:
            out.append(b)
            pos += 1


def _ordered_num(buf, pos):
    n = buf[pos]
    return int.from_bytes(buf[pos + 1:pos + 1 + n], "big"), pos + 1 + n


_SIGNED_HEADERS = {1: 0x80, 2: 0xC000, 3: 0xE000, 4: 0xF000, 5: 0xF800, 6: 0xFC00, 7: 0xFE00,
                   8: 0xFF00, 9: 0xFF80, 10: 0xFFC0}


def _ordered_signed(buf, pos):
    inv = 0 if buf[pos] & 0x80 else 0xFF
    y = buf[pos] ^ inv
    if y != 0xFF:
        length = 0
        while y & (0x80 >> length):
            length += 1
    else:
        y2 = buf[pos + 1] ^ inv
        length = 8 + (1 if y2 & 0x80 else 0) + (1 if y2 & 0xC0 == 0xC0 else 0)
    hdr = _SIGNED_HEADERS[length]
    hdr_bytes = hdr.to_bytes(1 if length == 1 else 2, "big") + b"\0" * (length - (1 if length == 1 else 2))
    raw = int.from_bytes(buf[pos:pos + length], "big") ^ int.from_bytes(hdr_bytes, "big")
    return int.from_bytes(raw.to_bytes(length, "big"), "big", signed=True), pos + length


def decode_slice_key(key):
    """EncodeTensorNameSlice inverse -> (name bytes, [[start, length] | None, ...])."""
    first, pos = _ordered_num(key, 0)
    assert first == 0
    name, pos = _ordered_string(key, pos)
    rank, pos = _ordered_num(key, pos)
    dims = []
    for _ in range(rank):
        start, pos = _ordered_signed(key, pos)
        length, pos = _ordered_signed(key, pos)
        dims.append(None if length == -1 else [start, length])
    assert pos == len(key), key
    return name, dims


def slice_proto_to_list(sp):
    return [[e.start, e.length] if e.HasField("length") else None for e in sp.extent]


def bundle_entry_record(key, e):
    rec = {"key_b64": b64(key)}
    if key.startswith(b"\x00"):
        name, dims = decode_slice_key(key)
        rec["slice_of"] = name.decode("utf-8")
        rec["slice"] = dims
    else:
        rec["key"] = key.decode("utf-8")
    rec.update(dtype_info(e.dtype))
    rec["shape"] = [d.size for d in e.shape.dim]
    rec.update(shard_id=e.shard_id, offset=e.offset, size=e.size, crc32c=e.crc32c)
    if e.slices:
        rec["slices"] = [slice_proto_to_list(s) for s in e.slices]
    return rec


def read_bundle_index(prefix):
    entries, table = read_table(prefix + ".index")
    assert entries[0][0] == b""
    header = tensor_bundle_pb2.BundleHeaderProto.FromString(entries[0][1])
    recs = [bundle_entry_record(k, tensor_bundle_pb2.BundleEntryProto.FromString(v))
            for k, v in entries[1:]]
    hdr = {"num_shards": header.num_shards,
           "endianness": tensor_bundle_pb2.BundleHeaderProto.Endianness.Name(header.endianness),
           "version": {"producer": header.version.producer,
                       "min_consumer": header.version.min_consumer},
           "serialized_b64": b64(entries[0][1])}
    return hdr, recs, table


# --------------------------------------------------------------------------------------
# Describing a checkpoint for the manifest


def parse_sas(sas):
    """'5 2 0,3:0,2' -> (full_shape, [[0,3],[0,2]]); '' -> (None, None)."""
    if not sas:
        return None, None
    parts = sas.split(" ")
    full = [int(x) for x in parts[:-1]]
    dims = []
    for item, _n in zip(parts[-1].split(":"), full, strict=False):
        if item == "-":
            dims.append(None)
        else:
            s, l = item.split(",")
            dims.append([int(s), int(l)])
    return full, dims


def slice_shape(full, dims):
    return [n if d is None else d[1] for n, d in zip(full, dims, strict=False)]


def restore_value(prefix, name, sas, dt):
    out = tf.raw_ops.RestoreV2(prefix=prefix, tensor_names=[name], shape_and_slices=[sas],
                               dtypes=[tf_dtype(dt)])
    v = out[0].numpy()
    if tf_dtype(dt) == tf.string:
        return np.asarray(v, dtype=object)
    return np.asarray(v)


def tf_reader_record(prefix):
    """What tf.train.load_checkpoint reports (shape map, dtype map, values)."""
    rec = {}
    try:
        r = tf.train.load_checkpoint(prefix)
    except Exception as e:  # pragma: no cover
        return {"error": error_text(e)}
    shapes = r.get_variable_to_shape_map()
    dtypes = r.get_variable_to_dtype_map()
    for k in sorted(shapes):
        item = {"shape": list(shapes[k]), "dtype": DT_NAME[dtypes[k].as_datatype_enum],
                "numpy_dtype": dtypes[k].name}
        try:
            v = r.get_tensor(k)
            if dtypes[k] == tf.string:
                v = np.asarray(v, dtype=object)
                elems = v.reshape(-1).tolist()
                if sum(len(x) for x in elems) > BIG_VALUE:
                    item["value_strings_len"] = [len(x) for x in elems]
                    item["value_strings_sha256"] = [hashlib.sha256(x).hexdigest() for x in elems]
                else:
                    item["value_strings_b64"] = [b64(x) for x in elems]
            elif dtypes[k] == tf.variant:
                item["value_repr"] = repr(v)[:200]
            else:
                v = np.asarray(v)
                raw = np.ascontiguousarray(v).tobytes()
                if len(raw) > BIG_VALUE:
                    item["value_nbytes"] = len(raw)
                    item["value_sha256"] = hashlib.sha256(raw).hexdigest()
                else:
                    item["value_b64"] = b64(raw)
                item["reader_numpy_dtype"] = str(v.dtype)
        except Exception as e:
            item["error"] = error_text(e)
        rec[k] = item
    return rec


def files_of(prefix_or_dir):
    """Files (relative paths, sizes, sha256) belonging to a checkpoint prefix or a directory."""
    out = []
    if os.path.isdir(prefix_or_dir):
        paths = [os.path.join(d, f) for d, _, fs in os.walk(prefix_or_dir) for f in fs]
    else:
        d, base = os.path.split(prefix_or_dir)
        paths = [os.path.join(d, f) for f in os.listdir(d)
                 if f == base or f.startswith(base + ".") or f.startswith(base + "-")]
    for p in sorted(paths):
        data = open(p, "rb").read()
        out.append({"path": rel(p), "size": len(data), "sha256": hashlib.sha256(data).hexdigest()})
    return out


def describe_v2(prefix, save_calls=None, written_by=None, values=None, group="",
                include_index_entries=True, add_order_exact=True):
    """Describe a V2 bundle.

    save_calls: list of SaveV2 calls [(shard_prefix_or_None, [(name, sas, dtype), ...])] in
    execution order, one per data file (None -> the checkpoint itself).  When omitted, the add
    order is reconstructed from the data offsets (ties between equal offsets broken by key).
    values: optional {(name, sas): numpy array} of the values we passed in (checked against TF).
    """
    hdr, entries, table = read_bundle_index(prefix)
    by_key = {}
    for r in entries:
        by_key[base64.b64decode(r["key_b64"])] = r
    owners = [r for r in entries if "slices" not in r]  # entries that own data bytes
    tensors = []
    if save_calls is None:
        owners_sorted = sorted(owners, key=lambda r: (r["shard_id"], r["offset"],
                                                     base64.b64decode(r["key_b64"])))
        items = []
        for r in owners_sorted:
            if "slice_of" in r:
                full = by_key[r["slice_of"].encode()]["shape"]
                sas = " ".join(str(x) for x in full) + " " + ":".join(
                    "-" if d is None else "%d,%d" % tuple(d) for d in r["slice"])
                items.append((r["slice_of"], sas, r["dtype_enum"], r))
            else:
                items.append((r["key"], "", r["dtype_enum"], r))
    else:
        # Match each SaveV2 item to its index entry by walking the data offsets.
        items = []
        pending = {id(r): r for r in owners}
        shard_of_call = {}
        for call_prefix, call_items in save_calls:
            offset = 0
            shard = None
            for name, sas, dt in call_items:
                full, dims = parse_sas(sas)
                if full is not None and slice_shape(full, dims) == full and all(
                        d is None or d == [0, n] for d, n in zip(dims, full, strict=False)):
                    cand = [r for r in pending.values() if r.get("key") == name]
                elif full is not None:
                    cand = [r for r in pending.values()
                            if r.get("slice_of") == name and r["slice"] == dims]
                else:
                    cand = [r for r in pending.values() if r.get("key") == name]
                assert len(cand) == 1, (prefix, name, sas, cand)
                r = cand[0]
                del pending[id(r)]
                if shard is None:
                    shard = r["shard_id"]
                assert r["shard_id"] == shard, (name, r["shard_id"], shard)
                assert r["offset"] == offset, ("add order != argument order", prefix, name,
                                               r["offset"], offset)
                offset += r["size"]
                items.append((name, sas, tf_dtype(dt).as_datatype_enum, r))
            shard_of_call[call_prefix] = shard
            data = "%s.data-%05d-of-%05d" % (prefix, shard, hdr["num_shards"])
            assert os.path.getsize(data) == offset, ("data file not densely packed", data)
        assert not pending, ("unmatched index entries", list(pending.values()))
    for name, sas, dt_enum, r in items:
        full, dims = parse_sas(sas)
        t = {"name": name, "shape_and_slices": sas}
        t.update(dtype_info(dt_enum))
        t["shape"] = r["shape"]
        if full is not None:
            t["full_shape"] = full
            t["slice"] = dims
        if "slice_of" in r:
            t["index_key_b64"] = r["key_b64"]  # binary slice key; plain tensors: key == name
        t.update(shard_id=r["shard_id"], offset=r["offset"], size=r["size"], crc32c=r["crc32c"])
        if dt_enum == types_pb2.DT_VARIANT:
            t["value_note"] = "DT_VARIANT: see raw_data_b64 (the bytes TF wrote)"
        else:
            v = restore_value(prefix, name, sas, dt_enum)
            if values is not None and (name, sas) in values:
                mine = np.asarray(values[(name, sas)])
                if dt_enum == types_pb2.DT_STRING:
                    assert [bytes(x) for x in mine.reshape(-1)] == [bytes(x) for x in v.reshape(-1)]
                else:
                    assert mine.tobytes() == v.tobytes() and mine.shape == v.shape, name
            t.update(value_record(v, dt_enum))
            # Numeric tensors: the data file holds exactly the LE C-order bytes.
            if dt_enum != types_pb2.DT_STRING:
                data = "%s.data-%05d-of-%05d" % (prefix, r["shard_id"], hdr["num_shards"])
                with open(data, "rb") as f:
                    f.seek(r["offset"])
                    assert f.read(r["size"]) == v.tobytes(), ("data bytes != value", name)
        if dt_enum == types_pb2.DT_VARIANT:
            data = "%s.data-%05d-of-%05d" % (prefix, r["shard_id"], hdr["num_shards"])
            with open(data, "rb") as f:
                f.seek(r["offset"])
                t["raw_data_b64"] = b64(f.read(r["size"]))
        tensors.append(t)
    rec = {"group": group, "format": "V2", "prefix": rel(prefix), "written_by": written_by,
           "header": hdr, "table": table, "files": files_of(prefix),
           "add_order_source": ("SaveV2 argument order (verified against data offsets)"
                                if save_calls is not None else
                                "reconstructed from data offsets (shard_id, offset, key)"),
           "tensors": tensors}
    if include_index_entries:
        rec["index_entries"] = entries
    else:
        rec["index_entries_omitted"] = ("too large; every entry is a plain tensor whose "
                                        "key/dtype/shape/offset/size/crc32c are in 'tensors'")
    rec["tf_reader"] = tf_reader_record(prefix)
    MANIFEST["checkpoints"][rel(prefix)] = rec
    return rec


def describe_v1(prefix, pattern, written_by, group):
    """Describe a legacy V1 (TensorSliceWriter) checkpoint: one SSTable per shard."""
    import glob
    shard_files = sorted(glob.glob(pattern))
    shards = []
    for path in shard_files:
        entries, table = read_table(path)
        assert entries[0][0] == b""
        meta = saved_tensor_slice_pb2.SavedTensorSlices.FromString(entries[0][1]).meta
        meta_rec = [{"name": m.name, "shape": [d.size for d in m.shape.dim],
                     **dtype_info(m.type), "slices": [slice_proto_to_list(s) for s in m.slice]}
                    for m in meta.tensor]
        recs = []
        for k, v in entries[1:]:
            sl = saved_tensor_slice_pb2.SavedTensorSlices.FromString(v).data
            name, dims = decode_slice_key(k)
            which = [f.name for f, _ in sl.data.ListFields()]
            recs.append({"key_b64": b64(k), "name": sl.name, "slice": slice_proto_to_list(sl.slice),
                         "decoded_key_slice": dims, "tensor_proto_fields": which,
                         "data_b64": b64(sl.data.SerializeToString())})
            assert name.decode() == sl.name
        shards.append({"file": rel(path), "table": table,
                       "meta": {"tensor": meta_rec,
                                "versions": {"producer": meta.versions.producer,
                                             "min_consumer": meta.versions.min_consumer}},
                       "entries": recs})
    # Values through TF (RestoreV2 falls back to the V1 reader).
    tensors = []
    seen = set()
    for sh in shards:
        for m in sh["meta"]["tensor"]:
            for sl in m["slices"]:
                if sl == [] or all(d is None for d in sl):
                    sas = ""
                else:
                    sas = " ".join(str(x) for x in m["shape"]) + " " + ":".join(
                        "-" if d is None else "%d,%d" % tuple(d) for d in sl)
                if (m["name"], sas) in seen:
                    continue
                seen.add((m["name"], sas))
                v = restore_value(pattern, m["name"], sas, m["dtype_enum"])
                t = {"name": m["name"], "shape_and_slices": sas, **dtype_info(m["dtype_enum"]),
                     "shape": list(v.shape), "file": sh["file"]}
                if sas:
                    t["full_shape"] = m["shape"]
                    t["slice"] = sl
                t.update(value_record(v, m["dtype_enum"]))
                tensors.append(t)
    tensors.sort(key=lambda t: (t["name"], t["shape_and_slices"]))
    rec = {"group": group, "format": "V1", "prefix": rel(prefix), "pattern": rel(pattern),
           "written_by": written_by, "files": files_of(prefix), "shards": shards,
           "tensors": tensors,
           "add_order_source": "V1 has no data file; 'tensors' sorted by (name, slice)"}
    rec["tf_reader"] = tf_reader_record(pattern)
    # Keyed by the path TF returns/records and load_checkpoint accepts (for a sharded V1
    # checkpoint the '-?????-of-NNNNN' pattern; the bare prefix is NotFound in TF).
    MANIFEST["checkpoints"][rel(pattern)] = rec
    return rec


def record_state_file(path):
    text = open(path, encoding="utf-8").read()
    MANIFEST["state_files"][rel(path)] = {"text": text}


def fresh_dir(name):
    d = os.path.join(OUT, name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    return d


# --------------------------------------------------------------------------------------
# A. Bundles written with raw SaveV2


ALL_DTYPES = ["float32", "float64", "int32", "uint8", "int16", "int8", "string", "complex64",
              "int64", "bool", "qint8", "quint8", "qint32", "bfloat16", "qint16", "quint16",
              "uint16", "complex128", "float16", "uint32", "uint64", "float8_e5m2",
              "float8_e4m3fn", "float8_e4m3fnuz", "float8_e4m3b11fnuz", "float8_e5m2fnuz",
              "int4", "uint4", "int2", "uint2", "float4_e2m1fn"]


def sample_array(name, shape, rng):
    dt = tf_dtype(name)
    n = int(np.prod(shape))
    if name == "string":
        return np.array([("s%d-\u00e9" % i).encode() for i in range(n)], dtype=object).reshape(shape)
    npd = dt.as_numpy_dtype
    if name == "bool":
        return rng.randint(0, 2, size=shape).astype(bool)
    if name.startswith("complex"):
        return (rng.randn(*shape) + 1j * rng.randn(*shape)).astype(npd)
    if name in ("int4", "int2"):
        lo = -8 if name == "int4" else -2
        return rng.randint(lo, -lo, size=shape).astype(npd)
    if name in ("uint4", "uint2"):
        return rng.randint(0, 16 if name == "uint4" else 4, size=shape).astype(npd)
    if name == "float4_e2m1fn":
        vals = np.array([-6, -3, -1.5, -0.5, 0, 0.5, 1, 2, 4, 6], dtype=np.float32)
        return rng.choice(vals, size=shape).astype(npd)
    if name.startswith("float8") or name in ("bfloat16", "float16", "float32", "float64"):
        return (rng.randn(*shape) * 3).astype(np.float32).astype(npd)
    if name.startswith("q"):
        base = {"qint8": np.int8, "quint8": np.uint8, "qint16": np.int16, "quint16": np.uint16,
                "qint32": np.int32}[name]
        info = np.iinfo(base)
        return rng.randint(max(info.min, -1000), min(info.max, 1000) + 1, size=shape).astype(
            base).astype(npd)
    info = np.iinfo(npd)
    return rng.randint(max(info.min, -(2 ** 31)), min(info.max, 2 ** 31 - 1) + 1,
                       size=shape, dtype=np.int64).astype(npd)


def save_v2(prefix, items, values):
    """items: [(name, sas, dtype_name, array)]; returns the replay description."""
    names = [i[0] for i in items]
    sass = [i[1] for i in items]
    tensors = [tf.constant(i[3], dtype=tf_dtype(i[2])) if not isinstance(i[3], tf.Tensor)
               else i[3] for i in items]
    tf.raw_ops.SaveV2(prefix=prefix, tensor_names=names, shape_and_slices=sass, tensors=tensors)
    for name, sas, _, arr in items:
        if not isinstance(arr, tf.Tensor):
            values[(name, sas)] = arr
    return {"op": "SaveV2", "prefix": rel(prefix), "tensor_names": names,
            "shape_and_slices": sass, "dtypes": [tf_dtype(i[2]).name for i in items],
            "tensors": "see 'tensors' (same order as tensor_names)"}


def probe_refused_dtype(expr):
    """Run a SaveV2 that may abort the process (CHECK failure) in a subprocess."""
    code = ("import os; os.environ['TF_CPP_MIN_LOG_LEVEL']='3'\n"
            "import tempfile, tensorflow as tf\n"
            "d = tempfile.mkdtemp()\n"
            f"t = {expr}\n"
            "tf.raw_ops.SaveV2(prefix=d + '/ck', tensor_names=['x'], shape_and_slices=[''], "
            "tensors=[t])\nprint('SAVED')\n")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    lines = [l for l in (p.stdout + p.stderr).splitlines()
             if "Check failed" in l or "Error" in l or "SAVED" in l]
    msg = lines[0] if lines else (p.stdout + p.stderr)[-300:]
    if "Check failed" in msg:
        msg = msg[msg.index("Check failed"):]
    return {"returncode": p.returncode, "message": msg.strip()}


def gen_bundle_all_dtypes():
    d = fresh_dir("bundle_all_dtypes")
    prefix = os.path.join(d, "ckpt")
    rng = np.random.RandomState(1)
    items, refused = [], {}
    for name in ALL_DTYPES:
        arr = sample_array(name, (2, 3), rng)
        try:
            tf.constant(arr, dtype=tf_dtype(name))
            items.append(("t_" + name, "", name, arr))
        except Exception as e:  # pragma: no cover - none in TF 2.21
            refused[name] = error_text(e)
    # One SaveV2 call in DataType enum order (not key order) -> data order != key order.
    values = {}
    call = save_v2(prefix, items, values)
    refused["resource (DT_RESOURCE, tf.Variable handle)"] = probe_refused_dtype(
        "tf.Variable(1.0).handle")
    MANIFEST["observations"]["bundle_all_dtypes_refused"] = refused
    describe_v2(prefix, save_calls=[(None, [(n, s, dt) for n, s, dt, _ in items])],
                written_by=[call], values=values, group="A1")


def gen_bundle_variant():
    d = fresh_dir("bundle_variant")
    prefix = os.path.join(d, "ckpt")
    tl = tf.raw_ops.TensorListFromTensor(tensor=tf.constant([1.0, 2.0, 3.0]),
                                         element_shape=tf.constant([], dtype=tf.int32))
    values = {}
    items = [("a", "", "float32", np.array([0.5, 1.5], np.float32)),
             ("tensor_list", "", "variant", tl)]
    call = save_v2(prefix, items, values)
    call["tensors_python"] = ("tensor_list = tf.raw_ops.TensorListFromTensor(tensor=[1.,2.,3.], "
                              "element_shape=tf.constant([], tf.int32))")
    rec = describe_v2(prefix, save_calls=[(None, [(n, s, dt) for n, s, dt, _ in items])],
                      written_by=[call], values=values, group="A-extra")
    r = tf.raw_ops.RestoreV2(prefix=prefix, tensor_names=["tensor_list"], shape_and_slices=[""],
                             dtypes=[tf.variant])[0]
    stacked = tf.raw_ops.TensorListStack(input_handle=r, element_dtype=tf.float32,
                                         element_shape=tf.constant([], tf.int32)).numpy()
    rec["tensors"][1]["restored_tensor_list_stack"] = stacked.tolist()


def gen_bundle_scalars_empty():
    d = fresh_dir("bundle_scalars_empty")
    prefix = os.path.join(d, "ckpt")
    s = lambda *xs: np.array(list(xs), dtype=object)  # noqa: E731
    items = [
        ("scalar_float32", "", "float32", np.float32(3.5)),
        ("empty_f32_0", "", "float32", np.zeros([0], np.float32)),
        ("scalar_int64", "", "int64", np.int64(-7)),
        ("empty_f32_2x0", "", "float32", np.zeros([2, 0], np.float32)),
        ("empty_f32_0x3", "", "float32", np.zeros([0, 3], np.float32)),
        ("scalar_bool", "", "bool", np.bool_(True)),
        ("scalar_float64", "", "float64", np.float64(-2.25)),
        ("scalar_half", "", "float16", np.float16(1.5)),
        ("scalar_bfloat16", "", "bfloat16", np.array(1.5, dtype=ml_dtypes.bfloat16)),
        ("scalar_int32", "", "int32", np.int32(123456)),
        ("scalar_uint8", "", "uint8", np.uint8(255)),
        ("scalar_complex64", "", "complex64", np.complex64(1 - 2j)),
        ("scalar_string", "", "string", np.array(b"hello", dtype=object)),
        ("empty_str_0", "", "string", s().reshape([0])),
        ("scalar_empty_string", "", "string", np.array(b"", dtype=object)),
        ("empty_str_2x0", "", "string", s().reshape([2, 0])),
        ("empty_str_0x3", "", "string", s().reshape([0, 3])),
        ("empty_f64_0", "", "float64", np.zeros([0], np.float64)),
        ("z_last_scalar_int8", "", "int8", np.int8(-128)),
    ]
    values = {}
    call = save_v2(prefix, items, values)
    describe_v2(prefix, save_calls=[(None, [(n, ss, dt) for n, ss, dt, _ in items])],
                written_by=[call], values=values, group="A2")


def gen_bundle_strings():
    d = fresh_dir("bundle_strings")
    prefix = os.path.join(d, "ckpt")
    rng = np.random.RandomState(3)
    big = rng.randint(0, 256, size=70000).astype(np.uint8).tobytes()
    items = [
        ("utf8_scalar", "", "string",
         np.array("h\u00e9llo w\u00f6rld \u2713 \u65e5\u672c\u8a9e \U0001F642".encode("utf-8"),
                  dtype=object)),
        ("vec3", "", "string", np.array([b"\x00\xff\x00binary\xff", b"", b"x" * 200], dtype=object)),
        ("mat2x2", "", "string",
         np.array([[b"ab", "\u03a9mega".encode()], [bytes(range(256)), big]], dtype=object)),
        ("varint_edges", "", "string",
         np.array([b"a" * 127, b"b" * 128, b"c" * 16383, b"d" * 16384], dtype=object)),
        ("all_empty", "", "string", np.array([b"", b"", b""], dtype=object)),
    ]
    values = {}
    call = save_v2(prefix, items, values)
    describe_v2(prefix, save_calls=[(None, [(n, s, dt) for n, s, dt, _ in items])],
                written_by=[call], values=values, group="A3")


def gen_bundle_many_keys():
    d = fresh_dir("bundle_many_keys")
    prefix = os.path.join(d, "ckpt")
    n_keys, key_len = 1400, 200  # 1400 * ~215 index bytes > 256 KiB
    letters = "abcdefghijklmnopqrstuvwxyz"
    keys = [("%04d/" % i + letters[i % 26] * key_len)[:key_len] for i in range(n_keys)]
    rng = np.random.RandomState(4)
    order = rng.permutation(n_keys)  # argument (= data) order differs from key order
    items = [(keys[i], "", "float32", np.float32(i * 0.5)) for i in order]
    values = {}
    call = save_v2(prefix, items, values)
    call["key_rule"] = "key(i) = ('%04d/' % i + 'abcdefghijklmnopqrstuvwxyz'[i % 26] * 200)[:200]"
    call["value_rule"] = "float32(i * 0.5)"
    call["argument_order"] = "numpy.random.RandomState(4).permutation(%d)" % n_keys
    rec = describe_v2(prefix, save_calls=[(None, [(n, s, dt) for n, s, dt, _ in items])],
                      written_by=[call], values=values, group="A4", include_index_entries=False)
    assert rec["table"]["num_data_blocks"] > 1, rec["table"]


def gen_bundle_sliced():
    d = fresh_dir("bundle_sliced")
    prefix = os.path.join(d, "ckpt")
    rng = np.random.RandomState(5)
    part = rng.randn(5, 2).astype(np.float32)
    vec = np.arange(10, dtype=np.int32) * 3 - 7
    cube = rng.randn(4, 3, 2)
    full = rng.randn(3, 2).astype(np.float32)
    strs = np.array([b"s0", b"s1\x00", "s2\u00e9".encode(), b""], dtype=object)
    items = [
        ("part", "5 2 3,2:0,2", "float32", part[3:5]),
        ("vec", "10 0,4", "int32", vec[0:4]),
        ("cube", "4 3 2 2,2:1,2:-", "float64", cube[2:4, 1:3]),
        ("part", "5 2 0,3:0,2", "float32", part[0:3]),
        ("full_explicit", "3 2 0,3:0,2", "float32", full),
        ("cube", "4 3 2 0,2:-:-", "float64", cube[0:2]),
        ("strs", "4 1,3", "string", strs[1:4]),
        ("full_dash", "3 2 -:-", "float32", full * 2),
        ("vec", "10 4,6", "int32", vec[4:10]),
        ("plain", "", "float32", np.float32(42.0)),
        ("cube", "4 3 2 2,2:0,1:-", "float64", cube[2:4, 0:1]),
        ("strs", "4 0,1", "string", strs[0:1]),
    ]
    values = {}
    call = save_v2(prefix, items, values)
    rec = describe_v2(prefix, save_calls=[(None, [(n, s, dt) for n, s, dt, _ in items])],
                      written_by=[call], values=values, group="A5")
    rec["full_values"] = {}
    for name, arr, dt in (("part", part, "float32"), ("vec", vec, "int32"),
                          ("cube", cube, "float64"), ("strs", strs, "string")):
        fv = {"shape": list(arr.shape), **dtype_info(dt), **value_record(arr, dt)}
        try:
            v = restore_value(prefix, name, "", dt)
            assert (v == arr).all()
            fv["tf_restore_full"] = "ok"
        except Exception as e:
            fv["tf_restore_full"] = error_text(e)
            MANIFEST["observations"]["restore_full_partitioned_" + dt] = error_text(e)
        rec["full_values"][name] = fv


def gen_bundle_multi_shard():
    d = fresh_dir("bundle_multi_shard")
    prefix = os.path.join(d, "ckpt")
    rng = np.random.RandomState(6)
    part = rng.randn(6, 2).astype(np.float32)
    n = 3
    parts = [prefix + "_temp/part-%05d-of-%05d" % (i, n) for i in range(n)]
    # A SaveV2 with no tensors is refused by TF (attr dtypes has min length 1): record it.
    try:
        tf.raw_ops.SaveV2(prefix=os.path.join(d, "nothing"), tensor_names=[], shape_and_slices=[],
                          tensors=[])
        MANIFEST["observations"]["savev2_zero_tensors"] = "accepted"
    except Exception as e:
        MANIFEST["observations"]["savev2_zero_tensors"] = error_text(e)
    shards = [
        [("part", "6 2 0,4:0,2", "float32", part[0:4]),
         ("a", "", "float32", rng.randn(2, 2).astype(np.float32)),
         ("shared_name_s0", "", "int64", np.arange(3, dtype=np.int64))],
        # "no tensors" is impossible; this shard holds only a zero-element tensor, so its data
        # file is empty (0 bytes).
        [("empty", "", "float32", np.zeros([0, 4], np.float32))],
        [("b", "", "string", np.array([b"bee", b"\xff"], dtype=object)),
         ("part", "6 2 4,2:0,2", "float32", part[4:6]),
         ("c", "", "float64", rng.randn(3))],
    ]
    values, calls = {}, []
    for p, items in zip(parts, shards, strict=False):
        calls.append(save_v2(p, items, values))
    merge = {"op": "MergeV2Checkpoints", "checkpoint_prefixes": [rel(p) for p in parts],
             "destination_prefix": rel(prefix), "delete_old_dirs": True}
    tf.raw_ops.MergeV2Checkpoints(checkpoint_prefixes=parts, destination_prefix=prefix,
                                  delete_old_dirs=True)
    MANIFEST["observations"]["merge_temp_dir_removed"] = not os.path.exists(prefix + "_temp")
    shutil.rmtree(prefix + "_temp", ignore_errors=True)
    rec = describe_v2(prefix, save_calls=[(p, [(nm, s, dt) for nm, s, dt, _ in items])
                                          for p, items in zip(parts, shards, strict=False)],
                      written_by=calls + [merge], values=values, group="A6")
    v = restore_value(prefix, "part", "", "float32")
    assert (v == part).all()
    rec["full_values"] = {"part": {"shape": [6, 2], **dtype_info("float32"),
                                   **value_record(part, "float32")}}


# --------------------------------------------------------------------------------------
# B / D. TF1 Saver checkpoints (graph mode)


def sliced_init(full):
    """Initializer for partitioned variables: each partition gets its slice of `full`."""
    full = np.asarray(full)

    def init(shape, dtype=None, partition_info=None):
        off = partition_info.var_offset if partition_info is not None else [0] * len(shape)
        idx = tuple(slice(o, o + n) for o, n in zip(off, shape, strict=False))
        return tf.constant(full[idx], dtype=dtype)
    return init


def session_2cpu():
    return tf.compat.v1.Session(config=tf.compat.v1.ConfigProto(device_count={"CPU": 2}))


def graph_save_calls(graph, op_types=("SaveV2",)):
    """Extract the SaveV2/SaveSlices nodes of the Saver (names + shape_and_slices consts)."""
    calls = []
    for op in graph.get_operations():
        if op.type not in op_types:
            continue
        consts = {}
        for inp in op.inputs[1:3]:
            if inp.op.type == "Const":
                consts[inp.op.name] = [x.decode() for x in tf.make_ndarray(
                    inp.op.get_attr("value")).reshape(-1).tolist()]
        names = consts.get(op.inputs[1].op.name)
        sas = consts.get(op.inputs[2].op.name)
        dtypes = op.get_attr("dtypes") if op.type == "SaveV2" else op.get_attr("T")
        calls.append({"op": op.type, "node": op.name, "device": op.device,
                      "tensor_names": names, "shape_and_slices": sas,
                      "dtypes": [tf_dtype(t).name for t in dtypes],
                      "inputs": [t.name for t in op.inputs[3:]]})
    return calls


def tf1_plain():
    d = fresh_dir("tf1_plain")
    rng = np.random.RandomState(10)
    with tf.Graph().as_default() as g:
        a = tf.compat.v1.Variable(rng.randn(2, 3).astype(np.float32), name="a", use_resource=False)
        with tf.compat.v1.variable_scope("scope"):
            tf.compat.v1.get_variable("b", initializer=np.arange(3, dtype=np.int64),
                                          use_resource=False)
        tf.compat.v1.Variable(np.array([b"x", "\u00fc".encode()], dtype=object), name="c",
                                  use_resource=False)
        r = tf.compat.v1.Variable(rng.randn(2).astype(np.float64), name="r", use_resource=True)
        step = tf.compat.v1.train.get_or_create_global_step()
        update = tf.group(a.assign_add(tf.ones_like(a)), r.assign_add(tf.ones_like(r) * 0.5),
                          step.assign_add(10))
        saver = tf.compat.v1.train.Saver(max_to_keep=2, save_relative_paths=True)
        paths = []
        with tf.compat.v1.Session() as sess, chdir(OUT):
            sess.run(tf.compat.v1.global_variables_initializer())
            for _ in range(3):
                sess.run(update)
                paths.append(saver.save(sess, "tf1_plain/model.ckpt", global_step=step))
        calls = graph_save_calls(g)
    written = {"api": "tf.compat.v1.train.Saver(max_to_keep=2, save_relative_paths=True)",
               "variables": {"a": "ref float32 [2,3]", "scope/b": "ref int64 [3]",
                             "c": "ref string [2]", "r": "resource float64 [2]",
                             "global_step": "resource int64 [] (get_or_create_global_step)"},
               "saves": "3x: a+=1, r+=0.5, global_step+=10, then "
                        "saver.save(sess, 'tf1_plain/model.ckpt', global_step=global_step) "
                        "with cwd=tests/data/golden",
               "returned_paths": paths, "graph_save_ops": calls}
    for p in ("model.ckpt-20", "model.ckpt-30"):
        prefix = os.path.join(d, p)
        describe_v2(prefix, save_calls=[(None, [(n, s, dt) for n, s, dt in zip(
            calls[0]["tensor_names"], calls[0]["shape_and_slices"], calls[0]["dtypes"], strict=False)])],
            written_by=written, group="B")
    record_state_file(os.path.join(d, "checkpoint"))


def tf1_renamed():
    d = fresh_dir("tf1_renamed")
    rng = np.random.RandomState(11)
    with tf.Graph().as_default() as g:
        v1 = tf.compat.v1.Variable(rng.randn(3).astype(np.float32), name="v1")
        v2 = tf.compat.v1.Variable(np.int32(5), name="v2")
        v3 = tf.compat.v1.Variable(rng.randn(2, 2).astype(np.float32), name="v3",
                                   use_resource=False)
        saver = tf.compat.v1.train.Saver({"renamed/x": v1, "y_new": v2, "a.b/c:0": v3},
                                         save_relative_paths=True)
        with tf.compat.v1.Session() as sess, chdir(OUT):
            sess.run(tf.compat.v1.global_variables_initializer())
            path = saver.save(sess, "tf1_renamed/model.ckpt")
        calls = graph_save_calls(g)
    prefix = os.path.join(d, "model.ckpt")
    describe_v2(prefix, save_calls=[(None, list(zip(calls[0]["tensor_names"],
                                                    calls[0]["shape_and_slices"],
                                                    calls[0]["dtypes"], strict=False)))],
                written_by={"api": "tf.compat.v1.train.Saver({'renamed/x': v1, 'y_new': v2, "
                                   "'a.b/c:0': v3}, save_relative_paths=True)",
                            "variables": {"v1": "resource float32 [3]", "v2": "resource int32 []",
                                          "v3": "ref float32 [2,2]"},
                            "saves": "saver.save(sess, 'tf1_renamed/model.ckpt')",
                            "returned_paths": [path], "graph_save_ops": calls},
                group="B")
    record_state_file(os.path.join(d, "checkpoint"))


def tf1_sharded():
    d = fresh_dir("tf1_sharded")
    rng = np.random.RandomState(12)
    with tf.Graph().as_default() as g:
        with tf.device("/cpu:0"):
            tf.compat.v1.Variable(rng.randn(2, 2).astype(np.float32), name="x0")
            tf.compat.v1.Variable(np.array([b"on", b"cpu0"], dtype=object), name="s0")
        with tf.device("/cpu:1"):
            tf.compat.v1.Variable(rng.randn(3).astype(np.float64), name="x1")
            tf.compat.v1.get_variable(
                "p1", shape=[4, 3], dtype=tf.float32,
                initializer=sliced_init(rng.randn(4, 3).astype(np.float32)),
                partitioner=tf.compat.v1.fixed_size_partitioner(2))
        with tf.device("/cpu:0"):  # an unplaced variable would form a third shard ("" device)
            step = tf.compat.v1.train.get_or_create_global_step()
        saver = tf.compat.v1.train.Saver(sharded=True, max_to_keep=2, save_relative_paths=True)
        with session_2cpu() as sess, chdir(OUT):
            sess.run(tf.compat.v1.global_variables_initializer())
            sess.run(step.assign(7))
            path = saver.save(sess, "tf1_sharded/model.ckpt", global_step=step)
        calls = graph_save_calls(g)
    prefix = os.path.join(d, "model.ckpt-7")
    save_calls = []
    for c in calls:
        save_calls.append((c["node"], list(zip(c["tensor_names"], c["shape_and_slices"],
                                               c["dtypes"], strict=False))))
    describe_v2(prefix, save_calls=save_calls,
                written_by={"api": "tf.compat.v1.train.Saver(sharded=True, max_to_keep=2, "
                                   "save_relative_paths=True); Session(device_count={'CPU': 2})",
                            "variables": {"x0": "/cpu:0 float32 [2,2]", "s0": "/cpu:0 string [2]",
                                          "x1": "/cpu:1 float64 [3]",
                                          "p1": "/cpu:1 float32 [4,3], fixed_size_partitioner(2)",
                                          "global_step": "/cpu:0 int64 [] = 7"},
                            "saves": "saver.save(sess, 'tf1_sharded/model.ckpt', global_step=7)",
                            "returned_paths": [path], "graph_save_ops": calls},
                group="B")
    record_state_file(os.path.join(d, "checkpoint"))


def tf1_partitioned():
    d = fresh_dir("tf1_partitioned")
    rng = np.random.RandomState(13)
    with tf.Graph().as_default() as g:
        tf.compat.v1.get_variable(
            "part", shape=[5, 2], dtype=tf.float32,
            initializer=sliced_init(rng.randn(5, 2).astype(np.float32)),
            partitioner=tf.compat.v1.fixed_size_partitioner(2))
        tf.compat.v1.get_variable(
            "emb", shape=[10], dtype=tf.int64,
            initializer=sliced_init(np.arange(10, dtype=np.int64) * 11),
            partitioner=tf.compat.v1.fixed_size_partitioner(3), use_resource=False)
        tf.compat.v1.get_variable("w", initializer=np.float32(2.5))
        saver = tf.compat.v1.train.Saver(save_relative_paths=True)
        with tf.compat.v1.Session() as sess, chdir(OUT):
            sess.run(tf.compat.v1.global_variables_initializer())
            path = saver.save(sess, "tf1_partitioned/model.ckpt")
        calls = graph_save_calls(g)
    prefix = os.path.join(d, "model.ckpt")
    describe_v2(prefix, save_calls=[(None, list(zip(calls[0]["tensor_names"],
                                                    calls[0]["shape_and_slices"],
                                                    calls[0]["dtypes"], strict=False)))],
                written_by={"api": "tf.compat.v1.train.Saver(save_relative_paths=True)",
                            "variables": {"part": "resource float32 [5,2], fixed_size_partitioner(2)",
                                          "emb": "ref int64 [10], fixed_size_partitioner(3)",
                                          "w": "resource float32 []"},
                            "saves": "saver.save(sess, 'tf1_partitioned/model.ckpt')",
                            "returned_paths": [path], "graph_save_ops": calls},
                group="B")
    record_state_file(os.path.join(d, "checkpoint"))


def v1_legacy(sharded):
    name = "v1_sharded" if sharded else "v1_unsharded"
    d = fresh_dir(name)
    rng = np.random.RandomState(20 + int(sharded))
    V1 = tf.compat.v1.train.SaverDef.V1
    with tf.Graph().as_default() as g:
        def var(nm, val, dev):
            with tf.device(dev):
                return tf.compat.v1.Variable(val, name=nm, use_resource=False)
        dev0 = "/cpu:0"
        dev1 = "/cpu:1" if sharded else "/cpu:0"
        var("f32", rng.randn(2, 3).astype(np.float32), dev0)
        var("i64", np.array([-1, 2 ** 40, 3], np.int64), dev0)
        var("s", np.array([b"a", b"\x00\xff", "\u00e9".encode()], dtype=object), dev1)
        var("flag", np.array([True, False]), dev1)
        var("f64", np.float64(3.25), dev0)
        var("i32", np.arange(4, dtype=np.int32).reshape(2, 2), dev1)
        var("f16", np.array([1.5, -2.0], np.float16), dev0)
        var("c64", np.array([1 + 2j, -3j], np.complex64), dev1)
        with tf.device(dev1):
            tf.compat.v1.get_variable(
                "part", shape=[5, 2], dtype=tf.float32, use_resource=False,
                initializer=sliced_init(rng.randn(5, 2).astype(np.float32)),
                partitioner=tf.compat.v1.fixed_size_partitioner(2))
        saver = tf.compat.v1.train.Saver(write_version=V1, sharded=sharded,
                                         save_relative_paths=True)
        with session_2cpu() as sess, chdir(OUT):
            sess.run(tf.compat.v1.global_variables_initializer())
            path = saver.save(sess, name + "/model.ckpt", global_step=5)
        calls = graph_save_calls(g, op_types=("SaveSlices", "Save"))
    prefix = os.path.join(d, "model.ckpt-5")
    pattern = prefix + ("-?????-of-00002" if sharded else "")
    describe_v1(prefix, pattern, written_by={
        "api": f"tf.compat.v1.train.Saver(write_version=SaverDef.V1, sharded={sharded}, "
               "save_relative_paths=True); Session(device_count={'CPU': 2})",
        "variables": "ref vars f32 [2,3], i64 [3], s string [3], flag bool [2], f64 [], "
                     "i32 [2,2], f16 [2], c64 [2], part float32 [5,2] fixed_size_partitioner(2)"
                     + (" (cpu:0: f32,i64,f64,f16; cpu:1: the rest)" if sharded else ""),
        "saves": f"saver.save(sess, '{name}/model.ckpt', global_step=5)",
        "returned_paths": [path], "graph_save_ops": calls}, group="D")
    record_state_file(os.path.join(d, "checkpoint"))


# --------------------------------------------------------------------------------------
# C. TF2 object-based checkpoints


class Mod(tf.Module):
    def __init__(self, rng):
        super().__init__()
        self.dense = tf.Variable(rng.randn(2, 2).astype(np.float32), name="dense")
        self.lst = [tf.Variable(rng.randn(3).astype(np.float32), name="l0"),
                    tf.Variable(np.int64(7), name="l1")]
        self.d = {"a.b/c": tf.Variable(np.array([b"dict", b"val"], dtype=object), name="dv")}


def tf2_module():
    d = fresh_dir("tf2_module")
    ckpt = tf.train.Checkpoint(model=Mod(np.random.RandomState(30)))
    with chdir(OUT):
        path = ckpt.save("tf2_module/ckpt")
    describe_v2(os.path.join(d, "ckpt-1"),
                written_by={"api": "tf.train.Checkpoint(model=M).save('tf2_module/ckpt')",
                            "module": "M.dense float32[2,2]; M.lst=[float32[3], int64[]]; "
                                      "M.d={'a.b/c': string[2]}",
                            "returned_paths": [path]}, group="C")
    record_state_file(os.path.join(d, "checkpoint"))


def tf2_write():
    d = fresh_dir("tf2_write")
    ckpt = tf.train.Checkpoint(model=Mod(np.random.RandomState(31)))
    with chdir(OUT):
        path = ckpt.write("tf2_write/ckpt")
    assert not os.path.exists(os.path.join(d, "checkpoint"))
    describe_v2(os.path.join(d, "ckpt"),
                written_by={"api": "tf.train.Checkpoint(model=M).write('tf2_write/ckpt')",
                            "note": "no state file; no save_counter increment (counter 0)",
                            "returned_paths": [path]}, group="C")


def tf2_manager():
    d = fresh_dir("tf2_manager")
    rng = np.random.RandomState(32)
    m = Mod(rng)
    ckpt = tf.train.Checkpoint(model=m)
    paths = []
    with chdir(OUT), fake_clock():
        mgr = tf.train.CheckpointManager(ckpt, "tf2_manager", max_to_keep=2)
        for _i in range(3):
            m.dense.assign_add(tf.ones([2, 2]))
            paths.append(mgr.save())
    written = {"api": "tf.train.CheckpointManager(tf.train.Checkpoint(model=M), 'tf2_manager', "
                      "max_to_keep=2); 3x (M.dense += 1; mgr.save())",
               "note": "time.time() is faked (start 1700000000.0, +0.25 per call) so the "
                       "timestamps in the state file are reproducible",
               "returned_paths": paths}
    for p in ("ckpt-2", "ckpt-3"):
        describe_v2(os.path.join(d, p), written_by=written, group="C")
    record_state_file(os.path.join(d, "checkpoint"))


def tf2_keras_adam():
    import keras
    d = fresh_dir("tf2_keras_adam")
    keras.utils.set_random_seed(33)
    rng = np.random.RandomState(33)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, activation="relu",
                                                                    name="hidden"),
                              keras.layers.Dense(2, name="out")])
    for w in model.weights:
        w.assign((rng.randn(*w.shape) * 0.5).astype(np.float32))
    opt = keras.optimizers.Adam(learning_rate=0.01)
    x = rng.randn(5, 3).astype(np.float32)
    y = rng.randn(5, 2).astype(np.float32)
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(tf.square(model(x) - y))
    grads = tape.gradient(loss, model.trainable_variables)
    opt.apply_gradients(zip(grads, model.trainable_variables, strict=False))
    ckpt = tf.train.Checkpoint(model=model, optimizer=opt)
    with chdir(OUT):
        path = ckpt.save("tf2_keras_adam/ckpt")
    describe_v2(os.path.join(d, "ckpt-1"), written_by={
        "api": "tf.train.Checkpoint(model=model, optimizer=keras.optimizers.Adam(0.01))"
               ".save('tf2_keras_adam/ckpt') after one GradientTape step",
        "model": f"keras {keras.__version__} Sequential Input(3) -> Dense(4, relu, 'hidden') -> Dense(2, 'out')",
        "note": "Keras 3 optimizers track their moment variables as plain attributes "
                "(optimizer/_variables/N), not as .OPTIMIZER_SLOT; see tf2_v1_slots",
        "returned_paths": [path]}, group="C")
    record_state_file(os.path.join(d, "checkpoint"))


def tf2_v1_slots():
    d = fresh_dir("tf2_v1_slots")
    rng = np.random.RandomState(34)
    v = tf.Variable(rng.randn(2).astype(np.float32), name="v")
    w = tf.Variable(rng.randn(2, 2).astype(np.float32), name="w")
    opt = tf.compat.v1.train.AdamOptimizer(0.1)
    opt.minimize(lambda: tf.reduce_sum(v * v) + tf.reduce_sum(w), var_list=[v, w])
    ckpt = tf.train.Checkpoint(v=v, w=w, opt=opt)
    with chdir(OUT):
        path = ckpt.write("tf2_v1_slots/ckpt")
    describe_v2(os.path.join(d, "ckpt"), written_by={
        "api": "tf.train.Checkpoint(v=v, w=w, opt=tf.compat.v1.train.AdamOptimizer(0.1))"
               ".write('tf2_v1_slots/ckpt') after one eager minimize step",
        "note": "real slot variables: keys <var>/.OPTIMIZER_SLOT/opt/{m,v}/.ATTRIBUTES/...",
        "returned_paths": [path]}, group="C")


# --------------------------------------------------------------------------------------
# E. SavedModels


def _tf1_builder_graph(export_dir, vocab_path, as_text):
    rng = np.random.RandomState(40)
    with tf.Graph().as_default():
        x = tf.compat.v1.placeholder(tf.float32, [None, 2], name="x")
        w = tf.compat.v1.Variable(rng.randn(2, 3).astype(np.float32), name="w")
        b = tf.compat.v1.Variable(np.zeros(3, np.float32), name="b")
        logits = tf.identity(tf.matmul(x, w) + b, name="logits")
        examples = tf.compat.v1.placeholder(tf.string, [None], name="tf_example")
        feats = tf.compat.v1.io.parse_example(
            examples, {"x": tf.io.FixedLenFeature([2], tf.float32)})
        scores = tf.nn.softmax(tf.matmul(feats["x"], w) + b, name="scores")
        vocab = tf.constant(vocab_path, name="vocab_path")
        tf.compat.v1.add_to_collection(tf.compat.v1.GraphKeys.ASSET_FILEPATHS, vocab)
        table = tf.lookup.StaticHashTable(
            tf.lookup.TextFileInitializer(vocab, tf.int64, tf.lookup.TextFileIndex.LINE_NUMBER,
                                          tf.string, tf.lookup.TextFileIndex.WHOLE_LINE), "UNK")
        classes = table.lookup(tf.argmax(scores, axis=1), name="classes")
        regress = tf.reduce_sum(tf.matmul(feats["x"], w), axis=1, keepdims=True, name="regress")
        S = tf.compat.v1.saved_model
        predict = S.predict_signature_def({"x": x}, {"logits": logits})
        classify = S.classification_signature_def(examples, classes, scores)
        regression = S.regression_signature_def(examples, regress)
        main_op = tf.group(tf.compat.v1.tables_initializer(),
                           tf.compat.v1.local_variables_initializer(), name="main_op")
        with tf.compat.v1.Session() as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            builder = S.Builder(export_dir)
            builder.add_meta_graph_and_variables(
                sess, ["serve"],
                signature_def_map={"serving_default": predict, "classify": classify,
                                   "regress": regression},
                assets_collection=tf.compat.v1.get_collection(
                    tf.compat.v1.GraphKeys.ASSET_FILEPATHS),
                main_op=main_op, strip_default_attrs=True)
            builder.add_meta_graph(
                ["serve", "gpu"], signature_def_map={"serving_default": predict},
                strip_default_attrs=True)  # main_op/asset collections already in the graph
            builder.save(as_text=as_text)


def sm_tf1_builder(name, as_text):
    export_dir = os.path.join(OUT, name)
    shutil.rmtree(export_dir, ignore_errors=True)
    src = os.path.join(OUT, "_tmp_assets")
    os.makedirs(src, exist_ok=True)
    vocab_path = os.path.join(src, "vocab.txt")
    with open(vocab_path, "w") as f:
        f.write("cat\ndog\nbird\n")
    _tf1_builder_graph(export_dir, vocab_path, as_text)
    shutil.rmtree(src)
    record_savedmodel(name, {
        "api": "tf.compat.v1.saved_model.Builder(export_dir); add_meta_graph_and_variables(sess, "
               "['serve'], signature_def_map={serving_default: predict(x->logits), classify("
               "tf_example->classes,scores), regress(tf_example->regress)}, assets_collection="
               "[vocab.txt], main_op=group(tables_initializer, local_variables_initializer), "
               "strip_default_attrs=True); add_meta_graph(['serve','gpu'], {serving_default: "
               f"predict}}, strip_default_attrs=True) (main_op/asset collections are inherited from the graph); save(as_text={as_text})",
        "variables": {"w": "float32 [2,3] RandomState(40).randn", "b": "float32 [3] zeros"},
        "asset": "vocab.txt = 'cat\\ndog\\nbird\\n'"})


def sm_simple_save():
    export_dir = os.path.join(OUT, "sm_simple_save")
    shutil.rmtree(export_dir, ignore_errors=True)
    rng = np.random.RandomState(41)
    with tf.Graph().as_default():
        x = tf.compat.v1.placeholder(tf.float32, [None, 3], name="x")
        w = tf.compat.v1.Variable(rng.randn(3, 1).astype(np.float32), name="w")
        y = tf.identity(tf.matmul(x, w), name="y")
        with tf.compat.v1.Session() as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            tf.compat.v1.saved_model.simple_save(sess, export_dir, inputs={"x": x},
                                                 outputs={"y": y})
    record_savedmodel("sm_simple_save", {
        "api": "tf.compat.v1.saved_model.simple_save(sess, dir, inputs={'x': x[None,3]}, "
               "outputs={'y': matmul(x, w)})",
        "variables": {"w": "float32 [3,1] RandomState(41).randn"}})


class TF2Mod(tf.Module):
    def __init__(self):
        super().__init__()
        rng = np.random.RandomState(42)
        self.w = tf.Variable(rng.randn(2, 2).astype(np.float32), name="w")
        self.bias = tf.Variable(np.float32(0.5), name="bias")

    @tf.function(input_signature=[tf.TensorSpec([None, 2], tf.float32, name="x")])
    def __call__(self, x):
        return {"y": tf.matmul(x, self.w) + self.bias}


def sm_tf2_module():
    export_dir = os.path.join(OUT, "sm_tf2_module")
    shutil.rmtree(export_dir, ignore_errors=True)
    m = TF2Mod()
    tf.saved_model.save(m, export_dir, signatures=m.__call__)
    record_savedmodel("sm_tf2_module", {
        "api": "tf.saved_model.save(m, dir, signatures=m.__call__)",
        "module": "tf.Module with w float32 [2,2], bias float32 [] and "
                  "@tf.function(input_signature=[TensorSpec([None,2], float32, 'x')]) "
                  "__call__(x) -> {'y': x @ w + bias}"})


def sm_keras_export():
    import keras
    export_dir = os.path.join(OUT, "sm_keras_export")
    shutil.rmtree(export_dir, ignore_errors=True)
    keras.utils.set_random_seed(43)
    rng = np.random.RandomState(43)
    model = keras.Sequential([keras.Input((4,), name="features"),
                              keras.layers.Dense(8, activation="relu", name="hidden"),
                              keras.layers.Dense(3, name="logits")])
    for w in model.weights:
        w.assign((rng.randn(*w.shape) * 0.5).astype(np.float32))
    with contextlib.redirect_stdout(open(os.devnull, "w")):
        model.export(export_dir)
    record_savedmodel("sm_keras_export", {
        "api": f"keras {keras.__version__} model.export(dir)",
        "model": "Sequential Input(4,'features') -> Dense(8, relu, 'hidden') -> Dense(3, 'logits')"
                 ", weights RandomState(43).randn*0.5"})


def record_savedmodel(name, written_by):
    export_dir = os.path.join(OUT, name)
    from google.protobuf import text_format
    from tensorflow.core.protobuf import saved_model_pb2
    sm = saved_model_pb2.SavedModel()
    if os.path.exists(os.path.join(export_dir, "saved_model.pb")):
        sm.ParseFromString(open(os.path.join(export_dir, "saved_model.pb"), "rb").read())
        fname = "saved_model.pb"
    else:
        text_format.Parse(open(os.path.join(export_dir, "saved_model.pbtxt")).read(), sm)
        fname = "saved_model.pbtxt"
    mgs = []
    for mg in sm.meta_graphs:
        sigs = {}
        for k in sorted(mg.signature_def):
            s = mg.signature_def[k]
            def ti(t):
                return {"name": t.name, "dtype": DT_NAME[t.dtype],
                        "shape": None if t.tensor_shape.unknown_rank else
                        [dd.size for dd in t.tensor_shape.dim]}
            sigs[k] = {"method_name": s.method_name,
                       "inputs": {ik: ti(s.inputs[ik]) for ik in sorted(s.inputs)},
                       "outputs": {ok: ti(s.outputs[ok]) for ok in sorted(s.outputs)}}
        mgs.append({"tags": list(mg.meta_info_def.tags), "signature_defs": sigs,
                    "collections": sorted(mg.collection_def),
                    "asset_file_def": [{"tensor": a.tensor_info.name, "filename": a.filename}
                                       for a in mg.asset_file_def],
                    "has_object_graph_def": mg.HasField("object_graph_def"),
                    "saver_def": {"filename_tensor_name": mg.saver_def.filename_tensor_name,
                                  "save_tensor_name": mg.saver_def.save_tensor_name,
                                  "restore_op_name": mg.saver_def.restore_op_name,
                                  "sharded": mg.saver_def.sharded,
                                  "version": mg.saver_def.version}})
    MANIFEST["savedmodels"][name] = {
        "dir": name, "saved_model_file": fname, "written_by": written_by,
        "schema_version": sm.saved_model_schema_version, "meta_graphs": mgs,
        "files": files_of(export_dir), "variables_prefix": name + "/variables/variables",
        "show_all": f"expected/{name}.show-all.txt"}
    describe_v2(os.path.join(export_dir, "variables", "variables"),
                written_by={"api": f"variables of SavedModel {name}"}, group="E")


# --------------------------------------------------------------------------------------
# F. Tool outputs


TOOL_ENV = {"PYTHONHASHSEED": "0", "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": ""}

INSPECT_DRIVER = r"""
import contextlib, io, json, os, sys
from tensorflow.python.tools import inspect_checkpoint as ic
for prefix, all_tensors, all_names, out in json.loads(sys.argv[1]):
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        ic.print_tensors_in_checkpoint_file(prefix, "", all_tensors, all_names,
                                            count_exclude_pattern="")
    with open(out, "wb") as f:
        f.write(buf.getvalue().encode("utf-8"))
"""


def run_tool(args, out_name):
    env = dict(os.environ, **TOOL_ENV)
    p = subprocess.run(args, cwd=OUT, env=env, capture_output=True)
    if out_name is not None:
        with open(os.path.join(EXPECTED, out_name), "wb") as f:
            f.write(p.stdout)
    return p


def tool_outputs():
    """saved_model_cli show --all (real CLI) and inspect_checkpoint outputs.

    The 21 inspect_checkpoint outputs are produced in one Python process by calling the
    function the CLI's main() calls (print_tensors_in_checkpoint_file, stdout captured);
    two of them are cross-checked byte for byte against the real `python -m` CLI.
    """
    os.makedirs(EXPECTED, exist_ok=True)
    inspect = {"bundle_all_dtypes": "bundle_all_dtypes/ckpt",
               "bundle_scalars_empty": "bundle_scalars_empty/ckpt",
               "bundle_sliced": "bundle_sliced/ckpt",
               "tf1_partitioned": "tf1_partitioned/model.ckpt",
               "tf1_plain": "tf1_plain/model.ckpt-30",
               "tf2_module": "tf2_module/ckpt-1",
               "v1_unsharded": "v1_unsharded/model.ckpt-5"}
    variants = [("", False, False), ("-all_tensor_names", False, True),
                ("-all_tensors", True, False)]
    inspect_jobs, inspect_cmds = [], {}
    for name, prefix in inspect.items():
        for suffix, all_tensors, all_names in variants:
            out = f"{name}.inspect{suffix}.txt"
            inspect_jobs.append([prefix, all_tensors, all_names, os.path.join(EXPECTED, out)])
            flags = {"": [], "-all_tensor_names": ["--all_tensor_names"],
                     "-all_tensors": ["--all_tensors"]}[suffix]
            inspect_cmds[out] = ["python", "-m", "tensorflow.python.tools.inspect_checkpoint",
                                 "--file_name=" + prefix] + flags
    jobs = []
    for name in MANIFEST["savedmodels"]:
        out = f"{name}.show-all.txt"
        jobs.append(([os.path.join(TFBIN, "saved_model_cli"), "show", "--dir", name, "--all"],
                     out))
    jobs.append(([sys.executable, "-c", INSPECT_DRIVER, json.dumps(inspect_jobs)], None))
    spot = ["bundle_sliced.inspect.txt", "v1_unsharded.inspect-all_tensors.txt",
            "tf2_module.inspect-all_tensors.txt"]
    for out in spot:
        jobs.append(([sys.executable] + inspect_cmds[out][1:], None))
    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as ex:
        results = list(ex.map(lambda j: run_tool(*j), jobs))
    for (args, out), p in zip(jobs, results, strict=False):
        if out is not None:
            MANIFEST["expected_outputs"][out] = {
                "command": ["saved_model_cli"] + args[1:], "cwd": "tests/data/golden",
                "env": dict(TOOL_ENV), "returncode": p.returncode, "stdout_file": "expected/" + out}
    assert results[-1 - len(spot)].returncode == 0, results[-1 - len(spot)].stderr[-2000:]
    for out, p in zip(spot, results[-len(spot):], strict=False):
        mine = open(os.path.join(EXPECTED, out), "rb").read()
        assert p.stdout == mine, ("in-process inspect output differs from the CLI", out)
    for out, cmd in inspect_cmds.items():
        MANIFEST["expected_outputs"][out] = {
            "command": cmd, "cwd": "tests/data/golden", "env": dict(TOOL_ENV), "returncode": 0,
            "stdout_file": "expected/" + out,
            "produced_by": ("the real CLI (cross-checked)" if out in spot else
                            "inspect_checkpoint.print_tensors_in_checkpoint_file in one process "
                            "(same code path as the CLI main)")}


# --------------------------------------------------------------------------------------


def dump_manifest(obj):
    """JSON with indent=1, but each element of row-like lists on a single line."""
    rows = []

    def row(o):
        rows.append(json.dumps(o, separators=(",", ":"), ensure_ascii=True))
        return "@@ROW%d@@" % (len(rows) - 1)

    def walk(o, key=None):
        if isinstance(o, dict) and key == "tf_reader":  # one line per key
            return {k: row(v) if isinstance(v, dict) else walk(v, k) for k, v in o.items()}
        if isinstance(o, dict):
            return {k: walk(v, k) for k, v in o.items()}
        if isinstance(o, list):
            if key in ("tensors", "index_entries", "entries", "data_blocks", "files", "tensor"):
                return [row(e) for e in o]  # one line per element
            if all(not isinstance(v, dict) for v in o):  # lists of scalars/lists: one line
                return row(o)
            return [walk(v) for v in o]
        return o

    text = json.dumps(walk(obj), indent=1, ensure_ascii=True)
    text = re.sub(r'"@@ROW(\d+)@@"', lambda m: rows[int(m.group(1))], text)
    assert json.loads(text) == json.loads(json.dumps(obj)), "manifest layout changed its content"
    return text + "\n"


def main():
    t0 = time.time()
    # These sub-folders have generators of their own (make_graph_goldens.py, ...); everything
    # else under golden/ is this script's and is made afresh.
    keep = {"graph", "builder", "cli", "runtime"}
    os.makedirs(OUT, exist_ok=True)
    for entry in os.listdir(OUT):
        p = os.path.join(OUT, entry)
        if entry in keep:
            continue
        shutil.rmtree(p) if os.path.isdir(p) else os.remove(p)
    steps = [gen_bundle_all_dtypes, gen_bundle_variant, gen_bundle_scalars_empty,
             gen_bundle_strings, gen_bundle_many_keys, gen_bundle_sliced, gen_bundle_multi_shard,
             tf1_plain, tf1_renamed, tf1_sharded, tf1_partitioned,
             lambda: v1_legacy(False), lambda: v1_legacy(True),
             tf2_module, tf2_write, tf2_manager, tf2_keras_adam, tf2_v1_slots,
             lambda: sm_tf1_builder("sm_tf1_builder", False),
             lambda: sm_tf1_builder("sm_tf1_builder_text", True),
             sm_simple_save, sm_tf2_module, sm_keras_export, tool_outputs]
    for step in steps:
        s = time.time()
        step()
        print("%-40s %5.1fs" % (getattr(step, "__name__", "step"), time.time() - s), flush=True)
    with open(os.path.join(OUT, "manifest.json"), "w", encoding="utf-8") as f:
        f.write(dump_manifest(MANIFEST))
    total = sum(os.path.getsize(os.path.join(dp, fn)) for dp, _, fs in os.walk(OUT) for fn in fs)
    print(f"total {total / 1024:.1f} KiB in {time.time() - t0:.1f}s")


if __name__ == "__main__":
    main()
