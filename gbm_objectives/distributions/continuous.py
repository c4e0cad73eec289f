"""Continuous families on the real line or the positive half-line."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import special

from ..domains import Interval
from ..kernels._common import MAX_EXP_ARG
from ..kernels.families import gamma_shape_logpdf, student_t_logpdf
from ._base import Distribution

_SQRT_PI = math.sqrt(math.pi)


class Normal(Distribution):
    """Normal distributions with per-row ``loc`` (mean) and ``scale`` (standard deviation > 0)."""

    name = "normal"
    parameter_names = ("loc", "scale")

    def __init__(self, loc: np.ndarray, scale: np.ndarray) -> None:
        super().__init__(loc=loc, scale=scale)

    def _check(self) -> None:
        self._require_positive("scale")

    def mean(self) -> np.ndarray:
        return self.loc.copy()

    def var(self) -> np.ndarray:
        return self.scale**2

    def _logpdf(self, y):
        z = (y - self.loc) / self.scale
        return -0.5 * z * z - np.log(self.scale) - 0.5 * math.log(2.0 * math.pi)

    def _cdf(self, y):
        return special.ndtr((y - self.loc) / self.scale)

    def _ppf(self, q):
        return self.loc + self.scale * special.ndtri(q)

    def _sample(self, n_samples, rng):
        return rng.normal(self.loc[:, None], self.scale[:, None], (len(self), n_samples))

    def _crps(self, y):
        # Gneiting & Raftery (2007), eq. 21.
        z = (y - self.loc) / self.scale
        pdf = np.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)
        return self.scale * (z * (2.0 * special.ndtr(z) - 1.0) + 2.0 * pdf - 1.0 / _SQRT_PI)


class LogNormal(Distribution):
    """Lognormal distributions: ``log(Y)`` is normal with per-row ``meanlog`` and ``sdlog`` (> 0)."""

    name = "lognormal"
    parameter_names = ("meanlog", "sdlog")
    support = Interval(0.0, low_inclusive=False)

    def __init__(self, meanlog: np.ndarray, sdlog: np.ndarray) -> None:
        super().__init__(meanlog=meanlog, sdlog=sdlog)

    def _check(self) -> None:
        self._require_positive("sdlog")

    def mean(self) -> np.ndarray:
        """``exp(meanlog + sdlog^2 / 2)``, capped at ``exp(700)`` (~1e304) as log-link predictions are."""
        with np.errstate(over="ignore"):
            return np.exp(np.minimum(self.meanlog + 0.5 * self.sdlog**2, MAX_EXP_ARG))

    def var(self) -> np.ndarray:
        """``(exp(sdlog^2) - 1) exp(2 meanlog + sdlog^2)`` (inf where that overflows)."""
        s2 = self.sdlog**2
        with np.errstate(over="ignore"):
            return np.expm1(s2) * np.exp(2.0 * self.meanlog + s2)

    def _logpdf(self, y):
        log_y = np.log(y)
        z = (log_y - self.meanlog) / self.sdlog
        return -0.5 * z * z - np.log(self.sdlog) - 0.5 * math.log(2.0 * math.pi) - log_y

    def _cdf(self, y):
        positive = y > 0
        z = (np.log(np.where(positive, y, 1.0)) - self.meanlog) / self.sdlog
        return np.where(positive, special.ndtr(z), 0.0)

    def _ppf(self, q):
        with np.errstate(over="ignore"):
            return np.exp(self.meanlog + self.sdlog * special.ndtri(q))

    def _sample(self, n_samples, rng):
        return rng.lognormal(self.meanlog[:, None], self.sdlog[:, None], (len(self), n_samples))

    def _crps(self, y):
        # Baran & Lerch (2015), eq. 5; below the support Phi(z) = Phi(z - sdlog) = 0.
        s = self.sdlog
        positive = y > 0
        z = np.where(positive, (np.log(np.where(positive, y, 1.0)) - self.meanlog) / s, -np.inf)
        with np.errstate(over="ignore"):
            mean = np.exp(self.meanlog + 0.5 * s * s)
        spread = special.ndtr(z - s) + special.ndtr(s / math.sqrt(2.0)) - 1.0
        return y * (2.0 * special.ndtr(z) - 1.0) - 2.0 * mean * spread


class StudentT(Distribution):
    """Student-t distributions with per-row ``loc``, ``scale`` (> 0) and degrees of freedom ``df`` (> 0).

    The mean is ``loc`` where ``df > 1`` and does not exist (NaN) otherwise;
    the variance is ``scale^2 df / (df - 2)`` where ``df > 2``, else inf.
    Distributions from the ``student_t`` loss always have ``df > 1``.
    """

    name = "student_t"
    parameter_names = ("loc", "scale", "df")

    def __init__(self, loc: np.ndarray, scale: np.ndarray, df: np.ndarray) -> None:
        super().__init__(loc=loc, scale=scale, df=df)

    def _check(self) -> None:
        self._require_positive("scale", "df")

    def mean(self) -> np.ndarray:
        return np.where(self.df > 1.0, self.loc, np.nan)

    def var(self) -> np.ndarray:
        df = self.df
        return np.where(df > 2.0, self.scale**2 * df / np.where(df > 2.0, df - 2.0, 1.0), np.inf)

    def _logpdf(self, y):
        out = np.empty(y.shape[0])
        student_t_logpdf(np.ascontiguousarray(y), self.loc, self.scale, self.df, out)
        return out

    def _cdf(self, y):
        return special.stdtr(self.df, (y - self.loc) / self.scale)

    def _ppf(self, q):
        return self.loc + self.scale * special.stdtrit(self.df, q)

    def _sample(self, n_samples, rng):
        draws = rng.standard_t(self.df[:, None], (len(self), n_samples))
        return self.loc[:, None] + self.scale[:, None] * draws

    def _crps(self, y):
        # Jordan, Krueger & Lerch (2019, scoringRules), for df > 1; the CRPS is
        # infinite where the mean does not exist.
        df = self.df
        ok = df > 1.0
        nu = np.where(ok, df, 2.0)
        z = (y - self.loc) / self.scale
        pdf = np.exp(-0.5 * (nu + 1.0) * np.log1p(z * z / nu) - special.betaln(0.5, 0.5 * nu) - 0.5 * np.log(nu))
        log_beta = special.betaln(0.5, nu - 0.5) - 2.0 * special.betaln(0.5, 0.5 * nu)
        spread = 2.0 * np.sqrt(nu) / (nu - 1.0) * np.exp(log_beta)
        value = z * (2.0 * special.stdtr(nu, z) - 1.0) + 2.0 * pdf * (nu + z * z) / (nu - 1.0) - spread
        return np.where(ok, self.scale * value, np.inf)


class _MeanParameter(np.ndarray):
    """A ``mean`` parameter that is also the contract's ``mean()`` method (it returns a plain copy).

    Families whose parameter is called ``mean`` set ``__setattr__ = _MeanParameter.setattr``.
    """

    def __call__(self) -> np.ndarray:
        return np.array(self, dtype=np.float64)

    @staticmethod
    def setattr(dist: Distribution, key: str, value: Any) -> None:
        if key == "mean":
            value = np.ascontiguousarray(value, dtype=np.float64).view(_MeanParameter)
        object.__setattr__(dist, key, value)


class Gamma(Distribution):
    """Gamma distributions with per-row ``mean`` (> 0) and ``shape`` (> 0).

    The scale is ``mean / shape`` and the variance ``mean^2 / shape``; in
    scipy's terms ``gamma(a=shape, scale=mean/shape)``. The parameter array
    ``mean`` is callable: ``dist.mean()`` is the mean, as for every distribution.
    """

    name = "gamma"
    parameter_names = ("mean", "shape")
    support = Interval(0.0, low_inclusive=False)
    __setattr__ = _MeanParameter.setattr

    def __init__(self, mean: np.ndarray, shape: np.ndarray) -> None:
        super().__init__(mean=mean, shape=shape)

    def _check(self) -> None:
        self._require_positive("mean", "shape")

    @property
    def _mu(self) -> np.ndarray:
        return np.asarray(self.mean)

    def var(self) -> np.ndarray:
        return self._mu**2 / self.shape

    def _logpdf(self, y):
        out = np.empty(y.shape[0])
        gamma_shape_logpdf(np.ascontiguousarray(y), np.ascontiguousarray(self._mu), self.shape, out)
        return out

    def _cdf(self, y):
        return np.where(y > 0, special.gammainc(self.shape, np.maximum(y, 0.0) * self.shape / self._mu), 0.0)

    def _ppf(self, q):
        return special.gammaincinv(self.shape, q) * self._mu / self.shape

    def _sample(self, n_samples, rng):
        return rng.gamma(self.shape[:, None], (self._mu / self.shape)[:, None], (len(self), n_samples))

    def _crps(self, y):
        # Scheuerer & Moeller (2015): y (2 F_k(y) - 1) - k theta (2 F_{k+1}(y) - 1) - theta / B(1/2, k),
        # F_a the gamma cdf of shape a and scale theta; below the support F = 0.
        k, theta = self.shape, self._mu / self.shape
        x = np.maximum(y, 0.0) / theta
        f_k, f_k1 = special.gammainc(k, x), special.gammainc(k + 1.0, x)
        return y * (2.0 * f_k - 1.0) - k * theta * (2.0 * f_k1 - 1.0) - theta * np.exp(-special.betaln(0.5, k))
