"""``savedmodel-cli inspect``: TensorFlow's ``inspect_checkpoint`` with the same flags and
output, for V2 bundles and legacy V1 checkpoints.

Differences, on purpose: a failure (unreadable checkpoint) is one line on stderr and exit
status 1 where TensorFlow prints the message and exits 0; a missing ``--tensor_name``
prints TensorFlow's line but exits 1; ``--file_name`` may also be a directory (its latest
checkpoint); tensors TensorFlow cannot read from V1 files (bool, complex, partitioned...)
are printed instead of ending the listing with "Data type not supported".
"""

from __future__ import annotations

import argparse
import contextlib
import re
from typing import Any

import numpy as np

from savedmodel_io import dtypes
from savedmodel_io.cli import common, inspect_format
from savedmodel_io.errors import SavedModelIOError, UnimplementedError
from savedmodel_io.train.checkpoint_reader import CheckpointReader, load_checkpoint

_FILE_SUFFIX = re.compile(r"\.(index|meta|data-\d{5}-of-\d{5})$")


def _bool(text: str) -> bool:
    """absl's boolean flag values: true/t/1 and false/f/0, any case."""
    lowered = text.lower()
    if lowered in ("true", "t", "1"):
        return True
    if lowered in ("false", "f", "0"):
        return False
    raise argparse.ArgumentTypeError(f"Non-boolean argument to boolean flag: {text!r}")


def printoption(text: str) -> tuple[str, Any]:
    """``k=v`` for ``numpy.set_printoptions``, typed like the option's current value."""
    key, sep, raw = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"'{text}' is not in the form k=v.")
    current: dict[str, Any] = dict(np.get_printoptions())
    if key not in current:
        raise argparse.ArgumentTypeError(f"'{key}' is not a valid printoption.")
    kind = type(current[key])
    if current[key] is None:
        raise argparse.ArgumentTypeError(
            f"Setting '{key}' from the command line is not supported.")
    try:
        value = _bool(raw) if kind is bool else kind(raw)
    except ValueError as e:
        raise argparse.ArgumentTypeError(f"{key}: {e}") from None
    return key, value


def add_parser(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = common.add_command(
        subparsers, "inspect", "list or print the tensors of a checkpoint (V1 or V2)",
        "Print the tensors of a checkpoint exactly as TensorFlow's inspect_checkpoint does: "
        "by default the reader's listing and the number of parameters.",
        ["savedmodel-cli inspect --file_name /tmp/train/model.ckpt-1000",
         "savedmodel-cli inspect --file_name /tmp/train --all_tensor_names",
         "savedmodel-cli inspect --file_name /tmp/train/ckpt-3 --tensor_name dense/kernel",
         "savedmodel-cli inspect --file_name /tmp/train/ckpt-3 --all_tensors "
         "--printoptions threshold=100000 precision=3",
         "savedmodel-cli inspect --file_name /tmp/train/ckpt-3 --json"])
    p.add_argument("--file_name", required=True,
                   help="checkpoint prefix (V2: the shared prefix of .index and .data files), "
                        "V1 file or file pattern, or a directory (its latest checkpoint)")
    p.add_argument("--tensor_name", default="", help="print this tensor's value")
    p.add_argument("--all_tensors", nargs="?", const=True, default=False, type=_bool,
                   metavar="BOOL", help="print the names and values of all tensors")
    p.add_argument("--all_tensor_names", nargs="?", const=True, default=False, type=_bool,
                   metavar="BOOL", help="print the names of all tensors")
    p.add_argument("--count_exclude_pattern", default="", metavar="REGEX",
                   help="leave tensors whose names match out of the parameter count")
    p.add_argument("--printoptions", nargs="*", type=printoption, default=[], metavar="K=V",
                   help="numpy.set_printoptions() settings, e.g. threshold=100000")
    p.add_argument("--json", action="store_true", help="print JSON instead of TensorFlow's text")


def _open(file_name: str) -> CheckpointReader:
    try:
        return load_checkpoint(file_name)
    except (SavedModelIOError, OSError) as e:
        m = _FILE_SUFFIX.search(file_name)
        if m is None:
            raise
        prefix = file_name[: m.start()]
        raise type(e)(f"{common.one_line(e)} (a V2 checkpoint is named by its prefix: "
                      f"try --file_name {prefix})") from None


def _value(reader: CheckpointReader, key: str) -> np.ndarray:
    try:
        return reader.get_tensor(key)
    except UnimplementedError:
        return np.array([])


def _text(args: argparse.Namespace, reader: CheckpointReader) -> int:
    shapes = reader.get_variable_to_shape_map()
    types = reader.get_variable_to_dtype_map()
    if args.all_tensors or args.all_tensor_names:
        for key in sorted(shapes):
            common.write(inspect_format.tensor_line(key, types[key], shapes[key]))
            if args.all_tensors:
                common.write(inspect_format.value_text(_value(reader, key), types[key]))
    elif not args.tensor_name:
        listing = (inspect_format.debug_string_v2(reader.prefix) if reader.format_version == 2
                   else inspect_format.debug_string_v1(reader.prefix))
        common.write(listing + "\n")
    else:
        key = args.tensor_name
        if key not in shapes:
            common.write(f"Tensor {key} not found in checkpoint\n")
            return 1
        common.write(inspect_format.tensor_line(key, types[key], shapes[key]))
        common.write(inspect_format.value_text(_value(reader, key), types[key]))
    total, note = inspect_format.count_params(shapes, args.count_exclude_pattern)
    common.write(f"{note}# Total number of params: {total}\n")
    return 0


def _tensor_json(reader: CheckpointReader, key: str, with_value: bool) -> dict[str, Any]:
    dtype = reader.get_variable_to_dtype_map()[key]
    out: dict[str, Any] = {"name": key, "dtype": dtypes.python_name(dtype),
                           "dtype_enum": dtype.name,
                           "shape": reader.get_variable_to_shape_map()[key]}
    if with_value:
        out.update(inspect_format.value_json(_value(reader, key), dtype))
    return out


def _json(args: argparse.Namespace, reader: CheckpointReader) -> int:
    shapes = reader.get_variable_to_shape_map()
    if args.tensor_name:
        if args.tensor_name not in shapes:
            raise SavedModelIOError(f"Tensor {args.tensor_name} not found in checkpoint",
                                    path=reader.prefix)
        keys, values = [args.tensor_name], True
    else:
        keys, values = sorted(shapes), bool(args.all_tensors)
    total, _ = inspect_format.count_params(shapes, args.count_exclude_pattern)
    common.write_json({"file_name": args.file_name, "prefix": reader.prefix,
                       "format": f"V{reader.format_version}",
                       "tensors": [_tensor_json(reader, k, values) for k in keys],
                       "total_params": total})
    return 0


def main(args: argparse.Namespace) -> int:
    if args.count_exclude_pattern:  # a bad pattern fails before anything is printed
        common.regex(args.count_exclude_pattern, "--count_exclude_pattern")
    options = dict(args.printoptions or [])
    with _open(args.file_name) as reader, np.printoptions(**options) if options else (
            contextlib.nullcontext()):
        return _json(args, reader) if args.json else _text(args, reader)
