"""Bad input: a clear ValueError or TypeError naming the problem, and nothing changed."""

import math
from array import array

import pytest

import plainnet as pn
from conftest import TUTORIAL_DATA, TUTORIAL_TARGETS

NAN, INF = math.nan, math.inf


def _net(backend):
    return pn.Network([2, 2, 1], seed=0, backend=backend)


def _state(net):
    return net.weights, net.biases


# (call, exception, words the message must contain)
CALLS = [
    # feedforward
    (lambda n: n.feedforward([1.0]), ValueError, "x has 1 values, expected 2"),
    (lambda n: n.feedforward([1.0, 2.0, 3.0]), ValueError, "expected 2"),
    (lambda n: n.feedforward([1.0, NAN]), ValueError, "x[1] must be finite"),
    (lambda n: n.feedforward([INF, 1.0]), ValueError, "x[0] must be finite"),
    (lambda n: n.feedforward([1.0, "2"]), TypeError, "x[1] must be a number"),
    (lambda n: n.feedforward([True, 2.0]), TypeError, "x[0] must be a number"),
    (lambda n: n.feedforward([None, 2.0]), TypeError, "x[0] must be a number"),
    (lambda n: n.feedforward("ab"), TypeError, "x must be a sequence"),
    (lambda n: n.feedforward(3.0), TypeError, "x must be a sequence"),
    (lambda n: n.feedforward([10 ** 400, 1.0]), ValueError, "x[0]"),
    (lambda n: n.feedforward(array("d", [1.0])), ValueError, "expected 2"),
    (lambda n: n.feedforward(b"\x00" * 16), TypeError, "x must be a sequence"),
    # predict
    (lambda n: n.predict([]), ValueError, "rows is empty"),
    (lambda n: n.predict([[1.0, 2.0], [1.0]]), ValueError, "rows row 1 has 1 values, expected 2"),
    (lambda n: n.predict([1.0, 2.0]), TypeError, "flat sequence"),
    (lambda n: n.predict([[1.0, 2.0], [NAN, 0.0]]), ValueError, "rows row 1[0] must be finite"),
    (lambda n: n.predict(None), TypeError, "rows must be a list of rows"),
    # loss
    (lambda n: n.loss(TUTORIAL_DATA, [1, 0, 0]), ValueError, "targets has 3 rows but data has 4"),
    (lambda n: n.loss(TUTORIAL_DATA, [1, 0, 0, "x"]), TypeError, "targets row 3[0] must be a number"),
    (lambda n: n.loss(TUTORIAL_DATA, [[1, 0]] * 4), ValueError, "targets row 0 has 2 values, expected 1"),
    # gradients
    (lambda n: n.gradients([1.0, 2.0], [1.0, 0.0]), ValueError, "y has 2 values, expected 1"),
    (lambda n: n.gradients([1.0, 2.0], NAN), ValueError, "y[0] must be finite"),
    (lambda n: n.gradients([1.0], 1.0), ValueError, "x has 1 values"),
    # train
    (lambda n: n.train([], [], epochs=1), ValueError, "data is empty"),
    (lambda n: n.train(TUTORIAL_DATA, TUTORIAL_TARGETS, epochs=0), ValueError, "epochs must be at least 1"),
    (lambda n: n.train(TUTORIAL_DATA, TUTORIAL_TARGETS, epochs=-5), ValueError, "epochs must be at least 1"),
    (lambda n: n.train(TUTORIAL_DATA, TUTORIAL_TARGETS, epochs=2.5), TypeError, "epochs must be an integer"),
    (lambda n: n.train(TUTORIAL_DATA, TUTORIAL_TARGETS, epochs=True), TypeError, "epochs must be an integer"),
    (lambda n: n.train(TUTORIAL_DATA, TUTORIAL_TARGETS, learning_rate=0), ValueError, "learning_rate must be positive"),
    (lambda n: n.train(TUTORIAL_DATA, TUTORIAL_TARGETS, learning_rate=-0.1), ValueError, "learning_rate must be positive"),
    (lambda n: n.train(TUTORIAL_DATA, TUTORIAL_TARGETS, learning_rate=NAN), ValueError, "learning_rate must be finite"),
    (lambda n: n.train(TUTORIAL_DATA, TUTORIAL_TARGETS, learning_rate="0.1"), TypeError, "learning_rate must be a number"),
    (lambda n: n.train(TUTORIAL_DATA, TUTORIAL_TARGETS, callback=5), TypeError, "callback must be callable"),
    (lambda n: n.train(TUTORIAL_DATA, [1, 0, 0, NAN]), ValueError, "targets row 3[0] must be finite"),
    (lambda n: n.train(TUTORIAL_DATA[:3] + [[1.0]], TUTORIAL_TARGETS), ValueError, "data row 3 has 1 values"),
    # set_weights
    (lambda n: n.set_weights([[[1, 2]]], [[0]]), ValueError, "weights has 1 layers, the network has 2"),
    (lambda n: n.set_weights([[[1, 2], [1, 2]], [[1, 2, 3]]], [[0, 0], [0]]), ValueError, "weights[1][0] has 3 values"),
    (lambda n: n.set_weights([[[1, 2], [1, 2]], [[1, NAN]]], [[0, 0], [0]]), ValueError, "weights[1][0][1] must be finite"),
    (lambda n: n.set_weights([[[1, 2], [1, 2]], [[1, 2]]], [[0, 0], [0, 0]]), ValueError, "biases[1] has 2 values"),
    (lambda n: n.set_weights([[[1, 2], [1, 2]], [[1, 2]]], [[0, 0], ["a"]]), TypeError, "biases[1][0] must be a number"),
]


@pytest.mark.parametrize("call,exc,words", CALLS, ids=[c[2] for c in CALLS])
def test_bad_call_raises_and_changes_nothing(backend, call, exc, words):
    net = _net(backend)
    before = _state(net)
    with pytest.raises(exc) as info:
        call(net)
    assert words in str(info.value)
    assert _state(net) == before
    # And it still works afterwards, with the same bits.
    assert net.feedforward([1.0, 2.0]) == _net(backend).feedforward([1.0, 2.0])


CONSTRUCTORS = [
    (lambda b: pn.Network([2], backend=b), ValueError, "at least an input and an output"),
    (lambda b: pn.Network([], backend=b), ValueError, "at least an input and an output"),
    (lambda b: pn.Network([2, 0, 1], backend=b), ValueError, "sizes[1] must be at least 1"),
    (lambda b: pn.Network([2, 2.0, 1], backend=b), TypeError, "sizes[1] must be an integer"),
    (lambda b: pn.Network([2, True], backend=b), TypeError, "sizes[1] must be an integer"),
    (lambda b: pn.Network("221", backend=b), TypeError, "sizes must be a list"),
    (lambda b: pn.Network([10 ** 5, 10 ** 5, 1], backend=b), ValueError, "MAX_PARAMETERS"),
    (lambda b: pn.Network([2, 1], seed=1.5, backend=b), TypeError, "seed must be an integer"),
    (lambda b: pn.Network([2, 1], backend=b, activation="swish"), ValueError, "unknown activation"),
    (lambda b: pn.Network([2, 2, 1], backend=b, activation="softmax"), ValueError, "softmax is only allowed on the output layer"),
    (lambda b: pn.Network([2, 1], backend=b, loss="hinge"), ValueError, "unknown loss"),
    (lambda b: pn.Network([2, 1], backend=b, loss="categorical_crossentropy"), ValueError, "needs output_activation='softmax'"),
    (lambda b: pn.Network([2, 1], backend=b, output_activation="tanh", loss="binary_crossentropy"), ValueError, "needs output_activation='sigmoid'"),
    (lambda b: pn.Network([2, 1], backend=b, activation=["sigmoid", "tanh"]), ValueError, "one name per layer"),
    (lambda b: pn.Network([2, 1], backend="fortran"), ValueError, "unknown backend"),
    (lambda b: pn.Network.from_weights([], [], backend=b), ValueError, "weights must be a non-empty list"),
    (lambda b: pn.Network.from_weights([[[1, 2]], [[1], [2, 3]]], [[0], [0, 0]], backend=b), ValueError, "weights[1][1] has 2 values, expected 1"),
    (lambda b: pn.Neuron([0, 1], 4).feedforward([2]), ValueError, "inputs has 1 values, expected 2"),
    (lambda b: pn.Neuron([], 4), ValueError, "at least one number"),
    (lambda b: pn.Neuron([0, 1], NAN), ValueError, "bias must be finite"),
    (lambda b: pn.mse_loss([1, 0], [1]), ValueError, "y_true has 2 rows"),
    (lambda b: pn.mse_loss([], []), ValueError, "is empty"),
    (lambda b: pn.mse_loss([1, NAN], [1, 0]), ValueError, "must be finite"),
    (lambda b: pn.mse_loss(5, [1]), TypeError, "y_true must be a sequence"),
]


@pytest.mark.parametrize("call,exc,words", CONSTRUCTORS, ids=[c[2] for c in CONSTRUCTORS])
def test_bad_construction(backend, call, exc, words):
    with pytest.raises(exc) as info:
        call(backend)
    assert words in str(info.value)


def test_sigmoid_rejects_nothing_finite():
    # The public scalar functions accept any finite float without overflow.
    for x in (-1.7976931348623157e308, -5e-324, 5e-324, 1.7976931348623157e308):
        assert 0.0 <= pn.sigmoid(x) <= 1.0
        assert 0.0 <= pn.deriv_sigmoid(x) <= 0.25


def test_huge_and_tiny_magnitudes_are_fine(backend):
    net = _net(backend)
    for x in ([1e300, -1e300], [5e-324, -5e-324], [1e-300, 1e300]):
        y = net.feedforward(x)[0]
        assert 0.0 <= y <= 1.0


def test_divergence_restores_last_finite_epoch(backend):
    net = pn.Network([2, 3, 1], seed=0, backend=backend, activation="linear")
    data = [[1e150, -1e150], [2e150, 1e150]]
    with pytest.raises(pn.TrainingDiverged) as info:
        net.train(data, [1.0, 0.0], epochs=50, learning_rate=1.0)
    err = info.value
    assert "diverged in epoch %d" % err.epoch in str(err)
    assert len(err.losses) == err.epoch - 1
    for layer in net.weights:
        for row in layer:
            assert all(math.isfinite(w) for w in row)
    # The network holds the weights after epoch `err.epoch - 1`: replay that.
    replay = pn.Network([2, 3, 1], seed=0, backend=backend, activation="linear")
    if err.epoch > 1:
        replay.train(data, [1.0, 0.0], epochs=err.epoch - 1, learning_rate=1.0)
    assert replay.weights == net.weights and replay.biases == net.biases


def test_loss_overflow_in_the_last_epoch_is_divergence(backend):
    """Regression (found by test_parity's hypothesis run): the loss overflows to
    inf in the last epoch while the weights stay finite, w = 1 - (1e-300 *
    2e155) * 1e155.  The C core returned that inf as a loss; it must raise, as
    the Python backend does, and keep the weights from before the epoch."""
    net = pn.Network([1, 1], backend=backend, activation="linear")
    net.set_weights([[[1.0]]], [[0.0]])
    for epochs in (1, 2):
        with pytest.raises(pn.TrainingDiverged) as info:
            net.train([[1e155]], [0.0], epochs=epochs, learning_rate=1e-300)
        assert info.value.epoch == 1 and info.value.losses == []
        assert net.weights == [[[1.0]]] and net.biases == [[0.0]]


def test_fast_and_careful_validation_agree(backend):
    """Plain lists of numbers take a fast path; everything else the careful one.
    Both must accept and reject the same inputs, with the same values."""
    net = _net(backend)

    class MyFloat(float):
        pass

    accepted = [
        [[1.0, 2.0], [3, 4]],                    # ints become floats
        [[1e308, 1e308], [1e308, 1e308]],        # the sum overflows: careful path, still finite data
        [[-0.0, 0.0], [5e-324, -5e-324]],
        [[MyFloat(1.5), 2.0], [3.0, 4.0]],       # float subclasses are numbers too
        [(1.0, 2.0), [3.0, 4.0]],                # a tuple row
    ]
    for rows in accepted:
        expected = [[float(v) for v in row] for row in rows]
        assert net.predict(rows) == net.predict(expected)
        assert net.feedforward(rows[0]) == net.feedforward(expected[0])
    rejected = [
        ([[1.0, 2.0], [3.0, True]], TypeError, "rows row 1[1] must be a number"),
        ([[1.0, 2.0], [3.0, "4"]], TypeError, "rows row 1[1] must be a number"),
        ([[1.0, 2.0], [3.0, 10 ** 400]], ValueError, "rows row 1[1] cannot be converted"),
        ([[1.0, 2.0], [3.0, math.inf]], ValueError, "rows row 1[1] must be finite"),
        ([[1.0, 2.0], [-math.inf, math.inf]], ValueError, "rows row 1[0] must be finite"),
        ([[1.0, 2.0], [3.0]], ValueError, "rows row 1 has 1 values, expected 2"),
        ([[1.0, 2.0], None], TypeError, "rows row 1 must be a sequence"),
    ]
    for rows, exc, words in rejected:
        with pytest.raises(exc) as info:
            net.predict(rows)
        assert words in str(info.value)
        with pytest.raises(exc):
            net.feedforward(rows[1])
