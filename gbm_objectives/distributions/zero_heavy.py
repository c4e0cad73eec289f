"""Zero-heavy families: a point mass at zero and a density on the positive half-line, or zero-inflated counts."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import special, stats

from .._validation import check_scalar
from ..domains import Counts, Interval
from ..kernels.tweedie_series import tweedie_dispersion_logpdf
from ._base import Distribution

#: Poisson counts more than this many standard deviations from the rate add nothing in float64.
_POISSON_SPAN = 12.0
#: (row, count) pairs the Tweedie cdf evaluates per block.
_CDF_BLOCK = 1 << 20
#: log of the largest float64: moments beyond it are reported as that maximum.
_LOG_FLOAT_MAX = math.log(np.finfo(np.float64).max)


def check_tweedie_power(power: Any) -> float:
    """The Tweedie power, a number strictly between 1 and 2 (ValueError otherwise)."""
    p = check_scalar(power, "power")
    if not 1.0 < p < 2.0:
        raise ValueError(
            f"power must be strictly between 1 and 2 for the compound Poisson-gamma likelihood, got {p:g} "
            "(power 1 is Poisson, with mass only on multiples of the dispersion; 2 is gamma, with no zeros)")
    return p


class _ProbPositive(Distribution):
    """Shared checks of the hurdle families: ``prob_positive`` in [0, 1]."""

    support = Interval(0.0)
    has_atom_at_zero = True

    def _check_prob(self) -> None:
        pi = self.prob_positive
        if pi.size and (float(pi.min()) < 0.0 or float(pi.max()) > 1.0):
            raise ValueError(f"{self.name} parameter 'prob_positive' must lie in [0, 1]; "
                             f"found values in [{float(pi.min()):g}, {float(pi.max()):g}]")

    def _prob_zero(self) -> np.ndarray:
        return 1.0 - self.prob_positive

    def _mix_logpdf(self, y: np.ndarray, log_positive_density: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore"):
            return np.where(y > 0.0, np.log(self.prob_positive) + log_positive_density,
                            np.log1p(-self.prob_positive))

    def _mix_cdf(self, y: np.ndarray, positive_cdf: np.ndarray) -> np.ndarray:
        return np.where(y < 0.0, 0.0, 1.0 - self.prob_positive + self.prob_positive * positive_cdf)

    def _positive_level(self, q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Rows whose level lies above the mass at zero, and that level within the positive part."""
        zero = 1.0 - self.prob_positive
        above = q > zero
        level = np.where(above, (q - zero) / np.where(self.prob_positive > 0, self.prob_positive, 1.0), 0.5)
        return above, np.clip(level, 0.0, 1.0)


class HurdleGammaDistribution(_ProbPositive):
    """Hurdle gamma: ``P(Y > 0) = prob_positive``; positive values gamma with ``positive_mean`` and ``shape``.

    The positive part has density ``y^(k-1) exp(-k y / m) (k / m)^k / Gamma(k)``
    (``k = shape``, ``m = positive_mean = E[Y | Y > 0]``); the overall mean is
    ``prob_positive * positive_mean``.
    """

    name = "hurdle_gamma"
    parameter_names = ("prob_positive", "positive_mean", "shape")

    def __init__(self, prob_positive: np.ndarray, positive_mean: np.ndarray, shape: np.ndarray) -> None:
        super().__init__(prob_positive=prob_positive, positive_mean=positive_mean, shape=shape)

    def _check(self) -> None:
        self._check_prob()
        self._require_positive("positive_mean", "shape")

    def mean(self) -> np.ndarray:
        return self.prob_positive * self.positive_mean

    def var(self) -> np.ndarray:
        mu, pi = self.positive_mean, self.prob_positive
        return pi * mu * mu * (1.0 / self.shape + 1.0 - pi)

    def _logpdf(self, y):
        k, mu = self.shape, self.positive_mean
        yp = np.where(y > 0.0, y, 1.0)
        log_g = k * np.log(k / mu) + (k - 1.0) * np.log(yp) - k * yp / mu - special.gammaln(k)
        return self._mix_logpdf(y, log_g)

    def _cdf(self, y):
        k, mu = self.shape, self.positive_mean
        return self._mix_cdf(y, special.gammainc(k, np.maximum(y, 0.0) * k / mu))

    def _ppf(self, q):
        above, level = self._positive_level(q)
        k, mu = self.shape, self.positive_mean
        return np.where(above, special.gammaincinv(k, level) * mu / k, 0.0)

    def _sample(self, n_samples, rng):
        n = len(self)
        k, mu = self.shape[:, None], self.positive_mean[:, None]
        positive = rng.random((n, n_samples)) < self.prob_positive[:, None]
        return np.where(positive, rng.gamma(k, mu / k, (n, n_samples)), 0.0)


class HurdleLognormalDistribution(_ProbPositive):
    """Hurdle lognormal: ``P(Y > 0) = prob_positive``; ``log Y`` given ``Y > 0`` is normal(``meanlog``, ``sdlog``)."""

    name = "hurdle_lognormal"
    parameter_names = ("prob_positive", "meanlog", "sdlog")

    def __init__(self, prob_positive: np.ndarray, meanlog: np.ndarray, sdlog: np.ndarray) -> None:
        super().__init__(prob_positive=prob_positive, meanlog=meanlog, sdlog=sdlog)

    def _check(self) -> None:
        self._check_prob()
        self._require_positive("sdlog")

    def mean(self) -> np.ndarray:
        return self.prob_positive * self._exp_moment(1.0)

    def var(self) -> np.ndarray:
        pi = self.prob_positive
        return pi * self._exp_moment(2.0) - (pi * self._exp_moment(1.0)) ** 2

    def _exp_moment(self, order: float) -> np.ndarray:
        """``E[Y^order | Y > 0]``, capped at the float64 maximum where it overflows."""
        with np.errstate(over="ignore"):
            log_moment = order * self.meanlog + 0.5 * order * order * self.sdlog**2
        return np.exp(np.minimum(log_moment, _LOG_FLOAT_MAX))

    def _logpdf(self, y):
        log_y = np.log(np.where(y > 0.0, y, 1.0))
        z = (log_y - self.meanlog) / self.sdlog
        log_g = -0.5 * z * z - np.log(self.sdlog) - log_y - 0.5 * math.log(2.0 * math.pi)
        return self._mix_logpdf(y, log_g)

    def _cdf(self, y):
        with np.errstate(divide="ignore"):
            z = (np.log(np.maximum(y, 0.0)) - self.meanlog) / self.sdlog
        return self._mix_cdf(y, special.ndtr(z))

    def _ppf(self, q):
        above, level = self._positive_level(q)
        return np.where(above, np.exp(self.meanlog + self.sdlog * special.ndtri(level)), 0.0)

    def _sample(self, n_samples, rng):
        n = len(self)
        positive = rng.random((n, n_samples)) < self.prob_positive[:, None]
        draws = np.exp(rng.normal(self.meanlog[:, None], self.sdlog[:, None], (n, n_samples)))
        return np.where(positive, draws, 0.0)


class TweedieDistribution(Distribution):
    """Tweedie (compound Poisson-gamma) with per-row mean ``mu`` and ``dispersion``, fixed ``power`` in (1, 2).

    ``E Y = mu`` and ``Var Y = dispersion * mu^power``. ``Y`` is the sum of
    ``N ~ Poisson(lambda)`` gamma variables with
    ``lambda = mu^(2-p) / (dispersion (2-p))``, shape ``(2-p)/(p-1)`` and
    scale ``dispersion (p-1) mu^(p-1)``, so
    ``P(Y = 0) = exp(-lambda)``. The log-density is the Dunn-Smyth series
    (:mod:`gbm_objectives.kernels.tweedie_series`), the same code as the
    ``tweedie_dispersion`` loss. ``ppf`` and ``crps`` invert and integrate
    the cdf (a Poisson-weighted sum of gamma cdfs) numerically: ``crps``
    costs about 15 ms per row.

    Parameters
    ----------
    mu, dispersion : array of shape (n,), > 0
    power : float in (1, 2), default 1.5
    """

    name = "tweedie"
    parameter_names = ("mu", "dispersion")
    support = Interval(0.0)
    has_atom_at_zero = True

    def __init__(self, mu: np.ndarray, dispersion: np.ndarray, power: float = 1.5) -> None:
        self.power = check_tweedie_power(power)
        super().__init__(mu=mu, dispersion=dispersion)

    def _check(self) -> None:
        self._require_positive("mu", "dispersion")

    def __repr__(self) -> str:
        return super().__repr__()[:-1] + f", power={self.power:g})"

    def _rate(self) -> np.ndarray:
        p = self.power
        return self.mu ** (2.0 - p) / (self.dispersion * (2.0 - p))

    def _gamma_shape_scale(self) -> tuple[float, np.ndarray]:
        p = self.power
        return (2.0 - p) / (p - 1.0), self.dispersion * (p - 1.0) * self.mu ** (p - 1.0)

    def mean(self) -> np.ndarray:
        return self.mu.copy()

    def var(self) -> np.ndarray:
        return self.dispersion * self.mu ** self.power

    def _prob_zero(self) -> np.ndarray:
        return np.exp(-self._rate())

    def _logpdf(self, y):
        out = np.empty(y.shape[0])
        tweedie_dispersion_logpdf(np.ascontiguousarray(y, dtype=np.float64), self.mu,
                                  self.dispersion, self.power, out)
        return out

    def _cdf(self, y):
        # P(0) + sum_n Poisson(n; lambda) GammaCDF(y; n a, scale), over the counts that carry mass.
        lam = self._rate()
        a, scale = self._gamma_shape_scale()
        x = np.maximum(y, 0.0) / scale
        sd = np.sqrt(lam)
        n_lo = np.maximum(1.0, np.floor(lam - _POISSON_SPAN * sd - 5.0))
        n_hi = np.ceil(lam + _POISSON_SPAN * sd + 15.0)
        width = int((n_hi - n_lo).max()) + 1
        total = np.exp(-lam)
        # Rows in blocks of at most _CDF_BLOCK (row, count) pairs, each block in one call.
        step = max(1, _CDF_BLOCK // width)
        offsets = np.arange(width, dtype=np.float64)
        for start in range(0, lam.shape[0], step):
            rows = slice(start, start + step)
            n = n_lo[rows, None] + offsets
            log_pmf = n * np.log(lam[rows, None]) - lam[rows, None] - special.gammaln(n + 1.0)
            terms = np.exp(log_pmf) * special.gammainc(n * a, x[rows, None])
            total[rows] += np.where(n <= n_hi[rows, None], terms, 0.0).sum(axis=1)
        return np.where(y < 0.0, 0.0, total)

    def _sample(self, n_samples, rng):
        n = len(self)
        a, scale = self._gamma_shape_scale()
        counts = rng.poisson(np.repeat(self._rate()[:, None], n_samples, axis=1))
        out = np.zeros((n, n_samples))
        pos = counts > 0
        out[pos] = rng.gamma(a * counts[pos], np.broadcast_to(scale[:, None], (n, n_samples))[pos])
        return out


class ZeroInflatedPoissonDistribution(Distribution):
    """Zero-inflated Poisson: a structural zero with probability ``zero_inflation``, else Poisson(``rate``).

    ``P(Y = 0) = pi + (1 - pi) e^-rate`` and ``P(Y = y) = (1 - pi) Poisson(y; rate)``
    for ``y >= 1`` (``pi = zero_inflation``); the mean is ``(1 - pi) rate``.
    """

    name = "zero_inflated_poisson"
    parameter_names = ("zero_inflation", "rate")
    support = Counts()
    discrete = True

    def __init__(self, zero_inflation: np.ndarray, rate: np.ndarray) -> None:
        super().__init__(zero_inflation=zero_inflation, rate=rate)

    def _check(self) -> None:
        pi = self.zero_inflation
        if pi.size and (float(pi.min()) < 0.0 or float(pi.max()) > 1.0):
            raise ValueError(f"{self.name} parameter 'zero_inflation' must lie in [0, 1]; "
                             f"found values in [{float(pi.min()):g}, {float(pi.max()):g}]")
        self._require_positive("rate")

    def mean(self) -> np.ndarray:
        return (1.0 - self.zero_inflation) * self.rate

    def var(self) -> np.ndarray:
        pi, lam = self.zero_inflation, self.rate
        return (1.0 - pi) * lam * (1.0 + pi * lam)

    def _prob_zero(self) -> np.ndarray:
        pi = self.zero_inflation
        return pi + (1.0 - pi) * np.exp(-self.rate)

    def _logpdf(self, y):
        pi, lam = self.zero_inflation, self.rate
        with np.errstate(divide="ignore"):
            positive = np.log1p(-pi) + special.xlogy(y, lam) - lam - special.gammaln(y + 1.0)
            return np.where(y > 0.0, positive, np.log(self._prob_zero()))

    def _cdf(self, y):
        pi = self.zero_inflation
        k = np.floor(np.maximum(y, 0.0))
        return np.where(y < 0.0, 0.0, pi + (1.0 - pi) * special.pdtr(k, self.rate))

    def _ppf(self, q):
        pi = self.zero_inflation
        above = q > self._prob_zero()
        level = np.clip((q - pi) / np.where(pi < 1.0, 1.0 - pi, 1.0), 0.0, 1.0)
        # The smallest k with pdtr(k, rate) >= level: scipy's Poisson quantile.
        return np.where(above, stats.poisson.ppf(level, self.rate), 0.0)

    def _sample(self, n_samples, rng):
        n = len(self)
        structural = rng.random((n, n_samples)) < self.zero_inflation[:, None]
        counts = rng.poisson(np.repeat(self.rate[:, None], n_samples, axis=1)).astype(np.float64)
        return np.where(structural, 0.0, counts)
