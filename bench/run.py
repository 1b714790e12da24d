"""Time full-batch training, native core vs the NumPy backend, side by side.

    python bench/run.py [--quick] [--sizes xor small ...] [--dtypes float64,float32] [--repeats 5]

Each peer trains the same network (sigmoid everywhere, the core's MSE
convention) from the same weights on the same data. Time per iteration is the
median of the timed repeats after one warm-up, with min and max beside it; the
ratio is numpy / native (above 1: native is faster). Before any time is
reported, the two peers' final losses are checked against each other.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time

import numpy as np

import plainnet as pn

SIZES = {  # name: (layers, batch rows m, iterations)
    "xor": ([2, 4, 1], 4, 10000),
    "small": ([64, 32, 10], 256, 1000),
    "medium": ([784, 128, 10], 256, 200),
    "large": ([784, 512, 512, 10], 512, 30),
}
PEERS = ("native", "numpy")


def machine_line() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    blas = "unknown"
    try:
        from threadpoolctl import threadpool_info

        info = [i for i in threadpool_info() if i.get("user_api") == "blas"]
        if info:
            blas = f"{info[0].get('internal_api')} {info[0].get('version')}, " \
                   f"{info[0].get('num_threads')} threads"
    except ImportError:
        cfg = np.show_config(mode="dicts") if np.__version__ >= "1.25" else {}
        b = cfg.get("Build Dependencies", {}).get("blas", {}) if cfg else {}
        if b:
            blas = f"{b.get('name')} {b.get('version')} (threads: install threadpoolctl to see)"
    return (f"{cpu}, {os.cpu_count()} cores; Python {platform.python_version()}, "
            f"NumPy {np.__version__} with {blas}; "
            f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')}; "
            f"plainnet {pn.__version__}")


def problem(name: str, dtype: str):
    layers, m, iters = SIZES[name]
    if name == "xor":
        X, y = pn.datasets.xor()
    else:
        rng = np.random.default_rng(0)
        X = rng.random((m, layers[0]))
        y = (rng.random((m, layers[-1])) < 0.5).astype(float)
    net = pn.Network(layers, activation="sigmoid", init="xavier", seed=0, dtype=dtype)
    lr = 2.0 if name == "xor" else 0.5
    return net, np.asarray(X, dtype=dtype), np.asarray(y, dtype=dtype), lr, iters


def time_peer(net, X, y, lr, iters, repeats):
    times, loss = [], None
    for r in range(repeats + 1):  # the first run warms up and is not timed
        trial = net.copy()
        start = time.perf_counter()
        hist = trial.fit(X, y, lr=lr, epochs=iters)
        elapsed = time.perf_counter() - start
        if r:
            times.append(elapsed / iters)
        loss = hist.loss
    return times, loss


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer iterations and repeats")
    parser.add_argument("--sizes", nargs="+", choices=list(SIZES), default=list(SIZES))
    parser.add_argument("--dtypes", default="float64,float32")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    repeats = 3 if args.quick else args.repeats

    print(machine_line())
    print(f"{'size':<8} {'dtype':<8} {'peer':<8} {'median us/it':>13} {'min':>10} {'max':>10} "
          f"{'final loss':>12} {'numpy/native':>13}")
    status = 0
    for dtype in args.dtypes.split(","):
        for name in args.sizes:
            net, X, y, lr, iters = problem(name, dtype)
            if args.quick:
                iters = max(iters // 10, 3)
            results = {}
            for peer in PEERS:
                results[peer] = time_peer(net.with_backend(peer), X, y, lr, iters, repeats)
            ref_loss = results["numpy"][1]
            rtol = 1e-9 if dtype == "float64" else 1e-3
            if not np.allclose(results["native"][1], ref_loss, rtol=rtol, atol=0):
                print(f"{name} {dtype}: native losses differ from numpy's beyond rtol {rtol}; "
                      f"no time reported", file=sys.stderr)
                status = 1
                continue
            native_median = statistics.median(results["native"][0])
            for peer in PEERS:
                times, loss = results[peer]
                med = statistics.median(times)
                ratio = med / native_median
                print(f"{name:<8} {dtype:<8} {peer:<8} {med * 1e6:>13.2f} {min(times) * 1e6:>10.2f} "
                      f"{max(times) * 1e6:>10.2f} {loss[-1]:>12.6g} {ratio:>12.2f}x")
    return status


if __name__ == "__main__":
    sys.exit(main())
