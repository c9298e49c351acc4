"""Comparing CLI text with TensorFlow's where TensorFlow's own order is not reproducible.

TensorFlow prints Python sets (the ops line, scan's op sets) in string-hash order, and
dicts decoded from protobuf maps in an order that changes from process to process. These
helpers put such lines in a canonical order; every other line is compared as it is.
"""

from __future__ import annotations

import ast
import re

_SET_LINE = re.compile(r"^(?P<head>.*?: )(?P<set>\{'.*'\}|set\(\))$")
_DICT_VALUE = re.compile(r"^(?P<head>\s+Value: \{)(?P<items>.*), \x08\x08\}$")


def split_top_level(text: str) -> list[str]:
    """Split ``a, f(b, c), 'd, e'`` at the commas outside brackets and quotes."""
    items, depth, quote, start = [], 0, "", 0
    for i, c in enumerate(text):
        if quote:
            if c == quote:
                quote = ""
        elif c in "'\"":
            quote = c
        elif c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
        elif c == "," and depth == 0:
            items.append(text[start:i].strip())
            start = i + 1
    items.append(text[start:].strip())
    return items


def canonical_line(line: str) -> str:
    m = _SET_LINE.match(line)
    if m:
        value = ast.literal_eval(m["set"])
        return m["head"] + repr(sorted(value))
    m = _DICT_VALUE.match(line)
    if m:
        return m["head"] + ", ".join(sorted(split_top_level(m["items"]))) + ", \b\b}"
    return line


def canonical(text: str) -> list[str]:
    """The lines of ``text`` (a trailing newline gives a last empty line), canonical."""
    return [canonical_line(line) for line in text.split("\n")]


def set_of(line: str) -> set[str]:
    """The Python set printed at the end of a line."""
    m = _SET_LINE.match(line)
    assert m, f"no set at the end of {line!r}"
    value: set[str] = ast.literal_eval(m["set"])
    return value
