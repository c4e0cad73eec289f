"""Objects pickled by an earlier release (single-module layout, numpy 1.26 /
scikit-learn 1.6 / XGBoost 3.2 / LightGBM 4.7) load and behave the same.

``tests/data/pickles_v0.pkl`` holds every kind of loss, the objective and
metric callables of both adapters and fitted estimators of both boosters,
with the estimators' predictions at pickling time.
"""

import pickle
import warnings
from pathlib import Path

import numpy as np
import pytest

from gbm_objectives import get_loss

PICKLE = Path(__file__).parent / "data" / "pickles_v0.pkl"


@pytest.fixture(scope="module")
def payload():
    with warnings.catch_warnings():
        # scikit-learn and XGBoost warn that the pickle comes from older versions.
        warnings.simplefilter("ignore")
        with PICKLE.open("rb") as fh:
            return pickle.load(fh)


def test_old_losses_equal_fresh_ones_and_compute_the_same(payload):
    rng = np.random.default_rng(1)
    for old in payload["losses"]:
        fresh = get_loss(old.name, **old.get_params())
        assert old == fresh, old
        assert repr(old) == repr(fresh)
        if old.needs_group:
            y = np.array([1.0, 0.0, 0.0, 0.0, 1.0, 0.0])
            kw = {"group": [3, 3]}
        elif old.n_outputs > 1:
            y = rng.integers(0, old.n_outputs, 6).astype(float)
            kw = {}
        else:
            y = rng.uniform(0.1, 1.0, 6).round() if old.link.name == "logit" else rng.uniform(0.5, 3.0, 6)
            kw = {}
        margin = rng.normal(size=(6, old.n_outputs) if old.n_outputs > 1 else 6)
        for a, b in zip(old.grad_hess(y, margin, **kw), fresh.grad_hess(y, margin, **kw)):
            np.testing.assert_array_equal(a, b)
        assert old.loss(y, margin, **kw) == fresh.loss(y, margin, **kw)


def test_old_callables_still_compute(payload):
    rng = np.random.default_rng(2)
    y = rng.uniform(0.5, 3.0, 20)
    for fn in payload["callables"]:
        # The scikit-learn call signature: (y_true, y_pred) for objectives,
        # (y_true, y_pred) -> value or (name, value, higher_better) for metrics.
        out = fn(y, np.zeros(20))
        assert out is not None


@pytest.mark.parametrize(
    "key", ["xgb_regressor", "xgb_classifier", "lgbm_regressor", "lgbm_classifier", "lgbm_l1"]
)
def test_old_estimators_predict_as_when_pickled(payload, key):
    est = payload["estimators"][key]
    X = payload["X"]
    pred = est.predict_proba(X) if "classifier" in key else est.predict(X)
    np.testing.assert_allclose(pred, payload["predictions"][key], rtol=1e-12, atol=1e-12)
    # They keep training: a refit with the same settings gives the same model.
    y = payload["predictions"][key]
    if "classifier" not in key:
        est.fit(X, np.abs(y) + 0.1)
        assert est.predict(X).shape == (X.shape[0],)
