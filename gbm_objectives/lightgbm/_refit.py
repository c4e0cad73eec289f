"""The leaf refit of losses that declare one (``loss.leaf_refit``: absolute
error, quantile; ``loss.level_refit``: quantile sets): LightGBM's residual
percentiles per leaf and the callbacks that set them after every tree."""

from __future__ import annotations

import re
from typing import Any

import lightgbm as lgb
import numpy as np

from .._adapters import Data
from .._validation import EMPTY_WEIGHT, as_float_array, check_sample_weight
from ..kernels.percentiles import ZERO_THRESHOLD, leaf_position_percentiles, tree_leaves
from ..kernels.percentiles import leaf_percentiles as _leaf_percentiles_kernel
from ..losses import MARGIN_LIMIT, Loss
from ._data import _n_rows
from ._model_text import _SPLIT_ARRAYS, _parse_tree, _tree_splits
from ._params import _LR_ALIASES, _param


def _percentiles(
    resid: np.ndarray, weight: np.ndarray, leaf: np.ndarray, n_leaves: int, alpha: float, single: bool
) -> np.ndarray:
    # NumPy's (SIMD) sort is several times faster than a sort compiled by Numba.
    order = np.argsort(resid) if weight.shape[0] else np.empty(0, dtype=np.int64)
    out = np.empty(n_leaves)
    # LightGBM's quantile objective stores alpha as float32.
    a = float(np.float32(alpha)) if single else alpha
    _leaf_percentiles_kernel(resid, weight, leaf, order, n_leaves, a, out)
    return out


def leaf_percentiles(
    residual: Any,
    leaf: Any,
    alpha: float,
    sample_weight: Any = None,
    *,
    n_leaves: int | None = None,
    single_precision_alpha: bool = True,
) -> np.ndarray:
    """Per-leaf residual percentiles with LightGBM's definitions.

    LightGBM's ``l1`` and ``quantile`` objectives set each leaf to this value
    (times the learning rate) after every tree: without weights the order
    statistics interpolated linearly at position ``alpha (n - 1)``; with
    weights the weighted CDF of the sorted residuals, interpolated where its
    step is at least one unit of weight and the lower residual otherwise.
    The results match LightGBM 4's leaf values bit for bit.

    Parameters
    ----------
    residual : array of shape (n,)
        ``label - score`` before the tree.
    leaf : int array of shape (n,)
        Leaf index of every row.
    alpha : float in (0, 1)
    sample_weight : array of shape (n,), optional
    n_leaves : int, optional
        Number of leaves (default ``max(leaf) + 1``); empty leaves give NaN.
    single_precision_alpha : bool, default True
        Compute with ``alpha`` in float32, as LightGBM's ``quantile``
        objective does (its ``l1`` objective uses the exact 0.5; both agree
        at 0.5).

    Returns
    -------
    ndarray of shape (n_leaves,)
    """
    r = as_float_array(residual, "residual").astype(np.float64, copy=False)
    lf = np.asarray(leaf)
    if lf.ndim != 1 or lf.shape[0] != r.shape[0] or lf.dtype.kind not in "iu":
        raise ValueError("leaf must be a 1-D integer array with one entry per residual")
    if r.shape[0] == 0:
        raise ValueError("residual is empty")
    if not 0.0 < float(alpha) < 1.0:
        raise ValueError(f"alpha must be in (0, 1), got {alpha!r}")
    if lf.min() < 0:
        raise ValueError("leaf indices must be non-negative")
    top = int(lf.max()) + 1
    n_leaves = top if n_leaves is None else int(n_leaves)
    if n_leaves < top:
        raise ValueError(f"n_leaves={n_leaves} but leaf holds index {top - 1}")
    w = check_sample_weight(sample_weight, r.shape[0])
    w = w.astype(np.float64) if w.shape[0] else EMPTY_WEIGHT
    return _percentiles(r, w, lf.astype(np.int64), n_leaves, float(alpha), bool(single_precision_alpha))


def _leaf_index(
    booster: lgb.Booster,
    raw: Any,
    iteration: int,
    pred_params: dict[str, Any],
    splits: tuple[np.ndarray, ...] | None,
) -> np.ndarray:
    """Leaf of every row of ``raw`` in the single tree of ``iteration``, whose
    :func:`_tree_splits` are ``splits`` (parsed once for all data sets).

    Dense float matrices walk the tree in a compiled loop (several times
    faster than LightGBM's row-by-row predictor); anything else, and trees
    with categorical splits, go through ``predict(pred_leaf=True)``.
    """
    if splits is not None and isinstance(raw, np.ndarray) and raw.ndim == 2 and raw.dtype in (np.float32, np.float64):
        out = np.zeros(raw.shape[0], dtype=np.int64)
        if splits:
            tree_leaves(raw, *splits, out)
        return out
    leaf = booster.predict(raw, start_iteration=iteration, num_iteration=1, pred_leaf=True, **pred_params)
    return np.asarray(leaf).reshape(-1).astype(np.int64)


def _capture_scores(booster: lgb.Booster, valid: bool) -> list[np.ndarray]:
    """The score arrays LightGBM hands to objectives and metrics this round.

    An evaluation function receives LightGBM's own per-round score buffer, so
    editing it in place changes what every later consumer sees this round.
    """
    box: list[np.ndarray] = []

    def grab(preds: np.ndarray, data: Any) -> list:
        box.append(preds)
        return []

    if valid:
        booster.eval_valid(grab)
    else:
        booster.eval_train(grab)
    return box


class _LeafRefit:
    """Callback that refits each new tree's leaves to residual percentiles.

    Installed before the first round, it wraps the booster's ``update``: after
    each tree it finds every row's leaf (walking the new tree over the raw
    features), sets every leaf to ``learning_rate`` times the percentile of
    its residuals, and adds the change to the scores LightGBM keeps for the
    training and validation data (which ``set_leaf_output`` leaves untouched)
    before the evaluation, callbacks or the next gradient read them.
    """

    before_iteration = True
    order = -(10**9)

    def __init__(self, loss: Loss, data: Data, train_raw: Any, valid_raw: list[Any], num_threads: int | None):
        if loss.leaf_refit is None:
            raise ValueError(f"{loss!r} needs no leaf refit")
        self.quantile = float(loss.leaf_refit.quantile)
        self.y = data.y.astype(np.float64)
        self.weight = data.weight
        self.train_raw = train_raw
        self.valid_raw = valid_raw
        self.pred_params = {} if num_threads is None else {"num_threads": int(num_threads)}
        self.booster: lgb.Booster | None = None

    def __call__(self, env: Any) -> None:
        if self.booster is None:
            self._install(env.model)

    def _install(self, booster: lgb.Booster) -> None:
        if len(booster.valid_sets) != len(self.valid_raw):
            raise ValueError("leaf refit needs the raw data of every validation set")
        for ds, raw in zip(booster.valid_sets, self.valid_raw, strict=True):
            if ds.num_data() != _n_rows(raw):
                raise ValueError("a validation set's raw data does not match its Dataset")
        self.booster = booster
        self.n_trees = booster.num_trees()
        self.train_corr = np.zeros(self.y.shape[0])
        self.valid_corr = [np.zeros(_n_rows(raw)) for raw in self.valid_raw]
        self.resid = np.empty(self.y.shape[0])
        self.checked = False
        self.orig_update = booster.update
        booster.update = self._update  # type: ignore[method-assign]

    def uninstall(self) -> None:
        if self.booster is not None:
            self.booster.__dict__.pop("update", None)
            self.booster = None

    def _update(self, train_set: Any = None, fobj: Any = None) -> bool:
        booster = self.booster
        np.subtract(self.y, _capture_scores(booster, valid=False)[0], out=self.resid)
        finished = self.orig_update(train_set=train_set, fobj=fobj)
        if booster.num_trees() > self.n_trees:
            self.n_trees = booster.num_trees()
            self._refit(booster, self.n_trees - 1, booster.current_iteration() - 1)
        self._patch(booster)
        return finished

    def _refit(self, booster: lgb.Booster, tree: int, iteration: int) -> None:
        splits = _tree_splits(booster, iteration)
        leaf = _leaf_index(booster, self.train_raw, iteration, self.pred_params, splits)
        n_leaves = int(leaf.max()) + 1
        if n_leaves == 1:
            return  # LightGBM refits only trees with a split; so do we.
        # LightGBM's quantile objective rounds alpha to float32 and its l1
        # objective takes the exact median; float32(0.5) is 0.5, so one rule
        # gives both.
        q = _percentiles(self.resid, self.weight, leaf, n_leaves, self.quantile, True)
        old = np.array([booster.get_leaf_output(tree, j) for j in range(n_leaves)])
        # Read every round: a callback may reset the learning rate.
        new = q * float(_param(booster.params, _LR_ALIASES, 0.1))
        empty = np.isnan(new)
        new[empty] = old[empty]
        new[np.abs(new) <= ZERO_THRESHOLD] = 0.0
        for j in range(n_leaves):
            booster.set_leaf_output(tree, j, float(new[j]))
        change = new - old
        self.train_corr += change[leaf]
        for corr, raw in zip(self.valid_corr, self.valid_raw, strict=True):
            corr += change[_leaf_index(booster, raw, iteration, self.pred_params, splits)]

    def _patch(self, booster: lgb.Booster) -> None:
        scores = _capture_scores(booster, valid=False)[0]
        scores += self.train_corr
        if not self.checked:
            # Once: the edit must land in the buffer LightGBM hands out.
            if _capture_scores(booster, valid=False)[0] is not scores:
                raise RuntimeError(
                    "this LightGBM version does not keep its per-round score buffer; leaf refit is unavailable "
                    "(pass refit_leaves=False)"
                )
            self.checked = True
        for buf, corr in zip(_capture_scores(booster, valid=True), self.valid_corr, strict=True):
            buf += corr


def _iteration_splits(booster: lgb.Booster, iteration: int, k: int) -> list[tuple[np.ndarray, ...] | None]:
    """:func:`_tree_splits` of each of the ``k`` trees of ``iteration``."""
    text = booster.model_to_string(start_iteration=iteration, num_iteration=1)
    starts = [m.start() for m in re.finditer(r"\nTree=", text)]
    out: list[tuple[np.ndarray, ...] | None] = []
    for c in range(k):
        fields = _parse_tree(text[starts[c] :]) if c < len(starts) else None
        if fields is None:
            out.append(None)
        elif int(fields["num_leaves"]) == 1:
            out.append(())
        else:
            out.append(tuple(np.array(fields[key].split(), dtype=dtype) for key, dtype in _SPLIT_ARRAYS))
    return out


def _iteration_leaves(
    booster: lgb.Booster, raw: Any, iteration: int, k: int, pred_params: dict[str, Any], splits: list
) -> np.ndarray:
    """Leaf of every row of ``raw`` in each of the ``k`` trees of ``iteration``, shape (n, k)."""
    if all(s is not None for s in splits) and isinstance(raw, np.ndarray) and raw.ndim == 2:
        if raw.dtype in (np.float32, np.float64):
            out = np.zeros((raw.shape[0], k), dtype=np.int64)
            for c, tree in enumerate(splits):
                if tree:
                    column = np.zeros(raw.shape[0], dtype=np.int64)
                    tree_leaves(raw, *tree, column)
                    out[:, c] = column
            return out
    leaf = booster.predict(raw, start_iteration=iteration, num_iteration=1, pred_leaf=True, **pred_params)
    return np.asarray(leaf).reshape(-1, k).astype(np.int64)


def _level_refit_values(
    loss: Loss,
    y: np.ndarray,
    margin: np.ndarray,
    current: np.ndarray,
    leaf: np.ndarray,
    n_leaves: int,
    level: int,
    lower: np.ndarray | None,
    learning_rate: float,
    weight: np.ndarray,
) -> np.ndarray:
    """Leaf values of output ``level``'s new tree: the constant margin change per
    leaf that puts level ``level`` (``current`` before the tree, from
    ``margin``) at its residual quantile in the leaf.

    Each row's level rises with its margin, so the rows whose level ends up
    below their target are those whose own margin change (the change that
    meets their target exactly, through the link, with the levels below at
    ``lower``) is smaller than the leaf's: the leaf's change is the
    ``loss.level_refit[level]`` percentile of these per-row changes, LightGBM's
    percentile definition as in :func:`leaf_percentiles` without weights, and
    with weights its generalisation that equal weights leave unchanged
    (:func:`~gbm_objectives.kernels.percentiles.leaf_position_percentiles`). Targets are the
    labels shrunk by ``learning_rate`` towards the level before the tree, so
    the level moves ``learning_rate`` times its residual quantile, as in
    LightGBM's quantile objective (for the lowest level exactly that). A
    target below the level beneath sits on it: its margin is held at
    ``-MARGIN_LIMIT``, within 1e-13 of it, not at the link's floor. Where the
    link's margins are the levels (the cumulative maximum), the change is the
    target minus the output's own margin for every row, the level below
    playing no part.
    """
    alpha = float(loss.level_refit[level])  # type: ignore[index]
    target = current + learning_rate * (y - current)
    if level == 0 or loss.link.margins_are_levels:
        # Under the cumulative maximum each output is its own level: it is refit
        # as a separate model would be (LightGBM's quantile objective).
        change = target - margin[:, level]
    else:
        levels = np.column_stack([lower, np.maximum(target, lower[:, -1])])  # type: ignore[index]
        wanted = np.maximum(loss.link.link(levels)[:, level], -MARGIN_LIMIT)
        change = wanted - margin[:, level]
    if not weight.shape[0]:
        return _percentiles(change, weight, leaf, n_leaves, alpha, False)
    # No built-in to match here: a weighted rule that equal weights leave unweighted.
    out = np.empty(n_leaves)
    leaf_position_percentiles(change, weight, leaf, np.argsort(change, kind="stable"), n_leaves, alpha, out)
    return out


#: A leaf's share of labels above its level counts as off the quantile beyond this many standard errors.
LEAF_OFFSET_ERRORS = 2.0


def _leaf_offsets(
    y: np.ndarray, level: np.ndarray, leaf: np.ndarray, n_leaves: int, alpha: float, weight: np.ndarray
) -> np.ndarray:
    """How far the level sits off its quantile in each leaf, in [0, 1]: the leaf's
    share of labels above it minus ``1 - alpha``, less ``LEAF_OFFSET_ERRORS``
    standard errors of a share of that many rows (effective rows under weights),
    over ``min(alpha, 1 - alpha)``, clipped. A level at its quantile overall can
    be far off it within a leaf (a median started at the table's median, in a
    leaf of cheap diamonds); the margin of standard errors keeps a leaf's
    noise from being taken for that."""
    w = np.ones_like(y) if not weight.shape[0] else weight
    total = np.bincount(leaf, weights=w, minlength=n_leaves)
    above = np.bincount(leaf, weights=w * (y > level), minlength=n_leaves)
    squares = np.bincount(leaf, weights=w * w, minlength=n_leaves)
    out = np.zeros(n_leaves)
    rows = (total > 0) & (squares > 0)
    effective = total[rows] ** 2 / squares[rows]
    error = np.sqrt(alpha * (1.0 - alpha) / effective)
    off = np.abs(above[rows] / total[rows] - (1.0 - alpha)) - LEAF_OFFSET_ERRORS * error
    out[rows] = np.clip(off / min(alpha, 1.0 - alpha), 0.0, 1.0)
    return out


class _LevelRefit(_LeafRefit):
    """Callback that refits the ``k`` trees of each round of a level set, lowest level first.

    As :class:`_LeafRefit`, for the losses with ``loss.level_refit``: after a
    round's ``k`` trees are grown (tree ``j`` for output ``j``), the leaves of
    tree ``j`` are set by :func:`_level_refit_values`, given the levels below
    after their own refit, and the changes are added to LightGBM's training
    and validation scores.
    """

    def __init__(self, loss: Loss, data: Data, train_raw: Any, valid_raw: list[Any], num_threads: int | None):
        if loss.level_refit is None:
            raise ValueError(f"{loss!r} needs no level refit")
        self.loss = loss
        self.k = int(loss.n_outputs)
        self.y = data.y.astype(np.float64)
        self.weight = data.weight
        self.train_raw = train_raw
        self.valid_raw = valid_raw
        self.pred_params = {} if num_threads is None else {"num_threads": int(num_threads)}
        self.booster = None

    def _install(self, booster: lgb.Booster) -> None:
        super()._install(booster)
        self.train_corr = np.zeros((self.y.shape[0], self.k))
        self.valid_corr = [np.zeros((_n_rows(raw), self.k)) for raw in self.valid_raw]

    def _update(self, train_set: Any = None, fobj: Any = None) -> bool:
        booster = self.booster
        margin = np.array(_capture_scores(booster, valid=False)[0], dtype=np.float64).reshape(-1, self.k)
        finished = self.orig_update(train_set=train_set, fobj=fobj)
        if booster.num_trees() >= self.n_trees + self.k:
            first = booster.num_trees() - self.k
            self.n_trees = booster.num_trees()
            self._refit_levels(booster, first, booster.current_iteration() - 1, margin)
        self._patch(booster)
        return finished

    def _refit_levels(self, booster: lgb.Booster, first: int, iteration: int, margin: np.ndarray) -> None:
        splits = _iteration_splits(booster, iteration, self.k)
        leaves = _iteration_leaves(booster, self.train_raw, iteration, self.k, self.pred_params, splits)
        valid_leaves = [
            _iteration_leaves(booster, raw, iteration, self.k, self.pred_params, splits) for raw in self.valid_raw
        ]
        # Read every round: a callback may reset the learning rate.
        lr = float(_param(booster.params, _LR_ALIASES, 0.1))
        updated = margin.copy()
        current = self.loss.link.inverse(margin)
        # The refit's share per level and leaf: all of it while the level is far off its quantile, overall or
        # in the leaf (it moves there fast, as the built-in does), none at it (where a leaf's residual
        # quantile is noisier than a Newton step).
        shares = self.loss.level_offsets(self.y, margin, self.weight)
        for j in range(self.k):
            tree = first + j
            leaf = leaves[:, j]
            n_leaves = int(leaf.max()) + 1
            old = np.array([booster.get_leaf_output(tree, t) for t in range(n_leaves)])
            alpha = float(self.loss.level_refit[j])  # type: ignore[index]
            gate = np.maximum(shares[j], _leaf_offsets(self.y, current[:, j], leaf, n_leaves, alpha, self.weight))
            if n_leaves > 1 and np.any(gate > 0.0):  # LightGBM refits only trees with a split; so do we.
                own = j == 0 or self.loss.link.margins_are_levels
                lower = None if own else self.loss.link.inverse(updated[:, :j])
                new = _level_refit_values(
                    self.loss, self.y, margin, current[:, j], leaf, n_leaves, j, lower, lr, self.weight
                )
                empty = np.isnan(new)
                new[empty] = old[empty]
                new = old + gate * (new - old)
                new[np.abs(new) <= ZERO_THRESHOLD] = 0.0
                for t in range(n_leaves):
                    booster.set_leaf_output(tree, t, float(new[t]))
                change = new - old
                self.train_corr[:, j] += change[leaf]
                for corr, vleaf in zip(self.valid_corr, valid_leaves, strict=True):
                    corr[:, j] += change[vleaf[:, j]]
                updated[:, j] += new[leaf]
            else:
                updated[:, j] += old[leaf]

    def _patch(self, booster: lgb.Booster) -> None:
        # LightGBM hands out (n, k) views of its flat buffer, a new view each time.
        scores = _capture_scores(booster, valid=False)[0]
        scores += self.train_corr
        if not self.checked:
            if not np.shares_memory(_capture_scores(booster, valid=False)[0], scores):
                raise RuntimeError(
                    "this LightGBM version does not keep its per-round score buffer; leaf refit is unavailable "
                    "(pass refit_leaves=False)"
                )
            self.checked = True
        for buf, corr in zip(_capture_scores(booster, valid=True), self.valid_corr, strict=True):
            buf += corr


def _refit_callback(
    loss: Loss, data: Data, train_raw: Any, valid_raw: list[Any], num_threads: int | None
) -> _LeafRefit | None:
    """The refit callback the loss declares (``leaf_refit`` or ``level_refit``), or None."""
    if loss.leaf_refit is not None:
        return _LeafRefit(loss, data, train_raw, valid_raw, num_threads)
    if loss.level_refit is not None:
        return _LevelRefit(loss, data, train_raw, valid_raw, num_threads)
    return None
