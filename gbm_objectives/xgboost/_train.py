"""Training, cross-validation, prediction and Dask training with a library loss.

:func:`train`, :func:`cv` and :func:`dask_train` are XGBoost's with the loss
wired in (objective, metric, ``base_score`` at the loss's init score, loss
record); :func:`predict` reads that record back.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import xgboost as xgb

from .._adapters import Data, check_margin, check_output, margin_to_output
from ..losses import Loss, as_loss
from ._callables import _BOOSTER, _read_dmatrix
from ._params import _booster_args, _booster_loss, _margin_to_base_score, _record_loss


def train(
    loss: Loss | str,
    params: Mapping[str, Any] | None,
    dtrain: xgb.DMatrix,
    num_boost_round: int = 100,
    *,
    evals: Sequence[tuple[xgb.DMatrix, str]] = (),
    init_score: float | Sequence[float] | None = None,
    refit_leaves: bool = True,
    **kwargs: Any,
) -> xgb.Booster:
    """Train an XGBoost booster on ``loss``: :func:`xgboost.train` with the loss wired in.

    Parameters
    ----------
    loss : Loss or str
    params : dict
        XGBoost parameters, without ``objective`` and ``base_score`` (both
        come from the loss). ``num_class`` is filled in for multiclass losses,
        ``num_target`` for other losses with several outputs (quantile and
        expectile sets), and must match if given. For Poisson, ``max_delta_step`` comes from
        the loss (``get_loss("poisson", max_delta_step=...)``); a different
        value here raises ValueError. ``scale_pos_weight`` other than 1 raises
        ValueError: XGBoost applies it only inside its built-in binary
        objectives, never to custom gradients; weight the positive rows
        (``DMatrix(weight=...)``) instead.
    dtrain : xgboost.DMatrix
        Labels, optional weights, and query groups for grouped losses.
    num_boost_round : int, default 100
    evals : sequence of (DMatrix, name)
        Evaluation sets; they start from the same init score as ``dtrain``.
    init_score : float or sequence of float, optional
        The margin every row starts from (raw score; ``num_class`` values for
        multiclass). Default: ``loss.init_score(labels, weights)``, the
        constant that minimises the loss; when training continues from
        ``xgb_model``, that model's init score is kept.
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
        init = data.init_score(loss) if init_score is None else init_score
        booster_params["base_score"] = _margin_to_base_score(loss, init, booster_params["objective"])
    booster = xgb.train(booster_params, dtrain, num_boost_round, evals=evals, obj=obj, **kwargs)
    _drop_inherited_best(booster, kwargs)
    _record_loss(booster, loss)
    return booster


def _drop_inherited_best(booster: xgb.Booster, kwargs: Mapping[str, Any]) -> None:
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
    dtrain: xgb.DMatrix,
    num_boost_round: int = 10,
    *,
    nfold: int = 3,
    init_score: float | Sequence[float] | None = None,
    refit_leaves: bool = True,
    **kwargs: Any,
) -> Any:
    """Cross-validate ``loss``: :func:`xgboost.cv` with the loss wired in, each fold as :func:`train`.

    Every fold starts from the loss's init score of its own training part
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
        first; the fold's init score is read from what it returns. ``obj`` is not
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

    def init_each_fold(fold_train: Any, fold_test: Any, fold_params: Any) -> tuple[Any, Any, Any]:
        if user_fpreproc is not None:
            fold_train, fold_test, fold_params = user_fpreproc(fold_train, fold_test, fold_params)
        base = fixed
        if base is None:
            # Grouped losses compare rows within a group: a common init score changes nothing.
            margin = 0.0 if loss.needs_group else _read_dmatrix(loss, fold_train, "training fold").init_score(loss)
            base = _margin_to_base_score(loss, margin, objective_name)
        fold_params = dict(fold_params)
        fold_params["base_score"] = base
        return fold_train, fold_test, fold_params

    return xgb.cv(booster_params, dtrain, num_boost_round, nfold=nfold, obj=obj, fpreproc=init_each_fold, **kwargs)


def predict(
    booster: xgb.Booster,
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
    output : {"response", "margin", "parameters", "distribution"}, default "response"
        ``"response"``: the loss's inverse link of the margin (mean, median,
        probability, class probabilities of shape (n, k); for distributional
        losses the mean); ``"margin"``: raw scores. Distributional losses
        only: ``"parameters"``, the (n, k) distribution parameters (columns
        ``loss.output_names``); ``"distribution"``, a
        :class:`~gbm_objectives.distributions.Distribution` of n rows.
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
    check_output(output, loss)
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
    return margin_to_output(loss, margin, output, group)


def _iteration_range(booster: xgb.Booster, iteration_range: Any) -> tuple[int, int]:
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

    The init score is the loss's over all partitions: the
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
        # Grouped losses compare rows within a group, so a common init
        # score changes nothing; the workers still check their groups.
        if loss.needs_group:
            init_score = 0.0
        else:
            init_score = Data(loss, *_dask_labels(client, dtrain), None, "dtrain").init_score(loss)
    if init_score is not None:
        booster_params["base_score"] = _margin_to_base_score(loss, init_score, booster_params["objective"])
    out = dxgb.train(client, booster_params, dtrain, num_boost_round, evals=list(evals), obj=obj, **kwargs)
    _drop_inherited_best(out["booster"], kwargs)
    _record_loss(out["booster"], loss)
    return out

