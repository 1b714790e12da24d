"""plainnet._core called directly refuses misuse with ValueError/TypeError, never a crash.

The messages users see come from the Python layer (test_errors.py), which
checks every argument before it calls the core; the core keeps its own guards
so that a direct call with bad arrays or sizes cannot crash the interpreter or
write out of bounds. These tests hold those guards.
"""

import pickle

import numpy as np
import pytest

from conftest import run_isolated

from plainnet import _core, _layout
from plainnet import reference as ref
from plainnet._plan import FitPlan

X4 = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
Y4 = np.array([[0.0], [1.0], [1.0], [0.0]])


def readonly(arr):
    out = np.array(arr)
    out.flags.writeable = False
    return out


# ================================================================ one owner, two sides

def test_the_core_tables_match_the_python_layer():
    # Python owns the names and the limit users see; the core has its own copy
    # for direct calls, and the two must agree.
    assert _core.ACTIVATIONS == _layout.ACTIVATIONS
    assert _core.OUTPUT_ACTIVATIONS == _layout.OUTPUT_ACTIVATIONS == ("softmax",)
    assert _core.LOSSES == _layout.LOSSES
    assert len(_core.LOSSES) == 3 and _core.LOSSES[0] == "mse"
    assert _core.OPTIMIZERS == _layout.OPTIMIZERS
    assert len(_core.OPTIMIZERS) == 4 and "sgd" in _core.OPTIMIZERS
    assert _core.MONITORS == _layout.MONITORS == ref.MONITORS
    assert _core.MONITORS[0] == "val_loss"  # the default, watched before there was a choice
    assert _core.MAX_ELEMENTS == _layout.MAX_ELEMENTS
    assert _core.PROGRESS_INTERVAL == _layout.PROGRESS_INTERVAL == ref.PROGRESS_INTERVAL
    # and the reference's tables have one line per name, in the same order
    assert tuple(ref.LOSS_TABLE) == _layout.LOSSES
    assert tuple(ref.OPTIMIZER_TABLE) == _layout.OPTIMIZERS


# ================================================================ network functions

SIZES = [2, 4, 1]
ACTS = ["sigmoid", "sigmoid"]
NPARAMS = 17


def _core_params(dtype=np.float64):
    return np.random.default_rng(1).standard_normal(NPARAMS).astype(dtype)


def _core_net_call(fn, p, sizes, acts, X, y, loss="mse"):
    if fn == "forward":
        return _core.forward(p, sizes, acts, loss, X)
    if fn == "forward_trace":
        return _core.forward_trace(p, sizes, acts, loss, X)
    if fn == "gradients":
        return _core.gradients(p, sizes, acts, loss, X, y)
    if fn == "evaluate":
        return _core.evaluate(p, sizes, acts, loss, X, y)
    if fn == "step":
        return _core.step(p, sizes, acts, loss, X, y, 0.5)
    if fn == "fit":
        return _core.fit(p, sizes, acts, loss, X, y,
                         FitPlan({"name": "sgd", "lr": 0.5}, [np.zeros(NPARAMS)], epochs=3,
                                 batch_size=2))
    raise AssertionError(fn)


CORE_NET_FUNCS = ["forward", "forward_trace", "gradients", "evaluate", "step", "fit"]
CORE_XY_FUNCS = ["gradients", "evaluate", "step", "fit"]

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
    ("acts-unknown", dict(acts=["sigmoid", "swish"]), r"^activations: unknown activation 'swish'",
     []),
    ("acts-str", dict(acts="sigmoid"), r"activations"),
    ("acts-int", dict(acts=[1, 2]), r"activations"),
    ("acts-softmax-hidden", dict(acts=["softmax", "sigmoid"]),
     r"^activations: softmax is allowed on the last layer only, got it at position 0"),
    ("loss-unknown", dict(loss="hinge"), r"^loss: unknown loss 'hinge'", []),
    ("loss-int", dict(loss=3), r"loss"),
    ("loss-none", dict(loss=None), r"loss"),
    ("loss-softmax-without-cross-entropy", dict(acts=["sigmoid", "softmax"]),
     r"^loss: cross_entropy goes with a softmax output layer"),
    ("loss-cross-entropy-without-softmax", dict(loss="cross_entropy"),
     r"^loss: cross_entropy goes with a softmax output layer"),
    ("loss-bce-without-sigmoid", dict(acts=["sigmoid", "tanh"], loss="binary_cross_entropy"),
     r"^loss: binary_cross_entropy needs a sigmoid output layer"),
    ("X-list", dict(X=X4.tolist()), r"^X: expected a NumPy array, got list"),
    ("X-str", dict(X=np.array([["0", "1"]] * 4)), r"^X: expected an array of real numbers, got dtype <U1"),
    ("X-object", dict(X=np.array([[1, None]] * 4, dtype=object)),
     r"^X: expected an array of real numbers, got dtype object"),
    ("X-complex", dict(X=X4.astype(complex)), r"^X: expected an array of real numbers, got dtype complex"),
    ("X-1-D", dict(X=np.zeros(2)), r"^X: expected a 2-D array, got shape \(2,\)"),
    ("X-3-D", dict(X=np.zeros((4, 2, 1))), r"^X: expected a 2-D array, got shape \(4, 2, 1\)"),
    ("X-columns", dict(X=np.zeros((4, 3))), r"^X: expected shape \(4, 2\), got \(4, 3\)"),
    ("X-empty", dict(X=np.zeros((0, 2))), r"^X: expected at least 1 row, got 0"),
]


def _cases(table):
    """pytest.params of (id, value..., [marks]) rows."""
    out = []
    for row in table:
        marks = row[-1] if isinstance(row[-1], list) else []
        values = row[1:-1] if isinstance(row[-1], list) else row[1:]
        out.append(pytest.param(*values, id=row[0], marks=marks))
    return out


@pytest.mark.parametrize("fn", CORE_NET_FUNCS)
@pytest.mark.parametrize("bad,match", _cases(CORE_NET_ERRORS))
def test_core_network_functions_refuse_misuse(fn, bad, match):
    args = dict(p=_core_params(), sizes=list(SIZES), acts=list(ACTS), X=X4.copy(), y=Y4.copy(),
                loss="mse")
    args.update(bad)
    p = args["p"]
    p_before = np.array(p, copy=True) if isinstance(p, np.ndarray) else None
    with pytest.raises((ValueError, TypeError), match=match):
        _core_net_call(fn, args["p"], args["sizes"], args["acts"], args["X"], args["y"],
                       args["loss"])
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


SGD = {"name": "sgd", "lr": 0.5}

CORE_FIT_ERRORS = [
    # (id, overrides for the arguments after (params, sizes, activations, loss, X, y))
    ("epochs-negative", dict(epochs=-1), ValueError, r"^epochs: -1 is negative"),
    ("batch_size-negative", dict(batch_size=-1), ValueError, r"^batch_size: expected >= 0"),
    ("log_every-negative", dict(log_every=-1), ValueError, r"^log_every: expected >= 0"),
    ("epochs-float", dict(epochs=2.5), TypeError, r"epochs"),
    ("seed-negative", dict(seed=-1), TypeError, r"seed"),
    # the learning rate is now a setting of the optimizer dict
    ("lr-str", dict(optimizer={"name": "sgd", "lr": "0.5"}), TypeError, r"lr", []),
    ("lr-none", dict(optimizer={"name": "sgd", "lr": None}), TypeError, r"lr", []),
    ("nesterov-str", dict(optimizer={"name": "sgd", "lr": 0.5, "nesterov": "yes"}), TypeError,
     r"nesterov", []),
    ("optimizer-name-int", dict(optimizer={"name": 3}), TypeError, r"optimizer", []),
    ("optimizer-unknown", dict(optimizer={"name": "adagrad", "lr": 0.5}), ValueError,
     r"^optimizer: unknown optimizer 'adagrad'", []),
    ("optimizer-no-name", dict(optimizer={"lr": 0.5}), ValueError,
     r"^optimizer: expected a 'name' entry"),
    ("optimizer-unknown-setting", dict(optimizer={"name": "sgd", "lr": 0.5, "betas": 0.9}),
     ValueError, r"^optimizer: unknown setting 'betas'"),
    ("optimizer-setting-of-another", dict(optimizer={"name": "sgd", "lr": 0.5, "step_size": 1.0}),
     ValueError, r"^optimizer: unknown setting 'step_size'"),
    ("optimizer-none", dict(optimizer=None), TypeError, r"optimizer"),
    ("optimizer-str", dict(optimizer="sgd"), TypeError, r"optimizer"),
    ("state-empty", dict(state=[]), ValueError, r"^state: expected 1 arrays, got 0"),
    ("state-too-many", dict(state=[np.zeros(NPARAMS), np.zeros(NPARAMS)]), ValueError,
     r"^state: expected 1 arrays, got 2"),
    ("state-for-adam-too-few", dict(optimizer={"name": "adam", "lr": 0.1}), ValueError,
     r"^state: expected 2 arrays, got 1"),
    ("state-short", dict(state=[np.zeros(NPARAMS - 1)]), ValueError,
     r"^state: expected shape \(17,\), got \(16,\)"),
    ("state-2-D", dict(state=[np.zeros((NPARAMS, 1))]), ValueError,
     r"^state: expected shape \(17,\), got \(17, 1\)"),
    ("state-float32", dict(state=[np.zeros(NPARAMS, dtype=np.float32)]), TypeError,
     r"^state: expected dtype float64, got float32"),
    ("state-int", dict(state=[np.zeros(NPARAMS, dtype=np.int64)]), TypeError,
     r"^state: expected dtype float64, got int64"),
    ("state-read-only", dict(state=[readonly(np.zeros(NPARAMS))]), ValueError,
     r"^state: array is read-only"),
    ("state-strided", dict(state=[np.zeros(2 * NPARAMS)[::2]]), ValueError,
     r"^state: expected a C-contiguous array"),
    ("state-of-lists", dict(state=[[0.0] * NPARAMS]), TypeError,
     r"^state: expected a NumPy array, got list"),
    ("state-of-none", dict(state=[None]), TypeError, r"^state: expected a NumPy array"),
    ("state-array", dict(state=np.zeros((1, NPARAMS))), TypeError, r"state"),
    ("state-tuple", dict(state=(np.zeros(NPARAMS),)), TypeError, r"state"),
    ("steps-negative", dict(steps=-1), ValueError, r"^steps: expected >= 0"),
    ("X_val-without-y_val", dict(X_val=X4), ValueError, r"^X_val, y_val: expected both or neither"),
    ("y_val-without-X_val", dict(y_val=Y4), ValueError, r"^X_val, y_val: expected both or neither"),
    ("X_val-list", dict(X_val=X4.tolist(), y_val=Y4), TypeError,
     r"^X_val: expected a NumPy array, got list"),
    ("X_val-1-D", dict(X_val=np.zeros(2), y_val=Y4), ValueError,
     r"^X_val: expected a 2-D array, got shape \(2,\)"),
    ("X_val-columns", dict(X_val=np.zeros((4, 3)), y_val=Y4), ValueError,
     r"^X_val: expected shape \(4, 2\), got \(4, 3\)"),
    ("X_val-empty", dict(X_val=np.zeros((0, 2)), y_val=np.zeros((0, 1))), ValueError,
     r"^X_val: expected at least 1 row, got 0"),
    ("X_val-str", dict(X_val=np.array([["0", "1"]] * 4), y_val=Y4), TypeError,
     r"^X_val: expected an array of real numbers"),
    ("y_val-list", dict(X_val=X4, y_val=Y4.tolist()), TypeError,
     r"^y_val: expected a NumPy array, got list"),
    ("y_val-rows", dict(X_val=X4, y_val=np.zeros((3, 1))), ValueError,
     r"^y_val: expected shape \(4, 1\), got \(3, 1\)"),
    ("y_val-1-D", dict(X_val=X4, y_val=np.zeros(4)), ValueError,
     r"^y_val: expected shape \(4, 1\), got \(4,\)"),
    ("patience-negative", dict(patience=-1), ValueError, r"^patience: expected >= 0"),
    ("patience-float", dict(patience=1.5), TypeError, r"patience"),
    ("min_delta-str", dict(min_delta="0.1"), TypeError, r"min_delta"),
    ("restore_best-str", dict(restore_best="yes"), TypeError, r"restore_best"),
    ("shuffle-str", dict(shuffle="yes"), TypeError, r"shuffle"),
    ("callback-not-callable", dict(callback=3, log_every=1), TypeError, r"not callable"),
]


def _core_fit(p, **overrides):
    args = dict(optimizer=dict(SGD), state=[np.zeros(NPARAMS)], steps=0, epochs=3, batch_size=2,
                shuffle=True, seed=0, log_every=0, callback=None, X_val=None, y_val=None,
                patience=0, min_delta=0.0, restore_best=True)
    args.update(overrides)
    return _core.fit(p, SIZES, ACTS, "mse", X4, Y4, FitPlan(**args))


@pytest.mark.parametrize("kwargs,exc,match", _cases(CORE_FIT_ERRORS))
def test_core_fit_refuses_bad_options(kwargs, exc, match):
    p = _core_params()
    p_before = p.copy()
    state_before = [s.copy() for s in kwargs.get("state", []) if isinstance(s, np.ndarray)]
    with pytest.raises(exc, match=match) as info:
        _core_fit(p, **kwargs)
    if "callback" in kwargs:
        # the core learns that the callback cannot be called when it first calls it,
        # after iteration 0, and says so as it does for any exception from the callback
        assert info.value.plainnet_partial_fit[1] == 1
        return
    assert np.array_equal(p, p_before)
    for s, before in zip([s for s in kwargs.get("state", []) if isinstance(s, np.ndarray)],
                         state_before):
        assert np.array_equal(s, before)


def test_core_fit_accepts_the_baseline_and_validation_arguments():
    # the misuse cases above differ from a working call in one argument only
    p = _core_params()
    losses, done, status, updates, table, best = _core_fit(p)
    assert (done, status, updates) == (6, "done", 6) and table.shape == (3, 4) and best == -1
    p = _core_params()
    losses, done, status, updates, table, best = _core_fit(p, X_val=X4, y_val=Y4, patience=2)
    assert status in ("done", "early_stopped") and table.shape[1] == 4 and best >= 0


@pytest.mark.parametrize("epochs", [2**61, 2**62, 2**62 + 1])
def test_core_fit_with_an_iteration_count_that_overflows_does_not_crash(epochs):
    code, out = run_isolated(f"_core.fit(np.zeros(17), [2, 4, 1], ['sigmoid'] * 2, 'mse', X, y, "
                             f"FitPlan({{'name': 'sgd', 'lr': 0.5}}, [np.zeros(17)], "
                             f"epochs={epochs}, batch_size=1))")
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
        ("name-unknown", "name", "swish", r"^name: unknown activation 'swish'"),
        ("name-int", "name", 3, r"name"),
    ]),
    # the loss kernels: d (accumulated into), z, a = f(z), y; for mse z is not used
    "loss_backward": (lambda: dict(d=np.zeros((3, 2)), z=_f64(3, 2), a=_f64(3, 2), y=_f64(3, 2),
                                   name="mse"), [
        ("d-list", "d", [[0.0, 0.0]] * 3, r"^d: expected a NumPy array"),
        ("d-int", "d", np.zeros((3, 2), dtype=int), r"^d: expected dtype float64 or float32"),
        ("d-read-only", "d", readonly(np.zeros((3, 2))), r"^d: array is read-only"),
        ("d-strided", "d", _strided(3, 2), r"^d: expected a C-contiguous array"),
        ("d-1-D", "d", np.zeros(3), r"^d: expected shape \(3, 2\), got \(3,\)"),
        ("d-empty", "d", np.zeros((0, 2)), r"^d: expected shape \(3, 2\), got \(0, 2\)"),
        ("z-empty", "z", np.zeros((0, 2)), r"^z: expected a non-empty array"),
        ("z-1-D", "z", np.zeros(3), r"^z: expected a 2-D array, got shape \(3,\)"),
        ("a-shape", "a", np.zeros((3, 3)), r"^a: expected shape \(3, 2\), got \(3, 3\)"),
        ("y-shape", "y", np.zeros((2, 2)), r"^y: expected shape \(3, 2\), got \(2, 2\)"),
        ("a-list", "a", [[0.0, 0.0]] * 3, r"^a: expected a NumPy array, got list"),
        ("y-object", "y", np.array([[None, 1]] * 3, dtype=object),
         r"^y: expected an array of real numbers, got dtype object"),
        ("name-unknown", "name", "hinge", r"^name: unknown loss 'hinge'"),
        ("name-int", "name", 3, r"name"),
    ]),
    # plain gradient descent is the optimizer {"name": "sgd", "lr": ...} with one state array
    "optimizer_update": (lambda: dict(params=_f64(NPARAMS), grads=_f64(NPARAMS),
                                      state=[np.zeros(NPARAMS)],
                                      optimizer={"name": "sgd", "lr": 0.1}, t=1), [
        ("params-list", "params", [0.0] * NPARAMS, r"^params: expected a NumPy array"),
        ("params-int", "params", np.zeros(NPARAMS, dtype=int),
         r"^params: expected dtype float64 or float32, got int64"),
        ("params-read-only", "params", readonly(np.zeros(NPARAMS)), r"^params: array is read-only"),
        ("params-strided", "params", _strided(NPARAMS), r"^params: expected a C-contiguous array"),
        ("grads-shape", "grads", np.zeros(NPARAMS - 1), r"^grads: expected shape \(17,\), got \(16,\)"),
        ("grads-2-D", "grads", np.zeros((NPARAMS, 1)), r"^grads: expected shape \(17,\), got \(17, 1\)"),
        ("grads-list", "grads", [0.0] * NPARAMS, r"^grads: expected a NumPy array, got list"),
        ("grads-str", "grads", np.array(["a"] * NPARAMS), r"^grads: expected an array of real numbers"),
        ("lr-str", "optimizer", {"name": "sgd", "lr": "0.1"}, r"lr", []),
        ("lr-none", "optimizer", {"name": "sgd", "lr": None}, r"lr", []),
        ("optimizer-unknown", "optimizer", {"name": "adagrad"},
         r"^optimizer: unknown optimizer 'adagrad'", []),
        ("optimizer-no-name", "optimizer", {"lr": 0.1}, r"^optimizer: expected a 'name' entry"),
        ("optimizer-unknown-setting", "optimizer", {"name": "sgd", "lr": 0.1, "betas": 0.9},
         r"^optimizer: unknown setting 'betas'"),
        ("optimizer-none", "optimizer", None, r"optimizer"),
        ("state-too-few-for-adam", "optimizer", {"name": "adam"}, r"^state: expected 2 arrays, got 1"),
        ("state-empty", "state", [], r"^state: expected 1 arrays, got 0"),
        ("state-shape", "state", [np.zeros(NPARAMS - 1)], r"^state: expected shape \(17,\), got \(16,\)"),
        ("state-float32", "state", [np.zeros(NPARAMS, dtype=np.float32)],
         r"^state: expected dtype float64, got float32"),
        ("state-read-only", "state", [readonly(np.zeros(NPARAMS))], r"^state: array is read-only"),
        ("state-of-lists", "state", [[0.0] * NPARAMS], r"^state: expected a NumPy array, got list"),
        ("state-array", "state", np.zeros((1, NPARAMS)), r"state"),
        ("t-zero", "t", 0, r"^t: expected >= 1 \(the first update is 1\), got 0"),
        ("t-float", "t", 1.5, r"t"),
    ]),
    "loss_forward": (lambda: dict(z=_f64(3, 2), a=_f64(3, 2), y=_f64(3, 2), name="mse"), [
        ("z-list", "z", [[0.0, 0.0]] * 3, r"^z: expected a NumPy array"),
        ("a-list", "a", [[0.0, 0.0]] * 3, r"^a: expected a NumPy array"),
        ("z-int", "z", np.zeros((3, 2), dtype=int), r"^z: expected dtype float64 or float32"),
        ("z-1-D", "z", np.zeros(3), r"^z: expected a 2-D array"),
        ("y-shape", "y", np.zeros((3, 1)), r"^y: expected shape \(3, 2\), got \(3, 1\)"),
        ("a-empty", "a", np.zeros((0, 2)), r"^a: expected shape \(3, 2\), got \(0, 2\)"),
        ("z-empty", "z", np.zeros((0, 2)), r"^z: expected a non-empty array"),
        ("name-unknown", "name", "hinge", r"^name: unknown loss 'hinge'"),
        ("name-none", "name", None, r"name"),
    ]),
    "activation_forward": (lambda: dict(z=_f64(3, 4), name="relu"), [
        ("z-list", "z", [[0.0] * 4] * 3, r"^z: expected a NumPy array"),
        ("z-int", "z", np.zeros((3, 4), dtype=int), r"^z: expected dtype float64 or float32"),
        ("name-unknown", "name", "swish", r"^name: unknown activation 'swish'"),
        ("name-none", "name", None, r"name"),
    ]),
}

KERNEL_CASES = [pytest.param(kernel, *case[1:4], id=f"{kernel}-{case[0]}",
                             marks=case[4] if len(case) > 4 else [])
                for kernel, (_, cases) in KERNELS.items() for case in cases]


def _arrays_of(args):
    """The arrays among the arguments, including those in a list (an optimizer's state)."""
    out = {}
    for k, v in args.items():
        if isinstance(v, np.ndarray):
            out[k] = v
        elif isinstance(v, list):
            out.update({f"{k}[{i}]": s for i, s in enumerate(v) if isinstance(s, np.ndarray)})
    return out


@pytest.mark.parametrize("kernel,arg,value,match", KERNEL_CASES)
def test_core_kernels_refuse_misuse(kernel, arg, value, match):
    args = KERNELS[kernel][0]()
    args[arg] = value
    arrays = _arrays_of(args)
    before = {k: v.copy() for k, v in arrays.items()}
    with pytest.raises((ValueError, TypeError), match=match):
        getattr(_core, kernel)(**args)
    for k, v in before.items():  # nothing written on the way to the error
        assert np.array_equal(arrays[k], v), k


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
    with pytest.raises(ValueError, match=r"^z: expected a non-empty array"):
        _core.loss_forward(np.zeros((0, 2)), np.zeros((0, 2)), np.zeros((0, 2)), "mse")
    with pytest.raises(ValueError, match=r"^z: expected a non-empty array"):
        _core.loss_backward(np.zeros((0, 2)), np.zeros((0, 2)), np.zeros((0, 2)),
                            np.zeros((0, 2)), "mse")
    with pytest.raises(ValueError, match=r"^name: unknown activation 'swish'"):
        _core.activation_forward(np.zeros(3), "swish")


def test_core_accepts_float64_arrays_with_an_equal_but_distinct_dtype_object():
    # A float64 array that went through pickle has a dtype equal to float64
    # but not the same Python object; the core must not tell them apart.
    params = pickle.loads(pickle.dumps(_core_params()))
    assert params.dtype == np.float64
    want = _core.forward(_core_params(), SIZES, ACTS, "mse", X4)
    assert np.array_equal(_core.forward(params, SIZES, ACTS, "mse", X4), want)
    grads = pickle.loads(pickle.dumps(np.ones(NPARAMS)))
    state = [pickle.loads(pickle.dumps(np.zeros(NPARAMS)))]
    _core.optimizer_update(params, grads, state, {"name": "sgd", "lr": 0.5}, 1)
    assert np.array_equal(params, _core_params() - 0.5)


