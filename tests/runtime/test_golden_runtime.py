"""Our interpreter against TensorFlow 2.21's recorded outputs (no TensorFlow needed).

Every signature of the tf-serving corpus, the SavedModels of tests/data/golden/, the small
models make_runtime_goldens.py wrote (Keras MLP/CNN/text, a TF1 builder model, a TF2
module with control flow) and ~200 single-op graphs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from savedmodel_io import saved_model
from savedmodel_io.errors import SavedModelIOError
from savedmodel_io.protos import graph_pb2
from savedmodel_io.runtime import GraphRunner
from tests.runtime import golden_util as gu

GOLDEN = Path(__file__).resolve().parents[1] / "data" / "golden"


def _calls(loaded: Any, record: dict[str, Any], label: str) -> None:
    for i, call in enumerate(record["calls"]):
        inputs = {k: gu.value(v) for k, v in call["inputs"].items()}
        sig = loaded.signatures[call["signature"]]
        what = f"{label} call {i} {call['signature']}"
        if "error" in call:
            with pytest.raises(SavedModelIOError):
                sig(**inputs)
            continue
        out = sig(**inputs)
        assert sorted(out) == sorted(call["outputs"]), what
        for key, spec in call["outputs"].items():
            gu.assert_close(out[key], gu.value(spec), f"{what} output {key}")


def _records(section: str) -> list[dict[str, Any]]:
    return list(gu.manifest()[section])


@pytest.mark.parametrize("record", _records("corpus"), ids=lambda r: r["model"])
def test_corpus_signatures_match_tensorflow(corpus: Path, record: dict[str, Any]) -> None:
    loaded = saved_model.load(corpus / record["model"], ["serve"])
    _calls(loaded, record, record["model"])


@pytest.mark.parametrize("record", _records("existing"), ids=lambda r: r["model"])
def test_golden_savedmodels_match_tensorflow(record: dict[str, Any]) -> None:
    loaded = saved_model.load(GOLDEN / record["model"], ["serve"])
    _calls(loaded, record, record["model"])


@pytest.mark.parametrize("record", _records("models"), ids=lambda r: r["model"])
def test_tf_written_models_match_tensorflow(record: dict[str, Any]) -> None:
    loaded = saved_model.load(gu.RUNTIME / record["dir"], ["serve"])
    _calls(loaded, record, record["model"])


@pytest.mark.parametrize("case", _records("ops"), ids=lambda c: c["name"])
def test_op_graphs_match_tensorflow(case: dict[str, Any]) -> None:
    graph = graph_pb2.GraphDef()
    graph.ParseFromString(gu.value(case["graph"]).tobytes())
    runner = GraphRunner(graph)
    feeds = {name: gu.value(v) for name, v in zip(case["feeds"], case["inputs"], strict=True)}
    outs = runner.run(case["fetches"], feeds)
    assert len(outs) == len(case["outputs"])
    for i, (ours, spec) in enumerate(zip(outs, case["outputs"], strict=True)):
        gu.assert_close(np.asarray(ours), gu.value(spec), f"{case['name']} output {i}")
