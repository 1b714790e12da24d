"""What Keras and PyTorch users reach for first: optimizer names, History.history,
predict_proba, summary(), and class labels that came through pandas as floats."""

import numpy as np
import pytest

import plainnet as pn

BACKENDS = pn.BACKENDS


def _classes(rng, n=120, k=3):
    X = rng.standard_normal((n, 4))
    y = (X[:, 0] > 0).astype(np.int64) + (X[:, 1] > 0.5)
    return X, y


def _net(backend, k=3, seed=0):
    return pn.Network([4, 8, k], activation="tanh", output_activation="softmax",
                      loss="cross_entropy", seed=seed, backend=backend)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name,cls,lr", [("sgd", pn.optim.SGD, None), ("adam", pn.optim.Adam, None),
                                         ("adamw", pn.optim.AdamW, 0.01),
                                         ("rprop", pn.optim.Rprop, None)])
def test_an_optimizer_by_name_is_that_optimizer_with_torchs_defaults(rng, backend, name, cls, lr):
    X, y = _classes(rng)
    a, b = _net(backend), _net(backend)
    ha = a.fit(X, y, optimizer=name, lr=lr, epochs=4, batch_size=32, seed=1)
    expected = cls(lr=lr) if lr is not None else (cls(lr=1e-3) if cls is pn.optim.SGD else cls())
    hb = b.fit(X, y, optimizer=expected, epochs=4, batch_size=32, seed=1)
    assert np.array_equal(ha.loss, hb.loss)
    assert all(np.array_equal(u, v) for u, v in zip(a.weights, b.weights))
    assert type(a.optimizer) is cls and a.optimizer == b.optimizer
    if cls is pn.optim.SGD:
        assert a.optimizer.lr == 1e-3  # torch.optim.SGD's default


def test_an_unknown_optimizer_name_is_refused_naming_the_choices(rng):
    X, y = _classes(rng)
    net = _net("native")
    before = net.weights
    with pytest.raises(ValueError, match=r"^optimizer: expected one of 'sgd', 'adam', 'adamw', "
                                         r"'rprop', got 'lbfgs'"):
        net.fit(X, y, optimizer="lbfgs", epochs=1)
    with pytest.raises(ValueError, match=r"^lr: expected a finite number > 0, got -1\.0"):
        net.fit(X, y, optimizer="adam", lr=-1.0, epochs=1)
    assert all(np.array_equal(u, v) for u, v in zip(net.weights, before))
    assert net.optimizer is None


@pytest.mark.parametrize("backend", BACKENDS)
def test_history_history_holds_keras_keys_per_epoch(rng, backend):
    X, y = _classes(rng)
    h = _net(backend).fit(X, y, optimizer=pn.optim.Adam(lr=0.01), epochs=6, batch_size=16,
                          seed=2, validation_split=0.25)
    d = h.history
    assert sorted(d) == ["accuracy", "loss", "lr", "val_accuracy", "val_loss"]
    assert d["loss"] == h.epoch_loss.tolist() and len(d["loss"]) == 6
    assert d["accuracy"] == h.accuracy.tolist()
    assert d["val_loss"] == h.val_loss.tolist() and d["val_accuracy"] == h.val_accuracy.tolist()
    assert d["lr"] == [0.01] * 6
    assert all(type(v) is float for values in d.values() for v in values)
    # a regression network without validation has loss and lr only
    reg = pn.Network([4, 3, 1], activation="tanh", output_activation="linear", seed=0,
                     backend=backend)
    h = reg.fit(X, X[:, :1], lr=0.1, epochs=3)
    assert sorted(h.history) == ["loss", "lr"] and len(h.history["loss"]) == 3


@pytest.mark.parametrize("backend", BACKENDS)
def test_predict_proba_gives_the_probabilities_of_the_cross_entropies(rng, backend):
    X, _ = _classes(rng)
    net = _net(backend)
    p = net.predict_proba(X)
    assert np.array_equal(p, net.forward(X))
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-12)
    binary = pn.Network([4, 3, 2], output_activation="sigmoid", loss="binary_cross_entropy",
                        seed=1, backend=backend)
    q = binary.predict_proba(X)
    assert q.shape == (X.shape[0], 2) and np.array_equal(q, binary.forward(X))
    assert ((q > 0) & (q < 1)).all()
    with pytest.raises(ValueError, match=r"^predict_proba: a network trained on 'mse' gives no "
                                         r"probabilities"):
        pn.Network([4, 3, 1], backend=backend).predict_proba(X)


def test_summary_lists_layers_parameters_dtype_loss_and_optimizer(rng):
    X, y = _classes(rng)
    net = pn.Network([4, 16, 8, 3], activation=["relu", "tanh", "softmax"],
                     loss="cross_entropy", dtype="float32", seed=0)
    printed = []
    text = net.summary(print_fn=printed.append)
    assert printed == [text]
    lines = text.splitlines()
    assert [ln.split()[:2] for ln in lines if ln.startswith("dense")] == \
        [["dense", "0"], ["dense", "1"], ["dense", "2"]]
    assert any("4 -> 16" in ln and "relu" in ln and ln.endswith("80") for ln in lines)
    assert any("16 -> 8" in ln and "tanh" in ln and ln.endswith("136") for ln in lines)
    assert any("8 -> 3" in ln and "softmax" in ln and ln.endswith("27") for ln in lines)
    assert "total parameters: 243" in lines and net.num_parameters == 243
    assert "dtype: float32" in lines and "loss: cross_entropy" in lines
    assert "optimizer: none yet" in lines
    net.fit(X, y, optimizer="adam", epochs=2, batch_size=40, seed=0)
    assert "optimizer: Adam(lr=0.001" in net.summary(print_fn=None)
    assert "steps=6, epochs=2)" in net.summary(print_fn=None)


@pytest.mark.parametrize("backend", BACKENDS)
def test_whole_float_labels_train_as_integer_labels(rng, backend):
    X, y = _classes(rng)
    a, b = _net(backend), _net(backend)
    ha = a.fit(X, y, lr=0.5, epochs=5)
    hb = b.fit(X, y.astype(np.float64), lr=0.5, epochs=5)
    assert np.array_equal(ha.loss, hb.loss)
    assert a.evaluate(X, y) == b.evaluate(X, y.astype(np.float32))
    pd = pytest.importorskip("pandas")
    hc = _net(backend).fit(X, pd.Series(y.astype(float), name="label"), lr=0.5, epochs=5)
    assert np.array_equal(ha.loss, hc.loss)


@pytest.mark.parametrize("labels,pattern", [
    (np.array([0.0, 1.5, 2.0]), r"^y: expected class labels \(whole numbers in \[0, 3\)\) or a "
                                r"2-D array \(samples, 3\) of probabilities, got a 1-D float array "
                                r"with values that are not whole numbers"),
    (np.array([0.0, 3.0, 1.0]), r"^y: class labels must be in \[0, 3\) for a network with 3 "
                                r"outputs, got 3\.0 at index 1"),
    (np.array([0.0, np.nan, 1.0]), r"^y: expected class labels \(whole numbers"),
])
def test_float_labels_that_are_no_labels_are_refused(labels, pattern):
    net = _net("native")
    with pytest.raises(ValueError, match=pattern):
        net.fit(np.zeros((3, 4)), labels, epochs=1)
    assert net.optimizer is None
