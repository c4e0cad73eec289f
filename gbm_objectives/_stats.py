"""Weighted statistics shared by the losses and the ablation: exact under
extreme weights (rescaled by powers of two, never overflowing their sums)."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

#: Weights with their largest entry outside [2**-100, 2**100] are rescaled
#: (exactly, by a power of two) before they are summed.
_WEIGHT_RANGE = (2.0**-100, 2.0**100)


def pow2_exponent(top: float) -> int:
    """``e`` such that ``top * 2**-e`` is in [0.5, 1), for a positive, finite ``top``."""
    return math.frexp(top)[1]


def tame_weight(weight: np.ndarray) -> np.ndarray:
    """``weight`` rescaled by a power of two when its largest entry is huge or tiny.

    Weighted means, quantiles and minimisers do not change when every weight
    is multiplied by the same factor, and a power of two changes no rounding;
    but sums of weights near 1e308 overflow (a mean of 0 or NaN) and products
    of tiny weights underflow. Weights in the ordinary range are returned as
    they are, so results there are unchanged to the last bit.
    """
    if weight.shape[0] == 0:
        return weight
    top = float(weight.max())
    if top <= 0.0 or _WEIGHT_RANGE[0] <= top <= _WEIGHT_RANGE[1]:
        return weight
    return np.ldexp(np.asarray(weight, np.float64), -pow2_exponent(top))


def drop_zero_weight(
    y: np.ndarray, margin: np.ndarray, weight: np.ndarray, offsets: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    """The rows (or groups) of positive weight.

    A row of weight 0 adds nothing to a weighted sum, except where its own
    loss overflows: then ``0 * inf`` is NaN. Dropping the row first changes no
    other partial sum.
    """
    if offsets is None:
        keep = weight > 0.0
        return y[keep], margin[keep], weight[keep], None
    sizes = np.diff(offsets)
    keep_group = weight[offsets[:-1]] > 0.0
    keep = np.repeat(keep_group, sizes)
    new_offsets = np.concatenate(([0], np.cumsum(sizes[keep_group]))).astype(offsets.dtype)
    return y[keep], margin[keep], weight[keep], new_offsets


def weighted_quantile(y: np.ndarray, weight: np.ndarray, alpha: float) -> float:
    """Smallest label at which the weighted share of labels at or below reaches ``alpha``.

    This is a minimiser of the weighted pinball loss at level ``alpha``.
    """
    order = np.argsort(y, kind="stable")
    ys = np.asarray(y, dtype=np.float64)[order]
    w = np.ones_like(ys) if weight.shape[0] == 0 else np.asarray(tame_weight(weight), np.float64)[order]
    cum = np.cumsum(w)
    idx = int(np.searchsorted(cum, alpha * cum[-1], side="left"))
    return float(ys[min(idx, ys.shape[0] - 1)])


def weighted_mean(y: np.ndarray, weight: np.ndarray) -> float:
    """Weighted mean of ``y``; finite for any finite labels and weights.

    Labels near the float64 maximum overflow the plain sum; they are then
    averaged after an exact power-of-two rescaling. The mean is kept inside
    [min(y), max(y)], where it belongs, against the last rounding.
    """
    y64 = np.asarray(y, np.float64)
    w = tame_weight(weight)
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        mean = float(np.mean(y64)) if w.shape[0] == 0 else float(np.average(y64, weights=w))
        if not math.isfinite(mean):
            exponent = pow2_exponent(float(np.abs(y64).max()))
            scaled = np.ldexp(y64, -exponent)
            mean = float(np.mean(scaled)) if w.shape[0] == 0 else float(np.average(scaled, weights=w))
            # np.ldexp (inf on overflow, clamped below), not math.ldexp, which
            # raises when the rescaled mean rounds just past the float64 maximum.
            mean = float(np.ldexp(mean, exponent))
    # Rounding (or products of subnormal labels and weights) can step outside.
    return min(max(mean, float(y64.min())), float(y64.max()))


def objective_weight(weight: np.ndarray, n_rows: int) -> np.ndarray:
    """Weights for a summed objective that must not overflow: rescaled by a
    power of two so that they sum to at most 1, which makes the sum no larger
    than the largest row's loss and leaves every minimiser (and every
    comparison of objective values) exactly as it was."""
    w = np.ones(n_rows) if weight.shape[0] == 0 else np.asarray(weight, np.float64)
    return np.ldexp(w, -pow2_exponent(float(w.max())) - max(0, math.ceil(math.log2(n_rows))))


def minimize_1d(fun: Callable[[float], float], low: float, high: float) -> float:
    """Global minimum of a 1-D function on [low, high]: a grid, then Brent's method
    in the cell around the best grid point (robust for non-convex focal loss)."""
    from scipy.optimize import minimize_scalar

    if high <= low:
        return float(low)
    width = high - low
    if math.isfinite(width):
        grid = np.linspace(low, high, 61)
    else:
        # Labels spanning more than the float64 range: interpolate without
        # forming high - low.
        t = np.linspace(0.0, 1.0, 61)
        grid = low * (1.0 - t) + high * t
        grid[0], grid[-1] = low, high
        width = 0.5 * abs(high) + 0.5 * abs(low)
    with np.errstate(over="ignore", invalid="ignore"):
        values = np.array([fun(float(c)) for c in grid])
    best = int(np.argmin(values))
    lo = grid[max(best - 1, 0)]
    hi = grid[min(best + 1, grid.shape[0] - 1)]
    # Brent's arithmetic can overflow harmlessly when labels are near 1e300.
    with np.errstate(over="ignore", invalid="ignore"):
        res = minimize_scalar(fun, bounds=(lo, hi), method="bounded",
                              options={"xatol": 1e-12 * max(1.0, width)})
    return float(res.x) if res.fun <= values[best] else float(grid[best])


def weighted_median(x: np.ndarray, weight: np.ndarray | None) -> float:
    """Median of ``x``: NumPy's (midpoint) median without weights, else the
    weighted median of :func:`weighted_quantile`."""
    if weight is None or weight.shape[0] == 0:
        return float(np.median(x))
    return weighted_quantile(x, weight, 0.5)
