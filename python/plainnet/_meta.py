"""The schema of a save's ``meta``: what a plainnet save may say about its network.

``meta`` is JSON written by ``Network.save``; a file from anyone else may hold
anything there. ``check`` accepts exactly what ``save`` writes (format 1 and
2) and turns it into a ``Meta``, or raises ValueError naming the field at
fault: types (an int is never a bool or a float), ranges, lengths and which
keys may appear. Nothing is allocated for what it describes.
"""

from __future__ import annotations

import inspect
import math
from dataclasses import dataclass
from typing import Any, Optional

from . import _checks as checks
from . import optim
from .optim import lr_scheduler
from ._layout import ACTIVATIONS, LOSSES, MAX_ELEMENTS, OUTPUT_ACTIVATIONS

FORMAT_VERSION = 2
MAX_LAYERS = 10_000

# Keys each version's meta holds (required, optional).
_KEYS = {
    1: ({"format", "format_version", "layers", "activations", "dtype"}, set()),
    2: ({"format", "format_version", "layers", "activations", "dtype", "loss"},
        {"optimizer", "dropout"}),
}
_OPTIMIZER_KEYS = ({"name", "settings", "steps", "has_state"}, {"epochs", "scheduler"})
_SCHEDULER_KEYS: tuple[set[str], set[str]] = ({"name", "settings", "state"}, set())
_SCHEDULER_STATE_KEYS: tuple[set[str], set[str]] = (
    {"last_epoch", "lr", "momentum", "best", "bad_epochs", "cooldown_left", "base_lr"}, set())


class NewerFormat(ValueError):
    """A save written by a newer plainnet: its message is complete as it is."""


@dataclass(frozen=True)
class SavedOptimizer:
    name: str
    settings: dict[str, Any]
    steps: int
    epochs: int
    has_state: bool
    scheduler: Optional[lr_scheduler.LRScheduler] = None  # checked; copy before use

    @property
    def slots(self) -> int:
        return optim.CLASSES[self.name].slots


@dataclass(frozen=True)
class Meta:
    version: int
    layers: tuple[int, ...]
    activations: tuple[str, ...]
    loss: str
    dtype: str
    optimizer: Optional[SavedOptimizer]
    dropout: tuple[float, ...] = ()  # one rate per hidden layer; () in saves without dropout


def _integer(value: Any, field: str, lo: int, hi: int) -> int:
    if type(value) is not int:
        raise ValueError(f"meta.{field}: expected an int, got {type(value).__name__} {value!r:.60}")
    if not lo <= value <= hi:
        raise ValueError(f"meta.{field}: expected an int in [{lo}, {hi}], got {value}")
    return value


def _keys(record: Any, field: str, required: set[str], optional: set[str]) -> dict[str, Any]:
    if not isinstance(record, dict):
        raise ValueError(f"{field}: expected a JSON object, got {type(record).__name__}")
    missing = sorted(required - record.keys())
    if missing:
        raise ValueError(f"{field}: missing {', '.join(missing)}")
    unknown = sorted(str(k) for k in record.keys() - required - optional)
    if unknown:
        shown = ", ".join(repr(k[:40]) for k in unknown[:5])
        raise ValueError(f"{field}: unknown keys {shown}{' ...' if len(unknown) > 5 else ''}")
    return record


def _setting(value: Any, field: str) -> Any:
    """A setting's JSON value: a number, a bool, or a pair of numbers (a tuple)."""
    if isinstance(value, list):
        if len(value) != 2:
            raise ValueError(f"{field}: expected a number or a pair of numbers, got a list of "
                             f"{len(value)}")
        return tuple(_setting(v, f"{field}[{i}]") for i, v in enumerate(value))
    if type(value) not in (int, float, bool):
        raise ValueError(f"{field}: expected a number, got {type(value).__name__}")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{field}: expected a finite number, got {value}")
    return value


def _real(value: Any, field: str, lo: float, hi: float = math.inf) -> float:
    if type(value) not in (int, float):
        raise ValueError(f"{field}: expected a number, got {type(value).__name__} {value!r:.60}")
    if not (math.isfinite(value) and lo <= value <= hi):
        raise ValueError(f"{field}: expected a finite number in [{lo}, {hi}], got {value!r}")
    return float(value)


def check_scheduler(record: Any, field: str = "meta.optimizer.scheduler",
                    ) -> lr_scheduler.LRScheduler:
    """The schedule record ``save`` writes (``lr_scheduler.to_saved``), as a schedule:
    a known class, settings its constructor accepts, a state it could have reached."""
    record = _keys(record, field, *_SCHEDULER_KEYS)
    name = record["name"]
    if not isinstance(name, str) or name not in lr_scheduler.CLASSES:
        raise ValueError(f"{field}.name: expected one of "
                         f"{', '.join(map(repr, lr_scheduler.CLASSES))}, got {name!r:.60}")
    cls = lr_scheduler.CLASSES[name]
    params = [p for p in inspect.signature(cls.__init__).parameters if p != "self"]
    settings = _keys(record["settings"], f"{field}.settings", set(), set(params))
    for key, value in settings.items():
        where = f"{field}.settings.{key}"
        if key == "milestones":
            if not isinstance(value, list) or len(value) > cls.MAX_MILESTONES:  # type: ignore[attr-defined]
                raise ValueError(f"{where}: expected a list of at most "
                                 f"{cls.MAX_MILESTONES} ints")  # type: ignore[attr-defined]
            for i, m in enumerate(value):
                _integer(m, f"{where[5:]}[{i}]", 0, lr_scheduler.MAX_LAST_EPOCH)
        elif isinstance(value, str):
            if len(value) > 16:
                raise ValueError(f"{where}: expected a short name, got {value!r:.60}")
        elif value is not None:
            _setting(value, where)
    try:
        sched = cls(**settings)  # the constructor's own checks of every value
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{field}.settings: {exc}") from None
    state = record["state"]
    if state is None:
        return sched
    state = _keys(state, f"{field}.state", *_SCHEDULER_STATE_KEYS)
    most = getattr(sched, "total_steps", lr_scheduler.MAX_LAST_EPOCH)
    last = _integer(state["last_epoch"], f"{field[5:]}.state.last_epoch", 0, most)
    _real(state["lr"], f"{field}.state.lr", 0.0)
    _real(state["momentum"], f"{field}.state.momentum", 0.0, 1.0)
    _real(state["base_lr"], f"{field}.state.base_lr", math.ulp(0.0))
    if state["best"] is not None:
        _real(state["best"], f"{field}.state.best", -math.inf)
    _integer(state["bad_epochs"], f"{field[5:]}.state.bad_epochs", 0, last)
    _integer(state["cooldown_left"], f"{field[5:]}.state.cooldown_left", 0,
             getattr(sched, "cooldown", 0))
    return lr_scheduler.from_saved(name, settings, state)


def check_optimizer(record: Any, field: str = "meta.optimizer") -> SavedOptimizer:
    """The optimizer record ``save`` writes: a known rule, settings it accepts, counts in range."""
    record = _keys(record, field, *_OPTIMIZER_KEYS)
    name = record["name"]
    if not isinstance(name, str) or name not in optim.CLASSES:
        raise ValueError(f"{field}.name: expected one of {', '.join(map(repr, optim.CLASSES))}, "
                         f"got {name!r:.60}")
    cls = optim.CLASSES[name]
    params = [p for p in inspect.signature(cls.__init__).parameters if p != "self"]
    settings = _keys(record["settings"], f"{field}.settings", {"lr"}, set(params) - {"lr"})
    values = {k: _setting(v, f"{field}.settings.{k}") for k, v in settings.items()}
    try:
        cls(**values)  # the constructor's own checks of every value
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{field}.settings: {exc}") from None
    steps = _integer(record["steps"], f"{field[5:]}.steps", 0, optim.MAX_STEPS)
    epochs = _integer(record.get("epochs", 0), f"{field[5:]}.epochs", 0, optim.MAX_STEPS)
    has_state = record["has_state"]
    if type(has_state) is not bool:
        raise ValueError(f"{field}.has_state: expected true or false, got {has_state!r:.60}")
    scheduler = record.get("scheduler")
    sched = None if scheduler is None else check_scheduler(scheduler, f"{field}.scheduler")
    return SavedOptimizer(name, values, steps, epochs, has_state, sched)


def check(meta: Any, name: str) -> Meta:
    """The checked meta of the save called ``name``; ValueError naming the field otherwise."""
    if not isinstance(meta, dict) or meta.get("format") != "plainnet":
        raise ValueError("'meta' does not describe a plainnet network")
    version = meta.get("format_version")
    if type(version) is not int or version < 1:
        raise ValueError(f"meta.format_version: {version!r:.60} is not valid")
    if version > FORMAT_VERSION:
        raise NewerFormat(f"load: {name} has format version {version}, written by a newer "
                          f"plainnet; this one reads up to version {FORMAT_VERSION}: upgrade "
                          f"plainnet to load it")
    _keys(meta, "meta", *_KEYS[version])

    layers = meta["layers"]
    if not isinstance(layers, list) or not 2 <= len(layers) <= MAX_LAYERS:
        got = f"a list of {len(layers)}" if isinstance(layers, list) else type(layers).__name__
        raise ValueError(f"meta.layers: expected a list of 2 to {MAX_LAYERS} sizes, got {got}")
    sizes = tuple(_integer(s, f"layers[{i}]", 1, MAX_ELEMENTS) for i, s in enumerate(layers))
    try:
        checks.layer_sizes(sizes, "meta.layers")  # the parameter count
    except ValueError as exc:
        raise ValueError(str(exc)) from None

    acts = meta["activations"]
    if not isinstance(acts, list) or len(acts) != len(sizes) - 1:
        got = f"a list of {len(acts)}" if isinstance(acts, list) else type(acts).__name__
        raise ValueError(f"meta.activations: expected a list of {len(sizes) - 1} names (one per "
                         f"layer), got {got}")
    names = ACTIVATIONS + OUTPUT_ACTIVATIONS
    for i, a in enumerate(acts):
        if not isinstance(a, str) or a not in names:
            raise ValueError(f"meta.activations[{i}]: expected one of "
                             f"{', '.join(map(repr, names))}, got {a!r:.60}")
    loss = meta.get("loss", "mse")
    if not isinstance(loss, str) or loss not in LOSSES:
        raise ValueError(f"meta.loss: expected one of {', '.join(map(repr, LOSSES))}, "
                         f"got {loss!r:.60}")
    try:
        checks.loss_pairing(acts, loss, sizes[-1])
    except ValueError as exc:
        raise ValueError(f"meta: {exc}") from None
    dtype = meta["dtype"]
    if dtype not in ("float64", "float32"):
        raise ValueError(f"meta.dtype: expected 'float64' or 'float32', got {dtype!r:.60}")
    record = meta.get("optimizer")
    opt = None if record is None else check_optimizer(record)
    return Meta(version, sizes, tuple(acts), loss, dtype, opt, _dropout(meta, len(sizes) - 2))


def _dropout(meta: dict[str, Any], hidden: int) -> tuple[float, ...]:
    """meta.dropout, written when a network has dropout: one rate in [0, 1) per hidden layer."""
    if "dropout" not in meta:
        return ()
    rates = meta["dropout"]
    if not isinstance(rates, list) or len(rates) != hidden:
        got = f"a list of {len(rates)}" if isinstance(rates, list) else type(rates).__name__
        raise ValueError(f"meta.dropout: expected a list of {hidden} rates (one per hidden "
                         f"layer), got {got}")
    for i, p in enumerate(rates):
        if type(p) not in (int, float):
            raise ValueError(f"meta.dropout[{i}]: expected a number, got {type(p).__name__} "
                             f"{p!r:.60}")
    try:
        return checks.dropout(rates, hidden, "meta.dropout")
    except (TypeError, ValueError) as exc:
        raise ValueError(str(exc)) from None
