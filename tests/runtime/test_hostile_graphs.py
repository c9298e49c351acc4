"""Mutated graphs and odd inputs give our errors, never a crash or a hang.

Each trial takes one of TensorFlow's single-op golden graphs, changes a few attributes,
op types or input names at random (seeded), feeds arrays of other dtypes or shapes, and
runs it: the result is either values or a SavedModelIOError.
"""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import pytest

from savedmodel_io.errors import SavedModelIOError
from savedmodel_io.protos import graph_pb2
from savedmodel_io.runtime import GraphRunner, supported_ops
from tests.runtime import golden_util as gu

OPS = sorted(supported_ops() - {"Print", "PrintV2"})  # no noise on stderr


def _mutate(g: graph_pb2.GraphDef, rng: random.Random) -> None:
    names = [n.name for n in g.node]
    for nd in g.node:
        if rng.random() < 0.03 and nd.op != "Placeholder":
            nd.op = rng.choice(OPS)
        for key in sorted(nd.attr):  # map order varies between processes; seeds must not
            value = nd.attr[key]
            if rng.random() >= 0.08:
                continue
            kind = value.WhichOneof("value")
            if kind == "i":
                value.i = rng.choice([-3, -1, 0, 1, 2, 7, 1 << 40])
            elif kind == "type":
                value.type = rng.choice([1, 2, 3, 7, 9, 10, 14, 19, 20, 21])
            elif kind == "b":
                value.b = not value.b
            elif kind == "s":
                value.s = rng.choice([b"", b"SAME", b"VALID", b"NCHW", b"x"])
            elif kind == "list" and value.list.i:
                value.list.i[rng.randrange(len(value.list.i))] = rng.choice([-1, 0, 3, 1 << 33])
            elif kind == "tensor" and value.tensor.tensor_shape.dim:
                value.tensor.tensor_shape.dim[0].size = rng.choice([-1, 0, 3, 1 << 40])
            elif kind == "shape" and value.shape.dim:
                value.shape.dim[0].size = rng.choice([-1, 0, 5, 1 << 40])
        if nd.input and rng.random() < 0.1:
            nd.input[rng.randrange(len(nd.input))] = rng.choice(names) + rng.choice(["", ":1"])


def _feed(a: np.ndarray, rng: random.Random) -> Any:
    r = rng.random()
    if r < 0.4:
        return a
    if r < 0.6:
        return a.astype(rng.choice([np.float64, np.int32, np.int64, np.bool_, np.float16]))
    if r < 0.8:
        return np.zeros(tuple(rng.choice([0, 1, 2, 5]) for _ in range(rng.randint(0, 4))),
                        a.dtype)
    if r < 0.9:
        return np.full(a.shape, np.nan, np.float32)
    return np.array([b"x"], dtype=object)


@pytest.mark.parametrize("seed", range(4))
def test_mutated_op_graphs_raise_only_our_errors(seed: int) -> None:
    rng = random.Random(seed)
    cases = gu.manifest()["ops"]
    ran = 0
    for _ in range(250):
        case = rng.choice(cases)
        g = graph_pb2.GraphDef()
        g.ParseFromString(gu.value(case["graph"]).tobytes())
        _mutate(g, rng)
        feeds = {n: _feed(gu.value(v), rng)
                 for n, v in zip(case["feeds"], case["inputs"], strict=True)}
        try:
            GraphRunner(g).run(case["fetches"], feeds)
            ran += 1
        except SavedModelIOError:
            pass
    assert ran > 50  # most trials still run: the mutations are not all fatal


_HUGE_SPLIT = """
import numpy as np
from savedmodel_io.errors import SavedModelIOError
from savedmodel_io.protos import graph_pb2
from savedmodel_io.runtime import GraphRunner
from savedmodel_io.tensor_proto import from_numpy

g = graph_pb2.GraphDef()
x = g.node.add(name="x", op="Placeholder")
x.attr["dtype"].type = 1
axis = g.node.add(name="axis", op="Const")
axis.attr["dtype"].type = 3
axis.attr["value"].tensor.CopyFrom(from_numpy(np.array(0, np.int32)))
split = g.node.add(name="split", op="Split", input=["axis", "x"])
split.attr["T"].type = 1
split.attr["num_split"].i = 1 << 40
try:
    GraphRunner(g).run(["split:0"], {"x": np.zeros(4, np.float32)})
except SavedModelIOError as e:
    print("refused:", e)
"""


def test_node_declaring_2_to_40_outputs_is_refused_before_allocating(tmp_path: Any) -> None:
    # One int attribute can declare a trillion outputs; the plan must not make a slot for
    # each. Run in a child with a 2 GiB address-space cap so a regression fails, not OOMs.
    import resource
    import subprocess
    import sys

    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))

    out = subprocess.run([sys.executable, "-c", _HUGE_SPLIT], capture_output=True, text=True,
                         timeout=120, preexec_fn=cap, check=False)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "refused:" in out.stdout and "num_split" in out.stdout, out.stdout
