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


def test_ablate_on_builtin_data_with_losses(tmp_path, capsys):
    rc = main(["ablate", "--builtin", "tracker", "--n-samples", "300", "--backend", "lightgbm",
               "--losses", "squared_error,tweedie(power=1.5)", "quantile(alpha=0.5)", "--out", str(tmp_path), *FAST])
    assert rc == 0
    csv = pd.read_csv(tmp_path / "ablation.csv")
    assert {"squared_error", "tweedie(power=1.5)", "quantile(alpha=0.5)"} <= set(csv["config"])
    assert (tmp_path / "ablation.md").exists() and (tmp_path / "ablation.png").exists()
    assert "built-in tracker costs" in capsys.readouterr().out


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
