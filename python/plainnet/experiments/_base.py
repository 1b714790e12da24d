"""What every experiment returns, and small helpers they share."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Optional, Sequence

import numpy as np

if TYPE_CHECKING:  # pragma: no cover - typing only
    from matplotlib.figure import Figure


@dataclass
class Result:
    """The outcome of one experiment.

    Parameters
    ----------
    name : str
        The experiment's name, as ``run`` takes it.
    title : str
        Its title in the report.
    data : dict
        Every number the verdict rests on (plain floats, ints, lists and NumPy
        arrays).
    table : str
        The text shown in the terminal and the report.
    verdict : str
        A sentence computed from ``data``.
    as_claimed : bool
        Whether the numbers agree with what the tutorial says happens.
    notes : list of str
        Explanations printed under the verdict.
    """

    name: str
    title: str
    data: dict[str, Any]
    table: str
    verdict: str
    as_claimed: bool
    notes: list[str] = field(default_factory=list)

    def __getitem__(self, key: str) -> Any:
        return self.data[key]


Plotter = Callable[[Result], "list[tuple[str, Figure]]"]


@dataclass(frozen=True)
class Experiment:
    """One entry of the registry: how to compute an experiment and how to draw it.

    Parameters
    ----------
    name : str
        The experiment's name.
    title : str
        Its title in the report.
    compute : callable
        ``compute(backend=...)`` returns a ``Result``.
    plot : callable
        ``plot(result)`` returns ``[(name, matplotlib Figure), ...]``.
    summary : str
        One line for ``--list``.
    shows_progress : bool, default=False
        Whether ``compute`` takes ``progress=`` (a bar for experiments that run
        long).
    """

    name: str
    title: str
    compute: Callable[..., Result]
    plot: Plotter
    summary: str
    # compute takes progress= (a bar for experiments that run long)
    shows_progress: bool = False


def new_figure(width: float = 7.0, height: float = 4.5) -> "Figure":
    """A matplotlib Figure that draws off-screen (no pyplot, no global state).

    Raises ImportError when matplotlib is not installed.
    """
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


LINE_STYLES = ("-", "--", ":", "-.")


def line_styles(n: int) -> list[dict[str, Any]]:
    """``n`` keyword sets for ``Axes.plot``, each a different colour and line style.

    Colours follow matplotlib's ten-colour cycle and line styles cycle through
    LINE_STYLES alongside, so every line differs from its neighbours in both and
    curves that lie on top of each other can still be told apart; the first 20
    combinations are all distinct.
    """
    return [{"color": f"C{i % 10}", "linestyle": LINE_STYLES[i % len(LINE_STYLES)]}
            for i in range(n)]


def jsonable(value: Any) -> Any:
    """``value`` with NumPy scalars and arrays turned into Python floats, ints and lists.

    Floats keep full precision (json writes them with repr); NaN and Inf become
    the strings "nan", "inf", "-inf" so the file stays strict JSON.
    """
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        f = float(value)
        if math.isfinite(f):
            return f
        return "nan" if math.isnan(f) else ("inf" if f > 0 else "-inf")
    if value is None or isinstance(value, str):
        return value
    raise TypeError(f"jsonable: cannot store {type(value).__name__} {value!r}")


def format_table(header: Sequence[str], rows: Sequence[Sequence[Any]],
                 align: Optional[str] = None) -> str:
    """A plain-text table; ``align`` has one 'l' or 'r' per column (default: right)."""
    cells = [[str(h) for h in header]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    how = align or "r" * len(header)
    lines = []
    for n, row in enumerate(cells):
        parts = [c.ljust(w) if a == "l" else c.rjust(w) for c, w, a in zip(row, widths, how)]
        lines.append("  " + "  ".join(parts).rstrip())
        if n == 0:
            lines.append("  " + "  ".join("-" * w for w in widths))
    return "\n".join(lines)
