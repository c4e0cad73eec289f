"""Dask: :class:`lightgbm.DaskLGBMRegressor` trained on a library loss."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import lightgbm as lgb
import numpy as np

from .._adapters import Data, estimator_loss, warn_no_refit
from ..losses import Loss
from ._estimators import LGBMRegressor, _eval_kwargs, _eval_pairs, _LossModelMixin
from ._init_score import _fit_init_score
from ._params import _boost_from_average


def _dask_constant_like(y: Any, value: float) -> Any:
    """A Dask collection partitioned like ``y`` holding ``value`` everywhere."""
    return y * 0.0 + value


class DaskLGBMRegressor(_LossModelMixin, lgb.DaskLGBMRegressor):
    """:class:`lightgbm.DaskLGBMRegressor` trained on a library loss.

    Every worker trains :class:`LGBMRegressor` on its partitions with the
    loss's objective; the init score is the loss's best constant margin over all
    of ``y`` (computed on the client, so ``y`` and the weights are gathered
    once), and ``predict`` returns the response scale. Leaf refit needs
    every row's residual on one machine, so it is not available here, even
    when all partitions sit on one worker: absolute error and quantile
    losses train plain Newton leaves, and a :class:`LeafRefitWarning` says
    so once per process and loss.

    Parameters
    ----------
    loss : Loss or str, default "squared_error"
    loss_params : dict, optional
    client : distributed.Client, optional
    **kwargs
        Every :class:`lightgbm.DaskLGBMRegressor` parameter except ``objective``.
    """

    def __init__(
        self,
        *,
        loss: Loss | str = "squared_error",
        loss_params: Mapping[str, Any] | None = None,
        client: Any = None,
        **kwargs: Any,
    ) -> None:
        self.loss = loss
        self.loss_params = loss_params
        super().__init__(client=client, **kwargs)

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
        *,
        eval_X: Any = None,
        eval_y: Any = None,
        **kwargs: Any,
    ) -> DaskLGBMRegressor:
        """Fit on ``loss``; arguments as :meth:`lightgbm.DaskLGBMRegressor.fit`."""
        self._check_constructor(y)
        loss = estimator_loss(self.loss, self.loss_params)
        if loss.n_outputs > 1 or loss.needs_group:
            raise ValueError(f"{loss!r} is not a single-output regression loss")
        warn_no_refit(loss, "DaskLGBMRegressor (the refit needs every row's residual on one machine)")
        pairs = _eval_pairs(eval_set, eval_X, eval_y)
        init = None
        if init_score is None and kwargs.get("init_model") is None and _boost_from_average(self.get_params()):
            # As LightGBM stores them: float32 labels and weights.
            y_local = np.asarray(y.compute(), dtype=np.float32).reshape(-1)
            w_local = None if sample_weight is None else np.asarray(sample_weight.compute(), dtype=np.float32).ravel()
            init = _fit_init_score(loss, Data(loss, y_local, w_local, None, "y"))
        if init is not None:
            init_score = _dask_constant_like(y, float(init[0]))
            if pairs and eval_init_score is None:
                eval_init_score = [_dask_constant_like(ey, float(init[0])) for _, ey in pairs]
        self._lgb_dask_fit(
            model_factory=LGBMRegressor,
            X=X,
            y=y,
            sample_weight=sample_weight,
            init_score=init_score,
            eval_names=eval_names,
            eval_sample_weight=eval_sample_weight,
            eval_init_score=eval_init_score,
            eval_metric=eval_metric,
            **_eval_kwargs(pairs),
            **kwargs,
        )
        return self._finish_fit(loss, init)

    def to_local(self) -> LGBMRegressor:
        """The fitted model as a (non-Dask) :class:`LGBMRegressor`."""
        return self._lgb_dask_to_local(LGBMRegressor)
