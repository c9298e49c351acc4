"""One fuzz target per reader: each drives it through everything it offers and checks
that what comes back is well formed (shapes and dtypes as the index says, keys in order,
asset paths inside the assets directory). Only our errors may escape."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from savedmodel_io.errors import SavedModelIOError
from savedmodel_io.format.table import TableReader
from tests.fuzz.bounds import Files, check

MAX_TENSORS = 200  # per input: a mutated index may list thousands of keys


def target_table(files: Files, workdir: Path) -> int:
    """The SSTable reader, in memory: iterate, point lookups, range scans."""
    (data,) = files.values()
    r = TableReader(data, block_cache_bytes=0 if len(data) % 2 else 1 << 20)
    items = list(r)
    keys = [k for k, _ in items]
    check(keys == sorted(set(keys)), "table keys not strictly increasing")
    for k, v in items[:MAX_TENSORS:7]:
        check(r.get(k) == v, f"get({k!r}) disagrees with iteration")
    for probe in (b"", b"\x00", b"m", b"\xff" * 4):
        got = r.get(probe)
        check(got is None or probe in keys, "get found a key iteration did not")
    got_from = [k for k, _ in r.iter_from(b"k")]
    check(got_from == [k for k in keys if k >= b"k"], "iter_from disagrees with iteration")
    return len(items)


def _prefix_of(files: Files) -> str:
    for name in files:
        if name.endswith(".index"):
            return name[: -len(".index")]
    return "ckpt"


def _read_all(reader: Any) -> int:
    """Read every tensor (up to MAX_TENSORS) of a CheckpointReader and check each."""
    shapes = reader.get_variable_to_shape_map()
    dts = reader.get_variable_to_dtype_map()
    check(set(shapes) == set(dts) == set(reader), "shape/dtype maps disagree with keys")
    total = 0
    from savedmodel_io import dtypes

    for name in sorted(shapes)[:MAX_TENSORS]:
        value = reader.get_tensor(name)
        check(isinstance(value, np.ndarray), f"{name}: not an array")
        check(list(value.shape) == shapes[name],
              f"{name}: shape {value.shape} but the index says {shapes[name]}")
        if dts[name].name in ("DT_STRING", "DT_VARIANT"):
            check(value.dtype == object, f"{name}: string tensor of dtype {value.dtype}")
        else:
            check(value.dtype == dtypes.as_numpy_dtype(dts[name]),
                  f"{name}: dtype {value.dtype}, the index says {dts[name].name}")
        total += value.size
        if value.ndim and value.shape[0] > 1:
            part = reader.get_slice(name, "0,1" + ":-" * (value.ndim - 1)
                                    if value.ndim > 1 else "0,1")
            check(part.shape == (1,) + value.shape[1:], f"{name}: bad slice shape")
    return total


def target_bundle(files: Files, workdir: Path, *, verify: bool = True,
                  mmap: bool = False) -> int:
    """The V2 bundle reader (through CheckpointReader): list, read every tensor, slice."""
    from savedmodel_io.format.bundle_reader import BundleReader
    from savedmodel_io.train.checkpoint_reader import CheckpointReader

    prefix = str(workdir / _prefix_of(files))
    with BundleReader(prefix, verify_checksums=verify, mmap=mmap) as b:
        for _ in b.entries(include_slices=True):
            pass
    with CheckpointReader(prefix, verify_checksums=verify, mmap=mmap) as r:
        return _read_all(r)


def target_bundle_unverified(files: Files, workdir: Path) -> int:
    """Same without checksum checks (and memory-mapped): the parsers behind them must hold."""
    return target_bundle(files, workdir, verify=False, mmap=True)


def target_v1(files: Files, workdir: Path) -> int:
    """The legacy V1 reader: one file or a sharded pattern."""
    from savedmodel_io.train.checkpoint_reader import CheckpointReader

    names = sorted(files)
    if len(names) == 1:
        pattern = str(workdir / names[0])
    else:
        pattern = str(workdir / (names[0].rsplit("-", 3)[0] + "-?????-of-?????"))
    with CheckpointReader(pattern) as r:
        check(r.format_version == 1, "V1 files read as a bundle")
        return _read_all(r)


def target_saved_model(files: Files, workdir: Path) -> int:
    """The SavedModel loader: every MetaGraphDef, its signatures, assets, variables,
    object graph and fingerprint."""
    from savedmodel_io.saved_model import loader

    sm = loader.parse_saved_model(workdir)
    source = loader.saved_model_file(workdir)
    n = 0
    for i, meta in enumerate(list(sm.meta_graphs)[:8]):
        tags = list(meta.meta_info_def.tags)
        if i == 0:  # the public entry points once (each parses the file again)
            loaded = loader.load(workdir, tags)
            loader.get_meta_graph_def(workdir, ",".join(tags))
        else:
            loaded = loader.LoadedSavedModel(workdir, sm, meta, source=source)
        n += len(loaded.signatures)
        for name, p in loaded.asset_paths.items():
            check(isinstance(name, str), "asset tensor name not a string")
            real = os.path.realpath(p)
            check(real.startswith(os.path.realpath(workdir / "assets") + os.sep),
                  f"asset path {p!r} escapes the assets directory")
        _ = loaded.fingerprint
        if loaded.variables is not None:
            n += _read_all(loaded.variables)
            loaded.variables.close()
        if loaded.object_graph is not None:
            loaded.variables_by_path()
            n += len(loaded.functions) + len(loaded.concrete_functions)
        loaded.checkpoint_object_graph()
    return n


def target_state_file(files: Files, workdir: Path) -> int:
    """The ``checkpoint`` state file: TF's lenient look-ups, then the strict reader."""
    from savedmodel_io.train import checkpoint_reader, checkpoint_state

    (data,) = files.values()
    lenient = checkpoint_state.get_checkpoint_state(str(workdir))  # None when garbled
    checkpoint_reader.latest_checkpoint(str(workdir))
    read = checkpoint_state.read_checkpoint_state(str(workdir))  # raises when garbled
    check(lenient is not None, "get_checkpoint_state gave None for a readable file")
    check(bool(read.model_checkpoint_path), "state without model_checkpoint_path")
    for p in read.all_model_checkpoint_paths:
        check(os.path.isabs(p), f"path {p!r} not made absolute")
    again = checkpoint_state.parse_state(data)
    check(len(again.all_model_checkpoint_paths) == len(read.all_model_checkpoint_paths),
          "parse_state and the file reader disagree")
    return len(read.all_model_checkpoint_paths)


CLI_MAX_ELEMENTS = 1 << 16  # the fuzzer checks the limit holds, not how big it is


def target_cli_input_strings(files: Files, workdir: Path) -> int:
    """``savedmodel-cli run``'s string options: ``--inputs``, ``--input_exprs`` (the safe
    evaluator: no code may run), ``--input_examples``. Each is parsed; our errors are
    collected and the last one raised."""
    from savedmodel_io.runtime import inputs

    def text(name: str) -> str:
        return files.get(name, b"").decode("utf-8", "replace")

    last: SavedModelIOError | None = None
    n = 0
    try:
        n += len(inputs.parse_inputs_arg(text("inputs")))
    except SavedModelIOError as e:
        last = e
    try:
        values = inputs.parse_input_exprs(text("input_exprs"), max_elements=CLI_MAX_ELEMENTS)
        for v in values.values():  # literals may be ragged lists: check arrays only
            if isinstance(v, np.ndarray):
                check(v.size <= CLI_MAX_ELEMENTS, "an expression built more than allowed")
        n += len(values)
    except SavedModelIOError as e:
        last = e
    try:
        examples = inputs.parse_input_examples(text("input_examples"))
        for v in examples.values():
            check(v.dtype == object and all(isinstance(x, bytes) for x in v),
                  "examples are not serialized bytes")
        n += len(examples)
    except SavedModelIOError as e:
        last = e
    if last is not None:
        raise last
    return n


def target_cli_input_files(files: Files, workdir: Path) -> int:
    """``--inputs`` files: ``.npy``/``.npz`` (pickles refused) read by the CLI's loader."""
    from savedmodel_io.runtime import inputs

    (name,) = files
    value = inputs.load_input_file(str(workdir / name), None)
    check(isinstance(value, np.ndarray), "not an array")
    check(value.dtype != object, "an object array came out of a file without allow_pickle")
    return int(value.size)


TARGETS: dict[str, Callable[[Files, Path], Any]] = {
    "table": target_table,
    "bundle": target_bundle,
    "bundle_unverified": target_bundle_unverified,
    "v1": target_v1,
    "saved_model": target_saved_model,
    "saved_model_text": target_saved_model,
    "state_file": target_state_file,
    "cli_input_strings": target_cli_input_strings,
    "cli_input_files": target_cli_input_files,
}
