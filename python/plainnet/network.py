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
from . import _diagnostics, _io, _layout, _lbfgs, _onnx, _progress, _torch, optim, reference
from ._init import INITS, initialize
from ._plan import FitPlan
from .optim import lr_scheduler
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

# Rows up to which the core predicts through matrix-vector products, reading
# the weights' copy in row panels when it is given (cpp/fast.h kFewRows).
_FEW_ROWS = 4

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


def _private_copy(params: np.ndarray, name: str) -> np.ndarray:
    """A copy of the published parameters for a writer to work on; MemoryError saying so."""
    try:
        return params.copy()
    except MemoryError:
        raise MemoryError(f"{name}: the copy of the {params.size} parameters it trains "
                          f"({params.nbytes} bytes) could not be allocated") from None


def _bytes(n: float) -> str:
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= scale:
            return f"{n / scale:.3g} {unit}"
    return f"{int(n)} bytes"


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

    ``fit`` makes it; the parameters are its fields.

    Parameters
    ----------
    loss : numpy.ndarray
        One value per iteration: the loss of that batch before its update.
    lr : float
        The learning rate used.
    epochs : int
        The epochs asked for.
    batch_size : int or None
        The mini-batch size (None: full batch).
    seed : int
        The seed of the mini-batch order, so that a run can be repeated.
    iterations_per_epoch : int
        Updates per epoch.
    stopped_early : bool, default=False
        Whether patience ran out.
    epoch_loss : numpy.ndarray
        The training loss of every completed epoch: the mean of its batch
        losses, weighted by rows.
    val_loss : numpy.ndarray or None, default=None
        The validation loss of every epoch; None without validation data.
    accuracy : numpy.ndarray or None, default=None
        For the cross-entropies, the accuracy of the predictions made on the
        training batches during each epoch.
    val_accuracy : numpy.ndarray or None, default=None
        For the cross-entropies, the validation accuracy of every epoch.
    best_epoch : int or None, default=None
        The epoch (from 0) of the best value of what ``fit`` monitored (by
        default the lowest validation loss); None when there was none.
    optimizer : plainnet.optim.Optimizer or None, default=None
        The optimizer that trained, with its state.

    Examples
    --------
    >>> import plainnet as pn
    >>> X, y = pn.datasets.xor()
    >>> h = pn.Network([2, 4, 1], seed=42).fit(X, y, lr=2.0, epochs=10000)
    >>> h.iterations, h.epoch_loss.size, h.val_loss is None
    (10000, 10000, True)
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
        """The number of iterations run."""
        return int(self.loss.shape[0])

    @property
    def final_loss(self) -> float:
        """The last iteration's loss (NaN when none ran)."""
        return float(self.loss[-1]) if self.loss.size else math.nan

    @property
    def history(self) -> dict[str, list[float]]:
        """Per-epoch lists keyed as Keras keys them.

        ``loss`` (the epoch's training loss), ``lr`` (the learning rate of
        each epoch), and where they exist ``accuracy``, ``val_loss`` and
        ``val_accuracy``: one float per completed epoch each, so that code
        written for Keras's ``History.history`` reads it unchanged.
        """
        out: dict[str, list[float]] = {"loss": [float(v) for v in self.epoch_loss]}
        for key in ("accuracy", "val_loss", "val_accuracy"):
            values = getattr(self, key)
            if values is not None:
                out[key] = [float(v) for v in values]
        out["lr"] = [float(self.lr)] * len(out["loss"])
        return out

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
    activation : str or list of str, default="sigmoid"
        Activation of every layer, or one name per layer (``len(layers) - 1``).
        One of ``plainnet.ACTIVATIONS``; the output layer may also be
        ``"softmax"`` (with ``loss="cross_entropy"``).
    output_activation : str or None, default=None
        Activation of the last layer when ``activation`` is a single name;
        None keeps ``activation`` there too.
    init : {"normal", "xavier", "he"}, default="normal"
        ``normal`` draws ``randn(in, out) * init_scale`` for W0, W1, ... in
        order from ``numpy.random.RandomState(seed)``; xavier uses standard
        deviation ``sqrt(2 / (in + out))`` and he ``sqrt(2 / in)``, each times
        ``init_scale``. Biases start at zero.
    init_scale : float or None, default=None
        The factor above: 0.5 for ``normal`` and 1 for ``xavier`` and ``he``
        unless given.
    seed : int or None, default=None
        Seed for the initial weights; None draws fresh entropy.
    dtype : {"float64", "float32"}, default="float64"
        The parameters' and the computation's floating-point type.
    backend : {"native", "numpy"}, default="native"
        The C++ core or its NumPy twin (``plainnet.reference``); they compute
        the same numbers.
    loss : {"mse", "binary_cross_entropy", "cross_entropy"}, default="mse"
        What training minimises: the mean squared error; binary
        cross-entropy, for a sigmoid output and targets in [0, 1];
        cross-entropy, for a softmax output and probability rows or integer
        class labels.
    dropout : float or sequence of float, default=0.0
        Inverted dropout on the hidden layers' outputs while training: one
        rate p in [0, 1) for every hidden layer, or one per hidden layer.
        ``fit`` and ``step`` zero each unit with probability p and scale the
        kept ones by ``1 / (1 - p)``; ``forward``, ``predict``, ``evaluate``,
        ``loss`` and ``gradients`` compute the network without it (the
        inference network). The masks are drawn from the fit's seed, epoch
        and batch, the same on both backends and any number of threads.

    Raises
    ------
    ValueError
        A bad value (a width below 1, an unknown name, a loss that does not go
        with the output activation), naming the argument.
    TypeError
        An argument of the wrong type, naming it.

    See Also
    --------
    Network.fit : Train the network.
    plainnet.sklearn.MLPClassifier : The same network as a scikit-learn estimator.

    Examples
    --------
    >>> import numpy as np
    >>> import plainnet as pn
    >>> X, y = pn.datasets.xor()
    >>> net = pn.Network([2, 4, 1], activation="sigmoid", seed=42)
    >>> net
    Network([2, 4, 1], activations=['sigmoid', 'sigmoid'], dtype=float64, backend='native', parameters=17)
    >>> history = net.fit(X, y, lr=2.0, epochs=10000)
    >>> print(np.round(net.forward(X)).ravel())
    [0. 1. 1. 0.]
    """

    def __init__(self, layers: Sequence[int], activation: Union[str, Sequence[str]] = "sigmoid",
                 output_activation: Optional[str] = None, init: str = "normal",
                 init_scale: Optional[float] = None, seed: Optional[int] = None,
                 dtype: Any = "float64", backend: str = "native", loss: str = "mse",
                 dropout: Any = 0.0) -> None:
        sizes = check.layer_sizes(layers)
        acts = _activation_list(activation, output_activation, len(sizes) - 1)
        loss = check.loss_pairing(acts, loss, sizes[-1])
        rates = check.dropout(dropout, len(sizes) - 2)
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
        self._setup(sizes, acts, loss, params, backend, None, rates)

    def _setup(self, sizes: tuple[int, ...], acts: tuple[str, ...], loss: str, params: np.ndarray,
               backend: str, optimizer: Optional[optim.Optimizer],
               dropout: tuple[float, ...] = ()) -> None:
        self._sizes = sizes
        self._acts = acts
        self._loss = loss
        # Training's dropout rate of each hidden layer (0: none).
        self._dropout = dropout if dropout else (0.0,) * (len(sizes) - 2)
        # The published parameters. Readers (forward, evaluate, gradients, ...)
        # take no lock: each reads this attribute once and computes on that
        # array. An array, once published here, is never written again: a
        # writer (fit, step) holds _lock, trains a private copy and publishes
        # it by rebinding the attribute (one atomic store), so a reader sees
        # the weights before a write or after it, never a mixture.
        self._params = params
        # (params, made, panels): the weights of the last prediction of a few
        # rows, and whether their copy in row panels is made (see _row_panels).
        self._panels: Optional[tuple[np.ndarray, bool, Any]] = None
        self._backend = backend
        self._impl = _backend_module(backend)
        self._optimizer = optimizer
        # Held by writers (they exclude each other) and by what must see the
        # parameters and the optimizer together (copy, pickle, save).
        self._lock = threading.RLock()

    # A Network is a value: pickle, copy.copy and copy.deepcopy give an
    # independent network with the same numbers, its own copy of the
    # optimizer (and a lock of its own).
    def __getstate__(self) -> dict[str, Any]:
        with self._lock:
            return {"layers": self._sizes, "activations": self._acts, "loss": self._loss,
                    "params": self._params.copy(), "backend": self._backend,
                    "optimizer": None if self._optimizer is None else self._optimizer.copy(),
                    "dropout": self._dropout}

    def __setstate__(self, state: Any) -> None:
        # A pickle may come from anyone: the state is checked as a save is.
        if not isinstance(state, dict):
            raise ValueError(f"unpickle: expected a Network's state (a dict), got "
                             f"{type(state).__name__}")
        missing = sorted({"layers", "activations", "params", "backend"} - state.keys())
        if missing:
            raise ValueError(f"unpickle: the Network's state has no {', '.join(missing)}")
        layers, acts = state["layers"], state["activations"]
        if not isinstance(layers, (tuple, list)) or not isinstance(acts, (tuple, list)):
            raise ValueError("unpickle: the Network's state holds layers and activations that "
                             "are not lists")
        backend = state["backend"]
        if not isinstance(backend, str) or backend not in BACKENDS:
            raise ValueError(f"unpickle: the Network's backend {backend!r:.60} is not one of "
                             f"{BACKENDS}")
        params = state["params"]
        if not isinstance(params, np.ndarray):
            raise ValueError(f"unpickle: the Network's parameters are a "
                             f"{type(params).__name__}, expected a NumPy array")
        if type(params) is not np.ndarray:  # a memmap (joblib), or another subclass
            params = np.array(params, subok=False)
        _adopt(self, layers, acts, state.get("loss", "mse"), params, backend,
               state.get("optimizer"), "unpickle", dropout=state.get("dropout", 0.0))
    def __copy__(self) -> "Network":
        return self.copy()

    def __deepcopy__(self, memo: dict[int, Any]) -> "Network":
        return self.copy()

    def _like(self, params: np.ndarray, backend: str) -> "Network":
        """A network with this one's layout and optimizer (copied) around params."""
        net = Network.__new__(Network)
        net._setup(self._sizes, self._acts, self._loss, params, backend,
                   None if self._optimizer is None else self._optimizer.copy(), self._dropout)
        return net

    # ------------------------------------------------------------ inspection

    @property
    def layers(self) -> list[int]:
        """The layer widths, inputs first."""
        return list(self._sizes)

    @property
    def activations(self) -> list[str]:
        """Each layer's activation, one name per layer."""
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
    def dropout(self) -> list[float]:
        """Training's dropout rate of each hidden layer (0.0: none); fixed at construction."""
        return list(self._dropout)

    def _dropout_repr(self) -> str:
        """The rates as the constructor takes them: one number when they are all equal."""
        rates = self._dropout
        return repr(rates[0]) if len(set(rates)) == 1 else repr(list(rates))

    @property
    def num_parameters(self) -> int:
        """The number of weights and biases."""
        return int(self._params.size)

    @property
    def dtype(self) -> np.dtype:
        """The parameters' dtype, float64 or float32."""
        return self._params.dtype

    @property
    def backend(self) -> str:
        """The backend that computes: "native" or "numpy"."""
        return self._backend

    def _layer_copies(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """Copies of every (W_l, b_l), all of one published set of parameters."""
        return [(W.copy(), b.copy()) for W, b in _layout.unpack(self._params, self._sizes)]

    def _snapshot(self, index: int) -> list[np.ndarray]:
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
        if any(self._dropout):
            loss += f", dropout={self._dropout_repr()}"
        return (f"Network({list(self._sizes)}, activations={list(self._acts)}{loss}, "
                f"dtype={self.dtype.name}, backend={self._backend!r}, "
                f"parameters={self.num_parameters})")

    # ------------------------------------------------------------ computing

    @contextlib.contextmanager
    def _memory_for(self, what: str, rows: int) -> Any:
        """Turn running out of memory in a computation into a MemoryError saying what it needed.

        Nothing is changed by a computation that fails: the message says so.
        """
        try:
            yield
        except MemoryError:
            raise self._out_of_memory(what, rows) from None

    def _out_of_memory(self, what: str, rows: int) -> MemoryError:
        """_memory_for's error, for the calls that catch MemoryError themselves (forward:
        entering a context manager cost about 0.8 us, a quarter of a one-row prediction of a
        small network)."""
        size = self.dtype.itemsize
        per_row = 2 * sum(self._sizes[1:]) * size  # every layer's weighted sum and output
        return MemoryError(
            f"{what}: out of memory for {rows} rows: each row's pass through the layers "
            f"takes {_bytes(per_row)} ({_bytes(per_row * rows)} for all {rows} at once; the "
            f"widest layer has {max(self._sizes[1:])} units of {self.dtype.name}); pass fewer "
            f"rows at a time. The network is unchanged.")

    def _x(self, X: Any, name: str = "X") -> np.ndarray:
        return check.samples(X, name, self._sizes[0], self.dtype)

    def _xy(self, X: Any, y: Any, names: tuple[str, str] = ("X", "y")
            ) -> tuple[np.ndarray, np.ndarray]:
        x = self._x(X, names[0])
        t = check.targets(y, names[1], self._loss, self._sizes[-1], self.dtype, x.shape[0])
        return x, t

    def forward(self, X: Any) -> np.ndarray:
        """Compute the network's outputs for a batch of rows.

        Parameters
        ----------
        X : array_like, shape (m, inputs)
            The inputs, one row per sample (a 1-D array for one input column is
            not accepted: pass ``X.reshape(-1, 1)``). Integers, bools, float32 and
            pandas DataFrames are converted.

        Returns
        -------
        numpy.ndarray, shape (m, outputs)
            The output activation's values: probabilities for softmax and sigmoid
            outputs.

        Raises
        ------
        ValueError
            X has the wrong number of columns, no rows, or NaN or Inf.
        TypeError
            X is not numeric.

        Examples
        --------
        >>> import plainnet as pn
        >>> net = pn.Network([2, 3, 2], output_activation="softmax", loss="cross_entropy", seed=0)
        >>> net.forward([[0.0, 1.0], [1.0, 0.0]]).sum(axis=1)
        array([1., 1.])
        """
        params = self._params  # one read: the weights this call computes with
        if self._backend != "native":
            x = self._x(X)
            with self._memory_for("predict", x.shape[0]):
                ref: np.ndarray = self._impl.forward(params, self._sizes, self._acts, self._loss,
                                                     x)
            return ref
        # The core checks X for NaN/Inf chunk by chunk as it reads it: one
        # pass over X fewer than a check here, which on a large X took as
        # long as the predictions themselves.
        if (type(X) is np.ndarray and X.ndim == 2 and X.dtype == self._params.dtype
                and X.flags.c_contiguous and X.shape[0] > 0 and X.shape[1] == self._sizes[0]):
            x = X  # already what samples() returns: skip its checks (a few us a call)
        else:
            x = check.samples(X, "X", self._sizes[0], self.dtype, check_finite=False)
        panels = self._row_panels(params) if x.shape[0] <= _FEW_ROWS else None
        try:
            out: np.ndarray = self._impl.forward(params, self._sizes, self._acts, self._loss, x,
                                                 panels)
        except MemoryError:
            raise self._out_of_memory("predict", x.shape[0]) from None
        except ValueError:
            self._x(X)  # the full check's own message (it tells a value that overflowed
            raise       # when converted to float32 from a NaN/Inf given as such)
        return out

    predict = forward

    def _row_panels(self, params: np.ndarray) -> Any:
        """The copy of params' wide layers that the core reads for a few rows
        (``_core.row_panels``): each pass over a layer's weights then reads one
        stream instead of a slice of every row, and a one-row 784-512-512-10
        prediction took a fifth less time (float32; float64 over a quarter).
        Made on the second prediction of a few rows with the same weights, so
        that a loop that predicts a row after each training step never pays
        for a copy it uses once; kept until the weights are replaced. A
        published array is never written again (_setup), so the copy cannot go
        stale; its identity is the key. Readers may race here: each makes or
        finds a copy of the weights it computes with."""
        seen = self._panels
        if seen is None or seen[0] is not params:
            self._panels = (params, False, None)
            return None
        if not seen[1]:
            seen = (params, True, self._impl.row_panels(params, self._sizes))
            self._panels = seen
        return seen[2]

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, for networks trained on a cross-entropy.

        Parameters
        ----------
        X : array_like, shape (m, inputs)
            The inputs, as for ``forward``.

        Returns
        -------
        numpy.ndarray, shape (m, outputs)
            For ``cross_entropy``, each row's softmax (the rows sum to 1); for
            ``binary_cross_entropy``, each output's probability of being 1.

        Raises
        ------
        ValueError
            The network's loss is ``"mse"``: its outputs are no probabilities.

        Examples
        --------
        >>> import plainnet as pn
        >>> net = pn.Network([2, 3, 3], output_activation="softmax", loss="cross_entropy", seed=0)
        >>> print(net.predict_proba([[0.5, -1.0]]).sum().round(12))
        1.0
        """
        if self._loss == "mse":
            raise ValueError("predict_proba: a network trained on 'mse' gives no probabilities; "
                             "use predict, or loss='cross_entropy' (softmax output) or "
                             "'binary_cross_entropy' (sigmoid output)")
        return self.forward(X)

    def summary(self, print_fn: Optional[Callable[[str], Any]] = print) -> str:
        """A table of the layers, their activations and parameter counts, as Keras prints it.

        Parameters
        ----------
        print_fn : callable or None, default=print
            Called with the table; None only returns it.

        Returns
        -------
        str
            The table: one row per layer (its shape, activation and
            parameters; a hidden layer with dropout is followed by a row with
            its rate), then the total, the dtype, the loss, the backend and
            the optimizer (the one the last ``fit`` used, with its step count).

        Examples
        --------
        >>> import plainnet as pn
        >>> text = pn.Network([2, 4, 1], seed=0).summary(print_fn=None)
        >>> print(text.splitlines()[-5])
        total parameters: 17
        """
        rows = [("layer", "shape", "activation", "parameters")]
        for i, (n_in, n_out) in enumerate(zip(self._sizes[:-1], self._sizes[1:])):
            rows.append((f"dense {i}", f"{n_in} -> {n_out}", self._acts[i],
                         f"{n_in * n_out + n_out:,}"))
            if i < len(self._dropout) and self._dropout[i]:
                rows.append((f"dropout {i}", f"p = {self._dropout[i]:g}", "(training)", "0"))
        widths = [max(len(r[c]) for r in rows) for c in range(4)]
        line = "-" * (sum(widths) + 6)
        table = [line]
        for j, r in enumerate(rows):
            table.append("  ".join(v.ljust(w) if c < 3 else v.rjust(w)
                                   for c, (v, w) in enumerate(zip(r, widths))))
            if j == 0:
                table.append(line)
        opt = self._optimizer
        table += [line, f"total parameters: {self.num_parameters:,}",
                  f"dtype: {self.dtype.name}", f"loss: {self._loss}",
                  f"backend: {self._backend}",
                  f"optimizer: {'none yet' if opt is None else repr(opt)}"]
        text = "\n".join(table)
        if print_fn is not None:
            print_fn(text)
        return text

    def predict_classes(self, X: Any) -> np.ndarray:
        """Predict classes as integers.

        Parameters
        ----------
        X : array_like, shape (m, inputs)
            The inputs.

        Returns
        -------
        numpy.ndarray of int64
            The arg-max of each row, shape (m,), for networks with more than one
            output; for binary cross-entropy (and any single-output network), each
            output against 0.5, shape (m, outputs).

        Examples
        --------
        >>> import plainnet as pn
        >>> X, y = pn.datasets.xor()
        >>> net = pn.Network([2, 4, 1], seed=42)
        >>> _ = net.fit(X, y, lr=2.0, epochs=10000)
        >>> net.predict_classes(X).ravel()
        array([0, 1, 1, 0])
        """
        out = self.forward(X)
        if self._loss == "binary_cross_entropy" or out.shape[1] == 1:
            classes: np.ndarray = (out > 0.5).astype(np.int64)
        else:
            classes = np.argmax(out, axis=1).astype(np.int64)
        return classes

    def forward_trace(self, X: Any) -> list[tuple[np.ndarray, np.ndarray]]:
        """Compute every layer's weighted sums and activations, for inspection.

        Parameters
        ----------
        X : array_like, shape (m, inputs)
            The inputs.

        Returns
        -------
        list of tuple of numpy.ndarray
            ``[(z_l, a_l), ...]``, one pair per layer, each of shape
            (m, layer width): ``z_l = a_{l-1} @ W_l + b_l`` and ``a_l``, its
            activation.

        Examples
        --------
        >>> import plainnet as pn
        >>> net = pn.Network([2, 4, 1], seed=42)
        >>> [(z.shape, a.shape) for z, a in net.forward_trace([[0, 1], [1, 1]])]
        [((2, 4), (2, 4)), ((2, 1), (2, 1))]
        """
        x = self._x(X)
        # both backends return freshly allocated arrays, owned by the caller
        return list(self._impl.forward_trace(self._params, self._sizes, self._acts, self._loss,
                                             x))

    def _evaluate(self, x: np.ndarray, t: np.ndarray) -> tuple[float, int]:
        with self._memory_for("evaluate", x.shape[0]):
            loss, correct = self._impl.evaluate(self._params, self._sizes, self._acts,
                                                self._loss, x, t)
        return float(loss), int(correct)

    def loss(self, X: Any, y: Any) -> float:
        """Compute the loss on (X, y), as ``fit`` reports it.

        Parameters
        ----------
        X : array_like, shape (m, inputs)
            The inputs.
        y : array_like
            The targets: shape (m, outputs); a 1-D array for one output; for
            ``cross_entropy``, probability rows or integer class labels (m,).

        Returns
        -------
        float
            For mse, the mean over all elements of ``(prediction - y)**2``; for
            the cross-entropies, their sum over outputs averaged over rows.
            The loss of the inference network: without ``dropout``, which
            applies in ``fit`` and ``step`` only (whose losses are those of
            the masked network).

        Raises
        ------
        ValueError
            Targets the loss cannot mean (see the user guide's Losses page), or
            shapes that do not match.

        Examples
        --------
        >>> import plainnet as pn
        >>> X, y = pn.datasets.xor()
        >>> print(round(pn.Network([2, 4, 1], seed=42).loss(X, y), 12))
        0.255675300233
        """
        x, t = self._xy(X, y)
        return self._evaluate(x, t)[0]

    def evaluate(self, X: Any, y: Any) -> dict[str, float]:
        """Compute the loss, and the accuracy where it means something.

        Parameters
        ----------
        X : array_like, shape (m, inputs)
            The inputs.
        y : array_like
            The targets, as for ``loss``.

        Returns
        -------
        dict
            ``{"loss": ...}``, plus ``"accuracy"`` for cross-entropy networks (the
            fraction of rows whose arg-max matches the target's) and binary
            cross-entropy networks (the fraction of outputs on the target's side
            of 0.5).

        Examples
        --------
        >>> import numpy as np
        >>> import plainnet as pn
        >>> net = pn.Network([3, 5, 3], activation="tanh", output_activation="softmax",
        ...                  loss="cross_entropy", seed=0)
        >>> X = np.random.default_rng(0).random((8, 3))
        >>> net.evaluate(X, [0, 2, 1, 2, 0, 1, 1, 0])
        {'loss': 1.1449216255357084, 'accuracy': 0.375}
        """
        x, t = self._xy(X, y)
        loss, correct = self._evaluate(x, t)
        result = {"loss": loss}
        if self._loss != "mse":
            per_row = t.shape[1] if self._loss == "binary_cross_entropy" else 1
            result["accuracy"] = correct / (t.shape[0] * per_row)
        return result

    def gradients(self, X: Any, y: Any) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Compute the gradient of the training objective E on (X, y).

        Parameters
        ----------
        X : array_like, shape (m, inputs)
            The inputs.
        y : array_like
            The targets, as for ``loss``.

        Returns
        -------
        dW : list of numpy.ndarray
            One array per layer, shaped as ``weights``.
        db : list of numpy.ndarray
            One array per layer, shaped as ``biases``.

        Notes
        -----
        E is ``1/(2m) * sum((prediction - y)**2)`` for mse (the tutorial's
        convention) and the reported loss for the cross-entropies.
        ``plainnet.gradcheck`` compares these with finite differences. They
        are the gradients of the inference network: a network's ``dropout``
        applies in ``fit`` and ``step`` only.

        Examples
        --------
        >>> import plainnet as pn
        >>> X, y = pn.datasets.xor()
        >>> dW, db = pn.Network([2, 4, 1], seed=42).gradients(X, y)
        >>> [w.shape for w in dW], [b.shape for b in db]
        ([(2, 4), (4, 1)], [(4,), (1,)])
        """
        x, t = self._xy(X, y)
        with self._memory_for("gradients", x.shape[0]):
            _, grads = self._impl.gradients(self._params, self._sizes, self._acts, self._loss, x,
                                            t)
        layers = _layout.unpack(grads, self._sizes)
        return [W for W, _ in layers], [b for _, b in layers]

    def fit_lbfgs(self, X: Any, y: Any, max_iter: int = 200, max_fun: int = 15000,
                  tol: float = 1e-4, sample_weight: Any = None, l2: float = 0.0) -> History:
        """Train on all of (X, y) at once with L-BFGS, as scikit-learn's ``solver="lbfgs"``.

        scipy's ``minimize(method="L-BFGS-B")`` searches; each evaluation of the
        objective and its gradient is one call into the backend over all the
        rows. For small data sets (up to some thousands of rows) this often
        reaches a lower loss in less time than mini-batch training, with no
        learning rate to tune. Needs scipy (``pip install scipy``).

        Parameters
        ----------
        X : array_like, shape (m, inputs)
            The inputs.
        y : array_like
            The targets, as for ``fit``.
        max_iter : int, default=200
            L-BFGS iterations at most (scipy's ``maxiter``).
        max_fun : int, default=15000
            Evaluations of the objective at most (``maxfun``); a line search
            may take several per iteration.
        tol : float, default=1e-4
            Stop when every entry of the projected gradient is at most this
            (``gtol``), or when the objective changes by less than scipy's
            ``ftol`` in an iteration.
        sample_weight : array_like or None, default=None
            One number >= 0 per row, as for ``fit``.
        l2 : float, default=0.0
            The penalty ``l2 / (2 w) * sum_l ||W_l||**2`` (w: the rows, or the
            sum of their weights), as for ``fit``: scikit-learn's ``alpha``.

        Returns
        -------
        History
            ``loss`` and ``epoch_loss`` hold the objective after each
            iteration (E, the loss whose gradient is followed, plus the
            penalty: for mse that is ``outputs / 2`` times the reported loss);
            ``lr`` is NaN (there is none) and ``epochs`` is ``max_iter``.

        Raises
        ------
        FloatingPointError
            The objective was NaN or Inf where the search ended; the network is
            unchanged.
        ValueError, TypeError
            A bad argument, naming it; nothing has been trained.
        ImportError
            scipy is not installed.

        See Also
        --------
        fit : Mini-batch training with an optimizer.
        plainnet.sklearn.MLPClassifier : ``solver="lbfgs"`` calls this.

        Notes
        -----
        A writer, as ``fit`` is: the search runs on a private copy of the
        weights, published when it ends; Ctrl-C or an error leaves the weights
        as they were. The network's optimizer (``Network.optimizer``) is left
        as it was. Reaching ``max_iter`` or ``max_fun`` is not an error: compare
        ``History.iterations`` with ``max_iter``.

        Examples
        --------
        >>> import plainnet as pn
        >>> X, y = pn.datasets.xor()
        >>> net = pn.Network([2, 4, 1], activation="tanh", output_activation="sigmoid",
        ...                  loss="binary_cross_entropy", seed=0)
        >>> h = net.fit_lbfgs(X, y, tol=1e-8)
        >>> print(net.predict_classes(X).ravel(), h.final_loss < 1e-3)
        [0 1 1 0] True
        """
        return _lbfgs.fit(self, X, y, max_iter, max_fun, tol, sample_weight, l2)[0]

    def diagnose(self, X: Any, y: Any,
                 history: Optional[History] = None) -> "_diagnostics.Diagnosis":
        """Measure every layer on (X, y) and say in plain words what looks wrong.

        Parameters
        ----------
        X : array_like, shape (m, inputs)
            The inputs.
        y : array_like
            The targets, as for ``loss``.
        history : History or None, default=None
            What ``fit`` returned, for more evidence: whether the loss rose,
            oscillated or is still falling, and the learning rate.

        Returns
        -------
        Diagnosis
            Per layer, the fraction of dead units (relu-like layers) and of
            saturated units (sigmoid, tanh), and ``|dW| / |W|``; the loss next to
            that of predicting the targets' mean; and ``hints``, each with a
            stable ``code`` ("lr_too_high", "lr_too_low", "too_few_units",
            "stuck", "not_converged", "dead_units", "saturated_units",
            "vanishing_gradient") and a message; no hints when nothing looks
            wrong. ``str(report)`` prints it all.

        See Also
        --------
        plainnet.gradcheck : Check the gradients themselves.

        Examples
        --------
        >>> import plainnet as pn
        >>> X, y = pn.datasets.xor()
        >>> net = pn.Network([2, 4, 1], seed=42)
        >>> report = net.diagnose(X, y, net.fit(X, y, lr=0.001, epochs=10000))
        >>> [hint.code for hint in report.hints]
        ['lr_too_low']
        """
        return _diagnostics.diagnose(self, X, y, history)

    def step(self, X: Any, y: Any, lr: float, seed: Optional[int] = None) -> float:
        """Make one forward, backward and gradient-descent update on (X, y).

        Parameters
        ----------
        X : array_like, shape (m, inputs)
            The inputs.
        y : array_like
            The targets, as for ``loss``.
        lr : float
            The learning rate, > 0.
        seed : int or None, default=None
            With ``dropout``, the key of the step's masks (those of the first
            batch of a ``fit`` with this seed); None draws one. Without
            dropout it changes nothing.

        Returns
        -------
        float
            The loss before the update.

        Raises
        ------
        FloatingPointError
            That loss is NaN or Inf, or the update would make a weight NaN or
            Inf; the weights are left unchanged.

        Notes
        -----
        Like ``fit``, a writer: it waits for other writers, updates a copy of
        the weights and publishes it; readers in other threads see the weights
        before or after, never a mixture.

        Examples
        --------
        >>> import plainnet as pn
        >>> X, y = pn.datasets.xor()
        >>> net = pn.Network([2, 4, 1], seed=42)
        >>> net.step(X, y, lr=2.0) > net.loss(X, y)
        True
        """
        x, t = self._xy(X, y)
        rate = check.learning_rate(lr, self.dtype)
        key = _draw_seed() if seed is None else check.fit_seed(seed)
        with self._lock:  # a writer: updates a copy and publishes it
            params = _private_copy(self._params, "step")
            loss, updated = self._impl.step(params, self._sizes, self._acts, self._loss, x, t,
                                            rate, dropout=self._dropout, seed=key)
            if updated:
                self._params = params
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
            optimizer: Union[optim.Optimizer, str, None] = None, validation_data: Any = None,
            validation_split: Optional[float] = None, patience: Optional[int] = None,
            min_delta: float = 0.0, restore_best: bool = True,
            monitor: Optional[str] = None, sample_weight: Any = None,
            l2: float = 0.0, progress: Any = False,
            scheduler: Optional[lr_scheduler.LRScheduler] = None,
            clip_norm: Optional[float] = None, clip_value: Optional[float] = None) -> History:
        """Train the network.

        Parameters
        ----------
        X : array_like, shape (n, inputs)
            The training inputs.
        y : array_like
            The training targets, as for ``loss``.
        lr : float or None, default=None
            The step of plain gradient descent, 2.0 unless given; refused together
            with ``optimizer``, which has its own.
        epochs : int, default=10000
            Passes over the data; with ``batch_size=None`` one iteration each.
        batch_size : int or None, default=None
            None trains on all rows at once (full batch); an int on mini-batches
            of that many rows (the last of an epoch may be smaller).
        shuffle : bool, default=True
            Draw each epoch's order of the rows afresh from ``seed``.
        seed : int or None, default=None
            Seed of the mini-batch order and of dropout's masks; None draws
            one, recorded in ``History.seed``.
        log_every : int, default=0
            Call ``callback`` every that many iterations (counting from 0); with
            no callback, print the loss then.
        callback : callable or None, default=None
            ``callback(iteration, loss)``; returning False stops training. With
            ``log_every=0`` it is called every iteration. An exception it raises
            stops training and reaches the caller as it is; the weights are those
            after the iteration it was called for.
        optimizer : plainnet.optim.Optimizer, str or None, default=None
            ``SGD``, ``Adam``, ``AdamW`` or ``Rprop``, whose rule and learning
            rate are used; or one of their names, ``"sgd"``, ``"adam"``,
            ``"adamw"``, ``"rprop"``: a new one with torch's defaults (``lr``,
            if given, is its learning rate; SGD's default is torch's 1e-3). Its state carries on into the next fit given the same
            object (``net.optimizer`` is the one the last fit used), and so does
            the mini-batch order: it shuffles as the following epochs of one long
            run would.
        validation_data : tuple or None, default=None
            ``(X_val, y_val)``, evaluated after every epoch.
        validation_split : float or None, default=None
            A fraction of the rows to hold out instead: the last ones, taken
            before any shuffling, as Keras does.
        patience : int or None, default=None
            Stop once what ``monitor`` watches has not improved by more than
            ``min_delta`` for that many epochs in a row.
        min_delta : float, default=0.0
            The least change that counts as an improvement.
        restore_best : bool, default=True
            With ``patience`` and a validation monitor, put the best epoch's
            weights back when training stops (the optimizer's state stays that of
            the last epoch).
        monitor : {"val_loss", "val_accuracy", "loss"} or None, default=None
            What patience and ``History.best_epoch`` watch: the validation loss
            (the default when there is validation data), the validation accuracy
            (higher is better; the cross-entropies only), or the epoch's training
            loss (``History.epoch_loss``), which needs no validation data and whose
            weights are never put back.
        sample_weight : array_like or None, default=None
            One number >= 0 per row of X: each batch's loss, and the objective it
            descends, is the weighted mean over its rows. With ``validation_split``
            the held-out rows' weights are dropped: validation is unweighted.
        l2 : float, default=0.0
            Adds ``l2 / (2 w) * sum_l ||W_l||**2`` to every batch's objective and
            reported loss, where w is the batch's number of rows (or the sum of its
            weights): the weights only, not the biases. This is scikit-learn's
            ``alpha``; an optimizer's ``weight_decay`` is torch's.
        progress : bool, dict, callable or None, default=False
            True shows a tqdm bar (``tqdm.auto``) over the epochs with the latest
            epoch's metrics; a dict gives ``tqdm.auto.tqdm`` keyword arguments
            (``{"disable": None}`` shows nothing when not on a terminal); a tqdm
            class, or any callable taking its keyword arguments, makes the bar.
            Needs tqdm (``pip install "plainnet[progress]"``). The numbers are the
            same with and without a bar.
        scheduler : plainnet.optim.lr_scheduler.LRScheduler or None, default=None
            A learning-rate schedule (``StepLR``, ``MultiStepLR``,
            ``ExponentialLR``, ``CosineAnnealingLR``, ``OneCycleLR``,
            ``ReduceLROnPlateau``), stepped inside the training loop as torch's
            are: after every epoch, or before every update for ``OneCycleLR``;
            ``ReduceLROnPlateau`` watches ``monitor``. It starts from the
            optimizer's ``lr`` and then belongs to the optimizer
            (``net.optimizer.scheduler``): None continues the optimizer's own
            schedule, if it has one.
        clip_norm : float or None, default=None
            Scale each batch's gradient (``l2`` included) so that its 2-norm over
            all parameters is at most this: ``torch.nn.utils.clip_grad_norm_``,
            which multiplies by ``clip_norm / (norm + 1e-6)`` when that is below 1.
        clip_value : float or None, default=None
            Clamp each entry of each batch's gradient to ``[-clip_value,
            clip_value]``: ``torch.nn.utils.clip_grad_value_``. Not together with
            ``clip_norm``.

        Returns
        -------
        History
            A loss per iteration, and the metrics of every epoch.

        Raises
        ------
        FloatingPointError
            The loss became NaN or Inf, or an update would make a weight NaN or
            Inf. The network keeps the weights of the last iteration whose loss
            was finite; the exception's ``history`` attribute holds the losses up
            to there.
        KeyboardInterrupt
            Ctrl-C stops training within 0.5 s (checked every 50 ms of wall
            time, after every layer of every iteration); the weights are those
            of the last completed iteration and the exception's ``history``
            holds the losses up to there.
        ValueError
            A bad value, naming the argument; nothing has been trained.
        TypeError
            An argument of the wrong type, naming it; nothing has been trained.
        ImportError
            ``progress`` was asked for without tqdm installed, before any training.

        Warns
        -----
        RuntimeWarning
            Once, when a fit of 5 epochs or more failed: its last epoch's
            training loss is no lower than its first, or (cross_entropy) its
            last epoch's training accuracy is at chance. The message gives
            ``diagnose()``'s findings and what to try. A fit that went well
            costs two comparisons. Silence it as any warning.

        See Also
        --------
        plainnet.optim : The optimizers.
        fit_lbfgs : Full-batch training with L-BFGS, for small data.

        Notes
        -----
        The whole loop runs in the core (or its NumPy twin) with the GIL released.

        Threads: another thread calling ``fit`` or ``step`` on the same
        network waits until this call has finished (so do ``copy``, ``save``
        and pickling, which take the weights and the optimizer together).
        Readers (``forward``, ``predict``, ``evaluate``, ``loss``,
        ``gradients``, ``weights``) never wait: training runs on a private
        copy of the weights, and readers see the weights from before this
        call until it publishes new ones: when it ends (however it ends) and
        just before each call of ``callback``, which sees the weights of the
        iteration it is called for.

        Examples
        --------
        >>> import numpy as np
        >>> import plainnet as pn
        >>> rng = np.random.default_rng(2)
        >>> X = rng.random((500, 4))
        >>> y = (X[:, 0] + X[:, 1] > 1).astype(np.int64) + (X[:, 2] > 0.7)
        >>> net = pn.Network([4, 32, 3], activation="relu", output_activation="softmax",
        ...                  loss="cross_entropy", init="he", seed=0)
        >>> h = net.fit(X, y, optimizer=pn.optim.Adam(lr=0.01), epochs=500, batch_size=32,
        ...             seed=0, validation_split=0.2, patience=10)
        >>> h.epoch_loss.size, h.best_epoch, h.stopped_early
        (80, 69, True)
        >>> print(h.val_accuracy[h.best_epoch])
        0.99
        """
        x, t = self._xy(X, y)
        if isinstance(optimizer, str):
            # A name means that optimizer with its defaults (lr, if given, as its rate).
            cls: Any = optim.CLASSES[check.choice(optimizer, "optimizer", tuple(optim.CLASSES))]
            kwargs = {} if lr is None else {"lr": check.learning_rate(lr, self.dtype)}
            if cls is optim.SGD:
                kwargs.setdefault("lr", optim.SGD_DEFAULT_LR)
            optimizer = cls(**kwargs)
            lr = None
        if optimizer is None:
            opt: optim.Optimizer = optim.SGD(check.learning_rate(2.0 if lr is None else lr,
                                                                 self.dtype))
        elif not isinstance(optimizer, optim.Optimizer):
            raise TypeError(f"optimizer: expected a plainnet.optim optimizer (SGD, Adam, AdamW, "
                            f"Rprop), one of their names, or None, got "
                            f"{type(optimizer).__name__} {optimizer!r}")
        elif lr is not None:
            raise ValueError(f"lr: the optimizer has its own (lr={optimizer.lr}); set it there, "
                             f"not in fit")
        else:
            opt = optimizer
            check.learning_rate(opt.lr, self.dtype, "optimizer.lr")
        rate = opt.lr
        n_epochs = check.integer(epochs, "epochs", minimum=0, maximum=_layout.MAX_ELEMENTS)
        if batch_size is not None:
            batch_size = check.integer(batch_size, "batch_size", minimum=1,
                                       maximum=_layout.MAX_ELEMENTS)
        if not isinstance(shuffle, (bool, np.bool_)):
            raise TypeError(f"shuffle: expected a bool, got {type(shuffle).__name__} {shuffle!r}")
        if seed is None:
            seed = _draw_seed()
        else:
            seed = check.fit_seed(seed)
        every = check.integer(log_every, "log_every", minimum=0, maximum=_layout.MAX_ELEMENTS)
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
        wait = 0 if patience is None else check.integer(patience, "patience", minimum=1,
                                                        maximum=_layout.MAX_ELEMENTS)
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
        clips = [None if v is None else check.real(v, name)
                 for v, name in ((clip_norm, "clip_norm"), (clip_value, "clip_value"))]
        for v, name in zip(clips, ("clip_norm", "clip_value")):
            if v is not None and not (math.isfinite(v) and v > 0):
                raise ValueError(f"{name}: expected a finite number > 0 or None, got {v!r}")
        if clips[0] is not None and clips[1] is not None:
            raise ValueError("clip_value: pass clip_norm or clip_value, not both")
        sched = self._fit_schedule(scheduler, opt, watch, xv is not None)
        bars = _progress.bars(progress)
        if self._loss == "mse":
            check.target_range(t, self._acts[-1])

        bs = 0 if batch_size is None else batch_size
        per_epoch = check.iterations(x.shape[0], n_epochs, bs)
        core_opt, sched_core, sched_state, base_lr = opt._for_core(), None, None, 0.0
        if sched is not None:
            sched_core, sched_state, base_lr = sched._for_fit(opt.lr)
            if isinstance(sched, lr_scheduler.OneCycleLR):
                left = sched.total_steps - int(sched_state[reference.LAST_EPOCH])
                if per_epoch * n_epochs > left:
                    raise ValueError(f"scheduler: OneCycleLR(total_steps={sched.total_steps}) "
                                     f"has {left} steps left and this fit makes up to "
                                     f"{per_epoch * n_epochs} updates ({n_epochs} epochs of "
                                     f"{per_epoch}); give it more steps or fit fewer epochs")
                if sched.cycle_momentum:
                    key = "momentum" if isinstance(opt, optim.SGD) else "beta1"
                    core_opt[key] = float(sched_state[reference.MOMENTUM])
            core_opt["lr"] = float(sched_state[reference.RATE])

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

        # A writer: everything below, the optimizer's state included (created
        # here for a fresh optimizer, read and advanced by the training), is
        # done under the lock, so two fits sharing an optimizer run one after
        # the other. The training runs on a private copy of the parameters,
        # published (self._params rebound to it) when it stops, however it
        # stops, and before every call of the callback, so that the callback
        # (which may save a checkpoint) and every reader see the iteration it
        # is called for. Readers never wait for the lock.
        with self._lock:
            state = opt._state_for(self.num_parameters, self.dtype)
            params = _private_copy(self._params, "fit")

            def took(updates: int, epochs_done: int) -> None:
                # The optimizer's state now belongs to this network's run.
                self._params = params
                opt.state = state
                opt.steps += updates
                opt.epochs += epochs_done
                if sched is not None:
                    sched.state, sched.base_lr = sched_state, base_lr
                    opt.scheduler = sched
                self._optimizer = opt

            on_log: Optional[Callback] = callback
            if callback is not None and callback is not _print_progress:
                user_callback = callback

                def publish_then_call(iteration: int, loss: float) -> Any:
                    self._params = params.copy()  # the weights as they are now
                    return user_callback(iteration, loss)

                on_log = publish_then_call

            bar = None if bars is None else _progress.EpochBar(bars, n_epochs)
            try:
                plan = FitPlan(optimizer=core_opt, state=state, steps=opt.steps,
                               epochs=n_epochs, first_epoch=opt.epochs, batch_size=bs,
                               shuffle=bool(shuffle), seed=seed, log_every=every,
                               callback=on_log, X_val=xv, y_val=tv, monitor=watch,
                               patience=wait, min_delta=delta, restore_best=bool(restore_best),
                               sample_weight=w, l2=penalty, progress=bar,
                               schedule=sched_core, schedule_state=sched_state,
                               clip_norm=clips[0], clip_value=clips[1])
                losses, done, status, updates, table, best = self._impl.fit(
                    params, self._sizes, self._acts, self._loss, x, t, plan,
                    dropout=self._dropout)
            except BaseException as exc:
                # Both backends stop between iterations (Ctrl-C, or an exception
                # from the callback or the bar) and say how far they got:
                # params holds the last completed iteration. Any other
                # exception comes before training changed anything.
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
        _diagnostics.warn_if_failed(self, x, t, history)
        return history

    def _fit_schedule(self, scheduler: Any, opt: optim.Optimizer, watch: str,
                      validates: bool) -> Optional[lr_scheduler.LRScheduler]:
        """The schedule a fit runs: fit's ``scheduler``, or the optimizer's own; checked
        against the optimizer and what fit monitors."""
        if scheduler is not None and not isinstance(scheduler, lr_scheduler.LRScheduler):
            raise TypeError(f"scheduler: expected a plainnet.optim.lr_scheduler schedule "
                            f"(StepLR, MultiStepLR, ExponentialLR, CosineAnnealingLR, "
                            f"OneCycleLR, ReduceLROnPlateau) or None, got "
                            f"{type(scheduler).__name__} {scheduler!r:.60}")
        sched = opt.scheduler if scheduler is None else scheduler
        if isinstance(sched, lr_scheduler.OneCycleLR) and sched.cycle_momentum:
            if isinstance(opt, optim.Rprop):
                raise ValueError("scheduler: OneCycleLR(cycle_momentum=True) cycles the "
                                 "momentum, and Rprop has none; pass cycle_momentum=False")
            if (isinstance(opt, optim.SGD) and opt.momentum == 0 and opt.steps > 0
                    and sched.state is None):
                raise ValueError("scheduler: OneCycleLR(cycle_momentum=True) would turn on the "
                                 "momentum of an SGD optimizer that has already made updates "
                                 "without it; pass cycle_momentum=False or a new optimizer")
        if (isinstance(sched, (lr_scheduler.ReduceLROnPlateau, lr_scheduler.AdaptiveLR))
                and sched.mode == "min" and watch == "val_accuracy" and validates):
            raise ValueError(f"scheduler: {type(sched).__name__}(mode='min') would cut the rate "
                             f"while monitor 'val_accuracy' improves; pass mode='max'")
        return sched

    # ------------------------------------------------------------ copies and backends

    def copy(self) -> "Network":
        """Make an independent copy: the same weights, loss and optimizer state.

        Returns
        -------
        Network
            The copy, which trains and predicts on its own.

        Examples
        --------
        >>> import plainnet as pn
        >>> net = pn.Network([2, 4, 1], seed=42)
        >>> twin = net.copy()
        >>> _ = twin.fit(*pn.datasets.xor(), lr=2.0, epochs=100)
        >>> bool((twin.weights[0] != net.weights[0]).any())
        True
        """
        with self._lock:
            return self._like(self._params.copy(), self._backend)

    def with_backend(self, backend: str) -> "Network":
        """Make a copy that computes with the named backend.

        Parameters
        ----------
        backend : {"native", "numpy"}
            The C++ core, or its NumPy twin.

        Returns
        -------
        Network
            An independent copy with the same weights, loss and optimizer state.

        Examples
        --------
        >>> import numpy as np
        >>> import plainnet as pn
        >>> X, _ = pn.datasets.xor()
        >>> net = pn.Network([2, 4, 1], seed=42)
        >>> twin = net.with_backend("numpy")
        >>> twin.backend, np.allclose(twin.forward(X), net.forward(X), rtol=1e-12)
        ('numpy', True)
        """
        _backend_module(backend)
        with self._lock:
            return self._like(self._params.copy(), backend)

    @classmethod
    def from_weights(cls, weights: Sequence[Any], biases: Sequence[Any],
                     activation: Union[str, Sequence[str]] = "sigmoid",
                     output_activation: Optional[str] = None, backend: str = "native",
                     dtype: Any = None, loss: str = "mse", dropout: Any = 0.0) -> "Network":
        """Make a network that holds the given weights and biases.

        Parameters
        ----------
        weights : sequence of array_like
            ``W_l`` of shape (inputs, outputs), one per layer.
        biases : sequence of array_like
            ``b_l`` of shape (outputs,) (or (1, outputs), as in the tutorial), one
            per layer.
        activation : str or list of str, default="sigmoid"
            As for ``Network``.
        output_activation : str or None, default=None
            As for ``Network``.
        backend : {"native", "numpy"}, default="native"
            As for ``Network``.
        dtype : {"float64", "float32"} or None, default=None
            None keeps float32 when every array is float32, else float64.
        loss : {"mse", "binary_cross_entropy", "cross_entropy"}, default="mse"
            As for ``Network``.
        dropout : float or sequence of float, default=0.0
            As for ``Network``.

        Returns
        -------
        Network
            A network holding copies of the arrays.

        Raises
        ------
        ValueError
            Shapes that do not chain, NaN or Inf, or a bad name.

        Examples
        --------
        >>> import numpy as np
        >>> import plainnet as pn
        >>> net = pn.Network.from_weights([np.array([[2.0]])], [np.array([1.0])], activation="linear")
        >>> net.forward([[3.0]])
        array([[7.]])
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
        _adopt(net, sizes_t, acts, loss, params, backend, None, "from_weights",
               dropout=check.dropout(dropout, len(sizes_t) - 2))
        return net

    # ------------------------------------------------------------ PyTorch and ONNX

    def to_torch(self) -> "torch.nn.Sequential":
        """Make a ``torch.nn.Sequential`` that computes what the network computes.

        Returns
        -------
        torch.nn.Sequential
            ``nn.Linear`` layers holding copies of the weights (as ``W_l.T``:
            ``nn.Linear`` stores (outputs, inputs)) and biases, in the network's
            dtype, each followed by the torch module that computes its activation
            (none for "linear"; the user guide's export page lists them) and,
            on a hidden layer with dropout, by ``nn.Dropout(p)`` (active in
            torch's training mode only, as here).

        Raises
        ------
        ImportError
            PyTorch is not installed (``pip install "plainnet[torch]"``).

        See Also
        --------
        Network.from_torch : The other way.

        Examples
        --------
        >>> import plainnet as pn
        >>> net = pn.Network([4, 16, 3], activation="gelu", output_activation="softmax",
        ...                  loss="cross_entropy", seed=0)
        >>> net.to_torch()
        Sequential(
          (0): Linear(in_features=4, out_features=16, bias=True)
          (1): GELU(approximate='tanh')
          (2): Linear(in_features=16, out_features=3, bias=True)
          (3): Softmax(dim=-1)
        )
        """
        return _torch.to_torch(self._layer_copies(), self._acts, self.dtype, self._dropout)

    @classmethod
    def from_torch(cls, model: Any, loss: Optional[str] = None,
                   backend: str = "native") -> "Network":
        """Make a network that computes what a ``torch.nn.Sequential`` computes.

        Parameters
        ----------
        model : torch.nn.Sequential
            ``nn.Linear`` layers (with bias), each followed by at most one of the
            activation modules ``to_torch`` makes (or ``nn.Identity``), with the
            arguments that compute plainnet's function; a hidden layer's may be
            followed by an ``nn.Dropout``, whose p becomes the layer's dropout.
        loss : str or None, default=None
            None means "cross_entropy" after an ``nn.Softmax``, "mse" otherwise.
        backend : {"native", "numpy"}, default="native"
            As for ``Network``.

        Returns
        -------
        Network
            A network in the parameters' dtype (float32 or float64), which
            computes exactly what the model computes.

        Raises
        ------
        TypeError
            ``model`` is not an ``nn.Sequential``.
        ValueError
            Anything it cannot hold exactly, naming the module and its place
            in the model: another kind of module or layer, an activation with
            other arguments, two activations in a row, a Linear without bias,
            a module instance used in two places, hooks of any kind (on a
            module or global), parameters that are not dense CPU-readable
            values (sparse, or on the ``meta`` device), NaN or Inf.

        Notes
        -----
        Last, the model and the imported network are run on a probe batch of
        4 rows, and the import is refused if their outputs differ beyond
        rounding: the network computes exactly what the model computes, or
        there is no network.

        Examples
        --------
        >>> import torch
        >>> import plainnet as pn
        >>> model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))
        >>> pn.Network.from_torch(model)
        Network([4, 8, 1], activations=['tanh', 'linear'], dtype=float32, backend='native', parameters=49)
        """
        weights, biases, acts, dtype, rates = _torch.from_torch(model)
        if loss is None:
            loss = "cross_entropy" if acts[-1] == "softmax" else "mse"
        net = cls.from_weights(weights, biases, activation=acts, backend=backend,
                               dtype=dtype, loss=loss, dropout=rates)
        _torch.probe(model, weights, biases, acts, dtype, net.forward)
        return net

    @overload
    def to_onnx(self, path: None = None) -> "onnx.ModelProto": ...

    @overload
    def to_onnx(self, path: PathLike) -> Path: ...

    def to_onnx(self, path: Optional[PathLike] = None) -> Union[Path, "onnx.ModelProto"]:
        """Write the network as an ONNX model.

        Parameters
        ----------
        path : str, os.PathLike or None, default=None
            Where to write the model; None returns it instead.

        Returns
        -------
        pathlib.Path or onnx.ModelProto
            The path written, or the model when ``path`` is None.

        Raises
        ------
        ImportError
            onnx is not installed (``pip install "plainnet[onnx]"``).

        Notes
        -----
        The model (opset 20) takes ``X`` (N, inputs) and gives ``Y`` (N, outputs)
        in the network's dtype: a ``Gemm`` per layer and its activation's nodes
        (the user guide's export page lists them). Its ``doc_string``, and its
        graph's, name the layers, activations and loss (and the dropout
        rates, which the inference graph leaves out, as ``forward`` does). It passes
        ``onnx.checker.check_model(..., full_check=True)`` before it is written
        (to a temporary name, then renamed).

        Examples
        --------
        >>> import plainnet as pn
        >>> model = pn.Network([2, 4, 1], seed=42).to_onnx()
        >>> [node.op_type for node in model.graph.node]
        ['Gemm', 'Sigmoid', 'Gemm', 'Sigmoid']
        >>> model.doc_string
        "plainnet [2, 4, 1], activations ['sigmoid', 'sigmoid'], loss mse"
        """
        target = None if path is None else check.path(path)
        doc = (f"plainnet {list(self._sizes)}, activations {list(self._acts)}, "
               f"loss {self._loss}")
        if any(self._dropout):
            doc += f", dropout {list(self._dropout)} (training only: not in this graph)"
        proto = _onnx.model(self._layer_copies(), self._acts, self.dtype, doc)
        if target is None:
            return proto
        return _io.write_atomically(target, lambda f: f.write(proto.SerializeToString()))

    # ------------------------------------------------------------ files

    def save(self, path: PathLike) -> Path:
        """Write the network to an ``.npz`` archive that NumPy alone can read.

        Parameters
        ----------
        path : str or os.PathLike
            The file to write.

        Returns
        -------
        pathlib.Path
            The path written.

        See Also
        --------
        Network.load : Read it back.

        Notes
        -----
        The archive holds W0, b0, W1, b1, ... and ``meta``, a JSON string with
        the format version, layer sizes, activations, loss and dtype (and the
        dropout rates, when there is dropout); and, once
        the network has been trained, its optimizer: kind, settings and step
        count in ``meta``, state arrays as ``optimizer_state0, ...``. A network
        loaded from it continues training exactly as this one would. The file is
        written to a temporary name and renamed, so it is never left
        half-written.

        Examples
        --------
        >>> import os, tempfile
        >>> import plainnet as pn
        >>> net = pn.Network([2, 4, 1], seed=42)
        >>> path = net.save(os.path.join(tempfile.mkdtemp(), "net.npz"))
        >>> pn.Network.load(path)
        Network([2, 4, 1], activations=['sigmoid', 'sigmoid'], dtype=float64, backend='native', parameters=17)
        """
        meta: dict[str, Any] = {"layers": list(self._sizes), "activations": list(self._acts),
                                "loss": self._loss, "dtype": self.dtype.name}
        if any(self._dropout):  # written only when there is some: older readers refuse the key
            meta["dropout"] = list(self._dropout)
        extra: dict[str, np.ndarray] = {}
        with self._lock:
            layers = self._layer_copies()
            if self._optimizer is not None:
                meta["optimizer"], extra = optim.to_saved(self._optimizer)
        return _io.write(path, meta, [W for W, _ in layers], [b for _, b in layers], extra)

    @classmethod
    def load(cls, path: Any, backend: str = "native") -> "Network":
        """Read a network written by ``save``, with its optimizer.

        Any file is safe to load, whoever wrote it (see Notes).

        Parameters
        ----------
        path : str, os.PathLike or binary file object
            The file to read: a path, or an object such as ``open(path, "rb")``
            or ``io.BytesIO``.
        backend : {"native", "numpy"}, default="native"
            The backend of the network returned.

        Returns
        -------
        Network
            The saved network; ``net.optimizer`` is the saved optimizer, if any.

        Raises
        ------
        FileNotFoundError
            There is no such file.
        ValueError
            Anything that is not a save this plainnet wrote, or could have
            written; the message names the file and the field or array at
            fault.

        Notes
        -----
        ``meta`` is checked against its schema before any array is read, each
        array's header is checked against what ``meta`` calls for before its
        data is read, and nothing else in the archive is read. Memory and time
        are at most a small multiple of the size of the network the file
        describes.

        Examples
        --------
        >>> import os, tempfile
        >>> import plainnet as pn
        >>> path = pn.Network([2, 4, 1], seed=42).save(os.path.join(tempfile.mkdtemp(), "net.npz"))
        >>> pn.Network.load(path, backend="numpy").backend
        'numpy'
        """
        _backend_module(backend)
        meta, params, state = _io.read(path)
        where = _io.Source.describe(path)
        dt = params.dtype
        opt = None
        try:
            if meta.optimizer is not None:
                opt = optim.from_saved(meta.optimizer, state, params.size, dt)
        except ValueError as exc:
            raise ValueError(f"load: {where} is not a plainnet save ({exc})") from None
        net = cls.__new__(cls)
        _adopt(net, meta.layers, meta.activations, meta.loss, params, backend, opt,
               f"load: {where} is not a plainnet save", fresh_optimizer=True,
               dropout=meta.dropout or 0.0)  # () in a save without dropout
        return net


def _adopt(net: Network, layers: Any, acts: Any, loss: Any, params: np.ndarray, backend: str,
           optimizer: Any, where: str, fresh_optimizer: bool = False,
           dropout: Any = 0.0) -> None:
    """Check a whole network state and set ``net`` up with it: the one gate through
    which state from outside (a save, a pickle, weights, a torch model) enters.

    The layer sizes, activations and loss are checked as the constructor
    checks them; the parameters must be a 1-D float64 or float32 array of the
    size the layers call for, all finite; the optimizer one of plainnet's with
    valid settings, counts and state for these parameters; the dropout rates
    as the constructor checks them. ValueError starting with ``where`` otherwise.
    """
    try:
        sizes = check.layer_sizes(layers)
        names = _activation_list(list(acts), None, len(sizes) - 1)
        loss_name = check.loss_pairing(names, loss, sizes[-1])
        rates = check.dropout(dropout, len(sizes) - 2)
        if params.dtype not in (np.dtype(np.float64), np.dtype(np.float32)):
            raise ValueError(f"params: expected float64 or float32 values, got {params.dtype}")
        count = _layout.num_parameters(sizes)
        if params.shape != (count,):
            raise ValueError(f"params: layers {list(sizes)} have {count} parameters, got an "
                             f"array of shape {params.shape}")
        if not params.dtype.isnative:  # a big-endian array from a pickle
            params = params.astype(params.dtype.newbyteorder("="))
        params = np.require(params, requirements=["C", "W", "O"])
        for i, (W, b) in enumerate(_layout.unpack(params, sizes)):
            check.finite(W, f"weights[{i}]")
            check.finite(b, f"biases[{i}]")
        if optimizer is not None and not fresh_optimizer:
            optimizer = optim.checked(optimizer, count, params.dtype)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{where}: {exc}" if where.startswith("unpickle") else
                         f"{where} ({exc})") from None
    net._setup(sizes, names, loss_name, params, backend, optimizer, rates)


def _draw_seed() -> int:
    """A fresh 64-bit seed for a fit's shuffles and dropout masks."""
    return int(np.random.SeedSequence().generate_state(2, np.uint32).view(np.uint64)[0])


def _print_progress(iteration: int, loss: float) -> None:
    print(f"  iteration {iteration:>6d} | loss {loss:.6f}", flush=True)
