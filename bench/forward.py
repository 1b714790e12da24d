"""Inference: Network.forward on the native core against the numpy backend and
PyTorch (inference_mode, the faster of 1 and 2 threads), 784-128-10 sigmoid.

    python bench/forward.py                  # 256 and 100,000 rows, float64 and float32
    python bench/forward.py --rows 256 --dtypes float64 --repeats 20

Each peer is timed after an idle second and one untimed call (BLAS and
OpenMP threads keep spinning after a call and would steal the other core),
and the best of --repeats calls is reported, with the median beside it. The
untimed call's output is checked against the numpy backend's (rtol 1e-12 in
float64, 1e-5 in float32); a peer that does not match is marked FAILED. The
last column is the native core's peak memory growth during one forward call,
measured in a fresh process: a forward pass builds no training workspace,
only the output and scratch for a chunk of rows. bench/run.py runs the same
measurement (without the memory) as its inference part.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import numpy as np

import machine
from timing import Timed

import plainnet as pn

LAYERS = [784, 128, 10]
RTOL = {"float64": 1e-12, "float32": 1e-5}


def problem(rows: int, dtype: str) -> tuple[pn.Network, np.ndarray]:
    net = pn.Network(LAYERS, activation="sigmoid", init="xavier", seed=0, dtype=dtype)
    X = np.random.default_rng(1).random((rows, LAYERS[0]), dtype=dtype)  # no temporary copy
    return net, X


def torch_forward(net: pn.Network, threads: int) -> Optional[Callable[[np.ndarray], np.ndarray]]:
    try:
        import torch
    except ImportError:
        return None
    dt = torch.float64 if net.dtype == np.float64 else torch.float32
    model = torch.nn.Sequential()
    for W, b in zip(net.weights, net.biases):
        lin = torch.nn.Linear(W.shape[0], W.shape[1], dtype=dt)
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(W.T.copy()))
            lin.bias.copy_(torch.from_numpy(b.copy()))
        model.append(lin)
        model.append(torch.nn.Sigmoid())

    def run(X: np.ndarray) -> np.ndarray:
        torch.set_num_threads(threads)
        with torch.inference_mode():
            return model(torch.from_numpy(X)).numpy()

    return run


def peers(net: pn.Network, torch: bool = True) -> dict[str, Callable[[np.ndarray], np.ndarray]]:
    """native, numpy and (if installed and ``torch``) PyTorch on 1 and 2 threads."""
    out: dict[str, Callable[[np.ndarray], np.ndarray]] = {
        "native": net.forward, "numpy": net.with_backend("numpy").forward}
    for threads in (1, 2) if torch else ():
        run = torch_forward(net, threads)
        if run is not None:
            out[f"torch/{threads}t"] = run
    return out


def deviation(got: np.ndarray, want: np.ndarray) -> float:
    """Largest difference over the largest magnitude of ``want``."""
    return float(np.max(np.abs(got - want)) / np.max(np.abs(want)))


def check(rows: int, dtype: str) -> dict[str, float]:
    """Each peer's largest relative deviation from the numpy backend's output."""
    net, X = problem(rows, dtype)
    found = {name: run(X) for name, run in peers(net).items()}
    return {name: deviation(got, found["numpy"]) for name, got in found.items()}


def timed_calls(run: Callable[[np.ndarray], Any], X: np.ndarray, repeats: int,
                pause: float = 1.0) -> tuple[Any, list[float]]:
    """(the output of one untimed call after an idle pause, the seconds of each of
    ``repeats`` calls after it)."""
    time.sleep(pause)  # let other libraries' threads stop spinning
    out = run(X)  # untimed
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run(X)
        times.append(time.perf_counter() - start)
    return out, times


@dataclass
class ForwardResult(Timed):
    """One peer's forward pass on one batch: its times and its output check."""

    rows: int
    dtype: str
    peer: str                # "native", "numpy", "torch/1t", "torch/2t"
    deviation: float         # largest relative difference from the numpy backend's output
    ok: bool
    times: list[float] = field(default_factory=list)  # seconds per call
    best: bool = True        # False for the slower torch thread count
    ratio: Optional[float] = None  # best time / native's best time

    def to_json(self) -> dict[str, Any]:
        return {"rows": self.rows, "dtype": self.dtype, "peer": self.peer,
                "deviation": self.deviation, "ok": self.ok, "times": self.times,
                "best": self.best, "ratio": self.ratio, "min": self.min, "median": self.median}


def measure(rows: int, dtype: str, repeats: int, pause: float = 1.0,
            torch: bool = True) -> list[ForwardResult]:
    """Every peer's forward on ``rows`` rows, timed (an idle pause, one untimed call,
    ``repeats`` timed calls); the untimed call's output is checked against the numpy
    backend's. Of torch's thread counts, the faster (best time) is marked best;
    ratios are peer / native of the best times."""
    net, X = problem(rows, dtype)
    outputs, times = {}, {}
    for name, run in peers(net, torch).items():
        outputs[name], times[name] = timed_calls(run, X, repeats, pause)
    out = []
    for name in outputs:
        dev = deviation(outputs[name], outputs["numpy"])
        out.append(ForwardResult(rows, dtype, name, dev, dev <= RTOL[dtype], times[name]))
    torch_runs = [r for r in out if r.peer.startswith("torch")]
    if torch_runs:
        fastest = min(torch_runs, key=lambda r: r.min)
        for r in torch_runs:
            r.best = r is fastest
    native = out[0]
    for r in out:
        if r.ok and native.ok:
            r.ratio = r.min / native.min
    return out


def peak_rss_kib() -> int:
    """This process's peak resident memory in KiB (VmHWM: unlike ru_maxrss, a
    new program does not inherit it from the process that started it)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux


def peak_memory_mb(rows: int, dtype: str) -> float:
    """Peak memory growth of one native forward call, in a fresh process."""
    here = os.path.dirname(os.path.abspath(__file__))
    code = (f"import sys; sys.path.insert(0, {here!r})\n"
            f"import forward\n"
            f"net, X = forward.problem({rows}, {dtype!r})\n"
            f"net.forward(X[:1])\n"
            f"before = forward.peak_rss_kib()\n"
            f"net.forward(X)\n"
            f"print(forward.peak_rss_kib() - before)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return int(out.stdout.strip()) / 1024


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[256, 100_000])
    parser.add_argument("--dtypes", nargs="+", default=["float64", "float32"],
                        choices=["float64", "float32"])
    parser.add_argument("--repeats", type=int, default=0,
                        help="timed calls per peer (default: 30 below 10,000 rows, else 5)")
    args = parser.parse_args(argv)
    for line in machine.describe(machine.collect()):
        print(line)
    print()
    print("| rows | dtype | peer | best ms | median ms | numpy/peer (best) | check | native peak MB |")
    print("|---:|---|---|---:|---:|---:|---|---:|")
    failed = False
    for dtype in args.dtypes:
        for rows in args.rows:
            repeats = args.repeats or (30 if rows < 10_000 else 5)
            results = measure(rows, dtype, repeats)
            memory = peak_memory_mb(rows, dtype)
            numpy_best = next(r.min for r in results if r.peer == "numpy")
            for r in results:
                failed |= not r.ok
                print(f"| {rows:,} | {dtype} | {r.peer} | {r.min * 1e3:.3f} | "
                      f"{r.median * 1e3:.3f} | {numpy_best / r.min:.2f} | "
                      f"{'ok' if r.ok else f'FAILED ({r.deviation:.1e})'} | "
                      f"{f'{memory:.1f}' if r.peer == 'native' else ''} |")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
