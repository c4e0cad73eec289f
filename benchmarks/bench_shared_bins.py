"""A 5-loss x 3-fold ablation with each fold's binned data built once (this tree) vs once per fit (before).

``ablate_losses`` over synthetic data (N rows x 80 float32 features, labels
from a log-linear mean times a gamma draw, a quarter of them zero), five
losses (squared error, Poisson, Tweedie 1.5, Huber, absolute error) x 3
folds = 15 fits of ``--rounds`` rounds, one booster thread per fit,
``n_jobs`` 1 or 2, no baselines. "before" is another checkout of the
package (default: the commit this branch started from, exported to a
temporary folder with ``git archive``), where every fit cuts its rows and
builds (bins) its own DMatrix / Dataset; "after" is this tree, where the
fits of a fold share them.

Every run is a fresh Python process that first runs a tiny ablation (the
loss kernels' JIT compilation is not timed), then times ``ablate_losses``;
runs of before and after alternate, ``--repeats`` of each. The script checks
that before and after give the same table (every column but
``fit_seconds``, bit for bit) and prints a Markdown table of medians (min-max).

Usage::

    python benchmarks/bench_shared_bins.py                                   # 20,000 and 200,000 rows
    python benchmarks/bench_shared_bins.py --rows 20000 --jobs 1 --repeats 1
    python benchmarks/bench_shared_bins.py --before /path/to/other/checkout
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from _timing import Stats, machine_line, markdown_table  # noqa: E402

LOSSES = ["squared_error", "poisson", "tweedie(power=1.5)", "huber", "absolute_error"]
FEATURES = 80


def make_data(rows: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((rows, FEATURES), dtype=np.float32)
    coef = np.linspace(0.4, -0.3, 5)
    mu = np.exp(0.2 + X[:, :5].astype(np.float64) @ coef)
    y = mu * rng.gamma(2.0, 0.5, rows) * (rng.random(rows) < 0.75)
    return X, y


def child(args: argparse.Namespace) -> None:
    """One timed ablation in this process (imported from ``PYTHONPATH``); the result as a pickle."""
    from gbm_objectives.ablation import ablate_losses

    opts = {"backend": args.backend, "cv": 3, "num_boost_round": args.rounds, "progress": False,
            "baselines": False, "random_state": 0}
    Xs, ys = make_data(300, seed=1)
    ablate_losses(Xs, ys, LOSSES, n_jobs=1, **{**opts, "num_boost_round": 2})  # JIT compilation, imports
    X, y = make_data(args.rows)
    start = time.perf_counter()
    table = ablate_losses(X, y, LOSSES, n_jobs=args.jobs, **opts)
    seconds = time.perf_counter() - start
    with open(args.out, "wb") as f:
        pickle.dump({"seconds": seconds, "table": table}, f)


def run(tree: Path, rows: int, backend: str, jobs: int, rounds: int, out: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(tree), "PYTHONDONTWRITEBYTECODE": "1", "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", "--rows", str(rows), "--backend", backend,
           "--jobs", str(jobs), "--rounds", str(rounds), "--out", str(out)]
    subprocess.run(cmd, check=True, env=env, cwd=tempfile.gettempdir())
    with open(out, "rb") as f:
        return pickle.load(f)


def same_table(a, b) -> bool:
    import pandas as pd

    try:
        pd.testing.assert_frame_equal(a.drop(columns="fit_seconds"), b.drop(columns="fit_seconds"), check_exact=True)
        np.testing.assert_equal(a.attrs["fold_scores"], b.attrs["fold_scores"])
    except AssertionError:
        return False
    return True


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, nargs="+", default=[20_000, 200_000])
    p.add_argument("--backends", nargs="+", default=["xgboost", "lightgbm"])
    p.add_argument("--jobs", type=int, nargs="+", default=[1, 2])
    p.add_argument("--rounds", type=int, default=20)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--before", type=Path, default=None,
                   help="checkout to compare with (default: this branch's starting commit, exported)")
    p.add_argument("--after", type=Path, default=ROOT, help="checkout measured as 'after' (default: this tree)")
    p.add_argument("--base", default="44c5297", help="commit exported as 'before' when --before is not given")
    p.add_argument("--json", type=Path, default=None, help="also write the measurements here")
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--backend", default="xgboost", help=argparse.SUPPRESS)
    p.add_argument("--out", type=Path, default=None, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        args.jobs = args.jobs[0]
        args.rows = args.rows[0]
        child(args)
        return
    with tempfile.TemporaryDirectory() as tmp:
        before = args.before
        if before is None:
            before = Path(tmp) / "before"
            before.mkdir()
            archive = subprocess.run(["git", "-C", str(ROOT), "archive", args.base], check=True,
                                     capture_output=True).stdout
            subprocess.run(["tar", "-x", "-C", str(before)], input=archive, check=True)
        records = []
        for rows in args.rows:
            for backend in args.backends:
                for jobs in args.jobs:
                    times: dict[str, list[float]] = {"before": [], "after": []}
                    tables = {}
                    for _ in range(args.repeats):
                        for name, tree in (("before", before), ("after", args.after)):
                            result = run(tree, rows, backend, jobs, args.rounds, Path(tmp) / f"{name}.pkl")
                            times[name].append(result["seconds"])
                            tables[name] = result["table"]
                    same = same_table(tables["before"], tables["after"])
                    rec = {"rows": rows, "backend": backend, "jobs": jobs, "before": times["before"],
                           "after": times["after"], "same_table": same}
                    records.append(rec)
                    print(json.dumps(rec), flush=True)
    if args.json is not None:
        args.json.write_text(json.dumps(records, indent=1))
    header = ["rows", "backend", "n_jobs", "before s", "after s", "after / before", "same table"]
    lines = []
    for r in records:
        b, a = Stats.of(r["before"]), Stats.of(r["after"])
        lines.append([f"{r['rows']:,}", r["backend"], str(r["jobs"]), b.cell(), a.cell(),
                      f"{a.median / b.median:.2f}", "yes" if r["same_table"] else "NO"])
    print(machine_line([f"{len(LOSSES)} losses x 3 folds, {FEATURES} features, {args.rounds} rounds, "
                        f"one booster thread per fit, medians of {args.repeats} (min-max)"]))
    print(markdown_table(header, lines))


if __name__ == "__main__":
    main()
