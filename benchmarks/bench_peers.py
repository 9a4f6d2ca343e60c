"""The peers: each does one workload's work its own way, and times it.

A *runner* is one peer set up for one workload.  ``runner.run()`` resets the
peer to the workload's starting point (untimed), does the work once and
returns the seconds it took; ``runner.steps`` says how many sample-steps (or
calls, or rows) that was.  Python peers are timed with ``time.perf_counter``
around the Python call, with the garbage collector paused as ``timeit`` does;
C peers time their own loop inside C and report it.

A peer that cannot run here raises :class:`Skip` with the reason.
"""

import gc
import importlib
import sys
import time
import warnings


class Skip(Exception):
    """This peer cannot run here; the message says why."""


def timed(fn, *args):
    """Seconds taken by ``fn(*args)``, with the garbage collector paused."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        t0 = time.perf_counter()
        fn(*args)
        return time.perf_counter() - t0
    finally:
        if was_enabled:
            gc.enable()


def need(module_name, why=""):
    """Import ``module_name`` or raise Skip saying it is not installed."""
    try:
        return importlib.import_module(module_name)
    except ImportError as exc:
        raise Skip("%s is not installed (%s)%s" % (module_name, exc, why)) from None


class Runner:
    """One peer on one workload.

    steps: sample-steps (or calls, or rows) done by one ``run()``.
    reduced: None, or how this peer's work was cut down (it is too slow for
    the full work in the time budget); its per-step figures still compare.
    quality: filled after the warm-up run, e.g. {"accuracy": 0.97}.
    """

    timed_in = "Python (perf_counter around the call)"
    reduced = None

    def __init__(self, steps):
        self.steps = steps
        self.quality = {}

    def _training_work(self, wl, epochs, rows):
        """Train ``epochs`` epochs over the first ``rows`` rows of ``wl`` (default:
        all of both); sets ``epochs``, ``steps`` and ``reduced``; returns rows."""
        self.epochs = epochs or wl.epochs
        rows = rows or wl.n_rows
        Runner.__init__(self, self.epochs * rows)
        if self.epochs != wl.epochs or rows != wl.n_rows:
            self.reduced = "%d of %d epochs, %d of %d rows" % (self.epochs, wl.epochs, rows, wl.n_rows)
        return rows

    def run(self):
        raise NotImplementedError

    def warm_up(self):
        self.run()
        self.quality = self.measure_quality()

    def measure_quality(self):
        return {}


def accuracy(outputs, targets):
    """Fraction of rows right: argmax for several outputs, 0.5 threshold for one."""
    import numpy as np

    y = np.asarray(outputs, dtype=float).reshape(len(targets), -1)
    t = np.asarray(targets, dtype=float).reshape(len(targets), -1)
    if y.shape[1] == 1:
        return float(np.mean((y[:, 0] >= 0.5) == (t[:, 0] >= 0.5)))
    return float(np.mean(y.argmax(axis=1) == t.argmax(axis=1)))


# -- plainnet --------------------------------------------------------------
def without_pn_lists():
    """Check that plainnet._pn_lists (CPython's C path for lists) is loaded, so
    that a peer can measure plainnet without it: lists checked and packed in
    Python, as on PyPy or where only the cffi module is built."""
    if "plainnet._pn_lists" not in sys.modules:
        raise Skip("plainnet._pn_lists is not built here: the plain peer already goes without it")


class PlainnetTrain(Runner):
    """plainnet's own ``Network.train`` on the given backend.

    input="list" passes lists of Python floats (the plain API); "ndarray"
    passes float64 numpy arrays, which the C backend may read in place.
    With lists_in_c=False the lists are checked and packed in Python, without
    plainnet._pn_lists (see :func:`without_pn_lists`).
    """

    def __init__(self, pn, wl, backend, epochs=None, rows=None, input="list", lists_in_c=True):
        if backend not in pn.available_backends():
            raise Skip("plainnet backend %r is not available here (available: %s)"
                       % (backend, pn.available_backends()))
        self.net = pn.Network.from_weights(wl.W0, wl.B0, backend=backend)
        if not lists_in_c:
            without_pn_lists()
        self.lists_in_c = lists_in_c
        self.wl = wl
        rows = self._training_work(wl, epochs, rows)
        if input == "list":
            self.X, self.T = wl.X_list[:rows], wl.T_list[:rows]
        else:
            self.X, self.T = wl.X[:rows], wl.T[:rows]

    def run(self):
        self.net.set_weights(self.wl.W0, self.wl.B0)
        # the C core packs lists with the extension only while its backend has it
        from plainnet import _c_backend

        hidden = None if self.lists_in_c else _c_backend._pn_lists
        if hidden is not None:
            _c_backend._pn_lists = None
        try:
            return timed(self.net.train, self.X, self.T, self.epochs, self.wl.lr)
        finally:
            if hidden is not None:
                _c_backend._pn_lists = hidden

    def measure_quality(self):
        if self.reduced:
            return {}
        return {"accuracy": "%.4f" % accuracy(self.net.predict(self.wl.X), self.wl.T)}

    def final_params(self):
        return self.net.weights, self.net.biases


# -- numpy -----------------------------------------------------------------
def _np_sigmoid(np):
    def sigmoid(z):
        return 1.0 / (1.0 + np.exp(-z))
    return sigmoid


class TutorialNumpy(Runner):
    """The tutorial's own training loop for its 2-2-1 network, written out from
    its maths: six weights and three biases held as separate scalars, numpy
    scalar arithmetic, and one ``deriv_sigmoid`` call per partial derivative
    (11 per sample), as the tutorial does.  Its every-10-epochs loss print is
    left out: that is monitoring, not training, and would only slow it down.
    """

    def __init__(self, wl):
        np = need("numpy")
        if wl.sizes != [2, 2, 1]:
            raise Skip("the tutorial's code only does the 2-2-1 network")
        super().__init__(wl.epochs * wl.n_rows)
        self.np = np
        self.wl = wl
        # As in the tutorial: integer data arrays, targets as a flat array.
        self.data = np.array([[int(v) for v in row] for row in wl.X_list])
        self.all_y_trues = np.array([int(t[0]) for t in wl.T_list])
        self.sigmoid = _np_sigmoid(np)

    def _reset(self):
        (w1, w2), (w3, w4) = self.wl.W0[0]
        ((w5, w6),) = self.wl.W0[1]
        (b1, b2), (b3,) = self.wl.B0
        self.w = [w1, w2, w3, w4, w5, w6, b1, b2, b3]

    def _train(self):
        sigmoid = self.sigmoid

        def deriv_sigmoid(x):
            fx = sigmoid(x)
            return fx * (1 - fx)

        w1, w2, w3, w4, w5, w6, b1, b2, b3 = self.w
        learn_rate = self.wl.lr
        for epoch in range(self.wl.epochs):
            for x, y_true in zip(self.data, self.all_y_trues):
                sum_h1 = w1 * x[0] + w2 * x[1] + b1
                h1 = sigmoid(sum_h1)
                sum_h2 = w3 * x[0] + w4 * x[1] + b2
                h2 = sigmoid(sum_h2)
                sum_o1 = w5 * h1 + w6 * h2 + b3
                o1 = sigmoid(sum_o1)
                y_pred = o1

                d_L_d_ypred = -2 * (y_true - y_pred)
                d_ypred_d_w5 = h1 * deriv_sigmoid(sum_o1)
                d_ypred_d_w6 = h2 * deriv_sigmoid(sum_o1)
                d_ypred_d_b3 = deriv_sigmoid(sum_o1)
                d_ypred_d_h1 = w5 * deriv_sigmoid(sum_o1)
                d_ypred_d_h2 = w6 * deriv_sigmoid(sum_o1)
                d_h1_d_w1 = x[0] * deriv_sigmoid(sum_h1)
                d_h1_d_w2 = x[1] * deriv_sigmoid(sum_h1)
                d_h1_d_b1 = deriv_sigmoid(sum_h1)
                d_h2_d_w3 = x[0] * deriv_sigmoid(sum_h2)
                d_h2_d_w4 = x[1] * deriv_sigmoid(sum_h2)
                d_h2_d_b2 = deriv_sigmoid(sum_h2)

                w1 -= learn_rate * d_L_d_ypred * d_ypred_d_h1 * d_h1_d_w1
                w2 -= learn_rate * d_L_d_ypred * d_ypred_d_h1 * d_h1_d_w2
                b1 -= learn_rate * d_L_d_ypred * d_ypred_d_h1 * d_h1_d_b1
                w3 -= learn_rate * d_L_d_ypred * d_ypred_d_h2 * d_h2_d_w3
                w4 -= learn_rate * d_L_d_ypred * d_ypred_d_h2 * d_h2_d_w4
                b2 -= learn_rate * d_L_d_ypred * d_ypred_d_h2 * d_h2_d_b2
                w5 -= learn_rate * d_L_d_ypred * d_ypred_d_w5
                w6 -= learn_rate * d_L_d_ypred * d_ypred_d_w6
                b3 -= learn_rate * d_L_d_ypred * d_ypred_d_b3
        self.w = [w1, w2, w3, w4, w5, w6, b1, b2, b3]

    def run(self):
        self._reset()
        return timed(self._train)

    def measure_quality(self):
        w1, w2, w3, w4, w5, w6, b1, b2, b3 = self.w
        s = self.sigmoid
        out = []
        for x in self.data:
            h1 = s(w1 * x[0] + w2 * x[1] + b1)
            h2 = s(w3 * x[0] + w4 * x[1] + b2)
            out.append(float(s(w5 * h1 + w6 * h2 + b3)))
        return {"accuracy": "%.4f" % accuracy(out, self.wl.T)}


def numpy_forward(np, Ws, bs):
    """A forward pass per layer with np.dot, float64: the usual numpy way."""
    sigmoid = _np_sigmoid(np)

    def forward(x):
        for W, b in zip(Ws, bs):
            x = sigmoid(np.dot(W, x) + b)
        return x
    return forward


class NumpyPerLayer(Runner):
    """Generic per-sample SGD with one np.dot per layer (float64 arrays):
    forward, output delta of the mean squared error, deltas backpropagated
    through W.T before any update, then W -= lr * outer(delta, a)."""

    def __init__(self, wl, epochs=None, rows=None):
        np = need("numpy")
        self.np = np
        self.wl = wl
        rows = self._training_work(wl, epochs, rows)
        self.X = np.ascontiguousarray(wl.X[:rows], dtype=np.float64)
        self.T = np.ascontiguousarray(wl.T[:rows], dtype=np.float64)

    def _reset(self):
        np = self.np
        self.Ws = [np.array(W, dtype=np.float64) for W in self.wl.W0]
        self.bs = [np.array(b, dtype=np.float64) for b in self.wl.B0]

    def _train(self):
        np = self.np
        Ws, bs, lr = self.Ws, self.bs, self.wl.lr
        n_out = self.T.shape[1]
        n_layers = len(Ws)
        with np.errstate(over="ignore"):
            for epoch in range(self.epochs):
                for x, t in zip(self.X, self.T):
                    acts = [x]
                    a = x
                    for W, b in zip(Ws, bs):
                        a = 1.0 / (1.0 + np.exp(-(np.dot(W, a) + b)))
                        acts.append(a)
                    d = (-2.0 * (t - a) / n_out) * (a * (1.0 - a))
                    for l in range(n_layers - 1, -1, -1):
                        a_in = acts[l]
                        d_in = np.dot(Ws[l].T, d) * (a_in * (1.0 - a_in)) if l else None
                        Ws[l] -= np.outer(lr * d, a_in)
                        bs[l] -= lr * d
                        d = d_in

    def run(self):
        self._reset()
        return timed(self._train)

    def measure_quality(self):
        if self.reduced:
            return {}
        np = self.np
        with np.errstate(over="ignore"):
            forward = numpy_forward(np, self.Ws, self.bs)
            return {"accuracy": "%.4f" % accuracy([forward(x) for x in self.wl.X], self.wl.T)}


# -- scikit-learn ----------------------------------------------------------
SKLEARN_SETTINGS = dict(
    activation="logistic", solver="sgd", batch_size=1, learning_rate="constant",
    momentum=0.0, nesterovs_momentum=False, alpha=0.0, shuffle=False, tol=0.0,
    n_iter_no_change=10 ** 9, early_stopping=False,
)


def sklearn_regressor(wl, epochs, seed):
    need("sklearn", "; pip install scikit-learn")
    from sklearn.neural_network import MLPRegressor

    if len(wl.sizes) != 3:
        raise Skip("this benchmark sets up scikit-learn for one hidden layer only")
    return MLPRegressor(hidden_layer_sizes=(wl.sizes[1],), learning_rate_init=wl.lr,
                        max_iter=epochs, random_state=seed, **SKLEARN_SETTINGS)


class SklearnTrain(Runner):
    """MLPRegressor with solver="sgd", batch_size=1 and no momentum, shuffling,
    regularisation or early stop: per-sample SGD in order.  It differs from
    plainnet in ways it cannot be configured away: an identity output layer
    (MLPRegressor) rather than sigmoid, half squared error, and its own
    Glorot-uniform initial weights (``fit`` draws them, inside the timing)."""

    def __init__(self, wl, epochs=None, rows=None, seed=0):
        np = need("numpy")
        self.wl = wl
        rows = self._training_work(wl, epochs, rows)
        self.seed = seed
        self.model = sklearn_regressor(wl, self.epochs, seed)
        self.X = np.ascontiguousarray(wl.X[:rows])
        T = wl.T[:rows]
        self.T = T[:, 0] if T.shape[1] == 1 else T

    def _fit(self):
        from sklearn.exceptions import ConvergenceWarning

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            self.model.fit(self.X, self.T)

    def run(self):
        self.model = sklearn_regressor(self.wl, self.epochs, self.seed)
        return timed(self._fit)

    def measure_quality(self):
        if self.reduced:
            return {}
        return {"accuracy": "%.4f" % accuracy(self.model.predict(self.wl.X), self.wl.T)}


# -- PyTorch ---------------------------------------------------------------
def torch_model(torch, wl, dtype):
    layers = []
    for l, (W, b) in enumerate(zip(wl.W0, wl.B0)):
        lin = torch.nn.Linear(len(W[0]), len(W), dtype=dtype)
        with torch.no_grad():
            lin.weight.copy_(torch.tensor(W, dtype=dtype))
            lin.bias.copy_(torch.tensor(b, dtype=dtype))
        layers += [lin, torch.nn.Sigmoid()]
    return torch.nn.Sequential(*layers)


class TorchTrain(Runner):
    """The idiomatic PyTorch per-sample loop: nn.Sequential of Linear+Sigmoid,
    mse_loss (mean over outputs, as plainnet), autograd, optim.SGD(lr), one
    sample per step, in order, from plainnet's initial weights."""

    def __init__(self, wl, dtype_name, threads, epochs=None, rows=None):
        torch = need("torch", "; pip install torch==2.13.0")
        self.torch = torch
        self.wl = wl
        self.dtype = getattr(torch, dtype_name)
        self.threads = threads
        rows = self._training_work(wl, epochs, rows)
        self.X = torch.tensor(wl.X[:rows], dtype=self.dtype)
        self.T = torch.tensor(wl.T[:rows], dtype=self.dtype)

    def _train(self):
        torch = self.torch
        model, opt = self.model, self.opt
        mse = torch.nn.functional.mse_loss
        X, T = self.X, self.T
        for epoch in range(self.epochs):
            for i in range(len(X)):
                loss = mse(model(X[i]), T[i])
                opt.zero_grad()
                loss.backward()
                opt.step()

    def run(self):
        torch = self.torch
        torch.set_num_threads(self.threads)
        self.model = torch_model(torch, self.wl, self.dtype)
        self.opt = torch.optim.SGD(self.model.parameters(), lr=self.wl.lr)
        return timed(self._train)

    def measure_quality(self):
        if self.reduced:
            return {}
        torch = self.torch
        with torch.no_grad():
            y = self.model(torch.tensor(self.wl.X, dtype=self.dtype)).double().numpy()
        return {"accuracy": "%.4f" % accuracy(y, self.wl.T)}


# -- prediction (W4) -------------------------------------------------------
class CallLoop(Runner):
    """``calls`` calls of ``fn(arg)`` in a Python loop; time per call.

    ``before``, if given, runs untimed before each run (e.g. set a thread count).
    """

    def __init__(self, fn, arg, calls, before=None):
        super().__init__(calls)
        self.fn, self.arg, self.before = fn, arg, before

    def _loop(self):
        fn, arg = self.fn, self.arg
        for _ in range(self.steps):
            fn(arg)

    def run(self):
        if self.before:
            self.before()
        return timed(self._loop)


class BatchCall(Runner):
    """One call ``fn(rows)`` over ``n_rows`` rows; time per row."""

    def __init__(self, fn, rows, n_rows, before=None):
        super().__init__(n_rows)
        self.fn, self.rows, self.before = fn, rows, before

    def run(self):
        if self.before:
            self.before()
        return timed(self.fn, self.rows)


# -- mini-batch training (W6) ----------------------------------------------
def plainnet_threads(pn):
    """(set_num_threads, get_num_threads) of this plainnet, or (None, None) if it has none."""
    return getattr(pn, "set_num_threads", None), getattr(pn, "get_num_threads", None)


class PlainnetBatchTrain(Runner):
    """plainnet's ``Network.train(X, T, epochs, lr, optimizer=..., batch_size=...)``
    on float64 arrays, from a fresh network each run (so Adam starts from zero
    moments), built outside the timing.  ``threads``: None leaves plainnet's
    thread count alone; n sets it with ``plainnet.set_num_threads(n)`` before
    each run, and a build without that function runs n > 1 as a Skip."""

    def __init__(self, pn, wl, optimizer, batch_size, lr, backend="c", threads=None, rows=None):
        if backend not in pn.available_backends():
            raise Skip("plainnet backend %r is not available here (available: %s)"
                       % (backend, pn.available_backends()))
        set_threads, _ = plainnet_threads(pn)
        if threads is not None and threads > 1 and set_threads is None:
            raise Skip("no thread support in this build")
        self.pn, self.wl, self.backend = pn, wl, backend
        self.optimizer, self.batch_size, self.lr = optimizer, batch_size, lr
        self.set_threads = set_threads if threads is not None else None
        self.threads = threads or 1
        rows = self._training_work(wl, None, rows)
        self.X, self.T = wl.X[:rows], wl.T[:rows]
        self.net = None

    def run(self):
        self.net = self.pn.Network.from_weights(self.wl.W0, self.wl.B0, backend=self.backend)
        if self.set_threads is not None:
            self.set_threads(self.threads)
        return timed(self._train)

    def _train(self):
        self.net.train(self.X, self.T, self.epochs, self.lr, optimizer=self.optimizer,
                       batch_size=self.batch_size)

    def measure_quality(self):
        if self.reduced:
            return {}
        return {"accuracy": "%.4f" % accuracy(self.net.predict(self.wl.X, as_numpy=True), self.wl.T)}

    def final_params(self):
        return self.net.weights, self.net.biases


class NumpyBatchTrain(Runner):
    """Mini-batch training written in numpy, float64, the usual way: per batch
    A = sigmoid(X @ W.T + b) per layer, output delta of the mean squared error
    (mean over the batch and the outputs, as plainnet and torch's mse_loss),
    deltas through W, gradients D.T @ A, then an SGD or Adam (PyTorch's
    formula, bias-corrected) step.  BLAS is free to reorder every sum."""

    def __init__(self, wl, optimizer, batch_size, lr, rows=None, betas=(0.9, 0.999), eps=1e-8):
        np = need("numpy")
        self.np, self.wl = np, wl
        self.optimizer, self.batch_size, self.lr = optimizer, batch_size, lr
        self.betas, self.eps = betas, eps
        rows = self._training_work(wl, None, rows)
        self.X = np.ascontiguousarray(wl.X[:rows])
        self.T = np.ascontiguousarray(wl.T[:rows])

    def _reset(self):
        np = self.np
        self.params = [np.array(W, dtype=np.float64) for W in self.wl.W0] + \
                      [np.array(b, dtype=np.float64) for b in self.wl.B0]
        self.m = [np.zeros_like(p) for p in self.params]
        self.v = [np.zeros_like(p) for p in self.params]
        self.t = 0

    def _train(self):
        np = self.np
        n_layers = len(self.wl.W0)
        Ws, bs = self.params[:n_layers], self.params[n_layers:]
        lr, bsz = self.lr, self.batch_size
        b1, b2 = self.betas
        n_out = self.T.shape[1]
        with np.errstate(over="ignore"):
            for epoch in range(self.epochs):
                for lo in range(0, len(self.X), bsz):
                    X, T = self.X[lo:lo + bsz], self.T[lo:lo + bsz]
                    acts = [X]
                    a = X
                    for W, b in zip(Ws, bs):
                        a = 1.0 / (1.0 + np.exp(-(a @ W.T + b)))
                        acts.append(a)
                    d = (-2.0 / (n_out * len(X))) * (T - a) * (a * (1.0 - a))
                    grads_W, grads_b = [None] * n_layers, [None] * n_layers
                    for l in range(n_layers - 1, -1, -1):
                        a_in = acts[l]
                        grads_W[l] = d.T @ a_in
                        grads_b[l] = d.sum(axis=0)
                        if l:
                            d = (d @ Ws[l]) * (a_in * (1.0 - a_in))
                    grads = grads_W + grads_b
                    if self.optimizer == "sgd":
                        for p, g in zip(self.params, grads):
                            p -= lr * g
                    else:
                        self.t += 1
                        c1, c2 = 1.0 - b1 ** self.t, 1.0 - b2 ** self.t
                        for p, g, m, v in zip(self.params, grads, self.m, self.v):
                            m *= b1
                            m += (1.0 - b1) * g
                            v *= b2
                            v += (1.0 - b2) * g * g
                            p -= (lr / c1) * m / (np.sqrt(v / c2) + self.eps)

    def run(self):
        self._reset()
        return timed(self._train)

    def measure_quality(self):
        if self.reduced:
            return {}
        np = self.np
        n_layers = len(self.wl.W0)
        a = self.wl.X
        with np.errstate(over="ignore"):
            for W, b in zip(self.params[:n_layers], self.params[n_layers:]):
                a = 1.0 / (1.0 + np.exp(-(a @ W.T + b)))
        return {"accuracy": "%.4f" % accuracy(a, self.wl.T)}


class TorchBatchTrain(Runner):
    """The idiomatic PyTorch mini-batch loop: nn.Sequential of Linear+Sigmoid
    from plainnet's initial weights, mse_loss on each batch (mean over rows and
    outputs), autograd, optim.SGD(lr) or optim.Adam(lr) with its defaults."""

    def __init__(self, wl, optimizer, batch_size, lr, threads, dtype_name="float64", rows=None):
        torch = need("torch", "; pip install torch==2.13.0")
        self.torch, self.wl = torch, wl
        self.optimizer, self.batch_size, self.lr = optimizer, batch_size, lr
        self.dtype = getattr(torch, dtype_name)
        self.threads = threads
        rows = self._training_work(wl, None, rows)
        self.X = torch.tensor(wl.X[:rows], dtype=self.dtype)
        self.T = torch.tensor(wl.T[:rows], dtype=self.dtype)

    def _train(self):
        torch = self.torch
        model, opt, bsz = self.model, self.opt, self.batch_size
        mse = torch.nn.functional.mse_loss
        X, T = self.X, self.T
        for epoch in range(self.epochs):
            for lo in range(0, len(X), bsz):
                loss = mse(model(X[lo:lo + bsz]), T[lo:lo + bsz])
                opt.zero_grad()
                loss.backward()
                opt.step()

    def run(self):
        torch = self.torch
        torch.set_num_threads(self.threads)
        self.model = torch_model(torch, self.wl, self.dtype)
        cls = torch.optim.SGD if self.optimizer == "sgd" else torch.optim.Adam
        self.opt = cls(self.model.parameters(), lr=self.lr)
        return timed(self._train)

    def measure_quality(self):
        if self.reduced:
            return {}
        torch = self.torch
        with torch.no_grad():
            y = self.model(torch.tensor(self.wl.X, dtype=self.dtype)).double().numpy()
        return {"accuracy": "%.4f" % accuracy(y, self.wl.T)}


# -- the scikit-learn default fit (W7) -------------------------------------
class EstimatorFit(Runner):
    """``make().fit(X_train, y_train)`` timed; quality: accuracy on the test rows.

    ``before`` (untimed, before each fit) may set a thread count; ``threads``
    says how many CPUs the fit may use (see run.py's pin_to_one_cpu)."""

    def __init__(self, make, X_train, y_train, X_test, y_test, before=None, threads=1):
        super().__init__(1)  # one fit per run
        self.make, self.before, self.threads = make, before, threads
        self.X_train, self.y_train, self.X_test, self.y_test = X_train, y_train, X_test, y_test
        self.model = None

    def _fit(self):
        from sklearn.exceptions import ConvergenceWarning

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            self.model.fit(self.X_train, self.y_train)

    def run(self):
        if self.before:
            self.before()
        self.model = self.make()
        return timed(self._fit)

    def measure_quality(self):
        import numpy as np

        acc = float(np.mean(self.model.predict(self.X_test) == self.y_test))
        return {"test accuracy": "%.4f" % acc}
