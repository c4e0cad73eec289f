"""LightGBM parameters: aliases, the built-in objective standing in for a
loss, and the checks that refuse settings a library loss would silently
ignore."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..links import IdentityLink
from ..losses import Loss
from ._callables import metric_name

_OBJECTIVE_ALIASES = ("objective", "objective_type", "app", "application", "loss")
_NUM_CLASS_ALIASES = ("num_class", "num_classes")
_METRIC_ALIASES = ("metric", "metrics", "metric_types")
_LR_ALIASES = ("learning_rate", "shrinkage_rate", "eta")
_BOOSTING_ALIASES = ("boosting", "boosting_type", "boost")
_LINEAR_TREE_ALIASES = ("linear_tree", "linear_trees")
_THREAD_ALIASES = ("num_threads", "num_thread", "nthread", "nthreads", "n_jobs")
_ROUNDS_ALIASES = ("num_iterations", "num_iteration", "n_iter", "num_tree", "num_trees", "num_round", "num_rounds",
                   "nrounds", "num_boost_round", "n_estimators", "max_iter")
_NONE_METRICS = ("none", "null", "custom", "na", "")
_UNBALANCE_ALIASES = ("is_unbalance", "unbalance", "unbalanced_sets")
_RF_NAMES = ("rf", "random_forest")


def _param(params: Mapping[str, Any], aliases: Sequence[str], default: Any = None) -> Any:
    for name in aliases:
        if name in params and params[name] is not None:
            return params[name]
    return default


def _has_param(params: Mapping[str, Any], aliases: Sequence[str]) -> bool:
    return any(name in params and params[name] is not None for name in aliases)


def _metric_is_none(value: Any) -> bool:
    values = [value] if isinstance(value, str) else list(value)
    return all(isinstance(v, str) and v.strip().lower() in _NONE_METRICS for v in values)


# ---------------------------------------------------------------------------
# The built-in objective standing in for a loss
# ---------------------------------------------------------------------------

#: The smallest ``poisson_max_delta_step`` LightGBM accepts (it must be > 0):
#: the smallest normal double, which changes no Hessian ``exp(f + step)``, so
#: a model records it for a Poisson loss without the safeguard.
_MIN_POISSON_STEP = float(np.finfo(np.float64).tiny)


def _host_objective(loss: Loss) -> dict[str, Any]:
    """LightGBM parameters of a built-in objective whose output transform is the
    loss's inverse link: the loss's own built-in where LightGBM has one,
    otherwise the plain objective of its link."""
    host = loss.builtin_objective("lightgbm")
    if host is not None:
        return dict(host)
    name = loss.link.lightgbm_objective
    if not name:
        raise ValueError(f"{loss!r} has a {loss.link.name} link, which no LightGBM objective inverts")
    host = {"objective": name}
    if loss.n_outputs > 1:
        host["num_class"] = loss.n_outputs
    return host


# ---------------------------------------------------------------------------
# Checks
# ---------------------------------------------------------------------------


def _set_num_class(params: dict[str, Any], loss: Loss) -> None:
    for name in _NUM_CLASS_ALIASES:
        params.pop(name, None)
    params["num_class"] = loss.n_outputs


def _builtin_metrics(value: Any) -> list[str]:
    """LightGBM metric names in a ``metric`` parameter (none-like entries dropped)."""
    if value is None:
        return []
    values = value.split(",") if isinstance(value, str) else list(value)
    return [str(v).strip() for v in values if not (isinstance(v, str) and v.strip().lower() in _NONE_METRICS)]


def _check_builtin_metrics(loss: Loss, names: Sequence[str]) -> None:
    """Refuse LightGBM metrics that would see margins instead of predictions.

    Under a custom objective LightGBM applies no output transform before its
    metrics, so beside a loss with a log, logit or softmax link they would
    score margins (an ``l1`` of log-means) without a word.
    """
    if names and not all(isinstance(link, IdentityLink) for link in loss.output_links):
        raise ValueError(
            f"LightGBM's metric(s) {', '.join(map(repr, names))} would be computed on the raw margins of "
            f"{loss.name} ({loss.link.name} link): under a custom objective LightGBM applies no output "
            "transform to its metrics. Remove them (the loss's own metric is reported as "
            f"{metric_name(loss)!r}); for another measure pass a feval= function that applies the "
            "loss's inverse link (loss.predict) to the scores first"
        )


def _check_refit_params(loss: Loss, params: Mapping[str, Any]) -> None:
    """Reject the settings the leaf refit cannot honour."""
    if _has_param(params, _METRIC_ALIASES) and not _metric_is_none(_param(params, _METRIC_ALIASES)):
        raise ValueError(
            "built-in metrics are computed from LightGBM's internal scores, which do not see the leaf refit "
            f"of {loss.name}; remove the metric parameter (the loss's own metric is reported) or set "
            "refit_leaves=False"
        )
    boosting = str(_param(params, _BOOSTING_ALIASES, "gbdt")).lower()
    if boosting in _RF_NAMES:
        return  # _check_boosting refuses it with its own message
    if boosting not in ("gbdt", "gbrt"):
        raise ValueError(f"leaf refit needs boosting='gbdt', got {boosting!r} (or set refit_leaves=False)")


def _alias_table() -> dict[str, set[str]] | None:
    """LightGBM's own table of parameter names and their aliases; None where this LightGBM has none."""
    try:
        from lightgbm.basic import _ConfigAliases

        return _ConfigAliases._get_all_param_aliases()
    except (ImportError, AttributeError, TypeError):  # pragma: no cover - other LightGBM versions
        return None


def check_param_names(params: Mapping[str, Any]) -> None:
    """Refuse parameter names LightGBM does not know, under any alias.

    LightGBM warns about an unknown name only at ``verbosity >= 0``, and the
    library's panels and estimators silence it (``verbosity=-1``), so a
    misspelled ``num_leaf`` would train with the default silently. The names
    are LightGBM's own alias table; where this LightGBM does not expose it,
    nothing is refused.
    """
    table = _alias_table()
    if table is None:  # pragma: no cover - other LightGBM versions
        return
    known = set(table)
    for aliases in table.values():
        known.update(aliases)
    unknown = sorted(str(name) for name in params if str(name) not in known)
    if unknown:
        import difflib

        hints = []
        for name in unknown:
            close = difflib.get_close_matches(name, sorted(known), n=1)
            hints.append(f"{name!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
        raise ValueError(f"unknown LightGBM parameter(s): {', '.join(hints)}; LightGBM would ignore "
                         "them and train with its defaults")


def _is_true(value: Any) -> bool:
    """A LightGBM boolean parameter as LightGBM reads it (bools, 0/1, "true"/"false")."""
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "+")
    return bool(value)


def _check_class_balance(params: Mapping[str, Any]) -> None:
    """Refuse ``is_unbalance`` and ``scale_pos_weight``.

    LightGBM applies them only inside its built-in binary objectives, so
    beside a library loss they would be ignored without a word; row weights
    say the same to every loss.
    """
    unbalance = _param(params, _UNBALANCE_ALIASES)
    spw = params.get("scale_pos_weight")
    if unbalance is not None and _is_true(unbalance):
        raise ValueError(
            "is_unbalance is applied only by LightGBM's built-in binary objective and would be ignored with a "
            "library loss; weight the classes instead: class_weight='balanced' (LGBMClassifier) or "
            "sample_weight / the Dataset's weight"
        )
    if spw is not None and float(spw) != 1.0:
        raise ValueError(
            f"scale_pos_weight={spw!r} is applied only by LightGBM's built-in binary objective and would be "
            f"ignored with a library loss; weight the positive rows instead: class_weight={{0: 1, 1: {float(spw)!r}}} "
            "(LGBMClassifier, for classes 0 and 1) or sample_weight / the Dataset's weight"
        )


def _check_boosting(params: Mapping[str, Any]) -> None:
    boosting = str(_param(params, _BOOSTING_ALIASES, "gbdt")).lower()
    if boosting in _RF_NAMES:
        # LightGBM's random forest refuses any init_score
        # and fits every tree to gradients at its own start, which it
        # computes only for built-in objectives.
        raise ValueError(
            f"boosting={boosting!r} is not supported with a library loss: LightGBM's random forest takes no "
            "init score and computes its gradients only for built-in objectives; use boosting='gbdt' "
            "(with bagging_fraction / feature_fraction for a forest-like model)"
        )


#: LightGBM parameters that define the loss of its built-in objectives (none
#: has an alias): LightGBM's default, and what sets it with a library loss.
_LOSS_DEFINING: dict[str, tuple[Any, str]] = {
    "alpha": (0.9, "the loss's alpha (quantile) or delta (huber), e.g. loss='quantile(alpha=0.1)'"),
    "tweedie_variance_power": (
        1.5, "the loss's power, e.g. get_loss('tweedie', power=1.9) or loss='tweedie(power=1.9)'"
    ),
    "poisson_max_delta_step": (0.7, "the loss's max_delta_step (poisson)"),
    "fair_c": (1.0, "a library loss with that shape (LightGBM's fair loss has none)"),
    "sigmoid": (1.0, "a library loss with that link (LightGBM's binary sigmoid scale has none)"),
    "reg_sqrt": (False, "a library loss fitted to sqrt(y) (LightGBM's reg_sqrt has none)"),
}


def _same_setting(value: Any, expected: Any) -> bool:
    if isinstance(expected, bool):
        return _is_true(value) == expected
    try:
        # atol: a poisson_max_delta_step of 0 is the smallest step recorded for it.
        return bool(np.isclose(float(value), float(expected), rtol=1e-12, atol=_MIN_POISSON_STEP))
    except (TypeError, ValueError):
        return False


def _check_loss_params(loss: Loss, params: Mapping[str, Any]) -> None:
    """Refuse LightGBM parameters that would change the loss, had LightGBM's
    built-in objective been used: the library's loss defines the gradients, so
    they would be ignored (or silently replaced by the loss's own value in the
    model's host objective).

    A parameter the loss's host objective carries must equal the loss's
    value; any other must keep LightGBM's default, which changes nothing.
    """
    host = _host_objective(loss)
    if loss.level_statistic is not None and params.get("alpha") is not None:
        # Even LightGBM's default value: set by hand, it reads as the levels' business.
        raise ValueError(
            f"alpha={params['alpha']!r} is the level of LightGBM's built-in quantile objective and is ignored "
            f"with {loss!r}, whose levels are its alphas: remove it, or set the loss's alphas "
            f"(e.g. loss='{loss.name}(alphas=(0.1, 0.5, 0.9))')"
        )
    for key, (default, instead) in _LOSS_DEFINING.items():
        value = params.get(key)
        if value is None:
            continue
        if key in host:
            if not _same_setting(value, host[key]):
                raise ValueError(
                    f"{key}={value!r} conflicts with {loss!r}, which sets LightGBM's {key} to {host[key]!r}; "
                    f"the loss defines it: set {instead} instead of {key}"
                )
        elif not _same_setting(value, default):
            raise ValueError(
                f"{key}={value!r} changes only LightGBM's built-in objectives and would be ignored with "
                f"{loss!r}; remove it, or set {instead}"
            )


def _boost_from_average(params: Mapping[str, Any]) -> bool:
    """LightGBM's ``boost_from_average`` (default True): False starts at 0, as
    LightGBM's built-in objectives do, instead of the loss's init score."""
    value = params.get("boost_from_average")
    return True if value is None else _is_true(value)


def _prepare_params(loss: Loss, params: Mapping[str, Any] | None, refit: bool) -> dict[str, Any]:
    if params is None:
        params = {}
    if not isinstance(params, Mapping):
        raise ValueError(f"params must be a dict, got {type(params).__name__}")
    out = dict(params)
    if _has_param(out, _OBJECTIVE_ALIASES):
        raise ValueError("params must not set the objective: it comes from the loss")
    k = _param(out, _NUM_CLASS_ALIASES)
    if loss.n_outputs > 1:
        if k is not None and int(k) != loss.n_outputs:
            raise ValueError(f"params num_class={k} does not match {loss!r}")
        _set_num_class(out, loss)
    elif k is not None and int(k) != 1:
        raise ValueError(f"{loss!r} is single-output; params num_class={k} must be removed")
    if _param(out, _LINEAR_TREE_ALIASES, False) in (True, 1, "true", "True"):
        raise ValueError("linear_tree is not supported: the init score and leaf refit set constant leaf values")
    _check_boosting(out)
    _check_class_balance(out)
    _check_loss_params(loss, out)
    out.update({key: value for key, value in _host_objective(loss).items() if key in out and key in _LOSS_DEFINING})
    _check_builtin_metrics(loss, _builtin_metrics(_param(out, _METRIC_ALIASES)))
    if refit:
        _check_refit_params(loss, out)
    if not _has_param(out, _METRIC_ALIASES):
        out["metric"] = "None"
    return out


def _is_distributed(params: Mapping[str, Any]) -> bool:
    """Whether LightGBM trains over a network of machines.

    ``lightgbm.dask`` always sets ``machines``, also when every partition
    sits on one worker (``num_machines`` 1): Dask training counts as
    distributed either way, so whether it refits leaves never depends on
    where the partitions landed.
    """
    if int(_param(params, ("num_machines", "num_machine"), 1) or 1) > 1:
        return True
    return bool(_param(params, ("machines", "workers", "nodes"), ""))
