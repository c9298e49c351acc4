"""Recurrent SavedModels TF 2.21 wrote (Keras LSTM/GRU/SimpleRNN/Bidirectional, a
tf.TensorArray loop) run by our interpreter against TensorFlow's recorded outputs.

Written by tests/data/golden/rnn/make_rnn_goldens.py; no TensorFlow needed here.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from savedmodel_io import saved_model

RNN = Path(__file__).resolve().parents[1] / "data" / "golden" / "rnn"
MODELS = sorted(p.stem for p in RNN.glob("*.npz"))


def test_every_model_has_its_recording() -> None:
    assert set(MODELS) == {"lstm_seq", "lstm_last", "gru_seq", "gru_last", "simple_rnn_seq",
                           "simple_rnn_last", "bidi_lstm", "tensor_array"}
    for name in MODELS:
        assert (RNN / name / "saved_model.pb").is_file(), name


@pytest.mark.parametrize("name", MODELS)
def test_model_matches_tensorflow(name: str) -> None:
    loaded = saved_model.load(RNN / name, ["serve"])
    sig = loaded.signatures["serving_default"]
    with np.load(RNN / f"{name}.npz", allow_pickle=False) as z:
        recorded = {k: z[k] for k in z.files}
    batches = sorted({k.split("/")[0] for k in recorded})
    assert len(batches) == 2
    for batch in batches:
        inputs = {k.split("/")[2]: v for k, v in recorded.items()
                  if k.startswith(f"{batch}/in/")}
        want = {k.split("/")[2]: v for k, v in recorded.items()
                if k.startswith(f"{batch}/out/")}
        got = sig(**inputs)
        assert sorted(got) == sorted(want), f"{name} batch {batch}"
        for key, tf_value in want.items():
            what = f"{name} batch {batch} output {key}"
            assert got[key].dtype == tf_value.dtype, what
            assert got[key].shape == tf_value.shape, what
            np.testing.assert_allclose(got[key], tf_value, rtol=1e-5, atol=1e-6, err_msg=what)
