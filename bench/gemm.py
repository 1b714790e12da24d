"""The machine's GEMM rate, and the floating-point work of a training iteration.

``measure(dtype)`` times NumPy's matmul of two large square matrices, which
runs OpenBLAS's own dgemm (float64) or sgemm (float32) at NumPy's default
thread count: the best rate this machine reaches on a matrix product, the
yardstick for the core's products. threadpoolctl says how many threads that
BLAS used and which kernel (OpenBLAS's core type, e.g. "Haswell") it ran.

``training_flops`` counts the floating-point operations a training iteration
cannot do without, one multiply and one add per multiply-add of its products:

* forward, every layer: 2·m·n_l·n_{l+1};
* weight gradients, every layer: the same again;
* input gradients, every layer but the first (nothing needs the gradient of
  the data): 2·m·n_l·n_{l+1}.

Activations, biases, the loss and the update are not counted; they are
O(m·n) or O(parameters), small beside the products at the sizes where the
fraction matters.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

import machine

SIZE = 2048   # n of the n x n matrices: large enough for the BLAS's full rate
REPEATS = 3   # timed products after the untimed one; the best counts


def forward_flops(layers: Sequence[int], m: int) -> int:
    """Floating-point operations of the forward products on m rows: 2·m·Σ n_l·n_{l+1}."""
    return 2 * m * sum(a * b for a, b in zip(layers[:-1], layers[1:]))


def training_flops(layers: Sequence[int], m: int) -> int:
    """Floating-point operations of the products one training iteration on m rows needs:
    forward, weight gradients, and input gradients of every layer but the first."""
    pairs = list(zip(layers[:-1], layers[1:]))
    backward_inputs = 2 * m * sum(a * b for a, b in pairs[1:])
    return 2 * forward_flops(layers, m) + backward_inputs


def gflops(flops: float, seconds: float) -> float:
    """GFLOP/s of ``flops`` operations done in ``seconds``."""
    if seconds <= 0:
        raise ValueError(f"seconds: expected a time > 0, got {seconds!r}")
    return flops / seconds / 1e9


@dataclass
class GemmRate:
    """One dtype's matmul rate: C = A @ B with n x n matrices, best of the timed products."""

    dtype: str
    n: int
    threads: Any           # the BLAS's thread count (threadpoolctl), "n/a" without it
    kernel: Any            # OpenBLAS's core type (threadpoolctl's "architecture")
    blas: str              # name and version of the BLAS that ran
    times: list[float] = field(default_factory=list)  # seconds per product

    @property
    def flops(self) -> int:
        return 2 * self.n ** 3

    @property
    def gflops(self) -> float:
        """The rate of the fastest product."""
        return gflops(self.flops, min(self.times)) if self.times else float("nan")

    @property
    def median_gflops(self) -> float:
        return gflops(self.flops, statistics.median(self.times)) if self.times else float("nan")

    def to_json(self) -> dict[str, Any]:
        return {"dtype": self.dtype, "n": self.n, "threads": self.threads,
                "kernel": self.kernel, "blas": self.blas, "times": self.times,
                "flops": self.flops, "gflops": self.gflops,
                "median_gflops": self.median_gflops}


def measure(dtype: str, n: int = SIZE, repeats: int = REPEATS, pause: float = 0.5) -> GemmRate:
    """NumPy's n x n matmul at its default thread count: one untimed product after
    an idle pause, then ``repeats`` timed ones."""
    if n < 1 or repeats < 1:
        raise ValueError(f"n, repeats: expected integers >= 1, got {n}, {repeats}")
    rng = np.random.default_rng(0)
    A = rng.random((n, n)).astype(dtype)
    B = rng.random((n, n)).astype(dtype)
    C = np.empty((n, n), dtype=dtype)
    blas = machine.numpy_blas()
    rate = GemmRate(dtype, n, blas["threads"], blas["architecture"],
                    f"{blas['name']} {blas['version']}")
    time.sleep(pause)  # let other libraries' threads stop spinning
    np.matmul(A, B, out=C)  # untimed: the BLAS starts its threads and packs its buffers
    for _ in range(repeats):
        start = time.perf_counter()
        np.matmul(A, B, out=C)
        rate.times.append(time.perf_counter() - start)
    return rate
