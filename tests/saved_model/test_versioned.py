"""TF Serving base paths and Estimator-style timestamped exports."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from savedmodel_io.errors import AlreadyExistsError, InvalidArgumentError, NotFoundError
from savedmodel_io.saved_model import versioned


def make_version(base: Path, name: str, *, model: bool = True) -> Path:
    d = base / name
    d.mkdir(parents=True)
    if model:
        (d / "saved_model.pb").write_bytes(b"")
    return d


def test_parse_version() -> None:
    assert versioned.parse_version("00000123") == 123
    assert versioned.parse_version("0") == 0
    for bad in ("tmp", "1.bak", "-1", "+1", " 1", "1 ", "", "temp-123", "١٢", "1e3",
                str(1 << 63)):
        assert versioned.parse_version(bad) is None, bad
    assert versioned.parse_version(str((1 << 63) - 1)) == (1 << 63) - 1


def test_list_versions_and_latest(tmp_path: Path) -> None:
    for name in ("1", "00000123", "20", "7"):
        make_version(tmp_path, name)
    make_version(tmp_path, "999", model=False)  # no SavedModel yet (being written)
    make_version(tmp_path, "tmp")
    make_version(tmp_path, "1.bak")
    make_version(tmp_path, "temp-500")
    (tmp_path / "42").write_text("a file, not a version")
    assert versioned.list_versions(tmp_path) == [1, 7, 20, 123]
    assert versioned.latest_version_path(tmp_path) == str(tmp_path / "00000123")
    assert versioned.list_versions(str(tmp_path)) == [1, 7, 20, 123]


def test_corpus_two_versions(corpus: Path) -> None:
    base = corpus / "saved_model_half_plus_two_2_versions"
    assert versioned.list_versions(base) == [123, 124]
    assert versioned.latest_version_path(base) == str(base / "00000124")


def test_empty_and_missing_base(tmp_path: Path) -> None:
    assert versioned.list_versions(tmp_path) == []
    with pytest.raises(NotFoundError):
        versioned.latest_version_path(tmp_path)
    with pytest.raises(NotFoundError):
        versioned.list_versions(tmp_path / "missing")


def test_timestamped_export_dir(tmp_path: Path) -> None:
    clock = lambda: 1700000000.7  # noqa: E731
    first = versioned.get_timestamped_export_dir(tmp_path, clock=clock)
    assert first == str(tmp_path / "1700000000")
    assert not os.path.exists(first)
    os.mkdir(first)
    second = versioned.get_timestamped_export_dir(tmp_path, clock=clock)
    assert second == str(tmp_path / "1700000001")
    os.mkdir(versioned.get_temp_export_dir(second))  # an export in progress takes it too
    assert versioned.get_timestamped_export_dir(tmp_path, clock=clock) == str(
        tmp_path / "1700000002")
    real = versioned.get_timestamped_export_dir(tmp_path)
    assert versioned.parse_version(os.path.basename(real)) is not None


def test_timestamped_export_dir_gives_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                         ) -> None:
    monkeypatch.setattr(versioned, "MAX_DIRECTORY_CREATION_ATTEMPTS", 2)
    for name in ("5", "6"):
        (tmp_path / name).mkdir()
    with pytest.raises(AlreadyExistsError, match="Failed to obtain a unique export"):
        versioned.get_timestamped_export_dir(tmp_path, clock=lambda: 5.0)


def test_temp_export_dir() -> None:
    assert versioned.get_temp_export_dir("/m/base/1700000000") == "/m/base/temp-1700000000"
    assert versioned.get_temp_export_dir("/m/base/1700000000/") == "/m/base/temp-1700000000"
    assert versioned.get_temp_export_dir(Path("rel/17")) == os.path.join("rel", "temp-17")


def test_garbage_collect_exports(tmp_path: Path) -> None:
    for name in ("100", "200", "300", "0400"):
        make_version(tmp_path, name)
    make_version(tmp_path, "50", model=False)
    for keep in ("tmp", "1.bak", "temp-10"):
        make_version(tmp_path, keep)
    (tmp_path / "7").write_text("a plain file")
    outside = tmp_path.parent / (tmp_path.name + "_target")
    outside.mkdir()
    (outside / "precious").write_text("x")
    (tmp_path / "60").symlink_to(outside, target_is_directory=True)

    assert versioned.garbage_collect_exports(tmp_path, None) == []
    deleted = versioned.garbage_collect_exports(tmp_path, 2)
    assert deleted == [str(tmp_path / n) for n in ("50", "60", "100", "200")]
    assert sorted(os.listdir(tmp_path)) == ["0400", "1.bak", "300", "7", "temp-10", "tmp"]
    assert (outside / "precious").exists()  # a link is removed, never followed
    assert versioned.garbage_collect_exports(tmp_path, 5) == []
    assert versioned.garbage_collect_exports(tmp_path, 0) == [
        str(tmp_path / "300"), str(tmp_path / "0400")]
    assert sorted(os.listdir(tmp_path)) == ["1.bak", "7", "temp-10", "tmp"]
    assert versioned.garbage_collect_exports(tmp_path / "missing", 1) == []
    with pytest.raises(InvalidArgumentError):
        versioned.garbage_collect_exports(tmp_path, -1)
