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


def test_the_losses_work_without_either_booster_installed():
    # A finder that refuses the boosters stands in for an environment without them.
    code = (
        "import sys\n"
        "class Refuse:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('xgboost', 'lightgbm'):\n"
        "            raise ModuleNotFoundError(f'No module named {name!r}', name=name)\n"
        "sys.meta_path.insert(0, Refuse())\n"
        "import numpy as np, gbm_objectives as go\n"
        "from gbm_objectives.testing import example_labels, example_margins\n"
        "for name in go.available_losses():\n"
        "    loss = go.get_loss(name, **({'num_class': 3} if name.startswith('softmax') else {}))\n"
        "    y, group = example_labels(loss, np.random.default_rng(0), 40)\n"
        "    loss.grad_hess(y, example_margins(loss, np.random.default_rng(1), y.shape[0]), group=group)\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-2000:]


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


@pytest.mark.parametrize("index", range(len(_python_blocks())))
def test_readme_python_snippets_run_exactly_as_written(index, tmp_path):
    """Each README code block runs as it stands, in a fresh process, making its own data.

    Single-threaded (the suite runs on one thread); the working directory is a
    temporary folder, so files the snippets save land there.
    """
    script = tmp_path / "snippet.py"
    script.write_text(_python_blocks()[index])
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    out = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True,
                         timeout=600)
    assert out.returncode == 0, f"README block {index} failed:\n{_python_blocks()[index]}\n{out.stderr[-3000:]}"


def _cli_blocks() -> list[str]:
    return [b for b in re.findall(r"```bash\n(.*?)```", README.read_text(), flags=re.S) if "gbm-objectives " in b]


@pytest.mark.parametrize("index", range(len(_cli_blocks())))
def test_readme_command_line_blocks_run_exactly_as_written(index, tmp_path):
    """The README's command-line examples run as they stand (with this interpreter's scripts first on PATH)."""
    bindir = os.path.dirname(sys.executable)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PATH": bindir + os.pathsep + os.environ.get("PATH", "")}
    block = _cli_blocks()[index]
    out = subprocess.run(["bash", "-euo", "pipefail", "-c", block], cwd=tmp_path, env=env, capture_output=True,
                         text=True, timeout=600)
    assert out.returncode == 0, f"README block failed:\n{block}\n{out.stderr[-3000:]}"
    for report in re.findall(r"--out (\S+)", block):
        assert any((tmp_path / report).iterdir()), f"{report} is empty"


def test_main_job_example_runs_on_tiny_data(tmp_path):
    example = README.parent / "examples" / "tracker_ablation.py"
    cmd = [sys.executable, str(example), "--n-samples", "600", "--cv", "2", "--rounds", "5",
           "--n-jobs", "1", "--quiet", "--out", str(tmp_path)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=300).stdout
    for backend in ("xgboost", "lightgbm"):
        assert f"=== {backend}:" in out
    assert "squared_error" in out and "constant median" in out and "Calibration" in out
    assert "likelihood" in out.lower()
    assert (tmp_path / "tracker_ablation.png").stat().st_size > 10_000


def test_python_dash_m_runs_the_command_line():
    out = subprocess.run([sys.executable, "-m", "gbm_objectives", "--help"], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0 and "ablate" in out.stdout
