"""A Tweedie power sweep in this process vs on a two-worker Dask LocalCluster: wall time and peak memory.

``sweep_tweedie_power`` over synthetic compound Poisson-Gamma data (N rows x
d float32 features, true power 1.5), P powers x K folds, XGBoost ``hist``
(or LightGBM), one booster thread per fit. Two runs of the same sweep:

* **in-process**: ``n_jobs=1``, every fit one after the other in one process;
* **Dask**: ``client=`` a ``LocalCluster`` of W worker processes with one
  thread each; the data is scattered to every worker once and each
  (power, fold) fit is one task.

Each run happens in a fresh Python process, so a peak resident set size
(``ru_maxrss``) covers that run only: the in-process run's process, and for
the Dask run the client process (which holds the data, builds the folds,
scores the predictions) and every worker process (its own ``ru_maxrss``,
read with ``client.run`` after the sweep). "before" is the resident size
just before the sweep starts (data generated; workers started, nothing
scattered). The sweep's wall time includes scattering the data and the
likelihood report; starting the cluster is reported apart. The script checks
that both runs give the same table (all columns but ``fit_seconds``).

Usage::

    python benchmarks/bench_dask_sweep.py                         # 1,000,000 rows x 80 features, 100 rounds
    python benchmarks/bench_dask_sweep.py --rows 200000 --rounds 20
    python benchmarks/bench_dask_sweep.py --backend lightgbm --workers 2
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(1, str(HERE.parent))

from _timing import machine_line, markdown_table  # noqa: E402

MIB = 2.0**20


def make_data(rows: int, features: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Compound Poisson-Gamma labels (power 1.5, dispersion 1) driven by the first five features."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((rows, features), dtype=np.float32)
    k = min(5, features)
    coef = np.linspace(0.4, -0.3, k)
    mu = np.exp(0.2 + X[:, :k].astype(np.float64) @ coef)
    power, phi = 1.5, 1.0
    lam = mu ** (2.0 - power) / (phi * (2.0 - power))
    shape = (2.0 - power) / (power - 1.0)
    scale = phi * (power - 1.0) * mu ** (power - 1.0)
    counts = rng.poisson(lam)
    y = np.where(counts > 0, rng.gamma(np.maximum(counts * shape, 1e-12), scale), 0.0)
    return X, y


def _peak_rss() -> float:
    """This process's peak resident set size in bytes (ru_maxrss: KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return float(peak if sys.platform == "darwin" else peak * 1024)


def _cpu() -> float:
    """CPU seconds (user + system) this process has used."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _rss() -> float:
    """This process's resident set size now, in bytes."""
    try:
        import psutil

        return float(psutil.Process().memory_info().rss)
    except ImportError:
        with open("/proc/self/statm") as fh:
            return float(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _sweep_kwargs(args: argparse.Namespace) -> dict:
    params = ({"max_depth": 6, "nthread": 1} if args.backend == "xgboost"
              else {"num_leaves": 31, "num_threads": 1})
    powers = np.round(np.linspace(1.1, 1.9, args.powers), 4).tolist() if args.powers > 1 else [1.5]
    return {"powers": powers, "backend": args.backend, "params": params, "num_boost_round": args.rounds,
            "cv": args.folds, "random_state": args.seed, "progress": False,
            "include_squared_error": args.squared_error}


def _digest(df) -> dict:
    import pandas as pd

    table = df.drop(columns="fit_seconds")
    return {"hash": int(pd.util.hash_pandas_object(table, index=True).sum() % (2**61)),
            "best": str(table["config"].iloc[0]), "best_mae": float(table["mae"].iloc[0]),
            "likelihood_power": df.attrs.get("likelihood", {}).get("power")}


def run_child(args: argparse.Namespace) -> dict:
    """One run (``args.child`` is "inprocess" or "dask") in this fresh process; a JSON-able record."""
    from gbm_objectives.ablation import sweep_tweedie_power

    X, y = make_data(args.rows, args.features, args.seed)
    kwargs = _sweep_kwargs(args)
    powers = kwargs.pop("powers")
    # Steady state: imports and the kernels' compilation happen in a small
    # sweep of the same losses before the timed one, in every process.
    warm_X, warm_y = make_data(300, args.features, args.seed + 1)
    warm = {**kwargs, "num_boost_round": 2}
    record: dict = {"mode": args.child}
    if args.child == "inprocess":
        sweep_tweedie_power(warm_X, warm_y, powers, **warm)
        record["before"] = [_rss()]
        cpu, start = _cpu(), time.perf_counter()
        df = sweep_tweedie_power(X, y, powers, **kwargs)
        record["seconds"] = time.perf_counter() - start
        record["cpu"] = [_cpu() - cpu]
        record["peak"] = [_peak_rss()]
        record.update(_digest(df))
        return record
    from distributed import Client, LocalCluster

    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cluster = LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                               dashboard_address=None, memory_limit=args.memory_limit)
        client = Client(cluster)
    try:
        client.wait_for_workers(args.workers)
        record["startup_seconds"] = time.perf_counter() - start
        sweep_tweedie_power(warm_X, warm_y, powers, client=client, **warm)
        workers = sorted(client.scheduler_info()["workers"])
        record["before"] = [_rss()] + [client.run(_rss)[w] for w in workers]
        cpu_workers = client.run(_cpu)
        cpu, start = _cpu(), time.perf_counter()
        df = sweep_tweedie_power(X, y, powers, client=client, **kwargs)
        record["seconds"] = time.perf_counter() - start
        cpu_after = client.run(_cpu)
        record["cpu"] = [_cpu() - cpu] + [cpu_after[w] - cpu_workers[w] for w in workers]
        peaks = client.run(_peak_rss)
        record["peak"] = [_peak_rss()] + [peaks[w] for w in workers]
        record.update(_digest(df))
    finally:
        client.close()
        cluster.close()
    return record


def _child(args: argparse.Namespace, mode: str) -> dict:
    """Run one mode in a fresh interpreter, so its peak memory is its own."""
    argv = [sys.executable, str(Path(__file__).resolve()), "--child", mode,
            "--rows", str(args.rows), "--features", str(args.features), "--powers", str(args.powers),
            "--folds", str(args.folds), "--rounds", str(args.rounds), "--workers", str(args.workers),
            "--backend", args.backend, "--seed", str(args.seed), "--memory-limit", str(args.memory_limit)]
    if args.squared_error:
        argv.append("--squared-error")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(HERE.parent),
                                                                         os.environ.get("PYTHONPATH")]))}
    print(f"running {mode} ...", file=sys.stderr, flush=True)
    out = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"the {mode} run failed:\n{out.stderr[-4000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _mib(x: float) -> str:
    return f"{x / MIB:,.0f}"


def report(args: argparse.Namespace, local: dict, remote: dict) -> str:
    n_fits = (args.powers + int(args.squared_error)) * args.folds
    header = ["run", "process", "sweep wall time (s)", "speed-up", "CPU time (s)", "RSS before sweep (MiB)",
              "peak RSS (MiB)"]
    rows = [["in-process (n_jobs=1)", "main", f"{local['seconds']:.1f}", "1.00", f"{local['cpu'][0]:.1f}",
             _mib(local["before"][0]), _mib(local["peak"][0])]]
    label = f"Dask LocalCluster, {args.workers} workers x 1 thread"
    speed = f"{local['seconds'] / remote['seconds']:.2f}x"
    rows.append([label, "client", f"{remote['seconds']:.1f}", speed, f"{remote['cpu'][0]:.1f}",
                 _mib(remote["before"][0]), _mib(remote["peak"][0])])
    for k, (cpu, before, peak) in enumerate(zip(remote["cpu"][1:], remote["before"][1:], remote["peak"][1:]),
                                            start=1):
        rows.append(["", f"worker {k}", "", "", f"{cpu:.1f}", _mib(before), _mib(peak)])
    rows.append(["", "all processes", "", "", f"{sum(remote['cpu']):.1f}", _mib(sum(remote["before"])),
                 _mib(sum(remote["peak"]))])
    data_mib = args.rows * args.features * 4 / MIB
    same = local["hash"] == remote["hash"]
    lines = [
        f"## Tweedie power sweep: in-process vs Dask ({args.backend})",
        "",
        f"{args.rows:,} rows x {args.features} float32 features ({data_mib:,.0f} MiB), {args.powers} powers"
        f"{' + squared error' if args.squared_error else ''} x {args.folds} folds = {n_fits} fits of "
        f"{args.rounds} rounds, one booster thread each. Cluster start-up "
        f"{remote['startup_seconds']:.1f} s (not in the sweep's time).",
        "",
        markdown_table(header, rows),
        "",
        f"Tables identical (all columns but fit_seconds): {'yes' if same else 'NO'}; best row "
        f"{local['best']} (MAE {local['best_mae']:.4g}), likelihood power {local['likelihood_power']:.3f}. "
        "Imports and compilation were warmed up by a small sweep before timing, in every process; RSS is "
        "the resident set size (peak: ru_maxrss of that process, the warm-up included); CPU time is user + "
        "system seconds of each process during the sweep.",
        "",
        machine_line([f"{os.cpu_count()} cores shared by the in-process run and the workers"]),
    ]
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--features", type=int, default=80)
    parser.add_argument("--powers", type=int, default=5, help="powers evenly spaced in [1.1, 1.9]")
    parser.add_argument("--folds", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--backend", choices=("xgboost", "lightgbm"), default="xgboost")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--squared-error", action="store_true", help="add the squared-error row (more fits)")
    parser.add_argument("--memory-limit", default="auto", help="per worker, as LocalCluster reads it")
    parser.add_argument("--child", choices=("inprocess", "dask"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    for name, low in (("rows", 30), ("features", 1), ("powers", 1), ("folds", 2), ("rounds", 1),
                      ("workers", 1)):
        if getattr(args, name) < low:
            parser.error(f"--{name} must be at least {low}")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.child:
        print(json.dumps(run_child(args)))
        return
    local = _child(args, "inprocess")
    remote = _child(args, "dask")
    print(report(args, local, remote))


if __name__ == "__main__":
    main()
