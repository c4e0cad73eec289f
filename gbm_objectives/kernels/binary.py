"""Logit-link kernels for binary labels in [0, 1]: logistic and focal loss.

Soft labels are allowed: the loss is ``y * l1(f) + (1 - y) * l0(f)`` where
``l1``/``l0`` are the losses of a positive/negative example at logit ``f``.
"""

from __future__ import annotations

import math

from numba import njit

from ._common import JIT, INLINE, clamp_grad, clamp_hess, sigmoid, softplus


@njit(**JIT)
def logistic_grad_hess(y, margin, weight, smoothing, grad, hess):
    weighted = weight.shape[0] > 0
    for i in range(margin.shape[0]):
        w = weight[i] if weighted else 1.0
        f = float(margin[i])
        target = float(y[i]) * (1.0 - smoothing) + 0.5 * smoothing
        p = sigmoid(f)
        q = sigmoid(-f)
        grad[i] = clamp_grad(w * (p - target))
        hess[i] = clamp_hess(w * p * q)


@njit(**JIT)
def logistic_loss_sum(y, margin, weight, smoothing):
    weighted = weight.shape[0] > 0
    total = 0.0
    for i in range(margin.shape[0]):
        w = weight[i] if weighted else 1.0
        f = float(margin[i])
        target = float(y[i]) * (1.0 - smoothing) + 0.5 * smoothing
        total += w * (softplus(f) - target * f)
    return total


@njit(**INLINE)
def _focal_positive(f, gamma, alpha):
    """Loss, gradient, true Hessian and curvature floor of a positive example.

    ``l1 = -alpha q^gamma log p`` with ``p = sigmoid(f)``, ``q = 1 - p``.
    The floor ``alpha q^gamma p q`` is the cross-entropy Hessian scaled by the
    focal modulating factor: it equals the true Hessian at ``gamma = 0`` and
    replaces it where focal loss is concave (confidently wrong examples).
    """
    p = sigmoid(f)
    q = sigmoid(-f)
    log_p = -softplus(-f)
    qg = q**gamma
    loss = -alpha * qg * log_p
    g = alpha * qg * (gamma * p * log_p - q)
    h = alpha * p * qg * (gamma * log_p * (q - gamma * p) + (2.0 * gamma + 1.0) * q)
    floor = alpha * qg * p * q
    return loss, g, h, floor


@njit(**JIT)
def focal_grad_hess(y, margin, weight, gamma, alpha_pos, alpha_neg, grad, hess):
    weighted = weight.shape[0] > 0
    for i in range(margin.shape[0]):
        w = weight[i] if weighted else 1.0
        f = float(margin[i])
        yi = float(y[i])
        g = 0.0
        h = 0.0
        if yi > 0.0:
            _, g1, h1, fl1 = _focal_positive(f, gamma, alpha_pos)
            g += yi * g1
            h += yi * max(h1, fl1)
        if yi < 1.0:
            # A negative at logit f is a positive at logit -f.
            _, g0, h0, fl0 = _focal_positive(-f, gamma, alpha_neg)
            g -= (1.0 - yi) * g0
            h += (1.0 - yi) * max(h0, fl0)
        grad[i] = clamp_grad(w * g)
        hess[i] = clamp_hess(w * h)


@njit(**JIT)
def focal_loss_sum(y, margin, weight, gamma, alpha_pos, alpha_neg):
    weighted = weight.shape[0] > 0
    total = 0.0
    for i in range(margin.shape[0]):
        w = weight[i] if weighted else 1.0
        f = float(margin[i])
        yi = float(y[i])
        value = 0.0
        if yi > 0.0:
            value += yi * _focal_positive(f, gamma, alpha_pos)[0]
        if yi < 1.0:
            value += (1.0 - yi) * _focal_positive(-f, gamma, alpha_neg)[0]
        total += w * value
    return total
