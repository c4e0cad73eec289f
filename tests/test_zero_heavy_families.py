"""Zero-heavy distributional families: tweedie_dispersion, hurdle_gamma, hurdle_lognormal and
zero_inflated_poisson.

The loss is minus the log-density with every constant; the distributions
against scipy.stats and numeric integration; the Dunn-Smyth series, its
derivatives in the log dispersion and the tabulated Fisher information
against independent computations; the init score against direct maximum
likelihood; training through both boosters against the true model.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, optimize, special, stats

import gbm_objectives as go
from gbm_objectives.distributions import (
    HurdleGammaDistribution,
    HurdleLognormalDistribution,
    TweedieDistribution,
    ZeroInflatedPoissonDistribution,
)
from gbm_objectives.kernels import tweedie_series
from gbm_objectives.losses import MARGIN_LIMIT
from gbm_objectives.tweedie_density import tweedie_log_density

FAMILIES = ("tweedie_dispersion", "hurdle_gamma", "hurdle_lognormal", "zero_inflated_poisson")
POWERS = (1.01, 1.1, 1.5, 1.9, 1.99)


def _zero_heavy_labels(rng, n, counts=False):
    if counts:
        y = rng.poisson(rng.gamma(1.0, 3.0, n)).astype(np.float64)
        y[rng.random(n) < 0.4] = 0.0
        y[:3] = [0.0, 1.0, 250.0]
        return y
    y = rng.gamma(1.2, 3.0, n)
    y[rng.random(n) < 0.4] = 0.0
    y[:3] = [0.0, 1e-6, 250.0]
    return y


def _margins(loss, rng, n):
    m = rng.normal(0.0, 0.7, (n, loss.n_outputs))
    m[:, 1] += 1.0
    return m


@pytest.fixture
def rng():
    return np.random.default_rng(20261130)


# ---------------------------------------------------------------------------
# The loss is minus the log-density
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", FAMILIES)
@pytest.mark.parametrize("weighted", [False, True])
def test_loss_equals_minus_log_density(name, weighted, rng):
    loss = go.get_loss(name)
    y = _zero_heavy_labels(rng, 200, counts=name == "zero_inflated_poisson")
    m = _margins(loss, rng, 200)
    w = rng.uniform(0.2, 3.0, 200) if weighted else None
    dist = loss.distribution(loss.parameters(m))
    logpdf = dist.logpdf(y)
    expected = -np.average(logpdf, weights=w)
    assert loss.loss(y, m, w) == pytest.approx(expected, rel=1e-12)
    assert np.all(np.isfinite(logpdf))
    np.testing.assert_allclose(np.exp(dist.logpdf(np.zeros(200))), dist.prob_zero(), rtol=1e-12)


def test_hurdle_gamma_matches_scipy(rng):
    n = 50
    pi, mu, k = rng.uniform(0.05, 0.95, n), np.exp(rng.normal(0, 1, n)), np.exp(rng.normal(0, 1, n))
    dist = HurdleGammaDistribution(pi, mu, k)
    g = stats.gamma(k, scale=mu / k)
    y = g.rvs(random_state=rng)
    np.testing.assert_allclose(dist.logpdf(y), np.log(pi) + g.logpdf(y), rtol=1e-12)
    np.testing.assert_allclose(dist.logpdf(0.0), np.log1p(-pi), rtol=1e-12)
    np.testing.assert_allclose(dist.cdf(y), 1 - pi + pi * g.cdf(y), rtol=1e-12)
    np.testing.assert_allclose(dist.cdf(-1.0), 0.0)
    np.testing.assert_allclose(dist.mean(), pi * g.mean(), rtol=1e-12)
    np.testing.assert_allclose(dist.var(), pi * (g.var() + g.mean() ** 2) - (pi * g.mean()) ** 2, rtol=1e-10)
    q = rng.uniform(0, 1, n)
    expected = np.where(q <= 1 - pi, 0.0, g.ppf(np.clip((q - (1 - pi)) / pi, 0, 1)))
    np.testing.assert_allclose(dist.ppf(q), expected, rtol=1e-9)
    np.testing.assert_allclose(dist.prob_zero(), 1 - pi)


def test_hurdle_lognormal_matches_scipy(rng):
    n = 50
    pi, ml, sl = rng.uniform(0.05, 0.95, n), rng.normal(0, 1, n), np.exp(rng.normal(-0.5, 0.5, n))
    dist = HurdleLognormalDistribution(pi, ml, sl)
    g = stats.lognorm(sl, scale=np.exp(ml))
    y = g.rvs(random_state=rng)
    np.testing.assert_allclose(dist.logpdf(y), np.log(pi) + g.logpdf(y), rtol=1e-12)
    np.testing.assert_allclose(dist.cdf(y), 1 - pi + pi * g.cdf(y), rtol=1e-12)
    np.testing.assert_allclose(dist.mean(), pi * g.mean(), rtol=1e-12)
    np.testing.assert_allclose(dist.var(), pi * (g.var() + g.mean() ** 2) - (pi * g.mean()) ** 2, rtol=1e-10)
    q = rng.uniform(0, 1, n)
    expected = np.where(q <= 1 - pi, 0.0, g.ppf(np.clip((q - (1 - pi)) / pi, 0, 1)))
    np.testing.assert_allclose(dist.ppf(q), expected, rtol=1e-9)


def test_zero_inflated_poisson_matches_scipy(rng):
    n = 60
    pi, lam = rng.uniform(0.0, 0.9, n), np.exp(rng.normal(0.5, 1.0, n))
    dist = ZeroInflatedPoissonDistribution(pi, lam)
    y = stats.poisson.rvs(lam, random_state=rng).astype(float)
    pois = stats.poisson(lam)
    expected = np.where(y > 0, np.log1p(-pi) + pois.logpmf(y), np.log(pi + (1 - pi) * pois.pmf(0)))
    np.testing.assert_allclose(dist.logpdf(y), expected, rtol=1e-12)
    np.testing.assert_allclose(dist.cdf(y + 0.5), pi + (1 - pi) * pois.cdf(y), rtol=1e-12)
    np.testing.assert_allclose(dist.cdf(-0.5), 0.0)
    np.testing.assert_allclose(dist.mean(), (1 - pi) * pois.mean(), rtol=1e-12)
    second = (1 - pi) * (pois.var() + pois.mean() ** 2)
    np.testing.assert_allclose(dist.var(), second - ((1 - pi) * pois.mean()) ** 2, rtol=1e-10)
    np.testing.assert_allclose(dist.prob_zero(), pi + (1 - pi) * np.exp(-lam), rtol=1e-14)
    assert dist.logpdf(1.5)[0] == -np.inf
    q = rng.uniform(0, 1, n)
    x = dist.ppf(q)
    assert np.all(x == np.floor(x))
    assert np.all(dist.cdf(x) >= q - 1e-12) and np.all((x == 0) | (dist.cdf(x - 1) < q))


@pytest.mark.parametrize("dist", [HurdleGammaDistribution([0.3, 0.8], [2.0, 0.5], [0.7, 3.0]),
                                  ZeroInflatedPoissonDistribution([0.3, 0.6], [2.5, 0.7]),
                                  HurdleLognormalDistribution([0.3, 0.8], [0.5, -1.0], [0.4, 1.2]),
                                  TweedieDistribution([2.0, 0.4], [1.5, 0.3], power=1.4)])
def test_samples_follow_the_distribution(dist):
    draws = dist.sample(40_000, random_state=3)
    assert draws.shape == (2, 40_000) and np.all(draws >= 0)
    se = np.sqrt(dist.var() / draws.shape[1])
    assert np.all(np.abs(draws.mean(axis=1) - dist.mean()) < 5 * se)
    np.testing.assert_allclose((draws == 0).mean(axis=1), dist.prob_zero(), atol=0.01)
    # The empirical cdf at the median of the draws.
    med = np.median(draws, axis=1)
    np.testing.assert_allclose(dist.cdf(med), (draws <= med[:, None]).mean(axis=1), atol=0.01)


# ---------------------------------------------------------------------------
# Tweedie: the series density, its cdf, ppf and moments
# ---------------------------------------------------------------------------


def _tweedie_positive_integral(mu, phi, p, moment=0):
    """integral over y > 0 of y^moment f(y), in log y, split at the gamma bumps of each count."""
    a = (2 - p) / (p - 1)
    scale = phi * (p - 1) * mu ** (p - 1)
    lam = mu ** (2 - p) / ((2 - p) * phi)
    n_hi = lam + 12 * math.sqrt(lam) + 15
    low = math.log(scale) + (math.log(1e-30) + special.gammaln(a + 1)) / a
    high = math.log(scale * (n_hi * a + 14 * math.sqrt(n_hi * a) + 80))
    n_lo = max(1.0, lam - 12 * math.sqrt(lam))
    bumps = [math.log(scale * a * j) for j in np.unique(np.round(np.geomspace(n_lo, n_hi, 60)))]
    sd_log = math.sqrt(phi * mu**p) / mu
    around = list(math.log(mu) + sd_log * np.linspace(-30, 30, 61))
    edges = np.unique(np.clip([low, high, math.log(mu)] + bumps + around + list(np.linspace(low, high, 300)),
                              low, high))

    log_phi, kappa = math.log(phi), mu ** (2 - p) / (2 - p)

    def f(t):
        if t > -700.0:
            return math.exp(float(tweedie_log_density([math.exp(t)], mu, phi, p)[0]) + (1 + moment) * t)
        # Labels below the float64 range (p near 2, large phi): log f(y) + log y = log sum W - kappa / phi.
        return math.exp(tweedie_series.log_series_at_log(t, log_phi, p, True)[0] - kappa / phi + moment * t)

    return sum(integrate.quad(f, lo, hi, limit=500, epsabs=1e-14, epsrel=1e-12)[0]
               for lo, hi in zip(edges[:-1], edges[1:]))


@pytest.mark.parametrize("p", POWERS)
@pytest.mark.parametrize("mu, phi", [(1.0, 1.0), (3.0, 0.05), (0.2, 20.0), (50.0, 2.0), (1.0, 0.005)])
def test_tweedie_density_integrates_to_one(p, mu, phi):
    dist = TweedieDistribution([mu], [phi], power=p)
    total = float(dist.prob_zero()[0]) + _tweedie_positive_integral(mu, phi, p)
    assert abs(total - 1.0) < 1e-6, total


@pytest.mark.parametrize("p", [1.1, 1.5, 1.9])
def test_tweedie_moments_by_integration(p):
    mu, phi = 2.0, 0.8
    dist = TweedieDistribution([mu], [phi], power=p)
    m1 = _tweedie_positive_integral(mu, phi, p, moment=1)
    m2 = _tweedie_positive_integral(mu, phi, p, moment=2)
    assert dist.mean()[0] == pytest.approx(m1, rel=1e-7)
    assert dist.var()[0] == pytest.approx(m2 - m1**2, rel=1e-7)


@pytest.mark.parametrize("p", [1.05, 1.5, 1.95])
def test_tweedie_cdf_is_the_integral_of_the_density_and_ppf_inverts_it(p):
    mu, phi = 1.5, 0.7
    dist = TweedieDistribution(np.full(3, mu), np.full(3, phi), power=p)
    y = np.array([0.3, 1.2, 4.0])
    p0 = float(dist.prob_zero()[0])

    def f(t):
        return math.exp(float(tweedie_log_density([math.exp(t)], mu, phi, p)[0]) + t)

    for yi, ci in zip(y, dist.cdf(y)):
        # From the left tail of the first gamma bump up to y.
        integral = integrate.quad(f, -200.0 / ((2 - p) / (p - 1)) - 10, math.log(yi), limit=400,
                                  epsabs=1e-13, epsrel=1e-11)[0]
        assert ci == pytest.approx(p0 + integral, abs=1e-8)
    q = np.array([p0 / 2, 0.5, 0.95])
    x = dist.ppf(q)
    assert x[0] == 0.0
    np.testing.assert_allclose(dist.cdf(x)[1:], q[1:], atol=1e-9)
    assert dist.cdf(0.0)[0] == pytest.approx(p0)


def test_tweedie_prob_zero_is_the_poisson_zero():
    mu, phi, p = np.array([0.5, 2.0]), np.array([1.0, 3.0]), 1.3
    dist = TweedieDistribution(mu, phi, power=p)
    np.testing.assert_allclose(dist.prob_zero(), np.exp(-mu ** (2 - p) / (phi * (2 - p))), rtol=1e-14)


def test_tweedie_distribution_uses_the_public_density(rng):
    y = _zero_heavy_labels(rng, 40)
    mu, phi = np.exp(rng.normal(0, 1, 40)), np.exp(rng.normal(0, 1, 40))
    dist = TweedieDistribution(mu, phi, power=1.7)
    expected = [tweedie_log_density([yi], mi, fi, 1.7)[0] for yi, mi, fi in zip(y, mu, phi)]
    np.testing.assert_allclose(dist.logpdf(y), expected, rtol=1e-13)


def test_saddlepoint_form_continues_the_series_beyond_its_range():
    # Just past 1e12 terms the density switches from the walk to the saddlepoint form;
    # the walk itself still works there, and the two agree to the Stirling error.
    for p in (1.01, 1.5, 1.99):
        y, log_mu = 7.0, math.log(7.3)
        log_phi = (2 - p) * math.log(y) - math.log(2 - p) - tweedie_series.LOG_SADDLEPOINT_TERMS - 0.5
        ll, d1, d2 = tweedie_series.tweedie_loglik_point(y, log_mu, log_phi, p, True)
        a = (2 - p) / (p - 1)
        log_s, mean_j, var_j = tweedie_series.log_series(y, log_phi, p, True)
        e = (y * math.exp((1 - p) * log_mu) / (1 - p) - math.exp((2 - p) * log_mu) / (2 - p)) * math.exp(-log_phi)
        # Both cancel terms of size (1 + a) E[j] ~ 1e14: agreement relative to those.
        size = (1 + a) * mean_j
        assert abs(ll - (log_s - math.log(y) + e)) <= 1e-13 * size
        assert abs(d1 - (-(1 + a) * mean_j - e)) <= 1e-7 * size


@pytest.mark.parametrize("s", [0.01, 0.5, 0.99])
def test_saddlepoint_half_deviance_is_exact_near_the_mean(s):
    from decimal import Decimal, getcontext

    getcontext().prec = 60
    for u in (1e-12, -3e-9, 1e-4, 0.2, -0.45, 0.5001, 2.0, -6.0):
        r = Decimal(u).exp()
        sd = Decimal(s)
        exact = (r**sd - sd * r + sd - 1) / (sd * (sd - 1))
        got = tweedie_series._half_deviance_ratio(u, s)
        assert got == pytest.approx(float(exact), rel=1e-13), u


# ---------------------------------------------------------------------------
# Derivatives and curvature
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("p", POWERS)
def test_tweedie_gradient_matches_finite_differences(p, rng):
    loss = go.get_loss("tweedie_dispersion", power=p, normalize=False)
    y = np.r_[0.0, 1e-8, 0.3, 1.0, 5.0, 40.0, 2000.0]
    for log_phi in (-5.0, -1.0, 0.5, 3.0):
        m = np.column_stack([np.log(np.maximum(y, 0.5)) + rng.normal(0, 0.5, y.size), np.full(y.size, log_phi)])
        grad, hess = loss.grad_hess(y, m)
        for i in range(y.size):
            for j in range(2):
                h = 1e-4
                vals = []
                for step in (-2, -1, 1, 2):
                    mm = m[i:i + 1].copy()
                    mm[0, j] += step * h
                    vals.append(loss.loss(y[i:i + 1], mm))
                fd = (vals[0] - 8 * vals[1] + 8 * vals[2] - vals[3]) / (12 * h)
                assert grad[i, j] == pytest.approx(fd, rel=2e-6, abs=1e-6 * (1 + abs(vals[1]))), (p, log_phi, i, j)


@pytest.mark.parametrize("p", [1.01, 1.3, 1.7, 1.99])
def test_fisher_table_interpolates_the_quadrature(p):
    table = tweedie_series.fisher_table(p)
    x8, w8 = np.polynomial.legendre.leggauss(8)
    x32, w32 = np.polynomial.legendre.leggauss(32)
    for t in np.arange(-13.95, 9.9, 1.3):
        direct = tweedie_series.fisher_log_dispersion_at(t, p, x8, w8, x32, w32)
        assert tweedie_series.fisher_from_table(t, table) == pytest.approx(direct, rel=5e-5), t


@pytest.mark.parametrize("p", [1.1, 1.6, 1.9])
def test_fisher_information_of_the_log_dispersion_by_simulation(p):
    # The tabulated information against the variance of the score over draws.
    loss = go.get_loss("tweedie_dispersion", power=p, normalize=False)
    for lam in (0.3, 2.0, 20.0):
        mu = 1.3
        phi = mu ** (2 - p) / ((2 - p) * lam)
        y = TweedieDistribution(np.full(100_000, mu), np.full(100_000, phi), power=p).sample(1, random_state=1)[:, 0]
        m = np.column_stack([np.full(y.size, math.log(mu)), np.full(y.size, math.log(phi))])
        grad, hess = loss.grad_hess(y, m)
        score2 = grad[:, 1].astype(np.float64) ** 2
        assert abs(grad[:, 1].mean()) < 5 * grad[:, 1].std() / math.sqrt(y.size)
        assert hess[0, 1] == pytest.approx(score2.mean(), abs=5 * score2.std() / math.sqrt(y.size))
        np.testing.assert_allclose(hess[:, 1], hess[0, 1], rtol=1e-6)


def test_fisher_information_asymptotes():
    for p in (1.2, 1.8):
        a = (2 - p) / (p - 1)
        table = tweedie_series.fisher_table(p)
        tiny = tweedie_series.fisher_from_table(-20.0, table)
        assert tiny == pytest.approx(math.exp(-20.0) * (1 + a), rel=1e-5)
        assert tweedie_series.fisher_from_table(25.0, table) == pytest.approx(0.5, rel=1e-8)


def test_hurdle_zero_rows_inform_only_the_logit():
    for name in ("hurdle_gamma", "hurdle_lognormal"):
        loss = go.get_loss(name, curvature="hessian", normalize=False)
        m = np.array([[0.4, 0.2, -0.3], [0.4, 0.2, -0.3]])
        grad, hess = loss.grad_hess(np.array([0.0, 2.0]), m)
        # Zero rows: no gradient for the positive part, and its Fisher information pi I as curvature.
        assert np.all(grad[0, 1:] == 0.0) and np.all(hess[0, 1:] > 1e-3)
        fisher = go.get_loss(name, curvature="fisher", normalize=False).grad_hess(np.array([0.0, 2.0]), m)[1]
        np.testing.assert_allclose(hess[0], fisher[0], rtol=1e-6)
        np.testing.assert_allclose(fisher[0, 1:] / fisher[1, 1:], 1.0, rtol=1e-6)  # the same pi I on every row


# ---------------------------------------------------------------------------
# Init score: the maximum-likelihood constant
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("weighted", [False, True])
def test_hurdle_init_score_is_the_fit(weighted, rng):
    y = _zero_heavy_labels(rng, 400)
    w = rng.uniform(0.5, 2.0, 400) if weighted else np.ones(400)
    pos = y > 0
    share = w[pos].sum() / w.sum()
    c = go.get_loss("hurdle_gamma").init_score(y, w if weighted else None)
    assert special.expit(c[0]) == pytest.approx(share, rel=1e-12)
    if not weighted:
        k, _, scale = stats.gamma.fit(y[pos], floc=0, method="MLE")
        assert math.exp(c[2]) == pytest.approx(k, rel=1e-4)
        assert math.exp(c[1]) == pytest.approx(k * scale, rel=1e-4)
        s, _, sc = stats.lognorm.fit(y[pos], floc=0)
        c2 = go.get_loss("hurdle_lognormal").init_score(y)
        np.testing.assert_allclose(c2[1:], [math.log(sc), math.log(s)], rtol=1e-5)
    else:
        def nll(theta):
            return -np.dot(w[pos], stats.gamma.logpdf(y[pos], math.exp(theta[1]), scale=math.exp(theta[0] - theta[1])))

        res = optimize.minimize(nll, c[1:] + 0.3, method="Nelder-Mead", options={"xatol": 1e-10, "fatol": 1e-12})
        np.testing.assert_allclose(c[1:], res.x, atol=1e-5)


def test_hurdle_init_score_edges():
    for name in ("hurdle_gamma", "hurdle_lognormal"):
        loss = go.get_loss(name)
        assert np.all(np.isfinite(loss.init_score(np.zeros(5))))
        assert loss.init_score(np.zeros(5))[0] == -MARGIN_LIMIT
        c = loss.init_score(np.array([2.0, 2.0, 2.0]))
        assert np.all(np.isfinite(c)) and special.expit(c[0]) > 0.999


@pytest.mark.parametrize("p", [1.2, 1.6])
def test_tweedie_init_score_is_the_maximum_likelihood(p, rng):
    dist = TweedieDistribution(np.full(300, 2.0), np.full(300, 1.5), power=p)
    y = dist.sample(1, random_state=rng)[:, 0]
    loss = go.get_loss("tweedie_dispersion", power=p)
    c = loss.init_score(y)

    def nll(theta):
        return -tweedie_log_density(y, math.exp(theta[0]), math.exp(theta[1]), p).mean()

    res = optimize.minimize(nll, np.zeros(2), method="Nelder-Mead", options={"xatol": 1e-9, "fatol": 1e-13})
    np.testing.assert_allclose(c, res.x, atol=1e-4)
    assert nll(c) <= res.fun + 1e-12
    assert math.exp(c[0]) == pytest.approx(y.mean(), rel=1e-12)


@pytest.mark.parametrize("weighted", [False, True])
def test_zero_inflated_poisson_init_score_is_the_maximum_likelihood(weighted, rng):
    dist = ZeroInflatedPoissonDistribution(np.full(500, 0.35), np.full(500, 2.2))
    y = dist.sample(1, random_state=rng)[:, 0]
    w = rng.uniform(0.5, 2.0, 500) if weighted else np.ones(500)
    c = go.get_loss("zero_inflated_poisson").init_score(y, w if weighted else None)

    def nll(theta):
        pi, lam = special.expit(theta[0]), math.exp(theta[1])
        return -np.dot(w, ZeroInflatedPoissonDistribution(np.full(500, pi), np.full(500, lam)).logpdf(y)) / w.sum()

    res = optimize.minimize(nll, np.zeros(2), method="Nelder-Mead", options={"xatol": 1e-10, "fatol": 1e-14})
    np.testing.assert_allclose(c, res.x, atol=1e-5)
    assert nll(c) <= res.fun + 1e-12


def test_zero_inflated_poisson_init_score_edges():
    loss = go.get_loss("zero_inflated_poisson")
    # Fewer zeros than a Poisson gives: no structural zeros, the Poisson rate.
    y = np.array([1.0, 2.0, 3.0, 2.0, 1.0, 2.0])
    c = loss.init_score(y)
    assert c[0] == -MARGIN_LIMIT and math.exp(c[1]) == pytest.approx(y.mean(), rel=1e-12)
    assert loss.init_score(np.zeros(4))[0] == MARGIN_LIMIT
    assert np.all(np.isfinite(loss.init_score(np.array([0.0, 0.0, 1.0, 1.0]))))


def test_zero_inflated_poisson_fisher_information_by_simulation():
    loss = go.get_loss("zero_inflated_poisson", curvature="fisher", normalize=False)
    for pi, lam in [(0.2, 0.5), (0.5, 3.0), (0.05, 8.0)]:
        y = ZeroInflatedPoissonDistribution(np.full(200_000, pi), np.full(200_000, lam)).sample(1, random_state=2)[:, 0]
        m = np.column_stack([np.full(y.size, special.logit(pi)), np.full(y.size, math.log(lam))])
        grad, hess = loss.grad_hess(y, m)
        g = grad.astype(np.float64)
        for j in range(2):
            assert hess[0, j] == pytest.approx(np.mean(g[:, j] ** 2), abs=5 * np.std(g[:, j] ** 2) / math.sqrt(y.size))


_EXTREME_LABELS = [np.array([5e-324, 0.0, 0.0]), np.array([1e300, 1e300]), np.array([0.0, 5e-324]),
                   np.array([1e-300, 1e300, 0.0]), np.array([0.0, 0.0, 0.0]), np.array([3.0, 3.0, 3.0])]


@pytest.mark.parametrize("name", FAMILIES)
@pytest.mark.parametrize("index", range(len(_EXTREME_LABELS)))
def test_init_score_and_derivatives_finite_at_float64_limits(name, index):
    # (tests/test_extremes.py draws labels by link, not by label domain, for multi-output losses.)
    loss = go.get_loss(name)
    y = _EXTREME_LABELS[index]
    if name == "zero_inflated_poisson":
        y = np.floor(np.minimum(y, 1e15))
    for w in (None, np.r_[5e-324, np.ones(y.size - 1)], np.r_[1e300, np.full(y.size - 1, 1e-300)]):
        c = loss.init_score(y, w)
        assert np.all(np.isfinite(c)), (y, w, c)
        for margin in (np.tile(c, (y.size, 1)), np.full((y.size, loss.n_outputs), 1e3),
                       np.full((y.size, loss.n_outputs), -1e3)):
            g, h = loss.grad_hess(y, margin, w)
            assert np.all(np.isfinite(g)) and np.all(np.isfinite(h)) and np.all(h > 0)


# ---------------------------------------------------------------------------
# Bad input
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", FAMILIES)
@pytest.mark.parametrize("bad", [-1.0, np.nan, np.inf])
def test_bad_labels_raise(name, bad):
    loss = go.get_loss(name)
    if name == "zero_inflated_poisson":
        with pytest.raises(ValueError, match="integer"):
            loss.init_score(np.array([0.0, 1.5]))
    y = np.array([0.0, 1.0, bad])
    with pytest.raises(ValueError):
        loss.init_score(y)
    with pytest.raises(ValueError):
        loss.grad_hess(y, np.zeros((3, loss.n_outputs)))


@pytest.mark.parametrize("power, match", [(1.0, "strictly between"), (2.0, "strictly between"), (0.5, "power"),
                                          (2.5, "power"), (np.nan, "power"), ("1.5", "power")])
def test_bad_power_raises(power, match):
    with pytest.raises(ValueError, match=match):
        go.get_loss("tweedie_dispersion", power=power)
    with pytest.raises(ValueError, match=match):
        TweedieDistribution([1.0], [1.0], power=power)


@pytest.mark.parametrize("name", FAMILIES)
def test_bad_curvature_raises(name):
    with pytest.raises(ValueError, match="curvature"):
        go.get_loss(name, curvature="newton")


@pytest.mark.parametrize("make, match", [
    (lambda: HurdleGammaDistribution([1.2], [1.0], [1.0]), "prob_positive"),
    (lambda: HurdleGammaDistribution([0.5], [-1.0], [1.0]), "positive_mean"),
    (lambda: HurdleGammaDistribution([0.5], [1.0], [0.0]), "shape"),
    (lambda: HurdleGammaDistribution([np.nan], [1.0], [1.0]), "non-finite"),
    (lambda: HurdleLognormalDistribution([-0.1], [0.0], [1.0]), "prob_positive"),
    (lambda: HurdleLognormalDistribution([0.5], [np.inf], [1.0]), "non-finite"),
    (lambda: HurdleLognormalDistribution([0.5], [0.0], [-1.0]), "sdlog"),
    (lambda: ZeroInflatedPoissonDistribution([1.5], [1.0]), "zero_inflation"),
    (lambda: ZeroInflatedPoissonDistribution([0.5], [0.0]), "rate"),
    (lambda: TweedieDistribution([0.0], [1.0]), "mu"),
    (lambda: TweedieDistribution([1.0], [-2.0]), "dispersion"),
    (lambda: TweedieDistribution([1.0], [np.nan]), "non-finite"),
])
def test_bad_parameters_raise(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_logpdf_outside_the_support_is_minus_infinity():
    for dist in (HurdleGammaDistribution([0.5], [1.0], [2.0]), HurdleLognormalDistribution([0.5], [0.0], [1.0]),
                 TweedieDistribution([1.0], [1.0])):
        assert dist.logpdf(-1.0)[0] == -np.inf
        assert dist.cdf(-1.0)[0] == 0.0
        with pytest.raises(ValueError):
            dist.logpdf(np.nan)


# ---------------------------------------------------------------------------
# Training through both boosters
# ---------------------------------------------------------------------------


def _synthetic(name, n, seed):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    if name == "tweedie_dispersion":
        params = np.column_stack([np.exp(0.5 + 0.6 * X[:, 0]), np.exp(0.3 + 0.5 * X[:, 1])])
    elif name == "hurdle_gamma":
        params = np.column_stack([special.expit(-0.3 + 1.2 * X[:, 0]), np.exp(1 + 0.5 * X[:, 1]),
                                  np.exp(0.5 + 0.5 * X[:, 2])])
    elif name == "zero_inflated_poisson":
        params = np.column_stack([special.expit(-0.8 + 1.0 * X[:, 0]), np.exp(0.8 + 0.5 * X[:, 1])])
    else:
        params = np.column_stack([special.expit(-0.3 + 1.2 * X[:, 0]), 1 + 0.5 * X[:, 1],
                                  np.exp(-0.3 + 0.3 * X[:, 2])])
    y = go.get_loss(name).distribution(params).sample(1, random_state=rng)[:, 0]
    return X, y, params


def _train(booster, loss, X, y, rounds):
    if booster == "xgboost":
        import xgboost as xgb

        from gbm_objectives import xgboost as gx

        model = gx.train(loss, {"max_depth": 3, "eta": 0.05, "nthread": 1}, xgb.DMatrix(X, label=y), rounds)
        return lambda Z: gx.predict(model, Z, output="margin")
    import lightgbm as lgb

    from gbm_objectives import lightgbm as gl

    params = {"max_depth": 3, "num_leaves": 8, "learning_rate": 0.05, "num_threads": 1, "verbose": -1}
    model = gl.train(loss, params, lgb.Dataset(X, label=y), rounds)
    return lambda Z: gl.predict(model, Z, output="margin")


@pytest.mark.parametrize("booster", ["xgboost", "lightgbm"])
@pytest.mark.parametrize("name", FAMILIES)
def test_boosting_approaches_the_true_model_and_calibrates_zeros(name, booster):
    pytest.importorskip(booster)
    n_train, n_test = 3000, 3000
    X, y, params = _synthetic(name, n_train + n_test, seed=11)
    loss = go.get_loss(name)
    Xt, yt, Xv, yv = X[:n_train], y[:n_train], X[n_train:], y[n_train:]
    # 100 rounds at eta 0.05: past about 150 the scale outputs start to overfit 3,000 rows.
    margin = _train(booster, loss, Xt, yt, 100)(Xv)
    nll = loss.loss(yv, margin)
    truth = -loss.distribution(params[n_train:]).logpdf(yv).mean()
    start = loss.loss(yv, np.tile(loss.init_score(yt), (n_test, 1)))
    assert nll < start - 0.5 * (start - truth)
    assert nll < truth * 1.03, (nll, truth)
    # P(y = 0): the mean prediction within 2 points of the held-out share.
    p0 = loss.distribution(loss.parameters(margin)).prob_zero()
    assert abs(p0.mean() - np.mean(yv == 0)) < 0.02
