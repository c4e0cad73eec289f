"""Sweeps of one loss parameter: Tweedie parity, other losses, validation, plot.

Boosters run single-threaded on small data with few rounds and 2-3 folds.
"""

from __future__ import annotations

import numpy as np
import pytest

from gbm_objectives import get_loss
from gbm_objectives.ablation import (
    loss_label,
    panel_table,
    ranking_table,
    sweep_loss_parameter,
    sweep_tweedie_power,
)

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
    assert len(ranking_table(df)) == len(df) and len(panel_table(df)) == len(df)

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
    logistic = loss_label(get_loss("logistic"))
    assert df.attrs["metric"] == "log_loss" and df.attrs["reference"] == logistic
    labels = set(df.loc[df["kind"] == "model", "config"])
    assert labels == {loss_label(get_loss("focal", gamma=g, alpha=0.25)) for g in (0.0, 2.0)} | {logistic}


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
    ("expectile", "alpha", [0.5, 0.9], "parameter 'alpha' of loss 'expectile' sets what the model"),
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


# ---------------------------------------------------------------------------
# Scale-free Huber delta
# ---------------------------------------------------------------------------


def _huber_reference(y, m, delta):
    r = m - y
    return np.where(np.abs(r) <= delta, r, delta * np.sign(r)), np.ones_like(r)


def test_huber_robust_delta_is_the_residual_mad_and_gradients_are_exact_for_it():
    rng = np.random.default_rng(3)
    y = rng.standard_t(2, size=501) * 40.0
    m = rng.normal(size=501)
    loss = get_loss("huber", delta=1.35, delta_scale="robust")
    r = m - y
    scale = 1.4826 * np.median(np.abs(r - np.median(r)))
    g, h = loss.grad_hess(y, m)
    g_ref, h_ref = _huber_reference(y, m, 1.35 * scale)
    np.testing.assert_allclose(g, g_ref, rtol=1e-6)
    np.testing.assert_allclose(h, h_ref)
    # ... and equal to plain Huber at that delta, whose loss it also reports.
    plain = get_loss("huber", delta=1.35 * scale)
    np.testing.assert_allclose(loss.loss(y, m), plain.loss(y, m), rtol=1e-6)


def test_huber_robust_delta_is_scale_free_and_ignores_zero_weight_rows():
    rng = np.random.default_rng(4)
    y = rng.standard_t(2, size=300)
    m = rng.normal(size=300)
    loss = get_loss("huber", delta=1.35, delta_scale="robust")
    g1, h1 = loss.grad_hess(y, m)
    g2, h2 = loss.grad_hess(1000.0 * y, 1000.0 * m)
    np.testing.assert_allclose(g2, 1000.0 * g1, rtol=1e-6)
    np.testing.assert_allclose(h2, h1)
    # The plain delta is in y's units: at 1000 x scale nearly every row is in the linear region.
    g3, _ = get_loss("huber", delta=1.35).grad_hess(1000.0 * y, 1000.0 * m)
    assert np.mean(np.abs(g3) == 1.35) > 0.9 > np.mean(np.abs(g1) == np.abs(g1).max())
    # Rows of zero weight do not move the scale.
    w = np.ones(300)
    y_out = y.copy()
    y_out[:40] = 1e6
    w[:40] = 0.0
    gw, _ = loss.grad_hess(y_out, m, sample_weight=w)
    np.testing.assert_allclose(gw[40:], loss.grad_hess(y[40:], m[40:], sample_weight=w[40:])[0], rtol=1e-6)


def test_huber_delta_scale_validation_and_label_round_trip():
    from gbm_objectives.ablation import parse_loss

    loss = get_loss("huber", delta=2.0, delta_scale="robust")
    assert loss_label(loss) == "huber(delta=2, delta_scale='robust')"
    assert parse_loss(loss_label(loss)) == loss
    assert loss_label(get_loss("huber")) == "huber(delta=1.35)"
    with pytest.raises(ValueError, match="delta_scale must be None or 'robust'"):
        get_loss("huber", delta_scale="mad")


def test_huber_robust_delta_on_equal_residuals_falls_back():
    loss = get_loss("huber", delta=1.35, delta_scale="robust")
    y = np.zeros(10)
    # All residuals equal 500: the scale is |median r|, so the step is quadratic (g = r).
    g, _ = loss.grad_hess(y, np.full(10, 500.0))
    np.testing.assert_allclose(g, 500.0)
    # A perfect fit: zero gradients, finite.
    g, h = loss.grad_hess(y, y)
    assert np.all(g == 0.0) and np.all(h == 1.0)


@pytest.mark.parametrize("backend, params", [("xgboost", {"nthread": 1}), ("lightgbm", {"num_threads": 1})])
def test_scale_free_huber_does_not_collapse_to_the_median_on_costs(backend, params):
    from gbm_objectives.ablation import ablate_losses
    from gbm_objectives.datasets import make_tracker_costs

    X, y = make_tracker_costs(1000, random_state=11)
    df = ablate_losses(X, y, ["huber(delta=1.35)", "huber(delta=1.35, delta_scale='robust')"], cv=2,
                       num_boost_round=60, progress=False, params=params, backend=backend).set_index("config")
    median = df.loc["constant median"]
    plain = df.loc["huber(delta=1.35)"]
    free = df.loc["huber(delta=1.35, delta_scale='robust')"]
    # Costs in the thousands: delta 1.35 in y's units is a median regression that barely moves.
    assert plain["mae"] > 0.99 * median["mae"] and plain["rmse"] > 0.99 * median["rmse"]
    # In residual SDs it learns: clearly better than the constant median on both yardsticks.
    assert free["mae"] < 0.97 * median["mae"] and free["rmse"] < 0.99 * median["rmse"]
    assert free["gini"] > plain["gini"]


def test_recommend_scale_free_huber_for_heavy_tails_with_negative_values():
    from gbm_objectives.ablation import recommend_losses

    rng = np.random.default_rng(0)
    y = rng.standard_t(2, size=3000) * 1000.0 + 500.0 * rng.lognormal(0.0, 1.5, 3000)
    assert y.min() < 0.0
    advice = {a.spec: a.reason for a in recommend_losses(y)}
    spec = "huber(delta=1.35, delta_scale='robust')"
    assert spec in advice
    assert "negative values" in advice[spec] and "scale-free" in advice[spec]


# ---------------------------------------------------------------------------
# The likelihood choice in the Tweedie sweep's report
# ---------------------------------------------------------------------------

POWERS = [1.2, 1.4, 1.6, 1.8]


@pytest.fixture(scope="module")
def likelihood_sweep(data):
    X, y = data
    return sweep_tweedie_power(X, y, POWERS, random_state=3, **FAST)


def test_sweep_likelihood_equals_estimate_tweedie_power_without_refitting(data, likelihood_sweep):
    from gbm_objectives.tweedie_power import estimate_tweedie_power

    X, y = data
    est = estimate_tweedie_power(X, y, powers=POWERS, random_state=3, **FAST)
    df = likelihood_sweep
    tw = df[df["loss"] == "tweedie"].sort_values("power")
    np.testing.assert_allclose(tw["log_likelihood"], est.table["log_likelihood"], rtol=1e-12)
    np.testing.assert_allclose(tw["dispersion"], est.table["dispersion"], rtol=1e-12)
    # Equal folds (300 rows, 3 folds): the mean of fold MAEs is the pooled out-of-fold MAE, so the
    # sweep's predictions are the estimator's.
    np.testing.assert_allclose(tw["mae"], est.table["mae"], rtol=1e-12)
    lik = df.attrs["likelihood"]
    assert lik["power"] == pytest.approx(est.power, rel=1e-12)
    np.testing.assert_allclose(lik["ci"], est.ci_profile, rtol=1e-12)
    assert lik["dispersion"] == pytest.approx(est.dispersion, rel=1e-12)
    assert lik["n_scored"] == est.n_scored == len(y)
    assert df.loc[df["loss"] != "tweedie", ["log_likelihood", "dispersion"]].isna().all().all()


def test_choice_table_shows_likelihood_mae_and_deviance_choices_with_baselines(likelihood_sweep):
    from gbm_objectives.ablation import choice_table

    df = likelihood_sweep
    table = choice_table(df)
    choices = table.set_index("Choice")
    lik = df.attrs["likelihood"]
    assert choices.loc["likelihood (profile, out-of-fold)", "Power"] == f"{lik['power']:.3f}"
    tw = df[(df["loss"] == "tweedie")]
    best_mae = tw.loc[tw["mae"].idxmin()]
    assert choices.loc["lowest MAE", "Configuration"] == best_mae["config"]
    best_dev = tw.loc[tw["tweedie_deviance"].idxmin()]
    assert choices.loc["lowest Tweedie dev (p=1.5)", "Configuration"] == best_dev["config"]
    assert table["Configuration"].tolist()[-3:] == ["squared_error", "constant mean", "constant median"]
    assert choices.loc["reference", "Configuration"] == "squared_error"
    assert list(table.columns) == ["Choice", "Power", "95% interval", "Configuration", "MAE",
                                   "Tweedie dev (p=1.5)", "Calibration"]
    assert table["Calibration"].str.match(r"^\d+\.\d{3} ± \d+\.\d{3}$").all()


def test_sweep_likelihood_option(data):
    from gbm_objectives.ablation import ablate_losses, choice_table

    X, y = data
    off = sweep_tweedie_power(X, y, POWERS, random_state=3, likelihood=False, **FAST)
    assert "log_likelihood" not in off.columns and "likelihood" not in off.attrs
    assert "likelihood (profile, out-of-fold)" not in set(choice_table(off)["Choice"])
    # Too few powers inside (1, 2): skipped by default, refused when asked for.
    few = sweep_tweedie_power(X, y, [1.0, 1.5, 1.9], random_state=3, **FAST)
    assert "likelihood" not in few.attrs
    with pytest.raises(ValueError, match=r"at least 3 powers in \(1, 2\)"):
        sweep_tweedie_power(X, y, [1.0, 1.5, 1.9], likelihood=True, **FAST)
    with pytest.raises(ValueError, match="at least 2 positive labels"):
        sweep_tweedie_power(X, np.where(np.arange(len(y)) == 0, 1.0, 0.0), POWERS, likelihood=True, **FAST)
    with pytest.raises(ValueError, match="likelihood must be True, False or None"):
        sweep_tweedie_power(X, y, POWERS, likelihood="yes", **FAST)
    with pytest.raises(ValueError, match="needs a result of sweep_tweedie_power"):
        choice_table(ablate_losses(X, y, ["squared_error"], **FAST))


def test_power_sweep_plot_marks_the_likelihood_choice(likelihood_sweep, tmp_path):
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    from gbm_objectives.plotting import plot_power_sweep

    ax = plot_power_sweep(likelihood_sweep)
    labels = [h.get_label() for h in ax.get_legend().legend_handles]
    assert any(label.startswith("likelihood power") for label in labels)
    ax.figure.savefig(tmp_path / "power.png")
