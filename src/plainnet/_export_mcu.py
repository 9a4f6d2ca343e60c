"""C for microcontrollers: float32, and int8 quantised, exports of a network.

Both write ``void NAME_predict(const float *input, float *output)``, allocate
nothing and keep their stack bounded; the header comment of each export states
the flash and RAM it needs, computed here from the layer sizes.

float32 (``precision="float32"``)
    Weights, biases and arithmetic in ``float``.  Each activation is its
    registry record's C template (``_registry``: ``c``) made single precision by
    :func:`c_float32`: exp -> expf, tanh -> tanhf, log1p -> log1pf, and every
    literal rounded to a float with an ``f`` suffix.  The scaler is *applied in
    float* as ``(input[i] - mean[i]) / scale[i]``, as the host does, rather than
    folded into the first layer: folding subtracts sum(w * mean / scale) inside
    the bias, which cancels badly in float when a mean is large against its
    scale.  Needs <math.h> (libm) for the activations that call exp, tanh, log1p.

int8 (``quantize="int8"``, ``calibration=rows``)
    The scheme of TensorFlow Lite for Microcontrollers and CMSIS-NN: symmetric
    int8 weights with one scale per output neuron (``w ~ q_w * s_w[j]``), int8
    layer inputs (``a ~ q_a * s_a``), int32 accumulators with int32 biases at
    scale ``s_w[j] * s_a``, and requantisation of each accumulator to an int8
    pre-activation by an integer multiplier and right shift (``M = M0 * 2^-n``,
    rounded half away from zero).  Activations are 255-entry int8 lookup
    tables indexed by the int8 pre-activation (relu and linear need none);
    a softmax output uses a table of exp(-d * s_z) in Q15 for the differences
    d to the largest pre-activation.  The calibration rows fix the ranges: the
    scale of the first layer's input and of every pre-activation is its largest
    magnitude over those rows / 127; each table's output scale is the largest
    magnitude it produces / 127.
    Floating point is used only at the two ends, which needs an FPU (or the
    compiler's soft-float routines), but no libm: the scaler is applied in
    float and the scaled input quantised with its calibrated scale (folding
    the scaler into int8 first-layer weights cost 1.7 points of digits
    accuracy when tried), and the outputs are dequantised to float (softmax:
    one float division per output).  Needs only <stdint.h>.
"""

import math
import re
import struct

from . import _ctext, _registry
from ._contract import n_parameters
from ._version import __version__

__all__ = ["export_c_mcu", "c_float32", "STACK_LIMIT"]

#: Buffers larger than this many bytes in all go to static storage, not the stack.
STACK_LIMIT = 512
#: Bound on the predict function's own frame (saved registers, locals, spills),
#: beyond its buffers, on a 32-bit target; tests measure it with -fstack-usage.
FRAME_BYTES = 64

_F32_FUNCTIONS = {"exp": "expf", "tanh": "tanhf", "log1p": "log1pf"}
_CALL = re.compile(r"\b(%s)(?=\()" % "|".join(_F32_FUNCTIONS))
_LITERAL = re.compile(r"(?<![\w.])(\d+\.\d*(?:[eE][+-]?\d+)?|\d+[eE][+-]?\d+)(?![\w.])")
_TARGET = "arm-none-eabi-gcc -O2 -mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16"


def f32(v):
    """``v`` rounded to the nearest float32, as a Python float."""
    return struct.unpack("<f", struct.pack("<f", v))[0]


def c_float_literal(v):
    """A C float literal (``f`` suffix) that parses to ``v`` rounded to float32."""
    text = "%.9g" % f32(v)
    if "." not in text and "e" not in text and "n" not in text:
        text += ".0"
    return text + "f"


def c_float32(template):
    """A registry C template (double) as single precision: float functions, float literals."""
    text = _CALL.sub(lambda m: _F32_FUNCTIONS[m.group(1)], template)
    return _LITERAL.sub(lambda m: c_float_literal(float(m.group(1))), text)


def _libm32(acts):
    return sorted({_F32_FUNCTIONS[f] for a in acts for f in _registry.activation(a).libm})


def _float_array(values, indent):
    items = [c_float_literal(v) for v in values]
    return _join(items, indent, 6)


def _int_array(values, indent, per_line=16):
    return _join([str(int(v)) for v in values], indent, per_line)


def _join(items, indent, per_line):
    lines = []
    for k in range(0, len(items), per_line):
        lines.append(indent + ", ".join(items[k:k + per_line]) + ",")
    lines[-1] = lines[-1][:-1]
    return lines


def _check_calibration(rows, n_inputs):
    if rows is None:
        raise ValueError("quantize='int8' needs calibration: rows of %d inputs that show the "
                         "range of real data" % n_inputs)
    out = []
    for r, row in enumerate(rows):
        try:
            values = [float(v) for v in row]
        except (TypeError, ValueError):
            raise ValueError("calibration row %d is not a row of numbers" % r) from None
        if len(values) != n_inputs:
            raise ValueError("calibration row %d has %d values; the network takes %d inputs"
                             % (r, len(values), n_inputs))
        if not all(math.isfinite(v) for v in values):
            raise ValueError("calibration row %d has a value that is not finite" % r)
        out.append(values)
    if not out:
        raise ValueError("calibration has no rows")
    return out


def export_c_mcu(net, name, precision, quantize, calibration):
    params = _ctext.parameters(net)
    if quantize is None:
        if calibration is not None:
            raise ValueError("calibration applies to quantize='int8' only")
        if precision != "float32":
            raise ValueError("precision must be 'float64' or 'float32', not %r" % (precision,))
        return _float32(name, *params)
    if quantize != "int8":
        raise ValueError("quantize must be None or 'int8', not %r" % (quantize,))
    if precision not in (None, "float64", "float32"):
        raise ValueError("precision must be 'float64' or 'float32', not %r" % (precision,))
    rows = _check_calibration(calibration, params[0][0])
    return _int8(name, rows, *params)


# -- sizes --------------------------------------------------------------------

def _buffers(name, decls, out):
    """Declare the working buffers (type, var, length, element size): on the stack
    if they total at most STACK_LIMIT bytes, else static.  Returns (bytes, static)."""
    total = sum(n * size for _, _, n, size in decls)
    static = total > STACK_LIMIT
    for ctype, var, n, _ in decls:
        out.append("    %s%s %s[%d];" % ("static " if static else "", ctype, var, n))
    return total, static


def _memory_lines(flash_data, code, libm, buffers, static, what):
    lines = [
        " * Memory, computed from the layer sizes:",
        " *   flash: %d bytes of %s," % (flash_data, what),
        " *          and about %d bytes of code for predict (%s)%s" % (
            code, _TARGET, "," if libm else "."),
    ]
    if libm:
        lines.append(" *          plus libm's %s." % ", ".join(libm))
    tail = ", plus what libm's functions use." if libm else "."
    if static:
        lines += [
            " *   RAM:   %d bytes of static buffers (more than %d bytes, so kept off the" % (buffers, STACK_LIMIT),
            " *          stack; predict is therefore not reentrant); stack at most %d bytes%s" % (
                FRAME_BYTES, tail),
        ]
    else:
        lines += [
            " *   RAM:   no static data; stack at most %d bytes: %d of buffers and at most" % (
                buffers + FRAME_BYTES, buffers),
            " *          %d for the function's frame%s" % (FRAME_BYTES, tail),
        ]
    return lines


def _code_estimate(kind, acts, scaler):
    """Bytes of Thumb-2 code for predict: a fit to arm-none-eabi-size figures with
    _TARGET (within 20 % on the tests' networks, which check it)."""
    if kind == "int8":  # each layer inlines its requantisation
        return 120 + 250 * len(acts) + (120 if acts[-1] == "softmax" else 0) + (40 if scaler else 0)
    per_act = {"linear": 0, "relu": 10, "leaky_relu": 20, "tanh": 30, "sigmoid": 80, "silu": 90,
               "softplus": 60, "gelu": 90, "softmax": 100}
    return 20 + 70 * len(acts) + sum(per_act.get(a, 90) for a in acts) + (40 if scaler else 0)


# -- float32 --------------------------------------------------------------------

def _float_activation(act, dst, n):
    if act == "softmax":
        return [
            "    {",
            "        float m = %s[0], s = 0.0f;" % dst,
            "        for (j = 1; j < %d; j++)" % n,
            "            if (%s[j] > m)" % dst,
            "                m = %s[j];" % dst,
            "        for (j = 0; j < %d; j++) {" % n,
            "            %s[j] = expf(%s[j] - m);" % (dst, dst),
            "            s += %s[j];" % dst,
            "        }",
            "        for (j = 0; j < %d; j++)" % n,
            "            %s[j] = %s[j] / s;" % (dst, dst),
            "    }",
        ]
    return []


def _float32(name, sizes, acts, W, B, scaler):
    macro = name.upper()
    n_layers = len(sizes) - 1
    hidden = sizes[1:-1]
    libm = _libm32(acts)
    decls = []
    if scaler is not None:
        decls.append(("float", "x", sizes[0], 4))
    if hidden:
        for v in "ab"[:min(len(hidden), 2)]:
            decls.append(("float", v, max(hidden), 4))
    flash = 4 * n_parameters(sizes) + (8 * sizes[0] if scaler is not None else 0)
    body = []
    buffers, static = _buffers(name, decls, body)
    out = [
        "/* %s: a feed-forward neural network exported by plainnet %s, in float32." % (name, __version__),
        " *",
        " * Architecture: %s (%d weights and biases)." % (_ctext.architecture(sizes, acts), n_parameters(sizes)),
        " * %s_predict(input, output) reads %s_N_INPUTS floats and writes" % (name, macro),
        " * %s_N_OUTPUTS; it allocates nothing and needs only <math.h>%s." % (
            macro, " (%s)" % ", ".join(libm) if libm else ""),
        " * Weights and arithmetic are single precision, for FPUs such as the Cortex-M4F's;",
        " * %s." % ("inputs are standardised in float as (input[i] - mean[i]) / scale[i]"
                    if scaler is not None else "the network has no input scaler"),
        " * Outputs agree with Network.feedforward to about 1e-6 (float rounding).",
        " *",
    ]
    out += _memory_lines(flash, _code_estimate("float32", acts, scaler is not None), libm, buffers, static,
                         "weights and biases")
    out += [
        " *",
        " * Compile with -O2 (never -ffast-math), e.g. %s." % _TARGET,
        " */",
    ]
    out += _ctext.prelude(name, sizes, "math.h", "float")
    out += _ctext.scaler_tables(name, scaler, sizes[0], "float", _float_array)
    out += _ctext.layer_tables(name, sizes, acts, W, B, "float", _float_array)
    out += [
        "void %s_predict(const float *input, float *output)" % name,
        "{",
        "    /* %s */" % ("x: scaled inputs; a, b: layer outputs, in turn" if scaler is not None
                        else "a, b: layer outputs, in turn"),
    ]
    out += body
    out += ["    const float *in = input;", "    int i, j;", ""]
    if scaler is not None:
        out += [
            "    for (i = 0; i < %d; i++)" % sizes[0],
            "        x[i] = (input[i] - %s_mean[i]) / %s_scale[i];" % (name, name),
            "    in = x;",
            "",
        ]
    for l in range(n_layers):
        n_in, n_out = sizes[l], sizes[l + 1]
        dst = "output" if l == n_layers - 1 else "ab"[l % 2]
        act = acts[l]
        if act == "softmax":
            store = "        %s[j] = s + %s_b%d[j];" % (dst, name, l + 1)
        else:
            z = "s"
            store_expr = c_float32(_registry.activation(act).c).format(z=z)
            store = "        s += %s_b%d[j];\n        %s[j] = %s;" % (name, l + 1, dst, store_expr)
        out += [
            "    /* layer %d */" % (l + 1),
            "    for (j = 0; j < %d; j++) {" % n_out,
            "        float s = 0.0f;",
            "        for (i = 0; i < %d; i++)" % n_in,
            "            s += %s_w%d[j][i] * in[i];" % (name, l + 1),
        ] + store.split("\n") + ["    }"]
        out += _float_activation(act, dst, n_out)
        if l < n_layers - 1:
            out.append("    in = %s;" % dst)
        out.append("")
    out[-1] = "}"
    out.append("")
    return "\n".join(out)


# -- int8 -------------------------------------------------------------------------

def _quantize_multiplier(m):
    """(M0, n) with m ~ M0 * 2^-n, 2^30 <= M0 < 2^31 and 1 <= n <= 62; (0, 1) if m is tiny."""
    if m <= 0.0:
        return 0, 1
    f, e = math.frexp(m)  # m = f * 2^e, 0.5 <= f < 1
    m0 = int(round(f * (1 << 31)))
    if m0 == 1 << 31:
        m0 //= 2
        e += 1
    n = 31 - e
    if n > 62:
        return 0, 1
    if n < 1:
        raise ValueError("a requantisation multiplier of %g is too large for int8: the "
                         "calibration range of a layer is far too small" % m)
    return m0, n


def _round_half_away(v):
    return int(math.floor(abs(v) + 0.5)) * (1 if v >= 0 else -1)


def _clamp(v, lo, hi):
    return lo if v < lo else hi if v > hi else v


def _scale(largest):
    return largest / 127.0 if largest > 0.0 else 1.0 / 127.0


def _plan(rows, sizes, acts, W, B, scaler):
    """The int8 model: for each layer its int8 weights, int32 biases, multipliers and
    shifts, and its activation table, from ranges measured on the calibration rows."""
    n_layers = len(sizes) - 1
    in0 = 0.0
    z_max = [0.0] * n_layers
    for row in rows:
        a = row if scaler is None else [(v - m) / s for v, m, s in zip(row, scaler[0], scaler[1])]
        in0 = max([in0] + [abs(v) for v in a])
        for l in range(n_layers):
            z = []
            for wj, bj in zip(W[l], B[l]):
                s = 0.0
                for w, v in zip(wj, a):
                    s += w * v
                z.append(s + bj)
            if acts[l] == "relu":  # negative pre-activations all become 0
                z_max[l] = max([z_max[l]] + z)
            else:
                z_max[l] = max([z_max[l]] + [abs(v) for v in z])
            if acts[l] == "softmax":
                a = _registry.softmax(z)
            else:
                f = _registry.activation(acts[l]).forward
                a = [f(v) for v in z]
    layers = []
    s_in = _scale(in0)
    input_scale = s_in
    for l in range(n_layers):
        s_z = _scale(z_max[l])
        qw, qb, mult, shift = [], [], [], []
        for wj, bj in zip(W[l], B[l]):
            s_w = _scale(max(abs(w) for w in wj))
            qw.append([_clamp(_round_half_away(w / s_w), -127, 127) for w in wj])
            qb.append(_clamp(_round_half_away(bj / (s_w * s_in)), -(2 ** 31 - 1), 2 ** 31 - 1))
            m0, n = _quantize_multiplier(s_w * s_in / s_z)
            mult.append(m0)
            shift.append(n)
        act = acts[l]
        table = None
        if act in ("relu", "linear"):
            s_y = s_z
        elif act == "softmax":
            # exp(-d * s_z) in Q15 for d = max - z = 0, 1, ...; zeros at the end left off
            table = [_round_half_away(32768.0 * math.exp(-d * s_z)) for d in range(255)]
            while len(table) > 1 and table[-1] == 0:
                table.pop()
            s_y = None
        else:
            f = _registry.activation(act).forward
            ys = [f(q * s_z) for q in range(-127, 128)]
            s_y = _scale(max(abs(y) for y in ys))
            table = [_clamp(_round_half_away(y / s_y), -127, 127) for y in ys]
        layers.append(dict(act=act, qw=qw, qb=qb, mult=mult, shift=shift, s_z=s_z, s_y=s_y, table=table))
        s_in = s_y
    return input_scale, layers


def _int8(name, rows, sizes, acts, W, B, scaler):
    input_scale, layers = _plan(rows, sizes, acts, W, B, scaler)
    macro = name.upper()
    n_layers = len(sizes) - 1
    hidden = sizes[1:-1]
    decls = [("int8_t", "xq", sizes[0], 1)]
    if hidden:
        for v in "ab"[:min(len(hidden), 2)]:
            decls.append(("int8_t", v, max(hidden), 1))
    if acts[-1] == "softmax":
        decls.append(("int32_t", "e", sizes[-1], 4))
    body = []
    buffers, static = _buffers(name, decls, body)
    flash = 0
    for l, layer in enumerate(layers):
        n_out = sizes[l + 1]
        flash += n_out * sizes[l] + 9 * n_out  # int8 weights; int32 bias and multiplier; uint8 shift
        if layer["table"] is not None:
            flash += len(layer["table"]) * (2 if layer["act"] == "softmax" else 1)
    flash += 8 * sizes[0] if scaler is not None else 0
    out = [
        "/* %s: a feed-forward neural network exported by plainnet %s, quantised to int8." % (
            name, __version__),
        " *",
        " * Architecture: %s (%d weights and biases)." % (_ctext.architecture(sizes, acts), n_parameters(sizes)),
        " * %s_predict(input, output) reads %s_N_INPUTS floats and writes %s_N_OUTPUTS" % (
            name, macro, macro),
        " * floats; it allocates nothing, needs only <stdint.h> and no libm.",
        " * Inside: int8 weights, one scale per neuron; int8 activations; int32 sums;",
        " * requantisation by integer multipliers and shifts; activations by lookup",
        " * tables.  Float (an FPU, or soft-float) only at the two ends: %s" % (
            "applying the scaler," if scaler is not None else "quantising the input"),
        " * %s and dequantising the outputs." % (
            ("quantising the input (calibrated scale %.6g)," if scaler is not None
             else "(calibrated scale %.6g),") % input_scale),
        " * Ranges were calibrated on %d rows; values beyond them saturate." % len(rows),
        " *",
    ]
    out += _memory_lines(flash, _code_estimate("int8", acts, scaler is not None), [], buffers, static,
                         "int8 weights, int32 biases, multipliers, shifts and tables")
    out += [
        " *",
        " * Compile with -O2, e.g. %s." % _TARGET,
        " */",
    ]
    out += _ctext.prelude(name, sizes, "stdint.h", "float")
    out += _ctext.scaler_tables(name, scaler, sizes[0], "float", _float_array)
    for l, layer in enumerate(layers):
        n_in, n_out = sizes[l], sizes[l + 1]
        k = l + 1
        out.append("/* layer %d: %d inputs -> %d %s; pre-activation scale %.6g%s */" % (
            k, n_in, n_out, layer["act"], layer["s_z"],
            "" if layer["s_y"] is None else ", output scale %.6g" % layer["s_y"]))
        out.append("static const int8_t %s_w%d[%d][%d] = {" % (name, k, n_out, n_in))
        for j, row in enumerate(layer["qw"]):
            out.append("    {")
            out += _int_array(row, "        ")
            out.append("    }," if j < n_out - 1 else "    }")
        out.append("};")
        out.append("static const int32_t %s_b%d[%d] = {" % (name, k, n_out))
        out += _int_array(layer["qb"], "    ", 8)
        out.append("};")
        out.append("static const int32_t %s_m%d[%d] = {" % (name, k, n_out))
        out += _int_array(layer["mult"], "    ", 8)
        out.append("};")
        out.append("static const uint8_t %s_n%d[%d] = {" % (name, k, n_out))
        out += _int_array(layer["shift"], "    ")
        out.append("};")
        if layer["act"] == "softmax":
            out.append("/* exp(-d * %.6g) in Q15, for d = (largest pre-activation) - (this one) */"
                       % layer["s_z"])
            out.append("static const uint16_t %s_t%d[%d] = {" % (name, k, len(layer["table"])))
            out += _int_array(layer["table"], "    ")
            out.append("};")
        elif layer["table"] is not None:
            out.append("/* %s(q * %.6g) / %.6g for q = -127 .. 127 */" % (
                layer["act"], layer["s_z"], layer["s_y"]))
            out.append("static const int8_t %s_t%d[255] = {" % (name, k))
            out += _int_array(layer["table"], "    ")
            out.append("};")
        out.append("")
    out += [
        "/* round(acc * mult / 2^shift), halves away from zero, saturated to [-127, 127] */",
        "static int32_t %s_requantize(int32_t acc, int32_t mult, int shift)" % name,
        "{",
        "    int64_t p = (int64_t)acc * mult;",
        "    int64_t half = (int64_t)1 << (shift - 1);",
        "    int64_t q = p >= 0 ? (p + half) >> shift : -((half - p) >> shift);",
        "    return q > 127 ? 127 : q < -127 ? -127 : (int32_t)q;",
        "}",
        "",
        "void %s_predict(const float *input, float *output)" % name,
        "{",
        "    /* xq: the quantised input; a, b: int8 layer outputs, in turn%s */" % (
            "; e: exp table values" if acts[-1] == "softmax" else ""),
    ]
    out += body
    out += ["    const int8_t *in = xq;", "    int32_t acc, q;", "    int i, j;", ""]
    x = "(input[i] - %s_mean[i]) / %s_scale[i]" % (name, name) if scaler is not None else "input[i]"
    out += [
        "    for (i = 0; i < %d; i++) {" % sizes[0],
        "        float v = %s * %s;" % (x, c_float_literal(1.0 / input_scale)),
        "        if (v >= 127.0f)",
        "            xq[i] = 127;",
        "        else if (v > -127.0f)",
        "            xq[i] = (int8_t)(v >= 0.0f ? (int32_t)(v + 0.5f) : -(int32_t)(0.5f - v));",
        "        else",
        "            xq[i] = -127;",
        "    }",
        "",
    ]
    for l, layer in enumerate(layers):
        n_in, n_out = sizes[l], sizes[l + 1]
        k = l + 1
        last = l == n_layers - 1
        act = layer["act"]
        dst = "ab"[l % 2]
        out += [
            "    /* layer %d */" % k,
            "    for (j = 0; j < %d; j++) {" % n_out,
            "        acc = %s_b%d[j];" % (name, k),
            "        for (i = 0; i < %d; i++)" % n_in,
            "            acc += (int32_t)%s_w%d[j][i] * in[i];" % (name, k),
            "        q = %s_requantize(acc, %s_m%d[j], %s_n%d[j]);" % (name, name, k, name, k),
        ]
        if act == "softmax":
            out += ["        e[j] = q;", "    }"]
            out += [
                "    {",
                "        int32_t m = e[0], s = 0;",
                "        for (j = 1; j < %d; j++)" % n_out,
                "            if (e[j] > m)",
                "                m = e[j];",
                "        for (j = 0; j < %d; j++) {" % n_out,
                "            int32_t d = m - e[j];",
                "            e[j] = d < %d ? %s_t%d[d] : 0;" % (len(layer["table"]), name, k),
                "            s += e[j];",
                "        }",
                "        for (j = 0; j < %d; j++)" % n_out,
                "            output[j] = (float)e[j] / (float)s;",
                "    }",
            ]
        else:
            if act == "relu":
                y = "(q > 0 ? q : 0)"
            elif act == "linear":
                y = "q"
            else:
                y = "%s_t%d[q + 127]" % (name, k)
            if last:
                out.append("        output[j] = (float)%s * %s;" % (y, c_float_literal(layer["s_y"])))
            else:
                out.append("        %s[j] = (int8_t)%s;" % (dst, y))
            out.append("    }")
        if not last:
            out.append("    in = %s;" % dst)
        out.append("")
    out[-1] = "}"
    out.append("")
    return "\n".join(out)
