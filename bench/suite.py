"""Measuring: warm up, time the repeats, check every loss before a time counts.

For one problem, every peer first runs once untimed (the warm-up, which also
records the loss of every iteration), then the timed repeats run interleaved —
each peer's first repeat, then each peer's second, ... — so that a noisy
moment on a shared machine does not land on one peer only. Every run, warm-up
or timed, starts after a short idle pause: BLAS and OpenMP threads keep
spinning for a while after their library's last call (OpenBLAS's for about
0.1 s), and would otherwise take the next peer's second core. Before each run
the initial weights are put back, outside the timed region. A peer's time is
the best of its repeats (on a shared machine the best is steady to a few per
cent where medians swing by 30 %); the median is shown beside it.

PyTorch runs with 1 and with 2 threads. Both warm up and are checked; then
each makes PROBES short runs (a tenth of the iterations) and only the thread
count with the fastest probe is timed in full: timing both would make torch
alone take longer than all the other peers together.

A peer's time is reported only if the loss of its warm-up run and of every
timed run matches the reference's (native plainnet on the same network):
float64 to rtol 1e-6, float32 to rtol 1e-3. The peers differ only in the order
of floating-point sums and in their exp, so the float64 final losses agree to
about 1e-14 here. In float32 they agree to 4e-7 and every iteration's loss to
7e-6 (over 10,000 iterations of xor); 1e-3 leaves room for other summation
orders (blocking, threads), while a learning rate 10% off moves the final loss
by 2% and torch without its lr*K/2 scaling by 66% (tests/test_bench.py).
"""

from __future__ import annotations

import gc
import statistics
import time
from dataclasses import dataclass, field
from typing import Any, Optional

import numpy as np

from gemm import training_flops
from peers import PlainnetPeer, make_peers
from problems import make_problem

RTOL = {"float64": 1e-6, "float32": 1e-3}  # final loss, any peer vs its reference
PAUSE = 0.15  # idle seconds before every run: longer than OpenBLAS's threads spin
RTOL_TRAJECTORY = 1e-9  # float64: native vs numpy backend, the loss of every iteration
PROBES = 3  # short runs per torch thread count to pick the one to time


@dataclass
class Result:
    """One peer on one problem: its times, its losses and the verdict on them."""

    size: str
    dtype: str
    peer: str             # "native", "numpy", "torch", "sklearn", "native-lin"
    label: str            # as shown in tables ("torch/2t")
    threads: Optional[int]
    reference: str        # the label this peer is checked and timed against
    iterations: int
    flops: Optional[int] = None  # per iteration, the products it needs (gemm.training_flops)
    optimizer: str = "sgd"
    rtol: Optional[float] = None  # this peer's tolerance, when not the problem's
    times: list[float] = field(default_factory=list)   # seconds per iteration, one per repeat
    finals: list[float] = field(default_factory=list)  # final loss: warm-up, then each repeat
    losses: Optional[np.ndarray] = None                # every iteration's loss in the warm-up
    deviation: float = float("nan")   # worst relative difference of a final loss vs the reference
    trajectory_deviation: Optional[float] = None  # worst over all iterations, when both recorded
    ok: bool = False
    message: str = ""
    ratio: Optional[float] = None     # best / reference's best; None when not comparable
    best: bool = True                 # False for a torch thread count slower in the probes
    probe: list[float] = field(default_factory=list)  # torch: seconds per iteration, short runs

    @property
    def median(self) -> float:
        return statistics.median(self.times) if self.times else float("nan")

    @property
    def min(self) -> float:
        return min(self.times) if self.times else float("nan")

    @property
    def max(self) -> float:
        return max(self.times) if self.times else float("nan")

    @property
    def final_loss(self) -> float:
        return self.finals[0] if self.finals else float("nan")

    @property
    def gflops(self) -> Optional[float]:
        """GFLOP/s of the products an iteration needs, at the best time."""
        if self.flops is None or not self.times:
            return None
        return self.flops / self.min / 1e9

    def to_json(self) -> dict[str, Any]:
        out = {k: getattr(self, k) for k in (
            "size", "dtype", "peer", "label", "threads", "reference", "iterations", "optimizer",
            "times", "finals", "deviation", "trajectory_deviation", "ok", "message", "ratio",
            "best", "probe", "median", "min", "max", "flops", "gflops", "rtol")}
        out["first_loss"] = float(self.losses[0]) if self.losses is not None else None
        return out


def relative_deviation(actual: Any, desired: Any) -> float:
    """max |actual - desired| / |desired| over the elements (inf if shapes differ)."""
    a, d = np.asarray(actual, dtype=np.float64), np.asarray(desired, dtype=np.float64)
    if a.shape != d.shape or a.size == 0:
        return float("inf")
    with np.errstate(divide="ignore", invalid="ignore"):
        dev = np.abs(a - d) / np.abs(d)
    return float(np.nan_to_num(dev, nan=np.inf).max())


def _timed_run(peer, iterations: Optional[int] = None) -> tuple[float, float]:
    peer.reset()
    gc_was_enabled = gc.isenabled()
    gc.disable()  # as timeit does: a collection in the middle would be charged to one peer
    try:
        start = time.perf_counter()
        if iterations is None:
            final, _ = peer.run(record=False)
        else:
            final, _ = peer.run(record=False, iterations=iterations)
        elapsed = time.perf_counter() - start
    finally:
        if gc_was_enabled:
            gc.enable()
    if final is None:  # peers that give no loss are checked on their final weights, untimed
        final = peer.final_loss()
    return elapsed, final


def _pick_torch_threads(entries: list[tuple[Any, Result]]) -> None:
    """Mark all but the torch thread count with the fastest short run as not best."""
    group = [(p, r) for p, r in entries if r.peer == "torch"]
    if len(group) < 2:
        return
    n = max(group[0][1].iterations // 10, 3)
    for _ in range(PROBES):
        for peer, result in group:
            result.probe.append(_timed_run(peer, n)[0] / n)
    fastest = min(group, key=lambda e: min(e[1].probe))[1]
    for _, result in group:
        result.best = result is fastest


def measure(entries: list[tuple[Any, Result]], repeats: int, pause: float = PAUSE) -> None:
    """Warm up every peer, pick torch's thread count, then time ``repeats`` interleaved
    rounds of the peers that count, each run after ``pause`` idle seconds; fills
    each Result.

    A peer's run returns (final loss, losses); a peer whose run has no final
    loss to give (None) has a final_loss() method, called after each run."""
    for peer, result in entries:
        peer.reset()
        time.sleep(pause)
        final, losses = peer.run(record=True)
        result.finals.append(peer.final_loss() if final is None else final)
        result.losses = losses
    gc.collect()  # once: a full collection takes ~70 ms with torch and sklearn loaded
    _pick_torch_threads(entries)
    timed = [(p, r) for p, r in entries if r.best]
    for _ in range(repeats):
        for peer, result in timed:
            time.sleep(pause)
            elapsed, final = _timed_run(peer)
            result.times.append(elapsed / result.iterations)
            result.finals.append(final)


def check(results: list[Result], rtol: float) -> None:
    """Set ok/message/deviation/ratio of each result against its reference's warm-up
    (within ``rtol``, or the result's own rtol if it has one)."""
    by_label = {r.label: r for r in results}
    for r in results:
        ref = by_label[r.reference]
        rtol_r = rtol if r.rtol is None else r.rtol
        target = ref.final_loss
        r.deviation = relative_deviation(r.finals, np.full(len(r.finals), target))
        if r.losses is not None and ref.losses is not None:
            r.trajectory_deviation = relative_deviation(r.losses, ref.losses)
        r.ok = bool(np.isfinite(target) and r.deviation <= rtol_r)
        if r.ok:
            r.message = "reference" if r is ref else f"ok {r.deviation:.1e}"
        else:
            worst = max(r.finals, key=lambda v: abs(v - target) if np.isfinite(v) else np.inf)
            r.message = (f"FAILED: final loss {worst:.10g} vs {r.reference} {target:.10g} "
                         f"(relative difference {r.deviation:.2e} > rtol {rtol_r:g})")
    for r in results:
        ref = by_label[r.reference]
        if r.ok and ref.ok and r.times and ref.times:
            r.ratio = r.min / ref.min


def run_problem(size: str, dtype: str, peers: list[str], repeats: int,
                iterations: Optional[int] = None,
                torch_threads: tuple[int, ...] = (1, 2), pause: float = PAUSE) -> list[Result]:
    """Every requested peer on one problem, measured and checked; native always runs."""
    problem = make_problem(size, dtype, iterations)
    flops = training_flops(problem.size.layers, problem.size.m)
    entries: list[tuple[Any, Result]] = []

    def add(peer_obj, kind: str, reference: str) -> None:
        entries.append((peer_obj, Result(size, dtype, kind, peer_obj.label, peer_obj.threads,
                                         reference, problem.iterations, flops)))

    add(PlainnetPeer(problem, "native"), "native", "native")
    for name in peers:
        if name in ("numpy", "torch"):
            for p in make_peers(name, problem, torch_threads):
                add(p, name, "native")
        elif name == "sklearn":
            # scikit-learn's output layer is linear: compare it with plainnet on that network
            linear = make_problem(size, dtype, iterations, output_activation="linear")
            add(PlainnetPeer(linear, "native", label="native-lin"), "native-lin", "native-lin")
            add(make_peers("sklearn", linear)[0], "sklearn", "native-lin")
    measure(entries, repeats, pause)
    results = [r for _, r in entries]
    check(results, RTOL[dtype])
    return results


def trajectory_check(results: list[Result]) -> Optional[tuple[float, bool]]:
    """(worst relative difference, within RTOL_TRAJECTORY) of native vs numpy, float64 only."""
    native = next((r for r in results if r.peer == "native"), None)
    numpy_ = next((r for r in results if r.peer == "numpy"), None)
    if native is None or numpy_ is None or native.dtype != "float64":
        return None
    dev = relative_deviation(native.losses, numpy_.losses)
    return dev, dev <= RTOL_TRAJECTORY
