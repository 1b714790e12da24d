"""Living with NumPy: plainnet's threads and NumPy's (OpenBLAS's), side by side.

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

(b) Fits beside NumPy (coexistence). For each of the suite's medium
    (784-128-10 on 256 rows) and large (784-512-512-10 on 512 rows) problems,
    in float64 and float32, the same full-batch fit (FIT_ITERATIONS[size]
    iterations, about 0.1 s) is timed

        spinning           right after a burst of NumPy products, whose
                           threads then still spin
        beside             while another Python thread runs NumPy products
                           back to back (OpenBLAS on every core), started
                           just before the fit
        one thread         after an idle second, with plainnet on one thread
                           (plainnet._core.set_num_threads(1), as
                           PLAINNET_NUM_THREADS=1)
        one thread beside  on one thread, while another thread runs NumPy
                           products as in "beside" (both BESIDE_TRIES times a
                           repeat, alternating which goes first)
        idle               after an idle second, on the default thread count

    and spinning/one thread and beside/one thread beside are reported: a fit
    whose second core is taken, for part of the fit or for all of it, should
    still be no slower than the same fit that never asked for that core (idle
    is there for scale).

Each measurement is repeated and the best of each is compared (the median is
kept too), but for the beside pair, whose medians are compared. Three threads
(the fit's, NumPy's and OpenBLAS's worker) share two cores there, and where
the scheduler puts them decides the fit's time, not the fit's code: most
fits share a core with one of NumPy's threads (about 100 ms at medium
float64), a few get a core of their own (about 48 ms). The best of 35 such
fits compares the luckiest placement of each side, which swung the ratio
between 0.95 and 1.8 from run to run with the same code on both sides, and
so does any statistic of fits that run one after the other beside the same
NumPy thread: the scheduler then evens out each thread's share over
hundreds of milliseconds, and a fit that had a core of its own is followed
by slower ones (ratios of 0.93-1.22 over 35 such pairs, both sides on one
thread). So each fit of the pair gets NumPy products of its own, started
just before it (most fits then take the usual placement: their times vary
by 5-8 %), and the medians are compared, which a few lucky fits do not
move. The pool's waits and jobs per fit show whether the two sides ran the
same code, and the "beside noise" ratio, of the one-thread fits' even tries
to their odd ones, how far the pair's ratio strays with the same code on
both sides.

The check: every fit of a problem, in every scenario and on any thread count,
must give bit-identical losses; otherwise its rows are FAILED.
"""

from __future__ import annotations

import statistics
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import numpy as np

from problems import Problem, make_problem
from timing import Scenarios

from plainnet import _core

PRODUCT = 512          # the burst's matrices are PRODUCT x PRODUCT float64
BURST_SECONDS = 0.05   # the burst's length, set once by calibrate()
FIT_ITERATIONS = {"medium": 20, "large": 4}  # about 0.1 s each at the default threads
PROBLEMS = (("medium", "float64"), ("medium", "float32"), ("large", "float64"),
            ("large", "float32"))
REPEATS = 7  # each scenario is short; the ratios are of bests, which need several tries
# Fits beside NumPy's threads, per repeat and thread count: their times
# vary with where the scheduler puts three threads on two cores (see the
# docstring), so they take more tries, the two thread counts alternating
# which goes first.
BESIDE_TRIES = 5


@dataclass
class Coexist(Scenarios):
    """One problem's fits in each scenario of (b) (seconds, one per repeat), and the check."""

    label: str  # "medium float64"
    iterations: int
    times: dict[str, list[float]] = field(default_factory=dict)
    # Per fit, the seconds its callers spent waiting for pool workers' last
    # parts (the pool's waited_us): what a worker that lost its core cost.
    waits: dict[str, list[float]] = field(default_factory=dict)
    # Per fit, the jobs it ran on the pool (pool_stats' pooled).
    pooled: dict[str, list[int]] = field(default_factory=dict)
    ok: bool = True
    message: str = "bit-identical losses"

    def ratios(self) -> dict[str, Optional[float]]:
        return {"spinning/one thread": self.ratio("spinning", "one thread"),
                "beside/one thread beside": self.ratio("beside", "one thread beside", self.median),
                "beside noise": self.beside_noise(),
                "spinning/idle": self.ratio("spinning", "idle")}

    def beside_noise(self) -> Optional[float]:
        """The median of the even tries of "one thread beside" over that of its
        odd tries: the same fit on both sides, so how far from 1 the beside
        pair's ratio strays by the scheduler's placements alone (from half as
        many tries a side, so a little further)."""
        times = self.times.get("one thread beside", [])
        if not self.ok or len(times) < 2:
            return None
        return statistics.median(times[0::2]) / statistics.median(times[1::2])

    def timed(self, scenario: str, fit: Callable[[], float]) -> None:
        """Runs one fit of ``scenario``, keeping its time and its pool waits."""
        before = _core.pool_stats()
        self.add(scenario, fit())
        after = _core.pool_stats()
        self.waits.setdefault(scenario, []).append((after["waited_us"] - before["waited_us"]) * 1e-6)
        self.pooled.setdefault(scenario, []).append(after["pooled"] - before["pooled"])

    def to_json(self) -> dict[str, Any]:
        return {"label": self.label, "iterations": self.iterations, "times": self.times,
                "waits": self.waits, "pooled": self.pooled, "ok": self.ok, "message": self.message,
                "ratios": self.ratios()}


@dataclass
class Living(Scenarios):
    """(a)'s NumPy times (seconds) per scenario, one per repeat, and (b)'s fits."""

    products: int = 0  # matmuls in one burst
    times: dict[str, list[float]] = field(default_factory=dict)
    fits: list[Coexist] = field(default_factory=list)
    ok: bool = True
    message: str = "bit-identical losses"

    def ratios(self) -> dict[str, Optional[float]]:
        return {"callback/idle": self.ratio("callback", "idle"),
                "after/idle": self.ratio("after", "idle")}

    def to_json(self) -> dict[str, Any]:
        return {"products": self.products, "product_size": PRODUCT, "times": self.times,
                "ok": self.ok, "message": self.message, "ratios": self.ratios(),
                "fits": [c.to_json() for c in self.fits]}


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


class Beside:
    """NumPy products back to back in another thread, for as long as it is entered."""

    def __init__(self) -> None:
        self.burst = Burst(1)
        self.stop = threading.Event()
        self.started = threading.Event()
        self.thread: Optional[threading.Thread] = None

    def _run(self) -> None:
        while not self.stop.is_set():
            self.burst()
            self.started.set()

    def __enter__(self) -> "Beside":
        self.stop.clear()
        self.started.clear()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        self.started.wait()  # OpenBLAS's threads are up and busy
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        assert self.thread is not None
        self.thread.join()


def calibrate(idle: float, seconds: float = BURST_SECONDS) -> Burst:
    """A burst of about ``seconds``, from the time of one product after an idle pause."""
    probe = Burst(3)
    time.sleep(idle)
    probe()  # untimed: OpenBLAS starts its threads
    one = probe() / probe.products
    return Burst(max(1, round(seconds / one)))


class _Fits:
    """Times fits of one problem from its initial weights and keeps every fit's losses."""

    def __init__(self, problem: Problem, iterations: int) -> None:
        self.problem = problem
        self.iterations = iterations
        self.losses: list[np.ndarray] = []

    def __call__(self, callback: Optional[Callable[[int, float], None]] = None) -> float:
        net = self.problem.net.copy()
        start = time.perf_counter()
        hist = net.fit(self.problem.X, self.problem.y, lr=self.problem.lr,
                       epochs=self.iterations, batch_size=None, callback=callback,
                       log_every=1 if callback is not None else 0)
        elapsed = time.perf_counter() - start
        self.losses.append(hist.loss)
        return elapsed

    def identical(self) -> bool:
        return all(np.array_equal(self.losses[0], other) for other in self.losses[1:])


class _OneThread:
    """plainnet on one thread while entered, its thread count put back after."""

    def __enter__(self) -> None:
        self.threads = _core.get_num_threads()
        _core.set_num_threads(1)

    def __exit__(self, *exc: object) -> None:
        _core.set_num_threads(self.threads)


FAILED = "FAILED: the fits' losses differ between scenarios or thread counts"


def run_coexist(name: str, dtype: str, burst: Burst, repeats: int, idle: float,
                iterations: Optional[int] = None, tries: int = BESIDE_TRIES) -> Coexist:
    """(b) for one problem: every scenario ``repeats`` times, the beside pair ``tries``
    times a repeat."""
    iters = FIT_ITERATIONS[name] if iterations is None else iterations
    fit = _Fits(make_problem(name, dtype, iters), iters)
    out = Coexist(f"{name} {dtype}", iters)
    fit()  # untimed: the pool's threads start
    beside = Beside()
    for _ in range(repeats):
        burst()
        out.timed("spinning", fit)  # straight after NumPy's products
        for i in range(tries):
            for two in ((True, False) if i % 2 == 0 else (False, True)):
                with beside:  # NumPy's products, started afresh for each fit
                    if two:
                        out.timed("beside", fit)
                    else:
                        with _OneThread():
                            out.timed("one thread beside", fit)
        time.sleep(idle)
        with _OneThread():
            out.timed("one thread", fit)
        out.timed("idle", fit)  # nothing spun on the second core during the last fit
    if not fit.identical():
        out.ok, out.message = False, FAILED
    return out


def run_living(repeats: int = REPEATS, idle: float = 1.0, iterations: Optional[int] = None,
               problems: tuple[tuple[str, str], ...] = PROBLEMS,
               tries: int = BESIDE_TRIES) -> Living:
    """Both measurements, ``repeats`` times each, with ``idle`` seconds as the idle pause;
    ``iterations`` (if given) replaces every fit's FIT_ITERATIONS; the beside pair
    ``tries`` times a repeat."""
    iters = FIT_ITERATIONS["medium"] if iterations is None else iterations
    fit = _Fits(make_problem("medium", "float64", iters), iters)
    burst = calibrate(idle)
    out = Living(products=burst.products)
    half = iters // 2

    def in_callback(iteration: int, loss: float) -> None:
        if iteration == half:
            out.add("callback", burst())

    fit()  # untimed: the pool's threads start
    for _ in range(repeats):
        time.sleep(idle)
        out.add("idle", burst())
        fit(in_callback)
        out.add("after", burst())  # straight after the fit returned
    if not fit.identical():
        out.ok, out.message = False, FAILED
    out.fits = [run_coexist(name, dtype, burst, repeats, idle, iterations, tries)
                for name, dtype in problems]
    return out
