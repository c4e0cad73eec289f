"""Distributional losses on continuous labels: the family's negative log-likelihood per row."""

from __future__ import annotations

import numpy as np

from .._stats import weighted_mean
from .._validation import check_choice
from ..distributions.continuous import Normal as NormalDistribution
from ..kernels import families
from ..links import IdentityLink, LogLink
from ._family import DistributionLoss
from ._registry import register_loss

_CURVATURES = {"hessian": families.CURVATURE_HESSIAN, "fisher": families.CURVATURE_FISHER}


def _check_curvature(curvature: str) -> int:
    check_choice(curvature, "curvature", tuple(_CURVATURES))
    return _CURVATURES[curvature]


@register_loss
class Normal(DistributionLoss):
    """Normal likelihood with a mean and a scale per row (heteroscedastic regression).

    Outputs ``loc`` (identity link) and ``scale`` (log link); the loss is
    ``log(scale) + (y - loc)^2 / (2 scale^2) + log(2 pi) / 2``.
    ``curvature="fisher"`` (default) uses the Fisher information
    (``1 / scale^2`` and 2), ``"hessian"`` the exact Hessian where it is
    positive (``2 z^2`` for the log scale) and the Fisher information elsewhere.
    ``normalize``: see :class:`~gbm_objectives.losses.DistributionLoss`.

    Parameters
    ----------
    curvature : {"fisher", "hessian"}, default "fisher"
    normalize : bool, default True
    """

    name = "normal"
    distribution_class = NormalDistribution
    parameter_links = (IdentityLink(), LogLink())

    def __init__(self, curvature: str = "fisher", normalize: bool = True) -> None:
        super().__init__(normalize)
        self._code = _check_curvature(curvature)
        self.curvature = curvature

    def exact_grad_hess_into(self, y, margin, weight, grad, hess):
        families.normal_grad_hess(y, margin, weight, self._code, grad, hess)

    def loss_sum(self, y, margin, weight, offsets=None):
        return families.normal_loss_sum(y, margin, weight)

    def _start_margin(self, y, weight):
        mean = weighted_mean(y, weight)
        sd = float(np.sqrt(weighted_mean((y - mean) ** 2, weight)))
        return np.array([mean, np.log(sd if sd > 0 else 1e-12)])
