"""The exception hierarchy: TensorFlow's error names, all under :class:`SavedModelIOError`.

Every error says where the problem is (file, tensor key, byte offset) and what was
expected against what was found, in plain words::

    >>> raise DataLossError("block checksum mismatch", path="m.index", offset=91)
    Traceback (most recent call last):
    ...
    savedmodel_io.errors.DataLossError: m.index: block checksum mismatch (at byte 91)

Several classes also derive from the builtin exception a Python user would try to catch
(``ValueError``, ``KeyError``, ``OSError``...), so generic handlers keep working.
"""

from __future__ import annotations

import os
from typing import Union

PathLike = Union[str, "os.PathLike[str]"]


class SavedModelIOError(Exception):
    """Base class of every error savedmodel_io raises on purpose."""

    def __init__(
        self,
        message: str,
        *,
        path: PathLike | None = None,
        key: str | bytes | None = None,
        offset: int | None = None,
    ) -> None:
        self.message = message
        self.path = os.fspath(path) if path is not None else None
        self.key = key
        self.offset = offset
        super().__init__(self._compose())

    def _compose(self) -> str:
        parts = []
        if self.path is not None:
            parts.append(f"{self.path}: ")
        if self.key is not None:
            key = self.key.decode("utf-8", "backslashreplace") if isinstance(
                self.key, bytes) else self.key
            parts.append(f"tensor {key!r}: ")
        parts.append(self.message)
        if self.offset is not None:
            parts.append(f" (at byte {self.offset})")
        return "".join(parts)

    def __str__(self) -> str:
        # KeyError's __str__ would wrap the message in quotes; keep plain words.
        return self._compose()


class CancelledError(SavedModelIOError):
    """An operation was cancelled (e.g. by a progress callback)."""


class UnknownError(SavedModelIOError):
    """An error with no better category."""


class InvalidArgumentError(SavedModelIOError, ValueError):
    """A caller passed a bad value (wrong dtype, malformed name, bad shape...)."""


class NotFoundError(SavedModelIOError, KeyError):
    """A file, tensor, tag-set or signature that was asked for does not exist."""


class AlreadyExistsError(SavedModelIOError, FileExistsError):
    """Something that must not exist yet (an export directory, an output file) exists."""


class PermissionDeniedError(SavedModelIOError, PermissionError):
    """The operating system refused access."""


class ResourceExhaustedError(SavedModelIOError, MemoryError):
    """A file asks for more memory or disk than it can justify, or the disk is full."""


class FailedPreconditionError(SavedModelIOError, RuntimeError):
    """The system is not in a state where the operation can run."""


class AbortedError(SavedModelIOError):
    """An operation was aborted, e.g. by a concurrent writer."""


class OutOfRangeError(SavedModelIOError, IndexError):
    """A read past the end of a file or a slice outside a tensor."""


class UnimplementedError(SavedModelIOError, NotImplementedError):
    """The file uses a feature this library does not support."""


class InternalError(SavedModelIOError):
    """An invariant of this library was broken: a bug, please report it."""


class UnavailableError(SavedModelIOError):
    """A remote filesystem could not be reached."""


class DataLossError(SavedModelIOError, OSError):
    """The file is corrupt or truncated: a checksum, a length or a structure is wrong."""


class UnauthenticatedError(SavedModelIOError):
    """A remote filesystem refused the credentials."""


__all__ = [
    "SavedModelIOError",
    "CancelledError",
    "UnknownError",
    "InvalidArgumentError",
    "NotFoundError",
    "AlreadyExistsError",
    "PermissionDeniedError",
    "ResourceExhaustedError",
    "FailedPreconditionError",
    "AbortedError",
    "OutOfRangeError",
    "UnimplementedError",
    "InternalError",
    "UnavailableError",
    "DataLossError",
    "UnauthenticatedError",
]
