"""The registry: one record for each activation, loss and optimizer plainnet knows.

Everything about a formula lives in its record, and every other module reads
it from here: the pure-Python backend (``forward``, ``derivative``, the loss
``value`` and ``delta``), the generated kernels and the Python exporter
(``py``, ``py_derivative``: expression templates), the C exporter (``c``),
the C core (``c_code``: the name of its constant, ``lib.PN_...``; the C
formulas themselves are the list in ``csrc/pn_activations.h``), torch
conversion (``torch``), ONNX export (``onnx``: a recipe of standard operators,
read by ``_onnx``), and the command line's and the estimators' choices.

The C core must perform the same floating-point operations in the same order
as each Python formula here, so that both backends return the same bits;
tests/test_registry.py checks that every record has a C code and every C code
a record, and the parity tests check the bits.

Derivatives take both the pre-activation ``z`` and the output ``y = f(z)``:
sigmoid's is cheapest from ``y``, GELU's needs ``z``.

This module imports nothing from plainnet.
"""

from math import exp, log, log1p, tanh

__all__ = [
    "ACTIVATIONS",
    "LOSSES",
    "OPTIMIZERS",
    "Activation",
    "Loss",
    "OptimizerKind",
    "activation",
    "loss",
    "optimizer_kind",
    "LEAKY_SLOPE",
    "sigmoid",
    "deriv_sigmoid",
    "hidden_activations",
]

#: Slope of leaky_relu for negative inputs.
LEAKY_SLOPE = 0.01
#: sqrt(2 / pi), the constant of GELU's tanh approximation, as a literal so that
#: C reads the same double (csrc/pn_activations.h writes it the same way).
GELU_K = 0.7978845608028654
GELU_C = 0.044715
#: Above this, softplus is z itself (and its slope 1), as in torch.nn.Softplus.
SOFTPLUS_THRESHOLD = 20.0
#: Beyond |z| > this, GELU's tanh is exactly +-1, so its slope is exactly 1 or 0.
GELU_FLAT = 10.0


# -- scalar formulas ----------------------------------------------------------

def sigmoid(x):
    """The logistic function 1 / (1 + e^-x), without overflow for any finite x.

    For x >= 0 this is the tutorial's formula exactly; for x < 0 the
    algebraically equal e^x / (1 + e^x) is used, so that e^-x never overflows.
    """
    if x >= 0.0:
        return 1.0 / (1.0 + exp(-x))
    e = exp(x)
    return e / (1.0 + e)


def deriv_sigmoid(x):
    """Derivative of the sigmoid at x: f(x) * (1 - f(x))."""
    fx = sigmoid(x)
    return fx * (1.0 - fx)


def _softplus(z):
    return z if z > SOFTPLUS_THRESHOLD else log1p(exp(z))


def _d_softplus(z, y):
    return 1.0 if z > SOFTPLUS_THRESHOLD else sigmoid(z)


def _d_silu(z, y):
    s = sigmoid(z)
    return s * (1.0 + z * (1.0 - s))


def _gelu(z):
    return 0.5 * z * (1.0 + tanh(GELU_K * (z + GELU_C * (z * z * z))))


def _d_gelu(z, y):
    if z > GELU_FLAT:
        return 1.0
    if z < -GELU_FLAT:
        return 0.0
    t = tanh(GELU_K * (z + GELU_C * (z * z * z)))
    return 0.5 * (1.0 + t) + ((0.5 * z) * (1.0 - t * t)) * (GELU_K * (1.0 + (3.0 * GELU_C) * (z * z)))


def softmax(z):
    """Softmax of a list, shifted by its maximum so that exp never overflows."""
    m = z[0]
    for v in z:
        if v > m:
            m = v
    e = [exp(v - m) for v in z]
    s = 0.0
    for v in e:
        s += v
    return [v / s for v in e]


# -- activations ----------------------------------------------------------------

class Activation:
    """One activation: its formulas and how every part of plainnet writes it.

    forward(z) -> y and derivative(z, y) -> f'(z) are the reference formulas
    (None for softmax, which acts on the whole layer).  ``py`` and
    ``py_derivative`` are Python expression templates of ``{z}`` (and ``{y}``)
    for generated code, using only exp, log1p, tanh, sigmoid and the constants
    named in ``PY_NAMES``; ``c`` is a C99 expression template of ``{z}`` for
    exported C (libm only); ``libm`` names the C functions it calls;
    ``torch`` is the torch.nn class name, with ``torch_args`` its keyword
    arguments (None for an activation torch writes as no module).

    ``onnx`` is the activation in standard ONNX operators (opset 17): a tuple
    of steps ``(op_type, inputs, output)`` or ``(op_type, inputs, output,
    attributes)``, where an input is ``"z"`` (the layer's pre-activation), an
    earlier step's output, or a float constant (written in the export's
    dtype); the last step's output is the activation (None: no recipe).
    """

    __slots__ = ("name", "forward", "derivative", "py", "py_derivative", "c", "libm",
                 "torch", "torch_args", "hidden", "onnx")

    def __init__(self, name, forward, derivative, py, py_derivative, c, libm=(), torch=None,
                 torch_args=None, hidden=True, onnx=None):
        self.name = name
        self.forward = forward
        self.derivative = derivative
        self.py = py
        self.py_derivative = py_derivative
        self.c = c
        self.libm = tuple(libm)
        self.torch = torch
        self.torch_args = dict(torch_args or {})
        self.hidden = hidden
        self.onnx = None if onnx is None else tuple(onnx)

    @property
    def c_code(self):
        """The name of the C core's constant for this activation (plainnet.h)."""
        return "PN_" + self.name.upper()

    @property
    def elementwise(self):
        return self.forward is not None

    def __repr__(self):
        return "Activation(%r)" % self.name


_SIGMOID_C = "({z} >= 0.0 ? 1.0 / (1.0 + exp(-{z})) : exp({z}) / (1.0 + exp({z})))"
_GELU_PY = "(0.5 * {z} * (1.0 + tanh(GELU_K * ({z} + GELU_C * ({z} * {z} * {z})))))"
_GELU_C = ("(0.5 * {z} * (1.0 + tanh(%r * ({z} + %r * ({z} * {z} * {z})))))" % (GELU_K, GELU_C))

# ONNX recipes (see Activation).  ONNX's LeakyRelu takes its slope as a float32
# attribute, so leaky_relu multiplies by a constant of the export's dtype
# (0.01 exact in float64).  ONNX has no log1p, and its Softplus is
# log(exp(z) + 1), which is 0 where log1p(e^z) is e^z (z below about -37):
# softplus computes log1p(u), u = e^z, by Kahan's formula u * log(1 + u) / ((1 + u) - 1)
# (u itself when 1 + u rounds to 1), accurate to a few ulps, and is z above 20
# as plainnet's.  Sigmoid is written out as plainnet's two branches too:
# onnxruntime's Sigmoid is 0 below about -600, where e^z / (1 + e^z) is not.
# GELU would be opset 20's Gelu(approximate="tanh"), which not every runtime
# has, so it is written out in plainnet's order of operations.


def _sigmoid_onnx(out):
    # plainnet's two branches with e = exp(-|z|): 1 / (1 + e) for z >= 0, e / (1 + e) below.
    return (
        ("Abs", ("z",), "az"),
        ("Neg", ("az",), "naz"),
        ("Exp", ("naz",), "e"),
        ("Add", (1.0, "e"), "de"),
        ("GreaterOrEqual", ("z", 0.0), "nonneg"),
        ("Where", ("nonneg", 1.0, "e"), "nume"),
        ("Div", ("nume", "de"), out),
    )


_SIGMOID_ONNX = _sigmoid_onnx("y")
_LOG1P_EXP_ONNX = (
    ("Exp", ("z",), "u"),
    ("Add", ("u", 1.0), "w"),       # w = fl(1 + u)
    ("Sub", ("w", 1.0), "d"),       # w - 1, exact
    ("Log", ("w",), "lw"),
    ("Div", ("u", "d"), "q"),
    ("Mul", ("lw", "q"), "l"),      # log(w) * u / (w - 1)
    ("Equal", ("d", 0.0), "tiny"),
    ("Where", ("tiny", "u", "l"), "lp"),
)
_SOFTPLUS_ONNX = _LOG1P_EXP_ONNX + (
    ("Greater", ("z", SOFTPLUS_THRESHOLD), "big"),
    ("Where", ("big", "z", "lp"), "y"),
)
_GELU_ONNX = (
    ("Mul", ("z", "z"), "zz"),
    ("Mul", ("zz", "z"), "zzz"),
    ("Mul", (GELU_C, "zzz"), "czzz"),
    ("Add", ("z", "czzz"), "inner"),
    ("Mul", (GELU_K, "inner"), "arg"),
    ("Tanh", ("arg",), "t"),
    ("Add", (1.0, "t"), "onet"),
    ("Mul", (0.5, "z"), "hz"),
    ("Mul", ("hz", "onet"), "y"),
)

#: Names the Python templates may use, and what they are.
PY_NAMES = {"exp": exp, "log1p": log1p, "tanh": tanh, "sigmoid": sigmoid,
            "LEAKY": LEAKY_SLOPE, "GELU_K": GELU_K, "GELU_C": GELU_C,
            "d_softplus": _d_softplus, "d_silu": _d_silu, "d_gelu": _d_gelu}

_ACTIVATION_LIST = (
    Activation("sigmoid", sigmoid, lambda z, y: y * (1.0 - y),
               py="(1.0 / (1.0 + exp(-{z})) if {z} >= 0.0 else sigmoid({z}))",
               py_derivative="({y} * (1.0 - {y}))",
               c=_SIGMOID_C, libm=("exp",), torch="Sigmoid", onnx=_SIGMOID_ONNX),
    Activation("tanh", tanh, lambda z, y: 1.0 - y * y,
               py="tanh({z})", py_derivative="(1.0 - {y} * {y})",
               c="tanh({z})", libm=("tanh",), torch="Tanh", onnx=(("Tanh", ("z",), "y"),)),
    Activation("relu", lambda z: z if z > 0.0 else 0.0, lambda z, y: 1.0 if y > 0.0 else 0.0,
               py="({z} if {z} > 0.0 else 0.0)", py_derivative="(1.0 if {y} > 0.0 else 0.0)",
               c="({z} > 0.0 ? {z} : 0.0)", torch="ReLU", onnx=(("Relu", ("z",), "y"),)),
    Activation("leaky_relu", lambda z: z if z > 0.0 else LEAKY_SLOPE * z,
               lambda z, y: 1.0 if y > 0.0 else LEAKY_SLOPE,
               py="({z} if {z} > 0.0 else LEAKY * {z})",
               py_derivative="(1.0 if {y} > 0.0 else LEAKY)",
               c="({z} > 0.0 ? {z} : %r * {z})" % LEAKY_SLOPE, torch="LeakyReLU",
               torch_args={"negative_slope": LEAKY_SLOPE},
               onnx=(("Greater", ("z", 0.0), "pos"), ("Mul", ("z", LEAKY_SLOPE), "neg"),
                     ("Where", ("pos", "z", "neg"), "y"))),
    Activation("linear", lambda z: z, lambda z, y: 1.0,
               py="{z}", py_derivative="1.0", c="{z}", onnx=(("Identity", ("z",), "y"),)),
    Activation("softplus", _softplus, _d_softplus,
               py="({z} if {z} > 20.0 else log1p(exp({z})))", py_derivative="d_softplus({z}, {y})",
               c="({z} > 20.0 ? {z} : log1p(exp({z})))", libm=("exp", "log1p"), torch="Softplus",
               torch_args={"beta": 1.0, "threshold": SOFTPLUS_THRESHOLD}, onnx=_SOFTPLUS_ONNX),
    Activation("silu", lambda z: z * sigmoid(z), _d_silu,
               py="({z} * sigmoid({z}))", py_derivative="d_silu({z}, {y})",
               c="({z} * %s)" % _SIGMOID_C, libm=("exp",), torch="SiLU",
               onnx=_sigmoid_onnx("s") + (("Mul", ("z", "s"), "y"),)),
    Activation("gelu", _gelu, _d_gelu,
               py=_GELU_PY, py_derivative="d_gelu({z}, {y})",
               c=_GELU_C, libm=("tanh",), torch="GELU", torch_args={"approximate": "tanh"},
               onnx=_GELU_ONNX),
    # softmax acts on the whole layer, so it has no element-wise formulas; it is
    # allowed on the output layer only.
    Activation("softmax", None, None, py=None, py_derivative=None, c=None, libm=("exp",),
               torch="Softmax", torch_args={"dim": -1}, hidden=False,
               onnx=(("Softmax", ("z",), "y", {"axis": -1}),)),
)

#: Every activation by name, in the order the documentation lists them.
ACTIVATIONS = {a.name: a for a in _ACTIVATION_LIST}


def hidden_activations():
    """Names of the activations allowed on hidden layers."""
    return [a.name for a in _ACTIVATION_LIST if a.hidden]


def _choose(table, name, what):
    if not isinstance(name, str):
        raise TypeError("%s must be a string, one of %s; got %r" % (what, ", ".join(table), name))
    record = table.get(name)
    if record is None:
        raise ValueError("unknown %s %r: choose one of %s" % (what, name, ", ".join(table)))
    return record


def activation(name, what="activation"):
    """The :class:`Activation` called ``name``, or TypeError/ValueError naming ``what``."""
    return _choose(ACTIVATIONS, name, what)


# -- losses -------------------------------------------------------------------------

def _mse(t, y, z):
    acc = 0.0
    for tk, yk in zip(t, y):
        d = tk - yk
        acc += d * d
    return acc / len(y)


def _mse_delta(t, y, z, act):
    # dL/dy = -2 (t - y) / n, then through the activation.
    n = len(y)
    g = [(-2.0 * (tk - yk)) / n for tk, yk in zip(t, y)]
    if act.name == "softmax":
        dot = 0.0
        for gk, yk in zip(g, y):
            dot += gk * yk
        return [yk * (gk - dot) for gk, yk in zip(g, y)]
    d = act.derivative
    return [gk * d(zk, yk) for gk, zk, yk in zip(g, z, y)]


def _bce(t, y, z):
    # -[t log s(z) + (1 - t) log(1 - s(z))] = max(z, 0) - z t + log(1 + e^-|z|),
    # from the pre-activations, so it stays finite when an output rounds to 0 or 1.
    acc = 0.0
    for tk, zk in zip(t, z):
        acc += ((zk if zk > 0.0 else 0.0) - zk * tk) + log1p(exp(-abs(zk)))
    return acc / len(z)


def _bce_delta(t, y, z, act):  # with a sigmoid output layer
    n = len(y)
    return [(yk - tk) / n for tk, yk in zip(t, y)]


def _cce(t, y, z):
    # -sum t log softmax(z), with log-sum-exp.
    m = z[0]
    for v in z:
        if v > m:
            m = v
    s = 0.0
    for v in z:
        s += exp(v - m)
    lse = m + log(s)
    acc = 0.0
    for tk, zk in zip(t, z):
        acc += tk * (lse - zk)
    return acc


def _cce_delta(t, y, z, act):  # with a softmax output layer
    return [yk - tk for tk, yk in zip(t, y)]


class Loss:
    """One loss: value(t, y, z) of a sample (targets, outputs, output
    pre-activations), delta(t, y, z, activation) = dL/dz of the output layer,
    and ``output``: the output activation it requires (None: any)."""

    __slots__ = ("name", "value", "delta", "output")

    def __init__(self, name, value, delta, output=None):
        self.name = name
        self.value = value
        self.delta = delta
        self.output = output

    @property
    def c_code(self):
        return "PN_" + self.name.upper()

    def __repr__(self):
        return "Loss(%r)" % self.name


LOSSES = {loss.name: loss for loss in (
    Loss("mse", _mse, _mse_delta),
    Loss("binary_crossentropy", _bce, _bce_delta, output="sigmoid"),
    Loss("categorical_crossentropy", _cce, _cce_delta, output="softmax"),
)}


def loss(name, what="loss"):
    """The :class:`Loss` called ``name``."""
    return _choose(LOSSES, name, what)


# -- optimizers -------------------------------------------------------------------

class OptimizerKind:
    """One optimizer: its name, C code and number of state buffers (each laid
    out like the flat parameters).  Its settings are plainnet._training's
    Optimizer classes; its step is written in each backend."""

    __slots__ = ("name", "n_buffers")

    def __init__(self, name, n_buffers):
        self.name = name
        self.n_buffers = n_buffers

    @property
    def c_code(self):
        return "PN_OPT_" + self.name.upper()

    def __repr__(self):
        return "OptimizerKind(%r)" % self.name


OPTIMIZERS = {o.name: o for o in (
    OptimizerKind("sgd", 0),
    OptimizerKind("momentum", 1),
    OptimizerKind("adam", 2),
)}


def optimizer_kind(name, what="optimizer"):
    """The :class:`OptimizerKind` called ``name``."""
    return _choose(OPTIMIZERS, name, what)
