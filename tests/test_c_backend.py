"""Choosing the C backend, what happens where it is missing, and its own behaviour
(errors from the C core, interrupted training)."""

import os
import random
import signal
import subprocess
import sys
import textwrap
import threading

import pytest

import plainnet

HAS_C = "c" in plainnet.available_backends()
needs_c = pytest.mark.skipif(not HAS_C, reason="the C backend is not built here")

# Run in a subprocess: Python with an import hook that makes plainnet._pn_c unimportable.
BLOCK_C = """
import sys

class BlockC:
    def find_spec(self, name, path=None, target=None):
        if name == "plainnet._pn_c":
            raise ImportError("No module named 'plainnet._pn_c' (blocked by the test)")
        return None

sys.meta_path.insert(0, BlockC())
"""


def run_python(code, **env):
    full_env = dict(os.environ)
    full_env.pop("PLAINNET_BACKEND", None)
    full_env.update(env)
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=full_env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


@pytest.fixture
def default_backend():
    """Restore the default backend after a test that changes it."""
    before = plainnet.get_backend()
    yield
    plainnet.set_backend(before)


@needs_c
def test_c_is_the_fastest_and_the_default():
    assert plainnet.available_backends() == ["c", "python"]
    assert run_python("import plainnet; print(plainnet.get_backend())") == "c"


@needs_c
def test_set_backend_c(default_backend):
    plainnet.set_backend("python")
    assert plainnet.Network([2, 2, 1]).backend == "python"
    plainnet.set_backend("c")
    assert plainnet.get_backend() == "c"
    net = plainnet.Network([2, 2, 1], seed=1)
    assert net.backend == "c"
    assert repr(net) == "Network([2, 2, 1], activation='sigmoid', backend='c')"


@needs_c
def test_network_backend_argument():
    assert plainnet.Network([3, 1], backend="c").backend == "c"
    assert plainnet.Network([3, 1], backend="python").backend == "python"
    assert plainnet.Network([3, 1], backend="auto").backend == "c"


@needs_c
def test_plainnet_backend_environment_variable():
    code = "import plainnet; print(plainnet.get_backend(), plainnet.Network([2, 1]).backend)"
    assert run_python(code, PLAINNET_BACKEND="c") == "c c"
    assert run_python(code, PLAINNET_BACKEND="python") == "python python"


BLOCK_CFFI = """
import sys

class BlockCffi:
    def find_spec(self, name, path=None, target=None):
        if name in ("_cffi_backend", "cffi"):
            raise ModuleNotFoundError("No module named %r (blocked by the test)" % name, name=name)
        return None

sys.meta_path.insert(0, BlockCffi())
"""


@needs_c
@pytest.mark.skipif(__import__("platform").python_implementation() == "PyPy",
                    reason="PyPy's cffi is part of the interpreter: it cannot be missing")
def test_without_cffi_the_hint_is_pip_install_cffi():
    out = run_python(BLOCK_CFFI + """
import plainnet
print(plainnet.available_backends())
try:
    plainnet.set_backend("c")
except plainnet.BackendUnavailable as exc:
    print("pip install cffi" in str(exc), "plainnet[c]" in str(exc))
""")
    assert out.splitlines() == ["['python']", "True False"]


def test_without_the_c_core():
    out = run_python(BLOCK_C + """
import plainnet
print(plainnet.available_backends())
print(plainnet.get_backend(), plainnet.Network([2, 1]).backend)
try:
    plainnet.set_backend("c")
except plainnet.BackendUnavailable as exc:
    print(isinstance(exc, ImportError), "pip install" in str(exc), "backend='python'" in str(exc))
print(plainnet.get_backend())
try:
    plainnet.Network([2, 1], backend="c")
except ImportError as exc:
    print(type(exc).__name__)
""")
    assert out.splitlines() == [
        "['python']",
        "python python",
        "True True True",
        "python",
        "BackendUnavailable",
    ]


def test_plainnet_backend_c_without_the_c_core():
    out = run_python(BLOCK_C + """
import plainnet
try:
    plainnet.Network([2, 1])
except plainnet.BackendUnavailable as exc:
    print("unavailable:", "C backend is not available" in str(exc))
""", PLAINNET_BACKEND="c")
    assert out == "unavailable: True"


@needs_c
def test_import_plainnet_does_not_load_the_c_core():
    out = run_python("""
import sys, plainnet
print("plainnet._pn_c" in sys.modules, "_cffi_backend" in sys.modules)
plainnet.Network([2, 1], backend="c")
print("plainnet._pn_c" in sys.modules)
""")
    assert out.splitlines() == ["False False", "True"]


@needs_c
def test_core_errors_become_exceptions():
    from plainnet import _c_backend

    core = _c_backend.Core([2, 1], ["sigmoid"], "mse", [[[1.0, 2.0]]], [[0.5]])
    with pytest.raises(ValueError, match="wrong size"):
        core.set_params([[[1.0]]], [[0.5]])
    assert core.get_params() == ([[[1.0, 2.0]]], [[0.5]])
    with pytest.raises(ValueError, match="wrong size"):
        core.forward([1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="invalid argument"):  # softmax on a hidden layer
        _c_backend.Core([2, 2, 1], ["softmax", "sigmoid"], "mse",
                        [[[0.0, 0.0], [0.0, 0.0]], [[0.0, 0.0]]], [[0.0, 0.0], [0.0]])


@needs_c
def test_first_nonfinite():
    from array import array

    from plainnet import _c_backend

    assert _c_backend.first_nonfinite(array("d", [1.0] * 3000)) is None
    values = array("d", [0.5] * 3000)
    values[2500] = float("nan")
    values[2999] = float("inf")
    assert _c_backend.first_nonfinite(values) == 2500
    assert _c_backend.first_nonfinite(array("d")) is None


def _interrupt_after(seconds):
    timer = threading.Timer(seconds, lambda: os.kill(os.getpid(), signal.SIGINT))
    timer.start()
    return timer


@needs_c
@pytest.mark.skipif(sys.platform == "win32", reason="needs SIGINT")
@pytest.mark.parametrize("chunk_seconds", [0.002, 0.0])
def test_ctrl_c_leaves_the_weights_of_whole_epochs(chunk_seconds, monkeypatch):
    """Ctrl-C lands between C calls; with chunk_seconds 0 every call is one row,
    so it lands mid-epoch, which must be rolled back."""
    from plainnet import _driver

    monkeypatch.setattr(_driver, "CHUNK_SECONDS", chunk_seconds)
    rng = random.Random(2)
    X = [[rng.uniform(-1, 1) for _ in range(8)] for _ in range(200)]
    T = [[rng.random() for _ in range(3)] for _ in range(200)]
    net = plainnet.Network([8, 12, 3], seed=3, backend="c")
    start = (net.weights, net.biases)
    timer = _interrupt_after(0.3)
    try:
        with pytest.raises(KeyboardInterrupt):
            net.train(X, T, epochs=10 ** 6, learning_rate=0.05)
    finally:
        timer.cancel()
    completed = net.epochs_trained
    assert completed > 0
    # the same network trained for exactly `completed` whole epochs
    replay = plainnet.Network.from_weights(*start, backend="c")
    replay.train(X, T, epochs=completed, learning_rate=0.05)
    assert (net.weights, net.biases) == (replay.weights, replay.biases)
