"""sigmoid: the function, its slope, and how fast slopes of 0.25 vanish when multiplied."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..network import _backend_module
from ._base import Result, format_table, new_figure

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

NAME = "sigmoid"
TITLE = "Sigmoid and its derivative: the slope never exceeds 0.25"


def compute(backend: str = "native") -> Result:
    """sigmoid(z) and sigmoid'(z) on [-6, 6], computed by plainnet's activation kernels."""
    impl = _backend_module(backend)
    z = np.linspace(-6.0, 6.0, 1201)  # includes z = 0 exactly (index 600)
    z[600] = 0.0
    s = np.asarray(impl.activation_forward(z, "sigmoid"))
    ds = np.zeros_like(z)
    impl.activation_backward(ds, np.ones_like(z), z, s, "sigmoid")
    i = int(np.argmax(ds))
    powers = [0.25 ** n for n in range(1, 11)]
    rows = [[n, f"{p:.3e}", f"{p!r}"] for n, p in zip(range(1, 11), powers)]
    # repr of a Python float: the shortest digits that give back the exact value
    # (repr of a NumPy scalar would print "np.float64(0.5)")
    table = "\n".join([
        f"  sigmoid(0) = {float(s[600])!r}; largest derivative {float(ds[i])!r} "
        f"at z = {z[i]:g}",
        "  a signal passing back through n sigmoid layers is scaled by at most 0.25^n:",
        format_table(["n", "0.25^n", "exact"], rows)])
    data = {"z": z, "sigmoid": s, "derivative": ds, "max_derivative": float(ds[i]),
            "argmax_z": float(z[i]), "vanishing": {str(n): p for n, p in zip(range(1, 11), powers)}}
    claimed = abs(ds[i] - 0.25) <= 1e-15 and z[i] == 0.0 and bool(np.all(ds <= 0.25))
    verdict = (f"max derivative {ds[i]:.17g} at z = {z[i]:g} (never above 0.25 on the grid); "
               f"after 10 layers at most 0.25^10 = {powers[-1]:.4g} of the gradient survives")
    return Result(NAME, TITLE, data, table, verdict, as_claimed=bool(claimed),
                  notes=["sigmoid'(z) = s(1 - s) with s = sigmoid(z); s(1 - s) is largest when "
                         "s = 1/2, at z = 0, where it equals 1/4. Backpropagation multiplies one "
                         "such factor per layer, so deep sigmoid stacks pass back tiny gradients."])


def plot(result: Result) -> "list[tuple[str, Figure]]":
    fig = new_figure(9.0, 3.6)
    left, right = fig.subplots(1, 2)
    z = np.asarray(result["z"])
    left.plot(z, result["sigmoid"], color="tab:blue", linewidth=2)
    left.axhline(0.5, color="gray", linestyle="--", alpha=0.5)
    left.axvline(0.0, color="gray", linestyle="--", alpha=0.5)
    left.set_title("sigmoid(z) = 1 / (1 + e^-z)")
    left.set_xlabel("z")
    right.plot(z, result["derivative"], color="tab:red", linewidth=2)
    right.axhline(0.25, color="gray", linestyle="--", alpha=0.5, label="0.25")
    right.set_title("derivative s(1 - s): at most 0.25")
    right.set_xlabel("z")
    right.legend(fontsize=8)
    for ax in (left, right):
        ax.grid(True, alpha=0.3)
    return [("sigmoid", fig)]
