"""Cost of one XGBoost objective call around the kernel: the adapter's share.

Times, per row and side by side, what XGBoost calls every round with a
library loss, against the bare kernel writing into preallocated buffers:

* ``kernel``: ``loss._grad_hess_into`` (no adapter);
* ``xgb.train obj``: ``obj(predt, dtrain)``, the native signature (reads the
  DMatrix's labels and weights and checks they are the validated ones);
* ``sklearn obj``: ``obj(y, predt, sample_weight=w)`` with fresh label and
  weight copies each call, as ``XGBRegressor`` passes them;
* ``metric``: ``metric(predt, dtrain)``.

The overhead columns are the medians of the per-repetition ratios to the
kernel. Run it on two versions of the library (``PYTHONPATH`` pointing at
each) to compare them; the numbers of both are in RESULTS.md.

Usage::

    python benchmarks/bench_objective_call.py
    python benchmarks/bench_objective_call.py --sizes 100000 --losses tweedie --repeats 3
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _timing import Stats, interleaved, machine_line, markdown_table, paired_ratio  # noqa: E402

import gbm_objectives as go  # noqa: E402


def _data(loss: go.Loss, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    margin = rng.normal(0.0, 0.5, n).astype(np.float32)
    if loss.link.name == "log":
        y = rng.gamma(1.5, 2.0, n) * (rng.random(n) > 0.2)
    elif loss.link.name == "logit":
        y = (rng.random(n) < 0.3).astype(np.float64)
    else:
        y = rng.normal(0.0, 2.0, n)
    return y, rng.uniform(0.5, 2.0, n), margin


def measure(name: str, n: int, repeats: int, min_time: float) -> list[str]:
    import xgboost as xgb

    import gbm_objectives.xgboost as gx

    loss = go.get_loss(name)
    rng = np.random.default_rng(0)
    y, w, margin = _data(loss, n, rng)
    dtrain = xgb.DMatrix(np.zeros((n, 1), np.float32), label=y, weight=w, nthread=1)
    obj, met = gx.objective(loss), gx.metric(loss)
    y64, w64 = np.ascontiguousarray(dtrain.get_label(), np.float64), np.ascontiguousarray(w)
    grad, hess = np.empty(n, np.float32), np.empty(n, np.float32)
    y32, w32 = dtrain.get_label(), dtrain.get_weight()

    contenders = {
        "kernel": lambda: loss._grad_hess_into(y64, margin, w64, grad, hess),
        "native": lambda: obj(margin, dtrain),
        # XGBRegressor hands fresh copies of labels and weights every round
        "sklearn": lambda: obj(y32.copy(), margin, sample_weight=w32.copy()),
        "metric": lambda: met(margin, dtrain),
    }
    times = interleaved(contenders, repeats, min_time)
    per_row = {k: Stats.of(v).scaled(1e9 / n) for k, v in times.items()}
    row = [name, f"{n:,}", per_row["kernel"].cell()]
    for key in ("native", "sklearn", "metric"):
        row += [per_row[key].cell(), paired_ratio(times[key], times["kernel"]).cell()]
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--losses", nargs="+", default=["tweedie", "squared_error", "logistic"])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--min-time", type=float, default=0.2)
    args = parser.parse_args(argv)
    import xgboost as xgb

    print(machine_line([f"XGBoost {xgb.__version__}"]))
    print()
    header = ["loss", "rows", "kernel ns/row", "xgb.train obj ns/row", "÷ kernel", "sklearn obj ns/row",
              "÷ kernel", "metric ns/row", "÷ kernel"]
    rows = []
    for n in args.sizes:
        for name in args.losses:
            print(f"{name} n={n}", file=sys.stderr)
            rows.append(measure(name, n, args.repeats, args.min_time))
    print(markdown_table(header, rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
