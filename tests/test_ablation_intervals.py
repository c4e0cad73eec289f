"""The interval panel of the ablation: level-set losses on the same folds as every other row.

Boosters run single-threaded on small heteroscedastic data with few rounds and 3 folds.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import KFold

from gbm_objectives import intervals as gi
from gbm_objectives.ablation import (
    INTERVAL_METRICS,
    ablate_losses,
    interval_table,
    levels_of,
    panel_table,
    parse_loss,
    ranking_table,
    sweep_loss_parameter,
)
from gbm_objectives.ablation._experiment import _DEFAULT_PARAMS
from gbm_objectives.ablation._intervals import _interval_scores
from gbm_objectives.losses import MultiQuantile

ALPHAS = (0.05, 0.5, 0.95)
MQ = "multi_quantile(alphas=(0.05, 0.5, 0.95))"
ME = "multi_expectile"
CV, ROUNDS, SEED = 3, 30, 0
PARAMS = {"xgboost": {"max_depth": 3}, "lightgbm": {"num_leaves": 7}}
COLUMNS = [
    "config", "kind", "loss", "rank", "relative_to_best",
    "interval_score", "interval_score_std", "coverage", "coverage_std", "mean_width", "mean_width_std",
    "pinball", "pinball_std", "expectile", "expectile_std", "crossing_rate", "crossing_rate_std",
    "pinball_0.05", "pinball_0.05_std", "pinball_0.5", "pinball_0.5_std", "pinball_0.95", "pinball_0.95_std",
    "expectile_0.05", "expectile_0.05_std", "expectile_0.5", "expectile_0.5_std", "expectile_0.95",
    "expectile_0.95_std", "wins_vs_reference", "fit_seconds", "n_folds",
]


@pytest.fixture(scope="module")
def data():
    """Noise that grows with |x1|: the intervals must widen and narrow with the features."""
    rng = np.random.default_rng(7)
    n = 600
    X = rng.normal(size=(n, 3)).astype(np.float32)
    y = X[:, 0] + rng.normal(size=n) * (0.3 + np.abs(X[:, 1]))
    return X, y


@pytest.fixture(scope="module", params=["lightgbm", "xgboost"])
def panel(request, data):
    X, y = data
    backend = request.param
    df = ablate_losses(X, y, [MQ, ME], backend=backend, params=PARAMS[backend], cv=CV, num_boost_round=ROUNDS,
                       random_state=SEED, progress=False)
    return backend, df


def _direct_levels(backend: str, X_tr, y_tr, X_te) -> np.ndarray:
    """One quantile model per level through the plain adapters, as a user fits them on a fold."""
    params = {**_DEFAULT_PARAMS[backend], "seed": SEED, **PARAMS[backend]}
    columns = []
    for a in ALPHAS:
        if backend == "lightgbm":
            import lightgbm as lgb

            import gbm_objectives.lightgbm as glgb

            booster = glgb.train(f"quantile(alpha={a})", {**params, "num_threads": 1},
                                 lgb.Dataset(X_tr, y_tr, free_raw_data=False, params={"verbose": -1}), ROUNDS)
            columns.append(glgb.predict(booster, X_te))
        else:
            import xgboost as xgb

            import gbm_objectives.xgboost as gx

            booster = gx.train(f"quantile(alpha={a})", {**params, "nthread": 1},
                               xgb.DMatrix(X_tr, label=y_tr, nthread=1), ROUNDS, verbose_eval=False)
            columns.append(gx.predict(booster, X_te))
    return np.column_stack(columns).astype(np.float64)


def _pinball(y, q, a):
    return float(np.mean(np.where(y >= q, a * (y - q), (1.0 - a) * (q - y))))


# ---------------------------------------------------------------------------
# The panel
# ---------------------------------------------------------------------------


def test_columns_rows_and_order(panel):
    _, df = panel
    assert list(df.columns) == COLUMNS
    assert set(df["config"]) == {"multi_quantile", "multi_expectile", "separate quantiles", "constant quantiles",
                                 "separate expectiles", "constant expectiles"}
    kinds = df.set_index("config")["kind"]
    assert kinds["separate quantiles"] == "reference" and kinds["constant quantiles"] == "baseline"
    assert kinds["separate expectiles"] == "reference" and kinds["constant expectiles"] == "baseline"
    assert df["interval_score"].is_monotonic_increasing and df["rank"].tolist() == [1, 2, 3, 4, 5, 6]
    assert df.attrs["level_statistics"] == ["quantile", "expectile"]
    assert df.attrs["task"] == "intervals" and df.attrs["metric"] == "interval_score"
    assert df.attrs["alphas"] == list(ALPHAS) and df.attrs["coverage"] == pytest.approx(0.9)
    assert df.attrs["reference"] == "separate quantiles"
    assert df.attrs["reference_losses"] == ["quantile(alpha=0.05)", "quantile(alpha=0.5)", "quantile(alpha=0.95)"]
    assert (df["n_folds"] == CV).all()
    # Every row, whatever trained it, is read with the same yardsticks on every fold.
    for scores in df.attrs["fold_scores"].values():
        assert set(scores) == {*INTERVAL_METRICS, "pinball_0.05", "pinball_0.5", "pinball_0.95",
                               "expectile_0.05", "expectile_0.5", "expectile_0.95"}
        assert all(len(v) == CV for v in scores.values())


def test_level_set_model_never_crosses_and_covers_about_its_nominal_level(panel):
    _, df = panel
    scores = df.attrs["fold_scores"]
    for label in ("multi_quantile", "multi_expectile"):
        assert scores[label]["crossing_rate"] == [0.0] * CV
    row = df.set_index("config").loc["multi_quantile"]
    # 400 training rows, uncalibrated 5% and 95% levels: about 90% of held-out labels inside.
    assert 0.82 <= row["coverage"] <= 0.97
    # Expectiles at 5% / 95% sit inside the quantiles: the panel shows the lower coverage.
    assert df.set_index("config").loc["multi_expectile", "coverage"] < row["coverage"]


def test_learning_beats_the_constant_quantiles(panel):
    """The constant quantiles cover about 90% too; the learned intervals are narrower and score better."""
    _, df = panel
    d = df.set_index("config")
    assert 0.82 <= d.loc["constant quantiles", "coverage"] <= 0.97
    assert d.loc["multi_quantile", "mean_width"] < 0.95 * d.loc["constant quantiles", "mean_width"]
    assert d.loc["multi_quantile", "interval_score"] < 0.95 * d.loc["constant quantiles", "interval_score"]
    assert d.loc["multi_quantile", "pinball"] < d.loc["constant quantiles", "pinball"]


def test_reference_equals_quantile_models_fitted_directly_on_each_fold(panel, data):
    backend, df = panel
    X, y = data
    ref = df.attrs["fold_scores"]["separate quantiles"]
    folds = list(KFold(CV, shuffle=True, random_state=SEED).split(X))
    for f in (0, CV - 1):
        train, test = folds[f]
        levels = _direct_levels(backend, X[train], y[train], X[test])
        for j, a in enumerate(ALPHAS):
            np.testing.assert_allclose(ref[f"pinball_{a:g}"][f], _pinball(y[test], levels[:, j], a), rtol=1e-12)
        crossed = np.any(np.diff(levels, axis=1) < 0, axis=1)
        assert ref["crossing_rate"][f] == pytest.approx(crossed.mean(), abs=0)
        # Interval yardsticks read the rearranged levels, as a user of crossing models must.
        rearranged = np.sort(levels, axis=1)
        assert ref["coverage"][f] == pytest.approx(gi.coverage(y[test], rearranged), rel=1e-12)
        assert ref["mean_width"][f] == pytest.approx(gi.mean_width(rearranged), rel=1e-12)
        assert ref["interval_score"][f] == pytest.approx(gi.interval_score(y[test], rearranged, 0.9), rel=1e-12)
    wins = int(df.set_index("config").loc["multi_quantile", "wins_vs_reference"])
    mq = np.array(df.attrs["fold_scores"]["multi_quantile"]["interval_score"])
    assert wins == int(np.count_nonzero(mq < np.array(ref["interval_score"])))


def test_same_folds_and_weights_as_the_point_panel(data):
    """The constant quantiles' median pinball is half the point panel's constant-median MAE, fold by fold."""
    X, y = data
    w = np.linspace(0.2, 2.0, y.shape[0])
    common = {"cv": CV, "num_boost_round": 2, "random_state": 3, "sample_weight": w, "progress": False,
              "backend": "lightgbm"}
    points = ablate_losses(X, y, ["squared_error"], **common)
    levels = ablate_losses(X, y, [MQ], reference=None, **common)
    mae = points.attrs["fold_scores"]["constant median"]["mae"]
    pinball = levels.attrs["fold_scores"]["constant quantiles"]["pinball_0.5"]
    np.testing.assert_allclose(np.multiply(pinball, 2.0), mae, rtol=1e-12)
    assert levels.attrs["reference"] is None and levels["wins_vs_reference"].isna().all()
    assert "separate quantiles" not in set(levels["config"])


def test_interval_yardsticks_by_hand():
    y = np.array([0.0, 1.0, 5.0, -3.0, 2.0])
    levels = np.array([[-1.0, 0.0, 1.0],
                       [0.0, 2.0, 3.0],
                       [0.0, 1.0, 4.0],
                       [-2.0, -1.0, 0.0],
                       [3.0, 1.0, 2.0]])  # crosses twice; rearranged: [1, 2, 3]
    s = _interval_scores(y, levels, None, ALPHAS)
    assert s["crossing_rate"] == pytest.approx(0.2)
    lower, upper = np.array([-1.0, 0.0, 0.0, -2.0, 1.0]), np.array([1.0, 3.0, 4.0, 0.0, 3.0])
    assert s["coverage"] == pytest.approx(3 / 5)
    assert s["mean_width"] == pytest.approx(np.mean(upper - lower))
    by_hand = (upper - lower) + np.maximum(lower - y, 0) / 0.05 + np.maximum(y - upper, 0) / 0.05
    assert s["interval_score"] == pytest.approx(by_hand.mean())
    for j, a in enumerate(ALPHAS):  # the levels as predicted, crossed or not
        assert s[f"pinball_{a:g}"] == pytest.approx(_pinball(y, levels[:, j], a))
    assert s["pinball"] == pytest.approx(np.mean([_pinball(y, levels[:, j], a) for j, a in enumerate(ALPHAS)]))
    # Central levels: the library's interval metrics, weighted alike.
    ok = np.sort(levels, axis=1)
    w = np.array([1.0, 0.5, 2.0, 0.0, 3.0])
    s = _interval_scores(y, ok, w, ALPHAS)
    assert s["interval_score"] == pytest.approx(gi.interval_score(y, ok, 0.9, sample_weight=w))
    assert s["coverage"] == pytest.approx(gi.coverage(y, ok, sample_weight=w))
    assert s["mean_width"] == pytest.approx(gi.mean_width(ok, sample_weight=w))
    # Uneven outer levels: each side's miss weighs by its own level.
    s = _interval_scores(y, ok, None, (0.1, 0.5, 0.8))
    lo, hi = ok[:, 0], ok[:, 2]
    assert s["interval_score"] == pytest.approx(np.mean(hi - lo + np.maximum(lo - y, 0) / 0.1
                                                        + np.maximum(y - hi, 0) / 0.2))


# ---------------------------------------------------------------------------
# Tables
# ---------------------------------------------------------------------------


def test_interval_table(panel):
    _, df = panel
    table = interval_table(df)
    assert list(table.columns) == [
        "Configuration", "Interval score (90%)", "Coverage (nominal 90%)", "Mean width", "Pinball (mean)",
        "Pinball 0.05", "Pinball 0.5", "Pinball 0.95", "Expectile loss (mean)", "Expectile 0.05", "Expectile 0.5",
        "Expectile 0.95", "Crossing rate", "Wins vs separate quantiles", "Fit s"]
    t = table.set_index("Configuration")
    assert t.loc["multi_quantile", "Crossing rate"] == "0"
    assert re.fullmatch(r"\d+\.\d% ± \d+\.\d%", t.loc["multi_quantile", "Coverage (nominal 90%)"])
    assert re.fullmatch(r"\d+\.\d+ ± \d+\.\d+", t.loc["multi_quantile", "Pinball 0.95"])
    assert t.loc["separate quantiles", "Wins vs separate quantiles"] == "-"
    assert t.loc["multi_quantile", "Wins vs separate quantiles"].endswith(f"/{CV}")
    pd.testing.assert_frame_equal(panel_table(df), table)
    ranking = ranking_table(df)
    assert list(ranking.columns) == ["Configuration", "Interval score (90%)", "Relative to best"]
    assert list(ranking["Configuration"]) == list(df["config"])  # the reference row is ranked too
    assert list(ranking_table(df, baselines=False)["Configuration"]) == [
        c for c in df["config"] if c not in ("constant quantiles", "constant expectiles")]


def test_constant_expectiles_are_each_training_folds_expectiles(data):
    X, y = data
    splitter = KFold(3, shuffle=True, random_state=4)
    df = ablate_losses(X, y, [ME], backend="lightgbm", params=PARAMS["lightgbm"], cv=splitter,
                       num_boost_round=2, reference=None, progress=False)
    got = df.attrs["fold_scores"]["constant expectiles"]
    for f, (train, test) in enumerate(splitter.split(X)):
        levels = []
        for a in ALPHAS:  # the expectile solves sum a(t) (y - t) = 0 with a(t) = a above t, 1 - a below
            t = float(np.mean(y[train]))
            for _ in range(100):
                a_t = np.where(y[train] > t, a, 1.0 - a)
                t = float(np.sum(a_t * y[train]) / np.sum(a_t))
            levels.append(t)
        expected = _interval_scores(y[test].astype(np.float64), np.tile(levels, (test.shape[0], 1)), None, ALPHAS)
        assert got["expectile"][f] == pytest.approx(expected["expectile"], rel=1e-9)
        assert got["coverage"][f] == expected["coverage"]


def test_expectile_columns_are_the_expectile_loss_of_each_level(data):
    """The panel's expectile yardsticks equal the expectile loss the library minimises, per level and fold."""
    X, y = data
    rng = np.random.default_rng(3)
    levels = np.sort(rng.normal(size=(y.shape[0], 3)), axis=1)
    w = rng.uniform(0.5, 2.0, y.shape[0])
    scores = _interval_scores(y.astype(np.float64), levels, w, ALPHAS)
    for j, a in enumerate(ALPHAS):
        loss = parse_loss(f"expectile(alpha={a})")
        expected = loss.loss_sum(y.astype(np.float64), np.ascontiguousarray(levels[:, j]), w) / w.sum()
        assert scores[f"expectile_{a:g}"] == pytest.approx(expected, rel=1e-12)
    assert scores["expectile"] == pytest.approx(np.mean([scores[f"expectile_{a:g}"] for a in ALPHAS]))


@pytest.mark.parametrize("backend", ["lightgbm", "xgboost"])
def test_an_expectile_set_is_ranked_by_the_expectile_loss_against_separate_expectiles(data, backend):
    X, y = data
    df = ablate_losses(X, y, [ME], backend=backend, params=PARAMS[backend], cv=CV, num_boost_round=ROUNDS,
                       random_state=SEED, progress=False)
    assert df.attrs["metric"] == "expectile" and df.attrs["reference"] == "separate expectiles"
    assert df.attrs["reference_losses"] == [f"expectile(alpha={a:g})" for a in ALPHAS]
    assert set(df["config"]) == {"multi_expectile", "separate expectiles", "constant expectiles"}
    assert df["expectile"].is_monotonic_increasing
    d = df.set_index("config")
    # Learning beats the training fold's constant expectiles on their own score.
    assert d.loc["multi_expectile", "expectile"] < 0.95 * d.loc["constant expectiles", "expectile"]
    assert d.loc["separate expectiles", "kind"] == "reference"
    table = interval_table(df)
    assert "Wins vs separate expectiles" in table.columns and "Expectile 0.95" in table.columns
    # Outermost expectiles bound no interval of nominal coverage: the titles say so.
    assert "Coverage (outer levels)" in table.columns and "Coverage (nominal 90%)" not in table.columns
    assert df.attrs["coverage"] == 0.9
    # An explicit metric still ranks a mixed panel against the quantile reference.
    mixed = ablate_losses(X, y, [MQ, ME], backend=backend, params=PARAMS[backend], cv=CV,
                          num_boost_round=ROUNDS, random_state=SEED, progress=False, metric="expectile")
    assert mixed.attrs["reference"] == "separate expectiles" and mixed["expectile"].is_monotonic_increasing


def test_interval_table_refuses_a_point_result(data):
    X, y = data
    df = ablate_losses(X, y, ["squared_error"], backend="lightgbm", cv=2, num_boost_round=2, progress=False)
    with pytest.raises(ValueError, match="level-set losses .* point losses have panel_table"):
        interval_table(df)


def test_metric_pinball_orders_the_rows(data):
    X, y = data
    df = ablate_losses(X, y, [MQ], backend="lightgbm", params=PARAMS["lightgbm"], cv=2, num_boost_round=5,
                       metric="pinball", progress=False)
    assert df.attrs["metric"] == "pinball" and df["pinball"].is_monotonic_increasing
    assert ranking_table(df).columns[1] == "Pinball (mean)"


# ---------------------------------------------------------------------------
# Facts, not names; refusals
# ---------------------------------------------------------------------------


def test_level_sets_are_read_from_facts(data):
    class RenamedLevels(MultiQuantile):
        name = "renamed_levels"

    loss = RenamedLevels(alphas=(0.1, 0.9))
    assert levels_of(loss) == (0.1, 0.9)
    assert levels_of(parse_loss(ME)) == ALPHAS
    for point in ("quantile(alpha=0.5)", "squared_error", "softmax(num_class=3)"):
        assert levels_of(parse_loss(point)) is None
    X, y = data
    df = ablate_losses(X, y, [loss], backend="xgboost", params=PARAMS["xgboost"], cv=2, num_boost_round=5,
                       progress=False)
    assert df.attrs["alphas"] == [0.1, 0.9] and df.attrs["coverage"] == pytest.approx(0.8)
    assert {"renamed_levels(alphas=(0.1, 0.9))", "separate quantiles"} <= set(df["config"])
    assert "pinball_0.1" in df.columns and "pinball_0.9" in df.columns


def test_mixing_point_and_level_set_losses_is_refused(data):
    X, y = data
    with pytest.raises(ValueError, match=r"mix level-set losses \(multi_quantile\) with other losses "
                                         r"\(squared_error, huber.*\).*two calls.*same"):
        ablate_losses(X, y, [MQ, "squared_error", "huber"], progress=False)


@pytest.mark.parametrize(
    "losses, kwargs, match",
    [
        ([MQ, "multi_quantile(alphas=(0.1, 0.9))"], {}, r"share their levels.*\(0.05, 0.5, 0.95\).*\(0.1, 0.9\)"),
        ([MQ, ("multi_quantile", {})], {}, "duplicates"),
        ([MQ], {"metric": "mae"}, "metric for level-set losses .* 'interval_score', 'pinball'"),
        ([MQ], {"reference": "squared_error"}, "reference of level-set losses must be 'auto'"),
        ([MQ], {"baselines": 1}, "baselines"),
        ([MQ], {"deviance_power": 3.0}, "deviance_power"),
    ],
)
def test_interval_panel_validation(data, losses, kwargs, match):
    X, y = data
    with pytest.raises(ValueError, match=match):
        ablate_losses(X[:60], y[:60], losses, backend="lightgbm", cv=2, num_boost_round=2, progress=False,
                      **kwargs)


def test_sweeps_refuse_level_set_losses(data):
    class ScaledLevels(MultiQuantile):
        name = "scaled_levels"

        def __init__(self, alphas=(0.1, 0.9), shrink: float = 1.0) -> None:
            super().__init__(alphas)
            self.shrink = shrink

    X, y = data
    with pytest.raises(ValueError, match="level-set loss; parameter sweeps compare point losses"):
        sweep_loss_parameter(X[:60], y[:60], ScaledLevels(), "shrink", [0.5, 1.0], cv=2, num_boost_round=2,
                             progress=False)


def test_parallel_fits_and_groups_give_the_same_table(data):
    X, y = data
    groups = np.arange(y.shape[0]) // 10
    kwargs = {"backend": "lightgbm", "params": PARAMS["lightgbm"], "cv": 3, "num_boost_round": 5, "groups": groups,
              "progress": False}
    one = ablate_losses(X, y, [MQ], n_jobs=1, **kwargs)
    two = ablate_losses(X, y, [MQ], n_jobs=2, **kwargs)
    pd.testing.assert_frame_equal(one.drop(columns="fit_seconds"), two.drop(columns="fit_seconds"))
