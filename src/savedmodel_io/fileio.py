"""File access: the one place that reads, creates, renames and deletes files.

Every function takes a local path or an fsspec URL (``s3://``, ``gs://``, ``memory://``,
``https://`` for reading...; the optional ``remote`` extra). ``file://`` URLs are local
paths. Remote work goes through :mod:`savedmodel_io.remote`.

Locally, every write goes to a temporary name beside its target, is flushed and fsynced,
and is renamed into place only when complete, so a crash leaves either the old file or
the new one, never half of one. Object stores have no rename: a write goes to the final
name, where the object appears only once its upload completes::

    with atomic_open("ckpt.index") as f:
        f.write(data)
"""

from __future__ import annotations

import contextlib
import errno
import fnmatch
import glob as _glob
import os
import posixpath
import secrets
import shutil
from collections.abc import Iterator
from datetime import datetime
from typing import Any, BinaryIO, cast

from savedmodel_io import remote
from savedmodel_io.errors import (
    AlreadyExistsError,
    InvalidArgumentError,
    NotFoundError,
    PermissionDeniedError,
    ResourceExhaustedError,
    SavedModelIOError,
    UnknownError,
)

TEMP_MARKER = ".tempstate"


# ------------------------------------------------------------------ paths and URLs


def is_url(path: str | os.PathLike[str]) -> bool:
    """True for ``scheme://...`` (``file://`` included; see :func:`is_remote`)."""
    return remote.is_url(os.fspath(path))


def is_remote(path: str | os.PathLike[str]) -> bool:
    """True for a URL that fsspec handles (any scheme but ``file://``/``local://``)."""
    p = os.fspath(path)
    return remote.is_url(p) and not remote.is_local_url(p)


def is_object_store(path: str | os.PathLike[str]) -> bool:
    """True for stores without directories or rename (S3, GCS, Azure...)."""
    p = os.fspath(path)
    return remote.is_url(p) and remote.is_object_store(p)


def _local(path: str | os.PathLike[str]) -> str | None:
    """The local path ``path`` stands for, or None for a remote URL."""
    p = os.fspath(path)
    if not remote.is_url(p):
        return p
    return remote.strip_local(p) if remote.is_local_url(p) else None


def join(path: str, *names: str) -> str:
    """``os.path.join`` for local paths, ``/``-joining for URLs."""
    return posixpath.join(path, *names) if is_remote(path) else os.path.join(path, *names)


def split(path: str) -> tuple[str, str]:
    return posixpath.split(path) if is_remote(path) else os.path.split(path)


def dirname(path: str) -> str:
    return split(path)[0]


def basename(path: str) -> str:
    return split(path)[1]


def isabs(path: str) -> bool:
    """URLs are absolute."""
    return is_url(path) or os.path.isabs(path)


def abspath(path: str) -> str:
    """``os.path.abspath`` for local paths; URLs as given, less a trailing ``/``."""
    return path.rstrip("/") if is_url(path) and not path.endswith("://") else \
        os.path.abspath(path)


def normpath(path: str) -> str:
    """``os.path.normpath``; for URLs only the part after ``scheme://`` is normalised."""
    if not is_url(path):
        return os.path.normpath(path)
    head, rest = path.split("://", 1)
    return f"{head}://{posixpath.normpath(rest) if rest else rest}"


def realpath(path: str) -> str:
    """``os.path.realpath`` (symlinks resolved); URLs have no symlinks: normalised only."""
    return normpath(path) if is_url(path) else os.path.realpath(path)


def relpath(path: str, start: str) -> str:
    """``os.path.relpath``; a URL inside ``start`` gives the rest, any other URL itself."""
    if is_url(path) or is_url(start):
        base = start.rstrip("/") + "/"
        return path[len(base):] if path.startswith(base) else path
    return os.path.relpath(path, start)


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
    if err.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
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


class AtomicWriter:
    """A file being written to ``path`` that appears there only on :meth:`commit`.

    Locally: a temporary file beside ``path``, flushed, fsynced (``durable``) and renamed
    into place. Remotely: an upload to ``path`` itself, completed on commit. :meth:`abort`
    leaves ``path`` as it was. Write through :attr:`file`.
    """

    def __init__(self, path: str | os.PathLike[str], *, durable: bool = True,
                 buffering: int = -1) -> None:
        self.path = os.fspath(path)
        self._durable = durable
        self._done = False
        local = _local(self.path)
        self._remote: remote.RemoteWriter | None = None
        if local is None:
            self._remote = remote.RemoteWriter(self.path)
            self.file: BinaryIO = cast(BinaryIO, self._remote)
            self._tmp = self.path
            return
        self._target = local
        self._tmp = temp_name(local)
        try:
            self.file = open(self._tmp, "xb", buffering=buffering)  # noqa: SIM115
        except OSError as e:
            raise os_error(e, self.path, "create a temporary file") from e

    def commit(self) -> None:
        """Make the file appear, complete, under its name (or raise and leave it absent)."""
        if self._done:
            return
        try:
            if self._remote is not None:
                self._remote.commit()
            else:
                with self.file as f:
                    f.flush()
                    if self._durable:
                        os.fsync(f.fileno())
                os.replace(self._tmp, self._target)
        except BaseException as e:
            self.abort()
            if isinstance(e, OSError) and not isinstance(e, SavedModelIOError):
                raise os_error(e, self.path, "write") from e
            raise
        self._done = True
        if self._remote is None and self._durable:
            fsync_dir(os.path.dirname(self._target))

    def abort(self) -> None:
        """Drop what was written; ``path`` keeps whatever it held before."""
        if self._done:
            return
        self._done = True
        if self._remote is not None:
            self._remote.abort()
            return
        with contextlib.suppress(OSError):
            self.file.close()
        with contextlib.suppress(OSError):
            os.remove(self._tmp)


@contextlib.contextmanager
def atomic_open(path: str, *, durable: bool = True) -> Iterator[BinaryIO]:
    """Write ``path`` through an :class:`AtomicWriter`, committed when the block ends.

    On any exception the write is dropped and ``path`` is left untouched.
    """
    writer = AtomicWriter(path, durable=durable)
    try:
        yield writer.file
    except BaseException as e:
        writer.abort()
        if isinstance(e, OSError) and not isinstance(e, SavedModelIOError):
            raise os_error(e, writer.path, "write") from e
        raise
    writer.commit()


def atomic_write_bytes(path: str, data: bytes, *, durable: bool = True) -> None:
    with atomic_open(path, durable=durable) as f:
        f.write(data)


def read_bytes(path: str, *, limit: int | None = None) -> bytes:
    """The whole file; ``limit`` refuses files larger than that many bytes."""
    local = _local(path)
    if local is None:
        return _remote_read_bytes(path, limit)
    path = local
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


def _remote_read_bytes(url: str, limit: int | None) -> bytes:
    fs, p = remote.resolve(url)
    if limit is not None:
        size = remote.call(url, "read", fs.size, p)
        if isinstance(size, int) and size > limit:
            raise ResourceExhaustedError(
                f"file is {size} bytes, more than the {limit} allowed", path=url)
    data = bytes(remote.call(url, "read", fs.cat_file, p))
    remote.STATS.add(read=len(data))
    if limit is not None and len(data) > limit:
        raise ResourceExhaustedError(
            f"file is {len(data)} bytes, more than the {limit} allowed", path=url)
    return data


def open_remote(url: str, *, tail: int = 0, readahead: int = 0) -> remote.RemoteSource:
    """A byte source over a remote file (``tail``/``readahead``: see RemoteSource)."""
    if not is_remote(url):
        raise InvalidArgumentError("not a remote URL", path=url)
    return remote.RemoteSource.open(url, tail=tail, readahead=readahead)


def open_local(path: str | os.PathLike[str]) -> BinaryIO:
    """A local file (path or ``file://`` URL) opened for reading, as ``open(path, "rb")``
    (its OSError included: callers word their own "not found")."""
    local = _local(path)
    if local is None:
        raise InvalidArgumentError("not a local path", path=os.fspath(path))
    return open(local, "rb")  # noqa: SIM115 - the caller closes it


def _fs(url: str) -> tuple[Any, str]:
    """The filesystem and inner path of ``url``, its cached listings dropped.

    fsspec caches directory listings; another process may have written since, and a
    checkpoint reader polling for new checkpoints must see them.
    """
    fs, p = remote.resolve(url)
    fs.invalidate_cache(p)
    return fs, p


def make_dir(path: str) -> None:
    """Create one directory level; an existing directory is fine (like TensorFlow)."""
    if is_remote(path):
        _remote_make_dirs(path, parents=False)
        return
    path = _local(path) or path
    try:
        os.mkdir(path)
    except FileExistsError:
        if not os.path.isdir(path):
            raise AlreadyExistsError("exists and is not a directory", path=path) from None
    except OSError as e:
        raise os_error(e, path, "create directory") from e


def _remote_make_dirs(url: str, *, parents: bool) -> None:
    if is_object_store(url):
        return  # no directories: any prefix can be written into
    fs, p = _fs(url)
    if remote.call(url, "check", fs.isfile, p):
        raise AlreadyExistsError("exists and is not a directory", path=url)
    if not parents:
        parent = posixpath.dirname(p.rstrip("/"))
        if parent and parent != p and not remote.call(url, "check", fs.isdir, parent):
            raise NotFoundError("cannot create directory: the parent does not exist",
                                path=url)
    remote.call(url, "create directory", fs.makedirs, p, exist_ok=True)


def make_dirs(path: str) -> None:
    if is_remote(path):
        _remote_make_dirs(path, parents=True)
        return
    path = _local(path) or path
    try:
        os.makedirs(path, exist_ok=True)
    except OSError as e:
        raise os_error(e, path, "create directories") from e


def remove(path: str, *, missing_ok: bool = True) -> None:
    if is_remote(path):
        fs, p = _fs(path)
        # Object stores delete a missing key without complaint: ask first when it matters.
        if not missing_ok and not remote.call(path, "delete", fs.exists, p):
            raise NotFoundError("cannot delete: no such file", path=path)
        try:
            remote.call(path, "delete", fs.rm_file, p)
        except NotFoundError:
            if not missing_ok:
                raise
        return
    path = _local(path) or path
    try:
        os.remove(path)
    except FileNotFoundError:
        if not missing_ok:
            raise NotFoundError("cannot delete: no such file", path=path) from None
    except OSError as e:
        raise os_error(e, path, "delete") from e


def remove_tree(path: str) -> None:
    """Delete a directory and everything in it; a symlink is removed, never its target."""
    if is_remote(path):
        fs, p = _fs(path)
        if remote.call(path, "delete", fs.exists, p):
            with contextlib.suppress(NotFoundError):
                remote.call(path, "delete", fs.rm, p, recursive=True)
        return
    path = _local(path) or path
    try:
        if os.path.islink(path) or not os.path.isdir(path):
            os.remove(path)
        else:
            shutil.rmtree(path)
    except FileNotFoundError:
        pass
    except OSError as e:
        raise os_error(e, path, "delete") from e


_COPY_CHUNK = 8 << 20


def copy_file(src: str, dst: str) -> None:
    """Copy ``src`` to ``dst`` (either may be a URL); ``dst`` appears only when complete
    where the store allows (locally the copy is written in place, like ``shutil``)."""
    local_src, local_dst = _local(src), _local(dst)
    if local_src is not None and local_dst is not None:
        try:
            shutil.copyfile(local_src, local_dst)
        except OSError as e:
            raise os_error(e, src, f"copy to {dst}") from e
        return
    if local_src is None:
        fs, p = _fs(src)
        f: Any = remote.call(src, "open", fs.open, p, "rb")
    else:
        try:
            f = open(local_src, "rb")  # noqa: SIM115 - closed below
        except OSError as e:
            raise os_error(e, src, "open") from e
    writer = AtomicWriter(dst)
    try:
        with f:
            while chunk := f.read(_COPY_CHUNK):
                writer.file.write(chunk)
                if local_src is None:
                    remote.STATS.add(read=len(chunk))
    except BaseException as e:
        writer.abort()
        if isinstance(e, Exception) and not isinstance(e, SavedModelIOError):
            raise (os_error(e, src, f"copy to {dst}") if isinstance(e, OSError) and
                   local_src is not None else remote.translate(e, src, f"copy to {dst}")
                   ) from e
        raise
    writer.commit()


def abort_uploads(prefix: str) -> int:
    """Cancel unfinished uploads to names starting with ``prefix`` (S3 keeps them, unseen,
    after a writer was killed); elsewhere nothing to do. Returns how many."""
    return remote.abort_uploads(prefix) if is_remote(prefix) else 0


def remove_dir(path: str) -> None:
    """Delete an empty directory; a missing or non-empty one, or an object-store prefix
    (nothing to delete there), is left alone."""
    if is_remote(path):
        if not is_object_store(path):
            fs, p = _fs(path)
            with contextlib.suppress(SavedModelIOError):
                if not remote.call(path, "list directory", fs.ls, p, detail=False):
                    remote.call(path, "delete", fs.rmdir, p)
        return
    with contextlib.suppress(OSError):
        os.rmdir(_local(path) or path)


def rename(src: str, dst: str) -> None:
    """Move ``src`` to ``dst``; on object stores a server-side copy, then a delete."""
    if is_remote(src) or is_remote(dst):
        if not (is_remote(src) and is_remote(dst)):
            raise InvalidArgumentError(f"cannot rename between local and remote: to {dst}",
                                       path=src)
        fs, p = _fs(src)
        remote.call(src, f"rename to {dst}", fs.mv, p, remote.resolve(dst)[1])
        return
    src, dst = _local(src) or src, _local(dst) or dst
    try:
        os.replace(src, dst)
    except OSError as e:
        raise os_error(e, src, f"rename to {dst}") from e


def glob(pattern: str) -> list[str]:
    """Sorted matches of a glob pattern (``?``/``*`` as in TensorFlow's file patterns)."""
    # Only the last component is a pattern; brackets in directory names are literal.
    if is_remote(pattern):
        directory, name = posixpath.split(pattern)
        try:
            names = _remote_names(directory)
        except NotFoundError:
            return []
        return [posixpath.join(directory, n) for n in names
                if fnmatch.fnmatchcase(n, name) and not (n.startswith(".") and
                                                         not name.startswith("."))]
    if is_url(pattern):
        return ["file://" + p for p in glob(_local(pattern) or pattern)]
    directory, name = os.path.split(pattern)
    return sorted(_glob.glob(os.path.join(_glob.escape(directory), name) if directory
                             else name))


def exists(path: str) -> bool:
    if is_remote(path):
        fs, p = _fs(path)
        return bool(remote.call(path, "check", fs.exists, p))
    return os.path.exists(_local(path) or path)


def is_dir(path: str) -> bool:
    """A directory; on an object store, a prefix that some object's name continues."""
    if is_remote(path):
        fs, p = _fs(path)
        return bool(remote.call(path, "check", fs.isdir, p))
    return os.path.isdir(_local(path) or path)


def is_dir_or_prefix(path: str) -> bool:
    """Whether files can be created in ``path``: a directory, or any prefix of an
    object store (they have no directories to create first)."""
    return is_object_store(path) or is_dir(path)


def get_mtime(path: str) -> float:
    """Last modification as a Unix timestamp."""
    if not is_remote(path):
        local = _local(path) or path
        try:
            return os.path.getmtime(local)
        except OSError as e:
            raise os_error(e, path, "stat") from e
    fs, p = _fs(path)
    info = remote.call(path, "stat", fs.info, p)
    for key in ("mtime", "LastModified", "updated", "last_modified", "modified", "created"):
        value = info.get(key)
        if isinstance(value, datetime):
            return value.timestamp()
        if isinstance(value, (int, float)):
            return float(value)
        if isinstance(value, str):
            try:
                return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
            except ValueError:
                continue
    when = remote.call(path, "stat", fs.modified, p)
    if isinstance(when, datetime):
        return when.timestamp()
    raise UnknownError("the store reports no modification time", path=path)


def _remote_names(url: str) -> list[str]:
    fs, p = _fs(url)
    entries = remote.call(url, "list directory", fs.ls, p, detail=False)
    base = p.rstrip("/")
    names = {posixpath.basename(str(e).rstrip("/")) for e in entries
             if str(e).rstrip("/") != base}
    return sorted(n for n in names if n)


def list_dir(path: str) -> list[str]:
    if is_remote(path):
        return _remote_names(path)
    path = _local(path) or path
    try:
        return sorted(os.listdir(path))
    except OSError as e:
        raise os_error(e, path, "list directory") from e
