"""Shared fixtures: every test that takes ``backend`` runs once per available backend."""

import os
import random

import pytest

import plainnet

BACKENDS = plainnet.available_backends()

# The folder holding the plainnet under test (src/ or site-packages), for
# tests that run it in a child process.
PACKAGE_PARENT = os.path.dirname(os.path.dirname(os.path.abspath(plainnet.__file__)))


def env_with_package():
    """os.environ for a child process that imports the plainnet under test."""
    env = dict(os.environ)
    env["PYTHONPATH"] = PACKAGE_PARENT
    return env

# The tutorial's data: weight minus 135 lb, height minus 66 in; 1 = F, 0 = M.
TUTORIAL_DATA = [[-2.0, -1.0], [25.0, 6.0], [17.0, 4.0], [-15.0, -6.0]]
TUTORIAL_TARGETS = [1.0, 0.0, 0.0, 1.0]
EMILY = [-7.0, -3.0]
FRANK = [20.0, 2.0]


def random_data(n_rows, n_in, n_out, seed=0):
    """Reproducible (data, targets): inputs uniform in [-1, 1], targets in [0, 1]."""
    rng = random.Random(seed)
    data = [[rng.uniform(-1, 1) for _ in range(n_in)] for _ in range(n_rows)]
    targets = [[rng.uniform(0, 1) for _ in range(n_out)] for _ in range(n_rows)]
    return data, targets


def both_backends(sizes, seed, **kwargs):
    """The same network on the Python and on the C backend: (python, c)."""
    return tuple(plainnet.Network(sizes, seed=seed, backend=b, **kwargs) for b in ("python", "c"))


@pytest.fixture(params=BACKENDS)
def backend(request):
    """The name of a backend available here: "c" and "python", or "python" alone."""
    return request.param


def pytest_report_header(config):
    return "plainnet %s from %s; backends: %s" % (
        plainnet.__version__,
        os.path.dirname(plainnet.__file__),
        ", ".join(BACKENDS),
    )
