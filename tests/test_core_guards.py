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
    assert _core.LOSSES == _layout.LOSSES
    assert _core.MAX_ELEMENTS == _layout.MAX_ELEMENTS


# ================================================================ network functions

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
    ("X-columns", dict(X=np.zeros((4, 3))), r"^X: expected shape \(4, 2\), got \(4, 3\)"),
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
    ("epochs-negative", dict(epochs=-1), ValueError, r"^epochs: -1 is negative"),
    ("batch_size-negative", dict(batch_size=-1), ValueError, r"^batch_size: expected >= 0"),
    ("log_every-negative", dict(log_every=-1), ValueError, r"^log_every: expected >= 0"),
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
        ("name-unknown", "name", "swish", r"^name: unknown activation 'swish'"),
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
        ("name-unknown", "name", "swish", r"^name: unknown activation 'swish'"),
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
    with pytest.raises(ValueError, match=r"^name: unknown activation 'swish'"):
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


