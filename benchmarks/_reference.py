"""Reference implementations the benchmarks race against, and their test data.

* NumPy references (``@numpy_reference``): the gradient and Hessian of every
  registered loss written the way a user writes a custom objective:
  whole-array NumPy expressions, the same formulas, clamps and floors as the
  library, a fresh array per intermediate, float64 results.
* torch references (``@torch_reference``): the approach of
  distributional-boosting libraries: the loss written in PyTorch, the
  gradient by autograd and the Hessian diagonal by a second backward pass
  (one per column for softmax-type losses, whose Hessian is not diagonal).
  Autograd gives the *true* Hessian, which for absolute error, quantile and
  Huber losses is zero where the library uses a positive curvature; those
  rows time the autograd work only.
* ``copy_bound``: reads the margin and labels and writes two float32 arrays
  of the output's size, with no arithmetic: the memory traffic of one call.

A new loss needs three things here, each next to its kind: an entry in
``LOSS_PARAMS``, a function decorated with ``@numpy_reference("<name>")`` and
one decorated with ``@torch_reference("<name>")``. References are
independent oracles: they read only the loss's public parameters and write
its formulas out again, never calling the library. Benchmark data come from
:mod:`gbm_objectives.testing` (labels from the loss's declared facts), so a
loss needs no generator of its own.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numba import njit

import gbm_objectives as go
from gbm_objectives.testing import example_labels, example_margins

#: Parameters each registered loss is benchmarked with (``num_class`` comes
#: from the scripts' ``--k`` option).
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
    "expectile": {"alpha": 0.9},
    "multi_expectile": {"alphas": (0.05, 0.5, 0.95)},
    # (the chain rule: the default per-level direction is no loss's gradient for autograd to reproduce)
    "multi_quantile": {"alphas": (0.05, 0.5, 0.95), "coupling": "chain", "transform": "softplus"},
    "tweedie": {"power": 1.5},
    "normal": {},
    # The other distributional families: their exact kernels; the outputs' normalisation
    # (one pass over the (n, k) outputs) is timed, and checked, in the normal rows.
    "lognormal": {"normalize": False},
    "student_t": {"normalize": False},
    "negative_binomial": {"normalize": False},
    "gamma_shape": {"normalize": False},
    "tweedie_dispersion": {"power": 1.5, "normalize": False},
    "hurdle_gamma": {"normalize": False},
    "hurdle_lognormal": {"normalize": False},
    "zero_inflated_poisson": {"normalize": False},
}
#: Candidates per query for grouped losses.
GROUP_SIZE = 10
MAX_EXP_ARG = 700.0
HESS_FLOOR = 1e-16
#: The fast path's weight argument for unweighted rows.
UNWEIGHTED = np.empty(0, dtype=np.float64)
HERE = "benchmarks/_reference.py"

#: ``fn(loss, y, margin) -> (grad, hess)``, float64 NumPy arrays shaped like the margin.
NumpyReference = Callable[[go.Loss, np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]
#: ``fn(torch, loss, y, margin) -> per-row (per-group) loss`` as a differentiable tensor.
TorchReference = Callable[..., Any]

#: Loss name -> its NumPy reference, filled by ``@numpy_reference``.
NUMPY_REFERENCES: dict[str, NumpyReference] = {}
#: Loss name -> its torch reference, filled by ``@torch_reference``.
TORCH_REFERENCES: dict[str, TorchReference] = {}


def _registrar(table: dict[str, Any], kind: str, names: tuple[str, ...]) -> Callable[[Any], Any]:
    if not names or not all(isinstance(name, str) for name in names):
        raise ValueError(f"@{kind}_reference needs one or more loss names, got {names!r}")

    def register(fn: Any) -> Any:
        for name in names:
            if name in table:
                raise ValueError(f"loss {name!r} has two {kind} references: {table[name].__name__} and {fn.__name__}")
        table.update(dict.fromkeys(names, fn))
        return fn

    return register


def numpy_reference(*names: str) -> Callable[[NumpyReference], NumpyReference]:
    """Register the decorated ``fn(loss, y, margin) -> (grad, hess)`` as the NumPy reference of ``names``."""
    return _registrar(NUMPY_REFERENCES, "numpy", names)


def torch_reference(*names: str) -> Callable[[TorchReference], TorchReference]:
    """Register the decorated ``fn(torch, loss, y, margin) -> loss per row`` as the torch reference of ``names``."""
    return _registrar(TORCH_REFERENCES, "torch", names)


def _reference_of(table: dict[str, Any], kind: str, name: str) -> Any:
    if name not in table:
        raise ValueError(f"no {kind} reference for loss {name!r}: add a function decorated with "
                         f"@{kind}_reference({name!r}) to {HERE}")
    return table[name]


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

    @property
    def group(self) -> np.ndarray | None:
        """Group sizes (what ``group=`` takes), or None for losses without groups."""
        return None if self.offsets is None else np.diff(self.offsets)


def loss_params(name: str, k: int = 10) -> dict[str, Any]:
    """The parameters ``name`` is benchmarked with; ``k`` classes where the loss takes ``num_class``."""
    if name not in LOSS_PARAMS:
        raise ValueError(f"no benchmark parameters for loss {name!r}: add an entry to LOSS_PARAMS in {HERE} "
                         f"({{}} for the defaults)")
    params = dict(LOSS_PARAMS[name])
    if "num_class" in inspect.signature(go.get_loss_class(name)).parameters:
        params.setdefault("num_class", k)
    return params


def make_problem(name: str, n: int, k: int = 10, seed: int = 0) -> Problem:
    """Labels in the loss's domain and margins of a realistic scale, ``n`` rows.

    Grouped losses get whole groups of ``GROUP_SIZE`` rows (``n`` rounded down,
    at least one group).
    """
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    rng = np.random.default_rng(seed)
    loss = go.get_loss(name, **loss_params(name, k))
    y, group = example_labels(loss, rng, n, group_size=GROUP_SIZE)
    margin = example_margins(loss, rng, y.shape[0])
    offsets = None if group is None else np.concatenate(([0], np.cumsum(group)))
    return Problem(name, loss, y, margin, offsets)


def library_into(p: Problem) -> Callable[[], None]:
    """The adapter fast path: unvalidated ``grad_hess_into`` into preallocated float32 buffers."""
    grad = np.empty(p.margin.shape, np.float32)
    hess = np.empty(p.margin.shape, np.float32)
    loss, y, m, off = p.loss, p.y, p.margin, p.offsets

    def run() -> None:
        loss.grad_hess_into(y, m, UNWEIGHTED, grad, hess, off)

    run.outputs = (grad, hess)  # type: ignore[attr-defined]
    return run


def library_validated(p: Problem) -> Callable[[], tuple[np.ndarray, np.ndarray]]:
    """The public, validating ``Loss.grad_hess`` (fresh outputs every call)."""
    group = p.group
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


def numpy_grad_hess(p: Problem) -> Callable[[], tuple[np.ndarray, np.ndarray]]:
    """The NumPy objective of ``p.loss`` (same formulas as the kernels), ready to time."""
    reference = _reference_of(NUMPY_REFERENCES, "numpy", p.name)
    loss, y, f = p.loss, p.y, p.margin
    return lambda: reference(loss, y, f)


def torch_available() -> bool:
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def torch_grad_hess(p: Problem) -> Callable[[], tuple[Any, Any]]:
    """Gradient by autograd and Hessian diagonal by a second backward pass per column."""
    import torch

    reference = _reference_of(TORCH_REFERENCES, "torch", p.name)
    loss = p.loss
    y = torch.from_numpy(p.y)
    f0 = torch.from_numpy(p.margin)
    cols = p.margin.shape[1] if p.margin.ndim == 2 else (GROUP_SIZE if loss.needs_group else 1)

    def run():
        f = f0.detach().requires_grad_(True)
        total = reference(torch, loss, y, f).sum()
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


# ---------------------------------------------------------------------------
# Parameters the kernels receive in a derived form, derived again from the
# public parameters as each loss's docstring states them.
# ---------------------------------------------------------------------------


def _focal_class_weights(loss) -> tuple[float, float]:
    """Weights of class 1 and class 0: ``alpha`` and ``1 - alpha``, or 1 and 1 without ``alpha``."""
    return (1.0, 1.0) if loss.alpha is None else (loss.alpha, 1.0 - loss.alpha)


def _softmax_hessian_factor(loss) -> float:
    scale, k = loss.hessian_scale, loss.num_class
    if isinstance(scale, str):
        return {"exact": 1.0, "xgboost": 2.0, "lightgbm": k / (k - 1.0)}[scale]
    return float(scale)


def _softmax_focal_class_weights(loss) -> np.ndarray:
    return np.ones(loss.num_class) if loss.alpha is None else np.asarray(loss.alpha, dtype=np.float64)


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


def _np_tweedie(y, f, rho, factor):
    fc = np.clip(f, -MAX_EXP_ARG, MAX_EXP_ARG)
    a = y * np.exp((1.0 - rho) * fc)
    b = np.exp((2.0 - rho) * fc)
    return b - a, np.maximum(factor * ((rho - 1.0) * a + (2.0 - rho) * b), HESS_FLOOR)


@numpy_reference("squared_error")
def _np_squared_error(loss, y, f):
    return f - y, np.ones_like(f)


@numpy_reference("expectile")
def _np_expectile(loss, y, f):
    r = f - y
    a = np.where(r >= 0, 1.0 - loss.alpha, loss.alpha)
    return a * r, a


@numpy_reference("quantile")
def _np_quantile(loss, y, f):
    return _np_pinball(y, f, loss.alpha, 1.0, 1.0 - loss.alpha)


#: The smallest gap between consecutive levels of a quantile or expectile set.
LEVEL_GAP = 1e-6
#: XGBoost 3.4's smooth MM quantile: its constant and its curvature floor.
MM_C, MM_FLOOR = 0.04, 3e-4
#: The adaptive curvature: bandwidth constant, relative-width bound, far-row threshold, least side share.
ADAPTIVE_C, ADAPTIVE_MIN_WIDTH, ADAPTIVE_FAR, ADAPTIVE_MIN_SIDE = 0.15, 0.05, 0.45, 0.3


def _np_levels(f, transform="softplus"):
    """Non-crossing levels of (n, k) margins and ``dq / dm`` of each margin column (under the
    cumulative maximum each margin is its own level: 1)."""
    if transform == "max":
        return np.maximum.accumulate(f, axis=1), np.ones_like(f)
    levels = np.cumsum(np.column_stack([f[:, 0], LEVEL_GAP + np.logaddexp(0.0, f[:, 1:])]), axis=1)
    slope = np.ones_like(f)
    slope[:, 1:] = _np_sigmoid(f[:, 1:])
    return levels, slope


def _np_chain(slope, g_level, h_level):
    """Every level ``l >= j`` moves with margin ``j``: tail sums times the slope (Gauss-Newton)."""
    tail_g = np.cumsum(g_level[:, ::-1], axis=1)[:, ::-1]
    tail_h = np.cumsum(h_level[:, ::-1], axis=1)[:, ::-1]
    return slope * tail_g, np.maximum(slope * slope * tail_h, HESS_FLOOR)


def _np_level_acceleration(y, levels, alphas):
    """How far each level's share of labels above it is from ``1 - alpha``, relative, within [0, 1]."""
    above = np.mean(y[:, None] > levels, axis=0)
    return np.minimum(1.0, np.abs(above - (1.0 - alphas)) / np.minimum(alphas, 1.0 - alphas))


@numpy_reference("multi_quantile")
def _np_multi_quantile(loss, y, f):
    levels, slope = _np_levels(f)
    alphas = np.asarray(loss.alphas)
    r = levels - y[:, None]
    subgradient = np.where(r >= 0, 1.0 - alphas, -alphas)
    if loss.curvature in ("mm", "adaptive"):
        scale = np.mean(np.sqrt(np.abs(r)), axis=0) ** 2
        safe = np.where(scale > 0, scale, 1.0)
        width = levels[:, -1] - levels[:, 0]
        # adaptive: the bandwidth scaled by the row's width over the mean width, within [0.05, 20]
        rel = (np.clip(width / np.mean(width), ADAPTIVE_MIN_WIDTH, 1.0 / ADAPTIVE_MIN_WIDTH)[:, None]
               if loss.curvature == "adaptive" else np.ones((y.shape[0], 1)))
        accel = _np_level_acceleration(y, levels, alphas)
        c = MM_C + accel * (ADAPTIVE_C - MM_C) if loss.curvature == "adaptive" else MM_C
        x = r / (c * safe * rel)
        t = np.tanh(x)
        ratio = np.where(x == 0, 1.0, t / np.where(x == 0, 1.0, x))
        g = np.where(scale > 0, 0.5 * scale * (t + 1.0 - 2.0 * alphas), subgradient)
        h = np.where(scale > 0, np.maximum(ratio, MM_FLOOR) / (2.0 * c * rel), 1.0)
        if loss.curvature == "adaptive":
            # far outside the predicted band a row's curvature takes its pinball slope's share
            far = np.abs(r) > ADAPTIVE_FAR * width[:, None]
            boost = 1.0 + accel * (np.maximum(2.0 * np.abs(subgradient), ADAPTIVE_MIN_SIDE) - 1.0)
            h = np.where(far & (scale > 0), h * boost, h)
    else:
        s = np.mean(np.abs(r), axis=0)
        g, h = subgradient, 0.5 / (np.abs(r) + np.where(s > 0, s, 1.0))
    if loss.coupling == "level":
        # every margin follows its own level only
        return slope * g, np.maximum(slope * slope * h, HESS_FLOOR)
    return _np_chain(slope, g, h)


@numpy_reference("multi_expectile")
def _np_multi_expectile(loss, y, f):
    levels, slope = _np_levels(f, loss.transform)
    r = levels - y[:, None]
    a = np.where(r >= 0, 1.0 - np.asarray(loss.alphas), np.asarray(loss.alphas))
    if loss.transform == "max":
        # every margin takes its own level's derivatives
        return a * r, np.maximum(a, HESS_FLOOR)
    return _np_chain(slope, a * r, a)


@numpy_reference("normal")
def _np_normal(loss, y, f):
    sigma = np.exp(np.clip(f[:, 1], -300.0, 300.0))
    z = (y - f[:, 0]) / sigma
    grad = np.column_stack([-z / sigma, 1.0 - z * z])
    fisher = np.column_stack([1.0 / (sigma * sigma), np.full(y.shape[0], 2.0)])
    if loss.curvature == "hessian":
        fisher[:, 1] = np.where(z * z > 0, 2.0 * z * z, 2.0)
    return _np_normalized(loss, grad, np.maximum(fisher, HESS_FLOOR))


def _np_normalized(loss, grad, hess):
    """Distributional losses with ``normalize``: each output divided by its mean curvature (unweighted rows)."""
    if not loss.normalize:
        return grad, hess
    factor = hess.shape[0] / hess.astype(np.float32).astype(np.float64).sum(axis=0)
    return grad * factor, hess * factor


@numpy_reference("lognormal")
def _np_lognormal(loss, y, f):
    # the normal family on log(y)
    return _np_normal(loss, np.log(y), f)


@numpy_reference("student_t")
def _np_student_t(loss, y, f):
    from scipy import special

    sigma = np.exp(np.clip(f[:, 1], -300.0, 300.0))
    e = np.exp(np.clip(f[:, 2], -300.0, 300.0))
    nu = 1.0 + e
    z = (y - f[:, 0]) / sigma
    z2 = z * z
    w = (nu + 1.0) / (nu + z2)
    d_nu = 0.5 * (special.digamma(nu / 2) - special.digamma((nu + 1) / 2) + 1.0 / nu + np.log1p(z2 / nu)
                  - w * z2 / nu)
    grad = np.column_stack([-w * z / sigma, 1.0 - w * z2, e * d_nu])
    info_nu = 0.25 * (special.polygamma(1, nu / 2) - special.polygamma(1, (nu + 1) / 2)) \
        - (nu + 5.0) / (2.0 * nu * (nu + 1.0) * (nu + 3.0))
    curv = np.column_stack([(nu + 1.0) / ((nu + 3.0) * sigma * sigma), 2.0 * nu / (nu + 3.0), e * e * info_nu])
    if loss.curvature == "hessian":
        d2_nu = 0.5 * (0.5 * (special.polygamma(1, nu / 2) - special.polygamma(1, (nu + 1) / 2)) - 1.0 / nu**2
                       + z2 * (2.0 * nu + z2 * (1.0 - nu)) / (nu**2 * (nu + z2) ** 2))
        exact = np.column_stack([(nu + 1.0) * (nu - z2) / (sigma * sigma * (nu + z2) ** 2),
                                 2.0 * (nu + 1.0) * nu * z2 / (nu + z2) ** 2, e * d_nu + e * e * d2_nu])
        curv = np.where(exact > 0, exact, curv)
    # the df margin moves at most 1 per Newton step
    curv[:, 2] = np.maximum(curv[:, 2], np.abs(grad[:, 2]))
    return grad, np.maximum(curv, HESS_FLOOR)


def _np_nb_information(mu, a):
    """Lawless's (1987) information of log(alpha), summed over the support for all rows at once."""
    n = 1.0 / a
    q = a * mu / (1.0 + a * mu)
    p = np.exp(-n * np.log1p(a * mu))
    cdf = p.copy()
    total = np.zeros_like(mu)
    active = np.ones(mu.shape, dtype=bool)
    j = 0.0
    while active.any() and j < 50_000:
        sf = np.maximum(1.0 - cdf, 0.0)
        f = j * (2.0 + a * j) / (1.0 + a * j) ** 2
        total = np.where(active, total + sf * f, total)
        p = p * q * (n + j) / (j + 1.0)
        cdf = cdf + p
        j += 1.0
        info = a * (mu * mu / (1.0 + a * mu) - total)
        rho = np.maximum(q * (n + j - 1.0) / j, q)
        active &= ~((j > mu) & (sf * rho / (1.0 - rho) <= 1e-6 * info))
    series = 0.5 * (a * mu) ** 2 * (1.0 - a * (2.0 * mu + 1.0))
    return np.where(a * (2.0 * mu + 1.0) < 1e-5, series, a * (mu * mu / (1.0 + a * mu) - total))


@numpy_reference("negative_binomial")
def _np_negative_binomial(loss, y, f):
    from scipy import special

    mu = np.exp(np.clip(f[:, 0], -MAX_EXP_ARG, MAX_EXP_ARG))
    a = np.exp(np.clip(f[:, 1], -300.0, 300.0))
    n = 1.0 / a
    g_a = n * (special.digamma(n + y) - special.digamma(n)) - y - n * np.log1p(a * mu) + (n + y) * a * mu / (1 + a * mu)
    grad = np.column_stack([(mu - y) / (1.0 + a * mu), g_a])
    curv = np.column_stack([mu / (1.0 + a * mu), _np_nb_information(mu, a)])
    if loss.curvature == "hessian":
        sig = a * mu / (1.0 + a * mu)
        h_a = (n * n * (special.polygamma(1, n) - special.polygamma(1, n + y)) - n * (special.digamma(n + y)
               - special.digamma(n)) - n * (sig - np.log1p(a * mu)) - mu * sig * (1 - sig) + y * sig * (1 - sig))
        curv[:, 0] = mu * (1.0 + a * y) / (1.0 + a * mu) ** 2
        curv[:, 1] = np.where(h_a > 0, h_a, curv[:, 1])
    # the log dispersion moves at most 1 per Newton step
    curv[:, 1] = np.maximum(curv[:, 1], np.abs(g_a))
    return grad, np.maximum(curv, HESS_FLOOR)


@numpy_reference("gamma_shape")
def _np_gamma_shape(loss, y, f):
    from scipy import special

    mu = np.exp(np.clip(f[:, 0], -300.0, 300.0))
    k = np.exp(np.clip(f[:, 1], -300.0, 300.0))
    r = y / mu
    g_k = k * (special.digamma(k) - np.log(k) + r - 1.0 - np.log(r))
    info = k * k * special.polygamma(1, k) - k
    grad = np.column_stack([k * (1.0 - r), g_k])
    curv = np.column_stack([k, info])
    if loss.curvature == "hessian":
        curv[:, 0] = k * r
        curv[:, 1] = np.where(g_k + info > 0, g_k + info, info)
    return grad, np.maximum(curv, HESS_FLOOR)


def _np_tweedie_series(y, log_phi, p):
    """log sum_j W_j and E[j] of the Dunn-Smyth series over every term j = 1 .. J (y > 0)."""
    from scipy.special import gammaln, logsumexp

    a = (2.0 - p) / (p - 1.0)
    log_y = np.log(y)
    z = a * log_y - (1.0 + a) * log_phi - np.log(2.0 - p) - a * np.log(p - 1.0)
    peak = np.exp((2.0 - p) * log_y - np.log(2.0 - p) - log_phi)
    j = np.arange(1.0, float(np.max(peak + 40.0 * np.sqrt(peak) + 60.0)))
    terms = j[None, :] * z[:, None] - gammaln(j + 1.0)[None, :] - gammaln(j * a)[None, :]
    log_s = logsumexp(terms, axis=1)
    return log_s, (np.exp(terms - log_s[:, None]) * j[None, :]).sum(axis=1)


@numpy_reference("tweedie_dispersion")
def _np_tweedie_dispersion(loss, y, f):
    from gbm_objectives.kernels.tweedie_series import FISHER_T_LOW, FISHER_T_STEP, fisher_table

    p = loss.power
    a = (2.0 - p) / (p - 1.0)
    log_mu, log_phi = f[:, 0], f[:, 1]
    b = np.exp((2.0 - p) * log_mu - log_phi)
    c = y * np.exp((1.0 - p) * log_mu - log_phi)
    pos = y > 0
    e = c / (1.0 - p) - b / (2.0 - p)  # (y theta - kappa) / phi
    g1 = e.copy()  # y = 0: the loss is kappa / phi
    _, mean_j = _np_tweedie_series(y[pos], log_phi[pos], p)
    g1[pos] = (1.0 + a) * mean_j + e[pos]
    # Fisher information of the log dispersion: the tabulated log values, cubic Lagrange in log lambda.
    table = fisher_table(p)
    x = (np.log(b / (2.0 - p)) - FISHER_T_LOW) / FISHER_T_STEP
    i = np.clip(np.floor(x).astype(int) - 1, 0, table.shape[0] - 4)
    u = x - i
    basis = [-(u - 1) * (u - 2) * (u - 3) / 6, u * (u - 2) * (u - 3) / 2, -u * (u - 1) * (u - 3) / 2,
             u * (u - 1) * (u - 2) / 6]
    fisher1 = np.exp(sum(w * table[i + m] for m, w in enumerate(basis)))
    grad = np.column_stack([b - c, g1])
    hess = np.column_stack([b if loss.curvature == "fisher" else (2.0 - p) * b + (p - 1.0) * c, fisher1])
    if loss.curvature == "hessian":
        raise NotImplementedError("the benchmark reference covers the default curvature")
    return grad, np.maximum(hess, HESS_FLOOR)


def _np_hurdle_logit(y, f0):
    pi = 1.0 / (1.0 + np.exp(-f0))
    return np.where(y > 0, pi - 1.0, pi), pi * (1.0 - pi), pi


@numpy_reference("hurdle_gamma")
def _np_hurdle_gamma(loss, y, f):
    from scipy.special import digamma, polygamma

    g0, h0, pi = _np_hurdle_logit(y, f[:, 0])
    mu, k = np.exp(f[:, 1]), np.exp(f[:, 2])
    pos = y > 0
    r = np.where(pos, y, mu) / mu
    g1 = np.where(pos, k * (1.0 - r), 0.0)
    g2 = np.where(pos, k * (digamma(k) - np.log(k) + r - 1.0 - np.log(r)), 0.0)
    fisher = np.column_stack([pi * k, pi * (k * k * polygamma(1, k) - k)])
    if loss.curvature == "hessian":
        # Positive rows: the exact Hessian where it is positive.
        exact = np.column_stack([k * r, g2 + k * k * polygamma(1, k) - k])
        fisher = np.where(pos[:, None] & (exact > 0), exact, fisher)
    return np.column_stack([g0, g1, g2]), np.maximum(np.column_stack([h0, fisher]), HESS_FLOOR)


@numpy_reference("hurdle_lognormal")
def _np_hurdle_lognormal(loss, y, f):
    g0, h0, pi = _np_hurdle_logit(y, f[:, 0])
    pos = y > 0
    s = np.exp(f[:, 2])
    z = np.where(pos, (np.log(np.where(pos, y, 1.0)) - f[:, 1]) / s, 0.0)
    grad = np.column_stack([g0, np.where(pos, -z / s, 0.0), np.where(pos, 1.0 - z * z, 0.0)])
    fisher = np.column_stack([pi / (s * s), 2.0 * pi])
    if loss.curvature == "hessian":
        exact = np.column_stack([1.0 / (s * s), 2.0 * z * z])
        fisher = np.where(pos[:, None] & (exact > 0), exact, fisher)
    return grad, np.maximum(np.column_stack([h0, fisher]), HESS_FLOOR)


@numpy_reference("zero_inflated_poisson")
def _np_zero_inflated_poisson(loss, y, f):
    pi = 1.0 / (1.0 + np.exp(-f[:, 0]))
    lam = np.exp(f[:, 1])
    q = np.exp(-lam)
    p0 = pi + (1.0 - pi) * q
    zero = y == 0
    g0 = np.where(zero, -pi * (1.0 - pi) * (1.0 - q) / p0, pi)
    g1 = np.where(zero, lam * (1.0 - pi) * q / p0, lam - y)
    fisher = np.column_stack([pi * pi * (1.0 - pi) * (1.0 - q) / p0, (1.0 - pi) * lam * (1.0 - lam * pi * q / p0)])
    if loss.curvature == "hessian":
        w = pi / p0  # P(structural zero | y = 0)
        h0 = np.where(zero, -(1.0 - q) * (1.0 - pi) * w * ((1.0 - 2.0 * pi) - (1.0 - pi) * (1.0 - q) * w),
                      pi * (1.0 - pi))
        h1 = np.where(zero, lam * (1.0 - w) * (1.0 - lam * w), lam)
        exact = np.column_stack([h0, h1])
        fisher = np.where(exact > 0, exact, fisher)
    return np.column_stack([g0, g1]), np.maximum(fisher, HESS_FLOOR)


@numpy_reference("absolute_error")
def _np_absolute_error(loss, y, f):
    # |r| is twice the pinball loss at alpha = 0.5: gradient sign(r), 0 at a tie.
    return _np_pinball(y, f, 0.5, 2.0, 0.0)


@numpy_reference("huber")
def _np_huber(loss, y, f):
    delta = loss.delta
    return np.clip(f - y, -delta, delta), np.ones_like(f)


@numpy_reference("pseudo_huber")
def _np_pseudo_huber(loss, y, f):
    delta, exact = loss.delta, loss.curvature == "exact"
    r = f - y
    z2 = (r / delta) ** 2
    root = np.sqrt(1.0 + z2)
    return r / root, 1.0 / (root * (1.0 + z2)) if exact else 1.0 / root


@numpy_reference("log_cosh")
def _np_log_cosh(loss, y, f):
    r = f - y
    t = np.tanh(r)
    with np.errstate(invalid="ignore", divide="ignore"):
        h = np.where(r != 0.0, t / r, 1.0)
    return t, h


@numpy_reference("gamma", "tweedie")
def _np_tweedie_deviance(loss, y, f):
    return _np_tweedie(y, f, loss.variance_power, 1.0)


@numpy_reference("poisson")
def _np_poisson(loss, y, f):
    # The safeguard: the Hessian times exp(max_delta_step).
    return _np_tweedie(y, f, 1.0, float(np.exp(loss.max_delta_step)))


@numpy_reference("logistic")
def _np_logistic(loss, y, f):
    prob = _np_sigmoid(f)
    return prob - y, np.maximum(prob * (1.0 - prob), HESS_FLOOR)


@numpy_reference("focal")
def _np_focal(loss, y, f):
    gamma = loss.gamma
    a1, a0 = _focal_class_weights(loss)
    g1, h1 = _np_focal_side(f, gamma, a1)
    g0, h0 = _np_focal_side(-f, gamma, a0)
    return y * g1 - (1.0 - y) * g0, np.maximum(y * h1 + (1.0 - y) * h0, HESS_FLOOR)


@numpy_reference("softmax")
def _np_softmax_loss(loss, y, f):
    scale = _softmax_hessian_factor(loss)
    prob = _np_softmax(f)
    onehot = np.zeros_like(f)
    onehot[np.arange(f.shape[0]), y.astype(np.int64)] = 1.0
    return prob - onehot, np.maximum(scale * prob * (1.0 - prob), HESS_FLOOR)


@numpy_reference("softmax_focal")
def _np_softmax_focal(loss, y, f):
    gamma, alpha = loss.gamma, _softmax_focal_class_weights(loss)
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


@numpy_reference("infonce")
def _np_infonce(loss, y, f):
    inv_t = 1.0 / loss.temperature
    s = f.reshape(-1, GROUP_SIZE) * inv_t
    prob = _np_softmax(s)
    yy = y.reshape(-1, GROUP_SIZE)
    t = yy / yy.sum(axis=1, keepdims=True)
    return (inv_t * (prob - t)).reshape(-1), np.maximum(inv_t * inv_t * prob * (1.0 - prob), HESS_FLOOR).reshape(-1)


# ---------------------------------------------------------------------------
# PyTorch: the loss per row (per group for grouped losses); autograd does the rest
# ---------------------------------------------------------------------------


def _torch_pinball(torch, y, f, alpha, scale):
    r = y - f
    return scale * torch.maximum(alpha * r, (alpha - 1.0) * r)


def _torch_softmax_log_true(torch, y, f):
    """log p of the true class of every row."""
    logp = torch.log_softmax(f, dim=1)
    return logp.gather(1, y.long().unsqueeze(1)).squeeze(1)


@torch_reference("squared_error")
def _torch_squared_error(torch, loss, y, f):
    return 0.5 * (f - y) ** 2


@torch_reference("expectile")
def _torch_expectile(torch, loss, y, f):
    r = f - y
    return 0.5 * torch.where(r >= 0, 1.0 - loss.alpha, loss.alpha) * r * r


@torch_reference("quantile")
def _torch_quantile(torch, loss, y, f):
    return _torch_pinball(torch, y, f, loss.alpha, 1.0)


def _torch_levels(torch, f, transform="softplus"):
    if transform == "max":
        # The cumulative maximum, each margin carrying its own level's derivatives (straight through
        # where the margins cross, as the library trains them).
        return f + (torch.cummax(f, dim=1).values - f).detach()
    increments = LEVEL_GAP + torch.nn.functional.softplus(f[:, 1:])
    return torch.cumsum(torch.cat([f[:, :1], increments], dim=1), dim=1)


@torch_reference("multi_quantile")
def _torch_multi_quantile(torch, loss, y, f):
    alphas = torch.tensor(loss.alphas, dtype=f.dtype)
    levels = _torch_levels(torch, f)
    if loss.curvature not in ("mm", "adaptive"):
        return _torch_pinball(torch, y[:, None], levels, alphas, 1.0).sum(dim=1)
    # The MM surrogate each level is trained on: S / 2 (c S log cosh(r / (c S)) + (1 - 2 alpha) r),
    # whose gradient is XGBoost 3.4's; its scale S is a constant of the round. The adaptive
    # curvature's bandwidth c S is also scaled by the row's relative width, a constant of the round.
    r = levels - y[:, None]
    scale = (r.detach().abs().sqrt().mean(dim=0) ** 2).clamp_min(1e-300)
    c = MM_C
    if loss.curvature == "adaptive":
        width = (levels[:, -1] - levels[:, 0]).detach()
        accel = torch.as_tensor(_np_level_acceleration(y.detach().numpy(), levels.detach().numpy(),
                                                       np.asarray(loss.alphas)), dtype=f.dtype)
        c_level = MM_C + accel * (ADAPTIVE_C - MM_C)
        c = c_level * (width / width.mean()).clamp(ADAPTIVE_MIN_WIDTH, 1.0 / ADAPTIVE_MIN_WIDTH)[:, None]
    x = (r / (c * scale)).abs()
    log_cosh = x + torch.nn.functional.softplus(-2.0 * x) - np.log(2.0)
    return (0.5 * scale * (c * scale * log_cosh + (1.0 - 2.0 * alphas) * r)).sum(dim=1)


@torch_reference("multi_expectile")
def _torch_multi_expectile(torch, loss, y, f):
    alphas = torch.tensor(loss.alphas, dtype=f.dtype)
    r = _torch_levels(torch, f, loss.transform) - y[:, None]
    return (0.5 * torch.where(r >= 0, 1.0 - alphas, alphas) * r * r).sum(dim=1)


@torch_reference("normal")
def _torch_normal(torch, loss, y, f):
    if loss.normalize:
        # Normalised outputs: the gradient of column j times its constant c_j, which is the
        # gradient of the loss at f0 + c (f - f0) with f0 = f detached (the same point).
        sigma = torch.exp(f[:, 1].detach())
        z = (y - f[:, 0].detach()) / sigma
        curv = torch.stack([1.0 / sigma**2, torch.where(z * z > 0, 2.0 * z * z, 2.0)
                            if loss.curvature == "hessian" else torch.full_like(z, 2.0)], dim=1)
        factor = f.shape[0] / curv.to(torch.float32).to(f.dtype).sum(dim=0)
        f = f.detach() + factor * (f - f.detach())
    log_sigma = f[:, 1]
    z = (y - f[:, 0]) / torch.exp(log_sigma)
    return log_sigma + 0.5 * z * z + 0.5 * np.log(2.0 * np.pi)


@torch_reference("lognormal")
def _torch_lognormal(torch, loss, y, f):
    log_y = torch.log(y)
    return _torch_normal(torch, loss, log_y, f) + log_y


@torch_reference("student_t")
def _torch_student_t(torch, loss, y, f):
    log_sigma = f[:, 1]
    nu = 1.0 + torch.exp(f[:, 2])
    z = (y - f[:, 0]) / torch.exp(log_sigma)
    return (torch.lgamma(nu / 2) - torch.lgamma((nu + 1) / 2) + 0.5 * torch.log(nu * np.pi) + log_sigma
            + 0.5 * (nu + 1) * torch.log1p(z * z / nu))


@torch_reference("negative_binomial")
def _torch_negative_binomial(torch, loss, y, f):
    log_mu, log_a = f[:, 0], f[:, 1]
    n = torch.exp(-log_a)
    log1p_am = torch.nn.functional.softplus(log_mu + log_a)
    return (-torch.lgamma(y + n) + torch.lgamma(n) + torch.lgamma(y + 1) + n * log1p_am
            - y * (log_mu + log_a - log1p_am))


@torch_reference("gamma_shape")
def _torch_gamma_shape(torch, loss, y, f):
    log_mu, log_k = f[:, 0], f[:, 1]
    k = torch.exp(log_k)
    log_y = torch.log(y)
    return torch.lgamma(k) - k * log_k + k * log_mu - (k - 1.0) * log_y + k * y * torch.exp(-log_mu)


@torch_reference("tweedie_dispersion")
def _torch_tweedie_dispersion(torch, loss, y, f):
    p = loss.power
    a = (2.0 - p) / (p - 1.0)
    log_mu, log_phi = f[:, 0], f[:, 1]
    kappa = torch.exp((2.0 - p) * log_mu) / (2.0 - p)
    theta = torch.exp((1.0 - p) * log_mu) / (1.0 - p)
    pos = y > 0
    safe_y = torch.where(pos, y, torch.ones_like(y))
    log_y = torch.log(safe_y)
    e = (y * theta - kappa) / torch.exp(log_phi)
    z = a * log_y - (1.0 + a) * log_phi - np.log(2.0 - p) - a * np.log(p - 1.0)
    peak = np.exp((2.0 - p) * np.log(safe_y.detach().numpy()) - np.log(2.0 - p) - log_phi.detach().numpy())
    j = torch.arange(1.0, float(np.max(peak + 40.0 * np.sqrt(peak) + 60.0)), dtype=f.dtype)
    terms = j[None, :] * z[:, None] - torch.lgamma(j + 1.0)[None, :] - torch.lgamma(j * a)[None, :]
    log_density = torch.where(pos, torch.logsumexp(terms, dim=1) - log_y + e, e)
    return -log_density


def _torch_hurdle_logit(torch, y, f0):
    softplus = torch.nn.functional.softplus
    return torch.where(y > 0, softplus(-f0), softplus(f0))


@torch_reference("hurdle_gamma")
def _torch_hurdle_gamma(torch, loss, y, f):
    pos = y > 0
    log_y = torch.log(torch.where(pos, y, torch.ones_like(y)))
    log_mu, k = f[:, 1], torch.exp(f[:, 2])
    positive = (torch.lgamma(k) - k * torch.log(k) + k * log_mu - (k - 1.0) * log_y
                + k * torch.exp(log_y - log_mu))
    return _torch_hurdle_logit(torch, y, f[:, 0]) + torch.where(pos, positive, torch.zeros_like(y))


@torch_reference("hurdle_lognormal")
def _torch_hurdle_lognormal(torch, loss, y, f):
    pos = y > 0
    log_y = torch.log(torch.where(pos, y, torch.ones_like(y)))
    z = (log_y - f[:, 1]) / torch.exp(f[:, 2])
    positive = log_y + f[:, 2] + 0.5 * z * z + 0.5 * np.log(2.0 * np.pi)
    return _torch_hurdle_logit(torch, y, f[:, 0]) + torch.where(pos, positive, torch.zeros_like(y))


@torch_reference("zero_inflated_poisson")
def _torch_zero_inflated_poisson(torch, loss, y, f):
    log_pi = -torch.nn.functional.softplus(-f[:, 0])
    log_1m_pi = -torch.nn.functional.softplus(f[:, 0])
    lam = torch.exp(f[:, 1])
    zero = -torch.logaddexp(log_pi, log_1m_pi - lam)
    positive = -log_1m_pi + lam - y * f[:, 1] + torch.lgamma(y + 1.0)
    return torch.where(y == 0, zero, positive)


@torch_reference("absolute_error")
def _torch_absolute_error(torch, loss, y, f):
    return _torch_pinball(torch, y, f, 0.5, 2.0)


@torch_reference("huber")
def _torch_huber(torch, loss, y, f):
    a = (f - y).abs()
    d = loss.delta
    return torch.where(a <= d, 0.5 * a * a, d * (a - 0.5 * d))


@torch_reference("pseudo_huber")
def _torch_pseudo_huber(torch, loss, y, f):
    d = loss.delta
    return d * d * (torch.sqrt(1.0 + ((f - y) / d) ** 2) - 1.0)


@torch_reference("log_cosh")
def _torch_log_cosh(torch, loss, y, f):
    r = f - y
    return r + torch.nn.functional.softplus(-2.0 * r) - np.log(2.0)


@torch_reference("poisson", "gamma", "tweedie")
def _torch_tweedie(torch, loss, y, f):
    rho = loss.variance_power
    fc = f.clamp(-MAX_EXP_ARG, MAX_EXP_ARG)
    if rho == 1.0:
        return torch.exp(fc) - y * fc
    if rho == 2.0:
        return y * torch.exp(-fc) + fc
    return -y * torch.exp((1.0 - rho) * fc) / (1.0 - rho) + torch.exp((2.0 - rho) * fc) / (2.0 - rho)


@torch_reference("logistic")
def _torch_logistic(torch, loss, y, f):
    return torch.nn.functional.binary_cross_entropy_with_logits(f, y, reduction="none")


@torch_reference("focal")
def _torch_focal(torch, loss, y, f):
    log_p = torch.nn.functional.logsigmoid(f)
    log_q = torch.nn.functional.logsigmoid(-f)
    g = loss.gamma
    a1, a0 = _focal_class_weights(loss)
    return -(y * a1 * torch.exp(g * log_q) * log_p + (1.0 - y) * a0 * torch.exp(g * log_p) * log_q)


@torch_reference("softmax")
def _torch_softmax(torch, loss, y, f):
    return -_torch_softmax_log_true(torch, y, f)


@torch_reference("softmax_focal")
def _torch_softmax_focal(torch, loss, y, f):
    log_pc = _torch_softmax_log_true(torch, y, f)
    alpha = torch.from_numpy(_softmax_focal_class_weights(loss))[y.long()]
    return -alpha * (-torch.expm1(log_pc)).clamp_min(0.0) ** loss.gamma * log_pc


@torch_reference("infonce")
def _torch_infonce(torch, loss, y, f):
    s = f.reshape(-1, GROUP_SIZE) / loss.temperature
    yy = y.reshape(-1, GROUP_SIZE)
    return -(yy / yy.sum(dim=1, keepdim=True) * torch.log_softmax(s, dim=1)).sum(dim=1)
