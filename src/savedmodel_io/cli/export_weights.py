"""``savedmodel-cli export-weights``: a checkpoint's or SavedModel's variables to
``.safetensors``/``.npz``, and back from such a file to a checkpoint.

The direction follows the file names: ``--output x.safetensors`` (or ``.npz``) exports,
``--input x.safetensors`` (or ``.npz``) imports into the checkpoint prefix ``--output``.
(The name is not ``convert``: ``saved_model_cli convert`` is TensorRT conversion.)
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator

import numpy as np

from savedmodel_io import fileio
from savedmodel_io.cli import common, weights_io
from savedmodel_io.cli.progress import Progress, human_size
from savedmodel_io.errors import AlreadyExistsError, InvalidArgumentError
from savedmodel_io.format.bundle_entry import data_filename, index_filename
from savedmodel_io.format.bundle_writer import BundleWriter
from savedmodel_io.train.checkpoint_reader import OBJECT_GRAPH_KEY

MAX_NOTES = 10  # skipped tensors named one by one; the rest are counted


def add_parser(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = common.add_command(
        subparsers, "export-weights",
        "variables of a checkpoint or SavedModel to .safetensors/.npz, and back",
        "Write the variables of a checkpoint (V1 or V2; a prefix or a directory) or of a "
        "SavedModel to a .safetensors or .npz file, named by TF2 object path or by "
        "checkpoint key; or write the arrays of such a file as a checkpoint. String and "
        "other non-numeric tensors are left out (with a note). A .safetensors export of a "
        "TF2 checkpoint keeps its object graph, so the checkpoint written back from it "
        "restores with tf.train.Checkpoint.",
        ["savedmodel-cli export-weights --input /tmp/train --output model.safetensors",
         "savedmodel-cli export-weights --input /models/m/1 --output m.npz --names key",
         "savedmodel-cli export-weights --input /tmp/train/ckpt-3 --output w.safetensors "
         "--exclude OPTIMIZER_SLOT",
         "savedmodel-cli export-weights --input model.safetensors --output /tmp/ckpt/model"])
    p.add_argument("--input", required=True,
                   help="checkpoint prefix or directory, SavedModel directory, or a "
                        ".safetensors/.npz file to import")
    p.add_argument("--output", required=True,
                   help=".safetensors or .npz file to write, or (importing) the prefix of "
                        "the checkpoint to write")
    p.add_argument("--names", choices=weights_io.NAMINGS, default="auto",
                   help="export names: TF2 object paths (path), checkpoint keys (key), "
                        "variable names (full); auto: path for TF2 checkpoints, else key. "
                        "Importing: auto uses the keys recorded in the file, path turns "
                        "object paths back into TF2 keys")
    p.add_argument("--exclude", metavar="REGEX", help="leave out tensors whose name matches")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output")
    p.add_argument("--no-progress", action="store_true", help="never show a progress bar")


def _check_free(paths: list[str], overwrite: bool) -> None:
    for path in paths:
        if not overwrite and fileio.exists(path):
            raise AlreadyExistsError("output exists; pass --overwrite to replace it",
                                     path=path)


def _note_skipped(skipped: dict[str, str]) -> None:
    for key, reason in list(skipped.items())[:MAX_NOTES]:
        common.warn(f"left out {key!r}: {reason}")
    if len(skipped) > MAX_NOTES:
        common.warn(f"left out {len(skipped) - MAX_NOTES} more (not listed)")


def export(args: argparse.Namespace, fmt: str) -> int:
    exclude = common.regex(args.exclude, "--exclude") if args.exclude else None
    _check_free([args.output], args.overwrite)
    with weights_io.open_checkpoint(args.input) as reader:
        plan = weights_io.plan_export(reader, args.names, fmt, exclude)
        _note_skipped(plan.skipped)
        if not plan.names:
            raise InvalidArgumentError("nothing to export: no numeric tensors left",
                                       path=reader.prefix)
        with Progress(plan.nbytes, "export-weights", enabled=not args.no_progress) as bar:
            def arrays() -> Iterator[tuple[str, np.ndarray]]:
                for name, key in plan.names.items():
                    value = reader[key]
                    bar.update(value.nbytes)
                    yield name, value

            if fmt == "npz":
                weights_io.write_npz(args.output, arrays())
            else:
                weights_io.write_safetensors(args.output, dict(arrays()),
                                             weights_io.export_metadata(reader, plan))
    common.write(f"wrote {len(plan.names)} tensors ({human_size(plan.nbytes)}) to "
                 f"{args.output}\n")
    return 0


def import_(args: argparse.Namespace) -> int:
    prefix = args.output
    exclude = common.regex(args.exclude, "--exclude") if args.exclude else None
    _check_free([index_filename(prefix), data_filename(prefix, 0, 1)], args.overwrite)
    with weights_io.read_weights(args.input) as weights:
        keys = weights_io.import_keys(weights, args.names)
        if exclude is not None:
            keys = {n: k for n, k in keys.items() if not exclude.search(n)}
        total = sum(weights.arrays[n].nbytes for n in keys)
        graph = weights_io.recorded_object_graph(weights) if args.names == "auto" else None
        parent = fileio.dirname(prefix)
        if parent:
            fileio.make_dirs(parent)
        with Progress(total, "export-weights", enabled=not args.no_progress) as bar, \
                BundleWriter(prefix) as writer:
            for name in sorted(keys, key=lambda n: keys[n]):
                value = weights.arrays[name]
                writer.add(keys[name], value)
                bar.update(value.nbytes)
            if graph is not None and OBJECT_GRAPH_KEY not in keys.values():
                writer.add(OBJECT_GRAPH_KEY, np.array(graph, dtype=object))
    common.write(f"wrote {len(keys)} tensors ({human_size(total)}) to checkpoint {prefix}\n")
    return 0


def main(args: argparse.Namespace) -> int:
    if weights_io.is_weights_file(args.input):
        return import_(args)
    if args.output.endswith(".safetensors"):
        return export(args, "safetensors")
    if args.output.endswith(".npz"):
        return export(args, "npz")
    raise InvalidArgumentError(
        "cannot tell what to write: --output must end in .safetensors or .npz (export), "
        "or --input must (import into the checkpoint prefix --output)")
