"""RemoteSource: exact ranges, index tail, read-ahead, coalescing, parallel parts, counters."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from savedmodel_io import fileio, remote
from savedmodel_io.errors import DataLossError, InvalidArgumentError

DATA = bytes(range(256)) * 4096  # 1 MiB, every offset distinguishable mod 256


@pytest.fixture
def blob(mem: str) -> str:
    path = fileio.join(mem, "blob")
    fileio.atomic_write_bytes(path, DATA)
    return path


def test_coalesce_and_split() -> None:
    assert remote.coalesce([(100, 10), (0, 10), (10, 5), (200, 0)], gap=0) == [(0, 15),
                                                                               (100, 110)]
    assert remote.coalesce([(0, 10), (50, 10)], gap=40) == [(0, 60)]
    assert remote.coalesce([(0, 10), (51, 10)], gap=40) == [(0, 10), (51, 61)]
    assert remote.coalesce([(0, 100), (10, 5)], gap=0) == [(0, 100)]  # contained
    assert remote.split(0, 10, 4) == [(0, 4), (4, 8), (8, 10)]
    assert remote.split(5, 5, 4) == []


def test_read_at_fetches_exactly_the_range(blob: str) -> None:
    with fileio.open_remote(blob) as src:
        assert src.size == len(DATA) and src.requests == 1  # the size
        assert bytes(src.read_at(1000, 300)) == DATA[1000:1300]
        assert src.requests == 2 and src.bytes_read == 300
        assert bytes(src.read_at(0, 0)) == b""
        with pytest.raises(DataLossError, match="runs past the end"):
            src.read_at(len(DATA) - 10, 11)
        with pytest.raises(InvalidArgumentError):
            src.read_at(-1, 2)
        assert src.requests == 2  # bad ranges are refused before any request


def test_tail_is_fetched_once_and_kept(blob: str) -> None:
    with fileio.open_remote(blob, tail=64 << 10) as src:
        footer = src.read_at(len(DATA) - 48, 48)
        assert bytes(footer) == DATA[-48:]
        assert src.requests == 2 and src.bytes_read == 64 << 10
        # The index block and last data blocks now cost nothing.
        assert bytes(src.read_at(len(DATA) - 5000, 4000)) == DATA[-5000:-1000]
        assert src.requests == 2
        src.release()  # the tail survives release()
        assert bytes(src.read_at(len(DATA) - 100, 10)) == DATA[-100:-90]
        assert src.requests == 2


def test_readahead_serves_following_small_reads(blob: str) -> None:
    with fileio.open_remote(blob, readahead=8192) as src:
        src.read_at(0, 100)
        assert src.bytes_read == 8192
        for off in range(100, 8000, 500):
            assert bytes(src.read_at(off, 100)) == DATA[off:off + 100]
        assert src.requests == 2
        big = src.read_at(100_000, 10_000)  # not smaller than the read-ahead: exact
        assert bytes(big) == DATA[100_000:110_000] and src.bytes_read == 8192 + 10_000


def test_fetch_merges_neighbours_and_serves_reads(blob: str) -> None:
    with fileio.open_remote(blob) as src:
        before = src.requests
        remote.fetch([(src, [(0, 1000), (1000, 1000), (2500, 500), (900_000, 100)])],
                     gap=1024)
        assert src.requests - before == 2  # [0, 3000) and [900000, 900100)
        assert src.bytes_read == 3000 + 100
        assert bytes(src.read_at(2500, 500)) == DATA[2500:3000]
        buf = np.empty(1000, np.uint8)
        src.read_into(1000, buf)
        assert buf.tobytes() == DATA[1000:2000]
        assert src.requests - before == 2
        src.release()
        src.read_at(0, 10)
        assert src.requests - before == 3


def test_fetch_runs_parts_and_files_in_parallel(mem: str, monkeypatch: pytest.MonkeyPatch
                                                ) -> None:
    paths = []
    for i in range(3):
        p = fileio.join(mem, f"shard{i}")
        fileio.atomic_write_bytes(p, DATA)
        paths.append(p)
    sources = [fileio.open_remote(p) for p in paths]
    original = remote.RemoteSource._get
    lock = threading.Lock()
    inside = [0, 0]  # requests in flight now, most ever in flight together
    overlapped = threading.Event()

    def spy(self: remote.RemoteSource, start: int, end: int) -> bytes:
        # memory:// answers at once, so a fast first thread could take every part by
        # itself; holding each request until a second one arrives shows whether requests
        # really run together (a sequential fetch would only time out here).
        with lock:
            inside[0] += 1
            inside[1] = max(inside)
            if inside[0] >= 2:
                overlapped.set()
        overlapped.wait(timeout=2)
        try:
            return original(self, start, end)
        finally:
            with lock:
                inside[0] -= 1
    monkeypatch.setattr(remote.RemoteSource, "_get", spy)
    remote.fetch([(s, [(0, len(DATA))]) for s in sources], part_size=256 << 10)
    assert sum(s.requests for s in sources) == 3 + 3 * 4  # sizes, then 4 parts a file
    assert inside[1] >= 2, "parts were fetched one after another"
    for s in sources:
        assert bytes(s.read_at(123_456, 1000)) == DATA[123_456:124_456]


def test_large_read_into_is_split_into_parts(blob: str, monkeypatch: pytest.MonkeyPatch
                                             ) -> None:
    monkeypatch.setattr(remote, "PART_SIZE", 100_000)
    with fileio.open_remote(blob) as src:
        buf = bytearray(len(DATA) - 10)
        src.read_into(10, buf)
        assert bytes(buf) == DATA[10:]
        assert src.requests == 1 + 11


def test_short_answer_is_data_loss(blob: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with fileio.open_remote(blob) as src:
        fs = src._fs
        monkeypatch.setattr(fs, "cat_file", lambda *a, **k: b"short")
        with pytest.raises(DataLossError, match="truncated"):
            src.read_at(0, 100)


def test_global_stats_count_requests_and_bytes(blob: str) -> None:
    before = remote.STATS.snapshot()
    data = fileio.read_bytes(blob)
    after = remote.STATS.snapshot()
    assert data == DATA
    assert after["bytes_read"] - before["bytes_read"] == len(DATA)
    assert after["requests"] - before["requests"] == 1
