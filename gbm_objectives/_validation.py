"""Boundary checks: every public entry point validates here, kernels never do."""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np
from numba import njit

from .kernels._common import JIT

EMPTY_WEIGHT = np.empty(0, dtype=np.float64)
_FLOAT_KINDS = (np.float32, np.float64)


@njit(**JIT)
def _count_nonfinite(flat):
    count = 0
    for i in range(flat.shape[0]):
        if not math.isfinite(flat[i]):
            count += 1
    return count


def count_nonfinite(values: np.ndarray) -> int:
    """Number of NaN or infinite entries, without allocating a mask."""
    flat = values.reshape(-1)
    if flat.dtype.kind != "f":
        return 0
    return int(_count_nonfinite(flat))


def as_float_array(values: Any, name: str, *, ndim: int | tuple[int, ...] = 1) -> np.ndarray:
    """Return ``values`` as a C-contiguous float32/float64 array with no NaN or inf.

    float32 and float64 inputs are kept as they are (no copy when already
    contiguous); anything else is converted to float64.
    """
    try:
        arr = np.asarray(values)
    except Exception as exc:  # pragma: no cover - numpy's own message is kept
        raise ValueError(f"{name} could not be converted to an array: {exc}") from exc
    if arr.dtype.kind == "O" or arr.dtype.kind in "USV":
        try:
            arr = arr.astype(np.float64)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{name} must be numeric, got dtype {arr.dtype}") from exc
    if arr.dtype.kind not in "biuf":
        raise ValueError(f"{name} must be numeric, got dtype {arr.dtype}")
    if arr.dtype not in _FLOAT_KINDS:
        arr = arr.astype(np.float64)
    arr = np.ascontiguousarray(arr)
    allowed = (ndim,) if isinstance(ndim, int) else ndim
    if arr.ndim not in allowed:
        want = " or ".join(f"{d}-D" for d in allowed)
        raise ValueError(f"{name} must be {want}, got shape {arr.shape}")
    bad = count_nonfinite(arr)
    if bad:
        raise ValueError(f"{name} contains {bad} NaN or infinite value(s); all values must be finite")
    return arr


def check_sample_weight(sample_weight: Any, n_rows: int) -> np.ndarray:
    """Validated weights (finite, >= 0, not all zero), or an empty array for none."""
    if sample_weight is None:
        return EMPTY_WEIGHT
    w = as_float_array(sample_weight, "sample_weight")
    if w.shape[0] != n_rows:
        raise ValueError(f"sample_weight has {w.shape[0]} entries but there are {n_rows} rows")
    if n_rows and float(w.min()) < 0.0:
        raise ValueError("sample_weight must be non-negative")
    if n_rows and float(w.sum()) <= 0.0:
        raise ValueError("sample_weight must have a positive sum")
    return w


def check_scalar(
    value: Any,
    name: str,
    *,
    low: float | None = None,
    high: float | None = None,
    low_inclusive: bool = True,
    high_inclusive: bool = True,
) -> float:
    """A finite real parameter inside its documented range."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f"{name} must be a real number, got {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    lo_ok = low is None or (value >= low if low_inclusive else value > low)
    hi_ok = high is None or (value <= high if high_inclusive else value < high)
    if not (lo_ok and hi_ok):
        left = "-inf" if low is None else f"{low:g}"
        right = "inf" if high is None else f"{high:g}"
        bracket = ("[" if low_inclusive and low is not None else "(") + f"{left}, {right}"
        bracket += "]" if high_inclusive and high is not None else ")"
        raise ValueError(f"{name} must be in {bracket}, got {value:g}")
    return value


def check_choice(value: Any, name: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}; got {value!r}")
    return value


def group_offsets(group: Any, n_rows: int) -> np.ndarray:
    """Group boundaries from group sizes or from one query id per row.

    An array with one entry per row is read as query ids, which must be
    contiguous (all rows of a query together); any other length as group sizes,
    which must be positive and sum to the number of rows.
    """
    if group is None:
        raise ValueError("this loss needs groups: pass group sizes or one query id per row")
    g = np.asarray(group)
    if g.ndim != 1 or g.dtype.kind not in "biuf" or g.size == 0:
        raise ValueError("group must be a non-empty 1-D array of group sizes or query ids")
    if g.dtype.kind == "f" and (count_nonfinite(g) or np.any(g != np.round(g))):
        raise ValueError("group must hold whole numbers (group sizes or query ids)")
    g = g.astype(np.int64)
    if g.shape[0] == n_rows:
        change = np.flatnonzero(g[1:] != g[:-1]) + 1
        starts = np.concatenate(([0], change))
        if np.unique(g[starts]).shape[0] != starts.shape[0]:
            raise ValueError("query ids in group must be contiguous: all rows of a query together")
        return np.concatenate((starts, [n_rows])).astype(np.int64)
    if np.any(g <= 0):
        raise ValueError("group sizes must be positive")
    if int(g.sum()) != n_rows:
        raise ValueError(f"group sizes sum to {int(g.sum())} but there are {n_rows} rows")
    return np.concatenate(([0], np.cumsum(g))).astype(np.int64)


def check_label_range(label_range: Any) -> tuple[float | None, float | None]:
    """``(low, high)`` with None for an open end; a ValueError names what is wrong."""
    if label_range is None:
        return None, None
    message = f"label_range must be None or (low, high) with low < high, either end None; got {label_range!r}"
    if isinstance(label_range, (str, bytes)) or not hasattr(label_range, "__len__") or len(label_range) != 2:
        raise ValueError(message)
    ends: list[float | None] = []
    for end in label_range:
        if end is None:
            ends.append(None)
            continue
        if isinstance(end, bool) or not isinstance(end, numbers.Real) or not np.isfinite(end):
            raise ValueError(message)
        ends.append(float(end))
    if ends[0] is not None and ends[1] is not None and not ends[0] < ends[1]:
        raise ValueError(message)
    return ends[0], ends[1]
