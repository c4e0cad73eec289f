"""The XGBoost adapter as a package: an optional extra, old import paths kept."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest


def _run_without_xgboost(code: str) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter in which ``import xgboost`` fails."""
    prelude = "import sys\nsys.modules['xgboost'] = None\n"
    return subprocess.run(
        [sys.executable, "-c", prelude + textwrap.dedent(code)], capture_output=True, text=True, timeout=300
    )


@pytest.mark.parametrize("module", ["gbm_objectives.xgboost", "gbm_objectives._xgb_estimators"])
def test_missing_xgboost_names_the_extra_to_install(module):
    out = _run_without_xgboost(
        f"""
        try:
            import {module}
        except ImportError as exc:
            print(exc)
        else:
            print("imported")
        """
    )
    assert out.returncode == 0, out.stderr
    assert 'pip install "gbm-objectives[xgboost]"' in out.stdout


def test_the_library_imports_without_xgboost():
    out = _run_without_xgboost(
        """
        import gbm_objectives
        import numpy as np
        loss = gbm_objectives.get_loss("poisson")
        print(loss.loss(np.array([1.0, 2.0]), np.zeros(2)) > 0)
        """
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "True"


def test_old_module_paths_hold_the_same_objects():
    import gbm_objectives._xgb_estimators as old
    import gbm_objectives.xgboost as gx

    for name in ("XGBRegressor", "XGBClassifier", "XGBRanker", "LeafRefitWarning", "warn_no_refit"):
        assert getattr(old, name) is getattr(gx, name)
    # Callables pickled by the single-module release name these paths.
    assert gx.XGBObjective.__name__ == "XGBObjective" and gx.XGBMetric.__name__ == "XGBMetric"
