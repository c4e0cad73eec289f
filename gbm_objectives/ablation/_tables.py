"""Tables of a result for people: the ranking, the full panel, the interval panel, the Tweedie power choices,
Markdown."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

_METRIC_TITLES = {
    "mae": "MAE", "rmse": "RMSE", "tweedie_deviance": "Tweedie dev", "poisson_deviance": "Poisson dev",
    "gini": "Gini", "calibration": "Calibration", "log_loss": "Log loss", "auc": "AUC", "brier": "Brier",
    "pinball": "Pinball (mean)", "expectile": "Expectile loss (mean)",
    "log_score": "Log score", "coverage_90": "Coverage 90%", "width_90": "Width 90%",
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
    if metric == "interval_score":
        return f"Interval score ({result.attrs.get('coverage', 0.9):.0%})"
    if metric == "tweedie_deviance":
        return f"Tweedie dev (p={result.attrs.get('deviance_power', 1.5):g})"
    return _METRIC_TITLES.get(metric, metric)


def ranking_table(result: pd.DataFrame, *, baselines: bool = True, balanced: bool = False) -> pd.DataFrame:
    """The rows ranked by the table's metric: configuration, the metric, relative to the best row shown.

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
    kinds = ["model", "refined", "reference"] + (["baseline"] if baselines else []) + (["balanced"] if balanced else [])
    rows = result[result["kind"].isin(kinds)]
    if rows.empty:
        raise ValueError("the result has no rows of the kinds asked for")
    higher = result.attrs.get("higher_is_better", False)
    best = float(rows[metric].iloc[0])
    scale = float(np.nanmedian(np.abs(rows[metric].to_numpy(dtype=np.float64))))
    rel = []
    for v in rows[metric]:
        gap = (best - v) if higher else (v - best)
        # A row without the metric (a point loss's log score) has no gap.
        rel.append("-" if not np.isfinite(gap) or gap == 0 or best == 0 else f"{gap / abs(best):+.1%}")
    return pd.DataFrame({
        "Configuration": rows["config"].to_numpy(),
        _title(result, metric): [_fmt(v, scale) for v in rows[metric]],
        "Relative to best": rel,
    })


def seed_table(result: pd.DataFrame, *, baselines: bool = True, balanced: bool = False) -> pd.DataFrame:
    """Deprecated name of :func:`ranking_table` ("seed" read as a random seed); use that."""
    warnings.warn("seed_table is deprecated and will be removed; use ranking_table (the same table)",
                  DeprecationWarning, stacklevel=2)
    return ranking_table(result, baselines=baselines, balanced=balanced)


def panel_table(result: pd.DataFrame) -> pd.DataFrame:
    """Every yardstick as ``mean ± fold SD``, with fold wins, floored predictions and fit time.

    The panel of level-set losses is :func:`interval_table`'s.

    Returns
    -------
    pandas.DataFrame of strings, in the result's order.
    """
    result = _check_result(result)
    if result.attrs.get("task") == "intervals":
        return interval_table(result)
    out = {"Configuration": result["config"].to_numpy()}
    for m in result.attrs["metrics"]:
        values = result[m].to_numpy(dtype=np.float64)
        finite = np.abs(values[np.isfinite(values)])
        scale: float | None = float(np.median(finite)) if finite.size else 1.0
        if m in ("gini", "calibration", "auc"):
            scale = None
        if m == "coverage_90":
            out[_title(result, m)] = [_percent_cell(v, sd) for v, sd in zip(values, result[f"{m}_std"])]
            continue
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


def _percent_cell(value: float, sd: float) -> str:
    """``mean ± SD`` in percent, both to the decimals the mean needs (rare crossings below 0.1% keep 3)."""
    if not np.isfinite(value):
        return "-"
    if value == 0.0:
        return "0"
    digits = 1 if abs(value) >= 0.001 else 3
    return f"{value:.{digits}%} ± {sd:.{digits}%}" if np.isfinite(sd) else f"{value:.{digits}%}"


def interval_table(result: pd.DataFrame) -> pd.DataFrame:
    """The interval panel of level-set losses: every yardstick as ``mean ± fold SD``, best first.

    Interval score and coverage of the outermost levels (coverage with its
    nominal value in the title), mean width, pinball loss (mean over the
    levels, then per level), where the panel holds expectile sets the
    expectile loss (mean, then per level), crossing rate (a bare ``0`` where
    no held-out row crossed on any fold), fold wins against the reference
    (the separately fitted quantile or, ranked by the expectile loss,
    expectile models) and fit time.

    Parameters
    ----------
    result : DataFrame from :func:`ablate_losses` with level-set losses

    Returns
    -------
    pandas.DataFrame of strings, in the result's order.
    """
    result = _check_result(result)
    if result.attrs.get("task") != "intervals":
        raise ValueError("interval_table needs the result of ablate_losses() with level-set losses (such as "
                         "multi_quantile); point losses have panel_table")
    alphas = result.attrs["alphas"]
    nominal = result.attrs["coverage"]

    def cells(column: str, percent: bool = False) -> list[str]:
        values = result[column].to_numpy(dtype=np.float64)
        sds = result[f"{column}_std"].to_numpy(dtype=np.float64)
        if percent:
            return [_percent_cell(v, sd) for v, sd in zip(values, sds)]
        finite = np.abs(values[np.isfinite(values)])
        scale = float(np.median(finite)) if finite.size else 1.0
        return [f"{_fmt(v, scale)} ± {_fmt(sd, scale)}" if np.isfinite(sd) else _fmt(v, scale)
                for v, sd in zip(values, sds)]

    pinballs = ["pinball", *[c for c in result.attrs["metrics"] if c.startswith("pinball_")]]
    out: dict[str, list[str]] = {"Configuration": list(result["config"].to_numpy())}
    if "quantile" in result.attrs.get("level_statistics", ("quantile",)):
        out[_title(result, "interval_score")] = cells("interval_score")
        out[f"Coverage (nominal {nominal:.0%})"] = cells("coverage", percent=True)
    else:  # outermost expectiles bound no interval of nominal coverage
        out["Interval score (outer levels)"] = cells("interval_score")
        out["Coverage (outer levels)"] = cells("coverage", percent=True)
    out["Mean width"] = cells("mean_width")
    out[_title(result, "pinball")] = cells("pinball")
    for a, column in zip(alphas, pinballs[1:]):
        out[f"Pinball {a:g}"] = cells(column)
    if "expectile" in result.attrs.get("level_statistics", ()):
        out[_title(result, "expectile")] = cells("expectile")
        expectiles = [c for c in result.attrs["metrics"] if c.startswith("expectile_")]
        for a, column in zip(alphas, expectiles):
            out[f"Expectile {a:g}"] = cells(column)
    out["Crossing rate"] = cells("crossing_rate", percent=True)
    ref = result.attrs.get("reference")
    if ref is not None:
        out[f"Wins vs {ref}"] = ["-" if pd.isna(wv) else f"{int(wv)}/{int(k)}"
                                 for wv, k in zip(result["wins_vs_reference"], result["n_folds"].to_numpy())]
    out["Fit s"] = ["-" if not np.isfinite(v) else f"{v:.1f}" for v in result["fit_seconds"].to_numpy(dtype=np.float64)]
    return pd.DataFrame(out)


def _tweedie_choice(result: pd.DataFrame, metric: str) -> pd.Series | None:
    rows = result[result["power"].notna() & result["kind"].isin(("model", "refined"))]
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
    if result.attrs.get("task") != "regression" or not result["power"].notna().any():
        raise ValueError("choice_table needs a result of sweep_tweedie_power() (rows of losses with a Tweedie "
                         "variance power)")
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
