"""Showing the results: the tables (plain or markdown), the targets, JSON, a plot.

One run of the suite fills a ``Measured``: the GEMM rates, the full-batch
training rows, the mini-batch rows, the inference rows, the overheads of the
optimizer and the loss, the NumPy rows and the serving rows (latency and
threaded throughput); every part may be missing (not run). ``text`` and
``markdown`` show what is there, ``targets`` checks it against the
performance targets.
"""

from __future__ import annotations

import json
import math
import statistics
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from forward import ForwardResult
from gemm import GemmRate
from living import Living
from minibatch import SIZES as MINIBATCH_SIZES
from dropout import RATE as DROPOUT_RATE
from dropout import ratios as dropout_ratios
from overhead import ratios as overhead_ratios
from serving import SHARING_TARGET, LatencyResult, ThroughputResult, sharing, speedups
from suite import RTOL_TRAJECTORY, Result

# Full-batch float64: the numpy backend's time over native's, per size.
TARGETS_NUMPY = {"xor": 150.0, "small": 3.0, "medium": 1.2, "large": 1.2}
# Full-batch float32: PyTorch (its best thread count) over native, at these sizes.
TARGETS_TORCH = {"medium": 1.0, "large": 1.0}
# Full-batch: native's share of the machine's GEMM rate of its dtype.
TARGETS_GEMM = {("large", "float64"): 0.85, ("medium", "float32"): 0.75,
                ("large", "float32"): 0.75}
# Mini-batch: peer time over native's, for every optimizer's row.
TARGETS_MINIBATCH = {"digits": {"numpy": 5.0, "sklearn": 8.0, "torch": 8.0},
                     "mnist": {"sklearn": 2.0, "torch": 2.0}}
TARGETS_MINIBATCH_GEMM = {"mnist": 0.70}
TARGET_ADAM_OVER_SGD = 1.10  # at most
TARGET_CE_OVER_MSE = 1.0     # at most
TARGET_EXTRA_OVER_PLAIN = 1.10  # at most: an epoch with clipping or a schedule over one without
TARGET_DROPOUT = 1.10        # an epoch with dropout over one without, at most
TARGET_FORWARD_ROWS_TORCH = 100_000  # native forward at least as fast as torch from here on
TARGET_NUMPY_NEAR_FIT = 1.10  # NumPy's products near a fit over after an idle second, at most
TARGET_COEXIST_FIT = 1.05     # a fit beside NumPy's threads over the same on one thread, at most
# Serving: ONNX Runtime's best time over native's, one row and 10,000 rows, at least.
TARGET_SERVING_ORT = 1.0
TARGET_SECONDS = {False: 300.0, True: 60.0}  # the whole run (--quick: True), at most

FOOTNOTE = """\
best = the fastest of the timed runs; ratio = peer best / native best (above 1: native
is faster). torch/Nt: PyTorch with N threads, the faster of 1 and 2 in short probe runs
(both are loss-checked). GFLOP/s counts only the products an iteration needs (forward,
weight gradients, input gradients of every layer but the first); "of GEMM" is that
over the GEMM rate of the same dtype above. sklearn: MLPRegressor's output layer is
linear, so it is checked and timed against native-lin, plainnet training that same
network (smaller lr, see bench/problems.py)."""

MINIBATCH_FOOTNOTE = """\
Mini-batch: relu then softmax, cross-entropy, shuffled every epoch; every peer makes
the same updates (same weights, batches in fit's order, same rule) and its final
weights' loss on the training rows is checked against native's (bench/minibatch.py)."""


@dataclass
class Measured:
    """Everything one run of the suite measured; a part not run stays empty."""

    gemm: dict[str, GemmRate] = field(default_factory=dict)      # by dtype
    training: list[Result] = field(default_factory=list)         # full-batch
    trajectories: list[tuple[str, float, bool]] = field(default_factory=list)
    minibatch: list[Result] = field(default_factory=list)
    minibatch_trajectories: list[tuple[str, float, bool]] = field(default_factory=list)
    forward: list[ForwardResult] = field(default_factory=list)
    overhead: list[Result] = field(default_factory=list)
    dropout: list[Result] = field(default_factory=list)
    living: Optional[Living] = None
    serving: list[LatencyResult] = field(default_factory=list)
    throughput: list[ThroughputResult] = field(default_factory=list)
    elapsed: Optional[float] = None
    quick: bool = False


def us(seconds: float) -> str:
    """Microseconds with 3-4 significant figures."""
    v = seconds * 1e6
    if not math.isfinite(v):
        return "-"
    return f"{v:.3f}" if v < 10 else f"{v:.1f}" if v < 10000 else f"{v:.0f}"


def ms(seconds: float) -> str:
    v = seconds * 1e3
    return f"{v:.3f}" if math.isfinite(v) else "-"


def percent(value: Optional[float]) -> str:
    return f"{100 * value:.0f}%" if value is not None and math.isfinite(value) else "-"


def shown(results: list[Result]) -> list[Result]:
    """The rows of a table: every result but the slower torch thread count."""
    return [r for r in results if r.best]


def gemm_fraction(r: Result, gemm: dict[str, GemmRate]) -> Optional[float]:
    """The result's GFLOP/s over the GEMM rate of its dtype (None if either is missing)."""
    rate = gemm.get(r.dtype)
    if not r.ok or r.gflops is None or rate is None or not rate.times:
        return None
    return r.gflops / rate.gflops


def _times(r: Result) -> tuple[list[str], str, str]:
    """([best, median, max], check, ratio) as shown."""
    if not r.ok:
        return ["FAILED", "-", "-"], "FAILED", "-"
    ratio = f"{r.ratio:.2f}" if r.ratio is not None else "-"
    return [us(r.min), us(r.median), us(r.max)], r.message, ratio


def _flop_cells(r: Result, gemm: dict[str, GemmRate]) -> list[str]:
    rate = r.gflops if r.ok else None
    return [f"{rate:.1f}" if rate is not None else "-", percent(gemm_fraction(r, gemm))]


def _row(r: Result, gemm: Optional[dict[str, GemmRate]] = None) -> list[str]:
    times, check, ratio = _times(r)
    return [r.size, r.dtype, r.label, str(r.iterations), *times, f"{r.final_loss:.10g}", check,
            ratio, *_flop_cells(r, gemm or {})]


HEADER = ["size", "dtype", "peer", "iters", "best us/it", "median", "max", "final loss",
          "loss check", "peer/native", "GFLOP/s", "of GEMM"]
RIGHT = {3, 4, 5, 6, 7, 9, 10, 11}


def _minibatch_row(r: Result, gemm: dict[str, GemmRate]) -> list[str]:
    times, check, ratio = _times(r)
    return [f"{r.size} {MINIBATCH_SIZES[r.size].label}", r.optimizer, r.label,
            str(r.iterations), *times, f"{r.final_loss:.10g}", check, ratio,
            *_flop_cells(r, gemm)]


MINIBATCH_HEADER = ["problem", "optimizer", "peer", "iters", "best us/it", "median", "max",
                    "final weights' loss", "loss check", "peer/native", "GFLOP/s", "of GEMM"]


def _forward_row(r: ForwardResult) -> list[str]:
    check = f"ok {r.deviation:.1e}" if r.ok else f"FAILED {r.deviation:.1e}"
    ratio = f"{r.ratio:.2f}" if r.ratio is not None else "-"
    times = [ms(r.min), ms(r.median)] if r.ok else ["FAILED", "-"]
    return [f"{r.rows:,}", r.dtype, r.peer, *times, check, ratio]


FORWARD_HEADER = ["rows", "dtype", "peer", "best ms", "median ms", "output check",
                  "peer/native"]
FORWARD_RIGHT = {0, 3, 4, 6}


def _overhead_row(r: Result) -> list[str]:
    times, check, _ = _times(r)
    return [r.label, str(r.iterations), *times, f"{r.final_loss:.10g}", check]


OVERHEAD_HEADER = ["run (native)", "iters", "best us/it", "median", "max",
                   "final loss", "check"]
OVERHEAD_RIGHT = {1, 2, 3, 4, 5}


def _living_rows(living: Living) -> list[list[str]]:
    return [[name, ms(living.best(name)), ms(living.median(name)), str(len(times))]
            for name, times in living.times.items()]


def _coexist_rows(living: Living) -> list[list[str]]:
    def median(values: Optional[list[Any]], show: Callable[[float], str]) -> str:
        return show(statistics.median(values)) if values else "-"

    return [[f"{c.label} x{c.iterations}" if i == 0 else "", name, ms(c.best(name)),
             ms(c.median(name)), median(c.waits.get(name), ms),
             median(c.pooled.get(name), lambda n: f"{n:g}"), str(len(times))]
            for c in living.fits for i, (name, times) in enumerate(c.times.items())]


LIVING_HEADER = ["scenario", "best ms", "median ms", "repeats"]
LIVING_RIGHT = {1, 2, 3}
COEXIST_HEADER = ["fit", "scenario", "best ms", "median ms", "pool waits, median ms",
                  "pool jobs, median", "repeats"]
COEXIST_RIGHT = {2, 3, 4, 5, 6}


def _serving_row(r: LatencyResult) -> list[str]:
    check = f"ok {r.deviation:.1e}" if r.ok else f"FAILED {r.deviation:.1e}"
    ratio = f"{r.ratio:.2f}" if r.ratio is not None else "-"
    times = [us(r.min), us(r.median)] if r.ok else ["FAILED", "-"]
    return [r.network, r.dtype, f"{r.rows:,}", r.peer, *times, check, ratio]


SERVING_HEADER = ["network", "dtype", "rows", "peer", "best us/call", "median", "output check",
                  "peer/native"]
SERVING_RIGHT = {2, 4, 5, 7}


def _throughput_rows(results: list[ThroughputResult]) -> list[list[str]]:
    s = speedups(results)
    rows = []
    for r in results:
        up = s.get((r.dtype, r.rows, r.mode)) if r is max(
            (q for q in results if (q.dtype, q.rows, q.mode) == (r.dtype, r.rows, r.mode)),
            key=lambda q: q.threads) else None
        rows.append([r.network, r.dtype, f"{r.rows:,}", r.mode, str(r.threads), str(r.calls),
                     ms(r.min) if r.ok else "FAILED", _x(up) if up is not None else "",
                     "ok" if r.ok else "FAILED"])
    return rows


THROUGHPUT_HEADER = ["network", "dtype", "rows/call", "network per thread", "threads",
                     "calls", "best ms", "speed-up", "outputs"]
THROUGHPUT_RIGHT = {2, 4, 5, 6, 7}

SERVING_FOOTNOTE = """\
Serving: relu hidden layers, softmax output; onnxruntime = an InferenceSession of
net.to_onnx() on its default threads, torch = net.to_torch() in eval() under no_grad;
one-row times are the mean of a sample of calls in a row. Threads: every thread its share
of the calls, all started together, until the last is done; "shared" = one network for
all, "copies" = one net.copy() per thread; speed-up = 1 thread's time (the better of the
two, the same setup) / 8 threads'."""


def serving_failed(m: "Measured") -> bool:
    return any(not r.ok for r in m.serving) or any(not r.ok for r in m.throughput)


def render(header: list[str], rows: list[list[str]], right: set[int]) -> str:
    """A plain-text table, columns aligned."""
    body = [header] + rows
    widths = [max(len(row[i]) for row in body) for i in range(len(header))]
    lines = ["  ".join(cell.rjust(w) if i in right else cell.ljust(w)
                       for i, (cell, w) in enumerate(zip(row, widths))).rstrip() for row in body]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)


def render_markdown(header: list[str], rows: list[list[str]], right: set[int]) -> str:
    head = [h.replace("us/it", "µs/iteration") for h in header]
    lines = ["| " + " | ".join(head) + " |",
             "|" + "|".join("---:" if i in right else "---" for i in range(len(header))) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _failures(results: list[Result]) -> list[str]:
    failures = [f"  {r.size} {r.dtype} {r.optimizer} {r.label}: {r.message}"
                for r in results if not r.ok]
    return ["", "Peers whose losses did not match (no time reported):", *failures] \
        if failures else []


def table(results: list[Result], gemm: Optional[dict[str, GemmRate]] = None) -> str:
    """The full-batch training table (GFLOP/s and the GEMM fraction need ``gemm``)."""
    lines = [render(HEADER, [_row(r, gemm) for r in shown(results)], RIGHT)]
    return "\n".join(lines + _failures(results))


def minibatch_table(results: list[Result], gemm: dict[str, GemmRate]) -> str:
    lines = [render(MINIBATCH_HEADER, [_minibatch_row(r, gemm) for r in shown(results)], RIGHT)]
    return "\n".join(lines + _failures(results))


def gemm_text(gemm: dict[str, GemmRate]) -> str:
    """One line: each dtype's GEMM rate, with the BLAS, kernel and threads that ran it."""
    if not gemm:
        return ""
    first = next(iter(gemm.values()))
    parts = [f"{'dgemm' if d == 'float64' else 'sgemm'} {g.gflops:.1f} GFLOP/s "
             f"(median {g.median_gflops:.1f})" for d, g in gemm.items()]
    return (f"GEMM rate (NumPy matmul {first.n}x{first.n}, {first.blas}, kernel {first.kernel}, "
            f"{first.threads} threads, best of {len(first.times)}): " + ", ".join(parts))


def overhead_text(results: list[Result]) -> str:
    r = overhead_ratios(results)
    return (f"Adam over SGD: {_x(r['adam/sgd'])}; cross-entropy over MSE: {_x(r['ce/mse'])}; "
            f"clip_norm over none: {_x(r['clip/none'])} (mini-batches: "
            f"{_x(r['minibatch clip/none'])}); a schedule over none: {_x(r['schedule/none'])} "
            f"(mini-batches, OneCycleLR: {_x(r['minibatch schedule/none'])}) "
            f"(best times per iteration; per epoch for the mini-batch rows)")


DROPOUT_HEADER = ["run (native)", "iters", "best us/it", "median", "max", "final loss", "check"]


def dropout_text(results: list[Result]) -> str:
    r = dropout_ratios(results)
    return ("An epoch with dropout over one without: "
            + "; ".join(f"{name} {_x(v)}" for name, v in r.items())
            + " (best times per iteration)")


def living_text(living: Living) -> str:
    r = living.ratios()
    return (f"burst = {living.products} NumPy matmuls of 512x512 float64; {living.message}. "
            f"NumPy products inside a fit callback / after an idle second: "
            f"{_x(r['callback/idle'])}; right after a fit returns / idle: {_x(r['after/idle'])}")


def coexist_text(living: Living) -> str:
    parts = []
    for c in living.fits:
        r = c.ratios()
        parts.append(f"{c.label}: {_x(r['spinning/one thread'])} and "
                     f"{_x(r['beside/one thread beside'])} (noise {_x(r['beside noise'])}; "
                     f"{c.message})")
    return ("A fit started while NumPy's threads spin / the same fit on one thread after an "
            "idle second (best times), and a fit while another thread runs NumPy products / "
            "the same on one thread (median times; noise: the one-thread fits' even tries / "
            "their odd tries): " + "; ".join(parts))


def _x(value: Optional[float]) -> str:
    return f"{value:.2f}x" if value is not None else "n/a"


def text(m: Measured) -> str:
    """Every part that ran, as plain text: the tables, their notes, the targets."""
    out: list[str] = []
    if m.gemm:
        out += [gemm_text(m.gemm), ""]
    if m.training:
        out += ["Full-batch training", table(m.training, m.gemm), FOOTNOTE, ""]
        if m.trajectories:
            out += [trajectory_text(m.trajectories), ""]
    if m.minibatch:
        out += ["Mini-batch training", minibatch_table(m.minibatch, m.gemm), MINIBATCH_FOOTNOTE,
                ""]
        if m.minibatch_trajectories:
            out += [trajectory_text(m.minibatch_trajectories), ""]
    if m.forward:
        out += ["Inference (784-128-10 sigmoid, Network.forward; torch: inference_mode)",
                render(FORWARD_HEADER, [_forward_row(r) for r in m.forward if r.best],
                       FORWARD_RIGHT), ""]
    if m.overhead:
        out += ["What the optimizer and the loss cost",
                render(OVERHEAD_HEADER, [_overhead_row(r) for r in m.overhead], OVERHEAD_RIGHT),
                overhead_text(m.overhead), ""]
    if m.dropout:
        out += [f"What dropout costs (p = {DROPOUT_RATE})",
                render(DROPOUT_HEADER, [_overhead_row(r) for r in m.dropout], OVERHEAD_RIGHT),
                dropout_text(m.dropout), ""]
    if m.living is not None:
        out += ["Living with NumPy", render(LIVING_HEADER, _living_rows(m.living), LIVING_RIGHT),
                living_text(m.living), "",
                "Fits beside NumPy", render(COEXIST_HEADER, _coexist_rows(m.living),
                                             COEXIST_RIGHT),
                coexist_text(m.living), ""]
    if m.serving:
        out += ["Serving: latency", render(SERVING_HEADER, [_serving_row(r) for r in m.serving],
                                           SERVING_RIGHT), ""]
    if m.throughput:
        out += ["Serving: threads predicting at once",
                render(THROUGHPUT_HEADER, _throughput_rows(m.throughput), THROUGHPUT_RIGHT), ""]
    if m.serving or m.throughput:
        out += [SERVING_FOOTNOTE, ""]
    out.append(targets_text(targets(m)))
    return "\n".join(out)


def markdown(m: Measured, machine_lines: list[str], date: str, load: str = "") -> str:
    """The run as markdown, to paste into docs/benchmarks.md as it is."""
    elapsed = f"; the whole run took {m.elapsed:.0f} s" if m.elapsed is not None else ""
    lines = [f"Measured {date} on {machine_lines[0]}; " + "; ".join(machine_lines[1:])
             + elapsed + (f", load average {load}" if load else "") + "."]
    if m.gemm:
        lines += ["", gemm_text(m.gemm) + "."]
    if m.training:
        lines += ["", render_markdown(HEADER, [_row(r, m.gemm) for r in shown(m.training)],
                                      RIGHT)]
        if m.trajectories:
            t = trajectory_text(m.trajectories)
            lines += ["", t[0].upper() + t[1:] + "."]
    if m.minibatch:
        lines += ["", render_markdown(MINIBATCH_HEADER,
                                      [_minibatch_row(r, m.gemm) for r in shown(m.minibatch)],
                                      RIGHT)]
        if m.minibatch_trajectories:
            t = trajectory_text(m.minibatch_trajectories)
            lines += ["", t[0].upper() + t[1:] + "."]
    if m.forward:
        lines += ["", render_markdown(FORWARD_HEADER,
                                      [_forward_row(r) for r in m.forward if r.best],
                                      FORWARD_RIGHT)]
    if m.overhead:
        lines += ["", render_markdown(OVERHEAD_HEADER, [_overhead_row(r) for r in m.overhead],
                                      OVERHEAD_RIGHT), "", overhead_text(m.overhead) + "."]
    if m.dropout:
        lines += ["", render_markdown(DROPOUT_HEADER, [_overhead_row(r) for r in m.dropout],
                                      OVERHEAD_RIGHT), "", dropout_text(m.dropout) + "."]
    if m.living is not None:
        lines += ["", render_markdown(LIVING_HEADER, _living_rows(m.living), LIVING_RIGHT), "",
                  living_text(m.living) + ".", "",
                  render_markdown(COEXIST_HEADER, _coexist_rows(m.living), COEXIST_RIGHT), "",
                  coexist_text(m.living) + "."]
    if m.serving:
        lines += ["", render_markdown(SERVING_HEADER, [_serving_row(r) for r in m.serving],
                                      SERVING_RIGHT)]
    if m.throughput:
        lines += ["", render_markdown(THROUGHPUT_HEADER, _throughput_rows(m.throughput),
                                      THROUGHPUT_RIGHT)]
    goals = targets(m)
    if goals:
        lines += ["", "| target | measured | |", "|---|---:|---|"]
        for t in goals:
            lines.append(f"| {t['what']} {'≥' if t['op'] == '>=' else '≤'} "
                         f"{_goal(t)} | {_value(t)} | {'met' if t['met'] else 'not met'} |")
    return "\n".join(lines)


def _goal(t: dict[str, Any]) -> str:
    g = t["goal"]
    return percent(g) if t["unit"] == "%" else f"{g:g} s" if t["unit"] == "s" else f"{g:g}×"


def _value(t: dict[str, Any]) -> str:
    v = t["measured"]
    if v is None:
        return "n/a"
    if t["unit"] == "%":
        return f"{100 * v:.1f}%"
    if t["unit"] == "s":
        return f"{v:.0f} s"
    # three decimals near the goal, so that 1.004 is not shown as a 1.00 that missed 1
    return f"{v:.3f}×" if v < 10 else f"{v:.1f}×"


def _target(what: str, measured: Optional[float], op: str, goal: float,
            unit: str = "x") -> dict[str, Any]:
    met = measured is not None and (measured >= goal if op == ">=" else measured <= goal)
    return {"what": what, "measured": measured, "op": op, "goal": goal, "unit": unit,
            "met": met}


def targets(m: Measured) -> list[dict[str, Any]]:
    """Each performance target that the parts run can answer, measured, and whether it is met.

    A target whose rows failed their check, or did not run, is listed as not
    met with no value; targets of parts not run at all are left out."""
    out: list[dict[str, Any]] = []

    def find(results: list[Result], pred: Callable[[Result], bool]) -> Optional[Result]:
        return next((r for r in results if r.best and pred(r)), None)

    def trained(size: str, dtype: str, peer: str) -> Optional[Result]:
        return find(m.training, lambda r: (r.size, r.dtype, r.peer) == (size, dtype, peer))

    ran = {(r.size, r.dtype) for r in m.training}
    for size, goal in TARGETS_NUMPY.items():
        r = trained(size, "float64", "numpy")
        if r is not None:
            out.append(_target(f"{size} float64: numpy/native", r.ratio, ">=", goal))
    for size, goal in TARGETS_TORCH.items():
        r = trained(size, "float32", "torch")
        if r is not None:
            out.append(_target(f"{size} float32: torch({r.threads}t)/native", r.ratio, ">=",
                               goal))
    for (size, dtype), goal in TARGETS_GEMM.items():
        if (size, dtype) in ran and dtype in m.gemm:
            r = trained(size, dtype, "native")
            fraction = gemm_fraction(r, m.gemm) if r is not None else None
            blas = "dgemm" if dtype == "float64" else "sgemm"
            out.append(_target(f"{size} {dtype}: native of the {blas} rate", fraction, ">=",
                               goal, "%"))

    for name, goals in TARGETS_MINIBATCH.items():
        for opt in dict.fromkeys(r.optimizer for r in m.minibatch if r.size == name):
            label = f"{name} {MINIBATCH_SIZES[name].label} {opt}"
            for peer, goal in goals.items():
                r = find(m.minibatch, lambda r: (r.size, r.optimizer, r.peer) == (name, opt, peer))
                if r is not None:
                    shown_peer = f"torch({r.threads}t)" if peer == "torch" else peer
                    out.append(_target(f"{label}: {shown_peer}/native", r.ratio, ">=", goal))
            if name in TARGETS_MINIBATCH_GEMM and "float64" in m.gemm:
                r = find(m.minibatch, lambda r: (r.size, r.optimizer, r.peer) == (name, opt,
                                                                                "native"))
                out.append(_target(f"{label}: native of the dgemm rate",
                                   gemm_fraction(r, m.gemm) if r is not None else None, ">=",
                                   TARGETS_MINIBATCH_GEMM[name], "%"))

    if m.overhead:
        r = overhead_ratios(m.overhead)
        out.append(_target("medium: Adam/SGD per iteration", r["adam/sgd"], "<=",
                           TARGET_ADAM_OVER_SGD))
        out.append(_target("medium: cross-entropy/MSE per iteration", r["ce/mse"], "<=",
                           TARGET_CE_OVER_MSE))
        for key, what in (("clip/none", "medium: clip_norm/none per epoch"),
                          ("schedule/none", "medium: CosineAnnealingLR/none per epoch"),
                          ("minibatch clip/none", "small b32: clip_norm/none per epoch"),
                          ("minibatch schedule/none", "small b32: OneCycleLR/none per epoch")):
            out.append(_target(what, r[key], "<=", TARGET_EXTRA_OVER_PLAIN))
    if m.dropout:
        for name, value in dropout_ratios(m.dropout).items():
            out.append(_target(f"{name}: an epoch with dropout/without", value, "<=",
                               TARGET_DROPOUT))

    for f in m.forward:
        if f.peer == "numpy":
            out.append(_target(f"forward {f.rows:,} rows {f.dtype}: numpy/native", f.ratio, ">=",
                               1.0))
        if f.peer.startswith("torch") and f.best and f.rows >= TARGET_FORWARD_ROWS_TORCH:
            shown_peer = f"torch({f.peer.split('/')[1]})"
            out.append(_target(f"forward {f.rows:,} rows {f.dtype}: {shown_peer}/native", f.ratio,
                               ">=", 1.0))

    if m.living is not None:
        r = m.living.ratios()
        out.append(_target("NumPy products in a fit callback / idle", r["callback/idle"], "<=",
                           TARGET_NUMPY_NEAR_FIT))
        out.append(_target("NumPy products right after a fit / idle", r["after/idle"], "<=",
                           TARGET_NUMPY_NEAR_FIT))
        for c in m.living.fits:
            rc = c.ratios()
            out.append(_target(f"{c.label} fit among spinning NumPy threads / one thread",
                               rc["spinning/one thread"], "<=", TARGET_COEXIST_FIT))
            out.append(_target(f"{c.label} fit beside NumPy products / one thread beside them",
                               rc["beside/one thread beside"], "<=", TARGET_COEXIST_FIT))

    for r in m.serving:
        if r.peer == "onnxruntime":
            rows = f"{r.rows:,} row{'s' * (r.rows != 1)}"
            out.append(_target(f"serving {r.network} {r.dtype} {rows}: onnxruntime/native",
                               r.ratio, ">=", TARGET_SERVING_ORT))
    for (dtype, rows), value in sharing(m.throughput).items():
        per_call = f"{rows:,} row{'s' * (rows != 1)}/call"
        out.append(_target(f"serving {dtype} {per_call}: speed-up of 8 threads on one network "
                           f"/ on copies", value, ">=", SHARING_TARGET))

    if m.elapsed is not None:
        out.append(_target("the whole run" + (" (--quick)" if m.quick else ""), m.elapsed, "<=",
                           TARGET_SECONDS[m.quick], "s"))
    return out


def targets_text(items: list[dict[str, Any]]) -> str:
    if not items:
        return "Targets: none of the targets' rows were run."
    width = max(len(t["what"]) for t in items)
    lines = ["Targets:"]
    for t in items:
        lines.append(f"  {t['what']:<{width}}  {_value(t).replace('×', 'x'):>7}   target "
                     f"{t['op']} {_goal(t).replace('×', 'x'):<5}  "
                     f"{'met' if t['met'] else 'NOT MET'}")
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
