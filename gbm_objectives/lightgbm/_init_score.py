"""The init score of a training run: the loss's best constant margin,
set as the Datasets' ``init_score`` while LightGBM trains and folded into the
first iteration's leaves afterwards, and the constant model where no feature
can be split on."""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import lightgbm as lgb
import numpy as np

from .._adapters import Data
from .._validation import as_float_array
from ..losses import Loss
from ._data import _NO_FEATURES, NoUsableFeaturesError
from ._model_text import _first_iteration_leaves


def _check_init_score(loss: Loss, value: Any) -> np.ndarray:
    """An init score as a float64 array of ``n_outputs`` values."""
    arr = as_float_array(np.atleast_1d(np.asarray(value, dtype=np.float64)), "init_score")
    if arr.shape != (loss.n_outputs,):
        raise ValueError(
            "init_score must be a number" + (f" or {loss.n_outputs} numbers" if loss.n_outputs > 1 else "")
            + f" for {loss!r}; got shape {np.shape(value)}"
        )
    return arr


def _nonzero(init: np.ndarray) -> np.ndarray | None:
    """The init score, or None where it is 0 everywhere (LightGBM's own: nothing to add)."""
    return init if np.any(init) else None


def _fit_init_score(loss: Loss, data: Data) -> np.ndarray | None:
    """The loss's init score on ``data`` (None where it is 0)."""
    return _nonzero(_check_init_score(loss, loss.fit_init_score(data.y, data.weight)))


def _full_init_score(init: np.ndarray, n_rows: int) -> np.ndarray:
    if init.shape[0] == 1:
        return np.full(n_rows, init[0])
    return np.tile(init, (n_rows, 1))


def _fold_init_score(booster: lgb.Booster, init: np.ndarray) -> None:
    """Add the init score to every leaf of the first iteration's trees (one per class)."""
    for tree, n_leaves in enumerate(_first_iteration_leaves(booster, init.shape[0])):
        if init[tree] == 0.0:
            continue
        for leaf in range(n_leaves):
            booster.set_leaf_output(tree, leaf, booster.get_leaf_output(tree, leaf) + float(init[tree]))


def _constant_booster(
    feature_names: Sequence[str], init: np.ndarray, params: Mapping[str, Any], pandas_categorical: Any = None
) -> lgb.Booster:
    """A model of one iteration whose trees (one per output) are single leaves
    holding ``start``: what LightGBM's built-in objectives train when no
    feature can be split on."""
    k = init.shape[0]
    rows = max(k, 2)
    probe = {"objective": "regression", "verbose": -1, "num_threads": 1, "min_data_in_leaf": 1,
             "min_data_in_bin": 1, "boost_from_average": False}
    if k > 1:
        probe.update(objective="multiclass", num_class=k)
    # All-zero features: LightGBM keeps none and stores a constant tree per output.
    ds = lgb.Dataset(np.zeros((rows, len(feature_names))), label=np.arange(rows) % k, feature_name=list(feature_names))
    booster = lgb.train(probe, ds, 1)
    if booster.num_trees() != k:
        raise RuntimeError(f"a constant LightGBM model needs {k} trees, got {booster.num_trees()}")
    for tree in range(k):
        booster.set_leaf_output(tree, 0, float(init[tree]))
    booster.free_dataset()
    booster.pandas_categorical = pandas_categorical
    booster.params = {key: value for key, value in params.items() if key != "objective"}
    return booster


def _constant_from(exc: NoUsableFeaturesError, ds: lgb.Dataset, loss: Loss, init: np.ndarray | None,
                   params: Mapping[str, Any]) -> lgb.Booster:
    warnings.warn(
        f"{_NO_FEATURES}: the model is the constant init score, as with LightGBM's built-in objectives",
        UserWarning,
        stacklevel=3,
    )
    full = np.zeros(loss.n_outputs) if init is None else init
    return _constant_booster(ds.get_feature_name(), full, params, getattr(ds, "pandas_categorical", None))
