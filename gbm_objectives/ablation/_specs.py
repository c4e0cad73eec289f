"""Row labels of loss specs (the inverse of :func:`~gbm_objectives.losses.parse_loss`) and the task check."""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np

from ..losses import Loss, as_loss


def _format_value(value: Any) -> str:
    if isinstance(value, float):
        return format(value, ".10g")
    return repr(value)


def _default_params(loss: Loss) -> dict[str, Any]:
    try:
        sig = inspect.signature(type(loss).__init__)
    except (TypeError, ValueError):  # pragma: no cover - builtins without signatures
        return {}
    return {k: p.default for k, p in sig.parameters.items() if p.default is not inspect.Parameter.empty}


def loss_label(loss: Loss | str) -> str:
    """Call-style label of a loss, e.g. ``"tweedie(power=1.5)"``, readable by :func:`parse_loss`.

    Numeric parameters are always shown; text and ``None`` parameters only
    when they differ from the default, so labels stay short.
    """
    loss = as_loss(loss)
    defaults = _default_params(loss)
    parts = []
    for key, value in loss.params.items():
        numeric = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
        if numeric or (key in defaults and defaults[key] != value) or key not in defaults:
            if value is None and defaults.get(key, None) is None:
                continue
            parts.append(f"{key}={_format_value(value)}")
    return f"{loss.name}({', '.join(parts)})" if parts else loss.name


def _task_of(loss: Loss) -> str:
    if loss.is_multiclass or loss.needs_group:
        raise ValueError(
            f"{loss_label(loss)} is a multiclass or grouped loss; ablations support single-output "
            "regression and binary classification losses"
        )
    return "classification" if loss.link.name == "logit" else "regression"
