"""Beyond the tutorial: optimizers, mini-batches, shuffling, initialisation,
validation, early stopping, schedules and the scaler, on every backend."""

import math

import pytest

import plainnet as pn
from plainnet import _training
from conftest import TUTORIAL_DATA, TUTORIAL_TARGETS, random_data


def _blob(n_rows=24, n_in=3, n_out=2, seed=0):
    return random_data(n_rows, n_in, n_out, seed)


def _flat(nested):
    out = []
    for item in nested:
        out.extend(_flat(item) if isinstance(item, list) else [item])
    return out


def test_splitmix64_known_answers():
    # splitmix64 from state 0: the published first outputs of the generator
    # (Steele, Lea and Flood 2014; the reference seeding routine of xoshiro).
    state, a = _training.next_random(0)
    state, b = _training.next_random(state)
    assert a == 0xE220A8397B1DCDAF
    assert b == 0x6E789E6AA1B965F4


def test_shuffle_is_a_permutation_and_repeatable():
    order, state = _training.shuffled(10, 12345)
    again, state2 = _training.shuffled(10, 12345)
    assert sorted(order) == list(range(10)) and order == again and state == state2
    assert order != list(range(10))


def test_defaults_keep_the_tutorial(backend):
    a = pn.Network([2, 2, 1], seed=4, backend=backend)
    b = pn.Network([2, 2, 1], seed=4, backend=backend)
    h1 = a.train(TUTORIAL_DATA, TUTORIAL_TARGETS, epochs=20)
    h2 = b.train(TUTORIAL_DATA, TUTORIAL_TARGETS, epochs=20, optimizer="sgd", batch_size=1,
                 shuffle=False, lr_schedule=None)
    assert h1 == h2 and a.weights == b.weights


def test_full_batch_sgd_step_is_mean_gradient(backend):
    data, targets = _blob()
    net = pn.Network([3, 4, 2], seed=1, backend=backend, activation="tanh")
    grads = [net.gradients(x, y) for x, y in zip(data, targets)]
    before = _flat(net.weights) + _flat(net.biases)
    net.train(data, targets, epochs=1, learning_rate=0.5, batch_size=len(data))
    after = _flat(net.weights) + _flat(net.biases)
    per_sample = [_flat(w) + _flat(b) for w, b in grads]
    for k, (p0, p1) in enumerate(zip(before, after)):
        mean = sum(g[k] for g in per_sample) / len(per_sample)
        assert p1 == pytest.approx(p0 - 0.5 * mean, rel=1e-12, abs=1e-14)


def test_momentum_by_hand(backend):
    # Two steps on one sample: buf1 = g1; buf2 = mu*buf1 + g2; p2 = p1 - lr*buf2.
    x, y = [0.3, -0.7], [0.9]
    net = pn.Network([2, 1], seed=2, backend=backend, activation="linear")
    twin = pn.Network([2, 1], seed=2, backend="python", activation="linear")
    p0 = _flat(twin.weights) + _flat(twin.biases)
    g1 = _flat(twin.gradients(x, y)[0]) + _flat(twin.gradients(x, y)[1])
    p1 = [p - 0.1 * g for p, g in zip(p0, g1)]
    twin.set_weights([[p1[:2]]], [p1[2:]])
    g2 = _flat(twin.gradients(x, y)[0]) + _flat(twin.gradients(x, y)[1])
    buf2 = [0.9 * a + b for a, b in zip(g1, g2)]
    p2 = [p - 0.1 * b for p, b in zip(p1, buf2)]
    net.train([x], [y], epochs=2, learning_rate=0.1, optimizer="momentum")
    assert _flat(net.weights) + _flat(net.biases) == pytest.approx(p2, rel=1e-13)


def test_adam_first_step_is_lr_times_sign(backend):
    # Bias-corrected Adam's first step is lr * g / (|g| + eps*...) ~= lr * sign(g).
    x, y = [0.3, -0.7], [0.9]
    net = pn.Network([2, 1], seed=2, backend=backend)
    wg, bg = net.gradients(x, y)
    before = _flat(net.weights) + _flat(net.biases)
    net.train([x], [y], epochs=1, learning_rate=0.01, optimizer="adam")
    after = _flat(net.weights) + _flat(net.biases)
    for p0, p1, g in zip(before, after, _flat(wg) + _flat(bg)):
        assert p1 == pytest.approx(p0 - 0.01 * math.copysign(1.0, g), rel=1e-6)


def test_weight_decay_adds_l2_gradient_to_weights_only(backend):
    x, y = [0.3, -0.7], [0.9]
    net = pn.Network([2, 1], seed=3, backend=backend)
    wg, bg = net.gradients(x, y)
    w0, b0 = net.weights[0][0], net.biases[0]
    net.train([x], [y], epochs=1, learning_rate=0.1, optimizer=pn.SGD(weight_decay=0.01))
    for w, p, g in zip(net.weights[0][0], w0, wg[0][0]):
        assert w == pytest.approx(p - 0.1 * (g + 0.01 * p), rel=1e-13)
    assert net.biases[0][0] == pytest.approx(b0[0] - 0.1 * bg[0][0], rel=1e-13)


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam",
                                       pn.Momentum(0.8, nesterov=True, weight_decay=1e-3),
                                       pn.Adam(0.85, 0.99, 1e-7, weight_decay=1e-4)])
def test_every_optimizer_learns_xor(backend, optimizer):
    data = [[0, 0], [0, 1], [1, 0], [1, 1]]
    targets = [0, 1, 1, 0]
    lr = 0.05 if "adam" in repr(optimizer).lower() else 0.1
    solved = 0
    for seed in range(5):
        net = pn.Network([2, 4, 1], seed=seed, backend=backend, activation="tanh")
        net.train(data, targets, epochs=1500, learning_rate=lr, optimizer=optimizer)
        preds = [round(p[0]) for p in net.predict(data)]
        solved += preds == targets
    assert solved >= 3


def test_xor_tutorial_style_most_seeds_reach_zero_error(backend):
    data = [[0, 0], [0, 1], [1, 0], [1, 1]]
    targets = [0, 1, 1, 0]
    solved = 0
    for seed in range(10):
        net = pn.Network([2, 4, 1], seed=seed, backend=backend)
        net.train(data, targets, epochs=3000, learning_rate=0.5)
        solved += [round(p[0]) for p in net.predict(data)] == targets
    assert solved >= 6, solved


def test_shuffle_changes_order_reproducibly(backend):
    data, targets = _blob()
    runs = []
    for _ in range(2):
        net = pn.Network([3, 4, 2], seed=8, backend=backend)
        runs.append((net.train(data, targets, epochs=3, shuffle=True), net.weights))
    plain = pn.Network([3, 4, 2], seed=8, backend=backend)
    plain.train(data, targets, epochs=3)
    assert runs[0] == runs[1]
    assert runs[0][1] != plain.weights


def test_shuffled_sgd_equals_training_on_the_drawn_order(backend):
    data, targets = _blob(10)
    net = pn.Network([3, 3, 2], seed=5, backend=backend)
    state = net._core.get_train_state()["rng"]
    net.train(data, targets, epochs=2, shuffle=True)
    ref = pn.Network([3, 3, 2], seed=5, backend=backend)
    for _ in range(2):
        order, state = _training.shuffled(len(data), state)
        ref.train([data[k] for k in order], [targets[k] for k in order], epochs=1)
    assert ref.weights == net.weights and ref.biases == net.biases


@pytest.mark.parametrize("init,std", [("xavier", math.sqrt(2.0 / 300)), ("he", math.sqrt(2.0 / 200))])
def test_initialisations(backend, init, std):
    net = pn.Network([200, 100], seed=1, backend=backend, init=init)
    w = _flat(net.weights)
    mean = sum(w) / len(w)
    sd = math.sqrt(sum((v - mean) ** 2 for v in w) / len(w))
    assert abs(mean) < 0.05 * std * 10 and sd == pytest.approx(std, rel=0.05)
    assert _flat(net.biases) == [0.0] * 100
    assert pn.Network([200, 100], seed=1, init=init).weights == net.weights


def test_validation_split_and_history(backend):
    data, targets = _blob(20)
    net = pn.Network([3, 4, 2], seed=2, backend=backend)
    history = net.train(data, targets, epochs=5, validation_split=0.25)
    assert len(history) == 5 and len(history.val_loss) == 5
    ref = pn.Network([3, 4, 2], seed=2, backend=backend)
    for epoch in range(5):
        assert ref.train(data[:15], targets[:15], epochs=1)[0] == history[epoch]
        assert ref.loss(data[15:], targets[15:]) == history.val_loss[epoch]
    assert history.best_epoch == min(range(5), key=history.val_loss.__getitem__)


def test_early_stopping_restores_best_weights(backend):
    # A tiny noisy training set and a large learning rate overfit quickly.
    data, targets = _blob(12, 3, 1, seed=3)
    vdata, vtargets = _blob(12, 3, 1, seed=4)
    net = pn.Network([3, 16, 1], seed=0, backend=backend)
    history = net.train(data, targets, epochs=2000, learning_rate=2.0,
                        validation_data=(vdata, vtargets), early_stopping=5)
    assert history.stopped_early
    assert len(history) == history.best_epoch + 6
    assert net.loss(vdata, vtargets) == min(history.val_loss)


def test_lr_schedules(backend):
    data, targets = _blob(6)
    net = pn.Network([3, 2, 2], seed=6, backend=backend)
    history = net.train(data, targets, epochs=5, learning_rate=0.4, lr_schedule=("step", 2, 0.5))
    ref = pn.Network([3, 2, 2], seed=6, backend=backend)
    expected = [ref.train(data, targets, epochs=1, learning_rate=lr)[0]
                for lr in (0.4, 0.4, 0.2, 0.2, 0.1)]
    assert history == expected and ref.weights == net.weights
    assert _training.learning_rates(1.0, ("exponential", 0.5), 2, 3) == [0.25, 0.125, 0.0625]


def test_a_call_s_learning_rates_are_each_epoch_s_rate_in_every_form():
    """LearningRates (computed when asked for): item, slice and the array the C
    core reads agree with learning_rate() for every epoch, with and without a
    schedule, from any first epoch of the network's life."""
    for schedule in (None, ("step", 3, 0.5), ("exponential", 0.9)):
        rates = _training.LearningRates(0.3, schedule, 7, 10)
        each = [_training.learning_rate(0.3, schedule, 7 + e) for e in range(10)]
        assert [rates[e] for e in range(10)] == each == rates[:] == rates[0:10]
        assert rates[2:6] == each[2:6] and rates[8:20] == each[8:]
        assert list(rates.doubles(2, 5)) == each[2:7] and list(rates.doubles(0, 10)) == each
    with pytest.raises(IndexError):
        rates[10]


def test_scaler_learns_and_is_saved(backend, tmp_path):
    raw = [[133, 65], [160, 72], [152, 70], [120, 60]]  # the tutorial's pounds and inches
    net = pn.Network([2, 2, 1], seed=0, backend=backend)
    net.train(raw, TUTORIAL_TARGETS, epochs=500, scale=True)
    sc = net.scaler
    assert sc.mean == [141.25, 66.75]
    assert sc.scale[0] == pytest.approx(math.sqrt(sum((v - 141.25) ** 2 for v in (133, 160, 152, 120)) / 4))
    # Predictions on raw inputs: Emily 128 lb 63 in -> F, Frank 155 lb 68 in -> M.
    assert net.feedforward([128, 63])[0] > 0.5 > net.feedforward([155, 68])[0]
    # The same as an unscaled twin fed scaled rows.
    twin = pn.Network.from_weights(net.weights, net.biases, backend=backend)
    assert twin.feedforward(sc.transform_row([128.0, 63.0])) == net.feedforward([128, 63])
    path = tmp_path / "m.json"
    net.save(path)
    again = pn.load(path, backend=backend)
    assert again.feedforward([155, 68]) == net.feedforward([155, 68])
    assert again.scaler.mean == sc.mean and again.scaler.scale == sc.scale


@pytest.mark.parametrize("kw", [
    {"optimizer": "adam", "shuffle": True, "batch_size": 3, "lr_schedule": ("exponential", 0.9)},
    {"optimizer": pn.Momentum(0.9, nesterov=True), "shuffle": True},
    {"optimizer": "sgd", "shuffle": True, "lr_schedule": ("step", 2, 0.5)},
])
def test_save_load_then_train_equals_never_stopping(backend, tmp_path, kw):
    data, targets = _blob(10)
    straight = pn.Network([3, 4, 2], seed=9, backend=backend)
    h_straight = straight.train(data, targets, epochs=6, learning_rate=0.05, **kw)
    first = pn.Network([3, 4, 2], seed=9, backend=backend)
    h1 = first.train(data, targets, epochs=3, learning_rate=0.05, **kw)
    first.save(tmp_path / "half.json")
    second = pn.load(tmp_path / "half.json", backend=backend)
    h2 = second.train(data, targets, epochs=3, learning_rate=0.05, **kw)
    assert h1 + h2 == h_straight
    assert second.weights == straight.weights and second.biases == straight.biases
    assert second.epochs_trained == 6


BAD_TRAIN = [
    ({"optimizer": "rmsprop"}, ValueError, "unknown optimizer 'rmsprop'"),
    ({"optimizer": 3}, TypeError, "optimizer must be a name"),
    ({"batch_size": 0}, ValueError, "batch_size must be at least 1"),
    ({"shuffle": "yes"}, TypeError, "shuffle must be True or False"),
    ({"validation_split": 1.0}, ValueError, "validation_split must be in [0, 1)"),
    ({"validation_split": 0.9}, ValueError, "leaves no training or no validation rows"),
    ({"early_stopping": True}, ValueError, "needs validation_data or validation_split"),
    ({"early_stopping": 0, "validation_split": 0.5}, ValueError, "at least 1"),
    ({"validation_data": ([[1, 2]], [1, 0])}, ValueError, "validation targets has 2 rows but data has 1"),
    ({"validation_data": [[1, 2]]}, TypeError, "validation_data must be a pair"),
    ({"lr_schedule": ("cosine",)}, ValueError, "lr_schedule must be"),
    ({"lr_schedule": ("step", 0, 0.5)}, ValueError, "at least 1"),
    ({"lr_schedule": ("exponential", -1.0)}, ValueError, "gamma must be positive"),
]


@pytest.mark.parametrize("kw,exc,words", BAD_TRAIN, ids=[w for _, _, w in BAD_TRAIN])
def test_bad_training_options(backend, kw, exc, words):
    net = pn.Network([2, 2, 1], seed=0, backend=backend)
    before = net.weights, net.biases, net._core.get_train_state()
    with pytest.raises(exc) as info:
        net.train(TUTORIAL_DATA, TUTORIAL_TARGETS, epochs=2, **kw)
    assert words in str(info.value)
    assert (net.weights, net.biases, net._core.get_train_state()) == before
    assert net.scaler is None and net.epochs_trained == 0


def test_bad_optimizer_settings():
    with pytest.raises(ValueError, match="momentum must be in"):
        pn.Momentum(1.5)
    with pytest.raises(TypeError, match="nesterov must be True or False"):
        pn.Momentum(0.9, nesterov=1)
    with pytest.raises(ValueError, match="beta2 must be in"):
        pn.Adam(beta2=1.0)
    with pytest.raises(ValueError, match="epsilon must be positive"):
        pn.Adam(epsilon=0)
    with pytest.raises(ValueError, match="weight_decay must be >= 0"):
        pn.SGD(weight_decay=-1)


def test_all_features_at_once_give_the_same_bits_on_both_backends(tmp_path):
    if "c" not in pn.available_backends():
        pytest.skip("the C backend is not available here")
    data, targets = _blob(40, 3, 2, seed=11)
    results = []
    for backend in ("c", "python"):
        net = pn.Network([3, 6, 5, 2], seed=21, backend=backend, activation=["relu", "tanh", "softmax"],
                         loss="categorical_crossentropy", init="he")
        onehot = [[1.0, 0.0] if a > b else [0.0, 1.0] for a, b in targets]
        history = net.train(data, onehot, epochs=30, learning_rate=0.01, optimizer="adam",
                            batch_size=4, shuffle=True, validation_split=0.25, early_stopping=3,
                            lr_schedule=("step", 5, 0.7), scale=True)
        net.save(tmp_path / ("%s.json" % backend))
        again = pn.load(tmp_path / ("%s.json" % backend), backend=backend)
        more = again.train(data, onehot, epochs=5, learning_rate=0.01, optimizer="adam",
                           batch_size=4, shuffle=True)
        results.append((list(history), history.val_loss, history.best_epoch, net.weights,
                        list(more), again.weights, again.predict(data)))
    assert results[0] == results[1]
