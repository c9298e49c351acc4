"""``SavedModelBuilder``: TensorFlow 1's ``tf.compat.v1.saved_model.Builder`` without a Session.

Where TensorFlow takes a Session, this takes the :class:`savedmodel_io.graph.Graph`; the
variable values written are the graph variables' current values (``variables=`` overrides
them by name)::

    builder = SavedModelBuilder("/models/half_plus_two/1")
    builder.add_meta_graph_and_variables(
        g, [tag_constants.SERVING],
        signature_def_map={"serving_default": predict_signature_def({"x": x}, {"y": y})},
        assets_collection=g.get_collection("asset_filepaths"), main_op=init_op)
    builder.add_meta_graph([tag_constants.SERVING, tag_constants.GPU])  # shares variables
    builder.save()                       # saved_model.pb, variables/, assets/, fingerprint.pb

The directory is what TensorFlow's builder writes: ``variables/variables.{index,data-*}``
from a sharded V2 Saver (its save/restore subgraph added to the graph, ``save``, then
``save_1``... for later meta graphs), asset files copied to ``assets/`` with AssetFileDefs
in the ``saved_model_assets`` collection, ``main_op`` in ``saved_model_main_op``, and
``saved_model.pb`` (or ``.pbtxt`` with ``as_text=True``), plus ``fingerprint.pb`` as
TensorFlow 2.21 computes it (``tf.saved_model.save`` writes one; TensorFlow's TF1 builder
writes none: ``save(write_fingerprint_file=False)`` gives exactly its directory).

Nothing appears at ``export_dir`` until ``save()`` succeeds: everything is written into a
temporary sibling directory that ``save()`` renames into place. Every argument is checked
before anything is changed, so a bad signature, asset or op leaves the graph and the
builder as they were; a failure while writing discards the temporary directory.
"""

from __future__ import annotations

import contextlib
import os
import weakref
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from google.protobuf import text_format

from savedmodel_io import fileio
from savedmodel_io.dtypes import DataType
from savedmodel_io.errors import (
    AlreadyExistsError,
    FailedPreconditionError,
    InvalidArgumentError,
    NotFoundError,
    PathLike,
    SavedModelIOError,
    UnimplementedError,
)
from savedmodel_io.graph import Graph, GraphVariable, Operation, Tensor
from savedmodel_io.protos import meta_graph_pb2, saved_model_pb2, types_pb2
from savedmodel_io.saved_model import constants
from savedmodel_io.saved_model.assets import AssetFile, copy_assets, plan_assets
from savedmodel_io.saved_model.fingerprint import write_fingerprint
from savedmodel_io.train.saver import Saver
from savedmodel_io.train.variable import Variable

SaverVarList = Sequence[GraphVariable] | Mapping[str, GraphVariable]
VariableValues = Mapping[str, Any] | Sequence[Variable]

_EXISTS_MESSAGE = ("Export directory {} already exists, and isn't empty. Please choose a "
                   "different export directory, or delete all the contents of the specified "
                   "directory.")


def _refuse_existing(export_dir: str) -> None:
    """TensorFlow's rule: the export directory may exist only as an empty directory."""
    if fileio.is_remote(export_dir):
        # Object stores: an "empty directory" is a prefix with nothing under it.
        if fileio.exists(export_dir) and (not fileio.is_dir(export_dir)
                                          or fileio.list_dir(export_dir)):
            raise AlreadyExistsError(_EXISTS_MESSAGE.format(export_dir))
        return
    if not os.path.lexists(export_dir):
        return
    if not os.path.isdir(export_dir):
        raise AlreadyExistsError("the export directory exists and is not a directory",
                                 path=export_dir)
    if fileio.list_dir(export_dir):
        raise AlreadyExistsError(_EXISTS_MESSAGE.format(export_dir))


def _remove_stale_staging(target: str) -> None:
    """Delete staging directories of earlier saves of ``target`` that never finished.

    A process killed mid-save cannot run its own cleanup, so its ``<export_dir>.tempstate<n>``
    directory would stay for good. Only real directories of exactly that name pattern beside
    ``target`` are removed; a builder saving the same export in another process at the same
    moment would lose its staging directory, but two writers of one export fail anyway.
    """
    parent, name = os.path.split(target)
    prefix = name + fileio.TEMP_MARKER
    try:
        names = os.listdir(parent)
    except OSError:
        return  # nothing to clean, or nothing we may list; the save reports real problems
    for n in names:
        path = os.path.join(parent, n)
        if (n.startswith(prefix) and n[len(prefix):].isdigit()
                and os.path.isdir(path) and not os.path.islink(path)):
            # Best effort: a stale directory we cannot delete must not fail this save.
            with contextlib.suppress(SavedModelIOError):
                fileio.remove_tree(path)


def _tags_list(tags: Iterable[str] | str) -> list[str]:
    # TensorFlow iterates `tags`, so "serve" would become five one-letter tags; take a
    # single string as one tag instead.
    out = [tags] if isinstance(tags, str) else list(tags)
    for t in out:
        if not isinstance(t, str):
            raise InvalidArgumentError(f"tags are strings, got {t!r}")
    return out


class SavedModelBuilder:
    """Builds a SavedModel directory (see the module docstring)."""

    def __init__(self, export_dir: PathLike) -> None:
        self._export_dir = os.fspath(export_dir)
        _refuse_existing(self._export_dir)
        self._saved_model = saved_model_pb2.SavedModel(
            saved_model_schema_version=constants.SAVED_MODEL_SCHEMA_VERSION)
        self._has_saved_variables = False
        self._saved: dict[str, tuple[DataType, tuple[int, ...]]] = {}  # key: dtype, shape
        self._copied_assets: set[str] = set()
        self._staging: str | None = None
        self._cleanup: weakref.finalize[Any, Any] | None = None
        self._done: str | None = None  # why the builder takes no more calls
        self._last_graph: Graph | None = None

    @property
    def export_dir(self) -> str:
        return self._export_dir

    # ------------------------------------------------------------ staging directory

    def _stage(self) -> str:
        if self._staging is None and fileio.is_remote(self._export_dir):
            # No directory rename on remote stores: write in place; saved_model.pb,
            # written last by save(), is what makes it a SavedModel.
            fileio.make_dirs(self._export_dir)
            self._staging = self._export_dir
            self._cleanup = weakref.finalize(self, fileio.remove_tree, self._export_dir)
        if self._staging is None:
            parent = os.path.dirname(os.path.abspath(self._export_dir))
            fileio.make_dirs(parent)
            _remove_stale_staging(os.path.abspath(self._export_dir))
            staging = fileio.temp_name(os.path.abspath(self._export_dir))
            fileio.make_dir(staging)
            self._staging = staging
            # A builder dropped without save() leaves no temporary directory behind.
            self._cleanup = weakref.finalize(self, fileio.remove_tree, staging)
        return self._staging

    def _discard(self, why: str) -> None:
        self._done = why
        if self._cleanup is not None:
            self._cleanup()
        self._staging = None

    def _check_usable(self) -> None:
        if self._done is not None:
            raise FailedPreconditionError(
                f"this SavedModelBuilder {self._done}; make a new one", path=self._export_dir)

    # ------------------------------------------------------------ validation

    def _validate_tensor_info(self, graph: Graph, info: meta_graph_pb2.TensorInfo,
                              where: str) -> None:
        encoding = info.WhichOneof("encoding")
        if encoding is None:
            raise InvalidArgumentError(
                f"{where}: invalid TensorInfo: all TensorInfo protos used in the "
                "SignatureDefs must have one of the 'encoding' fields (e.g., name or "
                "coo_sparse) set.")
        if encoding == "composite_tensor":
            for i, component in enumerate(info.composite_tensor.components):
                self._validate_tensor_info(graph, component, f"{where} component {i}")
            return
        if info.dtype == types_pb2.DT_INVALID:
            raise InvalidArgumentError(
                f"{where}: invalid TensorInfo: all TensorInfo protos used in the "
                "SignatureDefs must have the dtype field set.")
        if encoding == "name":
            names = [info.name]
        else:
            sp = info.coo_sparse
            names = [sp.values_tensor_name, sp.indices_tensor_name, sp.dense_shape_tensor_name]
        for name in names:
            try:
                graph.get_tensor_by_name(name)
            except (NotFoundError, InvalidArgumentError):
                raise InvalidArgumentError(
                    f"{where} names tensor {name!r}, which is not in the graph") from None

    def _validated_signatures(self, graph: Graph, signature_def_map: Mapping[str, Any] | None
                              ) -> dict[str, meta_graph_pb2.SignatureDef]:
        out: dict[str, meta_graph_pb2.SignatureDef] = {}
        for key, sig in (signature_def_map or {}).items():
            if not isinstance(key, str):
                raise InvalidArgumentError(f"signature keys are strings, got {key!r}")
            if not isinstance(sig, meta_graph_pb2.SignatureDef):
                raise InvalidArgumentError(
                    f"signature {key!r} must be a SignatureDef (see signature_def_utils), "
                    f"got {type(sig).__name__}")
            for kind, infos in (("input", sig.inputs), ("output", sig.outputs)):
                for name in infos:
                    self._validate_tensor_info(graph, infos[name],
                                               f"signature {key!r} {kind} {name!r}")
            copy = meta_graph_pb2.SignatureDef()
            copy.CopyFrom(sig)
            out[key] = copy
        for reserved, what in ((constants.INIT_OP_SIGNATURE_KEY, "initialization"),
                               (constants.TRAIN_OP_SIGNATURE_KEY, "the train op")):
            if reserved in out:
                raise InvalidArgumentError(
                    f'SignatureDef map key "{reserved}" is reserved for {what}. Please use a '
                    "different key.")
        return out

    @staticmethod
    def _check_graph(graph: Any) -> Graph:
        if not isinstance(graph, Graph):
            raise InvalidArgumentError(
                f"expected a savedmodel_io.graph.Graph (where TensorFlow takes a Session), "
                f"got {type(graph).__name__}")
        return graph

    @staticmethod
    def _check_main_op(graph: Graph, main_op: Any) -> Operation | None:
        if main_op is None:
            return None
        if not isinstance(main_op, Operation):
            raise InvalidArgumentError(
                f"Expected {main_op!r} to be an Operation but got type {type(main_op)} "
                "instead.")
        if main_op.graph is not graph:
            raise InvalidArgumentError(f"main_op {main_op.name!r} is from another graph")
        for key in (constants.MAIN_OP_KEY, constants.LEGACY_INIT_OP_KEY):
            if graph.get_collection(key):
                raise InvalidArgumentError(
                    f"Graph already contains one or more main ops under the collection {key}.")
        return main_op

    @staticmethod
    def _check_assets(graph: Graph, assets: Iterable[Any] | None) -> list[AssetFile]:
        assets = list(assets or ())
        for t in assets:
            if isinstance(t, Tensor) and t.graph is not graph:
                raise InvalidArgumentError(f"asset tensor {t.name!r} is from another graph")
        return plan_assets(assets)

    @staticmethod
    def _check_ops(graph: Graph, allow_custom_ops: bool) -> None:
        if allow_custom_ops:
            return
        unknown = sorted({op.type for op in graph.get_operations() if op.op_def is None})
        if unknown:
            raise InvalidArgumentError(
                f"the graph uses ops that are not in the op registry: {unknown}. TensorFlow "
                "can load the SavedModel only where these ops are registered (a custom op "
                "library); pass allow_custom_ops=True to write it anyway")

    @staticmethod
    def _save_items(graph: Graph, saver: SaverVarList | None) -> list[tuple[str, Variable]]:
        """(checkpoint key, variable) of what the builder's saver saves, sorted by key."""
        from savedmodel_io.graph.saver import save_items
        return [(item.key, item.var) for item in save_items(graph, saver)]

    @staticmethod
    def _with_values(items: list[tuple[str, Variable]], variables: VariableValues | None
                     ) -> dict[str, Variable]:
        """key -> the Variable to write: the graph's, or a copy holding the override."""
        overrides: dict[str, Any] = {}
        if isinstance(variables, Mapping):
            overrides = dict(variables)
        elif variables is not None:
            for v in variables:
                if not isinstance(v, Variable):
                    raise InvalidArgumentError(
                        "variables= is a dict of name -> value or a list of "
                        f"savedmodel_io.train.Variable, got a {type(v).__name__} in the list")
                overrides[v.name] = v.value
        names = {var.name for _, var in items}
        unknown = sorted(set(overrides) - names)
        if unknown:
            raise InvalidArgumentError(
                f"variables= names {unknown}, which the SavedModel does not save (it saves "
                f"{sorted(names)})")
        out: dict[str, Variable] = {}
        for key, var in items:
            if var.name in overrides:
                value = var.check_compatible(overrides[var.name], source="variables=")
                var = Variable(var.name, value, var.trainable, var.resource, dtype=var.dtype,
                               save_slice_info=var.save_slice_info)
            out[key] = var
        return out

    def _check_shares_variables(self, items: list[tuple[str, Variable]]) -> None:
        """A later meta graph restores from the variables already written: each key must
        be there with the same dtype and shape."""
        for key, var in items:
            saved = self._saved.get(key)
            if saved is None:
                raise InvalidArgumentError(
                    f"variable {var.name!r} (checkpoint key {key!r}) was not saved by "
                    "add_meta_graph_and_variables; later meta graphs share those variables")
            want = (var.save_slice_info.full_shape if var.save_slice_info is not None
                    else var.shape)
            if saved != (var.dtype, tuple(want)):
                raise InvalidArgumentError(
                    f"variable {var.name!r} (checkpoint key {key!r}) is {var.dtype.name} "
                    f"{list(want)}, the saved variables hold {saved[0].name} {list(saved[1])}")

    # ------------------------------------------------------------ adding meta graphs

    def _export(self, graph: Graph, tags: list[str],
                signatures: dict[str, meta_graph_pb2.SignatureDef], plan: list[AssetFile],
                main_op: Operation | None, has_variables: bool, saver: SaverVarList | None,
                clear_devices: bool, strip_default_attrs: bool) -> None:
        """Record assets and main op in the graph's collections, copy the asset files,
        add a sharded saver and append the tagged MetaGraphDef (TensorFlow's order)."""
        for asset in plan:
            graph.add_to_collection(constants.ASSETS_KEY, asset.to_any())
        if main_op is not None:
            graph.add_to_collection(constants.MAIN_OP_KEY, main_op)
        copy_assets(plan, self._stage(), self._copied_assets)
        saver_def = graph.add_saver(sharded=True, var_list=saver) if has_variables else None
        # TensorFlow exports through Saver.export_meta_graph, which hands over the C++
        # GraphDef: control inputs sorted, and with clear_devices a copy of the GraphDef
        # whose (empty) function library is set.
        meta = graph.export_meta_graph(saver_def=saver_def, clear_devices=clear_devices,
                                       strip_default_attrs=strip_default_attrs,
                                       sort_control_inputs=True)
        if clear_devices:
            meta.graph_def.library.SetInParent()
        meta.meta_info_def.tags.extend(tags)
        for key, sig in signatures.items():
            meta.signature_def[key].CopyFrom(sig)
        self._saved_model.meta_graphs.add().CopyFrom(meta)
        self._last_graph = graph

    def add_meta_graph_and_variables(
            self, graph: Graph, tags: Iterable[str] | str,
            signature_def_map: Mapping[str, meta_graph_pb2.SignatureDef] | None = None,
            assets_collection: Iterable[Tensor] | None = None,
            legacy_init_op: Operation | None = None, clear_devices: bool = False,
            main_op: Operation | None = None, strip_default_attrs: bool = False,
            saver: SaverVarList | None = None, *, variables: VariableValues | None = None,
            allow_custom_ops: bool = False) -> None:
        """Write the variables and add ``graph`` as the first MetaGraphDef, tagged ``tags``.

        ``assets_collection``: scalar string Const tensors holding file paths.
        ``main_op`` (or the older ``legacy_init_op``): the Operation to run after restoring.
        ``saver``: what to save, as ``tf.compat.v1.train.Saver``'s ``var_list`` (a list of
        GraphVariables or a dict key -> GraphVariable); default: every global variable.
        ``variables``: values to write instead of the graph variables' current ones, as a
        dict name -> array or a list of ``train.Variable``.
        ``allow_custom_ops``: write a graph with ops outside the registry.
        """
        self._check_usable()
        if self._has_saved_variables:
            raise FailedPreconditionError(
                "Graph state including variables and assets has already been saved. Please "
                "invoke `add_meta_graph()` instead.")
        graph = self._check_graph(graph)
        tag_list = _tags_list(tags)
        signatures = self._validated_signatures(graph, signature_def_map)
        op = self._check_main_op(graph, main_op if main_op is not None else legacy_init_op)
        plan = self._check_assets(graph, assets_collection)
        self._check_ops(graph, allow_custom_ops)
        items = self._save_items(graph, saver)
        to_write = self._with_values(items, variables)
        try:
            staging = self._stage()
            variables_dir = fileio.join(staging, constants.VARIABLES_DIRECTORY)
            fileio.make_dir(variables_dir)
            self._export(graph, tag_list, signatures, plan, op, bool(items), saver,
                         clear_devices, strip_default_attrs)
            if to_write:
                prefix = fileio.join(variables_dir, constants.VARIABLES_FILENAME)
                Saver(to_write, sharded=True, allow_empty=True).save(
                    prefix, write_meta_graph=False, write_state=False)
        except BaseException:
            self._discard("failed while writing (nothing was left behind)")
            raise
        self._saved = {key: (v.dtype, tuple(v.save_slice_info.full_shape
                                            if v.save_slice_info is not None else v.shape))
                       for key, v in to_write.items()}
        self._has_saved_variables = True

    def add_meta_graph(
            self, tags: Iterable[str] | str,
            signature_def_map: Mapping[str, meta_graph_pb2.SignatureDef] | None = None,
            assets_collection: Iterable[Tensor] | None = None,
            legacy_init_op: Operation | None = None, clear_devices: bool = False,
            main_op: Operation | None = None, strip_default_attrs: bool = False,
            saver: SaverVarList | None = None, *, graph: Graph | None = None,
            allow_custom_ops: bool = False) -> None:
        """Add another MetaGraphDef, tagged ``tags``, restoring the variables already saved.

        ``graph`` defaults to the graph of the previous call (TensorFlow uses the default
        graph). In the same graph the main op and asset collections are already there:
        pass ``main_op`` again only for a new graph (TensorFlow refuses a second one).
        """
        self._check_usable()
        if not self._has_saved_variables:
            raise FailedPreconditionError(
                "Graph state including variables and assets has not been saved yet. Please "
                "invoke `add_meta_graph_and_variables()` first.")
        graph = self._check_graph(graph if graph is not None else self._last_graph)
        tag_list = _tags_list(tags)
        signatures = self._validated_signatures(graph, signature_def_map)
        op = self._check_main_op(graph, main_op if main_op is not None else legacy_init_op)
        plan = self._check_assets(graph, assets_collection)
        self._check_ops(graph, allow_custom_ops)
        items = self._save_items(graph, saver)
        self._check_shares_variables(items)
        try:
            self._export(graph, tag_list, signatures, plan, op, bool(items), saver,
                         clear_devices, strip_default_attrs)
        except BaseException:
            self._discard("failed while writing (nothing was left behind)")
            raise

    # ------------------------------------------------------------ save

    def save(self, as_text: bool = False, experimental_image_format: bool = False,
             experimental_image_writer_options: Any = None, *,
             write_fingerprint_file: bool = True) -> str:
        """Write ``saved_model.pb`` (``saved_model.pbtxt`` with ``as_text``) and
        ``fingerprint.pb`` (binary only; ``write_fingerprint_file=False`` skips it), then
        move the directory to ``export_dir``.

        Returns the path of the SavedModel file. The builder is finished afterwards.
        """
        self._check_usable()
        del experimental_image_writer_options  # only meaningful for the chunked format
        if experimental_image_format:
            raise UnimplementedError("the chunked SavedModel format (saved_model.cpb) is not "
                                     "written")
        try:
            staging = self._stage()
            if as_text:
                name = constants.SAVED_MODEL_FILENAME_PBTXT
                # str(proto) in TensorFlow: text format, Any payloads left as bytes.
                data = text_format.MessageToString(self._saved_model).encode("utf-8")
            else:
                name = constants.SAVED_MODEL_FILENAME_PB
                data = self._saved_model.SerializeToString(deterministic=True)
            fileio.atomic_write_bytes(fileio.join(staging, name), data)
            if not as_text and write_fingerprint_file:
                write_fingerprint(staging)
            if staging != self._export_dir:  # remote exports were written in place
                self._publish(staging)
        except BaseException:
            self._discard("failed while saving (nothing was left behind)")
            raise
        self._done = "has saved its SavedModel"
        if self._cleanup is not None:
            self._cleanup.detach()
        self._staging = None
        return fileio.join(self._export_dir, name)

    def _publish(self, staging: str) -> None:
        _refuse_existing(self._export_dir)
        target = os.path.abspath(self._export_dir)
        try:
            # rename(2) replaces an empty directory and refuses a non-empty one.
            os.rename(staging, target)
        except OSError as e:
            if os.path.isdir(target) and fileio.list_dir(target):
                raise AlreadyExistsError(_EXISTS_MESSAGE.format(self._export_dir)) from None
            raise fileio.os_error(e, staging, f"rename to {target}") from e
        fileio.fsync_dir(os.path.dirname(os.path.abspath(target)))

    @property
    def saved_model(self) -> saved_model_pb2.SavedModel:
        """The SavedModel proto built so far (a copy)."""
        out = saved_model_pb2.SavedModel()
        out.CopyFrom(self._saved_model)
        return out


Builder = SavedModelBuilder  # tf.compat.v1.saved_model.Builder


__all__ = ["SavedModelBuilder", "Builder"]
