"""The public API: Neuron and Network.

Everything a user passes in is validated here, once, before a backend sees it,
so both backends raise the same errors, and a call that fails leaves the
network exactly as it was.
"""

from _thread import RLock, get_ident
from math import isfinite, sqrt

from . import _backends, _driver, _modelfile, _registry, _spec, _training
from ._contract import TrainOptions, n_parameters, weight_sum
from ._data import (Rows, as_float, as_int, as_rows, as_targets, as_vector, check_loss_targets,
                    is_sequence, names_of)
from ._errors import TrainingInProgress
from ._spec import INITS, MAX_PARAMETERS
from ._training import Scaler

__all__ = ["Neuron", "Network", "History", "MAX_PARAMETERS", "INITS", "load", "from_torch"]


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
        return _registry.sigmoid(total + self.bias)

    def __repr__(self):
        return "Neuron(%r, bias=%r)" % (self.weights, self.bias)


def _private_rng(seed):
    if seed is not None:
        seed = as_int(seed, "seed")
    import random  # on first use: keeps `import plainnet` light
    return random.Random(seed)


class Network:
    """A fully connected feed-forward network.

    ``sizes`` lists the layer widths, inputs first: ``[2, 2, 1]`` is the
    tutorial's network.  Initial weights and biases are drawn from a standard
    normal distribution by a private random generator seeded with ``seed``.
    """

    def __init__(self, sizes, seed=None, backend=None, activation="sigmoid",
                 output_activation=None, loss="mse", init="normal"):
        sizes = _spec.check_sizes(sizes)
        acts = _spec.check_activations(activation, output_activation, len(sizes) - 1)
        loss = _spec.check_loss(loss, acts, sizes)
        _spec.check_choice(init, INITS, "init")
        rng = _private_rng(seed)
        module = _module(backend)
        weights, biases = [], []
        for n_in, n_out in zip(sizes, sizes[1:]):
            if init == "normal":  # the tutorial's: weights and biases from N(0, 1)
                weights.append([[rng.gauss(0.0, 1.0) for _ in range(n_in)] for _ in range(n_out)])
                biases.append([rng.gauss(0.0, 1.0) for _ in range(n_out)])
                continue
            # Glorot and Bengio (2010) / He et al. (2015), normal variants; zero biases.
            std = sqrt(2.0 / (n_in + n_out)) if init == "xavier" else sqrt(2.0 / n_in)
            weights.append([[rng.gauss(0.0, std) for _ in range(n_in)] for _ in range(n_out)])
            biases.append([0.0] * n_out)
        self._setup(module, sizes, acts, loss, weights, biases, {"rng": rng.getrandbits(64)})

    def _setup(self, module, sizes, acts, loss, weights, biases, training,
               scaler=None, columns=None, target=None):
        """The one constructor: a network of validated parts on backend ``module``.

        ``training`` holds what _modelfile's "training" field holds (any of
        epochs, rng, optimizer, b1t, b2t, buffers); ``columns`` is None or
        (input names, output names); ``target`` is None, ("classes", column,
        names) or ("scale", Scaler), as _modelfile's "target" field.
        """
        self._target = target
        self._sizes = sizes
        self._activations = acts
        self._loss = loss
        self._core = module.Core(sizes, acts, loss, weights, biases)
        # Re-entrant only so that a release by a thread that does not hold it
        # fails (see _Exclusive); a thread never takes it twice.
        self._lock = RLock()
        self._owner = None  # the thread holding _lock, once it has it
        # Odd while a train call changes the weights in place, and each such
        # call adds 2: a read that finds it odd (in another thread than the
        # training one), or changed by the time it is done, may have seen
        # weights of half an epoch, and raises instead.
        self._trainings = 0
        self._scaler = scaler
        self._columns = columns
        self._optimizer = training.get("optimizer")
        self._core.set_epochs_done(training.get("epochs", 0))
        self._core.set_train_state({
            "rng": training.get("rng", 0),
            "b1t": training.get("b1t", 1.0),
            "b2t": training.get("b2t", 1.0),
            "buffers": training.get("buffers", []),
        })

    @classmethod
    def _from_parts(cls, module, *parts, **kwargs):
        net = cls.__new__(cls)
        net._setup(module, *parts, **kwargs)
        return net

    @classmethod
    def from_weights(cls, weights, biases, backend=None, activation="sigmoid",
                     output_activation=None, loss="mse", seed=None):
        """A network with the given weights (``weights[l][j][i]``) and biases (``biases[l][j]``).

        ``seed`` seeds the shuffling of ``train(..., shuffle=True)``.
        """
        sizes = _spec.check_sizes(_spec.shape_of(weights))
        acts = _spec.check_activations(activation, output_activation, len(sizes) - 1)
        loss = _spec.check_loss(loss, acts, sizes)
        W, B = _spec.check_params(weights, biases, sizes)
        rng = _private_rng(seed)
        return cls._from_parts(_module(backend), sizes, acts, loss, W, B,
                               {"rng": rng.getrandbits(64)})

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
        return self._params("weights")[0]

    @property
    def biases(self):
        return self._params("biases")[1]

    def _params(self, what):
        """(weights, biases, scaler): copies of the weights and biases, and the
        input scaler, all of the same epoch (see _reading)."""
        seen = self._reading(what)
        weights, biases = self._core.get_params()
        scaler = self._scaler
        self._read(what, seen)
        return weights, biases, scaler

    @property
    def n_parameters(self):
        return n_parameters(self._sizes)

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

    def __reduce__(self):
        # Pickle as the model dict (data, validated again on load), rebuilt on
        # the receiving side's default backend.
        return (_from_dict, (self.to_dict(),))

    def set_weights(self, weights, biases):
        """Replace every weight and bias; shapes must match ``sizes``."""
        W, B = _spec.check_params(weights, biases, self._sizes)
        with self._exclusive("set_weights"):
            # A new core, swapped in whole: a predict running in another thread
            # finishes with the old weights, never with a mix of old and new.
            old = self._core
            core = type(old)(self._sizes, self._activations, self._loss, W, B)
            core.set_train_state(old.get_train_state())
            core.set_epochs_done(old.epochs_done)
            self._core = core

    def _exclusive(self, what, in_place=False):
        """Hold the network's lock for a change (``with``); ``in_place`` for one
        that changes the weights in place (train), which readers must not see.
        TrainingInProgress if another thread holds it, or if this thread does
        (a callback of a training cannot change the network it trains)."""
        return _Exclusive(self, what, in_place)

    def _reading(self, what):
        """Before reading the weights: TrainingInProgress if another thread is
        training this network (a callback of the training thread itself may
        read them).  Returns what :meth:`_read` compares after the read."""
        seen = self._trainings
        if seen & 1 and self._owner != get_ident():
            raise TrainingInProgress(
                "%s: this network is being trained by another thread; wait for it to finish" % what
            )
        return seen

    def _read(self, what, seen):
        """After reading the weights: TrainingInProgress if a training began in
        the meantime, so that the result may mix weights of two epochs."""
        if self._trainings != seen:
            raise TrainingInProgress(
                "%s: another thread began training this network during the call; "
                "wait for it to finish" % what
            )

    # -- using it ----------------------------------------------------------
    @property
    def scaler(self):
        """The input :class:`Scaler` applied before every use of the network, or None."""
        return self._scaler

    @property
    def epochs_trained(self):
        """Epochs trained over the network's life (saved in the model file)."""
        return self._core.epochs_done

    @property
    def column_names(self):
        """``{"inputs": [...], "outputs": [...]}`` naming the data's columns, or None.

        Set by :meth:`set_column_names` (the command line stores the CSV header)
        and saved in the model file, so tools can find the right columns later.
        """
        if self._columns is None:
            return None
        return {"inputs": list(self._columns[0]), "outputs": list(self._columns[1])}

    def set_column_names(self, inputs, outputs):
        """Name the input and output columns (one string each); None for both clears them."""
        self._columns = _spec.check_columns(inputs, outputs, self._sizes)

    @property
    def classes(self):
        """``{"column": name, "classes": [...]}`` for a classifier of one column
        of class labels (set by :meth:`set_classes`; the command line sets it),
        else None.  Output k is the probability of class k; a single sigmoid
        output is the probability of the second class."""
        if self._target is None or self._target[0] != "classes":
            return None
        return {"column": self._target[1], "classes": list(self._target[2])}

    def set_classes(self, column, classes):
        """Name the class of each output (saved in the model file); None, None clears it."""
        if column is None and classes is None:
            if self.target_scaler is None:
                self._target = None
            return
        if self._activations[-1] not in ("softmax", "sigmoid") or (
                self._sizes[-1] > 1 and self._activations[-1] != "softmax"):
            raise ValueError("class names need a softmax output (or one sigmoid output for two "
                             "classes), not %d %s output(s)" % (self._sizes[-1], self._activations[-1]))
        column, classes = _spec.check_classes(column, classes, self._sizes)
        self._target = ("classes", column, classes)

    @property
    def target_scaler(self):
        """The :class:`Scaler` of the targets (``train(..., scale_targets=True)``),
        or None.  With one, the network learns standardised targets: ``train``
        and ``loss`` take targets in their own units and standardise them (the
        loss is that of the standardised targets), and ``predict`` and
        ``feedforward`` map the outputs back."""
        if self._target is None or self._target[0] != "scale":
            return None
        return self._target[1]

    def _unscale(self, ys, scaler):
        if scaler is None:
            return ys
        pairs = list(zip(scaler.mean, scaler.scale))
        return [[v * s + m for v, (m, s) in zip(y, pairs)] for y in ys]

    def _scaled_targets(self, t, scaler=None):
        scaler = scaler or self.target_scaler
        if scaler is None:
            return t
        return Rows(t.n, t.width, lists=scaler.transform(t.lists))

    def _in_names(self):
        return None if self._columns is None else self._columns[0]

    def _out_names(self):
        return None if self._columns is None else self._columns[1]

    def fit_scaler(self, data):
        """Learn per-feature mean and scale from ``data``; inputs are scaled from now on.

        Returns the :class:`Scaler`, which is saved with the network.
        """
        scaler = Scaler.fit(as_rows(data, self._sizes[0], "data", self._core, self._in_names()))
        with self._exclusive("fit_scaler"):
            self._scaler = scaler
        return scaler

    def _row(self, x, what="x"):
        x = as_vector(x, self._sizes[0], what)
        return x if self._scaler is None else self._scaler.transform_row(x)

    def _rows(self, data, what="data", scaler=None):
        rows = as_rows(data, self._sizes[0], what, self._core, self._in_names())
        scaler = scaler or self._scaler
        if scaler is None:
            return rows
        return Rows(rows.n, rows.width, lists=scaler.transform(rows.lists))

    def feedforward(self, x):
        """The outputs (one per output neuron) for one input row."""
        seen = self._trainings
        if seen & 1:
            self._reading("feedforward")
        y = None
        if self._scaler is None:
            y = self._core.forward_list(x)  # None unless x is a list of finite numbers
        if y is None:
            y = self._core.forward(self._row(x))
        target = self._target  # read before the check, as the weights
        if self._trainings != seen:
            self._read("feedforward", seen)
        if target is None or target[0] != "scale":
            return y
        return self._unscale([y], target[1])[0]

    def predict(self, rows, as_numpy=False):
        """Outputs for many rows: a list with one list of outputs per row.

        With ``as_numpy=True`` the result is a float64 numpy array of shape
        (rows, outputs) instead (numpy is imported only then), which the core
        writes directly: no Python lists in between.
        """
        seen = self._reading("predict")
        rows = self._rows(rows, "rows")
        if as_numpy:
            import numpy
            out = numpy.empty((rows.n, self._sizes[-1]), dtype=numpy.float64)
            self._core.predict_into(rows, memoryview(out).cast("B").cast("d"))
            target = self.target_scaler
            self._read("predict", seen)
            if target is not None:  # v * s + m, as _unscale, element by element
                out *= numpy.array(target.scale)
                out += numpy.array(target.mean)
            return out
        out = self._core.predict(rows)
        target = self.target_scaler
        self._read("predict", seen)
        return self._unscale(out, target)

    def _data(self, data, targets):
        rows = self._rows(data)
        t = as_targets(targets, rows.n, self._sizes[-1], core=self._core, names=self._out_names())
        check_loss_targets(t, self._loss)
        return rows, self._scaled_targets(t)

    def loss(self, data, targets, sample_weight=None):
        """The network's loss over ``data``: for mse, the mean squared error
        over all samples and outputs (of the standardised targets, when the
        network has a :attr:`target_scaler`).  With ``sample_weight`` (one weight
        per row, finite and >= 0, not all 0) the weighted mean sum(w*l) / sum(w)."""
        seen = self._reading("loss")
        rows, t = self._data(data, targets)
        value = self._core.loss(rows, t, _sample_weights(sample_weight, rows.n))
        self._read("loss", seen)
        return value

    def gradients(self, x, y):
        """(dL/dw, dL/db) for one sample, shaped like ``weights`` and ``biases``."""
        seen = self._reading("gradients")  # before the scalers are read
        x = self._row(x)
        n_out = self._sizes[-1]
        t = as_vector(y if hasattr(y, "__len__") or n_out != 1 else [y], n_out, "y")
        check_loss_targets(Rows(1, n_out, lists=[t]), self._loss, "y")
        if self.target_scaler is not None:
            t = self.target_scaler.transform_row(t)
        wg, bg, _ = self._core.gradients(x, t)
        self._read("gradients", seen)
        return wg, bg

    def train(self, data, targets, epochs=1000, learning_rate=0.1, callback=None, *,
              optimizer="sgd", batch_size=1, shuffle=False, validation_data=None,
              validation_split=0.0, early_stopping=False, lr_schedule=None, scale=False,
              scale_targets=False, sample_weight=None):
        """Train the network; by default exactly as the tutorial does.

        The defaults are per-sample stochastic gradient descent over the samples
        in the given order, every weight and bias updated after each sample.
        Returns a :class:`History`: a list with one training loss per epoch,
        the mean over the epoch's samples of each sample's loss as measured just
        before its update, plus the validation losses when there are any, and
        (with early stopping) the epoch whose weights were restored.

        ``data`` and ``targets`` may be lists of rows, buffers (numpy arrays,
        read in place when float64), pandas or polars DataFrames and Series,
        torch tensors, or anything with ``__array__``.  A network without
        column names takes them from a DataFrame's columns (and a target
        DataFrame's or named Series'); one with names picks a DataFrame's
        columns by name.  Cross-entropy targets must lie in [0, 1], and
        categorical ones sum to 1 in each row.

        callback          ``callback(epoch, loss)`` after each epoch (``epoch``
                          counts from 0 in this call); returning False stops.
        optimizer         "sgd", "momentum", "adam", or an SGD/Momentum/Adam
                          instance with its settings (momentum, nesterov, betas,
                          epsilon, weight_decay).
        batch_size        1 (per sample) or the size of mini-batches whose
                          mean gradient makes one step.
        shuffle           visit the rows in a new order each epoch, drawn from
                          the network's seeded generator (same on both backends).
        validation_data   (data, targets) or (data, targets, weights) to
                          measure after each epoch (weights: a weighted mean), or
        validation_split  the fraction of rows, taken from the end, held out
                          (with their sample weights, if any).
        early_stopping    True (patience 10) or a patience in epochs: stop when
                          the validation loss has not improved for that many
                          epochs, and restore the best weights.
        lr_schedule       None, ("step", every, gamma) or ("exponential", gamma),
                          over the network's lifetime epochs.
        scale             fit a :class:`Scaler` on the training rows if the
                          network has none, and scale inputs from then on.
        scale_targets     (mse only) fit a :attr:`target_scaler` on the training
                          targets if the network has none: it learns
                          standardised targets, and predicts in their units.
        sample_weight     None, or one weight per row (finite, >= 0, not all
                          0): each batch steps on the weighted mean gradient
                          sum(w*g) / sum(w), and the epoch loss is the weighted
                          mean sum(w*l) / sum(w).  A row of weight 0 is skipped
                          (a batch of only such rows makes no step); all
                          weights 1.0 train exactly as no weights.
        """
        rows = as_rows(data, self._sizes[0], "data", self._core, self._in_names())
        t = as_targets(targets, rows.n, self._sizes[-1], core=self._core, names=self._out_names())
        check_loss_targets(t, self._loss)
        names = None
        if self._columns is None:
            names = (names_of(data), names_of(targets))
            if names == (None, None):
                names = None
            else:
                names = _spec.check_columns(
                    names[0] or _numbered("input", self._sizes[0]),
                    names[1] or _numbered("output", self._sizes[-1]), self._sizes)
        epochs = as_int(epochs, "epochs", minimum=1)
        lr = as_float(learning_rate, "learning_rate")
        if lr <= 0.0:
            raise ValueError("learning_rate must be positive, got %r" % lr)
        if callback is not None and not callable(callback):
            raise TypeError("callback must be callable, got %r" % (callback,))
        opt = _training.make_optimizer(optimizer)
        batch_size = as_int(batch_size, "batch_size", minimum=1)
        if not isinstance(shuffle, bool):
            raise TypeError("shuffle must be True or False, got %r" % (shuffle,))
        if not isinstance(scale, bool):
            raise TypeError("scale must be True or False, got %r" % (scale,))
        if not isinstance(scale_targets, bool):
            raise TypeError("scale_targets must be True or False, got %r" % (scale_targets,))
        if scale_targets and self._loss != "mse":
            raise ValueError("scale_targets is for regression (loss 'mse'), not %r" % self._loss)
        if scale_targets and self.classes is not None:
            raise ValueError("scale_targets: this network is a classifier (it has class names)")
        schedule = _training.check_schedule(lr_schedule)
        weights = _sample_weights(sample_weight, rows.n)
        rows, t, val, weights = self._split(rows, t, validation_data, validation_split, weights)
        if weights is not None and not weight_sum(weights) > 0.0:
            raise ValueError("sample_weight of the training rows sums to 0: nothing to train on")
        if callback is not None and not isinstance(callback, _training.OwnCallback):
            # The callback is the only code of the caller's that runs before
            # this call returns (in this thread), and it may change the
            # caller's arrays: training then reads copies, taken now.
            rows, t = rows.snapshot(), t.snapshot()
            if val is not None:
                val = (val[0].snapshot(), val[1].snapshot()) + tuple(val[2:])
        patience = _patience(early_stopping)
        if patience and val is None:
            raise ValueError("early_stopping needs validation_data or validation_split")

        with self._exclusive("train", in_place=True):
            rates = _training.LearningRates(lr, schedule, self.epochs_trained, epochs)
            rates.check()
            options = TrainOptions(opt, batch_size, shuffle, rates, epochs, weights)
            scaler = self._scaler
            if scale and scaler is None:
                scaler = Scaler.fit(rows)
            if scaler is not None:
                rows = Rows(rows.n, rows.width, lists=scaler.transform(rows.lists))
                if val is not None:
                    val = (Rows(val[0].n, val[0].width, lists=scaler.transform(val[0].lists)),) + val[1:]
            # What this call changes before its first epoch, put back should it
            # fail before completing one (an epoch that fails is rolled back).
            before = (self._scaler, self._optimizer, None, self.epochs_trained, self._target,
                      self._columns)
            target = self.target_scaler
            if scale_targets and target is None:
                target = Scaler.fit(t)
                self._target = ("scale", target)
            if target is not None:
                t = self._scaled_targets(t, target)
                if val is not None:
                    val = (val[0], self._scaled_targets(val[1], target)) + val[2:]
            if names is not None:
                self._columns = names
            if self._optimizer is None or self._optimizer.name != opt.name:
                before = before[:2] + (self._core.get_train_state(),) + before[3:]
                self._reset_optimizer(opt)
            self._scaler = scaler
            self._optimizer = opt
            try:
                return self._run(rows, t, options, callback, val, patience)
            except BaseException:
                if self.epochs_trained == before[3]:
                    self._scaler, self._optimizer = before[0], before[1]
                    self._target, self._columns = before[4], before[5]
                    if before[2] is not None:
                        self._core.set_train_state(before[2])
                raise

    def _split(self, rows, t, validation_data, validation_split, weights=None):
        """(training rows, training targets, (validation rows, targets[,
        weights]) or None, training weights or None)."""
        if validation_data is None and type(validation_split) in (int, float) and validation_split == 0:
            return rows, t, None, weights  # the default, without the checks below
        split = as_float(validation_split, "validation_split")
        if not 0.0 <= split < 1.0:
            raise ValueError("validation_split must be in [0, 1), got %r" % split)
        if validation_data is not None:
            if split:
                raise ValueError("give validation_data or validation_split, not both")
            if not is_sequence(validation_data) or len(validation_data) not in (2, 3):
                raise TypeError("validation_data must be a pair (data, targets) "
                                "or a triple (data, targets, sample weights)")
            vrows = as_rows(validation_data[0], self._sizes[0], "validation data", self._core,
                            self._in_names())
            vt = as_targets(validation_data[1], vrows.n, self._sizes[-1], "validation targets",
                            self._core, self._out_names())
            check_loss_targets(vt, self._loss, "validation targets")
            if len(validation_data) == 3 and validation_data[2] is not None:
                vw = _sample_weights(validation_data[2], vrows.n, "validation sample weights")
                return rows, t, (vrows, vt, vw), weights
            return rows, t, (vrows, vt), weights
        if not split:
            return rows, t, None, weights
        n_train = int(rows.n * (1.0 - split))
        if n_train < 1 or n_train >= rows.n:
            raise ValueError("validation_split %r of %d rows leaves no training or no validation rows"
                             % (split, rows.n))

        def part(r, lo, hi):
            return Rows(hi - lo, r.width, lists=r.lists[lo:hi])
        val = (part(rows, n_train, rows.n), part(t, n_train, rows.n))
        if weights is not None:
            vw = weights[n_train:]
            if not weight_sum(vw) > 0.0:
                raise ValueError("sample_weight of the validation rows sums to 0")
            val, weights = val + (vw,), weights[:n_train]
        return part(rows, 0, n_train), part(t, 0, n_train), val, weights

    def _reset_optimizer(self, opt):
        self._core.reset_optimizer(opt.n_buffers)

    def _run(self, rows, t, options, callback, val, patience):
        history = History()
        core = self._core
        if callback is None and val is None:
            history.extend(_driver.train(core, rows, t, options))
            return history
        best = [None, None, 0]  # best validation loss, its parameters, epochs waited

        def after_epoch(epoch, loss):
            history.append(loss)
            keep_going = True
            if val is not None:
                vloss = core.loss(*val)
                history.val_loss.append(vloss)
                if best[0] is None or vloss < best[0]:
                    best[0], best[2], history.best_epoch = vloss, 0, epoch
                    if patience:
                        best[1] = core.get_params()
                else:
                    best[2] += 1
                    if patience and best[2] >= patience:
                        history.stopped_early = True
                        keep_going = False
            if callback is not None and callback(epoch, loss) is False:
                keep_going = False
            return keep_going

        _driver.train(core, rows, t, options, after_epoch)
        if best[1] is not None:
            core.set_params(*best[1])
            history.restored_epoch = history.best_epoch
        return history

    # -- saving ------------------------------------------------------------
    def to_dict(self):
        """A JSON-ready dict of everything needed to rebuild this network."""
        seen = self._reading("to_dict")
        weights, biases = self._core.get_params()
        state = self._core.get_train_state()
        d = _modelfile.model_dict(
            self._sizes, self._activations, self._loss, weights, biases,
            scaler=None if self._scaler is None else self._scaler.to_dict(),
            columns=self.column_names,
            target=self._target_dict(),
            training={
                "epochs": self.epochs_trained,
                "rng": state["rng"],
                "optimizer": None if self._optimizer is None else self._optimizer.to_dict(),
                "b1t": state["b1t"],
                "b2t": state["b2t"],
                "buffers": state["buffers"],
            })
        self._read("to_dict", seen)
        return d

    def _target_dict(self):
        if self._target is None:
            return None
        if self._target[0] == "classes":
            return {"column": self._target[1], "classes": list(self._target[2])}
        return self._target[1].to_dict()

    @classmethod
    def from_dict(cls, d, backend=None, max_parameters=None):
        """Rebuild a network from :meth:`to_dict` output, after validating all of it."""
        return cls._from_model(_modelfile.parts_from_dict(d, max_parameters), backend)

    @classmethod
    def _from_model(cls, parts, backend):
        sizes, acts, loss, W, B, scaler, training, columns, target = parts
        return cls._from_parts(_module(backend), sizes, acts, loss, W, B, training or {},
                               scaler=scaler, columns=columns, target=target)

    def export_c(self, name="plainnet_model", precision="float64", quantize=None, calibration=None):
        """C99 source of a standalone ``predict`` for this network (weights as constants).

        ``precision="float32"`` writes float weights and arithmetic for single-precision
        FPUs; ``quantize="int8"`` with ``calibration`` (rows of inputs that fix each
        layer's activation range) writes int8 weights and integer arithmetic.
        """
        from ._export import export_c
        return export_c(self, name, precision, quantize, calibration)

    def export_python(self):
        """Source of a standalone Python module (math only) with ``predict(row)``."""
        from ._export import export_python
        return export_python(self)

    def export_onnx(self, path, dtype="float64"):
        """Write this network as an ONNX model (opset 17) to ``path``, atomically.

        Input "input" of shape [N, n_inputs], output "output" [N, n_outputs],
        in ``dtype`` "float64" (the default) or "float32"; the scaler, if any,
        is part of the graph.  Needs no package to write; run it with any
        ONNX runtime (plainnet's tests check onnxruntime against ``predict``).
        """
        from ._onnx import export_onnx
        export_onnx(self, path, dtype)

    def to_torch(self):
        """A float64 ``torch.nn.Sequential`` of Linear layers and activations equal to this network."""
        from ._torch import to_torch
        return to_torch(self)

    def save(self, path):
        """Write the network to ``path`` as JSON, atomically: a failure leaves any old file intact."""
        _modelfile.save_dict(self.to_dict(), path)


def load(path, backend=None, max_parameters=None):
    """Read a network saved by :meth:`Network.save`; a malformed file raises ModelFileError."""
    return Network._from_model(_modelfile.read(path, max_parameters), backend)


def from_torch(module, backend=None, loss="mse"):
    """A Network equal to an ``nn.Sequential`` of Linear layers and supported activations.

    Each ``nn.Linear`` may be followed by one activation module: ``nn.Sigmoid``,
    ``nn.Tanh``, ``nn.ReLU``, ``nn.LeakyReLU`` (negative_slope 0.01),
    ``nn.Softplus`` (beta 1, threshold 20), ``nn.SiLU``,
    ``nn.GELU(approximate="tanh")``, ``nn.Identity`` or nothing (linear), and
    the last one also by ``nn.Softmax(dim=-1)``.  A Linear without bias gets
    zero biases.  Raises ValueError naming the first layer (index and repr)
    that plainnet cannot represent.  ``loss`` is the network's training loss,
    as in :class:`Network`.
    """
    from ._torch import layers_from_torch
    weights, biases, acts = layers_from_torch(module)
    return Network.from_weights(weights, biases, backend=backend, activation=acts, loss=loss)


def _module(backend):
    return _backends.load_backend(_backends.get_backend() if backend is None else backend)


def _from_dict(d):
    return Network.from_dict(d)


def _numbered(what, n):
    return [what] if n == 1 else ["%s_%d" % (what, k) for k in range(n)]


def _sample_weights(sample_weight, n, what="sample_weight"):
    """None, or the validated weights as an array('d') of n finite values >= 0
    that do not sum to 0 (a fresh copy: the caller may change its own)."""
    if sample_weight is None:
        return None
    from array import array
    weights = as_vector(sample_weight, n, what)
    for i, w in enumerate(weights):
        if w < 0.0:
            raise ValueError("%s[%d] must be >= 0, got %r" % (what, i, w))
    total = weight_sum(weights)
    if not total > 0.0:
        raise ValueError("%s sums to 0 (at least one weight must be positive)" % what)
    if not isfinite(total):
        raise ValueError("%s sums to infinity: scale the weights down" % what)
    return array("d", weights)


def _patience(early_stopping):
    if early_stopping is False or early_stopping is None:
        return 0
    if early_stopping is True:
        return 10
    return as_int(early_stopping, "early_stopping (a patience in epochs)", minimum=1)


class History(list):
    """The training losses of one call to ``train``, one per epoch.

    ``val_loss`` holds the validation loss after each epoch (empty without
    validation data), ``best_epoch`` the epoch with the lowest validation loss,
    and ``stopped_early`` whether early stopping ended training.

    With early stopping the network keeps the weights of its best epoch, not
    of its last: ``restored_epoch`` is then that epoch (an index into this
    list, counting from 0, like ``best_epoch``), else None; ``final_loss`` and
    ``final_val_loss`` are the losses of the epoch whose weights the network
    was left with (the restored one, else the last).
    """

    def __init__(self, *args):
        super().__init__(*args)
        self.val_loss = []
        self.best_epoch = None
        self.stopped_early = False
        self.restored_epoch = None

    @property
    def final_loss(self):
        """The training loss of the epoch whose weights the network kept, or None."""
        if not self:
            return None
        return self[self.restored_epoch if self.restored_epoch is not None else -1]

    @property
    def final_val_loss(self):
        """The validation loss of the epoch whose weights the network kept, or None."""
        if not self.val_loss:
            return None
        return self.val_loss[self.restored_epoch if self.restored_epoch is not None else -1]

    def plot(self, ax=None, title=None, ylabel="loss"):
        """Draw the training (and validation) loss per epoch with matplotlib.

        Draws on ``ax`` (a new figure's Axes when None), with a log scale when
        the losses span more than two decades, and returns the Axes.  Needs
        matplotlib (imported only here); ``plainnet train --plot curve.svg``
        draws the same as SVG without it.
        """
        from ._plot import plot_history
        return plot_history(self, ax, title, ylabel)


class _Exclusive:
    """The ``with`` of Network._exclusive.  CPython runs a Ctrl-C's
    KeyboardInterrupt where a call returns (and where a function starts or a
    loop jumps back), so it can land right after the lock's acquire.  Here
    it cannot leave the lock held or the training count odd: the acquire is
    inside a ``try`` whose handler, like ``__exit__``, clears this thread's
    marks with plain stores and then releases with its first call.  The lock
    is an RLock so that a release by a thread that does not hold it fails
    (the acquire failed, or never ran) instead of freeing another thread's.
    ``_owner`` is set after the acquire and cleared before the release, so it
    names this thread only while it holds the lock.  What no Python code can
    close: an interrupt as ``__exit__`` itself starts, before its first line
    (``tests/test_faults.py`` interrupts at every call's return)."""

    __slots__ = ("_net", "_what", "_in_place", "_me")

    def __init__(self, net, what, in_place):
        self._net = net
        self._what = what
        self._in_place = in_place
        self._me = get_ident()

    def __enter__(self):
        net, me = self._net, self._me
        if net._owner == me:
            raise TrainingInProgress(
                "%s: this thread is training this network (a callback of the training?); "
                "a training's callback cannot change the network it trains" % self._what
            )
        try:
            if not net._lock.acquire(False):
                raise TrainingInProgress(
                    "%s: this network is being trained by another thread; wait for it to finish"
                    % self._what
                )
            net._owner = me
            if self._in_place:
                net._trainings += 1
        except BaseException:
            if net._owner == me:
                if net._trainings & 1:
                    net._trainings += 1
                net._owner = None
            try:
                net._lock.release()
            except RuntimeError:  # not held by this thread: the acquire failed or never ran
                pass
            raise
        return self

    def __exit__(self, *exc):
        net = self._net
        if self._in_place:
            net._trainings += 1
        net._owner = None
        net._lock.release()
        return False
