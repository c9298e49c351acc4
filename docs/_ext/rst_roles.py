"""A griffe extension for the API reference: the reStructuredText bits of our docstrings.

The docstrings use a few reST habits (``:class:`Saver```, a paragraph ending in ``::``
before an indented example, ``\\ s`` after a literal). mkdocstrings renders Markdown, so
this turns them into their Markdown equivalents before rendering; the docstrings
themselves stay readable in ``help()`` and in the source.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_ROLE = re.compile(r":(?:py:)?(?:class|func|meth|mod|attr|data|exc|obj|const):`~?\.?([^`]+)`")
_LITERAL_INTRO = re.compile(r"::[ \t]*$", re.MULTILINE)
_ESCAPED_SPACE = re.compile(r"\\ ")


def markdown_docstring(text: str) -> str:
    """``:class:`X``` to ``X`` in backticks, a closing ``::`` to ``:``, drop ``\\ ``."""
    text = _ROLE.sub(lambda m: f"`{m.group(1)}`", text)
    text = _LITERAL_INTRO.sub(":", text)
    return _ESCAPED_SPACE.sub("", text)


class RstRoles(griffe.Extension):
    """Rewrites each docstring once, when griffe loads the object."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = markdown_docstring(obj.docstring.value)
