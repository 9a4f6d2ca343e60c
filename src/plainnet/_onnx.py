"""A network as an ONNX model, written without the onnx package.

The protobuf bytes of ONNX's ModelProto, GraphProto, NodeProto,
AttributeProto, TensorProto and ValueInfoProto (field numbers from ONNX's
``onnx.proto3``) are encoded here by hand: nothing outside the standard
library is needed to export, only to run the result.

The graph, at opset 17 (IR version 8), for a network of L layers::

    input [N, n_in]
      -> Sub(mean) -> Div(scale)            when the network has a scaler
      -> Gemm(W_l, b_l, transB=1)           each layer: z = x W^T + b
      -> the layer's activation             its registry record's ``onnx`` recipe
    output [N, n_out]

The scaler is not folded into the first layer's weights: ``(x - mean) /
scale`` is computed exactly as plainnet does, so in float64 the scaled
inputs are the same bits.  Gemm sums in its own order, and the runtime's
exp/tanh/log are not plainnet's libm, so outputs agree to rounding (the tests
measure 1e-12 relative in float64), not bit for bit.  With ``dtype="float32"``
weights, constants, input and output are float32 (every weight rounded to the
nearest float32).
"""

import struct

from . import _registry
from ._version import __version__

__all__ = ["OPSET", "IR_VERSION", "DTYPES", "model_bytes", "export_onnx", "add_network",
           "register_skl2onnx"]

#: The ONNX operator set the export uses, and the IR version that goes with it.
OPSET = 17
IR_VERSION = 8

#: TensorProto.DataType codes.
_FLOAT, _INT64, _BOOL, _DOUBLE = 1, 7, 9, 11
#: The dtypes export_onnx writes: ONNX element type and struct format of each.
DTYPES = {"float64": (_DOUBLE, "d"), "float32": (_FLOAT, "f")}


# -- the protobuf wire format ----------------------------------------------------

def _varint(n):
    if n < 0:  # int64 fields: negative values as their 64-bit two's complement
        n += 1 << 64
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _key(field, wire):
    return _varint((field << 3) | wire)


def _int(field, n):  # wire type 0: int32, int64, enum
    return _key(field, 0) + _varint(n)


def _bytes(field, data):  # wire type 2: bytes, strings, embedded messages, packed
    return _key(field, 2) + _varint(len(data)) + data


def _str(field, text):
    return _bytes(field, text.encode("utf-8"))


def _float32(field, x):  # wire type 5
    return _key(field, 5) + struct.pack("<f", x)


def _packed_ints(field, values):
    return _bytes(field, b"".join(_varint(v) for v in values))


# -- ONNX messages -----------------------------------------------------------------

def _tensor(name, dims, elem_type, values):
    """TensorProto: dims (1), data_type (2), name (8), raw_data (9, little-endian)."""
    fmt = {_DOUBLE: "d", _FLOAT: "f"}[elem_type]
    try:
        raw = struct.pack("<%d%s" % (len(values), fmt), *values)
    except OverflowError:
        raise ValueError("tensor %r: a value is too large for float32 (at most %r)"
                         % (name, 3.4028234663852886e38)) from None
    return (_packed_ints(1, dims) if dims else b"") + _int(2, elem_type) + _str(8, name) \
        + _bytes(9, raw)


def _attribute(name, value):
    """AttributeProto: name (1), f (2), i (3), s (4), ints (8), type (20)."""
    head = _str(1, name)
    if isinstance(value, bool) or isinstance(value, int):
        return head + _int(20, 2) + _int(3, int(value))
    if isinstance(value, float):
        return head + _int(20, 1) + _float32(2, value)
    if isinstance(value, str):
        return head + _int(20, 3) + _str(4, value)
    if isinstance(value, (list, tuple)) and all(isinstance(v, int) for v in value):
        return head + _int(20, 7) + _packed_ints(8, value)
    raise TypeError("no ONNX attribute for %r" % (value,))


def _node(op_type, inputs, outputs, name, attributes=None):
    """NodeProto: input (1), output (2), name (3), op_type (4), attribute (5)."""
    out = b"".join(_str(1, i) for i in inputs) + b"".join(_str(2, o) for o in outputs)
    out += _str(3, name) + _str(4, op_type)
    for key in sorted(attributes or {}):
        out += _bytes(5, _attribute(key, attributes[key]))
    return out


def _value_info(name, elem_type, dims, doc=None):
    """ValueInfoProto: name (1), type (2): TypeProto.tensor_type (1): elem_type (1),
    shape (2): TensorShapeProto.dim (1): dim_value (1) or dim_param (2)."""
    shape = b""
    for d in dims:
        shape += _bytes(1, _str(2, d) if isinstance(d, str) else _int(1, d))
    tensor = _int(1, elem_type) + _bytes(2, shape)
    out = _str(1, name) + _bytes(2, _bytes(1, tensor))
    if doc:
        out += _str(3, doc)
    return out


def _graph(nodes, name, initializers, inputs, outputs, doc=None):
    """GraphProto: node (1), name (2), initializer (5), doc_string (10), input (11), output (12)."""
    out = b"".join(_bytes(1, n) for n in nodes) + _str(2, name)
    out += b"".join(_bytes(5, t) for t in initializers)
    if doc:
        out += _str(10, doc)
    out += b"".join(_bytes(11, v) for v in inputs) + b"".join(_bytes(12, v) for v in outputs)
    return out


def _model(graph, doc=None, metadata=()):
    """ModelProto: ir_version (1), producer_name (2), producer_version (3), doc_string (6),
    graph (7), opset_import (8): OperatorSetIdProto{domain (1), version (2)},
    metadata_props (14): StringStringEntryProto{key (1), value (2)}."""
    out = _int(1, IR_VERSION) + _str(2, "plainnet") + _str(3, __version__)
    if doc:
        out += _str(6, doc)
    out += _bytes(7, graph) + _bytes(8, _str(1, "") + _int(2, OPSET))
    for key, value in metadata:
        out += _bytes(14, _str(1, key) + _str(2, value))
    return out


# -- the network as nodes -----------------------------------------------------------

class _Builder:
    """Collects the nodes and initializers of a standalone model."""

    def __init__(self, elem_type):
        self.elem_type = elem_type
        self.nodes = []
        self.initializers = []
        self._constants = {}
        self._used = set()

    def name(self, hint):
        name, k = hint, 1
        while name in self._used:
            k += 1
            name = "%s_%d" % (hint, k)
        self._used.add(name)
        return name

    def tensor(self, hint, dims, values):
        name = self.name(hint)
        self.initializers.append(_tensor(name, dims, self.elem_type, values))
        return name

    def constant(self, value):
        """The name of a scalar initializer holding ``value`` (one per value)."""
        key = struct.pack("<d", value)
        if key not in self._constants:
            self._constants[key] = self.tensor("c_%r" % value, [], [value])
        return self._constants[key]

    def node(self, op_type, inputs, outputs, attributes=None):
        self.nodes.append(_node(op_type, inputs, outputs, self.name("n_" + op_type),
                                attributes))


def _check_dtype(dtype):
    if dtype not in DTYPES:
        raise ValueError("dtype must be one of %s, got %r" % (", ".join(map(repr, DTYPES)), dtype))
    return DTYPES[dtype][0]


def add_network(b, net, x, y):
    """Add the nodes computing ``net`` from the tensor ``x`` to the tensor ``y``.

    ``b`` is a builder: ``name(hint)`` a fresh name, ``tensor(hint, dims,
    values)`` an initializer of the graph's dtype, ``constant(value)`` a
    scalar one, ``node(op_type, inputs, outputs, attributes)``.
    """
    sizes, acts = net.sizes, net.activations
    records = [_registry.activation(a) for a in acts]
    for a in records:
        if not a.onnx:
            raise NotImplementedError("activation %r has no ONNX recipe" % a.name)
    weights, biases, scaler = net._params("export_onnx")
    if scaler is not None:
        mean = b.tensor("scaler_mean", [sizes[0]], scaler.mean)
        scale = b.tensor("scaler_scale", [sizes[0]], scaler.scale)
        centred = b.name("centred")
        b.node("Sub", [x, mean], [centred])
        scaled = b.name("scaled")
        b.node("Div", [centred, scale], [scaled])
        x = scaled
    for l, act in enumerate(records):
        n_in, n_out = sizes[l], sizes[l + 1]
        W = b.tensor("W%d" % (l + 1), [n_out, n_in], [w for row in weights[l] for w in row])
        B = b.tensor("b%d" % (l + 1), [n_out], biases[l])
        z = b.name("z%d" % (l + 1))
        b.node("Gemm", [x, W, B], [z], {"transB": 1})
        last = l == len(records) - 1
        x = _activation(b, act, z, y if last else b.name("a%d" % (l + 1)), l + 1)
    return y


def _activation(b, act, z, out, layer):
    """Nodes of ``act``'s recipe from ``z``; its last step writes ``out``."""
    names = {"z": z}
    steps = act.onnx
    for k, step in enumerate(steps):
        op_type, inputs, result = step[0], step[1], step[2]
        attributes = step[3] if len(step) > 3 else None
        args = [b.constant(float(v)) if isinstance(v, float) else names[v] for v in inputs]
        target = out if k == len(steps) - 1 else b.name("%s%d_%s" % (act.name, layer, result))
        b.node(op_type, args, [target], attributes)
        names[result] = target
    return out


def model_bytes(net, dtype="float64"):
    """The ONNX model of ``net`` as bytes: input "input" [N, n_in], output "output" [N, n_out]."""
    elem_type = _check_dtype(dtype)
    b = _Builder(elem_type)
    x, y = b.name("input"), b.name("output")
    add_network(b, net, x, y)
    sizes = net.sizes
    columns = net.column_names
    doc_in = doc_out = None
    metadata = [("plainnet.sizes", repr(sizes)), ("plainnet.activations", ",".join(net.activations))]
    if columns is not None:
        import json
        doc_in = "columns: " + json.dumps(columns["inputs"])
        doc_out = "columns: " + json.dumps(columns["outputs"])
        metadata.append(("plainnet.columns", json.dumps(columns)))
    arch = " -> ".join(["%d inputs" % sizes[0]] + ["%d %s" % (n, a) for n, a in
                                                   zip(sizes[1:], net.activations)])
    graph = _graph(b.nodes, "plainnet", b.initializers,
                   [_value_info(x, elem_type, ["N", sizes[0]], doc_in)],
                   [_value_info(y, elem_type, ["N", sizes[-1]], doc_out)],
                   doc="plainnet network: %s (%s)" % (arch, dtype))
    return _model(graph, doc="Exported by plainnet %s" % __version__, metadata=metadata)


def export_onnx(net, path, dtype="float64"):
    """Write ``net``'s ONNX model to ``path``, atomically."""
    from ._modelfile import write_atomically
    data = model_bytes(net, dtype)
    write_atomically(path, data)


# -- skl2onnx: NetClassifier and NetRegressor in pipelines -------------------------------

class _Container:
    """add_network's builder interface over skl2onnx's scope and container."""

    def __init__(self, scope, container, elem_type, op_prefix):
        self.scope = scope
        self.container = container
        self.elem_type = elem_type
        self.op_prefix = op_prefix
        self._constants = {}

    def name(self, hint):
        return self.scope.get_unique_variable_name(hint)

    def tensor(self, hint, dims, values):
        name = self.name(hint)
        self.container.add_initializer(name, self.elem_type, list(dims), list(values))
        return name

    def constant(self, value):
        key = struct.pack("<d", value)
        if key not in self._constants:
            self._constants[key] = self.tensor("c", [], [value])
        return self._constants[key]

    def node(self, op_type, inputs, outputs, attributes=None):
        self.container.add_node(op_type, inputs, outputs,
                                name=self.scope.get_unique_operator_name(self.op_prefix + op_type),
                                op_version=OPSET, **(attributes or {}))


def _elem_type(variable):
    from skl2onnx.common.data_types import DoubleTensorType
    return _DOUBLE if isinstance(variable.type, DoubleTensorType) else _FLOAT


def _regressor_shape(operator):
    from skl2onnx.common.data_types import DoubleTensorType, FloatTensorType
    x = operator.inputs[0]
    kind = DoubleTensorType if isinstance(x.type, DoubleTensorType) else FloatTensorType
    n = x.get_first_dimension()
    est = operator.raw_operator
    width = est.network_.sizes[-1]
    operator.outputs[0].type = kind([n, width] if getattr(est, "_y_ndim", 2) != 1 else [n, 1])


def _regressor_converter(scope, operator, container):
    est = operator.raw_operator
    b = _Container(scope, container, _elem_type(operator.inputs[0]), "plainnet_")
    add_network(b, est.network_, operator.inputs[0].full_name, operator.outputs[0].full_name)


def _classifier_shape(operator):
    from skl2onnx.common.shape_calculator import calculate_linear_classifier_output_shapes
    calculate_linear_classifier_output_shapes(operator)


def _classifier_converter(scope, operator, container):
    est = operator.raw_operator
    b = _Container(scope, container, _elem_type(operator.inputs[0]), "plainnet_")
    net = est.network_
    label, proba = operator.outputs[0].full_name, operator.outputs[1].full_name
    if len(est.classes_) == 2:  # one sigmoid output p: probabilities [1 - p, p]
        p = add_network(b, net, operator.inputs[0].full_name, b.name("p1"))
        p0 = b.name("p0")
        b.node("Sub", [b.constant(1.0), p], [p0])
        b.node("Concat", [p0, p], [proba], {"axis": 1})
    else:
        add_network(b, net, operator.inputs[0].full_name, proba)
    index = b.name("argmax")
    b.node("ArgMax", [proba], [index], {"axis": 1, "keepdims": 0})
    classes = est.classes_
    import numpy as np
    if np.issubdtype(classes.dtype, np.integer) or classes.dtype == np.bool_:
        values, kind = [int(c) for c in classes], _INT64
    else:
        values, kind = [str(c).encode("utf-8") for c in classes], 8  # STRING
    table = b.name("classes")
    container.add_initializer(table, kind, [len(values)], values)
    # ArrayFeatureExtractor is in ai.onnx.ml; Gather is standard.
    b.node("Gather", [table, index], [label], {"axis": 0})


def register_skl2onnx(classifier, regressor):
    """Register converters of plainnet.sklearn's ``classifier`` (NetClassifier)
    and ``regressor`` (NetRegressor) with skl2onnx (they are passed in, so that
    this module imports nothing from plainnet.sklearn).

    Afterwards ``skl2onnx.to_onnx(pipeline, X)`` converts pipelines holding
    them: a NetRegressor gives its predictions, a NetClassifier ``label`` and
    ``probabilities`` (skl2onnx's ZipMap options apply).  Needs skl2onnx;
    raises ImportError naming it otherwise.
    """
    try:
        from skl2onnx import update_registered_converter
    except ImportError as exc:
        raise ImportError("register_skl2onnx needs skl2onnx: `pip install skl2onnx` (%s)" % exc) \
            from exc
    update_registered_converter(regressor, "PlainnetNetRegressor", _regressor_shape,
                                _regressor_converter)
    update_registered_converter(classifier, "PlainnetNetClassifier", _classifier_shape,
                                _classifier_converter,
                                options={"zipmap": [True, False, "columns"], "nocl": [True, False]})
