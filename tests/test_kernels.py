"""Every native kernel, in every variant this CPU runs, against its NumPy twin."""

import numpy as np
import pytest
from conftest import BLOCKED_SHAPES, DTYPES, SHAPES, assert_close

from plainnet import _core
from plainnet import reference as ref

ACTS = ref.ACTIVATIONS

# Each test here runs once per kernel variant (see conftest.variant).
pytestmark = pytest.mark.usefixtures("variant")


def test_both_backends_offer_the_same_activations():
    assert tuple(_core.ACTIVATIONS) == ref.ACTIVATIONS == tuple(ref.ACTIVATION_TABLE)
    assert _core.LEAKY_SLOPE == ref.LEAKY_SLOPE


# ---------------------------------------------------------------- dense


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("B,C,OC", SHAPES + BLOCKED_SHAPES)
def test_dense_forward(rng, dtype, B, C, OC):
    inp = rng.standard_normal((B, C)).astype(dtype)
    W = rng.standard_normal((C, OC)).astype(dtype)
    b = rng.standard_normal(OC).astype(dtype)
    out = _core.dense_forward(inp, W, b)
    assert out.dtype == dtype and out.shape == (B, OC)
    assert_close(out, ref.dense_forward(inp, W, b), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("B,C,OC", SHAPES + BLOCKED_SHAPES)
@pytest.mark.parametrize("with_dinp", [True, False])
def test_dense_backward_accumulates(rng, dtype, B, C, OC, with_dinp):
    inp = rng.standard_normal((B, C)).astype(dtype)
    W = rng.standard_normal((C, OC)).astype(dtype)
    dout = rng.standard_normal((B, OC)).astype(dtype)
    # gradients start non-zero: a kernel that assigns instead of adding fails
    start = [rng.standard_normal(s).astype(dtype) for s in ((B, C), (C, OC), (OC,))]
    got = [s.copy() for s in start]
    want = [s.copy() for s in start]
    _core.dense_backward(got[0] if with_dinp else None, got[1], got[2], dout, inp, W)
    ref.dense_backward(want[0] if with_dinp else None, want[1], want[2], dout, inp, W)
    for g, w, s in zip(got, want, start):
        assert_close(g, w, dtype)
    if not with_dinp:
        assert np.array_equal(got[0], start[0])
    # and the accumulated part is the plain gradient
    assert_close(got[1] - start[1], inp.T.astype(np.float64) @ dout, dtype, rtol=RTOL_ACC[dtype])
    assert_close(got[2] - start[2], dout.sum(axis=0, dtype=np.float64), dtype, rtol=RTOL_ACC[dtype])


# Subtracting the starting value loses a few bits; compare that difference loosely.
RTOL_ACC = {np.float64: 1e-10, np.float32: 1e-3}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("B,C,OC", SHAPES + BLOCKED_SHAPES + [(0, 3, 2)])
@pytest.mark.parametrize("with_dinp", [True, False])
def test_dense_backward_overwrites(rng, dtype, B, C, OC, with_dinp):
    """accumulate=False writes the gradients: bit for bit what zeroing them and
    accumulating gives, whatever they held (NaN included: nothing is read)."""
    inp = rng.standard_normal((B, C)).astype(dtype)
    W = rng.standard_normal((C, OC)).astype(dtype)
    dout = rng.standard_normal((B, OC)).astype(dtype)
    shapes = ((B, C), (C, OC), (OC,))
    got = [np.full(s, np.nan, dtype) for s in shapes]
    zeroed = [np.zeros(s, dtype) for s in shapes]
    want = [np.full(s, np.nan, dtype) for s in shapes]
    _core.dense_backward(got[0] if with_dinp else None, got[1], got[2], dout, inp, W,
                         accumulate=False)
    _core.dense_backward(zeroed[0] if with_dinp else None, zeroed[1], zeroed[2], dout, inp, W)
    ref.dense_backward(want[0] if with_dinp else None, want[1], want[2], dout, inp, W,
                       accumulate=False)
    for g, z, w in zip(got[1:] + got[:1] * with_dinp, zeroed[1:] + zeroed[:1] * with_dinp,
                       want[1:] + want[:1] * with_dinp):
        assert np.array_equal(g, z)
        assert_close(g, w, dtype)
    if not with_dinp:
        assert np.isnan(got[0]).all()


# ---------------------------------------------------------------- activations

SPECIAL = np.array([0.0, 1e-8, -1e-8, 0.5, -0.5, 3.0, -3.0, 20.0, -20.0, 40.0, -40.0,
                    700.0, -700.0, 1000.0, -1000.0, 1e30, -1e30])


def activation_inputs(rng, dtype):
    return np.concatenate([rng.standard_normal(200) * 4, SPECIAL]).astype(dtype).reshape(-1, 7)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", ACTS)
def test_activation_forward(rng, dtype, name):
    z = activation_inputs(rng, dtype)
    a = _core.activation_forward(z, name)
    assert a.dtype == dtype and a.shape == z.shape
    assert np.isfinite(a).all()
    assert_close(a, ref.activation_forward(z, name), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", ACTS)
def test_activation_backward_accumulates(rng, dtype, name):
    z = activation_inputs(rng, dtype)
    a = ref.activation_forward(z, name)
    dout = rng.standard_normal(z.shape).astype(dtype)
    start = rng.standard_normal(z.shape).astype(dtype)
    got, want = start.copy(), start.copy()
    _core.activation_backward(got, dout, z, a, name)
    ref.activation_backward(want, dout, z, a, name)
    assert np.isfinite(got).all()
    assert_close(got, want, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_sigmoid_is_accurate_to_a_few_ulp_everywhere(dtype):
    # The fast variants compute exp with their own polynomial; compare each
    # element on its own scale (no absolute floor), down to the smallest normals.
    lo = -700.0 if dtype == np.float64 else -85.0
    z = np.concatenate([np.linspace(lo, 40.0, 20011), np.linspace(-1, 1, 2001)]).astype(dtype)
    got = _core.activation_forward(z, "sigmoid")
    want = ref.activation_forward(z, "sigmoid")
    ulp = np.spacing(want)
    assert np.max(np.abs(got - want) / ulp) <= 4


@pytest.mark.parametrize("dtype", DTYPES)
def test_sigmoid_underflows_gradually(dtype):
    # Below the normal range the result must shrink smoothly to 0, as NumPy's does.
    edge = {np.float64: (-760.0, -700.0), np.float32: (-110.0, -80.0)}[dtype]
    z = np.linspace(*edge, 4001).astype(dtype)
    got = _core.activation_forward(z, "sigmoid")
    want = ref.activation_forward(z, "sigmoid")
    tiny = np.finfo(dtype).smallest_subnormal
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=4 * tiny)
    assert np.all(np.diff(got) >= 0)


@pytest.mark.parametrize("name", ACTS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_activations_are_safe_at_extremes(name, dtype):
    # No overflow warnings (pytest turns them into errors), no NaN, sane limits.
    z = np.array([-1000.0, -1e30, 1000.0, 1e30], dtype=dtype)
    for impl in (_core, ref):
        a = impl.activation_forward(z, name)
        d = np.zeros_like(z)
        impl.activation_backward(d, np.ones_like(z), z, a, name)
        assert np.isfinite(a).all() and np.isfinite(d).all(), (impl.__name__, a, d)
        big = a[2:]  # f(1000), f(1e30)
        if name in ("linear", "relu", "leaky_relu", "elu", "softplus", "silu", "gelu", "mish"):
            assert_close(big, z[2:], dtype)  # these grow like z
            assert_close(d[2:], [1.0, 1.0], dtype)
        else:  # sigmoid and tanh saturate at 1 with zero slope
            assert_close(big, [1.0, 1.0], dtype)
            assert np.all(d[2:] == 0)


def test_activation_limits_at_minus_infinity():
    z = np.array([-1000.0])
    expect = {"sigmoid": 0.0, "tanh": -1.0, "relu": 0.0, "leaky_relu": -10.0, "elu": -1.0,
              "softplus": 0.0, "silu": 0.0, "gelu": 0.0, "mish": 0.0, "linear": -1000.0}
    for name, value in expect.items():
        assert _core.activation_forward(z, name)[0] == pytest.approx(value, abs=1e-300)


# (torch's softplus is not compared: beyond z = 20 it returns z and slope 1 exactly.)
@pytest.mark.parametrize("name,torch_name", [("mish", "mish"), ("silu", "silu"), ("elu", "elu")])
def test_activations_match_torch(rng, name, torch_name):
    torch = pytest.importorskip("torch", reason="torch is not installed (pip install torch)")
    z = np.concatenate([rng.standard_normal(500) * 4, np.linspace(-30, 30, 601)])
    t = torch.tensor(z, dtype=torch.float64, requires_grad=True)
    f = getattr(torch.nn.functional, torch_name)
    out = f(t)
    out.backward(torch.ones_like(t))
    a = _core.activation_forward(z, name)
    d = np.zeros_like(z)
    _core.activation_backward(d, np.ones_like(z), z, a, name)
    np.testing.assert_allclose(a, out.detach().numpy(), rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(d, t.grad.numpy(), rtol=1e-12, atol=1e-15)


# ---------------------------------------------------------------- loss and update


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("B,K", [(1, 1), (4, 1), (7, 3), (256, 10)])
def test_mse_loss_forward(rng, dtype, B, K):
    # for "mse" the loss is of a (the prediction); z is not used
    z = rng.standard_normal((B, K)).astype(dtype)
    pred = rng.standard_normal((B, K)).astype(dtype)
    target = rng.standard_normal((B, K)).astype(dtype)
    got = _core.loss_forward(z, pred, target, "mse")
    assert_close(got, ref.loss_forward(z, pred, target, "mse"), np.float64)
    # both are the mean over all elements
    assert_close(got, np.mean((pred.astype(np.float64) - target) ** 2), dtype)
    assert _core.loss_forward(np.zeros_like(z), pred, target, "mse") == got


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("B,K", [(1, 1), (4, 1), (7, 3), (256, 10)])
def test_mse_loss_backward_accumulates(rng, dtype, B, K):
    z = rng.standard_normal((B, K)).astype(dtype)
    pred = rng.standard_normal((B, K)).astype(dtype)
    target = rng.standard_normal((B, K)).astype(dtype)
    start = rng.standard_normal((B, K)).astype(dtype)
    got, want = start.copy(), start.copy()
    _core.loss_backward(got, z, pred, target, "mse")
    ref.loss_backward(want, z, pred, target, "mse")
    assert_close(got, want, dtype)
    # the gradient with respect to a, as mse_backward accumulated it
    assert_close(got - start, (pred - target) / B, dtype, rtol=RTOL_ACC[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n", [1, 17, 1000])
def test_sgd_update(rng, dtype, n):
    # plain gradient descent: the core's optimizer_update with "sgd" and no
    # momentum or weight decay is the reference's sgd_update
    params = rng.standard_normal(n).astype(dtype)
    grads = rng.standard_normal(n).astype(dtype)
    got, want, want_table = params.copy(), params.copy(), params.copy()
    state = [np.zeros_like(params)]
    _core.optimizer_update(got, grads, state, {"name": "sgd", "lr": 0.3}, 1)
    ref.sgd_update(want, grads, 0.3)
    ref.optimizer_update(want_table, grads, [np.zeros_like(params)], {"name": "sgd", "lr": 0.3}, 1)
    assert_close(got, want, dtype)
    assert np.array_equal(want_table, want)
    assert not np.array_equal(got, params)
    assert not state[0].any()  # plain SGD keeps no momentum


# ---------------------------------------------------------------- whole networks

LAYOUTS = [[1, 1], [2, 4, 1], [3, 5, 2], [5, 7, 6, 3], [4, 9, 1, 8, 2]]


def random_case(rng, sizes, dtype, m=11):
    params = (rng.standard_normal(ref.num_parameters(sizes)) * 0.7).astype(dtype)
    X = rng.standard_normal((m, sizes[0])).astype(dtype)
    y = rng.standard_normal((m, sizes[-1])).astype(dtype)
    return params, X, y


def layer_acts(i, n):
    """A different mix of activations per test case, so every one appears in every position."""
    return [ACTS[(i + l) % len(ACTS)] for l in range(n)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("sizes", LAYOUTS)
@pytest.mark.parametrize("shift", range(len(ACTS)))
def test_network_forward_trace_and_gradients(rng, dtype, sizes, shift):
    acts = layer_acts(shift, len(sizes) - 1)
    params, X, y = random_case(rng, sizes, dtype)
    assert _core.num_parameters(sizes) == ref.num_parameters(sizes) == params.size

    got_trace = _core.forward_trace(params, sizes, acts, "mse", X)
    want_trace = ref.forward_trace(params, sizes, acts, "mse", X)
    assert len(got_trace) == len(want_trace) == len(acts)
    for (gz, ga), (wz, wa) in zip(got_trace, want_trace):
        assert_close(gz, wz, dtype)
        assert_close(ga, wa, dtype)
    assert_close(_core.forward(params, sizes, acts, "mse", X), want_trace[-1][1], dtype)

    got_loss, got_grads = _core.gradients(params, sizes, acts, "mse", X, y)
    want_loss, want_grads = ref.gradients(params, sizes, acts, "mse", X, y)
    assert_close(got_loss, want_loss, dtype)
    assert_close(got_grads, want_grads, dtype)
    got_eval = _core.evaluate(params, sizes, acts, "mse", X, y)
    want_eval = ref.evaluate(params, sizes, acts, "mse", X, y)
    assert got_eval[1] == want_eval[1] == 0  # mse counts no right predictions
    assert_close(got_eval[0], want_loss, dtype)
    assert_close(want_eval[0], want_loss, dtype)

    got_p, want_p = params.copy(), params.copy()
    got_step, got_updated = _core.step(got_p, sizes, acts, "mse", X, y, 0.05)
    want_step, want_updated = ref.step(want_p, sizes, acts, "mse", X, y, 0.05)
    assert got_updated is want_updated is True
    assert_close(got_step, want_loss, dtype)
    assert_close(want_step, want_loss, dtype)
    assert_close(got_p, want_p, dtype)
    assert_close(got_p, params - params.dtype.type(0.05) * want_grads, dtype)


@pytest.mark.parametrize("m,seed,epoch", [(0, 0, 0), (1, 0, 0), (2, 5, 3), (10, 1, 0), (10, 1, 1),
                                          (1000, 2**64 - 1, 7), (100_000, 3, 2)])
def test_epoch_permutation_matches(m, seed, epoch):
    got = _core.epoch_permutation(m, seed, epoch)
    want = ref.epoch_permutation(m, seed, epoch)
    assert np.array_equal(got, want)
    assert np.array_equal(np.sort(got), np.arange(m))


def test_epoch_permutation_varies_with_seed_and_epoch():
    a = _core.epoch_permutation(50, 3, 0)
    assert not np.array_equal(a, _core.epoch_permutation(50, 3, 1))
    assert not np.array_equal(a, _core.epoch_permutation(50, 4, 0))


@pytest.mark.parametrize("m,epochs,bs,expected", [(4, 10, 0, 10), (4, 10, 4, 10), (4, 10, 9, 10),
                                                  (10, 3, 3, 12), (10, 3, 5, 6), (10, 0, 3, 0)])
def test_fit_iterations(m, epochs, bs, expected):
    assert _core.fit_iterations(m, epochs, bs) == ref.fit_iterations(m, epochs, bs) == expected
