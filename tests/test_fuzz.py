"""Random use of the public API: every call agrees with the NumPy twin or is refused cleanly.

Each example builds a network (with a random loss) on the native backend and
its twin on the numpy backend, then runs a random sequence of calls on both
with random arguments and optimizers (validation and early stopping included):
shapes right and wrong, dtypes real and not, C/Fortran/strided/reversed/
read-only layouts, NaN/Inf, empty and huge values. Each call must either
succeed on both with results equal within the tolerance of the dtype, or
raise the same ValueError/TypeError/FloatingPointError on both; after a
ValueError/TypeError the networks are unchanged. fit warns (UserWarning) when
mse targets lie outside the output activation's range; both must warn alike.

The budget is fixed by the hypothesis profile loaded in conftest.py.
"""

import os
import tempfile
import warnings

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import event, given, note  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import plainnet as pn  # noqa: E402


ALLOWED = (ValueError, TypeError, FloatingPointError)
# Per call: one pass over the network. Training compounds the summation-order
# differences over several updates, so fit and step sequences get more room.
RTOL_ONE = {np.float64: 1e-10, np.float32: 1e-4}
RTOL_TRAIN = {np.float64: 1e-7, np.float32: 1e-2}

REAL_DTYPES = ["float64", "float32", "float16", "int64", "int32", "uint8", "bool"]
BAD_DTYPES = ["complex128", "U3", "object"]

FLOATS = st.one_of(
    st.floats(-3, 3, allow_nan=False),
    st.sampled_from([0.0, -0.0, 1e-300, -1e-300, 1e30, -1e30, 1e150, 1e300, -1e300, 3e38, -3.5e38]),
    st.sampled_from([np.nan, np.inf, -np.inf]),
)


@st.composite
def arrays(draw, rows, cols, allow_1d=False):
    """An array-like meant as (rows, cols), often right, sometimes wrong in every way."""
    kind = draw(st.sampled_from(["good"] * 8 + ["shape", "dtype", "nonarray", "empty"]))
    shape = (rows, cols)
    if kind == "shape":
        shape = draw(st.sampled_from([(rows,), (rows, cols, 1), (rows, cols + 1), (rows + 1, cols),
                                      (max(cols - 1, 0), rows), ()]))
    elif kind == "empty":
        shape = draw(st.sampled_from([(0, cols), (rows, 0), (0,)]))
    elif allow_1d and cols == 1 and draw(st.booleans()):
        shape = (rows,)
    special = draw(st.sampled_from(["none"] * 6 + ["huge", "nonfinite"]))
    n = int(np.prod(shape))
    if special == "none":
        values = draw(st.lists(st.floats(-3, 3, allow_nan=False), min_size=n, max_size=n))
    else:
        values = draw(st.lists(FLOATS, min_size=n, max_size=n))
    base = np.array(values, dtype=np.float64).reshape(shape)
    dtype = draw(st.sampled_from(REAL_DTYPES + (BAD_DTYPES if kind == "dtype" else [])))
    with np.errstate(all="ignore"):
        if dtype in ("U3", "object"):
            arr = base.astype(str if dtype == "U3" else object)
        elif np.dtype(dtype).kind in "iub":
            finite = np.nan_to_num(base, nan=0.0, posinf=1e6, neginf=-1e6)
            arr = np.clip(finite, -1e6, 1e6).astype(dtype)
        else:
            arr = base.astype(dtype)
    arr = np.asarray(arr)  # np.clip and astype return scalars for 0-d input
    if kind == "nonarray":
        return draw(st.sampled_from([arr.tolist(), None, "X", 3.0, {"a": 1}]))
    layout = draw(st.sampled_from(["C", "F", "strided", "reversed", "readonly"]))
    if layout == "F":
        arr = np.asfortranarray(arr)
    elif layout == "strided" and arr.ndim:
        big = np.repeat(arr, 2, axis=0)
        arr = big[::2]
    elif layout == "reversed" and arr.ndim:
        arr = np.ascontiguousarray(arr[::-1])[::-1]  # the same values, negative strides
    elif layout == "readonly":
        arr = arr.copy()
        arr.flags.writeable = False
    note(f"array: kind={kind} dtype={dtype} layout={layout} shape={getattr(arr, 'shape', None)}")
    return arr


def mostly(good, bad):
    """good five times in six."""
    return st.integers(0, 5).flatmap(lambda k: bad if k == 0 else good)


# Learning rates up to 1e10: large ones make training diverge (FloatingPointError).
LR = mostly(st.one_of(st.floats(1e-3, 1.0), st.sampled_from([5.0, 50.0, 1e10])),
            st.sampled_from([0.0, -0.1, np.nan, np.inf, 1e300, 1e-60, "0.1", None, True]))
EPOCHS = mostly(st.integers(0, 3), st.sampled_from([-1, 2.5, "3", None, True]))
BATCH = mostly(st.one_of(st.none(), st.integers(1, 5)), st.sampled_from([0, -2, 1.5, "2"]))
SEED = mostly(st.integers(0, 2**64 - 1), st.sampled_from([-1, 2**64, 1.0, "7"]))


def params(net):
    return [p.copy() for p in net.weights + net.biases]


def same(a, b):
    return all(np.array_equal(p, q) for p, q in zip(a, b))


def magnitude(*values):
    """The largest finite |value| among arrays (or array-likes), at least 1."""
    top = 1.0
    for v in values:
        try:
            a = np.asarray(v)
        except ValueError:
            continue
        if a.dtype.kind not in "biuf":
            continue  # refused by both backends anyway
        with np.errstate(all="ignore"):
            a = np.abs(a.astype(np.float64))
        a = a[np.isfinite(a)]
        if a.size:
            top = max(top, float(a.max()))
    return top


def close(actual, desired, dtype, table, scale=1.0):
    """Equal within rtol, with an absolute floor at rtol times the largest value
    and at a few dozen ulps of ``scale``, the magnitude of the inputs.

    A list (the arrays of every layer) is compared as one: a small gradient
    entry of one layer carries the rounding of the larger numbers it came from.
    The ulp floor is for the same reason: a saturated activation's slope, such
    as 1 - tanh(z)**2 for large z, is a difference of numbers near 1, so its
    rounding is absolute, not relative to the tiny slope.
    """
    rtol = table[np.dtype(dtype).type]
    floor = 64 * float(np.finfo(dtype).eps) * scale
    if isinstance(desired, (list, tuple)):
        assert len(actual) == len(desired)
        for a, d in zip(actual, desired):
            assert np.shape(a) == np.shape(d) and np.asarray(a).dtype == np.asarray(d).dtype
        actual = np.concatenate([np.ravel(a) for a in actual]) if actual else np.zeros(0)
        desired = np.concatenate([np.ravel(d) for d in desired]) if desired else np.zeros(0)
    desired = np.asarray(desired, dtype=np.float64)
    actual = np.asarray(actual, dtype=np.float64)
    assert actual.shape == desired.shape
    # Both backends must overflow (or not) the same way.
    assert np.array_equal(np.isfinite(actual), np.isfinite(desired))
    fin = np.isfinite(desired)
    # Not which non-finite value: once weights are infinite, 0 * inf is NaN in
    # the plain loops but BLAS may skip the zero term and return inf.
    top = float(np.max(np.abs(desired[fin]))) if fin.any() else 0.0
    np.testing.assert_allclose(actual[fin], desired[fin], rtol=rtol, atol=max(rtol * top, floor))


# The one warning a call may give: fit's, for mse targets the output cannot reach.
TARGET_RANGE_WARNING = "y: the targets lie in "


def run_recording_warnings(net, op, args):
    """(outcome, result or exception, [warning messages]) of run(net, op, args)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            outcome = ("ok", run(net, op, args))
        except ALLOWED as exc:
            outcome = ("error", exc)
    for w in caught:
        assert w.category is UserWarning and str(w.message).startswith(TARGET_RANGE_WARNING), \
            f"{op}: unexpected {w.category.__name__}: {w.message}"
        assert op == "fit", f"{op} warned: {w.message}"
    return outcome + ([str(w.message) for w in caught],)


def targets(loss, rows, cols):
    """y for a network trained on `loss`: what it accepts, most of the time."""
    if loss == "mse":
        return arrays(rows, cols, allow_1d=True)
    good = st.lists(st.floats(0, 1), min_size=rows * cols, max_size=rows * cols).map(
        lambda v: np.array(v).reshape(rows, cols))
    if loss == "cross_entropy":
        labels = st.lists(st.integers(0, cols - 1), min_size=rows, max_size=rows).map(np.array)
        onehot = labels.map(lambda l: np.eye(cols)[l])
        soft = good.map(lambda a: (a + 1e-3) / (a + 1e-3).sum(axis=1, keepdims=True))
        wrong = st.sampled_from([np.full(rows, cols), -np.ones(rows, dtype=np.int64)])
        good = st.one_of(labels, onehot, soft, wrong)
    return mostly(good, arrays(rows, cols, allow_1d=True))


# None (plain gradient descent with fit's lr) or a plainnet.optim optimizer.
# Adam divides by sqrt(v) + eps: with the default eps (1e-8) a gradient that is
# zero up to rounding (float32 noise of 1e-8 relative, which the two backends
# round differently) becomes a whole step of lr in one backend and none in the
# other. An eps far above that noise keeps the comparison about the rule;
# test_optim.py holds the rule, default eps included, against torch.optim.
SMALL_LR = st.floats(1e-4, 0.5)
ADAM_EPS = 1e-3
OPTIMIZERS = st.one_of(
    st.none(),
    st.builds(pn.optim.SGD, lr=SMALL_LR, momentum=st.sampled_from([0.0, 0.5, 0.9]),
              weight_decay=st.sampled_from([0.0, 1e-2])),
    st.builds(pn.optim.SGD, lr=SMALL_LR, momentum=st.just(0.9), nesterov=st.just(True)),
    st.builds(pn.optim.Adam, lr=SMALL_LR, weight_decay=st.sampled_from([0.0, 0.1]),
              eps=st.just(ADAM_EPS)),
    st.builds(pn.optim.AdamW, lr=SMALL_LR, eps=st.just(ADAM_EPS)),
    st.builds(pn.optim.Rprop, lr=SMALL_LR),
)


def on_a_boundary(net, X, dtype):
    """Whether a class prediction of net on X is within rounding of changing."""
    out = np.asarray(net.forward(X), dtype=np.float64)
    eps = 1e-3 if np.dtype(dtype) == np.float32 else 1e-9
    if out.shape[1] == 1 or net.loss_name == "binary_cross_entropy":
        return bool(np.any(np.abs(out - 0.5) <= eps))
    top2 = np.sort(out, axis=1)[:, -2:]
    return bool(np.any(top2[:, 1] - top2[:, 0] <= eps))


def run(net, op, args):
    if op == "forward":
        return net.forward(*args)
    if op == "forward_trace":
        return [pair for layer in net.forward_trace(*args) for pair in layer]
    if op == "loss":
        return net.loss(*args)
    if op == "evaluate":
        return list(net.evaluate(*args).values())
    if op == "predict_classes":
        return net.predict_classes(*args)
    if op == "gradients":
        dW, db = net.gradients(*args)
        return dW + db
    if op == "step":
        return net.step(*args)
    if op == "fit":
        X, y, kwargs = args
        kwargs = dict(kwargs)
        if kwargs.get("optimizer") == "continue":
            kwargs["optimizer"] = net.optimizer
        elif kwargs.get("optimizer") is not None:
            kwargs["optimizer"] = kwargs["optimizer"].copy()  # each network its own
        hist = net.fit(X, y, **kwargs)
        return [hist.loss, hist.epoch_loss] + [
            a for a in (hist.val_loss, hist.accuracy, hist.val_accuracy) if a is not None
        ] + net.optimizer.state
    raise AssertionError(op)


@st.composite
def networks(draw):
    n_layers = draw(st.integers(1, 3))
    layers = draw(st.lists(st.integers(1, 5), min_size=n_layers + 1, max_size=n_layers + 1))
    acts = draw(st.lists(st.sampled_from(pn.ACTIVATIONS), min_size=n_layers, max_size=n_layers))
    loss = draw(st.sampled_from(["mse", "mse"] + list(pn.LOSSES[1:])))
    if loss == "cross_entropy":
        acts[-1] = "softmax"
        layers[-1] = max(layers[-1], 2)
    elif loss == "binary_cross_entropy":
        acts[-1] = "sigmoid"
    dtype = draw(st.sampled_from(["float64", "float32"]))
    init = draw(st.sampled_from(pn.INITS))
    scale = draw(st.sampled_from([None, 0.1, 1.0, 3.0]))
    seed = draw(st.integers(0, 2**32 - 1))
    return pn.Network(layers, activation=acts, init=init, init_scale=scale, seed=seed,
                      dtype=dtype, loss=loss)


OPS = ["forward", "forward_trace", "loss", "evaluate", "predict_classes", "gradients", "step",
       "fit", "save_load", "copy", "with_backend"]


def products_can_overflow(net):
    """Whether a product along the network can overflow its dtype: a weight or
    bias beyond max ** (1 / number of sizes). There the fast kernels' fused
    multiply-adds (one rounding) and NumPy's separate multiply and add give
    inf, NaN or a finite number for the same sum (a saturated sigmoid of +inf
    is 1, of NaN is NaN), and the two backends cannot be held to one answer."""
    limit = float(np.finfo(net.dtype).max) ** (1.0 / len(net.layers))
    top = max(float(np.max(np.abs(p))) for p in net.weights + net.biases)
    return not top <= limit


@given(net=networks(), data=st.data())
def test_random_call_sequences_agree_with_numpy_or_refuse(net, data):
    twin = net.with_backend("numpy")
    dt = net.dtype
    n_in, n_out = net.layers[0], net.layers[-1]
    trained = False
    for _ in range(data.draw(st.integers(1, 6), label="calls")):
        if products_can_overflow(net) or products_can_overflow(twin):
            event("stopped: weights so large that products overflow")
            break
        op = data.draw(st.sampled_from(OPS), label="op")
        rows = data.draw(st.integers(1, 6), label="rows")
        if op == "save_load":
            with tempfile.TemporaryDirectory() as tmp:
                path = os.path.join(tmp, "net.npz")
                net.save(path)
                back = pn.Network.load(path, backend=data.draw(st.sampled_from(pn.BACKENDS)))
                assert os.listdir(tmp) == ["net.npz"]
            assert back.layers == net.layers and back.dtype == net.dtype
            assert same(params(back), params(net))
            net, twin = back.with_backend("native"), twin
            continue
        if op in ("copy", "with_backend"):
            other = net.copy() if op == "copy" else twin.with_backend("native")
            assert same(params(other), params(net)) or op == "with_backend"
            net = other
            continue
        X = data.draw(arrays(rows, n_in), label="X")
        if op in ("forward", "forward_trace", "predict_classes"):
            args = (X,)
        else:
            y = data.draw(targets(net.loss_name, rows, n_out), label="y")
            if op == "step":
                args = (X, y, data.draw(LR, label="lr"))
            elif op == "fit":
                kwargs = dict(epochs=data.draw(EPOCHS, label="epochs"),
                              batch_size=data.draw(BATCH, label="batch_size"),
                              shuffle=data.draw(st.booleans(), label="shuffle"),
                              seed=data.draw(SEED, label="seed"))
                opt = data.draw(OPTIMIZERS, label="optimizer")
                if opt is None and net.optimizer is not None and data.draw(st.booleans()):
                    opt = "continue"
                if opt is None:
                    kwargs["lr"] = data.draw(LR, label="lr")
                else:
                    kwargs["optimizer"] = opt
                if rows >= 2 and data.draw(st.integers(0, 3), label="validation") == 0:
                    kwargs["validation_split"] = 0.5
                    kwargs["patience"] = data.draw(st.sampled_from([None, 1, 2]))
                args = (X, y, kwargs)
            else:
                args = (X, y)

        before_n, before_t = params(net), params(twin)
        scale = magnitude(*args[:2], *before_n)
        (kind_n, res_n, warned_n), (kind_t, res_t, warned_t) = [
            run_recording_warnings(which, op, args) for which in (net, twin)]
        note(f"{op}: native {kind_n} {res_n!r:.200}, numpy {kind_t} {res_t!r:.200}")
        assert kind_n == kind_t
        assert warned_n == warned_t
        if warned_n:
            event(f"{op}: warned")
        event(f"{op}: {kind_n if kind_n == 'ok' else type(res_n).__name__}")
        table = RTOL_TRAIN if trained or op in ("step", "fit") else RTOL_ONE
        if kind_n == "error":
            assert type(res_n) is type(res_t)
            if isinstance(res_n, (ValueError, TypeError)):
                assert str(res_n) == str(res_t)
                assert same(params(net), before_n) and same(params(twin), before_t)
            elif op == "step":
                assert same(params(net), before_n) and same(params(twin), before_t)
            else:  # fit diverged: both keep the last finite iterate, the same one
                assert res_n.history.iterations == res_t.history.iterations
                close(params(net), params(twin), dt, RTOL_TRAIN, scale)
                trained = True
            continue
        if op in ("evaluate", "predict_classes") and on_a_boundary(twin, args[0], dt):
            # An output at the threshold (or two tied for the arg-max) may fall
            # either side by rounding: only the loss must agree.
            res_n, res_t = res_n[:1] if op == "evaluate" else [], res_t[:1] if op == "evaluate" else []
        close(res_n, res_t, dt, table, scale)
        if op in ("step", "fit"):
            trained = True
        close(params(net), params(twin), dt, RTOL_TRAIN if trained else RTOL_ONE, scale)


@given(data=st.data())
def test_random_from_weights_agrees_or_refuses(data):
    n_layers = data.draw(st.integers(1, 3))
    sizes = data.draw(st.lists(st.integers(1, 4), min_size=n_layers + 1, max_size=n_layers + 1))
    weights = [data.draw(arrays(a, b)) for a, b in zip(sizes[:-1], sizes[1:])]
    biases = [data.draw(arrays(1, b)) if data.draw(st.booleans()) else
              data.draw(arrays(b, 1)) for b in sizes[1:]]
    dtype = data.draw(st.sampled_from([None, "float64", "float32", "int8", 3]))
    outcomes = []
    for backend in pn.BACKENDS:
        try:
            outcomes.append(pn.Network.from_weights(weights, biases, activation="tanh",
                                                    backend=backend, dtype=dtype))
        except ALLOWED as exc:
            outcomes.append(exc)
    if isinstance(outcomes[0], Exception):
        assert type(outcomes[0]) is type(outcomes[1]) and str(outcomes[0]) == str(outcomes[1])
        return
    native, twin = outcomes
    assert same(params(native), params(twin))
    X = np.ones((2, native.layers[0]))
    # The sums inside a layer can cancel (1e6 - 1e6 + b), so the rounding that
    # summation order leaves is relative to the terms' size, not the result's:
    # bound it by the largest |bias| + sum |w| a layer can reach (inputs are
    # ones, tanh outputs stay within 1).
    size = max(float(np.abs(b).max() + np.abs(w).sum(axis=0).max())
               for w, b in zip(twin.weights, twin.biases))
    close(native.forward(X), twin.forward(X), native.dtype, RTOL_ONE, scale=max(1.0, size))
