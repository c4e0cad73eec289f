"""LightGBM adapter: objective and metric callables, start margin, leaf refit,
training, prediction, scikit-learn estimators and Dask.

The library's losses plug into :func:`lightgbm.train` through
:func:`objective` (for ``params["objective"]``) and :func:`metric` (for
``feval=``); :func:`train` wires both and fixes what a custom objective
otherwise gets wrong in LightGBM:

* **Start margin.** A custom objective starts every row at 0 and LightGBM
  does not save a Dataset's ``init_score`` in the model. :func:`train` trains
  from the loss's best constant (:meth:`Loss.init_score`) given as the
  Datasets' ``init_score`` (validation sets too), then adds that constant to
  every leaf of the first iteration's trees, as LightGBM's built-in
  objectives do with ``boost_from_average``. The model itself then predicts
  correct raw scores; ``save_model`` and reloads keep them.
* **Weights, groups, shapes.** Dataset weights multiply gradient and Hessian
  (LightGBM applies none to custom gradients), query groups reach grouped
  losses, multiclass margins are ``(n, k)`` and gradients go back class-major
  without a copy; labels are checked once, before the first tree.
* **Leaf refit.** LightGBM's ``l1`` and ``quantile`` objectives refit every
  leaf to a percentile of its residuals after each tree. With absolute error
  and quantile losses :func:`train` does the same through
  :meth:`lightgbm.Booster.set_leaf_output`, with LightGBM's own (weighted)
  percentile definition, and keeps the training and validation scores that
  objectives, metrics and callbacks see in step with the refit trees.
* **A real objective and the loss record.** The model names the LightGBM
  objective whose output transform is the loss's inverse link (the loss
  itself where LightGBM has it: ``tweedie`` with its power, ``poisson``
  with the loss's ``poisson_max_delta_step``, ``gamma``, ``regression``,
  ``regression_l1``, ``quantile``, ``huber``, ``binary``, ``multiclass``;
  otherwise ``regression``, ``poisson``, ``cross_entropy`` or
  ``multiclass`` by link), so ``booster.predict``, a file reloaded by plain
  LightGBM and ``dump_model()`` speak the response scale
  (``raw_score=True`` or ``predict(..., output="margin")`` give the
  margin), and ``booster.params`` and ``refit`` work as with a built-in.
  The loss itself is recorded as a ``[gbm_objectives_loss: ...]`` line of
  the model's parameters, which LightGBM keeps through loading and saving
  (it logs "Ignoring unrecognized parameter" when it reads it), so
  :func:`predict` and :func:`booster_loss` of a reloaded model know it.
* **Continuing a model.** :func:`train` (and the estimators) with
  ``init_model=`` continue on the same loss, whatever it is. Plain
  ``lightgbm.train(params, ..., init_model=booster)``, with ``params`` the
  model's ``booster.params`` less ``num_iterations``, trains on with
  the recorded LightGBM objective, which is the same loss only where
  LightGBM has it: ``squared_error``, ``absolute_error`` and ``quantile``
  (LightGBM refits their leaves itself), ``huber``, ``poisson`` (with its
  ``max_delta_step``), ``gamma``, ``tweedie`` with power < 2 (power 2 is
  ``gamma``), plain ``logistic`` and ``softmax(hessian_scale="lightgbm")``
  without label smoothing.
  Every other loss (``focal``, ``log_cosh``, ``pseudo_huber``, ``softmax``
  with the exact Hessian, ``softmax_focal``, ...) would continue under its
  link's plain objective (``regression``, ``poisson``, ``cross_entropy``,
  ``multiclass``), another loss: continue those with :func:`train`.
* **Parameters of built-in objectives.** ``alpha``,
  ``tweedie_variance_power``, ``poisson_max_delta_step``, ``fair_c``,
  ``sigmoid`` and ``reg_sqrt`` change only LightGBM's own objectives: they
  must agree with the loss and raise ValueError otherwise (set the loss's
  own parameter). ``is_unbalance`` and ``scale_pos_weight`` act only in
  LightGBM's binary objective and raise ValueError (weight the rows, or
  ``class_weight=``). ``boost_from_average=False`` starts at 0, as with
  LightGBM's built-ins.

:class:`LGBMRegressor` and :class:`LGBMClassifier` bring the same to the
scikit-learn interface (sample weights reach the gradients; ``predict`` and
``predict_proba`` apply the loss's inverse link), and
:class:`DaskLGBMRegressor` to :mod:`lightgbm.dask`.
"""

from __future__ import annotations

import base64
import re
import threading
from typing import Any, Callable, Mapping, Sequence

import lightgbm as lgb
import numpy as np
from numba import njit

from ._adapters import (
    Data,
    DataCache,
    LeafRefitWarning,
    ObjectiveBase,
    check_margin,
    check_output,
    estimator_loss,
    response_to_margin,
    loss_from_json,
    loss_to_json,
    predict_response,
    refits,
    same_values,
    warn_no_refit,
)
from ._validation import EMPTY_WEIGHT, as_float_array, check_sample_weight, group_offsets
from .kernels._common import JIT
from .losses import AbsoluteError, Loss, Quantile, as_loss, get_loss

__all__ = [
    "DaskLGBMRegressor",
    "LeafRefitWarning",
    "NoUsableFeaturesError",
    "LGBMClassifier",
    "LGBMRegressor",
    "LightGBMMetric",
    "LightGBMObjective",
    "booster_loss",
    "cv",
    "leaf_percentiles",
    "metric",
    "metric_name",
    "objective",
    "predict",
    "refit",
    "train",
    "warn_no_refit",
]

#: Prefix of the ``objective`` parameter recorded in models trained here.
LOSS_PREFIX = "gbm_objectives."

_OBJECTIVE_ALIASES = ("objective", "objective_type", "app", "application", "loss")
_NUM_CLASS_ALIASES = ("num_class", "num_classes")
_METRIC_ALIASES = ("metric", "metrics", "metric_types")
_LR_ALIASES = ("learning_rate", "shrinkage_rate", "eta")
_BOOSTING_ALIASES = ("boosting", "boosting_type", "boost")
_LINEAR_TREE_ALIASES = ("linear_tree", "linear_trees")
_THREAD_ALIASES = ("num_threads", "num_thread", "nthread", "nthreads", "n_jobs")
_NONE_METRICS = ("none", "null", "custom", "na", "")
#: LightGBM rounds leaf values this small to zero (``kZeroThreshold``).
_ZERO_THRESHOLD = 1e-35


def _param(params: Mapping[str, Any], aliases: Sequence[str], default: Any = None) -> Any:
    for name in aliases:
        if name in params and params[name] is not None:
            return params[name]
    return default


def _has_param(params: Mapping[str, Any], aliases: Sequence[str]) -> bool:
    return any(name in params and params[name] is not None for name in aliases)


def _metric_is_none(value: Any) -> bool:
    values = [value] if isinstance(value, str) else list(value)
    return all(isinstance(v, str) and v.strip().lower() in _NONE_METRICS for v in values)


# ---------------------------------------------------------------------------
# Labels, weights and groups of a Dataset
# ---------------------------------------------------------------------------

_BOOSTER = "LightGBM"
_GROUP_HINT = "build the Dataset with group= (group sizes)"


def _constructed(ds: "lgb.Dataset") -> bool:
    """Whether LightGBM built the Dataset (a failed build leaves a null handle)."""
    handle = ds._handle
    return handle is not None and bool(getattr(handle, "value", handle))


def _dataset_data(loss: Loss, ds: "lgb.Dataset", what: str) -> Data:
    """Labels, weights and groups of a constructed Dataset, exactly as LightGBM stores them."""
    y = ds.get_field("label")
    if y is None:
        raise ValueError(f"{what} has no labels")
    groups = ds.get_field("group") if loss.needs_group else None
    return Data(loss, y, ds.get_field("weight"), groups, what, _GROUP_HINT)


def _python_side_data(loss: Loss, ds: "lgb.Dataset", what: str) -> Data:
    """Like :func:`_dataset_data`, before the Dataset is constructed (float32, as LightGBM will store it)."""
    if _constructed(ds) or ds.label is None:
        return _dataset_data(loss, ds.construct(), what)
    y = np.asarray(ds.label, dtype=np.float32).reshape(-1)
    weight = None if ds.weight is None else np.asarray(ds.weight, dtype=np.float32).reshape(-1)
    offsets = None
    if loss.needs_group and ds.group is not None:
        offsets = group_offsets(np.asarray(ds.group).reshape(-1), y.shape[0])
    return Data(loss, y, weight, offsets, what, _GROUP_HINT)


def _cached_data(cache: DataCache, loss: Loss, ds: "lgb.Dataset", what: str) -> Data:
    """The Dataset's validated data, read again when LightGBM bumps its ``version``
    (labels or weights replaced)."""
    return cache.get(ds, getattr(ds, "version", 0), lambda: _dataset_data(loss, ds, what))


def _check_margin(loss: Loss, preds: Any, n_rows: int) -> np.ndarray:
    return check_margin(loss, preds, n_rows, _BOOSTER, flat_class_major=True)


class NoUsableFeaturesError(ValueError):
    """The training data has no feature LightGBM can split on.

    LightGBM's built-in objectives then train a constant model (their start
    score), but it aborts on custom gradients. :func:`train` and the
    estimators catch this error and return the constant start-margin model.
    """

    def __init__(self, message: str, booster: "lgb.Booster | None" = None) -> None:
        super().__init__(message)
        self.booster = booster


_NO_FEATURES = (
    "no feature of the training data can be split on (every feature is constant, or there are too few rows "
    "for min_data_in_leaf / min_data_in_bin)"
)


def _has_usable_feature(ds: "lgb.Dataset") -> bool:
    """Whether LightGBM kept at least one feature of the constructed Dataset
    (it reports 0 bins for a feature it dropped)."""
    return any(ds.feature_num_bin(i) > 0 for i in range(ds.num_feature()))


def _check_usable_features(ds: "lgb.Dataset", booster: "lgb.Booster | None" = None) -> None:
    if not _has_usable_feature(ds):
        raise NoUsableFeaturesError(
            f"training data: {_NO_FEATURES}; LightGBM cannot train a custom objective without one "
            "(gbm_objectives.lightgbm.train and its estimators return the constant start-margin model)",
            booster,
        )


class _FeatureCheck:
    """Callback that stops training before the first tree when LightGBM could
    grow none from custom gradients: its first ``update`` under a custom
    objective aborts with an internal check failure."""

    before_iteration = True
    order = -(10**9) - 1

    def __init__(self) -> None:
        self.done = False

    def __call__(self, env: Any) -> None:
        if not self.done:
            self.done = True
            _check_usable_features(env.model.train_set, env.model)


# ---------------------------------------------------------------------------
# Objective and metric callables
# ---------------------------------------------------------------------------


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
    objective and does not save the start in the model: pass the loss's
    best constant ``loss.init_score(y, w)`` as ``init_score=`` (a full
    column) to start there, or train with :func:`train` or the library's
    estimators, which do it and fold the start into the model.

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
    (:func:`warn_no_refit`). :func:`train` and the estimators refit and
    never warn.
    """

    _order = "F"

    def _reset(self) -> None:
        super()._reset()
        self._data = DataCache()

    def __call__(self, a: Any, b: Any, weight: Any = None, group: Any = None) -> tuple[np.ndarray, np.ndarray]:
        if isinstance(b, lgb.Dataset):
            return self._native(a, b)
        return self._sklearn_call(a, b, weight, group)

    def _native(self, preds: Any, train_data: "lgb.Dataset") -> tuple[np.ndarray, np.ndarray]:
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

    def __deepcopy__(self, memo: dict) -> "_MetricBase":
        return type(self)(self.loss, self.name, self.response)

    def _result(self, preds: Any, data: Data) -> tuple[str, float, bool]:
        m = _check_margin(self.loss, preds, data.y.shape[0])
        if self.response:
            m = response_to_margin(self.loss, m)
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
    ``init_score=`` a column of ``loss.init_score(y, w)`` for the loss's best
    constant; LightGBM does not store it in the model) and does not refit
    leaves; use :func:`train` or the library's estimators for the loss's
    start margin folded into the model and the leaf refit (absolute error
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


# ---------------------------------------------------------------------------
# LightGBM's percentiles and the leaf refit
# ---------------------------------------------------------------------------


@njit(**JIT)
def _percentile(values, alpha):
    """LightGBM's ``PercentileFun``: linear interpolation between the order
    statistics around position ``alpha (n - 1)``. Reorders ``values``."""
    m = values.shape[0]
    if m <= 1:
        return values[0]
    float_pos = alpha * (m - 1)
    pos = int(float_pos)
    if pos >= m - 1:
        return values.max()
    bias = float_pos - pos
    # Two order statistics by selection, O(m), instead of a full sort.
    lo = _select(values, pos)
    hi = values[pos + 1]
    for t in range(pos + 2, m):
        if values[t] < hi:
            hi = values[t]
    return lo + (hi - lo) * bias


@njit(**JIT)
def _select(a, k):
    """Rearrange ``a`` so that ``a[k]`` is its k-th smallest value, smaller ones
    before it and larger ones after (Hoare's selection); return ``a[k]``."""
    left = 0
    right = a.shape[0] - 1
    while right > left:
        mid = (left + right) // 2
        # Median of three as pivot keeps sorted input linear.
        if a[mid] < a[left]:
            a[mid], a[left] = a[left], a[mid]
        if a[right] < a[left]:
            a[right], a[left] = a[left], a[right]
        if a[right] < a[mid]:
            a[right], a[mid] = a[mid], a[right]
        pivot = a[mid]
        i = left
        j = right
        while i <= j:
            while a[i] < pivot:
                i += 1
            while pivot < a[j]:
                j -= 1
            if i <= j:
                a[i], a[j] = a[j], a[i]
                i += 1
                j -= 1
        if k <= j:
            right = j
        elif k >= i:
            left = i
        else:
            break
    return a[k]


@njit(**JIT)
def _sorted_weighted_percentile(values, weights, alpha):
    """LightGBM's ``WeightedPercentileFun`` on values already sorted (stably):
    the weighted CDF, interpolated where its step is at least one unit of
    weight, else the lower value."""
    m = values.shape[0]
    if m <= 1:
        return values[0]
    cdf = np.empty(m)
    acc = 0.0
    for t in range(m):
        acc += weights[t]
        cdf[t] = acc
    threshold = cdf[m - 1] * alpha
    pos = np.searchsorted(cdf, threshold, side="right")
    if pos > m - 1:
        pos = m - 1
    if pos == 0 or pos == m - 1:
        return values[pos]
    v1 = values[pos - 1]
    v2 = values[pos]
    step = cdf[pos] - cdf[pos - 1]
    if step >= 1.0:
        return (threshold - cdf[pos - 1]) / step * (v2 - v1) + v1
    return v1


@njit(**JIT)
def _leaf_percentiles_kernel(resid, weight, leaf, order, n_leaves, alpha, single, out):
    """Percentile of ``resid`` in every leaf. With weights, ``order`` sorts
    ``resid`` (any sort); rows are then bucketed by leaf in that order and
    ties put back in row order, which gives LightGBM's stable sort."""
    n = resid.shape[0]
    weighted = weight.shape[0] > 0
    start = np.zeros(n_leaves + 1, np.int64)
    for i in range(n):
        start[leaf[i] + 1] += 1
    for j in range(n_leaves):
        start[j + 1] += start[j]
    fill = start[:n_leaves].copy()
    grouped = np.empty(n, np.int64)
    for t in range(n):
        i = order[t] if weighted else t
        j = leaf[i]
        grouped[fill[j]] = i
        fill[j] += 1
    vals = np.empty(n)
    wts = np.empty(n if weighted else 0)
    # LightGBM's quantile objective stores alpha as float32.
    a = float(np.float32(alpha)) if single else alpha
    for j in range(n_leaves):
        lo = start[j]
        cnt = start[j + 1] - lo
        if cnt == 0:
            out[j] = np.nan
            continue
        for t in range(cnt):
            vals[t] = resid[grouped[lo + t]]
        if not weighted:
            out[j] = _percentile(vals[:cnt], a)
            continue
        for t in range(cnt):
            wts[t] = weight[grouped[lo + t]]
        t = 0
        while t < cnt:
            u = t + 1
            while u < cnt and vals[u] == vals[t]:
                u += 1
            if u - t > 1:
                rows = np.sort(grouped[lo + t : lo + u])
                for v in range(u - t):
                    wts[t + v] = weight[rows[v]]
            t = u
        out[j] = _sorted_weighted_percentile(vals[:cnt], wts[:cnt], a)


def _percentiles(
    resid: np.ndarray, weight: np.ndarray, leaf: np.ndarray, n_leaves: int, alpha: float, single: bool
) -> np.ndarray:
    # NumPy's (SIMD) sort is several times faster than a sort compiled by Numba.
    order = np.argsort(resid) if weight.shape[0] else np.empty(0, dtype=np.int64)
    out = np.empty(n_leaves)
    _leaf_percentiles_kernel(resid, weight, leaf, order, n_leaves, alpha, single, out)
    return out


def leaf_percentiles(
    residual: Any,
    leaf: Any,
    alpha: float,
    sample_weight: Any = None,
    *,
    n_leaves: int | None = None,
    single_precision_alpha: bool = True,
) -> np.ndarray:
    """Per-leaf residual percentiles with LightGBM's definitions.

    LightGBM's ``l1`` and ``quantile`` objectives set each leaf to this value
    (times the learning rate) after every tree: without weights the order
    statistics interpolated linearly at position ``alpha (n - 1)``; with
    weights the weighted CDF of the sorted residuals, interpolated where its
    step is at least one unit of weight and the lower residual otherwise.
    The results match LightGBM 4's leaf values bit for bit.

    Parameters
    ----------
    residual : array of shape (n,)
        ``label - score`` before the tree.
    leaf : int array of shape (n,)
        Leaf index of every row.
    alpha : float in (0, 1)
    sample_weight : array of shape (n,), optional
    n_leaves : int, optional
        Number of leaves (default ``max(leaf) + 1``); empty leaves give NaN.
    single_precision_alpha : bool, default True
        Compute with ``alpha`` in float32, as LightGBM's ``quantile``
        objective does (its ``l1`` objective uses the exact 0.5; both agree
        at 0.5).

    Returns
    -------
    ndarray of shape (n_leaves,)
    """
    r = as_float_array(residual, "residual").astype(np.float64, copy=False)
    lf = np.asarray(leaf)
    if lf.ndim != 1 or lf.shape[0] != r.shape[0] or lf.dtype.kind not in "iu":
        raise ValueError("leaf must be a 1-D integer array with one entry per residual")
    if r.shape[0] == 0:
        raise ValueError("residual is empty")
    if not 0.0 < float(alpha) < 1.0:
        raise ValueError(f"alpha must be in (0, 1), got {alpha!r}")
    if lf.min() < 0:
        raise ValueError("leaf indices must be non-negative")
    top = int(lf.max()) + 1
    n_leaves = top if n_leaves is None else int(n_leaves)
    if n_leaves < top:
        raise ValueError(f"n_leaves={n_leaves} but leaf holds index {top - 1}")
    w = check_sample_weight(sample_weight, r.shape[0])
    w = w.astype(np.float64) if w.shape[0] else EMPTY_WEIGHT
    return _percentiles(r, w, lf.astype(np.int64), n_leaves, float(alpha), bool(single_precision_alpha))


@njit(**JIT)
def _tree_leaves(x, split_feature, threshold, decision_type, left, right, out):
    """Leaf of every row of ``x`` in one tree with numerical splits, by
    LightGBM's ``NumericalDecision`` (missing types None / Zero / NaN and the
    default direction)."""
    for i in range(x.shape[0]):
        node = 0
        while node >= 0:
            value = float(x[i, split_feature[node]])
            dt = decision_type[node]
            missing = (dt >> 2) & 3
            if np.isnan(value) and missing != 2:
                value = 0.0
            if (missing == 1 and abs(value) <= 1e-35) or (missing == 2 and np.isnan(value)):
                node = left[node] if (dt & 2) else right[node]
            elif value <= threshold[node]:
                node = left[node]
            else:
                node = right[node]
        out[i] = ~node


_TREE_FIELDS = ("num_leaves", "num_cat", "split_feature", "threshold", "decision_type", "left_child", "right_child")
#: The split arrays :func:`_tree_leaves` walks, with their types.
_SPLIT_ARRAYS = (
    ("split_feature", np.int64),
    ("threshold", np.float64),
    ("decision_type", np.int64),
    ("left_child", np.int64),
    ("right_child", np.int64),
)


def _parse_tree(text: str) -> dict[str, str] | None:
    """The fields of the single tree in a model text, or None when it cannot be
    walked here (categorical or linear)."""
    start = text.find("\nTree=")
    if start < 0:
        return None
    fields: dict[str, str] = {}
    for line in text[start + 1 :].split("\n")[1:]:
        if not line or line.startswith("Tree=") or line.startswith("end of trees"):
            break
        key, _, value = line.partition("=")
        if key in _TREE_FIELDS or key == "is_linear":
            fields[key] = value
    if fields.get("num_cat", "0") != "0" or fields.get("is_linear", "0") != "0":
        return None
    return fields


def _tree_splits(booster: "lgb.Booster", iteration: int) -> tuple[np.ndarray, ...] | None:
    """The split arrays of the single tree of ``iteration`` (empty for a tree
    without splits), or None when it cannot be walked here."""
    fields = _parse_tree(booster.model_to_string(start_iteration=iteration, num_iteration=1))
    if fields is None:
        return None
    if int(fields["num_leaves"]) == 1:
        return ()
    return tuple(np.array(fields[key].split(), dtype=dtype) for key, dtype in _SPLIT_ARRAYS)


def _leaf_index(
    booster: "lgb.Booster",
    raw: Any,
    iteration: int,
    pred_params: dict[str, Any],
    splits: tuple[np.ndarray, ...] | None,
) -> np.ndarray:
    """Leaf of every row of ``raw`` in the single tree of ``iteration``, whose
    :func:`_tree_splits` are ``splits`` (parsed once for all data sets).

    Dense float matrices walk the tree in a compiled loop (several times
    faster than LightGBM's row-by-row predictor); anything else, and trees
    with categorical splits, go through ``predict(pred_leaf=True)``.
    """
    if splits is not None and isinstance(raw, np.ndarray) and raw.ndim == 2 and raw.dtype in (np.float32, np.float64):
        out = np.zeros(raw.shape[0], dtype=np.int64)
        if splits:
            _tree_leaves(raw, *splits, out)
        return out
    leaf = booster.predict(raw, start_iteration=iteration, num_iteration=1, pred_leaf=True, **pred_params)
    return np.asarray(leaf).reshape(-1).astype(np.int64)


def _capture_scores(booster: "lgb.Booster", valid: bool) -> list[np.ndarray]:
    """The score arrays LightGBM hands to objectives and metrics this round.

    An evaluation function receives LightGBM's own per-round score buffer, so
    editing it in place changes what every later consumer sees this round.
    """
    box: list[np.ndarray] = []

    def grab(preds: np.ndarray, data: Any) -> list:
        box.append(preds)
        return []

    if valid:
        booster.eval_valid(grab)
    else:
        booster.eval_train(grab)
    return box


class _LeafRefit:
    """Callback that refits each new tree's leaves to residual percentiles.

    Installed before the first round, it wraps the booster's ``update``: after
    each tree it finds every row's leaf (walking the new tree over the raw
    features), sets every leaf to ``learning_rate`` times the percentile of
    its residuals, and adds the change to the scores LightGBM keeps for the
    training and validation data (which ``set_leaf_output`` leaves untouched)
    before the evaluation, callbacks or the next gradient read them.
    """

    before_iteration = True
    order = -(10**9)

    def __init__(self, loss: Quantile, data: Data, train_raw: Any, valid_raw: list[Any], num_threads: int | None):
        self.alpha = float(loss.alpha)
        self.single = not isinstance(loss, AbsoluteError)
        self.y = data.y.astype(np.float64)
        self.weight = data.weight
        self.train_raw = train_raw
        self.valid_raw = valid_raw
        self.pred_params = {} if num_threads is None else {"num_threads": int(num_threads)}
        self.booster: lgb.Booster | None = None

    def __call__(self, env: Any) -> None:
        if self.booster is None:
            self._install(env.model)

    def _install(self, booster: "lgb.Booster") -> None:
        if len(booster.valid_sets) != len(self.valid_raw):
            raise ValueError("leaf refit needs the raw data of every validation set")
        for ds, raw in zip(booster.valid_sets, self.valid_raw):
            if ds.num_data() != _n_rows(raw):
                raise ValueError("a validation set's raw data does not match its Dataset")
        self.booster = booster
        self.n_trees = booster.num_trees()
        self.train_corr = np.zeros(self.y.shape[0])
        self.valid_corr = [np.zeros(_n_rows(raw)) for raw in self.valid_raw]
        self.resid = np.empty(self.y.shape[0])
        self.checked = False
        self.orig_update = booster.update
        booster.update = self._update  # type: ignore[method-assign]

    def uninstall(self) -> None:
        if self.booster is not None:
            self.booster.__dict__.pop("update", None)
            self.booster = None

    def _update(self, train_set: Any = None, fobj: Any = None) -> bool:
        booster = self.booster
        np.subtract(self.y, _capture_scores(booster, valid=False)[0], out=self.resid)
        finished = self.orig_update(train_set=train_set, fobj=fobj)
        if booster.num_trees() > self.n_trees:
            self.n_trees = booster.num_trees()
            self._refit(booster, self.n_trees - 1, booster.current_iteration() - 1)
        self._patch(booster)
        return finished

    def _refit(self, booster: "lgb.Booster", tree: int, iteration: int) -> None:
        splits = _tree_splits(booster, iteration)
        leaf = _leaf_index(booster, self.train_raw, iteration, self.pred_params, splits)
        n_leaves = int(leaf.max()) + 1
        if n_leaves == 1:
            return  # LightGBM refits only trees with a split; so do we.
        q = _percentiles(self.resid, self.weight, leaf, n_leaves, self.alpha, self.single)
        old = np.array([booster.get_leaf_output(tree, j) for j in range(n_leaves)])
        # Read every round: a callback may reset the learning rate.
        new = q * float(_param(booster.params, _LR_ALIASES, 0.1))
        empty = np.isnan(new)
        new[empty] = old[empty]
        new[np.abs(new) <= _ZERO_THRESHOLD] = 0.0
        for j in range(n_leaves):
            booster.set_leaf_output(tree, j, float(new[j]))
        change = new - old
        self.train_corr += change[leaf]
        for corr, raw in zip(self.valid_corr, self.valid_raw):
            corr += change[_leaf_index(booster, raw, iteration, self.pred_params, splits)]

    def _patch(self, booster: "lgb.Booster") -> None:
        scores = _capture_scores(booster, valid=False)[0]
        scores += self.train_corr
        if not self.checked:
            # Once: the edit must land in the buffer LightGBM hands out.
            if _capture_scores(booster, valid=False)[0] is not scores:
                raise RuntimeError(
                    "this LightGBM version does not keep its per-round score buffer; leaf refit is unavailable "
                    "(pass refit_leaves=False)"
                )
            self.checked = True
        for buf, corr in zip(_capture_scores(booster, valid=True), self.valid_corr):
            buf += corr


def _n_rows(raw: Any) -> int:
    shape = getattr(raw, "shape", None)
    if shape is not None:
        return int(shape[0])
    return len(raw)


def _raw_data(ds: "lgb.Dataset", what: str) -> Any:
    """The raw feature matrix behind a Dataset (needed to find each row's leaf)."""
    raw = ds.data
    if ds.used_indices is not None:
        raise ValueError(f"leaf refit does not support Dataset subsets ({what})")
    if raw is None:
        raise ValueError(
            f"leaf refit needs the raw features of {what}, which were freed: build the Dataset with "
            "free_raw_data=False or pass it unconstructed (or pass refit_leaves=False)"
        )
    if isinstance(raw, (str, bytes)) or hasattr(raw, "__fspath__"):
        raise ValueError(f"leaf refit needs in-memory features; {what} was built from a file")
    return raw


# ---------------------------------------------------------------------------
# Start margin and loss record
# ---------------------------------------------------------------------------


def _check_start(loss: Loss, value: Any) -> np.ndarray:
    """A start margin as a float64 array of ``n_outputs`` values."""
    arr = as_float_array(np.atleast_1d(np.asarray(value, dtype=np.float64)), "init_score")
    if arr.shape != (loss.n_outputs,):
        raise ValueError(
            "init_score must be a number" + (f" or {loss.n_outputs} numbers" if loss.is_multiclass else "")
            + f" for {loss!r}; got shape {np.shape(value)}"
        )
    return arr


def _nonzero(start: np.ndarray) -> np.ndarray | None:
    """The start margin, or None where it is 0 everywhere (LightGBM's own start: nothing to add)."""
    return start if np.any(start) else None


def _loss_start(loss: Loss, data: Data) -> np.ndarray | None:
    """The loss's best constant on ``data`` (None where it is 0)."""
    return _nonzero(_check_start(loss, data.best_constant(loss)))


def _own_init_score(ds: "lgb.Dataset") -> Any:
    return ds.get_init_score() if _constructed(ds) else ds.init_score


def _dataset_rows(ds: "lgb.Dataset") -> int:
    if not _constructed(ds) and ds.label is not None:
        return _n_rows(ds.label)
    return ds.construct().num_data()


def _full_init_score(start: np.ndarray, n_rows: int) -> np.ndarray:
    if start.shape[0] == 1:
        return np.full(n_rows, start[0])
    return np.tile(start, (n_rows, 1))


def _first_iteration_leaves(booster: "lgb.Booster", n_trees: int) -> list[int]:
    text = booster.model_to_string(num_iteration=1)
    counts = [int(v) for v in re.findall(r"^num_leaves=(\d+)$", text, flags=re.MULTILINE)]
    if len(counts) < n_trees:
        raise ValueError("the booster has no first iteration to hold the start margin")
    return counts[:n_trees]


def _fold_start(booster: "lgb.Booster", start: np.ndarray) -> None:
    """Add the start margin to every leaf of the first iteration's trees (one per class)."""
    for tree, n_leaves in enumerate(_first_iteration_leaves(booster, start.shape[0])):
        if start[tree] == 0.0:
            continue
        for leaf in range(n_leaves):
            booster.set_leaf_output(tree, leaf, booster.get_leaf_output(tree, leaf) + float(start[tree]))


def _constant_booster(
    feature_names: Sequence[str], start: np.ndarray, params: Mapping[str, Any], pandas_categorical: Any = None
) -> "lgb.Booster":
    """A model of one iteration whose trees (one per output) are single leaves
    holding ``start``: what LightGBM's built-in objectives train when no
    feature can be split on."""
    k = start.shape[0]
    rows = max(k, 2)
    probe = {"objective": "regression", "verbose": -1, "num_threads": 1, "min_data_in_leaf": 1,
             "min_data_in_bin": 1, "boost_from_average": False}
    if k > 1:
        probe.update(objective="multiclass", num_class=k)
    # All-zero features: LightGBM keeps none and stores a constant tree per output.
    ds = lgb.Dataset(np.zeros((rows, len(feature_names))), label=np.arange(rows) % k, feature_name=list(feature_names))
    booster = lgb.train(probe, ds, 1)
    if booster.num_trees() != k:
        raise RuntimeError(f"a constant LightGBM model needs {k} trees, got {booster.num_trees()}")
    for tree in range(k):
        booster.set_leaf_output(tree, 0, float(start[tree]))
    booster.free_dataset()
    booster.pandas_categorical = pandas_categorical
    booster.params = {key: value for key, value in params.items() if key != "objective"}
    return booster


def _constant_from(exc: NoUsableFeaturesError, ds: "lgb.Dataset", loss: Loss, start: np.ndarray | None,
                   params: Mapping[str, Any]) -> "lgb.Booster":
    import warnings

    warnings.warn(
        f"{_NO_FEATURES}: the model is the constant start margin, as with LightGBM's built-in objectives",
        UserWarning,
        stacklevel=3,
    )
    full = np.zeros(loss.n_outputs) if start is None else start
    return _constant_booster(ds.get_feature_name(), full, params, getattr(ds, "pandas_categorical", None))


#: The loss record's line in the model's parameter section, which LightGBM
#: keeps verbatim through loading and saving (it logs "Ignoring unrecognized
#: parameter" when it reads the parameters of a loaded model).
_RECORD_KEY = "gbm_objectives_loss"
#: Where a booster kept for training holds the record (its model text cannot).
_KEPT_RECORD = "_gbm_objectives_loss"
#: LightGBM's own objectives whose output transform is each link's inverse.
_LINK_OBJECTIVES = {"identity": "regression", "log": "poisson", "logit": "cross_entropy", "softmax": "multiclass"}


#: The smallest ``poisson_max_delta_step`` recorded: LightGBM requires it to
#: be > 0, and the smallest normal double changes no Hessian
#: ``exp(f + step)`` (``f + step == f`` in double precision for every
#: ``|f| >= 1e-292``), so it stands for a loss without the safeguard.
_MIN_POISSON_STEP = float(np.finfo(np.float64).tiny)


def _poisson_step(loss: Loss) -> float:
    """LightGBM's ``poisson_max_delta_step`` of a Poisson loss: its
    ``max_delta_step`` (Hessian ``w exp(f + max_delta_step)``, as LightGBM's),
    0 where it has none, raised to the smallest value LightGBM accepts."""
    return max(float(getattr(loss, "max_delta_step", 0.0)), _MIN_POISSON_STEP)


def _host_objective(loss: Loss) -> dict[str, Any]:
    """LightGBM parameters of a built-in objective whose output transform is the
    loss's inverse link: the loss itself where LightGBM has it, otherwise the
    plain objective of that link."""
    name = loss.name
    if name == "tweedie":
        power = float(loss.power)  # type: ignore[attr-defined]
        # LightGBM's tweedie_variance_power must be < 2; power 2 is the gamma deviance.
        return {"objective": "gamma"} if power >= 2.0 else {"objective": "tweedie", "tweedie_variance_power": power}
    if name == "poisson":
        return {"objective": "poisson", "poisson_max_delta_step": _poisson_step(loss)}
    if name == "gamma":
        return {"objective": name}
    if loss.is_multiclass:
        return {"objective": "multiclass", "num_class": loss.n_outputs}
    if name == "squared_error":
        return {"objective": "regression"}
    if name == "absolute_error":
        return {"objective": "regression_l1"}
    if name == "quantile":
        return {"objective": "quantile", "alpha": float(loss.alpha)}  # type: ignore[attr-defined]
    if name == "huber":
        return {"objective": "huber", "alpha": float(loss.delta)}  # type: ignore[attr-defined]
    if name == "logistic" and not loss.params:
        return {"objective": "binary"}
    link = loss.link.name
    if link not in _LINK_OBJECTIVES:
        raise ValueError(f"{loss!r} has a {link} link, which no LightGBM objective inverts")
    return {"objective": _LINK_OBJECTIVES[link]}


def _objective_line(host: Mapping[str, Any]) -> str:
    """The model header's ``objective=`` value, as LightGBM writes it."""
    name = host["objective"]
    if name == "binary":
        return "binary sigmoid:1"
    if name == "multiclass":
        return f"multiclass num_class:{host['num_class']}"
    return str(name)


def _encode_loss(loss: Loss) -> str:
    # Parameter values may not hold ':' ']' or quotes, hence base64.
    return base64.urlsafe_b64encode(loss_to_json(loss).encode()).decode().rstrip("=")


def _decode_loss(token: str) -> Loss:
    return loss_from_json(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode())


def _legacy_loss(value: Any) -> Loss | None:
    """The loss recorded as ``objective`` by earlier versions (``gbm_objectives.<name>.<base64>``)."""
    if not isinstance(value, str) or not value.startswith(LOSS_PREFIX):
        return None
    return _decode_loss(value.rsplit(".", 1)[-1])


def _format_param(value: Any) -> str:
    return repr(float(value)) if isinstance(value, float) else str(value)


def _model_text_with_loss(text: str, loss: Loss) -> str:
    """The model text with the host objective in its header and parameters and the loss record."""
    host = _host_objective(loss)
    ends = [at for at in (text.find(mark) for mark in ("\ntree_sizes=", "\nTree=", "\nend of trees")) if at >= 0]
    header_end = min(ends) if ends else len(text)
    head, rest = text[:header_end], text[header_end:]
    line = f"objective={_objective_line(host)}"
    head, n = re.subn(r"^objective=.*$", line, head, count=1, flags=re.MULTILINE)
    if n == 0:
        head, n = re.subn(r"^(max_feature_idx=.*)$", r"\1\n" + line, head, count=1, flags=re.MULTILINE)
        if n == 0:
            raise RuntimeError("unexpected LightGBM model text: no max_feature_idx line")
    start = rest.find("\nparameters:\n")
    stop = rest.find("\nend of parameters", start)
    if start >= 0 and stop >= 0:
        before, params_text, after = rest[:start], rest[start + len("\nparameters:\n") : stop], rest[stop:]
    else:
        # No parameter section (a model text written without one): add it
        # where LightGBM writes it, before the pandas line.
        at = rest.find("\npandas_categorical:")
        at = len(rest) if at < 0 else at
        before, params_text, after = rest[:at], "", "\nend of parameters\n" + rest[at:]
    lines = [ln for ln in params_text.split("\n") if ln and not ln.startswith(f"[{_RECORD_KEY}:")]
    values = {key: _format_param(value) for key, value in host.items()}
    for i, ln in enumerate(lines):
        key = ln[1:].split(":", 1)[0]
        if key in values:
            lines[i] = f"[{key}: {values.pop(key)}]"
    lines[0:0] = [f"[{key}: {value}]" for key, value in values.items()]
    lines.append(f"[{_RECORD_KEY}: {_encode_loss(loss)}]")
    return head + before + "\nparameters:\n" + "\n".join(lines) + after


def _record_loss(booster: "lgb.Booster", loss: Loss, *, in_model: bool) -> None:
    """Give the booster the host objective of ``loss`` (so LightGBM predicts the
    response scale) and record the loss.

    ``in_model``: rewrite the model text (header objective, parameters, record
    line), so files, strings, pickles and copies carry both. Otherwise (a
    booster kept for training) switch the live booster's objective to the
    link's plain objective, which LightGBM writes into saved models; the loss
    itself is then recoverable from it where LightGBM has the loss.
    """
    host = _host_objective(loss)
    if in_model:
        booster.model_from_string(_model_text_with_loss(booster.model_to_string(num_iteration=-1), loss))
        booster.__dict__.pop(_KEPT_RECORD, None)
    else:
        # LightGBM takes custom gradients only without an objective: a later
        # update(fobj=...) sets it back to none (raw scores, as LightGBM's
        # own custom-objective boosters give).
        booster.reset_parameter(dict(host))
        # A plain string, so a pickled booster loads without this library.
        booster.__dict__[_KEPT_RECORD] = _encode_loss(loss)
    # A real objective now: LightGBM's refit() may use it.
    booster.__dict__["_Booster__set_objective_to_none"] = False
    params = {key: value for key, value in dict(booster.params or {}).items() if key not in _OBJECTIVE_ALIASES}
    params.update(host)
    booster.params = params


def _model_head(booster: "lgb.Booster") -> str:
    """The model text without trees: header and parameters (cheap for large models)."""
    return booster.model_to_string(start_iteration=booster.current_iteration(), num_iteration=1)


def _loss_of_objective(objective: str, params: Mapping[str, str]) -> Loss | None:
    """The library loss equal to a LightGBM objective, where there is one."""
    name = objective.split(" ")[0]
    if name == "tweedie":
        return get_loss("tweedie", power=float(params.get("tweedie_variance_power", 1.5)))
    if name == "poisson":
        return _poisson_of_step(float(params.get("poisson_max_delta_step", 0.7)))
    if name == "gamma":
        return get_loss(name)
    if name == "regression" and "sqrt" not in objective:
        return get_loss("squared_error")
    if name == "regression_l1":
        return get_loss("absolute_error")
    if name == "quantile":
        return get_loss("quantile", alpha=float(params.get("alpha", 0.9)))
    if name == "huber":
        return get_loss("huber", delta=float(params.get("alpha", 0.9)))
    if name == "binary" and re.search(r"sigmoid:1(\.0*)?(\s|$)", objective):
        return get_loss("logistic")
    if name == "multiclass":
        k = re.search(r"num_class:(\d+)", objective)
        return get_loss("softmax", num_class=int(k.group(1))) if k else None
    return None


def _poisson_of_step(step: float) -> Loss:
    """The library's Poisson loss with LightGBM's ``poisson_max_delta_step``
    (the plain Poisson loss, same link and deviance, where the library's has
    no such setting)."""
    if hasattr(get_loss("poisson"), "max_delta_step"):
        # The smallest step LightGBM accepts stands for a loss without the safeguard.
        return get_loss("poisson", max_delta_step=step if step > _MIN_POISSON_STEP else 0.0)
    return get_loss("poisson")


def booster_loss(booster: "lgb.Booster") -> Loss | None:
    """The loss a booster was trained on by this library (None if unknown).

    Read from the record in the model (so reloaded files and copies know it);
    a model without one, e.g. continued by plain LightGBM, gives the loss
    equal to its LightGBM objective where the library has one.
    """
    legacy = _legacy_loss((getattr(booster, "params", None) or {}).get("objective"))
    if legacy is not None:
        return legacy
    text = _model_head(booster)
    found = re.search(rf"^\[{_RECORD_KEY}: ([A-Za-z0-9_-]+)\]$", text, flags=re.MULTILINE)
    if found:
        return _decode_loss(found.group(1))
    kept = booster.__dict__.get(_KEPT_RECORD)
    if isinstance(kept, str):
        return _decode_loss(kept)
    found = re.search(r"^\[objective: (gbm_objectives\.[^\]\n]*)\]$", text, flags=re.MULTILINE)
    if found:
        return _legacy_loss(found.group(1))
    header = re.search(r"^objective=(.*)$", text, flags=re.MULTILINE)
    if header is None:
        return None
    params = dict(re.findall(r"^\[(\w+): ([^\]\n]*)\]$", text, flags=re.MULTILINE))
    return _loss_of_objective(header.group(1), params)


# ---------------------------------------------------------------------------
# Training and prediction
# ---------------------------------------------------------------------------


def _set_num_class(params: dict[str, Any], loss: Loss) -> None:
    for name in _NUM_CLASS_ALIASES:
        params.pop(name, None)
    params["num_class"] = loss.n_outputs


def _builtin_metrics(value: Any) -> list[str]:
    """LightGBM metric names in a ``metric`` parameter (none-like entries dropped)."""
    if value is None:
        return []
    values = value.split(",") if isinstance(value, str) else list(value)
    return [str(v).strip() for v in values if not (isinstance(v, str) and v.strip().lower() in _NONE_METRICS)]


def _check_builtin_metrics(loss: Loss, names: Sequence[str]) -> None:
    """Refuse LightGBM metrics that would see margins instead of predictions.

    Under a custom objective LightGBM applies no output transform before its
    metrics, so beside a loss with a log, logit or softmax link they would
    score margins (an ``l1`` of log-means) without a word.
    """
    if names and loss.link.name != "identity":
        raise ValueError(
            f"LightGBM's metric(s) {', '.join(map(repr, names))} would be computed on the raw margins of "
            f"{loss.name} ({loss.link.name} link): under a custom objective LightGBM applies no output "
            "transform to its metrics. Remove them (the loss's own metric is reported as "
            f"{metric_name(loss)!r}); for another measure pass a feval= function that applies the "
            "loss's inverse link (loss.predict) to the scores first"
        )


def _check_refit_params(loss: Loss, params: Mapping[str, Any]) -> None:
    """Reject the settings the leaf refit cannot honour."""
    if _has_param(params, _METRIC_ALIASES) and not _metric_is_none(_param(params, _METRIC_ALIASES)):
        raise ValueError(
            "built-in metrics are computed from LightGBM's internal scores, which do not see the leaf refit "
            f"of {loss.name}; remove the metric parameter (the loss's own metric is reported) or set "
            "refit_leaves=False"
        )
    boosting = str(_param(params, _BOOSTING_ALIASES, "gbdt")).lower()
    if boosting in _RF_NAMES:
        return  # _check_boosting refuses it with its own message
    if boosting not in ("gbdt", "gbrt"):
        raise ValueError(f"leaf refit needs boosting='gbdt', got {boosting!r} (or set refit_leaves=False)")


_RF_NAMES = ("rf", "random_forest")


_UNBALANCE_ALIASES = ("is_unbalance", "unbalance", "unbalanced_sets")


def _is_true(value: Any) -> bool:
    """A LightGBM boolean parameter as LightGBM reads it (bools, 0/1, "true"/"false")."""
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "+")
    return bool(value)


def _check_class_balance(params: Mapping[str, Any]) -> None:
    """Refuse ``is_unbalance`` and ``scale_pos_weight``.

    LightGBM applies them only inside its built-in binary objectives, so
    beside a library loss they would be ignored without a word; row weights
    say the same to every loss.
    """
    unbalance = _param(params, _UNBALANCE_ALIASES)
    spw = params.get("scale_pos_weight")
    if unbalance is not None and _is_true(unbalance):
        raise ValueError(
            "is_unbalance is applied only by LightGBM's built-in binary objective and would be ignored with a "
            "library loss; weight the classes instead: class_weight='balanced' (LGBMClassifier) or "
            "sample_weight / the Dataset's weight"
        )
    if spw is not None and float(spw) != 1.0:
        raise ValueError(
            f"scale_pos_weight={spw!r} is applied only by LightGBM's built-in binary objective and would be "
            f"ignored with a library loss; weight the positive rows instead: class_weight={{0: 1, 1: {float(spw)!r}}} "
            "(LGBMClassifier, for classes 0 and 1) or sample_weight / the Dataset's weight"
        )


def _check_boosting(params: Mapping[str, Any]) -> None:
    boosting = str(_param(params, _BOOSTING_ALIASES, "gbdt")).lower()
    if boosting in _RF_NAMES:
        # LightGBM's random forest refuses any init_score (the start margin)
        # and fits every tree to gradients at its own start, which it
        # computes only for built-in objectives.
        raise ValueError(
            f"boosting={boosting!r} is not supported with a library loss: LightGBM's random forest takes no "
            "start margin and computes its gradients only for built-in objectives; use boosting='gbdt' "
            "(with bagging_fraction / feature_fraction for a forest-like model)"
        )


#: LightGBM parameters that define the loss of its built-in objectives (none
#: has an alias): LightGBM's default, and what sets it with a library loss.
_LOSS_DEFINING: dict[str, tuple[Any, str]] = {
    "alpha": (0.9, "the loss's alpha (quantile) or delta (huber), e.g. loss='quantile(alpha=0.1)'"),
    "tweedie_variance_power": (1.5, "the loss's power, e.g. get_loss('tweedie', power=1.9) or loss='tweedie(power=1.9)'"),
    "poisson_max_delta_step": (0.7, "the loss's max_delta_step (poisson)"),
    "fair_c": (1.0, "a library loss with that shape (LightGBM's fair loss has none)"),
    "sigmoid": (1.0, "a library loss with that link (LightGBM's binary sigmoid scale has none)"),
    "reg_sqrt": (False, "a library loss fitted to sqrt(y) (LightGBM's reg_sqrt has none)"),
}


def _same_setting(value: Any, expected: Any) -> bool:
    if isinstance(expected, bool):
        return _is_true(value) == expected
    try:
        # atol: a poisson_max_delta_step of 0 is the smallest step recorded for it.
        return bool(np.isclose(float(value), float(expected), rtol=1e-12, atol=_MIN_POISSON_STEP))
    except (TypeError, ValueError):
        return False


def _check_loss_params(loss: Loss, params: Mapping[str, Any]) -> None:
    """Refuse LightGBM parameters that would change the loss, had LightGBM's
    built-in objective been used: the library's loss defines the gradients, so
    they would be ignored (or silently replaced by the loss's own value in the
    model's host objective).

    A parameter the loss's host objective carries must equal the loss's
    value; any other must keep LightGBM's default, which changes nothing.
    """
    host = _host_objective(loss)
    for key, (default, instead) in _LOSS_DEFINING.items():
        value = params.get(key)
        if value is None:
            continue
        if key in host:
            if not _same_setting(value, host[key]):
                raise ValueError(
                    f"{key}={value!r} conflicts with {loss!r}, which sets LightGBM's {key} to {host[key]!r}; "
                    f"the loss defines it: set {instead} instead of {key}"
                )
        elif not _same_setting(value, default):
            raise ValueError(
                f"{key}={value!r} changes only LightGBM's built-in objectives and would be ignored with "
                f"{loss!r}; remove it, or set {instead}"
            )


def _boost_from_average(params: Mapping[str, Any]) -> bool:
    """LightGBM's ``boost_from_average`` (default True): False starts at 0, as
    LightGBM's built-in objectives do, instead of the loss's best constant."""
    value = params.get("boost_from_average")
    return True if value is None else _is_true(value)


def _prepare_params(loss: Loss, params: Mapping[str, Any] | None, refit: bool) -> dict[str, Any]:
    if params is None:
        params = {}
    if not isinstance(params, Mapping):
        raise ValueError(f"params must be a dict, got {type(params).__name__}")
    out = dict(params)
    if _has_param(out, _OBJECTIVE_ALIASES):
        raise ValueError("params must not set the objective: it comes from the loss")
    k = _param(out, _NUM_CLASS_ALIASES)
    if loss.is_multiclass:
        if k is not None and int(k) != loss.n_outputs:
            raise ValueError(f"params num_class={k} does not match {loss!r}")
        _set_num_class(out, loss)
    elif k is not None and int(k) != 1:
        raise ValueError(f"{loss!r} is single-output; params num_class={k} must be removed")
    if _param(out, _LINEAR_TREE_ALIASES, False) in (True, 1, "true", "True"):
        raise ValueError("linear_tree is not supported: the start margin and leaf refit set constant leaf values")
    _check_boosting(out)
    _check_class_balance(out)
    _check_loss_params(loss, out)
    out.update({key: value for key, value in _host_objective(loss).items() if key in out and key in _LOSS_DEFINING})
    _check_builtin_metrics(loss, _builtin_metrics(_param(out, _METRIC_ALIASES)))
    if refit:
        _check_refit_params(loss, out)
    if not _has_param(out, _METRIC_ALIASES):
        out["metric"] = "None"
    return out


def train(
    loss: Loss | str,
    params: Mapping[str, Any] | None,
    train_set: "lgb.Dataset",
    num_boost_round: int = 100,
    *,
    valid_sets: Sequence["lgb.Dataset"] | None = None,
    valid_names: Sequence[str] | None = None,
    init_score: float | Sequence[float] | None = None,
    refit_leaves: bool = True,
    feval: Callable | Sequence[Callable] | None = None,
    callbacks: Sequence[Callable] | None = None,
    **kwargs: Any,
) -> "lgb.Booster":
    """Train a LightGBM booster on ``loss``: :func:`lightgbm.train` with the loss wired in.

    Parameters
    ----------
    loss : Loss or str
    params : dict
        LightGBM parameters without ``objective`` (it comes from the loss).
        ``num_class`` is filled in for multiclass losses and must match if
        given. ``metric`` defaults to ``"None"``: the loss's own metric is
        reported on every validation set as ``"gbm_" + loss.name``. LightGBM's
        built-in metrics see raw scores under a custom objective, so they are
        accepted only beside identity-link losses (whose scores are the
        response) and refused otherwise. Parameters that define the loss of
        LightGBM's built-in objectives (``alpha``, ``tweedie_variance_power``,
        ``poisson_max_delta_step``, ``fair_c``, ``sigmoid``, ``reg_sqrt``)
        must agree with the loss (or keep LightGBM's default where the loss
        has no such setting) and raise ValueError otherwise: set the loss's
        own parameter instead. ``is_unbalance`` and
        ``scale_pos_weight`` act only in LightGBM's built-in binary objective
        and raise ValueError: give the rows weights (the Dataset's
        ``weight``) instead.
    train_set : lightgbm.Dataset
        Labels, optional weights, and query groups for grouped losses. If it
        already has an ``init_score`` (per-row offsets), training starts from
        those and no start margin is added, as with LightGBM's built-ins.
    num_boost_round : int, default 100
    valid_sets, valid_names : optional
        Validation Datasets (built with ``reference=train_set``) and names;
        they start from the same margin as ``train_set``.
    init_score : float or sequence of float, optional
        Start margin (one raw score, ``num_class`` values for multiclass).
        Default: ``loss.init_score(labels, weights)``, the best constant. It
        is folded into the first iteration's leaves, so the model predicts
        it; 0 (or ``params["boost_from_average"] = False``, as with
        LightGBM's built-ins) starts from LightGBM's default 0. Not with ``init_model``
        (a continued model starts from that model's predictions, which hold
        its start already).
    refit_leaves : bool, default True
        Absolute error and quantile losses: after each tree set every leaf to
        ``learning_rate`` times LightGBM's (weighted) percentile of its
        residuals, as LightGBM's ``l1`` / ``quantile`` objectives do. Needs
        in-memory features (Datasets built with ``free_raw_data=False`` or
        not yet constructed) and ``boosting="gbdt"``; with bagging every row,
        not only the bag, enters the percentiles. False keeps plain Newton
        leaves with the loss's own curvature. With the refit the Hessian
        only shapes the splits and is one unit per row (times its weight), as
        in LightGBM's built-ins.
    feval : callable or list of callables, optional
        Extra evaluation functions, after the loss's own metric.
    callbacks : list of callables, optional
    **kwargs
        Passed to :func:`lightgbm.train` (``init_model``,
        ``keep_training_booster``).

    Returns
    -------
    lightgbm.Booster
        ``booster.predict(X)`` returns the response scale (through the host
        objective's output transform) and ``raw_score=True`` the raw scores,
        which include the start margin. With ``keep_training_booster=True``
        the booster's objective is the host objective too; training it on
        with ``update(fobj=...)`` sets LightGBM's objective back to none.
    """
    loss = as_loss(loss)
    if not isinstance(train_set, lgb.Dataset):
        raise ValueError(f"train_set must be a lightgbm.Dataset, got {type(train_set).__name__}")
    if isinstance(valid_sets, lgb.Dataset):
        valid_sets = [valid_sets]
    valid_sets = list(valid_sets or [])
    for ds in valid_sets:
        if not isinstance(ds, lgb.Dataset):
            raise ValueError(f"valid_sets must hold lightgbm.Dataset objects, got {type(ds).__name__}")
    if "fobj" in kwargs:
        raise ValueError("the objective comes from the loss; train() does not accept fobj=")
    refit = refits(loss, refit_leaves)
    booster_params = _prepare_params(loss, params, refit)
    init_model = kwargs.get("init_model")

    # Labels are checked (and the start computed) before LightGBM builds anything.
    data = _python_side_data(loss, train_set, "train_set")
    others = [ds for ds in valid_sets if ds is not train_set]
    for i, ds in enumerate(others):
        if _constructed(ds) or ds.label is not None:
            _python_side_data(loss, ds, f"valid_sets[{i}]")

    has_offsets = _own_init_score(train_set) is not None
    if init_score is not None and has_offsets:
        raise ValueError("train_set already has an init_score; pass init_score= or the Dataset's, not both")
    if init_score is not None and init_model is not None:
        # LightGBM starts a continued model from init_model's own predictions,
        # which already hold its start margin; folding another start into the
        # first iteration's leaves would shift the whole model.
        raise ValueError(
            "init_score= cannot be combined with init_model=: training continues from init_model's "
            "predictions, which already include its start margin; drop init_score="
        )
    if init_score is not None:
        start = _nonzero(_check_start(loss, init_score))
    elif has_offsets or init_model is not None or not _boost_from_average(booster_params):
        start = None
    else:
        start = _loss_start(loss, data)

    cbs = [*(callbacks or []), _FeatureCheck()]
    refit_cb = None
    if refit:
        refit_cb = _LeafRefit(
            loss,
            data,
            _raw_data(train_set, "train_set"),
            [_raw_data(ds, f"valid set {i}") for i, ds in enumerate(others)],
            _param(booster_params, _THREAD_ALIASES),
        )
        cbs.append(refit_cb)
    fevals = [LightGBMMetric(loss)]
    if feval is not None:
        fevals += list(feval) if isinstance(feval, (list, tuple)) else [feval]
    # The refit is chosen here (refit_leaves=False is the user's choice): no warning.
    booster_params["objective"] = LightGBMObjective(loss, row_curvature=refit)._managed()

    patched: list[lgb.Dataset] = []
    constant = None
    try:
        if start is not None:
            for ds in [train_set, *others]:
                if ds is train_set or _own_init_score(ds) is None:
                    ds.set_init_score(_full_init_score(start, _dataset_rows(ds)))
                    patched.append(ds)
        booster = lgb.train(
            booster_params,
            train_set,
            num_boost_round,
            valid_sets=valid_sets or None,
            valid_names=list(valid_names) if valid_names is not None else None,
            feval=fevals,
            callbacks=cbs,
            **kwargs,
        )
    except NoUsableFeaturesError as exc:
        if init_model is not None:
            raise
        booster = constant = _constant_from(exc, train_set, loss, start, booster_params)
    finally:
        if refit_cb is not None:
            refit_cb.uninstall()
        for ds in patched:
            ds.init_score = None
            if _constructed(ds):
                ds.set_field("init_score", None)
    if start is not None and constant is None:
        _fold_start(booster, start)
    _record_loss(booster, loss, in_model=not kwargs.get("keep_training_booster", False))
    return booster


def cv(
    loss: Loss | str,
    params: Mapping[str, Any] | None,
    train_set: "lgb.Dataset",
    num_boost_round: int = 100,
    *,
    nfold: int = 5,
    folds: Any = None,
    stratified: bool | None = None,
    init_score: float | Sequence[float] | None = None,
    feval: Callable | Sequence[Callable] | None = None,
    fpreproc: Callable | None = None,
    callbacks: Sequence[Callable] | None = None,
    return_cvbooster: bool = False,
    **kwargs: Any,
) -> dict[str, Any]:
    """Cross-validate a LightGBM booster on ``loss``: :func:`lightgbm.cv` with the loss wired in.

    Every fold trains as :func:`train` would on its training part: from the
    loss's best constant on that part (its validation part starts from the
    same margin), with the loss's objective and its metric, reported as
    ``"gbm_" + loss.name``. Arguments are in :func:`train`'s order; the
    result is what :func:`lightgbm.cv` returns (``"valid gbm_tweedie-mean"``,
    ``"valid gbm_tweedie-stdv"``, ... and ``"cvbooster"`` on request, whose
    boosters hold their fold's start margin, the host objective and the loss
    record, as models from :func:`train` do).

    Parameters
    ----------
    loss : Loss or str
    params : dict
        LightGBM parameters without ``objective``, as for :func:`train`.
    train_set : lightgbm.Dataset
    num_boost_round : int, default 100
    nfold : int, default 5
    folds : optional
        As :func:`lightgbm.cv`. Grouped losses default to folds that keep
        every query group whole.
    stratified : bool, optional
        Default True for logit and softmax losses (classification), else False.
    init_score : float or sequence of float, optional
        One start margin for every fold instead of each fold's best constant.
    feval : callable or list of callables, optional
        Extra evaluation functions, after the loss's own metric.
    fpreproc : callable, optional
        As :func:`lightgbm.cv`; runs before each fold's start margin is set.
    callbacks : list of callables, optional
    return_cvbooster : bool, default False
    **kwargs
        Passed to :func:`lightgbm.cv` (``shuffle``, ``seed``,
        ``eval_train_metric``, ``init_model``).

    Notes
    -----
    Absolute error and quantile losses train without the leaf refit here
    (folds are Dataset subsets; the refit needs each fold's raw features), so
    fold scores can be worse than :func:`train`'s model: a
    :class:`LeafRefitWarning` says so, once per process and loss.
    """
    loss = as_loss(loss)
    if not isinstance(train_set, lgb.Dataset):
        raise ValueError(f"train_set must be a lightgbm.Dataset, got {type(train_set).__name__}")
    if "fobj" in kwargs:
        raise ValueError("the objective comes from the loss; cv() does not accept fobj=")
    if not isinstance(return_cvbooster, bool):
        raise ValueError(f"return_cvbooster must be True or False, got {return_cvbooster!r}")
    booster_params = _prepare_params(loss, params, refit=False)
    warn_no_refit(loss, "gbm_objectives.lightgbm.cv (its folds are Dataset subsets without raw features)")
    _python_side_data(loss, train_set, "train_set")
    if init_score is not None and _own_init_score(train_set) is not None:
        raise ValueError("train_set already has an init_score; pass init_score= or the Dataset's, not both")
    if init_score is not None and kwargs.get("init_model") is not None:
        raise ValueError("init_score= cannot be combined with init_model=: the folds start from init_model")
    fixed = None if init_score is None else _check_start(loss, init_score)
    per_fold = (
        init_score is None
        and _own_init_score(train_set) is None
        and kwargs.get("init_model") is None
        and _boost_from_average(booster_params)
    )
    if stratified is None:
        stratified = loss.link.name in ("logit", "softmax")
    if folds is None and loss.needs_group:
        folds = _group_folds(train_set, nfold, bool(kwargs.get("shuffle", True)), int(kwargs.get("seed", 0)))
    starts: list[np.ndarray | None] = []

    def preprocess(dtrain: "lgb.Dataset", dvalid: "lgb.Dataset", tparams: dict) -> tuple:
        if fpreproc is not None:
            dtrain, dvalid, tparams = fpreproc(dtrain, dvalid, tparams)
        dtrain.construct()
        dvalid.construct()
        _check_usable_features(dtrain)
        if per_fold:
            start = _loss_start(loss, _dataset_data(loss, dtrain, "fold training data"))
        else:
            start = None if fixed is None else _nonzero(fixed)
        if start is not None:
            for ds in (dtrain, dvalid):
                ds.set_init_score(_full_init_score(start, ds.num_data()))
        starts.append(start)
        return dtrain, dvalid, tparams

    fevals = [LightGBMMetric(loss)]
    if feval is not None:
        fevals += list(feval) if isinstance(feval, (list, tuple)) else [feval]
    booster_params["objective"] = LightGBMObjective(loss)._managed()
    result = lgb.cv(
        booster_params,
        train_set,
        num_boost_round,
        folds=folds,
        nfold=nfold,
        stratified=stratified,
        feval=fevals,
        fpreproc=preprocess,
        callbacks=list(callbacks or []),
        return_cvbooster=return_cvbooster,
        **kwargs,
    )
    if return_cvbooster:
        for booster, start in zip(result["cvbooster"].boosters, starts):
            if start is not None:
                _fold_start(booster, start)
            _record_loss(booster, loss, in_model=True)
    return result


def _group_folds(ds: "lgb.Dataset", nfold: int, shuffle: bool, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """K folds of whole query groups (rows of a group stay in one fold)."""
    sizes = ds.get_group() if _constructed(ds) else ds.group
    if sizes is None:
        raise ValueError(f"{_GROUP_HINT} for cv of a grouped loss")
    sizes = np.asarray(sizes, dtype=np.int64).reshape(-1)
    if nfold < 2 or nfold > sizes.shape[0]:
        raise ValueError(f"nfold must be between 2 and the number of query groups ({sizes.shape[0]}), got {nfold}")
    order = np.random.RandomState(seed).permutation(sizes.shape[0]) if shuffle else np.arange(sizes.shape[0])
    bounds = np.concatenate(([0], np.cumsum(sizes)))
    out = []
    for part in np.array_split(order, nfold):
        test = np.zeros(bounds[-1], dtype=bool)
        for g in part:
            test[bounds[g] : bounds[g + 1]] = True
        out.append((np.flatnonzero(~test), np.flatnonzero(test)))
    return out


def refit(
    booster: "lgb.Booster",
    data: Any,
    label: Any,
    *,
    loss: Loss | str | None = None,
    weight: Any = None,
    decay_rate: float = 0.9,
) -> "lgb.Booster":
    """:meth:`lightgbm.Booster.refit` with the loss's own gradients.

    LightGBM's refit takes its gradients from the model's objective, which
    for a library model is the host objective (the loss itself only where
    LightGBM has it). This does LightGBM's refit with the loss: every tree
    keeps its structure; iteration by iteration, from raw score 0 as in
    LightGBM, each leaf becomes ``decay_rate * old + (1 - decay_rate) *
    shrinkage * newton`` with ``newton = -T_l1(sum g) / (sum h + lambda_l2)``
    (clipped to ``max_delta_step``) over the rows of ``data`` in that leaf.

    Parameters
    ----------
    booster : lightgbm.Booster
    data : array-like
        Features of the rows to refit on.
    label : array-like
    loss : Loss or str, optional
        Default: the loss recorded in the model.
    weight : array-like, optional
    decay_rate : float in [0, 1], default 0.9

    Returns
    -------
    lightgbm.Booster
        A new booster (the given one is unchanged) with the loss record.
    """
    if not isinstance(booster, lgb.Booster):
        raise ValueError(f"booster must be a lightgbm.Booster, got {type(booster).__name__}")
    if loss is None:
        loss = booster_loss(booster)
        if loss is None:
            raise ValueError("this booster has no recorded gbm_objectives loss; pass loss=")
    else:
        loss = as_loss(loss)
    if loss.needs_group:
        raise ValueError(f"refit of {loss.name} is not supported (it needs query groups)")
    if isinstance(decay_rate, bool) or not isinstance(decay_rate, (int, float)) or not 0.0 <= decay_rate <= 1.0:
        raise ValueError(f"decay_rate must be a number in [0, 1], got {decay_rate!r}")
    # As LightGBM stores them: float32 labels and weights.
    w32 = None if weight is None else np.asarray(weight, dtype=np.float32).reshape(-1)
    rows = Data(loss, np.asarray(label, dtype=np.float32).reshape(-1), w32, None, "label")
    leaf = np.asarray(booster.predict(data, pred_leaf=True), dtype=np.int64)
    n = rows.y.shape[0]
    if leaf.ndim == 1:
        leaf = leaf.reshape(-1, 1)
    if leaf.shape[0] != n:
        raise ValueError(f"data has {leaf.shape[0]} rows but label has {n}")
    k = loss.n_outputs
    trees = booster.dump_model()["tree_info"]
    if len(trees) % k:
        raise ValueError(f"the booster's {len(trees)} trees do not match the {k} outputs of {loss!r}")
    params = booster.params or {}
    l1 = float(_param(params, ("lambda_l1", "reg_alpha", "l1_regularization"), 0.0))
    l2 = float(_param(params, ("lambda_l2", "reg_lambda", "lambda", "l2_regularization"), 0.0))
    max_step = float(_param(params, ("max_delta_step", "max_tree_output", "max_leaf_output"), 0.0))
    out = lgb.Booster(model_str=booster.model_to_string(num_iteration=-1))
    margin = np.zeros((n, k) if loss.is_multiclass else n)
    objective_ = LightGBMObjective(loss)
    for it in range(len(trees) // k):
        grad, hess = objective_._grad_hess(margin, rows)
        grad = np.asarray(grad, dtype=np.float64).reshape(n, k)
        hess = np.asarray(hess, dtype=np.float64).reshape(n, k)
        for c in range(k):
            t = it * k + c
            n_leaves = int(trees[t]["num_leaves"])
            lf = leaf[:, t]
            g = np.bincount(lf, weights=grad[:, c], minlength=n_leaves)
            h = np.bincount(lf, weights=hess[:, c], minlength=n_leaves) + 1e-15
            step = -np.sign(g) * np.maximum(np.abs(g) - l1, 0.0) / (h + l2)
            if max_step > 0.0:
                step = np.clip(step, -max_step, max_step)
            old = np.array([out.get_leaf_output(t, j) for j in range(n_leaves)])
            new = decay_rate * old + (1.0 - decay_rate) * step * float(trees[t].get("shrinkage", 1.0))
            for j in range(n_leaves):
                out.set_leaf_output(t, j, float(new[j]))
            if loss.is_multiclass:
                margin[:, c] += new[lf]
            else:
                margin += new[lf]
    _record_loss(out, loss, in_model=True)
    return out


def predict(
    booster: "lgb.Booster",
    data: Any,
    *,
    output: str = "response",
    loss: Loss | str | None = None,
    group: Any = None,
    start_iteration: int = 0,
    num_iteration: int | None = None,
    **kwargs: Any,
) -> np.ndarray:
    """Predictions of a booster trained on a library loss, as float64.

    Parameters
    ----------
    booster : lightgbm.Booster
    data : array-like, DataFrame or sparse matrix
    output : {"response", "margin"}, default "response"
        ``"response"``: the loss's inverse link of the margin (mean, median,
        probability, class probabilities of shape (n, k)); ``"margin"``: raw scores.
    loss : Loss or str, optional
        Default: the loss recorded in the model by :func:`train`.
    group : array, optional
        Grouped losses on the response scale: group sizes or query ids.
    start_iteration, num_iteration : int, optional
        Iterations to use, as in :meth:`lightgbm.Booster.predict` (the start
        margin lives in the first iteration).
    **kwargs
        Passed to :meth:`lightgbm.Booster.predict`.
    """
    if not isinstance(booster, lgb.Booster):
        raise ValueError(f"booster must be a lightgbm.Booster, got {type(booster).__name__}")
    check_output(output)
    for name in ("raw_score", "pred_leaf", "pred_contrib"):
        if name in kwargs:
            raise ValueError(f"predict() does not accept {name}=; use lightgbm.Booster.predict for that")
    if loss is None:
        loss = booster_loss(booster)
        if loss is None and output == "response":
            raise ValueError("this booster has no recorded gbm_objectives loss; pass loss=")
    else:
        loss = as_loss(loss)
    raw = booster.predict(data, start_iteration=start_iteration, num_iteration=num_iteration, raw_score=True, **kwargs)
    margin = np.asarray(raw, dtype=np.float64)
    if output == "margin":
        return margin
    return predict_response(loss, loss.check_margin(margin, margin.shape[0]), group)


# ---------------------------------------------------------------------------
# scikit-learn estimators
# ---------------------------------------------------------------------------


def _eval_pairs(eval_set: Any, eval_X: Any, eval_y: Any) -> list[tuple[Any, Any]]:
    if eval_set is not None:
        if eval_X is not None or eval_y is not None:
            raise ValueError("give either eval_set or eval_X and eval_y, not both")
        return [eval_set] if isinstance(eval_set, tuple) else list(eval_set)
    if (eval_X is None) != (eval_y is None):
        raise ValueError("eval_X and eval_y must be given together")
    if eval_X is None:
        return []
    if isinstance(eval_X, tuple) != isinstance(eval_y, tuple) or (
        isinstance(eval_X, tuple) and len(eval_X) != len(eval_y)
    ):
        raise ValueError("eval_X and eval_y must both be single data sets or tuples of the same length")
    return list(zip(eval_X, eval_y)) if isinstance(eval_X, tuple) else [(eval_X, eval_y)]


def _check_eval_labels(loss: Loss, pairs: list[tuple[Any, Any]], weights: Any) -> None:
    """Validate the evaluation sets' labels and weights as given: LightGBM stores
    a NaN label as 0 when it builds a Dataset, so the metric never sees it."""
    if weights is not None and not isinstance(weights, (list, tuple)):
        weights = [weights]
    for i, (_, ey) in enumerate(pairs):
        ew = None if weights is None or i >= len(weights) else weights[i]
        w32 = None if ew is None else np.asarray(ew, dtype=np.float32).reshape(-1)
        Data(loss, np.asarray(ey, dtype=np.float32).reshape(-1), w32, None, f"eval_set[{i}]")


def _is_distributed(params: Mapping[str, Any]) -> bool:
    """Whether LightGBM trains over a network of machines.

    ``lightgbm.dask`` always sets ``machines``, also when every partition
    sits on one worker (``num_machines`` 1): Dask training counts as
    distributed either way, so whether it refits leaves never depends on
    where the partitions landed.
    """
    if int(_param(params, ("num_machines", "num_machine"), 1) or 1) > 1:
        return True
    return bool(_param(params, ("machines", "workers", "nodes"), ""))


def _eval_kwargs(pairs: list[tuple[Any, Any]]) -> dict[str, Any]:
    """Evaluation sets as LightGBM 4's ``eval_X`` / ``eval_y`` tuples."""
    if not pairs:
        return {}
    return {"eval_X": tuple(p[0] for p in pairs), "eval_y": tuple(p[1] for p in pairs)}


class _LossModelMixin:
    """What the library's scikit-learn estimators share: the loss replaces
    ``objective``, the loss's start margin is folded into the model, and
    predictions go through the inverse link."""

    # No get_params here: LightGBM's get_params walks ``__bases__[0]`` and
    # skips a first base without one; the estimators define it themselves.
    _hide_loss_params = False

    def _visible(self, params: dict[str, Any]) -> dict[str, Any]:
        if self._hide_loss_params:
            # LightGBM reads "loss" as an alias of "objective".
            for name in ("loss", "loss_params", "refit_leaves"):
                params.pop(name, None)
        return params

    def set_params(self, **params: Any) -> Any:
        """Set parameters (scikit-learn API), including nested loss parameters.

        ``loss__<name>`` changes a parameter of a :class:`Loss` object given as
        ``loss`` (what ``GridSearchCV(est, {"loss__power": [...]})`` sets);
        ``loss_params__<name>`` one entry of ``loss_params`` for a loss given by
        name. Both are validated at once: an unknown name raises ValueError.
        """
        plain: dict[str, Any] = {}
        nested: dict[str, dict[str, Any]] = {"loss": {}, "loss_params": {}}
        for key, value in params.items():
            head, sep, sub = key.partition("__")
            if not sep:
                plain[key] = value
            elif head in nested and sub:
                nested[head][sub] = value
            else:
                raise ValueError(
                    f"invalid parameter {key!r} for {type(self).__name__}: only loss__<name> and "
                    "loss_params__<name> are nested parameters"
                )
        if plain:
            super().set_params(**plain)  # type: ignore[misc]
        if nested["loss"]:
            loss = getattr(self, "loss", None)
            if not isinstance(loss, Loss):
                names = ", ".join(f"loss__{k}" for k in nested["loss"])
                raise ValueError(
                    f"{names}: setting the loss's parameters needs a Loss object as loss (e.g. "
                    f"loss=get_loss({loss!r})); loss={loss!r} is a name, whose parameters are set "
                    "with loss_params__<parameter>"
                )
            loss.set_params(**nested["loss"])
        if nested["loss_params"]:
            new = {**dict(getattr(self, "loss_params", None) or {}), **nested["loss_params"]}
            name = getattr(self, "loss", None)
            if name is not None:  # a classifier without a loss picks it at fit()
                # Validates names and values now (a multiclass loss gets its class count at fit()).
                estimator_loss(name, new, num_class=2)
            super().set_params(loss_params=new)  # type: ignore[misc]
        return self

    def _process_params(self, stage: str) -> dict[str, Any]:
        loss = getattr(self, "loss_", None)
        if loss is None:
            raise ValueError("fit() resolves the loss first")
        user_metric = _has_param(self.get_params(), _METRIC_ALIASES)  # type: ignore[attr-defined]
        if stage == "fit":
            # Only fit() builds the objective: predict() must leave the fitted estimator as it is.
            self._objective = LightGBMObjective(loss, row_curvature=getattr(self, "_refit_now", False))._managed()
        self.__dict__["_hide_loss_params"] = True
        try:
            params = super()._process_params(stage)  # type: ignore[misc]
        finally:
            self.__dict__.pop("_hide_loss_params", None)
        if loss.is_multiclass:
            _set_num_class(params, loss)
        if not user_metric:
            params["metric"] = "None"
        return params

    def _check_constructor(self, y: Any) -> None:
        if getattr(self, "objective", None) is not None:
            raise ValueError("set the loss with loss=, not objective=")
        if y is None:
            raise ValueError(f"{type(self).__name__} requires y to be passed, but the target y is None")

    def _fit_with_loss(
        self,
        parent_fit: Callable[..., Any],
        loss: Loss,
        X: Any,
        y: np.ndarray,
        y_fit: Any,
        start_weight: Any,
        pairs: list[tuple[Any, Any]],
        fit_kw: dict[str, Any],
    ) -> Any:
        """``parent_fit(X, y_fit, **fit_kw)`` on ``loss``: its start margin (from
        labels ``y`` and weights ``start_weight``), metric and leaf refit."""
        if loss.needs_group:
            raise ValueError(f"{loss.name} needs query groups, which this estimator does not take")
        # As LightGBM stores them: float32 labels and weights.
        w32 = None if start_weight is None else np.asarray(start_weight, dtype=np.float32).reshape(-1)
        data = Data(loss, np.asarray(y, dtype=np.float32).reshape(-1), w32, None, "y")
        _check_eval_labels(loss, pairs, fit_kw.get("eval_sample_weight"))
        params = self.get_params()  # type: ignore[attr-defined]
        refit = refits(loss, getattr(self, "refit_leaves", True)) and not _is_distributed(params)
        if not refit and refits(loss, getattr(self, "refit_leaves", True)):
            warn_no_refit(loss, f"{type(self).__name__} in distributed training (the refit needs every row)")
        _check_boosting(params)
        _check_class_balance(params)
        _check_loss_params(loss, params)
        user_eval = fit_kw["eval_metric"]
        user_eval = list(user_eval) if isinstance(user_eval, (list, tuple)) else [user_eval]
        _check_builtin_metrics(
            loss, _builtin_metrics(_param(params, _METRIC_ALIASES)) + [m for m in user_eval if isinstance(m, str)]
        )
        if refit:
            _check_refit_params(loss, params)
        start = None
        if fit_kw["init_score"] is None and fit_kw["init_model"] is None and _boost_from_average(params):
            start = _loss_start(loss, data)
        if start is not None:
            fit_kw["init_score"] = _full_init_score(start, data.y.shape[0])
            if pairs and fit_kw["eval_init_score"] is None:
                fit_kw["eval_init_score"] = [_full_init_score(start, _n_rows(ey)) for _, ey in pairs]
        eval_metric = fit_kw["eval_metric"]
        fit_kw["eval_metric"] = [LightGBMMetric(loss)]
        if eval_metric is not None:
            fit_kw["eval_metric"] += list(eval_metric) if isinstance(eval_metric, list) else [eval_metric]
        fit_kw["callbacks"] = list(fit_kw["callbacks"] or [])
        refit_cb = None
        if refit:
            others = [ex for ex, ey in pairs if not (ex is X and ey is y)]
            refit_cb = _LeafRefit(loss, data, X, others, _param(params, _THREAD_ALIASES))  # type: ignore[arg-type]
            fit_kw["callbacks"].append(refit_cb)
        fit_kw["callbacks"].append(_FeatureCheck())
        self.loss_ = loss
        self._refit_now = refit
        try:
            parent_fit(X, y_fit, **fit_kw, **_eval_kwargs(pairs))
        except NoUsableFeaturesError as exc:
            if exc.booster is None or fit_kw["init_model"] is not None:
                raise
            self._fit_constant(exc, loss, start)
            start = None  # already in the constant model
        finally:
            if refit_cb is not None:
                refit_cb.uninstall()
        return self._finish_fit(loss, start)

    def _fit_constant(self, exc: NoUsableFeaturesError, loss: Loss, start: np.ndarray | None) -> None:
        """What LightGBM's ``fit`` sets after training, for the constant start-margin model."""
        ds = exc.booster.train_set  # type: ignore[union-attr]
        self._Booster = _constant_from(exc, ds, loss, start, exc.booster.params or {})  # type: ignore[union-attr]
        self._n_features = self._Booster.num_feature()
        self._fitted_with_feature_names = getattr(ds, "_has_non_default_feature_names", False)
        self._evals_result: dict = {}
        self._best_iteration = self._Booster.best_iteration
        self._best_score = self._Booster.best_score
        self.fitted_ = True

    def _finish_fit(self, loss: Loss, start: np.ndarray | None) -> Any:
        """Fold the start margin into the fitted model and record the loss."""
        booster = self._Booster  # type: ignore[attr-defined]
        if start is not None:
            _fold_start(booster, start)
        _record_loss(booster, loss, in_model=True)
        self.loss_ = loss
        self.start_margin_ = start
        return self

    def _response(
        self, X: Any, raw_score: bool, pred_leaf: bool, pred_contrib: bool, **kwargs: Any
    ) -> tuple[Any, bool]:
        """LightGBM's own output when ``raw_score``, ``pred_leaf`` or
        ``pred_contrib`` ask for it (second value True), else the loss's
        response scale (False)."""
        special = bool(raw_score or pred_leaf or pred_contrib)
        out = lgb.LGBMModel.predict(
            self,  # type: ignore[arg-type]
            X, raw_score=raw_score or not special, pred_leaf=pred_leaf, pred_contrib=pred_contrib, **kwargs,
        )
        if special:
            return out, True
        loss = getattr(self, "loss_", None)
        if loss is None:
            raise ValueError("this estimator is not fitted yet; call fit() first")
        return loss.predict(np.asarray(out, dtype=np.float64)), False


class LGBMRegressor(_LossModelMixin, lgb.LGBMRegressor):
    """:class:`lightgbm.LGBMRegressor` trained on a library loss.

    Sample weights reach the gradients, training starts from the loss's best
    constant (folded into the model), absolute error and quantile losses get
    LightGBM's leaf refit, the loss is reported as the evaluation metric, and
    ``predict`` returns the response scale (``raw_score=True`` the margin).

    Parameters
    ----------
    loss : Loss or str, default "squared_error"
    loss_params : dict, optional
        Parameters for a loss given by name.
    refit_leaves : bool, default True
        See :func:`train`.
    **kwargs
        Every :class:`lightgbm.LGBMRegressor` parameter except ``objective``.
    """

    def __init__(
        self,
        *,
        loss: Loss | str = "squared_error",
        loss_params: Mapping[str, Any] | None = None,
        refit_leaves: bool = True,
        **kwargs: Any,
    ) -> None:
        self.loss = loss
        self.loss_params = loss_params
        self.refit_leaves = refit_leaves
        super().__init__(**kwargs)

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Parameters of this estimator (scikit-learn API)."""
        return self._visible(super().get_params(deep=deep))

    def fit(  # type: ignore[override]
        self,
        X: Any,
        y: Any,
        sample_weight: Any = None,
        init_score: Any = None,
        eval_set: Any = None,
        eval_names: Any = None,
        eval_sample_weight: Any = None,
        eval_init_score: Any = None,
        eval_metric: Any = None,
        callbacks: Any = None,
        init_model: Any = None,
        *,
        eval_X: Any = None,
        eval_y: Any = None,
        **kwargs: Any,
    ) -> "LGBMRegressor":
        """Fit on ``loss``; arguments as :meth:`lightgbm.LGBMRegressor.fit`.

        Without ``init_score`` training starts from the loss's best constant
        (the same for every evaluation set), which the fitted model includes;
        with ``boost_from_average=False`` it starts from 0, as LightGBM's
        built-in objectives do. LightGBM parameters that define a built-in
        objective's loss (``alpha``, ``tweedie_variance_power``,
        ``poisson_max_delta_step``, ...) must agree with ``loss`` and raise
        ValueError otherwise: set the loss's own parameter instead.
        """
        self._check_constructor(y)
        loss = estimator_loss(self.loss, self.loss_params)
        if loss.is_multiclass:
            raise ValueError(f"{loss!r} is a multiclass loss; use LGBMClassifier")
        pairs = _eval_pairs(eval_set, eval_X, eval_y)
        fit_kw = dict(
            kwargs, sample_weight=sample_weight, init_score=init_score, eval_names=eval_names,
            eval_sample_weight=eval_sample_weight, eval_init_score=eval_init_score, eval_metric=eval_metric,
            callbacks=callbacks, init_model=init_model,
        )
        return self._fit_with_loss(super().fit, loss, X, y, y, sample_weight, pairs, fit_kw)

    def predict(  # type: ignore[override]
        self,
        X: Any,
        raw_score: bool = False,
        start_iteration: int = 0,
        num_iteration: int | None = None,
        pred_leaf: bool = False,
        pred_contrib: bool = False,
        validate_features: bool = False,
        **kwargs: Any,
    ) -> Any:
        """Predictions on the response scale (``raw_score=True``: the raw margin)."""
        return self._response(
            X, raw_score, pred_leaf, pred_contrib, start_iteration=start_iteration, num_iteration=num_iteration,
            validate_features=validate_features, **kwargs,
        )[0]


def _encode_labels(classes: np.ndarray, labels: Any, what: str) -> np.ndarray:
    """Class indices of ``labels`` in the sorted ``classes``."""
    values = np.asarray(labels).reshape(-1)
    if values.dtype.kind in "fc":
        try:
            as_float_array(values, "y")
        except ValueError as exc:
            raise ValueError(f"{what}: {exc}") from None
    k = classes.shape[0]
    pos = np.searchsorted(classes, values)
    if np.any(pos >= k) or np.any(classes[np.minimum(pos, k - 1)] != values):
        raise ValueError("an evaluation set holds labels that are not in y")
    return pos.astype(np.float64)


class LGBMClassifier(_LossModelMixin, lgb.LGBMClassifier):
    """:class:`lightgbm.LGBMClassifier` trained on a library loss.

    ``predict_proba`` applies the loss's inverse link (LightGBM's own
    classifier returns raw scores under a custom objective) and ``predict``
    the most probable class. Sample weights and ``class_weight`` reach the
    gradients; training starts from the loss's best constant, folded into
    the model.

    LightGBM's ``is_unbalance`` and ``scale_pos_weight`` act only inside
    its built-in binary objective, so they raise ValueError here: weight the
    classes with ``class_weight`` (``"balanced"`` or ``{neg: 1, pos: s}``)
    or ``sample_weight``, which reach every loss and its start margin.

    Parameters
    ----------
    loss : Loss or str, optional
        Default ``"logistic"`` for two classes, ``"softmax"`` for more. A
        multiclass loss given by name gets ``num_class`` from the data.
    loss_params : dict, optional
        Parameters for a loss given by name.
    **kwargs
        Every :class:`lightgbm.LGBMClassifier` parameter except ``objective``.
    """

    def __init__(
        self,
        *,
        loss: Loss | str | None = None,
        loss_params: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        self.loss = loss
        self.loss_params = loss_params
        super().__init__(**kwargs)

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Parameters of this estimator (scikit-learn API)."""
        return self._visible(super().get_params(deep=deep))

    def fit(  # type: ignore[override]
        self,
        X: Any,
        y: Any,
        sample_weight: Any = None,
        init_score: Any = None,
        eval_set: Any = None,
        eval_names: Any = None,
        eval_sample_weight: Any = None,
        eval_class_weight: Any = None,
        eval_init_score: Any = None,
        eval_metric: Any = None,
        callbacks: Any = None,
        init_model: Any = None,
        *,
        eval_X: Any = None,
        eval_y: Any = None,
        **kwargs: Any,
    ) -> "LGBMClassifier":
        """Fit on ``loss``; arguments as :meth:`lightgbm.LGBMClassifier.fit`."""
        from sklearn.utils.class_weight import compute_sample_weight

        self._check_constructor(y)
        y_arr = np.asarray(y).reshape(-1)
        classes, codes = np.unique(y_arr, return_inverse=True)
        k = classes.shape[0]
        if k < 2:
            raise ValueError(f"y holds {k} class; a classifier needs at least 2")
        name = self.loss if self.loss is not None else ("logistic" if k == 2 else "softmax")
        loss = estimator_loss(name, self.loss_params, num_class=k)
        if loss.is_multiclass and loss.n_outputs != k:
            raise ValueError(f"{loss!r} does not match the {k} classes in y")
        if not loss.is_multiclass and k != 2:
            raise ValueError(f"{loss!r} is a binary loss but y holds {k} classes; use a multiclass loss")
        start_weight = sample_weight
        if self.class_weight is not None:
            cw = compute_sample_weight(self.class_weight, y_arr)
            start_weight = cw if sample_weight is None else cw * np.asarray(sample_weight, dtype=np.float64)
        # LightGBM 4 passes eval_X/eval_y labels through unencoded; encode them as fit() encodes y.
        pairs = [
            (ex, _encode_labels(classes, ey, f"eval_set[{i}]"))
            for i, (ex, ey) in enumerate(_eval_pairs(eval_set, eval_X, eval_y))
        ]
        fit_kw = dict(
            kwargs, sample_weight=sample_weight, init_score=init_score, eval_names=eval_names,
            eval_sample_weight=eval_sample_weight, eval_class_weight=eval_class_weight,
            eval_init_score=eval_init_score, eval_metric=eval_metric, callbacks=callbacks, init_model=init_model,
        )
        return self._fit_with_loss(super().fit, loss, X, codes.astype(np.float64), y, start_weight, pairs, fit_kw)

    def predict_proba(  # type: ignore[override]
        self,
        X: Any,
        raw_score: bool = False,
        start_iteration: int = 0,
        num_iteration: int | None = None,
        pred_leaf: bool = False,
        pred_contrib: bool = False,
        validate_features: bool = False,
        **kwargs: Any,
    ) -> Any:
        """Class probabilities, shape (n, n_classes), from the loss's inverse link."""
        p, special = self._response(
            X, raw_score, pred_leaf, pred_contrib, start_iteration=start_iteration, num_iteration=num_iteration,
            validate_features=validate_features, **kwargs,
        )
        if special or p.ndim == 2:  # multiclass losses give (n, k) already
            return p
        return np.column_stack((1.0 - p, p))

    def predict(  # type: ignore[override]
        self,
        X: Any,
        raw_score: bool = False,
        start_iteration: int = 0,
        num_iteration: int | None = None,
        pred_leaf: bool = False,
        pred_contrib: bool = False,
        validate_features: bool = False,
        **kwargs: Any,
    ) -> Any:
        """Most probable class (``raw_score=True``: the raw margin)."""
        proba = self.predict_proba(
            X, raw_score=raw_score, start_iteration=start_iteration, num_iteration=num_iteration,
            pred_leaf=pred_leaf, pred_contrib=pred_contrib, validate_features=validate_features, **kwargs,
        )
        if raw_score or pred_leaf or pred_contrib:
            return proba
        return self.classes_[np.argmax(proba, axis=1)]


# ---------------------------------------------------------------------------
# Dask
# ---------------------------------------------------------------------------


def _dask_constant_like(y: Any, value: float) -> Any:
    """A Dask collection partitioned like ``y`` holding ``value`` everywhere."""
    return y * 0.0 + value


class DaskLGBMRegressor(_LossModelMixin, lgb.DaskLGBMRegressor):
    """:class:`lightgbm.DaskLGBMRegressor` trained on a library loss.

    Every worker trains :class:`LGBMRegressor` on its partitions with the
    loss's objective; the start margin is the loss's best constant over all
    of ``y`` (computed on the client, so ``y`` and the weights are gathered
    once), and ``predict`` returns the response scale. Leaf refit needs
    every row's residual on one machine, so it is not available here, even
    when all partitions sit on one worker: absolute error and quantile
    losses train plain Newton leaves, and a :class:`LeafRefitWarning` says
    so once per process and loss.

    Parameters
    ----------
    loss : Loss or str, default "squared_error"
    loss_params : dict, optional
    client : distributed.Client, optional
    **kwargs
        Every :class:`lightgbm.DaskLGBMRegressor` parameter except ``objective``.
    """

    def __init__(
        self,
        *,
        loss: Loss | str = "squared_error",
        loss_params: Mapping[str, Any] | None = None,
        client: Any = None,
        **kwargs: Any,
    ) -> None:
        self.loss = loss
        self.loss_params = loss_params
        super().__init__(client=client, **kwargs)

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Parameters of this estimator (scikit-learn API)."""
        return self._visible(super().get_params(deep=deep))

    def fit(  # type: ignore[override]
        self,
        X: Any,
        y: Any,
        sample_weight: Any = None,
        init_score: Any = None,
        eval_set: Any = None,
        eval_names: Any = None,
        eval_sample_weight: Any = None,
        eval_init_score: Any = None,
        eval_metric: Any = None,
        *,
        eval_X: Any = None,
        eval_y: Any = None,
        **kwargs: Any,
    ) -> "DaskLGBMRegressor":
        """Fit on ``loss``; arguments as :meth:`lightgbm.DaskLGBMRegressor.fit`."""
        self._check_constructor(y)
        loss = estimator_loss(self.loss, self.loss_params)
        if loss.is_multiclass or loss.needs_group:
            raise ValueError(f"{loss!r} is not a single-output regression loss")
        warn_no_refit(loss, "DaskLGBMRegressor (the refit needs every row's residual on one machine)")
        pairs = _eval_pairs(eval_set, eval_X, eval_y)
        start = None
        if init_score is None and kwargs.get("init_model") is None and _boost_from_average(self.get_params()):
            # As LightGBM stores them: float32 labels and weights.
            y_local = np.asarray(y.compute(), dtype=np.float32).reshape(-1)
            w_local = None if sample_weight is None else np.asarray(sample_weight.compute(), dtype=np.float32).ravel()
            start = _loss_start(loss, Data(loss, y_local, w_local, None, "y"))
        if start is not None:
            init_score = _dask_constant_like(y, float(start[0]))
            if pairs and eval_init_score is None:
                eval_init_score = [_dask_constant_like(ey, float(start[0])) for _, ey in pairs]
        self._lgb_dask_fit(
            model_factory=LGBMRegressor,
            X=X,
            y=y,
            sample_weight=sample_weight,
            init_score=init_score,
            eval_names=eval_names,
            eval_sample_weight=eval_sample_weight,
            eval_init_score=eval_init_score,
            eval_metric=eval_metric,
            **_eval_kwargs(pairs),
            **kwargs,
        )
        return self._finish_fit(loss, start)

    def to_local(self) -> LGBMRegressor:
        """The fitted model as a (non-Dask) :class:`LGBMRegressor`."""
        return self._lgb_dask_to_local(LGBMRegressor)
