"""Showing the results: the table (plain or markdown), the targets, JSON, a plot."""

from __future__ import annotations

import json
import math
from typing import Any, Optional

from suite import RTOL_TRAJECTORY, Result

# The request's targets. float64: the numpy backend's time over native's, per size.
TARGETS_NUMPY = {"xor": 150.0, "small": 3.0, "medium": 1.2, "large": 1.2}
# float32: PyTorch (its best thread count) over native, at these sizes.
TARGETS_TORCH = {"medium": 1.0, "large": 1.0}

FOOTNOTE = """\
ratio = peer median / native median (above 1: native is faster). torch/Nt: PyTorch
with N threads, the faster of 1 and 2 in short probe runs (both are loss-checked).
sklearn: MLPRegressor's output layer is linear, so it is checked and timed against
native-lin, plainnet training that same network (smaller lr, see bench/problems.py)."""


def us(seconds: float) -> str:
    """Microseconds with 3-4 significant figures."""
    v = seconds * 1e6
    if not math.isfinite(v):
        return "-"
    return f"{v:.3f}" if v < 10 else f"{v:.1f}" if v < 10000 else f"{v:.0f}"


def shown(results: list[Result]) -> list[Result]:
    """The rows of the table: every result but the slower torch thread count."""
    return [r for r in results if r.best]


def _row(r: Result) -> list[str]:
    if r.ok:
        times = [us(r.median), us(r.min), us(r.max)]
        ratio = f"{r.ratio:.2f}" if r.ratio is not None else "-"
        check = r.message
    else:
        times, ratio, check = ["FAILED", "-", "-"], "-", "FAILED"
    return [r.size, r.dtype, r.label, str(r.iterations), *times, f"{r.final_loss:.10g}", check,
            ratio]


HEADER = ["size", "dtype", "peer", "iters", "median us/it", "min", "max", "final loss",
          "loss check", "peer/native"]
RIGHT = {3, 4, 5, 6, 7, 9}


def table(results: list[Result]) -> str:
    rows = [HEADER] + [_row(r) for r in shown(results)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(HEADER))]
    lines = ["  ".join(cell.rjust(w) if i in RIGHT else cell.ljust(w)
                       for i, (cell, w) in enumerate(zip(row, widths))).rstrip() for row in rows]
    lines.insert(1, "-" * len(lines[0]))
    failures = [f"  {r.size} {r.dtype} {r.label}: {r.message}" for r in results if not r.ok]
    if failures:
        lines += ["", "Peers whose losses did not match (no time reported):", *failures]
    return "\n".join(lines)


def markdown(results: list[Result], machine_lines: list[str], date: str,
             goals: list[dict[str, Any]], trajectory: str, elapsed: float,
             load: str = "") -> str:
    """The run as markdown, to paste into the README as it is."""
    head = [h.replace("us/it", "µs/iteration") for h in HEADER]
    lines = [f"Measured {date} on {machine_lines[0]}; " + "; ".join(machine_lines[1:]) + "; "
             f"the whole run took {elapsed:.0f} s" + (f", load average {load}" if load else "")
             + ".",
             "",
             "| " + " | ".join(head) + " |",
             "|" + "|".join("---:" if i in RIGHT else "---" for i in range(len(HEADER))) + "|"]
    lines += ["| " + " | ".join(_row(r)) + " |" for r in shown(results)]
    if trajectory:
        lines += ["", trajectory[0].upper() + trajectory[1:] + "."]
    if goals:
        lines += ["", "| target | measured | |", "|---|---:|---|"]
        for t in goals:
            ratio = f"{t['ratio']:.2f}×" if t["ratio"] is not None else "n/a"
            lines.append(f"| {t['size']} {t['dtype']}: {t['ratio_of']} ≥ {t['target']:g}× "
                         f"| {ratio} | {'met' if t['met'] else 'not met'} |")
    return "\n".join(lines)


def targets(results: list[Result]) -> list[dict[str, Any]]:
    """Each of the request's targets with the measured ratio and whether it is met."""
    out = []

    def find(size: str, dtype: str, peer: str) -> Optional[Result]:
        return next((r for r in results if (r.size, r.dtype, r.peer) == (size, dtype, peer)
                     and r.best), None)

    for size, goal in TARGETS_NUMPY.items():
        r = find(size, "float64", "numpy")
        if r is not None:
            out.append({"size": size, "dtype": "float64", "ratio_of": "numpy/native",
                        "target": goal, "ratio": r.ratio,
                        "met": r.ratio is not None and r.ratio >= goal})
    for size, goal in TARGETS_TORCH.items():
        r = find(size, "float32", "torch")
        if r is not None:
            out.append({"size": size, "dtype": "float32",
                        "ratio_of": f"torch({r.threads}t)/native", "target": goal,
                        "ratio": r.ratio, "met": r.ratio is not None and r.ratio >= goal})
    return out


def targets_text(items: list[dict[str, Any]]) -> str:
    if not items:
        return "Targets: none of the target sizes/peers were run."
    lines = ["Targets (float64 vs the numpy backend; float32 vs PyTorch at its best thread count):"]
    for t in items:
        ratio = f"{t['ratio']:.2f}x" if t["ratio"] is not None else "n/a"
        lines.append(f"  {t['size']:<7} {t['dtype']:<8} {t['ratio_of']:<18} {ratio:>9}   "
                     f"target >= {t['target']:g}x   {'met' if t['met'] else 'NOT MET'}")
    return "\n".join(lines)


def trajectory_text(items: list[tuple[str, float, bool]]) -> str:
    if not items:
        return ""
    parts = [f"{size} {dev:.1e} {'ok' if ok else 'FAILED'}" for size, dev, ok in items]
    return (f"native vs numpy backend, loss of every iteration (float64, rtol {RTOL_TRAJECTORY:g}): "
            + ", ".join(parts))


def write_json(path: str, payload: dict[str, Any]) -> None:
    with open(path, "w") as f:
        json.dump(payload, f, indent=1, allow_nan=True)
        f.write("\n")


def plot(path: str, results: list[Result], title: str) -> Optional[str]:
    """A bar chart of the ratios (log scale), one panel per dtype; returns why not, if not."""
    try:
        import matplotlib
    except ImportError:
        return "matplotlib is not installed (pip install '.[bench]'); no plot written"
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [r for r in shown(results) if r.ratio is not None and r.peer not in ("native",
                                                                               "native-lin")]
    dtypes = sorted({r.dtype for r in rows}, reverse=True)  # float64 first
    if not rows:
        return "no ratios to plot"
    fig, axes = plt.subplots(1, len(dtypes), figsize=(5.5 * len(dtypes), 4.2), squeeze=False)
    for ax, dtype in zip(axes[0], dtypes):
        mine = [r for r in rows if r.dtype == dtype]
        sizes = list(dict.fromkeys(r.size for r in mine))
        peers = list(dict.fromkeys(r.peer for r in mine))
        width = 0.8 / len(peers)
        for j, peer in enumerate(peers):
            xs, ys = [], []
            for i, size in enumerate(sizes):
                r = next((r for r in mine if r.size == size and r.peer == peer), None)
                if r is not None:
                    xs.append(i + (j - (len(peers) - 1) / 2) * width)
                    ys.append(r.ratio)
            bars = ax.bar(xs, ys, width, label="sklearn (vs native-lin)" if peer == "sklearn"
                          else peer)
            ax.bar_label(bars, labels=[f"{y:.3g}" for y in ys], fontsize=7)
        ax.axhline(1.0, color="black", linewidth=0.8)
        ax.set_yscale("log")
        ax.set_xticks(range(len(sizes)), sizes)
        ax.set_title(dtype)
        ax.set_ylabel("peer time / native time (above 1: native faster)")
        ax.legend(fontsize=8)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return None
