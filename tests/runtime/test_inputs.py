"""``savedmodel-cli run`` inputs: the safe expression evaluator, files, tf.Examples."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest

from savedmodel_io.errors import InvalidArgumentError, NotFoundError, PermissionDeniedError
from savedmodel_io.example import FixedLenFeature, parse_example
from savedmodel_io.runtime.inputs import (
    ExpressionError,
    evaluate,
    load_input_file,
    load_inputs,
    parse_input_examples,
    parse_input_exprs,
    parse_inputs_arg,
)


@pytest.mark.parametrize("expr, expected", [
    ("[[1],[2]]", [[1], [2]]),
    ("-1.5e3", -1500.0),
    ("(1, 'a', b'b', None, True)", (1, "a", b"b", None, True)),
    ("{'x': [1.0]}", {"x": [1.0]}),
    ("10**12", 10**12),
    ("2 * 3 - 4 / 2 + 7 // 2 % 2", 5.0),
])
def test_literals_and_arithmetic(expr: str, expected: object) -> None:
    assert evaluate(expr) == expected


def test_numpy_constructors() -> None:
    a = evaluate("np.ones((2,1))")
    assert a.shape == (2, 1) and a.dtype == np.float64
    b = evaluate("np.arange(6, dtype=np.float32).reshape(2, 3).T")
    assert b.shape == (3, 2) and b.dtype == np.float32 and b[2, 1] == 5
    c = evaluate("numpy.full([2, 2], 7, dtype='int32') * 2 + np.eye(2, dtype=np.int32)")
    assert c.tolist() == [[15, 14], [14, 15]]
    assert evaluate("np.zeros(3).astype('int64')").dtype == np.int64
    assert evaluate("np.linspace(0, 1, 5)").tolist() == [0, 0.25, 0.5, 0.75, 1]
    assert evaluate("np.random.rand(2, 3)").shape == (2, 3)
    assert evaluate("np.random.randint(0, 4, size=(5,))").max() < 4
    assert evaluate("np.array([[1, 2]], dtype=np.float16)").dtype == np.float16
    assert evaluate("-np.ones(2)").tolist() == [-1, -1]
    assert np.isnan(evaluate("np.nan")) and evaluate("np.pi") == np.pi


@pytest.mark.parametrize("expr, message", [
    ("__import__('os').system('true')", "name '__import__'"),
    ("open('/etc/passwd')", "name 'open'"),
    ("np.load('x.npy')", "np.load"),
    ("np.ones(3).tofile('/tmp/x')", "attribute 'tofile'"),
    ("np.ones(3).__class__", "attribute '__class__'"),
    ("[x for x in range(3)]", "ListComp"),
    ("lambda: 1", "Lambda"),
    ("'a' * 10", "arithmetic on a str"),
    ("[1] * 10**9", "arithmetic on a list"),
    ("np.ones((10**12,))", "array of 1000000000000 elements"),
    ("np.zeros([100000, 100000])", "more than the limit"),
    ("np.arange(1e15)", "more than the limit"),
    ("np.ones((3, 3)) + np.ones((3, 1, 10**5, 10**3))", "more than the limit"),
    ("10**10**10", "larger than 4096 bits"),
    ("2**5000", "larger than 4096 bits"),
    ("np.random.rand(10**5, 10**5)", "more than the limit"),
    ("x = 1", "not valid"),
    ("1/0", "failed"),
    ("(" * 500 + ")" * 500, "not valid|nested"),
    ("np.ones(3).astype(np.dtype)", "astype|dtype"),
    ("np", "used as a value"),
])
def test_everything_else_is_refused(expr: str, message: str) -> None:
    with pytest.raises(ExpressionError, match=message):
        evaluate(expr)


def test_literal_only_mode() -> None:
    assert evaluate("[{'a': [1.0]}]", numpy_calls=False) == [{"a": [1.0]}]
    with pytest.raises(ExpressionError, match="Python literals only"):
        evaluate("np.ones(2)", numpy_calls=False)


def test_input_exprs_splitting() -> None:
    got = parse_input_exprs("x=[[1],[2]];y=np.ones((2,1));;z=' a=b '")
    assert got["x"] == [[1], [2]] and got["y"].shape == (2, 1) and got["z"] == " a=b "
    with pytest.raises(InvalidArgumentError, match="format is incorrect"):
        parse_input_exprs("x=1;y")


def test_inputs_arg() -> None:
    assert parse_inputs_arg("x=a.npy;y=b.npz[v];") == {"x": ("a.npy", None),
                                                       "y": ("b.npz", "v")}
    with pytest.raises(InvalidArgumentError, match="format is incorrect"):
        parse_inputs_arg("x=a[1]b")


def test_input_files(tmp_path: Path) -> None:
    np.save(tmp_path / "a.npy", np.arange(3))
    np.savez(tmp_path / "one.npz", only=np.ones(2))
    np.savez(tmp_path / "two.npz", p=np.zeros(1), q=np.ones(1))
    assert load_input_file(str(tmp_path / "a.npy"), None).tolist() == [0, 1, 2]
    assert load_input_file(str(tmp_path / "a.npy"), "ignored").tolist() == [0, 1, 2]
    assert load_input_file(str(tmp_path / "one.npz"), None).tolist() == [1, 1]
    assert load_input_file(str(tmp_path / "two.npz"), "q").tolist() == [1]
    with pytest.raises(InvalidArgumentError, match="more than one ndarrays"):
        load_input_file(str(tmp_path / "two.npz"), None)
    with pytest.raises(NotFoundError, match='does not contain variable with name "r"'):
        load_input_file(str(tmp_path / "two.npz"), "r")
    with pytest.raises(NotFoundError, match="does not exist"):
        load_input_file(str(tmp_path / "nope.npy"), None)
    (tmp_path / "junk.npy").write_bytes(b"not numpy")
    with pytest.raises(InvalidArgumentError, match="cannot load"):
        load_input_file(str(tmp_path / "junk.npy"), None)


def test_pickles_are_refused_unless_allowed(tmp_path: Path) -> None:
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with (tmp_path / "d.pkl").open("wb") as f:
        pickle.dump({"v": [1, 2]}, f)
    np.savez(tmp_path / "objs.npz", o=np.array([None, 1], dtype=object))
    for name, var in (("obj.npy", None), ("d.pkl", "v"), ("objs.npz", "o")):
        with pytest.raises(PermissionDeniedError, match="--allow_pickle"):
            load_input_file(str(tmp_path / name), var)
    assert load_input_file(str(tmp_path / "d.pkl"), "v", allow_pickle=True).tolist() == [1, 2]


def test_input_examples_and_precedence(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                       ) -> None:
    ex = parse_input_examples('inputs=[{"x":[1.0], "w": ["a"]}, {"x":[2.5]}]')
    got = parse_example(list(ex["inputs"]), {"x": FixedLenFeature([1], np.float32)})
    assert got["x"].tolist() == [[1.0], [2.5]]
    with pytest.raises(InvalidArgumentError, match="must be a list of dictionaries"):
        parse_input_examples("inputs={'x': [1.0]}")
    np.save(tmp_path / "x.npy", np.zeros(2))
    feeds = load_inputs(f"x={tmp_path / 'x.npy'}", "x=[5.0]", "")
    assert feeds["x"] == [5.0]
    assert "given more than once" in capsys.readouterr().err
