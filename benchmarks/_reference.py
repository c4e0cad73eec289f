"""Reference implementations the benchmarks race against, and their test data.

* ``numpy_grad_hess``: the gradient and Hessian of every registered loss
  written the way a user writes a custom objective: whole-array NumPy
  expressions, the same formulas, clamps and floors as the library, a fresh
  array per intermediate, float64 results.
* ``torch_grad_hess``: the approach of distributional-boosting libraries: the
  loss written in PyTorch, the gradient by autograd and the Hessian diagonal
  by a second backward pass (one per column for softmax-type losses, whose
  Hessian is not diagonal). Autograd gives the *true* Hessian, which for
  absolute error, quantile and Huber losses is zero where the library uses a
  positive curvature; those rows time the autograd work only.
* ``copy_bound``: reads the margin and labels and writes two float32 arrays
  of the output's size, with no arithmetic: the memory traffic of one call.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
from numba import njit

import gbm_objectives as go
from gbm_objectives._validation import EMPTY_WEIGHT, group_offsets

#: Parameters each registered loss is benchmarked with.
LOSS_PARAMS: dict[str, dict[str, Any]] = {
    "absolute_error": {},
    "focal": {"gamma": 2.0},
    "gamma": {},
    "huber": {"delta": 1.35},
    "infonce": {"temperature": 0.1},
    "log_cosh": {},
    "logistic": {},
    "poisson": {},
    "pseudo_huber": {"delta": 1.0},
    "quantile": {"alpha": 0.9},
    "softmax": {},
    "softmax_focal": {"gamma": 2.0},
    "squared_error": {},
    "tweedie": {"power": 1.5},
}
#: Candidates per query for the grouped loss.
GROUP_SIZE = 10
MAX_EXP_ARG = 700.0
HESS_FLOOR = 1e-16


@dataclass
class Problem:
    """One benchmark input: the loss, labels, margins and (grouped losses) offsets."""

    name: str
    loss: go.Loss
    y: np.ndarray
    margin: np.ndarray
    offsets: np.ndarray | None

    @property
    def rows(self) -> int:
        return self.y.shape[0]


def make_problem(name: str, n: int, k: int = 10, seed: int = 0) -> Problem:
    """Labels in the loss's domain and margins of a realistic scale, ``n`` rows."""
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    rng = np.random.default_rng(seed)
    params = dict(LOSS_PARAMS.get(name, {}))
    loss = go.get_loss(name, **params, **({"num_class": k} if name.startswith("softmax") else {}))
    offsets = None
    if loss.is_multiclass:
        y = rng.integers(0, k, n).astype(np.float64)
        margin = rng.normal(size=(n, k))
    elif loss.link.name == "logit":
        y = (rng.random(n) < 0.3).astype(np.float64)
        margin = rng.normal(size=n)
    elif loss.link.name == "log":
        positive = rng.random(n) < (1.0 if name == "gamma" else 0.4)
        y = rng.gamma(1.5, 2.0, n) * positive + (1e-3 if name == "gamma" else 0.0)
        margin = rng.normal(0.5, 0.5, size=n)
    elif loss.needs_group:
        n = max(GROUP_SIZE, n - n % GROUP_SIZE)
        y = np.zeros(n)
        y[rng.integers(0, GROUP_SIZE) :: GROUP_SIZE] = 1.0
        margin = rng.normal(size=n)
        offsets = group_offsets(np.full(n // GROUP_SIZE, GROUP_SIZE), n)
    else:
        y = rng.normal(size=n) * 2.0
        margin = y + rng.standard_t(3, size=n)
    return Problem(name, loss, y, margin, offsets)


def library_into(p: Problem) -> Callable[[], None]:
    """The adapter fast path: unvalidated kernel call into preallocated float32 buffers."""
    grad = np.empty(p.margin.shape, np.float32)
    hess = np.empty(p.margin.shape, np.float32)
    loss, y, m, off = p.loss, p.y, p.margin, p.offsets

    def run() -> None:
        loss._grad_hess_into(y, m, EMPTY_WEIGHT, grad, hess, off)

    run.outputs = (grad, hess)  # type: ignore[attr-defined]
    return run


def library_validated(p: Problem) -> Callable[[], tuple[np.ndarray, np.ndarray]]:
    """The public, validating ``Loss.grad_hess`` (fresh outputs every call)."""
    group = None if p.offsets is None else np.diff(p.offsets)
    return lambda: p.loss.grad_hess(p.y, p.margin, group=group)


# ``reassoc`` lets the label-reading sum run in SIMD lanes like the copies.
@njit(cache=True, nogil=True, fastmath={"reassoc"})
def _copy_flat(y, margin, grad, hess):
    for t in range(margin.shape[0]):
        v = margin[t]
        grad[t] = v
        hess[t] = v
    total = 0.0
    for i in range(y.shape[0]):
        total += y[i]
    return total


def copy_bound(p: Problem) -> Callable[[], float]:
    """Read the labels and margins once and write two float32 arrays shaped like
    the margin: the memory traffic of a kernel call, with no arithmetic."""
    flat = p.margin.reshape(-1)
    grad = np.empty(flat.shape, np.float32)
    hess = np.empty(flat.shape, np.float32)
    return lambda: _copy_flat(p.y, flat, grad, hess)


# ---------------------------------------------------------------------------
# NumPy
# ---------------------------------------------------------------------------


def _np_pinball(y, f, alpha, scale, tie):
    r = f - y
    s = np.mean(np.abs(r))
    s = s if s > 0 else 1.0
    # ``tie``: the gradient at f == y (1 - alpha for the quantile, 0 for the
    # absolute error, as the boosters' built-ins).
    g = np.where(r > 0, 1.0 - alpha, np.where(r < 0, -alpha, tie)) * scale
    h = scale * 0.5 / (np.abs(r) + s)
    return g, h


def _np_sigmoid(f):
    return 1.0 / (1.0 + np.exp(-f))


def _np_focal_side(f, gamma, alpha):
    p = _np_sigmoid(f)
    q = 1.0 - p
    log_p = -np.logaddexp(0.0, -f)
    qg = q**gamma
    g = alpha * qg * (gamma * p * log_p - q)
    h = alpha * p * qg * (gamma * log_p * (q - gamma * p) + (2.0 * gamma + 1.0) * q)
    return g, np.maximum(h, alpha * qg * p * q)


def _np_softmax(m):
    e = np.exp(m - m.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def numpy_grad_hess(p: Problem) -> Callable[[], tuple[np.ndarray, np.ndarray]]:
    """A plain NumPy objective for ``p.loss`` (same formulas as the kernels)."""
    name, loss, y, f = p.name, p.loss, p.y, p.margin

    if name == "squared_error":
        def run():
            return f - y, np.ones_like(f)
    elif name in ("absolute_error", "quantile"):
        alpha, scale, tie = loss.alpha, loss._scale, loss._tie_grad

        def run():
            return _np_pinball(y, f, alpha, scale, tie)
    elif name == "huber":
        delta = loss.delta

        def run():
            return np.clip(f - y, -delta, delta), np.ones_like(f)
    elif name == "pseudo_huber":
        delta = loss.delta

        exact = loss.curvature == "exact"

        def run():
            r = f - y
            z2 = (r / delta) ** 2
            root = np.sqrt(1.0 + z2)
            return r / root, 1.0 / (root * (1.0 + z2)) if exact else 1.0 / root
    elif name == "log_cosh":
        def run():
            r = f - y
            t = np.tanh(r)
            with np.errstate(invalid="ignore", divide="ignore"):
                h = np.where(r != 0.0, t / r, 1.0)
            return t, h
    elif name in ("poisson", "gamma", "tweedie"):
        rho = loss.power
        # Poisson's safeguard: the Hessian times exp(max_delta_step).
        factor = float(np.exp(getattr(loss, "max_delta_step", 0.0)))

        def run():
            fc = np.clip(f, -MAX_EXP_ARG, MAX_EXP_ARG)
            a = y * np.exp((1.0 - rho) * fc)
            b = np.exp((2.0 - rho) * fc)
            return b - a, np.maximum(factor * ((rho - 1.0) * a + (2.0 - rho) * b), HESS_FLOOR)
    elif name == "logistic":
        def run():
            prob = _np_sigmoid(f)
            return prob - y, np.maximum(prob * (1.0 - prob), HESS_FLOOR)
    elif name == "focal":
        gamma, a1, a0 = loss.gamma, loss._alpha_pos, loss._alpha_neg

        def run():
            g1, h1 = _np_focal_side(f, gamma, a1)
            g0, h0 = _np_focal_side(-f, gamma, a0)
            return y * g1 - (1.0 - y) * g0, np.maximum(y * h1 + (1.0 - y) * h0, HESS_FLOOR)
    elif name == "softmax":
        scale = loss._hess_factor

        def run():
            prob = _np_softmax(f)
            onehot = np.zeros_like(f)
            onehot[np.arange(f.shape[0]), y.astype(np.int64)] = 1.0
            return prob - onehot, np.maximum(scale * prob * (1.0 - prob), HESS_FLOOR)
    elif name == "softmax_focal":
        gamma, alpha = loss.gamma, loss._alpha

        def run():
            n, k = f.shape
            c = y.astype(np.int64)
            rows = np.arange(n)
            prob = _np_softmax(f)
            pc = prob[rows, c]
            u = 1.0 - pc
            log_pc = np.log(pc)
            with np.errstate(invalid="ignore", divide="ignore"):
                ratio = np.where(u > 0.5, log_pc / u, np.where(u > 0, np.log1p(-u) / u, -1.0))
            ug = u**gamma
            a_c = alpha[c]
            big_a = a_c * ug * (gamma * pc * ratio - 1.0)
            big_b = a_c * gamma * ug * (log_pc + 2.0 - (gamma - 1.0) * pc * ratio)
            onehot = np.zeros_like(f)
            onehot[rows, c] = 1.0
            g = big_a[:, None] * (onehot - prob)
            with np.errstate(invalid="ignore", divide="ignore"):
                sq = np.where(u[:, None] > 0, prob * prob / u[:, None], 0.0)
            h_other = (big_b * pc)[:, None] * sq - big_a[:, None] * prob * (1.0 - prob)
            h_true = big_b * pc * u - big_a * pc * u
            h = np.where(onehot > 0, h_true[:, None], h_other)
            floor = (a_c * ug)[:, None] * prob * (1.0 - prob)
            return g, np.maximum(np.maximum(h, floor), HESS_FLOOR)
    elif name == "infonce":
        inv_t = 1.0 / loss.temperature

        def run():
            s = f.reshape(-1, GROUP_SIZE) * inv_t
            prob = _np_softmax(s)
            yy = y.reshape(-1, GROUP_SIZE)
            t = yy / yy.sum(axis=1, keepdims=True)
            return (inv_t * (prob - t)).reshape(-1), np.maximum(
                inv_t * inv_t * prob * (1.0 - prob), HESS_FLOOR
            ).reshape(-1)
    else:
        raise ValueError(f"no NumPy reference for loss {name!r}")
    return run


# ---------------------------------------------------------------------------
# PyTorch autograd
# ---------------------------------------------------------------------------


def torch_available() -> bool:
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def _torch_loss(p: Problem, torch, y, f):
    """The loss per row as a differentiable torch expression."""
    name, loss = p.name, p.loss
    if name == "squared_error":
        return 0.5 * (f - y) ** 2
    if name in ("absolute_error", "quantile"):
        r = y - f
        return loss._scale * torch.maximum(loss.alpha * r, (loss.alpha - 1.0) * r)
    if name == "huber":
        a = (f - y).abs()
        d = loss.delta
        return torch.where(a <= d, 0.5 * a * a, d * (a - 0.5 * d))
    if name == "pseudo_huber":
        d = loss.delta
        return d * d * (torch.sqrt(1.0 + ((f - y) / d) ** 2) - 1.0)
    if name == "log_cosh":
        r = f - y
        return r + torch.nn.functional.softplus(-2.0 * r) - np.log(2.0)
    if name in ("poisson", "gamma", "tweedie"):
        rho = loss.power
        fc = f.clamp(-MAX_EXP_ARG, MAX_EXP_ARG)
        if rho == 1.0:
            return torch.exp(fc) - y * fc
        if rho == 2.0:
            return y * torch.exp(-fc) + fc
        return -y * torch.exp((1.0 - rho) * fc) / (1.0 - rho) + torch.exp((2.0 - rho) * fc) / (2.0 - rho)
    if name == "logistic":
        return torch.nn.functional.binary_cross_entropy_with_logits(f, y, reduction="none")
    if name == "focal":
        log_p = torch.nn.functional.logsigmoid(f)
        log_q = torch.nn.functional.logsigmoid(-f)
        g = loss.gamma
        return -(y * loss._alpha_pos * torch.exp(g * log_q) * log_p
                 + (1.0 - y) * loss._alpha_neg * torch.exp(g * log_p) * log_q)
    if name in ("softmax", "softmax_focal", "infonce"):
        if name == "infonce":
            f = f.reshape(-1, GROUP_SIZE) / loss.temperature
            yy = y.reshape(-1, GROUP_SIZE)
            return -(yy / yy.sum(dim=1, keepdim=True) * torch.log_softmax(f, dim=1)).sum(dim=1)
        logp = torch.log_softmax(f, dim=1)
        idx = y.long().unsqueeze(1)
        log_pc = logp.gather(1, idx).squeeze(1)
        if name == "softmax":
            return -log_pc
        alpha = torch.from_numpy(loss._alpha)[y.long()]
        return -alpha * (-torch.expm1(log_pc)).clamp_min(0.0) ** loss.gamma * log_pc
    raise ValueError(f"no torch reference for loss {name!r}")


def torch_grad_hess(p: Problem) -> Callable[[], tuple[Any, Any]]:
    """Gradient by autograd and Hessian diagonal by a second backward pass per column."""
    import torch

    y = torch.from_numpy(p.y)
    f0 = torch.from_numpy(p.margin)
    cols = p.margin.shape[1] if p.margin.ndim == 2 else (GROUP_SIZE if p.loss.needs_group else 1)

    def run():
        f = f0.detach().requires_grad_(True)
        total = _torch_loss(p, torch, y, f).sum()
        (g,) = torch.autograd.grad(total, f, create_graph=True)
        if not g.requires_grad:  # piecewise-linear loss: the true Hessian is zero
            return g, torch.zeros_like(g)
        if cols == 1:
            (h,) = torch.autograd.grad(g.sum(), f)
            return g, h
        g2 = g.reshape(-1, cols)
        h = torch.empty_like(g2)
        for j in range(cols):
            (hj,) = torch.autograd.grad(g2[:, j].sum(), f, retain_graph=j < cols - 1)
            h[:, j] = hj.reshape(-1, cols)[:, j]
        return g.detach(), h.reshape(g.shape)

    return run
