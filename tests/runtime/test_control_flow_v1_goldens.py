"""TF1 control-flow (v1) SavedModels run by our interpreter against TensorFlow's outputs.

The models and outputs come from tests/data/golden/control_flow_v1/make_cf_v1_goldens.py
(TensorFlow 2.21, graph mode, control flow v1): conds on a placeholder predicate, nested
conds, while loops (plain, nested, with a cond inside) and dynamic_rnn (LSTMCell with
sequence lengths, BasicRNNCell).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from savedmodel_io import saved_model
from tests.runtime import golden_util as gu

HERE = Path(__file__).resolve().parents[1] / "data" / "golden" / "control_flow_v1"


def _manifest() -> dict[str, Any]:
    return gu.manifest(HERE)


def _arrays() -> dict[str, np.ndarray]:
    return gu.arrays(HERE)


@pytest.mark.parametrize("record", _manifest()["models"], ids=lambda r: r["model"])
def test_tf1_control_flow_model_matches_tensorflow(record: dict[str, Any]) -> None:
    name = record["model"]
    loaded = saved_model.load(HERE / name, tags=["serve"])
    sig = loaded.signatures[record["signature"]]
    arrays = _arrays()
    for i, call in enumerate(record["calls"]):
        inputs = {k: arrays[f"{name}/{i}/in/{k}"] for k in call["inputs"]}
        out = sig(**inputs)
        assert sorted(out) == call["outputs"]
        for key in call["outputs"]:
            want = arrays[f"{name}/{i}/out/{key}"]
            got = np.asarray(out[key])
            assert got.dtype == want.dtype and got.shape == want.shape, (name, i, key)
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6,
                                       err_msg=f"{name} call {i} output {key}")


def test_goldens_hold_v1_control_flow_ops() -> None:
    """The models really are control flow v1 (no If/While functional ops)."""
    from savedmodel_io.saved_model.loader import LoadedSavedModel

    for record in _manifest()["models"]:
        loaded = saved_model.load(HERE / record["model"], tags=["serve"])
        assert isinstance(loaded, LoadedSavedModel)
        ops = {n.op for n in loaded.meta_graph_def.graph_def.node}
        assert {"Switch", "Merge"} <= ops, record["model"]
        assert not ops & {"If", "StatelessIf", "While", "StatelessWhile"}, record["model"]
        if "while" in record["model"] or "rnn" in record["model"] or record["model"] == "lstm":
            assert {"Enter", "Exit", "NextIteration", "LoopCond"} <= ops, record["model"]
