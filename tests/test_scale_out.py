"""Sweeps of plainnet estimators on joblib's backends and on a real Dask
cluster (a distributed.LocalCluster of two worker processes): the same
results as the serial search."""

import warnings

import numpy as np
import pytest

pytest.importorskip("sklearn", reason="plainnet.sklearn needs scikit-learn (plainnet[sklearn])")

import joblib  # noqa: E402  (a dependency of scikit-learn)
from sklearn.datasets import load_iris  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.model_selection import GridSearchCV  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from plainnet.sklearn import MLPClassifier  # noqa: E402

# 8 candidates x 3 folds of small networks: 24 fits of a few milliseconds each.
GRID = {"hidden_layer_sizes": [(4,), (8,)], "alpha": [1e-4, 1e-1],
        "learning_rate_init": [0.01, 0.03]}


@pytest.fixture(scope="module")
def data():
    X, y = load_iris(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def _search(X, y, n_jobs=None):
    search = GridSearchCV(MLPClassifier(random_state=0, max_iter=60, batch_size=32), GRID, cv=3,
                          n_jobs=n_jobs)
    with warnings.catch_warnings():  # in this process; workers only log it
        warnings.simplefilter("ignore", ConvergenceWarning)
        return search.fit(X, y)


@pytest.fixture(scope="module")
def serial(data):
    return _search(*data)


def _assert_same(search, serial):
    for key in ("mean_test_score", "std_test_score", "rank_test_score"):
        np.testing.assert_array_equal(search.cv_results_[key], serial.cv_results_[key])
    assert search.best_params_ == serial.best_params_
    assert len(serial.cv_results_["params"]) == 8


@pytest.mark.parametrize("backend", ["threading", "loky"])
def test_joblib_backends_give_the_serial_results(data, serial, backend):
    with joblib.parallel_config(backend=backend, n_jobs=2):
        _assert_same(_search(*data, n_jobs=2), serial)


def test_a_dask_cluster_gives_the_serial_results(data, serial):
    distributed = pytest.importorskip("distributed", reason="the Dask test needs "
                                                            "dask[distributed] (plainnet[dask])")
    # One fit per worker process, each with one native thread, set as a user would.
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None,
                                  env={"PLAINNET_NUM_THREADS": "1"}) as cluster, \
            distributed.Client(cluster) as client:

        def native_threads():
            from plainnet import _core
            return _core.build_info()["num_threads"]

        assert list(client.run(native_threads).values()) == [1, 1]
        with distributed.get_task_stream(client) as stream, \
                joblib.parallel_config(backend="dask"):
            search = _search(*data, n_jobs=-1)
        # the fits ran as tasks of the cluster's worker processes
        workers = {task["worker"] for task in stream.data}
        assert workers and workers <= set(client.run(lambda: 0))
    _assert_same(search, serial)
