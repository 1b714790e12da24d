"""What the optimizer and the loss cost: the native core on medium, three ways.

The suite's medium problem (784-128-10, m=256 rows, full-batch, sigmoid
hidden layer, the same data and initial weights), trained three ways:

    sgd-mse   sigmoid output, MSE, SGD(lr 0.5)        (the suite's medium row)
    adam-mse  sigmoid output, MSE, Adam(lr 1e-3)
    sgd-ce    softmax output, cross-entropy, SGD(lr 0.5)

and two ratios of the best times per iteration: Adam over SGD (adam-mse /
sgd-mse) and cross-entropy over MSE (sgd-ce / sgd-mse). Each run is timed as
the suite times every peer (idle pause and one untimed run, then interleaved
repeats); each run is its own reference, so its check is that every run of it
gives the same final loss, and a finite one.
"""

from __future__ import annotations

from typing import Any, Callable, Optional

import numpy as np

from gemm import training_flops
from problems import SIZES, make_problem
from suite import PAUSE, Result, check, measure

import plainnet as pn

SIZE = "medium"
ITERATIONS = 100
# Repeats of each run, whatever --repeats says: the two ratios compare runs
# that differ by a few per cent, less than this shared machine's noise moves a
# best of 5 (Adam/SGD came out 1.06 to 1.15 in three runs of 5 in a row).
REPEATS = 12
RTOL = 1e-12  # one configuration against itself: the core is deterministic

# label: (output activation, loss, optimizer)
RUNS: dict[str, tuple[str, str, Callable[[], pn.optim.Optimizer]]] = {
    "sgd-mse": ("sigmoid", "mse", lambda: pn.optim.SGD(lr=0.5)),
    "adam-mse": ("sigmoid", "mse", lambda: pn.optim.Adam(lr=1e-3)),
    "sgd-ce": ("softmax", "cross_entropy", lambda: pn.optim.SGD(lr=0.5)),
}


class FitRun:
    """Network.fit full-batch with a given optimizer (a fresh one every run)."""

    def __init__(self, net: pn.Network, X: np.ndarray, y: np.ndarray,
                 optimizer: Callable[[], pn.optim.Optimizer], iterations: int,
                 label: str) -> None:
        self._initial = net
        self.net = net.copy()
        self.X, self.y = X, y
        self.optimizer = optimizer
        self.iterations = iterations
        self.label = label
        self.threads: Optional[int] = None

    def reset(self) -> None:
        self.net = self._initial.copy()

    def run(self, record: bool = False) -> tuple[float, np.ndarray]:
        hist = self.net.fit(self.X, self.y, optimizer=self.optimizer(), epochs=self.iterations,
                            batch_size=None)
        return float(hist.loss[-1]), hist.loss


def run_overheads(repeats: int, iterations: int = ITERATIONS, dtype: str = "float64",
                  pause: float = PAUSE) -> list[Result]:
    """The three runs, measured and checked."""
    base = make_problem(SIZE, dtype, iterations)
    layers, m = SIZES[SIZE].layers, SIZES[SIZE].m
    entries: list[tuple[Any, Result]] = []
    for label, (output, loss, optimizer) in RUNS.items():
        net = pn.Network.from_weights(base.net.weights, base.net.biases, activation="sigmoid",
                                      output_activation=output, loss=loss, dtype=dtype)
        run = FitRun(net, base.X, base.y, optimizer, iterations, label)
        entries.append((run, Result(SIZE, dtype, "native", label, None, label, iterations,
                                    training_flops(layers, m), label.split("-")[0])))
    measure(entries, repeats, pause)
    results = [r for _, r in entries]
    check(results, RTOL)
    return results


def ratios(results: list[Result]) -> dict[str, Optional[float]]:
    """{"adam/sgd": ..., "ce/mse": ...} of the best times (None where a run failed)."""
    by = {r.label: r for r in results}

    def ratio(a: str, b: str) -> Optional[float]:
        if a in by and b in by and by[a].ok and by[b].ok and by[a].times and by[b].times:
            return by[a].min / by[b].min
        return None

    return {"adam/sgd": ratio("adam-mse", "sgd-mse"), "ce/mse": ratio("sgd-ce", "sgd-mse")}
