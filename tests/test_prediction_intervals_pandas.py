"""PredictionIntervals on pandas DataFrames: categorical columns on both backends, numeric input unchanged."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score
from sklearn.utils import check_random_state

pd = pytest.importorskip("pandas")
pytest.importorskip("lightgbm")
pytest.importorskip("xgboost")

from gbm_objectives import get_loss  # noqa: E402
from gbm_objectives.intervals import PredictionIntervals, coverage, interval_score, mean_width  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore:no feature of the training data can be split")

BACKENDS = ["lightgbm", "xgboost"]
N_CATEGORIES = 30
#: Each category's shift of the label: far apart next to the noise (sd 0.5), in no order of the codes.
EFFECTS = np.random.default_rng(99).normal(0.0, 3.0, N_CATEGORIES)
CATEGORIES = [f"shop{i:02d}" for i in range(N_CATEGORIES)]
#: Small-data settings: LightGBM's categorical defaults (min_data_per_group=100, cat_smooth=10) are for
#: large tables.
PARAMS = {
    "lightgbm": {"learning_rate": 0.3, "num_leaves": 8, "min_data_per_group": 5, "cat_smooth": 1.0},
    "xgboost": {"learning_rate": 0.3, "max_depth": 4},
}


def _table(n: int, seed: int, *, nan: bool = False) -> tuple[pd.DataFrame, np.ndarray]:
    """y is the row's category effect plus x plus noise: the category carries most of the signal."""
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, N_CATEGORIES, n)
    x = rng.uniform(-1.0, 1.0, n)
    y = EFFECTS[codes] + x + 0.5 * rng.standard_normal(n)
    if nan:
        x[rng.random(n) < 0.05] = np.nan
        codes = np.where(rng.random(n) < 0.05, -1, codes)  # -1: a missing category
    shop = pd.Categorical.from_codes(codes, categories=CATEGORIES)
    return pd.DataFrame({"x": x, "shop": shop, "z": rng.standard_normal(n)}), y


def _model(backend: str, **kw) -> PredictionIntervals:
    kw = {"n_estimators": 30, "n_jobs": 1, "random_state": 0, "n_splits": 3, **PARAMS[backend], **kw}
    return PredictionIntervals(backend=backend, **kw)


@pytest.fixture(scope="module")
def held_out():
    return _table(2000, 1)


@pytest.fixture(scope="module", params=BACKENDS)
def fitted(request):
    """A split-calibrated model per backend on a table with missing features and missing categories."""
    X, y = _table(600, 0, nan=True)
    return _model(request.param).fit(X, y)


# --------------------------------------------------------------------------- the categories matter


@pytest.mark.parametrize("calibration", ["split", "cross"])
@pytest.mark.parametrize("backend", BACKENDS)
def test_categorical_model_beats_integer_codes_and_dropping_the_column(backend, calibration, held_out):
    X, y = _table(600, 0)
    Xt, yt = held_out
    # The same categories as arbitrary integers (a random relabelling, as label encoding gives)
    # make the trees find each category's level by many threshold splits.
    relabel = np.random.default_rng(5).permutation(N_CATEGORIES).astype(np.float64)

    def as_codes(frame):
        return frame.assign(shop=relabel[frame["shop"].cat.codes.to_numpy()])

    cat = _model(backend, calibration=calibration).fit(X, y)
    assert cat.categorical_features_ == ["shop"]
    scores = {}
    for name, model, test in (
        ("categorical", cat, Xt),
        ("codes", _model(backend, calibration=calibration).fit(as_codes(X), y), as_codes(Xt)),
        ("dropped", _model(backend, calibration=calibration).fit(X.drop(columns="shop"), y), Xt.drop(columns="shop")),
    ):
        p = model.predict(test)
        assert np.all(np.diff(p, axis=1) >= 0)
        scores[name] = (interval_score(yt, p, 0.9), mean_width(p), coverage(yt, p))
    assert scores["categorical"][0] < 0.85 * scores["codes"][0], scores
    assert scores["categorical"][0] < 0.5 * scores["dropped"][0], scores
    assert scores["categorical"][1] < scores["dropped"][1], scores
    # Calibrated all the same: held-out coverage near 90% (codes consistent across the folds).
    assert 0.85 <= scores["categorical"][2] <= 0.96, scores


# --------------------------------------------------------------------------- coding at predict


def test_predictions_follow_the_rows_not_their_order(fitted, held_out):
    Xt = held_out[0].iloc[:300]
    p = fitted.predict(Xt)
    perm = np.random.default_rng(3).permutation(len(Xt))
    np.testing.assert_array_equal(fitted.predict(Xt.iloc[perm]), p[perm])
    np.testing.assert_array_equal(fitted.predict(Xt.iloc[perm].reset_index(drop=True)), p[perm])


def test_predict_codes_by_the_fits_categories_not_the_tables(fitted, held_out):
    Xt = held_out[0].iloc[:300]
    p = fitted.predict(Xt)
    # Reordered category lists, or only the categories present, code the same value differently
    # in pandas; the model reads them by the fit's categories.
    reordered = Xt.assign(shop=Xt["shop"].cat.reorder_categories(CATEGORIES[::-1]))
    assert not np.array_equal(reordered["shop"].cat.codes, Xt["shop"].cat.codes)
    np.testing.assert_array_equal(fitted.predict(reordered), p)
    few = Xt.iloc[:20]
    trimmed = few.assign(shop=few["shop"].cat.remove_unused_categories())
    np.testing.assert_array_equal(fitted.predict(trimmed), p[:20])
    rebuilt = few.assign(shop=pd.Categorical(np.asarray(few["shop"], dtype=object)))
    np.testing.assert_array_equal(fitted.predict(rebuilt), p[:20])


def test_an_unseen_category_at_predict_is_a_missing_value(fitted, held_out):
    Xt = held_out[0].iloc[:50].copy()
    Xt["shop"] = Xt["shop"].cat.add_categories(["new shop"])
    Xt.loc[Xt.index[:10], "shop"] = "new shop"
    missing = Xt.copy()
    missing.loc[missing.index[:10], "shop"] = np.nan
    p = fitted.predict(Xt)
    assert np.all(np.isfinite(p)) and np.all(np.diff(p, axis=1) >= 0)
    np.testing.assert_array_equal(p, fitted.predict(missing))
    # Missing is not some seen category: the rows move from where they were.
    assert not np.array_equal(p[:10], fitted.predict(held_out[0].iloc[:10]))


def test_fitted_attributes_name_the_columns(fitted):
    assert list(fitted.feature_names_in_) == ["x", "shop", "z"]
    assert fitted.n_features_in_ == 3
    assert fitted.categorical_features_ == ["shop"]
    assert list(fitted.category_encoder_.categories[1]) == CATEGORIES


def test_several_categorical_columns_with_integer_and_boolean_neighbours():
    rng = np.random.default_rng(4)
    n = 300
    X = pd.DataFrame({
        "a": pd.Categorical(rng.choice(["p", "q", "r"], n)),
        "n": rng.integers(0, 5, n),
        "b": rng.random(n) < 0.5,
        "c": pd.Categorical(rng.choice([10, 20, 30, 40], n), ordered=True),
        "f": pd.array(np.where(rng.random(n) < 0.1, None, rng.integers(0, 9, n)), dtype="Int64"),
    })
    y = (X["a"] == "q") * 3.0 + X["c"].astype(int) / 10 + rng.standard_normal(n)
    for backend in BACKENDS:
        est = _model(backend).fit(X, y)
        assert est.categorical_features_ == ["a", "c"]
        p = est.predict(X)
        assert p.shape == (n, 3) and np.all(np.isfinite(p))


# --------------------------------------------------------------------------- numeric input unchanged


@pytest.mark.parametrize("backend", BACKENDS)
def test_numeric_input_trains_the_same_boosters_as_plain_float64_arrays(backend):
    rng = np.random.default_rng(2)
    X = rng.normal(size=(300, 3))
    X[::9, 1] = np.nan
    y = X[:, 0] + rng.standard_normal(300)
    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    est = _model(backend, random_state=11).fit(frame, y)
    assert est.categorical_features_ == [] and est.category_encoder_ is None
    # The split's model, trained here straight through the adapter on float64 arrays.
    rng_state = check_random_state(11)
    _, booster_seed = (int(s) for s in rng_state.randint(0, 2**31 - 1, size=2))
    params = est._booster_params_for_fit(booster_seed)
    rows = np.setdiff1d(np.arange(300), est.calibration_index_)
    loss = get_loss("multi_quantile", alphas=est.alphas_)
    if backend == "lightgbm":
        import lightgbm as lgb

        import gbm_objectives.lightgbm as adapter

        booster = adapter.train(loss, params, lgb.Dataset(X[rows], y[rows]), est.n_estimators)
    else:
        import xgboost as xgb

        import gbm_objectives.xgboost as adapter

        booster = adapter.train(loss, params, xgb.DMatrix(X[rows], y[rows]), est.n_estimators)
    np.testing.assert_array_equal(est.predict(frame, calibrated=False), adapter.predict(booster, X))
    array = clone(est).fit(X, y)
    np.testing.assert_array_equal(array.predict(X), est.predict(frame))
    # An object column of numbers was always read as numbers.
    obj = frame.astype({"c": object})
    np.testing.assert_array_equal(clone(est).fit(obj, y).predict(obj), est.predict(frame))


# --------------------------------------------------------------------------- scikit-learn and pickle


def test_clone_and_pickle_in_a_fresh_process_predict_the_same(fitted, held_out, tmp_path):
    Xt = held_out[0].iloc[:200]
    p = fitted.predict(Xt)
    np.testing.assert_array_equal(clone(fitted).fit(*_table(600, 0, nan=True)).predict(Xt), p)
    path = tmp_path / "model.pkl"
    path.write_bytes(pickle.dumps((fitted, Xt)))
    code = ("import pickle, sys, numpy as np; model, X = pickle.loads(open(sys.argv[1], 'rb').read()); "
            "np.save(sys.argv[2], model.predict(X))")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}  # this checkout's package
    proc = subprocess.run([sys.executable, "-c", code, str(path), str(tmp_path / "p.npy")], capture_output=True,
                          text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr
    np.testing.assert_array_equal(np.load(tmp_path / "p.npy"), p)


def test_grid_search_and_cross_val_score_on_a_categorical_table():
    X, y = _table(450, 7)
    est = _model("lightgbm", n_estimators=10)
    scores = cross_val_score(est, X, y, cv=KFold(3, shuffle=True, random_state=0))
    assert scores.shape == (3,) and np.all(np.isfinite(scores)) and np.all(scores < 0)
    search = GridSearchCV(est, {"n_estimators": [2, 20]}, cv=3).fit(X, y)
    # Two rounds barely leave the global quantiles; twenty find the categories' levels.
    assert search.best_params_ == {"n_estimators": 20}
    assert search.best_estimator_.categorical_features_ == ["shop"]
    np.testing.assert_array_equal(search.predict(X), clone(est).set_params(n_estimators=20).fit(X, y).predict(X))


# --------------------------------------------------------------------------- weights, label range


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("calibration", ["split", "cross"])
def test_zero_weight_rows_neither_train_nor_calibrate(backend, calibration, held_out):
    X, y = _table(600, 0)
    rng = np.random.default_rng(8)
    bad = rng.random(600) < 0.2
    y = np.where(bad, y + 100.0, y)  # a fifth of the labels are garbage, far beyond the 95% level
    w = np.where(bad, 0.0, 1.0)
    Xt, yt = held_out
    weighted = _model(backend, calibration=calibration).fit(X, y, sample_weight=w).predict(Xt)
    assert mean_width(weighted) < 10.0
    assert 0.85 <= coverage(yt, weighted) <= 0.96
    plain = _model(backend, calibration=calibration).fit(X, y).predict(Xt)
    assert mean_width(plain) > 50.0  # the garbage rows stretch the upper bound


@pytest.mark.parametrize("backend", BACKENDS)
def test_label_range_clips_a_categorical_model(backend, held_out):
    X, y = _table(600, 0)
    low = float(np.quantile(y, 0.2))
    y = np.maximum(y, low)
    p = _model(backend, calibration="cross", label_range=(low, None)).fit(X, y).predict(held_out[0])
    assert p.min() >= low and np.any(p[:, 0] == low)
    with pytest.raises(ValueError, match="outside label_range"):
        _model(backend, label_range=(low + 1.0, None)).fit(X, y)


# --------------------------------------------------------------------------- bad input


def test_text_columns_are_refused_with_advice():
    X, y = _table(100, 0)
    text = X.assign(shop=X["shop"].astype(str))
    with pytest.raises(ValueError, match=r"shop .*astype\('category'\)"):
        _model("lightgbm").fit(text, y)
    numeric = _model("lightgbm").fit(X.drop(columns="shop"), y)
    with pytest.raises(ValueError, match=r"shop .*astype\('category'\)"):
        numeric.predict(X.drop(columns="shop").assign(z=X["shop"].astype(str)).rename(columns={"z": "shop"}))


def _with(frame, **cols):
    return frame.assign(**cols)


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (lambda X: _with(X, shop=X["shop"].astype(str)), r"shop was categorical at fit.*astype"),
        (lambda X: _with(X, shop=X["shop"].cat.codes), r"shop was categorical at fit"),
        (lambda X: _with(X, x=pd.Categorical(X["x"].round(1))), r"x was numeric at fit but is categorical"),
        (lambda X: X.drop(columns="z"), r"lacks column\(s\) z"),
        (lambda X: _with(X, extra=1.0), r"column\(s\) extra not seen at fit"),
        (lambda X: X[["shop", "x", "z"]], r"another order.*column 0 is shop.*it was x"),
        (lambda X: X.to_numpy(), r"categorical column\(s\) shop; predict needs a DataFrame"),
        (lambda X: _with(X, x=np.where(np.arange(len(X)) == 3, np.inf, X["x"])), "infinite"),
    ],
    ids=["text", "codes", "numeric-to-categorical", "missing", "extra", "reordered", "array", "inf"],
)
def test_a_changed_table_at_predict_raises_naming_the_column(fitted, held_out, change, match):
    with pytest.raises(ValueError, match=match):
        fitted.predict(change(held_out[0].iloc[:20]))


def test_categorical_columns_for_a_model_fitted_without_them_raise():
    X, y = _table(200, 0)
    numeric = _model("lightgbm").fit(X.assign(shop=X["shop"].cat.codes), y)
    with pytest.raises(ValueError, match="shop are categorical but the model was fitted without"):
        numeric.predict(X)


def test_bad_labels_and_weights_on_a_categorical_table():
    X, y = _table(100, 0)
    with pytest.raises(ValueError, match="NaN"):
        _model("lightgbm").fit(X, np.where(np.arange(100) == 5, np.nan, y))
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        _model("lightgbm").fit(X, y[:-1])
    with pytest.raises(ValueError, match="sample_weight"):
        _model("lightgbm").fit(X, y, sample_weight=-np.ones(100))


def test_categories_of_another_type_than_at_fit_are_refused_not_all_missing():
    """Integer categories at fit and their strings at predict share no value: every row would silently become
    missing, so it is refused; a single new category of the fit's type is still just missing."""
    rng = np.random.default_rng(4)
    n = 300
    codes = rng.integers(0, 5, n)
    X = pd.DataFrame({"store": pd.Categorical(codes + 1), "x": rng.normal(size=n)})
    y = codes + X["x"].to_numpy() + rng.normal(size=n)
    model = _model("lightgbm").fit(X, y)
    as_text = X.assign(store=pd.Categorical((codes + 1).astype(str)))
    refused = r"column store: its categories \(\w+, e\.g\. '1'\) share no value with the fit's \(int64, e\.g\. 1\)"
    with pytest.raises(ValueError, match=refused):
        model.predict(as_text)
    new = X.iloc[:1].assign(store=pd.Categorical([99]))
    assert np.all(np.isfinite(model.predict(new)))
