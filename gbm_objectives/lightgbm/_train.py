"""Training, cross-validation, refit and prediction of LightGBM boosters on a
library loss: :func:`lightgbm.train` / :func:`lightgbm.cv` with the loss's
objective, metric, init score and leaf refit wired in."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import lightgbm as lgb
import numpy as np

from .._adapters import Data, check_output, margin_to_output, refits, warn_no_refit
from ..losses import Loss, as_loss
from ._callables import LightGBMMetric, LightGBMObjective
from ._data import (
    _GROUP_HINT,
    NoUsableFeaturesError,
    _check_usable_features,
    _constructed,
    _dataset_data,
    _dataset_rows,
    _FeatureCheck,
    _own_init_score,
    _python_side_data,
    _raw_data,
)
from ._init_score import (
    _check_init_score,
    _constant_from,
    _fit_init_score,
    _fold_init_score,
    _full_init_score,
    _nonzero,
)
from ._model_text import _record_loss, booster_loss
from ._params import _THREAD_ALIASES, _boost_from_average, _param, _prepare_params
from ._refit import _refit_callback


def train(
    loss: Loss | str,
    params: Mapping[str, Any] | None,
    train_set: lgb.Dataset,
    num_boost_round: int = 100,
    *,
    valid_sets: Sequence[lgb.Dataset] | None = None,
    valid_names: Sequence[str] | None = None,
    init_score: float | Sequence[float] | None = None,
    refit_leaves: bool = True,
    feval: Callable | Sequence[Callable] | None = None,
    callbacks: Sequence[Callable] | None = None,
    **kwargs: Any,
) -> lgb.Booster:
    """Train a LightGBM booster on ``loss``: :func:`lightgbm.train` with the loss wired in.

    Parameters
    ----------
    loss : Loss or str
    params : dict
        LightGBM parameters without ``objective`` (it comes from the loss).
        ``num_class`` is filled in for multiclass losses and must match if
        given. ``metric`` defaults to ``"None"``: the loss's own metric is
        reported on every validation set as ``"gbm_" + loss.name``. LightGBM's
        built-in metrics see raw scores under a custom objective, so they are
        accepted only beside identity-link losses (whose scores are the
        response) and refused otherwise. Parameters that define the loss of
        LightGBM's built-in objectives (``alpha``, ``tweedie_variance_power``,
        ``poisson_max_delta_step``, ``fair_c``, ``sigmoid``, ``reg_sqrt``)
        must agree with the loss (or keep LightGBM's default where the loss
        has no such setting) and raise ValueError otherwise: set the loss's
        own parameter instead. ``is_unbalance`` and
        ``scale_pos_weight`` act only in LightGBM's built-in binary objective
        and raise ValueError: give the rows weights (the Dataset's
        ``weight``) instead.
    train_set : lightgbm.Dataset
        Labels, optional weights, and query groups for grouped losses. If it
        already has an ``init_score`` (per-row offsets), training starts from
        those and no init score is added, as with LightGBM's built-ins.
    num_boost_round : int, default 100
    valid_sets, valid_names : optional
        Validation Datasets (built with ``reference=train_set``) and names;
        they start from the same margin as ``train_set``.
    init_score : float or sequence of float, optional
        The init score (one raw score, ``n_outputs`` values for multi-output
        losses). Default: ``loss.init_score(labels, weights)``, the loss's
        best constant margin. It
        is folded into the first iteration's leaves, so the model predicts
        it; 0 (or ``params["boost_from_average"] = False``, as with
        LightGBM's built-ins) starts from LightGBM's default 0. Not with ``init_model``
        (a continued model starts from that model's predictions, which hold
        its init score already).
    refit_leaves : bool, default True
        Absolute error and quantile losses: after each tree set every leaf to
        ``learning_rate`` times LightGBM's (weighted) percentile of its
        residuals, as LightGBM's ``l1`` / ``quantile`` objectives do.
        Quantile sets that ask for it (``multi_quantile``'s ``refit_levels``, on by default):
        each round's tree of output ``j`` moves toward the refit that makes
        level ``j`` move ``learning_rate`` times its residual quantile in each
        leaf (output ``j`` on its own under ``transform="max"``; given the
        levels below under ``"softplus"``), by how far the level sits off its
        quantile, overall or in the leaf (see ``MultiQuantile``); the levels
        stay non-crossing and their own curvature shapes the splits. Needs
        in-memory features (Datasets built with ``free_raw_data=False`` or
        not yet constructed) and ``boosting="gbdt"``; with bagging every row,
        not only the bag, enters the percentiles. False keeps plain Newton
        leaves with the loss's own curvature. With the refit of a one-level
        loss the Hessian only shapes the splits and is one unit per row
        (times its weight), as in LightGBM's built-ins.
    feval : callable or list of callables, optional
        Extra evaluation functions, after the loss's own metric.
    callbacks : list of callables, optional
    **kwargs
        Passed to :func:`lightgbm.train` (``init_model``,
        ``keep_training_booster``).

    Returns
    -------
    lightgbm.Booster
        ``booster.predict(X)`` returns the response scale (through the host
        objective's output transform) and ``raw_score=True`` the raw scores,
        which include the init score. With ``keep_training_booster=True``
        the booster's objective is the host objective too; training it on
        with ``update(fobj=...)`` sets LightGBM's objective back to none.
    """
    loss = as_loss(loss)
    if not isinstance(train_set, lgb.Dataset):
        raise ValueError(f"train_set must be a lightgbm.Dataset, got {type(train_set).__name__}")
    if isinstance(valid_sets, lgb.Dataset):
        valid_sets = [valid_sets]
    valid_sets = list(valid_sets or [])
    for ds in valid_sets:
        if not isinstance(ds, lgb.Dataset):
            raise ValueError(f"valid_sets must hold lightgbm.Dataset objects, got {type(ds).__name__}")
    if "fobj" in kwargs:
        raise ValueError("the objective comes from the loss; train() does not accept fobj=")
    refit = refits(loss, refit_leaves)
    level_refit = bool(refit_leaves) and loss.level_refit is not None
    booster_params = _prepare_params(loss, params, refit or level_refit)
    init_model = kwargs.get("init_model")

    # Labels are checked (and the init score computed) before LightGBM builds anything.
    data = _python_side_data(loss, train_set, "train_set")
    others = [ds for ds in valid_sets if ds is not train_set]
    for i, ds in enumerate(others):
        if _constructed(ds) or ds.label is not None:
            _python_side_data(loss, ds, f"valid_sets[{i}]")

    has_offsets = _own_init_score(train_set) is not None
    if init_score is not None and has_offsets:
        raise ValueError("train_set already has an init_score; pass init_score= or the Dataset's, not both")
    if init_score is not None and init_model is not None:
        # LightGBM starts a continued model from init_model's own predictions,
        # which already hold its init score; folding another one into the
        # first iteration's leaves would shift the whole model.
        raise ValueError(
            "init_score= cannot be combined with init_model=: training continues from init_model's "
            "predictions, which already include its init score; drop init_score="
        )
    if init_score is not None:
        init = _nonzero(_check_init_score(loss, init_score))
    elif has_offsets or init_model is not None or not _boost_from_average(booster_params):
        init = None
    else:
        init = _fit_init_score(loss, data)

    cbs = [*(callbacks or []), _FeatureCheck()]
    refit_cb = None
    if refit or level_refit:
        refit_cb = _refit_callback(
            loss,
            data,
            _raw_data(train_set, "train_set"),
            [_raw_data(ds, f"valid set {i}") for i, ds in enumerate(others)],
            _param(booster_params, _THREAD_ALIASES),
        )
        cbs.append(refit_cb)
    fevals = [LightGBMMetric(loss)]
    if feval is not None:
        fevals += list(feval) if isinstance(feval, (list, tuple)) else [feval]
    # The refit is chosen here (refit_leaves=False is the user's choice): no warning.
    # Level sets keep their own curvature under the refit: it splits better
    # than one unit per row (measured in benchmarks/bench_level_sets.py).
    booster_params["objective"] = LightGBMObjective(loss, row_curvature=refit)._managed()

    patched: list[lgb.Dataset] = []
    constant = None
    try:
        if init is not None:
            for ds in [train_set, *others]:
                if ds is train_set or _own_init_score(ds) is None:
                    ds.set_init_score(_full_init_score(init, _dataset_rows(ds)))
                    patched.append(ds)
        booster = lgb.train(
            booster_params,
            train_set,
            num_boost_round,
            valid_sets=valid_sets or None,
            valid_names=list(valid_names) if valid_names is not None else None,
            feval=fevals,
            callbacks=cbs,
            **kwargs,
        )
    except NoUsableFeaturesError as exc:
        if init_model is not None:
            raise
        booster = constant = _constant_from(exc, train_set, loss, init, booster_params)
    finally:
        if refit_cb is not None:
            refit_cb.uninstall()
        for ds in patched:
            ds.init_score = None
            if _constructed(ds):
                ds.set_field("init_score", None)
    if init is not None and constant is None:
        _fold_init_score(booster, init)
    _record_loss(booster, loss, in_model=not kwargs.get("keep_training_booster", False))
    return booster


def cv(
    loss: Loss | str,
    params: Mapping[str, Any] | None,
    train_set: lgb.Dataset,
    num_boost_round: int = 100,
    *,
    nfold: int = 5,
    folds: Any = None,
    stratified: bool | None = None,
    init_score: float | Sequence[float] | None = None,
    feval: Callable | Sequence[Callable] | None = None,
    fpreproc: Callable | None = None,
    callbacks: Sequence[Callable] | None = None,
    return_cvbooster: bool = False,
    **kwargs: Any,
) -> dict[str, Any]:
    """Cross-validate a LightGBM booster on ``loss``: :func:`lightgbm.cv` with the loss wired in.

    Every fold trains as :func:`train` would on its training part: from the
    loss's init score on that part (its validation part starts from the
    same margin), with the loss's objective and its metric, reported as
    ``"gbm_" + loss.name``. Arguments are in :func:`train`'s order; the
    result is what :func:`lightgbm.cv` returns (``"valid gbm_tweedie-mean"``,
    ``"valid gbm_tweedie-stdv"``, ... and ``"cvbooster"`` on request, whose
    boosters hold their fold's init score, the host objective and the loss
    record, as models from :func:`train` do).

    Parameters
    ----------
    loss : Loss or str
    params : dict
        LightGBM parameters without ``objective``, as for :func:`train`.
    train_set : lightgbm.Dataset
    num_boost_round : int, default 100
    nfold : int, default 5
    folds : optional
        As :func:`lightgbm.cv`. Grouped losses default to folds that keep
        every query group whole.
    stratified : bool, optional
        Default True for classification losses (``loss.task`` binary or multiclass), else False.
    init_score : float or sequence of float, optional
        One init score for every fold instead of each fold's own.
    feval : callable or list of callables, optional
        Extra evaluation functions, after the loss's own metric.
    fpreproc : callable, optional
        As :func:`lightgbm.cv`; runs before each fold's init score is set.
    callbacks : list of callables, optional
    return_cvbooster : bool, default False
    **kwargs
        Passed to :func:`lightgbm.cv` (``shuffle``, ``seed``,
        ``eval_train_metric``, ``init_model``).

    Notes
    -----
    Absolute error and quantile losses train without the leaf refit here
    (folds are Dataset subsets; the refit needs each fold's raw features), so
    fold scores can be worse than :func:`train`'s model: a
    :class:`LeafRefitWarning` says so, once per process and loss.
    """
    loss = as_loss(loss)
    if not isinstance(train_set, lgb.Dataset):
        raise ValueError(f"train_set must be a lightgbm.Dataset, got {type(train_set).__name__}")
    if "fobj" in kwargs:
        raise ValueError("the objective comes from the loss; cv() does not accept fobj=")
    if not isinstance(return_cvbooster, bool):
        raise ValueError(f"return_cvbooster must be True or False, got {return_cvbooster!r}")
    booster_params = _prepare_params(loss, params, refit=False)
    warn_no_refit(loss, "gbm_objectives.lightgbm.cv (its folds are Dataset subsets without raw features)",
                  levels=True)
    _python_side_data(loss, train_set, "train_set")
    if init_score is not None and _own_init_score(train_set) is not None:
        raise ValueError("train_set already has an init_score; pass init_score= or the Dataset's, not both")
    if init_score is not None and kwargs.get("init_model") is not None:
        raise ValueError("init_score= cannot be combined with init_model=: the folds start from init_model")
    fixed = None if init_score is None else _check_init_score(loss, init_score)
    per_fold = (
        init_score is None
        and _own_init_score(train_set) is None
        and kwargs.get("init_model") is None
        and _boost_from_average(booster_params)
    )
    if stratified is None:
        stratified = loss.task in ("binary", "multiclass")
    if folds is None and loss.needs_group:
        folds = _group_folds(train_set, nfold, bool(kwargs.get("shuffle", True)), int(kwargs.get("seed", 0)))
    inits: list[np.ndarray | None] = []

    def preprocess(dtrain: lgb.Dataset, dvalid: lgb.Dataset, tparams: dict) -> tuple:
        if fpreproc is not None:
            dtrain, dvalid, tparams = fpreproc(dtrain, dvalid, tparams)
        dtrain.construct()
        dvalid.construct()
        _check_usable_features(dtrain)
        if per_fold:
            init = _fit_init_score(loss, _dataset_data(loss, dtrain, "fold training data"))
        else:
            init = None if fixed is None else _nonzero(fixed)
        if init is not None:
            for ds in (dtrain, dvalid):
                ds.set_init_score(_full_init_score(init, ds.num_data()))
        inits.append(init)
        return dtrain, dvalid, tparams

    fevals = [LightGBMMetric(loss)]
    if feval is not None:
        fevals += list(feval) if isinstance(feval, (list, tuple)) else [feval]
    booster_params["objective"] = LightGBMObjective(loss)._managed()
    result = lgb.cv(
        booster_params,
        train_set,
        num_boost_round,
        folds=folds,
        nfold=nfold,
        stratified=stratified,
        feval=fevals,
        fpreproc=preprocess,
        callbacks=list(callbacks or []),
        return_cvbooster=return_cvbooster,
        **kwargs,
    )
    if return_cvbooster:
        for booster, init in zip(result["cvbooster"].boosters, inits, strict=True):
            if init is not None:
                _fold_init_score(booster, init)
            _record_loss(booster, loss, in_model=True)
    return result


def _group_folds(ds: lgb.Dataset, nfold: int, shuffle: bool, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """K folds of whole query groups (rows of a group stay in one fold)."""
    sizes = ds.get_group() if _constructed(ds) else ds.group
    if sizes is None:
        raise ValueError(f"{_GROUP_HINT} for cv of a grouped loss")
    sizes = np.asarray(sizes, dtype=np.int64).reshape(-1)
    if nfold < 2 or nfold > sizes.shape[0]:
        raise ValueError(f"nfold must be between 2 and the number of query groups ({sizes.shape[0]}), got {nfold}")
    order = np.random.RandomState(seed).permutation(sizes.shape[0]) if shuffle else np.arange(sizes.shape[0])
    bounds = np.concatenate(([0], np.cumsum(sizes)))
    out = []
    for part in np.array_split(order, nfold):
        test = np.zeros(bounds[-1], dtype=bool)
        for g in part:
            test[bounds[g] : bounds[g + 1]] = True
        out.append((np.flatnonzero(~test), np.flatnonzero(test)))
    return out


def refit(
    booster: lgb.Booster,
    data: Any,
    label: Any,
    *,
    loss: Loss | str | None = None,
    weight: Any = None,
    decay_rate: float = 0.9,
) -> lgb.Booster:
    """:meth:`lightgbm.Booster.refit` with the loss's own gradients.

    LightGBM's refit takes its gradients from the model's objective, which
    for a library model is the host objective (the loss itself only where
    LightGBM has it). This does LightGBM's refit with the loss: every tree
    keeps its structure; iteration by iteration, from raw score 0 as in
    LightGBM, each leaf becomes ``decay_rate * old + (1 - decay_rate) *
    shrinkage * newton`` with ``newton = -T_l1(sum g) / (sum h + lambda_l2)``
    (clipped to ``max_delta_step``) over the rows of ``data`` in that leaf.

    Parameters
    ----------
    booster : lightgbm.Booster
    data : array-like
        Features of the rows to refit on.
    label : array-like
    loss : Loss or str, optional
        Default: the loss recorded in the model.
    weight : array-like, optional
    decay_rate : float in [0, 1], default 0.9

    Returns
    -------
    lightgbm.Booster
        A new booster (the given one is unchanged) with the loss record.
    """
    if not isinstance(booster, lgb.Booster):
        raise ValueError(f"booster must be a lightgbm.Booster, got {type(booster).__name__}")
    if loss is None:
        loss = booster_loss(booster)
        if loss is None:
            raise ValueError("this booster has no recorded gbm_objectives loss; pass loss=")
    else:
        loss = as_loss(loss)
    if loss.needs_group:
        raise ValueError(f"refit of {loss.name} is not supported (it needs query groups)")
    if isinstance(decay_rate, bool) or not isinstance(decay_rate, (int, float)) or not 0.0 <= decay_rate <= 1.0:
        raise ValueError(f"decay_rate must be a number in [0, 1], got {decay_rate!r}")
    # As LightGBM stores them: float32 labels and weights.
    w32 = None if weight is None else np.asarray(weight, dtype=np.float32).reshape(-1)
    rows = Data(loss, np.asarray(label, dtype=np.float32).reshape(-1), w32, None, "label")
    leaf = np.asarray(booster.predict(data, pred_leaf=True), dtype=np.int64)
    n = rows.y.shape[0]
    if leaf.ndim == 1:
        leaf = leaf.reshape(-1, 1)
    if leaf.shape[0] != n:
        raise ValueError(f"data has {leaf.shape[0]} rows but label has {n}")
    k = loss.n_outputs
    trees = booster.dump_model()["tree_info"]
    if len(trees) % k:
        raise ValueError(f"the booster's {len(trees)} trees do not match the {k} outputs of {loss!r}")
    params = booster.params or {}
    l1 = float(_param(params, ("lambda_l1", "reg_alpha", "l1_regularization"), 0.0))
    l2 = float(_param(params, ("lambda_l2", "reg_lambda", "lambda", "l2_regularization"), 0.0))
    max_step = float(_param(params, ("max_delta_step", "max_tree_output", "max_leaf_output"), 0.0))
    out = lgb.Booster(model_str=booster.model_to_string(num_iteration=-1))
    margin = np.zeros((n, k) if k > 1 else n)
    objective_ = LightGBMObjective(loss)
    for it in range(len(trees) // k):
        grad, hess = objective_._grad_hess(margin, rows)
        grad = np.asarray(grad, dtype=np.float64).reshape(n, k)
        hess = np.asarray(hess, dtype=np.float64).reshape(n, k)
        for c in range(k):
            t = it * k + c
            n_leaves = int(trees[t]["num_leaves"])
            lf = leaf[:, t]
            g = np.bincount(lf, weights=grad[:, c], minlength=n_leaves)
            h = np.bincount(lf, weights=hess[:, c], minlength=n_leaves) + 1e-15
            step = -np.sign(g) * np.maximum(np.abs(g) - l1, 0.0) / (h + l2)
            if max_step > 0.0:
                step = np.clip(step, -max_step, max_step)
            old = np.array([out.get_leaf_output(t, j) for j in range(n_leaves)])
            new = decay_rate * old + (1.0 - decay_rate) * step * float(trees[t].get("shrinkage", 1.0))
            for j in range(n_leaves):
                out.set_leaf_output(t, j, float(new[j]))
            if k > 1:
                margin[:, c] += new[lf]
            else:
                margin += new[lf]
    _record_loss(out, loss, in_model=True)
    return out


def predict(
    booster: lgb.Booster,
    data: Any,
    *,
    output: str = "response",
    loss: Loss | str | None = None,
    group: Any = None,
    start_iteration: int = 0,
    num_iteration: int | None = None,
    **kwargs: Any,
) -> np.ndarray:
    """Predictions of a booster trained on a library loss, as float64.

    Parameters
    ----------
    booster : lightgbm.Booster
    data : array-like, DataFrame or sparse matrix
    output : {"response", "margin", "parameters", "distribution"}, default "response"
        ``"response"``: the loss's inverse link of the margin (mean, median,
        probability, class probabilities of shape (n, k); for distributional
        losses the mean); ``"margin"``: raw scores. Distributional losses
        only: ``"parameters"``, the (n, k) distribution parameters (columns
        ``loss.output_names``); ``"distribution"``, a
        :class:`~gbm_objectives.distributions.Distribution` of n rows.
    loss : Loss or str, optional
        Default: the loss recorded in the model by :func:`train`.
    group : array, optional
        Grouped losses on the response scale: group sizes or query ids.
    start_iteration, num_iteration : int, optional
        Iterations to use, as in :meth:`lightgbm.Booster.predict` (the init
        score lives in the first iteration).
    **kwargs
        Passed to :meth:`lightgbm.Booster.predict`.
    """
    if not isinstance(booster, lgb.Booster):
        raise ValueError(f"booster must be a lightgbm.Booster, got {type(booster).__name__}")
    check_output(output)
    for name in ("raw_score", "pred_leaf", "pred_contrib"):
        if name in kwargs:
            raise ValueError(f"predict() does not accept {name}=; use lightgbm.Booster.predict for that")
    if loss is None:
        loss = booster_loss(booster)
        if loss is None and output != "margin":
            raise ValueError("this booster has no recorded gbm_objectives loss; pass loss=")
    else:
        loss = as_loss(loss)
    if loss is not None:
        check_output(output, loss)
    raw = booster.predict(data, start_iteration=start_iteration, num_iteration=num_iteration, raw_score=True, **kwargs)
    margin = np.asarray(raw, dtype=np.float64)
    if output == "margin":
        return margin
    return margin_to_output(loss, loss.check_margin(margin, margin.shape[0]), output, group)

