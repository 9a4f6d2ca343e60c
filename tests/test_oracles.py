"""Independent oracles: PyTorch autograd and optimizers, scikit-learn on real data.

Skipped, with the reason, where torch or scikit-learn is not installed; CI
installs both (torch==2.13.0, CPU).
"""

import random

import pytest

import plainnet as pn

ACTS = {"sigmoid": "Sigmoid", "tanh": "Tanh", "relu": "ReLU", "leaky_relu": "LeakyReLU",
        "linear": "Identity", "softmax": "Softmax", "softplus": "Softplus", "silu": "SiLU",
        "gelu": "GELU"}

CASES = [
    ([3, 5, 2], "sigmoid", None, "mse"),
    ([4, 6, 5, 3], "tanh", "linear", "mse"),
    ([3, 7, 2], "relu", "sigmoid", "binary_crossentropy"),
    ([3, 4, 4, 3], "leaky_relu", "softmax", "categorical_crossentropy"),
    ([2, 5, 3], "tanh", "softmax", "mse"),
    ([5, 1], "linear", "tanh", "mse"),
    ([3, 5, 2], "softplus", None, "mse"),
    ([4, 6, 5, 3], "silu", "linear", "mse"),
    ([3, 7, 2], "gelu", "sigmoid", "binary_crossentropy"),
    ([3, 4, 4, 3], "gelu", "softmax", "categorical_crossentropy"),
    ([2, 5, 3], "silu", "gelu", "mse"),
    ([3, 4, 2], "tanh", "softplus", "mse"),
]


def _torch():
    return pytest.importorskip("torch", reason="PyTorch is not installed (CI installs torch==2.13.0)")


def _torch_model(torch, net):
    layers = []
    for l, (W, b) in enumerate(zip(net.weights, net.biases)):
        lin = torch.nn.Linear(len(W[0]), len(W), dtype=torch.float64)
        with torch.no_grad():
            lin.weight.copy_(torch.tensor(W, dtype=torch.float64))
            lin.bias.copy_(torch.tensor(b, dtype=torch.float64))
        layers.append(lin)
        act = net.activations[l]
        if act == "softmax":
            layers.append(torch.nn.Softmax(dim=-1))
        elif act == "leaky_relu":
            layers.append(torch.nn.LeakyReLU(0.01))
        elif act == "gelu":
            layers.append(torch.nn.GELU(approximate="tanh"))
        else:
            layers.append(getattr(torch.nn, ACTS[act])())
    return torch.nn.Sequential(*layers)


def _torch_loss(torch, model, loss, x, t):
    """Mean over the rows of x of each row's loss, as plainnet defines it."""
    F = torch.nn.functional
    if loss == "mse":
        return ((model(x) - t) ** 2).mean()
    logits = model[:-1](x)  # the last module is the output activation
    if loss == "binary_crossentropy":
        return F.binary_cross_entropy_with_logits(logits, t)
    return -(t * F.log_softmax(logits, dim=-1)).sum(dim=-1).mean()


def _sample(sizes, loss, rng, n=1):
    xs, ts = [], []
    for _ in range(n):
        xs.append([rng.uniform(-2, 2) for _ in range(sizes[0])])
        if loss == "categorical_crossentropy":
            t = [0.0] * sizes[-1]
            t[rng.randrange(sizes[-1])] = 1.0
        else:
            t = [rng.uniform(0, 1) for _ in range(sizes[-1])]
        ts.append(t)
    return xs, ts


def _params(net):
    out = []
    for W, b in zip(net.weights, net.biases):
        out.append(W)
        out.append(b)
    return out


def _close(got, want, rel=1e-10):
    import torch
    got = torch.tensor(got, dtype=torch.float64)
    want = want.detach()
    assert got.shape == want.shape
    scale = want.abs().max().item() or 1.0
    err = (got - want).abs().max().item()
    assert err <= rel * scale, (err, scale)


@pytest.mark.parametrize("sizes,act,out,loss", CASES)
def test_gradients_match_torch_autograd(backend, sizes, act, out, loss):
    torch = _torch()
    rng = random.Random(sum(sizes))
    net = pn.Network(sizes, seed=len(sizes), backend=backend, activation=act,
                     output_activation=out, loss=loss)
    model = _torch_model(torch, net)
    (x,), (t,) = _sample(sizes, loss, rng)
    value = _torch_loss(torch, model, loss, torch.tensor([x], dtype=torch.float64),
                        torch.tensor([t], dtype=torch.float64))
    value.backward()
    assert net.loss([x], [t]) == pytest.approx(value.item(), rel=1e-12)
    _close(net.feedforward(x), model(torch.tensor(x, dtype=torch.float64)))
    wg, bg = net.gradients(x, t)
    for l, lin in enumerate(model[::2]):
        _close(wg[l], lin.weight.grad)
        _close(bg[l], lin.bias.grad)


OPTIMIZERS = [
    ("sgd", 1, lambda torch, groups: torch.optim.SGD(groups, lr=0.05)),
    ("sgd", 4, lambda torch, groups: torch.optim.SGD(groups, lr=0.05)),
    (pn.SGD(weight_decay=0.01), 3, lambda torch, groups: torch.optim.SGD(groups, lr=0.05)),
    (pn.Momentum(0.9), 1, lambda torch, groups: torch.optim.SGD(groups, lr=0.05, momentum=0.9)),
    (pn.Momentum(0.8, nesterov=True, weight_decay=0.001), 2,
     lambda torch, groups: torch.optim.SGD(groups, lr=0.05, momentum=0.8, nesterov=True)),
    (pn.Adam(), 1, lambda torch, groups: torch.optim.Adam(groups, lr=0.05)),
    (pn.Adam(0.8, 0.99, 1e-6, weight_decay=0.01), 3,
     lambda torch, groups: torch.optim.Adam(groups, lr=0.05, betas=(0.8, 0.99), eps=1e-6)),
]


@pytest.mark.parametrize("optimizer,batch,make", OPTIMIZERS, ids=lambda v: repr(v) if not callable(v) else "")
@pytest.mark.parametrize("sizes,act,out,loss", CASES[:4] + CASES[6:9])
def test_training_steps_match_torch_optimizers(backend, optimizer, batch, make, sizes, act, out, loss):
    torch = _torch()
    rng = random.Random(7)
    net = pn.Network(sizes, seed=3, backend=backend, activation=act, output_activation=out, loss=loss)
    model = _torch_model(torch, net)
    opt = pn.Adam() if optimizer == "adam" else optimizer
    wd = getattr(opt, "weight_decay", 0.0) if not isinstance(opt, str) else 0.0
    weights = [lin.weight for lin in model[::2]]
    biases = [lin.bias for lin in model[::2]]
    torch_opt = make(torch, [{"params": weights, "weight_decay": wd},
                             {"params": biases, "weight_decay": 0.0}])
    xs, ts = _sample(sizes, loss, rng, n=6)
    epochs = 3
    net.train(xs, ts, epochs=epochs, learning_rate=0.05, optimizer=optimizer, batch_size=batch)
    X = torch.tensor(xs, dtype=torch.float64)
    T = torch.tensor(ts, dtype=torch.float64)
    for _ in range(epochs):
        for start in range(0, len(xs), batch):
            torch_opt.zero_grad()
            _torch_loss(torch, model, loss, X[start:start + batch], T[start:start + batch]).backward()
            torch_opt.step()
    for l in range(len(weights)):
        _close(net.weights[l], weights[l])
        _close(net.biases[l], biases[l])


def test_digits_accuracy_at_least_scikit_learns():
    """64-32-10 on the 8x8 digits, held-out test split: plainnet vs MLPClassifier.

    Both: one hidden layer of 32 logistic units, softmax output with
    cross-entropy, Adam (lr 0.01) on mini-batches of 32 with shuffling, 40
    epochs, no L2 penalty, inputs scaled to [0, 1] by /16.
    """
    datasets = pytest.importorskip("sklearn.datasets", reason="scikit-learn is not installed")
    from sklearn.model_selection import train_test_split
    from sklearn.neural_network import MLPClassifier
    import warnings

    digits = datasets.load_digits()
    X = (digits.data / 16.0).tolist()
    y = digits.target.tolist()
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)
    onehot = [[1.0 if k == c else 0.0 for k in range(10)] for c in ytr]

    net = pn.Network([64, 32, 10], seed=0, activation="sigmoid", output_activation="softmax",
                     loss="categorical_crossentropy", init="xavier")
    net.train(Xtr, onehot, epochs=40, learning_rate=0.01, optimizer="adam", batch_size=32, shuffle=True)
    preds = [max(range(10), key=p.__getitem__) for p in net.predict(Xte)]
    ours = sum(p == t for p, t in zip(preds, yte)) / len(yte)

    clf = MLPClassifier(hidden_layer_sizes=(32,), activation="logistic", solver="adam",
                        learning_rate_init=0.01, batch_size=32, max_iter=40, alpha=0.0,
                        shuffle=True, random_state=0, tol=0.0, n_iter_no_change=1000)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.fit(Xtr, ytr)
    theirs = clf.score(Xte, yte)
    print("digits test accuracy: plainnet %.4f, scikit-learn %.4f" % (ours, theirs))
    assert ours >= theirs - 0.005, (ours, theirs)
    assert ours > 0.95
