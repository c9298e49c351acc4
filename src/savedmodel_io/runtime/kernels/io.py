"""Reading checkpoints from a graph: RestoreV2 (what a TF1 Saver's restore op runs).

Writing ops (SaveV2, MergeV2Checkpoints) have no kernel on purpose: serving a model must
not write files, and no signature needs them.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from savedmodel_io import dtypes
from savedmodel_io.runtime.context import BuildContext
from savedmodel_io.runtime.registry import KernelFn, Node, kernel


def _text(value: Any) -> str:
    return value.decode("utf-8", "surrogateescape") if isinstance(value, bytes) else str(value)


def _strings(node: Node, value: Any, what: str) -> list[str]:
    arr = np.asarray(value)
    if arr.dtype != object:
        raise node.error(f"{what} must be strings, got {arr.dtype}")
    return [_text(v) for v in arr.reshape(-1)]


@kernel("RestoreV2", outputs=("tensors*dtypes",), stateful=True)
def restore_v2(node: Node, ctx: BuildContext) -> KernelFn:
    want = node.get_types("dtypes")

    def run(args: list[Any]) -> tuple[Any, ...]:
        prefixes = _strings(node, args[0], "prefix")
        if len(prefixes) != 1:
            raise node.error(f"prefix must be one string, got {len(prefixes)}")
        names = _strings(node, args[1], "tensor_names")
        specs = _strings(node, args[2], "shape_and_slices")
        if not len(names) == len(specs) == len(want):
            raise node.error(f"tensor_names ({len(names)}), shape_and_slices ({len(specs)}) "
                             f"and dtypes ({len(want)}) must have the same length")
        reader = ctx.reader(prefixes[0])
        out = []
        for name, spec, dt in zip(names, specs, want, strict=True):
            if spec.strip():
                # "<full shape dims> <slice>", e.g. "10 4 0,5:-"
                value = reader.get_slice(name, spec.strip().split(" ")[-1])
            else:
                value = reader.get_tensor(name)
            expected = dtypes.as_numpy_dtype(dt)
            if value.dtype != expected:
                raise node.error(f"checkpoint tensor {name!r} is {value.dtype}, the graph "
                                 f"expects {expected}")
            out.append(value)
        return tuple(out)
    return run
