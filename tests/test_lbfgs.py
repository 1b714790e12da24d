"""L-BFGS: the core's full-batch loss_and_gradient against its NumPy twin and
finite differences, and Network.fit_lbfgs. solver="lbfgs" in the estimators,
against scikit-learn's own, is in test_lbfgs_sklearn.py."""

import importlib.util
import math

import numpy as np
import pytest

import plainnet as pn
from plainnet import _core
from plainnet import reference as ref

CASES = [  # sizes, activations, loss
    ([1, 1, 1], ["tanh", "sigmoid"], "binary_cross_entropy"),
    ([3, 5, 2], ["relu", "linear"], "mse"),
    ([4, 7, 3], ["gelu", "softmax"], "cross_entropy"),
    ([5, 6, 4, 3], ["tanh", "elu", "sigmoid"], "binary_cross_entropy"),
    ([6, 9, 8, 4], ["silu", "softplus", "linear"], "mse"),
]


def _problem(rng, sizes, loss, m):
    X = rng.standard_normal((m, sizes[0]))
    K = sizes[-1]
    if loss == "cross_entropy":
        y = np.eye(K)[rng.integers(0, K, m)]
    elif loss == "binary_cross_entropy":
        y = (rng.random((m, K)) > 0.5).astype(np.float64)
    else:
        y = rng.standard_normal((m, K))
    params = rng.standard_normal(ref.num_parameters(sizes)) * 0.5
    return params, X, y


@pytest.mark.parametrize("sizes,acts,loss", CASES)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("m", [1, 13, 600])
def test_native_loss_and_gradient_match_the_twin(sizes, acts, loss, weighted, m):
    rng = np.random.default_rng(m + len(sizes))
    params, X, y = _problem(rng, sizes, loss, m)
    w = rng.random(m) * 2 if weighted else None
    l2 = float(rng.random())
    native = rng.standard_normal(params.size)  # not zero: the call must overwrite it
    twin = rng.standard_normal(params.size)
    f_native = _core.loss_and_gradient(params, sizes, acts, loss, X, y, w, l2, native)
    f_twin = ref.loss_and_gradient(params, sizes, acts, loss, X, y, w, l2, twin)
    np.testing.assert_allclose(f_native, f_twin, rtol=1e-12)
    np.testing.assert_allclose(native, twin, rtol=1e-12, atol=1e-14)
    # The objective is the reported loss turned into E, plus scikit-learn's L2 term.
    reported, _ = ref.evaluate(params, sizes, acts, loss, X, y) if w is None else (None, None)
    if reported is not None:
        squares = sum(float(np.sum(W ** 2)) for W, _ in ref.unpack(params, sizes))
        expected = ref.objective(loss, reported, sizes[-1]) + l2 / (2 * m) * squares
        np.testing.assert_allclose(f_twin, expected, rtol=1e-12)


def test_native_float32_matches_the_twin():
    rng = np.random.default_rng(3)
    sizes, acts, loss = [4, 7, 3], ["tanh", "softmax"], "cross_entropy"
    params, X, y = _problem(rng, sizes, loss, 50)
    p32, X32, y32 = params.astype(np.float32), X.astype(np.float32), y.astype(np.float32)
    g1, g2 = np.empty_like(p32), np.empty_like(p32)
    f1 = _core.loss_and_gradient(p32, sizes, acts, loss, X32, y32, None, 0.1, g1)
    f2 = ref.loss_and_gradient(p32, sizes, acts, loss, X32, y32, None, 0.1, g2)
    np.testing.assert_allclose(f1, f2, rtol=1e-5)
    np.testing.assert_allclose(g1, g2, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("sizes,acts,loss", CASES)
def test_the_twin_is_the_gradient_of_its_value(sizes, acts, loss):
    # Central differences of the value the twin returns, weights and L2 included.
    rng = np.random.default_rng(11)
    params, X, y = _problem(rng, sizes, loss, 9)
    w = rng.random(9) + 0.1
    l2 = 0.3
    grads = np.empty_like(params)
    ref.loss_and_gradient(params, sizes, acts, loss, X, y, w, l2, grads)
    eps = 1e-6
    numeric = np.empty_like(params)
    scratch = np.empty_like(params)
    for i in range(params.size):
        p = params.copy()
        p[i] += eps
        up = ref.loss_and_gradient(p, sizes, acts, loss, X, y, w, l2, scratch)
        p[i] -= 2 * eps
        down = ref.loss_and_gradient(p, sizes, acts, loss, X, y, w, l2, scratch)
        numeric[i] = (up - down) / (2 * eps)
    np.testing.assert_allclose(grads, numeric, rtol=1e-6, atol=1e-8)


def test_row_weights_are_repeated_rows():
    # A weight of 2 is the row twice, and a weight of 0 the row left out.
    rng = np.random.default_rng(5)
    sizes, acts, loss = [3, 5, 2], ["tanh", "linear"], "mse"
    params, X, y = _problem(rng, sizes, loss, 6)
    w = np.array([2.0, 1.0, 0.0, 1.0, 1.0, 1.0])
    rows = [0, 0, 1, 3, 4, 5]
    g_w, g_rep = np.empty_like(params), np.empty_like(params)
    f_w = _core.loss_and_gradient(params, sizes, acts, loss, X, y, w, 0.5, g_w)
    f_rep = _core.loss_and_gradient(params, sizes, acts, loss, X[rows], y[rows], None, 0.5, g_rep)
    np.testing.assert_allclose(f_w, f_rep, rtol=1e-12)
    np.testing.assert_allclose(g_w, g_rep, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("bad,error,match", [
    (dict(grads=np.zeros(3)), ValueError, r"^grads: expected shape \(21,\)"),
    (dict(grads=np.zeros(21, dtype=np.float32)), TypeError, "^grads: expected dtype float64"),
    (dict(sample_weight=np.ones(4)), ValueError, r"^sample_weight: expected shape \(5,\)"),
    (dict(l2=-1.0), ValueError, "^l2: expected a finite number >= 0"),
    (dict(l2=math.nan), ValueError, "^l2: expected a finite number >= 0"),
])
def test_direct_core_calls_with_bad_arrays_raise(bad, error, match):
    sizes, acts = [3, 4, 1], ["tanh", "linear"]
    args = dict(params=np.zeros(21), sizes=sizes, activations=acts, loss="mse",
                X=np.zeros((5, 3)), y=np.zeros((5, 1)), sample_weight=None, l2=0.0,
                grads=np.zeros(21))
    args.update(bad)
    with pytest.raises(error, match=match):
        _core.loss_and_gradient(**args)


# ---------------------------------------------------------------- Network.fit_lbfgs

needs_scipy = pytest.mark.skipif(importlib.util.find_spec("scipy") is None,
                                 reason="fit_lbfgs needs scipy (pip install scipy, or "
                                        "plainnet[sklearn])")


def _blobs(seed=0, m=120):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((m, 4))
    y = (X[:, 0] + X[:, 1] * X[:, 2] > 0).astype(np.int64) + (X[:, 3] > 0.8)
    return X, y


def _classifier(backend="native", dtype="float64"):
    return pn.Network([4, 16, 3], activation="tanh", output_activation="softmax",
                      loss="cross_entropy", init="xavier", seed=1, backend=backend, dtype=dtype)


@needs_scipy
def test_fit_lbfgs_learns_and_reports_its_iterations():
    X, y = _blobs()
    net = _classifier()
    before = net.loss(X, y)
    h = net.fit_lbfgs(X, y, max_iter=300, tol=1e-6)
    assert isinstance(h, pn.History)
    assert 1 <= h.iterations <= 300
    assert np.all(np.diff(h.loss) <= 1e-12)  # L-BFGS-B's line search never goes up
    assert h.final_loss == pytest.approx(net.loss(X, y), rel=1e-12)  # cross-entropy: E is the loss
    assert net.evaluate(X, y)["accuracy"] > 0.97 and net.loss(X, y) < before / 10
    assert math.isnan(h.lr) and h.epochs == 300 and h.batch_size is None


@needs_scipy
def test_fit_lbfgs_is_the_same_on_both_backends():
    X, y = _blobs()
    a, b = _classifier(), _classifier("numpy")
    ha = a.fit_lbfgs(X, y, max_iter=15)
    hb = b.fit_lbfgs(X, y, max_iter=15)
    # The two backends' objectives agree to the last few bits (their sums run in
    # other orders); fifteen steps of L-BFGS carry that along (3e-14 measured).
    assert ha.iterations == hb.iterations == 15
    np.testing.assert_allclose(ha.loss, hb.loss, rtol=1e-12)
    for Wa, Wb in zip(a.weights, b.weights):
        np.testing.assert_allclose(Wa, Wb, rtol=1e-12, atol=1e-12)


@needs_scipy
def test_fit_lbfgs_in_float32():
    X, y = _blobs()
    net = _classifier(dtype="float32")
    net.fit_lbfgs(X, y, max_iter=100)
    assert net.dtype == np.float32 and net.weights[0].dtype == np.float32
    assert net.evaluate(X, y)["accuracy"] > 0.95


@needs_scipy
def test_fit_lbfgs_with_l2_and_weights_minimises_the_weighted_objective():
    X, y = _blobs()
    w = np.where(y == 2, 3.0, 1.0)
    net = _classifier()
    net.fit_lbfgs(X, y, max_iter=500, tol=1e-8, sample_weight=w, l2=0.5)
    # At the minimum the gradient of the same objective vanishes.
    grads = np.empty(net.num_parameters)
    t = np.eye(3)[y]
    _core.loss_and_gradient(net._params, net._sizes, net._acts, net.loss_name, X, t, w, 0.5,
                            grads)
    assert np.abs(grads).max() < 1e-4
    # ... and not that of the objective without the weights, or without the penalty.
    for other_w, other_l2 in ((None, 0.5), (w, 0.0)):
        _core.loss_and_gradient(net._params, net._sizes, net._acts, net.loss_name, X, t,
                                other_w, other_l2, grads)
        assert np.abs(grads).max() > 1e-3


@needs_scipy
@pytest.mark.parametrize("kwargs,error,match", [
    (dict(max_iter=0), ValueError, "^max_iter: expected an int >= 1"),
    (dict(max_iter=2.0), TypeError, "^max_iter: expected an int"),
    (dict(max_fun=0), ValueError, "^max_fun: expected an int >= 1"),
    (dict(tol=-1.0), ValueError, "^tol: expected a finite number >= 0"),
    (dict(l2=math.inf), ValueError, "^l2: expected a finite number >= 0"),
    (dict(sample_weight=np.ones(3)), ValueError, "^sample_weight"),
])
def test_fit_lbfgs_refuses_bad_arguments_and_changes_nothing(kwargs, error, match):
    X, y = _blobs()
    net = _classifier()
    before = net._params.copy()
    with pytest.raises(error, match=match):
        net.fit_lbfgs(X, y, **kwargs)
    np.testing.assert_array_equal(net._params, before)


@needs_scipy
def test_fit_lbfgs_with_a_loss_that_overflows_leaves_the_network_unchanged():
    X = np.array([[1e200], [-1e200]])
    y = np.array([[1e200], [-1e200]])
    net = pn.Network([1, 1], activation="linear", seed=0)
    before = net._params.copy()
    with pytest.raises(FloatingPointError, match="^fit_lbfgs: the objective became NaN or Inf"):
        net.fit_lbfgs(X, y)
    np.testing.assert_array_equal(net._params, before)


@needs_scipy
def test_an_interrupted_fit_lbfgs_leaves_the_weights_as_they_were():
    # Ctrl-C arrives between evaluations, in scipy's loop: the search's
    # iterates were private, so the network keeps the weights it had.
    X, y = _blobs()
    net = _classifier("numpy")
    before = net._params

    class Interrupting:  # the numpy backend, with Ctrl-C on the fifth evaluation
        calls = 0

        def __getattr__(self, name):
            return getattr(ref, name)

        def loss_and_gradient(self, *args):
            Interrupting.calls += 1
            if Interrupting.calls == 5:
                raise KeyboardInterrupt
            return ref.loss_and_gradient(*args)

    net._impl = Interrupting()
    with pytest.raises(KeyboardInterrupt):
        net.fit_lbfgs(X, y)
    assert net._params is before and Interrupting.calls == 5
    net._impl = ref
    net.fit_lbfgs(X, y, max_iter=3)  # and the lock was released
    assert net._params is not before


def test_fit_lbfgs_refuses_a_network_with_dropout():
    pytest.importorskip("scipy")
    net = pn.Network([3, 4, 2], dropout=0.5, seed=0)
    X = np.random.default_rng(0).random((10, 3))
    before = net.weights
    with pytest.raises(ValueError, match=r"fit_lbfgs: .*dropout=\[0.5\]"):
        net.fit_lbfgs(X, X[:, :2])
    assert all(np.array_equal(a, b) for a, b in zip(net.weights, before))
