"""Local file access: the one place that creates, renames and deletes files.

Every write goes to a temporary name beside its target, is flushed and fsynced, and is
renamed into place only when complete, so a crash leaves either the old file or the new
one, never half of one::

    with atomic_open("ckpt.index") as f:
        f.write(data)
"""

from __future__ import annotations

import contextlib
import errno
import glob as _glob
import os
import secrets
import shutil
from collections.abc import Iterator
from typing import BinaryIO

from savedmodel_io.errors import (
    AlreadyExistsError,
    NotFoundError,
    PermissionDeniedError,
    ResourceExhaustedError,
    SavedModelIOError,
    UnknownError,
)

TEMP_MARKER = ".tempstate"


def temp_name(path: str) -> str:
    """A fresh temporary name beside ``path`` (TensorFlow's ``.tempstate<random>`` form)."""
    return f"{path}{TEMP_MARKER}{secrets.randbits(64)}"


def os_error(err: OSError, path: str, doing: str) -> SavedModelIOError:
    """Translate an OSError into our error type, naming the file and what we were doing."""
    words = f"cannot {doing}: {err.strerror or err}"
    if err.errno == errno.ENOENT:
        return NotFoundError(words, path=path)
    if err.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return PermissionDeniedError(words, path=path)
    if err.errno in (errno.ENOSPC, errno.EDQUOT):
        return ResourceExhaustedError(words, path=path)
    if err.errno == errno.EEXIST:
        return AlreadyExistsError(words, path=path)
    return UnknownError(words, path=path)


def fsync_dir(dirname: str) -> None:
    """Make a rename in ``dirname`` durable (no-op where directories can't be opened)."""
    try:
        fd = os.open(dirname or ".", os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_open(path: str, *, durable: bool = True) -> Iterator[BinaryIO]:
    """Write ``path`` through a temporary file renamed into place on success.

    On any exception the temporary file is deleted and ``path`` is left untouched.
    """
    path = os.fspath(path)
    tmp = temp_name(path)
    try:
        f = open(tmp, "xb")
    except OSError as e:
        raise os_error(e, path, "create a temporary file") from e
    try:
        with f:
            yield f
            f.flush()
            if durable:
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as e:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        if isinstance(e, OSError) and not isinstance(e, SavedModelIOError):
            raise os_error(e, path, "write") from e
        raise
    if durable:
        fsync_dir(os.path.dirname(path))


def atomic_write_bytes(path: str, data: bytes, *, durable: bool = True) -> None:
    with atomic_open(path, durable=durable) as f:
        f.write(data)


def read_bytes(path: str, *, limit: int | None = None) -> bytes:
    """The whole file; ``limit`` refuses files larger than that many bytes."""
    try:
        with open(path, "rb") as f:
            if limit is not None:
                size = os.fstat(f.fileno()).st_size
                if size > limit:
                    raise ResourceExhaustedError(
                        f"file is {size} bytes, more than the {limit} allowed", path=path)
            return f.read()
    except OSError as e:
        if isinstance(e, SavedModelIOError):
            raise
        raise os_error(e, path, "read") from e


def make_dir(path: str) -> None:
    """Create one directory level; an existing directory is fine (like TensorFlow)."""
    try:
        os.mkdir(path)
    except FileExistsError:
        if not os.path.isdir(path):
            raise AlreadyExistsError("exists and is not a directory", path=path) from None
    except OSError as e:
        raise os_error(e, path, "create directory") from e


def make_dirs(path: str) -> None:
    try:
        os.makedirs(path, exist_ok=True)
    except OSError as e:
        raise os_error(e, path, "create directories") from e


def remove(path: str, *, missing_ok: bool = True) -> None:
    try:
        os.remove(path)
    except FileNotFoundError:
        if not missing_ok:
            raise NotFoundError("cannot delete: no such file", path=path) from None
    except OSError as e:
        raise os_error(e, path, "delete") from e


def remove_tree(path: str) -> None:
    """Delete a directory and everything in it; a symlink is removed, never its target."""
    try:
        if os.path.islink(path) or not os.path.isdir(path):
            os.remove(path)
        else:
            shutil.rmtree(path)
    except FileNotFoundError:
        pass
    except OSError as e:
        raise os_error(e, path, "delete") from e


def rename(src: str, dst: str) -> None:
    try:
        os.replace(src, dst)
    except OSError as e:
        raise os_error(e, src, f"rename to {dst}") from e


def glob(pattern: str) -> list[str]:
    """Sorted matches of a glob pattern (``?``/``*`` as in TensorFlow's file patterns)."""
    # Only the last component is a pattern; brackets in directory names are literal.
    directory, name = os.path.split(pattern)
    return sorted(_glob.glob(os.path.join(_glob.escape(directory), name) if directory
                             else name))


def exists(path: str) -> bool:
    return os.path.exists(path)


def is_dir(path: str) -> bool:
    return os.path.isdir(path)


def list_dir(path: str) -> list[str]:
    try:
        return sorted(os.listdir(path))
    except OSError as e:
        raise os_error(e, path, "list directory") from e
