"""The text of TensorFlow's ``inspect_checkpoint``, and the same facts as JSON.

* The plain listing is the reader's debug string: for a V2 bundle every index entry in key
  order (the slices of partitioned tensors under their raw binary keys, with bytes that are
  not UTF-8 dropped), for a legacy V1 checkpoint every tensor in the order of TensorFlow's
  hash map (:mod:`savedmodel_io.cli.hash_order`), partitioned ones with ``, <n> slices``.
* ``tensor: <key> (<dtype>) <shape>`` lines, values as numpy prints them.
* ``# Total number of params: N``.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from savedmodel_io import dtypes, fileio
from savedmodel_io.cli import common
from savedmodel_io.cli.hash_order import unordered_map_order
from savedmodel_io.dtypes import DataType
from savedmodel_io.format.bundle_reader import BundleReader
from savedmodel_io.format.legacy_v1 import V1Reader

NOT_CONVERTIBLE = "<not convertible to a numpy dtype>"


def shape_debug(shape: Sequence[int] | None) -> str:
    """TensorShape's debug form: ``[2,3]``, ``[]`` for scalars, ``<unknown>``."""
    if shape is None:
        return "<unknown>"
    return "[" + ",".join("?" if d < 0 else str(d) for d in shape) + "]"


def _entry_line(name: str, dtype: DataType, shape: Sequence[int]) -> str:
    return f"{name} ({dtype.name}) {shape_debug(shape)}\n"


def debug_string_v2(prefix: str) -> str:
    with BundleReader(prefix, verify_checksums=False) as bundle:
        lines = [_entry_line(key.decode("utf-8", "ignore"), e.dtype, e.shape)
                 for key, e in bundle.entries(include_slices=True) if not e.slices]
    return "".join(lines)


def tf_file_order(files: list[str]) -> list[str]:
    """The files of a V1 pattern in the order TensorFlow opens them: directory order (what
    ``readdir`` returns), not sorted. It decides which tensors its map gets first."""
    dirs = {os.path.dirname(f) for f in files}
    if len(files) < 2 or len(dirs) != 1 or any(fileio.is_url(f) for f in files):
        return files
    try:
        # os.listdir, not fileio.list_dir: the unsorted order is the point.
        listing = os.listdir(dirs.pop() or ".")
    except OSError:
        return files
    rank = {name: i for i, name in enumerate(listing)}
    return sorted(files, key=lambda f: rank.get(os.path.basename(f), len(rank)))


def debug_string_v1(pattern: str) -> str:
    reader = V1Reader(pattern, files=tf_file_order(fileio.glob(pattern)))
    try:
        tensors = list(reader.tensors.values())
    finally:
        reader.close()
    order = unordered_map_order(t.name.encode("utf-8", "surrogateescape") for t in tensors)
    lines = []
    for i in order:
        t = tensors[i]
        extra = f", {len(t.slices)} slices" if len(t.slices) > 1 else ""
        lines.append(f"{t.name} ({t.dtype.name}) {shape_debug(t.shape)}{extra}\n")
    return "".join(lines)


def tensor_line(name: str, dtype: DataType, shape: Sequence[int]) -> str:
    return f"tensor: {name} ({dtypes.python_name(dtype)}) {list(shape)}\n"


def printable(value: np.ndarray) -> np.ndarray:
    """Quantized types print as plain integers, as TensorFlow's reader returns them."""
    fields = value.dtype.fields
    if fields is not None and len(fields) == 1:
        base = next(iter(fields.values()))[0]
        plain: np.ndarray = value.view(base)
        return plain
    return value


def value_text(value: np.ndarray, dtype: DataType) -> str:
    if dtype in (DataType.DT_VARIANT, DataType.DT_RESOURCE):
        return NOT_CONVERTIBLE + "\n"
    shown = printable(value)
    # TensorFlow hands out scalars as numpy scalars, which print differently from 0-d
    # arrays for some types (bfloat16 1 is "1"); str(), as format() would give "1.0".
    return str(shown[()] if shown.ndim == 0 else shown) + "\n"


def count_params(shapes: Mapping[str, Sequence[int]], exclude_pattern: str = ""
                 ) -> tuple[int, str]:
    """(parameters counted, the "# Excluding ..." line or "") as TensorFlow counts them:
    a scalar is one parameter, the object-graph string too."""
    excluded_tensors = excluded_params = total = 0
    regex = common.regex(exclude_pattern, "--count_exclude_pattern") if exclude_pattern else None
    for key, shape in shapes.items():
        n = int(np.prod(shape, dtype=np.float64))
        if regex is not None and regex.search(key):
            excluded_tensors += 1
            excluded_params += n
        else:
            total += n
    note = (f"# Excluding {excluded_tensors} tensors ({excluded_params} params) that match "
            f"{exclude_pattern} when counting.\n" if regex is not None else "")
    return total, note


# ------------------------------------------------------------------ JSON


def _json_number(x: Any) -> Any:
    if isinstance(x, float) and not np.isfinite(x):
        return repr(x)  # "nan", "inf", "-inf": JSON has no such numbers
    return x


def value_json(value: np.ndarray, dtype: DataType) -> dict[str, Any]:
    """A tensor's value for JSON: nested lists; strings as UTF-8 text, or base64 when not
    text; complex numbers as [real, imag]; non-finite floats as "nan"/"inf"/"-inf"."""
    if dtype in (DataType.DT_VARIANT, DataType.DT_RESOURCE):
        return {"value": None, "note": NOT_CONVERTIBLE}
    value = printable(value)
    if value.dtype.kind == "O":
        items = dtypes.as_bytes_list(value)
        try:
            texts = [b.decode("utf-8") for b in items]
            return {"value": np.array(texts, dtype=object).reshape(value.shape).tolist()}
        except UnicodeDecodeError:
            b64 = [base64.b64encode(b).decode("ascii") for b in items]
            return {"value_base64": np.array(b64, dtype=object).reshape(value.shape).tolist()}
    if value.dtype.kind == "c":
        pairs = np.stack([value.real, value.imag], axis=-1).astype(np.float64)
        return {"value": _finite(pairs.tolist())}
    # tolist() gives Python numbers for every dtype here, ml_dtypes' ones included.
    return {"value": _finite(value.tolist())}


def _finite(x: Any) -> Any:
    if isinstance(x, list):
        return [_finite(v) for v in x]
    return _json_number(x)


__all__ = ["shape_debug", "debug_string_v1", "debug_string_v2", "tensor_line", "value_text",
           "count_params", "value_json", "printable", "NOT_CONVERTIBLE"]
