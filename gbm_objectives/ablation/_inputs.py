"""Checks of the ablation's arguments: each raises a ValueError that names the argument and the problem
(an ImportError naming the extra when a backend's booster is missing)."""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from .._validation import check_sample_weight, check_scalar
from ..losses import Loss

BACKENDS = ("xgboost", "lightgbm")
#: Each backend is an optional extra of the same name.
_BOOSTER_NAMES = {"xgboost": "XGBoost", "lightgbm": "LightGBM"}


def _check_X(X: Any) -> np.ndarray:
    if isinstance(X, pd.DataFrame):
        bad = [str(c) for c, dt in X.dtypes.items()
               if not (pd.api.types.is_numeric_dtype(dt) or pd.api.types.is_bool_dtype(dt))]
        if bad:
            raise ValueError(f"X has non-numeric column(s) {', '.join(bad[:5])}; encode them as numbers first")
        arr = X.to_numpy(dtype=np.float32, na_value=np.nan)
    else:
        try:
            arr = np.asarray(X, dtype=np.float32)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"X must be a numeric 2-D array or DataFrame: {exc}") from exc
    if arr.ndim != 2:
        raise ValueError(f"X must be 2-D (rows x features), got shape {arr.shape}")
    if arr.shape[1] == 0:
        raise ValueError("X has no feature columns")
    if np.isinf(arr).any():
        raise ValueError("X contains infinite values (NaN is allowed: boosters treat it as missing)")
    return np.ascontiguousarray(arr)


def _check_y(y: Any, n_rows: int) -> np.ndarray:
    if isinstance(y, (pd.Series, pd.Index)) and pd.api.types.is_numeric_dtype(y.dtype):
        y = y.to_numpy(dtype=np.float64, na_value=np.nan)  # nullable dtypes: NA becomes NaN
    arr = np.asarray(y)
    if arr.ndim != 1:
        raise ValueError(f"y must be 1-D, got shape {arr.shape}")
    if arr.dtype.kind not in "biuf":
        raise ValueError(f"y must be numeric, got dtype {arr.dtype}")
    arr = arr.astype(np.float64)
    if arr.shape[0] != n_rows:
        raise ValueError(f"X has {n_rows} rows but y has {arr.shape[0]}")
    nan = int(np.isnan(arr).sum())
    if nan:
        raise ValueError(f"y contains {nan} NaN value(s); drop or fill them first")
    if not np.isfinite(arr).all():
        raise ValueError("y contains infinite values")
    return arr


def _check_groups(groups: Any, n_rows: int) -> np.ndarray | None:
    if groups is None:
        return None
    g = np.asarray(groups)
    if g.ndim != 1 or g.shape[0] != n_rows:
        raise ValueError(f"groups must have one entry per row ({n_rows}), got shape {g.shape}")
    if pd.isna(g).any():
        raise ValueError("groups contains missing values")
    return g


def _check_int(value: Any, name: str, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    return int(value)


def _check_cv(cv: Any, n_rows: int, groups: np.ndarray | None) -> int:
    cv = _check_int(cv, "cv", 2)
    if cv > n_rows:
        raise ValueError(f"cv={cv} folds need at least {cv} rows; got {n_rows}")
    if groups is not None:
        n_groups = len(pd.unique(groups))
        if cv > n_groups:
            raise ValueError(f"cv={cv} folds need at least {cv} groups; got {n_groups}")
    return cv


def _check_backend(backend: Any) -> str:
    """The backend name, once its booster imports: a missing one is reported before any fold is cut."""
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(map(repr, BACKENDS))}; got {backend!r}")
    try:
        importlib.import_module(backend)
    except ImportError as exc:
        raise ImportError(f"backend={backend!r} needs {_BOOSTER_NAMES[backend]}, which cannot be imported "
                          f"({exc}): pip install 'gbm-objectives[{backend}]' (or, from a source checkout, "
                          f"pip install -e '.[{backend}]'), or choose the other booster with "
                          f"backend={'lightgbm' if backend == 'xgboost' else 'xgboost'!r}") from exc
    return backend


def _check_n_jobs(n_jobs: Any) -> int:
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, (int, np.integer)) or n_jobs == 0 or n_jobs < -1:
        raise ValueError(f"n_jobs must be a positive integer or -1 (all cores), got {n_jobs!r}")
    return (os.cpu_count() or 1) if n_jobs == -1 else int(n_jobs)


def _check_params(params: Any) -> dict[str, Any]:
    if params is None:
        return {}
    if not isinstance(params, dict):
        raise ValueError(f"params must be a dict of booster parameters, got {type(params).__name__}")
    return dict(params)


def _check_random_state(random_state: Any) -> int:
    if isinstance(random_state, bool) or not isinstance(random_state, (int, np.integer)) or random_state < 0:
        raise ValueError(f"random_state must be a non-negative integer, got {random_state!r}")
    return int(random_state)


def _check_powers(powers: Any) -> list[float]:
    if isinstance(powers, (str, bytes)) or not isinstance(powers, Iterable):
        raise ValueError(f"powers must be a sequence of numbers in [1, 2], got {powers!r}")
    out = [check_scalar(p, "each power", low=1.0, high=2.0) for p in powers]
    if not out:
        raise ValueError("powers is empty; give at least one Tweedie power in [1, 2]")
    if len(set(out)) != len(out):
        raise ValueError(f"powers has duplicates: {out}")
    return sorted(out)


def _prepare(X, y, sample_weight, groups, cv, backend, params, num_boost_round, random_state, n_jobs, progress):
    Xa = _check_X(X)
    ya = _check_y(y, Xa.shape[0])
    w = check_sample_weight(sample_weight, Xa.shape[0])
    w = None if w.shape[0] == 0 else np.asarray(w, dtype=np.float64)
    g = _check_groups(groups, Xa.shape[0])
    cv = _check_cv(cv, Xa.shape[0], g)
    backend = _check_backend(backend)
    params = _check_params(params)
    rounds = _check_int(num_boost_round, "num_boost_round", 1)
    seed = _check_random_state(random_state)
    jobs = _check_n_jobs(n_jobs)
    if not isinstance(progress, bool):
        raise ValueError(f"progress must be True or False, got {progress!r}")
    return Xa, ya, w, g, cv, backend, params, rounds, seed, jobs


def _check_labels(loss: Loss, label: str, y: np.ndarray) -> None:
    try:
        loss.check_labels(y)
    except ValueError as exc:
        raise ValueError(f"loss {label} does not fit this target: {exc}") from exc


def _check_deviance_power(value: Any) -> float:
    return check_scalar(value, "deviance_power", low=1.0, high=2.0, high_inclusive=False)
