"""show cases no TensorFlow-written file has: hand-made SavedModels."""

from __future__ import annotations

from pathlib import Path

import pytest

from savedmodel_io.cli import main, structured_value
from savedmodel_io.errors import InvalidArgumentError
from savedmodel_io.protos import saved_model_pb2, struct_pb2
from tests.conftest import GOLDEN


def test_functions_not_listed_when_tensorflow_could_not_load(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``tf.saved_model.load`` needs exactly one MetaGraphDef; with two, TensorFlow's CLI
    prints N/A after "Concrete Functions:" (saved_model_cli.py, _show_defined_functions)."""
    source = saved_model_pb2.SavedModel.FromString(
        (GOLDEN / "sm_tf2_module" / "saved_model.pb").read_bytes())
    extra = source.meta_graphs.add()
    extra.CopyFrom(source.meta_graphs[0])
    extra.meta_info_def.tags[:] = ["serve", "gpu"]
    (tmp_path / "saved_model.pb").write_bytes(source.SerializeToString())
    assert main(["show", "--dir", str(tmp_path), "--all"]) == 0
    out = capsys.readouterr().out
    assert out.endswith("\nConcrete Functions: N/A (could not be listed due to unknown "
                        "reasons)\n")
    assert out.count("MetaGraphDef with tag-set:") == 2


def test_hostile_nesting_is_refused() -> None:
    value = struct_pb2.StructuredValue()
    inner = value
    for _ in range(structured_value.MAX_DEPTH + 5):
        inner = inner.list_value.values.add()
    with pytest.raises(InvalidArgumentError, match="nested deeper"):
        structured_value.decode(value)
