"""Predictive distributions: what distributional losses predict, one distribution per row.

Each :class:`Distribution` holds one set of parameters per row and gives
``mean()``, ``logpdf(y)``, ``cdf(y)``, ``ppf(q)``, ``interval(coverage)``,
``sample(n_samples)``, ``prob_zero()`` and ``crps(y)``, vectorised over rows.
"""

from ._base import Distribution
from .scores import (
    IntervalCoverage,
    PITHistogram,
    calibration_table,
    crps,
    interval_coverage,
    log_score,
    pit,
    pit_histogram,
    zero_calibration,
)
from .zero_heavy import (
    HurdleGammaDistribution,
    HurdleLognormalDistribution,
    TweedieDistribution,
    ZeroInflatedPoissonDistribution,
)

__all__ = [
    "Distribution",
    "TweedieDistribution",
    "HurdleGammaDistribution",
    "HurdleLognormalDistribution",
    "ZeroInflatedPoissonDistribution",
]
__all__ += ["log_score", "crps", "pit", "PITHistogram", "pit_histogram", "calibration_table", "IntervalCoverage",
            "interval_coverage", "zero_calibration"]
