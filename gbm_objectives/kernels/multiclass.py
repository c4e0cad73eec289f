"""Softmax-link kernels for integer class labels: softmax cross-entropy (with
label smoothing) and multiclass focal loss.

``margin`` is (n, k), C-contiguous; labels are class indices stored as floats.
Only the diagonal of each row's k x k Hessian is returned, as boosters expect.
"""

from __future__ import annotations

import numpy as np
from numba import njit, uint64

from ._common import INLINE, JIT, clamp_grad, clamp_hess, f64
from ._fastmath import fast_exp, fast_log, fast_log1p


@njit(**INLINE)
def _pow(u, gamma):
    """``u ** gamma`` for ``u >= 0``, ``gamma >= 0`` (``0 ** 0 = 1``) without a libm call."""
    if gamma == 0.0:
        return 1.0
    return fast_exp(gamma * fast_log(u))


@njit(**INLINE)
def _row_softmax(margin, i, prob):
    """Fill ``prob`` with softmax(margin[i]); return ``(top, log_total)``.

    ``top`` is the row's largest margin and ``log_total = log(sum_j exp(f_j - top))``,
    so the log-sum-exp is ``top + log_total``. Callers form log-probabilities
    as ``(f_j - top) - log_total`` instead: ``top + log_total`` would absorb
    ``log_total`` once ``|top|`` passes ~1e15 (and all of it at 1e300), turning
    a loss of log k into 0.
    """
    k = margin.shape[1]
    top = f64(margin[i, 0])
    for j in range(1, k):
        top = max(top, f64(margin[i, j]))
    # The exp loop carries no sum, so it compiles to SIMD code; the sum follows.
    for j in range(k):
        prob[j] = fast_exp(f64(margin[i, j]) - top)
    total = 0.0
    for j in range(k):
        total += prob[j]
    inv = 1.0 / total
    for j in range(k):
        prob[j] *= inv
    return top, fast_log(total)


#: Margin entries per block of the layout-specific softmax kernels (sets their scratch size).
BLOCK_ENTRIES = 4096


@njit(**JIT)
def _softmax_c(y, margin, weight, smoothing, hess_scale, grad, hess):
    """Softmax for C-ordered (row-major, XGBoost's layout) margins and outputs.

    Rows are processed in blocks so that the expensive ``exp`` runs in one flat
    SIMD loop over the block instead of short per-row loops: per-row values
    (max, 1 / sum) are spread over a block-sized scratch row, next to a
    block-sized scratch of ``exp(f - max)``.
    """
    n, k = margin.shape
    weighted = weight.shape[0] > 0
    flat_m = margin.reshape(n * k)
    flat_g = grad.reshape(n * k)
    flat_h = hess.reshape(n * k)
    block = max(1, BLOCK_ENTRIES // k)
    rows = min(n, block)
    aux = np.empty(rows * k)
    ex = np.empty(rows * k)
    spread_w = np.empty(rows * k if weighted else 0)
    p_true = np.empty(rows)
    off = smoothing / k
    on = off + (1.0 - smoothing)
    for b0 in range(0, n, block):
        nb = min(block, n - b0)
        # Unsigned flat indices: no negative-index wraparound, so the loops vectorise.
        base = uint64(b0 * k)
        size = uint64(nb * k)
        for r in range(nb):
            i = b0 + r
            top = f64(margin[i, 0])
            for j in range(1, k):
                top = max(top, f64(margin[i, j]))
            for j in range(k):
                aux[r * k + j] = top
        for t in range(size):
            ex[t] = fast_exp(f64(flat_m[base + t]) - aux[t])
        for r in range(nb):
            total = 0.0
            for j in range(k):
                total += ex[r * k + j]
            inv = 1.0 / total
            p_true[r] = ex[r * k + int(y[b0 + r])] * inv
            for j in range(k):
                aux[r * k + j] = inv
        if weighted:
            for r in range(nb):
                for j in range(k):
                    spread_w[r * k + j] = weight[b0 + r]
            for t in range(size):
                p = ex[t] * aux[t]
                flat_g[base + t] = clamp_grad(spread_w[t] * (p - off))
                flat_h[base + t] = clamp_hess(spread_w[t] * (hess_scale * (p * (1.0 - p))))
        else:
            for t in range(size):
                p = ex[t] * aux[t]
                flat_g[base + t] = clamp_grad(p - off)
                flat_h[base + t] = clamp_hess(hess_scale * (p * (1.0 - p)))
        # The true class's target is ``on``, not ``off``.
        for r in range(nb):
            i = b0 + r
            w = weight[i] if weighted else 1.0
            grad[i, int(y[i])] = clamp_grad(w * (p_true[r] - on))


@njit(**JIT)
def _softmax_f(y, margin, weight, smoothing, hess_scale, grad, hess):
    """Softmax for Fortran-ordered (class-major, LightGBM's layout) margins and outputs.

    Each class column is contiguous, so every loop runs over a block of rows
    with per-row running max and sum in block-sized scratch: all SIMD.
    """
    n, k = margin.shape
    weighted = weight.shape[0] > 0
    block = max(1, min(BLOCK_ENTRIES // 4, 4 * BLOCK_ENTRIES // k))
    rows = min(n, block)
    top = np.empty(rows)
    inv = np.empty(rows)
    p_true = np.empty(rows)
    ex = np.empty((k, rows))
    off = smoothing / k
    on = off + (1.0 - smoothing)
    for b0 in range(0, n, block):
        # Unsigned row indices: no negative-index wraparound, so the loops vectorise.
        base = uint64(b0)
        nb = uint64(min(block, n - b0))
        for r in range(nb):
            top[r] = f64(margin[base + r, 0])
        for j in range(1, k):
            for r in range(nb):
                top[r] = max(top[r], f64(margin[base + r, j]))
        for r in range(nb):
            inv[r] = 0.0
        for j in range(k):
            for r in range(nb):
                e = fast_exp(f64(margin[base + r, j]) - top[r])
                ex[j, r] = e
                inv[r] += e
        for r in range(nb):
            inv[r] = 1.0 / inv[r]
            p_true[r] = ex[int(y[base + r]), r] * inv[r]
        for j in range(k):
            if weighted:
                for r in range(nb):
                    w = weight[base + r]
                    p = ex[j, r] * inv[r]
                    grad[base + r, j] = clamp_grad(w * (p - off))
                    hess[base + r, j] = clamp_hess(w * (hess_scale * (p * (1.0 - p))))
            else:
                for r in range(nb):
                    p = ex[j, r] * inv[r]
                    grad[base + r, j] = clamp_grad(p - off)
                    hess[base + r, j] = clamp_hess(hess_scale * (p * (1.0 - p)))
        for r in range(nb):
            w = weight[base + r] if weighted else 1.0
            grad[base + r, int(y[base + r])] = clamp_grad(w * (p_true[r] - on))


@njit(**JIT)
def _softmax_rows(y, margin, weight, smoothing, hess_scale, grad, hess):
    """Softmax for any memory layout, one row at a time."""
    weighted = weight.shape[0] > 0
    n, k = margin.shape
    prob = np.empty(k)
    off = smoothing / k
    for i in range(n):
        w = weight[i] if weighted else 1.0
        _row_softmax(margin, i, prob)
        c = int(y[i])
        for j in range(k):
            target = off + (1.0 - smoothing if j == c else 0.0)
            p = prob[j]
            grad[i, j] = clamp_grad(w * (p - target))
            hess[i, j] = clamp_hess(w * (hess_scale * (p * (1.0 - p))))


def softmax_grad_hess(y, margin, weight, smoothing, hess_scale, grad, hess):
    """Softmax cross-entropy gradient and Hessian diagonal of (n, k) margins.

    ``hess_scale`` multiplies the exact diagonal ``p (1 - p)`` (XGBoost uses 2,
    LightGBM ``k / (k - 1)``); it does so before the weight does, so that a
    weight near the float64 maximum times a vanishing ``p (1 - p)`` cannot
    become ``inf * 0``. Dispatches on the memory layout shared by
    ``margin``, ``grad`` and ``hess``: row-major (XGBoost) and class-major
    (LightGBM) each have a SIMD kernel; other layouts go row by row.
    """
    if margin.flags.c_contiguous and grad.flags.c_contiguous and hess.flags.c_contiguous:
        _softmax_c(y, margin, weight, smoothing, hess_scale, grad, hess)
    elif margin.flags.f_contiguous and grad.flags.f_contiguous and hess.flags.f_contiguous:
        _softmax_f(y, margin, weight, smoothing, hess_scale, grad, hess)
    else:
        _softmax_rows(y, margin, weight, smoothing, hess_scale, grad, hess)


@njit(**JIT)
def softmax_loss_sum(y, margin, weight, smoothing):
    weighted = weight.shape[0] > 0
    n, k = margin.shape
    prob = np.empty(k)
    off = smoothing / k
    total = 0.0
    for i in range(n):
        w = weight[i] if weighted else 1.0
        top, log_total = _row_softmax(margin, i, prob)
        c = int(y[i])
        # sum_j target_j (log_total - (f_j - top)): every term >= 0, no cancellation.
        value = log_total - (1.0 - smoothing) * (f64(margin[i, c]) - top)
        if smoothing > 0.0:
            for j in range(k):
                value -= off * (f64(margin[i, j]) - top)
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
        top, log_total = _row_softmax(margin, i, prob)
        c = int(y[i])
        a_c = alpha[c]
        log_pc = (f64(margin[i, c]) - top) - log_total
        pc = prob[c]
        u = 0.0
        for j in range(k):
            if j != c:
                u += prob[j]
        # p_c log(p_c) and p_c * ratio, with ratio = log(p_c) / u (which tends to
        # -1 as u -> 0), are formed first: both vanish with p_c, while log(p_c)
        # alone can be as large as the margins (or -inf when a row spans more
        # than the float64 range), and a product with it would give inf or NaN.
        plp = pc * log_pc if pc > 0.0 else 0.0
        if u > 0.5:
            pr = plp / u
        elif u > 0.0:
            pr = pc * (fast_log1p(-u) / u)
        else:
            pr = -pc
        ug = _pow(u, gamma)
        big_a = a_c * ug * (gamma * pr - 1.0)
        # big_b * p_c, where big_b = alpha_c gamma u^gamma (log p_c + 2 - (gamma - 1) p_c ratio).
        bpc = a_c * gamma * ug * (plp + 2.0 * pc - (gamma - 1.0) * pc * pr)
        for j in range(k):
            pj = prob[j]
            if j == c:
                g = big_a * (1.0 - pj)
                h = bpc * u - big_a * pc * u
            else:
                g = -big_a * pj
                sq = pj * (pj / u) if u > 0.0 else 0.0
                h = bpc * sq - big_a * pj * (1.0 - pj)
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
        top, log_total = _row_softmax(margin, i, prob)
        c = int(y[i])
        u = 0.0
        for j in range(k):
            if j != c:
                u += prob[j]
        total += w * alpha[c] * _pow(u, gamma) * (log_total - (f64(margin[i, c]) - top))
    return total
