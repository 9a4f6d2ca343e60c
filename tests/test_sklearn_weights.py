"""Sample weights and class weights in plainnet.sklearn (issue 17): the
estimators train exactly as Network.train with the same weights, metadata
routing passes them, class_weight='balanced' is scikit-learn's own weights."""

import pytest

np = pytest.importorskip("numpy")
pytest.importorskip("sklearn", reason="scikit-learn is not installed")

import sklearn  # noqa: E402
from sklearn.model_selection import cross_validate  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils.class_weight import compute_sample_weight  # noqa: E402

import plainnet as pn  # noqa: E402
from plainnet.sklearn import NetClassifier, NetRegressor  # noqa: E402

RNG = np.random.RandomState(1)
X = RNG.normal(size=(50, 3))
Y = np.where(X[:, 0] + 0.5 * X[:, 1] > 0.6, 1, 0)  # imbalanced
Y_REAL = X[:, 0] - 2.0 * X[:, 2]
W = RNG.choice([0.0, 0.5, 1.0, 3.0], size=50)


def _seed(random_state):
    return int(np.random.RandomState(random_state).randint(np.iinfo(np.int32).max))


def test_regressor_fit_is_network_train_with_the_weights(backend):
    reg = NetRegressor(hidden_layer_sizes=(4,), epochs=5, tol=None, random_state=2,
                       backend=backend).fit(X, Y_REAL, sample_weight=W)
    net = pn.Network([3, 4, 1], seed=_seed(2), backend=backend, output_activation="linear",
                     init="xavier")
    h = net.train(X.tolist(), Y_REAL.tolist(), epochs=5, learning_rate=0.01, optimizer="adam",
                  batch_size=32, shuffle=True, sample_weight=W.tolist())
    assert reg.loss_curve_ == list(h)
    assert reg.network_.weights == net.weights
    unweighted = NetRegressor(hidden_layer_sizes=(4,), epochs=5, tol=None, random_state=2,
                              backend=backend).fit(X, Y_REAL)
    assert unweighted.network_.weights != net.weights


def test_ones_equal_no_weights_and_partial_fit_takes_weights(backend):
    a = NetClassifier(epochs=3, tol=None, random_state=0, backend=backend).fit(X, Y)
    b = NetClassifier(epochs=3, tol=None, random_state=0, backend=backend).fit(
        X, Y, sample_weight=np.ones(50))
    assert a.network_.weights == b.network_.weights
    c = NetClassifier(random_state=0, backend=backend)
    c.partial_fit(X, Y, classes=[0, 1], sample_weight=W)
    net = pn.Network([3, 32, 1], seed=_seed(0), backend=backend, output_activation="sigmoid",
                     loss="binary_crossentropy", init="xavier")
    net.train(X.tolist(), Y.astype(float).tolist(), epochs=1, learning_rate=0.01,
              optimizer="adam", batch_size=32, shuffle=True, sample_weight=W.tolist())
    assert c.network_.weights == net.weights


def test_class_weight_balanced_is_sklearns_sample_weight(backend):
    a = NetClassifier(epochs=4, tol=None, random_state=0, backend=backend,
                      class_weight="balanced").fit(X, Y)
    sw = compute_sample_weight("balanced", Y)
    assert len(set(sw)) == 2  # the data are imbalanced, so the weights differ
    b = NetClassifier(epochs=4, tol=None, random_state=0, backend=backend).fit(
        X, Y, sample_weight=sw)
    assert a.network_.weights == b.network_.weights
    d = NetClassifier(epochs=4, tol=None, random_state=0, backend=backend,
                      class_weight={0: 1.0, 1: 3.0}).fit(X, Y, sample_weight=W)
    e = NetClassifier(epochs=4, tol=None, random_state=0, backend=backend).fit(
        X, Y, sample_weight=W * np.where(Y == 1, 3.0, 1.0))
    assert d.network_.weights == e.network_.weights
    with pytest.raises(ValueError, match="partial_fit"):
        NetClassifier(class_weight="balanced").partial_fit(X, Y, classes=[0, 1])


def test_bad_sample_weights_are_refused():
    with pytest.raises(ValueError, match="(?i)negative"):
        NetRegressor().fit(X, Y_REAL, sample_weight=-np.ones(50))
    with pytest.raises(ValueError):
        NetRegressor().fit(X, Y_REAL, sample_weight=np.zeros(50))
    with pytest.raises(ValueError):
        NetRegressor().fit(X, Y_REAL, sample_weight=np.full(50, np.nan))


def test_invalid_validation_fraction_names_plainnets_parameter():
    with pytest.raises(ValueError, match="validation_fraction"):
        NetClassifier(early_stopping=True, validation_fraction=1.5).fit(X, Y)


def test_early_stopping_with_weights_weighs_the_validation_loss(backend):
    clf = NetClassifier(epochs=3, tol=None, random_state=0, early_stopping=True,
                        backend=backend).fit(X, Y, sample_weight=W + 0.5)
    assert len(clf.validation_loss_curve_) == clf.n_iter_


def test_metadata_routing_passes_sample_weight(backend):
    with sklearn.config_context(enable_metadata_routing=True):
        clf = NetClassifier(epochs=3, tol=None, random_state=0, backend=backend)
        clf.set_fit_request(sample_weight=True)
        pipe = make_pipeline(StandardScaler().set_fit_request(sample_weight=False), clf)
        pipe.fit(X, Y, sample_weight=W)
        direct = NetClassifier(epochs=3, tol=None, random_state=0, backend=backend).fit(
            StandardScaler().fit_transform(X), Y, sample_weight=W)
        assert pipe[-1].network_.weights == direct.network_.weights
        scores = cross_validate(NetClassifier(epochs=2, random_state=0, backend=backend)
                                .set_fit_request(sample_weight=True)
                                .set_score_request(sample_weight=False),
                                X, Y, cv=2, params={"sample_weight": W})
        assert len(scores["test_score"]) == 2


def test_multilabel_matches_mlp_shapes_and_is_bce_training(backend):
    from sklearn.datasets import make_multilabel_classification
    from sklearn.neural_network import MLPClassifier
    Xm, Ym = make_multilabel_classification(n_samples=60, n_features=4, n_classes=3,
                                            random_state=0)
    clf = NetClassifier(hidden_layer_sizes=(6,), epochs=4, tol=None, random_state=0,
                        backend=backend).fit(Xm, Ym)
    mlp = MLPClassifier(hidden_layer_sizes=(6,), max_iter=5, random_state=0).fit(Xm, Ym)
    assert clf.predict_proba(Xm).shape == mlp.predict_proba(Xm).shape == (60, 3)
    assert clf.predict(Xm).shape == mlp.predict(Xm).shape
    assert set(np.unique(clf.predict(Xm))) <= {0, 1}
    assert clf.out_activation_ == mlp.out_activation_ == "logistic"
    net = pn.Network([4, 6, 3], seed=_seed(0), backend=backend, output_activation="sigmoid",
                     loss="binary_crossentropy", init="xavier")
    net.train(Xm.tolist(), Ym.astype(float).tolist(), epochs=4, learning_rate=0.01,
              optimizer="adam", batch_size=32, shuffle=True)
    assert clf.predict_proba(Xm).tolist() == net.predict(Xm.tolist())


def test_mlp_surface(backend):
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier
    with pytest.warns(ConvergenceWarning):
        clf = NetClassifier(hidden_layer_sizes=(5, 4), activation="logistic", epochs=3,
                            random_state=0, backend=backend).fit(X, Y)
    mlp = MLPClassifier(hidden_layer_sizes=(5, 4), activation="logistic", max_iter=3,
                        random_state=0).fit(X, Y)
    assert [c.shape for c in clf.coefs_] == [c.shape for c in mlp.coefs_]
    assert [b.shape for b in clf.intercepts_] == [b.shape for b in mlp.intercepts_]
    assert clf.coefs_[0][2, 1] == clf.network_.weights[0][1][2]
    assert (clf.n_layers_, clf.n_outputs_, clf.out_activation_) == (
        mlp.n_layers_, mlp.n_outputs_, mlp.out_activation_)
    assert clf.network_.activations[0] == "sigmoid"
    assert clf.best_loss_ == min(clf.loss_curve_)
    assert clf.t_ == mlp.t_ == 3 * 50
    reg = NetRegressor(activation="identity", epochs=2, tol=None).fit(X, Y_REAL.reshape(-1, 1))
    assert reg.predict(X).shape == (50,)
    assert reg.network_.activations[0] == "linear"


def test_warm_start_continues_and_verbose_prints(backend, capsys):
    a = NetClassifier(epochs=2, tol=None, random_state=0, warm_start=True, backend=backend)
    a.fit(X, Y)
    a.fit(X, Y)
    b = NetClassifier(epochs=2, tol=None, random_state=0, backend=backend).fit(X, Y)
    b.partial_fit(X, Y)
    b.partial_fit(X, Y)
    assert a.network_.weights == b.network_.weights and a.n_iter_ == 4
    assert capsys.readouterr().out == ""
    NetRegressor(epochs=2, tol=None, verbose=True, backend=backend).fit(X, Y_REAL)
    out = capsys.readouterr().out.splitlines()
    assert [line.split(",")[0] for line in out] == ["Iteration 1", "Iteration 2"]
