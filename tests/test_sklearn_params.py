"""Parameter validation of plainnet.sklearn (issue 17): every constructor
parameter of NetClassifier and NetRegressor, given a value that cannot train,
makes fit (and partial_fit) raise a ValueError or TypeError whose message
starts with the estimator's name and names the parameter, in plainnet's
words (never train_test_split's ``test_size``), and leaves the estimator's
attributes as they were."""

import copy
import inspect
import warnings

import pytest

np = pytest.importorskip("numpy")
pytest.importorskip("sklearn", reason="scikit-learn is not installed")

from sklearn.exceptions import ConvergenceWarning  # noqa: E402

from plainnet.sklearn import NetClassifier, NetRegressor  # noqa: E402

RNG = np.random.RandomState(3)
X = RNG.normal(size=(40, 3))
Y_THREE = np.digitize(X[:, 0], [-0.5, 0.5])  # classes 0, 1, 2
Y_REAL = X[:, 0] - 2.0 * X[:, 2]

# parameter: [(bad value, exception type)]; every constructor parameter is here
BAD = {
    "hidden_layer_sizes": [((0,), ValueError), ((4, -1), ValueError), (("8",), TypeError),
                           ("32", TypeError), (2.5, TypeError), (None, TypeError)],
    "activation": [("swish", ValueError), ("softmax", ValueError), (None, TypeError),
                   (1, TypeError)],
    "optimizer": [("rmsprop", ValueError), (3, TypeError)],
    "learning_rate": [(0.0, ValueError), (-0.1, ValueError), (float("nan"), ValueError),
                      ("0.1", TypeError)],
    "epochs": [(0, ValueError), (2.0, TypeError), (True, TypeError)],
    "batch_size": [(0, ValueError), (8.5, TypeError)],
    "shuffle": [("yes", TypeError), (1, TypeError)],
    "scale": [(None, TypeError)],
    "init": [("uniform", ValueError), (0, TypeError)],
    "tol": [(-1e-4, ValueError), ("small", TypeError)],
    "n_iter_no_change": [(0, ValueError), (1.5, TypeError)],
    "early_stopping": [("no", TypeError)],
    "validation_fraction": [(1.5, ValueError), (0.0, ValueError), (1.0, ValueError),
                            ("0.1", TypeError)],
    "random_state": [(-1, ValueError), ("seed", ValueError), (2 ** 40, ValueError)],
    "backend": [("fortran", ValueError), (1, TypeError)],
    "verbose": [("loud", TypeError), (-1, TypeError)],
    "warm_start": [("no", TypeError)],
    "class_weight": [("even", TypeError), ([1, 2], TypeError), ({0: -1.0}, ValueError),
                     ({0: "x"}, TypeError), ({7: 2.0}, ValueError)],
}
CASES = [(Est, y, name, value, kind)
         for Est, y in ((NetClassifier, Y_THREE), (NetRegressor, Y_REAL))
         for name, values in BAD.items() if name in inspect.signature(Est).parameters
         for value, kind in values]


def test_the_table_covers_every_parameter():
    for Est in (NetClassifier, NetRegressor):
        assert set(inspect.signature(Est).parameters) <= set(BAD)
    assert set(BAD) == set(inspect.signature(NetClassifier).parameters)


def _state(est):
    state = {k: copy.deepcopy(v) for k, v in vars(est).items() if k != "network_"}
    if "network_" in vars(est):
        state["network_"] = (est.network_, est.network_.weights, est.network_.biases)
    return state


def _fitted(Est, y):
    est = Est(hidden_layer_sizes=(4,), epochs=2, tol=None, random_state=0)
    with pytest.warns(ConvergenceWarning):
        return est.fit(X, y)


def _assert_refused(call, est, name, kind):
    before = _state(est)
    with pytest.raises(kind) as caught:
        call()
    message = str(caught.value)
    assert message.startswith(type(est).__name__ + ": ")
    assert name in message
    assert "test_size" not in message and "train_size" not in message
    assert _state(est).keys() == before.keys()
    for key, value in before.items():
        if key == "network_":
            assert _state(est)[key][0] is value[0] and _state(est)[key][1:] == value[1:]
        elif isinstance(value, np.ndarray):
            assert np.array_equal(getattr(est, key), value)
        else:
            assert getattr(est, key) is value or getattr(est, key) == value, key
    return message


@pytest.mark.parametrize("Est, y, name, value, kind", CASES,
                         ids=["%s-%s-%r" % (c[0].__name__, c[2], c[3]) for c in CASES])
def test_a_bad_parameter_is_named_and_changes_nothing(Est, y, name, value, kind):
    fresh = Est(**{name: value})
    _assert_refused(lambda: fresh.fit(X, y), fresh, name, kind)
    assert not [k for k in vars(fresh) if k.endswith("_")]  # still unfitted
    fitted = _fitted(Est, y).set_params(**{name: value})
    _assert_refused(lambda: fitted.fit(X, y), fitted, name, kind)
    partial = Est(**{name: value})
    args = {"classes": [0, 1, 2]} if Est is NetClassifier else {}
    if name == "class_weight" and value == {7: 2.0}:
        return  # partial_fit is given classes: 7 is checked against them below
    _assert_refused(lambda: partial.partial_fit(X, y, **args), partial, name, kind)


def test_class_weight_labels_are_checked_against_the_classes():
    est = NetClassifier(class_weight={0: 1.0, 7: 2.0})
    message = _assert_refused(lambda: est.partial_fit(X, Y_THREE, classes=[0, 1, 2]), est,
                              "class_weight", ValueError)
    assert "[7]" in message


@pytest.mark.parametrize("fraction, n_rows, words", [
    (0.99, 40, "leaving none to train on"),       # train_test_split: "train set will be empty"
    (0.05, 40, "raise validation_fraction"),      # 2 validation rows for 3 classes
    (0.95, 40, "lower validation_fraction"),      # 2 training rows for 3 classes
])
def test_an_impossible_validation_split_names_validation_fraction(fraction, n_rows, words):
    clf = NetClassifier(early_stopping=True, validation_fraction=fraction)
    message = _assert_refused(lambda: clf.fit(X[:n_rows], Y_THREE[:n_rows]), clf,
                              "validation_fraction", ValueError)
    assert words in message
    fitted = _fitted(NetClassifier, Y_THREE).set_params(early_stopping=True,
                                                        validation_fraction=fraction)
    _assert_refused(lambda: fitted.fit(X, Y_THREE), fitted, "validation_fraction", ValueError)
    reg = NetRegressor(early_stopping=True, validation_fraction=0.99)
    _assert_refused(lambda: reg.fit(X, Y_REAL), reg, "validation_fraction", ValueError)


def test_a_class_of_one_row_cannot_be_stratified():
    y = Y_THREE.copy()
    y[0] = 9
    clf = NetClassifier(early_stopping=True)
    message = _assert_refused(lambda: clf.fit(X, y), clf, "early_stopping", ValueError)
    assert "class 9 has 1" in message


def test_good_values_of_every_kind_still_fit():
    for params in ({"hidden_layer_sizes": 3}, {"hidden_layer_sizes": ()},
                   {"hidden_layer_sizes": np.array([3, 2])}, {"epochs": np.int64(2)},
                   {"learning_rate": np.float32(0.05)}, {"verbose": 0}, {"tol": None},
                   {"random_state": np.random.RandomState(0)}, {"activation": "logistic"},
                   {"shuffle": np.bool_(False)}, {"class_weight": {0: 2.0}},
                   {"class_weight": "balanced"}, {"backend": "python"},
                   {"validation_fraction": 0.3, "early_stopping": True}):
        params.setdefault("epochs", 2)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf = NetClassifier(**params).fit(X, Y_THREE)
        assert clf.n_iter_ == 2
