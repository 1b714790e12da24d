"""The reference's gradients against central finite differences of E.

E = 1/(2m) * sum over samples and outputs of (pred - y)^2 is the objective the
training gradient belongs to; the reported loss is the MSE, mean over all
elements. The native gradients equal the reference's (test_kernels.py), so
these tests vouch for both.
"""

import numpy as np
import pytest

from plainnet import reference as ref

ACTS = ref.ACTIVATIONS
KINKED = {"relu", "leaky_relu", "elu"}  # derivative jumps (or its slope jumps) at z = 0


def objective(params, sizes, acts, X, y):
    pred = ref.forward(params, sizes, acts, "mse", X)
    return float(np.sum((pred - y) ** 2) / (2 * X.shape[0]))


def central_differences(params, sizes, acts, X, y, h=1e-6):
    g = np.zeros_like(params)
    for i in range(params.size):
        p = params.copy()
        p[i] += h
        up = objective(p, sizes, acts, X, y)
        p[i] -= 2 * h
        down = objective(p, sizes, acts, X, y)
        g[i] = (up - down) / (2 * h)
    return g


def draw(rng, sizes, acts, m=6):
    """Random parameters and data whose pre-activations stay clear of kinks."""
    for _ in range(100):
        params = rng.standard_normal(ref.num_parameters(sizes)) * 0.8
        X = rng.standard_normal((m, sizes[0]))
        y = rng.standard_normal((m, sizes[-1]))
        zs = [z for z, _ in ref.forward_trace(params, sizes, acts, "mse", X)]
        kinked = [z for z, a in zip(zs, acts) if a in KINKED]
        if all(np.min(np.abs(z)) > 1e-3 for z in kinked):
            return params, X, y
    raise AssertionError("could not draw a case away from the kinks")


DEPTH_SIZES = {1: [3, 2], 2: [3, 4, 2], 3: [2, 5, 3, 2], 4: [3, 4, 3, 5, 2]}


@pytest.mark.parametrize("depth", [1, 2, 3, 4])
@pytest.mark.parametrize("name", ACTS)
def test_gradients_match_finite_differences(rng, name, depth):
    sizes = DEPTH_SIZES[depth]
    acts = [name] * depth
    params, X, y = draw(rng, sizes, acts)
    loss, grads = ref.gradients(params, sizes, acts, "mse", X, y)
    numeric = central_differences(params, sizes, acts, X, y)
    np.testing.assert_allclose(grads, numeric, rtol=1e-6, atol=1e-8)
    assert np.max(np.abs(grads)) > 1e-3  # a vanishing gradient would pass trivially


@pytest.mark.parametrize("depth", [2, 3, 4])
def test_gradients_with_mixed_activations(rng, depth):
    sizes = DEPTH_SIZES[depth]
    for shift in range(len(ACTS)):
        acts = [ACTS[(shift + 2 * l) % len(ACTS)] for l in range(depth)]
        params, X, y = draw(rng, sizes, acts)
        _, grads = ref.gradients(params, sizes, acts, "mse", X, y)
        numeric = central_differences(params, sizes, acts, X, y)
        np.testing.assert_allclose(grads, numeric, rtol=1e-6, atol=1e-8, err_msg=str(acts))


@pytest.mark.parametrize("name", ACTS)
def test_activation_derivative_matches_finite_differences(rng, name):
    z = rng.standard_normal(400) * 3
    z = z[np.abs(z) > 1e-3] if name in KINKED else z
    h = 1e-6
    numeric = (ref.activation_value(name, z + h) - ref.activation_value(name, z - h)) / (2 * h)
    analytic = ref.activation_derivative(name, z, ref.activation_value(name, z))
    np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-9)


def test_reported_loss_is_mse_and_gradient_is_of_E(rng):
    # With K outputs, MSE = mean over m*K elements while E = sum / (2m): E = K * MSE / 2.
    sizes, acts = [3, 4, 5], ["tanh", "linear"]
    params, X, y = draw(rng, sizes, acts, m=7)
    loss, _ = ref.gradients(params, sizes, acts, "mse", X, y)
    pred = ref.forward(params, sizes, acts, "mse", X)
    assert loss == pytest.approx(np.mean((pred - y) ** 2), rel=1e-14)
    assert objective(params, sizes, acts, X, y) == pytest.approx(5 * loss / 2, rel=1e-14)
    # the reference's own conversion from the reported loss to E says the same
    assert ref.objective("mse", loss, 5) == pytest.approx(objective(params, sizes, acts, X, y),
                                                          rel=1e-14)


def test_tutorial_backward_pass_is_the_gradient_of_E(rng):
    # The tutorial's hand-written backward pass for a 2-4-1 sigmoid network.
    X = rng.integers(0, 2, (4, 2)).astype(float)
    y = rng.integers(0, 2, (4, 1)).astype(float)
    sizes, acts = [2, 4, 1], ["sigmoid", "sigmoid"]
    params = rng.standard_normal(ref.num_parameters(sizes)) * 0.5
    (W1, b1), (W2, b2) = ref.unpack(params, sizes)
    sig = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
    a_h = sig(X @ W1 + b1)
    a_o = sig(a_h @ W2 + b2)
    delta_o = (a_o - y) * a_o * (1 - a_o)
    delta_h = (delta_o @ W2.T) * a_h * (1 - a_h)
    tutorial = np.concatenate([(X.T @ delta_h / 4).ravel(), delta_h.mean(0),
                               (a_h.T @ delta_o / 4).ravel(), delta_o.mean(0)])
    _, grads = ref.gradients(params, sizes, acts, "mse", X, y)
    np.testing.assert_allclose(grads, tutorial, rtol=1e-12, atol=1e-15)
