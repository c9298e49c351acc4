"""Set-up for tests that compare against TensorFlow 2.21 (the interop lane).

Everything in this folder is marked ``interop`` and skips when TensorFlow cannot be
imported (the root conftest turns such skips into failures when
``SAVEDMODEL_IO_REQUIRE_INTEROP=1``). Run with e.g.::

    PYTHONPATH=src /work/tfenv/bin/python -m pytest tests/interop -q
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))

# TensorFlow modules that define the messages mirrored in savedmodel_io.protos.
TF_PROTO_MODULES = (
    "tensorflow.core.framework.attr_value_pb2",
    "tensorflow.core.framework.full_type_pb2",
    "tensorflow.core.framework.function_pb2",
    "tensorflow.core.framework.graph_debug_info_pb2",
    "tensorflow.core.framework.graph_pb2",
    "tensorflow.core.framework.node_def_pb2",
    "tensorflow.core.framework.op_def_pb2",
    "tensorflow.core.framework.resource_handle_pb2",
    "tensorflow.core.framework.tensor_pb2",
    "tensorflow.core.framework.tensor_shape_pb2",
    "tensorflow.core.framework.tensor_slice_pb2",
    "tensorflow.core.framework.types_pb2",
    "tensorflow.core.framework.variable_pb2",
    "tensorflow.core.framework.versions_pb2",
    "tensorflow.core.protobuf.fingerprint_pb2",
    "tensorflow.core.protobuf.meta_graph_pb2",
    "tensorflow.core.protobuf.saved_model_pb2",
    "tensorflow.core.protobuf.saved_object_graph_pb2",
    "tensorflow.core.protobuf.saver_pb2",
    "tensorflow.core.protobuf.struct_pb2",
    "tensorflow.core.protobuf.tensor_bundle_pb2",
    "tensorflow.core.protobuf.trackable_object_graph_pb2",
    "tensorflow.core.util.saved_tensor_slice_pb2",
    "tensorflow.core.example.example_pb2",
    "tensorflow.core.example.feature_pb2",
    "tensorflow.python.training.checkpoint_state_pb2",
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if str(item.path).startswith(HERE + os.sep) and not item.get_closest_marker("interop"):
            item.add_marker(pytest.mark.interop)


@pytest.fixture(scope="session")
def tf() -> ModuleType:
    """The tensorflow module, with every TF proto module we mirror imported."""
    module: ModuleType = pytest.importorskip("tensorflow")
    for name in TF_PROTO_MODULES:
        importlib.import_module(name)
    return module


@pytest.fixture(autouse=True)
def _require_tensorflow(tf: ModuleType) -> None:
    """Skip every test of this folder when TensorFlow is missing."""
