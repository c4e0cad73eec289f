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

from numba import njit

#: Terms more than this many nats below the largest add less than float64 resolution.
SERIES_DROP = 37.0
#: The log-series walk takes every h-th term with h = spread / STRIDE_DIVISOR.
STRIDE_DIVISOR = 4.0
#: log of the peak index beyond which the saddlepoint form replaces the series.
LOG_SADDLEPOINT_TERMS = math.log(1e12)
#: 0.5 * log(2 pi)
_HALF_LOG_2PI = 0.9189385332046727

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
    a = (2.0 - p) / (p - 1.0)
    log_y = math.log(y)
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
        # Half the unit deviance over phi: y^(2-p)/((1-p)(2-p)) - y theta + kappa.
        half_dev = (math.exp((2.0 - p) * log_y) / ((1.0 - p) * (2.0 - p)) - y * theta + kappa) * inv_phi
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
