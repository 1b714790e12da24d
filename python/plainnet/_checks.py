"""Argument checks shared by every public entry point.

Each check either returns the value in the form the core wants or raises
ValueError/TypeError naming the argument with the expected and actual value.
None of them touches a network, so a call that fails a check changes nothing.
"""

from __future__ import annotations

import math
import numbers
from typing import Any, Optional, Sequence

import numpy as np

from ._layout import MAX_ELEMENTS, fit_iterations, num_parameters


def _type_name(value: Any) -> str:
    return type(value).__name__


def integer(value: Any, name: str, minimum: Optional[int] = None) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name}: expected an int, got {_type_name(value)} {value!r}")
    number = int(value)
    if minimum is not None and number < minimum:
        raise ValueError(f"{name}: expected an int >= {minimum}, got {number}")
    return number


def real(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name}: expected a real number, got {_type_name(value)} {value!r}")
    return float(value)


def learning_rate_value(value: Any, name: str = "lr") -> float:
    """A finite lr > 0."""
    lr = real(value, name)
    if not math.isfinite(lr) or lr <= 0:
        raise ValueError(f"{name}: expected a finite number > 0, got {lr!r}")
    return lr


def learning_rate(value: Any, dt: np.dtype, name: str = "lr") -> float:
    """A finite lr > 0 that stays finite and > 0 in the network's dtype dt."""
    lr = learning_rate_value(value, name)
    with np.errstate(over="ignore", under="ignore"):
        as_dt = float(np.array(lr).astype(dt))  # overflowing to inf is what is checked
    if not math.isfinite(as_dt) or as_dt <= 0:
        info = np.finfo(dt)
        raise ValueError(f"{name}: expected a number in [{float(info.smallest_subnormal):.3g}, "
                         f"{float(info.max):.3g}] for a {dt.name} network, got {lr!r}")
    return lr


def _seed(value: Any, name: str, bits: int) -> int:
    seed = integer(value, name, minimum=0)
    if seed >= 2**bits:
        raise ValueError(f"{name}: expected an int in [0, 2**{bits}), got {seed}")
    return seed


def init_seed(value: Any, name: str = "seed") -> int:
    """A seed for the initial weights: numpy.random.RandomState takes 32 bits."""
    return _seed(value, name, 32)


def fit_seed(value: Any, name: str = "seed") -> int:
    """A seed for the order of mini-batches: the core's hash takes 64 bits."""
    return _seed(value, name, 64)


def choice(value: Any, name: str, options: Sequence[str]) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{name}: expected one of {', '.join(map(repr, options))}, "
                        f"got {_type_name(value)} {value!r}")
    if value not in options:
        raise ValueError(f"{name}: expected one of {', '.join(map(repr, options))}, got {value!r}")
    return value


def dtype(value: Any, name: str = "dtype") -> np.dtype:
    """np.dtype('float64') or np.dtype('float32'), the canonical objects."""
    expected = f"{name}: expected 'float64' or 'float32', got {value!r}"
    try:
        dt = np.dtype(value)
    except TypeError:
        # an unknown name is a wrong value; anything else is a wrong type
        raise (ValueError if isinstance(value, str) else TypeError)(expected) from None
    for known in (np.float64, np.float32):
        if dt == known:
            return np.dtype(known)
    raise ValueError(expected)


def layer_sizes(value: Any, name: str = "layers") -> tuple[int, ...]:
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        if not (isinstance(value, np.ndarray) and value.ndim == 1):
            raise TypeError(f"{name}: expected a list of layer sizes such as [2, 4, 1], "
                            f"got {_type_name(value)} {value!r}")
    sizes = tuple(integer(v, f"{name}[{i}]") for i, v in enumerate(value))
    if len(sizes) < 2:
        raise ValueError(f"{name}: expected at least 2 sizes (inputs and outputs), got {len(sizes)}: "
                         f"{list(sizes)}")
    for i, s in enumerate(sizes):
        if s < 1:
            raise ValueError(f"{name}[{i}]: expected a size >= 1, got {s}")
    count = num_parameters(sizes)
    if count > MAX_ELEMENTS:
        raise ValueError(f"{name}: {list(sizes)} would have {count} parameters, more than 2**62")
    return sizes


def real_array(value: Any, name: str) -> np.ndarray:
    """Any array-like of real numbers (bool, int, uint, float), as an ndarray."""
    try:
        arr = np.asarray(value)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{name}: could not be read as a numeric array ({exc})") from None
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{name}: expected real numbers (bool, int or float), got dtype {arr.dtype}")
    return arr


# Elements per np.isfinite call in finite(): its flags then take 64 KiB at most,
# however large the array.
_FINITE_CHUNK = 1 << 16


def finite(arr: np.ndarray, name: str) -> None:
    if arr.ndim == 0:
        ok = bool(np.isfinite(arr))
    else:
        step = max(1, _FINITE_CHUNK // max(1, arr[0].size)) if arr.ndim > 1 else _FINITE_CHUNK
        ok = all(np.isfinite(arr[i:i + step]).all() for i in range(0, arr.shape[0], step))
    if not ok:
        bad = np.argwhere(~np.isfinite(arr))[0]
        where = ", ".join(str(int(i)) for i in bad)
        raise ValueError(f"{name}: expected finite values, got {arr[tuple(bad)]} at index ({where})")


def samples(value: Any, name: str, columns: int, dt: np.dtype, rows: Optional[int] = None,
            allow_1d: bool = False) -> np.ndarray:
    """A 2-D (rows, columns) C-contiguous array of dtype dt with finite values.

    allow_1d: a 1-D array is read as one column (for y when there is one output).
    """
    arr = real_array(value, name)
    if allow_1d and arr.ndim == 1 and columns == 1:
        arr = arr.reshape(-1, 1)
    if arr.ndim != 2:
        hint = " (use .reshape(-1, 1) for a single feature, .reshape(1, -1) for a single sample)"
        raise ValueError(f"{name}: expected a 2-D array (samples, {columns}), got shape {arr.shape}"
                         + (hint if arr.ndim == 1 else ""))
    if arr.shape[0] == 0:
        raise ValueError(f"{name}: expected at least 1 row, got shape {arr.shape}")
    if arr.shape[1] != columns:
        raise ValueError(f"{name}: expected {columns} columns, got shape {arr.shape}")
    if rows is not None and arr.shape[0] != rows:
        raise ValueError(f"{name}: has {arr.shape[0]} rows but X has {rows}")
    if arr.dtype.kind == "f":
        finite(arr, name)
    with np.errstate(over="ignore"):
        out = np.ascontiguousarray(arr, dtype=dt)
    if arr.dtype.kind == "f" and arr.dtype.itemsize > out.dtype.itemsize:
        finite(out, f"{name} (converted to {dt})")  # a narrower float may overflow to inf
    return out


def iterations(m: int, epochs: int, batch_size: int) -> int:
    """Iterations per epoch of a fit, refusing a run of more than MAX_ELEMENTS iterations."""
    per_epoch = fit_iterations(m, 1, batch_size)
    if epochs * per_epoch > MAX_ELEMENTS:
        raise ValueError(f"epochs: {epochs} epochs of {per_epoch} iterations each is more "
                         f"than 2**62 iterations")
    return per_epoch
