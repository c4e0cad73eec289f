"""Candidate losses read from the target's shape alone, each with the reason."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .._validation import as_float_array
from ..losses import Loss, parse_loss
from ._specs import loss_label

#: Huber's delta in robust standard deviations of the residuals.
_SCALE_FREE = "robust"


@dataclass(frozen=True)
class LossAdvice:
    """One candidate loss: its spec (for :func:`parse_loss`) and why it is proposed."""

    spec: str
    reason: str

    @property
    def loss(self) -> Loss:
        return parse_loss(self.spec)


def describe_target(y: Any) -> dict[str, Any]:
    """The properties of a target that :func:`recommend_losses` reads.

    Returns
    -------
    dict
        ``n``, ``min``, ``max``, ``mean``, ``median``, ``zero_share``,
        ``negative_share``, ``skewness``, ``excess_kurtosis``,
        ``outlier_share`` (beyond 5 robust standard deviations of the median,
        ``1.4826 MAD``), ``robust_scale``, ``is_integer``, ``is_binary`` and
        ``minority_share`` (binary targets, else None).
    """
    arr = as_float_array(y, "y").astype(np.float64)
    if arr.shape[0] < 2:
        raise ValueError("y needs at least 2 values")
    from scipy.stats import kurtosis, skew

    median = float(np.median(arr))
    mad = float(np.median(np.abs(arr - median))) * 1.4826
    if mad == 0.0:
        # More than half the labels equal the median (e.g. zeros): fall back to the spread of the rest.
        rest = arr[arr != median]
        mad = float(np.median(np.abs(rest - median))) * 1.4826 if rest.size else 0.0
    constant = float(arr.max()) == float(arr.min())
    is_binary = bool(np.isin(arr, (0.0, 1.0)).all() and not constant)
    return {
        "n": int(arr.shape[0]),
        "min": float(arr.min()),
        "max": float(arr.max()),
        "mean": float(arr.mean()),
        "median": median,
        "zero_share": float(np.mean(arr == 0.0)),
        "negative_share": float(np.mean(arr < 0.0)),
        "skewness": 0.0 if constant else float(skew(arr)),
        "excess_kurtosis": 0.0 if constant else float(kurtosis(arr)),
        "outlier_share": float(np.mean(np.abs(arr - median) > 5.0 * mad)) if mad > 0.0 else 0.0,
        "robust_scale": mad,
        "is_integer": bool(np.all(arr == np.round(arr))),
        "is_binary": is_binary,
        "minority_share": float(min(arr.mean(), 1.0 - arr.mean())) if is_binary else None,
    }


def recommend_losses(y: Any) -> list[LossAdvice]:
    """Candidate losses for a target, each with the reason, from the target's shape alone.

    Follows the practical guidelines: the default (squared error, or
    logistic for 0/1 labels) is always first, as the reference to beat;
    zero-inflated or right-skewed non-negative targets get Tweedie (start at
    power 1.5, search [1.1, 1.9]); non-negative integer counts get Poisson;
    positive skewed targets get Gamma; heavy tails or outliers that are
    symmetric or reach negative values get the scale-free Huber (delta 1.35
    robust standard deviations of the residuals, ``delta_scale="robust"``); skewed or heavy-tailed targets
    get the median (quantile 0.5), the optimum of MAE; a rare class gets
    focal loss (gamma 2).

    Returns
    -------
    list of LossAdvice
        ``advice.spec`` is a loss spec for :func:`ablate_losses`;
        ``advice.reason`` says which property of ``y`` suggested it.
    """
    d = describe_target(y)
    if d["min"] == d["max"]:
        raise ValueError(f"y is constant ({d['min']:g}); there is nothing to learn")
    if d["is_binary"]:
        share = d["minority_share"]
        out = [LossAdvice("logistic", "0/1 labels: cross-entropy (log loss) is the default, the reference to beat")]
        if share < 0.1:
            out.append(LossAdvice("focal(gamma=2)", f"class imbalance: the rarer class is {share:.1%} of rows; "
                                  "focal loss (gamma 2) down-weights the easy majority"))
        else:
            out.append(LossAdvice("focal(gamma=2)", f"classes are fairly balanced (rarer class {share:.1%}); focal "
                                  "loss is the usual alternative, expect a small difference"))
        return out

    out = [LossAdvice("squared_error", "the default for regression (conditional mean), the reference to beat")]
    skewed = d["skewness"] > 1.0
    heavy = d["outlier_share"] >= 0.005 or d["excess_kurtosis"] > 3.0
    nonneg = d["min"] >= 0.0
    if nonneg and (d["zero_share"] >= 0.05 or skewed) and d["min"] == 0.0:
        why = f"{d['zero_share']:.1%} exact zeros, skewness {d['skewness']:.1f}"
        out.append(LossAdvice("tweedie(power=1.5)", f"zero-inflated / right-skewed non-negative target ({why}): "
                              "Tweedie, start at power 1.5"))
        out.append(LossAdvice("tweedie(power=1.2)", "Tweedie near Poisson: emphasises the count-like zeros; "
                              "sweep_tweedie_power searches [1.1, 1.9]"))
        out.append(LossAdvice("tweedie(power=1.8)", "Tweedie near Gamma: emphasises the continuous positive tail"))
    if nonneg and d["is_integer"]:
        out.append(LossAdvice("poisson", f"non-negative integer counts (max {d['max']:g}): Poisson deviance, log link"))
    if d["min"] > 0.0 and skewed:
        out.append(LossAdvice("gamma", f"strictly positive, right-skewed (skewness {d['skewness']:.1f}): Gamma "
                              "deviance (Tweedie power 2), log link"))
        out.append(LossAdvice("tweedie(power=1.5)", "Tweedie between Poisson and Gamma variance"))
    negative = d["min"] < 0.0
    if heavy and (abs(d["skewness"]) <= 1.0 or negative):
        # Outliers on a real line (negative values rule out Tweedie, Poisson and Gamma): the guidelines'
        # first choice is Huber at 1.35 residual SDs, scale-free so that 1.35 means that at any scale.
        where = "; y takes negative values, so the log-link losses do not apply" if negative else ""
        out.append(LossAdvice(f"huber(delta=1.35, delta_scale={_SCALE_FREE!r})",
                              f"heavy tails / outliers ({d['outlier_share']:.1%} of rows beyond 5 robust SDs, "
                              f"excess kurtosis {d['excess_kurtosis']:.1f}, skewness {d['skewness']:.1f}{where}): "
                              "Huber, delta = 1.35 robust SDs of the residuals (scale-free); tune it with "
                              "sweep_loss_parameter(X, y, \"huber(delta_scale='robust')\", \"delta\", ...)"))
        if 0.1 <= d["robust_scale"] <= 10.0:
            out.append(LossAdvice("log_cosh", "smooth Huber-like alternative, twice differentiable "
                                  "(quadratic below about 1, linear above)"))
    if skewed or heavy:
        out.append(LossAdvice("quantile(alpha=0.5)", "median regression: the optimum of MAE; if MAE is the "
                              "yardstick you report, this is the loss that targets it"))
    if len(out) == 1:
        delta = 1.35 * d["robust_scale"] if d["robust_scale"] > 0 else 1.35
        out.append(LossAdvice(f"huber(delta={delta:.4g})", "no zero inflation, skew or heavy tails: squared error's "
                              "Gaussian assumption is plausible; Huber is a cheap robustness check"))
    unique: dict[str, LossAdvice] = {}
    for advice in out:
        unique.setdefault(loss_label(advice.loss), advice)
    return list(unique.values())
