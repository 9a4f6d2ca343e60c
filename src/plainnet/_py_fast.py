"""The pure-Python backend's speed paths, proven equal to its reference.

Per-sample SGD on mse with element-wise activations is the tutorial's case and
the common one.  ``sgd_epoch`` gives a function that runs it over a list of
rows: for a small network (at most ``MAX_PARAMETERS`` weights and biases)
straight-line code on local variables, written for that one shape and
compiled once; otherwise a loop over lists with the formulas inlined.  Both
perform exactly the operations of ``_py_backend.Core._sgd_step`` in the same
order, so the results are the same bits (tests/test_py_kernel.py, and the
parity and tutorial tests, check it).

The generated text is built only from this module's own templates, layer
sizes (ints that ``Network`` validated) and the registry's expression
templates: no user data and no file ever becomes code.
"""

from functools import lru_cache, reduce
from operator import add, mul

from . import _registry

__all__ = ["MAX_PARAMETERS", "sgd_epoch"]

#: Networks up to this many weights and biases get an unrolled kernel.
MAX_PARAMETERS = 256
#: Sums of more terms than this are written as a chain of statements: one
#: nested expression would pass the parser's limit of 200 parentheses.
_MAX_NESTED_TERMS = 100


def _sum(out, target, terms, indent="        "):
    """Statements setting ``target`` to ((0.0 + t0) + t1) + ..., in order."""
    if len(terms) <= _MAX_NESTED_TERMS:
        acc = "0.0"
        for t in terms:
            acc = "(%s + %s)" % (acc, t)
        out.append("%s%s = %s" % (indent, target, acc))
        return
    out.append("%s%s = 0.0 + %s" % (indent, target, terms[0]))
    for t in terms[1:]:
        out.append("%s%s = %s + %s" % (indent, target, target, t))


def _source(sizes, activations):
    L = len(sizes) - 1
    acts = [_registry.activation(a) for a in activations]
    w = lambda l, j, i: "w%d_%d_%d" % (l, j, i)  # noqa: E731 - names, read as maths
    b = lambda l, j: "b%d_%d" % (l, j)  # noqa: E731
    a = lambda l, i: "a%d_%d" % (l, i)  # noqa: E731 - output i of layer l (layer 0: inputs)
    z = lambda l, i: "z%d_%d" % (l, i)  # noqa: E731 - pre-activation i of layer l
    d = lambda l, j: "d%d_%d" % (l, j)  # noqa: E731 - dL/dz of neuron j of layer l

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
        for j in range(sizes[l + 1]):
            _sum(out, "s", ["%s * %s" % (w(l, j, i), a(l, i)) for i in range(sizes[l])])
            out.append("        %s = s + %s" % (z(l + 1, j), b(l, j)))
            out.append("        %s = %s" % (a(l + 1, j), acts[l].py.format(z=z(l + 1, j))))
    # loss: ((0.0 + e0*e0) + e1*e1 ...) / n, as the registry's mse
    for j in range(n_out):
        out.append("        e%d = t%d - %s" % (j, j, a(L, j)))
    _sum(out, "s", ["e%d * e%d" % (j, j) for j in range(n_out)])
    out.append("        total += s / %d" % n_out)
    der = acts[-1].py_derivative
    for j in range(n_out):
        y = a(L, j)
        out.append("        %s = ((-2.0 * (t%d - %s)) / %d) * %s"
                   % (d(L, j), j, y, n_out, der.format(z=z(L, j), y=y)))
    for l in range(L, 0, -1):
        n_in = sizes[l - 1]
        if l > 1:  # the sum backpropagated into layer l-1, from the weights before their update
            der = acts[l - 2].py_derivative
            for i in range(n_in):
                _sum(out, "g", ["%s * %s" % (w(l - 1, j, i), d(l, j)) for j in range(sizes[l])])
                out.append("        %s = g * %s"
                           % (d(l - 1, i), der.format(z=z(l - 1, i), y=a(l - 1, i))))
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
    namespace = dict(_registry.PY_NAMES)
    code = compile(_source(sizes, activations), "<plainnet kernel %s>" % "-".join(map(str, sizes)), "exec")
    exec(code, namespace)  # our own generated text; see the module docstring
    return namespace["epoch"]


def _list_epoch(activations):
    """The per-sample SGD epoch on mse over lists, with the formulas inlined."""
    acts = [_registry.activation(a) for a in activations]
    fs = [act.forward for act in acts]
    ders = [act.derivative for act in acts]
    d_out = ders[-1]

    def epoch(X, T, order, lr, W, B):
        last = len(W) - 1
        layers = list(zip(W, B, fs))
        n = len(B[-1])
        total = 0.0
        for k in order:
            a = X[k]
            outs, zs = [a], [None]
            for Wl, bl, f in layers:
                z = [reduce(add, map(mul, row, a), 0.0) + bj for row, bj in zip(Wl, bl)]
                a = [f(v) for v in z]
                outs.append(a)
                zs.append(z)
            acc = 0.0
            for tk, yk in zip(T[k], a):
                e = tk - yk
                acc += e * e
            total += acc / n
            delta = [((-2.0 * (tk - yk)) / n) * d_out(zk, yk) for tk, zk, yk in zip(T[k], zs[-1], a)]
            for l in range(last, -1, -1):
                a, Wl, bl = outs[l], W[l], B[l]
                if l:
                    g = [0.0] * len(a)
                    for row, dj in zip(Wl, delta):
                        g = [gi + w * dj for gi, w in zip(g, row)]
                    d = ders[l - 1]
                    below = [gi * d(zi, ai) for gi, zi, ai in zip(g, zs[l], a)]
                for j, dj in enumerate(delta):
                    s = lr * dj
                    Wl[j] = [w - s * ai for w, ai in zip(Wl[j], a)]
                    bl[j] -= s
                if l:
                    delta = below
        return total
    return epoch


def sgd_epoch(sizes, activations, loss="mse"):
    """epoch(X, T, order, lr, W, B) -> total loss, for per-sample SGD on mse
    with element-wise activations, or None where the reference must run."""
    if loss != "mse" or not all(_registry.activation(a).elementwise for a in activations):
        return None
    if sum(a * b + b for a, b in zip(sizes, sizes[1:])) <= MAX_PARAMETERS:
        return _compiled(tuple(sizes), tuple(activations))
    return _list_epoch(tuple(activations))
