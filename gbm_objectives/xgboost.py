"""XGBoost adapter: objective and metric callables, start margin, training,
prediction, scikit-learn estimators and Dask.

The library's losses plug into :func:`xgboost.train` through
:func:`objective` and :func:`metric`; :func:`train` wires both and fixes the
booster facts a custom objective otherwise gets wrong:

* **Start margin.** A custom objective starts every row at ``base_score`` 0.5.
  :func:`train` sets ``base_score`` to the loss's best constant
  (:meth:`Loss.init_score`), so it is saved in the model and applies to every
  evaluation set and prediction, with no ``base_margin`` to carry around.
* **Link.** The booster is configured with a built-in objective whose
  output transform is the loss's inverse link: where XGBoost has a built-in
  with the loss's own gradients, that one with its parameters (Poisson:
  ``count:poisson`` with the loss's ``max_delta_step``, 0.7 by default as in
  XGBoost; Gamma: ``reg:gamma``; Tweedie
  with power p: ``reg:tweedie`` with ``tweedie_variance_power`` p;
  pseudo-Huber: ``reg:pseudohubererror`` with ``huber_slope``), so a saved
  model names its loss; otherwise one for the link (``reg:squarederror`` for
  the identity, ``reg:tweedie`` for log, ``binary:logistic`` for logit,
  ``multi:softprob`` for softmax). Plain ``xgboost.train(xgb_model=...)``
  continues a saved model under the objective it names, which is the loss
  itself only for ``squared_error``, ``logistic`` (no label smoothing),
  ``poisson``, ``gamma``, ``tweedie``, ``pseudo_huber`` (exact curvature),
  ``softmax`` with ``hessian_scale="xgboost"``, and ``absolute_error`` /
  ``quantile`` (see below). Any other loss (``huber``, ``log_cosh``,
  ``focal``, ``softmax_focal``, ``infonce``, label smoothing, ...) continues
  there under the host objective (squared error, log loss, softmax), not
  under the loss: continue those with :func:`train` (``xgb_model=``). The
  custom gradients replace that
  objective's gradients; what is kept is its transform, so
  ``booster.predict``, ``xgboost.dask.predict`` and a model reloaded without
  this library all return predictions on the response scale, and its
  ``base_score`` space, which :func:`base_score` converts to.
* **Absolute error and quantile.** These losses run under
  ``reg:absoluteerror`` / ``reg:quantileerror``, and follow what that
  objective does in the installed XGBoost (decided once, at import, from
  ``xgboost.__version__``; see ``BUILTIN_LEAF_REFIT``):

  - XGBoost < 3.4 applies that objective's leaf update after every tree
    even when the gradients are custom, so each leaf is refit to the
    weighted ``alpha``-quantile of its residuals times ``eta`` by XGBoost's
    own code, as in the built-ins (XGBoost has no public API to set leaf
    values; this route needs none and keeps the training predictions in
    step).
  - XGBoost >= 3.4 removed that leaf update (PRs #12373, #12386, #12391):
    the built-ins became smooth MM objectives on the normal gradient path.
    The loss's ``curvature="mm"`` variant computes the same gradients, so
    the trees are those of the built-in (in distributed training the
    residual scale is all-reduced over the workers, as XGBoost does).

  Either way (with ``refit_leaves=True``) the model names the built-in, so
  plain ``xgboost.train`` continuing it trains the same loss.
* **Weights, groups, shapes.** DMatrix weights multiply the gradients (with
  query groups XGBoost takes one weight per group, which applies to every
  row of the group), query groups (``group=`` / ``qid=``) reach grouped
  losses, multiclass margins are ``(n, k)``, and labels are checked against
  the loss before the first tree.
* **Loss record.** The loss name and parameters are stored as the booster
  attribute ``"gbm_objectives_loss"`` (kept by ``save_model``), which
  :func:`predict` reads.

scikit-learn: ``XGBRegressor(objective=objective(loss))`` and
``XGBClassifier(objective=objective(loss))`` accept the same callable and
honour ``sample_weight``. The estimators pick the booster objective
themselves, so pass the start as ``base_score=base_score(loss, y, w,
objective=...)`` with the objective they run (required: ``base_score`` is
read in that objective's space): ``"reg:squarederror"`` for
``XGBRegressor`` (its ``predict`` then returns margins: use
``predict(model.get_booster(), X, loss=loss)`` for the response scale), and
``"binary:logistic"`` (two classes) or ``"multi:softprob"`` for
``XGBClassifier``, whose sigmoid and softmax are the inverse links of the
logit and softmax losses: ``predict_proba`` is then the response scale of
``logistic`` (with label smoothing, the smoothed-target probability, as
:meth:`Loss.predict`), ``focal``, ``softmax`` and ``softmax_focal``.
XGBoost's estimators run no leaf refit with a callable objective: for
absolute error and quantile losses use :func:`train` or this module's
estimators (``XGBRegressor(loss=...)``); a custom objective of those losses
in plain XGBoost warns once per process (:class:`LeafRefitWarning`).

Cross-validation: :func:`cv` is :func:`xgboost.cv` with each fold trained as
:func:`train` (its own start margin, the loss's metric).

Dask: :func:`dask_train` is :func:`train` for ``xgboost.dask``.
"""

from __future__ import annotations

import ctypes
import json
import math
import re
import weakref
from typing import Any, Mapping, Sequence

import numpy as np
import xgboost as xgb
from xgboost import collective

from ._adapters import (
    Data,
    LeafRefitWarning,
    ObjectiveBase,
    check_margin,
    check_output,
    loss_from_json,
    loss_to_json,
    predict_response,
    response_to_margin,
    refits,
    same_values,
    warn_no_refit,
)
from .losses import AbsoluteError, Loss, Quantile, as_loss

__all__ = [
    "BUILTIN_LEAF_REFIT",
    "LOSS_ATTR",
    "LeafRefitWarning",
    "XGBMetric",
    "XGBObjective",
    "base_score",
    "booster_objective",
    "cv",
    "dask_train",
    "metric",
    "metric_name",
    "objective",
    "predict",
    "train",
    "warn_no_refit",
]

#: Booster attribute holding the loss as JSON ``{"name": ..., "params": {...}}``.
LOSS_ATTR = "gbm_objectives_loss"

#: Prefix of the library's metric names: XGBoost's own metrics never start
#: with it, so the two never share an entry of the evaluation log (the same
#: rule as the LightGBM adapter's).
METRIC_PREFIX = "gbm_"

#: The built-in objective whose output transform is each link's inverse.
_LINK_OBJECTIVE = {
    "identity": "reg:squarederror",
    "log": "reg:tweedie",
    "logit": "binary:logistic",
    "softmax": "multi:softprob",
}
#: Parameters fixed by the loss, named by the built-in objective that reads them.
_LOSS_PARAMS = ("quantile_alpha", "tweedie_variance_power", "huber_slope")


def _same_loss_builtin(loss: Loss) -> dict[str, Any] | None:
    """XGBoost's built-in objective with the loss's own gradients, and its parameters.

    A model configured with it names the loss it was trained on, so plain
    ``xgboost.train(xgb_model=...)`` continues it on the same loss (losses
    without one continue there under their host objective).
    ``count:poisson``'s Hessian is ``exp(f + max_delta_step)`` and XGBoost
    also caps every leaf step at ``max_delta_step`` (default 0.7 for that
    objective); the carrier takes the loss's own safeguard
    (``Poisson(max_delta_step=...)``, whose Hessian is the same), so the
    saved model continues identically in plain XGBoost. A loss without the
    attribute has the exact Hessian ``exp(f)``: 0, no cap.
    """
    name = loss.name
    if name == "poisson":
        return {"objective": "count:poisson", "max_delta_step": _poisson_max_delta_step(loss)}
    if name == "gamma":
        return {"objective": "reg:gamma"}
    if name == "tweedie":
        return {"objective": "reg:tweedie", "tweedie_variance_power": float(loss.power)}  # type: ignore[attr-defined]
    if name == "pseudo_huber" and loss.curvature == "exact":  # type: ignore[attr-defined]
        return {"objective": "reg:pseudohubererror", "huber_slope": float(loss.delta)}  # type: ignore[attr-defined]
    return None


def _poisson_max_delta_step(loss: Loss) -> float:
    return float(getattr(loss, "max_delta_step", 0.0))


#: Built-in objectives and the space their ``base_score`` is given in.
_BASE_SCORE_SPACE = {
    "reg:squarederror": "margin",
    "reg:absoluteerror": "margin",
    "reg:quantileerror": "margin",
    "reg:pseudohubererror": "margin",
    "multi:softprob": "margin",
    "multi:softmax": "margin",
    "reg:tweedie": "exp",
    "count:poisson": "exp",
    "reg:gamma": "exp",
    "binary:logistic": "sigmoid",
}
#: XGBoost needs a logistic base_score strictly inside (0, 1) in float32.
_LOGIT_BASE_LIMIT = 15.0


def _version_tuple(version: str) -> tuple[int, int]:
    match = re.match(r"(\d+)\.(\d+)", version)
    if match is None:
        raise ImportError(f"cannot read the XGBoost version {version!r}")
    return int(match.group(1)), int(match.group(2))


#: Whether the installed XGBoost refits the leaves of ``reg:absoluteerror`` /
#: ``reg:quantileerror`` to residual quantiles after each tree (< 3.4). On
#: 3.4 and later those objectives are smooth MM objectives instead, and
#: :func:`train` hands XGBoost the ``curvature="mm"`` gradients of the loss.
BUILTIN_LEAF_REFIT: bool = _version_tuple(xgb.__version__) < (3, 4)


# ---------------------------------------------------------------------------
# Reading a DMatrix
# ---------------------------------------------------------------------------

_BOOSTER = "XGBoost"
_GROUP_HINT = "build the DMatrix with group= or qid="


def _read_dmatrix(loss: Loss, dmat: "xgb.DMatrix", what: str) -> Data:
    """Labels, weights and query groups of ``dmat``, checked against ``loss``."""
    label, weight = dmat.get_label(), dmat.get_weight()
    group_ptr = _group_ptr(loss, dmat, label.shape[0], weight.shape[0])
    return Data(loss, label, _row_weights(weight, group_ptr), _loss_groups(loss, group_ptr), what, _GROUP_HINT)


def _group_ptr(loss: Loss, dmat: "xgb.DMatrix", n_rows: int, n_weights: int) -> np.ndarray | None:
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

    def _info_view(dmat: "xgb.DMatrix", field: str) -> np.ndarray:
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

    def _info_view(dmat: "xgb.DMatrix", field: str) -> np.ndarray:
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

    def get(self, loss: Loss, dmat: "xgb.DMatrix", what: str) -> Data:
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


# ---------------------------------------------------------------------------
# Objective and metric
# ---------------------------------------------------------------------------


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
        self._mm = isinstance(self.loss, Quantile) and self.loss.curvature == "mm"

    def __call__(self, a: Any, b: Any, sample_weight: Any = None) -> tuple[np.ndarray, np.ndarray]:
        if isinstance(b, xgb.DMatrix):
            return self._native(a, b)
        return self._sklearn_call(a, b, sample_weight)

    def _native(self, predt: Any, dtrain: "xgb.DMatrix") -> tuple[np.ndarray, np.ndarray]:
        if self._refit_unchecked:
            self._check_refit("xgboost.train(obj=gbm_objectives.xgboost.objective(...))")
        m = check_margin(self.loss, predt, dtrain.num_row(), _BOOSTER)
        data = self._cache.get(self.loss, dtrain, "training data")
        if self._mm and collective.get_world_size() > 1:
            return self._mm_distributed(m, data)
        return self._grad_hess(m, data)

    def _mm_distributed(self, margin: np.ndarray, data: Data) -> tuple[np.ndarray, np.ndarray]:
        """The MM surrogate with its residual scale summed over all workers, as XGBoost's built-in."""
        loss: Quantile = self.loss  # type: ignore[assignment]
        sums = collective.allreduce(np.array(loss._mm_sums(data.y, margin, data.weight)), collective.Op.SUM)
        grad, hess = self._thread_buffers().get(margin.shape)
        loss._mm_grad_hess_into(data.y, margin, data.weight, grad, hess, (float(sums[0]), float(sums[1])))
        return grad, hess

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


# ---------------------------------------------------------------------------
# Booster configuration
# ---------------------------------------------------------------------------


def booster_objective(loss: Loss | str, *, refit_leaves: bool = True) -> dict[str, Any]:
    """The built-in objective :func:`train` configures the booster with for ``loss``.

    Where XGBoost has a built-in with the loss's gradients (Poisson:
    ``count:poisson`` with the loss's ``max_delta_step``, which XGBoost
    reads both in that Hessian and as the leaf-step cap; Gamma: ``reg:gamma``;
    Tweedie: ``reg:tweedie`` with its ``tweedie_variance_power``;
    pseudo-Huber with its exact curvature: ``reg:pseudohubererror`` with
    ``huber_slope``), that one, so the model names its loss and plain
    XGBoost continues it on the same loss; otherwise one whose output
    transform is the loss's inverse link, and plain
    ``xgboost.train(xgb_model=...)`` continues such a model under that host
    objective, not the loss (exactly only where the host's gradients are
    the loss's: ``squared_error``, ``logistic`` without label smoothing,
    ``softmax`` with ``hessian_scale="xgboost"``). Under :func:`train` its gradients
    are replaced by the loss's; what it contributes is the output transform
    (the loss's inverse link), the space of ``base_score``
    and, for absolute error and quantile losses (unless ``refit_leaves`` is
    False), the refit of every leaf to a residual quantile on XGBoost < 3.4;
    on 3.4 and later that objective is the smooth MM objective whose
    gradients :func:`train` hands over (see ``BUILTIN_LEAF_REFIT``).

    Returns
    -------
    dict
        XGBoost parameters: ``objective`` and, where needed, ``num_class``,
        ``quantile_alpha``, ``tweedie_variance_power``, ``huber_slope`` or
        ``max_delta_step``.
    """
    loss = as_loss(loss)
    if refits(loss, refit_leaves):
        if isinstance(loss, AbsoluteError):
            return {"objective": "reg:absoluteerror"}
        return {"objective": "reg:quantileerror", "quantile_alpha": float(loss.alpha)}
    builtin = _same_loss_builtin(loss)
    if builtin is not None:
        return builtin
    params: dict[str, Any] = {"objective": _LINK_OBJECTIVE[loss.link.name]}
    if loss.is_multiclass:
        params["num_class"] = loss.n_outputs
    return params


def _margin_to_base_score(loss: Loss, margin: Any, objective_name: str) -> float | list[float]:
    space = _BASE_SCORE_SPACE.get(objective_name)
    if space is None:
        raise ValueError(
            f"objective must be one of {', '.join(sorted(_BASE_SCORE_SPACE))}; got {objective_name!r}"
        )
    multi_objective = objective_name.startswith("multi:")
    if multi_objective != loss.is_multiclass:
        kind = "a multiclass" if multi_objective else "a single-output"
        raise ValueError(f"objective {objective_name!r} is {kind} objective; it does not fit {loss!r}")
    m = np.asarray(margin, dtype=np.float64)
    expected = (loss.n_outputs,) if loss.is_multiclass else ()
    if m.shape != expected or not np.all(np.isfinite(m)):
        raise ValueError(f"init_score must be a finite margin of shape {expected}, got {margin!r}")
    if space == "exp":
        if loss.link.name != "log":
            raise ValueError(f"objective {objective_name!r} has a log link; {loss!r} has a {loss.link.name} link")
        return float(math.exp(float(m)))
    if space == "sigmoid":
        if loss.link.name != "logit":
            raise ValueError(f"objective {objective_name!r} has a logit link; {loss!r} has a {loss.link.name} link")
        c = min(max(float(m), -_LOGIT_BASE_LIMIT), _LOGIT_BASE_LIMIT)
        return float(1.0 / (1.0 + math.exp(-c)))
    return [float(v) for v in m] if loss.is_multiclass else float(m)


def base_score(
    loss: Loss | str,
    y: Any,
    sample_weight: Any = None,
    *,
    objective: str | None = None,
    group: Any = None,
) -> float | list[float]:
    """XGBoost's ``base_score`` that starts a booster at the loss's best constant margin.

    :func:`train`, :func:`cv`, :func:`dask_train` and this module's
    estimators set it themselves; this is for XGBoost's own scikit-learn
    estimators and hand-built ``xgboost.train`` calls. XGBoost reads
    ``base_score`` in the space of the booster's built-in objective (the
    mean for log-link objectives, a probability for ``binary:logistic``, the
    margin otherwise), so the objective the booster runs must be named.

    Parameters
    ----------
    loss : Loss or str
    y, sample_weight : arrays of shape (n,)
        Training labels and optional weights.
    objective : str
        Required: the built-in objective the booster runs.
        ``xgboost.XGBRegressor(objective=callable)`` runs
        ``"reg:squarederror"`` (its ``base_score`` is the margin itself);
        ``xgboost.XGBClassifier(objective=callable)`` runs
        ``"binary:logistic"`` (two classes) or ``"multi:softprob"``; a
        hand-built ``xgboost.train`` runs its ``params["objective"]``, e.g.
        ``booster_objective(loss)["objective"]``.
    group : array, optional
        Grouped losses: group sizes or query ids.

    Returns
    -------
    float or list of float
        A list of ``num_class`` margins for multiclass losses.

    Raises
    ------
    ValueError
        When ``objective`` is missing, unknown, or does not fit the loss's link.
    """
    loss = as_loss(loss)
    if objective is None:
        raise ValueError(
            "base_score needs objective=, the built-in objective the booster runs (it fixes the space "
            "base_score is read in): 'reg:squarederror' for xgboost.XGBRegressor(objective=callable), "
            "'binary:logistic' or 'multi:softprob' for xgboost.XGBClassifier(objective=callable), "
            f"booster_objective(loss)['objective'] for xgboost.train (here "
            f"{booster_objective(loss)['objective']!r}); one of {', '.join(sorted(_BASE_SCORE_SPACE))}"
        )
    if not isinstance(objective, str):
        raise ValueError(f"objective must be a built-in objective name, got {objective!r}")
    return _margin_to_base_score(loss, loss.init_score(y, sample_weight, group=group), objective)


def _prepare_params(loss: Loss, params: Mapping[str, Any] | None, refit_leaves: bool) -> dict[str, Any]:
    if params is None:
        params = {}
    if not isinstance(params, Mapping):
        raise ValueError(f"params must be a dict of XGBoost parameters, got {type(params).__name__}")
    out = dict(params)
    if "objective" in out:
        raise ValueError(
            "params['objective'] is set by the loss; remove it "
            f"({loss!r} trains under {booster_objective(loss)['objective']!r})"
        )
    if "base_score" in out:
        raise ValueError("params['base_score'] is set from the loss's start margin; pass init_score= instead")
    _check_scale_pos_weight(loss, out.get("scale_pos_weight"))
    carrier = booster_objective(loss, refit_leaves=refit_leaves)
    if loss.is_multiclass:
        k = out.get("num_class", loss.n_outputs)
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or int(k) != loss.n_outputs:
            raise ValueError(f"params['num_class'] = {k!r} does not match the loss's num_class = {loss.n_outputs}")
    elif out.get("num_class") not in (None, 0, 1):
        raise ValueError(
            f"params['num_class'] = {out['num_class']!r} is for multiclass losses; {loss!r} has one output"
        )
    for key in _LOSS_PARAMS:
        if key in out and out[key] != carrier.get(key):
            raise ValueError(f"params[{key!r}] is set by the loss ({loss!r}); remove it")
    # count:poisson adds max_delta_step to its Hessian as well as capping the
    # leaf steps: only the loss's own value keeps the two Hessians, and a
    # plain-XGBoost continuation, the same. Elsewhere a user's value only caps.
    if "max_delta_step" in carrier and "max_delta_step" in out:
        given = out["max_delta_step"]
        same = isinstance(given, (int, float, np.integer, np.floating)) and not isinstance(given, bool)
        if not (same and float(given) == carrier["max_delta_step"]):
            raise ValueError(
                f"params['max_delta_step'] = {given!r} conflicts with {loss!r}, whose Hessian uses "
                f"max_delta_step = {carrier['max_delta_step']:g} (count:poisson reads it for both the "
                "Hessian and the leaf-step cap); set it on the loss instead: "
                "get_loss('poisson', max_delta_step=...), and remove it from params"
            )
    out.update(carrier)
    if "eval_metric" not in out:
        # The built-in objective's default metric would be on a different loss.
        out["disable_default_eval_metric"] = True
    return out


def _check_scale_pos_weight(loss: Loss, value: Any) -> None:
    """Refuse a ``scale_pos_weight`` the custom gradients would silently ignore.

    XGBoost applies it inside its built-in binary objectives only; the
    library's gradients replace those, so any value but 1 would train an
    unweighted model. Row weights do the same job explicitly.
    """
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f"scale_pos_weight must be a number, got {value!r}")
    if float(value) == 1.0:
        return
    if loss.is_multiclass or loss.link.name != "logit":
        raise ValueError(
            f"scale_pos_weight = {value!r} is for binary classification; {loss!r} is not a binary loss. "
            "Remove it (weight rows with sample_weight / DMatrix weights instead)"
        )
    raise ValueError(
        f"scale_pos_weight = {value!r} is not applied to the library's gradients (XGBoost uses it only "
        "inside its built-in binary objectives). Weight the positive rows instead: "
        f"sample_weight = np.where(y == 1, {value!r}, 1.0) (times any weights you have), or "
        "DMatrix(..., weight=...)"
    )


def _record_loss(booster: "xgb.Booster", loss: Loss) -> None:
    booster.set_attr(**{LOSS_ATTR: loss_to_json(loss)})


def _booster_loss(booster: "xgb.Booster") -> Loss:
    raw = booster.attr(LOSS_ATTR)
    if raw is None:
        raise ValueError(
            "this booster was not trained through gbm_objectives (no "
            f"{LOSS_ATTR!r} attribute); pass loss= explicitly"
        )
    return loss_from_json(raw)


def _booster_args(
    loss: Loss,
    params: Mapping[str, Any] | None,
    refit_leaves: bool,
    kwargs: dict[str, Any],
    caller: str,
    cv_metrics: Any = None,
) -> tuple[dict[str, Any], XGBObjective]:
    """Booster parameters and objective of a training call; sets the default metric in ``kwargs``.

    ``cv_metrics``: :func:`xgboost.cv`'s ``metrics``, which replace
    ``params["eval_metric"]`` there.
    """
    if "obj" in kwargs:
        raise ValueError(f"obj is set from the loss; {caller}() does not accept obj=")
    booster_params = _prepare_params(loss, params, refit_leaves)
    user_metrics = _metric_names(booster_params.get("eval_metric"))
    if cv_metrics is not None and (isinstance(cv_metrics, str) or len(cv_metrics) > 0):
        user_metrics = _metric_names(cv_metrics)
    if "custom_metric" not in kwargs:
        kwargs["custom_metric"] = metric(loss)
        if user_metrics and kwargs.get("early_stopping_rounds"):
            _stop_on_user_metric(kwargs, user_metrics[-1])
    return booster_params, _training_objective(loss, refit_leaves)


def _metric_names(eval_metric: Any) -> list[str]:
    if eval_metric is None:
        return []
    names = [eval_metric] if isinstance(eval_metric, str) else list(eval_metric)
    if not names or not all(isinstance(name, str) and name for name in names):
        raise ValueError(f"params['eval_metric'] must be a metric name or a list of names, got {eval_metric!r}")
    return names


def _stop_on_user_metric(kwargs: dict[str, Any], name: str) -> None:
    """Early stopping on the user's last ``eval_metric``, as XGBoost would without the library's metric.

    XGBoost stops on the last metric of the last evaluation set, and logs a
    ``custom_metric`` after the built-in ones: the loss's metric, added by
    default, would take the user's place. The same rule is kept with an
    explicit :class:`xgboost.callback.EarlyStopping` on the user's metric.
    """
    rounds = kwargs.pop("early_stopping_rounds")
    stop = xgb.callback.EarlyStopping(rounds=rounds, metric_name=name, maximize=kwargs.pop("maximize", None))
    kwargs["callbacks"] = [*(kwargs.get("callbacks") or ()), stop]


def _training_objective(loss: Loss, refit_leaves: bool) -> XGBObjective:
    """The gradients :func:`train` hands XGBoost for ``loss``.

    Absolute error and quantile losses follow the installed XGBoost's
    built-in (``BUILTIN_LEAF_REFIT``): one unit of curvature per row under
    its leaf refit (< 3.4), or its smooth MM surrogate (>= 3.4), where
    nothing refits the leaves and they are Newton steps on those gradients.
    """
    # Built here, the refit is chosen (refit_leaves=False is the user's
    # choice): no warning of a path without refit.
    if not refits(loss, refit_leaves):
        return XGBObjective(loss)._managed()  # type: ignore[return-value]
    if BUILTIN_LEAF_REFIT:
        return XGBObjective(loss, row_curvature=True)._managed()  # type: ignore[return-value]
    mm = AbsoluteError(curvature="mm") if isinstance(loss, AbsoluteError) else Quantile(loss.alpha, curvature="mm")
    return XGBObjective(mm)._managed()  # type: ignore[return-value]


# ---------------------------------------------------------------------------
# Training and prediction
# ---------------------------------------------------------------------------


def train(
    loss: Loss | str,
    params: Mapping[str, Any] | None,
    dtrain: "xgb.DMatrix",
    num_boost_round: int = 100,
    *,
    evals: Sequence[tuple["xgb.DMatrix", str]] = (),
    init_score: float | Sequence[float] | None = None,
    refit_leaves: bool = True,
    **kwargs: Any,
) -> "xgb.Booster":
    """Train an XGBoost booster on ``loss``: :func:`xgboost.train` with the loss wired in.

    Parameters
    ----------
    loss : Loss or str
    params : dict
        XGBoost parameters, without ``objective`` and ``base_score`` (both
        come from the loss). ``num_class`` is filled in for multiclass losses
        and must match if given. For Poisson, ``max_delta_step`` comes from
        the loss (``get_loss("poisson", max_delta_step=...)``); a different
        value here raises ValueError. ``scale_pos_weight`` other than 1 raises
        ValueError: XGBoost applies it only inside its built-in binary
        objectives, never to custom gradients; weight the positive rows
        (``DMatrix(weight=...)``) instead.
    dtrain : xgboost.DMatrix
        Labels, optional weights, and query groups for grouped losses.
    num_boost_round : int, default 100
    evals : sequence of (DMatrix, name)
        Evaluation sets; they start from the same margin as ``dtrain``.
    init_score : float or sequence of float, optional
        Start margin (raw score; ``num_class`` values for multiclass). Default:
        ``loss.init_score(labels, weights)``, the best constant; when
        training continues from ``xgb_model``, that model's start is kept.
    refit_leaves : bool, default True
        Absolute error and quantile losses: train as the installed XGBoost's
        ``reg:absoluteerror`` / ``reg:quantileerror`` do. On XGBoost < 3.4
        every leaf is refit to the weighted ``alpha``-quantile of its
        residuals times ``eta`` after each tree (XGBoost's own leaf update,
        run by configuring the booster with that objective); the Hessian
        then only shapes the splits, and XGBoost gets one unit per row
        (times its weight), as in those built-ins, so ``min_child_weight``
        counts rows whatever the scale of the target. On XGBoost >= 3.4,
        which dropped that update, the gradients are the loss's
        ``curvature="mm"`` surrogate, the built-ins' own. False keeps plain
        Newton leaves with the loss's own curvature.
    **kwargs
        Passed to :func:`xgboost.train` (``early_stopping_rounds``,
        ``evals_result``, ``verbose_eval``, ``callbacks``, ``xgb_model``...).
        ``custom_metric`` defaults to :func:`metric` of the loss, logged as
        ``"gbm_" + loss.name`` (:func:`metric_name`, e.g. ``"gbm_tweedie"``
        in ``evals_result["valid"]``), a name no built-in metric has; pass
        your own, or ``custom_metric=None`` for none. ``obj`` is not allowed. With
        ``params["eval_metric"]`` set, ``early_stopping_rounds`` stops on
        the last of those metrics (on the last evaluation set), as
        XGBoost does, not on the loss's metric logged beside them. Built-in
        metrics see the response scale (the booster's objective applies the
        loss's inverse link before them).

    Returns
    -------
    xgboost.Booster
        Its ``predict`` returns the response scale; the loss is stored in
        the ``"gbm_objectives_loss"`` attribute for :func:`predict`. It
        holds every tree trained, also after early stopping, which records
        ``best_iteration``: :func:`predict` then uses the trees up to it by
        default, ``booster.predict`` all of them (XGBoost's default). A
        continued model (``xgb_model=``) keeps a ``best_iteration`` only if
        this run stopped early.
    """
    loss = as_loss(loss)
    if not isinstance(dtrain, xgb.DMatrix):
        raise ValueError(f"dtrain must be an xgboost.DMatrix, got {type(dtrain).__name__}")
    booster_params, obj = _booster_args(loss, params, refit_leaves, kwargs, "train")
    data = _read_dmatrix(loss, dtrain, "dtrain")
    evals = list(evals)
    for pair in evals:
        if not (isinstance(pair, tuple) and len(pair) == 2 and isinstance(pair[0], xgb.DMatrix)):
            raise ValueError("evals must be a sequence of (DMatrix, name) pairs")
        if pair[0] is not dtrain:
            _read_dmatrix(loss, pair[0], f"evaluation set {pair[1]!r}")
    if init_score is not None or kwargs.get("xgb_model") is None:
        start = data.best_constant(loss) if init_score is None else init_score
        booster_params["base_score"] = _margin_to_base_score(loss, start, booster_params["objective"])
    booster = xgb.train(booster_params, dtrain, num_boost_round, evals=evals, obj=obj, **kwargs)
    _drop_inherited_best(booster, kwargs)
    _record_loss(booster, loss)
    return booster


def _drop_inherited_best(booster: "xgb.Booster", kwargs: Mapping[str, Any]) -> None:
    """Forget the best iteration a continued model inherited from ``xgb_model``.

    XGBoost keeps the ``best_iteration`` / ``best_score`` attributes of the
    model it continues when the new run does not stop early, so predictions
    from the best iteration (:func:`predict`, the scikit-learn estimators)
    would drop every tree just trained. Only a run's own early stopping sets
    them here.
    """
    if kwargs.get("xgb_model") is None or booster.attr("best_iteration") is None:
        return
    callbacks = kwargs.get("callbacks") or ()
    if kwargs.get("early_stopping_rounds") or any(isinstance(cb, xgb.callback.EarlyStopping) for cb in callbacks):
        return
    booster.set_attr(best_iteration=None, best_score=None)


def cv(
    loss: Loss | str,
    params: Mapping[str, Any] | None,
    dtrain: "xgb.DMatrix",
    num_boost_round: int = 10,
    *,
    nfold: int = 3,
    init_score: float | Sequence[float] | None = None,
    refit_leaves: bool = True,
    **kwargs: Any,
) -> Any:
    """Cross-validate ``loss``: :func:`xgboost.cv` with the loss wired in, each fold as :func:`train`.

    Every fold starts from the loss's best constant of its own training part
    (its labels and weights), set as that fold's ``base_score``; the
    objective, the host objective (link, leaf refit or MM gradients) and the
    loss's metric are those of :func:`train`. Early stopping follows
    XGBoost's rule over the user's metrics as in :func:`train`.

    Parameters
    ----------
    loss, params, num_boost_round, init_score, refit_leaves
        As in :func:`train`; ``init_score``, when given, starts every fold.
    dtrain : xgboost.DMatrix
        All the data; the folds are slices of it.
    nfold : int, default 3
    **kwargs
        Passed to :func:`xgboost.cv` (``folds``, ``stratified``, ``metrics``,
        ``early_stopping_rounds``, ``as_pandas``, ``seed``, ``shuffle``,
        ``callbacks``, ``fpreproc``, ``verbose_eval``...). ``custom_metric``
        defaults to :func:`metric` of the loss, named ``"gbm_" + loss.name``
        (columns ``"test-gbm_tweedie-mean"``...). A ``fpreproc`` of yours runs
        first; the fold's start is read from what it returns. ``obj`` is not
        allowed.

    Returns
    -------
    pandas.DataFrame or dict
        What :func:`xgboost.cv` returns: ``train-<metric>-mean``,
        ``train-<metric>-std``, ``test-<metric>-mean``, ``test-<metric>-std``
        per round.
    """
    loss = as_loss(loss)
    if not isinstance(dtrain, xgb.DMatrix):
        raise ValueError(f"dtrain must be an xgboost.DMatrix, got {type(dtrain).__name__}")
    if isinstance(nfold, bool) or not isinstance(nfold, (int, np.integer)) or nfold < 2:
        raise ValueError(f"nfold must be an integer >= 2, got {nfold!r}")
    booster_params, obj = _booster_args(loss, params, refit_leaves, kwargs, "cv", kwargs.get("metrics"))
    _read_dmatrix(loss, dtrain, "dtrain")
    objective_name = booster_params["objective"]
    fixed = None if init_score is None else _margin_to_base_score(loss, init_score, objective_name)
    user_fpreproc = kwargs.pop("fpreproc", None)

    def start_each_fold(fold_train: Any, fold_test: Any, fold_params: Any) -> tuple[Any, Any, Any]:
        if user_fpreproc is not None:
            fold_train, fold_test, fold_params = user_fpreproc(fold_train, fold_test, fold_params)
        start = fixed
        if start is None:
            # Grouped losses compare rows within a group: a common start changes nothing.
            margin = 0.0 if loss.needs_group else _read_dmatrix(loss, fold_train, "training fold").best_constant(loss)
            start = _margin_to_base_score(loss, margin, objective_name)
        fold_params = dict(fold_params)
        fold_params["base_score"] = start
        return fold_train, fold_test, fold_params

    return xgb.cv(booster_params, dtrain, num_boost_round, nfold=nfold, obj=obj, fpreproc=start_each_fold, **kwargs)


def predict(
    booster: "xgb.Booster",
    data: Any,
    *,
    output: str = "response",
    loss: Loss | str | None = None,
    group: Any = None,
    iteration_range: tuple[int, int] | None = None,
) -> np.ndarray:
    """Predictions of a booster trained on a library loss, as float64.

    Parameters
    ----------
    booster : xgboost.Booster
    data : xgboost.DMatrix, array-like or DataFrame
    output : {"response", "margin"}, default "response"
        ``"response"``: the loss's inverse link of the margin (mean, median,
        probability, class probabilities of shape (n, k)); ``"margin"``: raw scores.
    loss : Loss or str, optional
        Default: the loss recorded on the booster by :func:`train`.
    group : array, optional
        Grouped losses on the response scale: group sizes or query ids (read
        from a DMatrix's query groups when not given).
    iteration_range : (int, int), optional
        Trees to use, as in :meth:`xgboost.Booster.predict`. Default (None):
        the best iteration when early stopping recorded one on the booster
        (its ``best_iteration`` attribute, set by :func:`train` /
        ``xgboost.train`` with ``early_stopping_rounds`` and by the
        scikit-learn estimators' ``fit``), i.e. ``(0, best_iteration + 1)``,
        as the scikit-learn estimators' ``predict`` does; otherwise every
        tree. ``(0, 0)`` always uses every tree.

    Notes
    -----
    :meth:`xgboost.Booster.predict` and ``inplace_predict`` use every tree
    by default, also after early stopping (checked on XGBoost 3.2 and 3.4):
    ``booster.predict(X)`` of an early-stopped booster then differs from
    this function's default; pass ``iteration_range=(0, 0)`` here for the
    same trees.
    """
    if not isinstance(booster, xgb.Booster):
        raise ValueError(f"booster must be an xgboost.Booster, got {type(booster).__name__}")
    check_output(output)
    loss = _booster_loss(booster) if loss is None else as_loss(loss)
    iteration_range = _iteration_range(booster, iteration_range)
    if isinstance(data, xgb.DMatrix):
        raw = booster.predict(data, output_margin=True, iteration_range=iteration_range)
        if group is None and loss.needs_group:
            ptr = data.get_uint_info("group_ptr")
            group = np.diff(ptr.astype(np.int64)) if ptr.shape[0] > 1 else None
    else:
        if isinstance(data, (list, tuple)):
            data = np.asarray(data, dtype=np.float64)
        raw = booster.inplace_predict(data, iteration_range=iteration_range, predict_type="margin")
    margin = check_margin(loss, raw, np.shape(raw)[0], _BOOSTER).astype(np.float64)
    if output == "margin":
        return margin
    return predict_response(loss, margin, group)


def _iteration_range(booster: "xgb.Booster", iteration_range: Any) -> tuple[int, int]:
    """``iteration_range`` checked; None: up to the recorded best iteration, else every tree."""
    if iteration_range is None:
        best = booster.attr("best_iteration")
        return (0, 0) if best is None else (0, int(best) + 1)
    try:
        start, end = iteration_range
    except (TypeError, ValueError):
        raise ValueError(f"iteration_range must be a pair (start, end) of integers, got {iteration_range!r}") from None
    if not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in (start, end)):
        raise ValueError(f"iteration_range must be a pair (start, end) of integers, got {iteration_range!r}")
    if start < 0 or end < 0 or (end != 0 and end <= start):
        raise ValueError(
            f"iteration_range must hold 0 <= start < end, or end 0 for every tree from start; got {iteration_range!r}"
        )
    return int(start), int(end)


# ---------------------------------------------------------------------------
# Dask
# ---------------------------------------------------------------------------


def _label_weight(part: Any) -> tuple[Any, Any] | None:
    if not isinstance(part, dict) or part.get("label") is None:
        return None
    return part["label"], part.get("weight")


def _dask_labels(client: Any, dtrain: Any) -> tuple[np.ndarray, np.ndarray | None]:
    """Labels and weights of a DaskDMatrix, gathered from its partitions."""
    parts = [fut for futs in dtrain.worker_map.values() for fut in futs]
    if not parts:
        raise ValueError("the DaskDMatrix holds no partitions")
    pieces = client.gather(client.map(_label_weight, parts, pure=False))
    if any(piece is None for piece in pieces):
        raise ValueError(
            "could not read labels from the DaskDMatrix partitions (no labels, or an "
            "unknown partition layout); pass init_score= explicitly"
        )
    ys = [np.asarray(y, dtype=np.float64).reshape(-1) for y, _ in pieces]
    ws = [w for _, w in pieces]
    weight = None if all(w is None for w in ws) else np.concatenate([np.asarray(w).reshape(-1) for w in ws])
    return np.concatenate(ys), weight


def dask_train(
    client: Any,
    loss: Loss | str,
    params: Mapping[str, Any] | None,
    dtrain: Any,
    num_boost_round: int = 100,
    *,
    evals: Sequence[tuple[Any, str]] = (),
    init_score: float | Sequence[float] | None = None,
    refit_leaves: bool = True,
    **kwargs: Any,
) -> dict[str, Any]:
    """:func:`train` on a Dask cluster: :func:`xgboost.dask.train` with the loss wired in.

    The start margin is the loss's best constant over all partitions: the
    labels and weights (not the features) are gathered to the client to
    compute it, unless ``init_score`` is given. Each worker validates its
    partition's labels before the first tree; the metric is all-reduced.

    Parameters
    ----------
    client : distributed.Client
    loss, params, num_boost_round, evals, init_score, refit_leaves, **kwargs
        As in :func:`train`; ``dtrain`` and the ``evals`` sets are
        :class:`xgboost.dask.DaskDMatrix` objects.

    Returns
    -------
    dict
        ``{"booster": Booster, "history": dict}`` as :func:`xgboost.dask.train`;
        ``xgboost.dask.predict`` on the booster gives response-scale predictions.
    """
    from xgboost import dask as dxgb

    loss = as_loss(loss)
    if not isinstance(dtrain, dxgb.DaskDMatrix):
        raise ValueError(f"dtrain must be an xgboost.dask.DaskDMatrix, got {type(dtrain).__name__}")
    booster_params, obj = _booster_args(loss, params, refit_leaves, kwargs, "dask_train")
    if init_score is None and kwargs.get("xgb_model") is None:
        # Grouped losses compare rows within a group, so a common start
        # margin changes nothing; the workers still check their groups.
        if loss.needs_group:
            init_score = 0.0
        else:
            init_score = Data(loss, *_dask_labels(client, dtrain), None, "dtrain").best_constant(loss)
    if init_score is not None:
        booster_params["base_score"] = _margin_to_base_score(loss, init_score, booster_params["objective"])
    out = dxgb.train(client, booster_params, dtrain, num_boost_round, evals=list(evals), obj=obj, **kwargs)
    _drop_inherited_best(out["booster"], kwargs)
    _record_loss(out["booster"], loss)
    return out


# scikit-learn estimators (defined apart; they train through train() above).
from ._xgb_estimators import XGBClassifier, XGBRanker, XGBRegressor  # noqa: E402

__all__ += ["XGBClassifier", "XGBRanker", "XGBRegressor"]
