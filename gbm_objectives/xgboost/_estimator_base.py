"""What the scikit-learn estimators share: the loss parameter and fitting through :func:`train`.

:class:`_LossEstimatorMixin` replaces XGBoost's ``objective=`` with
``loss=`` (and ``loss__<name>`` nested parameters), checks every training and
evaluation set before XGBoost sees it, fits through
:func:`gbm_objectives.xgboost.train` and predicts raw margins for the
estimators to map through the loss's inverse link.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import numpy as np
import xgboost as xgb
from xgboost.sklearn import XGBModel, _wrap_evaluation_matrices, get_model_categories

from .._validation import check_sample_weight
from ..losses import Loss
from ._params import _booster_loss
from ._train import train

#: Estimator parameters that describe the loss; they never reach the booster.
_LOSS_PARAMS = ("loss", "loss_params", "refit_leaves")
#: What to do with a model that holds no loss record.
_NO_RECORD = "load it with xgboost's own estimator"


def _n_rows(X: Any) -> int | None:
    """Rows of a feature matrix (array, DataFrame, sparse), or None when it has no length."""
    shape = getattr(X, "shape", None)
    if shape is not None and len(shape) >= 1:
        return int(shape[0])
    try:
        return len(X)
    except TypeError:
        return None


def _n_groups(group: Any, qid: Any) -> int | None:
    """Query groups given as sizes or ids (XGBoost takes one weight per group), or None if unknown."""
    if group is not None:
        return int(np.asarray(group).reshape(-1).shape[0])
    if qid is not None:
        ids = np.asarray(qid).reshape(-1)
        # XGBoost needs each query's rows together: one group per run of equal ids.
        return int(np.count_nonzero(ids[1:] != ids[:-1]) + 1) if ids.size else 0
    return None


def _check_set(
    loss: Loss, X: Any, y: Any, sample_weight: Any, what: str, n_weights: int | None = None, ranking: bool = False
) -> None:
    """Labels, weights and lengths of one training or evaluation set, before XGBoost sees them.

    XGBoost's own checks stop in C++ with messages that name no argument
    ("Weights must be positive values" for a NaN weight); these are the
    library's (:meth:`Loss.check_labels`, ``check_sample_weight``).
    """
    prefix = "" if what == "fit" else f"{what}: "
    try:
        labels = np.asarray(y)
        if labels.ndim == 2 and labels.shape[1] == 1:
            labels = labels[:, 0]
        n = loss.check_labels(labels).shape[0]
        rows = _n_rows(X)
        if rows is not None and rows != n:
            raise ValueError(f"X has {rows} rows but y has {n} labels")
        if sample_weight is not None and ranking:
            # One weight per query group, whose count only group=/qid= tell.
            count = np.shape(sample_weight)[0] if np.ndim(sample_weight) else 0
            if n_weights is not None and count != n_weights:
                raise ValueError(
                    f"sample_weight has {count} entries but there are {n_weights} query groups "
                    "(XGBRanker takes one weight per group)"
                )
            check_sample_weight(sample_weight, count)
        elif sample_weight is not None:
            check_sample_weight(sample_weight, n)
    except ValueError as exc:
        raise ValueError(f"{prefix}{exc}") from None


class _LossEstimatorMixin:
    """The loss replaces ``objective``: parameters, fitting through
    :func:`gbm_objectives.xgboost.train`, predictions through the inverse link."""

    # -- parameters ----------------------------------------------------------

    def _wrapper_params(self) -> set[str]:
        return super()._wrapper_params() | set(_LOSS_PARAMS)  # type: ignore[misc]

    def get_xgb_params(self) -> dict[str, Any]:
        """XGBoost parameters for the booster: the loss and its nested parameters left out."""
        params = super().get_xgb_params()  # type: ignore[misc]
        return {k: v for k, v in params.items() if "__" not in k}

    def set_params(self, **params: Any) -> Any:
        """Set parameters; ``loss__<name>`` sets a parameter of the loss object.

        As in XGBoost, unknown plain names become booster parameters; nested
        names reach only the loss (``loss__<name>``, which must then be a
        :class:`Loss`) or ``loss_params`` (``loss_params__<name>``, adding to
        the dict), and raise otherwise.
        """
        plain: dict[str, Any] = {}
        nested: dict[str, dict[str, Any]] = {}
        for key, value in params.items():
            head, sep, sub = key.partition("__")
            if not sep:
                plain[key] = value
            elif head in ("loss", "loss_params") and sub:
                nested.setdefault(head, {})[sub] = value
            else:
                raise ValueError(
                    f"invalid parameter {key!r} for {type(self).__name__}: nested parameters go to "
                    "the loss (loss__<name>) or to loss_params (loss_params__<name>)"
                )
        super().set_params(**plain)  # type: ignore[misc]
        if "loss" in nested:
            target = self.loss  # type: ignore[attr-defined]
            if not isinstance(target, Loss):
                raise ValueError(
                    f"loss__{next(iter(nested['loss']))} needs loss to be a Loss object (e.g. "
                    f"get_loss('tweedie')); loss is {target!r}: set loss_params= with a loss name instead"
                )
            target.set_params(**nested["loss"])
        if "loss_params" in nested:
            current = self.loss_params  # type: ignore[attr-defined]
            if current is not None and not isinstance(current, Mapping):
                raise ValueError(f"loss_params must be a dict of loss parameters, got {type(current).__name__}")
            self.loss_params = {**(current or {}), **nested["loss_params"]}  # type: ignore[attr-defined]
        return self

    # -- fitting -------------------------------------------------------------

    def _check_fit_args(self, y: Any, sample_weight: Any) -> None:
        if y is None:
            raise ValueError(f"{type(self).__name__} requires y to be passed, but the target y is None")
        if sample_weight is not None:
            w = np.asarray(sample_weight)
            if w.size and w.dtype.kind in "biuf" and not np.any(w):
                raise ValueError("sample_weight is zero for every row; at least one weight must be positive")
        if getattr(self, "objective", None) is not None:
            raise ValueError(f"set the loss with loss=, not objective= (got objective={self.objective!r})")
        if getattr(self, "base_score", None) is not None:
            raise ValueError(
                "base_score is set from the loss's init score of the fit data; for another init score "
                "pass base_margin= to fit"
            )

    def _fit_loss(
        self,
        loss: Loss,
        X: Any,
        y: Any,
        *,
        refit_leaves: bool = True,
        create_dmatrix: Any = None,
        group: Any = None,
        qid: Any = None,
        eval_group: Any = None,
        eval_qid: Any = None,
        sample_weight: Any = None,
        base_margin: Any = None,
        eval_set: Any = None,
        verbose: Any = True,
        xgb_model: Any = None,
        sample_weight_eval_set: Any = None,
        base_margin_eval_set: Any = None,
        feature_weights: Any = None,
    ) -> Any:
        """XGBoost's scikit-learn fit with :func:`gbm_objectives.xgboost.train` as the trainer."""
        ranking = loss.needs_group
        _check_set(loss, X, y, sample_weight, "fit", _n_groups(group, qid), ranking)
        if eval_set is not None:
            eval_set = list(eval_set)
            weights = list(sample_weight_eval_set) if sample_weight_eval_set is not None else []
            if sample_weight_eval_set is not None and len(weights) != len(eval_set):
                raise ValueError(
                    f"sample_weight_eval_set has {len(weights)} entries but eval_set has {len(eval_set)}"
                )
            for i, pair in enumerate(eval_set):
                if not (isinstance(pair, (tuple, list)) and len(pair) == 2):
                    raise ValueError(f"eval_set[{i}] must be a pair (X, y)")
                n_groups = None
                if ranking:
                    eg = eval_group[i] if eval_group is not None else None
                    eq = eval_qid[i] if eval_qid is not None else None
                    n_groups = _n_groups(eg, eq)
                _check_set(loss, pair[0], pair[1], weights[i] if weights else None, f"eval_set[{i}]", n_groups,
                           ranking)

        with xgb.config_context(verbosity=self.verbosity):  # type: ignore[attr-defined]
            # Unset parameters are None, which the booster skips anyway; dropped,
            # so train() sees no objective or base_score (fit refuses both) and
            # no eval_metric unless the user chose one.
            params = {k: v for k, v in self.get_xgb_params().items() if v is not None}
            model, metric, params, feature_weights = self._configure_fit(  # type: ignore[attr-defined]
                xgb_model, params, feature_weights
            )
            model, feature_types = get_model_categories(X, model, self.feature_types)  # type: ignore[attr-defined]
            evals_result: dict[str, Any] = {}
            train_dmatrix, evals = _wrap_evaluation_matrices(
                missing=self.missing,  # type: ignore[attr-defined]
                X=X,
                y=y,
                group=group,
                qid=qid,
                sample_weight=sample_weight,
                base_margin=base_margin,
                feature_weights=feature_weights,
                eval_set=eval_set,
                sample_weight_eval_set=sample_weight_eval_set,
                base_margin_eval_set=base_margin_eval_set,
                eval_group=eval_group,
                eval_qid=eval_qid,
                create_dmatrix=create_dmatrix or self._create_dmatrix,  # type: ignore[attr-defined]
                enable_categorical=self.enable_categorical,  # type: ignore[attr-defined]
                feature_types=feature_types,
            )
            kwargs: dict[str, Any] = {}
            if metric is not None:
                # A user's callable eval_metric replaces the loss's (XGBoost takes one).
                kwargs["custom_metric"] = metric
            booster = train(
                loss,
                params,
                train_dmatrix,
                self.get_num_boosting_rounds(),  # type: ignore[attr-defined]
                evals=evals,
                refit_leaves=refit_leaves,
                early_stopping_rounds=self.early_stopping_rounds,  # type: ignore[attr-defined]
                evals_result=evals_result,
                verbose_eval=verbose,
                xgb_model=model,
                callbacks=self.callbacks,  # type: ignore[attr-defined]
                **kwargs,
            )
        self._Booster = booster
        self._set_evaluation_result(evals_result)  # type: ignore[attr-defined]
        self.loss_ = loss
        return self

    # -- predicting ----------------------------------------------------------

    def _fitted_loss(self) -> Loss:
        loss = getattr(self, "loss_", None)
        # A booster set up outside fit/load_model still carries the record.
        return loss if loss is not None else _booster_loss(self.get_booster(), _NO_RECORD)  # type: ignore[attr-defined]

    def _margin(self, X: Any, validate_features: bool, base_margin: Any, iteration_range: Any) -> np.ndarray:
        """Raw margins from the best iteration after early stopping (XGBoost's own rule)."""
        return XGBModel.predict(
            self,  # type: ignore[arg-type]
            X,
            output_margin=True,
            validate_features=validate_features,
            base_margin=base_margin,
            iteration_range=iteration_range,
        )

    def load_model(self, fname: Any) -> None:
        """Load a model saved by a fitted estimator; the loss comes from the model's record."""
        super().load_model(fname)  # type: ignore[misc]
        loss = _booster_loss(self.get_booster(), _NO_RECORD)  # type: ignore[attr-defined]
        # XGBoost sets these from the model; here they come from the loss.
        self.objective = None
        self.base_score = None
        self.loss = loss
        self.loss_params = None
        self.loss_ = copy.deepcopy(loss)


def _init_xgb_model(est: Any, objective: Any, kwargs: dict[str, Any]) -> None:
    XGBModel.__init__(est, objective=objective, **kwargs)

