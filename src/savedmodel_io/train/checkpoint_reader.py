"""Read any checkpoint: ``load_checkpoint``, ``CheckpointReader`` and their friends.

One reader opens V2 bundles and legacy V1 files alike. It is also a read-only mapping of
key to array that reads a tensor only when asked::

    reader = load_checkpoint("/tmp/model")      # a directory or a prefix
    reader.get_variable_to_shape_map()          # {"dense/kernel": [4, 2], ...}
    kernel = reader["dense/kernel"]             # reads just this tensor
    everything = dict(reader)
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from types import TracebackType

import numpy as np

from savedmodel_io import fileio
from savedmodel_io.dtypes import DataType
from savedmodel_io.errors import InvalidArgumentError, NotFoundError
from savedmodel_io.format.bundle_entry import index_filename
from savedmodel_io.format.bundle_reader import BundleReader
from savedmodel_io.format.legacy_v1 import V1Reader
from savedmodel_io.format.slices import TensorSlice, parse_slice_spec
from savedmodel_io.train.checkpoint_state import get_checkpoint_state

OBJECT_GRAPH_KEY = "_CHECKPOINTABLE_OBJECT_GRAPH"


class CheckpointReader(Mapping[str, np.ndarray]):
    """The tensors of one checkpoint (``tf.train.load_checkpoint`` returns one of these)."""

    def __init__(self, prefix: str | os.PathLike[str], *, verify_checksums: bool = True,
                 mmap: bool = False) -> None:
        self.prefix = os.fspath(prefix)
        self._bundle: BundleReader | None = None
        self._v1: V1Reader | None = None
        if fileio.exists(index_filename(self.prefix)):
            self._bundle = BundleReader(self.prefix, verify_checksums=verify_checksums,
                                        mmap=mmap)
            # Columns rather than an entry object per tensor: an index of 100,000 keys
            # lists several times faster this way.
            keys, dtypes, shapes = self._bundle.list_tensors()
            names = [k.decode("utf-8", "surrogateescape") for k in keys]
            self._shapes: dict[str, Sequence[int]] = dict(zip(names, shapes, strict=True))
            self._dtypes: dict[str, DataType] = dict(zip(names, dtypes, strict=True))
        else:
            if not fileio.glob(self.prefix):
                raise NotFoundError(
                    "failed to find any matching files: no checkpoint at this prefix "
                    "(neither a V2 '.index' file nor V1 files)", path=self.prefix)
            self._v1 = V1Reader(self.prefix)
            self._shapes = {n: list(t.shape) for n, t in self._v1.tensors.items()}
            self._dtypes = {n: t.dtype for n, t in self._v1.tensors.items()}

    @property
    def format_version(self) -> int:
        """2 for a tensor bundle, 1 for a legacy V1 checkpoint."""
        return 2 if self._bundle is not None else 1

    # ----------------------------------------------------- TensorFlow's API

    def get_variable_to_shape_map(self) -> dict[str, list[int]]:
        return {k: list(v) for k, v in self._shapes.items()}

    def get_variable_to_dtype_map(self) -> dict[str, DataType]:
        return dict(self._dtypes)

    def has_tensor(self, name: str) -> bool:
        return name in self._shapes

    def get_tensor(self, name: str) -> np.ndarray:
        if name not in self._shapes:
            raise NotFoundError("key not found in checkpoint", path=self.prefix, key=name)
        if self._bundle is not None:
            return self._bundle.read(name.encode("utf-8", "surrogateescape"))
        assert self._v1 is not None
        value: np.ndarray = self._v1.read(name)
        return value

    def get_tensors(self, names: Iterable[str] | None = None) -> dict[str, np.ndarray]:
        """Several tensors by name (all when ``names`` is None). From a remote checkpoint
        they are fetched together: neighbouring byte ranges in one request, data files in
        parallel."""
        wanted = list(self._shapes) if names is None else list(names)
        for name in wanted:
            if name not in self._shapes:
                raise NotFoundError("key not found in checkpoint", path=self.prefix, key=name)
        if self._bundle is None:
            return {name: self.get_tensor(name) for name in wanted}
        keys = {name: name.encode("utf-8", "surrogateescape") for name in wanted}
        got = self._bundle.read_many(keys.values())
        return {name: got[key] for name, key in keys.items()}

    def get_slice(self, name: str, tensor_slice: TensorSlice | str) -> np.ndarray:
        """Part of a tensor, e.g. ``get_slice("emb", "0,100:-")`` for its first 100 rows."""
        s = parse_slice_spec(tensor_slice) if isinstance(tensor_slice, str) else tensor_slice
        if self._bundle is not None:
            if name not in self._shapes:
                raise NotFoundError("key not found in checkpoint", path=self.prefix, key=name)
            return self._bundle.read_slice(name.encode("utf-8", "surrogateescape"), s)
        full = self.get_tensor(name)
        try:
            s.check_inside(full.shape)
        except InvalidArgumentError as e:
            raise InvalidArgumentError(e.message, path=self.prefix, key=name) from None
        part: np.ndarray = full[tuple(slice(a, b) for a, b in s.bounds(full.shape))]
        copied: np.ndarray = part.copy()
        return copied

    # ----------------------------------------------------- mapping view

    def __getitem__(self, name: str) -> np.ndarray:
        return self.get_tensor(name)

    def __iter__(self) -> Iterator[str]:
        return iter(self._shapes)

    def __len__(self) -> int:
        return len(self._shapes)

    def __contains__(self, name: object) -> bool:
        return name in self._shapes

    def __repr__(self) -> str:
        return f"CheckpointReader({self.prefix!r}, {len(self)} tensors)"

    # ----------------------------------------------------- lifetime

    def close(self) -> None:
        if self._bundle is not None:
            self._bundle.close()
        if self._v1 is not None:
            self._v1.close()

    def __enter__(self) -> CheckpointReader:
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


# --------------------------------------------------------- module functions


def _resolve(ckpt_dir_or_prefix: str | os.PathLike[str]) -> str:
    path = os.fspath(ckpt_dir_or_prefix)
    if fileio.is_remote(path) and fileio.exists(index_filename(path)):
        return path  # a prefix: asking costs one HEAD, where a "directory" costs a listing
    if fileio.is_dir(path):
        latest = latest_checkpoint(path)
        if latest is None:
            raise NotFoundError("no checkpoint found in directory (no usable 'checkpoint' "
                                "state file)", path=path)
        return latest
    return path


def load_checkpoint(ckpt_dir_or_prefix: str | os.PathLike[str], *,
                    verify_checksums: bool = True, mmap: bool = False) -> CheckpointReader:
    """A :class:`CheckpointReader` for a checkpoint directory (its latest) or prefix."""
    return CheckpointReader(_resolve(ckpt_dir_or_prefix), verify_checksums=verify_checksums,
                            mmap=mmap)


def list_variables(ckpt_dir_or_prefix: str | os.PathLike[str]) -> list[tuple[str, list[int]]]:
    """(name, shape) of every variable, sorted by name."""
    with load_checkpoint(ckpt_dir_or_prefix) as r:
        return sorted(r.get_variable_to_shape_map().items())


def load_variable(ckpt_dir_or_prefix: str | os.PathLike[str], name: str) -> np.ndarray:
    """One tensor. Like TensorFlow, a trailing ``:0`` on the name is ignored."""
    if name.endswith(":0"):
        name = name[:-2]
    with load_checkpoint(ckpt_dir_or_prefix) as r:
        return r.get_tensor(name)


def checkpoint_exists(prefix: str | os.PathLike[str]) -> bool:
    """True if a V2 index or V1 files exist for ``prefix``."""
    p = os.fspath(prefix)
    return fileio.exists(index_filename(p)) or bool(fileio.glob(p))


def latest_checkpoint(checkpoint_dir: str | os.PathLike[str],
                      latest_filename: str | None = None) -> str | None:
    """The newest checkpoint the state file names, if its files exist."""
    state = get_checkpoint_state(os.fspath(checkpoint_dir), latest_filename)
    if state is not None and state.model_checkpoint_path and checkpoint_exists(
            state.model_checkpoint_path):
        return str(state.model_checkpoint_path)
    return None


def get_checkpoint_mtimes(prefixes: list[str]) -> list[float]:
    """Modification time of each checkpoint (of its index, or of its V1 files)."""
    out = []
    for p in prefixes:
        idx = index_filename(p)
        if fileio.exists(idx):
            out.append(fileio.get_mtime(idx))
            continue
        files = fileio.glob(p)
        if files:
            out.append(max(fileio.get_mtime(f) for f in files))
    return out


__all__ = [
    "CheckpointReader",
    "OBJECT_GRAPH_KEY",
    "load_checkpoint",
    "list_variables",
    "load_variable",
    "checkpoint_exists",
    "latest_checkpoint",
    "get_checkpoint_mtimes",
]
