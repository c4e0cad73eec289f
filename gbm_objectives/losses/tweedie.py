"""Log-link losses of the Tweedie family: Tweedie, Poisson and Gamma deviances."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._stats import weighted_mean
from .._validation import check_choice, check_scalar
from ..domains import Domain, Interval
from ..kernels import tweedie
from ..links import LogLink
from ._base import MARGIN_LIMIT, Loss
from ._registry import register_loss

# ---------------------------------------------------------------------------
# Log link: the Tweedie family
# ---------------------------------------------------------------------------


@register_loss
class Tweedie(Loss):
    """Half Tweedie deviance with log link, ``mu = exp(f)``; y >= 0 (y > 0 at power 2).

    ``loss = y^(2-p)/((1-p)(2-p)) - y mu^(1-p)/(1-p) + mu^(2-p)/(2-p)``,
    gradient ``-y mu^(1-p) + mu^(2-p)``, Hessian
    ``(p-1) y mu^(1-p) + (2-p) mu^(2-p)`` (always positive for y >= 0). At
    ``power = 1`` and ``2`` the Poisson and Gamma deviances are used exactly.
    Matches XGBoost's ``reg:tweedie`` and LightGBM's ``tweedie`` gradients and
    scikit-learn's ``HalfTweedieLoss``.

    Parameters
    ----------
    power : float in [1, 2], default 1.5
        Variance power: ``Var(Y) = phi mu^power``.
    """

    name = "tweedie"
    link = LogLink()

    def __init__(self, power: float = 1.5) -> None:
        super().__init__()
        self.power = check_scalar(power, "power", low=1.0, high=2.0)

    @property
    def label_domain(self) -> Domain:  # type: ignore[override]
        return Interval(0.0, low_inclusive=self.power < 2.0)

    @property
    def variance_power(self) -> float | None:
        return float(self.power)

    def builtin_objective(self, booster: str) -> dict[str, Any] | None:
        check_choice(booster, "booster", ("xgboost", "lightgbm"))
        if booster == "xgboost":
            return {"objective": "reg:tweedie", "tweedie_variance_power": float(self.power)}
        # LightGBM's tweedie_variance_power must be < 2; power 2 is its gamma deviance.
        if self.power >= 2.0:
            return {"objective": "gamma"}
        return {"objective": "tweedie", "tweedie_variance_power": float(self.power)}

    def grad_hess_into(self, y, margin, weight, grad, hess, offsets=None, sums=None):
        tweedie.tweedie_grad_hess(y, margin, weight, self.power, grad, hess)

    def loss_sum(self, y, margin, weight, offsets=None):
        return tweedie.tweedie_loss_sum(y, margin, weight, self.power)

    def fit_init_score(self, y, weight):
        # For every power the weighted mean is the optimal constant mean.
        mean = weighted_mean(y, weight)
        if mean <= 0.0:
            return -MARGIN_LIMIT
        return math.log(mean)


@register_loss
class Poisson(Tweedie):
    """Half Poisson deviance ``y log(y/mu) - y + mu``, ``mu = exp(f)``; y >= 0.

    Gradient ``mu - y``. The curvature is ``mu exp(max_delta_step)``, the
    safeguard of both boosters' built-in Poisson objectives (XGBoost's
    ``count:poisson`` ``max_delta_step``, LightGBM's ``poisson_max_delta_step``,
    both 0.7 by default): a leaf whose margin is far below its labels has a
    tiny exact Hessian ``mu`` and would take a log step of ``log(y / mu)``,
    which on heavy-tailed targets sends predictions to millions. The inflated
    curvature shortens such steps (a majoriser; the gradient and the loss are
    unchanged, so the fixed point is the same). ``max_delta_step = 0`` gives
    the exact Hessian ``mu``, as Tweedie at power 1 and scikit-learn's
    ``HalfPoissonLoss``.

    Parameters
    ----------
    max_delta_step : float >= 0, default 0.7
        The Hessian is multiplied by ``exp(max_delta_step)``.
    """

    name = "poisson"

    def __init__(self, max_delta_step: float = 0.7) -> None:
        super().__init__(power=1.0)
        self.max_delta_step = check_scalar(max_delta_step, "max_delta_step", low=0.0)
        self._hess_factor = math.exp(self.max_delta_step) if self.max_delta_step < 700.0 else math.inf

    @property
    def exact_hessian(self) -> bool:
        return self.max_delta_step == 0.0

    def builtin_objective(self, booster: str) -> dict[str, Any] | None:
        # Both built-ins take the same Hessian safeguard exp(f + max_delta_step);
        # XGBoost also caps every leaf step at it.
        check_choice(booster, "booster", ("xgboost", "lightgbm"))
        if booster == "xgboost":
            return {"objective": "count:poisson", "max_delta_step": float(self.max_delta_step)}
        # LightGBM requires poisson_max_delta_step > 0; the smallest normal
        # double changes no Hessian exp(f + step) (f + step == f in double
        # precision for every |f| >= 1e-292), so it stands for no safeguard.
        return {"objective": "poisson",
                "poisson_max_delta_step": max(float(self.max_delta_step), float(np.finfo(np.float64).tiny))}

    def grad_hess_into(self, y, margin, weight, grad, hess, offsets=None, sums=None):
        tweedie.poisson_grad_hess(y, margin, weight, self._hess_factor, grad, hess)


@register_loss
class Gamma(Tweedie):
    """Half Gamma deviance ``y/mu - log(y/mu) - 1``, ``mu = exp(f)``; y > 0.

    Gradient ``1 - y/mu``, Hessian ``y/mu``; equals Tweedie at power 2 and
    XGBoost's ``reg:gamma``.
    """

    name = "gamma"

    def __init__(self) -> None:
        super().__init__(power=2.0)

    def builtin_objective(self, booster: str) -> dict[str, Any] | None:
        check_choice(booster, "booster", ("xgboost", "lightgbm"))
        return {"objective": "reg:gamma" if booster == "xgboost" else "gamma"}
