"""A trained network as standalone source code: C99, or Python that needs only math.

The generated ``predict`` performs the floating-point operations of plainnet's
backends in the same order (the order contract in ``_contract``), so on the
same machine it returns the same bits as ``Network.feedforward``:

* inputs scaled, when the network has a scaler, as ``(x - mean) / scale``;
* pre-activation: ``z = ((0.0 + w[0]*a[0]) + w[1]*a[1]) + ...``, then ``z + b``;
* each activation as its registry record writes it (``_registry``: ``c`` for
  C, ``py`` for Python);
* softmax: m = the first largest z, e_k = exp(z_k - m), s = 0.0 + e_0 + e_1 + ...,
  y_k = e_k / s.

Weights are written so that they parse back to the same doubles: C gets 17
significant digits, Python gets ``repr``.
"""

import re

from . import _ctext, _registry
from ._contract import n_parameters
from ._version import __version__

__all__ = ["export_c", "export_python"]

_C_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_C_KEYWORDS = frozenset(
    "auto break case char const continue default do double else enum extern float for goto if "
    "inline int long register restrict return short signed sizeof static struct switch typedef "
    "union unsigned void volatile while _Bool _Complex _Imaginary".split()
)
#: Buffers of predict() up to this many bytes live on the stack, larger ones are static.
_MAX_STACK_BYTES = 65536
_COMPILE = "cc -std=c99 -O2 -ffp-contract=off model.c -lm"


# -- C ------------------------------------------------------------------------

def _c_double(v):
    """A C literal for ``v`` that parses back to the same double (17 significant digits)."""
    text = "%.17g" % v
    if "." not in text and "e" not in text:
        text += ".0"  # keeps -0.0 negative, and every literal a double
    return text


def _c_array(values, indent):
    """Numbers as C initialiser lines, a few per line."""
    items = [_c_double(v) for v in values]
    lines = []
    for k in range(0, len(items), 4):
        lines.append(indent + ", ".join(items[k:k + 4]) + ",")
    lines[-1] = lines[-1][:-1]
    return lines


def _c_activation(act, dst, n):
    """C statements applying ``act`` to z[0..n) into ``dst``."""
    if act == "softmax":
        return [
            "    {",
            "        double m = z[0], s = 0.0;",
            "        for (j = 1; j < %d; j++)" % n,
            "            if (z[j] > m)",
            "                m = z[j];",
            "        for (j = 0; j < %d; j++) {" % n,
            "            %s[j] = exp(z[j] - m);" % dst,
            "            s += %s[j];" % dst,
            "        }",
            "        for (j = 0; j < %d; j++)" % n,
            "            %s[j] = %s[j] / s;" % (dst, dst),
            "    }",
        ]
    body = ["        %s[j] = %s;" % (dst, _registry.activation(act).c.format(z="z[j]"))]
    return ["    for (j = 0; j < %d; j++) {" % n] + body + ["    }"]


def export_c(net, name="plainnet_model", precision=None, quantize=None, calibration=None):
    """C99 source defining ``void NAME_predict(input, output)``.

    ``precision`` "float64" (the default): doubles, bit-exact with feedforward;
    "float32": floats (``_export_mcu``).  ``quantize="int8"`` with
    ``calibration`` rows: int8 weights and integer arithmetic (``_export_mcu``).
    """
    if not isinstance(name, str) or not _C_NAME.match(name) or name in _C_KEYWORDS:
        raise ValueError("name must be a C identifier such as 'plainnet_model', not %r" % (name,))
    if quantize is not None or precision not in (None, "float64") or calibration is not None:
        from ._export_mcu import export_c_mcu
        return export_c_mcu(net, name, precision, quantize, calibration)
    return _export_c_double(net, name)


def _export_c_double(net, name):
    sizes, acts, W, B, scaler = _ctext.parameters(net)
    macro = name.upper()
    n_layers = len(sizes) - 1
    widest = max(sizes[1:])
    libm = sorted({f for a in acts for f in _registry.activation(a).libm})
    buffer_bytes = 8 * (min(n_layers, 3) * widest + (sizes[0] if scaler is not None else 0))
    # Beyond this the buffers are static: a wide layer on the stack overflowed
    # the default 8 MiB stack (an allowed [1, 600000, 1] network crashed).
    on_stack = buffer_bytes <= _MAX_STACK_BYTES
    storage = "    double" if on_stack else "    static double"
    out = [
        "/* %s: a feed-forward neural network exported by plainnet %s." % (name, __version__),
        " *",
        " * Architecture: %s (%d weights and biases)." % (_ctext.architecture(sizes, acts), n_parameters(sizes)),
        " * %s_predict(input, output) reads %s_N_INPUTS doubles and writes" % (name, macro),
        " * %s_N_OUTPUTS; it allocates nothing and needs only <math.h>%s." % (
            macro, " (%s)" % ", ".join(libm) if libm else ""),
        " *",
        " * It repeats plainnet's floating-point operations in plainnet's order, so it",
        " * returns the same bits as Network.feedforward on the same machine, provided",
        " * the compiler neither fuses a*b+c nor reorders sums.  Compile with",
        " *",
        " *     %s" % _COMPILE,
        " *",
        " * and never with -ffast-math (on 32-bit x86, add -msse2 -mfpmath=sse).",
        " *",
        " * Memory, computed from the layer sizes: %d bytes of weights and biases%s" % (
            8 * n_parameters(sizes) + (16 * sizes[0] if scaler is not None else 0),
            " and scaler" if scaler is not None else ""),
        (" * (flash), no static data, and %d bytes of stack for its buffers (%s) plus"
         if on_stack else
         " * (flash), %d bytes of static buffers (%s: predict is not reentrant), and"
         ) % (buffer_bytes,
              ", ".join((["x"] if scaler is not None else []) + list("zab"[:min(n_layers, 3)]))),
        " * its frame.  On a single-precision FPU (Cortex-M4F) or none, every double",
        " * operation is a runtime routine: export_c(name, precision=\"float32\") is",
        " * half the flash and much faster there.",
        " */",
    ]
    out += _ctext.prelude(name, sizes, "math.h", "double")
    out += _ctext.scaler_tables(name, scaler, sizes[0], "double", _c_array)
    out += _ctext.layer_tables(name, sizes, acts, W, B, "double", _c_array)
    out += [
        "void %s_predict(const double *input, double *output)" % name,
        "{",
        "    /* z: one layer's pre-activations; a, b: layer outputs, in turn */",
        "%s %s;" % (storage, ", ".join("%s[%d]" % (v, widest) for v in "zab"[:min(n_layers, 3)])),
        "    const double *in = input;",
        "    int i, j;",
        "",
    ]
    if scaler is not None:
        out[-5:-4] = ["    /* x: scaled inputs; z: one layer's pre-activations; a, b: layer outputs, in turn */",
                      "%s x[%d];" % (storage, sizes[0])]
        out += [
            "    for (i = 0; i < %d; i++)" % sizes[0],
            "        x[i] = (input[i] - %s_mean[i]) / %s_scale[i];" % (name, name),
            "    in = x;",
            "",
        ]
    for l in range(n_layers):
        n_in, n_out = sizes[l], sizes[l + 1]
        if l == n_layers - 1:
            dst = "output"
        else:
            dst = "a" if l % 2 == 0 else "b"
        out += [
            "    /* layer %d */" % (l + 1),
            "    for (j = 0; j < %d; j++) {" % n_out,
            "        double s = 0.0;",
            "        for (i = 0; i < %d; i++)" % n_in,
            "            s += %s_w%d[j][i] * in[i];" % (name, l + 1),
            "        z[j] = s + %s_b%d[j];" % (name, l + 1),
            "    }",
        ]
        out += _c_activation(acts[l], dst, n_out)
        if l < n_layers - 1:
            out.append("    in = %s;" % dst)
        out.append("")
    out[-1] = "}"
    out.append("")
    return "\n".join(out)


# -- Python -------------------------------------------------------------------

_PY_SOFTMAX = [
    "def _softmax(z):",
    "    m = z[0]",
    "    for v in z:",
    "        if v > m:",
    "            m = v",
    "    e = [exp(v - m) for v in z]",
    "    s = 0.0",
    "    for v in e:",
    "        s += v",
    "    return [v / s for v in e]",
]


def _py_activation(act):
    """The exported module's function for one activation."""
    if act == "softmax":
        return _PY_SOFTMAX
    return ["def _%s(z):" % act, "    return %s" % _registry.activation(act).py.format(z="z")]


def _py_rows(rows, indent):
    lines = []
    for row in rows:
        lines.append(indent + "(" + ", ".join(repr(v) for v in row) + ("," if len(row) == 1 else "") + "),")
    return lines


def export_python(net):
    """Source of a module, needing only ``math``, with ``predict(row) -> list``."""
    sizes, acts, W, B, scaler = _ctext.parameters(net)
    out = [
        '"""A feed-forward neural network exported by plainnet %s.' % __version__,
        "",
        "Architecture: %s (%d weights and biases)." % (_ctext.architecture(sizes, acts), n_parameters(sizes)),
        "predict(row) takes N_INPUTS numbers and returns a list of N_OUTPUTS floats,",
        "the same floats as plainnet's Network.feedforward on the same machine.",
        "Needs only the math module, so it also runs where plainnet is not installed.",
        '"""',
        "",
        "import math",
        "",
        "N_INPUTS = %d" % sizes[0],
        "N_OUTPUTS = %d" % sizes[-1],
    ]
    # Only the names this network's activations use: MicroPython's math, for
    # one, has no log1p.
    templates = " ".join(_registry.activation(a).py or "exp(" for a in set(acts))
    used = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", templates))
    if "sigmoid" in used:
        used.add("exp")
    for fn in ("exp", "log1p", "tanh"):
        if fn in used:
            out.append("%s = math.%s" % (fn, fn))
    for constant in ("LEAKY", "GELU_K", "GELU_C"):
        if constant in used:
            out.append("%s = %r" % (constant, _registry.PY_NAMES[constant]))
    out += ["", ""]
    if "sigmoid" in used:
        out += ["def sigmoid(z):",
                "    if z >= 0.0:",
                "        return 1.0 / (1.0 + exp(-z))",
                "    e = exp(z)",
                "    return e / (1.0 + e)",
                "", ""]
    for a in _registry.ACTIVATIONS:
        if a in acts:
            out += _py_activation(a) + ["", ""]
    if scaler is not None:
        out.append("# Inputs are standardised as (x - MEAN[i]) / SCALE[i] before the first layer.")
        out += _py_rows([scaler[0]], "MEAN = ")
        out += _py_rows([scaler[1]], "SCALE = ")
        out[-2] = out[-2][:-1]
        out[-1] = out[-1][:-1]
        out.append("")
    out.append("# One (weights, biases, activation) per layer; weights[j][i] feeds input i to neuron j.")
    out.append("LAYERS = (")
    for l, act in enumerate(acts):
        out.append("    (  # layer %d: %d inputs -> %d %s" % (l + 1, sizes[l], sizes[l + 1], act))
        out.append("        (")
        out += _py_rows(W[l], "            ")
        out.append("        ),")
        out += _py_rows([B[l]], "        ")
        out.append("        _%s," % act)
        out.append("    ),")
    out += [
        ")",
        "",
        "",
        "def predict(row):",
        '    """The outputs of the network for one row of N_INPUTS numbers."""',
        "    a = [float(v) for v in row]",
        "    if len(a) != N_INPUTS:",
        '        raise ValueError("expected %d inputs, got %d" % (N_INPUTS, len(a)))',
    ]
    if scaler is not None:
        out.append("    a = [(a[i] - MEAN[i]) / SCALE[i] for i in range(N_INPUTS)]")
    out += [
        "    for weights, biases, activation in LAYERS:",
        "        z = []",
        "        for j in range(len(weights)):",
        "            w = weights[j]",
        "            s = 0.0",
        "            for i in range(len(w)):",
        "                s += w[i] * a[i]",
        "            z.append(s + biases[j])",
    ]
    if "softmax" in acts:
        out += [
            "        if activation is _softmax:",
            "            a = _softmax(z)",
            "        else:",
            "            a = [activation(v) for v in z]",
        ]
    else:
        out.append("        a = [activation(v) for v in z]")
    out += ["    return a", ""]
    return "\n".join(out)
