"""InfoNCE over groups of rows (one query, its candidates).

Within a group the scores ``s = f / temperature`` go through a softmax; the
target distribution puts mass ``y_j / sum(y)`` on each positive, so one or
several positives (or graded relevance) are handled alike. ``offsets`` holds
the group boundaries: group ``g`` is rows ``offsets[g]:offsets[g + 1]``.
A group's weight is the weight of its first row.

Scores enter ``exp`` as ``(f_j - max f) / temperature``: never positive, and
free of the error of ``f_j / temperature - max(f) / temperature``, which a
fused multiply-add leaves unrounded (at ``|f| ~ 1e22`` that error alone
overflows ``exp``). Losses are sums of ``log_total - (f_j - max f) / t``, so
the log-sum-exp is never added to a huge ``max f`` and subtracted again.
Labels are rescaled by a power of two when their group sum overflows or
underflows.
"""

from __future__ import annotations

from numba import float32, njit, uint64

from ._common import INLINE, JIT, clamp_grad, clamp_hess, f64
from ._fastmath import fast_exp, fast_log

_FLOAT64_MAX = 1.7976931348623157e308
#: Exact power-of-two rescalings of labels whose group sum overflows float64,
#: or is so small (subnormal labels) that its reciprocal would.
_LABEL_RESCALE = 2.0 ** -64
_TINY_LABEL_SUM = 2.0 ** -900
_TINY_LABEL_RESCALE = 2.0 ** 600


@njit(**INLINE)
def _group_max(margin, start, stop):
    top = f64(margin[start])
    for j in range(start + 1, stop):
        top = max(top, f64(margin[j]))
    return top


@njit(**INLINE)
def _label_scale(y, start, stop, pos):
    """``(scale, 1 / sum(scale * y))`` for a group whose label sum ``pos`` is positive.

    ``scale`` is 1 unless the sum overflows, or is so small that its
    reciprocal would; then it is a power of two that brings the sum back.
    """
    scale = 1.0
    if pos > _FLOAT64_MAX:
        scale = _LABEL_RESCALE
    elif pos < _TINY_LABEL_SUM:
        scale = _TINY_LABEL_RESCALE
    if scale != 1.0:
        pos = 0.0
        for j in range(start, stop):
            pos += f64(y[j]) * scale
    return scale, 1.0 / pos


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
        # exp(s_j - top) is parked in the outputs as a float32 pair hi + lo
        # (~48 bits) so that it is computed once, in a SIMD loop, without scratch.
        for j in range(start, stop):
            e = fast_exp((f64(margin[j]) - top) * inv_t)
            hi = float32(e)
            grad[j] = hi
            hess[j] = e - f64(hi)
        total = 0.0
        pos = 0.0
        for j in range(start, stop):
            total += f64(grad[j]) + f64(hess[j])
            pos += f64(y[j])
        scale, inv_pos = _label_scale(y, start, stop, pos)
        inv_total = 1.0 / total
        # The weight multiplies last: w / t alone can overflow, and then meet a
        # zero (p - target or p (1 - p)) as inf * 0.
        for j in range(start, stop):
            p = (f64(grad[j]) + f64(hess[j])) * inv_total
            grad[j] = clamp_grad(w * ((p - (f64(y[j]) * scale) * inv_pos) * inv_t))
            hess[j] = clamp_hess(w * ((p * (1.0 - p)) * inv_t * inv_t))


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
        top = _group_max(margin, start, stop)
        acc = 0.0
        pos = 0.0
        for j in range(start, stop):
            acc += fast_exp((f64(margin[j]) - top) * inv_t)
            pos += f64(y[j])
        log_total = fast_log(acc)
        scale, inv_pos = _label_scale(y, start, stop, pos)
        value = 0.0
        for j in range(start, stop):
            t = (f64(y[j]) * scale) * inv_pos
            if t > 0.0:
                value += t * (log_total - (f64(margin[j]) - top) * inv_t)
        total += w * value
    return total
