"""The cross-validation experiment: folds, one fit per (loss, fold), scores, the summary table.

The fits themselves (and the fold data they share) live in :mod:`._fits`.
"""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .._stats import weighted_median
from ..links import LogLink
from ..losses import Loss
from ._fits import _DEFAULT_PARAMS as _DEFAULT_PARAMS
from ._fits import _ClusterFits, _drop_shared, _fit_fold_shared, _fit_folds_unordered
from ._fits import _fit_fold_stopped as _fit_fold_stopped
from ._fits import _fit_folds as _fit_folds
from ._fits import _in_order as _in_order
from ._fits import _own_arrays as _own_arrays
from ._inputs import FeatureMatrix, Folds, _check_deviance_power, _check_labels
from ._specs import loss_label
from ._yardsticks import (
    _HIGHER_IS_BETTER,
    CLASSIFICATION_METRICS,
    DISTRIBUTION_METRICS,
    FLOOR_FRACTION,
    REGRESSION_METRICS,
    _check_metric,
    _classification_scores,
    _regression_scores,
    _wmean,
    distribution_scores,
    no_distribution_scores,
)


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
    """The power column: the loss's Tweedie variance power, NaN for other losses and baselines."""
    power = None if loss is None else loss.variance_power
    return float("nan") if power is None else float(power)


def _kfold(n_splits: int | Folds, grouped: bool, seed: int) -> Any:
    """Shuffled K-fold, or group K-fold when rows come in groups (shuffled where scikit-learn can).

    Folds already cut from a user's splitter (:class:`Folds`) are returned as they are.
    """
    from sklearn.model_selection import GroupKFold, KFold

    if isinstance(n_splits, Folds):
        return n_splits
    if not grouped:
        return KFold(n_splits, shuffle=True, random_state=seed)
    try:
        return GroupKFold(n_splits, shuffle=True, random_state=seed)
    except TypeError:  # scikit-learn < 1.6: group folds are not shuffled
        return GroupKFold(n_splits)


#: Share of each fold's training rows held out to stop boosting early.
STOPPING_FRACTION = 0.1


def _stopping_rows(train_idx: np.ndarray, groups: np.ndarray | None, seed: int, fold: int) -> np.ndarray:
    """Positions (in ``train_idx``) of the rows that stop the fold's boosting: about a tenth, at random,
    whole groups when rows come in groups. The test rows never take part."""
    n = train_idx.shape[0]
    rng = np.random.default_rng([seed, fold])
    if groups is None:
        if n < 2:
            raise ValueError(f"early stopping needs at least 2 training rows in each fold; fold {fold} has {n}")
        return np.sort(rng.permutation(n)[:max(1, round(STOPPING_FRACTION * n))])
    _, codes = np.unique(groups[train_idx], return_inverse=True)
    n_groups = int(codes.max()) + 1
    if n_groups < 2:
        raise ValueError(f"early stopping holds out whole groups: fold {fold} has 1 group in its training rows")
    sizes = np.bincount(codes, minlength=n_groups)
    order = rng.permutation(n_groups)
    take = np.searchsorted(np.cumsum(sizes[order]), STOPPING_FRACTION * n) + 1
    chosen = order[:min(int(take), n_groups - 1)]
    return np.flatnonzero(np.isin(codes, chosen))


class _Experiment:
    """Shared data, folds and settings; evaluates batches of configurations into ``rows``."""

    def __init__(self, X, y, w, groups, *, task, backend, params, num_boost_round, cv, random_state,
                 n_jobs, deviance_power, balance, progress, desc, early_stopping_rounds=None, client=None):
        self.X, self.y, self.w = X, y, w
        #: The fits' tasks and scattered data when a dask.distributed client runs them.
        self.cluster = None if client is None else _ClusterFits(client)
        #: Names this experiment's fold data in every process that fits its folds (see :mod:`._fits`).
        self.token = uuid.uuid4().hex
        self.task, self.backend, self.params = task, backend, params
        self.rounds, self.random_state, self.n_jobs = num_boost_round, random_state, n_jobs
        self.deviance_power, self.balance = deviance_power, balance
        self.has_deviances = task == "regression" and float(y.min()) >= 0.0
        self.splitter = ""
        self.folds = self._split(cv, groups)
        self.early_stopping_rounds = early_stopping_rounds
        #: Validation rows of each fold (positions in its training rows), when stopping early.
        self.stopping_rows = (None if early_stopping_rounds is None else
                              [_stopping_rows(tr, groups, random_state, f) for f, (tr, _) in enumerate(self.folds)])
        #: Rounds kept per fitted configuration and fold, when stopping early.
        self.best_iterations: dict[str, list[int]] = {}
        self.rows: dict[str, _Row] = {}
        self.progress, self.desc = progress, desc
        self.bar: Any = None
        #: Out-of-fold predictions per fitted configuration, kept when set to a dict.
        self.oof: dict[str, np.ndarray] | None = None
        #: The yardsticks of every row; :data:`DISTRIBUTION_METRICS` are added
        #: when the panel holds a distributional loss.
        self.metrics: tuple[str, ...] = REGRESSION_METRICS if task == "regression" else CLASSIFICATION_METRICS

    def _split(self, cv, groups):
        from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

        if isinstance(cv, Folds):
            self.splitter = repr(cv)
            return list(cv.folds)
        if self.task == "binary":
            counts = np.bincount(self.y.astype(np.int64), minlength=2)
            if counts.min() < cv:
                raise ValueError(f"cv={cv} folds need at least {cv} rows of each class; "
                                 f"the rarer class has {counts.min()}")
            splitter = (StratifiedKFold(cv, shuffle=True, random_state=self.random_state) if groups is None
                        else StratifiedGroupKFold(cv, shuffle=True, random_state=self.random_state))
        else:
            splitter = _kfold(cv, groups is not None, self.random_state)
        self.splitter = repr(splitter)
        return list(splitter.split(self.X, self.y, groups))

    def _fold_weight(self, idx):
        return None if self.w is None else self.w[idx]

    def _score(self, y, pred, w, train_mean):
        if self.task == "binary":
            return _classification_scores(y, pred, w)
        floor = FLOOR_FRACTION * train_mean if train_mean > 0.0 else 1e-12
        power = self.deviance_power if self.has_deviances else None
        return _regression_scores(y, pred, w, power, floor)

    def add(self, configs: Sequence[_Config]) -> None:
        """Evaluate configurations; their model fits run ``n_jobs`` at a time, or on the cluster."""
        steps = len(configs) * len(self.folds)
        if self.bar is None:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=steps, desc=self.desc, unit="fit", disable=not self.progress)
        else:
            self.bar.total += steps
            self.bar.refresh()
        # Fold by fold: a process (thread) then builds each fold's data once for all its losses.
        tasks = [(c, f) for f in range(len(self.folds)) for c, config in enumerate(configs) if config.loss is not None]
        fits: dict[tuple[int, int], tuple[np.ndarray, float]] = {}
        for i, (pred, seconds, kept) in self._fits(configs, tasks):
            c, f = tasks[i]
            fits[(c, f)] = pred, seconds
            if kept is not None:
                self.best_iterations.setdefault(configs[c].label, [0] * len(self.folds))[f] = kept
            self.bar.set_postfix_str(configs[c].label, refresh=False)
            self.bar.update(1)
        for c, config in enumerate(configs):
            self._score_config(config, [fits.get((c, f)) for f in range(len(self.folds))])

    def _fits(self, configs: Sequence[_Config], tasks: list[tuple[int, int]]):
        # Worker processes of joblib outlive the experiment: each drops a fold's data after the fold's last
        # fit of the batch. This process and the cluster's workers keep it for later batches (a sweep's
        # refinement) until close().
        release = self.cluster is None and self.n_jobs > 1

        def call(i: int, c: int, f: int):
            train_idx, test_idx = self.folds[f]
            stopping = (None if self.stopping_rows is None
                        else (self.early_stopping_rounds, self.stopping_rows[f]))
            last = i + 1 == len(tasks) or tasks[i + 1][1] != f
            return ((self.token, f), release and last, self.backend, configs[c].loss, self.params, self.X, self.y,
                    self.w, train_idx, test_idx, self.rounds, self.random_state, stopping)

        calls = [call(i, c, f) for i, (c, f) in enumerate(tasks)]
        return _fit_folds_unordered(calls, self.n_jobs, _fit_fold_shared, self.cluster)

    def _score_config(self, config: _Config, fits: list[tuple[np.ndarray, float] | None]) -> None:
        loss_name = "" if config.loss is None else config.loss.name
        row = _Row(config.label, config.kind, loss_name or "constant", config.power, seconds=0.0, value=config.value)
        balanced = None
        # A multiplicative rescale is a shift of the margin only under the log link.
        if self.balance and config.loss is not None and isinstance(config.loss.link, LogLink):
            balanced = _Row(f"{config.label} balanced", "balanced", loss_name, config.power, value=config.value)
        for (train_idx, test_idx), fit in zip(self.folds, fits):
            extra = no_distribution_scores()
            y_tr, y_te = self.y[train_idx], self.y[test_idx]
            w_tr, w_te = self._fold_weight(train_idx), self._fold_weight(test_idx)
            train_mean = _wmean(y_tr, w_tr)
            if fit is None:
                start = time.perf_counter()
                value = train_mean if config.baseline == "mean" else weighted_median(y_tr, w_tr)
                pred = np.full(test_idx.shape[0], value)
                row.seconds += time.perf_counter() - start
                self.bar.update(1)
            else:
                pred, seconds = fit
                row.seconds += seconds
                if config.loss.predicts_distribution:
                    dist = config.loss.distribution(pred)
                    pred = dist.mean()
                    extra = distribution_scores(dist, y_te, w_te)
                if self.oof is not None:
                    self.oof.setdefault(config.label, np.full(self.y.shape[0], np.nan))[test_idx] = pred
            scores, floored = self._score(y_te, pred, w_te, train_mean)
            if len(self.metrics) > len(scores):
                scores.update(extra)
            row.folds.append(scores)
            row.n_floored += floored
            if balanced is not None:
                # Rescale so the mean held-out prediction equals the training mean
                # (uses held-out features, never held-out labels).
                mean_pred = _wmean(pred, w_te)
                factor = train_mean / mean_pred if mean_pred > 0.0 else 1.0
                scores_b, floored_b = self._score(y_te, pred * factor, w_te, train_mean)
                if len(self.metrics) > len(scores_b):
                    scores_b.update(no_distribution_scores())
                balanced.folds.append(scores_b)
                balanced.n_floored += floored_b
        self.rows[row.label] = row
        if balanced is not None:
            self.rows[balanced.label] = balanced

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
        _drop_shared(self.token)
        if self.cluster is not None:
            try:
                self.cluster.client.run(_drop_shared, self.token)
            finally:
                self.cluster.close()

    def primary_fold_scores(self, label: str, metric: str) -> np.ndarray:
        return np.array([f[metric] for f in self.rows[label].folds])


def _data_meta(X: Any, cv: Any, splitter: str, folds: Sequence[tuple[np.ndarray, np.ndarray]]) -> dict[str, Any]:
    """What the results record of the folds and the features.

    ``cv`` stays the fold count (an integer ``cv`` as given); ``splitter`` is
    the splitter's repr and ``n_tested`` the rows in some test fold (fewer
    than ``n_rows`` for splitters such as TimeSeriesSplit that never test
    some rows). Categorical columns, where there are any, are named.
    """
    tested = np.zeros(X.shape[0], dtype=bool)
    for _, test in folds:
        tested[test] = True
    meta: dict[str, Any] = {"cv": cv if isinstance(cv, int) else len(folds), "splitter": splitter,
                            "n_tested": int(np.count_nonzero(tested))}
    if isinstance(X, FeatureMatrix):
        meta["categorical_features"] = X.categorical_names
    return meta


def _summarize(exp: _Experiment, metric: str, reference: str | None, meta: dict[str, Any]) -> pd.DataFrame:
    metrics = exp.metrics
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
        elif not (np.all(np.isfinite(scores)) and np.all(np.isfinite(ref_scores))):
            # A row or reference without the metric (a point loss's log score) cannot win or lose.
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


def _run(Xa, ya, w, g, parsed, *, task, backend, params, rounds, cv, seed, jobs, progress, metric, reference,
         baselines, balance, deviance_power, desc, sweep=None, refine=0, values=None, early_stopping_rounds=None,
         client=None):
    metric = _check_metric(metric, task)
    deviance_power = _check_deviance_power(deviance_power)
    for name, value in (("baselines", baselines), ("balance", balance)):
        if not isinstance(value, bool):
            raise ValueError(f"{name} must be True or False, got {value!r}")
    if task == "binary" and not np.isin(ya, (0.0, 1.0)).all():
        raise ValueError("binary classification ablations need labels 0 and 1")
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
                      progress=progress, desc=desc, early_stopping_rounds=early_stopping_rounds, client=client)
    if any(loss.predicts_distribution for loss in parsed):
        exp.metrics = (*exp.metrics, *DISTRIBUTION_METRICS)
    elif metric in DISTRIBUTION_METRICS:
        raise ValueError(f"metric {metric!r} scores predicted distributions; the panel has no distributional loss")
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
    meta.update(_data_meta(Xa, cv, exp.splitter, exp.folds))
    if early_stopping_rounds is not None:
        meta.update({"early_stopping_rounds": early_stopping_rounds, "stopping_fraction": STOPPING_FRACTION,
                     "best_iterations": dict(exp.best_iterations)})
    if sweep is not None:
        meta.update({"loss": sweep.base.name, "parameter": sweep.parameter, "values": list(sweep.values)})
    df = _summarize(exp, metric, reference, meta)
    if sweep is not None and sweep.after is not None:
        df = sweep.after(exp, df)
    return df


def _round_value(x: float) -> float:
    """Five significant digits: short labels; four decimals for Tweedie powers in [1, 2], as before."""
    return float(f"{x:.5g}")


def _golden_refine(exp: _Experiment, sweep: Any, steps: int, metric: str) -> None:
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
