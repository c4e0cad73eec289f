"""Identity-link regression kernels: squared, absolute, Huber, pseudo-Huber, log-cosh, quantile, expectile.

Every ``*_grad_hess`` kernel writes the gradient and Hessian with respect to the
margin ``f`` (here equal to the prediction) into ``grad`` and ``hess``; ``weight``
is either empty (unweighted) or has one entry per row. Every ``*_loss_sum``
kernel returns the weighted sum of the pointwise loss.

Finite inputs give no NaN, whatever their size. The residual ``f - y``
overflows for labels and margins near the float64 maximum of opposite signs;
where an infinite residual would meet a zero (0 * inf, inf / inf) it counts
as that maximum instead (:func:`residual`). Each row's weight multiplies
per-row factors that are finite, last, so that neither a zero weight nor one
that underflows when scaled (5e-324 * 0.5 is 0) can meet an infinity. The
loss sums take the saturating pass only when the plain one ends in inf or
NaN, and gradients where an infinite residual is harmless (Huber, log-cosh,
quantile, squared error with zero weights selected out) skip it, so that the
common case pays nothing for the rare one.
"""

from __future__ import annotations

import math

from numba import njit

from ._common import INLINE, JIT, clamp_grad, clamp_hess, f64
from ._fastmath import fast_exp_nonpositive

#: Curvature codes shared with :mod:`gbm_objectives.losses`.
CURVATURE_EXACT = 0
CURVATURE_UNIT = 1
CURVATURE_IRLS = 2

#: Largest finite float64.
FLOAT64_MAX = 1.7976931348623157e308
#: Pseudo-Huber: beyond this |r / delta|, sqrt(1 + z^2) is |z| and z * z overflows.
_Z_LINEAR = 1e150


@njit(**INLINE)
def residual(a, b):
    """``a - b`` in float64, saturated at +-FLOAT64_MAX where it overflows.

    One min/max pair, which vectorises; results below the float64 maximum are
    unchanged to the last bit.
    """
    return min(max(f64(a) - f64(b), -FLOAT64_MAX), FLOAT64_MAX)


@njit(**INLINE)
def _diff(a, b, saturate):
    """``a - b`` in float64, saturated as by :func:`residual` when ``saturate``
    (a constant at every call, so the choice is made at compile time)."""
    d = f64(a) - f64(b)
    return min(max(d, -FLOAT64_MAX), FLOAT64_MAX) if saturate else d


@njit(**INLINE)
def _pseudo_huber_q(r, delta):
    """``1 / sqrt(1 + (r / delta)^2)`` for finite ``r``, any ``delta > 0``, in one division.

    ``r * q`` (the pseudo-Huber gradient) is at most ``delta``. ``r / delta``
    overflows for ``delta < 1`` even where ``r`` does not; beyond
    ``|r / delta| = 1e150``, where ``sqrt(1 + z^2)`` is ``|z|``, ``q`` is formed
    as ``delta / |r|`` instead. The square root is taken of a capped ``|z|``,
    so every lane stays finite and the loop vectorises.
    """
    az = abs(r / delta)
    near = az < _Z_LINEAR
    azc = min(az, _Z_LINEAR)
    num = 1.0 if near else delta
    den = math.sqrt(1.0 + azc * azc) if near else abs(r)
    return num / den


@njit(**JIT)
def squared_error_grad_hess(y, margin, weight, grad, hess):
    if weight.shape[0] > 0:
        for i in range(margin.shape[0]):
            w = weight[i]
            g = w * (f64(margin[i]) - f64(y[i]))
            # A zero weight times an overflowed residual is NaN; a select on
            # the weight is cheaper here than saturating the residual.
            grad[i] = clamp_grad(g if w > 0.0 else 0.0)
            hess[i] = clamp_hess(w)
    else:
        for i in range(margin.shape[0]):
            grad[i] = clamp_grad(f64(margin[i]) - f64(y[i]))
            hess[i] = 1.0


@njit(**INLINE)
def _squared_error_sum(y, margin, weight, saturate):
    weighted = weight.shape[0] > 0
    total = 0.0
    for i in range(margin.shape[0]):
        w = weight[i] if weighted else 1.0
        r = _diff(margin[i], y[i], saturate)
        # w * 0.5 would lose a subnormal weight (5e-324 * 0.5 rounds to 0).
        total += w * (0.5 * r) * r
    return total


@njit(**JIT)
def squared_error_loss_sum(y, margin, weight):
    total = _squared_error_sum(y, margin, weight, False)
    if not total <= FLOAT64_MAX:
        # inf or NaN: perhaps an overflowed residual (times a zero weight).
        total = _squared_error_sum(y, margin, weight, True)
    return total


@njit(**INLINE)
def _expectile_side(r, alpha):
    """The asymmetric weight of a residual ``r = f - y``: ``1 - alpha`` when the
    prediction is at or above the label (as XGBoost's ``reg:expectileerror``), else ``alpha``."""
    return 1.0 - alpha if r >= 0.0 else alpha


@njit(**JIT)
def expectile_grad_hess(y, margin, weight, alpha, grad, hess):
    if weight.shape[0] > 0:
        for i in range(margin.shape[0]):
            w = weight[i]
            r = f64(margin[i]) - f64(y[i])
            a = _expectile_side(r, alpha)
            # A zero weight times an overflowed residual is NaN: select on the weight.
            grad[i] = clamp_grad(w * (a * r) if w > 0.0 else 0.0)
            hess[i] = clamp_hess(w * a)
    else:
        for i in range(margin.shape[0]):
            r = f64(margin[i]) - f64(y[i])
            a = _expectile_side(r, alpha)
            grad[i] = clamp_grad(a * r)
            hess[i] = clamp_hess(a)


@njit(**INLINE)
def _expectile_sum(y, margin, weight, alpha, saturate):
    weighted = weight.shape[0] > 0
    total = 0.0
    for i in range(margin.shape[0]):
        w = weight[i] if weighted else 1.0
        r = _diff(margin[i], y[i], saturate)
        total += w * (0.5 * _expectile_side(r, alpha) * r) * r
    return total


@njit(**JIT)
def expectile_loss_sum(y, margin, weight, alpha):
    total = _expectile_sum(y, margin, weight, alpha, False)
    if not total <= FLOAT64_MAX:
        total = _expectile_sum(y, margin, weight, alpha, True)
    return total


# ``reassoc`` lets LLVM split this sum into SIMD lanes (a scale estimate, so the
# summation order does not matter).
@njit(cache=True, nogil=True, error_model="numpy", fastmath={"contract", "reassoc"})
def mean_abs_residual(y, margin):
    """Mean of ``|f - y|``; finite for any finite input (never beyond FLOAT64_MAX)."""
    total = 0.0
    for i in range(margin.shape[0]):
        total += abs(f64(margin[i]) - f64(y[i]))
    n = margin.shape[0]
    if n == 0:
        return 0.0
    if total > FLOAT64_MAX:
        # The sum (or a residual) overflowed though the mean cannot: a second
        # pass of saturated, pre-divided terms, taken only then.
        total = 0.0
        for i in range(n):
            total += abs(residual(margin[i], y[i])) / n
        return total
    return total / n


#: Floor of the residual scale of :func:`pinball_grad_hess` (0.5 / s stays finite).
_S_FLOOR = 1e-300


@njit(**JIT)
def pinball_grad_hess(y, margin, weight, alpha, scale, curvature, tie_grad, grad, hess):
    """Gradient of the pinball loss; ``scale`` multiplies gradient and curvature.

    The gradient is ``1 - alpha`` above the label, ``-alpha`` below and
    ``tie_grad`` at a tie ``f == y`` (a subgradient there when it lies in
    ``[-alpha, 1 - alpha]``): the boosters' built-in quantile objectives take
    ``1 - alpha`` (``f - y >= 0``), their absolute errors ``sign(0) = 0``.
    The true Hessian is zero. The curvature used is ``scale * 0.5 / (|r| + s)``
    with ``s`` the mean absolute residual of this call: the majoriser curvature
    ``1/(2|r|)`` of the check loss, kept finite by ``s``, so a Newton step is
    measured in the units of the target and shrinks as the fit improves.
    ``curvature == CURVATURE_UNIT`` uses a constant ``scale * 0.5`` instead.
    """
    weighted = weight.shape[0] > 0
    s = mean_abs_residual(y, margin)
    if s <= 0.0:
        s = 1.0
    # Keeps scale * h <= scale * 0.5 / s finite (s can be subnormal), so that
    # the weight multiplies finite factors only.
    s = max(s, _S_FLOOR)
    for i in range(margin.shape[0]):
        w = weight[i] if weighted else 1.0
        # Only the sign of r and 0.5 / (|r| + s) are used, both well defined
        # (0 for the latter) for an overflowed r.
        r = f64(margin[i]) - f64(y[i])
        if r > 0.0:
            g = 1.0 - alpha
        elif r < 0.0:
            g = -alpha
        else:
            g = tie_grad
        if curvature == CURVATURE_UNIT:
            h = 0.5
        else:
            h = 0.5 / (abs(r) + s)
        # The weight last: w * scale overflows for w near the float64 maximum,
        # and inf * 0 is NaN where g or h is 0.
        grad[i] = clamp_grad(w * (scale * g))
        hess[i] = clamp_hess(w * (scale * h))


#: XGBoost >= 3.4's smoothing constant c and relative curvature floor of the
#: MM quantile objective (src/objective/quantile_obj.cc, PR #12386).
MM_SMOOTHING = 0.04
MM_MIN_RATIO = 3.0e-4


@njit(**INLINE)
def _root_residual_sum(y, margin, weight, saturate):
    weighted = weight.shape[0] > 0
    total = 0.0
    for i in range(margin.shape[0]):
        w = weight[i] if weighted else 1.0
        total += w * math.sqrt(abs(_diff(margin[i], y[i], saturate)))
    return total


@njit(**JIT)
def mm_root_residual_sums(y, margin, weight):
    """``(sum w sqrt|f - y|, sum w)``: XGBoost 3.4's residual scale is their ratio squared.

    Returned as sums so that distributed training can add them over workers
    before taking the ratio, as XGBoost does.
    """
    weighted = weight.shape[0] > 0
    total = _root_residual_sum(y, margin, weight, False)
    if total != total:
        # NaN: a zero weight met an overflowed residual.
        total = _root_residual_sum(y, margin, weight, True)
    if weighted:
        w_total = 0.0
        for i in range(weight.shape[0]):
            w_total += weight[i]
    else:
        w_total = float(margin.shape[0])
    return total, w_total


@njit(**JIT)
def pinball_mm_grad_hess(y, margin, weight, alpha, scale, grad, hess):
    """XGBoost 3.4's smooth MM quantile surrogate at residual scale ``scale`` (S).

    ``x = r / (c S)``, gradient ``w S / 2 (tanh x + 1 - 2 alpha)``, curvature
    ``w / (2c) max(tanh(x) / x, 3e-4)`` (1 at ``x = 0``); both 0 (floored)
    where ``S`` or the weight is 0, as in XGBoost.
    """
    weighted = weight.shape[0] > 0
    # An overflowed scale (its sums beyond float64) is taken as the largest
    # finite one; 1 / (c S) is capped for a subnormal S, where c S rounds to 0
    # (r * inf would be NaN at r = 0).
    s = min(scale, FLOAT64_MAX)
    inv = min(1.0 / (MM_SMOOTHING * s), FLOAT64_MAX) if scale > 0.0 else 0.0
    half_c = 0.5 / MM_SMOOTHING
    for i in range(margin.shape[0]):
        w = weight[i] if weighted else 1.0
        if not scale > 0.0 or w == 0.0:
            grad[i] = 0.0
            hess[i] = clamp_hess(0.0)
            continue
        x = residual(margin[i], y[i]) * inv
        t = math.tanh(x)
        ratio = 1.0 if x == 0.0 else t / x
        ratio = max(ratio, MM_MIN_RATIO)
        # |S / 2 (t + 1 - 2 alpha)| <= S is finite; the weight multiplies it
        # last (w S / 2 alone can overflow, then inf * 0 at t = 2 alpha - 1).
        grad[i] = clamp_grad(w * (0.5 * s * (t + 1.0 - 2.0 * alpha)))
        hess[i] = clamp_hess(w * (half_c * ratio))


@njit(**JIT)
def absolute_mm_grad_hess(y, margin, weight, scale, grad, hess):
    """XGBoost 3.4's smooth MM absolute error at residual scale ``scale`` (delta).

    ``q = hypot(delta, r) / delta``: gradient ``w r / q`` (pseudo-Huber's),
    curvature ``w / q`` (its IRLS majoriser, not the exact ``w / q^3``);
    ``q`` is taken as 1 where ``hypot(delta, r)`` is 0, as in XGBoost.
    """
    weighted = weight.shape[0] > 0
    if not scale > 0.0:
        # delta = 0 (or NaN, from sums beyond float64): c = 0 where r != 0, and
        # q = 1 where r = 0; the gradient is 0 either way.
        for i in range(margin.shape[0]):
            w = weight[i] if weighted else 1.0
            grad[i] = 0.0
            hess[i] = clamp_hess(w if f64(margin[i]) == f64(y[i]) else 0.0)
        return
    # c = delta / hypot(delta, r) = 1 / sqrt(1 + (r / delta)^2): pseudo-Huber's
    # factor at delta (an infinite delta taken as the largest finite one), in
    # a loop that vectorises; r c is at most delta, finite, so the weight
    # multiplies finite factors only.
    s = min(scale, FLOAT64_MAX)
    for i in range(margin.shape[0]):
        w = weight[i] if weighted else 1.0
        r = residual(margin[i], y[i])
        c = _pseudo_huber_q(r, s)
        grad[i] = clamp_grad(w * (r * c))
        hess[i] = clamp_hess(w * c)


@njit(**INLINE)
def _pinball_sum(y, margin, weight, alpha, saturate):
    weighted = weight.shape[0] > 0
    total = 0.0
    for i in range(margin.shape[0]):
        w = weight[i] if weighted else 1.0
        r = _diff(y[i], margin[i], saturate)
        # The weight last: w * (alpha - 1) is -0 for a subnormal weight.
        slope = alpha if r >= 0.0 else alpha - 1.0
        total += w * (slope * r)
    return total


@njit(**JIT)
def pinball_loss_sum(y, margin, weight, alpha, scale):
    total = _pinball_sum(y, margin, weight, alpha, False)
    if not total <= FLOAT64_MAX:
        total = _pinball_sum(y, margin, weight, alpha, True)
    return scale * total


@njit(**JIT)
def huber_grad_hess(y, margin, weight, delta, curvature, grad, hess):
    weighted = weight.shape[0] > 0
    for i in range(margin.shape[0]):
        w = weight[i] if weighted else 1.0
        # An overflowed r is harmless here: g = +-delta, h = delta / inf = 0.
        r = f64(margin[i]) - f64(y[i])
        a = abs(r)
        if a <= delta:
            g = r
            h = 1.0
        else:
            g = delta if r > 0.0 else -delta
            h = delta / a if curvature == CURVATURE_IRLS else 1.0
        grad[i] = clamp_grad(w * g)
        hess[i] = clamp_hess(w * h)


@njit(**INLINE)
def _huber_sum(y, margin, weight, delta, saturate):
    weighted = weight.shape[0] > 0
    total = 0.0
    for i in range(margin.shape[0]):
        w = weight[i] if weighted else 1.0
        a = abs(_diff(margin[i], y[i], saturate))
        # The weight times a factor of the size of the loss first: w * 0.5 or
        # w * delta can underflow to 0.
        if a <= delta:
            total += w * (0.5 * a) * a
        else:
            total += w * (a - 0.5 * delta) * delta
    return total


@njit(**JIT)
def huber_loss_sum(y, margin, weight, delta):
    total = _huber_sum(y, margin, weight, delta, False)
    if not total <= FLOAT64_MAX:
        total = _huber_sum(y, margin, weight, delta, True)
    return total


@njit(**JIT)
def pseudo_huber_grad_hess(y, margin, weight, delta, curvature, grad, hess):
    weighted = weight.shape[0] > 0
    for i in range(margin.shape[0]):
        w = weight[i] if weighted else 1.0
        r = residual(margin[i], y[i])
        q = _pseudo_huber_q(r, delta)
        grad[i] = clamp_grad(w * (r * q))
        if curvature == CURVATURE_IRLS:
            hess[i] = clamp_hess(w * q)
        else:
            # 1 / (1 + z^2)^(3/2) = q^3, the weight first (q^3 alone underflows
            # where w q^3 need not).
            hess[i] = clamp_hess(w * q * q * q)


@njit(**INLINE)
def _pseudo_huber_sum(y, margin, weight, delta, saturate):
    weighted = weight.shape[0] > 0
    total = 0.0
    for i in range(margin.shape[0]):
        w = weight[i] if weighted else 1.0
        a = abs(_diff(margin[i], y[i], saturate))
        az = a / delta
        # delta^2 (sqrt(1+z^2) - 1) = a^2 / (sqrt(1+z^2) + 1), without
        # cancellation for small z; delta (a - delta) beyond |z| = 1e150, where
        # z * z would overflow (and z itself does for delta < 1). Each row is
        # the weight times finite factors.
        if az < _Z_LINEAR:
            total += w * (a / (math.sqrt(1.0 + az * az) + 1.0)) * a
        else:
            total += w * (a - delta) * delta
    return total


@njit(**JIT)
def pseudo_huber_loss_sum(y, margin, weight, delta):
    total = _pseudo_huber_sum(y, margin, weight, delta, False)
    if not total <= FLOAT64_MAX:
        total = _pseudo_huber_sum(y, margin, weight, delta, True)
    return total


@njit(**INLINE)
def _log_cosh_point(r, curvature):
    """``tanh(r)`` and the curvature from one ``exp(-2|r|)`` and one division (SIMD-friendly)."""
    a = abs(r)
    e = fast_exp_nonpositive(-2.0 * min(a, 350.0))
    # Below |r| = 1/16, (1 - e) / (1 + e) loses relative precision; there the
    # series of tanh(a) / a (truncation < 1e-14 relative) is used instead.
    a2 = a * a
    over_a = 1.0 + a2 * (-1.0 / 3.0 + a2 * (2.0 / 15.0 + a2 * (-17.0 / 315.0 + a2 * (62.0 / 2835.0))))
    small = a < 0.0625
    # One division serves tanh = (1 - e) / (1 + e) and tanh / a; |r| is capped
    # so that (1 + e) |r| stays finite for an overflowed residual (1 + e is 1
    # long before, so the cap changes nothing below it).
    am = min(a, FLOAT64_MAX)
    inv = 1.0 / ((1.0 + e) * am)
    ta = a * over_a if small else (1.0 - e) * am * inv
    t = ta if r >= 0.0 else -ta
    if curvature == CURVATURE_IRLS:
        h = over_a if small else (1.0 - e) * inv
    else:
        # sech^2 = 1 - tanh^2 near 0, else 4 e / (1 + e)^2 (|r| capped at 350 above).
        d = am * inv
        h = 1.0 - ta * ta if small else 4.0 * e * d * d
    return t, h


@njit(**JIT)
def log_cosh_grad_hess(y, margin, weight, curvature, grad, hess):
    # One loop per (curvature, weighted) pair, the curvature a constant in
    # each, so that no branch is left inside a loop.
    n = margin.shape[0]
    if curvature == CURVATURE_IRLS:
        if weight.shape[0] > 0:
            for i in range(n):
                t, h = _log_cosh_point(f64(margin[i]) - f64(y[i]), CURVATURE_IRLS)
                grad[i] = clamp_grad(weight[i] * t)
                hess[i] = clamp_hess(weight[i] * h)
        else:
            for i in range(n):
                t, h = _log_cosh_point(f64(margin[i]) - f64(y[i]), CURVATURE_IRLS)
                grad[i] = clamp_grad(t)
                hess[i] = clamp_hess(h)
    elif weight.shape[0] > 0:
        for i in range(n):
            t, h = _log_cosh_point(f64(margin[i]) - f64(y[i]), CURVATURE_EXACT)
            grad[i] = clamp_grad(weight[i] * t)
            hess[i] = clamp_hess(weight[i] * h)
    else:
        for i in range(n):
            t, h = _log_cosh_point(f64(margin[i]) - f64(y[i]), CURVATURE_EXACT)
            grad[i] = clamp_grad(t)
            hess[i] = clamp_hess(h)


@njit(**INLINE)
def _log_cosh_sum(y, margin, weight, saturate):
    weighted = weight.shape[0] > 0
    total = 0.0
    for i in range(margin.shape[0]):
        w = weight[i] if weighted else 1.0
        a = abs(_diff(margin[i], y[i], saturate))
        if a < 20.0:
            # cosh(a) - 1 = 2 sinh(a/2)^2 keeps full precision near a = 0.
            sh = math.sinh(0.5 * a)
            total += w * math.log1p(2.0 * sh * sh)
        else:
            total += w * (a + math.log1p(math.exp(-2.0 * a)) - 0.6931471805599453)
    return total


@njit(**JIT)
def log_cosh_loss_sum(y, margin, weight):
    total = _log_cosh_sum(y, margin, weight, False)
    if not total <= FLOAT64_MAX:
        total = _log_cosh_sum(y, margin, weight, True)
    return total
