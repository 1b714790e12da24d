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
* a network is ``(params, sizes, activations, loss)``: the loss is named with
  every whole-network function, and the gradient is that of its objective E
  (``objective`` converts the reported loss to E: for mse, the mean over all
  elements of ``(pred - y)**2`` is reported and E is ``1/(2m) * sum((pred -
  y)**2)``; for the cross-entropies E is the reported loss);
* each table (activations, losses, optimizers) has one line per entry of
  the matching table in ``cpp/ops.h``, in the same order.
"""

from __future__ import annotations

import math
import time
from typing import Any, Callable, Optional, Sequence, TypeVar

import numpy as np

# num_parameters and fit_iterations are here as the twins of _core's functions of those names.
from ._layout import ACTIVATIONS, MONITORS, fit_iterations, num_parameters, unpack  # noqa: F401
from ._layout import PROGRESS_INTERVAL
from ._plan import FitPlan

Array = np.ndarray

LEAKY_SLOPE = 0.01
GELU_K = 0.7978845608028654  # sqrt(2 / pi)
GELU_C = 0.044715


# ---------------------------------------------------------------- activations
#
# Each activation is a pair (f(z), f'(z) given z and a = f(z)), one line of
# ACTIVATION_TABLE, the twin of the table in cpp/ops.h.


def sigmoid(z: Array) -> Array:
    """Compute ``1 / (1 + exp(-z))`` so that exp never overflows.

    Parameters
    ----------
    z : numpy.ndarray
        Any array.

    Returns
    -------
    numpy.ndarray
        The sigmoid of each element, in (0, 1) (0 and 1 where it rounds).

    Examples
    --------
    >>> import numpy as np
    >>> from plainnet import reference
    >>> reference.sigmoid(np.array([-1000.0, 0.0, 1000.0]))
    array([0. , 0.5, 1. ])
    """
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1 / (1 + e), e / (1 + e))


def softplus(z: Array) -> Array:
    """Compute ``log(1 + exp(z))`` so that exp never overflows.

    Parameters
    ----------
    z : numpy.ndarray
        Any array.

    Returns
    -------
    numpy.ndarray
        The softplus of each element.
    """
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


Entry = TypeVar("Entry")


def _lookup(table: dict[str, Entry], what: str, name: str, arg: str = "name") -> Entry:
    """table[name]; a ValueError listing the known names, as the core's, otherwise."""
    try:
        return table[name]
    except (KeyError, TypeError):
        raise ValueError(f"{arg}: unknown {what} {name!r}; expected one of: "
                         f"{', '.join(table)}") from None


def _pair(name: str) -> ActivationPair:
    return _lookup(ACTIVATION_TABLE, "activation", name)


def activation_value(name: str, z: Array) -> Array:
    """Compute ``a = f(z)`` for the named activation.

    Parameters
    ----------
    name : str
        One of ``plainnet.ACTIVATIONS``.
    z : numpy.ndarray
        The weighted sums.

    Returns
    -------
    numpy.ndarray
        The activations, shaped as ``z``.

    Examples
    --------
    >>> import numpy as np
    >>> from plainnet import reference
    >>> reference.activation_value("relu", np.array([-2.0, 3.0]))
    array([0., 3.])
    """
    return _pair(name)[0](z)


def activation_derivative(name: str, z: Array, a: Array) -> Array:
    """Compute ``f'(z)`` for the named activation, given ``z`` and ``a = f(z)``.

    Parameters
    ----------
    name : str
        One of ``plainnet.ACTIVATIONS``.
    z : numpy.ndarray
        The weighted sums.
    a : numpy.ndarray
        ``f(z)``, which many derivatives are cheapest from.

    Returns
    -------
    numpy.ndarray
        The slopes, shaped as ``z``.

    Examples
    --------
    >>> import numpy as np
    >>> from plainnet import reference
    >>> z = np.array([0.0])
    >>> reference.activation_derivative("sigmoid", z, reference.sigmoid(z))
    array([0.25])
    """
    return _pair(name)[1](z, a)


def activation_forward(z: Array, name: str) -> Array:
    """Compute ``a = f(z)`` elementwise: the kernel's argument order.

    Parameters
    ----------
    z : numpy.ndarray
        The weighted sums.
    name : str
        One of ``plainnet.ACTIVATIONS``.

    Returns
    -------
    numpy.ndarray
        The activations, shaped as ``z``.
    """
    return activation_value(name, z)


def activation_backward(dz: Array, dout: Array, z: Array, a: Array, name: str) -> None:
    """Accumulate ``dz += dout * f'(z)``, where ``a = f(z)``.

    Parameters
    ----------
    dz : numpy.ndarray
        The gradient with respect to ``z``, added to in place.
    dout : numpy.ndarray
        The gradient with respect to the activations ``a``.
    z : numpy.ndarray
        The weighted sums.
    a : numpy.ndarray
        ``f(z)``.
    name : str
        One of ``plainnet.ACTIVATIONS``.
    """
    dz += dout * activation_derivative(name, z, a)


# ---------------------------------------------------------------- dense layer


def dense_forward(inp: Array, weight: Array, bias: Array) -> Array:
    """Compute a dense layer, ``out = inp @ weight + bias``.

    Parameters
    ----------
    inp : numpy.ndarray, shape (B, C)
        A batch of B rows of C inputs.
    weight : numpy.ndarray, shape (C, OC)
        The layer's weights, row-major.
    bias : numpy.ndarray, shape (OC,)
        The layer's biases.

    Returns
    -------
    numpy.ndarray, shape (B, OC)
        The weighted sums ``z``.

    Examples
    --------
    >>> import numpy as np
    >>> from plainnet import reference
    >>> reference.dense_forward(np.array([[1.0, 2.0]]), np.array([[1.0], [10.0]]), np.array([0.5]))
    array([[21.5]])
    """
    return inp @ weight + bias


def dense_backward(dinp: Optional[Array], dweight: Array, dbias: Array, dout: Array, inp: Array,
                   weight: Array, accumulate: bool = True) -> None:
    """Accumulate the gradients of a dense layer.

    ``dweight += inp.T @ dout``, ``dbias += dout`` summed over rows and
    ``dinp += dout @ weight.T``.

    Parameters
    ----------
    dinp : numpy.ndarray or None, shape (B, C)
        The gradient with respect to the inputs; None skips it (the first
        layer needs none).
    dweight : numpy.ndarray, shape (C, OC)
        The weights' gradient.
    dbias : numpy.ndarray, shape (OC,)
        The biases' gradient.
    dout : numpy.ndarray, shape (B, OC)
        ``dE/dout``, the gradient with respect to the layer's output ``z``.
    inp : numpy.ndarray, shape (B, C)
        The layer's input.
    weight : numpy.ndarray, shape (C, OC)
        The layer's weights.
    accumulate : bool, default=True
        False overwrites the three gradients instead of adding to them.
    """
    if not accumulate:
        for out in (dweight, dbias, dinp):
            if out is not None:
                out[...] = 0
    dweight += inp.T @ dout
    dbias += dout.sum(axis=0)
    if dinp is not None:
        dinp += dout @ weight.T


# ---------------------------------------------------------------- softmax


def softmax_forward(z: Array) -> Array:
    """Compute the softmax of each row: ``exp(z - max) / sum(exp(z - max))``.

    Parameters
    ----------
    z : numpy.ndarray, shape (B, K)
        The output layer's weighted sums.

    Returns
    -------
    numpy.ndarray, shape (B, K)
        Rows of probabilities.

    Examples
    --------
    >>> import numpy as np
    >>> from plainnet import reference
    >>> reference.softmax_forward(np.array([[0.0, 0.0], [1000.0, 0.0]]))
    array([[0.5, 0.5],
           [1. , 0. ]])
    """
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


# ---------------------------------------------------------------- losses
#
# Each loss is a line of LOSS_TABLE: (forward, backward, at_z), the twin of
# the loss table in cpp/ops.h. forward(z, a, y) is the loss as reported, from
# the output layer's pre-activation z (B, K), its activation a and targets y;
# backward(d, z, a, y) accumulates the gradient of the trained objective E
# with respect to a (at_z False: the activation's derivative follows) or z.


def _mse_forward(z: Array, a: Array, y: Array) -> float:
    """Mean over all elements of (a - y)**2, summed in float64 (inf if it overflows)."""
    with np.errstate(over="ignore", invalid="ignore"):
        d = (a - y).astype(np.float64)
        return float(np.mean(d * d))


def _residual_over_rows(d: Array, z: Array, a: Array, y: Array) -> None:
    """d += (a - y) / B: the gradient of mse's E = sum((a - y)**2) / (2B) with respect to a,
    and of binary cross-entropy with respect to z."""
    inv_b = a.dtype.type(1) / a.dtype.type(a.shape[0])
    d += (a - y) * inv_b


def _bce_forward(z: Array, a: Array, y: Array) -> float:
    """-1/B sum[y log a + (1-y) log(1-a)] for a = sigmoid(z), as 1/B sum[softplus(z) - y z]."""
    z64 = z.astype(np.float64)
    return float(np.sum(softplus(z64) - y.astype(np.float64) * z64) / z.shape[0])


def _cross_entropy_forward(z: Array, a: Array, y: Array) -> float:
    """-1/B sum y log softmax(z), as 1/B sum_b sum_k y_k (logsumexp(z_b) - z_k)."""
    z64 = z.astype(np.float64)
    mx = z64.max(axis=1, keepdims=True)
    lse = mx + np.log(np.exp(z64 - mx).sum(axis=1, keepdims=True))
    return float(np.sum(y.astype(np.float64) * (lse - z64)) / z.shape[0])


def _cross_entropy_backward(d: Array, z: Array, a: Array, y: Array) -> None:
    """d += (a * sum_k y_k - y) / B, the gradient with respect to z ((a - y)/B for rows summing to 1)."""
    inv_b = a.dtype.type(1) / a.dtype.type(a.shape[0])
    d += (a * y.sum(axis=1, keepdims=True) - y) * inv_b


LossLine = tuple[Callable[[Array, Array, Array], float],
                 Callable[[Array, Array, Array, Array], None], bool]

LOSS_TABLE: dict[str, LossLine] = {
    "mse": (_mse_forward, _residual_over_rows, False),
    "binary_cross_entropy": (_bce_forward, _residual_over_rows, True),
    "cross_entropy": (_cross_entropy_forward, _cross_entropy_backward, True),
}


def _loss_line(name: str) -> LossLine:
    return _lookup(LOSS_TABLE, "loss", name)


def loss_forward(z: Array, a: Array, y: Array, name: str) -> float:
    """Compute the named loss, as reported, from the output layer's ``z`` and ``a``.

    Parameters
    ----------
    z : numpy.ndarray, shape (B, K)
        The output layer's weighted sums.
    a : numpy.ndarray, shape (B, K)
        Its activations.
    y : numpy.ndarray, shape (B, K)
        The targets.
    name : str
        One of ``plainnet.LOSSES``.

    Returns
    -------
    float
        The loss, as ``Network.loss`` reports it.
    """
    return _loss_line(name)[0](z, a, y)


def loss_backward(d: Array, z: Array, a: Array, y: Array, name: str) -> None:
    """Accumulate into ``d`` the gradient of the loss's objective E.

    The gradient is with respect to ``a`` for mse, and with respect to ``z``
    for the cross-entropies.

    Parameters
    ----------
    d : numpy.ndarray, shape (B, K)
        Added to in place.
    z : numpy.ndarray, shape (B, K)
        The output layer's weighted sums.
    a : numpy.ndarray, shape (B, K)
        Its activations.
    y : numpy.ndarray, shape (B, K)
        The targets.
    name : str
        One of ``plainnet.LOSSES``.
    """
    _loss_line(name)[1](d, z, a, y)


def objective(name: str, loss: float, outputs: int) -> float:
    """Convert the loss as reported into the objective E whose gradient training follows.

    Parameters
    ----------
    name : str
        One of ``plainnet.LOSSES``.
    loss : float
        The loss as reported.
    outputs : int
        The number of outputs K.

    Returns
    -------
    float
        For mse the report is the mean over m * K elements and
        E = sum / (2m), so E = loss * K / 2; for the cross-entropies E is the
        reported loss.

    Examples
    --------
    >>> from plainnet import reference
    >>> reference.objective("mse", 0.5, 3)
    0.75
    """
    return loss * outputs / 2 if name == "mse" else loss


# ---------------------------------------------------------------- optimizers
#
# Each optimizer is a line of OPTIMIZER_TABLE: (slots, update), the twin of
# the optimizer table in cpp/ops.h. update(p, g, state, settings, t) is the
# t-th update (t = 1, 2, ...), in place on p and the state arrays; the rules
# are torch.optim's.


class Settings(dict):  # type: ignore[type-arg]
    """An optimizer's settings, with the core's defaults for those not given.

    Parameters
    ----------
    given : dict
        Settings by the core's names (``lr``, ``momentum``, ``beta1``, ...);
        a ``name`` entry is ignored.

    Raises
    ------
    ValueError
        A setting the core does not know.
    """

    DEFAULTS = {"lr": 0.1, "momentum": 0.0, "weight_decay": 0.0, "nesterov": False,
                "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "eta_minus": 0.5, "eta_plus": 1.2,
                "step_min": 1e-6, "step_max": 50.0}

    def __init__(self, given: dict[str, Any]) -> None:
        super().__init__(self.DEFAULTS)
        for key, value in given.items():
            if key == "name":
                continue
            if key not in self.DEFAULTS:
                raise ValueError(f"optimizer: unknown setting {key!r}")
            self[key] = value


def sgd_update(params: Array, grads: Array, lr: float) -> None:
    """Make the plain gradient-descent update ``params -= lr * grads`` in place.

    Parameters
    ----------
    params : numpy.ndarray
        The flat parameters, changed in place.
    grads : numpy.ndarray
        Their gradient.
    lr : float
        The learning rate.
    """
    params -= params.dtype.type(lr) * grads


def _sgd(p: Array, g: Array, state: list[Array], o: Settings, t: int) -> None:
    t_ = p.dtype.type
    lr, wd, mu = t_(o["lr"]), t_(o["weight_decay"]), t_(o["momentum"])
    if mu == 0 and wd == 0:
        sgd_update(p, g, o["lr"])
        return
    d = g + wd * p
    if mu != 0:
        buf = state[0]
        if t == 1:
            buf[...] = d
        else:
            buf[...] = mu * buf + d
        d = d + mu * buf if o["nesterov"] else buf.copy()
    p -= lr * d


def _adam(decoupled: bool) -> Callable[[Array, Array, list[Array], Settings, int], None]:
    def update(p: Array, g: Array, state: list[Array], o: Settings, t: int) -> None:
        t_ = p.dtype.type
        m, v = state
        bc1 = 1.0 - o["beta1"] ** float(t)
        bc2 = 1.0 - o["beta2"] ** float(t)
        neg_step, bc2_sqrt = t_(-(o["lr"] / bc1)), t_(np.sqrt(bc2))
        if decoupled:
            p *= t_(1.0 - o["lr"] * o["weight_decay"])
        else:
            g = g + t_(o["weight_decay"]) * p
        m += t_(1.0 - o["beta1"]) * (g - m)
        v[...] = v * t_(o["beta2"]) + t_(1.0 - o["beta2"]) * (g * g)
        denom = np.sqrt(v) / bc2_sqrt + t_(o["eps"])
        p += neg_step * (m / denom)
    return update


def _rprop(p: Array, g: Array, state: list[Array], o: Settings, t: int) -> None:
    t_ = p.dtype.type
    prev, step = state
    if t == 1:
        step[...] = t_(o["lr"])
    sign = g * prev
    factor = np.where(sign > 0, t_(o["eta_plus"]), np.where(sign < 0, t_(o["eta_minus"]), t_(1)))
    grown = step * factor  # clamped as torch.clamp does, NaN kept
    step[...] = np.where(grown < o["step_min"], t_(o["step_min"]),
                         np.where(grown > o["step_max"], t_(o["step_max"]), grown))
    gi = np.where(sign < 0, t_(0), g)
    p -= np.sign(gi) * step
    prev[...] = gi


OptimizerLine = tuple[int, Callable[[Array, Array, list[Array], Settings, int], None]]

OPTIMIZER_TABLE: dict[str, OptimizerLine] = {
    "sgd": (1, _sgd),
    "adam": (2, _adam(decoupled=False)),
    "adamw": (2, _adam(decoupled=True)),
    "rprop": (2, _rprop),
}


def _optimizer_line(optimizer: dict[str, Any]) -> tuple[str, OptimizerLine, Settings]:
    name = str(optimizer.get("name"))
    return name, _lookup(OPTIMIZER_TABLE, "optimizer", name, "optimizer"), Settings(optimizer)


def optimizer_update(params: Array, grads: Array, state: list[Array], optimizer: dict[str, Any],
                     t: int) -> None:
    """Make the t-th update of an optimizer, in place.

    Parameters
    ----------
    params : numpy.ndarray
        The flat parameters, changed in place.
    grads : numpy.ndarray
        Their gradient.
    state : list of numpy.ndarray
        The optimizer's state arrays, changed in place.
    optimizer : dict
        ``{"name": ..., **settings}`` with the core's names.
    t : int
        The update's number, from 1.
    """
    _, (slots, update), settings = _optimizer_line(optimizer)
    if len(state) != slots:
        raise ValueError(f"state: expected {slots} arrays, got {len(state)}")
    with np.errstate(over="ignore", invalid="ignore"):
        update(params, grads, list(state), settings, t)


# ---------------------------------------------------------------- a whole network


def forward_trace(params: Array, sizes: Sequence[int], activations: Sequence[str], loss: str,
                  X: Array) -> list[tuple[Array, Array]]:
    """Run X through the network, keeping every layer's ``z`` and ``a``.

    Parameters
    ----------
    params : numpy.ndarray
        The flat parameters ``W0, b0, W1, b1, ...``.
    sizes : sequence of int
        The layer widths, inputs first.
    activations : sequence of str
        One activation per layer.
    loss : str
        The loss's name, one of ``plainnet.LOSSES``.
    X : numpy.ndarray, shape (m, inputs)
        The inputs.

    Returns
    -------
    list of tuple of numpy.ndarray
        ``[(z_l, a_l), ...]``, one pair per layer.
    """
    trace, a = [], X
    # Weights that have grown huge give inf/NaN outputs, as in the core; the
    # callers decide what that means (fit and step raise FloatingPointError).
    with np.errstate(over="ignore", invalid="ignore"):
        for (W, b), name in zip(unpack(params, sizes), activations):
            z = dense_forward(a, W, b)  # weighted sum plus bias
            # then the non-linearity (softmax, on the last layer, works row by row)
            a = softmax_forward(z) if name == "softmax" else activation_forward(z, name)
            trace.append((z, a))
    return trace


def forward(params: Array, sizes: Sequence[int], activations: Sequence[str], loss: str,
            X: Array) -> Array:
    """Compute the network's predictions for X.

    Parameters
    ----------
    params : numpy.ndarray
        The flat parameters ``W0, b0, W1, b1, ...``.
    sizes : sequence of int
        The layer widths, inputs first.
    activations : sequence of str
        One activation per layer.
    loss : str
        The loss's name, one of ``plainnet.LOSSES``.
    X : numpy.ndarray, shape (m, inputs)
        The inputs.

    Returns
    -------
    numpy.ndarray, shape (m, outputs)
        The output layer's activations.

    Examples
    --------
    >>> import numpy as np
    >>> import plainnet as pn
    >>> from plainnet import reference
    >>> W, b = np.array([[1.0], [1.0]]), np.array([-1.0])
    >>> params = np.concatenate([W.ravel(), b])
    >>> reference.forward(params, [2, 1], ["relu"], "mse", np.array([[1.0, 2.0], [0.0, 0.0]]))
    array([[2.],
           [0.]])
    """
    return forward_trace(params, sizes, activations, loss, X)[-1][1]


def _weighted_loss(loss_fwd: Callable[[Array, Array, Array], float], z: Array, a: Array,
                   y: Array, w: Array, w_sum: float) -> float:
    """sum_n w_n * (row n's loss) / sum_n w_n, summed in row order; 0 when w_sum is 0."""
    if w_sum == 0.0:
        return 0.0
    total = 0.0
    for n in range(z.shape[0]):
        if w[n] != 0:
            total += float(w[n]) * loss_fwd(z[n:n + 1], a[n:n + 1], y[n:n + 1])
    return total / w_sum


def _weight_sum(w: Optional[Array], m: int) -> float:
    """The sum of a batch's row weights, in float64 and row order (m without weights)."""
    if w is None:
        return float(m)
    total = 0.0
    for v in w:
        total += float(v)
    return total


def _backward(params: Array, sizes: Sequence[int], activations: Sequence[str], loss_name: str,
              X: Array, y: Array, trace: list[tuple[Array, Array]], grads: Array,
              w: Optional[Array] = None, w_sum: float = 0.0,
              keeps: Optional[list[Optional[Array]]] = None,
              outs: Optional[list[Array]] = None) -> float:
    """Blame flows backward: accumulate dE/dparams into grads; return the loss.

    With row weights w (summing to w_sum), E and the loss are weighted means
    over the rows: each row's output error is scaled by w_n * m / w_sum.
    With dropout, ``keeps[l]`` (or None) is layer l's mask and ``outs[l]`` the
    output the next layer read (``_dropout_forward``).
    """
    loss_fwd, loss_bwd, at_z = _loss_line(loss_name)
    z, a = trace[-1]
    d = np.zeros_like(a)
    loss_bwd(d, z, a, y)  # error at the output, averaged over the m rows
    if w is None:
        loss = loss_fwd(z, a, y)
    else:
        m = z.shape[0]
        scale = (np.zeros(m) if w_sum == 0.0 else
                 w.astype(np.float64) * float(m) / w_sum).astype(d.dtype)
        d *= scale[:, None]
        loss = _weighted_loss(loss_fwd, z, a, y, w, w_sum)
    layers, grad_layers = unpack(params, sizes), unpack(grads, sizes)
    for l in reversed(range(len(layers))):
        z, a = trace[l]
        W, _ = layers[l]
        dW, db = grad_layers[l]
        if l == len(layers) - 1 and at_z:
            dz = d  # the cross-entropies give dE/dz directly
        else:
            dz = np.zeros_like(z)
            activation_backward(dz, d, z, a, activations[l])  # error x sensitivity
        inp = X if l == 0 else (trace[l - 1][1] if outs is None else outs[l - 1])
        dinp = None if l == 0 else np.zeros_like(inp)
        dense_backward(dinp, dW, db, dz, inp, W)
        if dinp is not None:
            d = dinp
            keep = None if keeps is None else keeps[l - 1]
            if keep is not None:  # through the dropout: the same mask
                d *= keep
    return loss


def _add_l2(params: Array, sizes: Sequence[int], grads: Array, l2: float, w_sum: float) -> float:
    """The penalty l2 / (2 w_sum) * sum ||W_l||^2 (weights only): gradient into grads, value out."""
    if l2 == 0.0 or w_sum == 0.0:
        return 0.0
    scale = params.dtype.type(l2 / w_sum)
    squares = 0.0
    for (W, _), (dW, _) in zip(unpack(params, sizes), unpack(grads, sizes)):
        w64 = W.astype(np.float64).ravel()
        squares += float(np.dot(w64, w64))
        dW += scale * W
    return 0.5 * l2 * squares / w_sum


DROPOUT_SALT = 0x64726F706F757421  # "dropout!", the core's kDropoutSalt


def _mix64_int(x: int) -> int:
    """splitmix64's finaliser on one Python int (wrapping as uint64)."""
    z = (x + 0x9E3779B97F4A7C15) & _MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
    return z ^ (z >> 31)


def dropout_mask(n: int, p: float, seed: int, epoch: int, batch: int, layer: int,
                 dtype: Any = np.float64) -> Array:
    """Give dropout's multipliers for n units, the same as the core's.

    Parameters
    ----------
    n : int
        The number of units: the batch's rows times the layer's width, in
        row-major order.
    p : float
        The rate, in [0, 1).
    seed, epoch, batch, layer : int
        The key: the fit's seed, the epoch (counted from the first fit of the
        optimizer, as the shuffles are), the batch within the epoch and the
        hidden layer.
    dtype : numpy dtype, default=float64
        The multipliers' dtype.

    Returns
    -------
    numpy.ndarray, shape (n,)
        0 for a dropped unit, ``1 / (1 - p)`` (rounded to dtype) for a kept one.

    Notes
    -----
    The layer's stream is ``mix64(mix64(mix64(mix64(seed ^ DROPOUT_SALT) ^
    epoch) ^ batch) ^ layer)`` (splitmix64's finaliser); unit i takes the low
    (i even) or high (i odd) 32 bits of ``mix64(stream ^ (i // 2))`` and is
    dropped when they are below ``p * 2**32``.

    Examples
    --------
    >>> from plainnet import reference
    >>> keep = reference.dropout_mask(100_000, 0.25, seed=0, epoch=0, batch=0, layer=0)
    >>> sorted(set(keep.tolist())), float((keep == 0).mean())
    ([0.0, 1.3333333333333333], 0.24863)
    """
    stream = _mix64_int(seed & _MASK ^ DROPOUT_SALT)
    for part in (epoch, batch, layer):
        stream = _mix64_int(stream ^ (part & _MASK))
    hashes = _mix64(np.uint64(stream) ^ np.arange((n + 1) // 2, dtype=np.uint64))
    bits = np.empty(2 * hashes.size, dtype=np.uint64)
    bits[0::2] = hashes & np.uint64(0xFFFFFFFF)
    bits[1::2] = hashes >> np.uint64(32)
    below = np.uint64(int(p * 4294967296.0))
    scale = np.dtype(dtype).type(1.0 / (1.0 - p))
    keep: Array = np.where(bits[:n] < below, np.dtype(dtype).type(0), scale).astype(dtype)
    return keep


def _dropout_forward(params: Array, sizes: Sequence[int], activations: Sequence[str], loss: str,
                     X: Array, rates: Sequence[float], key: tuple[int, int, int]
                     ) -> tuple[list[tuple[Array, Array]], list[Optional[Array]], list[Array]]:
    """forward_trace with training's dropout: (trace, masks, outputs read by the next layer).

    Hidden layer l with a rate p > 0 passes ``a_l * keep_l`` on, keep_l from
    ``dropout_mask(..., *key, l)``; the trace keeps a_l itself (its
    activation's derivative needs it).
    """
    trace: list[tuple[Array, Array]] = []
    keeps: list[Optional[Array]] = []
    outs: list[Array] = []
    a = X
    with np.errstate(over="ignore", invalid="ignore"):
        for l, ((W, b), name) in enumerate(zip(unpack(params, sizes), activations)):
            z = dense_forward(a, W, b)
            a = softmax_forward(z) if name == "softmax" else activation_forward(z, name)
            trace.append((z, a))
            p = rates[l] if l < len(rates) else 0.0
            keep = None
            if p > 0.0:
                keep = dropout_mask(a.size, p, *key, l, dtype=a.dtype).reshape(a.shape)
                a = a * keep
            keeps.append(keep)
            outs.append(a)
    return trace, keeps, outs


def _gradients_and_trace(params: Array, sizes: Sequence[int], activations: Sequence[str],
                         loss: str, X: Array, y: Array, w: Optional[Array] = None,
                         l2: float = 0.0, dropout: Sequence[float] = (),
                         key: tuple[int, int, int] = (0, 0, 0),
                         ) -> tuple[float, Array, list[tuple[Array, Array]]]:
    """(loss as reported, flat gradient of E, the forward trace they came from).

    Rows weigh w (None: 1 each), and l2 adds the penalty of _add_l2, as the
    core's train_step does; dropout (one rate per hidden layer) draws its
    masks from key, (seed, epoch, batch).
    """
    with np.errstate(over="ignore", invalid="ignore"):
        grads = np.zeros_like(params)
        keeps: Optional[list[Optional[Array]]] = None
        outs: Optional[list[Array]] = None
        if any(p > 0.0 for p in dropout):
            trace, keeps, outs = _dropout_forward(params, sizes, activations, loss, X, dropout,
                                                  key)
        else:
            trace = forward_trace(params, sizes, activations, loss, X)
        w_sum = _weight_sum(w, X.shape[0])
        value = _backward(params, sizes, activations, loss, X, y, trace, grads, w, w_sum,
                          keeps, outs)
        value += _add_l2(params, sizes, grads, l2, w_sum)
    return value, grads, trace


def gradients(params: Array, sizes: Sequence[int], activations: Sequence[str], loss: str,
              X: Array, y: Array) -> tuple[float, Array]:
    """Compute the loss and the gradient of E for a batch.

    Parameters
    ----------
    params : numpy.ndarray
        The flat parameters ``W0, b0, W1, b1, ...``.
    sizes : sequence of int
        The layer widths, inputs first.
    activations : sequence of str
        One activation per layer.
    loss : str
        The loss's name, one of ``plainnet.LOSSES``.
    X : numpy.ndarray, shape (m, inputs)
        The inputs.
    y : numpy.ndarray, shape (m, outputs)
        The targets.

    Returns
    -------
    loss : float
        The loss as reported.
    grads : numpy.ndarray
        The flat gradient of E, laid out as ``params``.
    """
    value, grads, _ = _gradients_and_trace(params, sizes, activations, loss, X, y)
    return value, grads


def loss_and_gradient(params: Array, sizes: Sequence[int], activations: Sequence[str], loss: str,
                      X: Array, y: Array, sample_weight: Optional[Array], l2: float,
                      grads: Array) -> float:
    """Compute the full-batch objective and write its gradient into ``grads``.

    What one fit iteration over all the rows computes, for an optimizer that
    wants the objective and its gradient together (L-BFGS).

    Parameters
    ----------
    params : numpy.ndarray
        The flat parameters ``W0, b0, W1, b1, ...``.
    sizes : sequence of int
        The layer widths, inputs first.
    activations : sequence of str
        One activation per layer.
    loss : str
        The loss's name, one of ``plainnet.LOSSES``.
    X : numpy.ndarray, shape (m, inputs)
        The inputs.
    y : numpy.ndarray, shape (m, outputs)
        The targets.
    sample_weight : numpy.ndarray or None
        One weight per row (None: 1 each).
    l2 : float
        The penalty ``l2 / (2 w) * sum ||W_l||**2``, w the sum of the weights.
    grads : numpy.ndarray
        Where the gradient goes, laid out as ``params``; overwritten.

    Returns
    -------
    float
        E (``objective`` of the reported loss) plus the penalty: the function
        whose gradient ``grads`` now holds.
    """
    with np.errstate(over="ignore", invalid="ignore"):
        g = np.zeros_like(params)
        trace = forward_trace(params, sizes, activations, loss, X)
        w_sum = _weight_sum(sample_weight, X.shape[0])
        value = _backward(params, sizes, activations, loss, X, y, trace, g, sample_weight, w_sum)
        value = objective(loss, value, sizes[-1]) + _add_l2(params, sizes, g, l2, w_sum)
    grads[...] = g
    return value


PREDICT_ROWS = 512  # rows per chunk of evaluate, as the core's predict runs


def _correct(loss: str, a: Array, y: Array) -> int:
    """Right predictions: rows by arg-max (cross_entropy), outputs against 0.5 (BCE), 0 (mse)."""
    if loss == "cross_entropy":
        return int(np.sum(np.argmax(a, axis=1) == np.argmax(y, axis=1)))
    if loss == "binary_cross_entropy":
        return int(np.sum((a > 0.5) == (y > 0.5)))
    return 0


def evaluate(params: Array, sizes: Sequence[int], activations: Sequence[str], loss: str,
             X: Array, y: Array) -> tuple[float, int]:
    """Compute the loss and the number of right predictions on (X, y).

    The rows go through in chunks, as the core computes them.

    Parameters
    ----------
    params : numpy.ndarray
        The flat parameters ``W0, b0, W1, b1, ...``.
    sizes : sequence of int
        The layer widths, inputs first.
    activations : sequence of str
        One activation per layer.
    loss : str
        The loss's name, one of ``plainnet.LOSSES``.
    X : numpy.ndarray, shape (m, inputs)
        The inputs.
    y : numpy.ndarray, shape (m, outputs)
        The targets.

    Returns
    -------
    loss : float
        The loss as reported.
    correct : int
        Right predictions (rows for cross_entropy, outputs for
        binary_cross_entropy; 0 for mse).
    """
    total, correct, value = 0.0, 0, 0.0
    with np.errstate(over="ignore", invalid="ignore"):
        for r0 in range(0, X.shape[0], PREDICT_ROWS):
            xc, yc = X[r0 : r0 + PREDICT_ROWS], y[r0 : r0 + PREDICT_ROWS]
            z, a = forward_trace(params, sizes, activations, loss, xc)[-1]
            value = LOSS_TABLE[loss][0](z, a, yc)
            total += xc.shape[0] * value
            correct += _correct(loss, a, yc)
    # One chunk: its loss as computed, not rescaled by n / m (which can move the last bit).
    return (value if X.shape[0] <= PREDICT_ROWS else total / X.shape[0]), correct



class _Updater:
    """Optimizer updates that can be undone, the twin of the core's Updater."""

    def __init__(self, optimizer: dict[str, Any], state: list[Array], steps: int,
                 params: Array) -> None:
        self.name, (slots, self.rule), self.settings = _optimizer_line(optimizer)
        if len(state) != slots:
            raise ValueError(f"state: expected {slots} arrays, got {len(state)}")
        self.state, self.t = list(state), steps
        self.before = [params.copy()] + [s.copy() for s in self.state]

    def save(self, params: Array) -> None:
        """Keep params and state as they are now, for restore."""
        for keep, now in zip(self.before, [params] + self.state):
            keep[...] = now

    def restore(self, params: Array) -> None:
        for keep, now in zip(self.before, [params] + self.state):
            now[...] = keep

    def apply(self, params: Array, grads: Array) -> bool:
        """The next update; undone (False) if it makes a parameter NaN/Inf."""
        self.save(params)
        return self.update(params, grads)

    def update(self, params: Array, grads: Array) -> bool:
        """The next update after save(); undone (False) if it makes a parameter NaN/Inf."""
        with np.errstate(over="ignore", invalid="ignore"):
            self.rule(params, grads, self.state, self.settings, self.t + 1)
        if not np.isfinite(params).all():
            self.restore(params)
            return False
        self.t += 1
        return True

    def undo(self, params: Array) -> None:
        """Undo the last update."""
        self.restore(params)
        self.t -= 1


def step(params: Array, sizes: Sequence[int], activations: Sequence[str], loss: str, X: Array,
         y: Array, lr: float, dropout: Sequence[float] = (), seed: int = 0
         ) -> tuple[float, bool]:
    """Make one forward, backward and gradient-descent update, in place.

    Parameters
    ----------
    params : numpy.ndarray
        The flat parameters ``W0, b0, W1, b1, ...``.
    sizes : sequence of int
        The layer widths, inputs first.
    activations : sequence of str
        One activation per layer.
    loss : str
        The loss's name, one of ``plainnet.LOSSES``.
    X : numpy.ndarray, shape (m, inputs)
        The inputs.
    y : numpy.ndarray, shape (m, outputs)
        The targets.
    lr : float
        The learning rate.
    dropout : sequence of float, default=()
        One dropout rate per hidden layer (empty: none).
    seed : int, default=0
        The key of dropout's masks: those of batch 0 of epoch 0 of a fit
        with this seed.

    Returns
    -------
    loss : float
        The loss before the update.
    updated : bool
        False when that loss is NaN or Inf, or the update would make a
        parameter NaN or Inf; ``params`` are then left as they were.
    """
    _check_dropout(dropout, sizes)
    value, grads, _ = _gradients_and_trace(params, sizes, activations, loss, X, y,
                                           dropout=dropout, key=(seed, 0, 0))
    if not np.isfinite(value):
        return value, False
    return value, _Updater({"name": "sgd", "lr": lr}, [np.zeros_like(params)], 0,
                           params).apply(params, grads)


# ---------------------------------------------------------------- training loop

_MASK = (1 << 64) - 1


def _mix64(x: Any) -> Any:
    """splitmix64's finaliser on a uint64 array (wrapping arithmetic)."""
    z = x + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def epoch_permutation(m: int, seed: int, epoch: int) -> Array:
    """Give the order in which an epoch visits the samples, the same as the core's.

    Parameters
    ----------
    m : int
        The number of samples.
    seed : int
        The fit's seed.
    epoch : int
        The epoch, from 0.

    Returns
    -------
    numpy.ndarray of int64, shape (m,)
        A permutation of ``0 ... m - 1``.

    Examples
    --------
    >>> import numpy as np
    >>> from plainnet import reference
    >>> order = reference.epoch_permutation(10, seed=0, epoch=3)
    >>> np.array_equal(np.sort(order), np.arange(10))
    True
    """
    e = _mix64(np.array([epoch & _MASK], dtype=np.uint64))
    base = _mix64(np.uint64(seed & _MASK) ^ e)
    keys = _mix64(base ^ np.arange(m, dtype=np.uint64))
    return np.argsort(keys, kind="stable").astype(np.int64)


def _check_dropout(rates: Sequence[float], sizes: Sequence[int]) -> None:
    """The core's check of dropout rates: none, or one in [0, 1) per hidden layer."""
    if len(rates) and len(rates) != len(sizes) - 2:
        raise ValueError(f"dropout: expected {len(sizes) - 2} rates (one per hidden layer), "
                         f"got {len(rates)}")
    for i, p in enumerate(rates):
        if not 0.0 <= p < 1.0:
            raise ValueError(f"dropout: every rate must be in [0, 1), got {p} at position {i}")


EPOCH_COLUMNS = 4  # per epoch: loss, accuracy, val_loss, val_accuracy (NaN where absent)


# ---------------------------------------------------------------- schedules and clipping
#
# The twins of network.cpp's schedule_epoch_step, one_cycle_at and
# clip_gradient. A schedule is the dict plainnet.optim.lr_scheduler gives the
# core; its state a float64 array of SCHEDULE_SLOTS numbers, updated in place.

SCHEDULE_SLOTS = 6
LAST_EPOCH, RATE, MOMENTUM, BEST, BAD_EPOCHS, COOLDOWN_LEFT = range(SCHEDULE_SLOTS)


def schedule_epoch_step(schedule: dict[str, Any], state: Array, metric: float,
                        rows: float) -> bool:
    """Make one epoch step of a schedule (torch's ``step()``), in place on its state.

    Parameters
    ----------
    schedule : dict
        ``{"name": ..., **settings}`` as ``plainnet.optim.lr_scheduler`` gives the core;
        ``"one_cycle"`` steps per update instead (``one_cycle_at``).
    state : numpy.ndarray of float64, shape (SCHEDULE_SLOTS,)
        The step count, the rate, the momentum, and ReduceLROnPlateau's best
        value, bad epochs and cooldown epochs left.
    metric : float
        The monitored value of the epoch (ReduceLROnPlateau and adaptive only).
    rows : float
        The rows the epoch trained on, or the sum of their sample weights
        (inv_scaling counts them).

    Returns
    -------
    bool
        Whether the schedule ends the fit (adaptive, at its least rate).
    """
    s, name = schedule, schedule["name"]
    if name == "inv_scaling":  # scikit-learn's t_ counts rows
        t = float(state[LAST_EPOCH]) + float(rows)
        state[LAST_EPOCH] = t
        state[RATE] = s["base_lr"] / (t + 1) ** s["power_t"]
        return False
    e = int(state[LAST_EPOCH]) + 1
    state[LAST_EPOCH] = e
    lr = float(state[RATE])
    if name == "step":
        if e % s["step_size"] == 0:
            lr = lr * s["gamma"]
    elif name == "multi_step":
        n = s["milestones"].count(e)
        if n > 0:
            lr = lr * s["gamma"] ** float(n)
    elif name == "exponential":
        lr = lr * s["gamma"]
    elif name == "cosine":
        T, eta_min = s["t_max"], s["eta_min"]
        if (e - 1 - T) % (2 * T) == 0:
            lr = lr + (s["base_lr"] - eta_min) * (1 - math.cos(math.pi / T)) / 2
        else:
            lr = ((1 + math.cos(math.pi * e / T)) / (1 + math.cos(math.pi * (e - 1) / T))
                  * (lr - eta_min) + eta_min)
    elif name == "plateau":
        best, threshold = float(state[BEST]), s["threshold"]
        if s["mode_max"]:
            better = (metric > best * (threshold + 1.0) if s["threshold_rel"]
                      else metric > best + threshold)
        else:
            better = (metric < best * (1.0 - threshold) if s["threshold_rel"]
                      else metric < best - threshold)
        if better:
            state[BEST] = metric
            state[BAD_EPOCHS] = 0
        else:
            state[BAD_EPOCHS] += 1
        if state[COOLDOWN_LEFT] > 0:
            state[COOLDOWN_LEFT] -= 1
            state[BAD_EPOCHS] = 0  # bad epochs in cooldown do not count
        if state[BAD_EPOCHS] > s["patience"]:
            new_lr = max(lr * s["factor"], s["min_lr"])
            if lr - new_lr > s["eps"]:
                lr = new_lr
            state[COOLDOWN_LEFT] = s["cooldown"]
            state[BAD_EPOCHS] = 0
    elif name == "adaptive":  # scikit-learn's _update_no_improvement_count, trigger_stopping
        best, tol = float(state[BEST]), s["threshold"]
        stalled = metric < best + tol if s["mode_max"] else metric > best - tol
        state[BAD_EPOCHS] = state[BAD_EPOCHS] + 1 if stalled else 0
        if (metric > best) if s["mode_max"] else (metric < best):
            state[BEST] = metric
        if state[BAD_EPOCHS] > s["patience"]:
            if lr <= s["stop_lr"]:
                return True
            lr /= 5.0
            state[BAD_EPOCHS] = 0
    state[RATE] = lr
    return False


def _anneal(cos: bool, start: float, end: float, pct: float) -> float:
    if cos:
        cos_out = math.cos(math.pi * pct) + 1
        return end + (start - end) / 2.0 * cos_out
    return (end - start) * pct + start


def one_cycle_at(schedule: dict[str, Any], step: int) -> tuple[float, float]:
    """Give OneCycleLR's rate and momentum at a step (torch's ``get_lr()``).

    Parameters
    ----------
    schedule : dict
        A ``"one_cycle"`` schedule as ``plainnet.optim.lr_scheduler`` gives the core.
    step : int
        The updates made under the schedule so far.

    Returns
    -------
    lr, momentum : float
        The rate and momentum of the next update.
    """
    s = schedule
    total, pct_start = float(s["total_steps"]), s["pct_start"]
    phases = [(pct_start * total - 1, s["initial_lr"], s["max_lr"], s["max_momentum"],
               s["base_momentum"])]
    if s["three_phase"]:
        phases += [(2 * pct_start * total - 2, s["max_lr"], s["initial_lr"], s["base_momentum"],
                    s["max_momentum"]),
                   (total - 1, s["initial_lr"], s["min_lr"], s["max_momentum"],
                    s["max_momentum"])]
    else:
        phases += [(total - 1, s["max_lr"], s["min_lr"], s["base_momentum"], s["max_momentum"])]
    start, at = 0.0, float(step)
    for i, (end, lr0, lr1, m0, m1) in enumerate(phases):
        if at <= end or i == len(phases) - 1:
            pct = (at - start) / (end - start)
            return (_anneal(s["anneal_cos"], lr0, lr1, pct),
                    _anneal(s["anneal_cos"], m0, m1, pct))
        start = end
    raise AssertionError("unreachable: the last phase always matches")


def clip_gradient(grads: Array, clip_norm: Optional[float], clip_value: Optional[float]) -> None:
    """Clip a flat gradient in place as ``torch.nn.utils`` does.

    Parameters
    ----------
    grads : numpy.ndarray
        The gradient, changed in place.
    clip_norm : float or None
        ``clip_grad_norm_``: scale by ``clip_norm / (||grads||_2 + 1e-6)``
        when that is below 1.
    clip_value : float or None
        ``clip_grad_value_``: clamp each entry to ``[-clip_value, clip_value]``.
    """
    if clip_norm is not None:
        g64 = grads.astype(np.float64)
        coef = clip_norm / (math.sqrt(float(np.dot(g64, g64))) + 1e-6)
        if coef < 1.0:
            grads *= grads.dtype.type(coef)
    if clip_value is not None:
        hi = grads.dtype.type(clip_value)
        np.clip(grads, -hi, hi, out=grads)


def fit(params: Array, sizes: Sequence[int], activations: Sequence[str], loss: str, X: Array,
        y: Array, plan: FitPlan, dropout: Sequence[float] = (),
        ) -> tuple[Array, int, str, int, Array, int]:
    """Run the training loop, in place on params and the optimizer's state arrays.

    Parameters
    ----------
    params : numpy.ndarray
        The flat parameters ``W0, b0, W1, b1, ...``.
    sizes : sequence of int
        The layer widths, inputs first.
    activations : sequence of str
        One activation per layer.
    loss : str
        The loss's name, one of ``plainnet.LOSSES``.
    X : numpy.ndarray, shape (m, inputs)
        The training inputs.
    y : numpy.ndarray, shape (m, outputs)
        The training targets.
    plan : plainnet._plan.FitPlan
        Everything else the loop does: the optimizer and its state arrays
        (changed in place), epochs, batches, shuffling, the callback,
        validation data, early stopping, row weights, L2, the progress hook.
    dropout : sequence of float, default=()
        One rate per hidden layer (empty: none): inverted dropout on that
        layer's output, its masks keyed by (seed, ``first_epoch`` + epoch,
        batch) (``dropout_mask``). A property of the network, not of the fit.

    Returns
    -------
    losses : numpy.ndarray
        The loss of every iteration run.
    iterations : int
        Iterations done.
    status : str
        "done", "stopped" (the callback returned False), "early_stopped"
        (patience ran out) or "nonfinite" (a loss or an updated parameter
        became NaN or Inf; params and state then hold the last iterate whose
        loss was finite).
    updates : int
        Updates made.
    table : numpy.ndarray
        A row per completed epoch: training loss (the row-weighted mean of
        the batch losses), training accuracy, validation loss, validation
        accuracy.
    best_epoch : int
        The epoch of the best value of ``monitor``; -1 when there is none.

    Raises
    ------
    KeyboardInterrupt
        Ctrl-C; params hold the last completed iteration's values and the
        exception's ``plainnet_partial_fit`` attribute carries
        ``(losses, iterations done)``, as the native core does. An exception
        from the callback carries the same.
    """
    optimizer, state, steps, epochs = plan.optimizer, plan.state, plan.steps, plan.epochs
    batch_size, shuffle, seed, first_epoch = (plan.batch_size, plan.shuffle, plan.seed,
                                              plan.first_epoch)
    log_every, callback, progress = plan.log_every, plan.callback, plan.progress
    X_val, y_val, sample_weight, l2 = plan.X_val, plan.y_val, plan.sample_weight, plan.l2
    monitor, patience, min_delta, restore_best = (plan.monitor, plan.patience, plan.min_delta,
                                                  plan.restore_best)
    schedule, sched_state = plan.schedule, plan.schedule_state
    _check_dropout(dropout, sizes)
    m, K = X.shape[0], y.shape[1]
    full = batch_size <= 0 or batch_size >= m
    bs = m if full else batch_size
    batches = 1 if full else -(-m // bs)
    # Both grow with the iterations and epochs actually run: a fit asked for
    # 10**12 epochs that stops after one allocates for one.
    losses: list[float] = []
    table: list[Array] = []
    u = _Updater(optimizer, state, steps, params)
    # The schedule: epoch schedules step after each epoch; one_cycle sets the
    # rate (and momentum) of every update from the updates made so far.
    if schedule is None or sched_state is None:
        schedule = sched_state = None
    else:
        u.settings["lr"] = float(sched_state[RATE])
    per_update = schedule is not None and schedule["name"] == "one_cycle"
    cycle_start = int(sched_state[LAST_EPOCH]) if per_update and sched_state is not None else 0

    def cycle_to(updates: int) -> None:
        assert schedule is not None and sched_state is not None
        lr, momentum = one_cycle_at(schedule, cycle_start + updates)
        sched_state[LAST_EPOCH], sched_state[RATE], sched_state[MOMENTUM] = (
            cycle_start + updates, lr, momentum)
        u.settings["lr"] = lr
        if schedule["cycle_momentum"]:
            u.settings["momentum" if u.name == "sgd" else "beta1"] = momentum

    if per_update:
        cycle_to(0)
    # An epoch's rows for inv_scaling: a row of weight 2 counts as two rows.
    epoch_rows = (_weight_sum(sample_weight, m)
                  if schedule is not None and schedule["name"] == "inv_scaling" else float(m))
    classifies = loss != "mse"
    per_row = K if loss == "binary_cross_entropy" else 1
    if monitor not in MONITORS:
        raise ValueError(f"monitor: unknown monitor {monitor!r}; expected one of: "
                         f"{', '.join(MONITORS)}")
    column = {"loss": 0, "val_loss": 2, "val_accuracy": 3}[monitor]
    sign = -1.0 if monitor == "val_accuracy" else 1.0  # accuracy enters negated, as a loss
    watched = monitor == "loss" or (X_val is not None and (monitor == "val_loss" or classifies))
    early = watched and patience > 0
    best = params.copy() if early and restore_best and monitor != "loss" else None
    best_loss, best_epoch, waited = np.inf, -1, 0
    order = np.arange(m)
    it, done_epochs, status = 0, 0, "done"

    def result(status: str) -> tuple[Array, int, str, int, Array, int]:
        if per_update:
            cycle_to(u.t - steps)
        rows = np.array(table, dtype=np.float64).reshape(len(table), EPOCH_COLUMNS)
        return np.array(losses, dtype=np.float64), it, status, u.t - steps, rows, best_epoch

    updating = -1  # the iteration whose update may be half-recorded, else -1
    last_progress = time.monotonic()
    try:
        for epoch in range(epochs):
            if not full and shuffle:
                order = epoch_permutation(m, seed, first_epoch + epoch)
            loss_sum, correct = 0.0, 0
            for b in range(batches):
                rows = order[b * bs : (b + 1) * bs]
                xb, yb = (X, y) if full else (X[rows], y[rows])
                wb = None if sample_weight is None else (
                    sample_weight if full else sample_weight[rows])
                value, grads, trace = _gradients_and_trace(params, sizes, activations, loss,
                                                           xb, yb, wb, l2, dropout,
                                                           (seed, first_epoch + epoch, b))
                clip_gradient(grads, plan.clip_norm, plan.clip_value)
                if not np.isfinite(value):
                    if it > 0:
                        u.undo(params)  # undo the update that led here
                    return result("nonfinite")
                u.save(params)
                updating = it
                updated = u.update(params, grads)
                if per_update:
                    cycle_to(u.t - steps)
                losses.append(float(value))
                if not updated:  # the update overflowed: params hold the recorded iterate
                    it += 1
                    return result("nonfinite")
                it += 1
                updating = -1
                loss_sum += value * xb.shape[0]
                correct += _correct(loss, trace[-1][1], yb)
                if callback is not None and log_every > 0 and (it - 1) % log_every == 0:
                    if callback(it - 1, value) is False:
                        return result("stopped")
            row = np.full(EPOCH_COLUMNS, np.nan)
            table.append(row)
            row[0] = loss_sum / m
            if classifies:
                row[1] = correct / (m * per_row)
            done_epochs = epoch + 1
            if X_val is not None and y_val is not None:
                val_loss, val_correct = evaluate(params, sizes, activations, loss, X_val, y_val)
                row[2] = val_loss
                if classifies:
                    row[3] = val_correct / (X_val.shape[0] * per_row)
            if watched:
                value = sign * row[column]
                if value < best_loss - min_delta:  # an improvement, as Keras counts it
                    best_loss, best_epoch, waited = value, epoch, 0
                    if best is not None:
                        best[...] = params
                elif early:
                    waited += 1
                    if waited >= patience:
                        status = "early_stopped"
            if schedule is not None and sched_state is not None and not per_update:
                # ReduceLROnPlateau watches what fit monitors: validation when
                # there is some, else the epoch's training loss.
                metric = row[{"val_loss": 2, "val_accuracy": 3}.get(monitor, 0)
                             if X_val is not None else 0]
                if schedule_epoch_step(schedule, sched_state, float(metric), epoch_rows):
                    status = "early_stopped"
                u.settings["lr"] = float(sched_state[RATE])
            if progress is not None:
                now = time.monotonic()
                if now - last_progress >= PROGRESS_INTERVAL:
                    last_progress = now
                    progress(done_epochs, it, (float(row[0]), float(row[1]), float(row[2]),
                                               float(row[3])))
            if status == "early_stopped":
                break
    except BaseException as exc:
        # Ctrl-C may come between any two statements: if that was inside the
        # update of iteration `it`, roll the update back so params match `it`.
        if updating == it:
            if u.t > steps + it:  # the update was counted
                u.undo(params)
            else:
                u.restore(params)
        if per_update:
            cycle_to(u.t - steps)
        exc.plainnet_partial_fit = (np.array(losses[:it], dtype=np.float64), it)  # type: ignore[attr-defined]
        raise
    if best is not None and best_epoch >= 0 and best_epoch != done_epochs - 1:
        params[...] = best
    return result(status)
