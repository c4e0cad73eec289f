"""XGBoost's custom objective and metric callables, and how they read a DMatrix.

:class:`XGBObjective` (built by :func:`objective`) and :class:`XGBMetric`
(:func:`metric`) take both XGBoost call signatures, the native
``(predt, dmatrix)`` and the scikit-learn ``(y_true, y_pred, sample_weight)``.
The labels, weights and query groups of a DMatrix are validated once and
read again only when they change (:class:`_DMatrixCache`).
"""

from __future__ import annotations

import ctypes
import json
import re
import weakref
from typing import Any

import numpy as np
import xgboost as xgb
from xgboost import collective

from .._adapters import (
    Data,
    ObjectiveBase,
    check_margin,
    response_to_margin,
    same_values,
)
from ..losses import Loss, as_loss

#: Prefix of the library's metric names: XGBoost's own metrics never start
#: with it, so the two never share an entry of the evaluation log (the same
#: rule as the LightGBM adapter's).
METRIC_PREFIX = "gbm_"

_BOOSTER = "XGBoost"
_GROUP_HINT = "build the DMatrix with group= or qid="


def _read_dmatrix(loss: Loss, dmat: xgb.DMatrix, what: str) -> Data:
    """Labels, weights and query groups of ``dmat``, checked against ``loss``."""
    label, weight = dmat.get_label(), dmat.get_weight()
    group_ptr = _group_ptr(loss, dmat, label.shape[0], weight.shape[0])
    return Data(loss, label, _row_weights(weight, group_ptr), _loss_groups(loss, group_ptr), what, _GROUP_HINT)


def _group_ptr(loss: Loss, dmat: xgb.DMatrix, n_rows: int, n_weights: int) -> np.ndarray | None:
    """The DMatrix's group boundaries where they matter: a grouped loss, or weights that are not one per row."""
    if loss.needs_group or (n_weights and n_weights != n_rows):
        return dmat.get_uint_info("group_ptr")
    return None


def _loss_groups(loss: Loss, group_ptr: np.ndarray | None) -> np.ndarray | None:
    return group_ptr if loss.needs_group else None


def _row_weights(weight: np.ndarray, group_ptr: np.ndarray | None) -> np.ndarray:
    """One weight per row: a DMatrix with query groups holds one weight per group.

    That is XGBoost's rule once groups are set (``XGBRanker.fit``'s
    ``sample_weight``, ``DMatrix(group=..., weight=...)``): each group's
    weight applies to every row of the group, so it is repeated over them.
    Weights of any other length are left for :class:`Data` to refuse.
    """
    if group_ptr is None or group_ptr.shape[0] < 2 or weight.shape[0] != group_ptr.shape[0] - 1:
        return weight
    sizes = np.diff(group_ptr.astype(np.int64))
    if np.any(sizes <= 0):
        return weight
    return np.repeat(weight, sizes)


try:  # a view of a DMatrix field without the copy ``get_label`` makes
    from xgboost._data_utils import from_array_interface as _from_array_interface
    from xgboost.core import _LIB, _check_call, c_str

    # A float32 vector, the layout of labels and weights: read without
    # json.loads and NumPy's array-interface machinery (20 us a field, the
    # whole adapter overhead at 1e5 rows); anything else takes that path.
    _VECTOR_INFO = re.compile(rb'^\{"data":\[(\d+),(?:true|false)\],"shape":\[(\d+)\],"strides":\[4\],"typestr":"<f4"')

    def _info_view(dmat: xgb.DMatrix, field: str) -> np.ndarray:
        """A read-only view of a DMatrix float field (valid until the field is set again)."""
        ref = ctypes.c_char_p()
        _check_call(_LIB.XGDMatrixGetInfoRef(dmat.handle, c_str(field), ctypes.byref(ref)))
        match = _VECTOR_INFO.match(ref.value or b"")
        if match is None:
            return _from_array_interface(json.loads(ref.value), zero_copy=True)  # type: ignore[arg-type]
        address, n = int(match.group(1)), int(match.group(2))
        if n == 0:
            return np.empty(0, np.float32)
        return np.frombuffer((ctypes.c_float * n).from_address(address), dtype=np.float32)
except (ImportError, AttributeError):  # pragma: no cover - other XGBoost layouts

    def _info_view(dmat: xgb.DMatrix, field: str) -> np.ndarray:
        """A copy of a DMatrix float field."""
        return dmat.get_float_info(field)


class _DMatrixCache:
    """Validated :class:`Data` per DMatrix, read again when its labels or weights change.

    XGBoost keeps no version of a DMatrix's labels (``set_label`` copies the
    new values into the same buffer), so every call compares the DMatrix's
    labels and weights, read in place, with the copies the entry was
    validated from (:func:`same_values`: one SIMD pass, a fraction of any
    gradient kernel). DMatrix objects are held weakly.
    """

    def __init__(self) -> None:
        self._entries: weakref.WeakKeyDictionary[Any, tuple[np.ndarray, np.ndarray, Any, Data]] = (
            weakref.WeakKeyDictionary()
        )

    def get(self, loss: Loss, dmat: xgb.DMatrix, what: str) -> Data:
        label, weight = _info_view(dmat, "label"), _info_view(dmat, "weight")
        group_ptr = _group_ptr(loss, dmat, label.shape[0], weight.shape[0])
        entry = self._entries.get(dmat)
        if (
            entry is not None
            and same_values(label, entry[0])
            and same_values(weight, entry[1])
            and (group_ptr is None or np.array_equal(group_ptr, entry[2]))
        ):
            return entry[3]
        label, weight = np.array(label), np.array(weight)
        data = Data(loss, label, _row_weights(weight, group_ptr), _loss_groups(loss, group_ptr), what, _GROUP_HINT)
        self._entries[dmat] = (label, weight, group_ptr, data)
        return data


class XGBObjective(ObjectiveBase):
    """Gradient and Hessian of a loss for XGBoost; build it with :func:`objective`.

    Callable in both XGBoost signatures:

    * ``obj(predt, dtrain) -> (grad, hess)`` for ``xgboost.train(obj=...)``:
      labels, weights (``dtrain.get_weight()``) and query groups come from the
      DMatrix;
    * ``obj(y_true, y_pred, sample_weight=None) -> (grad, hess)`` for the
      scikit-learn estimators (``XGBRegressor(objective=obj)``), which pass
      ``sample_weight`` because the signature names it.

    Labels and weights are validated once per data set and read again
    whenever they change (``DMatrix.set_label`` / ``set_weight``, a refit
    with new labels or ``sample_weight``: each round compares them with the
    validated copy in one cheap pass); every round calls the loss's
    unvalidated kernel into float32 buffers reused across rounds. The
    returned arrays are those buffers: copy them to keep one round's values.
    Each thread has its own buffers and scikit-learn data, so one object can
    serve concurrent training runs. Picklable and deep-copyable (the caches
    are dropped).

    Absolute error and quantile losses (except their ``curvature="mm"``
    surrogate) need every leaf refit to a residual quantile, which a custom
    objective in plain ``xgboost.train`` or ``XGBRegressor`` cannot do: the
    first call then issues a :class:`LeafRefitWarning`, once per process and
    loss (see :func:`warn_no_refit`). :func:`train`, :func:`cv`,
    :func:`dask_train` and the library's estimators refit and never warn.

    Parameters
    ----------
    loss : Loss or str
    row_curvature : bool, default False
        Hand XGBoost one unit of Hessian per row (times its weight) instead
        of the loss's curvature, as ``reg:absoluteerror`` does; for training
        under a built-in objective that refits the leaves (:func:`train`).
    """

    def _reset(self) -> None:
        super()._reset()
        self._cache = _DMatrixCache()

    def __call__(self, a: Any, b: Any, sample_weight: Any = None) -> tuple[np.ndarray, np.ndarray]:
        if isinstance(b, xgb.DMatrix):
            return self._native(a, b)
        return self._sklearn_call(a, b, sample_weight)

    def _native(self, predt: Any, dtrain: xgb.DMatrix) -> tuple[np.ndarray, np.ndarray]:
        if self._refit_unchecked:
            self._check_refit("xgboost.train(obj=gbm_objectives.xgboost.objective(...))")
        m = check_margin(self.loss, predt, dtrain.num_row(), _BOOSTER)
        data = self._cache.get(self.loss, dtrain, "training data")
        if collective.get_world_size() > 1:
            return self._grad_hess_all_reduced(m, data)
        return self._grad_hess(m, data)

    def _grad_hess_all_reduced(self, margin: np.ndarray, data: Data) -> tuple[np.ndarray, np.ndarray]:
        """Gradients whose global sums (:meth:`Loss.global_sums`) add every worker's rows.

        The MM surrogates scale their residuals by such sums, which XGBoost's
        built-ins all-reduce too; each worker's own sums would give each its
        own scale. Every worker has the same loss, so all or none all-reduce.
        """
        sums = self.loss.global_sums(data.y, margin, data.weight)
        if sums is None:
            return self._grad_hess(margin, data)
        total = collective.allreduce(np.ascontiguousarray(sums, dtype=np.float64), collective.Op.SUM)
        return self._grad_hess(margin, data, sums=total)

    def _sklearn_call(self, y_true: Any, y_pred: Any, sample_weight: Any) -> tuple[np.ndarray, np.ndarray]:
        if self._refit_unchecked:
            self._check_refit("xgboost.XGBRegressor(objective=gbm_objectives.xgboost.objective(...))")
        if self.loss.needs_group:
            raise ValueError(f"{self.loss.name} needs query groups, which the scikit-learn objective signature lacks")
        y = np.asarray(y_true)
        m = check_margin(self.loss, y_pred, y.shape[0], _BOOSTER)
        w = np.asarray([] if sample_weight is None else sample_weight)
        # XGBoost hands fresh copies of the labels and weights every round, so
        # identity says nothing: the values are compared with those validated
        # (another fit, a CV fold, new sample_weight all change them).
        kept = getattr(self._local, "sklearn", None)
        if kept is None or not (same_values(y, kept[0]) and same_values(w, kept[1])):
            y_copy, w_copy = np.array(y), np.array(w)
            kept = self._local.sklearn = (y_copy, w_copy, Data(self.loss, y_copy, w_copy, None, "training labels"))
        data = kept[2]
        labels = y if y.dtype in (np.float32, np.float64) and y.flags.c_contiguous else data.y
        return self._grad_hess(m, data, labels)


class XGBMetric:
    """Weighted mean loss for ``xgboost.train(custom_metric=...)``; build it with :func:`metric`.

    ``metric(predt, dmatrix) -> (name, value)``, and, as a scikit-learn
    ``eval_metric``, ``metric(y_true, y_pred, sample_weight=None) -> value``
    (named by ``__name__``). Under a custom objective
    XGBoost hands the metric raw margins (the default); with a built-in
    objective it hands transformed predictions, so build the metric with
    ``response=True`` there. In distributed training (Dask) the loss sums
    and weight totals are all-reduced over the workers, so every worker
    reports the global value. The name is ``"gbm_" + loss.name`` (e.g.
    ``"gbm_tweedie"``, never one of XGBoost's built-in metric names) unless
    ``name`` is given. Labels and weights are validated once per DMatrix and
    read again when they change (``set_label`` / ``set_weight``).
    """

    def __init__(self, loss: Loss | str, *, response: bool = False, name: str | None = None) -> None:
        self.loss = as_loss(loss)
        if not isinstance(response, bool):
            raise ValueError(f"response must be True or False, got {response!r}")
        if name is not None and (not isinstance(name, str) or not name):
            raise ValueError(f"name must be a non-empty string, got {name!r}")
        self.response = response
        self.name = metric_name(self.loss) if name is None else name
        self.__name__ = self.name
        self._cache = _DMatrixCache()

    def __repr__(self) -> str:
        extra = "" if self.name == metric_name(self.loss) else f", name={self.name!r}"
        return f"XGBMetric({self.loss!r}, response={self.response}{extra})"

    def __getstate__(self) -> dict[str, Any]:
        return {"loss": self.loss, "response": self.response, "name": self.name}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["loss"], response=state["response"], name=state.get("name"))

    def __call__(self, a: Any, b: Any, sample_weight: Any = None) -> tuple[str, float] | float:
        if not isinstance(b, xgb.DMatrix):
            return self._sklearn_call(a, b, sample_weight)
        n = b.num_row()
        data = self._cache.get(self.loss, b, "evaluation data")
        total, denom = data.loss_sum(self.loss, self._margin(a, n)), data.denom
        if collective.get_world_size() > 1:
            total, denom = collective.allreduce(np.array([total, denom]), collective.Op.SUM)
        return self.name, float(total / denom)

    def _margin(self, pred: Any, n_rows: int) -> np.ndarray:
        m = check_margin(self.loss, pred, n_rows, _BOOSTER)
        return response_to_margin(self.loss, m) if self.response else m

    def _sklearn_call(self, y_true: Any, y_pred: Any, sample_weight: Any) -> float:
        if self.loss.needs_group:
            raise ValueError(f"{self.loss.name} needs query groups, which the scikit-learn metric signature lacks")
        m = self._margin(y_pred, np.shape(y_true)[0]) if self.response else y_pred
        return self.loss.loss(y_true, m, sample_weight)


def metric_name(loss: Loss | str) -> str:
    """The name the library's metric of ``loss`` reports under (``"gbm_" + loss.name``).

    The key of the loss's curve in ``evals_result`` (``history[set][name]``),
    the estimators' ``evals_result_`` and :func:`cv`'s columns
    (``"test-gbm_tweedie-mean"``), and the ``metric_name`` to give
    :class:`xgboost.callback.EarlyStopping`.
    """
    return METRIC_PREFIX + as_loss(loss).name


def objective(loss: Loss | str) -> XGBObjective:
    """The loss as an XGBoost custom objective.

    Parameters
    ----------
    loss : Loss or str
        A loss object or a registry name (see :func:`gbm_objectives.available_losses`).

    Returns
    -------
    XGBObjective
        ``obj(predt, dtrain)`` for ``xgboost.train(obj=...)``, and
        ``obj(y_true, y_pred, sample_weight=None)`` for
        ``XGBRegressor(objective=obj)`` / ``XGBClassifier(objective=obj)``.

    Notes
    -----
    With plain ``xgboost.train`` the model still starts from ``base_score``
    0.5 and, for a multiclass loss, needs ``params["num_class"]``; use
    :func:`train`, or set ``objective=booster_objective(loss)`` and
    ``base_score=base_score(loss, y, w, objective=...)`` with that
    objective's name in the params yourself. Absolute
    error and quantile losses get no leaf refit there (a one-time
    :class:`LeafRefitWarning` says so); :func:`train` refits.
    """
    return XGBObjective(loss)


def metric(loss: Loss | str, *, response: bool = False, name: str | None = None) -> XGBMetric:
    """The loss as an XGBoost ``custom_metric``: its weighted mean on the evaluation data.

    Parameters
    ----------
    loss : Loss or str
    response : bool, default False
        False when the booster trains with a custom objective (XGBoost then
        passes raw margins); True for a built-in objective (it passes
        predictions on the response scale, mapped back through the link).
    name : str, optional
        The name in the evaluation log; default :func:`metric_name`,
        ``"gbm_" + loss.name`` (e.g. ``"gbm_tweedie"``).
    """
    return XGBMetric(loss, response=response, name=name)

