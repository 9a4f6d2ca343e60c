"""plainnet's benchmark: every workload against every peer installed here.

    python benchmarks/run.py [--quick] [--only W1,W2] [--repeats N]

Prints a table and writes docs/benchmarks.md and docs/benchmarks.png.  Peers
that are not installed are skipped with the reason.  Repeats are interleaved
(peer A, peer B, ..., then again), each peer is warmed up once, and every
ratio compares medians measured in this same run.  See benchmarks/README.md.
"""

import argparse
import datetime
import os
import platform
import subprocess
import sys
import time
import types

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

import bench_native  # noqa: E402  (benchmarks/ is on sys.path when run as a script)
import bench_peers  # noqa: E402
import bench_report  # noqa: E402
from bench_peers import Skip  # noqa: E402

SEED = 2024
WORKLOADS = ("W1", "W2", "W3", "W4", "W5", "W6", "W7")

#: Settings of a full run and of --quick.  A peer too slow for the full work
#: in the time budget does a stated part of it; its per-step figures still compare.
#: ``cut`` maps a slow peer family and workload to the (epochs, rows) it does.
FULL = dict(repeats=5, w2_epochs=10, w3_rows=2000, py_batch_rows=500, call_seconds=0.1, import_repeats=10,
            w6_rows=4096, w6_per_sample_rows=1024, w6_bits_rows=72, w7_epochs=30,
            cut={"python": {"W2": (1, None), "W3": (1, 40)},
                 "torch": {"W2": (2, None), "W3": (1, 1000)},
                 "sklearn": {"W3": (1, 500)}})
QUICK = dict(repeats=3, w2_epochs=2, w3_rows=1000, py_batch_rows=200, call_seconds=0.04, import_repeats=5,
             w6_rows=1024, w6_per_sample_rows=256, w6_bits_rows=72, w7_epochs=30,
             cut={"python": {"W2": (1, 300), "W3": (1, 10)},
                  "torch": {"W1": (100, None), "W2": (1, 300), "W3": (1, 100)},
                  "sklearn": {"W1": (200, None), "W2": (1, 300), "W3": (1, 100)}})

#: Flops of one W3 sample-step, counting 2 per multiply-add.
W3_SIZES = [784, 128, 10]


def w3_flops_per_step(sizes=W3_SIZES):
    n_in, n_hid, n_out = sizes
    weights = n_in * n_hid + n_hid * n_out
    return 2 * weights + 2 * n_hid * n_out + 2 * weights


W3_FLOPS_FORMULA = (
    "flops per sample-step = forward 2*(784*128 + 128*10) + hidden delta sums 2*(128*10) "
    "+ update 2*(784*128 + 128*10) = %d (biases and sigmoids not counted)" % w3_flops_per_step()
)

#: W6: mini-batch training of 784-256-10.  Flops per sample, 2 per multiply-add:
#: forward, deltas back to the hidden layer, weight gradients (the same count
#: as W3's per-sample step, whose update is its weight gradient).
W6_SIZES = [784, 256, 10]
W6_BATCH = 64
W6_LR = {"sgd": 0.1, "adam": 0.001}


def w6_flops_per_sample(sizes=W6_SIZES):
    return w3_flops_per_step(sizes)


W6_FLOPS_FORMULA = (
    "flops per sample = forward 2*(784*256 + 256*10) + deltas back to the hidden layer 2*(256*10) "
    "+ weight gradients 2*(784*256 + 256*10) = %d (biases, sigmoids and the once-per-batch "
    "optimizer step not counted); GFLOP/s = that / (us per sample * 1e3)" % w6_flops_per_sample()
)


# -- plainnet and the workloads --------------------------------------------
def import_plainnet(installed):
    """plainnet from this checkout's src/ (or, with --installed, as installed)."""
    if not installed:
        sys.path.insert(0, os.path.join(ROOT, "src"))
    import plainnet

    return plainnet


class Workload:
    """One training problem: sizes, data, epochs, learning rate, initial weights.

    The initial weights are plainnet's (``Network(sizes, seed=SEED)``), handed
    to every peer that can take them.
    """

    def __init__(self, pn, np, key, title, sizes, X, T, epochs, lr=0.1, data_note=""):
        self.key, self.title, self.sizes = key, title, list(sizes)
        self.X = np.ascontiguousarray(X, dtype=np.float64)
        self.T = np.ascontiguousarray(T, dtype=np.float64).reshape(len(self.X), -1)
        self.X_list, self.T_list = self.X.tolist(), self.T.tolist()
        self.n_rows, self.epochs, self.lr = len(self.X), epochs, lr
        self.data_note = data_note
        init = pn.Network(sizes, seed=SEED, backend="python")
        self.W0, self.B0 = init.weights, init.biases


def make_w1(pn, np):
    X = [[-2, -1], [25, 6], [17, 4], [-15, -6]]  # Alice, Bob, Charlie, Diana
    T = [1, 0, 0, 1]
    return Workload(pn, np, "W1", "tutorial 2-2-1, 4 rows, 1000 epochs", [2, 2, 1], X, T, 1000)


def digits(np):
    """scikit-learn's 8x8 digits (pixels/16, one-hot), or synthetic data of that shape."""
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        rng = np.random.default_rng(SEED)
        X = rng.integers(0, 17, size=(1797, 64)) / 16.0
        y = rng.integers(0, 10, size=1797)
        note = "SYNTHETIC 1797x64 data (scikit-learn absent): accuracy is meaningless"
    else:
        d = load_digits()
        X, y = d.data / 16.0, d.target
        note = "scikit-learn's load_digits, 1797 rows, pixels/16, one-hot targets"
    return X, np.eye(10)[y], note


def make_w2(pn, np, epochs):
    X, T, note = digits(np)
    title = "64-32-10 on 8x8 digits, %d epochs" % epochs
    return Workload(pn, np, "W2", title, [64, 32, 10], X, T, epochs, data_note=note)


def make_w3(pn, np, rows):
    rng = np.random.default_rng(SEED + 3)
    X = rng.random((rows, 784))
    teacher = rng.standard_normal((784, 10))
    T = np.eye(10)[((X - 0.5) @ teacher).argmax(axis=1)]
    note = "synthetic: uniform [0,1) inputs, one-hot labels of a random linear teacher (seed %d)" % (SEED + 3)
    return Workload(pn, np, "W3", "784-128-10, %d synthetic rows, 1 epoch" % rows,
                    W3_SIZES, X, T, 1, data_note=note)


def make_w6(pn, np, rows):
    rng = np.random.default_rng(SEED + 6)
    X = rng.random((rows, 784))
    teacher = rng.standard_normal((784, 10))
    T = np.eye(10)[((X - 0.5) @ teacher).argmax(axis=1)]
    note = "synthetic: uniform [0,1) inputs, one-hot labels of a random linear teacher (seed %d)" % (SEED + 6)
    return Workload(pn, np, "W6", "784-256-10, %d synthetic rows, 1 epoch, float64 arrays in" % rows,
                    W6_SIZES, X, T, 1, data_note=note)


# -- measuring -------------------------------------------------------------
class Result:
    """One peer's figures on one workload (or its reason for being skipped)."""

    def __init__(self, group, peer, unit, values=None, runner=None, skipped=None, note=""):
        self.group, self.peer, self.unit = group, peer, unit
        self.values = values or []
        self.runner = runner
        self.skipped = skipped
        self.note = note
        self.extra = {}

    @property
    def median(self):
        v = sorted(self.values)
        n = len(v)
        return (v[n // 2] + v[(n - 1) // 2]) / 2 if n else float("nan")

    @property
    def low(self):
        return min(self.values)

    @property
    def high(self):
        return max(self.values)


# A round of a short workload is the best of back-to-back runs filling this
# many seconds (at most ROUND_RUNS runs), as timeit does: one run of 0.3 ms is
# at the mercy of a single interrupt.  Long workloads run once per round.
ROUND_SECONDS = 0.05
ROUND_RUNS = 25


# Single-threaded peers run with the process pinned to one CPU: free to move,
# the scheduler sometimes parks an interpreter on a contended core for a whole
# measurement (seen here: the same Python run at 1.8 or 2.7 us/step by
# process).  Peers that use several threads get all CPUs while they run.
_CPUS = {"all": None, "one": None}


_BLAS_LIMIT = []  # threadpoolctl's limit, kept for the whole run


def set_affinity(cpus):
    """Set the CPUs of every thread of this process: sched_setaffinity(0) sets
    only the calling thread's, and BLAS or OpenMP worker threads started
    earlier (numpy's OpenBLAS starts its pool at import) would keep all CPUs."""
    try:
        tids = [int(t) for t in os.listdir("/proc/self/task")]
    except OSError:
        tids = [0]
    for tid in tids:
        try:
            os.sched_setaffinity(tid, cpus)
        except OSError:  # a thread that ended meanwhile
            pass


def pin_to_one_cpu():
    """Pin this process to one CPU and numpy's BLAS to one thread; returns a description for the report."""
    if not hasattr(os, "sched_setaffinity"):
        return "not pinned (no sched_setaffinity here)"
    allowed = os.sched_getaffinity(0)
    one = {max(allowed)}
    set_affinity(one)
    _CPUS.update(all=allowed, one=one)
    # BLAS pools run one thread: a numpy peer is a single-threaded peer (on one
    # CPU, a pool of spinning BLAS threads would fight over it).
    try:
        import threadpoolctl
    except ImportError:
        blas = "BLAS threads not limited (threadpoolctl is not installed; pip install threadpoolctl)"
    else:
        _BLAS_LIMIT.append(threadpoolctl.threadpool_limits(limits=1, user_api="blas"))
        blas = "BLAS (numpy, scikit-learn) limited to 1 thread with threadpoolctl"
    return "pinned to CPU %d; peers using n threads get %d CPUs while they run; %s" % (
        max(allowed), len(allowed), blas)


def with_cpus(runner, fn):
    """fn() on the CPUs runner may use: one, or all for a peer of several threads."""
    if _CPUS["one"] is None or getattr(runner, "threads", 1) <= 1:
        return fn()
    set_affinity(_CPUS["all"])
    try:
        return fn()
    finally:
        set_affinity(_CPUS["one"])


def run_once(runner):
    return with_cpus(runner, runner.run)


def best_of_round(runner):
    """Seconds of the fastest of one or more back-to-back ``runner.run()``."""
    best = spent = run_once(runner)
    runs = 1
    while spent < ROUND_SECONDS and runs < ROUND_RUNS:
        seconds = run_once(runner)
        best = min(best, seconds)
        spent += seconds
        runs += 1
    return best


def measure(group, unit, scale, factories, repeats):
    """Warm up each peer once, then ``repeats`` interleaved rounds.

    ``factories`` is a list of (peer name, note, function returning a Runner).
    Each value recorded is seconds per step times ``scale`` (1e6 for us).
    """
    results, active = [], []
    for peer, note, factory in factories:
        try:
            runner = factory()
            with_cpus(runner, runner.warm_up)
        except Skip as exc:
            print("  %-34s skipped: %s" % (peer, exc))
            results.append(Result(group, peer, unit, skipped=str(exc), note=note))
            continue
        except Exception as exc:  # a broken peer must not stop the others
            print("  %-34s FAILED: %r" % (peer, exc))
            results.append(Result(group, peer, unit, skipped="FAILED: %r" % exc, note=note))
            continue
        result = Result(group, peer, unit, runner=runner, note=note)
        results.append(result)
        active.append(result)
    for _ in range(repeats):
        for result in active:
            try:
                seconds = best_of_round(result.runner)
            except Exception as exc:
                print("  %-34s FAILED: %r" % (result.peer, exc))
                result.skipped = "FAILED during the timed runs: %r" % exc
                continue
            result.values.append(seconds / result.runner.steps * scale)
    for result in active:
        if result.skipped:
            result.values = []
            continue
        if result.runner.reduced:
            result.extra["work"] = result.runner.reduced
        result.extra.update(result.runner.quality)
        print("  %-34s %12.4g %s  (%s)" % (result.peer, result.median, unit,
                                           ", ".join("%s %s" % kv for kv in result.extra.items()) or "-"))
    return results


def check_same_bits(results, sizes):
    """Mark runners whose final weights equal plainnet C's, bit for bit."""
    ref = next((r for r in results if r.peer == "plainnet c" and r.values), None)
    if ref is None:
        return
    want = ref.runner.final_params()
    for r in results:
        if r is ref or not r.values or r.runner.reduced or not hasattr(r.runner, "final_params"):
            continue
        got = r.runner.final_params(sizes) if isinstance(r.runner, bench_native.NativeTrain) \
            else r.runner.final_params()
        if got is not None:
            r.extra["same bits as c"] = "yes" if got == want else "no"


def training_peers(pn, wl, builder, cfg, tutorial=False):
    """(name, note, factory) for every peer of a training workload."""
    P = bench_peers
    py_epochs, py_rows = cfg["cut"]["python"].get(wl.key, (None, None))
    sk_epochs, sk_rows = cfg["cut"]["sklearn"].get(wl.key, (None, None))
    th = cfg["cut"]["torch"].get(wl.key, (None, None))
    peers = [
        ("plainnet c", "Network.train, lists of floats in", lambda: P.PlainnetTrain(pn, wl, "c")),
        ("plainnet c, ndarray in", "Network.train, float64 arrays in",
         lambda: P.PlainnetTrain(pn, wl, "c", input="ndarray")),
        ("plainnet c, lists via Python", "Network.train, lists checked and packed in Python, "
         "without plainnet._pn_lists (as on PyPy)",
         lambda: P.PlainnetTrain(pn, wl, "c", lists_in_c=False)),
        ("plainnet python", "Network.train, lists of floats in",
         lambda: P.PlainnetTrain(pn, wl, "python", epochs=py_epochs, rows=py_rows)),
    ]
    if tutorial:
        peers.append(("tutorial numpy (scalar w1..b3)", "", lambda: P.TutorialNumpy(wl)))
    peers += [
        ("numpy per-layer", "np.dot per layer, float64", lambda: P.NumpyPerLayer(wl)),
        ("scikit-learn MLPRegressor", "sgd, batch_size=1",
         lambda: P.SklearnTrain(wl, sk_epochs, sk_rows, seed=SEED)),
        ("torch float64, 1 thread", "", lambda: P.TorchTrain(wl, "float64", 1, *th)),
        ("torch float64, %d threads" % cfg["threads"], "", lambda: P.TorchTrain(wl, "float64", cfg["threads"], *th)),
        ("torch float32, 1 thread", "", lambda: P.TorchTrain(wl, "float32", 1, *th)),
        ("torch float32, %d threads" % cfg["threads"], "", lambda: P.TorchTrain(wl, "float32", cfg["threads"], *th)),
        ("FANN (doublefann, fann_train)", "", lambda: bench_native.fann_runner(builder, wl)),
        ("limit C, fast", " ".join(bench_native.LIMIT_BUILDS["fast"]),
         lambda: bench_native.limit_runner(builder, wl, "fast")),
        ("limit C, strict", " ".join(bench_native.LIMIT_BUILDS["strict"]),
         lambda: bench_native.limit_runner(builder, wl, "strict")),
        ("limit C, strict, input-major", " ".join(bench_native.LIMIT_BUILDS["strict, input-major"]),
         lambda: bench_native.limit_runner(builder, wl, "strict, input-major")),
        ("limit C, fast, input-major", " ".join(bench_native.LIMIT_BUILDS["fast, input-major"]),
         lambda: bench_native.limit_runner(builder, wl, "fast, input-major")),
    ]
    return peers


def run_training(pn, wl, builder, cfg, **kw):
    print("\n%s: %s" % (wl.key, wl.title))
    started = time.perf_counter()
    results = measure(wl.key, "us/step", 1e6, training_peers(pn, wl, builder, cfg, **kw), cfg["repeats"])
    check_same_bits(results, wl.sizes)
    for r in results:
        if not r.values:
            continue
        if wl.key == "W1" and not r.runner.reduced:
            r.extra["ms/run"] = "%.3g" % (r.median * r.runner.steps / 1e3)
        if wl.key == "W3":
            r.extra["GFLOP/s"] = "%.3g" % (w3_flops_per_step(wl.sizes) / (r.median * 1e3))
    print("  (%s took %.0f s)" % (wl.key, time.perf_counter() - started))
    return results


def run_w6(pn, np, wl, builder, cfg):
    """W6: mini-batch 64 SGD and Adam on 784-256-10 against torch and numpy, per-sample
    SGD and Adam on the same network, plainnet's bits across backends and threads,
    and GFLOP/s against the measured float64 peak of one core."""
    P = bench_peers
    threads = cfg["threads"]
    set_threads, get_threads = P.plainnet_threads(pn)
    results = []
    print("\nW6 peak: float64 GFLOP/s of one core (benchmarks/peak.c)")
    for build in ("mul+add", "fma"):
        peer = "peak.c, %s" % ("separate mul and add (no FMA)" if build == "mul+add" else "FMA (reference)")
        note = " ".join(bench_native.PEAK_BUILDS[build])
        try:
            values = bench_native.peak_gflops(builder, build, runs=cfg["repeats"])
        except (Skip, RuntimeError, OSError) as exc:
            print("  %-34s skipped: %s" % (peer, exc))
            results.append(Result("W6 peak", peer, "GFLOP/s", skipped=str(exc), note=note))
            continue
        r = Result("W6 peak", peer, "GFLOP/s", values=values, note=note)
        r.extra["best"] = "%.3g" % max(values)
        print("  %-34s %12.4g GFLOP/s (best %.4g)" % (peer, r.median, max(values)))
        results.append(r)
    # the peak is the best run: noise only ever slows peak.c down
    peak = find(results, "W6 peak", "peak.c, separate mul and add (no FMA)")
    peak = max(peak.values) if peak is not None else None

    for opt in ("sgd", "adam"):
        group = "W6 " + opt
        lr = W6_LR[opt]
        print("\n%s: mini-batch %d, %s (lr %g), %s" % (group, W6_BATCH, opt, lr, wl.title))
        started = time.perf_counter()
        peers = [
            ("plainnet c", "train(X, T, 1, %g, optimizer=%r, batch_size=%d), 1 thread" % (lr, opt, W6_BATCH),
             lambda: P.PlainnetBatchTrain(pn, wl, opt, W6_BATCH, lr, threads=1)),
            ("plainnet c, %d threads" % threads, "plainnet.set_num_threads(%d)" % threads,
             lambda: P.PlainnetBatchTrain(pn, wl, opt, W6_BATCH, lr, threads=threads)),
            ("numpy mini-batch", "X @ W.T per layer, D.T @ A gradients, float64 (BLAS, 1 CPU)",
             lambda: P.NumpyBatchTrain(wl, opt, W6_BATCH, lr)),
            ("torch float64, 1 thread", "mse_loss per batch, optim.%s" % ("SGD" if opt == "sgd" else "Adam"),
             lambda: P.TorchBatchTrain(wl, opt, W6_BATCH, lr, 1)),
            ("torch float64, %d threads" % threads, "torch.set_num_threads(%d)" % threads,
             lambda: P.TorchBatchTrain(wl, opt, W6_BATCH, lr, threads)),
        ]
        group_results = measure(group, "us/sample", 1e6, peers, cfg["repeats"])
        one = find(group_results, group, "plainnet c")
        many = find(group_results, group, "plainnet c, %d threads" % threads)
        if one is not None and many is not None:
            many.extra["same bits as 1 thread"] = "yes" if one.runner.final_params() == many.runner.final_params() \
                else "no"
        if one is not None:
            same = w6_same_bits(pn, wl, opt, lr, cfg["w6_bits_rows"], set_threads, threads)
            one.extra.update(same)
            print("  %-34s %s" % ("bits (reduced W6)", ", ".join("%s: %s" % kv for kv in same.items())))
        for r in group_results:
            if r.values:
                gf = w6_flops_per_sample() / (r.median * 1e3)
                r.extra["GFLOP/s"] = "%.3g" % gf
                if peak is not None:
                    r.extra["of peak"] = "%.0f%%" % (100 * gf / peak)
        print("  (%s took %.0f s)" % (group, time.perf_counter() - started))
        results += group_results

    rows = min(cfg["w6_per_sample_rows"], wl.n_rows)
    group = "W6 per-sample"
    print("\n%s: batch_size 1, 784-256-10, %d of the W6 rows, 1 thread" % (group, rows))
    peers = [("plainnet c, per-sample %s" % opt, "train(X, T, 1, %g, optimizer=%r, batch_size=1)" % (W6_LR[opt], opt),
              lambda opt=opt: P.PlainnetBatchTrain(pn, wl, opt, 1, W6_LR[opt], threads=1, rows=rows))
             for opt in ("sgd", "adam")]
    group_results = measure(group, "us/sample", 1e6, peers, cfg["repeats"])
    for r in group_results:
        if r.values:
            r.extra["GFLOP/s"] = "%.3g" % (w6_flops_per_sample() / (r.median * 1e3))
    results += group_results
    if get_threads is not None:
        print("  plainnet.get_num_threads() = %r after the runs" % (get_threads(),))
    return results


def w6_same_bits(pn, wl, opt, lr, rows, set_threads, threads):
    """Train the first ``rows`` W6 rows (batch 64, one epoch) on plainnet's Python
    backend and on C (at 1 thread and, with thread support, at all threads);
    {check: "yes"/"no"} for each pair of final weights compared bit for bit."""
    if "python" not in pn.available_backends() or "c" not in pn.available_backends():
        return {}
    X, T = wl.X[:rows], wl.T[:rows]

    def train(backend, n_threads=None):
        if n_threads is not None and set_threads is not None:
            set_threads(n_threads)
        net = pn.Network.from_weights(wl.W0, wl.B0, backend=backend)
        net.train(X, T, 1, lr, optimizer=opt, batch_size=W6_BATCH)
        return net.weights, net.biases

    ref = train("python")
    key = "same bits c/python (%d rows)" % rows
    out = {key: "yes" if train("c", 1) == ref else "no"}
    if set_threads is not None and threads > 1:
        out[key] += "; %d threads: %s" % (threads, "yes" if train("c", threads) == ref else "no")
        set_threads(1)
    return out


def run_w7(pn, np, cfg):
    """W7: scikit-learn's default fit: NetClassifier against MLPClassifier on digits."""
    P = bench_peers
    threads = cfg["threads"]
    epochs = cfg["w7_epochs"]
    print("\nW7: NetClassifier.fit against MLPClassifier.fit on digits, %d epochs" % epochs)
    results = []
    try:
        P.need("sklearn", "; pip install scikit-learn")
        from sklearn.datasets import load_digits
        from sklearn.model_selection import train_test_split
        from sklearn.neural_network import MLPClassifier
        import plainnet.sklearn as pn_sklearn
    except (Skip, ImportError) as exc:
        print("  W7 skipped: %s" % exc)
        return [Result("W7", "plainnet c", "ms/fit", skipped=str(exc))]
    d = load_digits()
    X_train, X_test, y_train, y_test = train_test_split(
        d.data / 16.0, d.target, test_size=0.25, random_state=SEED, stratify=d.target)
    # NetClassifier's defaults, and MLPClassifier set to the same: one hidden layer
    # of 32 sigmoids, Adam, lr 0.01, batches of 32, shuffled, every epoch run.
    hidden, lr, batch = (32,), 0.01, 32
    set_threads, _ = P.plainnet_threads(pn)

    def net_classifier():
        return pn_sklearn.NetClassifier(hidden_layer_sizes=hidden, activation="sigmoid", optimizer="adam",
                                        learning_rate=lr, epochs=epochs, batch_size=batch, shuffle=True,
                                        tol=None, early_stopping=False, random_state=SEED, backend="c")

    def mlp_classifier():
        return MLPClassifier(hidden_layer_sizes=hidden, activation="logistic", solver="adam",
                             learning_rate_init=lr, max_iter=epochs, batch_size=batch, shuffle=True,
                             alpha=0.0, tol=0.0, n_iter_no_change=10 ** 9, early_stopping=False,
                             random_state=SEED)

    def plainnet_fit(n_threads):
        if "c" not in pn.available_backends():
            raise Skip("plainnet backend 'c' is not available here")
        if n_threads > 1 and set_threads is None:
            raise Skip("no thread support in this build")
        before = (lambda: set_threads(n_threads)) if set_threads is not None else None
        return P.EstimatorFit(net_classifier, X_train, y_train, X_test, y_test, before, n_threads)

    data = (X_train, y_train, X_test, y_test)
    peers = [
        ("plainnet c", "NetClassifier(hidden_layer_sizes=(32,), optimizer='adam', learning_rate=0.01, "
         "epochs=%d, batch_size=32, tol=None, backend='c').fit, 1 thread" % epochs, lambda: plainnet_fit(1)),
        ("plainnet c, %d threads" % threads, "plainnet.set_num_threads(%d)" % threads,
         lambda: plainnet_fit(threads)),
        ("scikit-learn MLPClassifier", "MLPClassifier(hidden_layer_sizes=(32,), activation='logistic', "
         "solver='adam', learning_rate_init=0.01, max_iter=%d, batch_size=32, alpha=0, tol=0, "
         "n_iter_no_change=10**9).fit, 1 CPU" % epochs, lambda: P.EstimatorFit(mlp_classifier, *data)),
    ]
    results = measure("W7", "ms/fit", 1e3, peers, cfg["repeats"])
    for r in results:
        if r.values and r.runner.model is not None:
            r.extra["epochs run"] = getattr(r.runner.model, "n_iter_", "?")
    if set_threads is not None:
        set_threads(1)
    return results


def calibrated_calls(fn, arg, seconds):
    """How many calls of fn(arg) take about ``seconds``."""
    t0 = time.perf_counter()
    n = 0
    while time.perf_counter() - t0 < seconds / 10 or n < 3:
        fn(arg)
        n += 1
    per_call = (time.perf_counter() - t0) / n
    return max(3, int(seconds / per_call))


def run_predict(pn, np, wl, cfg):
    """W4: single-row latency from Python and 10,000-row batch throughput."""
    P = bench_peers
    results = []
    W, B = wl.W0, wl.B0
    Ws = [np.array(w) for w in W]
    bs = [np.array(b) for b in B]
    x_list = wl.X_list[0]
    x_arr = wl.X[0].copy()
    rng = np.random.default_rng(SEED + 4)
    batch = rng.random((10000, 64))
    batch_list = batch.tolist()

    def plainnet(backend):
        if backend not in pn.available_backends():
            raise Skip("plainnet backend %r is not available here" % backend)
        return pn.Network.from_weights(W, B, backend=backend)

    def plainnet_lists_via_python():
        net = plainnet("c")
        P.without_pn_lists()
        net._core.forward_list = lambda x: None  # the shortcut of Network.feedforward
        return net

    def calls(fn, arg, before=None):
        if before:
            before()
        return P.CallLoop(fn, arg, calibrated_calls(fn, arg, cfg["call_seconds"]), before)

    def torch_forward(threads, batched):
        """(forward, input, set_threads) for torch, float64, no_grad."""
        torch = P.need("torch", "; pip install torch==2.13.0")
        model = P.torch_model(torch, wl, torch.float64)

        def forward(x):
            with torch.no_grad():
                return model(x)
        return forward, torch.tensor(batch if batched else x_arr), lambda: torch.set_num_threads(threads)

    def sklearn_model():
        model = P.sklearn_regressor(wl, 1, SEED)
        from sklearn.exceptions import ConvergenceWarning
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(wl.X[:20], wl.T[:20])
        model.coefs_ = [w.T.copy() for w in Ws]
        model.intercepts_ = [b.copy() for b in bs]
        return model

    numpy_forward = P.numpy_forward(np, Ws, bs)
    threads = cfg["threads"]
    print("\nW4a: single-row predict latency, 64-32-10")
    latency = [
        ("plainnet c", "feedforward(list of 64 floats)", lambda: calls(plainnet("c").feedforward, x_list)),
        ("plainnet c, lists via Python", "feedforward(list of 64 floats) checked and packed in "
         "Python, without plainnet._pn_lists (as on PyPy)",
         lambda: calls(plainnet_lists_via_python().feedforward, x_list)),
        ("plainnet python", "feedforward(list of 64 floats)",
         lambda: calls(plainnet("python").feedforward, x_list)),
        ("numpy per-layer", "np.dot per layer on a float64 array (no list conversion)",
         lambda: calls(numpy_forward, x_arr)),
        ("numpy per-layer, list in", "np.asarray(list) then np.dot per layer",
         lambda: calls(lambda x: numpy_forward(np.asarray(x, dtype=np.float64)), x_list)),
        ("scikit-learn MLPRegressor", "predict(1x64 array), plainnet's weights, identity output",
         lambda: calls(sklearn_model().predict, x_arr.reshape(1, -1))),
        ("torch float64, 1 thread", "model(tensor) under no_grad",
         lambda: calls(*torch_forward(1, False))),
    ]
    results += measure("W4a", "us/call", 1e6, latency, cfg["repeats"])

    print("\nW4b: batch predict throughput, 10,000 rows, 64-32-10")
    py_rows = cfg["py_batch_rows"]

    def batch_call(fn, rows, n, before=None):
        return P.BatchCall(fn, rows, n, before)

    def reduced(runner, n):
        runner.reduced = "%d of 10000 rows" % n
        return runner

    def torch_batch(n_threads):
        fn, rows, before = torch_forward(n_threads, True)
        runner = batch_call(fn, rows, 10000, before)
        runner.threads = n_threads  # run on as many CPUs (see pin_to_one_cpu)
        return runner

    def numpy_batch(X):
        for w, b in zip(Ws, bs):
            X = 1.0 / (1.0 + np.exp(-(X @ w.T + b)))
        return X

    throughput = [
        ("plainnet c, as_numpy", "predict(float64 array, as_numpy=True), 1 thread",
         lambda: plainnet_as_numpy(pn, plainnet("c"), batch, 1)),
        ("plainnet c, as_numpy, %d threads" % threads, "plainnet.set_num_threads(%d)" % threads,
         lambda: plainnet_as_numpy(pn, plainnet("c"), batch, threads)),
        ("plainnet c", "predict(list of lists)", lambda: batch_call(plainnet("c").predict, batch_list, 10000)),
        ("plainnet c, ndarray in", "predict(float64 array)",
         lambda: batch_call(plainnet("c").predict, batch, 10000)),
        ("plainnet python", "predict(list of lists)",
         lambda: reduced(batch_call(plainnet("python").predict, batch_list[:py_rows], py_rows), py_rows)),
        ("numpy batched", "X @ W.T + b per layer, float64 (BLAS)", lambda: batch_call(numpy_batch, batch, 10000)),
        ("scikit-learn MLPRegressor", "predict(10000x64 array)",
         lambda: batch_call(sklearn_model().predict, batch, 10000)),
        ("torch float64, 1 thread", "model(10000x64 tensor) under no_grad",
         lambda: torch_batch(1)),
        ("torch float64, %d threads" % threads, "model(10000x64 tensor) under no_grad",
         lambda: torch_batch(threads)),
    ]
    with np.errstate(over="ignore"):
        batch_results = measure("W4b", "us/row", 1e6, throughput, cfg["repeats"])
    for r in batch_results:
        if r.values:
            r.extra["rows/s"] = "%.3g" % (1e6 / r.median)
    return results + batch_results + run_predict_784(pn, np, cfg)


def plainnet_as_numpy(pn, net, batch, n_threads):
    """A BatchCall of ``net.predict(batch, as_numpy=True)`` at ``n_threads``
    (set with plainnet.set_num_threads before each run; Skip for n > 1 without it)."""
    set_threads, _ = bench_peers.plainnet_threads(pn)
    if n_threads > 1 and set_threads is None:
        raise Skip("no thread support in this build")
    before = (lambda: set_threads(n_threads)) if set_threads is not None else None
    runner = bench_peers.BatchCall(lambda X: net.predict(X, as_numpy=True), batch, len(batch), before)
    runner.threads = n_threads
    return runner


def run_predict_784(pn, np, cfg):
    """W4b on 784-256-10: plainnet's as_numpy predict against numpy and torch float64."""
    P = bench_peers
    threads = cfg["threads"]
    sizes = [784, 256, 10]
    init = pn.Network(sizes, seed=SEED, backend="python")
    W, B = init.weights, init.biases
    Ws = [np.array(w) for w in W]
    bs = [np.array(b) for b in B]
    batch = np.random.default_rng(SEED + 5).random((10000, 784))
    print("\nW4b 784: batch predict throughput, 10,000 rows, 784-256-10")

    def plainnet_c():
        if "c" not in pn.available_backends():
            raise Skip("plainnet backend 'c' is not available here")
        return pn.Network.from_weights(W, B, backend="c")

    def numpy_batch(X):
        for w, b in zip(Ws, bs):
            X = 1.0 / (1.0 + np.exp(-(X @ w.T + b)))
        return X

    def torch_batch(n_threads):
        torch = P.need("torch", "; pip install torch==2.13.0")

        model = P.torch_model(torch, types.SimpleNamespace(W0=W, B0=B), torch.float64)

        def forward(x):
            with torch.no_grad():
                return model(x)
        runner = P.BatchCall(forward, torch.tensor(batch), len(batch), lambda: torch.set_num_threads(n_threads))
        runner.threads = n_threads
        return runner

    peers = [
        ("plainnet c, as_numpy", "predict(float64 array, as_numpy=True), 1 thread",
         lambda: plainnet_as_numpy(pn, plainnet_c(), batch, 1)),
        ("plainnet c, as_numpy, %d threads" % threads, "plainnet.set_num_threads(%d)" % threads,
         lambda: plainnet_as_numpy(pn, plainnet_c(), batch, threads)),
        ("numpy batched", "X @ W.T + b per layer, float64 (BLAS, 1 CPU)", lambda: P.BatchCall(numpy_batch, batch, 10000)),
        ("torch float64, 1 thread", "model(10000x784 tensor) under no_grad", lambda: torch_batch(1)),
        ("torch float64, %d threads" % threads, "model(10000x784 tensor) under no_grad", lambda: torch_batch(threads)),
    ]
    with np.errstate(over="ignore"):
        results = measure("W4b 784", "us/row", 1e6, peers, cfg["repeats"])
    for r in results:
        if r.values:
            r.extra["rows/s"] = "%.3g" % (1e6 / r.median)
    set_threads, _ = P.plainnet_threads(pn)
    if set_threads is not None:
        set_threads(1)
    return results


def run_import(pn, cfg):
    """W5: a fresh interpreter's import time and peak memory, above `python -c pass`."""
    print("\nW5: import time and memory (fresh interpreter, minus `python -c pass`)")
    env = dict(os.environ)
    plainnet_dir = os.path.dirname(os.path.dirname(pn.__file__))
    env["PYTHONPATH"] = os.pathsep.join([plainnet_dir] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    # Measure imports as an installed package behaves: from compiled bytecode.
    # With PYTHONDONTWRITEBYTECODE set (some shells set it) and no __pycache__,
    # every child would compile plainnet's sources again and time the compiler.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    import compileall
    compileall.compile_dir(os.path.dirname(pn.__file__), quiet=1)
    snippets = [("python -c pass", "pass"), ("import plainnet", "import plainnet")]
    if "c" in pn.available_backends():
        snippets.append(("import plainnet + C network",
                         "import plainnet; plainnet.Network([2, 2, 1], backend='c')"))
    snippets.append(("import numpy", "import numpy"))

    # The child reports its own peak RSS (VmHWM): the parent's rusage maxrss
    # would count the memory of this (large) process that the child had
    # between fork and exec.
    report_peak = "\nprint([l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM')][0])"

    def once(code):
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, "-c", code + report_peak], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        elapsed = time.perf_counter() - t0
        if proc.returncode:
            raise RuntimeError("%r exited with status %d" % (code, proc.returncode))
        return elapsed, int(proc.stdout.split()[-1]) / 1024.0  # VmHWM is in kB

    def importtime(module):
        """Cumulative microseconds of ``import module`` by -X importtime (noisy too, but no process start)."""
        proc = subprocess.run([sys.executable, "-X", "importtime", "-c", "import " + module], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        for line in proc.stderr.splitlines():
            parts = [p.strip() for p in line.split("|")]
            if len(parts) == 3 and parts[2] == module:
                return int(parts[1]) / 1e3
        return float("nan")

    results, working = [], []
    for name, code in snippets:
        try:
            once(code)  # warm-up: file caches
            working.append((name, code))
        except RuntimeError as exc:
            print("  %-34s FAILED: %s" % (name, exc))
            results.append(Result("W5", name, "ms", skipped="FAILED: %s" % exc))
    snippets = working
    times = {name: [] for name, _ in snippets}
    rss = {name: [] for name, _ in snippets}
    self_reported = {"import plainnet": [], "import numpy": []}
    for _ in range(cfg["import_repeats"]):
        for name, code in snippets:
            t, m = once(code)
            times[name].append(t)
            rss[name].append(m)
        for name in self_reported:
            self_reported[name].append(importtime(name.split()[1]))
    base_t, base_m = times["python -c pass"], rss["python -c pass"]
    for name, code in snippets:
        r = Result("W5", name, "ms")
        if name == "python -c pass":
            r.values = [t * 1e3 for t in times[name]]
            r.extra["maxrss MiB"] = "%.1f" % sorted(rss[name])[len(rss[name]) // 2]
            r.note = "absolute: the baseline the other rows subtract"
        else:
            r.values = [(t - b) * 1e3 for t, b in zip(times[name], base_t)]
            deltas = sorted(m - b for m, b in zip(rss[name], base_m))
            r.extra["+maxrss MiB"] = "%.1f" % deltas[len(deltas) // 2]
            if name in self_reported:
                v = sorted(self_reported[name])
                r.extra["-X importtime ms"] = "%.1f (%.1f - %.1f)" % (v[len(v) // 2], v[0], v[-1])
            r.note = "python -c %r" % code
        print("  %-34s %10.3g ms  (%s)" % (name, r.median, ", ".join("%s %s" % kv for kv in r.extra.items())))
        results.append(r)
    return results


# -- targets ---------------------------------------------------------------
def find(results, group, peer):
    return next((r for r in results if r.group == group and r.peer == peer and r.values), None)


def evaluate_targets(results):
    """(target, status, detail) for each of the project's targets."""
    out = []

    def ratio_target(text, group, slow, fast, at_least):
        a, b = find(results, group, slow), find(results, group, fast)
        if a is None or b is None:
            missing = slow if a is None else fast
            out.append((text, "not measured", "%s: %s missing" % (group, missing)))
            return
        ratio = a.median / b.median
        status = "MET" if ratio >= at_least else "NOT MET"
        out.append((text, status, "%s / %s = %sx (need >= %gx)" % (slow, fast, bench_report.fmt(ratio), at_least)))

    def within_target(text, group, at_most):
        """plainnet C against the limit: the fastest limit.c build of this run."""
        c = find(results, group, "plainnet c")
        limits = [r for r in results if r.group == group and r.peer.startswith("limit C") and r.values]
        if c is None or not limits:
            out.append((text, "not measured", "%s: %s missing" % (group, "plainnet c" if c is None else "limit C")))
            return
        lim = min(limits, key=lambda r: r.median)
        ratio = c.median / lim.median
        status = "MET" if ratio <= at_most else "NOT MET"
        detail = "plainnet c / %s (the fastest limit build) = %sx (need <= %gx)" % (
            lim.peer, bench_report.fmt(ratio), at_most)
        nd = find(results, group, "plainnet c, ndarray in")
        if nd is not None:
            detail += "; with float64 array input %sx" % bench_report.fmt(nd.median / lim.median)
        out.append((text, status, detail))

    ratio_target("C >= 100x faster than the tutorial's numpy code (W1)", "W1",
                 "tutorial numpy (scalar w1..b3)", "plainnet c", 100)
    within_target("C within 1.3x of the limit loop (W2)", "W2", 1.3)
    within_target("C within 1.5x of the limit loop (W3, issue 3)", "W3", 1.5)
    within_target("C within 2x of the limit loop (W3, issue 6)", "W3", 2.0)
    for group in ("W1", "W2", "W3", "W4a"):
        what = "lowest single-row predict latency (W4a)" if group == "W4a" else "C ahead of every peer (%s)" % group
        c = find(results, group, "plainnet c")
        rivals = [r for r in results if r.group == group and r.values and not r.peer.startswith("plainnet c")
                  and not r.peer.startswith("limit C")]
        if c is None or not rivals:
            out.append((what, "not measured", "plainnet c or its peers missing"))
            continue
        best = min(rivals, key=lambda r: r.median)
        ratio = best.median / c.median
        status = "MET" if ratio > 1 else "NOT MET"
        detail = "fastest other peer: %s, %sx plainnet c's time" % (best.peer, bench_report.fmt(ratio))
        nd = find(results, group, "plainnet c, ndarray in")
        if nd is not None:
            detail += "; %sx with float64 array input" % bench_report.fmt(best.median / nd.median)
        out.append((what, status, detail))
    ratio_target("single-row feedforward from a list >= 5x faster than numpy's forward (W4a)", "W4a",
                 "numpy per-layer", "plainnet c", 5)
    ratio_target("Python backend >= 4x faster than the tutorial's numpy code (W1)", "W1",
                 "tutorial numpy (scalar w1..b3)", "plainnet python", 4)
    out += issue14_targets(results)
    return out


def issue14_targets(results):
    """The targets of issue 14 (batched speed), as (target, status, detail)."""
    out = []
    fmt = bench_report.fmt

    def time_ratio(text, group, a_peer, b_peer, at_most, a_group=None):
        """a's median time over b's <= at_most."""
        a, b = find(results, a_group or group, a_peer), find(results, group, b_peer)
        if a is None or b is None:
            missing_group, missing = (a_group or group, a_peer) if a is None else (group, b_peer)
            skipped = next((r.skipped for r in results if r.group == missing_group and r.peer == missing
                            and r.skipped), None)
            out.append((text, "not measured", "%s: %s missing%s" % (
                missing_group, missing, " (skipped: %s)" % skipped if skipped else "")))
            return
        ratio = a.median / b.median
        out.append((text, "MET" if ratio <= at_most else "NOT MET",
                    "%s / %s = %sx (need <= %gx)" % (a_peer, b_peer, fmt(ratio), at_most)))

    threads = "%d threads" % (os.cpu_count() or 1)  # as main() sets cfg["threads"]
    for opt in ("sgd", "adam"):
        group = "W6 " + opt
        name = "SGD" if opt == "sgd" else "Adam"
        time_ratio("W6 %s, 1 thread: plainnet C <= 1.0x torch float64 (issue 14)" % name, group,
                   "plainnet c", "torch float64, 1 thread", 1.0)
        time_ratio("W6 %s, all threads: plainnet C <= 1.0x torch float64 (issue 14)" % name, group,
                   "plainnet c, " + threads, "torch float64, " + threads, 1.0)
        text = "W6 %s: plainnet C at %s >= 1.7x faster than at 1 (issue 14)" % (name, threads)
        one, many = find(results, group, "plainnet c"), find(results, group, "plainnet c, " + threads)
        if one is None or many is None:
            skipped = next((r.skipped for r in results if r.group == group and r.skipped
                            and r.peer in ("plainnet c", "plainnet c, " + threads)), None)
            out.append((text, "not measured", "%s: plainnet c at 1 or %s missing%s" % (
                group, threads, " (skipped: %s)" % skipped if skipped else "")))
        else:
            speedup = one.median / many.median
            out.append((text, "MET" if speedup >= 1.7 else "NOT MET",
                        "plainnet c / plainnet c, %s = %sx (need >= 1.7x)" % (threads, fmt(speedup))))
    sgd = find(results, "W6 sgd", "plainnet c")
    peak = find(results, "W6 peak", "peak.c, separate mul and add (no FMA)")
    text = "W6 SGD, 1 thread: >= 50% of one core's measured float64 peak (issue 14)"
    if sgd is None or peak is None:
        out.append((text, "not measured", "plainnet c or peak.c missing"))
    else:
        gf = w6_flops_per_sample() / (sgd.median * 1e3)
        best = max(peak.values)
        frac = gf / best
        out.append((text, "MET" if frac >= 0.5 else "NOT MET",
                    "%.3g GFLOP/s of %.3g (best run of peak.c, separate mul and add) = %.0f%% (need >= 50%%)"
                    % (gf, best, 100 * frac)))
    for opt in ("sgd", "adam"):
        time_ratio("W6: mini-batch %s per sample <= per-sample SGD's time (issue 14)"
                   % ("SGD" if opt == "sgd" else "Adam"), "W6 per-sample", "plainnet c",
                   "plainnet c, per-sample sgd", 1.0, a_group="W6 " + opt)
    time_ratio("per-sample Adam <= 3x per-sample SGD (784-256-10, issue 14)", "W6 per-sample",
               "plainnet c, per-sample adam", "plainnet c, per-sample sgd", 3.0)
    for group, shape in (("W4b", "64-32-10"), ("W4b 784", "784-256-10")):
        for rival in ("numpy batched", "torch float64, 1 thread"):
            time_ratio("W4b %s, 1 thread: predict(as_numpy=True) <= 1.0x %s (issue 14)" % (shape, rival),
                       group, "plainnet c, as_numpy", rival, 1.0)
    net, mlp = find(results, "W7", "plainnet c"), find(results, "W7", "scikit-learn MLPClassifier")
    text = "W7: NetClassifier.fit >= 5x faster than MLPClassifier.fit at equal test accuracy (+-0.01; issue 14)"
    if net is None or mlp is None:
        out.append((text, "not measured", "W7: %s missing" % ("plainnet c" if net is None else "MLPClassifier")))
    else:
        speed = mlp.median / net.median
        a_net, a_mlp = float(net.extra["test accuracy"]), float(mlp.extra["test accuracy"])
        ok = speed >= 5 and a_net >= a_mlp - 0.01
        out.append((text, "MET" if ok else "NOT MET",
                    "MLPClassifier / NetClassifier fit time = %sx (need >= 5x); test accuracy %.4f vs %.4f "
                    "(need plainnet >= MLP - 0.01)" % (fmt(speed), a_net, a_mlp)))
    return out


# -- the machine -----------------------------------------------------------
def load_average():
    try:
        return "%.2f %.2f %.2f" % os.getloadavg()
    except (AttributeError, OSError):
        return "unknown"


def machine(pn, load_at_start):
    def version(name):
        try:
            module = __import__(name)
            return getattr(module, "__version__", "?")
        except ImportError:
            return "not installed"

    cpu = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            info = dict(line.split(":", 1) for line in f.read().split("\n\n")[0].splitlines() if ":" in line)
        info = {k.strip(): v.strip() for k, v in info.items()}
        flags = set(info.get("flags", "").split())
        simd = [f for f in ("sse4_2", "avx", "avx2", "fma", "avx512f") if f in flags]
        cpu = "%s, %s MHz, cache %s, SIMD: %s" % (info.get("model name", "unknown"), info.get("cpu MHz", "?"),
                                                 info.get("cache size", "?"), " ".join(simd) or "none listed")
    except (OSError, ValueError):
        pass
    where = os.path.dirname(pn.__file__)
    if os.path.abspath(where).startswith(ROOT + os.sep):
        where = os.path.relpath(where, ROOT) + " (this checkout)"
    affinity = len(_CPUS["all"]) if _CPUS["all"] else os.cpu_count()
    pinned = "; single-threaded peers pinned to one" if _CPUS["one"] else ""
    return [
        ("CPU", cpu),
        ("cores", "%s logical (%s usable by this process%s)" % (os.cpu_count(), affinity, pinned)),
        ("OS", "%s %s" % (platform.system(), platform.release())),
        ("Python", "%s %s" % (platform.python_implementation(), platform.python_version())),
        ("C compiler", bench_native.compiler_version()),
        ("plainnet", "%s from %s, backends %s" % (pn.__version__, where, pn.available_backends())),
        ("numpy", version("numpy")),
        ("scikit-learn", version("sklearn")),
        ("torch", version("torch")),
        ("FANN (libfann-dev)", bench_native.fann_version()),
        ("matplotlib", version("matplotlib")),
        ("load average (1, 5, 15 min)", "%s at the start, %s at the end: other work on the machine "
                                          "shows up as noise, which the interleaving spreads over all peers"
         % (load_at_start, load_average())),
        ("date", datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")),
    ]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats and smaller W2/W3 (about 2 minutes)")
    parser.add_argument("--only", default=",".join(WORKLOADS), help="comma-separated workloads, e.g. W1,W4")
    parser.add_argument("--repeats", type=int, help="interleaved rounds per workload (default 5, quick 3)")
    parser.add_argument("--installed", action="store_true",
                        help="benchmark the installed plainnet instead of this checkout's src/")
    parser.add_argument("--out", default=os.path.join(ROOT, "docs"), help="where benchmarks.md/.png go")
    args = parser.parse_args(argv)
    only = [w.strip().upper() for w in args.only.split(",") if w.strip()]
    unknown = [w for w in only if w not in WORKLOADS]
    if unknown:
        parser.error("unknown workload(s) %s: choose from %s" % (", ".join(unknown), ", ".join(WORKLOADS)))
    cfg = dict(QUICK if args.quick else FULL)
    if args.repeats is not None:
        if args.repeats < 1:
            parser.error("--repeats must be at least 1")
        cfg["repeats"] = args.repeats
    cfg["threads"] = os.cpu_count() or 1

    pn = import_plainnet(args.installed)
    try:
        import numpy as np
    except ImportError:
        sys.exit("the benchmark needs numpy (pip install numpy): it builds the data sets with it")

    pinning = pin_to_one_cpu()
    started = time.perf_counter()
    load_at_start = load_average()
    print("plainnet %s from %s; backends: %s" % (pn.__version__, os.path.dirname(pn.__file__),
                                                  pn.available_backends()))
    if "c" not in pn.available_backends():
        print("NOTE: the C backend is not available; its rows are skipped and C targets cannot be judged")
    print("%s run: %d interleaved repeats per workload; %s"
          % ("QUICK" if args.quick else "full", cfg["repeats"], pinning))

    builder = bench_native.Builder()
    results, workloads = [], {}
    try:
        if "W1" in only:
            wl = workloads["W1"] = make_w1(pn, np)
            results += run_training(pn, wl, builder, cfg, tutorial=True)
        if "W2" in only or "W4" in only:
            workloads["W2"] = make_w2(pn, np, cfg["w2_epochs"])
        if "W2" in only:
            results += run_training(pn, workloads["W2"], builder, cfg)
        if "W3" in only:
            wl = workloads["W3"] = make_w3(pn, np, cfg["w3_rows"])
            results += run_training(pn, wl, builder, cfg)
        if "W4" in only:
            results += run_predict(pn, np, workloads["W2"], cfg)
        if "W5" in only:
            results += run_import(pn, cfg)
        if "W6" in only:
            wl = workloads["W6"] = make_w6(pn, np, cfg["w6_rows"])
            results += run_w6(pn, np, wl, builder, cfg)
        if "W7" in only:
            results += run_w7(pn, np, cfg)
    finally:
        builder.close()

    targets = evaluate_targets(results)
    elapsed = time.perf_counter() - started
    report = bench_report.Report(
        results=results, targets=targets, machine=machine(pn, load_at_start), workloads=workloads, quick=args.quick,
        cfg=cfg, command="python benchmarks/run.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        elapsed=elapsed, flops_formula=W3_FLOPS_FORMULA, w6_flops_formula=W6_FLOPS_FORMULA,
    )
    print()
    print(report.text_table())
    print(report.text_targets())
    os.makedirs(args.out, exist_ok=True)
    md_path = os.path.join(args.out, "benchmarks.md")
    png_path = os.path.join(args.out, "benchmarks.png")
    chart = report.write_chart(png_path)
    with open(md_path, "w") as f:
        f.write(report.markdown(chart_name=os.path.basename(png_path) if chart else None))
    print("wrote %s%s (%.0f s)" % (md_path, " and " + png_path if chart else "", elapsed))


if __name__ == "__main__":
    main()
