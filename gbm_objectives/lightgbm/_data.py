"""What the adapter reads from LightGBM Datasets: validated labels, weights
and groups, the raw features behind them, and whether any feature can be
split on."""

from __future__ import annotations

from typing import Any

import lightgbm as lgb
import numpy as np

from .._adapters import Data, DataCache, check_margin
from .._validation import group_offsets
from ..losses import Loss

_BOOSTER = "LightGBM"
_GROUP_HINT = "build the Dataset with group= (group sizes)"


def _constructed(ds: lgb.Dataset) -> bool:
    """Whether LightGBM built the Dataset (a failed build leaves a null handle)."""
    handle = ds._handle
    return handle is not None and bool(getattr(handle, "value", handle))


def _dataset_data(loss: Loss, ds: lgb.Dataset, what: str) -> Data:
    """Labels, weights and groups of a constructed Dataset, exactly as LightGBM stores them."""
    y = ds.get_field("label")
    if y is None:
        raise ValueError(f"{what} has no labels")
    groups = ds.get_field("group") if loss.needs_group else None
    return Data(loss, y, ds.get_field("weight"), groups, what, _GROUP_HINT)


def _python_side_data(loss: Loss, ds: lgb.Dataset, what: str) -> Data:
    """Like :func:`_dataset_data`, before the Dataset is constructed (float32, as LightGBM will store it)."""
    if _constructed(ds) or ds.label is None:
        return _dataset_data(loss, ds.construct(), what)
    y = np.asarray(ds.label, dtype=np.float32).reshape(-1)
    weight = None if ds.weight is None else np.asarray(ds.weight, dtype=np.float32).reshape(-1)
    offsets = None
    if loss.needs_group and ds.group is not None:
        offsets = group_offsets(np.asarray(ds.group).reshape(-1), y.shape[0])
    return Data(loss, y, weight, offsets, what, _GROUP_HINT)


def _cached_data(cache: DataCache, loss: Loss, ds: lgb.Dataset, what: str) -> Data:
    """The Dataset's validated data, read again when LightGBM bumps its ``version``
    (labels or weights replaced)."""
    return cache.get(ds, getattr(ds, "version", 0), lambda: _dataset_data(loss, ds, what))


def _check_margin(loss: Loss, preds: Any, n_rows: int) -> np.ndarray:
    return check_margin(loss, preds, n_rows, _BOOSTER, flat_class_major=True)


class NoUsableFeaturesError(ValueError):
    """The training data has no feature LightGBM can split on.

    LightGBM's built-in objectives then train a constant model (their init
    score), but it aborts on custom gradients. :func:`train` and the
    estimators catch this error and return the constant init-score model.
    """

    def __init__(self, message: str, booster: lgb.Booster | None = None) -> None:
        super().__init__(message)
        self.booster = booster


_NO_FEATURES = (
    "no feature of the training data can be split on (every feature is constant, or there are too few rows "
    "for min_data_in_leaf / min_data_in_bin)"
)


def _has_usable_feature(ds: lgb.Dataset) -> bool:
    """Whether LightGBM kept at least one feature of the constructed Dataset
    (it reports 0 bins for a feature it dropped)."""
    return any(ds.feature_num_bin(i) > 0 for i in range(ds.num_feature()))


def _check_usable_features(ds: lgb.Dataset, booster: lgb.Booster | None = None) -> None:
    if not _has_usable_feature(ds):
        raise NoUsableFeaturesError(
            f"training data: {_NO_FEATURES}; LightGBM cannot train a custom objective without one "
            "(gbm_objectives.lightgbm.train and its estimators return the constant init-score model)",
            booster,
        )


class _FeatureCheck:
    """Callback that stops training before the first tree when LightGBM could
    grow none from custom gradients: its first ``update`` under a custom
    objective aborts with an internal check failure."""

    before_iteration = True
    order = -(10**9) - 1

    def __init__(self) -> None:
        self.done = False

    def __call__(self, env: Any) -> None:
        if not self.done:
            self.done = True
            _check_usable_features(env.model.train_set, env.model)


def _n_rows(raw: Any) -> int:
    shape = getattr(raw, "shape", None)
    if shape is not None:
        return int(shape[0])
    return len(raw)


def _raw_data(ds: lgb.Dataset, what: str) -> Any:
    """The raw feature matrix behind a Dataset (needed to find each row's leaf)."""
    raw = ds.data
    if ds.used_indices is not None:
        raise ValueError(f"leaf refit does not support Dataset subsets ({what})")
    if raw is None:
        raise ValueError(
            f"leaf refit needs the raw features of {what}, which were freed: build the Dataset with "
            "free_raw_data=False or pass it unconstructed (or pass refit_leaves=False)"
        )
    if isinstance(raw, (str, bytes)) or hasattr(raw, "__fspath__"):
        raise ValueError(f"leaf refit needs in-memory features; {what} was built from a file")
    return raw


def _own_init_score(ds: lgb.Dataset) -> Any:
    return ds.get_init_score() if _constructed(ds) else ds.init_score


def _dataset_rows(ds: lgb.Dataset) -> int:
    if not _constructed(ds) and ds.label is not None:
        return _n_rows(ds.label)
    return ds.construct().num_data()
