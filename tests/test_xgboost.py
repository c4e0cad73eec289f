"""XGBoost adapter: objective/metric callables, start margin, built-in parity,
leaf refit, scikit-learn, Dask and errors.

Parity tests train the same small data twice, once with the library's loss
through :func:`gbm_objectives.xgboost.train` and once with XGBoost's built-in
objective, from the same start, and compare holdout predictions.
"""

from __future__ import annotations

import copy
import json
import pickle

import numpy as np
import pytest
import xgboost as xgb
from numpy.testing import assert_allclose, assert_array_equal

import gbm_objectives.xgboost as gx
from gbm_objectives import as_loss, available_losses, get_loss, get_loss_class
from gbm_objectives.testing import example_labels, example_margins

BASE = {"nthread": 1, "tree_method": "hist", "max_depth": 4, "eta": 0.3}


# ---------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------


def features(rng: np.random.Generator, n: int, d: int = 5) -> np.ndarray:
    return rng.normal(size=(n, d))


def signal(X: np.ndarray) -> np.ndarray:
    return 0.6 * X[:, 0] - 0.4 * X[:, 1] + 0.3 * X[:, 2] * X[:, 3]


def labels_for(loss, X: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Labels in the loss's domain that depend on the features."""
    return example_labels(loss, rng, X.shape[0], signal=signal(X))[0]


def groups_for(y: np.ndarray) -> np.ndarray:
    """Group sizes of 10 rows with a positive label in each group."""
    sizes = np.full(y.shape[0] // 10, 10)
    for start in np.cumsum(np.concatenate(([0], sizes[:-1]))):
        y[start] = 1.0
    return sizes


def example_loss(name: str):
    return get_loss(name, num_class=3) if get_loss_class(name).task == "multiclass" else get_loss(name)


def dmatrix_for(loss, rng, n=300, weighted=False):
    X = features(rng, n)
    y, group = example_labels(loss, rng, n, signal=signal(X))
    w = rng.uniform(0.2, 3.0, n) if weighted else None
    d = xgb.DMatrix(X, label=y, weight=w, group=group)
    return X, y, w, group, d


def random_margin(loss, rng, n):
    return example_margins(loss, rng, n).astype(np.float32)


def callable_case(name, weighted, rng):
    """A loss, its DMatrix (weighted where the loss allows) and random margins."""
    loss = example_loss(name)
    X, y, w, group, d = dmatrix_for(loss, rng, weighted=weighted and not loss.needs_group)
    return loss, y, w, group, d, random_margin(loss, rng, y.shape[0])


# ---------------------------------------------------------------------------
# Objective and metric callables
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("name", available_losses())
def test_objective_equals_loss_gradients(name, weighted, rng):
    loss, y, w, group, d, margin = callable_case(name, weighted, rng)
    grad, hess = gx.objective(loss)(margin, d)
    want_g, want_h = loss.grad_hess(y.astype(np.float32), margin, w, group=group)
    assert grad.dtype == np.float32 and hess.dtype == np.float32
    assert grad.shape == margin.shape and hess.shape == margin.shape
    assert_allclose(grad, want_g, rtol=1e-6, atol=1e-6)
    assert_allclose(hess, want_h, rtol=1e-6, atol=1e-12)


def test_objective_reuses_buffers_and_validates_once(rng, monkeypatch):
    loss = get_loss("tweedie", power=1.5)
    X, y, w, _, d = dmatrix_for(loss, rng, weighted=True)
    obj, met = gx.objective(loss), gx.metric(loss)
    calls = []
    original = type(loss).check_labels
    monkeypatch.setattr(type(loss), "check_labels", lambda self, y: calls.append(1) or original(self, y))
    g1, h1 = obj(np.zeros(y.shape[0], np.float32), d)
    g2, h2 = obj(rng.normal(size=y.shape[0]).astype(np.float32), d)
    g3, _ = obj(rng.normal(size=y.shape[0]).astype(np.float32), d)
    assert g1 is g2 is g3 and h1 is h2
    assert len(calls) == 1
    # the metric, too, reads each DMatrix once
    values = [met(rng.normal(size=y.shape[0]).astype(np.float32), d)[1] for _ in range(3)]
    assert len(calls) == 2 and len(set(values)) == 3


@pytest.mark.parametrize("weighted", [False, True])
def test_row_curvature_is_one_unit_per_row(weighted, rng):
    loss = get_loss("quantile", alpha=0.7)
    X, y, w, _, d = dmatrix_for(loss, rng, weighted=weighted)
    margin = random_margin(loss, rng, y.shape[0])
    grad, hess = gx.XGBObjective(loss, row_curvature=True)(margin, d)
    want_g, want_h = loss.grad_hess(y.astype(np.float32), margin, w)
    assert_allclose(grad, want_g, rtol=1e-6)
    # the loss's own curvature is not one per row; the row curvature is
    assert not np.allclose(want_h, 1.0 if w is None else w)
    assert_allclose(hess, 1.0 if w is None else w.astype(np.float32))


def test_scikit_learn_signatures_reject_grouped_losses(rng):
    y = (rng.random(20) < 0.5).astype(float)
    margin = np.zeros(20, np.float32)
    with pytest.raises(ValueError, match="query groups"):
        gx.objective("infonce")(y, margin)
    with pytest.raises(ValueError, match="query groups"):
        gx.metric("infonce")(y, margin)


def test_objective_rechecks_labels_at_a_new_run(rng):
    loss = get_loss("tweedie")
    X, y, _, _, d = dmatrix_for(loss, rng)
    obj = gx.objective(loss)
    obj(rng.normal(size=y.shape[0]).astype(np.float32), d)
    d.set_label(y - 100.0)
    # a new training run starts from constant margins: the labels are read again
    with pytest.raises(ValueError, match="y >= 0"):
        obj(np.full(y.shape[0], 0.5, np.float32), d)


@pytest.mark.parametrize("name", ["tweedie", "softmax", "infonce", "quantile"])
def test_objective_and_metric_pickle_and_deepcopy(name, rng):
    loss = example_loss(name)
    X, y, w, group, d = dmatrix_for(loss, rng)
    margin = random_margin(loss, rng, y.shape[0])
    obj, met = gx.objective(loss), gx.metric(loss)
    g, h = (a.copy() for a in obj(margin, d))
    value = met(margin, d)
    for clone in (pickle.loads(pickle.dumps(obj)), copy.deepcopy(obj)):
        assert clone.loss == loss
        g2, h2 = clone(margin, d)
        assert_array_equal(g2, g)
        assert_array_equal(h2, h)
    for clone in (pickle.loads(pickle.dumps(met)), copy.deepcopy(met)):
        assert clone(margin, d) == value


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("name", ["squared_error", "tweedie", "logistic", "softmax", "infonce", "quantile"])
def test_metric_is_weighted_mean_loss(name, weighted, rng):
    loss, y, w, group, d, margin = callable_case(name, weighted, rng)
    metric_name, value = gx.metric(loss)(margin, d)
    assert metric_name == "gbm_" + loss.name
    assert value == pytest.approx(loss.loss(y, margin, w, group=group), rel=1e-6)
    if not loss.needs_group:
        # with a built-in objective XGBoost passes response-scale predictions
        _, from_response = gx.metric(loss, response=True)(loss.predict(margin).astype(np.float32), d)
        assert from_response == pytest.approx(value, rel=1e-4)


# ---------------------------------------------------------------------------
# Start margin, loss record, prediction
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("name", ["squared_error", "absolute_error", "quantile", "tweedie", "gamma", "logistic",
                                  "focal", "softmax", "huber"])
def test_train_starts_from_init_score(name, weighted, rng):
    loss = example_loss(name)
    X, y, w, _, d = dmatrix_for(loss, rng, weighted=weighted)
    booster = gx.train(loss, {"nthread": 1}, d, 0)
    start = np.asarray(loss.init_score(y, w))
    holdout = features(rng, 7)
    margin = gx.predict(booster, holdout, output="margin")
    expected = np.broadcast_to(start, margin.shape)
    assert_allclose(margin, expected, rtol=2e-6, atol=2e-6)
    # the same start on a DMatrix and on the response scale
    assert_allclose(gx.predict(booster, xgb.DMatrix(holdout), output="margin"), margin)
    assert_allclose(gx.predict(booster, holdout), loss.predict(expected), rtol=1e-5)


def test_evaluation_sets_start_from_the_same_init_score(rng):
    loss = get_loss("tweedie", power=1.2)
    X = features(rng, 400)
    y = 100.0 * labels_for(loss, X, rng)  # costs in the hundreds: far from XGBoost's 0.5
    d = xgb.DMatrix(X, label=y)
    dv = xgb.DMatrix(X[:100], label=y[:100])
    history = {}
    booster = gx.train(loss, BASE, d, 1, evals=[(dv, "valid")], evals_result=history, verbose_eval=False)
    margin = booster.predict(dv, output_margin=True)
    assert history["valid"]["gbm_tweedie"][0] == pytest.approx(loss.loss(y[:100], margin), rel=1e-6)
    # the evaluation set starts from the training init score, log(mean y):
    # one round moves its margins far less than XGBoost's 0.5 start would need
    assert np.all(np.abs(margin - np.log(np.mean(y))) < 1.0)
    assert np.log(np.mean(y)) > 4.0


@pytest.mark.parametrize("fmt", ["json", "ubj"])
@pytest.mark.parametrize("name", ["tweedie", "logistic", "softmax", "quantile"])
def test_saved_model_predicts_response_scale(name, fmt, rng, tmp_path):
    loss = example_loss(name)
    X, y, w, _, d = dmatrix_for(loss, rng)
    booster = gx.train(loss, BASE, d, 5)
    path = tmp_path / f"model.{fmt}"
    booster.save_model(path)
    loaded = xgb.Booster(model_file=path)
    record = {"name": loss.name, "params": json.loads(json.dumps(loss.get_params()))}
    assert json.loads(loaded.attr(gx.LOSS_ATTR)) == record
    holdout = features(rng, 20)
    response = gx.predict(loaded, holdout)
    margin = gx.predict(loaded, holdout, output="margin")
    assert_allclose(response, gx.predict(booster, holdout))
    assert_allclose(response, loss.predict(margin), rtol=1e-12)
    # XGBoost's own predict applies the same inverse link
    assert_allclose(loaded.predict(xgb.DMatrix(holdout)), response, rtol=1e-5, atol=1e-7)
    if loss.n_outputs > 1:
        assert response.shape == (20, loss.n_outputs)
        assert_allclose(response.sum(axis=1), 1.0)


def test_predict_with_explicit_loss_and_dataframe(rng):
    pd = pytest.importorskip("pandas")
    loss = get_loss("poisson")
    X, y, _, _, _ = dmatrix_for(loss, rng)
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])])
    booster = xgb.train({"nthread": 1, "base_score": 0.0}, xgb.DMatrix(frame, label=y), 3, obj=gx.objective(loss))
    with pytest.raises(ValueError, match="pass loss="):
        gx.predict(booster, frame)
    margin = booster.predict(xgb.DMatrix(frame), output_margin=True)
    assert_allclose(gx.predict(booster, frame, loss="poisson"), np.exp(margin.astype(np.float64)), rtol=1e-6)


def test_infonce_training_with_query_groups(rng):
    loss = get_loss("infonce", temperature=0.5)
    n = 400
    X = features(rng, n)
    y = (signal(X) + 0.3 * rng.normal(size=n) > 0.5).astype(float)
    group = groups_for(y)
    d = xgb.DMatrix(X, label=y, group=group)
    history = {}
    booster = gx.train(loss, BASE, d, 15, evals=[(d, "train")], evals_result=history, verbose_eval=False)
    curve = history["train"]["gbm_infonce"]
    assert curve[-1] < 0.8 * curve[0]
    response = gx.predict(booster, d)
    sums = np.add.reduceat(response, np.concatenate(([0], np.cumsum(group)[:-1])))
    assert_allclose(sums, 1.0)
    with pytest.raises(ValueError, match="group="):
        gx.predict(booster, X)
    assert_allclose(gx.predict(booster, X, group=group), response)


def test_custom_metric_choices(rng):
    loss = get_loss("logistic")
    X, y, _, _, d = dmatrix_for(loss, rng)
    history = {}
    gx.train(loss, {**BASE, "eval_metric": "logloss"}, d, 3, evals=[(d, "t")], evals_result=history,
             verbose_eval=False, custom_metric=None)
    assert list(history["t"]) == ["logloss"]
    history = {}
    b = gx.train(loss, {**BASE, "eval_metric": "logloss"}, d, 3, evals=[(d, "t")], evals_result=history,
                 verbose_eval=False)
    assert set(history["t"]) == {"logloss", "gbm_logistic"}
    # built-in logloss sees probabilities; ours sees margins: the same number
    assert history["t"]["logloss"][-1] == pytest.approx(history["t"]["gbm_logistic"][-1], rel=1e-4)
    assert isinstance(b, xgb.Booster)


@pytest.mark.parametrize("name", ["tweedie", "gamma", "quantile"])
def test_early_stopping_follows_the_users_eval_metric(name, rng):
    """XGBoost stops on the last metric of the last evaluation set; the loss's
    metric, logged beside the user's, must not take its place."""
    loss = get_loss(name)
    X = features(rng, 1600)
    y = labels_for(loss, X, rng) * (1.0 + 3.0 * (rng.random(1600) < 0.05))
    d, dv = xgb.DMatrix(X[:1000], label=y[:1000]), xgb.DMatrix(X[1000:], label=y[1000:])
    params = {**BASE, "eta": 0.5, "max_depth": 6, "eval_metric": ["rmse", "mae"]}
    history: dict = {}
    b = gx.train(loss, params, d, 300, evals=[(d, "train"), (dv, "valid")], evals_result=history,
                 early_stopping_rounds=10, verbose_eval=False)
    mae = history["valid"]["mae"]
    assert set(history["valid"]) == {"rmse", "mae", gx.metric_name(loss)}
    assert b.best_iteration == int(np.argmin(mae))
    assert len(mae) == b.best_iteration + 11
    # built-in metrics see the response scale
    pred = gx.predict(b, X[1000:], iteration_range=(0, len(mae)))
    assert mae[-1] == pytest.approx(np.mean(np.abs(y[1000:] - pred)), rel=1e-5)


def test_library_metric_never_shares_a_builtin_metrics_name(rng):
    loss = get_loss("quantile", alpha=0.3)
    X = features(rng, 300)
    y = labels_for(loss, X, rng)
    d = xgb.DMatrix(X, label=y)
    history: dict = {}
    gx.train(loss, {**BASE, "eval_metric": "quantile"}, d, 4, evals=[(d, "t")], evals_result=history,
             verbose_eval=False)
    assert list(history["t"]) == ["quantile", "gbm_quantile"]
    assert len(history["t"]["quantile"]) == 4
    assert_allclose(history["t"]["quantile"], history["t"]["gbm_quantile"], rtol=1e-5)
    met = gx.metric(loss, name="pinball")
    assert pickle.loads(pickle.dumps(met)).name == "pinball" and met.__name__ == "pinball"
    with pytest.raises(ValueError, match="name"):
        gx.metric(loss, name="")


def test_early_stopping_without_eval_metric_uses_the_loss(rng):
    loss = get_loss("tweedie")
    X = features(rng, 800)
    y = labels_for(loss, X, rng)
    d, dv = xgb.DMatrix(X[:500], label=y[:500]), xgb.DMatrix(X[500:], label=y[500:])
    history: dict = {}
    b = gx.train(loss, {**BASE, "eta": 0.5, "max_depth": 6}, d, 300, evals=[(dv, "valid")],
                 evals_result=history, early_stopping_rounds=5, verbose_eval=False)
    assert b.best_iteration == int(np.argmin(history["valid"]["gbm_tweedie"]))
    with pytest.raises(ValueError, match="eval_metric"):
        gx.train(loss, {**BASE, "eval_metric": ["mae", 3]}, d, 2)


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("name", ["tweedie", "quantile", "logistic"])
def test_cv_equals_train_on_each_fold(name, weighted, rng):
    """gx.cv is xgboost.cv with each fold trained as gx.train on its part:
    the start is the best constant of the fold's training rows."""
    loss = get_loss(name, alpha=0.8) if name == "quantile" else get_loss(name)
    X = features(rng, 600)
    y = labels_for(loss, X, rng)
    w = rng.uniform(0.2, 3.0, 600) if weighted else None
    d = xgb.DMatrix(X, label=y, weight=w)
    order = rng.permutation(600)
    folds = [(np.setdiff1d(order, part), part) for part in np.array_split(order, 3)]
    params = {**BASE, "eval_metric": "rmse"}
    result = gx.cv(loss, params, d, 8, folds=folds, as_pandas=False)
    assert set(result) == {f"{s}-{m}-{k}" for s in ("train", "test") for m in ("rmse", gx.metric_name(loss))
                           for k in ("mean", "std")}
    per_fold = []
    for train_idx, test_idx in folds:
        history: dict = {}
        dtr, dte = d.slice(train_idx), d.slice(test_idx)
        gx.train(loss, params, dtr, 8, evals=[(dtr, "train"), (dte, "test")], evals_result=history,
                 verbose_eval=False)
        per_fold.append(history)
    for split in ("train", "test"):
        for m in ("rmse", gx.metric_name(loss)):
            curves = np.array([h[split][m] for h in per_fold])
            assert_allclose(result[f"{split}-{m}-mean"], curves.mean(axis=0), rtol=1e-5)
            assert_allclose(result[f"{split}-{m}-std"], curves.std(axis=0), rtol=1e-4, atol=1e-7)


def test_cv_arguments_and_early_stopping(rng):
    loss = get_loss("tweedie")
    X = features(rng, 600)
    y = labels_for(loss, X, rng)
    d = xgb.DMatrix(X, label=y)
    params = {**BASE, "eta": 0.3, "max_depth": 6}
    frame = gx.cv(loss, params, d, 300, nfold=3, metrics=["rmse", "mae"], early_stopping_rounds=5, seed=1)
    assert list(frame.columns)[:2] == ["train-rmse-mean", "train-rmse-std"]
    # stopped on the user's last metric (mae), as xgboost.cv does: 5 rounds
    # without a new best test MAE
    full = gx.cv(loss, params, d, len(frame) + 5, nfold=3, metrics=["rmse", "mae"], seed=1)
    mae = full["test-mae-mean"].to_numpy()
    best = int(np.argmin(mae))
    assert best == len(frame) - 1 and len(mae) == best + 6
    seen = []
    gx.cv(loss, BASE, d, 2, nfold=2, fpreproc=lambda a, b, p: seen.append(p) or (a, b, p))
    assert len(seen) == 2 and "base_score" not in seen[0]
    with pytest.raises(ValueError, match="nfold"):
        gx.cv(loss, BASE, d, 2, nfold=1)
    with pytest.raises(ValueError, match="obj"):
        gx.cv(loss, BASE, d, 2, obj=gx.objective(loss))
    with pytest.raises(ValueError, match="DMatrix"):
        gx.cv(loss, BASE, X, 2)


# ---------------------------------------------------------------------------
# Parity with XGBoost's built-in objectives
# ---------------------------------------------------------------------------

#: losses.Poisson carries XGBoost's max_delta_step safeguard (Hessian exp(f + mds)).
POISSON_HAS_MDS = hasattr(get_loss("poisson"), "max_delta_step")
#: The max_delta_step the count:poisson carrier must get for the default Poisson loss.
POISSON_MDS = float(getattr(get_loss("poisson"), "max_delta_step", 0.0))
needs_poisson_mds = pytest.mark.skipif(not POISSON_HAS_MDS, reason="losses.Poisson has no max_delta_step")

PARITY = [
    ("squared_error", {}, "reg:squarederror", {}),
    # count:poisson's Hessian is exp(f + max_delta_step), and XGBoost caps
    # the leaf steps at it: the built-in at its default (0.7), and exact.
    ("poisson", {}, "count:poisson", {}),
    ("poisson", {"max_delta_step": 0.0}, "count:poisson", {"max_delta_step": 0.0}),
    ("gamma", {}, "reg:gamma", {}),
    ("tweedie", {"power": 1.2}, "reg:tweedie", {"tweedie_variance_power": 1.2}),
    ("tweedie", {"power": 1.5}, "reg:tweedie", {"tweedie_variance_power": 1.5}),
    ("tweedie", {"power": 1.8}, "reg:tweedie", {"tweedie_variance_power": 1.8}),
    ("logistic", {}, "binary:logistic", {}),
    ("pseudo_huber", {"delta": 1.0, "curvature": "exact"}, "reg:pseudohubererror", {"huber_slope": 1.0}),
    ("softmax", {"num_class": 3, "hessian_scale": "xgboost"}, "multi:softprob", {"num_class": 3}),
]


def assert_parity(p_builtin: np.ndarray, p_ours: np.ndarray) -> None:
    rel = np.abs(p_ours - p_builtin) / np.maximum(np.abs(p_builtin), 1e-12)
    assert np.mean(rel <= 1e-4) >= 0.97, f"only {np.mean(rel <= 1e-4):.3f} of rows agree"
    assert abs(p_ours.mean() - p_builtin.mean()) <= 1e-4 * abs(p_builtin.mean())


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize(
    ("name", "params", "builtin", "builtin_params"),
    [pytest.param(*c, marks=needs_poisson_mds if c[0] == "poisson" else ()) for c in PARITY],
    ids=[f"{c[0]}{c[1].get('power', '')}{c[1].get('max_delta_step', '')}" for c in PARITY],
)
def test_parity_with_builtin_objective(name, params, builtin, builtin_params, weighted, rng):
    loss = get_loss(name, **params)
    n = 1200
    X = features(rng, n)
    y = labels_for(loss, X, rng)
    w = rng.uniform(0.2, 3.0, n) if weighted else None
    train, hold = slice(0, 900), slice(900, n)
    w_train = None if w is None else w[train]
    d = xgb.DMatrix(X[train], label=y[train], weight=w_train)
    ours = gx.train(loss, BASE, d, 40)
    start = gx.base_score(loss, y[train], w_train, objective=builtin)
    theirs = xgb.train({**BASE, "objective": builtin, "base_score": start, **builtin_params}, d, 40)
    assert_parity(theirs.predict(xgb.DMatrix(X[hold])), gx.predict(ours, X[hold]))


def test_builtin_tweedie_has_no_max_delta_step(rng):
    """reg:tweedie in XGBoost 3.2 uses max_delta_step 0 (only count:poisson has 0.7)."""
    loss = get_loss("tweedie", power=1.5)
    X = features(rng, 600)
    y = labels_for(loss, X, rng)
    d = xgb.DMatrix(X, label=y)
    b = xgb.train({**BASE, "objective": "reg:tweedie", "tweedie_variance_power": 1.5}, d, 1)
    config = json.loads(b.save_config())
    assert float(config["learner"]["gradient_booster"]["tree_train_param"]["max_delta_step"]) == 0.0
    b = xgb.train({**BASE, "objective": "count:poisson"}, d, 1)
    config = json.loads(b.save_config())
    assert float(config["learner"]["gradient_booster"]["tree_train_param"]["max_delta_step"]) == pytest.approx(0.7)


# ---------------------------------------------------------------------------
# Leaf refit for absolute error and quantile
# ---------------------------------------------------------------------------


def xgb_quantile(values: np.ndarray, weights: np.ndarray | None, alpha: float) -> float:
    """XGBoost's quantile (src/common/stats.h): interpolated without weights,
    the weighted step function with weights."""
    order = np.argsort(values, kind="stable")
    v = values[order]
    n = v.shape[0]
    if weights is None:
        if alpha <= 1.0 / (n + 1):
            return float(v[0])
        if alpha >= n / (n + 1.0):
            return float(v[-1])
        x = alpha * (n + 1)
        k = int(np.floor(x)) - 1
        return float(v[k] + (x - 1 - k) * (v[k + 1] - v[k]))
    cdf = np.cumsum(weights[order].astype(np.float32), dtype=np.float32)
    idx = int(np.searchsorted(cdf, np.float32(cdf[-1] * np.float32(alpha)), side="left"))
    return float(v[min(idx, n - 1)])


def skewed_costs(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Daily costs: 10% zeros, the rest log-normal in the thousands."""
    X = features(rng, n, 8)
    lin = 0.8 * X[:, 0] - 0.5 * X[:, 1] + 0.4 * X[:, 2] * X[:, 3] + 0.3 * np.sin(3 * X[:, 4])
    y = np.round(np.exp(7.0 + lin + 0.8 * rng.standard_normal(n)) * (rng.random(n) > 0.1), 2)
    return X, y


def builtin_params(loss, params: dict, y: np.ndarray, w: np.ndarray | None = None) -> dict:
    """XGBoost's built-in objective for a loss with a leaf refit, started at the loss's init score."""
    builtin = loss.builtin_objective("xgboost")
    return {**params, **builtin, "base_score": gx.base_score(loss, y, w, objective=builtin["objective"])}


@pytest.mark.skipif(not gx.BUILTIN_LEAF_REFIT, reason="XGBoost >= 3.4 refits no leaves (see the MM test)")
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("loss", [get_loss("absolute_error"), get_loss("quantile", alpha=0.8)], ids=str)
def test_refit_leaves_are_residual_quantiles_times_eta(loss, weighted, rng):
    X, y = skewed_costs(rng, 800)
    w = rng.uniform(0.5, 2.0, y.shape[0]) if weighted else None
    d = xgb.DMatrix(X, label=y, weight=w)
    eta = 0.3
    booster = gx.train(loss, {**BASE, "eta": eta}, d, 3)
    y32 = d.get_label()
    frame = booster.trees_to_dataframe()
    leaf_ids = booster.predict(d, pred_leaf=True).astype(int)
    for tree in range(3):
        if tree == 0:
            before = np.full(y.shape[0], np.float32(builtin_params(loss, {}, y, w)["base_score"]), np.float32)
        else:
            before = booster.predict(d, output_margin=True, iteration_range=(0, tree))
        leaf_of_row = leaf_ids[:, tree]
        leaves = frame[(frame.Tree == tree) & (frame.Feature == "Leaf")]
        assert leaves.shape[0] > 1
        for node, value in zip(leaves.Node, leaves.Gain):
            rows = leaf_of_row == node
            residual = (y32[rows] - before[rows]).astype(np.float32)
            q = xgb_quantile(residual, None if w is None else d.get_weight()[rows], loss.alpha)
            assert value == pytest.approx(eta * q, rel=1e-5, abs=1e-3)


@pytest.mark.skipif(gx.BUILTIN_LEAF_REFIT, reason="XGBoost < 3.4 refits leaves (see the refit test)")
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("loss", [get_loss("absolute_error"), get_loss("quantile", alpha=0.8),
                                  get_loss("quantile", alpha=0.1)], ids=str)
def test_mm_gradients_grow_the_builtins_trees(loss, weighted, rng):
    """XGBoost >= 3.4: the built-ins are smooth MM objectives; train hands
    XGBoost the same gradients, so the trees are the built-in's."""
    X, y = skewed_costs(rng, 800)
    w = rng.uniform(0.5, 2.0, y.shape[0]) if weighted else None
    d = xgb.DMatrix(X, label=y, weight=w)
    ours = gx.train(loss, BASE, d, 10)
    theirs = xgb.train(builtin_params(loss, BASE, y, w), d, 10)
    builtin = loss.builtin_objective("xgboost")["objective"]
    assert json.loads(ours.save_config())["learner"]["objective"]["name"] == builtin
    assert_parity(theirs.predict(d), gx.predict(ours, d))


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("loss", [get_loss("absolute_error"), get_loss("quantile", alpha=0.9)], ids=str)
def test_refit_matches_builtin_pinball_on_skewed_costs(loss, weighted, rng):
    X, y = skewed_costs(rng, 6000)
    w = rng.uniform(0.5, 2.0, y.shape[0]) if weighted else None
    train, hold = slice(0, 4000), slice(4000, None)
    w_train = None if w is None else w[train]
    d = xgb.DMatrix(X[train], label=y[train], weight=w_train)
    params = {**BASE, "max_depth": 5, "eta": 0.1}
    rounds = 150
    ours = gx.train(loss, params, d, rounds)
    theirs = xgb.train(builtin_params(loss, params, y[train], w_train), d, rounds)

    def pinball(pred):
        r = y[hold] - pred
        return np.average(np.maximum(loss.alpha * r, (loss.alpha - 1.0) * r), weights=None if w is None else w[hold])

    ratio = pinball(gx.predict(ours, X[hold])) / pinball(theirs.predict(xgb.DMatrix(X[hold])))
    assert 0.99 <= ratio <= 1.01
    # without the refit, plain Newton leaves fall well short on this target
    plain = gx.train(loss, params, d, rounds, refit_leaves=False)
    assert pinball(gx.predict(plain, X[hold])) > 1.01 * pinball(gx.predict(ours, X[hold]))


# ---------------------------------------------------------------------------
# scikit-learn estimators
# ---------------------------------------------------------------------------

SK = {"n_estimators": 20, "max_depth": 3, "learning_rate": 0.3, "n_jobs": 1, "tree_method": "hist"}


@pytest.mark.parametrize("name", ["tweedie", "squared_error", "huber"])
def test_xgbregressor_with_objective_and_sample_weight(name, rng):
    loss = get_loss(name)
    X = features(rng, 500)
    y = labels_for(loss, X, rng)
    w = rng.uniform(0.2, 3.0, 500)
    start = gx.base_score(loss, y, w, objective="reg:squarederror")
    model = xgb.XGBRegressor(objective=gx.objective(loss), base_score=start, **SK)
    model.fit(X, y, sample_weight=w)
    native = gx.train(loss, {**BASE, "max_depth": 3}, xgb.DMatrix(X, label=y, weight=w), 20)
    holdout = features(rng, 50)
    # XGBRegressor returns margins (it runs reg:squarederror): identical trees
    assert_allclose(model.predict(holdout), gx.predict(native, holdout, output="margin"), rtol=1e-5, atol=1e-4)
    assert_allclose(gx.predict(model.get_booster(), holdout, loss=loss), gx.predict(native, holdout), rtol=1e-4)
    unweighted = xgb.XGBRegressor(objective=gx.objective(loss), base_score=start, **SK).fit(X, y)
    assert not np.allclose(unweighted.predict(holdout), model.predict(holdout))


@pytest.mark.parametrize("loss", [get_loss("logistic", label_smoothing=0.1), get_loss("focal", gamma=2.0),
                                  get_loss("softmax", num_class=3), get_loss("softmax_focal", num_class=3)], ids=str)
def test_xgbclassifier_predict_proba_is_response_scale(loss, rng):
    X = features(rng, 600)
    y = labels_for(loss, X, rng).astype(int)
    w = rng.uniform(0.5, 2.0, 600)
    # XGBClassifier runs the link's host objective: softmax or sigmoid.
    init = gx.base_score(loss, y, w, objective=loss.link.xgboost_objective)
    model = xgb.XGBClassifier(objective=gx.objective(loss), base_score=init, **SK)
    model.fit(X, y, sample_weight=w)
    holdout = features(rng, 40)
    proba = model.predict_proba(holdout)
    response = gx.predict(model.get_booster(), holdout, loss=loss)
    expected = response if loss.n_outputs > 1 else np.column_stack([1.0 - response, response])
    assert_allclose(proba, expected, rtol=1e-5, atol=1e-6)
    native = gx.train(loss, {**BASE, "max_depth": 3}, xgb.DMatrix(X, label=y, weight=w), 20)
    assert_allclose(response, gx.predict(native, holdout), rtol=1e-4, atol=1e-6)
    assert_array_equal(model.predict(holdout), np.argmax(expected, axis=1))


# ---------------------------------------------------------------------------
# Dask
# ---------------------------------------------------------------------------


@pytest.mark.dask
def test_dask_training_matches_single_machine():
    distributed = pytest.importorskip("distributed")
    da = pytest.importorskip("dask.array")
    import xgboost.dask as dxgb

    rng = np.random.default_rng(7)
    n = 2000
    X = features(rng, n, 4)
    y = rng.poisson(np.exp(0.5 + X[:, 0])).astype(float)
    w = rng.uniform(0.5, 2.0, n)
    params = {**BASE, "max_depth": 3}
    local_history = {}
    d = xgb.DMatrix(X, label=y, weight=w)
    local = gx.train("tweedie", params, d, 20, evals=[(d, "train")], evals_result=local_history,
                     verbose_eval=False)
    tweedie = {**params, "objective": "reg:tweedie", "tweedie_variance_power": 1.5,
               "base_score": gx.base_score("tweedie", y, w, objective="reg:tweedie")}
    median = get_loss("absolute_error")
    y_cost = np.exp(1.0 + X[:, 0] + rng.normal(size=n))
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        dX = da.from_array(X, chunks=(500, 4))
        dd = dxgb.DaskDMatrix(client, dX, da.from_array(y, chunks=500), weight=da.from_array(w, chunks=500))
        assert len(dd.worker_map) == 2
        out = gx.dask_train(client, "tweedie", params, dd, 20, evals=[(dd, "train")], verbose_eval=False)
        distributed_pred = dxgb.predict(client, out["booster"], dX).compute()
        builtin = dxgb.train(client, tweedie, dd, 20)["booster"]
        # absolute error: the leaf refit (< 3.4) or the MM scale all-reduced
        # over the workers (>= 3.4), as in the built-in
        dc = dxgb.DaskDMatrix(client, dX, da.from_array(y_cost, chunks=500), weight=da.from_array(w, chunks=500))
        ours_median = gx.dask_train(client, median, params, dc, 10)["booster"]
        builtin_median = dxgb.train(client, builtin_params(median, params, y_cost, w), dc, 10)["booster"]
    booster = out["booster"]
    assert json.loads(booster.attr(gx.LOSS_ATTR))["name"] == "tweedie"
    assert json.loads(ours_median.attr(gx.LOSS_ATTR))["name"] == "absolute_error"
    assert_allclose(distributed_pred, gx.predict(booster, X), rtol=1e-6)
    # XGBoost >= 3.4 sketches histograms differently on a cluster than on one
    # machine, so the distributed model is compared with the built-in trained
    # on the same cluster, and the local one with the local built-in
    local_builtin = xgb.train(tweedie, d, 20)
    assert_allclose(gx.predict(local, X), local_builtin.predict(xgb.DMatrix(X)), rtol=1e-4)
    assert_allclose(gx.predict(booster, X), builtin.predict(xgb.DMatrix(X)), rtol=1e-4)
    assert_parity(builtin_median.predict(xgb.DMatrix(X)), gx.predict(ours_median, X))
    # the metric is all-reduced: every worker reports the global loss
    history = out["history"]["train"]["gbm_tweedie"]
    assert history[-1] == pytest.approx(get_loss("tweedie").loss(y, gx.predict(booster, X, output="margin"), w),
                                        rel=1e-5)
    if gx.BUILTIN_LEAF_REFIT:  # one sketch for both
        assert_allclose(history, local_history["train"]["gbm_tweedie"], rtol=1e-5)


# ---------------------------------------------------------------------------
# Errors before training starts
# ---------------------------------------------------------------------------


def test_softmax_without_num_class_in_plain_xgboost_train(rng):
    loss = get_loss("softmax", num_class=3)
    X, y, _, _, d = dmatrix_for(loss, rng)
    with pytest.raises(ValueError, match=r"set num_class=3"):
        xgb.train({"nthread": 1}, d, 2, obj=gx.objective(loss))


def test_level_set_without_num_target_in_plain_xgboost_train_names_num_target(rng):
    # num_class would make XGBoost predict class labels; a level set's outputs are targets
    X = rng.normal(size=(200, 3))
    d = xgb.DMatrix(X, label=X[:, 0] + rng.normal(size=200))
    with pytest.raises(ValueError, match=r"set num_target=3"):
        xgb.train({"nthread": 1}, d, 2, obj=gx.objective("multi_quantile"))


@pytest.mark.parametrize(("params", "match"), [
    ({"num_class": 4}, "does not match"),
    ({"objective": "multi:softprob"}, "objective"),
    ({"base_score": 0.5}, "init_score"),
])
def test_train_rejects_conflicting_params(params, match, rng):
    loss = get_loss("softmax", num_class=3)
    X, y, _, _, d = dmatrix_for(loss, rng)
    with pytest.raises(ValueError, match=match):
        gx.train(loss, {"nthread": 1, **params}, d, 2)


def test_loss_parameters_of_the_named_builtin(rng):
    loss = get_loss("tweedie", power=1.3)
    X, y, _, _, d = dmatrix_for(loss, rng)
    with pytest.raises(ValueError, match="tweedie_variance_power"):
        gx.train(loss, {"nthread": 1, "tweedie_variance_power": 1.5}, d, 2)
    # the same value is accepted; under other objectives a user's
    # max_delta_step only caps the leaf steps, and is kept
    gx.train(loss, {"nthread": 1, "tweedie_variance_power": 1.3}, d, 1)
    b = gx.train(loss, {"nthread": 1, "max_delta_step": 0.4}, d, 1)
    assert float(json.loads(b.save_config())["learner"]["gradient_booster"]["tree_train_param"]
                 ["max_delta_step"]) == pytest.approx(0.4)


def test_single_output_loss_with_num_class(rng):
    X, y, _, _, d = dmatrix_for(get_loss("squared_error"), rng)
    with pytest.raises(ValueError, match="one output"):
        gx.train("squared_error", {"nthread": 1, "num_class": 3}, d, 2)
    with pytest.raises(ValueError, match="one margin per row"):
        xgb.train({"nthread": 1, "num_class": 3}, d, 1, obj=gx.objective("squared_error"))


def test_labels_outside_the_domain(rng):
    X = features(rng, 200)
    y = rng.normal(size=200)
    d = xgb.DMatrix(X, label=y)
    with pytest.raises(ValueError, match="dtrain: tweedie needs labels y >= 0"):
        gx.train("tweedie", {"nthread": 1}, d, 2)
    with pytest.raises(ValueError, match="y >= 0"):
        xgb.train({"nthread": 1}, d, 2, obj=gx.objective("tweedie"))
    good = xgb.DMatrix(X, label=np.abs(y))
    with pytest.raises(ValueError, match="evaluation set 'bad'"):
        gx.train("tweedie", {"nthread": 1}, good, 2, evals=[(d, "bad")])
    with pytest.raises(ValueError, match="num_class=3 needs labels"):
        gx.train(get_loss("softmax", num_class=3), {"nthread": 1}, xgb.DMatrix(X, label=np.arange(200) % 4), 2)


def test_infonce_without_groups(rng):
    X = features(rng, 100)
    d = xgb.DMatrix(X, label=(rng.random(100) < 0.3).astype(float))
    with pytest.raises(ValueError, match="needs query groups"):
        gx.train("infonce", {"nthread": 1}, d, 2)
    with pytest.raises(ValueError, match="needs query groups"):
        xgb.train({"nthread": 1}, d, 2, obj=gx.objective("infonce"))


def test_obj_argument_and_bad_inputs(rng):
    X, y, _, _, d = dmatrix_for(get_loss("squared_error"), rng)
    with pytest.raises(ValueError, match="obj"):
        gx.train("squared_error", {}, d, 2, obj=gx.objective("squared_error"))
    with pytest.raises(ValueError, match="DMatrix"):
        gx.train("squared_error", {}, X, 2)
    with pytest.raises(ValueError, match="unknown loss"):
        gx.objective("no_such_loss")
    with pytest.raises(ValueError, match="output"):
        gx.predict(gx.train("squared_error", {"nthread": 1}, d, 1), X, output="proba")
    with pytest.raises(ValueError, match="init_score"):
        gx.train("squared_error", {"nthread": 1}, d, 1, init_score=[1.0, 2.0])
    with pytest.raises(ValueError, match="log link"):
        gx.base_score("squared_error", y, objective="reg:tweedie")
    with pytest.raises(ValueError, match="multiclass"):
        gx.base_score("logistic", (y > 3).astype(float), objective="multi:softprob")
    with pytest.raises(ValueError, match="refit_leaves"):
        gx.train("absolute_error", {"nthread": 1}, d, 1, refit_leaves="yes")


def test_booster_objective_and_base_score_spaces(rng):
    assert gx.booster_objective("tweedie") == {"objective": "reg:tweedie", "tweedie_variance_power": 1.5}
    assert gx.booster_objective("poisson") == {"objective": "count:poisson", "max_delta_step": POISSON_MDS}
    assert gx.booster_objective("gamma") == {"objective": "reg:gamma"}
    # no built-in has log-cosh's gradients: the host with the identity transform
    assert gx.booster_objective("log_cosh") == {"objective": "reg:squarederror"}
    assert gx.booster_objective("quantile") == {"objective": "reg:quantileerror", "quantile_alpha": 0.5}
    assert gx.booster_objective("quantile", refit_leaves=False) == {"objective": "reg:squarederror"}
    assert gx.booster_objective(get_loss("softmax", num_class=4)) == {"objective": "multi:softprob", "num_class": 4}
    y = rng.gamma(2.0, 3.0, 100)
    assert gx.base_score("gamma", y, objective="reg:gamma") == pytest.approx(np.mean(y))
    assert gx.base_score("gamma", y, objective="reg:squarederror") == pytest.approx(np.log(np.mean(y)))
    yb = (rng.random(100) < 0.3).astype(float)
    assert gx.base_score("logistic", yb, objective="binary:logistic") == pytest.approx(np.mean(yb))
    yc = rng.integers(0, 3, 100)
    start = gx.base_score(get_loss("softmax", num_class=3), yc, objective="multi:softprob")
    assert_allclose(start, np.log(np.bincount(yc) / 100))
    assert as_loss("logistic") == get_loss("logistic")


@pytest.mark.parametrize(("loss", "builtin"), [
    (get_loss("poisson"), {"objective": "count:poisson", "max_delta_step": POISSON_MDS}),
    (get_loss("gamma"), {"objective": "reg:gamma"}),
    (get_loss("tweedie", power=1.2), {"objective": "reg:tweedie", "tweedie_variance_power": 1.2}),
    (get_loss("pseudo_huber", delta=2.0, curvature="exact"), {"objective": "reg:pseudohubererror", "huber_slope": 2.0}),
], ids=str)
def test_saved_model_names_the_loss_for_plain_continuation(loss, builtin, rng, tmp_path):
    """A model from train, reloaded by plain XGBoost and trained on with plain
    xgboost.train, continues the same loss (not Tweedie 1.5)."""
    X = features(rng, 600)
    y = labels_for(loss, X, rng)
    d = xgb.DMatrix(X, label=y)
    ours = gx.train(loss, BASE, d, 5)
    path = tmp_path / "model.json"
    ours.save_model(path)
    config = json.loads(ours.save_config())["learner"]["objective"]
    assert config["name"] == builtin["objective"]
    plain = xgb.train(BASE, d, 10, xgb_model=xgb.Booster(model_file=str(path)))
    continued = gx.train(loss, BASE, d, 10, xgb_model=ours)
    # the built-in itself from the same start grows the same model
    start = gx.base_score(loss, y, objective=builtin["objective"])
    theirs = xgb.train({**BASE, **builtin, "base_score": start}, d, 5)
    assert_parity(xgb.train({**BASE, **builtin}, d, 10, xgb_model=theirs).predict(xgb.DMatrix(X)),
                  continued.predict(xgb.DMatrix(X)))
    # ... and reloaded, plain XGBoost continues it as it continues ours
    theirs_path = tmp_path / "builtin.json"
    theirs.save_model(theirs_path)
    plain_theirs = xgb.train(BASE, d, 10, xgb_model=xgb.Booster(model_file=str(theirs_path)))
    assert_parity(plain_theirs.predict(xgb.DMatrix(X)), plain.predict(xgb.DMatrix(X)))
    if builtin.get("max_delta_step", 0.0) == 0.0:
        # A model file keeps the objective's parameters but no tree
        # parameter: a reloaded count:poisson model continues without the
        # max_delta_step leaf cap (XGBoost's rule, for its own models too).
        assert_parity(continued.predict(xgb.DMatrix(X)), plain.predict(xgb.DMatrix(X)))


def test_continued_training_keeps_the_model_start(rng):
    loss = get_loss("tweedie")
    X, y, _, _, d = dmatrix_for(loss, rng)
    first = gx.train(loss, BASE, d, 5)
    rescaled = xgb.DMatrix(X, label=3.0 * y)
    more = gx.train(loss, BASE, rescaled, 0, xgb_model=first)
    assert_allclose(gx.predict(more, X), gx.predict(first, X), rtol=1e-6)
    longer = gx.train(loss, BASE, rescaled, 3, xgb_model=first)
    assert longer.num_boosted_rounds() == 8
    # iteration_range picks trees as in Booster.predict
    two = gx.predict(first, X, output="margin", iteration_range=(0, 2))
    assert_allclose(two, first.predict(xgb.DMatrix(X), output_margin=True, iteration_range=(0, 2)), rtol=1e-6)
    assert not np.allclose(two, gx.predict(first, X, output="margin"))


@pytest.mark.parametrize("name", ["infonce", "squared_error"])
def test_dmatrix_with_groups_takes_one_weight_per_group(name, rng):
    """With query groups XGBoost holds one weight per group, for every row of the group."""
    loss = get_loss(name)
    sizes = np.array([3, 7, 1, 5, 4])
    n = int(sizes.sum())
    qid = np.repeat(np.arange(sizes.shape[0]), sizes)
    y = np.zeros(n)
    y[np.cumsum(sizes) - 1] = 1.0
    w = rng.uniform(0.2, 3.0, sizes.shape[0])
    d = xgb.DMatrix(features(rng, n), label=y, qid=qid, weight=w)
    margin = rng.normal(size=n).astype(np.float32)
    rows = np.repeat(w, sizes)
    group = qid if loss.needs_group else None
    expected = loss.grad_hess(y, margin.astype(np.float64), rows, group=group)
    obj = gx.objective(loss)
    got = obj(margin, d)
    assert_allclose(got[0], expected[0], rtol=1e-6, atol=1e-7)
    assert_allclose(got[1], expected[1], rtol=1e-6, atol=1e-7)
    value = gx.metric(loss)(margin, d)[1]
    assert value == pytest.approx(loss.loss(y, margin.astype(np.float64), rows, group=group), rel=1e-6)
    # Training reads the same weights.
    gx.train(loss, BASE, d, 2)
    # New group weights are noticed by the same objective.
    d.set_weight(2.0 * w)
    assert_allclose(obj(margin, d)[0], 2.0 * expected[0], rtol=1e-6, atol=1e-7)


def test_predict_defaults_to_the_best_iteration_after_early_stopping(rng):
    loss = get_loss("tweedie")
    X = features(rng, 600)
    y = labels_for(loss, X, rng)
    Xv = features(rng, 200)
    yv = labels_for(loss, Xv, rng)[rng.permutation(200)]  # shuffled: the validation loss soon rises
    d, dv = xgb.DMatrix(X, label=y), xgb.DMatrix(Xv, label=yv)
    b = gx.train(loss, {**BASE, "eta": 0.5}, d, 200, evals=[(dv, "valid")], early_stopping_rounds=5,
                 verbose_eval=False)
    best = b.best_iteration
    assert b.num_boosted_rounds() == best + 6
    default = gx.predict(b, Xv)
    assert_allclose(default, gx.predict(b, Xv, iteration_range=(0, best + 1)), rtol=1e-12)
    assert_allclose(gx.predict(b, dv), default, rtol=1e-12)
    every_tree = gx.predict(b, Xv, iteration_range=(0, 0))
    assert not np.allclose(default, every_tree)
    # Booster.predict uses every tree after early stopping (XGBoost 3.2 and 3.4 alike).
    assert_allclose(b.predict(dv), every_tree, rtol=1e-6)
    # Continued without early stopping: the continued model's trees all count.
    more = gx.train(loss, BASE, d, 3, xgb_model=b)
    assert more.attr("best_iteration") is None and more.num_boosted_rounds() == best + 9
    assert_allclose(gx.predict(more, Xv), more.predict(dv), rtol=1e-6)
    assert b.best_iteration == best  # the model continued from is unchanged
    # Without early stopping there is no best iteration: every tree.
    plain = gx.train(loss, BASE, d, 4)
    assert_allclose(gx.predict(plain, Xv), plain.predict(dv), rtol=1e-6)
    for bad in ((0,), (2, 1), (-1, 0), (0.0, 2), "all"):
        with pytest.raises(ValueError, match="iteration_range"):
            gx.predict(b, Xv, iteration_range=bad)


def test_metric_as_sklearn_eval_metric(rng):
    loss = get_loss("tweedie", power=1.3)
    X = features(rng, 400)
    y = labels_for(loss, X, rng)
    w = rng.uniform(0.5, 2.0, 400)
    model = xgb.XGBRegressor(objective=gx.objective(loss), eval_metric=gx.metric(loss),
                             base_score=gx.base_score(loss, y, w, objective="reg:squarederror"), **SK)
    model.fit(X[:300], y[:300], sample_weight=w[:300], eval_set=[(X[300:], y[300:])],
              sample_weight_eval_set=[w[300:]], verbose=False)
    curve = model.evals_result()["validation_0"]["gbm_tweedie"]
    margin = model.predict(X[300:])
    assert curve[-1] == pytest.approx(loss.loss(y[300:], margin, w[300:]), rel=1e-5)
    assert curve[-1] < curve[0]


@pytest.mark.parametrize("entry", ["train", "cv"])
def test_scale_pos_weight_is_refused_not_ignored(entry, rng):
    X = features(rng, 300)
    y = (rng.random(300) < 0.15).astype(float)
    d = xgb.DMatrix(X, label=y)
    run = gx.train if entry == "train" else gx.cv
    with pytest.raises(ValueError, match=r"scale_pos_weight = 4.0 is not applied.*weight"):
        run("logistic", {**BASE, "scale_pos_weight": 4.0}, d, 2)
    with pytest.raises(ValueError, match="not a binary loss"):
        classes = xgb.DMatrix(X, label=np.arange(300) % 3)
        run(get_loss("softmax", num_class=3), {**BASE, "scale_pos_weight": 2}, classes, 2)
    with pytest.raises(ValueError, match="not a binary loss"):
        run("squared_error", {**BASE, "scale_pos_weight": 2}, d, 2)
    with pytest.raises(ValueError, match="must be a number"):
        run("logistic", {**BASE, "scale_pos_weight": "5"}, d, 2)
    # 1 is XGBoost's default and changes nothing.
    run("logistic", {**BASE, "scale_pos_weight": 1}, d, 2)


def test_base_score_needs_the_objective_the_booster_runs(rng):
    """Without objective= the value's space is a guess: the exp-space Tweedie
    start (the mean) given to XGBRegressor(objective=callable), which reads a
    margin, starts every row at exp(mean) and trains a useless model."""
    X, y = skewed_costs(rng, 600)
    loss = get_loss("tweedie")
    with pytest.raises(ValueError, match=r"needs objective=.*'reg:squarederror' for xgboost.XGBRegressor.*"
                                         r"'binary:logistic' or 'multi:softprob' for xgboost.XGBClassifier.*"
                                         r"here 'reg:tweedie'"):
        gx.base_score(loss, y)
    with pytest.raises(ValueError, match="objective must be one of"):
        gx.base_score(loss, y, objective="reg:nonsense")
    with pytest.raises(ValueError, match="objective must be a built-in objective name"):
        gx.base_score(loss, y, objective=gx.objective(loss))
    assert gx.base_score(loss, y, objective="reg:squarederror") == pytest.approx(np.log(np.mean(y)))
    assert gx.base_score(loss, y, objective="reg:tweedie") == pytest.approx(np.mean(y))


def test_library_metric_is_named_gbm_loss_everywhere(rng):
    """The loss's curve is "gbm_<loss>" in train, cv and an explicit early
    stopping callback: never a built-in metric's name, as on LightGBM's side."""
    loss = get_loss("tweedie")
    X = features(rng, 400)
    y = labels_for(loss, X, rng)
    d = xgb.DMatrix(X, label=y)
    assert gx.metric_name(loss) == gx.metric_name("tweedie") == "gbm_tweedie"
    assert gx.metric(loss).name == gx.metric(loss).__name__ == "gbm_tweedie"
    assert repr(gx.metric(loss)) == "XGBMetric(" + repr(loss) + ", response=False)"
    history: dict = {}
    stop = xgb.callback.EarlyStopping(rounds=3, metric_name=gx.metric_name(loss), data_name="d")
    b = gx.train(loss, {**BASE, "eval_metric": "tweedie-nloglik@1.5"}, d, 6, evals=[(d, "d")],
                 evals_result=history, verbose_eval=False, callbacks=[stop])
    assert list(history["d"]) == ["tweedie-nloglik@1.5", "gbm_tweedie"]
    assert float(b.best_score) == pytest.approx(min(history["d"]["gbm_tweedie"]))
    frame = gx.cv(loss, BASE, d, 2, nfold=2, seed=0)
    assert list(frame.columns) == ["train-gbm_tweedie-mean", "train-gbm_tweedie-std",
                                   "test-gbm_tweedie-mean", "test-gbm_tweedie-std"]


def _poisson_carrier(booster) -> tuple[float, float]:
    """count:poisson's max_delta_step (Hessian) and the trees' (leaf-step cap) in a trained booster."""
    learner = json.loads(booster.save_config())["learner"]
    # XGBoost keeps the parameter as float32.
    return (round(float(learner["objective"]["poisson_regression_param"]["max_delta_step"]), 6),
            round(float(learner["gradient_booster"]["tree_train_param"]["max_delta_step"]), 6))


def test_poisson_carrier_takes_the_loss_max_delta_step(rng):
    """The count:poisson carrier's max_delta_step is the loss's; a different
    value in params is refused (it would change the Hessian XGBoost continues with)."""
    X, y = skewed_costs(rng, 400)
    d = xgb.DMatrix(X, label=np.round(y))
    loss = get_loss("poisson")
    assert _poisson_carrier(gx.train(loss, BASE, d, 1)) == (POISSON_MDS, POISSON_MDS)
    # the loss's own value is accepted in params
    assert _poisson_carrier(gx.train(loss, {**BASE, "max_delta_step": POISSON_MDS}, d, 1)) == (POISSON_MDS,) * 2
    other = 0.3 if POISSON_MDS != 0.3 else 0.2
    for run in (gx.train, gx.cv):
        with pytest.raises(ValueError, match=r"max_delta_step.*conflicts.*get_loss\('poisson', max_delta_step="):
            run(loss, {**BASE, "max_delta_step": other}, d, 1)
    with pytest.raises(ValueError, match="conflicts"):
        gx.XGBRegressor(loss="poisson", max_delta_step=other, **{"n_estimators": 1, "n_jobs": 1}).fit(X, np.round(y))


@needs_poisson_mds
@pytest.mark.parametrize("mds", [0.0, 0.3, 0.7])
def test_poisson_model_is_the_builtins_for_plain_xgboost(mds, rng, tmp_path):
    """gx.train on Poisson(max_delta_step=m) grows count:poisson's model at
    max_delta_step m (0.7: its default), and a saved model, continued by plain
    xgboost.train, trains on as XGBoost's own saved count:poisson model does."""
    loss = get_loss("poisson", max_delta_step=mds)
    X, y = skewed_costs(rng, 600)
    y = np.round(y)
    d = xgb.DMatrix(X, label=y)
    setting = {} if mds == 0.7 else {"max_delta_step": mds}
    start = gx.base_score(loss, y, objective="count:poisson")
    theirs = xgb.train({**BASE, "objective": "count:poisson", "base_score": start, **setting}, d, 5)
    ours = gx.train(loss, BASE, d, 5)
    assert _poisson_carrier(ours) == _poisson_carrier(theirs) == (mds, mds)
    assert_parity(theirs.predict(d), ours.predict(d))
    continued = []
    for name, model in (("ours", ours), ("theirs", theirs)):
        path = tmp_path / f"{name}.json"
        model.save_model(path)
        continued.append(xgb.train(BASE, d, 10, xgb_model=xgb.Booster(model_file=str(path))).predict(d))
    assert_parity(continued[1], continued[0])


@pytest.mark.parametrize(("loss", "exact"), [
    (get_loss("squared_error"), True),
    (get_loss("logistic"), True),
    (get_loss("softmax", num_class=3, hessian_scale="xgboost"), True),
    (get_loss("huber"), False),
    (get_loss("log_cosh"), False),
    (get_loss("focal"), False),
    (get_loss("logistic", label_smoothing=0.1), False),
], ids=str)
def test_plain_continuation_is_the_loss_only_where_the_host_is(loss, exact, rng, tmp_path):
    """Plain xgboost.train continues a reloaded model under the objective it
    names: the loss only where that host's gradients are the loss's."""
    X = features(rng, 500)
    y = labels_for(loss, X, rng)
    d = xgb.DMatrix(X, label=y)
    ours = gx.train(loss, BASE, d, 4)
    path = tmp_path / "model.json"
    ours.save_model(path)
    plain = xgb.train(BASE, d, 6, xgb_model=xgb.Booster(model_file=str(path))).predict(d, output_margin=True)
    continued = gx.train(loss, BASE, d, 6, xgb_model=ours).predict(d, output_margin=True)
    same = np.allclose(plain, continued, rtol=1e-4, atol=1e-4)
    assert same == exact
