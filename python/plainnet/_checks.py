"""Argument checks shared by every public entry point.

Each check either returns the value in the form the core wants or raises
ValueError/TypeError naming the argument with the expected and actual value.
None of them touches a network, so a call that fails a check changes nothing.
"""

from __future__ import annotations

import inspect
import math
import numbers
import os
import warnings
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

import numpy as np

from ._layout import LOSSES, MAX_ELEMENTS, OUTPUT_ACTIVATIONS, fit_iterations, num_parameters


def _type_name(value: Any) -> str:
    return type(value).__name__


def integer(value: Any, name: str, minimum: Optional[int] = None,
            maximum: Optional[int] = None) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name}: expected an int, got {_type_name(value)} {value!r}")
    number = int(value)
    if minimum is not None and number < minimum:
        raise ValueError(f"{name}: expected an int >= {minimum}, got {number}")
    if maximum is not None and number > maximum:
        low = "" if minimum is None else f"{minimum} <= "
        raise ValueError(f"{name}: expected an int {low}<= {maximum} ({_power_of_two(maximum)}), "
                         f"got {number}")
    return number


def _power_of_two(n: int) -> str:
    return f"2**{n.bit_length() - 1}" if n & (n - 1) == 0 else f"2**{n.bit_length()} - 1"


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


def path(value: Any, name: str = "path") -> Path:
    """A file path given as str or os.PathLike (not bytes)."""
    fs = os.fspath(value) if isinstance(value, (str, os.PathLike)) else None
    if not isinstance(fs, str):
        raise TypeError(f"{name}: expected a file path (str or os.PathLike), got "
                        f"{_type_name(value)} {value!r}")
    return Path(fs)


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


def dropout(value: Any, hidden: int, name: str = "dropout") -> tuple[float, ...]:
    """Dropout rates: one for every hidden layer, or a sequence of one per hidden layer.

    Each rate is in [0, 1). Returns one rate per hidden layer (``hidden`` of them).
    """
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value.item()
    if isinstance(value, bool) or isinstance(value, (str, bytes)) or not isinstance(
            value, (numbers.Real, Sequence, np.ndarray)):
        raise TypeError(f"{name}: expected a rate in [0, 1) or a list of one rate per hidden "
                        f"layer, got {_type_name(value)} {value!r:.60}")
    if isinstance(value, numbers.Real):
        p = _rate(value, name)
        if hidden == 0 and p != 0.0:
            raise ValueError(f"{name}: the network has no hidden layer whose units could be "
                             f"dropped; expected 0, got {p!r}")
        return (p,) * hidden
    items = list(value)
    if len(items) != hidden:
        raise ValueError(f"{name}: expected {hidden} rates (one per hidden layer), got "
                         f"{len(items)}")
    return tuple(_rate(v, f"{name}[{i}]") for i, v in enumerate(items))


def _rate(value: Any, name: str) -> float:
    """A real number in [0, 1), as a float."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool) and value != 0:
        raise ValueError(f"{name}: expected a rate in [0, 1), got {value!r:.60}")  # 10**400 too
    p = real(value, name)
    if not 0.0 <= p < 1.0:  # NaN too
        raise ValueError(f"{name}: expected a rate in [0, 1), got {p!r}")
    return p


def layer_sizes(value: Any, name: str = "layers") -> tuple[int, ...]:
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        if not (isinstance(value, np.ndarray) and value.ndim == 1):
            raise TypeError(f"{name}: expected a list of layer sizes such as [2, 4, 1], "
                            f"got {_type_name(value)} {value!r}")
    sizes = tuple(integer(v, f"{name}[{i}]", maximum=MAX_ELEMENTS) for i, v in enumerate(value))
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


# Columns named in one message at most; the rest are counted.
_SHOWN_COLUMNS = 5


def _column_list(items: Sequence[str]) -> str:
    shown = ", ".join(items[:_SHOWN_COLUMNS])
    more = len(items) - _SHOWN_COLUMNS
    return shown + (f" and {more} more" if more > 0 else "")


def _table_columns(value: Any) -> Optional[tuple[list[Any], list[Any]]]:
    """(labels, dtypes) of a table with named columns (a pandas DataFrame, or a
    Series as one column), or None for anything else. Read from the object's
    own ``columns``/``dtypes`` (``name``/``dtype``): pandas is not imported."""
    ndim = getattr(value, "ndim", None)
    if ndim == 2 and hasattr(value, "columns") and hasattr(value, "dtypes"):
        try:
            labels, dtypes = list(value.columns), list(value.dtypes)
        except TypeError:
            return None
        return (labels, dtypes) if len(labels) == len(dtypes) else None
    if ndim == 1 and hasattr(value, "name") and hasattr(value, "dtype") and hasattr(value, "index"):
        return [value.name], [value.dtype]
    return None


def _table_array(value: Any, name: str, labels: list[Any], dtypes: list[Any]) -> np.ndarray:
    """A table's values as an array, or ValueError/TypeError naming the columns at fault:
    those that are not numbers, and those with missing (NaN) or infinite values."""
    series = getattr(value, "ndim", 2) == 1
    unnamed = series and labels[0] is None

    def named(j: int, detail: str) -> str:
        return f"({detail})" if unnamed else f"{labels[j]!r} ({detail})"

    def where(items: list[str]) -> str:
        if unnamed:
            return f"the Series {items[0]}"
        return f"{'column' if len(items) == 1 else 'columns'} {_column_list(items)}"

    odd = [named(j, str(dt)) for j, dt in enumerate(dtypes)
           if getattr(dt, "kind", "O") not in "biuf"]
    if odd:
        every = "" if series else " in every column"
        raise TypeError(f"{name}: expected real numbers (bool, int or float){every}, got "
                        f"non-numeric dtypes in {where(odd)}; convert or drop them (for "
                        f"example with .astype(float), pd.get_dummies or .drop(columns=[...]))")
    try:
        arr = np.asarray(value)
        if arr.dtype.kind not in "biuf":  # mixed kinds (bool and int), nullable Int64 with NA
            to_numpy = getattr(value, "to_numpy", None)
            arr = (to_numpy(dtype=np.float64, na_value=np.nan) if callable(to_numpy)
                   else np.asarray(value, dtype=np.float64))
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{name}: could not be read as a numeric array ({exc})") from None
    if arr.dtype.kind == "f":
        cols = arr.reshape(arr.shape[0], -1)
        for test, reason, hint in ((np.isnan, "missing values (NaN)", "fill or drop them "
                                    "(for example with .fillna(...) or .dropna())"),
                                   (np.isinf, "infinite values", "replace or drop them")):
            bad = test(cols)
            found = [named(int(j), f"{int(bad[:, j].sum())} of {cols.shape[0]} rows, first at "
                                   f"row {int(np.argmax(bad[:, j]))}")
                     for j in np.flatnonzero(bad.any(axis=0))]
            if found:
                raise ValueError(f"{name}: {reason} in {where(found)}; {hint}")
    return arr


def real_array(value: Any, name: str) -> np.ndarray:
    """Any array-like of real numbers (bool, int, uint, float), as an ndarray.

    A pandas DataFrame (or Series) is read by position, its column names
    aside; one with non-numeric columns, or with missing or infinite values,
    is refused with a message naming those columns.
    """
    table = _table_columns(value)
    if table is not None:
        return _table_array(value, name, *table)
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


def _first_nonfinite(arr: np.ndarray) -> Optional[tuple[int, ...]]:
    """The index of the first NaN/Inf in row-major order, or None; the array is read a
    chunk of rows at a time, so the check (and its error) costs no memory in
    proportion to the array."""
    if arr.ndim == 0:
        return None if np.isfinite(arr) else ()
    step = max(1, _FINITE_CHUNK // max(1, arr[0].size)) if arr.ndim > 1 else _FINITE_CHUNK
    for start in range(0, arr.shape[0], step):
        chunk = arr[start:start + step]
        if not np.isfinite(chunk).all():
            first = np.argwhere(~np.isfinite(chunk))[0]
            return (start + int(first[0]),) + tuple(int(i) for i in first[1:])
    return None


def finite(arr: np.ndarray, name: str) -> None:
    bad = _first_nonfinite(arr)
    if bad is not None:
        where = ", ".join(str(i) for i in bad)
        raise ValueError(f"{name}: expected finite values, got {arr[bad]} at index ({where})")


def samples(value: Any, name: str, columns: int, dt: np.dtype, rows: Optional[int] = None,
            allow_1d: bool = False, check_finite: bool = True) -> np.ndarray:
    """A 2-D (rows, columns) C-contiguous array of dtype dt with finite values.

    allow_1d: a 1-D array is read as one column (for y when there is one output).
    check_finite=False leaves the NaN/Inf check to the caller (the native
    core's predict checks each chunk of rows as it reads it).
    """
    arr = real_array(value, name)
    if allow_1d and arr.ndim == 1 and columns == 1:
        arr = arr.reshape(-1, 1)
    if arr.ndim != 2:
        hint = " (use .reshape(-1, 1) for a single feature, .reshape(1, -1) for a single sample)"
        if allow_1d and arr.ndim == 1 and arr.dtype.kind in "iub":
            hint = (f" (these look like class labels: one-hot encode them, "
                    f"np.eye({columns})[{name}], or train with loss='cross_entropy' and a "
                    f"softmax output, which takes labels as they are)")
        elif allow_1d and arr.ndim == 1:
            hint = f" (one row of {columns} targets per sample)"
        raise ValueError(f"{name}: expected a 2-D array (samples, {columns}), got shape {arr.shape}"
                         + (hint if arr.ndim == 1 else ""))
    if arr.shape[0] == 0:
        raise ValueError(f"{name}: expected at least 1 row, got shape {arr.shape}")
    if arr.shape[1] != columns:
        raise ValueError(f"{name}: expected {columns} columns, got shape {arr.shape}")
    if rows is not None and arr.shape[0] != rows:
        raise ValueError(f"{name}: has {arr.shape[0]} rows but X has {rows}")
    if arr.dtype.kind == "f" and check_finite:
        finite(arr, name)
    with np.errstate(over="ignore"):
        out = np.ascontiguousarray(arr, dtype=dt)
    if arr.dtype.kind == "f" and arr.dtype.itemsize > out.dtype.itemsize and check_finite:
        finite(out, f"{name} (converted to {dt})")  # a narrower float may overflow to inf
    return out


def sample_weight(value: Any, rows: int, dt: np.dtype) -> np.ndarray:
    """One finite weight >= 0 per row of X, not all 0, as a C-contiguous array of dt."""
    arr = real_array(value, "sample_weight")
    if arr.shape != (rows,):
        raise ValueError(f"sample_weight: expected shape ({rows},) (one weight per row of X), "
                         f"got {arr.shape}")
    if arr.dtype.kind == "f":
        finite(arr, "sample_weight")
    with np.errstate(over="ignore"):
        out = np.ascontiguousarray(arr, dtype=dt)
    finite(out, f"sample_weight (converted to {dt})")
    if (out < 0).any():
        i = int(np.argmax(out < 0))
        raise ValueError(f"sample_weight: expected weights >= 0, got {out[i]} at index {i}")
    if not out.any():
        raise ValueError("sample_weight: the weights are all 0; at least one must be positive")
    return out


def iterations(m: int, epochs: int, batch_size: int) -> int:
    """Iterations per epoch of a fit, refusing a run of more than MAX_ELEMENTS iterations."""
    per_epoch = fit_iterations(m, 1, batch_size)
    if epochs * per_epoch > MAX_ELEMENTS:
        raise ValueError(f"epochs: {epochs} epochs of {per_epoch} iterations each is more "
                         f"than 2**62 iterations")
    return per_epoch


def loss_pairing(acts: Sequence[str], loss: Any, outputs: int) -> str:
    """The loss name, checked against the output activation it needs."""
    name = choice(loss, "loss", LOSSES)
    out = acts[-1]
    for i, a in enumerate(acts[:-1]):
        if a in OUTPUT_ACTIVATIONS:
            raise ValueError(f"activation: {a!r} is for the output layer only, got it on layer "
                             f"{i} of {len(acts)}")
    if name == "cross_entropy" and out != "softmax":
        raise ValueError(f"loss: 'cross_entropy' needs output_activation='softmax', got {out!r}")
    if out == "softmax" and name != "cross_entropy":
        raise ValueError(f"loss: a softmax output goes with loss='cross_entropy', got {name!r}")
    if name == "binary_cross_entropy" and out != "sigmoid":
        raise ValueError(f"loss: 'binary_cross_entropy' needs output_activation='sigmoid', "
                         f"got {out!r}")
    if out == "softmax" and outputs < 2:
        raise ValueError("output_activation: softmax over 1 output is always 1; use 2 or more "
                         "outputs, or a sigmoid output with loss='binary_cross_entropy'")
    return name


# How far from 1 a row of cross-entropy targets may sum (rounding of soft labels).
_ROW_SUM_TOLERANCE = 1e-6


def targets(value: Any, name: str, loss: str, outputs: int, dt: np.dtype, rows: int) -> np.ndarray:
    """y for a network with `outputs` outputs trained on `loss`, as (rows, outputs) of dtype dt.

    cross_entropy takes probability rows, or a 1-D array of integer class
    indices (made one-hot here); binary_cross_entropy takes values in [0, 1].
    """
    arr = real_array(value, name)
    if loss == "cross_entropy" and arr.ndim == 1 and arr.dtype.kind == "f" and outputs > 1:
        # Labels that came through pandas or a float array: whole numbers are
        # class labels, as integer ones are.
        whole = np.isfinite(arr).all() and bool((arr == np.round(arr)).all())
        if not whole:
            raise ValueError(f"{name}: expected class labels (whole numbers in [0, {outputs})) "
                             f"or a 2-D array (samples, {outputs}) of probabilities, got a 1-D "
                             f"float array with values that are not whole numbers")
        if arr.size and (arr.min() < 0 or arr.max() >= outputs):
            bad = np.flatnonzero((arr < 0) | (arr >= outputs))
            raise ValueError(f"{name}: class labels must be in [0, {outputs}) for a network "
                             f"with {outputs} outputs, got {arr[bad[0]]} at index {bad[0]}")
        arr = arr.astype(np.int64)
    if loss == "cross_entropy" and arr.ndim == 1 and arr.dtype.kind in "iu":
        if arr.shape[0] != rows:
            raise ValueError(f"{name}: has {arr.shape[0]} labels but X has {rows} rows")
        bad = np.flatnonzero((arr < 0) | (arr >= outputs))
        if bad.size:
            raise ValueError(f"{name}: class labels must be in [0, {outputs}) for a network "
                             f"with {outputs} outputs, got {arr[bad[0]]} at index {bad[0]}")
        onehot = np.zeros((rows, outputs), dtype=dt)
        onehot[np.arange(rows), arr] = 1
        return onehot
    t = samples(arr, name, outputs, dt, rows=rows, allow_1d=True)
    if loss == "binary_cross_entropy":
        lo, hi = float(t.min()), float(t.max())
        if lo < 0 or hi > 1:
            raise ValueError(f"{name}: binary_cross_entropy needs targets in [0, 1], got values "
                             f"in [{lo:.6g}, {hi:.6g}]")
    elif loss == "cross_entropy":
        if float(t.min()) < 0:
            bad = np.argwhere(t < 0)[0]
            raise ValueError(f"{name}: cross_entropy needs probability rows (>= 0, summing to "
                             f"1), got {t[tuple(bad)]} at index ({bad[0]}, {bad[1]})")
        sums = t.sum(axis=1, dtype=np.float64)
        off = np.flatnonzero(np.abs(sums - 1) > _ROW_SUM_TOLERANCE)
        if off.size:
            raise ValueError(f"{name}: cross_entropy needs rows that sum to 1 (one-hot or "
                             f"probabilities), row {off[0]} sums to {sums[off[0]]:.6g}; pass "
                             f"class labels as a 1-D integer array")
    return t


# The values each activation can output (None: unbounded), for the warning
# below; silu, gelu and mish dip slightly below zero.
OUTPUT_RANGES: dict[str, tuple[Optional[float], Optional[float]]] = {
    "sigmoid": (0.0, 1.0), "tanh": (-1.0, 1.0), "relu": (0.0, None), "softplus": (0.0, None),
    "elu": (-1.0, None), "silu": (-0.2785, None), "gelu": (-0.1700, None),
    "mish": (-0.3089, None),
}


def target_range(y: np.ndarray, activation: str) -> None:
    """Warn (once per call) when MSE targets lie where the output activation cannot reach."""
    lo, hi = OUTPUT_RANGES.get(activation, (None, None))
    y_lo, y_hi = float(y.min()), float(y.max())
    if (lo is not None and y_lo < lo) or (hi is not None and y_hi > hi):
        reach = f"[{lo if lo is not None else '-inf'}, {hi if hi is not None else 'inf'}]"
        warnings.warn(
            f"y: the targets lie in [{y_lo:.6g}, {y_hi:.6g}] but the output activation "
            f"{activation!r} only reaches {reach}, so the network cannot fit them; use "
            f"output_activation='linear' for regression, or scale the targets into {reach}",
            UserWarning, stacklevel=3)


def callback(fn: Any) -> Optional[Callable[[int, float], Any]]:
    """None or a callable that accepts (iteration, loss)."""
    if fn is None:
        return None
    checked: Callable[[int, float], Any] = fn
    if not callable(fn):
        raise TypeError(f"callback: expected a callable or None, got {_type_name(fn)} {fn!r}")
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):  # some builtins have no signature: let the call decide
        return checked
    try:
        sig.bind(0, 0.0)
    except TypeError:
        raise TypeError(f"callback: expected a function callback(iteration, loss) taking 2 "
                        f"arguments, got {getattr(fn, '__name__', _type_name(fn))}{sig}") from None
    return checked
