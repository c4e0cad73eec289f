"""Cost of one XGBoost objective call around the kernel: the adapter's share.

Times, per row and side by side, what XGBoost calls every round with a
library loss, against the bare kernel writing into preallocated buffers:

* ``kernel``: ``loss.grad_hess_into`` (no adapter);
* ``xgb.train obj``: ``obj(predt, dtrain)``, the native signature (reads the
  DMatrix's labels and weights and checks they are the validated ones);
* ``sklearn obj``: ``obj(y, predt, sample_weight=w)`` with fresh label and
  weight copies each call, as ``XGBRegressor`` passes them;
* ``metric``: ``metric(predt, dtrain)``.

The overhead columns are the medians of the per-repetition ratios to the
kernel. ``--baseline DIR`` also times the objective of another version of
the library (``DIR`` is its ``gbm_objectives`` package folder, e.g. from
``git archive <commit> gbm_objectives | tar -x -C /tmp/before``), side by
side in the same repetitions, and adds the ratios this version ÷ that one.

Usage::

    python benchmarks/bench_objective_call.py
    python benchmarks/bench_objective_call.py --sizes 100000 --losses tweedie --repeats 3
    python benchmarks/bench_objective_call.py --baseline /tmp/before/gbm_objectives
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import tempfile
from pathlib import Path
from types import ModuleType

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _reference as ref  # noqa: E402
from _timing import Stats, interleaved, machine_line, markdown_table, paired_ratio  # noqa: E402

import gbm_objectives as go  # noqa: E402


def _data(name: str, n: int, k: int) -> tuple[go.Loss, np.ndarray, np.ndarray, np.ndarray]:
    """The benchmark loss, its labels, row weights and a float32 margin as XGBoost passes it."""
    p = ref.make_problem(name, n, k=k)
    weight = np.random.default_rng(1).uniform(0.5, 2.0, p.rows)
    return p.loss, p.y, weight, np.ascontiguousarray(p.margin, dtype=np.float32)


def load_baseline(folder: str) -> ModuleType:
    """The XGBoost adapter of the ``gbm_objectives`` package in ``folder``, under another name."""
    init = Path(folder) / "__init__.py"
    if not init.is_file():
        raise SystemExit(f"--baseline: {folder} is not a package folder (no __init__.py)")
    name = "_baseline_gbm_objectives"
    spec = importlib.util.spec_from_file_location(name, init, submodule_search_locations=[str(init.parent)])
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    # Numba keys its on-disk cache by source file, not module name: kernels of a
    # baseline loaded from the same files under this name would be cached
    # beside the real package's and later found there by processes that cannot
    # import the name. The baseline's kernels are cached in a folder of their own.
    from numba.core import config

    cache_dir = config.CACHE_DIR
    config.CACHE_DIR = tempfile.mkdtemp(prefix="gbm-objectives-baseline-numba-")
    try:
        spec.loader.exec_module(module)
        return importlib.import_module(f"{name}.xgboost")
    finally:
        config.CACHE_DIR = cache_dir


def measure(name: str, n: int, repeats: int, min_time: float, baseline: ModuleType | None = None,
            k: int = 10) -> list[str]:
    import xgboost as xgb

    import gbm_objectives.xgboost as gx

    loss, y, w, margin = _data(name, n, k)
    dtrain = xgb.DMatrix(np.zeros((n, 1), np.float32), label=y, weight=w, nthread=1)
    obj, met = gx.objective(loss), gx.metric(loss)
    y64, w64 = np.ascontiguousarray(dtrain.get_label(), np.float64), np.ascontiguousarray(w)
    grad, hess = np.empty(margin.shape, np.float32), np.empty(margin.shape, np.float32)
    y32, w32 = dtrain.get_label(), dtrain.get_weight()

    contenders = {
        "kernel": lambda: loss.grad_hess_into(y64, margin, w64, grad, hess),
        "native": lambda: obj(margin, dtrain),
        # XGBRegressor hands fresh copies of labels and weights every round
        "sklearn": lambda: obj(y32.copy(), margin, sample_weight=w32.copy()),
        "metric": lambda: met(margin, dtrain),
    }
    if baseline is not None:
        package = importlib.import_module(baseline.__name__.rpartition(".")[0])
        old_obj = baseline.objective(package.get_loss(name, **ref.loss_params(name, k)))
        contenders["native before"] = lambda: old_obj(margin, dtrain)
        contenders["sklearn before"] = lambda: old_obj(y32.copy(), margin, sample_weight=w32.copy())
    times = interleaved(contenders, repeats, min_time)
    per_row = {k: Stats.of(v).scaled(1e9 / n) for k, v in times.items()}
    row = [name, f"{n:,}", per_row["kernel"].cell()]
    for key in ("native", "sklearn", "metric"):
        row += [per_row[key].cell(), paired_ratio(times[key], times["kernel"]).cell()]
    if baseline is not None:
        for key in ("native", "sklearn"):
            before = f"{key} before"
            row += [per_row[before].cell(), paired_ratio(times[key], times[before]).cell()]
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    # XGBoost's scikit-learn objective signature carries no query groups.
    point = [name for name in go.available_losses() if not go.get_loss_class(name).needs_group]
    parser.add_argument("--losses", nargs="+", default=["tweedie", "squared_error", "logistic"], choices=point)
    parser.add_argument("--k", type=int, default=10, help="classes of the softmax losses")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--min-time", type=float, default=0.2)
    parser.add_argument("--baseline", help="gbm_objectives package folder of a version to compare with")
    args = parser.parse_args(argv)
    if args.repeats < 1 or args.min_time < 0 or args.k < 2 or min(args.sizes) < 1:
        parser.error("repeats >= 1, min-time >= 0, k >= 2 and sizes >= 1 are required")
    baseline = None if args.baseline is None else load_baseline(args.baseline)
    import xgboost as xgb

    print(machine_line([f"XGBoost {xgb.__version__}"]))
    print()
    header = ["loss", "rows", "kernel ns/row", "xgb.train obj ns/row", "÷ kernel", "sklearn obj ns/row",
              "÷ kernel", "metric ns/row", "÷ kernel"]
    if baseline is not None:
        header += ["baseline xgb.train obj ns/row", "xgb.train obj ÷ baseline", "baseline sklearn obj ns/row",
                   "sklearn obj ÷ baseline"]
    rows = []
    for n in args.sizes:
        for name in args.losses:
            print(f"{name} n={n}", file=sys.stderr)
            rows.append(measure(name, n, args.repeats, args.min_time, baseline, args.k))
    print(markdown_table(header, rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
