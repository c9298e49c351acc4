"""Our MetaGraphDefs against the ones TensorFlow 2.21 exported for the same programs
(tests/data/golden/graph/, made by make_graph_goldens.py there)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest
from google.protobuf import text_format

from savedmodel_io.protos import meta_graph_pb2


def _load(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


programs = _load("graph_programs", Path(__file__).with_name("graph_programs.py"))


def diff_meta_graphs(ours: meta_graph_pb2.MetaGraphDef, theirs: meta_graph_pb2.MetaGraphDef
                     ) -> list[str]:
    """Human-readable differences (empty when the two are equal)."""
    out = []
    a = [n.name for n in ours.graph_def.node]
    b = [n.name for n in theirs.graph_def.node]
    if a != b:
        out.append(f"node names differ:\n ours {a}\n tf   {b}")
    mine = {n.name: n for n in ours.graph_def.node}
    for n in theirs.graph_def.node:
        m = mine.get(n.name)
        if m is not None and m.SerializeToString(deterministic=True) != n.SerializeToString(
                deterministic=True):
            out.append(f"node {n.name!r}:\n ours {text_format.MessageToString(m, as_one_line=True)}"
                       f"\n tf   {text_format.MessageToString(n, as_one_line=True)}")
    for field in ("versions", "library"):
        if getattr(ours.graph_def, field) != getattr(theirs.graph_def, field):
            out.append(f"graph_def.{field} differs")
    if ours.meta_info_def != theirs.meta_info_def:
        ops_a = [o.name for o in ours.meta_info_def.stripped_op_list.op]
        ops_b = [o.name for o in theirs.meta_info_def.stripped_op_list.op]
        out.append(f"meta_info_def differs (stripped ops ours {ops_a}, tf {ops_b})")
    if ours.saver_def != theirs.saver_def:
        out.append(f"saver_def: ours {ours.saver_def} tf {theirs.saver_def}")
    if set(ours.collection_def) != set(theirs.collection_def):
        out.append(f"collections: ours {sorted(ours.collection_def)}, "
                   f"tf {sorted(theirs.collection_def)}")
    for key in set(ours.collection_def) & set(theirs.collection_def):
        if ours.collection_def[key] != theirs.collection_def[key]:
            out.append(f"collection {key!r}: ours {ours.collection_def[key]} "
                       f"tf {theirs.collection_def[key]}")
    return out


@pytest.mark.parametrize("name", sorted(programs.PROGRAMS))
def test_meta_graph_equals_tensorflow_golden(golden: Path, name: str) -> None:
    theirs = meta_graph_pb2.MetaGraphDef()
    text_format.Parse((golden / "graph" / f"{name}.pbtxt").read_text(encoding="utf-8"), theirs)
    ours = programs.PROGRAMS[name]()
    assert diff_meta_graphs(ours, theirs) == []
    # Equal field by field is equal byte by byte.
    assert ours.SerializeToString(deterministic=True) == theirs.SerializeToString(
        deterministic=True)
