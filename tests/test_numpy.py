"""numpy arrays in and out, end to end, on every backend.

plainnet reads arrays through the buffer protocol and never imports numpy
itself; the oracle here is the same data passed as plain lists, which must give
identical (==) results.
"""

import subprocess
import sys

import pytest

np = pytest.importorskip("numpy")

import plainnet as pn  # noqa: E402
from conftest import PACKAGE_PARENT

BASE = np.arange(24, dtype=np.float64).reshape(8, 3) / 7.0 - 1.5
TARGETS = np.array([[1.0, 0.0], [0.0, 1.0]] * 4)


def _net(backend, width=3, outputs=2):
    return pn.Network([width, 4, outputs], seed=1, backend=backend)


def test_using_plainnet_on_lists_imports_no_numpy_sklearn_or_torch():
    # test_import_cost.py checks the bare import; this checks real use.
    package_parent = PACKAGE_PARENT
    code = ("import sys; sys.path.insert(0, %r)\n"
            "import plainnet as pn\n"
            "net = pn.Network([2, 2, 1], seed=0)\n"
            "net.train([[0, 1], [1, 0]], [1, 0], epochs=2)\n"
            "net.predict([[0, 1]])\n"
            "print(sorted(m for m in ('numpy', 'sklearn', 'torch') if m in sys.modules))"
            % package_parent)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize("dtype", ["float64", "float32", "float16", "int64", "int32", "int8",
                                   "uint8", ">f8", "<f4"])
def test_every_numeric_dtype_predicts_as_its_values_in_lists(backend, dtype):
    net = _net(backend)
    data = (BASE * 4).astype(dtype)
    assert net.predict(data) == net.predict(data.tolist())
    assert net.feedforward(data[2]) == net.feedforward(data[2].tolist())


@pytest.mark.parametrize("layout", ["fortran", "column_slice", "row_slice", "reversed", "readonly",
                                    "transposed"])
def test_memory_layouts_give_the_same_numbers(backend, layout):
    wide = np.hstack([BASE, BASE + 10.0])
    data = {
        "fortran": np.asfortranarray(BASE),
        "column_slice": wide[:, ::2],
        "row_slice": np.vstack([BASE, BASE])[::2],
        "reversed": BASE[::-1, ::-1],
        "readonly": np.frombuffer(BASE.tobytes()).reshape(BASE.shape),
        "transposed": np.ascontiguousarray(BASE.T).T,
    }[layout]
    if layout == "readonly":
        assert not data.flags.writeable
    net = _net(backend)
    assert net.predict(data) == net.predict(data.tolist())
    assert net.loss(data, TARGETS) == net.loss(data.tolist(), TARGETS.tolist())


def test_predict_as_numpy_is_float64_rows_by_outputs(backend):
    net = _net(backend)
    out = net.predict(BASE, as_numpy=True)
    assert isinstance(out, np.ndarray)
    assert out.dtype == np.float64
    assert out.shape == (8, 2)
    assert out.tolist() == net.predict(BASE.tolist())
    one = pn.Network([3, 1], seed=0, backend=backend).predict(BASE[:1], as_numpy=True)
    assert one.shape == (1, 1)


@pytest.mark.parametrize("options", [{}, {"optimizer": "adam", "batch_size": 3, "shuffle": True}])
def test_training_on_arrays_equals_training_on_lists(backend, options):
    a, b = _net(backend), _net(backend)
    history_a = a.train(BASE.astype(np.float32), TARGETS, epochs=5, learning_rate=0.1, **options)
    history_b = b.train(BASE.astype(np.float32).tolist(), TARGETS.tolist(), epochs=5,
                        learning_rate=0.1, **options)
    assert list(history_a) == list(history_b)
    assert a.weights == b.weights


@pytest.mark.parametrize("shape", [(8,), (8, 1)])
def test_one_output_targets_may_be_1d_or_2d(backend, shape):
    a, b = _net(backend, outputs=1), _net(backend, outputs=1)
    targets = (np.arange(8) % 2).reshape(shape)
    assert list(a.train(BASE, targets, epochs=3)) == list(b.train(BASE.tolist(), [0, 1] * 4, epochs=3))
    assert a.weights == b.weights


def test_fit_scaler_and_validation_data_take_arrays(backend):
    a, b = _net(backend), _net(backend)
    a.fit_scaler(BASE)
    b.fit_scaler(BASE.tolist())
    assert a.scaler.mean == b.scaler.mean and a.scaler.scale == b.scaler.scale
    ha = a.train(BASE, TARGETS, epochs=2, validation_data=(BASE[:3], TARGETS[:3]))
    hb = b.train(BASE.tolist(), TARGETS.tolist(), epochs=2,
                 validation_data=(BASE[:3].tolist(), TARGETS[:3].tolist()))
    assert ha.val_loss == hb.val_loss


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_nan_is_refused_naming_row_and_column(backend, dtype):
    data = BASE.astype(dtype)
    data[5, 2] = np.nan
    net = _net(backend)
    before = net.weights
    with pytest.raises(ValueError, match=r"row 5(, column 2|\[2\]).*(nan|finite)"):
        net.predict(data)
    with pytest.raises(ValueError, match=r"row 5(, column 2|\[2\])"):
        net.train(data, TARGETS, epochs=1)
    targets = TARGETS.copy()
    targets[1, 0] = np.inf
    with pytest.raises(ValueError, match=r"targets row 1(, column 0|\[0\])"):
        net.train(BASE, targets, epochs=1)
    assert net.weights == before


def test_wrong_shapes_are_refused_clearly(backend):
    net = _net(backend)
    with pytest.raises(ValueError, match=r"2-dimensional.*shape \(8, 3, 1\)"):
        net.predict(BASE.reshape(8, 3, 1))
    with pytest.raises(ValueError, match=r"2-dimensional.*shape \(3,\)"):
        net.predict(BASE[0])
    with pytest.raises(ValueError, match=r"rows have 2 values, expected 3"):
        net.predict(BASE[:, :2])
    with pytest.raises(ValueError, match=r"1-dimensional, got shape \(1, 3\)"):
        net.feedforward(BASE[:1])
    with pytest.raises(ValueError, match="empty"):
        net.predict(BASE[:0])
    with pytest.raises(ValueError, match=r"targets must be 2-dimensional"):
        net.train(BASE, np.zeros(8), epochs=1)  # two outputs need rows of two targets
    with pytest.raises(ValueError, match=r"targets has 7 rows but data has 8"):
        net.train(BASE, TARGETS[:7], epochs=1)


@pytest.mark.parametrize("array, message", [
    (np.zeros((2, 3), dtype=complex), "complex"),
    (np.array([[1.0, "a", 2.0]] * 2, dtype=object), "row 0, column 1 holds text"),
    (np.array([["1", "2", "3"]] * 2), "holds text"),
    (np.array([[1.0, None, 2.0]] * 2, dtype=object), "missing value")], ids=["complex", "object", "str", "none"])
def test_non_numeric_arrays_are_refused(backend, array, message):
    with pytest.raises((TypeError, ValueError), match=message):
        _net(backend).predict(array)


def test_predict_as_numpy_writes_the_array_directly(backend):
    """No lists in between: the same bits as predict, at input + result memory."""
    rng = np.random.default_rng(3)
    X = rng.normal(size=(20000, 20))
    net = pn.Network([20, 16, 10], seed=4, backend=backend)
    small = X[:50]
    got = net.predict(small, as_numpy=True)
    assert got.dtype == np.float64 and got.shape == (50, 10) and got.flags.c_contiguous
    assert got.tolist() == net.predict(small)
    if backend == "c":
        tracemalloc = pytest.importorskip("tracemalloc", reason="this Python has no tracemalloc (PyPy)")
        tracemalloc.start()
        y = net.predict(X, as_numpy=True)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert peak < 2 * y.nbytes, (peak, y.nbytes)  # lists of floats would take ~10x


def test_bool_and_object_number_arrays_are_read_as_their_numbers(backend):
    net = _net(backend)
    expected = net.predict([[1.0, 0.0, 1.0], [0.0, 0.0, 1.0]])
    assert net.predict(np.array([[True, False, True], [False, False, True]])) == expected
    assert net.predict(np.array([[1, 0, 1.0], [0, 0, 1]], dtype=object)) == expected
