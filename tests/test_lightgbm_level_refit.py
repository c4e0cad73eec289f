"""The per-output leaf refit of quantile sets in LightGBM (``loss.level_refit``,
``multi_quantile``'s ``refit_levels``, on by default).

After each round, the leaves of output ``j`` move toward the refit that makes
level ``j`` move ``learning_rate`` times its residual quantile in every leaf,
given the levels below it, by the level's distance from its quantile
(``level_offsets``, or in the leaf where that is larger): the refit checked here against a direct per-leaf
computation written from each non-crossing transform and for its coverage
property, the blend against LightGBM's Newton leaves, and the scores LightGBM
keeps in step (validation metric), non-crossing levels, saved models and the
estimator.
"""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose

from gbm_objectives import get_loss
from gbm_objectives.lightgbm._refit import _level_refit_values

lgb = pytest.importorskip("lightgbm")
glgb = pytest.importorskip("gbm_objectives.lightgbm")

ALPHAS = (0.1, 0.5, 0.9)
SPEC = f"multi_quantile(alphas={ALPHAS!r}, refit_levels=True)"
EPS = 1e-6
PARAMS = {"num_threads": 1, "verbose": -1, "num_leaves": 7, "min_data_in_leaf": 20, "deterministic": True}


def heteroscedastic(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    x = rng.uniform(-2.0, 2.0, (n, 3))
    spread = 0.2 + np.abs(x[:, 1])
    return x, 3.0 * np.sin(x[:, 0]) + spread * rng.standard_normal(n)


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(5)
    x, y = heteroscedastic(rng, 1600)
    return x[:800], y[:800], x[800:], y[800:]


def softplus(x):
    return np.logaddexp(0.0, x)


def softplus_inv(g):
    return g + np.log(-np.expm1(-g))


def levels_of(margin: np.ndarray, transform: str = "max") -> np.ndarray:
    if transform == "max":
        return np.maximum.accumulate(margin, axis=1)
    gaps = EPS + softplus(margin[:, 1:])
    return np.column_stack([margin[:, 0], margin[:, :1] + np.cumsum(gaps, axis=1)])


def spec(transform: str) -> str:
    return f"multi_quantile(alphas={ALPHAS!r}, refit_levels=True, transform={transform!r})"


def round_margin(booster, x, rounds: int) -> np.ndarray:
    """Raw scores of the first ``rounds`` rounds (the init score lives in the first)."""
    if rounds == 0:
        return np.zeros((x.shape[0], len(ALPHAS)))
    return np.asarray(booster.predict(x, num_iteration=rounds, raw_score=True)).reshape(x.shape[0], -1)


def direct_leaf_values(y, margin, leaf, level, lower, lr, alpha, transform):
    """Per leaf: the LightGBM percentile of each row's own margin change that puts
    level ``level`` on its shrunk target, from the transform written out here
    (under the cumulative maximum each output is refit as its own level)."""
    current = levels_of(margin, transform)[:, level]
    target = current + lr * (y - current)
    if level == 0:
        change = target - margin[:, 0]
    elif transform == "max":
        change = target - margin[:, level]
    else:
        gap = np.maximum(target - lower - EPS, 0.0)
        with np.errstate(divide="ignore"):
            wanted = np.where(gap > 0, softplus_inv(np.maximum(gap, 1e-300)), -np.inf)
        change = np.maximum(wanted, -30.0) - margin[:, level]
    return {t: float(np.quantile(change[leaf == t], alpha)) for t in np.unique(leaf)}


def share_off_quantile(y, levels):
    """Per level: how far the share of labels above it is from ``1 - alpha``, over ``min(alpha, 1 - alpha)``,
    clipped to [0, 1] (the share of the refit a leaf takes)."""
    alphas = np.asarray(ALPHAS)
    above = (y[:, None] > levels).mean(axis=0)
    return np.clip(np.abs(above - (1.0 - alphas)) / np.minimum(alphas, 1.0 - alphas), 0.0, 1.0)


def leaf_share_off_quantile(y, level, alpha):
    """In one leaf: how far the share of labels above the level is from ``1 - alpha``, less two standard
    errors of a share of that many rows, over ``min(alpha, 1 - alpha)``, clipped to [0, 1]."""
    error = np.sqrt(alpha * (1.0 - alpha) / y.shape[0])
    off = abs(np.mean(y > level) - (1.0 - alpha)) - 2.0 * error
    return float(np.clip(off / min(alpha, 1.0 - alpha), 0.0, 1.0))


def test_leaf_offsets_count_effective_rows_and_leave_empty_leaves_alone():
    from gbm_objectives.lightgbm._refit import _leaf_offsets

    rng = np.random.default_rng(4)
    y = rng.normal(size=400)
    leaf = rng.integers(0, 3, 400)
    level = np.where(leaf == 0, 5.0, 0.0)  # far above every label of leaf 0, at the median elsewhere
    got = _leaf_offsets(y, level, leaf, 4, 0.5, np.empty(0))
    for t in range(3):
        rows = leaf == t
        assert got[t] == pytest.approx(leaf_share_off_quantile(y[rows], level[rows], 0.5), abs=1e-12)
    # only the leaf whose level sits above all its labels is far off (an empty leaf is not)
    assert got[0] > 0.8 and max(got[1], got[2]) < 0.2 and got[3] == 0.0
    # integer weights are repeated rows in the share; the error is that of the effective rows
    counts = rng.integers(1, 4, 400).astype(float)
    weighted = _leaf_offsets(y, level, leaf, 4, 0.5, counts)
    for t in (1, 2):
        rows = leaf == t
        share = np.average(y[rows] > level[rows], weights=counts[rows])
        effective = counts[rows].sum() ** 2 / (counts[rows] ** 2).sum()
        off = abs(share - 0.5) - 2.0 * np.sqrt(0.25 / effective)
        assert weighted[t] == pytest.approx(np.clip(off / 0.5, 0.0, 1.0), abs=1e-12)


@pytest.mark.parametrize("transform", ["max", "softplus"])
@pytest.mark.parametrize("lr", [0.3, 1.0])
def test_every_leaf_is_refit_to_its_levels_quantile_given_the_levels_below(data, lr, transform):
    x, y, _, _ = data
    rounds = 3
    booster = glgb.train(spec(transform), {**PARAMS, "learning_rate": lr}, lgb.Dataset(x, y), rounds)
    k = len(ALPHAS)
    y64 = np.asarray(y, dtype=np.float32).astype(np.float64)  # LightGBM keeps float32 labels
    loss = get_loss(spec(transform))

    def levels_of(margin):
        return globals()["levels_of"](margin, transform)

    checked = 0
    for it in (1, 2):  # the first round also holds the init score
        before = round_margin(booster, x, it)
        leaves = np.asarray(booster.predict(x, start_iteration=it, num_iteration=1, pred_leaf=True)).reshape(-1, k)
        grad, hess = loss.grad_hess(y64, before)
        shares = share_off_quantile(y64, levels_of(before))
        after = before.copy()
        for j in range(k):
            tree = it * k + j
            values = np.array([booster.get_leaf_output(tree, t) for t in range(leaves[:, j].max() + 1)])
            lower = None if j == 0 else levels_of(after[:, :j])[:, -1]
            refit = direct_leaf_values(y64, before, leaves[:, j], j, lower, lr, ALPHAS[j], transform)
            # The refit itself, before the blend, against the transform written out here.
            n_leaves = int(leaves[:, j].max()) + 1
            own = _level_refit_values(loss, y64, before, levels_of(before)[:, j], leaves[:, j], n_leaves, j,
                                      None if j == 0 else levels_of(after[:, :j]), lr, np.empty(0))
            for t, value in refit.items():
                assert own[t] == pytest.approx(value, rel=1e-9, abs=1e-12), (it, j, t)
                rows = leaves[:, j] == t
                newton = -lr * grad[rows, j].sum() / hess[rows, j].sum()  # LightGBM's leaf (float32 sums)
                # the level's distance from its quantile overall or in this leaf, whichever is larger
                gate = max(shares[j], leaf_share_off_quantile(y64[rows], levels_of(before)[rows, j], ALPHAS[j]))
                expected = newton + gate * (value - newton)
                assert values[t] == pytest.approx(expected, rel=1e-5, abs=1e-7), (it, j, t)
                checked += 1
            if lr == 1.0:
                # A full step of the refit meets each level's residual quantile in every leaf.
                full = after.copy()
                full[:, j] += own[leaves[:, j]]
                # the output itself under the cumulative maximum, the level through the softplus increments
                level = full[:, j] if transform == "max" else levels_of(full[:, : j + 1])[:, j]
                for t in np.unique(leaves[:, j]):
                    rows = leaves[:, j] == t
                    n = rows.sum()
                    assert np.mean(y64[rows] < level[rows] - 1e-9) <= ALPHAS[j] + 1.0 / n
                    assert np.mean(y64[rows] <= level[rows] + 1e-9) >= ALPHAS[j] - 1.0 / n
            after[:, j] += values[leaves[:, j]]
        assert_allclose(after, round_margin(booster, x, it + 1), rtol=1e-9, atol=1e-9)
    assert checked > 3 * k


def test_refit_levels_is_the_default_and_refit_leaves_false_turns_it_off(data):
    x, y, xt, _ = data
    refit = glgb.train(SPEC, PARAMS, lgb.Dataset(x, y), 20)
    default = glgb.train(f"multi_quantile(alphas={ALPHAS!r})", PARAMS, lgb.Dataset(x, y), 20)
    off = glgb.train(SPEC, PARAMS, lgb.Dataset(x, y), 20, refit_leaves=False)
    plain = glgb.train(f"multi_quantile(alphas={ALPHAS!r}, refit_levels=False)", PARAMS, lgb.Dataset(x, y), 20)
    a, b, c = glgb.predict(refit, xt), glgb.predict(off, xt), glgb.predict(plain, xt)
    assert_allclose(glgb.predict(default, xt), a, rtol=1e-12)
    assert not np.allclose(a, b)
    assert_allclose(b, c, rtol=1e-12)
    for levels in (a, b):
        assert np.all(np.diff(levels, axis=1) >= 0)
    with pytest.raises(ValueError, match="refit_levels must be True or False"):
        get_loss("multi_quantile", refit_levels="yes")


@pytest.mark.parametrize("transform", ["max", "softplus"])
def test_levels_never_cross_even_where_targets_would(data, transform):
    # Labels with long runs of ties: many rows ask a level to sit on the one below.
    x, y, xt, _ = data
    tied = np.round(np.clip(y, -1.0, 1.0))
    booster = glgb.train(spec(transform), {**PARAMS, "learning_rate": 0.5}, lgb.Dataset(x, tied), 30)
    for rows in (x, xt):
        levels = glgb.predict(booster, rows)
        assert np.all(np.isfinite(levels))
        gaps = np.diff(levels, axis=1)
        # the cumulative maximum lets tied levels meet; softplus increments keep them apart
        assert np.all(gaps >= 0 if transform == "max" else gaps > 0), "levels cross"
        if transform == "max":
            assert_allclose(levels, np.maximum.accumulate(glgb.predict(booster, rows, output="margin"), axis=1))


def test_validation_scores_follow_the_refit_and_saved_models_predict_the_same(data, tmp_path):
    x, y, xt, yt = data
    train_set = lgb.Dataset(x, y)
    valid = lgb.Dataset(xt, yt, reference=train_set)
    record: dict = {}
    booster = glgb.train(
        SPEC, PARAMS, train_set, 15, valid_sets=[train_set, valid], valid_names=["train", "valid"],
        callbacks=[lgb.record_evaluation(record)],
    )
    loss = get_loss("multi_quantile", alphas=ALPHAS)
    for name, rows, labels in (("train", x, y), ("valid", xt, yt)):
        margin = glgb.predict(booster, rows, output="margin")
        assert record[name]["gbm_multi_quantile"][-1] == pytest.approx(loss.loss(labels, margin), rel=1e-6)
    path = str(tmp_path / "levels.txt")
    booster.save_model(path)
    loaded = lgb.Booster(model_file=path)
    assert_allclose(glgb.predict(loaded, xt), glgb.predict(booster, xt), rtol=1e-12)
    assert_allclose(lgb.Booster(model_str=booster.model_to_string()).predict(xt, raw_score=True),
                    booster.predict(xt, raw_score=True), rtol=1e-12)


def test_estimator_refits_as_train_does(data):
    x, y, xt, yt = data
    model = glgb.LGBMRegressor(loss=SPEC, n_estimators=15, num_leaves=7, min_child_samples=20, learning_rate=0.1,
                               n_jobs=1, verbose=-1, deterministic=True)
    model.fit(x, y, eval_set=[(xt, yt)])
    booster = glgb.train(SPEC, {**PARAMS, "learning_rate": 0.1}, lgb.Dataset(x, y), 15)
    assert_allclose(model.predict(xt), glgb.predict(booster, xt), rtol=1e-9, atol=1e-9)
    loss = get_loss("multi_quantile", alphas=ALPHAS)
    margin = model.predict(xt, raw_score=True)
    assert model.evals_result_["valid_0"]["gbm_multi_quantile"][-1] == pytest.approx(loss.loss(yt, margin), rel=1e-6)
    unrefit = glgb.LGBMRegressor(loss=SPEC, n_estimators=15, num_leaves=7, min_child_samples=20, n_jobs=1,
                                 verbose=-1, refit_leaves=False).fit(x, y)
    assert not np.allclose(unrefit.predict(xt), model.predict(xt))


def test_level_refit_is_a_fact_of_quantile_sets_that_ask_for_it():
    assert get_loss("multi_quantile", alphas=ALPHAS).level_refit == ALPHAS
    assert get_loss("multi_quantile", alphas=ALPHAS, refit_levels=False).level_refit is None
    assert get_loss("multi_expectile", alphas=ALPHAS).level_refit is None
    assert get_loss("quantile", alpha=0.3).level_refit is None


def position_percentile(values, weights, alpha):
    """Linear interpolation at weighted position ``alpha (W - W / m)``, values at the weight before them."""
    order = np.argsort(values, kind="stable")
    v, w = values[order], weights[order]
    before = np.concatenate(([0.0], np.cumsum(w)[:-1]))
    return float(np.interp(alpha * (w.sum() - w.sum() / w.shape[0]), before, v))


def test_weighted_level_refit_follows_the_weighted_position_rule(rng):
    from gbm_objectives.kernels.percentiles import leaf_position_percentiles

    values = rng.standard_normal(300)
    weights = rng.uniform(0.1, 3.0, 300)
    leaf = rng.integers(0, 4, 300).astype(np.int64)
    out = np.empty(5)
    leaf_position_percentiles(values, weights, leaf, np.argsort(values, kind="stable"), 5, 0.3, out)
    for t in range(4):
        rows = leaf == t
        assert out[t] == pytest.approx(position_percentile(values[rows], weights[rows], 0.3), rel=1e-12)
        # Equal weights: the unweighted (LightGBM) percentile, whatever their size.
        same = np.empty(5)
        leaf_position_percentiles(values, np.full(300, 2.5), leaf, np.argsort(values, kind="stable"), 5, 0.3, same)
        assert same[t] == pytest.approx(float(np.quantile(values[rows], 0.3)), rel=1e-12)
    assert np.isnan(out[4])


def test_equal_weights_train_the_unweighted_model(data):
    x, y, xt, _ = data
    plain = glgb.train(SPEC, PARAMS, lgb.Dataset(x, y), 15)
    weighted = glgb.train(SPEC, PARAMS, lgb.Dataset(x, y, weight=np.full(len(y), 2.5)), 15)
    # The leaves blend the refit with LightGBM's Newton values, whose gradient sums are float32.
    assert_allclose(glgb.predict(weighted, xt), glgb.predict(plain, xt), rtol=1e-4, atol=1e-5)


def test_data_frames_walk_the_trees_through_lightgbm_and_refit_alike(data):
    pd = pytest.importorskip("pandas")
    x, y, xt, _ = data
    frame = pd.DataFrame(x, columns=["a", "b", "c"])
    from_frame = glgb.train(SPEC, PARAMS, lgb.Dataset(frame, y), 10)
    from_array = glgb.train(SPEC, PARAMS, lgb.Dataset(x, y), 10)
    assert_allclose(glgb.predict(from_frame, xt), glgb.predict(from_array, xt), rtol=1e-12)


@pytest.mark.parametrize("transform", ["max", "softplus"])
def test_level_offsets_measure_each_levels_distance_from_its_quantile(data, transform):
    """The refit's share per level: 0 at the level's quantile, 1 at min(alpha, 1 - alpha) or more away from it;
    integer weights count as repeated rows."""
    x, y, _, _ = data
    loss = get_loss(spec(transform))

    def levels_of(margin):
        return globals()["levels_of"](margin, transform)

    rng = np.random.default_rng(2)
    margin = rng.normal(size=(y.shape[0], len(ALPHAS)))
    assert_allclose(loss.level_offsets(y, margin, np.empty(0)), share_off_quantile(y, levels_of(margin)),
                    rtol=1e-12, atol=1e-12)
    at_quantiles = np.tile(loss.init_score(y), (y.shape[0], 1))
    assert np.all(loss.level_offsets(y, at_quantiles, np.empty(0)) <= 2.0 / y.shape[0] / 0.1)
    far = np.column_stack([np.full(y.shape[0], y.max() + 1.0), np.zeros((y.shape[0], 2))])
    assert_allclose(loss.level_offsets(y, far, np.empty(0)), 1.0)
    counts = rng.integers(1, 4, y.shape[0])
    assert_allclose(loss.level_offsets(y, margin, counts.astype(float)),
                    share_off_quantile(np.repeat(y, counts), levels_of(np.repeat(margin, counts, axis=0))),
                    rtol=1e-12, atol=1e-12)


def test_paths_that_cannot_refit_the_levels_say_so_once(data, monkeypatch):
    """``glgb.cv`` and plain ``lightgbm.train`` with the objective callable keep LightGBM's Newton
    leaves: a quantile set asking for the level refit gets one LeafRefitWarning per process, as
    absolute error and quantile losses do; ``refit_levels=False`` asks for nothing and gets none, and
    XGBoost, which never refits level sets, never warns."""
    import warnings

    from gbm_objectives import _adapters

    x, y, _, _ = data
    monkeypatch.setattr(_adapters, "_WARNED_NO_REFIT", set())
    with pytest.warns(glgb.LeafRefitWarning, match="refit_levels=True.*gbm_objectives.lightgbm.cv"):
        refit = glgb.cv(SPEC, PARAMS, lgb.Dataset(x, y), 5, nfold=2, seed=0)
    monkeypatch.setattr(_adapters, "_WARNED_NO_REFIT", set())
    with warnings.catch_warnings():
        warnings.simplefilter("error", glgb.LeafRefitWarning)
        plain = glgb.cv(f"multi_quantile(alphas={ALPHAS!r}, refit_levels=False)", PARAMS, lgb.Dataset(x, y), 5,
                        nfold=2, seed=0)
        xgb = pytest.importorskip("xgboost")
        gx = pytest.importorskip("gbm_objectives.xgboost")
        xgb.train({"nthread": 1, "num_target": len(ALPHAS)}, xgb.DMatrix(x, y), 2, obj=gx.objective(SPEC))
    # the same Newton leaves either way
    assert_allclose(refit["valid gbm_multi_quantile-mean"], plain["valid gbm_multi_quantile-mean"], rtol=1e-12)
    with pytest.warns(glgb.LeafRefitWarning, match="refit_levels=True.*lightgbm.train"):
        lgb.train({**PARAMS, "num_class": len(ALPHAS), "objective": glgb.objective(SPEC)}, lgb.Dataset(x, y), 2)


@pytest.mark.parametrize("name", ["multi_quantile", "multi_expectile"])
def test_lightgbm_alpha_is_refused_with_level_sets(data, name):
    """LightGBM's ``alpha`` (its built-in quantile level) would be ignored: a level set refuses it, even
    at LightGBM's default, rather than train levels the user did not ask for."""
    x, y, _, _ = data
    for value in (0.9, 0.5):
        with pytest.raises(ValueError, match=r"alpha=.* is the level of LightGBM's built-in quantile.*alphas"):
            glgb.train(name, {**PARAMS, "alpha": value}, lgb.Dataset(x, y), 2)
        with pytest.raises(ValueError, match="alpha"):
            glgb.LGBMRegressor(loss=name, n_estimators=2, alpha=value, verbose=-1).fit(x, y)


def test_plain_lightgbm_estimator_is_told_what_k_outputs_need(data, monkeypatch):
    """Plain ``lightgbm.LGBMRegressor`` with the objective callable: without ``num_class`` the error names
    it and ``metric='None'`` (LightGBM's own regression metric refuses k scores); with both it trains
    levels that never cross, once the margins are turned into levels."""
    from gbm_objectives import _adapters

    x, y, xt, _ = data
    objective = glgb.objective("multi_quantile")
    with pytest.raises(ValueError, match=r"set num_class=3 .*metric='None'"):
        lgb.LGBMRegressor(objective=objective, n_estimators=2, n_jobs=1, verbose=-1).fit(x, y)
    monkeypatch.setattr(_adapters, "_WARNED_NO_REFIT", set())
    with pytest.warns(glgb.LeafRefitWarning):
        model = lgb.LGBMRegressor(objective=objective, num_class=3, metric="None", n_estimators=5, n_jobs=1,
                                  verbose=-1).fit(x, y)
    levels = get_loss("multi_quantile").predict(model.predict(xt, raw_score=True))
    assert levels.shape == (xt.shape[0], 3) and np.all(np.diff(levels, axis=1) >= 0)
