"""The benchmark's problems: network shapes, data, learning rates, initial weights.

Every peer trains the same network from the same initial weights on the same
data: full-batch gradient descent, sigmoid on every layer, the core's MSE
convention (see docs/user-guide/losses.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

import plainnet as pn


@dataclass(frozen=True)
class Size:
    name: str
    layers: tuple[int, ...]
    m: int           # rows in the (single) batch
    iterations: int  # gradient-descent steps in one timed run
    lr: float
    lr_linear: float  # for the variant with a linear output layer (the scikit-learn comparison)


# xor is the tutorial's network (its weights, data and lr), for a fifth of the
# tutorial's 10,000 iterations. The iteration counts keep each timed run long
# enough to time (from about 1 ms for native on xor) and the suite's whole run,
# which times every peer 6 times on every size, within 5 minutes on a 2-core
# machine. The sigmoid-output loss
# falls at every step on every size. A linear output layer takes far larger
# steps (its slope is 1, not at most 1/4, and it sums up to 512 hidden units), so
# that variant needs smaller rates to fall at every step too: on xor lr 2.0
# diverges and lr >= 0.1 drives the loss down to rounding noise.
SIZES = {s.name: s for s in (
    Size("xor", (2, 4, 1), 4, 2000, 2.0, 0.05),
    Size("small", (64, 32, 10), 256, 500, 0.5, 0.1),
    Size("medium", (784, 128, 10), 256, 100, 0.5, 0.02),
    Size("large", (784, 512, 512, 10), 512, 20, 0.5, 0.01),
)}

DTYPES = ("float64", "float32")
QUICK_DIVISOR = 10  # --quick runs this many times fewer iterations


@dataclass
class Problem:
    """One size at one dtype: the data and the initial network every peer starts from."""

    size: Size
    dtype: str
    X: np.ndarray          # (m, inputs), values in [0, 1)
    y: np.ndarray          # (m, outputs), values in [0, 1]
    net: pn.Network        # the initial weights (backend "native")
    iterations: int
    output_activation: str  # "sigmoid" here; "linear" for the scikit-learn comparison

    @property
    def lr(self) -> float:
        return self.size.lr_linear if self.output_activation == "linear" else self.size.lr

    @property
    def outputs(self) -> int:
        return self.size.layers[-1]

    def initial_parameters(self) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """(weights, biases) as plainnet stores them: W_l (inputs, outputs), b_l (outputs,)."""
        return self.net.weights, self.net.biases


def make_problem(name: str, dtype: str, iterations: int | None = None,
                 output_activation: str = "sigmoid") -> Problem:
    """The problem ``name`` at ``dtype``; deterministic (fixed seeds), identical for all peers."""
    if name not in SIZES:
        raise ValueError(f"name: expected one of {sorted(SIZES)}, got {name!r}")
    if dtype not in DTYPES:
        raise ValueError(f"dtype: expected one of {list(DTYPES)}, got {dtype!r}")
    size = SIZES[name]
    if size.name == "xor":
        X, y = pn.datasets.xor()
        net = pn.Network(size.layers, activation="sigmoid", output_activation=output_activation,
                         seed=42, dtype=dtype)
    else:
        # Random inputs and one-hot targets of random classes: a classification-shaped
        # problem whose loss falls steadily at lr 0.5 on every size.
        rng = np.random.default_rng(2024)
        X = rng.random((size.m, size.layers[0]))
        y = np.eye(size.layers[-1])[rng.integers(0, size.layers[-1], size.m)]
        net = pn.Network(size.layers, activation="sigmoid", output_activation=output_activation,
                         init="xavier", seed=0, dtype=dtype)
    iters = size.iterations if iterations is None else iterations
    return Problem(size, dtype, np.ascontiguousarray(X, dtype=dtype),
                   np.ascontiguousarray(y, dtype=dtype), net, iters,
                   output_activation)
