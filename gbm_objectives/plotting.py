"""Plots of ablation results and of predictive distributions (matplotlib, the optional ``plot`` extra, imported on use).

The ablation helpers take a table from :func:`~gbm_objectives.ablation.ablate_losses`,
:func:`~gbm_objectives.ablation.sweep_loss_parameter` or
:func:`~gbm_objectives.ablation.sweep_tweedie_power` (the interval panel of
level-set losses has :func:`plot_interval_ablation`); the calibration helpers
take predictive distributions and the observations. Each returns the
matplotlib ``Axes`` it drew on (``ax.figure.savefig(...)`` writes it);
:func:`plot_interval_ablation` returns its three.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from .distributions import pit_histogram, zero_calibration

__all__ = ["plot_power_sweep", "plot_parameter_sweep", "plot_ablation", "plot_interval_ablation", "plot_pit_histogram",
           "plot_zero_reliability"]

_KIND_COLORS = {"model": "#1f77b4", "refined": "#2ca02c", "balanced": "#9467bd", "reference": "#ff7f0e",
                "baseline": "#7f7f7f"}


def _pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("plotting needs matplotlib: pip install 'gbm-objectives[plot]'") from exc
    return plt


def _check(result: Any, metric: str | None) -> tuple[pd.DataFrame, str]:
    from .ablation._tables import _check_result

    result = _check_result(result)
    metric = result.attrs["metric"] if metric is None else metric
    if metric not in result.attrs.get("metrics", ()):
        raise ValueError(f"metric must be one of {', '.join(result.attrs.get('metrics', ()))}; got {metric!r}")
    return result, metric


def _label(result: pd.DataFrame, metric: str) -> str:
    from .ablation._tables import _title

    return _title(result, metric)


def _axes(ax: Any, figsize: tuple[float, float]):
    if ax is not None:
        return ax
    _, ax = _pyplot().subplots(figsize=figsize, layout="constrained")
    return ax


def plot_power_sweep(result: pd.DataFrame, metric: str | None = None, *, ax: Any = None,
                     title: str | None = None) -> Any:
    """Cross-validated ``metric`` against the Tweedie power, with the spread over folds.

    Each fold's score is a dot; the line joins the fold means with error bars
    of one fold standard deviation. Squared error and the constant baselines
    are horizontal reference lines (baselines only when they fit the axis);
    the profile-likelihood power and its 95% interval, when the sweep
    computed them, are a vertical line and a band.

    Parameters
    ----------
    result : DataFrame from :func:`sweep_tweedie_power`
    metric : str, optional
        Default: the metric the table is ranked by.
    ax : matplotlib Axes, optional
    title : str, optional

    Returns
    -------
    matplotlib.axes.Axes
    """
    result, metric = _check(result, metric)
    if result.attrs.get("parameter") != "power" or result.attrs.get("loss") != "tweedie":
        raise ValueError("expected a result table of sweep_tweedie_power() (a sweep of the Tweedie power)")
    ax = plot_parameter_sweep(
        result, metric, ax=ax, log_x=False,
        title=title or f"{_label(result, metric)} vs Tweedie power [{result.attrs.get('backend', '')}]",
    )
    lik = result.attrs.get("likelihood")
    if lik is not None:
        ax.axvspan(lik["ci"][0], lik["ci"][1], color="#ff7f0e", alpha=0.12,
                   label=f"likelihood 95% interval [{lik['ci'][0]:.3f}, {lik['ci'][1]:.3f}]")
        ax.axvline(lik["power"], color="#ff7f0e", label=f"likelihood power {lik['power']:.3f}")
        ax.legend(fontsize="small")
    ax.set_xlabel("Tweedie power")
    return ax


def plot_parameter_sweep(result: pd.DataFrame, metric: str | None = None, *, ax: Any = None,
                         title: str | None = None, log_x: bool | None = None) -> Any:
    """Cross-validated ``metric`` against the swept loss parameter, with the spread over folds.

    The plot of :func:`~gbm_objectives.ablation.sweep_loss_parameter`: each
    fold's score is a dot, the line joins the fold means with error bars of
    one fold standard deviation, refined values are diamonds, and the
    reference and constant baselines are horizontal lines (baselines only
    when they fit the axis).

    Parameters
    ----------
    result : DataFrame from :func:`sweep_loss_parameter` or :func:`sweep_tweedie_power`
    metric : str, optional
        Default: the metric the table is ranked by.
    ax : matplotlib Axes, optional
    title : str, optional
    log_x : bool, optional
        Logarithmic x axis; default when the values are positive and span
        more than a factor of 10 (temperatures, deltas).

    Returns
    -------
    matplotlib.axes.Axes
    """
    result, metric = _check(result, metric)
    parameter = result.attrs.get("parameter")
    if parameter is None or "value" not in result.columns:
        raise ValueError("expected a result table of sweep_loss_parameter() or sweep_tweedie_power()")
    folds = result.attrs.get("fold_scores", {})
    swept = result[result["kind"].isin(("model", "refined")) & result["value"].notna()].sort_values("value")
    if swept.empty:
        raise ValueError("the result has no swept model rows to plot")
    name = f"{result.attrs.get('loss', '')} {parameter}".strip()
    ax = _axes(ax, (6.4, 4.0))
    for value, config in zip(swept["value"], swept["config"]):
        scores = np.asarray(folds.get(config, {}).get(metric, []), dtype=np.float64)
        ax.scatter(np.full(scores.shape, value), scores, s=10, color="#aec7e8", zorder=1)
    ax.errorbar(swept["value"], swept[metric], yerr=swept[f"{metric}_std"].fillna(0.0), marker="o",
                color=_KIND_COLORS["model"], capsize=3, zorder=2, label=f"{name} (mean ± fold SD)")
    bal = result[(result["kind"] == "balanced") & result["value"].notna()].sort_values("value")
    if not bal.empty:
        ax.plot(bal["value"], bal[metric], marker="s", linestyle="--", color=_KIND_COLORS["balanced"], zorder=2,
                label="mean-balanced")
    refined = swept[swept["kind"] == "refined"]
    if not refined.empty:
        ax.scatter(refined["value"], refined[metric], marker="D", color=_KIND_COLORS["refined"], zorder=3,
                   label=f"refined {parameter}")
    lo, hi = ax.get_ylim()
    span = hi - lo
    ref = result.attrs.get("reference")
    for config, style, color in ((ref, "--", "#d62728"), ("constant median", ":", "#7f7f7f"),
                                 ("constant mean", "-.", "#7f7f7f")):
        rows = result[result["config"] == config] if config is not None else result.iloc[:0]
        if rows.empty:
            continue
        value = float(rows[metric].iloc[0])
        if config != ref and not (lo - span <= value <= hi + span):
            continue
        ax.axhline(value, linestyle=style, color=color, label=config)
    values = swept["value"].to_numpy(dtype=np.float64)
    if log_x is None:
        log_x = bool(values.min() > 0.0 and values.max() > 10.0 * values.min())
    if log_x:
        ax.set_xscale("log")
    ax.set_xlabel(name)
    ax.set_ylabel(f"{_label(result, metric)} ({result.attrs.get('cv', '?')}-fold CV)")
    ax.set_title(title or f"{_label(result, metric)} vs {name} [{result.attrs.get('backend', '')}]")
    ax.legend(fontsize="small")
    ax.grid(alpha=0.3)
    return ax


def plot_ablation(result: pd.DataFrame, metric: str | None = None, *, ax: Any = None,
                  title: str | None = None) -> Any:
    """Horizontal bars of ``metric`` per configuration (best on top), fold SD as error bars.

    Bars are coloured by kind: model, refined, balanced, reference, baseline.

    Parameters
    ----------
    result : DataFrame from :func:`ablate_losses` or :func:`sweep_tweedie_power`
    metric : str, optional
        Default: the metric the table is ranked by.
    ax : matplotlib Axes, optional
    title : str, optional

    Returns
    -------
    matplotlib.axes.Axes
    """
    result, metric = _check(result, metric)
    ax = _axes(ax, (6.4, 0.9 + 0.35 * len(result)))
    y = np.arange(len(result))[::-1]
    colors = [_KIND_COLORS.get(k, "#1f77b4") for k in result["kind"]]
    ax.barh(y, result[metric], xerr=result[f"{metric}_std"].fillna(0.0), color=colors, capsize=2)
    ax.set_yticks(y, result["config"], fontsize="small")
    ax.set_xlabel(f"{_label(result, metric)} ({result.attrs.get('cv', '?')}-fold CV, mean ± fold SD)")
    ax.set_title(title or f"Loss ablation [{result.attrs.get('backend', '')}]")
    handles = [_pyplot().Rectangle((0, 0), 1, 1, color=c) for k, c in _KIND_COLORS.items()
               if k in set(result["kind"])]
    ax.legend(handles, [k for k in _KIND_COLORS if k in set(result["kind"])], fontsize="small", loc="lower right")
    ax.grid(axis="x", alpha=0.3)
    return ax


#: Columns every interval panel carries (the ranking metric's column is checked besides).
_INTERVAL_COLUMNS = ("config", "kind", "coverage", "mean_width")


def _interval_panel(result: Any, metric: str | None) -> tuple[pd.DataFrame, str]:
    """``result`` checked as an interval panel, and the yardstick of the third plot."""
    from .ablation._intervals import INTERVAL_METRICS

    if not isinstance(result, pd.DataFrame):
        raise ValueError(f"expected the interval table of ablate_losses() with level-set losses (a DataFrame), "
                         f"got {type(result).__name__}")
    task = result.attrs.get("task")
    if task is not None and task != "intervals":
        raise ValueError(f"expected the interval table of ablate_losses() with level-set losses; got a table of "
                         f"task {task!r} (point-loss tables have plot_ablation)")
    metric = result.attrs.get("metric", "interval_score") if metric is None else metric
    yardsticks = result.attrs.get("metrics") or [
        *INTERVAL_METRICS, *[c for c in result.columns if str(c).startswith(("pinball_", "expectile_"))
                             and not str(c).endswith("_std")]]
    if not isinstance(metric, str) or metric not in yardsticks:
        raise ValueError(f"metric must be one of {', '.join(map(str, yardsticks))}; got {metric!r}")
    missing = [c for c in (*_INTERVAL_COLUMNS, metric) if c not in result.columns]
    if missing:
        raise ValueError(f"expected the interval table of ablate_losses() with level-set losses; the table has no "
                         f"column {', '.join(map(repr, missing))} (point-loss tables have plot_ablation)")
    if result.empty:
        raise ValueError("the interval table has no rows to plot")
    for column in ("coverage", "mean_width", metric):
        for name in (column, f"{column}_std"):
            if name in result.columns and not pd.api.types.is_numeric_dtype(result[name]):
                raise ValueError(f"column {name!r} of the interval table is not numeric (dtype {result[name].dtype})")
    return result, metric


def plot_interval_ablation(result: pd.DataFrame, metric: str | None = None, *, coverage: float | None = None,
                           axes: Sequence[Any] | None = None, title: str | None = None) -> np.ndarray:
    """Coverage against its nominal value, mean width and a score per row of the interval panel.

    The plot of level-set losses (``multi_quantile``, ``multi_expectile``)
    on the ablation's folds: three panels sharing one row per configuration
    (best first, as in the table), coloured by kind (the level-set models,
    the separately fitted reference, the constant baseline). Left: coverage
    of each row's outermost levels as a point, with the nominal coverage as
    a dashed line; middle: mean width of those levels; right: ``metric``
    (interval score, pinball or expectile loss). Error bars are one fold
    standard deviation where the table carries the ``<column>_std`` columns.

    Parameters
    ----------
    result : DataFrame
        The table :func:`~gbm_objectives.ablation.ablate_losses` returns for
        level-set losses (``result.attrs["task"] == "intervals"``; the
        command line writes it to ``<out>/ablation.intervals.csv``), or that
        CSV read back (columns ``config``, ``kind``, ``coverage``,
        ``mean_width`` and the metric's).
    metric : str, optional
        Yardstick of the right panel. Default: the metric the table is
        ranked by (``interval_score`` for a table read back from CSV).
    coverage : float in (0, 1), optional
        Nominal coverage drawn on the left panel. Default: the table's
        ``attrs["coverage"]`` (highest minus lowest level) when its level
        sets include quantile sets; none for expectile sets only, whose
        outermost levels are no interval of nominal coverage, or for a
        table read back from CSV (which has no ``attrs``).
    axes : sequence of 3 matplotlib Axes, optional
        Where to draw coverage, width and ``metric``; default a new figure.
    title : str, optional
        Figure title; default the levels and the booster (a new figure only).

    Returns
    -------
    numpy.ndarray of 3 matplotlib Axes
        Coverage, mean width, ``metric``; ``axes[0].figure.savefig(...)``
        writes the figure.

    Raises
    ------
    ValueError
        If ``result`` is not an interval table (a column is missing or not
        numeric, a point-loss table, no rows), ``metric`` is not one of its
        yardsticks, ``coverage`` is not in (0, 1) or ``axes`` are not three.
    """
    result, metric = _interval_panel(result, metric)
    attrs = result.attrs
    if coverage is None:
        if "quantile" in attrs.get("level_statistics", ()) and attrs.get("coverage") is not None:
            coverage = float(attrs["coverage"])
    elif isinstance(coverage, bool) or not isinstance(coverage, (int, float)) or not 0.0 < coverage < 1.0:
        raise ValueError(f"coverage must be a number in (0, 1), the nominal coverage; got {coverage!r}")
    n = len(result)
    created_here = axes is None
    if axes is None:
        fig, created = _pyplot().subplots(1, 3, sharey=True, figsize=(12.0, max(2.8, 1.4 + 0.4 * n)),
                                          layout="constrained")
        axes = np.asarray(created, dtype=object)
        alphas = attrs.get("alphas")
        levels = f"levels {', '.join(f'{a:g}' for a in alphas)}" if alphas else "level-set losses"
        backend = f" [{attrs['backend']}]" if attrs.get("backend") else ""
        fig.suptitle(title or f"Prediction intervals, {levels}{backend}")
    else:
        axes = np.asarray(list(axes), dtype=object)
        if axes.shape != (3,):
            raise ValueError(f"axes must be 3 matplotlib Axes (coverage, width, {metric}); got {axes.shape[0]}")
        if title is not None:
            axes[0].figure.suptitle(title)
    y = np.arange(n)[::-1]
    kinds = [str(k) for k in result["kind"]]
    colors = [_KIND_COLORS.get(k, _KIND_COLORS["model"]) for k in kinds]

    def spread(column: str) -> np.ndarray | None:
        sd = f"{column}_std"
        return result[sd].fillna(0.0).to_numpy(dtype=np.float64) if sd in result.columns else None

    folds = f"{attrs['cv']}-fold CV, " if attrs.get("cv") is not None else ""
    cov = result["coverage"].to_numpy(dtype=np.float64)
    cov_sd = spread("coverage")
    ax = axes[0]
    ax.errorbar(cov, y, xerr=cov_sd, fmt="none", ecolor="#7f7f7f", capsize=3, zorder=1)
    ax.scatter(cov, y, c=colors, s=40, zorder=2)
    nominal = ""
    if coverage is not None:  # named in the label: a legend would hide points, which may lie anywhere
        ax.axvline(coverage, color="#d62728", linestyle="--")
        nominal = f"; dashed: nominal {coverage:.0%}"
    # Zoomed to the points, their fold SD and the nominal line: on a 0-100% axis 85% and 90% look alike.
    sd = 0.0 if cov_sd is None else cov_sd
    reach = np.concatenate([cov - sd, cov + sd, [] if coverage is None else [coverage]])
    reach = reach[np.isfinite(reach)]
    low, high = (float(reach.min()), float(reach.max())) if reach.size else (0.0, 1.0)
    pad = max(0.01, 0.1 * (high - low))
    ax.set_xlim(max(0.0, low - pad), min(1.0, high + pad) + 0.005)
    ax.xaxis.set_major_formatter(_ticker().PercentFormatter(1.0))
    ax.set_xlabel(f"coverage of the outermost levels\n({folds}mean ± fold SD{nominal})")
    for panel, column, label in ((axes[1], "mean_width", "mean width"),
                                 (axes[2], metric, _interval_label(result, metric, coverage))):
        panel.barh(y, result[column].to_numpy(dtype=np.float64), xerr=spread(column), color=colors, capsize=2)
        panel.set_xlabel(f"{label}\n({folds}mean ± fold SD)")
    for panel in axes:
        panel.set_yticks(y, [str(c) for c in result["config"]], fontsize="small")
        panel.grid(axis="x", alpha=0.3)
    shown = [k for k in _KIND_COLORS if k in set(kinds)]
    handles = [_pyplot().Rectangle((0, 0), 1, 1, color=_KIND_COLORS[k]) for k in shown]
    if created_here:  # below the panels, where it covers no bar
        axes[0].figure.legend(handles, shown, fontsize="small", loc="outside lower center", ncols=len(shown))
    else:
        axes[2].legend(handles, shown, fontsize="small", loc="best")
    return axes


def _ticker():
    import matplotlib.ticker

    return matplotlib.ticker


def _interval_label(result: pd.DataFrame, metric: str, coverage: float | None) -> str:
    if metric == "interval_score":
        return f"interval score ({coverage:.0%})" if coverage is not None else "interval score (outermost levels)"
    return _label(result, metric)


def _dist_name(dist: Any) -> str:
    return getattr(dist, "name", "") or type(dist).__name__


def plot_pit_histogram(dist: Any, y: Any, bins: int = 10, *, sample_weight: Any = None, random_state: Any = None,
                       ax: Any = None, title: str | None = None) -> Any:
    """Histogram of the probability integral transform: flat when the distributions are calibrated.

    One bar per bin of [0, 1] with height the density of PIT values
    (randomised at point masses, see
    :func:`~gbm_objectives.distributions.pit`); the line at 1 is perfect
    calibration and the band around it two standard deviations of a bin's
    density under calibration. A U shape means too narrow distributions, a
    hump too wide ones, a slope a biased location. The title gives the
    calibration error and the p-value of the uniformity test.

    Parameters
    ----------
    dist : Distribution
        One predictive distribution per observation.
    y : array-like of shape (n,)
    bins : int >= 2, default 10
    sample_weight : array-like of shape (n,), optional
    random_state : None, int or numpy Generator
    ax : matplotlib Axes, optional
    title : str, optional

    Returns
    -------
    matplotlib.axes.Axes
    """
    hist = pit_histogram(dist, y, bins, sample_weight=sample_weight, random_state=random_state)
    ax = _axes(ax, (6.4, 4.0))
    k = hist.density.shape[0]
    sd = k * np.sqrt((1.0 / k) * (1.0 - 1.0 / k) / hist.n_effective)
    ax.axhspan(max(0.0, 1.0 - 2.0 * sd), 1.0 + 2.0 * sd, color="#7f7f7f", alpha=0.2, label="calibrated ± 2 SD")
    ax.bar(hist.edges[:-1], hist.density, width=np.diff(hist.edges), align="edge", color=_KIND_COLORS["model"],
           edgecolor="white", label="PIT density")
    ax.axhline(1.0, color="#d62728", linestyle="--", label="calibrated")
    ax.set_xlim(0.0, 1.0)
    ax.set_xlabel("PIT = F(y)")
    ax.set_ylabel("density")
    ax.set_title(title or f"PIT histogram, {_dist_name(dist)} (calibration error {hist.calibration_error:.3f}, "
                          f"p = {hist.p_value:.2g})")
    ax.legend(fontsize="small")
    ax.grid(axis="y", alpha=0.3)
    return ax


def plot_zero_reliability(dist: Any, y: Any, bins: int = 10, *, sample_weight: Any = None,
                          strategy: str = "quantile", ax: Any = None, title: str | None = None) -> Any:
    """Reliability curve of ``P(y = 0)``: observed share of zeros against the predicted probability.

    One point per group of rows of :func:`~gbm_objectives.distributions.zero_calibration`
    (mean prediction, observed share of zeros) with error bars of two
    standard errors under calibration; calibrated predictions follow the
    diagonal. The legend gives the mean predicted probability and the
    observed share over all rows.

    Parameters
    ----------
    dist : Distribution
    y : array-like of shape (n,)
    bins : int >= 2, default 10
    sample_weight : array-like of shape (n,), optional
    strategy : {"quantile", "uniform"}, default "quantile"
    ax : matplotlib Axes, optional
    title : str, optional

    Returns
    -------
    matplotlib.axes.Axes
    """
    table = zero_calibration(dist, y, bins, sample_weight=sample_weight, strategy=strategy)
    ax = _axes(ax, (5.0, 5.0))
    top = max(float(table["high"].max()), float(table["observed"].max()), 1e-3)
    ax.plot([0.0, top], [0.0, top], color="#7f7f7f", linestyle="--", label="calibrated")
    ax.errorbar(table["predicted"], table["observed"], yerr=2.0 * table["std_error"], marker="o",
                color=_KIND_COLORS["model"], capsize=3,
                label=f"mean predicted {table.attrs['mean_predicted']:.3f}, "
                      f"observed {table.attrs['observed_share']:.3f}")
    ax.set_xlabel("predicted P(y = 0)")
    ax.set_ylabel("observed share of zeros")
    ax.set_title(title or f"Zero calibration, {_dist_name(dist)} ({len(table)} groups)")
    ax.legend(fontsize="small", loc="upper left")
    ax.grid(alpha=0.3)
    return ax
