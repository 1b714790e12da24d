"""Small data sets used by the examples."""

from __future__ import annotations

import numpy as np


def xor() -> tuple[np.ndarray, np.ndarray]:
    """Give the four XOR points and their targets.

    Returns
    -------
    X : numpy.ndarray of int, shape (4, 2)
        The inputs (0, 0), (0, 1), (1, 0), (1, 1).
    y : numpy.ndarray of int, shape (4, 1)
        Their XOR: 0, 1, 1, 0.

    Examples
    --------
    >>> import plainnet as pn
    >>> X, y = pn.datasets.xor()
    >>> X.tolist(), y.ravel().tolist()
    ([[0, 0], [0, 1], [1, 0], [1, 1]], [0, 1, 1, 0])
    """
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]])
    y = np.array([[0], [1], [1], [0]])
    return X, y
