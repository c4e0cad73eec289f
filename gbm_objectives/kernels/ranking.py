"""InfoNCE over groups of rows (one query, its candidates).

Within a group the scores ``s = f / temperature`` go through a softmax; the
target distribution puts mass ``y_j / sum(y)`` on each positive, so one or
several positives (or graded relevance) are handled alike. ``offsets`` holds
the group boundaries: group ``g`` is rows ``offsets[g]:offsets[g + 1]``.
A group's weight is the weight of its first row.
"""

from __future__ import annotations

import math

from numba import njit

from ._common import JIT, clamp_grad, clamp_hess


@njit(**JIT)
def _group_lse(margin, start, stop, inv_t):
    top = float(margin[start]) * inv_t
    for j in range(start + 1, stop):
        top = max(top, float(margin[j]) * inv_t)
    total = 0.0
    for j in range(start, stop):
        total += math.exp(float(margin[j]) * inv_t - top)
    return top + math.log(total)


@njit(**JIT)
def infonce_grad_hess(y, margin, weight, offsets, temperature, grad, hess):
    weighted = weight.shape[0] > 0
    inv_t = 1.0 / temperature
    for g in range(offsets.shape[0] - 1):
        start = offsets[g]
        stop = offsets[g + 1]
        w = weight[start] if weighted else 1.0
        lse = _group_lse(margin, start, stop, inv_t)
        pos = 0.0
        for j in range(start, stop):
            pos += float(y[j])
        for j in range(start, stop):
            p = math.exp(float(margin[j]) * inv_t - lse)
            target = float(y[j]) / pos
            grad[j] = clamp_grad(w * inv_t * (p - target))
            hess[j] = clamp_hess(w * inv_t * inv_t * p * (1.0 - p))


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
            pos += float(y[j])
        value = 0.0
        for j in range(start, stop):
            value += float(y[j]) / pos * (lse - float(margin[j]) * inv_t)
        total += w * value
    return total
