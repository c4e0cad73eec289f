"""Link functions: map the response scale to the booster's raw margin and back."""

from __future__ import annotations

from typing import Any

import numpy as np

from .kernels._common import MAX_EXP_ARG
from .kernels.intervals import levels_of_margins, noncrossing_link


class Link:
    """A link ``g``: ``margin = g(mean)`` and ``mean = g^-1(margin)``.

    Besides the two maps, a link knows the boosters' built-in objectives whose
    output transform is its inverse: a model trained with a custom objective
    is saved under that objective, so the plain booster predicts on the
    response scale.
    """

    name: str = ""
    #: XGBoost's built-in objective whose prediction is ``inverse(margin)``.
    xgboost_objective: str = ""
    #: LightGBM's built-in objective whose prediction is ``inverse(margin)``.
    lightgbm_objective: str = ""
    #: Responses are clipped into ``[low, high]`` before :meth:`link`, so a
    #: boundary value (a probability of 0, a mean of 0) gives a finite margin.
    response_bounds: tuple[float, float] = (-np.inf, np.inf)
    #: Each margin column is its own response column wherever the responses
    #: keep their order (:class:`CumulativeMaxLink`).
    margins_are_levels: bool = False

    def link(self, mean: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def inverse(self, margin: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def xgboost_params(self, n_outputs: int) -> dict[str, Any]:
        """XGBoost parameters of the host objective :attr:`xgboost_objective` for ``n_outputs`` margins.

        The objective and whatever it needs to predict ``inverse(margin)``
        for that many outputs (the adapter adds ``num_class`` /
        ``num_target``).
        """
        return {"objective": self.xgboost_objective}

    def response_to_margin(self, response: np.ndarray) -> np.ndarray:
        """Margins of responses, clipped inside the link's domain first."""
        p = np.asarray(response, dtype=np.float64)
        low, high = self.response_bounds
        if low > -np.inf or high < np.inf:
            p = np.clip(p, low, high)
        return np.ascontiguousarray(self.link(p))

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other)

    def __hash__(self) -> int:
        return hash(type(self).__name__)


class IdentityLink(Link):
    name = "identity"
    xgboost_objective = "reg:squarederror"
    lightgbm_objective = "regression"

    def link(self, mean: np.ndarray) -> np.ndarray:
        return np.asarray(mean, dtype=np.float64).copy()

    def inverse(self, margin: np.ndarray) -> np.ndarray:
        return np.asarray(margin, dtype=np.float64).copy()


class LogLink(Link):
    name = "log"
    xgboost_objective = "reg:tweedie"
    lightgbm_objective = "poisson"
    response_bounds = (1e-300, np.inf)

    def link(self, mean: np.ndarray) -> np.ndarray:
        return np.log(np.asarray(mean, dtype=np.float64))

    def inverse(self, margin: np.ndarray) -> np.ndarray:
        return np.exp(np.clip(np.asarray(margin, dtype=np.float64), -MAX_EXP_ARG, MAX_EXP_ARG))


class LogitLink(Link):
    name = "logit"
    xgboost_objective = "binary:logistic"
    lightgbm_objective = "cross_entropy"
    response_bounds = (1e-15, 1.0 - 1e-15)

    def link(self, mean: np.ndarray) -> np.ndarray:
        p = np.asarray(mean, dtype=np.float64)
        return np.log(p) - np.log1p(-p)

    def inverse(self, margin: np.ndarray) -> np.ndarray:
        m = np.asarray(margin, dtype=np.float64)
        # exp(-logaddexp(0, -m)) is sigmoid without overflow for either sign.
        return np.exp(-np.logaddexp(0.0, -m))


class SoftmaxLink(Link):
    """Multiclass link: rows of class probabilities <-> rows of logits."""

    name = "softmax"
    xgboost_objective = "multi:softprob"
    lightgbm_objective = "multiclass"
    response_bounds = (1e-300, np.inf)

    def link(self, mean: np.ndarray) -> np.ndarray:
        return np.log(np.asarray(mean, dtype=np.float64))

    def inverse(self, margin: np.ndarray) -> np.ndarray:
        m = np.asarray(margin, dtype=np.float64)
        shifted = m - m.max(axis=-1, keepdims=True)
        e = np.exp(shifted)
        return e / e.sum(axis=-1, keepdims=True)


def _rows(values: Any, what: str) -> np.ndarray:
    """``values`` as a C-contiguous float64 (n, k) array of ``what``, or ValueError."""
    arr = np.ascontiguousarray(np.asarray(values, dtype=np.float64))
    if arr.ndim != 2:
        raise ValueError(f"{what} must be 2-D (n, k), got shape {arr.shape}")
    return arr


class NonCrossingLink(Link):
    """Rows of k non-decreasing levels <-> rows of k margins.

    ``q_0 = m_0`` and ``q_j = q_{j-1} + 1e-6 + softplus(m_j)``: whatever the
    margins, the levels never cross. XGBoost's ``reg:expectileerror``
    (>= 3.3) applies the same transform; LightGBM has no built-in with it, so
    its models predict margins and the adapters apply :meth:`inverse`.
    """

    name = "noncrossing"
    xgboost_objective = "reg:expectileerror"
    lightgbm_objective = "custom"

    def xgboost_params(self, n_outputs: int) -> dict[str, Any]:
        """``reg:expectileerror`` with ``n_outputs`` evenly spaced levels.

        It has as many outputs as levels; with the library's gradients only
        its transform is used, so any increasing levels serve. Plain XGBoost
        continuing such a model trains expectiles at those levels.
        """
        levels = [round((j + 1) / (n_outputs + 1), 6) for j in range(n_outputs)]
        return {"objective": self.xgboost_objective, "expectile_alpha": levels}

    def link(self, mean: np.ndarray) -> np.ndarray:
        p = _rows(mean, "levels")
        out = np.empty_like(p)
        noncrossing_link(p, out)
        return out

    def inverse(self, margin: np.ndarray) -> np.ndarray:
        m = _rows(margin, "margins")
        out = np.empty_like(m)
        levels_of_margins(m, False, out)
        return out


class CumulativeMaxLink(Link):
    """Rows of k non-decreasing levels <-> rows of k margins, each margin its own level.

    ``q_0 = m_0`` and ``q_j = max(q_{j-1}, m_j)``: whatever the margins, the
    levels never cross, and wherever the margins do not cross they are the
    levels. No booster has a built-in objective with this transform, so
    models are hosted by objectives that predict the raw margins
    (``reg:squarederror`` with ``num_target``, LightGBM's custom objective):
    plain ``booster.predict`` gives the margins, and
    ``numpy.maximum.accumulate(margins, axis=1)`` the levels.
    """

    name = "cumulative_max"
    xgboost_objective = "reg:squarederror"
    lightgbm_objective = "custom"
    margins_are_levels = True

    def link(self, mean: np.ndarray) -> np.ndarray:
        p = _rows(mean, "levels")
        if np.any(np.diff(p, axis=1) < 0):
            raise ValueError("levels must be non-decreasing along each row")
        return p.copy()

    def inverse(self, margin: np.ndarray) -> np.ndarray:
        m = _rows(margin, "margins")
        out = np.empty_like(m)
        levels_of_margins(m, True, out)
        return out


class ParameterLink(Link):
    """One link per margin column: rows of distribution parameters <-> rows of margins.

    Column ``j`` of the margins is ``links[j].link`` of parameter ``j``
    (a mean through a log, a probability through a logit, a scale through
    a log). No booster has a built-in objective with this transform, so
    models are hosted by objectives that predict the raw margins
    (``reg:squarederror`` with ``num_target``, LightGBM's custom objective)
    and the adapters apply :meth:`inverse`.

    Parameters
    ----------
    links : sequence of Link
        The link of every parameter, in margin-column order.
    """

    name = "parameters"
    xgboost_objective = "reg:squarederror"
    lightgbm_objective = "custom"

    def __init__(self, links: Any) -> None:
        self.links = tuple(links)
        if len(self.links) < 1 or not all(isinstance(link, Link) for link in self.links):
            raise ValueError(f"links must be a non-empty sequence of Link objects, got {links!r}")

    def _columns(self, values: np.ndarray, what: str) -> np.ndarray:
        arr = np.asarray(values, dtype=np.float64)
        if arr.ndim != 2 or arr.shape[1] != len(self.links):
            raise ValueError(f"{what} must be 2-D (n, {len(self.links)}), got shape {arr.shape}")
        return arr

    def link(self, mean: np.ndarray) -> np.ndarray:
        p = self._columns(mean, "parameters")
        return np.column_stack([lk.link(p[:, j]) for j, lk in enumerate(self.links)])

    def inverse(self, margin: np.ndarray) -> np.ndarray:
        m = self._columns(margin, "margins")
        return np.column_stack([lk.inverse(m[:, j]) for j, lk in enumerate(self.links)])

    def response_to_margin(self, response: np.ndarray) -> np.ndarray:
        p = self._columns(response, "parameters")
        columns = [lk.response_to_margin(p[:, j]) for j, lk in enumerate(self.links)]
        return np.ascontiguousarray(np.column_stack(columns))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.links!r})"

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and self.links == other.links  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.links))
