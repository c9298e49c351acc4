"""Hostile models and inputs: each case is something a SavedModel or a ``run`` input from
elsewhere could do to us, with the error it must end in.

Groups: asset paths that escape the export directory; ``--inputs`` files that are pickles
or that expand to huge arrays; ``--input_exprs`` that try to run code; graphs that would
loop or recurse forever in the interpreter. Every case runs under the bounds of
``tests/fuzz/fuzzlib.run_bounded`` (time, memory, only our errors).
"""

from __future__ import annotations

import io
import os
import pickle
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from savedmodel_io.errors import (
    InvalidArgumentError,
    NotFoundError,
    PermissionDeniedError,
    ResourceExhaustedError,
    SavedModelIOError,
)
from savedmodel_io.protos import any_pb2, graph_pb2, meta_graph_pb2, saved_model_pb2
from tests.fuzz.seeds import GOLDEN

MARKER = "PWNED"


@dataclass
class Hostile:
    name: str
    group: str
    run: Callable[[Path], Any]  # given a scratch directory
    errors: tuple[type[SavedModelIOError], ...]  # () = must succeed (and stay safe)
    match: str = ""
    seconds: float = 10.0


# ------------------------------------------------------------------ assets


def _model(d: Path, filenames: list[str], *, field: bool = False) -> Path:
    sm = saved_model_pb2.SavedModel(saved_model_schema_version=1)
    meta = sm.meta_graphs.add()
    meta.meta_info_def.tags.append("serve")
    for i, name in enumerate(filenames):
        asset = meta_graph_pb2.AssetFileDef(
            tensor_info=meta_graph_pb2.TensorInfo(name=f"Const_{i}:0"), filename=name)
        if field:
            meta.asset_file_def.add().CopyFrom(asset)
        else:
            packed = any_pb2.Any()
            packed.Pack(asset)
            meta.collection_def["saved_model_assets"].any_list.value.add().CopyFrom(packed)
    d.mkdir(parents=True, exist_ok=True)
    (d / "assets").mkdir(exist_ok=True)
    (d / "saved_model.pb").write_bytes(sm.SerializeToString())
    return d


def _outside(d: Path) -> Path:
    out = d / "outside"
    out.mkdir(parents=True, exist_ok=True)
    (out / "secret").write_text("secret")
    return out


def load_assets(d: Path) -> dict[str, str]:
    from savedmodel_io.saved_model import loader

    loaded = loader.load(d, ["serve"])
    real_assets = os.path.join(os.path.realpath(d), "assets")
    for p in loaded.asset_paths.values():
        if not os.path.realpath(p).startswith(real_assets + os.sep):
            raise AssertionError(f"asset path {p} resolves outside {real_assets}")
    return loaded.asset_paths


def asset_name(filename: str, *, field: bool = False) -> Callable[[Path], Any]:
    return lambda d: load_assets(_model(d / "m", ["ok.txt", filename], field=field))


def asset_file_symlink(d: Path) -> Any:
    m = _model(d / "m", ["link"])
    (m / "assets" / "link").symlink_to(_outside(d) / "secret")
    return load_assets(m)


def asset_dir_symlink(d: Path) -> Any:
    m = _model(d / "m", ["sub/secret"])
    (m / "assets" / "sub").symlink_to(_outside(d), target_is_directory=True)
    return load_assets(m)


def assets_dir_is_symlink(d: Path) -> Any:
    m = _model(d / "m", ["secret"])
    (m / "assets").rmdir()
    (m / "assets").symlink_to(_outside(d), target_is_directory=True)
    return load_assets(m)


def assets_dir_symlink_inside(d: Path) -> Any:
    m = _model(d / "m", ["variables.index"])
    (m / "assets").rmdir()
    (m / "variables").mkdir()
    (m / "variables" / "variables.index").write_bytes(b"")
    (m / "assets").symlink_to("variables", target_is_directory=True)
    return load_assets(m)


def export_dir_is_symlink(d: Path) -> Any:
    """TF Serving often serves a symlinked version directory: that must keep working."""
    real = _model(d / "real", ["vocab.txt"])
    (real / "assets" / "vocab.txt").write_text("a\nb\n")
    (d / "link").symlink_to(real, target_is_directory=True)
    return load_assets(d / "link")


# ------------------------------------------------------------------ --inputs files


def _npy_declaring(shape: tuple[int, ...], payload: bytes = b"\0" * 32) -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buf, {"descr": "<f8", "fortran_order": False, "shape": shape})
    return buf.getvalue() + payload


def _load_input(d: Path, name: str, data: bytes, variable: str | None = None) -> Any:
    from savedmodel_io.runtime.inputs import load_input_file

    (d / name).write_bytes(data)
    return load_input_file(str(d / name), variable)


class _Boom:
    def __reduce__(self) -> tuple[Any, ...]:
        return (os.system, (f"touch {MARKER}",))


def pickle_file(d: Path) -> Any:
    return _load_input(d, "x.pkl", pickle.dumps(_Boom()))


def pickled_npy(d: Path) -> Any:
    buf = io.BytesIO()
    np.save(buf, np.array([_Boom()], dtype=object), allow_pickle=True)
    return _load_input(d, "x.npy", buf.getvalue())


def pickled_npz_member(d: Path) -> Any:
    buf = io.BytesIO()
    np.savez(buf, x=np.array([_Boom()], dtype=object))
    return _load_input(d, "x.npz", buf.getvalue(), "x")


def npy_declaring_huge_shape(d: Path) -> Any:
    return _load_input(d, "x.npy", _npy_declaring((100_000_000,)))  # 800 MB from 160 bytes


def npy_declaring_2_40(d: Path) -> Any:
    return _load_input(d, "x.npy", _npy_declaring((1 << 40,)))


def npz_member_declaring_huge_shape(d: Path) -> Any:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("x.npy", _npy_declaring((100_000_000,)))
    return _load_input(d, "x.npz", buf.getvalue())


def npz_zip_bomb(d: Path) -> Any:
    """A 128 KiB .npz whose member inflates to 128 MiB of zeros (2^27 uint8: past the
    2^26 elements ``--input_exprs`` may build)."""
    path = d / "bomb.npz"
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "|u1", "fortran_order": False, "shape": (1 << 27,)})
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf, \
            zf.open("x.npy", "w", force_zip64=True) as member:
        member.write(header.getvalue())
        chunk = bytes(1 << 22)
        for _ in range((1 << 27) // len(chunk)):
            member.write(chunk)
    from savedmodel_io.runtime.inputs import load_input_file

    return load_input_file(str(path), None)


def _small_npz() -> bytearray:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        member = io.BytesIO()
        np.save(member, np.arange(2000, dtype=np.float64) % 7)
        zf.writestr("x.npy", member.getvalue())
    return bytearray(buf.getvalue())


def npz_bad_deflate(d: Path) -> Any:
    """A .npz whose member's compressed bytes are damaged (found by the fuzzer)."""
    data = _small_npz()
    start = 30 + len("x.npy")  # local file header + name: the deflate stream follows
    data[start + 20:start + 28] = b"\xff" * 8
    return _load_input(d, "x.npz", bytes(data))


def npz_header_name_differs(d: Path) -> Any:
    """A .npz whose member's local header disagrees with the central directory."""
    data = _small_npz()
    data[30] = ord("y")  # the first letter of the name in the local header
    return _load_input(d, "x.npz", bytes(data))


# ------------------------------------------------------------------ --input_exprs

INJECTIONS = [
    f"__import__('os').system('touch {MARKER}')",
    f"open('{MARKER}', 'w')",
    "np.load('/etc/passwd')",
    f"np.save('{MARKER}', 1)",
    "np.zeros(3).__class__.__base__.__subclasses__()",
    "().__class__.__bases__[0].__subclasses__()",
    "(lambda: 1)()",
    "[x for x in (1, 2)]",
    f"f\"{{__import__('os').system('touch {MARKER}')}}\"",
    "np.fromfile('/etc/passwd')",
    "np.random.__dict__",
    "np.lib.npyio.DataSource",
    "getattr(np, 'load')('/etc/passwd')",
    "np.ones(2).tofile('PWNED')",
    "(y := 1)",
    "np.array([1]).dump('PWNED')",
    "breakpoint()",
    "np.typing",
    "np.dtype('O').type.__init__",
]


def expression(expr: str, **kw: Any) -> Callable[[Path], Any]:
    def run(d: Path) -> Any:
        from savedmodel_io.runtime.inputs import parse_input_exprs

        cwd = os.getcwd()
        os.chdir(d)  # a payload that wrote a file would write it here
        try:
            return parse_input_exprs(f"x={expr}", **kw)
        finally:
            os.chdir(cwd)
            if (d / MARKER).exists() or (d / (MARKER + ".npy")).exists():
                raise AssertionError(f"the expression {expr!r} ran code")
    return run


# ------------------------------------------------------------------ interpreter


def _while_graph() -> graph_pb2.GraphDef:
    """TensorFlow's own ``tf.while_loop`` graph from the runtime goldens: while i < n."""
    g = graph_pb2.GraphDef()
    with np.load(GOLDEN / "runtime" / "arrays.npz") as z:
        g.ParseFromString(z["ops/while/graph"].tobytes())
    return g


def _run_graph(g: graph_pb2.GraphDef, n: int, **limits: int) -> Any:
    from savedmodel_io.runtime import GraphRunner, Limits

    return GraphRunner(g, limits=Limits(**limits)).run(["Identity:0"], {"n:0": np.int32(n)})


def loop_forever(d: Path) -> Any:
    """``while i < 2^31-1``: the loop limit (10,000 here) must stop it."""
    return _run_graph(_while_graph(), 2**31 - 1, max_loop_iterations=10_000)


def nested_loops(d: Path) -> Any:
    """A while loop whose body runs another (9,000 iterations each time, under the
    10,000 limit): per-loop limits allow 9e7 iterations, an hour of work."""
    g = _while_graph()
    cond = next(f for f in g.library.function if "cond" in f.signature.name)
    body = next(f for f in g.library.function if "body" in f.signature.name)
    outer_node = next(n for n in g.node if n.name == "while")
    inner_cond = g.library.function.add()
    inner_cond.CopyFrom(cond)
    inner_cond.signature.name = "inner_cond"
    inner_body = g.library.function.add()
    inner_body.CopyFrom(body)
    inner_body.signature.name = "inner_body"
    outer_body = g.library.function.add()
    outer_body.CopyFrom(body)
    outer_body.signature.name = "outer_body"
    for name, value, dtype in (("inner/c", 0, 3), ("inner/m", -1, 3), ("inner/i", 0, 3),
                               ("inner/n", 9_000, 3)):
        c = outer_body.node_def.add(name=name, op="Const")
        c.attr["dtype"].type = dtype  # type: ignore[assignment]
        c.attr["value"].tensor.dtype = dtype  # type: ignore[assignment]
        c.attr["value"].tensor.int_val.append(value)
    inner = outer_body.node_def.add(name="inner", op="StatelessWhile")
    inner.input.extend(["inner/c:output:0", "inner/m:output:0", "inner/i:output:0",
                        "while/mul:z:0", "inner/n:output:0"])
    for key in ("T", "output_shapes", "parallel_iterations"):
        if key in outer_node.attr:
            inner.attr[key].CopyFrom(outer_node.attr[key])
    inner.attr["cond"].func.name = "inner_cond"
    inner.attr["body"].func.name = "inner_body"
    outer_body.ret["while_identity_3"] = "inner:output:3"
    outer_node.attr["body"].func.name = "outer_body"
    return _run_graph(g, 2**31 - 1, max_loop_iterations=10_000)


def recursive_function(d: Path) -> Any:
    g = _while_graph()
    body = next(f for f in g.library.function if "body" in f.signature.name)
    call = body.node_def.add(name="again", op="StatelessWhile")
    call.CopyFrom(next(n for n in g.node if n.name == "while"))
    call.name = "again"
    call.ClearField("input")
    call.input.extend(["while_while_loop_counter", "while_while_maximum_iterations",
                       "while_placeholder", "while_placeholder_1", "while_n_0"])
    body.ret["while_identity_3"] = "again:output:3"
    return _run_graph(g, 3)


def deep_calls(d: Path) -> Any:
    """A chain of 200 functions, each calling the next through a While loop body."""
    g = _while_graph()
    body = next(f for f in g.library.function if "body" in f.signature.name)
    outer_node = next(n for n in g.node if n.name == "while")
    prev = body.signature.name
    for i in range(200):
        f = g.library.function.add()
        f.CopyFrom(body)
        f.signature.name = f"chain_{i}"
        call = f.node_def.add()
        call.CopyFrom(outer_node)
        call.name = "next"
        call.ClearField("input")
        call.input.extend(["while_while_loop_counter", "while_while_maximum_iterations",
                           "while_placeholder", "while_placeholder_1", "while_n_0"])
        call.attr["body"].func.name = prev
        f.ret["while_identity_3"] = "next:output:3"
        prev = f.signature.name
    outer_node.attr["body"].func.name = prev
    return _run_graph(g, 1)


def huge_constant(d: Path) -> Any:
    """A Const of 2^31 float64 from one value (TensorFlow's fill rule): 16 GiB."""
    g = graph_pb2.GraphDef()
    c = g.node.add(name="big", op="Const")
    c.attr["dtype"].type = 2  # type: ignore[assignment]
    t = c.attr["value"].tensor
    t.dtype = 2  # type: ignore[assignment]
    t.tensor_shape.dim.add().size = 1 << 31
    t.double_val.append(1.0)
    g.node.add(name="Identity", op="Identity", input=["big"]).attr["T"].type = 2  # type: ignore
    from savedmodel_io.runtime import GraphRunner

    return GraphRunner(g).run(["Identity:0"], {})


# ------------------------------------------------------------------ the list


def cases() -> list[Hostile]:
    H = Hostile
    IA, PD, RE, NF = (InvalidArgumentError,), (PermissionDeniedError,), \
        (ResourceExhaustedError,), (NotFoundError,)
    del NF
    out = [
        H("asset '../escape'", "assets", asset_name("../escape"), IA, "climbs out"),
        H("asset 'sub/../../x'", "assets", asset_name("sub/../../x"), IA, "climbs out"),
        H("asset '/etc/passwd'", "assets", asset_name("/etc/passwd"), IA, "absolute"),
        H("asset 'C:\\\\x' (a Windows drive)", "assets", asset_name("C:\\x"), IA, "absolute"),
        H("asset '..\\\\x' (Windows separators)", "assets", asset_name("..\\x"), IA, "climbs"),
        H("asset name with NUL", "assets", asset_name("a\x00b"), IA, "NUL"),
        H("asset '.' (the assets directory itself)", "assets", asset_name("."), IA, ""),
        H("asset '../x' in asset_file_def", "assets", asset_name("../x", field=True), IA,
          "climbs out"),
        H("asset file symlinked outside", "assets", asset_file_symlink, IA, "symlink"),
        H("asset under a directory symlinked outside", "assets", asset_dir_symlink, IA,
          "symlink"),
        H("assets directory itself a symlink outside", "assets", assets_dir_is_symlink, IA,
          "symlink"),
        H("assets directory a symlink to elsewhere in the export", "assets",
          assets_dir_symlink_inside, IA, "symlink"),
        H("export directory a symlink (allowed)", "assets", export_dir_is_symlink, ()),
        H("pickle file as --inputs", "inputs", pickle_file, PD, "pickle"),
        H(".npy holding pickled objects", "inputs", pickled_npy, PD, "pickle"),
        H(".npz member holding pickled objects", "inputs", pickled_npz_member, PD, "pickle"),
        H(".npy of 160 bytes declaring 10^8 float64", "inputs", npy_declaring_huge_shape,
          (InvalidArgumentError, ResourceExhaustedError)),
        H(".npy declaring 2^40 float64", "inputs", npy_declaring_2_40,
          (InvalidArgumentError, ResourceExhaustedError)),
        H(".npz member declaring 10^8 float64", "inputs", npz_member_declaring_huge_shape,
          (InvalidArgumentError, ResourceExhaustedError)),
        H(".npz with damaged deflate data", "inputs", npz_bad_deflate, IA, "cannot load"),
        H(".npz whose local header contradicts its directory", "inputs",
          npz_header_name_differs, IA, "cannot load"),
        H(".npz zip bomb (128 KiB inflating to 128 MiB)", "inputs", npz_zip_bomb,
          (InvalidArgumentError, ResourceExhaustedError), seconds=30.0),
    ]
    for expr in INJECTIONS:
        out.append(H(f"--input_exprs {expr}", "input_exprs", expression(expr),
                     (InvalidArgumentError,), "not allowed"))
    out += [
        H("--input_exprs np.zeros(10, dtype='S1000000000') (10 GB of strings)",
          "input_exprs", expression("np.zeros(10, dtype='S1000000000')"),
          (InvalidArgumentError, ResourceExhaustedError)),
        H("--input_exprs 10**10**10", "input_exprs", expression("10**10**10"), IA, "bits"),
        H("--input_exprs np.ones((2**20, 2**20))", "input_exprs",
          expression("np.ones((2**20, 2**20))"), IA, "limit"),
        H("while loop to 2^31 (limit 10,000 iterations)", "interpreter", loop_forever, RE,
          "10000 iterations"),
        H("nested while loops, 9e7 iterations in all", "interpreter", nested_loops,
          (ResourceExhaustedError,), "iterations", seconds=5.0),
        H("function library calling itself", "interpreter", recursive_function,
          (InvalidArgumentError,), "recursive"),
        H("function calls 200 deep", "interpreter", deep_calls, RE, "nest deeper"),
        H("Const filled to 2^31 float64 from one value", "interpreter", huge_constant,
          (InvalidArgumentError, ResourceExhaustedError)),
    ]
    return out


__all__ = ["Hostile", "cases", "MARKER"]
