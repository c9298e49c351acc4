"""Lookup tables: HashTableV2 / MutableHashTableV2, filled from tensors or a vocabulary file
(the asset of a SavedModel), queried with LookupTableFindV2.

TF1 classification exports map class ids to labels this way, and TF2's
``tf.lookup.StaticHashTable`` saves as the same ops (created by graph nodes, filled by the
init op). A vocabulary file is read only from inside the SavedModel's directory.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from savedmodel_io import fileio
from savedmodel_io.runtime.context import BuildContext
from savedmodel_io.runtime.kernels._util import shape_str
from savedmodel_io.runtime.kernels.state import resource_key
from savedmodel_io.runtime.registry import KernelFn, Node, kernel

MAX_VOCABULARY_BYTES = 1 << 30
_WHOLE_LINE = -2
_LINE_NUMBER = -1


class Table:
    """A hash table of scalar keys to scalar values."""

    def __init__(self, name: str, key_dtype: np.dtype, value_dtype: np.dtype) -> None:
        self.name = name
        self.key_dtype = key_dtype
        self.value_dtype = value_dtype
        self.data: dict[Any, Any] = {}
        self.initialized = False

    def insert(self, node: Node, keys: np.ndarray, values: np.ndarray, *,
               check_duplicates: bool) -> None:
        if keys.shape != values.shape:
            raise node.error(f"keys {shape_str(keys.shape)} and values "
                             f"{shape_str(values.shape)} must have the same shape")
        for k, v in zip(keys.reshape(-1).tolist(), values.reshape(-1).tolist(), strict=True):
            if check_duplicates and k in self.data and self.data[k] != v:
                raise node.error(f"HashTable has different value for same key. Key {k!r} has "
                                 f"{self.data[k]!r} and trying to add value {v!r}")
            self.data[k] = v
        self.initialized = True

    def find(self, keys: np.ndarray, default: Any) -> np.ndarray:
        get = self.data.get
        flat = [get(k, default) for k in keys.reshape(-1).tolist()]
        out = np.empty(len(flat), dtype=self.value_dtype)
        out[:] = flat
        return out.reshape(keys.shape)


def _table(node: Node, value: Any) -> Table:
    if not isinstance(value, Table):
        raise node.error(f"expected a table handle, got {type(value).__name__}")
    return value


@kernel(["HashTableV2", "MutableHashTableV2"], outputs=("table_handle",),
        attrs={"container": "", "shared_name": "", "use_node_name_sharing": False},
        stateful=True)
def hash_table(node: Node, ctx: BuildContext) -> KernelFn:
    key_dtype = node.get_np_type("key_dtype")
    value_dtype = node.get_np_type("value_dtype")
    container, name = resource_key(node.node_def)
    table = ctx.resources.resource(container, name,
                                   lambda: Table(name, key_dtype, value_dtype))
    return lambda args: (table,)


@kernel(["LookupTableImportV2", "LookupTableInsertV2"], outputs=(), stateful=True)
def lookup_table_import(node: Node, ctx: BuildContext) -> KernelFn:
    def run(args: list[Any]) -> tuple[Any, ...]:
        table = _table(node, args[0])
        keys, values = np.asarray(args[1]), np.asarray(args[2])
        if keys.dtype != table.key_dtype or values.dtype != table.value_dtype:
            raise node.error(f"table {table.name!r} maps {table.key_dtype} to "
                             f"{table.value_dtype}, got {keys.dtype} and {values.dtype}")
        if node.op == "LookupTableImportV2":
            table.data.clear()
        table.insert(node, keys, values, check_duplicates=node.op == "LookupTableImportV2")
        return ()
    return run


def _field(node: Node, line: bytes, number: int, index: int, dtype: np.dtype,
           delimiter: bytes, offset: int) -> Any:
    if index == _LINE_NUMBER:
        return number + offset
    text = line if index == _WHOLE_LINE else _split(node, line, index, delimiter, number)
    if dtype.kind == "O":
        return text
    try:
        return int(text) if dtype.kind in "iu" else float(text)
    except ValueError:
        raise node.error(f"line {number}: field {text!r} is not a {dtype}") from None


def _split(node: Node, line: bytes, index: int, delimiter: bytes, number: int) -> bytes:
    parts = line.split(delimiter) if delimiter else line.split()
    if index >= len(parts):
        raise node.error(f"line {number} has {len(parts)} field(s); column {index} is "
                         "missing")
    return parts[index]


@kernel("InitializeTableFromTextFileV2", outputs=(),
        attrs={"vocab_size": -1, "delimiter": "\t", "offset": 0}, stateful=True)
def initialize_from_text_file(node: Node, ctx: BuildContext) -> KernelFn:
    key_index = node.get_int("key_index")
    value_index = node.get_int("value_index")
    vocab_size = node.get_int("vocab_size")
    delimiter = node.get_bytes("delimiter")
    offset = node.get_int("offset")
    for idx, what in ((key_index, "key_index"), (value_index, "value_index")):
        if idx < _WHOLE_LINE:
            raise node.error(f"{what} {idx} is invalid")

    def run(args: list[Any]) -> tuple[Any, ...]:
        table = _table(node, args[0])
        name = np.asarray(args[1]).reshape(-1)
        if name.size != 1 or not isinstance(name[0], bytes):
            raise node.error("filename must be one string")
        path = ctx.check_readable(name[0].decode("utf-8", "surrogateescape"),
                                  node.describe())
        data = fileio.read_bytes(path, limit=MAX_VOCABULARY_BYTES)
        lines = data.split(b"\n")
        if lines and lines[-1] == b"":
            lines.pop()
        lines = [ln[:-1] if ln.endswith(b"\r") else ln for ln in lines]
        if vocab_size >= 0:
            if len(lines) < vocab_size:
                raise node.error(f"Invalid vocab_size in {path}: expected {vocab_size} but "
                                 f"got {len(lines)}")
            lines = lines[:vocab_size]
        keys = [_field(node, ln, i, key_index, table.key_dtype, delimiter, 0)
                for i, ln in enumerate(lines)]
        values = [_field(node, ln, i, value_index, table.value_dtype, delimiter, offset)
                  for i, ln in enumerate(lines)]
        k = np.empty(len(keys), table.key_dtype)
        k[:] = keys
        v = np.empty(len(values), table.value_dtype)
        v[:] = values
        table.insert(node, k, v, check_duplicates=True)
        return ()
    return run


@kernel("LookupTableFindV2", outputs=("values",), stateful=True)
def lookup_table_find(node: Node, ctx: BuildContext) -> KernelFn:
    def run(args: list[Any]) -> tuple[Any, ...]:
        table = _table(node, args[0])
        keys, default = np.asarray(args[1]), np.asarray(args[2])
        if keys.dtype != table.key_dtype:
            raise node.error(f"table {table.name!r} has {table.key_dtype} keys, looked up "
                             f"with {keys.dtype}")
        if default.size != 1:
            raise node.error("default_value must be a scalar")
        return (table.find(keys, default.reshape(()).item()),)
    return run


@kernel("LookupTableSizeV2", outputs=("size",), stateful=True)
def lookup_table_size(node: Node, ctx: BuildContext) -> KernelFn:
    return lambda args: (np.asarray(len(_table(node, args[0]).data), np.int64),)
