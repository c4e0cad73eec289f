"""Count families on the non-negative integers."""

from __future__ import annotations

import numpy as np
from scipy import special, stats

from ..domains import Counts
from ..kernels.counts import negative_binomial_logpmf
from ._base import Distribution
from .continuous import _MeanParameter

#: Below this ``dispersion * max(mean, 1)`` the cdf is the Poisson cdf.
_POISSON_CDF = 1e-8


class NegativeBinomial(Distribution):
    """Negative binomial (NB2) distributions with per-row ``mean`` (> 0) and ``dispersion`` (> 0).

    ``Var(Y) = mean + dispersion * mean^2``; in scipy's terms
    ``nbinom(n=1/dispersion, p=1/(1 + dispersion*mean))``. As the dispersion
    tends to 0 it tends to the Poisson distribution with the same mean, and
    the log mass stays finite and exact there (no gamma-function cancellation).
    The parameter array ``mean`` is callable: ``dist.mean()`` is the mean, as
    for every distribution.
    """

    name = "negative_binomial"
    parameter_names = ("mean", "dispersion")
    support = Counts()
    discrete = True

    def __init__(self, mean: np.ndarray, dispersion: np.ndarray) -> None:
        super().__init__(mean=mean, dispersion=dispersion)

    __setattr__ = _MeanParameter.setattr

    def _check(self) -> None:
        self._require_positive("mean", "dispersion")

    @property
    def _mu(self) -> np.ndarray:
        return np.asarray(self.mean)

    def _n_p(self) -> tuple[np.ndarray, np.ndarray]:
        """scipy's (n, p)."""
        return 1.0 / self.dispersion, 1.0 / (1.0 + self.dispersion * self._mu)

    def var(self) -> np.ndarray:
        mu = self._mu
        return mu + self.dispersion * mu * mu

    def _logpdf(self, y):
        out = np.empty(y.shape[0])
        negative_binomial_logpmf(np.ascontiguousarray(y), np.ascontiguousarray(self._mu),
                                 self.dispersion, out)
        return out

    def _cdf(self, y):
        k = np.maximum(np.floor(np.where(np.isfinite(y), y, 0.0)), 0.0)
        n, p = self._n_p()
        mu = self._mu
        # The incomplete beta loses ~eps / dispersion; the Poisson cdf is within
        # ~dispersion * mean of the truth: the better of the two (both < 1e-8 off).
        near_poisson = self.dispersion * np.maximum(mu, 1.0) < _POISSON_CDF
        inside = np.where(near_poisson, special.pdtr(k, mu), special.betainc(n, k + 1.0, p))
        return np.where(y >= 0, np.where(np.isposinf(y), 1.0, inside), 0.0)

    def _prob_zero(self):
        # (1 + alpha mu)^(-1/alpha), -> exp(-mu) as alpha -> 0
        return np.exp(-np.log1p(self.dispersion * self._mu) / self.dispersion)

    def _ppf(self, q):
        n, p = self._n_p()
        inner = (q > 0.0) & (q < 1.0)
        out = np.where(inner, stats.nbinom.ppf(np.where(inner, q, 0.5), n, p), 0.0)
        # scipy's incomplete beta drifts as the dispersion -> 0: settle each quantile on
        # this cdf (the smallest k with cdf(k) >= q), a step either way.
        out = np.where(inner & (self._cdf(out) < q), out + 1.0, out)
        out = np.where(inner & (out > 0) & (self._cdf(np.maximum(out - 1.0, 0.0)) >= q), out - 1.0, out)
        return np.where(q >= 1.0, np.inf, out)

    def _sample(self, n_samples, rng):
        # The gamma-Poisson mixture: Poisson counts around gamma(n, mean / n) rates.
        n = 1.0 / self.dispersion
        rates = rng.gamma(n[:, None], (self._mu / n)[:, None], (len(self), n_samples))
        return rng.poisson(rates).astype(np.float64)
