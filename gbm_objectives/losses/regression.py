"""Identity-link losses for real-valued targets: squared and absolute error,
quantile, Huber, pseudo-Huber and log-cosh."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._stats import tame_weight, weighted_mean, weighted_median, weighted_quantile
from .._validation import check_choice, check_scalar
from ..kernels import regression
from ..links import IdentityLink
from ._base import LeafRefit, Loss
from ._registry import register_loss

_CURVATURES = {
    "exact": regression.CURVATURE_EXACT,
    "unit": regression.CURVATURE_UNIT,
    "irls": regression.CURVATURE_IRLS,
}

# ---------------------------------------------------------------------------
# Identity link
# ---------------------------------------------------------------------------


@register_loss
class SquaredError(Loss):
    """Half squared error ``(y - f)^2 / 2``; link: identity; y any real.

    Gradient ``f - y``, Hessian 1 (the gradient of XGBoost's ``reg:squarederror``
    and LightGBM's ``regression``). Targets the conditional mean.
    """

    name = "squared_error"
    link = IdentityLink()

    def builtin_objective(self, booster: str) -> dict[str, Any] | None:
        check_choice(booster, "booster", ("xgboost", "lightgbm"))
        return {"objective": "regression" if booster == "lightgbm" else "reg:squarederror"}

    def grad_hess_into(self, y, margin, weight, grad, hess, offsets=None, sums=None):
        regression.squared_error_grad_hess(y, margin, weight, grad, hess)

    def loss_sum(self, y, margin, weight, offsets=None):
        return regression.squared_error_loss_sum(y, margin, weight)

    def fit_init_score(self, y, weight):
        return weighted_mean(y, weight)


@register_loss
class Expectile(Loss):
    """Asymmetric squared error ``|alpha - 1(y < f)| (y - f)^2 / 2``; link: identity.

    Targets the conditional ``alpha``-expectile (the mean at ``alpha = 0.5``,
    where it is half the squared error). Gradient ``a (f - y)`` and Hessian
    ``a`` with ``a = 1 - alpha`` where the prediction is at or above the label
    and ``alpha`` below, as XGBoost's ``reg:expectileerror`` (>= 3.3). The loss
    is smooth and convex, so Newton leaves need no refit. Saved models name
    their link's objective (XGBoost's ``reg:squarederror``, LightGBM's
    ``regression``: XGBoost < 3.3 has no expectile objective), so the plain
    boosters predict them exactly but would continue training them as
    squared error.

    Parameters
    ----------
    alpha : float in (0, 1), default 0.5
    """

    name = "expectile"
    link = IdentityLink()
    target_params = ("alpha",)

    def __init__(self, alpha: float = 0.5) -> None:
        super().__init__()
        self.alpha = check_scalar(alpha, "alpha", low=0.0, high=1.0, low_inclusive=False, high_inclusive=False)

    def grad_hess_into(self, y, margin, weight, grad, hess, offsets=None, sums=None):
        regression.expectile_grad_hess(y, margin, weight, self.alpha, grad, hess)

    def loss_sum(self, y, margin, weight, offsets=None):
        return regression.expectile_loss_sum(y, margin, weight, self.alpha)

    def fit_init_score(self, y, weight):
        # The expectile solves sum w a(t) (y - t) = 0 with a piecewise-constant
        # a(t): iteratively reweighted means reach it exactly in a few steps.
        y64 = np.asarray(y, np.float64)
        w = np.ones_like(y64) if weight.shape[0] == 0 else np.asarray(tame_weight(weight), np.float64)
        t = weighted_mean(y64, weight)
        for _ in range(200):
            a = np.where(y64 <= t, 1.0 - self.alpha, self.alpha) * w
            if not np.any(a > 0.0):
                return t
            # weighted_mean: labels and weights near the float64 maximum do not overflow.
            new = weighted_mean(y64, a)
            if new == t:
                break
            t = new
        return t


class _CurvatureMixin:
    _curvature_code: int

    def _set_curvature(self, curvature: str, choices: tuple[str, ...]) -> str:
        check_choice(curvature, "curvature", choices)
        self._curvature_code = _CURVATURES[curvature]
        return curvature


@register_loss
class Quantile(_CurvatureMixin, Loss):
    """Pinball loss ``max(alpha (y - f), (alpha - 1)(y - f))``; link: identity.

    Targets the conditional ``alpha``-quantile. Gradient ``1 - alpha`` above the
    label, ``-alpha`` below, and ``1 - alpha`` at a tie ``f == y`` (a
    subgradient), as both boosters' built-ins (LightGBM's ``quantile`` and
    XGBoost's ``reg:quantileerror`` up to 3.3 take ``f - y >= 0`` as above):
    on zero-inflated targets the start margin equals many labels exactly, and
    a different choice there grows different trees. The true Hessian is zero; the
    curvature used (``curvature="scaled"``) is ``0.5 / (|f - y| + s)`` with ``s``
    the mean absolute residual of the call: the curvature of the check loss's
    quadratic majoriser ``1 / (2|r|)``, kept finite by ``s``, so Newton steps are
    in the target's units and shrink as the fit improves (a constant 1 would
    make a leaf step at most one unit, whatever the scale of ``y``).
    ``curvature="unit"`` uses the constant 0.5 of the boosters' built-ins.
    ``curvature="mm"`` is XGBoost 3.4's smooth MM objective (PR #12386),
    which replaces the gradient as well: with ``S = (sum w sqrt|r| / sum w)^2``
    over the call and ``x = r / (c S)``, ``c = 0.04``, gradient
    ``w S / 2 (tanh x + 1 - 2 alpha)`` (the score of a logistic smoothing of
    the pinball loss, times ``S``) and curvature
    ``w / (2c) max(tanh(x) / x, 3e-4)`` (the secant majoriser of the
    smoothing); a surrogate recomputed each round rather than the derivative
    of one loss, which lets plain Newton leaves reach built-in quality on
    XGBoost >= 3.4, where the built-ins no longer refit leaves.
    Tree boosters reach built-in quality only when leaves are refit to residual
    quantiles, which the adapters' ``train`` functions do (handing the booster
    one unit of curvature per row there, as the built-ins do, since the refit
    sets the leaf values). Without a refit, the scaled curvature per row is
    about ``1 / |y|``: on targets in the thousands lower XGBoost's
    ``min_child_weight`` / LightGBM's ``min_sum_hessian_in_leaf`` accordingly.

    Parameters
    ----------
    alpha : float in (0, 1), default 0.5
    curvature : {"scaled", "unit", "mm"}, default "scaled"
    """

    name = "quantile"
    link = IdentityLink()
    target_params = ("alpha",)
    _scale = 1.0

    def __init__(self, alpha: float = 0.5, curvature: str = "scaled") -> None:
        super().__init__()
        self.alpha = check_scalar(alpha, "alpha", low=0.0, high=1.0, low_inclusive=False, high_inclusive=False)
        check_choice(curvature, "curvature", ("scaled", "unit", "mm"))
        self._curvature_code = regression.CURVATURE_UNIT if curvature == "unit" else regression.CURVATURE_IRLS
        self.curvature = curvature

    @property
    def exact_hessian(self) -> bool:
        return False

    @property
    def leaf_refit(self) -> LeafRefit | None:
        if self.curvature == "mm":
            return None
        return LeafRefit(quantile=self.alpha, surrogate=self._mm_surrogate())

    def _mm_surrogate(self) -> Quantile:
        return Quantile(self.alpha, curvature="mm")

    def builtin_objective(self, booster: str) -> dict[str, Any] | None:
        check_choice(booster, "booster", ("xgboost", "lightgbm"))
        if booster == "lightgbm":
            return {"objective": "quantile", "alpha": float(self.alpha)}
        # XGBoost's built-in refits leaves below 3.4 and is the MM surrogate
        # from 3.4 on: the same loss as the refitting curvatures only.
        if self.curvature == "mm":
            return None
        return {"objective": "reg:quantileerror", "quantile_alpha": float(self.alpha)}

    def grad_hess_into(self, y, margin, weight, grad, hess, offsets=None, sums=None):
        if self.curvature == "mm":
            self._mm_grad_hess_into(y, margin, weight, grad, hess,
                                    self.global_sums(y, margin, weight) if sums is None else sums)
            return
        regression.pinball_grad_hess(
            y, margin, weight, self.alpha, self._scale, self._curvature_code, self._tie_grad, grad, hess
        )

    @property
    def _tie_grad(self) -> float:
        """Gradient (before ``_scale``) at a tie: the built-in quantiles' ``1 - alpha``."""
        return 1.0 - self.alpha

    def global_sums(self, y, margin, weight) -> np.ndarray | None:
        """``[sum w sqrt|r|, sum w]``, the MM surrogate's residual scale (None for other curvatures)."""
        if self.curvature != "mm":
            return None
        return np.array(regression.mm_root_residual_sums(y, margin, weight), dtype=np.float64)

    def _mm_grad_hess_into(self, y, margin, weight, grad, hess, sums) -> None:
        root_sum, weight_sum = float(sums[0]), float(sums[1])
        # A product, not ** 2: Python's float power raises OverflowError where
        # the kernels take an infinite scale in their stride.
        ratio = root_sum / weight_sum if weight_sum != 0.0 else 0.0
        scale = ratio * ratio
        self._mm_kernel(y, margin, weight, scale, grad, hess)

    def _mm_kernel(self, y, margin, weight, scale, grad, hess) -> None:
        regression.pinball_mm_grad_hess(y, margin, weight, self.alpha, scale, grad, hess)

    def loss_sum(self, y, margin, weight, offsets=None):
        return regression.pinball_loss_sum(y, margin, weight, self.alpha, self._scale)

    def fit_init_score(self, y, weight):
        return weighted_quantile(y, weight, self.alpha)


@register_loss
class AbsoluteError(Quantile):
    """Absolute error ``|y - f|``; link: identity. Targets the conditional median.

    Equals twice the pinball loss at ``alpha = 0.5``: gradient ``sign(f - y)``,
    0 at a tie, as XGBoost's ``reg:absoluteerror`` and LightGBM's ``l1``;
    curvature ``1 / (|f - y| + s)`` (see :class:`Quantile` for why).
    ``curvature="mm"`` is XGBoost 3.4's smooth MM absolute error (PR
    #12373), a pseudo-Huber surrogate rather than the quantile one: with
    ``delta = (sum w sqrt|r| / sum w)^2`` over the call and
    ``q = sqrt(1 + (r / delta)^2)``, gradient ``w r / q`` and curvature
    ``w / q`` (the IRLS majoriser of pseudo-Huber, not its exact ``1 / q^3``),
    so the gradient tends to ``delta sign(r)`` as ``|r|`` grows.

    Parameters
    ----------
    curvature : {"scaled", "unit", "mm"}, default "scaled"
    """

    name = "absolute_error"
    _scale = 2.0
    target_params = ()

    def __init__(self, curvature: str = "scaled") -> None:
        super().__init__(alpha=0.5, curvature=curvature)

    def _mm_surrogate(self) -> AbsoluteError:
        return AbsoluteError(curvature="mm")

    def builtin_objective(self, booster: str) -> dict[str, Any] | None:
        check_choice(booster, "booster", ("xgboost", "lightgbm"))
        if booster == "lightgbm":
            return {"objective": "regression_l1"}
        return None if self.curvature == "mm" else {"objective": "reg:absoluteerror"}

    @property
    def _tie_grad(self) -> float:
        return 0.0

    def _mm_kernel(self, y, margin, weight, scale, grad, hess) -> None:
        regression.absolute_mm_grad_hess(y, margin, weight, scale, grad, hess)


@register_loss
class Huber(_CurvatureMixin, Loss):
    """Huber loss: ``r^2 / 2`` for ``|r| <= delta``, ``delta (|r| - delta/2)`` beyond;
    ``r = f - y``; link: identity.

    In the linear region the true Hessian is zero. ``curvature="unit"`` (default)
    keeps 1 there: the curvature of the quadratic that majorises Huber loss
    everywhere (a guaranteed-descent Newton step; LightGBM's ``huber`` does the
    same). ``curvature="irls"`` uses ``delta / |r|``, the iteratively reweighted
    least-squares weight, whose Newton step reaches an outlying label in one step.

    Scale-free delta
    ----------------
    Huber's 1.35 (for 95% efficiency under Gaussian noise) is in units of the
    residual scale. With ``delta_scale="robust"`` the threshold is
    ``delta * s``, where ``s = 1.4826 * median(|r - median(r)|)`` is the MAD
    of the current residuals (weighted medians over rows of positive weight),
    so ``huber(delta=1.35, delta_scale="robust")`` means the same on costs in
    the thousands as on unit-scale targets. ``s`` is re-estimated at every
    call from ``(y, margin, weight)``, as a robust regression re-estimates its
    scale at every iteration (statsmodels' ``RLM`` with the MAD, Huber's
    proposal 2): no state is kept, so a saved model, both boosters' adapters
    and every fold behave alike, and ``s`` shrinks as the fit improves,
    separating the outliers from the residual noise rather than from the
    spread of ``y`` (which holds the signal too). A scale fixed from the
    labels at the start would need state outside ``(y, margin, weight)``.
    Gradients and curvatures are exact for that call's ``delta * s`` (the
    scale is not differentiated). When more than half the residuals are
    equal (MAD 0) ``s`` is their mean absolute deviation times
    ``sqrt(pi / 2)``; when all are equal, ``|median(r)|`` (one Newton step
    reaches them), or 1 on a perfect fit. The scale is that of the rows
    passed in: an evaluation set gets its own, and distributed training
    (Dask) computes one per worker from the worker's rows.

    Parameters
    ----------
    delta : float > 0, default 1.35
        Where quadratic turns linear: in the units of ``y``, or with
        ``delta_scale="robust"`` in robust standard deviations of the residuals.
    curvature : {"unit", "irls"}, default "unit"
    delta_scale : {None, "robust"}, default None
        None: ``delta`` is absolute. ``"robust"``: ``delta`` times the MAD of
        the current residuals (see above).
    """

    name = "huber"
    link = IdentityLink()

    def __init__(self, delta: float = 1.35, curvature: str = "unit", delta_scale: str | None = None) -> None:
        super().__init__()
        self.delta = check_scalar(delta, "delta", low=0.0, low_inclusive=False)
        self.curvature = self._set_curvature(curvature, ("unit", "irls"))
        if delta_scale not in (None, "robust"):
            raise ValueError(f"delta_scale must be None or 'robust', got {delta_scale!r}")
        self.delta_scale = delta_scale

    def builtin_objective(self, booster: str) -> dict[str, Any] | None:
        check_choice(booster, "booster", ("xgboost", "lightgbm"))
        return {"objective": "huber", "alpha": float(self.delta)} if booster == "lightgbm" else None

    @property
    def exact_hessian(self) -> bool:
        return False

    def _delta_for(self, y, margin, weight) -> float:
        if self.delta_scale is None:
            return self.delta
        return self.delta * _robust_residual_scale(np.asarray(margin, np.float64) - np.asarray(y, np.float64),
                                                   weight)

    def grad_hess_into(self, y, margin, weight, grad, hess, offsets=None, sums=None):
        regression.huber_grad_hess(y, margin, weight, self._delta_for(y, margin, weight), self._curvature_code,
                                   grad, hess)

    def loss_sum(self, y, margin, weight, offsets=None):
        return regression.huber_loss_sum(y, margin, weight, self._delta_for(y, margin, weight))

    def fit_init_score(self, y, weight):
        return self._minimize_constant(y, weight, float(y.min()), float(y.max()))


def _robust_residual_scale(r: np.ndarray, weight: np.ndarray) -> float:
    """``1.4826 * MAD`` of the residuals over rows of positive weight, with fallbacks (see :class:`Huber`)."""
    keep = np.isfinite(r)
    w = None
    if weight.shape[0] > 0:
        w = np.asarray(weight, np.float64)
        keep &= w > 0.0
        w = w[keep]
    r = r[keep]
    if r.shape[0] == 0:
        return 1.0
    med = weighted_median(r, w)
    dev = np.abs(r - med)
    mad = 1.4826 * weighted_median(dev, w)
    if mad > 0.0 and math.isfinite(mad):
        return mad
    mean_abs = float(np.average(dev, weights=w)) * math.sqrt(math.pi / 2.0)
    if mean_abs > 0.0 and math.isfinite(mean_abs):
        return mean_abs
    return abs(med) if abs(med) > 0.0 and math.isfinite(med) else 1.0


@register_loss
class PseudoHuber(_CurvatureMixin, Loss):
    """Pseudo-Huber loss ``delta^2 (sqrt(1 + (r/delta)^2) - 1)``, ``r = f - y``; link: identity.

    Smooth everywhere; the loss of XGBoost's ``reg:pseudohubererror`` with
    ``huber_slope = delta``. The default ``curvature="irls"`` uses
    ``(1 + (r/delta)^2)^(-1/2)`` (gradient over residual): a majoriser, never
    below the true Hessian, whose Newton step reaches a single label exactly,
    so a leaf's step is a weighted mean of its residuals and stays inside the
    labels' range. ``curvature="exact"`` is the true Hessian
    ``(1 + (r/delta)^2)^(-3/2)`` that ``reg:pseudohubererror`` uses; it decays
    like ``|r|^-3``, so on targets many ``delta`` wide (costs in the
    thousands) a leaf far from its labels gets almost no curvature and, without
    L2 regularisation (LightGBM's default ``lambda_l2 = 0``), Newton steps tens
    of thousands of units long.

    Parameters
    ----------
    delta : float > 0, default 1.0
    curvature : {"irls", "exact"}, default "irls"
        ``"exact"`` reproduces XGBoost's ``reg:pseudohubererror``.
    """

    name = "pseudo_huber"
    link = IdentityLink()

    def __init__(self, delta: float = 1.0, curvature: str = "irls") -> None:
        super().__init__()
        self.delta = check_scalar(delta, "delta", low=0.0, low_inclusive=False)
        self.curvature = self._set_curvature(curvature, ("irls", "exact"))

    def builtin_objective(self, booster: str) -> dict[str, Any] | None:
        check_choice(booster, "booster", ("xgboost", "lightgbm"))
        if booster == "xgboost" and self.curvature == "exact":
            return {"objective": "reg:pseudohubererror", "huber_slope": float(self.delta)}
        return None

    @property
    def exact_hessian(self) -> bool:
        return self.curvature == "exact"

    def grad_hess_into(self, y, margin, weight, grad, hess, offsets=None, sums=None):
        regression.pseudo_huber_grad_hess(y, margin, weight, self.delta, self._curvature_code, grad, hess)

    def loss_sum(self, y, margin, weight, offsets=None):
        return regression.pseudo_huber_loss_sum(y, margin, weight, self.delta)

    def fit_init_score(self, y, weight):
        return self._minimize_constant(y, weight, float(y.min()), float(y.max()))


@register_loss
class LogCosh(_CurvatureMixin, Loss):
    """Log-cosh loss ``log(cosh(f - y))``; link: identity.

    Quadratic near zero, ``|r| - log 2`` in the tails. Gradient ``tanh(r)``.
    The true Hessian ``sech(r)^2`` vanishes exponentially in the tails, so an exact
    Newton step on a label 20 units away would be ~1e16 long. The default
    ``curvature="irls"`` uses ``tanh(r) / r`` instead: equal to the true Hessian
    at ``r = 0``, never below it, ``~1/|r|`` in the tails, and its Newton step
    reaches a single label exactly. ``curvature="exact"`` gives ``sech(r)^2``.

    Parameters
    ----------
    curvature : {"irls", "exact"}, default "irls"
    """

    name = "log_cosh"
    link = IdentityLink()

    def __init__(self, curvature: str = "irls") -> None:
        super().__init__()
        self.curvature = self._set_curvature(curvature, ("irls", "exact"))

    @property
    def exact_hessian(self) -> bool:
        return self.curvature == "exact"

    def grad_hess_into(self, y, margin, weight, grad, hess, offsets=None, sums=None):
        regression.log_cosh_grad_hess(y, margin, weight, self._curvature_code, grad, hess)

    def loss_sum(self, y, margin, weight, offsets=None):
        return regression.log_cosh_loss_sum(y, margin, weight)

    def fit_init_score(self, y, weight):
        return self._minimize_constant(y, weight, float(y.min()), float(y.max()))
