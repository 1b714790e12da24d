"""Network: the one class users touch.

A Network is a list of layer sizes, one activation per layer, and one flat
array holding every parameter (W0, b0, W1, b1, ...). The math runs in one of
two interchangeable backends with identical functions: the native C++ core
(``plainnet._core``) or its NumPy twin (``plainnet.reference``).
"""

from __future__ import annotations

import math
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Callable, Optional, Sequence, Union

import numpy as np

from . import _checks as check
from . import _io, _layout, reference
from ._init import INITS, initialize
from ._io import PathLike

_core: Optional[ModuleType]
try:
    from . import _core
except ImportError as exc:  # pragma: no cover - only without a build
    _core = None
    _core_error: Optional[ImportError] = exc
else:
    _core_error = None

ACTIVATIONS: tuple[str, ...] = _layout.ACTIVATIONS
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
    return tuple(check.choice(value, arg, ACTIVATIONS) for arg, value in named)


@dataclass
class History:
    """What ``Network.fit`` did: one MSE per iteration (the loss *before* that update)."""

    loss: np.ndarray
    lr: float
    epochs: int
    batch_size: Optional[int]
    seed: int
    iterations_per_epoch: int
    stopped_early: bool = False

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
        return (f"History(iterations={self.iterations}, loss {first} -> {last}, lr={self.lr}, "
                f"batch_size={self.batch_size}{stop})")


class Network:
    """A fully connected network trained by gradient descent on the MSE.

    Parameters
    ----------
    layers : list of int
        Layer widths, inputs first: ``[2, 4, 1]`` is the tutorial's XOR network.
    activation : str or list of str
        Activation of every layer, or one name per layer (``len(layers) - 1``).
        One of ``plainnet.ACTIVATIONS``.
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
    """

    def __init__(self, layers: Sequence[int], activation: Union[str, Sequence[str]] = "sigmoid",
                 output_activation: Optional[str] = None, init: str = "normal",
                 init_scale: Optional[float] = None, seed: Optional[int] = None,
                 dtype: Any = "float64", backend: str = "native") -> None:
        sizes = check.layer_sizes(layers)
        acts = _activation_list(activation, output_activation, len(sizes) - 1)
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
        self._setup(sizes, acts, params, backend)

    def _setup(self, sizes: tuple[int, ...], acts: tuple[str, ...], params: np.ndarray,
               backend: str) -> None:
        self._sizes = sizes
        self._acts = acts
        self._params = params  # never rebound: the core writes into it in place
        self._backend = backend
        self._impl = _backend_module(backend)
        self._lock = threading.RLock()

    # A Network is a value: pickle, copy.copy and copy.deepcopy give an
    # independent network with the same numbers (and a lock of its own).
    def __getstate__(self) -> dict[str, Any]:
        with self._lock:
            return {"layers": self._sizes, "activations": self._acts,
                    "params": self._params.copy(), "backend": self._backend}

    def __setstate__(self, state: dict[str, Any]) -> None:
        params = np.require(state["params"], requirements=["C", "W", "O"])
        self._setup(tuple(state["layers"]), tuple(state["activations"]), params,
                    state["backend"])

    def __copy__(self) -> "Network":
        return self.copy()

    def __deepcopy__(self, memo: dict[int, Any]) -> "Network":
        return self.copy()

    @classmethod
    def _from_parts(cls, sizes: tuple[int, ...], acts: tuple[str, ...], params: np.ndarray,
                    backend: str) -> "Network":
        net = cls.__new__(cls)
        net._setup(sizes, acts, params, backend)
        return net

    # ------------------------------------------------------------ inspection

    @property
    def layers(self) -> list[int]:
        return list(self._sizes)

    @property
    def activations(self) -> list[str]:
        return list(self._acts)

    @property
    def num_parameters(self) -> int:
        return int(self._params.size)

    @property
    def dtype(self) -> np.dtype:
        return self._params.dtype

    @property
    def backend(self) -> str:
        return self._backend

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
        return (f"Network({list(self._sizes)}, activations={list(self._acts)}, "
                f"dtype={self.dtype.name}, backend={self._backend!r}, "
                f"parameters={self.num_parameters})")

    # ------------------------------------------------------------ computing

    def _x(self, X: Any) -> np.ndarray:
        return check.samples(X, "X", self._sizes[0], self.dtype)

    def _xy(self, X: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
        x = self._x(X)
        t = check.samples(y, "y", self._sizes[-1], self.dtype, rows=x.shape[0], allow_1d=True)
        return x, t

    def forward(self, X: Any) -> np.ndarray:
        """Predictions for X (m, inputs), shape (m, outputs)."""
        x = self._x(X)
        with self._lock:
            out: np.ndarray = self._impl.forward(self._params, self._sizes, self._acts, x)
        return out

    predict = forward

    def forward_trace(self, X: Any) -> list[tuple[np.ndarray, np.ndarray]]:
        """[(z_l, a_l) for each layer]: weighted sums and activations, for inspection."""
        x = self._x(X)
        with self._lock:
            # both backends return freshly allocated arrays, owned by the caller
            return list(self._impl.forward_trace(self._params, self._sizes, self._acts, x))

    def loss(self, X: Any, y: Any) -> float:
        """Mean squared error over all elements of (prediction - y)."""
        x, t = self._xy(X, y)
        with self._lock:
            pred = self._impl.forward(self._params, self._sizes, self._acts, x)
        return float(self._impl.mse_forward(pred, t))

    def gradients(self, X: Any, y: Any) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """(dW list, db list): the gradient of E = 1/(2m) * sum((prediction - y)**2)."""
        x, t = self._xy(X, y)
        with self._lock:
            _, grads = self._impl.gradients(self._params, self._sizes, self._acts, x, t)
        layers = _layout.unpack(grads, self._sizes)
        return [W for W, _ in layers], [b for _, b in layers]

    def step(self, X: Any, y: Any, lr: float) -> float:
        """One forward + backward + update on (X, y); returns the loss before the update.

        Raises FloatingPointError, leaving the weights unchanged, if that loss is
        NaN/Inf or if the update would make a weight NaN/Inf.
        """
        x, t = self._xy(X, y)
        rate = check.learning_rate(lr, self.dtype)
        with self._lock:
            loss, updated = self._impl.step(self._params, self._sizes, self._acts, x, t, rate)
        if not math.isfinite(loss):
            raise FloatingPointError(f"step: the loss is {loss}; the weights were left unchanged "
                                     f"(the network's outputs overflow: try a smaller lr)")
        if not updated:
            raise FloatingPointError(f"step: the update would make a weight NaN or Inf (the loss "
                                     f"was {loss:.6g}); the weights were left unchanged (the "
                                     f"gradient overflows: try a smaller lr, was {rate})")
        return float(loss)

    def fit(self, X: Any, y: Any, lr: float = 2.0, epochs: int = 10000,
            batch_size: Optional[int] = None, shuffle: bool = True, seed: Optional[int] = None,
            log_every: int = 0, callback: Optional[Callback] = None) -> History:
        """Train by gradient descent; returns a History with one MSE per iteration.

        batch_size=None is full-batch gradient descent (one iteration per epoch);
        an int trains on mini-batches in an order drawn from ``seed`` (reshuffled
        each epoch when ``shuffle``). Every ``log_every`` iterations (counting
        from 0) ``callback(iteration, loss)`` is called; returning False stops
        training. With log_every > 0 and no callback, progress is printed; with
        a callback and log_every=0 it is called every iteration.

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
        rate = check.learning_rate(lr, self.dtype)
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
        if callback is not None and not callable(callback):
            raise TypeError(f"callback: expected a callable or None, got "
                            f"{type(callback).__name__} {callback!r}")
        if callback is None and every > 0:
            callback = _print_progress
        elif callback is not None and every == 0:
            every = 1

        bs = 0 if batch_size is None else batch_size
        per_epoch = check.iterations(x.shape[0], n_epochs, bs)
        def history_of(losses: np.ndarray, done: int, stopped: bool) -> History:
            return History(loss=np.array(losses[:done]), lr=rate, epochs=n_epochs,
                           batch_size=batch_size, seed=seed, iterations_per_epoch=per_epoch,
                           stopped_early=stopped)

        with self._lock:
            try:
                losses, done, status = self._impl.fit(self._params, self._sizes, self._acts, x,
                                                      t, rate, n_epochs, bs, bool(shuffle), seed,
                                                      every, callback)
            except KeyboardInterrupt as exc:
                # Both backends stop between iterations and say how far they got.
                partial = getattr(exc, "plainnet_partial_fit", None)
                if partial is not None:
                    del exc.plainnet_partial_fit  # type: ignore[attr-defined]
                    exc.history = history_of(partial[0], partial[1], True)  # type: ignore[attr-defined]
                raise
        history = history_of(losses, done, status == "stopped")
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
        with self._lock:
            params = self._params.copy()
        return Network._from_parts(self._sizes, self._acts, params, self._backend)

    def with_backend(self, backend: str) -> "Network":
        """An identical network (a copy) that computes with the named backend."""
        _backend_module(backend)
        with self._lock:
            params = self._params.copy()
        return Network._from_parts(self._sizes, self._acts, params, backend)

    @classmethod
    def from_weights(cls, weights: Sequence[Any], biases: Sequence[Any],
                     activation: Union[str, Sequence[str]] = "sigmoid",
                     output_activation: Optional[str] = None, backend: str = "native",
                     dtype: Any = None) -> "Network":
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
        return cls._from_parts(sizes_t, acts, params, backend)

    # ------------------------------------------------------------ files

    def save(self, path: PathLike) -> Path:
        """Write the network to ``path`` (an .npz archive that NumPy alone can read).

        The archive holds W0, b0, W1, b1, ... and ``meta``, a JSON string with the
        format version, layer sizes, activations and dtype. The file is written
        to a temporary name and renamed, so it is never left half-written.
        """
        meta = {"layers": list(self._sizes), "activations": list(self._acts),
                "dtype": self.dtype.name}
        with self._lock:
            layers = [(W.copy(), b.copy()) for W, b in _layout.unpack(self._params, self._sizes)]
        return _io.write(path, meta, [W for W, _ in layers], [b for _, b in layers])

    @classmethod
    def load(cls, path: PathLike, backend: str = "native") -> "Network":
        """Read a network written by ``save``."""
        _backend_module(backend)
        meta, weights, biases = _io.read(path)
        where = _io.not_a_save(path)
        try:
            net = cls.from_weights(weights, biases, activation=list(meta["activations"]),
                                   backend=backend, dtype=meta["dtype"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"{where} (inconsistent contents: {exc})") from None
        if net.layers != list(meta["layers"]):
            raise ValueError(f"{where} (layers {meta['layers']} do not match the stored weights "
                             f"{net.layers})")
        return net


def _print_progress(iteration: int, loss: float) -> None:
    print(f"  iteration {iteration:>6d} | loss {loss:.6f}", flush=True)
