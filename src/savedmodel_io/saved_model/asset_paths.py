"""Where a SavedModel's asset files are, checked to stay inside ``<export_dir>/assets``.

A MetaGraphDef names its assets in ``asset_file_def`` (TF2 and the internal builder) or,
when that is empty, in the ``saved_model_assets`` collection of ``Any``-packed
``AssetFileDef`` protos (the TF1 builder). Each maps a graph tensor (fed with the path when
the init op runs) to a file name relative to the assets directory. A file name that is
absolute, climbs out with ``..``, or resolves through a symlink to a place outside the
assets directory is refused: a SavedModel from elsewhere must not make us read
arbitrary files.
"""

from __future__ import annotations

import os
import re

from savedmodel_io import fileio
from savedmodel_io.errors import InvalidArgumentError
from savedmodel_io.protos import meta_graph_pb2
from savedmodel_io.saved_model import constants

_ASSET_FILE_DEF = meta_graph_pb2.AssetFileDef.DESCRIPTOR.full_name
_DRIVE = re.compile(r"^[A-Za-z]:")


def asset_file_defs(meta_graph_def: meta_graph_pb2.MetaGraphDef, *, path: str | None = None
                    ) -> list[meta_graph_pb2.AssetFileDef]:
    """The AssetFileDefs of a MetaGraphDef: ``asset_file_def``, else the collection."""
    if len(meta_graph_def.asset_file_def):
        return list(meta_graph_def.asset_file_def)
    if constants.ASSETS_KEY not in meta_graph_def.collection_def:
        return []
    out = []
    collection = meta_graph_def.collection_def[constants.ASSETS_KEY]
    for i, packed in enumerate(collection.any_list.value):
        if packed.TypeName() != _ASSET_FILE_DEF:
            raise InvalidArgumentError(
                f"collection {constants.ASSETS_KEY!r} entry {i} holds a "
                f"{packed.TypeName() or '(no type)'!r}, expected {_ASSET_FILE_DEF!r}",
                path=path)
        asset = meta_graph_pb2.AssetFileDef()
        try:
            asset.ParseFromString(packed.value)
        except Exception as e:  # protobuf's DecodeError and friends
            raise InvalidArgumentError(
                f"collection {constants.ASSETS_KEY!r} entry {i}: cannot parse the "
                f"AssetFileDef: {e}", path=path) from None
        out.append(asset)
    return out


def _inside(child: str, parent: str) -> bool:
    return child == parent or child.startswith(parent.rstrip(os.sep) + os.sep)


def resolve_asset_path(export_dir: str, filename: str, *, tensor_name: str = "",
                       path: str | None = None) -> str:
    """The absolute path of asset ``filename``; refuses names that leave the assets dir."""
    def refuse(why: str) -> InvalidArgumentError:
        return InvalidArgumentError(
            f"asset file name {filename!r} (tensor {tensor_name!r}) {why}; asset file "
            f"names must be relative paths inside the {constants.ASSETS_DIRECTORY!r} "
            "directory", path=path)

    if not filename:
        raise refuse("is empty")
    if "\x00" in filename:
        raise refuse("contains a NUL character")
    if os.path.isabs(filename) or filename.startswith(("/", "\\")) or _DRIVE.match(filename):
        raise refuse("is absolute")
    if ".." in re.split(r"[\\/]", filename):
        raise refuse("climbs out with '..'")
    # fileio's path functions keep URLs (s3://bucket/export/assets/...) as URLs.
    assets_dir = fileio.join(fileio.abspath(export_dir), constants.ASSETS_DIRECTORY)
    full = fileio.normpath(fileio.join(assets_dir, filename))
    if not _inside(full, assets_dir) or full == assets_dir:
        raise refuse("is not a file inside the assets directory")
    # Resolve symlinks against the export directory's real ``assets``: a symlinked assets
    # directory (``assets -> /etc``) would otherwise carry its own "inside" with it.
    real_assets = fileio.join(fileio.realpath(export_dir), constants.ASSETS_DIRECTORY)
    if not _inside(fileio.realpath(full), real_assets):
        raise refuse("is a symlink (or under one) that points outside the assets "
                     "directory")
    return full


def get_asset_paths(export_dir: str, meta_graph_def: meta_graph_pb2.MetaGraphDef,
                    import_scope: str | None = None, *, path: str | None = None
                    ) -> dict[str, str]:
    """Asset tensor name (prefixed ``<import_scope>/`` when given) -> absolute file path,
    like TensorFlow's ``loader_impl.get_asset_tensors``; files need not exist."""
    out: dict[str, str] = {}
    for asset in asset_file_defs(meta_graph_def, path=path):
        tensor_name = asset.tensor_info.name
        if import_scope:
            tensor_name = f"{import_scope}/{tensor_name}"
        out[tensor_name] = resolve_asset_path(export_dir, asset.filename,
                                              tensor_name=tensor_name, path=path)
    return out


__all__ = ["asset_file_defs", "resolve_asset_path", "get_asset_paths"]
