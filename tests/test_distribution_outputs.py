"""Distributional losses through every prediction path of both boosters.

``output="parameters"`` gives the (n, k) distribution parameters,
``output="distribution"`` the distribution objects and ``"response"`` their
mean, from the adapters' ``predict``, the estimators, a saved and reloaded
model and scikit-learn's model selection. Point losses refuse the two new
outputs with a clear error.
"""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy import stats

from gbm_objectives import get_loss
from gbm_objectives.distributions import Distribution

ROUNDS = 60


@pytest.fixture(scope="module")
def data():
    """Mean and spread both depend on the features (the spread 10-fold across rows)."""
    rng = np.random.default_rng(5)
    n = 3000
    x = rng.uniform(-2.0, 2.0, (n, 3))
    loc = 2.0 * np.sin(x[:, 0]) + x[:, 1]
    scale = np.exp(0.6 * x[:, 2])
    y = loc + scale * rng.standard_normal(n)
    half = n // 2
    return x[:half], y[:half], x[half:], y[half:], loc[half:], scale[half:]


def _nll(y, params):
    return float(-stats.norm.logpdf(y, params[:, 0], params[:, 1]).mean())


def test_xgboost_outputs(data):
    xgb = pytest.importorskip("xgboost")
    from gbm_objectives import xgboost as gx

    x_tr, y_tr, x_te, y_te, loc, scale = data
    booster = gx.train("normal", {"max_depth": 3, "eta": 0.1, "nthread": 1}, xgb.DMatrix(x_tr, label=y_tr),
                       ROUNDS)
    params = gx.predict(booster, x_te, output="parameters")
    dist = gx.predict(booster, xgb.DMatrix(x_te), output="distribution")
    mean = gx.predict(booster, x_te)
    assert params.shape == (len(y_te), 2) and np.all(params[:, 1] > 0)
    assert isinstance(dist, Distribution) and len(dist) == len(y_te)
    assert_allclose(dist.to_array(), params, rtol=1e-12)
    assert_allclose(mean, params[:, 0], rtol=1e-12)
    margin = gx.predict(booster, x_te, output="margin")
    assert_allclose(params[:, 1], np.exp(margin[:, 1]), rtol=1e-12)
    # The boosted spread follows the true one, and beats the constant model's likelihood.
    assert stats.spearmanr(params[:, 1], scale).statistic > 0.8
    constant = np.tile([y_tr.mean(), y_tr.std()], (len(y_te), 1))
    assert _nll(y_te, params) < _nll(y_te, constant) - 0.2
    assert_allclose(-dist.logpdf(y_te).mean(), _nll(y_te, params), rtol=1e-10)


def test_lightgbm_outputs(data):
    lgb = pytest.importorskip("lightgbm")
    from gbm_objectives import lightgbm as glgb

    x_tr, y_tr, x_te, y_te, loc, scale = data
    booster = glgb.train("normal", {"num_leaves": 8, "learning_rate": 0.1, "num_threads": 1, "verbose": -1},
                         lgb.Dataset(x_tr, y_tr), ROUNDS)
    params = glgb.predict(booster, x_te, output="parameters")
    dist = glgb.predict(booster, x_te, output="distribution")
    assert params.shape == (len(y_te), 2)
    assert_allclose(dist.to_array(), params, rtol=1e-12)
    assert_allclose(glgb.predict(booster, x_te), params[:, 0], rtol=1e-12)
    assert stats.spearmanr(params[:, 1], scale).statistic > 0.8
    constant = np.tile([y_tr.mean(), y_tr.std()], (len(y_te), 1))
    assert _nll(y_te, params) < _nll(y_te, constant) - 0.2


@pytest.mark.parametrize("backend", ["xgboost", "lightgbm"])
def test_estimators_outputs_clone_pickle_and_grid_search(backend, data):
    pytest.importorskip(backend)
    from sklearn.base import clone
    from sklearn.model_selection import GridSearchCV

    if backend == "xgboost":
        from gbm_objectives.xgboost import XGBRegressor as Est

        est = Est(loss="normal", n_estimators=ROUNDS, max_depth=3, learning_rate=0.1, n_jobs=1)
    else:
        from gbm_objectives.lightgbm import LGBMRegressor as Est

        est = Est(loss="normal", n_estimators=ROUNDS, num_leaves=8, learning_rate=0.1, n_jobs=1, verbose=-1)
    x_tr, y_tr, x_te, y_te, _, _ = data
    est.fit(x_tr, y_tr)
    params = est.predict(x_te, output="parameters")
    dist = est.predict(x_te, output="distribution")
    assert_allclose(est.predict(x_te), dist.mean(), rtol=1e-12)
    assert_allclose(dist.to_array(), params, rtol=1e-12)
    # score is minus the mean negative log-likelihood: higher is better
    assert_allclose(est.score(x_te, y_te), -_nll(y_te, params), rtol=1e-6)
    again = pickle.loads(pickle.dumps(est))
    assert_allclose(again.predict(x_te, output="parameters"), params, rtol=1e-12)
    fresh = clone(est)
    assert fresh.get_params()["loss"] == "normal"
    search = GridSearchCV(fresh, {"learning_rate": [0.02, 0.1]}, cv=2).fit(x_tr, y_tr)
    # 60 rounds at 0.02 leave the spread almost constant: the likelihood prefers 0.1
    assert search.best_params_["learning_rate"] == 0.1
    with pytest.raises(ValueError, match="output must be one of"):
        est.predict(x_te, output="quantiles")


@pytest.mark.parametrize("backend", ["xgboost", "lightgbm"])
def test_saved_model_gives_the_same_parameters(backend, data, tmp_path):
    x_tr, y_tr, x_te, _, _, _ = data
    if backend == "xgboost":
        xgb = pytest.importorskip("xgboost")
        from gbm_objectives import xgboost as gx

        booster = gx.train("normal", {"max_depth": 3, "nthread": 1}, xgb.DMatrix(x_tr, label=y_tr), 20)
        path = tmp_path / "model.json"
        booster.save_model(path)
        loaded = xgb.Booster(model_file=str(path))
        # plain XGBoost predicts the margins (loc, log scale): the host objective has no such transform
        assert_allclose(loaded.predict(xgb.DMatrix(x_te))[:, 1],
                        np.log(gx.predict(booster, x_te, output="parameters")[:, 1]), rtol=1e-5, atol=1e-6)
        assert_allclose(gx.predict(loaded, x_te, output="parameters"),
                        gx.predict(booster, x_te, output="parameters"), rtol=1e-12)
    else:
        lgb = pytest.importorskip("lightgbm")
        from gbm_objectives import lightgbm as glgb

        booster = glgb.train("normal", {"num_leaves": 8, "num_threads": 1, "verbose": -1},
                             lgb.Dataset(x_tr, y_tr), 20)
        path = tmp_path / "model.txt"
        booster.save_model(str(path))
        loaded = lgb.Booster(model_file=str(path))
        assert_allclose(glgb.predict(loaded, x_te, output="parameters"),
                        glgb.predict(booster, x_te, output="parameters"), rtol=1e-12)


@pytest.mark.parametrize("backend", ["xgboost", "lightgbm"])
def test_point_losses_refuse_distribution_outputs(backend, data):
    x_tr, y_tr, x_te, _, _, _ = data
    if backend == "xgboost":
        xgb = pytest.importorskip("xgboost")
        from gbm_objectives import xgboost as gx

        booster = gx.train("squared_error", {"nthread": 1}, xgb.DMatrix(x_tr, label=y_tr), 3)
        predict = gx.predict
    else:
        lgb = pytest.importorskip("lightgbm")
        from gbm_objectives import lightgbm as glgb

        booster = glgb.train("squared_error", {"num_threads": 1, "verbose": -1}, lgb.Dataset(x_tr, y_tr), 3)
        predict = glgb.predict
    for output in ("parameters", "distribution"):
        with pytest.raises(ValueError, match="needs a distributional loss"):
            predict(booster, x_te, output=output)


def test_loss_level_api_validates():
    loss = get_loss("normal")
    with pytest.raises(ValueError, match="expected \\(n, 2\\)"):
        loss.distribution(np.ones((3, 3)))
    with pytest.raises(ValueError, match="scale.*> 0"):
        loss.distribution(np.array([[0.0, -1.0]]))
    with pytest.raises(ValueError, match="parameters contains 1 NaN or infinite"):
        loss.distribution(np.array([[np.nan, 1.0]]))
    with pytest.raises(ValueError, match="predicts no distribution"):
        get_loss("squared_error").distribution(np.ones((2, 1)))
    with pytest.raises(ValueError, match="y contains 1 NaN"):
        loss.grad_hess(np.array([0.0, np.nan]), np.zeros((2, 2)))
    # the init score is the maximum-likelihood constant: the mean and the (biased) standard deviation
    y = np.random.default_rng(0).normal(3.0, 2.0, 500)
    assert_allclose(loss.init_score(y), [y.mean(), np.log(y.std())], atol=1e-5)


@pytest.mark.parametrize("weighted", [False, True])
def test_normalize_divides_each_output_by_its_mean_curvature(weighted):
    rng = np.random.default_rng(3)
    n = 200
    y = rng.normal(1e4, 3e3, n)
    margin = np.column_stack([rng.normal(1e4, 1e3, n), rng.normal(np.log(3e3), 0.5, n)])
    w = rng.uniform(0.5, 3.0, n) if weighted else None
    g_exact, h_exact = get_loss("normal", normalize=False).grad_hess(y, margin, w)
    g, h = get_loss("normal").grad_hess(y, margin, w)
    total = n if w is None else w.sum()
    factor = total / h_exact.astype(np.float64).sum(axis=0)
    assert_allclose(g, g_exact * factor, rtol=1e-5)
    assert_allclose(h, h_exact * factor, rtol=1e-5)
    assert_allclose(h.astype(np.float64).sum(axis=0), total, rtol=1e-5)
    # the location's curvature is ~1e-7 per row unnormalised: the scale of the labels
    assert h_exact[:, 0].mean() < 1e-6
    # global_sums are the statistics a distributed training adds over workers
    loss = get_loss("normal")
    sums = loss.global_sums(y, margin, np.empty(0) if w is None else w)
    assert_allclose(sums, [*h_exact.astype(np.float64).sum(axis=0), total], rtol=1e-6)
    half_g = np.empty((n // 2, 2), np.float32)
    half_h = np.empty((n // 2, 2), np.float32)
    loss.grad_hess_into(y[: n // 2], np.ascontiguousarray(margin[: n // 2]),
                        np.empty(0) if w is None else w[: n // 2], half_g, half_h, sums=sums)
    assert_allclose(half_g, g[: n // 2], rtol=1e-5)


@pytest.mark.parametrize("backend", ["xgboost", "lightgbm"])
def test_normalized_model_is_equivariant_to_the_label_scale(backend, data):
    """Costs in the tens of thousands train like the same costs in units: the loc and scale
    predictions scale with the labels. Unnormalised, XGBoost's reg_lambda and LightGBM's
    min_sum_hessian_in_leaf swamp curvatures of 1e-8 and the model stays constant."""
    x_tr, y_tr, x_te, _, _, _ = data
    factor = 1e4
    if backend == "xgboost":
        xgb = pytest.importorskip("xgboost")
        from gbm_objectives import xgboost as gx

        def fit(spec, y):
            booster = gx.train(spec, {"max_depth": 3, "nthread": 1}, xgb.DMatrix(x_tr, label=y), 30)
            return gx.predict(booster, x_te, output="parameters")
    else:
        lgb = pytest.importorskip("lightgbm")
        from gbm_objectives import lightgbm as glgb

        def fit(spec, y):
            booster = glgb.train(spec, {"num_leaves": 8, "num_threads": 1, "verbose": -1}, lgb.Dataset(x_tr, y), 30)
            return glgb.predict(booster, x_te, output="parameters")

    small = fit("normal", y_tr)
    large = fit("normal", y_tr * factor)
    for j in range(2):
        assert_allclose(large[:, j] / factor, small[:, j], rtol=2e-3, atol=2e-3 * np.abs(small[:, j]).max())
    stuck = fit("normal(normalize=False)", y_tr * factor)
    assert np.std(stuck[:, 0]) < 0.05 * np.std(large[:, 0])


def test_xgboost_leaves_of_distributional_losses_hold_twenty_rows_unless_set(data):
    xgb = pytest.importorskip("xgboost")
    import json

    from gbm_objectives import xgboost as gx

    x_tr, y_tr, _, _, _, _ = data
    d = xgb.DMatrix(x_tr, label=y_tr)

    def min_child_weight(spec, params):
        booster = gx.train(spec, {"nthread": 1, **params}, d, 2)
        return float(json.loads(booster.save_config())["learner"]["gradient_booster"]["tree_train_param"]
                     ["min_child_weight"])

    assert min_child_weight("normal", {}) == 20.0
    assert min_child_weight("normal", {"min_child_weight": 3}) == 3.0
    # unnormalised curvatures have no row scale: XGBoost's own default stays
    assert min_child_weight("normal(normalize=False)", {}) == 1.0
    assert min_child_weight("squared_error", {}) == 1.0
    assert get_loss("normal").booster_defaults("lightgbm") == {}
