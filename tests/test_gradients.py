"""Backpropagation against central finite differences, for every activation and loss."""

import random
import zlib

import pytest

import plainnet as pn

ARCHITECTURES = [[1, 1], [2, 2, 1], [3, 5, 2], [4, 3, 3, 2], [2, 6, 5, 4, 3]]
CASES = [
    ("sigmoid", None, "mse"),
    ("tanh", None, "mse"),
    ("relu", "linear", "mse"),
    ("leaky_relu", "sigmoid", "mse"),
    ("linear", "tanh", "mse"),
    ("tanh", "softmax", "mse"),
    ("sigmoid", "sigmoid", "binary_crossentropy"),
    ("relu", "softmax", "categorical_crossentropy"),
    ("softplus", "linear", "mse"),
    ("silu", "silu", "mse"),
    ("gelu", "gelu", "mse"),
    ("gelu", "softmax", "categorical_crossentropy"),
    ("silu", "sigmoid", "binary_crossentropy"),
    ("tanh", "softplus", "mse"),
]


def _sample(sizes, loss, rng):
    x = [rng.uniform(-2, 2) for _ in range(sizes[0])]
    if loss == "categorical_crossentropy":
        y = [0.0] * sizes[-1]
        y[rng.randrange(sizes[-1])] = 1.0
    else:
        y = [rng.uniform(0, 1) for _ in range(sizes[-1])]
    return x, y


def _numeric_gradients(net, x, y, h=1e-6):
    weights, biases = net.weights, net.biases

    def loss_with(W, B):
        probe = pn.Network.from_weights(W, B, backend="python", activation=net.activations,
                                        loss=net.loss_name)
        return probe.loss([x], [y])

    wg = []
    for l, layer in enumerate(weights):
        rows = []
        for j, row in enumerate(layer):
            grads = []
            for i in range(len(row)):
                plus = [[list(r) for r in L] for L in weights]
                minus = [[list(r) for r in L] for L in weights]
                plus[l][j][i] += h
                minus[l][j][i] -= h
                grads.append((loss_with(plus, biases) - loss_with(minus, biases)) / (2 * h))
            rows.append(grads)
        wg.append(rows)
    bg = []
    for l, layer in enumerate(biases):
        grads = []
        for j in range(len(layer)):
            plus = [list(b) for b in biases]
            minus = [list(b) for b in biases]
            plus[l][j] += h
            minus[l][j] -= h
            grads.append((loss_with(weights, plus) - loss_with(weights, minus)) / (2 * h))
        bg.append(grads)
    return wg, bg


def _flat(nested):
    out = []
    for item in nested:
        if isinstance(item, list):
            out.extend(_flat(item))
        else:
            out.append(item)
    return out


@pytest.mark.parametrize("sizes", ARCHITECTURES, ids=lambda s: "-".join(map(str, s)))
@pytest.mark.parametrize("activation,output,loss", CASES)
def test_gradients_match_finite_differences(backend, sizes, activation, output, loss):
    if output == "softmax" and sizes[-1] == 1:
        pytest.skip("softmax over one output is constant")
    rng = random.Random(zlib.crc32(repr((sizes, activation, output, loss)).encode()))
    net = pn.Network(sizes, seed=rng.randrange(1000), backend=backend, activation=activation,
                     output_activation=output, loss=loss)
    for _ in range(2):
        x, y = _sample(sizes, loss, rng)
        wg, bg = net.gradients(x, y)
        nwg, nbg = _numeric_gradients(net, x, y)
        got, want = _flat(wg) + _flat(bg), _flat(nwg) + _flat(nbg)
        assert len(got) == len(want) == net.n_parameters
        for g, n in zip(got, want):
            assert g == pytest.approx(n, rel=1e-5, abs=1e-8)


def test_one_sgd_step_is_weights_minus_rate_times_gradient(backend):
    net = pn.Network([3, 4, 2], seed=5, backend=backend, activation="tanh")
    x, y = [0.5, -1.0, 2.0], [0.25, 0.75]
    wg, bg = net.gradients(x, y)
    before_w, before_b = net.weights, net.biases
    net.train([x], [y], epochs=1, learning_rate=0.1)
    for after, before, g in zip(_flat(net.weights), _flat(before_w), _flat(wg)):
        assert after == pytest.approx(before - 0.1 * g, rel=1e-12, abs=1e-15)
    for after, before, g in zip(_flat(net.biases), _flat(before_b), _flat(bg)):
        assert after == pytest.approx(before - 0.1 * g, rel=1e-12, abs=1e-15)
