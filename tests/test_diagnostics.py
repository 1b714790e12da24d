"""plainnet.gradcheck: central differences against Network.gradients."""

import math

import numpy as np
import pytest

import plainnet as pn
from plainnet import _diagnostics as diag
from plainnet import _layout, reference

BACKENDS = ["native", "numpy"]


def backend_module(backend):
    return pn._core if backend == "native" else reference


def flat_index(sizes, layer, kind, index):
    """Position of W_layer[index] or b_layer[index] in the flat parameter array."""
    probe = np.arange(_layout.num_parameters(sizes))
    W, b = _layout.unpack(probe, sizes)[layer]
    return int((W if kind == "W" else b)[index])


def random_case(rng, sizes, activation, dtype="float64", backend="native", m=7):
    net = pn.Network(sizes, activation=activation, init="xavier",
                     seed=int(rng.integers(2**31)), dtype=dtype, backend=backend)
    X = rng.standard_normal((m, sizes[0]))
    y = rng.standard_normal((m, sizes[-1]))
    return net, X, y


# ---------------------------------------------------------------- gradcheck: correct gradients


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("activation", pn.ACTIVATIONS)
def test_gradcheck_passes_on_float64_networks(rng, backend, activation):
    net, X, y = random_case(rng, [3, 5, 4, 2], activation, backend=backend)
    result = pn.gradcheck(net, X, y)
    assert result, str(result)
    assert result.checked == result.total == net.num_parameters
    assert result.max_error <= result.tolerance == diag.GRADCHECK_TOLERANCE["float64"]
    assert np.max(np.abs(result.numeric)) > 1e-3  # a gradient of zeros would pass trivially
    smooth = ~result.crossed_kink  # relu's z = 0 sits between two slopes (see below)
    assert smooth.sum() >= result.checked // 2
    np.testing.assert_allclose(result.analytic[smooth], result.numeric[smooth], rtol=1e-4,
                               atol=1e-7)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu", "gelu", "mish"])
def test_gradcheck_passes_on_float32_networks_differencing_in_float64(rng, backend, activation):
    net, X, y = random_case(rng, [4, 6, 3], activation, dtype="float32", backend=backend)
    result = pn.gradcheck(net, X, y)
    assert result, str(result)
    assert result.dtype == "float32" and result.tolerance == diag.GRADCHECK_TOLERANCE["float32"]
    assert result.numeric.dtype == np.float64
    # the float64 differences see what the float32 gradient misses: they differ a little
    assert 0 < result.max_error < 1e-3
    assert "float64 copy" in str(result) and "tolerance 0.01" in str(result)


def test_gradcheck_passes_on_the_trained_tutorial_network(xor_data):
    # at a minimum every gradient entry is tiny: the floor keeps the noise from failing it
    X, y = xor_data
    net = pn.Network([2, 4, 1], seed=42)
    net.fit(X, y, lr=2.0, epochs=10000)
    result = pn.gradcheck(net, X, y)
    assert result, str(result)
    assert np.max(np.abs(result.analytic)) < 1e-4


def test_gradcheck_objective_is_the_one_gradients_differentiates(rng):
    net, X, y = random_case(rng, [3, 4, 3], "tanh")
    pred = net.forward(X)
    direct = np.sum((pred - y) ** 2) / (2 * X.shape[0])
    assert diag.objective_from_loss("mse", net.loss(X, y), 3) == pytest.approx(direct, rel=1e-12)


def test_gradcheck_leaves_out_differences_across_a_relu_kink():
    # a row of zeros puts every first-layer z at exactly b = 0: the bias's +-eps straddle the kink
    net = pn.Network.from_weights([[[1.0, -2.0, 0.5], [0.3, 0.8, -1.2]], [[1.0], [-0.5], [2.0]]],
                                  [[0.0, 0.0, 0.0], [0.1]], activation=["relu", "linear"])
    X = np.array([[0.0, 0.0], [1.0, 0.5], [-0.4, 1.2], [0.7, -0.9]])
    y = np.array([[0.5], [-1.0], [2.0], [0.3]])
    result = pn.gradcheck(net, X, y)
    assert result, str(result)
    crossed = [diag._locate(int(i), (2, 3, 1)) for i in result.indices[result.crossed_kink]]
    assert crossed and all(layer == 0 and kind == "b" for layer, kind, _ in crossed)
    assert np.min(result.errors[result.crossed_kink]) > 100 * result.tolerance  # they disagree
    assert "straddled a ReLU kink" in str(result)


def test_gradcheck_samples_big_networks_reproducibly(rng):
    net, X, y = random_case(rng, [20, 64, 64, 5], "tanh", m=5)
    default = pn.gradcheck(net, X, y)
    assert default and default.checked == diag.DEFAULT_MAX_PARAMS < default.total == 5829
    assert f"a random sample of 2000 of {net.num_parameters}" in str(default)
    a = pn.gradcheck(net, X, y, max_params=50, seed=3)
    b = pn.gradcheck(net, X, y, max_params=50, seed=3)
    c = pn.gradcheck(net, X, y, max_params=50, seed=4)
    assert a.checked == 50 and np.array_equal(a.indices, b.indices)
    assert not np.array_equal(a.indices, c.indices)
    assert np.unique(a.indices).size == 50
    assert pn.gradcheck(net, X, y, max_params=None).checked == net.num_parameters


def test_gradcheck_leaves_the_network_unchanged(rng):
    net, X, y = random_case(rng, [3, 5, 2], "sigmoid", dtype="float32")
    before = [w.copy() for w in net.weights] + [b.copy() for b in net.biases]
    pn.gradcheck(net, X, y)
    after = net.weights + net.biases
    assert all(np.array_equal(p, q) for p, q in zip(before, after))
    assert net.dtype == np.float32


# ---------------------------------------------------------------- gradcheck: wrong gradients


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("layer, kind, index, change",
                         [(1, "W", (3, 1), 0.05), (0, "b", (2,), -0.05), (2, "W", (0, 0), 1e-3)])
def test_gradcheck_finds_a_corrupted_entry(rng, monkeypatch, backend, dtype, layer, kind, index,
                                           change):
    sizes = [3, 5, 4, 2]
    net, X, y = random_case(rng, sizes, "tanh", dtype=dtype, backend=backend)
    if dtype == "float32" and abs(change) < 1e-2:
        change = 0.05  # below float32's tolerance a change is not an error
    bad = flat_index(sizes, layer, kind, index)
    module = backend_module(backend)
    honest = module.gradients

    def corrupted(params, *args):
        loss, grads = honest(params, *args)
        grads[bad] += grads.dtype.type(change) * max(1.0, abs(float(grads[bad])))
        return loss, grads

    assert pn.gradcheck(net, X, y)  # passes before
    monkeypatch.setattr(module, "gradients", corrupted)
    result = pn.gradcheck(net, X, y)
    assert not result
    assert result.where == (layer, kind, index)
    assert result.max_error > result.tolerance
    assert "FAILED" in str(result) and f"layer {layer} {kind}[" in str(result)


def test_gradcheck_fails_on_nan_gradients(rng, monkeypatch):
    net, X, y = random_case(rng, [2, 3, 1], "sigmoid", backend="numpy")
    honest = reference.gradients

    def nan_at_4(params, *args):
        loss, grads = honest(params, *args)
        grads[4] = np.nan
        return loss, grads

    monkeypatch.setattr(reference, "gradients", nan_at_4)
    result = pn.gradcheck(net, X, y)
    assert not result and result.max_error == math.inf
    assert result.where == diag._locate(4, (2, 3, 1))


# ---------------------------------------------------------------- gradcheck: bad arguments


@pytest.mark.parametrize("kwargs, exc, match", [
    ({"eps": 0}, ValueError, r"eps: expected a finite number > 0, got 0"),
    ({"eps": -1e-6}, ValueError, r"eps: .*> 0"),
    ({"eps": float("nan")}, ValueError, r"eps: .*finite"),
    ({"eps": "small"}, TypeError, r"eps: expected a real number, got str"),
    ({"max_params": 0}, ValueError, r"max_params: expected an int >= 1, got 0"),
    ({"max_params": 2.5}, TypeError, r"max_params: expected an int"),
    ({"seed": -1}, ValueError, r"seed: expected an int >= 0"),
])
def test_gradcheck_rejects_bad_arguments(xor_data, kwargs, exc, match):
    X, y = xor_data
    with pytest.raises(exc, match=match):
        pn.gradcheck(pn.Network([2, 3, 1], seed=0), X, y, **kwargs)


def test_gradcheck_rejects_bad_data_and_non_networks(xor_data):
    X, y = xor_data
    net = pn.Network([2, 3, 1], seed=0)
    with pytest.raises(ValueError, match=r"X: expected 2 columns, got shape \(4, 3\)"):
        pn.gradcheck(net, np.ones((4, 3)), y)
    with pytest.raises(ValueError, match=r"y: has 3 rows but X has 4"):
        pn.gradcheck(net, X, y[:3])
    with pytest.raises(TypeError, match=r"net: expected a plainnet.Network, got list"):
        pn.gradcheck([net], X, y)
