"""activations: XOR with every hidden activation plainnet offers."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ..network import ACTIVATIONS
from ._base import Result, format_table, line_styles, new_figure
from ._xor_runs import public, train_xor

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

NAME = "activations"
TITLE = "XOR with each hidden activation (output sigmoid, seed 42, lr 2.0, 10,000 iterations)"


def compute(backend: str = "native") -> Result:
    runs: dict[str, dict[str, Any]] = {}
    for act in ACTIVATIONS:
        runs[act] = public(train_xor(4, 2.0, 10000, seed=42, activation=act, backend=backend))
    rows = []
    for act, run in runs.items():
        solved = run["correct"] == 4 and run["final_loss"] < 0.001
        rows.append([act, f"{run['final_loss']:.3e}", f"{run['correct']}/4",
                     run["dead_units"], run["distinct_hidden_codes"],
                     "diverged" if run["diverged_at"] >= 0 else ("learned" if solved else "no")])
    table = format_table(["hidden activation", "final loss", "correct", "dead units",
                          "distinct codes", "learned"], rows, align="lrrrrl")
    learned = [a for a, r in runs.items() if r["correct"] == 4 and r["final_loss"] < 0.001]
    failed = [a for a in runs if a not in learned]
    verdict = (f"{len(learned)} of {len(runs)} learn XOR (4/4, loss < 0.001): "
               f"{', '.join(learned) or 'none'}; not: {', '.join(failed) or 'none'}")
    data = {"activations": list(ACTIVATIONS), "runs": runs, "learned": learned, "failed": failed}
    notes = ["A linear hidden layer makes the whole network a logistic regression, which "
             "cannot separate XOR. 'dead units' output 0 for all four inputs and so pass back "
             "no gradient; 'distinct codes' counts how many of the four inputs the trained "
             "hidden layer still maps to different values: with fewer than 4, some inputs "
             "look identical to the output neuron."]
    stuck = [f"{a} ({r['dead_units']} dead, {r['distinct_hidden_codes']} codes)"
             for a, r in runs.items() if a in failed and a != "linear"]
    if stuck:
        notes.append("Failed here besides linear: " + ", ".join(stuck) + ".")
    return Result(NAME, TITLE, data, table, verdict,
                  as_claimed="linear" in failed and "sigmoid" in learned, notes=notes)


def plot(result: Result) -> "list[tuple[str, Figure]]":
    fig = new_figure(7.5, 4.5)
    ax = fig.subplots()
    runs = result["runs"]
    # curves that end up on top of each other (elu and silu here) differ in line style
    for (act, run), style in zip(runs.items(), line_styles(len(runs))):
        losses = np.asarray(run["loss_history"])
        ax.plot(np.arange(losses.size), losses, label=act, linewidth=1.3, **style)
    ax.set_yscale("log")
    ax.set_xlabel("iteration")
    ax.set_ylabel("loss (MSE)")
    ax.set_title("XOR, 2-4-1, by hidden activation")
    ax.legend(fontsize=8, ncol=3)
    ax.grid(True, alpha=0.3)
    return [("activations", fig)]
