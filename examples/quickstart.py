"""A first tour of savedmodel_io: write a checkpoint TensorFlow can read, read real ones.

Run from a checkout (see README.md):  .venv/bin/python examples/quickstart.py
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np

import savedmodel_io
from savedmodel_io import train

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus" / "tf-serving"


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="savedmodel_io-quickstart-"))
    rng = np.random.default_rng(0)

    # 1. Write a checkpoint from plain numpy arrays (dict order = data file order).
    prefix = savedmodel_io.save_checkpoint(
        {
            "dense/kernel": rng.standard_normal((4, 3)).astype(np.float32),
            "dense/bias": np.zeros(3, np.float32),
            "vocab": np.array([b"hello", "wörld".encode(), b""], dtype=object),
            "global_step": np.int64(42),
        },
        work / "model.ckpt-42",
    )
    train.update_checkpoint_state(str(work), prefix)
    print("wrote", prefix, sorted(p.name for p in work.iterdir()))

    # 2. Read it back the way tf.train does: by directory (its latest) or by prefix.
    reader = train.load_checkpoint(str(work))
    for name, shape in sorted(reader.get_variable_to_shape_map().items()):
        print(f"  {name:14} {reader.get_variable_to_dtype_map()[name].name:10} {shape}")
    assert reader["global_step"] == 42
    print("  first kernel row:", reader.get_slice("dense/kernel", "0,1:-"))

    # 3. Real checkpoints that TensorFlow wrote: a TF2 SavedModel's variables and a
    #    pre-2017 "session bundle" in the legacy V1 format.
    if not CORPUS.is_dir():
        print("(corpus not found beside the checkout; skipping the real-files part)")
        return
    for rel in ("saved_model_half_plus_two_tf2_cpu/00000123/variables/variables",
                "session_bundle_half_plus_two/00000123/export-00000-of-00001"):
        with train.load_checkpoint(str(CORPUS / rel)) as r:
            values = {k: r[k] for k in r if not k.startswith("_")}
            print(f"{rel} (format V{r.format_version}):", values)


if __name__ == "__main__":
    sys.exit(main())
