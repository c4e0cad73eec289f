"""LightGBM is an optional extra: without it the core library works and the
adapter's import error says what to install."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

WITHOUT_LIGHTGBM = """
import sys
sys.modules["lightgbm"] = None  # as if it were not installed
import numpy as np
import gbm_objectives
from gbm_objectives.kernels import percentiles
loss = gbm_objectives.get_loss("tweedie", power=1.5)
grad, hess = loss.grad_hess(np.array([1.0, 2.0]), np.zeros(2))
assert grad.shape == (2,)
for stmt in ("import gbm_objectives.lightgbm", "from gbm_objectives.lightgbm import train"):
    try:
        exec(stmt)
    except ImportError as exc:
        print(stmt, "->", exc)
    else:
        raise SystemExit(stmt + " did not fail")
"""


def test_without_lightgbm_the_adapter_names_the_extra():
    out = subprocess.run(
        [sys.executable, "-c", WITHOUT_LIGHTGBM], cwd=ROOT, capture_output=True, text=True, check=False,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert out.returncode == 0, out.stderr
    lines = out.stdout.strip().splitlines()
    assert len(lines) == 2
    for line in lines:
        assert 'pip install "gbm-objectives[lightgbm]"' in line, line
