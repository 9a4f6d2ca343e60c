"""Scalar maths shared by the public functions and the pure-Python backend.

Every formula here has a twin in ``csrc/plainnet.c`` that performs the same
floating-point operations in the same order, so that both backends return the
same bits.  Change one, change the other, and the parity tests will tell.
"""

from math import exp, log, log1p, tanh

__all__ = [
    "ACTIVATIONS",
    "LOSSES",
    "LEAKY_SLOPE",
    "sigmoid",
    "deriv_sigmoid",
    "activate",
    "derivative_from_output",
]

#: Activation names, in the order of their codes in the C core.
ACTIVATIONS = ("sigmoid", "tanh", "relu", "leaky_relu", "linear", "softmax")
#: Loss names, in the order of their codes in the C core.
LOSSES = ("mse", "binary_crossentropy", "categorical_crossentropy")
#: Slope of leaky_relu for negative inputs.
LEAKY_SLOPE = 0.01


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


def _relu(z):
    return z if z > 0.0 else 0.0


def _leaky_relu(z):
    return z if z > 0.0 else LEAKY_SLOPE * z


def _linear(z):
    return z


ELEMENTWISE = {
    "sigmoid": sigmoid,
    "tanh": tanh,
    "relu": _relu,
    "leaky_relu": _leaky_relu,
    "linear": _linear,
}


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


def activate(name, z):
    """Apply activation ``name`` to the list of pre-activations ``z``."""
    if name == "softmax":
        return softmax(z)
    f = ELEMENTWISE[name]
    return [f(v) for v in z]


def _d_sigmoid(y):
    return y * (1.0 - y)


def _d_tanh(y):
    return 1.0 - y * y


def _d_relu(y):
    return 1.0 if y > 0.0 else 0.0


def _d_leaky_relu(y):
    return 1.0 if y > 0.0 else LEAKY_SLOPE


def _d_linear(y):
    return 1.0


#: Derivative of each element-wise activation, written in terms of its output
#: y = f(z), which is what backpropagation has at hand.
derivative_from_output = {
    "sigmoid": _d_sigmoid,
    "tanh": _d_tanh,
    "relu": _d_relu,
    "leaky_relu": _d_leaky_relu,
    "linear": _d_linear,
}


def sample_loss(loss, t, y, z):
    """Loss of one sample: targets ``t``, outputs ``y``, output pre-activations ``z``.

    mse is the mean over outputs of the squared error.  The cross-entropies are
    computed from the pre-activations, so they stay finite even when an output
    rounds to exactly 0 or 1.
    """
    acc = 0.0
    if loss == "mse":
        for tk, yk in zip(t, y):
            d = tk - yk
            acc += d * d
        return acc / len(y)
    if loss == "binary_crossentropy":
        # -[t log s(z) + (1 - t) log(1 - s(z))] = max(z, 0) - z t + log(1 + e^-|z|)
        for tk, zk in zip(t, z):
            acc += ((zk if zk > 0.0 else 0.0) - zk * tk) + log1p(exp(-abs(zk)))
        return acc / len(z)
    # categorical cross-entropy: -sum t log softmax(z), with log-sum-exp.
    m = z[0]
    for v in z:
        if v > m:
            m = v
    s = 0.0
    for v in z:
        s += exp(v - m)
    lse = m + log(s)
    for tk, zk in zip(t, z):
        acc += tk * (lse - zk)
    return acc


def output_delta(loss, activation, t, y):
    """dL/dz for the output layer of one sample (z: the output pre-activations)."""
    n = len(y)
    if loss == "binary_crossentropy":  # with a sigmoid output layer
        return [(yk - tk) / n for tk, yk in zip(t, y)]
    if loss == "categorical_crossentropy":  # with a softmax output layer
        return [yk - tk for tk, yk in zip(t, y)]
    # mse: dL/dy = -2 (t - y) / n, then through the activation.
    g = [(-2.0 * (tk - yk)) / n for tk, yk in zip(t, y)]
    if activation == "softmax":
        dot = 0.0
        for gk, yk in zip(g, y):
            dot += gk * yk
        return [yk * (gk - dot) for gk, yk in zip(g, y)]
    d = derivative_from_output[activation]
    return [gk * d(yk) for gk, yk in zip(g, y)]
