"""What the XGBoost and LightGBM adapters share.

Validated labels, weights and groups of a booster's data set (checked once,
then reused every round), reused float32 gradient buffers, the booster's
scores in the loss's shape, the one-time warning of a training path without
leaf refit, the loss record and the response-scale prediction. Imports no
booster.
"""

from __future__ import annotations

import copy
import json
import sys
import threading
import warnings
import weakref
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
from numba import njit

from ._validation import EMPTY_WEIGHT, check_sample_weight
from .losses import Loss, as_loss, get_loss, get_loss_class, split_loss_spec

# ---------------------------------------------------------------------------
# Validated data
# ---------------------------------------------------------------------------


class Data:
    """Validated labels, weights (empty for none) and group offsets of one data set.

    ``boundaries`` are the booster's group boundaries ``[0, ..., n]``;
    ``group_hint`` says how to give groups to that booster. Every error is
    prefixed with ``what``.
    """

    __slots__ = ("y", "weight", "offsets", "denom")

    def __init__(
        self, loss: Loss, y: Any, weight: Any, boundaries: Any, what: str, group_hint: str = "pass query groups"
    ) -> None:
        try:
            self.y = loss.check_labels(y)
            n = self.y.shape[0]
            w = check_sample_weight(None if weight is None or np.size(weight) == 0 else weight, n)
            self.weight = np.ascontiguousarray(w, dtype=np.float64) if w.shape[0] else EMPTY_WEIGHT
            self.offsets = _offsets(loss, boundaries, n, group_hint) if loss.needs_group else None
            if self.offsets is not None:
                loss.check_groups(self.y, self.weight, self.offsets)
        except ValueError as exc:
            raise ValueError(f"{what}: {exc}") from None
        # The metric's denominator: the (weighted) number of rows, or of
        # groups for grouped losses, whose weight is their first row's.
        starts = None if self.offsets is None else self.offsets[:-1]
        if self.weight.shape[0] == 0:
            self.denom = float(n if starts is None else starts.shape[0])
        else:
            self.denom = float((self.weight if starts is None else self.weight[starts]).sum())

    def init_score(self, loss: Loss) -> float | np.ndarray:
        """``loss.init_score`` of these (already validated) labels and weights."""
        return loss.fit_init_score(self.y, self.weight)

    def loss_sum(self, loss: Loss, margin: np.ndarray) -> float:
        """The weighted loss summed over rows (groups); divide by ``denom`` for the mean."""
        return float(loss.loss_sum(self.y, margin, self.weight, self.offsets))


def _offsets(loss: Loss, boundaries: Any, n_rows: int, group_hint: str) -> np.ndarray:
    if boundaries is None or np.size(boundaries) < 2:
        raise ValueError(f"{loss.name} needs query groups; {group_hint}")
    b = np.ascontiguousarray(np.asarray(boundaries, dtype=np.int64).reshape(-1))
    if b[0] != 0 or b[-1] != n_rows or np.any(np.diff(b) <= 0):
        raise ValueError(f"the query groups do not partition the {n_rows} rows")
    return b


@njit(cache=True, nogil=True, error_model="numpy")
def _count_differences(a, b):
    # Counting instead of returning at the first difference keeps the loop
    # branch-free, so it compiles to SIMD code (~3x faster when nothing changed,
    # the case that matters: a check every round).
    count = 0
    for i in range(a.shape[0]):
        count += a[i] != b[i]
    return count


def same_values(current: np.ndarray, kept: np.ndarray) -> bool:
    """Whether a booster's label or weight array still holds the values ``kept`` was copied from.

    One SIMD pass without temporaries, ~0.1 ns per row: cheap enough to run
    every round, so labels or weights replaced under the same data set
    object (``DMatrix.set_label``, a refit with new ``sample_weight``) are
    always noticed, which no identity or version check of XGBoost's offers.
    """
    if current.shape != kept.shape:
        return False
    if current.size == 0:
        return True
    if current.ndim != 1 or current.dtype != kept.dtype or not current.flags.c_contiguous:
        return bool(np.array_equal(current, kept))
    return _count_differences(current, kept) == 0


class DataCache:
    """Validated :class:`Data` per booster data set, each read once.

    The data sets are held weakly; an entry is read again when its ``stamp``
    (a version counter, a row count) changes or the caller asks to refresh.
    """

    def __init__(self) -> None:
        self._entries: weakref.WeakKeyDictionary[Any, tuple[Any, Data]] = weakref.WeakKeyDictionary()

    def get(self, key: Any, stamp: Any, read: Callable[[], Data], *, refresh: bool = False) -> Data:
        entry = self._entries.get(key)
        if refresh or entry is None or entry[0] != stamp:
            entry = (stamp, read())
            self._entries[key] = entry
        return entry[1]


# ---------------------------------------------------------------------------
# The one-time warning of a path that cannot refit leaves
# ---------------------------------------------------------------------------


class LeafRefitWarning(UserWarning):
    """A loss that needs leaf refit (absolute error, quantile) trains without it."""


#: Loss names already warned about in this process.
_WARNED_NO_REFIT: set[str] = set()
_WARNED_LOCK = threading.Lock()
#: Modules whose frames a warning skips to point at the user's call.
_INTERNAL_MODULES = ("gbm_objectives", "xgboost", "lightgbm", "sklearn", "dask", "distributed")


def needs_leaf_refit(loss: Loss, levels: bool = False) -> bool:
    """Whether ``loss`` falls short of its built-in objective without a leaf refit.

    Absolute error and quantile losses have a (nearly) constant curvature,
    so plain Newton leaves do not reach the built-ins' accuracy: those refit
    every leaf to a residual quantile. The ``curvature="mm"`` surrogate is
    the exception: it is XGBoost >= 3.4's own built-in, which trains
    without a refit. With ``levels`` (LightGBM, where quantile sets refit
    their levels), also a quantile set that asks for it (``refit_levels``).
    """
    return loss.leaf_refit is not None or (levels and loss.level_refit is not None)


def _user_stacklevel() -> int:
    """The :func:`warnings.warn` stacklevel of the first frame outside the library and the boosters.

    Objectives are called from deep inside the boosters' training loops,
    whose depth differs between versions; counting frames by module keeps
    the warning on the user's own line.
    """
    frame = sys._getframe(2)  # the caller of warn_no_refit
    level = 2
    while frame is not None:
        module = frame.f_globals.get("__name__", "")
        if module.split(".", 1)[0] not in _INTERNAL_MODULES:
            return level
        frame = frame.f_back
        level += 1
    return 2


def warn_no_refit(loss: Loss | str, path: str, *, stacklevel: int | None = None, levels: bool = False) -> bool:
    """Warn, once per process and loss kind, that ``loss`` trains on ``path`` without leaf refit.

    Absolute error and quantile losses have a constant curvature, so Newton
    leaves alone do not reach the built-in objectives' accuracy: those refit
    every leaf to a residual quantile. Paths that cannot (an objective
    callable handed to plain ``xgboost.train``, ``lightgbm.train`` or a
    booster's scikit-learn estimator; :func:`gbm_objectives.lightgbm.cv`;
    ``DaskLGBMRegressor``) call this; losses that need no refit
    (:func:`needs_leaf_refit`) are ignored. The warning is a
    :class:`LeafRefitWarning`, shown once per process for each loss name
    (``"absolute_error"``, ``"quantile"``), whatever the filters, so a
    training loop never floods the log.

    Parameters
    ----------
    loss : Loss or str
    path : str
        How the user trains, named in the message (e.g.
        ``"XGBRegressor(objective=gx.objective(loss))"``).
    stacklevel : int, optional
        As in :func:`warnings.warn`, counted from the caller of this
        function. Default: the first frame outside ``gbm_objectives`` and
        the booster libraries, i.e. the user's own call.
    levels : bool, default False
        Also warn for a quantile set with ``refit_levels`` (LightGBM paths:
        XGBoost never refits them).

    Returns
    -------
    bool
        Whether the warning was issued now.
    """
    loss = as_loss(loss)
    if not isinstance(path, str) or not path:
        raise ValueError(f"path must be a non-empty string naming the training path, got {path!r}")
    if stacklevel is not None and (isinstance(stacklevel, bool) or not isinstance(stacklevel, int) or stacklevel < 1):
        raise ValueError(f"stacklevel must be a positive integer, got {stacklevel!r}")
    if not needs_leaf_refit(loss, levels):
        return False
    with _WARNED_LOCK:
        if loss.name in _WARNED_NO_REFIT:
            return False
        _WARNED_NO_REFIT.add(loss.name)
    level = _user_stacklevel() if stacklevel is None else stacklevel + 1
    if loss.leaf_refit is None:
        message = (
            f"{loss.name} with refit_levels=True moves each output's leaves toward its level's residual quantile, "
            f"which {path} cannot do: the model keeps LightGBM's Newton leaves (as refit_levels=False). Train "
            "with gbm_objectives.lightgbm.train or the library's estimators (loss=...) to refit. This warning "
            "is shown once per loss per process."
        )
    else:
        message = (
            f"{loss.name} needs every leaf refit to a residual quantile, which {path} cannot do: the model "
            "keeps plain Newton leaves and falls short of the built-in objective. Train with "
            "gbm_objectives.xgboost.train, gbm_objectives.lightgbm.train or the library's estimators "
            "(loss=...) to refit. This warning is shown once per loss per process."
        )
    warnings.warn(message, LeafRefitWarning, stacklevel=level)
    return True


# ---------------------------------------------------------------------------
# Scores and gradients
# ---------------------------------------------------------------------------


def check_margin(loss: Loss, preds: Any, n_rows: int, booster: str, *, flat_class_major: bool = False) -> np.ndarray:
    """The scores a booster passed, as a float32/float64 array of shape (n,) or (n, k).

    ``flat_class_major`` accepts a flat multiclass array in class-major order
    (LightGBM's storage order) and returns an (n, k) view of it.
    """
    m = np.asarray(preds)
    if m.dtype not in (np.float32, np.float64):
        m = m.astype(np.float64)
    k = loss.n_outputs
    if k > 1:
        if flat_class_major and m.ndim == 1 and m.shape[0] == n_rows * k:
            m = m.reshape(k, n_rows).T
        if m.shape != (n_rows, k):
            raise ValueError(
                f"{loss!r} needs margins of shape ({n_rows}, {k}) but {booster} passed shape {m.shape}; "
                f"set {_outputs_parameter(loss, booster)}={k} in the booster's parameters (the estimators "
                "take it as a keyword argument)"
                + ("" if booster == "XGBoost" or loss.is_multiclass else
                   ", with metric='None' (LightGBM's default regression metric refuses k scores per row)")
            )
    else:
        if m.ndim == 2 and m.shape[1] == 1:
            m = m[:, 0]
        if m.shape != (n_rows,):
            raise ValueError(
                f"{loss!r} needs one margin per row, shape ({n_rows},), but {booster} passed shape {m.shape}; "
                "remove num_class / multi-output settings from params"
            )
    return m


def _outputs_parameter(loss: Loss, booster: str) -> str:
    """The booster parameter that gives a model ``loss.n_outputs`` scores per row."""
    if booster == "XGBoost" and not loss.is_multiclass:
        return "num_target"
    return "num_class"


class Buffers:
    """Float32 gradient and Hessian outputs, reused while the shape stays."""

    __slots__ = ("order", "grad", "hess")

    def __init__(self, order: str = "C") -> None:
        self.order = order
        self.grad: np.ndarray | None = None
        self.hess: np.ndarray | None = None

    def get(self, shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
        if self.grad is None or self.grad.shape != shape:
            self.grad = np.empty(shape, dtype=np.float32, order=self.order)
            self.hess = np.empty(shape, dtype=np.float32, order=self.order)
        return self.grad, self.hess  # type: ignore[return-value]


class ObjectiveBase:
    """A loss's gradient and Hessian written into reused buffers.

    Copies and pickles carry only the loss, ``row_curvature`` and whether the
    library's own training built the object (the caches are rebuilt), so a
    booster copying its parameters is harmless.
    Subclasses add caches in :meth:`_reset` and set ``_order``, the memory
    order of (n, k) outputs.

    Boosters call the objective from the thread that trains, so one object
    may serve several training runs at once (two ``xgboost.train`` threads,
    two estimator fits). The buffers are therefore per thread (``_local``),
    never shared: a run's gradients cannot be overwritten by another's
    before its booster has copied them. Subclasses keep per-run state in
    ``_local`` too.

    An object built by the user for a plain booster call cannot refit
    leaves: its first call with a loss that needs the refit
    (:func:`needs_leaf_refit`) and without ``row_curvature`` issues the
    one-time :class:`LeafRefitWarning` (:meth:`_check_refit`). The library's
    training functions, which choose the refit themselves, build theirs
    with :meth:`_managed`.
    """

    _order = "C"
    #: Whether this booster refits quantile sets' levels (LightGBM), so a plain call without it warns.
    _refits_levels = False

    def __init__(self, loss: Loss | str, *, row_curvature: bool = False) -> None:
        self.loss = as_loss(loss)
        self.row_curvature = bool(row_curvature)
        self._is_managed = False
        self._reset()

    def _reset(self) -> None:
        self._local = threading.local()
        # One attribute test per call; cleared after the first warning check.
        self._refit_unchecked = (
            not self._is_managed and not self.row_curvature and needs_leaf_refit(self.loss, self._refits_levels)
        )

    def _managed(self) -> ObjectiveBase:
        """Mark this object as built by the library's training code (no refit warning); returns it."""
        self._is_managed = True
        self._refit_unchecked = False
        return self

    def _check_refit(self, path: str) -> None:
        """The one-time warning that ``path`` trains a loss needing leaf refit without it."""
        self._refit_unchecked = False
        warn_no_refit(self.loss, path, levels=self._refits_levels)

    def _thread_buffers(self) -> Buffers:
        """This thread's output buffers (one attribute look-up once they exist)."""
        try:
            return self._local.buffers
        except AttributeError:
            buffers = self._local.buffers = Buffers(self._order)
            return buffers

    def __repr__(self) -> str:
        extra = ", row_curvature=True" if self.row_curvature else ""
        return f"{type(self).__name__}({self.loss!r}{extra})"

    def __getstate__(self) -> dict[str, Any]:
        return {"loss": self.loss, "row_curvature": self.row_curvature, "managed": self._is_managed}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["loss"], row_curvature=state.get("row_curvature", False))  # type: ignore[misc]
        if state.get("managed", False):
            self._managed()

    def __deepcopy__(self, memo: dict) -> ObjectiveBase:
        copy = type(self)(self.loss, row_curvature=self.row_curvature)
        return copy._managed() if self._is_managed else copy

    def _grad_hess(
        self, margin: np.ndarray, data: Data, y: np.ndarray | None = None, sums: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Gradient and Hessian at ``margin`` (labels ``y``, default ``data.y``), unvalidated;
        ``sums`` are the loss's global sums over every worker (see :meth:`Loss.global_sums`)."""
        grad, hess = self._thread_buffers().get(margin.shape)
        self.loss.grad_hess_into(data.y if y is None else y, margin, data.weight, grad, hess, data.offsets, sums=sums)
        if self.row_curvature:
            # Leaves are refit to residual quantiles, so the Hessian only
            # shapes the splits: one unit per row (times its weight), as in
            # the boosters' built-in absolute error and quantile objectives,
            # so the minimum child weight counts rows whatever the scale of y.
            if data.weight.shape[0]:
                np.copyto(hess, data.weight, casting="unsafe")
            else:
                hess.fill(1.0)
        return grad, hess


# ---------------------------------------------------------------------------
# Training options, loss record, prediction
# ---------------------------------------------------------------------------


def refits(loss: Loss, refit_leaves: Any) -> bool:
    """Whether training refits leaves to residual quantiles (absolute error and quantile losses)."""
    if not isinstance(refit_leaves, (bool, np.bool_)):
        raise ValueError(f"refit_leaves must be True or False, got {refit_leaves!r}")
    return bool(refit_leaves) and loss.leaf_refit is not None


def _json_default(value: Any) -> Any:
    if isinstance(value, (np.integer, np.floating)):
        return value.item()
    if isinstance(value, (tuple, np.ndarray)):
        return list(value)
    raise TypeError(f"cannot store {value!r} in the model")


def loss_to_json(loss: Loss) -> str:
    """The loss as JSON ``{"name": ..., "params": {...}}``, as recorded in models."""
    return json.dumps({"name": loss.name, "params": loss.get_params()}, default=_json_default, sort_keys=True)


def loss_from_json(text: str | bytes) -> Loss:
    """The loss recorded by :func:`loss_to_json`; a parameter the record predates
    takes the value the model was trained with (``recorded_defaults``), not today's default."""
    spec = json.loads(text)
    params = {**get_loss_class(spec["name"]).recorded_defaults, **spec.get("params", {})}
    return get_loss(spec["name"], **params)


#: What a prediction can return: the response (a mean, probability...), the raw
#: margins, a distributional loss's parameters or its distribution objects.
OUTPUTS = ("response", "margin", "parameters", "distribution")


def check_output(output: Any, loss: Loss | None = None) -> None:
    """Raise ValueError for an unknown ``output``, or one the loss cannot give."""
    if output not in OUTPUTS:
        raise ValueError(f"output must be one of {', '.join(map(repr, OUTPUTS))}; got {output!r}")
    if output in ("parameters", "distribution") and loss is not None and not loss.predicts_distribution:
        raise ValueError(
            f"output={output!r} needs a distributional loss (one with predicts_distribution = True, such as "
            f"normal); {loss!r} predicts no distribution: use output='response' or 'margin'"
        )


def margin_to_output(loss: Loss, margin: np.ndarray, output: str, group: Any = None) -> Any:
    """Validated float64 margins as ``output`` (checked by :func:`check_output`)."""
    check_output(output, loss)
    if output == "margin":
        return margin
    if output == "parameters":
        return loss.parameters(margin)
    if output == "distribution":
        return loss.distribution(loss.parameters(margin))
    return predict_response(loss, margin, group)


def response_to_margin(loss: Loss, pred: Any) -> np.ndarray:
    """Margins from predictions on the response scale (clipped inside the link's domain)."""
    return loss.link.response_to_margin(pred)


def predict_response(loss: Loss, margin: np.ndarray, group: Any) -> np.ndarray:
    """The loss's inverse link of ``margin``; grouped losses need the groups."""
    if loss.needs_group and group is None:
        raise ValueError(f"{loss.name} predictions need group= (group sizes or query ids)")
    return loss.predict(margin, group=group)


# ---------------------------------------------------------------------------
# The estimators' loss parameter
# ---------------------------------------------------------------------------

def estimator_loss(spec: Any, loss_params: Any, num_class: int | None = None) -> Loss:
    """A fresh loss from ``loss=`` and ``loss_params=``.

    ``spec`` is a Loss (copied, so tuning the estimator's parameter later does
    not change a fitted model), a registry name or a ``"name(key=value)"``
    spec. ``num_class`` fills in a multiclass loss given by name or spec.
    """
    if loss_params is not None and not isinstance(loss_params, Mapping):
        raise ValueError(f"loss_params must be a dict of loss parameters, got {type(loss_params).__name__}")
    extra = dict(loss_params or {})
    if isinstance(spec, Loss):
        if extra:
            raise ValueError("loss_params can only be given with a loss name or spec, not a Loss object")
        return copy.deepcopy(spec)
    if not isinstance(spec, str) or not spec.strip():
        raise ValueError(
            "loss must be a Loss, a registered loss name or a spec like 'tweedie(power=1.5)'; "
            f"got {spec!r}"
        )
    name, params = split_loss_spec(spec)
    params.update(extra)
    cls = get_loss_class(name)
    if cls.task == "multiclass" and num_class is not None:
        # The classes come from the data, as with a multiclass loss given by name.
        params.setdefault("num_class", int(num_class))
    return get_loss(name, **params)
