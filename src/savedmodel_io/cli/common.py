"""Small pieces every subcommand shares: parser set-up, output, one-line errors."""

from __future__ import annotations

import argparse
import json
import re
import sys
import textwrap
from collections.abc import Sequence
from typing import Any, NoReturn

from savedmodel_io import fileio
from savedmodel_io.errors import InvalidArgumentError, NotFoundError, SavedModelIOError

PROG = "savedmodel-cli"


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors are one line on stderr (exit status 2)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def add_command(subparsers: argparse._SubParsersAction,  # type: ignore[type-arg]
                name: str, summary: str, description: str, examples: Sequence[str],
                aliases: Sequence[str] = ()) -> argparse.ArgumentParser:
    """A subcommand parser whose ``--help`` ends with the given example command lines."""
    epilog = "examples:\n" + "\n".join(f"  {e}" for e in examples)
    parser: argparse.ArgumentParser = subparsers.add_parser(
        name, help=summary, description=textwrap.fill(description, 79), epilog=epilog,
        aliases=list(aliases),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    return parser


def write(text: str) -> None:
    sys.stdout.write(text)


def write_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2, ensure_ascii=False, allow_nan=False) + "\n")


def warn(message: str) -> None:
    """A note on stderr that does not stop the command."""
    print(f"{PROG}: note: {message}", file=sys.stderr)


def saved_model_dir(path: str) -> str:
    """``path``, or NotFoundError when no such directory exists."""
    if not fileio.is_dir(path):
        raise NotFoundError("no such directory (expected a SavedModel directory)", path=path)
    return path


def regex(pattern: str, flag: str) -> re.Pattern[str]:
    """A compiled regular expression, or InvalidArgumentError naming the flag."""
    try:
        return re.compile(pattern)
    except re.error as e:
        raise InvalidArgumentError(f"{flag}: bad regular expression {pattern!r}: {e}") from None


def one_line(error: BaseException) -> str:
    """The message of ``error`` on one line, for humans."""
    if isinstance(error, SavedModelIOError):
        text = str(error)
    elif isinstance(error, OSError) and error.strerror:
        text = error.strerror + (f": {error.filename}" if error.filename else "")
    elif isinstance(error, KeyError) and error.args:
        text = f"not found: {error.args[0]}"
    else:
        detail = str(error)
        text = f"{type(error).__name__}: {detail}" if detail else type(error).__name__
    return " ".join(text.split())


__all__ = ["PROG", "Parser", "add_command", "write", "write_json", "warn", "regex", "one_line",
           "saved_model_dir"]
