"""What dropout costs: an epoch with it over the same epoch without, native core.

Two problems, each trained twice from the same weights, with the same data,
order and rule, once without dropout and once with p = 0.5 on the hidden
layer (the masks are drawn branch-free, so p does not change the cost):

    digits  64-64-10 relu then softmax, cross-entropy, 1,344 rows in batches of 32,
            SGD(lr 0.1), 10 epochs (the mini-batch part's digits problem)
    medium  784-128-10 sigmoid, MSE, 256 rows full-batch, SGD(lr 0.5), 30 iterations
            (the suite's medium row)

and per problem the ratio of the best times per iteration, with dropout over
without. Each run is timed as the suite times every peer (idle pause and one
untimed run, then interleaved repeats) and is its own reference: its check
is that every run of it gives the same final loss, and a finite one.
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

import minibatch
from gemm import training_flops
from problems import SIZES, make_problem
from suite import PAUSE, Result, check, measure

import plainnet as pn

RATE = 0.5
# Repeats of each run, whatever --repeats says: the ratios compare runs that
# differ by a few per cent, less than a shared machine's noise moves a best of 5.
REPEATS = 20
RTOL = 1e-12  # one configuration against itself: the core is deterministic
EPOCHS = {"digits": 10, "medium": 30}
SEED = 7


class DropoutRun:
    """Network.fit with or without dropout, a fresh SGD every run."""

    def __init__(self, net: pn.Network, X: np.ndarray, y: np.ndarray, lr: float, epochs: int,
                 batch_size: Optional[int], label: str) -> None:
        self._initial = net
        self.net = net.copy()
        self.X, self.y = X, y
        self.lr, self.epochs, self.batch_size = lr, epochs, batch_size
        self.label = label
        self.threads: Optional[int] = None

    def reset(self) -> None:
        self.net = self._initial.copy()

    def run(self, record: bool = False) -> tuple[float, np.ndarray]:
        hist = self.net.fit(self.X, self.y, optimizer=pn.optim.SGD(lr=self.lr),
                            epochs=self.epochs, batch_size=self.batch_size, seed=SEED)
        return float(hist.loss[-1]), hist.loss


def _runs(problem: str, epochs: int) -> list[tuple[DropoutRun, Result]]:
    entries = []
    if problem == "digits":
        p = minibatch.make_problem("digits", "sgd", epochs)
        layers, X, y, lr, bs = p.size.layers, p.X, p.Y, p.lr, p.size.batch
        base = p.net
        rows = bs
        iterations = p.iterations
    else:
        full = make_problem("medium", "float64", epochs)
        layers, X, y, lr, bs = SIZES["medium"].layers, full.X, full.y, 0.5, None
        base = full.net
        rows = SIZES["medium"].m
        iterations = epochs
    for rate in (0.0, RATE):
        net = pn.Network.from_weights(base.weights, base.biases, activation=base.activations,
                                      loss=base.loss_name, dropout=rate)
        label = f"{problem} {'p=' + str(rate) if rate else 'none'}"
        entries.append((DropoutRun(net, X, y, lr, epochs, bs, label),
                        Result(problem, "float64", "native", label, None, label, iterations,
                               training_flops(layers, rows), "sgd")))
    return entries


def run_dropout(repeats: int, epochs: Optional[dict[str, int]] = None,
                pause: float = PAUSE) -> list[Result]:
    """Both problems with and without dropout, measured and checked."""
    epochs = dict(EPOCHS, **(epochs or {}))
    entries: list[tuple[Any, Result]] = []
    for problem in EPOCHS:
        entries += _runs(problem, epochs[problem])
    measure(entries, repeats, pause)
    results = [r for _, r in entries]
    check(results, RTOL)
    return results


def ratios(results: list[Result]) -> dict[str, Optional[float]]:
    """{"digits": ..., "medium": ...}: the best time per iteration with dropout over without
    (None where a run failed)."""
    out: dict[str, Optional[float]] = {}
    for problem in dict.fromkeys(r.size for r in results):
        runs = [r for r in results if r.size == problem]
        plain = next((r for r in runs if r.label.endswith("none")), None)
        dropped = next((r for r in runs if not r.label.endswith("none")), None)
        good = all(r is not None and r.ok and r.times for r in (plain, dropped))
        out[problem] = dropped.min / plain.min if good else None  # type: ignore[union-attr]
    return out
