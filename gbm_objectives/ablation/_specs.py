"""Row labels of loss specs (the inverse of :func:`~gbm_objectives.losses.parse_loss`) and the task check."""

from __future__ import annotations

from typing import Any

from ..losses import Loss, as_loss

#: Loss tasks an ablation compares: one output per row, no groups.
ABLATION_TASKS = ("regression", "binary")


def _format_value(value: Any) -> str:
    if isinstance(value, float):
        return format(value, ".10g")
    return repr(value)


def loss_label(loss: Loss | str) -> str:
    """Call-style label of a loss, e.g. ``"tweedie(power=1.5)"``, readable by :func:`parse_loss`.

    The parameters are the loss's :attr:`~gbm_objectives.losses.Loss.params`,
    the ones its repr shows, so labels stay short and read back to an equal
    loss.
    """
    loss = as_loss(loss)
    parts = [f"{key}={_format_value(value)}" for key, value in loss.params.items()]
    return f"{loss.name}({', '.join(parts)})" if parts else loss.name


def _task_of(loss: Loss) -> str:
    """The loss's task, refused unless an ablation can score it (one output per row, no groups)."""
    if loss.task not in ABLATION_TASKS or loss.n_outputs != 1 or loss.needs_group:
        raise ValueError(
            f"{loss_label(loss)} is a {loss.task} loss{' of grouped rows' if loss.needs_group else ''} with "
            f"{loss.n_outputs} output(s) per row; ablations support single-output regression and binary "
            "classification losses"
        )
    return loss.task
