"""Weights between checkpoints and ``.safetensors`` / ``.npz`` files.

Export names are either the checkpoint keys or, for TF2 checkpoints and SavedModels, the
object paths (``model/dense/kernel`` for ``model/dense/kernel/.ATTRIBUTES/VARIABLE_VALUE``,
TensorFlow's escaping kept so the key can be rebuilt), or the variables' own names
(``full``). A ``.safetensors`` file also records name -> key in its metadata, so importing
it rebuilds the exact keys.

``.safetensors`` files are written with the ``safetensors`` package (the ``safetensors``
extra) and read here directly (its numpy loader has no float8). ``.npz`` files are written
one array at a time, as ``numpy.savez`` lays them out.
"""

from __future__ import annotations

import base64
import json
import mmap
import os
import re
import struct
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from savedmodel_io import dtypes, fileio
from savedmodel_io.dtypes import DataType
from savedmodel_io.errors import (
    DataLossError,
    FailedPreconditionError,
    InvalidArgumentError,
    NotFoundError,
)
from savedmodel_io.saved_model import loader
from savedmodel_io.train import object_graph
from savedmodel_io.train.checkpoint_reader import (
    OBJECT_GRAPH_KEY,
    CheckpointReader,
    load_checkpoint,
)

KEYS_METADATA = "savedmodel_io.keys"
"""safetensors metadata entry: JSON object of tensor name -> checkpoint key."""
OBJECT_GRAPH_METADATA = "savedmodel_io.object_graph"
"""safetensors metadata entry: base64 of the TF2 checkpoint's serialized object graph, which
``tf.train.Checkpoint.restore`` needs; importing writes it back."""

NAMINGS = ("auto", "path", "key", "full")

# safetensors' dtype codes for the numpy dtypes it can hold.
SAFETENSORS_CODES = {
    "bool": "BOOL", "int8": "I8", "uint8": "U8", "int16": "I16", "uint16": "U16",
    "int32": "I32", "uint32": "U32", "int64": "I64", "uint64": "U64", "float16": "F16",
    "float32": "F32", "float64": "F64", "bfloat16": "BF16", "float8_e4m3fn": "F8_E4M3",
    "float8_e5m2": "F8_E5M2", "float8_e4m3fnuz": "F8_E4M3FNUZ",
    "float8_e5m2fnuz": "F8_E5M2FNUZ", "complex64": "C64",
}
_FROM_SAFETENSORS = {code: name for name, code in SAFETENSORS_CODES.items()}
MAX_SAFETENSORS_HEADER = 100 * 1024 * 1024  # the limit safetensors itself enforces


# ------------------------------------------------------------------ sources


def is_weights_file(path: str) -> bool:
    return path.endswith((".safetensors", ".npz"))


def open_checkpoint(path: str) -> CheckpointReader:
    """The checkpoint at ``path``: a SavedModel directory (its variables), a checkpoint
    directory (its latest checkpoint) or a checkpoint prefix."""
    if fileio.is_dir(path) and loader.contains_saved_model(path):
        prefix = loader.variables_path(path)
        if not fileio.exists(prefix + ".index"):
            raise NotFoundError("this SavedModel has no variables (no variables/variables"
                                ".index)", path=path)
        return CheckpointReader(prefix, mmap=True)
    return load_checkpoint(path, mmap=True)


def export_names(reader: CheckpointReader, naming: str) -> dict[str, str]:
    """Checkpoint key -> export name, for every key worth exporting (not the object graph)."""
    keys = [k for k in reader if k != OBJECT_GRAPH_KEY]
    has_graph = OBJECT_GRAPH_KEY in reader
    if naming == "auto":
        naming = "path" if has_graph else "key"
    if naming == "key":
        return {k: k for k in keys}
    if not has_graph:
        raise InvalidArgumentError(
            f"--names {naming} needs a TF2 (object-based) checkpoint; this one has no object "
            "graph: use --names key", path=reader.prefix)
    view = object_graph.ObjectGraphView(reader)
    to_path = view.keys_to_paths()
    if naming == "path":
        return {k: to_path.get(k, k) for k in keys}
    if naming == "full":
        full: dict[str, str] = {}
        for k in keys:
            name = view.full_name(to_path[k]) if k in to_path else ""
            full[k] = name or k
        return full
    raise InvalidArgumentError(f"unknown naming {naming!r} (choose from {', '.join(NAMINGS)})")


def _unsupported(dtype: DataType, fmt: str) -> str | None:
    """Why a tensor of ``dtype`` cannot go into ``fmt``, or None if it can."""
    if dtype in (DataType.DT_STRING, DataType.DT_VARIANT, DataType.DT_RESOURCE):
        return f"{dtypes.python_name(dtype)} tensors are not arrays of numbers"
    npd = dtypes.as_numpy_dtype(dtype)
    if fmt == "safetensors":
        if npd.name not in SAFETENSORS_CODES:
            return f"safetensors has no {dtypes.python_name(dtype)} type"
        return None
    if not _npz_readable(npd):
        return f"numpy cannot read {dtypes.python_name(dtype)} back from .npz"
    return None


def _npz_readable(npd: np.dtype) -> bool:
    """Whether np.load gives this dtype back (ml_dtypes' types come back as void)."""
    try:
        descr = np.lib.format.dtype_to_descr(npd)
        return bool(np.lib.format.descr_to_dtype(descr) == npd) and npd.kind != "O"
    except (TypeError, ValueError):
        return False


@dataclass
class ExportPlan:
    """What an export writes: name -> key in output order, and what it leaves out."""

    names: dict[str, str] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)  # key -> reason
    nbytes: int = 0


def plan_export(reader: CheckpointReader, naming: str, fmt: str,
                exclude: re.Pattern[str] | None = None) -> ExportPlan:
    """What to write: names that ``exclude`` matches are left out silently, tensors the
    format cannot hold and repeated names with a reason."""
    plan = ExportPlan()
    types = reader.get_variable_to_dtype_map()
    shapes = reader.get_variable_to_shape_map()
    names = export_names(reader, naming)
    for key in sorted(names, key=lambda k: names[k]):
        name = names[key]
        if exclude is not None and exclude.search(name):
            continue
        reason = _unsupported(types[key], fmt)
        if reason is None and name in plan.names:
            reason = f"its name {name!r} is taken by {plan.names[name]!r}"
        if reason is not None:
            plan.skipped[key] = reason
            continue
        plan.names[name] = key
        size = dtypes.itemsize(types[key]) or 0
        plan.nbytes += size * int(np.prod(shapes[key], dtype=np.int64))
    return plan


# ------------------------------------------------------------------ writing


def export_metadata(reader: CheckpointReader, plan: ExportPlan) -> dict[str, str]:
    """safetensors metadata: renamed keys, and the TF2 object graph when there is one."""
    meta = {}
    renamed = {n: k for n, k in plan.names.items() if n != k}
    if renamed:
        meta[KEYS_METADATA] = json.dumps(renamed)
    if OBJECT_GRAPH_KEY in reader:
        raw = reader[OBJECT_GRAPH_KEY].reshape(-1)
        if raw.size == 1 and isinstance(raw[0], bytes):
            meta[OBJECT_GRAPH_METADATA] = base64.b64encode(raw[0]).decode("ascii")
    return meta


def recorded_object_graph(weights: WeightsFile) -> bytes | None:
    """The object graph an export recorded, or None."""
    text = weights.metadata.get(OBJECT_GRAPH_METADATA)
    if text is None:
        return None
    try:
        return base64.b64decode(text, validate=True)
    except ValueError:
        raise DataLossError(f"metadata {OBJECT_GRAPH_METADATA!r} is not base64") from None


def _contiguous(value: np.ndarray) -> np.ndarray:
    # Not np.ascontiguousarray: it turns scalars into shape (1,).
    return value if value.flags.c_contiguous else value.copy(order="C")


def write_npz(path: str, arrays: Iterator[tuple[str, np.ndarray]]) -> None:
    """An ``.npz`` (uncompressed, as ``numpy.savez``) written one array at a time."""
    with fileio.atomic_open(path) as f, zipfile.ZipFile(f, "w", allowZip64=True) as zf:
        for name, value in arrays:
            with zf.open(name + ".npy", "w", force_zip64=True) as member:
                np.lib.format.write_array(member, _contiguous(value), allow_pickle=False)


def write_safetensors(path: str, arrays: Mapping[str, np.ndarray],
                      metadata: Mapping[str, str]) -> None:
    """A ``.safetensors`` file, written by the safetensors package."""
    try:
        from safetensors.numpy import save_file
    except ImportError:
        raise FailedPreconditionError(
            "writing .safetensors needs the safetensors package: "
            "pip install 'savedmodel_io[safetensors]'") from None
    tmp = fileio.temp_name(path)
    try:
        save_file({k: _contiguous(v) for k, v in arrays.items()}, tmp,
                  metadata=dict(metadata))
        fileio.rename(tmp, path)
    finally:
        fileio.remove(tmp)


# ------------------------------------------------------------------ reading


@dataclass
class WeightsFile:
    """Arrays read from a ``.safetensors`` or ``.npz`` file, and its metadata."""

    arrays: dict[str, np.ndarray]
    metadata: dict[str, str]
    _closer: Any = None

    def close(self) -> None:
        self.arrays.clear()
        if self._closer is not None:
            closer, self._closer = self._closer, None
            try:
                closer.close()
            except BufferError:  # arrays still in use elsewhere: the map goes with them
                pass

    def __enter__(self) -> WeightsFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_safetensors(path: str) -> WeightsFile:
    """Parse a ``.safetensors`` file (memory-mapped; arrays are views of it)."""
    try:
        f = open(path, "rb")  # noqa: SIM115 - kept open by the map
    except OSError as e:
        raise fileio.os_error(e, path, "open") from e
    with f:
        size = os.fstat(f.fileno()).st_size
        if size < 8:
            raise DataLossError("too short for a safetensors file", path=path)
        mapped = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    try:
        (n,) = struct.unpack("<Q", mapped[:8])
        if n > min(MAX_SAFETENSORS_HEADER, size - 8):
            raise DataLossError(f"header length {n} does not fit the file ({size} bytes)",
                                path=path)
        try:
            header = json.loads(bytes(mapped[8:8 + n]))
        except ValueError as e:
            raise DataLossError(f"header is not JSON: {e}", path=path) from None
        if not isinstance(header, dict):
            raise DataLossError("header is not a JSON object", path=path)
        meta = header.pop("__metadata__", None) or {}
        if not isinstance(meta, dict) or not all(isinstance(v, str) for v in meta.values()):
            raise DataLossError("__metadata__ must map strings to strings", path=path)
        arrays = {name: _safetensors_array(mapped, 8 + n, size, name, info, path)
                  for name, info in header.items()}
    except BaseException:
        try:
            mapped.close()
        except BufferError:
            pass
        raise
    return WeightsFile(arrays, dict(meta), mapped)


def _safetensors_array(mapped: mmap.mmap, base: int, size: int, name: str, info: Any,
                       path: str) -> np.ndarray:
    try:
        code, shape, (start, end) = info["dtype"], info["shape"], info["data_offsets"]
        shape = tuple(int(d) for d in shape)
        start, end = int(start), int(end)
    except (KeyError, TypeError, ValueError):
        raise DataLossError("malformed tensor entry in the header", path=path,
                            key=name) from None
    if code not in _FROM_SAFETENSORS:
        raise DataLossError(f"dtype {code!r} is not supported here", path=path, key=name)
    npd = dtypes.as_numpy_dtype(dtypes.to_datatype(_FROM_SAFETENSORS[code]))
    count = int(np.prod(shape, dtype=np.int64))
    if any(d < 0 for d in shape) or not 0 <= start <= end <= size - base or (
            end - start != count * npd.itemsize):
        raise DataLossError(f"data offsets {start}..{end} do not fit shape {list(shape)} of "
                            f"{code} in a file of {size} bytes", path=path, key=name)
    return np.frombuffer(mapped, dtype=npd, count=count, offset=base + start).reshape(shape)


def read_npz(path: str) -> WeightsFile:
    try:
        archive = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise NotFoundError("no such file", path=path) from None
    except (OSError, ValueError, zipfile.BadZipFile) as e:
        raise DataLossError(f"not a readable .npz file: {e}", path=path) from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise DataLossError("a .npy file, not an .npz archive", path=path)
    try:
        arrays = {name: archive[name] for name in archive.files}
    except ValueError as e:  # object arrays need pickle, which is refused
        raise DataLossError(f"cannot read an array: {e}", path=path) from None
    finally:
        archive.close()
    return WeightsFile(arrays, {})


def read_weights(path: str) -> WeightsFile:
    if path.endswith(".safetensors"):
        return read_safetensors(path)
    if path.endswith(".npz"):
        return read_npz(path)
    raise InvalidArgumentError("expected a .safetensors or .npz file", path=path)


def import_keys(weights: WeightsFile, naming: str) -> dict[str, str]:
    """Tensor name -> checkpoint key for writing ``weights`` as a checkpoint."""
    if naming == "full":
        raise InvalidArgumentError("--names full cannot be turned back into keys: use "
                                   "auto, path or key")
    recorded: dict[str, str] = {}
    if naming == "auto" and KEYS_METADATA in weights.metadata:
        try:
            loaded = json.loads(weights.metadata[KEYS_METADATA])
        except ValueError:
            loaded = None
        if not isinstance(loaded, dict):
            raise DataLossError(f"metadata {KEYS_METADATA!r} is not a JSON object")
        recorded = {str(k): str(v) for k, v in loaded.items()}
    out = {}
    for name in weights.arrays:
        if naming == "path":
            out[name] = object_graph.path_to_key(name)
        else:
            out[name] = recorded.get(name, name)
    if len(set(out.values())) != len(out):
        raise InvalidArgumentError("two tensors map to the same checkpoint key")
    return out


__all__ = ["NAMINGS", "KEYS_METADATA", "OBJECT_GRAPH_METADATA", "export_metadata",
           "recorded_object_graph", "ExportPlan", "WeightsFile", "is_weights_file",
           "open_checkpoint", "export_names", "plan_export", "write_npz", "write_safetensors",
           "read_safetensors", "read_npz", "read_weights", "import_keys"]
