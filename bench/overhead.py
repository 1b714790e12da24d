"""What the optimizer, the loss, clipping and schedules cost: the native core, several ways.

The suite's medium problem (784-128-10, m=256 rows, full-batch, sigmoid
hidden layer, the same data and initial weights), trained five ways:

    sgd-mse         sigmoid output, MSE, SGD(lr 0.5)        (the suite's medium row)
    adam-mse        sigmoid output, MSE, Adam(lr 1e-3)
    sgd-ce          softmax output, cross-entropy, SGD(lr 0.5)
    sgd-mse-clip    sgd-mse with clip_norm=0.01 (torch's clip_grad_norm_; it clips)
    sgd-mse-cosine  sgd-mse with CosineAnnealingLR(T_max=10), stepped every epoch

and the small problem (64-32-10, m=256) in mini-batches of 32 (8 updates an
epoch, where a per-update cost weighs most), three ways:

    mb-sgd          SGD(lr 0.5)
    mb-clip         with clip_norm=0.01
    mb-onecycle     with OneCycleLR(max_lr=0.5, cycle_momentum=False), stepped before
                    every update (cycling the momentum would turn on SGD's momentum,
                    whose cost is the optimizer's, not the schedule's)

and the ratios of the best times per iteration (per epoch for the mini-batch
rows): Adam over SGD (adam-mse / sgd-mse), cross-entropy over MSE (sgd-ce /
sgd-mse), clipping and a schedule over neither, full-batch and in
mini-batches. Each run is timed as the suite times every peer (idle pause and
one untimed run, then interleaved repeats); each run is its own reference, so
its check is that every run of it gives the same final loss, and a finite one.
"""

from __future__ import annotations

from typing import Any, Callable, Optional

import numpy as np

from gemm import training_flops
from problems import SIZES, make_problem
from suite import PAUSE, Result, check, measure

import plainnet as pn
from plainnet.optim import lr_scheduler

SIZE = "medium"
ITERATIONS = 100
# Repeats of each run, whatever --repeats says: the two ratios compare runs
# that differ by a few per cent, less than this shared machine's noise moves a
# best of 5 (Adam/SGD came out 1.06 to 1.15 in three runs of 5 in a row).
REPEATS = 12
RTOL = 1e-12  # one configuration against itself: the core is deterministic

# label: (problem, batch size, output activation, loss, optimizer, extra fit arguments)
Extra = Callable[[int], dict[str, Any]]  # from the fit's updates: fresh schedules each run
RUNS: dict[str, tuple[str, Optional[int], str, str, Callable[[], pn.optim.Optimizer], Extra]] = {
    "sgd-mse": (SIZE, None, "sigmoid", "mse", lambda: pn.optim.SGD(lr=0.5), lambda n: {}),
    "adam-mse": (SIZE, None, "sigmoid", "mse", lambda: pn.optim.Adam(lr=1e-3), lambda n: {}),
    "sgd-ce": (SIZE, None, "softmax", "cross_entropy", lambda: pn.optim.SGD(lr=0.5),
               lambda n: {}),
    "sgd-mse-clip": (SIZE, None, "sigmoid", "mse", lambda: pn.optim.SGD(lr=0.5),
                     lambda n: {"clip_norm": 0.01}),
    "sgd-mse-cosine": (SIZE, None, "sigmoid", "mse", lambda: pn.optim.SGD(lr=0.5),
                       lambda n: {"scheduler": lr_scheduler.CosineAnnealingLR(T_max=10)}),
    "mb-sgd": ("small", 32, "sigmoid", "mse", lambda: pn.optim.SGD(lr=0.5), lambda n: {}),
    "mb-clip": ("small", 32, "sigmoid", "mse", lambda: pn.optim.SGD(lr=0.5),
                lambda n: {"clip_norm": 0.01}),
    "mb-onecycle": ("small", 32, "sigmoid", "mse", lambda: pn.optim.SGD(lr=0.5),
                    lambda n: {"scheduler": lr_scheduler.OneCycleLR(
                        max_lr=0.5, total_steps=n, cycle_momentum=False)}),
}


class FitRun:
    """Network.fit with a given optimizer (a fresh one every run) and extra arguments."""

    def __init__(self, net: pn.Network, X: np.ndarray, y: np.ndarray,
                 optimizer: Callable[[], pn.optim.Optimizer], iterations: int,
                 label: str, batch_size: Optional[int] = None,
                 extra: Extra = lambda n: {}) -> None:
        self._initial = net
        self.net = net.copy()
        self.X, self.y = X, y
        self.optimizer = optimizer
        self.iterations = iterations
        self.label = label
        self.batch_size = batch_size
        self.extra = extra
        self.threads: Optional[int] = None

    def reset(self) -> None:
        self.net = self._initial.copy()

    def run(self, record: bool = False) -> tuple[float, np.ndarray]:
        updates = self.iterations * (1 if self.batch_size is None else
                                     -(-self.X.shape[0] // self.batch_size))
        hist = self.net.fit(self.X, self.y, optimizer=self.optimizer(), epochs=self.iterations,
                            batch_size=self.batch_size, seed=0, **self.extra(updates))
        return float(hist.loss[-1]), hist.loss


def run_overheads(repeats: int, iterations: int = ITERATIONS, dtype: str = "float64",
                  pause: float = PAUSE) -> list[Result]:
    """The three runs, measured and checked."""
    entries: list[tuple[Any, Result]] = []
    for label, (size, batch, output, loss, optimizer, extra) in RUNS.items():
        base = make_problem(size, dtype, iterations)
        layers, m = SIZES[size].layers, SIZES[size].m
        net = pn.Network.from_weights(base.net.weights, base.net.biases, activation="sigmoid",
                                      output_activation=output, loss=loss, dtype=dtype)
        run = FitRun(net, base.X, base.y, optimizer, iterations, label, batch, extra)
        entries.append((run, Result(size, dtype, "native", label, None, label, iterations,
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

    return {"adam/sgd": ratio("adam-mse", "sgd-mse"), "ce/mse": ratio("sgd-ce", "sgd-mse"),
            "clip/none": ratio("sgd-mse-clip", "sgd-mse"),
            "schedule/none": ratio("sgd-mse-cosine", "sgd-mse"),
            "minibatch clip/none": ratio("mb-clip", "mb-sgd"),
            "minibatch schedule/none": ratio("mb-onecycle", "mb-sgd")}
