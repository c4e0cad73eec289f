"""Losses at the edges of float64: huge or tiny margins, labels and weights.

The rule: finite inputs give finite gradients and Hessians (Hessian > 0), a
loss that is never NaN or negative (and finite whenever the true value fits
in a float64), and a finite start score; or a clear ValueError.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from gbm_objectives import available_losses, get_loss, parse_loss
from gbm_objectives._adapters import Data
from gbm_objectives.kernels import regression
from gbm_objectives.kernels._common import FLOAT32_MAX as F32MAX
from gbm_objectives.kernels._common import HESS_FLOOR
from gbm_objectives.testing import example_labels, example_margins

FMAX = float(np.finfo(np.float64).max)


# ---------------------------------------------------------------------------
# The reported cases
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("k", [2, 3, 7])
@pytest.mark.parametrize("value", [-1e300, -1e200, 1e300, FMAX, -FMAX])
@pytest.mark.parametrize("eps", [0.0, 0.2])
def test_softmax_of_equal_huge_margins_is_log_k(k, value, eps):
    loss = get_loss("softmax", num_class=k, label_smoothing=eps)
    y = np.arange(k, dtype=np.float64) % k
    margin = np.full((k, k), value)
    assert loss.loss(y, margin) == pytest.approx(math.log(k), rel=1e-12)
    g, h = loss.grad_hess(y, margin)
    g_ref, h_ref = loss.grad_hess(y, np.zeros((k, k)))
    assert_allclose(g, g_ref, rtol=1e-6)
    assert_allclose(h, h_ref, rtol=1e-6)


@pytest.mark.parametrize("name,kwargs", [
    ("softmax", {"num_class": 3}),
    ("softmax", {"num_class": 4, "label_smoothing": 0.1}),
    ("softmax_focal", {"num_class": 3}),
    ("softmax_focal", {"num_class": 4, "gamma": 0.5, "alpha": (1.0, 2.0, 0.5, 3.0)}),
])
@pytest.mark.parametrize("shift", [1e15, 2.0**52, 1e16, -1e16])
def test_softmax_losses_are_shift_invariant_at_huge_margins(name, kwargs, shift, rng):
    """Adding a constant to a row of margins changes nothing; with integer
    margins (even ones beyond 2**52) the shifted margins are exact, so the
    loss and gradient must match the unshifted ones."""
    loss = get_loss(name, **kwargs)
    k = loss.num_class
    n = 40
    y = rng.integers(0, k, n).astype(np.float64)
    margin = 2.0 * rng.integers(-6, 7, size=(n, k)).astype(np.float64)
    shifted = margin + shift
    assert np.array_equal(shifted - shift, margin)
    g, h = loss.grad_hess(y, margin)
    gs, hs = loss.grad_hess(y, shifted)
    assert_allclose(gs, g, rtol=1e-6, atol=1e-7)
    assert_allclose(hs, h, rtol=1e-6, atol=1e-7)
    assert loss.loss(y, shifted) == pytest.approx(loss.loss(y, margin), rel=1e-12)


@pytest.mark.parametrize("big", [1e15, 1e22, 1e100, 1e300, FMAX / 2])
@pytest.mark.parametrize("temperature", [0.1, 1.0, 0.05])
def test_infonce_at_huge_margins(big, temperature):
    loss = get_loss("infonce", temperature=temperature)
    y = np.array([1.0, 0.0, 0.0, 0.0, 1.0, 0.0])
    margin = np.array([big, big, 0.0, -big, 3.0, 3.0])
    group = [4, 2]
    # Group 1: two rows share the top score, so p = (1/2, 1/2, 0, 0); group 2: (1/2, 1/2).
    assert loss.loss(y, margin, group=group) == pytest.approx(math.log(2.0), rel=1e-12)
    g, h = loss.grad_hess(y, margin, group=group)
    half = 0.5 / temperature
    assert_allclose(g, [-half, half, 0.0, 0.0, -half, half], rtol=1e-6, atol=1e-12)
    assert_allclose(h[[0, 1, 4, 5]], 0.25 / temperature**2, rtol=1e-6)
    assert np.all(h > 0)


def test_infonce_shift_invariant_beyond_2_to_52(rng):
    loss = get_loss("infonce", temperature=0.5)
    sizes = np.array([5, 3, 4])
    y = rng.integers(0, 3, sizes.sum()).astype(np.float64)
    y[[0, 5, 8]] = 1.0
    # Even integers: exact after adding 1e16 (where the spacing of float64 is 2).
    margin = 2.0 * rng.integers(-4, 5, sizes.sum()).astype(np.float64)
    for shift in (1e15, 1e16):
        assert np.array_equal(margin + shift - shift, margin)
        assert loss.loss(y, margin + shift, group=sizes) == pytest.approx(loss.loss(y, margin, group=sizes),
                                                                        rel=1e-12)
        assert_allclose(loss.grad_hess(y, margin + shift, group=sizes)[0],
                        loss.grad_hess(y, margin, group=sizes)[0], rtol=1e-6, atol=1e-7)


def test_infonce_labels_near_the_float64_maximum():
    loss = get_loss("infonce", temperature=1.0)
    y = np.array([FMAX, FMAX / 2, 0.0])
    margin = np.zeros(3)
    # Targets (2/3, 1/3, 0) against p = 1/3 each.
    g, _ = loss.grad_hess(y, margin, group=[3])
    assert_allclose(g, [1 / 3 - 2 / 3, 0.0, 1 / 3], atol=1e-7)
    assert loss.loss(y, margin, group=[3]) == pytest.approx(math.log(3.0), rel=1e-12)


@pytest.mark.parametrize("name", ["squared_error", "tweedie", "poisson", "gamma"])
def test_init_score_of_labels_near_the_float64_maximum(name):
    loss = get_loss(name)
    y = np.array([1e308, 1.7e308, 1e308, 1.5e308])
    mean = float(np.mean(y / 1e308)) * 1e308
    start = loss.init_score(y)
    assert math.isfinite(start)
    expected = mean if name == "squared_error" else math.log(mean)
    assert start == pytest.approx(expected, rel=1e-12)


def test_weighted_mean_start_of_labels_at_the_float64_maximum():
    """The rescaled weighted mean of labels at -max rounds just past -max."""
    y = np.array([-FMAX, -FMAX])
    w = np.array([1e300, FMAX])
    assert get_loss("squared_error").init_score(y, w) == -FMAX
    assert get_loss("squared_error").init_score(-y, w) == FMAX


def _needs(name):
    return {"num_class": 3} if name.startswith("softmax") else {}


def _constant_weight_data(name, rng):
    loss = get_loss(name, **_needs(name))
    y, group = example_labels(loss, rng, 12, group_size=6)
    return loss, y, example_margins(loss, rng, y.shape[0]), group


@pytest.mark.parametrize("name", available_losses())
@pytest.mark.parametrize("scale", [1e308, FMAX, 1e-300])
def test_constant_weights_of_any_size_change_nothing(name, scale, rng):
    loss, y, margin, group = _constant_weight_data(name, rng)
    w = np.full(y.shape[0], scale)
    assert loss.loss(y, margin, w, group=group) == pytest.approx(loss.loss(y, margin, group=group), rel=1e-9)
    # Start scores found by a numerical minimiser agree to its tolerance.
    assert_allclose(loss.init_score(y, w, group=group), loss.init_score(y, group=group), rtol=1e-5, atol=1e-6)


def test_weighted_mean_loss_with_huge_unequal_weights():
    loss = get_loss("squared_error")
    y = np.array([1.0, 2.0, 3.0])
    margin = np.full(3, 2.0)
    w = np.array([1e308, 1e308, 0.5e308])
    # (0.5 * 1 + 0 + 0.5 * 0.5) / 2.5
    assert loss.loss(y, margin, w) == pytest.approx(0.75 / 2.5, rel=1e-12)
    assert loss.init_score(y, w) == pytest.approx((1.0 + 2.0 + 1.5) / 2.5, rel=1e-12)


@pytest.mark.parametrize("spec", [
    "tweedie(power=1.5, power=1.6)",
    "huber(delta=1.0, curvature='irls', delta=2.0)",
])
def test_parse_loss_rejects_a_repeated_parameter(spec):
    with pytest.raises(ValueError, match="more than once"):
        parse_loss(spec)


# ---------------------------------------------------------------------------
# The whole registry, over extreme finite inputs
# ---------------------------------------------------------------------------

_VARIANTS = [(name, _needs(name)) for name in available_losses()] + [
    ("tweedie", {"power": 1.2}),
    ("tweedie", {"power": 2.0}),
    ("huber", {"curvature": "irls"}),
    ("pseudo_huber", {"curvature": "exact"}),
    ("log_cosh", {"curvature": "exact"}),
    ("quantile", {"alpha": 0.9, "curvature": "unit"}),
    ("logistic", {"label_smoothing": 0.1}),
    ("focal", {"gamma": 0.5, "alpha": 0.25}),
    ("softmax", {"num_class": 3, "label_smoothing": 0.1, "hessian_scale": "lightgbm"}),
    ("softmax_focal", {"num_class": 3, "gamma": 0.5, "alpha": (1.0, 2.0, 0.5)}),
    ("infonce", {"temperature": 0.05}),
    # delta < 1: w * delta can underflow, and r / delta overflow, where w and
    # r do not.
    ("huber", {"delta": 0.5}),
    ("huber", {"delta": 0.5, "curvature": "irls"}),
    ("pseudo_huber", {"delta": 1e-3}),
    ("pseudo_huber", {"delta": 1e-3, "curvature": "exact"}),
]
_IDS = [f"{n}{kw}" for n, kw in _VARIANTS]
_IDENTITY = [(n, kw) for n, kw in _VARIANTS
             if get_loss(n, **kw).link.name == "identity" and not get_loss(n, **kw).needs_group]
_IDENTITY_IDS = [f"{n}{kw}" for n, kw in _IDENTITY]

_SPECIAL = [0.0, 5e-324, 1e-300, 1.0, 1e15, 2.0**53 + 2, 1e22, 1e100, 1e300, FMAX / 2, FMAX]


def _magnitudes(limit: float):
    special = [v for v in _SPECIAL if v <= limit]
    return st.one_of(st.sampled_from(special), st.floats(0.0, limit, allow_nan=False, allow_infinity=False))


def _reals(limit: float):
    return st.tuples(_magnitudes(limit), st.booleans()).map(lambda t: -t[0] if t[1] else t[0])


@st.composite
def _problem(draw, loss, limit):
    """Labels in the loss's domain, margins and weights of any finite size up to ``limit``."""
    n = draw(st.integers(1, 6))
    group = None
    if loss.is_multiclass:
        y = np.array(draw(st.lists(st.integers(0, loss.num_class - 1), min_size=n, max_size=n)), np.float64)
    elif loss.link.name == "logit":
        y = np.array(draw(st.lists(st.sampled_from([0.0, 1.0, 0.3, 5e-324]), min_size=n, max_size=n)))
    elif loss.link.name == "log" or loss.needs_group:
        y = np.array(draw(st.lists(_magnitudes(limit), min_size=n, max_size=n)))
        if loss.link.name == "log" and loss.power == 2.0:
            y = np.maximum(y, 5e-324)
    elif loss.predicts_distribution and not loss.label_domain.contains(np.array([-1.0]))[0]:
        # A family on the half-line or the counts: labels from its domain.
        y = np.array(draw(st.lists(_magnitudes(limit), min_size=n, max_size=n)))
        if not loss.label_domain.contains(np.array([0.5]))[0]:
            y = np.floor(y)
        if not loss.label_domain.contains(np.array([0.0]))[0]:
            y = np.maximum(y, 5e-324)
    else:
        y = np.array(draw(st.lists(_reals(limit), min_size=n, max_size=n)))
    if loss.needs_group:
        cuts = sorted(set(draw(st.lists(st.integers(1, n - 1), max_size=n - 1)))) if n > 1 else []
        sizes = np.diff([0, *cuts, n])
        offsets = np.concatenate(([0], np.cumsum(sizes)))
        for start in offsets[:-1]:
            if y[start:start + 1].sum() <= 0:
                y[start] = draw(st.sampled_from([1.0, 5e-324, FMAX]))
        # One query id per row (a list of sizes as long as the data would be
        # read as ids).
        group = np.repeat(np.arange(sizes.shape[0]), sizes)
    shape = (n, loss.n_outputs) if loss.n_outputs > 1 else (n,)
    margin = np.array(draw(st.lists(_reals(limit), min_size=int(np.prod(shape)), max_size=int(np.prod(shape)))))
    margin = margin.reshape(shape)
    weight = None
    if draw(st.booleans()):
        weight = np.array(draw(st.lists(_magnitudes(limit), min_size=n, max_size=n)))
        if loss.needs_group:
            weight = np.repeat(weight[: sizes.shape[0]], sizes)
        if weight.sum() <= 0:
            weight[:] = 1.0
    return y, margin, weight, group


@pytest.mark.parametrize("name,kwargs", _VARIANTS, ids=_IDS)
@given(data=st.data())
def test_gradient_and_hessian_finite_at_extremes(name, kwargs, data):
    loss = get_loss(name, **kwargs)
    y, margin, weight, group = data.draw(_problem(loss, FMAX))
    g, h = loss.grad_hess(y, margin, weight, group=group)
    assert np.all(np.isfinite(g)), (g, h)
    assert np.all(np.isfinite(h)) and np.all(h > 0), (g, h)


@pytest.mark.parametrize("name,kwargs", _VARIANTS, ids=_IDS)
@given(data=st.data())
def test_loss_never_nan_or_negative_at_extremes(name, kwargs, data):
    loss = get_loss(name, **kwargs)
    y, margin, weight, group = data.draw(_problem(loss, FMAX))
    value = loss.loss(y, margin, weight, group=group)
    # Minus a log-likelihood is negative where the density exceeds 1.
    assert not math.isnan(value) and (value >= 0.0 or loss.predicts_distribution), value


@pytest.mark.parametrize("name,kwargs", _VARIANTS, ids=_IDS)
@given(data=st.data())
def test_loss_finite_when_inputs_leave_room(name, kwargs, data):
    """Labels and margins up to 1e150: every pointwise loss fits in a float64."""
    loss = get_loss(name, **kwargs)
    y, margin, weight, group = data.draw(_problem(loss, 1e150))
    value = loss.loss(y, margin, weight, group=group)
    if loss.predicts_distribution:
        # Minus a log-likelihood: negative where the density exceeds 1, and beyond
        # float64 where a residual of 1e100 meets a scale of exp(-300) (z^2 = 1e460).
        assert not math.isnan(value) and value > -math.inf, value
        return
    assert math.isfinite(value) and value >= 0.0, value


@pytest.mark.parametrize("name,kwargs", _VARIANTS, ids=_IDS)
@given(data=st.data())
def test_init_score_finite_at_extremes(name, kwargs, data):
    loss = get_loss(name, **kwargs)
    y, _, weight, group = data.draw(_problem(loss, FMAX))
    start = np.asarray(loss.init_score(y, weight, group=group))
    assert np.all(np.isfinite(start)), start
    if loss.link.name == "identity" and not loss.needs_group:
        assert y.min() <= start <= y.max()


@pytest.mark.parametrize("name,kwargs", _IDENTITY, ids=_IDENTITY_IDS)
@given(data=st.data())
def test_metric_sum_never_nan_or_negative_at_extremes(name, kwargs, data):
    """The weighted sum the boosters' metrics use sees the weights as given,
    zero-weight rows included (``loss.loss`` drops those first)."""
    loss = get_loss(name, **kwargs)
    y, margin, weight, _ = data.draw(_problem(loss, FMAX))
    n = y.shape[0]
    if weight is not None and n > 1 and data.draw(st.booleans()):
        i = data.draw(st.integers(0, n - 1))
        weight[i] = 0.0
        if weight.sum() <= 0:
            weight[(i + 1) % n] = 1.0
    value = Data(loss, y, weight, None, "eval").loss_sum(loss, margin)
    assert not math.isnan(value) and value >= 0.0, value


#: Rows the random search above reaches only by luck: an extreme weight meeting
#: a zero residual (inf * 0) and a zero weight meeting an infinite one.
_EXTREME_ROWS = [
    (0.0, 0.0, FMAX),
    (FMAX, -FMAX, 0.0),
    (1e300, -1e300, 1e-300),
    (-FMAX, FMAX, 5e-324),
    (3.0, 3.0, 0.0),
]


@pytest.mark.parametrize("name,kwargs", _IDENTITY, ids=_IDENTITY_IDS)
@pytest.mark.parametrize("row", _EXTREME_ROWS, ids=lambda r: f"y{r[0]:g}-f{r[1]:g}-w{r[2]:g}")
def test_metric_sum_never_nan_or_negative_on_known_extreme_rows(name, kwargs, row):
    loss = get_loss(name, **kwargs)
    y0, f0, w0 = row
    y = np.array([y0, 1.0])
    margin = np.array([f0, 1.5])
    weight = np.array([w0, 1.0])
    value = Data(loss, y, weight, None, "eval").loss_sum(loss, margin)
    assert not math.isnan(value) and value >= 0.0, value


_SCALES = [0.0, 5e-324, 1e-310, 1e-300, 1.0, 1e150, 1e300, FMAX, math.inf, math.nan]


@pytest.mark.parametrize("alpha", [None, 0.5, 0.9, 0.1])
@given(data=st.data())
def test_mm_curvature_kernels_finite_at_any_residual_scale(alpha, data):
    """The MM kernels get their residual scale from sums over the data, which
    overflow (inf, or inf / inf = NaN) for weights near the float64 maximum or
    round to a subnormal: no scale may turn finite rows into NaN."""
    loss = get_loss("quantile")
    y, margin, weight, _ = data.draw(_problem(loss, FMAX))
    w = np.empty(0) if weight is None else weight
    root_sum, weight_sum = regression.mm_root_residual_sums(y, margin, w)
    assert not math.isnan(root_sum) and not math.isnan(weight_sum)
    scale = data.draw(st.sampled_from(_SCALES))
    g = np.empty(y.shape[0], np.float32)
    h = np.empty(y.shape[0], np.float32)
    if alpha is None:
        regression.absolute_mm_grad_hess(y, margin, w, scale, g, h)
    else:
        regression.pinball_mm_grad_hess(y, margin, w, alpha, scale, g, h)
    assert np.all(np.isfinite(g)), (g, h)
    assert np.all(np.isfinite(h)) and np.all(h > 0), (g, h)


# ---------------------------------------------------------------------------
# Identity-link kernels: the cases behind the properties above
# ---------------------------------------------------------------------------

# Labels and margins of opposite signs near the float64 maximum: f - y
# overflows. Such a residual counts as the float64 maximum.
_Y_OVER = np.array([-FMAX, 0.0, 1.0])
_M_OVER = np.array([FMAX, 0.0, 3.0])


@pytest.mark.parametrize("name,kwargs", _IDENTITY, ids=_IDENTITY_IDS)
def test_zero_weight_row_with_overflowing_residual_contributes_nothing(name, kwargs):
    loss = get_loss(name, **kwargs)
    w = np.array([0.0, 1.0, 2.0])
    g, h = loss.grad_hess(_Y_OVER, _M_OVER, w)
    assert g[0] == 0.0 and h[0] == np.float32(HESS_FLOOR)
    g_rest, h_rest = loss.grad_hess(_Y_OVER[1:], _M_OVER[1:], w[1:])
    assert_allclose(g[1:], g_rest)
    if name not in ("absolute_error", "quantile"):
        # (Their curvature depends on the residuals of the whole call.)
        assert_allclose(h[1:], h_rest)
    value = Data(loss, _Y_OVER, w, None, "eval").loss_sum(loss, _M_OVER)
    rest = Data(loss, _Y_OVER[1:], w[1:], None, "eval").loss_sum(loss, _M_OVER[1:])
    assert value == pytest.approx(rest, rel=1e-12)


@pytest.mark.parametrize("name,kwargs,row_loss", [
    ("absolute_error", {}, lambda r: r),
    ("quantile", {"alpha": 0.9}, lambda r: 0.1 * r),
    ("quantile", {"alpha": 0.2}, lambda r: 0.8 * r),
    ("huber", {"delta": 0.5}, lambda r: (r - 0.25) * 0.5),
    ("pseudo_huber", {"delta": 1e-3}, lambda r: (r - 1e-3) * 1e-3),
    ("log_cosh", {}, lambda r: r - math.log(2.0)),
    ("squared_error", {}, lambda r: 0.5 * r * r),
])
def test_subnormal_weight_on_an_overflowing_residual(name, kwargs, row_loss):
    """5e-324 times the loss of a residual of 1.8e308 (beyond float64 only for
    the squared error) is a finite number: neither NaN (w * 0.5 rounds to 0,
    times inf) nor inf."""
    loss = get_loss(name, **kwargs)
    w = np.array([5e-324, 1.0, 1.0])
    first = 5e-324 * row_loss(FMAX) if name != "squared_error" else 5e-324 * (0.5 * FMAX) * FMAX
    rest = float(loss.loss_sum(_Y_OVER[1:], _M_OVER[1:], np.ones(2)))
    expected = (first + rest) / (2.0 + 5e-324)
    assert math.isfinite(expected) and expected > 0.0
    assert loss.loss(_Y_OVER, _M_OVER, w) == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize("curvature", ["exact", "irls"])
@pytest.mark.parametrize("delta", [1e-3, 0.5, 1.0, 1e5])
@pytest.mark.parametrize("r", [1e10, 1e200, 1e300, FMAX])
def test_pseudo_huber_far_from_the_label(curvature, delta, r):
    """Gradient delta sign(r), IRLS curvature delta / |r|, loss delta (|r| - delta),
    also where r / delta overflows (delta < 1)."""
    loss = get_loss("pseudo_huber", delta=delta, curvature=curvature)
    y = np.zeros(2)
    margin = np.array([r, -r])
    g, _ = loss.grad_hess(y, margin)
    assert_allclose(g, [delta, -delta], rtol=1e-6)
    # A weight that brings w delta / |r| into the float32 range.
    w = np.full(2, min(FMAX, r / delta))
    g, h = loss.grad_hess(y, margin, w)
    assert_allclose(g, np.minimum(w * delta, F32MAX) * [1.0, -1.0], rtol=1e-6)
    if curvature == "irls":
        assert_allclose(h, w * (delta / r), rtol=1e-6)
    # (The first term of delta^2 / (2 z) beyond it is below 1e-9 relative here.)
    assert loss.loss(y, margin) == pytest.approx(delta * (r - delta), rel=1e-9)


def test_reported_regression_kernel_faults():
    """The four reported cases, each of which gave NaN."""
    g, h = get_loss("squared_error").grad_hess(np.array([-FMAX, 0.0]), np.array([FMAX, 0.0]), np.array([0.0, 1.0]))
    assert_allclose(g, [0.0, 0.0])
    # Weight 1.8e308 on a row with r = 0: gradient 0, curvature w * 2 * 0.5 / s
    # with s the mean absolute residual.
    y = np.array([1.0, 1.0, 2.0])
    g, h = get_loss("absolute_error").grad_hess(y, np.array([1.0, 1.0, 1e300]), np.array([FMAX, 1.0, 1.0]))
    assert_allclose(g, [0.0, 0.0, 1.0])
    assert h[0] == pytest.approx(FMAX / ((1e300 - 2.0) / 3.0), rel=1e-6)
    g, _ = get_loss("pseudo_huber").grad_hess(np.array([-FMAX, FMAX]), np.array([FMAX, -FMAX]))
    assert_allclose(g, [1.0, -1.0])  # delta = 1
    for name, kwargs in [("absolute_error", {}), ("quantile", {"alpha": 0.3})]:
        value = get_loss(name, **kwargs).loss(_Y_OVER[:2], _M_OVER[:2], np.array([5e-324, 1.0]))
        assert math.isfinite(value) and value > 0.0


@pytest.mark.parametrize("name", ["absolute_error", "quantile"])
def test_mm_curvature_at_the_largest_margins_gives_finite_gradients(name):
    loss = get_loss(name, curvature="mm")
    fmax = np.finfo(np.float64).max
    grad, hess = loss.grad_hess(np.zeros(3), np.full(3, fmax), np.array([0.1, 0.7, 0.3]))
    assert np.all(np.isfinite(grad)) and np.all(hess > 0) and np.all(np.isfinite(hess))
    assert np.all(grad > 0)  # every margin lies above its label


def test_level_set_with_a_subnormal_residual_scale_stays_finite():
    # Residuals of 5e-324 make the MM scale of the lowest level subnormal; 1 / S overflows.
    loss = get_loss("multi_quantile")
    g, h = loss.grad_hess(np.array([5e-324, 0.0]), np.zeros((2, 3)), np.array([1.0, 0.0]))
    assert np.all(np.isfinite(g)) and np.all(np.isfinite(h)) and np.all(h > 0)
