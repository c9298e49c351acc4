"""``savedmodel-cli`` (also ``python -m savedmodel_io``): TensorFlow's ``saved_model_cli`` and
``inspect_checkpoint`` without TensorFlow, plus weight export.

Every subcommand is a module of this package with two functions::

    def add_parser(subparsers: argparse._SubParsersAction) -> None   # adds its parser(s)
    def main(args: argparse.Namespace) -> int                         # runs it

The dispatcher imports the modules in :data:`SUBCOMMANDS`, lets each add its parsers, and
routes a parsed command to the ``main`` of the module that added it. A module that does
not exist is skipped; one that fails to import leaves a stand-in command that says why.
Errors end the program with status 1 and one line on stderr; ``--debug`` adds the
traceback. Usage errors end it with status 2.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import textwrap
import traceback
from collections.abc import Sequence
from types import ModuleType

from savedmodel_io import __version__
from savedmodel_io.cli.common import PROG, Parser, one_line

SUBCOMMANDS = ("show", "run", "scan", "inspect_checkpoint", "export_weights")
"""Modules (under ``savedmodel_io.cli``) that provide the subcommands, in help order."""

DESCRIPTION = (
    "Inspect TensorFlow SavedModels and checkpoints without TensorFlow: the commands of "
    "saved_model_cli (show, scan, run) and inspect_checkpoint (inspect), with the same "
    "output, plus export-weights (to and from .safetensors/.npz).")

EXAMPLES = """\
examples:
  savedmodel-cli show --dir /models/half_plus_two/00000123 --all
  savedmodel-cli scan --dir /models/half_plus_two/00000123
  savedmodel-cli inspect --file_name /tmp/train/model.ckpt-1000 --all_tensor_names
  savedmodel-cli export-weights --input /tmp/train --output weights.safetensors
  savedmodel-cli <command> --help     (each command's options and examples)"""


def _add_debug(parser: argparse.ArgumentParser, *, top: bool = False) -> None:
    try:
        # Below the top level the default is SUPPRESS so it does not undo a --debug given
        # before the command name.
        parser.add_argument("--debug", action="store_true",
                            default=False if top else argparse.SUPPRESS,
                            help="on errors, print the traceback too")
    except argparse.ArgumentError:  # the module defined its own --debug
        pass


def _import(name: str) -> ModuleType | str | None:
    """The subcommand module; None if it does not exist, the reason if it is broken."""
    full = f"{__name__}.{name}"
    try:
        return importlib.import_module(full)
    except ModuleNotFoundError as e:
        if e.name == full:
            return None
        return one_line(e)
    except Exception as e:  # a broken module must not take the other commands down
        return one_line(e)


def _broken_command(subparsers: argparse._SubParsersAction,  # type: ignore[type-arg]
                    name: str, reason: str) -> None:
    command = name.replace("_", "-")
    parser = subparsers.add_parser(command, help=f"(unavailable: {reason})")
    parser.add_argument("rest", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)

    def unavailable(args: argparse.Namespace) -> int:
        raise RuntimeError(f"the {command} command is unavailable here: {reason}")

    parser.set_defaults(_main=unavailable, _command=command, _any_arguments=True)


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog=PROG, description=textwrap.fill(DESCRIPTION, 79), epilog=EXAMPLES,
                    formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"savedmodel_io {__version__}")
    _add_debug(parser, top=True)
    subparsers = parser.add_subparsers(title="commands", metavar="<command>")
    for name in SUBCOMMANDS:
        module = _import(name)
        if module is None:
            continue
        if isinstance(module, str):
            _broken_command(subparsers, name, module)
            continue
        before = set(subparsers.choices)
        module.add_parser(subparsers)
        for command in set(subparsers.choices) - before:
            sub = subparsers.choices[command]
            if sub.get_default("_main") is None:
                sub.set_defaults(_main=module.main, _command=command)
            _add_debug(sub)
    return parser


def _run(args: argparse.Namespace) -> int:
    code = args._main(args)
    sys.stdout.flush()
    return int(code or 0)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the program with ``argv`` (default ``sys.argv[1:]``); return the exit status."""
    parser = build_parser()
    arguments = list(sys.argv[1:] if argv is None else argv)
    args, extra = parser.parse_known_args(arguments)
    if extra and not getattr(args, "_any_arguments", False):
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if getattr(args, "_main", None) is None:
        parser.print_help()
        return 0
    try:
        return _run(args)
    except BrokenPipeError:
        # The reader went away (| head): stop quietly, and keep Python from complaining
        # about the unflushable stdout on exit.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except Exception as e:
        if getattr(args, "debug", False):
            traceback.print_exc()
        print(f"{PROG} {args._command}: error: {one_line(e)}", file=sys.stderr)
        return 1


__all__ = ["main", "build_parser", "SUBCOMMANDS"]
