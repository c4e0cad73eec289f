"""The interval panel: level-set losses scored as prediction intervals on the ablation's folds.

A level-set loss (``multi_quantile``, ``multi_expectile``: k levels per row
from one model, see :func:`~gbm_objectives.ablation._specs.levels_of`) is
trained on the same folds as every other ablation row and scored with
yardsticks of intervals and levels, never with its own loss:

* ``interval_score``: the interval (Winkler) score of the outermost levels
  ``l`` (level ``a_lo``) and ``u`` (level ``a_hi``),
  ``(u - l) + (l - y)_+ / a_lo + (y - u)_+ / (1 - a_hi)`` (Gneiting and
  Raftery, 2007); for central levels ``a_lo = 1 - a_hi`` it is
  :func:`gbm_objectives.intervals.interval_score` at coverage
  ``a_hi - a_lo``;
* ``coverage``: share of labels in ``[l, u]`` (nominal ``a_hi - a_lo``);
* ``mean_width``: mean of ``u - l``;
* ``pinball`` and ``pinball_<a>``: the pinball loss of each level's column
  at its own level, and their mean over the levels;
* ``expectile`` and ``expectile_<a>``: the same with the expectile loss
  ``|a - 1(y < e)| (y - e)^2 / 2``, the consistent score of an expectile
  (the loss ``multi_expectile`` and ``expectile`` minimise); an expectile
  set is ranked by it (``metric="expectile"``, its default), since the
  outermost expectiles are not an interval of nominal coverage;
* ``crossing_rate``: share of rows where some level lies below the one
  before it.

Interval yardsticks read each row's lowest and highest level: the outer
levels of a non-crossing model, the rearranged (sorted) levels of one whose
levels cross. Pinball losses and the crossing rate read the levels as
predicted. The reference rows are k separately fitted models of the same
booster for the statistic of each kind of level set in the panel:
``quantile(alpha=a)`` (the built-in path: leaves refit to residual
quantiles; "separate quantiles") and ``expectile(alpha=a)`` ("separate
expectiles"), the usual way to get k levels; the baseline rows are the
training fold's weighted quantiles ("constant quantiles") or expectiles
("constant expectiles") at the levels. Wins count folds against the
reference of the ranking metric's statistic (expectiles for
``metric="expectile"``, else quantiles).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pandas as pd

from .._stats import weighted_quantile
from ..losses import Loss, get_loss
from ._experiment import _kfold
from ._fits import _fit_folds_sharing
from ._inputs import _check_deviance_power, _check_labels
from ._specs import levels_of, loss_label
from ._yardsticks import _wmean

#: Yardsticks of every interval row (the per-level pinball columns follow them).
INTERVAL_METRICS = ("interval_score", "coverage", "mean_width", "pinball", "expectile", "crossing_rate")
#: Yardsticks that can order interval rows: coverage and width alone reward the wrong thing.
INTERVAL_RANKABLE = ("interval_score", "pinball", "expectile")
#: Reference and baseline rows per level statistic.
REFERENCE_LABELS = {"quantile": "separate quantiles", "expectile": "separate expectiles"}
BASELINE_LABELS = {"quantile": "constant quantiles", "expectile": "constant expectiles"}
REFERENCE_LABEL = REFERENCE_LABELS["quantile"]
BASELINE_LABEL = BASELINE_LABELS["quantile"]
_NO_WEIGHT = np.empty(0)


def pinball_column(alpha: float) -> str:
    """Column of the pinball loss at level ``alpha``, e.g. ``"pinball_0.05"``."""
    return f"pinball_{format(alpha, '.10g')}"


def expectile_column(alpha: float) -> str:
    """Column of the expectile loss at level ``alpha``, e.g. ``"expectile_0.05"``."""
    return f"expectile_{format(alpha, '.10g')}"


def _pinball(y: np.ndarray, q: np.ndarray, alpha: float) -> np.ndarray:
    r = y - q
    return np.maximum(alpha * r, (alpha - 1.0) * r)


def _expectile_loss(y: np.ndarray, e: np.ndarray, alpha: float) -> np.ndarray:
    r = y - e
    return np.where(r >= 0.0, alpha, 1.0 - alpha) * 0.5 * r * r


def _interval_scores(y: np.ndarray, levels: np.ndarray, w: np.ndarray | None,
                     alphas: tuple[float, ...]) -> dict[str, float]:
    """Every interval yardstick of (n, k) predicted levels at ``alphas`` (see the module docstring)."""
    lower, upper = levels.min(axis=1), levels.max(axis=1)
    a_lo, a_hi = alphas[0], alphas[-1]
    width = upper - lower
    per_level = [_wmean(_pinball(y, levels[:, j], a), w) for j, a in enumerate(alphas)]
    per_level_e = [_wmean(_expectile_loss(y, levels[:, j], a), w) for j, a in enumerate(alphas)]
    scores = {
        "interval_score": _wmean(width + np.maximum(lower - y, 0.0) / a_lo + np.maximum(y - upper, 0.0) / (1.0 - a_hi),
                                 w),
        "coverage": _wmean(((y >= lower) & (y <= upper)).astype(np.float64), w),
        "mean_width": _wmean(width, w),
        "pinball": float(np.mean(per_level)),
        "expectile": float(np.mean(per_level_e)),
        "crossing_rate": _wmean(np.any(np.diff(levels, axis=1) < 0.0, axis=1).astype(np.float64), w),
    }
    scores.update({pinball_column(a): v for a, v in zip(alphas, per_level)})
    scores.update({expectile_column(a): v for a, v in zip(alphas, per_level_e)})
    return scores


def _check_interval_metric(metric: Any, parsed: list[Loss]) -> str:
    if metric is None:
        # Outermost expectiles are no interval of nominal coverage: an expectile set is ranked by its own score.
        return "expectile" if all(loss.level_statistic == "expectile" for loss in parsed) else "interval_score"
    if metric not in INTERVAL_RANKABLE:
        raise ValueError(f"metric for level-set losses (the interval panel) must be one of "
                         f"{', '.join(map(repr, INTERVAL_RANKABLE))}; got {metric!r}")
    return metric


def _shared_levels(parsed: list[Loss], labels: list[str]) -> tuple[float, ...]:
    levels = [levels_of(loss) for loss in parsed]
    first = levels[0]
    for label, lv in zip(labels, levels):
        if lv != first:
            raise ValueError(f"level-set losses in one ablation must share their levels (the yardsticks and "
                             f"the reference depend on them): {labels[0]} has alphas {first}, {label} has {lv}; "
                             "ablate each set of levels separately")
    assert first is not None
    return first


def run_intervals(Xa, ya, w, g, parsed: list[Loss], *, backend, params, rounds, cv, seed, jobs, progress, metric,
                  reference, baselines, balance, deviance_power, desc, client=None) -> pd.DataFrame:
    """Cross-validate level-set losses, the separate-quantile reference and the baseline; the summary table."""
    metric = _check_interval_metric(metric, parsed)
    _check_deviance_power(deviance_power)
    for name, value in (("baselines", baselines), ("balance", balance)):
        if not isinstance(value, bool):
            raise ValueError(f"{name} must be True or False, got {value!r}")
    if not (reference is None or (isinstance(reference, str) and reference == "auto")):
        raise ValueError(f"reference of level-set losses must be 'auto' ({' / '.join(REFERENCE_LABELS.values())}: "
                         f"one quantile or expectile model per level, fitted separately) or None; got {reference!r}")
    labels = [loss_label(loss) for loss in parsed]
    if len(set(labels)) != len(labels):
        raise ValueError(f"losses has duplicates: {labels}")
    for loss, label in zip(parsed, labels):
        _check_labels(loss, label, ya)
    alphas = _shared_levels(parsed, labels)
    # (label, kind, loss column, the losses whose predictions are the row's columns)
    configs: list[tuple[str, str, str, list[Loss] | str]] = [
        (label, "model", loss.name, [loss]) for loss, label in zip(parsed, labels)]
    # The statistic of the ranking metric's reference first, then the other kinds of level set in the panel.
    ranked = "expectile" if metric == "expectile" else "quantile"
    statistics = [ranked, *sorted({str(loss.level_statistic) for loss in parsed} - {ranked})]
    references = {stat: [get_loss(stat, alpha=a) for a in alphas] for stat in statistics}
    if reference == "auto":
        configs.extend((REFERENCE_LABELS[stat], "reference", singles[0].name, singles)
                       for stat, singles in references.items())
    if baselines:
        configs.extend((BASELINE_LABELS[stat], "baseline", "constant", stat) for stat in statistics)
    folds = list(_kfold(cv, g is not None, seed).split(Xa, ya, g))
    # Fold by fold: every model of a fold shares its binned data.
    calls = [(c, j, f) for f in range(len(folds)) for c, cfg in enumerate(configs) if not isinstance(cfg[3], str)
             for j in range(len(cfg[3]))]
    from tqdm.auto import tqdm

    fits: dict[tuple[int, int, int], tuple[np.ndarray, float]] = {}
    with tqdm(total=len(calls), desc=desc, unit="fit", disable=not progress) as bar:
        args = [(f, (backend, configs[c][3][j], params, Xa, ya, w, folds[f][0], folds[f][1], rounds, seed,  # type: ignore[index]
                     None)) for c, j, f in calls]
        for key, (pred, seconds, _) in zip(calls, _fit_folds_sharing(args, jobs, client=client)):
            fits[key] = pred, seconds
            bar.set_postfix_str(configs[key[0]][0], refresh=False)
            bar.update(1)
    rows = []
    for c, (label, kind, loss_name, losses) in enumerate(configs):
        fold_scores, seconds = [], 0.0
        for f, (train_idx, test_idx) in enumerate(folds):
            w_te = None if w is None else w[test_idx]
            if isinstance(losses, str):
                start = time.perf_counter()
                w_tr = _NO_WEIGHT if w is None else w[train_idx]
                consts = _constant_levels(losses, ya[train_idx], w_tr, alphas)
                levels = np.tile(np.asarray(consts, dtype=np.float64), (test_idx.shape[0], 1))
                seconds += time.perf_counter() - start
            else:
                parts = [fits[(c, j, f)] for j in range(len(losses))]
                seconds += sum(s for _, s in parts)
                levels = np.column_stack([p for p, _ in parts])
            fold_scores.append(_interval_scores(ya[test_idx], levels, w_te, alphas))
        rows.append((label, kind, loss_name, fold_scores, seconds))
    meta = {"backend": backend, "cv": cv, "num_boost_round": rounds, "random_state": seed,
            "n_rows": int(ya.shape[0]), "params": dict(params), "alphas": list(alphas),
            "coverage": round(alphas[-1] - alphas[0], 12), "level_statistics": statistics}
    if reference == "auto":
        meta["reference_losses"] = [loss_label(q) for q in references[ranked]]
    return _summarize_intervals(rows, metric, REFERENCE_LABELS[ranked] if reference == "auto" else None, alphas,
                                meta)


def _constant_levels(statistic: str, y: np.ndarray, w: np.ndarray, alphas: tuple[float, ...]) -> list[float]:
    """The training fold's weighted quantiles or expectiles at ``alphas``: the constant baseline."""
    if statistic == "expectile":
        weight = np.asarray(w, dtype=np.float64)
        return [float(get_loss("expectile", alpha=a).fit_init_score(y, weight)) for a in alphas]
    return [weighted_quantile(y, w, a) for a in alphas]


def _summarize_intervals(rows, metric: str, reference: str | None, alphas: tuple[float, ...],
                         meta: dict[str, Any]) -> pd.DataFrame:
    metrics = [*INTERVAL_METRICS, *[pinball_column(a) for a in alphas], *[expectile_column(a) for a in alphas]]
    ref = next((r for r in rows if r[0] == reference), None)
    ref_scores = None if ref is None else np.array([s[metric] for s in ref[3]])
    records = []
    fold_scores: dict[str, dict[str, list[float]]] = {}
    for label, kind, loss_name, scores, seconds in rows:
        rec: dict[str, Any] = {"config": label, "kind": kind, "loss": loss_name}
        for m in metrics:
            values = np.array([s[m] for s in scores], dtype=np.float64)
            finite = values[np.isfinite(values)]
            rec[m] = float(finite.mean()) if finite.size else float("nan")
            rec[f"{m}_std"] = float(finite.std(ddof=1)) if finite.size > 1 else float("nan")
        own = np.array([s[metric] for s in scores])
        rec["wins_vs_reference"] = (pd.NA if ref_scores is None or label == reference
                                    else int(np.count_nonzero(own < ref_scores)))
        rec["fit_seconds"] = seconds
        rec["n_folds"] = len(scores)
        records.append(rec)
        fold_scores[label] = {m: [float(s[m]) for s in scores] for m in metrics}
    df = pd.DataFrame.from_records(records)
    key = df[metric].fillna(np.inf).to_numpy()
    df = df.iloc[np.argsort(key, kind="stable")].reset_index(drop=True)
    best = float(df[metric].iloc[0])
    df.insert(3, "relative_to_best", (df[metric] - best) / abs(best) if best != 0.0 else np.nan)
    df.insert(3, "rank", np.arange(1, len(df) + 1))
    df["wins_vs_reference"] = df["wins_vs_reference"].astype("Int64")
    df.attrs.update(meta)
    df.attrs.update({"metric": metric, "task": "intervals", "reference": reference, "higher_is_better": False,
                     "metrics": metrics, "fold_scores": fold_scores})
    return df
