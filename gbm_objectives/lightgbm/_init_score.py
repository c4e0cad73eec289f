"""The init score (start margin) of a training run: the loss's best constant,
set as the Datasets' ``init_score`` while LightGBM trains and folded into the
first iteration's leaves afterwards, and the constant model where no feature
can be split on."""

from __future__ import annotations

import warnings
from typing import Any, Mapping, Sequence

import lightgbm as lgb
import numpy as np

from .._adapters import Data
from .._validation import as_float_array
from ..losses import Loss
from ._data import _NO_FEATURES, NoUsableFeaturesError
from ._model_text import _first_iteration_leaves


def _check_start(loss: Loss, value: Any) -> np.ndarray:
    """A start margin as a float64 array of ``n_outputs`` values."""
    arr = as_float_array(np.atleast_1d(np.asarray(value, dtype=np.float64)), "init_score")
    if arr.shape != (loss.n_outputs,):
        raise ValueError(
            "init_score must be a number" + (f" or {loss.n_outputs} numbers" if loss.is_multiclass else "")
            + f" for {loss!r}; got shape {np.shape(value)}"
        )
    return arr


def _nonzero(start: np.ndarray) -> np.ndarray | None:
    """The start margin, or None where it is 0 everywhere (LightGBM's own start: nothing to add)."""
    return start if np.any(start) else None


def _loss_start(loss: Loss, data: Data) -> np.ndarray | None:
    """The loss's best constant on ``data`` (None where it is 0)."""
    return _nonzero(_check_start(loss, data.best_constant(loss)))


def _full_init_score(start: np.ndarray, n_rows: int) -> np.ndarray:
    if start.shape[0] == 1:
        return np.full(n_rows, start[0])
    return np.tile(start, (n_rows, 1))


def _fold_start(booster: "lgb.Booster", start: np.ndarray) -> None:
    """Add the start margin to every leaf of the first iteration's trees (one per class)."""
    for tree, n_leaves in enumerate(_first_iteration_leaves(booster, start.shape[0])):
        if start[tree] == 0.0:
            continue
        for leaf in range(n_leaves):
            booster.set_leaf_output(tree, leaf, booster.get_leaf_output(tree, leaf) + float(start[tree]))


def _constant_booster(
    feature_names: Sequence[str], start: np.ndarray, params: Mapping[str, Any], pandas_categorical: Any = None
) -> "lgb.Booster":
    """A model of one iteration whose trees (one per output) are single leaves
    holding ``start``: what LightGBM's built-in objectives train when no
    feature can be split on."""
    k = start.shape[0]
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
        booster.set_leaf_output(tree, 0, float(start[tree]))
    booster.free_dataset()
    booster.pandas_categorical = pandas_categorical
    booster.params = {key: value for key, value in params.items() if key != "objective"}
    return booster


def _constant_from(exc: NoUsableFeaturesError, ds: "lgb.Dataset", loss: Loss, start: np.ndarray | None,
                   params: Mapping[str, Any]) -> "lgb.Booster":
    warnings.warn(
        f"{_NO_FEATURES}: the model is the constant start margin, as with LightGBM's built-in objectives",
        UserWarning,
        stacklevel=3,
    )
    full = np.zeros(loss.n_outputs) if start is None else start
    return _constant_booster(ds.get_feature_name(), full, params, getattr(ds, "pandas_categorical", None))
