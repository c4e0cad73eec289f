"""Accuracy of the vectorisable exp/log used by the kernels, over the full float64 range."""

from __future__ import annotations

import math

import numpy as np
import pytest
from numba import njit
from scipy.special import expit

from gbm_objectives.kernels._fastmath import (
    fast_exp,
    fast_exp_nonpositive,
    fast_log,
    fast_log1p,
    fast_sigmoid_pair,
    fast_softplus,
)

TINY = np.finfo(np.float64).tiny


@njit(error_model="numpy")
def _exp(x, out):
    for i in range(x.shape[0]):
        out[i] = fast_exp(x[i])


@njit(error_model="numpy")
def _exp_nonpositive(x, out):
    for i in range(x.shape[0]):
        out[i] = fast_exp_nonpositive(x[i])


@njit(error_model="numpy")
def _log(x, out):
    for i in range(x.shape[0]):
        out[i] = fast_log(x[i])


@njit(error_model="numpy")
def _log1p(x, out):
    for i in range(x.shape[0]):
        out[i] = fast_log1p(x[i])


@njit(error_model="numpy")
def _softplus(x, out):
    for i in range(x.shape[0]):
        out[i] = fast_softplus(x[i])


@njit(error_model="numpy")
def _sigmoid(x, p, q):
    for i in range(x.shape[0]):
        p[i], q[i] = fast_sigmoid_pair(x[i])


def _apply(fn, x):
    out = np.empty_like(x)
    fn(x, out)
    return out


def _ulps(got, want):
    """Error in units of the last place of ``want`` (normal results only)."""
    return np.abs(got - want) / np.spacing(np.abs(want))


def test_exp_matches_numpy_within_a_few_ulp_over_the_whole_range(rng):
    x = np.concatenate([
        rng.uniform(-760.0, 720.0, 200_000),
        rng.uniform(-1.0, 1.0, 100_000),
        rng.uniform(-1e-8, 1e-8, 10_000),
        [0.0, -0.0, 1e-300, -1e-300, 709.78, 709.79, -708.39, -708.4, -745.1, -745.2, 800.0, -800.0],
    ])
    got = _apply(_exp, x)
    with np.errstate(over="ignore", under="ignore"):
        want = np.exp(x)
    normal = np.isfinite(want) & (want >= TINY)
    assert _ulps(got[normal], want[normal]).max() <= 4
    # Subnormal results are exact to the subnormal spacing; overflow and underflow agree.
    sub = (want < TINY) & (want > 0)
    assert np.abs(got[sub] - want[sub]).max() <= 2 * 5e-324
    np.testing.assert_array_equal(got[want == 0], 0.0)
    np.testing.assert_array_equal(np.isinf(got), np.isinf(want))


def test_exp_is_exactly_one_at_zero_and_monotone_on_a_fine_grid():
    assert _apply(_exp, np.array([0.0, -0.0])).tolist() == [1.0, 1.0]
    grid = np.linspace(-20.0, 20.0, 400_001)
    assert np.all(np.diff(_apply(_exp, grid)) >= 0.0)


def test_exp_nonpositive_is_accurate_for_float32_results_and_clamps_far_below(rng):
    x = np.concatenate([-(10.0 ** rng.uniform(-12.0, np.log10(708.0), 200_000)), [0.0, -1e-300, -708.0]])
    got = _apply(_exp_nonpositive, x)
    np.testing.assert_allclose(got, np.exp(x), rtol=1e-12, atol=0)
    assert got[-3] == 1.0
    # Below -708 the result stays at exp(-708): zero once rounded to float32, like exp itself.
    far = _apply(_exp_nonpositive, np.array([-709.0, -800.0, -1e300]))
    np.testing.assert_allclose(far, np.exp(-708.0), rtol=1e-12)
    assert np.all(far.astype(np.float32) == 0.0)


def test_log_matches_numpy_within_one_ulp_including_subnormals_and_specials(rng):
    x = np.concatenate([
        np.exp(rng.uniform(-744.0, 709.0, 200_000)),
        rng.uniform(0.5, 2.0, 100_000),
        1.0 + rng.uniform(-1e-12, 1e-12, 10_000),
        [5e-324, 1e-310, TINY, 1.0, 2.0, np.nextafter(1.0, 2.0), np.nextafter(1.0, 0.0), np.finfo(np.float64).max],
    ])
    got = _apply(_log, x)
    # libm's log is the oracle: NumPy's own SIMD log is 2 ulp off it in numpy 1.26.
    want = np.frompyfunc(math.log, 1, 1)(x).astype(np.float64)
    nonzero = want != 0.0
    assert _ulps(got[nonzero], want[nonzero]).max() <= 1
    np.testing.assert_array_equal(got[~nonzero], 0.0)
    special = _apply(_log, np.array([0.0, np.inf, -1.0]))
    assert special[0] == -np.inf and special[1] == np.inf and np.isnan(special[2])


def test_log1p_is_accurate_for_tiny_and_large_arguments(rng):
    x = np.concatenate([
        rng.uniform(-0.999, 10.0, 100_000),
        10.0 ** rng.uniform(-300.0, 300.0, 100_000),
        -(10.0 ** rng.uniform(-300.0, -0.01, 100_000)),
        [0.0, 1e-20, -1e-20],
    ])
    got = _apply(_log1p, x)
    want = np.log1p(x)
    nonzero = want != 0.0
    assert _ulps(got[nonzero], want[nonzero]).max() <= 2
    np.testing.assert_array_equal(got[~nonzero], want[~nonzero])


def test_softplus_matches_logaddexp_and_stays_finite(rng):
    x = np.concatenate([rng.normal(0.0, 30.0, 100_000), [-1e308, -800.0, -40.0, 0.0, 40.0, 800.0, 1e308]])
    got = _apply(_softplus, x)
    want = np.logaddexp(0.0, x)
    assert np.all(np.isfinite(got))
    positive = want > 0
    np.testing.assert_allclose(got[positive], want[positive], rtol=4e-16 * 4, atol=0)
    np.testing.assert_array_equal(got[~positive], 0.0)


@pytest.mark.parametrize("scale", [1.0, 40.0, 1e300])
def test_sigmoid_pair_matches_expit_in_both_tails(rng, scale):
    x = rng.normal(0.0, scale, 50_000)
    p = np.empty_like(x)
    q = np.empty_like(x)
    _sigmoid(x, p, q)
    for got, want in ((p, expit(x)), (q, expit(-x))):
        # Made for float32 outputs: ~3e-13 relative, far below float32's 6e-8.
        normal = want >= 2 * TINY
        np.testing.assert_allclose(got[normal], want[normal], rtol=1e-12, atol=0)
        assert np.all(got[~normal] <= 2 * TINY)
    np.testing.assert_allclose(p + q, 1.0, rtol=1e-12)
