"""``Saver``: TF1's ``tf.compat.v1.train.Saver`` without TensorFlow or a Session.

Variables are :class:`~savedmodel_io.train.variable.Variable` objects (or plain arrays in a
dict), saved as a V2 checkpoint TensorFlow reads, restored in place::

    w = Variable("w", np.zeros((2, 3), np.float32))
    saver = Saver([w], max_to_keep=3)
    prefix = saver.save("/tmp/run/model.ckpt", global_step=10)   # "/tmp/run/model.ckpt-10"
    saver.restore(prefix)

Each save writes ``prefix.data-00000-of-00001`` and ``prefix.index`` (temporary names,
renamed when complete), then ``prefix.meta`` (a MetaGraphDef TensorFlow can
``import_meta_graph``), then, atomically and last, the ``checkpoint`` state file; only then
are checkpoints beyond ``max_to_keep`` deleted. A crash at any moment leaves the state file
naming a complete checkpoint.
"""

from __future__ import annotations

import contextlib
import glob as _glob
import os
import re
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
from google.protobuf import text_format

from savedmodel_io import fileio
from savedmodel_io.dtypes import DataType, to_tensor
from savedmodel_io.errors import (
    InvalidArgumentError,
    NotFoundError,
    SavedModelIOError,
    UnimplementedError,
)
from savedmodel_io.format.bundle_entry import index_filename, sharded_filename
from savedmodel_io.format.bundle_merge import merge_bundles
from savedmodel_io.format.bundle_writer import BundleWriter
from savedmodel_io.protos import graph_debug_info_pb2, meta_graph_pb2, saver_pb2
from savedmodel_io.train.checkpoint_reader import (
    CheckpointReader,
    checkpoint_exists,
    get_checkpoint_mtimes,
)
from savedmodel_io.train.checkpoint_state import (
    DEFAULT_FILENAME,
    remove_orphans,
    state_path,
    update_checkpoint_state,
)
from savedmodel_io.train.saver_graph import SaveItem, build_meta_graph, saver_scope
from savedmodel_io.train.variable import SaveSliceInfo, Variable, infer_partitions

VarList = Sequence[Variable] | Mapping[str, Any]
_INVALID_OP_CHARS = re.compile(r"[^A-Za-z0-9_.\-/>]")


def meta_graph_filename(checkpoint_filename: str, meta_graph_suffix: str = "meta") -> str:
    """``prefix.meta``, with a ``-00000-of-00001`` shard suffix stripped first (as TF)."""
    base = re.sub(r"-[\d\?]+-of-\d+$", "", checkpoint_filename)
    return f"{base}.{meta_graph_suffix}"


def remove_checkpoint(prefix: str, meta_graph_suffix: str = "meta") -> None:
    """Delete a V2 checkpoint: ``.meta``, ``.index`` (before the data), ``.data-*``."""
    fileio.remove(meta_graph_filename(prefix, meta_graph_suffix))
    fileio.remove(index_filename(prefix))
    for p in fileio.glob(prefix + ".data-?????-of-?????"):
        fileio.remove(p)


def _array_var_name(key: str) -> str:
    """A valid op name for a plain array saved under ``key``."""
    name = _INVALID_OP_CHARS.sub("_", key)
    if not name or not re.match(r"[A-Za-z0-9.]", name):
        name = "v" + name
    return name


class Saver:
    """Saves and restores variables as TF1 V2 checkpoints (see the module docstring)."""

    def __init__(self, var_list: VarList | None = None, reshape: bool = False,
                 sharded: bool = False, max_to_keep: int | None = 5,
                 keep_checkpoint_every_n_hours: float = 10000.0, name: str | None = None,
                 restore_sequentially: bool = False,
                 saver_def: saver_pb2.SaverDef | None = None, builder: Any = None,
                 defer_build: bool = False, allow_empty: bool = False,
                 write_version: int = saver_pb2.SaverDef.V2, pad_step_number: bool = False,
                 save_relative_paths: bool = False, filename: str | None = None, *,
                 clock: Callable[[], float] = time.time) -> None:
        if builder is not None:
            raise UnimplementedError("custom saver builders are not supported")
        if saver_def is not None:
            max_to_keep = saver_def.max_to_keep
            sharded = saver_def.sharded
            keep_checkpoint_every_n_hours = saver_def.keep_checkpoint_every_n_hours
            write_version = saver_def.version
        if write_version != saver_pb2.SaverDef.V2:
            raise UnimplementedError(
                f"only the V2 checkpoint format is written (write_version={write_version})")
        self._reshape = reshape
        self._sharded = bool(sharded)
        self._max_to_keep = int(max_to_keep or 0)
        self._keep_hours = float(keep_checkpoint_every_n_hours)
        self._pad_step_number = pad_step_number
        self._save_relative_paths = save_relative_paths
        self._filename = filename or "model"
        self._clock = clock
        del restore_sequentially, defer_build  # nothing to build lazily, one restore op
        self._variables, self._items, self._plain = self._collect(var_list)
        self._is_empty = not self._items
        if self._is_empty and not allow_empty:
            raise InvalidArgumentError("no variables to save (pass allow_empty=True to allow)")
        self._scope = saver_scope(self._variables, name)
        self._last_checkpoints: list[tuple[str, float]] = []
        self._to_delete: list[tuple[str, float]] = []
        self._next_checkpoint_time = self._clock() + self._keep_hours * 3600

    # ------------------------------------------------------------ variables

    @staticmethod
    def _collect(var_list: VarList | None
                 ) -> tuple[list[Variable], list[SaveItem], dict[str, tuple[Variable, Any]]]:
        if var_list is None:
            raise InvalidArgumentError(
                "var_list is required: there is no graph to take global variables from")
        variables: list[Variable] = []
        groups: dict[str, list[tuple[Variable, SaveSliceInfo | None]]] = {}
        plain: dict[str, tuple[Variable, Any]] = {}

        def add_var(key: str, v: Variable, info: SaveSliceInfo | None) -> None:
            if any(v is seen for seen in variables):
                raise InvalidArgumentError(f"variable {v.name!r} appears twice in var_list")
            variables.append(v)
            groups.setdefault(key, []).append((v, info))

        if isinstance(var_list, Mapping):
            for key, value in var_list.items():
                if not isinstance(key, str):
                    raise InvalidArgumentError(f"var_list keys are names, got {key!r}")
                if isinstance(value, Variable):
                    i = value.save_slice_info
                    add_var(key, value, None if i is None else SaveSliceInfo(
                        key, i.full_shape, i.var_offset, i.var_shape))
                elif isinstance(value, (list, tuple)) and value and all(
                        isinstance(p, Variable) for p in value):
                    for p, inf in zip(value, infer_partitions(key, value), strict=True):
                        add_var(key, p, SaveSliceInfo(key, inf.full_shape, inf.var_offset,
                                                      inf.var_shape))
                else:
                    v = Variable(_array_var_name(key), value)
                    plain[key] = (v, value)
                    add_var(key, v, None)
        else:
            for v in var_list:
                if not isinstance(v, Variable):
                    raise InvalidArgumentError(
                        f"var_list items are Variables, got {type(v).__name__}; use a dict "
                        "to save plain arrays")
                vi = v.save_slice_info
                add_var(vi.full_name if vi is not None else v.name, v, vi)
        names = [v.name for v in variables]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise InvalidArgumentError(f"several variables are named {sorted(dup)}")
        items: list[SaveItem] = []
        for key in sorted(groups, key=lambda k: k.encode("utf-8")):
            members = groups[key]
            if len(members) > 1 and any(info is None for _, info in members):
                raise InvalidArgumentError(
                    f"several variables are saved under the key {key!r}")
            members.sort(key=lambda m: m[1].var_offset if m[1] is not None else ())
            for v, info in members:
                items.append(SaveItem(key, v, info))
        return variables, items, plain

    @property
    def variables(self) -> list[Variable]:
        return list(self._variables)

    # ------------------------------------------------------------ checkpoints list

    @property
    def last_checkpoints(self) -> list[str]:
        """Checkpoints not yet deleted, oldest first."""
        return [p for p, _ in self._last_checkpoints]

    def set_last_checkpoints(self, last_checkpoints: Sequence[str]) -> None:
        """(Deprecated in TF) set the list without times: they are never kept forever."""
        self._last_checkpoints = [(str(p), float("inf")) for p in last_checkpoints]

    def set_last_checkpoints_with_time(
            self, last_checkpoints_with_time: Sequence[tuple[str, float]]) -> None:
        self._last_checkpoints = [(str(p), float(t)) for p, t in last_checkpoints_with_time]

    def recover_last_checkpoints(self, checkpoint_paths: Sequence[str]) -> None:
        """Take over existing checkpoints (their index mtime as time), e.g. after a restart."""
        found = []
        for p in checkpoint_paths:
            mtimes = get_checkpoint_mtimes([p])
            if mtimes:
                found.append((p, mtimes[0]))
        self.set_last_checkpoints_with_time(found)

    def _record(self, path: str) -> None:
        if not self._max_to_keep:
            return
        self._last_checkpoints = [e for e in self._last_checkpoints if e[0] != path]
        self._last_checkpoints.append((path, self._clock()))
        if len(self._last_checkpoints) > self._max_to_keep:
            self._to_delete.append(self._last_checkpoints.pop(0))

    def _maybe_delete_old(self, meta_graph_suffix: str) -> None:
        if not self._to_delete:
            return
        path, t = self._to_delete.pop(0)
        if t > self._next_checkpoint_time:
            self._next_checkpoint_time += self._keep_hours * 3600
            return
        with contextlib.suppress(OSError):
            remove_checkpoint(path, meta_graph_suffix)

    # ------------------------------------------------------------ save

    def _step_path(self, save_path: str, global_step: Any) -> str:
        if global_step is None:
            return save_path
        step = global_step.value if isinstance(global_step, Variable) else global_step
        try:
            n = int(np.asarray(step).reshape(()))
        except (TypeError, ValueError):
            raise InvalidArgumentError(f"global_step must be an integer, got {step!r}") from None
        return f"{save_path}-{n:08d}" if self._pad_step_number else f"{save_path}-{n}"

    def save(self, save_path: str | os.PathLike[str], global_step: Any = None,
             latest_filename: str | None = None, meta_graph_suffix: str = "meta",
             write_meta_graph: bool = True, write_state: bool = True,
             strip_default_attrs: bool = False, save_debug_info: bool = False) -> str | None:
        """Write a checkpoint; return its prefix (None for an empty Saver)."""
        save_path = os.fspath(save_path)
        latest_filename = latest_filename or DEFAULT_FILENAME
        if os.path.split(latest_filename)[0]:
            raise InvalidArgumentError("'latest_filename' must not contain path components")
        prefix = self._step_path(save_path, global_step)
        if global_step is None and os.path.basename(save_path) == latest_filename and \
                not self._sharded:
            raise InvalidArgumentError(
                f"'latest_filename' collides with 'save_path': '{latest_filename}' and "
                f"'{save_path}'")
        parent = fileio.dirname(save_path)
        if parent and not fileio.is_dir_or_prefix(parent):
            raise InvalidArgumentError(
                f"Parent directory of {save_path} doesn't exist, can't save.")
        existed = not self._is_empty and checkpoint_exists(prefix)
        listed = (list(self._last_checkpoints), list(self._to_delete))
        try:
            if not self._is_empty:
                for v, original in self._plain.values():  # plain arrays: today's values
                    v.assign(original)
                self._clean_leftovers(prefix, parent, latest_filename, meta_graph_suffix)
                self._write_bundle(prefix)
            if write_meta_graph:
                self.export_meta_graph(meta_graph_filename(prefix, meta_graph_suffix),
                                       strip_default_attrs=strip_default_attrs,
                                       save_debug_info=save_debug_info)
            if self._is_empty:
                return None
            if write_state:
                self._record(prefix)
                update_checkpoint_state(parent, prefix, self.last_checkpoints,
                                        latest_filename,
                                        save_relative_paths=self._save_relative_paths)
        except BaseException:
            # A failed save (a full disk...) must not leave a checkpoint the state file does
            # not list, nor pieces of one; an existing checkpoint of the same name is kept.
            self._last_checkpoints, self._to_delete = listed
            if not existed and not self._is_empty:
                with contextlib.suppress(SavedModelIOError):
                    remove_checkpoint(prefix, meta_graph_suffix)
            raise
        if write_state:
            self._maybe_delete_old(meta_graph_suffix)
        return prefix

    def _clean_leftovers(self, prefix: str, parent: str, latest_filename: str,
                         meta_graph_suffix: str) -> None:
        """Remove temporary files an interrupted save of ``prefix`` left behind."""
        for target in (index_filename(prefix), prefix + ".data-?????-of-?????",
                       meta_graph_filename(prefix, meta_graph_suffix),
                       state_path(parent, latest_filename)):
            d, base = fileio.split(target)
            pattern = _glob.escape(base).replace("[?]", "?") + fileio.TEMP_MARKER + "*"
            for p in fileio.glob(fileio.join(d, pattern)):
                with contextlib.suppress(SavedModelIOError):
                    fileio.remove(p)
        tmp_dir = fileio.dirname(self._temp_prefix(prefix))
        if self._sharded and fileio.is_dir(tmp_dir) and tmp_dir != (parent or "."):
            for p in fileio.glob(fileio.join(tmp_dir, "part-*")):
                with contextlib.suppress(SavedModelIOError):
                    fileio.remove(p)
            fileio.remove_dir(tmp_dir)
        remove_orphans(prefix)

    @staticmethod
    def _temp_prefix(prefix: str) -> str:
        return prefix + (".part" if re.match(r"^s3://.*", prefix) else "_temp/part")

    def _write_bundle(self, prefix: str) -> None:
        # Remote stores have no rename: there even a sharded save writes its one shard in
        # place (the same bytes a one-shard merge makes).
        sharded = self._sharded and not fileio.is_remote(prefix)
        target = sharded_filename(self._temp_prefix(prefix), 0, 1) if sharded else prefix
        with BundleWriter(target) as w:
            for item in self._items:
                info = item.info
                if info is not None:
                    w.add_slice(item.key, info.full_shape, info.tensor_slice,
                                item.var.value, item.var.dtype)
                else:
                    w.add(item.key, item.var.value, item.var.dtype)
        if sharded:
            merge_bundles([target], prefix, delete_old_dirs=True)

    # ------------------------------------------------------------ restore

    def restore(self, save_path: str | os.PathLike[str] | None) -> dict[str, np.ndarray]:
        """Fill the variables from a checkpoint, all or nothing.

        Every tensor is read and checked (dtype, shape) before any variable changes.
        Returns the values of the plain-array entries of a dict ``var_list`` (arrays that
        are writeable numpy arrays of the right dtype and shape are also filled in place).
        """
        if save_path is None:
            raise InvalidArgumentError("Can't load save_path when it is None.")
        if self._is_empty:
            return {}
        path = os.fspath(save_path)
        if not checkpoint_exists(path):
            raise NotFoundError("the passed save_path is not a valid checkpoint", path=path)
        values: list[np.ndarray] = []
        with CheckpointReader(path) as reader:
            dtypes_map = reader.get_variable_to_dtype_map()
            shapes_map = reader.get_variable_to_shape_map()
            for item in self._items:
                values.append(self._read_item(reader, item, dtypes_map, shapes_map))
        for item, value in zip(self._items, values, strict=True):
            item.var.value = value
        out: dict[str, np.ndarray] = {}
        for key, (v, original) in self._plain.items():
            out[key] = v.value
            if isinstance(original, np.ndarray) and original.flags.writeable and \
                    original.dtype == v.value.dtype and original.shape == v.value.shape:
                np.copyto(original, v.value)
        return out

    def _read_item(self, reader: CheckpointReader, item: SaveItem,
                   dtypes_map: Mapping[str, DataType],
                   shapes_map: Mapping[str, list[int]]) -> np.ndarray:
        v, key = item.var, item.key
        where = reader.prefix
        if key not in dtypes_map:
            raise NotFoundError(
                f"variable {v.name!r}: key {key!r} not found in checkpoint", path=where,
                key=key)
        dt = dtypes_map[key]
        if dt != v.dtype:
            raise InvalidArgumentError(
                f"variable {v.name!r} has dtype {v.dtype.name}, the checkpoint holds "
                f"{dt.name}", path=where, key=key)
        stored = tuple(shapes_map[key])
        info = item.info
        if info is not None:
            if stored != tuple(info.full_shape):
                raise InvalidArgumentError(
                    f"partitioned variable {info.full_name!r} has full shape "
                    f"{list(info.full_shape)}, the checkpoint holds {list(stored)}",
                    path=where, key=key)
            value = reader.get_slice(key, info.tensor_slice)
        else:
            if stored != v.shape:
                if not (self._reshape and int(np.prod(stored)) == int(np.prod(v.shape))):
                    raise InvalidArgumentError(
                        f"variable {v.name!r} has shape {list(v.shape)}, the checkpoint "
                        f"holds {list(stored)}", path=where, key=key)
            value = reader.get_tensor(key)
        arr, _ = to_tensor(value, v.dtype)
        return np.array(arr.reshape(v.shape), copy=True)

    # ------------------------------------------------------------ meta graph

    def as_saver_def(self) -> saver_pb2.SaverDef:
        s = self._scope
        return saver_pb2.SaverDef(
            filename_tensor_name=f"{s}/Const:0",
            save_tensor_name=f"{s}/Identity:0" if self._sharded
            else f"{s}/control_dependency:0",
            restore_op_name=f"{s}/restore_all", max_to_keep=self._max_to_keep,
            sharded=self._sharded, keep_checkpoint_every_n_hours=self._keep_hours,
            version=saver_pb2.SaverDef.V2)

    def meta_graph(self, *, strip_default_attrs: bool = False,
                   clear_devices: bool = False) -> meta_graph_pb2.MetaGraphDef:
        """The MetaGraphDef TF's Saver would export for these variables."""
        return build_meta_graph(self._variables, self._items, sharded=self._sharded,
                                filename=self._filename, scope=self._scope,
                                max_to_keep=self._max_to_keep,
                                keep_checkpoint_every_n_hours=self._keep_hours,
                                strip_defaults=strip_default_attrs,
                                clear_devices=clear_devices)

    def export_meta_graph(self, filename: str | os.PathLike[str] | None = None,
                          collection_list: Sequence[str] | None = None, as_text: bool = False,
                          export_scope: str | None = None, clear_devices: bool = False,
                          clear_extraneous_savers: bool = False,
                          strip_default_attrs: bool = False, save_debug_info: bool = False
                          ) -> meta_graph_pb2.MetaGraphDef:
        """Build the MetaGraphDef and, given ``filename``, write it (binary or text)."""
        if export_scope:
            raise UnimplementedError("export_scope is not supported")
        del clear_extraneous_savers  # there is only ever this saver
        mg = self.meta_graph(strip_default_attrs=strip_default_attrs,
                             clear_devices=clear_devices)
        if collection_list is not None:
            for k in list(mg.collection_def):
                if k not in collection_list:
                    del mg.collection_def[k]
        if filename is not None:
            fn = os.fspath(filename)
            data = text_format.MessageToString(mg).encode("utf-8") if as_text else \
                mg.SerializeToString(deterministic=True)
            fileio.atomic_write_bytes(fn, data)
            if save_debug_info:
                debug = os.path.splitext(fn)[0] + ".debug"
                fileio.atomic_write_bytes(
                    debug, graph_debug_info_pb2.GraphDebugInfo().SerializeToString())
        return mg


__all__ = ["Saver", "meta_graph_filename", "remove_checkpoint"]
