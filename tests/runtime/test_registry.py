"""The kernel registry agrees with TensorFlow's OpDefs (those in the graph layer's
registry, which are TensorFlow 2.21's): output argument names and counts, attribute
defaults. Function bodies address outputs by these names, and SavedModels omit attributes
that have their default value, so both must be TensorFlow's exactly."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from savedmodel_io.graph import op_def, registered_ops
from savedmodel_io.runtime import supported_ops
from savedmodel_io.runtime.registry import lookup

OPS = sorted(supported_ops() & registered_ops())


def _default(value: Any) -> Any:
    kind = value.WhichOneof("value")
    if kind == "list":
        return (list(value.list.i) or [s.decode() for s in value.list.s]
                or list(value.list.type) or list(value.list.f))
    if kind == "s":
        return value.s.decode()
    if kind == "f":
        return np.float32(value.f)
    return getattr(value, kind) if kind else None


def test_most_kernels_are_checked_here() -> None:
    # The graph registry holds the ops graph building needs; the interop test checks every
    # kernel against TensorFlow's own registry.
    assert len(OPS) > 100 and len(supported_ops()) > 200


@pytest.mark.parametrize("op", OPS)
def test_outputs_and_defaults_match_tensorflow(op: str) -> None:
    opdef = op_def(op)
    kdef = lookup(op)
    assert opdef is not None and kdef is not None
    names = [f"{a.name}*{a.number_attr or a.type_list_attr}"
             if a.number_attr or a.type_list_attr else a.name for a in opdef.output_arg]
    assert list(kdef.outputs) == names
    defaults = {a.name: a.default_value for a in opdef.attr if a.HasField("default_value")}
    for attr, ours in kdef.attrs.items():
        assert attr in defaults, f"{op}: we default {attr!r}, TensorFlow does not"
        if defaults[attr].WhichOneof("value") == "shape":
            continue
        theirs = _default(defaults[attr])
        if isinstance(theirs, np.float32):
            ours = np.float32(ours)
        assert ours == theirs, f"{op}.{attr}: {ours!r} != {theirs!r}"
    ref_in = {i for i, a in enumerate(opdef.input_arg) if a.is_ref}
    ref_out = {i for i, a in enumerate(opdef.output_arg) if a.is_ref}
    assert kdef.ref_inputs == ref_in and kdef.ref_outputs == ref_out
