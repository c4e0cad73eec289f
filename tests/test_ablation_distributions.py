"""Distributional losses in the loss ablation: scored on the same folds as point losses, by the
mean of their distributions (MAE, RMSE...) and by what only a distribution has (log score, coverage)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from gbm_objectives.ablation import ablate_losses, panel_table


@pytest.fixture(scope="module")
def heteroscedastic():
    rng = np.random.default_rng(8)
    n = 1200
    x = rng.uniform(-2.0, 2.0, (n, 3))
    y = x[:, 0] + np.exp(0.7 * x[:, 1]) * rng.standard_normal(n)
    return x, y


@pytest.mark.parametrize("backend", ["xgboost", "lightgbm"])
def test_point_and_distributional_losses_share_the_folds(backend, heteroscedastic):
    pytest.importorskip(backend)
    x, y = heteroscedastic
    df = ablate_losses(x, y, ["squared_error", "normal"], backend=backend, cv=3, num_boost_round=40,
                       params={"max_depth": 3} if backend == "xgboost" else {"num_leaves": 8},
                       progress=False, random_state=1)
    rows = df.set_index("config")
    for metric in ("log_score", "coverage_90", "width_90"):
        assert metric in df.attrs["metrics"]
        assert math.isnan(rows.loc["squared_error", metric]) and math.isnan(rows.loc["constant mean", metric])
        assert math.isfinite(rows.loc["normal", metric])
    # the normal model's 90% intervals cover about 90% of held-out rows (1200 rows, 3 folds)
    assert 0.82 <= rows.loc["normal", "coverage_90"] <= 0.97
    # its log score beats a constant normal fitted to all labels, and its mean is a point prediction
    constant = -stats.norm.logpdf(y, y.mean(), y.std()).mean()
    assert rows.loc["normal", "log_score"] < constant - 0.1
    assert rows.loc["normal", "mae"] < rows.loc["constant median", "mae"]
    assert len(df.attrs["fold_scores"]["normal"]["log_score"]) == 3


def test_ranked_by_log_score_and_refused_without_a_distribution(heteroscedastic):
    pytest.importorskip("xgboost")
    x, y = heteroscedastic
    df = ablate_losses(x, y, ["squared_error", "normal"], cv=2, num_boost_round=20, metric="log_score",
                       progress=False)
    assert df["config"].iloc[0] == "normal" and df.attrs["metric"] == "log_score"
    assert "Log score" in panel_table(df).columns
    with pytest.raises(ValueError, match="log_score.*no distributional loss"):
        ablate_losses(x, y, ["squared_error"], cv=2, num_boost_round=5, metric="log_score", progress=False)


def test_distributional_losses_check_their_labels(heteroscedastic):
    x, y = heteroscedastic
    with pytest.raises(ValueError, match="NaN"):
        ablate_losses(x, np.where(y > 0, y, np.nan), ["normal"], cv=2, num_boost_round=5, progress=False)
    # a family's support, before any fit
    with pytest.raises(ValueError, match="lognormal needs labels y > 0"):
        ablate_losses(x, y, ["lognormal"], cv=2, num_boost_round=5, progress=False)


@pytest.mark.parametrize("backend", ["xgboost", "lightgbm"])
def test_distributional_losses_with_early_stopping_per_fold(backend, heteroscedastic):
    pytest.importorskip(backend)
    x, y = heteroscedastic
    df = ablate_losses(x, y, ["normal"], backend=backend, cv=2, num_boost_round=300, early_stopping_rounds=10,
                       params={"learning_rate": 0.3}, progress=False, baselines=False)
    kept = df.attrs["best_iterations"]["normal"]
    assert len(kept) == 2 and all(1 <= k < 300 for k in kept)
    assert 0.8 <= df.set_index("config").loc["normal", "coverage_90"] <= 0.97


def test_rows_without_the_ranking_metric_neither_win_nor_lose(heteroscedastic):
    pytest.importorskip("xgboost")
    from gbm_objectives.ablation import ranking_table

    x, y = heteroscedastic
    df = ablate_losses(x, y, ["squared_error", "normal"], cv=2, num_boost_round=20, metric="log_score",
                       progress=False)
    rows = df.set_index("config")
    # squared error (the reference) has no log score: no wins to count, no gap to the best
    assert pd.isna(rows.loc["normal", "wins_vs_reference"])
    table = ranking_table(df).set_index("Configuration")
    assert table.loc["squared_error", "Relative to best"] == "-"
    assert "nan" not in " ".join(table["Relative to best"])
    assert panel_table(df).set_index("Configuration").loc["normal", "Coverage 90%"].endswith("%")
