"""Log-link kernels of the Tweedie family: Poisson (power 1), compound
Poisson-Gamma (1 < power < 2) and Gamma (power 2).

With ``mu = exp(f)`` the loss is half the unit Tweedie deviance, so it is zero
at a perfect fit; its gradient is ``-y mu^(1-p) + mu^(2-p)`` and its Hessian
``(p-1) y mu^(1-p) + (2-p) mu^(2-p)``, both positive-curvature for y >= 0.
"""

from __future__ import annotations

import math

from numba import njit

from ._common import JIT, MAX_EXP_ARG, clamp_grad, clamp_hess, xlogy


@njit(**JIT)
def tweedie_grad_hess(y, margin, weight, power, grad, hess):
    weighted = weight.shape[0] > 0
    for i in range(margin.shape[0]):
        w = weight[i] if weighted else 1.0
        f = min(max(float(margin[i]), -MAX_EXP_ARG), MAX_EXP_ARG)
        yi = float(y[i])
        if power == 1.0:
            mu = math.exp(f)
            g = mu - yi
            h = mu
        elif power == 2.0:
            ratio = yi * math.exp(-f)
            g = 1.0 - ratio
            h = ratio
        else:
            a = yi * math.exp((1.0 - power) * f)
            b = math.exp((2.0 - power) * f)
            g = b - a
            h = (power - 1.0) * a + (2.0 - power) * b
        grad[i] = clamp_grad(w * g)
        hess[i] = clamp_hess(w * h)


@njit(**JIT)
def tweedie_loss_sum(y, margin, weight, power):
    weighted = weight.shape[0] > 0
    total = 0.0
    for i in range(margin.shape[0]):
        w = weight[i] if weighted else 1.0
        f = min(max(float(margin[i]), -MAX_EXP_ARG), MAX_EXP_ARG)
        yi = float(y[i])
        if power == 1.0:
            dev = xlogy(yi, yi) - yi * f - yi + math.exp(f)
        elif power == 2.0:
            dev = yi * math.exp(-f) - math.log(yi) + f - 1.0
        else:
            one_p = 1.0 - power
            two_p = 2.0 - power
            dev = (
                yi ** two_p / (one_p * two_p)
                - yi * math.exp(one_p * f) / one_p
                + math.exp(two_p * f) / two_p
            )
        total += w * dev
    return total
