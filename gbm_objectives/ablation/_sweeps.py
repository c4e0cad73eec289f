"""The public experiments: :func:`ablate_losses`, :func:`sweep_loss_parameter`, :func:`sweep_tweedie_power`."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..losses import Loss, parse_loss
from ._advice import recommend_losses
from ._experiment import _data_meta, _Experiment, _kfold, _run
from ._inputs import Folds, _check_client, _check_early_stopping, _check_int, _check_powers, _prepare
from ._intervals import run_intervals
from ._specs import INTERVAL_TASK, _task_of, loss_label

#: The guidelines' Tweedie search range [1.1, 1.9] in steps of 0.1.
DEFAULT_POWERS: tuple[float, ...] = (1.1, 1.2, 1.3, 1.4, 1.5, 1.6, 1.7, 1.8, 1.9)


def ablate_losses(
    X: Any,
    y: Any,
    losses: Sequence[Any] | None = None,
    *,
    backend: str = "xgboost",
    params: dict[str, Any] | None = None,
    num_boost_round: int = 200,
    cv: Any = 5,
    groups: Any = None,
    sample_weight: Any = None,
    random_state: int = 0,
    n_jobs: int = 1,
    client: Any = None,
    progress: bool = True,
    metric: str | None = None,
    reference: Any = "auto",
    baselines: bool = True,
    balance: bool = False,
    deviance_power: float = 1.5,
    early_stopping_rounds: int | None = None,
) -> pd.DataFrame:
    """Cross-validate the same booster under each loss and score every row on one panel.

    Parameters
    ----------
    X : array-like or DataFrame of shape (n, d)
        Numeric features; NaN is read as missing. DataFrame columns of
        pandas ``category`` dtype are categorical features: their codes
        (from the whole table's categories, so every fold sees the same code
        for a category; missing stays missing) go to XGBoost as categorical
        features (``enable_categorical``, feature type ``"c"``) and to
        LightGBM as ``categorical_feature``; the booster's own settings
        (``max_cat_to_onehot``, ``max_cat_threshold``, ``cat_smooth``, ...)
        apply. Text (object or string) columns are refused: convert them
        with ``X[col].astype("category")``. ``df.attrs["categorical_features"]``
        names the categorical columns.
    y : array-like of shape (n,)
    losses : sequence of loss specs, optional
        Losses as :class:`Loss` objects, names, ``"name(key=value)"``
        strings or ``(name, params)`` pairs (see the module docstring).
        Default: the candidates of :func:`recommend_losses`. Regression
        losses and binary classification losses (``loss.task`` "binary") cannot be mixed.
        Level-set losses (k levels per row from one model, read from the
        loss's facts: a regression loss with ``n_outputs > 1`` and one
        ``alphas`` level per output, such as ``"multi_quantile(alphas=(0.05,
        0.5, 0.95))"`` or ``multi_expectile``) are scored on the interval
        panel instead (see Returns); they share their levels and are not
        mixed with point losses (a ValueError says so: ablate them in two
        calls, which cut the same folds).
    backend : {"xgboost", "lightgbm"}
    params : dict, optional
        Booster parameters on top of the defaults (XGBoost: ``hist``, depth 6,
        learning rate 0.1; LightGBM: 31 leaves, learning rate 0.1). The
        objective comes from the loss and must not be given.
    num_boost_round : int, default 200
    cv : int >= 2, scikit-learn splitter or iterable of (train, test) pairs, default 5
        An integer is the number of folds (K-fold, shuffled with
        ``random_state``; grouped when ``groups`` is given; stratified for
        classification). A splitter (an object with ``split(X, y, groups)``
        and ``get_n_splits``: ``KFold``, ``GroupKFold``, ``StratifiedKFold``,
        ``TimeSeriesSplit``, ``PredefinedSplit``, ...) is called once with
        ``X`` as given and ``y`` and ``groups``; an iterable of (train, test)
        row indices (or boolean masks) is used as it is, as scikit-learn's
        ``check_cv`` does. All rows share the folds. Each fold needs training
        and test rows and no row in both; at least 2 folds. Rows no fold
        tests (TimeSeriesSplit's first block, PredefinedSplit's ``-1`` rows)
        enter no score and no out-of-fold quantity (``df.attrs["n_tested"]``
        counts the rows tested); a row tested by several folds (ShuffleSplit,
        RepeatedKFold) is scored in each. ``df.attrs["cv"]`` is the number
        of folds and ``df.attrs["splitter"]`` the splitter's repr.
    groups : array-like of shape (n,), optional
        Group ids: rows of a group never straddle training and test.
    sample_weight : array-like of shape (n,), optional
        Training weights and weights of every yardstick.
    random_state : int, default 0
        Seeds the folds and the boosters: equal seeds give equal tables.
    n_jobs : int, default 1
        Fits run at once, in separate processes (-1: one per core). Each
        booster is single-threaded unless ``params`` sets its threads
        (``nthread`` / ``num_threads``); for one large table prefer booster
        threads with ``n_jobs=1``.
    client : dask.distributed.Client, optional
        Run every (configuration, fold) fit as a task on this client's
        cluster: the features, labels, weights and fold rows are scattered
        to every worker once, the fits are submitted together and their
        predictions gathered as they complete (the progress bar moves with
        them). The fits, seeds and booster threads (one per fit unless
        ``params`` sets ``nthread`` / ``num_threads``: give workers one
        thread each, or as many as the booster uses) are those of an
        in-process run, so the table is the same; only ``fit_seconds``, a
        wall time, differs. Workers need this package, the booster and the
        memory of the whole table plus a fold's copy. Requires the ``dask``
        extra; exclusive with ``n_jobs`` (leave it at 1). Level-set losses
        (the interval panel) run there too. Default None: fit in this
        process (or ``n_jobs`` processes).
    progress : bool, default True
        Show a tqdm progress bar (one step per fitted fold).
    metric : str, optional
        Yardstick that orders the rows: ``"mae"`` (default), ``"rmse"``,
        ``"tweedie_deviance"``, ``"poisson_deviance"`` or ``"gini"`` for
        regression (``"log_score"`` too when a distributional loss is in the
        panel); ``"log_loss"`` (default), ``"auc"`` or ``"brier"`` for
        classification; ``"interval_score"`` (default), ``"pinball"`` or
        ``"expectile"`` (the default when every level set is an expectile
        set) for level-set losses.
    reference : loss spec, "auto" or None, default "auto"
        Row the ``wins_vs_reference`` column counts per-fold wins against;
        "auto" is squared error (regression) or logistic (classification),
        added to the losses if missing. None: no reference. For level-set
        losses "auto" (or None) only: the ``separate quantiles`` row, one
        ``quantile(alpha=a)`` model per level fitted separately by the same
        booster (leaves refit to residual quantiles, as the built-ins do),
        and with expectile sets the ``separate expectiles`` row (one
        ``expectile(alpha=a)`` model per level); wins count against the one
        of the ranking metric's statistic.
    baselines : bool, default True
        Add ``constant mean`` and (regression) ``constant median`` rows, the
        training fold's weighted mean / median; for level-set losses a
        ``constant quantiles`` row, the training fold's weighted quantiles
        at the levels (``constant expectiles`` for expectile sets).
    balance : bool, default False
        Add a ``"<loss> balanced"`` row for each log-link loss: its held-out
        predictions times ``mean(y_train) / mean(predictions)``, so their
        mean equals the training mean (no held-out labels are used).
    deviance_power : float in [1, 2), default 1.5
        Power of the fixed-power Tweedie deviance yardstick.
    early_stopping_rounds : int >= 1, optional
        Stop each fit after this many rounds without improvement on a
        validation slice carved from that fold's training rows (a random
        tenth, whole groups when ``groups`` is given; never the test rows),
        which is left out of that fit, and predict with the best iteration.
        The stopping metric is the loss's own (``gbm_<loss>``), or the last
        of the booster metrics set in ``params`` (``eval_metric`` /
        ``metric``). ``df.attrs["best_iterations"]`` holds the rounds kept
        per configuration and fold. Default None: every fit runs
        ``num_boost_round`` rounds on all its training rows. Not available
        for level-set losses (the interval panel).

    Returns
    -------
    pandas.DataFrame
        One row per configuration, best first by ``metric``: ``config``,
        ``kind`` (model / balanced / refined / baseline), ``loss``, ``power``,
        ``rank``, ``relative_to_best`` (fraction worse than the best row),
        the mean and fold standard deviation (``<metric>_std``) of every
        yardstick, ``wins_vs_reference`` (folds beating the reference),
        ``n_floored`` (regression: predictions floored for the deviances,
        summed over folds), ``fit_seconds`` (wall time over all folds) and
        ``n_folds``. ``df.attrs`` holds the settings and per-fold scores.

        For level-set losses, the interval panel (``df.attrs["task"]`` is
        ``"intervals"``; :func:`interval_table` prints it): ``config``,
        ``kind`` (model / reference / baseline), ``loss``, ``rank``,
        ``relative_to_best``, the mean and fold standard deviation of
        ``interval_score`` (of the outermost levels, at the nominal coverage
        ``alphas[-1] - alphas[0]``), ``coverage``, ``mean_width``,
        ``pinball`` (mean over the levels), ``crossing_rate`` (share of rows
        whose levels cross) and ``pinball_<alpha>`` per level, then
        ``wins_vs_reference``, ``fit_seconds`` and ``n_folds``;
        ``df.attrs["alphas"]`` and ``["coverage"]`` hold the levels and the
        nominal coverage. Interval yardsticks read each row's lowest and
        highest level (for crossed levels, the rearranged ones); pinball and
        crossing rate read the levels as predicted.
    """
    Xa, ya, w, g, cv, backend, params, rounds, seed, jobs = _prepare(
        X, y, sample_weight, groups, cv, backend, params, num_boost_round, random_state, n_jobs, progress)
    stopping = _check_early_stopping(early_stopping_rounds)
    client = _check_client(client, n_jobs)
    if losses is None:
        specs: list[Any] = [advice.spec for advice in recommend_losses(ya)]
    else:
        if isinstance(losses, (str, Loss, tuple)) or not isinstance(losses, Iterable):
            raise ValueError("losses must be a list of loss specs, e.g. ['squared_error', 'tweedie(power=1.5)']")
        specs = list(losses)
        if not specs:
            raise ValueError("losses is empty; give at least one loss")
    parsed = [parse_loss(s) for s in specs]
    tasks = [_task_of(loss) for loss in parsed]
    if INTERVAL_TASK in tasks and len(set(tasks)) > 1:
        level_sets = [loss_label(loss) for loss, t in zip(parsed, tasks) if t == INTERVAL_TASK]
        points = [loss_label(loss) for loss, t in zip(parsed, tasks) if t != INTERVAL_TASK]
        raise ValueError(
            f"losses mix level-set losses ({', '.join(level_sets)}) with other losses ({', '.join(points)}); "
            "they are scored on different panels (intervals and levels vs point predictions and "
            "distributions): ablate them in "
            "two calls, whose folds are the same for the same cv, groups and random_state"
        )
    if len(set(tasks)) > 1:
        raise ValueError("losses mix regression and binary classification losses; ablate them separately")
    task = tasks[0]
    if task == INTERVAL_TASK:
        if stopping is not None:
            raise ValueError("early_stopping_rounds is not available for level-set losses (the interval panel); "
                             "leave it None")
        df = run_intervals(Xa, ya, w, g, parsed, backend=backend, params=params, rounds=rounds, cv=cv,
                           seed=seed, jobs=jobs, progress=progress, metric=metric, reference=reference,
                           baselines=baselines, balance=balance, deviance_power=deviance_power,
                           desc=f"ablate_losses[{backend}, intervals]", client=client)
        splitter = _kfold(cv, g is not None, seed)
        df.attrs.update(_data_meta(Xa, cv, repr(splitter), list(splitter.split(Xa, ya, g))))
        return df
    reference = _add_reference(parsed, None, reference, task)
    return _run(Xa, ya, w, g, parsed, task=task, backend=backend, params=params, rounds=rounds, cv=cv, seed=seed,
                jobs=jobs, progress=progress, metric=metric, reference=reference, baselines=baselines,
                balance=balance, deviance_power=deviance_power, desc=f"ablate_losses[{backend}]",
                early_stopping_rounds=stopping, client=client)


def _add_reference(parsed: list[Loss], values: list[float] | None, reference: Any, task: str) -> str | None:
    """Append the reference loss to ``parsed`` (its swept value NaN) unless present; return its label.

    "auto" is the task's default loss, squared error or logistic.
    """
    if reference == "auto":
        reference = "squared_error" if task == "regression" else "logistic"
    if reference is None:
        return None
    ref_loss = parse_loss(reference)
    if _task_of(ref_loss) != task:
        raise ValueError(f"reference {loss_label(ref_loss)} is not a {task} loss")
    if ref_loss not in parsed:
        parsed.append(ref_loss)
        if values is not None:
            values.append(float("nan"))
    return loss_label(ref_loss)


@dataclass
class _Sweep:
    base: Loss
    parameter: str
    values: list[float]
    after: Any = None  # (experiment, table) -> table, once the table exists; the experiment keeps its predictions
    required: bool = False  # ``after`` was asked for: a ValueError when the folds cannot give it

    def loss_at(self, value: float) -> Loss:
        params = {**self.base.get_params(), self.parameter: value}
        try:
            return type(self.base)(**params)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{self.parameter}={value!r} is not a valid value of parameter {self.parameter!r} "
                             f"of loss {self.base.name!r}: {exc}") from exc


def _make_sweep(loss: Any, parameter: Any, values: Any) -> _Sweep:
    base = parse_loss(loss)
    if not isinstance(parameter, str) or not parameter:
        raise ValueError(f"parameter must be the name of a loss parameter, got {parameter!r}")
    current = base.get_params()
    if parameter not in current:
        known = ", ".join(repr(k) for k in current) or "none"
        raise ValueError(f"loss {base.name!r} has no parameter {parameter!r}; its parameters: {known}")
    # A cross-validated yardstick would pick the value that suits the yardstick
    # (MAE picks the median), not the user's question.
    if parameter in base.target_params:
        raise ValueError(f"parameter {parameter!r} of loss {base.name!r} sets what the model predicts (the "
                         f"{base.name} level), not how it is fitted; choose it from the question, not by "
                         "cross-validation")
    if isinstance(current[parameter], (str, bool)):
        raise ValueError(f"parameter {parameter!r} of loss {base.name!r} is not numeric "
                         f"(value {current[parameter]!r}); sweep_loss_parameter sweeps numeric parameters")
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise ValueError(f"values of parameter {parameter!r} of loss {base.name!r} must be a sequence of "
                         f"numbers, got {values!r}")
    out: list[float] = []
    for v in values:
        if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)) or not np.isfinite(v):
            raise ValueError(f"values of parameter {parameter!r} of loss {base.name!r} must be finite numbers, "
                             f"got {v!r}")
        out.append(float(v))
    if not out:
        raise ValueError(f"values of parameter {parameter!r} of loss {base.name!r} is empty; give at least one")
    if len(set(out)) != len(out):
        raise ValueError(f"values of parameter {parameter!r} of loss {base.name!r} has duplicates: {out}")
    sweep = _Sweep(base, parameter, sorted(out))
    for v in sweep.values:
        sweep.loss_at(v)  # reject values the loss refuses before any fit
    return sweep


def sweep_tweedie_power(
    X: Any,
    y: Any,
    powers: Sequence[float] = DEFAULT_POWERS,
    *,
    backend: str = "xgboost",
    params: dict[str, Any] | None = None,
    num_boost_round: int = 200,
    cv: Any = 5,
    groups: Any = None,
    sample_weight: Any = None,
    random_state: int = 0,
    n_jobs: int = 1,
    client: Any = None,
    progress: bool = True,
    metric: str = "mae",
    include_squared_error: bool = True,
    baselines: bool = True,
    balance: bool = False,
    refine: int = 0,
    deviance_power: float = 1.5,
    likelihood: bool | None = None,
    early_stopping_rounds: int | None = None,
) -> pd.DataFrame:
    """Cross-validate the same booster with Tweedie loss at each power, plus squared error.

    The loss-ablation experiment of the tracker-cost example as one call: its
    table (MAE and "relative to best" per configuration) is
    ``ranking_table(sweep_tweedie_power(X, y))``.

    Parameters
    ----------
    X, y : features (n, d) and a non-negative target (n,)
    powers : sequence of float in [1, 2], default 1.1, 1.2, ..., 1.9
    backend, params, num_boost_round, cv, groups, sample_weight, random_state, n_jobs, client, progress
        As in :func:`ablate_losses` (``client``: every (value, fold) fit a
        task on a dask.distributed cluster, the table as in-process).
    metric : {"mae", "rmse", "tweedie_deviance", "poisson_deviance", "gini"}, default "mae"
        Yardstick that orders the rows and drives ``refine``. The deviance
        yardstick uses the fixed ``deviance_power`` for every row; a model is
        never scored by its own power's deviance.
    include_squared_error : bool, default True
        Add the squared-error row (the reference of ``wins_vs_reference``).
    baselines, balance, deviance_power, early_stopping_rounds
        As in :func:`ablate_losses`.
    refine : int >= 0, default 0
        Extra power evaluations (each a full cross-validation) of a
        golden-section search on ``metric`` between the grid neighbours of
        the best grid power; shown as ``kind == "refined"`` rows.
    likelihood : bool or None, default None
        Add the profile-likelihood choice of the power (the machinery of
        :func:`~gbm_objectives.tweedie_power.estimate_tweedie_power`) read
        from the sweep's own out-of-fold predictions, with no extra fit: the
        Tweedie rows (grid and refined powers in (1, 2)) get
        ``log_likelihood`` and ``dispersion``, and ``df.attrs["likelihood"]``
        holds the power, its 95% interval and dispersion; rows no fold
        tests (TimeSeriesSplit) are left out (``["likelihood"]["n_scored"]``
        counts the rows read). None: when possible (at least 3 powers in
        (1, 2), at least 2 positive labels, each row in at most one test
        fold);
        True: required (a ValueError says why it is not possible); False:
        skipped (the likelihood costs a series evaluation per row and power,
        seconds on a million rows). :func:`choice_table` shows it beside the
        MAE and deviance choices.

    Returns
    -------
    pandas.DataFrame
        As :func:`sweep_loss_parameter` (of which this is the Tweedie case,
        with parameter ``"power"``); ``power`` and ``value`` hold each row's
        Tweedie power; ``log_likelihood`` and ``dispersion`` (NaN on other
        rows, absent without the likelihood) the Tweedie rows' profile
        log-likelihood and maximum-likelihood dispersion.
    """
    grid = _check_powers(powers)
    if not isinstance(include_squared_error, bool):
        raise ValueError(f"include_squared_error must be True or False, got {include_squared_error!r}")
    if likelihood is not None and not isinstance(likelihood, bool):
        raise ValueError(f"likelihood must be True, False or None, got {likelihood!r}")
    sweep = _make_sweep("tweedie", "power", grid)
    if likelihood is not False:
        open_grid = [p for p in grid if 1.0 < p < 2.0]
        try:
            n_positive = int(np.count_nonzero(np.asarray(y, dtype=np.float64) > 0.0))
        except (TypeError, ValueError):
            n_positive = 2  # the checks of the labels below say what is wrong
        reason = None
        if len(open_grid) < 3:
            reason = f"the likelihood needs at least 3 powers in (1, 2), got {open_grid}"
        elif n_positive < 2:
            reason = "the likelihood's dispersion needs at least 2 positive labels"
        if reason is None:
            sweep.after = _likelihood_report
            sweep.required = bool(likelihood)
        elif likelihood:
            raise ValueError(reason)
    return _sweep_run(X, y, sweep, backend=backend, params=params,
                      num_boost_round=num_boost_round, cv=cv, groups=groups, sample_weight=sample_weight,
                      random_state=random_state, n_jobs=n_jobs, client=client, progress=progress, metric=metric,
                      reference="squared_error" if include_squared_error else None, baselines=baselines,
                      balance=balance, refine=refine, deviance_power=deviance_power,
                      early_stopping_rounds=early_stopping_rounds, desc=f"sweep_tweedie_power[{backend}]")


def _likelihood_report(exp: _Experiment, df: pd.DataFrame) -> pd.DataFrame:
    """Profile likelihood of the power from the sweep's out-of-fold predictions (see sweep_tweedie_power)."""
    # Imported here: the Tweedie power module builds on this package.
    from .._tweedie_profile import _profile_from_oof

    # The compound Poisson-Gamma likelihood needs a variance power inside (1, 2).
    rows = df[df["kind"].isin(("model", "refined")) & (df["power"] > 1.0) & (df["power"] < 2.0)].sort_values("power")
    grid = rows["power"].to_numpy(dtype=np.float64)
    oof = np.vstack([exp.oof[label] for label in rows["config"]])
    lik = _profile_from_oof(exp.y, exp.w, oof, grid, 10)
    out = df.copy()
    out["log_likelihood"] = np.nan
    out["dispersion"] = np.nan
    where = out["config"].map({c: k for k, c in enumerate(rows["config"])})
    hit = where.notna().to_numpy()
    idx = where[hit].astype(int).to_numpy()
    out.loc[hit, "log_likelihood"] = lik["log_likelihood"][idx]
    out.loc[hit, "dispersion"] = lik["dispersion"][idx]
    k_best = int(np.argmax(lik["log_likelihood"]))
    out.attrs.update(df.attrs)
    out.attrs["likelihood"] = {
        "power": float(lik["power"]), "ci": tuple(float(c) for c in lik["ci"]),
        "ci_open": tuple(bool(o) for o in lik["ci_open"]), "dispersion": float(lik["best_dispersion"]),
        "log_likelihood": float(lik["max_log_likelihood"]), "n_scored": int(lik["n_scored"]),
        "best_fitted": str(rows["config"].iloc[k_best]),
        "profile": {c: lik["profile"][c].tolist() for c in ("power", "log_likelihood", "lr_statistic")},
    }
    return out


def _sweep_run(X, y, sweep: _Sweep, *, backend, params, num_boost_round, cv, groups, sample_weight, random_state,
               n_jobs, progress, metric, reference, baselines, balance, refine, deviance_power, desc,
               early_stopping_rounds=None, client=None):
    Xa, ya, w, g, cv, backend, params, rounds, seed, jobs = _prepare(
        X, y, sample_weight, groups, cv, backend, params, num_boost_round, random_state, n_jobs, progress)
    stopping = _check_early_stopping(early_stopping_rounds)
    client = _check_client(client, n_jobs)
    if sweep.after is not None and isinstance(cv, Folds) and not cv.disjoint:
        # One out-of-fold prediction per row: a row tested twice would keep only its last fold's.
        if sweep.required:
            raise ValueError(f"the likelihood needs each row in at most one test fold; cv={cv!r} tests some rows "
                             "more than once (KFold, GroupKFold, TimeSeriesSplit qualify; ShuffleSplit does not)")
        sweep.after = None
    refine = _check_int(refine, "refine", 0)
    if refine and len(sweep.values) < 2:
        raise ValueError(f"refine needs at least two values of {sweep.parameter!r} to search between")
    parsed: list[Loss] = [sweep.loss_at(v) for v in sweep.values]
    values: list[float] = list(sweep.values)
    task = _task_of(parsed[0])
    if task == INTERVAL_TASK:
        raise ValueError(f"{loss_label(parsed[0])} is a level-set loss; parameter sweeps compare point losses "
                         "(ablate_losses scores level-set losses on the interval panel)")
    reference = _add_reference(parsed, values, reference, task)
    return _run(Xa, ya, w, g, parsed, task=task, backend=backend, params=params, rounds=rounds, cv=cv,
                seed=seed, jobs=jobs, progress=progress, metric=metric, reference=reference, baselines=baselines,
                balance=balance, deviance_power=deviance_power, desc=desc, sweep=sweep, refine=refine,
                values=values, early_stopping_rounds=stopping, client=client)


def sweep_loss_parameter(
    X: Any,
    y: Any,
    loss: Any,
    parameter: str,
    values: Sequence[float],
    *,
    backend: str = "xgboost",
    params: dict[str, Any] | None = None,
    num_boost_round: int = 200,
    cv: Any = 5,
    groups: Any = None,
    sample_weight: Any = None,
    random_state: int = 0,
    n_jobs: int = 1,
    client: Any = None,
    progress: bool = True,
    metric: str | None = None,
    reference: Any = "auto",
    baselines: bool = True,
    balance: bool = False,
    refine: int = 0,
    deviance_power: float = 1.5,
    early_stopping_rounds: int | None = None,
) -> pd.DataFrame:
    """Cross-validate the same booster and loss at each value of one numeric loss parameter.

    The guidelines tune a loss's own parameters by cross-validation: Huber's
    ``delta`` starting at 1.35 (``sweep_loss_parameter(X, y, "huber",
    "delta", [0.5, 1.35, 3])``; with ``delta_scale="robust"`` in the spec
    the values are in robust standard deviations of the residuals), focal
    ``gamma`` around 2, the Tweedie power in [1.1, 1.9]
    (:func:`sweep_tweedie_power` is this sweep's Tweedie case). Every row is
    scored on the same folds and panel as :func:`ablate_losses`.

    Parameters that set what the model predicts rather than how it is fitted
    are refused: quantile ``alpha`` is the level the user asks for, and a
    yardstick would pick the level that suits it (MAE picks the median), not
    answer the question. Grouped losses (InfoNCE) cannot be ablated, so their
    ``temperature`` is refused with the reason.

    Parameters
    ----------
    X, y : features (n, d) and target (n,)
    loss : loss spec
        Name, ``"name(key=value)"`` string, ``(name, params)`` pair or
        :class:`Loss`; its other parameters stay fixed at the values given.
    parameter : str
        Name of a numeric parameter of the loss (``"delta"``, ``"gamma"``,
        ``"power"``, ``"label_smoothing"``, ...).
    values : sequence of float
        Values to try (sorted; no duplicates); each must be accepted by the loss.
    backend, params, num_boost_round, cv, groups, sample_weight, random_state, n_jobs, client, progress
        As in :func:`ablate_losses` (``client``: every (value, fold) fit a
        task on a dask.distributed cluster, the table as in-process).
    metric : str, optional
        Yardstick that orders the rows and drives ``refine`` (default MAE for
        regression, log loss for classification).
    reference : loss spec, "auto" or None, default "auto"
        As in :func:`ablate_losses` (squared error / logistic, added as a row).
    baselines, balance, deviance_power, early_stopping_rounds
        As in :func:`ablate_losses`.
    refine : int >= 0, default 0
        Extra evaluations (each a full cross-validation) of a golden-section
        search on ``metric`` between the grid neighbours of the best grid
        value; shown as ``kind == "refined"`` rows.

    Returns
    -------
    pandas.DataFrame
        As :func:`ablate_losses`, with a ``value`` column (the parameter's
        value; NaN on the reference and baseline rows);
        ``df.attrs["loss"]``, ``["parameter"]`` and ``["values"]`` name the
        sweep. :func:`~gbm_objectives.plotting.plot_parameter_sweep` plots it.

    Raises
    ------
    ValueError
        A parameter the loss does not have, a non-numeric parameter or value,
        a value the loss rejects, a parameter that sets the target (quantile
        ``alpha``), a grouped or multiclass loss (each naming the parameter
        and the loss), or the input problems of :func:`ablate_losses`.
    """
    sweep = _make_sweep(loss, parameter, values)
    return _sweep_run(X, y, sweep, backend=backend, params=params, num_boost_round=num_boost_round, cv=cv,
                      groups=groups, sample_weight=sample_weight, random_state=random_state, n_jobs=n_jobs,
                      client=client, progress=progress, metric=metric, reference=reference, baselines=baselines,
                      balance=balance, refine=refine, deviance_power=deviance_power,
                      early_stopping_rounds=early_stopping_rounds,
                      desc=f"sweep_loss_parameter[{sweep.base.name}.{parameter}, {backend}]")
