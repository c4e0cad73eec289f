"""Softmax-link kernels for integer class labels: softmax cross-entropy (with
label smoothing) and multiclass focal loss.

``margin`` is (n, k), C-contiguous; labels are class indices stored as floats.
Only the diagonal of each row's k x k Hessian is returned, as boosters expect.
"""

from __future__ import annotations

import numpy as np

from numba import njit

from ._common import INLINE, JIT, clamp_grad, clamp_hess
from ._fastmath import fast_exp, fast_log, fast_log1p


@njit(**INLINE)
def _pow(u, gamma):
    """``u ** gamma`` for ``u >= 0``, ``gamma >= 0`` (``0 ** 0 = 1``) without a libm call."""
    if gamma == 0.0:
        return 1.0
    return fast_exp(gamma * fast_log(u))


@njit(**INLINE)
def _row_softmax(margin, i, prob):
    """Fill ``prob`` with softmax(margin[i]); return log-sum-exp of the row."""
    k = margin.shape[1]
    top = float(margin[i, 0])
    for j in range(1, k):
        top = max(top, float(margin[i, j]))
    # The exp loop carries no sum, so it compiles to SIMD code; the sum follows.
    for j in range(k):
        prob[j] = fast_exp(float(margin[i, j]) - top)
    total = 0.0
    for j in range(k):
        total += prob[j]
    inv = 1.0 / total
    for j in range(k):
        prob[j] *= inv
    return top + fast_log(total)


@njit(**JIT)
def softmax_grad_hess(y, margin, weight, smoothing, hess_scale, grad, hess):
    """``hess_scale`` multiplies the exact diagonal ``p (1 - p)`` (XGBoost uses 2,
    LightGBM ``k / (k - 1)``)."""
    weighted = weight.shape[0] > 0
    n, k = margin.shape
    prob = np.empty(k)
    off = smoothing / k
    for i in range(n):
        w = weight[i] if weighted else 1.0
        _row_softmax(margin, i, prob)
        c = int(y[i])
        wh = w * hess_scale
        for j in range(k):
            target = off + (1.0 - smoothing if j == c else 0.0)
            p = prob[j]
            grad[i, j] = clamp_grad(w * (p - target))
            hess[i, j] = clamp_hess(wh * (p * (1.0 - p)))


@njit(**JIT)
def softmax_loss_sum(y, margin, weight, smoothing):
    weighted = weight.shape[0] > 0
    n, k = margin.shape
    prob = np.empty(k)
    off = smoothing / k
    total = 0.0
    for i in range(n):
        w = weight[i] if weighted else 1.0
        lse = _row_softmax(margin, i, prob)
        c = int(y[i])
        value = lse - (1.0 - smoothing) * float(margin[i, c])
        if smoothing > 0.0:
            for j in range(k):
                value -= off * float(margin[i, j])
        total += w * value
    return total


@njit(**JIT)
def softmax_focal_grad_hess(y, margin, weight, gamma, alpha, grad, hess):
    """Focal loss ``-alpha_c (1 - p_c)^gamma log p_c`` of the true class ``c``.

    With ``u = 1 - p_c`` the gradient is ``A (delta_cj - p_j)`` where
    ``A = alpha_c u^gamma (gamma p_c log(p_c) / u - 1)``. The Hessian diagonal is
    floored at ``alpha_c u^gamma p_j (1 - p_j)`` (cross-entropy curvature times
    the modulating factor; exact at gamma = 0), where focal loss is concave.
    """
    weighted = weight.shape[0] > 0
    n, k = margin.shape
    prob = np.empty(k)
    for i in range(n):
        w = weight[i] if weighted else 1.0
        lse = _row_softmax(margin, i, prob)
        c = int(y[i])
        a_c = alpha[c]
        log_pc = float(margin[i, c]) - lse
        pc = prob[c]
        u = 0.0
        for j in range(k):
            if j != c:
                u += prob[j]
        # ratio = log(p_c) / u, which tends to -1 as u -> 0.
        if u > 0.5:
            ratio = log_pc / u
        elif u > 0.0:
            ratio = fast_log1p(-u) / u
        else:
            ratio = -1.0
        ug = _pow(u, gamma)
        big_a = a_c * ug * (gamma * pc * ratio - 1.0)
        big_b = a_c * gamma * ug * (log_pc + 2.0 - (gamma - 1.0) * pc * ratio)
        for j in range(k):
            pj = prob[j]
            if j == c:
                g = big_a * (1.0 - pj)
                h = big_b * pc * u - big_a * pc * u
            else:
                g = -big_a * pj
                sq = pj * (pj / u) if u > 0.0 else 0.0
                h = big_b * pc * sq - big_a * pj * (1.0 - pj)
            floor = a_c * ug * pj * (1.0 - pj)
            grad[i, j] = clamp_grad(w * g)
            hess[i, j] = clamp_hess(w * max(h, floor))


@njit(**JIT)
def softmax_focal_loss_sum(y, margin, weight, gamma, alpha):
    weighted = weight.shape[0] > 0
    n, k = margin.shape
    prob = np.empty(k)
    total = 0.0
    for i in range(n):
        w = weight[i] if weighted else 1.0
        lse = _row_softmax(margin, i, prob)
        c = int(y[i])
        u = 0.0
        for j in range(k):
            if j != c:
                u += prob[j]
        total += w * alpha[c] * _pow(u, gamma) * (lse - float(margin[i, c]))
    return total
