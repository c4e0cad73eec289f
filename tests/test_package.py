"""Package-level promises: a light import, lazy ablation names, README snippets that run."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import gbm_objectives

README = Path(__file__).resolve().parents[1] / "README.md"


def test_import_does_not_load_boosters_or_plotting():
    code = (
        "import sys, gbm_objectives\n"
        "heavy = [m for m in ('xgboost', 'lightgbm', 'matplotlib', 'pandas', 'sklearn') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_lazy_ablation_names_resolve():
    from gbm_objectives import ablation, datasets

    assert gbm_objectives.sweep_tweedie_power is ablation.sweep_tweedie_power
    assert gbm_objectives.ablate_losses is ablation.ablate_losses
    assert gbm_objectives.recommend_losses is ablation.recommend_losses
    assert gbm_objectives.make_tracker_costs is datasets.make_tracker_costs
    with pytest.raises(AttributeError, match="no attribute"):
        gbm_objectives.not_a_name  # noqa: B018


def _python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


_README_DATA = """
import numpy as np

rng = np.random.default_rng(0)


def table(n):
    X = rng.normal(size=(n, 5))
    mean = np.exp(0.5 * X[:, 0] + 0.3 * X[:, 1])
    y = np.where(rng.random(n) < 0.4, 0.0, rng.gamma(2.0, mean))
    return X, y


X_train, y_train = table(400)
X_valid, y_valid = table(200)
X_test, _ = table(100)
w_train = rng.uniform(0.5, 2.0, size=400)
X, y, w, X_new = X_train, y_train, w_train, X_test
y01 = (y_train > 0).astype(float)
labels = (y_train > 0).astype(int)
"""


@pytest.mark.parametrize("index", range(len(_python_blocks())))
def test_readme_python_snippets_run(index, tmp_path):
    """Each README snippet runs as written, after small stand-ins for the data it names.

    A fresh single-threaded process per snippet: the snippets leave the boosters'
    thread counts at their defaults, and the suite runs on one thread.
    """
    block = _python_blocks()[index]
    if "make_tracker_costs(10_000)" in block:
        pytest.skip("the full ablation snippet is the main job; the ablation tests cover its calls")
    script = tmp_path / "snippet.py"
    script.write_text(_README_DATA + "\n" + block)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env, check=True, timeout=300)


def test_main_job_example_runs_on_tiny_data(tmp_path):
    example = README.parent / "examples" / "tracker_ablation.py"
    cmd = [sys.executable, str(example), "--n-samples", "600", "--cv", "2", "--rounds", "5",
           "--n-jobs", "1", "--quiet", "--out", str(tmp_path)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=300).stdout
    for backend in ("xgboost", "lightgbm"):
        assert f"=== {backend}:" in out
    assert "squared_error" in out and "constant median" in out and "Calibration" in out
    assert (tmp_path / "tracker_ablation.png").stat().st_size > 10_000
