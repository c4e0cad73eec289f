"""The profile likelihood of the Tweedie power given means: the dispersion by maximum likelihood, the profile
curve refined between grid powers, its likelihood-ratio interval, and the interval widened by the means' own error.

:func:`gbm_objectives.tweedie_power.estimate_tweedie_power` and the likelihood column of
:func:`gbm_objectives.ablation.sweep_tweedie_power` read the power off these; the fits that give the means live there.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from .kernels._common import ordered_sum
from .tweedie_density import _loglik

#: chi2 with one degree of freedom, 95% quantile: the profile-likelihood cut.
CHI2_1_95 = 3.841458820694124
#: Predictions are floored here so that the log-likelihood stays finite.
_MU_FLOOR = 1e-300


# ---------------------------------------------------------------------------
# The dispersion by maximum likelihood
# ---------------------------------------------------------------------------


def _max_over_dispersion(y, mu, w, p, *, tol=1e-10, max_iter=100) -> tuple[float, float]:
    """Maximise the log-likelihood over log phi by safeguarded Newton; returns (loglik, phi).

    The start is the Pearson estimate ``mean(w (y - mu)^2 / mu^p)``; a step that does not raise the likelihood is
    halved, and where the likelihood is not concave the step is a unit move uphill.
    """
    pearson = ordered_sum(w * (y - mu) ** 2 / mu ** p) / y.shape[0]
    t = math.log(pearson) if pearson > 0.0 and math.isfinite(pearson) else 0.0
    ll, d1, d2 = (ordered_sum(v) for v in _loglik(y, mu, w, t, p))
    for _ in range(max_iter):
        step = -d1 / d2 if d2 < 0.0 else math.copysign(1.0, d1)
        step = max(-3.0, min(3.0, step))
        for _ in range(60):
            new = [ordered_sum(v) for v in _loglik(y, mu, w, t + step, p)]
            if new[0] >= ll - 1e-12 * abs(ll):
                break
            step *= 0.5
        else:  # no uphill step at all: t is a maximum to working precision
            break
        t += step
        ll, d1, d2 = new
        if abs(step) < tol:
            break
    return ll, math.exp(t)


def _mean_model_error(y: np.ndarray, w: np.ndarray, mu: np.ndarray, p: float, phi: float,
                      fold_log_mu: np.ndarray) -> dict[str, float]:
    """Variance and bias of the power that the error of the mean models adds, by jackknife over the fold models.

    ``fold_log_mu`` holds, for each of the ``K`` fold models, its log-mean at every scored row (the models of the
    cross-validation, each trained without one fold). The power solves the score equations ``sum_i psi_i(p, log phi;
    eta_i) = 0`` with ``eta_i = log mu_i`` held fixed; an error ``e_i`` in ``eta_i`` moves it by, to second order,
    ``sum_i g_i e_i + b``, with ``g_i = -(H^-1 dpsi_i/deta)_p`` and ``b = -(H^-1 sum_i E[e_i^2] / 2
    d2psi_i/deta2)_p``. The derivatives in ``eta`` are analytic: ``dl/deta = w (y - mu) mu^(1-p) / phi``. The group
    jackknife over the fold models (``(K-1)/K sum_k (.)_k^2`` of the models' deviations from their average) gives
    the variance of the linear term, with the correlation of the errors across rows, and the per-row ``E[e_i^2]`` of
    the bias. It carries the models' variability from fold to fold, not a bias that all of them share (such as
    shrinkage).
    """
    t = math.log(phi)
    h = min(1e-4, (p - 1.0) / 2.0, (2.0 - p) / 2.0)  # central differences in p, kept inside (1, 2)
    ll_hi, d1_hi, _ = _loglik(y, mu, w, t, p + h)
    ll_lo, d1_lo, _ = _loglik(y, mu, w, t, p - h)
    ll_0, _, d2_0 = _loglik(y, mu, w, t, p)
    h_pp = ordered_sum(ll_hi - 2.0 * ll_0 + ll_lo) / (h * h)
    h_pt = ordered_sum(d1_hi - d1_lo) / (2.0 * h)
    hess = np.array([[h_pp, h_pt], [h_pt, ordered_sum(d2_0)]])
    if not np.all(np.isfinite(hess)) or np.linalg.det(hess) <= 0.0 or h_pp >= 0.0:
        raise ValueError("the Tweedie log-likelihood is not concave in (power, dispersion) at the estimate; "
                         "the interval's variances are undefined")
    row = np.linalg.inv(hess)[0]  # the power's row of H^-1
    log_mu = np.log(mu)
    scale = w * mu ** (1.0 - p) / phi
    resid = scale * (y - mu)  # dl/deta
    curv = scale * ((1.0 - p) * (y - mu) - mu)  # d2l/deta2
    g = -(row[0] * (-resid * log_mu) + row[1] * (-resid))
    d2_score_p = scale * (-log_mu * ((1.0 - p) * (y - mu) - mu) - (y - mu))
    k = fold_log_mu.shape[0]
    offsets = fold_log_mu - fold_log_mu[0]  # exactly 0 where the models agree
    dev = offsets - offsets.mean(axis=0)
    # Sums in index order (not BLAS's or NumPy's SIMD lanes): the same bits in any process or buffer.
    var_mean = float((k - 1.0) / k * sum(ordered_sum(d * g) ** 2 for d in dev))
    e2 = (k - 1.0) / k * np.sum(dev ** 2, axis=0)
    bias = float(-(row[0] * ordered_sum(0.5 * e2 * d2_score_p) + row[1] * ordered_sum(0.5 * e2 * (-curv))))
    return {"var_profile": float(-row[0]), "var_mean_model": var_mean, "bias_mean_model": bias}


# ---------------------------------------------------------------------------
# The profile and its interval
# ---------------------------------------------------------------------------


def _parabola_peak(x: np.ndarray, f: np.ndarray) -> tuple[float, float] | None:
    """Vertex of the parabola through three points, if it opens downwards and lies between them."""
    coef = np.polyfit(x - x[1], f, 2)
    if not np.all(np.isfinite(coef)) or coef[0] >= 0.0:
        return None
    dx = -coef[1] / (2.0 * coef[0])
    if not (x[0] - x[1] <= dx <= x[2] - x[1]):
        return None
    return float(x[1] + dx), float(np.polyval(coef, dx))


def _profile_interval(powers: np.ndarray, ll: np.ndarray, level: float = CHI2_1_95):
    """Refined maximum and the likelihood-ratio interval of a profile on a grid.

    The maximum is the vertex of the parabola through the best grid point and its neighbours (the grid maximum at an
    edge). The interval is the hull of the powers whose likelihood-ratio statistic ``2 (ll_max - ll)`` is at most
    ``level``; its ends are interpolated linearly in the signed root of the statistic, which is exact for a
    quadratic profile.
    """
    k = int(np.argmax(ll))
    best_p, best_ll = float(powers[k]), float(ll[k])
    if 0 < k < len(powers) - 1:
        peak = _parabola_peak(powers[k - 1:k + 2], ll[k - 1:k + 2])
        if peak is not None and peak[1] >= best_ll:
            best_p, best_ll = peak
    pts = np.concatenate((powers, [best_p]))
    stat = np.concatenate((np.maximum(2.0 * (best_ll - ll), 0.0), [0.0]))
    order = np.argsort(pts, kind="stable")
    pts, stat = pts[order], stat[order]
    root = np.sqrt(stat) * np.sign(pts - best_p)
    inside = np.flatnonzero(stat <= level)
    cut = math.sqrt(level)
    lo_i, hi_i = int(inside[0]), int(inside[-1])
    if lo_i == 0:
        lower, open_lo = float(pts[0]), True
    else:
        r0, r1 = -abs(root[lo_i - 1]), -abs(root[lo_i])  # both on the left branch of the signed root
        lower = float(pts[lo_i - 1] + (pts[lo_i] - pts[lo_i - 1]) * (-cut - r0) / (r1 - r0))
        open_lo = False
    if hi_i == len(pts) - 1:
        upper, open_hi = float(pts[-1]), True
    else:
        r0, r1 = abs(root[hi_i]), abs(root[hi_i + 1])
        upper = float(pts[hi_i] + (pts[hi_i + 1] - pts[hi_i]) * (cut - r0) / (r1 - r0))
        open_hi = False
    return best_p, best_ll, (lower, upper), (open_lo, open_hi)


def _interpolated_log_mu(log_mu: np.ndarray, grid: np.ndarray, p: float) -> np.ndarray:
    """Out-of-fold log-means at power ``p``, linear in p between the two neighbouring grid models."""
    i = int(np.searchsorted(grid, p, side="right")) - 1
    i = min(max(i, 0), len(grid) - 2)
    t = (p - grid[i]) / (grid[i + 1] - grid[i])
    if t <= 0.0:
        return np.ascontiguousarray(log_mu[i])
    if t >= 1.0:
        return np.ascontiguousarray(log_mu[i + 1])
    return (1.0 - t) * log_mu[i] + t * log_mu[i + 1]


def _refined_profile(y, w, log_mu, grid, ll, phi, steps, level=CHI2_1_95) -> pd.DataFrame:
    """The profile on the grid plus ``steps - 1`` interpolated powers in each grid step that matters.

    A step matters when it holds the grid maximum or one of its ends lies within ``level`` (plus a margin) of the
    grid maximum: that is where the maximum and the interval ends are. The models vary slowly with the power, so the
    means there are interpolated between the neighbouring grid models; the likelihood itself, whose shape in ``p``
    is what the interval reads, is evaluated exactly at each interpolated power. Without this a fine interval (often
    narrower than one grid step) would rest on three grid points of a skewed curve.
    """
    records = [{"power": float(p), "log_likelihood": float(v), "dispersion": float(f), "source": "grid"}
               for p, v, f in zip(grid, ll, phi)]
    if steps > 1:
        k = int(np.argmax(ll))
        stat = 2.0 * (ll[k] - ll)
        near = stat <= level + 2.0
        for i in range(len(grid) - 1):
            if not (near[i] or near[i + 1] or i in (k - 1, k)):
                continue
            for p in np.linspace(grid[i], grid[i + 1], steps + 1)[1:-1]:
                value, f = _max_over_dispersion(y, np.exp(_interpolated_log_mu(log_mu, grid, p)), w, float(p))
                records.append({"power": float(p), "log_likelihood": value, "dispersion": f,
                                "source": "interpolated"})
    return pd.DataFrame.from_records(records).sort_values("power", kind="stable").reset_index(drop=True)


def _profile_from_oof(y: np.ndarray, w: np.ndarray | None, oof: np.ndarray, grid: np.ndarray,
                      steps: int) -> dict[str, Any]:
    """The profile likelihood from out-of-fold means ``oof`` (one row per grid power, NaN where untested).

    Shared by :func:`estimate_tweedie_power` and the likelihood column of
    :func:`~gbm_objectives.ablation.sweep_tweedie_power`, which reads the sweep's own out-of-fold predictions (no
    refit). Rows are scored where every power has a prediction and the weight is positive.
    """
    positive_weight = np.ones(y.shape[0], dtype=bool) if w is None else w > 0.0
    scored = positive_weight & np.isfinite(oof).all(axis=0)
    n_scored = int(np.count_nonzero(scored))
    n_pos_scored = int(np.count_nonzero(y[scored] > 0.0))
    if n_pos_scored < 2:
        raise ValueError(f"the test folds hold {n_pos_scored} positive value(s) with positive weight; the "
                         "dispersion needs at least 2")
    y_s = np.ascontiguousarray(y[scored])
    w_s = np.ones(n_scored) if w is None else np.ascontiguousarray(w[scored])
    # C order: NumPy's exp and log of a strided row can differ in the last bit from run to run (seen with
    # NumPy 1.26), which moved the interval; of a contiguous row they are the same bits every time.
    log_mu = np.log(np.maximum(np.ascontiguousarray(oof[:, scored]), _MU_FLOOR))
    ll, phi = np.empty(len(grid)), np.empty(len(grid))
    for k, p in enumerate(grid):
        ll[k], phi[k] = _max_over_dispersion(y_s, np.exp(log_mu[k]), w_s, float(p))
    profile = _refined_profile(y_s, w_s, log_mu, grid, ll, phi, steps)
    best_p, best_ll, ci, ci_open = _profile_interval(profile["power"].to_numpy(),
                                                     profile["log_likelihood"].to_numpy())
    profile["lr_statistic"] = np.maximum(2.0 * (best_ll - profile["log_likelihood"].to_numpy()), 0.0)
    _, best_phi = _max_over_dispersion(y_s, np.exp(_interpolated_log_mu(log_mu, grid, best_p)), w_s, best_p)
    return {"y": y_s, "w": w_s, "log_mu": log_mu, "log_likelihood": ll, "dispersion": phi, "profile": profile,
            "power": best_p, "max_log_likelihood": best_ll, "ci": ci, "ci_open": ci_open,
            "best_dispersion": best_phi, "n_scored": n_scored, "scored": scored,
            "lr_statistic": np.maximum(2.0 * (best_ll - ll), 0.0)}


def _mean_model_interval(lik: dict[str, Any], grid: np.ndarray, steps: int,
                         fold_log_mu: np.ndarray) -> dict[str, Any]:
    """The profile interval widened by the mean models' variance and moved by their bias (see the estimator).

    The likelihood-ratio statistic is scaled by ``V_profile / (V_profile + V_mean_model)`` (so the cut on the
    profile is ``3.841`` times the inflation), then both ends move by ``-bias``; an end at the grid's edge stays
    there.
    """
    y, w, log_mu, p = lik["y"], lik["w"], lik["log_mu"], lik["power"]
    err = _mean_model_error(y, w, np.exp(_interpolated_log_mu(log_mu, grid, p)), p, lik["best_dispersion"],
                            fold_log_mu)
    inflation = 1.0 + err["var_mean_model"] / err["var_profile"]
    level = CHI2_1_95 * inflation
    profile = lik["profile"]
    if inflation > 1.0:
        profile = _refined_profile(y, w, log_mu, grid, lik["log_likelihood"], lik["dispersion"], steps, level)
        profile["lr_statistic"] = np.maximum(2.0 * (lik["max_log_likelihood"] - profile["log_likelihood"]), 0.0)
    _, _, (lo, hi), ci_open = _profile_interval(profile["power"].to_numpy(), profile["log_likelihood"].to_numpy(),
                                                level)
    bias = err["bias_mean_model"]
    ci = (lo if ci_open[0] else lo - bias, hi if ci_open[1] else hi - bias)
    return {**err, "inflation": inflation, "ci": ci, "ci_open": ci_open, "profile": profile}
