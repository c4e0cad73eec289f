"""Sweeps of one loss parameter: Tweedie parity, other losses, validation, plot.

Boosters run single-threaded on small data with few rounds and 2-3 folds.
"""

from __future__ import annotations

import numpy as np
import pytest

from gbm_objectives import get_loss
from gbm_objectives.ablation import loss_label, panel_table, seed_table, sweep_loss_parameter, sweep_tweedie_power

FAST = {"cv": 3, "num_boost_round": 10, "progress": False, "params": {"nthread": 1, "max_depth": 3}}


def _zero_inflated(n=300, seed=7):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    mu = np.exp(0.5 * X[:, 0] + 0.3 * X[:, 1])
    y = np.where(rng.random(n) < 0.4, 0.0, rng.gamma(2.0, mu))
    return X, y


# Recorded from sweep_tweedie_power before it became sweep_loss_parameter's Tweedie
# case (identical on the Python 3.11 and 3.12 stacks): _zero_inflated(), powers
# (1.2, 1.5, 1.8), FAST, random_state=3, refine=2.
RECORDED_CONFIGS = ["constant median", "tweedie(power=1.8)", "tweedie(power=1.5)", "tweedie(power=1.6854)",
                    "tweedie(power=1.6146)", "tweedie(power=1.2)", "squared_error", "constant mean"]
RECORDED = {
    "mae": [1.196117544824319, 1.2084436061152048, 1.2119807641791613, 1.2137448203366255, 1.2138443824075171,
            1.2211948818411258, 1.2285679146651525, 1.301768102825113],
    "rmse": [1.9230507777035821, 1.7173057281079653, 1.7051006661257686, 1.7204619944099537, 1.7153639941353116,
             1.6997813524819174, 1.6909544370419374, 1.7791924221605793],
    "tweedie_deviance": [3.61959440136266, 2.493276656195867, 2.444424772932497, 2.4873125142098207,
                         2.471839347737957, 2.442168664887038, 2.430254009229746, 2.6145574352608363],
    "gini": [0.0, 0.32223430964582317, 0.35450664526725495, 0.32791863639377683, 0.3444509264851296,
             0.36380651166401456, 0.393131152276414, 0.0],
}


@pytest.fixture(scope="module")
def data():
    return _zero_inflated()


def test_tweedie_sweep_reproduces_the_recorded_table(data):
    X, y = data
    df = sweep_tweedie_power(X, y, [1.2, 1.5, 1.8], random_state=3, refine=2, **FAST)
    assert df["config"].tolist() == RECORDED_CONFIGS
    for metric, values in RECORDED.items():
        np.testing.assert_allclose(df[metric].to_numpy(), values, rtol=1e-9, atol=1e-12, err_msg=metric)
    assert df.loc[df["kind"] == "refined", "value"].tolist() == [1.6854, 1.6146]


def test_generic_sweep_of_the_tweedie_power_equals_sweep_tweedie_power(data):
    X, y = data
    a = sweep_tweedie_power(X, y, [1.2, 1.5, 1.8], random_state=3, **FAST)
    b = sweep_loss_parameter(X, y, "tweedie", "power", [1.8, 1.2, 1.5], metric="mae", random_state=3, **FAST)
    cols = ["config", "kind", "value", "mae", "rmse", "tweedie_deviance", "gini", "wins_vs_reference"]
    assert a[cols].equals(b[cols])


def test_huber_delta_sweep_table_panel_and_plot(data, tmp_path):
    X, y = data
    df = sweep_loss_parameter(X, y, "huber", "delta", [0.5, 1.35, 3], refine=2, **FAST)
    assert df.attrs["loss"] == "huber" and df.attrs["parameter"] == "delta"
    models = df[df["kind"] == "model"]
    assert sorted(models["value"].dropna()) == [0.5, 1.35, 3.0]
    assert set(models["config"]) == {"huber(delta=0.5)", "huber(delta=1.35)", "huber(delta=3)", "squared_error"}
    refined = df[df["kind"] == "refined"]
    assert len(refined) == 2 and refined["value"].between(0.5, 3.0).all()
    assert df.attrs["reference"] == "squared_error"
    assert df.loc[df["config"] == "squared_error", "value"].isna().all()
    assert {"constant mean", "constant median"} <= set(df["config"])
    assert df["mae"].is_monotonic_increasing and np.isfinite(df["mae"]).all()
    assert len(seed_table(df)) == len(df) and len(panel_table(df)) == len(df)

    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    from gbm_objectives.plotting import plot_parameter_sweep

    ax = plot_parameter_sweep(df)
    xs = np.concatenate([np.asarray(line.get_xdata(), dtype=float) for line in ax.get_lines()])
    assert {0.5, 1.35, 3.0} <= set(np.round(xs, 6))
    assert ax.get_xlabel() == "huber delta" and ax.get_ylabel().startswith("MAE")
    ax.figure.savefig(tmp_path / "delta.png")


def test_fixed_parameters_stay_and_focal_gamma_sweeps():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(240, 3))
    y = (X[:, 0] + rng.normal(size=240) > 1.0).astype(float)
    df = sweep_loss_parameter(X, y, get_loss("focal", gamma=2.0, alpha=0.25), "gamma", [0.0, 2.0],
                              random_state=1, **FAST)
    assert df.attrs["metric"] == "log_loss" and df.attrs["reference"] == "logistic"
    labels = set(df.loc[df["kind"] == "model", "config"])
    assert labels == {loss_label(get_loss("focal", gamma=g, alpha=0.25)) for g in (0.0, 2.0)} | {"logistic"}


@pytest.mark.parametrize("loss, parameter, values, match", [
    ("huber", "gamma", [1.0], "loss 'huber' has no parameter 'gamma'"),
    ("huber", "curvature", [1.0], "parameter 'curvature' of loss 'huber' is not numeric"),
    ("huber", "delta", ["big"], "values of parameter 'delta' of loss 'huber' must be finite numbers"),
    ("huber", "delta", [1.0, np.nan], "values of parameter 'delta' of loss 'huber' must be finite numbers"),
    ("huber", "delta", 1.0, "values of parameter 'delta' of loss 'huber' must be a sequence"),
    ("huber", "delta", [], "values of parameter 'delta' of loss 'huber' is empty"),
    ("huber", "delta", [1.0, 1.0], "has duplicates"),
    ("huber", "delta", [1.0, -1.0], "not a valid value of parameter 'delta' of loss 'huber'"),
    ("tweedie", "power", [1.5, 2.5], "not a valid value of parameter 'power' of loss 'tweedie'"),
    ("focal", "gamma", [-1.0], "not a valid value of parameter 'gamma' of loss 'focal'"),
    ("quantile(alpha=0.9)", "alpha", [0.5, 0.9], "parameter 'alpha' of loss 'quantile' sets what the model"),
    ("no_such_loss", "delta", [1.0], "no_such_loss"),
])
def test_bad_sweeps_name_the_parameter_and_the_loss(data, loss, parameter, values, match):
    X, y = data
    with pytest.raises(ValueError, match=match):
        sweep_loss_parameter(X, y, loss, parameter, values, **FAST)


def test_grouped_losses_and_bad_refine_are_refused(data):
    X, y = data
    with pytest.raises(ValueError, match="grouped"):
        sweep_loss_parameter(X, y, "infonce", "temperature", [0.05, 0.1], **FAST)
    with pytest.raises(ValueError, match="at least two values of 'delta'"):
        sweep_loss_parameter(X, y, "huber", "delta", [1.0], refine=1, **FAST)
