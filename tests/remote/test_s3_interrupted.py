"""An interrupted save to S3 leaves the previous checkpoint readable and the state file on
it; a half-written checkpoint is never taken for one; the next save clears the leftovers.

The saving process is a real separate process that dies on the spot (``os._exit``) at a
chosen moment, as a killed trainer would: in the middle of a multipart data upload, or
after its data is uploaded but before the index is.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from savedmodel_io import fileio, remote
from savedmodel_io.errors import NotFoundError, UnavailableError
from savedmodel_io.train.checkpoint_reader import (
    checkpoint_exists,
    latest_checkpoint,
    load_checkpoint,
)
from savedmodel_io.train.saver import Saver
from savedmodel_io.train.variable import Variable

SRC = str(Path(__file__).resolve().parents[2] / "src")
BIG = 60 << 20  # above s3fs's 50 MiB block: this upload is multipart
SMALL = 4 << 20

CHILD = textwrap.dedent(r"""
    import json, os, sys
    import fsspec
    import numpy as np
    fsspec.config.conf["s3"] = json.loads(sys.argv[1])
    from savedmodel_io import remote
    from savedmodel_io.train.checkpoint_state import get_checkpoint_state
    from savedmodel_io.train.saver import Saver
    from savedmodel_io.train.variable import Variable

    mode, directory, step = sys.argv[2], sys.argv[3], int(sys.argv[4])
    commit, write = remote.RemoteWriter.commit, remote.RemoteWriter.write

    def die_before_index(self):
        if self.path.endswith(".index"):
            os._exit(9)
        commit(self)

    def die_mid_data(self, data):
        n = write(self, data)
        if self.path.endswith(".data-00000-of-00001") and self.tell() > (55 << 20):
            os._exit(9)  # 55 MiB written: the first 50 MiB part is uploaded
        return n

    if mode == "before-index":
        remote.RemoteWriter.commit = die_before_index
    elif mode == "mid-data":
        remote.RemoteWriter.write = die_mid_data
    size = BIG if mode == "mid-data" else SMALL
    v = Variable("big", np.full(size // 4, step, np.float32))
    saver = Saver([v], max_to_keep=5)
    state = get_checkpoint_state(directory)
    if state is not None:
        saver.recover_last_checkpoints(list(state.all_model_checkpoint_paths))
    saver.save(directory + "/model.ckpt", global_step=step, write_meta_graph=False)
    print("saved", flush=True)
""").replace("BIG", str(BIG)).replace("SMALL", str(SMALL))


def run_child(options: dict[str, Any], mode: str, directory: str, step: int) -> int:
    proc = subprocess.run([sys.executable, "-c", CHILD, json.dumps(options), mode, directory,
                           str(step)], env={"PYTHONPATH": SRC, "PATH": "/usr/bin:/bin"},
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode in (0, 9), proc.stderr
    return proc.returncode


def check_latest(directory: str, step: int) -> None:
    prefix = latest_checkpoint(directory)
    assert prefix == f"{directory}/model.ckpt-{step}"
    with load_checkpoint(prefix) as r:  # checksums verified
        big = r["big"]
    assert big.shape == (SMALL // 4,) and float(big[0]) == step and float(big[-1]) == step


def unfinished_uploads(s3_server: Any, bucket_url: str) -> list[str]:
    fs = s3_server.filesystem()
    bucket = bucket_url[len("s3://"):]
    return [u["Key"] for u in fs.call_s3("list_multipart_uploads",
                                         Bucket=bucket).get("Uploads", [])]


def test_killed_saves_leave_the_previous_checkpoint(s3: str, s3_server: Any) -> None:
    directory = f"{s3}/run"
    opts = s3_server.options()
    assert run_child(opts, "normal", directory, 1) == 0
    check_latest(directory, 1)

    # Killed in the middle of the data upload: the multipart upload never completes.
    assert run_child(opts, "mid-data", directory, 2) == 9
    check_latest(directory, 1)
    assert not checkpoint_exists(f"{directory}/model.ckpt-2")
    assert fileio.glob(f"{directory}/model.ckpt-2*") == []  # nothing half-written shows
    assert unfinished_uploads(s3_server, s3) == ["run/model.ckpt-2.data-00000-of-00001"]

    # Killed after the data, before the index: the data object is there, unindexed.
    assert run_child(opts, "before-index", directory, 2) == 9
    check_latest(directory, 1)
    assert fileio.exists(f"{directory}/model.ckpt-2.data-00000-of-00001")
    assert not checkpoint_exists(f"{directory}/model.ckpt-2")
    with pytest.raises(NotFoundError, match="no checkpoint"):
        load_checkpoint(f"{directory}/model.ckpt-2")

    # The next save of that checkpoint clears both kinds of leftovers, then commits.
    assert run_child(opts, "normal", directory, 2) == 0
    check_latest(directory, 2)
    assert unfinished_uploads(s3_server, s3) == []
    assert fileio.list_dir(directory) == [
        "checkpoint", "model.ckpt-1.data-00000-of-00001", "model.ckpt-1.index",
        "model.ckpt-2.data-00000-of-00001", "model.ckpt-2.index"]


def test_failed_upload_leaves_nothing(s3: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """An error while uploading (the store going away) aborts the upload and raises."""
    directory = f"{s3}/err"
    v = Variable("v", np.ones(1000, np.float32))
    saver = Saver([v])
    first = saver.save(f"{directory}/model", global_step=1, write_meta_graph=False)
    write = remote.RemoteWriter.write

    def failing(self: remote.RemoteWriter, data: Any) -> int:
        if self.path.endswith(".data-00000-of-00001"):
            raise remote.translate(ConnectionError("connection reset"), self.path, "write")
        return write(self, data)
    monkeypatch.setattr(remote.RemoteWriter, "write", failing)
    with pytest.raises(UnavailableError, match="connection reset"):
        saver.save(f"{directory}/model", global_step=2, write_meta_graph=False)
    assert latest_checkpoint(directory) == first
    assert fileio.glob(f"{directory}/model-2*") == []
