"""The pure-Python backend: the reference implementation of the backend contract.

A backend is a module with a ``name`` and a ``Core`` class.  A ``Core`` holds
one network's parameters and does its arithmetic; ``plainnet.Network`` owns a
core, validates every argument before calling it, and never looks inside.

    Core(sizes, activations, loss, weights, biases)
    core.get_params() -> (weights, biases)     fresh nested lists
    core.set_params(weights, biases)           already validated floats
    core.forward(x) -> list                    x: list of floats
    core.predict(rows) -> list of lists        rows: plainnet._data.Rows
    core.loss(rows, targets) -> float
    core.gradients(x, t) -> (weight_grads, bias_grads, loss)
    core.train(rows, targets, epochs, learning_rate) -> list of epoch losses

The C backend (``_c_backend``) implements the same contract and must return the
same bits, so the order of every floating-point operation here is part of the
contract; ``csrc/plainnet.c`` documents the same order.

* A pre-activation is ``((0.0 + w[0]*a[0]) + w[1]*a[1]) + ... + b``.
* A backpropagated sum is ``((0.0 + w[0][i]*d[0]) + w[1][i]*d[1]) + ...``.
* SGD updates ``w[j][i] -= (lr * d[j]) * a[i]`` and ``b[j] -= lr * d[j]``,
  with every gradient of the sample computed from the weights before its update.
* The epoch loss is the mean, over the epoch's samples in order, of each
  sample's loss measured in its forward pass (before that sample's update).
"""

from functools import reduce
from math import isfinite
from operator import add, mul

from . import _maths
from ._errors import TrainingDiverged

name = "python"

_derivative = _maths.derivative_from_output


def _copy(nested):
    return [[list(row) for row in layer] for layer in nested[0]], [list(b) for b in nested[1]]


class Core:
    __slots__ = ("sizes", "activations", "loss_name", "W", "B")
    name = name

    def __init__(self, sizes, activations, loss, weights, biases):
        self.sizes = list(sizes)
        self.activations = list(activations)
        self.loss_name = loss
        self.set_params(weights, biases)

    # -- parameters --------------------------------------------------------
    def get_params(self):
        return _copy((self.W, self.B))

    def set_params(self, weights, biases):
        self.W, self.B = _copy((weights, biases))

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
        loss, out_act = self.loss_name, self.activations[-1]
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

    def train(self, rows, targets, epochs, learning_rate):
        X, T, n = rows.lists, targets.lists, rows.n
        losses = []
        for epoch in range(epochs):
            saved = self.get_params()
            try:
                total = 0.0
                for x, t in zip(X, T):
                    total += self._sgd_step(x, t, learning_rate)
            except BaseException:
                # KeyboardInterrupt or anything else mid-epoch: no half-updated weights.
                self.W, self.B = saved
                raise
            loss = total / n
            if not (isfinite(loss) and self._all_finite()):
                self.W, self.B = saved
                raise TrainingDiverged(
                    "training diverged in epoch %d (loss %r): the weights are those "
                    "after the last finite epoch; try a smaller learning rate"
                    % (epoch + 1, loss),
                    epoch + 1,
                    losses,
                )
            losses.append(loss)
        return losses
