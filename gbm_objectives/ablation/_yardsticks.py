"""The yardsticks every row is scored with, whatever loss trained it."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import xlogy

from .._stats import weighted_mean

REGRESSION_METRICS = ("mae", "rmse", "tweedie_deviance", "poisson_deviance", "gini", "calibration")
#: Scores of a predicted distribution (NaN for point losses and baselines): mean
#: minus log-likelihood (log density, or log mass for counts and zeros), share of
#: labels inside the central 90% interval and its mean width.
DISTRIBUTION_METRICS = ("log_score", "coverage_90", "width_90")
#: The central interval the coverage and width are read from.
INTERVAL_COVERAGE = 0.9
CLASSIFICATION_METRICS = ("log_loss", "auc", "brier", "calibration")
#: Metrics where larger is better; calibration cannot rank rows.
_HIGHER_IS_BETTER = ("gini", "auc")
_RANKABLE = {
    "regression": ("mae", "rmse", "tweedie_deviance", "poisson_deviance", "gini", "log_score"),
    "binary": ("log_loss", "auc", "brier"),
}
#: Deviance yardsticks floor predictions at this multiple of the training mean.
FLOOR_FRACTION = 1e-3
_LOG_LOSS_EPS = 1e-15
_NO_WEIGHT = np.empty(0)


def _wmean(values: np.ndarray, w: np.ndarray | None) -> float:
    """Weighted mean (the losses' convention); NaN for a fold whose weights are all zero."""
    if w is None:
        return weighted_mean(values, _NO_WEIGHT)
    return weighted_mean(values, w) if float(np.sum(w)) > 0.0 else float("nan")


def _unit_tweedie_deviance(y: np.ndarray, mu: np.ndarray, power: float) -> np.ndarray:
    """Full unit deviance ``2 (half deviance)``, the convention of sklearn's mean_tweedie_deviance."""
    if power == 1.0:
        return 2.0 * (xlogy(y, y / mu) - y + mu)
    p = power
    return 2.0 * (np.power(y, 2.0 - p) / ((1.0 - p) * (2.0 - p)) - y * np.power(mu, 1.0 - p) / (1.0 - p)
                  + np.power(mu, 2.0 - p) / (2.0 - p))


def _gini(y: np.ndarray, score: np.ndarray, w: np.ndarray | None) -> float:
    """Gini of the Lorenz curve of ``y`` ordered by decreasing ``score``; tied scores share a segment."""
    ww = np.ones_like(y) if w is None else w
    frame = pd.DataFrame({"s": score, "w": ww, "wy": ww * y}).groupby("s", sort=True).sum().iloc[::-1]
    total_w, total_wy = float(frame["w"].sum()), float(frame["wy"].sum())
    if total_w <= 0.0 or total_wy == 0.0:
        return float("nan")
    x = np.concatenate(([0.0], np.cumsum(frame["w"].to_numpy()) / total_w))
    lorenz = np.concatenate(([0.0], np.cumsum(frame["wy"].to_numpy()) / total_wy))
    area = float(np.sum(np.diff(x) * (lorenz[1:] + lorenz[:-1]) / 2.0))
    return 2.0 * area - 1.0


def _normalized_gini(y: np.ndarray, pred: np.ndarray, w: np.ndarray | None) -> float:
    best = _gini(y, y, w)
    if not math.isfinite(best) or best == 0.0:
        return float("nan")
    return _gini(y, pred, w) / best


def _regression_scores(y, pred, w, deviance_power, floor) -> tuple[dict[str, float], int]:
    err = pred - y
    mean_y = _wmean(y, w)
    nan = float("nan")
    if deviance_power is None:  # negative labels: the deviances are undefined
        tweedie_dev = poisson_dev = nan
        n_floored = 0
    else:
        mu = np.maximum(pred, floor)
        n_floored = int(np.count_nonzero(pred < floor))
        tweedie_dev = _wmean(_unit_tweedie_deviance(y, mu, deviance_power), w)
        poisson_dev = _wmean(_unit_tweedie_deviance(y, mu, 1.0), w)
    scores = {
        "mae": _wmean(np.abs(err), w),
        "rmse": math.sqrt(_wmean(err * err, w)),
        "tweedie_deviance": tweedie_dev,
        "poisson_deviance": poisson_dev,
        "gini": _normalized_gini(y, pred, w),
        # A ratio to the mean label says something only for non-negative targets: with negative labels
        # (deviance_power None) the mean can sit near 0 and the ratio anywhere.
        "calibration": _wmean(pred, w) / mean_y if mean_y > 0.0 and deviance_power is not None else nan,
    }
    return scores, n_floored


def _classification_scores(y, prob, w) -> tuple[dict[str, float], int]:
    from sklearn.metrics import roc_auc_score

    p = np.clip(prob, _LOG_LOSS_EPS, 1.0 - _LOG_LOSS_EPS)
    mean_y = _wmean(y, w)
    auc = float("nan")
    if np.unique(y).shape[0] == 2:  # a fold with one class has no AUC
        auc = float(roc_auc_score(y, prob, sample_weight=w))
    scores = {
        "log_loss": _wmean(-(y * np.log(p) + (1.0 - y) * np.log1p(-p)), w),
        "auc": auc,
        "brier": _wmean((prob - y) ** 2, w),
        "calibration": _wmean(prob, w) / mean_y if mean_y != 0.0 else float("nan"),
    }
    return scores, 0


def _check_metric(metric: Any, task: str) -> str:
    default = "mae" if task == "regression" else "log_loss"
    if metric is None:
        return default
    if metric not in _RANKABLE[task]:
        raise ValueError(f"metric for {task} losses must be one of {', '.join(map(repr, _RANKABLE[task]))}; "
                         f"got {metric!r}")
    return metric


def distribution_scores(dist: Any, y: np.ndarray, w: np.ndarray | None) -> dict[str, float]:
    """:data:`DISTRIBUTION_METRICS` of predicted distributions at held-out labels
    (NaN for a fold whose weights are all zero, as every yardstick)."""
    from ..distributions.scores import interval_coverage, log_score

    if w is not None and not float(np.sum(w)) > 0.0:
        return no_distribution_scores()
    coverage = interval_coverage(dist, y, INTERVAL_COVERAGE, sample_weight=w)
    return {
        "log_score": log_score(dist, y, sample_weight=w),
        "coverage_90": coverage.observed,
        "width_90": coverage.mean_width,
    }


def no_distribution_scores() -> dict[str, float]:
    """The distribution yardsticks of a point prediction: undefined."""
    return dict.fromkeys(DISTRIBUTION_METRICS, float("nan"))
