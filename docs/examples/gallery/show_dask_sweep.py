"""
A sweep on a Dask cluster (shown, not run)
==========================================

This example needs a Dask cluster (the ``dask`` extra), so it
is shown here and not run when the site is built. ``tests/test_scale_out.py``
runs the same kind of search on a local two-process cluster and checks that
it gives the serial search's scores. See :doc:`../user-guide/scaling`.

The estimators pickle and the core trains with the GIL released, so a
``GridSearchCV`` sends its fits to the cluster through joblib:
"""

import joblib
from distributed import Client, LocalCluster
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from plainnet.sklearn import MLPClassifier

if __name__ == "__main__":
    # On a real cluster: Client("tcp://scheduler:8786"). Each worker uses one
    # plainnet thread, so that the fits do not compete for the cores.
    cluster = LocalCluster(n_workers=2, threads_per_worker=1,
                           env={"PLAINNET_NUM_THREADS": "1"})
    client = Client(cluster)

    X, y = load_digits(return_X_y=True)
    search = GridSearchCV(
        make_pipeline(StandardScaler(), MLPClassifier(early_stopping=True, random_state=0)),
        {"mlpclassifier__hidden_layer_sizes": [(32,), (64,), (128,)],
         "mlpclassifier__alpha": [1e-4, 1e-3, 1e-2]},
        cv=3, n_jobs=-1)
    with joblib.parallel_config(backend="dask"):
        search.fit(X, y)
    print(search.best_params_, round(search.best_score_, 4))

    client.close()
    cluster.close()
