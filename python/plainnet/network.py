"""Network: the one class users touch.

A Network is a list of layer sizes, one activation per layer, and one flat
array holding every parameter (W0, b0, W1, b1, ...). The math runs in one of
two interchangeable backends with identical functions: the native C++ core
(``plainnet._core``) or its NumPy twin (``plainnet.reference``).
"""

from __future__ import annotations

import contextlib
import math
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, Callable, Optional, Sequence, Union, overload

import numpy as np

from . import _checks as check
from . import _diagnostics, _io, _layout, _onnx, _progress, _torch, optim, reference
from ._init import INITS, initialize
from ._io import PathLike

if TYPE_CHECKING:  # pragma: no cover - optional dependencies, for the type checker only
    import onnx
    import torch

_core: Optional[ModuleType]
try:
    from . import _core
except ImportError as exc:  # pragma: no cover - only without a build
    _core = None
    _core_error: Optional[ImportError] = exc
else:
    _core_error = None

ACTIVATIONS: tuple[str, ...] = _layout.ACTIVATIONS
OUTPUT_ACTIVATIONS: tuple[str, ...] = _layout.OUTPUT_ACTIVATIONS
LOSSES: tuple[str, ...] = _layout.LOSSES
BACKENDS: tuple[str, ...] = ("native", "numpy")
FORMAT_VERSION = _io.FORMAT_VERSION

Callback = Callable[[int, float], Any]


def _zeros(count: int, dt: np.dtype, name: str) -> np.ndarray:
    """The flat parameter array; MemoryError when it cannot be allocated."""
    nbytes = count * dt.itemsize
    need = f"{name}: {count} parameters of {dt.name} need {nbytes} bytes"
    if nbytes > sys.maxsize:  # NumPy would call this a ValueError ("array is too big")
        raise MemoryError(f"{need}, more than this machine can address")
    try:
        return np.zeros(count, dtype=dt)
    except MemoryError:
        raise MemoryError(f"{need}, more than could be allocated") from None


def _backend_module(name: str) -> Any:
    check.choice(name, "backend", BACKENDS)
    if name == "numpy":
        return reference
    if _core is None:
        raise ImportError(f"backend 'native': the compiled module plainnet._core is not available "
                          f"({_core_error}); reinstall plainnet or use backend='numpy'")
    return _core


def _activation_list(activation: Any, output_activation: Any, n_layers: int) -> tuple[str, ...]:
    """One activation name per layer, each checked, from the constructor's arguments."""
    if isinstance(activation, str):
        named = [("activation", activation)] * n_layers
        if output_activation is not None:
            named[-1] = ("output_activation", output_activation)
    elif isinstance(activation, Sequence):
        if output_activation is not None:
            raise ValueError("output_activation: must be None when activation is a list "
                             "(the list already names the output layer's activation)")
        if len(activation) != n_layers:
            raise ValueError(f"activation: expected {n_layers} names (one per layer), "
                             f"got {len(activation)}: {list(activation)}")
        named = [(f"activation[{i}]", a) for i, a in enumerate(activation)]
    else:
        raise TypeError(f"activation: expected a name or a list of names, got "
                        f"{type(activation).__name__} {activation!r}")
    names = ACTIVATIONS + OUTPUT_ACTIVATIONS  # loss_pairing keeps softmax on the last layer
    return tuple(check.choice(value, arg, names) for arg, value in named)


@dataclass
class History:
    """What ``Network.fit`` did.

    ``loss`` has one value per iteration (the loss of that batch *before*
    its update). The per-epoch arrays have one value per completed epoch:
    ``epoch_loss`` (the training loss over the epoch: the mean of its batch
    losses, weighted by rows), ``val_loss`` (None without validation data),
    and, for cross-entropy and binary cross-entropy networks, ``accuracy``
    (of the predictions made on the batches during the epoch) and
    ``val_accuracy``. ``best_epoch`` is the epoch (from 0) of the best
    value of what ``fit`` monitored (by default the lowest validation loss),
    None when it was not there (no validation data).
    """

    loss: np.ndarray
    lr: float
    epochs: int
    batch_size: Optional[int]
    seed: int
    iterations_per_epoch: int
    stopped_early: bool = False
    epoch_loss: np.ndarray = field(default_factory=lambda: np.zeros(0))
    val_loss: Optional[np.ndarray] = None
    accuracy: Optional[np.ndarray] = None
    val_accuracy: Optional[np.ndarray] = None
    best_epoch: Optional[int] = None
    optimizer: Optional[optim.Optimizer] = None

    @property
    def iterations(self) -> int:
        return int(self.loss.shape[0])

    @property
    def final_loss(self) -> float:
        return float(self.loss[-1]) if self.loss.size else math.nan

    def __repr__(self) -> str:
        last = f"{self.final_loss:.6g}" if self.loss.size else "n/a"
        first = f"{float(self.loss[0]):.6g}" if self.loss.size else "n/a"
        stop = ", stopped early" if self.stopped_early else ""
        val = ""
        if self.val_loss is not None and self.val_loss.size:
            val = f", val_loss {float(self.val_loss[-1]):.6g}, best_epoch={self.best_epoch}"
        return (f"History(iterations={self.iterations}, epochs={self.epoch_loss.size}, "
                f"loss {first} -> {last}{val}, lr={self.lr}, batch_size={self.batch_size}{stop})")


class Network:
    """A fully connected network, its loss, and the training that fits it.

    Parameters
    ----------
    layers : list of int
        Layer widths, inputs first: ``[2, 4, 1]`` is the tutorial's XOR network.
    activation : str or list of str
        Activation of every layer, or one name per layer (``len(layers) - 1``).
        One of ``plainnet.ACTIVATIONS``; the output layer may also be
        ``"softmax"`` (with ``loss="cross_entropy"``).
    output_activation : str or None
        Activation of the last layer when ``activation`` is a single name;
        None keeps ``activation`` there too.
    init : {"normal", "xavier", "he"}
        ``normal`` draws ``randn(in, out) * init_scale`` (default scale 0.5) for
        W0, W1, ... in order from ``numpy.random.RandomState(seed)``; xavier
        uses std ``sqrt(2 / (in + out))`` and he ``sqrt(2 / in)``, each times
        ``init_scale`` (default 1). Biases start at zero.
    seed : int or None
        Seed for the initial weights; None draws fresh entropy.
    dtype : {"float64", "float32"}
    backend : {"native", "numpy"}
        The C++ core or its NumPy twin; they compute the same numbers.
    loss : {"mse", "binary_cross_entropy", "cross_entropy"}
        What training minimises (see ``plainnet.LOSSES`` and the README):
        the mean squared error; binary cross-entropy, for a sigmoid output
        and targets in [0, 1]; cross-entropy, for a softmax output and
        probability rows or integer class labels.
    """

    def __init__(self, layers: Sequence[int], activation: Union[str, Sequence[str]] = "sigmoid",
                 output_activation: Optional[str] = None, init: str = "normal",
                 init_scale: Optional[float] = None, seed: Optional[int] = None,
                 dtype: Any = "float64", backend: str = "native", loss: str = "mse") -> None:
        sizes = check.layer_sizes(layers)
        acts = _activation_list(activation, output_activation, len(sizes) - 1)
        loss = check.loss_pairing(acts, loss, sizes[-1])
        check.choice(init, "init", INITS)
        if init_scale is not None:
            init_scale = check.real(init_scale, "init_scale")
            if not math.isfinite(init_scale) or init_scale < 0:
                raise ValueError(f"init_scale: expected a finite number >= 0, got {init_scale!r}")
        if seed is not None:
            seed = check.init_seed(seed)
        dt = check.dtype(dtype)
        _backend_module(backend)

        params = _zeros(_layout.num_parameters(sizes), dt, "layers")
        initialize(params, sizes, init, init_scale, seed)
        self._setup(sizes, acts, loss, params, backend, None)

    def _setup(self, sizes: tuple[int, ...], acts: tuple[str, ...], loss: str, params: np.ndarray,
               backend: str, optimizer: Optional[optim.Optimizer]) -> None:
        self._sizes = sizes
        self._acts = acts
        self._loss = loss
        self._params = params  # never rebound: the core writes into it in place
        self._backend = backend
        self._impl = _backend_module(backend)
        self._optimizer = optimizer
        self._lock = threading.RLock()

    # A Network is a value: pickle, copy.copy and copy.deepcopy give an
    # independent network with the same numbers, its own copy of the
    # optimizer (and a lock of its own).
    def __getstate__(self) -> dict[str, Any]:
        with self._lock:
            return {"layers": self._sizes, "activations": self._acts, "loss": self._loss,
                    "params": self._params.copy(), "backend": self._backend,
                    "optimizer": None if self._optimizer is None else self._optimizer.copy()}

    def __setstate__(self, state: dict[str, Any]) -> None:
        params = np.require(state["params"], requirements=["C", "W", "O"])
        self._setup(tuple(state["layers"]), tuple(state["activations"]),
                    state.get("loss", "mse"), params, state["backend"], state.get("optimizer"))

    def __copy__(self) -> "Network":
        return self.copy()

    def __deepcopy__(self, memo: dict[int, Any]) -> "Network":
        return self.copy()

    def _like(self, params: np.ndarray, backend: str) -> "Network":
        """A network with this one's layout and optimizer (copied) around params."""
        net = Network.__new__(Network)
        net._setup(self._sizes, self._acts, self._loss, params, backend,
                   None if self._optimizer is None else self._optimizer.copy())
        return net

    # ------------------------------------------------------------ inspection

    @property
    def layers(self) -> list[int]:
        return list(self._sizes)

    @property
    def activations(self) -> list[str]:
        return list(self._acts)

    @property
    def loss_name(self) -> str:
        """The loss training minimises: one of ``plainnet.LOSSES``."""
        return self._loss

    @property
    def optimizer(self) -> Optional[optim.Optimizer]:
        """The optimizer the last ``fit`` used, with its state (None before any fit).

        Pass it to the next ``fit`` (``optimizer=net.optimizer``) to continue
        its state; ``save`` stores it and ``load`` restores it.
        """
        return self._optimizer

    @property
    def num_parameters(self) -> int:
        return int(self._params.size)

    @property
    def dtype(self) -> np.dtype:
        return self._params.dtype

    @property
    def backend(self) -> str:
        return self._backend

    def _layer_copies(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """Copies of every (W_l, b_l), taken together under the lock."""
        with self._lock:
            return [(W.copy(), b.copy()) for W, b in _layout.unpack(self._params, self._sizes)]

    def _snapshot(self, index: int) -> list[np.ndarray]:
        with self._lock:
            out = [p[index].copy() for p in _layout.unpack(self._params, self._sizes)]
        for a in out:
            a.flags.writeable = False
        return out

    @property
    def weights(self) -> list[np.ndarray]:
        """Copies of W_l, shape (inputs, outputs), read-only (use from_weights to change them)."""
        return self._snapshot(0)

    @property
    def biases(self) -> list[np.ndarray]:
        """Copies of b_l, shape (outputs,), read-only."""
        return self._snapshot(1)

    def __repr__(self) -> str:
        loss = "" if self._loss == "mse" else f", loss={self._loss!r}"
        return (f"Network({list(self._sizes)}, activations={list(self._acts)}{loss}, "
                f"dtype={self.dtype.name}, backend={self._backend!r}, "
                f"parameters={self.num_parameters})")

    # ------------------------------------------------------------ computing

    def _x(self, X: Any, name: str = "X") -> np.ndarray:
        return check.samples(X, name, self._sizes[0], self.dtype)

    def _xy(self, X: Any, y: Any, names: tuple[str, str] = ("X", "y")
            ) -> tuple[np.ndarray, np.ndarray]:
        x = self._x(X, names[0])
        t = check.targets(y, names[1], self._loss, self._sizes[-1], self.dtype, x.shape[0])
        return x, t

    def forward(self, X: Any) -> np.ndarray:
        """Predictions for X (m, inputs), shape (m, outputs)."""
        if self._backend != "native":
            x = self._x(X)
            with self._lock:
                ref: np.ndarray = self._impl.forward(self._params, self._sizes, self._acts,
                                                     self._loss, x)
            return ref
        # The core checks X for NaN/Inf chunk by chunk as it reads it: one
        # pass over X fewer than a check here, which on a large X took as
        # long as the predictions themselves.
        if (type(X) is np.ndarray and X.ndim == 2 and X.dtype == self._params.dtype
                and X.flags.c_contiguous and X.shape[0] > 0 and X.shape[1] == self._sizes[0]):
            x = X  # already what samples() returns: skip its checks (a few us a call)
        else:
            x = check.samples(X, "X", self._sizes[0], self.dtype, check_finite=False)
        try:
            with self._lock:
                out: np.ndarray = self._impl.forward(self._params, self._sizes, self._acts,
                                                     self._loss, x)
        except ValueError:
            self._x(X)  # the full check's own message (it tells a value that overflowed
            raise       # when converted to float32 from a NaN/Inf given as such)
        return out

    predict = forward

    def predict_classes(self, X: Any) -> np.ndarray:
        """Class predictions as integers.

        The arg-max of each row, shape (m,), for networks with more than one
        output; for binary cross-entropy (and any single-output network),
        each output against 0.5, shape (m, outputs).
        """
        out = self.forward(X)
        if self._loss == "binary_cross_entropy" or out.shape[1] == 1:
            classes: np.ndarray = (out > 0.5).astype(np.int64)
        else:
            classes = np.argmax(out, axis=1).astype(np.int64)
        return classes

    def forward_trace(self, X: Any) -> list[tuple[np.ndarray, np.ndarray]]:
        """[(z_l, a_l) for each layer]: weighted sums and activations, for inspection."""
        x = self._x(X)
        with self._lock:
            # both backends return freshly allocated arrays, owned by the caller
            return list(self._impl.forward_trace(self._params, self._sizes, self._acts,
                                                 self._loss, x))

    def _evaluate(self, x: np.ndarray, t: np.ndarray) -> tuple[float, int]:
        with self._lock:
            loss, correct = self._impl.evaluate(self._params, self._sizes, self._acts,
                                                self._loss, x, t)
        return float(loss), int(correct)

    def loss(self, X: Any, y: Any) -> float:
        """The loss on (X, y), as ``fit`` reports it.

        mse: the mean over all elements of (prediction - y)**2; the
        cross-entropies: their sum over outputs, averaged over rows.
        """
        x, t = self._xy(X, y)
        return self._evaluate(x, t)[0]

    def evaluate(self, X: Any, y: Any) -> dict[str, float]:
        """{"loss": ...}, plus "accuracy" for cross-entropy and binary cross-entropy networks.

        Accuracy is the fraction of rows whose arg-max matches the target's
        (cross_entropy), or of outputs on the right side of 0.5 (binary).
        """
        x, t = self._xy(X, y)
        loss, correct = self._evaluate(x, t)
        result = {"loss": loss}
        if self._loss != "mse":
            per_row = t.shape[1] if self._loss == "binary_cross_entropy" else 1
            result["accuracy"] = correct / (t.shape[0] * per_row)
        return result

    def gradients(self, X: Any, y: Any) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """(dW list, db list): the gradient of the objective E.

        E = 1/(2m) * sum((prediction - y)**2) for mse (the tutorial's
        convention); the reported loss for the cross-entropies.
        """
        x, t = self._xy(X, y)
        with self._lock:
            _, grads = self._impl.gradients(self._params, self._sizes, self._acts, self._loss,
                                            x, t)
        layers = _layout.unpack(grads, self._sizes)
        return [W for W, _ in layers], [b for _, b in layers]

    def diagnose(self, X: Any, y: Any,
                 history: Optional[History] = None) -> "_diagnostics.Diagnosis":
        """Measure every layer on (X, y) and say in plain words what looks wrong.

        The report holds, per layer, the fraction of dead units (relu-like
        layers) and of saturated units (sigmoid, tanh), and |dW| / |W|; the
        loss next to that of predicting the targets' mean; and ``hints``, each
        with a stable ``code`` ("lr_too_high", "lr_too_low", "too_few_units",
        "stuck", "not_converged", "dead_units", "saturated_units",
        "vanishing_gradient") and a message; no hints when nothing looks
        wrong. Pass the History that ``fit`` returned for more evidence
        (whether the loss rose, oscillated or is still falling, and the lr).
        ``str(report)`` prints it all; ``plainnet._diagnostics`` holds the
        rules and their thresholds.
        """
        return _diagnostics.diagnose(self, X, y, history)

    def step(self, X: Any, y: Any, lr: float) -> float:
        """One forward + backward + gradient-descent update on (X, y); returns the loss before it.

        Raises FloatingPointError, leaving the weights unchanged, if that loss is
        NaN/Inf or if the update would make a weight NaN/Inf.
        """
        x, t = self._xy(X, y)
        rate = check.learning_rate(lr, self.dtype)
        with self._lock:
            loss, updated = self._impl.step(self._params, self._sizes, self._acts, self._loss,
                                            x, t, rate)
        if not math.isfinite(loss):
            raise FloatingPointError(f"step: the loss is {loss}; the weights were left unchanged "
                                     f"(the network's outputs overflow: try a smaller lr)")
        if not updated:
            raise FloatingPointError(f"step: the update would make a weight NaN or Inf (the loss "
                                     f"was {loss:.6g}); the weights were left unchanged (the "
                                     f"gradient overflows: try a smaller lr, was {rate})")
        return float(loss)

    def _validation(self, x: np.ndarray, t: np.ndarray, validation_data: Any,
                    validation_split: Any) -> tuple[np.ndarray, np.ndarray, Optional[np.ndarray],
                                                    Optional[np.ndarray]]:
        """(X_train, y_train, X_val, y_val) from fit's validation arguments."""
        if validation_data is not None and validation_split is not None:
            raise ValueError("validation_split: pass validation_data or validation_split, "
                             "not both")
        if validation_data is not None:
            if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
                raise TypeError(f"validation_data: expected a pair (X_val, y_val), got "
                                f"{type(validation_data).__name__}")
            xv, tv = self._xy(validation_data[0], validation_data[1], ("X_val", "y_val"))
            return x, t, xv, tv
        if validation_split is not None:
            frac = check.real(validation_split, "validation_split")
            if not 0 < frac < 1:
                raise ValueError(f"validation_split: expected a fraction in (0, 1), got {frac!r}")
            n_val = math.ceil(frac * x.shape[0])
            if n_val >= x.shape[0]:
                raise ValueError(f"validation_split: {frac} of {x.shape[0]} rows leaves no rows "
                                 f"to train on")
            # The last rows, before any shuffling, as Keras takes them.
            return x[:-n_val], t[:-n_val], x[-n_val:], t[-n_val:]
        return x, t, None, None

    def fit(self, X: Any, y: Any, lr: Optional[float] = None, epochs: int = 10000,
            batch_size: Optional[int] = None, shuffle: bool = True, seed: Optional[int] = None,
            log_every: int = 0, callback: Optional[Callback] = None,
            optimizer: Optional[optim.Optimizer] = None, validation_data: Any = None,
            validation_split: Optional[float] = None, patience: Optional[int] = None,
            min_delta: float = 0.0, restore_best: bool = True,
            monitor: Optional[str] = None, sample_weight: Any = None,
            l2: float = 0.0, progress: Any = False) -> History:
        """Train the network; returns a History (a loss per iteration, metrics per epoch).

        Without ``optimizer`` this is plain gradient descent with step ``lr``
        (default 2.0); with one (``plainnet.optim.SGD``, ``Adam``, ``AdamW``,
        ``Rprop``) its rule and learning rate are used, and its state carries
        on into the next fit that is given the same object (``net.optimizer``
        is the one the last fit used), its mini-batch order too: it shuffles
        as the following epochs of one long run would.

        batch_size=None is full-batch training (one iteration per epoch);
        an int trains on mini-batches in an order drawn from ``seed`` (reshuffled
        each epoch when ``shuffle``). Every ``log_every`` iterations (counting
        from 0) ``callback(iteration, loss)`` is called; returning False stops
        training. With log_every > 0 and no callback, progress is printed; with
        a callback and log_every=0 it is called every iteration.

        Validation: ``validation_data=(X_val, y_val)``, or ``validation_split``,
        a fraction of the rows held out (the last ones, taken before any
        shuffling, as Keras does), is evaluated after every epoch. With
        ``patience``, training stops once the validation loss has not improved
        by more than ``min_delta`` for that many epochs, and the weights of the
        best epoch are put back if ``restore_best`` (the optimizer's state is
        that of the last epoch).

        ``monitor`` chooses what patience and ``History.best_epoch`` watch:
        ``"val_loss"`` (the default when there is validation data),
        ``"val_accuracy"`` (higher is better; the cross-entropies only), or
        ``"loss"``, the epoch's training loss (``History.epoch_loss``), which
        needs no validation data; its weights are never put back, since the
        epoch's loss was measured on the batches before their updates.

        ``sample_weight`` (one number >= 0 per row of X) weighs the rows:
        each batch's loss, and the objective it descends, is the weighted
        mean over its rows (a batch whose weights sum to 0 counts 0 and does
        not move the weights). With ``validation_split`` the held-out rows'
        weights are dropped: validation is unweighted. ``l2`` adds
        ``l2 / (2 w) * sum_l ||W_l||**2`` to every batch's objective and
        reported loss, where w is the batch's number of rows (or the sum of
        its weights): the weights only, not the biases. This is
        scikit-learn's ``alpha``; the optimizers' ``weight_decay`` is
        torch's, on every parameter and independent of the batch.

        ``progress=True`` shows a tqdm bar (``tqdm.auto``: a widget in
        notebooks) over the epochs asked for, with the latest epoch's loss
        (and accuracy, validation loss and validation accuracy where there are
        any) beside it. The training loop updates it at most every 0.2 s of
        wall time, and once more when training ends, so the bar stops at the
        epoch training stopped at. ``progress`` may also be a dict of
        ``tqdm.auto.tqdm`` keyword arguments (``{"file": f, "desc": "digits"}``,
        ``{"disable": None}`` to show nothing when not on a terminal) or a tqdm
        class (or any callable taking tqdm's keyword arguments and returning a
        bar). It needs tqdm (``pip install "plainnet[progress]"``), else
        ImportError before training starts. The numbers are the same with and
        without a bar.

        If the loss becomes NaN/Inf, or an update makes a weight NaN/Inf,
        training stops with FloatingPointError and the network keeps the weights
        of the last iteration whose loss was finite (the error's ``history``
        attribute holds the losses up to there).

        An exception raised by the callback stops training and reaches the
        caller as it is; the weights are those after the iteration the callback
        was called for. A KeyboardInterrupt (Ctrl-C) stops training within a
        fraction of a second; the weights are those of the last completed
        iteration and the exception's ``history`` holds the losses up to there.
        Another thread calling ``fit`` (or any other method) on the same
        network waits until this call has finished.
        """
        x, t = self._xy(X, y)
        if optimizer is None:
            opt: optim.Optimizer = optim.SGD(check.learning_rate(2.0 if lr is None else lr,
                                                                 self.dtype))
        elif not isinstance(optimizer, optim.Optimizer):
            raise TypeError(f"optimizer: expected a plainnet.optim optimizer (SGD, Adam, AdamW, "
                            f"Rprop) or None, got {type(optimizer).__name__} {optimizer!r}")
        elif lr is not None:
            raise ValueError(f"lr: the optimizer has its own (lr={optimizer.lr}); set it there, "
                             f"not in fit")
        else:
            opt = optimizer
            check.learning_rate(opt.lr, self.dtype, "optimizer.lr")
        rate = opt.lr
        n_epochs = check.integer(epochs, "epochs", minimum=0)
        if batch_size is not None:
            batch_size = check.integer(batch_size, "batch_size", minimum=1)
        if not isinstance(shuffle, (bool, np.bool_)):
            raise TypeError(f"shuffle: expected a bool, got {type(shuffle).__name__} {shuffle!r}")
        if seed is None:
            seed = int(np.random.SeedSequence().generate_state(2, np.uint32).view(np.uint64)[0])
        else:
            seed = check.fit_seed(seed)
        every = check.integer(log_every, "log_every", minimum=0)
        callback = check.callback(callback)
        if callback is None and every > 0:
            callback = _print_progress
        elif callback is not None and every == 0:
            every = 1
        w = None if sample_weight is None else check.sample_weight(sample_weight, x.shape[0],
                                                                    self.dtype)
        penalty = check.real(l2, "l2")
        if not math.isfinite(penalty) or penalty < 0:
            raise ValueError(f"l2: expected a finite number >= 0, got {penalty!r}")
        n_all = x.shape[0]
        x, t, xv, tv = self._validation(x, t, validation_data, validation_split)
        if w is not None and x.shape[0] < n_all:
            w = np.ascontiguousarray(w[:x.shape[0]])  # the training rows' weights
            if not w.any():
                raise ValueError("sample_weight: the weights of the training rows (those not "
                                 "held out by validation_split) are all 0")
        wait = 0 if patience is None else check.integer(patience, "patience", minimum=1)
        watch = "val_loss" if monitor is None else check.choice(monitor, "monitor",
                                                                _layout.MONITORS)
        if wait and xv is None and watch != "loss":
            raise ValueError("patience: early stopping watches the validation loss; pass "
                             "validation_data or validation_split too (or monitor='loss' to "
                             "watch the training loss)")
        if monitor is not None and watch != "loss" and xv is None:
            raise ValueError(f"monitor: {watch!r} needs validation data; pass validation_data "
                             f"or validation_split too")
        if watch == "val_accuracy" and self._loss == "mse":
            raise ValueError("monitor: 'val_accuracy' needs a loss that classifies "
                             "(cross_entropy or binary_cross_entropy), got loss 'mse'")
        delta = check.real(min_delta, "min_delta")
        if not math.isfinite(delta) or delta < 0:
            raise ValueError(f"min_delta: expected a finite number >= 0, got {delta!r}")
        if not isinstance(restore_best, (bool, np.bool_)):
            raise TypeError(f"restore_best: expected a bool, got {type(restore_best).__name__} "
                            f"{restore_best!r}")
        bars = _progress.bars(progress)
        state = opt._state_for(self.num_parameters, self.dtype)
        if self._loss == "mse":
            check.target_range(t, self._acts[-1])

        bs = 0 if batch_size is None else batch_size
        per_epoch = check.iterations(x.shape[0], n_epochs, bs)

        def history_of(losses: np.ndarray, done: int, stopped: bool,
                       table: Optional[np.ndarray] = None, best: int = -1) -> History:
            h = History(loss=np.array(losses[:done]), lr=rate, epochs=n_epochs,
                        batch_size=batch_size, seed=seed, iterations_per_epoch=per_epoch,
                        stopped_early=stopped, optimizer=opt)
            if table is not None:
                h.epoch_loss = table[:, 0].copy()
                classifies = self._loss != "mse"
                h.accuracy = table[:, 1].copy() if classifies else None
                if xv is not None:
                    h.val_loss = table[:, 2].copy()
                    h.val_accuracy = table[:, 3].copy() if classifies else None
                h.best_epoch = best if best >= 0 else None
            return h

        def took(updates: int, epochs_done: int) -> None:
            # The optimizer's state now belongs to this network's run.
            opt.state = state
            opt.steps += updates
            opt.epochs += epochs_done
            self._optimizer = opt

        with self._lock:
            bar = None if bars is None else _progress.EpochBar(bars, n_epochs)
            try:
                losses, done, status, updates, table, best = self._impl.fit(
                    self._params, self._sizes, self._acts, self._loss, x, t, opt._for_core(),
                    state, opt.steps, n_epochs, bs, bool(shuffle), seed, every, callback, xv, tv,
                    wait, delta, bool(restore_best), opt.epochs, watch, w, penalty, progress=bar)
            except BaseException as exc:
                # Both backends stop between iterations (Ctrl-C, or an exception
                # from the callback or the bar) and say how far they got.
                partial = getattr(exc, "plainnet_partial_fit", None)
                if partial is not None:
                    del exc.plainnet_partial_fit  # type: ignore[attr-defined]
                    took(int(partial[1]), int(partial[1]) // per_epoch)
                    if isinstance(exc, KeyboardInterrupt):
                        exc.history = history_of(partial[0], partial[1], True)  # type: ignore[attr-defined]
                if bar is not None:
                    with contextlib.suppress(Exception):  # this exception is the one to see
                        bar.close(0 if partial is None else int(partial[1]) // per_epoch)
                raise
            took(updates, int(table.shape[0]))
            if bar is not None:
                last = tuple(float(v) for v in table[-1]) if table.shape[0] else None
                bar.close(int(table.shape[0]), last)
        history = history_of(losses, done, status in ("stopped", "early_stopped"), table, best)
        if status == "nonfinite":
            kept = (f"those of iteration {done - 1}, whose loss {history.final_loss:.6g} was finite"
                    if done else "the initial ones")
            err = FloatingPointError(
                f"fit: the loss became NaN or Inf at iteration {done} (epoch {done // per_epoch}), "
                f"or the update before it made a weight NaN or Inf; training stopped and the "
                f"weights are {kept}. Try a smaller lr (was {rate}).")
            err.history = history  # type: ignore[attr-defined]
            raise err
        return history

    # ------------------------------------------------------------ copies and backends

    def copy(self) -> "Network":
        """An independent copy: the same weights, loss and optimizer state."""
        with self._lock:
            return self._like(self._params.copy(), self._backend)

    def with_backend(self, backend: str) -> "Network":
        """An identical network (a copy) that computes with the named backend."""
        _backend_module(backend)
        with self._lock:
            return self._like(self._params.copy(), backend)

    @classmethod
    def from_weights(cls, weights: Sequence[Any], biases: Sequence[Any],
                     activation: Union[str, Sequence[str]] = "sigmoid",
                     output_activation: Optional[str] = None, backend: str = "native",
                     dtype: Any = None, loss: str = "mse") -> "Network":
        """A network holding the given W_l (inputs, outputs) and b_l (outputs,).

        dtype None keeps float32 when every array is float32, else float64.
        Biases shaped (1, outputs), as in the tutorial, are accepted too.
        """
        for arg, val in (("weights", weights), ("biases", biases)):
            if isinstance(val, np.ndarray) or not isinstance(val, Sequence):
                raise TypeError(f"{arg}: expected a list of arrays, got {type(val).__name__}")
        if len(weights) < 1:
            raise ValueError("weights: expected at least 1 weight matrix, got 0")
        if len(biases) != len(weights):
            raise ValueError(f"biases: expected {len(weights)} arrays (one per weight matrix), "
                             f"got {len(biases)}")
        Ws = [check.real_array(W, f"weights[{i}]") for i, W in enumerate(weights)]
        bs = [check.real_array(b, f"biases[{i}]") for i, b in enumerate(biases)]
        sizes: list[int] = []
        for i, (W, b) in enumerate(zip(Ws, bs)):
            if W.ndim != 2:
                raise ValueError(f"weights[{i}]: expected a 2-D array (inputs, outputs), "
                                 f"got shape {W.shape}")
            if i > 0 and W.shape[0] != sizes[-1]:
                raise ValueError(f"weights[{i}]: expected {sizes[-1]} rows (the outputs of "
                                 f"weights[{i - 1}]), got shape {W.shape}")
            if b.ndim == 2 and b.shape[0] == 1:
                bs[i] = b = b.reshape(-1)
            if b.shape != (W.shape[1],):
                raise ValueError(f"biases[{i}]: expected shape ({W.shape[1]},), got {b.shape}")
            if i == 0:
                sizes.append(W.shape[0])
            sizes.append(W.shape[1])
        sizes_t = check.layer_sizes(sizes, "layer sizes")
        acts = _activation_list(activation, output_activation, len(Ws))
        loss = check.loss_pairing(acts, loss, sizes_t[-1])
        if dtype is None:
            f32 = all(a.dtype == np.float32 for a in Ws + bs)
            dt = np.dtype(np.float32 if f32 else np.float64)
        else:
            dt = check.dtype(dtype)
        _backend_module(backend)
        params = _zeros(_layout.num_parameters(sizes_t), dt, "weights")
        for i, ((W, b), (Wv, bv)) in enumerate(zip(zip(Ws, bs), _layout.unpack(params, sizes_t))):
            with np.errstate(over="ignore"):
                Wv[...] = W
                bv[...] = b
            check.finite(Wv, f"weights[{i}]")
            check.finite(bv, f"biases[{i}]")
        net = cls.__new__(cls)
        net._setup(sizes_t, acts, loss, params, backend, None)
        return net

    # ------------------------------------------------------------ PyTorch and ONNX

    def to_torch(self) -> "torch.nn.Sequential":
        """The network as a ``torch.nn.Sequential``, with the same outputs.

        ``nn.Linear`` layers holding copies of the weights (as ``W_l.T``:
        nn.Linear stores (outputs, inputs)) and biases, in the network's dtype,
        each followed by the torch module that computes its activation (none
        for "linear"; the README lists them). Needs PyTorch (``plainnet[torch]``).
        """
        return _torch.to_torch(self._layer_copies(), self._acts, self.dtype)

    @classmethod
    def from_torch(cls, model: Any, loss: Optional[str] = None,
                   backend: str = "native") -> "Network":
        """A network computing what ``model``, a ``torch.nn.Sequential``, computes.

        The Sequential holds ``nn.Linear`` layers (with bias), each followed
        by at most one of the activation modules ``to_torch`` makes (or
        ``nn.Identity``), with the arguments that compute plainnet's function.
        The network keeps the parameters' dtype (float32 or float64). ``loss``
        None means "cross_entropy" after an ``nn.Softmax``, "mse" otherwise.
        Anything else (another kind of module or layer, an activation with
        other arguments, two activations in a row, a Linear without bias) is
        refused with an error naming the module and its place in the model.
        """
        weights, biases, acts, dtype = _torch.from_torch(model)
        if loss is None:
            loss = "cross_entropy" if acts[-1] == "softmax" else "mse"
        return cls.from_weights(weights, biases, activation=acts, backend=backend,
                                dtype=dtype, loss=loss)

    @overload
    def to_onnx(self, path: None = None) -> "onnx.ModelProto": ...

    @overload
    def to_onnx(self, path: PathLike) -> Path: ...

    def to_onnx(self, path: Optional[PathLike] = None) -> Union[Path, "onnx.ModelProto"]:
        """Write the network as an ONNX model to ``path``; returns the path.

        Without a path, returns the ``onnx.ModelProto`` instead. The model
        (opset 20) takes ``X`` (batch, inputs) and gives ``Y`` (batch,
        outputs) in the network's dtype: a ``Gemm`` per layer and its
        activation's nodes (the README lists them). It passes
        ``onnx.checker.check_model(..., full_check=True)`` before it is
        written (to a temporary name, then renamed). Needs the onnx package
        (``plainnet[onnx]``; onnxruntime runs the model).
        """
        target = None if path is None else check.path(path)
        doc = (f"plainnet {list(self._sizes)}, activations {list(self._acts)}, "
               f"loss {self._loss}")
        proto = _onnx.model(self._layer_copies(), self._acts, self.dtype, doc)
        if target is None:
            return proto
        return _io.write_atomically(target, lambda f: f.write(proto.SerializeToString()))

    # ------------------------------------------------------------ files

    def save(self, path: PathLike) -> Path:
        """Write the network to ``path`` (an .npz archive that NumPy alone can read).

        The archive holds W0, b0, W1, b1, ... and ``meta``, a JSON string with the
        format version, layer sizes, activations, loss and dtype; and, once the
        network has been trained, its optimizer: kind, settings and step count
        in ``meta``, state arrays as ``optimizer_state0, ...``. A network loaded
        from it continues training exactly as this one would. The file is
        written to a temporary name and renamed, so it is never left half-written.
        """
        meta: dict[str, Any] = {"layers": list(self._sizes), "activations": list(self._acts),
                                "loss": self._loss, "dtype": self.dtype.name}
        extra: dict[str, np.ndarray] = {}
        with self._lock:
            layers = self._layer_copies()
            if self._optimizer is not None:
                meta["optimizer"], extra = optim.to_saved(self._optimizer)
        return _io.write(path, meta, [W for W, _ in layers], [b for _, b in layers], extra)

    @classmethod
    def load(cls, path: PathLike, backend: str = "native") -> "Network":
        """Read a network written by ``save`` (with its optimizer, as ``net.optimizer``)."""
        _backend_module(backend)
        meta, weights, biases, extra = _io.read(path)
        where = _io.not_a_save(path)
        try:
            net = cls.from_weights(weights, biases, activation=list(meta["activations"]),
                                   backend=backend, dtype=meta["dtype"],
                                   loss=meta.get("loss", "mse"))
            if meta.get("optimizer") is not None:
                net._optimizer = optim.from_saved(meta["optimizer"], extra, net.num_parameters,
                                                  net.dtype)
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"{where} (inconsistent contents: {exc})") from None
        if net.layers != list(meta["layers"]):
            raise ValueError(f"{where} (layers {meta['layers']} do not match the stored weights "
                             f"{net.layers})")
        return net


def _print_progress(iteration: int, loss: float) -> None:
    print(f"  iteration {iteration:>6d} | loss {loss:.6f}", flush=True)
