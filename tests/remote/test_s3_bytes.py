"""Reading one 4 MiB tensor of a 1 GiB checkpoint on S3 moves that tensor and the index only.

Bytes are counted by the server (every response body it sent). The checkpoint is written
by this library: 256 tensors of 4 MiB whose contents alternate between two arrays, so its
1 GiB data file is one 8 MiB block repeated. Only that block crosses the loopback; the
server assembles the data object from it (S3 multipart copy), keeping the test fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

import savedmodel_io
from savedmodel_io.train.checkpoint_reader import list_variables, load_variable

TENSOR = 4 << 20
COUNT = 256  # 1 GiB of data
A = np.arange(TENSOR // 4, dtype=np.float32)
B = -A - 1.0


def upload_big_checkpoint(tmp_path: Path, s3_server: Any, bucket_url: str) -> str:
    local = tmp_path / "model"
    savedmodel_io.save_checkpoint({f"t{i:03d}": (A if i % 2 == 0 else B)
                                   for i in range(COUNT)}, str(local))
    data = tmp_path / "model.data-00000-of-00001"
    block = A.tobytes() + B.tobytes()
    assert data.stat().st_size == COUNT * TENSOR
    with data.open("rb") as f:  # the file really is the block, repeated
        while chunk := f.read(len(block)):
            assert chunk == block
    fs = s3_server.filesystem()
    bucket = bucket_url[len("s3://"):]
    fs.pipe_file(f"{bucket}/big/model.index", (tmp_path / "model.index").read_bytes())
    fs.pipe_file(f"{bucket}/block", block)
    key = "big/model.data-00000-of-00001"
    mpu = fs.call_s3("create_multipart_upload", Bucket=bucket, Key=key)
    parts = []
    for n in range(1, COUNT // 2 + 1):
        r = fs.call_s3("upload_part_copy", Bucket=bucket, Key=key, PartNumber=n,
                       UploadId=mpu["UploadId"], CopySource={"Bucket": bucket, "Key": "block"})
        parts.append({"PartNumber": n, "ETag": r["CopyPartResult"]["ETag"]})
    fs.call_s3("complete_multipart_upload", Bucket=bucket, Key=key, UploadId=mpu["UploadId"],
               MultipartUpload={"Parts": parts})
    assert fs.size(f"{bucket}/{key}") == COUNT * TENSOR
    return f"{bucket_url}/big/model"


@pytest.mark.slow  # about a minute: the server assembles and stores 1 GiB
def test_one_tensor_of_a_1gib_checkpoint(tmp_path: Path, s3: str, s3_server: Any) -> None:
    prefix = upload_big_checkpoint(tmp_path, s3_server, s3)
    index_size = (tmp_path / "model.index").stat().st_size
    (tmp_path / "model.data-00000-of-00001").unlink()

    s3_server.reset()
    value = load_variable(prefix, "t137")
    log = s3_server.requests()
    np.testing.assert_array_equal(value, B)
    sent = sum(n for _, _, _, n in log)
    assert sent <= TENSOR + index_size, log
    gets = [(p.rsplit("/", 1)[1], r, n) for m, p, r, n in log if m == "GET"]
    assert gets == [  # the index whole (it is smaller than the tail fetched), one range
        ("model.index", f"bytes=0-{index_size - 1}", index_size),
        ("model.data-00000-of-00001", f"bytes={137 * TENSOR}-{138 * TENSOR - 1}", TENSOR)]
    assert {m for m, _, _, _ in log} == {"GET", "HEAD"}, log

    s3_server.reset()
    names = dict(list_variables(prefix))
    log = s3_server.requests()
    assert len(names) == COUNT and names["t000"] == [TENSOR // 4]
    assert sum(n for _, _, _, n in log) <= index_size
    assert not [p for _, p, _, _ in log if p.endswith("00001")]  # the data is not touched
