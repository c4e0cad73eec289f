"""Objective and metric callables of a loss for LightGBM, in both of its
call signatures (``lightgbm.train`` and its scikit-learn estimators)."""

from __future__ import annotations

import threading
from typing import Any

import lightgbm as lgb
import numpy as np

from .._adapters import Data, DataCache, ObjectiveBase, same_values
from ..losses import Loss, as_loss
from ._data import _cached_data, _check_margin


class LightGBMObjective(ObjectiveBase):
    """Custom objective of a loss for LightGBM; build it with :func:`objective`.

    Callable in both LightGBM signatures:

    * ``obj(preds, train_data) -> (grad, hess)`` for ``params["objective"]``
      of :func:`lightgbm.train`: labels, weights and query groups come from
      the Dataset (validated once per Dataset, read again when LightGBM
      bumps its version);
    * ``obj(y_true, y_pred, weight=None, group=None) -> (grad, hess)`` for
      LightGBM's scikit-learn estimators
      (``lightgbm.LGBMRegressor(objective=obj)``), which pass the sample
      weights and query groups because the signature has four parameters.
      Labels, weights and groups are compared every round with the
      validated copy (one cheap pass), so a refit with new labels or
      ``sample_weight`` always uses them.

    Gradient and Hessian are multiplied by the weights and returned as
    float32 arrays shaped like ``preds`` (``(n, k)`` for multiclass, in
    class-major memory order, so LightGBM flattens them without a copy) from
    buffers reused every round (copy them to keep one round's values). Each
    thread has its own buffers and data. Copies and pickles carry only the
    loss, so :func:`lightgbm.train` copying its parameters is harmless.

    LightGBM (both signatures) starts every row at 0 under a custom
    objective and does not save the init score in the model: pass the
    loss's ``loss.init_score(y, w)`` as ``init_score=`` (a full column) to
    start there, or train with :func:`train` or the library's estimators,
    which do it and fold the init score into the model.

    Parameters
    ----------
    loss : Loss or str
    row_curvature : bool, default False
        Hand LightGBM one unit of Hessian per row (times its weight) instead
        of the loss's curvature, as LightGBM's ``l1`` / ``quantile`` do. Used
        with the leaf refit, where the Hessian only shapes the splits, so
        ``min_sum_hessian_in_leaf`` counts rows whatever the scale of ``y``.

    Notes
    -----
    Absolute error and quantile losses (except ``curvature="mm"``) need
    every leaf refit to a residual percentile, which plain
    ``lightgbm.train`` / ``lightgbm.cv`` / LightGBM's estimators with this
    objective cannot do: the first call then issues a
    :class:`LeafRefitWarning`, once per process and loss
    (:func:`warn_no_refit`); so does a quantile set with ``refit_levels``
    (``multi_quantile``'s default). :func:`train` and the estimators refit
    and never warn.
    """

    _order = "F"
    _refits_levels = True

    def _reset(self) -> None:
        super()._reset()
        self._data = DataCache()

    def __call__(self, a: Any, b: Any, weight: Any = None, group: Any = None) -> tuple[np.ndarray, np.ndarray]:
        if isinstance(b, lgb.Dataset):
            return self._native(a, b)
        return self._sklearn_call(a, b, weight, group)

    def _native(self, preds: Any, train_data: lgb.Dataset) -> tuple[np.ndarray, np.ndarray]:
        if self._refit_unchecked:
            self._check_refit("lightgbm.train with params['objective'] = gbm_objectives.lightgbm.objective(...)")
        data = _cached_data(self._data, self.loss, train_data, "training data")
        return self._grad_hess(_check_margin(self.loss, preds, data.y.shape[0]), data)

    def _sklearn_call(self, y_true: Any, y_pred: Any, weight: Any, group: Any) -> tuple[np.ndarray, np.ndarray]:
        if self._refit_unchecked:
            self._check_refit("lightgbm.LGBMRegressor(objective=gbm_objectives.lightgbm.objective(...))")
        kept = getattr(self._local, "sklearn", None)
        if kept is None or not kept.matches(y_true, weight, group):
            kept = self._local.sklearn = _SklearnData(self.loss, y_true, weight, group, "training data")
        data = kept.data
        return self._grad_hess(_check_margin(self.loss, y_pred, data.y.shape[0]), data)


class _SklearnData:
    """Validated labels, weights and groups handed by LightGBM's scikit-learn
    wrapper, with copies to compare the next call's arrays with.

    The wrapper reads them from the Dataset every round; a refit (new
    ``sample_weight``, a CV fold) hands other values, possibly in arrays of
    the same identity, so values are compared, not identities.
    """

    __slots__ = ("y", "weight", "group", "data")

    def __init__(self, loss: Loss, y_true: Any, weight: Any, group: Any, what: str) -> None:
        self.y = np.array(y_true)
        self.weight = np.array([] if weight is None else weight)
        self.group = np.array([] if group is None else group)
        offsets = None
        if self.group.size:
            sizes = self.group.reshape(-1).astype(np.int64)
            offsets = np.concatenate(([0], np.cumsum(sizes))).astype(np.int64)
        self.data = Data(loss, self.y, self.weight, offsets, what, "pass group= to fit()")

    def matches(self, y_true: Any, weight: Any, group: Any) -> bool:
        return (
            same_values(np.asarray(y_true), self.y)
            and same_values(np.asarray([] if weight is None else weight), self.weight)
            and same_values(np.asarray([] if group is None else group), self.group)
        )


#: Prefix of the library's metric names: LightGBM's own metrics never start
#: with it, so the two never share an entry of the evaluation record.
METRIC_PREFIX = "gbm_"


def metric_name(loss: Loss | str) -> str:
    """The name the library's metric of ``loss`` reports under (``"gbm_" + loss.name``)."""
    return METRIC_PREFIX + as_loss(loss).name


class _MetricBase:
    """The loss's weighted mean (per group for grouped losses) at LightGBM's scores.

    ``response``: the scores are predictions on the response scale (a booster
    with a built-in objective), mapped back through the link first. Copies
    and pickles carry the loss, the name and ``response``; the caches are
    rebuilt.
    """

    def __init__(self, loss: Loss | str, name: str | None = None, response: bool = False) -> None:
        self.loss = as_loss(loss)
        if name is not None and (not isinstance(name, str) or not name):
            raise ValueError(f"name must be a non-empty string, got {name!r}")
        if not isinstance(response, (bool, np.bool_)):
            raise ValueError(f"response must be True or False, got {response!r}")
        self.name = metric_name(self.loss) if name is None else name
        self.response = bool(response)
        self._reset()

    def _reset(self) -> None:
        self._data = DataCache()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.loss!r}, name={self.name!r}, response={self.response})"

    def __getstate__(self) -> dict[str, Any]:
        return {"loss": self.loss, "name": self.name, "response": self.response}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["loss"], state["name"], state.get("response", False))  # type: ignore[misc]

    def __deepcopy__(self, memo: dict) -> _MetricBase:
        return type(self)(self.loss, self.name, self.response)

    def _result(self, preds: Any, data: Data) -> tuple[str, float, bool]:
        m = _check_margin(self.loss, preds, data.y.shape[0])
        if self.response:
            m = self.loss.link.response_to_margin(m)
        return self.name, data.loss_sum(self.loss, m) / data.denom, False


class LightGBMMetric(_MetricBase):
    """Evaluation function of a loss for LightGBM; build it with :func:`metric`.

    Callable in both LightGBM signatures:

    * ``metric(preds, eval_data) -> (name, value, False)`` for ``feval=`` of
      :func:`lightgbm.train` (labels, weights and groups read once per
      Dataset);
    * ``metric(y_true, y_pred, weight=None, group=None) -> (name, value,
      False)`` as ``eval_metric=`` of LightGBM's scikit-learn estimators,
      which pass the evaluation set's weights and groups because the
      signature has four parameters.

    The value is the loss's weighted mean (per group for grouped losses) at
    the scores LightGBM passes; lower is better.

    Parameters
    ----------
    loss : Loss or str
    name : str, optional
        Name shown in the evaluation log; default ``"gbm_" + loss.name``
        (never the name of a LightGBM metric).
    response : bool, default False
        False when the booster trains with a custom objective (LightGBM then
        passes raw scores); True with a built-in objective (it passes
        predictions on the response scale, mapped back through the link).
    """

    #: How many scikit-learn evaluation sets are kept validated (oldest dropped).
    _KEEP = 16

    def _reset(self) -> None:
        super()._reset()
        self._local = threading.local()

    def __call__(self, a: Any, b: Any, weight: Any = None, group: Any = None) -> tuple[str, float, bool]:
        if isinstance(b, lgb.Dataset):
            return self._result(a, _cached_data(self._data, self.loss, b, "evaluation data"))
        # The wrapper evaluates several sets in turn each round: keep each
        # validated, found again by value.
        kept: list[_SklearnData] | None = getattr(self._local, "sklearn", None)
        if kept is None:
            kept = self._local.sklearn = []
        for entry in kept:
            if entry.matches(a, weight, group):
                break
        else:
            entry = _SklearnData(self.loss, a, weight, group, "evaluation data")
            kept.append(entry)
            del kept[: -self._KEEP]
        return self._result(b, entry.data)


def objective(loss: Loss | str) -> LightGBMObjective:
    """Custom objective of ``loss`` for ``params["objective"]`` of :func:`lightgbm.train`.

    The object takes both of LightGBM's signatures (see
    :class:`LightGBMObjective`), so it also serves as ``objective=`` of
    LightGBM's own scikit-learn estimators, which pass ``sample_weight`` and
    ``group`` to it. It starts from LightGBM's default score 0 (give
    ``init_score=`` a column of ``loss.init_score(y, w)`` for the loss's init
    score; LightGBM does not store it in the model) and does not refit
    leaves; use :func:`train` or the library's estimators for the loss's
    init score folded into the model and the leaf refit (absolute error
    and quantile losses warn once per process without it,
    :class:`LeafRefitWarning`). Multiclass losses need ``params["num_class"]``.

    LightGBM stores a NaN label as 0 when it builds a Dataset and keeps no
    copy of the original, so this objective (which only sees built Datasets)
    cannot tell; :func:`train` and the estimators check the labels before
    LightGBM converts them.

    Examples
    --------
    >>> params = {"objective": objective("tweedie"), "verbose": -1}  # doctest: +SKIP
    >>> booster = lightgbm.train(params, dtrain, 100)  # doctest: +SKIP
    """
    return LightGBMObjective(loss)


def metric(loss: Loss | str, *, name: str | None = None, response: bool = False) -> LightGBMMetric:
    """Evaluation function of ``loss`` for ``feval=`` of :func:`lightgbm.train`
    or ``eval_metric=`` of LightGBM's scikit-learn estimators (which pass the
    evaluation sets' weights and groups to it).

    Parameters
    ----------
    loss : Loss or str
    name : str, optional
        Default ``"gbm_" + loss.name``, e.g. ``"gbm_tweedie"``, apart from
        LightGBM's own ``"tweedie"`` metric.
    response : bool, default False
        True for a booster with a built-in objective, whose evaluation
        functions receive response-scale predictions (see
        :class:`LightGBMMetric`).
    """
    return LightGBMMetric(loss, name, response)
