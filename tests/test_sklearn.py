"""plainnet.sklearn: NetClassifier and NetRegressor as scikit-learn estimators."""

import pickle
import subprocess
import sys

import pytest

np = pytest.importorskip("numpy")
pytest.importorskip("sklearn", reason="scikit-learn is not installed")

from sklearn.datasets import load_digits  # noqa: E402
from sklearn.model_selection import GridSearchCV, StratifiedKFold  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils.estimator_checks import check_estimator  # noqa: E402

import plainnet as pn  # noqa: E402
from plainnet.sklearn import NetClassifier, NetRegressor  # noqa: E402
from conftest import PACKAGE_PARENT

RNG = np.random.RandomState(0)
X = RNG.normal(size=(40, 3))
Y_BINARY = np.where(X[:, 0] + X[:, 1] > 0, "yes", "no")
Y_THREE = np.digitize(X[:, 0], [-0.5, 0.5])  # classes 0, 1, 2
Y_REAL = X[:, 0] - 2.0 * X[:, 2]


def _seed(random_state):
    """The Network seed the estimators derive from an int random_state."""
    return int(np.random.RandomState(random_state).randint(np.iinfo(np.int32).max))


@pytest.mark.parametrize("Estimator", [NetClassifier, NetRegressor])
def test_check_estimator_passes(Estimator):
    # No expected failures: every check applies and passes with the defaults.
    check_estimator(Estimator())


def test_pipeline_and_grid_search_on_digits():
    X_digits, y_digits = load_digits(return_X_y=True)
    pipe = make_pipeline(StandardScaler(),
                         NetClassifier(epochs=5, learning_rate=0.03, random_state=0))
    search = GridSearchCV(pipe, {"netclassifier__hidden_layer_sizes": [(2,), (16,)]},
                          cv=StratifiedKFold(2, shuffle=True, random_state=0))
    search.fit(X_digits, y_digits)
    assert search.best_params_ == {"netclassifier__hidden_layer_sizes": (16,)}
    assert search.best_score_ > 0.9
    assert search.best_estimator_.score(X_digits, y_digits) > 0.9


def test_fit_trains_the_network_plain_train_would(backend):
    # The oracle: the same Network built and trained by hand, bit for bit.
    reg = NetRegressor(hidden_layer_sizes=(5, 4), activation="tanh", epochs=7, tol=None,
                       random_state=3, backend=backend).fit(X, Y_REAL)
    net = pn.Network([3, 5, 4, 1], seed=_seed(3), backend=backend, activation="tanh",
                     output_activation="linear", init="xavier")
    history = net.train(X.tolist(), Y_REAL.tolist(), epochs=7, learning_rate=0.01,
                        optimizer="adam", batch_size=32, shuffle=True)
    assert reg.loss_curve_ == list(history)
    assert reg.n_iter_ == 7
    assert reg.network_.weights == net.weights
    assert reg.predict(X).tolist() == [row[0] for row in net.predict(X.tolist())]


def test_binary_classifier_is_one_sigmoid_output(backend):
    clf = NetClassifier(epochs=20, random_state=0, backend=backend).fit(X, Y_BINARY)
    assert clf.classes_.tolist() == ["no", "yes"]
    assert clf.network_.sizes == [3, 32, 1]
    assert clf.network_.activations == ["sigmoid", "sigmoid"]
    assert clf.network_.loss_name == "binary_crossentropy"
    p = np.array(clf.network_.predict(X))[:, 0]
    proba = clf.predict_proba(X)
    assert proba[:, 1].tolist() == p.tolist()
    assert proba[:, 0].tolist() == (1.0 - p).tolist()
    assert clf.predict(X).tolist() == np.where(p > 0.5, "yes", "no").tolist()
    assert clf.score(X, Y_BINARY) > 0.9


def test_multiclass_classifier_is_softmax(backend):
    clf = NetClassifier(hidden_layer_sizes=8, activation="relu", epochs=20, random_state=0,
                        backend=backend).fit(X, Y_THREE)
    assert clf.network_.sizes == [3, 8, 3]
    assert clf.network_.activations == ["relu", "softmax"]
    assert clf.network_.loss_name == "categorical_crossentropy"
    proba = clf.predict_proba(X)
    assert proba.tolist() == clf.network_.predict(X)
    assert clf.predict(X).tolist() == proba.argmax(axis=1).tolist()
    assert clf.n_features_in_ == 3


def test_one_class_is_refused():
    with pytest.raises(ValueError, match="at least 2 classes, got 1 class"):
        NetClassifier().fit(X, np.zeros(len(X)))


def test_no_hidden_layers_and_several_regression_targets():
    Y2 = np.column_stack([Y_REAL, -Y_REAL])
    reg = NetRegressor(hidden_layer_sizes=(), epochs=3, random_state=0).fit(X, Y2)
    assert reg.network_.sizes == [3, 2]
    assert reg.network_.activations == ["linear"]
    assert reg.predict(X).shape == (40, 2)
    assert NetRegressor(epochs=1).fit(X, Y_REAL).predict(X).shape == (40,)


def test_random_state_int_repeats_and_random_state_object_moves_on():
    a = NetRegressor(epochs=2, random_state=5).fit(X, Y_REAL)
    b = NetRegressor(epochs=2, random_state=5).fit(X, Y_REAL)
    assert a.network_.weights == b.network_.weights
    shared = NetRegressor(epochs=2, random_state=np.random.RandomState(5))
    first = shared.fit(X, Y_REAL).network_.weights
    assert first == a.network_.weights  # the first draw of RandomState(5)
    assert shared.fit(X, Y_REAL).network_.weights != first


def test_tol_stops_like_scikit_learns_mlp():
    # A tol no epoch can beat: the first epoch sets the best loss, the next
    # n_iter_no_change + 1 fail to improve on it, and fitting stops.
    reg = NetRegressor(epochs=100, tol=1e9, n_iter_no_change=4, random_state=0).fit(X, Y_REAL)
    assert reg.n_iter_ == len(reg.loss_curve_) == 6


def test_early_stopping_uses_a_validation_split():
    clf = NetClassifier(epochs=50, early_stopping=True, validation_fraction=0.25,
                        n_iter_no_change=3, learning_rate=0.5, random_state=0).fit(X, Y_THREE)
    assert len(clf.validation_loss_curve_) == clf.n_iter_ == len(clf.loss_curve_)
    assert clf.n_iter_ < 50


def test_partial_fit_continues_where_fit_would(backend):
    whole = NetClassifier(epochs=3, tol=None, random_state=2, backend=backend).fit(X, Y_THREE)
    parts = NetClassifier(random_state=2, backend=backend)
    parts.partial_fit(X, Y_THREE, classes=[0, 1, 2])
    parts.partial_fit(X, Y_THREE)
    parts.partial_fit(X, Y_THREE, classes=[2, 1, 0])
    assert parts.n_iter_ == 3
    assert parts.loss_curve_ == whole.loss_curve_
    assert parts.network_.weights == whole.network_.weights


def test_partial_fit_checks_classes():
    clf = NetClassifier()
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        clf.partial_fit(X, Y_THREE)
    clf.partial_fit(X[:5], Y_THREE[:5], classes=[0, 1, 2])  # not every class in the batch
    with pytest.raises(ValueError, match="differs from classes_"):
        clf.partial_fit(X, Y_THREE, classes=[0, 1])
    with pytest.raises(ValueError, match="labels not in classes_"):
        clf.partial_fit(X, Y_THREE + 1)
    with pytest.raises(ValueError, match="features"):
        clf.partial_fit(X[:, :2], Y_THREE)


def test_regressor_partial_fit_keeps_the_target_width():
    reg = NetRegressor().partial_fit(X, Y_REAL)
    with pytest.raises(ValueError, match="y has 2 columns"):
        reg.partial_fit(X, np.column_stack([Y_REAL, Y_REAL]))


def test_pickle_keeps_predictions_and_training_state(backend):
    clf = NetClassifier(hidden_layer_sizes=(4,), epochs=3, scale=True, random_state=1,
                        backend=backend).fit(X, Y_BINARY)
    copy = pickle.loads(pickle.dumps(clf))
    assert copy.network_.backend == backend
    assert copy.predict_proba(X).tolist() == clf.predict_proba(X).tolist()
    assert copy.network_.scaler is not None
    clf.partial_fit(X, Y_BINARY)
    copy.partial_fit(X, Y_BINARY)  # Adam's moments and the shuffle state came along
    assert copy.network_.weights == clf.network_.weights


def test_network_is_a_plain_network_to_save(tmp_path):
    clf = NetClassifier(epochs=2, random_state=0).fit(X, Y_THREE)
    clf.network_.save(str(tmp_path / "m.json"))
    assert pn.load(str(tmp_path / "m.json")).predict(X) == clf.predict_proba(X).tolist()


def test_without_sklearn_the_import_error_says_what_to_install():
    package_parent = PACKAGE_PARENT
    code = ("import sys; sys.path.insert(0, %r); sys.modules['sklearn'] = None\n"
            "try:\n    import plainnet.sklearn\n"
            "except ImportError as exc:\n    print(exc)\n" % package_parent)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert "pip install scikit-learn" in result.stdout, result.stderr


@pytest.mark.parametrize("verbose", [False, True])
def test_fit_reads_a_float64_array_in_place(backend, verbose, capsys):
    """The estimators' own training callback (the convergence rule, and the
    verbose lines) changes none of X, so fit trains on a float64 X in place,
    as Network.train does without a callback: with C, the peak of Python
    allocations during fit stays far below X's size.  Before, it held a copy
    of X, and the check of the cross-entropy targets turned them into lists
    (about 380 KB here).  The Python backend turns rows into lists for its
    arithmetic."""
    import warnings
    tracemalloc = pytest.importorskip("tracemalloc", reason="this interpreter has no tracemalloc (PyPy)")
    rng = np.random.RandomState(0)
    X = rng.uniform(-1.0, 1.0, size=(4000, 60))  # 1,920,000 bytes
    y = (X[:, 0] > 0).astype(int)
    clf = NetClassifier(hidden_layer_sizes=4, epochs=2, batch_size=32, random_state=0,
                        backend=backend, verbose=verbose)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # 2 epochs do not converge
        tracemalloc.start()
        try:
            clf.fit(X, y)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert len(clf.loss_curve_) == 2
    if backend == "c":
        assert peak < X.nbytes // 4, peak
    assert ("Iteration 2, loss = %.8f" % clf.loss_curve_[1] in capsys.readouterr().out) == verbose
