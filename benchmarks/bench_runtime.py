"""Signature call speed of the numpy runtime against TensorFlow, on the same SavedModels.

    python benchmarks/bench_runtime.py                # Keras MLP 784-256-10, a small CNN, an LSTM
    python benchmarks/bench_runtime.py --no-tf --json bench.json

With TensorFlow importable (and no ``--no-tf``), Keras writes the two models and both
runtimes run them in this one process: TensorFlow through
``tf.saved_model.load(d).signatures["serving_default"]`` (numpy in, ``.numpy()`` out), ours
through ``savedmodel_io.saved_model.load(d, ["serve"]).signatures[...]``. Without it the
same architectures are built with savedmodel_io's graph builder and only ours is timed.
Each case is the median of ``--repeat`` calls after warm-up, at batch 1 and 128; "load"
is loading the model plus the first call.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any


def _threads(n: int | None) -> None:
    # Must run before numpy is imported to take effect on its BLAS.
    if n:
        for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[var] = str(n)


def median_ms(fn: Callable[[], object], repeat: int) -> float:
    fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e3


# ------------------------------------------------------------------ models


def keras_models(tf: Any, root: str) -> dict[str, str]:
    import keras

    layers = keras.layers
    keras.utils.set_random_seed(0)
    mlp = keras.Sequential([keras.Input((784,)), layers.Dense(256, activation="relu"),
                            layers.Dropout(0.2), layers.Dense(10, activation="softmax")])
    cnn = keras.Sequential([
        keras.Input((28, 28, 1)), layers.Conv2D(16, 3, padding="same", activation="relu"),
        layers.BatchNormalization(), layers.MaxPooling2D(2),
        layers.Conv2D(32, 3, strides=2, padding="valid", activation="relu"),
        layers.AveragePooling2D(2), layers.Flatten(), layers.Dense(64, activation="relu"),
        layers.Dropout(0.3), layers.Dense(10)])
    # A While loop over TensorList ops: the interpreter's per-step overhead, 20 times.
    lstm = keras.Sequential([keras.Input((20, 8)), layers.LSTM(32), layers.Dense(10)])
    out = {}
    for name, model in (("mlp", mlp), ("cnn", cnn), ("lstm", lstm)):
        out[name] = os.path.join(root, name)
        model.export(out[name], verbose=False)
    return out


def builder_models(root: str) -> dict[str, str]:
    """The same architectures with savedmodel_io's Graph and SavedModelBuilder."""
    import numpy as np

    from savedmodel_io.graph import Graph
    from savedmodel_io.saved_model import signature_def_utils as sdu
    from savedmodel_io.saved_model.builder import SavedModelBuilder

    rng = np.random.RandomState(0)

    def var(g: Graph, name: str, *shape: int) -> Any:
        return g.variable(name, (rng.randn(*shape) * 0.1).astype(np.float32), resource=True)

    def save(g: Graph, x: Any, y: Any, path: str) -> str:
        b = SavedModelBuilder(path)
        b.add_meta_graph_and_variables(g, ["serve"], signature_def_map={
            "serving_default": sdu.predict_signature_def({"x": x}, {"y": y})})
        b.save()
        return path

    g = Graph()
    x = g.placeholder(np.float32, shape=(None, 784), name="x")
    h = g.op("Relu", [g.op("BiasAdd", [g.op("MatMul", [x, var(g, "w1", 784, 256)]),
                                       var(g, "b1", 256)])])
    y = g.op("Softmax", [g.op("BiasAdd", [g.op("MatMul", [h, var(g, "w2", 256, 10)]),
                                          var(g, "b2", 10)])], name="y")
    out = {"mlp": save(g, x, y, os.path.join(root, "mlp"))}

    g = Graph()
    x = g.placeholder(np.float32, shape=(None, 28, 28, 1), name="x")
    c1 = g.op("Relu", [g.op("BiasAdd", [g.op("Conv2D", [x, var(g, "k1", 3, 3, 1, 16)],
                                             strides=[1, 1, 1, 1], padding="SAME"),
                                        var(g, "c1", 16)])])
    bn = g.add_op("FusedBatchNormV3", [c1, var(g, "gamma", 16), var(g, "beta", 16),
                                       var(g, "mean", 16),
                                       g.variable("var", np.ones(16, np.float32),
                                                  resource=True)],
                  attrs={"is_training": False}).outputs[0]
    p1 = g.op("MaxPool", [bn], ksize=[1, 2, 2, 1], strides=[1, 2, 2, 1], padding="VALID")
    c2 = g.op("Relu", [g.op("BiasAdd", [g.op("Conv2D", [p1, var(g, "k2", 3, 3, 16, 32)],
                                             strides=[1, 2, 2, 1], padding="VALID"),
                                        var(g, "c2", 32)])])
    p2 = g.op("AvgPool", [c2], ksize=[1, 2, 2, 1], strides=[1, 2, 2, 1], padding="VALID")
    flat = g.op("Reshape", [p2, g.constant(np.array([-1, 288], np.int32))])
    d1 = g.op("Relu", [g.op("BiasAdd", [g.op("MatMul", [flat, var(g, "w3", 288, 64)]),
                                        var(g, "b3", 64)])])
    y = g.op("BiasAdd", [g.op("MatMul", [d1, var(g, "w4", 64, 10)]), var(g, "b4", 10)],
             name="y")
    out["cnn"] = save(g, x, y, os.path.join(root, "cnn"))
    return out


# ------------------------------------------------------------------ timing


def load_ours(saved_model: Any, path: str, zeros: Any) -> tuple[Any, str]:
    sig = saved_model.load(path, ["serve"]).signatures["serving_default"]
    (key,) = list(sig.inputs)
    sig(**{key: zeros})
    return sig, key


def load_tf(tf: Any, path: str, zeros: Any) -> tuple[Any, str]:
    fn = tf.saved_model.load(path).signatures["serving_default"]
    key = list(fn.structured_input_signature[1])[0]
    fn(**{key: tf.constant(zeros)})
    return fn, key


def ours_call(sig: Any, key: str, x: Any) -> Callable[[], object]:
    return lambda: sig(**{key: x})


def tf_call(tf: Any, fn: Any, key: str, x: Any) -> Callable[[], Any]:
    """A TF call as a numpy user makes it: numpy in, numpy out (first output returned)."""
    def call() -> Any:
        outs = [v.numpy() for v in fn(**{key: tf.constant(x)}).values()]
        return outs[0]
    return call


def run(args: argparse.Namespace) -> dict[str, Any]:
    import numpy as np

    import savedmodel_io.runtime.kernels  # noqa: F401  (imports are not part of "load")
    from savedmodel_io import saved_model

    tf = None
    if not args.no_tf:
        try:
            os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
            import tensorflow as tf  # type: ignore[no-redef]
        except ImportError:
            tf = None
    if tf is not None and args.threads:
        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    root = tempfile.mkdtemp(prefix="bench_runtime_")
    models = keras_models(tf, root) if tf is not None else builder_models(root)
    shapes = {"mlp": (784,), "cnn": (28, 28, 1), "lstm": (20, 8)}
    rng = np.random.default_rng(0)
    rows = []
    for name, path in models.items():
        zeros = np.zeros((1, *shapes[name]), np.float32)
        t0 = time.perf_counter()
        sig, key = load_ours(saved_model, path, zeros)
        ours_first = (time.perf_counter() - t0) * 1e3
        first: dict[str, Any] = {"model": name, "case": "load + first call",
                                 "ours_ms": ours_first}
        tf_fn = tf_key = None
        if tf is not None:
            t0 = time.perf_counter()
            tf_fn, tf_key = load_tf(tf, path, zeros)
            first["tf_ms"] = (time.perf_counter() - t0) * 1e3
        rows.append(first)
        for batch in (1, 128):
            x = rng.random((batch, *shapes[name]), dtype=np.float32)
            repeat = args.repeat if batch == 1 else max(args.repeat // 10, 5)
            row: dict[str, Any] = {"model": name, "case": f"batch {batch}",
                                   "ours_ms": median_ms(ours_call(sig, key, x), repeat)}
            if tf_fn is not None and tf_key is not None:
                call = tf_call(tf, tf_fn, tf_key, x)
                want = call()
                got = next(iter(sig(**{key: x}).values()))
                row["max_abs_diff"] = float(np.max(np.abs(got - want)))
                row["tf_ms"] = median_ms(call, repeat)
            rows.append(row)
    for row in rows:
        if "tf_ms" in row:
            row["ours_over_tf"] = row["ours_ms"] / row["tf_ms"]
    return {
        "benchmark": "bench_runtime.py",
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "tensorflow": tf.__version__ if tf is not None else None,
        "models": "keras export" if tf is not None else "savedmodel_io builder",
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "threads": args.threads,
        "rows": rows,
    }


def print_table(report: dict[str, Any]) -> None:
    print(f"numpy {report['numpy']}, TensorFlow {report['tensorflow'] or '-'}, "
          f"models: {report['models']}, {report['cpus']} CPUs, threads "
          f"{report['threads'] or 'default'}")
    print(f"{'model':6} {'case':18} {'ours ms':>10} {'TF ms':>10} {'ours/TF':>8}")
    for r in report["rows"]:
        tf_ms = f"{r['tf_ms']:10.3f}" if "tf_ms" in r else f"{'-':>10}"
        ratio = f"{r['ours_over_tf']:8.2f}" if "ours_over_tf" in r else f"{'-':>8}"
        print(f"{r['model']:6} {r['case']:18} {r['ours_ms']:10.3f} {tf_ms} {ratio}")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--repeat", type=int, default=200, help="calls per batch-1 case")
    p.add_argument("--json", default=None, help="also write the results here")
    p.add_argument("--no-tf", action="store_true", help="skip TensorFlow even if installed")
    p.add_argument("--threads", type=int, default=None,
                   help="BLAS and TensorFlow intra-op threads (default: their own)")
    args = p.parse_args()
    _threads(args.threads)
    report = run(args)
    print_table(report)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
