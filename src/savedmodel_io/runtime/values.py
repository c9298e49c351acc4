"""Variables as the interpreter holds them: one ``VarState`` per TF resource or ref variable.

A ``VarHandleOp`` evaluates to its ``VarState`` (the resource handle), ``ReadVariableOp``
reads it; a TF1 ``VariableV2`` evaluates to the same kind of object (a reference), read
wherever a plain value is expected. Values are numpy arrays that are never modified in
place: assignment replaces the array, so a value read earlier stays what it was.
A variable may be *lazy*: bound to a checkpoint key and read from the bundle on first use.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import numpy as np

from savedmodel_io.errors import FailedPreconditionError, InvalidArgumentError

Loader = Callable[[], np.ndarray]
T = TypeVar("T")


class VarState:
    """The value of one variable (``None`` until initialized)."""

    __slots__ = ("name", "dtype", "shape", "_value", "_loader", "kind")

    def __init__(self, name: str, dtype: np.dtype | None, shape: tuple[int, ...] | None,
                 *, kind: str = "resource variable") -> None:
        self.name = name
        self.dtype = dtype  # None: not declared (takes the first assigned value's dtype)
        self.shape = shape  # declared shape; None = unknown rank, -1 = unknown dimension
        self._value: np.ndarray | None = None
        self._loader: Loader | None = None
        self.kind = kind

    def __repr__(self) -> str:
        state = "set" if self._value is not None else ("lazy" if self._loader else "unset")
        return f"<{self.kind} {self.name!r} {state}>"

    @property
    def initialized(self) -> bool:
        return self._value is not None or self._loader is not None

    def bind(self, loader: Loader) -> None:
        """Take the value from ``loader`` on first read (a checkpoint lookup)."""
        self._value = None
        self._loader = loader

    def read(self) -> np.ndarray:
        value = self._value
        if value is None:
            if self._loader is None:
                raise FailedPreconditionError(
                    f"Attempting to use uninitialized value {self.name} ({self.kind}: no "
                    "value was restored from the checkpoint or assigned)")
            loader, self._loader = self._loader, None
            try:
                self._set(loader(), validate_shape=True)
            except BaseException:
                self._loader = loader  # keep it bound; the next read raises the same way
                raise
            value = self._value
            assert value is not None
        return value

    def assign(self, value: np.ndarray, *, validate_shape: bool = False) -> None:
        self._loader = None
        self._set(np.array(value, copy=True), validate_shape=validate_shape)

    def _set(self, value: np.ndarray, *, validate_shape: bool) -> None:
        value = np.asarray(value)
        if self.dtype is not None and value.dtype != self.dtype:
            raise InvalidArgumentError(
                f"{self.kind} {self.name!r} holds {self.dtype}, cannot take a {value.dtype} "
                "value")
        if validate_shape and self.shape is not None and not _compatible(value.shape,
                                                                          self.shape):
            raise InvalidArgumentError(
                f"{self.kind} {self.name!r} has shape {_fmt(self.shape)}, cannot take a "
                f"value of shape {_fmt(value.shape)}")
        value.flags.writeable = False
        self._value = value

    def reset(self) -> None:
        self._value = None
        self._loader = None


def _compatible(got: tuple[int, ...], want: tuple[int, ...]) -> bool:
    return len(got) == len(want) and all(w < 0 or g == w for g, w in zip(got, want, strict=True))


def _fmt(shape: tuple[int, ...]) -> str:
    return "[" + ",".join("?" if d < 0 else str(d) for d in shape) + "]"


class ResourceStore:
    """Resources by (container, shared name): TF shares a resource between every handle op
    with the same names, so two ``VarHandleOp`` nodes naming ``"v"`` see one variable."""

    def __init__(self) -> None:
        self._vars: dict[tuple[str, str], VarState] = {}
        self._other: dict[tuple[str, str], object] = {}

    def resource(self, container: str, name: str, make: Callable[[], T]) -> T:
        """The non-variable resource (a lookup table...) of that name, made on first use."""
        key = (container, name)
        found = self._other.get(key)
        if found is None:
            found = self._other[key] = make()
        return found  # type: ignore[return-value]

    def get(self, container: str, name: str, dtype: np.dtype | None,
            shape: tuple[int, ...] | None, kind: str) -> VarState:
        key = (container, name)
        var = self._vars.get(key)
        if var is None:
            var = self._vars[key] = VarState(name, dtype, shape, kind=kind)
        elif dtype is not None and var.dtype is not None and var.dtype != dtype:
            raise InvalidArgumentError(
                f"{kind} {name!r} is declared twice with different dtypes "
                f"({var.dtype} and {dtype})")
        return var

    def __len__(self) -> int:
        return len(self._vars)

    def items(self) -> list[tuple[tuple[str, str], VarState]]:
        return list(self._vars.items())


__all__ = ["VarState", "ResourceStore", "Loader"]
