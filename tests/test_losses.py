"""The losses and softmax: native kernels against their NumPy twins, the twins
against finite differences and PyTorch, and the rules a network's loss follows."""

import numpy as np
import pytest

try:
    import torch
except ImportError:  # the comparisons with PyTorch skip; everything else runs
    torch = None
needs_torch = pytest.mark.skipif(torch is None, reason="the PyTorch comparisons need torch")
from conftest import DTYPES, assert_close

import plainnet as pn
from plainnet import _core
from plainnet import reference as ref

LOSSES = pn.LOSSES
SHAPES = [(1, 1), (4, 1), (7, 3), (256, 10)]  # (B, K)


def _case(rng, loss, B, K, dtype, scale=3.0):
    """z, a = f(z) and targets y that the loss accepts (softmax: K >= 2)."""
    if loss == "cross_entropy":
        K = max(K, 2)
    z = (rng.standard_normal((B, K)) * scale).astype(dtype)
    if loss == "cross_entropy":
        a = ref.softmax_forward(z)
        y = rng.random((B, K)) + (np.arange(K) == rng.integers(0, K, (B, 1)))  # soft, one peak
        y /= y.sum(axis=1, keepdims=True)
    elif loss == "binary_cross_entropy":
        a = ref.sigmoid(z)
        y = rng.random((B, K))
    else:
        a = np.tanh(z)
        y = rng.standard_normal((B, K))
    return z, a.astype(dtype), y.astype(dtype)


def test_the_tables_name_the_same_losses():
    assert _core.LOSSES == pn.LOSSES == tuple(ref.LOSS_TABLE)
    assert _core.OUTPUT_ACTIVATIONS == pn.OUTPUT_ACTIVATIONS == ("softmax",)


# ---------------------------------------------------------------- kernels vs twins


@pytest.mark.usefixtures("variant")
@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("B,K", SHAPES)
def test_loss_forward_matches_the_twin(rng, loss, dtype, B, K):
    z, a, y = _case(rng, loss, B, K, dtype)
    got = _core.loss_forward(z, a, y, loss)
    want = ref.loss_forward(z, a, y, loss)
    assert np.isfinite(got) and got > 0
    assert_close(got, want, np.float64)


@pytest.mark.usefixtures("variant")
@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("B,K", SHAPES)
def test_loss_backward_accumulates_like_the_twin(rng, loss, dtype, B, K):
    z, a, y = _case(rng, loss, B, K, dtype)
    start = rng.standard_normal(z.shape).astype(dtype)
    got, want = start.copy(), start.copy()
    _core.loss_backward(got, z, a, y, loss)
    ref.loss_backward(want, z, a, y, loss)
    assert_close(got, want, dtype)
    assert not np.array_equal(got, start)


@pytest.mark.usefixtures("variant")
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("B,K", SHAPES + [(3, 1000)])
def test_softmax_matches_the_twin_and_sums_to_one(rng, dtype, B, K):
    z = (rng.standard_normal((B, K)) * 20).astype(dtype)
    got = _core.softmax_forward(z)
    assert got.dtype == dtype
    assert_close(got, ref.softmax_forward(z), dtype)
    assert_close(got.sum(axis=1), np.ones(B), dtype, rtol=1e-6 if dtype == np.float32 else 1e-13)


def test_softmax_does_not_overflow():
    z = np.array([[1000.0, 0.0, -1000.0], [-1e300, -1e300, 1e300]])
    got = _core.softmax_forward(z)
    np.testing.assert_array_equal(got, [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    np.testing.assert_array_equal(ref.softmax_forward(z), got)


# ---------------------------------------------------------------- the twins are right


@pytest.mark.parametrize("loss", ["binary_cross_entropy", "cross_entropy"])
def test_cross_entropies_equal_their_textbook_formulas(rng, loss):
    z, a, y = _case(rng, loss, 9, 4, np.float64, scale=1.0)
    if loss == "cross_entropy":
        want = -np.sum(y * np.log(a)) / 9
    else:
        want = -np.sum(y * np.log(a) + (1 - y) * np.log(1 - a)) / 9
    assert_close(ref.loss_forward(z, a, y, loss), want, np.float64)
    assert_close(_core.loss_forward(z, a, y, loss), want, np.float64)


@pytest.mark.parametrize("loss", LOSSES)
def test_loss_backward_is_the_derivative_of_the_objective(rng, loss):
    """Central differences of E in z (through a = f(z)) against backward's gradient at z."""
    B, K = 5, 4
    z, a, y = _case(rng, loss, B, K, np.float64, scale=1.0)
    f = {"cross_entropy": ref.softmax_forward, "binary_cross_entropy": ref.sigmoid,
         "mse": np.tanh}[loss]

    def E(zz):
        return ref.objective(loss, ref.loss_forward(zz, f(zz), y, loss), K)

    d = np.zeros_like(z)
    ref.loss_backward(d, z, a, y, loss)
    if loss == "mse":  # backward gives dE/da: take it through tanh
        d = d * (1 - a * a)
    numeric = np.zeros_like(z)
    eps = 1e-6
    for idx in np.ndindex(z.shape):
        zp, zm = z.copy(), z.copy()
        zp[idx] += eps
        zm[idx] -= eps
        numeric[idx] = (E(zp) - E(zm)) / (2 * eps)
    np.testing.assert_allclose(d, numeric, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("loss", ["binary_cross_entropy", "cross_entropy"])
def test_saturated_outputs_give_finite_losses_and_the_exact_gradient(loss):
    z = np.array([[1000.0, -1000.0], [-1000.0, 1000.0], [-2000.0, 5000.0]])
    y = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 0.0]])
    a = ref.softmax_forward(z) if loss == "cross_entropy" else ref.sigmoid(z)
    got = _core.loss_forward(z, a, y, loss)
    assert np.isfinite(got)
    if loss == "cross_entropy":  # each row is wrong by its margin
        want = (2000.0 + 2000.0 + 7000.0) / 3
    else:  # softplus(z) - y z, summed per row
        want = (1000.0 + 1000.0 + 1000.0 + 1000.0 + 2000.0 + 5000.0) / 3
    assert got == pytest.approx(want, rel=1e-15)
    assert ref.loss_forward(z, a, y, loss) == pytest.approx(want, rel=1e-15)
    d = np.zeros_like(z)
    _core.loss_backward(d, z, a, y, loss)
    np.testing.assert_array_equal(d, (a - y) / 3)




@needs_torch
@pytest.mark.parametrize("loss", ["binary_cross_entropy", "cross_entropy"])
def test_losses_equal_pytorchs(rng, loss):
    """CrossEntropyLoss() with probability targets; BCEWithLogitsLoss(reduction='sum') / m."""
    z, a, y = _case(rng, loss, 32, 6, np.float64)
    zt = torch.tensor(z, requires_grad=True)
    if loss == "cross_entropy":
        t = torch.nn.CrossEntropyLoss()(zt, torch.tensor(y))
    else:
        t = torch.nn.BCEWithLogitsLoss(reduction="sum")(zt, torch.tensor(y)) / 32
    t.backward()
    assert_close(_core.loss_forward(z, a, y, loss), t.item(), np.float64)
    d = np.zeros_like(z)
    _core.loss_backward(d, z, a, y, loss)
    assert_close(d, zt.grad.numpy(), np.float64)


def test_losses_equal_scikit_learns_log_loss(rng):
    metrics = pytest.importorskip("sklearn.metrics", reason="needs scikit-learn")
    z, a, y = _case(rng, "cross_entropy", 40, 5, np.float64, scale=1.0)
    labels = np.argmax(y, axis=1)
    onehot = np.eye(5)[labels]
    assert_close(_core.loss_forward(z, a, onehot, "cross_entropy"),
                 metrics.log_loss(labels, a, labels=range(5)), np.float64)


# ---------------------------------------------------------------- a network's loss


@pytest.mark.parametrize("backend", pn.BACKENDS)
def test_class_labels_train_like_their_one_hot_rows(backend):
    X, labels = pn.datasets.xor()[0], np.array([0, 1, 1, 0])
    kw = dict(activation="tanh", output_activation="softmax", loss="cross_entropy", seed=3,
              backend=backend)
    a, b = pn.Network([2, 4, 2], **kw), pn.Network([2, 4, 2], **kw)
    ha = a.fit(X, labels, lr=0.5, epochs=50)
    hb = b.fit(X, np.eye(2)[labels], lr=0.5, epochs=50)
    np.testing.assert_array_equal(ha.loss, hb.loss)
    np.testing.assert_array_equal(a.forward(X), b.forward(X))
    assert a.loss(X, labels) == b.loss(X, np.eye(2)[labels]) < ha.loss[0]


@pytest.mark.parametrize("backend", pn.BACKENDS)
def test_bce_network_learns_xor_and_reports_accuracy(backend):
    X, y = pn.datasets.xor()
    net = pn.Network([2, 4, 1], loss="binary_cross_entropy", seed=42, backend=backend)
    h = net.fit(X, y, lr=2.0, epochs=3000)
    assert h.final_loss < 0.05
    assert net.evaluate(X, y) == {"loss": pytest.approx(net.loss(X, y)), "accuracy": 1.0}
    np.testing.assert_array_equal(net.predict_classes(X), y.astype(np.int64))
    assert h.accuracy is not None and h.accuracy[-1] == 1.0


def test_evaluate_and_predict_classes_for_cross_entropy(rng):
    X = rng.standard_normal((50, 3))
    net = pn.Network([3, 5, 4], activation="relu", output_activation="softmax",
                     loss="cross_entropy", seed=0)
    labels = rng.integers(0, 4, 50)
    pred = net.predict_classes(X)
    assert pred.dtype == np.int64 and pred.shape == (50,)
    np.testing.assert_array_equal(pred, np.argmax(net.forward(X), axis=1))
    result = net.evaluate(X, labels)
    assert result["accuracy"] == np.mean(pred == labels)
    p = net.forward(X)
    assert result["loss"] == pytest.approx(-np.mean(np.log(p[np.arange(50), labels])), rel=1e-12)


def test_an_mse_network_reports_only_its_loss(xor_data):
    X, y = xor_data
    net = pn.Network([2, 4, 1], seed=42)
    assert net.evaluate(X, y) == {"loss": net.loss(X, y)}
    assert net.loss(X, y) == pytest.approx(np.mean((net.forward(X) - y) ** 2), rel=1e-14)


# ---------------------------------------------------------------- whole networks


def _network_case(rng, loss, sizes):
    acts = ["tanh"] * (len(sizes) - 2) + [{"cross_entropy": "softmax",
                                           "binary_cross_entropy": "sigmoid"}.get(loss, "tanh")]
    params = rng.standard_normal(ref.num_parameters(sizes)) * 0.8
    X = rng.standard_normal((7, sizes[0]))
    _, a, y = _case(rng, loss, 7, sizes[-1], np.float64)
    return acts, params, X, y


@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("sizes", [[3, 4], [3, 5, 4], [2, 4, 3, 3]])
def test_network_gradients_are_those_of_the_objective(rng, loss, sizes):
    """The reference's whole-network gradient against central differences of E."""
    acts, params, X, y = _network_case(rng, loss, sizes)
    reported, grads = ref.gradients(params, sizes, acts, loss, X, y)

    def E(p):
        z, a = ref.forward_trace(p, sizes, acts, loss, X)[-1]
        return ref.objective(loss, ref.loss_forward(z, a, y, loss), sizes[-1])

    assert E(params) == pytest.approx(ref.objective(loss, reported, sizes[-1]), rel=1e-15)
    numeric = np.zeros_like(params)
    for i in range(params.size):
        up, down = params.copy(), params.copy()
        up[i] += 1e-6
        down[i] -= 1e-6
        numeric[i] = (E(up) - E(down)) / 2e-6
    np.testing.assert_allclose(grads, numeric, rtol=1e-6, atol=1e-9)
    assert np.max(np.abs(grads)) > 1e-3


@pytest.mark.usefixtures("variant")
@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("sizes", [[3, 4], [6, 9, 5], [70, 40, 10]])
def test_native_network_functions_match_the_twin_for_every_loss(rng, loss, dtype, sizes):
    acts, params, X, y = _network_case(rng, loss, sizes)
    params, X, y = params.astype(dtype), X.astype(dtype), y.astype(dtype)
    X = np.concatenate([X] * 100)[:600]  # more rows than one predict chunk
    y = np.concatenate([y] * 100)[:600]
    for (z, a), (zr, ar) in zip(_core.forward_trace(params, sizes, acts, loss, X),
                                ref.forward_trace(params, sizes, acts, loss, X)):
        assert_close(z, zr, dtype)
        assert_close(a, ar, dtype)
    assert_close(_core.forward(params, sizes, acts, loss, X), ar, dtype)
    got_loss, got = _core.gradients(params, sizes, acts, loss, X, y)
    want_loss, want = ref.gradients(params, sizes, acts, loss, X, y)
    assert_close(got_loss, want_loss, dtype)
    assert_close(got, want, dtype)
    got_eval, want_eval = (_core.evaluate(params, sizes, acts, loss, X, y),
                           ref.evaluate(params, sizes, acts, loss, X, y))
    assert_close(got_eval[0], want_eval[0], dtype)
    assert_close(got_eval[0], got_loss, dtype)  # chunked or not, the same loss
    assert got_eval[1] == want_eval[1]
