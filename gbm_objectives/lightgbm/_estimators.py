"""scikit-learn estimators trained on a library loss: the loss replaces
``objective``, its init score is folded into the model, and predictions go
through its inverse link."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import lightgbm as lgb
import numpy as np

from .._adapters import Data, check_output, estimator_loss, margin_to_output, refits, warn_no_refit
from .._validation import as_float_array
from ..losses import Loss
from ._callables import LightGBMMetric, LightGBMObjective
from ._data import NoUsableFeaturesError, _FeatureCheck, _n_rows
from ._init_score import (
    _constant_from,
    _fit_init_score,
    _fold_init_score,
    _full_init_score,
)
from ._model_text import _record_loss
from ._params import (
    _METRIC_ALIASES,
    _THREAD_ALIASES,
    _boost_from_average,
    _builtin_metrics,
    _check_boosting,
    _check_builtin_metrics,
    _check_class_balance,
    _check_loss_params,
    _check_refit_params,
    _has_param,
    _is_distributed,
    _param,
    _set_num_class,
)
from ._refit import _refit_callback


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
    return list(zip(eval_X, eval_y, strict=True)) if isinstance(eval_X, tuple) else [(eval_X, eval_y)]


def _check_eval_labels(loss: Loss, pairs: list[tuple[Any, Any]], weights: Any) -> None:
    """Validate the evaluation sets' labels and weights as given: LightGBM stores
    a NaN label as 0 when it builds a Dataset, so the metric never sees it."""
    if weights is not None and not isinstance(weights, (list, tuple)):
        weights = [weights]
    for i, (_, ey) in enumerate(pairs):
        ew = None if weights is None or i >= len(weights) else weights[i]
        w32 = None if ew is None else np.asarray(ew, dtype=np.float32).reshape(-1)
        Data(loss, np.asarray(ey, dtype=np.float32).reshape(-1), w32, None, f"eval_set[{i}]")


def _eval_kwargs(pairs: list[tuple[Any, Any]]) -> dict[str, Any]:
    """Evaluation sets as LightGBM 4's ``eval_X`` / ``eval_y`` tuples."""
    if not pairs:
        return {}
    return {"eval_X": tuple(p[0] for p in pairs), "eval_y": tuple(p[1] for p in pairs)}


class _LossModelMixin:
    """What the library's scikit-learn estimators share: the loss replaces
    ``objective``, the loss's init score is folded into the model, and
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
        if loss.n_outputs > 1:
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
        """``parent_fit(X, y_fit, **fit_kw)`` on ``loss``: its init score (from
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
        level_refit = bool(getattr(self, "refit_leaves", True)) and loss.level_refit is not None
        if level_refit and _is_distributed(params):
            level_refit = False
            warn_no_refit(loss, f"{type(self).__name__} in distributed training (the refit needs every row)",
                          levels=True)
        if refit or level_refit:
            _check_refit_params(loss, params)
        init = None
        if fit_kw["init_score"] is None and fit_kw["init_model"] is None and _boost_from_average(params):
            init = _fit_init_score(loss, data)
        if init is not None:
            fit_kw["init_score"] = _full_init_score(init, data.y.shape[0])
            if pairs and fit_kw["eval_init_score"] is None:
                fit_kw["eval_init_score"] = [_full_init_score(init, _n_rows(ey)) for _, ey in pairs]
        eval_metric = fit_kw["eval_metric"]
        fit_kw["eval_metric"] = [LightGBMMetric(loss)]
        if eval_metric is not None:
            fit_kw["eval_metric"] += list(eval_metric) if isinstance(eval_metric, list) else [eval_metric]
        fit_kw["callbacks"] = list(fit_kw["callbacks"] or [])
        refit_cb = None
        if refit or level_refit:
            others = [ex for ex, ey in pairs if not (ex is X and ey is y)]
            refit_cb = _refit_callback(loss, data, X, others, _param(params, _THREAD_ALIASES))  # type: ignore[arg-type]
            fit_kw["callbacks"].append(refit_cb)
        fit_kw["callbacks"].append(_FeatureCheck())
        self.loss_ = loss
        self._refit_now = refit
        try:
            parent_fit(X, y_fit, **fit_kw, **_eval_kwargs(pairs))
        except NoUsableFeaturesError as exc:
            if exc.booster is None or fit_kw["init_model"] is not None:
                raise
            self._fit_constant(exc, loss, init)
            init = None  # already in the constant model
        finally:
            if refit_cb is not None:
                refit_cb.uninstall()
        return self._finish_fit(loss, init)

    def _fit_constant(self, exc: NoUsableFeaturesError, loss: Loss, init: np.ndarray | None) -> None:
        """What LightGBM's ``fit`` sets after training, for the constant init-score model."""
        ds = exc.booster.train_set  # type: ignore[union-attr]
        self._Booster = _constant_from(exc, ds, loss, init, exc.booster.params or {})  # type: ignore[union-attr]
        self._n_features = self._Booster.num_feature()
        self._fitted_with_feature_names = getattr(ds, "_has_non_default_feature_names", False)
        self._evals_result: dict = {}
        self._best_iteration = self._Booster.best_iteration
        self._best_score = self._Booster.best_score
        self.fitted_ = True

    def _finish_fit(self, loss: Loss, init: np.ndarray | None) -> Any:
        """Fold the init score into the fitted model and record the loss."""
        booster = self._Booster  # type: ignore[attr-defined]
        if init is not None:
            _fold_init_score(booster, init)
        _record_loss(booster, loss, in_model=True)
        self.loss_ = loss
        self.init_score_ = init
        return self

    @property
    def start_margin_(self) -> np.ndarray | None:
        """Former name of ``init_score_``."""
        return self.init_score_

    def __setstate__(self, state: dict[str, Any]) -> None:
        # Estimators pickled before the rename hold the init score as start_margin_.
        if "start_margin_" in state:
            state = dict(state)
            state.setdefault("init_score_", state.pop("start_margin_"))
        super().__setstate__(state)  # type: ignore[misc]

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

    Sample weights reach the gradients, training starts from the loss's init
    score (folded into the model), absolute error and quantile losses get
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
    ) -> LGBMRegressor:
        """Fit on ``loss``; arguments as :meth:`lightgbm.LGBMRegressor.fit`.

        Without ``init_score`` training starts from the loss's init score
        (the same for every evaluation set), which the fitted model includes;
        with ``boost_from_average=False`` it starts from 0, as LightGBM's
        built-in objectives do. LightGBM parameters that define a built-in
        objective's loss (``alpha``, ``tweedie_variance_power``,
        ``poisson_max_delta_step``, ...) must agree with ``loss`` and raise
        ValueError otherwise: set the loss's own parameter instead.
        """
        self._check_constructor(y)
        loss = estimator_loss(self.loss, self.loss_params)
        if loss.task == "multiclass":
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
        output: str = "response",
        **kwargs: Any,
    ) -> Any:
        """Predictions on the response scale (``raw_score=True``: the raw margin).

        Distributional losses predict the mean; ``output="parameters"``
        gives their (n, k) parameters and ``output="distribution"`` a
        :class:`~gbm_objectives.distributions.Distribution` of n rows.
        """
        if output != "response":
            loss = getattr(self, "loss_", None)
            if loss is None:
                raise ValueError("this estimator is not fitted yet; call fit() first")
            check_output(output, loss)
            if raw_score or pred_leaf or pred_contrib:
                raise ValueError(f"output={output!r} cannot be combined with raw_score, pred_leaf or pred_contrib")
            margin = self.predict(X, raw_score=True, start_iteration=start_iteration, num_iteration=num_iteration,
                                  validate_features=validate_features, **kwargs)
            return margin_to_output(loss, loss.check_margin(np.asarray(margin, dtype=np.float64), len(margin)), output)
        return self._response(
            X, raw_score, pred_leaf, pred_contrib, start_iteration=start_iteration, num_iteration=num_iteration,
            validate_features=validate_features, **kwargs,
        )[0]

    def score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
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
        loss = self.loss_
        if loss.n_outputs == 1:
            return float(super().score(X, y, sample_weight=sample_weight))
        return -loss.loss(y, self.predict(X, raw_score=True), sample_weight)


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
    gradients; training starts from the loss's init score, folded into
    the model.

    LightGBM's ``is_unbalance`` and ``scale_pos_weight`` act only inside
    its built-in binary objective, so they raise ValueError here: weight the
    classes with ``class_weight`` (``"balanced"`` or ``{neg: 1, pos: s}``)
    or ``sample_weight``, which reach every loss and its init score.

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
    ) -> LGBMClassifier:
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
        if loss.n_outputs > 1 and loss.n_outputs != k:
            raise ValueError(f"{loss!r} does not match the {k} classes in y")
        if loss.n_outputs == 1 and k != 2:
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
