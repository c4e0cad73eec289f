"""Losses as scikit-learn parameter objects: get_params / set_params / clone,
and grid searches over ``loss__<name>`` in an estimator that holds a loss."""

from __future__ import annotations

import inspect
import pickle

import numpy as np
import pytest
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.model_selection import GridSearchCV

from gbm_objectives import available_losses, get_loss
from gbm_objectives.losses import Loss

#: Arguments a loss cannot be built without.
_REQUIRED = {"softmax": {"num_class": 3}, "softmax_focal": {"num_class": 3}}

#: Non-default arguments per loss, so round trips also cover changed values.
_NON_DEFAULT = {
    "quantile": {"alpha": 0.9, "curvature": "unit"},
    "absolute_error": {"curvature": "unit"},
    "huber": {"delta": 2.5, "curvature": "irls"},
    "pseudo_huber": {"delta": 0.5, "curvature": "exact"},
    "log_cosh": {"curvature": "exact"},
    "tweedie": {"power": 1.2},
    "poisson": {"max_delta_step": 0.0},
    "logistic": {"label_smoothing": 0.1},
    "focal": {"gamma": 0.5, "alpha": 0.25},
    "softmax": {"num_class": 4, "label_smoothing": 0.2, "hessian_scale": "lightgbm"},
    "softmax_focal": {"num_class": 3, "gamma": 1.0, "alpha": (0.2, 0.3, 0.5)},
    "infonce": {"temperature": 0.5},
}


def _variants() -> list[tuple[str, dict]]:
    out = []
    for name in available_losses():
        out.append((name, dict(_REQUIRED.get(name, {}))))
        if name in _NON_DEFAULT:
            out.append((name, dict(_NON_DEFAULT[name])))
    return out


VARIANTS = _variants()
IDS = [f"{n}-{i}" for i, (n, _) in enumerate(VARIANTS)]


def test_every_registered_loss_is_covered():
    assert {n for n, _ in VARIANTS} == set(available_losses())


@pytest.mark.parametrize("name,kwargs", VARIANTS, ids=IDS)
def test_get_params_lists_every_constructor_argument_and_round_trips(name, kwargs):
    loss = get_loss(name, **kwargs)
    params = loss.get_params()
    signature = inspect.signature(type(loss).__init__)
    assert list(params) == [p for p in signature.parameters if p != "self"]
    for key, value in kwargs.items():
        expected = tuple(value) if isinstance(value, (list, tuple)) else value
        assert params[key] == expected
    rebuilt = type(loss)(**params)
    assert rebuilt == loss and repr(rebuilt) == repr(loss)
    assert rebuilt.params == loss.params
    assert loss.get_params(deep=False) == params


@pytest.mark.parametrize("name,kwargs", VARIANTS, ids=IDS)
def test_clone_gives_an_equal_distinct_loss(name, kwargs):
    loss = get_loss(name, **kwargs)
    twin = clone(loss)
    assert twin == loss and twin is not loss
    assert twin.get_params() == loss.get_params()
    assert twin.params == loss.params


@pytest.mark.parametrize("name,kwargs", VARIANTS, ids=IDS)
def test_set_params_with_current_values_changes_nothing(name, kwargs):
    loss = get_loss(name, **kwargs)
    before = (repr(loss), loss.params, pickle.dumps(loss))
    assert loss.set_params(**loss.get_params()) is loss
    assert loss.set_params() is loss
    assert (repr(loss), loss.params) == before[:2]
    assert pickle.loads(before[2]) == loss


def test_set_params_changes_the_loss_it_computes(rng):
    y = rng.gamma(2.0, 3.0, 50)
    margin = rng.normal(1.0, 0.3, 50)
    loss = get_loss("tweedie", power=1.5)
    loss.set_params(power=1.2)
    assert loss.power == 1.2 and loss.params == {"power": 1.2} and loss == get_loss("tweedie", power=1.2)
    assert loss.loss(y, margin) == get_loss("tweedie", power=1.2).loss(y, margin)
    g, _ = loss.grad_hess(y, margin)
    g_ref, _ = get_loss("tweedie", power=1.2).grad_hess(y, margin)
    np.testing.assert_array_equal(g, g_ref)

    soft = get_loss("softmax", num_class=3)
    soft.set_params(hessian_scale="xgboost")
    assert soft == get_loss("softmax", num_class=3, hessian_scale="xgboost")
    assert not soft.exact_hessian


def test_set_params_unknown_name_raises_and_lists_valid_names():
    loss = get_loss("huber", delta=2.0)
    with pytest.raises(ValueError, match=r"'power'.*valid parameters: delta, curvature"):
        loss.set_params(power=1.5)
    assert loss == get_loss("huber", delta=2.0)
    with pytest.raises(ValueError, match="valid parameters: max_delta_step"):
        get_loss("poisson").set_params(power=1.5)
    with pytest.raises(ValueError, match="valid parameters: none"):
        get_loss("gamma").set_params(power=1.5)


@pytest.mark.parametrize("name,bad", [
    ("tweedie", {"power": 3.0}),
    ("huber", {"curvature": "exact"}),
    ("softmax", {"num_class": 1}),
    ("softmax_focal", {"alpha": (1.0, 2.0)}),
    ("focal", {"gamma": -1.0}),
])
def test_set_params_invalid_value_raises_and_leaves_the_loss_unchanged(name, bad):
    loss = get_loss(name, **_REQUIRED.get(name, {}))
    before_repr, before_params = repr(loss), loss.get_params()
    with pytest.raises(ValueError):
        loss.set_params(**bad)
    assert repr(loss) == before_repr and loss.get_params() == before_params


class _ConstantModel(RegressorMixin, BaseEstimator):
    """The smallest estimator that holds a loss: it predicts the loss's start score."""

    def __init__(self, loss: Loss | None = None, shrink: float = 1.0):
        self.loss = loss
        self.shrink = shrink

    def fit(self, X, y):
        self.power_seen_ = self.loss.get_params().get("power")
        self.margin_ = self.shrink * float(self.loss.init_score(y))
        self.n_features_in_ = np.asarray(X).shape[1]
        return self

    def predict(self, X):
        return np.full(np.asarray(X).shape[0], float(self.loss.predict(np.array([self.margin_]))[0]))

    def score(self, X, y):
        return -self.loss.loss(y, np.full(np.asarray(y).shape[0], self.margin_))


def test_estimator_exposes_nested_loss_parameters():
    est = _ConstantModel(loss=get_loss("tweedie", power=1.5))
    params = est.get_params(deep=True)
    assert params["loss__power"] == 1.5
    est.set_params(loss__power=1.3)
    assert est.loss.power == 1.3
    with pytest.raises(ValueError, match="valid parameters: power"):
        est.set_params(loss__alpha=0.3)


def test_grid_search_over_loss_power_changes_the_loss(rng):
    X = rng.normal(size=(60, 2))
    y = rng.gamma(1.5, 4.0, 60) * (rng.random(60) < 0.7)
    user_loss = get_loss("tweedie", power=1.5)
    est = _ConstantModel(loss=user_loss)
    search = GridSearchCV(est, {"loss__power": [1.1, 1.5, 1.9]}, cv=3).fit(X, y)
    scores = search.cv_results_["mean_test_score"]
    # Each candidate scores with its own deviance, so the scores differ.
    assert len(set(np.round(scores, 12))) == 3
    best = search.best_params_["loss__power"]
    assert search.best_estimator_.loss == get_loss("tweedie", power=best)
    assert search.best_estimator_.power_seen_ == best
    assert best == [1.1, 1.5, 1.9][int(np.argmax(scores))]
    # The estimator the user built keeps its loss: the search works on clones.
    assert est.loss is user_loss and user_loss == get_loss("tweedie", power=1.5)


def test_clone_of_an_estimator_copies_its_loss():
    est = _ConstantModel(loss=get_loss("focal", gamma=1.0, alpha=0.25))
    twin = clone(est)
    assert twin.loss == est.loss and twin.loss is not est.loss
