"""The backend contract: what a core provides, in what order it computes, and how
parameters are laid out.  Both backends (``_py_backend``, the reference, and
``_c_backend``, the C core) implement :class:`Core`; tests/test_contract.py
checks that each has every member.

``plainnet.Network`` owns one core, validates every argument before calling
it (so a core may trust its inputs), and never looks inside.  Training is
driven by ``_driver``, which calls the epoch primitives below.

ORDER CONTRACT.  Both cores return the same bits, so the order of every
floating-point operation is part of the contract; ``csrc/plainnet.c`` and the
exporters (``_export``) follow this text, and the parity tests compare with ==.

* A pre-activation is ``((0.0 + w[0]*a[0]) + w[1]*a[1]) + ... + b``: reduced
  in input order, one addition at a time; never with ``sum()``, which since
  Python 3.12 adds floats with compensation and so rounds differently.
* Activations, their derivatives and the losses are the formulas of
  ``_registry`` (in C: ``csrc/pn_activations.h`` and ``plainnet.c``), each
  operation in the order written there.  A derivative f'(z) is computed from
  the pre-activation z and the output y = f(z) and always multiplied in:
  ``d[i] = g[i] * f'(z[i])``.
* A backpropagated sum is ``((0.0 + w[0][i]*d[0]) + w[1][i]*d[1]) + ...``,
  from the weights before the sample's update.
* Plain SGD (batch 1, optimizer "sgd", no weight decay) updates after each
  sample: ``s = lr * d[j]``; ``w[j][i] = w[j][i] - s * a[i]``; ``b[j] = b[j] - s``.
* Anything else accumulates, per batch of ``nb`` rows (the last may be
  shorter), ``gs = ((0.0 + d*a) + d*a) + ...`` over the batch's samples in
  order, then ``g = gs / nb``, ``g = g + wd*w`` for weights when weight decay
  is on, and steps every parameter ``p``:
  sgd       ``p = p - lr*g``
  momentum  ``buf = mu*buf + g``; ``p = p - lr*(g + mu*buf if nesterov else buf)``
  adam      per step ``b1t *= beta1``, ``b2t *= beta2``,
            ``step = lr / (1.0 - b1t)``, ``bc2 = sqrt(1.0 - b2t)``; per parameter
            ``m = beta1*m + (1.0 - beta1)*g``, ``v = beta2*v + (1.0 - beta2)*(g*g)``,
            ``p = p - step*(m / (sqrt(v)/bc2 + eps))``
* The epoch loss is ``total / n`` where ``total = ((0.0 + l0) + l1) + ...``
  adds each sample's loss, measured in its forward pass (before its update),
  in the order the samples are visited; a data-set loss is the same sum
  without updates.
* Sample weights (``train(..., sample_weight=w)``; weights finite and >= 0,
  their total > 0).  A row of weight 0 is skipped everywhere, as if absent
  (adding ``0.0*x`` to a sum that starts at ``0.0`` would give the same bits
  for finite x).  Mini-batches (every case but plain SGD) accumulate
  ``gs = ((0.0 + w0*(d0*a0)) + w1*(d1*a1)) + ...`` (biases: ``w*d``) and
  ``W = ((0.0 + w0) + w1) + ...`` over the batch's rows in visiting order,
  then ``g = gs / W`` and step as above; a batch whose weights are all 0
  makes no step at all (parameters, optimizer buffers and Adam's ``b1t``,
  ``b2t`` stay).  Plain SGD steps each row of nonzero weight exactly as
  without weights (a batch of one: ``w*g / w`` is ``g``).  The epoch loss is
  ``total / W`` with ``total = ((0.0 + w*l) + w*l) + ...`` in visiting order
  and ``W = ((0.0 + w0) + w1) + ...`` over all training rows in row order
  (``TrainOptions.weight_total``); a weighted data-set loss is the same sum
  over rows in order divided by its rows' ``W``.  With all weights 1.0 every
  result is bit for bit the unweighted one (``1.0*x`` is ``x``, and ``W`` is
  the row count).
* With ``shuffle``, each epoch visits the rows in ``_training.shuffled`` order,
  drawn from the core's PRNG state (splitmix64 and Fisher-Yates).
"""

try:  # typing.Protocol is new in Python 3.8; the contract is documentation either way
    from typing import Protocol
except ImportError:  # pragma: no cover
    Protocol = object

__all__ = ["Core", "TrainOptions", "weight_sum", "n_parameters", "flatten", "unflatten", "CORE_MEMBERS"]


def n_parameters(sizes):
    """Weights and biases of a network with these layer sizes."""
    return sum(a * b + b for a, b in zip(sizes, sizes[1:]))


def flatten(weights, biases):
    """The flat parameter layout: per layer, its weights row by row
    (``weights[l][j][i]``, j-major), then its biases.  Optimizer buffers and
    the C core's parameter exchange use it too."""
    flat = []
    for layer, b in zip(weights, biases):
        for row in layer:
            flat.extend(row)
        flat.extend(b)
    return flat


def unflatten(flat, sizes):
    """(weights, biases) as fresh nested lists from the flat layout."""
    W, B, k = [], [], 0
    for n_in, n_out in zip(sizes, sizes[1:]):
        W.append([list(flat[k + j * n_in:k + (j + 1) * n_in]) for j in range(n_out)])
        k += n_in * n_out
        B.append(list(flat[k:k + n_out]))
        k += n_out
    return W, B


def weight_sum(weights):
    """((0.0 + w0) + w1) + ... in order, zeros skipped (the order contract)."""
    total = 0.0
    for w in weights:
        if w != 0.0:
            total += w
    return total


class TrainOptions:
    """Everything a core needs to train beyond the data, always passed as one object.

    ``optimizer`` is a ``_training.Optimizer``; ``lrs[e]`` is the learning
    rate of epoch e of the call (the one place the rate travels: a list, or a
    ``_training.LearningRates`` that computes each when asked).
    """

    __slots__ = ("optimizer", "batch_size", "shuffle", "lrs", "epochs", "weights", "weight_total")

    def __init__(self, optimizer, batch_size, shuffle, lrs, epochs=None, weights=None):
        self.optimizer = optimizer
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.lrs = lrs
        self.epochs = len(lrs) if epochs is None else epochs
        #: None, or the rows' sample weights as an array('d') (validated: finite, >= 0)
        self.weights = weights
        #: ((0.0 + w0) + w1) + ... over all rows in order (None without weights)
        self.weight_total = None if weights is None else weight_sum(weights)

    @property
    def plain_sgd(self):
        """True when the tutorial's per-sample update applies: w -= (lr*d)*a."""
        opt = self.optimizer
        return opt.name == "sgd" and self.batch_size == 1 and opt.weight_decay == 0.0


class Core(Protocol):
    """One network's parameters and arithmetic.  Every member, documented once."""

    #: The backend's name: "python" or "c".
    name = None
    sizes = None
    activations = None
    loss_name = None

    def __init__(self, sizes, activations, loss, weights, biases):
        """A core for validated sizes, activation and loss names, nested parameters."""

    # -- parameters and state
    def get_params(self):
        """(weights, biases) as fresh nested lists."""

    def set_params(self, weights, biases):
        """Replace every parameter (already validated floats of the right shape)."""

    def get_train_state(self):
        """{"rng": int, "b1t": float, "b2t": float, "buffers": [flat lists]}."""

    def set_train_state(self, state):
        """Restore what get_train_state returned (optimizer buffers, PRNG state)."""

    def reset_optimizer(self, n_buffers):
        """A fresh optimizer's state: n_buffers buffers of zeros and
        b1t = b2t = 1.0 (the PRNG state stays), what set_train_state would set
        from them, without lists of every parameter."""

    @property
    def epochs_done(self):
        """Epochs completed over the core's life; it rises with the weights'
        update, so it is right whenever training is interrupted."""

    def set_epochs_done(self, n):
        """Set the epoch count (when a network is rebuilt from a file)."""

    # -- using it
    def forward(self, x):
        """The outputs for one row (a list of floats)."""

    def forward_list(self, x):
        """The outputs for an unchecked row, or None unless ``x`` is a plain
        list of finite numbers of the right length; a core without a shortcut
        always returns None."""

    def pack_rows(self, data, width):
        """A float64 buffer of rows for a list of equally long lists of finite
        numbers, or None (then the caller checks and converts them itself)."""

    def first_nonfinite(self, flat):
        """Index of the first NaN or infinity in a float64 memoryview, or None."""

    def predict(self, rows):
        """Outputs of validated ``_data.Rows``: a list of lists."""

    def predict_into(self, rows, out):
        """Outputs of ``rows`` written row after row into ``out``, a writable
        flat float64 memoryview of rows.n * outputs values; the same bits as predict."""

    def loss(self, rows, targets, weights=None):
        """The mean over rows of each row's loss; with ``weights`` (an
        array('d') of validated weights summing to more than 0) the weighted
        mean, as the order contract states."""

    def gradients(self, x, t):
        """(weight gradients, bias gradients, loss) of one sample."""

    # -- training primitives, called by _driver
    def train_data(self, rows, targets):
        """A context manager giving the data in the form the core trains on."""

    def epoch_seconds(self, n_rows):
        """An estimate of one epoch's time, for choosing how much one call does."""

    def sgd_epochs(self, data, options, first, count):
        """Plain-SGD whole epochs ``first .. first + count`` of the call, in one
        call where the core can (else None; always None with sample weights): returns (losses, diverged loss or
        None); a diverged epoch is rolled back by the core itself."""

    def begin_epoch(self):
        """Save what an epoch changes (parameters, optimizer state, PRNG), to roll back."""

    def epoch_order(self, options, n_rows):
        """This epoch's order of rows (drawn from the PRNG with shuffle), or None: in order."""

    def run_rows(self, data, options, epoch, order, first, count, total):
        """Train positions [first, first + count) of the epoch (a multiple of the
        batch size, unless it ends the epoch); returns total plus their losses
        (each times its weight with ``options.weights``)."""

    def end_epoch(self, total, n_rows, weight_total=None):
        """(loss, ok): close the epoch, its loss ``total / n_rows`` (or
        ``total / weight_total`` when given); ok is False, and the epoch rolled
        back, when its loss or any parameter is not finite."""

    def abort_epoch(self):
        """Roll the open epoch back (an exception, Ctrl-C); nothing if it is closed."""


#: The members a core must have (tests/test_contract.py checks both cores).
CORE_MEMBERS = tuple(sorted(
    k for k in vars(Core)
    if not k.startswith("_") and k not in ("sizes", "activations", "loss_name")
)) + ("sizes", "activations", "loss_name")
