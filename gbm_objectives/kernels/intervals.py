"""Kernels of non-crossing quantile and expectile sets: k outputs per row.

Margins ``m`` of shape (n, k) map to predictions that never cross, by one
of two transforms. Softplus increments: ``q_0 = m_0`` and
``q_j = q_{j-1} + EPS + softplus(m_j)`` (XGBoost's ``reg:expectileerror``
transform, so its saved models predict the same values). Cumulative
maximum: ``q_0 = m_0`` and ``q_j = max(q_{j-1}, m_j)``, where each margin
is its own level wherever the levels do not cross. A loss summed over the k levels at the predictions has, by the
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
from ._fastmath import fast_exp_nonpositive, fast_log1p
from .regression import FLOAT64_MAX

#: The smallest gap between consecutive levels (XGBoost's ``kRtEps``).
EPS = 1e-6
#: The MM surrogate's constant and curvature floor (XGBoost 3.4's quantile).
MM_C = 0.04
MM_FLOOR = 3e-4
#: Curvature codes of the quantile sets.
CURVATURE_SCALED = 0
CURVATURE_MM = 1
CURVATURE_ADAPTIVE = 2
#: ``CURVATURE_ADAPTIVE``: the MM bandwidth is ``c_j * S_j`` times the row's
#: predicted width (top level minus bottom level) over the mean width, within
#: ``[ADAPTIVE_MIN_WIDTH, 1 / ADAPTIVE_MIN_WIDTH]``; a row whose residual exceeds ``ADAPTIVE_FAR`` times its width
#: has its curvature scaled by ``1 + a_j (max(2 * |pinball slope on its side|, min_side) - 1)``, ``min_side``
#: ``ADAPTIVE_MIN_SIDE`` (``ADAPTIVE_MIN_SIDE_MAX`` under the cumulative maximum, where no lower level carries a
#: tail level towards its labels: it moves the whole way on its own; measured in benchmarks/bench_level_sets.py).
#: Level
#: ``j``'s ``a_j`` in [0, 1] says how far its share of labels above it is from ``1 - alpha_j`` (1: far off, 0: at
#: its quantile) and ``c_j = MM_C + a_j (ADAPTIVE_C - MM_C)``: a level off its quantile takes wide, fast steps, one
#: at it XGBoost 3.4's narrow MM surrogate, whose fixed point is the quantile.
ADAPTIVE_C = 0.15
ADAPTIVE_MIN_WIDTH = 0.05
ADAPTIVE_FAR = 0.45
ADAPTIVE_MIN_SIDE = 0.3
ADAPTIVE_MIN_SIDE_MAX = 0.1


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
def levels_of_margins(margin, cummax, out):
    """Predictions of margins (n, k): cumulative softplus increments, or with
    ``cummax`` the cumulative maximum ``q_j = max(q_{j-1}, m_j)``."""
    for i in range(margin.shape[0]):
        q = f64(margin[i, 0])
        out[i, 0] = q
        for j in range(1, margin.shape[1]):
            q = max(q, f64(margin[i, j])) if cummax else q + (EPS + _softplus(f64(margin[i, j])))
            out[i, j] = q


@njit(**JIT)
def noncrossing_link(pred, out):
    """Margins of non-decreasing predictions (n, k): the inverse of :func:`levels_of_margins`.

    Gaps below ``EPS`` (which no margin produces) map to the margin of the
    smallest representable gap, as XGBoost's ``SoftPlusInv`` clamps them.
    """
    for i in range(pred.shape[0]):
        out[i, 0] = pred[i, 0]
        for j in range(1, pred.shape[1]):
            gap = min(max(pred[i, j] - pred[i, j - 1] - EPS, 1e-300), FLOAT64_MAX)
            # softplus^-1(x) = x + log(1 - exp(-x)), without cancellation.
            out[i, j] = gap + math.log(-math.expm1(-gap))


@njit(**INLINE)
def _chain(margin, i, g_level, h_level, w, grad, hess):
    """Margin gradients and curvature from the per-level ones of row ``i``."""
    k = margin.shape[1]
    g_sum = 0.0
    h_sum = 0.0
    for j in range(k - 1, -1, -1):
        # Saturated, so that a sum of huge level gradients meeting a vanishing
        # sigmoid gives 0, not inf * 0.
        g_sum = min(max(g_sum + g_level[j], -FLOAT64_MAX), FLOAT64_MAX)
        h_sum = min(h_sum + h_level[j], FLOAT64_MAX)
        s = 1.0 if j == 0 else _sigmoid(f64(margin[i, j]))
        grad[i, j] = clamp_grad(w * (s * g_sum))
        hess[i, j] = clamp_hess(w * (s * s * h_sum))


@njit(**INLINE)
def _level_derivatives(r, a, scale, inv, curvature, rel, width, accel, c, min_side):
    """Derivatives of level ``a``'s pinball surrogate at residual ``r = q - y``.

    ``inv`` is ``1 / (c S)`` of the MM curvatures (0: the subgradient with unit
    curvature), ``rel`` and ``width`` the row's relative and absolute predicted
    width, ``accel`` in [0, 1] how far the level's share of labels above it is
    from ``1 - a`` and ``min_side`` the floor of the far rows' factor (read by
    ``CURVATURE_ADAPTIVE`` only).
    """
    sub = (1.0 - a) if r >= 0.0 else -a
    if inv > 0.0:
        if curvature == CURVATURE_ADAPTIVE:
            th, ratio = _mm_tanh_ratio(r * (inv / rel))
            h = ratio / (2.0 * c * rel)
            # The MM quadratic at a far residual moves a level 2 |slope| of the
            # way to the label: a tail level on its shallow side creeps (5% of the
            # way at alpha 0.95). Far from the predicted band its curvature takes
            # the slope's share, so such rows move the level most of the way.
            # Only while the level is off its quantile: at its quantile the larger steps
            # would fit noise.
            if abs(r) > ADAPTIVE_FAR * width:
                h *= 1.0 + accel * (max(2.0 * abs(sub), min_side) - 1.0)
        else:
            th, ratio = _mm_tanh_ratio(r * inv)
            h = ratio / (2.0 * MM_C)
        return 0.5 * scale * (th + 1.0 - 2.0 * a), h
    if curvature == CURVATURE_SCALED:
        return sub, 0.5 / (abs(r) + scale)
    return sub, 1.0


@njit(**INLINE)
def _relative_width(width, mean_width):
    """``width / mean_width`` within ``[ADAPTIVE_MIN_WIDTH, 1 / ADAPTIVE_MIN_WIDTH]``; 1
    (the level's own bandwidth) where the mean width is 0 or overflowed."""
    if not (mean_width > 0.0 and mean_width <= FLOAT64_MAX):
        return 1.0
    rel = width / mean_width
    if not rel >= ADAPTIVE_MIN_WIDTH:  # NaN included
        return ADAPTIVE_MIN_WIDTH
    return min(rel, 1.0 / ADAPTIVE_MIN_WIDTH)


@njit(**INLINE)
def _adaptive_c(accel):
    return MM_C + accel * (ADAPTIVE_C - MM_C)


@njit(**INLINE)
def _inverse_bandwidths(scales, curvature, accel, out):
    """``1 / (c S_j)`` of the MM curvatures; 0 where the subgradient is taken instead."""
    for j in range(scales.shape[0]):
        c = _adaptive_c(accel[j]) if curvature == CURVATURE_ADAPTIVE else MM_C
        out[j] = 0.0
        if curvature != CURVATURE_SCALED and scales[j] > 0.0:
            # A subnormal scale (residuals of 1e-324) overflows 1 / S, and r * inf at a
            # zero residual is NaN: such a level takes the pinball subgradient instead.
            v = 1.0 / (c * scales[j])
            if math.isfinite(v):
                out[j] = v


@njit(**JIT)
def multi_quantile_grad_hess(y, margin, weight, alphas, scales, curvature, mean_width, accel, grad, hess):
    """Pinball losses of every level, chained through the transform (``coupling="chain"``).
    ``scales[j]``: the mean absolute residual of level ``j`` (``curvature=CURVATURE_SCALED``,
    curvature ``0.5 / (|r| + s)``) or the MM scale ``S_j`` (``CURVATURE_MM``, XGBoost
    3.4's smooth quantile; ``CURVATURE_ADAPTIVE``, its bandwidth scaled by each row's
    predicted width over ``mean_width``)."""
    n, k = margin.shape
    weighted = weight.shape[0] > 0
    g_level = np.empty(k)
    h_level = np.empty(k)
    q_level = np.empty(k)
    inv = np.empty(k)
    _inverse_bandwidths(scales, curvature, accel, inv)
    for i in range(n):
        w = weight[i] if weighted else 1.0
        yi = f64(y[i])
        q = f64(margin[i, 0])
        for j in range(k):
            if j > 0:
                q += EPS + _softplus(f64(margin[i, j]))
            q_level[j] = q
        width = q_level[k - 1] - q_level[0]
        rel = _relative_width(width, mean_width)
        for j in range(k):
            r = q_level[j] - yi
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
                g_level[j], h_level[j] = _level_derivatives(r, a, scales[j], inv[j], curvature, rel, width,
                                                            accel[j], _adaptive_c(accel[j]), ADAPTIVE_MIN_SIDE)
        _chain(margin, i, g_level, h_level, w, grad, hess)


@njit(**INLINE)
def _increment(x):
    """``(EPS + softplus(x), sigmoid(x))`` from one ``exp``, with no libm call."""
    e = fast_exp_nonpositive(-abs(x))
    d = 1.0 / (1.0 + e)
    return EPS + max(x, 0.0) + fast_log1p(e), (d if x >= 0.0 else e * d)


@njit(**INLINE)
def _mm_tanh_ratio(x):
    """``(tanh(x), max(tanh(x) / x, MM_FLOOR))`` with no libm call (the ratio is 1 at 0)."""
    ax = abs(x)
    e = fast_exp_nonpositive(-2.0 * ax)
    t = (1.0 - e) / (1.0 + e)
    # (1 - e) cancels below |x| ~ 1e-4, where tanh(x) / x = 1 - x^2 / 3 to float64 precision
    small = ax < 1e-4
    ratio = (1.0 - ax * ax / 3.0) if small else t / max(ax, 1e-300)
    t = ax * ratio if small else t
    return (t if x >= 0.0 else -t), max(ratio, MM_FLOOR)


#: Rows per block of the level-by-level kernels: their scratch stays a few KiB.
BLOCK = 32


@njit(**INLINE)
def _load_block(margin, start, stop, mb):
    """Margins of rows ``start:stop`` into ``mb[level, row]``: each level contiguous."""
    for t in range(stop - start):
        for j in range(margin.shape[1]):
            mb[j, t] = f64(margin[start + t, j])


@njit(**JIT)
def multi_quantile_own_level_grad_hess(y, margin, weight, alphas, scales, curvature, mean_width, accel, cummax,
                                       grad, hess):
    """Pinball losses of every level, each margin following its own level only
    (``coupling="level"``): ``s_j g_j`` and ``s_j^2 h_j``, in blocks of rows.
    With ``cummax`` the levels are the cumulative maximum of the margins and
    ``s_j = 1``: margin ``j`` takes level ``j``'s derivatives as if it were
    the level (which it is wherever the levels do not cross).

    The levels of a block are computed first, level after level (each needs
    only the one below it), then the derivatives, level after level: the
    loops over the rows of a block are straight-line arithmetic without libm
    calls, which compiles to SIMD code whatever the layout of ``margin`` and
    the outputs.
    """
    n, k = margin.shape
    weighted = weight.shape[0] > 0
    mb = np.empty((k, BLOCK))
    qb = np.empty((k, BLOCK))
    sb = np.empty((k, BLOCK))
    gb = np.empty((k, BLOCK))
    hb = np.empty((k, BLOCK))
    inv = np.empty(k)
    min_side = ADAPTIVE_MIN_SIDE_MAX if cummax else ADAPTIVE_MIN_SIDE
    _inverse_bandwidths(scales, curvature, accel, inv)
    for start in range(0, n, BLOCK):
        stop = min(start + BLOCK, n)
        nb = stop - start
        _load_block(margin, start, stop, mb)
        for t in range(nb):
            qb[0, t] = mb[0, t]
            sb[0, t] = 1.0
        for j in range(1, k):
            if cummax:
                for t in range(nb):
                    qb[j, t] = max(qb[j - 1, t], mb[j, t])
                    sb[j, t] = 1.0
            else:
                for t in range(nb):
                    step, s = _increment(mb[j, t])
                    qb[j, t] = qb[j - 1, t] + step
                    sb[j, t] = s
        for j in range(k):
            a = alphas[j]
            scale = scales[j]
            inv_j = inv[j]
            accel_j = accel[j]
            c_j = _adaptive_c(accel_j)
            for t in range(nb):
                width = qb[k - 1, t] - qb[0, t]
                rel = _relative_width(width, mean_width)
                r = qb[j, t] - f64(y[start + t])
                g, h = _level_derivatives(r, a, scale, inv_j, curvature, rel, width, accel_j, c_j, min_side)
                s = sb[j, t]
                w = weight[start + t] if weighted else 1.0
                gb[j, t] = w * (s * g)
                hb[j, t] = w * (s * s * h)
        for t in range(nb):
            for j in range(k):
                grad[start + t, j] = clamp_grad(gb[j, t])
                hess[start + t, j] = clamp_hess(hb[j, t])


# The level sums are reductions: ``reassoc`` lets them run in SIMD lanes.
_JIT_SUMS = dict(JIT, fastmath={"contract", "reassoc"})


@njit(**_JIT_SUMS)
def multi_quantile_level_sums(y, margin, weight, cummax, out, width_out):
    """Per level ``j``: ``out[j, 0] = sum w |r_j|``, ``out[j, 1] = sum w sqrt|r_j|``,
    ``out[j, 2] = sum w``, ``out[j, 3] = sum w 1(y > q_j)``, and
    ``width_out[0] = sum w (q_{k-1} - q_0)``: the statistics
    the curvatures scale by (summed over workers in distributed training). In blocks
    of rows, one level after another (as :func:`multi_quantile_own_level_grad_hess`):
    SIMD code, no libm call but ``sqrt``."""
    n, k = margin.shape
    weighted = weight.shape[0] > 0
    mb = np.empty((k, BLOCK))
    levels = np.empty(BLOCK)
    bottom = np.empty(BLOCK)
    out[:, :] = 0.0
    width_sum = 0.0
    for start in range(0, n, BLOCK):
        stop = min(start + BLOCK, n)
        nb = stop - start
        _load_block(margin, start, stop, mb)
        for j in range(k):
            s_abs = 0.0
            s_sqrt = 0.0
            s_w = 0.0
            s_above = 0.0
            for t in range(nb):
                m = mb[j, t]
                if j == 0:
                    q = m
                elif cummax:
                    q = max(levels[t], m)
                else:
                    q = levels[t] + _increment(m)[0]
                levels[t] = q
                d = f64(y[start + t]) - q
                a = abs(d)
                w = weight[start + t] if weighted else 1.0
                s_abs += w * a
                s_sqrt += w * math.sqrt(a)
                s_w += w
                s_above += w if d > 0.0 else 0.0
            out[j, 0] += s_abs
            out[j, 1] += s_sqrt
            out[j, 2] += s_w
            out[j, 3] += s_above
            if j == 0:
                for t in range(nb):
                    bottom[t] = levels[t]
        for t in range(nb):
            w = weight[start + t] if weighted else 1.0
            width_sum += w * (levels[t] - bottom[t])
    width_out[0] = width_sum


@njit(**JIT)
def multi_quantile_loss_sum(y, margin, weight, alphas, cummax):
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
                q = max(q, f64(margin[i, j])) if cummax else q + (EPS + _softplus(f64(margin[i, j])))
            d = yi - q
            row += max(alphas[j] * d, (alphas[j] - 1.0) * d)
        total += w * row
    return total


@njit(**JIT)
def multi_expectile_grad_hess(y, margin, weight, alphas, cummax, grad, hess):
    """Asymmetric squared errors of every level. Softplus increments: XGBoost's
    ``reg:expectileerror`` (chained through the transform); with ``cummax`` each
    margin takes its own level's derivatives (exact wherever the margins do not cross)."""
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
                q = max(q, f64(margin[i, j])) if cummax else q + (EPS + _softplus(f64(margin[i, j])))
            r = min(max(q - yi, -FLOAT64_MAX), FLOAT64_MAX)
            a = 1.0 - alphas[j] if r >= 0.0 else alphas[j]
            g_level[j] = a * r
            h_level[j] = a
        if cummax:
            for j in range(k):
                grad[i, j] = clamp_grad(w * g_level[j])
                hess[i, j] = clamp_hess(w * h_level[j])
        else:
            _chain(margin, i, g_level, h_level, w, grad, hess)


@njit(**JIT)
def multi_expectile_loss_sum(y, margin, weight, alphas, cummax):
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
                q = max(q, f64(margin[i, j])) if cummax else q + (EPS + _softplus(f64(margin[i, j])))
            r = q - yi
            a = 1.0 - alphas[j] if r >= 0.0 else alphas[j]
            row += 0.5 * a * r * r
        total += w * row
    return total
