"""Assets on the write side: which file each asset tensor names, the name it gets under
``<export_dir>/assets``, and the copy.

An asset is a scalar DT_STRING ``Const`` tensor holding a file path (TensorFlow's rule). The
file is saved under its basename; when two *different* files share a basename, the later
ones become ``<basename>_1``, ``<basename>_2``... (same path or same contents: same name),
as TensorFlow's ``SavedModelBuilder`` does::

    plan = plan_assets([vocab_tensor])        # [AssetFile("vocab_path:0", "vocab.txt", src)]
    copy_assets(plan, staging_dir, copied)    # staging_dir/assets/vocab.txt
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from savedmodel_io import fileio
from savedmodel_io.dtypes import DataType
from savedmodel_io.errors import InvalidArgumentError, NotFoundError
from savedmodel_io.protos import any_pb2, meta_graph_pb2
from savedmodel_io.saved_model import constants

_COMPARE_CHUNK = 1 << 20


@dataclass(frozen=True)
class AssetFile:
    """One asset: the graph tensor fed with its path, its name in ``assets/``, its source."""

    tensor_name: str
    filename: str
    source: str

    def to_proto(self) -> meta_graph_pb2.AssetFileDef:
        out = meta_graph_pb2.AssetFileDef(filename=self.filename)
        out.tensor_info.name = self.tensor_name
        return out

    def to_any(self) -> any_pb2.Any:
        """The AssetFileDef packed as the ``saved_model_assets`` collection holds it."""
        packed = any_pb2.Any()
        packed.Pack(self.to_proto())
        return packed


def asset_path_from_tensor(tensor: Any) -> str:
    """The file path a scalar DT_STRING ``Const`` graph tensor holds."""
    from savedmodel_io.graph.tensor import Tensor

    if not isinstance(tensor, Tensor):
        raise InvalidArgumentError(
            f"Asset path tensor {tensor!r} must be a Tensor (a graph Const holding the path)")
    if tensor.op.type != "Const":
        raise InvalidArgumentError(
            f"Asset path tensor {tensor.name!r} must be of type constant. Has type "
            f"{tensor.op.type} instead.")
    if tensor.dtype != DataType.DT_STRING:
        raise InvalidArgumentError(
            f"Asset path tensor {tensor.name!r} must be of dtype string. Has type "
            f"{tensor.dtype.name} instead.")
    values = list(tensor.op.node_def.attr["value"].tensor.string_val)
    if len(values) != 1:
        raise InvalidArgumentError(f"Asset path tensor {tensor.name!r} must be a scalar.")
    if not values[0]:
        raise InvalidArgumentError(f"Asset filepath tensor {tensor.name!r} is invalid "
                                   "(an empty path).")
    return os.fsdecode(values[0])


def files_equal(a: str, b: str) -> bool:
    """Whether two files have the same contents (compared in chunks)."""
    try:
        if os.path.getsize(a) != os.path.getsize(b):
            return False
        with open(a, "rb") as fa, open(b, "rb") as fb:
            while True:
                ca, cb = fa.read(_COMPARE_CHUNK), fb.read(_COMPARE_CHUNK)
                if ca != cb:
                    return False
                if not ca:
                    return True
    except OSError as e:
        raise fileio.os_error(e, e.filename or a, "compare asset files") from e


def _check_source(path: str, tensor_name: str) -> None:
    if not os.path.isfile(path):
        what = "is not a regular file" if os.path.exists(path) else "does not exist"
        raise NotFoundError(f"asset file {what} (named by tensor {tensor_name!r})", path=path)


def filename_to_add(path: str, taken: dict[str, str]) -> str:
    """The name ``path`` gets in ``assets/``, given ``taken`` (name -> source path)."""
    name = os.path.basename(path)
    if name not in taken or taken[name] == path or files_equal(path, taken[name]):
        return name
    i = 1
    unique = name
    while unique in taken:
        unique = f"{name}_{i}"
        i += 1
    return unique


def plan_assets(tensors: Iterable[Any] | None) -> list[AssetFile]:
    """One AssetFile per asset tensor, in order (a repeated file repeats its entry)."""
    plan: list[AssetFile] = []
    taken: dict[str, str] = {}
    for tensor in tensors or ():
        source = asset_path_from_tensor(tensor)
        _check_source(source, tensor.name)
        filename = filename_to_add(source, taken)
        taken[filename] = source
        plan.append(AssetFile(tensor.name, filename, source))
    return plan


def copy_assets(plan: Iterable[AssetFile], export_dir: str, copied: set[str]) -> None:
    """Copy the planned files into ``<export_dir>/assets``; a name in ``copied`` (already
    written by an earlier meta graph) is kept, as TensorFlow keeps the first version."""
    sources: dict[str, str] = {}
    for asset in plan:
        sources[asset.filename] = asset.source  # the last source of a name wins, as in TF
    if not sources:
        return
    assets_dir = fileio.join(export_dir, constants.ASSETS_DIRECTORY)
    fileio.make_dir(assets_dir)
    for filename, source in sources.items():
        if filename in copied:
            continue
        fileio.copy_file(source, fileio.join(assets_dir, filename))
        copied.add(filename)


__all__ = ["AssetFile", "asset_path_from_tensor", "files_equal", "filename_to_add",
           "plan_assets", "copy_assets"]
