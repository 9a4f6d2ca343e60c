"""ONNX export: plainnet writes the protobuf itself; onnx's checker and
onnxruntime (optional: skipped without them) are the oracles.

Agreement with ``Network.predict``: onnxruntime sums each Gemm in its own
order and has its own exp, tanh and log, so outputs agree to rounding, not
bit for bit.  The bound asserted for each output y = f(z) is

    |onnx - predict| <= EPS * (|y| + |f'(z)| * S)   (+ GELU's tail term)

with S the error bound of z: EPS * (|b| + sum |w a|) plus what the previous
layer's error brings.  That is EPS relative wherever y is not a small
difference of larger numbers; where it is (a pre-activation that cancels to
near 0; GELU's 0.5 z (1 + tanh(u)) for z below about -3, where 1 + tanh(u)
cancels in plainnet's own formula), the bound is EPS relative to the size of
the terms.  EPS is 1e-12 in float64 and 1e-5 in float32 (where outputs below
float32's smallest normal number, 1.2e-38, may also be lost).
"""

import os
import random
import struct
import subprocess
import sys

import pytest

import plainnet as pn
from plainnet import _onnx, _registry
from plainnet.cli import main

from conftest import env_with_package

try:
    import numpy as np
except ImportError:  # the oracle tests skip; the encoder's tests run without it
    np = None

ACTS = list(_registry.ACTIVATIONS)
HIDDEN = _registry.hidden_activations()
# The operators of the ONNX standard domain, opset 17, that recipes may use.
STANDARD_OPS = {"Abs", "Add", "Div", "Equal", "Exp", "Gemm", "Greater", "GreaterOrEqual",
                "Identity", "Log", "Mul", "Neg", "Relu", "Softmax", "Sub", "Tanh", "Where"}
EPS = {"float64": 1e-12, "float32": 1e-5}


def _onnx_or_skip():
    pytest.importorskip("numpy", reason="numpy is not installed")
    onnx = pytest.importorskip("onnx", reason="onnx is not installed (pip install onnx)")
    ort = pytest.importorskip("onnxruntime", reason="onnxruntime is not installed (pip install onnxruntime)")
    return onnx, ort


# -- without any optional package ------------------------------------------------

def test_every_activation_has_an_onnx_recipe_of_standard_operators():
    for name, act in _registry.ACTIVATIONS.items():
        assert act.onnx, name
        known = {"z"}
        for step in act.onnx:
            op_type, inputs, output = step[:3]
            assert op_type in STANDARD_OPS, (name, op_type)
            for v in inputs:
                assert isinstance(v, float) or v in known, (name, step)
            known.add(output)
        assert act.onnx[-1][2] == "y", name


def test_varints_match_the_protobuf_encoding():
    # Values from the protobuf encoding guide: 1 -> 01, 150 -> 96 01, 300 -> ac 02,
    # int64 -1 -> ten bytes ff .. ff 01.
    assert _onnx._varint(1) == b"\x01"
    assert _onnx._varint(150) == b"\x96\x01"
    assert _onnx._varint(300) == b"\xac\x02"
    assert _onnx._varint(-1) == b"\xff" * 9 + b"\x01"
    # Field 1, varint 150: 08 96 01 (the guide's first example).
    assert _onnx._int(1, 150) == b"\x08\x96\x01"


def test_unknown_dtype_and_float32_overflow_are_refused(tmp_path):
    net = pn.Network([2, 1], seed=0)
    with pytest.raises(ValueError, match="dtype"):
        net.export_onnx(str(tmp_path / "m.onnx"), dtype="float16")
    big = pn.Network.from_weights([[[1e300, 1.0]]], [[0.0]])
    with pytest.raises(ValueError, match="float32"):
        big.export_onnx(str(tmp_path / "m.onnx"), dtype="float32")
    assert not os.path.exists(str(tmp_path / "m.onnx"))
    big.export_onnx(str(tmp_path / "m.onnx"))  # fine in float64


def test_export_does_not_import_optional_packages(tmp_path):
    code = ("import sys, plainnet as pn; pn.Network([2, 3, 1], seed=0).export_onnx(sys.argv[1]); "
            "bad = [m for m in ('onnx', 'onnxruntime', 'numpy', 'google.protobuf') if m in sys.modules]; "
            "print(bad)")
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path / "m.onnx")], env=env_with_package(),
                         stdout=subprocess.PIPE, check=True, universal_newlines=True).stdout
    assert out.strip() == "[]"


# -- the oracles -------------------------------------------------------------------

def _forward_bound(net, X, eps):
    """(plainnet's outputs, the bound on each output's disagreement), in numpy."""
    a = np.asarray(X, dtype=np.float64)
    if net.scaler is not None:
        a = (a - np.array(net.scaler.mean)) / np.array(net.scaler.scale)
    err = np.zeros_like(a)
    for W, b, name in zip(net.weights, net.biases, net.activations):
        W, b = np.array(W), np.array(b)
        act = _registry.ACTIVATIONS[name]
        z = a @ W.T + b
        ez = err @ np.abs(W).T + eps * (np.abs(a) @ np.abs(W).T + np.abs(b))
        if name == "softmax":
            e = np.exp(z - z.max(axis=1, keepdims=True))
            y = e / e.sum(axis=1, keepdims=True)
            err = y * 2.0 * ez.max(axis=1, keepdims=True) + eps * y
        else:
            y = np.vectorize(act.forward)(z)
            slope = np.abs(np.vectorize(act.derivative)(z, y))
            err = slope * ez + eps * np.abs(y)
            if name == "gelu":  # a few ulps of 1 in 1 + tanh(u), times 0.5 |z|
                err += 8 * np.finfo(np.float64 if eps < 1e-9 else np.float32).eps * 0.5 * np.abs(z)
        if eps > 1e-9:  # float32: values below its smallest normal number flush or lose bits
            err += np.finfo(np.float32).tiny
        a = y
    return net.predict(X, as_numpy=True), err


def _rows(n_in, n, seed):
    """Rows spanning several scales, so that every activation saturates on some."""
    rng = random.Random(seed)
    rows = [[rng.gauss(0.0, 1.0) * rng.choice((0.1, 1.0, 10.0, 300.0)) for _ in range(n_in)]
            for _ in range(n)]
    rows[0] = [0.0] * n_in
    return rows


def _run(ort, data, X, dtype):
    session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    [out] = session.run(None, {"input": np.asarray(X, dtype=np.dtype(dtype))})
    assert out.dtype == np.dtype(dtype)
    return out.astype(np.float64)


def _networks():
    """Every activation as the output layer (after tanh) and as the hidden layers."""
    for act in ACTS:
        yield "tanh", act
    for act in HIDDEN:
        yield act, "linear"
        yield act, "sigmoid"


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("scaled", [False, True], ids=["raw", "scaler"])
@pytest.mark.parametrize("hidden,output", list(_networks()))
def test_onnxruntime_agrees_with_predict(hidden, output, scaled, dtype, tmp_path):
    onnx, ort = _onnx_or_skip()
    net = pn.Network([4, 7, 5, 3], seed=11, activation=hidden, output_activation=output, init="he")
    X = _rows(4, 300, seed=len(hidden) + 7 * len(output))
    if scaled:
        net.fit_scaler(X[:40])
    path = str(tmp_path / "model.onnx")
    net.export_onnx(path, dtype=dtype)
    model = onnx.load(path)
    onnx.checker.check_model(model, full_check=True)
    assert model.opset_import[0].version == _onnx.OPSET and model.opset_import[0].domain == ""
    assert model.ir_version == _onnx.IR_VERSION
    ref, bound = _forward_bound(net, X, EPS[dtype])
    out = _run(ort, path, X, dtype)
    assert out.shape == ref.shape
    bad = np.abs(out - ref) > bound
    assert not bad.any(), (out[bad][:5], ref[bad][:5], bound[bad][:5])
    if dtype == "float64":  # plain relative agreement where an output is far from 0
        big = np.abs(ref) > 1e-3
        assert (np.abs(out - ref)[big] <= 1e-12 * np.abs(ref[big])).all()


def test_saturating_sigmoid_softplus_and_leaky_relu_are_exact_where_it_matters():
    _, ort = _onnx_or_skip()
    zs = [-800.0, -700.0, -600.0, -100.0, -40.0, -37.5, -20.0, -1e-300, -0.0, 0.0, 1e-300,
          19.999999999, 20.0, 20.000000001, 40.0, 700.0, 800.0, 1e300, -1e300]
    for name in ("sigmoid", "softplus", "leaky_relu", "silu", "relu", "linear"):
        net = pn.Network.from_weights([[[1.0]]], [[0.0]], activation=name)
        ref = np.array(net.predict([[z] for z in zs]))
        out = _run(ort, _onnx.model_bytes(net), [[z] for z in zs], "float64")
        rel = np.abs(out - ref) / np.maximum(np.abs(ref), 1e-320)
        assert (rel <= 4e-16).all() and (np.signbit(out) == np.signbit(ref))[ref != 0].all(), \
            (name, zs, out.ravel(), ref.ravel())
        if name in ("leaky_relu", "relu", "linear"):
            assert out.tobytes() == ref.tobytes(), name  # the same bits


def test_leaky_slope_is_the_double_0_01():
    onnx, _ = _onnx_or_skip()
    from onnx import numpy_helper
    net = pn.Network([2, 2], seed=0, activation="leaky_relu")
    model = onnx.load_from_string(_onnx.model_bytes(net))
    values = [numpy_helper.to_array(t) for t in model.graph.initializer if t.dims == []]
    assert any(v.dtype == np.float64 and v.tobytes() == struct.pack("<d", 0.01) for v in values)
    assert "LeakyRelu" not in {n.op_type for n in model.graph.node}


def test_weights_and_scaler_are_stored_exactly():
    onnx, _ = _onnx_or_skip()
    from onnx import numpy_helper
    net = pn.Network([3, 4, 2], seed=5, activation="gelu")
    net.fit_scaler(_rows(3, 20, 1))
    model = onnx.load_from_string(_onnx.model_bytes(net))
    init = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    assert init["W1"].tolist() == net.weights[0] and init["b2"].tolist() == net.biases[1]
    assert init["scaler_mean"].tolist() == net.scaler.mean
    assert init["scaler_scale"].tolist() == net.scaler.scale
    assert [i.name for i in model.graph.input] == ["input"]
    dims = model.graph.input[0].type.tensor_type.shape.dim
    assert dims[0].dim_param == "N" and dims[1].dim_value == 3
    assert model.producer_name == "plainnet"


def test_cli_export_onnx(tmp_path, capsys):
    _, ort = _onnx_or_skip()
    net = pn.Network([3, 5, 2], seed=2, activation="silu", output_activation="softmax",
                     loss="categorical_crossentropy")
    net.set_column_names(["a", "b", "c"], ["x", "y"])
    model = str(tmp_path / "model.json")
    net.save(model)
    out = str(tmp_path / "model.onnx")
    assert main(["export", model, "--lang", "onnx", "-o", out]) == 0
    with open(out, "rb") as f:
        data = f.read()
    assert data == _onnx.model_bytes(pn.load(model))
    X = _rows(3, 50, 3)
    ref, bound = _forward_bound(net, X, 1e-12)
    assert (np.abs(_run(ort, data, X, "float64") - ref) <= bound).all()
    with pytest.raises(SystemExit):
        main(["export", model, "--lang", "onnx"])
    assert "-o FILE" in capsys.readouterr().err



def test_cli_export_onnx_float32(tmp_path):
    """``--precision float32`` gives the float32 graph net.export_onnx(path,
    dtype="float32") writes: float32 input and output (TensorProto.FLOAT), and
    onnxruntime's outputs within float32 rounding of predict: at most 1e-5
    relative (EPS["float32"], about 80 float32 ulps) to the size of the terms,
    as _forward_bound states it, through a scaler and two layers."""
    onnx, ort = _onnx_or_skip()
    net = pn.Network([3, 6, 2], seed=4, activation="tanh", output_activation="softmax",
                     loss="categorical_crossentropy", init="he")
    net.fit_scaler(_rows(3, 30, 5))
    model = str(tmp_path / "model.json")
    net.save(model)
    out = str(tmp_path / "model32.onnx")
    proc = subprocess.run([sys.executable, "-m", "plainnet", "export", model, "--lang", "onnx",
                           "--precision", "float32", "-o", out], env=env_with_package(),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
    assert proc.returncode == 0 and proc.stdout == proc.stderr == "", proc.stderr
    with open(out, "rb") as f:
        data = f.read()
    loaded = pn.load(model)
    assert data == _onnx.model_bytes(loaded, "float32")
    graph = onnx.load_from_string(data)
    onnx.checker.check_model(graph, full_check=True)
    for value in list(graph.graph.input) + list(graph.graph.output):
        assert value.type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    assert {t.data_type for t in graph.graph.initializer} == {onnx.TensorProto.FLOAT}
    X = _rows(3, 200, 6)
    ref, bound = _forward_bound(loaded, X, EPS["float32"])
    got = _run(ort, data, X, "float32")
    assert got.shape == ref.shape and (np.abs(got - ref) <= bound).all()
    big = ref > 1e-3  # far from 0: plain relative agreement, 1e-5
    assert (np.abs(got - ref)[big] <= 1e-5 * ref[big]).all()
    # float64 stays the default, and --precision float16 is refused by argparse
    assert main(["export", model, "--lang", "onnx", "-o", str(tmp_path / "m64.onnx")]) == 0
    with open(str(tmp_path / "m64.onnx"), "rb") as f:
        graph64 = onnx.load_from_string(f.read())
    assert graph64.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.DOUBLE


def test_cli_export_onnx_float32_refuses_weights_beyond_float32(tmp_path):
    net = pn.Network.from_weights([[[1e39, 1.0]]], [[0.0]], activation="linear")
    model = str(tmp_path / "big.json")
    net.save(model)
    out = tmp_path / "big.onnx"
    proc = subprocess.run([sys.executable, "-m", "plainnet", "export", model, "--lang", "onnx",
                           "--precision", "float32", "-o", str(out)], env=env_with_package(),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
    assert proc.returncode == 1 and "too large for float32" in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr and not out.exists()

# -- skl2onnx --------------------------------------------------------------------------

def _skl2onnx_or_skip():
    _onnx_or_skip()
    pytest.importorskip("sklearn", reason="scikit-learn is not installed")
    return pytest.importorskip("skl2onnx", reason="skl2onnx is not installed (pip install skl2onnx)")


@pytest.mark.parametrize("n_classes,labels", [(2, "int"), (3, "int"), (3, "str")])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_skl2onnx_converts_a_scaler_and_classifier_pipeline(n_classes, labels, dtype):
    skl2onnx = _skl2onnx_or_skip()
    import onnxruntime as ort
    from sklearn.datasets import make_classification
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from plainnet.sklearn import NetClassifier, register_skl2onnx
    X, y = make_classification(n_samples=300, n_features=5, n_informative=4, n_redundant=0,
                               n_classes=n_classes, random_state=0)
    X[:, 0] *= 100.0
    if labels == "str":
        y = np.array(["cat", "dog", "eel"])[y]
    pipe = make_pipeline(StandardScaler(), NetClassifier(hidden_layer_sizes=(8,), activation="tanh",
                                                          epochs=20, random_state=0, scale=True))
    pipe.fit(X, y)
    register_skl2onnx()
    Xd = X.astype(dtype)
    onx = skl2onnx.to_onnx(pipe, Xd[:1], options={"zipmap": False})
    session = ort.InferenceSession(onx.SerializeToString(), providers=["CPUExecutionProvider"])
    label, proba = session.run(None, {session.get_inputs()[0].name: Xd})
    want = pipe.predict_proba(X)
    tol = 1e-12 if dtype == "float64" else 1e-4
    assert np.allclose(proba, want, rtol=tol, atol=tol)
    confident = np.abs(np.sort(want, axis=1)[:, -1] - np.sort(want, axis=1)[:, -2]) > 1e-3
    assert (label[confident] == pipe.predict(X)[confident]).all()
    assert confident.mean() > 0.9


def test_skl2onnx_converts_a_regressor_pipeline():
    skl2onnx = _skl2onnx_or_skip()
    import onnxruntime as ort
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from plainnet.sklearn import NetRegressor, register_skl2onnx
    rng = np.random.RandomState(0)
    X = rng.normal(size=(200, 3)) * [1.0, 50.0, 0.01]
    y = X[:, 0] + np.sin(X[:, 1] / 50.0)
    pipe = make_pipeline(StandardScaler(), NetRegressor(hidden_layer_sizes=(6,), activation="gelu",
                                                         epochs=10, random_state=0))
    pipe.fit(X, y)
    register_skl2onnx()
    onx = skl2onnx.to_onnx(pipe, X[:1])
    session = ort.InferenceSession(onx.SerializeToString(), providers=["CPUExecutionProvider"])
    [out] = session.run(None, {session.get_inputs()[0].name: X})
    assert np.allclose(out.ravel(), pipe.predict(X), rtol=1e-12, atol=1e-12)
