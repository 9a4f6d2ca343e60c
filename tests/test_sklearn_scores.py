"""validation_scores_ and best_validation_score_ of plainnet.sklearn (issue 17),
as scikit-learn's MLPClassifier and MLPRegressor define them.

The oracle: the same split (train_test_split with the estimator's seed) and
the same Network trained by hand one epoch at a time; after each epoch its
predictions on the validation rows are scored with scikit-learn's own
accuracy_score or r2_score.  The hand-trained network's validation losses
equal the estimator's, which shows the split is the estimator's."""

import warnings

import pytest

np = pytest.importorskip("numpy")
pytest.importorskip("sklearn", reason="scikit-learn is not installed")

from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.metrics import accuracy_score, r2_score  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402
from sklearn.neural_network import MLPClassifier, MLPRegressor  # noqa: E402

import plainnet as pn  # noqa: E402
from plainnet.sklearn import NetClassifier, NetRegressor  # noqa: E402

RNG = np.random.RandomState(7)
X = RNG.normal(size=(120, 4))
Y_THREE = np.array(["a", "b", "c"])[np.digitize(X[:, 0] + 0.3 * X[:, 1], [-0.4, 0.4])]
Y_REAL = np.column_stack([X[:, 0] - 2.0 * X[:, 2], X[:, 1] * X[:, 3]])
W = RNG.choice([0.5, 1.0, 3.0], size=120)


def _seed(random_state):
    """The Network seed (and split seed) the estimators derive from an int random_state."""
    return int(np.random.RandomState(random_state).randint(np.iinfo(np.int32).max))


def _by_hand(est, backend, X, y, T, output_activation, loss, predictions, score, stratify,
             sample_weight=None):
    """(validation losses, validation scores) of the estimator's network, trained
    by hand on the estimator's split one epoch at a time, for as many epochs
    as the estimator trained."""
    seed = _seed(est.random_state)
    parts = (X, y, T) if sample_weight is None else (X, y, T, sample_weight)
    split = train_test_split(*parts, test_size=est.validation_fraction, random_state=seed,
                             stratify=y if stratify else None)
    X_tr, X_val, y_val, T_tr, T_val = split[0], split[1], split[3], split[4], split[5]
    w_tr, w_val = (None, None) if sample_weight is None else (split[6], split[7])
    net = pn.Network([X.shape[1]] + list(est.hidden_layer_sizes) + [T.shape[1]], seed=seed,
                     backend=backend, activation=est.activation,
                     output_activation=output_activation, loss=loss, init=est.init)
    losses, scores = [], []
    for _ in range(est.n_iter_):
        net.train(X_tr, T_tr, epochs=1, learning_rate=est.learning_rate, optimizer="adam",
                  batch_size=est.batch_size, shuffle=True, scale=est.scale,
                  sample_weight=w_tr)
        losses.append(net.loss(X_val, T_val, sample_weight=w_val))
        out = np.array(net.predict(X_val))
        scores.append(score(y_val, predictions(out), sample_weight=w_val))
    return losses, scores


def _three_class_predictions(out):
    return np.array(["a", "b", "c"])[np.argmax(out, axis=1)]


@pytest.mark.parametrize("weighted", [False, True])
def test_classifier_scores_are_accuracy_on_the_validation_rows(backend, weighted):
    sw = W if weighted else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = NetClassifier(hidden_layer_sizes=(6,), activation="tanh", epochs=40,
                            learning_rate=0.2, scale=True, early_stopping=True,
                            validation_fraction=0.25, n_iter_no_change=4, random_state=5,
                            backend=backend).fit(X, Y_THREE, sample_weight=sw)
    T = np.eye(3)[np.searchsorted(["a", "b", "c"], Y_THREE)]
    losses, scores = _by_hand(clf, backend, X, Y_THREE, T, "softmax", "categorical_crossentropy",
                              _three_class_predictions, accuracy_score, True, sw)
    assert clf.validation_loss_curve_ == losses
    assert clf.validation_scores_ == scores
    assert len(clf.validation_scores_) == clf.n_iter_ < 40  # early stopping ended it
    assert clf.best_validation_score_ == max(scores)
    assert clf.best_loss_ is None
    assert len(set(scores)) > 1  # the scores change as the network learns


def test_regressor_scores_are_r2_on_the_validation_rows(backend):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reg = NetRegressor(hidden_layer_sizes=(8,), activation="relu", epochs=15,
                           learning_rate=0.02, early_stopping=True, validation_fraction=0.2,
                           random_state=1, backend=backend).fit(X, Y_REAL)
    losses, scores = _by_hand(reg, backend, X, Y_REAL, Y_REAL, "linear", "mse",
                              lambda out: out, r2_score, False)
    assert reg.validation_loss_curve_ == losses
    assert reg.validation_scores_ == scores
    assert reg.best_validation_score_ == max(scores)
    assert reg.best_loss_ is None
    assert scores[-1] > scores[0]


def test_without_early_stopping_as_mlp_scores_are_none_and_best_loss_is_set(backend):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        mlp = MLPClassifier(max_iter=3, random_state=0).fit(X, Y_THREE)
        mlp_reg = MLPRegressor(max_iter=3, random_state=0).fit(X, Y_REAL)
        mlp_es = MLPClassifier(max_iter=3, random_state=0, early_stopping=True).fit(X, Y_THREE)
        clf = NetClassifier(epochs=3, random_state=0, backend=backend).fit(X, Y_THREE)
        reg = NetRegressor(epochs=3, random_state=0, backend=backend).fit(X, Y_REAL)
        clf_es = NetClassifier(epochs=3, random_state=0, early_stopping=True,
                               backend=backend).fit(X, Y_THREE)
    for ours, theirs in ((clf, mlp), (reg, mlp_reg)):
        assert ours.validation_scores_ is None is theirs.validation_scores_
        assert ours.best_validation_score_ is None is theirs.best_validation_score_
        assert ours.best_loss_ == min(ours.loss_curve_)
    assert clf_es.best_loss_ is None is mlp_es.best_loss_
    assert len(clf_es.validation_scores_) == clf_es.n_iter_
    assert len(mlp_es.validation_scores_) == mlp_es.n_iter_


def test_warm_start_extends_the_scores_and_partial_fit_adds_none(backend):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = NetClassifier(epochs=2, tol=None, random_state=0, early_stopping=True,
                            warm_start=True, backend=backend)
        clf.fit(X, Y_THREE)
        first = list(clf.validation_scores_)
        clf.fit(X, Y_THREE)
    assert clf.validation_scores_[:2] == first and len(clf.validation_scores_) == 4 == clf.n_iter_
    part = NetClassifier(random_state=0, early_stopping=True, backend=backend)
    part.partial_fit(X, Y_THREE, classes=["a", "b", "c"])
    assert part.validation_scores_ is None and part.best_validation_score_ is None


def test_verbose_prints_the_validation_score_as_mlp(backend, capsys):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        MLPClassifier(max_iter=2, random_state=0, early_stopping=True, verbose=True).fit(
            X, Y_THREE)
        theirs = capsys.readouterr().out.splitlines()
        clf = NetClassifier(epochs=2, tol=None, random_state=0, early_stopping=True,
                            verbose=True, backend=backend).fit(X, Y_THREE)
        ours = capsys.readouterr().out.splitlines()
    assert [line.split(",")[0].split(":")[0] for line in ours] == \
        [line.split(",")[0].split(":")[0] for line in theirs] == \
        ["Iteration 1", "Validation score", "Iteration 2", "Validation score"]
    assert ours[1] == "Validation score: %f" % clf.validation_scores_[0]
