"""Unrolled training kernels for small networks, for the pure-Python backend.

For a small network (at most ``MAX_PARAMETERS`` weights and biases) trained by
plain per-sample SGD on mse with element-wise activations, the fastest pure
Python is straight-line code on local variables: no lists, no loops inside a
sample.  This module writes that code for one shape and compiles it once.

The text is built only from this module's own templates, layer sizes (ints
that ``Network`` validated) and activation names from a fixed table: no user
data and no file ever becomes code.  The generated statements perform exactly
the operations of ``_py_backend.Core._sgd_mse_epoch`` in the same order, so
the results are the same bits (the parity and tutorial tests check it).
"""

from functools import lru_cache
from math import exp, tanh

__all__ = ["MAX_PARAMETERS", "sgd_mse_epoch"]

#: Networks up to this many weights and biases get an unrolled kernel.
MAX_PARAMETERS = 256


def _neg_sigmoid(z):
    e = exp(z)
    return e / (1.0 + e)


# Activation expressions of a pre-activation ``z``, and derivative expressions
# of an output ``y``: the formulas of _maths, written out.
_ACTIVATE = {
    "sigmoid": "(1.0 / (1.0 + exp(-{z})) if {z} >= 0.0 else neg_sigmoid({z}))",
    "tanh": "tanh({z})",
    "relu": "({z} if {z} > 0.0 else 0.0)",
    "leaky_relu": "({z} if {z} > 0.0 else LEAKY * {z})",
    "linear": "{z}",
}
_DERIVATIVE = {
    "sigmoid": "({y} * (1.0 - {y}))",
    "tanh": "(1.0 - {y} * {y})",
    "relu": "(1.0 if {y} > 0.0 else 0.0)",
    "leaky_relu": "(1.0 if {y} > 0.0 else LEAKY)",
    "linear": "1.0",
}


def _source(sizes, activations):
    L = len(sizes) - 1
    w = lambda l, j, i: "w%d_%d_%d" % (l, j, i)  # noqa: E731 - names, read as maths
    b = lambda l, j: "b%d_%d" % (l, j)  # noqa: E731
    a = lambda l, i: "a%d_%d" % (l, i)  # noqa: E731 - output i of layer l (layer 0: inputs)
    d = lambda l, j: "d%d_%d" % (l, j)  # noqa: E731 - dL/dz of neuron j of layer l
    names = []
    for l in range(L):
        for j in range(sizes[l + 1]):
            names += [w(l, j, i) for i in range(sizes[l])] + [b(l, j)]

    out = ["def epoch(X, T, order, lr, W, B):"]
    for l in range(L):
        for j in range(sizes[l + 1]):
            row = ", ".join(w(l, j, i) for i in range(sizes[l]))
            out.append("    %s, = W[%d][%d]" % (row, l, j))
        out.append("    %s, = B[%d]" % (", ".join(b(l, j) for j in range(sizes[l + 1])), l))
    out.append("    total = 0.0")
    out.append("    for k in order:")
    out.append("        %s, = X[k]" % ", ".join(a(0, i) for i in range(sizes[0])))
    n_out = sizes[-1]
    out.append("        %s, = T[k]" % ", ".join("t%d" % j for j in range(n_out)))
    for l in range(L):
        act = _ACTIVATE[activations[l]]
        for j in range(sizes[l + 1]):
            z = "0.0"
            for i in range(sizes[l]):
                z = "(%s + %s * %s)" % (z, w(l, j, i), a(l, i))
            out.append("        z = %s + %s" % (z, b(l, j)))
            out.append("        %s = %s" % (a(l + 1, j), act.format(z="z")))
    # loss: ((0.0 + e0*e0) + e1*e1 ...) / n, as _maths.sample_loss
    acc = "0.0"
    for j in range(n_out):
        out.append("        e%d = t%d - %s" % (j, j, a(L, j)))
        acc = "(%s + e%d * e%d)" % (acc, j, j)
    out.append("        total += %s / %d" % (acc, n_out))
    der = _DERIVATIVE[activations[-1]]
    for j in range(n_out):
        y = a(L, j)
        out.append("        %s = ((-2.0 * (t%d - %s)) / %d) * %s" % (d(L, j), j, y, n_out, der.format(y=y)))
    for l in range(L, 0, -1):
        n_in = sizes[l - 1]
        if l > 1:  # the sum backpropagated into layer l-1, from the weights before their update
            der = _DERIVATIVE[activations[l - 2]]
            for i in range(n_in):
                g = "0.0"
                for j in range(sizes[l]):
                    g = "(%s + %s * %s)" % (g, w(l - 1, j, i), d(l, j))
                y = a(l - 1, i)
                out.append("        %s = %s * %s" % (d(l - 1, i), g, der.format(y=y)))
        for j in range(sizes[l]):
            out.append("        s = lr * %s" % d(l, j))
            for i in range(n_in):
                out.append("        %s = %s - s * %s" % (w(l - 1, j, i), w(l - 1, j, i), a(l - 1, i)))
            out.append("        %s = %s - s" % (b(l - 1, j), b(l - 1, j)))
    for l in range(L):
        for j in range(sizes[l + 1]):
            out.append("    W[%d][%d] = [%s]" % (l, j, ", ".join(w(l, j, i) for i in range(sizes[l]))))
        out.append("    B[%d] = [%s]" % (l, ", ".join(b(l, j) for j in range(sizes[l + 1]))))
    out.append("    return total")
    return "\n".join(out) + "\n"


@lru_cache(maxsize=64)
def _compiled(sizes, activations):
    from ._maths import LEAKY_SLOPE
    namespace = {"exp": exp, "tanh": tanh, "neg_sigmoid": _neg_sigmoid, "LEAKY": LEAKY_SLOPE}
    code = compile(_source(sizes, activations), "<plainnet kernel %s>" % "-".join(map(str, sizes)), "exec")
    exec(code, namespace)  # our own generated text; see the module docstring
    return namespace["epoch"]


def sgd_mse_epoch(sizes, activations):
    """The unrolled epoch function for this shape, or None if there is none."""
    if sum(a * b + b for a, b in zip(sizes, sizes[1:])) > MAX_PARAMETERS:
        return None
    if any(act not in _ACTIVATE for act in activations):
        return None
    return _compiled(tuple(sizes), tuple(activations))
