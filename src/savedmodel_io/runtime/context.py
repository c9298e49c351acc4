"""What kernel factories may use while a plan is compiled: variables, functions, limits."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from savedmodel_io.errors import PermissionDeniedError, ResourceExhaustedError
from savedmodel_io.runtime.values import ResourceStore

if TYPE_CHECKING:
    from savedmodel_io.runtime.functions import FunctionLibrary
    from savedmodel_io.train.checkpoint_reader import CheckpointReader

MAX_TENSOR_ELEMENTS = 1 << 28
"""Largest tensor an op may create from *values* it is given (Fill, Range, Tile, Pad...):
a hostile model or input cannot make us allocate more than this (1 GiB of float32)."""

MAX_LOOP_ITERATIONS = 100_000
"""A ``While`` loop that runs longer than this stops with an error instead of hanging."""

MAX_CALL_DEPTH = 64
"""Function calls nested deeper than this (or recursive libraries) are refused."""


@dataclass
class Limits:
    max_tensor_elements: int = MAX_TENSOR_ELEMENTS
    max_loop_iterations: int = MAX_LOOP_ITERATIONS
    max_call_depth: int = MAX_CALL_DEPTH
    max_total_iterations: int | None = None
    """Iterations all loops nested inside one outermost loop may run together; ``None``:
    ``max_loop_iterations``. Per-loop limits alone would let nested loops multiply."""

    def total_iterations(self) -> int:
        if self.max_total_iterations is not None:
            return self.max_total_iterations
        return self.max_loop_iterations


@dataclass
class BuildContext:
    """Shared by every plan of one session."""

    resources: ResourceStore = field(default_factory=ResourceStore)
    library: FunctionLibrary | None = None
    limits: Limits = field(default_factory=Limits)
    readers: dict[str, CheckpointReader] = field(default_factory=dict)
    read_roots: tuple[str, ...] | None = None
    """Directories ops may read files from (checkpoints, vocabularies); ``None``: any.
    A Session allows only its SavedModel's directory, so a model cannot read elsewhere."""

    loop_depth: int = 0
    """How many ``While`` loops are running, one inside the other."""
    loop_iterations: int = 0
    """Iterations run so far under the outermost running loop (shared by nested loops)."""

    def count_iteration(self, what: str) -> None:
        """Count one loop iteration against :meth:`Limits.total_iterations`."""
        self.loop_iterations += 1
        budget = self.limits.total_iterations()
        if self.loop_iterations > budget:
            raise ResourceExhaustedError(
                f"{what}: nested loops ran more than {budget} iterations in all "
                "(the total iteration budget)")

    def check_readable(self, path: str, what: str) -> str:
        """``path`` made absolute, or PermissionDeniedError when it lies outside the
        allowed directories (symlinks resolved)."""
        real = os.path.realpath(path)
        if self.read_roots is not None and not any(
                real == root or real.startswith(root.rstrip(os.sep) + os.sep)
                for root in (os.path.realpath(r) for r in self.read_roots)):
            raise PermissionDeniedError(
                f"{what}: {path!r} is outside the SavedModel directory; the runtime only "
                "reads files that belong to the model")
        return real

    def check_size(self, n: int, what: str) -> None:
        """Refuse to create a tensor of ``n`` elements past the limit."""
        if n > self.limits.max_tensor_elements:
            raise ResourceExhaustedError(
                f"{what} would have {n} elements, more than the limit of "
                f"{self.limits.max_tensor_elements}")

    def reader(self, prefix: str) -> CheckpointReader:
        """A checkpoint reader for ``prefix``, opened once per session."""
        from savedmodel_io.train.checkpoint_reader import CheckpointReader

        key = self.check_readable(prefix, "checkpoint")
        r = self.readers.get(key)
        if r is None:
            r = self.readers[key] = CheckpointReader(prefix)
        return r


__all__ = ["BuildContext", "Limits", "MAX_TENSOR_ELEMENTS", "MAX_LOOP_ITERATIONS",
           "MAX_CALL_DEPTH"]
