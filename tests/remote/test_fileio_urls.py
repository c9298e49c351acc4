"""The file-access seam on URLs: every fileio function on ``memory://`` and ``file://``."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from savedmodel_io import fileio, remote
from savedmodel_io.errors import (
    AlreadyExistsError,
    FailedPreconditionError,
    InvalidArgumentError,
    NotFoundError,
    ResourceExhaustedError,
)


def test_url_recognition() -> None:
    assert fileio.is_url("s3://b/k") and fileio.is_remote("s3://b/k")
    assert fileio.is_remote("simplecache::s3://b/k")
    assert fileio.is_url("file:///tmp/x") and not fileio.is_remote("file:///tmp/x")
    assert not fileio.is_url("/tmp/x") and not fileio.is_url("relative/x")
    assert not fileio.is_url("C:/x") and not fileio.is_url("C:\\x")  # a drive, not a scheme
    assert fileio.is_object_store("gs://b/k") and fileio.is_object_store("s3a://b/k")
    assert not fileio.is_object_store("memory://x") and not fileio.is_object_store("/x")


def test_path_helpers_keep_urls() -> None:
    assert fileio.join("s3://b/run", "checkpoint") == "s3://b/run/checkpoint"
    assert fileio.join("s3://b/run/", "a", "b") == "s3://b/run/a/b"
    assert fileio.dirname("s3://b/run/model.ckpt-1") == "s3://b/run"
    assert fileio.basename("s3://b/run/model.ckpt-1") == "model.ckpt-1"
    assert fileio.isabs("gs://b/x") and not fileio.isabs("x")
    assert fileio.abspath("s3://b/export/") == "s3://b/export"
    assert fileio.abspath("rel") == os.path.abspath("rel")
    assert fileio.normpath("s3://b/e/assets/./x/../y.txt") == "s3://b/e/assets/y.txt"
    assert fileio.realpath("s3://b/e/a") == "s3://b/e/a"
    assert fileio.relpath("s3://b/run/ckpt-2", "s3://b/run") == "ckpt-2"
    assert fileio.relpath("s3://other/ckpt-2", "s3://b/run") == "s3://other/ckpt-2"


def test_write_read_exists_remove(mem: str) -> None:
    path = fileio.join(mem, "dir", "file.bin")
    fileio.make_dirs(fileio.join(mem, "dir"))
    assert fileio.is_dir(fileio.join(mem, "dir"))
    assert not fileio.exists(path)
    fileio.atomic_write_bytes(path, b"hello")
    assert fileio.exists(path) and not fileio.is_dir(path)
    assert fileio.read_bytes(path) == b"hello"
    assert fileio.list_dir(fileio.join(mem, "dir")) == ["file.bin"]
    with pytest.raises(ResourceExhaustedError, match="more than the 3 allowed"):
        fileio.read_bytes(path, limit=3)
    fileio.remove(path)
    assert not fileio.exists(path)
    fileio.remove(path)  # missing_ok by default
    with pytest.raises(NotFoundError, match="no such file") as e:
        fileio.remove(path, missing_ok=False)
    assert e.value.path == path


def test_missing_file_errors_name_the_url(mem: str) -> None:
    path = fileio.join(mem, "nothing.pb")
    with pytest.raises(NotFoundError) as e:
        fileio.read_bytes(path)
    assert e.value.path == path
    with pytest.raises(NotFoundError):
        fileio.open_remote(path)


def test_atomic_open_abort_leaves_old_content(mem: str) -> None:
    path = fileio.join(mem, "state")
    fileio.atomic_write_bytes(path, b"old")
    with pytest.raises(RuntimeError, match="boom"):
        with fileio.atomic_open(path) as f:
            f.write(b"new and half")
            raise RuntimeError("boom")
    assert fileio.read_bytes(path) == b"old"
    # Nothing is visible under the name until commit.
    writer = fileio.AtomicWriter(fileio.join(mem, "fresh"))
    writer.file.write(b"abc")
    assert not fileio.exists(fileio.join(mem, "fresh"))
    writer.commit()
    assert fileio.read_bytes(fileio.join(mem, "fresh")) == b"abc"


def test_glob_matches_last_component_only(mem: str) -> None:
    d = fileio.join(mem, "odd[dir]")
    fileio.make_dirs(d)
    for name in ("m.data-00000-of-00002", "m.data-00001-of-00002", "m.index", "mx.index",
                 ".hidden"):
        fileio.atomic_write_bytes(fileio.join(d, name), b"x")
    got = fileio.glob(fileio.join(d, "m.data-?????-of-?????"))
    assert got == [fileio.join(d, "m.data-00000-of-00002"),
                   fileio.join(d, "m.data-00001-of-00002")]
    assert fileio.glob(fileio.join(d, "m.index")) == [fileio.join(d, "m.index")]
    assert fileio.glob(fileio.join(d, "*")) == sorted(
        fileio.join(d, n) for n in ("m.data-00000-of-00002", "m.data-00001-of-00002",
                                    "m.index", "mx.index"))
    assert fileio.glob(fileio.join(mem, "missing", "*")) == []


def test_rename_remove_tree_make_dir(mem: str) -> None:
    a, b = fileio.join(mem, "a"), fileio.join(mem, "b")
    fileio.atomic_write_bytes(a, b"1")
    fileio.rename(a, b)
    assert not fileio.exists(a) and fileio.read_bytes(b) == b"1"
    with pytest.raises(InvalidArgumentError, match="between local and remote"):
        fileio.rename(b, "/tmp/x")
    tree = fileio.join(mem, "tree")
    fileio.make_dir(tree)
    fileio.make_dir(tree)  # exists: fine
    fileio.atomic_write_bytes(fileio.join(tree, "f"), b"2")
    with pytest.raises(AlreadyExistsError):
        fileio.make_dir(fileio.join(tree, "f"))
    with pytest.raises(NotFoundError):
        fileio.make_dir(fileio.join(mem, "no", "parent"))
    fileio.remove_tree(tree)
    assert not fileio.exists(tree)
    fileio.remove_tree(tree)  # missing: fine
    empty = fileio.join(mem, "empty")
    fileio.make_dir(empty)
    fileio.remove_dir(empty)
    assert not fileio.exists(empty)


def test_mtime(mem: str) -> None:
    path = fileio.join(mem, "f")
    fileio.atomic_write_bytes(path, b"1")
    import time
    assert abs(fileio.get_mtime(path) - time.time()) < 60


def test_file_urls_are_local_paths(tmp_path: Path) -> None:
    url = "file://" + str(tmp_path / "x.bin")
    fileio.atomic_write_bytes(url, b"local")
    assert (tmp_path / "x.bin").read_bytes() == b"local"
    assert fileio.read_bytes(url) == b"local"
    assert fileio.exists(url) and fileio.is_dir("file://" + str(tmp_path))
    assert fileio.glob("file://" + str(tmp_path / "*.bin")) == [url]
    assert not list(tmp_path.glob("*.tempstate*"))
    with fileio.open_local(url) as f:
        assert f.read() == b"local"


def test_unknown_protocol_and_missing_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(InvalidArgumentError, match="nosuchproto"):
        fileio.exists("nosuchproto://x/y")

    def no_fsspec() -> None:
        raise FailedPreconditionError(remote.EXTRA_HINT)
    monkeypatch.setattr(remote, "_fsspec", no_fsspec)
    with pytest.raises(FailedPreconditionError, match=r"savedmodel_io\[remote\]"):
        fileio.read_bytes("s3://bucket/key")


def test_local_paths_never_import_fsspec(tmp_path: Path) -> None:
    import subprocess
    import sys
    code = ("import sys, numpy as np, savedmodel_io as s\n"
            f"s.save_checkpoint({{'w': np.ones(3)}}, {str(tmp_path / 'm')!r})\n"
            f"assert list(s.load_checkpoint({str(tmp_path / 'm')!r})) == ['w']\n"
            "assert 'fsspec' not in sys.modules, 'fsspec imported for a local path'\n")
    subprocess.run([sys.executable, "-c", code], check=True)
