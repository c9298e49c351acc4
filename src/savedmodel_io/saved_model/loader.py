"""Read a SavedModel directory (TensorFlow's ``saved_model.loader`` without a Session).

::

    loaded = load("/models/half_plus_two/00000123", ["serve"])
    sig = loaded.signatures["serving_default"]
    loaded.variables["a"]                  # numpy array, read when asked
    loaded.asset_paths                     # {"Const:0": "/models/.../assets/foo.txt"}

``load`` picks the MetaGraphDef whose tag *set* equals ``tags`` and gathers what running it
needs: signatures, the variables checkpoint, asset paths and the init op's name. For TF2
exports it also exposes the object graph (functions, and variables by object path).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping
from functools import cached_property
from typing import TYPE_CHECKING, Any

from google.protobuf import text_format

from savedmodel_io import fileio
from savedmodel_io.errors import (
    DataLossError,
    FailedPreconditionError,
    InvalidArgumentError,
    NotFoundError,
    PathLike,
    UnimplementedError,
)
from savedmodel_io.protos import (
    fingerprint_pb2,
    meta_graph_pb2,
    saved_model_pb2,
    saved_object_graph_pb2,
    trackable_object_graph_pb2,
)
from savedmodel_io.protos._pool import POOL
from savedmodel_io.saved_model import constants, object_graph
from savedmodel_io.saved_model.asset_paths import get_asset_paths

if TYPE_CHECKING:
    from savedmodel_io.train.checkpoint_reader import CheckpointReader

MAX_SAVED_MODEL_BYTES = (1 << 31) - 1
"""Largest ``saved_model.pb``/``.pbtxt`` we read: protobuf's own 2 GiB message limit."""

MAX_FINGERPRINT_BYTES = 1 << 20

Tags = Iterable[str] | str | None


def _join(export_dir: PathLike, *names: str) -> str:
    return fileio.join(os.fspath(export_dir), *names)


def variables_path(export_dir: PathLike) -> str:
    """The checkpoint prefix of a SavedModel's variables: ``<export_dir>/variables/variables``."""
    return _join(export_dir, constants.VARIABLES_DIRECTORY, constants.VARIABLES_FILENAME)


def contains_saved_model(export_dir: PathLike) -> bool:
    """Whether ``export_dir`` has a ``saved_model.pb``, ``.pbtxt`` or ``.cpb`` file (nothing
    is parsed: ``True`` does not promise the model loads)."""
    return any(fileio.exists(_join(export_dir, name)) for name in (
        constants.SAVED_MODEL_FILENAME_PBTXT, constants.SAVED_MODEL_FILENAME_PB,
        constants.SAVED_MODEL_FILENAME_CPB))


maybe_saved_model_directory = contains_saved_model  # TensorFlow's older name


def saved_model_file(export_dir: PathLike) -> str:
    """The file ``parse_saved_model`` reads: ``saved_model.pb``, else ``saved_model.pbtxt``."""
    for name in (constants.SAVED_MODEL_FILENAME_PB, constants.SAVED_MODEL_FILENAME_PBTXT):
        candidate = _join(export_dir, name)
        if fileio.exists(candidate):
            return candidate
    cpb = _join(export_dir, constants.SAVED_MODEL_FILENAME_CPB)
    if fileio.exists(cpb):
        raise UnimplementedError(
            "chunked SavedModels (saved_model.cpb, written with "
            "experimental_image_format=True) are not supported", path=cpb)
    raise NotFoundError(
        f"SavedModel file does not exist at: {os.fspath(export_dir)}{os.path.sep}"
        f"{{{constants.SAVED_MODEL_FILENAME_PBTXT}|{constants.SAVED_MODEL_FILENAME_PB}}}")


def parse_saved_model(export_dir: PathLike, *, max_bytes: int = MAX_SAVED_MODEL_BYTES
                      ) -> saved_model_pb2.SavedModel:
    """The SavedModel proto of ``export_dir`` (``saved_model.pb`` first, then ``.pbtxt``).

    Neither file: NotFoundError with TensorFlow's message; unparsable: DataLossError naming
    the file; larger than ``max_bytes``: ResourceExhaustedError.
    """
    return _read_saved_model(export_dir, max_bytes)[0]


def _read_saved_model(export_dir: PathLike, max_bytes: int = MAX_SAVED_MODEL_BYTES
                      ) -> tuple[saved_model_pb2.SavedModel, str]:
    path = saved_model_file(export_dir)
    data = fileio.read_bytes(path, limit=max_bytes)
    saved_model = saved_model_pb2.SavedModel()
    if path.endswith(constants.SAVED_MODEL_FILENAME_PB):
        try:
            saved_model.ParseFromString(data)
        except Exception as e:  # DecodeError, or worse from a hostile file
            raise DataLossError(f"cannot parse as a SavedModel proto: {e}",
                                path=path) from None
    else:
        try:
            text_format.Parse(data.decode("utf-8"), saved_model, descriptor_pool=POOL)
        except Exception as e:  # ParseError, UnicodeDecodeError
            raise DataLossError(f"cannot parse as a text SavedModel proto: {e}",
                                path=path) from None
    return saved_model, path


def _tag_set_repr(tags: Iterable[str]) -> str:
    s = sorted(set(tags))
    return "{" + ", ".join(repr(t) for t in s) + "}" if s else "set()"


def _tags_arg_repr(tags: Iterable[str]) -> str:
    if isinstance(tags, (set, frozenset)):
        return _tag_set_repr(tags)
    return str(tags).strip("[]")


def select_meta_graph(saved_model: saved_model_pb2.SavedModel, tags: Tags
                      ) -> meta_graph_pb2.MetaGraphDef:
    """The first MetaGraphDef whose tag set equals ``tags`` (a single string is one tag).

    ``tags=None`` accepts a SavedModel with exactly one MetaGraphDef, as
    ``tf.saved_model.load`` does.
    """
    metas = saved_model.meta_graphs
    if tags is None:
        if len(metas) != 1:
            tag_sets = [list(m.meta_info_def.tags) for m in metas]
            raise InvalidArgumentError(
                "Importing a SavedModel with `tf.saved_model.load` requires a `tags=` "
                "argument if there is more than one MetaGraph. Got `tags=None`, but there "
                f"are {len(metas)} MetaGraphs in the SavedModel with tag sets: {tag_sets}. "
                "Pass a `tags=` argument to load this SavedModel.")
        return metas[0]
    if isinstance(tags, str):
        tags = [tags]
    wanted = set(tags)
    for meta in metas:
        if set(meta.meta_info_def.tags) == wanted:
            return meta
    available = "[" + ", ".join(_tag_set_repr(m.meta_info_def.tags) for m in metas) + "]"
    raise NotFoundError(
        f"MetaGraphDef associated with tags {_tags_arg_repr(tags)} could not be found in "
        f"SavedModel, with available tags '{available}'. To inspect available tag-sets in "
        "the SavedModel, please use the SavedModel CLI: `saved_model_cli`.")


def get_saved_model_tag_sets(export_dir: PathLike) -> list[list[str]]:
    """The tags of every MetaGraphDef, in stored order (``saved_model_utils``' helper)."""
    return [list(m.meta_info_def.tags) for m in parse_saved_model(export_dir).meta_graphs]


def get_meta_graph_def(export_dir: PathLike, tag_set: str) -> meta_graph_pb2.MetaGraphDef:
    """``saved_model_cli``'s lookup: ``tag_set`` is comma-separated (``"serve,gpu"``);
    empty pieces are dropped, so ``""`` is the empty tag set."""
    wanted = {t for t in tag_set.split(",") if t}
    valid = []
    for meta in parse_saved_model(export_dir).meta_graphs:
        tags = set(meta.meta_info_def.tags)
        if tags == wanted:
            return meta
        valid.append(",".join(sorted(tags)))
    raise NotFoundError(
        f"MetaGraphDef associated with tag-set {tag_set} could not be found in the "
        f"SavedModel. Please use one of the following tag-sets: {valid}")


def _op_from_signature(meta: meta_graph_pb2.MetaGraphDef, key: str, path: str) -> str | None:
    if key not in meta.signature_def:
        return None
    sig = meta.signature_def[key]
    if key not in sig.outputs or not sig.outputs[key].name:
        raise NotFoundError(
            f'The key "{key}" could not be found in the graph. Please make sure the '
            "SavedModel was created by the internal _SavedModelBuilder. If you are using "
            f'the public API, please make sure the SignatureDef in the SavedModel does not '
            f'contain the key "{key}".', path=path)
    return sig.outputs[key].name


def _op_from_collection(meta: meta_graph_pb2.MetaGraphDef, key: str, path: str) -> str | None:
    if key not in meta.collection_def:
        return None
    ops = list(meta.collection_def[key].node_list.value)
    if len(ops) != 1:
        raise FailedPreconditionError(
            f"Expected exactly one SavedModel init op. Found {len(ops)}: {ops} "
            f"(collection {key!r}).", path=path)
    return ops[0]


def _scoped(name: str | None, import_scope: str | None) -> str | None:
    return f"{import_scope}/{name}" if name and import_scope else name


def get_init_op_name(meta: meta_graph_pb2.MetaGraphDef, import_scope: str | None = None, *,
                     path: str = "") -> str | None:
    """The op to run after restoring: signature ``__saved_model_init_op``, else collection
    ``saved_model_main_op``, else ``legacy_init_op``; ``None`` when there is none."""
    name = (_op_from_signature(meta, constants.INIT_OP_SIGNATURE_KEY, path)
            or _op_from_collection(meta, constants.MAIN_OP_KEY, path)
            or _op_from_collection(meta, constants.LEGACY_INIT_OP_KEY, path))
    return _scoped(name, import_scope)


def get_train_op_name(meta: meta_graph_pb2.MetaGraphDef, import_scope: str | None = None, *,
                      path: str = "") -> str | None:
    """Signature ``__saved_model_train_op``, else collection ``saved_model_train_op``."""
    name = (_op_from_signature(meta, constants.TRAIN_OP_SIGNATURE_KEY, path)
            or _op_from_collection(meta, constants.TRAIN_OP_KEY, path))
    return _scoped(name, import_scope)


class Signature:
    """One signature of a loaded SavedModel: the SignatureDef's fields (``inputs``,
    ``outputs``, ``method_name``, ``defaults``; the proto itself is ``signature_def``), and
    callable with keyword arguments to run it::

        loaded.signatures["serving_default"](x=np.array([[1.0]], np.float32))
        # {"y": array([[2.5]], dtype=float32)}

    Inputs are converted to the signature's dtypes when nothing is lost and checked against
    its shapes; the result maps each output key to a numpy array.
    """

    def __init__(self, owner: LoadedSavedModel, key: str,
                 signature_def: meta_graph_pb2.SignatureDef) -> None:
        self._owner = owner
        self.key = key
        self.signature_def = signature_def

    @property
    def inputs(self) -> Any:
        return self.signature_def.inputs

    @property
    def outputs(self) -> Any:
        return self.signature_def.outputs

    @property
    def method_name(self) -> str:
        return self.signature_def.method_name

    @property
    def defaults(self) -> Any:
        return self.signature_def.defaults

    def __getattr__(self, name: str) -> Any:
        # The rest of the proto's read API (HasField, ListFields, SerializeToString...).
        if name.startswith("_") or name in ("key", "signature_def"):
            raise AttributeError(name)
        return getattr(self.signature_def, name)

    def __call__(self, /, **inputs: Any) -> dict[str, Any]:
        # The one call from this layer upward: running a signature needs the interpreter
        # (savedmodel_io.runtime sits above saved_model/), imported only when one is run.
        from savedmodel_io.runtime import call_signature

        return call_signature(self._owner, self.key, inputs)

    def __repr__(self) -> str:
        ins = ", ".join(sorted(self.signature_def.inputs))
        outs = ", ".join(sorted(self.signature_def.outputs))
        return f"<Signature {self.key!r} ({ins}) -> ({outs})>"


class SignatureMap(Mapping[str, Signature]):
    """The signatures of a loaded MetaGraphDef by key (sorted), as :class:`Signature`."""

    def __init__(self, owner: LoadedSavedModel) -> None:
        defs = owner.meta_graph_def.signature_def
        self._items = {k: Signature(owner, k, defs[k]) for k in sorted(defs)}

    def __getitem__(self, key: str) -> Signature:
        return self._items[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"SignatureMap({list(self._items)})"


class LoadedSavedModel:
    """One MetaGraphDef of a SavedModel and what running it needs.

    Attributes: ``export_dir`` (absolute), ``saved_model``, ``meta_graph_def``, ``tags``,
    ``signatures`` (key -> :class:`Signature`: the SignatureDef's fields, and callable to run
    it; including ``__saved_model_init_op`` when present),
    ``asset_paths`` (tensor name -> absolute path), ``init_op_name``, ``train_op_name``,
    ``object_graph``; lazily: ``variables``, ``fingerprint``.
    """

    def __init__(self, export_dir: PathLike, saved_model: saved_model_pb2.SavedModel,
                 meta_graph_def: meta_graph_pb2.MetaGraphDef,
                 import_scope: str | None = None, *, source: str = "") -> None:
        self.export_dir = fileio.abspath(os.fspath(export_dir))
        self.saved_model = saved_model
        self.meta_graph_def = meta_graph_def
        self.import_scope = import_scope
        self.source = source
        self.tags: list[str] = list(meta_graph_def.meta_info_def.tags)
        self.signatures = SignatureMap(self)
        self.asset_paths: dict[str, str] = get_asset_paths(
            self.export_dir, meta_graph_def, import_scope, path=source)
        self.init_op_name = get_init_op_name(meta_graph_def, import_scope, path=source)
        self.train_op_name = get_train_op_name(meta_graph_def, import_scope, path=source)
        self.object_graph: saved_object_graph_pb2.SavedObjectGraph | None = (
            meta_graph_def.object_graph_def if meta_graph_def.HasField("object_graph_def")
            else None)

    def __repr__(self) -> str:
        return (f"LoadedSavedModel({self.export_dir!r}, tags={self.tags}, "
                f"signatures={list(self.signatures)})")

    @property
    def variables_prefix(self) -> str:
        return variables_path(self.export_dir)

    @cached_property
    def variables(self) -> CheckpointReader | None:
        """The variables checkpoint (a lazy reader), or ``None`` when the SavedModel has
        none (no ``variables/variables.index``)."""
        from savedmodel_io.format.bundle_entry import index_filename
        from savedmodel_io.train.checkpoint_reader import CheckpointReader

        prefix = self.variables_prefix
        if not fileio.exists(index_filename(prefix)):
            return None
        return CheckpointReader(prefix)

    @cached_property
    def fingerprint(self) -> fingerprint_pb2.FingerprintDef | None:
        """``fingerprint.pb`` (TF2 exports), or ``None`` when absent."""
        path = _join(self.export_dir, constants.FINGERPRINT_FILENAME)
        if not fileio.exists(path):
            return None
        data = fileio.read_bytes(path, limit=MAX_FINGERPRINT_BYTES)
        fp = fingerprint_pb2.FingerprintDef()
        try:
            fp.ParseFromString(data)
        except Exception as e:  # DecodeError
            raise DataLossError(f"cannot parse as a FingerprintDef: {e}", path=path) from None
        return fp

    # ------------------------------------------------------------ TF2 object graph

    def _require_object_graph(self) -> saved_object_graph_pb2.SavedObjectGraph:
        if self.object_graph is None:
            raise NotFoundError("this MetaGraphDef has no object graph (it is a TF1 "
                                "SavedModel)", path=self.source)
        return self.object_graph

    @property
    def concrete_functions(self) -> dict[str, saved_object_graph_pb2.SavedConcreteFunction]:
        """Function-library name -> SavedConcreteFunction (empty for TF1 SavedModels)."""
        if self.object_graph is None:
            return {}
        return object_graph.concrete_functions(self.object_graph)

    @property
    def functions(self) -> dict[str, saved_object_graph_pb2.SavedFunction]:
        """Object path -> SavedFunction (empty for TF1 SavedModels)."""
        if self.object_graph is None:
            return {}
        return object_graph.functions(self.object_graph)

    def checkpoint_object_graph(self) -> trackable_object_graph_pb2.TrackableObjectGraph | None:
        """The variables checkpoint's ``_CHECKPOINTABLE_OBJECT_GRAPH``, or ``None``."""
        reader = self.variables
        if reader is None or constants.OBJECT_GRAPH_PROTO_KEY not in reader:
            return None
        value = reader[constants.OBJECT_GRAPH_PROTO_KEY]
        graph = trackable_object_graph_pb2.TrackableObjectGraph()
        try:
            raw = value.reshape(()).item() if value.size == 1 else None
            if not isinstance(raw, bytes):
                raise ValueError(f"expected one string, found dtype {value.dtype} shape "
                                 f"{value.shape}")
            graph.ParseFromString(raw)
        except Exception as e:
            raise DataLossError(f"cannot parse the checkpoint's object graph: {e}",
                                path=reader.prefix,
                                key=constants.OBJECT_GRAPH_PROTO_KEY) from None
        return graph

    def variables_by_path(self) -> dict[str, str]:
        """Object path of each variable (``model/dense/kernel``) -> its checkpoint key."""
        graph = self._require_object_graph()
        return object_graph.variables_by_path(graph, self.checkpoint_object_graph())


def load(export_dir: PathLike, tags: Tags, import_scope: str | None = None
         ) -> LoadedSavedModel:
    """Load the MetaGraphDef of ``export_dir`` whose tag set equals ``tags``.

    Raises NotFoundError (no SavedModel file, no such tag set), DataLossError (corrupt
    file), InvalidArgumentError (asset names escaping the assets directory, ...).
    """
    saved_model, source = _read_saved_model(export_dir)
    meta = select_meta_graph(saved_model, tags)
    return LoadedSavedModel(export_dir, saved_model, meta, import_scope, source=source)


__all__ = [
    "LoadedSavedModel",
    "Signature",
    "SignatureMap",
    "load",
    "parse_saved_model",
    "contains_saved_model",
    "maybe_saved_model_directory",
    "saved_model_file",
    "select_meta_graph",
    "get_meta_graph_def",
    "get_saved_model_tag_sets",
    "get_init_op_name",
    "get_train_op_name",
    "variables_path",
    "MAX_SAVED_MODEL_BYTES",
]
