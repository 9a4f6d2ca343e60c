"""The pure-Python backend: the reference implementation of the backend contract.

A backend is a module with a ``name`` and a ``Core`` class.  A ``Core`` holds
one network's parameters and does its arithmetic; ``plainnet.Network`` owns a
core, validates every argument before calling it, and never looks inside.

    Core(sizes, activations, loss, weights, biases)
    core.get_params() -> (weights, biases)     fresh nested lists
    core.set_params(weights, biases)           already validated floats
    core.forward(x) -> list                    x: list of floats
    core.forward_list                          None, or f(x) -> list or None: a
                                               shortcut for an unchecked row x that
                                               returns None unless x is a plain
                                               list of finite numbers
    core.predict(rows) -> list of lists        rows: plainnet._data.Rows
    core.loss(rows, targets) -> float
    core.gradients(x, t) -> (weight_grads, bias_grads, loss)
    core.train(rows, targets, epochs, learning_rate, options=None) -> list of epoch losses
    core.get_train_state() -> {"rng", "b1t", "b2t", "buffers"}
    core.set_train_state(state)                optimizer buffers and PRNG state

The C backend (``_c_backend``) implements the same contract and must return the
same bits, so the order of every floating-point operation here is part of the
contract; ``csrc/plainnet.c`` documents the same order.

* A pre-activation is ``((0.0 + w[0]*a[0]) + w[1]*a[1]) + ... + b``.
* A backpropagated sum is ``((0.0 + w[0][i]*d[0]) + w[1][i]*d[1]) + ...``.
* SGD updates ``w[j][i] -= (lr * d[j]) * a[i]`` and ``b[j] -= lr * d[j]``,
  with every gradient of the sample computed from the weights before its update.
* The epoch loss is the mean, over the epoch's samples in order, of each
  sample's loss measured in its forward pass (before that sample's update).

``options`` (a ``_training.TrainOptions``) selects everything else; ``None``
means the tutorial: plain SGD, one sample at a time, in the given order.

* With ``shuffle``, each epoch visits the rows in ``_training.shuffled`` order,
  drawn from the core's PRNG state.
* Plain SGD with batch_size 1 and no weight decay uses the update above.
  Anything else accumulates, per batch of ``nb`` rows (the last may be
  shorter), ``gs = ((0.0 + d*a) + d*a) + ...`` over the batch's samples in
  order, then ``g = gs / nb``, ``g = g + wd*w`` for weights when weight decay
  is on, and steps every parameter ``p``:
  sgd       ``p = p - lr*g``
  momentum  ``buf = mu*buf + g``; ``p = p - lr*(g + mu*buf if nesterov else buf)``
  adam      per step ``b1t *= beta1``, ``b2t *= beta2``,
            ``step = lr / (1.0 - b1t)``, ``bc2 = sqrt(1.0 - b2t)``; per parameter
            ``m = beta1*m + (1.0 - beta1)*g``, ``v = beta2*v + (1.0 - beta2)*(g*g)``,
            ``p = p - step*(m / (sqrt(v)/bc2 + eps))``
* Optimizer buffers are laid out like the parameters (``get_params`` order,
  flattened: each layer's weights row by row, then its biases).
"""

from functools import reduce
from math import isfinite, sqrt
from operator import add, mul

from . import _maths, _py_kernel
from ._errors import TrainingDiverged
from ._training import shuffled

name = "python"

_derivative = _maths.derivative_from_output


def _copy(nested):
    return [[list(row) for row in layer] for layer in nested[0]], [list(b) for b in nested[1]]


def _flatten(W, B):
    flat = []
    for layer, b in zip(W, B):
        for row in layer:
            flat.extend(row)
        flat.extend(b)
    return flat


def _unflatten(flat, sizes):
    W, B, k = [], [], 0
    for n_in, n_out in zip(sizes, sizes[1:]):
        W.append([flat[k + j * n_in:k + (j + 1) * n_in] for j in range(n_out)])
        k += n_in * n_out
        B.append(flat[k:k + n_out])
        k += n_out
    return W, B


class Core:
    __slots__ = ("sizes", "activations", "loss_name", "W", "B", "rng", "b1t", "b2t", "buffers",
                 "completed")
    name = name
    forward_list = None  # every row goes through plainnet._data's checks

    def __init__(self, sizes, activations, loss, weights, biases):
        self.sizes = list(sizes)
        self.activations = list(activations)
        self.loss_name = loss
        self.set_params(weights, biases)
        self.set_train_state({"rng": 0, "b1t": 1.0, "b2t": 1.0, "buffers": []})
        self.completed = 0

    # -- parameters --------------------------------------------------------
    def get_params(self):
        return _copy((self.W, self.B))

    def set_params(self, weights, biases):
        self.W, self.B = _copy((weights, biases))

    def get_train_state(self):
        return {"rng": self.rng, "b1t": self.b1t, "b2t": self.b2t,
                "buffers": [_flatten(W, B) for W, B in self.buffers]}

    def set_train_state(self, state):
        self.rng = state["rng"]
        self.b1t = state["b1t"]
        self.b2t = state["b2t"]
        self.buffers = [_unflatten(list(flat), self.sizes) for flat in state["buffers"]]

    # -- forward -----------------------------------------------------------
    def _forward(self, x):
        """All layer outputs for one sample, and the last layer's pre-activations."""
        outs = [x]
        a = x
        z = x
        for W, b, act in zip(self.W, self.B, self.activations):
            z = [reduce(add, map(mul, row, a), 0.0) + bj for row, bj in zip(W, b)]
            a = _maths.activate(act, z)
            outs.append(a)
        return outs, z

    def forward(self, x):
        return self._forward(x)[0][-1]

    def predict(self, rows):
        return [self._forward(x)[0][-1] for x in rows.lists]

    def loss(self, rows, targets):
        total = 0.0
        loss = self.loss_name
        for x, t in zip(rows.lists, targets.lists):
            outs, z = self._forward(x)
            total += _maths.sample_loss(loss, t, outs[-1], z)
        return total / rows.n

    # -- backward ----------------------------------------------------------
    def _deltas(self, outs, t):
        """dL/dz of every layer for one sample, from the output back."""
        delta = _maths.output_delta(self.loss_name, self.activations[-1], t, outs[-1])
        deltas = [delta]
        for l in range(len(self.W) - 1, 0, -1):
            a = outs[l]
            g = [0.0] * len(a)
            for row, dj in zip(self.W[l], delta):
                g = [gi + w * dj for gi, w in zip(g, row)]
            d = _derivative[self.activations[l - 1]]
            delta = [gi * d(ai) for gi, ai in zip(g, a)]
            deltas.append(delta)
        deltas.reverse()
        return deltas

    def gradients(self, x, t):
        outs, z = self._forward(x)
        loss = _maths.sample_loss(self.loss_name, t, outs[-1], z)
        deltas = self._deltas(outs, t)
        wg = [[[dj * ai for ai in a] for dj in d] for d, a in zip(deltas, outs)]
        bg = [list(d) for d in deltas]
        return wg, bg, loss

    # -- training ----------------------------------------------------------
    def _sgd_step(self, x, t, lr):
        outs, z = self._forward(x)
        loss = _maths.sample_loss(self.loss_name, t, outs[-1], z)
        deltas = self._deltas(outs, t)
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

    def _accumulate(self, gW, gB, x, t):
        """Add one sample's gradients to the sums gW, gB; return its loss."""
        outs, z = self._forward(x)
        loss = _maths.sample_loss(self.loss_name, t, outs[-1], z)
        for GW, GB, d, a in zip(gW, gB, self._deltas(outs, t), outs):
            for j, dj in enumerate(d):
                GW[j] = [g + dj * ai for g, ai in zip(GW[j], a)]
                GB[j] += dj
        return loss

    def _step(self, gW, gB, nb, lr, opt):
        """One optimizer step from gradient sums over ``nb`` samples."""
        update = self._updater(opt, lr)
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

    def _updater(self, opt, lr):
        """A function (params, grads, state rows) -> new params, for one step of ``opt``.

        It updates the optimizer's state rows in place.
        """
        if opt.name == "sgd":
            return lambda p, g, state: [pi - lr * gi for pi, gi in zip(p, g)]
        if opt.name == "momentum":
            mu, nesterov = opt.momentum, opt.nesterov

            def momentum(p, g, state):
                buf = state[0]
                buf[:] = [mu * bi + gi for bi, gi in zip(buf, g)]
                step = [gi + mu * bi for gi, bi in zip(g, buf)] if nesterov else buf
                return [pi - lr * si for pi, si in zip(p, step)]
            return momentum
        self.b1t *= opt.beta1
        self.b2t *= opt.beta2
        step = lr / (1.0 - self.b1t)
        bc2 = sqrt(1.0 - self.b2t)
        b1, b2, eps = opt.beta1, opt.beta2, opt.epsilon

        def adam(p, g, state):
            m, v = state
            m[:] = [b1 * mi + (1.0 - b1) * gi for mi, gi in zip(m, g)]
            v[:] = [b2 * vi + (1.0 - b2) * (gi * gi) for vi, gi in zip(v, g)]
            return [pi - step * (mi / (sqrt(vi) / bc2 + eps)) for pi, mi, vi in zip(p, m, v)]
        return adam

    def _sgd_mse_epoch(self, X, T, order, lr):
        """_sgd_step over ``order`` for mse with element-wise activations, inlined.

        The tutorial's case, and the common one: the same operations as the
        general path in the same order (so the same bits), without its calls.
        """
        W, B = self.W, self.B
        acts = [_maths.ELEMENTWISE[a] for a in self.activations]
        ders = [_derivative[a] for a in self.activations]
        d_out = ders[-1]
        last = len(W) - 1
        layers = list(zip(W, B, acts))
        n = len(B[-1])
        total = 0.0
        for k in order:
            a = X[k]
            outs = [a]
            for Wl, bl, f in layers:
                a = [f(reduce(add, map(mul, row, a), 0.0) + bj) for row, bj in zip(Wl, bl)]
                outs.append(a)
            acc = 0.0
            for tk, yk in zip(T[k], a):
                d = tk - yk
                acc += d * d
            total += acc / n
            delta = [((-2.0 * (tk - yk)) / n) * d_out(yk) for tk, yk in zip(T[k], a)]
            for l in range(last, -1, -1):
                a, Wl, bl = outs[l], W[l], B[l]
                if l:
                    g = [0.0] * len(a)
                    for row, dj in zip(Wl, delta):
                        g = [gi + w * dj for gi, w in zip(g, row)]
                    d = ders[l - 1]
                    below = [gi * d(ai) for gi, ai in zip(g, a)]
                for j, dj in enumerate(delta):
                    s = lr * dj
                    Wl[j] = [w - s * ai for w, ai in zip(Wl[j], a)]
                    bl[j] -= s
                if l:
                    delta = below
        return total

    def _epoch(self, X, T, order, lr, options):
        if options is None or options.plain_sgd:
            if self.loss_name == "mse" and self.activations[-1] != "softmax":
                kernel = _py_kernel.sgd_mse_epoch(self.sizes, self.activations)
                if kernel is not None:
                    return kernel(X, T, order, lr, self.W, self.B)
                return self._sgd_mse_epoch(X, T, order, lr)
            total = 0.0
            for k in order:
                total += self._sgd_step(X[k], T[k], lr)
            return total
        total = 0.0
        n, size = len(order), options.batch_size
        for start in range(0, n, size):
            batch = order[start:start + size]
            gW = [[[0.0] * len(row) for row in W] for W in self.W]
            gB = [[0.0] * len(b) for b in self.B]
            for k in batch:
                total += self._accumulate(gW, gB, X[k], T[k])
            self._step(gW, gB, float(len(batch)), lr, options.optimizer)
        return total

    def train(self, rows, targets, epochs, learning_rate, options=None):
        X, T, n = rows.lists, targets.lists, rows.n
        losses = []
        self.completed = 0  # epochs finished in this call, also when interrupted
        in_order = list(range(n))
        for epoch in range(epochs):
            saved = self.get_params(), self.get_train_state()
            lr = learning_rate if options is None else options.lrs[epoch]
            try:
                order = in_order
                if options is not None and options.shuffle:
                    order, self.rng = shuffled(n, self.rng)
                total = self._epoch(X, T, order, lr, options)
            except BaseException:
                # KeyboardInterrupt or anything else mid-epoch: no half-updated weights.
                self._restore(saved)
                raise
            loss = total / n
            if not (isfinite(loss) and self._all_finite()):
                self._restore(saved)
                raise TrainingDiverged.in_epoch(epoch + 1, loss, losses)
            losses.append(loss)
            self.completed = epoch + 1
        return losses

    def _restore(self, saved):
        (self.W, self.B), state = saved
        self.set_train_state(state)
