"""lr-too-high: the same network with learning rate 100."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .. import datasets
from ..network import Network
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
    run.update(sensitivity(losses, backend))
    failed = run["correct"] < 4 or run["diverged_at"] >= 0
    how = ("diverged" if run["diverged_at"] >= 0 else
           f"the loss went up in {rises} of {steps.size} steps, lowest {run['min_loss']:.4g} at "
           f"iteration {run['min_loss_at']}")
    verdict = (f"{verdict_numbers(run)}; {how} → "
               f"{'failed to learn XOR' if failed else 'learned XOR anyway'}")
    chaos = (f"  the same run from starting weights nudged by {NUDGE:g} (relative): losses "
             f"differ by more than 1e-9 (relative) from iteration {run['nudged_split_at']}, "
             f"final loss {run['nudged_final_loss']:.6g}, {run['nudged_correct']} of 4 correct")
    return Result(NAME, TITLE, run, describe(run) + "\n" + chaos, verdict, as_claimed=failed,
                  notes=["Each update overshoots the valley: the loss jumps up and down instead "
                         "of settling, and the network ends with wrong answers. At this step "
                         "size training is chaotic: a difference in the last digits of the "
                         "weights grows about tenfold every few iterations, so the final loss "
                         "depends on rounding (the two backends, or two CPUs, agree on the first "
                         "few dozen iterations and on the failure, not on the final digits)."])


NUDGE = 1e-15


def sensitivity(losses: np.ndarray, backend: str) -> dict[str, float]:
    """Rerun from weights scaled by (1 + NUDGE): where do the loss curves part?"""
    X, y = datasets.xor()
    start = Network([2, 4, 1], activation="sigmoid", seed=42)
    nudged = Network.from_weights([w * (1 + NUDGE) for w in start.weights], start.biases,
                                  activation="sigmoid", backend=backend)
    try:
        other = np.asarray(nudged.fit(X, y, lr=100.0, epochs=losses.size).loss)
    except FloatingPointError as exc:
        other = np.asarray(exc.history.loss)  # type: ignore[attr-defined]
    n = min(other.size, losses.size)
    apart = np.flatnonzero(np.abs(other[:n] - losses[:n]) > 1e-9 * np.abs(losses[:n]))
    right = (np.round(nudged.forward(X)).astype(int) == y).ravel()
    return {"nudge": NUDGE, "nudged_split_at": int(apart[0]) if apart.size else -1,
            "nudged_final_loss": float(nudged.loss(X, y)), "nudged_correct": int(right.sum())}


def plot(result: Result) -> "list[tuple[str, Figure]]":
    return [plot_loss(result, result.data, "lr 100 (too high): loss", "tab:red",
                      "lr-too-high-loss")]
