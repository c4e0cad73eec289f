"""Logit-link losses for binary (or soft) labels: cross-entropy and focal loss."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._stats import weighted_mean
from .._validation import check_choice, check_scalar
from ..domains import Interval
from ..kernels import binary
from ..links import LogitLink
from ._base import MARGIN_LIMIT, Loss
from ._registry import register_loss

# ---------------------------------------------------------------------------
# Logit link
# ---------------------------------------------------------------------------


#: Binary labels: hard 0 / 1 or soft labels in between.
_UNIT_INTERVAL = Interval(0.0, 1.0)


def _logit_of_mean(p: float) -> float:
    p = min(max(p, 0.0), 1.0)
    if p <= 0.0:
        return -MARGIN_LIMIT
    if p >= 1.0:
        return MARGIN_LIMIT
    return float(np.clip(math.log(p) - math.log1p(-p), -MARGIN_LIMIT, MARGIN_LIMIT))


@register_loss
class Logistic(Loss):
    """Binary cross-entropy on the logit ``f``, ``p = sigmoid(f)``; y in [0, 1].

    With label smoothing ``eps`` the target is ``y (1 - eps) + eps / 2`` (the
    two-class case of softmax smoothing). Gradient ``p - target``, Hessian
    ``p (1 - p)`` (floored at 1e-16, as XGBoost's ``binary:logistic``).

    Parameters
    ----------
    label_smoothing : float in [0, 1), default 0.0
    """

    name = "logistic"
    link = LogitLink()
    task = "binary"
    label_domain = _UNIT_INTERVAL

    def __init__(self, label_smoothing: float = 0.0) -> None:
        super().__init__()
        self.label_smoothing = check_scalar(label_smoothing, "label_smoothing", low=0.0, high=1.0, high_inclusive=False)

    def builtin_objective(self, booster: str) -> dict[str, Any] | None:
        check_choice(booster, "booster", ("xgboost", "lightgbm"))
        if self.label_smoothing:
            return None
        return {"objective": "binary" if booster == "lightgbm" else "binary:logistic"}

    def grad_hess_into(self, y, margin, weight, grad, hess, offsets=None, sums=None):
        binary.logistic_grad_hess(y, margin, weight, self.label_smoothing, grad, hess)

    def loss_sum(self, y, margin, weight, offsets=None):
        return binary.logistic_loss_sum(y, margin, weight, self.label_smoothing)

    def fit_init_score(self, y, weight):
        eps = self.label_smoothing
        return _logit_of_mean(weighted_mean(y, weight) * (1.0 - eps) + 0.5 * eps)


@register_loss
class Focal(Loss):
    """Binary focal loss ``-alpha_t (1 - p_t)^gamma log(p_t)`` on the logit; y in [0, 1].

    ``p_t`` is ``p`` for a positive, ``1 - p`` for a negative; soft labels mix
    the two linearly. ``gamma = 0`` gives (class-weighted) cross-entropy. Where
    focal loss is concave in the logit (confidently wrong examples) the true
    Hessian is negative; the Hessian used is
    ``max(true, alpha_t (1 - p_t)^gamma p (1 - p))``, the cross-entropy
    curvature times the modulating factor, which keeps Newton steps pointing
    downhill and equals the true Hessian at ``gamma = 0``.

    Parameters
    ----------
    gamma : float >= 0, default 2.0
    alpha : float in (0, 1) or None, default None
        Weight of class 1 (class 0 gets ``1 - alpha``); None weighs both by 1.
    """

    name = "focal"
    link = LogitLink()
    task = "binary"
    label_domain = _UNIT_INTERVAL

    def __init__(self, gamma: float = 2.0, alpha: float | None = None) -> None:
        super().__init__()
        self.gamma = check_scalar(gamma, "gamma", low=0.0)
        if alpha is None:
            self.alpha = None
            self._alpha_pos = self._alpha_neg = 1.0
        else:
            self.alpha = check_scalar(alpha, "alpha", low=0.0, high=1.0, low_inclusive=False, high_inclusive=False)
            self._alpha_pos, self._alpha_neg = self.alpha, 1.0 - self.alpha

    @property
    def exact_hessian(self) -> bool:
        return self.gamma == 0.0

    def grad_hess_into(self, y, margin, weight, grad, hess, offsets=None, sums=None):
        binary.focal_grad_hess(y, margin, weight, self.gamma, self._alpha_pos, self._alpha_neg, grad, hess)

    def loss_sum(self, y, margin, weight, offsets=None):
        return binary.focal_loss_sum(y, margin, weight, self.gamma, self._alpha_pos, self._alpha_neg)

    def fit_init_score(self, y, weight):
        return self._minimize_constant(y, weight, -MARGIN_LIMIT, MARGIN_LIMIT)
