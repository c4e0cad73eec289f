"""The ablation's fits as tasks on a dask.distributed cluster: the same tables as in-process."""

from __future__ import annotations

import sys
import warnings

import numpy as np
import pandas as pd
import pytest

from gbm_objectives.ablation import ablate_losses, sweep_loss_parameter, sweep_tweedie_power
from gbm_objectives.ablation._experiment import _fit_fold_stopped, _fit_folds, _in_order, _own_arrays
from gbm_objectives.ablation._inputs import FeatureMatrix

distributed = pytest.importorskip("distributed")

pytestmark = pytest.mark.dask

PARAMS = {"xgboost": {"max_depth": 3}, "lightgbm": {"num_leaves": 7, "min_data_in_leaf": 5}}
N = 400


def _opts(backend: str, **extra):
    return {"backend": backend, "params": PARAMS[backend], "num_boost_round": 8, "cv": 3, "progress": False,
            **extra}


@pytest.fixture(scope="module")
def client():
    """Two single-threaded workers in this process: the fits run in worker threads, off the caller's."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                      dashboard_address=None) as cluster, distributed.Client(cluster) as c:
            yield c


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(11)
    X = rng.normal(size=(N, 4))
    y = np.exp(0.5 * X[:, 0] - 0.3 * X[:, 1]) * rng.gamma(2.0, 0.5, N) * (rng.random(N) < 0.7)
    w = rng.uniform(0.5, 2.0, N)
    return X, y, w


def _categorical_frame(n: int = N, seed: int = 5):
    rng = np.random.default_rng(seed)
    code = rng.integers(0, 9, n)
    x = rng.normal(size=n)
    mean = np.exp(0.4 * rng.normal(size=9)[code] + 0.3 * x)
    y = mean * rng.gamma(2.0, 0.5, n) * (rng.random(n) < 0.75)
    frame = pd.DataFrame({"site": pd.Categorical([f"s{c}" for c in code]), "x": x,
                          "kind": pd.Categorical(np.where(rng.random(n) < 0.5, "a", None))})
    return frame, y


def assert_same_table(local: pd.DataFrame, remote: pd.DataFrame) -> None:
    """Equal in every column but the wall time, and in every recorded setting and fold score."""
    pd.testing.assert_frame_equal(local.drop(columns="fit_seconds"), remote.drop(columns="fit_seconds"))
    assert local.attrs.keys() == remote.attrs.keys()
    for key in local.attrs:
        assert local.attrs[key] == remote.attrs[key], key


@pytest.mark.parametrize("backend", ["xgboost", "lightgbm"])
def test_ablation_on_a_cluster_is_the_in_process_table(client, data, backend):
    X, y, w = data
    losses = ["squared_error", "tweedie(power=1.4)", "huber", "absolute_error"]
    opts = _opts(backend, sample_weight=w, balance=True, early_stopping_rounds=3)
    local = ablate_losses(X, y, losses, **opts)
    remote = ablate_losses(X, y, losses, client=client, **opts)
    assert_same_table(local, remote)
    assert set(remote.attrs["best_iterations"]) == set(remote.loc[remote["kind"] == "model", "config"])


@pytest.mark.parametrize("backend", ["xgboost", "lightgbm"])
def test_tweedie_sweep_with_categories_scatters_the_data_once(client, backend, monkeypatch):
    frame, y = _categorical_frame()
    opts = _opts(backend, refine=2)
    local = sweep_tweedie_power(frame, y, [1.2, 1.5, 1.8], **opts)

    scattered: list[list[object]] = []
    submitted: list[tuple] = []
    scatter, submit = client.scatter, client.submit

    def record_scatter(data, **kw):
        scattered.append(list(data))
        assert kw.get("broadcast") is True
        return scatter(data, **kw)

    def record_submit(fn, *args, **kw):
        submitted.append(args)
        return submit(fn, *args, **kw)

    monkeypatch.setattr(client, "scatter", record_scatter)
    monkeypatch.setattr(client, "submit", record_submit)
    remote = sweep_tweedie_power(frame, y, [1.2, 1.5, 1.8], client=client, **opts)
    assert_same_table(local, remote)
    assert remote.attrs["categorical_features"] == ["site", "kind"]
    assert "likelihood" in remote.attrs and (remote["kind"] == "refined").sum() == 2
    # The features, labels and every fold's rows went out in one broadcast,
    # before the first fit; the refinement's fits reuse them.
    assert len(scattered) == 1
    features = [a for a in scattered[0] if isinstance(a, FeatureMatrix)]
    assert len(features) == 1 and features[0].shape == (N, 3)
    assert sum(isinstance(a, np.ndarray) and a.shape == (N,) for a in scattered[0]) == 1  # the labels
    assert len(submitted) == 3 * (3 + 1 + 2)  # (powers, squared error, refined) x folds

    def holds_data(arg):
        if isinstance(arg, tuple):
            return any(holds_data(a) for a in arg)
        return isinstance(arg, (np.ndarray, FeatureMatrix))

    assert not any(holds_data(a) for args in submitted for a in args)


def test_parameter_sweep_on_a_cluster_is_the_in_process_table(client, data):
    X, y, w = data
    opts = _opts("xgboost", sample_weight=w, groups=np.arange(N) % 40)
    local = sweep_loss_parameter(X, y, "huber(delta_scale='robust')", "delta", [0.5, 1.35, 3.0], **opts)
    remote = sweep_loss_parameter(X, y, "huber(delta_scale='robust')", "delta", [0.5, 1.35, 3.0], client=client,
                                  **opts)
    assert_same_table(local, remote)


def test_fit_folds_on_a_client_yields_in_order(client, data):
    # The path of every caller that reads the fits in order (the power estimate among them).
    X, y, _ = data
    from gbm_objectives import get_loss

    folds = [(np.arange(0, 300), np.arange(300, N)), (np.arange(100, N), np.arange(0, 100))]
    calls = [("xgboost", get_loss("tweedie", power=p), PARAMS["xgboost"], X, y, None, tr, te, 5, 0, None)
             for p in (1.3, 1.7) for tr, te in folds]
    local = list(_fit_folds(calls, 1, _fit_fold_stopped))
    remote = list(_fit_folds(calls, 1, _fit_fold_stopped, client=client))
    assert len(remote) == len(calls)
    for (pred_l, _, kept_l), (pred_r, _, kept_r) in zip(local, remote):
        np.testing.assert_array_equal(pred_l, pred_r)
        assert kept_l is None and kept_r is None


def test_results_arriving_out_of_order_are_put_back_in_order():
    arrivals = [(2, "c"), (0, "a"), (3, "d"), (1, "b"), (4, "e")]
    assert list(_in_order(iter(arrivals))) == ["a", "b", "c", "d", "e"]


def test_gathered_predictions_are_copied_into_aligned_arrays():
    buffer = np.zeros(8 * 100 + 3, dtype=np.uint8)
    unaligned = buffer[3:].view(np.float64)
    unaligned[:] = np.linspace(0.0, 1.0, 100)
    assert not unaligned.flags.aligned
    pred, seconds, kept = _own_arrays((unaligned, 1.5, None))
    assert pred.flags.aligned and pred.flags.owndata and pred.flags.writeable
    np.testing.assert_array_equal(pred, unaligned)
    assert (seconds, kept) == (1.5, None)


def test_worker_processes_give_the_in_process_table():
    # Separate worker processes: the losses, the folds and the data travel
    # pickled; test folds of thousands of rows come back in buffers of their own.
    rng = np.random.default_rng(4)
    X = rng.normal(size=(30000, 3))
    y = np.exp(0.5 * X[:, 0]) * rng.gamma(2.0, 0.5, 30000)
    frame, yc = _categorical_frame(300, seed=8)
    opts = _opts("lightgbm", likelihood=True)
    local = sweep_tweedie_power(frame, yc, [1.2, 1.5, 1.8], **opts)
    local_ablation = ablate_losses(X, y, ["squared_error", "tweedie"], **_opts("xgboost"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                      dashboard_address=None) as cluster, distributed.Client(cluster) as c:
            remote = sweep_tweedie_power(frame, yc, [1.2, 1.5, 1.8], client=c, **opts)
            remote_ablation = ablate_losses(X, y, ["squared_error", "tweedie"], client=c, **_opts("xgboost"))
    assert_same_table(local, remote)
    assert_same_table(local_ablation, remote_ablation)


# ---------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------


def test_client_and_n_jobs_together_are_refused(client, data):
    X, y, _ = data
    with pytest.raises(ValueError, match=r"n_jobs=2 and client= .*leave n_jobs at 1"):
        ablate_losses(X, y, ["squared_error"], n_jobs=2, client=client, **_opts("xgboost"))
    with pytest.raises(ValueError, match=r"n_jobs=-1 and client="):
        sweep_tweedie_power(X, y, [1.5], n_jobs=-1, client=client, **_opts("xgboost"))


@pytest.mark.parametrize("bad", ["tcp://127.0.0.1:8786", object(), 4])
def test_a_client_must_be_a_dask_client(data, bad):
    X, y, _ = data
    with pytest.raises(ValueError, match="client must be a dask.distributed Client"):
        sweep_loss_parameter(X, y, "huber", "delta", [1.0, 2.0], client=bad, **_opts("xgboost"))


def test_a_closed_client_is_refused(data):
    X, y, _ = data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                      dashboard_address=None) as cluster:
            closed = distributed.Client(cluster)
            closed.close()
    with pytest.raises(ValueError, match=r"client is not connected .*status 'closed'"):
        ablate_losses(X, y, ["squared_error"], client=closed, **_opts("xgboost"))


def test_without_the_dask_extra_the_error_names_it(data, monkeypatch):
    X, y, _ = data
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed now raises ImportError
    with pytest.raises(ImportError, match=r"gbm-objectives\[dask\]"):
        ablate_losses(X, y, ["squared_error"], client=object(), **_opts("xgboost"))
    # Without a client nothing imports Dask.
    ablate_losses(X, y, ["squared_error"], **_opts("xgboost"))


@pytest.mark.parametrize("backend", ["xgboost", "lightgbm"])
def test_level_set_panel_on_a_cluster_is_the_in_process_table(client, data, backend):
    X, y, w = data
    losses = ["multi_quantile(alphas=(0.1, 0.5, 0.9))", "multi_expectile(alphas=(0.1, 0.5, 0.9))"]
    if backend == "lightgbm":  # the leaf refit (on by default) reads the raw features on the worker too
        losses.append("multi_quantile(alphas=(0.1, 0.5, 0.9), refit_levels=False)")
    opts = _opts(backend, sample_weight=w)
    local = ablate_losses(X, y, losses, **opts)
    remote = ablate_losses(X, y, losses, client=client, **opts)
    assert_same_table(local, remote)
    assert "reference" in set(remote["kind"])  # the separately fitted quantile models ran there too


@pytest.mark.parametrize("interval", ["mean_model", "profile"])
def test_tweedie_power_estimate_on_a_cluster_is_the_in_process_estimate(client, data, interval):
    from gbm_objectives.tweedie_power import estimate_tweedie_power

    X, y, w = data
    opts = {"powers": (1.2, 1.4, 1.6, 1.8), "num_boost_round": 8, "cv": 3, "random_state": 3, "progress": False,
            "params": {"max_depth": 2}, "sample_weight": w, "interval": interval}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a small table's interval may reach the grid's edge
        local = estimate_tweedie_power(X, y, **opts)
        remote = estimate_tweedie_power(X, y, client=client, **opts)
    assert (remote.power, remote.ci, remote.ci_profile, remote.dispersion) == (
        local.power, local.ci, local.ci_profile, local.dispersion)
    assert remote.mean_model_bias == local.mean_model_bias
    pd.testing.assert_frame_equal(local.table.drop(columns="fit_seconds"), remote.table.drop(columns="fit_seconds"))
    with pytest.raises(ValueError, match="n_jobs=2 and client="):
        estimate_tweedie_power(X, y, client=client, n_jobs=2, **opts)


def test_a_failing_fit_on_a_worker_raises_here(client, data):
    X, y, _ = data
    opts = _opts("xgboost", params={"max_depth": 3, "tree_method": "no_such_method"})
    with pytest.raises(Exception) as local:
        ablate_losses(X, y, ["squared_error"], **opts)
    with pytest.raises(type(local.value), match="no_such_method"):
        ablate_losses(X, y, ["squared_error"], client=client, **opts)
    # The cluster is still usable afterwards.
    assert_same_table(ablate_losses(X, y, ["squared_error"], **_opts("xgboost")),
                      ablate_losses(X, y, ["squared_error"], client=client, **_opts("xgboost")))


# ---------------------------------------------------------------------------
# The benchmark script
# ---------------------------------------------------------------------------


def _bench():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_dask_sweep.py"
    spec = importlib.util.spec_from_file_location("_bench_dask_sweep", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_dask_sweep_benchmark_reports_both_runs_and_the_same_table(capsys):
    _bench().main(["--rows", "600", "--features", "4", "--powers", "3", "--rounds", "3"])
    out = capsys.readouterr().out
    assert "Tables identical (all columns but fit_seconds): yes" in out
    for row in ("| in-process (n_jobs=1) | main |", "| client |", "| worker 1 |", "| worker 2 |"):
        assert row in out
    peaks = [float(line.rsplit("|", 2)[-2].replace(",", "")) for line in out.splitlines() if "| worker" in line]
    assert len(peaks) == 2 and all(p > 0 for p in peaks)


@pytest.mark.parametrize("argv", [["--rows", "5"], ["--folds", "1"], ["--workers", "0"]])
def test_dask_sweep_benchmark_rejects_bad_sizes(argv):
    with pytest.raises(SystemExit):
        _bench().parse_args(argv)
