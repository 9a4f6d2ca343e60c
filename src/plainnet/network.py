"""The public API: Neuron and Network.

Everything a user passes in is validated here, once, before a backend sees it,
so both backends raise the same errors, and a call that fails leaves the
network exactly as it was.
"""

import random
import threading
from math import isfinite

from . import _backends, _maths
from ._data import as_float, as_int, as_rows, as_targets, as_vector, is_sequence
from ._errors import TrainingInProgress

__all__ = ["Neuron", "Network", "MAX_PARAMETERS"]

#: Networks (and model files) with more weights and biases than this are
#: refused before anything is allocated.  Raise it if you really mean it.
MAX_PARAMETERS = 10000000


class Neuron:
    """One sigmoid neuron, as in the tutorial: f(w . x + b)."""

    def __init__(self, weights, bias=0.0):
        self.weights = as_vector(weights, None, "weights")
        if not self.weights:
            raise ValueError("weights must hold at least one number")
        self.bias = as_float(bias, "bias")

    def feedforward(self, inputs):
        x = as_vector(inputs, len(self.weights), "inputs")
        total = 0.0
        for w, xi in zip(self.weights, x):
            total += w * xi
        return _maths.sigmoid(total + self.bias)

    def __repr__(self):
        return "Neuron(%r, bias=%r)" % (self.weights, self.bias)


def _check_sizes(sizes):
    if not is_sequence(sizes):
        raise TypeError("sizes must be a list of layer widths such as [2, 2, 1], not %r" % (sizes,))
    sizes = [as_int(s, "sizes[%d]" % i, minimum=1) for i, s in enumerate(sizes)]
    if len(sizes) < 2:
        raise ValueError("sizes needs at least an input and an output layer, e.g. [2, 1]; got %r" % sizes)
    count = sum(a * b + b for a, b in zip(sizes, sizes[1:]))
    if count > MAX_PARAMETERS:
        raise ValueError(
            "sizes %r give %d weights and biases, more than plainnet.network.MAX_PARAMETERS (%d)"
            % (sizes, count, MAX_PARAMETERS)
        )
    return sizes


def _check_choice(value, choices, what):
    if not isinstance(value, str):
        raise TypeError("%s must be a string, one of %s; got %r" % (what, ", ".join(choices), value))
    if value not in choices:
        raise ValueError("unknown %s %r: choose one of %s" % (what, value, ", ".join(choices)))
    return value


def _check_activations(activation, output_activation, n_layers):
    """One activation name per layer, from the constructor's arguments."""
    if isinstance(activation, str) or activation is None:
        hidden = [activation or "sigmoid"] * (n_layers - 1)
        last = output_activation or activation or "sigmoid"
        acts = hidden + [last]
    else:
        acts = list(activation)
        if len(acts) != n_layers:
            raise ValueError(
                "activation lists one name per layer: expected %d, got %d" % (n_layers, len(acts))
            )
        if output_activation is not None:
            acts[-1] = output_activation
    for i, a in enumerate(acts):
        _check_choice(a, _maths.ACTIVATIONS, "activation of layer %d" % (i + 1))
        if a == "softmax" and i != n_layers - 1:
            raise ValueError("softmax is only allowed on the output layer (layer %d)" % n_layers)
    return acts


def _check_loss(loss, acts):
    _check_choice(loss, _maths.LOSSES, "loss")
    if loss == "binary_crossentropy" and acts[-1] != "sigmoid":
        raise ValueError("loss 'binary_crossentropy' needs output_activation='sigmoid', not %r" % acts[-1])
    if loss == "categorical_crossentropy" and acts[-1] != "softmax":
        raise ValueError("loss 'categorical_crossentropy' needs output_activation='softmax', not %r" % acts[-1])
    return loss


def _check_params(weights, biases, sizes):
    """Weights and biases as fresh nested lists of finite floats shaped for ``sizes``."""
    n_layers = len(sizes) - 1
    for what, value in (("weights", weights), ("biases", biases)):
        if not is_sequence(value):
            raise TypeError("%s must be a list with one entry per layer, not %r" % (what, value))
        if len(value) != n_layers:
            raise ValueError("%s has %d layers, the network has %d" % (what, len(value), n_layers))
    weights, biases = list(weights), list(biases)
    W, B = [], []
    for l in range(n_layers):
        n_in, n_out = sizes[l], sizes[l + 1]
        layer = weights[l]
        if not is_sequence(layer):
            raise TypeError("weights[%d] must be a list of %d rows, not %r" % (l, n_out, layer))
        layer = list(layer)
        if len(layer) != n_out:
            raise ValueError("weights[%d] has %d rows, expected %d (one per neuron)" % (l, len(layer), n_out))
        W.append([as_vector(row, n_in, "weights[%d][%d]" % (l, j)) for j, row in enumerate(layer)])
        B.append(as_vector(biases[l], n_out, "biases[%d]" % l))
    return W, B


def _shape_of(weights):
    """Layer sizes implied by nested weights, for Network.from_weights."""
    if not is_sequence(weights) or not len(weights):
        raise ValueError("weights must be a non-empty list of layers")
    sizes = []
    for l, layer in enumerate(weights):
        if not is_sequence(layer) or not len(layer):
            raise ValueError("weights[%d] must be a non-empty list of rows" % l)
        row = list(layer)[0]
        if not is_sequence(row):
            raise TypeError("weights[%d][0] must be a list of numbers, not %r" % (l, row))
        if l == 0:
            sizes.append(len(row))
        sizes.append(len(layer))
    return sizes


class Network:
    """A fully connected feed-forward network.

    ``sizes`` lists the layer widths, inputs first: ``[2, 2, 1]`` is the
    tutorial's network.  Initial weights and biases are drawn from a standard
    normal distribution by a private random generator seeded with ``seed``.
    """

    def __init__(self, sizes, seed=None, backend=None, activation="sigmoid",
                 output_activation=None, loss="mse"):
        sizes = _check_sizes(sizes)
        acts = _check_activations(activation, output_activation, len(sizes) - 1)
        loss = _check_loss(loss, acts)
        if seed is not None:
            seed = as_int(seed, "seed")
        module = _backends.load_backend(_backends.get_backend() if backend is None else backend)
        rng = random.Random(seed)
        weights, biases = [], []
        for n_in, n_out in zip(sizes, sizes[1:]):
            weights.append([[rng.gauss(0.0, 1.0) for _ in range(n_in)] for _ in range(n_out)])
            biases.append([rng.gauss(0.0, 1.0) for _ in range(n_out)])
        self._init(module, sizes, acts, loss, weights, biases)

    def _init(self, module, sizes, acts, loss, weights, biases):
        self._sizes = sizes
        self._activations = acts
        self._loss = loss
        self._core = module.Core(sizes, acts, loss, weights, biases)
        self._lock = threading.Lock()

    @classmethod
    def from_weights(cls, weights, biases, backend=None, activation="sigmoid",
                     output_activation=None, loss="mse"):
        """A network with the given weights (``weights[l][j][i]``) and biases (``biases[l][j]``)."""
        sizes = _check_sizes(_shape_of(weights))
        acts = _check_activations(activation, output_activation, len(sizes) - 1)
        loss = _check_loss(loss, acts)
        W, B = _check_params(weights, biases, sizes)
        module = _backends.load_backend(_backends.get_backend() if backend is None else backend)
        net = cls.__new__(cls)
        net._init(module, sizes, acts, loss, W, B)
        return net

    # -- what the network is ----------------------------------------------
    @property
    def sizes(self):
        return list(self._sizes)

    @property
    def activations(self):
        """The activation of each layer after the inputs."""
        return list(self._activations)

    @property
    def loss_name(self):
        return self._loss

    @property
    def backend(self):
        return self._core.name

    @property
    def weights(self):
        """A copy of the weights: ``weights[l][j][i]`` feeds input i into neuron j of layer l."""
        return self._core.get_params()[0]

    @property
    def biases(self):
        return self._core.get_params()[1]

    @property
    def n_parameters(self):
        s = self._sizes
        return sum(a * b + b for a, b in zip(s, s[1:]))

    def __repr__(self):
        acts = self._activations
        text = "Network(%r, activation=%r" % (self._sizes, acts[0])
        if any(a != acts[0] for a in acts[:-1]):
            text = "Network(%r, activation=%r" % (self._sizes, acts)
        elif acts[-1] != acts[0]:
            text += ", output_activation=%r" % acts[-1]
        if self._loss != "mse":
            text += ", loss=%r" % self._loss
        return text + ", backend=%r)" % self.backend

    def set_weights(self, weights, biases):
        """Replace every weight and bias; shapes must match ``sizes``."""
        W, B = _check_params(weights, biases, self._sizes)
        with self._exclusive("set_weights"):
            self._core.set_params(W, B)

    def _exclusive(self, what):
        if not self._lock.acquire(blocking=False):
            raise TrainingInProgress(
                "%s: this network is being trained by another thread; wait for it to finish" % what
            )
        return _Release(self._lock)

    # -- using it ----------------------------------------------------------
    def feedforward(self, x):
        """The outputs (one per output neuron) for one input row."""
        return self._core.forward(as_vector(x, self._sizes[0], "x"))

    def predict(self, rows):
        """Outputs for many rows: a list with one list of outputs per row."""
        return self._core.predict(as_rows(rows, self._sizes[0], "rows"))

    def _data(self, data, targets):
        rows = as_rows(data, self._sizes[0], "data")
        return rows, as_targets(targets, rows.n, self._sizes[-1])

    def loss(self, data, targets):
        """The network's loss over ``data``: for mse, the mean squared error
        over all samples and outputs."""
        return self._core.loss(*self._data(data, targets))

    def gradients(self, x, y):
        """(dL/dw, dL/db) for one sample, shaped like ``weights`` and ``biases``."""
        x = as_vector(x, self._sizes[0], "x")
        n_out = self._sizes[-1]
        t = as_vector(y if hasattr(y, "__len__") or n_out != 1 else [y], n_out, "y")
        wg, bg, _ = self._core.gradients(x, t)
        return wg, bg

    def train(self, data, targets, epochs=1000, learning_rate=0.1, callback=None):
        """Train by per-sample stochastic gradient descent, as the tutorial does.

        Samples are used in the given order; every weight and bias is updated
        after each sample.  Returns one loss per epoch: the mean, over the
        epoch's samples, of each sample's loss as measured just before its
        update.  ``callback(epoch, loss)``, if given, is called after each epoch
        (``epoch`` counts from 0); returning ``False`` stops training early.
        """
        rows, t = self._data(data, targets)
        epochs = as_int(epochs, "epochs", minimum=1)
        lr = as_float(learning_rate, "learning_rate")
        if lr <= 0.0:
            raise ValueError("learning_rate must be positive, got %r" % lr)
        if callback is not None and not callable(callback):
            raise TypeError("callback must be callable, got %r" % (callback,))
        with self._exclusive("train"):
            if callback is None:
                return self._core.train(rows, t, epochs, lr)
            losses = []
            for epoch in range(epochs):
                loss = self._core.train(rows, t, 1, lr)[0]
                losses.append(loss)
                if callback(epoch, loss) is False:
                    break
            return losses

    # -- saving ------------------------------------------------------------
    def to_dict(self):
        """A JSON-ready dict of everything needed to rebuild this network."""
        from ._modelfile import network_to_dict
        return network_to_dict(self)

    @classmethod
    def from_dict(cls, d, backend=None, max_parameters=None):
        """Rebuild a network from :meth:`to_dict` output, after validating all of it."""
        from ._modelfile import network_from_dict
        return network_from_dict(cls, d, backend, max_parameters)

    def export_c(self, name="plainnet_model"):
        """C99 source of a standalone ``predict`` for this network (weights as constants)."""
        from ._export import export_c
        return export_c(self, name)

    def export_python(self):
        """Source of a standalone Python module (math only) with ``predict(row)``."""
        from ._export import export_python
        return export_python(self)

    def save(self, path):
        """Write the network to ``path`` as JSON, atomically: a failure leaves any old file intact."""
        from ._modelfile import save
        save(self, path)


class _Release:
    __slots__ = ("_lock",)

    def __init__(self, lock):
        self._lock = lock

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._lock.release()
        return False
