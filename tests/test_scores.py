"""Scores of predictive distributions, their plots, and the numeric defaults of the Distribution base.

Oracles: scipy.stats (log densities, quantiles, intervals), scipy.integrate
(the CRPS integral), the energy form ``E|X - y| - E|X - X'| / 2`` of the
CRPS for counts, and hand-built tables.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, stats

from gbm_objectives.distributions import (
    Distribution,
    IntervalCoverage,
    calibration_table,
    crps,
    interval_coverage,
    log_score,
    pit,
    pit_histogram,
    zero_calibration,
)
from gbm_objectives.distributions.continuous import Normal
from gbm_objectives.domains import Counts, Interval

# ---------------------------------------------------------------------------
# Test-only distributions: scipy's families behind the Distribution contract,
# with no closed-form ppf, sampling or CRPS, so the base's numeric defaults run.
# ---------------------------------------------------------------------------


class NumericNormal(Normal):
    """Normal with the base's numeric ppf, sampling and CRPS instead of the closed forms."""

    _ppf = Distribution._ppf
    _sample = Distribution._sample
    _crps = Distribution._crps


class Poisson(Distribution):
    name = "poisson"
    parameter_names = ("mu",)
    support = Counts()
    discrete = True

    def __init__(self, mu):
        super().__init__(mu=mu)

    def _check(self):
        self._require_positive("mu")

    def mean(self):
        return self.mu.copy()

    def var(self):
        return self.mu.copy()

    def _logpdf(self, y):
        return stats.poisson.logpmf(y, self.mu)

    def _cdf(self, y):
        return stats.poisson.cdf(y, self.mu)


class LogNormal(Distribution):
    name = "lognormal"
    parameter_names = ("mu", "sigma")
    support = Interval(0.0, low_inclusive=False)

    def __init__(self, mu, sigma):
        super().__init__(mu=mu, sigma=sigma)

    def mean(self):
        return np.exp(self.mu + 0.5 * self.sigma**2)

    def var(self):
        return np.expm1(self.sigma**2) * np.exp(2.0 * self.mu + self.sigma**2)

    def _logpdf(self, y):
        return stats.lognorm.logpdf(y, self.sigma, scale=np.exp(self.mu))

    def _cdf(self, y):
        return stats.lognorm.cdf(y, self.sigma, scale=np.exp(self.mu))


class HurdleExponential(Distribution):
    """``P(Y = 0) = p0``; otherwise exponential with mean ``scale``."""

    name = "hurdle_exponential"
    parameter_names = ("p0", "scale")
    support = Interval(0.0)
    has_atom_at_zero = True

    def __init__(self, p0, scale):
        super().__init__(p0=p0, scale=scale)

    def mean(self):
        return (1.0 - self.p0) * self.scale

    def var(self):
        return (1.0 - self.p0) * 2.0 * self.scale**2 - self.mean() ** 2

    def _logpdf(self, y):
        with np.errstate(divide="ignore"):
            return np.where(y == 0.0, np.log(self.p0), np.log1p(-self.p0) + stats.expon.logpdf(y, scale=self.scale))

    def _cdf(self, y):
        return np.where(y < 0.0, 0.0, self.p0 + (1.0 - self.p0) * stats.expon.cdf(y, scale=self.scale))

    def _prob_zero(self):
        return self.p0.copy()


def _hurdle_cdf(p0, scale):
    return lambda t: 0.0 if t < 0.0 else p0 + (1.0 - p0) * (1.0 - math.exp(-t / scale))


def _crps_quad(cdf, y, low, high, points=()):
    """``integral (F(t) - 1{t >= y})^2 dt`` over [low, high] by adaptive quadrature, split at y."""
    opts = {"epsabs": 1e-13, "epsrel": 1e-12, "limit": 400}
    left_points = [p for p in points if low < p < y] or None
    right_points = [p for p in points if y < p < high] or None
    left = integrate.quad(lambda t: cdf(t) ** 2, low, y, points=left_points, **opts)[0] if y > low else 0.0
    right = integrate.quad(lambda t: (1.0 - cdf(t)) ** 2, y, high, points=right_points, **opts)[0]
    return left + right


# ---------------------------------------------------------------------------
# The base's numeric ppf
# ---------------------------------------------------------------------------


def test_numeric_ppf_matches_scipy_for_a_continuous_distribution():
    loc = np.array([0.0, -3.0, 1e6, 2.0, 0.5])
    scale = np.array([1.0, 0.25, 3.0, 1e-6, 40.0])
    dist = NumericNormal(loc, scale)
    for q in (1e-10, 1e-3, 0.1, 0.5, 0.77, 0.999, 1 - 1e-10):
        # In standard units, where the bisection's tolerance is relative to |y|.
        np.testing.assert_allclose((dist.ppf(q) - loc) / scale, stats.norm.ppf(q), rtol=1e-9, atol=1e-6)
    # The ends of the support, not a far but finite bracket.
    assert np.all(dist.ppf(0.0) == -np.inf) and np.all(dist.ppf(1.0) == np.inf)
    q = np.array([0.0, 0.3, 1.0, 0.9, 1e-12])
    np.testing.assert_allclose((dist.ppf(q) - loc) / scale, stats.norm.ppf(q), rtol=1e-9, atol=1e-6)


def test_numeric_ppf_on_a_half_line_stops_at_its_end():
    dist = LogNormal([0.0, 2.0, -1.0], [0.5, 2.0, 1.0])
    for q in (1e-8, 0.05, 0.5, 0.95, 1 - 1e-8):
        expected = stats.lognorm.ppf(q, dist.sigma, scale=np.exp(dist.mu))
        # Far in the upper tail the cdf is flat: its last bits fix y to about 1e-9.
        np.testing.assert_allclose(dist.ppf(q), expected, rtol=1e-9 if q < 0.99 else 1e-8)
    np.testing.assert_array_equal(dist.ppf(0.0), 0.0)
    np.testing.assert_array_equal(dist.ppf(1.0), np.inf)


def test_numeric_ppf_of_counts_is_the_smallest_integer_reaching_the_level(rng):
    mu = np.array([0.01, 1.0, 3.5, 50.0, 1e4])
    dist = Poisson(mu)
    for q in (1e-9, 0.01, 0.2, 0.5, 0.8, 0.99, 1 - 1e-9):
        got = dist.ppf(q)
        np.testing.assert_array_equal(got, stats.poisson.ppf(q, mu))
        assert np.all(got == np.floor(got))
        assert np.all(stats.poisson.cdf(got, mu) >= q) and np.all(stats.poisson.cdf(got - 1, mu) < q)
    q = rng.random(mu.size)
    np.testing.assert_array_equal(dist.ppf(q), stats.poisson.ppf(q, mu))
    np.testing.assert_array_equal(dist.ppf(0.0), 0.0)
    np.testing.assert_array_equal(dist.ppf(1.0), np.inf)


def test_numeric_ppf_with_a_point_mass_at_zero():
    p0 = np.array([0.3, 0.3, 0.6, 0.05])
    scale = np.array([2.0, 2.0, 0.5, 10.0])
    dist = HurdleExponential(p0, scale)
    for q in (0.0, 0.01, 0.04, 0.2999, 0.3, 0.31, 0.5, 0.61, 0.9, 0.999999):
        expected = np.where(q <= p0, 0.0, stats.expon.ppf((q - p0) / (1.0 - p0), scale=scale))
        np.testing.assert_allclose(dist.ppf(q), expected, rtol=1e-9, atol=1e-12)


# ---------------------------------------------------------------------------
# The base's numeric CRPS
# ---------------------------------------------------------------------------

_Y_NORMAL = np.array([-8.0, -2.0, -0.3, 0.0, 0.4, 1.7, 6.0, 30.0])


def test_closed_form_normal_crps_matches_quadrature():
    loc, scale = 0.5, 1.7
    dist = Normal(np.full(_Y_NORMAL.size, loc), np.full(_Y_NORMAL.size, scale))
    expected = [_crps_quad(lambda t: stats.norm.cdf(t, loc, scale), y, -60.0, 60.0) for y in _Y_NORMAL]
    np.testing.assert_allclose(dist.crps(_Y_NORMAL), expected, rtol=1e-9)


def test_numeric_crps_matches_the_closed_form_of_the_normal():
    rows = _Y_NORMAL.size
    dist = Normal(np.linspace(-1.0, 2.0, rows), np.geomspace(0.1, 5.0, rows))
    closed = dist.crps(_Y_NORMAL)
    np.testing.assert_allclose(Distribution._crps(dist, _Y_NORMAL), closed, rtol=1e-6)
    # The numeric quantiles as well: the whole default path.
    numeric = NumericNormal(dist.loc, dist.scale)
    np.testing.assert_allclose(numeric.crps(_Y_NORMAL), closed, rtol=1e-6)


def test_numeric_crps_of_counts_matches_the_energy_form():
    # CRPS(F, y) = E|X - y| - E|X - X'| / 2, from the probability masses:
    # independent of the cdf sum the base computes.
    mu = 3.0
    k = np.arange(0, 80)
    pmf = stats.poisson.pmf(k, mu)
    spread = 0.5 * (pmf[:, None] * pmf[None, :] * np.abs(k[:, None] - k[None, :])).sum()
    ys = np.array([0.0, 1.0, 3.0, 7.0, 25.0, 2.5, -1.0])
    expected = np.array([(pmf * np.abs(k - y)).sum() - spread for y in ys])
    got = Poisson(np.full(ys.size, mu)).crps(ys)
    np.testing.assert_allclose(got, expected, rtol=1e-9)
    # And by quadrature of the step cdf, split at the integers.
    quad = [_crps_quad(lambda t: stats.poisson.cdf(t, mu), y, -5.0, 80.0, points=range(0, 80)) for y in ys]
    np.testing.assert_allclose(got, quad, rtol=1e-7)


def test_numeric_crps_of_counts_over_rows_of_different_means():
    mu = np.array([0.05, 1.0, 12.0, 200.0])
    y = np.array([0.0, 4.0, 9.0, 230.0])
    got = Poisson(mu).crps(y)
    for i in range(mu.size):
        k = np.arange(0, int(mu[i] + 20 * math.sqrt(mu[i]) + 30))
        pmf = stats.poisson.pmf(k, mu[i])
        spread = 0.5 * (pmf[:, None] * pmf[None, :] * np.abs(k[:, None] - k[None, :])).sum()
        assert got[i] == pytest.approx((pmf * np.abs(k - y[i])).sum() - spread, rel=1e-8)


def test_numeric_crps_with_a_point_mass_at_zero_matches_quadrature():
    p0, scale = 0.3, 2.0
    ys = np.array([-1.5, 0.0, 0.1, 1.0, 2.0, 10.0, 60.0])
    dist = HurdleExponential(np.full(ys.size, p0), np.full(ys.size, scale))
    cdf = _hurdle_cdf(p0, scale)
    expected = [_crps_quad(cdf, y, min(y, 0.0), 200.0, points=(0.0,)) for y in ys]
    np.testing.assert_allclose(dist.crps(ys), expected, rtol=1e-6)
    # Below the support F = 0: the score grows by exactly the distance to 0.
    assert dist.crps(np.full(ys.size, -1.5))[0] - dist.crps(np.zeros(ys.size))[0] == pytest.approx(1.5, rel=1e-12)


def test_numeric_crps_of_a_heavy_tailed_distribution_matches_quadrature():
    ys = np.array([0.05, 1.0, 4.0, 50.0])
    dist = LogNormal(np.zeros(ys.size), np.full(ys.size, 1.5))
    expected = [_crps_quad(lambda t: stats.lognorm.cdf(t, 1.5), y, 0.0, np.inf) for y in ys]
    np.testing.assert_allclose(dist.crps(ys), expected, rtol=1e-5)


# ---------------------------------------------------------------------------
# The base's numeric sampling, rows, intervals and checks
# ---------------------------------------------------------------------------


def test_numeric_samples_follow_the_distribution():
    draws = NumericNormal([1.5], [0.7]).sample(3000, random_state=7)
    assert draws.shape == (1, 3000)
    assert stats.kstest(draws[0], stats.norm(1.5, 0.7).cdf).pvalue > 0.01
    draws = LogNormal([0.3], [1.2]).sample(3000, random_state=8)
    assert stats.kstest(draws[0], stats.lognorm(1.2, scale=math.exp(0.3)).cdf).pvalue > 0.01
    # Point mass plus exponential: the share of zeros and the positive part separately.
    draws = HurdleExponential([0.35], [2.0]).sample(4000, random_state=9)[0]
    zeros = int(np.count_nonzero(draws == 0.0))
    assert stats.binomtest(zeros, draws.size, 0.35).pvalue > 0.01
    assert stats.kstest(draws[draws > 0], stats.expon(scale=2.0).cdf).pvalue > 0.01
    assert draws.min() >= 0.0


def test_numeric_samples_of_counts_follow_the_probability_masses():
    mu = 4.0
    draws = Poisson([mu]).sample(4000, random_state=3)[0]
    assert np.all(draws == np.floor(draws)) and draws.min() >= 0
    k = np.arange(0, 10)
    observed = np.array([np.count_nonzero(draws == v) for v in k] + [np.count_nonzero(draws >= 10)])
    expected = np.append(stats.poisson.pmf(k, mu), stats.poisson.sf(9, mu)) * draws.size
    assert stats.chisquare(observed, expected).pvalue > 0.01


def test_numeric_samples_draw_each_row_from_its_own_distribution():
    loc = np.array([-50.0, 0.0, 50.0])
    dist = NumericNormal(loc, [1.0, 2.0, 3.0])
    draws = dist.sample(2000, random_state=1)
    assert draws.shape == (3, 2000)
    for i in range(3):
        assert stats.kstest(draws[i], stats.norm(loc[i], dist.scale[i]).cdf).pvalue > 0.01
    np.testing.assert_array_equal(draws, dist.sample(2000, random_state=1))
    assert dist.sample(random_state=2).shape == (3, 1)


def test_numeric_sampling_never_draws_the_end_of_the_support():
    class ZeroLevels:
        def random(self, shape):
            return np.zeros(shape)

    draws = NumericNormal([0.0, 3.0], [1.0, 1.0])._sample(2, ZeroLevels())
    assert np.all(np.isfinite(draws)) and np.all(draws < -30.0)


def test_rows_select_distributions():
    dist = NumericNormal([0.0, 1.0, 2.0, 3.0], 2.0)
    np.testing.assert_array_equal(dist.scale, [2.0] * 4)  # a number broadcasts to every row
    y = np.array([0.5, -1.0, 4.0, 3.0])
    for index in (slice(1, 3), np.array([True, False, False, True]), np.array([3, 0, 0]), 2):
        sub = dist[index]
        assert isinstance(sub, NumericNormal)
        np.testing.assert_array_equal(sub.loc, np.atleast_1d(dist.loc[index]))
        assert len(sub) == np.atleast_1d(dist.loc[index]).shape[0]
        np.testing.assert_allclose(sub.logpdf(y[index]), np.atleast_1d(dist.logpdf(y)[index]))
        np.testing.assert_allclose(sub.ppf(0.3), np.atleast_1d(dist.ppf(0.3)[index]), rtol=1e-12)
    np.testing.assert_array_equal(dist.loc, [0.0, 1.0, 2.0, 3.0])  # selection copies
    assert repr(dist[1]) == "NumericNormal(loc=1, scale=2)" and repr(dist) == "NumericNormal(<4 rows>)"


def test_intervals_are_central_quantiles():
    normal = NumericNormal([0.0, 5.0], [1.0, 0.5])
    low, high = stats.norm.interval(0.8, normal.loc, normal.scale)
    np.testing.assert_allclose(normal.interval(0.8), np.column_stack([low, high]), rtol=1e-10)
    counts = Poisson([0.5, 3.0, 40.0])
    low, high = stats.poisson.interval(0.9, counts.mu)
    np.testing.assert_array_equal(counts.interval(0.9), np.column_stack([low, high]))
    np.testing.assert_array_equal(counts.interval(np.float32(0.5)).shape, (3, 2))
    for bad in (0.0, 1.0, 1.5, -0.1, True, "0.9", float("nan"), None):
        with pytest.raises(ValueError, match="coverage must be a number in"):
            counts.interval(bad)


def test_point_masses_and_support():
    counts = Poisson([0.5, 2.0])
    np.testing.assert_allclose(counts.prob_zero(), np.exp(-counts.mu))
    np.testing.assert_array_equal(counts.logpdf([-1.0, 1.5]), -np.inf)
    np.testing.assert_array_equal(HurdleExponential([0.2, 0.7], [1.0, 1.0]).prob_zero(), [0.2, 0.7])
    np.testing.assert_array_equal(Normal([0.0, 1.0], [1.0, 1.0]).prob_zero(), 0.0)
    assert LogNormal([0.0], [1.0]).logpdf(0.0)[0] == -np.inf


@pytest.mark.parametrize(
    "make, error, match",
    [
        (lambda: Normal(loc=[0.0, 1.0], scale=[1.0, 1.0, 1.0]), ValueError, "mismatched lengths"),
        (lambda: Normal([[0.0]], [1.0]), ValueError, "'loc' must be a number or 1-D"),
        (lambda: Normal([0.0, np.nan], 1.0), ValueError, "'loc' has 1 non-finite"),
        (lambda: Normal(["a"], 1.0), ValueError, "'loc' must be numeric"),
        (lambda: Normal([0.0, 1.0], [1.0, 0.0]), ValueError, "'scale' must be > 0"),
        (lambda: Poisson([-1.0]), ValueError, "'mu' must be > 0"),
        (lambda: Distribution.__init__(Normal.__new__(Normal), scale=1.0, loc=0.0), TypeError, "takes the parameters"),
    ],
)
def test_bad_parameters_are_named(make, error, match):
    with pytest.raises(error, match=match):
        make()


def test_bad_arguments_are_named():
    dist = NumericNormal([0.0, 1.0, 2.0], 1.0)
    with pytest.raises(ValueError, match=r"one value per row \(3\), got shape \(2,\)"):
        dist.logpdf([0.0, 1.0])
    with pytest.raises(ValueError, match="y contains NaN"):
        dist.cdf([0.0, np.nan, 1.0])
    with pytest.raises(ValueError, match="y must be numeric"):
        dist.cdf("x")
    with pytest.raises(ValueError, match=r"q must lie in \[0, 1\]"):
        dist.ppf([0.1, 1.2, 0.5])
    with pytest.raises(ValueError, match="y contains infinite values"):
        dist.crps([0.0, np.inf, 1.0])
    for bad in (0, -1, 1.5, True, "3"):
        with pytest.raises(ValueError, match="n_samples must be an integer >= 1"):
            dist.sample(bad)


# ---------------------------------------------------------------------------
# Scores
# ---------------------------------------------------------------------------


def _normal_data(rng, n, scale_factor=1.0):
    loc = rng.normal(0.0, 2.0, n)
    scale = np.exp(rng.normal(0.0, 0.5, n))
    y = rng.normal(loc, scale)
    return Normal(loc, scale * scale_factor), y, loc, scale


def test_calibrated_pit_is_flat_and_a_narrow_model_is_u_shaped(rng):
    good, y, loc, scale = _normal_data(rng, 4000)
    narrow = Normal(loc, 0.6 * scale)
    flat = pit_histogram(good, y, bins=10)
    # Within sampling error: the uniformity test does not reject, every bin
    # within 4 standard deviations of 1.
    assert flat.p_value > 0.01
    bin_sd = 10 * math.sqrt(0.1 * 0.9 / y.size)
    assert np.all(np.abs(flat.density - 1.0) < 4 * bin_sd)
    assert flat.counts.sum() == y.size and flat.n_effective == y.size
    np.testing.assert_allclose(flat.edges, np.linspace(0, 1, 11))
    np.testing.assert_allclose(flat.values, stats.norm.cdf(y, loc, scale))
    u = pit_histogram(narrow, y, bins=10)
    assert u.p_value < 1e-6 and u.calibration_error > 3 * flat.calibration_error
    assert u.density[0] > 1.5 and u.density[-1] > 1.5 and np.all(u.density[3:7] < 1.0)
    # The proper scores penalise the narrow model too.
    assert log_score(narrow, y) > log_score(good, y) + 0.1
    assert crps(narrow, y) > crps(good, y)
    # and its intervals cover too little.
    assert interval_coverage(good, y, 0.9).observed == pytest.approx(0.9, abs=4 * math.sqrt(0.09 / y.size))
    assert interval_coverage(narrow, y, 0.9).observed < 0.75


def test_randomised_pit_of_counts_and_zeros_is_flat(rng):
    n = 4000
    mu = rng.gamma(2.0, 1.0, n)
    counts = Poisson(mu)
    y = rng.poisson(mu).astype(np.float64)
    assert pit_histogram(counts, y, random_state=1).p_value > 0.01
    # Without the randomisation F(y) piles up at the steps: not uniform.
    assert stats.kstest(counts.cdf(y), "uniform").pvalue < 1e-6
    p0 = rng.uniform(0.1, 0.8, n)
    hurdle = HurdleExponential(p0, np.full(n, 2.0))
    yh = np.where(rng.random(n) < p0, 0.0, rng.exponential(2.0, n))
    assert pit_histogram(hurdle, yh, random_state=2).p_value > 0.01
    assert stats.kstest(pit(hurdle, yh, random_state=3), "uniform").pvalue > 0.01


def test_pit_randomises_within_the_step_of_the_label():
    mu = np.array([1.0, 1.0, 4.0, 0.5])
    y = np.array([0.0, 2.0, 4.0, 7.0])
    v = np.random.default_rng(5).random(y.size)
    lower = stats.poisson.cdf(y - 1, mu)
    upper = stats.poisson.cdf(y, mu)
    np.testing.assert_allclose(pit(Poisson(mu), y, random_state=5), lower + v * (upper - lower), rtol=1e-12)
    hurdle = HurdleExponential([0.3, 0.3], [2.0, 2.0])
    v = np.random.default_rng(6).random(2)
    expected = [0.3 * v[0], 0.3 + 0.7 * stats.expon.cdf(1.0, scale=2.0)]
    np.testing.assert_allclose(pit(hurdle, [0.0, 1.0], random_state=6), expected, rtol=1e-12)
    # Continuous distributions need no randomness.
    np.testing.assert_array_equal(pit(Normal([0.0], [1.0]), [0.0]), [0.5])


def test_log_score_and_crps_are_weighted_means(rng):
    dist, y, loc, scale = _normal_data(rng, 300)
    assert log_score(dist, y) == pytest.approx(-stats.norm.logpdf(y, loc, scale).mean(), rel=1e-12)
    w = rng.uniform(0.0, 3.0, y.size)
    assert log_score(dist, y, w) == pytest.approx(np.average(-stats.norm.logpdf(y, loc, scale), weights=w), rel=1e-12)
    assert crps(dist, y) == pytest.approx(dist.crps(y).mean(), rel=1e-12)
    assert crps(dist, y, sample_weight=w) == pytest.approx(np.average(dist.crps(y), weights=w), rel=1e-12)
    mu = rng.gamma(2.0, 1.0, 200)
    yc = rng.poisson(mu).astype(np.float64)
    assert log_score(Poisson(mu), yc) == pytest.approx(-stats.poisson.logpmf(yc, mu).mean(), rel=1e-12)
    # Extreme weights are rescaled, not overflowed.
    assert log_score(dist, y, w * 1e300) == pytest.approx(log_score(dist, y, w), rel=1e-12)


def test_a_label_of_zero_probability_scores_inf_unless_its_weight_is_zero():
    hurdle = HurdleExponential([0.0, 0.5], [1.0, 1.0])
    assert log_score(hurdle, [0.0, 1.0]) == math.inf
    finite = log_score(hurdle, [0.0, 1.0], sample_weight=[0.0, 1.0])
    assert finite == pytest.approx(-math.log(0.5) + 1.0, rel=1e-12)


def test_interval_coverage_by_hand():
    dist = Normal(np.zeros(4), np.ones(4))
    result = interval_coverage(dist, [0.0, 1.7, -1.7, 2.0], coverage=0.9)
    assert isinstance(result, IntervalCoverage)
    assert (result.nominal, result.observed, result.below, result.above) == (0.9, 0.25, 0.25, 0.5)
    assert result.mean_width == pytest.approx(2 * stats.norm.ppf(0.95), rel=1e-12)
    weighted = interval_coverage(dist, [0.0, 1.7, -1.7, 2.0], coverage=0.9, sample_weight=[2.0, 1.0, 1.0, 0.0])
    assert (weighted.observed, weighted.below, weighted.above) == (0.5, 0.25, 0.25)


def test_calibration_table_compares_pit_quantiles_with_nominal_levels(rng):
    good, y, loc, scale = _normal_data(rng, 3000)
    table = calibration_table(good, y)
    np.testing.assert_allclose(table["level"], [0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95])
    assert np.all(np.abs(table["difference"]) < 4 * table["std_error"])
    expected = [np.mean(y <= stats.norm.ppf(a, loc, scale)) for a in table["level"]]
    np.testing.assert_allclose(table["observed"], expected)
    narrow = calibration_table(Normal(loc, 0.6 * scale), y, levels=[0.05, 0.5, 0.95])
    assert narrow["difference"].iloc[0] > 0.05 and narrow["difference"].iloc[2] < -0.05
    assert narrow.attrs["max_abs_difference"] == pytest.approx(np.abs(narrow["difference"]).max())


def test_zero_calibration_by_hand():
    # Two groups of predictions: 0.15 (four rows, one zero) and 0.85 (six rows, five zeros).
    p0 = np.array([0.15] * 4 + [0.85] * 6)
    dist = Poisson(-np.log(p0))
    y = np.array([0, 1, 2, 3, 0, 0, 0, 0, 0, 5], dtype=np.float64)
    table = zero_calibration(dist, y, bins=10, strategy="uniform")
    assert list(table.columns) == ["low", "high", "rows", "weight", "predicted", "observed", "std_error"]
    np.testing.assert_array_equal(table["rows"], [4, 6])
    np.testing.assert_allclose(table["predicted"], [0.15, 0.85], rtol=1e-12)
    np.testing.assert_allclose(table["low"], [0.15, 0.85], rtol=1e-12)
    np.testing.assert_allclose(table["observed"], [0.25, 5 / 6], rtol=1e-12)
    np.testing.assert_allclose(table["std_error"], [math.sqrt(0.15 * 0.85 / 4), math.sqrt(0.85 * 0.15 / 6)])
    assert table.attrs["mean_predicted"] == pytest.approx(0.57, rel=1e-12)
    assert table.attrs["observed_share"] == pytest.approx(0.6, rel=1e-12)
    assert table.attrs["calibration_error"] == pytest.approx((4 * 0.1 + 6 * (0.85 - 5 / 6)) / 10, rel=1e-9)
    # Weights: the first group's zero counts three times.
    w = np.array([3.0, 1, 1, 1, 1, 1, 1, 1, 1, 1])
    weighted = zero_calibration(dist, y, bins=10, strategy="uniform", sample_weight=w)
    np.testing.assert_allclose(weighted["observed"], [0.5, 5 / 6], rtol=1e-12)
    np.testing.assert_allclose(weighted["weight"], [6.0, 6.0])
    # Quantile groups: tied predictions share a group, and each group's range is its own.
    quantile = zero_calibration(dist, y, bins=4)
    np.testing.assert_array_equal(quantile["rows"], [4, 6])
    np.testing.assert_allclose(quantile["predicted"], [0.15, 0.85], rtol=1e-12)
    spread = zero_calibration(Poisson(-np.log(np.linspace(0.05, 0.95, 10))), y, bins=5)
    np.testing.assert_array_equal(spread["rows"], [2, 2, 2, 2, 2])
    np.testing.assert_allclose(spread["low"], np.linspace(0.05, 0.95, 10)[::2], rtol=1e-12)
    np.testing.assert_allclose(spread["high"], np.linspace(0.05, 0.95, 10)[1::2], rtol=1e-12)
    np.testing.assert_allclose(spread["observed"], [0.5, 0.0, 1.0, 1.0, 0.5])  # y in pairs
    one = zero_calibration(Normal(np.zeros(3), np.ones(3)), [0.0, 0.0, 1.0])
    assert len(one) == 1 and one["predicted"].iloc[0] == 0.0 and one["observed"].iloc[0] == pytest.approx(2 / 3)


def test_zero_calibration_of_a_calibrated_zero_heavy_model(rng):
    n = 5000
    p0 = rng.uniform(0.05, 0.9, n)
    dist = HurdleExponential(p0, np.full(n, 2.0))
    y = np.where(rng.random(n) < p0, 0.0, rng.exponential(2.0, n))
    table = zero_calibration(dist, y, bins=8)
    assert len(table) == 8 and table["rows"].sum() == n
    assert np.all(np.abs(table["observed"] - table["predicted"]) < 4 * table["std_error"])
    assert abs(table.attrs["mean_predicted"] - table.attrs["observed_share"]) < 0.02
    assert np.all(np.diff(table["predicted"]) > 0)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda d, y: log_score(np.zeros(3), y), "dist must be a Distribution"),
        (lambda d, y: log_score(d, y[:2]), "y has 2 labels but dist has 3 rows"),
        (lambda d, y: crps(d, [0.0, np.nan, 1.0]), "y contains 1 NaN or infinite"),
        (lambda d, y: pit(d, [[0.0, 1.0, 2.0]]), "y must be 1-D"),
        (lambda d, y: log_score(d, [0.0, 1.5, -2.0]), r"2 of 3 labels lie outside the support .*non-negative"),
        (lambda d, y: log_score(d, y, sample_weight=[1.0, -1.0, 1.0]), "sample_weight must be non-negative"),
        (lambda d, y: crps(d, y, sample_weight=[1.0, 1.0]), "sample_weight has 2 entries"),
        (lambda d, y: crps(d, y, sample_weight=[0.0, 0.0, 0.0]), "positive sum"),
        (lambda d, y: crps(d, y, sample_weight=[1.0, np.inf, 0.0]), "sample_weight contains 1 NaN"),
        (lambda d, y: pit_histogram(d, y, bins=1), "bins must be an integer >= 2"),
        (lambda d, y: pit_histogram(d, y, bins=2.5), "bins must be an integer >= 2"),
        (lambda d, y: zero_calibration(d, y, bins=True), "bins must be an integer >= 2"),
        (lambda d, y: zero_calibration(d, y, strategy="kmeans"), "strategy must be one of"),
        (lambda d, y: calibration_table(d, y, levels=[0.5, 1.0]), r"levels must be .* in \(0, 1\)"),
        (lambda d, y: calibration_table(d, y, levels=[]), "levels must be a non-empty"),
        (lambda d, y: interval_coverage(d, y, coverage=1.0), r"coverage must be in \(0, 1\)"),
        (lambda d, y: interval_coverage(d, y, coverage="0.9"), "coverage must be a real number"),
        (lambda d, y: log_score(d[np.zeros(3, bool)], []), "dist has no rows"),
    ],
)
def test_scores_reject_bad_input(call, match):
    dist = Poisson([1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match=match):
        call(dist, np.array([0.0, 1.0, 2.0]))


def test_support_message_names_the_support():
    with pytest.raises(ValueError, match=r"1 of 2 labels lie outside .*lognormal distribution \(y > 0\).*y\[1\] = -3"):
        crps(LogNormal([0.0, 0.0], [1.0, 1.0]), [1.0, -3.0])


# ---------------------------------------------------------------------------
# Plots
# ---------------------------------------------------------------------------


@pytest.fixture
def pyplot():
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    yield plt
    plt.close("all")


def test_pit_histogram_plot_has_one_bar_per_bin(pyplot, rng, tmp_path):
    from gbm_objectives.plotting import plot_pit_histogram

    dist, y, _, _ = _normal_data(rng, 500)
    ax = plot_pit_histogram(dist, y, bins=12)
    bars = ax.containers[0]
    assert len(ax.containers) == 1 and len(bars) == 12
    np.testing.assert_allclose([b.get_height() for b in bars], pit_histogram(dist, y, bins=12).density)
    assert ax.get_xlabel().startswith("PIT") and "calibration error" in ax.get_title()
    ax.figure.savefig(tmp_path / "pit.png")
    assert (tmp_path / "pit.png").stat().st_size > 1000
    _, other = pyplot.subplots()
    assert plot_pit_histogram(dist, y, bins=5, ax=other, title="mine") is other
    assert len(other.containers[0]) == 5 and other.get_title() == "mine"


def test_zero_reliability_plot_has_one_point_per_group(pyplot, rng):
    from gbm_objectives.plotting import plot_zero_reliability

    n = 1000
    p0 = rng.uniform(0.1, 0.8, n)
    dist = HurdleExponential(p0, np.full(n, 2.0))
    y = np.where(rng.random(n) < p0, 0.0, rng.exponential(2.0, n))
    ax = plot_zero_reliability(dist, y, bins=6)
    table = zero_calibration(dist, y, bins=6)
    points = ax.containers[0].lines[0]
    np.testing.assert_allclose(np.asarray(points.get_xdata(), float), table["predicted"])
    np.testing.assert_allclose(np.asarray(points.get_ydata(), float), table["observed"])
    assert len(points.get_xdata()) == 6 and ax.get_xlabel() == "predicted P(y = 0)"


def test_plots_without_matplotlib_say_which_extra(monkeypatch, rng):
    import gbm_objectives.plotting as plotting

    def no_matplotlib():
        raise ImportError("plotting needs matplotlib: pip install 'gbm-objectives[plot]'")

    monkeypatch.setattr(plotting, "_pyplot", no_matplotlib)
    dist, y, _, _ = _normal_data(rng, 50)
    with pytest.raises(ImportError, match="matplotlib"):
        plotting.plot_pit_histogram(dist, y)
    with pytest.raises(ImportError, match="matplotlib"):
        plotting.plot_zero_reliability(dist, y)
    # Bad input is reported before any drawing.
    with pytest.raises(ValueError, match="bins"):
        plotting.plot_pit_histogram(dist, y, bins=0)
