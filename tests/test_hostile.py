"""Hostile model files, hostile arguments and awkward file systems.

Each test here is the regression test of one reported problem: deep files,
absurd limits, files save() wrote but load() refused, scalers that turn
finite inputs into infinities, lying __index__, long names, symlinks and
permissions, FIFOs, huge echoed values and exceptions that did not pickle.
"""

import json
import math
import os
import pickle
import stat
import subprocess
import sys

import pytest

import plainnet as pn
from plainnet import _modelfile
from plainnet._data import as_int
from conftest import TUTORIAL_DATA, TUTORIAL_TARGETS, env_with_package


def _deep_dict(n_layers, weights=None):
    """A valid model dict of ``n_layers`` layers of width 1 (2 parameters each)."""
    return {
        "format": "plainnet", "version": 1, "sizes": [1] * (n_layers + 1),
        "activations": ["linear"] * n_layers, "loss": "mse",
        "weights": [[[0.5]]] * n_layers if weights is None else weights,
        "biases": [[0.25]] * n_layers,
    }


def _write_json(path, d):
    path.write_text(json.dumps(d))
    return path


# -- (10) scalers that would turn finite inputs into infinities ------------

def _with_scaler(mean, scale, backend):
    d = pn.Network([2, 2, 1], seed=0, backend="python").to_dict()
    d["scaler"] = {"mean": mean, "scale": scale}
    return d


@pytest.mark.parametrize("scale", [5e-324, 2.2250738585072014e-308 / 2, 1e-300, 9.9e-291])
def test_file_with_a_tiny_scaler_scale_is_refused(backend, tmp_path, scale):
    path = _write_json(tmp_path / "m.json", _with_scaler([0.0, 0.0], [1.0, scale], backend))
    with pytest.raises(pn.ModelFileError) as info:
        pn.load(path, backend=backend)
    assert "scaler scale[1]" in str(info.value) and "1e-290" in str(info.value)
    with pytest.raises(ValueError, match=r"scaler scale\[1\]"):
        pn.Scaler([0.0, 0.0], [1.0, scale])


def test_smallest_allowed_scale_loads(backend):
    net = pn.Network.from_dict(_with_scaler([0.0, 0.0], [1.0, 1e-290], backend), backend=backend)
    assert net.scaler.scale == [1.0, 1e-290]


def test_scaled_input_that_overflows_raises_naming_the_column(backend):
    net = pn.Network.from_dict(_with_scaler([0.0, 1e308], [1.0, 0.5], backend), backend=backend)
    bad = [1.0, -1e308]  # (-1e308 - 1e308) / 0.5 is -inf
    with pytest.raises(ValueError, match=r"x\[1\] = -1e\+308 scales to -inf"):
        net.feedforward(bad)
    with pytest.raises(ValueError, match=r"row 1, column 1: -1e\+308 scales to -inf"):
        net.predict([[0.0, 1e308], bad])
    with pytest.raises(ValueError, match=r"row 0, column 1"):
        net.loss([bad], [0.5])
    before = net.to_dict()
    with pytest.raises(ValueError, match=r"row 0, column 1"):
        net.train([bad], [0.5], epochs=1)
    assert net.to_dict() == before
    # Inputs the scaler can represent still work, with the same numbers as before.
    assert net.predict([[0.0, 1e308]]) == [net.feedforward([0.0, 1e308])]
    s = net.scaler
    assert s.transform_row([3.0, 1e308]) == [3.0, 0.0]
    assert s.transform([[3.0, 1e308], [1.0, 5e307]]) == [[3.0, 0.0], [1.0, (5e307 - 1e308) / 0.5]]


def test_fit_is_unchanged_for_ordinary_data_and_safe_for_tiny_spread():
    from plainnet._data import as_rows
    rows = as_rows([[1.0, 10.0], [2.0, 10.0], [4.0, 10.0]], 2)
    s = pn.Scaler.fit(rows)
    mean = (1.0 + 2.0 + 4.0) / 3.0
    sq = (1.0 - mean) ** 2 + (2.0 - mean) ** 2 + (4.0 - mean) ** 2
    assert s.mean == [mean, 10.0] and s.scale == [math.sqrt(sq / 3.0), 1.0]
    # A spread of subnormal numbers: a scale of 5e-324 would send 1.0 to inf.
    tiny = pn.Scaler.fit(as_rows([[0.0], [1e-323]], 1))
    assert tiny.scale == [1.0] and tiny.mean == [5e-324]
    net = pn.Network([1, 1], seed=0, backend="python")
    net.fit_scaler([[0.0], [1e-323]])
    assert pn.Network.from_dict(net.to_dict()).scaler.scale == [1.0]


# -- (11) as_int does not trust what __index__ returns --------------------

class _LyingInt(int):
    def __lt__(self, other):
        return False

    def __ge__(self, other):
        return True

    def __int__(self):
        return 7

    def __index__(self):
        return _LyingInt(5)


class _Lie:
    def __init__(self, value):
        self.value = value

    def __index__(self):
        return _LyingInt(self.value)


def test_as_int_converts_index_results_to_exact_ints(backend):
    v = as_int(_Lie(-2), "n")
    assert type(v) is int and v == -2
    with pytest.raises(ValueError, match=r"sizes\[1\] must be at least 1, got -2"):
        pn.Network([2, _Lie(-2), 1], backend=backend)
    with pytest.raises(ValueError, match="epochs must be at least 1, got -3"):
        pn.Network([2, 1], backend=backend).train([[0.0, 0.0]], [0.0], epochs=_Lie(-3))
    net = pn.Network([2, _Lie(3), 1], seed=0, backend=backend)
    assert net.sizes == [2, 3, 1] and type(net.sizes[1]) is int
    assert type(as_int(_LyingInt(4), "n")) is int


def test_as_int_refuses_index_returning_a_non_int():
    class Bad:
        def __index__(self):
            return 2.5
    with pytest.raises(TypeError):
        as_int(Bad(), "n")


# -- (20) every plainnet exception pickles ----------------------------------

def _exceptions():
    diverged = pn.TrainingDiverged.in_epoch(3, float("inf"), [0.5, 0.25])
    return [
        diverged,
        pn.TrainingDiverged("custom", 2, [1.0]),
        pn.ModelFileError("m.json: not a plainnet model"),
        pn.BackendUnavailable("the C backend is not built"),
        pn.TrainingInProgress("train: this network is being trained by another thread"),
    ]


@pytest.mark.parametrize("exc", _exceptions(), ids=lambda e: type(e).__name__)
def test_exceptions_round_trip_through_pickle(exc):
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        again = pickle.loads(pickle.dumps(exc, protocol))
        assert type(again) is type(exc)
        assert str(again) == str(exc) and again.args == exc.args
        assert vars(again) == vars(exc)
        for attr in ("epoch", "losses", "loss"):
            assert getattr(again, attr, None) == getattr(exc, attr, None)


def test_diverged_exception_pickle_keeps_its_attributes():
    exc = pickle.loads(pickle.dumps(pn.TrainingDiverged.in_epoch(3, float("inf"), [0.5, 0.25])))
    assert (exc.epoch, exc.losses, exc.loss) == (3, [0.5, 0.25], float("inf"))
    assert str(exc).startswith("training diverged in epoch 3 (loss inf)")


def _diverge_in_worker(backend):
    net = pn.Network([2, 3, 1], seed=0, backend=backend, activation="linear")
    net.train([[1e150, -1e150], [2e150, 1e150]], [1.0, 0.0], epochs=50, learning_rate=1.0)


def test_divergence_in_a_worker_process_arrives_as_training_diverged(backend):
    from concurrent.futures import ProcessPoolExecutor
    with ProcessPoolExecutor(max_workers=1) as pool:
        future = pool.submit(_diverge_in_worker, backend)
        exc = future.exception(timeout=120)
    assert type(exc) is pn.TrainingDiverged
    assert exc.epoch >= 1 and len(exc.losses) == exc.epoch - 1
    assert "diverged in epoch %d" % exc.epoch in str(exc)
