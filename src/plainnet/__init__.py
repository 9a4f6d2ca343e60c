"""plainnet: feed-forward neural networks for anywhere Python runs.

Pure Python with no dependencies, plus an optional C core (built with cffi)
that computes the same numbers, bit for bit, faster.  It starts from Victor
Zhou's tutorial "Machine Learning for Beginners: An Introduction to Neural
Networks": sigmoid neurons, mean squared error, backpropagation and per-sample
stochastic gradient descent.

    >>> import plainnet as pn
    >>> pn.Neuron([0, 1], 4).feedforward([2, 3])
    0.9990889488055994
"""

from ._backends import available_backends, get_backend, set_backend
from ._errors import BackendUnavailable, ModelFileError, TrainingDiverged, TrainingInProgress
from ._metrics import mse_loss
from ._modelfile import model_schema
from ._registry import deriv_sigmoid, sigmoid
from ._threads import get_num_threads, set_num_threads
from ._version import __version__
from ._training import SGD, Adam, Momentum, Scaler
from .network import History, Network, Neuron, from_torch, load

__all__ = [
    "__version__",
    "sigmoid",
    "deriv_sigmoid",
    "mse_loss",
    "Neuron",
    "Network",
    "History",
    "SGD",
    "Momentum",
    "Adam",
    "Scaler",
    "load",
    "model_schema",
    "from_torch",
    "available_backends",
    "get_backend",
    "set_backend",
    "set_num_threads",
    "get_num_threads",
    "BackendUnavailable",
    "ModelFileError",
    "TrainingDiverged",
    "TrainingInProgress",
]
