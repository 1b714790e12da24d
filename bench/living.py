"""Living with NumPy: plainnet's threads and NumPy's (OpenBLAS's), one after the other.

After a product, OpenBLAS's worker threads keep spinning for a while, and so
may plainnet's pool after a fit: whichever library runs next then shares its
cores with a thread that does no work. Two measurements, both on the default
thread counts of both libraries:

(a) NumPy's products near a fit. A burst of NumPy products (512x512 float64
    matmuls, as many as take about 50 ms on this machine) is timed

        idle      after an idle second
        callback  inside a fit's callback, halfway through the fit
        after     right after a fit returns

    and the ratios callback/idle and after/idle are reported: how much
    plainnet's pool slows NumPy down.

(b) A fit started while NumPy's threads still spin. The same fit (the
    suite's medium problem, 784-128-10 on 256 rows, FIT_ITERATIONS full-batch
    iterations) is timed

        spinning    right after a burst of NumPy products
        one thread  after an idle second, with plainnet on one thread
                    (plainnet._core.set_num_threads(1), as PLAINNET_NUM_THREADS=1)
        idle        after an idle second, on plainnet's default thread count

    and spinning/one thread is reported: a fit whose second core is taken
    should still be no slower than a fit that never asked for it (idle is
    there for scale: spinning/idle is what NumPy's spinning threads cost).

Each measurement is repeated and the best of each is compared (the median is
kept too). The check: every fit, in every scenario and on any thread count,
must give bit-identical losses; otherwise the rows are FAILED.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field
from typing import Any, Optional

import numpy as np

from problems import make_problem

from plainnet import _core

PRODUCT = 512          # the burst's matrices are PRODUCT x PRODUCT float64
BURST_SECONDS = 0.05   # the burst's length, set once by calibrate()
FIT_ITERATIONS = 20
REPEATS = 7  # each scenario is short; the ratios are of bests, which need several tries


@dataclass
class Living:
    """The times (seconds) of each scenario, one per repeat, and the check."""

    products: int = 0  # matmuls in one burst
    times: dict[str, list[float]] = field(default_factory=dict)
    ok: bool = True
    message: str = "bit-identical losses"

    def add(self, scenario: str, seconds: float) -> None:
        self.times.setdefault(scenario, []).append(seconds)

    def best(self, scenario: str) -> float:
        return min(self.times[scenario]) if self.times.get(scenario) else float("nan")

    def median(self, scenario: str) -> float:
        values = self.times.get(scenario)
        return statistics.median(values) if values else float("nan")

    def ratio(self, a: str, b: str) -> Optional[float]:
        """best(a) / best(b), None when either is missing or the check failed."""
        if not self.ok or not self.times.get(a) or not self.times.get(b):
            return None
        return self.best(a) / self.best(b)

    def ratios(self) -> dict[str, Optional[float]]:
        return {"callback/idle": self.ratio("callback", "idle"),
                "after/idle": self.ratio("after", "idle"),
                "spinning/one thread": self.ratio("spinning", "one thread"),
                "spinning/idle": self.ratio("spinning", "idle fit")}

    def to_json(self) -> dict[str, Any]:
        return {"products": self.products, "product_size": PRODUCT, "times": self.times,
                "ok": self.ok, "message": self.message, "ratios": self.ratios()}


class Burst:
    """A fixed number of NumPy matmuls; calling it returns their wall time."""

    def __init__(self, products: int) -> None:
        rng = np.random.default_rng(0)
        self.A = rng.random((PRODUCT, PRODUCT))
        self.B = rng.random((PRODUCT, PRODUCT))
        self.C = np.empty((PRODUCT, PRODUCT))
        self.products = products

    def __call__(self) -> float:
        start = time.perf_counter()
        for _ in range(self.products):
            np.matmul(self.A, self.B, out=self.C)
        return time.perf_counter() - start


def calibrate(idle: float, seconds: float = BURST_SECONDS) -> Burst:
    """A burst of about ``seconds``, from the time of one product after an idle pause."""
    probe = Burst(3)
    time.sleep(idle)
    probe()  # untimed: OpenBLAS starts its threads
    one = probe() / probe.products
    return Burst(max(1, round(seconds / one)))


def run_living(repeats: int = REPEATS, idle: float = 1.0,
               iterations: int = FIT_ITERATIONS) -> Living:
    """Both measurements, ``repeats`` times each, with ``idle`` seconds as the idle pause."""
    problem = make_problem("medium", "float64", iterations)
    initial = problem.net
    burst = calibrate(idle)
    out = Living(products=burst.products)
    losses: list[np.ndarray] = []

    def fit(callback: Any = None) -> float:
        net = initial.copy()
        start = time.perf_counter()
        hist = net.fit(problem.X, problem.y, lr=problem.lr, epochs=iterations, batch_size=None,
                       callback=callback, log_every=1 if callback is not None else 0)
        elapsed = time.perf_counter() - start
        losses.append(hist.loss)
        return elapsed

    half = iterations // 2

    def in_callback(iteration: int, loss: float) -> None:
        if iteration == half:
            out.add("callback", burst())

    threads = _core.get_num_threads()
    fit()  # untimed: the pool's threads start
    for _ in range(repeats):
        time.sleep(idle)
        out.add("idle", burst())
        fit(in_callback)
        out.add("after", burst())  # straight after the fit returned
        burst()
        out.add("spinning", fit())  # straight after NumPy's products
        time.sleep(idle)
        out.add("idle fit", fit())
        _core.set_num_threads(1)
        try:
            time.sleep(idle)
            out.add("one thread", fit())
        finally:
            _core.set_num_threads(threads)
    first = losses[0]
    if not all(np.array_equal(first, other) for other in losses[1:]):
        out.ok = False
        out.message = "FAILED: the fits' losses differ between scenarios or thread counts"
    return out
