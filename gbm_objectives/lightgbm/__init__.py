"""LightGBM adapter: objective and metric callables, init score, leaf refit,
training, prediction, scikit-learn estimators and Dask.

The library's losses plug into :func:`lightgbm.train` through
:func:`objective` (for ``params["objective"]``) and :func:`metric` (for
``feval=``); :func:`train` wires both and fixes what a custom objective
otherwise gets wrong in LightGBM:

* **Init score.** A custom objective starts every row at 0 and LightGBM
  does not save a Dataset's ``init_score`` in the model. :func:`train` trains
  from the loss's init score, its best constant margin
  (:meth:`Loss.init_score`), given as the
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
* **Quantile and expectile sets.** ``multi_quantile`` / ``multi_expectile``
  train as one booster with k outputs per row through LightGBM's multiclass
  machinery (``num_class = k``: k trees per iteration). LightGBM has no
  objective with their non-crossing transform, so the model names none:
  plain ``booster.predict`` (also of a file reloaded by plain LightGBM)
  returns the (n, k) margins (for the default ``transform="max"`` each
  margin is its level where they do not cross,
  and ``numpy.maximum.accumulate(margins, axis=1)`` gives the levels);
  :func:`predict`, the estimators and ``loss.predict(margins)`` return the
  non-decreasing levels.
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

Layout: :mod:`._callables` (objective and metric), :mod:`._train` (train, cv,
refit, predict), :mod:`._estimators` and :mod:`._dask` (scikit-learn and Dask
estimators), :mod:`._refit` (leaf refit), :mod:`._init_score` (the init
score folded into the model), :mod:`._model_text` (host objective in the
model text, the loss record), :mod:`._params` (LightGBM parameters and their
checks), :mod:`._data` (what is read from Datasets); the compiled percentile
and tree-walk loops live in :mod:`gbm_objectives.kernels.percentiles`.
"""

from __future__ import annotations

try:
    import lightgbm as _lightgbm  # noqa: F401
except ImportError as exc:
    if exc.name != "lightgbm":
        raise
    raise ImportError(
        'gbm_objectives.lightgbm needs LightGBM, which is not installed: pip install "gbm-objectives[lightgbm]"'
    ) from exc

from .._adapters import LeafRefitWarning, warn_no_refit
from ._callables import (
    METRIC_PREFIX,
    LightGBMMetric,
    LightGBMObjective,
    metric,
    metric_name,
    objective,
)
from ._dask import DaskLGBMRegressor
from ._data import NoUsableFeaturesError
from ._estimators import LGBMClassifier, LGBMRegressor
from ._model_text import LOSS_PREFIX, booster_loss
from ._refit import leaf_percentiles
from ._train import cv, predict, refit, train

# Pickles (Dask workers, saved estimators) name the public path, as the
# single-module release did, so they load whatever private module holds the class.
_PICKLED = (LightGBMObjective, LightGBMMetric, LGBMRegressor, LGBMClassifier, DaskLGBMRegressor, NoUsableFeaturesError)
for _cls in _PICKLED:
    _cls.__module__ = __name__
del _cls

__all__ = [
    "LOSS_PREFIX",
    "METRIC_PREFIX",
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
