"""Calling a signature: check and convert the inputs, run, return ``{output key: array}``.

Inputs are converted to the signature's dtype when that loses nothing a caller would care
about (a Python list of ints for a float32 input, float64 to float32, int64 to int32 when
the values fit); anything else (strings for numbers, 2.5 for an integer input, NaN or inf
for an integer input, a shape the signature rules out, a missing or unknown key) is an
InvalidArgumentError naming the input. Before the first call, every op the signature and
the init op need is checked, and all those without a kernel are reported in one error.
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from savedmodel_io import dtypes
from savedmodel_io.dtypes import DataType
from savedmodel_io.errors import InvalidArgumentError, NotFoundError, UnimplementedError
from savedmodel_io.protos import meta_graph_pb2
from savedmodel_io.runtime.analysis import signature_walk
from savedmodel_io.runtime.interpreter import parse_tensor_name
from savedmodel_io.runtime.session import Session
from savedmodel_io.runtime.values import VarState
from savedmodel_io.tensor_proto import to_numpy

if TYPE_CHECKING:
    from savedmodel_io.saved_model.loader import LoadedSavedModel

_SESSIONS: weakref.WeakKeyDictionary[Any, Session] = weakref.WeakKeyDictionary()
_CHECKED: weakref.WeakKeyDictionary[Any, set[str]] = weakref.WeakKeyDictionary()


def session_for(loaded: LoadedSavedModel) -> Session:
    """The session of ``loaded`` (created, restored and initialized on first use). Its
    variables persist across calls, as in one TensorFlow session."""
    session = _SESSIONS.get(loaded)
    if session is None:
        session = _SESSIONS[loaded] = Session(loaded)
    return session


def reset_session(loaded: LoadedSavedModel) -> None:
    """Forget ``loaded``'s session: the next call restores the variables again."""
    _SESSIONS.pop(loaded, None)


def check_supported(loaded: LoadedSavedModel, signature_key: str) -> None:
    """Raise one UnimplementedError listing every op without a kernel the signature needs."""
    done = _CHECKED.setdefault(loaded, set())
    if signature_key in done:
        return
    missing = signature_walk(loaded, signature_key).unsupported()
    if missing:
        listed = ", ".join(f"{op} ({where})" for op, where in missing.items())
        raise UnimplementedError(
            f"signature {signature_key!r} needs {len(missing)} op type(s) with no kernel in "
            f"savedmodel_io: {listed}", path=loaded.source)
    done.add(signature_key)


# ------------------------------------------------------------------ input conversion


def _kind(dtype: np.dtype) -> str:
    """numpy's kind letter, with ml_dtypes' floats counted as floats."""
    if dtype.kind == "V" and dtype.fields is None:
        return "f"  # bfloat16, float8_*: ml_dtypes registers them as void-kind types
    return dtype.kind


def _shape_text(shape: tuple[int, ...] | None) -> str:
    if shape is None:
        return "<unknown rank>"
    return "[" + ",".join("?" if d < 0 else str(d) for d in shape) + "]"


def _info_shape(info: meta_graph_pb2.TensorInfo) -> tuple[int, ...] | None:
    if not info.HasField("tensor_shape") or info.tensor_shape.unknown_rank:
        return None
    return tuple(int(d.size) for d in info.tensor_shape.dim)


def coerce_input(key: str, value: Any, info: meta_graph_pb2.TensorInfo,
                 where: str = "", graph_shape: tuple[int, ...] | None = None) -> np.ndarray:
    """``value`` as an array of ``info``'s dtype and a shape compatible with ``info``'s
    (and with ``graph_shape``, the shape the graph declares for the tensor), or an
    InvalidArgumentError naming input ``key``."""
    label = f"input {key!r}{where}"
    if isinstance(value, VarState):
        raise InvalidArgumentError(f"{label}: expected an array, got a variable")
    dt = dtypes.base_dtype(DataType(info.dtype)) if info.dtype else DataType.DT_INVALID
    if dt in (DataType.DT_INVALID, DataType.DT_RESOURCE, DataType.DT_VARIANT):
        raise UnimplementedError(f"{label} has dtype {dt.name}, which cannot be fed")
    want = dtypes.as_numpy_dtype(dt)
    try:
        arr = value if isinstance(value, np.ndarray) else np.asarray(value)
    except (ValueError, TypeError) as e:
        raise InvalidArgumentError(f"{label}: cannot make an array of {value!r:.80}: "
                                   f"{e}") from None
    arr = _convert(label, arr, want, dt)
    for shape in (_info_shape(info), graph_shape):
        if shape is not None and (arr.ndim != len(shape) or any(
                w >= 0 and w != g for w, g in zip(shape, arr.shape, strict=True))):
            raise InvalidArgumentError(
                f"{label} must have shape {_shape_text(shape)}, got "
                f"{_shape_text(tuple(arr.shape))}")
    if arr is value:
        arr = arr.view()
    arr.flags.writeable = False
    return arr


def _convert(label: str, arr: np.ndarray, want: np.dtype, dt: DataType) -> np.ndarray:
    if arr.dtype == want and want.kind != "O":
        return arr
    src, dst = _kind(arr.dtype), _kind(want)
    if dst == "O":
        return _to_strings(label, arr)
    if src in "OUS":
        raise InvalidArgumentError(f"{label} must be {dtypes.python_name(dt)}, got strings")
    if dst == "b":
        if src != "b":
            raise InvalidArgumentError(f"{label} must be bool, got {arr.dtype}")
        return arr
    if src == "c" and dst != "c":
        raise InvalidArgumentError(f"{label} must be {want}, got complex values")
    if dst in "iu":
        return _to_int(label, arr, want, src)
    return arr.astype(want)


def _to_int(label: str, arr: np.ndarray, want: np.dtype, src: str) -> np.ndarray:
    info = np.iinfo(want)
    if src == "f":
        with np.errstate(invalid="ignore"):
            if not np.all(np.isfinite(arr)):
                raise InvalidArgumentError(f"{label} must be {want}: NaN or infinity cannot "
                                           "be an integer")
            if not np.array_equal(arr, np.trunc(arr)):
                raise InvalidArgumentError(f"{label} must be {want}, got {arr.dtype} values "
                                           "that are not whole numbers")
    if arr.size and src != "b" and (arr.min() < info.min or arr.max() > info.max):
        raise InvalidArgumentError(f"{label}: values do not fit in {want} "
                                   f"(range [{info.min}, {info.max}])")
    return arr.astype(want)


def _to_strings(label: str, arr: np.ndarray) -> np.ndarray:
    if arr.dtype.kind == "S":
        return arr.astype(object)
    if arr.dtype.kind == "U":
        out = np.empty(arr.shape, object)
        out.reshape(-1)[:] = [s.encode("utf-8") for s in arr.reshape(-1).tolist()]
        return out
    if arr.dtype.kind != "O":
        raise InvalidArgumentError(f"{label} must be strings (DT_STRING), got {arr.dtype}")
    flat = arr.reshape(-1).tolist()
    if all(isinstance(s, bytes) for s in flat):
        return arr
    conv = []
    for s in flat:
        if isinstance(s, str):
            conv.append(s.encode("utf-8"))
        elif isinstance(s, bytes):
            conv.append(s)
        else:
            raise InvalidArgumentError(f"{label} must be strings, got a "
                                       f"{type(s).__name__}")
    out = np.empty(arr.shape, object)
    out.reshape(-1)[:] = conv
    return out


# ------------------------------------------------------------------ calling


def _check_keys(sig_key: str, sig: meta_graph_pb2.SignatureDef, given: Mapping[str, Any]
                ) -> None:
    missing = [k for k in sorted(sig.inputs) if k not in given and k not in sig.defaults]
    extra = [k for k in given if k not in sig.inputs]
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"missing input(s) {', '.join(repr(k) for k in missing)}")
        if extra:
            parts.append(f"unknown input(s) {', '.join(repr(k) for k in extra)}")
        valid = ", ".join(repr(k) for k in sorted(sig.inputs)) or "none"
        raise InvalidArgumentError(
            f"signature {sig_key!r}: {' and '.join(parts)} (it takes: {valid})")


def _names(info: meta_graph_pb2.TensorInfo, what: str) -> str:
    if info.WhichOneof("encoding") != "name":
        raise UnimplementedError(f"{what} is a {info.WhichOneof('encoding') or 'empty'} "
                                 "tensor; only plain tensors are supported")
    return info.name


class _Input:
    """One signature input, decoded once: key, tensor, dtype and the shapes to check."""

    def __init__(self, key: str, info: meta_graph_pb2.TensorInfo, where: str,
                 session: Session) -> None:
        self.key = key
        self.info = info
        self.where = where
        self.tensor = _names(info, f"input {key!r}{where}")
        dt = dtypes.base_dtype(DataType(info.dtype)) if info.dtype else DataType.DT_INVALID
        self.want = None if dt in (DataType.DT_INVALID, DataType.DT_RESOURCE,
                                   DataType.DT_VARIANT) else dtypes.as_numpy_dtype(dt)
        self.graph_shape = session.static_shape(self.tensor)
        self.shapes = [s for s in (_info_shape(info), self.graph_shape) if s is not None]

    def coerce(self, value: Any) -> np.ndarray:
        if type(value) is np.ndarray and value.dtype == self.want and \
                self.want.kind != "O" and all(_fits(value.shape, s) for s in self.shapes):
            view: np.ndarray = value.view()
            view.flags.writeable = False
            return view
        return coerce_input(self.key, value, self.info, self.where, self.graph_shape)


def _fits(shape: tuple[int, ...], want: tuple[int, ...]) -> bool:
    return len(shape) == len(want) and all(w < 0 or w == g for g, w in zip(shape, want,
                                                                            strict=True))


class SignatureRunner:
    """A signature of one session, prepared once: inputs decoded, plan compiled."""

    def __init__(self, loaded: LoadedSavedModel, session: Session, key: str) -> None:
        meta = loaded.meta_graph_def
        if key not in meta.signature_def:
            raise NotFoundError(f"no signature {key!r}; the MetaGraphDef has "
                                f"{sorted(meta.signature_def)}", path=loaded.source)
        self.key = key
        self.sig = sig = meta.signature_def[key]
        where = f" of signature {key!r}"
        self.inputs = [_Input(k, sig.inputs[k], where, session) for k in sorted(sig.inputs)]
        self.names = frozenset(sig.inputs)
        self.defaults = {k: to_numpy(sig.defaults[k]) for k in sig.defaults
                         if k in sig.inputs}
        fetches: list[str] = []
        targets: list[str] = []
        self.fetch_keys: list[str] = []
        for k in sorted(sig.outputs):
            name = _names(sig.outputs[k], f"output {k!r}{where}")
            if ":" in name:
                fetches.append(name)
                self.fetch_keys.append(k)
            else:
                targets.append(name)
        fed = {i.tensor for i in self.inputs}
        assets = {n: v for n, v in session.asset_feeds.items() if n not in fed
                  and parse_tensor_name(n)[0] in session.body.nodes}
        self.asset_values = list(assets.values())
        self.plan = session.plan([i.tensor for i in self.inputs] + list(assets), fetches,
                                 targets)

    def __call__(self, given: Mapping[str, Any]) -> dict[str, np.ndarray]:
        if given.keys() != self.names:
            _check_keys(self.key, self.sig, given)
        values = [i.coerce(given[i.key] if i.key in given else self.defaults[i.key])
                  for i in self.inputs]
        with np.errstate(all="ignore"):
            outs = self.plan.run(values + self.asset_values)
        result: dict[str, np.ndarray] = {}
        for k, v in zip(self.fetch_keys, outs, strict=True):
            arr = v if isinstance(v, np.ndarray) else np.asarray(v)
            result[k] = arr if arr.flags.writeable else arr.copy()
        return result


def call_signature(loaded: LoadedSavedModel, key: str, inputs: Mapping[str, Any]
                   ) -> dict[str, np.ndarray]:
    """Run signature ``key`` of ``loaded`` on ``inputs``: ``{output key: array}`` with the
    output keys sorted (TensorFlow's ``loaded.signatures[key](**inputs)``)."""
    session = _SESSIONS.get(loaded)
    runner = session.runners.get(key) if session is not None else None
    if runner is None:
        meta = loaded.meta_graph_def
        if key not in meta.signature_def:
            raise NotFoundError(f"no signature {key!r}; the MetaGraphDef has "
                                f"{sorted(meta.signature_def)}", path=loaded.source)
        _check_keys(key, meta.signature_def[key], inputs)
        check_supported(loaded, key)
        session = session_for(loaded)
        runner = session.runners[key] = SignatureRunner(loaded, session, key)
    return runner(inputs)


__all__ = ["call_signature", "coerce_input", "check_supported", "SignatureRunner",
           "session_for", "reset_session"]
