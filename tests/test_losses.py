"""One suite over the loss registry.

Every case is a (loss, label generator) pair; the tests below run over all of
them, so a loss added to the registry is checked by every test as soon as it
has a case here (``test_every_registered_loss_has_a_case`` fails until then).
Modelled on scikit-learn's ``sklearn/_loss/tests/test_loss.py``.
"""

from __future__ import annotations

import copy
import importlib
import pickle
import pkgutil
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from numpy.testing import assert_allclose, assert_array_equal
from scipy import integrate, special
from scipy.optimize import minimize, minimize_scalar
from scipy.special import expit, softmax

import gbm_objectives
import gbm_objectives.kernels
from gbm_objectives import as_loss, available_losses, get_loss
from gbm_objectives.domains import Domain
from gbm_objectives.tweedie_density import tweedie_log_density

FLOAT32_MAX = float(np.finfo(np.float32).max)
HESS_FLOOR = 1e-16


# ---------------------------------------------------------------------------
# Cases: every registered loss, at several parameter values, with labels that
# reach the edges of its domain.
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    name: str
    params: tuple[tuple[str, Any], ...]
    labels: str

    @property
    def kwargs(self) -> dict[str, Any]:
        return dict(self.params)

    def build(self):
        return get_loss(self.name, **self.kwargs)

    def __str__(self) -> str:
        args = ",".join(f"{k}={v}" for k, v in self.params)
        return f"{self.name}({args})-{self.labels}"

    def make(self, rng: np.random.Generator, n: int):
        """Labels (and group sizes for grouped losses) for ``n`` rows."""
        return make_labels(self.labels, self.build(), rng, n)


def _case(name: str, labels: str, **params: Any) -> Case:
    return Case(name, tuple(params.items()), labels)


def _build_cases() -> list[Case]:
    cases = [_case("squared_error", "real")]
    for curvature in ("scaled", "unit"):
        cases.append(_case("absolute_error", "real", curvature=curvature))
        for alpha in (0.1, 0.5, 0.9):
            cases.append(_case("quantile", "real", alpha=alpha, curvature=curvature))
    for alpha in (0.1, 0.5, 0.9):
        cases.append(_case("expectile", "real", alpha=alpha))
    # curvature="mm" is a surrogate gradient and coupling="level" (the default) a per-level
    # direction, each checked against its own formula separately; "chain" is the loss's gradient.
    # Under transform="max" each margin is its own level: the loss's gradient wherever the margins
    # do not cross (the finite differences below keep them apart).
    for alphas in ((0.1, 0.5, 0.9), (0.25, 0.75), (0.02, 0.3, 0.6, 0.98)):
        cases.append(_case("multi_quantile", "real", alphas=alphas, curvature="scaled", coupling="chain",
                           transform="softplus"))
        cases.append(_case("multi_quantile", "real", alphas=alphas, curvature="scaled"))
    for alphas in ((0.2, 0.5, 0.8), (0.05, 0.95)):
        for transform in ("max", "softplus"):
            cases.append(_case("multi_expectile", "real", alphas=alphas, transform=transform))
    for delta in (0.5, 1.35, 5.0):
        for curvature in ("unit", "irls"):
            cases.append(_case("huber", "real", delta=delta, curvature=curvature))
        for curvature in ("exact", "irls"):
            cases.append(_case("pseudo_huber", "real", delta=delta, curvature=curvature))
    for curvature in ("irls", "exact"):
        cases.append(_case("log_cosh", "real", curvature=curvature))
    cases.append(_case("poisson", "nonneg"))
    for mds in (0.0, 2.0):
        cases.append(_case("poisson", "nonneg", max_delta_step=mds))
    cases.append(_case("gamma", "positive"))
    for power in (1.0, 1.01, 1.2, 1.5, 1.8, 1.99, 2.0):
        cases.append(_case("tweedie", "positive" if power == 2.0 else "nonneg", power=power))
    for eps in (0.0, 0.1, 0.3):
        for labels in ("binary", "soft"):
            cases.append(_case("logistic", labels, label_smoothing=eps))
    for gamma in (0.0, 0.5, 1.0, 2.0, 5.0):
        for alpha in (None, 0.25):
            for labels in ("binary", "soft"):
                cases.append(_case("focal", labels, gamma=gamma, alpha=alpha))
    for k in (2, 3, 5):
        for eps in (0.0, 0.1, 0.3):
            cases.append(_case("softmax", "classes", num_class=k, label_smoothing=eps))
    for scale in ("xgboost", "lightgbm", 1.5):
        for k in (2, 4):
            cases.append(_case("softmax", "classes", num_class=k, hessian_scale=scale))
    cases.append(_case("softmax", "classes", num_class=3, label_smoothing=0.1, hessian_scale="lightgbm"))
    for gamma in (0.0, 0.5, 2.0, 5.0):
        cases.append(_case("softmax_focal", "classes", num_class=3, gamma=gamma))
        cases.append(_case("softmax_focal", "classes", num_class=3, gamma=gamma, alpha=(0.2, 0.3, 0.5)))
    cases.append(_case("softmax_focal", "classes", num_class=2, gamma=2.0, alpha=(0.75, 0.25)))
    cases.append(_case("softmax_focal", "classes", num_class=4, gamma=1.0, alpha=(1.0, 2.0, 0.5, 3.0)))
    for temperature in (0.05, 0.1, 1.0):
        for labels in ("one_positive", "multi_positive"):
            cases.append(_case("infonce", labels, temperature=temperature))
    # normalize=True rescales each output by a statistic of the call, checked in
    # test_distribution_outputs.py; normalize=False is the exact gradient.
    for curvature in ("fisher", "hessian"):
        cases.append(_case("normal", "real", curvature=curvature, normalize=False))
    for curvature in ("fisher", "hessian"):
        cases.append(_case("lognormal", "positive", curvature=curvature, normalize=False))
        cases.append(_case("student_t", "real", curvature=curvature, normalize=False))
        cases.append(_case("negative_binomial", "counts", curvature=curvature, normalize=False))
        cases.append(_case("gamma_shape", "positive", curvature=curvature, normalize=False))
    for curvature in ("fisher", "hessian"):
        cases.append(_case("tweedie_dispersion", "nonneg", power=1.5, curvature=curvature, normalize=False))
        cases.append(_case("hurdle_gamma", "nonneg", curvature=curvature, normalize=False))
        cases.append(_case("hurdle_lognormal", "nonneg", curvature=curvature, normalize=False))
    cases.append(_case("tweedie_dispersion", "nonneg", power=1.2, curvature="fisher", normalize=False))
    for curvature in ("fisher", "hessian"):
        cases.append(_case("zero_inflated_poisson", "zero_heavy_counts", curvature=curvature, normalize=False))
    return cases


CASES = _build_cases()
CASE_IDS = [str(c) for c in CASES]


def _one_case_per_name_and_labels() -> list[Case]:
    """A smaller set for the slower property tests: every (loss, label kind),
    plus the extreme parameter values."""
    seen: set[tuple[str, str]] = set()
    chosen = []
    extremes = {("power", 1.01), ("power", 1.99), ("gamma", 5.0), ("temperature", 0.05), ("delta", 0.5)}
    for c in CASES:
        key = (c.name, c.labels)
        if key not in seen or extremes & set(c.params):
            seen.add(key)
            chosen.append(c)
    return chosen


PROPERTY_CASES = _one_case_per_name_and_labels()


def _group_sizes(rng: np.random.Generator, n: int) -> np.ndarray:
    sizes = []
    left = n
    while left > 0:
        s = int(min(rng.integers(1, 7), left))
        sizes.append(s)
        left -= s
    if len(sizes) == n > 1:
        # n sizes for n rows would be read as one query id per row
        sizes = [2] + sizes[2:]
    return np.array(sizes, dtype=np.int64)


def make_labels(kind: str, loss, rng: np.random.Generator, n: int):
    """Labels of one kind for ``n`` rows; the first rows hold the domain's edge values."""

    def with_edges(y, edges):
        m = min(len(edges), n)
        y[:m] = edges[:m]
        return y

    group = None
    if kind == "real":
        y = with_edges(rng.normal(0.0, 3.0, n), [-40.0, 55.0, 0.0])
    elif kind == "nonneg":
        y = rng.gamma(1.5, 2.0, n)
        y[rng.random(n) < 0.3] = 0.0
        y = with_edges(y, [0.0, 1e-9, 1e6, 3.0])
    elif kind == "positive":
        y = with_edges(rng.gamma(2.0, 2.0, n), [1e-9, 1e6, 0.5])
    elif kind == "binary":
        y = with_edges(rng.integers(0, 2, n).astype(np.float64), [0.0, 1.0])
    elif kind == "counts":
        y = with_edges(rng.poisson(rng.gamma(0.8, 2.5, n)).astype(np.float64), [0.0, 1.0, 250.0])
    elif kind == "soft":
        y = with_edges(rng.random(n), [0.0, 1.0, 0.5, 1e-9])
    elif kind == "classes":
        k = loss.num_class
        y = with_edges(rng.integers(0, k, n).astype(np.float64), list(range(k)))
    elif kind in ("one_positive", "multi_positive"):
        group = _group_sizes(rng, n)
        y = np.zeros(n)
        start = 0
        for size in group:
            if kind == "one_positive":
                y[start + rng.integers(size)] = 1.0
            else:
                # graded relevance, several positives where the group allows
                y[start:start + size] = rng.integers(0, 3, size)
                y[start + rng.integers(size)] = 2.0
            start += size
    elif kind == "zero_heavy_counts":
        y = rng.poisson(rng.gamma(1.0, 3.0, n)).astype(np.float64)
        y[rng.random(n) < 0.3] = 0.0
        y = with_edges(y, [0.0, 1.0, 200.0])
    else:  # pragma: no cover - a typo in a case
        raise AssertionError(f"unknown label kind {kind}")
    return y, group


def fd_margin(loss, y: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Margins where finite differences are accurate: moderate, and away from
    the kinks of the non-smooth losses (ties ``f == y``, Huber's ``|r| == delta``)."""
    n = y.shape[0]
    if loss.needs_group:
        return rng.normal(0.0, 2.0 * loss.temperature, n)
    if loss.n_outputs > 1 and loss.link.name == "cumulative_max":
        # Levels at least 0.2 apart, so that no finite-difference step makes them cross.
        return np.cumsum(np.column_stack([rng.normal(0.0, 2.0, n), rng.uniform(0.2, 2.0, (n, loss.n_outputs - 1))]),
                         axis=1)
    if loss.n_outputs > 1:
        return rng.normal(0.0, 2.0, (n, loss.n_outputs))
    link = loss.link.name
    if link == "identity":
        delta = getattr(loss, "delta", None)
        # residuals reach well past Huber's delta, so both regions are covered
        r = rng.uniform(0.1, 4.0 * max(1.0, delta or 1.0), n)
        if delta is not None:
            r = np.where(np.abs(r - delta) < 0.05, r + 0.1, r)
        return y + r * rng.choice([-1.0, 1.0], n)
    if link == "log":
        return np.log(np.where(y > 0, y, 1.0)) + rng.uniform(-2.0, 2.0, n)
    if link == "logit":
        return rng.uniform(-5.0, 5.0, n)
    raise AssertionError(f"no margins for link {link}")  # pragma: no cover


def group_weights(rng: np.random.Generator, n: int, group) -> np.ndarray:
    """Positive weights; constant within each group for grouped losses."""
    if group is None:
        return rng.uniform(0.2, 3.0, n)
    return np.repeat(rng.uniform(0.2, 3.0, len(group)), group)


def constant_margin(loss, n: int, c) -> np.ndarray:
    if loss.n_outputs > 1:
        return np.tile(np.asarray(c, dtype=np.float64), (n, 1))
    return np.full(n, float(c))


# ---------------------------------------------------------------------------
# Finite differences
# ---------------------------------------------------------------------------


def _blocks(loss, y, group):
    """Row blocks whose loss is independent: single rows, or whole groups."""
    if group is None:
        return [(slice(i, i + 1), None) for i in range(y.shape[0])]
    bounds = np.concatenate(([0], np.cumsum(group)))
    return [(slice(a, b), [b - a]) for a, b in zip(bounds[:-1], bounds[1:])]


def fd_derivatives(loss, y, margin, group, h):
    """Gradient and Hessian diagonal of each block's loss by 4th-order central
    differences of ``loss.loss`` (a mean over one row or one group, so it is the
    block's own loss), plus that loss value for tolerances."""
    grad = np.empty_like(margin, dtype=np.float64)
    hess = np.empty_like(grad)
    value = np.empty_like(grad)
    for rows, gb in _blocks(loss, y, group):
        yb = y[rows]
        mb = np.array(margin[rows], dtype=np.float64)
        base = loss.loss(yb, mb, group=gb)
        for idx in np.ndindex(mb.shape):
            vals = []
            for step in (-2, -1, 1, 2):
                mm = mb.copy()
                mm[idx] += step * h
                vals.append(loss.loss(yb, mm, group=gb))
            full = (rows.start + idx[0],) + idx[1:]
            grad[full] = (vals[0] - 8 * vals[1] + 8 * vals[2] - vals[3]) / (12 * h)
            hess[full] = (-vals[0] + 16 * vals[1] - 30 * base + 16 * vals[2] - vals[3]) / (12 * h * h)
            value[full] = max(abs(v) for v in vals + [base])
    return grad, hess, value


def fd_step(loss) -> float:
    return 1e-3 * (loss.temperature if loss.needs_group else 1.0)


def _tolerance(value, h, order):
    # Round-off of a difference quotient grows like |loss| * eps / h**order;
    # the Tweedie loss near power 1 or 2 cancels two terms ~100x the result.
    return 1e-7 * (1.0 + value) * (1e-3 / h) ** order


def _level_set_curvature(loss, y, margin):
    """Diagonal Gauss-Newton curvature of a level set: ``s_j^2 sum_{l >= j} h_l`` with
    ``s_0 = 1``, ``s_j = sigmoid(m_j)`` and ``h_l`` each level's own curvature (softplus
    increments, ``coupling="chain"``); ``h_j`` under the cumulative maximum."""
    m = np.atleast_2d(margin) if margin.ndim == 2 else margin[:, None]
    k = m.shape[1]
    cummax = loss.link.name == "cumulative_max"
    if cummax:
        levels = np.maximum.accumulate(m, axis=1)
    else:
        levels = np.cumsum(np.column_stack([m[:, 0], 1e-6 + np.logaddexp(0.0, m[:, 1:])]), axis=1)
    r = levels - y[:, None]
    alphas = np.asarray(loss.alphas)
    if loss.name == "multi_expectile":
        h_level = np.where(r >= 0, 1.0 - alphas, alphas)
    else:
        h_level = 0.5 / (np.abs(r) + np.mean(np.abs(r), axis=0))
    if cummax:
        return h_level.reshape(margin.shape)
    s = np.column_stack([np.ones(len(y)), expit(m[:, 1:])])
    tail = np.cumsum(h_level[:, ::-1], axis=1)[:, ::-1]
    return (s * s * tail).reshape(margin.shape) if k > 1 else (s * s * tail)[:, 0]


def _tweedie_log_dispersion_fisher(margin_row, power):
    """E[(d log f / d log phi)^2] by adaptive quadrature over y of the public density, the
    score by central differences in log phi (independent of the kernels' table)."""
    mu, phi = np.exp(margin_row[0]), np.exp(margin_row[1])
    lam = mu ** (2 - power) / ((2 - power) * phi)

    def score(y):
        h = 1e-5
        up = tweedie_log_density([y], mu, phi * np.exp(h), power)[0]
        down = tweedie_log_density([y], mu, phi * np.exp(-h), power)[0]
        return (up - down) / (2 * h)

    def integrand(log_y):
        y = np.exp(log_y)
        return np.exp(tweedie_log_density([y], mu, phi, power)[0] + log_y) * score(y) ** 2

    # y > 0 is a Poisson(lam) mixture of Gamma(n a, scale) laws: from the left tail of
    # n = 1 to the right tail of the largest count with mass.
    a = (2 - power) / (power - 1)
    scale = phi * (power - 1) * mu ** (power - 1)
    n_hi = lam + 12 * np.sqrt(lam) + 15
    low = np.log(scale) + (np.log(1e-30) + special.gammaln(a + 1)) / a
    high = np.log(scale * (n_hi * a + 12 * np.sqrt(n_hi * a) + 60))
    edges = np.unique(np.clip([low, np.log(scale * a), np.log(mu), high], low, high))
    total = np.exp(-lam) * lam * lam
    for lo, hi in zip(edges[:-1], edges[1:]):
        total += integrate.quad(integrand, lo, hi, limit=400, epsabs=1e-12, epsrel=1e-9)[0]
    return total


def _family_curvature(loss, y, margin, fd_hess):
    """The Fisher information of each parameter's margin (``curvature="fisher"``), or the
    true Hessian where it is positive and the Fisher information elsewhere."""
    if loss.name == "normal":
        fisher = np.column_stack([np.exp(-2.0 * margin[:, 1]), np.full(len(y), 2.0)])
    elif loss.name in ("lognormal", "student_t", "negative_binomial", "gamma_shape"):
        return _shape_family_curvature(loss, y, margin, fd_hess)
    elif loss.name in ("hurdle_gamma", "hurdle_lognormal"):
        # The positive part's information times pi = P(y > 0); zero rows have no Hessian there.
        pi = expit(margin[:, 0])
        if loss.name == "hurdle_gamma":
            k = np.exp(margin[:, 2])
            positive = [k, k * k * special.polygamma(1, k) - k]
        else:
            positive = [np.exp(-2.0 * margin[:, 2]), np.full(len(y), 2.0)]
        fisher = np.column_stack([pi * (1 - pi)] + [pi * f for f in positive])
        if loss.curvature == "hessian":
            fd_hess = np.where((y > 0)[:, None], fd_hess, 0.0)
    elif loss.name == "zero_inflated_poisson":
        # Lambert (1992), per margin: the expectation of the squared score over y.
        pi, lam = expit(margin[:, 0]), np.exp(margin[:, 1])
        p0 = pi + (1 - pi) * np.exp(-lam)
        fisher = np.column_stack([pi**2 * (1 - pi) * (1 - np.exp(-lam)) / p0,
                                  (1 - pi) * lam * (1 - lam * pi * np.exp(-lam) / p0)])
    elif loss.name == "tweedie_dispersion":
        fisher = np.column_stack([np.exp((2 - loss.power) * margin[:, 0] - margin[:, 1]),
                                  [_tweedie_log_dispersion_fisher(mi, loss.power) for mi in margin]])
    else:  # pragma: no cover - a family without its Fisher information here
        raise AssertionError(f"write the Fisher information of {loss.name} into _family_curvature")
    if loss.curvature == "fisher":
        return fisher
    return np.where(fd_hess > 0, fd_hess, fisher)


def _shape_family_curvature(loss, y, margin, fd_hess):
    """Lognormal: the normal family's on log(y). Gamma (margins log mean, log shape k): k and
    k^2 psi'(k) - k. Student-t (df = 1 + exp(m)) and NB2
    (margins log mean, log dispersion): the Fisher information of each margin (Lange, Little
    & Taylor 1989; Lawless 1987, summed over the support with scipy), or the true Hessian
    where positive; the df / dispersion margin's curvature is at least |gradient|."""
    from scipy import special, stats

    if loss.name == "lognormal":
        fisher = np.column_stack([np.exp(-2.0 * margin[:, 1]), np.full(len(y), 2.0)])
        return fisher if loss.curvature == "fisher" else np.where(fd_hess > 0, fd_hess, fisher)
    if loss.name == "gamma_shape":
        k = np.exp(margin[:, 1])
        fisher = np.column_stack([k, k * k * special.polygamma(1, k) - k])
        if loss.curvature == "fisher":
            return fisher
        # the mean margin's Hessian k y / mu is never negative (finite differences can be, by noise)
        shape_curvature = np.where(fd_hess[:, 1] > 0, fd_hess[:, 1], fisher[:, 1])
        return np.column_stack([k * y * np.exp(-margin[:, 0]), shape_curvature])
    if loss.name == "student_t":
        nu = 1.0 + np.exp(margin[:, 2])
        z2 = ((y - margin[:, 0]) * np.exp(-margin[:, 1])) ** 2
        info_nu = (special.polygamma(1, nu / 2) - special.polygamma(1, (nu + 1) / 2)) / 4 \
            - (nu + 5) / (2 * nu * (nu + 1) * (nu + 3))
        fisher = np.column_stack([(nu + 1) / ((nu + 3) * np.exp(2 * margin[:, 1])), 2 * nu / (nu + 3),
                                  (nu - 1) ** 2 * info_nu])
        d_nu = 0.5 * (special.digamma(nu / 2) - special.digamma((nu + 1) / 2) + 1 / nu + np.log1p(z2 / nu)
                      - (nu + 1) * z2 / (nu * (nu + z2)))
        shape_grad = (nu - 1) * d_nu
    else:
        mu, a = np.exp(margin[:, 0]), np.exp(margin[:, 1])
        n, p = 1 / a, 1 / (1 + a * mu)
        info = []
        for m_i, n_i, p_i in zip(mu, n, p):
            j = np.arange(int(stats.nbinom.ppf(1 - 1e-15, n_i, p_i)) + 50)
            info.append(np.sum(stats.nbinom.sf(j, n_i, p_i) * n_i**2 / (n_i + j) ** 2) - n_i * m_i / (n_i + m_i))
        fisher = np.column_stack([mu / (1 + a * mu), info])
        shape_grad = (n * (special.digamma(n + y) - special.digamma(n)) - y - n * np.log1p(a * mu)
                      + (n + y) * a * mu / (1 + a * mu))
    curvature = fisher if loss.curvature == "fisher" else np.where(fd_hess > 0, fd_hess, fisher)
    curvature[:, -1] = np.maximum(curvature[:, -1], np.abs(shape_grad))
    return curvature


def documented_curvature(loss, y, margin, fd_hess, group, h):
    """The Hessian each loss documents where it is not the true one, computed
    here independently of the kernels."""
    name = loss.name
    if name == "focal":
        # Soft labels mix a positive and a negative example linearly, each with
        # its own floor alpha_t (1 - p_t)^gamma p (1 - p).
        _, h1, _ = fd_derivatives(loss, np.ones_like(y), margin, None, h)
        _, h0, _ = fd_derivatives(loss, np.zeros_like(y), margin, None, h)
        p = expit(margin)
        a_pos = 1.0 if loss.alpha is None else loss.alpha
        a_neg = 1.0 if loss.alpha is None else 1.0 - loss.alpha
        floor1 = a_pos * (1 - p) ** loss.gamma * p * (1 - p)
        floor0 = a_neg * p ** loss.gamma * p * (1 - p)
        return y * np.maximum(h1, floor1) + (1 - y) * np.maximum(h0, floor0)
    if name == "softmax_focal":
        p = softmax(margin, axis=1)
        c = y.astype(int)
        alpha = np.ones(loss.num_class) if loss.alpha is None else np.asarray(loss.alpha)
        u = 1.0 - p[np.arange(len(c)), c]
        floor = (alpha[c] * u ** loss.gamma)[:, None] * p * (1 - p)
        return np.maximum(fd_hess, floor)
    if name == "softmax":
        k = loss.num_class
        factor = {"exact": 1.0, "xgboost": 2.0, "lightgbm": k / (k - 1)}.get(loss.hessian_scale, loss.hessian_scale)
        return factor * fd_hess
    if name == "poisson":
        # The boosters' safeguard: the Hessian times exp(max_delta_step).
        return np.exp(loss.max_delta_step) * fd_hess
    if name in ("multi_quantile", "multi_expectile"):
        return _level_set_curvature(loss, y, margin)
    if loss.predicts_distribution:
        return _family_curvature(loss, y, margin, fd_hess)
    r = margin - y
    if name == "huber":
        tail = 1.0 if loss.curvature == "unit" else loss.delta / np.abs(r)
        return np.where(np.abs(r) <= loss.delta, 1.0, tail)
    if name in ("quantile", "absolute_error"):
        half = 0.5 if name == "quantile" else 1.0
        if loss.curvature == "unit":
            return np.full_like(r, half)
        s = np.mean(np.abs(r))  # mean absolute residual of the call, unweighted
        return half / (np.abs(r) + s)
    if name == "log_cosh" and loss.curvature == "irls":
        return np.where(r == 0, 1.0, np.tanh(r) / np.where(r == 0, 1.0, r))
    if name == "pseudo_huber" and loss.curvature == "irls":
        return 1.0 / np.sqrt(1.0 + (r / loss.delta) ** 2)
    raise AssertionError(
        f"{loss!r} has exact_hessian False but no documented curvature: add its curvature formula, "
        "computed independently of the kernels, to documented_curvature() in tests/test_losses.py"
    )


# ---------------------------------------------------------------------------
# Registry coverage
# ---------------------------------------------------------------------------


def test_every_registered_loss_has_a_case():
    missing = sorted(set(available_losses()) - {c.name for c in CASES})
    assert not missing, (
        f"registered loss(es) {missing} have no test case: add _case(name, label_kind, **params) "
        "for each to _build_cases() in tests/test_losses.py (label kinds: see make_labels there)"
    )
    assert {c.name for c in PROPERTY_CASES} == set(available_losses())


def test_every_case_builds_with_its_parameters():
    for case in CASES:
        loss = case.build()
        assert loss.name == case.name
        for key, value in case.params:
            assert getattr(loss, key) == value, (case, key)


# ---------------------------------------------------------------------------
# Gradient and Hessian against finite differences
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_gradient_hessian_match_finite_differences(case, rng):
    loss = case.build()
    y, group = case.make(rng, 16)
    margin = fd_margin(loss, y, rng)
    h = fd_step(loss)
    grad, hess = loss.grad_hess(y, margin, group=group)
    fd_g, fd_h, value = fd_derivatives(loss, y, margin, group, h)

    tol_g = 1e-4 * np.abs(fd_g) + _tolerance(value, h, 1)
    assert np.all(np.abs(grad - fd_g) <= tol_g), np.c_[grad.ravel(), fd_g.ravel()]

    if loss.exact_hessian:
        expected = np.maximum(fd_h, HESS_FLOOR)
    else:
        expected = np.maximum(documented_curvature(loss, y, margin, fd_h, group, h), HESS_FLOOR)
    tol_h = 1e-4 * np.abs(expected) + _tolerance(value, h, 2)
    assert np.all(np.abs(hess - expected) <= tol_h), np.c_[hess.ravel(), expected.ravel(), fd_h.ravel()]
    assert np.all(hess > 0)


@pytest.mark.parametrize("case", [c for c in CASES if not c.build().exact_hessian], ids=str)
def test_documented_curvature_never_below_true_hessian(case, rng):
    """Where a loss replaces its Hessian, it uses more curvature, never less
    (a majoriser: Newton steps stay short enough to descend), except for an
    explicit ``hessian_scale`` below 1."""
    loss = case.build()
    if getattr(loss, "_hess_factor", 1.0) < 1.0:
        pytest.skip("hessian_scale < 1 asks for less curvature")
    if loss.link.name == "noncrossing":
        pytest.skip("the Gauss-Newton curvature of the non-crossing transform leaves out its second-order term")
    if loss.predicts_distribution:
        pytest.skip("Fisher scoring: the expected curvature, which bounds the Hessian only on average")
    y, group = case.make(rng, 16)
    margin = fd_margin(loss, y, rng)
    h = fd_step(loss)
    _, hess = loss.grad_hess(y, margin, group=group)
    _, fd_h, value = fd_derivatives(loss, y, margin, group, h)
    assert np.all(hess >= fd_h * (1 - 1e-4) - _tolerance(value, h, 2))


@pytest.mark.parametrize("case", PROPERTY_CASES, ids=str)
def test_gradient_of_weighted_mean_loss(case, rng):
    """``loss`` is a weighted mean: d loss / d f equals grad_hess(weighted) / sum of weights."""
    loss = case.build()
    y, group = case.make(rng, 10)
    if loss.link.name == "log":
        y = np.minimum(y, 50.0)  # keep the total loss small so one row's derivative is resolved
    margin = fd_margin(loss, y, rng)
    w = group_weights(rng, y.shape[0], group)
    denom = w.sum() if group is None else (w[np.cumsum(group) - 1]).sum()
    grad, _ = loss.grad_hess(y, margin, w, group=group)
    h = fd_step(loss)
    for idx in list(np.ndindex(margin.shape))[:: max(1, margin.size // 8)]:
        vals = []
        for step in (-1, 1):
            mm = margin.copy()
            mm[idx] += step * h
            vals.append(loss.loss(y, mm, w, group=group))
        fd = (vals[1] - vals[0]) / (2 * h) * denom
        assert abs(grad[idx] - fd) <= 1e-4 * abs(fd) + 1e-6 * (1 + abs(vals[0]) * denom), (idx, grad[idx], fd)


@pytest.mark.parametrize("case", PROPERTY_CASES, ids=str)
def test_loss_is_weighted_mean_of_blocks(case, rng):
    loss = case.build()
    y, group = case.make(rng, 14)
    margin = fd_margin(loss, y, rng)
    w = group_weights(rng, y.shape[0], group)
    blocks = _blocks(loss, y, group)
    values = np.array([loss.loss(y[rows], margin[rows], group=gb) for rows, gb in blocks])
    wb = np.array([w[rows][0] for rows, _ in blocks])
    assert loss.loss(y, margin, w, group=group) == pytest.approx(np.average(values, weights=wb), rel=1e-12)
    assert loss.loss(y, margin, group=group) == pytest.approx(values.mean(), rel=1e-12)


# (classification losses keep the label entropy at a perfect fit)
@pytest.mark.parametrize("case", [c for c in PROPERTY_CASES if c.build().link.name in ("identity", "log")
                                  and not c.build().needs_group], ids=str)
def test_loss_of_perfect_prediction_is_zero(case, rng):
    """Half deviances and regression losses vanish, with their gradient, at a
    perfect fit; the pinball loss, with a kink there, gives the subgradient
    ``1 - alpha`` of the boosters' built-in quantile objectives."""
    loss = case.build()
    y, _ = case.make(rng, 12)
    y = y[y > 0] if loss.link.name == "log" else y
    margin = loss.link.link(y)
    assert loss.loss(y, margin) == pytest.approx(0.0, abs=1e-9 * max(1.0, np.abs(y).max() ** 0.5))
    grad, _ = loss.grad_hess(y, margin)
    tie = 1.0 - loss.alpha if loss.name == "quantile" else 0.0
    if loss.name == "quantile":
        assert -loss.alpha <= tie <= 1.0 - loss.alpha  # a subgradient at the kink
    assert np.all(np.abs(grad - tie) <= 1e-6 * np.maximum(1.0, np.abs(y)))


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("curvature", ["scaled", "unit"])
@pytest.mark.parametrize("name, alpha", [("quantile", 0.1), ("quantile", 0.5), ("quantile", 0.9),
                                         ("absolute_error", None)])
def test_pinball_gradient_at_ties_follows_the_boosters(name, alpha, curvature, weighted, rng):
    """At ``f == y`` LightGBM's ``quantile`` and XGBoost's ``reg:quantileerror``
    (3.2, 3.3) take ``f - y >= 0``: gradient ``1 - alpha``; LightGBM's ``l1``
    and XGBoost's ``reg:absoluteerror`` take ``sign(0) = 0``. Elsewhere nothing
    changes."""
    loss = get_loss(name, curvature=curvature, **({} if alpha is None else {"alpha": alpha}))
    y = np.r_[np.zeros(6), rng.uniform(1.0, 9.0, 6)]
    margin = np.r_[np.zeros(3), [-1.0, 2.0, 0.5], y[6:9], y[9:] + [-1.0, 1.0, 3.0]]
    w = rng.uniform(0.5, 2.0, 12) if weighted else np.ones(12)
    grad, hess = loss.grad_hess(y, margin, w if weighted else None)
    r = margin - y
    if name == "quantile":
        expected = np.where(r >= 0.0, 1.0 - alpha, -alpha)
    else:
        expected = np.sign(r)
    assert_allclose(grad, w * expected, rtol=1e-6)
    assert np.all(hess > 0)


def _zero_inflated(rng, n):
    X = rng.normal(size=(n, 4))
    # 60% exact zeros: the start margin (the alpha-quantile, 0 for alpha <= 0.6)
    # ties with most labels.
    y = np.where(rng.random(n) < 0.6, 0.0, np.exp(1.0 + X[:, 0] + rng.normal(size=n)))
    return X, y


@pytest.mark.parametrize("alpha", [0.3, 0.5])
def test_quantile_on_zero_inflated_labels_matches_lightgbm(alpha, rng):
    lgb = pytest.importorskip("lightgbm")
    glgb = pytest.importorskip("gbm_objectives.lightgbm")
    X, y = _zero_inflated(rng, 800)
    params = {"num_threads": 1, "verbose": -1, "alpha": alpha, "seed": 0}
    ref = lgb.train({**params, "objective": "quantile"}, lgb.Dataset(X, y), 10)
    ours = glgb.train(get_loss("quantile", alpha=alpha), params, lgb.Dataset(X, y), 10)
    assert_allclose(glgb.predict(ours, X), ref.predict(X), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("alpha", [0.3, 0.5])
def test_quantile_on_zero_inflated_labels_matches_xgboost_quantileerror(alpha, rng):
    """XGBoost 3.2 and 3.3's ``reg:quantileerror``; from 3.4 it is the smooth
    MM objective (``curvature="mm"``), which has no tie convention."""
    xgb = pytest.importorskip("xgboost")
    gx = pytest.importorskip("gbm_objectives.xgboost")
    if tuple(int(v) for v in xgb.__version__.split(".")[:2]) >= (3, 4):
        pytest.skip("reg:quantileerror is the smooth MM objective from XGBoost 3.4")
    X, y = _zero_inflated(rng, 800)
    d = xgb.DMatrix(X, y)
    params = {"nthread": 1, "tree_method": "hist"}
    ref = xgb.train({**params, "objective": "reg:quantileerror", "quantile_alpha": alpha}, d, 10)
    ours = gx.train(get_loss("quantile", alpha=alpha), params, d, 10)
    assert_allclose(ours.predict(d), ref.predict(d), rtol=1e-5, atol=1e-5)


# ---------------------------------------------------------------------------
# Known reductions
# ---------------------------------------------------------------------------


def _assert_same(a, b, y, margin, w=None, rtol=1e-6, atol=1e-7):
    ga, ha = a.grad_hess(y, margin, w)
    gb, hb = b.grad_hess(y, margin, w)
    assert_allclose(ga, gb, rtol=rtol, atol=atol)
    assert_allclose(ha, hb, rtol=rtol, atol=atol)
    assert a.loss(y, margin, w) == pytest.approx(b.loss(y, margin, w), rel=1e-10)
    assert_allclose(a.init_score(y, w), b.init_score(y, w), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("labels", ["binary", "soft"])
def test_focal_gamma_zero_is_logistic(labels, rng):
    y, _ = make_labels(labels, None, rng, 50)
    margin = rng.normal(0, 3, 50)
    w = rng.uniform(0.1, 2, 50)
    focal, logistic = get_loss("focal", gamma=0.0), get_loss("logistic")
    assert focal.exact_hessian
    _assert_same(focal, logistic, y, margin)
    _assert_same(focal, logistic, y, margin, w)


@pytest.mark.parametrize("name,labels,extra", [
    ("logistic", "soft", {}),
    ("softmax", "classes", {"num_class": 3}),
])
def test_zero_label_smoothing_is_plain_loss(name, labels, extra, rng):
    plain = get_loss(name, **extra)
    smoothed = get_loss(name, label_smoothing=0.0, **extra)
    assert smoothed == plain
    y, _ = make_labels(labels, plain, rng, 40)
    margin = fd_margin(plain, y, rng)
    _assert_same(smoothed, plain, y, margin, rtol=0, atol=0)


@pytest.mark.parametrize("power,name,labels", [(1.0, "poisson", "nonneg"), (2.0, "gamma", "positive")])
def test_tweedie_endpoints_are_poisson_and_gamma(power, name, labels, rng):
    tw = get_loss("tweedie", power=power)
    other = get_loss(name, **({"max_delta_step": 0.0} if name == "poisson" else {}))
    y, _ = make_labels(labels, tw, rng, 40)
    margin = fd_margin(tw, y, rng)
    w = rng.uniform(0.1, 2, 40)
    _assert_same(tw, other, y, margin, rtol=0, atol=0)
    _assert_same(tw, other, y, margin, w, rtol=0, atol=0)


@pytest.mark.parametrize("weighted", [False, True])
def test_poisson_max_delta_step_scales_only_the_hessian(weighted, rng):
    """The boosters' safeguard: Hessian ``w exp(f + max_delta_step)``, the
    gradient and the loss those of the exact Poisson deviance."""
    y, _ = make_labels("nonneg", None, rng, 50)
    margin = np.log(np.where(y > 0, y, 1.0)) + rng.uniform(-3.0, 3.0, 50)
    w = rng.uniform(0.1, 3.0, 50) if weighted else None
    exact = get_loss("poisson", max_delta_step=0.0)
    g0, h0 = exact.grad_hess(y, margin, w)
    for loss, mds in ((get_loss("poisson"), 0.7), (get_loss("poisson", max_delta_step=1.5), 1.5)):
        g, h = loss.grad_hess(y, margin, w)
        assert_array_equal(g, g0)
        ww = 1.0 if w is None else w
        assert_allclose(h, ww * np.exp(margin + mds), rtol=1e-6)  # float32 output
        assert loss.loss(y, margin, w) == exact.loss(y, margin, w)
        assert loss.init_score(y, w) == exact.init_score(y, w)
        assert not loss.exact_hessian
    assert exact.exact_hessian
    assert_allclose(h0, (1.0 if w is None else w) * np.exp(margin), rtol=1e-6)


def test_poisson_max_delta_step_default_record_and_validation():
    default = get_loss("poisson")
    assert default.max_delta_step == 0.7 and default.params == {"max_delta_step": 0.7}
    assert repr(default) == "Poisson(max_delta_step=0.7)"
    zero = get_loss("poisson", max_delta_step=0)
    assert zero.params == {"max_delta_step": 0.0}
    assert type(zero)(**zero.params) == zero and zero != default and zero.get_params() == zero.params
    assert pickle.loads(pickle.dumps(zero)) == zero
    for bad in (-0.1, float("inf"), float("nan"), "0.7", None, True):
        with pytest.raises(ValueError, match="max_delta_step"):
            get_loss("poisson", max_delta_step=bad)


def test_poisson_huge_max_delta_step_stays_finite():
    y = np.array([0.0, 5.0, 1e300])
    margin = np.array([700.0, 0.0, -700.0])
    for w in (None, np.array([0.0, 1.0, 1e300])):
        g, h = get_loss("poisson", max_delta_step=1e6).grad_hess(y, margin, w)
        assert np.all(np.isfinite(g)) and np.all(np.isfinite(h)) and np.all(h > 0)
        assert h.max() <= FLOAT32_MAX


def _poisson_data(rng, n):
    X = rng.normal(size=(n, 4))
    # Heavy-tailed counts: a few labels thousands of times the mean.
    y = rng.poisson(np.exp(0.5 * X[:, 0])) * np.where(rng.random(n) < 0.03, 5000.0, 1.0)
    return X, y.astype(float)


def test_poisson_matches_xgboost_count_poisson(rng):
    """Same trees as ``count:poisson`` (whose learner also caps leaf steps at
    max_delta_step, so the custom run passes that tree parameter too)."""
    xgb = pytest.importorskip("xgboost")
    X, y = _poisson_data(rng, 400)
    loss = get_loss("poisson")
    base = float(np.log(y.mean()))

    def run(params, obj=None):
        d = xgb.DMatrix(X, y, base_margin=np.full(len(y), base))
        b = xgb.train({"nthread": 1, "tree_method": "hist", "max_depth": 3, **params}, d, 10, obj=obj)
        return b.predict(d, output_margin=True)

    ours = run({"max_delta_step": loss.max_delta_step}, lambda p, d: loss.grad_hess(d.get_label(), p))
    ref = run({"objective": "count:poisson"})
    assert_allclose(ours, ref, rtol=1e-4, atol=1e-4)


def test_poisson_matches_lightgbm_poisson(rng):
    lgb = pytest.importorskip("lightgbm")
    X, y = _poisson_data(rng, 400)
    loss = get_loss("poisson")
    base = float(np.log(y.mean()))
    params = {"num_threads": 1, "verbose": -1, "num_leaves": 8, "min_data_in_leaf": 5, "seed": 0}

    def run(objective):
        d = lgb.Dataset(X, y, init_score=np.full(len(y), base), free_raw_data=False)
        b = lgb.train({**params, "objective": objective}, d, 10)
        return b.predict(X, raw_score=True)

    ours = run(lambda p, d: loss.grad_hess(d.get_label(), p))
    ref = run("poisson")
    assert_allclose(ours, ref, rtol=1e-4, atol=1e-4)


def test_pseudo_huber_default_is_the_irls_majoriser_and_records_exact(rng):
    default = get_loss("pseudo_huber")
    assert default.curvature == "irls" and not default.exact_hessian
    assert default.params == {"delta": 1.0} and repr(default) == "PseudoHuber(delta=1.0)"
    exact = get_loss("pseudo_huber", curvature="exact")
    assert exact.exact_hessian and exact.params == {"delta": 1.0, "curvature": "exact"}
    assert type(exact)(**exact.params) == exact != default


def test_pseudo_huber_default_steps_stay_inside_the_labels():
    """One unregularised Newton round (LightGBM's lambda_l2 = 0, learning rate
    1) on cost-scale labels: each leaf's step is a weighted mean of its
    residuals, so no prediction leaves the labels' range. The exact Hessian,
    ~|r|^-3 far from the labels, steps hundreds of thousands of units."""
    lgb = pytest.importorskip("lightgbm")
    X, y = gbm_objectives.make_tracker_costs(600, random_state=3)
    y = np.asarray(y, dtype=np.float64)
    loss = get_loss("pseudo_huber")
    start = loss.init_score(y)
    params = {"num_threads": 1, "verbose": -1, "learning_rate": 1.0, "lambda_l2": 0.0, "seed": 0,
              "objective": lambda p, d: loss.grad_hess(d.get_label(), p)}
    booster = lgb.train(params, lgb.Dataset(X, y, init_score=np.full(len(y), start)), 1)
    pred = start + booster.predict(X, raw_score=True)
    slack = 1e-6 * np.abs(y).max()  # float32 gradients: rounding, not a step
    assert y.min() - slack <= pred.min() and pred.max() <= y.max() + slack


@pytest.mark.parametrize("power", [1.0, 2.0])
def test_tweedie_is_continuous_at_its_endpoints(power, rng):
    """The general formula at power 1 +- 1e-6 meets the exact Poisson / Gamma deviance."""
    y, _ = make_labels("positive", None, rng, 30)
    y = np.clip(y, 1e-3, 1e3)
    margin = np.log(y) + rng.uniform(-1, 1, 30)
    near = get_loss("tweedie", power=power + (1e-6 if power == 1.0 else -1e-6))
    exact = get_loss("tweedie", power=power)
    assert near.loss(y, margin) == pytest.approx(exact.loss(y, margin), rel=1e-4)
    for a, b in zip(near.grad_hess(y, margin), exact.grad_hess(y, margin)):
        assert_allclose(a, b, rtol=1e-4)


@pytest.mark.parametrize("curvature", ["scaled", "unit"])
def test_median_quantile_is_half_absolute_error(curvature, rng):
    q = get_loss("quantile", alpha=0.5, curvature=curvature)
    a = get_loss("absolute_error", curvature=curvature)
    y, _ = make_labels("real", q, rng, 40)
    margin = fd_margin(q, y, rng)
    w = rng.uniform(0.1, 2, 40)
    assert q.loss(y, margin, w) == pytest.approx(0.5 * a.loss(y, margin, w), rel=1e-12)
    gq, hq = q.grad_hess(y, margin, w)
    ga, ha = a.grad_hess(y, margin, w)
    assert_allclose(gq, 0.5 * ga, rtol=1e-6)
    assert_allclose(hq, 0.5 * ha, rtol=1e-6)
    assert q.init_score(y, w) == a.init_score(y, w)


def xgboost_mm_reference(name, alpha, y, margin, w):
    """XGBoost 3.4's smooth MM gradients, written from its source
    (src/objective/quantile_obj.cc, regression_obj.cu), in float64."""
    r = margin - y
    wt = np.ones_like(r) if w is None else w
    scale = (np.sum(wt * np.sqrt(np.abs(r))) / np.sum(wt)) ** 2
    if name == "absolute_error":
        norm = np.hypot(scale, r)
        c = np.where(norm > 0, scale / np.where(norm > 0, norm, 1.0), 1.0)
        return wt * r * c, wt * c
    x = r / (0.04 * scale)
    ratio = np.where(x == 0, 1.0, np.tanh(x) / np.where(x == 0, 1.0, x))
    g = wt * scale / 2 * (np.tanh(x) + 1 - 2 * alpha)
    h = wt / (2 * 0.04) * np.maximum(ratio, 3e-4)
    return g, h


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize(("name", "alpha"), [("quantile", 0.1), ("quantile", 0.5), ("quantile", 0.9),
                                             ("absolute_error", 0.5)])
def test_mm_curvature_is_xgboosts_smooth_objective(name, alpha, weighted, rng):
    loss = get_loss(name, curvature="mm") if name == "absolute_error" else get_loss(name, alpha=alpha, curvature="mm")
    y = rng.normal(0.0, 300.0, 200)
    margin = y + rng.normal(0.0, 50.0, 200) * rng.choice([0.0, 1e-4, 1.0, 20.0], 200)
    w = rng.uniform(0.0, 3.0, 200) if weighted else None
    grad, hess = loss.grad_hess(y, margin, w)
    want_g, want_h = xgboost_mm_reference(name, alpha, y, margin, w)
    assert_allclose(grad, want_g, rtol=2e-6, atol=1e-6)
    assert_allclose(hess, np.maximum(want_h, HESS_FLOOR), rtol=2e-6)
    assert loss.params["curvature"] == "mm" and get_loss(loss.name, **loss.params) == loss
    # the loss value and the start are those of the loss, not of the surrogate
    plain = get_loss(name) if name == "absolute_error" else get_loss(name, alpha=alpha)
    assert loss.loss(y, margin, w) == plain.loss(y, margin, w)
    assert loss.init_score(y, w) == plain.init_score(y, w)


def _chain_through_noncrossing(margin, g_level, h_level):
    """Margin gradient and diagonal Gauss-Newton curvature of a sum over levels
    ``q_j = q_{j-1} + 1e-6 + softplus(m_j)``, from each level's own derivatives:
    ``dq_l / dm_j = sigmoid(m_j)`` for every ``l >= j`` (1 for ``j = 0``)."""
    n, k = margin.shape
    jac = np.ones((n, k))
    jac[:, 1:] = expit(margin[:, 1:])
    grad = np.empty((n, k))
    hess = np.empty((n, k))
    for j in range(k):
        grad[:, j] = jac[:, j] * g_level[:, j:].sum(axis=1)
        hess[:, j] = jac[:, j] ** 2 * h_level[:, j:].sum(axis=1)
    return grad, hess


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("alphas", [(0.05, 0.5, 0.95), (0.1, 0.9), (0.02, 0.3, 0.6, 0.98)])
def test_multi_quantile_mm_curvature_is_xgboosts_per_level(alphas, weighted, rng):
    """``curvature="mm"``: every level gets XGBoost 3.4's smooth MM quantile
    gradient (its scale from that level's residuals), chained through the
    non-crossing transform."""
    loss = get_loss("multi_quantile", alphas=alphas, curvature="mm", coupling="chain", transform="softplus")
    n, k = 300, len(alphas)
    y = rng.normal(0.0, 50.0, n)
    margin = np.column_stack([y - 80.0 + rng.normal(0.0, 40.0, n), rng.normal(2.0, 2.0, (n, k - 1))])
    margin[:5, 0] = y[:5]  # a level exactly at its label
    w = rng.uniform(0.0, 3.0, n) if weighted else None
    levels = np.cumsum(np.column_stack([margin[:, 0], 1e-6 + np.logaddexp(0.0, margin[:, 1:])]), axis=1)
    g_level = np.empty((n, k))
    h_level = np.empty((n, k))
    for j, alpha in enumerate(alphas):
        g_level[:, j], h_level[:, j] = xgboost_mm_reference("quantile", alpha, y, levels[:, j], w)
    want_g, want_h = _chain_through_noncrossing(margin, g_level, h_level)
    grad, hess = loss.grad_hess(y, margin, w)
    assert_allclose(grad, want_g, rtol=2e-5, atol=1e-5)
    assert_allclose(hess, np.maximum(want_h, HESS_FLOOR), rtol=2e-5)
    # the loss value and the start are the pinball loss's, not the surrogate's
    scaled = get_loss("multi_quantile", alphas=alphas, curvature="scaled", coupling="chain", transform="softplus")
    assert loss.loss(y, margin, w) == scaled.loss(y, margin, w)
    assert_array_equal(loss.init_score(y, w), scaled.init_score(y, w))
    pinball = sum(np.average(np.maximum(a * (y - levels[:, j]), (a - 1) * (y - levels[:, j])), weights=w)
                  for j, a in enumerate(alphas))
    assert loss.loss(y, margin, w) == pytest.approx(pinball, rel=1e-9)


@pytest.mark.parametrize("transform", ["max", "softplus"])
@pytest.mark.parametrize("curvature", ["mm", "scaled"])
def test_multi_quantile_level_coupling_follows_each_levels_own_gradient(curvature, transform, rng):
    """``coupling="level"``: margin ``j`` gets level ``j``'s own derivatives times
    ``dq_j / dm_j`` under the softplus increments (1, then ``sigmoid(m_j)``), as
    they are under the cumulative maximum (each margin its own level), none of
    the levels above it."""
    alphas = (0.1, 0.5, 0.9)
    loss = get_loss("multi_quantile", alphas=alphas, curvature=curvature, transform=transform)
    assert loss.coupling == "level"
    n = 200
    y = rng.normal(0.0, 5.0, n)
    if transform == "max":
        # levels near their labels, a fifth of the rows with crossing margins
        margin = y[:, None] + np.array([-6.0, 0.0, 6.0]) + rng.normal(0.0, 4.0, (n, 3))
        margin[: n // 5, 1:] -= 20.0
        levels = np.maximum.accumulate(margin, axis=1)
        slope = np.ones((n, 3))
    else:
        margin = np.column_stack([y - 6.0 + rng.normal(0.0, 4.0, n), rng.normal(1.0, 2.0, (n, 2))])
        levels = np.cumsum(np.column_stack([margin[:, 0], 1e-6 + np.logaddexp(0.0, margin[:, 1:])]), axis=1)
        slope = np.column_stack([np.ones(n), expit(margin[:, 1:])])
    w = rng.uniform(0.0, 3.0, n)
    r = levels - y[:, None]
    want_g = np.empty((n, 3))
    want_h = np.empty((n, 3))
    for j, alpha in enumerate(alphas):
        if curvature == "mm":
            want_g[:, j], want_h[:, j] = xgboost_mm_reference("quantile", alpha, y, levels[:, j], w)
        else:
            scale = np.average(np.abs(r[:, j]), weights=w)  # the level's weighted mean absolute residual
            want_g[:, j] = w * np.where(r[:, j] >= 0, 1.0 - alpha, -alpha)
            want_h[:, j] = w * 0.5 / (np.abs(r[:, j]) + scale)
    grad, hess = loss.grad_hess(y, margin, w)
    assert_allclose(grad, slope * want_g, rtol=2e-5, atol=1e-6)
    assert_allclose(hess, np.maximum(slope**2 * want_h, HESS_FLOOR), rtol=2e-5)
    pinball = sum(np.average(np.maximum(a * (y - levels[:, j]), (a - 1) * (y - levels[:, j])), weights=w)
                  for j, a in enumerate(alphas))
    assert loss.loss(y, margin, w) == pytest.approx(pinball, rel=1e-9)
    if transform == "max":
        return
    # the loss, the start and the chained default are untouched
    chained = get_loss("multi_quantile", alphas=alphas, curvature=curvature, coupling="chain", transform="softplus")
    assert loss.loss(y, margin, w) == chained.loss(y, margin, w)
    assert_array_equal(loss.init_score(y, w), chained.init_score(y, w))
    assert loss != chained
    g_chain, _ = chained.grad_hess(y, margin, w)
    assert_allclose(g_chain[:, -1], grad[:, -1], rtol=1e-6)  # the top level moves only itself
    assert not np.allclose(g_chain[:, 0], grad[:, 0])
    # any layout (LightGBM's class-major scores, XGBoost's row-major ones), float32, extremes
    for m in (np.asfortranarray(margin), margin.astype(np.float32)):
        g2, h2 = loss.grad_hess(y, m, w)
        assert_allclose(g2, grad, rtol=1e-5, atol=1e-6)
        assert_allclose(h2, hess, rtol=1e-5)
    extreme = rng.choice([-1e3, 1e3, 0.0, -700.0, 700.0, -40.0, 40.0, 1e-9], size=(n, 3))
    g3, h3 = loss.grad_hess(y, extreme, w)
    assert np.all(np.isfinite(g3)) and np.all(np.isfinite(h3)) and np.all(h3 > 0)


def test_multi_quantile_init_score_is_each_levels_quantile(rng):
    """The start is every level's own weighted quantile (non-crossing already),
    mapped through the link; tied quantiles sit the link's smallest gap apart."""
    y = rng.gamma(2.0, 3.0, 500)
    w = rng.uniform(0.5, 2.0, 500)
    alphas = (0.1, 0.5, 0.9)
    loss = get_loss("multi_quantile", alphas=alphas)
    levels = loss.predict(loss.init_score(y, w)[None, :])[0]
    for level, alpha in zip(levels, alphas):
        assert level == pytest.approx(get_loss("quantile", alpha=alpha).init_score(y, w), rel=1e-6)
    tied = get_loss("multi_quantile", alphas=(0.2, 0.4, 0.6)).init_score(np.zeros(50), None)
    tied_levels = get_loss("multi_quantile", alphas=(0.2, 0.4, 0.6)).predict(tied[None, :])[0]
    assert np.all(np.isfinite(tied)) and np.all(np.diff(tied_levels) > 0)
    assert tied_levels[-1] - tied_levels[0] < 1e-5


def test_mm_quantile_gradient_scale_follows_the_residuals(rng):
    """g / S tends to the pinball gradient far from the label, in any units;
    a fitted model (all residuals 0) gets no gradient, as in XGBoost."""
    loss = get_loss("quantile", alpha=0.8, curvature="mm")
    y = rng.normal(0.0, 1.0, 100)
    margin = y + rng.choice([-1.0, 1.0], 100) * rng.uniform(5.0, 10.0, 100)
    g1, h1 = loss.grad_hess(y, margin)
    g2, h2 = loss.grad_hess(1000.0 * y, 1000.0 * margin)
    assert_allclose(g2, 1000.0 * g1, rtol=1e-6)
    assert_allclose(h2, h1, rtol=1e-6)
    scale = np.mean(np.sqrt(np.abs(margin - y))) ** 2
    assert_allclose(g1 / scale, np.where(margin > y, 0.2, -0.8), atol=1e-6)
    g0, h0 = loss.grad_hess(y, y.copy())
    assert np.all(g0 == 0.0) and np.all(h0 > 0.0)


def _two_class_margin(f):
    return np.column_stack([np.zeros_like(f), f])


@pytest.mark.parametrize("eps", [0.0, 0.1, 0.3])
def test_two_class_softmax_is_logistic_on_margin_difference(eps, rng):
    y = make_labels("binary", None, rng, 40)[0]
    f = rng.normal(0, 3, 40)
    w = rng.uniform(0.1, 2, 40)
    sm = get_loss("softmax", num_class=2, label_smoothing=eps)
    lg = get_loss("logistic", label_smoothing=eps)
    m2 = _two_class_margin(f)
    assert sm.loss(y, m2, w) == pytest.approx(lg.loss(y, f, w), rel=1e-12)
    g2, h2 = sm.grad_hess(y, m2, w)
    g1, h1 = lg.grad_hess(y, f, w)
    assert_allclose(g2[:, 1], g1, rtol=1e-6, atol=1e-7)
    assert_allclose(g2[:, 0], -g1, rtol=1e-6, atol=1e-7)
    assert_allclose(h2[:, 1], h1, rtol=1e-6, atol=1e-7)
    assert_allclose(h2[:, 0], h1, rtol=1e-6, atol=1e-7)
    init = sm.init_score(y, w)
    assert init[1] - init[0] == pytest.approx(lg.init_score(y, w), rel=1e-9)
    assert_allclose(sm.predict(m2)[:, 1], lg.predict(f), rtol=1e-12)


@pytest.mark.parametrize("gamma", [0.0, 0.5, 2.0, 5.0])
@pytest.mark.parametrize("alpha", [None, 0.25])
def test_two_class_softmax_focal_is_focal_on_margin_difference(gamma, alpha, rng):
    y = make_labels("binary", None, rng, 40)[0]
    f = rng.normal(0, 3, 40)
    w = rng.uniform(0.1, 2, 40)
    focal = get_loss("focal", gamma=gamma, alpha=alpha)
    sf = get_loss("softmax_focal", num_class=2, gamma=gamma, alpha=None if alpha is None else (1 - alpha, alpha))
    m2 = _two_class_margin(f)
    assert sf.loss(y, m2, w) == pytest.approx(focal.loss(y, f, w), rel=1e-10)
    g2, h2 = sf.grad_hess(y, m2, w)
    g1, h1 = focal.grad_hess(y, f, w)
    assert_allclose(g2[:, 1], g1, rtol=1e-5, atol=1e-7)
    assert_allclose(g2[:, 0], -g1, rtol=1e-5, atol=1e-7)
    assert_allclose(h2[:, 1], h1, rtol=1e-5, atol=1e-7)
    assert_allclose(h2[:, 0], h1, rtol=1e-5, atol=1e-7)
    init = sf.init_score(y, w)
    c = focal.init_score(y, w)
    # both are numerical minimisers: compare the loss they reach
    assert sf.loss(y, constant_margin(sf, 40, init), w) == pytest.approx(
        focal.loss(y, np.full(40, c), w), rel=1e-8)
    assert init[1] - init[0] == pytest.approx(c, abs=1e-3)


# ---------------------------------------------------------------------------
# Cross-check with scikit-learn's losses
# ---------------------------------------------------------------------------


def _sklearn_pairs():
    from sklearn._loss import loss as skl

    return [
        ("squared_error", {}, lambda: skl.HalfSquaredError(), "real", True),
        ("absolute_error", {"curvature": "unit"}, lambda: skl.AbsoluteError(), "real", True),
        ("quantile", {"alpha": 0.1}, lambda: skl.PinballLoss(quantile=0.1), "real", False),
        ("quantile", {"alpha": 0.9}, lambda: skl.PinballLoss(quantile=0.9), "real", False),
        ("huber", {"delta": 0.5}, lambda: skl.HuberLoss(delta=0.5), "real", "quadratic"),
        ("huber", {"delta": 5.0}, lambda: skl.HuberLoss(delta=5.0), "real", "quadratic"),
        ("poisson", {"max_delta_step": 0.0}, lambda: skl.HalfPoissonLoss(), "nonneg", True),
        ("gamma", {}, lambda: skl.HalfGammaLoss(), "positive", True),
        ("tweedie", {"power": 1.0}, lambda: skl.HalfTweedieLoss(power=1.0), "nonneg", True),
        ("tweedie", {"power": 1.01}, lambda: skl.HalfTweedieLoss(power=1.01), "nonneg", True),
        ("tweedie", {"power": 1.5}, lambda: skl.HalfTweedieLoss(power=1.5), "nonneg", True),
        ("tweedie", {"power": 1.99}, lambda: skl.HalfTweedieLoss(power=1.99), "nonneg", True),
        ("tweedie", {"power": 2.0}, lambda: skl.HalfTweedieLoss(power=2.0), "positive", True),
        ("logistic", {}, lambda: skl.HalfBinomialLoss(), "binary", True),
        ("logistic", {}, lambda: skl.HalfBinomialLoss(), "soft", True),
        ("softmax", {"num_class": 3}, lambda: skl.HalfMultinomialLoss(n_classes=3), "classes", True),
        ("softmax", {"num_class": 5}, lambda: skl.HalfMultinomialLoss(n_classes=5), "classes", True),
    ]


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("index", range(len(_sklearn_pairs())),
                         ids=[f"{p[0]}{p[1]}-{p[3]}" for p in _sklearn_pairs()])
def test_matches_scikit_learn(index, weighted, rng):
    name, params, make_sk, labels, compare_hess = _sklearn_pairs()[index]
    ours, sk = get_loss(name, **params), make_sk()
    y, _ = make_labels(labels, ours, rng, 60)
    margin = fd_margin(ours, y, rng)
    w = rng.uniform(0.1, 3.0, 60) if weighted else None
    sk_margin = np.ascontiguousarray(margin)
    # scikit-learn drops terms that do not depend on the margin; our regression
    # losses are deviances (zero at a perfect fit), so add those terms back.
    # Our cross-entropies keep scikit-learn's form (the label entropy stays out).
    pointwise = sk.loss(y, sk_margin)
    if ours.link.name in ("identity", "log"):
        pointwise = pointwise + sk.constant_to_optimal_zero(y)
    assert ours.loss(y, margin, w) == pytest.approx(np.average(pointwise, weights=w), rel=1e-9, abs=1e-12)
    g_sk, h_sk = sk.gradient_hessian(y, sk_margin, sample_weight=w)
    g, h = ours.grad_hess(y, margin, w)
    assert_allclose(g, g_sk, rtol=2e-6, atol=1e-6)
    if compare_hess == "quadratic":
        inside = np.abs(margin - y) <= ours.delta
        assert inside.any() and (~inside).any()
        assert_allclose(h[inside], h_sk[inside], rtol=2e-6)
    elif compare_hess:
        assert_allclose(h, np.maximum(h_sk, HESS_FLOOR), rtol=2e-6, atol=1e-6)
    if ours.link.name != "identity":
        assert_allclose(ours.predict(margin), sk.link.inverse(sk_margin), rtol=1e-12)


def test_scikit_learn_pinball_hessian_differs_only_by_documented_half(rng):
    """scikit-learn's placeholder pinball Hessian is 1; ours with curvature
    "unit" is the boosters' 0.5 (and 1 for absolute error, twice the pinball)."""
    from sklearn._loss import loss as skl

    y, _ = make_labels("real", None, rng, 20)
    margin = y + rng.uniform(0.1, 2, 20) * rng.choice([-1, 1], 20)
    _, h_sk = skl.PinballLoss(quantile=0.3).gradient_hessian(y, margin)
    _, h = get_loss("quantile", alpha=0.3, curvature="unit").grad_hess(y, margin)
    assert_allclose(h, 0.5 * h_sk)


# ---------------------------------------------------------------------------
# init_score is the best constant
# ---------------------------------------------------------------------------


def _bracket(loss, y):
    link = loss.link.name
    if loss.needs_group:
        return -10.0, 10.0
    if link == "identity":
        spread = y.max() - y.min() + 1.0
        return y.min() - spread, y.max() + spread
    if link == "log":
        return np.log(y[y > 0].min()) - 10.0, np.log(y.max()) + 10.0
    return -40.0, 40.0


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_init_score_is_the_best_constant(case, weighted, rng):
    loss = case.build()
    y, group = case.make(rng, 40)
    w = group_weights(rng, y.shape[0], group) if weighted else None
    c0 = loss.init_score(y, w, group=group)
    n = y.shape[0]

    def objective(c):
        return loss.loss(y, constant_margin(loss, n, c), w, group=group)

    best = objective(c0)
    assert np.all(np.isfinite(c0)) and np.isfinite(best)
    tol = 1e-9 * (1.0 + abs(best))
    k = loss.n_outputs
    if k > 1:
        assert np.shape(c0) == (k,)
        for start in (np.zeros(k), np.asarray(c0) + rng.normal(0, 0.5, k)):
            res = minimize(objective, start, method="BFGS", options={"gtol": 1e-10})
            assert best <= res.fun + tol, (c0, res.x)
    else:
        assert np.ndim(c0) == 0
        lo, hi = _bracket(loss, y)
        res = minimize_scalar(objective, bounds=(lo, hi), method="bounded", options={"xatol": 1e-10})
        assert best <= res.fun + tol, (c0, res.x)
        grid = np.linspace(lo, hi, 801)
        assert best <= min(objective(c) for c in grid) + tol


# ---------------------------------------------------------------------------
# Properties over random labels, margins and weights
# ---------------------------------------------------------------------------

_EXTREME = st.sampled_from([-1e3, 1e3, 0.0, -1e-300, 700.0, -700.0])
_MARGIN_VALUE = st.one_of(_EXTREME, st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False))
# zero, or a weight in [1e-3, 1e3] (subnormal weights would only test rounding)
_WEIGHT_VALUE = st.one_of(st.sampled_from([0.0, 1.0, 1e3]), st.floats(1e-3, 1e3))


@st.composite
def _problem(draw, case):
    loss = case.build()
    n = draw(st.integers(1, 12))
    seed = draw(st.integers(0, 2**32 - 1))
    y, group = case.make(np.random.default_rng(seed), n)
    if loss.link.name == "identity" and not loss.needs_group:
        y = y * draw(st.sampled_from([1.0, 1e-6, 1e4]))
    shape = (n, loss.n_outputs) if loss.n_outputs > 1 else (n,)
    dtype = draw(st.sampled_from([np.float64, np.float32]))
    margin = draw(hnp.arrays(np.float64, shape, elements=_MARGIN_VALUE)).astype(dtype)
    n_w = n if group is None else len(group)
    w = draw(hnp.arrays(np.float64, n_w, elements=_WEIGHT_VALUE))
    if w.sum() <= 0:
        w[0] = 1.0
    if group is not None:
        w = np.repeat(w, group)
    return loss, y, margin, w, group


def _check_output(arr, margin):
    assert arr.dtype == np.float32
    assert arr.flags.c_contiguous
    assert arr.shape == margin.shape
    assert np.all(np.isfinite(arr))


@pytest.mark.parametrize("case", PROPERTY_CASES, ids=str)
@given(data=st.data())
def test_properties_random_inputs(case, data):
    loss, y, margin, w, group = data.draw(_problem(case))

    grad, hess = loss.grad_hess(y, margin, group=group)
    _check_output(grad, margin)
    _check_output(hess, margin)
    assert np.all(hess > 0)
    assert np.isfinite(loss.loss(y, margin, group=group))

    gw, hw = loss.grad_hess(y, margin, w, group=group)
    _check_output(gw, margin)
    _check_output(hw, margin)
    assert np.all(hw > 0)
    assert np.isfinite(loss.loss(y, margin, w, group=group))

    # a zero-weight row contributes nothing to the gradient
    zero = w == 0
    assert np.all(gw[zero] == 0)

    # weights multiply: grad_hess(c w) == c grad_hess(w), away from the float32
    # clamp and the Hessian floor
    c = 3.0
    gc, hc = loss.grad_hess(y, margin, c * w, group=group)
    # (float32 subnormals below 1e-30 carry too few digits to compare)
    ok_g = (np.abs(gw) > 1e-30) & (np.abs(gw) < FLOAT32_MAX / (2 * c))
    assert_allclose(gc[ok_g], c * gw[ok_g], rtol=1e-6)
    assert np.all(gc[np.abs(gw) <= 1e-30] * gw[np.abs(gw) <= 1e-30] >= 0)
    ok_h = (hw > 1e-14) & (hw < FLOAT32_MAX / (2 * c))
    assert_allclose(hc[ok_h], c * hw[ok_h], rtol=1e-6)
    # the weighted mean does not change when all weights are scaled
    assert loss.loss(y, margin, c * w, group=group) == pytest.approx(
        loss.loss(y, margin, w, group=group), rel=1e-9, abs=1e-300)

    # a row's unit weight equals no weight
    g1, h1 = loss.grad_hess(y, margin, np.ones(y.shape[0]), group=group)
    assert_array_equal(g1, grad)
    assert_array_equal(h1, hess)


# ---------------------------------------------------------------------------
# Input layouts and the adapters' unvalidated fast path
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("case", PROPERTY_CASES, ids=str)
def test_float32_margins_and_any_layout_give_the_same_result(case, rng):
    """Kernels compute in float64 whatever the margin dtype; strided, Fortran-
    ordered, integer and list inputs are accepted and give the same values."""
    loss = case.build()
    y, group = case.make(rng, 15)
    m32 = fd_margin(loss, y, rng).astype(np.float32)
    m64 = m32.astype(np.float64)
    ref = loss.grad_hess(y, m64, group=group)
    for variant in (m32, np.asfortranarray(m64), np.repeat(m64, 2, axis=0)[::2], m64.tolist()):
        got = loss.grad_hess(y.tolist(), variant, group=group)
        assert_array_equal(got[0], ref[0])
        assert_array_equal(got[1], ref[1])
        assert loss.loss(y, variant, group=group) == loss.loss(y, m64, group=group)


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_fast_path_matches_public_api(case, rng):
    """``grad_hess_into`` / ``loss_sum`` (what the adapters call every round)
    agree with the validated methods, for float32 margins as XGBoost passes them."""
    from gbm_objectives._validation import EMPTY_WEIGHT, group_offsets

    loss = case.build()
    y, group = case.make(rng, 20)
    margin = fd_margin(loss, y, rng).astype(np.float32)
    offsets = group_offsets(group, y.shape[0]) if loss.needs_group else None
    for w in (None, group_weights(rng, 20, group)):
        grad = np.full(margin.shape, np.nan, dtype=np.float32)
        hess = np.full(margin.shape, np.nan, dtype=np.float32)
        weight = EMPTY_WEIGHT if w is None else w
        loss.grad_hess_into(y, margin, weight, grad, hess, offsets)
        ref = loss.grad_hess(y, margin, w, group=group)
        assert_array_equal(grad, ref[0])
        assert_array_equal(hess, ref[1])
        total = loss.loss_sum(y, margin, weight, offsets)
        if w is None:
            denom = len(group) if loss.needs_group else y.shape[0]
        else:
            denom = w[offsets[:-1]].sum() if loss.needs_group else w.sum()
        assert total / denom == pytest.approx(loss.loss(y, margin, w, group=group), rel=1e-12)


@pytest.mark.parametrize("case", [c for c in CASES if c.build().n_outputs > 1], ids=str)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_multi_output_memory_layouts_agree(case, dtype, rng):
    """Row-major (XGBoost), class-major (LightGBM) and mixed layouts of the
    margin and the outputs give the same values, across several row blocks."""
    loss = case.build()
    n = 3001
    k = loss.n_outputs
    y, _ = case.make(rng, n)
    margin = (rng.normal(0, 3, (n, k))).astype(dtype)
    margin[:3] = [[1e3] + [-1e3] * (k - 1)] * 3
    p = softmax(margin.astype(np.float64), axis=1)
    for w in (None, rng.uniform(0, 2, n)):
        weight = np.empty(0) if w is None else w
        results = []
        # (each layout/dtype pair is a separate compile: keep the list short)
        layouts = (("C", "C"), ("F", "F")) + ((("F", "C"),) if dtype is np.float32 else ())
        for m_order, out_order in layouts:
            m = np.asarray(margin, order=m_order)
            grad = np.empty(margin.shape, np.float32, order=out_order)
            hess = np.empty(margin.shape, np.float32, order=out_order)
            loss.grad_hess_into(y, m, weight, grad, hess, None)
            results.append((grad, hess))
        for grad, hess in results[1:]:
            assert_allclose(grad, results[0][0], rtol=1e-6, atol=1e-12)
            assert_allclose(hess, results[0][1], rtol=1e-6, atol=1e-30)
        if loss.name == "softmax" and loss.exact_hessian:
            onehot = np.eye(loss.num_class)[y.astype(int)]
            target = onehot * (1 - loss.label_smoothing) + loss.label_smoothing / loss.num_class
            scale = 1.0 if w is None else w[:, None]
            assert_allclose(results[0][0], scale * (p - target), rtol=1e-6, atol=1e-7)
            assert_allclose(results[0][1], np.maximum(scale * p * (1 - p), HESS_FLOOR), rtol=1e-6, atol=1e-7)


# ---------------------------------------------------------------------------
# Numerical stability at the extremes
# ---------------------------------------------------------------------------


def _extreme_margins(loss, n, rng):
    values = np.array([-1e3, 1e3, 0.0, -700.0, 700.0, -40.0, 40.0])
    shape = (n, loss.n_outputs) if loss.n_outputs > 1 else (n,)
    return rng.choice(values, size=shape)


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_extreme_margins_give_finite_outputs(case, rng):
    loss = case.build()
    y, group = case.make(rng, 30)
    margin = _extreme_margins(loss, 30, rng)
    w = group_weights(rng, 30, group)
    for weight in (None, w):
        grad, hess = loss.grad_hess(y, margin, weight, group=group)
        assert np.all(np.isfinite(grad)) and np.all(np.isfinite(hess)) and np.all(hess > 0)
        assert np.isfinite(loss.loss(y, margin, weight, group=group))
    assert np.all(np.isfinite(loss.predict(margin, group=group)))


@pytest.mark.parametrize("power", [1.0, 1.01, 1.2, 1.5, 1.8, 1.99, 2.0])
def test_tweedie_huge_targets(power):
    loss = get_loss("tweedie", power=power)
    y = np.repeat(np.array([1e6, 1e8, 1e10, 1e12]), 7)
    margin = np.tile(np.array([-1e3, -700.0, -30.0, 0.0, 27.6, 700.0, 1e3]), 4)
    w = np.tile([0.0, 1.0, 2.0, 1e3], 7)
    for weight in (None, w):
        grad, hess = loss.grad_hess(y, margin, weight)
        assert np.all(np.isfinite(grad)) and np.all(np.isfinite(hess)) and np.all(hess > 0)
        assert np.isfinite(loss.loss(y, margin, weight))
    grad, _ = loss.grad_hess(y, margin, w)
    assert np.all(grad[w == 0] == 0)
    # the gradient points the right way: down when mu < y, up when mu > y
    grad, _ = loss.grad_hess(y, margin)
    mu = np.exp(np.clip(margin, -700, 700))
    assert np.all(np.sign(grad[mu < 0.5 * y]) == -1)
    assert np.all(np.sign(grad[mu > 2 * y]) == 1)
    # at the right answer the gradient vanishes and the loss is ~0
    at_y = np.log(y)
    g, _ = loss.grad_hess(y, at_y)
    assert_allclose(g, 0.0, atol=1e-6 * y.max() ** (2 - power))
    assert np.isfinite(loss.init_score(y)) and loss.init_score(y) == pytest.approx(np.log(y.mean()))


@pytest.mark.parametrize("power", [1.0, 1.5, 1.99])
def test_mean_loss_finite_when_row_sum_would_overflow(power):
    loss = get_loss("tweedie", power=power)
    y = np.zeros(200)
    margin = np.full(200, 1e3)
    w = np.full(200, 1e3)
    value = loss.loss(y, margin, w)
    assert np.isfinite(value)
    assert value == pytest.approx(loss.loss(y[:1], margin[:1]), rel=1e-9)


@pytest.mark.parametrize("name,y", [
    ("poisson", [0.0, 0.0, 0.0]),
    ("tweedie", [0.0, 0.0, 1e-300]),
    ("gamma", [1e-300, 1e-12, 1e300]),
    ("logistic", [0.0, 0.0, 0.0]),
    ("logistic", [1.0, 1.0, 1.0]),
    ("focal", [1.0, 1.0, 1.0]),
    ("focal", [0.0, 0.0, 0.0]),
    ("squared_error", [-1e150, 1e150, 0.0]),
    ("huber", [-1e300, 1e300, 0.0]),
    ("pseudo_huber", [-1e300, 1e300, 0.0]),
    ("log_cosh", [-1e300, 1e300, 0.0]),
    ("quantile", [-1e300, 1e300, 0.0]),
])
def test_labels_at_domain_edges(name, y):
    loss = get_loss(name)
    y = np.asarray(y)
    c = loss.init_score(y)
    assert np.isfinite(c)
    for margin in (np.full(3, float(c)), np.array([-1e3, 0.0, 1e3])):
        grad, hess = loss.grad_hess(y, margin)
        assert np.all(np.isfinite(grad)) and np.all(np.isfinite(hess)) and np.all(hess > 0)
        assert np.isfinite(loss.loss(y, margin))


@pytest.mark.parametrize("name", ["softmax", "softmax_focal"])
def test_absent_class_gets_finite_start(name):
    loss = get_loss(name, num_class=4)
    y = np.array([0.0, 0.0, 1.0, 1.0, 2.0])
    init = loss.init_score(y)
    assert np.all(np.isfinite(init))
    assert init[3] < init[0] - 5  # the absent class is pushed far down, not to -inf


# ---------------------------------------------------------------------------
# Validation: every invalid input is a ValueError naming the problem
# ---------------------------------------------------------------------------

_INVALID_PARAMS = [
    ("huber", {"delta": -1.0}, "delta"),
    ("huber", {"delta": 0.0}, "delta"),
    ("huber", {"delta": float("nan")}, "delta"),
    ("pseudo_huber", {"delta": -0.5}, "delta"),
    ("tweedie", {"power": 0.5}, "power"),
    ("tweedie", {"power": 2.5}, "power"),
    ("tweedie", {"power": float("inf")}, "power"),
    ("tweedie", {"power": "1.5"}, "power"),
    ("quantile", {"alpha": 0.0}, "alpha"),
    ("quantile", {"alpha": 1.0}, "alpha"),
    ("quantile", {"alpha": -0.2}, "alpha"),
    ("focal", {"alpha": 0.0}, "alpha"),
    ("focal", {"alpha": 1.5}, "alpha"),
    ("focal", {"gamma": -1.0}, "gamma"),
    ("softmax_focal", {"num_class": 3, "gamma": -0.5}, "gamma"),
    ("softmax_focal", {"num_class": 3, "alpha": (0.5, 0.5)}, "alpha"),
    ("softmax_focal", {"num_class": 3, "alpha": (0.5, 0.0, 0.5)}, "alpha"),
    ("infonce", {"temperature": 0.0}, "temperature"),
    ("infonce", {"temperature": -0.1}, "temperature"),
    ("softmax", {"num_class": 1}, "num_class"),
    ("softmax", {"num_class": 2.5}, "num_class"),
    ("softmax", {"num_class": "3"}, "num_class"),
    ("softmax", {"num_class": True}, "num_class"),
    ("softmax_focal", {"num_class": 0}, "num_class"),
    ("softmax", {"num_class": 3, "hessian_scale": "bogus"}, "hessian_scale"),
    ("softmax", {"num_class": 3, "hessian_scale": 0.0}, "hessian_scale"),
    ("softmax", {"num_class": 3, "label_smoothing": 1.0}, "label_smoothing"),
    ("logistic", {"label_smoothing": -0.1}, "label_smoothing"),
    ("huber", {"curvature": "exact"}, "curvature"),
    ("pseudo_huber", {"curvature": "unit"}, "curvature"),
    ("log_cosh", {"curvature": "bogus"}, "curvature"),
    ("quantile", {"curvature": "irls"}, "curvature"),
    ("absolute_error", {"curvature": None}, "curvature"),
    ("multi_quantile", {"alphas": (0.9, 0.5, 0.1)}, "alphas must be strictly increasing"),
    ("multi_quantile", {"alphas": (0.1, 0.5, 0.5)}, "alphas must be strictly increasing.*duplicates"),
    ("multi_quantile", {"alphas": (0.0, 0.5)}, r"alphas must all lie in \(0, 1\)"),
    ("multi_quantile", {"alphas": (0.5, 1.0)}, r"alphas must all lie in \(0, 1\)"),
    ("multi_quantile", {"alphas": (0.1, float("nan"))}, r"alphas must all lie in \(0, 1\)"),
    ("multi_quantile", {"alphas": (0.5,)}, "alphas needs at least two levels.*quantile"),
    ("multi_quantile", {"alphas": 0.5}, "alphas must be a sequence"),
    ("multi_quantile", {"alphas": "0.1,0.9"}, "alphas must be a sequence"),
    ("multi_quantile", {"alphas": ("a", "b")}, "alphas must be a sequence"),
    ("multi_quantile", {"alphas": (0.1, 0.9), "curvature": "unit"}, "curvature"),
    ("multi_quantile", {"alphas": (0.1, 0.9), "coupling": "joint"}, "coupling"),
    ("multi_expectile", {"alphas": (0.8, 0.2)}, "alphas must be strictly increasing"),
    ("multi_expectile", {"alphas": (0.2, 0.2)}, "alphas must be strictly increasing.*duplicates"),
    ("multi_expectile", {"alphas": (-0.1, 0.5)}, r"alphas must all lie in \(0, 1\)"),
    ("multi_expectile", {"alphas": ()}, "alphas needs at least two levels.*expectile"),
    ("tweedie", {"powr": 1.5}, "powr"),
    ("poisson", {"power": 1.0}, "unknown parameter.*'power'"),
    ("softmax", {}, "needs parameter.*num_class"),
    ("no_such_loss", {}, "unknown loss 'no_such_loss'"),
]


@pytest.mark.parametrize("name,params,match", _INVALID_PARAMS,
                         ids=[f"{n}-{p}" for n, p, _ in _INVALID_PARAMS])
def test_invalid_parameters_raise(name, params, match):
    with pytest.raises(ValueError, match=match):
        get_loss(name, **params)


def test_as_loss():
    loss = get_loss("huber", delta=2.0)
    assert as_loss(loss) is loss
    assert as_loss("huber", delta=2.0) == loss
    with pytest.raises(ValueError, match="parameters"):
        as_loss(loss, delta=1.0)
    with pytest.raises(ValueError, match="expected a Loss"):
        as_loss(3)


@pytest.mark.parametrize("spec, name, params", [
    ("quantile(alpha=0.9)", "quantile", {"alpha": 0.9}),
    ("tweedie(power=1.2)", "tweedie", {"power": 1.2}),
    (" huber( delta = 2, curvature='irls' ) ", "huber", {"delta": 2.0, "curvature": "irls"}),
    ("poisson(max_delta_step=0)", "poisson", {"max_delta_step": 0.0}),
    ("softmax(num_class=3, hessian_scale='xgboost')", "softmax", {"num_class": 3, "hessian_scale": "xgboost"}),
    ("focal(gamma=1, alpha=None)", "focal", {"gamma": 1.0, "alpha": None}),
    ("log_cosh()", "log_cosh", {}),
])
def test_spec_strings_are_accepted_wherever_a_loss_name_is(spec, name, params):
    expected = get_loss(name, **params)
    assert get_loss(spec) == expected
    assert as_loss(spec) == expected
    assert gbm_objectives.parse_loss(spec) == expected


def test_parse_loss_lives_with_the_registry_and_stays_importable_from_ablation():
    from gbm_objectives import ablation, losses

    assert gbm_objectives.parse_loss is losses.parse_loss is ablation.parse_loss
    assert "parse_loss" in gbm_objectives.__all__ and "parse_loss" in losses.__all__


@pytest.mark.parametrize("call, match", [
    (lambda: get_loss("quantile(alpha=0.9)", alpha=0.5), "already gives its parameters"),
    (lambda: as_loss("tweedie(power=1.2)", power=1.5), "already gives its parameters"),
    (lambda: get_loss("tweedie(power=1.5, power=1.6)"), "more than once"),
    (lambda: as_loss("huber(delta=1.0, delta=2.0)"), "more than once"),
    (lambda: as_loss("quantile(0.9)"), "keyword"),
    (lambda: as_loss("quantile(alpha=x)"), "literal"),
    (lambda: as_loss("quantile(alpha=1.5)"), "alpha"),
    (lambda: as_loss("nope(alpha=0.5)"), "unknown loss 'nope'"),
    (lambda: as_loss("quantile(alpha=0.9"), "cannot parse"),
    (lambda: get_loss(3), "must be a string"),
])
def test_spec_string_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()


_NAN = float("nan")
_INF = float("inf")


def _invalid_calls():
    """(id, loss, kwargs for grad_hess/loss, match)."""
    reg = get_loss("squared_error")
    calls = [
        ("tweedie-negative-y", get_loss("tweedie"), dict(y=[-1.0, 2.0], margin=[0.0, 0.0]), r"y >= 0"),
        ("poisson-negative-y", get_loss("poisson"), dict(y=[1.0, -1e-9], margin=[0.0, 0.0]), r"y >= 0"),
        ("gamma-zero-y", get_loss("gamma"), dict(y=[0.0, 2.0], margin=[0.0, 0.0]), r"y > 0"),
        ("tweedie2-zero-y", get_loss("tweedie", power=2.0), dict(y=[0.0, 2.0], margin=[0.0, 0.0]), r"y > 0"),
        ("logistic-y-above-1", get_loss("logistic"), dict(y=[0.0, 1.5], margin=[0.0, 0.0]), r"\[0, 1\]"),
        ("logistic-y-below-0", get_loss("logistic"), dict(y=[-0.5, 1.0], margin=[0.0, 0.0]), r"\[0, 1\]"),
        ("focal-y-above-1", get_loss("focal"), dict(y=[2.0], margin=[0.0]), r"\[0, 1\]"),
        ("softmax-fractional", get_loss("softmax", num_class=3),
         dict(y=[0.0, 1.5], margin=np.zeros((2, 3))), "integer"),
        ("softmax-too-big", get_loss("softmax", num_class=3),
         dict(y=[0.0, 3.0], margin=np.zeros((2, 3))), r"\[0, 3\)"),
        ("softmax-negative", get_loss("softmax_focal", num_class=3),
         dict(y=[-1.0, 1.0], margin=np.zeros((2, 3))), r"\[0, 3\)"),
        ("infonce-no-positive", get_loss("infonce"),
         dict(y=[1.0, 0.0, 0.0, 0.0], margin=np.zeros(4), group=[2, 2]), "group 1 has none"),
        ("infonce-negative", get_loss("infonce"),
         dict(y=[1.0, -1.0], margin=np.zeros(2), group=[2]), "y >= 0"),
        ("infonce-missing-group", get_loss("infonce"), dict(y=[1.0, 0.0], margin=np.zeros(2)), "needs groups"),
        ("infonce-bad-sizes", get_loss("infonce"),
         dict(y=[1.0, 0.0, 1.0], margin=np.zeros(3), group=[2, 2]), "sum to 4 but there are 3 rows"),
        ("infonce-zero-size", get_loss("infonce"),
         dict(y=[1.0, 0.0, 1.0], margin=np.zeros(3), group=[3, 0]), "positive"),
        ("infonce-noncontiguous-qid", get_loss("infonce"),
         dict(y=[1.0, 1.0, 1.0], margin=np.zeros(3), group=[7, 8, 7]), "contiguous"),
        ("infonce-fractional-group", get_loss("infonce"),
         dict(y=[1.0, 1.0, 1.0], margin=np.zeros(3), group=[1.5, 1.5]), "whole numbers"),
        ("infonce-2d-group", get_loss("infonce"),
         dict(y=[1.0, 1.0], margin=np.zeros(2), group=[[1], [1]]), "1-D"),
        ("infonce-weight-varies", get_loss("infonce"),
         dict(y=[1.0, 0.0], margin=np.zeros(2), group=[2], sample_weight=[1.0, 2.0]), "constant within each group"),
        ("group-on-pointwise", reg, dict(y=[1.0, 2.0], margin=[0.0, 0.0], group=[2]), "does not use groups"),
        ("nan-label", reg, dict(y=[_NAN, 1.0], margin=[0.0, 0.0]), r"^y contains 1 NaN"),
        ("inf-label", get_loss("poisson"), dict(y=[_INF, 1.0], margin=[0.0, 0.0]), r"^y contains 1 NaN or infinite"),
        ("nan-margin", reg, dict(y=[0.0, 1.0], margin=[0.0, _NAN]), r"^margin contains 1 NaN"),
        ("inf-margin", get_loss("softmax", num_class=2),
         dict(y=[0.0, 1.0], margin=[[0.0, _INF], [-_INF, 0.0]]), r"^margin contains 2 NaN"),
        ("nan-weight", reg, dict(y=[0.0, 1.0], margin=[0.0, 0.0], sample_weight=[1.0, _NAN]),
         "^sample_weight contains"),
        ("inf-weight", reg, dict(y=[0.0, 1.0], margin=[0.0, 0.0], sample_weight=[_INF, 1.0]),
         "^sample_weight contains"),
        ("negative-weight", reg, dict(y=[0.0, 1.0], margin=[0.0, 0.0], sample_weight=[1.0, -1.0]), "non-negative"),
        ("zero-weights", reg, dict(y=[0.0, 1.0], margin=[0.0, 0.0], sample_weight=[0.0, 0.0]), "positive sum"),
        ("weight-length", reg, dict(y=[0.0, 1.0], margin=[0.0, 0.0], sample_weight=[1.0]), "sample_weight has 1"),
        ("margin-length", reg, dict(y=[0.0, 1.0], margin=[0.0, 0.0, 0.0]), r"margin has shape \(3,\)"),
        ("margin-2d-binary", get_loss("logistic"), dict(y=[0.0, 1.0], margin=np.zeros((2, 2))), "margin has shape"),
        ("margin-wrong-k", get_loss("softmax", num_class=3),
         dict(y=[0.0, 1.0], margin=np.zeros((2, 4))), r"expected \(2, 3\)"),
        ("margin-1d-multiclass", get_loss("softmax_focal", num_class=3),
         dict(y=[0.0, 1.0], margin=np.zeros(2)), r"expected \(2, 3\)"),
        ("margin-3d", reg, dict(y=[0.0, 1.0], margin=np.zeros((2, 1, 1))), "margin must be 1-D or 2-D"),
        ("labels-2d", reg, dict(y=[[0.0, 1.0]], margin=np.zeros(2)), "y must be 1-D"),
        ("labels-empty", reg, dict(y=[], margin=[]), "y is empty"),
        ("labels-text", reg, dict(y=["a", "b"], margin=[0.0, 0.0]), "y must be numeric"),
        ("margin-text", reg, dict(y=[0.0, 1.0], margin=["a", "b"]), "margin must be numeric"),
    ]
    return calls


_CALLS = _invalid_calls()


@pytest.mark.parametrize("method", ["grad_hess", "loss"])
@pytest.mark.parametrize("index", range(len(_CALLS)), ids=[c[0] for c in _CALLS])
def test_invalid_inputs_raise(index, method):
    _, loss, kwargs, match = _CALLS[index]
    kwargs = dict(kwargs)
    y, margin = kwargs.pop("y"), kwargs.pop("margin")
    with pytest.raises(ValueError, match=match):
        getattr(loss, method)(y, margin, **kwargs)


_LABEL_CALLS = [c for c in _CALLS if "margin" not in c[0]]  # init_score takes no margin


@pytest.mark.parametrize("index", range(len(_LABEL_CALLS)), ids=[c[0] for c in _LABEL_CALLS])
def test_invalid_labels_raise_in_init_score_and_check_labels(index):
    name, loss, kwargs, match = _LABEL_CALLS[index]
    kwargs = dict(kwargs)
    y = kwargs.pop("y")
    kwargs.pop("margin")
    with pytest.raises(ValueError, match=match):
        loss.init_score(y, kwargs.get("sample_weight"), group=kwargs.get("group"))
    if not kwargs and not name.endswith("missing-group"):
        with pytest.raises(ValueError, match=match):
            loss.check_labels(y)


def test_group_of_row_length_is_read_as_query_ids():
    loss = get_loss("infonce", temperature=0.5)
    y = np.array([1.0, 0.0, 0.0, 1.0])
    margin = np.array([0.3, -0.2, 1.0, 0.1])
    by_sizes = loss.grad_hess(y, margin, group=[2, 2])
    by_qid = loss.grad_hess(y, margin, group=[5, 5, 9, 9])
    assert_array_equal(by_sizes[0], by_qid[0])
    # four ones are four query ids of one query, not four groups of one row
    one_query = loss.grad_hess(y, margin, group=[4])
    assert_array_equal(loss.grad_hess(y, margin, group=[1, 1, 1, 1])[0], one_query[0])


def test_predict_validates_margin():
    with pytest.raises(ValueError, match=r"expected \(n, 3\)"):
        get_loss("softmax", num_class=3).predict(np.zeros((4, 2)))
    with pytest.raises(ValueError, match="margin contains"):
        get_loss("poisson").predict([0.0, _NAN])
    with pytest.raises(ValueError, match="needs groups"):
        get_loss("infonce").predict(np.zeros(3))
    with pytest.raises(ValueError, match=r"expected \(n,\)"):
        get_loss("logistic").predict(np.zeros((3, 2)))


# ---------------------------------------------------------------------------
# Compiled kernels, pickling, copies, repr
# ---------------------------------------------------------------------------


def _dispatchers():
    from numba.core.registry import CPUDispatcher

    modules = [gbm_objectives._validation]
    for info in pkgutil.iter_modules(gbm_objectives.kernels.__path__):
        modules.append(importlib.import_module(f"gbm_objectives.kernels.{info.name}"))
    found = {}
    for mod in modules:
        for attr, obj in vars(mod).items():
            if isinstance(obj, CPUDispatcher) and obj.py_func.__module__ == mod.__name__:
                found[f"{mod.__name__}.{attr}"] = obj
    return found


def test_kernels_compile_in_nopython_mode(rng):
    # run every case once with float64 and float32 margins so every kernel compiles, and
    # multi_quantile's default coupling="level", whose direction is no gradient for the
    # finite-difference cases (it has tests of its own)
    level_sets = [Case("multi_quantile", (("curvature", c),), "real") for c in ("mm", "scaled")]
    for case in [*CASES, *level_sets]:
        loss = case.build()
        y, group = case.make(rng, 6)
        margin = fd_margin(loss, y, rng)
        for m in (margin, margin.astype(np.float32)):
            loss.grad_hess(y, m, group=group)
            loss.grad_hess(y, m, group_weights(rng, 6, group), group=group)
            loss.loss(y, m, group=group)
            loss.init_score(y, group=group)
    dispatchers = _dispatchers()
    assert len(dispatchers) >= 10
    for qualname, disp in dispatchers.items():
        assert disp.targetoptions.get("nopython") is True, qualname
        assert len(disp.nopython_signatures) == len(disp.signatures), f"{qualname} fell back to object mode"
        # helpers called from other kernels are compiled inside their callers
        # (or loaded with them from the cache); the entry points must have run
        if qualname.endswith(("_grad_hess", "_loss_sum")):
            assert disp.signatures, f"{qualname} was never compiled by any loss"


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_pickle_copy_equality_and_repr(case, rng):
    loss = case.build()
    y, group = case.make(rng, 12)
    margin = fd_margin(loss, y, rng)
    expected = loss.grad_hess(y, margin, group=group)
    for other in (pickle.loads(pickle.dumps(loss)), copy.deepcopy(loss), copy.copy(loss),
                  get_loss(loss.name, **loss.params)):
        assert other == loss
        assert hash(other) == hash(loss)
        assert repr(other) == repr(loss)
        assert other.params == loss.params
        got = other.grad_hess(y, margin, group=group)
        assert_array_equal(got[0], expected[0])
        assert_array_equal(got[1], expected[1])
        assert other.loss(y, margin, group=group) == loss.loss(y, margin, group=group)
    # repr reads like the call that built it
    assert repr(loss) == f"{type(loss).__name__}(" + ", ".join(f"{k}={v!r}" for k, v in loss.params.items()) + ")"
    assert loss != get_loss("squared_error") or loss.name == "squared_error"


def test_losses_with_different_parameters_differ():
    built = [c.build() for c in CASES]
    distinct = {repr(b) for b in built}
    assert len({b for b in built}) == len(distinct)
    assert get_loss("tweedie", power=1.5) != get_loss("tweedie", power=1.2)
    assert get_loss("huber", delta=1.0) != get_loss("huber", delta=1.0, curvature="irls")


@pytest.mark.parametrize("case", PROPERTY_CASES, ids=str)
def test_public_attributes(case):
    loss = case.build()
    assert loss.link.name in ("identity", "log", "logit", "softmax", "noncrossing", "cumulative_max", "parameters")
    assert isinstance(loss.exact_hessian, bool)
    assert isinstance(loss.label_domain, Domain) and str(loss.label_domain)
    assert loss.task in ("regression", "binary", "multiclass", "ranking")
    k = loss.n_outputs
    if loss.is_multiclass:
        assert k == loss.num_class
    # margins are (n, k) for several outputs, (n,) for one, and nothing else
    assert loss.check_margin(np.zeros((3, k)), 3).shape == ((3, k) if k > 1 else (3,))
    with pytest.raises(ValueError, match="shape"):
        loss.check_margin(np.zeros((3, k + 1)), 3)
    assert len(loss.output_names) == len(set(loss.output_names)) == loss.n_outputs
    assert len(loss.output_links) == loss.n_outputs
    assert isinstance(loss.params, dict)
    loss.params["extra"] = 1  # a copy: the loss is not changed
    assert "extra" not in loss.params


# ---------------------------------------------------------------------------
# predict applies the inverse link
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("case", PROPERTY_CASES, ids=str)
def test_predict_is_inverse_link(case, rng):
    loss = case.build()
    y, group = case.make(rng, 20)
    margin = fd_margin(loss, y, rng) * 3.0
    if not loss.needs_group:
        margin.flat[:2] = [-1e3, 1e3]
    pred = loss.predict(margin, group=group)
    if loss.needs_group:
        bounds = np.concatenate(([0], np.cumsum(group)))
        expected = np.concatenate([softmax(margin[a:b] / loss.temperature) for a, b in zip(bounds[:-1], bounds[1:])])
        # one query id per row is the same grouping
        qid = np.repeat(np.arange(len(group)) * 7 + 3, group)
        assert_allclose(loss.predict(margin, group=qid), expected, rtol=1e-12)
        assert_allclose(np.add.reduceat(pred, bounds[:-1]), 1.0, rtol=1e-12)
    elif loss.link.name == "identity":
        expected = margin
    elif loss.link.name == "log":
        expected = np.exp(np.clip(margin, -700, 700))
    elif loss.link.name == "logit":
        expected = expit(margin)
    elif loss.link.name == "softmax":
        expected = softmax(margin, axis=1)
    elif loss.link.name == "noncrossing":
        # a base level plus positive increments: 1e-6 + softplus of the other margins
        increments = 1e-6 + np.logaddexp(0.0, margin[:, 1:])
        expected = np.cumsum(np.column_stack([margin[:, 0], increments]), axis=1)
        assert np.all(np.diff(pred, axis=1) > 0)
    elif loss.link.name == "cumulative_max":
        # each level the largest of its own margin and the margins below it
        expected = np.array([[max(row[: j + 1]) for j in range(row.shape[0])] for row in margin])
        assert np.all(np.diff(pred, axis=1) >= 0)
        assert_allclose(loss.link.link(pred), pred, rtol=0)  # the levels are their own margins
    elif loss.link.name == "parameters":
        # one link per parameter; predict is the mean of the distributions of those parameters
        inverse = {"identity": lambda m: m, "log": lambda m: np.exp(np.clip(m, -700, 700)), "logit": expit}
        inverse["shifted_log"] = lambda m: 1.0 + np.exp(np.clip(m, -700, 700))  # student_t: df = 1 + exp(m)
        params = np.column_stack([inverse[link.name](margin[:, j]) for j, link in enumerate(loss.output_links)])
        assert_allclose(loss.parameters(margin), params, rtol=1e-12)
        expected = loss.distribution(params).mean()
    else:  # pragma: no cover
        raise AssertionError(loss.link)
    assert pred.shape == (margin.shape[:1] if loss.predicts_distribution else margin.shape)
    assert np.all(np.isfinite(pred))
    assert_allclose(pred, expected, rtol=1e-12, atol=1e-300)
    # the link maps predictions back to the margin where it is invertible
    if not loss.needs_group and loss.link.name in ("identity", "log", "logit"):
        inner = np.abs(margin) < 30
        assert_allclose(loss.link.link(pred[inner]), margin[inner], rtol=1e-9, atol=1e-9)
    if loss.link.name == "noncrossing":
        # the increments' inverse is exact while softplus(m) is well above the 1e-6 gap
        inner = np.all(np.abs(margin[:, 1:]) < 10, axis=1) & (np.abs(margin[:, 0]) < 30)
        assert_allclose(loss.link.link(pred[inner]), margin[inner], rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("case", PROPERTY_CASES, ids=str)
def test_predict_returns_float64_for_float32_margins(case, rng):
    loss = case.build()
    y, group = case.make(rng, 12)
    margin = fd_margin(loss, y, rng)
    m32 = margin.astype(np.float32)
    pred = loss.predict(m32, group=group)
    assert pred.dtype == np.float64
    assert_allclose(pred, loss.predict(m32.astype(np.float64), group=group), rtol=1e-12)


def test_predict_column_margin_for_single_output():
    loss = get_loss("poisson")
    m = np.array([[0.0], [1.0]])
    assert_allclose(loss.predict(m), np.exp([0.0, 1.0]))


# ---------------------------------------------------------------------------
# Expectile: XGBoost's built-in (>= 3.3) as the oracle
# ---------------------------------------------------------------------------


def test_expectile_trains_like_xgboosts_builtin(rng):
    xgb = pytest.importorskip("xgboost")
    from packaging.version import Version

    if Version(xgb.__version__) < Version("3.3"):
        pytest.skip("reg:expectileerror needs XGBoost >= 3.3")
    import gbm_objectives.xgboost as gx

    X = rng.normal(size=(400, 3))
    y = X[:, 0] + rng.standard_t(3, 400) * (1.0 + np.abs(X[:, 1]))
    w = rng.uniform(0.5, 2.0, 400)
    d = xgb.DMatrix(X, label=y, weight=w)
    params = {"max_depth": 3, "nthread": 1, "base_score": 0.3, "eta": 0.3}
    builtin = xgb.train({**params, "objective": "reg:expectileerror", "expectile_alpha": 0.8}, d, 10)
    ours = xgb.train({**params, "objective": "reg:squarederror"}, d, 10, obj=gx.objective("expectile(alpha=0.8)"))
    assert_allclose(ours.predict(d), builtin.predict(d), rtol=1e-4, atol=1e-4)
    # The init score is the weighted expectile, as the built-in's intercept.
    loss = get_loss("expectile", alpha=0.8)
    start = loss.init_score(y, w)
    g, _ = loss.grad_hess(y, np.full(400, start), w)
    assert abs(float(g.astype(np.float64).sum())) < 1e-6 * float(np.abs(g).sum())
