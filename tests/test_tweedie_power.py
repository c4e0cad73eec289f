"""The Tweedie power by profile likelihood: the density, the dispersion, the interval, the estimator.

The series density is checked against statsmodels' Tweedie family (scipy's
Wright-Bessel function, an independent method), against the compound
Poisson-Gamma mixture summed term by term, against numerical integration and
against the saddlepoint limit. Boosters run single-threaded on small data
with few rounds.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, optimize, stats
from scipy.special import logsumexp

from gbm_objectives._tweedie_profile import (
    CHI2_1_95,
    _max_over_dispersion,
    _mean_model_error,
    _mean_model_interval,
    _profile_from_oof,
    _profile_interval,
)
from gbm_objectives.ablation import TweediePowerEstimate, estimate_tweedie_power
from gbm_objectives.tweedie_density import _log_series, _loglik, sample_tweedie, tweedie_log_density
from gbm_objectives.tweedie_power import DEFAULT_LIKELIHOOD_POWERS

FAST = {"num_boost_round": 25, "cv": 3, "progress": False, "params": {"max_depth": 3}}
CELLS = {**FAST, "params": {"max_depth": 2, "min_child_weight": 50}}
COARSE = (1.2, 1.3, 1.4, 1.5, 1.6, 1.7, 1.8)


def _mixture_log_density(y: float, mu: float, phi: float, p: float) -> float:
    """log f(y) as sum_j Poisson(j; lambda) Gamma(y; j a, scale) over every j that matters."""
    lam = mu ** (2 - p) / (phi * (2 - p))
    a = (2 - p) / (p - 1)
    scale = phi * (p - 1) * mu ** (p - 1)
    if y == 0:
        return -lam
    centre = y ** (2 - p) / ((2 - p) * phi)
    j = np.arange(1, int(centre + 60 * math.sqrt(centre + 1) + 200))
    return float(logsumexp(stats.poisson.logpmf(j, lam) + stats.gamma.logpdf(y, j * a, scale=scale)))


def _cells(n: int, power: float, phi: float, seed: int):
    """Four cells of known mean: the booster learns the mean almost exactly.

    The interval is conditional on the out-of-fold means; noise in a weak
    mean model inflates the apparent variance and pulls the power toward 2
    (benchmarks/TWEEDIE_POWER.md), so recovery is tested where the mean is
    learnable.
    """
    rng = np.random.default_rng(seed)
    level = rng.integers(0, 4, n)
    X = np.column_stack([level, rng.normal(size=n)])
    mu = np.exp(np.array([-0.5, 0.0, 0.5, 1.0])[level])
    return X, sample_tweedie(mu, phi, power, random_state=rng), mu


def _synthetic(n: int, power: float, phi: float, seed: int):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    mu = np.exp(0.3 + 0.5 * X[:, 0] - 0.4 * X[:, 1])
    return X, sample_tweedie(mu, phi, power, random_state=rng), mu


# ---------------------------------------------------------------------------
# The density
# ---------------------------------------------------------------------------


def test_the_density_and_sampler_stay_importable_from_tweedie_power():
    from gbm_objectives import tweedie_density, tweedie_power

    for name in ("tweedie_log_density", "sample_tweedie", "_log_series"):
        assert getattr(tweedie_power, name) is getattr(tweedie_density, name)
    assert {"tweedie_log_density", "sample_tweedie"} <= set(tweedie_power.__all__)


@pytest.mark.parametrize("power", [1.3, 1.5, 1.7, 1.9, 1.95])
@pytest.mark.parametrize("phi", [0.02, 1.0, 30.0])
def test_log_density_matches_statsmodels(power, phi, rng):
    sm_family = pytest.importorskip("statsmodels.genmod.families")
    if not hasattr(pytest.importorskip("scipy.special"), "log_wright_bessel"):
        pytest.skip("statsmodels evaluates the density through scipy's log_wright_bessel (scipy >= 1.14) only")
    mu = np.exp(rng.normal(0.0, 2.0, 40))
    y = np.where(rng.random(40) < 0.2, 0.0, mu * np.exp(rng.normal(0.0, 1.0, 40)))
    w = rng.uniform(0.5, 3.0, 40)
    ours = tweedie_log_density(y, mu, phi, power, sample_weight=w)
    # statsmodels >= 0.14 evaluates the density through scipy's log_wright_bessel,
    # not a series, so agreement is a check by an independent method. (Below
    # p = 1.3 that function loses accuracy, so the mixture test covers it.)
    theirs = sm_family.Tweedie(var_power=power, eql=False).loglike_obs(y, mu, var_weights=w, scale=phi)
    np.testing.assert_allclose(ours, theirs, rtol=1e-8, atol=1e-9)


@pytest.mark.parametrize("power", [1.02, 1.05, 1.1, 1.2, 1.5, 1.8, 1.98])
@pytest.mark.parametrize("phi", [0.05, 1.0, 20.0])
def test_log_density_matches_the_poisson_gamma_mixture(power, phi):
    mu = 2.5
    for y in (0.0, 1e-6, 0.01, 0.7, 2.5, 11.0, 80.0):
        expected = _mixture_log_density(y, mu, phi, power)
        got = float(tweedie_log_density([y], mu, phi, power)[0])
        assert got == pytest.approx(expected, rel=1e-9, abs=1e-9), (y, got, expected)


def test_zero_is_the_poisson_zero_term():
    mu = np.array([0.01, 1.0, 40.0, 3e4])
    for p in (1.05, 1.5, 1.95):
        got = tweedie_log_density(np.zeros(4), mu, 3.0, p)
        np.testing.assert_allclose(got, -mu ** (2 - p) / (3.0 * (2 - p)), rtol=1e-14)


@pytest.mark.parametrize("mu,phi,power", [
    (1.0, 1.0, 1.5), (3.0, 0.3, 1.2), (0.5, 2.0, 1.8), (20.0, 0.05, 1.5), (2.0, 5.0, 1.1), (1.5, 0.5, 1.95),
])
def test_density_integrates_to_one_minus_the_zero_mass(mu, phi, power):
    def density(y):
        return math.exp(float(tweedie_log_density([y], mu, phi, power)[0]))

    a = (2 - power) / (power - 1)
    sd = math.sqrt(phi * mu ** power)
    upper = mu + 60.0 * sd + 60.0 * phi * mu ** (power - 1.0)
    # Near 0 the density behaves like y**(a - 1), singular for p > 1.5:
    # y = u**(1/a) turns the first piece into a smooth integrand. The cuts
    # around the mean catch the narrow peak of a small dispersion.
    first = max(mu - 5 * sd, 0.0) / 2 or mu / 2
    cuts = sorted({first, max(mu - 5 * sd, first), mu, mu + 5 * sd, upper})
    head = integrate.quad(lambda u: density(u ** (1 / a)) * u ** (1 / a - 1) / a, 0.0, first ** a,
                          limit=400, epsabs=1e-13, epsrel=1e-11)[0]
    total = head + sum(integrate.quad(density, lo, hi, limit=400, epsabs=1e-13, epsrel=1e-11)[0]
                       for lo, hi in zip(cuts[:-1], cuts[1:]) if hi > lo)
    zero_mass = math.exp(-mu ** (2 - power) / (phi * (2 - power)))
    assert total == pytest.approx(1.0 - zero_mass, abs=1e-9)


@pytest.mark.parametrize("power", [1.05, 1.5, 1.95])
def test_large_y_small_dispersion_meet_the_saddlepoint_limit(power):
    # As phi -> 0 the density tends to the saddlepoint form
    # -log(2 pi phi y^p) / 2 - deviance / (2 phi), with error O(phi).
    phi, mu = 1e-5, 5e4
    y = np.array([4.99e4, 5e4, 5.02e4])
    dev = 2 * (y ** (2 - power) / ((1 - power) * (2 - power)) - y * mu ** (1 - power) / (1 - power)
               + mu ** (2 - power) / (2 - power))
    saddle = -0.5 * np.log(2 * np.pi * phi * y ** power) - dev / (2 * phi)
    got = tweedie_log_density(y, mu, phi, power)
    np.testing.assert_allclose(got, saddle, atol=1e-3)


def test_strided_series_equals_the_sum_of_every_term(rng):
    # Many terms (large y, small phi) are summed with a stride; it must agree
    # with the plain sum of all terms.
    y = np.exp(rng.uniform(0.0, 9.0, 30))
    mu = y * np.exp(rng.normal(0.0, 0.3, 30))
    w = np.ones(30)
    for p in (1.05, 1.3, 1.6, 1.9):
        for log_phi in (-6.0, -2.0, 0.0):
            strided = _loglik(y, mu, w, log_phi, p, True)
            every = _loglik(y, mu, w, log_phi, p, False)
            np.testing.assert_allclose(strided[0], every[0], rtol=1e-10, atol=1e-9)
            # The derivatives in log phi come from the mean and variance of j
            # under the terms' weights; the strided walk must give those too.
            for yi in y:
                a, b = _log_series(yi, log_phi, p, True), _log_series(yi, log_phi, p, False)
                np.testing.assert_allclose(a, b, rtol=1e-7)


def test_weights_scale_the_dispersion(rng):
    y = sample_tweedie(2.0, 1.5, 1.6, size=50, random_state=rng)
    w = rng.uniform(0.2, 5.0, 50)
    weighted = tweedie_log_density(y, 2.0, 1.5, 1.6, sample_weight=w)
    one_by_one = [float(tweedie_log_density([yi], 2.0, 1.5 / wi, 1.6)[0]) for yi, wi in zip(y, w)]
    np.testing.assert_allclose(weighted, one_by_one, rtol=1e-13)


def test_sample_tweedie_has_the_tweedie_moments():
    mu, phi, p = 3.0, 2.0, 1.4
    y = sample_tweedie(mu, phi, p, size=400_000, random_state=5)
    se = math.sqrt(phi * mu ** p / y.size)
    assert abs(y.mean() - mu) < 5 * se
    assert y.var() == pytest.approx(phi * mu ** p, rel=0.03)
    assert np.mean(y == 0) == pytest.approx(math.exp(-mu ** (2 - p) / (phi * (2 - p))), abs=0.003)


def test_density_derivatives_match_finite_differences(rng):
    y = np.concatenate(([0.0, 0.0], sample_tweedie(1.7, 0.8, 1.45, size=40, random_state=rng)))
    mu = np.full(y.shape, 1.7)
    w = rng.uniform(0.5, 2.0, y.shape[0])
    h = 1e-4
    for t in (-1.0, 0.3, 2.0):
        ll, d1, d2 = _loglik(y, mu, w, t, 1.45)
        up, down = _loglik(y, mu, w, t + h, 1.45)[0], _loglik(y, mu, w, t - h, 1.45)[0]
        np.testing.assert_allclose(d1, (up - down) / (2 * h), rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(d2, (up - 2 * ll + down) / h ** 2, rtol=1e-3, atol=1e-5)


def test_dispersion_is_the_maximum_likelihood(rng):
    mu = np.exp(rng.normal(0.0, 1.0, 300))
    y = sample_tweedie(mu, 3.0, 1.6, random_state=rng)
    w = np.ones_like(y)
    ll, phi = _max_over_dispersion(y, mu, w, 1.6)

    def neg(t):
        return -float(_loglik(y, mu, w, t, 1.6)[0].sum())

    brute = optimize.minimize_scalar(neg, bounds=(-5.0, 5.0), method="bounded", options={"xatol": 1e-10})
    assert math.log(phi) == pytest.approx(brute.x, abs=1e-6)
    assert ll == pytest.approx(-brute.fun, rel=1e-12)
    assert ll >= -neg(math.log(phi) + 1e-3) and ll >= -neg(math.log(phi) - 1e-3)


# ---------------------------------------------------------------------------
# The interval
# ---------------------------------------------------------------------------


def test_interval_of_a_quadratic_profile_is_exact():
    grid = np.round(np.arange(1.05, 1.96, 0.05), 2)
    centre, sd = 1.432, 0.021
    ll = -0.5 * ((grid - centre) / sd) ** 2 - 1000.0
    power, best, ci, open_ = _profile_interval(grid, ll)
    assert power == pytest.approx(centre, abs=1e-12)
    assert best == pytest.approx(-1000.0, abs=1e-9)
    half = math.sqrt(CHI2_1_95) * sd
    assert ci == pytest.approx((centre - half, centre + half), abs=1e-12)
    assert open_ == (False, False)


def test_interval_cut_by_the_grid_is_flagged():
    grid = np.array([1.3, 1.4, 1.5, 1.6])
    ll = np.array([-10.0, -10.2, -10.9, -13.0])  # still within 1.92 at the left edge
    power, _, ci, open_ = _profile_interval(grid, ll)
    assert power == 1.3 and open_ == (True, False)
    assert ci[0] == 1.3 and 1.5 < ci[1] < 1.6


# ---------------------------------------------------------------------------
# The interval that carries the mean models' error
# ---------------------------------------------------------------------------

GRID = np.round(np.arange(1.3, 1.91, 0.05), 2)


def _oracle_profile(y, log_mu):
    """The profile likelihood with the same means at every grid power (as the study's oracle)."""
    return _profile_from_oof(y, None, np.broadcast_to(np.exp(log_mu), (len(GRID), y.shape[0])), GRID, 10)


@pytest.fixture(scope="module")
def exact():
    _, y, mu = _synthetic(4000, 1.6, 2.0, seed=11)
    return y, np.log(mu), _oracle_profile(y, np.log(mu))


def test_the_interval_is_the_profile_one_when_the_fold_models_agree(exact):
    # With the true means every fold model predicts the same: no error to carry.
    y, log_mu, lik = exact
    adjusted = _mean_model_interval(lik, GRID, 10, np.tile(log_mu, (5, 1)))
    assert adjusted["var_mean_model"] == 0.0 and adjusted["bias_mean_model"] == 0.0
    assert adjusted["inflation"] == 1.0
    assert adjusted["ci"] == lik["ci"] and adjusted["ci_open"] == lik["ci_open"]


def test_the_profile_variance_is_the_curvature_of_the_profile(exact):
    # (-H^-1)_pp of the joint (p, log phi) Hessian is 1 / curvature of the profile over phi: the interval's width.
    y, log_mu, lik = exact
    err = _mean_model_error(lik["y"], lik["w"], np.exp(log_mu), lik["power"], lik["best_dispersion"],
                            np.tile(log_mu, (3, 1)))
    half = math.sqrt(CHI2_1_95 * err["var_profile"])
    assert lik["ci"][1] - lik["ci"][0] == pytest.approx(2.0 * half, rel=0.05)


def _noisy_folds(log_mu, sd, k, rng):
    """Fold models whose group-jackknife variance of log mu is sd^2 at every row, centred on log_mu.

    Deviations are +-sd sqrt(k / (k - 1) / k) times a random sign pattern per row, so their average is 0
    and (k - 1)/k sum_k dev^2 = sd^2.
    """
    signs = rng.choice([-1.0, 1.0], size=(k // 2, log_mu.shape[0]))
    dev = np.concatenate([signs, -signs]) * sd * math.sqrt(1.0 / (k - 1.0))
    return log_mu + dev


def test_noisy_fold_models_never_narrow_the_interval(exact):
    y, log_mu, lik = exact
    rng = np.random.default_rng(4)
    for sd in (0.05, 0.2, 0.5):
        adjusted = _mean_model_interval(lik, GRID, 10, _noisy_folds(log_mu, sd, 4, rng))
        assert adjusted["inflation"] >= 1.0 and adjusted["var_mean_model"] > 0.0
        width = adjusted["ci"][1] - adjusted["ci"][0]
        assert width >= lik["ci"][1] - lik["ci"][0] - 1e-12
        assert adjusted["bias_mean_model"] > 0.0  # noise in log mu looks like variance ~ mu^2: toward p = 2
        lo, hi = lik["ci"]
        shift = adjusted["bias_mean_model"]
        assert adjusted["ci"][0] <= lo - shift + 1e-12 and adjusted["ci"][1] >= hi - shift - 1e-12
    # A shared error (every fold model off by the same tilt) has no spread across folds: it is not seen.
    tilted = np.tile(log_mu + 0.1 * (log_mu - log_mu.mean()), (4, 1))
    assert _mean_model_interval(lik, GRID, 10, tilted)["var_mean_model"] == 0.0


def test_the_bias_matches_injected_noise_in_the_means(exact):
    # Independent check of the second-order bias: perturb the true log-means by N(0, sd^2) noise, re-estimate
    # the power by the profile likelihood, and average the shift over replicates.
    y, log_mu, lik = exact
    sd = 0.25
    rng = np.random.default_rng(7)
    shifts, predicted = [], []
    for _ in range(6):
        noisy = log_mu + sd * rng.standard_normal(log_mu.shape[0])
        shifts.append(_oracle_profile(y, noisy)["power"] - lik["power"])
        err = _mean_model_error(lik["y"], lik["w"], np.exp(log_mu), lik["power"], lik["best_dispersion"],
                                _noisy_folds(log_mu, sd, 4, rng))
        predicted.append(err["bias_mean_model"])
    observed = float(np.mean(shifts))
    assert observed > 0.0
    assert float(np.mean(predicted)) == pytest.approx(observed, rel=0.15)


def test_the_linear_term_is_the_jackknife_of_the_power_over_fold_models(exact):
    # Delta method against brute force: the power re-estimated with each fold model's means alone, jackknifed.
    y, log_mu, lik = exact
    rng = np.random.default_rng(5)
    smooth = np.stack([0.03 * rng.standard_normal() * (log_mu - log_mu.mean()) for _ in range(4)])
    folds = log_mu + smooth - smooth.mean(axis=0)
    err = _mean_model_error(lik["y"], lik["w"], np.exp(log_mu), lik["power"], lik["best_dispersion"], folds)
    powers = np.array([_oracle_profile(y, f)["power"] for f in folds])
    brute = 3.0 / 4.0 * np.sum((powers - powers.mean()) ** 2)
    assert err["var_mean_model"] == pytest.approx(brute, rel=0.15)


# ---------------------------------------------------------------------------
# The estimator
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def known():
    X, y, _ = _cells(2500, 1.5, 2.0, seed=3)
    return X, y, estimate_tweedie_power(X, y, powers=COARSE, random_state=0, **CELLS)


def test_estimator_recovers_a_known_power_within_its_interval(known):
    _, _, est = known
    assert isinstance(est, TweediePowerEstimate)
    assert est.ci[0] <= 1.5 <= est.ci[1]
    assert est.ci[0] <= est.power <= est.ci[1]
    assert est.ci[1] - est.ci[0] < 0.2
    assert est.ci_open == (False, False)
    assert est.dispersion == pytest.approx(2.0, rel=0.15)
    assert est.n_scored == 2500
    assert est.ci_method == "mean_model" and est.settings["interval_method"] == "mean_model"
    info = est.settings["interval"]
    assert info["inflation"] >= 1.0 and info["grid_power"] in COARSE
    assert info["mean_model_bias"] == est.mean_model_bias
    assert est.ci[1] - est.ci[0] >= est.ci_profile[1] - est.ci_profile[0] - 1e-12
    assert est.ci_profile[0] <= est.power <= est.ci_profile[1]


def test_a_non_concave_likelihood_has_no_mean_model_variances(exact):
    y, log_mu, lik = exact
    with pytest.raises(ValueError, match="not concave"):  # a dispersion far above its maximum
        _mean_model_error(lik["y"], lik["w"], np.exp(log_mu), 1.6, 1000.0, np.tile(log_mu, (2, 1)))


def test_the_estimator_falls_back_to_the_profile_interval_with_a_warning(known, monkeypatch):
    from gbm_objectives import tweedie_power

    def refuse(*args, **kwargs):
        raise ValueError("the Tweedie log-likelihood is not concave")

    X, y, est = known
    monkeypatch.setattr(tweedie_power, "_mean_model_interval", refuse)
    with pytest.warns(UserWarning, match="not concave; ci is the profile interval"):
        plain = estimate_tweedie_power(X, y, powers=COARSE, random_state=0, **CELLS)
    assert plain.ci_method == "profile" and plain.ci == est.ci_profile and plain.power == est.power


def test_profile_interval_option_keeps_the_estimate(known):
    X, y, est = known
    plain = estimate_tweedie_power(X, y, powers=COARSE, random_state=0, interval="profile", **CELLS)
    assert plain.ci_method == "profile" and plain.ci == plain.ci_profile == est.ci_profile
    assert plain.power == est.power and plain.dispersion == est.dispersion
    assert plain.mean_model_bias == 0.0 and "interval" not in plain.settings


def test_estimate_table(known):
    _, _, est = known
    t = est.table
    assert list(t.columns) == ["power", "log_likelihood", "dispersion", "lr_statistic", "in_ci", "mae",
                               "tweedie_deviance", "fit_seconds"]
    assert t["power"].tolist() == list(COARSE)
    assert np.all(np.isfinite(t[["log_likelihood", "dispersion", "mae", "tweedie_deviance"]].to_numpy()))
    assert t["lr_statistic"].min() >= 0.0
    assert est.log_likelihood >= t["log_likelihood"].max()
    assert t["in_ci"].tolist() == [est.ci[0] <= p <= est.ci[1] for p in COARSE]
    prof = est.profile
    assert set(prof["source"]) == {"grid", "interpolated"}
    assert prof["power"].is_monotonic_increasing and est.log_likelihood >= prof["log_likelihood"].max()
    # The profile interval is the likelihood-ratio cut; the default one is the cut widened by the inflation
    # and moved by the bias.
    info = est.settings["interval"]
    for (lo, hi), level in ((est.ci_profile, CHI2_1_95),
                            ((est.ci[0] + est.mean_model_bias, est.ci[1] + est.mean_model_bias),
                             CHI2_1_95 * info["inflation"])):
        inside = prof[(prof["power"] >= lo) & (prof["power"] <= hi)]
        outside = prof[(prof["power"] < lo) | (prof["power"] > hi)]
        assert len(inside) >= 3 and inside["lr_statistic"].max() <= level
        assert outside["lr_statistic"].min() > level
    assert est.mae_power in COARSE and est.deviance_power in COARSE


def test_estimate_is_reproducible_and_records_its_seed(known):
    X, y, est = known
    again = estimate_tweedie_power(X, y, powers=COARSE, random_state=0, **CELLS)
    pd.testing.assert_frame_equal(est.table.drop(columns="fit_seconds"), again.table.drop(columns="fit_seconds"))
    drawn = estimate_tweedie_power(X[:600], y[:600], powers=(1.3, 1.5, 1.7), **{**FAST, "num_boost_round": 5})
    assert isinstance(drawn.settings["random_state"], int)


def test_plot_draws_the_profile(known):
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    _, _, est = known
    ax = est.plot()
    try:
        xs = ax.lines[0].get_xdata()
        np.testing.assert_allclose(xs, est.table["power"])
        assert any(abs(line.get_xdata()[0] - est.power) < 1e-12 for line in ax.lines[1:])
        assert ax.get_xlabel() == "Tweedie power"
    finally:
        plt.close(ax.figure)


def test_parallel_fits_and_dataframes_give_the_same_estimate():
    X, y, _ = _cells(900, 1.5, 2.0, seed=5)
    opts = {**CELLS, "num_boost_round": 10, "powers": (1.3, 1.5, 1.7), "random_state": 2}
    serial = estimate_tweedie_power(X, y, **opts)
    parallel = estimate_tweedie_power(X, y, n_jobs=2, **opts)
    frame = estimate_tweedie_power(pd.DataFrame(X, columns=["level", "z"]), pd.Series(y), **opts)
    for other in (parallel, frame):
        pd.testing.assert_frame_equal(serial.table.drop(columns="fit_seconds"),
                                      other.table.drop(columns="fit_seconds"))
        assert other.power == serial.power and other.ci == serial.ci


def test_splitters_groups_and_untested_rows():
    from sklearn.model_selection import GroupKFold, ShuffleSplit, TimeSeriesSplit

    X, y, _ = _synthetic(900, 1.5, 2.0, seed=4)
    opts = {**FAST, "num_boost_round": 10, "cv": None}
    groups = np.arange(900) // 30
    est = estimate_tweedie_power(X, y, groups=groups, powers=(1.3, 1.5, 1.7), **{**opts, "cv": GroupKFold(3)})
    assert est.n_scored == 900 and est.settings["n_folds"] == 3
    ts = estimate_tweedie_power(X, y, powers=(1.3, 1.5, 1.7), **{**opts, "cv": TimeSeriesSplit(3)})
    assert ts.n_scored == 900 - 900 // 4 - 900 % 4  # the first block is never tested
    with pytest.raises(ValueError, match="more than one test fold"):
        estimate_tweedie_power(X, y, powers=(1.3, 1.5, 1.7), **{**opts, "cv": ShuffleSplit(4, random_state=0)})


def test_lightgbm_backend_and_zero_weights():
    X, y, _ = _synthetic(900, 1.6, 1.5, seed=6)
    w = np.ones(900)
    w[:100] = 0.0
    est = estimate_tweedie_power(X, y, sample_weight=w, backend="lightgbm", powers=(1.4, 1.6, 1.8),
                                 random_state=1, **{**FAST, "num_boost_round": 15})
    assert est.n_scored == 800
    assert est.settings["backend"] == "lightgbm"
    assert np.isfinite(est.power) and est.dispersion > 0


def test_open_interval_warns():
    X, y, _ = _synthetic(900, 1.2, 2.0, seed=7)
    with pytest.warns(UserWarning, match="widen powers"):
        est = estimate_tweedie_power(X, y, powers=(1.5, 1.6, 1.7), random_state=0, **{**FAST, "num_boost_round": 10})
    assert est.ci_open[0] and est.power == 1.5


def test_default_grid():
    assert DEFAULT_LIKELIHOOD_POWERS[0] == 1.05 and DEFAULT_LIKELIHOOD_POWERS[-1] == 1.95
    assert np.allclose(np.diff(DEFAULT_LIKELIHOOD_POWERS), 0.05)


# ---------------------------------------------------------------------------
# Bad input
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small():
    X, y, _ = _synthetic(60, 1.5, 2.0, seed=8)
    return X, y


@pytest.mark.parametrize("powers,match", [
    ((0.9, 1.5, 1.7), r"\[1, 2\]"),
    ((1.3, 1.5, 2.1), r"\[1, 2\]"),
    ((1.0, 1.5, 1.7), "strictly between 1 and 2"),
    ((1.3, 1.5, 2.0), "strictly between 1 and 2"),
    ((1.3, 1.5), "at least 3"),
    ((1.3, 1.3, 1.5), "duplicates"),
    ("1.5", "sequence"),
])
def test_bad_powers(small, powers, match):
    X, y = small
    with pytest.raises(ValueError, match=match):
        estimate_tweedie_power(X, y, powers=powers, **FAST)


def test_bad_labels(small):
    X, y = small
    with pytest.raises(ValueError, match=r"y must be >= 0"):
        estimate_tweedie_power(X, np.where(np.arange(60) == 3, -1.0, y), **FAST)
    with pytest.raises(ValueError, match="NaN"):
        estimate_tweedie_power(X, np.where(np.arange(60) == 3, np.nan, y), **FAST)
    with pytest.raises(ValueError, match="infinite"):
        estimate_tweedie_power(X, np.where(np.arange(60) == 3, np.inf, y), **FAST)
    one_positive = np.zeros(60)
    one_positive[5] = 2.0
    with pytest.raises(ValueError, match="at least 2"):
        estimate_tweedie_power(X, one_positive, **FAST)
    w = np.ones(60)
    w[y > 0] = 0.0
    w[np.flatnonzero(y > 0)[0]] = 1.0
    with pytest.raises(ValueError, match="positive value"):
        estimate_tweedie_power(X, y, sample_weight=w, **FAST)


@pytest.mark.parametrize("weights,match", [
    (-np.ones(60), "non-negative"),
    (np.zeros(60), "positive sum"),
    (np.full(60, np.nan), "NaN or infinite"),
    (np.ones(59), "59 entries"),
])
def test_bad_weights(small, weights, match):
    X, y = small
    with pytest.raises(ValueError, match=match):
        estimate_tweedie_power(X, y, sample_weight=weights, **FAST)


def test_bad_options(small):
    X, y = small
    for cv, match in ((1, "cv must be an integer >= 2"), ("five", "scikit-learn splitter"), (100, "at least 100")):
        with pytest.raises(ValueError, match=match):
            estimate_tweedie_power(X, y, **{**FAST, "cv": cv})
    with pytest.raises(ValueError, match="backend"):
        estimate_tweedie_power(X, y, backend="catboost", **FAST)
    with pytest.raises(ValueError, match="deviance_power"):
        estimate_tweedie_power(X, y, deviance_power=2.0, **FAST)
    with pytest.raises(ValueError, match="random_state"):
        estimate_tweedie_power(X, y, random_state=-1, **FAST)
    for bad in ("sandwich", None, 1):
        with pytest.raises(ValueError, match="interval must be 'mean_model' or 'profile'"):
            estimate_tweedie_power(X, y, interval=bad, **FAST)


def test_density_input_errors():
    with pytest.raises(ValueError, match="y must be >= 0"):
        tweedie_log_density([-1.0], 1.0, 1.0, 1.5)
    with pytest.raises(ValueError, match="mu must be > 0"):
        tweedie_log_density([1.0], 0.0, 1.0, 1.5)
    with pytest.raises(ValueError, match="dispersion"):
        tweedie_log_density([1.0], 1.0, 0.0, 1.5)
    with pytest.raises(ValueError, match="strictly between"):
        tweedie_log_density([1.0], 1.0, 1.0, 2.0)
    with pytest.raises(ValueError, match="sample_weight must be > 0"):
        tweedie_log_density([1.0], 1.0, 1.0, 1.5, sample_weight=[0.0])
    with pytest.raises(ValueError, match="mu has 2 entries"):
        tweedie_log_density([1.0, 2.0, 3.0], [1.0, 2.0], 1.0, 1.5)
    with pytest.raises(ValueError, match="size"):
        sample_tweedie([1.0, 2.0], 1.0, 1.5, size=3)


def test_study_script_runs_on_tiny_settings(tmp_path, capsys):
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "study_tweedie_power.py"
    spec = importlib.util.spec_from_file_location("study_tweedie_power", path)
    study = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(study)
    out = tmp_path / "table.md"
    assert study.main(["--powers", "1.5", "--seeds", "1", "--n", "400", "--oracle-only"]) == 0
    assert "| 1.5 | oracle (true mu) | 1 |" in capsys.readouterr().out
    assert study.main(["--powers", "1.5", "--seeds", "2", "--n", "400", "--rounds", "5", "--cv", "2",
                       "--markdown", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "| 1.5 | booster | 2 |" in printed and "| 1.5 | oracle (true mu) | 2 |" in printed
    assert "profile CI coverage" in printed
    text = out.read_text()
    assert "coverage of 95% CI" in text and "Machine:" in text and "n = 400" in text
    records = tmp_path / "records.jsonl"
    common = {"true": 1.5, "power": 1.5, "hi": 1.52, "profile_lo": 1.49, "profile_hi": 1.51, "mae_power": 1.9,
              "dev_power": 1.4, "seconds": 2.0, "oracle_power": 1.5, "oracle_lo": 1.49, "oracle_hi": 1.51}
    records.write_text("\n".join(json.dumps({**common, "seed": seed, "lo": lo}) for seed, lo in ((0, 1.47), (1, 1.51)))
                       + "\nnot a record\n")
    assert study.main(["--powers", "1.4", "1.5", "--from-records", str(records)]) == 0
    printed = capsys.readouterr().out
    assert "| 1.5 | booster | 2 | 50% | 0.030 |" in printed and "| 1.4 |" not in printed
    assert printed.count("| 100% | 0.020 |") == 2  # the profile interval's columns and the oracle's row


def test_likelihood_sums_do_not_depend_on_the_buffer():
    """The profile's sums run in index order, so equal values in another buffer (another process, a copy at
    another address) give the same bits; NumPy's SIMD sum may differ in the last bit there."""
    from gbm_objectives.kernels._common import ordered_sum

    rng = np.random.default_rng(3)
    values = rng.normal(size=1001) * np.exp(rng.normal(size=1001) * 5)
    shifted = np.empty(1002)[1:]  # the same values 8 bytes further on
    shifted[:] = values
    sequential = 0.0
    for v in values:
        sequential += v
    assert ordered_sum(values) == ordered_sum(shifted) == sequential
    y = sample_tweedie(np.exp(rng.normal(size=600)), 2.0, 1.6, random_state=4)
    mu = np.exp(rng.normal(size=600) * 0.1) * np.mean(y)
    y_shifted = np.empty(601)[1:]
    y_shifted[:] = y
    w = np.ones(600)
    assert _max_over_dispersion(y, mu, w, 1.6) == _max_over_dispersion(y_shifted, mu.copy(), w.copy(), 1.6)
