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

from gbm_objectives import available_losses, get_loss
from gbm_objectives.ablation import parse_loss

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


def _needs(name):
    return {"num_class": 3} if name.startswith("softmax") else {}


def _constant_weight_data(name, rng):
    loss = get_loss(name, **_needs(name))
    n = 12
    group = None
    if loss.is_multiclass:
        y = rng.integers(0, 3, n).astype(np.float64)
        margin = rng.normal(size=(n, 3))
    elif loss.needs_group:
        y = rng.integers(0, 2, n).astype(np.float64)
        y[[0, 6]] = 1.0
        margin = rng.normal(size=n)
        group = [6, 6]
    elif loss.link.name == "logit":
        y = rng.integers(0, 2, n).astype(np.float64)
        margin = rng.normal(size=n)
    elif loss.link.name == "log":
        y = rng.gamma(2.0, 2.0, n) + 0.1
        margin = rng.normal(size=n)
    else:
        y = rng.normal(size=n) * 3.0
        margin = rng.normal(size=n)
    return loss, y, margin, group


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
    ("pseudo_huber", {"curvature": "irls"}),
    ("log_cosh", {"curvature": "exact"}),
    ("quantile", {"alpha": 0.9, "curvature": "unit"}),
    ("logistic", {"label_smoothing": 0.1}),
    ("focal", {"gamma": 0.5, "alpha": 0.25}),
    ("softmax", {"num_class": 3, "label_smoothing": 0.1, "hessian_scale": "lightgbm"}),
    ("softmax_focal", {"num_class": 3, "gamma": 0.5, "alpha": (1.0, 2.0, 0.5)}),
    ("infonce", {"temperature": 0.05}),
]
_IDS = [f"{n}{kw}" for n, kw in _VARIANTS]

# Known faults of the identity-link kernels (kernels/regression.py), where a
# product order turns an overflowed residual or weight into inf * 0.
_REGRESSION_KERNEL_FAULTS = {
    "grad_hess": {
        "squared_error": "squared_error_grad_hess forms w * (f - y): 0 * inf for a zero-weight row whose residual "
                         "overflows",
        "absolute_error": "pinball_grad_hess forms w * scale * h: w * 2 overflows for w > 9e307 while h is 0",
        "pseudo_huber": "pseudo_huber_grad_hess forms r / root = inf / inf when the residual overflows",
    },
    "loss": {
        "absolute_error": "pinball_loss_sum forms w * (alpha - 1) * r: -0 * -inf for a subnormal weight",
        "quantile": "pinball_loss_sum forms w * (alpha - 1) * r: -0 * -inf for a subnormal weight",
    },
}


def _cases(check: str) -> list:
    faults = _REGRESSION_KERNEL_FAULTS[check]
    return [
        pytest.param(n, kw, id=i, marks=pytest.mark.xfail(reason=faults[n], strict=False)) if n in faults
        else pytest.param(n, kw, id=i)
        for (n, kw), i in zip(_VARIANTS, _IDS)
    ]

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
    shape = (n, loss.n_outputs) if loss.is_multiclass else (n,)
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


@pytest.mark.parametrize("name,kwargs", _cases("grad_hess"))
@given(data=st.data())
def test_gradient_and_hessian_finite_at_extremes(name, kwargs, data):
    loss = get_loss(name, **kwargs)
    y, margin, weight, group = data.draw(_problem(loss, FMAX))
    g, h = loss.grad_hess(y, margin, weight, group=group)
    assert np.all(np.isfinite(g)), (g, h)
    assert np.all(np.isfinite(h)) and np.all(h > 0), (g, h)


@pytest.mark.parametrize("name,kwargs", _cases("loss"))
@given(data=st.data())
def test_loss_never_nan_or_negative_at_extremes(name, kwargs, data):
    loss = get_loss(name, **kwargs)
    y, margin, weight, group = data.draw(_problem(loss, FMAX))
    value = loss.loss(y, margin, weight, group=group)
    assert not math.isnan(value) and value >= 0.0, value


@pytest.mark.parametrize("name,kwargs", _VARIANTS, ids=_IDS)
@given(data=st.data())
def test_loss_finite_when_inputs_leave_room(name, kwargs, data):
    """Labels and margins up to 1e150: every pointwise loss fits in a float64."""
    loss = get_loss(name, **kwargs)
    y, margin, weight, group = data.draw(_problem(loss, 1e150))
    value = loss.loss(y, margin, weight, group=group)
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
