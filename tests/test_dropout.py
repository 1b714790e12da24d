"""Dropout: the masks, training with them on both backends, and everything that keeps the rates."""

from __future__ import annotations

import io
import json
import math
import pickle
import zipfile

import numpy as np
import pytest
from conftest import assert_close

import plainnet as pn
from plainnet import _core
from plainnet import reference as ref
from plainnet._plan import FitPlan

# The fits here train on random labels for a few epochs to compare backends,
# masks and threads; the failed-fit warning (accuracy at chance) is beside the point.
pytestmark = pytest.mark.filterwarnings("ignore:fit:RuntimeWarning")

RTOL = {"float64": 1e-12, "float32": 1e-4}  # native vs reference, as elsewhere


@pytest.fixture
def threads():
    """Restores the thread count after a test that changes it."""
    before = _core.get_num_threads()
    yield
    _core.set_num_threads(before)


def _classification(rng, n=97, inputs=5, classes=3, dtype="float64"):
    X = rng.standard_normal((n, inputs)).astype(dtype)
    y = rng.integers(0, classes, n)
    return X, y


def _net(dropout, dtype="float64", backend="native", act="tanh", layers=(5, 17, 9, 3)):
    return pn.Network(list(layers), activation=act, output_activation="softmax",
                      loss="cross_entropy", seed=1, dtype=dtype, backend=backend,
                      dropout=dropout)


# ---------------------------------------------------------------- the masks


@pytest.mark.parametrize("n", [0, 1, 2, 7, 1000, 4097])
@pytest.mark.parametrize("p", [0.0, 1e-9, 0.1, 0.5, 0.9, 1 - 2**-40])
def test_masks_are_the_same_in_the_core_and_in_numpy(n, p):
    for key in [(0, 0, 0, 0), (2**64 - 1, 3, 1, 0), (12345, 2**40, 77, 5)]:
        native = _core.dropout_mask(n, p, *key)
        numpy = ref.dropout_mask(n, p, *key)
        assert native.dtype == numpy.dtype == np.float64
        assert np.array_equal(native, numpy), (n, p, key)


@pytest.mark.parametrize("p", [0.05, 0.2, 0.5, 0.8])
def test_masks_drop_a_fraction_p_and_scale_the_rest(p):
    n = 200_000
    keep = ref.dropout_mask(n, p, seed=3, epoch=1, batch=2, layer=0)
    dropped = float(np.mean(keep == 0))
    # Binomial: 5 standard deviations.
    assert abs(dropped - p) <= 5 * math.sqrt(p * (1 - p) / n)
    assert set(np.unique(keep)) == {0.0, 1.0 / (1.0 - p)}
    # Kept units are scaled so that the mean multiplier is 1 (inverted dropout).
    assert abs(float(keep.mean()) - 1.0) <= 5 * math.sqrt(p / (1 - p) / n)
    # Even and odd units (the two halves of each hash) drop alike, and no
    # unit's fate follows its neighbour's.
    for half in (keep[0::2], keep[1::2]):
        assert abs(float(np.mean(half == 0)) - p) <= 5 * math.sqrt(p * (1 - p) / (n / 2))
    both = float(np.mean((keep[:-1] == 0) & (keep[1:] == 0)))
    assert abs(both - p * p) <= 5 * math.sqrt(p * p * (1 - p * p) / n)


def test_every_part_of_the_key_changes_the_mask():
    base = (9, 4, 2, 1)
    first = ref.dropout_mask(5000, 0.5, *base)
    for i in range(4):
        key = list(base)
        key[i] += 1
        other = ref.dropout_mask(5000, 0.5, *key)
        agree = float(np.mean((other == 0) == (first == 0)))
        assert 0.45 < agree < 0.55, (i, agree)  # independent draws agree half the time
    assert np.array_equal(ref.dropout_mask(5000, 0.5, *base), first)  # and it is a function


def test_float32_masks_hold_the_float32_scale():
    keep = ref.dropout_mask(1000, 0.3, 1, 2, 3, 4, dtype=np.float32)
    assert keep.dtype == np.float32
    assert set(np.unique(keep)) == {np.float32(0), np.float32(1 / 0.7)}
    wide = ref.dropout_mask(1000, 0.3, 1, 2, 3, 4)
    assert np.array_equal(keep == 0, wide == 0)


@pytest.mark.parametrize("p", [-0.1, 1.0, 2.0, float("nan")])
def test_core_mask_refuses_a_bad_rate(p):
    with pytest.raises(ValueError, match=r"p: expected a rate in \[0, 1\)"):
        _core.dropout_mask(4, p, 0, 0, 0, 0)


# ---------------------------------------------------------------- training, both backends


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("batch_size", [None, 16, 1])
@pytest.mark.parametrize("act", ["tanh", "sigmoid", "relu"])
def test_native_and_numpy_fits_with_dropout_agree(rng, dtype, batch_size, act):
    # tanh and sigmoid take their derivative from a, which must be the output
    # before dropout; relu's zeros meet dropped units.
    X, y = _classification(rng, dtype=dtype)
    epochs = 2 if batch_size == 1 else 6
    w = rng.uniform(0.5, 2.0, X.shape[0])
    runs = []
    for backend in ("native", "numpy"):
        net = _net([0.3, 0.5], dtype, backend, act)
        h = net.fit(X, y, optimizer=pn.optim.Adam(lr=0.01), epochs=epochs,
                    batch_size=batch_size, seed=7, sample_weight=w, l2=0.01)
        runs.append((net, h))
    (a, ha), (b, hb) = runs
    assert_close(ha.loss, hb.loss, dtype, RTOL[dtype])
    assert_close(ha.accuracy, hb.accuracy, dtype, RTOL[dtype])
    for u, v in zip(a.weights + a.biases, b.weights + b.biases):
        assert_close(u, v, dtype, RTOL[dtype])
    # And the masks made a difference: without them the fit goes elsewhere.
    plain = _net(0.0, dtype, "native", act)
    hp = plain.fit(X, y, optimizer=pn.optim.Adam(lr=0.01), epochs=epochs,
                   batch_size=batch_size, seed=7, sample_weight=w, l2=0.01)
    assert not np.allclose(hp.loss, ha.loss, rtol=1e-3)


@pytest.mark.parametrize("backend", ["native", "numpy"])
def test_one_full_batch_step_is_a_step_of_the_masked_network(rng, backend):
    """The update is minus lr times the gradient of the network with the masks
    applied, as torch computes it with the same masks multiplied in."""
    torch = pytest.importorskip("torch")
    X, y = _classification(rng)
    net = _net([0.25, 0.5], backend=backend, act="sigmoid")
    before = [W.copy() for W in net.weights], [b.copy() for b in net.biases]
    lr, seed = 0.1, 11
    loss = net.step(X, y, lr=lr, seed=seed)

    Ws = [torch.tensor(W, requires_grad=True) for W in before[0]]
    bs = [torch.tensor(b, requires_grad=True) for b in before[1]]
    a = torch.from_numpy(X)
    for l, (W, b) in enumerate(zip(Ws, bs)):
        z = a @ W + b
        if l == len(Ws) - 1:
            break
        a = torch.sigmoid(z)
        keep = ref.dropout_mask(a.numel(), net.dropout[l], seed, 0, 0, l).reshape(a.shape)
        a = a * torch.from_numpy(keep)
    expected = torch.nn.functional.cross_entropy(z, torch.from_numpy(y))
    expected.backward()
    assert loss == pytest.approx(float(expected.detach()), rel=1e-12)
    for W0, W, Wt in zip(before[0], net.weights, Ws):
        assert_close(W, W0 - lr * Wt.grad.numpy())
    for b0, b, bt in zip(before[1], net.biases, bs):
        assert_close(b, b0 - lr * bt.grad.numpy())


def test_a_full_batch_epoch_uses_the_masks_of_a_step_with_the_same_seed(rng):
    X, y = _classification(rng)
    stepped, fitted = _net(0.4), _net(0.4)
    stepped.step(X, y, lr=0.5, seed=21)
    fitted.fit(X, y, optimizer=pn.optim.SGD(lr=0.5), epochs=1, seed=21)
    for u, v in zip(stepped.weights, fitted.weights):
        assert np.array_equal(u, v)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_native_and_numpy_steps_agree_and_the_seed_is_the_key(rng, dtype):
    X, y = _classification(rng, dtype=dtype)
    nets = {b: _net([0.2, 0.6], dtype, b) for b in ("native", "numpy")}
    losses = {b: [n.step(X, y, lr=0.3, seed=s) for s in (1, 2, 1)] for b, n in nets.items()}
    assert_close(losses["native"], losses["numpy"], dtype, RTOL[dtype])
    for u, v in zip(nets["native"].weights, nets["numpy"].weights):
        assert_close(u, v, dtype, RTOL[dtype])
    again, other = _net([0.2, 0.6], dtype), _net([0.2, 0.6], dtype)
    again.step(X, y, lr=0.3, seed=1)
    other.step(X, y, lr=0.3, seed=2)
    first = _net([0.2, 0.6], dtype)
    first.step(X, y, lr=0.3, seed=1)
    assert np.array_equal(again.weights[0], first.weights[0])
    assert not np.array_equal(other.weights[0], first.weights[0])


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_fits_with_dropout_do_not_depend_on_threads_or_variant(variant, threads, dtype):
    # Batches of 40 rows of 400 inputs are gathered by the pool, the products
    # of 400 x 96 are split over it.
    rng = np.random.default_rng(5)
    X = rng.random((130, 400)).astype(dtype)
    y = rng.integers(0, 4, 130)
    runs = []
    for n in (1, 2, 3):
        _core.set_num_threads(n)
        for batch_size in (None, 40):
            net = pn.Network([400, 96, 33, 4], activation="relu", output_activation="softmax",
                             loss="cross_entropy", init="he", seed=3, dtype=dtype,
                             dropout=[0.5, 0.1])
            h = net.fit(X, y, optimizer=pn.optim.SGD(lr=0.05, momentum=0.9), epochs=3,
                        batch_size=batch_size, seed=4)
            runs.append((n, batch_size, h.loss, net.weights))
    for n, batch_size, loss, weights in runs:
        first = next(r for r in runs if r[1] == batch_size)
        assert np.array_equal(loss, first[2]), (n, batch_size)
        assert all(np.array_equal(a, b) for a, b in zip(weights, first[3]))


@pytest.mark.parametrize("backend", ["native", "numpy"])
@pytest.mark.parametrize("batch_size", [None, 10])
def test_a_fit_split_in_two_equals_one_fit(rng, backend, batch_size):
    """Today's guarantee for shuffles holds for the masks too: the optimizer
    counts the epochs, and the second fit with the same seed draws the masks
    of the epochs that follow."""
    X, y = _classification(rng)
    whole = _net([0.3, 0.3], backend=backend)
    h = whole.fit(X, y, optimizer=pn.optim.Adam(lr=0.01), epochs=5, batch_size=batch_size,
                  seed=3)
    split = _net([0.3, 0.3], backend=backend)
    h1 = split.fit(X, y, optimizer=pn.optim.Adam(lr=0.01), epochs=2, batch_size=batch_size,
                   seed=3)
    h2 = split.fit(X, y, optimizer=split.optimizer, epochs=3, batch_size=batch_size, seed=3)
    assert np.array_equal(np.concatenate([h1.loss, h2.loss]), h.loss)
    for u, v in zip(whole.weights, split.weights):
        assert np.array_equal(u, v)


@pytest.mark.parametrize("backend", ["native", "numpy"])
def test_a_fit_interrupted_by_save_and_load_equals_one_fit(rng, tmp_path, backend):
    X, y = _classification(rng)
    whole = _net([0.3, 0.0], backend=backend)
    whole.fit(X, y, optimizer=pn.optim.Adam(lr=0.01), epochs=4, batch_size=8, seed=5)
    half = _net([0.3, 0.0], backend=backend)
    half.fit(X, y, optimizer=pn.optim.Adam(lr=0.01), epochs=2, batch_size=8, seed=5)
    loaded = pn.Network.load(half.save(tmp_path / "half.npz"), backend=backend)
    assert loaded.dropout == [0.3, 0.0]
    loaded.fit(X, y, optimizer=loaded.optimizer, epochs=2, batch_size=8, seed=5)
    for u, v in zip(whole.weights, loaded.weights):
        assert np.array_equal(u, v)


@pytest.mark.parametrize("backend", ["native", "numpy"])
def test_zero_dropout_is_no_dropout(rng, backend):
    X, y = _classification(rng)
    runs = []
    for rates in (None, 0.0, [0.0, 0.0], np.zeros(2)):
        net = (_net(0.0, backend=backend) if rates is None else _net(rates, backend=backend))
        h = net.fit(X, y, optimizer=pn.optim.Adam(lr=0.01), epochs=3, batch_size=16, seed=1)
        net.step(X, y, lr=0.1, seed=4)
        runs.append((h.loss, net.weights))
    plain = pn.Network([5, 17, 9, 3], activation="tanh", output_activation="softmax",
                       loss="cross_entropy", seed=1, backend=backend)
    h = plain.fit(X, y, optimizer=pn.optim.Adam(lr=0.01), epochs=3, batch_size=16, seed=1)
    plain.step(X, y, lr=0.1)
    for loss, weights in runs:
        assert np.array_equal(loss, h.loss)
        assert all(np.array_equal(a, b) for a, b in zip(weights, plain.weights))


@pytest.mark.parametrize("backend", ["native", "numpy"])
def test_inference_is_unaffected(rng, backend):
    X, y = _classification(rng)
    net = _net([0.5, 0.5], backend=backend)
    net.fit(X, y, optimizer=pn.optim.Adam(lr=0.01), epochs=3, batch_size=16, seed=1)
    same = pn.Network.from_weights(net.weights, net.biases, activation=net.activations,
                                   loss="cross_entropy", backend=backend)
    assert same.dropout == [0.0, 0.0]
    assert np.array_equal(net.forward(X), same.forward(X))
    assert np.array_equal(net.predict_classes(X), same.predict_classes(X))
    assert net.loss(X, y) == same.loss(X, y)
    assert net.evaluate(X, y) == same.evaluate(X, y)
    for u, v in zip(net.gradients(X, y)[0], same.gradients(X, y)[0]):
        assert np.array_equal(u, v)
    for (z1, a1), (z2, a2) in zip(net.forward_trace(X), same.forward_trace(X)):
        assert np.array_equal(z1, z2) and np.array_equal(a1, a2)
    # Twice the same call, twice the same answer: nothing random at inference.
    assert np.array_equal(net.forward(X), net.forward(X))


def test_validation_is_evaluated_without_dropout(rng):
    X, y = _classification(rng)
    net = _net(0.5)
    h = net.fit(X, y, optimizer=pn.optim.Adam(lr=0.01), epochs=2, validation_data=(X, y),
                seed=2)
    # The last epoch's validation loss is the loss of the final weights on X.
    assert h.val_loss[-1] == pytest.approx(net.loss(X, y), rel=1e-12)
    # The training loss is that of the masked network: not the same.
    assert h.epoch_loss[-1] != pytest.approx(h.val_loss[-1], rel=1e-6)


def test_gradient_with_fixed_masks_matches_finite_differences(rng):
    """reference.py's backward through dropout is the derivative of its forward."""
    X, y = _classification(rng, n=12)
    net = _net([0.3, 0.6], act="tanh")
    t = np.eye(3)[y]
    params = net._params.copy()
    sizes, acts = net.layers, net.activations
    key = (5, 1, 2)
    _, grads, _ = ref._gradients_and_trace(params, sizes, acts, "cross_entropy", X, t,
                                           dropout=net.dropout, key=key)

    def objective(p):
        value, _, _ = ref._gradients_and_trace(p, sizes, acts, "cross_entropy", X, t,
                                               dropout=net.dropout, key=key)
        return value

    h = 1e-6
    for i in rng.choice(params.size, 40, replace=False):
        e = np.zeros_like(params)
        e[i] = h
        numeric = (objective(params + e) - objective(params - e)) / (2 * h)
        assert numeric == pytest.approx(grads[i], rel=1e-5, abs=1e-8)


# ---------------------------------------------------------------- the rates, kept


def test_rates_are_shown(capsys):
    net = pn.Network([4, 8, 8, 2], dropout=0.25)
    assert net.dropout == [0.25, 0.25]
    assert "dropout=0.25" in repr(net)
    assert "dropout=[0.1, 0.0]" in repr(pn.Network([4, 8, 8, 2], dropout=[0.1, 0]))
    assert "dropout" not in repr(pn.Network([4, 8, 8, 2]))
    text = net.summary(print_fn=None)
    assert text.count("dropout") == 2 and "p = 0.25" in text
    assert "dropout" not in pn.Network([4, 8, 8, 2]).summary(print_fn=None)
    assert text.splitlines()[-5] == "total parameters: 130"


@pytest.mark.parametrize("backend", ["native", "numpy"])
def test_copies_pickles_and_saves_keep_the_rates(tmp_path, backend):
    net = pn.Network([4, 8, 6, 2], activation="relu", output_activation="sigmoid",
                     loss="binary_cross_entropy", dropout=[0.2, 0.0], seed=0, dtype="float32",
                     backend=backend)
    loaded = pn.Network.load(net.save(tmp_path / "n.npz"), backend=backend)
    for other in (net.copy(), net.with_backend("numpy"), pickle.loads(pickle.dumps(net)),
                  loaded):
        assert other.dropout == [0.2, 0.0]
        assert repr(other).replace("'numpy'", f"'{backend}'") == repr(net)
    with zipfile.ZipFile(tmp_path / "n.npz") as z:
        meta = json.loads(str(np.load(io.BytesIO(z.read("meta.npy")))))
    assert meta["dropout"] == [0.2, 0.0]
    # Without dropout a save has no such key (older readers refuse unknown keys).
    plain = pn.Network([4, 8, 2]).save(tmp_path / "plain.npz")
    with zipfile.ZipFile(plain) as z:
        assert "dropout" not in json.loads(str(np.load(io.BytesIO(z.read("meta.npy")))))
    assert pn.Network.load(plain).dropout == [0.0]


def test_pickles_of_before_dropout_load_without_it():
    net = pn.Network([3, 4, 2], seed=0)
    state = net.__getstate__()
    del state["dropout"]
    old = pn.Network.__new__(pn.Network)
    old.__setstate__(state)
    assert old.dropout == [0.0]


def _rewrite_meta(path, out, change):
    with zipfile.ZipFile(path) as z:
        items = {n: z.read(n) for n in z.namelist()}
    meta = json.loads(str(np.load(io.BytesIO(items["meta.npy"]))))
    change(meta)
    f = io.BytesIO()
    np.save(f, np.array(json.dumps(meta)))
    items["meta.npy"] = f.getvalue()
    with zipfile.ZipFile(out, "w") as z:
        for name, data in items.items():
            z.writestr(name, data)
    return out


@pytest.mark.parametrize("value, message", [
    ([0.5], r"meta.dropout: expected a list of 2 rates"),
    ([0.5, 0.5, 0.5], r"meta.dropout: expected a list of 2 rates"),
    (0.5, r"meta.dropout: expected a list of 2 rates \(one per hidden layer\), got float"),
    ("0.5", r"meta.dropout: expected a list of 2 rates"),
    ({"p": 0.5}, r"meta.dropout: expected a list of 2 rates"),
    ([0.5, "0.5"], r"meta.dropout\[1\]: expected a number, got str"),
    ([True, 0.5], r"meta.dropout\[0\]: expected a number, got bool"),
    ([None, 0.5], r"meta.dropout\[0\]: expected a number, got NoneType"),
    ([[0.5], 0.5], r"meta.dropout\[0\]: expected a number, got list"),
    ([1.0, 0.5], r"meta.dropout\[0\]: expected a rate in \[0, 1\), got 1.0"),
    ([0.5, -0.1], r"meta.dropout\[1\]: expected a rate in \[0, 1\), got -0.1"),
    ([0.5, 1e308], r"meta.dropout\[1\]: expected a rate in \[0, 1\)"),
    ([float("nan"), 0.5], r"'meta' is not valid JSON"),  # the reader's own refusal
    ([float("inf"), 0.5], r"'meta' is not valid JSON"),
    ([10**400, 0.5], r"meta.dropout\[0\]"),
])
def test_hostile_saved_rates_are_refused(tmp_path, value, message):
    good = pn.Network([3, 5, 4, 2], dropout=0.1, seed=0).save(tmp_path / "good.npz")

    def change(meta):
        meta["dropout"] = value

    bad = _rewrite_meta(good, tmp_path / "bad.npz", change)
    with pytest.raises(ValueError, match=message) as info:
        pn.Network.load(bad)
    assert "bad.npz" in str(info.value)


def test_hostile_pickled_rates_are_refused():
    state = pn.Network([3, 5, 2], seed=0).__getstate__()
    for value, error in [([0.5, 0.5], "expected 1 rates"), (1.5, "expected a rate"),
                         ("x", "expected a rate in"), ([float("nan")], "expected a rate")]:
        state["dropout"] = value
        net = pn.Network.__new__(pn.Network)
        with pytest.raises(ValueError, match=f"unpickle: dropout.*{error}"):
            net.__setstate__(state)


@pytest.mark.parametrize("value, error, message", [
    (1.0, ValueError, r"dropout: expected a rate in \[0, 1\), got 1.0"),
    (-0.5, ValueError, r"dropout: expected a rate in \[0, 1\), got -0.5"),
    (float("nan"), ValueError, r"dropout: expected a rate in \[0, 1\), got nan"),
    ([0.5], ValueError, r"dropout: expected 2 rates \(one per hidden layer\), got 1"),
    ([0.5, 0.5, 0.5], ValueError, r"dropout: expected 2 rates"),
    ([0.5, 1.5], ValueError, r"dropout\[1\]: expected a rate in \[0, 1\), got 1.5"),
    ("0.5", TypeError, r"dropout: expected a rate in \[0, 1\) or a list"),
    (True, TypeError, r"dropout: expected a rate in \[0, 1\) or a list"),
    (None, TypeError, r"dropout: expected a rate in \[0, 1\) or a list"),
    ([0.5, "x"], TypeError, r"dropout\[1\]: expected a real number"),
    ([0.5, None], TypeError, r"dropout\[1\]: expected a real number"),
])
def test_bad_rates_are_refused(value, error, message):
    with pytest.raises(error, match=message):
        pn.Network([4, 8, 8, 2], dropout=value)
    with pytest.raises(error, match=message):
        pn.Network.from_weights([np.ones((4, 8)), np.ones((8, 8)), np.ones((8, 2))],
                                [np.zeros(8), np.zeros(8), np.zeros(2)], dropout=value)


def test_a_network_without_hidden_layers_takes_no_dropout():
    assert pn.Network([3, 2], dropout=0.0).dropout == []
    assert pn.Network([3, 2], dropout=[]).dropout == []
    with pytest.raises(ValueError, match="dropout: the network has no hidden layer"):
        pn.Network([3, 2], dropout=0.5)


def test_core_refuses_bad_rates_itself():
    X, y = np.ones((2, 3)), np.ones((2, 2))
    params = np.zeros(pn._core.num_parameters([3, 4, 2]))
    args = (params, [3, 4, 2], ["tanh", "linear"], "mse", X, y)
    with pytest.raises(ValueError, match=r"dropout: expected 1 rates \(one per hidden layer\)"):
        _core.step(*args, 0.1, dropout=[0.1, 0.1])
    with pytest.raises(ValueError, match=r"dropout: every rate must be in \[0, 1\)"):
        _core.step(*args, 0.1, dropout=[1.0])
    plan = FitPlan(optimizer={"name": "sgd", "lr": 0.1}, state=[], epochs=1)
    with pytest.raises(ValueError, match=r"dropout: every rate must be in \[0, 1\)"):
        _core.fit(*args, plan, dropout=[float("nan")])
    with pytest.raises(ValueError, match=r"dropout: expected 1 rates"):
        ref.fit(*args, plan, dropout=[0.1, 0.2])
    assert np.array_equal(params, np.zeros_like(params))  # nothing trained


def test_step_seed_is_checked(rng):
    X, y = _classification(rng)
    net = _net(0.5)
    with pytest.raises(ValueError, match=r"seed: expected an int in \[0, 2\*\*64\)"):
        net.step(X, y, lr=0.1, seed=2**64)
    with pytest.raises(TypeError, match="seed: expected an int"):
        net.step(X, y, lr=0.1, seed=1.5)


# ---------------------------------------------------------------- torch and ONNX


def test_to_torch_puts_dropout_after_the_activation_and_from_torch_reads_it():
    torch = pytest.importorskip("torch")
    nn = torch.nn
    net = pn.Network([4, 8, 6, 5, 2], activation=["relu", "linear", "tanh", "softmax"],
                     loss="cross_entropy", dropout=[0.2, 0.3, 0.0], seed=0)
    model = net.to_torch()
    kinds = [type(m) for m in model]
    assert kinds == [nn.Linear, nn.ReLU, nn.Dropout, nn.Linear, nn.Dropout, nn.Linear, nn.Tanh,
                     nn.Linear, nn.Softmax]
    assert [m.p for m in model if isinstance(m, nn.Dropout)] == [0.2, 0.3]
    X = np.random.default_rng(0).standard_normal((7, 4))
    model.eval()
    with torch.no_grad():
        out = model(torch.from_numpy(X)).numpy()
    assert_close(out, net.forward(X))
    back = pn.Network.from_torch(model)
    assert back.dropout == [0.2, 0.3, 0.0]
    assert repr(back) == repr(net)
    assert np.array_equal(back.forward(X), net.forward(X))
    # A model in training mode is read the same (its probe runs in eval mode).
    model.train()
    assert pn.Network.from_torch(model).dropout == [0.2, 0.3, 0.0]
    assert model.training


def test_torch_training_mode_drops_as_plainnet_does_on_average():
    """nn.Dropout's own masks differ (torch's generator), but the rule is the
    same: units zeroed with probability p, the others scaled by 1 / (1 - p)."""
    torch = pytest.importorskip("torch")
    model = pn.Network([3, 4000, 1], activation="linear", dropout=0.3, seed=0).to_torch()
    model.train()
    torch.manual_seed(0)
    hidden = model[1](model[0](torch.ones(2, 3, dtype=torch.float64)))
    before = model[0](torch.ones(2, 3, dtype=torch.float64))
    ratio = (hidden / before).detach().numpy()
    assert set(np.unique(np.round(ratio, 12))) == {0.0, round(1 / 0.7, 12)}
    assert abs(float(np.mean(ratio == 0)) - 0.3) < 0.02


@pytest.mark.parametrize("build, message", [
    (lambda nn: [nn.Linear(3, 4), nn.Dropout(0.5), nn.ReLU(), nn.Linear(4, 2)],
     r"model\[2\]: nn.ReLU follows model\[1\] \(nn.Dropout\).*put the activation first"),
    (lambda nn: [nn.Linear(3, 4), nn.ReLU(), nn.Dropout(0.5), nn.Dropout(0.5),
                 nn.Linear(4, 2)], r"model\[3\]: nn.Dropout follows model\[2\]"),
    (lambda nn: [nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2), nn.Dropout(0.1)],
     r"model\[3\]: nn.Dropout after the output layer"),
    (lambda nn: [nn.Linear(3, 4), nn.ReLU(), nn.Dropout(1.0), nn.Linear(4, 2)],
     r"model\[2\]: nn.Dropout\(p=1.0\) drops every unit"),
    (lambda nn: [nn.Dropout(0.1), nn.Linear(3, 4)], r"model\[0\]: expected nn.Linear first"),
    (lambda nn: [nn.Linear(3, 4), nn.AlphaDropout(0.1), nn.Linear(4, 2)],
     r"model\[1\]: nn.AlphaDropout is not a layer plainnet has"),
])
def test_from_torch_refuses_dropout_it_cannot_hold(build, message):
    torch = pytest.importorskip("torch")
    model = torch.nn.Sequential(*build(torch.nn)).double()
    with pytest.raises(ValueError, match=message):
        pn.Network.from_torch(model)


def test_from_torch_reads_dropout_on_a_linear_layer_and_zero_rates():
    torch = pytest.importorskip("torch")
    nn = torch.nn
    model = nn.Sequential(nn.Linear(3, 4), nn.Dropout(0.0), nn.Linear(4, 5), nn.Dropout(0.4),
                          nn.Linear(5, 2)).double()
    net = pn.Network.from_torch(model)
    assert net.dropout == [0.0, 0.4] and net.activations == ["linear"] * 3


def test_onnx_export_is_the_inference_graph():
    onnx = pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    for dtype in ("float64", "float32"):
        net = pn.Network([4, 16, 8, 3], activation="relu", output_activation="softmax",
                         loss="cross_entropy", dropout=[0.5, 0.2], seed=0, dtype=dtype)
        rng = np.random.default_rng(1)
        X = rng.standard_normal((50, 4)).astype(dtype)
        net.fit(X, rng.integers(0, 3, 50), optimizer="adam", epochs=3, seed=0)
        model = net.to_onnx()
        onnx.checker.check_model(model, full_check=True)
        assert "Dropout" not in {n.op_type for n in model.graph.node}
        assert "dropout [0.5, 0.2]" in model.doc_string
        session = ort.InferenceSession(model.SerializeToString(),
                                       providers=["CPUExecutionProvider"])
        got = session.run(None, {"X": X})[0]
        assert_close(got, net.forward(X), dtype, 1e-12 if dtype == "float64" else 1e-5)
