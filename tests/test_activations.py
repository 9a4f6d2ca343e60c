"""softplus, silu and gelu: the three activations added through the registry
and the C list alone, checked on every path.

Formulas against values worked out by hand and against PyTorch; both backends
identical bits for every optimizer; model files, the command line, and the
unrolled Python kernel.  Gradients against torch autograd and finite
differences, exports and torch conversion are in test_oracles, test_gradients,
test_export and test_torch_io, whose case lists include these activations.
"""

import math
import random

import pytest

import plainnet as pn
from plainnet import _registry

from conftest import BACKENDS, both_backends, random_data

NEW = ["softplus", "silu", "gelu"]
needs_c = pytest.mark.skipif("c" not in BACKENDS, reason="the C backend is not built here")


def _one(act, z, backend="python"):
    """f(z) through a 1-1 network with weight 1 and bias 0."""
    net = pn.Network.from_weights([[[1.0]]], [[0.0]], activation=act, backend=backend)
    return net.feedforward([z])[0]


@pytest.mark.parametrize("backend", BACKENDS)
def test_values_worked_out_by_hand(backend):
    assert _one("softplus", 0.0, backend) == math.log(2.0)
    assert _one("softplus", 1.0, backend) == math.log1p(math.e)
    assert _one("softplus", 25.0, backend) == 25.0  # z itself above 20, as torch
    assert _one("silu", 0.0, backend) == 0.0
    assert _one("silu", 2.0, backend) == 2.0 / (1.0 + math.exp(-2.0))
    assert _one("gelu", 0.0, backend) == 0.0
    # 0.5 z (1 + tanh(sqrt(2/pi) (z + 0.044715 z^3))) at z = 1: 0.8411919906082768
    assert _one("gelu", 1.0, backend) == pytest.approx(0.8411919906082768, rel=1e-15)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("z", [1e308, -1e308, 1e200, -1e200, 750.0, -750.0, 5e-324, -0.0])
def test_no_overflow_for_any_finite_input(backend, z):
    for act in NEW:
        y = _one(act, z, backend)
        assert math.isfinite(y), (act, z, y)
        rec = _registry.activation(act)
        assert math.isfinite(rec.derivative(z, rec.forward(z)))
    assert _one("softplus", -1e308, backend) == 0.0
    assert _one("gelu", 1e200, backend) == 1e200
    assert _one("gelu", -1e200, backend) == 0.0


def test_formulas_equal_torch():
    torch = pytest.importorskip("torch", reason="PyTorch is not installed (CI installs torch==2.13.0)")
    zs = [-30.0, -12.0, -5.0, -1.5, -0.3, 0.0, 0.2, 1.0, 4.0, 9.9, 10.1, 19.0, 21.0, 60.0]
    modules = {"softplus": torch.nn.Softplus(), "silu": torch.nn.SiLU(),
               "gelu": torch.nn.GELU(approximate="tanh")}
    for act, module in modules.items():
        rec = _registry.activation(act)
        x = torch.tensor(zs, dtype=torch.float64, requires_grad=True)
        y = module(x)
        y.sum().backward()
        for k, z in enumerate(zs):
            assert rec.forward(z) == pytest.approx(y[k].item(), rel=1e-14, abs=1e-300), (act, z)
            # The slopes are at most about 1.13, so 1e-12 absolute is 1e-12 of their scale.
            # (Where GELU's slope is tiny, 1 + tanh cancels: at z = -5 torch is 2.7e-10
            # off the exact -1.5463619875326e-06 in relative terms, plainnet 8.5e-11.)
            assert rec.derivative(z, rec.forward(z)) == pytest.approx(x.grad[k].item(), rel=1e-12,
                                                                      abs=1e-12), (act, z)


def test_derivatives_equal_central_differences():
    h = 1e-6
    for act in NEW:
        rec = _registry.activation(act)
        for z in [-8.0, -2.5, -0.7, 0.0, 0.4, 1.3, 3.0, 7.5, 19.5]:
            numeric = (rec.forward(z + h) - rec.forward(z - h)) / (2 * h)
            assert rec.derivative(z, rec.forward(z)) == pytest.approx(numeric, rel=1e-6, abs=1e-9)


def same(a, b):
    assert repr(a) == repr(b)


def _outcome(net, X, T, kw):
    """The epoch losses, or what TrainingDiverged says (unbounded outputs may diverge)."""
    try:
        return list(net.train(X, T, epochs=4, learning_rate=0.05, **kw))
    except pn.TrainingDiverged as exc:
        return ("diverged", str(exc), exc.epoch, exc.losses)


TRAININGS = [
    dict(),
    dict(batch_size=4, shuffle=True),
    dict(optimizer=pn.SGD(weight_decay=0.01), batch_size=3),
    dict(optimizer=pn.Momentum(0.9, nesterov=True), batch_size=2),
    dict(optimizer="adam", batch_size=1),
    dict(optimizer=pn.Adam(weight_decay=0.001), batch_size=5, shuffle=True),
]


@needs_c
@pytest.mark.parametrize("hidden,output,loss", [
    ("softplus", "softplus", "mse"), ("silu", "silu", "mse"), ("gelu", "gelu", "mse"),
    ("gelu", "softmax", "categorical_crossentropy"), ("silu", "sigmoid", "binary_crossentropy"),
    ("softplus", "linear", "mse"),
])
@pytest.mark.parametrize("sizes", [[3, 2, 2], [6, 9, 5, 4]], ids=["narrow", "wide"])
@pytest.mark.parametrize("kw", TRAININGS, ids=lambda kw: ",".join(sorted(map(str, kw))) or "sgd")
def test_both_backends_give_identical_bits(hidden, output, loss, sizes, kw):
    py, c = both_backends(sizes, 5, activation=hidden, output_activation=output, loss=loss)
    X, T = random_data(13, sizes[0], sizes[-1], seed=len(sizes))
    X = [[4.0 * v for v in row] for row in X]  # reach both sides of every branch
    if loss == "categorical_crossentropy":
        T = [[1.0 if k == r % sizes[-1] else 0.0 for k in range(sizes[-1])] for r in range(len(X))]
    for x, t in zip(X, T):
        same(py.feedforward(x), c.feedforward(x))
        same(py.gradients(x, t), c.gradients(x, t))
    same(py.loss(X, T), c.loss(X, T))
    same(_outcome(py, X, T, kw), _outcome(c, X, T, kw))
    same((py.weights, py.biases), (c.weights, c.biases))
    same(py.predict(X), c.predict(X))


@pytest.mark.parametrize("act", NEW)
def test_model_files_store_them(tmp_path, backend, act):
    net = pn.Network([3, 4, 2], seed=2, backend=backend, activation=act, output_activation=act)
    net.train(*random_data(8, 3, 2), epochs=2)
    path = tmp_path / "m.json"
    net.save(str(path))
    back = pn.load(str(path), backend=backend)
    assert back.activations == [act, act]
    x = [0.3, -1.2, 2.0]
    assert back.feedforward(x) == net.feedforward(x)


def test_the_command_line_offers_them(tmp_path):
    import subprocess
    import sys

    from conftest import env_with_package
    rng = random.Random(0)
    lines = ["a,b,y"] + ["%r,%r,%r" % (rng.uniform(-1, 1), rng.uniform(-1, 1), rng.random())
                         for _ in range(20)]
    (tmp_path / "d.csv").write_text("\n".join(lines) + "\n")
    for act in NEW:
        proc = subprocess.run([sys.executable, "-m", "plainnet", "train", "d.csv", "--target", "y",
                               "--hidden", "3", "--epochs", "5", "--activation", act,
                               "--output-activation", act, "-o", "m.json"],
                              cwd=str(tmp_path), env=env_with_package(), capture_output=True,
                              text=True, timeout=60)
        assert proc.returncode == 0, proc.stderr
        assert pn.load(str(tmp_path / "m.json")).activations == [act, act]
    help_text = subprocess.run([sys.executable, "-m", "plainnet", "train", "--help"],
                               env=env_with_package(), capture_output=True, text=True).stdout
    assert "softplus" in help_text and "silu" in help_text and "gelu" in help_text


def test_wide_inputs_train_through_the_unrolled_kernel():
    """201 to 255 inputs at most 256 parameters: once a SyntaxError (too many
    nested parentheses) in the generated kernel."""
    for width in (201, 255):
        X = [[0.01 * ((r + i) % 7) for i in range(width)] for r in range(3)]
        T = [[0.5], [0.25], [0.75]]
        nets = [pn.Network([width, 1], seed=1, backend=b) for b in BACKENDS]
        losses = [list(n.train(X, T, epochs=3)) for n in nets]
        assert all(repr(lo) == repr(losses[0]) for lo in losses)
        if len(nets) == 2:
            same(nets[0].weights, nets[1].weights)
        from plainnet import _py_fast
        assert _py_fast.sgd_epoch([width, 1], ["sigmoid"]) is _py_fast._compiled((width, 1), ("sigmoid",))
