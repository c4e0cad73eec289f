"""Kernels of non-crossing quantile and expectile sets: k outputs per row.

Margins ``m`` of shape (n, k) map to predictions that never cross:
``q_0 = m_0`` and ``q_j = q_{j-1} + EPS + softplus(m_j)`` (XGBoost's
``reg:expectileerror`` transform, so its saved models predict the same
values). A loss summed over the k levels at the predictions has, by the
chain rule, the margin gradient ``s_j sum_{l >= j} g_l`` with ``s_0 = 1`` and
``s_j = sigmoid(m_j)``, and the diagonal Gauss-Newton curvature
``s_j^2 sum_{l >= j} h_l``, where ``g_l, h_l`` are the derivatives of level
``l``'s loss with respect to its own prediction.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from ._common import INLINE, JIT, clamp_grad, clamp_hess, f64

#: The smallest gap between consecutive levels (XGBoost's ``kRtEps``).
EPS = 1e-6
#: The MM surrogate's constant and curvature floor (XGBoost 3.4's quantile).
MM_C = 0.04
MM_FLOOR = 3e-4
#: Curvature codes of the quantile sets.
CURVATURE_SCALED = 0
CURVATURE_MM = 1


@njit(**INLINE)
def _softplus(x):
    if x > 0.0:
        return x + math.log1p(math.exp(-x))
    return math.log1p(math.exp(x))


@njit(**INLINE)
def _sigmoid(x):
    if x >= 0.0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


@njit(**JIT)
def noncrossing_inverse(margin, out):
    """Predictions of margins (n, k): cumulative softplus increments."""
    for i in range(margin.shape[0]):
        q = f64(margin[i, 0])
        out[i, 0] = q
        for j in range(1, margin.shape[1]):
            q += EPS + _softplus(f64(margin[i, j]))
            out[i, j] = q


@njit(**JIT)
def noncrossing_link(pred, out):
    """Margins of non-decreasing predictions (n, k): the inverse of :func:`noncrossing_inverse`.

    Gaps below ``EPS`` (which no margin produces) map to the margin of the
    smallest representable gap, as XGBoost's ``SoftPlusInv`` clamps them.
    """
    for i in range(pred.shape[0]):
        out[i, 0] = pred[i, 0]
        for j in range(1, pred.shape[1]):
            gap = max(pred[i, j] - pred[i, j - 1] - EPS, 1e-300)
            # softplus^-1(x) = x + log(1 - exp(-x)), without cancellation.
            out[i, j] = gap + math.log(-math.expm1(-gap))


@njit(**INLINE)
def _chain(margin, i, g_level, h_level, w, grad, hess):
    """Margin gradients and curvature from the per-level ones of row ``i``."""
    k = margin.shape[1]
    g_sum = 0.0
    h_sum = 0.0
    for j in range(k - 1, -1, -1):
        g_sum += g_level[j]
        h_sum += h_level[j]
        s = 1.0 if j == 0 else _sigmoid(f64(margin[i, j]))
        grad[i, j] = clamp_grad(w * (s * g_sum))
        hess[i, j] = clamp_hess(w * (s * s * h_sum))


@njit(**INLINE)
def _own_levels(margin, i, g_level, h_level, w, grad, hess):
    """Every margin follows its own level only: ``s_j g_j`` and ``s_j^2 h_j``."""
    for j in range(margin.shape[1]):
        s = 1.0 if j == 0 else _sigmoid(f64(margin[i, j]))
        grad[i, j] = clamp_grad(w * (s * g_level[j]))
        hess[i, j] = clamp_hess(w * (s * s * h_level[j]))


@njit(**JIT)
def multi_quantile_grad_hess(y, margin, weight, alphas, scales, curvature, own_level, grad, hess):
    """Pinball losses of every level. ``scales[j]``: the mean absolute residual of
    level ``j`` (``curvature=CURVATURE_SCALED``, curvature ``0.5 / (|r| + s)``) or
    the MM scale ``S_j`` (``CURVATURE_MM``, XGBoost 3.4's smooth quantile).
    ``own_level``: each margin follows its own level (:func:`_own_levels`)
    instead of the chain rule over every level it moves."""
    n, k = margin.shape
    weighted = weight.shape[0] > 0
    g_level = np.empty(k)
    h_level = np.empty(k)
    for i in range(n):
        w = weight[i] if weighted else 1.0
        yi = f64(y[i])
        q = f64(margin[i, 0])
        for j in range(k):
            if j > 0:
                q += EPS + _softplus(f64(margin[i, j]))
            r = q - yi
            a = alphas[j]
            if curvature == CURVATURE_MM:
                s = scales[j]
                if s > 0.0:
                    x = r / (MM_C * s)
                    t = math.tanh(x)
                    ratio = t / x if x != 0.0 else 1.0
                    g_level[j] = 0.5 * s * (t + 1.0 - 2.0 * a)
                    h_level[j] = max(ratio, MM_FLOOR) / (2.0 * MM_C)
                else:
                    g_level[j] = (1.0 - a) if r >= 0.0 else -a
                    h_level[j] = 1.0
            else:
                g_level[j] = (1.0 - a) if r >= 0.0 else -a
                h_level[j] = 0.5 / (abs(r) + scales[j])
        if own_level:
            _own_levels(margin, i, g_level, h_level, w, grad, hess)
        else:
            _chain(margin, i, g_level, h_level, w, grad, hess)


@njit(**JIT)
def multi_quantile_level_sums(y, margin, weight, out):
    """Per level ``j``: ``out[j, 0] = sum w |r_j|``, ``out[j, 1] = sum w sqrt|r_j|``,
    ``out[j, 2] = sum w``: the statistics both curvatures scale by (summed over
    workers in distributed training)."""
    n, k = margin.shape
    weighted = weight.shape[0] > 0
    out[:, :] = 0.0
    for i in range(n):
        w = weight[i] if weighted else 1.0
        yi = f64(y[i])
        q = f64(margin[i, 0])
        for j in range(k):
            if j > 0:
                q += EPS + _softplus(f64(margin[i, j]))
            a = abs(q - yi)
            out[j, 0] += w * a
            out[j, 1] += w * math.sqrt(a)
            out[j, 2] += w


@njit(**JIT)
def multi_quantile_loss_sum(y, margin, weight, alphas):
    n, k = margin.shape
    weighted = weight.shape[0] > 0
    total = 0.0
    for i in range(n):
        w = weight[i] if weighted else 1.0
        yi = f64(y[i])
        q = f64(margin[i, 0])
        row = 0.0
        for j in range(k):
            if j > 0:
                q += EPS + _softplus(f64(margin[i, j]))
            d = yi - q
            row += max(alphas[j] * d, (alphas[j] - 1.0) * d)
        total += w * row
    return total


@njit(**JIT)
def multi_expectile_grad_hess(y, margin, weight, alphas, grad, hess):
    """Asymmetric squared errors of every level (XGBoost's ``reg:expectileerror``)."""
    n, k = margin.shape
    weighted = weight.shape[0] > 0
    g_level = np.empty(k)
    h_level = np.empty(k)
    for i in range(n):
        w = weight[i] if weighted else 1.0
        yi = f64(y[i])
        q = f64(margin[i, 0])
        for j in range(k):
            if j > 0:
                q += EPS + _softplus(f64(margin[i, j]))
            r = q - yi
            a = 1.0 - alphas[j] if r >= 0.0 else alphas[j]
            g_level[j] = a * r
            h_level[j] = a
        _chain(margin, i, g_level, h_level, w, grad, hess)


@njit(**JIT)
def multi_expectile_loss_sum(y, margin, weight, alphas):
    n, k = margin.shape
    weighted = weight.shape[0] > 0
    total = 0.0
    for i in range(n):
        w = weight[i] if weighted else 1.0
        yi = f64(y[i])
        q = f64(margin[i, 0])
        row = 0.0
        for j in range(k):
            if j > 0:
                q += EPS + _softplus(f64(margin[i, j]))
            r = q - yi
            a = 1.0 - alphas[j] if r >= 0.0 else alphas[j]
            row += 0.5 * a * r * r
        total += w * row
    return total
