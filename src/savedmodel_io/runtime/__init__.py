"""Run SavedModel signatures with numpy: a graph interpreter with TensorFlow's semantics.

::

    from savedmodel_io import saved_model
    loaded = saved_model.load("/models/half_plus_two/00000123", ["serve"])
    loaded.signatures["serving_default"](x=np.array([[1.0], [2.0]], np.float32))
    # {"y": array([[2.5], [3. ]], dtype=float32)}

TF1 graphs and TF2 function libraries both run: the signature's output tensors are
computed from its inputs, pruned to what they need, with variables restored from the
SavedModel's checkpoint. :func:`supported_ops` lists the op types with a kernel;
:func:`unsupported_ops` says which ops of a model have none (``savedmodel-cli scan``).
Lower level: :class:`GraphRunner` runs any GraphDef by tensor names, like a TF1 Session.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from savedmodel_io.runtime.analysis import signature_walk
from savedmodel_io.runtime.context import Limits
from savedmodel_io.runtime.registry import supported_ops
from savedmodel_io.runtime.session import GraphRunner, Session
from savedmodel_io.runtime.signature import (
    call_signature,
    check_supported,
    coerce_input,
    reset_session,
    session_for,
)

if TYPE_CHECKING:
    from savedmodel_io.protos import graph_pb2, meta_graph_pb2
    from savedmodel_io.saved_model.loader import LoadedSavedModel


def unsupported_ops(model: LoadedSavedModel | meta_graph_pb2.MetaGraphDef
                    | graph_pb2.GraphDef, signature_key: str | None = None) -> list[str]:
    """Sorted op types with no kernel that running ``model`` needs.

    For a loaded SavedModel or a MetaGraphDef: what signature ``signature_key`` (every
    signature when ``None``) and the init op need, through every function they call, with
    the signature inputs fed (what a call checks before running). For a bare GraphDef:
    every op of its nodes and function library.
    """
    from savedmodel_io.protos import graph_pb2 as _graph_pb2

    if isinstance(model, _graph_pb2.GraphDef):
        ops = {n.op for n in model.node}
        library = {f.signature.name for f in model.library.function}
        for f in model.library.function:
            ops.update(n.op for n in f.node_def)
        known = supported_ops()
        return sorted(op for op in ops if op not in known and op not in library)
    return list(signature_walk(model, signature_key).unsupported())


__all__ = [
    "supported_ops", "unsupported_ops", "call_signature", "check_supported", "coerce_input",
    "session_for", "reset_session", "GraphRunner", "Session", "Limits",
]
