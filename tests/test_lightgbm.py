"""LightGBM adapter: parity with LightGBM's built-in objectives, init score,
leaf refit, weights, multiclass layout, model round trips, scikit-learn, Dask."""

from __future__ import annotations

import copy
import pickle
import warnings

import lightgbm as lgb
import numpy as np
import pytest

from gbm_objectives import get_loss
from gbm_objectives import lightgbm as glgb
from gbm_objectives.lightgbm._model_text import _tree_splits
from gbm_objectives.lightgbm._refit import _leaf_index

PARAMS = dict(
    verbose=-1,
    num_threads=1,
    deterministic=True,
    force_col_wise=True,
    num_leaves=15,
    learning_rate=0.1,
    min_data_in_leaf=20,
)
N_TRAIN = 1500


def _rel(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.abs(a - b) / np.maximum(np.abs(b), 1e-12)


def assert_parity(ours: np.ndarray, builtin: np.ndarray, tol: float = 1e-4) -> None:
    """Row-wise agreement on >= 97% of rows and agreement of the means."""
    rel = _rel(np.asarray(ours, float), np.asarray(builtin, float))
    assert np.mean(rel < tol) >= 0.97, f"only {np.mean(rel < tol):.3f} of rows agree; max rel diff {rel.max():.2e}"
    assert _rel(np.mean(ours), np.mean(builtin)) < tol


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(7)
    n = 2000
    X = rng.normal(size=(n, 5))
    mu = np.exp(0.6 * X[:, 0] + 0.4 * X[:, 1] - 0.3 * X[:, 2] * X[:, 3])
    # Compound Poisson-gamma: zero-inflated, right-skewed.
    counts = rng.poisson(mu)
    y_tweedie = np.array([rng.gamma(2.0, 1.0, size=c).sum() for c in counts])
    y_count = rng.poisson(mu).astype(float)
    y_reg = X[:, 0] + 0.5 * X[:, 1] ** 2 + rng.standard_t(3, size=n)
    y_bin = (rng.uniform(size=n) < 1 / (1 + np.exp(-(X[:, 0] - 0.5 * X[:, 1])))).astype(float)
    y_multi = np.digitize(X[:, 0] + 0.7 * X[:, 2] + 0.5 * rng.normal(size=n), [-0.6, 0.4, 1.2]).astype(float)
    y_skew = np.exp(7.0 + 0.6 * X[:, 0] + 0.4 * X[:, 1] * X[:, 2] + 0.8 * rng.normal(size=n))
    w = rng.uniform(0.3, 3.0, size=n)
    return dict(X=X, tweedie=y_tweedie, count=y_count, reg=y_reg, bin=y_bin, multi=y_multi, skew=y_skew, w=w)


def _split(data, key, weighted):
    tr, te = slice(0, N_TRAIN), slice(N_TRAIN, None)
    w = data["w"][tr] if weighted else None
    return data["X"][tr], data[key][tr], w, data["X"][te], data[key][te]


# ---------------------------------------------------------------------------
# Parity with LightGBM's built-in objectives
# ---------------------------------------------------------------------------

PARITY_CASES = [
    ("squared_error", {}, "reg", {"objective": "regression"}),
    ("huber", {"delta": 1.0}, "reg", {"objective": "huber", "alpha": 1.0}),
    ("tweedie", {"power": 1.2}, "tweedie", {"objective": "tweedie", "tweedie_variance_power": 1.2}),
    ("tweedie", {"power": 1.5}, "tweedie", {"objective": "tweedie", "tweedie_variance_power": 1.5}),
    ("tweedie", {"power": 1.8}, "tweedie", {"objective": "tweedie", "tweedie_variance_power": 1.8}),
    # LightGBM's Poisson Hessian is exp(f + poisson_max_delta_step), which must be > 0.
    ("poisson", {"max_delta_step": 0.0}, "count", {"objective": "poisson", "poisson_max_delta_step": 1e-12}),
    # At LightGBM's default poisson_max_delta_step 0.7, the loss's default.
    ("poisson", {}, "count", {"objective": "poisson"}),
    ("logistic", {}, "bin", {"objective": "binary"}),
    ("softmax", {"num_class": 4, "hessian_scale": "lightgbm"}, "multi", {"objective": "multiclass", "num_class": 4}),
]


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("name,loss_params,key,builtin", PARITY_CASES, ids=lambda v: v if isinstance(v, str) else None)
def test_parity_with_builtin(data, name, loss_params, key, builtin, weighted):
    X, y, w, X_te, _ = _split(data, key, weighted)
    loss = get_loss(name, **loss_params)
    rounds = 30
    if name == "huber":
        # LightGBM's huber starts from the weighted mean, not the Huber optimum.
        start = float(np.average(y.astype(np.float32), weights=w))
        ours = glgb.train(loss, PARAMS, lgb.Dataset(X, y, weight=w), rounds, init_score=start)
    else:
        # Same start: LightGBM's boost_from_average equals the loss's best constant here.
        ours = glgb.train(loss, PARAMS, lgb.Dataset(X, y, weight=w), rounds)
    ref = lgb.train({**PARAMS, **builtin}, lgb.Dataset(X, y, weight=w), rounds)
    assert_parity(glgb.predict(ours, X_te, output="margin"), ref.predict(X_te, raw_score=True))
    # Response scale: LightGBM's own transform of its built-in objective.
    assert_parity(glgb.predict(ours, X_te), ref.predict(X_te))


# ---------------------------------------------------------------------------
# Leaf refit for absolute error and quantile losses
# ---------------------------------------------------------------------------


def _lightgbm_start(y, w, alpha):
    """LightGBM's own start for l1 / quantile: its percentile of the float32 labels, as float32."""
    y32 = np.asarray(y, np.float32).astype(np.float64)
    q = glgb.leaf_percentiles(y32, np.zeros(y32.shape[0], dtype=np.int64), alpha, w)[0]
    return float(np.float32(q))


REFIT_CASES = [(0.5, "l1"), (0.75, "quantile"), (0.9, "quantile")]


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("alpha,objective", REFIT_CASES)
def test_refit_reproduces_builtin_l1_and_quantile(data, alpha, objective, weighted):
    X, y, w, X_te, _ = _split(data, "skew", weighted)
    loss = get_loss("absolute_error") if objective == "l1" else get_loss("quantile", alpha=alpha)
    rounds = 60
    ours = glgb.train(loss, PARAMS, lgb.Dataset(X, y, weight=w), rounds, init_score=_lightgbm_start(y, w, alpha))
    ref = lgb.train({**PARAMS, "objective": objective, "alpha": alpha}, lgb.Dataset(X, y, weight=w), rounds)
    ours_pred, ref_pred = glgb.predict(ours, X_te), ref.predict(X_te)
    np.testing.assert_allclose(ours_pred, ref_pred, rtol=1e-9)


def _pinball(y, q, alpha):
    r = y - q
    return float(np.mean(np.maximum(alpha * r, (alpha - 1.0) * r)))


@pytest.mark.parametrize("alpha", [0.5, 0.9])
def test_refit_quality_matches_builtin_on_skewed_target(data, alpha):
    """Default loss settings and start: holdout pinball loss within 1% of the
    built-in (or better); without the refit it is clearly worse."""
    X, y, _, X_te, y_te = _split(data, "skew", False)
    loss = get_loss("absolute_error") if alpha == 0.5 else get_loss("quantile", alpha=alpha)
    objective = "l1" if alpha == 0.5 else "quantile"
    rounds = 100
    ref = lgb.train({**PARAMS, "objective": objective, "alpha": alpha}, lgb.Dataset(X, y), rounds)
    refit = glgb.train(loss, PARAMS, lgb.Dataset(X, y), rounds)
    plain = glgb.train(loss, PARAMS, lgb.Dataset(X, y), rounds, refit_leaves=False)
    ref_loss = _pinball(y_te, ref.predict(X_te), alpha)
    assert _pinball(y_te, glgb.predict(refit, X_te), alpha) <= 1.01 * ref_loss
    assert _pinball(y_te, glgb.predict(plain, X_te), alpha) > _pinball(y_te, glgb.predict(refit, X_te), alpha)


def test_refit_keeps_scores_in_step(data):
    """What metrics and callbacks see during training equals the final model's
    predictions: the refit reaches LightGBM's training and validation scores."""
    X, y, w, X_te, y_te = _split(data, "skew", True)
    loss = get_loss("quantile", alpha=0.8)
    dtrain = lgb.Dataset(X, y, weight=w)
    dvalid = lgb.Dataset(X_te, y_te, reference=dtrain)
    record: dict = {}
    booster = glgb.train(
        loss, PARAMS, dtrain, 25, valid_sets=[dtrain, dvalid], valid_names=["train", "valid"],
        callbacks=[lgb.record_evaluation(record)],
    )
    f32 = np.float32  # LightGBM stores labels and weights in float32
    for name, (Xs, ys, ws) in {"train": (X, y, w.astype(f32).astype(float)), "valid": (X_te, y_te, None)}.items():
        expected = loss.loss(ys.astype(f32), glgb.predict(booster, Xs, output="margin"), ws)
        assert record[name]["gbm_quantile"][-1] == pytest.approx(expected, rel=1e-12)
    # Each round's recorded value is the loss of the model truncated there.
    k = 10
    expected = loss.loss(y_te.astype(f32), glgb.predict(booster, X_te, output="margin", num_iteration=k))
    assert record["valid"]["gbm_quantile"][k - 1] == pytest.approx(expected, rel=1e-12)


def test_refit_with_early_stopping(data):
    X, y, _, X_te, y_te = _split(data, "skew", False)
    dtrain = lgb.Dataset(X, y)
    dvalid = lgb.Dataset(X_te, y_te, reference=dtrain)
    booster = glgb.train(
        "absolute_error", {**PARAMS, "learning_rate": 0.5}, dtrain, 200, valid_sets=[dvalid],
        callbacks=[lgb.early_stopping(5, verbose=False)],
    )
    assert 0 < booster.best_iteration < 200
    best = booster.best_score["valid_0"]["gbm_absolute_error"]
    expected = get_loss("absolute_error").loss(y_te.astype(np.float32), glgb.predict(booster, X_te))
    assert best == pytest.approx(expected, rel=1e-12)


def test_leaf_index_walk_matches_lightgbm(data):
    """The compiled tree walk used by the refit gives LightGBM's pred_leaf, with
    missing values, zeros as missing, float32 and Fortran-ordered input."""
    rng = np.random.default_rng(3)
    X = data["X"].copy()
    X[rng.uniform(size=X.shape) < 0.1] = np.nan
    X[:, 3] = np.where(rng.uniform(size=X.shape[0]) < 0.3, 0.0, X[:, 3])
    y = data["reg"]
    for extra in ({}, {"zero_as_missing": True}, {"use_missing": False}):
        booster = lgb.train({**PARAMS, "objective": "regression", **extra}, lgb.Dataset(X, y), 6)
        for A in (X, X.astype(np.float32), np.asfortranarray(X)):
            for it in range(6):
                walked = _leaf_index(booster, A, it, {}, _tree_splits(booster, it))
                expected = booster.predict(A, start_iteration=it, num_iteration=1, pred_leaf=True).reshape(-1)
                np.testing.assert_array_equal(walked, expected)
    # Without parsed splits (categorical trees, other inputs): LightGBM's own pred_leaf.
    np.testing.assert_array_equal(
        _leaf_index(booster, X, 2, {}, None), _leaf_index(booster, X, 2, {}, _tree_splits(booster, 2))
    )


def _stable_weighted_percentile(values, weights, alpha):
    """Straightforward LightGBM ``WeightedPercentileFun`` (reference for the compiled one)."""
    if values.shape[0] <= 1:
        return values[0]
    order = np.argsort(values, kind="stable")
    v, cdf = values[order], np.cumsum(weights[order])
    threshold = cdf[-1] * alpha
    pos = min(int(np.searchsorted(cdf, threshold, side="right")), v.shape[0] - 1)
    if pos == 0 or pos == v.shape[0] - 1:
        return v[pos]
    step = cdf[pos] - cdf[pos - 1]
    return (threshold - cdf[pos - 1]) / step * (v[pos] - v[pos - 1]) + v[pos - 1] if step >= 1.0 else v[pos - 1]


def test_leaf_percentiles_definition():
    rng = np.random.default_rng(5)
    for m in (1, 2, 3, 10, 57):
        r = rng.normal(size=m)
        for alpha in (0.05, 0.5, 0.9):
            got = glgb.leaf_percentiles(r, np.zeros(m, dtype=np.int64), alpha)[0]
            assert got == pytest.approx(np.quantile(r, float(np.float32(alpha))), rel=1e-12, abs=1e-15)
    # Per leaf, without weights: the median at alpha 0.5; an empty leaf gives NaN.
    r = rng.normal(size=200)
    leaf = rng.integers(0, 4, size=200)
    out = glgb.leaf_percentiles(r, leaf, 0.5, n_leaves=5)
    for j in range(4):
        assert out[j] == pytest.approx(np.median(r[leaf == j]), rel=1e-12)
    assert np.isnan(out[4])
    weighted = glgb.leaf_percentiles(r, leaf, 0.5, np.full(200, 0.25))
    for j in range(4):
        assert r[leaf == j].min() <= weighted[j] <= r[leaf == j].max()
    # Weighted with many ties: the CDF follows a stable sort (ties in row order).
    r = np.round(rng.normal(size=3000), 1)
    leaf = rng.integers(0, 7, size=3000)
    w = rng.uniform(0.2, 2.5, size=3000)
    for alpha in (0.3, 0.5, 0.9):
        got = glgb.leaf_percentiles(r, leaf, alpha, w)
        for j in range(7):
            assert got[j] == _stable_weighted_percentile(r[leaf == j], w[leaf == j], float(np.float32(alpha)))
    with pytest.raises(ValueError, match="alpha"):
        glgb.leaf_percentiles(r, leaf, 1.5)
    with pytest.raises(ValueError, match="leaf"):
        glgb.leaf_percentiles(r, leaf[:10], 0.5)


# ---------------------------------------------------------------------------
# Objective and metric callables
# ---------------------------------------------------------------------------


def test_objective_weights_groups_and_dtype(data, monkeypatch):
    X, y, w, _, _ = _split(data, "tweedie", True)
    loss = get_loss("tweedie", power=1.5)
    ds = lgb.Dataset(X, y, weight=w).construct()
    obj = glgb.objective(loss)
    margin = np.random.default_rng(0).normal(size=N_TRAIN)
    g_ref, h_ref = loss.grad_hess(y.astype(np.float32), margin, w.astype(np.float32))
    g_new, _ = loss.grad_hess(2.0 * y.astype(np.float32), margin, w.astype(np.float32))
    calls = []
    original = type(loss).check_labels
    monkeypatch.setattr(type(loss), "check_labels", lambda self, y: calls.append(1) or original(self, y))
    grad, hess = obj(margin, ds)
    assert grad.dtype == np.float32 and hess.dtype == np.float32 and grad.shape == (N_TRAIN,)
    np.testing.assert_array_equal(grad, g_ref)
    np.testing.assert_array_equal(hess, h_ref)
    # Buffers are reused round after round, and the Dataset is validated once.
    grad2, _ = obj(margin + 0.1, ds)
    assert grad2 is grad and len(calls) == 1
    # New labels (LightGBM bumps the Dataset's version) are read again.
    ds.set_label(2.0 * y)
    np.testing.assert_array_equal(obj(margin, ds)[0], g_new)
    assert len(calls) == 2
    # Row curvature: one unit of Hessian per row, times its weight.
    _, hess_rows = glgb.LightGBMObjective(loss, row_curvature=True)(margin, ds)
    np.testing.assert_array_equal(hess_rows, w.astype(np.float32))
    # Query groups reach a grouped loss.
    infonce = get_loss("infonce", temperature=0.5)
    sizes = np.full(N_TRAIN // 10, 10)
    yg = np.zeros(N_TRAIN)
    yg[::10] = 1.0
    grad_g, hess_g = glgb.objective(infonce)(margin, lgb.Dataset(X, yg, group=sizes).construct())
    g_ref, h_ref = infonce.grad_hess(yg.astype(np.float32), margin, group=sizes)
    np.testing.assert_allclose(grad_g, g_ref, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(hess_g, h_ref, rtol=1e-6, atol=1e-7)


def test_objective_multiclass_layout_is_class_major(data):
    X, y, _, _, _ = _split(data, "multi", False)
    loss = get_loss("softmax", num_class=4)
    ds = lgb.Dataset(X, y).construct()
    # LightGBM 4 passes (n, k) views of its class-major score buffer.
    flat = np.random.default_rng(1).normal(size=N_TRAIN * 4)
    preds = flat.reshape(N_TRAIN, 4, order="F")
    grad, hess = glgb.objective(loss)(preds, ds)
    assert grad.shape == (N_TRAIN, 4) and grad.dtype == np.float32
    g_ref, h_ref = loss.grad_hess(y, np.ascontiguousarray(preds))
    np.testing.assert_allclose(grad, g_ref, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(hess, h_ref, rtol=1e-6, atol=1e-7)
    # LightGBM flattens with ravel(order="F"): no copy of our buffers.
    assert np.shares_memory(grad.ravel(order="F"), grad)


def test_objective_survives_deepcopy_and_pickle(data):
    X, y, _, _, _ = _split(data, "count", False)
    obj = glgb.objective("poisson")
    obj(np.zeros(N_TRAIN), lgb.Dataset(X, y).construct())
    for clone in (copy.deepcopy(obj), pickle.loads(pickle.dumps(obj))):
        assert clone.loss == obj.loss
        grad, _ = clone(np.zeros(N_TRAIN), lgb.Dataset(X, y).construct())
        np.testing.assert_allclose(grad, 1.0 - y, rtol=1e-6)
    # Plain lightgbm.train with the objective: LightGBM's default start 0, no refit.
    params = {**PARAMS, "objective": glgb.objective("poisson"), "metric": "None"}
    plain = lgb.train(params, lgb.Dataset(X, y), 10, valid_sets=[lgb.Dataset(X, y)], feval=glgb.metric("poisson"))
    ours = glgb.train("poisson", PARAMS, lgb.Dataset(X, y), 10, init_score=0.0)
    np.testing.assert_allclose(plain.predict(X, raw_score=True), glgb.predict(ours, X, output="margin"), rtol=1e-12)


def test_metric_value(data):
    X, y, w, _, _ = _split(data, "tweedie", True)
    loss = get_loss("tweedie", power=1.3)
    ds = lgb.Dataset(X, y, weight=w).construct()
    margin = np.full(N_TRAIN, 0.2)
    name, value, higher_better = glgb.metric(loss)(margin, ds)
    assert name == "gbm_tweedie" and higher_better is False
    expected = loss.loss(y.astype(np.float32), margin, w.astype(np.float32).astype(float))
    assert value == pytest.approx(expected, rel=1e-12)
    assert glgb.metric(loss, name="deviance")(margin, ds) == ("deviance", value, False)
    with pytest.raises(ValueError, match="name"):
        glgb.metric(loss, name="")
    # response=True: predictions of a built-in objective, mapped back through the link.
    assert glgb.metric(loss, response=True)(np.exp(margin), ds)[1] == pytest.approx(value, rel=1e-12)
    with pytest.raises(ValueError, match="response"):
        glgb.metric(loss, response="yes")


def test_library_and_builtin_metrics_never_share_a_name(data):
    X, y, _, _, _ = _split(data, "tweedie", False)
    loss = get_loss("tweedie", power=1.5)
    record: dict = {}
    ds = lgb.Dataset(X, y)
    params = {**PARAMS, "objective": "tweedie", "tweedie_variance_power": 1.5, "metric": "tweedie"}
    booster = lgb.train(params, ds, 5, valid_sets=[ds], valid_names=["train"], feval=glgb.metric(loss, response=True),
                        callbacks=[lgb.record_evaluation(record)])
    assert sorted(record["train"]) == ["gbm_tweedie", "tweedie"]
    assert all(len(v) == 5 for v in record["train"].values())
    # The library's metric of the built-in's predictions equals the loss at the built-in's margins.
    margin = booster.predict(X, raw_score=True)
    assert record["train"]["gbm_tweedie"][-1] == pytest.approx(loss.loss(y.astype(np.float32), margin), rel=1e-6)


def test_builtin_metrics_on_margins_are_refused(data):
    X, y, _, _, _ = _split(data, "tweedie", False)
    with pytest.raises(ValueError, match="raw margins of tweedie"):
        glgb.train("tweedie", {**PARAMS, "metric": "l1"}, lgb.Dataset(X, y), 2)
    with pytest.raises(ValueError, match="raw margins of poisson"):
        glgb.LGBMRegressor(loss="poisson", verbose=-1).fit(X, y, eval_set=[(X, y)], eval_metric="l1")
    with pytest.raises(ValueError, match="raw margins of logistic"):
        glgb.LGBMClassifier(verbose=-1, metric="auc").fit(X, (y > 1).astype(int))
    # Identity link: margins are the response, LightGBM's metric is right.
    record: dict = {}
    ds = lgb.Dataset(X, y)
    booster = glgb.train("squared_error", {**PARAMS, "metric": "l1"}, ds, 3, valid_sets=[ds],
                         callbacks=[lgb.record_evaluation(record)])
    mae = np.mean(np.abs(y - booster.predict(X)))
    assert record["training"]["l1"][-1] == pytest.approx(mae, rel=1e-6)


def _one_positive_per_group(n_groups: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Features, 0/1 labels with one positive per query group (the best first feature), group sizes."""
    rng = np.random.default_rng(11)
    sizes = rng.integers(5, 15, size=n_groups)
    n = int(sizes.sum())
    X = rng.normal(size=(n, 4))
    y = np.zeros(n)
    starts = np.concatenate(([0], np.cumsum(sizes)[:-1]))
    for s, m in zip(starts, sizes, strict=True):
        y[s + int(np.argmax(X[s : s + m, 0] + 0.3 * rng.normal(size=m)))] = 1.0
    return X, y, sizes


def test_infonce_with_query_groups():
    X, y, sizes = _one_positive_per_group(60)
    loss = get_loss("infonce", temperature=0.5)
    ds = lgb.Dataset(X, y, group=sizes)
    record: dict = {}
    booster = glgb.train(
        loss, {**PARAMS, "min_data_in_leaf": 5}, ds, 20, valid_sets=[ds], callbacks=[lgb.record_evaluation(record)]
    )
    values = record["training"]["gbm_infonce"]
    assert values[-1] < 0.8 * values[0]
    p = glgb.predict(booster, X, group=sizes)
    np.testing.assert_allclose(np.add.reduceat(p, np.cumsum(sizes) - sizes), 1.0)


# ---------------------------------------------------------------------------
# Start margin and the model
# ---------------------------------------------------------------------------


def test_init_score_is_in_the_model(data, tmp_path):
    X, y, w, X_te, _ = _split(data, "tweedie", True)
    loss = get_loss("tweedie", power=1.5)
    dtrain = lgb.Dataset(X, y, weight=w)
    booster = glgb.train(loss, PARAMS, dtrain, 15)
    start = loss.init_score(y.astype(np.float32), w.astype(np.float32))
    # A model that cannot split holds only the start.
    flat = glgb.train(loss, {**PARAMS, "min_gain_to_split": 1e30}, lgb.Dataset(X, y, weight=w), 3)
    np.testing.assert_allclose(flat.predict(X_te, raw_score=True), start, rtol=1e-12)
    # The training Dataset is left as it was: LightGBM's built-in trains on it unchanged.
    assert dtrain.get_init_score() is None
    expected = glgb.predict(booster, X_te)
    path = tmp_path / "model.txt"
    booster.save_model(path)
    copies = [
        lgb.Booster(model_file=path),
        lgb.Booster(model_str=booster.model_to_string()),
        pickle.loads(pickle.dumps(booster)),
        copy.deepcopy(booster),
    ]
    for other in copies:
        # No loss= needed: it is recorded in the model.
        np.testing.assert_allclose(glgb.predict(other, X_te), expected, rtol=1e-12)
    assert glgb.booster_loss(copies[0]) == loss
    # The model names LightGBM's tweedie objective: plain predict gives the response scale.
    for other in [booster, *copies]:
        np.testing.assert_allclose(other.predict(X_te), expected, rtol=1e-12)
        np.testing.assert_allclose(other.predict(X_te, raw_score=True), np.log(expected), rtol=1e-12)


def test_multiclass_start_in_every_class_tree(data):
    X, y, _, X_te, _ = _split(data, "multi", False)
    loss = get_loss("softmax", num_class=4)
    flat = glgb.train(loss, {**PARAMS, "min_gain_to_split": 1e30}, lgb.Dataset(X, y), 1)
    np.testing.assert_allclose(flat.predict(X_te, raw_score=True)[0], loss.init_score(y), rtol=1e-12)
    p = glgb.predict(glgb.train(loss, PARAMS, lgb.Dataset(X, y), 10), X_te)
    assert p.shape == (X_te.shape[0], 4)
    np.testing.assert_allclose(p.sum(axis=1), 1.0)


def test_validation_sets_start_from_the_same_margin(data):
    X, y, _, X_te, y_te = _split(data, "tweedie", False)
    loss = get_loss("tweedie", power=1.5)
    dtrain = lgb.Dataset(X, y)
    dvalid = lgb.Dataset(X_te, y_te, reference=dtrain)
    record: dict = {}
    booster = glgb.train(loss, PARAMS, dtrain, 5, valid_sets=[dvalid], callbacks=[lgb.record_evaluation(record)])
    expected = loss.loss(y_te.astype(np.float32), glgb.predict(booster, X_te, output="margin"))
    assert record["valid_0"]["gbm_tweedie"][-1] == pytest.approx(expected, rel=1e-12)
    assert dvalid.get_init_score() is None


def test_dataset_init_score_is_kept_and_feval_follows_the_loss_metric(data):
    X, y, _, _, _ = _split(data, "tweedie", False)
    loss = get_loss("tweedie", power=1.5)
    offsets = np.log(np.random.default_rng(2).uniform(0.5, 2.0, N_TRAIN))
    params = {**PARAMS, "min_gain_to_split": 1e30}
    record: dict = {}
    calls = []

    def extra(preds, ds):
        calls.append(1)
        return "extra", 0.0, False

    ds = lgb.Dataset(X, y, init_score=offsets)
    flat = glgb.train(loss, params, ds, 2, valid_sets=[ds], feval=extra, callbacks=[lgb.record_evaluation(record)])
    # Training starts from the Dataset's per-row offsets: no init score is added to the model.
    np.testing.assert_allclose(flat.predict(X, raw_score=True), 0.0, atol=1e-12)
    assert list(record["training"]) == ["gbm_tweedie", "extra"] and len(calls) == 2
    expected = loss.loss(y.astype(np.float32), offsets)
    assert record["training"]["gbm_tweedie"][-1] == pytest.approx(expected, rel=1e-9)
    with pytest.raises(ValueError, match="not both"):
        glgb.train(loss, PARAMS, lgb.Dataset(X, y, init_score=offsets), 2, init_score=0.5)


def test_predict_options(data):
    X, y, _, X_te, _ = _split(data, "bin", False)
    booster = glgb.train("logistic", PARAMS, lgb.Dataset(X, y), 10)
    margin = glgb.predict(booster, X_te, output="margin")
    np.testing.assert_allclose(glgb.predict(booster, X_te), 1 / (1 + np.exp(-margin)), rtol=1e-12)
    np.testing.assert_allclose(glgb.predict(booster, X_te, loss="focal"), 1 / (1 + np.exp(-margin)), rtol=1e-12)
    plain = lgb.train({**PARAMS, "objective": "binary"}, lgb.Dataset(X, y), 3)
    # A plain model whose objective is a library loss: that loss.
    assert glgb.booster_loss(plain) == get_loss("logistic")
    np.testing.assert_allclose(glgb.predict(plain, X_te), plain.predict(X_te), rtol=1e-12)
    plain = lgb.train({**PARAMS, "objective": "fair"}, lgb.Dataset(X, y), 3)
    with pytest.raises(ValueError, match="loss="):
        glgb.predict(plain, X_te)
    with pytest.raises(ValueError, match="output"):
        glgb.predict(booster, X_te, output="probability")
    with pytest.raises(ValueError, match="raw_score"):
        glgb.predict(booster, X_te, raw_score=True)


# ---------------------------------------------------------------------------
# Errors before training
# ---------------------------------------------------------------------------


def test_errors_before_training(data):
    X, y, _, _, _ = _split(data, "multi", False)
    with pytest.raises(ValueError, match="num_class"):
        glgb.train(get_loss("softmax", num_class=4), {**PARAMS, "num_class": 3}, lgb.Dataset(X, y), 2)
    with pytest.raises(ValueError, match="num_class"):
        glgb.train("squared_error", {**PARAMS, "num_class": 3}, lgb.Dataset(X, y), 2)
    with pytest.raises(ValueError, match=r"labels in \[0, 3\)"):
        glgb.train(get_loss("softmax", num_class=3), PARAMS, lgb.Dataset(X, y), 2)
    with pytest.raises(ValueError, match="y >= 0"):
        glgb.train("tweedie", PARAMS, lgb.Dataset(X, y - 2.0), 2)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        glgb.train("logistic", PARAMS, lgb.Dataset(X, y), 2)
    with pytest.raises(ValueError, match="query groups"):
        glgb.train("infonce", PARAMS, lgb.Dataset(X, (y == 1).astype(float)), 2)
    with pytest.raises(ValueError, match="objective"):
        glgb.train("squared_error", {**PARAMS, "objective": "regression"}, lgb.Dataset(X, y), 2)
    with pytest.raises(ValueError, match="init_score"):
        glgb.train(get_loss("softmax", num_class=4), PARAMS, lgb.Dataset(X, y), 2, init_score=0.5)
    with pytest.raises(ValueError, match="metric"):
        glgb.train("absolute_error", {**PARAMS, "metric": "l1"}, lgb.Dataset(X, y), 2)
    freed = lgb.Dataset(X, y).construct()
    with pytest.raises(ValueError, match="free_raw_data"):
        glgb.train("absolute_error", PARAMS, freed, 2)
    with pytest.raises(ValueError, match="gbdt"):
        glgb.train("absolute_error", {**PARAMS, "boosting": "dart"}, lgb.Dataset(X, y), 2)
    with pytest.raises(ValueError, match="linear_tree"):
        glgb.train("squared_error", {**PARAMS, "linear_tree": True}, lgb.Dataset(X, y), 2)
    with pytest.raises(ValueError, match="refit_leaves"):
        glgb.train("absolute_error", PARAMS, lgb.Dataset(X, y), 2, refit_leaves="no")
    # The plain objective without num_class: a clear error at the first round.
    with pytest.raises(ValueError, match="num_class"):
        lgb.train({**PARAMS, "objective": glgb.objective(get_loss("softmax", num_class=4))}, lgb.Dataset(X, y), 2)


# ---------------------------------------------------------------------------
# scikit-learn estimators
# ---------------------------------------------------------------------------

SK = dict(
    n_estimators=30, num_leaves=15, learning_rate=0.1, verbose=-1, n_jobs=1, deterministic=True, force_col_wise=True
)


def test_regressor_honours_weights_and_matches_train(data):
    from sklearn.base import clone

    X, y, w, X_te, _ = _split(data, "tweedie", True)
    model = glgb.LGBMRegressor(loss="tweedie", loss_params={"power": 1.5}, **SK).fit(X, y, sample_weight=w)
    booster = glgb.train(get_loss("tweedie", power=1.5), PARAMS, lgb.Dataset(X, y, weight=w), 30)
    # Same model up to float32 vs float64 labels in the gradient.
    np.testing.assert_allclose(model.predict(X_te), glgb.predict(booster, X_te), rtol=1e-6)
    unweighted = glgb.LGBMRegressor(loss="tweedie", loss_params={"power": 1.5}, **SK).fit(X, y)
    assert np.max(_rel(unweighted.predict(X_te), model.predict(X_te))) > 1e-2
    np.testing.assert_allclose(model.predict(X_te, raw_score=True), np.log(model.predict(X_te)), rtol=1e-12)
    twin = clone(model)
    assert twin.get_params()["loss_params"] == {"power": 1.5}
    restored = pickle.loads(pickle.dumps(model))
    np.testing.assert_allclose(restored.predict(X_te), model.predict(X_te))


def test_regressor_refit_and_eval_metric(data):
    X, y, _, X_te, y_te = _split(data, "skew", False)
    model = glgb.LGBMRegressor(loss="quantile", loss_params={"alpha": 0.9}, **SK)
    model.fit(X, y, eval_X=(X_te,), eval_y=(y_te,))
    recorded = model.evals_result_["valid_0"]["gbm_quantile"][-1]
    expected = get_loss("quantile", alpha=0.9).loss(y_te.astype(np.float32), model.predict(X_te))
    assert recorded == pytest.approx(expected, rel=1e-12)
    ref = lgb.LGBMRegressor(objective="quantile", alpha=0.9, **SK).fit(X, y)
    assert _pinball(y_te, model.predict(X_te), 0.9) <= 1.01 * _pinball(y_te, ref.predict(X_te), 0.9)


def test_classifier_probabilities_match_builtin(data):
    X, y, w, X_te, _ = _split(data, "bin", True)
    labels = np.array(["no", "yes"])[y.astype(int)]
    ours = glgb.LGBMClassifier(**SK).fit(X, labels, sample_weight=w)
    ref = lgb.LGBMClassifier(**SK).fit(X, labels, sample_weight=w)
    assert_parity(ours.predict_proba(X_te)[:, 1], ref.predict_proba(X_te)[:, 1], tol=1e-6)
    assert set(ours.predict(X_te)) <= {"no", "yes"}
    np.testing.assert_array_equal(ours.predict(X_te), ref.predict(X_te))

    Xm, ym, _, Xm_te, _ = _split(data, "multi", False)
    ours = glgb.LGBMClassifier(loss="softmax", loss_params={"hessian_scale": "lightgbm"}, **SK).fit(Xm, ym)
    ref = lgb.LGBMClassifier(**SK).fit(Xm, ym)
    np.testing.assert_allclose(ours.predict_proba(Xm_te), ref.predict_proba(Xm_te), rtol=1e-6, atol=1e-9)


def test_classifier_class_weight_reaches_the_gradients(data):
    from sklearn.utils.class_weight import compute_sample_weight

    X, y, _, X_te, _ = _split(data, "bin", False)
    weights = {0.0: 1.0, 1.0: 3.0}
    balanced = glgb.LGBMClassifier(class_weight=weights, **SK).fit(X, y)
    as_rows = glgb.LGBMClassifier(**SK).fit(X, y, sample_weight=compute_sample_weight(weights, y))
    plain = glgb.LGBMClassifier(**SK).fit(X, y)
    np.testing.assert_allclose(balanced.predict_proba(X_te), as_rows.predict_proba(X_te), rtol=1e-6)
    np.testing.assert_allclose(balanced.init_score_, as_rows.init_score_, rtol=1e-6)
    assert balanced.predict_proba(X_te)[:, 1].mean() > plain.predict_proba(X_te)[:, 1].mean() + 0.05


def test_classifier_focal_probabilities(data):
    X, y, _, X_te, _ = _split(data, "bin", False)
    model = glgb.LGBMClassifier(loss="focal", loss_params={"gamma": 2.0}, **SK).fit(X, y.astype(int))
    p = model.predict_proba(X_te)
    assert p.shape == (X_te.shape[0], 2)
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    assert np.all((p > 0) & (p < 1))
    assert np.mean(model.predict(X_te) == data["bin"][N_TRAIN:]) > 0.65
    Xm, ym, _, Xm_te, _ = _split(data, "multi", False)
    multi = glgb.LGBMClassifier(loss="softmax_focal", **SK).fit(Xm, ym)
    np.testing.assert_allclose(multi.predict_proba(Xm_te).sum(axis=1), 1.0)
    with pytest.raises(ValueError, match="binary loss"):
        glgb.LGBMClassifier(loss="logistic", **SK).fit(Xm, ym)
    with pytest.raises(ValueError, match="loss="):
        glgb.LGBMClassifier(objective="binary", **SK).fit(X, y)


# ---------------------------------------------------------------------------
# Dask
# ---------------------------------------------------------------------------


@pytest.mark.dask
def test_dask_regressor_matches_single_machine(data):
    pytest.importorskip("distributed")
    import dask.array as da
    from distributed import Client, LocalCluster

    X, y, w = data["X"], data["tweedie"], data["w"]
    kw = dict(n_estimators=30, num_leaves=15, learning_rate=0.1, verbose=-1, deterministic=True, force_col_wise=True)
    loss = get_loss("tweedie", power=1.5)
    local = glgb.LGBMRegressor(loss=loss, n_jobs=1, **kw).fit(X, y, sample_weight=w)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
            with Client(cluster) as client:
                dX = da.from_array(X, chunks=(500, X.shape[1]))
                dy = da.from_array(y, chunks=500)
                dw = da.from_array(w, chunks=500)
                model = glgb.DaskLGBMRegressor(loss=loss, client=client, **kw).fit(dX, dy, sample_weight=dw)
                pred = model.predict(dX).compute()
    # The global init score, not one per worker.
    np.testing.assert_allclose(model.init_score_, local.init_score_, rtol=1e-12)
    q = local.predict(X)
    assert np.corrcoef(np.log(pred), np.log(q))[0, 1] > 0.98
    dev_dask, dev_local = loss.loss(y, np.log(pred), w), loss.loss(y, np.log(q), w)
    dev_const = loss.loss(y, np.full(y.shape[0], float(local.init_score_[0])), w)
    assert dev_dask < 0.8 * dev_const
    assert dev_dask == pytest.approx(dev_local, rel=0.05)
    np.testing.assert_allclose(model.to_local().predict(X[:50]), pred[:50], rtol=1e-12)


# ---------------------------------------------------------------------------
# Models speak the response scale in plain LightGBM
# ---------------------------------------------------------------------------

HOST_CASES = [
    ("tweedie", {"power": 1.3}, "tweedie", "tweedie"),
    ("poisson", {}, "count", "poisson"),
    ("squared_error", {}, "reg", "regression"),
    ("quantile", {"alpha": 0.3}, "reg", "quantile"),
    ("logistic", {}, "bin", "binary sigmoid:1"),
    ("focal", {"gamma": 2.0}, "bin", "cross_entropy"),
    ("softmax", {"num_class": 4}, "multi", "multiclass num_class:4"),
]


@pytest.mark.parametrize("name, loss_params, key, objective", HOST_CASES)
def test_model_carries_a_real_objective(data, tmp_path, name, loss_params, key, objective):
    import subprocess
    import sys

    X, y, _, X_te, _ = _split(data, key, False)
    loss = get_loss(name, **loss_params)
    booster = glgb.train(loss, PARAMS, lgb.Dataset(X, y, free_raw_data=False), 8)
    expected = glgb.predict(booster, X_te)
    np.testing.assert_allclose(booster.predict(X_te), expected, rtol=1e-10)
    assert booster.dump_model()["objective"] == objective
    np.testing.assert_allclose(glgb.predict(booster, X_te, output="margin"), booster.predict(X_te, raw_score=True))
    # A fresh process with plain LightGBM (no gbm_objectives on the path) predicts the response scale.
    path = tmp_path / "model.txt"
    booster.save_model(str(path))
    np.save(tmp_path / "X.npy", X_te)
    code = (
        "import sys, numpy as np, lightgbm as lgb; assert 'gbm_objectives' not in sys.modules; "
        f"b = lgb.Booster(model_file={str(path)!r}); "
        f"np.save({str(tmp_path / 'p.npy')!r}, b.predict(np.load({str(tmp_path / 'X.npy')!r})))"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=str(tmp_path), capture_output=True)
    np.testing.assert_allclose(np.load(tmp_path / "p.npy"), expected, rtol=1e-10)
    # The record survives a load/save round trip by LightGBM itself.
    again = lgb.Booster(model_file=str(path))
    again.save_model(str(tmp_path / "again.txt"))
    assert glgb.booster_loss(lgb.Booster(model_file=str(tmp_path / "again.txt"))) == loss
    # booster.params name that objective: reusing them trains, continuing from the model.
    assert booster.params["objective"] == objective.split(" ")[0]
    reuse = {k: v for k, v in booster.params.items() if k != "num_iterations"}
    more = lgb.train(reuse, lgb.Dataset(X, y), 2, init_model=booster)
    assert more.current_iteration() == 10
    np.testing.assert_allclose(more.predict(X_te, num_iteration=8), expected, rtol=1e-10)
    # LightGBM's refit has an objective to work with.
    refit = booster.refit(X, y, decay_rate=1.0)
    np.testing.assert_allclose(refit.predict(X_te), expected, rtol=1e-10)


def test_kept_training_booster_carries_objective_and_record(data, tmp_path):
    X, y, _, X_te, _ = _split(data, "tweedie", False)
    loss = get_loss("tweedie", power=1.3)
    booster = glgb.train(loss, PARAMS, lgb.Dataset(X, y, free_raw_data=False), 5, keep_training_booster=True)
    expected = glgb.predict(booster, X_te)
    np.testing.assert_allclose(booster.predict(X_te), expected, rtol=1e-10)
    path = tmp_path / "kept.txt"
    booster.save_model(str(path))
    loaded = lgb.Booster(model_file=str(path))
    assert glgb.booster_loss(loaded) == loss and loaded.dump_model()["objective"] == "tweedie"
    np.testing.assert_allclose(loaded.predict(X_te), expected, rtol=1e-10)
    assert glgb.booster_loss(pickle.loads(pickle.dumps(booster))) == loss
    # Training on with the library's objective still works (LightGBM then drops the objective again).
    booster.update(fobj=glgb.objective(loss))
    assert booster.current_iteration() == 6


def test_continuation_with_init_model_of_a_library_model(data):
    X, y, _, X_te, _ = _split(data, "tweedie", False)
    loss = get_loss("tweedie", power=1.5)
    first = glgb.train(loss, PARAMS, lgb.Dataset(X, y), 5)
    cont = glgb.train(loss, PARAMS, lgb.Dataset(X, y), 5, init_model=first)
    plain = lgb.train({**PARAMS, "objective": "tweedie", "tweedie_variance_power": 1.5}, lgb.Dataset(X, y), 10)
    assert cont.current_iteration() == 10
    assert_parity(cont.predict(X_te), plain.predict(X_te))


# ---------------------------------------------------------------------------
# Losses as scikit-learn parameters
# ---------------------------------------------------------------------------


def test_grid_search_over_loss_parameters(data):
    from sklearn.base import clone
    from sklearn.model_selection import GridSearchCV

    X, y = data["X"][:600], data["tweedie"][:600]
    kw = dict(verbose=-1, n_estimators=15, n_jobs=1)
    est = glgb.LGBMRegressor(loss=get_loss("tweedie", power=1.5), **kw)
    assert est.get_params(deep=True)["loss__power"] == 1.5
    copy_ = clone(est)
    assert copy_.loss == est.loss and copy_.loss is not est.loss
    copy_.set_params(loss__power=1.2)
    assert copy_.loss.power == 1.2 and est.loss.power == 1.5
    grid = GridSearchCV(est, {"loss__power": [1.1, 1.9]}, cv=2).fit(X, y)
    scores = grid.cv_results_["mean_test_score"]
    assert scores[0] != scores[1]
    assert grid.best_estimator_.loss_ == get_loss("tweedie", power=grid.best_params_["loss__power"])
    # The same grid through loss_params: the same results.
    named = glgb.LGBMRegressor(loss="tweedie", loss_params={"power": 1.5}, **kw)
    grid2 = GridSearchCV(named, {"loss_params__power": [1.1, 1.9]}, cv=2).fit(X, y)
    np.testing.assert_allclose(grid2.cv_results_["mean_test_score"], scores)
    assert grid2.best_estimator_.loss_ == grid.best_estimator_.loss_


def test_nested_loss_parameters_are_validated():
    est = glgb.LGBMRegressor(loss=get_loss("tweedie", power=1.5))
    with pytest.raises(ValueError, match="nope"):
        est.set_params(loss__nope=1)
    with pytest.raises(ValueError):
        est.set_params(loss__power=7.0)
    assert est.loss.power == 1.5
    with pytest.raises(ValueError, match="only loss__<name> and loss_params__<name>"):
        est.set_params(booster__depth=3)
    with pytest.raises(ValueError, match="needs a Loss object"):
        glgb.LGBMRegressor(loss="tweedie").set_params(loss__power=1.2)
    with pytest.raises(ValueError, match="nope"):
        glgb.LGBMRegressor(loss="tweedie").set_params(loss_params__nope=1.2)
    clf = glgb.LGBMClassifier(loss="softmax").set_params(loss_params__label_smoothing=0.1)
    assert clf.loss_params == {"label_smoothing": 0.1}


# ---------------------------------------------------------------------------
# Cross-validation
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, loss_params, key", [("tweedie", {"power": 1.5}, "tweedie"), ("huber", {"delta": 1.0}, "reg")]
)
def test_cv_matches_train_on_every_fold(data, name, loss_params, key):
    X, y, w = data["X"][:900], data[key][:900], data["w"][:900]
    loss = get_loss(name, **loss_params)
    full = lgb.Dataset(X, y, weight=w, free_raw_data=False)
    result = glgb.cv(loss, PARAMS, full, 8, nfold=3, return_cvbooster=True, seed=4)
    metric = glgb.metric_name(loss)
    assert sorted(result) == ["cvbooster", f"valid {metric}-mean", f"valid {metric}-stdv"]
    assert len(result[f"valid {metric}-mean"]) == 8
    # lgb.cv's folds (no stratification for regression losses), trained one by one.
    order = np.random.RandomState(4).permutation(X.shape[0])
    tests = np.array_split(order, 3)
    ref = lgb.Dataset(X, y, weight=w, free_raw_data=False).construct()
    values = []
    for k, (test, booster) in enumerate(zip(tests, result["cvbooster"].boosters, strict=True)):
        train_idx = np.sort(np.concatenate([tests[j] for j in range(3) if j != k]))
        test = np.sort(test)
        record: dict = {}
        manual = glgb.train(
            loss, PARAMS, ref.subset(train_idx), 8, valid_sets=[ref.subset(test)], valid_names=["valid"],
            refit_leaves=False, callbacks=[lgb.record_evaluation(record)],
        )
        values.append(record["valid"][metric][-1])
        np.testing.assert_allclose(booster.predict(X[test]), manual.predict(X[test]), rtol=1e-9)
        assert glgb.booster_loss(booster) == loss
    assert result[f"valid {metric}-mean"][-1] == pytest.approx(np.mean(values), rel=1e-9)
    assert result[f"valid {metric}-stdv"][-1] == pytest.approx(np.std(values), rel=1e-6)


def test_cv_fold_starts_differ_from_a_global_start(data):
    X, y = data["X"][:300], data["tweedie"][:300]
    loss = get_loss("tweedie", power=1.5)
    flat = {**PARAMS, "min_gain_to_split": 1e30}
    result = glgb.cv(loss, flat, lgb.Dataset(X, y), 1, nfold=3, return_cvbooster=True, seed=1)
    order = np.random.RandomState(1).permutation(300)
    tests = np.array_split(order, 3)
    for k, booster in enumerate(result["cvbooster"].boosters):
        train_idx = np.concatenate([tests[j] for j in range(3) if j != k])
        start = loss.init_score(y[train_idx].astype(np.float32))
        np.testing.assert_allclose(booster.predict(X[:3], raw_score=True), start, rtol=1e-12)


def test_cv_validates_like_train(data, monkeypatch):
    monkeypatch.setattr("gbm_objectives._adapters._WARNED_NO_REFIT", set())  # the warning is once per process
    X, y = data["X"][:300], data["tweedie"][:300]
    y_nan = y.copy()
    y_nan[0] = np.nan
    with pytest.raises(ValueError, match="train_set: y contains"):
        glgb.cv("tweedie", PARAMS, lgb.Dataset(X, y_nan), 2, nfold=2)
    with pytest.raises(ValueError, match="objective"):
        glgb.cv("tweedie", {**PARAMS, "objective": "l2"}, lgb.Dataset(X, y), 2, nfold=2)
    with pytest.warns(glgb.LeafRefitWarning, match="leaf refit"):
        glgb.cv("quantile", PARAMS, lgb.Dataset(X, y), 2, nfold=2)


# ---------------------------------------------------------------------------
# scikit-learn's estimator checks
# ---------------------------------------------------------------------------


def _failed_checks(estimator) -> set[str]:
    from sklearn.utils.estimator_checks import check_estimator

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = check_estimator(estimator, on_fail=None)
    return {r["check_name"] for r in results if r["status"] == "failed"}


@pytest.mark.parametrize(
    "ours, theirs", [(glgb.LGBMRegressor, lgb.LGBMRegressor), (glgb.LGBMClassifier, lgb.LGBMClassifier)]
)
def test_check_estimator_fails_no_more_than_lightgbm(ours, theirs):
    mine = _failed_checks(ours(verbose=-1, n_jobs=1))
    builtin = _failed_checks(theirs(verbose=-1, n_jobs=1))
    assert len(mine) <= len(builtin), f"only ours fail: {sorted(mine - builtin)}"
    assert mine <= builtin


def test_predict_leaves_the_estimator_unchanged_and_missing_y_is_named(data):
    X, y = data["X"][:300], data["tweedie"][:300]
    est = glgb.LGBMRegressor(loss="tweedie", verbose=-1, n_estimators=5).fit(X, y)
    before = dict(est.__dict__)
    est.predict(X)
    assert est.__dict__.keys() == before.keys() and est._objective is before["_objective"]
    with pytest.raises(ValueError, match="requires y to be passed"):
        glgb.LGBMRegressor(verbose=-1).fit(X, None)
    with pytest.raises(ValueError, match="requires y to be passed"):
        glgb.LGBMClassifier(verbose=-1).fit(X, None)


@pytest.mark.parametrize(
    "name, loss_params, key",
    [("tweedie", {"power": 1.3}, "tweedie"), ("softmax", {"num_class": 4, "hessian_scale": "lightgbm"}, "multi")],
)
@pytest.mark.parametrize("decay_rate", [0.0, 0.6])
def test_refit_helper_is_lightgbm_refit_with_the_loss_gradients(data, name, loss_params, key, decay_rate):
    X, y = data["X"], data[key]
    loss = get_loss(name, **loss_params)
    booster = glgb.train(loss, {**PARAMS, "lambda_l2": 1.0}, lgb.Dataset(X[:1000], y[:1000]), 6)
    # Where LightGBM has the loss, its refit (from the host objective) is the reference.
    theirs = booster.refit(X[1000:], y[1000:], decay_rate=decay_rate)
    ours = glgb.refit(booster, X[1000:], y[1000:], decay_rate=decay_rate)
    np.testing.assert_allclose(ours.predict(X, raw_score=True), theirs.predict(X, raw_score=True), rtol=1e-6, atol=1e-9)
    assert glgb.booster_loss(ours) == loss
    assert not np.allclose(ours.predict(X, raw_score=True), booster.predict(X, raw_score=True))
    with pytest.raises(ValueError, match="decay_rate"):
        glgb.refit(booster, X[1000:], y[1000:], decay_rate=1.5)


# ---------------------------------------------------------------------------
# The callables in LightGBM's own scikit-learn estimators
# ---------------------------------------------------------------------------

SKLEARN_PARAMS = dict(
    n_estimators=25, num_leaves=15, learning_rate=0.1, min_child_samples=20, verbose=-1, n_jobs=1,
    deterministic=True, force_col_wise=True,
)


@pytest.mark.parametrize("name, loss_params, key", [("poisson", {}, "count"), ("tweedie", {"power": 1.5}, "tweedie")])
@pytest.mark.parametrize("weighted", [False, True])
def test_plain_lightgbm_estimator_takes_the_objective(data, name, loss_params, key, weighted):
    """LightGBM's wrapper calls objective(y_true, y_pred, weight, group): the
    weights reach the gradients. It starts at 0 under a custom objective, so
    the loss's start is given as init_score= to match the library's estimator."""
    X, y, w, _, _ = _split(data, key, weighted)
    loss = get_loss(name, **loss_params)
    start = float(loss.init_score(y, w))
    plain = lgb.LGBMRegressor(objective=glgb.objective(loss), **SKLEARN_PARAMS)
    plain.fit(X, y, sample_weight=w, init_score=np.full(y.shape[0], start))
    ours = glgb.LGBMRegressor(loss=loss, **SKLEARN_PARAMS).fit(X, y, sample_weight=w)
    np.testing.assert_allclose(plain.predict(X, raw_score=True) + start, ours.predict(X, raw_score=True), atol=1e-6)


def test_plain_lightgbm_estimator_refit_uses_new_weights_and_checks_labels(data):
    X, y, w, _, _ = _split(data, "count", True)
    obj = glgb.objective("poisson")
    est = lgb.LGBMRegressor(objective=obj, **SKLEARN_PARAMS)
    unweighted = est.fit(X, y).predict(X, raw_score=True)
    weighted = est.fit(X, y, sample_weight=w).predict(X, raw_score=True)
    fresh = lgb.LGBMRegressor(objective=glgb.objective("poisson"), **SKLEARN_PARAMS).fit(X, y, sample_weight=w)
    assert np.abs(weighted - unweighted).max() > 1e-3
    np.testing.assert_allclose(weighted, fresh.predict(X, raw_score=True))
    with pytest.raises(ValueError, match="training data"):
        est.fit(X, -y - 1.0)


def test_plain_lightgbm_ranker_passes_groups_to_a_grouped_loss():
    X, y, sizes = _one_positive_per_group(40)
    loss = get_loss("infonce", temperature=0.5)
    params = {**SKLEARN_PARAMS, "min_child_samples": 5}
    ranker = lgb.LGBMRanker(objective=glgb.objective(loss), **params).fit(
        X, y, group=sizes, eval_X=(X,), eval_y=(y,), eval_group=[sizes], eval_metric=glgb.metric(loss)
    )
    native = lgb.train(
        {"objective": glgb.objective(loss), "verbose": -1, "num_threads": 1, "deterministic": True,
         "force_col_wise": True, "num_leaves": 15, "learning_rate": 0.1, "min_data_in_leaf": 5, "metric": "None"},
        lgb.Dataset(X, y, group=sizes), 25,
    )
    np.testing.assert_allclose(ranker.predict(X, raw_score=True), native.predict(X, raw_score=True))
    values = ranker.evals_result_["training"]["gbm_infonce"]
    assert values[-1] < 0.8 * values[0]


@pytest.mark.parametrize("weighted", [False, True])
def test_plain_lightgbm_estimator_takes_the_metric(data, weighted):
    X, y, w, Xv, yv = _split(data, "count", weighted)
    wv = data["w"][N_TRAIN:] if weighted else None
    est = lgb.LGBMRegressor(objective="poisson", **SKLEARN_PARAMS).fit(
        X, y, sample_weight=w, eval_X=(X, Xv), eval_y=(y, yv), eval_sample_weight=None if w is None else [w, wv],
        eval_metric=glgb.metric("poisson", response=True),
    )
    loss = get_loss("poisson")
    for label, (Xe, ye, we) in zip(("training", "valid_1"), ((X, y, w), (Xv, yv, wv)), strict=True):
        margin = est.predict(Xe, raw_score=True)
        expected = loss.loss(ye, margin, we)
        assert est.evals_result_[label]["gbm_poisson"][-1] == pytest.approx(expected, rel=1e-5)


def test_init_score_attribute_and_its_former_name(data):
    """Fitted estimators hold their init score as ``init_score_``; the former
    name ``start_margin_`` and estimators pickled under it still give it."""
    import pathlib

    X, y, _, _, _ = _split(data, "reg", False)
    est = glgb.LGBMRegressor(**SK).fit(X, y)
    assert est.init_score_.shape == (1,)
    assert est.start_margin_ is est.init_score_
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scikit-learn warns about the older version
        with (pathlib.Path(__file__).parent / "data" / "pickles_v0.pkl").open("rb") as fh:
            old = pickle.load(fh)["estimators"]["lgbm_regressor"]
    assert "start_margin_" not in vars(old)
    assert old.init_score_ is not None
    np.testing.assert_array_equal(old.start_margin_, old.init_score_)


def test_pickles_name_the_public_module(data):
    """Objects pickled now load under the public path ``gbm_objectives.lightgbm``
    (as those of the single-module release), not a private module of it."""
    import pickletools

    X, y, _, _, _ = _split(data, "reg", False)
    objects = [glgb.objective("tweedie"), glgb.metric("tweedie"), glgb.LGBMRegressor(**SK).fit(X, y)]
    for obj in objects:
        names = [arg for op, arg, _ in pickletools.genops(pickle.dumps(obj)) if isinstance(arg, str)]
        assert "gbm_objectives.lightgbm" in names
        assert not [name for name in names if name.startswith("gbm_objectives.lightgbm.")], names
        assert type(pickle.loads(pickle.dumps(obj))) is type(obj)
