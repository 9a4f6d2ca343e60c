"""The description of a network and its checks: layer sizes, activations, loss,
initialisation, parameters, and the parameter limit.

``Network``, the model-file reader and torch conversion all build networks
from parts validated here, so each check exists once; this module imports
nothing from ``network``.
"""

from . import _registry
from ._contract import n_parameters
from ._data import as_int, as_vector, is_sequence

__all__ = ["MAX_PARAMETERS", "INITS", "check_sizes", "check_choice", "check_activations",
           "check_loss", "check_params", "check_columns", "check_classes", "shape_of"]

#: Weight initialisations: the tutorial's standard normal, Xavier (Glorot) and He.
INITS = ("normal", "xavier", "he")

#: Networks (and model files) with more weights and biases than this are
#: refused before anything is allocated.  Raise it (``plainnet.network.MAX_PARAMETERS``
#: is this value) if you really mean it.
MAX_PARAMETERS = 10000000


def check_sizes(sizes, limit=None):
    """Layer widths as a list of ints >= 1, at least two, within the parameter limit."""
    if not is_sequence(sizes):
        raise TypeError("sizes must be a list of layer widths such as [2, 2, 1], not %r" % (sizes,))
    sizes = [as_int(s, "sizes[%d]" % i, minimum=1) for i, s in enumerate(sizes)]
    if len(sizes) < 2:
        raise ValueError("sizes needs at least an input and an output layer, e.g. [2, 1]; got %r" % sizes)
    count = n_parameters(sizes)
    limit = MAX_PARAMETERS if limit is None else limit
    if count > limit:
        raise ValueError(
            "sizes %r give %d weights and biases, more than plainnet.network.MAX_PARAMETERS (%d)"
            % (sizes, count, limit)
        )
    return sizes


def check_choice(value, choices, what):
    """``value`` if it is one of the strings ``choices``, else TypeError/ValueError."""
    if not isinstance(value, str):
        raise TypeError("%s must be a string, one of %s; got %r" % (what, ", ".join(choices), value))
    if value not in choices:
        raise ValueError("unknown %s %r: choose one of %s" % (what, value, ", ".join(choices)))
    return value


def check_activations(activation, output_activation, n_layers):
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
        record = _registry.activation(a, "activation of layer %d" % (i + 1))
        if not record.hidden and i != n_layers - 1:
            raise ValueError("%s is only allowed on the output layer (layer %d)" % (a, n_layers))
    return acts


def check_loss(loss, acts, sizes=None):
    """The loss name, checked against the output activation it needs; with
    ``sizes``, also that a softmax output has two or more neurons."""
    record = _registry.loss(loss)
    if sizes is not None and acts[-1] == "softmax" and sizes[-1] < 2:
        raise ValueError("a softmax output needs two or more outputs (one per class), got %d: "
                         "its single output would always be 1; use sigmoid for one output"
                         % sizes[-1])
    if record.output is not None and acts[-1] != record.output:
        raise ValueError("loss %r needs output_activation=%r, not %r" % (loss, record.output, acts[-1]))
    return loss


def check_params(weights, biases, sizes):
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


def check_columns(inputs, outputs, sizes):
    """(input names, output names) as lists of strings that fit ``sizes``; None for both: None."""
    if inputs is None and outputs is None:
        return None
    checked = []
    for what, names, n in (("inputs", inputs, sizes[0]), ("outputs", outputs, sizes[-1])):
        if not is_sequence(names) or any(not isinstance(v, str) for v in names):
            raise TypeError("column names for %s must be a list of strings, got %r" % (what, names))
        if len(names) != n:
            raise ValueError("%d column names given for %s, the network has %d" % (len(names), what, n))
        checked.append(list(names))
    return tuple(checked)


def check_classes(column, classes, sizes):
    """(column name, class names) for a classifier's outputs: distinct strings,
    one per output, or two for a single (sigmoid) output."""
    if not isinstance(column, str):
        raise TypeError("the target column's name must be a string, got %r" % (column,))
    if not is_sequence(classes) or any(not isinstance(c, str) for c in classes):
        raise TypeError("class names must be a list of strings, got %r" % (classes,))
    classes = list(classes)
    wanted = 2 if sizes[-1] == 1 else sizes[-1]
    if len(classes) != wanted:
        raise ValueError("%d class names given, the network's %d output(s) need %d"
                         % (len(classes), sizes[-1], wanted))
    if len(set(classes)) != len(classes):
        raise ValueError("class names must be distinct, got %r" % (classes,))
    return column, classes


def shape_of(weights):
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
