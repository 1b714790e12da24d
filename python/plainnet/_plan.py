"""The plan of one fit: every setting of the training loop, checked, in one object.

``Network.fit`` checks its keyword arguments and turns them into a ``FitPlan``;
both backends take that one object (``_core.fit`` and ``reference.fit``, as
``fit(params, sizes, activations, loss, X, y, plan)``). The native binding
reads its attributes into the core's ``FitOptions`` (cpp/network.h). A new
training option is a new field here, read in those two places.

The plan holds values the core uses as they are: arrays already in the
network's dtype, ``0`` for "none" where the core counts (``patience``,
``log_every``), ``None`` where there is nothing to pass. It is not where user
input is checked (``Network.fit`` does that, naming its own arguments); the
binding keeps only the guards a direct ``_core.fit`` call needs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import numpy as np

Callback = Callable[[int, float], Any]
ProgressHook = Callable[[int, int, "tuple[float, float, float, float]"], Any]


@dataclass(frozen=True)
class FitPlan:
    """What one fit does: the loop, the update rule, validation, stopping, weights.

    Parameters
    ----------
    optimizer : dict
        ``{"name": ..., **settings}`` with the core's names (``Optimizer._for_core``).
    state : list of numpy.ndarray
        The optimizer's state arrays, updated in place.
    steps : int, default=0
        Updates the optimizer made before this fit.
    epochs : int, default=1
        Epochs to train.
    first_epoch : int, default=0
        Epochs trained before this fit: epoch e shuffles as epoch
        ``first_epoch + e`` of one long run.
    batch_size : int, default=0
        Rows per mini-batch; 0 (or >= the rows) trains on all rows at once.
    shuffle : bool, default=True
        Draw each epoch's order from ``seed``.
    seed : int, default=0
        The mini-batch order's seed, in [0, 2**64).
    log_every : int, default=0
        Call ``callback`` every that many iterations (0: never).
    callback : callable or None, default=None
        ``callback(iteration, loss)``; returning False stops training.
    X_val, y_val : numpy.ndarray or None, default=None
        Validation data, evaluated after every epoch (both or neither).
    monitor : {"val_loss", "loss", "val_accuracy"}, default="val_loss"
        What early stopping, the best epoch and ``ReduceLROnPlateau`` watch.
    patience : int, default=0
        Epochs without improvement before stopping (0: never stop early).
    min_delta : float, default=0.0
        The least change that counts as an improvement.
    restore_best : bool, default=True
        Put the best epoch's parameters back when training stops early.
    sample_weight : numpy.ndarray or None, default=None
        One weight per training row.
    l2 : float, default=0.0
        scikit-learn's ``alpha``: the L2 penalty of the weights.
    progress : callable or None, default=None
        ``progress(epochs, iterations, row)`` after an epoch, at most every
        ``PROGRESS_INTERVAL`` seconds.
    schedule : dict or None, default=None
        A learning-rate schedule (``plainnet.optim.lr_scheduler``), as the
        core names its settings: ``{"name": ..., **settings}``.
    schedule_state : numpy.ndarray or None, default=None
        The schedule's state (float64, ``SCHEDULE_SLOTS`` numbers), updated in
        place as the fit goes.
    clip_norm : float or None, default=None
        Scale each batch's gradient so that its 2-norm over all parameters is
        at most this (``torch.nn.utils.clip_grad_norm_``).
    clip_value : float or None, default=None
        Clamp each gradient entry to ``[-clip_value, clip_value]``
        (``torch.nn.utils.clip_grad_value_``).
    """

    optimizer: dict[str, Any]
    state: list[np.ndarray]
    steps: int = 0
    epochs: int = 1
    first_epoch: int = 0
    batch_size: int = 0
    shuffle: bool = True
    seed: int = 0
    log_every: int = 0
    callback: Optional[Callback] = None
    X_val: Optional[np.ndarray] = None
    y_val: Optional[np.ndarray] = None
    monitor: str = "val_loss"
    patience: int = 0
    min_delta: float = 0.0
    restore_best: bool = True
    sample_weight: Optional[np.ndarray] = None
    l2: float = 0.0
    progress: Optional[ProgressHook] = None
    schedule: Optional[dict[str, Any]] = field(default=None)
    schedule_state: Optional[np.ndarray] = None
    clip_norm: Optional[float] = None
    clip_value: Optional[float] = None
