"""The C backend returns the same bits as the Python backend, compared with ==.

Outputs, predictions, losses, gradients, per-epoch losses, trained weights and
divergence, for every activation and loss, on the tutorial's network and on
random networks drawn by hypothesis.
"""

import math
import random
import threading

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import plainnet
from plainnet import _registry

from conftest import TUTORIAL_DATA, TUTORIAL_TARGETS, both_backends

pytestmark = pytest.mark.skipif(
    "c" not in plainnet.available_backends(), reason="the C backend is not built here"
)

# (hidden activation, output activation, loss): every activation and every loss.
COMBOS = [(a, a, "mse") for a in _registry.ACTIVATIONS if a != "softmax"] + [
    ("sigmoid", "softmax", "mse"),
    ("tanh", "sigmoid", "binary_crossentropy"),
    ("relu", "softmax", "categorical_crossentropy"),
    ("leaky_relu", "linear", "mse"),
    ("linear", "sigmoid", "binary_crossentropy"),
]


def pair(sizes, seed, hidden="sigmoid", output=None, loss="mse"):
    """The same network on both backends: (python, c)."""
    return both_backends(sizes, seed, activation=hidden, output_activation=output, loss=loss)


def same(a, b):
    """Same bits: repr is exact for floats, tells -0.0 from 0.0, and NaN equals NaN."""
    assert repr(a) == repr(b)


def same_state(py, c):
    same(py.weights, c.weights)
    same(py.biases, c.biases)


def outcome(net, X, T, **kw):
    """What train returns, or what its TrainingDiverged says."""
    try:
        return list(net.train(X, T, **kw))
    except plainnet.TrainingDiverged as exc:
        return ("diverged", str(exc), exc.epoch, exc.losses)


def check_everything(py, c, X, T, epochs, lr):
    same_state(py, c)
    for x in X:
        same(py.feedforward(x), c.feedforward(x))
    same(py.predict(X), c.predict(X))
    same(py.loss(X, T), c.loss(X, T))
    for x, t in zip(X, T):
        same(py.gradients(x, t), c.gradients(x, t))
    same(outcome(py, X, T, epochs=epochs, learning_rate=lr),
         outcome(c, X, T, epochs=epochs, learning_rate=lr))
    same_state(py, c)
    same(py.predict(X), c.predict(X))


def targets_for(rng, n, n_out, output, loss):
    if loss == "categorical_crossentropy":
        hot = [rng.randrange(n_out) for _ in range(n)]  # one class per row: one-hot rows
        return [[1.0 if k == h else 0.0 for k in range(n_out)] for h in hot]
    if loss == "binary_crossentropy" or output in ("sigmoid", "softmax"):
        return [[rng.random() for _ in range(n_out)] for _ in range(n)]
    return [[rng.uniform(-2.0, 2.0) for _ in range(n_out)] for _ in range(n)]


def test_tutorial_network():
    py, c = pair([2, 2, 1], seed=0)
    check_everything(py, c, TUTORIAL_DATA, [[t] for t in TUTORIAL_TARGETS], 1000, 0.1)
    assert py.feedforward([-7.0, -3.0]) == c.feedforward([-7.0, -3.0])


# [21, 29, 13, 5]: widths of 16, 8, 4 and 1 exercise every SIMD block size of
# the C kernels; [7, 3, 2, 3]: layers narrower than 4 train on the C core's
# scalar path.
@pytest.mark.parametrize("sizes", [[21, 29, 13, 5], [7, 3, 2, 3]], ids=["wide", "narrow"])
@pytest.mark.parametrize("hidden,output,loss", COMBOS)
def test_every_activation_and_loss(hidden, output, loss, sizes):
    rng = random.Random(hash((hidden, output, loss)) & 0xFFFF)
    X = [[rng.uniform(-3.0, 3.0) for _ in range(sizes[0])] for _ in range(12)]
    T = targets_for(rng, 12, sizes[-1], output, loss)
    py, c = pair(sizes, seed=7, hidden=hidden, output=output, loss=loss)
    for net in (py, c):  # small weights so that 3 epochs stay finite
        net.set_weights([[[w * 0.2 for w in row] for row in layer] for layer in net.weights],
                        net.biases)
    check_everything(py, c, X, T, 3, 0.01)


finite = st.floats(min_value=-8.0, max_value=8.0, allow_nan=False, allow_infinity=False)


@st.composite
def networks(draw):
    depth = draw(st.integers(1, 3))
    sizes = draw(st.lists(st.integers(1, 18), min_size=depth + 1, max_size=depth + 1))
    hidden, output, loss = draw(st.sampled_from(COMBOS))
    if output == "softmax" and sizes[-1] < 2:  # softmax over one output is refused
        sizes[-1] = 2
    seed = draw(st.integers(0, 2 ** 32 - 1))
    n = draw(st.integers(1, 6))
    X = draw(st.lists(st.lists(finite, min_size=sizes[0], max_size=sizes[0]),
                      min_size=n, max_size=n))
    T = targets_for(random.Random(seed), n, sizes[-1], output, loss)
    epochs = draw(st.integers(1, 3))
    lr = draw(st.floats(min_value=1e-4, max_value=0.5))
    return sizes, hidden, output, loss, seed, X, T, epochs, lr


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(networks())
def test_random_networks(case):
    sizes, hidden, output, loss, seed, X, T, epochs, lr = case
    py, c = pair(sizes, seed, hidden, output, loss)
    check_everything(py, c, X, T, epochs, lr)


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2 ** 32 - 1), st.sampled_from(COMBOS))
def test_numpy_input_gives_the_same_bits(seed, combo):
    np = pytest.importorskip("numpy")
    hidden, output, loss = combo
    rng = random.Random(seed)
    X = [[rng.uniform(-4.0, 4.0) for _ in range(6)] for _ in range(9)]
    T = targets_for(rng, 9, 3, output, loss)
    py, c = pair([6, 5, 3], seed, hidden, output, loss)
    Xa, Ta = np.array(X, dtype=np.float64), np.array(T, dtype=np.float64)
    assert c.predict(Xa) == py.predict(X)
    assert c.loss(Xa, Ta) == py.loss(X, T)
    # a non-contiguous view goes through lists; the bits stay the same
    wide = np.zeros((9, 12))
    wide[:, ::2] = Xa
    assert c.predict(wide[:, ::2]) == py.predict(X)
    assert outcome(c, Xa, Ta, epochs=2, learning_rate=0.01) == outcome(py, X, T, epochs=2,
                                                                        learning_rate=0.01)
    same_state(py, c)


def diverge(net, X, T, **kw):
    with pytest.raises(plainnet.TrainingDiverged) as info:
        net.train(X, T, **kw)
    return info.value


@pytest.mark.parametrize("chunk_seconds", [None, 0.0])
def test_divergence_is_identical(chunk_seconds, monkeypatch):
    """|1 - 2 lr x^2| = 2: the error doubles each step, overflowing after ~100 epochs."""
    if chunk_seconds is not None:  # one C call per row: the in-parts path
        from plainnet import _driver
        monkeypatch.setattr(_driver, "CHUNK_SECONDS", chunk_seconds)
    X = [[1.0]] * 10
    T = [[0.5]] * 10
    errors, states = [], []
    for backend in ("python", "c"):
        net = plainnet.Network.from_weights([[[0.3]]], [[0.0]], backend=backend,
                                            activation="linear")
        errors.append(diverge(net, X, T, epochs=1000, learning_rate=0.75))
        states.append((net.weights, net.biases))
    py, c = errors
    assert py.epoch == c.epoch > 10
    assert py.losses == c.losses and len(py.losses) == py.epoch - 1
    assert str(py) == str(c)
    assert states[0] == states[1]


@pytest.mark.parametrize("sizes,lr", [([5, 6, 4], 0.08), ([3, 2, 1], 0.07)], ids=["wide", "narrow"])
def test_divergence_of_a_deeper_network_is_identical(sizes, lr):
    """Divergence a few epochs in, in one C call: found by the check at the end
    of the call, then replayed epoch by epoch to the same epoch as Python's."""
    rng = random.Random(8)
    X = [[rng.uniform(-2, 2) for _ in range(sizes[0])] for _ in range(7)]
    T = [[rng.uniform(-2, 2) for _ in range(sizes[-1])] for _ in range(7)]
    py, c = pair(sizes, seed=9, hidden="linear", output="linear")
    errors = [diverge(net, X, T, epochs=3000, learning_rate=lr) for net in (py, c)]
    assert errors[0].epoch == errors[1].epoch > 2
    assert str(errors[0]) == str(errors[1]) and errors[0].losses == errors[1].losses
    same_state(py, c)


def test_divergence_in_the_first_epoch_with_a_huge_rate():
    X = [[1e150]]
    T = [[0.0]]
    errors, states = [], []
    for backend in ("python", "c"):
        net = plainnet.Network.from_weights([[[1.0]]], [[0.0]], backend=backend,
                                            activation="linear")
        errors.append(diverge(net, X, T, epochs=5, learning_rate=1e300))
        states.append((net.weights, net.biases))
    assert errors[0].epoch == errors[1].epoch == 1
    assert errors[0].losses == errors[1].losses == []
    assert str(errors[0]) == str(errors[1])
    assert states[0] == states[1] == ([[[1.0]]], [[0.0]])


def test_callback_training_matches():
    rng = random.Random(3)
    X = [[rng.uniform(-1, 1) for _ in range(4)] for _ in range(20)]
    T = [[rng.random()] for _ in range(20)]
    seen = {"python": [], "c": []}
    py, c = pair([4, 6, 1], seed=5)
    for net in (py, c):
        def callback(epoch, loss, log=seen[net.backend]):
            log.append((epoch, loss))
            return epoch < 6
        net.train(X, T, epochs=50, learning_rate=0.2, callback=callback)
    assert seen["python"] == seen["c"] and len(seen["c"]) == 7
    same_state(py, c)


def _training_job(seed):
    rng = random.Random(seed)
    X = [[rng.uniform(-1, 1) for _ in range(16)] for _ in range(300)]
    T = [[rng.random() for _ in range(4)] for _ in range(300)]
    return plainnet.Network([16, 24, 4], seed=seed, backend="c"), X, T


def test_two_threads_training_at_once_equal_one_after_the_other():
    sequential = []
    for seed in (1, 2):
        net, X, T = _training_job(seed)
        losses = net.train(X, T, epochs=40, learning_rate=0.1)
        sequential.append((losses, net.weights, net.biases))
    jobs = [_training_job(seed) for seed in (1, 2)]
    results = [None, None]

    def work(k):
        net, X, T = jobs[k]
        losses = net.train(X, T, epochs=40, learning_rate=0.1)
        results[k] = (losses, net.weights, net.biases)

    threads = [threading.Thread(target=work, args=(k,)) for k in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == sequential


def test_many_threads_predicting_on_one_network():
    net, X, T = _training_job(4)
    expected = (net.predict(X), net.loss(X, T), net.gradients(X[0], T[0]),
                [net.feedforward(x) for x in X])
    results = []

    def work():
        for _ in range(20):
            results.append((net.predict(X), net.loss(X, T), net.gradients(X[0], T[0]),
                            [net.feedforward(x) for x in X]))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 80
    assert all(r == expected for r in results)


@pytest.mark.parametrize("chunk_seconds", [None, 0.0])
@pytest.mark.parametrize("options", [
    {"shuffle": True},
    {"shuffle": True, "lr_schedule": ("step", 2, 0.5)},
    {"lr_schedule": ("exponential", 0.9)},
    {"optimizer": "momentum", "batch_size": 3, "shuffle": True},
    {"optimizer": "adam"},
    {"optimizer": "sgd", "batch_size": 4},
    {"optimizer": "sgd", "batch_size": 17},
    {"optimizer": "sgd", "batch_size": 50},
    {"optimizer": plainnet.SGD(weight_decay=0.01)},
    {"optimizer": plainnet.Momentum(momentum=0.5, nesterov=True, weight_decay=0.001),
     "batch_size": 2, "shuffle": True},
    {"optimizer": plainnet.Adam(beta1=0.8, beta2=0.99, epsilon=1e-6, weight_decay=0.02),
     "batch_size": 5, "lr_schedule": ("step", 3, 0.5)},
])
def test_training_options_match(options, chunk_seconds, monkeypatch):
    if chunk_seconds is not None:
        from plainnet import _driver
        monkeypatch.setattr(_driver, "CHUNK_SECONDS", chunk_seconds)
    rng = random.Random(11)
    X = [[rng.uniform(-1, 1) for _ in range(5)] for _ in range(17)]
    T = [[rng.random(), rng.random()] for _ in range(17)]
    py, c = pair([5, 9, 2], seed=21)
    for _ in range(2):  # twice: the shuffling state and schedule carry over
        assert outcome(py, X, T, epochs=4, learning_rate=0.1, **options) == outcome(
            c, X, T, epochs=4, learning_rate=0.1, **options)
        same_state(py, c)
    assert py._core.get_train_state() == c._core.get_train_state()


# The C core's per-sample SGD updates the first layer's weights together with
# the next sample's forward pass through them (one pass over those weights a
# sample); the last sample of each call into C updates alone.  Shuffled or
# in order, in one call or one row per call, with one layer (the first is the
# output, softmax) or several, with sample weights (the next row is the next
# of weight > 0; zeros first, last and in a run) or without, the bits are
# the Python backend's.
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("chunk_seconds", [None, 0.0])
@pytest.mark.parametrize("shuffle", [False, True])
@pytest.mark.parametrize("sizes,output,loss", [
    ([6, 5], "softmax", "categorical_crossentropy"),
    ([40, 24, 7, 3], None, "mse"),
], ids=["one-layer", "three-layers"])
def test_per_sample_sgd_passing_the_next_row_through_the_update(sizes, output, loss, shuffle,
                                                                chunk_seconds, weighted,
                                                                monkeypatch):
    def weights(rng):
        w = [0.0, 0.0, 1.5] + [rng.choice([0.0, 0.4, 1.0, 2.5]) for _ in range(18)] + [0.0, 0.0]
        w[9:12] = [0.0, 0.0, 0.0]
        return w
    _per_sample_parity(monkeypatch, chunk_seconds, sizes, output, loss, seed=len(sizes),
                       n_rows=23, net_seed=4, weights=weights if weighted else None,
                       epochs=3, learning_rate=0.05, shuffle=shuffle)


def _per_sample_parity(monkeypatch, chunk_seconds, sizes, output, loss, seed, n_rows, net_seed,
                       weights, **kw):
    """Train a Python and a C network alike twice (rows and targets drawn from
    random.Random(seed), then the sample weights from weights(rng) unless it is
    None; calls of about chunk_seconds unless None) and compare their outcomes
    and states each time; returns the pair."""
    if chunk_seconds is not None:
        from plainnet import _driver
        monkeypatch.setattr(_driver, "CHUNK_SECONDS", chunk_seconds)
    rng = random.Random(seed)
    X = [[rng.uniform(-1, 1) for _ in range(sizes[0])] for _ in range(n_rows)]
    T = targets_for(rng, n_rows, sizes[-1], output, loss)
    if weights is not None:
        kw["sample_weight"] = weights(rng)
    py, c = pair(sizes, seed=net_seed, hidden="tanh", output=output, loss=loss)
    for _ in range(2):
        same(outcome(py, X, T, **kw), outcome(c, X, T, **kw))
        same_state(py, c)
    return py, c


# Per-sample training with an optimizer (batch_size=1) runs in the C core as
# the per-sample SGD loop does: each weight's gradient made where its step
# uses it, and the first layer's step running the next row forward.  The
# bits are the Python backend's, with the optimizer state, in one call or one
# row per call (the last row of a call steps alone), with sample weights
# (zeros first, in a run and last: a row of weight 0 makes no step).
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("chunk_seconds", [None, 0.0])
@pytest.mark.parametrize("optimizer", [
    plainnet.Momentum(momentum=0.8, nesterov=True, weight_decay=0.01),
    plainnet.Momentum(momentum=0.9),
    plainnet.Adam(weight_decay=0.001),
    plainnet.SGD(weight_decay=0.02),
], ids=["nesterov-wd", "momentum", "adam-wd", "sgd-wd"])
@pytest.mark.parametrize("sizes,output,loss", [
    ([6, 5], "softmax", "categorical_crossentropy"),
    ([40, 24, 7, 3], None, "mse"),
], ids=["one-layer", "three-layers"])
def test_per_sample_optimizer_steps_passing_the_next_row(sizes, output, loss, optimizer,
                                                         chunk_seconds, weighted, monkeypatch):
    def weights(rng):
        w = [0.0, 1.5] + [rng.choice([0.0, 0.4, 1.0, 2.5, 3.0]) for _ in range(15)] + [0.0, 0.0]
        w[7:10] = [0.0, 0.0, 0.0]
        return w
    py, c = _per_sample_parity(monkeypatch, chunk_seconds, sizes, output, loss,
                               seed=len(sizes) + 7, n_rows=19, net_seed=6,
                               weights=weights if weighted else None, epochs=3,
                               learning_rate=0.02, shuffle=True, optimizer=optimizer,
                               batch_size=1)
    assert py._core.get_train_state() == c._core.get_train_state()


# Adam's second bias correction, sqrt(1 - beta2 ** steps), is exactly 1.0 once
# beta2 ** steps < 2 ** -54 (after some 37,400 steps at beta2 = 0.999; here
# from step 54 on, with beta2 = 0.5), and the core then skips its division
# (x / 1.0 is x).  Across that step, per sample and in batches, with weight
# decay, the bits stay the Python backend's.
@pytest.mark.parametrize("batch_size", [1, 3])
def test_adam_past_the_step_where_its_second_bias_correction_is_one(batch_size):
    assert math.sqrt(1.0 - 0.5 ** 53) < 1.0 == math.sqrt(1.0 - 0.5 ** 54)
    rng = random.Random(batch_size)
    X = [[rng.uniform(-1, 1) for _ in range(5)] for _ in range(30)]
    T = [[rng.random(), rng.random(), rng.random()] for _ in range(30)]
    kw = {"epochs": 6, "learning_rate": 0.01, "batch_size": batch_size, "shuffle": True,
          "optimizer": plainnet.Adam(beta2=0.5, weight_decay=0.01)}
    py, c = pair([5, 7, 3], seed=8, hidden="tanh")
    same(outcome(py, X, T, **kw), outcome(c, X, T, **kw))
    same_state(py, c)
    state = c._core.get_train_state()
    assert state == py._core.get_train_state()
    assert state["b2t"] == 0.5 ** (30 // batch_size * 6) < 0.5 ** 54  # past step 54


@pytest.mark.parametrize("optimizer", ["momentum", "adam", plainnet.SGD(weight_decay=0.1)])
def test_divergence_with_optimizers_is_identical(optimizer):
    X = [[1.0], [2.0], [-1.5]] * 4
    T = [[0.5], [-1.0], [2.0]] * 4
    errors, states = [], []
    for backend in ("python", "c"):
        net = plainnet.Network.from_weights([[[0.3]]], [[0.0]], backend=backend,
                                            activation="linear", seed=5)
        net.train(X, T, epochs=2, learning_rate=0.01, optimizer=optimizer, batch_size=2)
        errors.append(outcome(net, X, T, epochs=300, learning_rate=5.0, optimizer=optimizer,
                              batch_size=2, shuffle=True))
        states.append((net.weights, net.biases, net._core.get_train_state()))
    if optimizer == "momentum":
        assert errors[0][0] == "diverged"
    assert errors[0] == errors[1]
    assert states[0] == states[1]
