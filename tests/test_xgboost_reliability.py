"""XGBoost adapter under reuse: one objective shared by concurrent training
runs, refits with new weights, data sets relabelled in place, and the one-time
warning of paths that train absolute error / quantile without leaf refit.

Each test reproduces the pattern through the boosters' own APIs
(``xgboost.train``, ``XGBRegressor``, ``DMatrix.set_label``) and compares
with a fresh objective, which has no state to carry over.
"""

from __future__ import annotations

import copy
import pickle
import threading
import warnings

import numpy as np
import pytest
import xgboost as xgb
from numpy.testing import assert_allclose, assert_array_equal

import gbm_objectives._adapters as adapters
import gbm_objectives.xgboost as gx
from gbm_objectives import available_losses, get_loss, get_loss_class
from gbm_objectives.xgboost._params import _training_objective

BASE = {"nthread": 1, "tree_method": "hist", "max_depth": 3, "eta": 0.3}
#: Losses whose leaves the library's training refits.
REFIT_LOSSES = [
    name for name in available_losses()
    if get_loss_class(name).task != "multiclass" and get_loss(name).leaf_refit is not None  # num_class needed
]


def poisson_data(rng: np.random.Generator, n: int, shift: float = 0.0):
    X = rng.normal(size=(n, 4))
    y = rng.poisson(np.exp(0.5 + shift + 0.8 * X[:, 0] - 0.5 * X[:, 1])).astype(float)
    return X, y


# ---------------------------------------------------------------------------
# Threads
# ---------------------------------------------------------------------------


def run_in_threads(*jobs):
    """Run the jobs at once, started together; re-raise the first error."""
    barrier = threading.Barrier(len(jobs))
    results: list = [None] * len(jobs)
    errors: list = []

    def work(i, job):
        try:
            barrier.wait()
            results[i] = job()
        except BaseException as exc:  # noqa: BLE001 - re-raised below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i, job)) for i, job in enumerate(jobs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return results


class SlowLoss:
    """Wraps an objective so that each call yields the GIL between writing
    its gradients and handing them back: the window in which another run's
    call overwrites shared buffers (without it the race is rarely hit)."""

    def __init__(self, obj):
        self.obj = obj

    def __call__(self, *args, **kwargs):
        grad, hess = self.obj(*args, **kwargs)
        threading.Event().wait(0.002)
        return grad, hess


def test_one_objective_shared_by_concurrent_xgboost_train_runs(rng):
    obj = gx.objective("poisson")
    runs = []
    for shift in (0.0, 2.5):
        X, y = poisson_data(rng, 400, shift)
        runs.append((X, xgb.DMatrix(X, label=y)))
    params = {**BASE, "objective": "count:poisson", "max_delta_step": 0.0}

    def fit(d):
        return xgb.train(params, d, 15, obj=SlowLoss(obj))

    together = run_in_threads(*(lambda d=d: fit(d) for _, d in runs))
    for (_, d), booster in zip(runs, together):
        alone = xgb.train(params, d, 15, obj=gx.objective("poisson"))
        assert_array_equal(booster.predict(d, output_margin=True), alone.predict(d, output_margin=True))


def test_one_objective_shared_by_concurrent_estimator_fits(rng):
    obj = gx.objective("poisson")
    data = [poisson_data(rng, 300, 0.0), poisson_data(rng, 300, 2.5)]
    sk = {"n_estimators": 15, "max_depth": 3, "learning_rate": 0.3, "n_jobs": 1, "tree_method": "hist"}

    def fit(X, y, objective):
        return xgb.XGBRegressor(objective=objective, **sk).fit(X, y).predict(X)

    together = run_in_threads(*(lambda X=X, y=y: fit(X, y, SlowLoss(obj)) for X, y in data))
    for (X, y), pred in zip(data, together):
        assert_array_equal(pred, fit(X, y, gx.objective("poisson")))


def test_buffers_are_per_thread_and_reused_within_one(rng):
    obj = gx.objective("tweedie")
    X, y = poisson_data(rng, 200)
    d = xgb.DMatrix(X, label=y)
    m = np.zeros(200, np.float32)
    g1, _ = obj(m, d)
    g2, _ = obj(m + 0.1, d)
    other = run_in_threads(lambda: obj(m, d)[0])[0]
    assert g1 is g2
    assert other is not g1


# ---------------------------------------------------------------------------
# Refits with new labels or weights
# ---------------------------------------------------------------------------


def test_sklearn_signature_uses_the_weights_of_each_call(rng):
    obj = gx.objective("poisson")
    X, y = poisson_data(rng, 100)
    m0, m1 = rng.normal(size=100), rng.normal(size=100)
    w1, w2 = rng.uniform(0.5, 2.0, 100), rng.uniform(0.5, 2.0, 100)
    obj(y, m0, sample_weight=w1)
    g, h = obj(y, m1, sample_weight=w2)
    want_g, want_h = get_loss("poisson").grad_hess(y, m1, w2)
    assert_allclose(g, want_g, rtol=1e-6)
    assert_allclose(h, want_h, rtol=1e-6)
    # the same happens for new labels of the same length
    g, _ = obj(y + 1.0, m1, sample_weight=w2)
    assert_allclose(g, get_loss("poisson").grad_hess(y + 1.0, m1, w2)[0], rtol=1e-6)


def test_estimator_refit_per_fold_with_weights_and_base_margin_equals_a_fresh_one(rng):
    from sklearn.model_selection import KFold

    X, y = poisson_data(rng, 400)
    w = rng.uniform(0.2, 3.0, 400)
    margin = np.full(400, np.log(y.mean())) + 0.1 * X[:, 2]
    sk = {"n_estimators": 10, "max_depth": 3, "learning_rate": 0.3, "n_jobs": 1, "tree_method": "hist"}
    shared = xgb.XGBRegressor(objective=gx.objective("poisson"), **sk)
    for train, test in KFold(3, shuffle=True, random_state=0).split(X):
        fit = {"sample_weight": w[train], "base_margin": margin[train]}
        reused = shared.fit(X[train], y[train], **fit).predict(X[test], base_margin=margin[test])
        fresh = xgb.XGBRegressor(objective=gx.objective("poisson"), **sk).fit(X[train], y[train], **fit)
        assert_array_equal(reused, fresh.predict(X[test], base_margin=margin[test]))


# ---------------------------------------------------------------------------
# Data sets relabelled in place
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("change", ["label", "weight"])
def test_continued_training_after_set_label_or_set_weight(change, rng):
    loss = get_loss("poisson")
    X, y = poisson_data(rng, 400)
    w = rng.uniform(0.5, 2.0, 400)
    d = xgb.DMatrix(X, label=y, weight=w)
    obj, met = gx.objective(loss), gx.metric(loss)
    params = {**BASE, "objective": "count:poisson", "max_delta_step": 0.0,
              "base_score": gx.base_score(loss, y, w, objective="count:poisson"), "disable_default_eval_metric": True}
    first = xgb.train(params, d, 5, obj=obj, custom_metric=met, evals=[(d, "d")], verbose_eval=False)
    if change == "label":
        y2 = rng.poisson(20.0, 400).astype(float)
        d.set_label(y2)
        w2 = w
    else:
        y2, w2 = y, rng.uniform(0.0, 10.0, 400) * (X[:, 0] > 0)
        d.set_weight(w2)
    history: dict = {}
    more = xgb.train(params, d, 5, obj=obj, custom_metric=met, evals=[(d, "d")], xgb_model=first,
                     evals_result=history, verbose_eval=False)
    # a fresh objective on the same DMatrix (XGBoost's histogram cuts stay
    # those sketched with the first weights, so a new DMatrix would differ)
    fresh = xgb.train(params, d, 5, obj=gx.objective(loss), xgb_model=first)
    assert_allclose(more.predict(d, output_margin=True), fresh.predict(d, output_margin=True), rtol=1e-6)
    assert history["d"]["gbm_poisson"][-1] == pytest.approx(loss.loss(y2, more.predict(d, output_margin=True), w2),
                                                        rel=1e-5)


def test_set_label_outside_the_domain_is_caught_mid_run(rng):
    loss = get_loss("poisson")
    X, y = poisson_data(rng, 100)
    d = xgb.DMatrix(X, label=y)
    obj = gx.objective(loss)
    obj(rng.normal(size=100).astype(np.float32), d)
    d.set_label(y - 100.0)
    with pytest.raises(ValueError, match="y >= 0"):
        obj(rng.normal(size=100).astype(np.float32), d)


# ---------------------------------------------------------------------------
# One-time warning where absolute error / quantile train without leaf refit
# ---------------------------------------------------------------------------


@pytest.fixture
def fresh_refit_warnings(monkeypatch):
    """An empty once-per-process registry of :class:`LeafRefitWarning`."""
    monkeypatch.setattr(adapters, "_WARNED_NO_REFIT", set())


def refit_warnings(record) -> list[str]:
    """The messages of the LeafRefitWarnings recorded, each pointing at this file."""
    found = [w for w in record if issubclass(w.category, gx.LeafRefitWarning)]
    assert all(w.filename == __file__ for w in found), [(w.filename, w.lineno) for w in found]
    return [str(w.message) for w in found]


def median_data(rng: np.random.Generator, n: int = 300):
    X = rng.normal(size=(n, 4))
    return X, 2.0 * X[:, 0] + rng.standard_t(3, size=n)


def test_plain_xgboost_train_with_quantile_objective_warns_once_per_loss(rng, fresh_refit_warnings):
    X, y = median_data(rng)
    dtrain = xgb.DMatrix(X, label=y)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        xgb.train(BASE, dtrain, 3, obj=gx.objective("quantile"))
        xgb.train(BASE, dtrain, 3, obj=gx.objective(get_loss("quantile", alpha=0.9)))  # same kind
        xgb.cv(BASE, dtrain, 2, nfold=2, obj=gx.objective("quantile"))
        xgb.train(BASE, dtrain, 3, obj=gx.objective("absolute_error"))
    messages = refit_warnings(record)
    assert len(messages) == 2
    assert messages[0].startswith("quantile needs every leaf refit") and "xgboost.train(obj=" in messages[0]
    assert messages[1].startswith("absolute_error needs every leaf refit")


def test_xgbregressor_with_quantile_objective_warns_once(rng, fresh_refit_warnings):
    X, y = median_data(rng)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        for _ in range(2):
            xgb.XGBRegressor(n_estimators=3, nthread=1, objective=gx.objective("absolute_error")).fit(X, y)
    (message,) = refit_warnings(record)
    assert "xgboost.XGBRegressor(objective=" in message


def test_refitting_paths_never_warn(rng, fresh_refit_warnings):
    X, y = median_data(rng)
    dtrain = xgb.DMatrix(X, label=y)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        for name in REFIT_LOSSES:
            gx.train(name, BASE, dtrain, 3)
            gx.train(name, BASE, dtrain, 3, refit_leaves=False)  # the user's explicit choice
            gx.cv(name, BASE, dtrain, 2, nfold=2)
            gx.XGBRegressor(loss=name, n_estimators=3, nthread=1).fit(X, y)
            # The objective train() builds, as Dask workers receive it.
            obj = pickle.loads(pickle.dumps(_training_objective(get_loss(name), False)))
            xgb.train(BASE, dtrain, 2, obj=copy.deepcopy(obj))
        # XGBoost 3.4's own surrogate trains without refit; other losses need none.
        xgb.train(BASE, dtrain, 2, obj=gx.objective(get_loss("quantile", curvature="mm")))
        xgb.XGBRegressor(n_estimators=2, nthread=1, objective=gx.objective("huber")).fit(X, y)
    assert refit_warnings(record) == []
    # Nothing above used up the once-per-process warning.
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        xgb.train(BASE, dtrain, 2, obj=pickle.loads(pickle.dumps(gx.objective("quantile"))))
    assert len(refit_warnings(record)) == 1
