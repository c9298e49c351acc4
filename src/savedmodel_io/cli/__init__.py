"""``savedmodel-cli`` (also ``python -m savedmodel_io``).

The subcommands (show, scan, inspect, run, weight export) arrive with the CLI issue; for
now the program prints its help and version.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from savedmodel_io import __version__

DESCRIPTION = (
    "Inspect TensorFlow checkpoints and SavedModels without TensorFlow. "
    "Subcommands (show, scan, inspect, run, export-weights) are not available yet."
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="savedmodel-cli", description=DESCRIPTION)
    parser.add_argument("--version", action="version", version=f"savedmodel_io {__version__}")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = list(sys.argv[1:] if argv is None else argv)
    if not args:
        parser.print_help()
        return 0
    parser.parse_args(args)
    return 0


__all__ = ["main", "build_parser"]
