"""GridSearchCV over NetClassifier on joblib's loky and threading backends (and
dask.distributed's, where installed): bit-identical to n_jobs=1; a diverged
fit in a loky worker arrives as TrainingDiverged."""

import pytest

np = pytest.importorskip("numpy")
pytest.importorskip("sklearn", reason="scikit-learn is not installed")
joblib = pytest.importorskip("joblib", reason="joblib is not installed")

from sklearn.model_selection import GridSearchCV  # noqa: E402

import plainnet as pn  # noqa: E402
from plainnet.sklearn import NetClassifier, NetRegressor  # noqa: E402

RNG = np.random.RandomState(3)
X = RNG.normal(size=(60, 3))
Y = (X[:, 0] - X[:, 2] > 0).astype(int)
GRID = {"hidden_layer_sizes": [(3,), (5,)], "learning_rate": [0.01, 0.05]}


def _search(n_jobs, backend=None):
    search = GridSearchCV(NetClassifier(epochs=3, tol=None, random_state=0), GRID, cv=2,
                          n_jobs=n_jobs)
    if backend is None:
        search.fit(X, Y)
    else:
        with joblib.parallel_backend(backend):
            search.fit(X, Y)
    scores = search.cv_results_["split0_test_score"].tolist() + \
        search.cv_results_["split1_test_score"].tolist()
    return repr((scores, search.best_params_, search.best_estimator_.network_.weights))


@pytest.mark.parametrize("backend", ["loky", "threading"])
def test_grid_search_bit_identical_to_one_job(backend):
    assert _search(2, backend) == _search(1)


def test_grid_search_on_dask_localcluster():
    distributed = pytest.importorskip("dask.distributed",
                                      reason="dask.distributed is not installed")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster):
        assert _search(2, "dask") == _search(1)


def test_diverged_fit_in_loky_worker_reports_training_diverged():
    reg = NetRegressor(optimizer="sgd", learning_rate=1e6, activation="linear", epochs=5,
                       tol=None, random_state=0)
    y = X[:, 0] * 1e3
    with joblib.parallel_backend("loky"):
        with pytest.raises(pn.TrainingDiverged):
            joblib.Parallel(n_jobs=2)(joblib.delayed(reg.fit)(X, y) for _ in range(2))


def _threads_in_worker():
    import os

    import plainnet
    from plainnet import _threads
    return os.environ.get("OMP_NUM_THREADS"), plainnet.get_num_threads(), _threads._cpus()


def test_loky_workers_share_the_cpus_instead_of_each_taking_all():
    """loky sets OMP_NUM_THREADS in its workers to split the cores among them;
    plainnet's default follows it, so that two workers on this machine's
    CPUs start no more threads between them than there are CPUs (each used
    to take every CPU).  loky passes a value set here on to its workers."""
    import os
    for var in ("OMP_NUM_THREADS", "PLAINNET_NUM_THREADS"):
        if var in os.environ:
            pytest.skip("%s is set in this environment: loky's workers inherit it" % var)
    got = joblib.Parallel(n_jobs=2, backend="loky")(joblib.delayed(_threads_in_worker)() for _ in range(2))
    for omp, threads, cpus in got:
        assert omp is not None, "loky no longer sets OMP_NUM_THREADS in its workers"
        assert threads == min(int(omp.split(",")[0]), cpus)
    cpus = got[0][2]
    if cpus >= 2:
        assert sum(threads for _, threads, _ in got) <= cpus, got
