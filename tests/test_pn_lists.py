"""plainnet._pn_lists (csrc/pn_lists.c): CPython's shortcut for lists into the C core.

It may only ever be a shortcut: for every input it either returns exactly what
the checked path returns (the same bits as the Python backend) or None, and
then the checked path runs and raises its usual error.
"""

import math
import random
import re
import struct
import threading
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import plainnet as pn
from conftest import both_backends, random_data

if "c" not in pn.available_backends():
    pytest.skip("the C backend is not built here", allow_module_level=True)
lists = pytest.importorskip(
    "plainnet._pn_lists", reason="plainnet._pn_lists is built on CPython only, beside the C core")


def _shortcut(net):
    return net._core.forward_list


@pytest.mark.parametrize("sizes", [[2, 2, 1], [64, 32, 10], [5, 40, 40, 3], [300, 60, 4]])
@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu"])
def test_forward_gives_the_python_backends_bits(sizes, activation):
    # [300, 60, 4] needs more memory than forward keeps on the stack, and has
    # enough parameters (18304) that forward releases the GIL.
    out = "softmax" if sizes[-1] > 1 else "sigmoid"  # softmax over one output is refused
    py, c = both_backends(sizes, seed=7, activation=activation, output_activation=out)
    rng = random.Random(3)
    for _ in range(10):
        row = [rng.uniform(-3, 3) for _ in range(sizes[0])]
        got = _shortcut(c)(row)
        assert type(got) is list and all(type(v) is float for v in got)
        assert got == py.feedforward(row)
        assert _shortcut(c)(tuple(row)) == got


def test_ints_are_converted_as_float_does():
    py, c = both_backends([3, 4, 2], seed=1)
    row = [1, -2, 2**60 + 1]  # the last one rounds on the way to float
    assert _shortcut(c)(row) == py.feedforward([float(v) for v in row]) == py.feedforward(row)


class MyFloat(float):
    pass


class MyList(list):
    pass


@pytest.mark.parametrize("row", [
    [1.0, True, 3.0],                 # bools are refused by the checked path
    [1.0, "2", 3.0],
    [1.0, None, 3.0],
    [1.0, float("nan"), 3.0],
    [1.0, float("inf"), 3.0],
    [1.0, -float("inf"), 3.0],
    [1.0, 10 ** 400, 3.0],            # OverflowError in float(): the checked path words it
    [1.0, Fraction(1, 3), 3.0],       # other numbers: converted by the checked path
    [1.0, MyFloat(2.0), 3.0],
    MyList([1.0, 2.0, 3.0]),
    [1.0, 2.0],
    [1.0, 2.0, 3.0, 4.0],
    [],
    [[1.0], 2.0, 3.0],
    "abc",
    None,
    3.0,
    (v for v in [1.0, 2.0, 3.0]),
], ids=repr)
def test_anything_unusual_takes_the_checked_path(row):
    _, c = both_backends([3, 2, 1], seed=2)
    assert _shortcut(c)(row) is None


def test_numpy_input_takes_the_checked_path():
    numpy = pytest.importorskip("numpy")
    py, c = both_backends([3, 2, 1], seed=2)
    assert _shortcut(c)(numpy.array([1.0, 2.0, 3.0])) is None
    assert _shortcut(c)([numpy.float64(1.0), 2.0, 3.0]) is None
    assert c.feedforward(numpy.array([1.0, 2.0, 3.0])) == py.feedforward([1.0, 2.0, 3.0])


@pytest.mark.parametrize("row, error, words", [
    ([1.0, True, 3.0], TypeError, "x[1] must be a number, not True (bool)"),
    ([1.0, float("nan"), 3.0], ValueError, "x[1] must be finite"),
    ([1.0, 2.0], ValueError, "x has 2 values, expected 3"),
    ([1.0, 10 ** 400, 3.0], ValueError, "x[1] cannot be converted to a float"),
])
def test_network_errors_are_the_checked_paths(row, error, words):
    for net in both_backends([3, 2, 1], seed=2):
        with pytest.raises(error, match=re.escape(words)):
            net.feedforward(row)


def test_feedforward_of_a_list_is_one_c_call(monkeypatch):
    py, c = both_backends([4, 3, 2], seed=5)
    expected = py.feedforward([0.5, -1.0, 2.0, 0.25])

    def no_checked_path(*args, **kwargs):
        raise AssertionError("the checked path ran")

    monkeypatch.setattr(pn.network, "as_vector", no_checked_path)
    assert c.feedforward([0.5, -1.0, 2.0, 0.25]) == expected


def test_a_scaled_network_scales_first():
    data, targets = random_data(20, 3, 1, seed=4)
    data = [[100 * v + 50 for v in row] for row in data]
    py, c = both_backends([3, 4, 1], seed=6)
    c.train(data, targets, epochs=3, scale=True)
    py.train(data, targets, epochs=3, scale=True)
    assert c.feedforward(data[0]) == py.feedforward(data[0])


def test_forward_refuses_memory_that_is_not_a_network():
    _, c = both_backends([3, 2, 1], seed=2)
    with pytest.raises(ValueError, match="not a plainnet network"):
        lists.forward(bytearray(4096), [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="not a plainnet network"):
        lists.forward(bytearray(8), [1.0, 2.0, 3.0])
    with pytest.raises(BufferError):
        lists.forward(b"x" * 4096, [1.0, 2.0, 3.0])  # read-only
    with pytest.raises(TypeError):
        lists.forward(object(), [1.0, 2.0, 3.0])
    with pytest.raises(TypeError):
        lists.forward(bytearray(8))
    # a network's block cut short is refused, not read past its end
    from plainnet._pn_c import ffi

    whole = ffi.buffer(c._core._mem)
    with pytest.raises(ValueError, match="not a plainnet network"):
        lists.forward(memoryview(whole)[:64], [1.0, 2.0, 3.0])


def test_forged_layer_tables_are_refused_not_followed():
    """Issue 16 item 18: a block with the right magic and sizes but any byte of
    its header or layer table changed is refused (pn_net_check verifies the
    layout's digest) or, where the byte is an epoch counter, harmless; run in a
    child process, since a crash is what this guards against."""
    import subprocess
    import sys

    from conftest import env_with_package
    code = """
import plainnet as pn
from plainnet._pn_c import ffi
from plainnet import _pn_lists
net = pn.Network([3, 5, 4, 2], seed=1, backend="c")
whole = bytes(ffi.buffer(net._core._mem))
x = [0.5, -1.0, 2.0]
want = net.feedforward(x)
refused = same = 0
for k in range(1024):  # the header, the layer table, and the start of the weights
    for bit in (1, 128):
        forged = bytearray(whole)
        forged[k] ^= bit
        try:
            y = _pn_lists.forward(forged, x)
        except ValueError:
            refused += k < 300
            continue
        same += k < 300 and y == want
print(refused, same)
"""
    proc = subprocess.run([sys.executable, "-c", code], env=env_with_package(),
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    refused, same = map(int, proc.stdout.split())
    # Of the first 300 bytes (header and layer table on 64-bit machines), all but
    # the epoch counter, the open-epoch flag, the thread count (any value is
    # safe: 0 means 1, the most is capped) and padding are refused when forged.
    assert refused >= 2 * 300 - 56 and refused + same == 2 * 300


def test_pack_rows_packs_float64_rows():
    rows = [[1.0, -2, 3.5], (0.1, 2**60 + 1, -0.0)]
    packed = lists.pack_rows(rows, 3)
    assert type(packed) is bytearray
    values = struct.unpack("6d", packed)
    assert values == (1.0, -2.0, 3.5, 0.1, float(2**60 + 1), -0.0)
    assert math.copysign(1.0, values[5]) == -1.0


@pytest.mark.parametrize("rows", [
    [], [[1.0, 2.0], [3.0]], [[1.0, 2.0], [3.0, True]], [[1.0, 2.0], [3.0, float("nan")]],
    [[1.0, 2.0], "ab"], [[1.0, 2.0], None], MyList([[1.0, 2.0]]), [MyList([1.0, 2.0])],
    [[1.0, MyFloat(2.0)]], iter([[1.0, 2.0]]),
], ids=repr)
def test_pack_rows_returns_none_for_anything_unusual(rows):
    assert lists.pack_rows(rows, 2) is None


def test_pack_rows_refuses_a_bad_width():
    with pytest.raises(ValueError):
        lists.pack_rows([[1.0]], 0)
    with pytest.raises(TypeError):
        lists.pack_rows([[1.0]], "1")


def test_large_network_forward_from_threads():
    """forward releases the GIL for large networks: threads still agree."""
    py, c = both_backends([128, 64, 8], seed=9)
    assert c._core._n_params >= 8192
    rng = random.Random(1)
    rows = [[rng.uniform(-1, 1) for _ in range(128)] for _ in range(30)]
    expected = [py.feedforward(r) for r in rows]
    errors = []

    def work():
        try:
            for _ in range(5):
                assert [c.feedforward(r) for r in rows] == expected
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors


def _outcome(fn, *args):
    try:
        return "ok", fn(*args)
    except (TypeError, ValueError) as exc:
        return type(exc).__name__, str(exc)


_values = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(2 ** 1100), max_value=2 ** 1100),
    st.booleans(),
    st.none(),
    st.text(max_size=3),
    st.fractions(max_denominator=7),
    st.builds(MyFloat, st.floats(allow_nan=False, allow_infinity=False)),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_values, min_size=0, max_size=5), st.booleans())
def test_any_row_gives_the_same_outcome_on_both_backends(row, as_tuple):
    """Whatever a row holds, the C backend (with the shortcut) returns the
    Python backend's outputs, or raises its exception with its message."""
    py, c = both_backends([4, 3, 2], seed=8)
    x = tuple(row) if as_tuple else row
    assert repr(_outcome(c.feedforward, x)) == repr(_outcome(py.feedforward, x))
    assert repr(_outcome(c.predict, [x, x])) == repr(_outcome(py.predict, [x, x]))
