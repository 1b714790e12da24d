"""plainnet.sklearn in use: pipelines, searches, pickling, the fitted
attributes against scikit-learn's definitions, continued training, and bad
input. scikit-learn's own check_estimator runs in test_sklearn_checks.py."""

import pickle
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest

pytest.importorskip("sklearn", reason="plainnet.sklearn needs scikit-learn (plainnet[sklearn])")

from scipy import sparse  # noqa: E402
from sklearn.base import clone  # noqa: E402
from sklearn.datasets import load_digits, load_iris  # noqa: E402
from sklearn.exceptions import ConvergenceWarning, NotFittedError  # noqa: E402
from sklearn.metrics import log_loss, r2_score  # noqa: E402
from sklearn.model_selection import (GridSearchCV, KFold, cross_val_score,  # noqa: E402
                                     train_test_split)
from sklearn.neural_network import MLPClassifier as SkMLPClassifier  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils import check_random_state  # noqa: E402

import plainnet as pn  # noqa: E402
from plainnet.sklearn import MLPClassifier, MLPRegressor  # noqa: E402


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    return X, y


@pytest.fixture
def converging():
    """For tests about something else: a run that reaches max_iter only warns."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


def _regression(rng, n=120, outputs=1):
    X = rng.standard_normal((n, 3))
    W = rng.standard_normal((3, outputs))
    Y = np.tanh(X @ W) + 0.05 * rng.standard_normal((n, outputs))
    return X, (Y.ravel() if outputs == 1 else Y)


# ---------------------------------------------------------------- in scikit-learn's tools


def test_a_pipeline_learns_iris(iris, converging):
    X, y = iris
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, stratify=y, random_state=0)
    pipe = make_pipeline(StandardScaler(), MLPClassifier(hidden_layer_sizes=(16,),
                                                         learning_rate_init=0.01,
                                                         random_state=0))
    pipe.fit(X_tr, y_tr)
    assert pipe.score(X_te, y_te) >= 0.9
    clf = pipe[-1]
    assert clf.out_activation_ == "softmax" and clf.n_outputs_ == 3
    assert [W.shape for W in clf.coefs_] == [(4, 16), (16, 3)]
    assert isinstance(clf.network_, pn.Network) and clf.network_.loss_name == "cross_entropy"


def test_grid_search_and_cross_validation(iris, converging):
    X, y = iris
    X = StandardScaler().fit_transform(X)
    search = GridSearchCV(MLPClassifier(random_state=0, learning_rate_init=0.01),
                          {"hidden_layer_sizes": [(4,), (16,)], "alpha": [1e-4, 1.0]}, cv=3)
    search.fit(X, y)
    assert search.best_score_ >= 0.85
    assert len(search.cv_results_["mean_test_score"]) == 4
    scores = cross_val_score(MLPRegressor(hidden_layer_sizes=(8,), learning_rate_init=0.01,
                                          random_state=0, max_iter=500), X[:, :3], X[:, 3],
                             cv=KFold(3, shuffle=True, random_state=0))
    assert scores.shape == (3,) and np.all(scores > 0.5)


def test_clone_and_pickle(iris):
    X, y = iris
    est = MLPClassifier(hidden_layer_sizes=(8, 5), activation="tanh", random_state=3,
                        dtype="float32", max_iter=30)
    with pytest.warns(ConvergenceWarning):
        est.fit(X, y)
    twin = clone(est)
    assert twin.get_params() == est.get_params() and not hasattr(twin, "network_")
    back = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(back.predict_proba(X), est.predict_proba(X))
    np.testing.assert_array_equal(back.predict(X), est.predict(X))
    assert back.network_.dtype == np.float32 and back.coefs_[0].dtype == np.float32


def test_digits_accuracy_is_that_of_scikit_learns_mlp(converging):
    X, y = load_digits(return_X_y=True)
    X_tr, X_te, y_tr, y_te = train_test_split(X / 16, y, stratify=y, random_state=0)
    same = dict(hidden_layer_sizes=(64,), random_state=0, max_iter=50, batch_size=64,
                learning_rate_init=0.003)  # 50 epochs, to keep scikit-learn's fit short
    ours = MLPClassifier(**same).fit(X_tr, y_tr)
    theirs = SkMLPClassifier(**same).fit(X_tr, y_tr)
    a, b = ours.score(X_te, y_te), theirs.score(X_te, y_te)
    assert a >= 0.95 and abs(a - b) <= 0.03, (a, b)


# ---------------------------------------------------------------- what the attributes mean


def test_loss_is_scikit_learns_log_loss_plus_the_l2_term(iris):
    X, y = iris
    X = StandardScaler().fit_transform(X)
    est = MLPClassifier(hidden_layer_sizes=(6,), alpha=0.5, random_state=0, batch_size=150)
    est.partial_fit(X, y, classes=np.unique(y))
    proba, squares = est.predict_proba(X), sum(float(np.sum(W * W)) for W in est.coefs_)
    est.partial_fit(X, y)  # one full batch: its loss is that of the weights before it
    assert est.loss_ == pytest.approx(log_loss(y, proba) + 0.5 * 0.5 * squares / 150, rel=1e-10)
    assert est.loss_curve_[-1] == est.loss_ and len(est.loss_curve_) == 2
    assert est.n_iter_ == 1 and est.t_ == 300


def test_regressor_loss_is_half_the_mean_squared_error(rng):
    X, y = _regression(rng)
    est = MLPRegressor(hidden_layer_sizes=(5,), alpha=0.0, batch_size=len(y), random_state=0)
    est.partial_fit(X, y)
    before = est.predict(X)
    est.partial_fit(X, y)
    assert est.loss_ == pytest.approx(0.5 * np.mean((y - before) ** 2), rel=1e-12)
    assert est.out_activation_ == "identity" and est.predict(X).shape == (len(y),)


@pytest.mark.parametrize("outputs", [1, 2])
def test_regressor_early_stopping_reports_r2_and_keeps_the_best_epoch(rng, outputs):
    X, y = _regression(rng, n=200, outputs=outputs)
    est = MLPRegressor(hidden_layer_sizes=(16,), early_stopping=True, learning_rate_init=0.01,
                       n_iter_no_change=5, random_state=7, max_iter=500).fit(X, y)
    # the split the estimator made: the same draws from random_state
    rs = check_random_state(7)
    rs.randint(0, 2**31 - 1, size=2)
    _, X_val, _, y_val = train_test_split(X, y, random_state=rs, test_size=0.1)
    r2 = r2_score(y_val, est.predict(X_val), multioutput="variance_weighted")
    assert est.best_validation_score_ == pytest.approx(r2, rel=1e-9)
    assert est.best_validation_score_ == max(est.validation_scores_) > 0.8
    assert len(est.validation_scores_) == est.n_iter_ < 500 and est.best_loss_ is None


def test_classifier_early_stopping_watches_the_validation_accuracy(iris):
    X, y = iris
    X = StandardScaler().fit_transform(X)
    est = MLPClassifier(hidden_layer_sizes=(16,), early_stopping=True, validation_fraction=0.2,
                        batch_size=16, learning_rate_init=0.01, n_iter_no_change=10,
                        random_state=0).fit(X, y)
    scores = np.array(est.validation_scores_)
    assert est.n_iter_ == scores.size < 200 and est.best_loss_ is None
    assert est.best_validation_score_ == scores.max() >= 0.9
    # it stopped n_iter_no_change + 1 epochs after the first epoch of the best accuracy
    assert scores.size - 1 - int(np.argmax(scores)) == 11
    # and kept that epoch's weights: the held-out rows are the same draws from random_state
    rs = check_random_state(0)
    rs.randint(0, 2**31 - 1, size=2)
    _, X_val, _, y_val = train_test_split(X, y, random_state=rs, test_size=0.2, stratify=y)
    assert est.score(X_val, y_val) == est.best_validation_score_


def test_without_early_stopping_it_stops_on_the_training_loss(iris):
    X, y = iris
    est = MLPClassifier(hidden_layer_sizes=(8,), tol=1e-2, n_iter_no_change=3, random_state=0)
    est.fit(StandardScaler().fit_transform(X), y)
    curve = np.array(est.loss_curve_)
    assert est.n_iter_ == curve.size < 200 and est.validation_scores_ is None
    assert est.best_loss_ == curve.min()
    # the last 4 epochs (n_iter_no_change + 1) none beat the best before them by tol
    assert curve[-4:].min() > curve[:-4].min() - 1e-2


def test_max_iter_without_converging_warns():
    X, y = load_iris(return_X_y=True)
    with pytest.warns(ConvergenceWarning, match=r"Maximum iterations \(3\) reached"):
        MLPClassifier(max_iter=3, random_state=0).fit(X, y)


# ---------------------------------------------------------------- targets


def test_binary_multiclass_and_multilabel_outputs(rng, converging):
    X = rng.standard_normal((150, 4))
    binary = np.where(X[:, 0] > 0, "yes", "no")
    clf = MLPClassifier(hidden_layer_sizes=(8,), random_state=0, learning_rate_init=0.01)
    clf.fit(X, binary)
    assert clf.out_activation_ == "logistic" and clf.n_outputs_ == 1
    assert list(clf.classes_) == ["no", "yes"] and clf.score(X, binary) > 0.9
    proba = clf.predict_proba(X)
    assert proba.shape == (150, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_allclose(clf.predict_log_proba(X), np.log(proba))

    tags = np.column_stack([X[:, 0] > 0, X[:, 1] > 0, X[:, 0] + X[:, 1] > 0]).astype(int)
    multi = MLPClassifier(hidden_layer_sizes=(16,), random_state=0, learning_rate_init=0.01,
                          max_iter=400).fit(X, tags)
    assert multi.out_activation_ == "logistic" and multi.network_.loss_name == \
        "binary_cross_entropy"
    assert multi.predict(X).shape == (150, 3) and set(np.unique(multi.predict(X))) <= {0, 1}
    assert np.mean(multi.predict(X) == tags) > 0.9
    assert multi.predict_proba(X).shape == (150, 3)


def test_sparse_input_is_made_dense(iris):
    X, y = iris
    dense = MLPClassifier(hidden_layer_sizes=(5,), random_state=0, max_iter=20)
    sp = clone(dense)
    with pytest.warns(ConvergenceWarning):
        dense.fit(X, y)
    with pytest.warns(ConvergenceWarning):
        sp.fit(sparse.csr_matrix(X), y)
    np.testing.assert_array_equal(sp.predict_proba(sparse.csc_matrix(X)), dense.predict_proba(X))


def test_feature_names_from_a_dataframe(iris, converging):
    pd = pytest.importorskip("pandas", reason="DataFrame input needs pandas")
    X, y = iris
    df = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    est = MLPClassifier(hidden_layer_sizes=(4,), random_state=0).fit(df, y)
    assert list(est.feature_names_in_) == ["a", "b", "c", "d"] and est.n_features_in_ == 4


# ---------------------------------------------------------------- backends, dtypes, continuing


def test_the_numpy_backend_computes_the_same_model(iris):
    X, y = iris
    X = StandardScaler().fit_transform(X)
    kw = dict(hidden_layer_sizes=(6,), random_state=0, batch_size=32, max_iter=15)
    with pytest.warns(ConvergenceWarning):
        native = MLPClassifier(**kw).fit(X, y)
    with pytest.warns(ConvergenceWarning):
        numpy = MLPClassifier(backend="numpy", **kw).fit(X, y)
    np.testing.assert_allclose(native.loss_curve_, numpy.loss_curve_, rtol=1e-9)
    np.testing.assert_allclose(native.predict_proba(X), numpy.predict_proba(X), rtol=1e-8)


def test_float32_trains_a_float32_network(rng):
    X, y = _regression(rng)
    est = MLPRegressor(hidden_layer_sizes=(8,), dtype="float32", random_state=0,
                       learning_rate_init=0.01, max_iter=300).fit(X, y)
    assert est.network_.dtype == np.float32 and est.predict(X).dtype == np.float32
    assert est.score(X, y) > 0.8


def test_partial_fit_epochs_are_the_epochs_of_one_fit(iris):
    X, y = iris
    kw = dict(hidden_layer_sizes=(6,), random_state=4, batch_size=40, n_iter_no_change=100)
    inc = MLPClassifier(**kw)
    with pytest.raises(ValueError, match="^classes: must be passed on the first call"):
        inc.partial_fit(X, y)
    for _ in range(6):
        inc.partial_fit(X, y, classes=np.unique(y))
    with pytest.warns(ConvergenceWarning):
        once = MLPClassifier(max_iter=6, **kw).fit(X, y)
    assert inc.loss_curve_ == once.loss_curve_ and inc.t_ == once.t_ == 6 * 150
    for W, V in zip(inc.coefs_, once.coefs_):
        np.testing.assert_array_equal(W, V)


def test_warm_start_continues_the_network_and_its_optimizer(rng):
    X, y = _regression(rng)
    kw = dict(hidden_layer_sizes=(6,), random_state=1, batch_size=16, n_iter_no_change=100)
    warm = MLPRegressor(warm_start=True, max_iter=5, **kw)
    with pytest.warns(ConvergenceWarning):
        warm.fit(X, y)
    with pytest.warns(ConvergenceWarning):
        warm.fit(X, y)
    with pytest.warns(ConvergenceWarning):
        once = MLPRegressor(max_iter=10, **kw).fit(X, y)
    assert len(warm.loss_curve_) == 10 and warm.n_iter_ == 5
    np.testing.assert_array_equal(warm.predict(X), once.predict(X))
    steps = warm.network_.optimizer.steps
    assert isinstance(warm.network_.optimizer, pn.optim.Adam) and steps == 10 * 8
    # new settings apply to the continued run; another solver starts its own state
    with pytest.warns(ConvergenceWarning):
        warm.set_params(learning_rate_init=0.02, max_iter=2).fit(X, y)
    assert warm.network_.optimizer.lr == 0.02 and warm.network_.optimizer.steps == steps + 16
    with pytest.warns(ConvergenceWarning):
        warm.set_params(solver="sgd").fit(X, y)
    assert isinstance(warm.network_.optimizer, pn.optim.SGD)
    assert warm.network_.optimizer.steps == 16 and len(warm.loss_curve_) == 14
    cold = MLPRegressor(max_iter=5, **kw)  # without warm_start, a refit starts anew
    for _ in range(2):
        with pytest.warns(ConvergenceWarning):
            cold.fit(X, y)
    assert len(cold.loss_curve_) == 5


def test_verbose_prints_every_epoch(iris, capsys):
    X, y = iris
    with pytest.warns(ConvergenceWarning):
        MLPClassifier(hidden_layer_sizes=(4,), verbose=True, max_iter=2, random_state=0).fit(X, y)
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(",")[0] for line in lines] == ["Iteration 1", "Iteration 2"]


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize("params,error,match", [
    (dict(solver="newton"), ValueError,
     "^solver: expected one of 'adam', 'sgd', 'rprop', 'lbfgs'"),
    (dict(max_fun=0), ValueError, "^max_fun: expected an int >= 1"),
    (dict(class_weight="even"), ValueError,
     "^class_weight: expected None, 'balanced' or a dict"),
    (dict(class_weight={"setosa": 2.0}), ValueError, "^class_weight: "),
    (dict(learning_rate="cyclic"), ValueError,
     "^learning_rate: expected one of 'constant', 'invscaling', 'adaptive'"),
    (dict(power_t=-0.5), ValueError, r"^power_t: expected a number in \[0.0, inf\]"),
    (dict(hidden_layer_sizes=(4, 0)), ValueError, "^hidden_layer_sizes: expected sizes > 0"),
    (dict(hidden_layer_sizes="big"), TypeError, "^hidden_layer_sizes: expected ints"),
    (dict(activation="swish"), ValueError, "^activation: expected one of 'identity'"),
    (dict(alpha=-1.0), ValueError, r"^alpha: expected a number in \[0.0, inf\]"),
    (dict(alpha="small"), TypeError, "^alpha: expected a real number"),
    (dict(batch_size=0), ValueError, "^batch_size: expected an int >= 1"),
    (dict(max_iter=0), ValueError, "^max_iter: expected an int >= 1"),
    (dict(max_iter=2.5), TypeError, "^max_iter: expected an int"),
    (dict(learning_rate_init=0.0), ValueError, "^learning_rate_init: expected a number in"),
    (dict(momentum=1.5), ValueError, r"^momentum: expected a number in \[0.0, 1.0\]"),
    (dict(validation_fraction=1.0), ValueError, "^validation_fraction: expected a number in"),
    (dict(beta_2=1.0), ValueError, "^beta_2: expected a number in"),
    (dict(n_iter_no_change=0), ValueError, "^n_iter_no_change: expected an int >= 1"),
    (dict(shuffle="yes"), TypeError, "^shuffle: expected a bool"),
    (dict(dtype="float16"), ValueError, "^dtype: expected one of 'float64', 'float32'"),
    (dict(backend="gpu"), ValueError, "^backend: expected one of 'native', 'numpy'"),
    (dict(progress=1), TypeError, "^progress: expected a bool"),
])
def test_bad_parameters_name_themselves_at_fit(iris, params, error, match):
    X, y = iris
    est = MLPClassifier(**params)  # scikit-learn's rule: __init__ only stores
    with pytest.raises(error, match=match):
        est.fit(X, y)
    assert not hasattr(est, "network_")


def test_a_validation_split_smaller_than_the_classes_names_validation_fraction(rng):
    X = rng.standard_normal((50, 4))
    y = np.arange(50) % 10  # 10 classes, 5 rows of validation
    net = MLPClassifier(hidden_layer_sizes=(4,), early_stopping=True, validation_fraction=0.1)
    with pytest.raises(ValueError, match=r"^validation_fraction: 0\.1 of 50 rows cannot be split "
                                         r"for early stopping .*test_size = 5"):
        net.fit(X, y)
    assert not hasattr(net, "network_")


def test_bad_data_and_unfitted_estimators(iris):
    X, y = iris
    with pytest.raises(NotFittedError):
        MLPClassifier().predict(X)
    with pytest.raises(NotFittedError):
        MLPRegressor().predict(X)
    with pytest.raises(ValueError, match="could not convert string to float"):
        MLPClassifier().fit([["a", "b"]] * 4, [0, 1, 0, 1])
    with pytest.raises(ValueError, match="Unknown label type"):
        MLPClassifier().fit(X, np.linspace(0, 1, len(y)))
    with pytest.raises(ValueError, match="Input X contains NaN"):
        MLPRegressor().fit(np.full((4, 2), np.nan), np.arange(4.0))
    est = MLPClassifier(hidden_layer_sizes=(3,), max_iter=50, random_state=0)
    with pytest.warns(ConvergenceWarning):
        est.fit(X, y)
    with pytest.raises(ValueError, match="X has 3 features, but MLPClassifier is expecting 4"):
        est.predict(X[:, :3])
    with pytest.raises(ValueError, match="^early_stopping: partial_fit does not support"):
        MLPClassifier(early_stopping=True).partial_fit(X, y, classes=[0, 1, 2])
    with pytest.raises(ValueError, match="y: warm_start can only be used"):
        est.set_params(warm_start=True).fit(X[y < 2], y[y < 2])


# ---------------------------------------------------------------- scikit-learn stays optional


def _run(code):
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, timeout=120)


def test_import_plainnet_does_not_import_scikit_learn():
    r = _run("""
        import sys, plainnet
        net = plainnet.Network([2, 3, 1], seed=0)
        print(sorted(m for m in sys.modules if m.split('.')[0] in ('sklearn', 'scipy')))
    """)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[]"


def test_without_scikit_learn_the_import_error_says_what_to_install():
    r = _run("""
        import sys
        sys.modules['sklearn'] = None   # as if it were not installed
        try:
            import plainnet.sklearn
        except ImportError as exc:
            print(exc)
    """)
    assert r.returncode == 0, r.stderr
    assert 'pip install "plainnet[sklearn]"' in r.stdout


# ---------------------------------------------------------------- class weights


def _imbalanced():
    from sklearn.datasets import make_classification
    return make_classification(n_samples=600, n_features=6, n_informative=3, weights=[0.95, 0.05],
                               class_sep=0.6, flip_y=0.0, random_state=3)


# lbfgs fits the 450 training rows exactly unless alpha holds it back, and
# then weights cannot change what it learns.
@pytest.mark.parametrize("solver,alpha", [("adam", 1e-2), ("lbfgs", 1.0)])
def test_balanced_class_weights_raise_balanced_accuracy(solver, alpha, converging):
    from sklearn.metrics import balanced_accuracy_score
    X, y = _imbalanced()
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, stratify=y, random_state=0)
    scores = {}
    for cw in (None, "balanced"):
        clf = MLPClassifier(hidden_layer_sizes=(16,), solver=solver, alpha=alpha, max_iter=300,
                            class_weight=cw, random_state=0).fit(X_tr, y_tr)
        scores[cw] = balanced_accuracy_score(y_te, clf.predict(X_te))
    assert scores["balanced"] > scores[None] + 0.05, scores


@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_dict_class_weights_are_the_equivalent_sample_weights_bit_for_bit(iris, solver,
                                                                          converging):
    X, y = iris
    cw = {0: 0.5, 1: 3.0, 2: 1.25}
    by_class = MLPClassifier(hidden_layer_sizes=(5,), solver=solver, max_iter=30,
                             class_weight=cw, random_state=0).fit(X, y)
    by_row = MLPClassifier(hidden_layer_sizes=(5,), solver=solver, max_iter=30,
                           random_state=0).fit(X, y, sample_weight=[cw[c] for c in y])
    for a, b in zip(by_class.coefs_ + by_class.intercepts_, by_row.coefs_ + by_row.intercepts_):
        np.testing.assert_array_equal(a, b)
    assert by_class.loss_ == by_row.loss_


def test_class_weights_multiply_sample_weights(iris, converging):
    X, y = iris
    rng = np.random.default_rng(0)
    sw = rng.random(len(y)) + 0.5
    cw = {0: 2.0, 1: 1.0, 2: 0.5}
    a = MLPClassifier(hidden_layer_sizes=(5,), max_iter=20, class_weight=cw,
                      random_state=0).fit(X, y, sample_weight=sw)
    b = MLPClassifier(hidden_layer_sizes=(5,), max_iter=20,
                      random_state=0).fit(X, y, sample_weight=sw * np.array([cw[c] for c in y]))
    for p, q in zip(a.coefs_, b.coefs_):
        np.testing.assert_array_equal(p, q)


def test_balanced_weights_are_scikit_learns(iris, converging):
    from sklearn.utils.class_weight import compute_sample_weight
    X, y = iris
    keep = np.r_[0:50, 50:70, 100:105]  # 50, 20 and 5 rows of the three classes
    X, y = X[keep], y[keep]
    a = MLPClassifier(hidden_layer_sizes=(5,), max_iter=20, class_weight="balanced",
                      random_state=0).fit(X, y)
    b = MLPClassifier(hidden_layer_sizes=(5,), max_iter=20, random_state=0).fit(
        X, y, sample_weight=compute_sample_weight("balanced", y))
    for p, q in zip(a.coefs_, b.coefs_):
        np.testing.assert_allclose(p, q, rtol=1e-12)


# ---------------------------------------------------------------- constructor errors


@pytest.mark.parametrize("cls", [MLPClassifier, MLPRegressor])
def test_an_unknown_parameter_names_the_public_class(cls):
    with pytest.raises(TypeError, match=rf"^{cls.__name__}\.__init__\(\) got an unexpected "
                                        r"keyword argument 'bogus'"):
        cls(bogus=1)


def test_only_the_classifier_takes_class_weight():
    assert MLPClassifier(class_weight="balanced").get_params()["class_weight"] == "balanced"
    with pytest.raises(TypeError, match="^MLPRegressor.__init__"):
        MLPRegressor(class_weight="balanced")


@pytest.mark.parametrize("make", [
    lambda: pn.Network([2, 1], bogus=1), lambda: pn.optim.SGD(bogus=1),
    lambda: pn.optim.Adam(bogus=1), lambda: pn.optim.AdamW(bogus=1),
    lambda: pn.optim.Rprop(bogus=1)])
def test_network_and_optimizer_errors_name_their_class(make):
    with pytest.raises(TypeError, match=r"^(Network|SGD|Adam|AdamW|Rprop)\.__init__\(\) got an "
                                        r"unexpected keyword argument 'bogus'"):
        make()
