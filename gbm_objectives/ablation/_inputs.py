"""Checks of the ablation's arguments: each raises a ValueError that names the argument and the problem
(an ImportError naming the extra when a backend's booster is missing)."""

from __future__ import annotations

import importlib
import os
import warnings
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np
import pandas as pd

from .._validation import check_sample_weight, check_scalar
from ..losses import Loss

BACKENDS = ("xgboost", "lightgbm")
#: Each backend is an optional extra of the same name.
_BOOSTER_NAMES = {"xgboost": "XGBoost", "lightgbm": "LightGBM"}


class FeatureMatrix:
    """Features with categorical columns: float32 values whose categorical columns hold category codes.

    The codes come from the whole table's categories (``Series.cat.codes``;
    missing is NaN), so every fold sees the same code for the same category
    and the boosters are told which columns are categorical. Indexing with
    row indices (``X[rows]``) gives the rows with the same columns; splitters
    read ``shape`` and ``len``. Tables without categorical columns stay
    plain arrays.
    """

    __slots__ = ("values", "categorical", "names")

    def __init__(self, values: np.ndarray, categorical: tuple[int, ...], names: tuple[str, ...]) -> None:
        self.values = values
        self.categorical = categorical
        self.names = names

    @property
    def shape(self) -> tuple[int, ...]:
        return self.values.shape

    def __len__(self) -> int:
        return int(self.values.shape[0])

    def __getitem__(self, rows: Any) -> FeatureMatrix:
        if isinstance(rows, tuple):
            raise TypeError("FeatureMatrix selects rows only")
        return FeatureMatrix(self.values[rows], self.categorical, self.names)

    def __getstate__(self) -> tuple[Any, ...]:
        return self.values, self.categorical, self.names

    def __setstate__(self, state: tuple[Any, ...]) -> None:
        self.values, self.categorical, self.names = state

    @property
    def categorical_names(self) -> list[str]:
        return [self.names[j] for j in self.categorical]


def _frame_values(X: pd.DataFrame) -> tuple[np.ndarray, tuple[int, ...]]:
    """The frame as float32 with category codes in its categorical columns (their positions second)."""
    text, categorical = [], []
    for j, (name, dt) in enumerate(X.dtypes.items()):
        if isinstance(dt, pd.CategoricalDtype):
            categorical.append(j)
        elif not (pd.api.types.is_numeric_dtype(dt) or pd.api.types.is_bool_dtype(dt)):
            text.append(f"{name} ({dt})")
    if text:
        raise ValueError(f"X has non-numeric column(s) {', '.join(text[:5])}; convert text columns to the pandas "
                         "'category' dtype (X[col] = X[col].astype('category')) to use them as categorical "
                         "features, or encode them as numbers")
    if not categorical:
        return X.to_numpy(dtype=np.float32, na_value=np.nan), ()
    columns = []
    for j in range(X.shape[1]):
        col = X.iloc[:, j]
        if j in categorical:
            codes = col.cat.codes.to_numpy()
            if len(col.cat.categories) > 2**24:  # float32 holds integers exactly up to 2**24
                raise ValueError(f"categorical column {X.columns[j]!s} has {len(col.cat.categories)} categories; "
                                 f"at most {2**24} are supported")
            columns.append(np.where(codes < 0, np.nan, codes).astype(np.float32))
        else:
            columns.append(col.to_numpy(dtype=np.float32, na_value=np.nan))
    return np.column_stack(columns), tuple(categorical)


def _check_X(X: Any) -> np.ndarray | FeatureMatrix:
    categorical: tuple[int, ...] = ()
    if isinstance(X, pd.DataFrame):
        arr, categorical = _frame_values(X)
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
    arr = np.ascontiguousarray(arr)
    if categorical:
        return FeatureMatrix(arr, categorical, tuple(str(c) for c in X.columns))
    return arr


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


_CV_KINDS = ("an integer >= 2, a scikit-learn splitter (an object with split(X, y, groups) and get_n_splits(), "
             "such as KFold, GroupKFold, StratifiedKFold or TimeSeriesSplit) or an iterable of (train, test) index "
             "pairs")


class Folds:
    """Train/test row indices from a splitter, checked once; ``split`` hands out the same folds again.

    ``repr`` is the splitter's (what the results record); ``disjoint`` says
    whether each row is in at most one test fold and ``n_tested`` how many
    rows are in some test fold (TimeSeriesSplit never tests its first block).
    """

    def __init__(self, folds: list[tuple[np.ndarray, np.ndarray]], description: str, n_rows: int) -> None:
        self.folds = folds
        self.description = description
        counts = np.zeros(n_rows, dtype=np.int64)
        for _, test in folds:
            np.add.at(counts, test, 1)
        self.disjoint = bool(counts.max() <= 1)
        self.n_tested = int(np.count_nonzero(counts))

    def split(self, X: Any = None, y: Any = None, groups: Any = None) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        return iter(self.folds)

    def get_n_splits(self, X: Any = None, y: Any = None, groups: Any = None) -> int:
        return len(self.folds)

    def __len__(self) -> int:
        return len(self.folds)

    def __repr__(self) -> str:
        return self.description


def _fold_rows(rows: Any, n_rows: int, where: str) -> np.ndarray:
    arr = np.asarray(rows)
    if arr.ndim != 1:
        raise ValueError(f"{where} must be a 1-D array of row indices, got shape {arr.shape}")
    if arr.dtype == bool:
        if arr.shape[0] != n_rows:
            raise ValueError(f"{where} is a boolean mask of {arr.shape[0]} entries for {n_rows} rows")
        return np.flatnonzero(arr)
    if arr.size == 0:
        return np.empty(0, dtype=np.int64)
    if arr.dtype.kind not in "iu":
        raise ValueError(f"{where} must hold integer row indices, got dtype {arr.dtype}")
    arr = arr.astype(np.int64)
    low, high = int(arr.min()), int(arr.max())
    if low < 0 or high >= n_rows:
        bad = low if low < 0 else high
        raise ValueError(f"{where} has row index {bad}, out of range for {n_rows} rows (0..{n_rows - 1})")
    return arr


def _splitter_folds(cv: Any, X: Any, y: Any, groups: np.ndarray | None, n_rows: int) -> Folds:
    """Check a splitter or an iterable of (train, test) pairs and cut its folds."""
    if hasattr(cv, "split") and hasattr(cv, "get_n_splits"):
        name = repr(cv)
        try:
            raw = list(cv.split(X, y, groups))
        except (ValueError, TypeError) as exc:
            if groups is None and "group" in str(exc).lower():
                raise ValueError(f"cv={name} needs groups: pass groups= (one group id per row)") from exc
            raise ValueError(f"cv={name} could not split the data: {exc}") from exc
    elif isinstance(cv, Iterable) and not isinstance(cv, (str, bytes, dict)):
        raw = list(cv)
        name = f"{len(raw)} (train, test) index pairs"
    else:
        raise ValueError(f"cv must be {_CV_KINDS}; got {cv!r}")
    if len(raw) < 2:
        raise ValueError(f"cv={name} gives {len(raw)} fold(s); cross-validation needs at least 2")
    folds = []
    for k, pair in enumerate(raw):
        try:
            train, test = pair
        except (TypeError, ValueError) as exc:
            raise ValueError(f"fold {k} of cv={name} is not a (train, test) pair of row indices") from exc
        train = _fold_rows(train, n_rows, f"the training rows of fold {k} of cv={name}")
        test = _fold_rows(test, n_rows, f"the test rows of fold {k} of cv={name}")
        for rows, part in ((train, "training"), (test, "test")):
            if rows.size == 0:
                raise ValueError(f"fold {k} of cv={name} has an empty {part} set")
        both = np.intersect1d(train, test)
        if both.size:
            raise ValueError(f"fold {k} of cv={name} has {both.size} row(s) in both its training and test set "
                             f"(first: {int(both[0])})")
        if groups is not None:
            shared = np.intersect1d(groups[train], groups[test])
            if shared.size:
                warnings.warn(f"fold {k} of cv={name} puts rows of {shared.size} group(s) in both training and "
                              "test; a group splitter (GroupKFold, ...) keeps each group on one side",
                              UserWarning, stacklevel=4)
        folds.append((train, test))
    return Folds(folds, name, n_rows)


def _check_cv(cv: Any, n_rows: int, groups: np.ndarray | None, X: Any = None, y: Any = None) -> int | Folds:
    """An integer fold count as it is, or a splitter's checked folds (see :class:`Folds`).

    The splitter sees ``X`` as the caller gave it (a DataFrame stays one) and
    the checked ``y`` and ``groups``.
    """
    if isinstance(cv, Folds):
        return cv
    if cv is None or isinstance(cv, (bool, int, float, np.integer, np.floating, str, bytes)):
        if isinstance(cv, (str, bytes)) or cv is None:
            raise ValueError(f"cv must be {_CV_KINDS}; got {cv!r}")
        cv = _check_int(cv, "cv", 2)
        if cv > n_rows:
            raise ValueError(f"cv={cv} folds need at least {cv} rows; got {n_rows}")
        if groups is not None:
            n_groups = len(pd.unique(groups))
            if cv > n_groups:
                raise ValueError(f"cv={cv} folds need at least {cv} groups; got {n_groups}")
        return cv
    return _splitter_folds(cv, np.empty((n_rows, 0)) if X is None else X, y, groups, n_rows)


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


def _check_client(client: Any, n_jobs: int) -> Any:
    """``client`` itself when it is a running synchronous dask.distributed ``Client`` (or None).

    The fits run either on the cluster or in ``n_jobs`` local processes, never
    both: ``n_jobs`` other than 1 with a client is a ValueError. Without the
    ``dask`` extra an ImportError names it.
    """
    if client is None:
        return None
    try:
        from distributed import Client
    except ImportError as exc:
        raise ImportError(f"client= needs dask.distributed, which cannot be imported ({exc}): "
                          "pip install 'gbm-objectives[dask]' (or, from a source checkout, "
                          "pip install -e '.[dask]')") from exc
    if not isinstance(client, Client):
        raise ValueError(f"client must be a dask.distributed Client (or None: fit in this process), got "
                         f"{type(client).__name__}")
    if n_jobs != 1:
        raise ValueError(f"n_jobs={n_jobs} and client= both choose where the fits run: with a client every "
                         "(configuration, fold) fit is a task on the cluster's workers, so leave n_jobs at 1 "
                         "(give the cluster more workers instead)")
    if getattr(client, "asynchronous", False):
        raise ValueError("client is asynchronous; the ablation waits for its fits: give a synchronous Client")
    if client.status != "running":
        raise ValueError(f"client is not connected to a cluster (status {client.status!r}); "
                         "give a running Client")
    return client


def _check_params(params: Any, backend: str) -> dict[str, Any]:
    """The booster parameters; on LightGBM, whose warnings the panels silence, unknown names are refused."""
    if params is None:
        return {}
    if not isinstance(params, dict):
        raise ValueError(f"params must be a dict of booster parameters, got {type(params).__name__}")
    if backend == "lightgbm":
        from ..lightgbm._params import check_param_names

        check_param_names(params)
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
    cv = _check_cv(cv, Xa.shape[0], g, X, ya)
    backend = _check_backend(backend)
    params = _check_params(params, backend)
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


def _check_early_stopping(value: Any) -> int | None:
    if value is None:
        return None
    return _check_int(value, "early_stopping_rounds", 1)


def _check_deviance_power(value: Any) -> float:
    return check_scalar(value, "deviance_power", low=1.0, high=2.0, high_inclusive=False)
