"""xor: the tutorial's 2-4-1 sigmoid network learns XOR."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..network import Network
from ._base import Result, new_figure
from ._xor_runs import describe, plot_loss, public, train_xor, verdict_numbers

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

NAME = "xor"
TITLE = "Training XOR: the 2-4-1 sigmoid network, seed 42, lr 2.0, 10,000 iterations"


def compute(backend: str = "native") -> Result:
    run = public(train_xor(4, 2.0, 10000, seed=42, backend=backend))
    learned = run["correct"] == 4 and run["final_loss"] < 0.001
    verdict = (f"{verdict_numbers(run)}; "
               f"{'4/4 and loss < 0.001 → learned' if learned else 'not learned'}")
    return Result(NAME, TITLE, run, describe(run), verdict, as_claimed=learned,
                  notes=["The untrained network answers about 0.5 for every input. Gradient "
                         "descent moves the 17 parameters until the hidden layer bends the "
                         "boundary around the two 1s."])


def plot(result: Result) -> "list[tuple[str, Figure]]":
    loss = plot_loss(result, result.data, "XOR, 2-4-1 sigmoid, lr 2.0: loss", "tab:blue",
                     "xor-loss")
    return [loss, ("xor-decision-boundary", decision_boundary(result))]


def decision_boundary(result: Result) -> "Figure":
    """The trained network's output over the input square, with the 0.5 contour."""
    run = result.data
    net = Network.from_weights([np.array(w) for w in run["weights"]],
                               [np.array(b) for b in run["biases"]],
                               activation=run["activation"], output_activation="sigmoid")
    g = np.linspace(-0.5, 1.5, 201)
    A, B = np.meshgrid(g, g)
    Z = net.forward(np.column_stack([A.ravel(), B.ravel()])).reshape(A.shape)
    fig = new_figure(5.2, 4.5)
    ax = fig.subplots()
    mesh = ax.contourf(A, B, Z, levels=np.linspace(0, 1, 21), cmap="RdBu", alpha=0.8)
    ax.contour(A, B, Z, levels=[0.5], colors="black", linewidths=1.5)
    fig.colorbar(mesh, ax=ax, label="network output")
    X = np.asarray(run["inputs"], dtype=float)
    t = np.asarray(run["targets"])
    for cls, color, marker in ((0, "tab:red", "o"), (1, "tab:blue", "s")):
        pts = X[t == cls]
        ax.scatter(pts[:, 0], pts[:, 1], c=color, marker=marker, s=160, edgecolors="black",
                   linewidths=1.5, label=f"target {cls}")
    ax.set_xlabel("input A")
    ax.set_ylabel("input B")
    ax.set_title("Trained 2-4-1 network: output and the 0.5 boundary")
    ax.legend(loc="upper right", fontsize=8)
    return fig
