"""Looking inside a network: a gradient check and a diagnosis of a training run.

``gradcheck`` compares ``Network.gradients`` with central differences of the
training objective E; ``diagnose`` (behind ``Network.diagnose``) measures every
layer — dead and saturated units, how large the gradient is next to the
weights — and turns those numbers, the loss and optionally the loss history
into plain-language hints.

The reported loss becomes E through ``reference.objective``, the one
function that knows how (for the MSE, E = loss * outputs / 2).
"""

from __future__ import annotations

import contextlib
import math
import threading
import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterator, Optional

import numpy as np

from . import _checks as check
from . import reference

if TYPE_CHECKING:  # pragma: no cover - typing only
    from .network import History, Network


# ---------------------------------------------------------------- losses


def _baseline_loss(loss_name: str, y: np.ndarray) -> float:
    """The loss, as reported, of the best prediction that ignores the input: the
    targets' mean for every row. A loss near it means the network has learned
    nothing about X."""
    t = y.astype(np.float64)
    mean = t.mean(axis=0)
    if loss_name == "mse":
        return float(np.mean((t - mean) ** 2))
    p = np.clip(mean, 1e-12, 1 - 1e-12)  # a class that never occurs costs nothing
    if loss_name == "binary_cross_entropy":  # summed over outputs, averaged over rows
        return float(np.sum(-(t * np.log(p) + (1 - t) * np.log(1 - p))) / t.shape[0])
    return float(np.sum(-(t * np.log(p))) / t.shape[0])  # cross_entropy


# ---------------------------------------------------------------- gradcheck

# Activations whose slope jumps at z = 0: a central difference across the jump
# measures neither side's slope.
KINKED = ("relu", "leaky_relu")


class _Objective:
    """E as a function of a float64 copy of a network's flat parameters.

    It holds its own copy of the parameters, so perturbing them never touches
    the network; it computes with the network's own backend and turns the
    reported loss into E with ``reference.objective``. After each call,
    ``signs`` holds z > 0 for every unit and row of the layers with a kink
    (None when there are none), to tell when a perturbation crossed one.
    """

    def __init__(self, net: "Network", x: np.ndarray, y: np.ndarray) -> None:
        with net._lock:
            self.params = net._params.astype(np.float64)  # always a fresh copy
        self.sizes = net._sizes
        self.acts = net._acts
        self.impl = net._impl
        self.loss_name = net.loss_name
        self.x = x.astype(np.float64)
        self.y = y.astype(np.float64)
        self.kinked = [l for l, a in enumerate(self.acts) if a in KINKED]
        self.signs: Optional[np.ndarray] = None

    def __call__(self) -> float:
        trace = self.impl.forward_trace(self.params, self.sizes, self.acts, self.loss_name,
                                        self.x)
        if self.kinked:
            self.signs = np.concatenate([(trace[l][0] > 0).ravel() for l in self.kinked])
        z, a = trace[-1]
        loss = float(self.impl.loss_forward(z, a, self.y, self.loss_name))
        return reference.objective(self.loss_name, loss, self.sizes[-1])


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

    ``gradcheck`` makes it; the parameters are its fields. The arrays have
    one entry per parameter checked.

    Parameters
    ----------
    max_error : float
        The worst relative error, ``|analytic - numeric| / max(|analytic|,
        |numeric|, floor)``, over the entries that did not cross a kink.
    where : tuple
        ``(layer, "W" or "b", index)`` of the worst entry.
    checked : int
        The parameters checked.
    total : int
        The network's parameters.
    tolerance : float
        The largest ``max_error`` that passes, for the network's dtype.
    floor : float
        The least denominator of a relative error.
    eps : float
        The perturbation of each parameter.
    dtype : str
        The network's dtype.
    indices : numpy.ndarray
        Indices into the flat parameters (W0, b0, W1, b1, ...).
    analytic : numpy.ndarray
        The gradient ``Network.gradients`` gives.
    numeric : numpy.ndarray
        The central differences.
    errors : numpy.ndarray
        The relative errors.
    crossed_kink : numpy.ndarray
        True where the +eps and -eps evaluations fell on the two sides of a
        ReLU kink; those entries are left out of ``max_error`` (unless every
        entry is).
    worst : int
        The position of the worst entry in the arrays.
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
        """Whether ``max_error`` is within ``tolerance``."""
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

    Every parameter is perturbed by +eps and -eps in turn, on a float64 copy of
    the network's parameters (the network itself is not changed), and
    ``(E(+) - E(-)) / 2eps`` is compared with the gradient the network
    computes. E is the objective of training: for the MSE,
    ``1/(2m) * sum((p - y)**2)``; for the cross-entropies, the loss as reported.

    Parameters
    ----------
    net : Network
        The network to check.
    X : array_like, shape (m, inputs)
        The inputs.
    y : array_like
        The targets, as for ``Network.loss``.
    eps : float, default=1e-6
        The perturbation.
    max_params : int or None, default=2000
        Networks with more parameters are checked on a random sample of that
        many; None checks every parameter.
    seed : int, default=0
        Seed of that sample.

    Returns
    -------
    GradCheckResult
        True when the worst relative error is within the tolerance for the
        network's dtype (1e-4 for float64, 1e-2 for float32); ``str(result)``
        says where the worst entry is, what the two sides gave and the
        tolerance used.

    Examples
    --------
    >>> import plainnet as pn
    >>> X, y = pn.datasets.xor()
    >>> result = pn.gradcheck(pn.Network([2, 4, 1], seed=42), X, y)
    >>> bool(result), result.checked
    (True, 17)
    """
    net = _network(net, "gradcheck")
    step = check.real(eps, "eps")
    if not math.isfinite(step) or step <= 0:
        raise ValueError(f"eps: expected a finite number > 0, got {eps!r}")
    if max_params is not None:
        max_params = check.integer(max_params, "max_params", minimum=1)
    seed = check.init_seed(seed)
    x, t = net._xy(X, y)

    with net._lock:  # the gradient and the copy differenced are of the same parameters
        dW, db = net.gradients(x, t)
        objective = _Objective(net, x, t)
    analytic_all = np.concatenate([a for pair in zip(dW, db) for a in (pair[0].ravel(), pair[1])])
    total = analytic_all.size
    if max_params is None or total <= max_params:
        indices = np.arange(total)
    else:
        rng = np.random.default_rng(seed)
        indices = np.sort(rng.choice(total, size=max_params, replace=False))

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


# ---------------------------------------------------------------- diagnose

# A sigmoid or tanh unit is saturated where its slope is below SLOPE_FRACTION
# of its largest slope (at z = 0). sigmoid'(z) = sech(z/2)**2 / 4 and
# tanh'(z) = sech(z)**2, and sech(u)**2 = 1 - tanh(u)**2 < SLOPE_FRACTION
# where |u| > atanh(sqrt(1 - SLOPE_FRACTION)); so |z| > 5.99 for sigmoid,
# |z| > 2.99 for tanh.
SLOPE_FRACTION = 0.01
_U = math.atanh(math.sqrt(1 - SLOPE_FRACTION))
SATURATION_Z = {"sigmoid": 2 * _U, "tanh": _U}
# Units counted as dead when z <= 0 for every row: relu passes no gradient
# there, leaky_relu and elu only a sliver.
RELU_LIKE = ("relu", "leaky_relu", "elu")

# The thresholds the hints rest on.
SATURATED_ROWS = 0.5     # a unit is saturated when it is in more than this fraction of rows
SATURATED_ALARM = 0.5    # ... and a layer is, when at least this fraction of its units are
DEAD_ALARM = 0.25        # hint when at least this fraction of a layer's units are dead
HIGH_LOSS = 0.1          # the loss is high above this fraction of the baseline loss
FLAT = 1e-4              # the gradient is flat when every |dW| / |W| is below this
TINY_STEP = 1e-3         # updates are tiny when they move every layer's W by less than this
VANISHING = 1e-2         # |dW|/|W| of the first layer below this times the last one's
RISING = 0.1             # the loss oscillates when it went up in this fraction of steps
RISE = 1e-3              # ... each time by more than this fraction of itself
PLATEAU = 0.05           # the loss has stopped when the last 20 % moved it less than this
TAIL = 0.2               # the part of a history that says where training is heading
# |dW| is compared with |W|, or with this when |W| is smaller: weights that
# shrink towards zero (a linear model on XOR) must not make a vanishing
# gradient look large next to them.
WEIGHT_NORM_FLOOR = 1.0


@dataclass
class LayerReport:
    """The numbers ``Network.diagnose`` measures for one layer.

    Parameters
    ----------
    index : int
        The layer, from 0.
    activation : str
        Its activation.
    units : int
        Its width.
    dead_fraction : float or None
        For relu, leaky_relu and elu layers, the fraction of units with
        ``z <= 0`` on every row; else None.
    saturated_fraction : float or None
        For sigmoid and tanh layers, the fraction of units whose slope is below
        1 % of its largest on more than half of the rows; else None.
    weight_norm : float
        ``|W|``, the Frobenius norm of the layer's weights.
    gradient_norm : float
        ``|dW|``, that of their gradient.
    gradient_ratio : float
        ``|dW| / |W|``, with ``|W|`` counted as at least 1.
    step_ratio : float or None
        The size of the next update relative to ``|W|`` (lr times
        ``gradient_ratio`` for gradient descent), when a History says how
        training updates.
    """

    index: int
    activation: str
    units: int
    dead_fraction: Optional[float]
    saturated_fraction: Optional[float]
    weight_norm: float
    gradient_norm: float
    gradient_ratio: float
    step_ratio: Optional[float]


@dataclass
class Hint:
    """One finding of ``Network.diagnose``.

    Parameters
    ----------
    code : str
        A stable name, such as "lr_too_high".
    message : str
        What was found, in plain words, and what to try.
    """

    code: str
    message: str

    def __str__(self) -> str:
        return f"[{self.code}] {self.message}"


@dataclass
class Diagnosis:
    """What ``Network.diagnose`` found: per-layer numbers, the loss and hints.

    ``str(diagnosis)`` prints it all as a table. The history fields are None
    without a history.

    Parameters
    ----------
    layers : list of LayerReport
        One report per layer.
    loss : float
        The loss on the data given.
    loss_name : str
        The network's loss.
    baseline_loss : float
        The loss of predicting the targets' mean for every row.
    rows : int
        The rows measured on.
    hints : list of Hint
        The findings; empty when nothing looks wrong.
    iterations : int or None
        The iterations of the history.
    lr : float or None
        Its learning rate.
    rising_fraction : float or None
        The fraction of steps in which the loss went up by more than 0.1 %
        (per epoch for mini-batch training).
    tail_change : float or None
        The relative fall of the loss over the last 20 % of the history.
    history_first : float or None
        The history's first loss.
    history_lowest : float or None
        Its lowest loss.
    """

    layers: list[LayerReport]
    loss: float
    loss_name: str
    baseline_loss: float
    rows: int
    hints: list[Hint] = field(default_factory=list)
    iterations: Optional[int] = None
    lr: Optional[float] = None
    rising_fraction: Optional[float] = None
    tail_change: Optional[float] = None
    history_first: Optional[float] = None
    history_lowest: Optional[float] = None

    @property
    def relative_loss(self) -> float:
        """The loss over ``baseline_loss``."""
        if self.baseline_loss > 0:
            return self.loss / self.baseline_loss
        return 0.0 if self.loss == 0 else math.inf

    @property
    def codes(self) -> list[str]:
        """The hints' codes."""
        return [h.code for h in self.hints]

    def __str__(self) -> str:
        lines = [f"loss ({self.loss_name}) {self.loss:.6g} on {self.rows} rows; predicting the "
                 f"targets' mean would give {self.baseline_loss:.6g}"]
        if self.iterations is not None:
            tail = self.tail_change or 0.0
            lines.append(f"history: {self.iterations} iterations at lr {self.lr:g}, loss "
                         f"{self.history_first:.6g} at first, lowest {self.history_lowest:.6g}; "
                         f"it went up in {self.rising_fraction or 0:.0%} of the steps and "
                         f"{'fell' if tail >= 0 else 'rose'} {100 * abs(tail):.3g}% over the "
                         f"last {TAIL:.0%}")

        def cell(value: Optional[float], fmt: str) -> str:
            return "-" if value is None else format(value, fmt)

        header = ["layer", "activation", "units", "dead", "saturated", "|W|", "|dW|/|W|",
                  "step/|W|"]
        rows = [[str(r.index), r.activation, str(r.units), cell(r.dead_fraction, ".0%"),
                 cell(r.saturated_fraction, ".0%"), f"{r.weight_norm:.4g}",
                 f"{r.gradient_ratio:.3g}", cell(r.step_ratio, ".3g")] for r in self.layers]
        widths = [max(len(x[i]) for x in [header] + rows) for i in range(len(header))]
        for row in [header] + rows:
            lines.append("  " + "  ".join(c.rjust(w) for c, w in zip(row, widths)))
        if self.hints:
            lines.append("hints:")
            lines.extend(f"  {h}" for h in self.hints)
        else:
            lines.append("no problems found")
        return "\n".join(lines)


def _step_ratio(history: Optional["History"], ratio: float, count: int,
                w_norm: float) -> Optional[float]:
    """How far the next update moves a layer's weights, relative to their norm.

    Gradient descent moves them by lr * |dW| (lr / (1 - momentum) * |dW| once
    momentum has built up); Adam and AdamW move each weight by about lr
    whatever the gradient, lr * sqrt(count) in all. Rprop's steps adapt
    during training, so there is no telling (None), nor without a history.
    """
    if history is None:
        return None
    opt = history.optimizer
    name = "sgd" if opt is None else opt.name
    if name == "sgd":
        momentum = float(getattr(opt, "momentum", 0.0))
        return history.lr / (1 - momentum) * ratio
    if name in ("adam", "adamw"):
        return history.lr * math.sqrt(count) / w_norm
    return None


def _layer_reports(net: "Network", x: np.ndarray, t: np.ndarray,
                   history: Optional["History"]) -> list[LayerReport]:
    trace = net.forward_trace(x)
    dW, _ = net.gradients(x, t)
    reports = []
    for l, ((z, _), W, g, name) in enumerate(zip(trace, net.weights, dW, net.activations)):
        z64 = z.astype(np.float64)
        dead = float(np.mean(np.all(z64 <= 0, axis=0))) if name in RELU_LIKE else None
        saturated = None
        if name in SATURATION_Z:
            beyond = np.mean(np.abs(z64) > SATURATION_Z[name], axis=0)
            saturated = float(np.mean(beyond > SATURATED_ROWS))
        w_norm = float(np.linalg.norm(W.astype(np.float64)))
        g_norm = float(np.linalg.norm(g.astype(np.float64)))
        scale = max(w_norm, WEIGHT_NORM_FLOOR)
        reports.append(LayerReport(l, name, int(z.shape[1]), dead, saturated, w_norm, g_norm,
                                   g_norm / scale, _step_ratio(history, g_norm / scale, W.size,
                                                               scale)))
    return reports


def _history_series(history: "History") -> np.ndarray:
    """The losses of a history: per epoch when it trained on mini-batches (a
    mini-batch's loss goes up and down with the batch, not with the lr)."""
    losses = np.asarray(history.loss, dtype=np.float64)
    per_epoch = np.asarray(history.epoch_loss, dtype=np.float64)
    if history.iterations_per_epoch > 1 and per_epoch.size >= 3:
        losses = per_epoch
    return losses[np.isfinite(losses)]


def diagnose(net: "Network", X: Any, y: Any, history: Optional["History"] = None) -> Diagnosis:
    """Measure every layer of ``net`` on (X, y) and turn the numbers into hints.

    See ``Network.diagnose``.
    """
    from .network import History

    net = _network(net, "diagnose")
    if history is not None and not isinstance(history, History):
        raise TypeError(f"history: expected a plainnet.History (what fit returns) or None, got "
                        f"{type(history).__name__}")
    x, t = net._xy(X, y)
    loss_name = net.loss_name
    lr = None if history is None else float(history.lr)
    report = Diagnosis(layers=_layer_reports(net, x, t, history), loss=net.loss(x, t),
                       loss_name=loss_name, baseline_loss=_baseline_loss(loss_name, t),
                       rows=int(x.shape[0]))
    series = _history_series(history) if history is not None else np.empty(0)
    if history is not None and series.size >= 3:
        steps = np.diff(series)
        report.iterations = history.iterations
        report.lr = lr
        report.rising_fraction = float(np.mean(steps > RISE * np.abs(series[:-1])))
        start = series[min(int((1 - TAIL) * series.size), series.size - 2)]
        report.tail_change = float((start - series[-1]) / start) if start > 0 else 0.0
        report.history_first = float(series[0])
        report.history_lowest = float(series.min())
    report.hints = _hints(net, report, series)
    return report


def _hints(net: "Network", r: Diagnosis, series: np.ndarray) -> list[Hint]:
    """The rules, in order. "High loss": above HIGH_LOSS of the baseline.

    dead_units          a relu-like layer has >= DEAD_ALARM of its units dead.
    saturated_units     high loss, and a sigmoid/tanh layer (the output layer
                        counts too) has >= SATURATED_ALARM of its units saturated.
    lr_too_high         high loss, and the loss rose in >= RISING of the steps or
                        ends at >= 2x its lowest; without a history: saturated units.
    Then, while the loss is high and neither of these (nor dead units) explains it:
    too_few_units       the gradient is flat (every |dW|/|W| < FLAT), the loss has
                        stopped (fell < PLATEAU over the last TAIL), and the narrowest
                        hidden layer is no wider than the input (or there is none);
    stuck               the same with wider hidden layers;
    lr_too_low          the loss falls steadily (rose in < RISING/10 of the steps, fell
                        over the last TAIL) and the gradient is not flat, but every
                        update moves the weights by < TINY_STEP of their norm;
    not_converged       otherwise.
    vanishing_gradient  (3+ layers) the first layer's |dW|/|W| is < VANISHING times
                        the last one's.
    """
    hints: list[Hint] = []
    layers = r.layers
    high = r.loss > 1e-12 and r.relative_loss > HIGH_LOSS
    how_high = (f"the loss {r.loss:.4g} is {r.relative_loss:.0%} of what predicting the "
                f"targets' mean gives ({r.baseline_loss:.4g})")
    largest = max(x.gradient_ratio for x in layers)
    flat = largest < FLAT
    seen = r.rising_fraction is not None

    dead = [x for x in layers if x.dead_fraction is not None and x.dead_fraction >= DEAD_ALARM]
    if dead:
        which = ", ".join(f"layer {x.index}: {x.dead_fraction:.0%} of {x.units}" for x in dead)
        hints.append(Hint("dead_units", (
            f"dead units ({which}): their weighted sum is <= 0 for every row, so they output "
            f"a constant and their weights get (almost) no gradient. Usual causes: a large "
            f"negative bias or a learning rate that pushed them there; try a smaller lr, "
            f"init='he', or leaky_relu.")))

    # the output layer saturated is only a problem while its answers are wrong
    saturated = [x for x in layers if x.saturated_fraction is not None
                 and x.saturated_fraction >= SATURATED_ALARM
                 and (x.index < len(layers) - 1 or high)]
    if saturated and high:
        which = ", ".join(f"layer {x.index}: {x.saturated_fraction:.0%} of {x.units}"
                          for x in saturated)
        hints.append(Hint("saturated_units", (
            f"saturated units ({which}): for most rows their slope is below "
            f"{SLOPE_FRACTION:.0%} of its largest, so little gradient flows through them, and "
            f"{how_high}. Their weighted sums are large: the weights grew too big (a "
            f"learning rate too high) or started too big (init_scale).")))

    oscillating = seen and high and (r.rising_fraction or 0) >= RISING
    rebounded = (seen and high and r.history_lowest is not None
                 and series[-1] >= 2 * r.history_lowest)
    too_high = oscillating or rebounded or bool(not seen and saturated and high)
    if too_high:
        if oscillating or rebounded:
            why = (f"the loss went up in {r.rising_fraction:.0%} of the steps and ends at "
                   f"{series[-1]:.4g}, its lowest was {r.history_lowest:.4g}")
        else:
            why = "units are saturated while the loss is high (pass the History to be sure)"
        hints.append(Hint("lr_too_high", (
            f"learning rate too high: {why}. Each update overshoots the minimum it aims at; "
            f"try an lr 10 times smaller.")))

    plateaued = not seen or (r.tail_change or 0) < PLATEAU
    if high and not too_high and not dead:
        known_steps = all(x.step_ratio is not None for x in layers)
        step = max(x.step_ratio or 0.0 for x in layers)
        still_falling = (r.rising_fraction or 0) < RISING / 10 and (r.tail_change or 0) > 0
        hidden = net.layers[1:-1]
        if flat and plateaued and (not hidden or min(hidden) <= net.layers[0]):
            width = (f"the narrowest hidden layer has {min(hidden)} units, no more than the "
                     f"{net.layers[0]} inputs" if hidden else "the network has no hidden layer")
            hints.append(Hint("too_few_units", (
                f"too few units: {how_high} and training has stopped there (every |dW|/|W| "
                f"is below {FLAT:g}); {width}. A wider hidden layer can represent more; "
                f"with few units gradient descent also gets stuck more often.")))
        elif flat and plateaued:
            hints.append(Hint("stuck", (
                f"stuck: {how_high} and the gradient is flat (every |dW|/|W| is below "
                f"{FLAT:g}): a plateau or a poor local minimum. Try another seed or init, "
                f"or more units.")))
        elif seen and known_steps and still_falling and step < TINY_STEP and not flat:
            hints.append(Hint("lr_too_low", (
                f"learning rate too low: {how_high}, and it is still falling steadily "
                f"({100 * (r.tail_change or 0):.2g}% over the last {TAIL:.0%} of "
                f"training) while each update moves the weights by at most {step:.2g} of "
                f"their size (lr {r.lr:g}; |dW|/|W| is up to {largest:.2g}): the gradient is "
                f"not small, the steps are. Raise the lr (10 to 1000 times) or train much "
                f"longer.")))
        else:
            more = ("" if seen else ", or pass the History that fit returned to check the "
                    "learning rate")
            hints.append(Hint("not_converged", (
                f"not converged: {how_high} and still changing (|dW|/|W| up to "
                f"{largest:.2g}): training has not finished. Train longer{more}.")))

    if len(layers) >= 3:
        first, last = layers[0].gradient_ratio, layers[-1].gradient_ratio
        if last > 0 and first < VANISHING * last:
            ratios = ", ".join(f"{x.gradient_ratio:.2g}" for x in layers)
            hints.append(Hint("vanishing_gradient", (
                f"vanishing gradient: |dW|/|W| falls from {last:.2g} at the last layer to "
                f"{first:.2g} at the first ({ratios} by layer), so the first layers barely "
                f"learn. Each {'/'.join(sorted(set(net.activations[:-1])))} layer multiplies "
                f"the gradient by its slope; try relu-like activations, init='xavier' or "
                f"'he', or fewer layers.")))
    return hints


# ---------------------------------------------------------------- a fit that failed

# A cross-entropy fit is at chance when its last epoch's training accuracy is
# within this fraction of the way from chance (1 / classes) to 1: 11.8 % with
# 10 classes, 51 % with 2.
CHANCE_MARGIN = 0.02
# Fits of fewer epochs are not judged: after one or two epochs a network that
# is learning well can still be at chance, and a mini-batch loss still noisy.
FAILURE_MIN_EPOCHS = 5


def _failure(net: "Network", history: "History") -> Optional[str]:
    """Why the fit of ``history`` failed, or None when it did not.

    Failed: over FAILURE_MIN_EPOCHS epochs or more, the last epoch's training
    loss is no lower than the first's, or (cross_entropy) the last epoch's
    training accuracy is at chance. Comparisons of numbers the history holds.
    """
    losses = history.epoch_loss
    if losses.size < FAILURE_MIN_EPOCHS:
        return None
    first, last = float(losses[0]), float(losses[-1])
    if not last < first:
        return f"the loss did not decrease ({first:.4g} in the first epoch, {last:.4g} in the last)"
    classes = net._sizes[-1]
    if net._loss == "cross_entropy" and classes >= 2 and history.accuracy is not None:
        chance = 1.0 / classes
        accuracy = float(history.accuracy[-1])
        if accuracy <= chance + CHANCE_MARGIN * (1.0 - chance):
            return (f"the training accuracy is at chance ({accuracy:.1%} in the last epoch, "
                    f"with {classes} classes)")
    return None


def failure_message(net: "Network", x: np.ndarray, t: np.ndarray, history: "History",
                    why: str) -> str:
    """The warning of a failed fit: why, diagnose()'s findings and what to try, in one sentence."""
    try:
        report = diagnose(net, x, t, history)
    except Exception as exc:  # the warning must not turn into an error of its own
        return f"fit: {why} (diagnose() could not run: {exc})"
    codes = report.codes
    name = "sgd" if history.optimizer is None else history.optimizer.name
    findings = []
    for code in codes:
        if code == "dead_units":
            worst = max(x.dead_fraction or 0.0 for x in report.layers)
            findings.append(f"{100 * worst:.0f} % dead units")
        elif code == "saturated_units":
            worst = max(x.saturated_fraction or 0.0 for x in report.layers)
            findings.append(f"{100 * worst:.0f} % saturated units")
        else:
            findings.append(code)
    lr = f"lr {history.lr!r}"
    too_high = "lr_too_high" in codes or (name == "sgd" and ("dead_units" in codes
                                                              or "saturated_units" in codes))
    if too_high:
        cause = f": {lr} is too high for this network"
        advice = ("try optimizer='adam'" if name == "sgd"
                  else f"try an lr 10 times smaller than {history.lr!r}")
    elif "lr_too_low" in codes:
        cause, advice = f": {lr} is too low", "try a larger lr or more epochs"
    elif "too_few_units" in codes or "stuck" in codes:
        cause, advice = "", "try another seed, init='he' or 'xavier', or more units"
    elif "dead_units" in codes:
        cause, advice = "", "try a smaller lr, init='he' or leaky_relu"
    else:
        cause, advice = "", "try more epochs or another lr"
    found = ", ".join(findings) if findings else "no further findings"
    return f"fit: {why}{cause} (diagnose(): {found}); {advice}"


# Set (per thread) while the scikit-learn estimators train: they report as
# scikit-learn's do, with ConvergenceWarning.
_unreported = threading.local()


@contextlib.contextmanager
def failures_unreported() -> Iterator[None]:
    """Within it, this thread's fits do not warn when they fail."""
    depth = getattr(_unreported, "depth", 0)
    _unreported.depth = depth + 1
    try:
        yield
    finally:
        _unreported.depth = depth


def warn_if_failed(net: "Network", x: np.ndarray, t: np.ndarray, history: "History") -> None:
    """Emit one RuntimeWarning when the fit that made ``history`` failed (see ``_failure``).

    A fit that went well costs two comparisons; diagnose() runs only on failure.
    """
    why = _failure(net, history)
    if why is not None and not getattr(_unreported, "depth", 0):
        warnings.warn(failure_message(net, x, t, history, why), RuntimeWarning, stacklevel=3)
