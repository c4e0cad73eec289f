"""The ablation's booster fits: one (loss, fold) fit, the fold data that fits share, and how batches of
fits run (in order, in ``n_jobs`` processes, or as tasks on a dask.distributed cluster).

:class:`_FoldData` is the one place that talks to the boosters.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Hashable, Iterable
from typing import Any

import numpy as np

from ..losses import Loss
from ._inputs import FeatureMatrix

_DEFAULT_PARAMS = {
    "xgboost": {"tree_method": "hist", "max_depth": 6, "learning_rate": 0.1},
    "lightgbm": {"learning_rate": 0.1, "num_leaves": 31, "verbose": -1, "deterministic": True,
                 "force_row_wise": True},
}


def _xgb_matrix(X: np.ndarray | FeatureMatrix, nthread: int, **info: Any) -> Any:
    """A DMatrix; categorical columns are declared so (feature type "c") for XGBoost's categorical splits."""
    import xgboost as xgb

    if isinstance(X, FeatureMatrix):
        types = ["c" if j in X.categorical else "q" for j in range(X.shape[1])]
        return xgb.DMatrix(X.values, nthread=nthread, feature_types=types, enable_categorical=True, **info)
    return xgb.DMatrix(X, nthread=nthread, **info)


def _lgb_dataset(X: np.ndarray | FeatureMatrix, params: dict[str, Any], **info: Any) -> Any:
    """A Dataset (raw features kept: a leaf refit reads them); categorical columns named to LightGBM."""
    import lightgbm as lgb

    if isinstance(X, FeatureMatrix):
        info["categorical_feature"] = list(X.categorical)
        X = X.values
    return lgb.Dataset(X, free_raw_data=False, params=params, **info)


class _FoldData:
    """One fold's booster data: the training rows (less the early-stopping rows), the early-stopping rows
    and the test features, with the booster parameters every fit on them starts from.

    Built ``shared``, the data sets are binned here, once, and every loss
    fitted on the fold reuses them; neither adapter changes a data set it
    trains on for good (the init score goes to XGBoost's ``base_score``, and
    LightGBM's adapter clears the ``init_score`` it sets when training
    ends). The DMatrix is binned here (:func:`_xgb_bin`) and XGBoost keeps
    the ``hist`` bins inside it. A LightGBM Dataset keeps its raw features
    (a leaf refit reads them) and is constructed with the experiment's
    parameters (the Dataset-level ones, ``max_bin``, ``min_data_in_leaf``,
    ``seed`` ..., are the same for every loss); a fit whose parameters
    changed one would make LightGBM build the Dataset again
    (:meth:`intact` then says so and the fold's data is dropped). Not
    shared, LightGBM bins inside the fit, as a one-off fit always did.
    """

    def __init__(self, backend: str, params: dict[str, Any], X_tr: np.ndarray | FeatureMatrix, y_tr: np.ndarray,
                 w_tr: np.ndarray | None, X_te: np.ndarray | FeatureMatrix, random_state: int,
                 stopping: tuple[int, np.ndarray] | None, shared: bool = False) -> None:
        start = time.perf_counter()
        self.backend = backend
        self.stopping_rounds = None if stopping is None else stopping[0]
        fit_rows: Any = slice(None)
        valid = None
        if stopping is not None:
            keep = np.ones(y_tr.shape[0], dtype=bool)
            keep[stopping[1]] = False
            fit_rows, valid = np.flatnonzero(keep), stopping[1]

        def part(a: Any, rows: Any) -> Any:
            return None if a is None else a[rows]

        self.valid: Any = None
        if backend == "xgboost":
            self.params = {**_DEFAULT_PARAMS["xgboost"], "nthread": 1, "seed": random_state, **params}
            threads = self.params["nthread"]
            self.train = _xgb_matrix(part(X_tr, fit_rows), threads, label=y_tr[fit_rows],
                                     weight=part(w_tr, fit_rows))
            if valid is not None:
                self.valid = _xgb_matrix(X_tr[valid], threads, label=y_tr[valid], weight=part(w_tr, valid))
            self.test = _xgb_matrix(X_te, threads) if isinstance(X_te, FeatureMatrix) else X_te
            if shared:
                _xgb_bin(self.train, self.params)
        else:
            self.params = {**_DEFAULT_PARAMS["lightgbm"], "num_threads": 1, "seed": random_state, **params}
            dataset_params = {"verbose": self.params.get("verbose", -1)}
            if shared:
                dataset_params.update(self.params)
            self.train = _lgb_dataset(part(X_tr, fit_rows), dataset_params, label=y_tr[fit_rows],
                                      weight=part(w_tr, fit_rows))
            if valid is not None:
                self.valid = _lgb_dataset(X_tr[valid], dict(dataset_params), label=y_tr[valid],
                                          weight=part(w_tr, valid), reference=self.train)
            if shared:
                self.train.construct()
                if self.valid is not None:
                    self.valid.construct()
            self.test = X_te.values if isinstance(X_te, FeatureMatrix) else X_te
        self._dataset_params = self._current_dataset_params()
        #: Seconds spent cutting the rows and building (for LightGBM shared: binning) the data sets.
        self.build_seconds = time.perf_counter() - start

    def _current_dataset_params(self) -> list[Any]:
        if self.backend == "xgboost":
            return []
        return [dict(ds.params or {}) for ds in (self.train, self.valid) if ds is not None]

    def intact(self) -> bool:
        """Whether the data sets are still those built here: LightGBM rebuilds a Dataset (and merges the
        fit's parameters into its own) when a fit changes a Dataset-level parameter."""
        return self._current_dataset_params() == self._dataset_params

    def fit_predict(self, loss: Loss, num_boost_round: int) -> tuple[np.ndarray, int | None]:
        """Train ``loss`` through the library's adapter; response-scale test predictions (a distributional
        loss's (n, k) parameters) and the rounds kept (the best iteration, counted from 1) when stopping
        early, else None."""
        output = "parameters" if loss.predicts_distribution else "response"
        if self.backend == "xgboost":
            from .. import xgboost as xgb_adapter

            extra: dict[str, Any] = {}
            if self.valid is not None:
                extra = {"evals": [(self.valid, "valid")], "early_stopping_rounds": self.stopping_rounds}
            booster = xgb_adapter.train(loss, dict(self.params), self.train, num_boost_round, verbose_eval=False,
                                        **extra)
            kept = None if self.valid is None else int(booster.best_iteration) + 1
            return xgb_adapter.predict(booster, self.test, loss=loss, output=output), kept
        import lightgbm as lgb

        from .. import lightgbm as lgb_adapter

        if self.valid is None:
            booster = lgb_adapter.train(loss, dict(self.params), self.train, num_boost_round)
            kept = None
        else:
            booster = lgb_adapter.train(loss, dict(self.params), self.train, num_boost_round,
                                        valid_sets=[self.valid], valid_names=["valid"],
                                        callbacks=[lgb.early_stopping(self.stopping_rounds, verbose=False)])
            kept = int(booster.best_iteration) or num_boost_round
        return lgb_adapter.predict(booster, self.test, loss=loss, output=output), kept


def _xgb_bin(dtrain: Any, params: dict[str, Any]) -> None:
    """Have XGBoost cut and bin ``dtrain`` now (one stump of squared error), so the time goes to the fold's
    data rather than to whichever loss trains on it first.

    XGBoost keeps the ``hist`` bins in the DMatrix and builds them again
    for a booster whose ``max_bin`` differs, so a mismatch here costs time,
    never a result. Only the CPU ``hist`` method keeps bins to reuse.
    """
    import xgboost as xgb

    if params.get("tree_method") != "hist" or str(params.get("device", "cpu")) != "cpu":
        return
    stump = {"tree_method": "hist", "nthread": params["nthread"], "max_depth": 1,
             **{k: params[k] for k in ("max_bin", "max_cat_to_onehot", "max_cat_threshold") if k in params}}
    xgb.train(stump, dtrain, 1)


def _fit_predict(
    backend: str,
    loss: Loss,
    params: dict[str, Any],
    X_tr: np.ndarray | FeatureMatrix,
    y_tr: np.ndarray,
    w_tr: np.ndarray | None,
    X_te: np.ndarray | FeatureMatrix,
    num_boost_round: int,
    random_state: int,
    stopping: tuple[int, np.ndarray] | None = None,
) -> tuple[np.ndarray, int | None]:
    """Train ``loss`` on data built for this fit alone; response-scale test predictions (a distributional
    loss's (n, k) parameters) and the rounds kept.

    Boosters run single-threaded unless ``params`` sets their threads: the
    ablation parallelises over fits instead (many small fits scale better
    across processes, and OpenMP threads collapse on a busy machine).
    ``stopping`` is ``(rounds, validation rows)``: those training rows are
    held out of the fit and stop it after ``rounds`` rounds without
    improvement of the loss's metric on them; the rounds kept (the best
    iteration, counted from 1) are returned, else None.
    """
    data = _FoldData(backend, params, X_tr, y_tr, w_tr, X_te, random_state, stopping)
    return data.fit_predict(loss, num_boost_round)


def _fit_fold(backend, loss, params, X, y, w, train_idx, test_idx, num_boost_round, random_state):
    """One (loss, fold) fit: test predictions as float64 and the wall time of fit plus predict."""
    pred, seconds, _ = _fit_fold_stopped(backend, loss, params, X, y, w, train_idx, test_idx, num_boost_round,
                                         random_state, None)
    return pred, seconds


def _fit_fold_stopped(backend, loss, params, X, y, w, train_idx, test_idx, num_boost_round, random_state, stopping):
    """:func:`_fit_fold` with optional early stopping (see :func:`_fit_predict`); also the rounds kept."""
    start = time.perf_counter()
    pred, kept = _fit_predict(backend, loss, params, X[train_idx], y[train_idx],
                              None if w is None else w[train_idx], X[test_idx], num_boost_round, random_state,
                              stopping)
    return np.asarray(pred, dtype=np.float64), time.perf_counter() - start, kept


#: Whether fits of one fold share its data (False: every fit builds its own, as one-off fits do).
SHARE_FOLD_DATA = True

# The fold data each thread holds, keyed by thread: (key, data). One fold per
# thread bounds the memory to what a lone fit holds; fits come fold by fold,
# so each thread builds a fold's data at most once per batch.
_shared: dict[int, tuple[Hashable, _FoldData]] = {}
_shared_lock = threading.Lock()


def _shared_fold(key: Hashable, build: Callable[[], _FoldData]) -> _FoldData:
    """This thread's data of fold ``key``, built if it holds none or another fold's (dropped first)."""
    ident = threading.get_ident()
    with _shared_lock:
        entry = _shared.get(ident)
        if entry is not None and entry[0] == key:
            return entry[1]
        _shared.pop(ident, None)
    data = build()
    with _shared_lock:
        _shared[ident] = (key, data)
    return data


def _forget_fold(key: Hashable) -> None:
    """Drop this thread's data of fold ``key``."""
    ident = threading.get_ident()
    with _shared_lock:
        entry = _shared.get(ident)
        if entry is not None and entry[0] == key:
            del _shared[ident]


def _drop_shared(token: Hashable) -> None:
    """Drop every thread's fold data of the experiment ``token`` (fold keys are ``(token, fold)``)."""
    with _shared_lock:
        for ident in [i for i, (key, _) in _shared.items() if key[0] == token]:  # type: ignore[index]
            del _shared[ident]


def _fit_fold_shared(key, release, backend, loss, params, X, y, w, train_idx, test_idx, num_boost_round,
                     random_state, stopping):
    """:func:`_fit_fold_stopped` on the fold data this thread keeps for fold ``key`` (built by the first fit
    of the fold to run in this thread); ``release`` drops it after the fit.

    The seconds are this fit's plus the fold data's build, whichever fit
    built it: every loss is charged what a fit of its own would cost, so
    the losses' times compare whatever order they ran in.
    """
    if not SHARE_FOLD_DATA:
        return _fit_fold_stopped(backend, loss, params, X, y, w, train_idx, test_idx, num_boost_round,
                                 random_state, stopping)

    def build() -> _FoldData:
        return _FoldData(backend, params, X[train_idx], y[train_idx], None if w is None else w[train_idx],
                         X[test_idx], random_state, stopping, shared=True)

    data = _shared_fold(key, build)
    start = time.perf_counter()
    try:
        pred, kept = data.fit_predict(loss, num_boost_round)
    except BaseException:
        _forget_fold(key)
        raise
    if release or not data.intact():
        _forget_fold(key)
    return np.asarray(pred, dtype=np.float64), time.perf_counter() - start + data.build_seconds, kept


def _fit_folds(calls: list[tuple], n_jobs: int, fit: Any = None, client: Any = None) -> Iterable[tuple]:
    """``fit`` (default :func:`_fit_fold`) of each argument tuple, in order, ``n_jobs`` processes at a time,
    or as tasks on a dask.distributed ``client`` (see :class:`_ClusterFits`).

    Results are yielded as they arrive (in order), so a progress bar moves with the fits.
    """
    if client is not None:
        return _in_order(_cluster_fits(client, calls, _fit_fold if fit is None else fit))
    return (result for _, result in _fit_folds_unordered(calls, n_jobs, fit))


def _fit_folds_sharing(calls: list[tuple[Hashable, tuple]], n_jobs: int, client: Any = None) -> Iterable[tuple]:
    """:func:`_fit_fold_stopped` of each ``(fold, arguments)`` pair, in order, fits of a fold sharing its data.

    ``calls`` come grouped fold by fold (a fold's fits next to each other), so each thread or process builds a
    fold's data once; the data is dropped here and on the cluster's workers when the last result is taken.
    """
    token = uuid.uuid4().hex
    release = client is None and n_jobs > 1  # joblib's workers outlive the batch: they drop a fold after it
    shared = [((token, fold), release and (i + 1 == len(calls) or calls[i + 1][0] != fold), *args)
              for i, (fold, args) in enumerate(calls)]
    try:
        yield from _fit_folds(shared, n_jobs, _fit_fold_shared, client=client)
    finally:
        _drop_shared(token)
        if client is not None:
            client.run(_drop_shared, token)


def _fit_folds_unordered(calls: list[tuple], n_jobs: int, fit: Any = None,
                         cluster: _ClusterFits | None = None) -> Iterable[tuple[int, tuple]]:
    """``(position in calls, result)`` of each fit: in order locally, as they complete on a cluster."""
    fit = _fit_fold if fit is None else fit
    if cluster is not None:
        return cluster.run(calls, fit)
    if n_jobs == 1 or len(calls) <= 1:
        return enumerate(fit(*call) for call in calls)
    from joblib import Parallel, delayed

    n = min(n_jobs, len(calls))
    try:
        parallel = Parallel(n_jobs=n, return_as="generator")
    except TypeError:  # joblib < 1.3: results arrive all at once
        parallel = Parallel(n_jobs=n)
    return enumerate(parallel(delayed(fit)(*call) for call in calls))


def _cluster_fits(client: Any, calls: list[tuple], fit: Any) -> Iterable[tuple[int, tuple]]:
    """One batch of fits on ``client``; its scattered data is released when the batch is done."""
    cluster = _ClusterFits(client)
    try:
        yield from cluster.run(calls, fit)
    finally:
        cluster.close()


def _in_order(results: Iterable[tuple[int, Any]]) -> Iterable[Any]:
    """The results of positions 0..n-1 in order, each as soon as it and every earlier one have arrived."""
    waiting: dict[int, Any] = {}
    nxt = 0
    for i, result in results:
        waiting[i] = result
        while nxt in waiting:
            yield waiting.pop(nxt)
            nxt += 1


def _own_arrays(result: tuple) -> tuple:
    """The result with fresh copies of its arrays: deserialised ones may sit at unaligned offsets of a
    message's buffer, where NumPy takes other reduction loops (means that differ in the last bit)."""
    return tuple(np.array(r, copy=True) if isinstance(r, np.ndarray) else r for r in result)


class _ClusterFits:
    """Fits as tasks on a dask.distributed client, the data sent to the workers once.

    Every array among a fit's arguments (the features, labels, weights, fold
    and early-stopping rows; also inside tuples) is scattered to every worker
    (``broadcast``) the first time it is seen and referred to by its future
    afterwards, so a sweep of many losses over the same folds ships each array
    once, not once per fit; refinement steps reuse them. The workers run the
    same function on the same arguments as this process would, so the
    predictions are the same.
    """

    def __init__(self, client: Any) -> None:
        self.client = client
        # id -> (the array, kept alive so its id is not reused; its future)
        self._sent: dict[int, tuple[Any, Any]] = {}

    def _swap(self, arg: Any, new: dict[int, Any] | None = None) -> Any:
        """``arg`` with its arrays replaced by their futures; with ``new``, collect the unsent arrays there."""
        if isinstance(arg, (np.ndarray, FeatureMatrix)):
            if new is not None:
                if id(arg) not in self._sent:
                    new[id(arg)] = arg
                return arg
            return self._sent[id(arg)][1]
        return tuple(self._swap(a, new) for a in arg) if isinstance(arg, tuple) else arg

    def run(self, calls: list[tuple], fit: Any) -> Iterable[tuple[int, tuple]]:
        """Submit every call and yield ``(position, result)`` as the tasks complete.

        A failing fit raises its own exception here; the remaining tasks are
        cancelled when the iteration stops early.
        """
        from distributed import as_completed

        new: dict[int, Any] = {}
        self._swap(tuple(calls), new)
        if new:
            # hash=False: hashing a large feature matrix to name it costs a pass over it.
            futures = self.client.scatter(list(new.values()), broadcast=True, hash=False)
            self._sent.update({k: (obj, fut) for (k, obj), fut in zip(new.items(), futures)})
        tasks = [self.client.submit(fit, *[self._swap(a) for a in call], pure=False) for call in calls]
        position = {task.key: i for i, task in enumerate(tasks)}
        try:
            for task in as_completed(tasks):
                yield position[task.key], _own_arrays(task.result())
                task.release()
        finally:
            pending = [t for t in tasks if not t.done()]
            if pending:
                self.client.cancel(pending)

    def close(self) -> None:
        """Release the scattered arrays on the workers."""
        for _, future in self._sent.values():
            future.release()
        self._sent.clear()


