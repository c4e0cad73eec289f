"""Continuous families on the real line or the positive half-line."""

from __future__ import annotations

import math

import numpy as np
from scipy import special

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
