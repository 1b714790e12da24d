"""Where a network's numbers live, shared by both backends and the Network class.

A network is a list of layer sizes, one activation per layer and one flat
parameter array ordered ``W0, b0, W1, b1, ...``; ``W_l`` has shape
``(sizes[l], sizes[l+1])`` and ``b_l`` shape ``(sizes[l+1],)``.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

# The names of the tables in cpp/ops.h, in the same order (a test holds the
# core's _core.ACTIVATIONS, OUTPUT_ACTIVATIONS, LOSSES, OPTIMIZERS and MONITORS to these,
# and reference.py's tables to them).
ACTIVATIONS: tuple[str, ...] = ("linear", "sigmoid", "tanh", "relu", "leaky_relu", "elu",
                                "softplus", "silu", "gelu", "mish")
# Row-wise activations, allowed on the output layer only (softmax, with cross_entropy).
OUTPUT_ACTIVATIONS: tuple[str, ...] = ("softmax",)
LOSSES: tuple[str, ...] = ("mse", "binary_cross_entropy", "cross_entropy")
OPTIMIZERS: tuple[str, ...] = ("sgd", "adam", "adamw", "rprop")
# What early stopping watches (cpp/network.h's Monitor; the core exports MONITORS).
MONITORS: tuple[str, ...] = ("val_loss", "loss", "val_accuracy")

# The most parameters, iterations or buffer elements a network may have: more
# could not be allocated anyway, and below it no index overflows int64. The
# core refuses more too (_core.MAX_ELEMENTS, tested equal).
MAX_ELEMENTS = 2**62
# The least wall time, in seconds, between two calls of fit's progress hook
# (_core.PROGRESS_INTERVAL, tested equal): a progress bar redraws a few times a
# second, however short the epochs.
PROGRESS_INTERVAL = 0.2


def num_parameters(sizes: Sequence[int]) -> int:
    """Count the weights and biases of a network with the given layer widths.

    Parameters
    ----------
    sizes : sequence of int
        The layer widths, inputs first.

    Returns
    -------
    int
        ``sum(n_in * n_out + n_out)`` over the layers.

    Examples
    --------
    >>> from plainnet import reference
    >>> reference.num_parameters([2, 4, 1])
    17
    """
    return sum(n_in * n_out + n_out for n_in, n_out in zip(sizes[:-1], sizes[1:]))


def unpack(params: np.ndarray, sizes: Sequence[int]) -> list[tuple[np.ndarray, np.ndarray]]:
    """Views (W_l, b_l) into the flat parameter array, one pair per layer."""
    layers, at = [], 0
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        W = params[at : at + n_in * n_out].reshape(n_in, n_out)
        at += n_in * n_out
        b = params[at : at + n_out]
        at += n_out
        layers.append((W, b))
    return layers


def fit_iterations(m: int, epochs: int, batch_size: int) -> int:
    """Count the updates that ``epochs`` epochs over m rows make.

    Parameters
    ----------
    m : int
        The rows.
    epochs : int
        The epochs.
    batch_size : int
        Rows per batch; 0 (or m or more) is full batch.

    Returns
    -------
    int
        ``epochs * ceil(m / batch_size)``, or ``epochs`` for full batches.

    Examples
    --------
    >>> from plainnet import reference
    >>> reference.fit_iterations(200, 50, 32)
    350
    """
    if batch_size <= 0 or batch_size >= m:
        return epochs
    return epochs * -(-m // batch_size)
