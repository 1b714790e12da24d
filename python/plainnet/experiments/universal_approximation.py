"""universal-approximation: wider hidden layers fit sin(x) better."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional, Sequence

import numpy as np

from ..network import Network
from ._base import Result, format_table, line_styles, new_figure

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

NAME = "universal-approximation"
TITLE = "Universal approximation: one tanh hidden layer of growing width fits sin(x)"

WIDTHS = (1, 2, 4, 8, 16, 32)
POINTS = 128
ITERATIONS = 10000


def learning_rate(width: int) -> float:
    """0.5, reduced as 4/width for wide layers: the output sums ``width`` terms, so the
    same step moves it ``width`` times as much and a fixed lr diverges."""
    return min(0.5, 4.0 / width)


def compute(backend: str = "native", widths: Sequence[int] = WIDTHS,
            iterations: int = ITERATIONS, seed: int = 0) -> Result:
    """Fit sin on [-pi, pi] with 1-w-1 networks (tanh hidden, linear output).

    The input is scaled to [-1, 1] (x / pi). Each width starts from the network
    trained at the previous width plus new hidden neurons whose output weights
    are zero, so it starts from exactly the previous fit and gradient descent
    (full batch, ``iterations`` steps) can only improve on it.
    """
    x = np.linspace(-np.pi, np.pi, POINTS)[:, None]
    target = np.sin(x)
    xs = x / np.pi
    rng = np.random.RandomState(seed)
    net: Optional[Network] = None
    fits: dict[str, Any] = {}
    rows = []
    prev = 0
    for w in widths:
        W1 = np.zeros((1, w))
        b1 = np.zeros(w)
        W2 = np.zeros((w, 1))
        b2 = np.zeros(1)
        if net is None:
            W2[:] = rng.randn(w, 1) * 0.5
        else:
            W1[:, :prev] = net.weights[0]
            b1[:prev] = net.biases[0]
            W2[:prev] = net.weights[1]
            b2[:] = net.biases[1]
        W1[:, prev:] = rng.randn(1, w - prev)
        b1[prev:] = rng.randn(w - prev) if net is not None else 0.0
        net = Network.from_weights([W1, W2], [b1, b2], activation="tanh",
                                   output_activation="linear", backend=backend)
        lr = learning_rate(w)
        history = net.fit(xs, target, lr=lr, epochs=iterations)
        pred = net.forward(xs)
        err = pred - target
        rms = float(np.sqrt(np.mean(err ** 2)))
        max_abs = float(np.max(np.abs(err)))
        fits[str(w)] = {"width": w, "lr": lr, "rms_error": rms, "max_abs_error": max_abs,
                        "start_loss": float(history.loss[0]), "final_loss": float(np.mean(err ** 2)),
                        "prediction": pred.ravel()}
        rows.append([w, net.num_parameters, f"{lr:g}", f"{rms:.5f}", f"{max_abs:.5f}"])
        prev = w
    rms_all = [fits[str(w)]["rms_error"] for w in widths]
    decreasing = all(a > b for a, b in zip(rms_all, rms_all[1:]))
    table = "\n".join([f"  {POINTS} points on [-π, π], input x/π, {iterations:,} iterations "
                       "per width (each width continues from the previous one)",
                       format_table(["width", "parameters", "lr", "RMS error", "max |error|"],
                                    rows)])
    data = {"widths": list(widths), "x": x.ravel(), "target": target.ravel(), "fits": fits,
            "rms_errors": rms_all, "max_abs_errors": [fits[str(w)]["max_abs_error"] for w in widths],
            "iterations": iterations, "strictly_decreasing": decreasing}
    verdict = (f"RMS error {' > '.join(f'{e:.3g}' for e in rms_all) if decreasing else ', '.join(f'{e:.3g}' for e in rms_all)}"
               f" over widths {', '.join(map(str, widths))} → "
               f"{'falls with every added width' if decreasing else 'does not fall at every step'}")
    return Result(NAME, TITLE, data, table, verdict, as_claimed=decreasing,
                  notes=["Each tanh neuron adds one smooth step; a weighted sum of enough steps "
                         "follows any continuous curve on an interval. One neuron can only draw "
                         "a single S-shape; a few already trace sin closely."])


def plot(result: Result) -> "list[tuple[str, Figure]]":
    """The fits over sin(x) and, below, each fit's error, which tells the close ones apart."""
    fig = new_figure(7.5, 7.0)
    top, bottom = fig.subplots(2, 1, sharex=True)
    x = np.asarray(result["x"])
    target = np.asarray(result["target"])
    top.plot(x, target, color="black", linewidth=2.5, label="sin(x)")
    smallest = np.inf
    for w, style in zip(result["widths"], line_styles(len(result["widths"]))):
        fit = result["fits"][str(w)]
        error = np.abs(np.asarray(fit["prediction"]) - target)
        top.plot(x, fit["prediction"], linewidth=1.3,
                 label=f"width {w} (RMS {fit['rms_error']:.3g})", **style)
        bottom.plot(x, error, linewidth=1.3, **style)
        smallest = min(smallest, fit["rms_error"])
    top.set_title("One hidden layer of growing width fitting sin(x)")
    top.legend(fontsize=8)
    bottom.set_yscale("log")
    # |error| dips towards 0 wherever a fit crosses sin(x); cut those dips off a
    # little over a decade below the best RMS error so the curves' levels stay readable
    if np.isfinite(smallest) and smallest > 0:
        bottom.set_ylim(bottom=smallest / 20)
    bottom.set_title("The error of each fit (log scale; lines as above)")
    bottom.set_ylabel("|prediction - sin(x)|")
    bottom.set_xlabel("x")
    for ax in (top, bottom):
        ax.grid(True, alpha=0.3)
    return [("universal-approximation", fig)]
