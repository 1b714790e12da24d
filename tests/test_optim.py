"""Optimizers: each native update against its NumPy twin, both against
torch.optim over 100 steps, and the state that carries across fits and files."""

import numpy as np
import pytest

try:
    import torch
except ImportError:  # the comparisons with PyTorch skip; everything else runs
    torch = None
needs_torch = pytest.mark.skipif(torch is None, reason="the torch.optim comparisons need torch")
from conftest import DTYPES, assert_close

import plainnet as pn
from plainnet import _core
from plainnet import optim
from plainnet import reference as ref

# Settings per optimizer that exercise every branch of its rule.
CASES = [
    ("sgd", {"lr": 0.1}),
    ("sgd", {"lr": 0.1, "weight_decay": 0.01}),
    ("sgd", {"lr": 0.05, "momentum": 0.9}),
    ("sgd", {"lr": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 1e-3}),
    ("adam", {"lr": 1e-2}),
    ("adam", {"lr": 1e-2, "weight_decay": 0.1, "beta1": 0.8, "beta2": 0.99, "eps": 1e-6}),
    ("adamw", {"lr": 1e-2, "weight_decay": 1e-2}),
    ("rprop", {"lr": 0.01}),
    ("rprop", {"lr": 0.1, "eta_minus": 0.3, "eta_plus": 1.5, "step_min": 1e-3, "step_max": 0.2}),
]
IDS = [f"{name}-{i}" for i, (name, _) in enumerate(CASES)]


def test_the_tables_name_the_same_optimizers():
    assert _core.OPTIMIZERS == tuple(ref.OPTIMIZER_TABLE) == tuple(optim.CLASSES)
    for name, cls in optim.CLASSES.items():
        assert cls.slots == ref.OPTIMIZER_TABLE[name][0]


@pytest.mark.usefixtures("variant")
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n", [1, 17, 1000])
@pytest.mark.parametrize("name,settings", CASES, ids=IDS)
def test_update_matches_the_twin_over_several_steps(rng, dtype, n, name, settings):
    slots = ref.OPTIMIZER_TABLE[name][0]
    p0 = rng.standard_normal(n).astype(dtype)
    got, want = p0.copy(), p0.copy()
    s_got = [np.zeros(n, dtype) for _ in range(slots)]
    s_want = [np.zeros(n, dtype) for _ in range(slots)]
    opt = {"name": name, **settings}
    for t in range(1, 6):
        # gradients that keep and flip their signs, so Rprop takes each branch
        g = (rng.standard_normal(n) + (0.5 if t % 2 else -0.2)).astype(dtype)
        g[1::7] = 0
        _core.optimizer_update(got, g, s_got, opt, t)
        ref.optimizer_update(want, g, s_want, opt, t)
        assert_close(got, want, dtype)
        for a, b in zip(s_got, s_want):
            assert_close(a, b, dtype)
    assert not np.array_equal(got, p0)


def test_plain_sgd_is_params_minus_lr_grads_and_needs_no_state(rng):
    p = rng.standard_normal(100)
    g = rng.standard_normal(100)
    want = p - 0.3 * g
    buf = np.full(100, np.nan)  # SGD without momentum never reads its buffer
    _core.optimizer_update(p, g, [buf], {"name": "sgd", "lr": 0.3}, 1)
    np.testing.assert_allclose(p, want, rtol=1e-15, atol=1e-16)
    assert np.isnan(buf).all()


# ---------------------------------------------------------------- against torch.optim


TORCH = {
    "sgd": lambda params, s: torch.optim.SGD(params, lr=s["lr"], momentum=s.get("momentum", 0),
                                             nesterov=s.get("nesterov", False),
                                             weight_decay=s.get("weight_decay", 0)),
    "adam": lambda params, s: torch.optim.Adam(params, lr=s["lr"], weight_decay=s.get(
        "weight_decay", 0), betas=(s.get("beta1", 0.9), s.get("beta2", 0.999)),
        eps=s.get("eps", 1e-8)),
    "adamw": lambda params, s: torch.optim.AdamW(params, lr=s["lr"],
                                                 weight_decay=s.get("weight_decay", 1e-2)),
    "rprop": lambda params, s: torch.optim.Rprop(params, lr=s["lr"], etas=(
        s.get("eta_minus", 0.5), s.get("eta_plus", 1.2)), step_sizes=(
        s.get("step_min", 1e-6), s.get("step_max", 50))),
}


def _ours(name, s):
    """The plainnet.optim object for a CASES line."""
    if name == "sgd":
        return optim.SGD(**s)
    betas = (s.get("beta1", 0.9), s.get("beta2", 0.999))
    if name in ("adam", "adamw"):
        kw = {k: v for k, v in s.items() if k in ("lr", "eps", "weight_decay")}
        return (optim.Adam if name == "adam" else optim.AdamW)(betas=betas, **kw)
    return optim.Rprop(lr=s["lr"], etas=(s.get("eta_minus", 0.5), s.get("eta_plus", 1.2)),
                       step_sizes=(s.get("step_min", 1e-6), s.get("step_max", 50)))


def _torch_twin(net):
    """A torch.nn.Sequential with net's weights (tanh hidden layers, linear logits)."""
    mods = []
    for i, (W, b) in enumerate(zip(net.weights, net.biases)):
        lin = torch.nn.Linear(W.shape[0], W.shape[1], dtype=torch.float64)
        with torch.no_grad():
            lin.weight.copy_(torch.tensor(W.T))
            lin.bias.copy_(torch.tensor(b))
        mods.append(lin)
        if i < len(net.weights) - 1:
            mods.append(torch.nn.Tanh())
    return torch.nn.Sequential(*mods)


def _max_rel_diff(net, model):
    ours = np.concatenate([np.concatenate([W.ravel(), b]) for W, b in
                           zip(net.weights, net.biases)])
    theirs = np.concatenate([np.concatenate([m.weight.detach().numpy().T.ravel(),
                                             m.bias.detach().numpy()])
                             for m in model if isinstance(m, torch.nn.Linear)])
    return np.max(np.abs(ours - theirs) / np.maximum(np.abs(theirs), 1e-3))


@needs_torch
@pytest.mark.parametrize("backend", pn.BACKENDS)
@pytest.mark.parametrize("name,settings", CASES, ids=IDS)
def test_100_steps_equal_torch_optim(rng, backend, name, settings):
    """Softmax/cross-entropy network, full batch, 100 updates, float64, same rule as torch."""
    X = rng.standard_normal((24, 5))
    labels = rng.integers(0, 3, 24)
    net = pn.Network([5, 8, 3], activation="tanh", output_activation="softmax",
                     loss="cross_entropy", seed=1, backend=backend)
    model = _torch_twin(net)
    topt = TORCH[name](model.parameters(), settings)
    lossf = torch.nn.CrossEntropyLoss()
    torch_losses = []
    for _ in range(100):
        topt.zero_grad()
        loss = lossf(model(torch.tensor(X)), torch.tensor(labels))
        torch_losses.append(loss.item())
        loss.backward()
        topt.step()
    h = net.fit(X, labels, optimizer=_ours(name, settings), epochs=100)
    assert net.optimizer.steps == 100
    np.testing.assert_allclose(h.loss, torch_losses, rtol=1e-10, atol=1e-13)
    assert _max_rel_diff(net, model) < 1e-10
    assert h.loss[-1] < h.loss[0]


@needs_torch
@pytest.mark.parametrize("backend", pn.BACKENDS)
def test_mini_batch_adam_with_bce_equals_torch_on_the_same_batches(rng, backend):
    X = rng.standard_normal((50, 4))
    y = (rng.random((50, 2)) < 0.5).astype(float)
    net = pn.Network([4, 6, 2], activation="tanh", output_activation="sigmoid",
                     loss="binary_cross_entropy", seed=2,
                     backend=backend)
    model = _torch_twin(net)
    topt = torch.optim.Adam(model.parameters(), lr=1e-2)
    lossf = torch.nn.BCEWithLogitsLoss(reduction="sum")
    for epoch in range(5):
        order = ref.epoch_permutation(50, 7, epoch)
        for b in range(0, 50, 16):
            rows = order[b:b + 16]
            topt.zero_grad()
            loss = lossf(model(torch.tensor(X[rows])), torch.tensor(y[rows])) / len(rows)
            loss.backward()
            topt.step()
    h = net.fit(X, y, optimizer=optim.Adam(lr=1e-2), epochs=5, batch_size=16, seed=7)
    assert h.iterations == 20 and net.optimizer.steps == 20
    assert _max_rel_diff(net, model) < 1e-10


# ---------------------------------------------------------------- state across fits and files


def _digits_like(rng, n=60):
    X = rng.standard_normal((n, 6))
    labels = np.argmax(X[:, :3] + 0.3 * rng.standard_normal((n, 3)), axis=1)
    return X, labels


def _net(backend, seed=0):
    return pn.Network([6, 10, 3], activation="relu", output_activation="softmax",
                      loss="cross_entropy", init="he", seed=seed, backend=backend)


@pytest.mark.parametrize("backend", pn.BACKENDS)
@pytest.mark.parametrize("make", [lambda: optim.Adam(lr=1e-2), lambda: optim.SGD(0.1, 0.9),
                                  lambda: optim.Rprop(), lambda: optim.AdamW(lr=1e-2)])
def test_a_second_fit_continues_the_optimizer(rng, backend, make):
    X, labels = _digits_like(rng)
    straight, split = _net(backend), _net(backend)
    h = straight.fit(X, labels, optimizer=make(), epochs=10, batch_size=16, seed=4)
    first = split.fit(X, labels, optimizer=make(), epochs=4, batch_size=16, seed=4)
    second = split.fit(X, labels, optimizer=split.optimizer, epochs=6, batch_size=16, seed=4)
    np.testing.assert_array_equal(np.concatenate([first.loss, second.loss]), h.loss)
    np.testing.assert_array_equal(split.forward(X), straight.forward(X))
    assert split.optimizer.steps == straight.optimizer.steps == 40
    assert split.optimizer.epochs == straight.optimizer.epochs == 10
    assert split.optimizer == straight.optimizer


@pytest.mark.parametrize("backend", pn.BACKENDS)
def test_save_and_load_in_the_middle_of_training_changes_nothing(rng, tmp_path, backend):
    X, labels = _digits_like(rng)
    straight, split = _net(backend), _net(backend)
    h = straight.fit(X, labels, optimizer=optim.Adam(lr=1e-2), epochs=8, batch_size=8, seed=9)
    first = split.fit(X, labels, optimizer=optim.Adam(lr=1e-2), epochs=3, batch_size=8, seed=9)
    split.save(tmp_path / "half.npz")
    loaded = pn.Network.load(tmp_path / "half.npz", backend=backend)
    assert loaded.loss_name == "cross_entropy" and loaded.activations == split.activations
    assert isinstance(loaded.optimizer, optim.Adam) and loaded.optimizer == split.optimizer
    second = loaded.fit(X, labels, optimizer=loaded.optimizer, epochs=5, batch_size=8, seed=9)
    np.testing.assert_array_equal(np.concatenate([first.loss, second.loss]), h.loss)
    np.testing.assert_array_equal(loaded.forward(X), straight.forward(X))


def test_fit_without_an_optimizer_is_plain_gradient_descent(xor_data):
    X, y = xor_data
    a, b = pn.Network([2, 4, 1], seed=42), pn.Network([2, 4, 1], seed=42)
    ha = a.fit(X, y, lr=2.0, epochs=200)
    hb = b.fit(X, y, optimizer=optim.SGD(2.0), epochs=200)
    np.testing.assert_array_equal(ha.loss, hb.loss)
    assert isinstance(a.optimizer, optim.SGD) and a.optimizer.lr == 2.0
    assert a.optimizer.steps == 200
    # the default lr is the tutorial's 2.0
    c = pn.Network([2, 4, 1], seed=42)
    np.testing.assert_array_equal(c.fit(X, y, epochs=200).loss, ha.loss)


def test_copies_and_pickles_carry_their_own_optimizer(rng):
    import pickle

    X, labels = _digits_like(rng)
    net = _net("native")
    net.fit(X, labels, optimizer=optim.Adam(lr=1e-2), epochs=3)
    for other in (net.copy(), pickle.loads(pickle.dumps(net))):
        assert other.optimizer == net.optimizer and other.optimizer is not net.optimizer
        other.fit(X, labels, optimizer=other.optimizer, epochs=2)
        assert other.optimizer.steps == 5 and net.optimizer.steps == 3


@pytest.mark.parametrize("backend", pn.BACKENDS)
def test_an_overflowing_update_is_undone_with_the_optimizers_state(backend, xor_data):
    X, y = xor_data
    net = pn.Network([2, 4, 1], activation="linear", seed=0, backend=backend)
    opt = optim.SGD(1e150, momentum=0.9)
    with pytest.raises(FloatingPointError) as info:
        net.fit(X, y * 1e150, optimizer=opt, epochs=50)
    done = info.value.history.iterations
    assert np.isfinite(np.concatenate([W.ravel() for W in net.weights])).all()
    assert opt.steps < done + 1 and np.isfinite(opt.state[0]).all()
    assert net.optimizer is opt


# ---------------------------------------------------------------- refusals


@pytest.mark.parametrize("make,match", [
    (lambda: optim.SGD(0.0), "^lr: expected a finite number > 0"),
    (lambda: optim.SGD(0.1, momentum=-1), "^momentum: expected a finite number >= 0"),
    (lambda: optim.SGD(0.1, nesterov=True), "^nesterov: Nesterov momentum needs momentum > 0"),
    (lambda: optim.SGD(0.1, weight_decay=float("nan")), "^weight_decay: expected a finite"),
    (lambda: optim.Adam(betas=(0.9, 1.0)), r"^betas\[1\]: expected a number in \[0, 1\)"),
    (lambda: optim.Adam(betas=0.9), "^betas: expected a pair of numbers"),
    (lambda: optim.Adam(eps=-1e-8), "^eps: expected a finite number >= 0"),
    (lambda: optim.AdamW(weight_decay=-0.1), "^weight_decay: expected a finite number >= 0"),
    (lambda: optim.Rprop(etas=(1.2, 0.5)), r"^etas: expected 0 < etas\[0\] < 1 < etas\[1\]"),
    (lambda: optim.Rprop(step_sizes=(1.0, 0.1)), "^step_sizes: expected 0 < step_sizes"),
    (lambda: optim.SGD("0.1"), "^lr: expected a real number"),
])
def test_bad_settings_are_refused_naming_the_argument(make, match):
    with pytest.raises((ValueError, TypeError), match=match):
        make()


def test_fit_refuses_lr_beside_an_optimizer_and_foreign_optimizers(rng):
    X, labels = _digits_like(rng)
    net = _net("native")
    before = net.weights
    with pytest.raises(ValueError, match="^lr: the optimizer has its own"):
        net.fit(X, labels, lr=0.1, optimizer=optim.Adam(), epochs=1)
    with pytest.raises(TypeError, match="^optimizer: expected a plainnet.optim optimizer"):
        net.fit(X, labels, optimizer={"name": "adam", "lr": 1e-3}, epochs=1)
    other = pn.Network([6, 3, 3], activation="relu", output_activation="softmax",
                       loss="cross_entropy")
    other.fit(X, labels, optimizer=optim.Adam(), epochs=1)
    with pytest.raises(ValueError, match="^optimizer: its state belongs to a network of 33 "):
        net.fit(X, labels, optimizer=other.optimizer, epochs=1)
    for W, W0 in zip(net.weights, before):
        np.testing.assert_array_equal(W, W0)
    assert net.optimizer is None
