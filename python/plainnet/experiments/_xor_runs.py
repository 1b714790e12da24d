"""Training the tutorial's XOR networks, shared by several experiments."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from .. import datasets
from ..network import Network
from ._base import Result, format_table, new_figure

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

LOG_EVERY = 2000


def train_xor(hidden: int, lr: float, iterations: int, seed: int = 42,
              activation: str = "sigmoid", backend: str = "native") -> dict[str, Any]:
    """Train a 2-``hidden``-1 network on XOR by full-batch gradient descent.

    The hidden layer uses ``activation``, the output is sigmoid, the weights
    start from ``Network([2, hidden, 1], seed=seed)``: the tutorial's draws. A
    loss that turns NaN/Inf is recorded as divergence, not raised.
    """
    X, y = datasets.xor()
    net = Network([2, hidden, 1], activation=activation, output_activation="sigmoid",
                  seed=seed, backend=backend)
    initial = net.forward(X)
    initial_loss = net.loss(X, y)
    diverged_at = -1
    try:
        history = net.fit(X, y, lr=lr, epochs=iterations)
    except FloatingPointError as exc:
        history = exc.history  # type: ignore[attr-defined]
        diverged_at = history.iterations
    losses = np.asarray(history.loss, dtype=np.float64)
    pred = net.forward(X)
    hidden_out = net.forward_trace(X)[0][1]
    rounded = np.round(pred).astype(int)
    right = (rounded == y).ravel()
    return {
        "hidden": hidden, "activation": activation, "lr": float(lr), "iterations": iterations,
        "seed": seed, "backend": backend,
        "inputs": X.tolist(), "targets": y.ravel().tolist(),
        "initial_predictions": initial.ravel(), "initial_loss": float(initial_loss),
        "loss_history": losses,
        "logged_losses": {int(i): float(losses[i]) for i in range(0, losses.size, LOG_EVERY)},
        "diverged_at": diverged_at,
        "predictions": pred.ravel(), "rounded": rounded.ravel().tolist(),
        "right": right.tolist(), "correct": int(right.sum()),
        "final_loss": float(net.loss(X, y)),
        # hidden units that output exactly 0 for all four inputs pass back no gradient
        "dead_units": int(np.all(hidden_out == 0.0, axis=0).sum()),
        # how many of the four inputs the hidden layer still tells apart
        "distinct_hidden_codes": int(np.unique(hidden_out, axis=0).shape[0]),
        "weights": [w.tolist() for w in net.weights], "biases": [b.tolist() for b in net.biases],
        "net": net,
    }


def marks() -> tuple[str, str]:
    return ("✓", "✗")


def predictions_table(run: dict[str, Any]) -> str:
    ok, bad = marks()
    rows = []
    for x, t, p0, p, r, good in zip(run["inputs"], run["targets"], run["initial_predictions"],
                                   run["predictions"], run["rounded"], run["right"]):
        rows.append([str(x), t, f"{p0:.4f}", f"{p:.4f}", r, ok if good else bad])
    return format_table(["input", "target", "untrained", "trained", "rounded", ""], rows,
                        align="lrrrrl")


def loss_log(run: dict[str, Any]) -> str:
    lines = [f"  iteration {i:>6d} | loss {v:.6f}" for i, v in run["logged_losses"].items()]
    if run["diverged_at"] >= 0:
        lines.append(f"  iteration {run['diverged_at']:>6d} | loss is NaN/Inf: training stopped")
    return "\n".join(lines)


def describe(run: dict[str, Any]) -> str:
    """Network, budget, untrained loss, logged losses and the prediction table."""
    head = (f"2-{run['hidden']}-1 network, hidden {run['activation']}, output sigmoid, "
            f"seed {run['seed']}, lr {run['lr']:g}, {run['iterations']:,} iterations "
            f"(backend {run['backend']})")
    return "\n".join([head, f"  untrained loss (MSE): {run['initial_loss']:.6f}", loss_log(run),
                      predictions_table(run),
                      f"  trained loss (MSE): {run['final_loss']:.6g}; "
                      f"{run['correct']} of 4 correct"])


def public(run: dict[str, Any]) -> dict[str, Any]:
    """The run without the live Network object (for Result.data)."""
    return {k: v for k, v in run.items() if k != "net"}


def plot_loss(result: Result, run: dict[str, Any], title: str, color: str,
              stem: str) -> "tuple[str, Figure]":
    fig = new_figure(7.0, 3.6)
    ax = fig.subplots()
    losses = np.asarray(run["loss_history"])
    ax.plot(np.arange(losses.size), losses, color=color, linewidth=1)
    ax.set_xlabel("iteration")
    ax.set_ylabel("loss (MSE)")
    if losses.size and np.all(losses > 0) and losses.max() / max(losses.min(), 1e-300) > 100:
        ax.set_yscale("log")
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    return stem, fig


def verdict_numbers(run: dict[str, Any]) -> str:
    diverged = (f"; the loss became NaN/Inf at iteration {run['diverged_at']}"
                if run["diverged_at"] >= 0 else "")
    return (f"{run['correct']}/4 correct, final loss {run['final_loss']:.6g} "
            f"(from {run['initial_loss']:.6g}){diverged}")

