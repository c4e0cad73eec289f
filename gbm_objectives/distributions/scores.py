"""Scores of predictive distributions against what was observed.

Each function takes a :class:`~gbm_objectives.distributions.Distribution`
with one row per observation and the observations ``y``:

- :func:`log_score` and :func:`crps`: proper scores (lower is better), the
  weighted means of ``-logpdf(y)`` and of the CRPS;
- :func:`pit`, :func:`pit_histogram` and :func:`calibration_table`: the
  probability integral transform ``F(y)``, uniform on [0, 1] exactly when the
  distributions are calibrated (randomised where ``Y`` has point masses, so
  that this holds for counts and zero-heavy data too);
- :func:`interval_coverage`: how often central intervals hold ``y``, and how wide they are;
- :func:`zero_calibration`: predicted ``P(y = 0)`` against the observed share of zeros.

Labels outside a distribution's support, NaN or infinite labels, shapes that
do not match the rows and bad weights raise ``ValueError``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy import special

from .._stats import tame_weight, weighted_mean
from .._validation import as_float_array, check_choice, check_sample_weight, check_scalar
from ._base import Distribution

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "log_score",
    "crps",
    "pit",
    "PITHistogram",
    "pit_histogram",
    "calibration_table",
    "IntervalCoverage",
    "interval_coverage",
    "zero_calibration",
]

#: Nominal levels of :func:`calibration_table` when none are given.
_LEVELS = (0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95)


# -- input checks ------------------------------------------------------------------
def _check_distribution(dist: Any) -> Distribution:
    if not isinstance(dist, Distribution):
        raise ValueError(f"dist must be a Distribution (e.g. loss.distribution(params)), got {type(dist).__name__}")
    if len(dist) == 0:
        raise ValueError("dist has no rows to score")
    return dist


def _check_labels(dist: Distribution, y: Any) -> np.ndarray:
    """``y`` as float64, one finite label per row of ``dist``, inside its support."""
    arr = np.asarray(as_float_array(y, "y"), dtype=np.float64)
    if arr.shape[0] != len(dist):
        raise ValueError(f"y has {arr.shape[0]} labels but dist has {len(dist)} rows; give one label per row")
    outside = ~dist.support.contains(arr)
    bad = int(np.count_nonzero(outside))
    if bad:
        first = int(np.flatnonzero(outside)[0])
        raise ValueError(
            f"{bad} of {arr.shape[0]} labels lie outside the support of the {dist.name or type(dist).__name__} "
            f"distribution ({dist.support}), e.g. y[{first}] = {arr[first]:g}"
        )
    return arr


def _check_weight(sample_weight: Any, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Validated float64 weights, one per row (ones when none are given), as given and rescaled.

    Shares and means use the rescaled weights (an exact power of two, which
    keeps sums of huge or tiny weights finite); totals reported use them as given.
    """
    w = check_sample_weight(sample_weight, n)
    w = np.ones(n) if w.shape[0] == 0 else np.asarray(w, np.float64)
    return w, np.asarray(tame_weight(w), np.float64)


def _check_bins(bins: Any) -> int:
    if isinstance(bins, bool) or not isinstance(bins, (int, np.integer)) or bins < 2:
        raise ValueError(f"bins must be an integer >= 2, got {bins!r}")
    return int(bins)


def _require_finite(values: np.ndarray, what: str) -> None:
    bad = int(np.count_nonzero(np.isnan(values)))
    if bad:
        raise ValueError(f"{what} is NaN for {bad} row(s); check the distribution's parameters")


def _mean(values: np.ndarray, w: np.ndarray) -> float:
    """Weighted mean; rows of weight 0 take no part (their score may be infinite)."""
    keep = w > 0.0
    values, w = values[keep], w[keep]
    if np.isposinf(values).any():
        return math.inf
    return weighted_mean(values, w)


def _n_effective(w: np.ndarray) -> float:
    """Kish's effective sample size: the number of equal weights with the same sampling variance."""
    return float(w.sum() ** 2 / np.dot(w, w))


# -- proper scores -----------------------------------------------------------------
def log_score(dist: Distribution, y: Any, sample_weight: Any = None) -> float:
    """Weighted mean of ``-dist.logpdf(y)`` (the negative log-likelihood per row; lower is better).

    For counts and for a point mass at zero this is minus the log
    probability, as in the losses; ``inf`` where a label has zero density.

    Parameters
    ----------
    dist : Distribution
        One predictive distribution per observation.
    y : array-like of shape (n,)
        Observations, inside the distribution's support.
    sample_weight : array-like of shape (n,), optional

    Returns
    -------
    float
    """
    dist = _check_distribution(dist)
    y = _check_labels(dist, y)
    _, w = _check_weight(sample_weight, y.shape[0])
    score = -dist.logpdf(y)
    _require_finite(score, "the log density")
    return _mean(score, w)


def crps(dist: Distribution, y: Any, sample_weight: Any = None) -> float:
    """Weighted mean of the continuous ranked probability score (in the units of ``y``; lower is better).

    ``CRPS(F, y) = integral (F(t) - 1{t >= y})^2 dt``: closed forms where the
    family has one, numeric integration otherwise (see :meth:`Distribution.crps`).

    Parameters
    ----------
    dist : Distribution
    y : array-like of shape (n,)
    sample_weight : array-like of shape (n,), optional

    Returns
    -------
    float
    """
    dist = _check_distribution(dist)
    y = _check_labels(dist, y)
    _, w = _check_weight(sample_weight, y.shape[0])
    score = dist.crps(y)
    _require_finite(score, "the CRPS")
    return _mean(score, w)


# -- probability integral transform --------------------------------------------------
def pit(dist: Distribution, y: Any, random_state: Any = None) -> np.ndarray:
    """Probability integral transform ``u = F(y)`` of every row, randomised at point masses.

    Where ``Y`` has a point mass at ``y`` (counts, or the zeros of a hurdle
    or compound Poisson family), ``u = F(y-) + V (F(y) - F(y-))`` with ``V``
    uniform on [0, 1], so that ``u`` is exactly uniform when the
    distributions are right; elsewhere ``u = F(y)``.

    Parameters
    ----------
    dist : Distribution
    y : array-like of shape (n,)
    random_state : None, int or numpy Generator
        Source of ``V`` (drawn only for distributions with point masses).

    Returns
    -------
    array of shape (n,) with values in [0, 1]
    """
    dist = _check_distribution(dist)
    y = _check_labels(dist, y)
    return _pit(dist, y, random_state)


def _pit(dist: Distribution, y: np.ndarray, random_state: Any) -> np.ndarray:
    upper = dist.cdf(y)
    _require_finite(upper, "the cdf")
    if dist.discrete:
        mass = dist.pdf(y)
    elif dist.has_atom_at_zero:
        mass = np.where(y == 0.0, dist.prob_zero(), 0.0)
    else:
        return upper
    _require_finite(mass, "the probability of the label")
    lower = np.clip(upper - mass, 0.0, upper)
    v = np.random.default_rng(random_state).random(y.shape[0])
    return lower + v * (upper - lower)


@dataclass(frozen=True)
class PITHistogram:
    """A histogram of PIT values on equal bins of [0, 1] (see :func:`pit_histogram`).

    Attributes
    ----------
    edges : array of shape (bins + 1,)
    counts : array of shape (bins,)
        Rows per bin (summed weights when weighted).
    density : array of shape (bins,)
        ``counts`` as a density on [0, 1]: 1 in every bin for a flat histogram.
    calibration_error : float
        Half the summed absolute difference between the bins' shares and
        ``1 / bins``: the share of rows that would have to move for the
        histogram to be flat (0 = flat, up to 1 - 1 / bins).
    chi2, p_value : float
        Pearson's statistic against the uniform, on the effective number of
        rows, and its p-value (bins - 1 degrees of freedom): a small p-value
        is miscalibration beyond sampling error.
    n_effective : float
        Rows, or Kish's effective number of rows when weighted.
    values : array of shape (n,)
        The PIT values themselves.
    """

    edges: np.ndarray
    counts: np.ndarray
    density: np.ndarray
    calibration_error: float
    chi2: float
    p_value: float
    n_effective: float
    values: np.ndarray


def pit_histogram(dist: Distribution, y: Any, bins: int = 10, *, sample_weight: Any = None,
                  random_state: Any = None) -> PITHistogram:
    """Histogram of the (randomised) PIT on ``bins`` equal bins, with measures of its flatness.

    Calibrated distributions give a flat histogram; too narrow ones a U
    shape (observations fall in the tails), too wide ones a hump, biased
    ones a slope.

    Parameters
    ----------
    dist : Distribution
    y : array-like of shape (n,)
    bins : int >= 2, default 10
    sample_weight : array-like of shape (n,), optional
    random_state : None, int or numpy Generator
        Source of the randomisation at point masses (see :func:`pit`).

    Returns
    -------
    PITHistogram
    """
    dist = _check_distribution(dist)
    y = _check_labels(dist, y)
    bins = _check_bins(bins)
    raw, w = _check_weight(sample_weight, y.shape[0])
    u = _pit(dist, y, random_state)
    edges = np.linspace(0.0, 1.0, bins + 1)
    index = np.minimum((u * bins).astype(np.int64), bins - 1)
    counts = np.bincount(index, weights=raw, minlength=bins)
    share = np.bincount(index, weights=w, minlength=bins) / w.sum()
    n_eff = _n_effective(w)
    chi2 = float(n_eff * bins * np.sum((share - 1.0 / bins) ** 2))
    return PITHistogram(
        edges=edges,
        counts=counts,
        density=share * bins,
        calibration_error=float(0.5 * np.abs(share - 1.0 / bins).sum()),
        chi2=chi2,
        p_value=float(special.chdtrc(bins - 1, chi2)),
        n_effective=n_eff,
        values=u,
    )


def calibration_table(dist: Distribution, y: Any, levels: Any = None, *, sample_weight: Any = None,
                      random_state: Any = None) -> pd.DataFrame:
    """Observed share of PIT values at or below each nominal level (quantile calibration).

    At level ``a`` the observed share is how often ``y`` fell at or below the
    predicted ``a``-quantile (with the randomisation of :func:`pit` at
    point masses, so a calibrated model has share ``a`` exactly in
    expectation, counts included).

    Parameters
    ----------
    dist : Distribution
    y : array-like of shape (n,)
    levels : array-like of levels in (0, 1), optional
        Default 0.05, 0.1, 0.2, ..., 0.9, 0.95.
    sample_weight : array-like of shape (n,), optional
    random_state : None, int or numpy Generator

    Returns
    -------
    DataFrame
        One row per level: ``level``, ``observed``, ``difference``
        (observed - level) and ``std_error`` (the sampling standard error of
        ``observed`` for a calibrated model). ``df.attrs["max_abs_difference"]``
        is the largest absolute difference.
    """
    import pandas as pd

    dist = _check_distribution(dist)
    y = _check_labels(dist, y)
    _, w = _check_weight(sample_weight, y.shape[0])
    levels = as_float_array(_LEVELS if levels is None else levels, "levels")
    if levels.shape[0] == 0 or float(levels.min()) <= 0.0 or float(levels.max()) >= 1.0:
        raise ValueError(f"levels must be a non-empty list of numbers in (0, 1), got {levels.tolist()}")
    levels = np.asarray(levels, np.float64)
    u = _pit(dist, y, random_state)
    total = w.sum()
    observed = np.array([w[u <= a].sum() / total for a in levels])
    std_error = np.sqrt(levels * (1.0 - levels) / _n_effective(w))
    out = pd.DataFrame({"level": levels, "observed": observed, "difference": observed - levels,
                        "std_error": std_error})
    out.attrs["max_abs_difference"] = float(np.abs(out["difference"]).max())
    return out


# -- intervals and zeros -----------------------------------------------------------
@dataclass(frozen=True)
class IntervalCoverage:
    """How often central prediction intervals hold the observation (see :func:`interval_coverage`).

    Attributes
    ----------
    nominal : float
        The intervals' coverage, e.g. 0.9.
    observed : float
        Share of rows with ``low <= y <= high``.
    below, above : float
        Shares with ``y < low`` and ``y > high`` (each ``(1 - nominal) / 2`` when calibrated).
    mean_width : float
        Mean of ``high - low``.
    """

    nominal: float
    observed: float
    below: float
    above: float
    mean_width: float


def interval_coverage(dist: Distribution, y: Any, coverage: float = 0.9, *,
                      sample_weight: Any = None) -> IntervalCoverage:
    """Share of observations inside the central intervals ``dist.interval(coverage)``, and their width.

    For counts the closed intervals hold at least ``coverage`` of the mass,
    so their observed coverage is at least nominal in expectation.

    Parameters
    ----------
    dist : Distribution
    y : array-like of shape (n,)
    coverage : float in (0, 1), default 0.9
    sample_weight : array-like of shape (n,), optional

    Returns
    -------
    IntervalCoverage
    """
    dist = _check_distribution(dist)
    y = _check_labels(dist, y)
    coverage = check_scalar(coverage, "coverage", low=0.0, high=1.0, low_inclusive=False, high_inclusive=False)
    _, w = _check_weight(sample_weight, y.shape[0])
    bounds = dist.interval(coverage)
    _require_finite(bounds, "the interval")
    below, above = y < bounds[:, 0], y > bounds[:, 1]
    total = w.sum()
    return IntervalCoverage(
        nominal=coverage,
        observed=float(w[~(below | above)].sum() / total),
        below=float(w[below].sum() / total),
        above=float(w[above].sum() / total),
        mean_width=_mean(bounds[:, 1] - bounds[:, 0], w),
    )


def zero_calibration(dist: Distribution, y: Any, bins: int = 10, *, sample_weight: Any = None,
                     strategy: str = "quantile") -> pd.DataFrame:
    """Reliability table of predicted ``P(y = 0)`` against the observed share of zeros.

    Rows are grouped by their predicted probability of zero (``dist.prob_zero()``);
    in each group the mean prediction is set against the share of labels
    equal to 0. Calibrated predictions lie on the diagonal within a few
    ``std_error``.

    Parameters
    ----------
    dist : Distribution
    y : array-like of shape (n,)
    bins : int >= 2, default 10
        Number of groups (fewer where predictions tie).
    sample_weight : array-like of shape (n,), optional
    strategy : {"quantile", "uniform"}, default "quantile"
        Groups of equal size (by rank of the predictions; tied predictions
        stay in one group) or of equal width on [0, 1].

    Returns
    -------
    DataFrame
        One row per non-empty group: ``low`` and ``high`` (the group's range
        of predictions), ``rows``, ``weight``, ``predicted`` (mean predicted
        P(y = 0)), ``observed`` (share of zeros) and ``std_error`` (the
        sampling standard error of ``observed`` were ``predicted`` right).
        ``df.attrs`` holds ``mean_predicted`` and ``observed_share`` (over
        all rows) and ``calibration_error`` (the weight-averaged
        ``|predicted - observed|`` over groups).
    """
    import pandas as pd

    dist = _check_distribution(dist)
    y = _check_labels(dist, y)
    bins = _check_bins(bins)
    check_choice(strategy, "strategy", ("quantile", "uniform"))
    raw, w = _check_weight(sample_weight, y.shape[0])
    p = dist.prob_zero()
    _require_finite(p, "P(y = 0)")
    keep = w > 0.0
    p, zero, w, raw = p[keep], (y[keep] == 0.0).astype(np.float64), w[keep], raw[keep]
    if strategy == "quantile":
        # Equal numbers of rows by rank; tied predictions share the rank of
        # the first of them, so a tie never straddles two groups.
        rank = np.searchsorted(np.sort(p), p, side="left")
        group = rank * bins // p.shape[0]
    else:
        group = np.minimum((p * bins).astype(np.int64), bins - 1)
    n_groups = bins
    weight = np.bincount(group, weights=w, minlength=n_groups)
    rows = np.bincount(group, minlength=n_groups)
    used = rows > 0
    safe = np.where(used, weight, 1.0)
    predicted = np.bincount(group, weights=w * p, minlength=n_groups) / safe
    observed = np.bincount(group, weights=w * zero, minlength=n_groups) / safe
    variance = np.bincount(group, weights=w * w * p * (1.0 - p), minlength=n_groups)
    low = np.array([p[group == g].min() if rows[g] else np.nan for g in range(n_groups)])
    high = np.array([p[group == g].max() if rows[g] else np.nan for g in range(n_groups)])
    out = pd.DataFrame({
        "low": low, "high": high, "rows": rows, "weight": np.bincount(group, weights=raw, minlength=n_groups),
        "predicted": predicted, "observed": observed, "std_error": np.sqrt(variance) / safe,
    })[used].reset_index(drop=True)
    total = w.sum()
    out.attrs["mean_predicted"] = float(np.dot(w, p) / total)
    out.attrs["observed_share"] = float(np.dot(w, zero) / total)
    out.attrs["calibration_error"] = float(np.dot(weight[used], np.abs(predicted - observed)[used]) / total)
    out.attrs["strategy"] = strategy
    return out
