"""How :class:`~gbm_objectives.intervals.PredictionIntervals` hands features to the boosters.

Numeric arrays and numeric DataFrames reach the boosters as float64 arrays.
A DataFrame with pandas ``category`` columns becomes the ablation's
:class:`~gbm_objectives.ablation._inputs.FeatureMatrix`: float64 values whose
categorical columns hold category codes, trained and predicted through the
ablation's booster helpers (XGBoost ``enable_categorical`` with feature type
``"c"``, LightGBM ``categorical_feature``). :class:`CategoryEncoder` records
the columns and categories seen by ``fit`` and codes every later table with
them, so a category has one code on every calibration split, every cross
fold and at predict time; a category ``fit`` never saw is missing (NaN),
which both boosters route as they route missing values.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.utils.validation import check_X_y, validate_data

from .ablation._fits import _lgb_dataset, _xgb_matrix
from .ablation._inputs import FeatureMatrix

#: XGBoost stores features as float32, which holds integer codes exactly up to 2**24.
_MAX_CATEGORIES = 2**24


def _text_columns(X: pd.DataFrame) -> list[str]:
    """Columns neither categorical nor convertible to float (what a float conversion would refuse)."""
    bad = []
    for j, (name, dt) in enumerate(X.dtypes.items()):
        if isinstance(dt, pd.CategoricalDtype) or pd.api.types.is_numeric_dtype(dt) or pd.api.types.is_bool_dtype(dt):
            continue
        try:
            # Object columns of numbers were always accepted: keep them.
            np.asarray(X.iloc[:, j], dtype=np.float64)
        except (TypeError, ValueError):
            bad.append(f"{name!s} ({dt})")
    return bad


def check_frame_dtypes(X: Any) -> None:
    """Refuse a DataFrame's text columns with advice, before any conversion to float fails less clearly."""
    if not isinstance(X, pd.DataFrame):
        return
    text = _text_columns(X)
    if text:
        raise ValueError(f"X has non-numeric column(s) {', '.join(text[:5])}; convert text columns to the pandas "
                         "'category' dtype (X[col] = X[col].astype('category')) to use them as categorical "
                         "features, or encode them as numbers")


class CategoryEncoder:
    """The columns of a fit-time DataFrame and the categories of its categorical columns.

    Parameters
    ----------
    columns : list
        The fit table's column labels, in order.
    categories : dict of int to pandas.Index
        Position of each categorical column and its categories at fit.
    """

    def __init__(self, columns: list[Any], categories: dict[int, pd.Index]) -> None:
        self.columns = columns
        self.categories = categories

    @classmethod
    def from_frame(cls, X: Any) -> CategoryEncoder | None:
        """The encoder of a DataFrame with categorical columns; None for anything else."""
        if not isinstance(X, pd.DataFrame):
            return None
        categories = {j: dt.categories for j, dt in enumerate(X.dtypes) if isinstance(dt, pd.CategoricalDtype)}
        if not categories:
            return None
        for j, cats in categories.items():
            if len(cats) > _MAX_CATEGORIES:
                raise ValueError(f"categorical column {X.columns[j]!s} has {len(cats)} categories; "
                                 f"at most {_MAX_CATEGORIES} are supported")
        return cls(list(X.columns), categories)

    @property
    def categorical_names(self) -> list[Any]:
        return [self.columns[j] for j in self.categories]

    def _check_columns(self, X: pd.DataFrame) -> None:
        got = list(X.columns)
        if got == self.columns:
            return
        missing = [c for c in self.columns if c not in got]
        extra = [c for c in got if c not in self.columns]
        if missing:
            raise ValueError(f"X lacks column(s) {', '.join(map(str, missing[:5]))} seen at fit; give the fit's "
                             f"columns {self.columns!r}")
        if extra:
            raise ValueError(f"X has column(s) {', '.join(map(str, extra[:5]))} not seen at fit; give the fit's "
                             f"columns {self.columns!r}")
        if len(got) != len(self.columns):
            raise ValueError(f"X has duplicate columns; give the fit's columns {self.columns!r}")
        first = next(i for i, (a, b) in enumerate(zip(got, self.columns)) if a != b)
        raise ValueError(f"X's columns are in another order than at fit: column {first} is {got[first]!s}, at fit "
                         f"it was {self.columns[first]!s}; select X[{self.columns!r}]")

    def encode(self, X: Any) -> FeatureMatrix:
        """``X`` as float64 values with the fit's category codes in its categorical columns.

        Missing values and categories unseen at fit become NaN. Raises
        ValueError when ``X`` is not a DataFrame with the fit's columns, or
        when a column's kind (categorical or numeric) differs from the fit's.
        """
        if not isinstance(X, pd.DataFrame):
            raise ValueError(f"the model was fitted on a DataFrame with categorical column(s) "
                             f"{', '.join(map(str, self.categorical_names))}; predict needs a DataFrame with the "
                             f"same columns, got {type(X).__name__}")
        self._check_columns(X)
        for j, (name, dt) in enumerate(X.dtypes.items()):
            is_cat = isinstance(dt, pd.CategoricalDtype)
            if j in self.categories and not is_cat:
                raise ValueError(f"column {name!s} was categorical at fit but has dtype {dt} now; "
                                 f"convert it with X[{name!r}].astype('category')")
            if is_cat and j not in self.categories:
                raise ValueError(f"column {name!s} was numeric at fit but is categorical now; give it as at "
                                 "fit (or refit with it categorical)")
        check_frame_dtypes(X)
        columns = []
        for j in range(X.shape[1]):
            col = X.iloc[:, j]
            if j in self.categories:
                fitted, given = self.categories[j], col.cat.categories
                if (given.dtype.kind != fitted.dtype.kind and col.notna().any()
                        and not given.isin(fitted).any()):
                    # Every value would be missing: "1" is not 1.
                    raise ValueError(
                        f"column {X.columns[j]!s}: its categories ({given.dtype}, e.g. {given.tolist()[0]!r}) "
                        f"share no value with the fit's ({fitted.dtype}, e.g. {fitted.tolist()[0]!r}); give the "
                        "values as at fit")
                # Codes of the fit's categories: a value the fit never saw is missing.
                codes = col.cat.set_categories(self.categories[j]).cat.codes.to_numpy()
                columns.append(np.where(codes < 0, np.nan, codes.astype(np.float64)))
            else:
                columns.append(np.asarray(col.to_numpy(dtype=np.float64, na_value=np.nan), dtype=np.float64))
        values = np.column_stack(columns) if columns else np.empty((X.shape[0], 0))
        if np.isinf(values).any():
            raise ValueError("X contains infinite values (NaN is allowed: boosters treat it as missing)")
        return FeatureMatrix(np.ascontiguousarray(values), tuple(self.categories), tuple(map(str, self.columns)))


def fit_features(estimator: Any, X: Any, y: Any) -> tuple[np.ndarray | FeatureMatrix, np.ndarray]:
    """Features for the boosters and float64 labels, checked; sets the estimator's fitted feature attributes.

    ``n_features_in_``, ``feature_names_in_`` (scikit-learn's rules),
    ``category_encoder_`` (None without categorical columns) and
    ``categorical_features_``. Without categorical columns the features are
    the float64 array scikit-learn's ``validate_data`` gives.
    """
    encoder = CategoryEncoder.from_frame(X)
    estimator.category_encoder_ = encoder
    estimator.categorical_features_ = [] if encoder is None else encoder.categorical_names
    if encoder is None:
        check_frame_dtypes(X)  # encode() checks the text columns of a table with categories
        return validate_data(estimator, X, y, dtype=np.float64, y_numeric=True, ensure_all_finite="allow-nan")
    validate_data(estimator, X, y, skip_check_array=True)  # sets feature_names_in_ and n_features_in_
    features = encoder.encode(X)
    _, y = check_X_y(features.values, y, dtype=np.float64, y_numeric=True, ensure_all_finite="allow-nan")
    return features, y


def predict_features(estimator: Any, X: Any) -> np.ndarray | FeatureMatrix:
    """Features for a fitted estimator's boosters, coded as at fit."""
    encoder = getattr(estimator, "category_encoder_", None)  # absent from models pickled before categories
    if encoder is not None:
        return encoder.encode(X)
    if isinstance(X, pd.DataFrame):
        cats = [str(c) for c, dt in X.dtypes.items() if isinstance(dt, pd.CategoricalDtype)]
        if cats:
            raise ValueError(f"column(s) {', '.join(cats[:5])} are categorical but the model was fitted without "
                             "categorical columns; give them as at fit (or refit with them categorical)")
        check_frame_dtypes(X)
    return validate_data(estimator, X, dtype=np.float64, reset=False, ensure_all_finite="allow-nan")


def train(backend: str, loss: Any, params: dict, X: np.ndarray | FeatureMatrix, y: np.ndarray,
          w: np.ndarray | None, rounds: int) -> Any:
    """One booster trained on ``loss`` through the library's adapter."""
    if backend == "lightgbm":
        import lightgbm as lgb

        from . import lightgbm as glgb

        if isinstance(X, FeatureMatrix):
            data = _lgb_dataset(X, {"verbose": params.get("verbosity", -1)}, label=y, weight=w)
        else:
            data = lgb.Dataset(X, y, weight=w)
        return glgb.train(loss, params, data, rounds)
    import xgboost as xgb

    from . import xgboost as gx

    if isinstance(X, FeatureMatrix):
        data = _xgb_matrix(X, params.get("nthread"), label=y, weight=w)
    else:
        data = xgb.DMatrix(X, y, weight=w)
    return gx.train(loss, params, data, rounds)


def predict(backend: str, booster: Any, X: np.ndarray | FeatureMatrix, nthread: int | None = None) -> np.ndarray:
    """The booster's (n, 3) quantile predictions."""
    if backend == "lightgbm":
        from . import lightgbm as glgb

        # The model records which columns are categorical; the codes are the values.
        return glgb.predict(booster, X.values if isinstance(X, FeatureMatrix) else X)
    from . import xgboost as gx

    if isinstance(X, FeatureMatrix):
        X = _xgb_matrix(X, nthread)
    return gx.predict(booster, X)
