"""LightGBM adapter under reuse patterns and awkward data: continued training,
tiny or constant data, NaN labels in every data set the callables see, and the
one-time warning of paths that train absolute error / quantile without leaf
refit."""

from __future__ import annotations

import warnings

import lightgbm as lgb
import numpy as np
import pytest

import gbm_objectives._adapters as adapters
from gbm_objectives import get_loss
from gbm_objectives import lightgbm as glgb

PARAMS = dict(verbose=-1, num_threads=1, deterministic=True, force_col_wise=True, num_leaves=7)
ESTIMATOR = dict(verbose=-1, n_jobs=1, deterministic=True, force_col_wise=True, num_leaves=7)


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
# Tiny or constant data: the init score is the model
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
    with pytest.warns(UserWarning, match="constant init score"):
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
    # Per-row offsets of the Dataset: no init score is added, the model is 0 (as LightGBM's).
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


# ---------------------------------------------------------------------------
# One-time warning where absolute error / quantile train without leaf refit
# ---------------------------------------------------------------------------


@pytest.fixture
def fresh_refit_warnings(monkeypatch):
    """An empty once-per-process registry of :class:`LeafRefitWarning`."""
    monkeypatch.setattr(adapters, "_WARNED_NO_REFIT", set())


def refit_warnings(record) -> list[str]:
    """The messages of the LeafRefitWarnings recorded, each pointing at this file."""
    found = [w for w in record if issubclass(w.category, glgb.LeafRefitWarning)]
    assert all(w.filename == __file__ for w in found), [(w.filename, w.lineno) for w in found]
    return [str(w.message) for w in found]


def test_plain_lightgbm_train_with_quantile_objective_warns_once_per_loss(counts, fresh_refit_warnings):
    X, y = counts
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        for _ in range(2):
            lgb.train({**PARAMS, "objective": glgb.objective("quantile")}, lgb.Dataset(X, y), 3)
        lgb.cv({**PARAMS, "objective": glgb.objective("quantile")}, lgb.Dataset(X, y), 2, nfold=2)
        lgb.train({**PARAMS, "objective": glgb.objective("absolute_error")}, lgb.Dataset(X, y), 3)
    messages = refit_warnings(record)
    assert len(messages) == 2
    assert messages[0].startswith("quantile needs every leaf refit") and "lightgbm.train with" in messages[0]
    assert messages[1].startswith("absolute_error needs every leaf refit")


def test_library_cv_warns_once(counts, fresh_refit_warnings):
    X, y = counts
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        for alpha in (0.5, 0.9):
            glgb.cv(get_loss("quantile", alpha=alpha), PARAMS, lgb.Dataset(X, y), 2, nfold=2)
        glgb.cv("poisson", PARAMS, lgb.Dataset(X, y), 2, nfold=2)
    (message,) = refit_warnings(record)
    assert "gbm_objectives.lightgbm.cv" in message


def test_refitting_paths_never_warn(counts, fresh_refit_warnings):
    X, y = counts
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        for name in ("quantile", "absolute_error"):
            glgb.train(name, PARAMS, lgb.Dataset(X, y, free_raw_data=False), 3)
            glgb.train(name, PARAMS, lgb.Dataset(X, y), 3, refit_leaves=False)  # the user's explicit choice
            glgb.LGBMRegressor(loss=name, n_estimators=3, **ESTIMATOR).fit(X, y)
            glgb.LGBMRegressor(loss=name, refit_leaves=False, n_estimators=3, **ESTIMATOR).fit(X, y)
        lgb.train({**PARAMS, "objective": glgb.objective("huber")}, lgb.Dataset(X, y), 2)  # needs no refit
    assert refit_warnings(record) == []
    # Nothing above used up the once-per-process warning.
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        lgb.train({**PARAMS, "objective": glgb.objective("quantile")}, lgb.Dataset(X, y), 2)
    assert len(refit_warnings(record)) == 1


@pytest.mark.dask
def test_dask_regressor_warns_once_and_never_refits(counts, fresh_refit_warnings):
    pytest.importorskip("distributed")
    import dask.array as da
    from distributed import Client, LocalCluster

    X, y = counts
    kw = dict(n_estimators=5, **ESTIMATOR)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
            with Client(cluster) as client:
                dX, dy = da.from_array(X, chunks=(300, X.shape[1])), da.from_array(y, chunks=300)
                models = [glgb.DaskLGBMRegressor(loss="absolute_error", client=client, **kw).fit(dX, dy)]
                models.append(glgb.DaskLGBMRegressor(loss="absolute_error", client=client, **kw).fit(dX, dy))
                pred = models[0].predict(dX).compute()
    (message,) = refit_warnings(record)
    assert "DaskLGBMRegressor" in message
    # All partitions on one worker: still Newton leaves (no refit), as on several workers.
    local = glgb.LGBMRegressor(loss="absolute_error", refit_leaves=False, **kw).fit(X, y)
    np.testing.assert_allclose(pred, local.predict(X), rtol=1e-6)


# ---------------------------------------------------------------------------
# Parameters LightGBM applies only in its built-in objectives
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def rare_positives():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(1000, 4))
    y = (rng.uniform(size=1000) < 1 / (1 + np.exp(-(X[:, 0] - 2.5)))).astype(float)
    return X, y


@pytest.mark.parametrize(
    "setting, needle",
    [({"is_unbalance": True}, "is_unbalance"), ({"unbalance": "true"}, "is_unbalance"),
     ({"scale_pos_weight": 5.0}, "scale_pos_weight")],
)
def test_class_balance_parameters_are_refused_not_ignored(rare_positives, setting, needle):
    """LightGBM applies is_unbalance / scale_pos_weight only in its built-in
    binary objective; beside a library loss they used to be dropped silently
    (the mean probability stayed at the base rate)."""
    X, y = rare_positives
    with pytest.raises(ValueError, match=f"{needle}.*class_weight"):
        glgb.LGBMClassifier(loss="logistic", n_estimators=5, **setting, **ESTIMATOR).fit(X, y)
    with pytest.raises(ValueError, match=needle):
        glgb.train("logistic", {**PARAMS, **setting}, lgb.Dataset(X, y), 5)
    with pytest.raises(ValueError, match=needle):
        glgb.cv("logistic", {**PARAMS, **setting}, lgb.Dataset(X, y), 5, nfold=2)


def test_class_weight_is_the_way_to_balance(rare_positives):
    X, y = rare_positives
    plain = glgb.LGBMClassifier(loss="logistic", n_estimators=20, scale_pos_weight=1.0, is_unbalance=False, **ESTIMATOR)
    balanced = glgb.LGBMClassifier(loss="logistic", n_estimators=20, class_weight="balanced", **ESTIMATOR)
    p_plain = plain.fit(X, y).predict_proba(X)[:, 1].mean()
    p_balanced = balanced.fit(X, y).predict_proba(X)[:, 1].mean()
    assert abs(p_plain - y.mean()) < 0.02
    assert p_balanced > 2 * p_plain


@pytest.mark.parametrize(
    "loss, setting, needle",
    [
        (get_loss("quantile", alpha=0.9), {"alpha": 0.1}, "alpha.*quantile"),
        (get_loss("huber", delta=1.0), {"alpha": 2.0}, "alpha.*delta"),
        (get_loss("tweedie", power=1.5), {"tweedie_variance_power": 1.9}, "tweedie_variance_power.*power"),
        (get_loss("poisson"), {"alpha": 0.1}, "alpha.*ignored"),
        (get_loss("logistic"), {"sigmoid": 2.0}, "sigmoid"),
        (get_loss("squared_error"), {"reg_sqrt": True}, "reg_sqrt"),
        (get_loss("squared_error"), {"fair_c": 3.0}, "fair_c"),
    ],
)
def test_conflicting_loss_parameters_are_refused(counts, loss, setting, needle):
    """The loss defines the gradients: a LightGBM parameter that would change
    the built-in objective's loss used to be ignored (quantile(alpha=0.9) with
    alpha=0.1 still covered 90% of the rows; tweedie(1.5) with
    tweedie_variance_power=1.9 recorded 1.5)."""
    X, y = counts
    y = (y > np.median(y)).astype(float) if loss.name == "logistic" else y
    with pytest.raises(ValueError, match=needle):
        glgb.train(loss, {**PARAMS, **setting}, lgb.Dataset(X, y), 3)
    with pytest.raises(ValueError, match=needle):
        glgb.cv(loss, {**PARAMS, **setting}, lgb.Dataset(X, y), 3, nfold=2)
    est = glgb.LGBMClassifier if loss.name == "logistic" else glgb.LGBMRegressor
    with pytest.raises(ValueError, match=needle):
        est(loss=loss, n_estimators=3, **setting, **ESTIMATOR).fit(X, y)


def test_agreeing_and_default_loss_parameters_are_accepted(counts):
    X, y = counts
    params = {**PARAMS, "tweedie_variance_power": 1.5}
    booster = glgb.train(get_loss("tweedie", power=1.5), params, lgb.Dataset(X, y), 3)
    assert float(booster.params["tweedie_variance_power"]) == 1.5
    est = glgb.LGBMRegressor(loss="quantile(alpha=0.2)", alpha=0.2, n_estimators=3, **ESTIMATOR).fit(X, y)
    assert est.booster_.params["alpha"] == pytest.approx(0.2)
    # LightGBM's defaults change nothing beside a loss without such a setting.
    glgb.train("squared_error", {**PARAMS, "alpha": 0.9, "fair_c": 1.0, "reg_sqrt": False}, lgb.Dataset(X, y), 3)


def test_boost_from_average_false_starts_at_zero(counts):
    """LightGBM's built-ins start at 0 with boost_from_average=False; it used
    to be ignored (the model still started at the loss's best constant)."""
    X, y = counts
    loss = get_loss("poisson")
    no_average = glgb.train(loss, {**PARAMS, "boost_from_average": False}, lgb.Dataset(X, y), 5)
    zero_start = glgb.train(loss, PARAMS, lgb.Dataset(X, y), 5, init_score=0.0)
    np.testing.assert_allclose(no_average.predict(X, raw_score=True), zero_start.predict(X, raw_score=True))
    average = glgb.train(loss, PARAMS, lgb.Dataset(X, y), 5)
    assert np.abs(average.predict(X, raw_score=True) - no_average.predict(X, raw_score=True)).max() > 0.1
    est = glgb.LGBMRegressor(loss=loss, boost_from_average=False, n_estimators=5, **ESTIMATOR).fit(X, y)
    assert est.init_score_ is None
    np.testing.assert_allclose(est.predict(X, raw_score=True), zero_start.predict(X, raw_score=True), rtol=1e-6)
    folds = glgb.cv(loss, {**PARAMS, "boost_from_average": False}, lgb.Dataset(X, y), 5, nfold=2, seed=1)
    zero_folds = glgb.cv(loss, PARAMS, lgb.Dataset(X, y), 5, nfold=2, seed=1, init_score=0.0)
    np.testing.assert_allclose(folds["valid gbm_poisson-mean"], zero_folds["valid gbm_poisson-mean"])


# ---------------------------------------------------------------------------
# Poisson's max_delta_step in the model
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("step", [None, 0.0, 0.3])
def test_poisson_model_records_its_max_delta_step_and_plain_continuation_matches(counts, step):
    """The model names LightGBM's poisson objective; without the loss's
    poisson_max_delta_step it stood for LightGBM's default 0.7, so continuing
    it in plain LightGBM with the model's parameters trained another loss."""
    X, y = counts
    if step is not None and not hasattr(get_loss("poisson"), "max_delta_step"):
        pytest.skip("the Poisson loss has no max_delta_step setting yet")
    loss = get_loss("poisson") if step is None else get_loss("poisson", max_delta_step=step)
    first = glgb.train(loss, PARAMS, lgb.Dataset(X, y), 8)
    recorded = float(first.params["poisson_max_delta_step"])
    step = float(getattr(loss, "max_delta_step", 0.0))
    # LightGBM requires a step > 0: a loss at 0 records the smallest normal double.
    assert recorded == max(step, float(np.finfo(np.float64).tiny))
    reloaded = lgb.Booster(model_str=first.model_to_string())
    assert f"[poisson_max_delta_step: {recorded!r}]" in reloaded.model_to_string()
    params = {key: value for key, value in first.params.items() if key != "num_iterations"}
    plain = lgb.train(params, lgb.Dataset(X, y), 8, init_model=first)
    ours = glgb.train(loss, PARAMS, lgb.Dataset(X, y), 8, init_model=first)
    np.testing.assert_allclose(plain.predict(X, raw_score=True), ours.predict(X, raw_score=True), atol=1e-6)
    assert glgb.booster_loss(plain) == loss


def test_conflicting_poisson_max_delta_step_is_refused(counts):
    X, y = counts
    loss = get_loss("poisson")
    other = float(getattr(loss, "max_delta_step", 0.0)) + 0.5
    with pytest.raises(ValueError, match="poisson_max_delta_step.*max_delta_step"):
        glgb.train(loss, {**PARAMS, "poisson_max_delta_step": other}, lgb.Dataset(X, y), 3)
    with pytest.raises(ValueError, match="poisson_max_delta_step"):
        glgb.LGBMRegressor(loss=loss, poisson_max_delta_step=other, n_estimators=3, **ESTIMATOR).fit(X, y)
    # The loss's own value (0 where it has none) is accepted.
    same = float(getattr(loss, "max_delta_step", 0.0))
    glgb.train(loss, {**PARAMS, "poisson_max_delta_step": same}, lgb.Dataset(X, y), 3)


@pytest.mark.skipif(
    not hasattr(get_loss("poisson"), "max_delta_step"), reason="the Poisson loss has no max_delta_step setting yet"
)
def test_poisson_parity_with_builtin_at_lightgbms_default(counts):
    """LightGBM's poisson at its default poisson_max_delta_step 0.7: Hessian w exp(f + 0.7)."""
    X, y = counts
    loss = get_loss("poisson", max_delta_step=0.7)
    ours = glgb.train(loss, PARAMS, lgb.Dataset(X, y), 20)
    ref = lgb.train({**PARAMS, "objective": "poisson"}, lgb.Dataset(X, y), 20)
    np.testing.assert_allclose(ours.predict(X, raw_score=True), ref.predict(X, raw_score=True), rtol=1e-4, atol=1e-5)
    assert float(ours.params["poisson_max_delta_step"]) == 0.7


def test_misspelled_parameters_are_refused_where_lightgbm_is_silenced():
    """The panels and PredictionIntervals train at verbosity -1, where LightGBM drops an unknown name without a
    word; they refuse it and name the parameter meant. Aliases LightGBM knows pass."""
    from gbm_objectives.ablation import ablate_losses, estimate_tweedie_power
    from gbm_objectives.intervals import PredictionIntervals
    from gbm_objectives.lightgbm._params import check_param_names

    check_param_names({"num_leaves": 7, "max_leaves": 7, "min_child_samples": 5, "verbose": -1, "eta": 0.1})
    with pytest.raises(ValueError, match=r"'num_leavs'.*did you mean 'num_leaves'"):
        check_param_names({"num_leavs": 7})
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    y = np.exp(0.3 * X[:, 0]) * rng.gamma(2.0, 0.5, 200)
    with pytest.raises(ValueError, match="unknown LightGBM parameter.*'min_data_in_leafs'"):
        ablate_losses(X, y, ["squared_error"], backend="lightgbm", params={"min_data_in_leafs": 5},
                      num_boost_round=2, cv=2, progress=False)
    with pytest.raises(ValueError, match="unknown LightGBM parameter.*'lerning_rate'"):
        estimate_tweedie_power(X, y, backend="lightgbm", params={"lerning_rate": 0.1}, num_boost_round=2, cv=2,
                               progress=False)
    with pytest.raises(ValueError, match="unknown LightGBM parameter.*'num_leavs'"):
        PredictionIntervals(backend="lightgbm", num_leavs=7).fit(X, y)
    # XGBoost names are not LightGBM's, and XGBoost itself warns about unused ones.
    PredictionIntervals(backend="xgboost", n_estimators=2, max_depth=2, n_jobs=1).fit(X, y)


def test_hand_written_alias_groups_are_lightgbm_s_own():
    """The alias tuples the library refuses or reads must be exactly LightGBM's, or a new alias slips through."""
    from lightgbm.basic import _ConfigAliases

    from gbm_objectives.lightgbm import _params

    for name, ours in (("num_iterations", _params._ROUNDS_ALIASES), ("num_threads", _params._THREAD_ALIASES),
                       ("objective", _params._OBJECTIVE_ALIASES), ("num_class", _params._NUM_CLASS_ALIASES)):
        assert set(ours) == set(_ConfigAliases.get(name)), name
