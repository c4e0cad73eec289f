"""The Tweedie power by maximum likelihood: out-of-fold means, profile likelihood, interval.

Comparing Tweedie powers by each model's own deviance is meaningless (each power has its own deviance scale), and
MAE or a fixed-power deviance rank point predictions, not the variance function the power stands for. The likelihood
does: for a power ``p`` in (1, 2) the Tweedie model is a compound Poisson-Gamma distribution with mean ``mu`` and
variance ``phi * mu**p``, and its log-likelihood, maximised over the dispersion ``phi``, is comparable across
powers. :func:`estimate_tweedie_power` trains one Tweedie(p) booster per candidate power under cross-validation
(through the ablation's own fit path, so the models are the ones
:func:`~gbm_objectives.ablation.sweep_tweedie_power` compares), takes the out-of-fold means, maximises the
likelihood over ``phi`` and reads the power and a profile-likelihood 95% interval off the curve; the default
interval also carries the mean models' error (:func:`_mean_model_error`).

The density and the sampler live in :mod:`gbm_objectives.tweedie_density`
(re-exported here).
"""

from __future__ import annotations

import math
import secrets
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ._tweedie_profile import (
    _MU_FLOOR,
    CHI2_1_95,
    _mean_model_interval,
    _profile_from_oof,
)
from ._validation import check_sample_weight
from .ablation._experiment import _kfold, _stopping_rows
from .ablation._fits import _fit_folds_sharing
from .ablation._inputs import (
    Folds,
    _check_backend,
    _check_client,
    _check_cv,
    _check_deviance_power,
    _check_early_stopping,
    _check_groups,
    _check_int,
    _check_n_jobs,
    _check_params,
    _check_powers,
    _check_random_state,
    _check_X,
    _check_y,
)
from .ablation._yardsticks import _unit_tweedie_deviance, _wmean
from .losses import get_loss
from .tweedie_density import (
    _check_nonneg_labels,
    _check_power_open,
    sample_tweedie,
    tweedie_log_density,
)
from .tweedie_density import _log_series as _log_series  # its home before the density had a module

__all__ = [
    "DEFAULT_LIKELIHOOD_POWERS",
    "TweediePowerEstimate",
    "estimate_tweedie_power",
    "sample_tweedie",
    "tweedie_log_density",
]

#: Candidate powers of :func:`estimate_tweedie_power`: 1.05, 1.10, ..., 1.95.
DEFAULT_LIKELIHOOD_POWERS: tuple[float, ...] = tuple(round(1.05 + 0.05 * k, 2) for k in range(19))


# ---------------------------------------------------------------------------
# The result
# ---------------------------------------------------------------------------


@dataclass
class TweediePowerEstimate:
    """The Tweedie power by profile likelihood, with its interval and the curve behind it.

    Attributes
    ----------
    power : float
        The power of highest profile log-likelihood, refined between the grid powers (see ``profile``) and by a
        parabola through the best point and its neighbours.
    ci : tuple of float
        The 95% interval by ``ci_method``: "mean_model" (default) widens the profile's cut by the variance the
        means' error adds and moves both ends by ``-mean_model_bias`` (so ``power`` can sit off-centre); "profile"
        is ``ci_profile``. An end cut off by the grid is its edge.
    ci_open : tuple of bool
        Whether the lower / upper end of ``ci`` is the grid edge rather than a crossing.
    dispersion : float
        Maximum-likelihood dispersion ``phi`` at ``power``.
    log_likelihood : float
        The refined maximum of the profile log-likelihood.
    table : pandas.DataFrame
        One row per grid power: ``power``, ``log_likelihood``, ``dispersion``, ``lr_statistic`` (2 (loglik_max -
        loglik)), ``in_ci``, ``mae`` and ``tweedie_deviance`` (mean unit deviance at the fixed ``deviance_power``),
        all on the out-of-fold predictions.
    profile : pandas.DataFrame
        The curve the power and interval are read from: the grid powers plus the interpolated powers around the
        maximum and the interval ends (``source`` "grid" or "interpolated"; means interpolated in log between the
        neighbouring grid models), with ``log_likelihood``, ``dispersion`` and ``lr_statistic``.
    n_scored : int
        Rows in the likelihood (rows with an out-of-fold prediction and a positive weight).
    settings : dict
        Backend, folds (``n_folds``, ``splitter``: its repr), rounds, seed, parameters, timings; with "mean_model"
        also ``interval``: ``se_profile``, ``se_mean_model`` (standard errors of the power from the curvature and
        from the means' error), ``inflation`` (factor on the cut), ``mean_model_bias``, ``grid_power`` (whose fold
        models count).
    ci_method : {"mean_model", "profile"}
    ci_profile : tuple of float
        Profile-likelihood 95% interval given the out-of-fold means: powers with ``2 (loglik_max - loglik) <=
        3.841`` (chi2_1 95%).
    mean_model_bias : float
        Estimated shift of ``power`` due to the means' error (0 with "profile"); not subtracted from ``power``.
    """

    power: float
    ci: tuple[float, float]
    ci_open: tuple[bool, bool]
    dispersion: float
    log_likelihood: float
    table: pd.DataFrame
    profile: pd.DataFrame
    n_scored: int
    settings: dict[str, Any] = field(default_factory=dict)
    ci_method: str = "profile"
    ci_profile: tuple[float, float] | None = None
    mean_model_bias: float = 0.0

    def __post_init__(self) -> None:
        if self.ci_profile is None:
            self.ci_profile = self.ci

    @property
    def mae_power(self) -> float:
        """Grid power with the lowest out-of-fold MAE (the sweep's choice), for comparison."""
        return float(self.table["power"].iloc[int(np.argmin(self.table["mae"].to_numpy()))])

    @property
    def deviance_power(self) -> float:
        """Grid power with the lowest fixed-power deviance, for comparison."""
        return float(self.table["power"].iloc[int(np.argmin(self.table["tweedie_deviance"].to_numpy()))])

    def __repr__(self) -> str:
        lo = ("<=" if self.ci_open[0] else "") + f"{self.ci[0]:.3f}"
        hi = f"{self.ci[1]:.3f}" + ("+" if self.ci_open[1] else "")
        return (f"TweediePowerEstimate(power={self.power:.3f}, ci=({lo}, {hi}), dispersion={self.dispersion:.4g}, "
                f"n_scored={self.n_scored})")

    def plot(self, ax: Any = None, *, title: str | None = None) -> Any:
        """Profile log-likelihood against the power, with the maximum and the 95% interval.

        Needs matplotlib (the ``plot`` extra). Returns the ``Axes`` drawn on.
        """
        from .plotting import _pyplot

        plt = _pyplot()
        if ax is None:
            _, ax = plt.subplots(figsize=(6.4, 4.0), layout="constrained")
        # Relative to the maximum on a symlog scale: linear near the top, where the interval is read,
        # logarithmic for the far powers, which can be thousands of nats lower.
        top = self.log_likelihood
        t = self.table
        ax.plot(t["power"], t["log_likelihood"] - top, marker="o", color="#1f77b4",
                label="profile log-likelihood (grid models)")
        fine = self.profile[self.profile["source"] == "interpolated"]
        if not fine.empty:
            ax.plot(fine["power"], fine["log_likelihood"] - top, linestyle="none", marker=".", color="#ff7f0e",
                    label="between grid models (interpolated means)")
        ax.axhline(-CHI2_1_95 / 2.0, linestyle="--", color="#7f7f7f", label="95% cut (-3.84/2)")
        ax.axvspan(self.ci[0], self.ci[1], color="#1f77b4", alpha=0.15,
                   label=f"95% interval ({self.ci_method}) [{self.ci[0]:.3f}, {self.ci[1]:.3f}]")
        ax.axvline(self.power, color="#d62728", label=f"power {self.power:.3f}")
        ax.set_yscale("symlog", linthresh=CHI2_1_95)
        ax.set_ylim(top=0.5)
        ax.set_xlabel("Tweedie power")
        ax.set_ylabel(f"log-likelihood - maximum ({self.settings.get('n_folds', '?')}-fold out-of-fold means)")
        ax.set_title(title or f"Tweedie power by profile likelihood [{self.settings.get('backend', '')}]")
        ax.legend(fontsize="small")
        ax.grid(alpha=0.3)
        return ax


# ---------------------------------------------------------------------------
# The estimator
# ---------------------------------------------------------------------------


def _check_likelihood_powers(powers: Any) -> np.ndarray:
    grid = _check_powers(powers)
    for p in grid:
        _check_power_open(p, "each power")
    if len(grid) < 3:
        raise ValueError(f"powers needs at least 3 values to locate a maximum and an interval, got {grid}")
    return np.asarray(grid, dtype=np.float64)


def _folds(cv: Any, X: Any, y: np.ndarray, groups: np.ndarray | None, seed: int) -> tuple[list, str]:
    """Train/test indices and the splitter's repr, from a fold count or a splitter (checked as the ablation's)."""
    checked = _check_cv(cv, y.shape[0], groups, X, y)
    splitter = _kfold(checked, groups is not None, seed)
    folds = [(np.asarray(tr, dtype=np.int64), np.asarray(te, dtype=np.int64))
             for tr, te in splitter.split(np.empty((y.shape[0], 0)), y, groups)]
    if isinstance(checked, Folds) and not checked.disjoint:
        raise ValueError(f"cv={checked!r} puts some rows in more than one test fold; out-of-fold means need each "
                         "row tested at most once (KFold, GroupKFold, TimeSeriesSplit qualify; ShuffleSplit does not)")
    return folds, repr(splitter)


def estimate_tweedie_power(
    X: Any,
    y: Any,
    *,
    sample_weight: Any = None,
    groups: Any = None,
    backend: str = "xgboost",
    powers: Sequence[float] | None = None,
    cv: Any = 5,
    random_state: int | None = None,
    num_boost_round: int = 200,
    params: dict[str, Any] | None = None,
    n_jobs: int = 1,
    progress: bool = True,
    deviance_power: float = 1.5,
    subdivide: int = 10,
    early_stopping_rounds: int | None = None,
    interval: str = "mean_model",
    client: Any = None,
) -> TweediePowerEstimate:
    """Estimate the Tweedie power of a non-negative target by out-of-fold profile likelihood.

    For each candidate power ``p`` the booster is trained with Tweedie(p) loss on every training fold (the same fit
    path, defaults and folds as :func:`~gbm_objectives.ablation.sweep_tweedie_power`) and predicts its held-out
    fold. With those out-of-fold means ``mu_p`` the dispersion ``phi_p`` maximises the Tweedie log-likelihood
    (Dunn-Smyth series, :func:`tweedie_log_density`), giving the profile log-likelihood ``l(p)``. The power is the
    maximiser of ``l`` and the 95% interval holds the powers with ``2 (l_max - l(p)) <= 3.841``, both read off the
    curve refined between grid powers (``subdivide``).

    Held-out means keep the comparison honest: in-sample means of a flexible booster shrink the residuals and bias
    the dispersion and the power. The profile interval (``ci_profile``) is conditional on those means; their error
    biases the estimate (noise in ``log mu`` looks like extra variance growing as ``mu^2``: the power moves toward
    2) and adds spread. The default interval carries both: the fold models at the grid power nearest the estimate
    are fitted again (same rows and seed: the same models) to predict every row; their group jackknife gives the
    error of ``log mu``, which a second-order expansion of the score equations turns into a bias and a variance of
    the power (:func:`_mean_model_error`; ``benchmarks/TWEEDIE_POWER.md`` measures it). With exact means the fold
    models agree and it is the profile interval. It sees the models' variability, not an error they all share
    (shrinkage, or an overfitted booster, which moved the power by 0.03 in the study): give the booster a
    regularised mean model (shallow trees, a small learning rate, ``min_child_weight``) on small or noisy tables.

    Parameters
    ----------
    X : array-like or DataFrame of shape (n, d)
        Numeric features; NaN is read as missing. Columns of pandas ``category`` dtype are categorical features, as
        in :func:`~gbm_objectives.ablation.ablate_losses`.
    y : array-like of shape (n,)
        Non-negative target with at least 2 positive values.
    sample_weight : array-like of shape (n,), optional
        Non-negative weights: training weights of the boosters and prior weights of the likelihood (row dispersion
        ``phi / w``, as exposure weights in a Tweedie GLM). Zero-weight rows are left out of the likelihood.
    groups : array-like of shape (n,), optional
        Group ids: with an integer ``cv``, rows of a group never straddle training and test (GroupKFold); passed to
        a splitter's ``split``.
    backend : {"xgboost", "lightgbm"}
    powers : sequence of float in (1, 2), optional
        Candidate powers, at least 3; default 1.05, 1.10, ..., 1.95.
    cv : int >= 2, scikit-learn splitter or iterable of (train, test) pairs, default 5
        Fold count (shuffled K-fold, grouped when ``groups`` is given), a splitter such as ``KFold``,
        ``GroupKFold``, ``TimeSeriesSplit`` or ``PredefinedSplit``, or (train, test) index pairs, checked as in
        :func:`~gbm_objectives.ablation.ablate_losses`. Each row may be in at most one test fold; rows never tested
        (TimeSeriesSplit's first block) are left out of the likelihood and the table (``n_scored``).
        ``settings["splitter"]`` records the splitter's repr.
    random_state : int, optional
        Seeds the folds and the boosters. None draws a seed, recorded in ``settings["random_state"]``.
    num_boost_round : int, default 200
    params : dict, optional
        Booster parameters on top of the ablation defaults (XGBoost ``hist``, depth 6, learning rate 0.1; LightGBM
        31 leaves). The objective comes from the loss.
    n_jobs : int, default 1
        Fits run at once in separate processes (-1: one per core).
    progress : bool, default True
        Show a progress bar (one step per fit).
    deviance_power : float in [1, 2), default 1.5
        Power of the fixed-power Tweedie deviance reported in the table.
    subdivide : int >= 1, default 10
        Subdivisions of each grid step around the maximum and the interval ends, where the likelihood is evaluated
        with means interpolated between the neighbouring grid models (no extra fits). 1 reads the power and interval
        off the grid alone.
    early_stopping_rounds : int >= 1, optional
        Stop each fit after this many rounds without improvement on a validation slice carved from that fold's
        training rows (never its test rows), as in :func:`~gbm_objectives.ablation.ablate_losses`;
        ``settings["best_iterations"]`` holds the rounds kept per power and fold. Default None: every fit runs
        ``num_boost_round`` rounds.
    interval : {"mean_model", "profile"}, default "mean_model"
        The 95% interval ``.ci``: "mean_model" carries the mean models' error (above; costs one more fit per fold),
        "profile" is the profile-likelihood interval conditional on the out-of-fold means. ``.ci_profile`` holds the
        latter either way.
    client : dask.distributed.Client, optional
        Run every (power, fold) fit, and the mean-model refits, as tasks on this client's cluster, as
        :func:`~gbm_objectives.ablation.sweep_tweedie_power` does: the data is scattered to the workers once per
        batch of fits, the fits and seeds are those of an in-process run, so the estimate is the same. Leave
        ``n_jobs`` at 1. Requires the ``dask`` extra.

    Returns
    -------
    TweediePowerEstimate
        ``.power``, ``.ci``, ``.ci_profile``, ``.ci_method``,
        ``.mean_model_bias``, ``.dispersion``, ``.table``, ``.plot()``.

    Raises
    ------
    ValueError
        Negative or non-finite labels, fewer than 2 positive labels, bad weights, powers outside [1, 2] (or equal to
        1 or 2), fewer than 3 powers, bad folds or booster settings.

    Examples
    --------
    >>> import numpy as np
    >>> from gbm_objectives.tweedie_power import estimate_tweedie_power, sample_tweedie
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(2000, 3))
    >>> y = sample_tweedie(np.exp(0.5 * X[:, 0]), 2.0, 1.5, random_state=1)
    >>> est = estimate_tweedie_power(X, y, num_boost_round=30, cv=3, random_state=0,
    ...                              powers=np.arange(1.2, 1.81, 0.1), progress=False)
    >>> est.ci_profile[0] <= est.power <= est.ci_profile[1], est.ci_method
    (True, 'mean_model')
    """
    started = time.perf_counter()
    Xa = _check_X(X)
    ya = _check_y(y, Xa.shape[0])
    _check_nonneg_labels(ya)
    w = check_sample_weight(sample_weight, Xa.shape[0])
    w = None if w.shape[0] == 0 else np.asarray(w, dtype=np.float64)
    g = _check_groups(groups, Xa.shape[0])
    backend = _check_backend(backend)
    booster_params = _check_params(params, backend)
    rounds = _check_int(num_boost_round, "num_boost_round", 1)
    if random_state is None:
        seed = secrets.randbelow(2**31)
    else:
        seed = _check_random_state(random_state)
    jobs = _check_n_jobs(n_jobs)
    client = _check_client(client, jobs)
    if not isinstance(progress, bool):
        raise ValueError(f"progress must be True or False, got {progress!r}")
    dev_power = _check_deviance_power(deviance_power)
    steps = _check_int(subdivide, "subdivide", 1)
    stopping = _check_early_stopping(early_stopping_rounds)
    if interval not in ("mean_model", "profile"):
        raise ValueError(f"interval must be 'mean_model' or 'profile', got {interval!r}")
    grid = _check_likelihood_powers(DEFAULT_LIKELIHOOD_POWERS if powers is None else powers)
    positive_weight = np.ones(ya.shape[0], dtype=bool) if w is None else w > 0.0
    n_pos = int(np.count_nonzero((ya > 0.0) & positive_weight))
    if n_pos < 2:
        raise ValueError(f"y has {n_pos} positive value(s) with positive weight; the dispersion needs at least 2 "
                         "(with fewer, the likelihood has no finite maximum over the dispersion)")
    folds, splitter = _folds(cv, X, ya, g, seed)
    held = None if stopping is None else [_stopping_rows(tr, g, seed, f) for f, (tr, _) in enumerate(folds)]

    # Fold by fold: the powers' fits of a fold share its binned data.
    tasks = [(p, f) for f in range(len(folds)) for p in range(len(grid))]

    def args(p: int, f: int, test_idx: np.ndarray | None = None):
        train_idx = folds[f][0]
        test_idx = folds[f][1] if test_idx is None else test_idx
        return (backend, get_loss("tweedie", power=float(grid[p])), booster_params, Xa, ya, w, train_idx, test_idx,
                rounds, seed, None if held is None else (stopping, held[f]))

    results = _fit_folds_sharing([(f, args(p, f)) for p, f in tasks], jobs, client=client)
    best_iterations = np.zeros((len(grid), len(folds)), dtype=np.int64)
    from tqdm.auto import tqdm

    oof = np.full((len(grid), ya.shape[0]), np.nan)
    fit_seconds = np.zeros(len(grid))
    with tqdm(total=len(tasks), desc=f"estimate_tweedie_power[{backend}]", unit="fit", disable=not progress) as bar:
        for (p, f), (pred, seconds, kept) in zip(tasks, results):
            oof[p, folds[f][1]] = pred
            best_iterations[p, f] = rounds if kept is None else kept
            fit_seconds[p] += seconds
            bar.update(1)
    fit_time = time.perf_counter() - started

    lik_start = time.perf_counter()
    lik = _profile_from_oof(ya, w, oof, grid, steps)
    del oof
    adjusted = None
    if interval == "mean_model":
        # The fold models at the grid power nearest the estimate, again, now predicting every scored row.
        k_near = int(np.argmin(np.abs(grid - lik["power"])))
        rows_scored = np.flatnonzero(lik["scored"])
        refit = _fit_folds_sharing([(f, args(k_near, f, rows_scored)) for f in range(len(folds))], jobs,
                                   client=client)
        fold_log_mu = np.log(np.maximum(np.vstack([pred for pred, _, _ in refit]), _MU_FLOOR))
        try:
            adjusted = {**_mean_model_interval(lik, grid, steps, fold_log_mu), "grid_power": float(grid[k_near])}
        except ValueError as exc:  # a flat or non-concave likelihood at the estimate: no variances to read
            warnings.warn(f"{exc}; ci is the profile interval", UserWarning, stacklevel=2)
            interval = "profile"
    y_s, w_s, log_mu = lik["y"], lik["w"], lik["log_mu"]
    rows = []
    for k, p in enumerate(grid):
        mu = np.exp(log_mu[k])
        rows.append({"power": float(p), "log_likelihood": float(lik["log_likelihood"][k]),
                     "dispersion": float(lik["dispersion"][k]), "mae": _wmean(np.abs(mu - y_s), w_s),
                     "tweedie_deviance": _wmean(_unit_tweedie_deviance(y_s, mu, dev_power), w_s),
                     "fit_seconds": float(fit_seconds[k])})
    table = pd.DataFrame.from_records(rows)
    best_p, best_ll, ci, ci_open = lik["power"], lik["max_log_likelihood"], lik["ci"], lik["ci_open"]
    profile, best_phi, n_scored = lik["profile"], lik["best_dispersion"], lik["n_scored"]
    if adjusted is not None:
        ci, ci_open, profile = adjusted["ci"], adjusted["ci_open"], adjusted["profile"]
    table.insert(3, "lr_statistic", lik["lr_statistic"])
    table.insert(4, "in_ci", (table["power"] >= ci[0]) & (table["power"] <= ci[1]))
    if any(ci_open):
        side = " and ".join(s for s, o in zip(("lower", "upper"), ci_open) if o)
        warnings.warn(f"the 95% interval reaches the {side} end of the "
                      f"powers ({grid[0]:g}..{grid[-1]:g}); that end of the interval is the grid's edge: widen "
                      "powers toward 1 or 2", UserWarning, stacklevel=2)
    settings = {
        "backend": backend, "n_folds": len(folds), "splitter": splitter, "num_boost_round": rounds,
        "random_state": seed, "params": dict(booster_params), "deviance_power": dev_power, "n_rows": int(ya.shape[0]),
        "subdivide": steps, "fit_seconds": fit_time, "likelihood_seconds": time.perf_counter() - lik_start,
        "interval_method": interval,
    }
    if adjusted is not None:
        settings["interval"] = {
            "se_profile": math.sqrt(adjusted["var_profile"]), "se_mean_model": math.sqrt(adjusted["var_mean_model"]),
            "inflation": adjusted["inflation"], "mean_model_bias": adjusted["bias_mean_model"],
            "grid_power": adjusted["grid_power"]}
    if stopping is not None:
        settings.update({"early_stopping_rounds": stopping,
                         "best_iterations": {float(p): best_iterations[k].tolist() for k, p in enumerate(grid)}})
    table.attrs.update(settings)
    return TweediePowerEstimate(power=best_p, ci=ci, ci_open=ci_open, dispersion=best_phi,
                                log_likelihood=best_ll, table=table, profile=profile, n_scored=n_scored,
                                settings=settings, ci_method=interval, ci_profile=lik["ci"],
                                mean_model_bias=0.0 if adjusted is None else adjusted["bias_mean_model"])
