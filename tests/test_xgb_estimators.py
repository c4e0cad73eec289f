"""XGBoost scikit-learn estimators on a library loss.

The estimators train through :func:`gbm_objectives.xgboost.train`, so every
fitted model is compared with ``train`` on the same data and parameters;
scikit-learn tools (cross-validation, grid search, clone, check_estimator)
are run as a user runs them.
"""

from __future__ import annotations

import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
import xgboost as xgb
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score

import gbm_objectives._adapters as adapters
import gbm_objectives.xgboost as gx
from gbm_objectives import get_loss
from gbm_objectives._adapters import estimator_loss
from gbm_objectives.testing import example_labels
from gbm_objectives.xgboost import LeafRefitWarning, warn_no_refit

SK = {"n_estimators": 15, "max_depth": 3, "learning_rate": 0.3, "n_jobs": 1, "tree_method": "hist"}
#: The same booster settings as ``SK`` for gbm_objectives.xgboost.train.
NATIVE = {"max_depth": 3, "eta": 0.3, "nthread": 1, "tree_method": "hist"}


def features(rng: np.random.Generator, n: int, d: int = 4) -> np.ndarray:
    return rng.normal(size=(n, d))


def costs(X: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Zero-inflated, skewed costs whose mean depends on the features."""
    counts = rng.poisson(np.exp(0.7 * X[:, 0] - 0.5 * X[:, 1]))
    return np.array([rng.gamma(2.0, 50.0, size=c).sum() for c in counts])


def labels_for(loss, X: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Labels in the loss's domain that depend on the features."""
    signal = 0.8 * X[:, 0] - 0.5 * X[:, 1] + 0.3 * X[:, 2] * X[:, 3]
    return example_labels(loss, rng, X.shape[0], signal=signal)[0]


def ranking_data(rng: np.random.Generator, n: int):
    """Features, query ids of 10 rows each and labels that follow the first feature, a positive per query."""
    X = features(rng, n)
    qid = np.repeat(np.arange(n // 10), 10)
    y = (X[:, 0] + rng.normal(size=n) > 1.0).astype(float)
    y[::10] = 1.0
    return X, qid, y


# ---------------------------------------------------------------------------
# Same model as gbm_objectives.xgboost.train, response-scale predictions
# ---------------------------------------------------------------------------

REGRESSION = ["squared_error", "tweedie(power=1.3)", "poisson", "gamma", "huber", "absolute_error",
              "quantile(alpha=0.8)"]


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("spec", REGRESSION)
def test_regressor_is_train_on_the_same_data(spec, weighted, rng):
    model = gx.XGBRegressor(loss=spec, **SK)
    loss = estimator_loss(spec, None)
    X = features(rng, 400)
    y = labels_for(loss, X, rng)
    w = rng.uniform(0.2, 3.0, 400) if weighted else None
    model.fit(X, y, sample_weight=w)
    native = gx.train(loss, NATIVE, xgb.DMatrix(X, label=y, weight=w), SK["n_estimators"])
    holdout = features(rng, 60)
    assert model.loss_ == loss
    assert_allclose(model.predict(holdout), gx.predict(native, holdout), rtol=1e-6, atol=1e-6)
    assert_allclose(model.predict(holdout, output_margin=True), gx.predict(native, holdout, output="margin"),
                    rtol=1e-6, atol=1e-6)
    # The booster itself speaks the response scale and carries the loss record.
    assert_allclose(model.get_booster().predict(xgb.DMatrix(holdout)), model.predict(holdout), rtol=1e-5, atol=1e-5)
    assert gx.predict(model.get_booster(), holdout).shape == (60,)
    assert model.get_booster().attr(gx.LOSS_ATTR) == native.attr(gx.LOSS_ATTR)


def test_regressor_scores_the_response_scale_like_the_builtin(rng):
    # The README route XGBRegressor(objective=gx.objective(loss)) predicts log-means,
    # so scikit-learn scored margins; the library's estimator scores what it predicts.
    X = features(rng, 900)
    y = costs(X, rng)
    cv = KFold(3, shuffle=True, random_state=0)
    loss = get_loss("tweedie", power=1.5)
    builtin = xgb.XGBRegressor(objective="reg:tweedie", tweedie_variance_power=1.5, **SK)
    ours = gx.XGBRegressor(loss=loss, **SK)
    plain = xgb.XGBRegressor(objective=gx.objective(loss), **SK,
                             base_score=gx.base_score(loss, y, objective="reg:squarederror"))
    scores = {}
    for name, est in [("builtin", builtin), ("ours", ours), ("plain", plain)]:
        scores[name] = cross_val_score(est, X, y, cv=cv, scoring="neg_mean_absolute_error").mean()
    assert scores["ours"] == pytest.approx(scores["builtin"], rel=0.02)
    assert scores["ours"] > scores["plain"]
    ours.fit(X, y)
    assert ours.score(X, y) == pytest.approx(builtin.fit(X, y).score(X, y), abs=0.02)
    assert np.all(ours.predict(X) > 0)


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("spec", ["logistic", "logistic(label_smoothing=0.1)", "focal(gamma=2.0)", "softmax",
                                  "softmax_focal(gamma=1.0)"])
def test_classifier_is_train_on_the_same_data(spec, weighted, rng):
    multi = spec.startswith("softmax")
    X = features(rng, 450)
    codes = labels_for(get_loss("softmax", num_class=3) if multi else get_loss("logistic"), X, rng)
    names = np.array(["ash", "birch", "cedar"]) if multi else np.array(["no", "yes"])
    y = names[codes.astype(int)]
    w = rng.uniform(0.2, 3.0, 450) if weighted else None
    model = gx.XGBClassifier(loss=spec, **SK).fit(X, y, sample_weight=w)
    loss = estimator_loss(spec, None, num_class=names.shape[0])
    native = gx.train(loss, NATIVE, xgb.DMatrix(X, label=codes, weight=w), SK["n_estimators"])
    holdout = features(rng, 50)
    response = gx.predict(native, holdout)
    expected = response if multi else np.column_stack((1.0 - response, response))
    proba = model.predict_proba(holdout)
    assert_allclose(proba, expected, rtol=1e-6, atol=1e-7)
    assert_array_equal(model.classes_, names)
    assert_array_equal(model.predict(holdout), names[np.argmax(expected, axis=1)])
    assert_allclose(model.predict(holdout, output_margin=True), gx.predict(native, holdout, output="margin"),
                    rtol=1e-6, atol=1e-6)
    assert 0.0 <= model.score(X, y) <= 1.0


def test_classifier_eval_set_labels_are_encoded(rng):
    X = features(rng, 300)
    y = np.where(labels_for(get_loss("logistic"), X, rng) > 0, "yes", "no")
    Xv = features(rng, 80)
    yv = np.where(labels_for(get_loss("logistic"), Xv, rng) > 0, "yes", "no")
    model = gx.XGBClassifier(**SK).fit(X, y, eval_set=[(X, y), (Xv, yv)], verbose=False)
    # Only the loss's metric: the booster objective's default metric is off.
    assert list(model.evals_result_["validation_1"]) == ["gbm_logistic"]
    margin = model.predict(Xv, output_margin=True)
    codes = (yv == "yes").astype(float)
    assert model.evals_result_["validation_1"]["gbm_logistic"][-1] == pytest.approx(
        get_loss("logistic").loss(codes, margin), rel=1e-5)
    with pytest.raises(ValueError, match="not in y"):
        gx.XGBClassifier(**SK).fit(X, y, eval_set=[(Xv, np.where(yv == "yes", "yes", "maybe"))])


def test_ranker_is_train_on_the_same_data(rng):
    n = 400
    X, qid, y = ranking_data(rng, n)
    model = gx.XGBRanker(loss="infonce(temperature=0.5)", **SK).fit(X, y, qid=qid)
    native = gx.train(get_loss("infonce", temperature=0.5), NATIVE, xgb.DMatrix(X, label=y, qid=qid),
                      SK["n_estimators"])
    assert_allclose(model.predict(X, qid=qid), gx.predict(native, X, group=qid), rtol=1e-6, atol=1e-8)
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    frame.insert(0, "qid", qid)
    p = model.predict(frame)
    assert_allclose(np.add.reduceat(p, np.arange(0, n, 10)), 1.0, rtol=1e-9)
    assert model.score(frame, y) == pytest.approx(-get_loss("infonce", temperature=0.5).loss(
        y, model.predict(X, output_margin=True), group=qid))
    with pytest.raises(ValueError, match="qid"):
        model.predict(X)
    with pytest.raises(ValueError, match="use XGBRanker"):
        gx.XGBRegressor(loss="infonce", **SK).fit(X, y)
    with pytest.raises(ValueError, match="does not use query groups"):
        gx.XGBRanker(loss="squared_error", **SK).fit(X, y, qid=qid)


# ---------------------------------------------------------------------------
# Early stopping, saved models, pickling
# ---------------------------------------------------------------------------


def test_ranker_with_per_group_weights_is_train_on_the_same_dmatrix(rng):
    """XGBoost takes one sample weight per query group once groups are set."""
    n = 400
    X, qid, y = ranking_data(rng, n)
    w = rng.uniform(0.2, 3.0, n // 10)
    loss = get_loss("infonce", temperature=0.5)
    model = gx.XGBRanker(loss=loss, **SK).fit(X, y, qid=qid, sample_weight=w, eval_set=[(X, y)], eval_qid=[qid],
                                              sample_weight_eval_set=[w])
    native = gx.train(loss, NATIVE, xgb.DMatrix(X, label=y, qid=qid, weight=w), SK["n_estimators"])
    margin = model.predict(X, output_margin=True)
    assert_allclose(margin, gx.predict(native, X, output="margin"), rtol=1e-6, atol=1e-8)
    # The weights count: each group's weight applies to all its rows.
    unweighted = gx.XGBRanker(loss=loss, **SK).fit(X, y, qid=qid).predict(X, output_margin=True)
    assert not np.allclose(margin, unweighted)
    logged = model.evals_result_["validation_0"]["gbm_infonce"][-1]
    assert logged == pytest.approx(loss.loss(y, margin, np.repeat(w, 10), group=qid), rel=1e-5)


def test_predict_uses_the_best_iteration_after_early_stopping(rng):
    X = features(rng, 500)
    y = labels_for(get_loss("squared_error"), X, rng)
    Xv, yv = features(rng, 200), rng.normal(size=200) * 5.0  # noise: validation loss soon rises
    model = gx.XGBRegressor(**{**SK, "n_estimators": 200, "learning_rate": 0.5}, early_stopping_rounds=5)
    model.fit(X, y, eval_set=[(Xv, yv)], verbose=False)
    booster = model.get_booster()
    best = booster.best_iteration
    assert best == model.best_iteration and booster.num_boosted_rounds() < 200
    assert booster.num_boosted_rounds() > best + 1
    best_pred = gx.predict(booster, Xv, iteration_range=(0, best + 1))
    assert_allclose(model.predict(Xv), best_pred, rtol=1e-6, atol=1e-6)
    # gx.predict of the booster predicts as the estimator, by default...
    assert_allclose(gx.predict(booster, Xv), best_pred, rtol=1e-12)
    # ... where Booster.predict and an explicit (0, 0) use every tree.
    every_tree = gx.predict(booster, Xv, iteration_range=(0, 0))
    assert not np.allclose(model.predict(Xv), every_tree)
    assert_allclose(booster.predict(xgb.DMatrix(Xv)), every_tree, rtol=1e-6, atol=1e-6)
    # The metric history is the loss's, computed on margins as train() does.
    history = model.evals_result_["validation_0"]["gbm_squared_error"]
    assert int(np.argmin(history)) == best


def test_gx_predict_of_xgboost_estimator_uses_its_best_iteration(rng):
    """The README's route: XGBoost's own estimator with the library's objective."""
    loss = get_loss("tweedie")
    X = features(rng, 500)
    y = labels_for(loss, X, rng)
    Xv = features(rng, 200)
    yv = labels_for(loss, Xv, rng)[rng.permutation(200)]  # shuffled: the validation loss soon rises
    model = xgb.XGBRegressor(objective=gx.objective(loss), eval_metric=gx.metric(loss), n_estimators=200,
                             learning_rate=0.5, early_stopping_rounds=5, nthread=1,
                             base_score=gx.base_score(loss, y, objective="reg:squarederror"))
    model.fit(X, y, eval_set=[(Xv, yv)], verbose=False)
    booster = model.get_booster()
    assert booster.num_boosted_rounds() == model.best_iteration + 6
    margin = gx.predict(booster, Xv, loss=loss, output="margin")
    assert_allclose(margin, model.predict(Xv), rtol=1e-6)  # the estimator predicts margins here
    assert not np.allclose(margin, gx.predict(booster, Xv, loss=loss, output="margin", iteration_range=(0, 0)))


def test_saved_model_loads_with_its_loss(rng, tmp_path):
    X = features(rng, 300)
    y = costs(X, rng)
    model = gx.XGBRegressor(loss="tweedie(power=1.4)", **SK).fit(X, y)
    path = tmp_path / "model.json"
    model.save_model(path)
    loaded = gx.XGBRegressor()
    loaded.load_model(path)
    assert loaded.loss_ == get_loss("tweedie", power=1.4)
    assert loaded.objective is None and loaded.base_score is None
    assert_allclose(loaded.predict(X), model.predict(X), rtol=1e-6)
    # A plain XGBoost booster of the file predicts the same response scale.
    plain = xgb.Booster(model_file=str(path))
    assert_allclose(plain.predict(xgb.DMatrix(X)), model.predict(X), rtol=1e-5)
    foreign = tmp_path / "foreign.json"
    xgb.XGBRegressor(n_estimators=2, n_jobs=1).fit(X, y).save_model(foreign)
    with pytest.raises(ValueError, match="not trained through gbm_objectives"):
        gx.XGBRegressor().load_model(foreign)
    clf = gx.XGBClassifier(**SK).fit(X, (y > np.median(y)).astype(int))
    clf.save_model(tmp_path / "clf.json")
    clf_loaded = gx.XGBClassifier()
    clf_loaded.load_model(tmp_path / "clf.json")
    assert_allclose(clf_loaded.predict_proba(X), clf.predict_proba(X), rtol=1e-6)
    assert_array_equal(clf_loaded.classes_, [0, 1])


def test_pickle_round_trip(rng):
    X = features(rng, 200)
    y = labels_for(get_loss("softmax", num_class=3), X, rng)
    model = gx.XGBClassifier(loss=get_loss("softmax_focal", num_class=3, gamma=1.0), **SK).fit(X, y)
    again = pickle.loads(pickle.dumps(model))
    assert_allclose(again.predict_proba(X), model.predict_proba(X))
    assert again.loss_ == model.loss_


# ---------------------------------------------------------------------------
# The loss as a scikit-learn parameter
# ---------------------------------------------------------------------------


def test_grid_search_over_loss_parameters(rng):
    X = features(rng, 600)
    y = costs(X, rng)
    est = gx.XGBRegressor(loss=get_loss("tweedie", power=1.5), **SK)
    assert est.get_params(deep=True)["loss__power"] == 1.5
    powers = [1.1, 1.5, 1.9]
    search = GridSearchCV(est, {"loss__power": powers}, cv=KFold(3, shuffle=True, random_state=0),
                          scoring="neg_mean_absolute_error").fit(X, y)
    scores = search.cv_results_["mean_test_score"]
    # Each candidate trained its own power: distinct scores, the best one refit.
    assert len(set(np.round(scores, 6))) == 3
    best = powers[int(np.argmax(scores))]
    assert search.best_estimator_.loss_ == get_loss("tweedie", power=best)
    assert search.best_estimator_.loss.power == best
    assert est.loss.power == 1.5  # the searched estimator's own loss is untouched
    for power, score in zip(powers, scores):
        alone = cross_val_score(gx.XGBRegressor(loss=get_loss("tweedie", power=power), **SK), X, y,
                                cv=KFold(3, shuffle=True, random_state=0), scoring="neg_mean_absolute_error")
        assert score == pytest.approx(alone.mean())


def test_clone_get_params_set_params_round_trip():
    est = gx.XGBRegressor(loss=get_loss("quantile", alpha=0.3), refit_leaves=False, n_estimators=7, nthread=1)
    params = est.get_params(deep=True)
    assert params["loss__alpha"] == 0.3 and params["n_estimators"] == 7 and params["nthread"] == 1
    twin = clone(est)
    assert twin.loss is not est.loss and twin.loss == est.loss
    assert twin.get_params(deep=True) == {**params, "loss": twin.loss}
    twin.set_params(loss__alpha=0.9, n_estimators=3)
    assert twin.loss.alpha == 0.9 and twin.n_estimators == 3 and est.loss.alpha == 0.3
    assert twin.get_params()["loss__alpha"] == 0.9
    # Nested names never become booster parameters.
    assert not any("__" in k for k in twin.get_xgb_params())
    assert "loss" not in twin.get_xgb_params() and "refit_leaves" not in twin.get_xgb_params()
    with pytest.raises(ValueError, match="invalid parameter"):
        twin.set_params(loss__bogus=1.0)
    with pytest.raises(ValueError, match="nested parameters go to the loss"):
        twin.set_params(max_depth__x=1)
    with pytest.raises(ValueError, match="needs loss to be a Loss object"):
        gx.XGBRegressor(loss="tweedie").set_params(loss__power=1.2)
    named = gx.XGBRegressor(loss="tweedie", loss_params={"power": 1.2}).set_params(loss_params__power=1.7)
    assert named.loss_params == {"power": 1.7}


def test_fitted_loss_is_a_copy(rng):
    X = features(rng, 200)
    y = costs(X, rng)
    loss = get_loss("tweedie", power=1.5)
    model = gx.XGBRegressor(loss=loss, **SK).fit(X, y)
    before = model.predict(X)
    model.set_params(loss__power=1.9)
    assert model.loss_ == get_loss("tweedie", power=1.5)
    assert_array_equal(model.predict(X), before)


@pytest.mark.parametrize(
    ("spec", "loss_params", "num_class", "expected"),
    [
        ("tweedie", {"power": 1.2}, None, get_loss("tweedie", power=1.2)),
        ("tweedie(power=1.2)", None, None, get_loss("tweedie", power=1.2)),
        ("tweedie(power=1.2)", {"power": 1.8}, None, get_loss("tweedie", power=1.8)),
        ("softmax", None, 4, get_loss("softmax", num_class=4)),
        ("softmax(label_smoothing=0.1)", None, 3, get_loss("softmax", num_class=3, label_smoothing=0.1)),
        ("softmax_focal()", None, 3, get_loss("softmax_focal", num_class=3)),
    ],
)
def test_loss_specs(spec, loss_params, num_class, expected):
    assert estimator_loss(spec, loss_params, num_class=num_class) == expected


@pytest.mark.parametrize(
    ("kwargs", "y_kind", "match"),
    [
        ({"loss": get_loss("tweedie"), "loss_params": {"power": 1.2}}, "cost", "loss_params can only be given"),
        ({"loss": 3}, "cost", "loss must be a Loss"),
        ({"loss": "tweedie", "loss_params": [1.2]}, "cost", "loss_params must be a dict"),
        ({"loss": "tweedie(power=)"}, "cost", "cannot parse loss spec"),
        ({"loss": "no_such_loss"}, "cost", "unknown loss"),
        ({"objective": "reg:tweedie"}, "cost", "not objective="),
        ({"base_score": 0.5}, "cost", "base_score is set from the loss"),
        ({"loss": get_loss("softmax", num_class=3)}, "cost", "use XGBClassifier"),
        ({"loss": "tweedie"}, "negative", "tweedie"),
    ],
)
def test_regressor_rejects_bad_settings(kwargs, y_kind, match, rng):
    X = features(rng, 50)
    y = costs(X, rng) if y_kind == "cost" else -np.ones(50)
    with pytest.raises(ValueError, match=match):
        gx.XGBRegressor(**kwargs, **SK).fit(X, y)


def test_classifier_rejects_bad_settings(rng):
    X = features(rng, 60)
    three = np.arange(60) % 3
    with pytest.raises(ValueError, match="binary loss but y holds 3 classes"):
        gx.XGBClassifier(loss="logistic", **SK).fit(X, three)
    with pytest.raises(ValueError, match="does not match the 3 classes"):
        gx.XGBClassifier(loss=get_loss("softmax", num_class=4), **SK).fit(X, three)
    with pytest.raises(ValueError, match="not a classification loss"):
        gx.XGBClassifier(loss="tweedie", **SK).fit(X, three % 2)
    with pytest.raises(ValueError, match="at least 2 classes"):
        gx.XGBClassifier(**SK).fit(X, np.zeros(60))
    with pytest.raises(ValueError, match="one class label per row"):
        gx.XGBClassifier(**SK).fit(X, np.zeros((60, 2)))


@pytest.mark.parametrize("cls", [gx.XGBRegressor, gx.XGBClassifier, gx.XGBRanker])
def test_missing_labels_and_zero_weights_are_named(cls, rng):
    X = features(rng, 40)
    with pytest.raises(ValueError, match="requires y to be passed, but the target y is None"):
        cls(**SK).fit(X, None)
    with pytest.raises(ValueError, match="sample_weight is zero for every row"):
        cls(**SK).fit(X, np.arange(40) % 2, sample_weight=np.zeros(40))


# ---------------------------------------------------------------------------
# scikit-learn's estimator checks: no more failures than XGBoost's own
# ---------------------------------------------------------------------------


def _failed_checks(estimator) -> set[str]:
    from sklearn.utils.estimator_checks import check_estimator

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = check_estimator(estimator, on_fail=None, on_skip=None)
    return {r["check_name"] for r in results if r["status"] == "failed"}


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        (gx.XGBRegressor, xgb.XGBRegressor),
        (gx.XGBClassifier, xgb.XGBClassifier),
        (gx.XGBRanker, xgb.XGBRanker),
    ],
    ids=["regressor", "classifier", "ranker"],
)
def test_check_estimator_fails_no_more_than_xgboost(ours, theirs):
    settings = {"n_estimators": 5, "max_depth": 3, "n_jobs": 1}
    own, reference = _failed_checks(ours(**settings)), _failed_checks(theirs(**settings))
    assert len(own) <= len(reference), f"fails {sorted(own - reference)} which XGBoost's own passes"


# ---------------------------------------------------------------------------
# One-time warning on paths that cannot refit leaves
# ---------------------------------------------------------------------------


def test_no_refit_warning_once_per_loss_kind(monkeypatch):
    monkeypatch.setattr(adapters, "_WARNED_NO_REFIT", set())
    path = "XGBRegressor(objective=gx.objective(loss))"
    with pytest.warns(LeafRefitWarning, match="quantile needs every leaf refit"):
        assert warn_no_refit(get_loss("quantile", alpha=0.9), path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert not warn_no_refit(get_loss("quantile", alpha=0.1), path)  # same kind: silent
        assert not warn_no_refit("tweedie", path)  # needs no refit
        assert not warn_no_refit(get_loss("absolute_error", curvature="mm"), path)  # XGBoost 3.4's own surrogate
    with pytest.warns(LeafRefitWarning, match="absolute_error"):
        assert warn_no_refit("absolute_error", path)
    with pytest.raises(ValueError, match="path must be"):
        warn_no_refit("quantile", "")
    with pytest.raises(ValueError, match="stacklevel must be"):
        warn_no_refit("quantile", path, stacklevel=0)


def test_estimators_refit_without_warning(monkeypatch, rng):
    monkeypatch.setattr(adapters, "_WARNED_NO_REFIT", set())
    X = features(rng, 200)
    y = costs(X, rng)
    with warnings.catch_warnings():
        warnings.simplefilter("error", LeafRefitWarning)
        gx.XGBRegressor(loss="quantile(alpha=0.9)", **SK).fit(X, y)
        gx.XGBRegressor(loss="absolute_error", refit_leaves=False, **SK).fit(X, y)


# ---------------------------------------------------------------------------
# scale_pos_weight: refused (the library's gradients would ignore it)
# ---------------------------------------------------------------------------


def test_scale_pos_weight_is_refused_with_the_sample_weight_route(rng):
    X = features(rng, 600)
    y = (rng.random(600) < 0.1 + 0.05 * (X[:, 0] > 0)).astype(float)
    with pytest.raises(ValueError, match=r"scale_pos_weight = 5 is not applied.*sample_weight"):
        gx.XGBClassifier(loss="logistic", scale_pos_weight=5, **SK).fit(X, y)
    # The route the message gives does what XGBoost's built-in does with the setting.
    ours = gx.XGBClassifier(loss="logistic", **SK).fit(X, y, sample_weight=np.where(y == 1, 5.0, 1.0))
    theirs = xgb.XGBClassifier(scale_pos_weight=5, **SK).fit(X, y)
    plain = gx.XGBClassifier(loss="logistic", **SK).fit(X, y)
    p_ours, p_theirs = ours.predict_proba(X)[:, 1].mean(), theirs.predict_proba(X)[:, 1].mean()
    assert p_ours == pytest.approx(p_theirs, abs=0.03)
    assert p_ours > plain.predict_proba(X)[:, 1].mean() + 0.1
    # 1 (and unset) changes nothing.
    same = gx.XGBClassifier(loss="logistic", scale_pos_weight=1, **SK).fit(X, y)
    assert_allclose(same.predict_proba(X), plain.predict_proba(X))
    with pytest.raises(ValueError, match="not a binary loss"):
        gx.XGBRegressor(loss="tweedie", scale_pos_weight=2, **SK).fit(X, costs(X, rng))


# ---------------------------------------------------------------------------
# Bad inputs: the library's messages, before XGBoost builds its DMatrix
# ---------------------------------------------------------------------------


def _with(values: np.ndarray, index: int, value: float) -> np.ndarray:
    out = np.array(values, dtype=np.float64)
    out[index] = value
    return out


BAD_FIT_INPUTS = [
    ("nan_label", lambda y, n: ((_with(y, 3, np.nan),), {}), r"^y contains 1 NaN or infinite value\(s\)"),
    ("inf_label", lambda y, n: ((_with(y, 3, np.inf),), {}), r"^y contains 1 NaN or infinite value\(s\)"),
    ("nan_weight", lambda y, n: ((y,), {"sample_weight": _with(np.ones(n), 0, np.nan)}),
     r"^sample_weight contains 1 NaN or infinite value\(s\)"),
    ("negative_weight", lambda y, n: ((y,), {"sample_weight": _with(np.ones(n), 0, -1.0)}),
     "^sample_weight must be non-negative"),
    ("short_weight", lambda y, n: ((y,), {"sample_weight": np.ones(n - 1)}), "^sample_weight has"),
    ("short_y", lambda y, n: ((y[:-1],), {}), r"^X has \d+ rows but y has \d+ labels"),
    ("nan_eval_label", lambda y, n: ((y,), {"eval_set": [(None, _with(y, 1, np.nan))]}),
     r"^eval_set\[0\]: y contains 1 NaN or infinite value\(s\)"),
    ("nan_eval_weight", lambda y, n: ((y,), {"eval_set": [(None, y)],
                                             "sample_weight_eval_set": [_with(np.ones(n), 2, np.nan)]}),
     r"^eval_set\[0\]: sample_weight contains 1 NaN or infinite value\(s\)"),
]


@pytest.mark.parametrize(("case", "build", "match"), BAD_FIT_INPUTS, ids=[c[0] for c in BAD_FIT_INPUTS])
@pytest.mark.parametrize("cls", [gx.XGBRegressor, gx.XGBClassifier, gx.XGBRanker])
def test_bad_fit_inputs_raise_the_library_messages(cls, case, build, match, rng):
    X = features(rng, 40)
    y = (np.arange(40) % 2).astype(float)
    fit_kwargs: dict = {}
    if cls is gx.XGBRanker:
        fit_kwargs["qid"] = np.repeat(np.arange(10), 4)
        n_weights = 10  # one weight per query group
    else:
        n_weights = 40
    args, extra = build(y, n_weights)
    if "eval_set" in extra:
        extra["eval_set"] = [(X, ey) for _, ey in extra["eval_set"]]
        if cls is gx.XGBRanker:
            extra["eval_qid"] = [fit_kwargs["qid"]]
        if "sample_weight_eval_set" in extra and cls is gx.XGBRanker:
            extra["sample_weight_eval_set"] = [_with(np.ones(10), 2, np.nan)]
    with pytest.raises(ValueError, match=match):
        cls(**SK).fit(X, *args, **fit_kwargs, **extra)


def test_ranker_weights_are_counted_per_query_group(rng):
    X = features(rng, 40)
    with pytest.raises(ValueError, match="sample_weight has 40 entries but there are 10 query groups"):
        gx.XGBRanker(**SK).fit(X, np.arange(40) % 2, qid=np.repeat(np.arange(10), 4), sample_weight=np.ones(40))
    with pytest.raises(ValueError, match="sample_weight has 3 entries but there are 2 query groups"):
        gx.XGBRanker(**SK).fit(X, np.arange(40) % 2, group=[20, 20], sample_weight=np.ones(3))


def test_classifier_nan_label_is_not_a_class(rng):
    """np.unique made NaN a third class: a binary problem trained as softmax."""
    X = features(rng, 40)
    y = _with(np.arange(40) % 2, 5, np.nan)
    with pytest.raises(ValueError, match=r"^y contains 1 NaN"):
        gx.XGBClassifier(**SK).fit(X, y)
    with pytest.raises(ValueError, match=r"^eval_set\[0\]: y contains 1 NaN"):
        gx.XGBClassifier(**SK).fit(X, np.arange(40) % 2, eval_set=[(X, y)])
