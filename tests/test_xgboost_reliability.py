"""XGBoost adapter under reuse: one objective shared by concurrent training
runs.

Each test reproduces the pattern through the boosters' own APIs
(``xgboost.train``, ``XGBRegressor``, ``DMatrix.set_label``) and compares
with a fresh objective, which has no state to carry over.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest
import xgboost as xgb
from numpy.testing import assert_allclose, assert_array_equal

import gbm_objectives.xgboost as gx
from gbm_objectives import get_loss

BASE = {"nthread": 1, "tree_method": "hist", "max_depth": 3, "eta": 0.3}


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
    for (X, d), booster in zip(runs, together):
        alone = xgb.train(params, d, 15, obj=gx.objective("poisson"))
        assert_array_equal(booster.predict(d, output_margin=True), alone.predict(d, output_margin=True))


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


