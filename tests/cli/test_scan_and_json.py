"""scan beyond TensorFlow (hidden functions, locations, ops without kernels) and the
``--json`` outputs, checked against the files they describe."""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from savedmodel_io.cli import concrete_functions, graph_ops, hash_order, main
from savedmodel_io.protos import saved_model_pb2
from savedmodel_io.saved_model import loader
from savedmodel_io.train import load_checkpoint
from tests.cli.clitext import set_of
from tests.conftest import GOLDEN

TF2_MODEL = GOLDEN / "cli" / "models" / "tf2"


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out = capsys.readouterr()
    return code, out.out, out.err


# ------------------------------------------------------------------ a hand-made model


def _node(graph: Any, name: str, op: str, inputs: tuple[str, ...] = (), **funcs: str) -> Any:
    n = graph.node.add() if hasattr(graph, "node") else graph.node_def.add()
    n.name, n.op = name, op
    n.input.extend(inputs)
    for attr, fname in funcs.items():
        n.attr[attr].func.name = fname
    return n


def _function(library: Any, name: str) -> Any:
    f = library.function.add()
    f.signature.name = name
    return f


@pytest.fixture
def hidden_ops_model(tmp_path: Path) -> Path:
    """Graph: x -> call(f_main) -> y, and a While whose body reads a file. f_main prints
    and calls f_inner by op name (Mul). f_unused writes a file; nothing calls it."""
    sm = saved_model_pb2.SavedModel()
    meta = sm.meta_graphs.add()
    meta.meta_info_def.tags.append("serve")
    g = meta.graph_def
    _node(g, "x", "Placeholder")
    _node(g, "c", "Const")
    _node(g, "call", "StatefulPartitionedCall", ("x",), f="f_main")
    _node(g, "y", "Identity", ("call", "^c"))
    _node(g, "loop", "While", ("x",), body="f_body", cond="f_cond")
    f_main = _function(g.library, "f_main")
    _node(f_main, "p", "PrintV2")
    _node(f_main, "inner", "f_inner")
    _node(_function(g.library, "f_inner"), "m", "Mul")
    _node(_function(g.library, "f_body"), "read", "ReadFile")
    _node(_function(g.library, "f_cond"), "less", "Less")
    _node(_function(g.library, "f_unused"), "write", "WriteFile")
    sig = meta.signature_def["serving_default"]
    sig.outputs["y"].name = "y:0"
    (tmp_path / "saved_model.pb").write_bytes(sm.SerializeToString())
    return tmp_path


def test_tensorflow_view_of_the_ops(hidden_ops_model: Path) -> None:
    graph = loader.parse_saved_model(hidden_ops_model).meta_graphs[0].graph_def
    assert graph_ops.tf_ops_used(graph) == {"Placeholder", "Const", "StatefulPartitionedCall",
                                            "Identity", "While", "PrintV2", "Mul"}
    assert graph_ops.reachable_functions(graph) == {"f_main", "f_inner", "f_body", "f_cond"}
    assert graph_ops.all_ops(graph) >= {"ReadFile", "WriteFile", "Less"}
    assert graph_ops.ops_needed(graph, ["y:0"]) == {"Placeholder", "Const",
                                                    "StatefulPartitionedCall", "Identity",
                                                    "PrintV2", "Mul"}


def test_scan_finds_ops_in_every_function(hidden_ops_model: Path, monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setitem(sys.modules, "savedmodel_io.runtime", None)  # no runtime here
    code, out, err = run(["scan", "--dir", str(hidden_ops_model)], capsys)
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert set_of(lines[0]) == {"PrintV2", "ReadFile", "WriteFile"}
    assert lines[1:] == [
        "  PrintV2: node 'p' in function 'f_main'",
        "  ReadFile: node 'read' in function 'f_body'; TensorFlow's scan misses it",
        "  WriteFile: node 'write' in function 'f_unused' (not called from the graph); "
        "TensorFlow's scan misses it",
    ]


def test_scan_lists_ops_without_kernels(hidden_ops_model: Path, monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    runtime = types.ModuleType("savedmodel_io.runtime")
    runtime.supported_ops = lambda: frozenset({"Placeholder", "Const", "Identity",  # type: ignore[attr-defined]
                                               "StatefulPartitionedCall"})
    monkeypatch.setitem(sys.modules, "savedmodel_io.runtime", runtime)
    code, out, _ = run(["scan", "--dir", str(hidden_ops_model), "--op_denylist", "Nothing"],
                       capsys)
    assert code == 0
    assert out.splitlines()[-1] == ("MetaGraph with tag set ['serve'] needs ops that cannot "
                                    "run here (no numpy kernel): {'Mul', 'PrintV2'}")
    code, out, _ = run(["scan", "--dir", str(hidden_ops_model), "--json"], capsys)
    result = json.loads(out)["meta_graphs"][0]
    assert result["cannot_run_here"] == ["Mul", "PrintV2"]
    assert sorted(result["denylisted_ops"]) == ["PrintV2", "ReadFile", "WriteFile"]
    write = result["denylisted_ops"]["WriteFile"][0]
    assert write == {"node": "write", "function": "f_unused", "reachable": False,
                     "seen_by_tensorflow": False, "where": write["where"]}


# ------------------------------------------------------------------ JSON


def test_show_all_json_matches_the_text(corpus: Path, capsys: pytest.CaptureFixture[str]) -> None:
    d = corpus / "saved_model_half_plus_two_tf2_cpu" / "00000123"
    _, text, _ = run(["show", "--dir", str(d), "--all"], capsys)
    code, out, _ = run(["show", "--dir", str(d), "--all", "--json"], capsys)
    assert code == 0
    data = json.loads(out)
    meta = loader.parse_saved_model(d).meta_graphs[0]
    (graph,) = data["meta_graphs"]
    assert graph["tags"] == ["serve"]
    ops_line = next(ln for ln in text.splitlines() if "contains the following ops" in ln)
    assert set(graph["ops"]) == set_of(ops_line)
    for key, sig in meta.signature_def.items():
        got = graph["signature_defs"][key]
        assert got["method_name"] == sig.method_name
        for k, info in sig.inputs.items():
            assert got["inputs"][k]["name"] == info.name
            assert got["inputs"][k]["shape"] == [d.size for d in info.tensor_shape.dim]
    names = [ln.split("'")[1] for ln in text.splitlines() if "Function Name:" in ln]
    assert [f["name"] for f in data["concrete_functions"]] == names


def test_show_json_tag_sets_and_signature(capsys: pytest.CaptureFixture[str]) -> None:
    sm = GOLDEN / "sm_tf1_builder"
    assert json.loads(run(["show", "--dir", str(sm), "--json"], capsys)[1]) == {
        "tag_sets": [["gpu", "serve"], ["serve"]]}
    data = json.loads(run(["show", "--dir", str(sm), "--tag_set", "serve", "--json"],
                          capsys)[1])
    assert data["signature_keys"] == sorted(
        loader.get_meta_graph_def(sm, "serve").signature_def)
    data = json.loads(run(["show", "--dir", str(sm), "--tag_set", "serve", "--signature_def",
                           "classify", "--json"], capsys)[1])
    sig = loader.get_meta_graph_def(sm, "serve").signature_def["classify"]
    assert data["method_name"] == sig.method_name
    assert set(data["inputs"]) == set(sig.inputs) and set(data["outputs"]) == set(sig.outputs)


def test_inspect_json_values(capsys: pytest.CaptureFixture[str]) -> None:
    prefix = GOLDEN / "bundle_all_dtypes" / "ckpt"
    code, out, _ = run(["inspect", "--file_name", str(prefix), "--all_tensors", "--json"],
                       capsys)
    assert code == 0
    data = json.loads(out)
    reader = load_checkpoint(str(prefix))
    assert data["format"] == "V2"
    assert [t["name"] for t in data["tensors"]] == sorted(reader)
    assert data["total_params"] == sum(int(np.prod(s)) for s in
                                       reader.get_variable_to_shape_map().values())
    for t in data["tensors"]:
        value = reader[t["name"]]
        assert t["shape"] == list(value.shape)
        if value.dtype.kind == "c":
            assert np.allclose(np.array(t["value"])[..., 0], value.real)
        elif value.dtype.kind == "O":
            assert t["value"] == [[b.decode() for b in row] for row in value.tolist()]
        elif value.dtype.fields is None:
            assert np.array_equal(np.array(t["value"], dtype=np.float64),
                                  value.astype(np.float64))


def test_inspect_json_binary_strings_and_one_tensor(capsys: pytest.CaptureFixture[str]) -> None:
    prefix = GOLDEN / "bundle_strings" / "ckpt"
    reader = load_checkpoint(str(prefix))
    for key in reader:
        _, out, _ = run(["inspect", "--file_name", str(prefix), "--tensor_name", key,
                         "--json"], capsys)
        (t,) = json.loads(out)["tensors"]
        value = reader[key]
        if "value_base64" in t:
            import base64
            flat = np.array(t["value_base64"], dtype=object).ravel().tolist()
            assert [base64.b64decode(s) for s in flat] == value.ravel().tolist()
        else:
            flat = np.array(t["value"], dtype=object).ravel().tolist()
            assert [s.encode() for s in flat] == value.ravel().tolist()
    code, _, err = run(["inspect", "--file_name", str(prefix), "--tensor_name", "nope",
                        "--json"], capsys)
    assert code == 1 and "nope not found" in err


# ------------------------------------------------------------------ orders


@settings(max_examples=50, deadline=None)
@given(st.lists(st.binary(max_size=40), unique=True, max_size=200))
def test_hash_map_order_is_a_permutation(keys: list[bytes]) -> None:
    order = hash_order.unordered_map_order(keys)
    assert sorted(order) == list(range(len(keys)))


def test_trace_order_follows_uid_strings_not_load_order() -> None:
    """In the TF2 golden the traces of ``poly`` get uids of different lengths, so
    TensorFlow's (string) order differs from load order; the golden text agrees with ours
    (tests/cli/test_tf_goldens.py) only if the uids are replayed exactly."""
    sm = loader.parse_saved_model(TF2_MODEL)
    uids = concrete_functions.loaded_uids(sm.meta_graphs[0])
    (poly,) = [f for f in concrete_functions.root_functions(sm) or [] if f.name == "poly"]
    printed = [o.name for o in poly.options]
    assert printed != sorted(printed, key=uids.__getitem__)
    assert len({len(str(uids[n])) for n in printed}) > 1
