"""Early stopping of distributional losses on their own metric, through both adapters and the estimators.

A distributional family overfits its dispersion outputs after a few dozen
rounds at a high learning rate, so early stopping on a validation split of
the training rows is how its held-out log-likelihood reaches the truth.
Each path must stop on the family's metric (minus the mean log-likelihood of
the evaluation set), keep ``best_iteration``, and predict the parameters from
the trees up to it: ``gbm_objectives.xgboost.predict`` and the XGBoost
estimator pass ``iteration_range=(0, best_iteration + 1)`` themselves
(``xgboost.Booster.predict`` uses every tree unless told: its
``iteration_range`` defaults to ``(0, 0)``), LightGBM's
``predict`` uses the best iteration unless ``num_iteration`` is given (and
``lightgbm.train`` returns the model saved up to the best iteration unless
``keep_training_booster=True``).
"""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose

import gbm_objectives as go

xgb = pytest.importorskip("xgboost")
lgb = pytest.importorskip("lightgbm")

import gbm_objectives.lightgbm as glgb  # noqa: E402
import gbm_objectives.xgboost as gx  # noqa: E402

ROUNDS = 300
PATIENCE = 10
#: A high learning rate and deep trees on few rows: every family overfits within ROUNDS.
XGB_PARAMS = {"max_depth": 4, "eta": 0.5, "nthread": 1, "seed": 0}
LGB_PARAMS = {"num_leaves": 16, "max_depth": 4, "learning_rate": 0.5, "num_threads": 1, "verbose": -1, "seed": 0,
              "deterministic": True, "min_data_in_leaf": 5}
FAMILIES = ("normal", "negative_binomial")


def _data(name: str, n: int, seed: int):
    """Features and labels drawn from the family, the dispersion output varying with the features."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-2.0, 2.0, (n, 3))
    loss = go.get_loss(name)
    margin = np.ascontiguousarray(np.column_stack([0.5 + 0.5 * np.sin(x[:, 0]), -0.5 + 0.4 * x[:, 1]]))
    y = loss.distribution(loss.parameters(margin)).sample(1, random_state=rng)[:, 0]
    return x, y


def _split(name: str):
    x, y = _data(name, 900, 0)
    return x[:500], y[:500], x[500:700], y[500:700], x[700:]


def _nll(loss, margin, y) -> float:
    return float(loss.loss_sum(y, np.ascontiguousarray(margin, dtype=np.float64), np.empty(0)) / y.shape[0])


@pytest.mark.parametrize("name", FAMILIES)
def test_xgboost_train_stops_on_the_family_metric_and_predicts_from_the_best_iteration(name):
    x, y, xv, yv, xt = _split(name)
    loss = go.get_loss(name)
    dvalid = xgb.DMatrix(xv, yv, nthread=1)
    history: dict = {}
    booster = gx.train(loss, XGB_PARAMS, xgb.DMatrix(x, y, nthread=1), ROUNDS, evals=[(dvalid, "valid")],
                       early_stopping_rounds=PATIENCE, evals_result=history, verbose_eval=False)
    best = booster.best_iteration
    curve = history["valid"][gx.metric_name(loss)]
    # it stopped early, PATIENCE rounds after the best of the family's own metric
    assert booster.num_boosted_rounds() == len(curve) == best + 1 + PATIENCE < ROUNDS
    assert int(np.argmin(curve)) == best
    assert booster.best_score == pytest.approx(min(curve))
    # that metric is the mean negative log-likelihood of the evaluation set at each round
    valid_margin = booster.predict(dvalid, output_margin=True, iteration_range=(0, best + 1))
    assert_allclose(curve[best], _nll(loss, valid_margin, yv), rtol=1e-5)
    # predict: the trees up to the best iteration by default, every tree when asked
    dtest = xgb.DMatrix(xt, nthread=1)
    at_best = loss.parameters(booster.predict(dtest, output_margin=True, iteration_range=(0, best + 1)))
    every = loss.parameters(booster.predict(dtest, output_margin=True,
                                            iteration_range=(0, booster.num_boosted_rounds())))
    assert not np.allclose(at_best, every)
    assert_allclose(gx.predict(booster, dtest, output="parameters"), at_best, rtol=1e-12)
    assert_allclose(gx.predict(booster, xt, output="parameters"), at_best, rtol=1e-12)
    assert_allclose(gx.predict(booster, dtest, output="parameters", iteration_range=(0, 0)), every, rtol=1e-12)
    dist = gx.predict(booster, dtest, output="distribution")
    assert_allclose(dist.mean(), loss.distribution(at_best).mean(), rtol=1e-12)


@pytest.mark.parametrize("keep", [False, True])
@pytest.mark.parametrize("name", FAMILIES)
def test_lightgbm_train_stops_on_the_family_metric_and_predicts_from_the_best_iteration(name, keep):
    x, y, xv, yv, xt = _split(name)
    loss = go.get_loss(name)
    train_set = lgb.Dataset(x, y)
    history: dict = {}
    booster = glgb.train(loss, LGB_PARAMS, train_set, ROUNDS,
                         valid_sets=[lgb.Dataset(xv, yv, reference=train_set)], valid_names=["valid"],
                         callbacks=[lgb.early_stopping(PATIENCE, verbose=False), lgb.record_evaluation(history)],
                         keep_training_booster=keep)
    best = booster.best_iteration
    # lightgbm.train returns the model saved up to the best iteration, unless the training booster is kept
    assert booster.current_iteration() == (best + PATIENCE if keep else best)
    (metric, curve), = history["valid"].items()
    assert metric == glgb.metric_name(loss)
    assert 0 < best == int(np.argmin(curve)) + 1 and len(curve) == best + PATIENCE < ROUNDS
    assert booster.best_score["valid"][metric] == pytest.approx(min(curve))
    valid_margin = booster.predict(xv, raw_score=True, num_iteration=best)
    assert_allclose(curve[best - 1], _nll(loss, valid_margin, yv), rtol=1e-5)
    at_best = loss.parameters(booster.predict(xt, raw_score=True, num_iteration=best))
    every = loss.parameters(booster.predict(xt, raw_score=True, num_iteration=-1))
    assert np.allclose(at_best, every) != keep
    # LightGBM's own default is the best iteration; the library's predict keeps it
    assert_allclose(loss.parameters(booster.predict(xt, raw_score=True)), at_best, rtol=1e-12)
    assert_allclose(glgb.predict(booster, xt, output="parameters"), at_best, rtol=1e-12)
    assert_allclose(glgb.predict(booster, xt, output="parameters", num_iteration=-1), every, rtol=1e-12)


@pytest.mark.parametrize("name", FAMILIES)
def test_xgboost_regressor_early_stopping_predicts_parameters_from_the_best_iteration(name):
    x, y, xv, yv, xt = _split(name)
    model = gx.XGBRegressor(loss=name, n_estimators=ROUNDS, learning_rate=0.5, max_depth=4, n_jobs=1,
                            random_state=0, early_stopping_rounds=PATIENCE)
    model.fit(x, y, eval_set=[(xv, yv)], verbose=False)
    booster = model.get_booster()
    best = model.best_iteration
    assert booster.num_boosted_rounds() == best + 1 + PATIENCE < ROUNDS
    curve = model.evals_result()["validation_0"][gx.metric_name(name)]
    assert int(np.argmin(curve)) == best
    loss = model.loss_
    at_best = loss.parameters(booster.predict(xgb.DMatrix(xt), output_margin=True, iteration_range=(0, best + 1)))
    every = loss.parameters(booster.predict(xgb.DMatrix(xt), output_margin=True,
                                            iteration_range=(0, booster.num_boosted_rounds())))
    assert not np.allclose(at_best, every)
    assert_allclose(model.predict(xt, output="parameters"), at_best, rtol=1e-12)
    assert_allclose(model.predict(xt), loss.distribution(at_best).mean(), rtol=1e-6)


@pytest.mark.parametrize("name", FAMILIES)
def test_lightgbm_regressor_early_stopping_predicts_parameters_from_the_best_iteration(name):
    x, y, xv, yv, xt = _split(name)
    model = glgb.LGBMRegressor(loss=name, n_estimators=ROUNDS, learning_rate=0.5, num_leaves=16, max_depth=4,
                               min_child_samples=5, n_jobs=1, random_state=0, deterministic=True, verbose=-1)
    model.fit(x, y, eval_set=[(xv, yv)], callbacks=[lgb.early_stopping(PATIENCE, verbose=False)])
    best = model.best_iteration_
    (metric, curve), = model.evals_result_["valid_0"].items()
    assert metric == glgb.metric_name(name)
    assert 0 < best == int(np.argmin(curve)) + 1 and len(curve) == best + PATIENCE < ROUNDS
    booster = model.booster_
    loss = model.loss_
    # fit keeps the trees up to the best iteration only (lightgbm.train's saved model)
    assert booster.current_iteration() == best
    at_best = loss.parameters(booster.predict(xt, raw_score=True, num_iteration=best))
    assert_allclose(model.predict(xt, output="parameters"), at_best, rtol=1e-12)
    assert_allclose(model.predict(xt), loss.distribution(at_best).mean(), rtol=1e-6)


@pytest.mark.parametrize("name", FAMILIES)
def test_early_stopping_beats_overfitting_on_held_out_rows(name):
    """The point of it: at a learning rate that overfits, the early-stopped model's held-out NLL is the better."""
    x, y, xv, yv, _ = _split(name)
    xt_all, yt = _data(name, 1500, 1)
    loss = go.get_loss(name)
    dvalid = xgb.DMatrix(xv, yv, nthread=1)
    booster = gx.train(loss, XGB_PARAMS, xgb.DMatrix(x, y, nthread=1), ROUNDS, evals=[(dvalid, "valid")],
                       early_stopping_rounds=PATIENCE, verbose_eval=False)
    dtest = xgb.DMatrix(xt_all, nthread=1)
    stopped = -gx.predict(booster, dtest, output="distribution").logpdf(yt).mean()
    overfit = -gx.predict(booster, dtest, output="distribution", iteration_range=(0, 0)).logpdf(yt).mean()
    assert stopped < overfit
