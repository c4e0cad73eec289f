"""Grouped losses: InfoNCE over the candidates of each query."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validation import as_float_array, check_scalar, group_offsets
from ..domains import Interval
from ..kernels import ranking
from ..links import IdentityLink
from ._base import Loss
from ._registry import register_loss

# ---------------------------------------------------------------------------
# Grouped: InfoNCE
# ---------------------------------------------------------------------------


@register_loss
class InfoNCE(Loss):
    """InfoNCE: softmax cross-entropy of ``f / temperature`` within each group.

    Rows are candidates grouped by query; labels ``y >= 0`` mark positives (one
    or several, or graded relevance): the target distribution of a group is
    ``y / sum(y)``, and every group needs a positive label. Gradient
    ``(p - t) / temperature``, Hessian ``p (1 - p) / temperature^2``. The loss
    is the weighted mean over groups; a group's weight is that of its rows
    (constant within a group). Shifting all margins of a group changes
    nothing, so the start score is 0.

    Parameters
    ----------
    temperature : float > 0, default 0.1
    """

    name = "infonce"
    link = IdentityLink()
    task = "ranking"
    #: Every group also needs a positive label (checked with the groups).
    label_domain = Interval(0.0)
    needs_group = True

    def __init__(self, temperature: float = 0.1) -> None:
        super().__init__()
        self.temperature = check_scalar(temperature, "temperature", low=0.0, low_inclusive=False)

    def check_groups(self, y, w, offsets):
        sums = np.add.reduceat(np.asarray(y, np.float64), offsets[:-1])
        if np.any(sums <= 0):
            bad = int(np.flatnonzero(sums <= 0)[0])
            raise ValueError(f"infonce needs a positive label in every group; group {bad} has none")
        if w.shape[0]:
            starts = offsets[:-1]
            first = np.repeat(w[starts], np.diff(offsets))
            if np.any(first != w):
                raise ValueError("infonce sample_weight must be constant within each group")

    def grad_hess_into(self, y, margin, weight, grad, hess, offsets=None, sums=None):
        ranking.infonce_grad_hess(y, margin, weight, offsets, self.temperature, grad, hess)

    def loss_sum(self, y, margin, weight, offsets=None):
        return ranking.infonce_loss_sum(y, margin, weight, offsets, self.temperature)

    def fit_init_score(self, y, weight):
        return 0.0

    def predict(self, margin: Any, *, group: Any = None) -> np.ndarray:
        """Within-group softmax probabilities of ``margin / temperature``."""
        m = as_float_array(margin, "margin")
        offsets = group_offsets(group, m.shape[0])
        s = m.astype(np.float64) / self.temperature
        top = np.maximum.reduceat(s, offsets[:-1])
        e = np.exp(s - np.repeat(top, np.diff(offsets)))
        totals = np.add.reduceat(e, offsets[:-1])
        return e / np.repeat(totals, np.diff(offsets))
