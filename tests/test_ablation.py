"""Loss ablation: tables, honest yardsticks, loss specs, advice, validation and plots.

Boosters run single-threaded on small data with few rounds and 2-3 folds.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import mean_tweedie_deviance

from gbm_objectives import available_losses, get_loss
from gbm_objectives.ablation import (
    DEFAULT_POWERS,
    LossAdvice,
    _normalized_gini,
    _unit_tweedie_deviance,
    ablate_losses,
    describe_target,
    loss_label,
    panel_table,
    parse_loss,
    ranking_table,
    recommend_losses,
    sweep_tweedie_power,
    to_markdown,
)
from gbm_objectives.datasets import make_tracker_costs

FAST = {"cv": 3, "num_boost_round": 20, "progress": False}
# Row labels show what the losses' reprs show (their params).
LOGISTIC = loss_label(get_loss("logistic"))
POISSON = loss_label(get_loss("poisson"))
REGRESSION_COLUMNS = [
    "config", "kind", "loss", "power", "rank", "relative_to_best",
    "mae", "mae_std", "rmse", "rmse_std", "tweedie_deviance", "tweedie_deviance_std",
    "poisson_deviance", "poisson_deviance_std", "gini", "gini_std", "calibration", "calibration_std",
    "wins_vs_reference", "n_floored", "fit_seconds", "n_folds",
]


@pytest.fixture(scope="module")
def tracker():
    return make_tracker_costs(600, random_state=11)


@pytest.fixture(scope="module")
def sweep(tracker):
    X, y = tracker
    return sweep_tweedie_power(X, y, powers=(1.2, 1.5, 1.8), balance=True, **FAST)


def _numbers(df: pd.DataFrame) -> pd.DataFrame:
    return df.drop(columns=["fit_seconds"])


# ---------------------------------------------------------------------------
# The sweep table
# ---------------------------------------------------------------------------


def test_sweep_columns_rows_and_order(sweep):
    df = sweep
    # The sweep adds the swept value (the power) after the power column and, with
    # three powers in (1, 2), the likelihood columns at the end.
    assert list(df.columns) == (REGRESSION_COLUMNS[:4] + ["value"] + REGRESSION_COLUMNS[4:]
                                + ["log_likelihood", "dispersion"])
    assert df.attrs["loss"] == "tweedie" and df.attrs["parameter"] == "power"
    np.testing.assert_array_equal(df["value"].to_numpy(), df["power"].to_numpy())
    assert set(df["config"]) == {
        "tweedie(power=1.2)", "tweedie(power=1.5)", "tweedie(power=1.8)", "squared_error",
        "tweedie(power=1.2) balanced", "tweedie(power=1.5) balanced", "tweedie(power=1.8) balanced",
        "constant mean", "constant median",
    }
    # Best first, by the ranking metric (MAE by default).
    assert df.attrs["metric"] == "mae"
    assert df["mae"].is_monotonic_increasing
    assert df["rank"].tolist() == list(range(1, len(df) + 1))
    best = df["mae"].iloc[0]
    np.testing.assert_allclose(df["relative_to_best"], df["mae"] / best - 1.0)
    assert (df["n_folds"] == 3).all()
    tw = df[(df["loss"] == "tweedie") & (df["kind"] == "model")]
    assert sorted(tw["power"]) == [1.2, 1.5, 1.8]
    assert df.loc[df["config"] == "squared_error", "power"].isna().all()
    assert set(df["kind"]) == {"model", "balanced", "baseline"}
    # Wall time per configuration: positive for fitted rows, none for the balanced re-scalings.
    fitted = df[df["kind"] == "model"]
    assert (fitted["fit_seconds"] > 0).all()
    assert df.loc[df["kind"] == "balanced", "fit_seconds"].isna().all()


def test_sweep_fixed_seed_is_reproducible(tracker, sweep):
    X, y = tracker
    again = sweep_tweedie_power(X, y, powers=(1.2, 1.5, 1.8), balance=True, **FAST)
    pd.testing.assert_frame_equal(_numbers(sweep), _numbers(again))
    assert again.attrs["fold_scores"] == sweep.attrs["fold_scores"]


def test_baselines_and_panel(sweep):
    df = sweep.set_index("config")
    n_rows = sweep.attrs["n_rows"]
    # Constant predictions cannot rank: Gini 0.
    assert df.loc["constant mean", "gini"] == pytest.approx(0.0, abs=1e-12)
    assert df.loc["constant median", "gini"] == pytest.approx(0.0, abs=1e-12)
    # The median of zero-inflated, skewed data is far below the mean.
    assert df.loc["constant median", "calibration"] < 0.5 < df.loc["constant mean", "calibration"]
    # Balanced rows predict the training mean on average, as the constant mean does.
    for p in ("1.2", "1.5", "1.8"):
        assert df.loc[f"tweedie(power={p}) balanced", "calibration"] == pytest.approx(
            df.loc["constant mean", "calibration"])
        # Rescaling keeps the ranking.
        assert df.loc[f"tweedie(power={p}) balanced", "gini"] == pytest.approx(df.loc[f"tweedie(power={p})", "gini"])
    # Learned models rank far better than constants.
    assert (df.loc[["tweedie(power=1.5)", "squared_error"], "gini"] > 0.5).all()
    # Wins are fold counts against squared error; none for the reference itself.
    assert pd.isna(df.loc["squared_error", "wins_vs_reference"])
    wins = df["wins_vs_reference"].drop("squared_error")
    assert ((wins >= 0) & (wins <= 3)).all()
    assert sweep.attrs["reference"] == "squared_error"
    assert ((df["n_floored"] >= 0) & (df["n_floored"] <= n_rows)).all()
    for m in ("mae", "rmse", "tweedie_deviance", "poisson_deviance"):
        assert (df[m] > 0).all() and (df[f"{m}_std"] >= 0).all()


def test_wins_match_fold_scores(sweep):
    folds = sweep.attrs["fold_scores"]
    ref = np.array(folds["squared_error"]["mae"])
    for config, wins in zip(sweep["config"], sweep["wins_vs_reference"]):
        if config != "squared_error":
            assert wins == int(np.sum(np.array(folds[config]["mae"]) < ref))
    for config, mean in zip(sweep["config"], sweep["mae"]):
        assert mean == pytest.approx(np.mean(folds[config]["mae"]))


@pytest.mark.parametrize("backend", ["xgboost", "lightgbm"])
def test_tweedie_beats_squared_error_on_tracker_data(backend):
    X, y = make_tracker_costs(1500, random_state=0)
    df = sweep_tweedie_power(X, y, powers=(1.5,), backend=backend, cv=3, num_boost_round=40, progress=False,
                             baselines=False).set_index("config")
    assert df.loc["tweedie(power=1.5)", "mae"] < 0.9 * df.loc["squared_error", "mae"]
    assert df.loc["tweedie(power=1.5)", "wins_vs_reference"] == 3
    assert df.index[0] == "tweedie(power=1.5)"


def test_median_baseline_beats_squared_error_without_signal(rng):
    # Zero-inflated, skewed target independent of the features: MAE rewards the median.
    n = 900
    X = rng.normal(size=(n, 5))
    y = np.where(rng.random(n) < 0.5, 0.0, rng.lognormal(0.0, 1.5, n))
    df = ablate_losses(X, y, ["squared_error"], **FAST).set_index("config")
    assert df.loc["constant median", "mae"] < 0.8 * df.loc["squared_error", "mae"]
    assert df.index[0] == "constant median"


def test_refine_searches_between_grid_neighbours(tracker):
    X, y = tracker
    df = sweep_tweedie_power(X, y, powers=(1.2, 1.5, 1.8), refine=2, include_squared_error=False,
                             baselines=False, backend="lightgbm", **FAST)
    refined = df[df["kind"] == "refined"]
    assert len(refined) == 2
    grid = df[df["kind"] == "model"].set_index("power")["mae"]
    best = grid.idxmin()
    lo = max([p for p in grid.index if p < best], default=best)
    hi = min([p for p in grid.index if p > best], default=best)
    assert ((refined["power"] > lo) & (refined["power"] < hi)).all()
    assert df.attrs["reference"] is None
    assert df["wins_vs_reference"].isna().all()


def test_parallel_fits_give_the_same_table(tracker):
    X, y = tracker
    kw = dict(powers=(1.5,), baselines=False, **FAST)
    one = sweep_tweedie_power(X, y, n_jobs=1, **kw)
    two = sweep_tweedie_power(X, y, n_jobs=2, **kw)
    pd.testing.assert_frame_equal(_numbers(one), _numbers(two))


def test_groups_and_weights(tracker):
    X, y = tracker
    groups = np.arange(len(y)) // 20
    w = np.where(np.arange(len(y)) % 2 == 0, 1.0, 3.0)
    df = ablate_losses(X, y, ["tweedie(power=1.5)"], groups=groups, sample_weight=w, **FAST).set_index("config")
    assert (df["n_folds"] == 3).all()
    folds = df.attrs["fold_scores"]
    assert np.all(np.isfinite(folds["tweedie(power=1.5)"]["mae"]))
    plain = ablate_losses(X, y, ["tweedie(power=1.5)"], **FAST).set_index("config")
    assert df.loc["tweedie(power=1.5)", "mae"] != plain.loc["tweedie(power=1.5)", "mae"]
    with pytest.raises(ValueError, match="groups"):
        ablate_losses(X, y, ["squared_error"], groups=np.arange(len(y)) % 2, **FAST)


# ---------------------------------------------------------------------------
# Other losses, classification
# ---------------------------------------------------------------------------


def test_ablate_accepts_every_spec_format(tracker):
    X, y = tracker
    specs = ["squared_error", "tweedie(power=1.5)", ("huber", {"delta": 500.0}), get_loss("poisson"),
             "quantile(alpha=0.5)"]
    df = ablate_losses(X, y, specs, backend="lightgbm", baselines=False, **FAST)
    assert set(df["config"]) == {"squared_error", "tweedie(power=1.5)", "huber(delta=500)", POISSON,
                                 "quantile(alpha=0.5)"}
    assert (df["kind"] == "model").all()
    assert df.set_index("config").loc[POISSON, "power"] == 1.0


def test_ablate_adds_the_reference_and_recommends_by_default(tracker):
    X, y = tracker
    df = ablate_losses(X, y, ["tweedie(power=1.5)"], baselines=False, **FAST)
    assert set(df["config"]) == {"tweedie(power=1.5)", "squared_error"}
    none = ablate_losses(X, y, ["tweedie(power=1.5)"], reference=None, baselines=False, **FAST)
    assert list(none["config"]) == ["tweedie(power=1.5)"]
    default = ablate_losses(X, y, baselines=False, **FAST)
    assert set(default["config"]) == {loss_label(a.loss) for a in recommend_losses(y)}


def test_the_ablation_reads_loss_facts_not_names(tracker):
    """A loss the ablation has never heard of: its power, balanced row, choice and sweep come from its facts."""
    from gbm_objectives.ablation import choice_table, sweep_loss_parameter
    from gbm_objectives.losses import Tweedie

    class RenamedTweedie(Tweedie):
        name = "renamed_tweedie"

    X, y = tracker
    df = ablate_losses(X, y, [RenamedTweedie(power=1.4)], backend="lightgbm", balance=True, baselines=False,
                       **FAST)
    d = df.set_index("config")
    assert d.loc["renamed_tweedie(power=1.4)", "power"] == 1.4
    assert d.loc["renamed_tweedie(power=1.4) balanced", "kind"] == "balanced"
    assert np.isnan(d.loc["squared_error", "power"])
    choices = choice_table(df).set_index("Choice")
    assert choices.loc["lowest MAE", "Configuration"] == "renamed_tweedie(power=1.4)"
    swept = sweep_loss_parameter(X, y, RenamedTweedie(power=1.4), "power", [1.3, 1.6], backend="lightgbm",
                                 reference=None, baselines=False, **FAST)
    assert sorted(swept["config"]) == ["renamed_tweedie(power=1.3)", "renamed_tweedie(power=1.6)"]
    np.testing.assert_array_equal(np.sort(swept["power"].to_numpy()), [1.3, 1.6])


def test_classification_panel(rng):
    n = 1500
    X = rng.normal(size=(n, 4))
    logit = -3.0 + 2.0 * X[:, 0]
    y = (rng.random(n) < 1.0 / (1.0 + np.exp(-logit))).astype(float)
    df = ablate_losses(X, y, ["logistic", "focal(gamma=2)"], backend="lightgbm", **FAST)
    assert df.attrs["task"] == "binary"
    assert df.attrs["metric"] == "log_loss"
    assert df.attrs["reference"] == LOGISTIC
    assert {"log_loss", "auc", "brier", "calibration", "log_loss_std", "auc_std"} <= set(df.columns)
    assert "mae" not in df.columns and "n_floored" not in df.columns
    assert set(df["config"]) == {LOGISTIC, "focal(gamma=2)", "constant mean"}
    d = df.set_index("config")
    assert d.loc["constant mean", "auc"] == pytest.approx(0.5)
    assert d.loc[LOGISTIC, "auc"] > 0.7
    assert ((df["brier"] > 0) & (df["brier"] < 0.25)).all()
    assert df["log_loss"].is_monotonic_increasing


# ---------------------------------------------------------------------------
# Loss specs
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", [n for n in available_losses() if n not in ("softmax", "softmax_focal")])
def test_label_round_trip(name):
    loss = get_loss(name)
    assert parse_loss(loss_label(loss)) == loss


@pytest.mark.parametrize(
    "spec, expected",
    [
        ("tweedie(power=1.2)", get_loss("tweedie", power=1.2)),
        ("  huber( delta = 2 ) ", get_loss("huber", delta=2.0)),
        ("focal(gamma=1, alpha=0.25)", get_loss("focal", gamma=1.0, alpha=0.25)),
        (("quantile", {"alpha": 0.9}), get_loss("quantile", alpha=0.9)),
        ("poisson", get_loss("poisson")),
    ],
)
def test_parse_loss(spec, expected):
    assert parse_loss(spec) == expected


def test_loss_labels():
    assert loss_label("tweedie") == "tweedie(power=1.5)"
    assert loss_label(get_loss("huber", delta=2.0)) == "huber(delta=2)"
    assert loss_label("squared_error") == "squared_error"
    assert loss_label(get_loss("focal")) == "focal(gamma=2)"


@pytest.mark.parametrize(
    "spec, match",
    [
        ("tweedie(1.5)", "keyword"),
        ("tweedie(power=", "cannot parse"),
        ("tweedie(power=x)", "literal"),
        ("nope", "unknown loss"),
        (("tweedie",), "tuple"),
        (3, "loss spec"),
        ("tweedie(power=2.5)", "power"),
    ],
)
def test_parse_loss_errors(spec, match):
    with pytest.raises(ValueError, match=match):
        parse_loss(spec)


# ---------------------------------------------------------------------------
# Advice
# ---------------------------------------------------------------------------


def _specs(y):
    advice = recommend_losses(y)
    assert all(isinstance(a, LossAdvice) and a.reason for a in advice)
    return [loss_label(a.loss) for a in advice]


def test_advice_pickles_under_the_public_module_path():
    import pickle

    advice = recommend_losses(np.r_[np.zeros(50), np.arange(1.0, 51.0)])[0]
    data = pickle.dumps(advice)
    assert b"gbm_objectives.ablation" in data and b"_advice" not in data
    assert pickle.loads(data) == advice


def test_recommend_tweedie_for_zero_inflated_skewed(rng):
    y = np.where(rng.random(3000) < 0.4, 0.0, rng.gamma(0.5, 1000.0, 3000))
    specs = _specs(y)
    assert specs[0] == "squared_error"
    assert "tweedie(power=1.5)" in specs
    assert not any(s.startswith("huber") for s in specs)
    reason = next(a.reason for a in recommend_losses(y) if a.spec == "tweedie(power=1.5)")
    assert "zeros" in reason


def test_recommend_huber_for_heavy_tailed_symmetric_noise(rng):
    y = 10.0 * rng.normal(size=4000) + rng.standard_t(df=1.5, size=4000) * 5.0
    specs = _specs(y)
    assert any(s.startswith("huber") for s in specs)
    assert not any(s.startswith(("tweedie", "poisson", "gamma")) for s in specs)


def test_recommend_focal_for_rare_class(rng):
    y = (rng.random(20_000) < 0.01).astype(float)
    specs = _specs(y)
    assert specs == [LOGISTIC, "focal(gamma=2)"]
    assert "1.0%" in recommend_losses(y)[1].reason or "0.9%" in recommend_losses(y)[1].reason


def test_recommend_poisson_for_counts_and_gamma_for_positive_skew(rng):
    assert POISSON in _specs(rng.poisson(2.0, 2000).astype(float))
    assert "gamma" in _specs(rng.lognormal(0.0, 1.0, 2000))
    gaussian = _specs(rng.normal(size=2000))
    assert gaussian[0] == "squared_error" and len(gaussian) >= 2


def test_describe_target(rng):
    y = np.r_[np.zeros(60), rng.poisson(3.0, 40) + 1.0]
    d = describe_target(y)
    assert d["n"] == 100 and d["zero_share"] == pytest.approx(0.6)
    assert d["is_integer"] and not d["is_binary"] and d["minority_share"] is None
    with pytest.raises(ValueError, match="constant"):
        recommend_losses(np.ones(10))
    with pytest.raises(ValueError, match="NaN"):
        recommend_losses(np.array([1.0, np.nan]))


# ---------------------------------------------------------------------------
# Yardstick helpers
# ---------------------------------------------------------------------------


def test_deviance_matches_scikit_learn(rng):
    y = np.where(rng.random(200) < 0.3, 0.0, rng.gamma(2.0, 3.0, 200))
    mu = rng.gamma(2.0, 3.0, 200)
    for p in (1.0, 1.3, 1.5, 1.9):
        assert np.mean(_unit_tweedie_deviance(y, mu, p)) == pytest.approx(mean_tweedie_deviance(y, mu, power=p))


def test_normalized_gini(rng):
    y = rng.gamma(1.0, 1.0, 500)
    assert _normalized_gini(y, y, None) == pytest.approx(1.0)
    assert _normalized_gini(y, 2.0 * y + 1.0, None) == pytest.approx(1.0)
    assert _normalized_gini(y, np.full(500, 3.0), None) == pytest.approx(0.0)
    assert _normalized_gini(y, -y, None) == pytest.approx(-1.0, abs=0.02)
    # Integer weights equal repeated rows.
    w = rng.integers(1, 4, 500).astype(float)
    score = y + rng.normal(size=500)
    rep = np.repeat(np.arange(500), w.astype(int))
    assert _normalized_gini(y, score, w) == pytest.approx(_normalized_gini(y[rep], score[rep], None))


# ---------------------------------------------------------------------------
# Presentation
# ---------------------------------------------------------------------------


def test_ranking_table_and_panel(sweep):
    ranking = ranking_table(sweep)
    shown = sweep[sweep["kind"].isin(("model", "baseline"))]
    assert list(ranking.columns) == ["Configuration", "MAE", "Relative to best"]
    assert list(ranking["Configuration"]) == list(shown["config"])
    assert ranking["Relative to best"].iloc[0] == "-"
    assert all(s.startswith("+") and s.endswith("%") for s in ranking["Relative to best"].iloc[1:])
    models = ranking_table(sweep, baselines=False)
    assert list(models["Configuration"]) == list(sweep.loc[sweep["kind"] == "model", "config"])
    assert len(ranking_table(sweep, balanced=True)) == len(sweep)
    panel = panel_table(sweep)
    assert len(panel) == len(sweep)
    assert {"MAE", "RMSE", "Tweedie dev (p=1.5)", "Poisson dev", "Gini", "Calibration",
            "Wins vs squared_error", "Floored", "Fit s"} <= set(panel.columns)
    md = to_markdown(ranking)
    lines = md.strip().splitlines()
    assert lines[0] == "| Configuration | MAE | Relative to best |"
    assert len(lines) == len(ranking) + 2
    with pytest.raises(ValueError, match="result table"):
        ranking_table(pd.DataFrame({"a": [1]}))


def test_seed_table_is_a_deprecated_alias_of_ranking_table(sweep):
    import gbm_objectives.ablation as ablation

    with pytest.warns(DeprecationWarning, match="ranking_table"):
        old = ablation.seed_table(sweep, baselines=False)
    pd.testing.assert_frame_equal(old, ranking_table(sweep, baselines=False))
    assert "seed_table" not in ablation.__all__ and "ranking_table" in ablation.__all__


def test_plots(sweep, tmp_path):
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from gbm_objectives.plotting import plot_ablation, plot_power_sweep

    ax = plot_power_sweep(sweep)
    xs = np.concatenate([np.asarray(line.get_xdata(), dtype=float) for line in ax.get_lines()])
    assert set(np.round(xs, 6)) >= {1.2, 1.5, 1.8}
    assert ax.get_xlabel() == "Tweedie power" and ax.get_ylabel().startswith("MAE")
    ax.figure.savefig(tmp_path / "sweep.png")
    ax2 = plot_ablation(sweep, "gini")
    assert len(ax2.patches) >= len(sweep)
    ax2.figure.savefig(tmp_path / "bars.png")
    assert (tmp_path / "sweep.png").stat().st_size > 1000
    plt.close("all")
    with pytest.raises(ValueError, match="metric"):
        plot_ablation(sweep, "accuracy")


# ---------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small():
    rng = np.random.default_rng(0)
    return rng.normal(size=(30, 3)), rng.gamma(1.0, 1.0, 30)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"powers": (0.5,)}, "power"),
        ({"powers": (1.5, 2.5)}, "power"),
        ({"powers": ()}, "empty"),
        ({"powers": (1.5, 1.5)}, "duplicates"),
        ({"powers": "1.5"}, "powers"),
        ({"cv": 1}, "cv"),
        ({"cv": 31}, "at least 31 rows"),
        ({"cv": 2.0}, "cv"),
        ({"backend": "catboost"}, "backend"),
        ({"metric": "calibration"}, "metric"),
        ({"metric": "auc"}, "metric"),
        ({"refine": -1}, "refine"),
        ({"refine": 2, "powers": (1.5,)}, "refine"),
        ({"num_boost_round": 0}, "num_boost_round"),
        ({"n_jobs": 0}, "n_jobs"),
        ({"random_state": -3}, "random_state"),
        ({"params": [1, 2]}, "params"),
        ({"progress": "yes"}, "progress"),
        ({"deviance_power": 2.0}, "deviance_power"),
        ({"balance": 1}, "balance"),
    ],
)
def test_sweep_validation(small, kwargs, match):
    X, y = small
    with pytest.raises(ValueError, match=match):
        sweep_tweedie_power(X, y, **{"progress": False, **kwargs})


@pytest.mark.parametrize(
    "X_, y_, kwargs, match",
    [
        (None, np.ones(29), {}, "30 rows but y has 29"),
        (None, np.r_[np.nan, np.ones(29)], {}, "NaN"),
        (None, np.r_[-1.0, np.ones(29)], {}, "y >= 0"),
        (None, None, {"sample_weight": np.ones(3)}, "sample_weight"),
        (None, None, {"sample_weight": -np.ones(30)}, "non-negative"),
        (None, None, {"groups": np.ones(4)}, "groups"),
        (np.ones(30), None, {}, "2-D"),
        (pd.DataFrame({"a": ["x"] * 30}), None, {}, "non-numeric"),
    ],
)
def test_input_validation(small, X_, y_, kwargs, match):
    X, y = small
    with pytest.raises(ValueError, match=match):
        sweep_tweedie_power(X if X_ is None else X_, y if y_ is None else y_, powers=(1.5,), progress=False, **kwargs)


def test_ablate_validation(small):
    X, y = small
    with pytest.raises(ValueError, match="mix regression and binary classification"):
        ablate_losses(X, y, ["squared_error", "logistic"], progress=False)
    with pytest.raises(ValueError, match=r"softmax\(num_class=3.*\) is a multiclass loss with 3 output\(s\)"):
        ablate_losses(X, y, ["softmax(num_class=3)"], progress=False)
    with pytest.raises(ValueError, match="duplicates"):
        ablate_losses(X, y, ["huber", ("huber", {})], progress=False)
    with pytest.raises(ValueError, match="empty"):
        ablate_losses(X, y, [], progress=False)
    with pytest.raises(ValueError, match="list of loss specs"):
        ablate_losses(X, y, "squared_error", progress=False)
    with pytest.raises(ValueError, match="tweedie.*y >= 0"):
        ablate_losses(X, y - 5.0, ["squared_error", "tweedie(power=1.5)"], progress=False)
    with pytest.raises(ValueError, match="labels 0 and 1"):
        ablate_losses(X, np.full(30, 0.5), ["logistic"], progress=False)
    with pytest.raises(ValueError, match="rarer class"):
        ablate_losses(X, np.r_[1.0, np.zeros(29)], ["logistic"], cv=2, progress=False)


def test_negative_targets_keep_the_panel_without_deviances(small):
    X, y = small
    df = ablate_losses(X, y - 1.0, ["huber"], cv=2, num_boost_round=5, progress=False)
    assert df["tweedie_deviance"].isna().all() and df["poisson_deviance"].isna().all()
    assert np.isfinite(df["mae"]).all()
    # mean prediction / mean label is no calibration where the mean label can sit near 0
    assert df["calibration"].isna().all()
    assert np.isfinite(ablate_losses(X, y, ["huber"], cv=2, num_boost_round=5, progress=False)["calibration"]).all()
    with pytest.raises(ValueError, match="needs y >= 0"):
        ablate_losses(X, y - 1.0, ["huber"], metric="poisson_deviance", progress=False)


def test_default_powers():
    assert DEFAULT_POWERS[0] == 1.1 and DEFAULT_POWERS[-1] == 1.9 and len(DEFAULT_POWERS) == 9


# ---------------------------------------------------------------------------
# Boosters are optional extras
# ---------------------------------------------------------------------------

_WITHOUT_XGBOOST = """
import sys
sys.modules["xgboost"] = None  # what an environment without the xgboost extra sees
import numpy as np
import gbm_objectives.ablation as ab
import gbm_objectives.tweedie_power, gbm_objectives.cli, gbm_objectives.plotting, gbm_objectives.datasets
rng = np.random.default_rng(0)
X = rng.normal(size=(60, 3))
y = np.exp(X[:, 0]) + rng.gamma(1.0, size=60)
df = ab.ablate_losses(X, y, ["squared_error"], backend="lightgbm", cv=2, num_boost_round=3, progress=False)
assert len(df) > 0 and np.isfinite(df["mae"]).all()
for call in (lambda: ab.ablate_losses(X, y, ["squared_error"], cv=2, progress=False),
             lambda: ab.estimate_tweedie_power(X, y, cv=2, progress=False)):
    try:
        call()
    except ImportError as exc:
        print(exc)
    else:
        raise AssertionError("no ImportError without xgboost")
"""


def test_a_missing_booster_names_its_extra_and_the_other_backend_still_runs():
    import os
    import subprocess
    import sys

    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    proc = subprocess.run([sys.executable, "-c", _WITHOUT_XGBOOST], capture_output=True, text=True, timeout=300,
                          env=env)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 2
    for line in lines:
        assert line.startswith("backend='xgboost' needs XGBoost") and "pip install 'gbm-objectives[xgboost]'" in line
