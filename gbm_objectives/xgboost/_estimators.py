"""scikit-learn estimators for XGBoost trained on a library loss.

:class:`XGBRegressor`, :class:`XGBClassifier` and :class:`XGBRanker` are
XGBoost's own estimators with ``objective=`` replaced by ``loss=``. Every fit
goes through :func:`gbm_objectives.xgboost.train`, so the booster is the one
``train`` builds from the same data and parameters: the built-in objective
whose output transform is the loss's inverse link (:func:`booster_objective`),
``base_score`` at the loss's init score of the fit data, sample weights
applied to the gradients, the leaf refit of absolute error and quantile
losses, the loss as the evaluation metric (``evals_result_`` key
``"gbm_" + loss.name``, e.g. ``"gbm_tweedie"``) and the loss record in the
model.
``predict`` returns the response scale (``output_margin=True``: raw margins)
from the best iteration after early stopping, so ``score``,
``cross_val_score`` and ``GridSearchCV`` score what the model predicts.

Loss objects are scikit-learn parameters: ``loss__<name>`` reaches the
loss's own parameters in ``get_params``, ``set_params`` and grid searches.

Reading a fitted model's booster directly: ``booster.best_iteration`` holds
the best iteration after early stopping, which
:func:`gbm_objectives.xgboost.predict` uses by default, as the estimator's
``predict`` does; :meth:`xgboost.Booster.predict` uses every tree unless
given ``iteration_range=(0, booster.best_iteration + 1)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import xgboost as xgb
from xgboost.sklearn import _get_qid

from .._adapters import check_output, estimator_loss, margin_to_output
from .._validation import as_float_array
from ..losses import Loss
from ._estimator_base import _init_xgb_model, _LossEstimatorMixin


def _check_finite_classes(y: Any, what: str) -> None:
    """Class labels as numbers must be finite: NaN would otherwise become a class of its own."""
    arr = np.asarray(y)
    if arr.dtype.kind == "f":
        try:
            as_float_array(arr.reshape(-1), "y")
        except ValueError as exc:
            raise ValueError(f"{what}{exc}") from None


def _encode_labels(classes: np.ndarray, labels: Any) -> np.ndarray:
    """Class indices of ``labels`` in the sorted ``classes``."""
    values = np.asarray(labels).reshape(-1)
    k = classes.shape[0]
    pos = np.searchsorted(classes, values)
    if np.any(pos >= k) or np.any(classes[np.minimum(pos, k - 1)] != values):
        raise ValueError("an evaluation set holds labels that are not in y")
    return pos.astype(np.float64)


class XGBRegressor(_LossEstimatorMixin, xgb.XGBRegressor):
    """:class:`xgboost.XGBRegressor` trained on a library loss.

    Fitting is :func:`gbm_objectives.xgboost.train` on the same data and
    parameters: training starts from the loss's init score, sample weights
    reach the gradients, absolute error and quantile losses get the leaf
    refit, the loss is the evaluation metric and is recorded in the model.
    ``predict`` returns the response scale (mean, median, quantile) from the
    best iteration after early stopping; ``output_margin=True`` the margin.

    Parameters
    ----------
    loss : Loss or str, default "squared_error"
        A loss object, a registry name or a spec such as
        ``"tweedie(power=1.5)"``. A loss object is a scikit-learn parameter:
        grid searches reach its parameters as ``loss__<name>``.
    loss_params : dict, optional
        Parameters for a loss given by name or spec (they override the spec's).
    refit_leaves : bool, default True
        See :func:`gbm_objectives.xgboost.train`.
    **kwargs
        Every :class:`xgboost.XGBRegressor` parameter except ``objective``
        and ``base_score`` (both come from the loss).

    Notes
    -----
    ``model.get_booster()`` holds every tree, also those after the best
    iteration of early stopping; :func:`gbm_objectives.xgboost.predict`
    predicts from it as ``predict`` does (up to ``best_iteration``), while
    :meth:`xgboost.Booster.predict` uses every tree by default.
    """

    def __init__(
        self,
        *,
        loss: Loss | str = "squared_error",
        loss_params: Mapping[str, Any] | None = None,
        refit_leaves: bool = True,
        objective: Any = None,
        **kwargs: Any,
    ) -> None:
        self.loss = loss
        self.loss_params = loss_params
        self.refit_leaves = refit_leaves
        _init_xgb_model(self, objective, kwargs)

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = False  # one loss value per row
        return tags

    def fit(  # type: ignore[override]
        self,
        X: Any,
        y: Any,
        *,
        sample_weight: Any = None,
        base_margin: Any = None,
        eval_set: Any = None,
        verbose: bool | int | None = True,
        xgb_model: Any = None,
        sample_weight_eval_set: Any = None,
        base_margin_eval_set: Any = None,
        feature_weights: Any = None,
    ) -> XGBRegressor:
        """Fit on ``loss``; arguments as :meth:`xgboost.XGBRegressor.fit`.

        ``eval_set`` rows start from the same init score as the training rows;
        ``base_margin`` replaces the init score of its rows.
        """
        self._check_fit_args(y, sample_weight)
        loss = estimator_loss(self.loss, self.loss_params)
        if loss.task == "multiclass":
            raise ValueError(f"{loss!r} is a multiclass loss; use XGBClassifier")
        if loss.needs_group:
            raise ValueError(f"{loss!r} needs query groups; use XGBRanker")
        return self._fit_loss(
            loss, X, y, refit_leaves=self.refit_leaves, sample_weight=sample_weight, base_margin=base_margin,
            eval_set=eval_set, verbose=verbose, xgb_model=xgb_model,
            sample_weight_eval_set=sample_weight_eval_set, base_margin_eval_set=base_margin_eval_set,
            feature_weights=feature_weights,
        )

    def predict(  # type: ignore[override]
        self,
        X: Any,
        *,
        output_margin: bool = False,
        validate_features: bool = True,
        base_margin: Any = None,
        iteration_range: Any = None,
        output: str = "response",
    ) -> Any:
        """Predictions on the response scale (``output_margin=True``: raw margins).

        Early-stopped models use their best iteration unless ``iteration_range``
        says otherwise, as in :meth:`xgboost.XGBRegressor.predict`.
        Distributional losses predict the mean; ``output="parameters"``
        gives their (n, k) parameters and ``output="distribution"`` a
        :class:`~gbm_objectives.distributions.Distribution` of n rows.
        """
        loss = self._fitted_loss()
        check_output(output, loss)
        margin = self._margin(X, validate_features, base_margin, iteration_range)
        if output_margin:
            return margin
        return margin_to_output(loss, margin, output)

    def score(self, X: Any, y: Any, sample_weight: Any = None) -> float:  # type: ignore[override]
        """R^2 of the predictions; for losses with several outputs per row, the negative mean loss.

        A quantile or expectile set predicts k levels per row, which R^2
        cannot score, and a distributional loss is judged by its whole
        distribution: there the score is minus the loss's weighted mean (the
        summed pinball or expectile losses; the mean negative
        log-likelihood), so higher is better, as scikit-learn's model
        selection expects. Summed pinball losses of different level sets
        are on different scales: a grid search over ``alphas`` compares
        nothing; compare level sets by coverage and interval score
        (``ablate_losses`` or :class:`gbm_objectives.intervals.PredictionIntervals`).
        """
        loss = self._fitted_loss()
        if loss.n_outputs == 1:
            return float(super().score(X, y, sample_weight=sample_weight))
        return -loss.loss(y, self.predict(X, output_margin=True), sample_weight)


class XGBClassifier(_LossEstimatorMixin, xgb.XGBClassifier):
    """:class:`xgboost.XGBClassifier` trained on a library loss.

    Labels may be any sortable values (``classes_`` holds them);
    ``predict_proba`` is the loss's inverse link of the margin (with label
    smoothing, the smoothed-target probability, as :meth:`Loss.predict`) and
    ``predict`` the most probable class, both from the best iteration after
    early stopping. Fitting is :func:`gbm_objectives.xgboost.train`: the
    loss's init score, sample weights on the gradients, the loss as
    metric and recorded in the model.

    Parameters
    ----------
    loss : Loss or str, optional
        Default ``"logistic"`` for two classes, ``"softmax"`` for more. A
        multiclass loss given by name or spec gets ``num_class`` from the data.
    loss_params : dict, optional
        Parameters for a loss given by name or spec.
    **kwargs
        Every :class:`xgboost.XGBClassifier` parameter except ``objective``
        and ``base_score``. ``scale_pos_weight`` other than 1 raises
        ValueError at ``fit`` (XGBoost applies it only in its built-in
        binary objectives): pass ``sample_weight=np.where(y == positive, s,
        1.0)`` instead, which also moves the init score.
    """

    def __init__(
        self,
        *,
        loss: Loss | str | None = None,
        loss_params: Mapping[str, Any] | None = None,
        objective: Any = None,
        **kwargs: Any,
    ) -> None:
        self.loss = loss
        self.loss_params = loss_params
        _init_xgb_model(self, objective, kwargs)

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = False  # one class per row
        return tags

    @property
    def classes_(self) -> np.ndarray:
        """The class labels seen in fit, sorted."""
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(self, "n_classes_")
        classes = getattr(self, "_classes", None)
        return np.arange(self.n_classes_) if classes is None else classes

    def fit(  # type: ignore[override]
        self,
        X: Any,
        y: Any,
        *,
        sample_weight: Any = None,
        base_margin: Any = None,
        eval_set: Any = None,
        verbose: bool | int | None = True,
        xgb_model: Any = None,
        sample_weight_eval_set: Any = None,
        base_margin_eval_set: Any = None,
        feature_weights: Any = None,
    ) -> XGBClassifier:
        """Fit on ``loss``; arguments as :meth:`xgboost.XGBClassifier.fit`."""
        self._check_fit_args(y, sample_weight)
        y_arr = np.asarray(y)
        if y_arr.ndim == 2 and y_arr.shape[1] == 1:
            y_arr = y_arr[:, 0]
        if y_arr.ndim != 1:
            raise ValueError(f"y must hold one class label per row, got shape {y_arr.shape}")
        _check_finite_classes(y_arr, "")
        classes, codes = np.unique(y_arr, return_inverse=True)
        k = classes.shape[0]
        if k < 2:
            raise ValueError(f"y holds {k} class; a classifier needs at least 2 classes")
        spec = self.loss if self.loss is not None else ("logistic" if k == 2 else "softmax")
        loss = estimator_loss(spec, self.loss_params, num_class=k)
        if loss.task not in ("binary", "multiclass"):
            raise ValueError(f"{loss!r} is not a classification loss; use XGBRegressor")
        if loss.task == "multiclass" and loss.n_outputs != k:
            raise ValueError(f"{loss!r} does not match the {k} classes in y")
        if loss.task == "binary" and k != 2:
            raise ValueError(f"{loss!r} is a binary loss but y holds {k} classes; use a multiclass loss")
        codes = codes.astype(np.float64)
        if eval_set is not None:
            # Evaluation labels are encoded as y is; the training pair stays the same object.
            eval_set = list(eval_set)
            for i, (_, ey) in enumerate(eval_set):
                _check_finite_classes(ey, f"eval_set[{i}]: ")
            eval_set = [(ex, codes if ey is y else _encode_labels(classes, ey)) for ex, ey in eval_set]
        self._fit_loss(
            loss, X, codes, sample_weight=sample_weight, base_margin=base_margin, eval_set=eval_set,
            verbose=verbose, xgb_model=xgb_model, sample_weight_eval_set=sample_weight_eval_set,
            base_margin_eval_set=base_margin_eval_set, feature_weights=feature_weights,
        )
        self.n_classes_ = k
        self._classes = classes
        return self

    def load_model(self, fname: Any) -> None:
        """Load a model saved by a fitted classifier (``classes_`` become 0..k-1)."""
        super().load_model(fname)
        self._classes = None

    def predict_proba(  # type: ignore[override]
        self,
        X: Any,
        validate_features: bool = True,
        base_margin: Any = None,
        iteration_range: Any = None,
    ) -> np.ndarray:
        """Class probabilities, shape (n, n_classes), from the loss's inverse link."""
        p = self._fitted_loss().predict(self._margin(X, validate_features, base_margin, iteration_range))
        return p if p.ndim == 2 else np.column_stack((1.0 - p, p))

    def predict(  # type: ignore[override]
        self,
        X: Any,
        *,
        output_margin: bool = False,
        validate_features: bool = True,
        base_margin: Any = None,
        iteration_range: Any = None,
    ) -> np.ndarray:
        """Most probable class (``output_margin=True``: raw margins)."""
        if output_margin:
            return self._margin(X, validate_features, base_margin, iteration_range)
        proba = self.predict_proba(
            X, validate_features=validate_features, base_margin=base_margin, iteration_range=iteration_range
        )
        return self.classes_[np.argmax(proba, axis=1)]


class XGBRanker(_LossEstimatorMixin, xgb.XGBRanker):
    """:class:`xgboost.XGBRanker` trained on a grouped library loss (``infonce``).

    Query groups come as in XGBoost: ``group=`` sizes, ``qid=`` ids, or a
    ``qid`` column of a DataFrame ``X``; sample weights are one per group.
    ``predict`` returns the loss's response scale, the within-group
    probabilities, which need the groups of ``X`` (``qid=`` or the ``qid``
    column); ``output_margin=True`` gives the ranking scores without them.

    Parameters
    ----------
    loss : Loss or str, default "infonce"
        A grouped loss (object, name or spec).
    loss_params : dict, optional
    **kwargs
        Every :class:`xgboost.XGBRanker` parameter except ``objective`` and
        ``base_score``.
    """

    def __init__(
        self,
        *,
        loss: Loss | str = "infonce",
        loss_params: Mapping[str, Any] | None = None,
        objective: Any = None,
        **kwargs: Any,
    ) -> None:
        self.loss = loss
        self.loss_params = loss_params
        # xgboost.XGBRanker.__init__ insists on a "rank:" objective.
        _init_xgb_model(self, objective, kwargs)

    def fit(  # type: ignore[override]
        self,
        X: Any,
        y: Any,
        *,
        group: Any = None,
        qid: Any = None,
        sample_weight: Any = None,
        base_margin: Any = None,
        eval_set: Any = None,
        eval_group: Any = None,
        eval_qid: Any = None,
        verbose: bool | int | None = False,
        xgb_model: Any = None,
        sample_weight_eval_set: Any = None,
        base_margin_eval_set: Any = None,
        feature_weights: Any = None,
    ) -> XGBRanker:
        """Fit on ``loss``; arguments as :meth:`xgboost.XGBRanker.fit`."""
        self._check_fit_args(y, sample_weight)
        loss = estimator_loss(self.loss, self.loss_params)
        if not loss.needs_group:
            raise ValueError(f"{loss!r} does not use query groups; use XGBRegressor or XGBClassifier")
        return self._fit_loss(
            loss, X, y, create_dmatrix=self._create_ltr_dmatrix, group=group, qid=qid, eval_group=eval_group,
            eval_qid=eval_qid, sample_weight=sample_weight, base_margin=base_margin, eval_set=eval_set,
            verbose=verbose, xgb_model=xgb_model, sample_weight_eval_set=sample_weight_eval_set,
            base_margin_eval_set=base_margin_eval_set, feature_weights=feature_weights,
        )

    def predict(  # type: ignore[override]
        self,
        X: Any,
        *,
        output_margin: bool = False,
        validate_features: bool = True,
        base_margin: Any = None,
        iteration_range: Any = None,
        qid: Any = None,
    ) -> np.ndarray:
        """Within-group probabilities (``output_margin=True``: ranking scores).

        ``qid`` (or a ``qid`` column of ``X``) gives the query of every row,
        all rows of a query together.
        """
        X, qid = _get_qid(X, qid)
        margin = self._margin(X, validate_features, base_margin, iteration_range)
        if output_margin:
            return margin
        if qid is None:
            raise ValueError(
                f"{self._fitted_loss().name} predictions are probabilities within each query: pass qid= "
                "(or a 'qid' column in X), or output_margin=True for ranking scores"
            )
        return self._fitted_loss().predict(margin, group=np.asarray(qid))

    def score(self, X: Any, y: Any) -> float:  # type: ignore[override]
        """Negative mean loss per query on ``X`` (a DataFrame with a ``qid`` column):
        greater is better, as scikit-learn expects."""
        X, qid = _get_qid(X, None)
        if qid is None:
            raise ValueError("score needs the query of every row: a DataFrame X with a 'qid' column")
        margin = self._margin(X, True, None, None)
        return -self._fitted_loss().loss(np.asarray(y, dtype=np.float64), margin, group=np.asarray(qid))
