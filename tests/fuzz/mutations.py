"""Mutations of fuzz inputs: bytes, expression tokens, protobuf fields, and whole tables
rebuilt with valid checksums so the damage reaches the parsers behind the block checks."""

from __future__ import annotations

import contextlib
import io
import random
from collections.abc import Callable
from typing import Any

from google.protobuf import message as pb_message
from google.protobuf import text_format
from google.protobuf.descriptor import FieldDescriptor

from savedmodel_io.errors import SavedModelIOError
from savedmodel_io.format.table import TableBuilder, TableReader
from tests.fuzz.bounds import Files

INTERESTING_64 = [0, 1, 0x7F, 0x80, 0xFF, 0x7FFF, 0x8000, 0xFFFF, 0x7FFFFFFF, 0x80000000,
                  0xFFFFFFFF, 0x100000000, 0x7FFFFFFFFFFFFFF0, 0x7FFFFFFFFFFFFFFF,
                  0x8000000000000000, 0xFFFFFFFFFFFFFFFF]
INTERESTING_SIGNED = [0, 1, -1, 2, 255, 256, 65536, 2**31 - 1, -2**31, 2**32, 2**40,
                      2**62, 2**63 - 16, 2**63 - 1, -2**63]


def varint(n: int) -> bytes:
    n &= (1 << 64) - 1
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


class Mutator:
    """Byte- and structure-level mutations, driven by ``draw(n) -> int in [0, n)``.

    ``draw`` comes from hypothesis (so failures shrink), from atheris' data provider, or
    from ``random.Random``: the same mutations serve all three.
    """

    def __init__(self, draw: Callable[[int], int], pool: list[bytes] | None = None) -> None:
        self.draw = draw
        self.pool = pool or []

    def choice(self, seq: list[Any]) -> Any:
        return seq[self.draw(len(seq))]

    def chance(self, percent: int) -> bool:
        return self.draw(100) < percent

    # -------------------------------------------------------- bytes

    def bytes_once(self, data: bytes) -> bytes:
        buf = bytearray(data)
        if not buf:
            return bytes(self.draw(256) for _ in range(self.draw(64)))
        op = self.draw(9)
        i = self.draw(len(buf))
        if op == 0:  # flip one bit
            buf[i] ^= 1 << self.draw(8)
        elif op == 1:  # one byte to an interesting value
            buf[i] = self.choice([0, 1, 0x7F, 0x80, 0xFF, self.draw(256)])
        elif op == 2:  # 8 bytes to an interesting 64-bit value
            buf[i:i + 8] = self.choice(INTERESTING_64).to_bytes(8, "little")
        elif op == 3:  # a varint
            buf[i:i + self.draw(4)] = varint(self.choice(INTERESTING_64))
        elif op == 4:  # delete a range
            del buf[i:i + 1 + self.draw(16)]
        elif op == 5:  # insert random bytes
            buf[i:i] = bytes(self.draw(256) for _ in range(1 + self.draw(8)))
        elif op == 6:  # duplicate a range
            j = self.draw(len(buf))
            buf[i:i] = buf[j:j + 1 + self.draw(32)]
        elif op == 7:  # truncate
            del buf[i:]
        else:  # splice with another seed
            other = self.choice(self.pool) if self.pool else bytes(buf)
            j = self.draw(len(other) + 1)
            buf = buf[:i] + other[j:j + 1 + self.draw(64)] + buf[i + self.draw(64):]
        return bytes(buf)

    def bytes(self, data: bytes, rounds: int | None = None) -> bytes:
        for _ in range(rounds if rounds is not None else 1 + self.draw(4)):
            data = self.bytes_once(data)
        return data

    # -------------------------------------------------------- expressions

    TOKENS = [b"np.", b"numpy.", b"(", b")", b"[", b"]", b",", b"=", b";", b"**", b"*", b"-",
              b"1e308", b"10**9", b"2**62", b"-1", b"0", b"'", b'"', b"__import__('os')",
              b".__class__", b"lambda: 0", b"[x for x in ()]", b"open('/etc/passwd')",
              b"dtype='S1000000'", b"dtype=np.complex128", b".reshape(-1)", b".T",
              b".astype(object)", b"np.zeros", b"np.eye", b"np.arange", b"np.full", b"{",
              b"}", b":", b"np.random.randint", b"size=", b"shape=", b"(((", b"nan",
              b"np.ones_like", b"b'x'", b"\\x00", b"True", b"None"]

    def text(self, data: bytes) -> bytes:
        """Insert, replace or delete tokens of the expression language."""
        buf = bytearray(data)
        for _ in range(1 + self.draw(3)):
            i = self.draw(len(buf) + 1)
            op = self.draw(3)
            if op == 0:
                buf[i:i] = self.choice(self.TOKENS)
            elif op == 1:
                buf[i:i + 1 + self.draw(6)] = self.choice(self.TOKENS)
            else:
                del buf[i:i + 1 + self.draw(6)]
        return bytes(buf)

    # -------------------------------------------------------- protobuf messages

    def _messages(self, msg: pb_message.Message, depth: int = 0,
                  out: list[pb_message.Message] | None = None) -> list[pb_message.Message]:
        out = [] if out is None else out
        out.append(msg)
        if depth > 12 or len(out) > 400:
            return out
        for fd, value in msg.ListFields():
            if fd.type != FieldDescriptor.TYPE_MESSAGE:
                continue
            if fd.message_type.GetOptions().map_entry:
                vals = list(value.values()) if hasattr(value, "values") else []
                for v in vals:
                    if isinstance(v, pb_message.Message):
                        self._messages(v, depth + 1, out)
            elif fd.is_repeated:
                for v in value:
                    self._messages(v, depth + 1, out)
            else:
                self._messages(value, depth + 1, out)
        return out

    def _scalar(self, fd: FieldDescriptor) -> Any:
        t = fd.type
        if t in (FieldDescriptor.TYPE_STRING,):
            return self.choice(["", "..", "../../etc/passwd", "/etc/passwd", "a" * 300,
                                "x:0", "\u00e9", "serve", "assets/../x", "a/b/../../.."])
        if t == FieldDescriptor.TYPE_BYTES:
            return self.choice([b"", b"\x00" * 8, b"\xff" * 3, bytes(range(16)),
                                self.choice(self.pool)[:64] if self.pool else b"x"])
        if t == FieldDescriptor.TYPE_BOOL:
            return bool(self.draw(2))
        if t in (FieldDescriptor.TYPE_FLOAT, FieldDescriptor.TYPE_DOUBLE):
            return self.choice([0.0, -1.0, 1e300, float("inf"), float("nan"), 1e-30])
        if t == FieldDescriptor.TYPE_ENUM:
            return self.choice([0, 1, 7, 20, 101, 120, 999, -1])
        bits = 32 if t in (FieldDescriptor.TYPE_INT32, FieldDescriptor.TYPE_SINT32,
                           FieldDescriptor.TYPE_SFIXED32, FieldDescriptor.TYPE_UINT32,
                           FieldDescriptor.TYPE_FIXED32) else 64
        unsigned = t in (FieldDescriptor.TYPE_UINT32, FieldDescriptor.TYPE_FIXED32,
                         FieldDescriptor.TYPE_UINT64, FieldDescriptor.TYPE_FIXED64)
        v = self.choice(INTERESTING_SIGNED)
        if unsigned:
            return v % (1 << bits)
        lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
        return min(max(v, lo), hi)

    def proto_once(self, msg: pb_message.Message) -> None:
        """Change one field somewhere in ``msg`` (in place)."""
        target = self.choice(self._messages(msg))
        fields = [f for f in target.DESCRIPTOR.fields]
        if not fields:
            return
        fd = self.choice(fields)
        try:
            self._mutate_field(target, fd)
        except (ValueError, TypeError, AttributeError):
            pass  # the value does not fit the field; another draw will do

    def _mutate_field(self, msg: pb_message.Message, fd: FieldDescriptor) -> None:
        value = getattr(msg, fd.name)
        if fd.type == FieldDescriptor.TYPE_MESSAGE and fd.message_type.GetOptions().map_entry:
            if len(value) and self.chance(50):
                del value[self.choice(sorted(value))]
            return
        if fd.is_repeated:
            op = self.draw(4)
            if op == 0 and len(value):
                del value[self.draw(len(value))]
            elif op == 1 and len(value) and fd.type == FieldDescriptor.TYPE_MESSAGE:
                value.add().CopyFrom(value[self.draw(len(value))])
            elif fd.type == FieldDescriptor.TYPE_MESSAGE:
                value.add()
            elif op == 2 and len(value):
                value[self.draw(len(value))] = self._scalar(fd)
            else:
                value.append(self._scalar(fd))
            return
        if fd.type == FieldDescriptor.TYPE_MESSAGE:
            if self.chance(50):
                msg.ClearField(fd.name)
            else:
                value.SetInParent()
            return
        setattr(msg, fd.name, self._scalar(fd))

    def proto(self, data: bytes, cls: type[pb_message.Message]) -> bytes:
        msg = cls()
        try:
            msg.ParseFromString(data)
        except Exception:  # noqa: BLE001 - a mutated seed: mutate the bytes instead
            return self.bytes(data)
        for _ in range(1 + self.draw(3)):
            self.proto_once(msg)
        return msg.SerializeToString()

    # -------------------------------------------------------- tables

    def table(self, data: bytes, value_cls: type[pb_message.Message] | None = None) -> bytes:
        """Rebuild a table with mutated entries and *valid* checksums, so the damage
        reaches the parsers behind the block checks."""
        try:
            items = list(TableReader(data))
        except SavedModelIOError:
            return self.bytes(data)
        items = [(bytes(k), bytes(v)) for k, v in items]
        for _ in range(1 + self.draw(3)):
            if not items:
                break
            i = self.draw(len(items))
            k, v = items[i]
            op = self.draw(6)
            if op <= 2 and value_cls is not None:
                items[i] = (k, self.proto(v, value_cls))
            elif op == 3:
                items[i] = (k, self.bytes(v, 1))
            elif op == 4:
                del items[i]
            else:
                items.append((self.bytes(k, 1), self.choice(items)[1]))
        items = sorted(dict(items).items())

        out = io.BytesIO()
        tb = TableBuilder(out, block_size=self.choice([64, 256, 4096, 262144]),
                          restart_interval=self.choice([1, 2, 16]),
                          compression=self.choice(["none", "snappy"]))
        for k, v in items:
            tb.add(k, v)
        tb.finish()
        return out.getvalue()


def _index_entry_cls() -> Any:
    from savedmodel_io.protos import tensor_bundle_pb2

    return tensor_bundle_pb2.BundleEntryProto


def _v1_record_cls() -> Any:
    from savedmodel_io.protos import saved_tensor_slice_pb2

    return saved_tensor_slice_pb2.SavedTensorSlices


def _saved_model_cls() -> Any:
    from savedmodel_io.protos import saved_model_pb2

    return saved_model_pb2.SavedModel


def _state_cls() -> Any:
    from savedmodel_io.protos import checkpoint_state_pb2

    return checkpoint_state_pb2.CheckpointState


def _fix_crc(files: Files, m: Mutator) -> Files:
    """After mutating a data file, make one index entry's checksum match it again (so the
    string/variant decoders, not the checksum, meet the damage)."""
    from savedmodel_io.format import crc
    from savedmodel_io.format.bundle_entry import BundleEntry

    index_name = next((n for n in files if n.endswith(".index")), None)
    if index_name is None:
        return files
    try:
        items = [(bytes(k), bytes(v)) for k, v in TableReader(files[index_name])]
    except SavedModelIOError:
        return files
    entries = []
    for i, (k, v) in enumerate(items):
        if k:
            with contextlib.suppress(SavedModelIOError):
                entries.append((i, BundleEntry.decode(v)))
    if not entries:
        return files
    i, e = m.choice(entries)
    data_names = sorted(n for n in files if ".data-" in n)
    if e.shard_id >= len(data_names):
        return files
    data = files[data_names[e.shard_id]]
    chunk = data[e.offset:e.offset + e.size]
    e.crc32c = crc.mask(crc.value(chunk))
    items[i] = (items[i][0], e.encode())

    out = io.BytesIO()
    tb = TableBuilder(out)
    for k, v in items:
        tb.add(k, v)
    tb.finish()
    return {**files, index_name: out.getvalue()}


def mutate(kind: str, files: Files, m: Mutator) -> Files:
    """One mutated input for target ``kind`` from seed ``files``."""
    files = dict(files)
    names = sorted(files)
    if kind == "table":
        (name,) = names
        files[name] = m.table(files[name]) if m.chance(40) else m.bytes(files[name])
        return files
    if kind in ("bundle", "bundle_unverified"):
        index = next((n for n in names if n.endswith(".index")), names[0])
        op = m.draw(10)
        if op < 5:
            files[index] = m.table(files[index], _index_entry_cls())
        elif op < 7:
            files[index] = m.bytes(files[index])
        else:
            data_names = [n for n in names if ".data-" in n]
            if data_names:
                name = m.choice(data_names)
                files[name] = m.bytes(files[name])
                if op == 9:
                    files = _fix_crc(files, m)
            if m.chance(10) and data_names:
                del files[m.choice(data_names)]
        return files
    if kind == "v1":
        name = m.choice(names)
        files[name] = (m.table(files[name], _v1_record_cls()) if m.chance(60)
                       else m.bytes(files[name]))
        return files
    if kind in ("saved_model", "saved_model_text"):
        pb = "saved_model.pb" if "saved_model.pb" in files else "saved_model.pbtxt"
        op = m.draw(10)
        if op < 5:
            cls = _saved_model_cls()
            if pb.endswith(".pbtxt"):
                msg = cls()
                try:
                    text_format.Parse(files[pb].decode(), msg,
                                      descriptor_pool=_pool())
                    for _ in range(1 + m.draw(3)):
                        m.proto_once(msg)
                    files[pb] = text_format.MessageToString(msg).encode()
                except Exception:  # noqa: BLE001
                    files[pb] = m.bytes(files[pb])
            else:
                files[pb] = m.proto(files[pb], cls)
        elif op < 7:
            files[pb] = m.bytes(files[pb])
        else:
            others = [n for n in names if n != pb]
            if others:
                name = m.choice(others)
                files[name] = (m.table(files[name], _index_entry_cls())
                               if name.endswith(".index") and m.chance(50)
                               else m.bytes(files[name]))
        return files
    if kind == "cli_input_strings":
        name = m.choice(names)
        data = files[name]
        if m.chance(50):
            data = m.text(data)
        else:
            data = m.bytes(data)
        files[name] = data
        return files
    if kind == "cli_input_files":
        (name,) = names
        files[name] = m.bytes(files[name])
        return files
    if kind == "state_file":
        (name,) = names
        data = files[name]
        if m.chance(50):
            msg = _state_cls()()
            try:
                text_format.Parse(data.decode(), msg)
                for _ in range(1 + m.draw(3)):
                    m.proto_once(msg)
                files[name] = text_format.MessageToString(msg).encode()
                return files
            except Exception:  # noqa: BLE001
                pass
        files[name] = m.bytes(data)
        return files
    raise KeyError(kind)


def _pool() -> Any:
    from savedmodel_io.protos._pool import POOL

    return POOL


def seed_pool(seeds: dict[str, Files]) -> list[bytes]:
    return [v for files in seeds.values() for v in files.values() if v][:64]


def random_mutator(rng: random.Random, pool: list[bytes]) -> Mutator:
    return Mutator(lambda n: rng.randrange(n) if n > 0 else 0, pool)
