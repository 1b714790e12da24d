"""The peers: one class per implementation that can train a Problem.

Each peer offers the same three calls:

* ``reset()`` puts the problem's initial weights back (never timed);
* ``run(record)`` trains ``problem.iterations`` full-batch steps and returns
  ``(final_loss, losses)``: the MSE before the last update and, when the peer
  has it at no extra cost or ``record`` is true, the MSE before every update
  (else None);
* ``label`` names the peer in the tables.

The peers compute the same updates as the core (same weights, data, learning
rate and gradient), which ``run.py`` checks on the losses before it reports a
time.
"""

from __future__ import annotations

import warnings
from typing import Any, Optional

import numpy as np

from problems import Problem

ALL_PEERS = ("native", "numpy", "torch", "sklearn")


def available(peer: str) -> Optional[str]:
    """None when ``peer`` can run here, else why not."""
    if peer in ("native", "numpy"):
        return None
    module = {"torch": "torch", "sklearn": "sklearn"}[peer]
    try:
        __import__(module)
    except ImportError as exc:
        return f"{module} is not installed ({exc}); pip install '.[bench]'"
    return None


class PlainnetPeer:
    """plainnet's Network.fit with batch_size=None: one iteration per epoch."""

    def __init__(self, problem: Problem, backend: str, label: Optional[str] = None) -> None:
        self.problem = problem
        self.backend = backend
        self.label = label or backend
        self.threads: Optional[int] = None
        self._initial = problem.net.with_backend(backend)
        self.net = self._initial.copy()

    def reset(self) -> None:
        self.net = self._initial.copy()

    def run(self, record: bool = False) -> tuple[float, Optional[np.ndarray]]:
        p = self.problem
        hist = self.net.fit(p.X, p.y, lr=p.lr, epochs=p.iterations, batch_size=None)
        return float(hist.loss[-1]), hist.loss


def torch_model(weights: list[np.ndarray], biases: list[np.ndarray], activation: str,
                output: bool = True) -> tuple[Any, list[Any]]:
    """(nn.Sequential, its nn.Linear layers): plainnet's layers with ``activation``
    ("sigmoid" or "relu") after each, and after the last one only if ``output``.
    Every layer starts with zero weights; TorchTraining.reset loads the real ones."""
    import torch

    dtype = torch.float64 if weights[0].dtype == np.float64 else torch.float32
    act = {"sigmoid": torch.nn.Sigmoid, "relu": torch.nn.ReLU}[activation]
    linears = [torch.nn.Linear(W.shape[0], W.shape[1], dtype=dtype) for W in weights]
    modules: list[Any] = []
    for lin in linears:
        modules += [lin, act()]
    return torch.nn.Sequential(*(modules if output else modules[:-1])), linears


class TorchTraining:
    """A PyTorch training loop: one optimizer step per batch, in order, on N threads.

    ``reset`` puts plainnet's initial weights back (nn.Linear keeps its weight
    as (outputs, inputs): the transpose of plainnet's W) and clears the
    optimizer's state (Adam's moments and step count), keeping its settings.
    """

    def __init__(self, weights: list[np.ndarray], biases: list[np.ndarray], model: Any,
                 linears: list[Any], batches: list[tuple[Any, Any]], loss_fn: Any,
                 optimizer: Any, threads: int) -> None:
        import torch

        self.torch = torch
        self.model, self.linears, self.batches = model, linears, batches
        self.loss_fn, self.optimizer = loss_fn, optimizer
        self.threads = threads
        self.label = f"torch/{threads}t"
        self._initial = [(torch.from_numpy(np.array(W.T, order="C")), torch.from_numpy(b.copy()))
                         for W, b in zip(weights, biases)]
        self.reset()

    def reset(self) -> None:
        with self.torch.no_grad():
            for lin, (W, b) in zip(self.linears, self._initial):
                lin.weight.copy_(W)
                lin.bias.copy_(b)
        self.optimizer.state.clear()

    def run(self, record: bool = False,
            iterations: Optional[int] = None) -> tuple[float, Optional[np.ndarray]]:
        """(the last batch's loss, every batch's loss if ``record``); ``iterations``
        shortens the run (for choosing the thread count)."""
        torch = self.torch
        previous = torch.get_num_threads()
        torch.set_num_threads(self.threads)
        try:
            model, loss_fn, opt = self.model, self.loss_fn, self.optimizer
            batches = self.batches if iterations is None else self.batches[:iterations]
            if record:
                losses = np.empty(len(batches))
                for i, (xb, yb) in enumerate(batches):
                    opt.zero_grad(set_to_none=True)
                    loss = loss_fn(model(xb), yb)
                    loss.backward()
                    opt.step()
                    losses[i] = loss.item()
                return float(losses[-1]), losses
            loss = None
            for xb, yb in batches:  # the timed loop: nothing but the training step
                opt.zero_grad(set_to_none=True)
                loss = loss_fn(model(xb), yb)
                loss.backward()
                opt.step()
            return float(loss.item()), None
        finally:
            torch.set_num_threads(previous)


class TorchPeer(TorchTraining):
    """PyTorch on the CPU: nn.Linear + nn.Sigmoid layers, SGD without momentum.

    plainnet descends E = (1/2m) sum (pred - y)^2 while nn.MSELoss is the mean
    over all m*K elements, MSE = (2/K) E; so a learning rate of lr*K/2 gives
    updates equal to the core's. nn.MSELoss is the number plainnet reports as
    the loss, so the losses compare directly.
    """

    def __init__(self, problem: Problem, threads: int) -> None:
        import torch

        self.problem = problem
        weights, biases = problem.initial_parameters()
        model, linears = torch_model(weights, biases, "sigmoid")
        X, y = torch.from_numpy(problem.X), torch.from_numpy(problem.y)
        self.lr = problem.lr * problem.outputs / 2
        super().__init__(weights, biases, model, linears, [(X, y)] * problem.iterations,
                         torch.nn.MSELoss(), torch.optim.SGD(model.parameters(), lr=self.lr,
                                                             momentum=0.0), threads)


class SklearnWarmStart:
    """A scikit-learn MLP that each fit starts from plainnet's initial weights.

    The estimator is initialised by one untimed fit, then given plainnet's
    initial weights in place; ``warm_start=True`` makes each later ``fit``
    start from them (and make a new optimizer, so Adam's moments start at 0).
    """

    model: Any
    _initial: list[np.ndarray]

    def _fit(self, X: np.ndarray, y: np.ndarray) -> None:
        from sklearn.exceptions import ConvergenceWarning

        with warnings.catch_warnings():
            # Reaching max_iter is the point of a fixed-length run, not a problem.
            warnings.simplefilter("ignore", ConvergenceWarning)
            self.model.fit(X, y)

    def reset(self) -> None:
        model = self.model
        for dst, src in zip(model.coefs_ + model.intercepts_, self._initial):
            dst[...] = src  # in place: the optimizer updates these very arrays
        model.loss_curve_ = []
        model.best_loss_ = np.inf
        model._no_improvement_count = 0


class SklearnPeer(SklearnWarmStart):
    """scikit-learn's MLPRegressor with plain full-batch SGD.

    MLPRegressor's output layer is always the identity, and its backward pass
    starts from (pred - y) without the output activation's slope, so it cannot
    train a sigmoid output layer by the MSE gradient. It is therefore compared
    with plainnet training the same network with a linear output layer
    (``problem.output_activation == "linear"``), which it matches exactly:
    its loss is MSE/2 and its gradient is that of (1/2m) sum (pred - y)^2,
    the core's E, so the learning rates are equal.
    """

    def __init__(self, problem: Problem) -> None:
        from sklearn.neural_network import MLPRegressor

        if problem.output_activation != "linear":
            raise ValueError(f"problem: SklearnPeer needs a linear output layer, "
                             f"got {problem.output_activation!r}")
        self.problem = problem
        self.threads = None
        self.label = "sklearn"
        weights, biases = problem.initial_parameters()
        self._initial = [np.array(a) for a in (*weights, *biases)]
        self.y = problem.y.ravel() if problem.outputs == 1 else problem.y
        self.model = MLPRegressor(
            hidden_layer_sizes=problem.size.layers[1:-1], activation="logistic", solver="sgd",
            alpha=0.0, batch_size=problem.size.m, learning_rate="constant",
            learning_rate_init=problem.lr, max_iter=1, shuffle=False, tol=0.0,
            warm_start=True, momentum=0.0, nesterovs_momentum=False, early_stopping=False,
            n_iter_no_change=np.inf, random_state=0)
        self._fit(problem.X, self.y)  # allocates coefs_ and intercepts_ with the right shapes
        if self.model.out_activation_ != "identity":
            raise RuntimeError(f"MLPRegressor's output activation is "
                               f"{self.model.out_activation_!r}, expected 'identity'")
        self.model.set_params(max_iter=problem.iterations)
        self.reset()

    def run(self, record: bool = False) -> tuple[float, Optional[np.ndarray]]:
        self._fit(self.problem.X, self.y)
        losses = 2.0 * np.asarray(self.model.loss_curve_)  # its loss is MSE / 2
        return float(losses[-1]), losses


def make_peers(name: str, problem: Problem, torch_threads: tuple[int, ...] = (1, 2)) -> list:
    """The peer objects that stand for ``name`` (torch: one per thread count)."""
    if name in ("native", "numpy"):
        return [PlainnetPeer(problem, name)]
    if name == "torch":
        return [TorchPeer(problem, t) for t in torch_threads]
    if name == "sklearn":
        return [SklearnPeer(problem)]
    raise ValueError(f"peer: expected one of {list(ALL_PEERS)}, got {name!r}")
