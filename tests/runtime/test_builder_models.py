"""SavedModels our SavedModelBuilder writes run here with TensorFlow's outputs.

The builder tests rebuild, with savedmodel_io's Graph, the graphs TensorFlow's TF1 builder
wrote into tests/data/golden/builder/; make_runtime_goldens.py recorded what TensorFlow
computes on those TF-written twins. Our runtime on *our* builds must give the same.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from savedmodel_io import saved_model
from tests.runtime import golden_util as gu

builder_tests = pytest.importorskip("tests.saved_model.test_builder")

CASES = ["hp2_ref", "hp2_resource", "two_tags", "mlp", "assets"]


def _record(name: str) -> dict[str, Any]:
    for rec in gu.manifest()["existing"]:
        if rec["model"] == f"builder/{name}":
            out: dict[str, Any] = rec
            return out
    raise LookupError(name)


@pytest.mark.parametrize("case", CASES)
def test_builder_made_models_give_tensorflows_outputs(case: str, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    builder_tests.write_asset_sources(tmp_path)
    out = tmp_path / "model"
    builder_tests.BUILDERS[case](str(out))
    loaded = saved_model.load(out, ["serve"])
    for call in _record(case)["calls"]:
        inputs = {k: gu.value(v) for k, v in call["inputs"].items()}
        got = loaded.signatures[call["signature"]](**inputs)
        assert sorted(got) == sorted(call["outputs"])
        for key, spec in call["outputs"].items():
            gu.assert_close(got[key], gu.value(spec), f"{case} {key}")
