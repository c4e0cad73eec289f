"""LightGBM's residual percentiles per leaf and its numerical tree walk.

LightGBM's ``l1`` and ``quantile`` objectives refit every leaf of a new tree
to a percentile of the residuals of its rows; these kernels reproduce its
definitions (``PercentileFun``, ``WeightedPercentileFun`` and the stable sort
in front of it) bit for bit, and :func:`tree_leaves` finds each row's leaf
the way LightGBM's ``NumericalDecision`` does. The entry points are
:func:`leaf_percentiles` and :func:`tree_leaves`; inputs are validated arrays:
``weight`` is empty (unweighted) or has one entry per row, leaf indices are
int64, outputs are preallocated.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ._common import INLINE, JIT, f64

#: LightGBM's ``kZeroThreshold``: values this close to 0 count as 0.
ZERO_THRESHOLD = 1e-35


@njit(**JIT)
def _select(a, k):
    """Rearrange ``a`` so that ``a[k]`` is its k-th smallest value, smaller ones
    before it and larger ones after (Hoare's selection); return ``a[k]``."""
    left = 0
    right = a.shape[0] - 1
    while right > left:
        mid = (left + right) // 2
        # Median of three as pivot keeps sorted input linear.
        if a[mid] < a[left]:
            a[mid], a[left] = a[left], a[mid]
        if a[right] < a[left]:
            a[right], a[left] = a[left], a[right]
        if a[right] < a[mid]:
            a[right], a[mid] = a[mid], a[right]
        pivot = a[mid]
        i = left
        j = right
        while i <= j:
            while a[i] < pivot:
                i += 1
            while pivot < a[j]:
                j -= 1
            if i <= j:
                a[i], a[j] = a[j], a[i]
                i += 1
                j -= 1
        if k <= j:
            right = j
        elif k >= i:
            left = i
        else:
            break
    return a[k]


@njit(**JIT)
def _percentile(values, alpha):
    """LightGBM's ``PercentileFun``: linear interpolation between the order
    statistics around position ``alpha (n - 1)``. Reorders ``values``."""
    m = values.shape[0]
    if m <= 1:
        return values[0]
    float_pos = alpha * (m - 1)
    pos = int(float_pos)
    if pos >= m - 1:
        return values.max()
    bias = float_pos - pos
    # Two order statistics by selection, O(m), instead of a full sort.
    lo = _select(values, pos)
    hi = values[pos + 1]
    for t in range(pos + 2, m):
        if values[t] < hi:
            hi = values[t]
    return lo + (hi - lo) * bias


@njit(**JIT)
def _sorted_weighted_percentile(values, weights, alpha):
    """LightGBM's ``WeightedPercentileFun`` on values already sorted (stably):
    the weighted CDF, interpolated where its step is at least one unit of
    weight, else the lower value."""
    m = values.shape[0]
    if m <= 1:
        return values[0]
    cdf = np.empty(m)
    acc = 0.0
    for t in range(m):
        acc += weights[t]
        cdf[t] = acc
    threshold = cdf[m - 1] * alpha
    pos = np.searchsorted(cdf, threshold, side="right")
    if pos > m - 1:
        pos = m - 1
    if pos == 0 or pos == m - 1:
        return values[pos]
    v1 = values[pos - 1]
    v2 = values[pos]
    step = cdf[pos] - cdf[pos - 1]
    if step >= 1.0:
        return (threshold - cdf[pos - 1]) / step * (v2 - v1) + v1
    return v1


@njit(**INLINE)
def _group_by_leaf(leaf, order, n_leaves, use_order):
    """Rows bucketed by leaf: leaf ``j`` holds ``grouped[start[j]:start[j + 1]]``,
    in the order of ``order`` (``use_order``) or of the rows."""
    n = leaf.shape[0]
    start = np.zeros(n_leaves + 1, np.int64)
    for i in range(n):
        start[leaf[i] + 1] += 1
    for j in range(n_leaves):
        start[j + 1] += start[j]
    fill = start[:n_leaves].copy()
    grouped = np.empty(n, np.int64)
    for t in range(n):
        i = order[t] if use_order else t
        j = leaf[i]
        grouped[fill[j]] = i
        fill[j] += 1
    return start, grouped


@njit(**JIT)
def leaf_percentiles(resid, weight, leaf, order, n_leaves, alpha, out):
    """Percentile ``alpha`` of ``resid`` in every leaf into ``out`` (NaN for an
    empty leaf). With weights, ``order`` sorts ``resid`` (any sort; NumPy's is
    faster than one compiled here); rows are then bucketed by leaf in that
    order and ties put back in row order, which gives LightGBM's stable sort.
    Unweighted, ``order`` is not read."""
    n = resid.shape[0]
    weighted = weight.shape[0] > 0
    start, grouped = _group_by_leaf(leaf, order, n_leaves, weighted)
    vals = np.empty(n)
    wts = np.empty(n if weighted else 0)
    for j in range(n_leaves):
        lo = start[j]
        cnt = start[j + 1] - lo
        if cnt == 0:
            out[j] = np.nan
            continue
        for t in range(cnt):
            vals[t] = resid[grouped[lo + t]]
        if not weighted:
            out[j] = _percentile(vals[:cnt], alpha)
            continue
        for t in range(cnt):
            wts[t] = weight[grouped[lo + t]]
        t = 0
        while t < cnt:
            u = t + 1
            while u < cnt and vals[u] == vals[t]:
                u += 1
            if u - t > 1:
                rows = np.sort(grouped[lo + t : lo + u])
                for v in range(u - t):
                    wts[t + v] = weight[rows[v]]
            t = u
        out[j] = _sorted_weighted_percentile(vals[:cnt], wts[:cnt], alpha)


@njit(**JIT)
def tree_leaves(x, split_feature, threshold, decision_type, left, right, out):
    """Leaf of every row of ``x`` in one tree with numerical splits into
    ``out``, by LightGBM's ``NumericalDecision`` (missing types None / Zero /
    NaN and the default direction)."""
    for i in range(x.shape[0]):
        node = 0
        while node >= 0:
            value = f64(x[i, split_feature[node]])
            dt = decision_type[node]
            missing = (dt >> 2) & 3
            if np.isnan(value) and missing != 2:
                value = 0.0
            if (missing == 1 and abs(value) <= ZERO_THRESHOLD) or (missing == 2 and np.isnan(value)):
                node = left[node] if (dt & 2) else right[node]
            elif value <= threshold[node]:
                node = left[node]
            else:
                node = right[node]
        out[i] = ~node


@njit(**JIT)
def leaf_position_percentiles(resid, weight, leaf, order, n_leaves, alpha, out):
    """Weighted percentile ``alpha`` of ``resid`` in every leaf into ``out`` (NaN
    for a leaf without weight), ``order`` sorting ``resid``.

    The sorted values sit at the weight before them, ``s_t``; the percentile
    interpolates linearly at ``alpha (W - W / m)`` (``W`` the leaf's weight,
    ``m`` its rows). With equal weights that is LightGBM's unweighted
    ``alpha (m - 1)``, and scaling every weight leaves it unchanged, unlike
    LightGBM's weighted rule (which interpolates only across steps of at
    least one unit of weight).
    """
    start, grouped = _group_by_leaf(leaf, order, n_leaves, True)
    for j in range(n_leaves):
        lo = start[j]
        m = start[j + 1] - lo
        total = 0.0
        for t in range(m):
            total += f64(weight[grouped[lo + t]])
        if m == 0 or not total > 0.0:
            out[j] = np.nan
            continue
        target = alpha * (total - total / m)
        before = 0.0
        value = resid[grouped[lo + m - 1]]
        for t in range(m - 1):
            w = f64(weight[grouped[lo + t]])
            if before + w > target:
                v = resid[grouped[lo + t]]
                value = v + (target - before) / w * (resid[grouped[lo + t + 1]] - v)
                break
            before += w
        out[j] = value
