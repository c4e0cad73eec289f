"""The Fisher information matrix of each distributional family in its margins, by Monte Carlo.

Families whose parameters are orthogonal (no cross information) gain nothing
from a natural gradient: the diagonal Fisher curvature of their kernels is
the whole Fisher matrix, so each Newton step is the natural-gradient step.
The score's outer product over draws from the family estimates the matrix
independently of the kernels' curvature formulas.
"""

from __future__ import annotations

import numpy as np
import pytest

from gbm_objectives import get_loss

#: Parameter values (in the distribution's own units) where the matrix is estimated.
ORTHOGONAL = {
    "normal": [1.0, 2.0],
    "lognormal": [0.5, 0.7],
    "gamma_shape": [3.0, 2.0],
    "negative_binomial": [4.0, 0.5],
    "tweedie_dispersion": [3.0, 1.5],
    "hurdle_gamma": [0.7, 3.0, 2.0],
    "hurdle_lognormal": [0.7, 0.5, 0.7],
}
#: Families with cross information: (parameters, the coupled outputs).
COUPLED = {
    "student_t": ([1.0, 2.0, 5.0], (1, 2)),  # the scale and the degrees of freedom
    "zero_inflated_poisson": ([0.3, 3.0], (0, 1)),  # the zero inflation and the rate
}
N_DRAWS = 200_000


def _fisher_by_scores(name: str, params: list[float]) -> np.ndarray:
    """E[score score^T] in the margins, from the kernels' gradients at draws of the family."""
    loss = get_loss(name, normalize=False)
    table = np.tile(np.asarray(params, dtype=np.float64), (N_DRAWS, 1))
    margin = np.ascontiguousarray(loss.link.link(table))
    y = loss.distribution(table).sample(1, random_state=11).reshape(N_DRAWS)
    grad, _ = loss.grad_hess(y, margin)
    score = grad.astype(np.float64)
    # The score has mean zero at the true parameters (a check of the sampler against the loss).
    assert np.all(np.abs(score.mean(axis=0)) <= 5.0 * score.std(axis=0) / np.sqrt(N_DRAWS))
    return score.T @ score / N_DRAWS


def _correlation(fisher: np.ndarray) -> np.ndarray:
    d = np.sqrt(np.diag(fisher))
    return fisher / np.outer(d, d)


@pytest.mark.parametrize("name", sorted(ORTHOGONAL))
def test_orthogonal_families_have_a_diagonal_fisher_matrix(name):
    corr = _correlation(_fisher_by_scores(name, ORTHOGONAL[name]))
    off = corr - np.eye(corr.shape[0])
    # Monte Carlo noise of a correlation is about 1 / sqrt(N_DRAWS) = 0.002.
    assert np.abs(off).max() < 0.012, np.round(corr, 4)


@pytest.mark.parametrize("name", sorted(COUPLED))
def test_coupled_families_have_cross_information(name):
    params, (i, j) = COUPLED[name]
    corr = _correlation(_fisher_by_scores(name, params))
    assert abs(corr[i, j]) > 0.1, np.round(corr, 4)


def test_every_family_is_classified():
    from gbm_objectives import available_losses
    from gbm_objectives.losses import get_loss_class

    families = {n for n in available_losses() if get_loss_class(n).predicts_distribution}
    assert families == set(ORTHOGONAL) | set(COUPLED)
