"""Count families: minus the log mass of a negative binomial, with respect to one margin per parameter.

The negative binomial (NB2) has margins (log mean, log dispersion): mean
``mu``, dispersion ``alpha``, variance ``mu + alpha mu^2``; in scipy's terms
``n = 1 / alpha`` and ``p = 1 / (1 + alpha mu)``. Every term is written so that
``alpha -> 0`` gives the Poisson log mass without cancellation (the gamma
function differences are sums, series or Stirling's expansion there).
"""

from __future__ import annotations

import math

import numpy as np
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
#: The information's series stops where the rest is known to this fraction of the total.
_INFO_RTOL = 1e-12
#: Most terms of the information's series (the quadrature takes over long before).
_INFO_MAX_TERMS = 50_000
#: Below this n = 1 / alpha and above this alpha mu, the information is an integral by quadrature.
_INFO_QUAD_N = 8.0
_INFO_QUAD_LOG_A = math.log(20.0)
#: The information's table (:func:`information_table`): Chebyshev patches of
#: ``I / q^2`` over log(1 / alpha) in [-4, 4) and log(1 + alpha mu) in [0, 3.5),
#: patches 0.5 wide in both, degree 8 in each.
_TAB_L0 = -4.0
_TAB_L1 = 4.0
_TAB_Y1 = 3.5
_TAB_H = 0.5
_TAB_DEG = 9
#: 12-point Gauss-Legendre nodes and weights on [0, 1].
_GL_NODES = 0.5 * (np.polynomial.legendre.leggauss(12)[0] + 1.0)
_GL_WEIGHTS = 0.5 * np.polynomial.legendre.leggauss(12)[1]


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
def _info_series(n, q, qc):
    """The dispersion's information by its hypergeometric series (see nb_dispersion_information).

    Terms ``T_m = n q^(m+1) m! / ((m + 1) (n + 1)_m)``, m >= 1, all positive, their
    ratio ``q (m + 1)^2 / ((m + 2) (n + m + 1))`` increasing to ``q``. After each term
    the rest lies between ``T / (1 - r)`` (r the last ratio) and ``T`` times the least
    of ``1 / (1 - q)`` and, for ``n > 1``, ``(m + n + 1) / (n - 1)`` (the ratios are
    below ``(j + 1) / (j + n + 1)``, whose products sum in closed form); the sum
    stops where half that gap is below ``_INFO_RTOL`` of the total and adds the middle.
    """
    term = 0.5 * n / (n + 1.0) * q * q
    total = 0.0
    m = 1.0
    r = 0.0
    # The stopping tests multiplied out (no division in the loop): 1 / qc and, for
    # n > 1, (m + n) / (n - 1) against 1 / (1 - r).
    n1 = max(n - 1.0, 0.0)
    for _ in range(_INFO_MAX_TERMS):
        total += term
        r = q * (m + 1.0) * (m + 1.0) / ((m + 2.0) * (n + m + 1.0))
        term *= r
        m += 1.0
        bound = 2.0 * _INFO_RTOL * total * (1.0 - r)
        if term * (q - r) <= bound * qc or term * ((m + n) * (1.0 - r) - n1) <= bound * n1:
            break
    upper = 1.0 / qc if n <= 1.0 else min(1.0 / qc, (m + n) / n1)
    return total + 0.5 * term * (upper + 1.0 / (1.0 - r))


@njit(**INLINE)
def _exprel_neg(x):
    """expm1(x) / x for x <= 0."""
    if x > -1e-5:
        return 1.0 + x * (0.5 + x / 6.0)
    return math.expm1(x) / x


@njit(**INLINE)
def _int_exp(c, a, b, shift):
    """The integral of exp(c v - shift) over [a, b], without overflow or cancellation."""
    w = b - a
    if c >= 0.0:
        return math.exp(c * b - shift) * w * _exprel_neg(-c * w)
    return math.exp(c * a - shift) * w * _exprel_neg(c * w)


@njit(**INLINE)
def _int_v_exp(n, a, b):
    """The integral of v exp(-n v) over [a, b], n >= 0, without cancellation as n -> 0."""
    w = b - a
    x = n * w
    if x < 1e-3:
        # (1 - e^-x (1 + x)) / x^2 by its series
        inner = 0.5 - x * (1.0 / 3.0 - x * (0.125 - x / 30.0))
    else:
        inner = -(math.expm1(-x) + x * math.exp(-x)) / (x * x)
    return math.exp(-n * a) * (a * w * _exprel_neg(-x) + w * w * inner)


@njit(**INLINE)
def _info_integrand(v, n, q, s):
    """exp(-n v) H(v), H = (-log(1 - q t) - q t) / t at t = 1 - exp(-v)."""
    t = -math.expm1(-v)
    qt = q * t
    if qt < 0.5:
        h = -_log1p_minus_x(-qt) / t
    else:
        # -log(1 - q t) = v - log(q) - log1p(exp(v - s)), with 1 - q = q exp(-s)
        h = (v + softplus(-s) - softplus(v - s) - qt) / t
    return math.exp(-n * v) * h


@njit(**INLINE)
def _info_gauss(a, b, n, q, s):
    # Panels of width <= 2 (H is analytic within pi of the real line; exp(-n v) with
    # n < _INFO_QUAD_N varies by at most e^8 over one), 12-point Gauss-Legendre each.
    width = 2.0 if n <= 4.0 else 8.0 / n
    panels = max(1, int(math.ceil((b - a) / width)))
    step = (b - a) / panels
    total = 0.0
    for p in range(panels):
        low = a + p * step
        acc = 0.0
        for k in range(_GL_NODES.shape[0]):
            acc += _GL_WEIGHTS[k] * _info_integrand(low + step * _GL_NODES[k], n, q, s)
        total += acc * step
    return total


@njit(**INLINE)
def _info_quadrature(n, q, s):
    """The information as ``n^2`` times the integral of ``exp(-n v) H(v)`` over v > 0.

    H rises like v up to ``v = s = log(alpha mu)`` and is flat
    (``log(1 + alpha mu) - q``) from there on. Gauss-Legendre panels cover
    [0, s + 12] (and only [0, 40] and [s - 12, s + 12] where s > 52); between
    40 and s - 12 (where ``exp(-v)`` and ``exp(v - s)`` are below 1e-17 and 6e-6)
    and beyond s + 12, H is its expansion to second order in those
    exponentials, integrated in closed form.
    """
    v2 = s + 12.0
    if s > 52.0:
        v1 = s - 12.0
        quad = _info_gauss(0.0, 40.0, n, q, s) + _info_gauss(v1, v2, n, q, s)
        # H = v - log(q) - q - log1p(z), z = exp(v - s) <= exp(-12)
        quad += (_int_v_exp(n, 40.0, v1) + (softplus(-s) - q) * _int_exp(-n, 40.0, v1, 0.0)
                 - _int_exp(1.0 - n, 40.0, v1, s) + 0.5 * _int_exp(2.0 - n, 40.0, v1, 2.0 * s))
    else:
        quad = _info_gauss(0.0, v2, n, q, s)
    # Beyond v2: H = (L - log1p(y)) / t - q with L = log(1 + alpha mu), y = exp(s - v), 1 / t = 1 + e^-v + ...
    big_l = softplus(s)
    e0 = math.exp(-n * v2)
    ev = math.exp(-v2)
    e12 = math.exp(-12.0)
    rest = e0 * ((big_l - q) + n * ((big_l * ev - e12) / (n + 1.0)
                                    + (big_l * ev * ev + 0.5 * e12 * e12 - e12 * ev) / (n + 2.0)))
    return n * (n * quad + rest)


@njit(**INLINE)
def nb_dispersion_information(log_mu, log_alpha):
    """Fisher information of log(alpha) for NB2(mu, alpha).

    With ``n = 1 / alpha`` and ``q = alpha mu / (1 + alpha mu)``, Lawless's (1987)
    sum over the support, ``sum_j P(Y > j) n^2 / (n + j)^2 - n mu / (n + mu)``,
    equals ``n q (3F2(1, 1, 1; 2, n + 1; q) - 1)``
    ``= n sum_{m >= 1} q^(m+1) m! / ((m + 1) (n + 1)_m)``
    ``= n^2 int_0^1 (1 - t)^(n-1) (-log(1 - q t) - q t) / t dt``
    (each ``P(Y > j)`` is a regularised incomplete beta function in q; sum its
    integral over j). The series has positive terms (no cancellation, the
    Poisson limit ``(alpha mu)^2 / 2`` is its first term) and needs no sum over
    the support, however large the mean: it converges like ``q^m`` and, for
    large n, like ``m^-n``, so it is summed (:func:`_info_series`) unless both
    are slow (``alpha mu > _INFO_QUAD_A`` and ``n < _INFO_QUAD_N``), where the
    integral is evaluated instead (:func:`_info_quadrature`). Relative error
    below 1e-12 against a 30+ digit evaluation of the 3F2 over means 1e-3 to
    1e60 and dispersions 1e-9 to 1e9.
    """
    s = log_mu + log_alpha
    n = math.exp(-log_alpha)
    q = 1.0 / (1.0 + math.exp(-s))
    if n < _INFO_QUAD_N and s > _INFO_QUAD_LOG_A:
        return _info_quadrature(n, q, s)
    return _info_series(n, q, 1.0 / (1.0 + math.exp(s)))


def information_table() -> np.ndarray:
    """Chebyshev coefficients of the dispersion's information over the usual means and dispersions.

    ``I(mu, alpha) / q^2`` (q = alpha mu / (1 + alpha mu)) is analytic in
    ``l = log(1 / alpha)`` and ``y = log(1 + alpha mu)`` within pi of the real
    line (its singularities lie at ``1 / alpha = -1, -2, ...`` and at q >= 1),
    so on patches 0.5 wide a degree-8 Chebyshev interpolant in each variable
    is within 1e-11 of the value (9e-12 at worst over 200,000 random points,
    at the edge log(1 + alpha mu) -> 3.5). Built once, from
    :func:`nb_dispersion_information` at the 81 Chebyshev points of each of
    the 112 patches (about 10 ms); shape (16, 7, 9, 9), coefficients
    ``[patch in l, patch in y, degree in l, degree in y]``.
    """
    global _TABLE
    if _TABLE is None:
        k = np.arange(_TAB_DEG)
        nodes = np.cos(np.pi * (k + 0.5) / _TAB_DEG)
        basis = 2.0 / _TAB_DEG * np.cos(np.outer(k, np.pi * (k + 0.5) / _TAB_DEG))
        basis[0] *= 0.5
        n_l, n_y = round((_TAB_L1 - _TAB_L0) / _TAB_H), round(_TAB_Y1 / _TAB_H)
        ell = _TAB_L0 + _TAB_H * (np.arange(n_l)[:, None] + 0.5 * (nodes[None, :] + 1.0))
        yy = _TAB_H * (np.arange(n_y)[:, None] + 0.5 * (nodes[None, :] + 1.0))
        ell_g = np.broadcast_to(ell[:, None, :, None], (n_l, n_y, _TAB_DEG, _TAB_DEG))
        y_g = np.broadcast_to(yy[None, :, None, :], (n_l, n_y, _TAB_DEG, _TAB_DEG))
        alpha = np.exp(-ell_g).ravel()
        mean = np.expm1(y_g).ravel() / alpha
        info = np.empty(alpha.shape[0])
        negative_binomial_information(mean, alpha, info)
        values = info.reshape(ell_g.shape) / (-np.expm1(-y_g)) ** 2
        _TABLE = np.ascontiguousarray(np.einsum("ik,abkl,jl->abij", basis, values, basis))
    return _TABLE


_TABLE: np.ndarray | None = None


@njit(**INLINE)
def _info_from_table(table, ell, y, q):
    """The dispersion's information from :func:`information_table` (two nested Clenshaw sums), or -1 outside it."""
    if not (_TAB_L0 <= ell < _TAB_L1 and 0.0 <= y < _TAB_Y1):
        return -1.0
    fl = (ell - _TAB_L0) / _TAB_H
    fy = y / _TAB_H
    a = min(int(fl), table.shape[0] - 1)
    b = min(int(fy), table.shape[1] - 1)
    u = 2.0 * (fl - a) - 1.0
    v = 2.0 * (fy - b) - 1.0
    b1 = 0.0
    b2 = 0.0
    for j in range(_TAB_DEG - 1, -1, -1):
        # the coefficient of T_j(v): sum_i c_ij T_i(u)
        d1 = 0.0
        d2 = 0.0
        for i in range(_TAB_DEG - 1, 0, -1):
            d1, d2 = 2.0 * u * d1 - d2 + table[a, b, i, j], d1
        cj = u * d1 - d2 + table[a, b, 0, j]
        if j > 0:
            b1, b2 = 2.0 * v * b1 - b2 + cj, b1
        else:
            b1 = v * b1 - b2 + cj
    return b1 * q * q


@njit(**INLINE)
def _nb_point(yi, log_mu, log_alpha, curvature, table):
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
        h_a = _info_from_table(table, -log_alpha, sp, sig)
        if h_a < 0.0:
            h_a = nb_dispersion_information(log_mu, log_alpha)
    h_a = max(h_a, abs(g_a) / SHAPE_STEP_LIMIT)
    return g_mu, h_mu, g_a, h_a


@njit(**JIT)
def negative_binomial_grad_hess(y, margin, weight, curvature, grad, hess, table):
    """NB2(mean, dispersion) with margins (log mean, log dispersion); ``table``: :func:`information_table`."""
    n = y.shape[0]
    weighted = weight.shape[0] > 0
    for i in range(n):
        g0, h0, g1, h1 = _nb_point(f64(y[i]), _clip_log_mean(margin[i, 0]), clip_log_scale(margin[i, 1]), curvature,
                                    table)
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


@njit(**JIT)
def negative_binomial_information_tabulated(mean, dispersion, table, out):
    """The information as the gradient kernel computes it: from ``table`` where it covers the row, else exact."""
    for i in range(mean.shape[0]):
        log_mu = math.log(mean[i])
        log_alpha = math.log(dispersion[i])
        s = log_mu + log_alpha
        value = _info_from_table(table, -log_alpha, softplus(s), 1.0 / (1.0 + math.exp(-s)))
        out[i] = value if value >= 0.0 else nb_dispersion_information(log_mu, log_alpha)
