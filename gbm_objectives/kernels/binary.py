"""Logit-link kernels for binary labels in [0, 1]: logistic and focal loss.

Soft labels are allowed: the loss is ``y * l1(f) + (1 - y) * l0(f)`` where
``l1``/``l0`` are the losses of a positive/negative example at logit ``f``.
"""

from __future__ import annotations

from numba import njit

from ._common import INLINE, JIT, clamp_grad, clamp_hess, f64
from ._fastmath import fast_exp, fast_log1p, fast_sigmoid_pair, fast_softplus


@njit(**INLINE)
def _logistic_point(yi, f, smoothing):
    target = yi * (1.0 - smoothing) + 0.5 * smoothing
    p, q = fast_sigmoid_pair(f)
    return p - target, p * q


@njit(**JIT)
def logistic_grad_hess(y, margin, weight, smoothing, grad, hess):
    # Weighted and unweighted loops kept apart so that each compiles to SIMD code.
    if weight.shape[0] > 0:
        for i in range(margin.shape[0]):
            g, h = _logistic_point(f64(y[i]), f64(margin[i]), smoothing)
            grad[i] = clamp_grad(weight[i] * g)
            hess[i] = clamp_hess(weight[i] * h)
    else:
        for i in range(margin.shape[0]):
            g, h = _logistic_point(f64(y[i]), f64(margin[i]), smoothing)
            grad[i] = clamp_grad(g)
            hess[i] = clamp_hess(h)


@njit(**JIT)
def logistic_loss_sum(y, margin, weight, smoothing):
    weighted = weight.shape[0] > 0
    total = 0.0
    for i in range(margin.shape[0]):
        w = weight[i] if weighted else 1.0
        f = f64(margin[i])
        target = f64(y[i]) * (1.0 - smoothing) + 0.5 * smoothing
        total += w * (fast_softplus(f) - target * f)
    return total


@njit(**INLINE)
def _focal_terms(p, q, log_p, qg, gamma, alpha):
    """Loss, gradient, true Hessian and curvature floor of a positive example.

    ``l1 = -alpha q^gamma log p`` with ``p = sigmoid(f)``, ``q = 1 - p`` and
    ``qg = q^gamma``, all computed by the caller from one ``exp``. The floor
    ``alpha q^gamma p q`` is the cross-entropy Hessian scaled by the focal
    modulating factor: it equals the true Hessian at ``gamma = 0`` and replaces
    it where focal loss is concave (confidently wrong examples). A negative at
    logit ``f`` is a positive at ``-f``: swap ``p`` and ``q``.
    """
    loss = -alpha * qg * log_p
    # p * log_p goes to 0 with p; forming it first keeps huge |f| from giving 0 * inf.
    plp = p * log_p
    g = alpha * qg * (gamma * plp - q)
    h = alpha * qg * (gamma * plp * (q - gamma * p) + (2.0 * gamma + 1.0) * p * q)
    floor = alpha * qg * p * q
    return loss, g, h, floor


@njit(**INLINE)
def _focal_logs(f, gamma):
    """``p, q, log p, log q, q^gamma, p^gamma`` at logit ``f`` from one exp and one log.

    The powers are taken as ``exp(gamma log q)`` from the stable ``log q``, so
    they stay accurate (and exactly 1 at ``gamma = 0``) when ``q`` underflows.
    """
    e = fast_exp(-abs(f))
    d = 1.0 / (1.0 + e)
    ed = e * d
    tail = fast_log1p(e)
    log_p = -(max(-f, 0.0) + tail)
    log_q = -(max(f, 0.0) + tail)
    pos = f >= 0.0
    p = d if pos else ed
    q = ed if pos else d
    return p, q, log_p, log_q, fast_exp(gamma * log_q), fast_exp(gamma * log_p)


@njit(**INLINE)
def _focal_point(yi, f, gamma, alpha_pos, alpha_neg):
    p, q, log_p, log_q, qg, pg = _focal_logs(f, gamma)
    _, g1, h1, fl1 = _focal_terms(p, q, log_p, qg, gamma, alpha_pos)
    _, g0, h0, fl0 = _focal_terms(q, p, log_q, pg, gamma, alpha_neg)
    # Selects, not products: a side with zero label weight must not contribute
    # even if its terms overflow.
    g = yi * g1 if yi > 0.0 else 0.0
    h = yi * max(h1, fl1) if yi > 0.0 else 0.0
    g = g - (1.0 - yi) * g0 if yi < 1.0 else g
    h = h + (1.0 - yi) * max(h0, fl0) if yi < 1.0 else h
    return g, h


@njit(**JIT)
def focal_grad_hess(y, margin, weight, gamma, alpha_pos, alpha_neg, grad, hess):
    if weight.shape[0] > 0:
        for i in range(margin.shape[0]):
            g, h = _focal_point(f64(y[i]), f64(margin[i]), gamma, alpha_pos, alpha_neg)
            grad[i] = clamp_grad(weight[i] * g)
            hess[i] = clamp_hess(weight[i] * h)
    else:
        for i in range(margin.shape[0]):
            g, h = _focal_point(f64(y[i]), f64(margin[i]), gamma, alpha_pos, alpha_neg)
            grad[i] = clamp_grad(g)
            hess[i] = clamp_hess(h)


@njit(**JIT)
def focal_loss_sum(y, margin, weight, gamma, alpha_pos, alpha_neg):
    weighted = weight.shape[0] > 0
    total = 0.0
    for i in range(margin.shape[0]):
        w = weight[i] if weighted else 1.0
        f = f64(margin[i])
        yi = f64(y[i])
        p, q, log_p, log_q, qg, pg = _focal_logs(f, gamma)
        value = 0.0
        if yi > 0.0:
            value += yi * _focal_terms(p, q, log_p, qg, gamma, alpha_pos)[0]
        if yi < 1.0:
            value += (1.0 - yi) * _focal_terms(q, p, log_q, pg, gamma, alpha_neg)[0]
        total += w * value
    return total
