"""The kernel registry: which ops the interpreter can run, and how a node becomes a callable.

A kernel is registered for one or more op types with the names of the op's outputs (as in
TensorFlow's OpDef, so function bodies can say ``Mul:z:0``) and the defaults of its
optional attributes (SavedModels are written with default-valued attributes stripped)::

    @kernel("MatMul", outputs=("product",), attrs={"transpose_a": False, "transpose_b": False})
    def matmul(node: Node, ctx: BuildContext) -> KernelFn:
        ta, tb = node.get_bool("transpose_a"), node.get_bool("transpose_b")
        return lambda args: (np.matmul(args[0].T if ta else args[0], ...),)

The factory runs once when a plan is compiled (attributes are decoded there, not on every
call); the returned function maps the list of input values to the tuple of output values.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from savedmodel_io import dtypes
from savedmodel_io.dtypes import DataType
from savedmodel_io.errors import (
    InvalidArgumentError,
    ResourceExhaustedError,
    UnimplementedError,
)
from savedmodel_io.protos import node_def_pb2

MAX_NODE_OUTPUTS = 1 << 20
"""Most outputs one node may declare through a count attribute (``num_split``, ``num``,
``N``); TensorFlow's own models stay far below it."""

if TYPE_CHECKING:
    from savedmodel_io.runtime.context import BuildContext

KernelFn = Callable[[list[Any]], Sequence[Any]]
Factory = Callable[["Node", "BuildContext"], KernelFn]


@dataclass(frozen=True)
class KernelDef:
    """What the interpreter knows about one op type."""

    op: str
    factory: Factory
    outputs: tuple[str, ...]
    """Output argument names; ``"name*attr"`` repeats the argument ``attr`` times (an int
    attribute) or once per element (a list attribute), as OpDef's number/type-list attrs."""
    attrs: Mapping[str, Any] = field(default_factory=dict)
    """Defaults of optional attributes (TensorFlow's); absent attributes take these."""
    stateful: bool = False
    """Has side effects: kept in a function body even when no output is used, as TF does."""
    ref_inputs: frozenset[int] = frozenset()
    """Input positions that take a reference variable itself rather than its value."""
    ref_outputs: frozenset[int] = frozenset()
    """Output positions that are references to a variable (TF1 ``*_REF`` tensors)."""


_REGISTRY: dict[str, KernelDef] = {}


def kernel(ops: str | Iterable[str], *, outputs: Sequence[str] = ("output",),
           attrs: Mapping[str, Any] | None = None, stateful: bool = False,
           ref_inputs: Iterable[int] = (), ref_outputs: Iterable[int] = ()
           ) -> Callable[[Factory], Factory]:
    """Register ``factory`` as the kernel of ``ops`` (one name or several)."""
    names = [ops] if isinstance(ops, str) else list(ops)

    def register(factory: Factory) -> Factory:
        for name in names:
            if name in _REGISTRY:
                raise ValueError(f"kernel for {name} registered twice")
            _REGISTRY[name] = KernelDef(name, factory, tuple(outputs), dict(attrs or {}),
                                        stateful, frozenset(ref_inputs),
                                        frozenset(ref_outputs))
        return factory

    return register


def _load_kernels() -> None:
    # The kernel modules register themselves on import.
    import savedmodel_io.runtime.kernels  # noqa: F401


def lookup(op: str) -> KernelDef | None:
    """The kernel of ``op``, or ``None`` when there is none."""
    _load_kernels()
    return _REGISTRY.get(op)


def supported_ops() -> frozenset[str]:
    """Every op type the interpreter has a kernel for (function calls by name aside)."""
    _load_kernels()
    return frozenset(_REGISTRY)


# ------------------------------------------------------------------ node view

_MISSING = object()


class Node:
    """A NodeDef (of the graph or of a function body) with typed attribute access.

    Absent attributes fall back to the kernel's declared defaults; an attribute that is
    neither present nor defaulted is an InvalidArgumentError naming the node.
    """

    __slots__ = ("name", "op", "node_def", "kdef", "where")

    def __init__(self, node_def: node_def_pb2.NodeDef, kdef: KernelDef | None,
                 where: str = "") -> None:
        self.name: str = node_def.name
        self.op: str = node_def.op
        self.node_def = node_def
        self.kdef = kdef
        self.where = where  # "" for the graph, else "function <name>"

    def describe(self) -> str:
        inside = f" in {self.where}" if self.where else ""
        return f"node {self.name!r} ({self.op}){inside}"

    def error(self, message: str) -> InvalidArgumentError:
        """An InvalidArgumentError about this node (the interpreter adds no second prefix)."""
        err = InvalidArgumentError(f"{self.describe()}: {message}")
        err.node_context = self.name  # type: ignore[attr-defined]
        return err

    def has(self, key: str) -> bool:
        return key in self.node_def.attr

    def _raw(self, key: str) -> Any:
        attrs = self.node_def.attr
        if key in attrs:
            value = attrs[key]
            if value.WhichOneof("value") == "placeholder":
                raise UnimplementedError(
                    f"{self.describe()}: attribute {key!r} refers to function attribute "
                    f"{value.placeholder!r} (polymorphic functions are not supported)")
            return value
        if self.kdef is not None and key in self.kdef.attrs:
            return _MISSING
        raise self.error(f"has no attribute {key!r}")

    def _default(self, key: str) -> Any:
        assert self.kdef is not None
        return self.kdef.attrs[key]

    def get_int(self, key: str) -> int:
        v = self._raw(key)
        return int(self._default(key)) if v is _MISSING else int(v.i)

    def get_float(self, key: str) -> float:
        v = self._raw(key)
        return float(self._default(key)) if v is _MISSING else float(v.f)

    def get_bool(self, key: str) -> bool:
        v = self._raw(key)
        return bool(self._default(key)) if v is _MISSING else bool(v.b)

    def get_bytes(self, key: str) -> bytes:
        v = self._raw(key)
        if v is _MISSING:
            d = self._default(key)
            return d.encode() if isinstance(d, str) else bytes(d)
        return bytes(v.s)

    def get_str(self, key: str) -> str:
        return self.get_bytes(key).decode("utf-8", "replace")

    def get_type(self, key: str) -> DataType:
        v = self._raw(key)
        raw = self._default(key) if v is _MISSING else v.type
        try:
            return dtypes.base_dtype(DataType(int(raw)))
        except ValueError:
            raise self.error(f"attribute {key!r} holds unknown DataType {raw}") from None

    def get_np_type(self, key: str) -> np.dtype:
        """The numpy dtype of a type attribute (strings: ``object``)."""
        dt = self.get_type(key)
        try:
            return dtypes.as_numpy_dtype(dt)
        except (UnimplementedError, InvalidArgumentError):
            raise UnimplementedError(
                f"{self.describe()}: attribute {key!r} is {dt.name}, which has no numpy "
                "form") from None

    def get_ints(self, key: str) -> list[int]:
        v = self._raw(key)
        return list(self._default(key)) if v is _MISSING else [int(i) for i in v.list.i]

    def get_floats(self, key: str) -> list[float]:
        v = self._raw(key)
        return list(self._default(key)) if v is _MISSING else [float(f) for f in v.list.f]

    def get_types(self, key: str) -> list[DataType]:
        v = self._raw(key)
        raw = list(self._default(key)) if v is _MISSING else list(v.list.type)
        return [dtypes.base_dtype(DataType(int(t))) for t in raw]

    def get_strs(self, key: str) -> list[str]:
        v = self._raw(key)
        if v is _MISSING:
            return [str(s) for s in self._default(key)]
        return [bytes(s).decode("utf-8", "replace") for s in v.list.s]

    def get_shape(self, key: str) -> tuple[int, ...] | None:
        """A shape attribute: ``None`` for unknown rank, ``-1`` for unknown dimensions."""
        v = self._raw(key)
        if v is _MISSING:
            d = self._default(key)
            return None if d is None else tuple(d)
        return _shape(v.shape)

    def get_shapes(self, key: str) -> list[tuple[int, ...] | None]:
        v = self._raw(key)
        if v is _MISSING:
            return list(self._default(key))
        return [_shape(s) for s in v.list.shape]

    def get_tensor(self, key: str, max_elements: int | None = None) -> np.ndarray:
        """The tensor attribute ``key``; with ``max_elements``, a constant whose shape
        asks for more elements than that is refused before anything is allocated (a
        few bytes of proto can declare a 16 GiB fill)."""
        from savedmodel_io.tensor_proto import to_numpy

        v = self._raw(key)
        if v is _MISSING:
            return np.asarray(self._default(key))
        if max_elements is not None:
            n = 1
            for d in v.tensor.tensor_shape.dim:
                n *= max(int(d.size), 0)
            if n > max_elements:
                raise ResourceExhaustedError(
                    f"{self.describe()}: attribute {key!r} declares a tensor of {n} elements, "
                    f"more than the limit of {max_elements}")
        try:
            return to_numpy(v.tensor)
        except (InvalidArgumentError, UnimplementedError) as e:
            raise self.error(f"attribute {key!r}: {e}") from None
        except Exception as e:  # DataLossError and friends from a corrupt constant
            raise self.error(f"attribute {key!r} holds a bad tensor: {e}") from None

    def get_func(self, key: str) -> str:
        """The function name of a ``func`` attribute."""
        v = self._raw(key)
        if v is _MISSING or v.WhichOneof("value") != "func":
            raise self.error(f"attribute {key!r} must name a function")
        return str(v.func.name)

    def get_funcs(self, key: str) -> list[str]:
        v = self._raw(key)
        if v is _MISSING:
            return []
        return [str(f.name) for f in v.list.func]

    def output_count(self) -> int | None:
        """How many outputs the node has (``None`` when its op has no kernel)."""
        if self.kdef is None:
            return None
        return sum(self.arg_counts())

    def arg_counts(self) -> list[int]:
        """Number of tensors each declared output argument stands for."""
        assert self.kdef is not None
        return [self._arg_count(spec) for spec in self.kdef.outputs]

    def _arg_count(self, spec: str) -> int:
        if "*" not in spec:
            return 1
        attr = spec.split("*", 1)[1]
        v = self._raw(attr)
        if v is _MISSING:
            d = self._default(attr)
            return len(d) if isinstance(d, (list, tuple)) else int(d)
        kind = v.WhichOneof("value")
        if kind == "list":
            return max(len(v.list.type), len(v.list.shape), len(v.list.i), len(v.list.func),
                       len(v.list.s))
        if kind == "i":
            if v.i < 0:
                raise self.error(f"attribute {attr!r} is negative ({v.i})")
            if v.i > MAX_NODE_OUTPUTS:
                # The plan makes a slot per output: 8 bytes of attribute must not be
                # able to ask for a trillion of them.
                raise ResourceExhaustedError(
                    f"{self.describe()}: attribute {attr!r} asks for {v.i} outputs, more "
                    f"than the limit of {MAX_NODE_OUTPUTS}")
            return int(v.i)
        raise self.error(f"attribute {attr!r} gives no output count")

    def output_index(self, arg: str, index: int) -> int:
        """The flat output position of ``<arg>:<index>`` (function-body tensor names)."""
        assert self.kdef is not None
        flat = 0
        for spec, count in zip(self.kdef.outputs, self.arg_counts(), strict=True):
            if spec.split("*", 1)[0] == arg:
                if not 0 <= index < count:
                    raise self.error(f"has no output {arg}:{index} ({count} in {arg!r})")
                return flat + index
            flat += count
        names = [s.split("*", 1)[0] for s in self.kdef.outputs]
        raise self.error(f"has no output argument {arg!r} (its outputs: {names})")


def _shape(p: Any) -> tuple[int, ...] | None:
    if p.unknown_rank:
        return None
    return tuple(int(d.size) for d in p.dim)


__all__ = ["KernelDef", "KernelFn", "Factory", "Node", "kernel", "lookup", "supported_ops"]
