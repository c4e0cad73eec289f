"""Sets of quantiles or expectiles: k non-crossing levels per row from one model.

The levels are a cumulative transform of the margins
(:class:`~gbm_objectives.links.CumulativeMaxLink` or
:class:`~gbm_objectives.links.NonCrossingLink`), so they are non-decreasing
by construction, not by sorting afterwards.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._stats import weighted_quantile
from .._validation import check_choice
from ..kernels import intervals
from ..links import CumulativeMaxLink, NonCrossingLink
from ._base import Loss
from ._registry import register_loss
from .regression import Expectile


def _check_alphas(alphas: Any) -> tuple[float, ...]:
    if isinstance(alphas, (str, bytes)) or np.ndim(alphas) != 1:
        raise ValueError(f"alphas must be a sequence of levels in (0, 1), got {alphas!r}")
    try:
        values = np.asarray(alphas, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"alphas must be a sequence of levels in (0, 1), got {alphas!r}") from None
    if values.shape[0] < 2:
        raise ValueError(
            f"alphas needs at least two levels, got {alphas!r}; for one level use quantile(alpha=...) "
            "or expectile(alpha=...)"
        )
    if not np.all(np.isfinite(values)) or np.any(values <= 0.0) or np.any(values >= 1.0):
        raise ValueError(f"alphas must all lie in (0, 1), got {alphas!r}")
    if np.any(np.diff(values) <= 0.0):
        raise ValueError(f"alphas must be strictly increasing (no duplicates), got {alphas!r}")
    return tuple(float(v) for v in values)


_TRANSFORMS = ("max", "softplus")


class _LevelSet(Loss):
    # The default transform's; each instance holds its own transform's link.
    link = CumulativeMaxLink()
    # The levels are the question asked of the model, never tuned by validation.
    target_params = ("alphas",)
    # Models saved before ``transform`` existed were trained with the softplus increments.
    recorded_defaults = {"transform": "softplus"}

    def __init__(self, alphas: Any, transform: str) -> None:
        super().__init__()
        self.alphas = _check_alphas(alphas)
        self._alphas = np.asarray(self.alphas, dtype=np.float64)
        check_choice(transform, "transform", _TRANSFORMS)
        self._set_transform(transform)

    def _set_transform(self, transform: str) -> None:
        self.transform = transform
        self._cummax = transform == "max"
        self.link = CumulativeMaxLink() if self._cummax else NonCrossingLink()

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        if "transform" not in state:
            # Pickled before ``transform`` existed: trained with the softplus increments.
            self._set_transform(self.recorded_defaults["transform"])

    @property
    def n_outputs(self) -> int:
        return len(self.alphas)

    @property
    def exact_hessian(self) -> bool:
        # Diagonal Gauss-Newton: the transform's second-order term and the
        # levels' cross terms are left out.
        return False

    def _level_init_scores(self, y: np.ndarray, weight: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def fit_init_score(self, y, weight):
        levels = self._level_init_scores(y, weight)
        # Equal levels (ties, discrete labels) sit EPS apart, the closest the link allows.
        for j in range(1, levels.shape[0]):
            levels[j] = max(levels[j], levels[j - 1] + 2.0 * intervals.EPS)
        return self.link.link(levels[None, :])[0]


@register_loss
class MultiQuantile(_LevelSet):
    """Pinball losses at several levels, summed, from one model with k outputs per row.

    Predictions are non-decreasing across ``alphas`` by construction, through
    ``transform``. ``"max"`` (default, :class:`~gbm_objectives.links.CumulativeMaxLink`):
    level ``j`` is ``max(q_{j-1}, m_j)``, so each output is its own level
    wherever the outputs do not cross, and is trained on its own level's
    derivatives, as a separate model would be: a level is not moved by the
    trees of the levels below it. ``"softplus"``
    (:class:`~gbm_objectives.links.NonCrossingLink`, XGBoost's
    ``reg:expectileerror`` transform): ``q_j = q_{j-1} + 1e-6 +
    softplus(m_j)``, so a level is the lowest level plus increments and
    moves with every tree of the levels below. That drifts a middle level
    on skewed targets (4,000 diamond prices, XGBoost 3.2, 100 rounds: the
    median sits above 80% of held-out labels; ``"max"``: 48%) and adds the
    lower levels' noise to the upper ones on small tables (2,500 rows, 300
    rounds: 1.16x the built-ins' total pinball on XGBoost 3.2, 1.20x on
    LightGBM; ``"max"``: 1.05x, 1.06x). Its one gain: XGBoost >= 3.3 saves
    it under ``reg:expectileerror``, so plain ``booster.predict`` gives the
    levels; under ``"max"`` plain ``predict`` gives the outputs and
    ``numpy.maximum.accumulate(outputs, axis=1)`` the levels.

    The pinball loss has no curvature, so a surrogate is used.
    ``curvature="mm"`` is XGBoost 3.4's smooth MM quantile objective per
    level: gradient ``S_j / 2 (tanh(r / b) + 1 - 2 alpha_j)``, curvature
    ``S_j max(tanh(x) / x, 3e-4) / (2 b)`` at ``x = r / b``, bandwidth
    ``b = 0.04 S_j`` from one residual scale ``S_j`` per level (the squared
    mean root absolute residual). Its quadratic majorises the pinball loss at
    the current residual, which moves a level only ``2 alpha`` (below) or
    ``2 (1 - alpha)`` (above) of the way to far labels: a 0.95 level far
    above its labels creeps down 10% of the way per Newton step, and where
    the spread grows with the features over a wide range (diamond prices) it
    is still far from its quantile after 200 rounds. ``curvature="adaptive"``
    (default) keeps that gradient and MM curvature while a level is off its
    quantile takes larger, width-sized steps: with ``a_j`` in [0, 1] the
    distance of level ``j``'s share of training labels above it from
    ``1 - alpha_j`` (relative to ``min(alpha_j, 1 - alpha_j)``, capped at 1),
    the bandwidth is ``b = (0.04 + 0.11 a_j) S_j`` times the row's predicted
    width (top level minus bottom level) over the mean width, within
    [0.05, 20], so leaves of narrow and wide rows take steps of their own
    size, and a row whose residual exceeds 0.45 times its width has its
    curvature times ``1 + a_j (max(2 |slope|, f) - 1)``, its side's
    pinball slope with ``f = 0.1`` under ``"max"`` (0.3 under
    ``"softplus"``, where the lower levels carry a tail level too): far
    rows move a level most of the way. At its quantile (``a_j = 0``) a
    level takes XGBoost 3.4's narrow steps, which do not fit noise over many
    rounds. ``"scaled"`` is the majoriser curvature ``0.5 / (|r| + s_j)``
    with the pinball subgradient. Measured
    (``benchmarks/bench_level_sets.py``, 20,000 rows, 200 rounds, against
    three built-in quantile models), the defaults: diamond prices 0.985x
    their total pinball on XGBoost 3.2, 0.82x XGBoost 3.4's built-in,
    0.997x on LightGBM; synthetic data 0.993x, 1.001x, 0.994x. With few
    rounds the built-ins' refit of leaves to residual quantiles is faster
    than any Newton leaf (4,000 diamond prices, XGBoost 3.2: 1.47x at 30
    rounds, 0.94x at 100, 0.92x at 300).

    ``coupling`` says what each margin column is trained on. ``"level"``
    (default): margin ``j`` follows its own level only, ``s_j g_j`` and
    ``s_j^2 h_j`` (``g_j, h_j`` level ``j``'s derivatives; ``s_j = 1``
    under ``"max"``; under ``"softplus"`` ``s_0 = 1``, ``s_j =
    sigmoid(m_j)``), as if each level were a separate model. Under
    ``"max"`` that is the gradient of the summed loss wherever the outputs
    do not cross; under ``"softplus"`` it is not, but has the same fixed
    point (every level at its own quantile), and the lowest level is not
    pulled by the others.
    ``"chain"`` (``"softplus"`` only): the chain rule through the
    transform, the gradient of the summed loss: margin ``j`` moves every
    level ``l >= j`` and sees ``s_j sum_{l >= j} g_l`` with the diagonal
    Gauss-Newton curvature ``s_j^2 sum_{l >= j} h_l``. Measured on held-out
    data (``benchmarks/bench_level_sets.py --chain``), ``"level"`` is as
    good or better everywhere and far better where the spread varies
    strongly with the features (diamond prices: total pinball 1.7x lower).

    ``refit_levels`` (default True; LightGBM only, XGBoost ignores it):
    after each round, output ``j``'s leaves move toward the refit that
    makes level ``j`` move the learning rate times its residual quantile in
    every leaf (under ``"max"`` output ``j`` is refit as a separate model,
    as LightGBM's built-in ``quantile`` refits one level; under
    ``"softplus"`` given the levels below after their own refit), by how
    far the level sits off its quantile: the larger of ``a_j``
    (:meth:`level_offsets`, over all rows) and the leaf's own distance
    (its share of labels above the level, less two standard errors of that
    share, relative to ``min(alpha_j, 1 - alpha_j)``): the whole way while
    the level is far off its quantile, not at all at it, where the Newton
    step is steadier. Measured (``benchmarks/bench_level_sets.py``), on
    4,000 diamond prices at 30 / 100 / 300 rounds: 0.82x / 0.92x / 0.97x
    the built-ins' total pinball (without: 1.52x / 0.99x / 1.00x); 20,000
    rows at 200 rounds: diamond prices 0.997x (1.013x), synthetic 0.994x
    (0.990x); 2,500 rows at 300 rounds it is worse (1.06x against 1.02x).
    It costs about twice the fit time. ``refit_levels=False`` keeps
    LightGBM's Newton leaves (and plain ``lightgbm.train`` with the
    objective callable then needs no refit).

    Parameters
    ----------
    alphas : sequence of floats, strictly increasing in (0, 1)
    curvature : {"adaptive", "mm", "scaled"}, default "adaptive"
    coupling : {"level", "chain"}, default "level"
    refit_levels : bool, default True
    transform : {"max", "softplus"}, default "max"
    """

    name = "multi_quantile"
    level_statistic = "quantile"

    def __init__(
        self,
        alphas: Any = (0.05, 0.5, 0.95),
        curvature: str = "adaptive",
        coupling: str = "level",
        refit_levels: bool = True,
        transform: str = "max",
    ) -> None:
        super().__init__(alphas, transform)
        check_choice(curvature, "curvature", ("adaptive", "mm", "scaled"))
        check_choice(coupling, "coupling", ("level", "chain"))
        if not isinstance(refit_levels, (bool, np.bool_)):
            raise ValueError(f"refit_levels must be True or False, got {refit_levels!r}")
        if transform == "max" and coupling == "chain":
            raise ValueError(
                "coupling='chain' needs transform='softplus': under transform='max' each margin is its own "
                "level, so the chain rule gives margin j level j's gradient alone (coupling='level')"
            )
        self.curvature = curvature
        self.coupling = coupling
        self.refit_levels = bool(refit_levels)
        self._code = {
            "adaptive": intervals.CURVATURE_ADAPTIVE,
            "mm": intervals.CURVATURE_MM,
            "scaled": intervals.CURVATURE_SCALED,
        }[curvature]

    @property
    def output_names(self) -> tuple[str, ...]:
        return tuple(f"q{a:g}" for a in self.alphas)

    @property
    def level_refit(self) -> tuple[float, ...] | None:
        # Each output's leaves are refit to its level's residual quantile, as
        # LightGBM's quantile objective does for one level.
        return self.alphas if self.refit_levels else None

    def global_sums(self, y, margin, weight) -> np.ndarray | None:
        """Per level: ``[sum w |r|, sum w sqrt|r|, sum w, sum w 1(y > q)]``, flattened, then
        ``sum w (q_{k-1} - q_0)`` (4 k + 1 values)."""
        out = np.empty((self.n_outputs, 4))
        width = np.empty(1)
        intervals.multi_quantile_level_sums(y, margin, weight, self._cummax, out, width)
        return np.concatenate([out.reshape(-1), width])

    def _mean_width(self, sums: np.ndarray) -> float:
        total_weight = float(sums[2])
        return float(sums[4 * self.n_outputs]) / total_weight if total_weight > 0 else 0.0

    def _acceleration(self, sums: np.ndarray) -> np.ndarray:
        """Per level, ``|share of labels above - (1 - alpha)| / min(alpha, 1 - alpha)`` within [0, 1]:
        1 while a level sits far off its quantile, 0 at it."""
        s = np.asarray(sums, dtype=np.float64)[: 4 * self.n_outputs].reshape(self.n_outputs, 4)
        with np.errstate(divide="ignore", invalid="ignore"):
            above = np.where(s[:, 2] > 0, s[:, 3] / s[:, 2], 1.0 - self._alphas)
        off = np.abs(above - (1.0 - self._alphas)) / np.minimum(self._alphas, 1.0 - self._alphas)
        return np.clip(off, 0.0, 1.0)

    def level_offsets(self, y: np.ndarray, margin: np.ndarray, weight: np.ndarray) -> np.ndarray:
        """How far each level sits off its quantile, in [0, 1]: per level,
        ``|share of labels above - (1 - alpha)| / min(alpha, 1 - alpha)``,
        clipped (the gate of the adaptive curvature and of the level refit).

        Parameters
        ----------
        y : ndarray of shape (n,)
        margin : ndarray of shape (n, k)
            Raw scores.
        weight : ndarray of shape (n,) or (0,)
            Row weights; empty for equal weights.

        Returns
        -------
        ndarray of shape (k,)
        """
        return self._acceleration(self.global_sums(y, margin, weight))

    def _scales(self, sums: np.ndarray) -> np.ndarray:
        s = np.asarray(sums, dtype=np.float64)[: 4 * self.n_outputs].reshape(self.n_outputs, 4)
        with np.errstate(divide="ignore", invalid="ignore"):
            if self.curvature != "scaled":
                ratio = np.where(s[:, 2] > 0, s[:, 1] / s[:, 2], 0.0)
                return ratio * ratio
            mean_abs = np.where(s[:, 2] > 0, s[:, 0] / s[:, 2], 0.0)
        # A level that fits every row exactly: any positive scale gives the same step.
        return np.where(mean_abs > 0, mean_abs, 1.0)

    def grad_hess_into(self, y, margin, weight, grad, hess, offsets=None, sums=None):
        sums = np.asarray(self.global_sums(y, margin, weight) if sums is None else sums, dtype=np.float64)
        scales = self._scales(sums)
        mean_width = self._mean_width(sums)
        accel = self._acceleration(sums)
        if self.coupling == "level":
            intervals.multi_quantile_own_level_grad_hess(
                y, margin, weight, self._alphas, scales, self._code, mean_width, accel, self._cummax, grad, hess
            )
        else:
            intervals.multi_quantile_grad_hess(
                y, margin, weight, self._alphas, scales, self._code, mean_width, accel, grad, hess
            )

    def loss_sum(self, y, margin, weight, offsets=None):
        return intervals.multi_quantile_loss_sum(y, margin, weight, self._alphas, self._cummax)

    def _level_init_scores(self, y, weight):
        return np.array([weighted_quantile(y, weight, a) for a in self.alphas])


@register_loss
class MultiExpectile(_LevelSet):
    """Asymmetric squared errors at several levels, summed, from one model with k outputs per row.

    Non-crossing by construction, through ``transform`` (as
    :class:`MultiQuantile`). ``"max"`` (default): level ``j`` is
    ``max(q_{j-1}, m_j)`` and each output takes its own level's gradient
    ``a r`` and curvature ``a`` (``a = 1 - alpha`` at or above the label,
    else ``alpha``), exact wherever the outputs do not cross.
    ``"softplus"``: the transform, gradient and diagonal Gauss-Newton
    curvature of XGBoost's ``reg:expectileerror`` (>= 3.3), which an
    XGBoost with it trains as the built-in. Measured
    (``benchmarks/bench_level_sets.py --statistic expectile``, 20,000 rows,
    200 rounds; held-out expectile loss summed over (0.05, 0.5, 0.95) ÷
    three separately fitted expectile models): ``"max"`` 0.98-1.00x on
    synthetic data and diamond prices, both boosters; ``"softplus"``
    1.06-1.09x and 1.40-1.42x (XGBoost 3.4's built-in ``expectile_alpha``
    list: 1.09x and 1.33x). Under ``"softplus"`` every level above the
    lowest moves with the lower levels' trees and the chained gradient of
    the summed loss pulls the lowest level towards the others.

    Parameters
    ----------
    alphas : sequence of floats, strictly increasing in (0, 1)
    transform : {"max", "softplus"}, default "max"
    """

    name = "multi_expectile"
    level_statistic = "expectile"

    def __init__(self, alphas: Any = (0.05, 0.5, 0.95), transform: str = "max") -> None:
        super().__init__(alphas, transform)

    @property
    def output_names(self) -> tuple[str, ...]:
        return tuple(f"e{a:g}" for a in self.alphas)

    def builtin_objective(self, booster: str) -> dict[str, Any] | None:
        check_choice(booster, "booster", ("xgboost", "lightgbm"))
        if booster == "xgboost" and not self._cummax:
            return {"objective": "reg:expectileerror", "expectile_alpha": list(self.alphas)}
        return None

    def grad_hess_into(self, y, margin, weight, grad, hess, offsets=None, sums=None):
        intervals.multi_expectile_grad_hess(y, margin, weight, self._alphas, self._cummax, grad, hess)

    def loss_sum(self, y, margin, weight, offsets=None):
        return intervals.multi_expectile_loss_sum(y, margin, weight, self._alphas, self._cummax)

    def _level_init_scores(self, y, weight):
        return np.array([Expectile(a).fit_init_score(y, weight) for a in self.alphas])
