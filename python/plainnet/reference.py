"""The NumPy twin of plainnet's native core.

Every function here has a namesake in ``plainnet._core`` with the same
arguments in the same order, and computes the same thing in plain NumPy. It is
the oracle the native kernels are tested against, and it is a backend in its
own right: ``Network(..., backend="numpy")`` runs on it.

Conventions, shared with the C++ kernels:

* arrays are row-major; a dense layer's weight has shape ``(inputs, outputs)``
  so a batch ``X`` of shape ``(m, inputs)`` goes through as ``X @ W + b``;
* the parameters of a whole network live in one flat array, ordered
  ``W0, b0, W1, b1, ...``;
* ``*_backward`` functions *accumulate* (``+=``) into the gradient arrays they
  are given, so a caller zeroes gradients once before a backward pass;
* the loss reported is the MSE, the mean over all elements of
  ``(pred - y)**2``; the gradient used for training is that of
  ``E = 1/(2m) * sum((pred - y)**2)``, where ``m`` is the number of rows, so the
  error signal at the output is ``(pred - y) / m``.
"""

from __future__ import annotations

from typing import Any, Callable, Optional, Sequence

import numpy as np

# num_parameters and fit_iterations are here as the twins of _core's functions of those names.
from ._layout import ACTIVATIONS, fit_iterations, num_parameters, unpack  # noqa: F401

Array = np.ndarray

LEAKY_SLOPE = 0.01
GELU_K = 0.7978845608028654  # sqrt(2 / pi)
GELU_C = 0.044715


# ---------------------------------------------------------------- activations
#
# Each activation is a pair (f(z), f'(z) given z and a = f(z)), one line of
# ACTIVATION_TABLE, the twin of the table in cpp/ops.h.


def sigmoid(z: Array) -> Array:
    """1 / (1 + exp(-z)), computed so that exp never overflows."""
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1 / (1 + e), e / (1 + e))


def softplus(z: Array) -> Array:
    """log(1 + exp(z)), computed so that exp never overflows."""
    return np.maximum(z, 0) + np.log1p(np.exp(-np.abs(z)))


def _gelu_inner(z: Array) -> Array:
    # 2u, where u = sqrt(2/pi) * (z + 0.044715 z^3); z^3 may overflow to inf for
    # huge |z|, which sigmoid handles, so the overflow is not an error here.
    with np.errstate(over="ignore"):
        return 2 * (GELU_K * (z + GELU_C * z * z * z))


def _silu_derivative(z: Array, a: Array) -> Array:
    s = sigmoid(z)
    return s * (1 + z * (1 - s))


def _gelu_derivative(z: Array, a: Array) -> Array:
    s = sigmoid(_gelu_inner(z))
    t = s * (1 - s)
    # where t == 0 (large |z|) the product below would be 0 * inf
    with np.errstate(over="ignore", invalid="ignore"):
        k = z.dtype.type(GELU_K)
        slope = s + z * 2 * t * k * (1 + z.dtype.type(3 * GELU_C) * z * z)
    return np.where(t == 0, s, slope)


def _mish_derivative(z: Array, a: Array) -> Array:
    t = np.tanh(softplus(z))
    return t + z * sigmoid(z) * (1 - t * t)


ActivationPair = tuple[Callable[[Array], Array], Callable[[Array, Array], Array]]

ACTIVATION_TABLE: dict[str, ActivationPair] = {
    "linear": (lambda z: z.copy(), lambda z, a: np.ones_like(z)),
    "sigmoid": (sigmoid, lambda z, a: a * (1 - a)),
    "tanh": (np.tanh, lambda z, a: 1 - a * a),
    "relu": (lambda z: np.where(z > 0, z, z.dtype.type(0)),
             lambda z, a: (z > 0).astype(z.dtype)),
    "leaky_relu": (lambda z: np.where(z > 0, z, z.dtype.type(LEAKY_SLOPE) * z),
                   lambda z, a: np.where(z > 0, z.dtype.type(1), z.dtype.type(LEAKY_SLOPE))),
    "elu": (lambda z: np.where(z > 0, z, np.expm1(np.minimum(z, 0))),
            lambda z, a: np.where(z > 0, z.dtype.type(1), a + 1)),
    "softplus": (softplus, lambda z, a: sigmoid(z)),
    "silu": (lambda z: z * sigmoid(z), _silu_derivative),
    "gelu": (lambda z: z * sigmoid(_gelu_inner(z)), _gelu_derivative),
    "mish": (lambda z: z * np.tanh(softplus(z)), _mish_derivative),
}


def _pair(name: str) -> ActivationPair:
    try:
        return ACTIVATION_TABLE[name]
    except KeyError:
        raise ValueError(f"unknown activation {name!r}; expected one of: "
                         f"{', '.join(ACTIVATIONS)}") from None


def activation_value(name: str, z: Array) -> Array:
    """a = f(z) for the named activation."""
    return _pair(name)[0](z)


def activation_derivative(name: str, z: Array, a: Array) -> Array:
    """f'(z), given z and a = f(z)."""
    return _pair(name)[1](z, a)


def activation_forward(z: Array, name: str) -> Array:
    """a = f(z), elementwise."""
    return activation_value(name, z)


def activation_backward(dz: Array, dout: Array, z: Array, a: Array, name: str) -> None:
    """dz += dout * f'(z)   (a = f(z))."""
    dz += dout * activation_derivative(name, z, a)


# ---------------------------------------------------------------- dense layer


def dense_forward(inp: Array, weight: Array, bias: Array) -> Array:
    """out = inp @ weight + bias;  inp (B, C), weight (C, OC), bias (OC,)."""
    return inp @ weight + bias


def dense_backward(dinp: Optional[Array], dweight: Array, dbias: Array, dout: Array, inp: Array,
                   weight: Array) -> None:
    """Accumulate the gradients of a dense layer, given dout = dE/dout (B, OC).

    dweight += inp.T @ dout,  dbias += dout summed over rows,
    dinp += dout @ weight.T  (skipped when dinp is None: the first layer).
    """
    dweight += inp.T @ dout
    dbias += dout.sum(axis=0)
    if dinp is not None:
        dinp += dout @ weight.T


# ---------------------------------------------------------------- MSE loss


def mse_forward(pred: Array, target: Array) -> float:
    """Mean over all elements of (pred - target)**2, summed in float64 (inf if it overflows)."""
    with np.errstate(over="ignore", invalid="ignore"):
        d = (pred - target).astype(np.float64)
        return float(np.mean(d * d))


def mse_backward(dpred: Array, pred: Array, target: Array) -> None:
    """dpred += (pred - target) / B: the gradient of sum((pred - target)**2) / (2B)."""
    inv_b = pred.dtype.type(1) / pred.dtype.type(pred.shape[0])
    dpred += (pred - target) * inv_b


LossPair = tuple[Callable[[Array, Array], float], Callable[[Array, Array, Array], None]]

# Each loss is a pair (forward, backward), one line of LOSS_TABLE, the twin of
# the loss table in cpp/ops.h.
LOSS_TABLE: dict[str, LossPair] = {
    "mse": (mse_forward, mse_backward),
}


# ---------------------------------------------------------------- update


def sgd_update(params: Array, grads: Array, lr: float) -> None:
    """params -= lr * grads, in place."""
    params -= params.dtype.type(lr) * grads


# ---------------------------------------------------------------- a whole network


def forward_trace(params: Array, sizes: Sequence[int], activations: Sequence[str],
                  X: Array) -> list[tuple[Array, Array]]:
    """Run X through the network, keeping (z, a) of every layer."""
    trace, a = [], X
    # Weights that have grown huge give inf/NaN outputs, as in the core; the
    # callers decide what that means (fit and step raise FloatingPointError).
    with np.errstate(over="ignore", invalid="ignore"):
        for (W, b), name in zip(unpack(params, sizes), activations):
            z = dense_forward(a, W, b)  # weighted sum plus bias
            a = activation_forward(z, name)  # then the non-linearity
            trace.append((z, a))
    return trace


def forward(params: Array, sizes: Sequence[int], activations: Sequence[str], X: Array) -> Array:
    """The network's predictions for X, shape (m, outputs)."""
    return forward_trace(params, sizes, activations, X)[-1][1]


def _backward(params: Array, sizes: Sequence[int], activations: Sequence[str], X: Array, y: Array,
              trace: list[tuple[Array, Array]], grads: Array, loss_name: str = "mse") -> float:
    """Blame flows backward: accumulate dE/dparams into grads; return the loss."""
    pred = trace[-1][1]
    loss_forward, loss_backward = LOSS_TABLE[loss_name]
    loss = loss_forward(pred, y)
    da = np.zeros_like(pred)
    loss_backward(da, pred, y)  # error at the output, averaged over the m rows
    layers, grad_layers = unpack(params, sizes), unpack(grads, sizes)
    for l in reversed(range(len(layers))):
        z, a = trace[l]
        W, _ = layers[l]
        dW, db = grad_layers[l]
        dz = np.zeros_like(z)
        activation_backward(dz, da, z, a, activations[l])  # error x sensitivity
        inp = X if l == 0 else trace[l - 1][1]
        dinp = None if l == 0 else np.zeros_like(inp)
        dense_backward(dinp, dW, db, dz, inp, W)
        if dinp is not None:
            da = dinp
    return loss


def gradients(params: Array, sizes: Sequence[int], activations: Sequence[str], X: Array,
              y: Array) -> tuple[float, Array]:
    """(MSE, flat gradient of E) for a batch."""
    with np.errstate(over="ignore", invalid="ignore"):
        grads = np.zeros_like(params)
        trace = forward_trace(params, sizes, activations, X)
        loss = _backward(params, sizes, activations, X, y, trace, grads)
    return loss, grads


def _update(params: Array, grads: Array, lr: float, previous: Array) -> bool:
    """params -= lr * grads, undone if it makes a parameter NaN/Inf (then False).

    previous must hold params as they were before; the core decides the same way.
    """
    with np.errstate(over="ignore", invalid="ignore"):
        sgd_update(params, grads, lr)
    if not np.isfinite(params).all():
        params[...] = previous
        return False
    return True


def step(params: Array, sizes: Sequence[int], activations: Sequence[str], X: Array, y: Array,
         lr: float) -> tuple[float, bool]:
    """One forward + backward + update, in place: (loss before the update, updated).

    If that loss is NaN/Inf, or the update would make a parameter NaN/Inf,
    params are left as they were and updated is False.
    """
    loss, grads = gradients(params, sizes, activations, X, y)
    if not np.isfinite(loss):
        return loss, False
    return loss, _update(params, grads, lr, params.copy())


# ---------------------------------------------------------------- training loop

_MASK = (1 << 64) - 1


def _mix64(x: Any) -> Any:
    """splitmix64's finaliser on a uint64 array (wrapping arithmetic)."""
    z = x + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def epoch_permutation(m: int, seed: int, epoch: int) -> Array:
    """The order in which epoch `epoch` visits the m samples; the same as the core's."""
    e = _mix64(np.array([epoch & _MASK], dtype=np.uint64))
    base = _mix64(np.uint64(seed & _MASK) ^ e)
    keys = _mix64(base ^ np.arange(m, dtype=np.uint64))
    return np.argsort(keys, kind="stable").astype(np.int64)


def fit(params: Array, sizes: Sequence[int], activations: Sequence[str], X: Array, y: Array,
        lr: float, epochs: int, batch_size: int, shuffle: bool, seed: int, log_every: int,
        callback: Optional[Callable[[int, float], Any]]) -> tuple[Array, int, str]:
    """Gradient descent, in place. Returns (losses, iterations done, status).

    status is "done", "stopped" (callback returned False) or "nonfinite" (a loss
    or an updated parameter became NaN/Inf; params then hold the last iterate
    whose loss was finite, the last one recorded).

    A KeyboardInterrupt (Ctrl-C) leaves params as they were after the last
    completed iteration and carries ``(losses, iterations done)`` in its
    ``plainnet_partial_fit`` attribute, as the native core does.
    """
    m = X.shape[0]
    full = batch_size <= 0 or batch_size >= m
    bs = m if full else batch_size
    batches = 1 if full else -(-m // bs)
    losses = np.empty(fit_iterations(m, epochs, batch_size), dtype=np.float64)
    order = np.arange(m)
    previous = params.copy()
    it = 0
    updating = -1  # the iteration whose update may be half-recorded, else -1
    try:
        for epoch in range(epochs):
            if not full and shuffle:
                order = epoch_permutation(m, seed, epoch)
            for b in range(batches):
                rows = order[b * bs : (b + 1) * bs]
                xb, yb = (X, y) if full else (X[rows], y[rows])
                loss, grads = gradients(params, sizes, activations, xb, yb)
                if not np.isfinite(loss):
                    if it > 0:
                        params[...] = previous  # undo the update that led here
                    return losses, it, "nonfinite"
                previous[...] = params
                updating = it
                updated = _update(params, grads, lr, previous)
                losses[it] = loss
                if not updated:  # the update overflowed: params hold the recorded iterate
                    return losses, it + 1, "nonfinite"
                it += 1
                updating = -1
                if callback is not None and log_every > 0 and (it - 1) % log_every == 0:
                    if callback(it - 1, loss) is False:
                        return losses, it, "stopped"
    except KeyboardInterrupt as exc:
        # Python raises it between any two statements: if that was inside the
        # update of iteration `it`, roll the update back so params match `it`.
        if updating == it:
            params[...] = previous
        exc.plainnet_partial_fit = (losses, it)  # type: ignore[attr-defined]
        raise
    return losses, it, "done"
