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


def _train(sizes, act, loss, backend, weights=None, n_rows=150, **kw):
    data, targets = _data(sizes, loss, n_rows=n_rows)
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


# A hidden layer wider than a block of the products' columns (512: 520 is
# one more panel of 8) and a softmax output of 33, five panels.  A thread
# that computes whole panels of a product applies the bias and activation,
# or the derivative, to their columns itself; where the threads share the
# tiles (the last block's single panel, the output at 3 threads), the team
# waits and then applies them by rows, and softmax, which reads a whole
# row, always by rows.  Batches of 64 are enough work for 2 and 3 threads.
WIDE = ([4, 520, 33], "tanh", "categorical_crossentropy")


@pytest.mark.parametrize("kw", [{"optimizer": "adam", "batch_size": 64},
                                {"optimizer": "sgd", "batch_size": 100, "shuffle": True}],
                         ids=["adam-64", "sgd-100"])
def test_wide_layers_and_softmax_have_the_python_bits_on_every_thread_count(kw, threads):
    data, _ = _data(WIDE[0], WIDE[2], n_rows=130)
    expected = _train(*WIDE, backend="python", n_rows=130, **kw)
    expected_rows = repr(_net(*WIDE, backend="python").predict(data))
    for n in THREADS:
        threads(n)
        assert _train(*WIDE, backend="c", n_rows=130, **kw) == expected, "threads=%d" % n
        assert repr(_net(*WIDE, backend="c").predict(data)) == expected_rows, "threads=%d" % n


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


# The step divides the gradient sums by the batch's size (or weight): by a
# power of two it multiplies by the exact reciprocal instead, which must give
# the division's bits, also where the result is subnormal.  Weight sums of
# 0.5, 2 and 4 (powers of two), 3 (not), batches of 32 and 64.
@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam"])
@pytest.mark.parametrize("weight,batch_size", [(0.25, 2), (0.5, 4), (1.0, 4), (0.75, 4),
                                               (None, 32), (None, 64)])
def test_steps_by_a_power_of_two_have_the_python_bits(optimizer, weight, batch_size, threads):
    shape = SHAPES[0]
    weights = None if weight is None else [weight] * 150
    make = {"sgd": pn.SGD, "momentum": pn.Momentum, "adam": pn.Adam}[optimizer]
    kw = {"optimizer": make(weight_decay=1e-3), "batch_size": batch_size, "shuffle": False}
    expected = _train(*shape, backend="python", weights=weights, **kw)
    for n in THREADS:
        threads(n)
        assert _train(*shape, backend="c", weights=weights, **kw) == expected, "threads=%d" % n


def test_scaling_by_a_power_of_two_is_the_division_for_every_kind_of_double():
    # the identity the C step relies on, checked where rounding is hardest:
    # subnormal results, results that overflow, and random mantissas
    rng = random.Random(5)
    values = [5e-324, 2.2250738585072014e-308, 1.7976931348623157e308, -3.0e-310]
    values += [rng.uniform(-1, 1) * 2.0 ** rng.randint(-1074, 1023) for _ in range(20000)]
    for k in (-3, -1, 0, 1, 5, 6, 30, 1000):
        nb = 2.0 ** k
        inv = 1.0 / nb
        for x in values:
            try:
                q = x / nb
            except OverflowError:
                continue
            assert x * inv == q, (x, nb)


# Blocks of one row (batch_size=1, or a batch's last row after blocks of 64)
# take the per-sample kernels instead of the matrix products: shapes wider
# than the 4 x 8 tiles, with zeros in the activations (relu), every optimizer
# setting of the batched path, and sample weights with zeros.  The largest
# shape runs batches of 65 (64 rows, then one onto their sums) on several
# threads; batch_size=1 runs on one, as the core gives a one-row block no more.
ONE_ROW_SHAPES = [
    ([13, 11, 3], "relu", "mse"),
    ([256, 96, 64, 10], "silu", "mse"),
]

ONE_ROW_SETTINGS = [
    {"optimizer": "adam", "batch_size": 1},
    {"optimizer": pn.Adam(weight_decay=0.001), "batch_size": 1, "shuffle": True},
    {"optimizer": pn.Momentum(momentum=0.8, nesterov=True, weight_decay=0.01), "batch_size": 1},
    {"optimizer": pn.Momentum(momentum=0.9), "batch_size": 1},
    {"optimizer": pn.SGD(weight_decay=0.01), "batch_size": 1},  # not the fused SGD path
    {"optimizer": "adam", "batch_size": 65, "shuffle": False},
    {"optimizer": pn.Momentum(momentum=0.8, nesterov=True), "batch_size": 65, "shuffle": False},
]


def _one_row_weights(n_rows, batch_size, seed=13):
    """Weights with zeros; a batch of 65 starts with 65 rows of weight > 0 (a block
    of 64 and one of one row), the rest hold zeros."""
    rng = random.Random(seed)
    # not only powers of two: s * (a * d) and (s * a) * d must round differently somewhere
    weights = [rng.choice([0.0, 0.0, 0.3, 1.0, 1.7, 3.0]) for _ in range(n_rows)]
    if batch_size > 1:
        weights[:batch_size] = [rng.choice([0.3, 1.0, 1.7, 3.0]) for _ in range(batch_size)]
        weights[batch_size - 1] = 0.7  # the row alone in its block
    return weights


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("shape", ONE_ROW_SHAPES, ids=lambda s: "-".join(map(str, s[0])))
@pytest.mark.parametrize("kw", ONE_ROW_SETTINGS,
                         ids=lambda k: "%s-%d" % (k["optimizer"], k["batch_size"]))
def test_one_row_blocks_have_the_python_bits_on_every_thread_count(shape, kw, weighted, threads):
    sizes = shape[0]
    # the Python backend takes some 30 ms per Adam step of the largest shape
    n_rows = 150 if sizes[0] < 100 else 30 if kw["batch_size"] == 1 else 70
    weights = _one_row_weights(n_rows, kw["batch_size"]) if weighted else None
    expected = _train(*shape, backend="python", weights=weights, n_rows=n_rows, **kw)
    for n in THREADS:
        threads(n)
        got = _train(*shape, backend="c", weights=weights, n_rows=n_rows, **kw)
        assert got == expected, "threads=%d" % n


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("batch_size", [1, 2])
def test_fresh_gradient_sums_start_from_zero_as_in_python(batch_size, weighted):
    """A batch's sums start from 0.0 (0.0 + a * d), which turns a product of -0.0
    (input 0.0 times a negative delta) into 0.0.  That shows in the weights only
    through SGD with weight decay on a weight of -0.0: g = 0.0 + wd * -0.0 = 0.0
    leaves it -0.0, where a sum of -0.0 would make g -0.0 and the weight 0.0."""
    rng = random.Random(7)
    sizes = [5, 9, 3]
    weights = [[[-0.0 if i == 0 else rng.uniform(-0.5, 0.5) for i in range(n_in)]
                for _ in range(n_out)] for n_in, n_out in zip(sizes, sizes[1:])]
    biases = [[0.0] * n for n in sizes[1:]]
    data, targets = random_data(20, 5, 3, seed=8)
    for row in data:
        row[0] = 0.0
    sample_weight = [rng.choice([0.0, 0.3, 1.0, 1.7]) for _ in data] if weighted else None
    kw = {"optimizer": pn.SGD(weight_decay=0.01), "batch_size": batch_size, "shuffle": False}

    def train(backend):
        net = pn.Network.from_weights(weights, biases, backend=backend)
        net.train(data, targets, 2, 0.1, sample_weight=sample_weight, **kw)
        return net.weights, net.biases

    expected = train("python")
    assert [w[0] for w in expected[0][0]] == [0.0] * 9  # (-0.0 == 0.0: see the repr below)
    assert "-0.0" in repr([w[0] for w in expected[0][0]]), "the case does not arise"
    assert repr(train("c")) == repr(expected)


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


def test_omp_num_threads_is_followed_up_to_the_cpus_and_never_rejected(monkeypatch):
    """OMP_NUM_THREADS, which joblib's and dask's workers set, is the default
    after PLAINNET_NUM_THREADS, capped at the CPUs; a value plainnet cannot
    read is another library's business and leaves the default alone."""
    monkeypatch.setattr(_threads, "_setting", None)
    monkeypatch.delenv("PLAINNET_NUM_THREADS", raising=False)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    cpus = pn.get_num_threads()
    assert cpus == _threads._cpus()
    for value, expected in (("1", 1), (" 1 ", 1), ("1,4", 1), (str(cpus + 7), cpus),
                            ("0", cpus), ("-2", cpus), ("", cpus), ("auto", cpus), ("2.5", cpus)):
        monkeypatch.setenv("OMP_NUM_THREADS", value)
        assert pn.get_num_threads() == expected, value
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    monkeypatch.setenv("PLAINNET_NUM_THREADS", "3")
    assert pn.get_num_threads() == 3  # plainnet's own variable first
    pn.set_num_threads(2)
    try:
        assert pn.get_num_threads() == 2  # and the call before both
    finally:
        _threads._setting = None
