"""Bad input is refused with a clear message and changes nothing; accepted input converts.

Every public entry point must raise ValueError or TypeError whose message names
the argument and states what was expected and what it got, and a call that
fails must leave the network's weights and biases bit-identical. Conversions
the API promises (ints, bools, lists, any memory layout, the other float
precision, 1-D y) must give the same numbers as a clean float64 C-contiguous
array. The native module ``plainnet._core`` must refuse misuse with
ValueError/TypeError too, never crash.
"""

import json
import pickle
import re
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import plainnet as pn
from plainnet import _core

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
    ("output_activation-unknown", dict(output_activation="softmax"), ValueError,
     r"^output_activation: expected one of .*, got 'softmax'"),
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


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("method", ["step", "fit"])
@pytest.mark.parametrize("lr,exc,match", [c[1:] for c in LR_ERRORS], ids=[c[0] for c in LR_ERRORS])
def test_bad_learning_rate(backend, method, lr, exc, match):
    net = make_net(backend)
    before = params_of(net)
    with pytest.raises(exc, match=match):
        if method == "step":
            net.step(X4, Y4, lr=lr)
        else:
            net.fit(X4, Y4, lr=lr, epochs=3)
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


_SUBPROCESS = """
import sys
import numpy as np
import plainnet as pn
from plainnet import _core
X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
y = np.array([[0.0], [1.0], [1.0], [0.0]])
try:
    {call}
except (ValueError, TypeError) as exc:
    print(type(exc).__name__ + ": " + str(exc))
    sys.exit(0)
except BaseException as exc:
    print(type(exc).__name__ + ": " + str(exc))
    sys.exit(3)
print("no error")
sys.exit(4)
"""


def run_isolated(call):
    """Runs `call` in a fresh interpreter (a crash must not take pytest down)."""
    proc = subprocess.run([sys.executable, "-c", _SUBPROCESS.format(call=call)],
                          capture_output=True, text=True, timeout=60)
    return proc.returncode, proc.stdout.strip() + proc.stderr.strip()


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


BAD_FILES = ["text", "empty", "truncated", "truncated-header", "npy", "npy-named-npz", "no-meta",
             "meta-not-json", "meta-other-format", "meta-bad-version", "missing-array",
             "inconsistent-layers", "unknown-activation", "bad-dtype", "pickled-array",
             "directory"]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("kind", BAD_FILES)
def test_load_rejects_files_that_are_not_plainnet_saves(backend, kind, saved, tmp_path):
    path = _bad_file(kind, saved, tmp_path)
    pattern = r"^load: '" + re.escape(str(path)) + r"' is not a plainnet save"
    with pytest.raises(ValueError, match=pattern):
        pn.Network.load(path, backend=backend)


@pytest.mark.parametrize("backend", BACKENDS)
def test_load_refuses_a_newer_format(backend, saved, tmp_path):
    _, good = saved
    path = _rewrite_meta(good, tmp_path / "future.npz", lambda m: m.update(format_version=2))
    with pytest.raises(ValueError, match=r"^load: '" + re.escape(str(path)) +
                       r"' has format version 2, written by a newer plainnet.*upgrade"):
        pn.Network.load(path, backend=backend)


def test_load_rejects_bad_backend(saved):
    _, path = saved
    with pytest.raises(ValueError, match=r"^backend: expected one of .*got 'cuda'"):
        pn.Network.load(path, backend="cuda")


# ================================================================ plainnet._core

SIZES = [2, 4, 1]
ACTS = ["sigmoid", "sigmoid"]
NPARAMS = 17


def _core_params(dtype=np.float64):
    return np.random.default_rng(1).standard_normal(NPARAMS).astype(dtype)


def _core_net_call(fn, p, sizes, acts, X, y):
    if fn == "forward":
        return _core.forward(p, sizes, acts, X)
    if fn == "forward_trace":
        return _core.forward_trace(p, sizes, acts, X)
    if fn == "gradients":
        return _core.gradients(p, sizes, acts, X, y)
    if fn == "step":
        return _core.step(p, sizes, acts, X, y, 0.5)
    if fn == "fit":
        return _core.fit(p, sizes, acts, X, y, 0.5, 3, 2, True, 0, 0, None)
    raise AssertionError(fn)


CORE_NET_FUNCS = ["forward", "forward_trace", "gradients", "step", "fit"]
CORE_XY_FUNCS = ["gradients", "step", "fit"]

CORE_NET_ERRORS = [
    # (id, {argument: bad value}, match)
    ("params-list", dict(p=[0.0] * NPARAMS), r"^params: expected a NumPy array"),
    ("params-int", dict(p=np.zeros(NPARAMS, dtype=np.int64)),
     r"^params: expected dtype float64 or float32, got int64"),
    ("params-str", dict(p=np.array(["a"] * NPARAMS)), r"^params: expected dtype float64 or float32"),
    ("params-short", dict(p=np.zeros(NPARAMS - 1)), r"^params: expected shape \(17,\), got \(16,\)"),
    ("params-2-D", dict(p=np.zeros((NPARAMS, 1))), r"^params: expected shape \(17,\), got \(17, 1\)"),
    ("params-strided", dict(p=np.zeros(2 * NPARAMS)[::2]), r"^params: expected a C-contiguous"),
    ("sizes-one", dict(sizes=[2], acts=[]), r"^layers: expected at least 2 sizes"),
    ("sizes-zero", dict(sizes=[2, 0, 1]), r"^layers: every size must be in \[1, 2\*\*62\], got 0"),
    ("sizes-negative", dict(sizes=[2, -3, 1]), r"^layers: every size must be in \[1, 2\*\*62\], got -3"),
    ("sizes-str", dict(sizes=["2", "4", "1"]), r"sizes"),
    ("sizes-int", dict(sizes=5), r"sizes"),
    ("acts-short", dict(acts=["sigmoid"]), r"^activations: expected 2 \(one per layer\), got 1"),
    ("acts-unknown", dict(acts=["sigmoid", "swish"]), r"^activations: unknown activation 'swish'"),
    ("acts-str", dict(acts="sigmoid"), r"activations"),
    ("acts-int", dict(acts=[1, 2]), r"activations"),
    ("X-list", dict(X=X4.tolist()), r"^X: expected a NumPy array, got list"),
    ("X-str", dict(X=np.array([["0", "1"]] * 4)), r"^X: expected an array of real numbers, got dtype <U1"),
    ("X-object", dict(X=np.array([[1, None]] * 4, dtype=object)),
     r"^X: expected an array of real numbers, got dtype object"),
    ("X-complex", dict(X=X4.astype(complex)), r"^X: expected an array of real numbers, got dtype complex"),
    ("X-1-D", dict(X=np.zeros(2)), r"^X: expected a 2-D array, got shape \(2,\)"),
    ("X-3-D", dict(X=np.zeros((4, 2, 1))), r"^X: expected a 2-D array, got shape \(4, 2, 1\)"),
    ("X-columns", dict(X=np.zeros((4, 3))), r"^X: expected 2 columns .*got shape \(4, 3\)"),
    ("X-empty", dict(X=np.zeros((0, 2))), r"^X: expected at least 1 row, got 0"),
]


@pytest.mark.parametrize("fn", CORE_NET_FUNCS)
@pytest.mark.parametrize("bad,match", [c[1:] for c in CORE_NET_ERRORS],
                         ids=[c[0] for c in CORE_NET_ERRORS])
def test_core_network_functions_refuse_misuse(fn, bad, match):
    args = dict(p=_core_params(), sizes=list(SIZES), acts=list(ACTS), X=X4.copy(), y=Y4.copy())
    args.update(bad)
    p = args["p"]
    p_before = np.array(p, copy=True) if isinstance(p, np.ndarray) else None
    with pytest.raises((ValueError, TypeError), match=match):
        _core_net_call(fn, args["p"], args["sizes"], args["acts"], args["X"], args["y"])
    if p_before is not None:
        assert np.array_equal(p, p_before)


CORE_Y_ERRORS = [
    ("y-list", Y4.tolist(), r"^y: expected a NumPy array, got list"),
    ("y-str", np.array([["1"]] * 4), r"^y: expected an array of real numbers, got dtype <U1"),
    ("y-object", np.array([[None]] * 4, dtype=object), r"^y: expected an array of real numbers"),
    ("y-1-D", np.zeros(4), r"^y: expected shape \(4, 1\), got \(4,\)"),
    ("y-rows", np.zeros((3, 1)), r"^y: expected shape \(4, 1\), got \(3, 1\)"),
    ("y-columns", np.zeros((4, 2)), r"^y: expected shape \(4, 1\), got \(4, 2\)"),
]


@pytest.mark.parametrize("fn", CORE_XY_FUNCS)
@pytest.mark.parametrize("y,match", [c[1:] for c in CORE_Y_ERRORS], ids=[c[0] for c in CORE_Y_ERRORS])
def test_core_network_functions_refuse_bad_y(fn, y, match):
    p = _core_params()
    p_before = p.copy()
    with pytest.raises((ValueError, TypeError), match=match):
        _core_net_call(fn, p, SIZES, ACTS, X4, y)
    assert np.array_equal(p, p_before)


@pytest.mark.parametrize("fn", ["step", "fit"])
def test_core_training_refuses_read_only_params(fn):
    p = readonly(_core_params())
    with pytest.raises(ValueError, match=r"^params: array is read-only"):
        _core_net_call(fn, p, SIZES, ACTS, X4, Y4)


CORE_FIT_ERRORS = [
    # (id, positional overrides for (lr, epochs, batch_size, shuffle, seed, log_every, callback))
    ("epochs-negative", dict(epochs=-1), ValueError, r"^epochs: expected >= 0, got -1"),
    ("batch_size-negative", dict(batch_size=-1), ValueError, r"^batch_size: expected >= 1"),
    ("log_every-negative", dict(log_every=-1), ValueError, r"^log_every: expected >= 0, got -1"),
    ("epochs-float", dict(epochs=2.5), TypeError, r"epochs"),
    ("seed-negative", dict(seed=-1), TypeError, r"seed"),
    ("lr-str", dict(lr="0.5"), TypeError, r"lr"),
    ("shuffle-str", dict(shuffle="yes"), TypeError, r"shuffle"),
    ("callback-not-callable", dict(callback=3, log_every=1), TypeError, r"not callable"),
]


@pytest.mark.parametrize("kwargs,exc,match", [c[1:] for c in CORE_FIT_ERRORS],
                         ids=[c[0] for c in CORE_FIT_ERRORS])
def test_core_fit_refuses_bad_options(kwargs, exc, match):
    args = dict(lr=0.5, epochs=3, batch_size=2, shuffle=True, seed=0, log_every=0, callback=None)
    args.update(kwargs)
    p = _core_params()
    with pytest.raises(exc, match=match):
        _core.fit(p, SIZES, ACTS, X4, Y4, args["lr"], args["epochs"], args["batch_size"],
                  args["shuffle"], args["seed"], args["log_every"], args["callback"])


@pytest.mark.parametrize("epochs", [2**61, 2**62, 2**62 + 1])
def test_core_fit_with_an_iteration_count_that_overflows_does_not_crash(epochs):
    code, out = run_isolated(f"_core.fit(np.zeros(17), [2, 4, 1], ['sigmoid'] * 2, X, y, 0.5, "
                             f"{epochs}, 1, True, 0, 0, None)")
    assert code == 0, f"crashed or wrong exception (exit {code}): {out}"
    assert "epochs" in out, out


def test_core_num_parameters_refuses_sizes_that_overflow():
    # 2**62 * 4 + 4 does not fit in 64 bits: the count must not silently wrap to 4
    with pytest.raises(ValueError, match=r"layers"):
        _core.num_parameters([2**62, 4])
    with pytest.raises(ValueError, match=r"layers"):
        _core.num_parameters([1, 6148914691236517206, 1])  # 3 * that + 1 wraps to 3
    assert _core.num_parameters([2, 4, 1]) == NPARAMS
    with pytest.raises(ValueError, match=r"^layers: expected at least 2 sizes"):
        _core.num_parameters([2])
    with pytest.raises(ValueError, match=r"^layers: every size must be in \[1, 2\*\*62\], got 0"):
        _core.num_parameters([2, 0])


def _f64(*shape):
    return np.random.default_rng(len(shape) + sum(shape)).standard_normal(shape)


def _strided(*shape):
    """A non-C-contiguous float64 array of the given 2-D or 1-D shape."""
    if len(shape) == 1:
        return np.zeros(2 * shape[0])[::2]
    return np.zeros(shape[::-1]).T


# Each kernel: baseline arguments (all valid) and bad replacements for one argument.
KERNELS = {
    "dense_forward": (lambda: dict(inp=_f64(3, 2), weight=_f64(2, 4), bias=_f64(4)), [
        ("inp-list", "inp", [[0.0, 0.0]] * 3, r"^inp: expected a NumPy array, got list"),
        ("weight-list", "weight", [[0.0] * 4] * 2, r"^weight: expected a NumPy array"),
        ("bias-list", "bias", [0.0] * 4, r"^bias: expected a NumPy array, got list"),
        ("weight-int", "weight", np.zeros((2, 4), dtype=int),
         r"^weight: expected dtype float64 or float32, got int64"),
        ("inp-str", "inp", np.array([["a", "b"]] * 3), r"^inp: expected an array of real numbers"),
        ("bias-complex", "bias", np.zeros(4, dtype=complex),
         r"^bias: expected an array of real numbers, got dtype complex128"),
        ("inp-1-D", "inp", np.zeros(2), r"^inp: expected a 2-D array, got shape \(2,\)"),
        ("weight-1-D", "weight", np.zeros(4), r"^weight: expected a 2-D array, got shape \(4,\)"),
        ("weight-rows", "weight", np.zeros((3, 4)), r"^weight: expected shape \(2, 4\), got \(3, 4\)"),
        ("bias-length", "bias", np.zeros(3), r"^bias: expected shape \(4,\), got \(3,\)"),
        ("bias-2-D", "bias", np.zeros((1, 4)), r"^bias: expected shape \(4,\), got \(1, 4\)"),
    ]),
    "dense_backward": (lambda: dict(dinp=np.zeros((3, 2)), dweight=np.zeros((2, 4)),
                                    dbias=np.zeros(4), dout=_f64(3, 4), inp=_f64(3, 2),
                                    weight=_f64(2, 4)), [
        ("dweight-list", "dweight", [[0.0] * 4] * 2, r"^dweight: expected a NumPy array"),
        ("dweight-int", "dweight", np.zeros((2, 4), dtype=int),
         r"^dweight: expected dtype float64 or float32, got int64"),
        ("dbias-float32", "dbias", np.zeros(4, dtype=np.float32),
         r"^dbias: expected dtype float64, got float32"),
        ("dinp-float32", "dinp", np.zeros((3, 2), dtype=np.float32),
         r"^dinp: expected dtype float64, got float32"),
        ("dweight-float32", "dweight", np.zeros((2, 4), dtype=np.float32),
         r"^dbias: expected dtype float32, got float64"),
        ("dinp-list", "dinp", [[0.0, 0.0]] * 3, r"^dinp: expected a NumPy array, got list"),
        ("dweight-strided", "dweight", _strided(2, 4), r"^dweight: expected a C-contiguous array"),
        ("dbias-strided", "dbias", _strided(4), r"^dbias: expected a C-contiguous array"),
        ("dinp-fortran", "dinp", _strided(3, 2), r"^dinp: expected a C-contiguous array"),
        ("dweight-read-only", "dweight", readonly(np.zeros((2, 4))), r"^dweight: array is read-only"),
        ("dbias-read-only", "dbias", readonly(np.zeros(4)), r"^dbias: array is read-only"),
        ("dinp-read-only", "dinp", readonly(np.zeros((3, 2))), r"^dinp: array is read-only"),
        ("dout-shape", "dout", np.zeros((3, 3)), r"^dout: expected shape \(3, 4\), got \(3, 3\)"),
        ("dout-list", "dout", [[0.0] * 4] * 3, r"^dout: expected a NumPy array, got list"),
        ("dout-str", "dout", np.array([["a"] * 4] * 3), r"^dout: expected an array of real numbers"),
        ("inp-1-D", "inp", np.zeros(2), r"^inp: expected a 2-D array"),
        ("weight-rows", "weight", np.zeros((3, 4)), r"^weight: expected shape \(2, 4\), got \(3, 4\)"),
        ("dweight-shape", "dweight", np.zeros((4, 2)), r"^dweight: expected shape \(2, 4\), got \(4, 2\)"),
        ("dbias-shape", "dbias", np.zeros(3), r"^dbias: expected shape \(4,\), got \(3,\)"),
        ("dinp-shape", "dinp", np.zeros((3, 3)), r"^dinp: expected shape \(3, 2\), got \(3, 3\)"),
    ]),
    "activation_backward": (lambda: dict(dz=np.zeros((3, 4)), dout=_f64(3, 4), z=_f64(3, 4),
                                         a=_f64(3, 4), name="tanh"), [
        ("dz-list", "dz", [[0.0] * 4] * 3, r"^dz: expected a NumPy array"),
        ("dz-int", "dz", np.zeros((3, 4), dtype=int), r"^dz: expected dtype float64 or float32"),
        ("dz-read-only", "dz", readonly(np.zeros((3, 4))), r"^dz: array is read-only"),
        ("dz-strided", "dz", _strided(3, 4), r"^dz: expected a C-contiguous array"),
        ("dout-shape", "dout", np.zeros((3, 3)), r"^dout: expected shape \(3, 4\), got \(3, 3\)"),
        ("z-shape", "z", np.zeros((4, 3)), r"^z: expected shape \(3, 4\), got \(4, 3\)"),
        ("a-shape", "a", np.zeros(12), r"^a: expected shape \(3, 4\), got \(12,\)"),
        ("dout-list", "dout", [[0.0] * 4] * 3, r"^dout: expected a NumPy array, got list"),
        ("z-str", "z", np.array([["a"] * 4] * 3), r"^z: expected an array of real numbers"),
        ("name-unknown", "name", "swish", r"^activations: unknown activation 'swish'"),
        ("name-int", "name", 3, r"name"),
    ]),
    "mse_backward": (lambda: dict(dpred=np.zeros((3, 2)), pred=_f64(3, 2), target=_f64(3, 2)), [
        ("dpred-list", "dpred", [[0.0, 0.0]] * 3, r"^dpred: expected a NumPy array"),
        ("dpred-int", "dpred", np.zeros((3, 2), dtype=int), r"^dpred: expected dtype float64 or float32"),
        ("dpred-read-only", "dpred", readonly(np.zeros((3, 2))), r"^dpred: array is read-only"),
        ("dpred-strided", "dpred", _strided(3, 2), r"^dpred: expected a C-contiguous array"),
        ("dpred-1-D", "dpred", np.zeros(3), r"^dpred: expected a 2-D array, got shape \(3,\)"),
        ("dpred-empty", "dpred", np.zeros((0, 2)), r"^dpred: expected at least 1 row, got 0"),
        ("pred-shape", "pred", np.zeros((3, 3)), r"^pred: expected shape \(3, 2\), got \(3, 3\)"),
        ("target-shape", "target", np.zeros((2, 2)), r"^target: expected shape \(3, 2\), got \(2, 2\)"),
        ("pred-list", "pred", [[0.0, 0.0]] * 3, r"^pred: expected a NumPy array, got list"),
        ("target-object", "target", np.array([[None, 1]] * 3, dtype=object),
         r"^target: expected an array of real numbers, got dtype object"),
    ]),
    "sgd_update": (lambda: dict(params=_f64(NPARAMS), grads=_f64(NPARAMS), lr=0.1), [
        ("params-list", "params", [0.0] * NPARAMS, r"^params: expected a NumPy array"),
        ("params-int", "params", np.zeros(NPARAMS, dtype=int),
         r"^params: expected dtype float64 or float32, got int64"),
        ("params-read-only", "params", readonly(np.zeros(NPARAMS)), r"^params: array is read-only"),
        ("params-strided", "params", _strided(NPARAMS), r"^params: expected a C-contiguous array"),
        ("grads-shape", "grads", np.zeros(NPARAMS - 1), r"^grads: expected shape \(17,\), got \(16,\)"),
        ("grads-2-D", "grads", np.zeros((NPARAMS, 1)), r"^grads: expected shape \(17,\), got \(17, 1\)"),
        ("grads-list", "grads", [0.0] * NPARAMS, r"^grads: expected a NumPy array, got list"),
        ("grads-str", "grads", np.array(["a"] * NPARAMS), r"^grads: expected an array of real numbers"),
        ("lr-str", "lr", "0.1", r"lr"),
        ("lr-none", "lr", None, r"lr"),
    ]),
    "mse_forward": (lambda: dict(pred=_f64(3, 2), target=_f64(3, 2)), [
        ("pred-list", "pred", [[0.0, 0.0]] * 3, r"^pred: expected a NumPy array"),
        ("pred-int", "pred", np.zeros((3, 2), dtype=int), r"^pred: expected dtype float64 or float32"),
        ("pred-1-D", "pred", np.zeros(3), r"^pred: expected a 2-D array"),
        ("target-shape", "target", np.zeros((3, 1)), r"^target: expected shape \(3, 2\), got \(3, 1\)"),
        ("pred-empty", "pred", np.zeros((0, 2)), r"^target: expected shape \(0, 2\)"),
    ]),
    "activation_forward": (lambda: dict(z=_f64(3, 4), name="relu"), [
        ("z-list", "z", [[0.0] * 4] * 3, r"^z: expected a NumPy array"),
        ("z-int", "z", np.zeros((3, 4), dtype=int), r"^z: expected dtype float64 or float32"),
        ("name-unknown", "name", "swish", r"^activations: unknown activation 'swish'"),
        ("name-none", "name", None, r"name"),
    ]),
}

KERNEL_CASES = [pytest.param(kernel, arg, value, match, id=f"{kernel}-{case}")
                for kernel, (_, cases) in KERNELS.items() for case, arg, value, match in cases]


@pytest.mark.parametrize("kernel,arg,value,match", KERNEL_CASES)
def test_core_kernels_refuse_misuse(kernel, arg, value, match):
    args = KERNELS[kernel][0]()
    args[arg] = value
    before = {k: v.copy() for k, v in args.items() if isinstance(v, np.ndarray)}
    with pytest.raises((ValueError, TypeError), match=match):
        getattr(_core, kernel)(**args)
    for k, v in before.items():  # nothing written on the way to the error
        assert np.array_equal(args[k], v), k


@pytest.mark.parametrize("kernel", list(KERNELS))
def test_core_kernels_accept_the_baseline_arguments(kernel):
    # the misuse cases above differ from a working call in one argument only
    getattr(_core, kernel)(**KERNELS[kernel][0]())


def test_core_dense_backward_accepts_no_dinp():
    args = KERNELS["dense_backward"][0]()
    args["dinp"] = None
    _core.dense_backward(**args)
    with pytest.raises(ValueError, match=r"^dweight: array is read-only"):
        args["dweight"] = readonly(args["dweight"])
        _core.dense_backward(**args)


def test_core_misc_functions_refuse_misuse():
    with pytest.raises(ValueError, match=r"^m: expected >= 0, got -1"):
        _core.epoch_permutation(-1, 0, 0)
    with pytest.raises(TypeError, match=r"seed"):
        _core.epoch_permutation(4, -1, 0)
    with pytest.raises(TypeError, match=r"sizes"):
        _core.num_parameters("241")
    with pytest.raises(ValueError, match=r"^pred: expected a non-empty array"):
        _core.mse_forward(np.zeros((0, 2)), np.zeros((0, 2)))
    with pytest.raises(ValueError, match=r"^activations: unknown activation 'swish'"):
        _core.activation_forward(np.zeros(3), "swish")


def test_core_accepts_float64_arrays_with_an_equal_but_distinct_dtype_object():
    # A float64 array that went through pickle has a dtype equal to float64
    # but not the same Python object; the core must not tell them apart.
    params = pickle.loads(pickle.dumps(_core_params()))
    assert params.dtype == np.float64
    want = _core.forward(_core_params(), SIZES, ACTS, X4)
    assert np.array_equal(_core.forward(params, SIZES, ACTS, X4), want)
    grads = pickle.loads(pickle.dumps(np.ones(NPARAMS)))
    _core.sgd_update(params, grads, 0.5)
    assert np.array_equal(params, _core_params() - 0.5)


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
