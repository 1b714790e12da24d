"""linear-collapse: layers without an activation add up to one layer."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from .. import datasets
from ..network import Network
from ._base import Result, format_table, new_figure
from ._xor_runs import public, train_xor

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

NAME = "linear-collapse"
TITLE = "Linear layers collapse into one; a linear network cannot learn XOR"

SIZES = (3, 5, 4, 6, 2, 3)  # five linear layers
TOLERANCE = 1e-12
LINEAR_LR = 0.5  # lr 2.0 makes the all-linear network diverge (its outputs are unbounded)


def compute(backend: str = "native") -> Result:
    """Collapse a random 5-layer linear stack in closed form; train linear vs sigmoid on XOR."""
    stack = Network(list(SIZES), activation="linear", seed=7, backend=backend)
    # biases start at zero; give them values so the bias formula is exercised
    rng = np.random.RandomState(8)
    Ws = stack.weights
    bs = [rng.randn(*b.shape) * 0.5 for b in stack.biases]
    stack = Network.from_weights(Ws, bs, activation="linear", backend=backend)
    W_one = Ws[0]
    b_one = bs[0]
    for W, b in zip(Ws[1:], bs[1:]):
        W_one = W_one @ W      # W' = W1 W2 ... (row-vector convention: a = x W + b)
        b_one = b_one @ W + b  # b' = ((b1 W2 + b2) W3 + b3) ...
    X = np.random.RandomState(9).randn(200, SIZES[0])
    deep = stack.forward(X)
    single = X @ W_one + b_one
    diff = float(np.max(np.abs(deep - single)))

    Xx, yx = datasets.xor()
    # Best any affine function x W + b can do on XOR (least squares): MSE 0.25.
    A = np.hstack([Xx, np.ones((4, 1))]).astype(float)
    coef = np.linalg.lstsq(A, yx.astype(float), rcond=None)[0]
    best_affine = float(np.mean((A @ coef - yx) ** 2))
    linear = _train_all_linear(backend)
    sigmoid = public(train_xor(4, 2.0, 10000, backend=backend))

    rows = [["all linear (lr %g)" % LINEAR_LR, f"{linear['final_loss']:.6f}",
             " ".join(f"{p:.4f}" for p in linear["predictions"])],
            ["sigmoid (lr 2)", f"{sigmoid['final_loss']:.6f}",
             " ".join(f"{p:.4f}" for p in sigmoid["predictions"])]]
    table = "\n".join([
        f"  {len(SIZES) - 1} linear layers {'-'.join(map(str, SIZES))} vs one layer "
        f"W' ({W_one.shape[0]}x{W_one.shape[1]}), b' on 200 random inputs:",
        f"  largest difference {diff:.3e} (tolerance {TOLERANCE:g})",
        f"  best affine fit to XOR (least squares): MSE {best_affine:.6f}",
        "  2-4-1 on XOR, seed 42, 10,000 iterations:",
        format_table(["activations", "final loss", "predictions for the 4 points"], rows,
                     align="lrl")])
    learned = sigmoid["correct"] == 4 and sigmoid["final_loss"] < 0.001
    stuck = abs(linear["final_loss"] - 0.25) < 0.01
    data: dict[str, Any] = {
        "sizes": list(SIZES), "max_abs_difference": diff, "tolerance": TOLERANCE,
        "collapsed_weight": W_one, "collapsed_bias": b_one, "best_affine_mse": best_affine,
        "linear_xor": linear, "sigmoid_xor": sigmoid}
    verdict = (f"collapse agrees to {diff:.2e} (≤ {TOLERANCE:g}: "
               f"{'yes' if diff <= TOLERANCE else 'no'}); all-linear XOR loss "
               f"{linear['final_loss']:.6f} "
               f"{'stays at' if stuck else 'moves away from'} 0.25, sigmoid reaches "
               f"{sigmoid['final_loss']:.6f} ({sigmoid['correct']}/4)")
    return Result(NAME, TITLE, data, table, verdict,
                  as_claimed=diff <= TOLERANCE and stuck and learned,
                  notes=["With a = x W + b per layer, two layers give (x W1 + b1) W2 + b2 = "
                         "x (W1 W2) + (b1 W2 + b2): again one layer. By induction any number of "
                         "linear layers is one linear layer, and the best straight-line fit to "
                         "XOR predicts 0.5 everywhere (MSE 0.25)."])


def _train_all_linear(backend: str) -> dict[str, Any]:
    X, y = datasets.xor()
    net = Network([2, 4, 1], activation="linear", seed=42, backend=backend)
    initial_loss = net.loss(X, y)
    history = net.fit(X, y, lr=LINEAR_LR, epochs=10000)
    pred = net.forward(X)
    right = (np.round(pred).astype(int) == y).ravel()
    return {"lr": LINEAR_LR, "iterations": 10000, "initial_loss": float(initial_loss),
            "loss_history": np.asarray(history.loss), "predictions": pred.ravel(),
            "final_loss": float(net.loss(X, y)), "correct": int(right.sum())}


def plot(result: Result) -> "list[tuple[str, Figure]]":
    fig = new_figure(7.0, 3.6)
    ax = fig.subplots()
    for key, label, color in (("linear_xor", "all linear", "tab:gray"),
                              ("sigmoid_xor", "sigmoid", "tab:blue")):
        losses = np.asarray(result[key]["loss_history"])
        ax.plot(np.arange(losses.size), losses, label=label, color=color, linewidth=1.2)
    ax.axhline(0.25, color="black", linestyle=":", linewidth=1, label="0.25 (best straight line)")
    ax.set_yscale("log")
    ax.set_xlabel("iteration")
    ax.set_ylabel("loss (MSE)")
    ax.set_title("2-4-1 on XOR: without activations the loss stays at 0.25")
    ax.legend(fontsize=8)
    ax.grid(True, alpha=0.3)
    return [("linear-collapse", fig)]
