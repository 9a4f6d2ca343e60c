"""PyTorch interchange: Network.to_torch() and plainnet.from_torch(module).

PyTorch is the independent oracle: a converted module must compute what the
network computes (to 1e-12 in float64), and a round trip must keep every bit.
"""

import subprocess
import sys

import pytest

torch = pytest.importorskip("torch", reason="PyTorch is not installed")
nn = torch.nn

import plainnet as pn  # noqa: E402
from conftest import PACKAGE_PARENT

X = [[0.5, -1.0, 2.0], [-3.0, 0.25, 1.5], [10.0, -7.0, 0.0], [0.0, 0.0, 0.0]]
ACTIVATION_SETS = [
    ["sigmoid", "sigmoid"],
    ["tanh", "linear"],
    ["relu", "softmax"],
    ["leaky_relu", "tanh", "sigmoid"],
    ["linear", "relu", "softmax"],
    ["softplus", "silu", "gelu"],
    ["gelu", "softplus", "softmax"],
]


def _net(acts, backend, seed=4):
    sizes = [3] + [5] * (len(acts) - 1) + [2]
    return pn.Network(sizes, seed=seed, backend=backend, activation=acts)


def _torch_out(module, rows):
    with torch.no_grad():
        return module(torch.tensor(rows, dtype=torch.float64)).tolist()


def _assert_close(a, b, tol=1e-12):
    for row_a, row_b in zip(a, b):
        for u, v in zip(row_a, row_b):
            assert abs(u - v) <= tol * max(1.0, abs(v)), (row_a, row_b)


@pytest.mark.parametrize("acts", ACTIVATION_SETS, ids="-".join)
def test_round_trip_plainnet_torch_plainnet_is_exact(backend, acts):
    net = _net(acts, backend)
    module = net.to_torch()
    back = pn.from_torch(module, backend=backend)
    assert back.sizes == net.sizes
    assert back.activations == net.activations
    assert back.weights == net.weights
    assert back.biases == net.biases
    assert back.predict(X) == net.predict(X)


@pytest.mark.parametrize("acts", ACTIVATION_SETS, ids="-".join)
def test_to_torch_computes_what_the_network_computes(backend, acts):
    net = _net(acts, backend)
    module = net.to_torch()
    assert all(p.dtype == torch.float64 for p in module.parameters())
    _assert_close(_torch_out(module, X), net.predict(X))


def test_to_torch_layout_is_linear_then_activation_module():
    net = pn.Network([3, 4, 4, 2], seed=0, activation=["leaky_relu", "linear", "softmax"])
    module = net.to_torch()
    assert [type(m).__name__ for m in module] == ["Linear", "LeakyReLU", "Linear", "Linear", "Softmax"]
    assert module[1].negative_slope == 0.01
    assert module[4].dim == -1
    assert module[0].weight.tolist() == net.weights[0]
    assert module[3].bias.tolist() == net.biases[2]


def test_from_torch_float64_module_agrees_with_torch(backend):
    torch.manual_seed(0)
    module = nn.Sequential(nn.Linear(3, 6), nn.LeakyReLU(), nn.Linear(6, 4), nn.Tanh(),
                           nn.Linear(4, 4), nn.Identity(), nn.Linear(4, 3), nn.Softmax(dim=1)).double()
    net = pn.from_torch(module, backend=backend, loss="categorical_crossentropy")
    assert net.activations == ["leaky_relu", "tanh", "linear", "softmax"]
    assert net.loss_name == "categorical_crossentropy"
    assert net.backend == backend
    _assert_close(net.predict(X), _torch_out(module, X))


def test_from_torch_float32_weights_are_converted_exactly():
    torch.manual_seed(1)
    module = nn.Sequential(nn.Linear(3, 4), nn.Sigmoid(), nn.Linear(4, 1))
    net = pn.from_torch(module)
    assert net.weights[0] == module[0].weight.double().tolist()
    assert net.biases[1] == module[2].bias.double().tolist()
    assert net.activations == ["sigmoid", "linear"]
    _assert_close(net.predict(X), _torch_out(module.double(), X))


def test_linear_without_bias_gets_zero_biases():
    module = nn.Sequential(nn.Linear(3, 2, bias=False), nn.ReLU())
    net = pn.from_torch(module)
    assert net.biases == [[0.0, 0.0]]
    assert net.weights == [module[0].weight.double().tolist()]


def test_a_trained_torch_model_keeps_training_in_plainnet():
    torch.manual_seed(2)
    module = nn.Sequential(nn.Linear(2, 3), nn.Sigmoid(), nn.Linear(3, 1), nn.Sigmoid())
    net = pn.from_torch(module, loss="binary_crossentropy")
    history = net.train([[0.0, 1.0], [1.0, 0.0]], [1.0, 0.0], epochs=3, learning_rate=0.5)
    assert len(history) == 3 and history[-1] < history[0]


def test_scaler_is_folded_into_the_first_layer(backend):
    net = pn.Network([3, 4, 2], seed=3, backend=backend, activation="tanh")
    net.fit_scaler([[1.0, 100.0, -5.0], [3.0, 300.0, -1.0], [2.0, 50.0, -9.0]])
    module = net.to_torch()
    assert len(module) == 4  # still just Linear and activation modules
    _assert_close(_torch_out(module, X), net.predict(X), tol=1e-10)


@pytest.mark.parametrize("module, message", [
    (lambda: nn.Sequential(nn.Linear(3, 4), nn.Dropout(0.5), nn.Linear(4, 1)),
     r"layer 1 \(Dropout\(p=0.5, inplace=False\)\) is not supported"),
    (lambda: nn.Sequential(nn.Conv1d(1, 1, 3)), r"layer 0 \(Conv1d\(.*\)\) is not supported"),
    (lambda: nn.Sequential(nn.Linear(3, 4), nn.LeakyReLU(0.2)),
     r"layer 1 \(LeakyReLU\(negative_slope=0.2\)\).*negative_slope 0.01"),
    (lambda: nn.Sequential(nn.Linear(3, 4), nn.Softmax(dim=-1), nn.Linear(4, 2)),
     r"layer 1 \(Softmax\(dim=-1\)\).*only.*last layer"),
    (lambda: nn.Sequential(nn.Linear(3, 4), nn.Softmax(dim=0)), r"layer 1 .*dim=-1 or dim=1"),
    (lambda: nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Tanh()),
     r"layer 2 \(Tanh\(\)\) must follow an nn.Linear"),
    (lambda: nn.Sequential(nn.Sigmoid(), nn.Linear(3, 4)), r"layer 0 \(Sigmoid\(\)\) must follow"),
    (lambda: nn.Sequential(nn.Linear(3, 4), nn.Linear(5, 2)),
     r"layer 1 \(Linear\(in_features=5.*\)\) takes 5 inputs, but the layer before gives 4"),
    (lambda: nn.Sequential(), r"empty"),
], ids=["dropout", "conv1d", "leaky-slope", "softmax-inside", "softmax-dim", "two-activations",
        "activation-first", "widths", "empty"])
def test_unsupported_modules_are_named(module, message):
    with pytest.raises(ValueError, match=message):
        pn.from_torch(module())


def test_from_torch_wants_a_sequential():
    with pytest.raises(TypeError, match="nn.Sequential"):
        pn.from_torch(nn.Linear(2, 1))


def test_from_torch_checks_the_loss():
    with pytest.raises(ValueError, match="needs output_activation='softmax'"):
        pn.from_torch(nn.Sequential(nn.Linear(2, 2)), loss="categorical_crossentropy")


def test_without_torch_the_error_says_what_to_install():
    # (that ``import plainnet`` and using a network load no torch: test_numpy.py)
    package_parent = PACKAGE_PARENT
    code = ("import sys; sys.path.insert(0, %r); sys.modules['torch'] = None\n"
            "import plainnet as pn\n"
            "for convert in (lambda: pn.Network([2, 1]).to_torch(), lambda: pn.from_torch(None)):\n"
            "    try:\n        convert()\n"
            "    except ImportError as exc:\n        print(exc)\n" % package_parent)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.count("pip install torch") == 2, result.stderr
