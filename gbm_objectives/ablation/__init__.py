"""Loss ablation: the same booster, the same features, the same folds; only the loss changes.

:func:`ablate_losses` trains one model per loss under K-fold cross-validation
and scores every row with the same panel of yardsticks;
:func:`sweep_loss_parameter` does it for a grid of values of one numeric loss
parameter (Huber's ``delta``, focal ``gamma``, ...) and
:func:`sweep_tweedie_power` for a grid of Tweedie powers plus squared
error, with the power's profile-likelihood choice read from the same
out-of-fold predictions (:func:`choice_table` sets it beside the MAE and
deviance choices); :func:`recommend_losses` reads the target and proposes the candidates.

Loss specs
----------
A loss is given as a :class:`~gbm_objectives.Loss`, a registered name
(``"huber"``), a call-style string with keyword arguments
(``"tweedie(power=1.5)"``, ``"quantile(alpha=0.9)"``, values are Python
literals) or a ``(name, params)`` pair (``("huber", {"delta": 2.0})``).
Rows are labelled with the call-style string (:func:`loss_label`), which
:func:`parse_loss` reads back.

Honest comparisons
------------------
Every row is scored on the same held-out folds with the same yardsticks,
whatever loss trained it: MAE, RMSE, a Tweedie deviance at one fixed power,
the Poisson deviance (predictions floored at ``1e-3`` times the training
mean, with the number of floored predictions reported), the normalised Gini
(ranking) and calibration (mean prediction / mean label; NaN where labels can be negative). Powers are never
ranked by each model's own deviance. Constant-mean and constant-median rows
show what a model that learned nothing scores: on zero-inflated data the
median row often beats squared error on MAE, because MAE rewards predicting
the median, not the mean. Binary classification uses log loss, AUC, Brier
score and calibration instead.

Folds, features and stopping
----------------------------
``cv`` is a fold count (shuffled K-fold, grouped with ``groups``, stratified
for classification), a scikit-learn splitter (``KFold``, ``GroupKFold``,
``StratifiedKFold``, ``TimeSeriesSplit``, ``PredefinedSplit``, ...) or an
iterable of (train, test) row indices; the folds are checked once (at least
two, none empty, indices in range, no row on both sides) and the results
record the splitter's repr (``attrs["splitter"]``). Rows that no fold tests
enter no score and no out-of-fold quantity. DataFrame columns of pandas
``category`` dtype reach the boosters as categorical features, with codes
fixed from the whole table. ``early_stopping_rounds`` stops each fit on a
slice of its fold's training rows, never on the test rows.

Where the fits run
------------------
Each (configuration, fold) fit is one single-threaded booster (unless
``params`` sets its threads): ``n_jobs`` runs them in local processes, and
``client=`` (a dask.distributed ``Client``, the ``dask`` extra) runs them as
tasks on a Dask cluster. With a client the features, labels, weights and
fold rows are scattered to every worker once, and the predictions are
gathered as the fits complete; the fits and seeds are those of an in-process
run, so the table is the same (only ``fit_seconds``, a wall time, differs).

Level-set losses (``multi_quantile``, ``multi_expectile``: k levels per row
from one model) are scored on their own panel of the same folds
(:func:`interval_table`): coverage, mean width and interval score of the
outermost levels, pinball loss per level (expectile loss per level for
expectile sets, which it ranks) and the crossing rate, next to k separately
fitted quantile (or expectile) models of the same booster.

Layout
------
The public names are re-exported here; the submodules are private:
``_specs`` (row labels, panels), ``_inputs`` (argument checks),
``_yardsticks`` (the scores), ``_intervals`` (the interval panel),
``_fits`` (one fit, the fold data fits share, where batches of fits run),
``_experiment`` (folds, the experiment, the summary table), ``_sweeps``
(:func:`ablate_losses` and the sweeps), ``_advice`` (candidates from the
target) and ``_tables`` (the printed tables).
"""

from __future__ import annotations

from typing import Any

# parse_loss lives next to the registry (get_loss and as_loss read specs too);
# it stays importable from here, as do the constants and the private helpers
# the tests read (the "as" form marks a re-export).
from ..losses import parse_loss
from ._advice import LossAdvice, describe_target, recommend_losses
from ._inputs import BACKENDS as BACKENDS
from ._intervals import INTERVAL_METRICS as INTERVAL_METRICS
from ._specs import levels_of as levels_of
from ._specs import loss_label
from ._sweeps import DEFAULT_POWERS, ablate_losses, sweep_loss_parameter, sweep_tweedie_power
from ._tables import choice_table, interval_table, panel_table, ranking_table, to_markdown
from ._tables import seed_table as seed_table  # deprecated alias of ranking_table
from ._yardsticks import CLASSIFICATION_METRICS as CLASSIFICATION_METRICS
from ._yardsticks import FLOOR_FRACTION as FLOOR_FRACTION
from ._yardsticks import REGRESSION_METRICS as REGRESSION_METRICS
from ._yardsticks import _normalized_gini as _normalized_gini
from ._yardsticks import _unit_tweedie_deviance as _unit_tweedie_deviance

# Pickles and reprs name the public path, which outlives the private layout.
LossAdvice.__module__ = __name__

__all__ = [
    "DEFAULT_POWERS",
    "LossAdvice",
    "TweediePowerEstimate",
    "ablate_losses",
    "choice_table",
    "describe_target",
    "estimate_tweedie_power",
    "interval_table",
    "loss_label",
    "panel_table",
    "parse_loss",
    "ranking_table",
    "recommend_losses",
    "sweep_loss_parameter",
    "sweep_tweedie_power",
    "to_markdown",
]

# The Tweedie power estimator builds on this package's checks and fit path, so
# it cannot be imported while this package initialises: it is loaded on first
# access instead.
_FROM_TWEEDIE_POWER = ("TweediePowerEstimate", "estimate_tweedie_power")


def __getattr__(name: str) -> Any:
    if name in _FROM_TWEEDIE_POWER:
        from .. import tweedie_power

        return getattr(tweedie_power, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
