"""xor-dataset: the four XOR points, and why no straight line separates them."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .. import datasets
from ._base import Result, format_table, new_figure

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

NAME = "xor-dataset"
TITLE = "The XOR data: four points no straight line separates"


def compute(backend: str = "native") -> Result:
    """The points, and the best any straight line can do on them.

    A line w·x + b separates the classes when the 1s land on one side and the
    0s on the other: w·x + b > 0 for (0,1) and (1,0), < 0 for (0,0) and (1,1).
    Adding the first two gives w1 + w2 + 2b > 0, adding the last two gives
    w1 + w2 + 2b < 0: a contradiction. The data also checks it by brute force:
    over a grid of lines, the most points any line gets right is 3 of 4.
    """
    del backend  # nothing is trained here
    X, y = datasets.xor()
    t = y.ravel()
    angles = np.linspace(0.0, 2 * np.pi, 360, endpoint=False)
    offsets = np.linspace(-2.0, 2.0, 401)
    best = 0
    for a in angles:
        side = X @ np.array([np.cos(a), np.sin(a)])
        for b in offsets:
            pred = (side + b > 0).astype(int)
            best = max(best, int((pred == t).sum()))
    rows = [[str(x.tolist()), int(x[0]), int(x[1]), int(v)] for x, v in zip(X, t)]
    table = format_table(["point", "A", "B", "A xor B"], rows, align="lrrr")
    data = {"inputs": X.tolist(), "targets": t.tolist(), "lines_tried": int(angles.size * offsets.size),
            "best_line_correct": best}
    verdict = (f"the best of {data['lines_tried']:,} straight lines classifies {best} of 4 points "
               f"correctly" + (" → not linearly separable" if best < 4 else " → separable"))
    return Result(NAME, TITLE, data, table, verdict, as_claimed=best < 4,
                  notes=["The output is 1 exactly when the inputs differ. A line that puts "
                         "(0,1) and (1,0) on one side is forced, by adding the two inequalities, "
                         "to put (0,0) and (1,1) there too, so one neuron with a threshold "
                         "cannot learn XOR: it needs a hidden layer."])


def plot(result: Result) -> "list[tuple[str, Figure]]":
    fig = new_figure(5.0, 4.5)
    ax = fig.subplots()
    X = np.asarray(result["inputs"], dtype=float)
    t = np.asarray(result["targets"])
    for cls, color, marker, label in ((0, "tab:red", "o", "0 (inputs equal)"),
                                      (1, "tab:blue", "s", "1 (inputs differ)")):
        pts = X[t == cls]
        ax.scatter(pts[:, 0], pts[:, 1], c=color, marker=marker, s=220, edgecolors="black",
                   linewidths=1.5, label=label)
    ax.set_xlim(-0.5, 1.5)
    ax.set_ylim(-0.5, 1.5)
    ax.set_xlabel("input A")
    ax.set_ylabel("input B")
    ax.set_title("XOR: no straight line separates red from blue")
    ax.legend(loc="upper right", fontsize=8)
    ax.grid(True, alpha=0.3)
    return [("xor-dataset", fig)]
