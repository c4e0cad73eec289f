"""LightGBM adapter under reuse patterns and awkward data: continued training,
tiny or constant data, NaN labels in every data set the callables see."""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pytest

from gbm_objectives import get_loss
from gbm_objectives import lightgbm as glgb

PARAMS = dict(verbose=-1, num_threads=1, deterministic=True, force_col_wise=True, num_leaves=7)


@pytest.fixture(scope="module")
def counts():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(600, 4))
    y = rng.poisson(np.exp(1.0 + 0.5 * X[:, 0])).astype(float)
    return X, y


# ---------------------------------------------------------------------------
# init_model continuation
# ---------------------------------------------------------------------------


def test_continued_model_loss_equals_last_logged_loss(counts):
    X, y = counts
    loss = get_loss("poisson")
    first = glgb.train(loss, PARAMS, lgb.Dataset(X, y, free_raw_data=False), 15)
    ds = lgb.Dataset(X, y, free_raw_data=False)
    log: dict = {}
    cont = glgb.train(
        loss, PARAMS, ds, 10, init_model=first, valid_sets=[ds], valid_names=["train"],
        callbacks=[lgb.record_evaluation(log)],
    )
    assert cont.current_iteration() == 25
    margin = glgb.predict(cont, X, output="margin")
    assert loss.loss(y, margin) == pytest.approx(log["train"]["gbm_" + loss.name][-1], rel=1e-6)
    # The first iteration of the continued model is the first model's, start included.
    np.testing.assert_allclose(
        glgb.predict(cont, X, output="margin", num_iteration=15), glgb.predict(first, X, output="margin"), rtol=1e-12
    )


def test_init_score_with_init_model_is_refused(counts):
    X, y = counts
    loss = get_loss("poisson")
    first = glgb.train(loss, PARAMS, lgb.Dataset(X, y, free_raw_data=False), 5)
    with pytest.raises(ValueError, match="init_score= cannot be combined with init_model="):
        glgb.train(loss, PARAMS, lgb.Dataset(X, y), 5, init_model=first, init_score=loss.init_score(y))


# ---------------------------------------------------------------------------
# Tiny or constant data: the start margin is the model
# ---------------------------------------------------------------------------


def _tiny(n=30, seed=1):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, 3)), rng.poisson(3.0, size=n).astype(float)


@pytest.mark.parametrize("constant_features", [False, True])
def test_train_without_usable_features_gives_the_builtin_constant(constant_features, tmp_path):
    X, y = _tiny(200 if constant_features else 30)
    if constant_features:
        X = np.ones_like(X)
    builtin = lgb.train(dict(PARAMS, objective="poisson"), lgb.Dataset(X, y), 5)
    with pytest.warns(UserWarning, match="constant start margin"):
        ours = glgb.train("poisson", PARAMS, lgb.Dataset(X, y), 5)
    expected = get_loss("poisson").init_score(y)
    np.testing.assert_allclose(glgb.predict(ours, X, output="margin"), expected, rtol=1e-12)
    np.testing.assert_allclose(glgb.predict(ours, X), builtin.predict(X), rtol=1e-6)
    path = tmp_path / "m.txt"
    ours.save_model(str(path))
    np.testing.assert_allclose(glgb.predict(lgb.Booster(model_file=str(path)), X), np.mean(y), rtol=1e-6)


def test_multiclass_and_dataset_offsets_without_usable_features():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(25, 2))
    y = np.arange(25) % 3
    loss = get_loss("softmax", num_class=3)
    with pytest.warns(UserWarning):
        booster = glgb.train(loss, PARAMS, lgb.Dataset(X, y.astype(float)), 5)
    np.testing.assert_allclose(glgb.predict(booster, X[:4], output="margin"), np.tile(loss.init_score(y), (4, 1)),
                               rtol=1e-12)
    # Per-row offsets of the Dataset: no start margin is added, the model is 0 (as LightGBM's).
    Xp, yp = _tiny()
    with pytest.warns(UserWarning):
        booster = glgb.train("poisson", PARAMS, lgb.Dataset(Xp, yp, init_score=np.full(30, 0.5)), 5)
    np.testing.assert_array_equal(glgb.predict(booster, Xp, output="margin"), 0.0)


def test_estimators_without_usable_features():
    X, y = _tiny()
    with pytest.warns(UserWarning):
        reg = glgb.LGBMRegressor(loss="poisson", verbose=-1, n_jobs=1).fit(X, y, eval_set=[(X, y)])
    np.testing.assert_allclose(reg.predict(X), np.mean(y), rtol=1e-6)
    assert reg.n_features_in_ == 3 and reg.booster_.num_trees() == 1
    yb = (y > 3).astype(int)
    with pytest.warns(UserWarning):
        clf = glgb.LGBMClassifier(verbose=-1, n_jobs=1).fit(X, yb)
    np.testing.assert_allclose(clf.predict_proba(X)[:, 1], np.mean(yb), rtol=1e-6)


def test_ablation_with_small_folds_runs():
    from gbm_objectives.ablation import ablate_losses

    X, y = _tiny(60)
    with pytest.warns(UserWarning):
        table = ablate_losses(X, y, ["poisson", "squared_error"], backend="lightgbm", cv=2, num_boost_round=5)
    assert len(table) >= 2


def test_random_forest_is_refused_clearly():
    X, y = _tiny(300)
    params = dict(PARAMS, boosting="rf", bagging_fraction=0.5, bagging_freq=1)
    with pytest.raises(ValueError, match="boosting='rf' is not supported"):
        glgb.train("poisson", params, lgb.Dataset(X, y), 5)
    with pytest.raises(ValueError, match="not supported"):
        glgb.LGBMRegressor(loss="poisson", boosting_type="rf", subsample=0.5, subsample_freq=1, verbose=-1).fit(X, y)


# ---------------------------------------------------------------------------
# NaN labels: checked before LightGBM turns them into 0
# ---------------------------------------------------------------------------

NAN_MESSAGE = "y contains 1 NaN or infinite value"


def test_lightgbm_stores_nan_labels_as_zero(counts):
    # Why the check must come before the Dataset is built.
    X, y = counts
    y_nan = y.copy()
    y_nan[4] = np.nan
    ds = lgb.Dataset(X, y_nan).construct()
    assert ds.get_label()[4] == 0.0 and ds.label[4] == 0.0


def test_nan_labels_in_every_data_set_are_refused(counts):
    X, y = counts
    y_nan = y.copy()
    y_nan[4] = np.nan
    with pytest.raises(ValueError, match=r"train_set: " + NAN_MESSAGE):
        glgb.train("poisson", PARAMS, lgb.Dataset(X, y_nan), 3)
    dtrain = lgb.Dataset(X, y)
    with pytest.raises(ValueError, match=r"valid_sets\[0\]: " + NAN_MESSAGE):
        glgb.train("poisson", PARAMS, dtrain, 3, valid_sets=[lgb.Dataset(X, y_nan, reference=dtrain)])
    with pytest.raises(ValueError, match=r"y: " + NAN_MESSAGE):
        glgb.LGBMRegressor(loss="poisson", verbose=-1).fit(X, y_nan)
    with pytest.raises(ValueError, match=r"eval_set\[1\]: " + NAN_MESSAGE):
        glgb.LGBMRegressor(loss="poisson", verbose=-1).fit(X, y, eval_set=[(X, y), (X, y_nan)])
    with pytest.raises(ValueError, match=r"eval_set\[0\]: sample_weight"):
        glgb.LGBMRegressor(loss="poisson", verbose=-1).fit(
            X, y, eval_set=[(X, y)], eval_sample_weight=[np.full(len(y), np.nan)]
        )
    yb = (y > 2).astype(float)
    yb_nan = yb.copy()
    yb_nan[0] = np.nan
    with pytest.raises(ValueError, match=r"eval_set\[0\]: " + NAN_MESSAGE):
        glgb.LGBMClassifier(verbose=-1).fit(X, yb, eval_set=[(X, yb_nan)])
