"""Example data for any registered loss, read from its declared facts.

The test suite, the benchmarks and CONTRIBUTING.md's recipe draw labels here,
so a new loss gets realistic data from its ``task``, ``label_domain`` and
``link`` alone, without a generator of its own.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .domains import Interval, RealLine
from .losses import Loss, as_loss

__all__ = ["example_labels", "example_margins"]


def _check_rows(n: Any) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    return int(n)


def example_labels(
    loss: Loss | str,
    rng: np.random.Generator,
    n: int,
    *,
    signal: np.ndarray | None = None,
    group_size: int = 10,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Labels in the loss's domain, following ``signal`` where one is given.

    Parameters
    ----------
    loss : Loss or str
    rng : numpy.random.Generator
    n : int
        Rows (rounded down to whole groups for grouped losses, at least one group).
    signal : array of shape (n,), optional
        A margin-scale signal the labels depend on (e.g. a function of
        features): class by thresholds, probability by the logistic, mean by
        ``exp`` for positive domains, location for real labels.
    group_size : int, default 10
        Rows per group for grouped losses.

    Returns
    -------
    y : float64 array
    group : int array of group sizes, or None for losses without groups
        Every group holds a positive label.
    """
    loss = as_loss(loss)
    n = _check_rows(n)
    if signal is not None:
        signal = np.asarray(signal, dtype=np.float64)
        if signal.shape != (n,) or not np.all(np.isfinite(signal)):
            raise ValueError(f"signal must be {n} finite values, got shape {signal.shape}")
    s = np.zeros(n) if signal is None else signal
    if loss.needs_group:
        groups = max(1, n // group_size)
        y = (rng.random(groups * group_size) < 0.3).astype(np.float64)
        y[::group_size] = np.maximum(y[::group_size], 1.0)
        return y, np.full(groups, group_size, dtype=np.int64)
    if loss.task == "multiclass":
        k = loss.n_outputs
        cuts = np.quantile(s + rng.normal(0.0, 0.5, n), np.linspace(0, 1, k + 1)[1:-1]) if signal is not None else None
        y = (np.digitize(s + rng.normal(0.0, 0.5, n), cuts) if cuts is not None else rng.integers(0, k, n))
        y = y.astype(np.float64)
        y[: min(n, k)] = np.arange(min(n, k))
        return y, None
    if loss.task == "binary":
        return (rng.random(n) < 1.0 / (1.0 + np.exp(-2.0 * s))).astype(np.float64), None
    domain = loss.label_domain
    if isinstance(domain, RealLine):
        return 3.0 + 2.0 * s + rng.normal(size=n), None
    if isinstance(domain, Interval) and domain.low == 0.0 and math.isinf(domain.high):
        mean = np.exp(np.clip(s, -10.0, 10.0))
        if not domain.low_inclusive:
            return rng.gamma(2.0, mean / 2.0), None
        # Compound Poisson-gamma: exact zeros and a right-skewed positive part,
        # the shape of claims and costs.
        counts = rng.poisson(mean)
        y = np.zeros(n)
        positive = counts > 0
        y[positive] = rng.gamma(2.0 * counts[positive], 0.5)
        return y, None
    return domain.sample(rng, n), None


def example_margins(loss: Loss | str, rng: np.random.Generator, n: int) -> np.ndarray:
    """Random margins of the loss's shape ((n,) or (n, k)) and a realistic scale for its link."""
    loss = as_loss(loss)
    n = _check_rows(n)
    shape = (n, loss.n_outputs) if loss.n_outputs > 1 else (n,)
    scale = 3.0 if loss.task == "regression" and isinstance(loss.label_domain, RealLine) else 1.0
    return rng.normal(size=shape) * scale
