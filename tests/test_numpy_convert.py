"""numpy arrays that are not C-contiguous native float64 (issue 14): numpy
converts them to float64 in one step, and plainnet reads the result in place.

The oracles: the same values as a C-contiguous float64 array, and as nested
lists of Python floats (``float(v)`` of each element, which is what the old
list path computed), must give the same bits on every backend; the list path
itself must not run; and predicting with ``as_numpy=True`` costs no more
memory than the input as float64 plus the result.
"""

import gc

import pytest

np = pytest.importorskip("numpy")

import plainnet as pn  # noqa: E402
from plainnet import _data  # noqa: E402

RNG = np.random.default_rng(14)
NORMAL = RNG.normal(size=(12, 6)) * 3.0
SMALL_INTS = RNG.integers(-5, 6, size=(12, 6))
TARGETS = RNG.uniform(size=(12, 2))


def _big_ints(dtype):
    """Integers of ``dtype`` around and beyond 2**53, where float64 rounds."""
    info = np.iinfo(dtype)
    values = [info.max, info.min, info.max - 1, 2 ** 53 + 1, -(2 ** 53) - 1, 2 ** 53 + 3,
              2 ** 62 + 2 ** 10 + 1, 12345, 0, -1, 1, 7]
    values = [v for v in values if info.min <= v <= info.max]
    values = (values * 12)[:72]
    return np.array(values, dtype=dtype).reshape(12, 6)


# name -> (array, whether to train on it: huge ints would make training diverge)
CASES = {
    "float32": (NORMAL.astype(np.float32), True),
    "float16": (NORMAL.astype(np.float16), True),
    "longdouble": (NORMAL.astype(np.longdouble) / 3, True),
    "int8": (SMALL_INTS.astype(np.int8), True),
    "int32": (SMALL_INTS.astype(np.int32), True),
    "int64": (SMALL_INTS.astype(np.int64), True),
    "uint8": (np.abs(SMALL_INTS).astype(np.uint8), True),
    "int64_big": (_big_ints(np.int64), False),
    "uint64_big": (_big_ints(np.uint64), False),
    "bool": (SMALL_INTS > 0, True),
    "bool_bytes": (np.abs(SMALL_INTS).astype(np.uint8).view(np.bool_), True),  # bytes 0..5
    "fortran_float64": (np.asfortranarray(NORMAL), True),
    "fortran_float32": (np.asfortranarray(NORMAL.astype(np.float32)), True),
    "fortran_int32": (np.asfortranarray(SMALL_INTS.astype(np.int32)), True),
    "row_slice": (np.vstack([NORMAL, NORMAL + 1.0])[::2], True),
    "column_slice": (np.hstack([NORMAL, NORMAL - 1.0])[:, ::2], True),
    "row_slice_float32": (np.vstack([NORMAL, NORMAL]).astype(np.float32)[::2], True),
    "column_slice_int16": (np.hstack([SMALL_INTS, SMALL_INTS]).astype(np.int16)[:, ::2], True),
    "reversed": (NORMAL[::-1, ::-1], True),
    "big_endian_float64": (NORMAL.astype(">f8"), True),
    "big_endian_float32": (NORMAL.astype(">f4"), True),
    "big_endian_int32": (SMALL_INTS.astype(">i4"), True),
    "readonly_float32": (np.frombuffer(NORMAL.astype(np.float32).tobytes(), dtype=np.float32)
                         .reshape(NORMAL.shape), True),
}


def _as_lists(arr):
    """The old path's values: float() of each element, row by row."""
    return [[float(v) for v in row] for row in arr.tolist()]


def _bits(values):
    return np.asarray(values, dtype=np.float64).tobytes()


def _net(backend, width=6, outputs=2):
    return pn.Network([width, 5, outputs], seed=3, backend=backend)


@pytest.mark.parametrize("case", sorted(CASES))
def test_predict_and_loss_give_the_bits_of_float64_and_of_lists(backend, case):
    arr, _ = CASES[case]
    c_order = np.ascontiguousarray(arr, dtype=np.float64)
    lists = _as_lists(arr)
    assert c_order.tolist() == lists  # the oracles agree on the values
    net = _net(backend)
    expected = net.predict(lists)
    assert _bits(net.predict(arr)) == _bits(expected)
    assert _bits(net.predict(c_order)) == _bits(expected)
    got = net.predict(arr, as_numpy=True)
    assert got.dtype == np.float64 and got.flags.c_contiguous and got.shape == (12, 2)
    assert got.tobytes() == _bits(expected)
    loss = net.loss(lists, TARGETS.tolist())
    assert _bits(net.loss(arr, TARGETS)) == _bits(loss)
    assert _bits(net.loss(c_order, TARGETS)) == _bits(loss)


@pytest.mark.parametrize("case", sorted(c for c in CASES if CASES[c][1]))
@pytest.mark.parametrize("options", [{}, {"optimizer": "adam", "batch_size": 4, "shuffle": True}])
def test_training_gives_the_bits_of_float64_and_of_lists(backend, case, options):
    arr, _ = CASES[case]
    runs = []
    for data in (arr, np.ascontiguousarray(arr, dtype=np.float64), _as_lists(arr)):
        net = _net(backend)
        history = net.train(data, TARGETS.tolist(), epochs=3, learning_rate=0.05, **options)
        runs.append((_bits(list(history)), _bits([w for layer in net.weights for row in layer for w in row])))
    assert runs[0] == runs[1] == runs[2]


@pytest.mark.parametrize("dtype", ["float32", "float16", "int32", "bool", ">f8"])
def test_targets_of_any_dtype_give_the_bits_of_lists(backend, dtype):
    targets = np.asfortranarray((TARGETS > 0.5).astype(dtype))
    lists = _as_lists(targets)
    a, b = _net(backend), _net(backend)
    ha = a.train(NORMAL, targets, epochs=3, learning_rate=0.05)
    hb = b.train(NORMAL.tolist(), lists, epochs=3, learning_rate=0.05)
    assert _bits(list(ha)) == _bits(list(hb)) and a.weights == b.weights
    assert _bits(a.loss(NORMAL, targets)) == _bits(a.loss(NORMAL.tolist(), lists))


@pytest.mark.parametrize("dtype", ["float32", "int64", "bool", ">f4"])
def test_one_dimensional_arrays_for_one_input_and_one_output(backend, dtype):
    x = np.abs(NORMAL[:, 0]).astype(dtype)[::-1]  # 1-D, strided (negative stride)
    t = (NORMAL[:, 1] > 0).astype(dtype)
    xs, ts = [[float(v)] for v in x.tolist()], [[float(v)] for v in t.tolist()]
    a, b = _net(backend, 1, 1), _net(backend, 1, 1)
    assert a.predict(x, as_numpy=True).tobytes() == _bits(b.predict(xs))
    ha = a.train(x, t, epochs=3, learning_rate=0.1)
    hb = b.train(xs, ts, epochs=3, learning_rate=0.1)
    assert _bits(list(ha)) == _bits(list(hb)) and a.weights == b.weights
    assert _bits(pn.mse_loss(t, x)) == _bits(pn.mse_loss(ts, xs))


def test_the_list_path_is_not_used(backend, monkeypatch):
    """With the list conversion made to fail, every case still works."""
    expected = {}
    for case, (arr, train) in CASES.items():
        net = _net(backend)
        expected[case] = (_bits(net.predict(arr)), _bits(net.loss(arr, TARGETS)),
                          _bits(list(net.train(arr, TARGETS, epochs=2))) if train else None)

    def refuse(*args, **kwargs):
        raise AssertionError("a numpy array went through nested lists")
    monkeypatch.setattr(_data, "_view_tolist", refuse)
    monkeypatch.setattr(_data, "_rows_from_lists", refuse)
    for case, (arr, train) in CASES.items():
        net = _net(backend)
        got = (net.predict(arr, as_numpy=True).tobytes(), _bits(net.loss(arr, TARGETS)),
               _bits(list(net.train(arr, TARGETS.astype(np.float32), epochs=2))) if train else None)
        assert got[0] == expected[case][0], case
        assert got[1] == expected[case][1], case
        if train:  # float32 targets: TARGETS rounded, so only checked for running
            net = _net(backend)
            assert _bits(list(net.train(arr, TARGETS, epochs=2))) == expected[case][2], case
        net = _net(backend, 1, 1)
        assert net.predict(arr[:, 0], as_numpy=True).shape == (12, 1)


@pytest.mark.parametrize("dtype", ["float32", "float16", ">f8", "longdouble"])
def test_nan_and_inf_are_refused_naming_row_and_column(backend, dtype):
    data = np.asfortranarray(NORMAL.astype(dtype))
    data[7, 4] = np.nan
    net = _net(backend)
    before = net.weights
    with pytest.raises(ValueError, match=r"^rows row 7, column 4 is nan: data must be finite$"):
        net.predict(data, as_numpy=True)
    data[2, 1] = -np.inf
    with pytest.raises(ValueError, match=r"^data row 2, column 1 is -inf: data must be finite$"):
        net.train(data, TARGETS, epochs=1)
    targets = TARGETS.astype(dtype)[:, ::-1]
    targets[3, 0] = np.inf
    with pytest.raises(ValueError, match=r"^targets row 3, column 0 is inf: data must be finite$"):
        net.train(NORMAL, targets, epochs=1)
    assert net.weights == before


def test_shapes_are_checked_before_any_conversion(backend):
    net = _net(backend)
    data = NORMAL.astype(np.float32)
    with pytest.raises(ValueError, match=r"2-dimensional.*shape \(12, 6, 1\)"):
        net.predict(data.reshape(12, 6, 1))
    with pytest.raises(ValueError, match=r"2-dimensional.*shape \(6,\)"):
        net.predict(data[0])
    with pytest.raises(ValueError, match=r"rows have 3 values, expected 6"):
        net.predict(data[:, ::2])
    with pytest.raises(ValueError, match="empty"):
        net.predict(data[:0])
    with pytest.raises(ValueError, match=r"targets must be 2-dimensional"):
        net.train(NORMAL, np.zeros(12, dtype=np.int32), epochs=1)


def test_converted_rows_keep_their_array_alive():
    """The Rows borrows the converted array's memory through its memoryview,
    which holds the array: no other reference is needed."""
    arr = np.asfortranarray(NORMAL.astype(np.float32))
    rows = _data.as_rows(arr, 6)
    expected = _as_lists(arr)
    del arr
    gc.collect()
    np.ones((200, 200)) * 7.0  # reuse of freed memory would show
    assert rows.lists == expected
    assert rows.snapshot().lists == expected


def test_training_reads_converted_arrays_as_they_were_at_the_call(backend):
    """Item 19 of issue 16 (snapshot semantics) holds for converted arrays too."""
    def run(mutate):
        X, T = np.asfortranarray(NORMAL.astype(np.float32)), TARGETS.astype(np.float32)
        V, VT = X[:5, :], T[:5]

        def callback(epoch, loss):
            if mutate:
                X[:] = 0.0
                T[:] = 1.0
                V[:] = 5.0
        net = _net(backend)
        history = net.train(X, T, epochs=3, callback=callback, validation_data=(V, VT))
        return list(history), history.val_loss, net.weights
    assert run(True) == run(False)


def test_float32_input_to_predict_as_numpy_costs_input_as_float64_plus_result():
    tracemalloc = pytest.importorskip("tracemalloc", reason="this Python has no tracemalloc (PyPy)")
    if "c" not in pn.available_backends():
        pytest.skip("the C backend is not built")
    X = np.random.default_rng(5).normal(size=(200000, 20)).astype(np.float32)
    net = pn.Network([20, 32, 10], seed=4, backend="c")
    result_bytes = 200000 * 10 * 8
    tracemalloc.start()
    try:
        y = net.predict(X, as_numpy=True)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert y.nbytes == result_bytes
    limit = X.size * 8 + 2 * result_bytes + (1 << 20)
    assert peak <= limit, (peak, limit)  # nested lists of floats would take ~15x the input
    assert y[:50].tobytes() == _bits(net.predict(_as_lists(X[:50])))


@pytest.mark.filterwarnings("ignore:.*epochs ran out")
def test_sklearn_estimators_take_float32_and_fortran_arrays():
    pytest.importorskip("sklearn")
    from plainnet.sklearn import NetRegressor
    X = np.asfortranarray(NORMAL.astype(np.float32))
    y = TARGETS[:, 0]
    a = NetRegressor(hidden_layer_sizes=(4,), epochs=3, random_state=0).fit(X, y)
    b = NetRegressor(hidden_layer_sizes=(4,), epochs=3, random_state=0).fit(_as_lists(X), y.tolist())
    assert a.predict(X).tobytes() == b.predict(_as_lists(X)).tobytes()
