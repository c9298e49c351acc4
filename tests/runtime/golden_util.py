"""Reading tests/data/golden/runtime/ (written by tests/data/make_runtime_goldens.py)."""

from __future__ import annotations

import base64
import json
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

RUNTIME = Path(__file__).resolve().parents[1] / "data" / "golden" / "runtime"


@lru_cache(maxsize=4)
def manifest(folder: Path = RUNTIME) -> dict[str, Any]:
    """``folder``'s manifest.json (the runtime goldens unless told otherwise)."""
    with open(folder / "manifest.json") as f:
        data: dict[str, Any] = json.load(f)
    return data


@lru_cache(maxsize=4)
def arrays(folder: Path = RUNTIME) -> dict[str, np.ndarray]:
    """``folder``'s arrays.npz, every array read."""
    with np.load(folder / "arrays.npz", allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def value(spec: dict[str, Any]) -> np.ndarray:
    """One recorded tensor: a numeric array from arrays.npz or an inline string tensor."""
    if "npz" in spec:
        return arrays()[spec["npz"]]
    flat = [base64.b64decode(s) for s in spec["strings_b64"]]
    out = np.empty(len(flat), object)
    out[:] = flat
    return out.reshape(spec["shape"])


def assert_close(ours: np.ndarray, tf: np.ndarray, what: str, rtol: float = 1e-5) -> None:
    """Equal to TensorFlow's: same dtype and shape; floats within ``rtol`` relative to the
    tensor's scale (so values near zero are held to the same absolute error)."""
    ours, tf = np.asarray(ours), np.asarray(tf)
    assert ours.shape == tf.shape, f"{what}: shape {ours.shape} != TF's {tf.shape}"
    assert ours.dtype == tf.dtype, f"{what}: dtype {ours.dtype} != TF's {tf.dtype}"
    if tf.dtype.kind in "fc" and tf.size:
        finite = np.isfinite(tf)
        np.testing.assert_array_equal(np.isnan(ours), np.isnan(tf), err_msg=what)
        np.testing.assert_array_equal(ours[~finite & ~np.isnan(tf)],
                                      tf[~finite & ~np.isnan(tf)], err_msg=what)
        scale = float(np.max(np.abs(tf[finite]))) if finite.any() else 1.0
        np.testing.assert_allclose(ours[finite].astype(np.float64),
                                   tf[finite].astype(np.float64), rtol=rtol,
                                   atol=rtol * max(scale, 1e-30), err_msg=what)
    else:
        np.testing.assert_array_equal(ours, tf, err_msg=what)
