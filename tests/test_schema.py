"""src/plainnet/model.schema.json, the model file's JSON Schema, is kept true:
every kind of file plainnet saves validates against it (with jsonschema,
skipped when it is not installed), and files that load() refuses for a reason
the schema can express are refused by the schema too.  It ships inside the
package (plainnet.model_schema() reads it), so a wheel must hold it."""

import copy
import json
import os
import subprocess
import sys

import pytest

import plainnet as pn
from plainnet import ModelFileError, _modelfile, _registry

from conftest import TUTORIAL_DATA, TUTORIAL_TARGETS

# The schema of the plainnet under test (src/ or site-packages): the one copy.
SCHEMA_PATH = os.path.join(os.path.dirname(os.path.abspath(pn.__file__)), "model.schema.json")
SOURCE_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def schema():
    with open(SCHEMA_PATH) as f:
        return json.load(f)


@pytest.fixture(scope="module")
def validator(schema):
    jsonschema = pytest.importorskip("jsonschema", reason="jsonschema is not installed (pip install jsonschema)")
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())


def _saved(net, tmp_path, name="m.json"):
    """The dict of ``net``'s file, as a non-Python reader would parse it."""
    path = str(tmp_path / name)
    net.save(path)
    with open(path) as f:
        return json.load(f)


def test_schema_names_what_the_registry_and_reader_know(schema):
    props = schema["properties"]
    assert props["activations"]["items"]["enum"] == list(_registry.ACTIVATIONS)
    assert props["loss"]["enum"] == list(_registry.LOSSES)
    assert set(props) == set(_modelfile._KEYS + _modelfile._OPTIONAL_KEYS)
    assert set(schema["required"]) == set(_modelfile._KEYS)
    training = schema["$defs"]["training"]
    assert set(training["properties"]) == set(training["required"]) == set(_modelfile._TRAINING_KEYS)
    from plainnet._training import Adam, Momentum, SGD
    for cls in (SGD, Momentum, Adam):
        d = schema["$defs"][cls.name]
        assert set(d["properties"]) == {"name"} | set(cls._fields)
        n = _registry.OPTIMIZERS[cls.name].n_buffers
        assert cls().n_buffers == n
    assert props["version"]["maximum"] == _modelfile.VERSION


def _every_kind():
    """(id, network) for a file of every kind plainnet writes."""
    X, T = TUTORIAL_DATA, TUTORIAL_TARGETS
    for act in _registry.hidden_activations():
        yield "hidden-" + act, pn.Network([2, 3, 1], seed=1, activation=act)
    for act in _registry.ACTIVATIONS:
        n_out = 3 if act == "softmax" else 1
        yield "output-" + act, pn.Network([2, 2, n_out], seed=1, activation="tanh", output_activation=act)
    yield "bce", pn.Network([2, 2, 1], seed=1, output_activation="sigmoid", loss="binary_crossentropy")
    cce = pn.Network([2, 4, 2], seed=1, output_activation="softmax", loss="categorical_crossentropy")
    cce.train(X, [[t, 1.0 - t] for t in T], epochs=3, optimizer="adam")
    yield "cce-adam", cce
    for opt in ("sgd", "momentum", "adam", pn.Momentum(0.5, nesterov=True, weight_decay=0.01),
                pn.Adam(beta1=0.8, beta2=0.99, epsilon=1e-6, weight_decay=0.1), pn.SGD(weight_decay=0.2)):
        net = pn.Network([2, 3, 1], seed=2)
        net.train(X, T, epochs=4, optimizer=opt, batch_size=2, shuffle=True)
        yield "trained-%r" % (opt,), net
    scaled = pn.Network([2, 3, 1], seed=3)
    scaled.train(X, T, epochs=2, scale=True)
    scaled.set_column_names(["weight", "height"], ["female"])
    yield "scaler-columns", scaled
    deep = pn.Network([3, 5, 4, 2], seed=4, activation=["relu", "gelu", "linear"])
    deep.set_column_names(["a", "b", "é"], ["x", "y"])
    yield "deep", deep
    classes = pn.Network([2, 3, 3], seed=5, output_activation="softmax", loss="categorical_crossentropy")
    classes.set_classes("species", ["setosa", "versicolor", "virginica"])
    yield "target-classes", classes
    regression = pn.Network([2, 3, 1], seed=6, output_activation="linear")
    regression.train(X, [10.0 * t + 3.0 for t in T], epochs=2, scale_targets=True)
    yield "target-scale", regression


KINDS = list(_every_kind())


@pytest.mark.parametrize("net", [n for _, n in KINDS], ids=[i for i, _ in KINDS])
def test_every_saved_model_validates(net, validator, tmp_path):
    d = _saved(net, tmp_path)
    validator.validate(d)
    assert pn.load(str(tmp_path / "m.json")).weights == net.weights


def test_a_minimal_file_validates_and_loads(validator):
    d = {"format": "plainnet", "version": 1, "sizes": [2, 1], "activations": ["sigmoid"],
         "loss": "mse", "weights": [[[0.5, -1]]], "biases": [[0]]}
    validator.validate(d)
    pn.Network.from_dict(d)
    d.update(scaler=None, columns=None, training=None)
    validator.validate(d)
    pn.Network.from_dict(d)


def _base(tmp_path):
    net = pn.Network([2, 3, 1], seed=5)
    net.train(TUTORIAL_DATA, TUTORIAL_TARGETS, epochs=2, optimizer="momentum", scale=True)
    net.set_column_names(["w", "h"], ["f"])
    return _saved(net, tmp_path)


def _set(path, value):
    def change(d):
        *head, last = path
        for key in head:
            d = d[key]
        if value is _DELETE:
            del d[last]
        else:
            d[last] = value
    return change


_DELETE = object()
INVALID = {
    "unknown field": _set(["extra"], 1),
    "wrong format": _set(["format"], "keras"),
    "newer version": _set(["version"], 2),
    "version 0": _set(["version"], 0),
    "version as text": _set(["version"], "1"),
    "no weights": _set(["weights"], _DELETE),
    "one layer size": _set(["sizes"], [3]),
    "zero width": _set(["sizes"], [2, 0, 1]),
    "unknown activation": _set(["activations", 0], "swish"),
    "unknown loss": _set(["loss"], "hinge"),
    "weight as text": _set(["weights", 0, 0, 0], "0.5"),
    "bias null": _set(["biases", 1, 0], None),
    "zero scale": _set(["scaler", "scale", 0], 0.0),
    "scaler without mean": _set(["scaler", "mean"], _DELETE),
    "columns without outputs": _set(["columns", "outputs"], _DELETE),
    "column name a number": _set(["columns", "inputs", 0], 3),
    "negative epochs": _set(["training", "epochs"], -1),
    "rng over 64 bits": _set(["training", "rng"], 2 ** 64),
    "unknown optimizer": _set(["training", "optimizer"], {"name": "rmsprop"}),
    "unknown optimizer setting": _set(["training", "optimizer", "lr"], 0.1),
    "momentum of 1": _set(["training", "optimizer", "momentum"], 1.0),
    "nesterov as text": _set(["training", "optimizer", "nesterov"], "yes"),
    "momentum with no buffer": _set(["training", "buffers"], []),
    "b1t above 1": _set(["training", "b1t"], 1.5),
    "training without rng": _set(["training", "rng"], _DELETE),
    "training a list": _set(["training"], []),
}


@pytest.mark.parametrize("case", sorted(INVALID))
def test_invalid_files_are_refused_by_load_and_by_the_schema(case, validator, tmp_path):
    d = copy.deepcopy(_base(tmp_path))
    validator.validate(d)
    INVALID[case](d)
    assert not validator.is_valid(d), case
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(d))
    with pytest.raises(ModelFileError):
        pn.load(str(path))


def test_adam_buffers_must_be_two(validator, tmp_path):
    net = pn.Network([2, 2, 1], seed=0)
    net.train(TUTORIAL_DATA, TUTORIAL_TARGETS, epochs=1, optimizer="adam")
    d = _saved(net, tmp_path)
    validator.validate(d)
    d["training"]["buffers"] = d["training"]["buffers"][:1]
    assert not validator.is_valid(d)
    with pytest.raises(ModelFileError):
        pn.Network.from_dict(d)


def test_model_schema_is_the_installed_file_parsed(schema):
    assert pn.model_schema() == schema
    assert schema["$id"] == "urn:plainnet:model-file:1"
    first = pn.model_schema()
    first["properties"].clear()  # each call parses afresh: no shared state to spoil
    assert pn.model_schema() == schema
    assert not os.path.exists(os.path.join(SOURCE_ROOT, "docs", "model.schema.json"))  # one copy


def test_model_schema_works_from_a_zipped_package(tmp_path):
    # pkgutil reads package data wherever the package is, even inside a zip
    import zipfile
    archive = str(tmp_path / "plainnet.zip")
    root = os.path.dirname(os.path.dirname(os.path.abspath(pn.__file__)))
    with zipfile.ZipFile(archive, "w") as z:
        for folder, _, files in os.walk(os.path.join(root, "plainnet")):
            for name in files:
                if name.endswith((".py", ".json")):
                    path = os.path.join(folder, name)
                    z.write(path, os.path.relpath(path, root))
    code = ("import sys; sys.path.insert(0, sys.argv[1]); import plainnet; "
            "assert plainnet.__file__.startswith(sys.argv[1]), plainnet.__file__; "
            "print(plainnet.model_schema()['title'])")
    env = dict(os.environ, PLAINNET_BACKEND="python")
    env.pop("PYTHONPATH", None)
    out = subprocess.run([sys.executable, "-c", code, archive], env=env, cwd=str(tmp_path),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
    assert out.returncode == 0 and out.stdout == "plainnet model file\n", out.stderr


def test_a_pure_wheel_holds_the_schema(tmp_path):
    """``PLAINNET_NO_C=1 pip wheel . --no-deps`` (setup.py's pure wheel) ships
    plainnet/model.schema.json, byte for byte the source's.  pip builds it as
    for a user, in build isolation: it fetches setuptools from the package
    index (or pip's cache) as `pip install .` does.  It builds a copy of the
    source, so that no build/ or egg-info folder is left in the tree."""
    import shutil
    import zipfile
    if not os.path.exists(os.path.join(SOURCE_ROOT, "pyproject.toml")):
        pytest.skip("the tests run outside a source tree")
    source = str(tmp_path / "source")
    shutil.copytree(SOURCE_ROOT, source, ignore=shutil.ignore_patterns(
        ".git", "build", "*.egg-info", "*.so", "*.pyd", "__pycache__", "node_modules"))
    env = dict(os.environ, PLAINNET_NO_C="1", PIP_DISABLE_PIP_VERSION_CHECK="1")
    env.pop("PLAINNET_REQUIRE_C", None)
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", source, "--no-deps", "-w", str(tmp_path)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
        timeout=600)
    assert proc.returncode == 0, proc.stderr
    [wheel] = [name for name in os.listdir(str(tmp_path)) if name.endswith(".whl")]
    assert wheel.endswith("-py3-none-any.whl")
    with zipfile.ZipFile(str(tmp_path / wheel)) as z:
        shipped = z.read("plainnet/model.schema.json")
    with open(os.path.join(SOURCE_ROOT, "src", "plainnet", "model.schema.json"), "rb") as f:
        assert shipped == f.read()
