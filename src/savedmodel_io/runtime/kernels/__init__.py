"""numpy kernels with TensorFlow's semantics, one module per family of ops.

Importing this package registers every kernel (see :mod:`savedmodel_io.runtime.registry`).
"""

from savedmodel_io.runtime.kernels import (  # noqa: F401
    array,
    basic,
    control_flow_v1,
    functional,
    io,
    lookup,
    math,
    nn,
    parsing,
    random,
    reduce,
    state,
    strings,
    tensor_list,
)
