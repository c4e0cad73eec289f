"""Fits of one fold share its binned data: the same tables as data built for every fit, each fold built once."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from gbm_objectives.ablation import _fits, ablate_losses, sweep_loss_parameter, sweep_tweedie_power
from gbm_objectives.ablation._fits import _FoldData
from gbm_objectives.losses import get_loss

PARAMS = {"xgboost": {"max_depth": 3, "max_bin": 32},
          "lightgbm": {"num_leaves": 7, "min_data_in_leaf": 5, "max_bin": 31}}
N = 360
# A leaf refit (absolute error: LightGBM reads the raw features), a distributional loss (two outputs), and
# losses whose init scores differ (each fit sets its own on the shared data).
LOSSES = ["squared_error", "tweedie(power=1.4)", "absolute_error", "huber", "gamma", "lognormal"]


def _opts(backend: str, **extra):
    return {"backend": backend, "params": PARAMS[backend], "num_boost_round": 8, "cv": 3, "progress": False,
            **extra}


def _numeric(seed: int = 3):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(N, 4))
    y = np.exp(0.5 * X[:, 0] - 0.3 * X[:, 1]) * rng.gamma(2.0, 0.5, N) + 0.05
    return X, y


def _categorical(seed: int = 5):
    rng = np.random.default_rng(seed)
    code = rng.integers(0, 9, N)
    x = rng.normal(size=N)
    y = np.exp(0.4 * rng.normal(size=9)[code] + 0.3 * x) * rng.gamma(2.0, 0.5, N) + 0.05
    frame = pd.DataFrame({"site": pd.Categorical([f"s{c}" for c in code]), "x": x,
                          "kind": pd.Categorical(np.where(rng.random(N) < 0.5, "a", None))})
    return frame, y


def assert_same_table(a: pd.DataFrame, b: pd.DataFrame) -> None:
    """Equal to the last bit in every column but the wall time, and in every recorded setting and fold score."""
    pd.testing.assert_frame_equal(a.drop(columns="fit_seconds"), b.drop(columns="fit_seconds"), check_exact=True)
    assert a.attrs.keys() == b.attrs.keys()
    for key in a.attrs:
        np.testing.assert_equal(a.attrs[key], b.attrs[key], err_msg=key)  # NaN scores (a point loss's log score)


@pytest.fixture
def builds(monkeypatch):
    """The fold data built during a test, as (shared, rows of the training part) pairs."""
    made: list[tuple[bool, int]] = []
    init = _FoldData.__init__

    def counting(self, *args, **kwargs):
        init(self, *args, **kwargs)
        made.append((kwargs.get("shared", False), int(args[3].shape[0])))

    monkeypatch.setattr(_FoldData, "__init__", counting)
    return made


def _unshared(monkeypatch, run):
    with monkeypatch.context() as m:
        m.setattr(_fits, "SHARE_FOLD_DATA", False)
        return run()


@pytest.mark.parametrize("stopping", [None, 3])
@pytest.mark.parametrize("data", ["numeric", "categorical"])
@pytest.mark.parametrize("backend", ["xgboost", "lightgbm"])
def test_shared_fold_data_gives_the_table_of_data_built_per_fit(monkeypatch, builds, backend, data, stopping):
    X, y = _numeric() if data == "numeric" else _categorical()
    w = np.random.default_rng(7).uniform(0.5, 2.0, N)
    opts = _opts(backend, sample_weight=w, early_stopping_rounds=stopping, balance=True)
    shared = ablate_losses(X, y, LOSSES, **opts)
    # Each fold built once, for all six losses.
    assert [s for s, _ in builds] == [True] * 3
    builds.clear()
    alone = _unshared(monkeypatch, lambda: ablate_losses(X, y, LOSSES, **opts))
    assert [s for s, _ in builds] == [False] * (3 * len(LOSSES))
    assert_same_table(shared, alone)
    assert not _fits._shared  # the experiment dropped its fold data when done


@pytest.mark.parametrize("backend", ["xgboost", "lightgbm"])
def test_a_sweep_builds_each_fold_once_per_batch(monkeypatch, builds, backend):
    frame, y = _categorical()
    opts = _opts(backend, refine=2, early_stopping_rounds=3)
    shared = sweep_tweedie_power(frame, y, [1.2, 1.5, 1.8], **opts)
    # The grid's powers and squared error share three builds; each refined power (a batch of one loss,
    # fold by fold) builds its folds again: a thread keeps one fold's data, never all of them.
    assert len(builds) == 3 * (1 + 2)
    alone = _unshared(monkeypatch, lambda: sweep_tweedie_power(frame, y, [1.2, 1.5, 1.8], **opts))
    assert_same_table(shared, alone)


def test_parameter_sweep_with_groups_shares_the_folds(monkeypatch, builds):
    X, y = _numeric()
    opts = _opts("lightgbm", groups=np.arange(N) % 40, sample_weight=np.linspace(0.5, 2.0, N))
    run = lambda: sweep_loss_parameter(X, y, "huber(delta_scale='robust')", "delta", [0.5, 1.35, 3.0],  # noqa: E731
                                       **opts)
    shared = run()
    assert len(builds) == 3
    assert_same_table(shared, _unshared(monkeypatch, run))


@pytest.mark.parametrize("backend", ["xgboost", "lightgbm"])
def test_tweedie_power_estimate_builds_each_fold_once_per_batch(monkeypatch, builds, backend):
    from gbm_objectives.tweedie_power import estimate_tweedie_power

    X, y = _numeric()
    w = np.random.default_rng(7).uniform(0.5, 2.0, N)
    opts = {"backend": backend, "params": PARAMS[backend], "num_boost_round": 8, "cv": 3, "progress": False,
            "powers": (1.2, 1.4, 1.6, 1.8), "random_state": 2, "sample_weight": w, "early_stopping_rounds": 3}
    with pytest.warns(UserWarning):  # a small table's interval may reach the grid's edge
        shared = estimate_tweedie_power(X, y, **opts)
    # Four powers share a fold's build; the mean-model refits (predicting every row) build theirs once more.
    assert len(builds) == 3 + 3
    with pytest.warns(UserWarning):
        alone = _unshared(monkeypatch, lambda: estimate_tweedie_power(X, y, **opts))
    assert (shared.power, shared.ci, shared.ci_profile, shared.dispersion, shared.mean_model_bias) == (
        alone.power, alone.ci, alone.ci_profile, alone.dispersion, alone.mean_model_bias)
    pd.testing.assert_frame_equal(shared.table.drop(columns="fit_seconds"), alone.table.drop(columns="fit_seconds"),
                                  check_exact=True)
    assert not _fits._shared


@pytest.mark.parametrize("backend", ["xgboost", "lightgbm"])
def test_interval_panel_builds_each_fold_once(monkeypatch, builds, backend):
    X, y = _numeric()
    losses = ["multi_quantile(alphas=(0.1, 0.5, 0.9))", "multi_expectile(alphas=(0.1, 0.5, 0.9))"]
    shared = ablate_losses(X, y, losses, **_opts(backend))
    # Two level sets, three separate quantiles and three separate expectiles: eight models per fold.
    assert len(builds) == 3
    assert_same_table(shared, _unshared(monkeypatch, lambda: ablate_losses(X, y, losses, **_opts(backend))))
    assert not _fits._shared


@pytest.mark.parametrize("backend", ["xgboost", "lightgbm"])
def test_worker_processes_share_folds_as_this_process_does(backend):
    X, y = _categorical()
    opts = _opts(backend, early_stopping_rounds=3)
    assert_same_table(ablate_losses(X, y, LOSSES[:4], n_jobs=2, **opts), ablate_losses(X, y, LOSSES[:4], **opts))


def _fold(backend: str, params: dict | None = None) -> _FoldData:
    X, y = _numeric()
    w = np.linspace(0.5, 2.0, N)
    valid = np.arange(0, 300, 10)
    return _FoldData(backend, PARAMS[backend] if params is None else params, X[:300], y[:300], w[:300], X[300:],
                     0, (3, valid), shared=True)


@pytest.mark.parametrize("backend", ["xgboost", "lightgbm"])
def test_a_fit_leaves_the_shared_data_as_it_found_it(backend):
    fold = _fold(backend)
    first = fold.fit_predict(get_loss("tweedie", power=1.5), 8)
    fold.fit_predict(get_loss("gamma"), 8)  # another init score set on the same data sets
    again = fold.fit_predict(get_loss("tweedie", power=1.5), 8)
    np.testing.assert_array_equal(first[0], again[0])
    assert first[1] == again[1]
    assert fold.intact()
    for ds in (fold.train, fold.valid):
        if backend == "xgboost":
            assert ds.get_base_margin().size == 0
        else:
            assert ds.get_init_score() is None and ds.init_score is None


def test_a_dataset_lightgbm_had_to_rebuild_is_not_shared_further():
    X, y = _numeric()
    fold = _fold("lightgbm")
    assert fold.intact()
    # A Dataset-level parameter unlike the one the Dataset was binned with: LightGBM bins again (the raw
    # features are kept), so the fits after this one must not take that Dataset for the fold's.
    fold.params["max_bin"] = 15
    key = ("rebuilt", 0)
    assert _fits._shared_fold(key, lambda: fold) is fold
    _fits._fit_fold_shared(key, False, "lightgbm", get_loss("squared_error"), PARAMS["lightgbm"], X, y, None,
                           np.arange(300), np.arange(300, N), 4, 0, None)
    assert not fold.intact()
    assert not _fits._shared


def test_a_failing_fit_drops_the_fold(monkeypatch):
    X, y = _numeric()
    key = ("failing", 0)
    broken = _FoldData("xgboost", PARAMS["xgboost"], X[:300], y[:300], None, X[300:], 0, None, shared=True)

    def fail(loss, rounds):
        raise RuntimeError("booster failed")

    monkeypatch.setattr(broken, "fit_predict", fail)
    _fits._shared_fold(key, lambda: broken)
    with pytest.raises(RuntimeError, match="booster failed"):
        _fits._fit_fold_shared(key, False, "xgboost", get_loss("squared_error"), PARAMS["xgboost"], X, y, None,
                               np.arange(300), np.arange(300, N), 4, 0, None)
    assert not _fits._shared
