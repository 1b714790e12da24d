"""plainnet.gradcheck and Network.diagnose: what they measure and the hints they give."""

import math
import re
import warnings

import numpy as np
import pytest

import plainnet as pn
from plainnet import _diagnostics as diag
from plainnet import _layout, reference
from plainnet.experiments._xor_runs import train_xor

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


def classification_case(rng, loss, dtype="float64", backend="native", m=9):
    """A tanh network with a sigmoid (binary_cross_entropy) or softmax (cross_entropy) output,
    soft targets in [0, 1] or integer class labels."""
    out = "sigmoid" if loss == "binary_cross_entropy" else "softmax"
    net = pn.Network([3, 5, 4], activation="tanh", output_activation=out, loss=loss,
                     init="xavier", init_scale=2.0, seed=int(rng.integers(2**31)), dtype=dtype,
                     backend=backend)
    X = rng.standard_normal((m, 3))
    y = rng.uniform(0, 1, (m, 4)) if out == "sigmoid" else rng.integers(0, 4, m)
    return net, X, y


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("loss", ["binary_cross_entropy", "cross_entropy"])
def test_gradcheck_passes_for_the_cross_entropies(rng, backend, dtype, loss):
    net, X, y = classification_case(rng, loss, dtype, backend)
    result = pn.gradcheck(net, X, y)
    assert result, str(result)
    assert result.checked == net.num_parameters
    assert np.max(np.abs(result.numeric)) > 1e-3
    # E is the reported loss itself here: a step along the gradient lowers net.loss by |g|^2 h
    dW, db = net.gradients(X, y)
    g = np.concatenate([a for pair in zip(dW, db) for a in (pair[0].ravel(), pair[1])])
    np.testing.assert_allclose(result.analytic, g.astype(np.float64)[result.indices])
    if dtype == "float64":
        h = 1e-6
        moved = pn.Network.from_weights([W - h * w for W, w in zip(net.weights, dW)],
                                        [b - h * d for b, d in zip(net.biases, db)],
                                        activation=net.activations, loss=loss)
        drop = net.loss(X, y) - moved.loss(X, y)
        assert drop == pytest.approx(h * float(g @ g), rel=1e-4)


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
    assert reference.objective("mse", net.loss(X, y), 3) == pytest.approx(direct, rel=1e-12)


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


@pytest.mark.parametrize("loss", ["binary_cross_entropy", "cross_entropy"])
def test_gradcheck_finds_a_corrupted_entry_with_the_cross_entropies(rng, monkeypatch, loss):
    net, X, y = classification_case(rng, loss, backend="numpy")
    bad = flat_index([3, 5, 4], 1, "b", (3,))
    honest = reference.gradients

    def corrupted(params, *args):
        loss_value, grads = honest(params, *args)
        grads[bad] *= 1.01
        return loss_value, grads

    monkeypatch.setattr(reference, "gradients", corrupted)
    result = pn.gradcheck(net, X, y)
    assert not result and result.where == (1, "b", (3,))
    assert result.max_error == pytest.approx(0.01 / 1.01, rel=1e-3)


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


# ---------------------------------------------------------------- diagnose: the numbers


def test_saturation_thresholds_are_where_the_slope_is_one_percent():
    for name, top in (("sigmoid", 0.25), ("tanh", 1.0)):
        z = np.array([diag.SATURATION_Z[name]])
        slope = reference.activation_derivative(name, z, reference.activation_value(name, z))
        assert slope[0] == pytest.approx(diag.SLOPE_FRACTION * top, rel=1e-9)
    assert diag.SATURATION_Z["sigmoid"] == pytest.approx(5.98645, abs=1e-5)


@pytest.mark.parametrize("backend", BACKENDS)
def test_layer_numbers(rng, backend):
    # layer 0 (tanh): units 0-1 get |z| >= 4 on every row, unit 2 small; layer 1 (relu):
    # unit 0 is dead (bias -50), unit 1 alive
    W0 = np.array([[20.0, -20.0, 0.01], [0.0, 0.0, 0.01]])
    b0 = np.array([0.0, 0.0, 0.0])
    W1 = rng.standard_normal((3, 2))
    b1 = np.array([-50.0, 50.0])
    W2 = rng.standard_normal((2, 1))
    net = pn.Network.from_weights([W0, W1, W2], [b0, b1, np.zeros(1)],
                                  activation=["tanh", "relu", "linear"], backend=backend)
    X = np.column_stack([rng.choice([-1.0, 1.0], 12) * rng.uniform(0.2, 1.0, 12),
                         rng.standard_normal(12)])
    y = rng.standard_normal((12, 1))
    report = net.diagnose(X, y)
    l0, l1, l2 = report.layers
    assert (l0.activation, l0.units, l1.units, l2.units) == ("tanh", 3, 2, 1)
    assert l0.saturated_fraction == pytest.approx(2 / 3) and l0.dead_fraction is None
    assert l1.dead_fraction == 0.5 and l1.saturated_fraction is None
    assert l2.dead_fraction is None and l2.saturated_fraction is None
    dW, _ = net.gradients(X, y)
    for rep, W, g in zip(report.layers, net.weights, dW):
        assert rep.weight_norm == pytest.approx(np.linalg.norm(W), rel=1e-12)
        scale = max(np.linalg.norm(W), diag.WEIGHT_NORM_FLOOR)
        assert rep.gradient_ratio == pytest.approx(np.linalg.norm(g) / scale, rel=1e-12)
        assert rep.step_ratio is None
    assert report.loss == pytest.approx(net.loss(X, y), rel=1e-15)
    assert report.baseline_loss == pytest.approx(np.var(y), rel=1e-12)
    assert "dead_units" in report.codes  # half of layer 1


@pytest.mark.parametrize("loss", ["mse", "binary_cross_entropy", "cross_entropy"])
def test_baseline_is_the_loss_of_predicting_the_targets_mean(rng, loss):
    # a network whose weights are zero predicts its output bias for every row
    X = rng.standard_normal((40, 3))
    if loss == "cross_entropy":
        y = np.eye(3)[rng.choice(3, 40, p=[0.2, 0.5, 0.3])]
        out, bias = "softmax", np.log(y.mean(axis=0))
    elif loss == "binary_cross_entropy":
        y = rng.uniform(0, 1, (40, 3)) ** 2
        out, bias = "sigmoid", np.log(y.mean(axis=0) / (1 - y.mean(axis=0)))
    else:
        y = rng.standard_normal((40, 3)) * [1.0, 3.0, 0.5]
        out, bias = "linear", y.mean(axis=0)
    net = pn.Network.from_weights([np.zeros((3, 3))], [bias], activation=out, loss=loss)
    report = net.diagnose(X, y)
    assert report.baseline_loss == pytest.approx(net.loss(X, y), rel=1e-12)
    assert report.relative_loss == pytest.approx(1.0, rel=1e-12)
    assert report.loss_name == loss


def test_diagnose_rejects_bad_arguments(xor_data):
    X, y = xor_data
    net = pn.Network([2, 3, 1], seed=0)
    with pytest.raises(TypeError, match=r"history: expected a plainnet.History .*got ndarray"):
        net.diagnose(X, y, history=np.zeros(5))
    with pytest.raises(ValueError, match=r"y: has 2 rows but X has 4"):
        net.diagnose(X, y[:2])
    with pytest.raises(TypeError, match=r"net: expected a plainnet.Network"):
        diag.diagnose("net", X, y)


# ---------------------------------------------------------------- diagnose: the tutorial's failures


def tutorial_run(hidden, lr, iterations, backend, train_backend="native"):
    """The experiments' run (seed 42, sigmoid, full batch), with its History.

    Trained on ``train_backend`` (native unless the backend's own training
    matters: the numpy loop takes seconds for 10,000 iterations), then
    diagnosed by ``backend``.
    """
    X, y = pn.datasets.xor()
    net = pn.Network([2, hidden, 1], activation="sigmoid", seed=42, backend=train_backend)
    history = net.fit(X, y, lr=lr, epochs=iterations)
    # the run the experiment module computes (its native run, which is quick; at lr 100
    # the backends' rounding differences grow, so only the first iterations are compared)
    expected = train_xor(hidden, lr, iterations, seed=42)["loss_history"]
    assert history.loss.shape == expected.shape
    np.testing.assert_allclose(history.loss[:20], expected[:20], rtol=1e-9)
    return net.with_backend(backend), history, X, y


@pytest.mark.parametrize("backend", BACKENDS)
def test_healthy_tutorial_network_gets_no_hint(backend):
    net, history, X, y = tutorial_run(4, 2.0, 10000, backend)
    for report in (net.diagnose(X, y, history), net.diagnose(X, y)):
        assert report.hints == [], str(report)
        assert report.relative_loss < 0.01
        assert "no problems found" in str(report)


@pytest.mark.parametrize("backend", BACKENDS)
def test_lr_too_high(backend):
    # at lr 100 training is chaotic: each backend's own run must give the hint
    net, history, X, y = tutorial_run(4, 100.0, 1000, backend, backend)  # lr_too_high.compute
    report = net.diagnose(X, y, history)
    assert "lr_too_high" in report.codes, str(report)
    assert not {"lr_too_low", "too_few_units", "stuck"} & set(report.codes)
    assert report.rising_fraction > diag.RISING
    # without the history, the saturated units give it away
    alone = net.diagnose(X, y)
    assert {"lr_too_high", "saturated_units"} <= set(alone.codes), str(alone)


@pytest.mark.parametrize("backend", BACKENDS)
def test_lr_too_low(backend):
    net, history, X, y = tutorial_run(4, 0.001, 10000, backend)  # lr_too_low.compute
    report = net.diagnose(X, y, history)
    assert report.codes == ["lr_too_low"], str(report)
    assert max(layer.step_ratio for layer in report.layers) < diag.TINY_STEP
    assert "[lr_too_low] learning rate too low" in str(report)
    # without the lr the report can only say training has not finished
    assert net.diagnose(X, y).codes == ["not_converged"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_too_few_hidden_units(backend):
    net, history, X, y = tutorial_run(2, 2.0, 10000, backend)  # few_hidden.compute
    for report in (net.diagnose(X, y, history), net.diagnose(X, y)):
        assert report.codes == ["too_few_units"], str(report)
        assert 0.3 < report.relative_loss < 0.7  # stuck at about half the baseline


@pytest.mark.parametrize("hidden, lr, iterations, expected", [
    (4, 2.0, 10000, []), (4, 100.0, 1000, ["saturated_units", "lr_too_high"]),
    (4, 0.001, 10000, ["lr_too_low"]), (2, 2.0, 10000, ["too_few_units"])])
def test_the_tutorial_with_binary_cross_entropy(xor_data, hidden, lr, iterations, expected):
    X, y = xor_data
    net = pn.Network([2, hidden, 1], seed=42, loss="binary_cross_entropy")
    if "lr_too_high" in expected:  # the loss ends higher than it started: fit says so
        with pytest.warns(RuntimeWarning, match=r"^fit: the loss did not decrease .*: lr 100.0 "
                                                r"is too high .*; try optimizer='adam'$"):
            history = net.fit(X, y, lr=lr, epochs=iterations)
    else:
        history = net.fit(X, y, lr=lr, epochs=iterations)
    report = net.diagnose(X, y, history)
    assert report.codes == expected, str(report)


def test_adam_steps_are_measured_by_its_own_rule(xor_data):
    X, y = xor_data
    slow = pn.Network([2, 4, 1], seed=42)
    history = slow.fit(X, y, optimizer=pn.optim.Adam(lr=1e-5), epochs=3000)
    report = slow.diagnose(X, y, history)
    assert report.codes == ["lr_too_low"], str(report)
    for layer, W in zip(report.layers, slow.weights):  # each weight moves by about lr
        scale = max(np.linalg.norm(W), diag.WEIGHT_NORM_FLOOR)
        assert layer.step_ratio == pytest.approx(1e-5 * math.sqrt(W.size) / scale)
    fine = pn.Network([2, 4, 1], seed=42)
    history = fine.fit(X, y, optimizer=pn.optim.Adam(lr=0.01), epochs=3000)
    assert fine.diagnose(X, y, history).codes == []


def test_a_wide_network_stuck_on_a_plateau_is_not_called_too_narrow(xor_data):
    X, y = xor_data
    # every hidden unit identical: the symmetric start never breaks symmetry
    net = pn.Network.from_weights([np.ones((2, 6)), np.ones((6, 1))], [np.zeros(6), np.zeros(1)])
    history = net.fit(X, y, lr=2.0, epochs=3000)
    report = net.diagnose(X, y, history)
    assert report.codes == ["stuck"], str(report)


def test_a_network_without_a_hidden_layer_has_too_few_units(xor_data):
    X, y = xor_data
    net = pn.Network([2, 1], seed=42)
    history = net.fit(X, y, lr=2.0, epochs=10000)
    assert np.linalg.norm(net.weights[0]) < 1e-6  # it settles on predicting 0.5 everywhere
    report = net.diagnose(X, y, history)
    assert report.codes == ["too_few_units"], str(report)
    assert "no hidden layer" in report.hints[0].message


def test_an_untrained_network_is_not_converged(xor_data):
    X, y = xor_data
    assert pn.Network([2, 4, 1], seed=42).diagnose(X, y).codes == ["not_converged"]


def test_mini_batch_noise_is_not_oscillation(xor_data):
    X, y = xor_data
    net = pn.Network([2, 4, 1], seed=42)
    history = net.fit(X, y, lr=2.0, epochs=2500, batch_size=1, seed=0)
    assert np.mean(np.diff(history.loss) > 0) > 0.3  # per iteration the loss jumps about
    report = net.diagnose(X, y, history)
    assert report.hints == [], str(report)


# ---------------------------------------------------------------- diagnose: other failures


@pytest.mark.parametrize("backend", BACKENDS)
def test_relu_units_behind_a_large_negative_bias_are_dead(rng, backend):
    X = rng.standard_normal((20, 3))
    y = rng.standard_normal((20, 1))
    start = pn.Network([3, 8, 1], activation="relu", output_activation="linear", init="he", seed=1)
    net = pn.Network.from_weights(start.weights, [np.full(8, -20.0), np.zeros(1)],
                                  activation=["relu", "linear"], backend=backend)
    report = net.diagnose(X, y)
    assert report.layers[0].dead_fraction == 1.0
    assert report.layers[0].gradient_ratio == 0.0
    assert "dead_units" in report.codes, str(report)
    healthy = start.with_backend(backend).diagnose(X, y)
    assert healthy.layers[0].dead_fraction < diag.DEAD_ALARM
    assert "dead_units" not in healthy.codes


def test_deep_sigmoid_network_has_a_vanishing_gradient(rng):
    X = rng.standard_normal((64, 8))
    y = (X[:, :1] * X[:, 1:2] > 0).astype(float)
    deep = pn.Network([8] + [16] * 8 + [1], activation="sigmoid", seed=0)
    report = deep.diagnose(X, y)
    assert "vanishing_gradient" in report.codes, str(report)
    ratios = [layer.gradient_ratio for layer in report.layers]
    assert ratios[0] < 1e-3 * ratios[-1]
    relu = pn.Network([8] + [16] * 8 + [1], activation="relu", output_activation="sigmoid",
                      init="he", seed=0)
    assert "vanishing_gradient" not in relu.diagnose(X, y).codes


def test_diagnose_works_on_float32_and_leaves_the_network_unchanged(xor_data):
    X, y = xor_data
    net = pn.Network([2, 2, 1], seed=42, dtype="float32")
    history = net.fit(X, y, lr=2.0, epochs=10000)
    before = net.weights + net.biases
    report = net.diagnose(X, y, history)
    assert report.codes == ["too_few_units"], str(report)
    assert all(np.array_equal(p, q) for p, q in zip(before, net.weights + net.biases))


# ---------------------------------------------------------------- a fit that fails says so


def test_a_fit_at_chance_warns_once_with_the_diagnosis():
    sklearn_datasets = pytest.importorskip("sklearn.datasets", reason="needs scikit-learn")
    X, y = sklearn_datasets.load_digits(return_X_y=True)
    net = pn.Network([64, 32, 10], activation="relu", output_activation="softmax",
                     loss="cross_entropy", seed=0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        history = net.fit(X, y, epochs=50, batch_size=32, seed=0)  # plain SGD at lr 2.0
    assert len(caught) == 1 and caught[0].category is RuntimeWarning
    message = str(caught[0].message)
    assert message.startswith("fit: the training accuracy is at chance (")
    assert "lr 2.0 is too high for this network (diagnose(): " in message
    assert re.search(r"\(diagnose\(\): (9\d|100) % dead units, lr_too_high\)", message)
    assert message.endswith("try optimizer='adam'")
    assert history.accuracy[-1] < 0.12
    assert caught[0].filename == __file__  # it points at the fit call


def test_a_fit_that_worked_does_not_diagnose(monkeypatch, xor_data):
    X, y = xor_data

    def no_diagnosis(*args, **kwargs):
        raise AssertionError("diagnose ran after a fit that worked")

    monkeypatch.setattr(diag, "diagnose", no_diagnosis)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pn.Network([2, 4, 1], seed=42).fit(X, y, lr=2.0, epochs=2000)


def test_the_failure_warning_can_be_silenced_and_short_fits_are_not_judged(xor_data):
    X, y = xor_data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        pn.Network([2, 4, 1], seed=42).fit(X, y, lr=100.0, epochs=1000)
    # Fewer epochs than FAILURE_MIN_EPOCHS: a rising loss is not called a failure yet.
    pn.Network([2, 4, 1], seed=42).fit(X, y, lr=100.0, epochs=diag.FAILURE_MIN_EPOCHS - 1)


@pytest.mark.parametrize("accuracy,at_chance", [(0.1, True), (0.118, True), (0.119, False)])
def test_chance_is_one_over_the_classes_with_a_margin(accuracy, at_chance):
    net = pn.Network([3, 10], activation="softmax", loss="cross_entropy", seed=0)
    h = pn.History(loss=np.zeros(5), lr=0.1, epochs=5, batch_size=None, seed=0,
                   iterations_per_epoch=1, epoch_loss=np.array([3.0, 2.5, 2.4, 2.3, 2.2]),
                   accuracy=np.full(5, accuracy))
    assert (diag._failure(net, h) is not None) == at_chance
    h.epoch_loss[-1] = 3.0
    assert diag._failure(net, h).startswith("the loss did not decrease (3 in the first epoch")


def test_the_estimators_report_with_convergence_warning_only():
    sklearn = pytest.importorskip("sklearn", reason="needs scikit-learn")
    from sklearn.datasets import load_iris
    from sklearn.exceptions import ConvergenceWarning

    from plainnet.sklearn import MLPClassifier
    X, y = load_iris(return_X_y=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        MLPClassifier(hidden_layer_sizes=(8, 5), max_iter=30, random_state=3).fit(X, y)
    assert [w.category for w in caught] == [ConvergenceWarning], sklearn.__version__
