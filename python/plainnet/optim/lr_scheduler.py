"""Learning-rate schedules: ``torch.optim.lr_scheduler``'s, run inside ``fit``.

A schedule changes the optimizer's learning rate as training goes. Pass one
to ``fit`` beside the optimizer; it is stepped inside the training loop (the
native core, or its NumPy twin), after every epoch, or before every update
for ``OneCycleLR``, with torch's formulas and defaults:

    >>> import plainnet as pn
    >>> from plainnet.optim.lr_scheduler import StepLR
    >>> X, y = pn.datasets.xor()
    >>> net = pn.Network([2, 4, 1], seed=42)
    >>> h = net.fit(X, y, optimizer=pn.optim.SGD(lr=0.5), scheduler=StepLR(step_size=100),
    ...             epochs=250)
    >>> net.optimizer.scheduler.get_last_lr()
    [0.005000000000000001]

Unlike torch's, a schedule is made without its optimizer: it starts from the
optimizer's ``lr`` at its first ``fit`` (torch's ``initial_lr``) and then
belongs to that optimizer (``optimizer.scheduler``), which carries it, with
its state, into the next ``fit``, ``Network.save`` and pickles. So a fit
split in two, or saved and loaded in between, runs the schedule as one fit
does. The optimizer's own ``lr`` stays the rate the schedule started from;
the schedule holds the current one (``get_last_lr()``).

``InvScalingLR`` and ``AdaptiveLR`` are scikit-learn's MLP rates
(``learning_rate="invscaling"`` and ``"adaptive"``), which the estimators of
``plainnet.sklearn`` use.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar, Optional, Sequence

import numpy as np

from .. import _checks as check
from .. import reference

# The largest step count a schedule keeps (its state is float64, exact up to 2**53).
MAX_LAST_EPOCH = 2**53


def _no_optimizer(value: Any, cls: str, arg: str) -> None:
    """torch's habit of passing the optimizer first, answered clearly."""
    if type(value).__module__.startswith(("plainnet.optim", "torch.optim")) and hasattr(
            value, "lr" if type(value).__module__.startswith("plainnet") else "param_groups"):
        raise TypeError(f"{arg}: {cls} is made without its optimizer; pass both to fit: "
                        f"net.fit(X, y, optimizer=..., scheduler={cls}(...))")


def _positive(value: Any, name: str) -> float:
    number = check.real(value, name)
    if not math.isfinite(number) or number <= 0:
        raise ValueError(f"{name}: expected a finite number > 0, got {number!r}")
    return number


def _nonnegative(value: Any, name: str) -> float:
    number = check.real(value, name)
    if not math.isfinite(number) or number < 0:
        raise ValueError(f"{name}: expected a finite number >= 0, got {number!r}")
    return number


def _fraction(value: Any, name: str) -> float:
    number = check.real(value, name)
    if not 0.0 <= number < 1.0:
        raise ValueError(f"{name}: expected a number in [0, 1), got {number!r}")
    return number


def _flag(value: Any, name: str) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name}: expected a bool, got {type(value).__name__} {value!r}")
    return bool(value)


def _count(value: Any, name: str, minimum: int) -> int:
    return check.integer(value, name, minimum=minimum, maximum=MAX_LAST_EPOCH)


class LRScheduler:
    """A learning-rate schedule and its state: the base of the schedules.

    Attributes
    ----------
    state : numpy.ndarray or None
        None until the first ``fit``; then float64 numbers the training loop
        updates: the step count (torch's ``last_epoch``), the rate and
        momentum of the next update, and ``ReduceLROnPlateau``'s best value,
        bad epochs and cooldown epochs left.
    base_lr : float or None
        The optimizer's rate when the schedule started (torch's ``base_lrs[0]``).
    """

    name: ClassVar[str]  # the core's name of the schedule (cpp/network.h)
    per_update: ClassVar[bool] = False  # stepped before every update, not after every epoch

    def __init__(self) -> None:
        self.state: Optional[np.ndarray] = None
        self.base_lr: Optional[float] = None

    @property
    def last_epoch(self) -> int:
        """The steps taken (torch's ``last_epoch``).

        Epochs, or updates for ``OneCycleLR``; -1 before the first ``fit``.
        """
        return -1 if self.state is None else int(self.state[reference.LAST_EPOCH])

    def get_last_lr(self) -> list[float]:
        """Give the rate of the next update, as torch's ``get_last_lr()`` (one group).

        Returns
        -------
        list of float
            ``[lr]``; empty before the first ``fit``.
        """
        return [] if self.state is None else [float(self.state[reference.RATE])]

    def settings(self) -> dict[str, Any]:
        """Give the constructor's arguments, by name.

        Returns
        -------
        dict
            ``{name: value}``, enough to make an equal schedule without state.
        """
        raise NotImplementedError

    def _core_settings(self) -> dict[str, Any]:
        """The settings as the core names them (cpp/network.h's struct Schedule)."""
        raise NotImplementedError

    def _first_rate(self, lr: float) -> tuple[float, float]:
        """(rate, momentum) after torch's initial step, from the optimizer's rate."""
        return lr, 0.0

    def _for_fit(self, lr: float) -> tuple[dict[str, Any], np.ndarray, float]:
        """(the core's dict, the state to train with, the base rate): a copy of the
        state, or, at the schedule's first fit, its start from the optimizer's
        rate ``lr``. The schedule itself is not changed."""
        if self.state is None or self.base_lr is None:
            first, momentum = self._first_rate(lr)
            base, state = lr, np.array([0.0, first, momentum, self._worst(), 0.0, 0.0])
        else:
            base, state = self.base_lr, self.state.copy()
        return {"name": self.name, "base_lr": base, **self._core_settings()}, state, base

    def _worst(self) -> float:
        return 0.0

    def copy(self) -> "LRScheduler":
        """Make an independent schedule with the same settings and a copy of the state.

        Returns
        -------
        LRScheduler
            A schedule of the same class, whose state is its own.
        """
        other = type(self)(**self.settings())
        other.base_lr = self.base_lr
        other.state = None if self.state is None else self.state.copy()
        return other

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.settings().items())
        return f"{type(self).__name__}({args}; last_epoch={self.last_epoch})"

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        assert isinstance(other, LRScheduler)
        same_state = (self.state is None) == (other.state is None) and (
            self.state is None or other.state is None
            or np.array_equal(self.state, other.state, equal_nan=True))
        return (self.settings() == other.settings() and self.base_lr == other.base_lr
                and same_state)

    __hash__ = None  # type: ignore[assignment]  # mutable


class StepLR(LRScheduler):
    """Multiply the rate by ``gamma`` every ``step_size`` epochs: ``torch.optim.lr_scheduler.StepLR``.

    Parameters
    ----------
    step_size : int
        The epochs between two decays, >= 1.
    gamma : float, default=0.1
        The factor, > 0.

    Examples
    --------
    >>> from plainnet.optim.lr_scheduler import StepLR
    >>> StepLR(step_size=30)
    StepLR(step_size=30, gamma=0.1; last_epoch=-1)
    """

    name = "step"

    def __init__(self, step_size: int, gamma: float = 0.1) -> None:
        _no_optimizer(step_size, "StepLR", "step_size")
        super().__init__()
        self.step_size = _count(step_size, "step_size", 1)
        self.gamma = _positive(gamma, "gamma")

    def settings(self) -> dict[str, Any]:
        return {"step_size": self.step_size, "gamma": self.gamma}

    def _core_settings(self) -> dict[str, Any]:
        return self.settings()


class MultiStepLR(LRScheduler):
    """Multiply the rate by ``gamma`` at each milestone epoch: ``torch.optim.lr_scheduler.MultiStepLR``.

    Parameters
    ----------
    milestones : sequence of int
        Epochs (>= 0) after which the rate decays; one given twice decays twice.
    gamma : float, default=0.1
        The factor, > 0.

    Examples
    --------
    >>> from plainnet.optim.lr_scheduler import MultiStepLR
    >>> MultiStepLR(milestones=[30, 80])
    MultiStepLR(milestones=[30, 80], gamma=0.1; last_epoch=-1)
    """

    name = "multi_step"
    MAX_MILESTONES = 10_000

    def __init__(self, milestones: Sequence[int], gamma: float = 0.1) -> None:
        _no_optimizer(milestones, "MultiStepLR", "milestones")
        super().__init__()
        if isinstance(milestones, (str, bytes)) or not hasattr(milestones, "__len__"):
            raise TypeError(f"milestones: expected a list of ints, got "
                            f"{type(milestones).__name__} {milestones!r:.60}")
        if len(milestones) > self.MAX_MILESTONES:
            raise ValueError(f"milestones: expected at most {self.MAX_MILESTONES}, got "
                             f"{len(milestones)}")
        self.milestones = sorted(_count(m, f"milestones[{i}]", 0)
                                 for i, m in enumerate(milestones))
        self.gamma = _positive(gamma, "gamma")

    def settings(self) -> dict[str, Any]:
        return {"milestones": list(self.milestones), "gamma": self.gamma}

    def _core_settings(self) -> dict[str, Any]:
        return self.settings()

    def _first_rate(self, lr: float) -> tuple[float, float]:
        n = self.milestones.count(0)  # torch's initial step decays at a milestone 0
        return (lr * self.gamma ** float(n) if n else lr), 0.0


class ExponentialLR(LRScheduler):
    """Multiply the rate by ``gamma`` every epoch: ``torch.optim.lr_scheduler.ExponentialLR``.

    Parameters
    ----------
    gamma : float
        The factor, > 0.

    Examples
    --------
    >>> from plainnet.optim.lr_scheduler import ExponentialLR
    >>> ExponentialLR(gamma=0.9)
    ExponentialLR(gamma=0.9; last_epoch=-1)
    """

    name = "exponential"

    def __init__(self, gamma: float) -> None:
        _no_optimizer(gamma, "ExponentialLR", "gamma")
        super().__init__()
        self.gamma = _positive(gamma, "gamma")

    def settings(self) -> dict[str, Any]:
        return {"gamma": self.gamma}

    def _core_settings(self) -> dict[str, Any]:
        return self.settings()


class CosineAnnealingLR(LRScheduler):
    """Anneal the rate along a cosine to ``eta_min`` over ``T_max`` epochs, and back up.

    This is ``torch.optim.lr_scheduler.CosineAnnealingLR``, with the recursive form its
    ``step()`` uses, so that the rates match torch's to the last bit.

    Parameters
    ----------
    T_max : int
        Epochs of half a period, >= 1.
    eta_min : float, default=0.0
        The least rate, >= 0.

    Examples
    --------
    >>> from plainnet.optim.lr_scheduler import CosineAnnealingLR
    >>> CosineAnnealingLR(T_max=50)
    CosineAnnealingLR(T_max=50, eta_min=0.0; last_epoch=-1)
    """

    name = "cosine"

    def __init__(self, T_max: int, eta_min: float = 0.0) -> None:  # noqa: N803 (torch's name)
        _no_optimizer(T_max, "CosineAnnealingLR", "T_max")
        super().__init__()
        self.T_max = _count(T_max, "T_max", 1)
        self.eta_min = _nonnegative(eta_min, "eta_min")

    def settings(self) -> dict[str, Any]:
        return {"T_max": self.T_max, "eta_min": self.eta_min}

    def _core_settings(self) -> dict[str, Any]:
        return {"t_max": self.T_max, "eta_min": self.eta_min}


class OneCycleLR(LRScheduler):
    """The 1cycle policy, stepped before every update: ``torch.optim.lr_scheduler.OneCycleLR``.

    The rate rises from ``max_lr / div_factor`` to ``max_lr`` over the first
    ``pct_start`` of ``total_steps`` updates, then falls to
    ``max_lr / div_factor / final_div_factor``; with ``cycle_momentum`` the
    momentum (SGD's ``momentum``, Adam's ``betas[0]``) moves the other way
    between ``max_momentum`` and ``base_momentum``. A fit that would go past
    ``total_steps`` updates is refused, as torch refuses the step.

    Parameters
    ----------
    max_lr : float
        The highest rate, > 0.
    total_steps : int or None, default=None
        The updates of the cycle; or give ``epochs`` and ``steps_per_epoch``.
    epochs, steps_per_epoch : int or None, default=None
        ``total_steps = epochs * steps_per_epoch``.
    pct_start : float, default=0.3
        The part of the cycle spent raising the rate, in [0, 1].
    anneal_strategy : {"cos", "linear"}, default="cos"
    cycle_momentum : bool, default=True
        Cycle the momentum too (not with ``Rprop``, which has none).
    base_momentum, max_momentum : float, default=0.85, 0.95
        The momentum's range, each in [0, 1).
    div_factor : float, default=25.0
        ``max_lr / div_factor`` is the first rate.
    final_div_factor : float, default=1e4
        The last rate is the first one divided by this.
    three_phase : bool, default=False
        Fall back to the first rate before annihilating it, as torch's option.

    Examples
    --------
    >>> from plainnet.optim.lr_scheduler import OneCycleLR
    >>> OneCycleLR(max_lr=0.1, epochs=10, steps_per_epoch=4).total_steps
    40
    """

    name = "one_cycle"
    per_update = True

    def __init__(self, max_lr: float, total_steps: Optional[int] = None,
                 epochs: Optional[int] = None, steps_per_epoch: Optional[int] = None,
                 pct_start: float = 0.3, anneal_strategy: str = "cos",
                 cycle_momentum: bool = True, base_momentum: float = 0.85,
                 max_momentum: float = 0.95, div_factor: float = 25.0,
                 final_div_factor: float = 1e4, three_phase: bool = False) -> None:
        _no_optimizer(max_lr, "OneCycleLR", "max_lr")
        super().__init__()
        self.max_lr = _positive(max_lr, "max_lr")
        if total_steps is not None:
            self.total_steps = _count(total_steps, "total_steps", 1)
        elif epochs is not None and steps_per_epoch is not None:
            n_epochs = _count(epochs, "epochs", 1)
            per_epoch = _count(steps_per_epoch, "steps_per_epoch", 1)
            if n_epochs * per_epoch > MAX_LAST_EPOCH:
                raise ValueError(f"epochs: epochs * steps_per_epoch must be at most "
                                 f"{MAX_LAST_EPOCH}, got {n_epochs * per_epoch}")
            self.total_steps = n_epochs * per_epoch
        else:
            raise ValueError("total_steps: give total_steps, or epochs and steps_per_epoch")
        self.pct_start = check.real(pct_start, "pct_start")
        if not 0.0 <= self.pct_start <= 1.0:
            raise ValueError(f"pct_start: expected a number in [0, 1], got {self.pct_start!r}")
        self.anneal_strategy = check.choice(anneal_strategy, "anneal_strategy", ("cos", "linear"))
        self.cycle_momentum = _flag(cycle_momentum, "cycle_momentum")
        self.base_momentum = _fraction(base_momentum, "base_momentum")
        self.max_momentum = _fraction(max_momentum, "max_momentum")
        self.div_factor = _positive(div_factor, "div_factor")
        self.final_div_factor = _positive(final_div_factor, "final_div_factor")
        self.three_phase = _flag(three_phase, "three_phase")
        # Every phase must span some steps: torch divides by its length.
        total = float(self.total_steps)
        ends = [self.pct_start * total - 1] + (
            [2 * self.pct_start * total - 2, total - 1] if self.three_phase else [total - 1])
        starts = [0.0] + ends[:-1]
        if any(end - start == 0 for start, end in zip(starts, ends)):
            raise ValueError(f"pct_start: {self.pct_start!r} leaves a phase of the cycle without "
                             f"steps for total_steps={self.total_steps}; choose pct_start so that "
                             f"pct_start * total_steps is neither 1 nor total_steps")

    def settings(self) -> dict[str, Any]:
        return {"max_lr": self.max_lr, "total_steps": self.total_steps,
                "pct_start": self.pct_start, "anneal_strategy": self.anneal_strategy,
                "cycle_momentum": self.cycle_momentum, "base_momentum": self.base_momentum,
                "max_momentum": self.max_momentum, "div_factor": self.div_factor,
                "final_div_factor": self.final_div_factor, "three_phase": self.three_phase}

    def _core_settings(self) -> dict[str, Any]:
        initial = self.max_lr / self.div_factor
        return {"max_lr": self.max_lr, "initial_lr": initial,
                "min_lr": initial / self.final_div_factor, "total_steps": self.total_steps,
                "pct_start": self.pct_start, "anneal_cos": self.anneal_strategy == "cos",
                "cycle_momentum": self.cycle_momentum, "base_momentum": self.base_momentum,
                "max_momentum": self.max_momentum, "three_phase": self.three_phase}

    def _first_rate(self, lr: float) -> tuple[float, float]:
        return reference.one_cycle_at({"name": self.name, **self._core_settings()}, 0)


class ReduceLROnPlateau(LRScheduler):
    """Cut the rate when the monitored quantity stops improving.

    This is ``torch.optim.lr_scheduler.ReduceLROnPlateau``.

    It watches what ``fit`` monitors (``monitor``): the validation loss when
    there is validation data, else the epoch's training loss; for
    ``monitor="val_accuracy"`` pass ``mode="max"``.

    Parameters
    ----------
    mode : {"min", "max"}, default="min"
        Whether lower or higher is better.
    factor : float, default=0.1
        The rate is multiplied by this, in [0, 1).
    patience : int, default=10
        Epochs without improvement tolerated before the rate is cut.
    threshold : float, default=1e-4
        What counts as an improvement, relative or absolute (``threshold_mode``).
    threshold_mode : {"rel", "abs"}, default="rel"
    cooldown : int, default=0
        Epochs to wait after a cut before counting bad epochs again.
    min_lr : float, default=0.0
        The rate is never cut below this.
    eps : float, default=1e-8
        A cut smaller than this is not made.

    Examples
    --------
    >>> from plainnet.optim.lr_scheduler import ReduceLROnPlateau
    >>> ReduceLROnPlateau(patience=5)  # doctest: +NORMALIZE_WHITESPACE
    ReduceLROnPlateau(mode='min', factor=0.1, patience=5, threshold=0.0001,
                      threshold_mode='rel', cooldown=0, min_lr=0.0, eps=1e-08; last_epoch=-1)
    """

    name = "plateau"

    def __init__(self, mode: str = "min", factor: float = 0.1, patience: int = 10,
                 threshold: float = 1e-4, threshold_mode: str = "rel", cooldown: int = 0,
                 min_lr: float = 0.0, eps: float = 1e-8) -> None:
        _no_optimizer(mode, "ReduceLROnPlateau", "mode")
        super().__init__()
        self.mode = check.choice(mode, "mode", ("min", "max"))
        self.factor = _fraction(factor, "factor")
        self.patience = _count(patience, "patience", 0)
        self.threshold = _nonnegative(threshold, "threshold")
        self.threshold_mode = check.choice(threshold_mode, "threshold_mode", ("rel", "abs"))
        self.cooldown = _count(cooldown, "cooldown", 0)
        self.min_lr = _nonnegative(min_lr, "min_lr")
        self.eps = _nonnegative(eps, "eps")

    def settings(self) -> dict[str, Any]:
        return {"mode": self.mode, "factor": self.factor, "patience": self.patience,
                "threshold": self.threshold, "threshold_mode": self.threshold_mode,
                "cooldown": self.cooldown, "min_lr": self.min_lr, "eps": self.eps}

    def _core_settings(self) -> dict[str, Any]:
        return {"mode_max": self.mode == "max", "factor": self.factor,
                "patience": self.patience, "threshold": self.threshold,
                "threshold_rel": self.threshold_mode == "rel", "cooldown": self.cooldown,
                "min_lr": self.min_lr, "eps": self.eps}

    def _worst(self) -> float:
        return math.inf if self.mode == "min" else -math.inf


class InvScalingLR(LRScheduler):
    """Scikit-learn's ``learning_rate="invscaling"``, an inverse power of the rows seen.

    After every epoch ``lr = base_lr / (t + 1) ** power_t``, where t counts the rows trained on so
    far (scikit-learn's ``t_``; this schedule's ``last_epoch``). With
    ``sample_weight`` a row counts as its weight, so that weights of 2 train
    as repeated rows do (scikit-learn counts rows).

    Parameters
    ----------
    power_t : float, default=0.5
        The exponent, >= 0.

    Examples
    --------
    >>> from plainnet.optim.lr_scheduler import InvScalingLR
    >>> InvScalingLR()
    InvScalingLR(power_t=0.5; last_epoch=-1)
    """

    name = "inv_scaling"

    def __init__(self, power_t: float = 0.5) -> None:
        _no_optimizer(power_t, "InvScalingLR", "power_t")
        super().__init__()
        self.power_t = _nonnegative(power_t, "power_t")

    def settings(self) -> dict[str, Any]:
        return {"power_t": self.power_t}

    def _core_settings(self) -> dict[str, Any]:
        return self.settings()


class AdaptiveLR(LRScheduler):
    """Scikit-learn's ``learning_rate="adaptive"``: divide the rate by 5 on a plateau.

    The rate is divided by 5 when
    more than ``n_iter_no_change`` epochs in a row fail to improve on the best
    monitored value by ``tol``, and end the fit when that happens with the rate
    already at most ``stop_lr`` (scikit-learn's 1e-6).

    The monitored value is fit's ``monitor``, as for ``ReduceLROnPlateau``;
    the best moves on any improvement, as scikit-learn's does.

    Parameters
    ----------
    tol : float, default=1e-4
        The least improvement that counts, >= 0.
    n_iter_no_change : int, default=10
        Epochs without one tolerated, >= 0.
    mode : {"min", "max"}, default="min"
        Whether lower or higher is better.
    stop_lr : float, default=1e-6
        The rate at or below which a plateau ends the fit.

    Examples
    --------
    >>> from plainnet.optim.lr_scheduler import AdaptiveLR
    >>> AdaptiveLR(n_iter_no_change=5)
    AdaptiveLR(tol=0.0001, n_iter_no_change=5, mode='min', stop_lr=1e-06; last_epoch=-1)
    """

    name = "adaptive"

    def __init__(self, tol: float = 1e-4, n_iter_no_change: int = 10, mode: str = "min",
                 stop_lr: float = 1e-6) -> None:
        _no_optimizer(tol, "AdaptiveLR", "tol")
        super().__init__()
        self.tol = _nonnegative(tol, "tol")
        self.n_iter_no_change = _count(n_iter_no_change, "n_iter_no_change", 0)
        self.mode = check.choice(mode, "mode", ("min", "max"))
        self.stop_lr = _nonnegative(stop_lr, "stop_lr")

    def settings(self) -> dict[str, Any]:
        return {"tol": self.tol, "n_iter_no_change": self.n_iter_no_change, "mode": self.mode,
                "stop_lr": self.stop_lr}

    def _core_settings(self) -> dict[str, Any]:
        return {"threshold": self.tol, "patience": self.n_iter_no_change,
                "mode_max": self.mode == "max", "stop_lr": self.stop_lr}

    def _worst(self) -> float:
        return math.inf if self.mode == "min" else -math.inf


CLASSES: dict[str, type[LRScheduler]] = {
    cls.__name__: cls for cls in (StepLR, MultiStepLR, ExponentialLR, CosineAnnealingLR,
                                  OneCycleLR, ReduceLROnPlateau, InvScalingLR, AdaptiveLR)}

# The keys of a saved schedule's state, in the order of its slots.
STATE_KEYS = ("last_epoch", "lr", "momentum", "best", "bad_epochs", "cooldown_left")


def to_saved(sched: LRScheduler) -> dict[str, Any]:
    """The record ``Network.save`` stores (JSON): class name, settings, state."""
    state: Optional[dict[str, Any]] = None
    if sched.state is not None:
        values = [float(v) for v in sched.state]
        state = dict(zip(STATE_KEYS, values))
        for key in ("last_epoch", "bad_epochs", "cooldown_left"):
            state[key] = int(state[key])
        if not math.isfinite(state["best"]):
            state["best"] = None  # not improved on yet: the worst value of its mode
        state["base_lr"] = sched.base_lr
    return {"name": type(sched).__name__, "settings": sched.settings(), "state": state}


def from_saved(name: str, settings: dict[str, Any],
               state: Optional[dict[str, Any]]) -> LRScheduler:
    """The schedule of a checked record (``plainnet._meta.check_scheduler``)."""
    sched = CLASSES[name](**settings)
    if state is not None:
        best = state["best"]
        sched.base_lr = float(state["base_lr"])
        sched.state = np.array([float(state["last_epoch"]), state["lr"], state["momentum"],
                                sched._worst() if best is None else best,
                                float(state["bad_epochs"]), float(state["cooldown_left"])])
    return sched


__all__ = ["LRScheduler", "StepLR", "MultiStepLR", "ExponentialLR", "CosineAnnealingLR",
           "OneCycleLR", "ReduceLROnPlateau", "InvScalingLR", "AdaptiveLR"]
