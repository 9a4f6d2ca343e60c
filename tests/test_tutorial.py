"""The tutorial's numbers, reproduced on every backend.

Every expected value here is stated in the tutorial (../shared/seed) or follows
from it by hand: see the comments for the derivations.
"""

import math

import pytest

import plainnet as pn
from conftest import EMILY, FRANK, TUTORIAL_DATA, TUTORIAL_TARGETS


def test_sigmoid_of_seven():
    assert pn.sigmoid(7) == 0.9990889488055994


def test_sigmoid_never_overflows():
    for x in (-1e308, -1000.0, -745.2, -710.0, 0.0, 710.0, 1e308):
        y = pn.sigmoid(x)
        assert 0.0 <= y <= 1.0
    assert pn.sigmoid(-1000.0) == 0.0
    assert pn.sigmoid(1000.0) == 1.0
    assert pn.sigmoid(0.0) == 0.5
    # For negative x the alternative branch is the same function:
    assert pn.sigmoid(-3.0) == pytest.approx(1.0 / (1.0 + math.exp(3.0)), rel=1e-15)


def test_deriv_sigmoid():
    assert pn.deriv_sigmoid(0.0) == 0.25
    fx = pn.sigmoid(-3.0)
    assert pn.deriv_sigmoid(-3.0) == fx * (1.0 - fx)


def test_neuron():
    assert pn.Neuron([0, 1], 4).feedforward([2, 3]) == 0.9990889488055994


def test_mse_loss():
    assert pn.mse_loss([1, 0, 0, 1], [0, 0, 0, 0]) == 0.5
    assert pn.mse_loss([[1], [0], [0], [1]], [[0], [0], [0], [0]]) == 0.5
    # Rows: the mean over samples of each sample's mean over outputs.
    assert pn.mse_loss([[1, 0], [0, 0]], [[0, 0], [0, 2]]) == (0.5 + 2.0) / 2


def test_feedforward_example(backend):
    # Every neuron w = [0, 1], b = 0: h1 = h2 = f(3) = 0.9526, o1 = f(h2).
    net = pn.Network.from_weights([[[0, 1], [0, 1]], [[0, 1]]], [[0, 0], [0]], backend=backend)
    assert net.feedforward([2, 3]) == [0.7216325609518421]
    assert net.predict([[2, 3], [2, 3]]) == [[0.7216325609518421]] * 2


def test_loss_of_network_that_always_says_male(backend):
    # Weights 0 and a very negative output bias: the output rounds to 0.0.
    net = pn.Network.from_weights([[[0, 0], [0, 0]], [[0, 0]]], [[0, 0], [-1000]], backend=backend)
    assert net.predict(TUTORIAL_DATA) == [[0.0]] * 4
    assert net.loss(TUTORIAL_DATA, TUTORIAL_TARGETS) == 0.5


def _tutorial_backprop_by_hand():
    """Every partial derivative of the backprop example, derived by hand.

    All weights 1, biases 0, Alice x = (-2, -1), y_true = 1.
    h = f(-3) for both hidden neurons, o = f(2h).
    dL/do = -2(1 - o);  do/dz_o = o(1 - o);  delta_o = dL/do * o(1 - o)
    dL/dw5 = dL/dw6 = delta_o * h;  dL/db3 = delta_o
    delta_h = (w5 * delta_o) * h(1 - h)   (same for both hidden neurons)
    dL/dw1 = dL/dw3 = delta_h * x1;  dL/dw2 = dL/dw4 = delta_h * x2;  dL/db1 = dL/db2 = delta_h
    """
    h = 1.0 / (1.0 + math.exp(3.0))
    o = 1.0 / (1.0 + math.exp(-2.0 * h))
    delta_o = -2.0 * (1.0 - o) * o * (1.0 - o)
    delta_h = delta_o * h * (1.0 - h)
    weights = [[[delta_h * -2.0, delta_h * -1.0]] * 2, [[delta_o * h, delta_o * h]]]
    biases = [[delta_h, delta_h], [delta_o]]
    return h, o, weights, biases


def test_backprop_example(backend):
    net = pn.Network.from_weights([[[1, 1], [1, 1]], [[1, 1]]], [[0, 0], [0]], backend=backend)
    h, o, want_w, want_b = _tutorial_backprop_by_hand()
    # The tutorial's rounded intermediate values.
    assert round(h, 4) == 0.0474
    assert round(o, 3) == 0.524
    # The tutorial rounds o to 0.524 before this step, hence a 1e-3 tolerance.
    assert -2 * (1 - o) == pytest.approx(-0.952, abs=1e-3)
    assert round(o * (1 - o), 3) == 0.249  # d ypred / d h1 = w5 f'(...) with w5 = 1
    assert round(-2 * h * (1 - h), 4) == -0.0904  # d h1 / d w1 = x1 f'(-3)
    assert net.feedforward([-2, -1])[0] == pytest.approx(o, rel=1e-15)

    wg, bg = net.gradients([-2, -1], 1)
    assert wg[0][0][0] == pytest.approx(0.02146953526581111, abs=1e-12)
    assert wg[0][0][0] == pytest.approx(0.0214, abs=1e-4)  # as the tutorial prints it
    for got_layer, want_layer in zip(wg, want_w):
        for got_row, want_row in zip(got_layer, want_layer):
            assert got_row == pytest.approx(want_row, rel=1e-12)
    for got, want in zip(bg, want_b):
        assert got == pytest.approx(want, rel=1e-12)


SEEDS = range(20)
# The tutorial's own code from 20 random starts gave Emily 0.946-0.975 and
# Frank 0.034-0.056 (shared/seed/README.md); a margin of 0.005 each way.
EMILY_BAND = (0.946 - 0.005, 0.975 + 0.005)
FRANK_BAND = (0.034 - 0.005, 0.056 + 0.005)


@pytest.mark.parametrize("seed", SEEDS)
def test_emily_and_frank(backend, seed):
    net = pn.Network([2, 2, 1], seed=seed, backend=backend)
    history = net.train(TUTORIAL_DATA, TUTORIAL_TARGETS, epochs=1000, learning_rate=0.1)
    assert len(history) == 1000
    emily = net.feedforward(EMILY)[0]
    frank = net.feedforward(FRANK)[0]
    assert EMILY_BAND[0] <= emily <= EMILY_BAND[1], emily
    assert FRANK_BAND[0] <= frank <= FRANK_BAND[1], frank
    assert emily > 0.5 and frank < 0.5  # F and M
    # The loss falls overall and ends low.
    assert history[-1] < 0.01
    assert history[-1] < history[0] / 10
    assert max(history[500:]) < history[0]


def test_history_is_mean_of_sample_losses_before_each_update(backend):
    # Two epochs by hand: each sample's loss is measured, then its update applied.
    net = pn.Network([2, 2, 1], seed=3, backend=backend)
    twin = pn.Network.from_weights(net.weights, net.biases, backend="python")
    history = net.train(TUTORIAL_DATA, TUTORIAL_TARGETS, epochs=2, learning_rate=0.1)
    for epoch in range(2):
        total = 0.0
        for x, y in zip(TUTORIAL_DATA, TUTORIAL_TARGETS):
            total += twin.loss([x], [y])
            twin.train([x], [y], epochs=1, learning_rate=0.1)
        assert history[epoch] == total / 4
    assert net.weights == twin.weights and net.biases == twin.biases


def test_seed_reproducible_and_standard_normal(backend):
    a = pn.Network([2, 2, 1], seed=42, backend=backend)
    b = pn.Network([2, 2, 1], seed=42, backend=backend)
    c = pn.Network([2, 2, 1], seed=43, backend=backend)
    assert a.weights == b.weights and a.biases == b.biases
    assert a.weights != c.weights
    # Standard normal: over many parameters, mean ~ 0 and variance ~ 1.
    big = pn.Network([100, 100, 1], seed=1, backend=backend)
    values = [w for layer in big.weights for row in layer for w in row]
    mean = sum(values) / len(values)
    var = sum((v - mean) ** 2 for v in values) / len(values)
    assert abs(mean) < 0.05 and abs(var - 1.0) < 0.05


def test_callback_sees_each_epoch_and_can_stop(backend):
    seen = []

    def cb(epoch, loss):
        seen.append((epoch, loss))
        return epoch < 4  # False after the fifth epoch: stop

    net = pn.Network([2, 2, 1], seed=0, backend=backend)
    history = net.train(TUTORIAL_DATA, TUTORIAL_TARGETS, epochs=100, callback=cb)
    assert [e for e, _ in seen] == [0, 1, 2, 3, 4]
    assert history == [l for _, l in seen]
    ref = pn.Network([2, 2, 1], seed=0, backend=backend)
    assert ref.train(TUTORIAL_DATA, TUTORIAL_TARGETS, epochs=5) == history
    assert ref.weights == net.weights


def test_any_depth_and_width(backend):
    net = pn.Network([3, 5, 4, 2], seed=1, backend=backend)
    assert net.sizes == [3, 5, 4, 2]
    assert [len(l) for l in net.weights] == [5, 4, 2]
    assert [len(l[0]) for l in net.weights] == [3, 5, 4]
    out = net.feedforward([0.1, 0.2, 0.3])
    assert len(out) == 2 and all(0.0 < v < 1.0 for v in out)
    targets = [[0.0, 1.0], [1.0, 0.0]]
    history = net.train([[0, 0, 1], [1, 1, 0]], targets, epochs=300, learning_rate=0.5)
    assert history[-1] < history[0]


def test_repr_and_properties(backend):
    net = pn.Network([2, 2, 1], seed=0, backend=backend)
    assert repr(net) == "Network([2, 2, 1], activation='sigmoid', backend=%r)" % backend
    assert net.backend == backend
    assert net.n_parameters == 9
    w = net.weights
    w[0][0][0] = 123.0  # a copy: the network is unchanged
    assert net.weights[0][0][0] != 123.0
