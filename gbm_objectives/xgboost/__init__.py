"""XGBoost adapter: objective and metric callables, init score, training,
prediction, scikit-learn estimators and Dask.

Needs XGBoost: ``pip install "gbm-objectives[xgboost]"``. The package holds
``_callables`` (the objective and metric, reading a DMatrix), ``_params``
(the booster's objective, ``base_score`` and parameter checks), ``_train``
(train, cv, predict, Dask), ``_estimator_base`` and ``_estimators`` (the
scikit-learn estimators); everything public is imported here.

The library's losses plug into :func:`xgboost.train` through
:func:`objective` and :func:`metric`; :func:`train` wires both and fixes the
booster facts a custom objective otherwise gets wrong:

* **Init score.** A custom objective starts every row at ``base_score`` 0.5.
  :func:`train` sets ``base_score`` to the loss's init score, the constant
  margin that minimises the loss (:meth:`Loss.init_score`), so it is saved in the model and applies to every
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
* **Quantile and expectile sets.** ``multi_quantile`` / ``multi_expectile``
  train as one booster with k outputs per row (``num_target``; one tree per
  output and round, XGBoost's default ``multi_strategy``, which measured as
  accurate as ``"multi_output_tree"`` (within 0.5%) at similar time, see
  ``benchmarks/bench_level_sets.py``). The default ``transform="max"``
  (levels the cumulative maximum of the outputs) is hosted by
  ``reg:squarederror``: plain ``booster.predict`` returns the (n, k)
  outputs, ``numpy.maximum.accumulate(outputs, axis=1)`` the levels. The
  softplus increments (``transform="softplus"``) are hosted on XGBoost >= 3.3 by
  ``reg:expectileerror``, whose output transform they are: plain
  ``booster.predict`` (also of a reloaded model) returns the (n, k) levels;
  older XGBoost hosts them by ``reg:squarederror`` and plain
  ``booster.predict`` returns the margins. :func:`predict` (or
  ``loss.predict``) turns any of them into levels.
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
themselves, so pass the init score as ``base_score=base_score(loss, y, w,
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
:func:`train` (its own init score, the loss's metric).

Dask: :func:`dask_train` is :func:`train` for ``xgboost.dask``.
"""

from __future__ import annotations

try:
    import xgboost as _xgb  # noqa: F401
except ImportError as exc:  # the booster is an optional extra
    raise ImportError(
        "gbm_objectives.xgboost needs XGBoost, which is not installed: "
        'pip install "gbm-objectives[xgboost]"'
    ) from exc

from .._adapters import LeafRefitWarning, warn_no_refit
from ._callables import (
    XGBMetric,
    XGBObjective,
    metric,
    metric_name,
    objective,
)
from ._estimators import XGBClassifier, XGBRanker, XGBRegressor
from ._params import (
    BUILTIN_LEAF_REFIT,
    LOSS_ATTR,
    MARGIN_HOST,
    base_score,
    booster_objective,
    has_objective,
)
from ._train import cv, dask_train, predict, train

__all__ = [
    "BUILTIN_LEAF_REFIT",
    "LOSS_ATTR",
    "LeafRefitWarning",
    "MARGIN_HOST",
    "XGBClassifier",
    "XGBMetric",
    "XGBObjective",
    "XGBRanker",
    "XGBRegressor",
    "base_score",
    "booster_objective",
    "cv",
    "dask_train",
    "has_objective",
    "metric",
    "metric_name",
    "objective",
    "predict",
    "train",
    "warn_no_refit",
]
