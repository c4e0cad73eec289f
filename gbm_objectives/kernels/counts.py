"""Count families: minus the log mass of a negative binomial, with respect to one margin per parameter.

The negative binomial (NB2) has margins (log mean, log dispersion): mean
``mu``, dispersion ``alpha``, variance ``mu + alpha mu^2``; in scipy's terms
``n = 1 / alpha`` and ``p = 1 / (1 + alpha mu)``. Every term is written so that
``alpha -> 0`` gives the Poisson log mass without cancellation (the gamma
function differences are sums, series or Stirling's expansion there).
"""

from __future__ import annotations

import math

from numba import njit

from ._common import INLINE, JIT, MAX_EXP_ARG, f64
from .families import (
    _PSI_SHIFT,
    CURVATURE_HESSIAN,
    SHAPE_STEP_LIMIT,
    _log1p_minus_x,
    clip_log_scale,
    psi_diff,
    softplus,
    store_weighted,
    trigamma,
)

#: Labels below this are summed term by term (exact for integers).
_SMALL_COUNT = 32.0
#: Above this ``n = 1 / alpha``, log Gamma differences use Stirling's series
#: (truncation below 1e-16; math.lgamma's own rounding grows like eps n log n).
_STIRLING_N = 30.0
#: Below this ``alpha (2 mu + 1)``, the dispersion's information uses its series.
_INFO_SERIES = 1e-5
#: Most terms of the information's sum over the support (the rest by a geometric tail).
_INFO_MAX_TERMS = 50_000
#: The information's sum stops where its tail is bounded by this fraction of
#: the result (the tail's geometric estimate is added): a curvature needs no more.
_INFO_RTOL = 1e-6


@njit(**INLINE)
def _clip_log_mean(m):
    return min(max(f64(m), -MAX_EXP_ARG), MAX_EXP_ARG)


@njit(**INLINE)
def _stirling_tail(x):
    # log Gamma(x) - ((x - 1/2) log x - x + log(2 pi) / 2), for x >= _STIRLING_N
    f = 1.0 / (x * x)
    return (1.0 / 12.0 - f * (1.0 / 360.0 - f * (1.0 / 1260.0 - f / 1680.0))) / x


@njit(**INLINE)
def lgamma_ratio(y, n):
    """log Gamma(y + n) - log Gamma(n) - y log(n): 0 at y = 0, -> 0 as n -> infinity."""
    if y == 0.0:
        return 0.0
    if y < _SMALL_COUNT and y == math.floor(y):
        total = 0.0
        j = 1.0
        while j < y:
            total += math.log1p(j / n)
            j += 1.0
        return total
    if n > _STIRLING_N:
        # (n + y - 1/2) log1p(t) - y, with n (log1p(t) - t) free of cancellation
        t = y / n
        return n * _log1p_minus_x(t) + (y - 0.5) * math.log1p(t) + (_stirling_tail(n + y) - _stirling_tail(n))
    return math.lgamma(y + n) - math.lgamma(n) - y * math.log(n)


@njit(**INLINE)
def nb_nll(yi, log_mu, log_alpha):
    """Minus the log mass of NB2(mean exp(log_mu), dispersion exp(log_alpha)) at the count yi."""
    n = math.exp(-log_alpha)
    s = log_mu + log_alpha
    sp = softplus(s)  # log(1 + alpha mu)
    if s < -7.0:
        # n log(1 + u) = mu log1p(u) / u for u = alpha mu: the Poisson limit's mu, without
        # the rounding of exp(s) scaled up by n.
        u = math.exp(s)
        n_sp = math.exp(log_mu) * (1.0 - u * (0.5 - u * (1.0 / 3.0 - u * (0.25 - u * (0.2 - u / 6.0)))))
    else:
        n_sp = n * sp
    return -lgamma_ratio(yi, n) - yi * log_mu + math.lgamma(yi + 1.0) + n_sp + yi * sp


@njit(**INLINE)
def _psi_tail(x):
    # log(x) - 1 / (2x) - digamma(x), for x >= _PSI_SHIFT (as in families._psi_series)
    f = 1.0 / (x * x)
    return f * (1.0 / 12.0 - f * (1.0 / 120.0 - f * (1.0 / 252.0 - f * (1.0 / 240.0 - f * (1.0 / 132.0)))))


@njit(**INLINE)
def _digamma_term(yi, n):
    """n (psi(n + y) - psi(n)) - y, accurate relative to its own size (~ -y^2 / (2 n) for large n)."""
    if yi == 0.0:
        return 0.0
    if yi < _SMALL_COUNT and yi == math.floor(yi):
        total = 0.0
        j = 1.0
        while j < yi:
            total -= j / (n + j)
            j += 1.0
        return total
    if n < _PSI_SHIFT:
        return n * psi_diff(n, yi) - yi
    # psi(x) = log(x) - 1 / (2x) - tail(x) for x >= _PSI_SHIFT: each part's difference without cancellation.
    return n * _log1p_minus_x(yi / n) + 0.5 * yi / (n + yi) - n * (_psi_tail(n + yi) - _psi_tail(n))


@njit(**INLINE)
def _trigamma_term(yi, n):
    """n^2 (psi'(n) - psi'(n + y)) - n (psi(n + y) - psi(n)): minus sum_{j < y} n j / (n + j)^2."""
    if yi == 0.0:
        return 0.0
    if yi < _SMALL_COUNT and yi == math.floor(yi):
        total = 0.0
        j = 1.0
        while j < yi:
            total -= n * j / ((n + j) * (n + j))
            j += 1.0
        return total
    return n * n * (trigamma(n) - trigamma(n + yi)) - n * psi_diff(n, yi)


@njit(**INLINE)
def _n_sigmoid_minus_softplus(log_mu, log_alpha):
    """n (u / (1 + u) - log(1 + u)) for u = alpha mu, n = 1 / alpha; by its series
    ``mu u (-1/2 + 2u/3 - 3u^2/4 + ...)`` where u is small (the terms cancel to O(u^2))."""
    s = log_mu + log_alpha
    if s < -7.0:
        u = math.exp(s)
        poly = -0.5 + u * (2.0 / 3.0 - u * (0.75 - u * (0.8 - u * (5.0 / 6.0 - u * (6.0 / 7.0)))))
        return math.exp(log_mu) * u * poly
    return math.exp(-log_alpha) * (1.0 / (1.0 + math.exp(-s)) - softplus(s))


@njit(**INLINE)
def nb_dispersion_information(log_mu, log_alpha):
    """Fisher information of log(alpha) for NB2(mu, alpha).

    Lawless (1987): ``I = sum_{j >= 0} P(Y > j) n^2 / (n + j)^2 - n mu / (n + mu)`` with
    ``n = 1 / alpha``; as ``sum_j P(Y > j) = mu``, it equals
    ``alpha (mu^2 / (1 + alpha mu) - sum_j P(Y > j) j (2 + alpha j) / (1 + alpha j)^2)``,
    which cancels only to ``O(alpha)``. The sum runs over the support until its
    tail, bounded geometrically, is below ``_INFO_RTOL`` of the result (at most
    ``_INFO_MAX_TERMS`` terms); the tail's geometric estimate is added. Where
    ``alpha (2 mu + 1) < 1e-5`` the series ``alpha^2 mu^2 / 2 (1 - alpha (2 mu + 1))``
    (error ``O(alpha^2 (2 mu + 1)^2)`` relative) replaces the sum; beyond
    ``mu = 1e12`` or ``alpha = 1e6`` (no countable support to sum over) the
    limit ``mu -> inf``, the information of a gamma's log shape, times ``q^2``
    with ``q = alpha mu / (1 + alpha mu)``: ``(n^2 psi'(n) - n) q^2``.
    """
    mu = math.exp(log_mu)
    alpha = math.exp(log_alpha)
    s = log_mu + log_alpha
    x = alpha * (2.0 * mu + 1.0)
    if x < _INFO_SERIES:
        am = alpha * mu
        return 0.5 * am * am * (1.0 - x)
    n = math.exp(-log_alpha)
    q = 1.0 / (1.0 + math.exp(-s))
    if mu > 1e12 or alpha > 1e6:
        return (n * n * trigamma(n) - n) * q * q
    am = alpha * mu
    lead = mu * mu / (1.0 + am)
    log_p0 = -n * math.log1p(am)
    total = 0.0
    j = 0.0
    if log_p0 < -700.0:
        # P(Y = 0) underflows: start 12 standard deviations below the mean, where
        # P(Y > j) = 1 for every earlier j, whose terms sum in closed form.
        sd = math.sqrt(mu * (1.0 + am))
        j = math.floor(max(0.0, mu - 12.0 * sd))
        total = (j - n * n * (trigamma(n) - trigamma(n + j))) / alpha
        p = math.exp(-nb_nll(j, log_mu, log_alpha))
    else:
        p = math.exp(log_p0)
    cdf = p
    info = alpha * (lead - total)
    rho = q
    sf = 1.0
    f = 0.0
    for _ in range(_INFO_MAX_TERMS):
        sf = max(1.0 - cdf, 0.0)
        aj = alpha * j
        f = j * (2.0 + aj) / ((1.0 + aj) * (1.0 + aj))
        total += sf * f
        ratio = q * (n + j) / (j + 1.0)
        p *= ratio
        j += 1.0
        cdf += p
        info = alpha * (lead - total)
        rho = max(ratio, q)
        # P(Y > j) falls at least as fast as rho^j beyond here and alpha f <= 1.
        if j > mu and sf * rho / (1.0 - rho) <= _INFO_RTOL * info:
            break
    # The rest, as a geometric series at the last term's f (f increases to 1 / alpha).
    tail = alpha * f * sf * rho / (1.0 - rho) if rho < 1.0 else 0.0
    return max(info - tail, 0.5 * info)


@njit(**INLINE)
def _nb_point(yi, log_mu, log_alpha, curvature):
    n = math.exp(-log_alpha)
    s = log_mu + log_alpha
    sp = softplus(s)
    sig = 1.0 / (1.0 + math.exp(-s))   # alpha mu / (1 + alpha mu)
    sigc = 1.0 / (1.0 + math.exp(s))   # 1 / (1 + alpha mu)
    mu_c = math.exp(log_mu - sp)       # mu / (1 + alpha mu): the mean margin's information
    g_mu = mu_c - yi * sigc
    h_mu = mu_c
    if curvature == CURVATURE_HESSIAN:
        # mu (1 + alpha y) / (1 + alpha mu)^2, never negative
        h_mu = mu_c * sigc + yi * math.exp(s - 2.0 * sp)
    mu = math.exp(log_mu)
    n_sms = _n_sigmoid_minus_softplus(log_mu, log_alpha)
    g_a = _digamma_term(yi, n) + n_sms + yi * sig
    h_a = 0.0
    if curvature == CURVATURE_HESSIAN:
        h_a = _trigamma_term(yi, n) - n_sms - mu * sig * sigc + yi * sig * sigc
    if not h_a > 0.0:
        h_a = nb_dispersion_information(log_mu, log_alpha)
    h_a = max(h_a, abs(g_a) / SHAPE_STEP_LIMIT)
    return g_mu, h_mu, g_a, h_a


@njit(**JIT)
def negative_binomial_grad_hess(y, margin, weight, curvature, grad, hess):
    """NB2(mean, dispersion) with margins (log mean, log dispersion)."""
    n = y.shape[0]
    weighted = weight.shape[0] > 0
    for i in range(n):
        g0, h0, g1, h1 = _nb_point(f64(y[i]), _clip_log_mean(margin[i, 0]), clip_log_scale(margin[i, 1]), curvature)
        wi = f64(weight[i]) if weighted else 1.0
        store_weighted(grad, hess, i, 0, g0, h0, wi)
        store_weighted(grad, hess, i, 1, g1, h1, wi)


@njit(**JIT)
def negative_binomial_loss_sum(y, margin, weight):
    n = y.shape[0]
    weighted = weight.shape[0] > 0
    total = 0.0
    for i in range(n):
        li = nb_nll(f64(y[i]), _clip_log_mean(margin[i, 0]), clip_log_scale(margin[i, 1]))
        total += li * f64(weight[i]) if weighted else li
    return total


@njit(**JIT)
def negative_binomial_logpmf(y, mean, dispersion, out):
    """Log masses of NB2 distributions, row by row (the distribution's logpmf)."""
    for i in range(y.shape[0]):
        out[i] = -nb_nll(y[i], math.log(mean[i]), math.log(dispersion[i]))


@njit(**JIT)
def negative_binomial_information(mean, dispersion, out):
    """Fisher information of the log dispersion, row by row."""
    for i in range(mean.shape[0]):
        out[i] = nb_dispersion_information(math.log(mean[i]), math.log(dispersion[i]))
