"""Initial weights: the draws every new Network starts from."""

from __future__ import annotations

import math
from typing import Optional, Sequence

import numpy as np

from ._layout import unpack

INITS: tuple[str, ...] = ("normal", "xavier", "he")
# Values drawn at a time (1 MiB of float64).
_BLOCK = 1 << 17


def initialize(params: np.ndarray, sizes: Sequence[int], init: str, init_scale: Optional[float],
               seed: Optional[int]) -> None:
    """Fill the flat parameter array in place: weights drawn, biases zero.

    ``normal`` draws ``randn(in, out) * init_scale`` (scale 0.5 unless given)
    for W0, W1, ... in order from ``numpy.random.RandomState(seed)``, the
    classic tutorial's draws; ``xavier`` uses standard deviation
    ``sqrt(2 / (in + out))`` and ``he`` ``sqrt(2 / in)``, each times
    ``init_scale`` (1 unless given).
    """
    rng = np.random.RandomState(seed)
    for (W, b), n_in, n_out in zip(unpack(params, sizes), sizes[:-1], sizes[1:]):
        # Drawn a block of rows at a time, in the draws' order: the same
        # numbers as one randn(n_in, n_out), without a float64 temporary of
        # the whole layer (twice its size in a float32 network).
        step = max(1, _BLOCK // n_out)
        if init == "normal":
            scale = 0.5 if init_scale is None else init_scale
        elif init == "xavier":
            scale = (1.0 if init_scale is None else init_scale) * math.sqrt(2.0 / (n_in + n_out))
        else:
            scale = (1.0 if init_scale is None else init_scale) * math.sqrt(2.0 / n_in)
        for r in range(0, n_in, step):
            W[r:r + step] = rng.randn(min(step, n_in - r), n_out) * scale
        b[...] = 0
