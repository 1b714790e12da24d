"""The playground's data sets: 2-D points, their targets, and a train/test split.

Every set is drawn from ``numpy.random.RandomState(seed)``, so the same
arguments give the same points (the page's "copy as Python" script calls
``make`` with them). Inputs lie roughly in [-1, 1] x [-1, 1] (XOR's four
points are the seed's 0/1 corners). Targets are ``(m, 1)`` floats in {0, 1}
for two classes, ``(m,)`` integer labels for 3 to 5 classes, and ``(m, 1)``
floats for the regression plane.

This module needs NumPy only (not the playground's server extra).
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from typing import Any, Callable, Optional

import numpy as np

from .. import datasets

# Limits: what a page may ask for (each checked with a ValueError naming it).
MAX_POINTS = 2000          # points in a data set, generated, drawn or uploaded
MAX_CSV_BYTES = 256 * 1024  # an uploaded CSV's text
MAX_CLASSES = 5
MAX_NOISE = 1.0
MAX_ABS_COORD = 1e6        # drawn or uploaded coordinates

DATASETS: tuple[str, ...] = ("xor", "circle", "xor-cloud", "gaussians", "spiral", "moons",
                             "plane")
# The sets with a number of classes to choose (2 to MAX_CLASSES).
MULTICLASS: tuple[str, ...] = ("gaussians", "spiral")
# What the targets are: "binary", "multiclass" or "regression".
KINDS = ("binary", "multiclass", "regression")


@dataclass
class Data:
    """A train/test split of 2-D points; ``kind`` says what the targets are."""

    X: np.ndarray
    y: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    kind: str
    classes: int  # 1 for regression

    def labels(self, y: np.ndarray) -> list[float]:
        """The targets as one number per point (class index or value), for the page."""
        a = np.asarray(y)
        return [float(v) for v in (a if a.ndim == 1 else a[:, 0])]


def _xor(n: int, noise: float, rng: np.random.RandomState) -> tuple[np.ndarray, np.ndarray]:
    X, y = datasets.xor()
    return X.astype(np.float64), y.astype(np.float64)


def _circle(n: int, noise: float, rng: np.random.RandomState) -> tuple[np.ndarray, np.ndarray]:
    inside = np.arange(n) % 2
    r = np.where(inside == 1, rng.uniform(0.0, 0.45, n), rng.uniform(0.65, 1.0, n))
    angle = rng.uniform(0.0, 2 * math.pi, n)
    X = np.column_stack([r * np.cos(angle), r * np.sin(angle)])
    X += rng.normal(0.0, noise, X.shape)
    return X, inside.astype(np.float64)[:, None]


def _xor_cloud(n: int, noise: float, rng: np.random.RandomState
               ) -> tuple[np.ndarray, np.ndarray]:
    X = rng.uniform(-1.0, 1.0, (n, 2))
    X += np.sign(X) * 0.05  # a small gap along the axes
    label = (X[:, 0] * X[:, 1] < 0).astype(np.float64)
    X += rng.normal(0.0, noise, X.shape)
    return X, label[:, None]


def _gaussians(n: int, noise: float, rng: np.random.RandomState, classes: int = 2
               ) -> tuple[np.ndarray, np.ndarray]:
    label = np.arange(n) % classes
    angle = 2 * math.pi * label / classes + math.pi / 4
    centres = 0.55 * np.column_stack([np.cos(angle), np.sin(angle)])
    X = centres + rng.normal(0.0, 0.15 + noise, (n, 2))
    return X, label


def _spiral(n: int, noise: float, rng: np.random.RandomState, classes: int = 2
            ) -> tuple[np.ndarray, np.ndarray]:
    label = np.arange(n) % classes
    t = rng.uniform(0.0, 1.0, n)
    r = 0.05 + 0.9 * t
    angle = 2 * math.pi * label / classes + 1.75 * 2 * math.pi * t * 0.5
    X = np.column_stack([r * np.cos(angle), r * np.sin(angle)])
    X += rng.normal(0.0, noise, X.shape)
    return X, label


def _moons(n: int, noise: float, rng: np.random.RandomState) -> tuple[np.ndarray, np.ndarray]:
    label = np.arange(n) % 2
    t = rng.uniform(0.0, math.pi, n)
    X = np.where(label[:, None] == 0,
                 np.column_stack([np.cos(t), np.sin(t)]),
                 np.column_stack([1 - np.cos(t), 0.5 - np.sin(t)]))
    X = (X - [0.5, 0.25]) * 0.8
    X += rng.normal(0.0, noise, X.shape)
    return X, label.astype(np.float64)[:, None]


def _plane(n: int, noise: float, rng: np.random.RandomState) -> tuple[np.ndarray, np.ndarray]:
    X = rng.uniform(-1.0, 1.0, (n, 2))
    y = 0.5 * X[:, 0] - 0.3 * X[:, 1] + rng.normal(0.0, noise * 0.5, n)
    return X, y[:, None]


_MAKERS: dict[str, Callable[..., tuple[np.ndarray, np.ndarray]]] = {
    "xor": _xor, "circle": _circle, "xor-cloud": _xor_cloud, "gaussians": _gaussians,
    "spiral": _spiral, "moons": _moons, "plane": _plane,
}


def _number(value: Any, name: str, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name}: expected a number, got {type(value).__name__} {value!r}")
    if not (math.isfinite(value) and low <= value <= high):
        raise ValueError(f"{name}: expected a number in [{low}, {high}], got {value!r}")
    return float(value)


def _int(value: Any, name: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name}: expected an integer, got {type(value).__name__} {value!r}")
    if not low <= value <= high:
        raise ValueError(f"{name}: expected an integer in [{low}, {high}], got {value!r}")
    return int(value)


def _split(X: np.ndarray, y: np.ndarray, test_fraction: float,
           rng: np.random.RandomState) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    m = X.shape[0]
    n_test = int(round(test_fraction * m))
    n_test = min(max(n_test, 1 if test_fraction > 0 else 0), m - 1)
    order = rng.permutation(m)
    test, train = order[:n_test], order[n_test:]
    if n_test == 0:
        return X, y, X[:0], y[:0]
    return X[train], y[train], X[test], y[test]


def make(name: str, n: int = 200, noise: float = 0.1, test_fraction: float = 0.5,
         seed: int = 0, classes: int = 2) -> Data:
    """One of ``DATASETS``: n points (XOR: its 4 points, trained and tested on all 4).

    ``noise`` is the standard deviation of the Gaussian jitter added to the
    inputs (the plane: half of it, on the target); ``test_fraction`` of the
    points (drawn at random) form the test set; ``classes`` (2 to 5) applies to
    the gaussians and the spiral.
    """
    if not isinstance(name, str) or name not in _MAKERS:
        raise ValueError(f"dataset: expected one of {', '.join(DATASETS)}, got {name!r}")
    n = _int(n, "points", 4, MAX_POINTS)
    noise = _number(noise, "noise", 0.0, MAX_NOISE)
    test_fraction = _number(test_fraction, "test_fraction", 0.0, 0.9)
    seed = _int(seed, "data seed", 0, 2**32 - 1)
    classes = _int(classes, "classes", 2, MAX_CLASSES)
    if classes > 2 and name not in MULTICLASS:
        raise ValueError(f"classes: {name!r} has 2 classes; only {', '.join(MULTICLASS)} take "
                         f"3 to {MAX_CLASSES}, got {classes}")
    rng = np.random.RandomState(seed)
    if name == "xor":
        X, y = _xor(n, noise, rng)
        return Data(X, y, X.copy(), y.copy(), "binary", 2)
    if name in MULTICLASS:
        X, label = _MAKERS[name](n, noise, rng, classes)
        y = label.astype(np.int64) if classes > 2 else label.astype(np.float64)[:, None]
    else:
        X, y = _MAKERS[name](n, noise, rng)
    kind = "regression" if name == "plane" else ("multiclass" if classes > 2 else "binary")
    X, y, Xt, yt = _split(X, y, test_fraction, rng)
    return Data(X, y, Xt, yt, kind, 1 if kind == "regression" else classes)


def from_points(X: Any, y: Any, test_fraction: float = 0.0, seed: int = 0,
                name: str = "points") -> Data:
    """A data set from given points: X (m, 2), y (m,) or (m, 1).

    Integer labels 0..k-1 make a classification (binary for k <= 2, else
    multiclass up to 5 classes); any other numbers make a regression.
    """
    Xa = np.asarray(X, dtype=np.float64) if not isinstance(X, np.ndarray) else X
    if Xa.dtype == object or not np.issubdtype(Xa.dtype, np.number):
        raise TypeError(f"{name}: expected numbers for X, got dtype {Xa.dtype}")
    Xa = Xa.astype(np.float64)
    if Xa.ndim != 2 or Xa.shape[1] != 2:
        raise ValueError(f"{name}: expected X of shape (m, 2), got {Xa.shape}")
    m = Xa.shape[0]
    if not 2 <= m <= MAX_POINTS:
        raise ValueError(f"{name}: expected 2 to {MAX_POINTS} points, got {m}")
    ya = np.asarray(y)
    if ya.dtype == object or not np.issubdtype(ya.dtype, np.number):
        raise TypeError(f"{name}: expected numbers for y, got dtype {ya.dtype}")
    ya = ya.astype(np.float64).reshape(-1) if ya.ndim == 2 and ya.shape[1:] == (1,) else \
        ya.astype(np.float64)
    if ya.shape != (m,):
        raise ValueError(f"{name}: expected y of shape ({m},) (one target per point), "
                         f"got {np.shape(y)}")
    if not (np.isfinite(Xa).all() and np.isfinite(ya).all()):
        raise ValueError(f"{name}: the points and targets must be finite numbers")
    if np.abs(Xa).max() > MAX_ABS_COORD:
        raise ValueError(f"{name}: coordinates must lie within +-{MAX_ABS_COORD:g}")
    test_fraction = _number(test_fraction, "test_fraction", 0.0, 0.9)
    seed = _int(seed, "data seed", 0, 2**32 - 1)
    integral = bool(np.all(ya == np.round(ya)) and ya.min() >= 0)
    k = int(ya.max()) + 1 if integral else 0
    if integral and k <= 2:
        yy: np.ndarray = ya[:, None]
        kind, classes = "binary", 2
    elif integral and k <= MAX_CLASSES:
        yy, kind, classes = ya.astype(np.int64), "multiclass", k
    else:
        if integral:
            raise ValueError(f"{name}: at most {MAX_CLASSES} classes (labels 0 to "
                             f"{MAX_CLASSES - 1}), got labels up to {k - 1}")
        yy, kind, classes = ya[:, None], "regression", 1
    rng = np.random.RandomState(seed)
    Xtr, ytr, Xte, yte = _split(Xa, yy, test_fraction, rng) if test_fraction > 0 else \
        (Xa, yy, Xa[:0], yy[:0])
    return Data(Xtr, ytr, Xte, yte, kind, classes)


def parse_csv(text: Any) -> tuple[np.ndarray, np.ndarray]:
    """X (m, 2) and y (m,) from CSV text: two feature columns and a label, an optional header."""
    if not isinstance(text, str):
        raise TypeError(f"csv: expected text, got {type(text).__name__}")
    if len(text.encode("utf-8", "replace")) > MAX_CSV_BYTES:
        raise ValueError(f"csv: at most {MAX_CSV_BYTES} bytes, got "
                         f"{len(text.encode('utf-8', 'replace'))}")
    rows: list[list[float]] = []
    for number, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        if not row or all(not cell.strip() for cell in row):
            continue
        if len(row) != 3:
            raise ValueError(f"csv: line {number}: expected 3 columns (x1, x2, label), "
                             f"got {len(row)}")
        try:
            values = [float(cell) for cell in row]
        except ValueError:
            if not rows and number == 1:
                continue  # a header
            raise ValueError(f"csv: line {number}: expected numbers, got {row!r}") from None
        rows.append(values)
        if len(rows) > MAX_POINTS:
            raise ValueError(f"csv: at most {MAX_POINTS} rows of data")
    if len(rows) < 2:
        raise ValueError(f"csv: expected at least 2 rows of data, got {len(rows)}")
    table = np.array(rows)
    return table[:, :2], table[:, 2]


def domain(data: Data) -> tuple[float, float, float, float]:
    """(x_min, x_max, y_min, y_max) of the plane the page draws: the points, with a margin."""
    pts = np.vstack([data.X, data.X_test]) if data.X_test.size else data.X
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    centre, half = (lo + hi) / 2, max(float((hi - lo).max()) / 2, 1e-3) * 1.2
    return (float(centre[0] - half), float(centre[0] + half),
            float(centre[1] - half), float(centre[1] + half))

