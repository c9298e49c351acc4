"""Random-access byte sources: "give me ``length`` bytes at ``offset``".

The table reader (and later the bundle reader) only ever asks a :class:`ByteSource` for
byte ranges, so the same code reads an open local file, bytes in memory, or (later) an
fsspec file. Every range is checked against ``size`` before anything is allocated.
"""

from __future__ import annotations

import os
import threading
from typing import IO, Any, Protocol, runtime_checkable

from .. import fileio
from ..errors import DataLossError
from ..remote import RemoteSource, check_range

BytesLike = bytes | bytearray | memoryview


@runtime_checkable
class ByteSource(Protocol):
    """Read-only random access to ``size`` bytes named ``path`` (for messages)."""

    size: int
    path: str

    def read_at(self, offset: int, length: int) -> bytes | memoryview:
        """Exactly ``length`` bytes starting at ``offset`` (or an error)."""
        ...


class BytesSource:
    """A :class:`ByteSource` over bytes already in memory (no copies on read)."""

    def __init__(self, data: BytesLike, path: str = "<memory>") -> None:
        view = memoryview(data)
        if view.ndim != 1 or view.itemsize != 1:
            view = view.cast("B")
        self._view = view
        self.size = len(view)
        self.path = path

    def read_at(self, offset: int, length: int) -> memoryview:
        check_range(offset, length, self.size, self.path)
        return self._view[offset:offset + length]

    def close(self) -> None:
        """Nothing to release; present for symmetry with :class:`FileSource`."""


class FileSource:
    """A :class:`ByteSource` over an open binary file.

    Uses ``os.pread`` when the file has a descriptor and the platform has ``pread``
    (thread-safe, no shared file position); otherwise ``seek`` + ``read`` under a lock.
    ``size`` defaults to the file's size when the source is made. The file is closed by
    :meth:`close` only if this object opened it (:meth:`open`).
    """

    def __init__(self, file: IO[bytes], path: str | None = None,
                 size: int | None = None) -> None:
        self._file = file
        self._owned = False
        self._lock = threading.Lock()
        if path is None:
            name = getattr(file, "name", None)
            path = os.fsdecode(name) if isinstance(name, (str, bytes)) else "<file>"
        self.path = path
        self._fd: int | None = None
        if hasattr(os, "pread"):
            try:
                self._fd = file.fileno()
            except (AttributeError, OSError, ValueError):
                self._fd = None
        if size is None:
            if self._fd is not None:
                size = os.fstat(self._fd).st_size
            else:
                pos = file.tell()
                size = file.seek(0, os.SEEK_END)
                file.seek(pos)
        self.size = size

    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> FileSource:
        """Open a local file for reading; :meth:`close` (or ``with``) closes it."""
        f = fileio.open_local(path)  # closed by close()
        try:
            src = cls(f, os.fspath(path))
        except BaseException:
            f.close()
            raise
        src._owned = True
        return src

    def read_at(self, offset: int, length: int) -> bytes:
        check_range(offset, length, self.size, self.path)
        if self._fd is not None:
            data = os.pread(self._fd, length, offset)
            if len(data) < length:
                # pread may return short counts; keep reading until EOF.
                parts = [data]
                got = len(data)
                while got < length:
                    more = os.pread(self._fd, length - got, offset + got)
                    if not more:
                        break
                    parts.append(more)
                    got += len(more)
                data = b"".join(parts)
        else:
            with self._lock:
                self._file.seek(offset)
                data = self._file.read(length)
        if len(data) != length:
            raise DataLossError(
                f"file truncated: wanted {length} bytes at offset {offset}, got {len(data)}",
                path=self.path, offset=offset)
        return data

    def read_into(self, offset: int, buf: Any) -> None:
        """Fill the writable buffer ``buf`` with the bytes at ``offset`` (no extra copy)."""
        view = memoryview(buf).cast("B")
        length = len(view)
        check_range(offset, length, self.size, self.path)
        got = 0
        while got < length:
            if self._fd is not None and hasattr(os, "preadv"):
                n = os.preadv(self._fd, [view[got:]], offset + got)
            else:
                with self._lock:
                    self._file.seek(offset + got)
                    readinto = getattr(self._file, "readinto")  # noqa: B009 - not on IO[bytes]
                    n = readinto(view[got:]) or 0
            if n == 0:
                raise DataLossError(
                    f"file truncated: wanted {length} bytes at offset {offset}, got {got}",
                    path=self.path, offset=offset)
            got += n

    def close(self) -> None:
        if self._owned:
            self._file.close()

    def __enter__(self) -> FileSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_source(path: str | os.PathLike[str], *, tail: int = 0, readahead: int = 0
                ) -> FileSource | RemoteSource:
    """A byte source over a local path or an fsspec URL; ``close()`` releases it.

    ``tail`` and ``readahead`` shape remote reads (see
    :class:`~savedmodel_io.remote.RemoteSource`); local files ignore them.
    """
    p = os.fspath(path)
    if fileio.is_remote(p):
        return fileio.open_remote(p, tail=tail, readahead=readahead)
    return FileSource.open(p)


__all__ = ["ByteSource", "BytesSource", "FileSource", "check_range", "open_source"]
