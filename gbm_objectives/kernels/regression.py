"""Identity-link regression kernels: squared, absolute, Huber, pseudo-Huber, log-cosh, quantile.

Every ``*_grad_hess`` kernel writes the gradient and Hessian with respect to the
margin ``f`` (here equal to the prediction) into ``grad`` and ``hess``; ``weight``
is either empty (unweighted) or has one entry per row. Every ``*_loss_sum``
kernel returns the weighted sum of the pointwise loss.
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


@njit(**JIT)
def squared_error_grad_hess(y, margin, weight, grad, hess):
    weighted = weight.shape[0] > 0
    for i in range(margin.shape[0]):
        w = weight[i] if weighted else 1.0
        grad[i] = clamp_grad(w * (f64(margin[i]) - f64(y[i])))
        hess[i] = clamp_hess(w)


@njit(**JIT)
def squared_error_loss_sum(y, margin, weight):
    weighted = weight.shape[0] > 0
    total = 0.0
    for i in range(margin.shape[0]):
        w = weight[i] if weighted else 1.0
        r = f64(margin[i]) - f64(y[i])
        total += w * 0.5 * r * r
    return total


# ``reassoc`` lets LLVM split this sum into SIMD lanes (a scale estimate, so the
# summation order does not matter).
@njit(cache=True, nogil=True, error_model="numpy", fastmath={"contract", "reassoc"})
def mean_abs_residual(y, margin):
    total = 0.0
    for i in range(margin.shape[0]):
        total += abs(f64(margin[i]) - f64(y[i]))
    n = margin.shape[0]
    return total / n if n > 0 else 0.0


@njit(**JIT)
def pinball_grad_hess(y, margin, weight, alpha, scale, curvature, grad, hess):
    """Gradient of the pinball loss; ``scale`` multiplies gradient and curvature.

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
    for i in range(margin.shape[0]):
        w = weight[i] if weighted else 1.0
        r = f64(margin[i]) - f64(y[i])
        if r > 0.0:
            g = 1.0 - alpha
        elif r < 0.0:
            g = -alpha
        else:
            g = 0.0
        if curvature == CURVATURE_UNIT:
            h = 0.5
        else:
            h = 0.5 / (abs(r) + s)
        grad[i] = clamp_grad(w * scale * g)
        hess[i] = clamp_hess(w * scale * h)


#: XGBoost >= 3.4's smoothing constant c and relative curvature floor of the
#: MM quantile objective (src/objective/quantile_obj.cc, PR #12386).
MM_SMOOTHING = 0.04
MM_MIN_RATIO = 3.0e-4


@njit(**JIT)
def mm_root_residual_sums(y, margin, weight):
    """``(sum w sqrt|f - y|, sum w)``: XGBoost 3.4's residual scale is their ratio squared.

    Returned as sums so that distributed training can add them over workers
    before taking the ratio, as XGBoost does.
    """
    weighted = weight.shape[0] > 0
    total = 0.0
    for i in range(margin.shape[0]):
        w = weight[i] if weighted else 1.0
        total += w * math.sqrt(abs(f64(margin[i]) - f64(y[i])))
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
    inv = 1.0 / (MM_SMOOTHING * scale) if scale > 0.0 else 0.0
    half_c = 0.5 / MM_SMOOTHING
    for i in range(margin.shape[0]):
        w = weight[i] if weighted else 1.0
        if not scale > 0.0 or w == 0.0:
            grad[i] = 0.0
            hess[i] = clamp_hess(0.0)
            continue
        x = (f64(margin[i]) - f64(y[i])) * inv
        t = math.tanh(x)
        ratio = 1.0 if x == 0.0 else t / x
        ratio = max(ratio, MM_MIN_RATIO)
        grad[i] = clamp_grad(w * 0.5 * scale * (t + 1.0 - 2.0 * alpha))
        hess[i] = clamp_hess(w * half_c * ratio)


@njit(**JIT)
def absolute_mm_grad_hess(y, margin, weight, scale, grad, hess):
    """XGBoost 3.4's smooth MM absolute error at residual scale ``scale`` (delta).

    ``q = hypot(delta, r) / delta``: gradient ``w r / q`` (pseudo-Huber's),
    curvature ``w / q`` (its IRLS majoriser, not the exact ``w / q^3``);
    ``q`` is taken as 1 where ``hypot(delta, r)`` is 0, as in XGBoost.
    """
    weighted = weight.shape[0] > 0
    for i in range(margin.shape[0]):
        w = weight[i] if weighted else 1.0
        r = f64(margin[i]) - f64(y[i])
        norm = math.hypot(scale, r)
        c = scale / norm if norm > 0.0 else 1.0
        grad[i] = clamp_grad(w * r * c)
        hess[i] = clamp_hess(w * c)


@njit(**JIT)
def pinball_loss_sum(y, margin, weight, alpha, scale):
    weighted = weight.shape[0] > 0
    total = 0.0
    for i in range(margin.shape[0]):
        w = weight[i] if weighted else 1.0
        r = f64(y[i]) - f64(margin[i])
        if r >= 0.0:
            total += w * alpha * r
        else:
            total += w * (alpha - 1.0) * r
    return scale * total


@njit(**JIT)
def huber_grad_hess(y, margin, weight, delta, curvature, grad, hess):
    weighted = weight.shape[0] > 0
    for i in range(margin.shape[0]):
        w = weight[i] if weighted else 1.0
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


@njit(**JIT)
def huber_loss_sum(y, margin, weight, delta):
    weighted = weight.shape[0] > 0
    total = 0.0
    for i in range(margin.shape[0]):
        w = weight[i] if weighted else 1.0
        a = abs(f64(margin[i]) - f64(y[i]))
        if a <= delta:
            total += w * 0.5 * a * a
        else:
            total += w * delta * (a - 0.5 * delta)
    return total


@njit(**JIT)
def pseudo_huber_grad_hess(y, margin, weight, delta, curvature, grad, hess):
    weighted = weight.shape[0] > 0
    for i in range(margin.shape[0]):
        w = weight[i] if weighted else 1.0
        r = f64(margin[i]) - f64(y[i])
        z = r / delta
        # |z| itself beyond 1e150, where z * z would overflow to inf.
        az = abs(z)
        root = math.sqrt(1.0 + z * z) if az < 1e150 else az
        g = r / root
        if curvature == CURVATURE_IRLS:
            h = 1.0 / root
        else:
            h = 1.0 / (root * (1.0 + z * z))
        grad[i] = clamp_grad(w * g)
        hess[i] = clamp_hess(w * h)


@njit(**JIT)
def pseudo_huber_loss_sum(y, margin, weight, delta):
    weighted = weight.shape[0] > 0
    total = 0.0
    for i in range(margin.shape[0]):
        w = weight[i] if weighted else 1.0
        z = (f64(margin[i]) - f64(y[i])) / delta
        az = abs(z)
        # delta^2 (sqrt(1+z^2) - 1) written without cancellation for small z;
        # |z| - 1 beyond 1e150, where z * z would overflow.
        unit = z * z / (math.sqrt(1.0 + z * z) + 1.0) if az < 1e150 else az - 1.0
        total += w * delta * delta * unit
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
    # so that (1 + e) |r| stays finite for an overflowed residual.
    am = min(a, 1e300)
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


@njit(**JIT)
def log_cosh_loss_sum(y, margin, weight):
    weighted = weight.shape[0] > 0
    total = 0.0
    for i in range(margin.shape[0]):
        w = weight[i] if weighted else 1.0
        a = abs(f64(margin[i]) - f64(y[i]))
        if a < 20.0:
            # cosh(a) - 1 = 2 sinh(a/2)^2 keeps full precision near a = 0.
            sh = math.sinh(0.5 * a)
            total += w * math.log1p(2.0 * sh * sh)
        else:
            total += w * (a + math.log1p(math.exp(-2.0 * a)) - 0.6931471805599453)
    return total
