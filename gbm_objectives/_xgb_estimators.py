"""Where the XGBoost estimators lived before :mod:`gbm_objectives.xgboost` became a package.

Kept so that estimators pickled by earlier releases, which name
``gbm_objectives._xgb_estimators.XGBRegressor`` and so on, still load.
"""

from .xgboost import (
    LeafRefitWarning,
    XGBClassifier,
    XGBRanker,
    XGBRegressor,
    warn_no_refit,
)

__all__ = ["LeafRefitWarning", "XGBClassifier", "XGBRanker", "XGBRegressor", "warn_no_refit"]
