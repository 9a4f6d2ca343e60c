"""scikit-learn estimators: :class:`NetClassifier` and :class:`NetRegressor`.

They follow scikit-learn's estimator conventions (the constructor only stores
its arguments; ``fit``, ``partial_fit``, ``predict``, ``score``,
``get_params``/``set_params``; fitted attributes end in ``_``), so they work in
pipelines, grid searches and cross-validation, and pass
``sklearn.utils.estimator_checks.check_estimator``.  The trained
:class:`plainnet.Network` is ``network_``: save it, export it or convert it to
PyTorch as any other network.

This module needs scikit-learn (and so numpy); ``import plainnet`` never
imports either.
"""

try:
    import numpy as np
    from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.metrics import accuracy_score, r2_score
    from sklearn.utils.multiclass import type_of_target
    from sklearn.model_selection import train_test_split
    from sklearn.utils import check_random_state
    from sklearn.utils.class_weight import compute_sample_weight
    from sklearn.utils.multiclass import check_classification_targets
    from sklearn.utils.validation import _check_sample_weight, check_is_fitted, column_or_1d
except ImportError as exc:  # pragma: no cover - exercised without scikit-learn
    raise ImportError(
        "plainnet.sklearn needs scikit-learn: `pip install scikit-learn` (%s)" % exc
    ) from exc

try:  # scikit-learn >= 1.6
    from sklearn.utils.validation import validate_data as _sk_validate_data
except ImportError:  # older scikit-learn: the estimator's own _validate_data
    _sk_validate_data = None

import functools
import math
import warnings
from numbers import Integral

from . import _backends, _registry, _spec, _training
from ._data import as_float, as_int, is_sequence
from .network import Network

#: scikit-learn MLP's activation names, as plainnet's
_MLP_ACTIVATIONS = {"logistic": "sigmoid", "identity": "linear"}
_MLP_NAMES = {"sigmoid": "logistic", "linear": "identity"}

__all__ = ["NetClassifier", "NetRegressor", "register_skl2onnx"]


def _bad_input_keeps_state(fit):
    """``fit``/``partial_fit``: the parameters are checked first, and a
    ValueError or TypeError (a bad parameter or bad data) leaves every
    attribute of the estimator as it was before the call."""
    @functools.wraps(fit)
    def checked(self, *args, **kwargs):
        before = dict(self.__dict__)
        try:
            self._check_params()
            return fit(self, *args, **kwargs)
        except (TypeError, ValueError):
            self.__dict__.clear()
            self.__dict__.update(before)
            raise
    return checked


def _flag(value, what):
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError("%s must be True or False, got %r" % (what, value))


def _validate_data(estimator, X, y="no_validation", reset=True, **check_params):
    """scikit-learn's input validation, through whichever API this version has.

    Returns X (or (X, y) when y is given) as C-ordered float64 arrays, which
    the C backend reads in place; sets or checks ``n_features_in_``.
    """
    check_params.setdefault("dtype", np.float64)
    check_params.setdefault("order", "C")
    if _sk_validate_data is not None:
        return _sk_validate_data(estimator, X, y, reset=reset, **check_params)
    return estimator._validate_data(X, y, reset=reset, **check_params)


class _NetEstimator(BaseEstimator):
    """What the classifier and the regressor share: parameters, fitting, pickling.

    Subclasses define how targets become network outputs (``_encode_targets``)
    and which output layer and loss the network gets (``_output``).
    """

    def __init__(self, hidden_layer_sizes=(32,), activation="sigmoid", optimizer="adam",
                 learning_rate=0.01, epochs=30, batch_size=32, shuffle=True, scale=False,
                 init="xavier", tol=1e-4, n_iter_no_change=10, early_stopping=False,
                 validation_fraction=0.1, random_state=None, backend=None, verbose=False,
                 warm_start=False):
        self.verbose = verbose
        self.warm_start = warm_start
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.epochs = epochs
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.scale = scale
        self.init = init
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.random_state = random_state
        self.backend = backend

    # -- parameter checks: at fit time, as scikit-learn's estimators do ------
    def _check_params(self):
        """ValueError or TypeError, naming the estimator and the parameter,
        for a parameter value that cannot train."""
        try:
            self._check_each_param()
        except (TypeError, ValueError) as exc:
            kind = TypeError if isinstance(exc, TypeError) else ValueError
            raise kind("%s: %s" % (type(self).__name__, exc)) from None

    def _check_each_param(self):
        hidden = self.hidden_layer_sizes
        if not (is_sequence(hidden) or hasattr(hidden, "__index__")):  # text is no sequence
            raise TypeError("hidden_layer_sizes must be an int or a sequence of ints such as "
                            "(32,) (or () for none), got %r" % (hidden,))
        for i, width in enumerate(hidden if is_sequence(hidden) else [hidden]):
            as_int(width, "hidden_layer_sizes[%d]" % i, minimum=1)
        activation = self.activation
        if not isinstance(activation, str):
            raise TypeError("activation must be a string, one of %s; got %r"
                            % (", ".join(_registry.hidden_activations()), activation))
        if not _registry.activation(_MLP_ACTIVATIONS.get(activation, activation)).hidden:
            raise ValueError("activation %r is only for output layers: choose one of %s"
                             % (activation, ", ".join(_registry.hidden_activations())))
        _training.make_optimizer(self.optimizer)
        if not as_float(self.learning_rate, "learning_rate") > 0.0:
            raise ValueError("learning_rate must be positive, got %r" % (self.learning_rate,))
        as_int(self.epochs, "epochs", minimum=1)
        as_int(self.batch_size, "batch_size", minimum=1)
        as_int(self.n_iter_no_change, "n_iter_no_change", minimum=1)
        for flag in ("shuffle", "scale", "early_stopping", "warm_start"):
            _flag(getattr(self, flag), flag)
        if not isinstance(self.verbose, (bool, np.bool_)) and (
                not isinstance(self.verbose, Integral) or self.verbose < 0):
            raise TypeError("verbose must be True, False or an int >= 0, got %r" % (self.verbose,))
        _spec.check_choice(self.init, _spec.INITS, "init")
        if self.tol is not None and not as_float(self.tol, "tol") >= 0.0:
            raise ValueError("tol must be None or >= 0, got %r" % (self.tol,))
        fraction = as_float(self.validation_fraction, "validation_fraction")
        if not 0.0 < fraction < 1.0:
            raise ValueError("validation_fraction must be in (0, 1), got %r" % (fraction,))
        try:
            check_random_state(self.random_state)
        except ValueError:
            raise ValueError("random_state must be None, an int in [0, 2**32 - 1] or a numpy "
                             "RandomState, got %r" % (self.random_state,)) from None
        if self.backend is not None:
            _backends._check_name(self.backend, "backend")

    def _validation_split_fits(self, n_rows, classes):
        """ValueError naming validation_fraction when early stopping's split of
        ``n_rows`` rows (stratified by ``classes``: (labels, counts), or None)
        cannot be made."""
        fraction = self.validation_fraction
        n_val = int(math.ceil(fraction * n_rows))
        n_train = n_rows - n_val
        name = type(self).__name__
        if n_train < 1:
            raise ValueError("%s: validation_fraction=%r holds out all %d rows for early stopping, "
                             "leaving none to train on: lower it" % (name, fraction, n_rows))
        if classes is None:
            return
        labels, counts = classes
        if counts.min() < 2:
            rare = labels[counts.argmin()].item()
            raise ValueError(
                "%s: early_stopping holds out a stratified validation split, which needs two "
                "rows or more of each class; class %r has %d" % (name, rare, counts.min()))
        if n_val < len(labels) or n_train < len(labels):
            raise ValueError(
                "%s: validation_fraction=%r of %d rows holds out %d rows for early stopping and "
                "trains on %d, but a stratified split needs at least one row of each of the %d "
                "classes in both: %s validation_fraction"
                % (name, fraction, n_rows, n_val, n_train, len(labels),
                   "raise" if n_val < len(labels) else "lower"))

    # -- building and training ---------------------------------------------
    def _sizes(self, n_outputs):
        hidden = self.hidden_layer_sizes
        if not hasattr(hidden, "__iter__"):
            hidden = [hidden]
        return [self.n_features_in_] + list(hidden) + [n_outputs]

    def _seed(self):
        # An int seed drawn from random_state, as scikit-learn's own estimators
        # do: an int gives the same network every fit, a RandomState moves on.
        return int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))

    def _new_network(self, n_outputs, seed=None):
        seed = self._seed() if seed is None else seed
        output_activation, loss = self._output(n_outputs)
        activation = self.activation
        if isinstance(activation, str):
            activation = _MLP_ACTIVATIONS.get(activation, activation)
        self.network_ = Network(
            self._sizes(n_outputs), seed=seed, backend=self.backend, activation=activation,
            output_activation=output_activation, loss=loss, init=self.init,
        )
        self.loss_curve_ = []
        self.validation_loss_curve_ = []
        self.validation_scores_ = None
        self.n_iter_ = 0
        self.t_ = 0
        return seed

    # -- scikit-learn MLP's fitted attributes, read from network_
    @property
    def coefs_(self):
        """Weight matrices as MLP's: coefs_[l] has shape (n_in, n_out)."""
        return [np.array(W, dtype=np.float64).reshape(len(W), -1).T.copy()
                for W in self.network_.weights]

    @property
    def intercepts_(self):
        return [np.array(b, dtype=np.float64) for b in self.network_.biases]

    @property
    def n_layers_(self):
        return len(self.network_.sizes)

    @property
    def n_outputs_(self):
        return self.network_.sizes[-1]

    @property
    def out_activation_(self):
        act = self.network_.activations[-1]
        return _MLP_NAMES.get(act, act)

    @property
    def best_loss_(self):
        """The lowest training loss (None with early stopping, as MLP)."""
        if getattr(self, "validation_scores_", None) is not None or not self.loss_curve_:
            return None
        return min(self.loss_curve_)

    @property
    def best_validation_score_(self):
        """The highest of ``validation_scores_`` (None without early stopping),
        as MLP: NaN scores never count as the best."""
        scores = getattr(self, "validation_scores_", None)
        if scores is None:
            return None
        best = -np.inf
        for score in scores:
            if score > best:
                best = score
        return best

    def _sample_weight(self, X, y, sample_weight):
        """None (every row weighs the same), or float64 weights: sample_weight
        times the class weights; negative or non-finite ones are refused."""
        class_weight = getattr(self, "class_weight", None)
        if sample_weight is None and class_weight is None:
            return None
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X, dtype=np.float64,
                                                 ensure_non_negative=True)
            if not np.all(np.isfinite(sample_weight)):
                raise ValueError("sample_weight must be finite")
        if isinstance(class_weight, dict):
            known = set(self.classes_.tolist())
            unknown = [label for label in class_weight if label not in known]
            if unknown:
                raise ValueError("%s: class_weight names labels that are not classes of y %r: %r"
                                 % (type(self).__name__, list(self.classes_), unknown))
        if class_weight is not None:
            cw = compute_sample_weight(class_weight, y)
            sample_weight = cw if sample_weight is None else sample_weight * cw
        if not sample_weight.sum() > 0.0:
            raise ValueError("sample_weight sums to 0: at least one weight must be positive")
        return np.ascontiguousarray(sample_weight, dtype=np.float64)

    def _train(self, X, T, epochs, validation=None, converge=False, sample_weight=None,
               scoring=None):
        """``scoring``: (X, y, sample weights or None) of the validation rows,
        scored after every epoch into ``validation_scores_``."""
        scores = []
        history = self.network_.train(
            X, T, epochs=epochs, learning_rate=self.learning_rate, optimizer=self.optimizer,
            batch_size=self.batch_size, shuffle=bool(self.shuffle), scale=bool(self.scale),
            validation_data=validation, sample_weight=sample_weight,
            early_stopping=self.n_iter_no_change if validation is not None else False,
            callback=self._callback(converge and validation is None, scoring, scores),
        )
        self.loss_curve_.extend(history)
        self.validation_loss_curve_.extend(history.val_loss)
        if scoring is not None:
            # only now: a fit that fails leaves them as it leaves loss_curve_
            self.validation_scores_ = (self.validation_scores_ or []) + scores
        self.n_iter_ += len(history)
        self.t_ = getattr(self, "t_", 0) + len(history) * len(X)
        if converge and len(history) == epochs and not history.stopped_early \
                and not getattr(self, "_stopped", False):
            warnings.warn("%s: the %d epochs ran out before training converged; raise epochs"
                          % (type(self).__name__, epochs), ConvergenceWarning)
        return self

    def _fit(self, X, y, sample_weight=None):
        sw = self._sample_weight(X, y, sample_weight)
        T = self._encode_targets(y)
        seed = self._seed()
        validation = scoring = None
        if self.early_stopping:
            stratify = y if isinstance(self, ClassifierMixin) and np.ndim(y) == 1 else None
            self._validation_split_fits(
                len(X), None if stratify is None else np.unique(stratify, return_counts=True))
            parts = (X, y, T) if sw is None else (X, y, T, sw)
            try:
                split = train_test_split(*parts, test_size=self.validation_fraction,
                                         random_state=seed, stratify=stratify)
            except ValueError as exc:
                raise ValueError("%s: early_stopping cannot hold out validation_fraction=%r of "
                                 "these %d rows" % (type(self).__name__, self.validation_fraction,
                                                    len(X))) from exc
            X, T = split[0], split[4]
            validation = (split[1], split[5])
            scoring = (split[1], split[3], None)
            if sw is not None:
                sw, sw_val = split[6], split[7]
                if sw.sum() > 0.0 and sw_val.sum() > 0.0:
                    validation = validation + (sw_val,)
                    scoring = (split[1], split[3], sw_val)
        net = getattr(self, "network_", None)
        if not (self.warm_start and net is not None and net.sizes == self._sizes(T.shape[1])):
            self._new_network(T.shape[1], seed)  # else warm start: train the last fit's network
        return self._train(X, T, self.epochs, validation, converge=True, sample_weight=sw,
                           scoring=scoring)

    def _validation_score(self, X, y, sample_weight):
        """The score (accuracy or R²) of the network as it is now on validation
        rows, as MLP's: NaN when some prediction is not finite."""
        out = self.network_.predict(X, as_numpy=True)
        if not np.all(np.isfinite(out)):
            return float("nan")
        return float(self._score_function(y, self._predictions(out), sample_weight=sample_weight))

    def _callback(self, converge, scoring=None, scores=None):
        """The training callback: the convergence rule, the validation score
        of each epoch appended to ``scores`` (with ``scoring``), and with
        ``verbose`` the lines per epoch MLP prints (the only printing plainnet
        does)."""
        rule = self._convergence() if converge else None
        if not self.verbose and scoring is None:
            return None if rule is None else _training.OwnCallback(rule)
        first = self.n_iter_

        def callback(epoch, loss):
            if self.verbose:
                print("Iteration %d, loss = %.8f" % (first + epoch + 1, loss))
            if scoring is not None:
                scores.append(self._validation_score(*scoring))
                if self.verbose:
                    print("Validation score: %f" % scores[-1])
            return True if rule is None else rule(epoch, loss)
        return _training.OwnCallback(callback)

    def _convergence(self):
        """A training callback that stops, as scikit-learn's MLP does, once the
        loss has not improved by ``tol`` for more than ``n_iter_no_change`` epochs."""
        if self.tol is None:
            return None
        best, stalled = float("inf"), 0
        self._stopped = False

        def callback(epoch, loss):
            nonlocal best, stalled
            stalled = stalled + 1 if loss > best - self.tol else 0
            best = min(best, loss)
            if stalled > self.n_iter_no_change:
                self._stopped = True
                return False
            return True
        return callback

    def _outputs(self, X):
        check_is_fitted(self, "network_")
        X = _validate_data(self, X, reset=False)
        return self.network_.predict(X, as_numpy=True)

    # -- pickling: a Network holds a lock and a backend core, so it travels
    # -- as its model-file dict (weights, scaler and optimizer state, exactly)
    def __getstate__(self):
        state = dict(super().__getstate__())
        if "network_" in state:
            state["network_"] = state["network_"].to_dict()
        return state

    def __setstate__(self, state):
        state = dict(state)
        if "network_" in state:
            state["network_"] = Network.from_dict(state["network_"], backend=state.get("backend"))
        super().__setstate__(state)


class NetClassifier(ClassifierMixin, _NetEstimator):
    """A plainnet network as a scikit-learn classifier.

    Two classes: one sigmoid output trained with binary cross-entropy (the
    probability of ``classes_[1]``).  More classes: a softmax output layer
    with one neuron per class and categorical cross-entropy.

    Parameters (defaults chosen to train small tabular problems in a few
    seconds on the pure-Python backend):

    hidden_layer_sizes  (32,): widths of the hidden layers; () for none.
    activation          "sigmoid": of the hidden layers (any of %(hidden)s).
    optimizer           "adam" ("sgd", "momentum" or a plainnet Optimizer).
    learning_rate       0.01.
    epochs              30: the most passes over the data in ``fit``
                        (``partial_fit`` makes one).  With Adam and
                        mini-batches this fits small tabular problems; raise
                        it for harder ones.
    tol, n_iter_no_change
                        1e-4, 10: ``fit`` stops once the training loss has
                        not improved by ``tol`` for more than
                        ``n_iter_no_change`` epochs, as scikit-learn's MLP
                        does; tol=None trains all ``epochs``.
    batch_size          32: rows per gradient step.
    shuffle             True: a new order every epoch, from the network's seed.
    scale               False: True standardises inputs with a scaler learned
                        on the training rows and kept in ``network_``.
    init                "xavier" ("normal", "he").
    early_stopping      False: True holds out ``validation_fraction`` of the
                        rows (stratified) and stops instead after
                        ``n_iter_no_change`` epochs without a lower
                        validation loss, keeping the best weights.
    random_state        None, an int or a numpy RandomState: seeds the initial
                        weights, the shuffling and the validation split.
    backend             None (plainnet's default), "c" or "python".
    verbose             False: True prints each epoch's loss, as MLP does.
    warm_start          False: True makes ``fit`` go on training the network
                        of the last fit (when its shape still fits the data).
    class_weight        None, "balanced" or {class: weight}: each row's weight
                        is multiplied by its class's (``fit``; ``partial_fit``
                        takes None or a dict).

    The parameters are checked when ``fit`` or ``partial_fit`` starts: a value
    that cannot train raises ValueError or TypeError naming the estimator and
    the parameter ("NetClassifier: validation_fraction must be in (0, 1), got
    1.5"), and a call that raises either leaves the estimator as it was.

    ``fit(X, y, sample_weight=None)`` and ``partial_fit`` take sample weights
    (finite, >= 0): each batch steps on the weighted mean gradient (see
    ``plainnet.Network.train``), and scikit-learn's metadata routing passes
    them (``set_fit_request(sample_weight=True)``).

    Fitted attributes: ``classes_``, ``n_features_in_`` (and
    ``feature_names_in_`` for DataFrames), ``network_``, ``loss_curve_`` (the
    training loss of every epoch), ``validation_loss_curve_`` and ``n_iter_``
    (epochs trained), and scikit-learn MLP's ``coefs_``, ``intercepts_``,
    ``n_layers_``, ``n_outputs_``, ``out_activation_``, ``t_``,
    ``best_loss_`` (the lowest training loss; None with early stopping),
    ``validation_scores_`` (with early stopping: the accuracy on the
    validation rows after each epoch, weighted when ``sample_weight`` is
    given; else None) and ``best_validation_score_`` (their highest; else
    None).  Early stopping itself, and the weights kept, follow the
    validation *loss*: the weights kept are those of the lowest validation
    loss, whose score need not be the highest.
    """

    _score_function = staticmethod(accuracy_score)

    def _output(self, n_outputs):
        if n_outputs == 1 or getattr(self, "_multilabel", False):
            return "sigmoid", "binary_crossentropy"
        return "softmax", "categorical_crossentropy"

    def _encode_targets(self, y):
        """Class labels as network targets: 0/1 for two classes, else one-hot
        rows; a multi-label indicator matrix as it is."""
        if getattr(self, "_multilabel", False):
            return np.ascontiguousarray(y, dtype=np.float64)
        index = np.searchsorted(self.classes_, y)
        if len(self.classes_) == 2:
            return index.astype(np.float64).reshape(-1, 1)
        T = np.zeros((len(index), len(self.classes_)))
        T[np.arange(len(index)), index] = 1.0
        return T

    def _set_classes(self, classes):
        classes = np.unique(classes)
        if len(classes) < 2:
            raise ValueError(
                "%s needs at least 2 classes, got %d class: %r"
                % (type(self).__name__, len(classes), list(classes)))
        self.classes_ = classes

    def __init__(self, hidden_layer_sizes=(32,), activation="sigmoid", optimizer="adam",
                 learning_rate=0.01, epochs=30, batch_size=32, shuffle=True, scale=False,
                 init="xavier", tol=1e-4, n_iter_no_change=10, early_stopping=False,
                 validation_fraction=0.1, random_state=None, backend=None, verbose=False,
                 warm_start=False, class_weight=None):
        super().__init__(
            hidden_layer_sizes=hidden_layer_sizes, activation=activation, optimizer=optimizer,
            learning_rate=learning_rate, epochs=epochs, batch_size=batch_size, shuffle=shuffle,
            scale=scale, init=init, tol=tol, n_iter_no_change=n_iter_no_change,
            early_stopping=early_stopping, validation_fraction=validation_fraction,
            random_state=random_state, backend=backend, verbose=verbose, warm_start=warm_start)
        self.class_weight = class_weight

    def _check_each_param(self):
        super()._check_each_param()
        class_weight = self.class_weight
        if class_weight is None or (isinstance(class_weight, str) and class_weight == "balanced"):
            return
        if not isinstance(class_weight, dict):
            raise TypeError("class_weight must be None, 'balanced' or a dict {class: weight}, "
                            "got %r" % (class_weight,))
        for label, weight in class_weight.items():
            if not as_float(weight, "class_weight[%r]" % (label,)) >= 0.0:
                raise ValueError("class_weight[%r] must be >= 0, got %r" % (label, weight))

    @_bad_input_keeps_state
    def fit(self, X, y, sample_weight=None):
        """Train a new network on X and the class labels y for ``epochs`` epochs;
        ``sample_weight`` (and ``class_weight``) weigh each row's loss."""
        X, y = _validate_data(self, X, y, multi_output=True)
        check_classification_targets(y)
        self._multilabel = type_of_target(y) == "multilabel-indicator"
        if self._multilabel:
            if self.class_weight is not None:
                raise ValueError("class_weight is not supported for multi-label y")
            self.classes_ = np.arange(y.shape[1])
        else:
            if np.ndim(y) == 2 and y.shape[1] == 1:
                y = column_or_1d(y, warn=True)
            if np.ndim(y) != 1:
                raise ValueError("y should be 1-D class labels or a 2-D 0/1 multi-label "
                                 "indicator matrix, got shape %r" % (np.shape(y),))
            self._set_classes(y)
        return self._fit(X, y, sample_weight)

    @_bad_input_keeps_state
    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """One epoch on X, y; the first call builds the network and needs ``classes``."""
        first = not hasattr(self, "network_")
        X, y = _validate_data(self, X, y, reset=first)
        check_classification_targets(y)
        if first:
            self._multilabel = False  # partial_fit takes class labels only
            if classes is None:
                raise ValueError("classes must be passed on the first call to partial_fit")
            self._set_classes(classes)
        elif classes is not None and not np.array_equal(np.unique(classes), self.classes_):
            raise ValueError("classes=%r differs from classes_=%r of the first call to partial_fit"
                             % (list(classes), list(self.classes_)))
        unknown = np.setdiff1d(y, self.classes_)
        if len(unknown):
            raise ValueError("y holds labels not in classes_ %r: %r" % (list(self.classes_), list(unknown)))
        if self.class_weight == "balanced":
            raise ValueError("class_weight='balanced' is not supported for partial_fit: "
                             "compute the weights once (sklearn.utils.class_weight."
                             "compute_class_weight) and pass them as a dict")
        sw = self._sample_weight(X, y, sample_weight)
        T = self._encode_targets(y)
        if first:
            self._new_network(T.shape[1])
        return self._train(X, T, 1, sample_weight=sw)

    def predict_proba(self, X):
        """Class probabilities, one column per class in ``classes_`` order
        (multi-label: each label's probability, shape (n, labels), as MLP)."""
        return self._proba(self._outputs(X))

    def _proba(self, out):
        if getattr(self, "_multilabel", False):
            return out
        if len(self.classes_) == 2:
            return np.hstack([1.0 - out, out])
        return out

    def predict_log_proba(self, X):
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def predict(self, X):
        """The most probable class of each row."""
        return self._predictions(self._outputs(X))

    def _predictions(self, out):
        """Class labels from the network's outputs."""
        proba = self._proba(out)
        if getattr(self, "_multilabel", False):
            return (proba > 0.5).astype(int)
        return self.classes_[np.argmax(proba, axis=1)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


NetClassifier.__doc__ %= {"hidden": ", ".join(repr(a) for a in _registry.hidden_activations())}


class NetRegressor(RegressorMixin, _NetEstimator):
    """A plainnet network as a scikit-learn regressor.

    A linear output layer (one neuron per target column) trained on mean
    squared error.  ``y`` may be 1-D (``predict`` returns 1-D) or 2-D for
    several targets.  The parameters and fitted attributes are those of
    :class:`NetClassifier` (no ``classes_``; ``validation_scores_`` holds the
    R² of each epoch, as ``score`` gives it).  Targets are used as given:
    standardise large ones (e.g. with ``TransformedTargetRegressor``).
    """

    _score_function = staticmethod(r2_score)

    def _output(self, n_outputs):
        return "linear", "mse"

    def _encode_targets(self, y):
        return np.ascontiguousarray(y, dtype=np.float64).reshape(len(y), -1)

    @_bad_input_keeps_state
    def fit(self, X, y, sample_weight=None):
        """Train a new network on X and y for ``epochs`` epochs; ``sample_weight``
        weighs each row's loss."""
        X, y = _validate_data(self, X, y, multi_output=True, y_numeric=True)
        self._y_ndim = np.ndim(y)
        return self._fit(X, y, sample_weight)

    @_bad_input_keeps_state
    def partial_fit(self, X, y, sample_weight=None):
        """One epoch on X, y; the first call builds the network."""
        first = not hasattr(self, "network_")
        X, y = _validate_data(self, X, y, reset=first, multi_output=True, y_numeric=True)
        T = self._encode_targets(y)
        if first:
            self._y_ndim = np.ndim(y)
            self._new_network(T.shape[1])
        elif T.shape[1] != self.network_.sizes[-1]:
            raise ValueError("y has %d columns, but the network was built for %d"
                             % (T.shape[1], self.network_.sizes[-1]))
        return self._train(X, T, 1, sample_weight=self._sample_weight(X, y, sample_weight))

    def predict(self, X):
        return self._predictions(self._outputs(X))

    def _predictions(self, out):
        return out.ravel() if out.shape[1] == 1 else out  # (n, 1) targets too, as MLPRegressor

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        return tags

    def _more_tags(self):  # scikit-learn < 1.6
        return {"multioutput": True}


def register_skl2onnx():
    """Teach skl2onnx to convert NetClassifier and NetRegressor (needs skl2onnx).

    Call it once before ``skl2onnx.to_onnx(pipeline, X)``; pipelines holding
    either estimator then convert to standard ONNX operators (opset 17), with
    the network's own scaler included.  A NetClassifier gives skl2onnx's
    usual ``label`` and ``probabilities`` outputs (pass
    ``options={"zipmap": False}`` for a plain probability tensor), a
    NetRegressor its predictions.  The dtype is the input's: float64 data
    gives a float64 model.
    """
    from ._onnx import register_skl2onnx as register
    register(NetClassifier, NetRegressor)
