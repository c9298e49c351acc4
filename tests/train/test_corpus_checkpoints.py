"""Every checkpoint in the TF Serving corpus reads with the values TensorFlow 2.21 reads."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from savedmodel_io import load_checkpoint
from savedmodel_io.dtypes import python_name
from tests.conftest import CORPUS

EXPECTED = CORPUS / "_expected" / "variables.json"


def _cases() -> list[tuple[str, dict[str, Any]]]:
    if not EXPECTED.is_file():
        return []
    return sorted(json.loads(EXPECTED.read_text()).items())


CASES = _cases()


def test_corpus_is_present() -> None:
    # The corpus is part of the project's environment (CI checks out shared/ beside us).
    assert CASES, f"no expectations at {EXPECTED}"


@pytest.mark.parametrize(("prefix", "tensors"), CASES, ids=[c[0] for c in CASES])
def test_reads_like_tensorflow(corpus: Path, prefix: str, tensors: dict[str, Any]) -> None:
    reader = load_checkpoint(corpus / prefix)
    assert sorted(reader) == sorted(tensors)
    shapes = reader.get_variable_to_shape_map()
    dtypes = reader.get_variable_to_dtype_map()
    for name, want in tensors.items():
        assert "error" not in want, want
        assert python_name(dtypes[name]) == want["dtype"]
        assert shapes[name] == want["shape"]
        value = reader[name]
        if want["dtype"] == "string":
            assert value.shape == tuple(want["shape"])
            if "bytes tensor" in str(want["value"]):
                size = int(str(want["value"]).split(",")[1].split()[0])
                assert len(value.item()) == size
            continue
        np.testing.assert_array_equal(value, np.asarray(want["value"], dtype=value.dtype))
    reader.close()
