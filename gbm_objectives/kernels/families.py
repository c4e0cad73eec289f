"""Distributional families: minus the log-likelihood, with respect to one margin per parameter.

Margins are (n, k), one column per distribution parameter through its link;
``grad`` and ``hess`` have the same shape. The curvature is chosen by a code:
``CURVATURE_HESSIAN`` is the exact second derivative where it is positive and
the Fisher information (its expectation, always positive) elsewhere;
``CURVATURE_FISHER`` is the Fisher information everywhere.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from ._common import INLINE, JIT, clamp_grad, clamp_hess, f64

#: Curvature codes shared with :mod:`gbm_objectives.losses`.
CURVATURE_HESSIAN = 0
CURVATURE_FISHER = 1

#: Log-scale margins are clipped here: exp(+-300) and its products with any
#: finite residual stay free of 0 * inf.
MAX_LOG_SCALE = 300.0
#: 0.5 * log(2 pi)
HALF_LOG_2PI = 0.9189385332046727


@njit(**INLINE)
def clip_log_scale(m):
    return min(max(f64(m), -MAX_LOG_SCALE), MAX_LOG_SCALE)


@njit(**INLINE)
def _normal_point(yi, loc, log_scale, curvature):
    inv_scale = math.exp(-log_scale)
    z = (yi - loc) * inv_scale
    g_loc = -z * inv_scale
    h_loc = inv_scale * inv_scale
    z2 = z * z
    g_scale = 1.0 - z2
    h_scale = 2.0 * z2 if curvature == CURVATURE_HESSIAN and z2 > 0.0 else 2.0
    return g_loc, h_loc, g_scale, h_scale


@njit(**JIT)
def normal_grad_hess(y, margin, weight, curvature, grad, hess):
    """Normal(loc, scale) with margins (loc, log scale)."""
    n = y.shape[0]
    weighted = weight.shape[0] > 0
    for i in range(n):
        g0, h0, g1, h1 = _normal_point(f64(y[i]), f64(margin[i, 0]), clip_log_scale(margin[i, 1]), curvature)
        wi = f64(weight[i]) if weighted else 1.0
        # Clamped before and after the weight: a zero weight never meets an
        # infinity, and a large one never overflows float32.
        grad[i, 0] = clamp_grad(clamp_grad(g0) * wi)
        hess[i, 0] = clamp_hess(clamp_hess(h0) * wi)
        grad[i, 1] = clamp_grad(clamp_grad(g1) * wi)
        hess[i, 1] = clamp_hess(clamp_hess(h1) * wi)


@njit(**JIT)
def normal_loss_sum(y, margin, weight):
    n = y.shape[0]
    weighted = weight.shape[0] > 0
    total = 0.0
    for i in range(n):
        log_scale = clip_log_scale(margin[i, 1])
        z = (f64(y[i]) - f64(margin[i, 0])) * math.exp(-log_scale)
        li = HALF_LOG_2PI + log_scale + 0.5 * z * z
        total += li * f64(weight[i]) if weighted else li
    return total


@njit(**JIT)
def curvature_sums(hess, weight, out):
    """``out[j] = sum_i hess[i, j]`` for every output, then ``out[k] = sum_i weight[i]`` (n when unweighted)."""
    n, k = hess.shape
    for j in range(k):
        # A local accumulator per column: one pass, no store per row.
        acc = 0.0
        for i in range(n):
            acc += f64(hess[i, j])
        out[j] = acc
    if weight.shape[0] > 0:
        total = 0.0
        for i in range(n):
            total += f64(weight[i])
        out[k] = total
    else:
        out[k] = n


@njit(**JIT)
def scale_outputs(grad, hess, sums):
    """Divide output ``j``'s gradient and curvature by its mean curvature ``sums[j] / sums[k]``.

    Weights whose sum overflows float64 leave the outputs as they are (a
    factor of inf would meet zero gradients).
    """
    n, k = hess.shape
    factors = np.empty(k)
    for j in range(k):
        c = sums[k] / sums[j] if sums[j] > 0.0 else 1.0
        factors[j] = c if math.isfinite(c) and c > 0.0 else 1.0
    for i in range(n):
        for j in range(k):
            grad[i, j] = clamp_grad(f64(grad[i, j]) * factors[j])
            hess[i, j] = clamp_hess(f64(hess[i, j]) * factors[j])
