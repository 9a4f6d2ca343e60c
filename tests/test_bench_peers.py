"""The benchmark's mini-batch numpy peer (benchmarks/bench_peers.py) does plainnet's maths.

W6 compares plainnet's mini-batch SGD and Adam with a numpy loop; if that loop
computed something else (another loss scaling, Adam without bias correction),
the comparison would be of different work.  Checked here on a tiny network
against plainnet's Python backend; BLAS may reorder sums, so to 1e-12.
"""

import os
import sys
import types

import pytest

np = pytest.importorskip("numpy")

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks"))
import bench_peers  # noqa: E402

import plainnet as pn  # noqa: E402


@pytest.mark.parametrize("optimizer, lr", [("sgd", 0.5), ("adam", 0.01)])
def test_numpy_mini_batch_peer_matches_plainnet(optimizer, lr):
    rng = np.random.default_rng(7)
    X = rng.random((11, 4))  # batches of 4, 4 and 3
    T = np.eye(2)[rng.integers(0, 2, 11)]
    net = pn.Network([4, 3, 2], seed=5, backend="python")
    wl = types.SimpleNamespace(W0=net.weights, B0=net.biases, X=X, T=T, n_rows=11, epochs=2, lr=lr)
    peer = bench_peers.NumpyBatchTrain(wl, optimizer, 4, lr)
    peer.run()
    net.train(X, T, 2, lr, optimizer=optimizer, batch_size=4)
    got = [p.tolist() for p in peer.params]
    for a, b in zip(got, net.weights + net.biases):
        assert np.allclose(a, b, rtol=0, atol=1e-12)
