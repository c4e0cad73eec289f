"""The Tweedie distribution with power in (1, 2): log-density by series, exact sampler.

For a power ``p`` in (1, 2) the Tweedie model is a compound Poisson-Gamma
distribution with mean ``mu`` and variance ``phi * mu**p``.
:func:`tweedie_log_density` evaluates its log-density row by row and
:func:`sample_tweedie` draws from it. Both are re-exported by
:mod:`gbm_objectives.tweedie_power`, which maximises the likelihood over the
dispersion and the power.

The density
-----------
For ``1 < p < 2`` and prior weight ``w`` (dispersion ``phi / w``), with
``a = (2 - p) / (p - 1)``, ``theta = mu**(1-p) / (1-p)`` and
``kappa = mu**(2-p) / (2-p)`` (Dunn and Smyth 2005)::

    log f(0)  = -w kappa / phi                                  (P(N = 0), Poisson zero)
    log f(y)  = log sum_j W_j - log y + w (y theta - kappa) / phi,          y > 0
    log W_j   = j (a log y - (1 + a) log(phi/w) - log(2-p) - a log(p-1))
                - lgamma(j + 1) - lgamma(j a)

:func:`tweedie_log_density` sums the series in log space around its largest
term (near ``j = y**(2-p) / ((2-p) phi/w)``), stepping outwards until the
terms fall 37 nats (float64 resolution) below the largest. The terms are
log-concave in ``j``, so the stopping rule is safe, and when there are many
of them (large ``y``, small ``phi``) the walk takes every ``h``-th term with
``h`` a quarter of the terms' spread and multiplies by ``h``: the terms are
a smooth bell in ``j``, for which that sum equals the full one to far below
float64 resolution (trapezoid rule on an analytic integrand; error of order
``exp(-2 pi^2 16)``), so the cost per row stays bounded however large ``y``
gets. The series lives in :mod:`gbm_objectives.kernels.tweedie_series`,
shared with the ``tweedie_dispersion`` family.

References
----------
Dunn, P. K. and Smyth, G. K. (2005). Series evaluation of Tweedie exponential
dispersion model densities. Statistics and Computing 15, 267-280.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._validation import as_float_array, check_scalar
from .kernels.tweedie_series import log_series as _log_series  # noqa: F401  (tweedie_power re-exports it)
from .kernels.tweedie_series import loglik_rows as _loglik_rows

__all__ = ["sample_tweedie", "tweedie_log_density"]


def _loglik(y, mu, w, log_phi, p, allow_stride=True):
    """Per-row log-density (dispersion ``phi / w_i``) and its first two derivatives in log phi."""
    n = y.shape[0]
    ll, d1, d2 = np.empty(n), np.empty(n), np.empty(n)
    _loglik_rows(y, mu, w, float(log_phi), float(p), allow_stride, ll, d1, d2)
    return ll, d1, d2


def _check_power_open(power: Any, name: str = "power") -> float:
    p = check_scalar(power, name, low=1.0, high=2.0)
    if p == 1.0 or p == 2.0:
        raise ValueError(
            f"{name} must be strictly between 1 and 2 for the compound Poisson-Gamma likelihood, got {p:g} "
            "(p = 1 is Poisson, with mass only on multiples of the dispersion; p = 2 is Gamma, with no zeros)")
    return p


def _check_nonneg_labels(y: np.ndarray, name: str = "y") -> None:
    if y.size and float(y.min()) < 0.0:
        raise ValueError(f"{name} must be >= 0 for a Tweedie likelihood; found min({name}) = {float(y.min()):g}")


def _broadcast(name: str, value: Any, n: int) -> np.ndarray:
    if np.ndim(value) == 0:
        return np.full(n, check_scalar(value, name))
    arr = as_float_array(value, name).astype(np.float64)
    if arr.shape[0] != n:
        raise ValueError(f"{name} has {arr.shape[0]} entries but y has {n}")
    return np.ascontiguousarray(arr)


def tweedie_log_density(
    y: Any, mu: Any, dispersion: float, power: float, *, sample_weight: Any = None
) -> np.ndarray:
    """Log-density of the Tweedie distribution with power in (1, 2), row by row.

    The compound Poisson-Gamma density by the Dunn-Smyth series, summed in
    log space (see the module docstring): exact at ``y = 0`` (the Poisson
    zero, ``-mu**(2-p) / ((2-p) phi)``) and accurate for large ``y`` and small
    dispersion.

    Parameters
    ----------
    y : array-like of shape (n,)
        Non-negative observations.
    mu : float or array-like of shape (n,)
        Positive means.
    dispersion : float > 0
        ``phi``: the variance is ``phi * mu**power / sample_weight``.
    power : float in (1, 2)
    sample_weight : array-like of shape (n,), optional
        Positive prior weights (dispersion ``phi / w`` per row, as in a GLM's
        prior weights or statsmodels' ``var_weights``).

    Returns
    -------
    numpy.ndarray of shape (n,)
        ``log f(y_i; mu_i, phi / w_i, power)``.
    """
    ya = as_float_array(y, "y").astype(np.float64)
    _check_nonneg_labels(ya)
    n = ya.shape[0]
    mua = _broadcast("mu", mu, n)
    if n and float(mua.min()) <= 0.0:
        raise ValueError(f"mu must be > 0; found min(mu) = {float(mua.min()):g}")
    phi = check_scalar(dispersion, "dispersion", low=0.0, low_inclusive=False)
    p = _check_power_open(power)
    w = np.ones(n) if sample_weight is None else _broadcast("sample_weight", sample_weight, n)
    if n and float(w.min()) <= 0.0:
        raise ValueError("sample_weight must be > 0 (a zero prior weight is an infinite dispersion)")
    return _loglik(ya, mua, w, math.log(phi), p)[0]


def sample_tweedie(
    mu: Any, dispersion: float, power: float, *, size: int | None = None, random_state: Any = None
) -> np.ndarray:
    """Draw Tweedie variables with power in (1, 2) exactly, as compound Poisson-Gamma sums.

    ``N ~ Poisson(lambda)`` with ``lambda = mu**(2-p) / (phi (2-p))`` and
    ``Y`` the sum of ``N`` Gamma variables with shape ``(2-p)/(p-1)`` and
    scale ``phi (p-1) mu**(p-1)`` (drawn as one Gamma with shape ``N`` times
    as large, the exact law of the sum), so ``E Y = mu`` and
    ``Var Y = phi mu**p``.

    Parameters
    ----------
    mu : float or array-like of shape (n,)
        Positive means.
    dispersion : float > 0
    power : float in (1, 2)
    size : int, optional
        Number of draws when ``mu`` is a scalar.
    random_state : None, int or numpy.random.Generator

    Returns
    -------
    numpy.ndarray of float64
    """
    # as_float_array makes scalars 1-D; a scalar mean stays a scalar here.
    mua = (np.asarray(check_scalar(mu, "mu")) if np.ndim(mu) == 0
           else as_float_array(mu, "mu").astype(np.float64))
    if mua.size and float(mua.min()) <= 0.0:
        raise ValueError(f"mu must be > 0; found min(mu) = {float(mua.min()):g}")
    if size is not None:
        if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 0:
            raise ValueError(f"size must be a non-negative integer, got {size!r}")
        if mua.ndim != 0:
            raise ValueError("size is for a scalar mu; an array mu gives one draw per entry")
        mua = np.full(int(size), float(mua))
    phi = check_scalar(dispersion, "dispersion", low=0.0, low_inclusive=False)
    p = _check_power_open(power)
    rng = np.random.default_rng(random_state)
    lam = mua ** (2.0 - p) / (phi * (2.0 - p))
    shape = (2.0 - p) / (p - 1.0)
    scale = phi * (p - 1.0) * mua ** (p - 1.0)
    counts = rng.poisson(lam)
    out = np.zeros(np.shape(mua))
    pos = counts > 0
    out[pos] = rng.gamma(shape * counts[pos], scale[pos] if np.ndim(scale) else scale)
    return out
