"""``savedmodel-cli run``: run a SignatureDef of a SavedModel with numpy, print its outputs.

Same options and output as TensorFlow's ``saved_model_cli run``; inputs come from files
(``--inputs``), expressions (``--input_exprs``, evaluated safely: no ``eval``) or
tf.Example dictionaries (``--input_examples``).
"""

from __future__ import annotations

import argparse
import io
import os
from typing import Any

import numpy as np

from savedmodel_io import fileio
from savedmodel_io.errors import AlreadyExistsError, InvalidArgumentError

EXAMPLES = """\
examples:
  savedmodel-cli run --dir /models/half_plus_two/00000123 --tag_set serve \\
      --signature_def serving_default --input_exprs 'x=[[1.0],[2.0]]'
  savedmodel-cli run --dir D --tag_set serve --signature_def serving_default \\
      --inputs 'x=inputs.npy;y=batch.npz[y]' --outdir /tmp/out --overwrite
  savedmodel-cli run --dir D --tag_set serve --signature_def serving_default \\
      --input_exprs 'x=np.ones((2,784), dtype=np.float32)'
  savedmodel-cli run --dir D --tag_set serve --signature_def regress_x_to_y \\
      --input_examples 'inputs=[{"x":[1.0]},{"x":[3.0]}]'

--input_exprs accepts Python literals, arithmetic, and the numpy constructors
np.array/asarray/zeros/ones/full/empty/arange/linspace/eye/identity/*_like and
np.random.rand/randn/uniform/normal/randint/random, with .reshape/.astype/.T;
nothing else is evaluated. Pickle files are refused unless --allow_pickle is given.
"""


def add_parser(subparsers: Any) -> None:
    """Register the ``run`` subcommand on an ``argparse`` subparsers object."""
    p = subparsers.add_parser(
        "run", help="run a SignatureDef of a SavedModel (numpy, no TensorFlow) and print "
                    "its outputs",
        description="Run a SignatureDef of a SavedModel with numpy kernels and print each "
                    "output, as TensorFlow's saved_model_cli run does.",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dir", required=True, help="SavedModel directory")
    p.add_argument("--tag_set", required=True,
                   help="tags of the MetaGraphDef to load, comma-separated (e.g. serve)")
    p.add_argument("--signature_def", required=True, metavar="SIGNATURE_DEF_KEY",
                   help="key of the SignatureDef to run (e.g. serving_default)")
    p.add_argument("--inputs", default="",
                   help="'key=file.npy;key2=file.npz[name]': inputs read from numpy files")
    p.add_argument("--input_exprs", default="",
                   help="'key=[[1],[2]];key2=np.ones((2,1))': inputs from safe expressions")
    p.add_argument("--input_examples", default="",
                   help="'key=[{\"feature\":[1.0]}]': lists of dicts, each made into a "
                        "serialized tf.Example")
    p.add_argument("--outdir", default=None,
                   help="also save each output as <outdir>/<output key>.npy")
    p.add_argument("--overwrite", action="store_true",
                   help="overwrite existing files in --outdir")
    p.add_argument("--allow_pickle", action="store_true",
                   help="allow --inputs files that hold pickled objects (they can run code: "
                        "only for files you trust)")
    p.set_defaults(func=main)


def _tags(tag_set: str) -> list[str]:
    tags = [t for t in tag_set.split(",") if t.strip()]
    if not tags:
        raise InvalidArgumentError("--tag_set must name at least one tag (e.g. serve)")
    return [t.strip() for t in tags]


def _output_path(outdir: str, key: str) -> str:
    if not key or key in (".", "..") or "/" in key or "\\" in key or "\x00" in key:
        raise InvalidArgumentError(
            f"output key {key!r} cannot be used as a file name in --outdir")
    return os.path.join(outdir, key + ".npy")


def _save(path: str, value: np.ndarray, overwrite: bool) -> None:
    if not overwrite and os.path.exists(path):
        raise AlreadyExistsError(f'Output file {path} already exists. Add "--overwrite" to '
                                 "overwrite the existing output files.")
    buf = io.BytesIO()
    np.save(buf, value, allow_pickle=value.dtype == object)
    fileio.atomic_write_bytes(path, buf.getvalue())


def main(args: argparse.Namespace) -> int:
    """Run the signature and print ``Result for output key <k>:`` then each array."""
    from savedmodel_io.runtime.inputs import load_inputs
    from savedmodel_io.saved_model import load

    if not (args.inputs or args.input_exprs or args.input_examples):
        raise InvalidArgumentError(
            "At least one of --inputs, --input_exprs or --input_examples must be required")
    feeds = load_inputs(args.inputs, args.input_exprs, args.input_examples,
                        allow_pickle=bool(getattr(args, "allow_pickle", False)))
    loaded = load(args.dir, _tags(args.tag_set))
    if args.signature_def not in loaded.signatures:
        raise InvalidArgumentError(
            f"the MetaGraphDef has no SignatureDef {args.signature_def!r}; it has "
            f"{', '.join(loaded.signatures) or 'none'}")
    outputs = loaded.signatures[args.signature_def](**feeds)
    if args.outdir:
        fileio.make_dirs(args.outdir)
    for key in sorted(outputs):
        value = outputs[key]
        print(f"Result for output key {key}:\n{value}")
        if args.outdir:
            path = _output_path(args.outdir, key)
            _save(path, value, bool(args.overwrite))
            print(f"Output {key} is saved to {path}")
    return 0


__all__ = ["add_parser", "main"]
