"""lr-too-high: the same network with learning rate 100."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ._base import Result
from ._xor_runs import describe, plot_loss, public, train_xor, verdict_numbers

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

NAME = "lr-too-high"
TITLE = "Learning rate too high: lr 100, 1,000 iterations"


def compute(backend: str = "native") -> Result:
    run = public(train_xor(4, 100.0, 1000, seed=42, backend=backend))
    losses = np.asarray(run["loss_history"])
    steps = np.diff(losses)
    rises = int((steps > 0).sum())
    run["loss_rises"] = rises
    run["min_loss"] = float(losses.min())
    run["min_loss_at"] = int(losses.argmin())
    failed = run["correct"] < 4 or run["diverged_at"] >= 0
    how = ("diverged" if run["diverged_at"] >= 0 else
           f"the loss went up in {rises} of {steps.size} steps, lowest {run['min_loss']:.4g} at "
           f"iteration {run['min_loss_at']}")
    verdict = (f"{verdict_numbers(run)}; {how} → "
               f"{'failed to learn XOR' if failed else 'learned XOR anyway'}")
    return Result(NAME, TITLE, run, describe(run), verdict, as_claimed=failed,
                  notes=["Each update jumps so far that the sigmoids saturate: their slopes "
                         "become ~0, the gradient vanishes and the network is stuck with "
                         "wrong answers instead of settling into the valley."])


def plot(result: Result) -> "list[tuple[str, Figure]]":
    return [plot_loss(result, result.data, "lr 100 (too high): loss", "tab:red",
                      "lr-too-high-loss")]
