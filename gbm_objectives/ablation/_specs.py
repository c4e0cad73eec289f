"""Row labels of loss specs (the inverse of :func:`~gbm_objectives.losses.parse_loss`) and the task check."""

from __future__ import annotations

from typing import Any

from ..losses import Loss, as_loss

#: Loss tasks an ablation compares: one output per row, no groups.
ABLATION_TASKS = ("regression", "binary")
#: The panel of level-set losses: k quantile-like levels per row, scored as intervals.
INTERVAL_TASK = "intervals"


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


def levels_of(loss: Loss) -> tuple[float, ...] | None:
    """The levels of a level-set loss (k quantile-like outputs per row), or None for any other loss.

    Read from the loss's facts: a regression loss of ``n_outputs > 1`` whose
    parameter ``alphas`` holds one level in (0, 1) per output, strictly
    increasing. Whether the levels can cross is not asked: the interval
    panel measures it (its crossing rate).
    """
    if loss.task != "regression" or loss.n_outputs < 2 or loss.needs_group:
        return None
    alphas = loss.get_params().get("alphas")
    try:
        levels = tuple(float(a) for a in alphas)  # type: ignore[union-attr]
    except (TypeError, ValueError):
        return None
    if len(levels) != loss.n_outputs or not all(0.0 < a < 1.0 for a in levels):
        return None
    if any(b <= a for a, b in zip(levels, levels[1:])):
        return None
    return levels


def _task_of(loss: Loss) -> str:
    """The loss's panel: its task, or ``"intervals"`` for a level-set loss; refused unless an ablation can score it."""
    if levels_of(loss) is not None:
        return INTERVAL_TASK
    if loss.predicts_distribution and loss.task == "regression" and not loss.needs_group:
        # Scored by the mean of its distributions, beside its log score and interval coverage.
        return loss.task
    if loss.task not in ABLATION_TASKS or loss.n_outputs != 1 or loss.needs_group:
        raise ValueError(
            f"{loss_label(loss)} is a {loss.task} loss{' of grouped rows' if loss.needs_group else ''} with "
            f"{loss.n_outputs} output(s) per row; ablations support single-output regression and binary "
            "classification losses, distributional regression losses (such as normal) and level-set "
            "regression losses (k outputs, one per level of their alphas, such as multi_quantile)"
        )
    return loss.task
