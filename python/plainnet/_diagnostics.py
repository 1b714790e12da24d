"""Looking inside a network: a gradient check.

``gradcheck`` compares ``Network.gradients`` with central differences of the
training objective E.

What a loss means here lives in small functions: ``_loss_name`` (which loss
a network trains on) and ``objective_from_loss`` (the reported loss to E).
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Optional

import numpy as np

from . import _checks as check
from . import _layout

if TYPE_CHECKING:  # pragma: no cover - typing only
    from .network import History, Network


# ---------------------------------------------------------------- losses


def _loss_name(net: "Network") -> str:
    """The loss the network trains on; networks without a loss choice train on the MSE."""
    return str(getattr(net, "loss_name", "mse"))


def objective_from_loss(loss_name: str, loss: float, outputs: int) -> float:
    """E, the objective ``Network.gradients`` differentiates, from the reported loss.

    The MSE is reported as the mean over all m*K elements of (p - y)**2 while
    the gradient is that of E = 1/(2m) * sum((p - y)**2) = MSE * K / 2. The
    cross-entropy losses are reported as E itself.
    """
    if loss_name == "mse":
        return loss * outputs / 2
    return loss


def _reported_loss(impl: Any, loss_name: str, pred: np.ndarray, y: np.ndarray) -> float:
    """The loss as ``Network.loss`` reports it, computed by the backend ``impl``."""
    return float(getattr(impl, f"{loss_name}_forward")(pred, y))


# Activations whose slope jumps at z = 0: a central difference across the jump
# measures neither side's slope.
KINKED = ("relu", "leaky_relu")


class _Objective:
    """E as a function of a float64 copy of a network's flat parameters.

    It holds its own copy of the parameters, so perturbing them never touches
    the network; it computes with the network's own backend. After each call,
    ``signs`` holds z > 0 for every unit and row of the layers with a kink
    (None when there are none), to tell when a perturbation crossed one.
    """

    def __init__(self, net: "Network", x: np.ndarray, y: np.ndarray) -> None:
        with net._lock:
            self.params = net._params.astype(np.float64)  # always a fresh copy
        self.sizes = net._sizes
        self.acts = net._acts
        self.impl = net._impl
        self.loss_name = _loss_name(net)
        self.x = x.astype(np.float64)
        self.y = y.astype(np.float64)
        self.kinked = [l for l, a in enumerate(self.acts) if a in KINKED]
        self.signs: Optional[np.ndarray] = None

    def __call__(self) -> float:
        if self.kinked:
            trace = self.impl.forward_trace(self.params, self.sizes, self.acts, self.x)
            self.signs = np.concatenate([(trace[l][0] > 0).ravel() for l in self.kinked])
            pred = trace[-1][1]
        else:
            pred = self.impl.forward(self.params, self.sizes, self.acts, self.x)
        loss = _reported_loss(self.impl, self.loss_name, pred, self.y)
        return objective_from_loss(self.loss_name, loss, self.sizes[-1])


def _locate(flat: int, sizes: tuple[int, ...]) -> tuple[int, str, tuple[int, ...]]:
    """(layer, "W" or "b", index) of entry ``flat`` of the flat parameter array."""
    at = 0
    for layer, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        if flat < at + n_in * n_out:
            return layer, "W", divmod(flat - at, n_out)
        at += n_in * n_out
        if flat < at + n_out:
            return layer, "b", (flat - at,)
        at += n_out
    raise IndexError(f"parameter {flat} is beyond the network's {at} parameters")


def _describe_entry(where: tuple[int, str, tuple[int, ...]]) -> str:
    layer, kind, index = where
    return f"layer {layer} {kind}[{', '.join(str(i) for i in index)}]"


# ---------------------------------------------------------------- gradcheck

# Pass if the worst relative error is at most this, per dtype of the network.
# float64: on correct gradients of random networks the worst entry is off by
# 1e-6 to 1e-5 (rounding in E, divided by 2 eps, grows with the rows summed);
# float32: the network's own gradient carries float32 rounding, up to a few
# 1e-4 where sums cancel. A wrong gradient is off by far more than either.
GRADCHECK_TOLERANCE = {"float64": 1e-4, "float32": 1e-2}
# The denominator of a relative error is at least FLOOR_FRACTION times the
# largest numeric derivative checked, so entries that are (nearly) zero are
# judged against the gradient's scale instead of against themselves.
GRADCHECK_FLOOR_FRACTION = {"float64": 1e-4, "float32": 1e-3}
# ... and at least this many times the rounding noise of a central
# difference, eps64 * |E| / eps, so that a gradient at a minimum (all entries
# near zero) is not failed for the noise of the finite differences.
GRADCHECK_NOISE_FACTOR = 1e6
DEFAULT_MAX_PARAMS = 2000


@dataclass
class GradCheckResult:
    """What ``plainnet.gradcheck`` found; true when the gradients pass.

    The arrays have one entry per parameter checked: ``indices`` into the flat
    parameter array (W0, b0, W1, b1, ...), the ``analytic`` gradient (from
    ``Network.gradients``), the ``numeric`` central difference and the relative
    error ``|analytic - numeric| / max(|analytic|, |numeric|, floor)``.
    ``crossed_kink`` marks entries whose +eps and -eps evaluations fell on
    different sides of a ReLU kink; they are left out of ``max_error`` (unless
    every entry is). ``where`` is (layer, "W" or "b", index) of the worst entry.
    """

    max_error: float
    where: tuple[int, str, tuple[int, ...]]
    checked: int
    total: int
    tolerance: float
    floor: float
    eps: float
    dtype: str
    indices: np.ndarray
    analytic: np.ndarray
    numeric: np.ndarray
    errors: np.ndarray
    crossed_kink: np.ndarray
    worst: int  # position of the worst entry in the arrays above

    @property
    def passed(self) -> bool:
        return bool(self.max_error <= self.tolerance)

    def __bool__(self) -> bool:
        return self.passed

    def __str__(self) -> str:
        verdict = "passed" if self.passed else "FAILED"
        which = ("every parameter" if self.checked == self.total else
                 f"a random sample of {self.checked} of {self.total} parameters")
        how = ("central differences in float64 on a float64 copy" if self.dtype == "float32"
               else "central differences")
        kinks = int(self.crossed_kink.sum())
        skipped = (f"; {kinks} entries whose +-eps straddled a ReLU kink were left out"
                   if kinks and kinks < self.checked else "")
        return (f"gradcheck {verdict}: worst relative error {self.max_error:.3g} at "
                f"{_describe_entry(self.where)} (gradients() gives "
                f"{self.analytic[self.worst]:.8g}, {how} with eps {self.eps:g} give "
                f"{self.numeric[self.worst]:.8g}); tolerance {self.tolerance:g} for a "
                f"{self.dtype} network, errors relative to at least {self.floor:.3g}; "
                f"checked {which}{skipped}")

    def __repr__(self) -> str:
        return (f"GradCheckResult(passed={self.passed}, max_error={self.max_error:.3g}, "
                f"where={self.where!r}, checked={self.checked}, total={self.total})")


def _network(net: Any, caller: str) -> "Network":
    from .network import Network

    if not isinstance(net, Network):
        raise TypeError(f"{caller}: net: expected a plainnet.Network, got "
                        f"{type(net).__name__}")
    return net


def gradcheck(net: "Network", X: Any, y: Any, eps: float = 1e-6,
              max_params: Optional[int] = DEFAULT_MAX_PARAMS, seed: int = 0) -> GradCheckResult:
    """Compare ``net.gradients(X, y)`` with central differences of the objective E.

    Every parameter is perturbed by +eps and -eps in turn, on a float64 copy
    of the network's parameters (the network itself is not changed), and
    (E(+) - E(-)) / 2eps is compared with the gradient the network computes.
    E is the objective of training: for the MSE, 1/(2m) * sum((p - y)**2).

    Networks with more than ``max_params`` parameters are checked on a random
    sample of that many, drawn from ``seed``; None checks every parameter.

    The result is true when the worst relative error is within the tolerance
    for the network's dtype (``GRADCHECK_TOLERANCE``); ``str(result)`` says
    where the worst entry is, what the two sides gave and the tolerance used.
    """
    net = _network(net, "gradcheck")
    step = check.real(eps, "eps")
    if not math.isfinite(step) or step <= 0:
        raise ValueError(f"eps: expected a finite number > 0, got {eps!r}")
    if max_params is not None:
        max_params = check.integer(max_params, "max_params", minimum=1)
    seed = check.init_seed(seed)
    x, t = net._xy(X, y)

    dW, db = net.gradients(x, t)
    analytic_all = np.concatenate([a for pair in zip(dW, db) for a in (pair[0].ravel(), pair[1])])
    total = analytic_all.size
    if max_params is None or total <= max_params:
        indices = np.arange(total)
    else:
        rng = np.random.default_rng(seed)
        indices = np.sort(rng.choice(total, size=max_params, replace=False))

    objective = _Objective(net, x, t)
    centre = objective()
    p = objective.params
    numeric = np.empty(indices.size)
    crossed = np.zeros(indices.size, dtype=bool)
    for n, i in enumerate(indices):
        value = p[i]
        up, down = value + step, value - step
        p[i] = up
        e_up = objective()
        signs_up = objective.signs
        p[i] = down
        e_down = objective()
        p[i] = value
        numeric[n] = (e_up - e_down) / (up - down)  # the step actually taken, after rounding
        if signs_up is not None and objective.signs is not None:
            crossed[n] = not np.array_equal(signs_up, objective.signs)

    analytic = analytic_all[indices].astype(np.float64)
    dtype = net.dtype.name
    noise = GRADCHECK_NOISE_FACTOR * float(np.finfo(np.float64).eps) * abs(centre) / step
    scale = float(np.max(np.abs(numeric))) if numeric.size else 0.0
    floor = max(GRADCHECK_FLOOR_FRACTION[dtype] * scale, noise, float(np.finfo(np.float64).tiny))
    with np.errstate(invalid="ignore", over="ignore"):
        denominator = np.maximum(np.maximum(np.abs(analytic), np.abs(numeric)), floor)
        errors = np.abs(analytic - numeric) / denominator
    errors = np.where(np.isnan(errors), np.inf, errors)  # a NaN on either side is a failure
    # An entry whose +eps and -eps straddle a kink is left out of the verdict,
    # unless every entry does.
    judged = np.where(crossed, -1.0, errors) if not crossed.all() else errors
    worst = int(np.argmax(judged))
    return GradCheckResult(max_error=float(errors[worst]),
                           where=_locate(int(indices[worst]), net._sizes),
                           checked=int(indices.size), total=int(total),
                           tolerance=GRADCHECK_TOLERANCE[dtype], floor=floor, eps=step,
                           dtype=dtype, indices=indices, analytic=analytic, numeric=numeric,
                           errors=errors, crossed_kink=crossed, worst=worst)

