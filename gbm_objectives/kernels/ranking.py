"""InfoNCE over groups of rows (one query, its candidates).

Within a group the scores ``s = f / temperature`` go through a softmax; the
target distribution puts mass ``y_j / sum(y)`` on each positive, so one or
several positives (or graded relevance) are handled alike. ``offsets`` holds
the group boundaries: group ``g`` is rows ``offsets[g]:offsets[g + 1]``.
A group's weight is the weight of its first row.
"""

from __future__ import annotations

from numba import float32, njit, uint64

from ._common import INLINE, JIT, clamp_grad, clamp_hess, f64
from ._fastmath import fast_exp, fast_log


@njit(**INLINE)
def _group_lse(margin, start, stop, inv_t):
    top = f64(margin[start]) * inv_t
    for j in range(start + 1, stop):
        top = max(top, f64(margin[j]) * inv_t)
    total = 0.0
    for j in range(start, stop):
        total += fast_exp(f64(margin[j]) * inv_t - top)
    return top + fast_log(total)


@njit(**JIT)
def infonce_grad_hess(y, margin, weight, offsets, temperature, grad, hess):
    weighted = weight.shape[0] > 0
    inv_t = 1.0 / temperature
    for g in range(offsets.shape[0] - 1):
        # Unsigned indices: Numba then emits no negative-index wraparound, so
        # LLVM can vectorise the loops over a group.
        start = uint64(offsets[g])
        stop = uint64(offsets[g + 1])
        w = weight[start] if weighted else 1.0
        top = f64(margin[start])
        for j in range(start + uint64(1), stop):
            top = max(top, f64(margin[j]))
        top *= inv_t  # max(f) / t == max(f / t): rounding is monotone
        # exp(s_j - top) is parked in the outputs as a float32 pair hi + lo
        # (~48 bits) so that it is computed once, in a SIMD loop, without scratch.
        for j in range(start, stop):
            e = fast_exp(f64(margin[j]) * inv_t - top)
            hi = float32(e)
            grad[j] = hi
            hess[j] = e - f64(hi)
        total = 0.0
        pos = 0.0
        for j in range(start, stop):
            total += f64(grad[j]) + f64(hess[j])
            pos += f64(y[j])
        inv_total = 1.0 / total
        inv_pos = 1.0 / pos
        wg = w * inv_t
        wh = w * inv_t * inv_t
        for j in range(start, stop):
            p = (f64(grad[j]) + f64(hess[j])) * inv_total
            grad[j] = clamp_grad(wg * (p - f64(y[j]) * inv_pos))
            hess[j] = clamp_hess(wh * (p * (1.0 - p)))


@njit(**JIT)
def infonce_loss_sum(y, margin, weight, offsets, temperature):
    """Weighted sum over groups of ``-sum_j t_j log softmax(s)_j``."""
    weighted = weight.shape[0] > 0
    inv_t = 1.0 / temperature
    total = 0.0
    for g in range(offsets.shape[0] - 1):
        start = offsets[g]
        stop = offsets[g + 1]
        w = weight[start] if weighted else 1.0
        lse = _group_lse(margin, start, stop, inv_t)
        pos = 0.0
        for j in range(start, stop):
            pos += f64(y[j])
        value = 0.0
        for j in range(start, stop):
            value += f64(y[j]) / pos * (lse - f64(margin[j]) * inv_t)
        total += w * value
    return total
