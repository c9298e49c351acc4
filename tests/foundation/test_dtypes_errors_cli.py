"""The dtype table, the error hierarchy, and the CLI entry points."""

from __future__ import annotations

import subprocess
import sys

import ml_dtypes
import numpy as np
import pytest

from savedmodel_io import __version__, dtypes, errors
from savedmodel_io.dtypes import DataType
from savedmodel_io.protos import types_pb2


def test_enum_matches_our_proto() -> None:
    for name, number in types_pb2.DataType.items():
        assert DataType[name] == number
    assert len(DataType) == len(types_pb2.DataType.items())


@pytest.mark.parametrize("dt", [d for d in DataType if 0 < d < 100
                                and d not in (DataType.DT_RESOURCE, DataType.DT_VARIANT)])
def test_every_tensor_dtype_maps_both_ways(dt: DataType) -> None:
    npd = dtypes.as_numpy_dtype(dt)
    assert dtypes.from_numpy_dtype(npd) == dt
    assert dtypes.to_datatype(dtypes.python_name(dt)) == dt
    size = dtypes.itemsize(dt)
    assert size is None if dt == DataType.DT_STRING else size == npd.itemsize


def test_specific_mappings() -> None:
    assert dtypes.as_numpy_dtype(DataType.DT_BFLOAT16) == np.dtype(ml_dtypes.bfloat16)
    assert dtypes.as_numpy_dtype(DataType.DT_QINT8) == np.dtype([("qint8", "i1")])
    assert dtypes.as_numpy_dtype(DataType.DT_STRING) == np.dtype(object)
    assert dtypes.base_dtype(DataType.DT_FLOAT_REF) == DataType.DT_FLOAT
    assert dtypes.python_name(DataType.DT_HALF_REF) == "float16_ref"
    assert dtypes.from_numpy_dtype(np.dtype(">f4")) == DataType.DT_FLOAT
    assert dtypes.from_numpy_dtype(np.dtype("U3")) == DataType.DT_STRING


@pytest.mark.parametrize("dt", [DataType.DT_RESOURCE, DataType.DT_VARIANT])
def test_handles_have_no_numpy_dtype(dt: DataType) -> None:
    with pytest.raises(errors.UnimplementedError, match="no numpy dtype"):
        dtypes.as_numpy_dtype(dt)


def test_unknown_dtypes_are_invalid_argument() -> None:
    with pytest.raises(errors.InvalidArgumentError):
        dtypes.to_datatype(77)
    with pytest.raises(errors.InvalidArgumentError):
        dtypes.from_numpy_dtype(np.dtype("datetime64[s]"))


def test_errors_name_file_key_and_offset() -> None:
    e = errors.DataLossError("block checksum mismatch", path="m.index", key=b"w", offset=91)
    assert str(e) == "m.index: tensor 'w': block checksum mismatch (at byte 91)"
    assert isinstance(e, errors.SavedModelIOError) and isinstance(e, OSError)
    nf = errors.NotFoundError("key not found in checkpoint", key="x")
    assert isinstance(nf, KeyError) and str(nf) == "tensor 'x': key not found in checkpoint"
    assert issubclass(errors.InvalidArgumentError, ValueError)


@pytest.mark.parametrize("cmd", [["-m", "savedmodel_io", "--version"],
                                 ["-c", "from savedmodel_io.cli import main; main(['--version'])"]])
def test_cli_prints_version(cmd: list[str]) -> None:
    out = subprocess.run([sys.executable, *cmd], capture_output=True, text=True, check=False)
    assert out.returncode == 0
    assert __version__ in out.stdout


def test_cli_without_arguments_prints_help() -> None:
    out = subprocess.run([sys.executable, "-m", "savedmodel_io"], capture_output=True,
                         text=True, check=True)
    assert out.stdout.startswith("usage: savedmodel-cli")


def test_import_does_not_pull_in_tensorflow() -> None:
    code = ("import sys, savedmodel_io, savedmodel_io.train, savedmodel_io.saved_model.loader;"
            "print('tensorflow' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"
