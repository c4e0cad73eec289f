"""Loss objects: parameters, label domain, link, init score, loss value and
gradient/Hessian with respect to the booster's raw margin.

The package mirrors :mod:`gbm_objectives.kernels`: one module per family
(``regression``, ``tweedie``, ``binary``, ``multiclass``, ``ranking``,
``intervals``, ``distributional``), the
contract every loss follows in ``_base`` and the registry with the spec
grammar in ``_registry``. Every loss is registered by name; adapters,
metrics, the ablation and the test suite all read losses from
:func:`get_loss` / :func:`available_losses`.
"""

from __future__ import annotations

from .._stats import weighted_median as _weighted_quantile_half  # noqa: F401  (former private name)
from ._base import MARGIN_LIMIT, LeafRefit, Loss
from ._family import DistributionLoss
from ._registry import (
    _REGISTRY,  # noqa: F401  (read by code written against earlier releases)
    as_loss,
    available_losses,
    get_loss,
    get_loss_class,
    parse_loss,
    register_loss,
    split_loss_spec,
)
from .binary import Focal, Logistic
from .count_families import NegativeBinomial
from .distributional import GammaShape, LogNormal, Normal, StudentT
from .intervals import MultiExpectile, MultiQuantile
from .multiclass import Softmax, SoftmaxFocal, _Multiclass  # noqa: F401
from .ranking import InfoNCE
from .regression import AbsoluteError, Expectile, Huber, LogCosh, PseudoHuber, Quantile, SquaredError
from .tweedie import Gamma, Poisson, Tweedie
from .zero_heavy import HurdleGamma, HurdleLognormal, TweedieDispersion, ZeroInflatedPoisson

__all__ = [
    "Loss",
    "LeafRefit",
    "MARGIN_LIMIT",
    "SquaredError",
    "AbsoluteError",
    "Expectile",
    "Huber",
    "PseudoHuber",
    "LogCosh",
    "Quantile",
    "MultiQuantile",
    "MultiExpectile",
    "DistributionLoss",
    "Normal",
    "LogNormal",
    "StudentT",
    "NegativeBinomial",
    "GammaShape",
    "TweedieDispersion",
    "HurdleGamma",
    "HurdleLognormal",
    "ZeroInflatedPoisson",
    "Poisson",
    "Gamma",
    "Tweedie",
    "Logistic",
    "Focal",
    "Softmax",
    "SoftmaxFocal",
    "InfoNCE",
    "get_loss",
    "get_loss_class",
    "as_loss",
    "parse_loss",
    "split_loss_spec",
    "available_losses",
    "register_loss",
]
