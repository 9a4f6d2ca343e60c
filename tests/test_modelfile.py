"""Model files: exact round trips, complete validation, atomic saves."""

import json
import os

import pytest

import plainnet as pn
from conftest import TUTORIAL_DATA, TUTORIAL_TARGETS, env_with_package


def _trained(backend, **kw):
    net = pn.Network([2, 3, 1], seed=7, backend=backend, **kw)
    net.train(TUTORIAL_DATA, TUTORIAL_TARGETS, epochs=50)
    return net


@pytest.mark.parametrize("kw", [{}, {"activation": "tanh", "output_activation": "linear"},
                                {"activation": "relu", "output_activation": "sigmoid",
                                 "loss": "binary_crossentropy"}])
def test_round_trip_is_exact(backend, tmp_path, kw):
    net = _trained(backend, **kw)
    path = tmp_path / "model.json"
    net.save(path)
    again = pn.load(path, backend=backend)
    assert again.weights == net.weights and again.biases == net.biases  # == on every float
    assert again.sizes == net.sizes and again.activations == net.activations
    assert again.loss_name == net.loss_name
    for x in TUTORIAL_DATA + [[-7, -3], [20, 2], [0.1, 1e-9]]:
        assert again.feedforward(x) == net.feedforward(x)
    d = net.to_dict()
    assert pn.Network.from_dict(json.loads(json.dumps(d)), backend=backend).weights == net.weights
    assert d["format"] == "plainnet" and d["version"] == 1


def test_save_is_plain_json_with_usual_permissions(tmp_path):
    net = _trained("python")
    path = tmp_path / "m.json"
    net.save(str(path))
    assert json.loads(path.read_text())["sizes"] == [2, 3, 1]
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask
    assert os.listdir(tmp_path) == ["m.json"]  # no temporary file left behind


def _good_dict():
    return pn.Network([2, 2, 1], seed=1, backend="python").to_dict()


def _with(**changes):
    d = _good_dict()
    for k, v in changes.items():
        if v is KeyError:
            del d[k]
        else:
            d[k] = v
    return d


BAD_DICTS = [
    ([1, 2, 3], "must be a JSON object"),
    (_with(format="keras"), "not a plainnet model"),
    (_with(version=2), "newer than this plainnet reads"),
    (_with(version="1"), "'version' must be an integer"),
    (_with(version=0), "at least 1"),
    (_with(weights=KeyError), "missing field(s): weights"),
    (_with(extra=1), "unknown field(s): extra"),
    (_with(sizes=[2, "2", 1]), "'sizes' must be a list of integers"),
    (_with(sizes=[2]), "at least two layers"),
    (_with(sizes=[2, 0, 1]), "at least two layers of width >= 1"),
    (_with(sizes=[10 ** 6, 10 ** 6, 1]), "over the limit"),
    (_with(sizes=[3, 2, 1]), "weights[0][0] has 2 values, expected 3"),
    (_with(activations=["sigmoid"]), "one name per layer"),
    (_with(activations=["sigmoid", "mish"]), "unknown activation"),
    (_with(activations=["sigmoid", 5]), "must be a string"),
    (_with(loss="hinge"), "unknown loss"),
    (_with(weights=[[[1, 2], [1, 2]], [[1, "2"]]]), "weights[1][0][1] must be a number"),
    (_with(weights=[[[1, 2], [1, 2]], [[1, 1e400]]]), "weights[1][0][1] must be finite"),
    (_with(weights=[[[1, 2], [1, 2]], [[1, True]]]), "must be a number"),
    (_with(weights=[[[1, 2], [1, 2]], [1]]), "weights[1][0] must be a sequence"),
    (_with(weights={"a": 1}), "weights must be a list with one entry per layer"),
    (_with(biases=[[0, 0], [0, 0]]), "biases[1] has 2 values"),
    (_with(biases=None), "biases must be a list"),
]


@pytest.mark.parametrize("d,words", BAD_DICTS, ids=[w for _, w in BAD_DICTS])
def test_from_dict_rejects(backend, d, words):
    with pytest.raises(pn.ModelFileError) as info:
        pn.Network.from_dict(d, backend=backend)
    assert words in str(info.value)
    assert isinstance(info.value, ValueError)


BAD_FILES = [
    (b"", "not valid JSON"),
    (b'{"format": "plainnet", "version": 1, "sizes": [2, 2', "not valid JSON"),
    (b"[" * 100000 + b"]" * 100000, "nested too deeply"),
    (b'{"format": "plainnet", "version": 1, "sizes": [2, 2, 1], "weights": [[[NaN, 1]]]}', "not a finite number"),
    (b'{"version": 1' + b", \"sizes\": [" + b"9" * 5000 + b"]}", "not valid JSON"),
    (b"\xff\xfe\x00", "not UTF-8"),
    (b"null", "must be a JSON object"),
]


@pytest.mark.parametrize("content,words", BAD_FILES, ids=[w for _, w in BAD_FILES])
def test_load_rejects_bad_files(backend, tmp_path, content, words):
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    with pytest.raises(pn.ModelFileError) as info:
        pn.load(path, backend=backend)
    assert words in str(info.value)
    assert str(path) in str(info.value)


def test_truncated_files_all_rejected(backend, tmp_path):
    text = _trained(backend).to_dict()
    from plainnet._modelfile import dumps
    raw = dumps(text).encode()
    path = tmp_path / "t.json"
    for cut in range(0, len(raw) - 2, max(1, len(raw) // 60)):
        path.write_bytes(raw[:cut])
        with pytest.raises(pn.ModelFileError):
            pn.load(path, backend=backend)


def test_huge_file_refused_before_parsing(tmp_path):
    path = tmp_path / "huge.json"
    path.write_bytes(b" " * (32 * 100 + (1 << 20) + 10))
    with pytest.raises(pn.ModelFileError) as info:
        pn.load(path, max_parameters=100)
    assert "larger than a model of 100 parameters" in str(info.value)


def test_failed_save_leaves_old_file_intact(tmp_path, monkeypatch):
    path = tmp_path / "model.json"
    old = _trained("python")
    old.save(path)
    before = path.read_bytes()
    new = pn.Network([2, 3, 1], seed=99, backend="python")

    def disk_full(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(OSError):
        new.save(path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["model.json"]
    assert pn.load(path).weights == old.weights


def test_save_into_missing_folder_fails_cleanly(tmp_path):
    with pytest.raises(FileNotFoundError):
        _trained("python").save(tmp_path / "nope" / "m.json")


def test_load_missing_file():
    with pytest.raises(FileNotFoundError):
        pn.load("/nonexistent/plainnet/model.json")


def test_pickle_round_trip_is_exact(backend):
    import pickle
    net = _trained(backend, activation="tanh")
    net.train(TUTORIAL_DATA, TUTORIAL_TARGETS, epochs=3, optimizer="adam", shuffle=True, scale=True)
    again = pickle.loads(pickle.dumps(net))
    assert again.to_dict() == net.to_dict()
    assert again.feedforward([-7, -3]) == net.feedforward([-7, -3])


def test_killed_while_saving_leaves_a_whole_file(tmp_path):
    """A process killed (SIGKILL) at random moments while it saves, again and again,
    leaves either the old or a new model, whole, and never a partial file."""
    import signal
    import subprocess
    import sys
    import time

    path = tmp_path / "model.json"
    pn.Network([50, 200, 10], seed=0, backend="python").save(path)
    valid = {path.read_bytes()}
    script = (
        "import sys, plainnet as pn\n"
        "nets = [pn.Network([50, 200, 10], seed=s, backend='python') for s in (1, 2)]\n"
        "print('ready', flush=True)\n"
        "k = 0\n"
        "while True:\n"
        "    nets[k % 2].save(sys.argv[1]); k += 1\n"
    )
    for s in (1, 2):
        other = tmp_path / ("n%d.json" % s)
        pn.Network([50, 200, 10], seed=s, backend="python").save(other)
        valid.add(other.read_bytes())
    env = env_with_package()
    for delay in (0.05, 0.13, 0.21, 0.34, 0.55):
        proc = subprocess.Popen([sys.executable, "-c", script, str(path)], env=env,
                                stdout=subprocess.PIPE, universal_newlines=True)
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
        assert path.read_bytes() in valid
        pn.load(path)
    leftovers = [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]
    # A kill between creating and renaming the temporary file may leave one
    # behind (never the target); it is a hidden dot-file named after the target.
    assert all(p.startswith(".model.json.") for p in leftovers)


def test_column_names_are_saved_and_validated(tmp_path):
    net = pn.Network([2, 3, 1], seed=0, backend="python")
    assert net.column_names is None
    net.set_column_names(["weight", "height"], ["female"])
    net.save(tmp_path / "m.json")
    assert pn.load(tmp_path / "m.json").column_names == {"inputs": ["weight", "height"], "outputs": ["female"]}
    with pytest.raises(ValueError, match="3 column names given for inputs, the network has 2"):
        net.set_column_names(["a", "b", "c"], ["y"])
    with pytest.raises(TypeError, match="must be a list of strings"):
        net.set_column_names(["a", 2], ["y"])
    d = net.to_dict()
    for bad in ({"inputs": ["a"], "outputs": ["y"]}, {"inputs": ["a", "b"]}, ["a", "b"],
                {"inputs": ["a", None], "outputs": ["y"]}):
        d["columns"] = bad
        with pytest.raises(pn.ModelFileError):
            pn.Network.from_dict(d)
