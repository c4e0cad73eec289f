"""Loss functions for gradient-boosted trees as fast, verified Numba kernels.

Every loss returns the gradient and Hessian with respect to the booster's raw
margin, knows its link, its loss value, its init score (best constant margin) and how to turn
margins into predictions. Adapters for XGBoost and LightGBM live in
:mod:`gbm_objectives.xgboost` and :mod:`gbm_objectives.lightgbm`; neither
booster is imported until those modules are.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from .distributions import Distribution
from .domains import ClassLabels, Counts, Domain, Interval, RealLine
from .links import IdentityLink, Link, LogitLink, LogLink, ParameterLink, SoftmaxLink
from .losses import (
    AbsoluteError,
    DistributionLoss,
    Expectile,
    Focal,
    Gamma,
    GammaShape,
    Huber,
    HurdleGamma,
    HurdleLognormal,
    InfoNCE,
    LeafRefit,
    LogCosh,
    Logistic,
    LogNormal,
    Loss,
    MultiExpectile,
    MultiQuantile,
    NegativeBinomial,
    Normal,
    Poisson,
    PseudoHuber,
    Quantile,
    Softmax,
    SoftmaxFocal,
    SquaredError,
    StudentT,
    Tweedie,
    TweedieDispersion,
    ZeroInflatedPoisson,
    as_loss,
    available_losses,
    get_loss,
    get_loss_class,
    parse_loss,
    register_loss,
)

try:
    __version__ = version("gbm-objectives")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

# The ablation layer imports pandas and scikit-learn; load it on first use so
# that importing the losses stays fast.
_LAZY = {
    "ablate_losses": "ablation",
    "sweep_tweedie_power": "ablation",
    "recommend_losses": "ablation",
    "make_tracker_costs": "datasets",
    "PredictionIntervals": "intervals",
    "interval_table": "ablation",
}


def __getattr__(name: str):
    if name in _LAZY:
        from importlib import import_module

        return getattr(import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "PredictionIntervals",
    "ablate_losses",
    "interval_table",
    "make_tracker_costs",
    "recommend_losses",
    "sweep_tweedie_power",
    "AbsoluteError",
    "ClassLabels",
    "Counts",
    "Distribution",
    "DistributionLoss",
    "Domain",
    "Expectile",
    "Focal",
    "Gamma",
    "Huber",
    "IdentityLink",
    "InfoNCE",
    "Interval",
    "LeafRefit",
    "Link",
    "LogCosh",
    "LogLink",
    "Logistic",
    "LogitLink",
    "Loss",
    "MultiExpectile",
    "MultiQuantile",
    "Normal",
    "LogNormal",
    "StudentT",
    "NegativeBinomial",
    "GammaShape",
    "TweedieDispersion",
    "HurdleGamma",
    "HurdleLognormal",
    "ZeroInflatedPoisson",
    "ParameterLink",
    "Poisson",
    "PseudoHuber",
    "Quantile",
    "RealLine",
    "Softmax",
    "SoftmaxFocal",
    "SoftmaxLink",
    "SquaredError",
    "Tweedie",
    "as_loss",
    "available_losses",
    "get_loss",
    "get_loss_class",
    "parse_loss",
    "register_loss",
]
