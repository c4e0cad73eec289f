"""Quantile and expectile sets trained as ONE model with k outputs per row, in both boosters.

Every prediction path (the adapters' ``predict``, the estimators, a saved
and reloaded model) returns (n, k) levels that never cross; the one model
is compared with the boosters' separately fitted built-in quantile models on
held-out rows; metrics, cross-validation and parameter checks work for them.
"""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose

from gbm_objectives import get_loss

ALPHAS = (0.05, 0.5, 0.95)
SPEC = f"multi_quantile(alphas={ALPHAS!r})"
ROUNDS = 60
#: How far the one model's held-out pinball loss may trail separately fitted built-ins here
#: (measured with the default curvature="adaptive": 0.95x on XGBoost 3.4, 1.03x on 3.2, 1.02x on
#: LightGBM; "mm": 0.96x, 1.05x, 1.03x;
#: benchmarks/bench_level_sets.py has the full comparison).
GAP = 1.06


def heteroscedastic(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The noise's spread grows with ``|x2|`` and jumps where ``x0 > 0``."""
    x = rng.uniform(-2.0, 2.0, (n, 4))
    spread = 0.3 + 0.8 * np.abs(x[:, 2]) + 0.5 * (x[:, 0] > 0)
    return x, 2.0 * np.sin(x[:, 0]) + x[:, 1] + spread * rng.standard_normal(n)


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(11)
    x, y = heteroscedastic(rng, 3000)
    return x[:1500], y[:1500], x[1500:], y[1500:]


def pinball_total(y: np.ndarray, levels: np.ndarray, alphas=ALPHAS) -> float:
    d = y[:, None] - levels
    a = np.asarray(alphas)
    return float(np.mean(np.maximum(a * d, (a - 1.0) * d), axis=0).sum())


def assert_levels(levels: np.ndarray, n: int, k: int = len(ALPHAS), strict: bool = False) -> None:
    """(n, k) finite levels, non-decreasing along each row (increasing with ``strict``: softplus increments)."""
    assert levels.shape == (n, k)
    assert np.all(np.isfinite(levels))
    gaps = np.diff(levels, axis=1)
    assert np.all(gaps > 0 if strict else gaps >= 0), "levels cross"


# ---------------------------------------------------------------------------
# XGBoost
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def xgb_model(data):
    xgb = pytest.importorskip("xgboost")
    gx = pytest.importorskip("gbm_objectives.xgboost")
    x, y, _, _ = data
    return gx.train(SPEC, {"nthread": 1, "max_depth": 3, "eta": 0.1}, xgb.DMatrix(x, y), ROUNDS)


def test_xgboost_one_model_k_outputs_never_cross_and_rivals_quantile_alpha_list(data, xgb_model):
    xgb = pytest.importorskip("xgboost")
    gx = pytest.importorskip("gbm_objectives.xgboost")
    x, y, xt, yt = data
    ours = gx.predict(xgb_model, xt)
    assert_levels(ours, xt.shape[0])
    # one model: k outputs per round from one booster
    assert xgb_model.num_boosted_rounds() == ROUNDS
    # XGBoost < 3.4 refits the built-in's leaves to exact residual quantiles, which no custom objective
    # can: within a few rounds the Newton leaves trail it (here 1.07x at 60 rounds on XGBoost 3.2), so
    # the two are compared once both have converged (measured at 150 rounds: 1.01x on 3.2, 0.93x on 3.4).
    params = {"nthread": 1, "max_depth": 3, "eta": 0.1}
    ours = gx.predict(gx.train(SPEC, params, xgb.DMatrix(x, y), 150), xt)
    builtin = xgb.train({**params, "objective": "reg:quantileerror", "quantile_alpha": list(ALPHAS)},
                        xgb.DMatrix(x, y), 150)
    theirs = builtin.inplace_predict(xt).reshape(-1, len(ALPHAS))
    assert pinball_total(yt, ours) <= GAP * pinball_total(yt, theirs)
    # Starts from every level's own quantile: after no trees the levels are the training quantiles.
    start = gx.predict(gx.train(SPEC, {"nthread": 1}, xgb.DMatrix(x, y), 0), xt[:3])
    assert_allclose(start, np.tile(np.quantile(y, ALPHAS, method="inverted_cdf"), (3, 1)), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("transform", ["max", "softplus"])
def test_xgboost_saved_model_predicts_levels(data, xgb_model, tmp_path, transform):
    xgb = pytest.importorskip("xgboost")
    gx = pytest.importorskip("gbm_objectives.xgboost")
    from gbm_objectives.xgboost import has_objective

    x, y, xt, _ = data
    model = xgb_model
    if transform != "max":
        spec = f"multi_quantile(alphas={ALPHAS!r}, transform={transform!r})"
        model = gx.train(spec, {"nthread": 1, "max_depth": 3, "eta": 0.1}, xgb.DMatrix(x, y), 20)
    path = str(tmp_path / "levels.json")
    model.save_model(path)
    loaded = xgb.Booster()
    loaded.load_model(path)
    levels = gx.predict(loaded, xt)
    assert_allclose(levels, gx.predict(model, xt), rtol=1e-12)
    plain = loaded.predict(xgb.DMatrix(xt))
    if transform == "max":
        # Hosted by reg:squarederror: plain predict gives the outputs, their cumulative maximum the levels.
        assert_allclose(np.maximum.accumulate(plain, axis=1), levels, rtol=1e-6, atol=1e-6)
    elif has_objective("reg:expectileerror"):
        # XGBoost >= 3.3 hosts the model under reg:expectileerror, whose transform is the link.
        assert_allclose(plain, levels, rtol=1e-5, atol=1e-5)
    else:
        # Older XGBoost has no such transform: plain predict gives the (n, k) margins.
        assert_allclose(plain, gx.predict(loaded, xt, output="margin"), rtol=1e-6, atol=1e-6)
    assert_levels(levels, xt.shape[0], strict=transform == "softplus")


@pytest.mark.parametrize("strategy", ["one_output_per_tree", "multi_output_tree"])
def test_xgboost_multi_strategies_train_non_crossing_levels(data, strategy):
    xgb = pytest.importorskip("xgboost")
    gx = pytest.importorskip("gbm_objectives.xgboost")
    x, y, xt, yt = data
    params = {"nthread": 1, "max_depth": 3, "eta": 0.1, "multi_strategy": strategy, "tree_method": "hist"}
    booster = gx.train(SPEC, params, xgb.DMatrix(x, y), 30)
    levels = gx.predict(booster, xt)
    assert_levels(levels, xt.shape[0])
    start = pinball_total(yt, np.tile(np.quantile(y, ALPHAS), (yt.shape[0], 1)))
    assert pinball_total(yt, levels) < 0.9 * start


def test_xgboost_estimator_metric_and_cv(data):
    xgb = pytest.importorskip("xgboost")
    gx = pytest.importorskip("gbm_objectives.xgboost")
    from sklearn.model_selection import cross_val_score

    x, y, xt, yt = data
    model = gx.XGBRegressor(loss=SPEC, n_estimators=30, max_depth=3, learning_rate=0.1, n_jobs=1,
                            eval_metric=None).fit(x, y, eval_set=[(xt, yt)], verbose=False)
    levels = model.predict(xt)
    assert_levels(levels, xt.shape[0])
    loss = get_loss("multi_quantile", alphas=ALPHAS)
    margin = model.predict(xt, output_margin=True)
    # score: minus the mean summed pinball loss (R^2 has no meaning for k levels)
    assert model.score(xt, yt) == pytest.approx(-pinball_total(yt, levels), rel=1e-9)
    assert model.evals_result_["validation_0"]["gbm_multi_quantile"][-1] == pytest.approx(
        loss.loss(yt, margin), rel=1e-5)
    scores = cross_val_score(gx.XGBRegressor(loss=SPEC, n_estimators=5, n_jobs=1), x, y, cv=2)
    assert scores.shape == (2,) and np.all(scores < 0)
    # the metric callable on a DMatrix of raw margins
    name, value = gx.metric(loss)(margin, xgb.DMatrix(xt, yt))
    # (the DMatrix holds the labels as float32)
    assert name == "gbm_multi_quantile" and value == pytest.approx(loss.loss(yt, margin), rel=1e-6)
    table = gx.cv(SPEC, {"nthread": 1, "max_depth": 3}, xgb.DMatrix(x, y), 5, nfold=3, seed=0)
    assert list(table.columns) == [f"{s}-gbm_multi_quantile-{t}" for s in ("train", "test") for t in ("mean", "std")]
    assert table["test-gbm_multi_quantile-mean"].iloc[-1] < table["test-gbm_multi_quantile-mean"].iloc[0]


def test_xgboost_multi_expectile_matches_the_builtin_where_it_exists(data):
    xgb = pytest.importorskip("xgboost")
    gx = pytest.importorskip("gbm_objectives.xgboost")
    from gbm_objectives.xgboost import has_objective

    x, y, xt, _ = data
    alphas = (0.1, 0.5, 0.9)
    params = {"nthread": 1, "max_depth": 3, "eta": 0.3}
    spec = f"multi_expectile(alphas={alphas!r}, transform='softplus')"
    booster = gx.train(spec, params, xgb.DMatrix(x, y), 10)
    levels = gx.predict(booster, xt)
    assert_levels(levels, xt.shape[0], strict=True)
    if not has_objective("reg:expectileerror"):
        return
    loss = get_loss(spec)
    base = gx.base_score(loss, y, objective="reg:expectileerror")
    builtin = xgb.train({**params, "objective": "reg:expectileerror", "expectile_alpha": list(alphas),
                         "base_score": base}, xgb.DMatrix(x, y), 10)
    assert_allclose(levels, builtin.predict(xgb.DMatrix(xt)), rtol=1e-4, atol=1e-4)


def test_xgboost_output_parameters_are_checked():
    xgb = pytest.importorskip("xgboost")
    gx = pytest.importorskip("gbm_objectives.xgboost")
    d = xgb.DMatrix(np.zeros((10, 2)), np.arange(10.0))
    with pytest.raises(ValueError, match=r"params\['num_target'\] = 2 does not match the loss's 3 outputs"):
        gx.train(SPEC, {"num_target": 2}, d, 1)
    with pytest.raises(ValueError, match=r"params\['num_class'\] = 3 does not fit"):
        gx.train(SPEC, {"num_class": 3}, d, 1)
    with pytest.raises(ValueError, match=r"params\['expectile_alpha'\] is set by the loss"):
        gx.train("multi_expectile(alphas=(0.2, 0.8))", {"expectile_alpha": [0.3, 0.7]}, d, 1)
    with pytest.raises(ValueError, match=r"params\['num_target'\] = 3 is for multi-output losses"):
        gx.train("squared_error", {"num_target": 3}, d, 1)
    y = np.arange(10.0)
    loss = get_loss("multi_quantile", alphas=ALPHAS)
    # the cumulative maximum: the margins are the levels, which no built-in transforms
    assert_allclose(gx.base_score(loss, y, objective="reg:squarederror"), loss.init_score(y))
    assert_allclose(loss.init_score(y), np.quantile(y, ALPHAS, method="inverted_cdf"))
    with pytest.raises(ValueError, match="cumulative_max link"):
        gx.base_score(loss, y, objective="reg:expectileerror")
    loss = get_loss("multi_quantile", alphas=ALPHAS, transform="softplus")
    margins = gx.base_score(loss, y, objective="reg:squarederror")
    assert_allclose(margins, loss.init_score(y))
    levels = gx.base_score(loss, y, objective="reg:expectileerror")
    assert_allclose(levels, loss.predict(loss.init_score(y)[None, :])[0])
    with pytest.raises(ValueError, match="multiclass objective"):
        gx.base_score(loss, y, objective="multi:softprob")
    with pytest.raises(ValueError, match="several outputs per row"):
        gx.base_score("squared_error", y, objective="reg:expectileerror")


# ---------------------------------------------------------------------------
# LightGBM
# ---------------------------------------------------------------------------


LGB_PARAMS = {"num_threads": 1, "verbose": -1, "num_leaves": 15, "learning_rate": 0.1, "deterministic": True}


@pytest.fixture(scope="module")
def lgb_model(data):
    lgb = pytest.importorskip("lightgbm")
    glgb = pytest.importorskip("gbm_objectives.lightgbm")
    x, y, _, _ = data
    return glgb.train(SPEC, LGB_PARAMS, lgb.Dataset(x, y), ROUNDS)


def test_lightgbm_one_model_k_outputs_never_cross_and_rivals_separate_quantile_models(data, lgb_model):
    lgb = pytest.importorskip("lightgbm")
    glgb = pytest.importorskip("gbm_objectives.lightgbm")
    x, y, xt, yt = data
    ours = glgb.predict(lgb_model, xt)
    assert_levels(ours, xt.shape[0])
    # one model: k trees per iteration in one booster
    assert lgb_model.num_trees() == ROUNDS * len(ALPHAS)
    theirs = np.column_stack([
        lgb.train({**LGB_PARAMS, "objective": "quantile", "alpha": a}, lgb.Dataset(x, y), ROUNDS).predict(xt)
        for a in ALPHAS
    ])
    assert pinball_total(yt, ours) <= GAP * pinball_total(yt, theirs)


def test_lightgbm_saved_model_predicts_levels(data, lgb_model, tmp_path):
    lgb = pytest.importorskip("lightgbm")
    glgb = pytest.importorskip("gbm_objectives.lightgbm")
    _, _, xt, _ = data
    path = str(tmp_path / "levels.txt")
    lgb_model.save_model(path)
    loaded = lgb.Booster(model_file=path)
    levels = glgb.predict(loaded, xt)
    assert_allclose(levels, glgb.predict(lgb_model, xt), rtol=1e-12)
    assert_levels(levels, xt.shape[0])
    # LightGBM has no built-in with this transform: plain predict gives the (n, k) margins.
    assert_allclose(loaded.predict(xt), glgb.predict(loaded, xt, output="margin"), rtol=1e-12)


def test_lightgbm_estimator_metric_and_cv(data):
    lgb = pytest.importorskip("lightgbm")
    glgb = pytest.importorskip("gbm_objectives.lightgbm")
    from sklearn.model_selection import cross_val_score

    x, y, xt, yt = data
    model = glgb.LGBMRegressor(loss=SPEC, n_estimators=30, num_leaves=15, n_jobs=1, verbose=-1)
    model.fit(x, y, eval_set=[(xt, yt)])
    levels = model.predict(xt)
    assert_levels(levels, xt.shape[0])
    loss = get_loss("multi_quantile", alphas=ALPHAS)
    margin = model.predict(xt, raw_score=True)
    assert model.score(xt, yt) == pytest.approx(-pinball_total(yt, levels), rel=1e-9)
    assert model.evals_result_["valid_0"]["gbm_multi_quantile"][-1] == pytest.approx(loss.loss(yt, margin), rel=1e-6)
    scores = cross_val_score(glgb.LGBMRegressor(loss=SPEC, n_estimators=5, n_jobs=1, verbose=-1), x, y, cv=2)
    assert scores.shape == (2,) and np.all(scores < 0)
    name, value, higher_better = glgb.metric(loss)(margin, lgb.Dataset(xt, yt).construct())
    assert name == "gbm_multi_quantile" and not higher_better
    # The Dataset holds float32 labels.
    assert value == pytest.approx(loss.loss(yt.astype(np.float32), margin), rel=1e-9)
    result = glgb.cv(SPEC, LGB_PARAMS, lgb.Dataset(x, y), 5, nfold=3)
    curve = result["valid gbm_multi_quantile-mean"]
    assert len(curve) == 5 and curve[-1] < curve[0]


# ---------------------------------------------------------------------------
# Models recorded before level sets had a transform
# ---------------------------------------------------------------------------


def _without_transform(record: str) -> str:
    import json

    spec = json.loads(record)
    del spec["params"]["transform"]
    return json.dumps(spec, sort_keys=True)


@pytest.mark.parametrize("name", ["multi_quantile", "multi_expectile"])
def test_a_record_without_transform_is_read_as_the_softplus_increments_it_was_trained_with(data, name, tmp_path):
    """Level sets recorded before ``transform`` existed were trained with the softplus increments:
    their saved models and pickles predict the same levels as when they were saved, not under
    today's default."""
    import base64
    import pickle

    from gbm_objectives._adapters import loss_from_json, loss_to_json

    softplus = get_loss(name, alphas=ALPHAS, transform="softplus")
    old_record = _without_transform(loss_to_json(softplus))
    assert loss_from_json(old_record) == softplus
    assert loss_from_json(loss_to_json(get_loss(name, alphas=ALPHAS))).transform == "max"
    # a loss pickled before: its state has no transform
    stale = get_loss(name, alphas=ALPHAS, transform="softplus")
    for attribute in ("transform", "_cummax", "link"):
        stale.__dict__.pop(attribute, None)
    assert "transform" not in vars(stale)
    revived = pickle.loads(pickle.dumps(stale))
    x, y, xt, _ = data
    margin = np.random.default_rng(0).normal(size=(20, len(ALPHAS)))
    assert_allclose(revived.predict(margin), softplus.predict(margin), rtol=0)
    assert revived.loss(y[:20], margin) == softplus.loss(y[:20], margin)

    xgb = pytest.importorskip("xgboost")
    gx = pytest.importorskip("gbm_objectives.xgboost")
    from gbm_objectives.xgboost._params import LOSS_ATTR

    spec = f"{name}(alphas={ALPHAS!r}, transform='softplus')"
    booster = gx.train(spec, {"nthread": 1, "max_depth": 3}, xgb.DMatrix(x, y), 10)
    expected = gx.predict(booster, xt)
    booster.set_attr(**{LOSS_ATTR: old_record})
    path = str(tmp_path / "old.json")
    booster.save_model(path)
    assert_allclose(gx.predict(xgb.Booster(model_file=path), xt), expected, rtol=1e-12)

    lgb = pytest.importorskip("lightgbm")
    glgb = pytest.importorskip("gbm_objectives.lightgbm")
    model = glgb.train(spec, LGB_PARAMS, lgb.Dataset(x, y), 10)
    expected = glgb.predict(model, xt)
    text = model.model_to_string()

    def token(record: str) -> str:  # as the model text holds the record
        return base64.urlsafe_b64encode(record.encode()).decode().rstrip("=")

    new_record = loss_to_json(get_loss(spec))
    assert token(new_record) in text
    old = lgb.Booster(model_str=text.replace(token(new_record), token(old_record)))
    assert_allclose(glgb.predict(old, xt), expected, rtol=1e-12)
