"""Graph building: names, attribute inference and defaults, variables, savers, export."""

from __future__ import annotations

import numpy as np
import pytest

from savedmodel_io.dtypes import DataType
from savedmodel_io.errors import InvalidArgumentError, NotFoundError
from savedmodel_io.graph import Graph, GraphVariable, Operation, Tensor, op_def
from savedmodel_io.graph.attrs import is_default
from savedmodel_io.protos import any_pb2, meta_graph_pb2, variable_pb2
from savedmodel_io.tensor_proto import to_numpy
from savedmodel_io.train.variable import Variable

F32 = DataType.DT_FLOAT


def attr_types(op: Operation, name: str) -> list[DataType]:
    return [DataType(t) for t in op.attrs[name].list.type]


# ------------------------------------------------------------------ tensors and names


def test_placeholder_tensor() -> None:
    g = Graph()
    x = g.placeholder(np.float32, shape=(None, 1), name="x")
    assert isinstance(x, Tensor)
    assert (x.name, x.index, x.dtype, x.shape) == ("x:0", 0, F32, (None, 1))
    assert x.graph is g and x.op.type == "Placeholder" and x.op.outputs == (x,)
    assert g.placeholder("int64").shape is None      # unknown rank
    assert g.placeholder("int64").name == "Placeholder_1:0"


def test_unique_names_follow_tensorflow() -> None:
    g = Graph()
    assert g.constant(1.0, name="a").name == "a:0"
    assert g.constant(1.0, name="a").name == "a_1:0"
    assert g.constant(1.0, name="A").name == "A_2:0"       # case-insensitive
    assert g.unique_name("a", mark_as_used=False) == "a_3"
    assert g.unique_name("a", mark_as_used=False) == "a_3"
    g.constant(1.0, name="b_1")
    g.constant(1.0, name="b")
    assert g.constant(1.0, name="b").name == "b_2:0"
    assert g.constant(1.0).name == "Const:0"


def test_name_scopes() -> None:
    g = Graph()
    with g.name_scope("dense") as scope:
        assert scope == "dense/" and g.get_name_scope() == "dense"
        t = g.op("Relu", [g.constant(1.0)])
        with g.name_scope(None):
            assert g.constant(1.0, name="top").name == "top:0"
    assert t.name == "dense/Relu:0"
    assert g.get_operation_by_name("dense/Const").type == "Const"
    with g.name_scope("dense") as scope:
        assert scope == "dense_1/"
    with g.name_scope("dense/"):
        assert g.op("Relu", [t]).name == "dense/Relu_1:0"
    # A name ending in "/" is taken as it is.
    assert g.constant(2.0, name="exact/name/").name == "exact/name:0"
    with pytest.raises(InvalidArgumentError, match="already has an op"):
        g.constant(2.0, name="exact/name/")


def test_invalid_names_are_rejected() -> None:
    g = Graph()
    for bad in ("_x", "a b", "a:0"):
        with pytest.raises(InvalidArgumentError, match="not a valid"):
            g.constant(1.0, name=bad)
    with pytest.raises(InvalidArgumentError, match="not a valid scope"):
        with g.name_scope("bad name"):
            pass


def test_lookup_errors() -> None:
    g = Graph()
    x = g.placeholder(np.float32, name="x")
    assert g.get_tensor_by_name("x:0") is x
    assert g.get_operation_by_name("x") is x.op
    assert "x" in g and "y" not in g
    with pytest.raises(InvalidArgumentError, match="not a tensor name"):
        g.get_tensor_by_name("x")
    with pytest.raises(NotFoundError, match="no operation named 'nope'"):
        g.get_tensor_by_name("nope:0")
    with pytest.raises(NotFoundError, match="has 1 outputs"):
        g.get_tensor_by_name("x:1")
    with pytest.raises(KeyError):                          # NotFoundError is a KeyError
        g.get_operation_by_name("nope")
    with pytest.raises(InvalidArgumentError, match="names a tensor"):
        g.get_operation_by_name("x:0")


# ------------------------------------------------------------------ attributes


def test_type_attr_inferred_and_defaults_filled() -> None:
    g = Graph()
    x = g.placeholder(np.float32, shape=(2, 3))
    w = g.constant(np.ones((2, 3), np.float32))
    mm = g.op("MatMul", [x, w], transpose_b=True)
    attrs = mm.op.attrs
    assert DataType(attrs["T"].type) == F32
    assert attrs["transpose_b"].b is True
    d = op_def("MatMul")
    assert d is not None
    assert set(attrs) == {a.name for a in d.attr}          # every OpDef attr is set
    assert attrs["transpose_a"].b is False and attrs["grad_a"].b is False
    assert mm.shape == (2, 2)


def test_number_and_type_list_attrs() -> None:
    g = Graph()
    a = g.placeholder(np.float32, shape=(2,))
    i = g.placeholder(np.int64, shape=(3,))
    s = g.op("AddN", [[a, a, a]])
    assert s.op.attrs["N"].i == 3
    cat = g.op("ConcatV2", [[a, a], 0])
    assert cat.op.attrs["N"].i == 2 and DataType(cat.op.attrs["Tidx"].type) == DataType.DT_INT32
    idn = g.add_op("IdentityN", [a, i])                   # the only input is a list
    assert attr_types(idn, "T") == [F32, DataType.DT_INT64]
    assert [t.dtype for t in idn.outputs] == [F32, DataType.DT_INT64]
    assert [t.shape for t in idn.outputs] == [(2,), (3,)]


def test_plain_values_become_consts_named_after_the_input() -> None:
    g = Graph()
    x = g.placeholder(np.float32, shape=(None, 2), name="x")
    y = g.op("Mul", [x, 2], name="scale")                 # int 2 converted to x's float32
    const = g.get_operation_by_name("scale/y")
    assert const.type == "Const" and y.op.inputs[1].op is const
    value = to_numpy(const.attrs["value"].tensor)
    assert value.dtype == np.float32 and value == 2.0
    # Without a dtype from another input: the type attribute's default for Python
    # values (Reshape's Tshape is int32), a numpy value keeps its own dtype.
    r = g.op("Reshape", [x, [-1]])
    assert DataType(r.op.attrs["Tshape"].type) == DataType.DT_INT32
    r64 = g.op("Reshape", [x, np.array([-1], np.int64)])
    assert DataType(r64.op.attrs["Tshape"].type) == DataType.DT_INT64
    assert g.op("Add", [1.5, 2.5]).dtype == F32           # Python floats: float32


def test_attribute_errors() -> None:
    g = Graph()
    x = g.placeholder(np.float32, shape=(2,))
    i = g.placeholder(np.int32, shape=(2,))
    with pytest.raises(InvalidArgumentError, match="all tensors must have one dtype"):
        g.op("AddN", [[x, i]])
    with pytest.raises(InvalidArgumentError, match="attribute 'T' is float64 but the inputs"):
        g.op("Relu", [x], T=np.float64)
    with pytest.raises(InvalidArgumentError, match="has no attribute 'bogus'"):
        g.op("Relu", [x], bogus=1)
    with pytest.raises(InvalidArgumentError, match="not one of the allowed types"):
        g.op("Relu", [g.constant("s")])
    with pytest.raises(InvalidArgumentError, match="'padding'.*'WRONG'"):
        g.op("MaxPool", [g.placeholder(np.float32, shape=(1, 4, 4, 1))], ksize=[1, 2, 2, 1],
             strides=[1, 1, 1, 1], padding="WRONG")
    with pytest.raises(InvalidArgumentError, match="'dtype'.*no default"):
        g.op("Placeholder", [])
    with pytest.raises(InvalidArgumentError, match="takes 2 inputs"):
        g.op("MatMul", [x])
    with pytest.raises(InvalidArgumentError, match="transpose_a.*expected a bool"):
        g.op("MatMul", [x, x], transpose_a=1)
    with pytest.raises(InvalidArgumentError, match="needs a reference tensor"):
        g.add_op("Assign", [x, x])
    with pytest.raises(InvalidArgumentError, match="has 2 outputs"):
        g.op("TopKV2", [x, 1])
    with pytest.raises(InvalidArgumentError, match="is the Operation"):
        g.op("Identity", [x.op])
    with pytest.raises(InvalidArgumentError, match="from another graph"):
        Graph().op("Identity", [x])
    with pytest.raises(InvalidArgumentError, match="dimensions 2 and 3 must be equal"):
        g.op("MatMul", [g.constant(np.ones((1, 2), np.float32)), np.ones((3, 1), np.float32)],
             name="bad")
    # Failed ops leave nothing behind: no op, no Const, no name taken.
    assert [op.name for op in g.get_operations()] == ["Placeholder", "Placeholder_1", "Const",
                                                      "Placeholder_2", "Const_1"]
    assert g.op("Relu", [x]).name == "Relu:0" and g.constant(1.0, name="bad").name == "bad:0"


def test_unregistered_op_needs_output_types() -> None:
    g = Graph()
    x = g.placeholder(np.float32, shape=(2,), name="x")
    with pytest.raises(InvalidArgumentError, match="'MyOp'.*not in the built-in registry"):
        g.add_op("MyOp", [x], attrs={"T": DataType.DT_FLOAT})
    op = g.add_op("MyOp", [x], attrs={"T": DataType.DT_FLOAT, "k": 3, "tag": "a",
                                      "_class": ["loc:@x"]},
                  output_types=[DataType.DT_FLOAT, np.int64])
    assert op.name == "MyOp" and op.op_def is None
    assert [t.dtype for t in op.outputs] == [F32, DataType.DT_INT64]
    assert [t.shape for t in op.outputs] == [None, None]
    nd = op.node_def
    assert nd.attr["k"].i == 3 and nd.attr["tag"].s == b"a"
    assert list(nd.attr["_class"].list.s) == [b"loc:@x"]
    mg = g.export_meta_graph()
    assert [o.name for o in mg.meta_info_def.stripped_op_list.op] == ["Placeholder"]
    shaped = g.add_op("MyOp", [x], attrs={}, output_types=["float32"],
                      output_shapes=[(None, 4)])
    assert shaped.outputs[0].shape == (None, 4)


def test_strip_default_attrs_removes_exactly_the_defaults() -> None:
    g = Graph()
    x = g.placeholder(np.float32, shape=(None, 3), name="x")
    g.op("MatMul", [x, np.ones((2, 3), np.float32)], transpose_b=True, name="mm")
    g.op("Conv2D", [g.placeholder(np.float32, shape=(1, 4, 4, 1)),
                    np.ones((2, 2, 1, 1), np.float32)], strides=[1, 1, 1, 1], padding="SAME")
    full = {n.name: n for n in g.as_graph_def().node}
    stripped = {n.name: n for n in g.as_graph_def(strip_default_attrs=True).node}
    assert full.keys() == stripped.keys()
    removed_somewhere = False
    for name, n in full.items():
        d = op_def(n.op)
        assert d is not None
        expect = {k for k, v in n.attr.items() if not is_default(d, k, v)}
        assert set(stripped[name].attr) == expect, name
        removed_somewhere |= expect != set(n.attr)
    assert removed_somewhere
    assert "transpose_b" in stripped["mm"].attr and "transpose_a" not in stripped["mm"].attr
    assert "data_format" not in stripped["Conv2D"].attr
    mg = g.export_meta_graph(strip_default_attrs=True)
    assert mg.meta_info_def.stripped_default_attrs
    assert not g.export_meta_graph().meta_info_def.stripped_default_attrs


def test_stripped_op_list_holds_the_used_opdefs() -> None:
    g = Graph()
    x = g.placeholder(np.float32, shape=(None, 3))
    g.op("Softmax", [g.op("Relu", [x])])
    g.variable("v", np.zeros((3,), np.float32), resource=True)
    mg = g.export_meta_graph(saver_def=g.add_saver())
    used = sorted({op.type for op in g.get_operations()})
    listed = list(mg.meta_info_def.stripped_op_list.op)
    assert [o.name for o in listed] == used
    for o in listed:
        assert o == op_def(o.name)
    assert mg.meta_info_def.tensorflow_version == "2.21.0"
    assert mg.graph_def.versions.producer == 2474


def test_get_attr_python_values() -> None:
    g = Graph()
    x = g.placeholder(np.float32, shape=(None, 3), name="x")
    assert x.op.get_attr("dtype") == F32
    assert x.op.get_attr("shape") == (None, 3)
    c = g.constant(np.array([[1, 2]], np.int64))
    np.testing.assert_array_equal(c.op.get_attr("value"), [[1, 2]])
    sq = g.op("Squeeze", [x], squeeze_dims=[0])
    assert sq.op.get_attr("squeeze_dims") == [0]
    with pytest.raises(NotFoundError):
        x.op.get_attr("nope")


def test_constant_fill_is_stored_once() -> None:
    g = Graph()
    c = g.constant(0.5, shape=(3, 4))
    p = c.op.attrs["value"].tensor
    assert list(p.float_val) == [0.5] and not p.tensor_content
    assert c.shape == (3, 4)
    np.testing.assert_array_equal(to_numpy(p), np.full((3, 4), 0.5, np.float32))
    s = g.constant(["a", "bc"])
    assert s.dtype == DataType.DT_STRING and s.shape == (2,)


# ------------------------------------------------------------------ control flow, devices


def test_control_inputs_and_group() -> None:
    g = Graph()
    a, b, c = (g.constant(float(i), name=n) for i, n in enumerate("cab"))
    grp = g.group([a, b.op, c])
    assert grp.name == "group_deps" and grp.type == "NoOp"
    # Creation order on the op; sorted by name in the GraphDef, as TensorFlow writes it.
    assert list(grp.node_def.input) == ["^c", "^a", "^b"]
    node = next(n for n in g.as_graph_def().node if n.name == "group_deps")
    assert list(node.input) == ["^a", "^b", "^c"]
    for t in (a, b, c):
        assert t.op.attrs["_has_manual_control_dependencies"].b is True
    with g.control_dependencies([a]):
        d = g.op("Neg", [b])
        e = g.op("Neg", [a])                              # a is an input: no control edge
        with g.control_dependencies(None):
            f = g.op("Neg", [b])
    assert d.op.control_inputs == (a.op,)
    assert e.op.control_inputs == () and f.op.control_inputs == ()


def test_group_across_devices() -> None:
    g = Graph()
    with g.device("/cpu:0"):
        a = g.constant(1.0, name="a")
    b = g.constant(2.0, name="b")
    grp = g.group([a, b], name="all")
    subs = grp.control_inputs
    assert [s.name for s in subs] == ["all/NoOp", "all/NoOp_1"]
    assert [s.device for s in subs] == ["", "/device:CPU:0"]
    assert subs[0].control_inputs == (b.op,) and subs[1].control_inputs == (a.op,)


def test_devices_are_canonical() -> None:
    g = Graph()
    with g.device("/job:worker/task:1/gpu:0"):
        assert g.constant(1.0).op.device == "/job:worker/task:1/device:GPU:0"
    assert g.constant(1.0, name="c").op.device == ""
    op = g.add_op("NoOp", [], device="/device:cpu:*")
    assert op.device == "/device:CPU:*"
    assert g.as_graph_def(clear_devices=True).node[0].device == ""
    with pytest.raises(InvalidArgumentError, match="not a device string"):
        with g.device("nonsense"):
            pass


# ------------------------------------------------------------------ variables


def test_reference_variable_nodes() -> None:
    g = Graph()
    a = g.variable("a", np.float32(0.5))
    assert isinstance(a, GraphVariable)
    names = [op.name for op in g.get_operations()]
    assert names == ["a/initial_value", "a", "a/Assign", "a/read"]
    assert a.handle.dtype == DataType.DT_FLOAT_REF and a.handle.shape == ()
    assert a.read().name == "a/read:0" and a.read().dtype == F32
    assert a.initializer.name == "a/Assign" and a.initial_value.name == "a/initial_value:0"
    vd = a.to_proto()
    assert isinstance(vd, variable_pb2.VariableDef)
    assert (vd.variable_name, vd.snapshot_name, vd.is_resource) == ("a:0", "a/read:0", False)


def test_resource_variable_nodes_and_reads() -> None:
    g = Graph()
    with g.name_scope("layer"):
        b = g.variable("b", np.ones((2, 3), np.float32), resource=True)
    assert b.name == "layer/b"
    names = [op.name for op in g.get_operations()]
    assert names == ["layer/b/Initializer/initial_value", "layer/b",
                     "layer/b/IsInitialized/VarIsInitializedOp", "layer/b/Assign",
                     "layer/b/Read/ReadVariableOp"]
    assert b.handle.dtype == DataType.DT_RESOURCE and b.handle.shape == ()
    assert b.read().shape == (2, 3)
    # A resource variable given as an op input is read in the op's scope, as TF does.
    mm = g.op("MatMul", [g.placeholder(np.float32, shape=(None, 2)), b])
    read = mm.op.inputs[1]
    assert read.op.name == "MatMul/ReadVariableOp" and read.shape == (2, 3)
    assert mm.shape == (None, 3)
    assert b.read_value().name == "ReadVariableOp:0"


def test_variables_share_values_with_train_variables() -> None:
    g = Graph()
    a = g.variable("a", np.float32(0.5))
    b = g.variable("b", [1.0, 2.0], trainable=False, resource=True)
    c = g.variable("c", np.int64(0), trainable=False, collections=["local_variables"])
    assert [v.name for v in g.variables] == ["a", "b"]
    assert [v.name for v in g.trainable_variables] == ["a"]
    assert [v.name for v in g.local_variables] == ["c"]
    assert all(isinstance(v, Variable) for v in g.variables)
    assert b.dtype == F32                                  # Python floats: float32
    a.assign(np.float32(4.0))
    assert g.variables[0].value == 4.0 and a.value == 4.0
    assert a.variable is g.variables[0]
    with pytest.raises(InvalidArgumentError):
        a.assign(np.zeros((2,), np.float32))
    # The initial value in the graph is the value at creation.
    assert to_numpy(a.initial_value.op.attrs["value"].tensor) == 0.5
    assert c.trainable is False


def test_global_variables_initializer() -> None:
    g = Graph()
    assert g.global_variables_initializer().control_inputs == ()
    a = g.variable("a", np.float32(0.5))
    b = g.variable("b", np.float32(1.5), resource=True)
    assert "_has_manual_control_dependencies" not in a.initializer.attrs
    init = g.global_variables_initializer()
    assert init.name == "init_1" and init.control_inputs == (a.initializer, b.initializer)
    assert a.initializer.attrs["_has_manual_control_dependencies"].b is True


def test_saver_scopes_and_def() -> None:
    g = Graph()
    with pytest.raises(InvalidArgumentError, match="no variables"):
        g.add_saver()
    g.variable("save", np.float32(0.5))        # takes the name "save"
    sd = g.add_saver()
    assert sd.filename_tensor_name == "save_1/Const:0"
    assert sd.save_tensor_name == "save_1/control_dependency:0"
    assert sd.restore_op_name == "save_1/restore_all"
    sd2 = g.add_saver(sharded=True, max_to_keep=3, name="keep")
    assert sd2.sharded and sd2.max_to_keep == 3
    assert sd2.save_tensor_name == "keep/Identity:0"
    assert g.get_tensor_by_name("keep/Const:0").dtype == DataType.DT_STRING
    other = Graph().variable("x", np.float32(1.0))
    with pytest.raises(InvalidArgumentError, match="another graph"):
        g.add_saver(var_list=[other])


# ------------------------------------------------------------------ export


def test_collections_by_kind() -> None:
    g = Graph()
    x = g.placeholder(np.float32, name="x")
    g.add_to_collection("nodes", x)
    g.add_to_collection("nodes", x.op)
    g.add_to_collections(["bytes", "more"], b"a")
    g.add_to_collection("bytes", "b")
    g.add_to_collection("ints", 7)
    g.add_to_collection("floats", 0.5)
    info = meta_graph_pb2.TensorInfo(name="x:0")
    g.add_to_collection("protos", info)
    g.add_to_collection("mixed", 1)
    g.add_to_collection("mixed", "one")
    with pytest.raises(InvalidArgumentError, match="mixes"):
        g.export_meta_graph()
    mg = g.export_meta_graph(collection_list=["nodes", "bytes", "ints", "floats", "protos"])
    cd = mg.collection_def
    assert list(cd["nodes"].node_list.value) == ["x:0", "x"]
    assert list(cd["bytes"].bytes_list.value) == [b"a", b"b"]
    assert list(cd["ints"].int64_list.value) == [7]
    assert list(cd["floats"].float_list.value) == [0.5]
    packed = cd["protos"].any_list.value[0]
    assert isinstance(packed, any_pb2.Any) and packed.Is(meta_graph_pb2.TensorInfo.DESCRIPTOR)
    assert "more" not in cd


def test_as_graph_def_shapes_only_on_request() -> None:
    g = Graph()
    g.placeholder(np.float32, shape=(None, 2), name="x")
    g.no_op(name="n")
    plain, shaped = g.as_graph_def(), g.as_graph_def(add_shapes=True)
    assert "_output_shapes" not in plain.node[0].attr
    dims = [d.size for d in shaped.node[0].attr["_output_shapes"].list.shape[0].dim]
    assert dims == [-1, 2]
    assert "_output_shapes" not in shaped.node[1].attr        # no outputs
    assert plain.versions.producer == 2474
