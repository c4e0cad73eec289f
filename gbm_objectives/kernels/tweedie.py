"""Log-link kernels of the Tweedie family: Poisson (power 1), compound
Poisson-Gamma (1 < power < 2) and Gamma (power 2).

With ``mu = exp(f)`` the loss is half the unit Tweedie deviance, so it is zero
at a perfect fit; its gradient is ``-y mu^(1-p) + mu^(2-p)`` and its Hessian
``(p-1) y mu^(1-p) + (2-p) mu^(2-p)``, both positive-curvature for y >= 0.
"""

from __future__ import annotations

import math

from numba import njit

from ._common import INLINE, JIT, MAX_EXP_ARG, clamp_grad, clamp_hess, f64, xlogy
from ._fastmath import fast_exp

#: Cap on ``y * exp(...)``: a huge label times ``exp`` of a far-off margin would
#: overflow to inf (and to NaN under a zero weight); capped, it stays finite and
#: the gradient is still clamped into float32 range.
MAX_TERM = 1e300


@njit(**INLINE)
def _poisson_point(yi, fi):
    mu = fast_exp(min(max(fi, -MAX_EXP_ARG), MAX_EXP_ARG))
    return mu - yi, mu


@njit(**INLINE)
def _gamma_point(yi, fi):
    ratio = min(yi * fast_exp(-min(max(fi, -MAX_EXP_ARG), MAX_EXP_ARG)), MAX_TERM)
    return 1.0 - ratio, ratio


@njit(**INLINE)
def _tweedie_point(yi, fi, power):
    f = min(max(fi, -MAX_EXP_ARG), MAX_EXP_ARG)
    a = min(yi * fast_exp((1.0 - power) * f), MAX_TERM)
    b = fast_exp((2.0 - power) * f)
    return b - a, (power - 1.0) * a + (2.0 - power) * b


# One branch-free loop per (power case, weighted) pair: a branch inside the
# loop would keep LLVM from compiling it to SIMD code.
@njit(**JIT)
def tweedie_grad_hess(y, margin, weight, power, grad, hess):
    n = margin.shape[0]
    if weight.shape[0] > 0:
        if power == 1.0:
            for i in range(n):
                g, h = _poisson_point(f64(y[i]), f64(margin[i]))
                grad[i] = clamp_grad(weight[i] * g)
                hess[i] = clamp_hess(weight[i] * h)
        elif power == 2.0:
            for i in range(n):
                g, h = _gamma_point(f64(y[i]), f64(margin[i]))
                grad[i] = clamp_grad(weight[i] * g)
                hess[i] = clamp_hess(weight[i] * h)
        else:
            for i in range(n):
                g, h = _tweedie_point(f64(y[i]), f64(margin[i]), power)
                grad[i] = clamp_grad(weight[i] * g)
                hess[i] = clamp_hess(weight[i] * h)
    elif power == 1.0:
        for i in range(n):
            g, h = _poisson_point(f64(y[i]), f64(margin[i]))
            grad[i] = clamp_grad(g)
            hess[i] = clamp_hess(h)
    elif power == 2.0:
        for i in range(n):
            g, h = _gamma_point(f64(y[i]), f64(margin[i]))
            grad[i] = clamp_grad(g)
            hess[i] = clamp_hess(h)
    else:
        for i in range(n):
            g, h = _tweedie_point(f64(y[i]), f64(margin[i]), power)
            grad[i] = clamp_grad(g)
            hess[i] = clamp_hess(h)


@njit(**INLINE)
def _poisson_safeguarded_point(yi, fi, hess_factor):
    mu = fast_exp(min(max(fi, -MAX_EXP_ARG), MAX_EXP_ARG))
    # mu * exp(max_delta_step) is capped like the Tweedie terms, so that a zero
    # weight never meets an infinite curvature (0 * inf is NaN).
    return mu - yi, min(mu * hess_factor, MAX_TERM)


@njit(**JIT)
def poisson_grad_hess(y, margin, weight, hess_factor, grad, hess):
    """Poisson gradient ``w (mu - y)`` and curvature ``w mu hess_factor``.

    ``hess_factor = exp(max_delta_step)``: the boosters' Poisson safeguard
    (XGBoost's ``count:poisson`` ``max_delta_step``, LightGBM's
    ``poisson_max_delta_step``), which inflates the Hessian so that a leaf far
    below its labels (``mu`` tiny, ``y`` large) cannot take a huge log step.
    """
    n = margin.shape[0]
    if weight.shape[0] > 0:
        for i in range(n):
            g, h = _poisson_safeguarded_point(f64(y[i]), f64(margin[i]), hess_factor)
            grad[i] = clamp_grad(weight[i] * g)
            hess[i] = clamp_hess(weight[i] * h)
    else:
        for i in range(n):
            g, h = _poisson_safeguarded_point(f64(y[i]), f64(margin[i]), hess_factor)
            grad[i] = clamp_grad(g)
            hess[i] = clamp_hess(h)


@njit(**JIT)
def tweedie_loss_sum(y, margin, weight, power):
    weighted = weight.shape[0] > 0
    total = 0.0
    for i in range(margin.shape[0]):
        w = weight[i] if weighted else 1.0
        f = min(max(f64(margin[i]), -MAX_EXP_ARG), MAX_EXP_ARG)
        yi = f64(y[i])
        if power == 1.0:
            dev = xlogy(yi, yi) - yi * f - yi + math.exp(f)
        elif power == 2.0:
            dev = min(yi * math.exp(-f), MAX_TERM) - math.log(yi) + f - 1.0
        else:
            one_p = 1.0 - power
            two_p = 2.0 - power
            dev = (
                yi ** two_p / (one_p * two_p)
                - min(yi * math.exp(one_p * f), MAX_TERM) / one_p
                + math.exp(two_p * f) / two_p
            )
        total += w * dev
    return total
