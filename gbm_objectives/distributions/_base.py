"""The :class:`Distribution` contract: one predictive distribution per row, vectorised."""

from __future__ import annotations

import copy
import math
from typing import Any, ClassVar

import numpy as np

from ..domains import Domain, RealLine

#: Quantile levels of the numeric CRPS grid: even in the bulk, geometric in
#: the tails, where a heavy tail's wide steps would otherwise cost accuracy.
_CRPS_TAIL = np.geomspace(1e-6, 1e-2, 17)[:-1]
_CRPS_LEVELS = np.concatenate([_CRPS_TAIL, np.linspace(0.01, 0.99, 99), (1.0 - _CRPS_TAIL)[::-1]])
#: Simpson panels (two intervals each) between neighbouring knots.
_CRPS_PANELS = 2
#: (row, value) pairs per vectorised call of the numeric methods.
_BLOCK = 1 << 14


class Distribution:
    """``n`` independent distributions, one per row, with vectorised methods.

    A subclass declares ``name``, ``parameter_names`` and ``support`` (a
    :class:`~gbm_objectives.domains.Domain`), passes every parameter to
    ``super().__init__`` as a keyword (stored, validated finite and 1-D,
    as an attribute of the same name), checks their ranges in
    :meth:`_check`, and implements :meth:`_logpdf`, :meth:`_cdf`,
    :meth:`mean` and :meth:`var`. Closed forms of :meth:`_ppf`,
    :meth:`_crps` and :meth:`_sample` replace the numeric defaults where
    they exist. Point masses at zero (hurdle and compound Poisson
    families) set ``has_atom_at_zero`` and implement :meth:`_prob_zero`.

    Every public method validates its argument and returns one value per
    row (or (n, 2) / (n, n_samples) arrays).
    """

    name: ClassVar[str] = ""
    parameter_names: ClassVar[tuple[str, ...]] = ()
    support: ClassVar[Domain] = RealLine()
    #: True when the distribution lives on the integers: :meth:`logpdf` is a log mass.
    discrete: ClassVar[bool] = False
    #: True when ``P(Y = 0) > 0`` for a distribution with a density elsewhere.
    has_atom_at_zero: ClassVar[bool] = False

    def __init__(self, **parameters: Any) -> None:
        names = tuple(parameters)
        if names != self.parameter_names:
            raise TypeError(f"{type(self).__name__} takes the parameters {self.parameter_names}, got {names}")
        arrays = {}
        for key, value in parameters.items():
            try:
                arr = np.asarray(value, dtype=np.float64)
            except (TypeError, ValueError):
                raise ValueError(f"{self.name} parameter {key!r} must be numeric, got {value!r}") from None
            if arr.ndim > 1:
                raise ValueError(f"{self.name} parameter {key!r} must be a number or 1-D, got shape {arr.shape}")
            bad = int(np.count_nonzero(~np.isfinite(arr)))
            if bad:
                raise ValueError(f"{self.name} parameter {key!r} has {bad} non-finite value(s)")
            arrays[key] = np.atleast_1d(arr)
        try:
            shaped = np.broadcast_arrays(*arrays.values())
        except ValueError:
            shapes = {k: v.shape for k, v in arrays.items()}
            raise ValueError(f"{self.name} parameters have mismatched lengths {shapes}") from None
        for key, arr in zip(arrays, shaped):
            setattr(self, key, np.ascontiguousarray(arr))
        self._check()

    # -- parameters ----------------------------------------------------------------
    def _check(self) -> None:
        """Raise ValueError for parameters outside their range (a scale <= 0, ...)."""

    def _require_positive(self, *names: str) -> None:
        for key in names:
            arr = getattr(self, key)
            if arr.size and float(arr.min()) <= 0.0:
                raise ValueError(f"{self.name} parameter {key!r} must be > 0; found {float(arr.min()):g}")

    @property
    def parameters(self) -> dict[str, np.ndarray]:
        """Every parameter, one value per row."""
        return {key: getattr(self, key) for key in self.parameter_names}

    def to_array(self) -> np.ndarray:
        """The parameters as an (n, k) array, columns in ``parameter_names`` order."""
        return np.column_stack([getattr(self, key) for key in self.parameter_names])

    def __len__(self) -> int:
        return int(getattr(self, self.parameter_names[0]).shape[0])

    def __getitem__(self, index: Any) -> Distribution:
        """The distributions of the selected rows (a slice, mask or index array)."""
        out = copy.copy(self)
        for key in self.parameter_names:
            setattr(out, key, np.atleast_1d(getattr(self, key)[index]))
        return out

    def __repr__(self) -> str:
        n = len(self)
        if n == 1:
            args = ", ".join(f"{k}={float(v[0]):.6g}" for k, v in self.parameters.items())
            return f"{type(self).__name__}({args})"
        return f"{type(self).__name__}(<{n} rows>)"

    # -- argument checks -------------------------------------------------------------
    def _rows(self, value: Any, what: str) -> np.ndarray:
        try:
            arr = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError):
            raise ValueError(f"{what} must be numeric, got {value!r}") from None
        n = len(self)
        if arr.ndim == 0:
            arr = np.full(n, float(arr))
        if arr.shape != (n,):
            raise ValueError(f"{what} must be a number or have one value per row ({n}), got shape {arr.shape}")
        if np.isnan(arr).any():
            raise ValueError(f"{what} contains NaN")
        return arr

    def _levels(self, q: Any, what: str = "q") -> np.ndarray:
        arr = self._rows(q, what)
        if float(arr.min()) < 0.0 or float(arr.max()) > 1.0:
            raise ValueError(f"{what} must lie in [0, 1]; found values in [{arr.min():g}, {arr.max():g}]")
        return arr

    # -- public methods --------------------------------------------------------------
    def mean(self) -> np.ndarray:
        """The mean of every row's distribution."""
        raise NotImplementedError

    def var(self) -> np.ndarray:
        """The variance of every row's distribution (inf where it does not exist)."""
        raise NotImplementedError

    def std(self) -> np.ndarray:
        """The standard deviation of every row's distribution."""
        return np.sqrt(self.var())

    def logpdf(self, y: Any) -> np.ndarray:
        """Log density at ``y`` (log mass for counts and for a point mass at zero); -inf outside the support.

        Parameters
        ----------
        y : float or array of shape (n,)
            One value for every row, or one value per row.
        """
        arr = self._rows(y, "y")
        out = np.full(arr.shape[0], -np.inf)
        inside = np.isfinite(arr) & self.support.contains(arr)
        if inside.any():
            out[inside] = self[inside]._logpdf(arr[inside])
        return out

    def pdf(self, y: Any) -> np.ndarray:
        """Density (or mass) at ``y``: ``exp(logpdf(y))``."""
        return np.exp(self.logpdf(y))

    def cdf(self, y: Any) -> np.ndarray:
        """``P(Y <= y)`` for every row."""
        arr = self._rows(y, "y")
        return np.clip(self._cdf(arr), 0.0, 1.0)

    def ppf(self, q: Any) -> np.ndarray:
        """The quantile at level ``q`` (the smallest ``y`` with ``cdf(y) >= q``).

        Parameters
        ----------
        q : float or array of shape (n,)
            Levels in [0, 1].
        """
        return self._ppf(self._levels(q))

    def interval(self, coverage: float = 0.9) -> np.ndarray:
        """Central intervals: columns ``ppf((1 - coverage) / 2)`` and ``ppf((1 + coverage) / 2)``.

        Parameters
        ----------
        coverage : float in (0, 1), default 0.9

        Returns
        -------
        array of shape (n, 2)
        """
        if isinstance(coverage, bool) or not isinstance(coverage, (int, float, np.integer, np.floating)) \
                or not 0.0 < float(coverage) < 1.0:
            raise ValueError(f"coverage must be a number in (0, 1), got {coverage!r}")
        c = float(coverage)
        return np.column_stack([self.ppf((1.0 - c) / 2.0), self.ppf((1.0 + c) / 2.0)])

    def prob_zero(self) -> np.ndarray:
        """``P(Y = 0)`` for every row (0 for continuous distributions without a point mass at zero)."""
        if self.discrete or self.has_atom_at_zero:
            return self._prob_zero()
        return np.zeros(len(self))

    def sample(self, n_samples: int = 1, random_state: Any = None) -> np.ndarray:
        """Random draws, ``n_samples`` per row.

        Parameters
        ----------
        n_samples : int >= 1, default 1
        random_state : None, int or numpy Generator

        Returns
        -------
        array of shape (n, n_samples)
        """
        if isinstance(n_samples, bool) or not isinstance(n_samples, (int, np.integer)) or n_samples < 1:
            raise ValueError(f"n_samples must be an integer >= 1, got {n_samples!r}")
        rng = np.random.default_rng(random_state)
        return self._sample(int(n_samples), rng)

    def crps(self, y: Any) -> np.ndarray:
        """Continuous ranked probability score of every row at its observation (lower is better).

        ``CRPS(F, y) = integral (F(t) - 1{t >= y})^2 dt``, in the units of
        ``y``: closed forms where known, numeric integration otherwise.
        """
        arr = self._rows(y, "y")
        if not np.all(np.isfinite(arr)):
            raise ValueError("y contains infinite values")
        return self._crps(arr)

    # -- what subclasses implement or override ---------------------------------------------
    def _logpdf(self, y: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _cdf(self, y: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _prob_zero(self) -> np.ndarray:
        return np.clip(self._cdf(np.zeros(len(self))), 0.0, 1.0)

    def _ppf(self, q: np.ndarray) -> np.ndarray:
        """Quantiles by bisection on :meth:`_cdf` (integers for discrete distributions)."""
        n = len(self)
        mean, sd = self.mean(), self.std()
        sd = np.where(np.isfinite(sd) & (sd > 0), sd, np.maximum(np.abs(mean), 1.0))
        floor = self._support_low()
        lo = np.maximum(mean - 4.0 * sd, floor) if math.isfinite(floor) else mean - 4.0 * sd
        hi = mean + 4.0 * sd
        # Levels 0 and 1 are the ends of the support (set last): no finite
        # bracket holds them, so they take no part in the search.
        inner = (q > 0.0) & (q < 1.0)
        # Widen each bracket until it holds the level.
        for _ in range(200):
            low_bad = (self._cdf(lo) >= q) & inner
            if math.isfinite(floor):
                low_bad &= lo > floor
            high_bad = (self._cdf(hi) < q) & inner
            if not (low_bad.any() or high_bad.any()):
                break
            width = hi - lo + 1.0
            lo = np.where(low_bad, lo - width, lo)
            if math.isfinite(floor):
                lo = np.maximum(lo, floor)
            hi = np.where(high_bad, hi + 2.0 * width, hi)
        at_floor = math.isfinite(floor) & (self._cdf(np.full(n, floor)) >= q)
        if self.discrete:
            lo, hi = np.floor(lo), np.ceil(hi)
            for _ in range(128):
                active = hi - lo > 1.0
                if not active.any():
                    break
                mid = np.floor((lo + hi) / 2.0)
                below = self._cdf(mid) < q
                lo = np.where(active & below, mid, lo)
                hi = np.where(active & ~below, mid, hi)
            out = hi
        else:
            for _ in range(100):
                mid = 0.5 * (lo + hi)
                below = self._cdf(mid) < q
                lo = np.where(below, mid, lo)
                hi = np.where(below, hi, mid)
                if np.all(hi - lo <= 1e-12 * np.maximum(1.0, np.abs(hi))):
                    break
            out = 0.5 * (lo + hi)
        out = np.where(at_floor, floor, out) if math.isfinite(floor) else out
        out = np.where(q <= 0.0, floor, out)
        return np.where(q >= 1.0, self._support_high(), out)

    def _support_low(self) -> float:
        low = getattr(self.support, "low", -math.inf)
        return 0.0 if self.discrete else float(low)

    def _support_high(self) -> float:
        return float(getattr(self.support, "high", math.inf))

    def _sample(self, n_samples: int, rng: np.random.Generator) -> np.ndarray:
        """Draws by inverting the cdf at uniform levels."""
        u = rng.random((n_samples, len(self)))
        # A level of exactly 0 would draw the lower end of the support (-inf on the real line).
        u = np.maximum(u, np.finfo(np.float64).tiny)
        return self._by_row(type(self)._ppf, u.T)

    def _by_row(self, method: Any, values: np.ndarray) -> np.ndarray:
        """``method`` (an unbound ``_cdf`` or ``_ppf``) at an (n, m) array, row i under row i's distribution.

        The numeric methods bisect or integrate; one call over many
        (row, value) pairs replaces m calls over n rows, and blocks of rows
        bound the memory of the repeated parameters.
        """
        n, m = values.shape
        out = np.empty((n, m))
        block = max(1, _BLOCK // max(m, 1))
        for start in range(0, n, block):
            stop = min(n, start + block)
            part = self[np.repeat(np.arange(start, stop), m)]
            out[start:stop] = method(part, values[start:stop].reshape(-1)).reshape(stop - start, m)
        return out

    def _crps(self, y: np.ndarray) -> np.ndarray:
        """Numeric CRPS: the integral over a grid of quantiles (and the observation), refined.

        Below the lower end of the support ``F = 0``, so that stretch adds
        ``max(0, low - y)`` exactly; a point mass at the lower end is the
        cdf's value there, its right limit.
        """
        n = len(self)
        floor = self._support_low()
        below_support = np.maximum(floor - y, 0.0) if math.isfinite(floor) else np.zeros(n)
        if self.discrete:
            # F is constant on [k, k + 1): each such step adds F(k)^2 over its
            # part left of y and (F(k) - 1)^2 over the rest.
            top = np.maximum(self._ppf(np.full(n, 1.0 - 1e-10)), np.ceil(y))
            total = below_support
            for k in range(int(floor), int(top.max()) + 1):
                f = self._cdf(np.full(n, float(k)))
                left_of_y = np.clip(y - k, 0.0, 1.0)
                total = total + left_of_y * f * f + (1.0 - left_of_y) * (f - 1.0) ** 2
            return total
        y_knot = np.maximum(y, floor) if math.isfinite(floor) else y
        knots = np.column_stack([self._by_row(type(self)._ppf, np.tile(_CRPS_LEVELS, (n, 1))), y_knot])
        if math.isfinite(floor):
            knots = np.column_stack([np.full(n, floor), knots])
        knots.sort(axis=1)
        # Simpson's rule on each knot interval, where the integrand is smooth
        # (y is a knot, so each interval lies on one side of the step 1{t >= y}).
        m = 2 * _CRPS_PANELS
        steps = np.arange(m) / m
        grid = (knots[:, :-1, None] + (knots[:, 1:, None] - knots[:, :-1, None]) * steps).reshape(n, -1)
        grid = np.column_stack([grid, knots[:, -1]])
        f = self._by_row(type(self)._cdf, grid)
        n_intervals = knots.shape[1] - 1
        f = f[:, m * np.arange(n_intervals)[:, None] + np.arange(m + 1)]
        step = (knots[:, :-1] >= y[:, None])[:, :, None]
        weights = np.ones(m + 1)
        weights[1:-1:2], weights[2:-1:2] = 4.0, 2.0
        h = np.diff(knots, axis=1) / (3.0 * m)
        # Beyond the extreme levels (1e-6) the integral is negligible and left out.
        return below_support + (h * (((f - step) ** 2) @ weights)).sum(axis=1)
