"""lr-too-low: the same network with learning rate 0.001."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._base import Result
from ._xor_runs import describe, plot_loss, public, train_xor, verdict_numbers

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

NAME = "lr-too-low"
TITLE = "Learning rate too low: lr 0.001, 10,000 iterations"


def compute(backend: str = "native") -> Result:
    run = public(train_xor(4, 0.001, 10000, seed=42, backend=backend))
    drop = run["initial_loss"] - run["final_loss"]
    run["loss_drop"] = drop
    barely = drop < 0.01
    verdict = (f"{verdict_numbers(run)}; the loss fell by {drop:.4g} "
               f"{'(< 0.01) → barely moved' if barely else '(≥ 0.01) → it did learn'}")
    return Result(NAME, TITLE, run, describe(run), verdict, as_claimed=barely,
                  notes=["Steps 2,000 times smaller than in the working run: after 10,000 "
                         "of them the network has covered the distance of 5 good steps."])


def plot(result: Result) -> "list[tuple[str, Figure]]":
    return [plot_loss(result, result.data, "lr 0.001 (too low): loss", "tab:orange",
                      "lr-too-low-loss")]
