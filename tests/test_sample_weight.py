"""Sample weights (issue 17): both backends bit-identical, against PyTorch autograd
with a weighted mean loss, all ones exactly unweighted, zero weights skipped,
bad weights refused."""

import random

import pytest

import plainnet as pn
from conftest import BACKENDS, random_data

needs_both = pytest.mark.skipif(len(BACKENDS) < 2, reason="the C core is not built")

DATA, TARGETS = random_data(23, 3, 2, seed=4)
RNG = random.Random(7)
WEIGHTS = [RNG.choice([0.0, 0.25, 1.0, 2.0, 3.5]) for _ in range(23)]

SETTINGS = [
    {},
    {"optimizer": "adam", "batch_size": 4, "shuffle": True},
    {"optimizer": "momentum", "batch_size": 5},
    {"optimizer": pn.SGD(weight_decay=0.01), "batch_size": 3},
]


def _run(backend, **kw):
    net = pn.Network([3, 4, 2], seed=1, backend=backend, activation="tanh")
    h = net.train(DATA, TARGETS, epochs=4, sample_weight=WEIGHTS,
                  validation_data=(DATA, TARGETS, WEIGHTS), **kw)
    return repr((list(h), h.val_loss, net.weights, net.biases,
                 net.loss(DATA, TARGETS, sample_weight=WEIGHTS)))


@needs_both
@pytest.mark.parametrize("kw", SETTINGS)
def test_backends_bit_identical(kw):
    assert _run("python", **kw) == _run("c", **kw)


@pytest.mark.parametrize("kw", SETTINGS)
def test_all_ones_is_unweighted(backend, kw):
    a = pn.Network([3, 4, 2], seed=1, backend=backend)
    b = pn.Network([3, 4, 2], seed=1, backend=backend)
    ha = a.train(DATA, TARGETS, epochs=3, **kw)
    hb = b.train(DATA, TARGETS, epochs=3, sample_weight=[1.0] * 23, **kw)
    assert repr((list(ha), a.weights)) == repr((list(hb), b.weights))
    assert a.loss(DATA, TARGETS) == a.loss(DATA, TARGETS, sample_weight=[1.0] * 23)


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_zero_weight_batch_makes_no_step(backend, optimizer):
    # batches of 4 in order: rows 0-3 weigh 0, so training is training on rows 4.. alone
    w = [0.0] * 4 + [1.0] * 19
    a = pn.Network([3, 4, 2], seed=2, backend=backend)
    b = pn.Network([3, 4, 2], seed=2, backend=backend)
    ha = a.train(DATA, TARGETS, epochs=3, optimizer=optimizer, batch_size=4, sample_weight=w)
    hb = b.train(DATA[4:], TARGETS[4:], epochs=3, optimizer=optimizer, batch_size=4)
    assert repr((list(ha), a.weights, a.biases)) == repr((list(hb), b.weights, b.biases))


def test_weighted_loss_is_weighted_mean_of_row_losses(backend):
    net = pn.Network([3, 4, 2], seed=3, backend=backend)
    per_row = [net.loss([x], [t]) for x, t in zip(DATA, TARGETS)]
    expected = sum(w * l for w, l in zip(WEIGHTS, per_row)) / sum(WEIGHTS)
    assert net.loss(DATA, TARGETS, sample_weight=WEIGHTS) == pytest.approx(expected, rel=1e-13)


@pytest.mark.parametrize("bad, message", [
    ([-1.0] + [1.0] * 22, ">= 0"),
    ([float("nan")] + [1.0] * 22, "finite"),
    ([float("inf")] + [1.0] * 22, "finite"),
    ([0.0] * 23, "sums to 0"),
    ([1.0] * 22, "expected 23"),
    ([1e308] * 23, "infinity"),
])
def test_bad_weights_refused(backend, bad, message):
    net = pn.Network([3, 4, 2], seed=3, backend=backend)
    before = net.weights
    with pytest.raises(ValueError, match=message):
        net.train(DATA, TARGETS, epochs=1, sample_weight=bad)
    with pytest.raises(ValueError, match=message):
        net.loss(DATA, TARGETS, sample_weight=bad)
    assert net.weights == before and net.epochs_trained == 0


def test_validation_split_carries_weights(backend):
    net = pn.Network([3, 4, 2], seed=3, backend=backend)
    w = [1.0] * 20 + [0.0, 0.0, 5.0]
    h = net.train(DATA, TARGETS, epochs=1, batch_size=2, optimizer="adam",
                  validation_split=0.1, sample_weight=w)
    # the held-out rows are the last 3: weights 0, 0, 5, so only the last row counts
    assert h.val_loss[0] == net.loss(DATA[-1:], TARGETS[-1:])


@pytest.mark.parametrize("optimizer, batch", [("sgd", 4), ("adam", 5), ("sgd", 1)])
def test_against_torch_weighted_mean(backend, optimizer, batch):
    torch = pytest.importorskip("torch", reason="PyTorch is not installed (CI installs torch==2.13.0)")
    net = pn.Network([3, 5, 2], seed=5, backend=backend, activation="tanh",
                     output_activation="sigmoid", loss="binary_crossentropy")
    targets = [[float(t > 0.5) for t in row] for row in TARGETS]
    lins = [torch.nn.Linear(len(W[0]), len(W), dtype=torch.float64) for W in net.weights]
    with torch.no_grad():
        for lin, W, b in zip(lins, net.weights, net.biases):
            lin.weight.copy_(torch.tensor(W, dtype=torch.float64))
            lin.bias.copy_(torch.tensor(b, dtype=torch.float64))
    model = torch.nn.Sequential(lins[0], torch.nn.Tanh(), lins[1])
    params = list(model.parameters())
    opt = (torch.optim.SGD(params, lr=0.1) if optimizer == "sgd"
           else torch.optim.Adam(params, lr=0.1, betas=(0.9, 0.999), eps=1e-8))
    X = torch.tensor(DATA, dtype=torch.float64)
    T = torch.tensor(targets, dtype=torch.float64)
    w = torch.tensor(WEIGHTS, dtype=torch.float64)
    epoch_losses = []
    for _ in range(3):
        total = 0.0
        for start in range(0, 23, batch):
            sl = slice(start, start + batch)
            per_row = torch.nn.functional.binary_cross_entropy_with_logits(
                model(X[sl]), T[sl], reduction="none").mean(dim=1)
            wb = w[sl]
            total += float((wb * per_row).sum().detach())
            if float(wb.sum()) == 0.0:
                continue  # plainnet: a batch of weight 0 makes no step
            opt.zero_grad()
            ((wb * per_row).sum() / wb.sum()).backward()
            opt.step()
        epoch_losses.append(total / sum(WEIGHTS))
    h = net.train(DATA, targets, epochs=3, learning_rate=0.1, optimizer=optimizer,
                  batch_size=batch, sample_weight=WEIGHTS)
    assert list(h) == pytest.approx(epoch_losses, rel=1e-10)
    for lin, W, b in zip(lins, net.weights, net.biases):
        for row, trow in zip(W, lin.weight.detach().tolist()):
            assert row == pytest.approx(trow, rel=1e-9, abs=1e-12)
        assert b == pytest.approx(lin.bias.detach().tolist(), rel=1e-9, abs=1e-12)
