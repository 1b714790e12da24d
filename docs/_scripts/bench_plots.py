"""Figures of the benchmark page, drawn from the tables on that page.

The tables of docs/benchmarks.md ("Latest results") are the record of one
full run of ``python bench/run.py --markdown``; these plots read them, so
the figures and the tables cannot disagree. (A run's ``--json`` output holds
the same numbers.)
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

try:
    PAGE = Path(__file__).resolve().parent.parent / "benchmarks.md"
except NameError:  # run by the plot directive without __file__: from docs/_scripts
    PAGE = Path.cwd().parent / "benchmarks.md"


def tables() -> list[list[dict[str, str]]]:
    """Every Markdown table of the page, as lists of {column: cell} rows."""
    found, rows, header = [], [], None
    for line in PAGE.read_text(encoding="utf-8").splitlines() + [""]:
        if line.startswith("|"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if header is None:
                header = cells
            elif set(line) <= set("|-: "):
                continue
            else:
                rows.append(dict(zip(header, cells)))
        elif header is not None:
            found.append(rows)
            rows, header = [], None
    return found


def table_with(*columns: str) -> list[dict[str, str]]:
    for rows in tables():
        if rows and all(c in rows[0] for c in columns):
            return rows
    raise LookupError(f"no table with columns {columns} in {PAGE}")


def _bars(ax, groups, peers, ratio, title):
    width = 0.8 / len(peers)
    x = np.arange(len(groups))
    for i, peer in enumerate(peers):
        values = [ratio.get((g, peer), np.nan) for g in groups]
        ax.bar(x + (i - (len(peers) - 1) / 2) * width, values, width, label=peer)
    ax.axhline(1.0, color="black", lw=0.8)
    ax.set_yscale("log")
    ax.set_xticks(x, groups)
    ax.set_title(title)
    ax.set_ylabel("peer time / native time")
    ax.legend(fontsize=8)


def training() -> None:
    """Full-batch training: each peer's best time per iteration over native's."""
    rows = table_with("size", "dtype", "peer", "peer/native")
    fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
    for ax, dtype in zip(axes, ("float64", "float32")):
        sel = [r for r in rows if r["dtype"] == dtype and not r["peer"].startswith("native")]
        groups = list(dict.fromkeys(r["size"] for r in sel))
        peers = list(dict.fromkeys(r["peer"].split("/")[0] for r in sel))
        ratio = {(r["size"], r["peer"].split("/")[0]): float(r["peer/native"]) for r in sel}
        _bars(ax, groups, peers, ratio, f"full-batch training, {dtype}")
    fig.tight_layout()


def minibatch() -> None:
    """Mini-batch training: each peer's best time per iteration over native's."""
    rows = table_with("problem", "optimizer", "peer", "peer/native")
    sel = [r for r in rows if r["peer"] != "native"]
    groups = list(dict.fromkeys(f"{r['problem'].split()[0]} {r['optimizer']}" for r in sel))
    peers = list(dict.fromkeys(r["peer"].split("/")[0] for r in sel))
    ratio = {(f"{r['problem'].split()[0]} {r['optimizer']}", r["peer"].split("/")[0]):
             float(r["peer/native"]) for r in sel}
    fig, ax = plt.subplots(figsize=(8, 4))
    _bars(ax, groups, peers, ratio, "mini-batch training (float64)")
    fig.tight_layout()


def inference() -> None:
    """Network.forward of 784-128-10: each peer's best time over native's."""
    rows = table_with("rows", "dtype", "peer", "peer/native")
    sel = [r for r in rows if r["peer"] != "native"]
    groups = list(dict.fromkeys(f"{r['rows']} rows {r['dtype']}" for r in sel))
    peers = list(dict.fromkeys(r["peer"].split("/")[0] for r in sel))
    ratio = {(f"{r['rows']} rows {r['dtype']}", r["peer"].split("/")[0]):
             float(r["peer/native"]) for r in sel}
    fig, ax = plt.subplots(figsize=(8, 4))
    _bars(ax, groups, peers, ratio, "inference, 784-128-10")
    ax.tick_params(axis="x", labelsize=8)
    fig.tight_layout()
