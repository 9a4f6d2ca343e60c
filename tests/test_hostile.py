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


# -- (7) the number of layers is limited, and checked before the weights ----

def test_layer_limit_is_ten_thousand():
    assert _modelfile.MAX_LAYERS == 10000


def test_file_with_too_many_layers_is_refused(backend, tmp_path):
    n = _modelfile.MAX_LAYERS + 1
    path = _write_json(tmp_path / "deep.json", _deep_dict(n))
    with pytest.raises(pn.ModelFileError) as info:
        pn.load(path, backend=backend)
    message = str(info.value)
    assert "%d layers" % n in message and "limit of 10000 layers" in message
    assert len(message) < 400


def test_layer_count_is_checked_before_the_weights(backend):
    # Weights that are not even lists: the layer count is what is reported.
    d = _deep_dict(50000, weights=["not a layer"] * 50000)
    with pytest.raises(pn.ModelFileError, match="50000 layers, over the limit of 10000"):
        pn.Network.from_dict(d, backend=backend)


def test_file_with_the_maximum_number_of_layers_loads(backend, tmp_path):
    n = _modelfile.MAX_LAYERS
    path = _write_json(tmp_path / "deep.json", _deep_dict(n))
    net = pn.load(path, backend=backend)
    assert len(net.sizes) == n + 1
    # 0.5 * x + 0.25 applied 10000 times converges to 0.5 from any start.
    assert net.feedforward([3.0]) == pytest.approx([0.5], abs=1e-12)


def test_save_refuses_a_network_too_deep_to_load(tmp_path):
    net = pn.Network([1] * (_modelfile.MAX_LAYERS + 2), seed=0, backend="python", activation="linear")
    path = tmp_path / "deep.json"
    with pytest.raises(ValueError, match="10001 layers, over the limit of 10000"):
        net.save(path)
    assert os.listdir(tmp_path) == []


# -- (8) max_parameters is checked, and reading does not preallocate -------

def test_huge_max_parameters_reads_a_small_file(backend, tmp_path):
    path = tmp_path / "m.json"
    pn.Network([2, 2, 1], seed=3, backend="python").save(path)
    assert os.path.getsize(path) < 2000
    net = pn.load(path, backend=backend, max_parameters=10 ** 12)
    assert net.sizes == [2, 2, 1]
    assert net.weights == pn.Network([2, 2, 1], seed=3, backend="python").weights
    net = pn.load(path, backend=backend, max_parameters=10 ** 30)
    assert net.sizes == [2, 2, 1]


@pytest.mark.parametrize("bad, exc", [(1.5, TypeError), ("9", TypeError), (True, TypeError),
                                      ([9], TypeError), (0, ValueError), (-5, ValueError)])
def test_max_parameters_is_validated(tmp_path, bad, exc):
    path = tmp_path / "m.json"
    net = pn.Network([2, 2, 1], seed=3, backend="python")
    net.save(path)
    with pytest.raises(exc, match="max_parameters"):
        pn.load(path, max_parameters=bad)
    with pytest.raises(exc, match="max_parameters"):
        pn.Network.from_dict(net.to_dict(), max_parameters=bad)


def test_max_parameters_still_limits(tmp_path):
    path = tmp_path / "m.json"
    pn.Network([2, 2, 1], seed=3, backend="python").save(path)  # 9 parameters
    assert pn.load(path, max_parameters=9).n_parameters == 9
    with pytest.raises(pn.ModelFileError, match="9 parameters, over the limit of 8"):
        pn.load(path, max_parameters=8)


# -- (9) save never writes what load refuses: the epochs count -------------

def test_save_refuses_epochs_load_would_refuse(backend, tmp_path):
    d = pn.Network([2, 2, 1], seed=0, backend="python").to_dict()
    d["training"]["epochs"] = 2 ** 62  # the largest count a file may hold
    net = pn.Network.from_dict(d, backend=backend)
    path = tmp_path / "m.json"
    net.save(path)
    assert pn.load(path, backend=backend).epochs_trained == 2 ** 62
    before = path.read_bytes()
    net.train(TUTORIAL_DATA, TUTORIAL_TARGETS, epochs=1)
    assert net.epochs_trained == 2 ** 62 + 1
    with pytest.raises(ValueError, match=r"epochs_trained .* over the most a model file holds \(2\*\*62\)"):
        net.save(path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["m.json"]


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


@pytest.mark.skipif(__import__("platform").python_implementation() == "PyPy",
                    reason="PyPy's int.__index__ keeps an int subclass's own value differently")
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


# -- (12) long file names ---------------------------------------------------

def test_save_to_a_245_character_name(backend, tmp_path):
    name = "m" * 240 + ".json"
    assert len(name) == 245
    net = pn.Network([2, 3, 1], seed=4, backend=backend)
    net.save(tmp_path / name)
    assert os.listdir(tmp_path) == [name]
    assert pn.load(tmp_path / name, backend=backend).weights == net.weights


# -- (13) permissions and symlinks of an existing file ------------------------

@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
def test_save_keeps_the_permissions_of_an_existing_file(tmp_path):
    path = tmp_path / "m.json"
    path.write_text("old")
    os.chmod(path, 0o600)
    pn.Network([2, 1], seed=0, backend="python").save(path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert pn.load(path).sizes == [2, 1]
    os.chmod(path, 0o640)
    pn.Network([2, 2, 1], seed=0, backend="python").save(path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o640


@pytest.mark.skipif(not hasattr(os, "symlink") or os.name != "posix", reason="needs symlinks")
def test_save_through_a_symlink_updates_its_target(tmp_path):
    (tmp_path / "real").mkdir()
    target = tmp_path / "real" / "model.json"
    target.write_text("old")
    os.chmod(target, 0o600)
    link = tmp_path / "link.json"
    os.symlink(os.path.join("real", "model.json"), str(link))
    net = pn.Network([2, 3, 1], seed=5, backend="python")
    net.save(link)
    assert os.path.islink(link) and os.readlink(str(link)) == os.path.join("real", "model.json")
    assert pn.load(target).weights == net.weights
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o600
    assert sorted(os.listdir(tmp_path)) == ["link.json", "real"]
    assert os.listdir(tmp_path / "real") == ["model.json"]
    # A dangling link is written through, as open() would: the target is created.
    os.symlink("new.json", str(tmp_path / "dangling.json"))
    net.save(tmp_path / "dangling.json")
    assert os.path.islink(tmp_path / "dangling.json")
    assert pn.load(tmp_path / "new.json").weights == net.weights


@pytest.mark.skipif(not hasattr(os, "link") or os.name != "posix", reason="needs hard links")
def test_save_replaces_a_hard_linked_path_with_a_new_file(tmp_path):
    """Documented: saving is atomic (a new file renamed over the path), so other
    hard links to the old file keep the old contents."""
    path = tmp_path / "m.json"
    old = pn.Network([2, 1], seed=0, backend="python")
    old.save(path)
    os.link(str(path), str(tmp_path / "other.json"))
    new = pn.Network([2, 1], seed=1, backend="python")
    new.save(path)
    assert pn.load(path).weights == new.weights
    assert pn.load(tmp_path / "other.json").weights == old.weights
    assert os.stat(path).st_nlink == 1


# -- (14) FIFOs and other files that are not regular files ------------------

_LOAD_FIFO = r"""
import sys, plainnet as pn
try:
    pn.load(sys.argv[1])
except pn.ModelFileError as exc:
    print("refused:", exc)
"""


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs os.mkfifo")
def test_load_refuses_a_fifo_without_blocking(tmp_path):
    fifo = tmp_path / "model.json"
    os.mkfifo(str(fifo))
    # In a child process: a regression must fail the test, not hang the suite.
    done = subprocess.run([sys.executable, "-c", _LOAD_FIFO, str(fifo)], capture_output=True,
                          text=True, env=env_with_package(), timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "refused: %s: not a regular file (a FIFO): refusing to read it" % fifo


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs os.mkfifo")
def test_cli_info_refuses_a_fifo_without_blocking(tmp_path):
    os.mkfifo(str(tmp_path / "m.json"))
    done = subprocess.run([sys.executable, "-m", "plainnet", "info", "m.json"], cwd=str(tmp_path),
                          capture_output=True, text=True, env=env_with_package(), timeout=60)
    assert done.returncode != 0
    assert "m.json: not a regular file (a FIFO)" in done.stderr


@pytest.mark.skipif(not (os.path.exists("/dev/null") and stat.S_ISCHR(os.stat("/dev/null").st_mode)),
                    reason="needs /dev/null as a character device")
def test_load_refuses_a_device():
    with pytest.raises(pn.ModelFileError, match="/dev/null: not a regular file"):
        pn.load("/dev/null")


def test_load_of_a_directory_is_still_an_is_a_directory_error(tmp_path):
    with pytest.raises(IsADirectoryError):
        pn.load(tmp_path)


# -- (15) bounded error messages; the field and the path are named ----------

def _message(d, backend="python"):
    with pytest.raises(pn.ModelFileError) as info:
        pn.Network.from_dict(d, backend=backend)
    return str(info.value)


def _good():
    return pn.Network([2, 2, 1], seed=1, backend="python").to_dict()


def test_huge_format_string_is_not_echoed(tmp_path):
    d = _good()
    d["format"] = "x" * (5 * 10 ** 6)
    path = _write_json(tmp_path / "m.json", d)
    with pytest.raises(pn.ModelFileError) as info:
        pn.load(path)
    message = str(info.value)
    assert message == "%s: not a plainnet model: 'format' is '%s...%s' (5000000 characters), expected 'plainnet'" % (
        path, "x" * 37, "x" * 38)


@pytest.mark.parametrize("field, value, words", [
    ("version", "v" * 10 ** 6, "'version' must be an integer"),
    ("sizes", [2] * 5000 + ["x"], "'sizes' must be a list of integers"),
    ("sizes", [0] * 5000, "'sizes' needs at least two layers"),
    ("activations", ["tanh" * 10 ** 5], "'activations' must list one name per layer"),
    ("activations", ["sigmoid", "t" * 10 ** 6], "unknown activation"),
    ("loss", "l" * 10 ** 6, "unknown loss"),
    ("columns", {"inputs": ["a" * 10 ** 6, 1], "outputs": ["y"]}, "column names"),
    ("w" * 10 ** 6, 1, "unknown field(s)"),
])
def test_hostile_values_are_echoed_briefly(field, value, words):
    d = _good()
    d[field] = value
    message = _message(d)
    assert words in message
    assert len(message) < 600
    if field == "activations" and words == "unknown activation":  # the end of the message is kept
        assert message.endswith("choose one of " + ", ".join(pn._registry.ACTIVATIONS))


def test_many_unknown_fields_are_listed_briefly():
    d = _good()
    for k in range(10000):
        d["extra%05d" % k] = k
    message = _message(d)
    assert message.startswith("unknown field(s): extra00000, extra00001")
    assert "10000 in all" in message and len(message) < 600
    d = _good()
    d["training"] = {"epochs": 0, "rng": 0, "optimizer": None, "b1t": 1.0, "b2t": 1.0, "buffers": [],
                     "k" * 10 ** 6: 1}
    message = _message(d)
    assert "'training' fields" in message and len(message) < 600


@pytest.mark.parametrize("name", [["adam"], {"a": 1}, 3, None])
def test_unhashable_optimizer_name_names_the_field(name):
    d = _good()
    d["training"]["optimizer"] = {"name": name}
    assert _message(d) == ("training 'optimizer' must be null or an object whose 'name' is one of "
                           "sgd, momentum, adam; got 'name' %s" % _modelfile._short(name))
    d["training"]["optimizer"] = ["adam"]
    assert "training 'optimizer' must be null or an object" in _message(d)


def test_optimizer_settings_are_still_checked():
    d = _good()
    d["training"]["optimizer"] = {"name": "adam", "beta1": 2.0, "beta2": 0.999, "epsilon": 1e-8,
                                  "weight_decay": 0.0}
    d["training"]["buffers"] = [[0.0] * 9, [0.0] * 9]
    assert "beta1 must be in [0, 1)" in _message(d)
    d["training"]["optimizer"]["beta1"] = 0.5
    assert pn.Network.from_dict(d).to_dict()["training"]["optimizer"]["beta1"] == 0.5


def test_failed_save_names_the_users_path(tmp_path, monkeypatch):
    path = tmp_path / "model.json"
    net = pn.Network([2, 1], seed=0, backend="python")

    def disk_full(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(OSError) as info:
        net.save(path)
    monkeypatch.undo()
    assert info.value.errno == 28 and info.value.filename == str(path)
    assert ".tmp" not in str(info.value) and str(path) in str(info.value)
    assert os.listdir(tmp_path) == []
    # Renaming over a directory fails: again the error names the path given.
    (tmp_path / "dir.json").mkdir()
    with pytest.raises(OSError) as info:
        net.save(tmp_path / "dir.json")
    assert info.value.filename == str(tmp_path / "dir.json") and ".tmp" not in str(info.value)
    assert os.listdir(tmp_path) == ["dir.json"] and os.listdir(tmp_path / "dir.json") == []


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
