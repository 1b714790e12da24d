"""Bad input is refused with a clear message and changes nothing; accepted input converts.

Every public entry point must raise ValueError or TypeError whose message names
the argument and states what was expected and what it got, and a call that
fails must leave the network's weights and biases bit-identical. Conversions
the API promises (ints, bools, lists, any memory layout, the other float
precision, 1-D y) must give the same numbers as a clean float64 C-contiguous
array. (The guards of plainnet._core itself, for direct calls, are tested in
test_core_guards.py.)
"""

import json
import pickle
import re

import numpy as np
import pytest
from conftest import run_isolated

import plainnet as pn

BACKENDS = ["native", "numpy"]

# The tutorial's XOR data as float64, the "clean" reference input.
X4 = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
Y4 = np.array([[0.0], [1.0], [1.0], [0.0]])


def make_net(backend, layers=(2, 4, 1), dtype="float64", seed=3, **kw):
    return pn.Network(list(layers), seed=seed, dtype=dtype, backend=backend, **kw)


def params_of(net):
    return [w.copy() for w in net.weights], [b.copy() for b in net.biases]


def assert_params_equal(net, before):
    weights, biases = before
    now_w, now_b = net.weights, net.biases
    assert len(now_w) == len(weights) and len(now_b) == len(biases)
    for old, new in zip(weights + biases, now_w + now_b):
        assert old.dtype == new.dtype and old.shape == new.shape
        assert np.array_equal(old, new), "a failed call changed the network"


def with_value(arr, index, value, dtype=None):
    out = np.array(arr, dtype=dtype if dtype is not None else np.asarray(arr).dtype)
    out[index] = value
    return out


def readonly(arr):
    out = np.array(arr)
    out.flags.writeable = False
    return out


# ================================================================ constructor

CTOR_ERRORS = [
    # (id, kwargs, exception, match)
    ("activation-unknown", dict(activation="swish"), ValueError,
     r"^activation: expected one of .*'sigmoid'.*, got 'swish'"),
    ("activation-int", dict(activation=3), TypeError,
     r"^activation: expected a name or a list of names, got int 3"),
    ("activation-none", dict(activation=None), TypeError, r"^activation: .*got NoneType None"),
    ("output_activation-unknown", dict(output_activation="swish"), ValueError,
     r"^output_activation: expected one of .*'softmax'.*, got 'swish'"),
    # softmax is an output activation now, but only with the cross-entropy loss
    ("output_activation-softmax-with-mse", dict(output_activation="softmax"), ValueError,
     r"^loss: a softmax output goes with loss='cross_entropy', got 'mse'"),
    ("activation-softmax-hidden", dict(activation="softmax", output_activation="linear"),
     ValueError, r"^activation: 'softmax' is for the output layer only, got it on layer 0 of 2"),
    ("output_activation-int", dict(output_activation=3), TypeError,
     r"^output_activation: expected one of .*, got int 3"),
    ("activation-list-too-short", dict(activation=["relu"]), ValueError,
     r"^activation: expected 2 names \(one per layer\), got 1: \['relu'\]"),
    ("activation-list-too-long", dict(activation=["relu", "relu", "relu"]), ValueError,
     r"^activation: expected 2 names \(one per layer\), got 3"),
    ("activation-list-unknown", dict(activation=["relu", "swish"]), ValueError,
     r"^activation\[1\]: expected one of .*, got 'swish'"),
    ("activation-list-int", dict(activation=["relu", 7]), TypeError,
     r"^activation\[1\]: expected one of .*, got int 7"),
    ("activation-list-plus-output", dict(activation=["relu", "linear"],
                                          output_activation="linear"), ValueError,
     r"^output_activation: must be None when activation is a list"),
    ("init-unknown", dict(init="uniform"), ValueError,
     r"^init: expected one of 'normal', 'xavier', 'he', got 'uniform'"),
    ("init-none", dict(init=None), TypeError, r"^init: expected one of .*got NoneType None"),
    ("dtype-unknown-name", dict(dtype="float99"), ValueError,
     r"^dtype: expected 'float64' or 'float32', got 'float99'"),
    ("dtype-int32", dict(dtype="int32"), ValueError,
     r"^dtype: expected 'float64' or 'float32', got 'int32'"),
    ("dtype-complex128", dict(dtype="complex128"), ValueError,
     r"^dtype: expected 'float64' or 'float32', got 'complex128'"),
    ("dtype-float16", dict(dtype=np.float16), ValueError,
     r"^dtype: expected 'float64' or 'float32', got "),
    ("dtype-int", dict(dtype=3), TypeError, r"^dtype: expected 'float64' or 'float32', got 3"),
    ("backend-unknown", dict(backend="cuda"), ValueError,
     r"^backend: expected one of 'native', 'numpy', got 'cuda'"),
    ("backend-none", dict(backend=None), TypeError, r"^backend: expected one of .*got NoneType"),
    ("init_scale-negative", dict(init_scale=-0.5), ValueError,
     r"^init_scale: expected a finite number >= 0, got -0.5"),
    ("init_scale-nan", dict(init_scale=float("nan")), ValueError,
     r"^init_scale: expected a finite number >= 0, got nan"),
    ("init_scale-inf", dict(init_scale=float("inf")), ValueError,
     r"^init_scale: expected a finite number >= 0, got inf"),
    ("init_scale-str", dict(init_scale="1"), TypeError,
     r"^init_scale: expected a real number, got str '1'"),
    ("init_scale-bool", dict(init_scale=True), TypeError,
     r"^init_scale: expected a real number, got bool True"),
    ("seed-negative", dict(seed=-1), ValueError, r"^seed: expected an int >= 0, got -1"),
    ("seed-too-big", dict(seed=2**32), ValueError,
     r"^seed: expected an int in \[0, 2\*\*32\), got 4294967296"),
    ("seed-float", dict(seed=1.5), TypeError, r"^seed: expected an int, got float 1.5"),
    ("seed-str", dict(seed="1"), TypeError, r"^seed: expected an int, got str '1'"),
    ("seed-bool", dict(seed=True), TypeError, r"^seed: expected an int, got bool True"),
]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("kwargs,exc,match", [c[1:] for c in CTOR_ERRORS],
                         ids=[c[0] for c in CTOR_ERRORS])
def test_constructor_rejects_bad_arguments(backend, kwargs, exc, match):
    kwargs = dict(kwargs)
    kwargs.setdefault("backend", backend)
    with pytest.raises(exc, match=match):
        pn.Network([2, 4, 1], **kwargs)


LAYER_ERRORS = [
    ("one-size", [2], ValueError,
     r"^layers: expected at least 2 sizes \(inputs and outputs\), got 1: \[2\]"),
    ("no-sizes", [], ValueError, r"^layers: expected at least 2 sizes .*got 0"),
    ("zero", [2, 0, 1], ValueError, r"^layers\[1\]: expected a size >= 1, got 0"),
    ("negative", [2, -3, 1], ValueError, r"^layers\[1\]: expected a size >= 1, got -3"),
    ("zero-inputs", [0, 1], ValueError, r"^layers\[0\]: expected a size >= 1, got 0"),
    ("float", [2, 2.5, 1], TypeError, r"^layers\[1\]: expected an int, got float 2.5"),
    ("bool", [2, True, 1], TypeError, r"^layers\[1\]: expected an int, got bool True"),
    ("float-array", np.array([2.0, 4.0, 1.0]), TypeError, r"^layers\[0\]: expected an int"),
    ("int", 5, TypeError, r"^layers: expected a list of layer sizes .*got int 5"),
    ("str", "241", TypeError, r"^layers: expected a list of layer sizes .*got str '241'"),
    ("none", None, TypeError, r"^layers: expected a list of layer sizes .*got NoneType"),
    # 2**62 * 4 weights cannot exist; the message must still name the argument
    ("huge", [2**62, 4], ValueError, r"layers"),
]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("layers,exc,match", [c[1:] for c in LAYER_ERRORS],
                         ids=[c[0] for c in LAYER_ERRORS])
def test_constructor_rejects_bad_layer_sizes(backend, layers, exc, match):
    with pytest.raises(exc, match=match):
        pn.Network(layers, backend=backend)


@pytest.mark.parametrize("backend", BACKENDS)
def test_constructor_accepts_edge_values(backend):
    net = pn.Network(np.array([2, 4, 1]), activation=("tanh", "linear"), init="he",
                     init_scale=0, seed=2**32 - 1, dtype=np.float32, backend=backend)
    assert net.layers == [2, 4, 1] and net.dtype == np.float32
    assert all(not w.any() for w in net.weights)  # init_scale=0: all zero
    net = pn.Network([np.int64(2), np.uint8(3), 1], seed=np.int64(0), init_scale=np.float32(1),
                     dtype=np.dtype("float64"), backend=backend)
    assert net.layers == [2, 3, 1] and net.dtype == np.float64


@pytest.mark.parametrize("backend", BACKENDS)
def test_dtype_given_as_an_array_dtype_works(backend):
    # X.dtype of an array that went through pickle (multiprocessing, joblib, ...)
    # is a float64 dtype equal to, but not the same object as, np.dtype("float64").
    X = pickle.loads(pickle.dumps(X4))
    assert X.dtype == np.float64
    net = make_net(backend, dtype=X.dtype)
    clean = make_net(backend, dtype="float64")
    assert net.dtype == np.float64
    assert np.array_equal(net.forward(X), clean.forward(X4))
    net.fit(X, Y4, lr=0.5, epochs=3)
    clean.fit(X4, Y4, lr=0.5, epochs=3)
    assert np.array_equal(net.weights[0], clean.weights[0])


# ================================================================ X and y

def _call(net, method, X, y):
    if method == "forward":
        return net.forward(X)
    if method == "predict":
        return net.predict(X)
    if method == "forward_trace":
        return net.forward_trace(X)
    if method == "loss":
        return net.loss(X, y)
    if method == "gradients":
        return net.gradients(X, y)
    if method == "step":
        return net.step(X, y, lr=0.5)
    if method == "fit":
        return net.fit(X, y, lr=0.5, epochs=3, batch_size=2, seed=0)
    raise AssertionError(method)


X_METHODS = ["forward", "predict", "forward_trace", "loss", "gradients", "step", "fit"]
XY_METHODS = ["loss", "gradients", "step", "fit"]

BAD_X = [
    # (id, X for a [2, 4, 1] network, exception, match)
    ("str", np.array([["0", "1"]] * 4), TypeError,
     r"^X: expected real numbers \(bool, int or float\), got dtype <U1"),
    ("bytes", np.array([[b"0", b"1"]] * 4), TypeError, r"^X: expected real numbers .*got dtype \|S1"),
    ("object-none", np.array([[1, None]], dtype=object), TypeError,
     r"^X: expected real numbers .*got dtype object"),
    ("object-floats", np.array([[1.0, 2.0]] * 4, dtype=object), TypeError,
     r"^X: expected real numbers .*got dtype object"),
    ("complex", X4.astype(np.complex128), TypeError,
     r"^X: expected real numbers .*got dtype complex128"),
    ("datetime", np.zeros((4, 2), dtype="datetime64[D]"), TypeError,
     r"^X: expected real numbers .*got dtype datetime64"),
    ("ragged-list", [[0, 1], [1]], ValueError, r"^X: could not be read as a numeric array"),
    ("1-D", np.array([0.0, 1.0]), ValueError,
     r"^X: expected a 2-D array \(samples, 2\), got shape \(2,\) \(use \.reshape"),
    ("3-D", np.zeros((4, 2, 1)), ValueError,
     r"^X: expected a 2-D array \(samples, 2\), got shape \(4, 2, 1\)"),
    ("0-D", np.float64(1.0), ValueError, r"^X: expected a 2-D array \(samples, 2\), got shape \(\)"),
    ("3-features", np.zeros((4, 3)), ValueError, r"^X: expected 2 columns, got shape \(4, 3\)"),
    ("1-feature", np.zeros((4, 1)), ValueError, r"^X: expected 2 columns, got shape \(4, 1\)"),
    ("transposed", X4.T, ValueError, r"^X: expected 2 columns, got shape \(2, 4\)"),
    ("empty", np.zeros((0, 2)), ValueError, r"^X: expected at least 1 row, got shape \(0, 2\)"),
    ("empty-list", [], ValueError, r"^X: expected a 2-D array \(samples, 2\), got shape \(0,\)"),
    ("nan", with_value(X4, (1, 0), np.nan), ValueError,
     r"^X: expected finite values, got nan at index \(1, 0\)"),
    ("+inf", with_value(X4, (2, 1), np.inf), ValueError,
     r"^X: expected finite values, got inf at index \(2, 1\)"),
    ("-inf", with_value(X4, (3, 0), -np.inf), ValueError,
     r"^X: expected finite values, got -inf at index \(3, 0\)"),
    ("nan-float32", with_value(X4, (0, 1), np.nan, np.float32), ValueError,
     r"^X: expected finite values, got nan at index \(0, 1\)"),
    ("nan-list", [[0, 0], [0, float("nan")], [1, 0], [1, 1]], ValueError,
     r"^X: expected finite values, got nan at index \(1, 1\)"),
]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("method", X_METHODS)
@pytest.mark.parametrize("X,exc,match", [c[1:] for c in BAD_X], ids=[c[0] for c in BAD_X])
def test_bad_X_is_refused_and_changes_nothing(backend, method, X, exc, match):
    net = make_net(backend)
    before = params_of(net)
    with pytest.raises(exc, match=match):
        _call(net, method, X, Y4)
    assert_params_equal(net, before)


BAD_Y = [
    # (id, y for a [2, 4, 1] network and 4 samples, exception, match)
    ("str", np.array([["0"], ["1"], ["1"], ["0"]]), TypeError,
     r"^y: expected real numbers \(bool, int or float\), got dtype <U1"),
    ("object-none", np.array([[1], [None], [1], [0]], dtype=object), TypeError,
     r"^y: expected real numbers .*got dtype object"),
    ("complex", Y4.astype(np.complex64), TypeError, r"^y: expected real numbers .*got dtype complex64"),
    ("ragged-list", [[0], [1, 1], [1], [0]], ValueError, r"^y: could not be read as a numeric array"),
    ("3-D", np.zeros((4, 1, 1)), ValueError,
     r"^y: expected a 2-D array \(samples, 1\), got shape \(4, 1, 1\)"),
    ("0-D", np.float64(0.0), ValueError, r"^y: expected a 2-D array \(samples, 1\), got shape \(\)"),
    ("2-columns", np.zeros((4, 2)), ValueError, r"^y: expected 1 columns, got shape \(4, 2\)"),
    ("3-rows", np.zeros((3, 1)), ValueError, r"^y: has 3 rows but X has 4"),
    ("5-rows", np.zeros((5, 1)), ValueError, r"^y: has 5 rows but X has 4"),
    ("1-D-3-rows", np.zeros(3), ValueError, r"^y: has 3 rows but X has 4"),
    ("empty", np.zeros((0, 1)), ValueError, r"^y: expected at least 1 row, got shape \(0, 1\)"),
    ("nan", with_value(Y4, (2, 0), np.nan), ValueError,
     r"^y: expected finite values, got nan at index \(2, 0\)"),
    ("+inf", with_value(Y4, (0, 0), np.inf), ValueError,
     r"^y: expected finite values, got inf at index \(0, 0\)"),
    ("-inf", with_value(Y4, (3, 0), -np.inf), ValueError,
     r"^y: expected finite values, got -inf at index \(3, 0\)"),
    ("nan-1-D", with_value(Y4.ravel(), 1, np.nan), ValueError,
     r"^y: expected finite values, got nan at index \(1, 0\)"),
]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("method", XY_METHODS)
@pytest.mark.parametrize("y,exc,match", [c[1:] for c in BAD_Y], ids=[c[0] for c in BAD_Y])
def test_bad_y_is_refused_and_changes_nothing(backend, method, y, exc, match):
    net = make_net(backend)
    before = params_of(net)
    with pytest.raises(exc, match=match):
        _call(net, method, X4, y)
    assert_params_equal(net, before)


WIDE_CASES = [
    # a [3, 5, 2] network: three features in, two targets out
    ("X-2-features", np.zeros((6, 2)), np.zeros((6, 2)), ValueError,
     r"^X: expected 3 columns, got shape \(6, 2\)"),
    ("X-4-features", np.zeros((6, 4)), np.zeros((6, 2)), ValueError,
     r"^X: expected 3 columns, got shape \(6, 4\)"),
    ("y-1-target", np.zeros((6, 3)), np.zeros((6, 1)), ValueError,
     r"^y: expected 2 columns, got shape \(6, 1\)"),
    ("y-3-targets", np.zeros((6, 3)), np.zeros((6, 3)), ValueError,
     r"^y: expected 2 columns, got shape \(6, 3\)"),
    ("y-1-D", np.zeros((6, 3)), np.zeros(6), ValueError,
     r"^y: expected a 2-D array \(samples, 2\), got shape \(6,\)"),
    # integer labels for a multi-output mse network: a hint to one-hot encode them
    ("y-1-D-labels", np.zeros((6, 3)), np.array([0, 1, 1, 0, 1, 0]), ValueError,
     r"^y: expected a 2-D array \(samples, 2\), got shape \(6,\) \(these look like class "
     r"labels: one-hot encode them.*loss='cross_entropy'"),
    ("y-rows", np.zeros((6, 3)), np.zeros((4, 2)), ValueError, r"^y: has 4 rows but X has 6"),
]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("method", XY_METHODS)
@pytest.mark.parametrize("X,y,exc,match", [c[1:] for c in WIDE_CASES],
                         ids=[c[0] for c in WIDE_CASES])
def test_wrong_feature_and_target_counts(backend, method, X, y, exc, match):
    net = make_net(backend, layers=(3, 5, 2))
    before = params_of(net)
    with pytest.raises(exc, match=match):
        _call(net, method, X, y)
    assert_params_equal(net, before)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_non_finite_input_far_into_a_large_X_is_found(backend, dtype, value):
    # The native core checks X chunk by chunk (512 rows) as predict reads it.
    net = pn.Network([3, 4, 2], seed=0, dtype=dtype, backend=backend)
    X = np.ones((1500, 3), dtype=dtype)
    X[1234, 2] = value
    with pytest.raises(ValueError, match=rf"^X: expected finite values, got {value} at index "
                                         rf"\(1234, 2\)"):
        net.forward(X)
    X[1234, 2] = 0.0
    assert np.isfinite(net.forward(X)).all()


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("method", X_METHODS)
def test_value_overflowing_float32_is_refused(backend, method):
    # 1e300 is a finite float64 but becomes inf in a float32 network
    net = make_net(backend, dtype="float32")
    before = params_of(net)
    with pytest.raises(ValueError, match=r"^X \(converted to float32\): expected finite values, "
                                         r"got inf at index \(1, 1\)"):
        _call(net, method, with_value(X4, (1, 1), 1e300), Y4)
    assert_params_equal(net, before)
    if method in XY_METHODS:
        with pytest.raises(ValueError, match=r"^y \(converted to float32\): expected finite "
                                             r"values, got -inf at index \(2, 0\)"):
            _call(net, method, X4, with_value(Y4, (2, 0), -1e300))
        assert_params_equal(net, before)


# ================================================================ lr, epochs, ...

LR_ERRORS = [
    ("zero", 0, ValueError, r"^lr: expected a finite number > 0, got 0\.0"),
    ("negative", -0.5, ValueError, r"^lr: expected a finite number > 0, got -0\.5"),
    ("nan", float("nan"), ValueError, r"^lr: expected a finite number > 0, got nan"),
    ("inf", float("inf"), ValueError, r"^lr: expected a finite number > 0, got inf"),
    ("-inf", -np.inf, ValueError, r"^lr: expected a finite number > 0, got -inf"),
    ("str", "0.5", TypeError, r"^lr: expected a real number, got str '0\.5'"),
    ("bool", True, TypeError, r"^lr: expected a real number, got bool True"),
    ("none", None, TypeError, r"^lr: expected a real number, got NoneType None"),
    ("complex", 0.5j, TypeError, r"^lr: expected a real number, got complex"),
    ("array", np.array([0.5]), TypeError, r"^lr: expected a real number, got ndarray"),
]


# fit's lr=None is its default (2.0 without an optimizer): refused by step only
LR_CASES = [pytest.param(method, *c[1:], id=f"{c[0]}-{method}") for c in LR_ERRORS
            for method in ("step", "fit") if not (c[0] == "none" and method == "fit")]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("method,lr,exc,match", LR_CASES)
def test_bad_learning_rate(backend, method, lr, exc, match):
    net = make_net(backend)
    before = params_of(net)
    with pytest.raises(exc, match=match):
        if method == "step":
            net.step(X4, Y4, lr=lr)
        else:
            net.fit(X4, Y4, lr=lr, epochs=3)
    assert_params_equal(net, before)


@pytest.mark.parametrize("backend", BACKENDS)
def test_fit_lr_none_is_the_default_rate(backend):
    # fit(lr=None) and fit() are gradient descent with lr 2.0
    nets = [make_net(backend) for _ in range(3)]
    hists = [nets[0].fit(X4, Y4, lr=None, epochs=3), nets[1].fit(X4, Y4, epochs=3),
             nets[2].fit(X4, Y4, lr=2.0, epochs=3)]
    assert all(h.lr == 2.0 for h in hists)
    assert np.array_equal(hists[0].loss, hists[2].loss)
    assert np.array_equal(hists[1].loss, hists[2].loss)
    assert params_of(nets[0])[0][0].tolist() == params_of(nets[2])[0][0].tolist()


@pytest.mark.parametrize("backend", BACKENDS)
def test_fit_refuses_lr_next_to_an_optimizer(backend):
    net = make_net(backend)
    before = params_of(net)
    with pytest.raises(ValueError, match=r"^lr: the optimizer has its own \(lr=0\.5\)"):
        net.fit(X4, Y4, lr=0.1, optimizer=pn.optim.SGD(0.5), epochs=3)
    assert_params_equal(net, before)


FIT_ERRORS = [
    ("epochs-negative", dict(epochs=-1), ValueError, r"^epochs: expected an int >= 0, got -1"),
    ("epochs-float", dict(epochs=2.0), TypeError, r"^epochs: expected an int, got float 2\.0"),
    ("epochs-str", dict(epochs="10"), TypeError, r"^epochs: expected an int, got str '10'"),
    ("epochs-bool", dict(epochs=True), TypeError, r"^epochs: expected an int, got bool True"),
    ("epochs-none", dict(epochs=None), TypeError, r"^epochs: expected an int, got NoneType"),
    ("batch_size-zero", dict(batch_size=0), ValueError,
     r"^batch_size: expected an int >= 1, got 0"),
    ("batch_size-negative", dict(batch_size=-2), ValueError,
     r"^batch_size: expected an int >= 1, got -2"),
    ("batch_size-float", dict(batch_size=1.5), TypeError,
     r"^batch_size: expected an int, got float 1\.5"),
    ("batch_size-str", dict(batch_size="2"), TypeError, r"^batch_size: expected an int, got str"),
    ("log_every-negative", dict(log_every=-1), ValueError,
     r"^log_every: expected an int >= 0, got -1"),
    ("log_every-float", dict(log_every=2.5), TypeError,
     r"^log_every: expected an int, got float 2\.5"),
    ("callback-int", dict(callback=3), TypeError,
     r"^callback: expected a callable or None, got int 3"),
    ("callback-str", dict(callback="print", log_every=1), TypeError,
     r"^callback: expected a callable or None, got str 'print'"),
    # a callable that cannot take (iteration, loss) is refused before training
    ("callback-one-argument", dict(callback=lambda i: None), TypeError,
     r"^callback: expected a function callback\(iteration, loss\) taking 2 arguments, "
     r"got <lambda>\(i\)"),
    ("callback-three-arguments", dict(callback=lambda i, loss, extra: None), TypeError,
     r"^callback: expected a function callback\(iteration, loss\)"),
    ("shuffle-int", dict(shuffle=1), TypeError, r"^shuffle: expected a bool, got int 1"),
    ("shuffle-str", dict(shuffle="yes"), TypeError, r"^shuffle: expected a bool, got str 'yes'"),
    ("shuffle-none", dict(shuffle=None), TypeError, r"^shuffle: expected a bool, got NoneType"),
    ("seed-negative", dict(seed=-1), ValueError, r"^seed: expected an int >= 0, got -1"),
    ("seed-too-big", dict(seed=2**64), ValueError, r"^seed: expected an int in \[0, 2\*\*64\)"),
    ("seed-float", dict(seed=1.5), TypeError, r"^seed: expected an int, got float 1\.5"),
    ("seed-str", dict(seed="7"), TypeError, r"^seed: expected an int, got str '7'"),
]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("kwargs,exc,match", [c[1:] for c in FIT_ERRORS],
                         ids=[c[0] for c in FIT_ERRORS])
def test_bad_fit_arguments(backend, kwargs, exc, match):
    net = make_net(backend)
    before = params_of(net)
    args = dict(lr=0.5, epochs=3, batch_size=2, seed=0)
    args.update(kwargs)
    with pytest.raises(exc, match=match):
        net.fit(X4, Y4, **args)
    assert_params_equal(net, before)


@pytest.mark.parametrize("backend", BACKENDS)
def test_fit_accepts_boundary_values(backend):
    net = make_net(backend)
    before = params_of(net)
    history = net.fit(X4, Y4, lr=np.float32(0.5), epochs=0)
    assert history.iterations == 0
    assert_params_equal(net, before)  # zero epochs: nothing to do
    history = net.fit(X4, Y4, lr=1e-3, epochs=np.int64(2), batch_size=100, shuffle=np.bool_(False),
                      seed=2**64 - 1, log_every=0)
    assert history.iterations == 2


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("epochs", [2**62, 2**62 + 1, 2**63])
def test_fit_with_an_iteration_count_that_overflows_is_refused(backend, epochs):
    # epochs * (4 samples / batch_size 1) iterations overflow a 64-bit count
    code, out = run_isolated(f"pn.Network([2, 4, 1], seed=0, backend={backend!r})"
                             f".fit(X, y, lr=0.5, epochs={epochs}, batch_size=1)")
    assert code == 0, f"crashed or wrong exception (exit {code}): {out}"
    assert "epochs" in out, out


# ================================================================ accepted conversions

def _conversions():
    """(id, make(X, y) -> (X', y')): inputs equal in value to the clean float64 ones."""
    def noncontig(a):
        wide = np.full((a.shape[0], 2 * a.shape[1]), 7.0)
        wide[:, ::2] = a
        return wide[:, ::2]

    def negstride(a):
        return np.array(a[::-1])[::-1]

    return [
        ("int", lambda X, y: (X.astype(np.int64), y.astype(np.int64))),
        ("int32-uint8", lambda X, y: (X.astype(np.int32), y.astype(np.uint8))),
        ("bool", lambda X, y: (X.astype(bool), y.astype(bool))),
        ("lists", lambda X, y: (X.astype(int).tolist(), y.tolist())),
        ("tuples", lambda X, y: (tuple(map(tuple, X)), tuple(map(tuple, y)))),
        ("fortran", lambda X, y: (np.asfortranarray(X), np.asfortranarray(y))),
        ("strided-slice", lambda X, y: (noncontig(X), noncontig(y))),
        ("negative-strides", lambda X, y: (negstride(X), negstride(y))),
        ("read-only", lambda X, y: (readonly(X), readonly(y))),
        ("read-only-float32-strided",
         lambda X, y: (readonly(np.repeat(X.astype(np.float32), 2, axis=1))[:, ::2],
                       readonly(np.repeat(y, 2, axis=0))[::2])),
        ("float32", lambda X, y: (X.astype(np.float32), y.astype(np.float32))),
        ("float64", lambda X, y: (X.astype(np.float64), y.astype(np.float64))),
        ("float16", lambda X, y: (X.astype(np.float16), y.astype(np.float16))),
    ]


CONVERSIONS = _conversions()


def _results(net, X, y):
    """Everything the API computes from (X, y), on copies of net."""
    out = {"forward": net.forward(X), "predict": net.predict(X),
           "trace": [a for pair in net.forward_trace(X) for a in pair],
           "loss": net.loss(X, y)}
    dW, db = net.gradients(X, y)
    out["gradients"] = dW + db
    stepped = net.copy()
    out["step-loss"] = stepped.step(X, y, lr=0.5)
    out["step-weights"] = stepped.weights + stepped.biases
    fitted = net.copy()
    out["fit-loss"] = fitted.fit(X, y, lr=0.5, epochs=3, batch_size=2, seed=5).loss
    out["fit-weights"] = fitted.weights + fitted.biases
    return out


def _assert_same_results(got, want, exact):
    assert got.keys() == want.keys()
    for key in want:
        g, w = got[key], want[key]
        if not isinstance(w, list):
            g, w = [g], [w]
        assert len(g) == len(w), key
        for a, b in zip(g, w):
            a, b = np.asarray(a), np.asarray(b)
            assert a.dtype == b.dtype and a.shape == b.shape, key
            if exact:
                assert np.array_equal(a, b), key
            else:  # BLAS may sum in a different order for differently aligned copies
                rtol = 1e-12 if a.dtype == np.float64 else 1e-5
                np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol, err_msg=key)


def _data(layers):
    rng = np.random.default_rng(sum(layers))
    X = rng.integers(0, 2, size=(6, layers[0])).astype(np.float64)  # 0/1: exact in every dtype
    y = rng.integers(0, 2, size=(6, layers[-1])).astype(np.float64)
    return X, y


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("layers", [(2, 4, 1), (3, 5, 2)], ids=["2-4-1", "3-5-2"])
@pytest.mark.parametrize("make", [c[1] for c in CONVERSIONS], ids=[c[0] for c in CONVERSIONS])
def test_accepted_inputs_give_the_clean_float64_result(backend, dtype, layers, make):
    net = make_net(backend, layers=layers, dtype=dtype)
    before = params_of(net)
    X, y = _data(layers)
    want = _results(net, X, y)
    Xc, yc = make(X, y)
    got = _results(net, Xc, yc)
    _assert_same_results(got, want, exact=backend == "native")
    assert_params_equal(net, before)  # only the copies trained
    for key in ("forward", "predict"):
        assert got[key].dtype == np.dtype(dtype)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_tutorial_int_data_and_1d_y(backend, dtype):
    X, y = pn.datasets.xor()
    assert X.dtype.kind == "i" and y.dtype.kind == "i"
    net = make_net(backend, dtype=dtype)
    want = _results(net, X.astype(np.float64), y.astype(np.float64))
    _assert_same_results(_results(net, X, y), want, exact=backend == "native")
    _assert_same_results(_results(net, X, y.ravel()), want, exact=backend == "native")
    _assert_same_results(_results(net, X.tolist(), y.ravel().tolist()), want,
                         exact=backend == "native")


@pytest.mark.parametrize("backend", BACKENDS)
def test_inputs_are_not_modified(backend):
    X = np.array(X4[::-1])[::-1]
    y = np.asfortranarray(Y4)
    Xs, ys = X.copy(), y.copy()
    net = make_net(backend)
    net.forward(X)
    net.step(X, y, lr=0.5)
    net.fit(X, y, lr=0.5, epochs=2, batch_size=2, seed=0)
    assert np.array_equal(X, Xs) and np.array_equal(y, ys)


# ================================================================ from_weights

def _W(*shape):
    return np.arange(np.prod(shape), dtype=np.float64).reshape(shape) / 10


FROM_WEIGHTS_ERRORS = [
    ("chain-mismatch", lambda: ([_W(2, 4), _W(3, 1)], [np.zeros(4), np.zeros(1)]), ValueError,
     r"^weights\[1\]: expected 4 rows \(the outputs of weights\[0\]\), got shape \(3, 1\)"),
    ("bias-too-short", lambda: ([_W(2, 4), _W(4, 1)], [np.zeros(3), np.zeros(1)]), ValueError,
     r"^biases\[0\]: expected shape \(4,\), got \(3,\)"),
    ("bias-too-long", lambda: ([_W(2, 4), _W(4, 1)], [np.zeros(4), np.zeros(2)]), ValueError,
     r"^biases\[1\]: expected shape \(1,\), got \(2,\)"),
    ("bias-column", lambda: ([_W(2, 4), _W(4, 1)], [np.zeros((4, 1)), np.zeros(1)]), ValueError,
     r"^biases\[0\]: expected shape \(4,\), got \(4, 1\)"),
    ("weights-ndarray", lambda: (_W(2, 4), [np.zeros(4)]), TypeError,
     r"^weights: expected a list of arrays, got ndarray"),
    ("biases-ndarray", lambda: ([_W(2, 4)], np.zeros(4)), TypeError,
     r"^biases: expected a list of arrays, got ndarray"),
    ("weights-none", lambda: (None, [np.zeros(4)]), TypeError,
     r"^weights: expected a list of arrays, got NoneType"),
    ("unequal-lengths", lambda: ([_W(2, 4), _W(4, 1)], [np.zeros(4)]), ValueError,
     r"^biases: expected 2 arrays \(one per weight matrix\), got 1"),
    ("empty", lambda: ([], []), ValueError, r"^weights: expected at least 1 weight matrix, got 0"),
    ("weight-1-D", lambda: ([np.zeros(4)], [np.zeros(4)]), ValueError,
     r"^weights\[0\]: expected a 2-D array \(inputs, outputs\), got shape \(4,\)"),
    ("weight-3-D", lambda: ([np.zeros((2, 4, 1))], [np.zeros(4)]), ValueError,
     r"^weights\[0\]: expected a 2-D array \(inputs, outputs\), got shape \(2, 4, 1\)"),
    ("nan-weight", lambda: ([_W(2, 4), with_value(_W(4, 1), (2, 0), np.nan)],
                            [np.zeros(4), np.zeros(1)]), ValueError,
     r"^weights\[1\]: expected finite values, got nan at index \(2, 0\)"),
    ("inf-bias", lambda: ([_W(2, 4), _W(4, 1)], [with_value(np.zeros(4), 3, -np.inf),
                                                 np.zeros(1)]), ValueError,
     r"^biases\[0\]: expected finite values, got -inf at index \(3\)"),
    ("str-weight", lambda: ([np.array([["1", "2"]] * 2)], [np.zeros(2)]), TypeError,
     r"^weights\[0\]: expected real numbers .*got dtype <U1"),
    ("object-bias", lambda: ([_W(2, 2)], [np.array([1, None], dtype=object)]), TypeError,
     r"^biases\[0\]: expected real numbers .*got dtype object"),
    ("complex-weight", lambda: ([_W(2, 2).astype(complex)], [np.zeros(2)]), TypeError,
     r"^weights\[0\]: expected real numbers .*got dtype complex128"),
    ("ragged-weight", lambda: ([[[1.0, 2.0], [3.0]]], [np.zeros(2)]), ValueError,
     r"^weights\[0\]: could not be read as a numeric array"),
]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("make,exc,match", [c[1:] for c in FROM_WEIGHTS_ERRORS],
                         ids=[c[0] for c in FROM_WEIGHTS_ERRORS])
def test_from_weights_rejects_bad_arrays(backend, make, exc, match):
    weights, biases = make()
    with pytest.raises(exc, match=match):
        pn.Network.from_weights(weights, biases, backend=backend)


@pytest.mark.parametrize("backend", BACKENDS)
def test_from_weights_rejects_bad_options(backend):
    W, b = [_W(2, 4), _W(4, 1)], [np.zeros(4), np.zeros(1)]
    with pytest.raises(ValueError, match=r"^activation: expected one of .*got 'swish'"):
        pn.Network.from_weights(W, b, activation="swish", backend=backend)
    with pytest.raises(ValueError, match=r"^activation: expected 2 names"):
        pn.Network.from_weights(W, b, activation=["relu"], backend=backend)
    with pytest.raises(ValueError, match=r"^dtype: expected 'float64' or 'float32', got 'int32'"):
        pn.Network.from_weights(W, b, dtype="int32", backend=backend)
    with pytest.raises(ValueError, match=r"^backend: expected one of .*got 'cuda'"):
        pn.Network.from_weights(W, b, backend="cuda")
    W_big = [_W(2, 4), with_value(_W(4, 1), (0, 0), 1e300)]
    with pytest.raises(ValueError, match=r"^weights\[1\]: expected finite values, got inf"):
        pn.Network.from_weights(W_big, b, dtype="float32", backend=backend)


@pytest.mark.parametrize("backend", BACKENDS)
def test_from_weights_accepts_tutorial_shaped_biases(backend):
    rng = np.random.default_rng(0)
    W = [rng.standard_normal((2, 4)), rng.standard_normal((4, 1))]
    b_flat = [rng.standard_normal(4), rng.standard_normal(1)]
    b_row = [b.reshape(1, -1) for b in b_flat]  # the tutorial's np.zeros((1, n))
    flat = pn.Network.from_weights(W, b_flat, backend=backend)
    row = pn.Network.from_weights(W, b_row, backend=backend)
    listed = pn.Network.from_weights(tuple(w.tolist() for w in W), tuple(b.tolist() for b in b_row),
                                     backend=backend)
    for net in (row, listed):
        assert net.layers == [2, 4, 1]
        assert all(bi.shape == bf.shape for bi, bf in zip(net.biases, flat.biases))
        assert_params_equal(net, params_of(flat))
        assert np.array_equal(net.forward(X4), flat.forward(X4))


@pytest.mark.parametrize("backend", BACKENDS)
def test_from_weights_copies_its_input(backend):
    W, b = [_W(2, 4), _W(4, 1)], [np.zeros(4), np.zeros(1)]
    net = pn.Network.from_weights(W, b, backend=backend)
    net.fit(X4, Y4, lr=0.5, epochs=2)
    assert np.array_equal(W[0], _W(2, 4)) and not b[0].any()


# ================================================================ load

@pytest.fixture
def saved(tmp_path):
    net = make_net("native", layers=(3, 5, 2))
    path = tmp_path / "net.npz"
    net.save(path)
    return net, path


def _rewrite_meta(src, dst, change):
    with np.load(src) as archive:
        arrays = {k: archive[k] for k in archive.files}
    meta = json.loads(str(arrays["meta"]))
    change(meta)
    arrays["meta"] = np.array(json.dumps(meta))
    np.savez(dst, **arrays)
    return dst


@pytest.mark.parametrize("backend", BACKENDS)
def test_load_round_trip(backend, saved):
    net, path = saved
    loaded = pn.Network.load(path, backend=backend)
    assert loaded.layers == net.layers and loaded.backend == backend
    assert_params_equal(loaded, params_of(net))


@pytest.mark.parametrize("backend", BACKENDS)
def test_load_missing_file(backend, tmp_path):
    path = tmp_path / "nope.npz"
    with pytest.raises(FileNotFoundError, match=re.escape(str(path))):
        pn.Network.load(path, backend=backend)
    with pytest.raises(FileNotFoundError, match=re.escape(str(path))):
        pn.Network.load(str(path), backend=backend)


def _bad_file(kind, saved, tmp_path):
    net, good = saved
    path = tmp_path / f"{kind}.npz"
    if kind == "text":
        path.write_text("W0 = [[1, 2], [3, 4]]\nthis is not a network\n")
    elif kind == "random-bytes":
        path.write_bytes(np.random.default_rng(0).bytes(4096))
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "truncated":
        data = good.read_bytes()
        path.write_bytes(data[: len(data) // 2])
    elif kind == "truncated-header":
        path.write_bytes(good.read_bytes()[:10])
    elif kind == "npy":
        path = tmp_path / "weights.npy"
        np.save(path, np.ones((3, 5)))
    elif kind == "npy-named-npz":
        with open(path, "wb") as f:
            np.save(f, np.ones((3, 5)))
    elif kind == "no-meta":
        np.savez(path, W0=np.ones((3, 5)), b0=np.zeros(5))
    elif kind == "meta-not-json":
        np.savez(path, meta=np.array("{not json"), W0=np.ones((3, 5)), b0=np.zeros(5))
    elif kind == "meta-other-format":
        _rewrite_meta(good, path, lambda m: m.update(format="keras"))
    elif kind == "meta-bad-version":
        _rewrite_meta(good, path, lambda m: m.update(format_version="one"))
    elif kind == "missing-array":
        with np.load(good) as archive:
            arrays = {k: archive[k] for k in archive.files if k != "W1"}
        np.savez(path, **arrays)
    elif kind == "inconsistent-layers":
        _rewrite_meta(good, path, lambda m: m.update(layers=[3, 5, 3]))
    elif kind == "unknown-activation":
        _rewrite_meta(good, path, lambda m: m.update(activations=["relu", "swish"]))
    elif kind == "bad-dtype":
        _rewrite_meta(good, path, lambda m: m.update(dtype="int32"))
    elif kind == "pickled-array":
        with np.load(good) as archive:
            arrays = {k: archive[k] for k in archive.files}
        arrays["W0"] = np.array([[object()]], dtype=object)
        np.savez(path, **arrays)
    elif kind == "directory":
        path = tmp_path / "a_directory.npz"
        path.mkdir()
    else:
        raise AssertionError(kind)
    return path


BAD_FILES = ["text", "random-bytes", "empty", "truncated", "truncated-header", "npy", "npy-named-npz", "no-meta",
             "meta-not-json", "meta-other-format", "meta-bad-version", "missing-array",
             "inconsistent-layers", "unknown-activation", "bad-dtype", "pickled-array",
             "directory"]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("kind", BAD_FILES)
def test_load_rejects_files_that_are_not_plainnet_saves(backend, kind, saved, tmp_path):
    path = _bad_file(kind, saved, tmp_path)
    pattern = r"^load: '" + re.escape(str(path)) + r"' is not a plainnet save"
    with pytest.raises(ValueError, match=pattern) as info:
        pn.Network.load(path, backend=backend)
    # never NumPy's advice to load with allow_pickle=True, which runs whatever the file holds
    assert "allow_pickle" not in str(info.value)


@pytest.mark.parametrize("backend", BACKENDS)
def test_load_refuses_a_newer_format(backend, saved, tmp_path):
    _, good = saved
    newer = pn.network.FORMAT_VERSION + 1
    path = _rewrite_meta(good, tmp_path / "future.npz",
                         lambda m: m.update(format_version=newer))
    with pytest.raises(ValueError, match=r"^load: '" + re.escape(str(path)) +
                       rf"' has format version {newer}, written by a newer plainnet.*upgrade"):
        pn.Network.load(path, backend=backend)


def test_load_rejects_bad_backend(saved):
    _, path = saved
    with pytest.raises(ValueError, match=r"^backend: expected one of .*got 'cuda'"):
        pn.Network.load(path, backend="cuda")


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("method", ["step", "fit"])
@pytest.mark.parametrize("lr", [1e300, 3.5e38, 1e-50])
def test_learning_rate_that_float32_cannot_hold_is_refused(backend, method, lr):
    # 1e300 would become inf in float32 (and inf * 0 = NaN weights); 1e-50 would become 0.
    net = make_net(backend, dtype="float32")
    before = params_of(net)
    with pytest.raises(ValueError, match=r"^lr: expected a number in \[1\.4e-45, 3\.4e\+38\] "
                                         r"for a float32 network, got"):
        if method == "step":
            net.step(X4, Y4, lr=lr)
        else:
            net.fit(X4, Y4, lr=lr, epochs=2)
    assert_params_equal(net, before)
    make_net(backend, dtype="float64").step(X4, Y4, lr=1e-50)  # fine in float64
