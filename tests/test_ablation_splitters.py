"""The ablation at user scale: scikit-learn splitters as ``cv``, categorical columns, early stopping per fold."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import (
    GroupKFold,
    KFold,
    PredefinedSplit,
    ShuffleSplit,
    StratifiedKFold,
    TimeSeriesSplit,
)

from gbm_objectives.ablation import ablate_losses, sweep_loss_parameter, sweep_tweedie_power
from gbm_objectives.ablation._experiment import STOPPING_FRACTION, _stopping_rows
from gbm_objectives.ablation._inputs import FeatureMatrix, _check_X
from gbm_objectives.tweedie_power import estimate_tweedie_power

PARAMS = {"xgboost": {"nthread": 1, "max_depth": 3}, "lightgbm": {"num_threads": 1, "num_leaves": 7}}
FAST = {"num_boost_round": 8, "progress": False, "params": PARAMS["xgboost"]}
N = 240


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(N, 3))
    y = np.exp(0.6 * X[:, 0]) * rng.gamma(2.0, 0.5, N) * (rng.random(N) < 0.8)
    return X, y


def _without_timings(df: pd.DataFrame) -> pd.DataFrame:
    return df.drop(columns="fit_seconds")


# ---------------------------------------------------------------------------
# Splitters
# ---------------------------------------------------------------------------


def test_an_integer_cv_is_the_shuffled_kfold_it_names(data):
    X, y = data
    losses = ["squared_error", "tweedie(power=1.5)"]
    by_count = ablate_losses(X, y, losses, cv=3, random_state=4, **FAST)
    splitter = KFold(3, shuffle=True, random_state=4)
    by_splitter = ablate_losses(X, y, losses, cv=splitter, random_state=4, **FAST)
    pairs = list(splitter.split(X))
    by_pairs = ablate_losses(X, y, losses, cv=iter(pairs), random_state=4, **FAST)
    masks = [(np.isin(np.arange(N), tr), np.isin(np.arange(N), te)) for tr, te in pairs]
    by_masks = ablate_losses(X, y, losses, cv=masks, random_state=4, **FAST)
    for other in (by_splitter, by_pairs, by_masks):
        pd.testing.assert_frame_equal(_without_timings(by_count), _without_timings(other))
        assert other.attrs["cv"] == 3 and other.attrs["n_tested"] == N
        assert other.attrs["fold_scores"] == by_count.attrs["fold_scores"]
    assert by_count.attrs["cv"] == 3
    assert by_count.attrs["splitter"] == by_splitter.attrs["splitter"] == repr(splitter)
    assert by_pairs.attrs["splitter"] == "3 (train, test) index pairs"


def test_group_splitter_keeps_groups_apart_and_asks_for_groups(data):
    X, y = data
    groups = np.arange(N) // 12
    df = ablate_losses(X, y, ["squared_error"], cv=GroupKFold(4), groups=groups, **FAST)
    assert df.attrs["cv"] == 4 and df.attrs["splitter"].startswith("GroupKFold(")
    assert (df["n_folds"] == 4).all()
    with pytest.raises(ValueError, match=r"cv=GroupKFold\(.*\) needs groups: pass groups="):
        ablate_losses(X, y, ["squared_error"], cv=GroupKFold(4), **FAST)
    with pytest.warns(UserWarning, match="puts rows of .* group"):  # scikit-learn warns too: KFold ignores groups
        ablate_losses(X, y, ["squared_error"], cv=KFold(3), groups=groups, **FAST)


def test_time_series_folds_score_only_the_rows_they_test(data):
    X, y = data
    splitter = TimeSeriesSplit(3)
    tested = np.unique(np.concatenate([te for _, te in splitter.split(X)]))
    df = sweep_tweedie_power(X, y, [1.2, 1.5, 1.8], cv=splitter, **FAST)
    assert df.attrs["cv"] == 3 and df.attrs["n_rows"] == N
    assert df.attrs["n_tested"] == tested.size == N - N // 4
    # The likelihood reads one out-of-fold mean per tested row, and only those.
    assert df.attrs["likelihood"]["n_scored"] == tested.size
    est = estimate_tweedie_power(X, y, powers=(1.2, 1.5, 1.8), cv=splitter, **FAST)
    assert est.n_scored == tested.size and est.settings["splitter"] == repr(splitter)
    assert np.isclose(est.table["log_likelihood"].max(),
                      df.loc[df["kind"] == "model", "log_likelihood"].max(), rtol=1e-12)
    # Per-fold MAE of the constant-mean row: each test block against its own training mean.
    folds = list(splitter.split(X))
    expect = [np.mean(np.abs(y[te] - y[tr].mean())) for tr, te in folds]
    np.testing.assert_allclose(df.attrs["fold_scores"]["constant mean"]["mae"], expect, rtol=1e-12)


def test_predefined_split_leaves_its_minus_one_rows_untested(data):
    X, y = data
    fold = np.tile([0, 1, 2, -1], N // 4)
    df = sweep_loss_parameter(X, y, "huber", "delta", [0.5, 2.0], cv=PredefinedSplit(fold), **FAST)
    assert df.attrs["cv"] == 3 and df.attrs["n_tested"] == 3 * N // 4
    assert df.attrs["splitter"].startswith("PredefinedSplit(")


def test_stratified_splitter_for_classification_and_its_refusal_of_continuous_labels(data):
    X, y = data
    labels = (y > np.median(y)).astype(float)
    df = ablate_losses(X, labels, ["logistic"], cv=StratifiedKFold(3, shuffle=True, random_state=0), **FAST)
    assert df.attrs["task"] == "binary" and df.attrs["cv"] == 3
    with pytest.raises(ValueError, match=r"cv=StratifiedKFold\(.*\) could not split the data"):
        ablate_losses(X, y, ["squared_error"], cv=StratifiedKFold(3), **FAST)


def test_overlapping_test_folds_are_scored_but_give_no_likelihood(data):
    X, y = data
    splitter = ShuffleSplit(3, test_size=0.4, random_state=0)
    df = sweep_tweedie_power(X, y, [1.2, 1.5, 1.8], cv=splitter, **FAST)
    assert (df["n_folds"] == 3).all() and "likelihood" not in df.attrs and "log_likelihood" not in df
    with pytest.raises(ValueError, match="at most one test fold"):
        sweep_tweedie_power(X, y, [1.2, 1.5, 1.8], cv=splitter, likelihood=True, **FAST)
    with pytest.raises(ValueError, match="more than one test fold"):
        estimate_tweedie_power(X, y, powers=(1.2, 1.5, 1.8), cv=splitter, **FAST)


def test_level_set_panel_takes_a_splitter(data):
    X, y = data
    splitter = KFold(3)
    df = ablate_losses(X, y, ["multi_quantile(alphas=(0.1, 0.9))"], cv=splitter, **FAST)
    assert df.attrs["task"] == "intervals"
    assert df.attrs["cv"] == 3 and df.attrs["splitter"] == repr(splitter) and df.attrs["n_tested"] == N


def _pairs(*folds):
    return [(np.asarray(tr), np.asarray(te)) for tr, te in folds]


@pytest.mark.parametrize(
    "cv, match",
    [
        (PredefinedSplit(np.r_[np.zeros(N // 2), -np.ones(N // 2)]), "gives 1 fold"),
        ([(np.arange(100), np.arange(100, 200))], "gives 1 fold"),
        ([], "gives 0 fold"),
        (_pairs((np.arange(100), np.arange(100, 200)), (np.arange(100, 200), [])), "fold 1 .* empty test set"),
        (_pairs((np.arange(100), np.arange(100, 200)), ([], np.arange(100))), "fold 1 .* empty training set"),
        (_pairs((np.arange(100), np.arange(100, N + 5)), (np.arange(100, 200), np.arange(100))),
         f"row index {N + 4}, out of range for {N} rows"),
        (_pairs((np.arange(-1, 100), np.arange(100, 200)), (np.arange(100, 200), np.arange(100))),
         "row index -1, out of range"),
        (_pairs((np.arange(150), np.arange(100, 200)), (np.arange(100, 200), np.arange(100))),
         "fold 0 .* 50 row\\(s\\) in both its training and test set"),
        (_pairs((np.arange(100.0), np.arange(100, 200)), (np.arange(100, 200), np.arange(100))), "integer row"),
        ([(np.ones(5, dtype=bool), np.arange(3))] * 2, "boolean mask of 5 entries"),
        ([np.arange(3), np.arange(3)], "not a \\(train, test\\) pair"),
        ("five", "an integer >= 2, a scikit-learn splitter"),
        (None, "an integer >= 2, a scikit-learn splitter"),
        (1.5, "cv must be an integer >= 2"),
        (1, "cv must be an integer >= 2"),
    ],
)
def test_bad_folds_are_named(data, cv, match):
    X, y = data
    with pytest.raises(ValueError, match=match):
        ablate_losses(X, y, ["squared_error"], cv=cv, **FAST)


# ---------------------------------------------------------------------------
# Categorical columns
# ---------------------------------------------------------------------------


def _categorical_table(n: int = 1200, levels: int = 40, seed: int = 1):
    """A target driven by an unordered category: each level's effect is drawn at random."""
    rng = np.random.default_rng(seed)
    code = rng.integers(0, levels, n)
    effect = rng.normal(size=levels) * 2.0
    x = rng.normal(size=n)
    y = effect[code] + 0.5 * x + 0.3 * rng.normal(size=n)
    frame = pd.DataFrame({"site": pd.Categorical([f"s{c:02d}" for c in code]), "x": x})
    return frame, y


@pytest.mark.parametrize("backend", ["xgboost", "lightgbm"])
def test_a_category_column_is_split_as_a_category(backend, monkeypatch):
    frame, y = _categorical_table()
    params = {"xgboost": {"nthread": 1, "max_depth": 2}, "lightgbm": {"num_threads": 1, "num_leaves": 4}}[backend]
    kw = {"cv": 3, "num_boost_round": 30, "progress": False, "params": params, "backend": backend,
          "baselines": False, "reference": None}
    adapter = __import__(f"gbm_objectives.{backend}", fromlist=["train"])
    boosters = []
    train = adapter.train
    monkeypatch.setattr(adapter, "train", lambda *a, **k: boosters.append(train(*a, **k)) or boosters[-1])
    as_category = ablate_losses(frame, y, ["squared_error"], **kw)
    assert as_category.attrs["categorical_features"] == ["site"]
    # The trained trees split the column by sets of categories.
    if backend == "xgboost":
        trees = boosters[0].trees_to_dataframe()
        assert trees.loc[trees["Feature"] == "f0", "Category"].notna().any()
    else:
        kinds = set()

        def walk(node):
            if "split_feature" in node:
                kinds.add((node["split_feature"], node["decision_type"]))
                walk(node["left_child"])
                walk(node["right_child"])

        for tree in boosters[0].dump_model()["tree_info"]:
            walk(tree["tree_structure"])
        assert (0, "==") in kinds
    # The same codes read as numbers (their order is arbitrary) fit far worse.
    as_numbers = frame.assign(site=frame["site"].cat.codes.astype(np.float64))
    numeric = ablate_losses(as_numbers, y, ["squared_error"], **kw)
    assert "categorical_features" not in numeric.attrs
    assert as_category["mae"].iloc[0] < 0.5 * numeric["mae"].iloc[0]


def test_codes_come_from_the_whole_table_and_missing_stays_missing():
    frame = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0],
                          "kind": pd.Categorical(["b", None, "a", "b"], categories=["z", "a", "b"]),
                          "flag": [True, False, True, True]})
    X = _check_X(frame)
    assert isinstance(X, FeatureMatrix) and X.categorical == (1,) and X.categorical_names == ["kind"]
    np.testing.assert_array_equal(X.values[:, 1], [2.0, np.nan, 1.0, 2.0])
    rows = X[np.array([3, 0])]
    assert rows.shape == (2, 3) and rows.categorical == (1,)
    np.testing.assert_array_equal(rows.values[:, 1], [2.0, 2.0])
    assert isinstance(_check_X(frame.drop(columns="kind")), np.ndarray)


@pytest.mark.parametrize("column", [["x", "y", "x", "z"], pd.array(["x", "y", "x", "z"], dtype="string")])
def test_text_columns_are_refused_with_the_conversion_to_make(column):
    frame = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0], "name": column})
    with pytest.raises(ValueError, match=r"name .*astype\('category'\)"):
        ablate_losses(frame, [1.0, 2.0, 3.0, 4.0], ["squared_error"], cv=2, progress=False)


@pytest.mark.filterwarnings("ignore:the profile likelihood stays within:UserWarning")
def test_categorical_folds_in_parallel_and_the_power_estimate_agree():
    frame, y = _categorical_table(600, 12, seed=2)
    y = np.exp(y / 4.0)
    # A category missing from a fold's training rows still has its own code.
    frame["rare"] = pd.Categorical(np.where(np.arange(600) < 5, "once", "common"))
    opts = {"cv": 3, "num_boost_round": 6, "progress": False, "params": PARAMS["lightgbm"], "backend": "lightgbm"}
    serial = sweep_tweedie_power(frame, y, [1.3, 1.6], **opts)
    parallel = sweep_tweedie_power(frame, y, [1.3, 1.6], n_jobs=2, **opts)
    pd.testing.assert_frame_equal(_without_timings(serial), _without_timings(parallel))
    assert serial.attrs["categorical_features"] == ["site", "rare"]
    est = estimate_tweedie_power(frame, y, powers=(1.2, 1.5, 1.8), **opts)
    assert est.n_scored == 600 and 1.2 <= est.power <= 1.8


# ---------------------------------------------------------------------------
# Early stopping
# ---------------------------------------------------------------------------


def test_stopping_rows_are_a_tenth_of_the_training_rows_in_whole_groups():
    train = np.arange(10, 210)
    rows = _stopping_rows(train, None, 0, 1)
    assert rows.size == round(STOPPING_FRACTION * 200) and np.all(np.diff(rows) > 0) and rows.max() < 200
    groups = np.arange(300) // 7
    grouped = _stopping_rows(train, groups, 0, 1)
    held = set(groups[train][grouped])
    assert held and not held & set(groups[train][np.setdiff1d(np.arange(200), grouped)])
    assert 0.05 * 200 <= grouped.size <= 0.2 * 200
    with pytest.raises(ValueError, match="1 group"):
        _stopping_rows(train, np.zeros(300), 0, 0)


@pytest.mark.parametrize("backend", ["xgboost", "lightgbm"])
def test_early_stopping_records_best_iterations_and_ignores_the_test_fold(data, backend):
    X, y = data
    params = {**PARAMS[backend], "learning_rate": 0.5}
    cv = list(KFold(3, shuffle=True, random_state=0).split(X))
    kw = {"cv": cv, "num_boost_round": 300, "progress": False, "params": params, "backend": backend,
          "early_stopping_rounds": 3}
    df = ablate_losses(X, y, ["squared_error", "tweedie(power=1.5)"], **kw)
    best = df.attrs["best_iterations"]
    assert df.attrs["early_stopping_rounds"] == 3
    assert set(best) == {"squared_error", "tweedie(power=1.5)"}
    assert all(len(b) == 3 and all(1 <= k < 300 for k in b) for b in best.values())
    # Other labels on fold 0's test rows leave fold 0's fits (and where they stopped) as they were.
    y2 = y.copy()
    y2[cv[0][1]] = y2[cv[0][1]][::-1] * 3.0
    other = ablate_losses(X, y2, ["squared_error", "tweedie(power=1.5)"], **kw)
    for label in best:
        assert other.attrs["best_iterations"][label][0] == best[label][0]
    without = ablate_losses(X, y, ["squared_error"], **{**kw, "early_stopping_rounds": None})
    assert "best_iterations" not in without.attrs


def test_early_stopping_options_are_checked(data):
    X, y = data
    with pytest.raises(ValueError, match="early_stopping_rounds must be an integer >= 1"):
        ablate_losses(X, y, ["squared_error"], cv=3, early_stopping_rounds=0, **FAST)
    with pytest.raises(ValueError, match="early_stopping_rounds is not available for level-set losses"):
        ablate_losses(X, y, ["multi_quantile"], cv=3, early_stopping_rounds=2, **FAST)
    df = sweep_loss_parameter(X, y, "huber", "delta", [0.5, 2.0], cv=3, early_stopping_rounds=2, **FAST)
    assert set(df.attrs["best_iterations"]) == {"huber(delta=0.5)", "huber(delta=2)", "squared_error"}


def test_power_estimate_stops_early_per_power_and_fold(data):
    X, y = data
    est = estimate_tweedie_power(X, y, powers=(1.2, 1.5, 1.8), cv=3, early_stopping_rounds=2, random_state=0,
                                 num_boost_round=300, progress=False,
                                 params={**PARAMS["xgboost"], "learning_rate": 0.5})
    best = est.settings["best_iterations"]
    assert est.settings["early_stopping_rounds"] == 2 and set(best) == {1.2, 1.5, 1.8}
    assert all(len(b) == 3 and all(1 <= k < 300 for k in b) for b in best.values())
    assert "best_iterations" not in estimate_tweedie_power(X, y, powers=(1.2, 1.5, 1.8), cv=3, random_state=0,
                                                           **FAST).settings


@pytest.mark.parametrize("backend", ["xgboost", "lightgbm"])
def test_level_set_panel_takes_categorical_columns(backend):
    frame, y = _categorical_table(300, 6, seed=4)
    df = ablate_losses(frame, y, ["multi_quantile(alphas=(0.1, 0.9))"], cv=3, num_boost_round=5, progress=False,
                       backend=backend, params=PARAMS[backend])
    assert df.attrs["task"] == "intervals" and df.attrs["categorical_features"] == ["site"]
    assert np.isfinite(df["interval_score"]).all()
