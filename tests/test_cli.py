"""The gbm-objectives command line: outputs on disk, and one-line errors with exit status 2."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from gbm_objectives.cli import main
from gbm_objectives.datasets import make_tracker_costs

FAST = ["--cv", "2", "--rounds", "5", "--quiet"]


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    X, y = make_tracker_costs(300, random_state=5)
    df = X.iloc[:, 30:50].copy()
    df["site_kind"] = np.where(X["content_script"] == 1, "script", "other")
    df["cost"] = y
    df["exposure"] = np.linspace(0.5, 1.5, len(df))
    df["domain"] = np.arange(len(df)) // 10
    root = tmp_path_factory.mktemp("data")
    path = root / "costs.csv"
    df.to_csv(path, index=False)
    return df, path, root


def _one_line_error(capsys, rc):
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert rc == 2
    assert len(lines) == 1, err
    assert lines[0].startswith("gbm-objectives: error: ")
    assert "Traceback" not in err
    return lines[0]


def test_sweep_writes_csv_markdown_png(table, tmp_path, capsys):
    _, path, _ = table
    out = tmp_path / "report"
    rc = main(["sweep-tweedie", str(path), "--target", "cost", "--weight", "exposure", "--group", "domain",
               "--powers", "1.3,1.7", "--balance", "--out", str(out), *FAST])
    assert rc == 0
    stdout = capsys.readouterr().out
    assert "Relative to best" in stdout and "squared_error" in stdout and "constant median" in stdout
    csv = pd.read_csv(out / "tweedie_sweep.csv")
    assert set(csv["config"]) == {"tweedie(power=1.3)", "tweedie(power=1.7)", "squared_error",
                                  "tweedie(power=1.3) balanced", "tweedie(power=1.7) balanced",
                                  "constant mean", "constant median"}
    assert {"mae", "rmse", "tweedie_deviance", "poisson_deviance", "gini", "calibration",
            "wins_vs_reference", "n_floored", "fit_seconds"} <= set(csv.columns)
    assert csv["mae"].is_monotonic_increasing
    md = (out / "tweedie_sweep.md").read_text()
    assert md.startswith("# Tweedie power sweep")
    assert "| Configuration | MAE | Relative to best |" in md
    assert (out / "tweedie_sweep.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "The power each criterion picks" in stdout and "## The power each criterion picks" in md


def test_sweep_report_shows_the_likelihood_choice_beside_mae(table, tmp_path, capsys):
    _, path, _ = table
    rc = main(["sweep-tweedie", str(path), "--target", "cost", "--powers", "1.2,1.5,1.8", *FAST])
    assert rc == 0
    stdout = capsys.readouterr().out
    picks = stdout.split("The power each criterion picks", 1)[1]
    assert "likelihood" in picks.lower() and "mae" in picks.lower()


def test_ablate_on_builtin_data_with_losses(tmp_path, capsys):
    rc = main(["ablate", "--builtin", "tracker", "--n-samples", "300", "--backend", "lightgbm",
               "--losses", "squared_error,tweedie(power=1.5)", "quantile(alpha=0.5)", "--out", str(tmp_path), *FAST])
    assert rc == 0
    csv = pd.read_csv(tmp_path / "ablation.csv")
    assert {"squared_error", "tweedie(power=1.5)", "quantile(alpha=0.5)"} <= set(csv["config"])
    assert (tmp_path / "ablation.md").exists() and (tmp_path / "ablation.png").exists()
    assert "built-in tracker costs" in capsys.readouterr().out


MQ = "multi_quantile(alphas=(0.05, 0.5, 0.95))"


def test_ablate_scores_level_set_losses_on_an_interval_panel(table, tmp_path, capsys):
    _, path, _ = table
    rc = main(["ablate", str(path), "--target", "cost", "--losses", "squared_error", MQ, "--metric", "pinball",
               "--backend", "lightgbm", "--out", str(tmp_path), *FAST])
    assert rc == 0
    stdout = capsys.readouterr().out
    assert "Prediction intervals: levels 0.05, 0.5, 0.95, same folds, ranked by pinball" in stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "ablation.csv", "ablation.intervals.csv", "ablation.intervals.png", "ablation.md", "ablation.png"]
    points = pd.read_csv(tmp_path / "ablation.csv")
    assert set(points["config"]) == {"squared_error", "constant mean", "constant median"}
    assert points["mae"].is_monotonic_increasing  # --metric ranks the panel it belongs to
    panel = pd.read_csv(tmp_path / "ablation.intervals.csv")
    assert set(panel["config"]) == {"multi_quantile", "separate quantiles", "constant quantiles"}
    assert panel["pinball"].is_monotonic_increasing
    assert panel.set_index("config").loc["multi_quantile", "crossing_rate"] == 0.0
    assert {"coverage", "mean_width", "interval_score", "pinball_0.05", "pinball_0.5", "pinball_0.95"} <= set(
        panel.columns)
    md = (tmp_path / "ablation.md").read_text()
    assert "## All yardsticks" in md and "## Prediction intervals" in md
    assert "| Configuration | Interval score (90%) | Coverage (nominal 90%) | Mean width |" in md


def test_an_interval_report_replaces_a_point_report_whole(table, tmp_path, capsys):
    _, path, _ = table
    base = ["ablate", str(path), "--target", "cost", "--backend", "lightgbm", "--out", str(tmp_path), *FAST]
    assert main([*base, "--losses", "squared_error"]) == 0
    capsys.readouterr()
    assert main([*base, "--losses", MQ]) == 0
    out, err = capsys.readouterr()
    assert "removed ablation.csv, ablation.png (not written this time)" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ablation.intervals.csv", "ablation.intervals.png",
                                                           "ablation.md"]
    md = (tmp_path / "ablation.md").read_text()
    assert "ranked by interval_score" in md and "## All yardsticks" not in md and "## Prediction intervals" in md
    assert "All yardsticks" not in out


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def drawn(monkeypatch):
    """The Axes each plot of the report drew, by plotting function (the figures are closed once saved)."""
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    import gbm_objectives.plotting as plotting

    record: dict[str, list] = {}

    def recorded(name, draw):
        def recording(*args, **kwargs):
            record.setdefault(name, []).append(draw(*args, **kwargs))
            return record[name][-1]
        return recording

    for name in ("plot_ablation", "plot_interval_ablation"):
        monkeypatch.setattr(plotting, name, recorded(name, getattr(plotting, name)))
    return record


def _assert_png(path):
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE and len(data) > 1000
    # Width and height from the IHDR chunk: a real image, not an empty canvas.
    assert int.from_bytes(data[16:20], "big") > 100 and int.from_bytes(data[20:24], "big") > 100


def _assert_interval_plot(axes, panel, metric):
    """One coverage point and one width and one score bar per row of the interval table, in its order."""
    from matplotlib.collections import PathCollection

    (points,) = [c for c in axes[0].collections if isinstance(c, PathCollection)]
    np.testing.assert_allclose(np.asarray(points.get_offsets())[:, 0], panel["coverage"])
    np.testing.assert_allclose([p.get_width() for p in axes[1].patches], panel["mean_width"])
    np.testing.assert_allclose([p.get_width() for p in axes[2].patches], panel[metric])
    assert [t.get_text() for t in axes[0].get_yticklabels()] == list(panel["config"])


@pytest.mark.parametrize("losses", [[MQ], [MQ, "multi_expectile(alphas=(0.05, 0.5, 0.95))"]], ids=["one", "two"])
def test_a_level_set_panel_writes_its_plot(table, tmp_path, capsys, drawn, losses):
    _, path, _ = table
    rc = main(["ablate", str(path), "--target", "cost", "--losses", *losses, "--backend", "lightgbm",
               "--out", str(tmp_path), *FAST])
    assert rc == 0
    assert "ablation.intervals.png" in capsys.readouterr().out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ablation.intervals.csv", "ablation.intervals.png",
                                                          "ablation.md"]
    _assert_png(tmp_path / "ablation.intervals.png")
    panel = pd.read_csv(tmp_path / "ablation.intervals.csv")
    assert len(panel) == 3 * len(losses)  # the level sets, their references and baselines
    (axes,) = drawn["plot_interval_ablation"]
    _assert_interval_plot(axes, panel, "interval_score")
    assert "plot_ablation" not in drawn


def test_a_mixed_panel_writes_both_plots(table, tmp_path, capsys, drawn):
    _, path, _ = table
    rc = main(["ablate", str(path), "--target", "cost", "--losses", "squared_error", "huber", MQ, "--metric", "pinball",
               "--backend", "lightgbm", "--out", str(tmp_path), *FAST])
    assert rc == 0
    capsys.readouterr()
    _assert_png(tmp_path / "ablation.png")
    _assert_png(tmp_path / "ablation.intervals.png")
    points = pd.read_csv(tmp_path / "ablation.csv")
    (bars,) = drawn["plot_ablation"]
    np.testing.assert_allclose([p.get_width() for p in bars.patches], points["mae"])
    panel = pd.read_csv(tmp_path / "ablation.intervals.csv")
    (axes,) = drawn["plot_interval_ablation"]
    _assert_interval_plot(axes, panel, "pinball")  # --metric ranks the interval panel, and its plot shows it
    assert len(points) == 4 and len(panel) == 3


def test_no_matplotlib_is_a_note_for_a_level_set_panel_too(table, tmp_path, capsys, monkeypatch):
    _, path, _ = table
    import gbm_objectives.plotting as plotting

    def no_matplotlib():
        raise ImportError("plotting needs matplotlib")

    monkeypatch.setattr(plotting, "_pyplot", no_matplotlib)
    rc = main(["ablate", str(path), "--target", "cost", "--losses", MQ, "--backend", "lightgbm",
               "--out", str(tmp_path), *FAST])
    assert rc == 0
    assert "gbm-objectives: note: no PNG written: plotting needs matplotlib" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ablation.intervals.csv", "ablation.md"]


def test_ablate_without_losses_uses_recommendations(table, capsys):
    _, path, _ = table
    rc = main(["ablate", str(path), "--target", "cost", "--drop", "domain", "exposure", "--no-baselines", *FAST])
    assert rc == 0
    out = capsys.readouterr().out
    assert "candidates from recommend_losses" in out
    assert "tweedie(power=1.5)" in out
    assert "constant mean" not in out


def test_parquet_and_recommend(table, capsys):
    pytest.importorskip("pyarrow")
    df, _, root = table
    path = root / "costs.parquet"
    df.to_parquet(path)
    rc = main(["recommend", str(path), "--target", "cost"])
    assert rc == 0
    out = capsys.readouterr().out
    assert "zeros" in out and "tweedie(power=1.5)\t" in out


@pytest.mark.parametrize(
    "mutate, args, expect",
    [
        (None, ["--target", "nope"], "target column 'nope' not found"),
        (lambda d: d.assign(cost="x"), ["--target", "cost"], "not numeric"),
        (lambda d: d.assign(cost=d["cost"].where(d.index != 3)), ["--target", "cost"], "missing value"),
        (lambda d: d.assign(cost=d["cost"] - 1.0), ["--target", "cost", "--losses", "tweedie(power=1.5)"],
         "y >= 0"),
        (lambda d: d.assign(cost=d["cost"] - 1.0), ["--target", "cost", "--losses", "poisson"], "y >= 0"),
        (lambda d: d.iloc[:3], ["--target", "cost", "--cv", "5"], "at least 5 rows"),
        (None, ["--target", "cost", "--weight", "nope"], "weight column 'nope'"),
        (None, ["--target", "cost", "--losses", "nope"], "unknown loss"),
        (None, ["--target", "cost", "--params", "{bad"], "--params"),
        (None, ["--target", "cost", "--cv", "1"], "cv"),
        (None, ["--target", "cost", "--backend", "catboost"], "invalid choice"),
        (None, [], "--target is required"),
        (None, ["--target", "cost", "--losses", "multi_quantile", "--metric", "mae"],
         "metric for level-set losses (the interval panel) must be one of 'interval_score', 'pinball'"),
        (None, ["--target", "cost", "--losses", "multi_quantile", "multi_expectile(alphas=(0.1, 0.9))"],
         "must share their levels"),
    ],
)
def test_errors_are_one_line(table, tmp_path, capsys, mutate, args, expect):
    df, path, _ = table
    if mutate is not None:
        path = tmp_path / "bad.csv"
        mutate(df).to_csv(path, index=False)
    rc = main(["ablate", str(path), *args, "--quiet"])
    assert expect in _one_line_error(capsys, rc)


def test_missing_file_and_bad_invocations(tmp_path, capsys):
    assert "file not found" in _one_line_error(capsys, main(["ablate", str(tmp_path / "no.csv"), "--target", "y"]))
    assert "--builtin" in _one_line_error(capsys, main(["sweep-tweedie", "--target", "y"]))
    assert "not both" in _one_line_error(capsys, main(["ablate", "x.csv", "--builtin", "tracker"]))
    assert "--powers" in _one_line_error(
        capsys, main(["sweep-tweedie", "--builtin", "tracker", "--powers", "1.2,abc"]))
    assert "power" in _one_line_error(
        capsys, main(["sweep-tweedie", "--builtin", "tracker", "--powers", "1.2,2.4", "--quiet"]))
    assert "unrecognized" in _one_line_error(capsys, main(["ablate", "--frobnicate"]))


def test_console_entry_exit_status(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "gbm_objectives.cli", "ablate", str(tmp_path / "no.csv"),
                           "--target", "y"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.strip() == f"gbm-objectives: error: file not found: {tmp_path / 'no.csv'}"


# ---------------------------------------------------------------------------
# Booster errors, --out checked before any fit, atomic and announced reports
# ---------------------------------------------------------------------------


def _run_cli(*args, cwd=None):
    """The command in a fresh process, as a user runs it (native stderr included)."""
    import os

    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    return subprocess.run([sys.executable, "-m", "gbm_objectives.cli", *map(str, args)], capture_output=True,
                          text=True, timeout=300, env=env, cwd=cwd)


def _assert_one_line(proc, expect):
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2, proc.stderr
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("gbm-objectives: error: ") and expect in lines[0]


@pytest.mark.parametrize("backend, params, expect", [
    ("lightgbm", '{"num_leaves": "x"}', "LightGBM: Parameter num_leaves"),
    ("xgboost", '{"max_depth": "x"}', "XGBoost: Invalid Parameter format for max_depth"),
])
def test_booster_parameter_errors_are_one_line(table, backend, params, expect):
    _, path, _ = table
    proc = _run_cli("ablate", path, "--target", "cost", "--backend", backend, "--params", params,
                    "--losses", "squared_error", *FAST)
    _assert_one_line(proc, expect)
    assert "[Fatal]" not in proc.stderr and "Traceback" not in proc.stderr


@pytest.fixture
def no_fit(monkeypatch):
    """Fails the test if the command starts fitting models."""
    import gbm_objectives.ablation as ablation

    def refuse(*args, **kwargs):
        raise AssertionError("a fit started before --out was checked")

    monkeypatch.setattr(ablation, "ablate_losses", refuse)
    monkeypatch.setattr(ablation, "sweep_tweedie_power", refuse)


@pytest.mark.parametrize("command", ["ablate", "sweep-tweedie"])
def test_out_is_checked_before_any_fit(table, tmp_path, capsys, no_fit, command):
    _, path, _ = table
    name = "ablation" if command == "ablate" else "tweedie_sweep"
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    taken = tmp_path / "taken"
    (taken / f"{name}.md").mkdir(parents=True)
    cases = [
        (a_file / "report", "not a directory"),
        (a_file, "is a file, not a directory"),
        (taken, f"{name}.md is a directory"),
    ]
    for out, expect in cases:
        rc = main([command, str(path), "--target", "cost", "--out", str(out), *FAST])
        assert expect in _one_line_error(capsys, rc)
    assert not (taken / f"{name}.csv").exists()


@pytest.mark.skipif(not hasattr(__import__("os"), "geteuid") or __import__("os").geteuid() == 0,
                    reason="permission bits do not stop root")
def test_out_under_a_read_only_directory(table, tmp_path, capsys, no_fit):
    _, path, _ = table
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        rc = main(["ablate", str(path), "--target", "cost", "--out", str(locked / "report"), *FAST])
        assert "cannot write to" in _one_line_error(capsys, rc)
    finally:
        locked.chmod(0o755)


def test_out_where_files_cannot_be_created(table, tmp_path, capsys, no_fit, monkeypatch):
    """What a read-only directory does for a user who is not root (root writes anyway)."""
    import os
    import tempfile

    def denied(*args, **kwargs):
        raise PermissionError(13, os.strerror(13))

    monkeypatch.setattr(tempfile, "mkstemp", denied)
    _, path, _ = table
    rc = main(["sweep-tweedie", str(path), "--target", "cost", "--out", str(tmp_path / "report"), *FAST])
    assert "cannot write to" in _one_line_error(capsys, rc)
    assert not (tmp_path / "report").exists()


def test_any_booster_error_is_one_line(table, tmp_path, capsys, monkeypatch):
    """Whatever a booster raises (here LightGBM's tiny-data failure) ends in one line, exit 2."""
    import lightgbm

    import gbm_objectives.ablation as ablation

    def fail(*args, **kwargs):
        raise lightgbm.basic.LightGBMError("Check failed: (train_data->num_features()) > (0) at gbdt.cpp, line 1 .\n")

    monkeypatch.setattr(ablation, "ablate_losses", fail)
    _, path, _ = table
    rc = main(["ablate", str(path), "--target", "cost", "--backend", "lightgbm", "--losses", "poisson", *FAST])
    assert "LightGBM: Check failed" in _one_line_error(capsys, rc)


def test_constant_features_never_print_a_traceback(table, tmp_path):
    df, _, _ = table
    path = tmp_path / "constant.csv"
    pd.DataFrame({"cost": df["cost"], "a": 1.0, "b": 0.0}).to_csv(path, index=False)
    proc = _run_cli("ablate", path, "--target", "cost", "--backend", "lightgbm", "--losses", "tweedie(power=1.5)",
                    *FAST)
    assert "Traceback" not in proc.stderr and "[Fatal]" not in proc.stderr
    if proc.returncode != 0:
        _assert_one_line(proc, "")


def test_replacing_a_report_is_announced_and_leaves_no_temporary_files(table, tmp_path, capsys):
    _, path, _ = table
    out = tmp_path / "report"
    args = ["ablate", str(path), "--target", "cost", "--losses", "squared_error", "--out", str(out), *FAST]
    assert main(args) == 0
    first = capsys.readouterr()
    assert "replaced" not in first.err
    names = sorted(p.name for p in out.iterdir())
    assert names == ["ablation.csv", "ablation.md", "ablation.png"]
    # Written like any other new file (the umask decides), not with a temporary file's 0600.
    reference = tmp_path / "reference"
    reference.write_text("x")
    assert (out / "ablation.csv").stat().st_mode == reference.stat().st_mode

    assert main(args) == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0] == f"gbm-objectives: note: earlier report in {out}: replaced ablation.csv, ablation.md, ablation.png"
    assert sorted(p.name for p in out.iterdir()) == names


def test_interrupted_report_leaves_the_earlier_one_whole(table, tmp_path, capsys, monkeypatch):
    _, path, _ = table
    out = tmp_path / "report"
    args = ["ablate", str(path), "--target", "cost", "--losses", "squared_error", "--out", str(out), *FAST]
    assert main(args) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    capsys.readouterr()

    import gbm_objectives.ablation as ablation

    def interrupted(table):
        raise KeyboardInterrupt

    # The CSV is written first; Ctrl-C arrives while the Markdown is written.
    monkeypatch.setattr(ablation, "to_markdown", interrupted)
    assert main([*args[:-len(FAST)], "--rounds", "4", "--cv", "2", "--quiet"]) == 130
    assert "interrupted" in capsys.readouterr().err
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_stale_png_of_an_earlier_report_is_removed(table, tmp_path, capsys, monkeypatch):
    _, path, _ = table
    out = tmp_path / "report"
    args = ["ablate", str(path), "--target", "cost", "--losses", "squared_error", "--out", str(out), *FAST]
    assert main(args) == 0
    capsys.readouterr()
    import gbm_objectives.plotting as plotting

    def no_matplotlib():
        raise ImportError("plotting needs matplotlib")

    monkeypatch.setattr(plotting, "_pyplot", no_matplotlib)
    assert main(args) == 0
    err = capsys.readouterr().err
    assert "replaced ablation.csv, ablation.md; removed ablation.png (not written this time)" in err
    assert sorted(p.name for p in out.iterdir()) == ["ablation.csv", "ablation.md"]


def test_a_missing_booster_is_one_line_naming_the_extra(table):
    """Without the lightgbm extra: one line before any data is read, naming the extra and the other backend."""
    import os

    _, path, _ = table
    code = ("import sys; sys.modules['lightgbm'] = None; from gbm_objectives.cli import main; "
            f"sys.exit(main(['ablate', {str(path)!r}, '--target', 'cost', '--backend', 'lightgbm', '--quiet']))")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, env=env)
    _assert_one_line(proc, "backend='lightgbm' needs LightGBM")
    assert "pip install 'gbm-objectives[lightgbm]'" in proc.stderr and "--backend xgboost" in proc.stderr


def test_text_and_named_columns_are_categorical_features(table, tmp_path, capsys):
    df, _, _ = table
    path = tmp_path / "coded.csv"
    df.assign(region=np.arange(len(df)) % 7).to_csv(path, index=False)
    rc = main(["ablate", str(path), "--target", "cost", "--losses", "squared_error", "--categorical", "region",
               "--drop", "domain", "exposure", *FAST])
    assert rc == 0
    assert "categorical features: site_kind, region" in capsys.readouterr().out


def test_categorical_column_problems_are_one_line(table, tmp_path, capsys):
    df, path, _ = table
    args = ["ablate", str(path), "--target", "cost", "--quiet"]
    assert "--categorical column 'nope' not found" in _one_line_error(
        capsys, main([*args, "--categorical", "nope"]))
    assert "--categorical column 'cost' is not a feature" in _one_line_error(
        capsys, main([*args, "--categorical", "cost"]))
    ids = tmp_path / "ids.csv"
    df.assign(user=[f"u{i}" for i in range(len(df))]).to_csv(ids, index=False)
    assert "'user' is text with 300 distinct values in 300 rows" in _one_line_error(
        capsys, main(["ablate", str(ids), "--target", "cost", "--quiet"]))
    assert "--categorical apply to a data file" in _one_line_error(
        capsys, main(["ablate", "--builtin", "tracker", "--categorical", "x", "--quiet"]))


def test_n_samples_is_refused_for_a_real_builtin_table(capsys):
    assert main(["ablate", "--builtin", "medical-expenditure", "--n-samples", "2000", "--losses", "squared_error",
                 "--quiet"]) == 2
    assert "--n-samples sets the rows of --builtin tracker" in capsys.readouterr().err
