"""Label domains: the set of labels a loss accepts, as data.

A :class:`Domain` both validates labels (one clear ValueError naming the
problem) and generates valid ones (for tests and benchmarks), so the two can
never disagree.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["Domain", "RealLine", "Interval", "ClassLabels", "Counts"]


class Domain:
    """The labels a loss accepts."""

    def check(self, y: np.ndarray, owner: str) -> None:
        """Raise ValueError naming ``owner`` when a label of the finite float array ``y`` is outside."""

    def contains(self, y: np.ndarray) -> np.ndarray:
        """Boolean mask: which entries of ``y`` lie in the domain."""
        return np.ones(np.shape(y), dtype=bool)

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` labels from the domain (float64), spread over its typical range."""
        raise NotImplementedError

    def __str__(self) -> str:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and vars(self) == vars(other)

    def __hash__(self) -> int:
        return hash((type(self).__name__, str(self)))


class RealLine(Domain):
    """Every finite real number."""

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.normal(0.0, 3.0, n)

    def __str__(self) -> str:
        return "finite real numbers"


class Interval(Domain):
    """Labels between ``low`` and ``high``, each end open or closed; an infinite end is open.

    Parameters
    ----------
    low, high : float
    low_inclusive, high_inclusive : bool, default True
    """

    def __init__(self, low: float, high: float = math.inf, *, low_inclusive: bool = True,
                 high_inclusive: bool = True) -> None:
        if not low < high:
            raise ValueError(f"an interval needs low < high, got [{low}, {high}]")
        self.low, self.high = float(low), float(high)
        self.low_inclusive = bool(low_inclusive) and math.isfinite(self.low)
        self.high_inclusive = bool(high_inclusive) and math.isfinite(self.high)

    def contains(self, y: np.ndarray) -> np.ndarray:
        above = y >= self.low if self.low_inclusive else y > self.low
        below = y <= self.high if self.high_inclusive else y < self.high
        return above & below

    def check(self, y: np.ndarray, owner: str) -> None:
        lo, hi = float(y.min()), float(y.max())
        low_ok = lo >= self.low if self.low_inclusive else lo > self.low
        high_ok = hi <= self.high if self.high_inclusive else hi < self.high
        if low_ok and high_ok:
            return
        if math.isinf(self.high):
            raise ValueError(f"{owner} needs labels {self}; found min(y) = {lo:g}")
        if math.isinf(self.low):
            raise ValueError(f"{owner} needs labels {self}; found max(y) = {hi:g}")
        raise ValueError(f"{owner} needs labels {str(self)[2:]}; found labels in [{lo:g}, {hi:g}]")

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        if math.isinf(self.high):
            if math.isinf(self.low):
                return rng.normal(0.0, 3.0, n)
            # Positive, skewed and with some labels at the closed end, as real
            # claim and count data are.
            y = self.low + rng.gamma(1.5, 1.0, n)
            if self.low_inclusive:
                y[rng.random(n) < 0.2] = self.low
            return y
        y = rng.uniform(self.low, self.high, n)
        # The closed ends themselves are the labels that matter most (hard 0/1 labels).
        ends = [v for v, closed in ((self.low, self.low_inclusive), (self.high, self.high_inclusive)) if closed]
        if ends:
            pick = rng.random(n) < 0.8
            y[pick] = rng.choice(ends, int(pick.sum()))
        return y

    def __str__(self) -> str:
        if math.isinf(self.high):
            return f"y {'>=' if self.low_inclusive else '>'} {self.low:g}"
        if math.isinf(self.low):
            return f"y {'<=' if self.high_inclusive else '<'} {self.high:g}"
        left = "[" if self.low_inclusive else "("
        right = "]" if self.high_inclusive else ")"
        return f"y in {left}{self.low:g}, {self.high:g}{right}"


class ClassLabels(Domain):
    """Integer class labels ``0, 1, ..., num_class - 1``."""

    def __init__(self, num_class: int) -> None:
        self.num_class = int(num_class)

    def contains(self, y: np.ndarray) -> np.ndarray:
        return (y >= 0) & (y < self.num_class) & (y == np.floor(y))

    def check(self, y: np.ndarray, owner: str) -> None:
        lo, hi = float(y.min()), float(y.max())
        if lo < 0 or hi >= self.num_class:
            raise ValueError(
                f"{owner} with num_class={self.num_class} needs labels in [0, {self.num_class}); "
                f"found labels in [{lo:g}, {hi:g}]"
            )
        if np.any(y != np.floor(y)):
            raise ValueError(f"{owner} needs integer class labels; found non-integer values")

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        y = rng.integers(0, self.num_class, n).astype(np.float64)
        # Every class present, so start scores and class shares are finite.
        y[: min(n, self.num_class)] = np.arange(min(n, self.num_class))
        return y

    def __str__(self) -> str:
        return f"integer class labels in [0, {self.num_class})"


class Counts(Domain):
    """Non-negative integers ``0, 1, 2, ...`` (counts)."""

    def contains(self, y: np.ndarray) -> np.ndarray:
        return (y >= 0) & (y == np.floor(y))

    def check(self, y: np.ndarray, owner: str) -> None:
        lo = float(y.min())
        if lo < 0:
            raise ValueError(f"{owner} needs labels {self}; found min(y) = {lo:g}")
        if np.any(y != np.floor(y)):
            bad = float(y[y != np.floor(y)][0])
            raise ValueError(f"{owner} needs labels {self}; found the non-integer label {bad:g}")

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        # Over-dispersed with many zeros, as real claim counts are.
        return rng.poisson(rng.gamma(0.8, 2.5, n)).astype(np.float64)

    def __str__(self) -> str:
        return "non-negative integer counts (0, 1, 2, ...)"
