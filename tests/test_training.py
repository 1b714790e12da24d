"""Validation, early stopping, per-epoch metrics, and the checks that keep a
loss, its output activation and its targets consistent."""

import warnings

import numpy as np
import pytest

import plainnet as pn
from plainnet import optim


def _blobs(rng, n=120, k=3, d=4, spread=1.0):
    centers = rng.standard_normal((k, d)) * 3
    labels = rng.integers(0, k, n)
    return centers[labels] + spread * rng.standard_normal((n, d)), labels


def _classifier(backend="native", seed=0, hidden=16):
    return pn.Network([4, hidden, 3], activation="relu", output_activation="softmax",
                      loss="cross_entropy", init="he", seed=seed, backend=backend)


# ---------------------------------------------------------------- validation and early stopping


@pytest.mark.parametrize("batch_size", [None, 16])
def test_both_backends_agree_on_every_epoch_number(rng, batch_size):
    X, labels = _blobs(rng)
    runs = {}
    for backend in pn.BACKENDS:
        net = _classifier(backend)
        runs[backend] = net.fit(X, labels, optimizer=optim.Adam(lr=1e-2), epochs=15,
                                batch_size=batch_size, seed=5, validation_split=0.25)
    a, b = runs["native"], runs["numpy"]
    for field in ("loss", "epoch_loss", "val_loss", "accuracy", "val_accuracy"):
        np.testing.assert_allclose(getattr(a, field), getattr(b, field), rtol=1e-10)
    assert a.best_epoch == b.best_epoch
    assert a.epoch_loss.shape == a.val_loss.shape == a.accuracy.shape == (15,)


def test_per_epoch_numbers_are_what_they_say(rng):
    X, labels = _blobs(rng)
    net = _classifier()
    Xv, yv = X[90:], labels[90:]
    h = net.fit(X[:90], labels[:90], lr=0.05, epochs=3, validation_data=(Xv, yv))
    # full batch: the epoch's loss is its one batch loss, taken before the update
    np.testing.assert_array_equal(h.epoch_loss, h.loss)
    # the validation numbers are those of the weights after the epoch
    final = net.evaluate(Xv, yv)
    assert h.val_loss[-1] == pytest.approx(final["loss"], rel=1e-14)
    assert h.val_accuracy[-1] == final["accuracy"]
    assert h.best_epoch == int(np.argmin(h.val_loss))
    # training accuracy: of the predictions made on the batch during the epoch
    net2 = _classifier()
    before = np.mean(net2.predict_classes(X[:90]) == labels[:90])
    h2 = net2.fit(X[:90], labels[:90], lr=0.05, epochs=1)
    assert h2.accuracy[0] == before


def test_validation_split_holds_out_the_last_rows_before_shuffling(rng):
    X, labels = _blobs(rng, n=50)
    a, b = _classifier(), _classifier()
    ha = a.fit(X, labels, optimizer=optim.Adam(lr=1e-2), epochs=4, batch_size=8, seed=1,
               validation_split=0.1)
    hb = b.fit(X[:45], labels[:45], optimizer=optim.Adam(lr=1e-2), epochs=4, batch_size=8,
               seed=1, validation_data=(X[45:], labels[45:]))
    np.testing.assert_array_equal(ha.loss, hb.loss)
    np.testing.assert_array_equal(ha.val_loss, hb.val_loss)


def _overfitting(rng, backend):
    """Few noisy rows and a wide network: it overfits, and the validation loss turns up."""
    X_all, l_all = _blobs(rng, n=260, spread=2.0)
    return _classifier(backend, hidden=64), X_all[:60], l_all[:60], X_all[60:], l_all[60:]


@pytest.mark.parametrize("backend", pn.BACKENDS)
def test_patience_stops_early_and_restores_the_best_weights(rng, backend):
    net, X, labels, Xv, yv = _overfitting(rng, backend)
    h = net.fit(X, labels, optimizer=optim.Adam(lr=1e-2), epochs=500, batch_size=8, seed=0,
                validation_data=(Xv, yv), patience=5)
    assert h.stopped_early and h.epoch_loss.size < 500
    assert h.best_epoch == int(np.argmin(h.val_loss)) == h.epoch_loss.size - 6
    assert net.loss(Xv, yv) == pytest.approx(h.val_loss[h.best_epoch], rel=1e-13)
    assert net.loss(Xv, yv) < h.val_loss[-1]

    kept = _classifier(backend, hidden=64)
    hk = kept.fit(X, labels, optimizer=optim.Adam(lr=1e-2), epochs=500, batch_size=8, seed=0,
                  validation_data=(Xv, yv), patience=5, restore_best=False)
    np.testing.assert_array_equal(hk.val_loss, h.val_loss)
    assert kept.loss(Xv, yv) == pytest.approx(hk.val_loss[-1], rel=1e-13)


def test_min_delta_counts_only_real_improvements(rng):
    X, labels = _blobs(rng, n=80)
    runs = []
    for delta in (0.0, 10.0):
        net = _classifier()
        runs.append(net.fit(X, labels, optimizer=optim.Adam(lr=1e-2), epochs=50,
                            validation_split=0.25, patience=3, min_delta=delta))
    assert runs[1].epoch_loss.size == 4 and runs[1].best_epoch == 0  # nothing beats 10.0
    assert runs[0].epoch_loss.size > 4


@pytest.mark.parametrize("batch_size", [None, 8])
def test_patience_on_the_training_loss_needs_no_validation_and_backends_agree(rng, batch_size):
    X, labels = _blobs(rng, n=80)
    runs = {}
    for backend in pn.BACKENDS:
        net = _classifier(backend)
        runs[backend] = (net, net.fit(X, labels, optimizer=optim.SGD(lr=0.05), epochs=400,
                                      batch_size=batch_size, seed=3, monitor="loss",
                                      patience=4, min_delta=1e-3))
    (a_net, a), (b_net, b) = runs["native"], runs["numpy"]
    np.testing.assert_allclose(a.epoch_loss, b.epoch_loss, rtol=1e-10)
    assert a.stopped_early and b.stopped_early and a.epoch_loss.size < 400
    assert a.best_epoch == b.best_epoch
    assert a.val_loss is None
    # The rule, Keras's: stop after `patience` epochs in a row none of which
    # beats the best so far by min_delta; the best is the last such epoch.
    best, waited, stop = np.inf, 0, None
    for e, value in enumerate(a.epoch_loss):
        if value < best - 1e-3:
            best, waited, best_epoch = value, 0, e
        else:
            waited += 1
            if waited >= 4:
                stop = e
                break
    assert stop == a.epoch_loss.size - 1 and best_epoch == a.best_epoch
    for W, V in zip(a_net.weights, b_net.weights):
        np.testing.assert_allclose(W, V, rtol=1e-9, atol=1e-12)
    # The training loss's weights are never put back: the network ends on the last epoch.
    kept = _classifier()
    kept.fit(X, labels, optimizer=optim.SGD(lr=0.05), epochs=400, batch_size=batch_size,
             seed=3, monitor="loss", patience=4, min_delta=1e-3, restore_best=False)
    for W, V in zip(a_net.weights, kept.weights):
        np.testing.assert_array_equal(W, V)


@pytest.mark.parametrize("backend", pn.BACKENDS)
def test_patience_on_the_validation_accuracy_keeps_its_best_epoch(rng, backend):
    net, X, labels, Xv, yv = _overfitting(rng, backend)
    h = net.fit(X, labels, optimizer=optim.Adam(lr=1e-2), epochs=300, batch_size=8, seed=0,
                validation_data=(Xv, yv), patience=5, monitor="val_accuracy")
    assert h.stopped_early
    # the first epoch of the highest accuracy (ties do not improve), whose weights are back
    assert h.best_epoch == int(np.argmax(h.val_accuracy)) == h.epoch_loss.size - 6
    assert net.evaluate(Xv, yv)["accuracy"] == h.val_accuracy[h.best_epoch]


def test_both_backends_stop_on_the_same_validation_accuracy(rng):
    X, labels = _blobs(rng, n=160, spread=2.0)
    hs = [_classifier(b, hidden=32).fit(X, labels, optimizer=optim.Adam(lr=1e-2), epochs=200,
                                        batch_size=16, seed=2, validation_split=0.3,
                                        patience=3, monitor="val_accuracy")
          for b in pn.BACKENDS]
    np.testing.assert_array_equal(hs[0].val_accuracy, hs[1].val_accuracy)
    assert hs[0].best_epoch == hs[1].best_epoch and hs[0].stopped_early


# ---------------------------------------------------------------- sample weights and l2


@pytest.mark.parametrize("loss", ["cross_entropy", "binary_cross_entropy", "mse"])
def test_both_backends_agree_with_sample_weights_and_l2(rng, loss):
    X, labels = _blobs(rng, n=90)
    w = rng.random(90) * 3
    w[::7] = 0.0
    out = {"cross_entropy": "softmax", "binary_cross_entropy": "sigmoid", "mse": "linear"}[loss]
    y = labels if loss == "cross_entropy" else np.eye(3)[labels]
    runs = []
    for backend in pn.BACKENDS:
        net = pn.Network([4, 8, 3], activation="tanh", output_activation=out, loss=loss,
                         init="xavier", seed=1, backend=backend)
        h = net.fit(X, y, optimizer=optim.Adam(lr=1e-2), epochs=12, batch_size=16, seed=4,
                    sample_weight=w, l2=0.3)
        runs.append((net, h))
    (a, ha), (b, hb) = runs
    np.testing.assert_allclose(ha.loss, hb.loss, rtol=1e-10)
    for W, V in zip(a.weights, b.weights):
        np.testing.assert_allclose(W, V, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("backend", pn.BACKENDS)
def test_integer_weights_are_repeated_rows_and_zero_weights_removed_rows(rng, backend):
    X, labels = _blobs(rng, n=30)
    w = rng.integers(0, 4, 30)
    fits = []
    for Xs, ys, ws in ((X, labels, w), (X.repeat(w, axis=0), labels.repeat(w), None)):
        net = _classifier(backend)
        h = net.fit(Xs, ys, optimizer=optim.SGD(lr=0.1, momentum=0.9), epochs=20,
                    sample_weight=ws, l2=0.5)  # full batch: one weight sum, one l2 term
        fits.append((net, h))
    (a, ha), (b, hb) = fits
    np.testing.assert_allclose(ha.loss, hb.loss, rtol=1e-12)
    for W, V in zip(a.weights, b.weights):
        np.testing.assert_allclose(W, V, rtol=1e-10, atol=1e-13)


def test_l2_penalises_the_weights_only_scaled_by_the_batch(rng):
    X, labels = _blobs(rng, n=40)
    net = _classifier()
    before = net.copy()
    dW, db = before.gradients(X, labels)
    alpha, lr = 0.7, 0.05
    h = net.fit(X, labels, optimizer=optim.SGD(lr=lr), epochs=1, l2=alpha)
    squares = sum(float(np.sum(W * W)) for W in before.weights)
    assert h.loss[0] == pytest.approx(before.loss(X, labels) + 0.5 * alpha * squares / 40,
                                      rel=1e-13)
    for W0, g, W1 in zip(before.weights, dW, net.weights):
        np.testing.assert_allclose(W1, W0 - lr * (g + alpha / 40 * W0), rtol=1e-12, atol=1e-15)
    for b0, g, b1 in zip(before.biases, db, net.biases):
        np.testing.assert_allclose(b1, b0 - lr * g, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("kwargs,error,match", [
    (dict(sample_weight=np.ones(5)), ValueError, r"^sample_weight: expected shape \(120,\)"),
    (dict(sample_weight=-np.ones(120)), ValueError, "^sample_weight: expected weights >= 0"),
    (dict(sample_weight=np.zeros(120)), ValueError, "^sample_weight: the weights are all 0"),
    (dict(sample_weight=np.full(120, np.nan)), ValueError, "^sample_weight: expected finite"),
    (dict(sample_weight=["a"] * 120), TypeError, "^sample_weight"),
    (dict(sample_weight=np.r_[np.zeros(96), np.ones(24)], validation_split=0.2), ValueError,
     "^sample_weight: the weights of the training rows"),
    (dict(l2=-1.0), ValueError, "^l2: expected a finite number >= 0"),
    (dict(l2="big"), TypeError, "^l2"),
])
def test_bad_weights_are_refused_and_change_nothing(rng, kwargs, error, match):
    X, labels = _blobs(rng)
    net = _classifier()
    before = net.weights
    with pytest.raises(error, match=match):
        net.fit(X, labels, lr=0.1, epochs=2, **kwargs)
    for W, V in zip(before, net.weights):
        np.testing.assert_array_equal(W, V)
    assert net.optimizer is None


def test_validation_of_an_mse_network_reports_no_accuracy(rng, xor_data):
    X, y = xor_data
    net = pn.Network([2, 4, 1], seed=42)
    with pytest.raises(ValueError, match="^monitor: 'val_accuracy' needs a loss that classifies"):
        net.fit(X, y, epochs=2, validation_data=(X, y), monitor="val_accuracy")
    h = net.fit(X, y, epochs=20, validation_data=(X, y))
    assert h.accuracy is None and h.val_accuracy is None
    assert h.val_loss.shape == (20,) and h.val_loss[-1] == pytest.approx(net.loss(X, y))
    assert "val_loss" in repr(h)


@pytest.mark.parametrize("kwargs,error,match", [
    (dict(validation_split=0.0), ValueError, r"^validation_split: expected a fraction in \(0, 1\)"),
    (dict(validation_split=0.999), ValueError, "^validation_split: 0.999 of 120 rows leaves no"),
    (dict(validation_split=0.1, validation_data=([[0, 0, 0, 0]], [0])), ValueError,
     "^validation_split: pass validation_data or validation_split, not both"),
    (dict(validation_data=[[0, 0, 0, 0]]), TypeError, r"^validation_data: expected a pair"),
    (dict(validation_data=([[0, 0, 0]], [0])), ValueError, "^X_val: expected 4 columns"),
    (dict(validation_data=([[0, 0, 0, 0]], [7])), ValueError, r"^y_val: class labels must be"),
    (dict(patience=3), ValueError, "^patience: early stopping watches the validation loss"),
    (dict(patience=0, validation_split=0.1), ValueError, "^patience: expected an int >= 1"),
    (dict(patience=2, validation_split=0.1, min_delta=-1.0), ValueError,
     "^min_delta: expected a finite number >= 0"),
    (dict(patience=2, validation_split=0.1, restore_best=1), TypeError,
     "^restore_best: expected a bool"),
    (dict(patience=2, monitor="val_accuracy"), ValueError,
     "^patience: early stopping watches the validation loss"),
    (dict(monitor="val_loss"), ValueError, "^monitor: 'val_loss' needs validation data"),
    (dict(patience=2, validation_split=0.1, monitor="accuracy"), ValueError,
     "^monitor: expected one of"),
    (dict(monitor=1), TypeError, "^monitor"),
])
def test_bad_validation_arguments_are_refused_and_change_nothing(rng, kwargs, error, match):
    X, labels = _blobs(rng)
    net = _classifier()
    before = net.weights
    with pytest.raises(error, match=match):
        net.fit(X, labels, lr=0.1, epochs=2, **kwargs)
    for W, W0 in zip(net.weights, before):
        np.testing.assert_array_equal(W, W0)
    assert net.optimizer is None


# ---------------------------------------------------------------- losses and what they need


@pytest.mark.parametrize("kwargs,match", [
    (dict(activation="relu", output_activation="softmax"),
     "^loss: a softmax output goes with loss='cross_entropy', got 'mse'"),
    (dict(activation="relu", loss="cross_entropy"),
     "^loss: 'cross_entropy' needs output_activation='softmax', got 'relu'"),
    (dict(activation="relu", output_activation="tanh", loss="binary_cross_entropy"),
     "^loss: 'binary_cross_entropy' needs output_activation='sigmoid', got 'tanh'"),
    (dict(activation=["softmax", "softmax"], loss="cross_entropy"),
     "^activation: 'softmax' is for the output layer only, got it on layer 0"),
    (dict(loss="hinge"), "^loss: expected one of 'mse', 'binary_cross_entropy', 'cross_entropy'"),
])
def test_a_loss_and_an_output_that_do_not_go_together_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        pn.Network([3, 4, 2], **kwargs)
    with pytest.raises(ValueError, match=match):
        pn.Network.from_weights([np.ones((3, 4)), np.ones((4, 2))], [np.zeros(4), np.zeros(2)],
                                **kwargs)


def test_softmax_over_one_output_is_refused():
    with pytest.raises(ValueError, match="^output_activation: softmax over 1 output"):
        pn.Network([3, 1], output_activation="softmax", loss="cross_entropy")


@pytest.mark.parametrize("y,match", [
    (np.array([0, 1, 3, 1]), r"^y: class labels must be in \[0, 3\) for a network with 3 "
                             r"outputs, got 3 at index 2"),
    (np.array([0, -1, 2, 1]), r"^y: class labels must be in \[0, 3\).*got -1 at index 1"),
    (np.array([[1.0, 0, 0], [0.5, 0.6, 0], [0, 0, 1], [0, 1, 0]]),
     "^y: cross_entropy needs rows that sum to 1 .* row 1 sums to 1.1"),
    (np.array([[1.0, 0, 0], [1.5, -0.5, 0], [0, 0, 1], [0, 1, 0]]),
     r"^y: cross_entropy needs probability rows \(>= 0, summing to 1\), got -0.5 at index"),
    (np.array([0, 1, 2]), "^y: has 3 labels but X has 4 rows"),
    # whole floats are labels (test_habits.py); others are neither labels nor rows
    (np.array([0.0, 1.0, 2.5, 1.0]), r"^y: expected class labels \(whole numbers in \[0, 3\)\) "
                                     r"or a 2-D array \(samples, 3\) of probabilities"),
    (np.array([0.0, 1.0, 3.0, 1.0]), r"^y: class labels must be in \[0, 3\).*got 3\.0 at index 2"),
])
def test_bad_cross_entropy_targets_are_refused_and_change_nothing(y, match):
    net = pn.Network([2, 4, 3], output_activation="softmax", loss="cross_entropy", seed=0)
    before = net.weights
    X = np.zeros((4, 2))
    for call in (lambda: net.fit(X, y, epochs=1), lambda: net.loss(X, y),
                 lambda: net.evaluate(X, y), lambda: net.gradients(X, y)):
        with pytest.raises(ValueError, match=match):
            call()
    for W, W0 in zip(net.weights, before):
        np.testing.assert_array_equal(W, W0)


def test_bce_targets_outside_zero_one_are_refused():
    net = pn.Network([2, 3, 2], loss="binary_cross_entropy", seed=0)
    with pytest.raises(ValueError, match=r"^y: binary_cross_entropy needs targets in \[0, 1\], "
                                         r"got values in \[-0.5, 1\]"):
        net.fit(np.zeros((2, 2)), [[1.0, 0.0], [-0.5, 1.0]], epochs=1)


def test_integer_labels_for_an_mse_network_get_the_right_advice():
    net = pn.Network([2, 4, 3], seed=0)
    with pytest.raises(ValueError, match=r"one-hot encode them, np\.eye\(3\)\[y\], or train "
                                         r"with loss='cross_entropy'"):
        net.fit(np.zeros((4, 2)), np.array([0, 1, 2, 1]), epochs=1)


# ---------------------------------------------------------------- targets an output cannot reach


@pytest.mark.parametrize("act,y,reach", [
    ("sigmoid", [[0.0], [3.0]], r"\[0.0, 1.0\]"),
    ("tanh", [[-2.0], [0.5]], r"\[-1.0, 1.0\]"),
    ("relu", [[-1.0], [5.0]], r"\[0.0, inf\]"),
])
@pytest.mark.parametrize("backend", pn.BACKENDS)
def test_mse_targets_out_of_the_outputs_reach_warn_once(act, y, reach, backend):
    net = pn.Network([1, 3, 1], activation="tanh", output_activation=act, seed=0,
                     backend=backend)
    with pytest.warns(UserWarning, match=rf"^y: the targets lie in .* but the output activation "
                                         rf"'{act}' only reaches {reach}.*output_activation="
                                         rf"'linear'") as record:
        net.fit([[0.0], [1.0]], y, lr=0.01, epochs=3)
    assert len(record) == 1


def test_targets_the_output_can_reach_do_not_warn(xor_data):
    X, y = xor_data
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pn.Network([2, 4, 1], seed=0).fit(X, y, epochs=3)  # 0 and 1: sigmoid's closed range
        pn.Network([2, 4, 1], output_activation="linear", seed=0).fit(X, y * 100, lr=1e-4,
                                                                      epochs=3)


# ---------------------------------------------------------------- callbacks


@pytest.mark.parametrize("callback", [lambda: None, lambda i: None, lambda i, loss, extra: None])
def test_a_callback_that_cannot_take_iteration_and_loss_is_refused_up_front(callback, xor_data):
    X, y = xor_data
    net = pn.Network([2, 4, 1], seed=0)
    before = net.weights
    with pytest.raises(TypeError, match=r"^callback: expected a function callback\(iteration, "
                                        r"loss\) taking 2 arguments, got <lambda>\("):
        net.fit(X, y, epochs=5, callback=callback)
    np.testing.assert_array_equal(net.weights[0], before[0])


def test_callbacks_with_defaults_or_varargs_are_accepted(xor_data):
    X, y = xor_data
    seen = []
    pn.Network([2, 4, 1], seed=0).fit(X, y, epochs=2, callback=lambda *a: seen.append(a))
    pn.Network([2, 4, 1], seed=0).fit(X, y, epochs=2,
                                      callback=lambda i, loss, tag="x": seen.append(tag))
    assert len(seen) == 4


@pytest.mark.parametrize("backend", pn.BACKENDS)
def test_an_exception_from_the_callback_keeps_the_optimizer_in_step(backend, rng):
    X, labels = _blobs(rng)
    net = _classifier(backend)
    opt = optim.Adam(lr=1e-2)

    def stop_at_3(i, loss):
        if i == 3:
            raise RuntimeError("enough")

    with pytest.raises(RuntimeError, match="enough"):
        net.fit(X, labels, optimizer=opt, epochs=10, callback=stop_at_3)
    assert opt.steps == 4 and net.optimizer is opt
    # continuing gives what an uninterrupted run of the same length gives
    net.fit(X, labels, optimizer=opt, epochs=6)
    straight = _classifier(backend)
    straight.fit(X, labels, optimizer=optim.Adam(lr=1e-2), epochs=10)
    np.testing.assert_array_equal(net.forward(X), straight.forward(X))
