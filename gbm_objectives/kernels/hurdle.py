"""Zero-heavy families: hurdles (a logit for ``P(y > 0)`` and a continuous law for the
positive part) and the zero-inflated Poisson.

Margins are (n, 3): the logit of ``pi = P(y > 0)`` and two parameters of the
positive part. The loss is ``-log(1 - pi)`` at ``y = 0`` and
``-log(pi) - log g(y)`` for ``y > 0``, with ``g`` the positive part's density.
The zero rows carry no information on the positive part: their gradient there
is 0 and their curvature the Fisher information (the positive part's
information times ``pi``), as for every row under ``CURVATURE_FISHER``.
"""

from __future__ import annotations

import math

from numba import njit

from ._common import INLINE, JIT, MAX_EXP_ARG, f64
from .families import CURVATURE_FISHER, HALF_LOG_2PI, clip_log_scale, store_weighted

#: Below this argument the polygamma helpers recur upwards before their asymptotic series.
_ASYMPTOTIC_FROM = 10.0


@njit(**INLINE)
def _softplus(x):
    return max(x, 0.0) + math.log1p(math.exp(-abs(x)))


@njit(**INLINE)
def _sigmoid(x):
    if x >= 0.0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


@njit(**INLINE)
def digamma_minus_log(x):
    """``digamma(x) - log(x)`` for x > 0, without the cancellation of the two for large x."""
    shift = 0.0
    t = x
    while t < _ASYMPTOTIC_FROM:
        shift -= 1.0 / t
        t += 1.0
    u = 1.0 / (t * t)
    series = -0.5 / t - u * (1.0 / 12.0 - u * (1.0 / 120.0 - u * (1.0 / 252.0 - u * (
        1.0 / 240.0 - u * (1.0 / 132.0 - u * (691.0 / 32760.0 - u / 12.0))))))
    return series + shift + (math.log(t / x) if t != x else 0.0)


@njit(**INLINE)
def trigamma_excess(x):
    """``x^2 trigamma(x) - x`` for x > 0: the Fisher information of a gamma's log shape (> 0)."""
    if x >= _ASYMPTOTIC_FROM:
        u = 1.0 / (x * x)
        return 0.5 + (1.0 / 6.0 - u * (1.0 / 30.0 - u * (1.0 / 42.0 - u * (1.0 / 30.0 - u * (
            5.0 / 66.0 - u * (691.0 / 2730.0 - u * 7.0 / 6.0)))))) / x
    total = 0.0
    t = x
    while t < _ASYMPTOTIC_FROM:
        total += 1.0 / (t * t)
        t += 1.0
    u = 1.0 / (t * t)
    tri = 1.0 / t + 0.5 * u + (1.0 / 6.0 - u * (1.0 / 30.0 - u * (1.0 / 42.0 - u * (1.0 / 30.0 - u * (
        5.0 / 66.0 - u * (691.0 / 2730.0 - u * 7.0 / 6.0)))))) * u / t
    return x * x * (total + tri) - x


@njit(**INLINE)
def lgamma_minus_stirling(k):
    """``lgamma(k) - k log k + k`` for k > 0 (Stirling's series where k is large)."""
    if k < _ASYMPTOTIC_FROM:
        return math.lgamma(k) - k * math.log(k) + k
    u = 1.0 / (k * k)
    rest = (1.0 / 12.0 - u * (1.0 / 360.0 - u * (1.0 / 1260.0 - u * (1.0 / 1680.0 - u * (
        1.0 / 1188.0 - u * (691.0 / 360360.0 - u / 156.0)))))) / k
    return rest + HALF_LOG_2PI - 0.5 * math.log(k)


@njit(**INLINE)
def _logit_part(yi, f0):
    """Loss, gradient and curvature of the zero/positive logit (its Hessian is its Fisher information)."""
    pi = _sigmoid(f0)
    h = pi * (1.0 - pi)
    if yi > 0.0:
        return _softplus(-f0), pi - 1.0, h, pi
    return _softplus(f0), pi, h, pi


@njit(**INLINE)
def _gamma_positive_part(yi, log_mean, log_shape):
    """Gamma(shape k, mean mu) for y > 0: loss without ``-log pi``, its gradients, exact Hessians."""
    k = math.exp(log_shape)
    lr = min(math.log(yi) - log_mean, MAX_EXP_ARG)  # log(y / mu)
    excess = math.expm1(lr) - lr  # y/mu - 1 - log(y/mu) >= 0
    loss = lgamma_minus_stirling(k) + k * excess + math.log(yi)
    g1 = -k * math.expm1(lr)
    h1 = k * math.exp(lr)
    g2 = k * (digamma_minus_log(k) + excess)
    h2 = g2 + trigamma_excess(k)
    return loss, g1, h1, g2, h2, k


@njit(**JIT)
def hurdle_gamma_grad_hess(y, margin, weight, curvature, grad, hess):
    """Hurdle gamma with margins (logit P(y > 0), log mean, log shape)."""
    n = y.shape[0]
    weighted = weight.shape[0] > 0
    for i in range(n):
        yi = f64(y[i])
        _, g0, h0, pi = _logit_part(yi, f64(margin[i, 0]))
        log_mean = clip_log_scale(margin[i, 1])
        log_shape = clip_log_scale(margin[i, 2])
        k = math.exp(log_shape)
        fisher1 = pi * k
        fisher2 = pi * trigamma_excess(k)
        g1, h1, g2, h2 = 0.0, fisher1, 0.0, fisher2
        if yi > 0.0:
            _, g1, h1, g2, h2, _ = _gamma_positive_part(yi, log_mean, log_shape)
            if curvature == CURVATURE_FISHER or not h1 > 0.0:
                h1 = fisher1
            if curvature == CURVATURE_FISHER or not h2 > 0.0:
                h2 = fisher2
        wi = f64(weight[i]) if weighted else 1.0
        store_weighted(grad, hess, i, 0, g0, h0, wi)
        store_weighted(grad, hess, i, 1, g1, h1, wi)
        store_weighted(grad, hess, i, 2, g2, h2, wi)


@njit(**JIT)
def hurdle_gamma_loss_sum(y, margin, weight):
    n = y.shape[0]
    weighted = weight.shape[0] > 0
    total = 0.0
    for i in range(n):
        yi = f64(y[i])
        li = _logit_part(yi, f64(margin[i, 0]))[0]
        if yi > 0.0:
            li += _gamma_positive_part(yi, clip_log_scale(margin[i, 1]), clip_log_scale(margin[i, 2]))[0]
        total += li * f64(weight[i]) if weighted else li
    return total


@njit(**INLINE)
def _lognormal_positive_part(yi, meanlog, log_sdlog):
    """Lognormal(meanlog, sdlog) for y > 0: loss without ``-log pi``, gradients, exact Hessians."""
    log_y = math.log(yi)
    inv_s = math.exp(-log_sdlog)
    z = (log_y - meanlog) * inv_s
    loss = HALF_LOG_2PI + log_y + log_sdlog + 0.5 * z * z
    return loss, -z * inv_s, inv_s * inv_s, 1.0 - z * z, 2.0 * z * z


@njit(**JIT)
def hurdle_lognormal_grad_hess(y, margin, weight, curvature, grad, hess):
    """Hurdle lognormal with margins (logit P(y > 0), meanlog, log sdlog)."""
    n = y.shape[0]
    weighted = weight.shape[0] > 0
    for i in range(n):
        yi = f64(y[i])
        _, g0, h0, pi = _logit_part(yi, f64(margin[i, 0]))
        meanlog = f64(margin[i, 1])
        log_sdlog = clip_log_scale(margin[i, 2])
        fisher1 = pi * math.exp(-2.0 * log_sdlog)
        fisher2 = 2.0 * pi
        g1, h1, g2, h2 = 0.0, fisher1, 0.0, fisher2
        if yi > 0.0:
            _, g1, h1, g2, h2 = _lognormal_positive_part(yi, meanlog, log_sdlog)
            if curvature == CURVATURE_FISHER:
                h1 = fisher1
            if curvature == CURVATURE_FISHER or not h2 > 0.0:
                h2 = fisher2
        wi = f64(weight[i]) if weighted else 1.0
        store_weighted(grad, hess, i, 0, g0, h0, wi)
        store_weighted(grad, hess, i, 1, g1, h1, wi)
        store_weighted(grad, hess, i, 2, g2, h2, wi)


@njit(**JIT)
def hurdle_lognormal_loss_sum(y, margin, weight):
    n = y.shape[0]
    weighted = weight.shape[0] > 0
    total = 0.0
    for i in range(n):
        yi = f64(y[i])
        li = _logit_part(yi, f64(margin[i, 0]))[0]
        if yi > 0.0:
            li += _lognormal_positive_part(yi, f64(margin[i, 1]), clip_log_scale(margin[i, 2]))[0]
        total += li * f64(weight[i]) if weighted else li
    return total


# ---------------------------------------------------------------------------
# Zero-inflated Poisson: margins (logit of the structural-zero probability, log rate)
# ---------------------------------------------------------------------------


@njit(**INLINE)
def _zip_zero(f0, log_rate):
    """At y = 0: the loss -log(pi + (1 - pi) e^-lambda), w = pi / P(0) (the posterior
    probability of a structural zero) and 1 - w, in logs so no factor under- or overflows."""
    log_pi = -_softplus(-f0)
    log_1m_pi = -_softplus(f0)
    rate = math.exp(log_rate)
    a, b = log_pi, log_1m_pi - rate
    log_p0 = max(a, b) + math.log1p(math.exp(-abs(a - b)))
    return -log_p0, math.exp(log_pi - log_p0), math.exp(b - log_p0), rate


@njit(**INLINE)
def _zip_point(yi, f0, log_rate, curvature):
    pi = _sigmoid(f0)
    one_m_pi = _sigmoid(-f0)
    _, w, one_m_w, rate = _zip_zero(f0, log_rate)
    q = math.exp(-rate)
    one_m_q = -math.expm1(-rate)
    # Fisher information (Lambert 1992): pi^2 (1 - pi)(1 - q) / P(0) = pi (1 - pi)(1 - q) w
    # for the logit, (1 - pi) lambda (1 - lambda q w) for the log rate.
    fisher0 = pi * one_m_pi * one_m_q * w
    fisher1 = one_m_pi * rate * (1.0 - rate * q * w)
    if yi > 0.0:
        g0, h0 = pi, pi * one_m_pi
        g1, h1 = rate - yi, rate
    else:
        g0 = -one_m_q * one_m_pi * w
        h0 = -one_m_q * one_m_pi * w * ((1.0 - 2.0 * pi) - one_m_pi * one_m_q * w)
        g1 = rate * one_m_w
        h1 = rate * one_m_w * (1.0 - rate * w)
    if curvature == CURVATURE_FISHER or not h0 > 0.0:
        h0 = fisher0
    if curvature == CURVATURE_FISHER or not h1 > 0.0:
        h1 = fisher1
    return g0, h0, g1, h1


@njit(**JIT)
def zero_inflated_poisson_grad_hess(y, margin, weight, curvature, grad, hess):
    """Zero-inflated Poisson with margins (logit P(structural zero), log rate)."""
    n = y.shape[0]
    weighted = weight.shape[0] > 0
    for i in range(n):
        g0, h0, g1, h1 = _zip_point(f64(y[i]), f64(margin[i, 0]), clip_log_scale(margin[i, 1]), curvature)
        wi = f64(weight[i]) if weighted else 1.0
        store_weighted(grad, hess, i, 0, g0, h0, wi)
        store_weighted(grad, hess, i, 1, g1, h1, wi)


@njit(**JIT)
def zero_inflated_poisson_loss_sum(y, margin, weight):
    n = y.shape[0]
    weighted = weight.shape[0] > 0
    total = 0.0
    for i in range(n):
        yi = f64(y[i])
        f0 = f64(margin[i, 0])
        log_rate = clip_log_scale(margin[i, 1])
        if yi > 0.0:
            li = _softplus(f0) + math.exp(log_rate) - yi * log_rate + math.lgamma(yi + 1.0)
        else:
            li = _zip_zero(f0, log_rate)[0]
        total += li * f64(weight[i]) if weighted else li
    return total
