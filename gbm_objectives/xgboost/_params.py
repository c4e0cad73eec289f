"""How a loss configures an XGBoost booster.

The built-in objective a booster runs for a loss (:func:`booster_objective`:
the loss's own built-in where XGBoost has one, else the link's), the
``base_score`` that starts it at the loss's init score, in that objective's
space (:func:`base_score`), the checks of the user's parameters, the
gradients and default metric a training call hands over
(:func:`_booster_args`, :func:`_training_objective`) and the loss record
stored on the model.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

import numpy as np
import xgboost as xgb

from .._adapters import loss_from_json, loss_to_json, refits
from ..losses import Loss, as_loss
from ._callables import XGBObjective, metric

#: Booster attribute holding the loss as JSON ``{"name": ..., "params": {...}}``.
LOSS_ATTR = "gbm_objectives_loss"

#: XGBoost parameters that a built-in objective reads and the loss fixes
#: (:meth:`Loss.builtin_objective`): the user may not set them otherwise.
_LOSS_PARAMS = ("quantile_alpha", "tweedie_variance_power", "huber_slope", "expectile_alpha")


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
    "reg:expectileerror": "levels",
}
#: The link whose inverse each non-margin space applies.
_SPACE_LINK = {
    "exp": "a log link (it predicts exp(margin))",
    "sigmoid": "a logit link (it predicts sigmoid(margin))",
    "levels": "a non-crossing link (it predicts cumulative softplus increments)",
}
#: Built-in objectives with k outputs per row whatever the parameters.
_MULTI_OUTPUT_OBJECTIVES = ("multi:softprob", "multi:softmax", "reg:expectileerror")
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
#: :func:`train` hands XGBoost the gradients of ``loss.leaf_refit.surrogate``.
BUILTIN_LEAF_REFIT: bool = _version_tuple(xgb.__version__) < (3, 4)

#: Built-in objectives that not every supported XGBoost has, and the release that added each.
_OBJECTIVE_SINCE = {"reg:expectileerror": (3, 3)}
#: The host where the installed XGBoost lacks a loss's built-in or its link's
#: host: it transforms nothing, so the booster predicts margins (k per row
#: with ``num_target``) and :func:`predict` applies the loss's inverse link.
MARGIN_HOST = "reg:squarederror"


def has_objective(name: str) -> bool:
    """Whether the installed XGBoost has the built-in objective ``name``."""
    if not isinstance(name, str) or not name:
        raise ValueError(f"name must be an XGBoost objective name, got {name!r}")
    return _version_tuple(xgb.__version__) >= _OBJECTIVE_SINCE.get(name, (0, 0))


def booster_objective(loss: Loss | str, *, refit_leaves: bool = True) -> dict[str, Any]:
    """The built-in objective :func:`train` configures the booster with for ``loss``.

    The loss's own (:meth:`Loss.builtin_objective` with ``"xgboost"``), else
    its link's host objective (``loss.link.xgboost_objective``, with
    ``num_class`` for several outputs). Where XGBoost has a built-in with
    the loss's gradients (Poisson:
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

    Losses with several outputs per row get ``num_class`` (multiclass) or
    ``num_target`` (quantile and expectile sets: k levels, one tree per
    output and round unless ``params["multi_strategy"]`` says otherwise).
    The softplus increments are hosted by ``reg:expectileerror`` (XGBoost
    >= 3.3), whose transform is the link's inverse, so plain
    ``booster.predict`` returns the levels; an XGBoost without the built-in
    (``has_objective``) gets ``reg:squarederror`` (:data:`MARGIN_HOST`),
    under which plain ``booster.predict`` returns the (n, k) margins and
    :func:`predict` the levels. The cumulative maximum
    (``multi_quantile``'s default) has no built-in: ``reg:squarederror``
    hosts it, and the margins are the outputs.

    Returns
    -------
    dict
        XGBoost parameters: ``objective`` and, where needed, ``num_class``,
        ``num_target``, ``quantile_alpha``, ``expectile_alpha``,
        ``tweedie_variance_power``, ``huber_slope`` or ``max_delta_step``.
    """
    loss = as_loss(loss)
    # A loss with a leaf refit names the built-in that refits; trained
    # without the refit it takes its link's host objective, which refits nothing.
    refit_or_none = refits(loss, refit_leaves) or loss.leaf_refit is None
    builtin = loss.builtin_objective("xgboost") if refit_or_none else None
    params: dict[str, Any] = dict(builtin) if builtin is not None else loss.link.xgboost_params(loss.n_outputs)
    if not has_objective(params["objective"]):
        params = {"objective": MARGIN_HOST}
    if loss.n_outputs > 1:
        params.setdefault("num_class" if loss.is_multiclass else "num_target", loss.n_outputs)
    return params


def _margin_to_base_score(loss: Loss, margin: Any, objective_name: str) -> float | list[float]:
    space = _BASE_SCORE_SPACE.get(objective_name)
    if space is None:
        raise ValueError(
            f"objective must be one of {', '.join(sorted(_BASE_SCORE_SPACE))}; got {objective_name!r}"
        )
    multi_objective = objective_name.startswith("multi:")
    if multi_objective != loss.is_multiclass:
        kind = "a multiclass" if multi_objective else "a regression"
        raise ValueError(f"objective {objective_name!r} is {kind} objective; it does not fit {loss!r}")
    if objective_name in _MULTI_OUTPUT_OBJECTIVES and loss.n_outputs == 1:
        raise ValueError(f"objective {objective_name!r} has several outputs per row; {loss!r} has one")
    m = np.asarray(margin, dtype=np.float64)
    expected = (loss.n_outputs,) if loss.n_outputs > 1 else ()
    if m.shape != expected or not np.all(np.isfinite(m)):
        raise ValueError(f"init_score must be a finite margin of shape {expected}, got {margin!r}")
    # base_score is read through the objective's output transform, which must
    # be the loss's inverse link: that of the link's own host objective.
    if space != "margin" and _BASE_SCORE_SPACE[loss.link.xgboost_objective] != space:
        raise ValueError(
            f"objective {objective_name!r} has {_SPACE_LINK[space]}; {loss!r} has a {loss.link.name} link"
        )
    if space == "exp":
        return float(math.exp(float(m)))
    if space == "sigmoid":
        c = min(max(float(m), -_LOGIT_BASE_LIMIT), _LOGIT_BASE_LIMIT)
        return float(1.0 / (1.0 + math.exp(-c)))
    if space == "levels":
        # XGBoost maps the levels back to margins itself (its ProbToMargin).
        return [float(v) for v in loss.link.inverse(m[None, :])[0]]
    return [float(v) for v in m] if loss.n_outputs > 1 else float(m)


def base_score(
    loss: Loss | str,
    y: Any,
    sample_weight: Any = None,
    *,
    objective: str | None = None,
    group: Any = None,
) -> float | list[float]:
    """XGBoost's ``base_score`` that starts a booster at the loss's init score.

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
        raise ValueError("params['base_score'] is set from the loss's init score; pass init_score= instead")
    _check_scale_pos_weight(loss, out.get("scale_pos_weight"))
    carrier = booster_objective(loss, refit_leaves=refit_leaves)
    # Classes are num_class, other outputs num_target (XGBoost's names).
    own, other = ("num_class", "num_target") if loss.is_multiclass else ("num_target", "num_class")
    for key in (own, other):
        value = out.get(key)
        if key == own and loss.n_outputs > 1:
            k = loss.n_outputs if value is None else value
            if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or int(k) != loss.n_outputs:
                raise ValueError(f"params[{key!r}] = {k!r} does not match the loss's {loss.n_outputs} outputs")
        elif value not in (None, 0, 1):
            if loss.n_outputs == 1:
                raise ValueError(f"params[{key!r}] = {value!r} is for multi-output losses; {loss!r} has one output")
            raise ValueError(
                f"params[{key!r}] = {value!r} does not fit {loss!r}: its {loss.n_outputs} outputs are {own!r}"
            )
    for key in _LOSS_PARAMS:
        if key in out and out[key] != carrier.get(key):
            raise ValueError(f"params[{key!r}] is set by the loss ({loss!r}); remove it")
    # A built-in that reads max_delta_step (count:poisson) adds it to its
    # Hessian as well as capping the leaf steps: only the loss's own value
    # keeps the two Hessians, and a plain-XGBoost continuation, the same.
    # Elsewhere a user's value only caps.
    if "max_delta_step" in carrier and "max_delta_step" in out:
        given = out["max_delta_step"]
        same = isinstance(given, (int, float, np.integer, np.floating)) and not isinstance(given, bool)
        if not (same and float(given) == carrier["max_delta_step"]):
            raise ValueError(
                f"params['max_delta_step'] = {given!r} conflicts with {loss!r}, whose Hessian uses "
                f"max_delta_step = {carrier['max_delta_step']:g} ({carrier['objective']} reads it for both the "
                "Hessian and the leaf-step cap); set it on the loss instead: "
                f"get_loss({loss.name!r}, max_delta_step=...), and remove it from params"
            )
    out.update(carrier)
    for key, value in loss.booster_defaults("xgboost").items():
        out.setdefault(key, value)
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
    if loss.task != "binary":
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


def _record_loss(booster: xgb.Booster, loss: Loss) -> None:
    booster.set_attr(**{LOSS_ATTR: loss_to_json(loss)})


def _booster_loss(booster: xgb.Booster, remedy: str = "pass loss= explicitly") -> Loss:
    """The loss recorded on ``booster`` by :func:`_record_loss`; ``remedy`` ends the error without one."""
    raw = booster.attr(LOSS_ATTR)
    if raw is None:
        raise ValueError(f"this booster was not trained through gbm_objectives (no {LOSS_ATTR!r} attribute); {remedy}")
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

    Losses with a leaf refit (absolute error, quantile) follow the installed
    XGBoost's built-in (``BUILTIN_LEAF_REFIT``): one unit of curvature per
    row under its leaf refit (< 3.4), or the smooth MM surrogate
    (``loss.leaf_refit.surrogate``, the built-in's own gradients on >= 3.4),
    where nothing refits the leaves and they are Newton steps on those
    gradients.
    """
    # Built here, the refit is chosen (refit_leaves=False is the user's
    # choice): no warning of a path without refit.
    if not refits(loss, refit_leaves):
        return XGBObjective(loss)._managed()  # type: ignore[return-value]
    if BUILTIN_LEAF_REFIT:
        return XGBObjective(loss, row_curvature=True)._managed()  # type: ignore[return-value]
    return XGBObjective(loss.leaf_refit.surrogate)._managed()  # type: ignore[return-value]

