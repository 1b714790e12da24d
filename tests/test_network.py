"""The Network API on both backends: the tutorial's numbers, training, files."""

import json

import numpy as np
import pytest
from conftest import alone_and_together, assert_close

import plainnet as pn
from plainnet.__main__ import main

BACKENDS = ["native", "numpy"]
TUTORIAL_FIRST = 0.2556753002334093
TUTORIAL_LAST = 0.0002652680666014937


# ---------------------------------------------------------------- the tutorial


@pytest.mark.parametrize("backend", BACKENDS)
def test_reproduces_the_tutorial(xor_data, backend):
    X, y = xor_data
    net = pn.Network([2, 4, 1], seed=42, backend=backend)
    hist = net.fit(X, y, lr=2.0, epochs=10000)
    assert hist.loss.shape == (10000,)
    assert hist.loss[0] == pytest.approx(TUTORIAL_FIRST, rel=1e-9)
    assert hist.loss[-1] == pytest.approx(TUTORIAL_LAST, rel=1e-9)
    assert np.array_equal(np.round(net.forward(X)), y)


def test_initial_weights_are_the_tutorials_draws():
    net = pn.Network([2, 4, 1], seed=42)
    rs = np.random.RandomState(42)
    W0, W1 = rs.randn(2, 4) * 0.5, rs.randn(4, 1) * 0.5
    assert np.array_equal(net.weights[0], W0) and np.array_equal(net.weights[1], W1)
    assert all(np.array_equal(b, np.zeros_like(b)) for b in net.biases)


def test_attributes(xor_data):
    net = pn.Network([2, 4, 1], activation="relu", output_activation="sigmoid", seed=1)
    assert net.layers == [2, 4, 1]
    assert net.activations == ["relu", "sigmoid"]
    assert net.num_parameters == 2 * 4 + 4 + 4 * 1 + 1 == 17
    assert net.dtype == np.float64 and net.backend == "native"
    assert [w.shape for w in net.weights] == [(2, 4), (4, 1)]
    assert [b.shape for b in net.biases] == [(4,), (1,)]
    assert "Network([2, 4, 1]" in repr(net) and "relu" in repr(net)
    assert pn.Network([3, 2, 2], activation=["tanh", "linear"]).activations == ["tanh", "linear"]


def test_weights_are_read_only_snapshots(xor_data):
    X, y = xor_data
    net = pn.Network([2, 4, 1], seed=42)
    w = net.weights[0]
    with pytest.raises(ValueError, match="read-only"):
        w[0, 0] = 1.0
    net.fit(X, y, epochs=10)
    assert not np.array_equal(w, net.weights[0])  # the snapshot kept the old values


@pytest.mark.parametrize("init,std", [("xavier", np.sqrt(2 / (300 + 200))), ("he", np.sqrt(2 / 300)),
                                      ("normal", 0.5)])
def test_inits(init, std):
    net = pn.Network([300, 200, 1], init=init, seed=0)
    assert np.std(net.weights[0]) == pytest.approx(std, rel=0.02)
    again = pn.Network([300, 200, 1], init=init, seed=0)
    assert np.array_equal(net.weights[0], again.weights[0])
    scaled = pn.Network([300, 200, 1], init=init, init_scale=2.0, seed=0)
    assert np.std(scaled.weights[0]) == pytest.approx(2 * std if init != "normal" else 2.0, rel=0.02)
    assert not np.array_equal(net.weights[0], pn.Network([300, 200, 1], init=init, seed=1).weights[0])


# ---------------------------------------------------------------- computing


@pytest.mark.parametrize("backend", BACKENDS)
def test_forward_trace_loss_gradients_step(rng, backend):
    net = pn.Network([3, 5, 2], activation="tanh", output_activation="linear", seed=3,
                     backend=backend)
    X = rng.standard_normal((9, 3))
    y = rng.standard_normal((9, 2))
    trace = net.forward_trace(X)
    assert len(trace) == 2
    (z0, a0), (z1, a1) = trace
    W, b = net.weights, net.biases
    assert_close(z0, X @ W[0] + b[0])
    assert_close(a0, np.tanh(z0))
    assert_close(z1, a0 @ W[1] + b[1])
    assert np.array_equal(a1, z1)
    assert_close(net.forward(X), a1)
    assert np.array_equal(net.predict(X), net.forward(X))
    loss = net.loss(X, y)
    assert loss == pytest.approx(np.mean((a1 - y) ** 2), rel=1e-12)

    dW, db = net.gradients(X, y)
    assert [g.shape for g in dW] == [w.shape for w in W]
    assert [g.shape for g in db] == [v.shape for v in b]
    before = net.copy()
    assert net.step(X, y, lr=0.1) == pytest.approx(loss, rel=1e-12)
    for w_new, w_old, g in zip(net.weights, before.weights, dW):
        assert_close(w_new, w_old - 0.1 * g)
    assert net.loss(X, y) < loss


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("batch_size,shuffle", [(None, True), (3, True), (3, False), (64, True)])
def test_fit_trajectories_agree_across_backends(rng, dtype, batch_size, shuffle):
    X = rng.standard_normal((20, 4))
    y = np.sin(X[:, :2])
    kwargs = dict(lr=0.5, epochs=150, batch_size=batch_size, shuffle=shuffle, seed=11)
    nets = [pn.Network([4, 8, 6, 2], activation="tanh", output_activation="linear", seed=5,
                       dtype=dtype, backend=b) for b in BACKENDS]
    hists = [net.fit(X, y, **kwargs) for net in nets]
    per_epoch = 1 if batch_size in (None, 64) else 7
    assert hists[0].iterations == hists[1].iterations == 150 * per_epoch
    rtol = 1e-9 if dtype == "float64" else 1e-4
    assert_close(hists[0].loss, hists[1].loss, rtol=rtol)
    for w0, w1 in zip(nets[0].weights, nets[1].weights):
        assert_close(w0, w1, rtol=rtol)
    assert hists[0].loss[-1] < 0.5 * hists[0].loss[0]


@pytest.mark.parametrize("backend", BACKENDS)
def test_minibatch_order_is_reproducible_from_seed(rng, backend):
    X = rng.standard_normal((30, 3))
    y = rng.random((30, 1))  # targets a sigmoid output can reach

    def run(seed):
        net = pn.Network([3, 4, 1], seed=0, backend=backend)
        return net.fit(X, y, lr=0.1, epochs=5, batch_size=4, seed=seed)

    assert np.array_equal(run(1).loss, run(1).loss)
    assert not np.array_equal(run(1).loss, run(2).loss)
    drawn = run(None)  # a fresh seed, recorded so the run can be repeated
    assert np.array_equal(run(drawn.seed).loss, drawn.loss)
    assert drawn.iterations_per_epoch == 8 and drawn.iterations == 40


@pytest.mark.parametrize("backend", BACKENDS)
def test_zero_epochs_changes_nothing(xor_data, backend):
    X, y = xor_data
    net = pn.Network([2, 4, 1], seed=42, backend=backend)
    hist = net.fit(X, y, epochs=0)
    assert hist.iterations == 0 and np.isnan(hist.final_loss)
    assert np.array_equal(net.weights[0], pn.Network([2, 4, 1], seed=42).weights[0])


@pytest.mark.parametrize("backend", BACKENDS)
def test_callback_every_log_every_and_early_stop(xor_data, backend):
    X, y = xor_data
    seen = []
    net = pn.Network([2, 4, 1], seed=42, backend=backend)
    hist = net.fit(X, y, epochs=10000, log_every=2000, callback=lambda i, l: seen.append((i, l)))
    assert [i for i, _ in seen] == [0, 2000, 4000, 6000, 8000]
    assert [l for _, l in seen] == [hist.loss[i] for i, _ in seen]

    net = pn.Network([2, 4, 1], seed=42, backend=backend)
    hist = net.fit(X, y, epochs=10000, callback=lambda i, l: i < 99)  # every iteration
    assert hist.iterations == 100 and hist.stopped_early
    alone = pn.Network([2, 4, 1], seed=42, backend=backend)
    alone.fit(X, y, epochs=100)
    assert np.array_equal(net.weights[0], alone.weights[0])


@pytest.mark.parametrize("backend", BACKENDS)
def test_callback_sees_live_weights_and_its_exception_reaches_the_caller(xor_data, backend):
    X, y = xor_data
    net = pn.Network([2, 4, 1], seed=42, backend=backend)
    losses = []

    def callback(i, loss):
        losses.append(net.loss(X, y))  # the network is usable from inside fit
        if i == 30:
            raise KeyError("stop here")

    with pytest.raises(KeyError, match="stop here"):
        net.fit(X, y, epochs=1000, callback=callback)
    # after iteration 30's update: the weights of 31 completed iterations
    ref = pn.Network([2, 4, 1], seed=42, backend=backend)
    ref.fit(X, y, epochs=31)
    assert np.array_equal(net.weights[0], ref.weights[0])
    assert len(losses) == 31 and losses[-1] == pytest.approx(ref.loss(X, y), rel=1e-12)


def test_log_every_without_callback_prints(xor_data, capsys):
    X, y = xor_data
    pn.Network([2, 4, 1], seed=42).fit(X, y, epochs=5, log_every=2)
    lines = capsys.readouterr().out.splitlines()
    assert [line.split("|")[0].split()[-1] for line in lines] == ["0", "2", "4"]
    assert f"{TUTORIAL_FIRST:.6f}" in lines[0]


@pytest.mark.parametrize("backend", BACKENDS)
def test_diverging_fit_stops_with_the_last_finite_weights(backend):
    X = np.array([[1.0, 2.0], [3.0, -1.0], [0.5, 0.5]])
    y = np.array([[1.0], [0.0], [2.0]])
    net = pn.Network([2, 3, 1], activation="linear", seed=0, backend=backend)
    with pytest.raises(FloatingPointError, match=r"iteration \d+") as info:
        net.fit(X, y, lr=50.0, epochs=10000)
    hist = info.value.history
    n = hist.iterations
    assert 0 < n < 10000 and np.isfinite(hist.loss).all()
    # the network holds the weights whose loss was recorded last
    assert all(np.isfinite(w).all() for w in net.weights)
    assert net.loss(X, y) == pytest.approx(hist.final_loss, rel=1e-9)
    replay = pn.Network([2, 3, 1], activation="linear", seed=0, backend=backend)
    replay.fit(X, y, lr=50.0, epochs=n - 1)
    assert np.array_equal(net.weights[0], replay.weights[0])


@pytest.mark.parametrize("backend", BACKENDS)
def test_diverging_fit_with_a_callback_at_every_iteration_keeps_the_last_finite_weights(backend):
    # The callback looks at the live weights after every update; the update
    # that diverges must still be undone back to the weights seen last.
    X = np.array([[1.0, 2.0], [3.0, -1.0], [0.5, 0.5]])
    y = np.array([[1.0], [0.0], [2.0]])
    net = pn.Network([2, 3, 1], activation="linear", seed=0, backend=backend)
    seen = []
    with pytest.raises(FloatingPointError) as info:
        net.fit(X, y, lr=50.0, epochs=10000, callback=lambda i, l: seen.append(net.weights[0]))
    n = info.value.history.iterations
    replay = pn.Network([2, 3, 1], activation="linear", seed=0, backend=backend)
    replay.fit(X, y, lr=50.0, epochs=n - 1)
    assert np.array_equal(net.weights[0], replay.weights[0])
    assert np.array_equal(seen[n - 2], replay.weights[0])  # what iteration n - 2's callback saw


def test_diverging_fit_stops_at_the_same_iteration_on_both_backends():
    X = np.array([[1.0, 2.0], [3.0, -1.0], [0.5, 0.5]])
    y = np.array([[1.0], [0.0], [2.0]])
    stops = []
    for backend in BACKENDS:
        net = pn.Network([2, 3, 1], activation="linear", seed=0, backend=backend)
        with pytest.raises(FloatingPointError) as info:
            net.fit(X, y, lr=50.0, epochs=10000)
        stops.append(info.value.history.iterations)
    assert stops[0] == stops[1]


@pytest.mark.parametrize("backend", BACKENDS)
def test_step_with_a_non_finite_loss_leaves_weights_unchanged(backend):
    net = pn.Network.from_weights([np.full((1, 1), 1e200)], [np.zeros(1)], activation="linear",
                                  backend=backend)
    with pytest.raises(FloatingPointError, match="unchanged"):
        net.step([[1e200]], [[0.0]], lr=0.1)
    assert net.weights[0][0, 0] == 1e200


# ---------------------------------------------------------------- copies, backends, files


def test_copy_and_with_backend(rng):
    X = rng.standard_normal((5, 3))
    net = pn.Network([3, 4, 2], activation="gelu", seed=2)
    other = net.with_backend("numpy")
    assert other.backend == "numpy" and net.backend == "native"
    assert_close(other.forward(X), net.forward(X))
    clone = net.copy()
    clone.fit(X, np.zeros((5, 2)), lr=0.1, epochs=3)
    assert not np.array_equal(clone.weights[0], net.weights[0])
    assert np.array_equal(other.weights[0], net.weights[0])


def test_from_weights_round_trip(rng):
    W = [rng.standard_normal((3, 4)), rng.standard_normal((4, 2))]
    b = [rng.standard_normal((1, 4)), rng.standard_normal(2)]  # (1, n) as in the tutorial
    net = pn.Network.from_weights(W, b, activation="tanh", output_activation="linear")
    assert net.layers == [3, 4, 2] and net.activations == ["tanh", "linear"]
    assert np.array_equal(net.weights[0], W[0]) and np.array_equal(net.biases[0], b[0][0])
    X = rng.standard_normal((6, 3))
    assert_close(net.forward(X), np.tanh(X @ W[0] + b[0]) @ W[1] + b[1])
    f32 = pn.Network.from_weights([w.astype(np.float32) for w in W],
                                  [v.astype(np.float32) for v in b])
    assert f32.dtype == np.float32


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_save_load_round_trip(tmp_path, rng, backend, dtype):
    net = pn.Network([3, 5, 4, 2], activation=["relu", "silu", "linear"], seed=8, dtype=dtype,
                     backend=backend)
    net.fit(rng.standard_normal((10, 3)), rng.standard_normal((10, 2)), lr=0.01, epochs=5)
    path = net.save(tmp_path / "net.npz")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net.npz"]  # no temporary left over
    back = pn.Network.load(path, backend=backend)
    assert back.layers == net.layers and back.activations == net.activations
    assert back.dtype == net.dtype and back.backend == backend
    for a, b in zip(back.weights + back.biases, net.weights + net.biases):
        assert a.dtype == b.dtype and np.array_equal(a, b)
    # and the file is readable with NumPy alone
    with np.load(path, allow_pickle=False) as archive:
        meta = json.loads(str(archive["meta"]))
        assert meta["format"] == "plainnet" and meta["format_version"] == 2
        assert meta["format_version"] == pn.network.FORMAT_VERSION
        assert meta["layers"] == [3, 5, 4, 2] and meta["dtype"] == dtype
        assert np.array_equal(archive["W1"], net.weights[1])
        # format 2 adds the loss and the optimizer the last fit used (plain SGD here)
        assert meta["loss"] == "mse"
        assert meta["optimizer"]["name"] == "sgd" and meta["optimizer"]["steps"] == 5
        assert meta["optimizer"]["has_state"]
        assert np.array_equal(archive["optimizer_state0"], net.optimizer.state[0])
    assert back.loss_name == net.loss_name == "mse"
    assert back.optimizer is not None and back.optimizer.name == "sgd"
    assert back.optimizer.steps == net.optimizer.steps == 5


def _as_version_1(src, dst):
    """Rewrite a save as plainnet wrote it before format 2: no loss, no optimizer."""
    with np.load(src) as archive:
        arrays = {k: archive[k] for k in archive.files if not k.startswith("optimizer_state")}
    meta = json.loads(str(arrays["meta"]))
    meta["format_version"] = 1
    meta.pop("loss", None)
    meta.pop("optimizer", None)
    arrays["meta"] = np.array(json.dumps(meta))
    np.savez(dst, **arrays)
    return dst


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_version_1_file_loads_as_an_mse_network_without_optimizer(tmp_path, rng, backend):
    net = pn.Network([3, 5, 2], activation=["tanh", "linear"], seed=4, backend=backend)
    X = rng.standard_normal((8, 3))
    net.fit(X, rng.standard_normal((8, 2)), lr=0.05, epochs=4)
    path = _as_version_1(net.save(tmp_path / "new.npz"), tmp_path / "old.npz")
    back = pn.Network.load(path, backend=backend)
    assert back.layers == net.layers and back.activations == net.activations
    assert back.loss_name == "mse" and back.optimizer is None
    for a, b in zip(back.weights + back.biases, net.weights + net.biases):
        assert a.dtype == b.dtype and np.array_equal(a, b)
    assert np.array_equal(back.forward(X), net.forward(X))
    # and it trains as a fresh network with those weights would
    fresh = pn.Network.from_weights(net.weights, net.biases, activation=net.activations,
                                    backend=backend)
    y = rng.standard_normal((8, 2))
    assert np.array_equal(back.fit(X, y, lr=0.05, epochs=3).loss,
                          fresh.fit(X, y, lr=0.05, epochs=3).loss)


def test_an_untrained_network_saves_no_optimizer(tmp_path):
    path = pn.Network([2, 3, 1], seed=1).save(tmp_path / "net.npz")
    with np.load(path, allow_pickle=False) as archive:
        meta = json.loads(str(archive["meta"]))
        assert "optimizer" not in meta and meta["loss"] == "mse"
        assert not [k for k in archive.files if k.startswith("optimizer_state")]
    assert pn.Network.load(path).optimizer is None


def test_save_overwrites_atomically(tmp_path):
    path = tmp_path / "net.npz"
    pn.Network([2, 3, 1], seed=1).save(path)
    pn.Network([2, 7, 1], seed=2).save(path)
    assert pn.Network.load(path).layers == [2, 7, 1]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net.npz"]


# ---------------------------------------------------------------- threads


def test_two_threads_train_two_networks_like_alone(rng):
    X = rng.standard_normal((64, 8))
    y = rng.uniform(-1, 1, (64, 3))  # targets a tanh output can reach

    def train(seed, out):
        net = pn.Network([8, 16, 3], activation="tanh", seed=seed)
        out[seed] = net.fit(X, y, lr=0.05, epochs=3000).loss

    alone, together = alone_and_together(train, (1, 2))
    for s in (1, 2):
        assert np.array_equal(alone[s], together[s])


# ---------------------------------------------------------------- command line


@pytest.mark.parametrize("backend", BACKENDS)
def test_cli_xor(capsys, backend):
    assert main(["xor", "--backend", backend]) == 0
    out = capsys.readouterr().out
    assert "0.255675" in out  # untrained loss
    for i in (0, 2000, 4000, 6000, 8000):
        assert f"iteration {i:>6d}" in out
    assert "4 of 4 correct" in out and "0.000265" in out


def test_cli_version(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.strip() == f"plainnet {pn.__version__}"
