"""The private descriptor pool that holds every generated message of ``savedmodel_io.protos``.

Our ``.proto`` files use TensorFlow's package (``tensorflow``), so their full names
(``tensorflow.MetaGraphDef``, ``tensorflow.BundleEntryProto``, ...) equal TensorFlow's. That
is required for text format and ``Any`` type URLs, but it means our descriptors would collide
with TensorFlow's in protobuf's default pool. They are therefore added to ``POOL`` instead,
together with the well-known types they use (``google.protobuf.Any`` and the wrappers, see
``any_pb2`` / ``wrappers_pb2`` in this package), so ``import savedmodel_io`` and
``import tensorflow`` work in one process in either order.

Consequences for callers:

* Messages are ordinary protobuf messages: serialize, parse, ``text_format``, ``json_format``
  and ``Any.Pack``/``Unpack`` all work.
* To expand ``Any`` payloads in text or JSON, pass ``descriptor_pool=POOL`` to
  ``text_format.MessageToString``/``Parse``/``Merge`` and ``json_format.MessageToJson``/
  ``Parse``; otherwise protobuf looks in its default pool.
* Our ``Any``/wrapper classes are not protobuf's ``google.protobuf.any_pb2.Any``: assign
  or ``CopyFrom`` only instances of ``savedmodel_io.protos.any_pb2.Any`` (or go through bytes).
  The same holds between our classes and TensorFlow's classes of the same full name.
"""

from __future__ import annotations

from google.protobuf import descriptor_pool

__all__ = ["POOL"]

POOL: descriptor_pool.DescriptorPool = descriptor_pool.DescriptorPool()
