"""The C core's blocked paths (issue 14): mini-batch training, batch predict and
losses computed as matrix products over blocks of rows, on 1, 2 and 3 threads,
give the Python backend's bits.

The core uses fewer threads than it may where a block holds little work
(the results are the same either way), so the largest shape here,
[256, 96, 64, 10], is the one that runs on several.  The shapes cross every
edge of the kernels: widths below, at and above the
4 x 8 register tiles, inputs wider than a run of K (256), more rows than a
block (64) in one batch, zero sample weights inside a block.  The Python
backend is the oracle: it computes every sum one term at a time.
"""

import random

import pytest

import plainnet as pn
from plainnet import _threads
from conftest import BACKENDS, random_data

pytestmark = pytest.mark.skipif("c" not in BACKENDS, reason="the C core is not built")

THREADS = (1, 2, 3)

SHAPES = [
    ([3, 9, 5], "sigmoid", "mse"),
    ([300, 17, 6], "tanh", "mse"),             # K cut into runs of 256
    ([8, 12, 8, 3], "relu", "binary_crossentropy"),
    ([5, 1, 2], "leaky_relu", "mse"),         # a layer of width 1
    ([33, 8, 4], "gelu", "categorical_crossentropy"),
    ([256, 96, 64, 10], "silu", "mse"),          # large enough for the core to use 3 threads
]

SETTINGS = [
    {"optimizer": "sgd", "batch_size": 7},
    {"optimizer": pn.Momentum(momentum=0.8, nesterov=True, weight_decay=0.01), "batch_size": 64},
    {"optimizer": pn.Adam(weight_decay=0.001), "batch_size": 100, "shuffle": True},  # > a block
    {"optimizer": "adam", "batch_size": 1},
    {"optimizer": "momentum", "batch_size": 150},  # the whole epoch in one batch
]


@pytest.fixture
def threads():
    """Set the thread count for one test; the default again afterwards."""
    yield pn.set_num_threads
    _threads._setting = None


def _data(sizes, loss, n_rows=150, seed=3):
    data, targets = random_data(n_rows, sizes[0], sizes[-1], seed=seed)
    if loss == "categorical_crossentropy":
        rng = random.Random(seed)
        targets = [[1.0 if k == rng.randrange(sizes[-1]) else 0.0 for k in range(sizes[-1])]
                   for _ in range(n_rows)]
        for row in targets:  # one-hot: exactly one 1.0
            if sum(row) != 1.0:
                row[:] = [1.0] + [0.0] * (sizes[-1] - 1)
    return data, targets


def _net(sizes, act, loss, backend):
    out = {"categorical_crossentropy": "softmax", "binary_crossentropy": "sigmoid"}.get(loss)
    return pn.Network(sizes, seed=5, backend=backend, activation=act, output_activation=out,
                      loss=loss)


def _train(sizes, act, loss, backend, weights=None, **kw):
    data, targets = _data(sizes, loss)
    net = _net(sizes, act, loss, backend)
    history = net.train(data, targets, epochs=2, learning_rate=0.05, sample_weight=weights, **kw)
    return repr((list(history), net.weights, net.biases, net.loss(data, targets)))


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "-".join(map(str, s[0])))
@pytest.mark.parametrize("kw", SETTINGS, ids=lambda k: "%s-%d" % (k["optimizer"], k["batch_size"]))
def test_minibatch_training_has_the_python_bits_on_every_thread_count(shape, kw, threads):
    expected = _train(*shape, backend="python", **kw)
    for n in THREADS:
        threads(n)
        assert _train(*shape, backend="c", **kw) == expected, "threads=%d" % n


@pytest.mark.parametrize("shape", SHAPES[:3], ids=lambda s: "-".join(map(str, s[0])))
def test_weighted_minibatches_have_the_python_bits_on_every_thread_count(shape, threads):
    rng = random.Random(11)
    weights = [rng.choice([0.0, 0.0, 0.5, 1.0, 3.0]) for _ in range(150)]
    weights[:70] = [0.0] * 70  # the first batch of 100 holds a block of zeros
    kw = {"optimizer": "adam", "batch_size": 100, "shuffle": False}
    expected = _train(*shape, backend="python", weights=weights, **kw)
    for n in THREADS:
        threads(n)
        assert _train(*shape, backend="c", weights=weights, **kw) == expected, "threads=%d" % n


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "-".join(map(str, s[0])))
@pytest.mark.parametrize("n_rows", [1, 2, 63, 64, 65, 200])
def test_batch_predict_and_loss_have_the_python_bits(shape, n_rows, threads):
    sizes, act, loss = shape
    data, targets = _data(sizes, loss, n_rows=n_rows, seed=n_rows)
    weights = [float(k % 3) for k in range(n_rows)]
    weights[0] = 1.0  # never all zero
    py = _net(sizes, act, loss, "python")
    c = _net(sizes, act, loss, "c")
    expected = repr((py.predict(data), py.loss(data, targets),
                     py.loss(data, targets, sample_weight=weights)))
    for n in THREADS:
        threads(n)
        got = repr((c.predict(data), c.loss(data, targets),
                    c.loss(data, targets, sample_weight=weights)))
        assert got == expected, "threads=%d" % n


def test_batch_predict_into_numpy_has_the_python_bits(threads):
    np = pytest.importorskip("numpy")
    sizes = [40, 24, 3]
    data, _ = random_data(300, 40, 3, seed=9)
    py = pn.Network(sizes, seed=2, backend="python")
    c = pn.Network(sizes, seed=2, backend="c")
    expected = np.array(py.predict(data))
    X = np.array(data)
    for n in THREADS:
        threads(n)
        got = c.predict(X, as_numpy=True)
        assert got.dtype == np.float64 and got.shape == (300, 3)
        assert got.tobytes() == expected.tobytes(), "threads=%d" % n


def test_thread_count_is_validated_and_read_from_the_environment(monkeypatch, threads):
    for bad in (0, -1):
        with pytest.raises(ValueError, match="1 or more"):
            pn.set_num_threads(bad)
    for bad in (1.5, "2", None, True):
        with pytest.raises(TypeError, match="whole number"):
            pn.set_num_threads(bad)
    threads(3)
    assert pn.get_num_threads() == 3
    _threads._setting = None
    monkeypatch.setenv("PLAINNET_NUM_THREADS", "2")
    assert pn.get_num_threads() == 2
    monkeypatch.setenv("PLAINNET_NUM_THREADS", "many")
    with pytest.raises(ValueError, match="PLAINNET_NUM_THREADS"):
        pn.get_num_threads()
    monkeypatch.delenv("PLAINNET_NUM_THREADS")
    assert pn.get_num_threads() >= 1
