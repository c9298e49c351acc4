#!/usr/bin/env python
"""Write tests/data/golden/cli/: what TensorFlow 2.21's own command-line tools print.

Run with the TensorFlow environment:

    /work/tfenv/bin/python tests/data/make_cli_goldens.py      # about a minute

It saves a few small models and checkpoints with TensorFlow (``models/``), then runs
``saved_model_cli show`` / ``scan`` and ``inspect_checkpoint`` on them, on the TF Serving
corpus (``../shared/corpus/tf-serving``) and on checkpoints of ``tests/data/golden``, and
stores each command with its stdout in ``manifest.json``.

``show --all`` runs as a real ``saved_model_cli`` process each time: the "Concrete
Functions" part depends on a counter that must start from zero. Everything else runs
the CLI's own functions in this process, which is the same code path and much faster
(the script checks a sample against the real tools).

The builders are also used by tests/interop/test_cli_interop.py, which repeats all this
live against the running TensorFlow.
"""

from __future__ import annotations

import ast
import contextlib
import io
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from typing import Any

os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

HERE = os.path.dirname(os.path.abspath(__file__))
GOLDEN = os.path.join(HERE, "golden")
OUT = os.path.join(GOLDEN, "cli")
CORPUS = os.path.normpath(os.path.join(HERE, "..", "..", "..", "shared", "corpus", "tf-serving"))
TOOL_ENV = {"PYTHONHASHSEED": "0", "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": ""}


# ------------------------------------------------------------------ builders


def build_tf1(path: str) -> None:
    """TF1 SavedModel: tag-sets serve, serve+gpu, train; sparse and unknown-rank inputs,
    a reference-typed output, two signatures."""
    import tensorflow as tf

    v1 = tf.compat.v1
    g = tf.Graph()
    with g.as_default():
        x = v1.placeholder(tf.float32, [None, 3], name="x")
        sp = v1.sparse_placeholder(tf.int64, name="sp")
        anything = v1.placeholder(tf.string, None, name="anything")
        w = v1.get_variable("w", [3, 2], initializer=v1.ones_initializer())
        ref = v1.Variable(1.0, name="ref", use_resource=False)
        y = tf.matmul(x, w, name="y")
        n = tf.identity(tf.sparse.reduce_sum(sp), name="n")
        info = v1.saved_model.utils.build_tensor_info
        main = v1.saved_model.signature_def_utils.build_signature_def(
            inputs={"x": info(x), "sp": info(sp), "u": info(anything)},
            outputs={"y": info(y), "n": info(n), "r": info(ref._ref())},  # noqa: SLF001
            method_name="tensorflow/serving/predict")
        other = v1.saved_model.signature_def_utils.predict_signature_def({"x": x}, {"y": y})
        with v1.Session(graph=g) as sess:
            sess.run(v1.global_variables_initializer())
            b = v1.saved_model.Builder(path)
            b.add_meta_graph_and_variables(
                sess, ["serve"], signature_def_map={"serving_default": main, "other": other})
            b.add_meta_graph(["serve", "gpu"], signature_def_map={"other": other})
            b.add_meta_graph(["train"])
            b.save()


def build_tf2(path: str) -> None:
    """TF2 SavedModel whose root has functions of every kind ``show --all`` lists: several
    traces (their order depends on load uids), structured and Python arguments, a ragged
    spec, a keyword-only argument, a bare concrete function; and a WriteFile inside a
    While body (invisible to TensorFlow's scan) plus a PrintV2."""
    import tensorflow as tf

    class Inner(tf.Module):
        def __init__(self) -> None:
            self.w = tf.Variable([1.0, 2.0], name="inner_w")

        @tf.function(input_signature=[tf.TensorSpec([None], tf.float32)])
        def scale(self, x: Any) -> Any:
            return x * self.w[0]

    class Model(tf.Module):
        def __init__(self) -> None:
            self.v = tf.Variable(3.0, name="v")
            self.inner = Inner()
            self.table = {"a.b/c": tf.Variable([1, 2], dtype=tf.int64)}

        @tf.function(input_signature=[tf.TensorSpec([None, 2], tf.float32, name="x")])
        def __call__(self, x: Any) -> Any:
            return x * self.v

        @tf.function
        def poly(self, a: Any, flag: bool = True, scale: float = 2.0) -> Any:
            return a * scale if flag else a

        @tf.function
        def structured(self, pair: Any, mapping: Any, items: Any, name: str = "n",
                       opt: Any = None) -> Any:
            return pair[0] + mapping["k"] + items[0]

        @tf.function(input_signature=[tf.RaggedTensorSpec([None, None], tf.float32)])
        def ragged(self, r: Any) -> Any:
            return tf.reduce_sum(r)

        @tf.function(input_signature=[tf.TensorSpec([], tf.string)])
        def writer(self, target: Any) -> Any:
            def body(i: Any) -> Any:
                tf.io.write_file(target, tf.strings.as_string(i))
                return i + 1
            tf.while_loop(lambda i: i < 2, body, [tf.constant(0)])
            tf.print("done")
            return target

        @tf.function
        def kw(self, x: Any, *, key: Any) -> Any:
            return x + key

    m = Model()
    m.poly(tf.constant(1.0))
    m.poly(tf.constant([1.0, 2.0]), flag=False)
    m.poly(tf.constant([[1.0]]), True, 3.5)
    m.structured((tf.constant(1.0), tf.constant(2.0)), {"k": tf.constant(3.0), "j": 4},
                 [tf.constant(5.0), "s", None], name="abc")
    m.kw(tf.constant(1.0), key=tf.constant(2.0))
    m.bare = m.poly.get_concrete_function(tf.TensorSpec([3], tf.float32), False)
    tf.saved_model.save(m, path, signatures={"serving_default": m.__call__, "w": m.writer})


def build_keras(export_path: str, save_path: str) -> None:
    """A Keras 3 MLP, once with ``model.export`` and once with ``tf.saved_model.save``."""
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)),
                              keras.layers.Dense(3, activation="relu", name="hidden"),
                              keras.layers.Dense(2, name="out")])
    model.export(export_path, verbose=False)
    tf.saved_model.save(model, save_path)


def build_tf1_checkpoint(directory: str, *, version: str, count: int, sharded: bool) -> str:
    """A TF1 Saver checkpoint (V1 or V2) of ``count`` small float variables with varied
    names (enough to make the V1 reader's hash map grow), a float64 vector, an int64, a
    string and a partitioned variable. Returns the path the Saver reports."""
    import numpy as np
    import tensorflow as tf

    v1 = tf.compat.v1
    rng = np.random.RandomState(7)

    def variables(n: int) -> None:
        for i in range(n):
            name = f"layer_{i % 7}/w{i}" if i % 3 else f"v{i}"
            v1.get_variable(name, initializer=rng.randn(1, i % 3 + 1).astype(np.float32))
        v1.get_variable("big", initializer=rng.randn(60))
        v1.get_variable("count", initializer=np.int64(7))
        v1.get_variable("words", initializer=np.array([b"a", b"bc"]), dtype=tf.string)
        v1.get_variable("part", shape=[6, 2], initializer=v1.ones_initializer(),
                        partitioner=v1.fixed_size_partitioner(3))

    g = tf.Graph()
    with g.as_default():
        if sharded:
            with tf.device("/cpu:0"):
                variables(count)
            with tf.device("/cpu:1"):
                v1.get_variable("other", initializer=np.float32(1.5))
        else:
            variables(count)
        fmt = v1.train.SaverDef.V1 if version == "V1" else v1.train.SaverDef.V2
        saver = v1.train.Saver(write_version=fmt, sharded=sharded)
        os.makedirs(directory, exist_ok=True)
        config = v1.ConfigProto(device_count={"CPU": 2})
        with v1.Session(graph=g, config=config) as sess:
            sess.run(v1.global_variables_initializer())
            return str(saver.save(sess, os.path.join(directory, "model.ckpt"), global_step=3))


def build_tf2_checkpoint(directory: str) -> str:
    """A TF2 object checkpoint: a dict key needing escapes, a bfloat16 scalar, a string."""
    import numpy as np
    import tensorflow as tf

    class Holder(tf.Module):
        def __init__(self) -> None:
            self.d = {"a.b/c": tf.Variable([1.0, 2.0])}
            self.l = [tf.Variable(np.arange(6).reshape(2, 3)),
                      tf.Variable(tf.constant(1.5, tf.bfloat16))]
            self.s = tf.Variable(b"hello")

    return str(tf.train.Checkpoint(model=Holder()).save(os.path.join(directory, "ckpt")))


# ------------------------------------------------------------------ TensorFlow's tools


def _silenced() -> contextlib.AbstractContextManager[Any]:
    return contextlib.redirect_stderr(io.StringIO())


def run_saved_model_cli(command: str, argv: list[str], *, subprocess_run: bool
                        ) -> tuple[int, str, str]:
    """(status, stdout, error) of ``saved_model_cli <command> <argv>``. In-process, an
    exception becomes status 1 and its message."""
    if subprocess_run:
        p = subprocess.run(
            [sys.executable, "-m", "tensorflow.python.tools.saved_model_cli", command, *argv],
            capture_output=True, text=True, env={**os.environ, **TOOL_ENV}, check=False)
        lines = [ln for ln in p.stderr.splitlines() if ln.strip()]
        return p.returncode, p.stdout, lines[-1] if p.returncode and lines else ""
    from absl import flags
    from tensorflow.python.tools import saved_model_cli as smc

    smc.flags.FLAGS.unparse_flags()
    flags.FLAGS(["saved_model_cli", *argv])
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out), _silenced():
            getattr(smc, command)()
    except Exception as e:  # the CLI would print the traceback and exit 1
        return 1, out.getvalue(), str(e)
    return 0, out.getvalue(), ""


def run_inspect_checkpoint(argv: list[str], *, subprocess_run: bool) -> tuple[int, str, str]:
    """(status, stdout, "") of ``inspect_checkpoint <argv>``."""
    if subprocess_run:
        p = subprocess.run(
            [sys.executable, "-m", "tensorflow.python.tools.inspect_checkpoint", *argv],
            capture_output=True, text=True, env={**os.environ, **TOOL_ENV}, check=False)
        return p.returncode, p.stdout, ""
    import argparse

    import numpy as np
    from tensorflow.python.tools import inspect_checkpoint as ic

    parser = argparse.ArgumentParser()
    parser.register("type", "bool", lambda v: v.lower() == "true")
    parser.add_argument("--file_name", default="")
    parser.add_argument("--tensor_name", default="")
    parser.add_argument("--count_exclude_pattern", default="")
    parser.add_argument("--all_tensors", nargs="?", const=True, type="bool", default=False)
    parser.add_argument("--all_tensor_names", nargs="?", const=True, type="bool",
                        default=False)
    parser.add_argument("--printoptions", nargs="*", type=ic.parse_numpy_printoption)
    saved = np.get_printoptions()
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out), _silenced():
            a = parser.parse_args(argv)
            ic.print_tensors_in_checkpoint_file(a.file_name, a.tensor_name, a.all_tensors,
                                                a.all_tensor_names,
                                                count_exclude_pattern=a.count_exclude_pattern)
    finally:
        np.set_printoptions(**saved)
    return 0, out.getvalue(), ""


def show_argvs(model_dir: str) -> list[list[str]]:
    """The ``show`` flag combinations worth checking for one SavedModel."""
    from tensorflow.python.tools import saved_model_utils

    argvs: list[list[str]] = [[], ["--list_ops"], ["--all"]]
    saved_model = saved_model_utils.read_saved_model(model_dir)
    for meta in saved_model.meta_graphs:
        tags = ",".join(meta.meta_info_def.tags)
        argvs += [["--tag_set", tags], ["--tag_set", tags, "--list_ops"]]
        for key in sorted(meta.signature_def):
            argvs.append(["--tag_set", tags, "--signature_def", key])
    return argvs


def scan_argvs(model_dir: str) -> list[list[str]]:
    from tensorflow.python.tools import saved_model_utils

    first = saved_model_utils.read_saved_model(model_dir).meta_graphs[0]
    return [[], ["--tag_set", ",".join(first.meta_info_def.tags)],
            ["--op_denylist", "Mul,SaveV2,VariableV2,PrintV2"], ["--op_denylist", " , "]]


def inspect_argvs(prefix: str, tensor: str, *, values: bool = True) -> list[list[str]]:
    argvs = [[], ["--all_tensor_names"], [f"--tensor_name={tensor}"],
             ["--count_exclude_pattern=^layer_"]]
    if values:
        argvs += [["--all_tensors"],
                  ["--all_tensors", "--printoptions", "threshold=5", "precision=3"]]
    return argvs


# ------------------------------------------------------------------ the goldens


def _record(manifest: dict[str, Any], name: str, tool: str, argv: list[str],
            result: tuple[int, str, str], produced_by: str) -> None:
    status, stdout, error = result
    entry: dict[str, Any] = {"tool": tool, "argv": argv, "returncode": status,
                             "produced_by": produced_by}
    entry["stdout"] = stdout
    if error:
        entry["error"] = error
    manifest["outputs"][name] = entry


def _slug(argv: list[str]) -> str:
    text = "_".join(a.lstrip("-").replace("=", "-").replace(",", "+").replace(" ", "")
                    for a in argv) or "plain"
    return "".join(c if c.isalnum() or c in "+-_." else "" for c in text)


def _placeholder(path: str) -> str:
    """Paths in the manifest: {cli}/..., {golden}/..., {corpus}/..."""
    for token, root in (("{cli}", OUT), ("{golden}", GOLDEN), ("{corpus}", CORPUS)):
        if path.startswith(root + os.sep):
            return token + "/" + os.path.relpath(path, root).replace(os.sep, "/")
    raise ValueError(path)


def main() -> None:
    import tensorflow as tf

    shutil.rmtree(OUT, ignore_errors=True)
    os.makedirs(os.path.join(OUT, "models"))
    models = os.path.join(OUT, "models")

    build_tf1(os.path.join(models, "tf1"))
    build_tf2(os.path.join(models, "tf2"))
    build_keras(os.path.join(models, "keras_export"), os.path.join(models, "keras_tfsave"))
    checkpoints = {
        "v1": build_tf1_checkpoint(os.path.join(models, "ckpt_v1"), version="V1", count=70,
                                   sharded=False),
        "v1_sharded": build_tf1_checkpoint(os.path.join(models, "ckpt_v1_sharded"),
                                           version="V1", count=20, sharded=True),
        "v2_sharded": build_tf1_checkpoint(os.path.join(models, "ckpt_v2_sharded"),
                                           version="V2", count=20, sharded=True),
        "tf2": build_tf2_checkpoint(os.path.join(models, "ckpt_tf2")),
    }

    manifest: dict[str, Any] = {
        "generator": "tests/data/make_cli_goldens.py",
        "tensorflow_version": tf.__version__,
        "paths": "{cli} = tests/data/golden/cli, {golden} = tests/data/golden, "
                 "{corpus} = ../shared/corpus/tf-serving",
        "produced_by": "subprocess: the real tool (python -m tensorflow.python.tools.<tool>) "
                       "with PYTHONHASHSEED=0; in-process: the tool's own functions",
        "outputs": {},
    }

    saved_models = {f"cli_{n}": os.path.join(models, n)
                    for n in ("tf1", "tf2", "keras_export", "keras_tfsave")}
    for folder in sorted(os.listdir(CORPUS)):
        for version in sorted(os.listdir(os.path.join(CORPUS, folder)) if os.path.isdir(
                os.path.join(CORPUS, folder)) else []):
            d = os.path.join(CORPUS, folder, version)
            if os.path.exists(os.path.join(d, "saved_model.pb")):
                saved_models[f"corpus_{folder}__{version}"] = d
    for name in ("sm_tf1_builder", "sm_tf1_builder_text", "sm_simple_save", "sm_tf2_module",
                 "sm_keras_export"):
        saved_models[f"golden_{name}"] = os.path.join(GOLDEN, name)

    for label, d in saved_models.items():
        argvs = show_argvs(d)
        if not label.startswith("cli_"):
            argvs = [a for a in argvs if "--all" not in a]  # already in _expected/ and expected/
        for argv in argvs:
            full = ["--dir", _placeholder(d), *argv]
            real = ["--dir", d, *argv]
            sub = "--all" in argv
            _record(manifest, f"{label}.show.{_slug(argv)}", "saved_model_cli show", full,
                    run_saved_model_cli("show", real, subprocess_run=sub),
                    "subprocess" if sub else "in-process")
        for argv in scan_argvs(d):
            full = ["--dir", _placeholder(d), *argv]
            _record(manifest, f"{label}.scan.{_slug(argv)}", "saved_model_cli scan", full,
                    run_saved_model_cli("scan", ["--dir", d, *argv], subprocess_run=False),
                    "in-process")
    for label, d, argv in [
            ("cli_tf1", saved_models["cli_tf1"], ["--tag_set", "nope"]),
            ("cli_tf1", saved_models["cli_tf1"], ["--tag_set", "serve", "--signature_def",
                                                  "nope"])]:
        _record(manifest, f"{label}.show.error.{_slug(argv)}", "saved_model_cli show",
                ["--dir", _placeholder(d), *argv],
                run_saved_model_cli("show", ["--dir", d, *argv], subprocess_run=False),
                "in-process")

    # Checkpoints: ours, the golden bundles that have no inspect goldens yet, the corpus.
    prefixes: dict[str, tuple[str, str]] = {  # label: (prefix, a tensor to print)
        "cli_v1": (checkpoints["v1"], "big"),
        "cli_v1_sharded": (checkpoints["v1_sharded"], "count"),
        "cli_v2_sharded": (checkpoints["v2_sharded"], "part"),
        "cli_tf2": (checkpoints["tf2"], "model/l/1/.ATTRIBUTES/VARIABLE_VALUE"),
        "golden_bundle_variant": (os.path.join(GOLDEN, "bundle_variant", "ckpt"), "a"),
        "golden_bundle_strings": (os.path.join(GOLDEN, "bundle_strings", "ckpt"), "vec3"),
        "golden_bundle_multi_shard": (os.path.join(GOLDEN, "bundle_multi_shard", "ckpt"),
                                      "part"),
        "golden_v1_sharded": (os.path.join(GOLDEN, "v1_sharded", "model.ckpt-5-?????-of-00002"),
                              "f32"),
        "golden_tf1_sharded": (os.path.join(GOLDEN, "tf1_sharded", "model.ckpt-7"), "p1"),
        "golden_tf2_v1_slots": (os.path.join(GOLDEN, "tf2_v1_slots", "ckpt"),
                                "save_counter/.ATTRIBUTES/VARIABLE_VALUE"),
        "corpus_session_bundle": (os.path.join(CORPUS, "session_bundle_half_plus_two",
                                               "00000123", "export-00000-of-00001"),
                                  "Variable"),
        "corpus_bad_half_plus_two": (os.path.join(CORPUS, "bad_half_plus_two", "00000123",
                                                  "export"), "Variable_1"),
    }
    for label, (prefix, tensor) in prefixes.items():
        if not (os.path.exists(prefix) or os.path.exists(prefix + ".index")
                or "?" in prefix):
            raise SystemExit(f"missing checkpoint {prefix}")
        # bundle_strings holds 70000-byte strings: no full listing of its values.
        for argv in inspect_argvs(prefix, tensor, values=label != "golden_bundle_strings"):
            _record(manifest, f"{label}.inspect.{_slug(argv)}", "inspect_checkpoint",
                    [f"--file_name={_placeholder(prefix)}", *argv],
                    run_inspect_checkpoint([f"--file_name={prefix}", *argv],
                                           subprocess_run=False), "in-process")

    _check_in_process_matches_tools(saved_models["cli_tf1"], checkpoints["v1_sharded"])
    _normalize_paths(manifest)
    with open(os.path.join(OUT, "manifest.json"), "w", encoding="utf-8") as f:
        json.dump(manifest, f, indent=1, sort_keys=True)
        f.write("\n")
    print(f"wrote {len(manifest['outputs'])} outputs to {OUT}")


def _check_in_process_matches_tools(model: str, v1_pattern: str) -> None:
    """The in-process runs must print what the real tools print."""
    checks: list[tuple[Callable[..., tuple[int, str, str]], list[Any]]] = [
        (run_saved_model_cli, ["show", ["--dir", model, "--tag_set", "serve", "--list_ops"]]),
        (run_saved_model_cli, ["scan", ["--dir", model]]),
        (run_inspect_checkpoint, [[f"--file_name={v1_pattern}"]]),
        (run_inspect_checkpoint, [[f"--file_name={v1_pattern}", "--tensor_name=big",
                                   "--printoptions", "threshold=5"]]),
    ]
    for fn, args in checks:
        here = fn(*args, subprocess_run=False)[1]
        real = fn(*args, subprocess_run=True)[1]
        if _canonical(here) != _canonical(real):
            raise SystemExit(f"in-process output differs from the tool for {args}")


def _canonical(text: str) -> list[str]:
    """Lines, with printed Python sets (whose order is hash-seeded) sorted."""
    out = []
    for line in text.splitlines():
        head, sep, tail = line.rpartition(": {")
        if sep and tail.endswith("}"):
            line = head + ": " + repr(sorted(ast.literal_eval("{" + tail)))
        out.append(line)
    return out


def _normalize_paths(manifest: dict[str, Any]) -> None:
    """Error messages must not hold this machine's absolute paths."""
    for entry in manifest["outputs"].values():
        if "error" in entry:
            for token, root in (("{cli}", OUT), ("{golden}", GOLDEN), ("{corpus}", CORPUS)):
                entry["error"] = entry["error"].replace(root, token)


if __name__ == "__main__":
    main()
