"""Loss ablation: the same booster, the same features, the same folds; only the loss changes.

:func:`ablate_losses` trains one model per loss under K-fold cross-validation
and scores every row with the same panel of yardsticks;
:func:`sweep_loss_parameter` does it for a grid of values of one numeric loss
parameter (Huber's ``delta``, focal ``gamma``, ...) and
:func:`sweep_tweedie_power` for a grid of Tweedie powers plus squared
error, with the power's profile-likelihood choice read from the same
out-of-fold predictions (:func:`choice_table` sets it beside the MAE and
deviance choices); :func:`recommend_losses` reads the target and proposes the candidates.

Loss specs
----------
A loss is given as a :class:`~gbm_objectives.Loss`, a registered name
(``"huber"``), a call-style string with keyword arguments
(``"tweedie(power=1.5)"``, ``"quantile(alpha=0.9)"``, values are Python
literals) or a ``(name, params)`` pair (``("huber", {"delta": 2.0})``).
Rows are labelled with the call-style string (:func:`loss_label`), which
:func:`parse_loss` reads back.

Honest comparisons
------------------
Every row is scored on the same held-out folds with the same yardsticks,
whatever loss trained it: MAE, RMSE, a Tweedie deviance at one fixed power,
the Poisson deviance (predictions floored at ``1e-3`` times the training
mean, with the number of floored predictions reported), the normalised Gini
(ranking) and calibration (mean prediction / mean label). Powers are never
ranked by each model's own deviance. Constant-mean and constant-median rows
show what a model that learned nothing scores: on zero-inflated data the
median row often beats squared error on MAE, because MAE rewards predicting
the median, not the mean. Binary classification uses log loss, AUC, Brier
score and calibration instead.
"""

from __future__ import annotations

import inspect
import math
import os
import time
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd
from scipy.special import xlogy

from ._validation import as_float_array, check_sample_weight, check_scalar
# parse_loss lives next to the registry (get_loss and as_loss read specs too);
# it stays importable from here.
from .losses import Loss, as_loss, get_loss, parse_loss
from .losses import _weighted_quantile_half as _weighted_median

__all__ = [
    "DEFAULT_POWERS",
    "LossAdvice",
    "ablate_losses",
    "describe_target",
    "loss_label",
    "panel_table",
    "parse_loss",
    "recommend_losses",
    "seed_table",
    "sweep_loss_parameter",
    "sweep_tweedie_power",
    "choice_table",
    "to_markdown",
]

#: The seed guideline's Tweedie search range [1.1, 1.9] in steps of 0.1.
DEFAULT_POWERS: tuple[float, ...] = (1.1, 1.2, 1.3, 1.4, 1.5, 1.6, 1.7, 1.8, 1.9)

BACKENDS = ("xgboost", "lightgbm")
REGRESSION_METRICS = ("mae", "rmse", "tweedie_deviance", "poisson_deviance", "gini", "calibration")
CLASSIFICATION_METRICS = ("log_loss", "auc", "brier", "calibration")
#: Metrics where larger is better; calibration cannot rank rows.
_HIGHER_IS_BETTER = ("gini", "auc")
_RANKABLE = {
    "regression": ("mae", "rmse", "tweedie_deviance", "poisson_deviance", "gini"),
    "classification": ("log_loss", "auc", "brier"),
}
#: Deviance yardsticks floor predictions at this multiple of the training mean.
FLOOR_FRACTION = 1e-3
_LOG_LOSS_EPS = 1e-15

_DEFAULT_PARAMS = {
    "xgboost": {"tree_method": "hist", "max_depth": 6, "learning_rate": 0.1},
    "lightgbm": {"learning_rate": 0.1, "num_leaves": 31, "verbose": -1, "deterministic": True,
                 "force_row_wise": True},
}


# ---------------------------------------------------------------------------
# Loss specs
# ---------------------------------------------------------------------------


def _format_value(value: Any) -> str:
    if isinstance(value, float):
        return format(value, ".10g")
    return repr(value)


def _default_params(loss: Loss) -> dict[str, Any]:
    try:
        sig = inspect.signature(type(loss).__init__)
    except (TypeError, ValueError):  # pragma: no cover - builtins without signatures
        return {}
    return {k: p.default for k, p in sig.parameters.items() if p.default is not inspect.Parameter.empty}


def loss_label(loss: Loss | str) -> str:
    """Call-style label of a loss, e.g. ``"tweedie(power=1.5)"``, readable by :func:`parse_loss`.

    Numeric parameters are always shown; text and ``None`` parameters only
    when they differ from the default, so labels stay short.
    """
    loss = as_loss(loss)
    defaults = _default_params(loss)
    parts = []
    for key, value in loss.params.items():
        numeric = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
        if numeric or (key in defaults and defaults[key] != value) or key not in defaults:
            if value is None and defaults.get(key, None) is None:
                continue
            parts.append(f"{key}={_format_value(value)}")
    return f"{loss.name}({', '.join(parts)})" if parts else loss.name


def _task_of(loss: Loss) -> str:
    if loss.is_multiclass or loss.needs_group:
        raise ValueError(
            f"{loss_label(loss)} is a multiclass or grouped loss; ablations support single-output "
            "regression and binary classification losses"
        )
    return "classification" if loss.link.name == "logit" else "regression"


# ---------------------------------------------------------------------------
# Input validation
# ---------------------------------------------------------------------------


def _check_X(X: Any) -> np.ndarray:
    if isinstance(X, pd.DataFrame):
        bad = [str(c) for c, dt in X.dtypes.items() if not (pd.api.types.is_numeric_dtype(dt) or pd.api.types.is_bool_dtype(dt))]
        if bad:
            raise ValueError(f"X has non-numeric column(s) {', '.join(bad[:5])}; encode them as numbers first")
        arr = X.to_numpy(dtype=np.float32, na_value=np.nan)
    else:
        try:
            arr = np.asarray(X, dtype=np.float32)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"X must be a numeric 2-D array or DataFrame: {exc}") from exc
    if arr.ndim != 2:
        raise ValueError(f"X must be 2-D (rows x features), got shape {arr.shape}")
    if arr.shape[1] == 0:
        raise ValueError("X has no feature columns")
    if np.isinf(arr).any():
        raise ValueError("X contains infinite values (NaN is allowed: boosters treat it as missing)")
    return np.ascontiguousarray(arr)


def _check_y(y: Any, n_rows: int) -> np.ndarray:
    if isinstance(y, (pd.Series, pd.Index)) and pd.api.types.is_numeric_dtype(y.dtype):
        y = y.to_numpy(dtype=np.float64, na_value=np.nan)  # nullable dtypes: NA becomes NaN
    arr = np.asarray(y)
    if arr.ndim != 1:
        raise ValueError(f"y must be 1-D, got shape {arr.shape}")
    if arr.dtype.kind not in "biuf":
        raise ValueError(f"y must be numeric, got dtype {arr.dtype}")
    arr = arr.astype(np.float64)
    if arr.shape[0] != n_rows:
        raise ValueError(f"X has {n_rows} rows but y has {arr.shape[0]}")
    nan = int(np.isnan(arr).sum())
    if nan:
        raise ValueError(f"y contains {nan} NaN value(s); drop or fill them first")
    if not np.isfinite(arr).all():
        raise ValueError("y contains infinite values")
    return arr


def _check_groups(groups: Any, n_rows: int) -> np.ndarray | None:
    if groups is None:
        return None
    g = np.asarray(groups)
    if g.ndim != 1 or g.shape[0] != n_rows:
        raise ValueError(f"groups must have one entry per row ({n_rows}), got shape {g.shape}")
    if pd.isna(g).any():
        raise ValueError("groups contains missing values")
    return g


def _check_int(value: Any, name: str, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    return int(value)


def _check_cv(cv: Any, n_rows: int, groups: np.ndarray | None) -> int:
    cv = _check_int(cv, "cv", 2)
    if cv > n_rows:
        raise ValueError(f"cv={cv} folds need at least {cv} rows; got {n_rows}")
    if groups is not None:
        n_groups = len(pd.unique(groups))
        if cv > n_groups:
            raise ValueError(f"cv={cv} folds need at least {cv} groups; got {n_groups}")
    return cv


def _check_backend(backend: Any) -> str:
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(map(repr, BACKENDS))}; got {backend!r}")
    return backend


def _check_n_jobs(n_jobs: Any) -> int:
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, (int, np.integer)) or n_jobs == 0 or n_jobs < -1:
        raise ValueError(f"n_jobs must be a positive integer or -1 (all cores), got {n_jobs!r}")
    return (os.cpu_count() or 1) if n_jobs == -1 else int(n_jobs)


def _check_params(params: Any) -> dict[str, Any]:
    if params is None:
        return {}
    if not isinstance(params, dict):
        raise ValueError(f"params must be a dict of booster parameters, got {type(params).__name__}")
    return dict(params)


def _check_random_state(random_state: Any) -> int:
    if isinstance(random_state, bool) or not isinstance(random_state, (int, np.integer)) or random_state < 0:
        raise ValueError(f"random_state must be a non-negative integer, got {random_state!r}")
    return int(random_state)


def _check_powers(powers: Any) -> list[float]:
    if isinstance(powers, (str, bytes)) or not isinstance(powers, Iterable):
        raise ValueError(f"powers must be a sequence of numbers in [1, 2], got {powers!r}")
    out = [check_scalar(p, "each power", low=1.0, high=2.0) for p in powers]
    if not out:
        raise ValueError("powers is empty; give at least one Tweedie power in [1, 2]")
    if len(set(out)) != len(out):
        raise ValueError(f"powers has duplicates: {out}")
    return sorted(out)


# ---------------------------------------------------------------------------
# Yardsticks
# ---------------------------------------------------------------------------


def _wmean(values: np.ndarray, w: np.ndarray | None) -> float:
    if w is None:
        return float(np.mean(values))
    total = float(np.sum(w))
    return float(np.dot(values, w) / total) if total > 0.0 else float("nan")


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
        "calibration": _wmean(pred, w) / mean_y if mean_y != 0.0 else nan,
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


# ---------------------------------------------------------------------------
# The one place that talks to the boosters
# ---------------------------------------------------------------------------


def _fit_predict(
    backend: str,
    loss: Loss,
    params: dict[str, Any],
    X_tr: np.ndarray,
    y_tr: np.ndarray,
    w_tr: np.ndarray | None,
    X_te: np.ndarray,
    num_boost_round: int,
    random_state: int,
) -> np.ndarray:
    """Train ``loss`` through the library's adapter and return response-scale test predictions.

    Boosters run single-threaded unless ``params`` sets their threads: the
    ablation parallelises over fits instead (many small fits scale better
    across processes, and OpenMP threads collapse on a busy machine).
    """
    if backend == "xgboost":
        import xgboost as xgb

        from . import xgboost as xgb_adapter

        booster_params = {**_DEFAULT_PARAMS["xgboost"], "nthread": 1, "seed": random_state, **params}
        dtrain = xgb.DMatrix(X_tr, label=y_tr, weight=w_tr, nthread=booster_params["nthread"])
        booster = xgb_adapter.train(loss, booster_params, dtrain, num_boost_round, verbose_eval=False)
        return xgb_adapter.predict(booster, X_te, loss=loss)
    import lightgbm as lgb

    from . import lightgbm as lgb_adapter

    booster_params = {**_DEFAULT_PARAMS["lightgbm"], "num_threads": 1, "seed": random_state, **params}
    # free_raw_data=False: the leaf refit of absolute-error/quantile losses reads the features.
    dtrain = lgb.Dataset(X_tr, label=y_tr, weight=w_tr, free_raw_data=False,
                         params={"verbose": booster_params.get("verbose", -1)})
    booster = lgb_adapter.train(loss, booster_params, dtrain, num_boost_round)
    return lgb_adapter.predict(booster, X_te, loss=loss)


def _fit_fold(backend, loss, params, X, y, w, train_idx, test_idx, num_boost_round, random_state):
    """One (loss, fold) fit: test predictions as float64 and the wall time of fit plus predict."""
    start = time.perf_counter()
    pred = _fit_predict(backend, loss, params, X[train_idx], y[train_idx], None if w is None else w[train_idx],
                        X[test_idx], num_boost_round, random_state)
    return np.asarray(pred, dtype=np.float64), time.perf_counter() - start


# ---------------------------------------------------------------------------
# The experiment
# ---------------------------------------------------------------------------


@dataclass
class _Config:
    label: str
    kind: str  # "model", "refined" or "baseline"
    loss: Loss | None = None
    baseline: str | None = None  # "mean", "median"
    power: float = float("nan")
    value: float = float("nan")  # the swept parameter's value (sweeps only)


@dataclass
class _Row:
    label: str
    kind: str
    loss: str
    power: float
    folds: list[dict[str, float]] = field(default_factory=list)
    value: float = float("nan")
    n_floored: int = 0
    seconds: float = float("nan")


def _power_of(loss: Loss | None) -> float:
    if loss is not None and loss.name in ("tweedie", "poisson", "gamma"):
        return float(loss.power)  # type: ignore[attr-defined]
    return float("nan")


class _Experiment:
    """Shared data, folds and settings; evaluates batches of configurations into ``rows``."""

    def __init__(self, X, y, w, groups, *, task, backend, params, num_boost_round, cv, random_state,
                 n_jobs, deviance_power, balance, progress, desc):
        self.X, self.y, self.w = X, y, w
        self.task, self.backend, self.params = task, backend, params
        self.rounds, self.random_state, self.n_jobs = num_boost_round, random_state, n_jobs
        self.deviance_power, self.balance = deviance_power, balance
        self.has_deviances = task == "regression" and float(y.min()) >= 0.0
        self.folds = self._split(cv, groups)
        self.rows: dict[str, _Row] = {}
        self.progress, self.desc = progress, desc
        self.bar: Any = None
        #: Out-of-fold predictions per fitted configuration, kept when set to a dict.
        self.oof: dict[str, np.ndarray] | None = None

    def _split(self, cv, groups):
        from sklearn.model_selection import GroupKFold, KFold, StratifiedGroupKFold, StratifiedKFold

        if self.task == "classification":
            counts = np.bincount(self.y.astype(np.int64), minlength=2)
            if counts.min() < cv:
                raise ValueError(f"cv={cv} folds need at least {cv} rows of each class; the rarer class has {counts.min()}")
            splitter = (StratifiedKFold(cv, shuffle=True, random_state=self.random_state) if groups is None
                        else StratifiedGroupKFold(cv, shuffle=True, random_state=self.random_state))
        elif groups is None:
            splitter = KFold(cv, shuffle=True, random_state=self.random_state)
        else:
            try:
                splitter = GroupKFold(cv, shuffle=True, random_state=self.random_state)
            except TypeError:  # scikit-learn < 1.6: group folds are not shuffled
                splitter = GroupKFold(cv)
        return list(splitter.split(self.X, self.y, groups))

    def _fold_weight(self, idx):
        return None if self.w is None else self.w[idx]

    def _score(self, y, pred, w, train_mean):
        if self.task == "classification":
            return _classification_scores(y, pred, w)
        floor = FLOOR_FRACTION * train_mean if train_mean > 0.0 else 1e-12
        power = self.deviance_power if self.has_deviances else None
        return _regression_scores(y, pred, w, power, floor)

    def add(self, configs: Sequence[_Config]) -> None:
        """Evaluate configurations; their model fits run ``n_jobs`` at a time."""
        steps = len(configs) * len(self.folds)
        if self.bar is None:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=steps, desc=self.desc, unit="fit", disable=not self.progress)
        else:
            self.bar.total += steps
            self.bar.refresh()
        tasks = [(c, f) for c, config in enumerate(configs) if config.loss is not None for f in range(len(self.folds))]
        fits: dict[tuple[int, int], tuple[np.ndarray, float]] = {}
        for (c, f), result in zip(tasks, self._fits(configs, tasks)):
            fits[(c, f)] = result
            self.bar.set_postfix_str(configs[c].label, refresh=False)
            self.bar.update(1)
        for c, config in enumerate(configs):
            self._score_config(config, [fits.get((c, f)) for f in range(len(self.folds))])

    def _fits(self, configs: Sequence[_Config], tasks: list[tuple[int, int]]):
        def call(c: int, f: int):
            train_idx, test_idx = self.folds[f]
            return (self.backend, configs[c].loss, self.params, self.X, self.y, self.w, train_idx, test_idx,
                    self.rounds, self.random_state)

        if self.n_jobs == 1 or len(tasks) <= 1:
            return (_fit_fold(*call(c, f)) for c, f in tasks)
        from joblib import Parallel, delayed

        n = min(self.n_jobs, len(tasks))
        try:
            parallel = Parallel(n_jobs=n, return_as="generator")
        except TypeError:  # joblib < 1.3: results arrive all at once
            parallel = Parallel(n_jobs=n)
        return parallel(delayed(_fit_fold)(*call(c, f)) for c, f in tasks)

    def _score_config(self, config: _Config, fits: list[tuple[np.ndarray, float] | None]) -> None:
        loss_name = "" if config.loss is None else config.loss.name
        row = _Row(config.label, config.kind, loss_name or "constant", config.power, seconds=0.0, value=config.value)
        balanced = None
        if self.balance and config.loss is not None and config.loss.link.name == "log":
            balanced = _Row(f"{config.label} balanced", "balanced", loss_name, config.power, value=config.value)
        for (train_idx, test_idx), fit in zip(self.folds, fits):
            y_tr, y_te = self.y[train_idx], self.y[test_idx]
            w_tr, w_te = self._fold_weight(train_idx), self._fold_weight(test_idx)
            train_mean = _wmean(y_tr, w_tr)
            if fit is None:
                start = time.perf_counter()
                value = train_mean if config.baseline == "mean" else _weighted_median(y_tr, w_tr)
                pred = np.full(test_idx.shape[0], value)
                row.seconds += time.perf_counter() - start
                self.bar.update(1)
            else:
                pred, seconds = fit
                row.seconds += seconds
                if self.oof is not None:
                    self.oof.setdefault(config.label, np.full(self.y.shape[0], np.nan))[test_idx] = pred
            scores, floored = self._score(y_te, pred, w_te, train_mean)
            row.folds.append(scores)
            row.n_floored += floored
            if balanced is not None:
                # Rescale so the mean held-out prediction equals the training mean
                # (uses held-out features, never held-out labels).
                mean_pred = _wmean(pred, w_te)
                factor = train_mean / mean_pred if mean_pred > 0.0 else 1.0
                scores_b, floored_b = self._score(y_te, pred * factor, w_te, train_mean)
                balanced.folds.append(scores_b)
                balanced.n_floored += floored_b
        self.rows[row.label] = row
        if balanced is not None:
            self.rows[balanced.label] = balanced

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()

    def primary_fold_scores(self, label: str, metric: str) -> np.ndarray:
        return np.array([f[metric] for f in self.rows[label].folds])


def _summarize(exp: _Experiment, metric: str, reference: str | None, meta: dict[str, Any]) -> pd.DataFrame:
    metrics = REGRESSION_METRICS if exp.task == "regression" else CLASSIFICATION_METRICS
    higher = metric in _HIGHER_IS_BETTER
    ref_scores = exp.primary_fold_scores(reference, metric) if reference in exp.rows else None
    records = []
    fold_scores: dict[str, dict[str, list[float]]] = {}
    for label, row in exp.rows.items():
        rec: dict[str, Any] = {"config": label, "kind": row.kind, "loss": row.loss, "power": row.power}
        if "parameter" in meta:
            rec["value"] = row.value
        for m in (metric, *[m for m in metrics if m != metric]):
            values = np.array([f[m] for f in row.folds], dtype=np.float64)
            finite = values[np.isfinite(values)]
            rec[m] = float(finite.mean()) if finite.size else float("nan")
            rec[f"{m}_std"] = float(finite.std(ddof=1)) if finite.size > 1 else float("nan")
        scores = exp.primary_fold_scores(label, metric)
        if ref_scores is None or label == reference:
            rec["wins_vs_reference"] = pd.NA
        else:
            better = scores > ref_scores if higher else scores < ref_scores
            rec["wins_vs_reference"] = int(np.count_nonzero(better))
        if exp.task == "regression":
            rec["n_floored"] = row.n_floored
        rec["fit_seconds"] = row.seconds
        rec["n_folds"] = len(row.folds)
        records.append(rec)
        fold_scores[label] = {m: [float(f[m]) for f in row.folds] for m in metrics}
    df = pd.DataFrame.from_records(records)
    key = df[metric].fillna(-np.inf if higher else np.inf)
    order = np.argsort(-key.to_numpy() if higher else key.to_numpy(), kind="stable")
    df = df.iloc[order].reset_index(drop=True)
    best = float(df[metric].iloc[0])
    gap = (best - df[metric]) if higher else (df[metric] - best)
    at = 5 if "parameter" in meta else 4
    df.insert(at, "relative_to_best", gap / abs(best) if best != 0.0 else np.nan)
    df.insert(at, "rank", np.arange(1, len(df) + 1))
    df["wins_vs_reference"] = df["wins_vs_reference"].astype("Int64")
    df.attrs.update(meta)
    df.attrs.update({"metric": metric, "task": exp.task, "reference": reference if ref_scores is not None else None,
                     "higher_is_better": higher, "metrics": list(metrics), "fold_scores": fold_scores})
    return df


def _prepare(X, y, sample_weight, groups, cv, backend, params, num_boost_round, random_state, n_jobs, progress):
    Xa = _check_X(X)
    ya = _check_y(y, Xa.shape[0])
    w = check_sample_weight(sample_weight, Xa.shape[0])
    w = None if w.shape[0] == 0 else np.asarray(w, dtype=np.float64)
    g = _check_groups(groups, Xa.shape[0])
    cv = _check_cv(cv, Xa.shape[0], g)
    backend = _check_backend(backend)
    params = _check_params(params)
    rounds = _check_int(num_boost_round, "num_boost_round", 1)
    seed = _check_random_state(random_state)
    jobs = _check_n_jobs(n_jobs)
    if not isinstance(progress, bool):
        raise ValueError(f"progress must be True or False, got {progress!r}")
    return Xa, ya, w, g, cv, backend, params, rounds, seed, jobs


def _check_metric(metric: Any, task: str) -> str:
    default = "mae" if task == "regression" else "log_loss"
    if metric is None:
        return default
    if metric not in _RANKABLE[task]:
        raise ValueError(f"metric for {task} must be one of {', '.join(map(repr, _RANKABLE[task]))}; got {metric!r}")
    return metric


def _check_labels(loss: Loss, label: str, y: np.ndarray) -> None:
    try:
        loss.check_labels(y)
    except ValueError as exc:
        raise ValueError(f"loss {label} does not fit this target: {exc}") from exc


def ablate_losses(
    X: Any,
    y: Any,
    losses: Sequence[Any] | None = None,
    *,
    backend: str = "xgboost",
    params: dict[str, Any] | None = None,
    num_boost_round: int = 200,
    cv: int = 5,
    groups: Any = None,
    sample_weight: Any = None,
    random_state: int = 0,
    n_jobs: int = 1,
    progress: bool = True,
    metric: str | None = None,
    reference: Any = "auto",
    baselines: bool = True,
    balance: bool = False,
    deviance_power: float = 1.5,
) -> pd.DataFrame:
    """Cross-validate the same booster under each loss and score every row on one panel.

    Parameters
    ----------
    X : array-like or DataFrame of shape (n, d)
        Numeric features; NaN is read as missing.
    y : array-like of shape (n,)
    losses : sequence of loss specs, optional
        Losses as :class:`Loss` objects, names, ``"name(key=value)"``
        strings or ``(name, params)`` pairs (see the module docstring).
        Default: the candidates of :func:`recommend_losses`. Regression
        losses and binary classification losses (logit link) cannot be mixed.
    backend : {"xgboost", "lightgbm"}
    params : dict, optional
        Booster parameters on top of the defaults (XGBoost: ``hist``, depth 6,
        learning rate 0.1; LightGBM: 31 leaves, learning rate 0.1). The
        objective comes from the loss and must not be given.
    num_boost_round : int, default 200
    cv : int >= 2, default 5
        Folds (K-fold, shuffled with ``random_state``; grouped when ``groups``
        is given; stratified for classification). All rows share the folds.
    groups : array-like of shape (n,), optional
        Group ids: rows of a group never straddle training and test.
    sample_weight : array-like of shape (n,), optional
        Training weights and weights of every yardstick.
    random_state : int, default 0
        Seeds the folds and the boosters: equal seeds give equal tables.
    n_jobs : int, default 1
        Fits run at once, in separate processes (-1: one per core). Each
        booster is single-threaded unless ``params`` sets its threads
        (``nthread`` / ``num_threads``); for one large table prefer booster
        threads with ``n_jobs=1``.
    progress : bool, default True
        Show a tqdm progress bar (one step per fitted fold).
    metric : str, optional
        Yardstick that orders the rows: ``"mae"`` (default), ``"rmse"``,
        ``"tweedie_deviance"``, ``"poisson_deviance"`` or ``"gini"`` for
        regression; ``"log_loss"`` (default), ``"auc"`` or ``"brier"`` for
        classification.
    reference : loss spec, "auto" or None, default "auto"
        Row the ``wins_vs_reference`` column counts per-fold wins against;
        "auto" is squared error (regression) or logistic (classification),
        added to the losses if missing. None: no reference.
    baselines : bool, default True
        Add ``constant mean`` and (regression) ``constant median`` rows, the
        training fold's weighted mean / median.
    balance : bool, default False
        Add a ``"<loss> balanced"`` row for each log-link loss: its held-out
        predictions times ``mean(y_train) / mean(predictions)``, so their
        mean equals the training mean (no held-out labels are used).
    deviance_power : float in [1, 2), default 1.5
        Power of the fixed-power Tweedie deviance yardstick.

    Returns
    -------
    pandas.DataFrame
        One row per configuration, best first by ``metric``: ``config``,
        ``kind`` (model / balanced / refined / baseline), ``loss``, ``power``,
        ``rank``, ``relative_to_best`` (fraction worse than the best row),
        the mean and fold standard deviation (``<metric>_std``) of every
        yardstick, ``wins_vs_reference`` (folds beating the reference),
        ``n_floored`` (regression: predictions floored for the deviances,
        summed over folds), ``fit_seconds`` (wall time over all folds) and
        ``n_folds``. ``df.attrs`` holds the settings and per-fold scores.
    """
    Xa, ya, w, g, cv, backend, params, rounds, seed, jobs = _prepare(
        X, y, sample_weight, groups, cv, backend, params, num_boost_round, random_state, n_jobs, progress)
    if losses is None:
        specs: list[Any] = [advice.spec for advice in recommend_losses(ya)]
    else:
        if isinstance(losses, (str, Loss, tuple)) or not isinstance(losses, Iterable):
            raise ValueError("losses must be a list of loss specs, e.g. ['squared_error', 'tweedie(power=1.5)']")
        specs = list(losses)
        if not specs:
            raise ValueError("losses is empty; give at least one loss")
    parsed = [parse_loss(s) for s in specs]
    tasks = {_task_of(loss) for loss in parsed}
    if len(tasks) > 1:
        raise ValueError("losses mix regression and classification losses; ablate them separately")
    task = tasks.pop()
    if reference == "auto":
        reference = "squared_error" if task == "regression" else "logistic"
    if reference is not None:
        ref_loss = parse_loss(reference)
        if _task_of(ref_loss) != task:
            raise ValueError(f"reference {loss_label(ref_loss)} is not a {task} loss")
        if ref_loss not in parsed:
            parsed.append(ref_loss)
        reference = loss_label(ref_loss)
    return _run(Xa, ya, w, g, parsed, task=task, backend=backend, params=params, rounds=rounds, cv=cv, seed=seed,
                jobs=jobs, progress=progress, metric=metric, reference=reference, baselines=baselines,
                balance=balance, deviance_power=deviance_power, desc=f"ablate_losses[{backend}]")


def _check_deviance_power(value: Any) -> float:
    return check_scalar(value, "deviance_power", low=1.0, high=2.0, high_inclusive=False)


def _run(Xa, ya, w, g, parsed, *, task, backend, params, rounds, cv, seed, jobs, progress, metric, reference,
         baselines, balance, deviance_power, desc, sweep=None, refine=0, values=None):
    metric = _check_metric(metric, task)
    deviance_power = _check_deviance_power(deviance_power)
    for name, value in (("baselines", baselines), ("balance", balance)):
        if not isinstance(value, bool):
            raise ValueError(f"{name} must be True or False, got {value!r}")
    if task == "classification" and not np.isin(ya, (0.0, 1.0)).all():
        raise ValueError("classification ablations need labels 0 and 1")
    if task == "regression" and metric in ("tweedie_deviance", "poisson_deviance") and ya.min() < 0:
        raise ValueError(f"metric {metric!r} needs y >= 0; found min(y) = {ya.min():g}")
    labels = [loss_label(loss) for loss in parsed]
    if len(set(labels)) != len(labels):
        raise ValueError(f"losses has duplicates: {labels}")
    for loss, label in zip(parsed, labels):
        _check_labels(loss, label, ya)
    if values is None:
        values = [float("nan")] * len(parsed)
    configs = [_Config(label, "model", loss, power=_power_of(loss), value=v)
               for loss, label, v in zip(parsed, labels, values)]
    if baselines:
        configs.append(_Config("constant mean", "baseline", baseline="mean"))
        if task == "regression":
            configs.append(_Config("constant median", "baseline", baseline="median"))
    exp = _Experiment(Xa, ya, w, g, task=task, backend=backend, params=params, num_boost_round=rounds, cv=cv,
                      random_state=seed, n_jobs=jobs, deviance_power=deviance_power, balance=balance,
                      progress=progress, desc=desc)
    if sweep is not None and sweep.after is not None:
        exp.oof = {}
    try:
        exp.add(configs)
        if sweep is not None and refine > 0:
            _golden_refine(exp, sweep, refine, metric)
    finally:
        exp.close()
    meta = {"backend": backend, "cv": cv, "num_boost_round": rounds, "random_state": seed,
            "deviance_power": deviance_power, "n_rows": int(ya.shape[0]), "params": dict(params)}
    if sweep is not None:
        meta.update({"loss": sweep.base.name, "parameter": sweep.parameter, "values": list(sweep.values)})
    df = _summarize(exp, metric, reference, meta)
    if sweep is not None and sweep.after is not None:
        df = sweep.after(exp, df)
    return df


def _round_value(x: float) -> float:
    """Five significant digits: short labels; four decimals for Tweedie powers in [1, 2], as before."""
    return float(f"{x:.5g}")


def _golden_refine(exp: _Experiment, sweep: "_Sweep", steps: int, metric: str) -> None:
    """Golden-section search for the value between the grid neighbours of the best grid value."""
    higher = metric in _HIGHER_IS_BETTER
    values = list(sweep.values)

    def value(x: float) -> float:
        loss = sweep.loss_at(x)
        label = loss_label(loss)
        if label not in exp.rows:
            exp.add([_Config(label, "refined", loss, power=_power_of(loss), value=x)])
        v = float(np.mean(exp.primary_fold_scores(label, metric)))
        return -v if higher else v

    grid = [value(x) for x in values]
    k = int(np.argmin(grid))
    a = values[max(k - 1, 0)]
    b = values[min(k + 1, len(values) - 1)]
    if b - a <= 0:
        return
    inv_phi = (math.sqrt(5.0) - 1.0) / 2.0
    c, d = b - inv_phi * (b - a), a + inv_phi * (b - a)
    c, d = _round_value(c), _round_value(d)
    fc = value(c)
    used = 1
    fd = value(d) if used < steps else float("inf")
    used += 1
    while used < steps:
        if fc <= fd:
            b, d, fd = d, c, fc
            c = _round_value(b - inv_phi * (b - a))
            fc = value(c)
        else:
            a, c, fc = c, d, fd
            d = _round_value(a + inv_phi * (b - a))
            fd = value(d)
        used += 1


#: Parameters that define what the model predicts (its target functional), not
#: how it is fitted: a cross-validated yardstick would pick the value that suits
#: the yardstick (MAE picks the median), not the user's question.
_TARGET_PARAMETERS: dict[str, tuple[str, ...]] = {"quantile": ("alpha",)}
#: Huber's delta in robust standard deviations of the residuals.
_SCALE_FREE = "robust"


@dataclass
class _Sweep:
    base: Loss
    parameter: str
    values: list[float]
    after: Any = None  # (experiment, table) -> table, once the table exists; the experiment keeps its predictions

    def loss_at(self, value: float) -> Loss:
        params = dict(self.base.params)
        params[self.parameter] = value
        try:
            return get_loss(self.base.name, **params)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{self.parameter}={value!r} is not a valid value of parameter {self.parameter!r} "
                             f"of loss {self.base.name!r}: {exc}") from exc


def _make_sweep(loss: Any, parameter: Any, values: Any) -> _Sweep:
    base = parse_loss(loss)
    if not isinstance(parameter, str) or not parameter:
        raise ValueError(f"parameter must be the name of a loss parameter, got {parameter!r}")
    sig = inspect.signature(type(base).__init__)
    names = [k for k, p in sig.parameters.items()
             if k != "self" and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    if parameter not in names:
        known = ", ".join(repr(k) for k in names) or "none"
        raise ValueError(f"loss {base.name!r} has no parameter {parameter!r}; its parameters: {known}")
    if parameter in _TARGET_PARAMETERS.get(base.name, ()):
        raise ValueError(f"parameter {parameter!r} of loss {base.name!r} sets what the model predicts (the "
                         f"{base.name} level), not how it is fitted; choose it from the question, not by "
                         "cross-validation")
    default = sig.parameters[parameter].default
    if isinstance(default, str) or isinstance(default, bool):
        raise ValueError(f"parameter {parameter!r} of loss {base.name!r} is not numeric "
                         f"(default {default!r}); sweep_loss_parameter sweeps numeric parameters")
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise ValueError(f"values of parameter {parameter!r} of loss {base.name!r} must be a sequence of "
                         f"numbers, got {values!r}")
    out: list[float] = []
    for v in values:
        if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)) or not np.isfinite(v):
            raise ValueError(f"values of parameter {parameter!r} of loss {base.name!r} must be finite numbers, "
                             f"got {v!r}")
        out.append(float(v))
    if not out:
        raise ValueError(f"values of parameter {parameter!r} of loss {base.name!r} is empty; give at least one")
    if len(set(out)) != len(out):
        raise ValueError(f"values of parameter {parameter!r} of loss {base.name!r} has duplicates: {out}")
    sweep = _Sweep(base, parameter, sorted(out))
    for v in sweep.values:
        sweep.loss_at(v)  # reject values the loss refuses before any fit
    return sweep


def sweep_tweedie_power(
    X: Any,
    y: Any,
    powers: Sequence[float] = DEFAULT_POWERS,
    *,
    backend: str = "xgboost",
    params: dict[str, Any] | None = None,
    num_boost_round: int = 200,
    cv: int = 5,
    groups: Any = None,
    sample_weight: Any = None,
    random_state: int = 0,
    n_jobs: int = 1,
    progress: bool = True,
    metric: str = "mae",
    include_squared_error: bool = True,
    baselines: bool = True,
    balance: bool = False,
    refine: int = 0,
    deviance_power: float = 1.5,
    likelihood: bool | None = None,
) -> pd.DataFrame:
    """Cross-validate the same booster with Tweedie loss at each power, plus squared error.

    The loss-ablation experiment of the tracker-cost example as one call: the
    seed's table (MAE and "relative to best" per configuration) is
    ``seed_table(sweep_tweedie_power(X, y))``.

    Parameters
    ----------
    X, y : features (n, d) and a non-negative target (n,)
    powers : sequence of float in [1, 2], default 1.1, 1.2, ..., 1.9
    backend, params, num_boost_round, cv, groups, sample_weight, random_state, n_jobs, progress
        As in :func:`ablate_losses`.
    metric : {"mae", "rmse", "tweedie_deviance", "poisson_deviance", "gini"}, default "mae"
        Yardstick that orders the rows and drives ``refine``. The deviance
        yardstick uses the fixed ``deviance_power`` for every row; a model is
        never scored by its own power's deviance.
    include_squared_error : bool, default True
        Add the squared-error row (the reference of ``wins_vs_reference``).
    baselines, balance, deviance_power
        As in :func:`ablate_losses`.
    refine : int >= 0, default 0
        Extra power evaluations (each a full cross-validation) of a
        golden-section search on ``metric`` between the grid neighbours of
        the best grid power; shown as ``kind == "refined"`` rows.
    likelihood : bool or None, default None
        Add the profile-likelihood choice of the power (the machinery of
        :func:`~gbm_objectives.tweedie_power.estimate_tweedie_power`) read
        from the sweep's own out-of-fold predictions, with no extra fit: the
        Tweedie rows (grid and refined powers in (1, 2)) get
        ``log_likelihood`` and ``dispersion``, and ``df.attrs["likelihood"]``
        holds the power, its 95% interval and dispersion. None: when
        possible (at least 3 powers in (1, 2), at least 2 positive labels);
        True: required (a ValueError says why it is not possible); False:
        skipped (the likelihood costs a series evaluation per row and power,
        seconds on a million rows). :func:`choice_table` shows it beside the
        MAE and deviance choices.

    Returns
    -------
    pandas.DataFrame
        As :func:`sweep_loss_parameter` (of which this is the Tweedie case,
        with parameter ``"power"``); ``power`` and ``value`` hold each row's
        Tweedie power; ``log_likelihood`` and ``dispersion`` (NaN on other
        rows, absent without the likelihood) the Tweedie rows' profile
        log-likelihood and maximum-likelihood dispersion.
    """
    grid = _check_powers(powers)
    if not isinstance(include_squared_error, bool):
        raise ValueError(f"include_squared_error must be True or False, got {include_squared_error!r}")
    if likelihood is not None and not isinstance(likelihood, bool):
        raise ValueError(f"likelihood must be True, False or None, got {likelihood!r}")
    sweep = _make_sweep("tweedie", "power", grid)
    if likelihood is not False:
        open_grid = [p for p in grid if 1.0 < p < 2.0]
        try:
            n_positive = int(np.count_nonzero(np.asarray(y, dtype=np.float64) > 0.0))
        except (TypeError, ValueError):
            n_positive = 2  # the checks of the labels below say what is wrong
        reason = None
        if len(open_grid) < 3:
            reason = f"the likelihood needs at least 3 powers in (1, 2), got {open_grid}"
        elif n_positive < 2:
            reason = "the likelihood's dispersion needs at least 2 positive labels"
        if reason is None:
            sweep.after = _likelihood_report
        elif likelihood:
            raise ValueError(reason)
    return _sweep_run(X, y, sweep, backend=backend, params=params,
                      num_boost_round=num_boost_round, cv=cv, groups=groups, sample_weight=sample_weight,
                      random_state=random_state, n_jobs=n_jobs, progress=progress, metric=metric,
                      reference="squared_error" if include_squared_error else None, baselines=baselines,
                      balance=balance, refine=refine, deviance_power=deviance_power,
                      desc=f"sweep_tweedie_power[{backend}]")


def _likelihood_report(exp: _Experiment, df: pd.DataFrame) -> pd.DataFrame:
    """Profile likelihood of the power from the sweep's out-of-fold predictions (see sweep_tweedie_power)."""
    from .tweedie_power import _profile_from_oof

    rows = df[(df["loss"] == "tweedie") & df["kind"].isin(("model", "refined"))
              & (df["power"] > 1.0) & (df["power"] < 2.0)].sort_values("power")
    grid = rows["power"].to_numpy(dtype=np.float64)
    oof = np.vstack([exp.oof[label] for label in rows["config"]])
    lik = _profile_from_oof(exp.y, exp.w, oof, grid, 10)
    out = df.copy()
    out["log_likelihood"] = np.nan
    out["dispersion"] = np.nan
    where = out["config"].map({c: k for k, c in enumerate(rows["config"])})
    hit = where.notna().to_numpy()
    idx = where[hit].astype(int).to_numpy()
    out.loc[hit, "log_likelihood"] = lik["log_likelihood"][idx]
    out.loc[hit, "dispersion"] = lik["dispersion"][idx]
    k_best = int(np.argmax(lik["log_likelihood"]))
    out.attrs.update(df.attrs)
    out.attrs["likelihood"] = {
        "power": float(lik["power"]), "ci": tuple(float(c) for c in lik["ci"]),
        "ci_open": tuple(bool(o) for o in lik["ci_open"]), "dispersion": float(lik["best_dispersion"]),
        "log_likelihood": float(lik["max_log_likelihood"]), "n_scored": int(lik["n_scored"]),
        "best_fitted": str(rows["config"].iloc[k_best]),
        "profile": {c: lik["profile"][c].tolist() for c in ("power", "log_likelihood", "lr_statistic")},
    }
    return out


def _sweep_run(X, y, sweep: _Sweep, *, backend, params, num_boost_round, cv, groups, sample_weight, random_state,
               n_jobs, progress, metric, reference, baselines, balance, refine, deviance_power, desc):
    Xa, ya, w, g, cv, backend, params, rounds, seed, jobs = _prepare(
        X, y, sample_weight, groups, cv, backend, params, num_boost_round, random_state, n_jobs, progress)
    refine = _check_int(refine, "refine", 0)
    if refine and len(sweep.values) < 2:
        raise ValueError(f"refine needs at least two values of {sweep.parameter!r} to search between")
    parsed: list[Loss] = [sweep.loss_at(v) for v in sweep.values]
    values: list[float] = list(sweep.values)
    task = _task_of(parsed[0])
    if reference == "auto":
        reference = "squared_error" if task == "regression" else "logistic"
    if reference is not None:
        ref_loss = parse_loss(reference)
        if _task_of(ref_loss) != task:
            raise ValueError(f"reference {loss_label(ref_loss)} is not a {task} loss")
        if ref_loss not in parsed:
            parsed.append(ref_loss)
            values.append(float("nan"))
        reference = loss_label(ref_loss)
    return _run(Xa, ya, w, g, parsed, task=task, backend=backend, params=params, rounds=rounds, cv=cv,
                seed=seed, jobs=jobs, progress=progress, metric=metric, reference=reference, baselines=baselines,
                balance=balance, deviance_power=deviance_power, desc=desc, sweep=sweep, refine=refine,
                values=values)


def sweep_loss_parameter(
    X: Any,
    y: Any,
    loss: Any,
    parameter: str,
    values: Sequence[float],
    *,
    backend: str = "xgboost",
    params: dict[str, Any] | None = None,
    num_boost_round: int = 200,
    cv: int = 5,
    groups: Any = None,
    sample_weight: Any = None,
    random_state: int = 0,
    n_jobs: int = 1,
    progress: bool = True,
    metric: str | None = None,
    reference: Any = "auto",
    baselines: bool = True,
    balance: bool = False,
    refine: int = 0,
    deviance_power: float = 1.5,
) -> pd.DataFrame:
    """Cross-validate the same booster and loss at each value of one numeric loss parameter.

    The guidelines tune a loss's own parameters by cross-validation: Huber's
    ``delta`` starting at 1.35 (``sweep_loss_parameter(X, y, "huber",
    "delta", [0.5, 1.35, 3])``; with ``delta_scale="robust"`` in the spec
    the values are in robust standard deviations of the residuals), focal
    ``gamma`` around 2, the Tweedie power in [1.1, 1.9]
    (:func:`sweep_tweedie_power` is this sweep's Tweedie case). Every row is
    scored on the same folds and panel as :func:`ablate_losses`.

    Parameters that set what the model predicts rather than how it is fitted
    are refused: quantile ``alpha`` is the level the user asks for, and a
    yardstick would pick the level that suits it (MAE picks the median), not
    answer the question. Grouped losses (InfoNCE) cannot be ablated, so their
    ``temperature`` is refused with the reason.

    Parameters
    ----------
    X, y : features (n, d) and target (n,)
    loss : loss spec
        Name, ``"name(key=value)"`` string, ``(name, params)`` pair or
        :class:`Loss`; its other parameters stay fixed at the values given.
    parameter : str
        Name of a numeric parameter of the loss (``"delta"``, ``"gamma"``,
        ``"power"``, ``"label_smoothing"``, ...).
    values : sequence of float
        Values to try (sorted; no duplicates); each must be accepted by the loss.
    backend, params, num_boost_round, cv, groups, sample_weight, random_state, n_jobs, progress
        As in :func:`ablate_losses`.
    metric : str, optional
        Yardstick that orders the rows and drives ``refine`` (default MAE for
        regression, log loss for classification).
    reference : loss spec, "auto" or None, default "auto"
        As in :func:`ablate_losses` (squared error / logistic, added as a row).
    baselines, balance, deviance_power
        As in :func:`ablate_losses`.
    refine : int >= 0, default 0
        Extra evaluations (each a full cross-validation) of a golden-section
        search on ``metric`` between the grid neighbours of the best grid
        value; shown as ``kind == "refined"`` rows.

    Returns
    -------
    pandas.DataFrame
        As :func:`ablate_losses`, with a ``value`` column (the parameter's
        value; NaN on the reference and baseline rows);
        ``df.attrs["loss"]``, ``["parameter"]`` and ``["values"]`` name the
        sweep. :func:`~gbm_objectives.plotting.plot_parameter_sweep` plots it.

    Raises
    ------
    ValueError
        A parameter the loss does not have, a non-numeric parameter or value,
        a value the loss rejects, a parameter that sets the target (quantile
        ``alpha``), a grouped or multiclass loss (each naming the parameter
        and the loss), or the input problems of :func:`ablate_losses`.
    """
    sweep = _make_sweep(loss, parameter, values)
    return _sweep_run(X, y, sweep, backend=backend, params=params, num_boost_round=num_boost_round, cv=cv,
                      groups=groups, sample_weight=sample_weight, random_state=random_state, n_jobs=n_jobs,
                      progress=progress, metric=metric, reference=reference, baselines=baselines, balance=balance,
                      refine=refine, deviance_power=deviance_power,
                      desc=f"sweep_loss_parameter[{sweep.base.name}.{parameter}, {backend}]")


# ---------------------------------------------------------------------------
# Advice from the target
# ---------------------------------------------------------------------------


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


# ---------------------------------------------------------------------------
# Presentation
# ---------------------------------------------------------------------------

_METRIC_TITLES = {
    "mae": "MAE", "rmse": "RMSE", "tweedie_deviance": "Tweedie dev", "poisson_deviance": "Poisson dev",
    "gini": "Gini", "calibration": "Calibration", "log_loss": "Log loss", "auc": "AUC", "brier": "Brier",
}


def _check_result(result: Any) -> pd.DataFrame:
    if not isinstance(result, pd.DataFrame) or "config" not in result.columns or "metric" not in result.attrs:
        raise ValueError("expected a result table of ablate_losses() or sweep_tweedie_power()")
    return result


def _fmt(value: float, scale: float | None) -> str:
    """Thousands separators for large metrics, 3 decimals for unit-scale ones (scale None)."""
    if value is None or not np.isfinite(value):
        return "-"
    if scale is None:
        return f"{value:.3f}"
    if scale >= 100:
        return f"{value:,.0f}"
    if scale >= 1:
        return f"{value:,.2f}"
    return f"{value:.4f}"


def _title(result: pd.DataFrame, metric: str) -> str:
    if metric == "tweedie_deviance":
        return f"Tweedie dev (p={result.attrs.get('deviance_power', 1.5):g})"
    return _METRIC_TITLES.get(metric, metric)


def seed_table(result: pd.DataFrame, *, baselines: bool = True, balanced: bool = False) -> pd.DataFrame:
    """The compact table: configuration, the ranking metric, relative to the best row shown.

    Parameters
    ----------
    result : DataFrame from :func:`ablate_losses` or :func:`sweep_tweedie_power`
    baselines : bool, default True
        Keep the constant baselines, so a loss that loses to a constant shows it.
    balanced : bool, default False
        Keep the mean-balanced rows.

    Returns
    -------
    pandas.DataFrame of strings, best first.
    """
    result = _check_result(result)
    metric = result.attrs["metric"]
    kinds = ["model", "refined"] + (["baseline"] if baselines else []) + (["balanced"] if balanced else [])
    rows = result[result["kind"].isin(kinds)]
    if rows.empty:
        raise ValueError("the result has no rows of the kinds asked for")
    higher = result.attrs.get("higher_is_better", False)
    best = float(rows[metric].iloc[0])
    scale = float(np.nanmedian(np.abs(rows[metric].to_numpy(dtype=np.float64))))
    rel = []
    for v in rows[metric]:
        gap = (best - v) if higher else (v - best)
        rel.append("-" if gap == 0 or best == 0 else f"{gap / abs(best):+.1%}")
    return pd.DataFrame({
        "Configuration": rows["config"].to_numpy(),
        _title(result, metric): [_fmt(v, scale) for v in rows[metric]],
        "Relative to best": rel,
    })


def panel_table(result: pd.DataFrame) -> pd.DataFrame:
    """Every yardstick as ``mean ± fold SD``, with fold wins, floored predictions and fit time.

    Returns
    -------
    pandas.DataFrame of strings, in the result's order.
    """
    result = _check_result(result)
    out = {"Configuration": result["config"].to_numpy()}
    for m in result.attrs["metrics"]:
        values = result[m].to_numpy(dtype=np.float64)
        finite = np.abs(values[np.isfinite(values)])
        scale: float | None = float(np.median(finite)) if finite.size else 1.0
        if m in ("gini", "calibration", "auc"):
            scale = None
        out[_title(result, m)] = [
            f"{_fmt(v, scale)} ± {_fmt(s, scale)}" if np.isfinite(s) else _fmt(v, scale)
            for v, s in zip(values, result[f"{m}_std"].to_numpy(dtype=np.float64))
        ]
    ref = result.attrs.get("reference")
    if ref is not None:
        n = result["n_folds"].to_numpy()
        out[f"Wins vs {ref}"] = ["-" if pd.isna(wv) else f"{int(wv)}/{int(k)}"
                                 for wv, k in zip(result["wins_vs_reference"], n)]
    if "n_floored" in result.columns:
        out["Floored"] = [str(int(v)) for v in result["n_floored"]]
    out["Fit s"] = ["-" if not np.isfinite(v) else f"{v:.1f}" for v in result["fit_seconds"].to_numpy(dtype=np.float64)]
    return pd.DataFrame(out)


def _tweedie_choice(result: pd.DataFrame, metric: str) -> pd.Series | None:
    rows = result[(result["loss"] == "tweedie") & result["kind"].isin(("model", "refined"))]
    values = rows[metric].to_numpy(dtype=np.float64)
    if rows.empty or not np.isfinite(values).any():
        return None
    return rows.iloc[int(np.nanargmin(values))]


def choice_table(result: pd.DataFrame) -> pd.DataFrame:
    """The power each criterion picks, side by side, with the baselines and calibration.

    The sweep's report of :func:`sweep_tweedie_power`: the profile-likelihood
    choice (with its 95% interval; present when the sweep computed the
    likelihood), the power of lowest cross-validated MAE and the power of
    lowest fixed-power Tweedie deviance, then the reference (squared error)
    and the constant baselines. Each row shows the fitted configuration it
    reads (for the likelihood, the fitted power of highest likelihood) with
    its MAE, Tweedie deviance (mean ± fold SD) and calibration (mean
    prediction / mean label).

    Parameters
    ----------
    result : DataFrame from :func:`sweep_tweedie_power`

    Returns
    -------
    pandas.DataFrame of strings: ``Choice``, ``Power``, ``95% interval``,
    ``Configuration`` and the yardsticks.
    """
    result = _check_result(result)
    if result.attrs.get("task") != "regression" or not (result["loss"] == "tweedie").any():
        raise ValueError("choice_table needs a result of sweep_tweedie_power() (Tweedie rows)")
    metrics = [m for m in ("mae", "tweedie_deviance", "calibration") if m in result.columns]
    scales = {}
    for m in metrics:
        finite = np.abs(result[m].to_numpy(dtype=np.float64))
        finite = finite[np.isfinite(finite)]
        scales[m] = None if m == "calibration" else (float(np.median(finite)) if finite.size else 1.0)

    def cells(row: pd.Series) -> list[str]:
        out = []
        for m in metrics:
            v, sd = float(row[m]), float(row[f"{m}_std"])
            out.append(f"{_fmt(v, scales[m])} ± {_fmt(sd, scales[m])}" if np.isfinite(sd) else _fmt(v, scales[m]))
        return out

    records = []
    lik = result.attrs.get("likelihood")
    if lik is not None:
        fitted = result[result["config"] == lik["best_fitted"]].iloc[0]
        lo = ("<=" if lik["ci_open"][0] else "") + f"{lik['ci'][0]:.3f}"
        hi = f"{lik['ci'][1]:.3f}" + ("+" if lik["ci_open"][1] else "")
        records.append(["likelihood (profile, out-of-fold)", f"{lik['power']:.3f}", f"[{lo}, {hi}]",
                        str(fitted["config"]), *cells(fitted)])
    for metric, name in (("mae", "MAE"), ("tweedie_deviance", _title(result, "tweedie_deviance"))):
        row = _tweedie_choice(result, metric) if metric in result.columns else None
        if row is not None:
            records.append([f"lowest {name}", f"{float(row['power']):.4g}", "-", str(row["config"]), *cells(row)])
    for config in (result.attrs.get("reference"), "constant mean", "constant median"):
        rows = result[result["config"] == config] if config is not None else result.iloc[:0]
        if not rows.empty:
            kind = "reference" if config == result.attrs.get("reference") else str(rows["kind"].iloc[0])
            records.append([kind, "-", "-", str(config), *cells(rows.iloc[0])])
    return pd.DataFrame(records, columns=["Choice", "Power", "95% interval", "Configuration",
                                          *[_title(result, m) for m in metrics]])


def to_markdown(table: pd.DataFrame) -> str:
    """A GitHub-flavoured Markdown table of a DataFrame (no extra dependency)."""
    if not isinstance(table, pd.DataFrame):
        raise ValueError(f"expected a DataFrame, got {type(table).__name__}")

    def cell(v: Any) -> str:
        return str(v).replace("|", "\\|").replace("\n", " ")

    header = [cell(c) for c in table.columns]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(
        "---:" if pd.api.types.is_numeric_dtype(table[c]) else "---" for c in table.columns) + "|"]
    for row in table.itertuples(index=False):
        lines.append("| " + " | ".join(cell(v) for v in row) + " |")
    return "\n".join(lines) + "\n"


# The Tweedie power by profile likelihood lives in its own module, which reads
# this module's checks and fit path when called; importing it last keeps the
# two free of an import cycle.
from .tweedie_power import TweediePowerEstimate, estimate_tweedie_power  # noqa: E402

__all__ += ["TweediePowerEstimate", "estimate_tweedie_power"]
