"""``Graph``: builds a TF1 GraphDef node by node, as ``tf.compat.v1`` graph mode does::

    g = Graph()
    x = g.placeholder(np.float32, shape=(None, 3), name="x")
    w = g.variable("w", np.ones((3, 2), np.float32))
    y = g.op("MatMul", [x, w.read()], name="y")          # T inferred, defaults filled
    init = g.global_variables_initializer()
    saver_def = g.add_saver()
    meta_graph = g.export_meta_graph(saver_def=saver_def)

Names follow TensorFlow: ``name_scope`` prefixes, ``x``, ``x_1``... for repeats (case
insensitive), a plain value given as input becomes a Const named ``<op>/<input name>``.
Attributes are checked against the built-in op registry and defaults filled in; ops not in
the registry need explicit attributes and output types.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from savedmodel_io import dtypes, tensor_proto
from savedmodel_io.dtypes import DataType
from savedmodel_io.errors import InvalidArgumentError, NotFoundError
from savedmodel_io.graph import attrs as attrs_mod
from savedmodel_io.graph import op_args, shapes
from savedmodel_io.graph.attrs import AttrValue
from savedmodel_io.graph.registry import op_def as registry_op_def
from savedmodel_io.graph.tensor import Operation, Shape, Tensor, shape_from_attr, shape_to_attr
from savedmodel_io.protos import (
    any_pb2,
    graph_pb2,
    meta_graph_pb2,
    op_def_pb2,
    saver_pb2,
)
from savedmodel_io.train import saver_graph
from savedmodel_io.train.variable import Variable

if TYPE_CHECKING:
    from savedmodel_io.graph.variables import GraphVariable

_OP_NAME = re.compile(r"[A-Za-z0-9.][A-Za-z0-9_.\-/>]*\Z")
_SCOPE_NAME = re.compile(r"[A-Za-z0-9_.\-/>]*\Z")
MANUAL_CONTROL_DEPS = "_has_manual_control_dependencies"

InputLike = Any  # Tensor, GraphVariable, or a value numpy can hold (becomes a Const)


def convert_value(value: Any, dtype: DataType | None) -> tuple[np.ndarray, DataType]:
    """A plain value as an array, like ``tf.convert_to_tensor``: with ``dtype`` if given;
    else Python floats become float32 and Python ints int32 (int64 if too large)."""
    if dtype is not None:
        return dtypes.to_tensor(value, dtype)
    arr, dt = dtypes.to_tensor(value)
    if not isinstance(value, (np.ndarray, np.generic)):
        if dt == DataType.DT_DOUBLE:
            return arr.astype(np.float32), DataType.DT_FLOAT
        if dt == DataType.DT_INT64 and (arr.size == 0 or (
                arr.min() >= -(1 << 31) and arr.max() < (1 << 31))):
            return arr.astype(np.int32), DataType.DT_INT32
    return arr, dt


_DEVICE_PART = re.compile(r"(job|replica|task|device):(.+)\Z")


def canonical_device(spec: str) -> str:
    """A device string as TensorFlow writes it: ``"/cpu:0"`` -> ``"/device:CPU:0"``,
    fields in the order job, replica, task, device."""
    if not spec:
        return ""
    fields: dict[str, str] = {}
    for part in spec.split("/"):
        if not part:
            continue
        m = _DEVICE_PART.match(part)
        if m is not None:
            key, value = m.group(1), m.group(2)
            if key == "device":
                kind, _, index = value.partition(":")
                value = f"{kind.upper()}:{index or '*'}" if kind.lower() in (
                    "cpu", "gpu", "tpu") else value
            fields[key] = value
            continue
        kind, sep, index = part.partition(":")
        if sep and kind.lower() in ("cpu", "gpu", "tpu"):
            fields["device"] = f"{kind.upper()}:{index}"
            continue
        raise InvalidArgumentError(f"{spec!r} is not a device string (e.g. '/device:CPU:0')")
    order = ("job", "replica", "task", "device")
    return "".join(f"/{k}:{fields[k]}" for k in order if k in fields)


def _fits(value: Any, dtype: DataType) -> bool:
    """Whether a plain value converts to ``dtype`` when TensorFlow tries it as preferred
    type: numpy values are cast, Python values need a matching kind."""
    if isinstance(value, (np.ndarray, np.generic)):
        return True
    try:
        arr = np.asarray(value)
    except (TypeError, ValueError):
        return False
    if arr.size == 0:
        return True                 # an empty list takes any type
    kind = arr.dtype.kind
    if dtype == DataType.DT_BOOL:
        return kind == "b"
    if dtype == DataType.DT_STRING:
        return kind in "OSU"
    name = dtypes.python_name(dtype)
    if name.startswith(("int", "uint", "qint", "quint")):
        return kind in "iu"
    if name.startswith(("float", "bfloat", "complex")):
        return kind in "iuf"
    return False


class _Sink:
    """Lets ``train.saver_graph`` append variable and saver nodes to a Graph."""

    def __init__(self, graph: Graph) -> None:
        self.graph = graph

    def unique(self, name: str) -> str:
        return self.graph._unique_absolute(name)

    def add(self, name: str, op: str, inputs: Sequence[str], device: str,
            attrs: dict[str, AttrValue]) -> str:
        self.graph._add_complete_node(name, op, inputs, device, attrs)
        return name


class Graph:
    """A TF1 graph under construction (see the module docstring)."""

    def __init__(self) -> None:
        self._ops: dict[str, Operation] = {}
        self._names_in_use: dict[str, int] = {}
        self._name_stack = ""
        self._device_stack: list[str] = []
        # Frames of control_dependencies: (control ops, ids of ops created inside).
        self._control_stack: list[tuple[list[Operation], set[int]]] = []
        self._collections: dict[str, list[Any]] = {}
        self._graph_variables: list[GraphVariable] = []
        # While an add_op runs: (name key, previous use count) to undo if it fails.
        self._journal: list[tuple[str, int | None]] | None = None

    # ------------------------------------------------------------ names

    def unique_name(self, name: str, mark_as_used: bool = True) -> str:
        """TensorFlow's ``Graph.unique_name``: ``name`` in the current scope, with ``_1``,
        ``_2``... appended if taken (names compare case-insensitively)."""
        if self._name_stack:
            name = f"{self._name_stack}/{name}"
        return self._unique_absolute(name, mark_as_used)

    def _unique_absolute(self, name: str, mark_as_used: bool = True) -> str:
        key = name.lower()
        i = self._names_in_use.get(key, 0)
        if mark_as_used:
            self._set_use(key, i + 1)
        if i == 0:
            return name
        base = key
        while key in self._names_in_use:
            key = f"{base}_{i}"
            i += 1
        if mark_as_used:
            self._set_use(key, 1)
        return f"{name}_{i - 1}"

    def _set_use(self, key: str, count: int) -> None:
        if self._journal is not None:
            self._journal.append((key, self._names_in_use.get(key)))
        self._names_in_use[key] = count

    def _mark_used(self, key: str) -> None:
        if key not in self._names_in_use:
            self._set_use(key, 1)

    def get_name_scope(self) -> str:
        return self._name_stack

    @contextlib.contextmanager
    def name_scope(self, name: str | None) -> Iterator[str]:
        """Ops created inside are named ``<scope>/<name>``; yields ``"<scope>/"``.

        A name ending in ``/`` re-enters that exact scope; ``None`` or ``""`` the root.
        """
        old = self._name_stack
        if not name:
            new = ""
        elif name.endswith("/"):
            new = name[:-1]
        else:
            pattern = _SCOPE_NAME if old else _OP_NAME
            if not pattern.match(name):
                raise InvalidArgumentError(f"{name!r} is not a valid scope name")
            new = self.unique_name(name)
        self._name_stack = new
        try:
            yield f"{new}/" if new else ""
        finally:
            self._name_stack = old

    def _op_name(self, name: str | None, default: str) -> str:
        """The name of a new op: ``name`` (or ``default``) made unique in the current
        scope; a name ending in ``/`` is taken as is (without the slash)."""
        if name and name.endswith("/"):
            full = name[:-1]
        else:
            base = name or default
            if not (_SCOPE_NAME if self._name_stack else _OP_NAME).match(base):
                raise InvalidArgumentError(
                    f"{base!r} is not a valid op name (TensorFlow op names match "
                    "[A-Za-z0-9.][A-Za-z0-9_.\\-/>]*)")
            full = self.unique_name(base)
        if not _OP_NAME.match(full):
            raise InvalidArgumentError(f"{full!r} is not a valid op name")
        if full in self._ops:
            raise InvalidArgumentError(f"the graph already has an op named {full!r}")
        return full

    # ------------------------------------------------------------ devices, control deps

    @contextlib.contextmanager
    def device(self, device: str) -> Iterator[None]:
        """Ops created inside get this device (``""`` clears it)."""
        self._device_stack.append(canonical_device(device))
        try:
            yield
        finally:
            self._device_stack.pop()

    @contextlib.contextmanager
    def control_dependencies(self, control_inputs: Sequence[Operation | Tensor] | None
                             ) -> Iterator[None]:
        """Ops created inside run after ``control_inputs`` (``None`` clears outer ones).

        As in TensorFlow, each control input gets ``_has_manual_control_dependencies``.
        """
        if control_inputs is None:
            saved, self._control_stack = self._control_stack, []
            try:
                yield
            finally:
                self._control_stack = saved
            return
        ops = self._as_ops(control_inputs)
        for op in ops:
            op.set_attr(MANUAL_CONTROL_DEPS, AttrValue(b=True))
        self._control_stack.append((ops, set()))
        try:
            yield
        finally:
            self._control_stack.pop()

    def _as_ops(self, items: Sequence[Operation | Tensor]) -> list[Operation]:
        out: list[Operation] = []
        seen: set[int] = set()
        for c in items:
            op = c.op if isinstance(c, Tensor) else c
            if not isinstance(op, Operation):
                raise InvalidArgumentError(
                    f"control inputs are Operations or Tensors, got {type(c).__name__}")
            if op.graph is not self:
                raise InvalidArgumentError(f"control input {op.name!r} is from another graph")
            if id(op) not in seen:
                seen.add(id(op))
                out.append(op)
        return out

    # ------------------------------------------------------------ lookup

    def get_operations(self) -> list[Operation]:
        """All operations in creation order."""
        return list(self._ops.values())

    def get_operation_by_name(self, name: str) -> Operation:
        if ":" in name:
            raise InvalidArgumentError(
                f"{name!r} names a tensor; operation names have no ':<index>'")
        op = self._ops.get(name)
        if op is None:
            raise NotFoundError(f"the graph has no operation named {name!r}")
        return op

    def get_tensor_by_name(self, name: str) -> Tensor:
        op_name, sep, index = name.rpartition(":")
        if not sep or not index.isdigit():
            raise InvalidArgumentError(
                f"{name!r} is not a tensor name; tensor names look like '<op name>:<index>'")
        op = self._ops.get(op_name)
        if op is None:
            raise NotFoundError(f"the graph has no operation named {op_name!r} "
                                f"(looking up tensor {name!r})")
        i = int(index)
        if i >= len(op.outputs):
            raise NotFoundError(f"tensor {name!r} does not exist: operation {op_name!r} has "
                                f"{len(op.outputs)} outputs")
        return op.outputs[i]

    def __contains__(self, name: str) -> bool:
        return name in self._ops

    # ------------------------------------------------------------ building ops

    def add_op(self, op_type: str, inputs: Sequence[InputLike] = (), *,
               attrs: Mapping[str, Any] | None = None, name: str | None = None,
               control_inputs: Sequence[Operation | Tensor] = (), device: str | None = None,
               output_types: Sequence[Any] | None = None,
               output_shapes: Sequence[Shape] | None = None) -> Operation:
        """Append an op of type ``op_type``; returns the Operation.

        For registered ops, ``attrs`` may leave out what the inputs tell (type attributes,
        list lengths) and what has a default. Other ops need every attribute in ``attrs``
        and ``output_types`` (their output shapes are unknown unless ``output_shapes``).
        On error the graph is left as it was (no op, no Const, no name taken).
        """
        with self._atomic():
            op = self._add_op(op_type, inputs, attrs, name, device, output_types,
                              output_shapes, control_inputs)
            for c in self._as_ops(control_inputs):
                c.set_attr(MANUAL_CONTROL_DEPS, AttrValue(b=True))
        return op

    @contextlib.contextmanager
    def _atomic(self) -> Iterator[None]:
        """Undo the ops and names made inside if an error leaves the block."""
        if self._journal is not None:
            yield
            return
        start = len(self._ops)
        self._journal = []
        try:
            yield
        except BaseException:
            for key, old in reversed(self._journal):
                if old is None:
                    self._names_in_use.pop(key, None)
                else:
                    self._names_in_use[key] = old
            for name in list(self._ops)[start:]:
                del self._ops[name]
            raise
        finally:
            self._journal = None

    def _add_op(self, op_type: str, inputs: Sequence[InputLike],
                attrs: Mapping[str, Any] | None, name: str | None, device: str | None,
                output_types: Sequence[Any] | None, output_shapes: Sequence[Shape] | None,
                control_inputs: Sequence[Operation | Tensor]) -> Operation:
        op_def = registry_op_def(op_type)
        given = dict(attrs or {})
        full = self._op_name(name, op_type)
        if op_def is None:
            if output_types is None:
                raise InvalidArgumentError(
                    f"op type {op_type!r} (for {full!r}) is not in the built-in registry: "
                    "pass its attrs and output_types explicitly")
            return self._add_unregistered(full, op_type, inputs, given, control_inputs,
                                          device, output_types, output_shapes)
        values = op_args.split_inputs(full, op_def, inputs)
        attr_values = op_args.complete_attrs(full, op_def, given)
        # Pass 1: what the tensors among the inputs tell about N, T and type lists.
        for arg, value in zip(op_def.input_arg, values, strict=True):
            items = value if op_args.is_list_arg(arg) else [value]
            types = [self._known_dtype(v, arg) for v in items]
            op_args.infer_from_types(full, op_def, arg, types, attr_values)
        # Pass 2: plain values become Consts of the type now known.
        tensors: list[Tensor] = []
        for arg, value in zip(op_def.input_arg, values, strict=True):
            if op_args.is_list_arg(arg):
                converted = [self._input_tensor(full, op_def, arg, v, attr_values,
                                                f"{arg.name}_{i}", i)
                             for i, v in enumerate(value)]
                op_args.infer_from_types(full, op_def, arg, [t.base_dtype for t in converted],
                                         attr_values)
                tensors.extend(converted)
            else:
                t = self._input_tensor(full, op_def, arg, value, attr_values, arg.name, 0)
                op_args.infer_from_types(full, op_def, arg, [t.base_dtype], attr_values)
                if arg.is_ref and not dtypes.is_ref(t.dtype):
                    raise InvalidArgumentError(
                        f"op {full!r} ({op_type}): input {arg.name!r} needs a reference "
                        f"tensor (a VariableV2 output), got {t.name!r}")
                tensors.append(t)
        op_args.fill_defaults(full, op_def, attr_values)
        out_types = op_args.output_types(full, op_def, attr_values)
        op = self._create(full, op_type, tensors, control_inputs, attr_values, device,
                          op_def, out_types)
        computed = shapes.infer(op) if output_shapes is None else list(output_shapes)
        self._set_shapes(op, computed)
        return op

    def op(self, op_type: str, inputs: Sequence[InputLike] = (), *, name: str | None = None,
           **attrs: Any) -> Tensor:
        """``add_op`` for a single-output op, with attributes as keyword arguments; returns
        the output Tensor."""
        with self._atomic():
            operation = self.add_op(op_type, inputs, attrs=attrs, name=name)
            if len(operation.outputs) != 1:
                raise InvalidArgumentError(
                    f"op {operation.name!r} ({op_type}) has {len(operation.outputs)} outputs; "
                    "use add_op and .outputs")
        return operation.outputs[0]

    def _known_dtype(self, value: Any, arg: op_def_pb2.OpDef.ArgDef) -> DataType | None:
        from savedmodel_io.graph.variables import GraphVariable
        if isinstance(value, Tensor):
            return value.base_dtype
        if isinstance(value, GraphVariable):
            return DataType.DT_RESOURCE if (arg.type == int(DataType.DT_RESOURCE)
                                            and value.resource) else value.dtype
        return None

    def _input_tensor(self, op_name: str, op_def: op_def_pb2.OpDef,
                      arg: op_def_pb2.OpDef.ArgDef, value: Any,
                      attr_values: dict[str, AttrValue], const_name: str, index: int
                      ) -> Tensor:
        from savedmodel_io.graph.variables import GraphVariable
        if isinstance(value, Tensor):
            if value.graph is not self:
                raise InvalidArgumentError(
                    f"input {value.name!r} of {op_name!r} is from another graph")
            return value
        if isinstance(value, GraphVariable):
            if value.graph is not self:
                raise InvalidArgumentError(
                    f"variable {value.name!r} (input of {op_name!r}) is from another graph")
            if arg.is_ref or (arg.type == int(DataType.DT_RESOURCE) and value.resource):
                return value.handle
            if value.resource:
                # As TF converts a resource variable: a fresh read in the op's scope.
                read = self._unique_absolute(f"{op_name}/ReadVariableOp")
                return value.read_value(name=f"{read}/")
            return value.read()
        if isinstance(value, Operation):
            raise InvalidArgumentError(
                f"input {arg.name!r} of {op_name!r} is the Operation {value.name!r}; pass one "
                "of its outputs, or use control_inputs")
        want = op_args.known_type(arg, attr_values, index)
        if want is not None and not _fits(value, want):
            raise InvalidArgumentError(
                f"input {arg.name!r} of {op_name!r} must be {dtypes.python_name(want)}, got "
                f"{value!r}")
        preferred = op_args.default_type(op_def, arg) if want is None else None
        if preferred is not None:
            # As op_def_library: the value's own dtype if the attribute allows it, else
            # the attribute's default if the value converts to it.
            allowed = op_args.allowed_types(op_def, arg)
            natural = convert_value(value, None)[1]
            if allowed is not None and natural in allowed:
                want = natural
            elif _fits(value, preferred):
                want = preferred
        name = self._unique_absolute(f"{op_name}/{const_name}")
        return self.constant(value, dtype=want, name=f"{name}/")

    def _create(self, name: str, op_type: str, inputs: Sequence[Tensor],
                control_inputs: Sequence[Operation | Tensor], attrs: dict[str, AttrValue],
                device: str | None, op_def: op_def_pb2.OpDef | None,
                types: Sequence[DataType]) -> Operation:
        controls = self._as_ops(control_inputs)
        input_ops = {id(t.op) for t in inputs}
        for frame, seen in self._control_stack:
            # As TensorFlow: a frame is skipped when an input was made inside it (the
            # input already runs after the frame's control inputs).
            if input_ops & seen:
                continue
            have = {id(c) for c in controls}
            controls.extend(c for c in frame if id(c) not in input_ops and id(c) not in have)
        if device is None:
            device = self._device_stack[-1] if self._device_stack else ""
        else:
            device = canonical_device(device)
        op = Operation(self, name, op_type, inputs, controls, attrs, device, op_def)
        for _, seen in self._control_stack:
            seen.add(id(op))
        op.outputs = tuple(Tensor(op, i, dt, None) for i, dt in enumerate(types))
        self._mark_used(name.lower())
        self._ops[name] = op
        return op

    def _set_shapes(self, op: Operation, computed: Sequence[Shape]) -> None:
        if len(computed) != len(op.outputs):
            raise InvalidArgumentError(
                f"op {op.name!r} ({op.type}) has {len(op.outputs)} outputs, got "
                f"{len(computed)} output shapes")
        for t, s in zip(op.outputs, computed, strict=True):
            t.shape = None if s is None else tuple(None if d is None or d < 0 else int(d)
                                                   for d in s)
        if op.type == "VarHandleOp" and op.outputs:
            op.outputs[0].handle_dtype = DataType(op._attrs["dtype"].type)
            op.outputs[0].handle_shape = shape_from_attr(op._attrs["shape"].shape)

    def _add_unregistered(self, name: str, op_type: str, inputs: Sequence[InputLike],
                          given: dict[str, Any], control_inputs: Sequence[Operation | Tensor],
                          device: str | None, output_types: Sequence[Any],
                          output_shapes: Sequence[Shape] | None) -> Operation:
        tensors = []
        for v in inputs:
            if not isinstance(v, Tensor) or v.graph is not self:
                raise InvalidArgumentError(
                    f"op {name!r} ({op_type}) is not registered: its inputs must be Tensors "
                    "of this graph")
            tensors.append(v)
        attr_values = {k: attrs_mod.guess_attr_value(v) for k, v in given.items()}
        types = [attrs_mod.as_datatype(t) for t in output_types]
        op = self._create(name, op_type, tensors, control_inputs, attr_values, device, None,
                          types)
        self._set_shapes(op, list(output_shapes) if output_shapes is not None
                         else [None] * len(types))
        return op

    def _add_complete_node(self, name: str, op_type: str, inputs: Sequence[str],
                           device: str, attrs: dict[str, AttrValue]) -> Operation:
        """Append a node whose attributes are all given (``_output_shapes`` gives the
        output shapes); used for the variable and saver nodes ``train.saver_graph`` makes."""
        op_def = registry_op_def(op_type)
        if op_def is None:
            raise InvalidArgumentError(f"op type {op_type!r} is not in the built-in registry")
        if name in self._ops:
            raise InvalidArgumentError(f"the graph already has an op named {name!r}")
        data: list[Tensor] = []
        controls: list[Operation] = []
        for s in inputs:
            if s.startswith("^"):
                controls.append(self.get_operation_by_name(s[1:]))
            else:
                data.append(self.get_tensor_by_name(s if ":" in s else f"{s}:0"))
        attrs = dict(attrs)
        shapes_attr = attrs.pop("_output_shapes", None)
        types = op_args.output_types(name, op_def, attrs)
        op = self._create(name, op_type, data, controls, attrs, device, op_def, types)
        if shapes_attr is not None:
            self._set_shapes(op, [shape_from_attr(s) for s in shapes_attr.list.shape])
        else:
            self._set_shapes(op, shapes.infer(op))
        return op

    # ------------------------------------------------------------ common ops

    def constant(self, value: Any, dtype: Any = None, shape: Sequence[int] | None = None,
                 name: str | None = None) -> Tensor:
        """A ``Const``: ``value`` as ``tf.constant`` stores it (a scalar with ``shape``
        is stored once and repeated, as TensorFlow does)."""
        dt = None if dtype is None else attrs_mod.as_datatype(dtype)
        arr, dt = convert_value(value, dt)
        if shape is not None and arr.size == 1 and int(np.prod(shape)) != 1:
            p = tensor_proto.from_numpy(arr.reshape(-1), dt, use_tensor_content=False)
            p.ClearField("tensor_shape")
            tensor_proto.shape_to_proto(list(shape), p.tensor_shape)
        else:
            p = tensor_proto.from_numpy(arr, dt, shape=shape)
        op = self.add_op("Const", [], attrs={"value": p, "dtype": dt}, name=name or "Const")
        return op.outputs[0]

    def placeholder(self, dtype: Any, shape: Sequence[int | None] | None = None,
                    name: str | None = None) -> Tensor:
        """A ``Placeholder`` (shape None: unknown rank; None dimensions: unknown size)."""
        return self.op("Placeholder", [], name=name, dtype=dtype, shape=shape)

    def placeholder_with_default(self, value: InputLike, shape: Sequence[int | None] | None,
                                 name: str | None = None) -> Tensor:
        return self.op("PlaceholderWithDefault", [value], name=name, shape=shape)

    def identity(self, t: InputLike, name: str | None = None) -> Tensor:
        return self.op("Identity", [t], name=name)

    def no_op(self, name: str | None = None,
              control_inputs: Sequence[Operation | Tensor] = (), device: str | None = None
              ) -> Operation:
        return self.add_op("NoOp", [], name=name, control_inputs=control_inputs,
                           device=device)

    def group(self, inputs: Sequence[Operation | Tensor], name: str | None = None
              ) -> Operation:
        """A NoOp that runs after ``inputs`` (``tf.group``; default name ``group_deps``).

        Inputs on several devices get one ``<name>/NoOp[_i]`` per device (sorted by
        device) and the result depends on those, as in TensorFlow.
        """
        with self._atomic():
            return self._group(self._as_ops(inputs), name)

    def _group(self, ops: list[Operation], name: str | None) -> Operation:
        by_device: dict[str, list[Operation]] = {}
        for op in ops:
            by_device.setdefault(op.device, []).append(op)
        with self.name_scope(name or "group_deps") as scope:
            if len(by_device) <= 1:
                dev = next(iter(by_device), "")
                return self.no_op(name=scope, control_inputs=ops, device=dev or None)
            subs = [self.no_op(control_inputs=by_device[dev], device=dev or None)
                    for dev in sorted(by_device)]
            return self.no_op(name=scope, control_inputs=subs)

    # ------------------------------------------------------------ variables

    def variable(self, name: str | None, initial_value: Any, trainable: bool = True,
                 resource: bool = False, *, dtype: Any = None,
                 collections: Sequence[str] | None = None) -> GraphVariable:
        """A variable as ``tf.compat.v1.Variable`` builds it: reference (``VariableV2``)
        or, with ``resource=True``, resource (``VarHandleOp``). ``collections`` defaults
        to ``["variables"]`` (``trainable_variables`` is added when trainable)."""
        with self._atomic():
            return self._variable(name, initial_value, trainable, resource, dtype, collections)

    def _variable(self, name: str | None, initial_value: Any, trainable: bool, resource: bool,
                  dtype: Any, collections: Sequence[str] | None) -> GraphVariable:
        from savedmodel_io.graph.variables import GraphVariable
        with self.name_scope(name or "Variable") as scope:
            full = scope[:-1]
        if not _OP_NAME.match(full):
            raise InvalidArgumentError(f"{full!r} is not a valid variable name")
        dt = None if dtype is None else attrs_mod.as_datatype(dtype)
        if dt is None:
            value, dt = convert_value(initial_value, None)
        else:
            value = initial_value
        var = Variable(full, value, trainable, resource, dtype=dt)
        if resource:
            for sub in ("Initializer", "IsInitialized", "Read"):
                self._unique_absolute(f"{full}/{sub}")
        vdef = saver_graph.add_variable(_Sink(self), var, None, mark_initializer=False)
        gv = GraphVariable(self, var, vdef)
        for key in (["variables"] if collections is None else list(collections)):
            self._collections.setdefault(key, []).append(gv)
        if trainable and "trainable_variables" not in (collections or ()):
            self._collections.setdefault("trainable_variables", []).append(gv)
        self._graph_variables.append(gv)
        return gv

    @property
    def graph_variables(self) -> list[GraphVariable]:
        """Every GraphVariable, in creation order."""
        return list(self._graph_variables)

    def _vars_in(self, key: str) -> list[GraphVariable]:
        from savedmodel_io.graph.variables import GraphVariable
        return [v for v in self._collections.get(key, []) if isinstance(v, GraphVariable)]

    @property
    def variables(self) -> list[Variable]:
        """The global variables (collection ``variables``) as ``train.Variable``s."""
        return [v.variable for v in self._vars_in("variables")]

    @property
    def trainable_variables(self) -> list[Variable]:
        return [v.variable for v in self._vars_in("trainable_variables")]

    @property
    def local_variables(self) -> list[Variable]:
        return [v.variable for v in self._vars_in("local_variables")]

    def global_variables_initializer(self, name: str = "init") -> Operation:
        """A NoOp depending on every global variable's initializer."""
        inits = [v.initializer for v in self._vars_in("variables")]
        return self.group(inits, name=name) if inits else self.no_op(name=name)

    def local_variables_initializer(self, name: str = "init") -> Operation:
        inits = [v.initializer for v in self._vars_in("local_variables")]
        return self.group(inits, name=name) if inits else self.no_op(name=name)

    def add_saver(self, sharded: bool = False, name: str | None = None,
                  var_list: Sequence[GraphVariable] | Mapping[str, GraphVariable] | None = None,
                  max_to_keep: int = 5, keep_checkpoint_every_n_hours: float = 10000.0, *,
                  filename: str | None = None) -> saver_pb2.SaverDef:
        """Append TF1 Saver's save/restore subgraph for ``var_list`` (default: the global
        variables) under scope ``save`` (``save_1``... when taken); returns the SaverDef."""
        from savedmodel_io.graph.saver import add_saver
        with self._atomic():
            return add_saver(self, _Sink(self), sharded=sharded, name=name, var_list=var_list,
                             max_to_keep=max_to_keep,
                             keep_checkpoint_every_n_hours=keep_checkpoint_every_n_hours,
                             filename=filename)

    # ------------------------------------------------------------ collections

    def add_to_collection(self, key: str, value: Any) -> None:
        """Add ``value`` (Tensor, Operation, GraphVariable, bytes/str, int, float or an
        ``Any`` proto) to collection ``key``."""
        self._collections.setdefault(key, []).append(value)

    def add_to_collections(self, keys: Sequence[str], value: Any) -> None:
        for k in keys:
            self.add_to_collection(k, value)

    def get_collection(self, key: str) -> list[Any]:
        return list(self._collections.get(key, []))

    def get_all_collection_keys(self) -> list[str]:
        return [k for k, v in self._collections.items() if v]

    # ------------------------------------------------------------ export

    def as_graph_def(self, *, strip_default_attrs: bool = False, clear_devices: bool = False,
                     add_shapes: bool = False, sort_control_inputs: bool = True
                     ) -> graph_pb2.GraphDef:
        """The GraphDef (``versions.producer`` as TF 2.21). ``add_shapes`` adds each op's
        ``_output_shapes`` as ``export_meta_graph`` does. Control inputs are sorted by name
        as TensorFlow's ``as_graph_def`` writes them, unless ``sort_control_inputs=False``
        (creation order, as in TF's ``export_meta_graph(clear_devices=True)``)."""
        g = graph_pb2.GraphDef()
        for op in self._ops.values():
            n = g.node.add()
            n.CopyFrom(op.node_def)
            if clear_devices:
                n.device = ""
            if add_shapes and op.outputs:
                lst = n.attr["_output_shapes"].list
                for t in op.outputs:
                    shape_to_attr(t.shape, lst.shape.add())
            if strip_default_attrs and op.op_def is not None:
                for k in [k for k, v in n.attr.items()
                          if attrs_mod.is_default(op.op_def, k, v)]:
                    del n.attr[k]
        g.versions.producer = saver_graph.GRAPH_PRODUCER
        if sort_control_inputs:
            saver_graph.sort_control_inputs(g)
        return g

    def export_meta_graph(self, *, saver_def: saver_pb2.SaverDef | None = None,
                          clear_devices: bool = False, strip_default_attrs: bool = False,
                          collection_list: Sequence[str] | None = None,
                          sort_control_inputs: bool | None = None
                          ) -> meta_graph_pb2.MetaGraphDef:
        """The MetaGraphDef ``tf.compat.v1.train.export_meta_graph`` writes for this graph.

        That function keeps control inputs in creation order when ``clear_devices`` is set
        (sorted otherwise); ``Saver.export_meta_graph`` and ``SavedModelBuilder`` always
        sort them: pass ``sort_control_inputs=True`` for their output.
        """
        from savedmodel_io.graph.meta_graph import export_meta_graph
        return export_meta_graph(self, saver_def=saver_def, clear_devices=clear_devices,
                                 strip_default_attrs=strip_default_attrs,
                                 collection_list=collection_list,
                                 sort_control_inputs=sort_control_inputs)

    def used_op_defs(self) -> list[op_def_pb2.OpDef]:
        """Registry OpDefs of the op types in the graph, sorted by name (what TensorFlow
        puts in ``meta_info_def.stripped_op_list``)."""
        names = sorted({op.type for op in self._ops.values()})
        return [d for d in (registry_op_def(n) for n in names) if d is not None]


def pack_any(message: Any) -> any_pb2.Any:
    """``message`` packed in an ``Any`` (an ``Any`` is returned as is)."""
    if isinstance(message, any_pb2.Any):
        return message
    out = any_pb2.Any()
    out.Pack(message)
    return out


__all__ = ["Graph", "canonical_device", "convert_value", "pack_any"]
