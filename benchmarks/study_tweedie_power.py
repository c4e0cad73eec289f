"""Coverage study of estimate_tweedie_power on compound Poisson-Gamma data with a known power.

For each true power and seed: n rows, 4 standard-normal features, mean
``mu = exp(0.3 + 0.5 x0 - 0.4 x1 + 0.3 sin(2 x2))``, dispersion 2, and
``y`` drawn exactly as a compound Poisson-Gamma sum (:func:`sample_tweedie`).
Two mean models are scored on the same data:

* ``booster``: :func:`estimate_tweedie_power` as a user calls it (5-fold
  out-of-fold means from XGBoost through the library's Tweedie objective,
  the default 19-power grid 1.05..1.95), with the booster settings below;
  its default interval ``.ci`` (``ci_method`` "mean_model": carries the
  mean models' error) is scored, and in the last columns the profile
  interval ``.ci_profile`` (conditional on the out-of-fold means);
* ``oracle``: the same profile likelihood and interval code fed the true
  means, which separates the likelihood and interval from the mean model
  (with exact means the fold models agree and the "mean_model" interval is
  the profile interval).

Run the full study (4 powers x 20 seeds, n = 5,000)::

    PYTHONPATH=. python benchmarks/study_tweedie_power.py --seeds 20 --markdown benchmarks/TWEEDIE_POWER.md

Each finished estimate is printed to stderr as one JSON line; ``--from-records``
rebuilds the table from such lines (runs split across processes, or the seeds
that finished). It prints a Markdown table: coverage of the 95% interval, median interval
width, bias and spread of the estimate, and the grid powers that MAE and the
fixed-power deviance pick beside the likelihood's.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
import warnings

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from gbm_objectives._tweedie_profile import (  # noqa: E402
    _max_over_dispersion,
    _profile_interval,
    _refined_profile,
)
from gbm_objectives.tweedie_power import (  # noqa: E402
    DEFAULT_LIKELIHOOD_POWERS,
    estimate_tweedie_power,
    sample_tweedie,
)

#: The mean model of the study: shallow trees, a small learning rate and
#: row subsampling, chosen for low out-of-fold error of log(mu) on separate
#: seeds (mean-model noise biases the power toward 2; see the results file).
BOOSTER_PARAMS = {"max_depth": 2, "learning_rate": 0.05, "min_child_weight": 50, "subsample": 0.7}
BOOSTER_ROUNDS = 150
DISPERSION = 2.0


def make_data(n: int, power: float, seed: int):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    mu = np.exp(0.3 + 0.5 * X[:, 0] - 0.4 * X[:, 1] + 0.3 * np.sin(2.0 * X[:, 2]))
    return X, sample_tweedie(mu, DISPERSION, power, random_state=rng), mu


def oracle(y: np.ndarray, mu: np.ndarray) -> tuple[float, tuple[float, float]]:
    grid = np.asarray(DEFAULT_LIKELIHOOD_POWERS)
    w = np.ones_like(y)
    ll, phi = zip(*(_max_over_dispersion(y, mu, w, float(p)) for p in grid), strict=True)
    log_mu = np.broadcast_to(np.log(mu), (len(grid), mu.shape[0]))
    profile = _refined_profile(y, w, log_mu, grid, np.array(ll), np.array(phi), 10)
    power, _, ci, _ = _profile_interval(profile["power"].to_numpy(), profile["log_likelihood"].to_numpy())
    return power, ci


def run(powers, seeds, n, backend, rounds, cv, params, first_seed=0, oracle_only=False):
    records = []
    for power in powers:
        for seed in range(first_seed, first_seed + seeds):
            X, y, mu = make_data(n, power, 1000 * round(power * 10) + seed)
            if oracle_only:
                o_power, o_ci = oracle(y, mu)
                records.append({"true": power, "seed": seed, "oracle_power": o_power, "oracle_lo": o_ci[0],
                                "oracle_hi": o_ci[1]})
                continue
            start = time.perf_counter()
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                est = estimate_tweedie_power(X, y, backend=backend, cv=cv, random_state=seed, num_boost_round=rounds,
                                             params=dict(params), progress=False)
            seconds = time.perf_counter() - start
            o_power, o_ci = oracle(y, mu)
            rec = {"true": power, "seed": seed, "power": est.power, "lo": est.ci[0], "hi": est.ci[1],
                   "profile_lo": est.ci_profile[0], "profile_hi": est.ci_profile[1], "ci_method": est.ci_method,
                   "bias": est.mean_model_bias, **est.settings.get("interval", {}),
                   "open": any(est.ci_open), "warned": len(caught), "mae_power": est.mae_power,
                   "dev_power": est.deviance_power, "seconds": seconds,
                   "oracle_power": o_power, "oracle_lo": o_ci[0], "oracle_hi": o_ci[1]}
            records.append(rec)
            print(json.dumps(rec), file=sys.stderr, flush=True)
    return records


def table(records, powers, oracle_only=False) -> str:
    """One row per power and mean model; the booster's row scores its default interval ``.ci`` and, in the
    last columns, the profile interval ``.ci_profile`` of the same estimates and the median estimated bias."""
    head = ("| true p | mean model | seeds | coverage of 95% CI | median CI width | mean estimate - p | SD of estimate "
            "| median MAE pick | median deviance pick | median s / estimate | profile CI coverage "
            "| median profile CI width | median mean_model_bias |")
    lines = [head, "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for power in powers:
        rows = [r for r in records if r["true"] == power]
        kinds = [("booster", "power", "lo", "hi"), ("oracle (true mu)", "oracle_power", "oracle_lo", "oracle_hi")]
        for kind, key, lo, hi in kinds[1:] if oracle_only else kinds:
            est = np.array([r[key] for r in rows])
            cover = np.mean([r[lo] <= power <= r[hi] for r in rows])
            width = statistics.median(r[hi] - r[lo] for r in rows)
            if kind == "booster":
                extra = "| " + " | ".join([
                    f"{statistics.median(r['mae_power'] for r in rows):.2f}",
                    f"{statistics.median(r['dev_power'] for r in rows):.2f}",
                    f"{statistics.median(r['seconds'] for r in rows):.1f}",
                    f"{np.mean([r['profile_lo'] <= power <= r['profile_hi'] for r in rows]):.0%}",
                    f"{statistics.median(r['profile_hi'] - r['profile_lo'] for r in rows):.3f}",
                    f"{statistics.median(r.get('bias', 0.0) for r in rows):+.4f}"]) + " |"
            else:
                extra = "| - | - | - | - | - | - |"
            sd = est.std(ddof=1) if len(est) > 1 else float("nan")
            lines.append(f"| {power:.1f} | {kind} | {len(rows)} | {cover:.0%} | {width:.3f} "
                         f"| {est.mean() - power:+.4f} | {sd:.4f} {extra}")
    return "\n".join(lines) + "\n"


def environment() -> str:
    import numba
    import pandas
    import scipy
    import sklearn
    import xgboost

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            names = [line.split(":", 1)[1].strip() for line in fh if line.startswith("model name")]
        cpu = names[0] if names else cpu
    except OSError:
        pass
    return (f"{cpu}, {os.cpu_count()} logical CPUs (shared); Python {platform.python_version()}, numpy "
            f"{np.__version__}, scipy {scipy.__version__}, pandas {pandas.__version__}, scikit-learn "
            f"{sklearn.__version__}, numba {numba.__version__}, xgboost {xgboost.__version__}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--powers", type=float, nargs="+", default=[1.2, 1.4, 1.6, 1.8])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--n", type=int, default=5000)
    parser.add_argument("--backend", default="xgboost", choices=("xgboost", "lightgbm"))
    parser.add_argument("--rounds", type=int, default=BOOSTER_ROUNDS)
    parser.add_argument("--cv", type=int, default=5)
    parser.add_argument("--default-booster", action="store_true",
                        help="the estimator's default booster settings (depth 6, learning rate 0.1) with --rounds")
    parser.add_argument("--first-seed", type=int, default=0, help="seeds run from here (data seed 1000 * 10p + seed)")
    parser.add_argument("--oracle-only", action="store_true", help="only the true-mean rows (no boosters; fast)")
    parser.add_argument("--markdown", help="also write the table with its settings to this file")
    parser.add_argument("--from-records", nargs="+", metavar="FILE",
                        help="build the table from the JSON lines of earlier runs (their stderr) instead of running")
    args = parser.parse_args(argv)
    params = {} if args.default_booster else BOOSTER_PARAMS
    start = time.perf_counter()
    if args.from_records:
        records = [json.loads(line) for name in args.from_records for line in open(name) if line.startswith("{")]
        args.powers = [p for p in args.powers if any(r["true"] == p for r in records)]
    else:
        records = run(args.powers, args.seeds, args.n, args.backend, args.rounds, args.cv, params, args.first_seed,
                      args.oracle_only)
    elapsed = time.perf_counter() - start if not args.from_records else sum(r.get("seconds", 0.0) for r in records)
    md = table(records, args.powers, args.oracle_only)
    print(md)
    if args.markdown:
        grid = f"{DEFAULT_LIKELIHOOD_POWERS[0]}..{DEFAULT_LIKELIHOOD_POWERS[-1]}"
        settings = (f"n = {args.n}, {args.seeds} seeds per power, {args.cv}-fold CV, {args.backend} with "
                    f"{args.rounds} rounds and {params or 'the default parameters'}, grid {grid} step 0.05, "
                    f"dispersion {DISPERSION}")
        timing = "Estimates' own time (booster fits and likelihood), summed:" if args.from_records else "Run time"
        with open(args.markdown, "w") as fh:
            fh.write(f"<!-- generated by benchmarks/study_tweedie_power.py -->\n\n{settings}\n\n{md}\n"
                     f"Machine: {environment()}. {timing} {elapsed / 60:.1f} min.\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
