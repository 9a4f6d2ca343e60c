"""The pure-Python backend: the reference implementation of ``_contract.Core``.

It reads like the tutorial: a forward pass layer by layer, the output delta
from the loss, deltas propagated back through each layer's derivative, and
the update.  The formulas are the registry's; the order of every operation is
the order contract in ``_contract``.  The fast path for the common case
(per-sample SGD on mse) lives in ``_py_fast``, and tests/test_py_kernel.py
proves it returns the same bits as this reference.
"""

from contextlib import contextmanager
from functools import reduce
from math import isfinite, sqrt
from operator import add, mul

from . import _py_fast, _registry
from ._contract import flatten, n_parameters, unflatten
from ._data import first_nonfinite
from ._training import shuffled

name = "python"


def _copy(weights, biases):
    return [[list(row) for row in layer] for layer in weights], [list(b) for b in biases]


def _dot(row, a):
    # In input order, one addition at a time: never sum(), see _contract.
    return reduce(add, map(mul, row, a), 0.0)


class Core:
    __slots__ = ("sizes", "activations", "loss_name", "_acts", "_loss", "W", "B", "rng", "b1t",
                 "b2t", "buffers", "_epochs", "_saved", "_fast")
    name = name

    def __init__(self, sizes, activations, loss, weights, biases):
        self.sizes = list(sizes)
        self.activations = list(activations)
        self.loss_name = loss
        self._acts = [_registry.activation(a) for a in activations]
        self._loss = _registry.loss(loss)
        self.set_params(weights, biases)
        self.set_train_state({"rng": 0, "b1t": 1.0, "b2t": 1.0, "buffers": []})
        self._epochs = 0
        self._saved = None
        self._fast = _py_fast.sgd_epoch(self.sizes, self.activations, loss)

    # -- parameters and state ------------------------------------------------
    def get_params(self):
        return _copy(self.W, self.B)

    def set_params(self, weights, biases):
        self.W, self.B = _copy(weights, biases)

    def get_train_state(self):
        return {"rng": self.rng, "b1t": self.b1t, "b2t": self.b2t,
                "buffers": [flatten(W, B) for W, B in self.buffers]}

    def set_train_state(self, state):
        self.rng = state["rng"]
        self.b1t = state["b1t"]
        self.b2t = state["b2t"]
        self.buffers = [unflatten(flat, self.sizes) for flat in state["buffers"]]

    def reset_optimizer(self, n_buffers):
        self.b1t = self.b2t = 1.0
        self.buffers = [unflatten([0.0] * n_parameters(self.sizes), self.sizes) for _ in range(n_buffers)]

    @property
    def epochs_done(self):
        return self._epochs

    def set_epochs_done(self, n):
        self._epochs = n

    # -- forward -----------------------------------------------------------
    def _forward(self, x):
        """Every layer's outputs (inputs first) and pre-activations for one sample."""
        outs, zs = [x], [None]
        a = x
        for W, b, act in zip(self.W, self.B, self._acts):
            z = [_dot(row, a) + bj for row, bj in zip(W, b)]
            a = [act.forward(v) for v in z] if act.elementwise else _registry.softmax(z)
            outs.append(a)
            zs.append(z)
        return outs, zs

    def forward(self, x):
        return self._forward(x)[0][-1]

    def forward_list(self, x):
        return None  # every row goes through plainnet._data's checks

    def pack_rows(self, data, width):
        return None  # this backend trains on lists

    def first_nonfinite(self, flat):
        return first_nonfinite(flat)

    def predict(self, rows):
        return [self._forward(x)[0][-1] for x in rows.lists]

    def predict_into(self, rows, out):
        k = 0
        for x in rows.lists:
            for v in self._forward(x)[0][-1]:
                out[k] = v
                k += 1

    def loss(self, rows, targets, weights=None):
        total = 0.0
        value = self._loss.value
        if weights is not None:
            wsum = 0.0
            for x, t, w in zip(rows.lists, targets.lists, weights):
                if w == 0.0:
                    continue  # weight 0: as if the row were absent
                outs, zs = self._forward(x)
                total += w * value(t, outs[-1], zs[-1])
                wsum += w
            return total / wsum
        for x, t in zip(rows.lists, targets.lists):
            outs, zs = self._forward(x)
            total += value(t, outs[-1], zs[-1])
        return total / rows.n

    # -- backward ----------------------------------------------------------
    def _deltas(self, outs, zs, t):
        """dL/dz of every layer for one sample, from the output back."""
        delta = self._loss.delta(t, outs[-1], zs[-1], self._acts[-1])
        deltas = [delta]
        for l in range(len(self.W) - 1, 0, -1):
            g = [0.0] * len(outs[l])
            for row, dj in zip(self.W[l], delta):
                g = [gi + w * dj for gi, w in zip(g, row)]
            d = self._acts[l - 1].derivative
            delta = [gi * d(zi, ai) for gi, zi, ai in zip(g, zs[l], outs[l])]
            deltas.append(delta)
        deltas.reverse()
        return deltas

    def gradients(self, x, t):
        outs, zs = self._forward(x)
        loss = self._loss.value(t, outs[-1], zs[-1])
        deltas = self._deltas(outs, zs, t)
        wg = [[[dj * ai for ai in a] for dj in d] for d, a in zip(deltas, outs)]
        bg = [list(d) for d in deltas]
        return wg, bg, loss

    # -- training primitives (driven by _driver) -----------------------------
    @contextmanager
    def train_data(self, rows, targets):
        yield rows.lists, targets.lists

    def epoch_seconds(self, n_rows):
        return 0.0  # Ctrl-C lands anywhere in Python: an epoch is one part

    def sgd_epochs(self, data, options, first, count):
        return None  # one epoch at a time, through run_rows

    def begin_epoch(self):
        self._saved = self.get_params(), self.get_train_state()

    def abort_epoch(self):
        saved = self._saved
        if saved is None:  # closed already
            return
        (self.W, self.B), state = saved
        self.set_train_state(state)
        self._saved = None

    def end_epoch(self, total, n_rows, weight_total=None):
        loss = total / (n_rows if weight_total is None else weight_total)
        if not (isfinite(loss) and self._all_finite()):
            self.abort_epoch()
            return loss, False
        # One statement, so that Ctrl-C cannot land between counting the epoch
        # and closing it (signals are handled between bytecodes that call or jump).
        self._epochs, self._saved = self._epochs + 1, None
        return loss, True

    def epoch_order(self, options, n_rows):
        if not options.shuffle:
            return None
        order, self.rng = shuffled(n_rows, self.rng)
        return order

    def run_rows(self, data, options, epoch, order, first, count, total):
        X, T = data
        positions = range(first, first + count)
        rows = list(positions) if order is None else order[first:first + count]
        lr = options.lrs[epoch]
        weights = options.weights
        if weights is not None:
            return self._run_weighted(X, T, weights, rows, lr, options, total)
        if options.plain_sgd:
            if self._fast is not None:
                return total + self._fast(X, T, rows, lr, self.W, self.B)
            for k in rows:
                total += self._sgd_step(X[k], T[k], lr)
            return total
        size = options.batch_size
        for start in range(0, len(rows), size):
            batch = rows[start:start + size]
            gW = [[[0.0] * len(row) for row in W] for W in self.W]
            gB = [[0.0] * len(b) for b in self.B]
            for k in batch:
                total += self._accumulate(gW, gB, X[k], T[k])
            self._step(gW, gB, float(len(batch)), lr, options.optimizer)
        return total

    def _run_weighted(self, X, T, weights, rows, lr, options, total):
        """run_rows with sample weights (the order contract's weighted clause)."""
        if options.plain_sgd:
            for k in rows:
                w = weights[k]
                if w != 0.0:  # weight 0: no step, no loss
                    total += w * self._sgd_step(X[k], T[k], lr)
            return total
        size = options.batch_size
        for start in range(0, len(rows), size):
            gW = [[[0.0] * len(row) for row in W] for W in self.W]
            gB = [[0.0] * len(b) for b in self.B]
            wsum = 0.0
            for k in rows[start:start + size]:
                w = weights[k]
                if w == 0.0:
                    continue
                total += w * self._accumulate(gW, gB, X[k], T[k], w)
                wsum += w
            if wsum != 0.0:  # a batch of weight 0 makes no step
                self._step(gW, gB, wsum, lr, options.optimizer)
        return total

    def _sgd_step(self, x, t, lr):
        """One sample of the tutorial's SGD; returns its loss from before the update."""
        outs, zs = self._forward(x)
        loss = self._loss.value(t, outs[-1], zs[-1])
        deltas = self._deltas(outs, zs, t)
        for W, b, d, a in zip(self.W, self.B, deltas, outs):
            for j, dj in enumerate(d):
                s = lr * dj
                W[j] = [w - s * ai for w, ai in zip(W[j], a)]
                b[j] -= s
        return loss

    def _all_finite(self):
        for W, b in zip(self.W, self.B):
            for row in W:
                for w in row:
                    if not isfinite(w):
                        return False
            for v in b:
                if not isfinite(v):
                    return False
        return True

    def _accumulate(self, gW, gB, x, t, w=None):
        """Add one sample's gradients (times its weight w, if given) to the
        sums gW, gB; return its loss."""
        outs, zs = self._forward(x)
        loss = self._loss.value(t, outs[-1], zs[-1])
        for GW, GB, d, a in zip(gW, gB, self._deltas(outs, zs, t), outs):
            for j, dj in enumerate(d):
                if w is None:
                    GW[j] = [g + dj * ai for g, ai in zip(GW[j], a)]
                    GB[j] += dj
                else:
                    GW[j] = [g + w * (dj * ai) for g, ai in zip(GW[j], a)]
                    GB[j] += w * dj
        return loss

    def _step(self, gW, gB, nb, lr, opt):
        """One optimizer step from gradient sums over ``nb`` samples (or over
        samples whose weights sum to ``nb``)."""
        update = _UPDATERS[opt.name](self, opt, lr)
        wd = opt.weight_decay
        buffers = self.buffers
        for l, (W, GW) in enumerate(zip(self.W, gW)):
            for j in range(len(W)):
                g = [v / nb for v in GW[j]]
                if wd != 0.0:
                    g = [gi + wd * pi for gi, pi in zip(g, W[j])]
                W[j] = update(W[j], g, [buf[0][l][j] for buf in buffers])
            g = [v / nb for v in gB[l]]
            self.B[l] = update(self.B[l], g, [buf[1][l] for buf in buffers])


# Each optimizer's step: a function (core, settings, lr) -> update(params,
# grads, state rows) -> new params, which updates the state rows in place.

def _sgd(core, opt, lr):
    return lambda p, g, state: [pi - lr * gi for pi, gi in zip(p, g)]


def _momentum(core, opt, lr):
    mu, nesterov = opt.momentum, opt.nesterov

    def momentum(p, g, state):
        buf = state[0]
        buf[:] = [mu * bi + gi for bi, gi in zip(buf, g)]
        step = [gi + mu * bi for gi, bi in zip(g, buf)] if nesterov else buf
        return [pi - lr * si for pi, si in zip(p, step)]
    return momentum


def _adam(core, opt, lr):
    core.b1t *= opt.beta1
    core.b2t *= opt.beta2
    step = lr / (1.0 - core.b1t)
    bc2 = sqrt(1.0 - core.b2t)
    b1, b2, eps = opt.beta1, opt.beta2, opt.epsilon

    def adam(p, g, state):
        m, v = state
        m[:] = [b1 * mi + (1.0 - b1) * gi for mi, gi in zip(m, g)]
        v[:] = [b2 * vi + (1.0 - b2) * (gi * gi) for vi, gi in zip(v, g)]
        return [pi - step * (mi / (sqrt(vi) / bc2 + eps)) for pi, mi, vi in zip(p, m, v)]
    return adam


_UPDATERS = {"sgd": _sgd, "momentum": _momentum, "adam": _adam}
assert set(_UPDATERS) == set(_registry.OPTIMIZERS)
