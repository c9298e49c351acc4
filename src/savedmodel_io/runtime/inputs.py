"""Inputs for ``savedmodel-cli run``: ``--inputs``, ``--input_exprs``, ``--input_examples``.

``--input_exprs`` values are evaluated by walking their syntax tree, never by ``eval``:
Python literals (numbers, strings, lists, tuples, dicts, ``True``/``None``), arithmetic on
numbers and arrays, and a fixed set of numpy calls::

    x=[[1],[2]];y=np.ones((2,1));z=np.arange(6, dtype=np.float32).reshape(2,3)

Allowed numpy names: the constructors in :data:`NUMPY_FUNCTIONS` (and ``np.random``'s in
:data:`RANDOM_FUNCTIONS`), the dtypes (``np.float32``...), ``np.pi``/``e``/``inf``/``nan``;
on arrays ``.reshape``, ``.astype``, ``.transpose``, ``.flatten``, ``.ravel``, ``.T``. Every
array an expression builds is size-checked first (``max_elements``), and huge integers
(``10**10**10``) are refused, so no expression can allocate without bound or run for long.
``--inputs`` files are read with ``allow_pickle=False`` unless ``allow_pickle`` is given.
"""

from __future__ import annotations

import ast
import math
import os
import re
import sys
import tokenize
import zipfile
import zlib
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from savedmodel_io.errors import InvalidArgumentError, NotFoundError, PermissionDeniedError

MAX_ELEMENTS = 1 << 26
"""Largest array an expression may build (64 Mi elements: 256 MiB of float32)."""

MAX_BYTES = 1 << 30
"""Largest array (in bytes) an expression or input file may make: element counts alone let
one ``S1000000000`` element weigh a gigabyte."""

MAX_EXPRESSION_CHARS = 1 << 20
_NPY_MAGIC = b"\x93NUMPY"
_ZIP_MAGIC = b"PK\x03\x04"
MAX_INT_BITS = 4096

NUMPY_FUNCTIONS = frozenset({
    "array", "asarray", "zeros", "ones", "full", "empty", "arange", "linspace", "eye",
    "identity", "zeros_like", "ones_like", "full_like",
})
RANDOM_FUNCTIONS = frozenset({"rand", "randn", "uniform", "normal", "randint", "random"})
ARRAY_METHODS = frozenset({"reshape", "astype", "transpose", "flatten", "ravel"})
_CONSTANTS = {"pi": math.pi, "e": math.e, "inf": math.inf, "nan": math.nan}
_DTYPES = frozenset({
    "float16", "float32", "float64", "half", "single", "double", "int8", "int16", "int32",
    "int64", "uint8", "uint16", "uint32", "uint64", "bool_", "complex64", "complex128",
    "str_", "bytes_", "object_",
})
_MODULES = ("np", "numpy")


class _Namespace:
    """A whitelisted module path (``np`` or ``np.random``) as a value in the tree walk."""

    def __init__(self, path: str) -> None:
        self.path = path


class _Func:
    """A whitelisted function, resolved but not yet called."""

    def __init__(self, name: str, target: Any = None) -> None:
        self.name = name
        self.target = target  # the array for a method


class ExpressionError(InvalidArgumentError):
    """An ``--input_exprs`` value that is not allowed or cannot be evaluated."""


def evaluate(expr: str, *, numpy_calls: bool = True, max_elements: int = MAX_ELEMENTS) -> Any:
    """The value of ``expr`` (see the module docstring for what is allowed)."""
    if len(expr) > MAX_EXPRESSION_CHARS:
        raise ExpressionError(f"expression is {len(expr)} characters long, more than "
                              f"{MAX_EXPRESSION_CHARS}")
    try:
        tree = ast.parse(expr.strip(), mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError) as e:
        raise ExpressionError(f'Expression "{_short(expr)}" is not valid: {e}') from None
    walker = _Walker(numpy_calls, max_elements, expr)
    try:
        return walker.value(tree.body)
    except ExpressionError:
        raise
    except RecursionError:
        raise ExpressionError(f'Expression "{_short(expr)}" is nested too deeply') from None
    except (ValueError, TypeError, ArithmeticError, IndexError, KeyError) as e:
        raise ExpressionError(f'Expression "{_short(expr)}" failed: {e}') from None


def _short(text: str, n: int = 80) -> str:
    return text if len(text) <= n else text[:n] + "..."


class _Walker:
    def __init__(self, numpy_calls: bool, max_elements: int, expr: str) -> None:
        self.numpy_calls = numpy_calls
        self.max_elements = max_elements
        self.expr = expr

    def fail(self, what: str) -> ExpressionError:
        allowed = ("Python literals and a fixed set of numpy constructors" if self.numpy_calls
                   else "Python literals only")
        return ExpressionError(f'Expression "{_short(self.expr)}": {what} is not allowed '
                               f"(allowed: {allowed})")

    def value(self, node: ast.AST) -> Any:
        v = self._eval(node)
        if isinstance(v, (_Namespace, _Func)):
            raise self.fail(f"{getattr(v, 'path', getattr(v, 'name', '?'))} used as a value")
        return v

    def _eval(self, node: ast.AST) -> Any:
        if isinstance(node, ast.Constant):
            if isinstance(node.value, int) and not isinstance(node.value, bool):
                self._check_int(node.value)
            return node.value
        if isinstance(node, (ast.List, ast.Tuple)):
            items = [self.value(e) for e in node.elts]
            return items if isinstance(node, ast.List) else tuple(items)
        if isinstance(node, ast.Dict):
            if any(k is None for k in node.keys):
                raise self.fail("dict unpacking (**)")
            return {self.value(k): self.value(v)  # type: ignore[arg-type]
                    for k, v in zip(node.keys, node.values, strict=True)}
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            operand = self._number(self.value(node.operand), "unary minus")
            return -operand if isinstance(node.op, ast.USub) else +operand
        if isinstance(node, ast.BinOp):
            return self._binop(node)
        if not self.numpy_calls:
            raise self.fail(type(node).__name__)
        if isinstance(node, ast.Name):
            if node.id in _MODULES:
                return _Namespace("np")
            raise self.fail(f"name {node.id!r}")
        if isinstance(node, ast.Attribute):
            return self._attribute(node)
        if isinstance(node, ast.Call):
            return self._call(node)
        raise self.fail(type(node).__name__)

    # -------------------------------------------------------------- arithmetic

    def _check_int(self, v: int) -> None:
        if v.bit_length() > MAX_INT_BITS:
            raise ExpressionError(f'Expression "{_short(self.expr)}": an integer has more '
                                  f"than {MAX_INT_BITS} bits")

    def _number(self, v: Any, what: str) -> Any:
        if isinstance(v, (bool, int, float, complex, np.ndarray, np.number, np.bool_)):
            return v
        raise self.fail(f"{what} on a {type(v).__name__}")

    def _binop(self, node: ast.BinOp) -> Any:
        ops: dict[type, Callable[[Any, Any], Any]] = {
            ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b,
            ast.Mult: lambda a, b: a * b, ast.Div: lambda a, b: a / b,
            ast.FloorDiv: lambda a, b: a // b, ast.Mod: lambda a, b: a % b,
            ast.Pow: lambda a, b: a ** b,
        }
        fn = ops.get(type(node.op))
        if fn is None:
            raise self.fail(f"operator {type(node.op).__name__}")
        a = self._number(self.value(node.left), "arithmetic")
        b = self._number(self.value(node.right), "arithmetic")
        if isinstance(node.op, ast.Pow):
            self._check_pow(a, b)
        if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
            shape = np.broadcast_shapes(np.shape(a), np.shape(b))
            self._check_size(_prod(shape))
        result = fn(a, b)
        if isinstance(result, int) and not isinstance(result, bool):
            self._check_int(result)
        return result

    def _check_pow(self, base: Any, exp: Any) -> None:
        if isinstance(base, int) and isinstance(exp, int) and not isinstance(exp, bool):
            bits = max(abs(base), 2).bit_length()
            if exp > 0 and bits * exp > MAX_INT_BITS:
                raise ExpressionError(f'Expression "{_short(self.expr)}": {base}**{exp} is '
                                      f"larger than {MAX_INT_BITS} bits")

    # -------------------------------------------------------------- numpy

    def _attribute(self, node: ast.Attribute) -> Any:
        base = self._eval(node.value)
        name = node.attr
        if isinstance(base, _Namespace):
            if base.path == "np":
                if name == "random":
                    return _Namespace("np.random")
                if name in NUMPY_FUNCTIONS:
                    return _Func(name)
                if name in _DTYPES:
                    return getattr(np, name)
                if name in _CONSTANTS:
                    return _CONSTANTS[name]
            elif name in RANDOM_FUNCTIONS:
                return _Func("random." + name)
            raise self.fail(f"{base.path}.{name}")
        if isinstance(base, np.ndarray):
            if name == "T":
                return base.T
            if name in ARRAY_METHODS:
                return _Func(name, base)
        raise self.fail(f"attribute {name!r}")

    def _call(self, node: ast.Call) -> Any:
        func = self._eval(node.func)
        if not isinstance(func, _Func):
            raise self.fail("calling this")
        if any(isinstance(a, ast.Starred) for a in node.args) or any(
                k.arg is None for k in node.keywords):
            raise self.fail("*args or **kwargs")
        args = [self.value(a) for a in node.args]
        kwargs = {str(k.arg): self.value(k.value) for k in node.keywords}
        if "dtype" in kwargs:
            kwargs["dtype"] = _dtype(kwargs["dtype"])
        if func.target is not None:
            return self._method(func, args, kwargs)
        n = _requested(func.name, args, kwargs)
        self._check_size(n)
        if "dtype" in kwargs:
            self._check_bytes(n * kwargs["dtype"].itemsize)
        if func.name.startswith("random."):
            return _random(func.name[len("random."):], args, kwargs)
        return getattr(np, func.name)(*args, **kwargs)

    def _method(self, func: _Func, args: list[Any], kwargs: dict[str, Any]) -> Any:
        target: np.ndarray = func.target
        if func.name == "astype":
            if len(args) != 1 or kwargs:
                raise self.fail("astype with anything but one dtype")
            dtype = _dtype(args[0])
            self._check_bytes(target.size * dtype.itemsize)
            return target.astype(dtype)
        return getattr(target, func.name)(*args, **kwargs)

    def _check_bytes(self, nbytes: int) -> None:
        if nbytes > MAX_BYTES:
            raise ExpressionError(
                f'Expression "{_short(self.expr)}" would build an array of {nbytes} bytes, '
                f"more than the limit of {MAX_BYTES}")

    def _check_size(self, n: int) -> None:
        if n > self.max_elements:
            raise ExpressionError(
                f'Expression "{_short(self.expr)}" would build an array of {n} elements, more '
                f"than the limit of {self.max_elements}")


def _dtype(value: Any) -> np.dtype:
    try:
        d = np.dtype(value)
    except TypeError:
        raise ExpressionError(f"{value!r} is not a dtype") from None
    if d.kind == "V":
        raise ExpressionError(f"dtype {d} is not allowed")
    out: np.dtype = d
    return out


def _prod(shape: Any) -> int:
    n = 1
    for d in shape:
        n *= int(d)
    return n


def _shape_size(shape: Any) -> int:
    if isinstance(shape, (int, np.integer)):
        shape = (int(shape),)
    if not isinstance(shape, (list, tuple)) or not all(
            isinstance(d, (int, np.integer)) and not isinstance(d, bool) for d in shape):
        raise ExpressionError(f"shape {shape!r} must be an int or a tuple of ints")
    if any(int(d) < 0 for d in shape):
        raise ExpressionError(f"shape {shape!r} has a negative dimension")
    return _prod(shape)


def _requested(name: str, args: list[Any], kw: dict[str, Any]) -> int:
    """How many elements a constructor call would create (checked before calling)."""
    if name in ("zeros", "ones", "empty", "full"):
        return _shape_size(args[0] if args else kw.get("shape", ()))
    if name == "arange":
        nums = [*args[:3]]
        if not nums or not all(isinstance(v, (int, float)) for v in nums):
            raise ExpressionError("arange takes numbers")
        start, stop, step = (0, nums[0], 1) if len(nums) == 1 else (
            nums[0], nums[1], nums[2] if len(nums) > 2 else 1)
        if step == 0 or not all(math.isfinite(v) for v in (start, stop, step)):
            raise ExpressionError("arange needs finite bounds and a non-zero step")
        return max(int(math.ceil((stop - start) / step)), 0)
    if name == "linspace":
        num = args[2] if len(args) > 2 else kw.get("num", 50)
        return _shape_size(num)
    if name in ("eye", "identity"):
        n = args[0] if args else kw.get("N", 0)
        m = args[1] if len(args) > 1 and name == "eye" else kw.get("M", n)
        return _shape_size((n, n if m is None else m))
    if name in ("zeros_like", "ones_like", "full_like", "array", "asarray"):
        return int(np.size(args[0])) if args else 0
    if name in ("random.rand", "random.randn"):
        return _shape_size(tuple(args))
    if name in ("random.uniform", "random.normal", "random.randint", "random.random"):
        size = kw.get("size", args[2] if len(args) > 2 else (args[0] if name ==
                                                              "random.random" and args else 1))
        return _shape_size(() if size is None else size)
    return 0


def _random(name: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
    rng = np.random.default_rng()
    if name == "rand":
        return rng.random(tuple(args))
    if name == "randn":
        return rng.standard_normal(tuple(args))
    if name == "random":
        return rng.random(*args, **kwargs)
    if name == "randint":
        return rng.integers(*args, **kwargs)
    return getattr(rng, name)(*args, **kwargs)


# ------------------------------------------------------------------ argument strings


def parse_input_exprs(text: str, *, numpy_calls: bool = True,
                      max_elements: int = MAX_ELEMENTS) -> dict[str, Any]:
    """``"x=[[1],[2]];y=np.ones((2,1))"`` -> ``{"x": ..., "y": ...}`` (split on ``;``,
    each item at its first ``=``, as ``saved_model_cli``)."""
    out: dict[str, Any] = {}
    for item in filter(None, text.split(";")):
        if "=" not in item:
            raise InvalidArgumentError(f'--input_exprs "{_short(item)}" format is incorrect. '
                                       'Please follow "<input_key>=<python expression>"')
        key, expr = item.split("=", 1)
        out[key.strip()] = evaluate(expr, numpy_calls=numpy_calls, max_elements=max_elements)
    return out


def parse_input_examples(text: str) -> dict[str, np.ndarray]:
    """``'inputs=[{"x":[1.0]}]'`` -> ``{"inputs": <object array of serialized Examples>}``."""
    from savedmodel_io.example import serialize_example

    out: dict[str, np.ndarray] = {}
    for key, value in parse_input_exprs(text, numpy_calls=False).items():
        if not isinstance(value, list) or not all(isinstance(d, dict) for d in value):
            raise InvalidArgumentError(
                f"--input_examples {key!r}: tf.Example input must be a list of dictionaries, "
                f"but it is {type(value).__name__}")
        arr = np.empty(len(value), object)
        arr[:] = [serialize_example(d) for d in value]
        out[key] = arr
    return out


_ITEM_WITH_NAME = re.compile(r"([^=]+)=([^\[\]]+)\[([^\[\]]+)\]$")
_ITEM = re.compile(r"([^=]+)=([^\[\]]+)$")


def parse_inputs_arg(text: str) -> dict[str, tuple[str, str | None]]:
    """``"x=a.npy;y=b.npz[name]"`` -> ``{"x": ("a.npy", None), "y": ("b.npz", "name")}``."""
    out: dict[str, tuple[str, str | None]] = {}
    for item in filter(None, text.split(";")):
        m = _ITEM_WITH_NAME.match(item)
        if m:
            out[m.group(1)] = (m.group(2), m.group(3))
            continue
        m = _ITEM.match(item)
        if not m:
            raise InvalidArgumentError(
                f'--inputs "{_short(item)}" format is incorrect. Please follow '
                '"<input_key>=<filename>" or "<input_key>=<filename>[<variable_name>]"')
        out[m.group(1)] = (m.group(2), None)
    return out


def load_input_file(filename: str, variable: str | None, *, allow_pickle: bool = False
                    ) -> np.ndarray:
    """An array from a ``.npy``, ``.npz`` (member ``variable``, or its only member) or,
    with ``allow_pickle``, a pickle file."""
    if not os.path.isfile(filename):
        raise NotFoundError(f"input file {filename!r} does not exist")
    with open(filename, "rb") as f:
        head = f.read(6)
    if not allow_pickle and not head.startswith((_NPY_MAGIC, _ZIP_MAGIC)):
        if head.startswith(b"\x80"):
            raise PermissionDeniedError(
                f"{filename}: is a pickle, which can run code when loaded; refusing it "
                "(pass --allow_pickle only for files you trust)")
        raise InvalidArgumentError(f"{filename}: cannot load: not a .npy or .npz file")
    if not allow_pickle:
        _check_declared_sizes(filename, variable)
    try:
        data = np.load(filename, allow_pickle=allow_pickle)
    except ValueError as e:
        if "pickle" in str(e).lower():
            raise PermissionDeniedError(
                f"{filename}: holds pickled Python objects, which can run code when loaded; "
                "refusing it (pass --allow_pickle only for files you trust)") from None
        raise InvalidArgumentError(f"{filename}: cannot load: {e}") from None
    except (OSError, EOFError) as e:
        raise InvalidArgumentError(f"{filename}: cannot load: {e}") from None
    try:
        return _pick(filename, data, variable)
    except ValueError as e:
        if "pickle" in str(e).lower():
            raise PermissionDeniedError(
                f"{filename}: member {variable!r} holds pickled Python objects; refusing it "
                "(pass --allow_pickle only for files you trust)") from None
        raise InvalidArgumentError(f"{filename}: {e}") from None
    except (OSError, EOFError, zipfile.BadZipFile, zlib.error, NotImplementedError) as e:
        # Members not checked above (another --inputs name) can be damaged too.
        raise InvalidArgumentError(f"{filename}: cannot load: {e!r}") from None
    finally:
        if hasattr(data, "close"):
            data.close()


def _check_declared_sizes(filename: str, variable: str | None) -> None:
    """Read the ``.npy`` header(s) before loading, and refuse an array that declares more
    bytes than the file (or zip member) holds, or more than ``MAX_BYTES``/``MAX_ELEMENTS``:
    numpy allocates the declared shape first, so 160 bytes could ask for 800 MB."""
    try:
        if zipfile.is_zipfile(filename):
            with zipfile.ZipFile(filename) as zf:
                for info in zf.infolist():
                    name = info.filename[:-4] if info.filename.endswith(".npy") else None
                    if name is None or (variable and name != variable):
                        continue
                    with zf.open(info) as member:
                        _check_npy_header(filename, member, info.file_size, name)
        else:
            with open(filename, "rb") as f:
                _check_npy_header(filename, f, os.path.getsize(filename), None)
    except InvalidArgumentError:
        raise
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, SyntaxError,
            tokenize.TokenError, TypeError, MemoryError, OverflowError, zlib.error,
            NotImplementedError) as e:  # zlib, "zip file version": a damaged member
        # numpy parses the header with the tokenizer: a mangled one raises TokenError.
        raise InvalidArgumentError(f"{filename}: cannot load: bad .npy header: {e}") from None


def _check_npy_header(filename: str, f: Any, stored: int, member: str | None) -> None:
    where = f"{filename}" + (f" member {member!r}" if member else "")
    version = np.lib.format.read_magic(f)
    if version == (1, 0):
        shape, _, dtype = np.lib.format.read_array_header_1_0(f)
    elif version == (2, 0):
        shape, _, dtype = np.lib.format.read_array_header_2_0(f)
    else:
        raise InvalidArgumentError(f"{where}: unsupported .npy format version {version}")
    header_len = f.tell()
    if dtype.hasobject:
        return  # pickled objects: refused by np.load itself without allow_pickle
    n = _prod(shape)
    nbytes = n * dtype.itemsize
    if n > MAX_ELEMENTS or nbytes > MAX_BYTES:
        raise InvalidArgumentError(
            f"{where}: declares an array of shape {list(shape)} ({n} elements, {nbytes} "
            f"bytes), more than the limit of {MAX_ELEMENTS} elements or {MAX_BYTES} bytes")
    if nbytes > stored - header_len:
        raise InvalidArgumentError(
            f"{where}: declares an array of shape {list(shape)} ({nbytes} bytes) but holds "
            f"only {max(stored - header_len, 0)} bytes of data (truncated or hostile file)")


def _pick(filename: str, data: Any, variable: str | None) -> np.ndarray:
    if isinstance(data, np.ndarray):
        if variable:
            print(f"WARNING: input file {filename} holds a single array; name {variable!r} "
                  "ignored.", file=sys.stderr)
        return data
    if isinstance(data, np.lib.npyio.NpzFile):
        if variable:
            if variable not in data.files:
                raise NotFoundError(f'Input file {filename} does not contain variable with '
                                    f'name "{variable}" (it has {data.files})')
            return np.asarray(data[variable])
        if len(data.files) != 1:
            raise InvalidArgumentError(
                f"Input file {filename} contains more than one ndarrays ({data.files}). "
                "Please specify the name of ndarray to use.")
        return np.asarray(data[data.files[0]])
    # a pickle (only reached with allow_pickle)
    if variable:
        if not isinstance(data, Mapping) or variable not in data:
            raise NotFoundError(f'Input file {filename} does not contain variable with name '
                                f'"{variable}"')
        return np.asarray(data[variable])
    return np.asarray(data)


def load_inputs(inputs: str = "", input_exprs: str = "", input_examples: str = "", *,
                allow_pickle: bool = False) -> dict[str, Any]:
    """All three ``run`` options merged: examples over expressions over files (a warning on
    stderr when a key is given twice), as ``saved_model_cli``."""
    feeds: dict[str, Any] = {}
    for key, (filename, variable) in parse_inputs_arg(inputs).items():
        feeds[key] = load_input_file(filename, variable, allow_pickle=allow_pickle)
    for source, parsed in (("--input_exprs", parse_input_exprs(input_exprs)),
                           ("--input_examples", parse_input_examples(input_examples))):
        for key, value in parsed.items():
            if key in feeds:
                print(f"WARNING: input key {key} is given more than once; the value from "
                      f"{source} is used.", file=sys.stderr)
            feeds[key] = value
    return feeds


__all__ = ["evaluate", "parse_input_exprs", "parse_input_examples", "parse_inputs_arg",
           "load_input_file", "load_inputs", "ExpressionError", "MAX_ELEMENTS", "MAX_BYTES",
           "NUMPY_FUNCTIONS", "RANDOM_FUNCTIONS"]
