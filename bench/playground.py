"""The playground's training speed: epochs per second of a page's session on the
native core and on the NumPy twin, for a few setups the page offers.

    python bench/playground.py                 # best of 5 per backend and setup
    python bench/playground.py --repeats 3 --pause 0.5

What is timed is Session.train(epochs), the call the server makes between two
frames (Network.fit on the session's optimizer), without drawing or sending
frames. Each measurement starts from the setup's initial weights, after an
idle pause (--pause) and one untimed warm-up call; the best of --repeats is
reported, with the median beside it. The two backends' weights after the
same training are compared (rtol 1e-9); a setup where they differ more is
marked FAILED. The page shows the same kind of number live ("training
alone"), measured on whatever chunk of epochs the last frame trained.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from typing import Any

import numpy as np

from plainnet.playground import session as pgsession

SETUPS: dict[str, tuple[dict[str, Any], int]] = {
    # the seed's XOR network, full batch (4 rows)
    "xor 2-4-1 sigmoid, full batch": ({}, 2000),
    # a circle, two tanh layers, full batch on 100 training points
    "circle 2-8-8-1 tanh, full batch": (
        {"data": {"source": "circle", "points": 200},
         "network": {"hidden": [8, 8], "activations": ["tanh", "tanh"],
                     "loss": "binary_cross_entropy"},
         "training": {"optimizer": "adam", "lr": 0.03}}, 500),
    # a 3-arm spiral, three layers, mini-batches of 32 on 420 training points
    "spiral-3 2-16-16-8-3, batches of 32": (
        {"data": {"source": "spiral", "points": 600, "classes": 3, "test_fraction": 0.3},
         "network": {"hidden": [16, 16, 8], "activations": ["tanh", "relu", "silu"],
                     "loss": "cross_entropy", "init": "xavier"},
         "training": {"optimizer": "adam", "lr": 0.02, "batch_size": 32}}, 50),
}


def timed(config: dict[str, Any], backend: str, epochs: int, repeats: int,
          pause: float) -> tuple[list[float], list[np.ndarray]]:
    times = []
    weights: list[np.ndarray] = []
    for _ in range(repeats):
        s = pgsession.Session()
        s.configure({**config, "backend": backend})
        s.train(max(1, epochs // 10))  # untimed warm-up
        s.reset()
        time.sleep(pause)
        start = time.perf_counter()
        s.train(epochs)
        times.append(time.perf_counter() - start)
        weights = list(s.net.weights)
    return times, weights


def main(argv: Any = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--pause", type=float, default=1.0, help="idle seconds before each run")
    args = parser.parse_args(argv)
    print(f"{'setup':<38} {'epochs':>6} {'native ep/s':>12} {'numpy ep/s':>11} "
          f"{'ratio':>6}  (best of {args.repeats}; median in brackets)")
    failed = False
    for name, (config, epochs) in SETUPS.items():
        tn, wn = timed(config, "native", epochs, args.repeats, args.pause)
        tp, wp = timed(config, "numpy", epochs, args.repeats, args.pause)
        same = all(np.allclose(a, b, rtol=1e-9, atol=1e-12) for a, b in zip(wn, wp))
        failed |= not same
        native, numpy_ = epochs / min(tn), epochs / min(tp)
        print(f"{name:<38} {epochs:>6} {native:>12,.0f} {numpy_:>11,.0f} {native / numpy_:>5.1f}x"
              f"  ({epochs / statistics.median(tn):,.0f} / {epochs / statistics.median(tp):,.0f})"
              f"{'' if same else '  FAILED: the backends disagree'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
