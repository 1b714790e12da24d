"""Optimizers: how ``Network.fit`` turns a gradient into an update.

Each class holds its settings and its state (momentum buffers, moment
estimates, step sizes, the number of updates made), so a second ``fit`` with
the same object continues where the first stopped, and ``Network.save``
stores it with the weights. The update rules are torch.optim's, with its
defaults, so a run can be checked against PyTorch step by step; they run
inside the native training loop (cpp/ops.h), with NumPy twins in
``plainnet.reference``.

    >>> import plainnet as pn
    >>> net = pn.Network([64, 128, 10], activation="relu",
    ...                  output_activation="softmax", loss="cross_entropy")
    >>> history = net.fit(X, y, optimizer=pn.optim.Adam(lr=1e-3),
    ...                   epochs=20, batch_size=32)            # doctest: +SKIP
    >>> history = net.fit(X, y, optimizer=net.optimizer, epochs=10,
    ...                   batch_size=32)  # continues          # doctest: +SKIP

Weight decay applies to every parameter, biases included, as torch does for
the parameters it is given. The learning rate ``lr`` is read at the start of
every ``fit``; set ``optimizer.lr`` between calls to change it (the core
takes it with every update, the place a schedule would plug in).
"""

from __future__ import annotations

import math
from typing import Any, ClassVar, Optional

import numpy as np

from .. import _checks as check
from .._layout import MAX_ELEMENTS, OPTIMIZERS


def _nonnegative(value: Any, name: str) -> float:
    number = check.real(value, name)
    if not math.isfinite(number) or number < 0:
        raise ValueError(f"{name}: expected a finite number >= 0, got {number!r}")
    return number


def _pair(value: Any, name: str) -> tuple[float, float]:
    if isinstance(value, (str, bytes)) or not hasattr(value, "__len__") or len(value) != 2:
        raise TypeError(f"{name}: expected a pair of numbers, got {type(value).__name__} "
                        f"{value!r}")
    return check.real(value[0], f"{name}[0]"), check.real(value[1], f"{name}[1]")


def _beta(value: float, name: str) -> float:
    if not 0.0 <= value < 1.0:
        raise ValueError(f"{name}: expected a number in [0, 1), got {value!r}")
    return value


class Optimizer:
    """An update rule, its settings and its state: the base of the optimizers.

    Parameters
    ----------
    lr : float
        The learning rate, > 0. It is read at the start of every ``fit``:
        set ``optimizer.lr`` between fits to change it.

    Attributes
    ----------
    steps : int
        The updates made so far.
    epochs : int
        The epochs trained; a ``fit`` that continues with this optimizer
        shuffles its mini-batches as epochs ``epochs``, ``epochs + 1``, ... of
        one long run.
    state : list of numpy.ndarray or None
        The rule's arrays (one number per parameter each), None until the
        first ``fit``.
    """

    name: ClassVar[str]  # the core's name for the rule (cpp/ops.h)
    slots: ClassVar[int]  # state arrays the rule keeps
    slot_names: ClassVar[tuple[str, ...]]  # what each holds, for messages
    nonnegative_slots: ClassVar[tuple[int, ...]] = ()  # the arrays that are never negative

    def __init__(self, lr: float) -> None:
        self.lr = lr
        self.steps = 0
        self.epochs = 0
        self.state: Optional[list[np.ndarray]] = None
        # The learning-rate schedule of the last fit, with its state (lr_scheduler).
        self.scheduler: Optional[lr_scheduler.LRScheduler] = None

    @property
    def lr(self) -> float:
        return self._lr

    @lr.setter
    def lr(self, value: float) -> None:
        self._lr = check.learning_rate_value(value)

    def settings(self) -> dict[str, Any]:
        """Give the constructor's arguments, by name.

        Returns
        -------
        dict
            ``{name: value}``, enough to make an equal optimizer without state.
        """
        raise NotImplementedError

    def _core_settings(self) -> dict[str, Any]:
        """The settings as the core names them (ops.h's struct Optimizer)."""
        raise NotImplementedError

    def _for_core(self) -> dict[str, Any]:
        return {"name": self.name, **self._core_settings()}

    def _state_for(self, num_params: int, dt: np.dtype) -> list[np.ndarray]:
        """The state arrays for a network of num_params parameters of dtype dt.

        Allocated (zero) on first use; an optimizer that already trained a
        network of another size or dtype is refused, since its state means
        nothing for this one.
        """
        if self.state is None:
            return [np.zeros(num_params, dtype=dt) for _ in range(self.slots)]
        have = self.state[0]
        if have.shape != (num_params,) or have.dtype != dt:
            raise ValueError(f"optimizer: its state belongs to a network of {have.shape[0]} "
                             f"{have.dtype} parameters, this one has {num_params} {dt}; pass a "
                             f"new {type(self).__name__}(...) to train this network")
        return self.state

    def copy(self) -> "Optimizer":
        """Make an independent optimizer with the same settings and a copy of the state.

        Returns
        -------
        Optimizer
            An optimizer of the same class, whose state is its own.

        Examples
        --------
        >>> import plainnet as pn
        >>> pn.optim.Adam(lr=0.01).copy()
        Adam(lr=0.01, betas=(0.9, 0.999), eps=1e-08, weight_decay=0.0; steps=0, epochs=0)
        """
        other = type(self)(**self.settings())
        other.steps = self.steps
        other.epochs = self.epochs
        other.state = None if self.state is None else [s.copy() for s in self.state]
        other.scheduler = None if self.scheduler is None else self.scheduler.copy()
        return other

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.settings().items())
        return f"{type(self).__name__}({args}; steps={self.steps}, epochs={self.epochs})"

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        assert isinstance(other, Optimizer)
        same_state = (self.state is None) == (other.state is None) and (
            self.state is None or other.state is None
            or all(np.array_equal(a, b) for a, b in zip(self.state, other.state)))
        return (self.settings() == other.settings() and self.steps == other.steps
                and self.epochs == other.epochs and same_state
                and self.scheduler == other.scheduler)

    __hash__ = None  # type: ignore[assignment]  # mutable


# SGD's learning rate when it is named in fit(optimizer="sgd"): torch.optim.SGD's default.
SGD_DEFAULT_LR = 1e-3


class SGD(Optimizer):
    """Stochastic gradient descent, with momentum if asked: ``torch.optim.SGD``.

    With ``d = g + weight_decay * p``, momentum keeps ``buf = d`` at the first
    update and ``momentum * buf + d`` after, and uses ``d = buf`` (or
    ``d + momentum * buf`` with Nesterov); then ``p -= lr * d``. ``SGD(lr)``
    alone is the plain gradient descent ``fit`` runs without an optimizer.
    Dampening is 0.

    Parameters
    ----------
    lr : float
        The learning rate, > 0.
    momentum : float, default=0.0
        The momentum factor, >= 0.
    nesterov : bool, default=False
        Nesterov momentum (needs ``momentum > 0``).
    weight_decay : float, default=0.0
        L2 penalty added to the gradient of every parameter, biases included.

    Examples
    --------
    >>> import plainnet as pn
    >>> X, y = pn.datasets.xor()
    >>> net = pn.Network([2, 4, 1], seed=42)
    >>> h = net.fit(X, y, optimizer=pn.optim.SGD(lr=0.5, momentum=0.9), epochs=2000)
    >>> net.optimizer
    SGD(lr=0.5, momentum=0.9, nesterov=False, weight_decay=0.0; steps=2000, epochs=2000)
    """

    name = "sgd"
    slots = 1  # the momentum buffer
    slot_names = ("the momentum buffer",)

    def __init__(self, lr: float, momentum: float = 0.0, nesterov: bool = False,
                 weight_decay: float = 0.0) -> None:
        super().__init__(lr)
        self.momentum = _nonnegative(momentum, "momentum")
        if not isinstance(nesterov, (bool, np.bool_)):
            raise TypeError(f"nesterov: expected a bool, got {type(nesterov).__name__} "
                            f"{nesterov!r}")
        if nesterov and self.momentum == 0:
            raise ValueError("nesterov: Nesterov momentum needs momentum > 0, got momentum=0")
        self.nesterov = bool(nesterov)
        self.weight_decay = _nonnegative(weight_decay, "weight_decay")

    def settings(self) -> dict[str, Any]:
        return {"lr": self.lr, "momentum": self.momentum, "nesterov": self.nesterov,
                "weight_decay": self.weight_decay}

    def _core_settings(self) -> dict[str, Any]:
        return self.settings()


class Adam(Optimizer):
    """Adam, with weight decay added to the gradient: ``torch.optim.Adam``.

    ``g += weight_decay * p``; ``m = beta1 * m + (1 - beta1) * g``;
    ``v = beta2 * v + (1 - beta2) * g**2``;
    ``p -= lr / (1 - beta1**t) * m / (sqrt(v) / sqrt(1 - beta2**t) + eps)``.

    Parameters
    ----------
    lr : float, default=1e-3
        The learning rate, > 0.
    betas : tuple of float, default=(0.9, 0.999)
        The decay rates of the moment estimates, each in [0, 1).
    eps : float, default=1e-8
        Added to the bias-corrected ``sqrt(v)``, >= 0.
    weight_decay : float, default=0.0
        L2 penalty added to the gradient of every parameter, biases included.

    Examples
    --------
    >>> import numpy as np
    >>> import plainnet as pn
    >>> rng = np.random.default_rng(1)
    >>> X = rng.random((200, 4))
    >>> y = (X[:, 0] + X[:, 1] > 1).astype(np.int64)
    >>> net = pn.Network([4, 16, 2], activation="relu", output_activation="softmax",
    ...                  loss="cross_entropy", init="he", seed=0)
    >>> _ = net.fit(X, y, optimizer=pn.optim.Adam(lr=0.01), epochs=50, batch_size=32, seed=0)
    >>> net.optimizer
    Adam(lr=0.01, betas=(0.9, 0.999), eps=1e-08, weight_decay=0.0; steps=350, epochs=50)
    """

    name = "adam"
    slots = 2  # first and second moment estimates
    slot_names = ("the first moment estimate", "the second moment estimate")
    nonnegative_slots = (1,)

    def __init__(self, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0) -> None:
        super().__init__(lr)
        b1, b2 = _pair(betas, "betas")
        self.betas = (_beta(b1, "betas[0]"), _beta(b2, "betas[1]"))
        self.eps = _nonnegative(eps, "eps")
        self.weight_decay = _nonnegative(weight_decay, "weight_decay")

    def settings(self) -> dict[str, Any]:
        return {"lr": self.lr, "betas": self.betas, "eps": self.eps,
                "weight_decay": self.weight_decay}

    def _core_settings(self) -> dict[str, Any]:
        return {"lr": self.lr, "beta1": self.betas[0], "beta2": self.betas[1], "eps": self.eps,
                "weight_decay": self.weight_decay}


class AdamW(Adam):
    """Adam with decoupled weight decay: ``torch.optim.AdamW``.

    Each update first scales the parameters, ``p *= 1 - lr * weight_decay``,
    then makes Adam's update without adding the decay to the gradient.

    Parameters
    ----------
    lr : float, default=1e-3
        The learning rate, > 0.
    betas : tuple of float, default=(0.9, 0.999)
        The decay rates of the moment estimates, each in [0, 1).
    eps : float, default=1e-8
        Added to the bias-corrected ``sqrt(v)``, >= 0.
    weight_decay : float, default=1e-2
        The decoupled decay, >= 0, of every parameter, biases included.

    Examples
    --------
    >>> import plainnet as pn
    >>> pn.optim.AdamW()
    AdamW(lr=0.001, betas=(0.9, 0.999), eps=1e-08, weight_decay=0.01; steps=0, epochs=0)
    """

    name = "adamw"

    def __init__(self, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 1e-2) -> None:
        super().__init__(lr, betas, eps, weight_decay)


class Rprop(Optimizer):
    """Resilient backpropagation (iRprop-): ``torch.optim.Rprop``.

    One step size per parameter, from the signs of the gradient alone. Each
    step size starts at ``lr``, grows by ``etas[1]`` while the gradient keeps
    its sign and shrinks by ``etas[0]`` when it flips (that gradient then counts
    as 0), within ``step_sizes``; then ``p -= sign(g) * step``. Meant for
    full-batch training (``batch_size=None``), as in FANN.

    Parameters
    ----------
    lr : float, default=0.01
        The first step size of every parameter, > 0.
    etas : tuple of float, default=(0.5, 1.2)
        The factors that shrink and grow a step size, ``0 < etas[0] < 1 < etas[1]``.
    step_sizes : tuple of float, default=(1e-6, 50.0)
        The least and the largest step size.

    Examples
    --------
    >>> import plainnet as pn
    >>> X, y = pn.datasets.xor()
    >>> net = pn.Network([2, 4, 1], seed=42)
    >>> h = net.fit(X, y, optimizer=pn.optim.Rprop(), epochs=500)
    >>> bool(h.loss[-1] < 0.01)
    True
    """

    name = "rprop"
    slots = 2  # previous gradient, step sizes
    slot_names = ("the previous gradient", "a step size")
    nonnegative_slots = (1,)

    def __init__(self, lr: float = 0.01, etas: tuple[float, float] = (0.5, 1.2),
                 step_sizes: tuple[float, float] = (1e-6, 50.0)) -> None:
        super().__init__(lr)
        minus, plus = _pair(etas, "etas")
        if not 0.0 < minus < 1.0 < plus or not math.isfinite(plus):
            raise ValueError(f"etas: expected 0 < etas[0] < 1 < etas[1], got {(minus, plus)!r}")
        self.etas = (minus, plus)
        lo, hi = _pair(step_sizes, "step_sizes")
        if not 0.0 < lo <= hi or not math.isfinite(hi):
            raise ValueError(f"step_sizes: expected 0 < step_sizes[0] <= step_sizes[1], "
                             f"got {(lo, hi)!r}")
        self.step_sizes = (lo, hi)

    def settings(self) -> dict[str, Any]:
        return {"lr": self.lr, "etas": self.etas, "step_sizes": self.step_sizes}

    def _core_settings(self) -> dict[str, Any]:
        return {"lr": self.lr, "eta_minus": self.etas[0], "eta_plus": self.etas[1],
                "step_min": self.step_sizes[0], "step_max": self.step_sizes[1]}


CLASSES: dict[str, type[Optimizer]] = {cls.name: cls for cls in (SGD, Adam, AdamW, Rprop)}
assert tuple(CLASSES) == OPTIMIZERS  # one class per line of the core's table


# The arrays of an optimizer's state in a save: optimizer_state0, optimizer_state1, ...
_STATE_KEY = "optimizer_state{}"
# The most updates an optimizer may have counted: the core counts in int64.
MAX_STEPS = MAX_ELEMENTS - 1


def to_saved(opt: Optimizer) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The record ``Network.save`` stores: (its entry of ``meta``, its arrays)."""
    record = {"name": opt.name, "settings": opt.settings(), "steps": opt.steps,
              "epochs": opt.epochs, "has_state": opt.state is not None}
    if opt.scheduler is not None:
        record["scheduler"] = lr_scheduler.to_saved(opt.scheduler)
    arrays = {_STATE_KEY.format(k): a.copy() for k, a in enumerate(opt.state or [])}
    return record, arrays


def check_state(name: str, state: Any, num_params: int, dt: np.dtype, field: str) -> list[np.ndarray]:
    """An optimizer's state arrays, checked: the rule's number of arrays, each a float
    array of one number per parameter in the network's dtype, finite, and
    possible for the rule (a second moment or a step size is never negative).
    Returned as C-contiguous arrays of dt; ValueError naming the array otherwise.
    """
    cls = CLASSES[name]
    if not isinstance(state, (list, tuple)) or len(state) != cls.slots:
        got = f"{len(state)} arrays" if isinstance(state, (list, tuple)) else type(state).__name__
        raise ValueError(f"{field}: {cls.__name__} keeps {cls.slots} arrays, got {got}")
    out = []
    for k, s in enumerate(state):
        where = f"{field}[{k}]"
        if not isinstance(s, np.ndarray):
            raise ValueError(f"{where}: expected a NumPy array, got {type(s).__name__}")
        if type(s) is not np.ndarray:  # a memmap (joblib), or another subclass
            s = np.array(s, subok=False)
        if s.dtype != dt:
            raise ValueError(f"{where}: expected {dt.name} values (the network's dtype), "
                             f"got {s.dtype}")
        if s.shape != (num_params,):
            raise ValueError(f"{where}: expected shape ({num_params},) (one number per "
                             f"parameter), got {s.shape}")
        s = np.require(s, requirements=["C", "W", "O"])
        check.finite(s, where)
        if k in cls.nonnegative_slots and s.size and float(s.min()) < 0:
            i = int(np.argmin(s))
            raise ValueError(f"{where}: {cls.slot_names[k]} cannot be negative, got {s[i]} at "
                             f"index {i}")
        out.append(s)
    return out


def checked(opt: Any, num_params: int, dt: np.dtype, field: str = "optimizer") -> Optimizer:
    """A fresh optimizer equal to ``opt`` once every part of it has been checked.

    For optimizers that did not come from this process's constructors (an
    unpickled network's): its class must be one of plainnet's, its settings
    pass the constructor, its counts are ints in range, and its state passes
    ``check_state``. ValueError naming the part otherwise.
    """
    cls = type(opt)
    if cls not in CLASSES.values():
        raise ValueError(f"{field}: expected a plainnet.optim optimizer (SGD, Adam, AdamW, "
                         f"Rprop), got {cls.__name__}")
    try:
        settings = opt.settings()
        fresh: Optimizer = cls(**settings)
    except (AttributeError, TypeError, ValueError) as exc:
        raise ValueError(f"{field}: its settings are not valid ({exc})") from None
    for count in ("steps", "epochs"):
        value = getattr(opt, count, None)
        if type(value) is not int or not 0 <= value <= MAX_STEPS:
            raise ValueError(f"{field}.{count}: expected an int in [0, {MAX_STEPS}], got "
                             f"{type(value).__name__} {value!r:.60}")
        setattr(fresh, count, value)
    state = getattr(opt, "state", None)
    if state is not None:
        fresh.state = [s.copy() for s in check_state(cls.name, state, num_params, dt,
                                                     f"{field}.state")]
    sched = getattr(opt, "scheduler", None)
    if sched is not None:
        # The schema of a save checks it: one validator for files and pickles.
        from .. import _meta
        if type(sched) not in lr_scheduler.CLASSES.values():
            raise ValueError(f"{field}.scheduler: expected a plainnet.optim.lr_scheduler "
                             f"schedule, got {type(sched).__name__}")
        try:
            record = lr_scheduler.to_saved(sched)
        except Exception as exc:  # a hostile object: any failure is a refusal
            raise ValueError(f"{field}.scheduler: its settings or state are not valid "
                             f"({exc})") from None
        fresh.scheduler = _meta.check_scheduler(record, f"{field}.scheduler")
    return fresh


def from_saved(record: Any, state: list[np.ndarray], num_params: int, dt: np.dtype) -> Optimizer:
    """The optimizer a save recorded (``plainnet._meta.SavedOptimizer``, already checked)
    with its state arrays (read as the network's dtype); ValueError when the
    state is not one the rule could have made.
    """
    cls: Any = CLASSES[record.name]
    opt: Optimizer = cls(**record.settings)
    opt.steps = record.steps
    opt.epochs = record.epochs
    if record.has_state:
        opt.state = check_state(record.name, state, num_params, dt, "optimizer_state")
    if record.scheduler is not None:
        opt.scheduler = record.scheduler.copy()
    return opt


from . import lr_scheduler  # noqa: E402  (it reads nothing of this module)

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "Rprop", "lr_scheduler"]
