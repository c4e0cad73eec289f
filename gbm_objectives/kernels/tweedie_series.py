"""The Tweedie log-density for 1 < p < 2 by the Dunn-Smyth series, with its derivatives in log phi.

One implementation serves :mod:`gbm_objectives.tweedie_density` (the public
density and the power estimate) and the ``tweedie_dispersion`` family.

For ``a = (2 - p) / (p - 1)``, ``theta = mu**(1-p) / (1-p)`` and
``kappa = mu**(2-p) / (2-p)`` (Dunn and Smyth 2005)::

    log f(0)  = -kappa / phi                                    (the Poisson zero)
    log f(y)  = log sum_j W_j - log y + (y theta - kappa) / phi,     y > 0
    log W_j   = j (a log y - (1 + a) log phi - log(2-p) - a log(p-1))
                - lgamma(j + 1) - lgamma(j a)

The series is summed in log space around its largest term (near
``j = y**(2-p) / ((2-p) phi)``), stepping outwards until the terms fall 37
nats (float64 resolution) below the largest. The terms are log-concave in
``j``, so the stopping rule is safe, and when there are many of them the walk
takes every ``h``-th term with ``h`` a quarter of the terms' spread and
multiplies by ``h``: for a smooth bell that sum equals the full one to far
below float64 resolution (trapezoid rule on an analytic integrand), so the
cost per row stays bounded however large ``y`` gets.

Derivatives in ``log phi``: ``log W_j`` has slope ``-(1 + a) j`` in
``log phi``, so ``d log sum_j W_j / d log phi = -(1 + a) E[j]`` and the
second derivative is ``(1 + a)^2 Var[j]``, with ``E`` and ``Var`` under the
normalised weights ``W_j / sum W`` (the posterior of the Poisson count given
``y``). The exponent ``(y theta - kappa) / phi`` has derivative
``-(y theta - kappa) / phi`` and second derivative ``+(y theta - kappa) / phi``.

Beyond ``1e12`` terms around the peak (a dispersion more than ``1e12`` times
below ``y**(2-p)``) the Stirling expansion of the series is exact to about
``1e-12`` relative, and the saddlepoint form
``-log(2 pi phi y^p) / 2 - deviance / (2 phi)`` replaces the walk, whose
stride would fall below the spacing of float64 there.

References
----------
Dunn, P. K. and Smyth, G. K. (2005). Series evaluation of Tweedie exponential
dispersion model densities. Statistics and Computing 15, 267-280.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from ._common import f64
from .families import CURVATURE_FISHER, clip_log_scale, store_weighted

#: Terms more than this many nats below the largest add less than float64 resolution.
SERIES_DROP = 37.0
#: The log-series walk takes every h-th term with h = spread / STRIDE_DIVISOR.
STRIDE_DIVISOR = 4.0
#: log of the peak index beyond which the saddlepoint form replaces the series.
LOG_SADDLEPOINT_TERMS = math.log(1e12)
#: 0.5 * log(2 pi)
_HALF_LOG_2PI = 0.9189385332046727

#: Cap on ``y * exp(...)`` so a huge label times a far-off margin stays finite.
_MAX_TERM = 1e300

_JIT = dict(cache=True, nogil=True, error_model="numpy")


@njit(**_JIT)
def _log_w(j, z, a):
    return j * z - math.lgamma(j + 1.0) - math.lgamma(j * a)


@njit(**_JIT)
def _walk(z, a, j0, h, ref, s0, s1, s2, direction):
    """Add the terms j0 + k h (k = 1, 2, ...) in one direction to the rescaled sums.

    The sums hold sum_j exp(log W_j - ref) * (1, d, d^2) with d = j - centre,
    where the centre is the walk's start; ``ref`` follows the largest term so
    nothing overflows. Returns the updated state and whether the walk hit
    j < 1 (the bell is cut by the series' start, so striding is not exact).
    """
    j = j0
    while True:
        j = j + direction * h
        if j < 1.0:
            return ref, s0, s1, s2, direction < 0 and h > 1.0
        t = _log_w(j, z, a)
        d = j - j0
        if t > ref:
            scale = math.exp(ref - t)
            s0, s1, s2 = s0 * scale, s1 * scale, s2 * scale
            ref = t
        e = math.exp(t - ref)
        s0 += e
        s1 += e * d
        s2 += e * d * d
        if t < ref - SERIES_DROP:
            return ref, s0, s1, s2, False


@njit(**_JIT)
def log_series(y, log_phi, p, allow_stride):
    """log sum_j W_j and the mean and variance of j under the weights W_j (y > 0)."""
    return log_series_at_log(math.log(y), log_phi, p, allow_stride)


@njit(**_JIT)
def log_series_at_log(log_y, log_phi, p, allow_stride):
    """:func:`log_series` of ``y = exp(log_y)`` (for labels below the float64 range)."""
    a = (2.0 - p) / (p - 1.0)
    z = a * log_y - (1.0 + a) * log_phi - math.log(2.0 - p) - a * math.log(p - 1.0)
    log_jmax = (2.0 - p) * log_y - math.log(2.0 - p) - log_phi
    jmax = math.exp(min(log_jmax, 700.0))
    j0 = max(1.0, math.floor(jmax + 0.5))
    # The log-terms have curvature about (1 + a) / j near their peak.
    spread = math.sqrt(j0 / (1.0 + a))
    h = 1.0
    if allow_stride:
        h = max(1.0, math.floor(spread / STRIDE_DIVISOR))
    while True:
        ref = _log_w(j0, z, a)
        s0, s1, s2 = 1.0, 0.0, 0.0
        ref, s0, s1, s2, cut = _walk(z, a, j0, h, ref, s0, s1, s2, 1.0)
        ref, s0, s1, s2, cut = _walk(z, a, j0, h, ref, s0, s1, s2, -1.0)
        if not cut:
            break
        h = 1.0  # the bell reaches j = 1: sum every term instead
    mean_d = s1 / s0
    var = max(s2 / s0 - mean_d * mean_d, 0.0)
    return ref + math.log(s0 * h), j0 + mean_d, var


@njit(**_JIT)
def _half_deviance_ratio(u, s):
    """``(r^s - s r + s - 1) / (s (s - 1))`` at ``r = e^u``, ``s = 2 - p``: half the unit
    deviance over ``mu^(2-p)``. Near ``r = 1`` as the series sum_k G_k u^k / k! with
    G_k = 1 + s + ... + s^(k-2) > 0, so no two terms cancel."""
    if abs(u) > 0.5:
        return (math.expm1(s * u) - s * math.expm1(u)) / (s * (s - 1.0))
    total = 0.0
    term = u  # u^k / k!
    geometric = 0.0
    power = 1.0  # s^(k-2)
    for k in range(2, 40):
        term *= u / k
        geometric += power
        power *= s
        total += geometric * term
        if abs(geometric * term) <= 1e-17 * abs(total):
            break
    return total


@njit(**_JIT)
def tweedie_loglik_point(y, log_mu, log_phi, p, allow_stride):
    """log f(y; mu, phi, p) and its first two derivatives in log phi.

    ``log_mu`` and ``log_phi`` are finite and moderate (the callers clip them).
    """
    a = (2.0 - p) / (p - 1.0)
    inv_phi = math.exp(-log_phi)
    kappa = math.exp((2.0 - p) * log_mu) / (2.0 - p)
    if y <= 0.0:
        e = -kappa * inv_phi
        return e, -e, e
    log_y = math.log(y)
    theta = math.exp((1.0 - p) * log_mu) / (1.0 - p)
    if (2.0 - p) * log_y - math.log(2.0 - p) - log_phi > LOG_SADDLEPOINT_TERMS:
        # Half the unit deviance over phi, y^(2-p)/((1-p)(2-p)) - y theta + kappa, written
        # as mu^(2-p) times a function of log(y / mu) that is exact near y = mu.
        half_dev = math.exp((2.0 - p) * log_mu - log_phi) * _half_deviance_ratio(log_y - log_mu, 2.0 - p)
        ll = -_HALF_LOG_2PI - 0.5 * (log_phi + p * log_y) - half_dev
        return ll, -0.5 + half_dev, -half_dev
    e = (y * theta - kappa) * inv_phi
    log_s, mean_j, var_j = log_series(y, log_phi, p, allow_stride)
    return log_s - log_y + e, -(1.0 + a) * mean_j - e, (1.0 + a) * (1.0 + a) * var_j + e


@njit(**_JIT)
def loglik_rows(y, mu, w, log_phi, p, allow_stride, ll, d1, d2):
    """Per-row log-density (dispersion ``phi / w_i``) and its derivatives in log phi."""
    for i in range(y.shape[0]):
        ll[i], d1[i], d2[i] = tweedie_loglik_point(
            y[i], math.log(mu[i]), log_phi - math.log(w[i]), p, allow_stride)


# ---------------------------------------------------------------------------
# The tweedie_dispersion family: margins (log mean, log dispersion)
# ---------------------------------------------------------------------------
#
# The Fisher information of the log dispersion has no closed form, but it
# depends on (mu, phi) only through lambda = mu^(2-p) / ((2-p) phi), the
# Poisson rate of the compound sum: (mu, phi) -> (c mu, c^(2-p) phi) rescales
# Y by c, which leaves the information unchanged and lambda too. It is
# tabulated once per power over log lambda (``fisher_table``) and read by
# cubic interpolation; beyond the table it follows its asymptotes,
# lambda (1 + a) (1 + O(lambda)) for few claims and 1/2 + O(1/lambda) for many
# (the saddlepoint limit, where the deviance over phi is chi-square).

#: The table spans log lambda in [FISHER_T_LOW, FISHER_T_HIGH] in steps of FISHER_T_STEP.
FISHER_T_LOW = -14.0
FISHER_T_HIGH = 10.0
FISHER_T_STEP = 0.1
#: Left of v = log(G) = this (G the gamma sum over its scale) the integral runs in r = G^a.
_LEFT_CUT = -6.0
#: Chernoff exponent of the tails left out of the integral.
_TAIL_NATS = 42.0


@njit(**_JIT)
def _chernoff_span(k, lower):
    """s with P(G < k e^-s) (lower) or P(G > k e^s) below exp(-_TAIL_NATS) for G ~ Gamma(k)."""
    c = _TAIL_NATS / k
    if lower:
        s = max(math.sqrt(2.0 * c), c + 1.0)
        for _ in range(100):
            f = math.exp(-s) - 1.0 + s - c
            step = f / (1.0 - math.exp(-s))
            s -= step
            if abs(step) < 1e-12 * s:
                break
        return s
    s = min(math.sqrt(2.0 * c), math.log1p(c) + math.log1p(math.log1p(c)) + 1.0)
    s = max(s, 1e-8)
    for _ in range(100):
        f = math.expm1(s) - s - c
        step = f / math.expm1(s)
        s -= step
        if abs(step) < 1e-12 * s:
            break
    return s


@njit(**_JIT)
def _score_term(log_y, log_phi, p, a, log_scale):
    """Density of log Y (y > 0, mu = 1) times the squared log-dispersion score."""
    theta = 1.0 / (1.0 - p)
    kappa = 1.0 / (2.0 - p)
    e = (math.exp(log_y) * theta - kappa) * math.exp(-log_phi)
    log_s, mean_j, _ = log_series_at_log(log_y, log_phi, p, True)
    d1 = -(1.0 + a) * mean_j - e
    return math.exp(log_s + e) * d1 * d1


@njit(**_JIT)
def fisher_log_dispersion_at(t, p, x8, w8, x32, w32):
    """E[(d log f / d log phi)^2] at log lambda = t, by quadrature (mu = 1)."""
    a = (2.0 - p) / (p - 1.0)
    lam = math.exp(t)
    log_phi = -math.log(2.0 - p) - t
    log_scale = log_phi + math.log(p - 1.0)
    total = math.exp(-lam) * lam * lam  # y = 0: score lambda
    sd = math.sqrt(lam)
    n_lo = max(1.0, math.floor(lam - 12.0 * sd - 5.0))
    n_hi = math.ceil(lam + 12.0 * sd + 12.0)
    v_lo = math.log(n_lo * a) - _chernoff_span(n_lo * a, True)
    v_hi = math.log(n_hi * a) + _chernoff_span(n_hi * a, False)
    v_start = v_lo
    if v_lo < _LEFT_CUT:
        # In r = G^a the mixture's density is a power series in r (the n-th
        # gamma contributes r^(n-1)), smooth down to r = 0.
        v_start = _LEFT_CUT
        r_top = math.exp(a * _LEFT_CUT)
        for i in range(x32.shape[0]):
            r = 0.5 * r_top * (x32[i] + 1.0)
            log_y = log_scale + math.log(r) / a
            # dy/dr = y / (a r); the score term is per unit log y.
            total += 0.5 * r_top * w32[i] * _score_term(log_y, log_phi, p, a, log_scale) / (a * r)
    k_hi = n_hi * a
    width = 0.5 * min(1.0, 1.0 / math.sqrt(k_hi), 1.0 / a)
    panels = max(1, int(math.ceil((v_hi - v_start) / width)))
    width = (v_hi - v_start) / panels
    for j in range(panels):
        left = v_start + j * width
        for i in range(x8.shape[0]):
            v = left + 0.5 * width * (x8[i] + 1.0)
            total += 0.5 * width * w8[i] * _score_term(log_scale + v, log_phi, p, a, log_scale)
    return total


@njit(**_JIT)
def _fisher_table_fill(p, x8, w8, x32, w32, out):
    for i in range(out.shape[0]):
        out[i] = math.log(fisher_log_dispersion_at(FISHER_T_LOW + i * FISHER_T_STEP, p, x8, w8, x32, w32))


def fisher_table(p):
    """log Fisher information of the log dispersion on the grid of log lambda, for power ``p``."""
    x8, w8 = np.polynomial.legendre.leggauss(8)
    x32, w32 = np.polynomial.legendre.leggauss(32)
    n = int(round((FISHER_T_HIGH - FISHER_T_LOW) / FISHER_T_STEP)) + 1
    out = np.empty(n)
    _fisher_table_fill(float(p), x8, w8, x32, w32, out)
    return out


@njit(**_JIT)
def fisher_from_table(t, table):
    """The Fisher information of the log dispersion at log lambda = t, from :func:`fisher_table`."""
    last = table.shape[0] - 1
    t_high = FISHER_T_LOW + last * FISHER_T_STEP
    if t <= FISHER_T_LOW:
        return math.exp(table[0] + (t - FISHER_T_LOW))
    if t >= t_high:
        return 0.5 + (math.exp(table[last]) - 0.5) * math.exp(t_high - t)
    x = (t - FISHER_T_LOW) / FISHER_T_STEP
    i = min(max(int(math.floor(x)) - 1, 0), last - 3)
    u = x - i
    # Cubic Lagrange interpolation through points i .. i+3 (u in [0, 3]).
    c0 = -(u - 1.0) * (u - 2.0) * (u - 3.0) / 6.0
    c1 = u * (u - 2.0) * (u - 3.0) / 2.0
    c2 = -u * (u - 1.0) * (u - 3.0) / 2.0
    c3 = u * (u - 1.0) * (u - 2.0) / 6.0
    return math.exp(c0 * table[i] + c1 * table[i + 1] + c2 * table[i + 2] + c3 * table[i + 3])


@njit(**_JIT)
def _dispersion_point(yi, log_mu, log_phi, p):
    """Loss (minus the log-density), its gradients and exact Hessians in (log mu, log phi)."""
    ll, d1, d2 = tweedie_loglik_point(yi, log_mu, log_phi, p, True)
    b = math.exp((2.0 - p) * log_mu - log_phi)  # mu^(2-p) / phi: the Fisher information of log mu
    a_term = 0.0
    if yi > 0.0:
        a_term = min(yi * math.exp((1.0 - p) * log_mu - log_phi), _MAX_TERM)  # y mu^(1-p) / phi
    return -ll, b - a_term, (2.0 - p) * b + (p - 1.0) * a_term, -d1, -d2, b


@njit(**_JIT)
def tweedie_dispersion_grad_hess(y, margin, weight, power, curvature, table, grad, hess):
    """Tweedie(mean, dispersion; power) with margins (log mean, log dispersion).

    ``curvature`` ``CURVATURE_HESSIAN`` is the exact Hessian where positive
    (always, for the log mean) and the Fisher information elsewhere,
    ``CURVATURE_FISHER`` the Fisher information; ``table`` is
    :func:`fisher_table` of ``power``.
    """
    n = y.shape[0]
    weighted = weight.shape[0] > 0
    log_two_minus_p = math.log(2.0 - power)
    for i in range(n):
        log_mu = clip_log_scale(margin[i, 0])
        log_phi = clip_log_scale(margin[i, 1])
        _, g0, h0, g1, h1, fisher0 = _dispersion_point(f64(y[i]), log_mu, log_phi, power)
        if curvature == CURVATURE_FISHER:
            h0 = fisher0
        if curvature == CURVATURE_FISHER or not h1 > 0.0:
            h1 = fisher_from_table((2.0 - power) * log_mu - log_phi - log_two_minus_p, table)
        wi = f64(weight[i]) if weighted else 1.0
        store_weighted(grad, hess, i, 0, g0, h0, wi)
        store_weighted(grad, hess, i, 1, g1, h1, wi)


@njit(**_JIT)
def tweedie_dispersion_loss_sum(y, margin, weight, power):
    n = y.shape[0]
    weighted = weight.shape[0] > 0
    total = 0.0
    for i in range(n):
        ll = tweedie_loglik_point(f64(y[i]), clip_log_scale(margin[i, 0]),
                                  clip_log_scale(margin[i, 1]), power, True)[0]
        total += -ll * f64(weight[i]) if weighted else -ll
    return total


@njit(**_JIT)
def tweedie_dispersion_logpdf(y, mean, dispersion, power, out):
    """Log-density of each row (the distribution's :meth:`logpdf`; same code as the loss)."""
    for i in range(y.shape[0]):
        out[i] = tweedie_loglik_point(y[i], math.log(mean[i]), math.log(dispersion[i]), power, True)[0]
