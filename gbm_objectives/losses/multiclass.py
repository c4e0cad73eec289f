"""Softmax-link losses over ``num_class`` margins per row."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._stats import tame_weight
from .._validation import as_float_array, check_choice, check_scalar
from ..domains import ClassLabels, Domain
from ..kernels import multiclass
from ..links import SoftmaxLink
from ._base import MARGIN_LIMIT, Loss
from ._registry import register_loss

# ---------------------------------------------------------------------------
# Softmax link
# ---------------------------------------------------------------------------


class _Multiclass(Loss):
    link = SoftmaxLink()
    task = "multiclass"

    def __init__(self, num_class: int) -> None:
        super().__init__()
        if isinstance(num_class, bool) or not isinstance(num_class, (int, np.integer)) or num_class < 2:
            raise ValueError(f"num_class must be an integer >= 2, got {num_class!r}")
        self.num_class = int(num_class)

    @property
    def label_domain(self) -> Domain:  # type: ignore[override]
        return ClassLabels(self.num_class)

    @property
    def n_outputs(self) -> int:
        return self.num_class

    @property
    def output_names(self) -> tuple[str, ...]:
        return tuple(f"class_{j}" for j in range(self.num_class))

    def builtin_objective(self, booster: str) -> dict[str, Any] | None:
        # The boosters' multiclass objectives only invert the link; their
        # gradients are those of plain softmax with a booster-specific Hessian.
        check_choice(booster, "booster", ("xgboost", "lightgbm"))
        return {"objective": self.link.lightgbm_objective if booster == "lightgbm" else self.link.xgboost_objective,
                "num_class": self.num_class}

    def _class_shares(self, y: np.ndarray, weight: np.ndarray) -> np.ndarray:
        w = None if weight.shape[0] == 0 else tame_weight(weight)
        counts = np.bincount(y.astype(np.int64), weights=w, minlength=self.num_class)
        return counts / counts.sum()


@register_loss
class Softmax(_Multiclass):
    """Softmax cross-entropy over ``num_class`` logits; integer labels in [0, k).

    Label smoothing ``eps`` targets ``(1 - eps) onehot + eps / k``. Gradient
    ``p - target``. The Hessian diagonal is ``hessian_scale * p (1 - p)``:
    ``"exact"`` (1), ``"xgboost"`` (2, as ``multi:softprob``) or ``"lightgbm"``
    (``k / (k - 1)``, as LightGBM's ``multiclass``); the boosters' factors make
    Newton steps more cautious and reproduce their built-in objectives exactly.

    Parameters
    ----------
    num_class : int >= 2
    label_smoothing : float in [0, 1), default 0.0
    hessian_scale : {"exact", "xgboost", "lightgbm"} or float > 0, default "exact"
    """

    name = "softmax"

    def __init__(self, num_class: int, label_smoothing: float = 0.0, hessian_scale: str | float = "exact") -> None:
        super().__init__(num_class)
        self.label_smoothing = check_scalar(label_smoothing, "label_smoothing", low=0.0, high=1.0, high_inclusive=False)
        if isinstance(hessian_scale, str):
            check_choice(hessian_scale, "hessian_scale", ("exact", "xgboost", "lightgbm"))
            k = self.num_class
            self._hess_factor = {"exact": 1.0, "xgboost": 2.0, "lightgbm": k / (k - 1.0)}[hessian_scale]
        else:
            self._hess_factor = check_scalar(hessian_scale, "hessian_scale", low=0.0, low_inclusive=False)
        self.hessian_scale = hessian_scale

    @property
    def exact_hessian(self) -> bool:
        return self._hess_factor == 1.0

    def grad_hess_into(self, y, margin, weight, grad, hess, offsets=None, sums=None):
        multiclass.softmax_grad_hess(y, margin, weight, self.label_smoothing, self._hess_factor, grad, hess)

    def loss_sum(self, y, margin, weight, offsets=None):
        return multiclass.softmax_loss_sum(y, margin, weight, self.label_smoothing)

    def fit_init_score(self, y, weight):
        eps = self.label_smoothing
        shares = self._class_shares(y, weight) * (1.0 - eps) + eps / self.num_class
        return np.maximum(np.log(np.maximum(shares, 1e-300)), -MARGIN_LIMIT)


@register_loss
class SoftmaxFocal(_Multiclass):
    """Multiclass focal loss ``-alpha_c (1 - p_c)^gamma log(p_c)`` of the true class ``c``.

    Softmax link over ``num_class`` logits. The Hessian diagonal is floored at
    ``alpha_c (1 - p_c)^gamma p_j (1 - p_j)`` where the loss is concave (see
    :class:`Focal`); with 2 classes it matches :class:`Focal` on the margin
    difference.

    Parameters
    ----------
    num_class : int >= 2
    gamma : float >= 0, default 2.0
    alpha : sequence of num_class positive weights, or None (all 1), default None
    """

    name = "softmax_focal"

    def __init__(self, num_class: int, gamma: float = 2.0, alpha: Any = None) -> None:
        super().__init__(num_class)
        self.gamma = check_scalar(gamma, "gamma", low=0.0)
        if alpha is None:
            self._alpha = np.ones(self.num_class)
            self.alpha = None
        else:
            a = as_float_array(alpha, "alpha")
            if a.shape != (self.num_class,) or np.any(a <= 0):
                raise ValueError(f"alpha must hold {self.num_class} positive class weights, got {alpha!r}")
            self._alpha = a.astype(np.float64)
            self.alpha = tuple(float(v) for v in a)

    @property
    def exact_hessian(self) -> bool:
        return self.gamma == 0.0

    def grad_hess_into(self, y, margin, weight, grad, hess, offsets=None, sums=None):
        multiclass.softmax_focal_grad_hess(y, margin, weight, self.gamma, self._alpha, grad, hess)

    def loss_sum(self, y, margin, weight, offsets=None):
        return multiclass.softmax_focal_loss_sum(y, margin, weight, self.gamma, self._alpha)

    def fit_init_score(self, y, weight):
        from scipy.optimize import minimize

        k = self.num_class
        weight = tame_weight(weight)
        start = np.log(np.maximum(self._class_shares(y, weight), 1e-12))
        start -= start.mean()
        g = np.empty((y.shape[0], k), np.float32)
        h = np.empty_like(g)

        def fun(c):
            m = np.broadcast_to(c, (y.shape[0], k)).copy()
            value = self.loss_sum(y, m, weight)
            self.grad_hess_into(y, m, weight, g, h)
            return value, g.sum(axis=0, dtype=np.float64)

        res = minimize(fun, start, jac=True, method="L-BFGS-B",
                       bounds=[(-MARGIN_LIMIT, MARGIN_LIMIT)] * k, options={"ftol": 1e-15, "gtol": 1e-10})
        return np.asarray(res.x, dtype=np.float64)
