"""The pure-Python backend's three SGD paths return the same bits.

Small networks train through an unrolled kernel (_py_fast), larger ones
through an inlined list loop, other losses through the general per-sample
step. All three must agree exactly with each other (and, in test_parity, with C).
"""

import random

import pytest

from plainnet import _py_backend, _py_fast

SHAPES = [[2, 2, 1], [1, 1], [3, 5, 2], [4, 3, 3, 2], [2, 6, 5, 4, 3], [5, 1, 4]]
ACTS = ["sigmoid", "tanh", "relu", "leaky_relu", "linear", "softplus", "silu", "gelu"]


def _core(sizes, acts, seed):
    rng = random.Random(seed)
    W = [[[rng.gauss(0, 1) for _ in range(a)] for _ in range(b)] for a, b in zip(sizes, sizes[1:])]
    B = [[rng.gauss(0, 1) for _ in range(b)] for b in sizes[1:]]
    return _py_backend.Core(sizes, acts, "mse", W, B)


@pytest.mark.parametrize("sizes", SHAPES, ids=lambda s: "-".join(map(str, s)))
@pytest.mark.parametrize("seed", range(3))
def test_unrolled_inlined_and_general_paths_agree(sizes, seed):
    rng = random.Random(seed)
    acts = [rng.choice(ACTS) for _ in sizes[1:]]
    X = [[rng.uniform(-3, 3) for _ in range(sizes[0])] for _ in range(7)]
    T = [[rng.uniform(0, 1) for _ in range(sizes[-1])] for _ in range(7)]
    order = list(range(7))
    rng.shuffle(order)
    kernel = _py_fast._compiled(tuple(sizes), tuple(acts))
    inlined = _py_fast._list_epoch(tuple(acts))
    assert _py_fast.sgd_epoch(sizes, acts) is kernel

    a, b, c = (_core(sizes, acts, seed) for _ in range(3))
    totals = []
    for _ in range(3):
        ta = kernel(X, T, order, 0.05, a.W, a.B)
        tb = inlined(X, T, order, 0.05, b.W, b.B)
        tc = 0.0
        for k in order:
            tc += c._sgd_step(X[k], T[k], 0.05)
        totals.append((ta, tb, tc))
    for ta, tb, tc in totals:
        assert ta == tb == tc
    assert a.get_params() == b.get_params() == c.get_params()


def test_large_networks_use_the_list_loop():
    assert _py_fast.sgd_epoch([64, 32, 10], ["sigmoid", "sigmoid"]).__name__ == "epoch"
    assert _py_fast.sgd_epoch([64, 32, 10], ["sigmoid", "sigmoid"]) is not _py_fast._compiled(
        (64, 32, 10), ("sigmoid", "sigmoid"))
    assert _py_fast.sgd_epoch([2, 2, 1], ["sigmoid", "softmax"]) is None


def test_kernel_source_holds_no_data():
    # Only names, operators and our constants: never a weight or an input value.
    src = _py_fast._source([2, 2, 1], ["sigmoid", "tanh"])
    for token in ("0.7216", "e-", "import", "open("):
        assert token not in src
