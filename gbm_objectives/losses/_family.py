"""Distributional losses: the negative log-likelihood of a family, one output per parameter."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from scipy import optimize

from .._stats import drop_zero_weight, objective_weight
from .._validation import as_float_array, check_choice
from ..distributions import Distribution
from ..kernels import families
from ..links import IdentityLink, Link, ParameterLink
from ._base import MARGIN_LIMIT, Loss

#: ``curvature="fisher"``: the Fisher information of every margin;
#: ``"hessian"``: the exact second derivative where it is positive, else the Fisher information.
_CURVATURES = {"hessian": families.CURVATURE_HESSIAN, "fisher": families.CURVATURE_FISHER}


class DistributionLoss(Loss):
    """Base class of distributional losses: minus the log-likelihood of a family.

    The model has one output per distribution parameter, each through its
    own link (``parameter_links``); :meth:`parameters` maps margins to the
    (n, k) parameters, :meth:`distribution` builds the predictive
    distributions and :meth:`predict` returns their means. A subclass sets
    ``name``, ``label_domain``, ``distribution_class`` (whose
    ``parameter_names`` name the outputs) and ``parameter_links``, passes
    ``curvature`` and ``normalize`` to ``DistributionLoss.__init__`` (a
    constructor of its own only for other parameters or another default
    curvature), and implements
    :meth:`exact_grad_hess_into`, :meth:`loss_sum` and :meth:`_start_margin`
    (a moment estimate that :meth:`fit_init_score` refines to the
    maximum-likelihood constant).

    Normalised outputs (``normalize=True``, every family's default): the
    curvature of a distribution parameter scales with the labels (a
    location's Fisher information is ``1 / scale^2``: 1e-8 per row for costs
    in the tens of thousands), where the boosters' regularisation does not
    (XGBoost's ``reg_lambda=1`` and ``min_child_weight=1``, LightGBM's
    ``min_sum_hessian_in_leaf``), which would stop every split and shrink
    every leaf to nothing. So each output's gradient and curvature are
    divided by that output's mean curvature over the training rows
    (weighted), every round: the Newton step of every leaf is unchanged
    and the regularisation acts as it does for squared error, whatever the
    scale of the labels. The means come from :meth:`global_sums`, so
    distributed training scales every worker's rows alike.
    ``normalize=False`` hands the boosters the exact derivatives.
    """

    predicts_distribution: ClassVar[bool] = True
    distribution_class: ClassVar[type[Distribution]] = Distribution
    parameter_links: ClassVar[tuple[Link, ...]] = ()

    def __init__(self, curvature: str = "fisher", normalize: bool = True) -> None:
        super().__init__()
        check_choice(curvature, "curvature", tuple(_CURVATURES))
        if not isinstance(normalize, (bool, np.bool_)):
            raise ValueError(f"normalize must be True or False, got {normalize!r}")
        self.curvature = curvature
        self.normalize = bool(normalize)
        # The kernels' code of the curvature.
        self._code = _CURVATURES[curvature]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "parameter_links" in cls.__dict__:
            cls.link = ParameterLink(cls.parameter_links)

    @property
    def n_outputs(self) -> int:
        return len(self.distribution_class.parameter_names)

    @property
    def output_names(self) -> tuple[str, ...]:
        return self.distribution_class.parameter_names

    @property
    def output_links(self) -> tuple[Link, ...]:
        return self.parameter_links

    @property
    def exact_hessian(self) -> bool:
        # The curvature is the Hessian where it is positive, else the Fisher information.
        return False

    # -- fast path -------------------------------------------------------------------
    def exact_grad_hess_into(self, y, margin, weight, grad, hess) -> None:
        """The exact gradient and the family's curvature (no normalisation): the kernel call."""
        raise NotImplementedError

    def global_sums(self, y, margin, weight) -> np.ndarray | None:
        """Each output's summed curvature, then the summed weight (k + 1 values); None unnormalised."""
        if not self.normalize:
            return None
        grad = np.empty(margin.shape, dtype=np.float32)
        hess = np.empty(margin.shape, dtype=np.float32)
        self.exact_grad_hess_into(y, margin, weight, grad, hess)
        out = np.empty(self.n_outputs + 1)
        families.curvature_sums(hess, weight, out)
        return out

    def grad_hess_into(self, y, margin, weight, grad, hess, offsets=None, sums=None) -> None:
        self.exact_grad_hess_into(y, margin, weight, grad, hess)
        if self.normalize:
            if sums is None:
                sums = np.empty(self.n_outputs + 1)
                families.curvature_sums(hess, weight, sums)
            families.scale_outputs(grad, hess, np.asarray(sums, dtype=np.float64))

    def booster_defaults(self, booster: str) -> dict[str, Any]:
        """XGBoost: ``min_child_weight=20`` (normalised outputs), else nothing.

        With each output's curvature normalised to a mean of 1 per row,
        XGBoost's default ``min_child_weight=1`` lets a leaf hold one row,
        whose residual alone then sets a scale or a shape: held-out
        log-likelihoods collapse (medical expenditure, 3,900 rows, 200
        rounds: hurdle_gamma 8.48 nats at 1 against 5.55 at 20). 20 rows is
        LightGBM's own default (``min_data_in_leaf``).
        """
        super().booster_defaults(booster)
        return {"min_child_weight": 20.0} if booster == "xgboost" and self.normalize else {}

    def distribution_options(self) -> dict[str, Any]:
        """Fixed (not per-row) arguments of the distribution, such as a Tweedie power."""
        return {}

    def distribution(self, parameters: Any) -> Distribution:
        """The predictive distributions of (n, k) parameters, columns in ``output_names`` order.

        Raises
        ------
        ValueError
            For a wrong shape, non-finite parameters or parameters out of range.
        """
        p = as_float_array(parameters, "parameters", ndim=(2,))
        if p.shape[1] != self.n_outputs:
            raise ValueError(
                f"parameters has shape {p.shape}, expected (n, {self.n_outputs}) for {self!r} "
                f"(columns {', '.join(self.output_names)})"
            )
        columns = {name: p[:, j] for j, name in enumerate(self.output_names)}
        return self.distribution_class(**columns, **self.distribution_options())

    def predict(self, margin: Any, *, group: Any = None) -> np.ndarray:
        """The mean of every row's predictive distribution."""
        m = as_float_array(margin, "margin", ndim=(2,))
        if m.shape[1] != self.n_outputs:
            raise ValueError(f"margin has shape {m.shape}, expected (n, {self.n_outputs})")
        return self.distribution(self.link.inverse(m)).mean()

    def _start_margin(self, y: np.ndarray, weight: np.ndarray) -> np.ndarray:
        """A moment estimate of the constant margins (k values), refined by :meth:`fit_init_score`."""
        raise NotImplementedError

    def fit_init_score(self, y: np.ndarray, weight: np.ndarray) -> np.ndarray:
        """The maximum-likelihood constant margins, from the moment start."""
        if weight.shape[0] and float(weight.min()) == 0.0:
            y, _, weight, _ = drop_zero_weight(y, y, weight, None)
        w = objective_weight(weight, y.shape[0])
        total = float(w.sum())
        # Margins through a log or logit link stay inside +-MARGIN_LIMIT; an
        # identity-link parameter is on the labels' own scale and is not bounded.
        bounds = [(None, None) if isinstance(link, IdentityLink) else (-MARGIN_LIMIT, MARGIN_LIMIT)
                  for link in self.output_links]
        low = np.array([-np.inf if b[0] is None else b[0] for b in bounds])
        start = np.clip(np.asarray(self._start_margin(y, w), dtype=np.float64), low, -low)
        ones = np.ones((y.shape[0], 1))

        def fun(c: np.ndarray) -> float:
            value = self.loss_sum(y, np.ascontiguousarray(ones * c), w) / total
            return value if np.isfinite(value) else 1e300

        result = optimize.minimize(fun, start, method="L-BFGS-B", bounds=bounds)
        best = result.x if fun(result.x) <= fun(start) else start
        return np.clip(best, low, -low)
