"""pytest fixtures that make real TensorFlow files, registered through ``pytest11``.

Installing savedmodel_io makes three fixtures available to every test, with no import:

    def test_server_loads_model(saved_model_factory):
        model = saved_model_factory.half_plus_two(signatures=("predict", "regress"))
        result = my_client.predict(model.path, model.inputs["serving_default"])
        np.testing.assert_allclose(result["y"], model.expected["serving_default"]["y"])

- ``saved_model_factory``: SavedModels (half_plus_two, an MLP) that TensorFlow and
  TensorFlow Serving load, with sample inputs and the outputs they give;
- ``checkpoint_factory``: TF1 (``Saver``) and TF2 (object graph) checkpoints from dicts
  of arrays, over several steps, with the ``checkpoint`` state file;
- ``model_base_path_factory``: a TF Serving model base path with numbered versions and
  stray entries that are not versions.

Everything is written under the test's ``tmp_path``. The fixtures only call the library
(``savedmodel_io.graph``, ``saved_model.builder``, ``train``); what they make is what any
user of those APIs would make.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest

from savedmodel_io.errors import InvalidArgumentError

if TYPE_CHECKING:
    from savedmodel_io.graph import Graph, Operation, Tensor
    from savedmodel_io.protos import meta_graph_pb2

# pytest imports this module at start-up in every project that has savedmodel_io
# installed: the library itself is imported only when a fixture makes something.

Arrays = dict[str, np.ndarray]

PREDICT = "serving_default"
CLASSIFY = "classify_x_to_y"
REGRESS = "regress_x_to_y"
_SIGNATURE_KEYS = {"predict": PREDICT, "classify": CLASSIFY, "regress": REGRESS}


# ------------------------------------------------------------------ SavedModels


@dataclass(frozen=True)
class MadeSavedModel:
    """A SavedModel written by `SavedModelFactory`, and what it should compute.

    ``inputs[key]`` feeds signature ``key``; ``expected[key]`` is what it returns, computed
    with numpy (TensorFlow gives the same, see ``tests/interop/test_plugin_interop.py``).
    Classify and regress signatures take serialized ``tf.Example`` protos (``bytes`` in an
    object array), as TensorFlow Serving sends them.
    """

    path: Path
    tag_sets: tuple[tuple[str, ...], ...]
    variables: Arrays
    inputs: dict[str, Arrays]
    expected: dict[str, Arrays]
    assets: dict[str, bytes] = field(default_factory=dict)

    @property
    def signatures(self) -> list[str]:
        return sorted(self.inputs)

    def __fspath__(self) -> str:
        return str(self.path)


def serialize_examples(feature: str, values: np.ndarray) -> np.ndarray:
    """One ``tf.Example`` per row of ``values``, each with a float feature ``feature``."""
    from savedmodel_io.protos import example_pb2

    out = []
    for row in np.asarray(values, np.float32).reshape(len(values), -1):
        ex = example_pb2.Example()
        ex.features.feature[feature].float_list.value.extend(row.tolist())
        out.append(ex.SerializeToString())
    return np.array(out, dtype=object)


def _parse_float_feature(g: Graph, serialized: Tensor, feature: str, width: int) -> Tensor:
    """``tf.io.parse_example(serialized, {feature: FixedLenFeature([width], tf.float32)})``."""
    with g.name_scope("ParseExample"):
        default = g.constant(np.zeros((0,), np.float32), name="Const")  # required feature
        strings = [g.constant(np.array(v, dtype=object), name=n) for n, v in (
            ("names", []), ("sparse_keys", []), ("dense_keys", [feature.encode()]),
            ("ragged_keys", []))]
        op = g.add_op("ParseExampleV2", [serialized, *strings, [default]],
                      attrs={"num_sparse": 0, "sparse_types": [], "ragged_value_types": [],
                             "ragged_split_types": [], "dense_shapes": [[width]]},
                      name="ParseExampleV2")
    return op.outputs[0]


def _signature_map(kinds: Sequence[str], x: Tensor, y: Tensor, serialized: Tensor | None,
                   y_from_examples: Tensor | None) -> dict[str, meta_graph_pb2.SignatureDef]:
    from savedmodel_io.saved_model import signature_def_utils

    sigs: dict[str, meta_graph_pb2.SignatureDef] = {}
    for kind in kinds:
        if kind == "predict":
            sigs[PREDICT] = signature_def_utils.predict_signature_def({"x": x}, {"y": y})
        elif kind == "classify":
            assert serialized is not None and y_from_examples is not None
            sigs[CLASSIFY] = signature_def_utils.classification_signature_def(
                serialized, None, y_from_examples)
        elif kind == "regress":
            assert serialized is not None and y_from_examples is not None
            sigs[REGRESS] = signature_def_utils.regression_signature_def(
                serialized, y_from_examples)
    return sigs


def _check_kinds(signatures: Sequence[str]) -> list[str]:
    kinds = list(dict.fromkeys(signatures))
    bad = [k for k in kinds if k not in _SIGNATURE_KEYS]
    if bad or not kinds:
        raise InvalidArgumentError(
            f"signatures are some of {sorted(_SIGNATURE_KEYS)}, got {list(signatures)}")
    return kinds


class SavedModelFactory:
    """Makes SavedModels under one directory (the ``saved_model_factory`` fixture)."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self._count = 0

    def _export_dir(self, name: str, version: int | None, export_dir: str | os.PathLike[str]
                    | None) -> Path:
        if export_dir is not None:
            return Path(export_dir)
        path = self.base / name
        if version is not None:
            path = path / str(version)
        elif path.exists():
            self._count += 1
            path = self.base / f"{name}_{self._count}"
        return path

    def _save(self, g: Graph, path: Path, tag_sets: Sequence[Sequence[str]],
              sigs: dict[str, meta_graph_pb2.SignatureDef], assets: list[Tensor],
              main_op: Operation | None, as_text: bool, fingerprint: bool
              ) -> tuple[tuple[str, ...], ...]:
        from savedmodel_io.saved_model.builder import SavedModelBuilder

        sets = tuple(tuple(t) for t in tag_sets)
        if not sets:
            raise InvalidArgumentError("tag_sets needs at least one tag-set")
        path.parent.mkdir(parents=True, exist_ok=True)
        builder = SavedModelBuilder(path)
        builder.add_meta_graph_and_variables(
            g, list(sets[0]), signature_def_map=sigs, assets_collection=assets or None,
            main_op=main_op)
        for tags in sets[1:]:
            builder.add_meta_graph(list(tags), signature_def_map=sigs)
        builder.save(as_text=as_text, write_fingerprint_file=fingerprint)
        return sets

    def half_plus_two(self, name: str = "half_plus_two", *, version: int | None = None,
                      export_dir: str | os.PathLike[str] | None = None,
                      resource: bool = False, signatures: Sequence[str] = ("predict",),
                      tag_sets: Sequence[Sequence[str]] = (("serve",),),
                      assets: bool = False, as_text: bool = False,
                      fingerprint: bool = False, a: float = 0.5,
                      b: float = 2.0) -> MadeSavedModel:
        """TensorFlow Serving's test model: ``y = a * x + b`` with ``a = 0.5``, ``b = 2``.

        ``signatures``: some of ``"predict"`` (``serving_default``: ``x`` float32
        ``[-1, 1]`` to ``y``), ``"classify"`` (``classify_x_to_y``) and ``"regress"``
        (``regress_x_to_y``), the last two over ``tf.Example`` protos with a float feature
        ``x``. ``resource``: resource variables (``VarHandleOp``) instead of reference
        ones. ``tag_sets``: one MetaGraphDef per tag-set, sharing the variables.
        ``assets``: add ``assets/vocab.txt`` and a main op. ``fingerprint``: also write
        ``fingerprint.pb`` (TensorFlow's TF1 builder writes none; leaving it out halves
        the time). The directory is ``<base>/<name>[/<version>]`` unless ``export_dir`` is
        given.
        """
        from savedmodel_io.graph import Graph

        kinds = _check_kinds(signatures)
        g = Graph()
        x = g.placeholder(np.float32, shape=(None, 1), name="x")
        va = g.variable("a", np.float32(a), resource=resource)
        vb = g.variable("b", np.float32(b), resource=resource)

        def half_plus_two(t: Tensor, name: str) -> Tensor:
            return g.op("AddV2", [g.op("Mul", [va.read(), t]), vb.read()], name=name)

        y = half_plus_two(x, "y")
        serialized = y_ex = None
        if "classify" in kinds or "regress" in kinds:
            serialized = g.placeholder(np.object_, shape=(None,), name="tf_example")
            y_ex = half_plus_two(_parse_float_feature(g, serialized, "x", 1), "y_from_examples")
        sigs = _signature_map(kinds, x, y, serialized, y_ex)
        path = self._export_dir(name, version, export_dir)
        asset_tensors, asset_files, main_op = self._assets(g, path, assets)
        sets = self._save(g, path, tag_sets, sigs, asset_tensors, main_op, as_text,
                          fingerprint)
        xs = np.array([[0.0], [1.0], [2.0], [3.0]], np.float32)
        ys = (np.float32(a) * xs + np.float32(b)).astype(np.float32)
        inputs: dict[str, Arrays] = {}
        expected: dict[str, Arrays] = {}
        for kind in kinds:
            key = _SIGNATURE_KEYS[kind]
            if kind == "predict":
                inputs[key], expected[key] = {"x": xs}, {"y": ys}
            else:
                inputs[key] = {"inputs": serialize_examples("x", xs)}
                expected[key] = {"scores" if kind == "classify" else "outputs": ys}
        return MadeSavedModel(path, sets, {"a": np.float32(a) * np.ones((), np.float32),
                                           "b": np.float32(b) * np.ones((), np.float32)},
                              inputs, expected, asset_files)

    def mlp(self, layer_sizes: Sequence[int] = (4, 8, 3), *, seed: int = 0,
            name: str = "mlp", version: int | None = None,
            export_dir: str | os.PathLike[str] | None = None, resource: bool = True,
            tag_sets: Sequence[Sequence[str]] = (("serve",),),
            batch: int = 5, as_text: bool = False, fingerprint: bool = False
            ) -> MadeSavedModel:
        """A dense network: ReLU between layers, none after the last; ``serving_default``
        maps ``x`` (float32 ``[-1, layer_sizes[0]]``) to ``y``.

        Weights and the sample batch of ``batch`` rows come from ``numpy.random`` seeded
        with ``seed``; variables are ``dense_<i>/kernel`` and ``dense_<i>/bias``. Other
        arguments as for `half_plus_two`.
        """
        sizes = [int(s) for s in layer_sizes]
        if len(sizes) < 2 or min(sizes) < 1:
            raise InvalidArgumentError(
                f"layer_sizes needs an input and at least one layer, all >= 1: {sizes}")
        from savedmodel_io.graph import Graph

        rng = np.random.default_rng(seed)
        g = Graph()
        x = g.placeholder(np.float32, shape=(None, sizes[0]), name="x")
        h: Tensor = x
        values: Arrays = {}
        xs = rng.standard_normal((batch, sizes[0])).astype(np.float32)
        ref = xs
        for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
            kernel = (rng.standard_normal((n_in, n_out)) / np.sqrt(n_in)).astype(np.float32)
            bias = (0.1 * rng.standard_normal(n_out)).astype(np.float32)
            last = i == len(sizes) - 2
            with g.name_scope(f"dense_{i}"):
                k = g.variable("kernel", kernel, resource=resource)
                bv = g.variable("bias", bias, resource=resource)
                h = g.op("BiasAdd", [g.op("MatMul", [h, k.read()]), bv.read()],
                         name="y" if last else None)
                if not last:
                    h = g.op("Relu", [h])
            values[f"dense_{i}/kernel"], values[f"dense_{i}/bias"] = kernel, bias
            ref = ref @ kernel + bias
            if not last:
                ref = np.maximum(ref, 0)
        sigs = _signature_map(["predict"], x, h, None, None)
        path = self._export_dir(name, version, export_dir)
        sets = self._save(g, path, tag_sets, sigs, [], None, as_text, fingerprint)
        return MadeSavedModel(path, sets, values, {PREDICT: {"x": xs}},
                              {PREDICT: {"y": ref.astype(np.float32)}})

    def _assets(self, g: Graph, path: Path, wanted: bool
                ) -> tuple[list[Tensor], dict[str, bytes], Operation | None]:
        if not wanted:
            return [], {}, None
        content = b"a\nb\nc\n"
        self._count += 1
        source = self.base / "_asset_sources" / str(self._count) / "vocab.txt"
        source.parent.mkdir(parents=True, exist_ok=True)
        source.write_bytes(content)
        t = g.constant(np.array(str(source).encode(), dtype=object), name="vocab_path")
        g.add_to_collection("asset_filepaths", t)
        return [t], {"vocab.txt": content}, g.no_op(name="main_op", control_inputs=[t])


# ------------------------------------------------------------------ checkpoints


@dataclass(frozen=True)
class MadeCheckpoints:
    """Checkpoints written by `CheckpointFactory`, one per step.

    ``prefixes[step]`` is a checkpoint prefix; ``values[step]`` the arrays saved there by
    name; ``keys[name]`` the key each name has in the bundle (the name itself for TF1,
    ``<path>/.ATTRIBUTES/VARIABLE_VALUE`` for TF2). ``latest`` is what
    ``tf.train.latest_checkpoint(directory)`` returns.
    """

    directory: Path
    style: str
    prefixes: dict[int, str]
    values: dict[int, Arrays]
    keys: dict[str, str]

    @property
    def latest(self) -> str:
        return self.prefixes[max(self.prefixes)]

    @property
    def steps(self) -> list[int]:
        return sorted(self.prefixes)


TensorsArg = Mapping[str, Any] | Callable[[int], Mapping[str, Any]]


class CheckpointFactory:
    """Makes checkpoint directories (the ``checkpoint_factory`` fixture)."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self._count = 0

    def __call__(self, tensors: TensorsArg, *, style: str = "tf1",
                 steps: Sequence[int] = (1,), directory: str | os.PathLike[str] | None = None,
                 name: str | None = None) -> MadeCheckpoints:
        """Save ``tensors`` once per step in ``steps``, keeping every step.

        ``tensors``: name -> array, or a function of the step returning that (so steps can
        differ). ``style="tf1"``: ``tf.compat.v1.train.Saver`` checkpoints
        ``<dir>/<name or "model.ckpt">-<step>`` with ``.meta`` files. ``style="tf2"``:
        ``tf.train.Checkpoint`` checkpoints ``<dir>/<name or "ckpt">-<step>`` whose object
        graph follows the names as object paths (``"model/dense/kernel"`` is attribute
        ``kernel`` of ``dense`` of ``model``).
        """
        if style not in ("tf1", "tf2"):
            raise InvalidArgumentError(f"style is 'tf1' or 'tf2', got {style!r}")
        step_list = [int(s) for s in steps]
        if not step_list or len(set(step_list)) != len(step_list):
            raise InvalidArgumentError(f"steps must be distinct and not empty: {step_list}")
        if directory is None:
            self._count += 1
            directory = self.base / f"{style}_{self._count}"
        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)

        def at(step: int) -> Arrays:
            given = tensors(step) if callable(tensors) else tensors
            return {k: np.array(v) for k, v in given.items()}

        if style == "tf1":
            return self._tf1(out, name or "model.ckpt", step_list, at)
        return self._tf2(out, name or "ckpt", step_list, at)

    @staticmethod
    def _tf1(out: Path, name: str, steps: list[int], at: Callable[[int], Arrays]
             ) -> MadeCheckpoints:
        from savedmodel_io.train import Saver, update_checkpoint_state

        prefixes, values = {}, {}
        keys: dict[str, str] = {}
        for step in steps:
            arrays = at(step)
            prefix = Saver(dict(arrays), max_to_keep=None).save(
                str(out / name), global_step=step)
            assert prefix is not None
            prefixes[step], values[step] = prefix, arrays
            keys.update({k: k for k in arrays})
        # One Saver per step writes the state file with only its own checkpoint; list all.
        update_checkpoint_state(str(out), prefixes[steps[-1]], [prefixes[s] for s in steps])
        return MadeCheckpoints(out, "tf1", prefixes, values, keys)

    @staticmethod
    def _tf2(out: Path, name: str, steps: list[int], at: Callable[[int], Arrays]
             ) -> MadeCheckpoints:
        from savedmodel_io.train import Checkpoint, CheckpointManager

        prefixes, values = {}, {}
        keys: dict[str, str] = {}
        for n, step in enumerate(steps):
            arrays = at(step)
            # A fresh structure per step, its save counter where a training loop's would
            # be; each manager takes over the state file the previous one wrote.
            ckpt = Checkpoint.from_paths({**arrays, "save_counter": np.int64(n)})
            manager = CheckpointManager(ckpt, str(out), max_to_keep=None,
                                        checkpoint_name=name)
            prefix = manager.save(checkpoint_number=step)
            assert prefix is not None
            prefixes[step], values[step] = prefix, arrays
            keys.update({k: f"{k}/.ATTRIBUTES/VARIABLE_VALUE" for k in arrays})
        return MadeCheckpoints(out, "tf2", prefixes, values, keys)


# ------------------------------------------------------------------ model base paths


@dataclass(frozen=True)
class MadeBasePath:
    """A TF Serving model base path: ``versions[n]`` is the SavedModel in ``<path>/<n>``;
    ``stray`` names the entries that are not versions."""

    path: Path
    versions: dict[int, MadeSavedModel]
    stray: list[str]

    @property
    def latest(self) -> int:
        return max(self.versions)

    def __fspath__(self) -> str:
        return str(self.path)


class ModelBasePathFactory:
    """Makes model base paths (the ``model_base_path_factory`` fixture)."""

    def __init__(self, base: Path, models: SavedModelFactory) -> None:
        self.base = base
        self.models = models

    def __call__(self, name: str = "half_plus_two", versions: Sequence[int] = (1, 2, 3), *,
                 stray: bool = True, padded: bool = False,
                 make: Callable[[Path, int], MadeSavedModel] | None = None) -> MadeBasePath:
        """``<base>/<name>/<version>`` for each version, each a SavedModel.

        ``make(export_dir, version)`` writes one version (default: half_plus_two whose
        ``b`` is the version number, so each version answers differently:
        ``y = 0.5 * x + version``). ``padded``: names like ``00000123`` as TensorFlow
        Serving's own test data. ``stray``: add entries a server must ignore: a
        ``temp-<n>`` export in progress, a ``<n>.bak`` copy and a file.
        """
        root = self.base / name
        root.mkdir(parents=True, exist_ok=True)
        maker = make or (lambda d, v: self.models.half_plus_two(export_dir=d, b=float(v)))
        made = {}
        for v in versions:
            if v < 0:
                raise InvalidArgumentError(f"versions are >= 0, got {v}")
            made[int(v)] = maker(root / (f"{v:08d}" if padded else str(v)), int(v))
        extra: list[str] = []
        if stray:
            top = max(made, default=0)
            # An export still being written under a temporary name: a SavedModel file
            # already there, but not its variables.
            temp = root / f"temp-{top + 1}"
            temp.mkdir()
            (temp / "saved_model.pb").write_bytes(b"")
            backup = root / f"{top}.bak"
            backup.mkdir()
            (root / "README.txt").write_text("not a version\n")
            extra = [temp.name, backup.name, "README.txt"]
        return MadeBasePath(root, made, extra)


# ------------------------------------------------------------------ fixtures


@pytest.fixture
def saved_model_factory(tmp_path: Path) -> SavedModelFactory:
    """Make SavedModels under ``tmp_path/saved_models``; see `SavedModelFactory`."""
    return SavedModelFactory(tmp_path / "saved_models")


@pytest.fixture
def checkpoint_factory(tmp_path: Path) -> CheckpointFactory:
    """Make checkpoints under ``tmp_path/checkpoints``; see `CheckpointFactory`."""
    return CheckpointFactory(tmp_path / "checkpoints")


@pytest.fixture
def model_base_path_factory(tmp_path: Path) -> ModelBasePathFactory:
    """Make model base paths under ``tmp_path/models``; see `ModelBasePathFactory`."""
    return ModelBasePathFactory(tmp_path / "models", SavedModelFactory(tmp_path / "_versions"))


__all__ = [
    "CheckpointFactory",
    "MadeBasePath",
    "MadeCheckpoints",
    "MadeSavedModel",
    "ModelBasePathFactory",
    "SavedModelFactory",
    "checkpoint_factory",
    "model_base_path_factory",
    "saved_model_factory",
    "serialize_examples",
]
