"""String ops found in SavedModel graphs: StringJoin, ShardedFilename, StringToNumber.

Strings are object arrays of ``bytes``; these ops go element by element. Regex ops have no
kernel: Python's ``re`` can take exponential time on a hostile pattern.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from savedmodel_io.runtime.context import BuildContext
from savedmodel_io.runtime.kernels._util import as_array, shape_str
from savedmodel_io.runtime.registry import KernelFn, Node, kernel


def _bytes(v: Any) -> bytes:
    return v if isinstance(v, bytes) else str(v).encode("utf-8")


def _map(fn: Any, *arrays: np.ndarray) -> np.ndarray:
    return as_array(np.frompyfunc(fn, len(arrays), 1)(*arrays))


@kernel("StringJoin", attrs={"separator": ""})
def string_join(node: Node, ctx: BuildContext) -> KernelFn:
    sep = node.get_bytes("separator")

    def run(args: list[Any]) -> tuple[Any, ...]:
        shapes = {a.shape for a in args if a.ndim}
        if len(shapes) > 1:
            raise node.error(f"inputs must be scalars or have one shape, got "
                             f"{[shape_str(s) for s in shapes]}")
        out = _map(lambda *parts: sep.join(_bytes(p) for p in parts), *args)
        return (out.astype(object),)
    return run


@kernel("ShardedFilename", outputs=("filename",))
def sharded_filename(node: Node, ctx: BuildContext) -> KernelFn:
    def run(args: list[Any]) -> tuple[Any, ...]:
        base, shard, num = (a.reshape(()).item() for a in args)
        return (np.asarray(b"%s-%05d-of-%05d" % (_bytes(base), shard, num), dtype=object),)
    return run


@kernel("ShardedFilespec", outputs=("filename",))
def sharded_filespec(node: Node, ctx: BuildContext) -> KernelFn:
    def run(args: list[Any]) -> tuple[Any, ...]:
        base, num = (a.reshape(()).item() for a in args)
        return (np.asarray(b"%s-?????-of-%05d" % (_bytes(base), num), dtype=object),)
    return run


@kernel("StringToNumber", attrs={"out_type": 1})
def string_to_number(node: Node, ctx: BuildContext) -> KernelFn:
    out_type = node.get_np_type("out_type")
    integer = out_type.kind in "iu"

    def convert(s: Any) -> Any:
        text = _bytes(s).decode("utf-8", "replace").strip()
        try:
            return int(text) if integer else float(text)
        except ValueError:
            raise node.error(f"StringToNumberOp could not correctly convert string: "
                             f"{text}") from None

    def run(args: list[Any]) -> tuple[Any, ...]:
        x = args[0]
        flat = [convert(s) for s in x.reshape(-1)]
        try:
            return (np.asarray(flat, dtype=out_type).reshape(x.shape),)
        except OverflowError:
            raise node.error(f"a value does not fit in {out_type}") from None
    return run


@kernel("StringLength", attrs={"unit": "BYTE"})
def string_length(node: Node, ctx: BuildContext) -> KernelFn:
    chars = node.get_str("unit") == "UTF8_CHAR"

    def length(s: Any) -> int:
        b = _bytes(s)
        return len(b.decode("utf-8", "replace")) if chars else len(b)

    return lambda args: (_map(length, args[0]).astype(np.int32),)
