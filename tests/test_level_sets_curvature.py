"""``multi_quantile(curvature="adaptive")``: its documented gradient and curvature,
computed here independently of the kernels, and what it is for: a level far from
its labels on the shallow side of its pinball loss reaches its quantile in a few
Newton steps, where XGBoost 3.4's MM curvature (``"mm"``) creeps."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy.special import expit

from gbm_objectives import get_loss


def _levels(margin: np.ndarray, transform: str = "max") -> np.ndarray:
    if transform == "max":
        return np.maximum.accumulate(margin, axis=1)
    return np.cumsum(np.column_stack([margin[:, 0], 1e-6 + np.logaddexp(0.0, margin[:, 1:])]), axis=1)


def documented(alphas, y, margin, w, coupling, transform):
    """The docstring's formula: XGBoost 3.4's MM pair with the bandwidth ``c_j S_j``
    times the row's relative predicted width (within [0.05, 20]), and the curvature of
    rows further than 0.45 widths from their level times ``1 + a_j (max(2 |slope|, f) - 1)`` (``f`` 0.1 under
    ``transform="max"``, 0.3 under ``"softplus"``);
    ``a_j = min(1, |share of labels above level j - (1 - alpha_j)| / min(alpha_j, 1 - alpha_j))``
    and ``c_j = 0.04 + 0.11 a_j``."""
    a = np.asarray(alphas)
    q = _levels(margin, transform)
    r = q - y[:, None]
    ww = np.ones(len(y)) if w is None else w
    above = np.average(y[:, None] > q, axis=0, weights=ww)
    accel = np.minimum(1.0, np.abs(above - (1.0 - a)) / np.minimum(a, 1.0 - a))
    c = 0.04 + 0.11 * accel
    scale = (np.average(np.sqrt(np.abs(r)), axis=0, weights=ww)) ** 2
    width = q[:, -1] - q[:, 0]
    rel = np.clip(width / np.average(width, weights=ww), 0.05, 20.0)[:, None]
    b = c[None, :] * scale[None, :] * rel
    x = r / b
    ratio = np.maximum(np.tanh(x) / x, 3e-4)
    g = 0.5 * scale * (np.tanh(x) + 1.0 - 2.0 * a)
    slope = np.where(r >= 0, 1.0 - a, a)
    far = np.abs(r) > 0.45 * width[:, None]
    min_side = 0.1 if transform == "max" else 0.3
    h = scale * ratio / (2.0 * b) * np.where(far, 1.0 + accel * (np.maximum(2.0 * slope, min_side) - 1.0), 1.0)
    # transform="max": each margin is its own level (s_j = 1)
    s = np.ones_like(margin) if transform == "max" else np.column_stack([np.ones(len(y)), expit(margin[:, 1:])])
    if coupling == "chain":
        g = np.cumsum(g[:, ::-1], axis=1)[:, ::-1]
        h = np.cumsum(h[:, ::-1], axis=1)[:, ::-1]
    return ww[:, None] * s * g, ww[:, None] * s * s * h


@pytest.mark.parametrize(("transform", "coupling"), [("max", "level"), ("softplus", "level"), ("softplus", "chain")])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("alphas", [(0.05, 0.5, 0.95), (0.2, 0.8), (0.1, 0.3, 0.6, 0.9)])
def test_adaptive_curvature_is_its_documented_formula(alphas, weighted, transform, coupling):
    rng = np.random.default_rng(3)
    n, k = 257, len(alphas)  # not a multiple of the kernels' block of rows
    # Prices-like labels, levels whose widths span both bounds of the relative width, rows far outside them.
    y = rng.lognormal(7.0, 1.0, n)
    base = y * rng.uniform(0.3, 1.5, n)
    gaps = np.exp(rng.uniform(np.log(0.01), np.log(300.0), (n, k - 1)))
    gaps[:5] = 1e5
    if transform == "max":
        margin = base[:, None] + np.cumsum(gaps, axis=1)
        margin = np.column_stack([base, margin])
        # some rows whose margins cross: the cumulative maximum holds their levels
        margin[5:40, 1:] -= rng.uniform(0.0, 2.0, (35, 1)) * margin[5:40, 1:]
    else:
        margin = np.column_stack([base, gaps + np.log(-np.expm1(-gaps))])  # softplus^-1
    w = rng.uniform(0.2, 3.0, n) if weighted else None
    loss = get_loss("multi_quantile", alphas=alphas, coupling=coupling, transform=transform)
    assert loss.curvature == "adaptive"  # the default
    grad, hess = loss.grad_hess(y, margin, w)
    g_ref, h_ref = documented(alphas, y, margin, w, coupling, transform)
    assert_allclose(grad, g_ref, rtol=1e-6, atol=1e-9 * np.abs(g_ref).max())
    assert_allclose(hess, h_ref, rtol=1e-6)
    assert np.all(hess > 0)
    q = _levels(margin, transform)
    rel = (q[:, -1] - q[:, 0]) / np.average(q[:, -1] - q[:, 0], weights=w)
    assert rel.min() < 0.05 and rel.max() > 20.0  # both bounds exercised


def test_a_level_at_its_quantile_takes_xgboost_mm_steps():
    """With every level at its quantile (a_j = 0) the adaptive curvature is XGBoost 3.4's MM surrogate with the
    bandwidth scaled by the row's relative width, and no far-row factor: narrow steps whose fixed point is the
    quantile, so a converged level does not take the wide steps that fit noise."""
    rng = np.random.default_rng(8)
    alphas = (0.1, 0.5, 0.9)
    y = rng.normal(size=400)
    q = np.quantile(y, alphas) + 1e-9
    margin = get_loss("multi_quantile", alphas=alphas).link.link(np.tile(q, (400, 1)))
    loss = get_loss("multi_quantile", alphas=alphas)
    sums = loss.global_sums(y, margin, np.empty(0))
    assert_allclose(loss._acceleration(sums), 0.0, atol=0.01)
    g_a, h_a = loss.grad_hess(y, margin)
    g_m, h_m = get_loss("multi_quantile", alphas=alphas, curvature="mm").grad_hess(y, margin)
    # Equal widths on every row (relative width 1): the two curvatures agree up to the 1% of acceleration left.
    assert_allclose(g_a, g_m, rtol=0.02, atol=1e-6)
    assert_allclose(h_a, h_m, rtol=0.02)


@pytest.mark.parametrize("transform", ["max", "softplus"])
def test_global_sums_end_with_the_weighted_width(transform):
    rng = np.random.default_rng(4)
    y = rng.normal(0.0, 3.0, 100)
    margin = rng.normal(0.0, 2.0, (100, 3))
    w = rng.uniform(0.5, 2.0, 100)
    loss = get_loss("multi_quantile", alphas=(0.1, 0.5, 0.9), transform=transform)
    sums = loss.global_sums(y, margin, w)
    assert sums.shape == (4 * 3 + 1,)
    q = _levels(margin, transform)
    assert sums[-1] == pytest.approx(np.sum(w * (q[:, -1] - q[:, 0])), rel=1e-12)
    # each level's weight of labels above it (how far it is from its quantile)
    assert_allclose(sums[3:12:4], [np.sum(w * (y > q[:, j])) for j in range(3)], rtol=1e-12)
    # every row at the same level: zero width, which the curvature floors rather than divides by;
    # levels that overflow to inf (huge margins): widths and their mean are inf
    flat = np.column_stack([np.zeros(100), np.full((100, 2), -800.0)])
    huge = np.column_stack([np.full(100, 1e308), np.full((100, 2), 1e308)])
    for extreme in (flat, huge, np.where(np.arange(100)[:, None] % 2 == 0, huge, flat)):
        for transform, coupling in (("max", "level"), ("softplus", "level"), ("softplus", "chain")):
            grad, hess = get_loss(
                "multi_quantile", alphas=(0.1, 0.5, 0.9), coupling=coupling, transform=transform
            ).grad_hess(y, extreme, w)
            assert np.all(np.isfinite(grad)) and np.all(np.isfinite(hess)) and np.all(hess > 0)


def _one_leaf_newton(loss, y, margin, steps, learning_rate):
    """``steps`` damped Newton steps of one leaf holding every row (a constant model per margin)."""
    m = margin.copy()
    for _ in range(steps):
        g, h = loss.grad_hess(y, np.repeat(m[None, :], y.shape[0], axis=0))
        m = m - learning_rate * g.sum(axis=0) / h.sum(axis=0)
    return m


def _pinball(y, levels, alphas):
    d = y[:, None] - levels[None, :]
    a = np.asarray(alphas)
    return np.mean(np.maximum(a * d, (a - 1.0) * d), axis=0)


@pytest.mark.parametrize(("transform", "steps"), [("max", 100), ("softplus", 60)])
def test_a_level_far_on_its_shallow_side_reaches_its_quantile_where_mm_creeps(transform, steps):
    """Every level starts far above the labels (a leaf of cheap diamonds under the
    whole table's quantiles): the 0.95 level's pinball slope there is 0.05, on which
    the MM quadratic moves it 10% of the way per step. With boosting's shrinkage of
    0.1 the adaptive curvature gets that level's pinball within 2% of its minimum
    (in 100 steps on its own under ``transform="max"``; in 60 under ``"softplus"``,
    where the lowest level, on its steep side, carries it down); ``"mm"`` is still
    more than twice its minimum."""
    rng = np.random.default_rng(5)
    alphas = (0.05, 0.5, 0.95)
    y = rng.lognormal(6.0, 0.5, 2000)
    best = _pinball(y, np.quantile(y, alphas), alphas)[2]
    adaptive = get_loss("multi_quantile", alphas=alphas, transform=transform)
    mm = get_loss("multi_quantile", alphas=alphas, curvature="mm", transform=transform)
    start = adaptive.link.link(np.array([[5000.0, 8000.0, 12000.0]]))[0]
    top = {}
    for name, loss in (("adaptive", adaptive), ("mm", mm)):
        levels = loss.link.inverse(_one_leaf_newton(loss, y, start, steps, 0.1)[None, :])[0]
        assert np.all(np.diff(levels) > 0)
        top[name] = _pinball(y, levels, alphas)[2]
    assert top["adaptive"] <= 1.02 * best
    assert top["mm"] > 2.0 * best
