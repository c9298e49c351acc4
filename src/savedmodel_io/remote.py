"""Files on fsspec filesystems: ``s3://``, ``gs://``, ``memory://``, ``https://`` and others.

Only :mod:`savedmodel_io.fileio` calls into this module. It needs the optional ``remote``
extra (fsspec, plus s3fs or gcsfs for those stores), imported on first use, so local paths
never import fsspec. Settings such as an S3 endpoint or credentials come from fsspec's
own configuration (``fsspec.config.conf["s3"]``, ``FSSPEC_S3_*`` environment variables).

Reads are byte ranges. :class:`RemoteSource` fetches exactly the range it is asked for (one
ranged GET), except that an index file keeps its tail after the footer is read (the footer
and the index block then cost one request) and reads its blocks a little ahead.
:func:`fetch` takes many ranges of several files at once, merges neighbouring ones, splits
large ones into parts and fetches all parts in parallel::

    src = RemoteSource.open("s3://bucket/ckpt.data-00000-of-00001")
    fetch([(src, [(0, 4096), (4096, 1 << 20)])])   # one request for both ranges
    src.read_at(0, 4096)                           # served from what was fetched
    src.release()

Writes go straight to the final object name. An object store shows an object only once
its upload completes and :meth:`RemoteWriter.abort` cancels the upload, so nothing
half-written ever appears under the name; filesystems that show a file while it is being
written (``memory://``) get the whole content in one put at commit.
"""

from __future__ import annotations

import importlib
import re
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from savedmodel_io.errors import (
    AlreadyExistsError,
    DataLossError,
    FailedPreconditionError,
    InvalidArgumentError,
    NotFoundError,
    PermissionDeniedError,
    SavedModelIOError,
    UnavailableError,
    UnknownError,
)

EXTRA_HINT = ("remote paths need the optional 'remote' extra: "
              "pip install 'savedmodel_io[remote]'")

OBJECT_STORES = frozenset({"s3", "s3a", "gs", "gcs", "az", "abfs", "abfss", "adl", "oss",
                           "r2"})
"""Protocols whose filesystems have no directories and no rename, only whole objects."""

PART_SIZE = 16 << 20
"""Reads larger than this are split into parts fetched in parallel."""

COALESCE_GAP = 64 << 10
"""Ranges handed to :func:`fetch` that are at most this far apart become one request."""

MAX_WORKERS = 8
"""Parallel requests at most."""

INDEX_TAIL = 1 << 20
"""Bytes fetched from the end of an index file on the first read of its footer."""

INDEX_READAHEAD = 256 << 10
"""Bytes fetched for a small read of an index block the tail did not hold."""

_READAHEAD_SPANS = 16
_SPOOL_IN_MEMORY = 64 << 20

_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]+(::[A-Za-z][A-Za-z0-9+.\-]+)*://")
_LOCAL_PROTOCOLS = ("file", "local")

T = TypeVar("T")


# ------------------------------------------------------------------ URLs


def is_url(path: str) -> bool:
    """True for ``scheme://...`` (fsspec chains like ``simplecache::s3://`` too)."""
    return _URL.match(path) is not None


def protocol(url: str) -> str:
    """The (innermost) protocol of a URL: ``s3`` for ``simplecache::s3://b/k``."""
    head = url.split("://", 1)[0]
    return head.rsplit("::", 1)[-1].lower()


def is_local_url(url: str) -> bool:
    return "::" not in url.split("://", 1)[0] and protocol(url) in _LOCAL_PROTOCOLS


def strip_local(url: str) -> str:
    """The local path of a ``file://`` URL (``file:///tmp/x`` is ``/tmp/x``)."""
    return url.split("://", 1)[1]


def is_object_store(url: str) -> bool:
    return protocol(url) in OBJECT_STORES


# ------------------------------------------------------------------ counters


class TransferStats:
    """Requests made and bytes moved through this module (thread-safe).

    A request is one call into the filesystem that goes to the store: a size or existence
    check, a listing, a ranged read, a whole-object upload, a delete.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests = 0
        self.bytes_read = 0
        self.bytes_written = 0

    def add(self, requests: int = 0, read: int = 0, written: int = 0) -> None:
        with self._lock:
            self.requests += requests
            self.bytes_read += read
            self.bytes_written += written

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return {"requests": self.requests, "bytes_read": self.bytes_read,
                    "bytes_written": self.bytes_written}

    def reset(self) -> None:
        with self._lock:
            self.requests = self.bytes_read = self.bytes_written = 0


STATS = TransferStats()
"""Everything this process did through this module."""


# ------------------------------------------------------------------ filesystems and errors


def _fsspec() -> Any:
    try:
        return importlib.import_module("fsspec")
    except ImportError:
        raise FailedPreconditionError(EXTRA_HINT + " (fsspec is not installed)") from None


def resolve(url: str) -> tuple[Any, str]:
    """The fsspec filesystem of ``url`` and the path inside it."""
    fsspec = _fsspec()
    try:
        fs, path = fsspec.core.url_to_fs(url)
    except ImportError as e:
        raise FailedPreconditionError(f"{EXTRA_HINT} ({e})", path=url) from None
    except (ValueError, TypeError) as e:
        raise InvalidArgumentError(f"not a usable URL: {e}", path=url) from None
    return fs, str(path)


def translate(err: BaseException, url: str, doing: str) -> SavedModelIOError:
    """Our error type for an exception a filesystem raised while ``doing`` something."""
    if isinstance(err, SavedModelIOError):
        return err
    detail = str(err) or type(err).__name__
    words = f"cannot {doing}: {detail}"
    if isinstance(err, FileNotFoundError):
        return NotFoundError(f"cannot {doing}: no such file or object", path=url)
    if isinstance(err, PermissionError):
        return PermissionDeniedError(words, path=url)
    if isinstance(err, FileExistsError):
        return AlreadyExistsError(words, path=url)
    if isinstance(err, (IsADirectoryError, NotADirectoryError)):
        return FailedPreconditionError(words, path=url)
    if isinstance(err, ImportError):
        return FailedPreconditionError(f"{EXTRA_HINT} ({detail})", path=url)
    name = type(err).__name__
    if isinstance(err, (ConnectionError, TimeoutError)) or any(
            w in name for w in ("Connect", "Timeout", "Endpoint", "ClientError")):
        return UnavailableError(f"cannot {doing}: the store did not answer ({name}: {detail})",
                                path=url)
    if isinstance(err, (ValueError, TypeError)):
        return InvalidArgumentError(words, path=url)
    return UnknownError(f"cannot {doing}: {name}: {detail}", path=url)


def call(url: str, doing: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``fn(*args, **kwargs)``, counted as one request, its errors translated."""
    STATS.add(requests=1)
    try:
        return fn(*args, **kwargs)
    except Exception as e:
        raise translate(e, url, doing) from e


def check_range(offset: int, length: int, size: int, path: str | None) -> None:
    """Raise :class:`DataLossError` unless ``[offset, offset + length)`` lies in ``[0, size)``.

    Python integers do not overflow, so the sum is exact even for hostile 64-bit values.
    """
    if offset < 0 or length < 0:
        raise InvalidArgumentError(
            f"negative read range: offset {offset}, length {length}", path=path)
    if offset + length > size:
        raise DataLossError(
            f"read of {length} bytes at offset {offset} runs past the end of the file "
            f"({size} bytes)", path=path, offset=offset)


# ------------------------------------------------------------------ reading


def coalesce(ranges: Sequence[tuple[int, int]], gap: int = COALESCE_GAP
             ) -> list[tuple[int, int]]:
    """Merge ``(offset, length)`` ranges into sorted ``(start, end)`` spans.

    Ranges that overlap or lie at most ``gap`` bytes apart share a span; empty ranges are
    dropped.
    """
    spans: list[tuple[int, int]] = []
    for offset, length in sorted((o, n) for o, n in ranges if n > 0):
        end = offset + length
        if spans and offset - spans[-1][1] <= gap:
            if end > spans[-1][1]:
                spans[-1] = (spans[-1][0], end)
        else:
            spans.append((offset, end))
    return spans


def split(start: int, end: int, part_size: int = PART_SIZE) -> list[tuple[int, int]]:
    """``[start, end)`` cut into consecutive parts of at most ``part_size`` bytes."""
    return [(a, min(a + part_size, end)) for a in range(start, end, max(part_size, 1))]


def _run(jobs: Sequence[Callable[[], None]], workers: int = MAX_WORKERS) -> None:
    """Run ``jobs``, in parallel when there are several; the first error is raised."""
    if len(jobs) <= 1 or workers <= 1:
        for job in jobs:
            job()
        return
    with ThreadPoolExecutor(max_workers=min(workers, len(jobs))) as pool:
        futures = [pool.submit(job) for job in jobs]
        for f in futures:
            f.result()


class RemoteSource:
    """A read-only byte source over one remote file (see the module docstring).

    ``tail``: on the first read inside the last ``tail`` bytes, fetch all of them and keep
    them (for an index file: footer, index block and the last data blocks in one request).
    ``readahead``: a smaller read that misses fetches this many bytes from its offset and
    keeps the last few such spans. ``requests`` and ``bytes_read`` count this file's reads.
    """

    def __init__(self, fs: Any, fs_path: str, url: str, size: int, *, tail: int = 0,
                 readahead: int = 0) -> None:
        self._fs = fs
        self._fs_path = fs_path
        self.path = url
        self.size = size
        self._tail = max(tail, 0)
        self._readahead = max(readahead, 0)
        self._lock = threading.Lock()
        self._pinned: list[tuple[int, bytes | bytearray]] = []  # tail and fetched spans
        self._recent: OrderedDict[int, bytes] = OrderedDict()     # readahead spans
        self._tail_done = False
        self.requests = 0
        self.bytes_read = 0

    @classmethod
    def open(cls, url: str, *, tail: int = 0, readahead: int = 0) -> RemoteSource:
        """Find the file's size (one request); nothing else is read yet."""
        fs, path = resolve(url)
        info = call(url, "open", fs.info, path)
        if info.get("type") == "directory":
            raise FailedPreconditionError("cannot open: is a directory", path=url)
        size = info.get("size")
        if not isinstance(size, int) or size < 0:
            raise UnavailableError("cannot open: the store did not report the file's size",
                                   path=url)
        src = cls(fs, path, url, size, tail=tail, readahead=readahead)
        src.requests = 1
        return src

    # -------------------------------------------------------------- requests

    def _get(self, start: int, end: int) -> bytes:
        """One ranged request for ``[start, end)``."""
        data = call(self.path, "read", self._fs.cat_file, self._fs_path, start=start, end=end)
        n = len(data)
        with self._lock:
            self.requests += 1
            self.bytes_read += n
        STATS.add(read=n)
        if n != end - start:
            raise DataLossError(
                f"file truncated: wanted {end - start} bytes at offset {start}, got {n}",
                path=self.path, offset=start)
        return bytes(data)

    def _get_into(self, offset: int, view: memoryview) -> None:
        """Fill ``view`` with the bytes at ``offset``: large reads as parallel parts."""
        parts = split(offset, offset + len(view), PART_SIZE)

        def job(a: int, b: int) -> Callable[[], None]:
            def run() -> None:
                view[a - offset:b - offset] = self._get(a, b)
            return run
        _run([job(a, b) for a, b in parts])

    # -------------------------------------------------------------- cache

    def _cached(self, offset: int, length: int) -> memoryview | None:
        end = offset + length
        with self._lock:
            for start, data in self._pinned:
                if start <= offset and end <= start + len(data):
                    return memoryview(data)[offset - start:end - start]
            for start, data in self._recent.items():
                if start <= offset and end <= start + len(data):
                    self._recent.move_to_end(start)
                    return memoryview(data)[offset - start:end - start]
        return None

    def _pin(self, start: int, data: bytes | bytearray) -> None:
        with self._lock:
            self._pinned.append((start, data))

    def release(self) -> None:
        """Forget what :func:`fetch` brought in (the index tail stays)."""
        with self._lock:
            tail_start = self.size - min(self.size, self._tail)
            self._pinned = [(s, d) for s, d in self._pinned
                            if self._tail_done and s == tail_start and
                            s + len(d) == self.size]
            self._recent.clear()

    # -------------------------------------------------------------- ByteSource

    def read_at(self, offset: int, length: int) -> bytes | memoryview:
        """Exactly ``length`` bytes at ``offset`` (see the class docstring for caching)."""
        check_range(offset, length, self.size, self.path)
        if length == 0:
            return b""
        hit = self._cached(offset, length)
        if hit is not None:
            return hit
        end = offset + length
        if self._tail and not self._tail_done and offset >= self.size - self._tail:
            start = max(0, self.size - self._tail)
            data = self._get(start, self.size)
            self._tail_done = True
            self._pin(start, data)
            return memoryview(data)[offset - start:end - start]
        if length < self._readahead:
            stop = min(self.size, offset + self._readahead)
            data = self._get(offset, stop)
            with self._lock:
                self._recent[offset] = data
                while len(self._recent) > _READAHEAD_SPANS:
                    self._recent.popitem(last=False)
            return memoryview(data)[:length]
        if length > PART_SIZE:
            buf = bytearray(length)
            self._get_into(offset, memoryview(buf))
            return memoryview(buf)
        return self._get(offset, end)

    def read_into(self, offset: int, buf: Any) -> None:
        """Fill the writable buffer ``buf`` with the bytes at ``offset``."""
        view = memoryview(buf).cast("B")
        check_range(offset, len(view), self.size, self.path)
        if not len(view):
            return
        hit = self._cached(offset, len(view))
        if hit is not None:
            view[:] = hit
            return
        self._get_into(offset, view)

    def close(self) -> None:
        with self._lock:
            self._pinned.clear()
            self._recent.clear()

    def __enter__(self) -> RemoteSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def fetch(requests: Sequence[tuple[RemoteSource, Sequence[tuple[int, int]]]], *,
          gap: int = COALESCE_GAP, part_size: int = PART_SIZE,
          workers: int = MAX_WORKERS) -> None:
    """Bring ``(offset, length)`` ranges of several sources into their caches at once.

    Per source, ranges at most ``gap`` bytes apart are merged into one span; spans are cut
    into parts of at most ``part_size`` bytes; every part of every source is fetched in
    parallel (``workers`` at a time). Later ``read_at``/``read_into`` calls inside a span
    cost nothing until :meth:`RemoteSource.release`.
    """
    jobs: list[Callable[[], None]] = []
    done: list[tuple[RemoteSource, int, bytearray]] = []
    for src, ranges in requests:
        for offset, length in ranges:
            check_range(offset, length, src.size, src.path)
        for start, end in coalesce(ranges, gap):
            if src._cached(start, end - start) is not None:
                continue
            buf = bytearray(end - start)
            done.append((src, start, buf))
            for a, b in split(start, end, part_size):
                jobs.append(_part_job(src, a, b, start, buf))
    _run(jobs, workers)
    for src, start, buf in done:
        src._pin(start, buf)


def _part_job(src: RemoteSource, a: int, b: int, start: int, buf: bytearray
              ) -> Callable[[], None]:
    def run() -> None:
        buf[a - start:b - start] = src._get(a, b)
    return run


# ------------------------------------------------------------------ writing


def abort_uploads(url: str) -> int:
    """Cancel unfinished multipart uploads to keys starting with ``url``'s key (S3 only:
    an interrupted upload is invisible there but kept, and billed, until cancelled).
    Returns how many were cancelled."""
    if protocol(url) not in ("s3", "s3a"):
        return 0
    fs, path = resolve(url)
    bucket, _, key = path.partition("/")
    listing = call(url, "list unfinished uploads", fs.call_s3, "list_multipart_uploads",
                   Bucket=bucket, Prefix=key)
    n = 0
    for upload in listing.get("Uploads", []):
        call(url, "cancel an unfinished upload", fs.call_s3, "abort_multipart_upload",
             Bucket=bucket, Key=upload["Key"], UploadId=upload["UploadId"])
        n += 1
    return n


class RemoteWriter:
    """A file being written to ``url``; nothing is visible there before :meth:`commit`.

    Object stores get a streaming upload (multipart for large files) that completes on
    commit and is cancelled on :meth:`abort`. Other filesystems show a file as soon as it
    is opened, so there the bytes are spooled (in memory, then a local temporary file)
    and put in one call at commit.
    """

    def __init__(self, url: str) -> None:
        self.path = url
        self._fs, self._fs_path = resolve(url)
        self._streaming = is_object_store(url)
        self._file: Any
        if self._streaming:
            self._file = call(url, "create", self._fs.open, self._fs_path, "wb")
        else:
            self._file = tempfile.SpooledTemporaryFile(max_size=_SPOOL_IN_MEMORY)
        self._written = 0
        self._done = False

    def write(self, data: Any) -> int:
        n = memoryview(data).nbytes
        try:
            self._file.write(data)
        except Exception as e:
            raise translate(e, self.path, "write") from e
        self._written += n
        if self._streaming:
            STATS.add(written=n)
        return n

    def tell(self) -> int:
        return self._written

    def flush(self) -> None:
        """Nothing to do: bytes are uploaded in blocks and at :meth:`commit`."""

    def commit(self) -> None:
        """Finish the upload: the object appears under its name, complete."""
        if self._done:
            return
        self._done = True
        if self._streaming:
            call(self.path, "finish writing", self._file.close)
            return
        try:
            self._file.seek(0)
            data = self._file.read()
        finally:
            self._file.close()
        call(self.path, "write", self._fs.pipe_file, self._fs_path, data)
        STATS.add(written=len(data))

    def abort(self) -> None:
        """Cancel the upload; whatever ``url`` held before stays as it was."""
        if self._done:
            return
        self._done = True
        try:
            if self._streaming:
                discard = getattr(self._file, "discard", None)
                if discard is not None:
                    discard()
                # A discarded upload must not be finished by a later close() or __del__.
                self._file.closed = True
            else:
                self._file.close()
        except Exception:  # aborting after an error: the first error is the one to see
            pass


__all__ = [
    "RemoteSource",
    "RemoteWriter",
    "TransferStats",
    "STATS",
    "fetch",
    "abort_uploads",
    "coalesce",
    "split",
    "resolve",
    "translate",
    "is_url",
    "is_object_store",
]
