"""Start-up cost: ``import gbm_objectives`` and the first ``grad_hess`` call of each loss.

Every measurement runs in a fresh Python process. The first call of a loss
loads (warm cache) or compiles (cold cache) its Numba kernels; both are
timed with ``NUMBA_CACHE_DIR`` pointing at a private temporary directory:
empty for the cold case, filled by one earlier process for the warm case.
"first call" is the wall time of the first ``grad_hess`` on 1,000 rows,
once with Numba already started in the process and once in a fresh process
(which also pays Numba's own one-time start); "steady call" is the next
call, for scale. Import
times are wall-clock and CPU (user + system) seconds of the import alone.

Usage::

    python benchmarks/bench_startup.py
    python benchmarks/bench_startup.py --repeats 3 --losses tweedie logistic
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _timing import Stats, machine_line, markdown_table  # noqa: E402

import gbm_objectives as go  # noqa: E402

TARGET_IMPORT_S = 0.3
TARGET_WARM_MS = 50.0

_IMPORT_CHILD = """
import json, sys, time
t0, c0 = time.perf_counter(), time.process_time()
import gbm_objectives
t1, c1 = time.perf_counter(), time.process_time()
heavy = sorted(m for m in ("xgboost", "lightgbm", "matplotlib", "torch", "pandas") if m in sys.modules)
print(json.dumps({"wall": t1 - t0, "cpu": c1 - c0, "heavy": heavy}))
"""

_CALL_CHILD = """
import json, sys, time
sys.path.insert(0, {bench_dir!r})
import numpy as np
import _reference as ref
from gbm_objectives._validation import count_nonfinite
problem = ref.make_problem({name!r}, 1000)
group = problem.group
if {ready!r}:
    # Numba's one-time start (its target context, about 0.3 s of CPU; much of it
    # is importing scipy.linalg for its BLAS check) is paid by the first Numba
    # function a process runs; here a validation kernel every loss uses takes it.
    count_nonfinite(np.zeros(3))
t0, c0 = time.perf_counter(), time.process_time()
problem.loss.grad_hess(problem.y, problem.margin, group=group)
t1, c1 = time.perf_counter(), time.process_time()
problem.loss.grad_hess(problem.y, problem.margin, group=group)
t2 = time.perf_counter()
print(json.dumps({{"first": t1 - t0, "first_cpu": c1 - c0, "steady": t2 - t1}}))
"""


def _child(code: str, env: dict[str, str]) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False
    )
    if out.returncode != 0:
        raise RuntimeError(f"benchmark child failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _env(cache_dir: str) -> dict[str, str]:
    env = dict(os.environ)
    env["NUMBA_CACHE_DIR"] = cache_dir
    return env


def import_times(repeats: int) -> tuple[Stats, Stats, list[str]]:
    with tempfile.TemporaryDirectory() as cache:
        env = _env(cache)
        _child(_IMPORT_CHILD, env)  # fills the cache of the validation kernel, if any
        runs = [_child(_IMPORT_CHILD, env) for _ in range(repeats)]
    return Stats.of([r["wall"] for r in runs]), Stats.of([r["cpu"] for r in runs]), runs[-1]["heavy"]


def first_call_times(name: str, repeats: int) -> dict[str, Stats]:
    bench_dir = str(Path(__file__).resolve().parent)
    fresh = _CALL_CHILD.format(bench_dir=bench_dir, name=name, ready=False)
    ready = _CALL_CHILD.format(bench_dir=bench_dir, name=name, ready=True)
    out: dict[str, list[float]] = {key: [] for key in ("cold", "warm", "warm_cpu", "ready", "ready_cpu", "steady")}
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as cache:
            env = _env(cache)
            first = _child(fresh, env)  # empty cache: compiles and writes the cache
            out["cold"].append(first["first"])
            again = _child(fresh, env)  # the cache just written, Numba not started yet
            out["warm"].append(again["first"])
            out["warm_cpu"].append(again["first_cpu"])
            started = _child(ready, env)  # the cache, Numba already started
            out["ready"].append(started["first"])
            out["ready_cpu"].append(started["first_cpu"])
            out["steady"].append(started["steady"])
    return {key: Stats.of(values).scaled(1e3) for key, values in out.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--losses", nargs="+", default=go.available_losses(), choices=go.available_losses(),
                        help="default: every registered loss")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error("repeats must be >= 1")

    print("# Start-up\n")
    print(machine_line() + "\n")
    print(f"Median (min–max) over {args.repeats} fresh processes each.\n")
    wall, cpu, heavy = import_times(args.repeats)
    print("## `import gbm_objectives`\n")
    print(markdown_table(
        ["wall s", "CPU s", f"target <= {TARGET_IMPORT_S:g} s (median wall)", "heavy modules imported"],
        [[wall.cell(3), cpu.cell(3), "met" if wall.median <= TARGET_IMPORT_S else "missed",
          ", ".join(heavy) or "none"]],
    ) + "\n", flush=True)

    rows = []
    for name in args.losses:
        t = first_call_times(name, args.repeats)
        rows.append([
            name, t["ready"].cell(1), t["ready_cpu"].cell(1), t["warm"].cell(0), t["warm_cpu"].cell(0),
            t["cold"].cell(0), t["steady"].cell(3), "met" if t["ready"].median <= TARGET_WARM_MS else "missed",
        ])
    print("## First `grad_hess` call per loss (1,000 rows)\n")
    print(
        "*Numba started*: the process has already run a Numba function (any loss or the "
        "validation kernel), so the call loads only this loss's kernels from the cache. "
        "*Fresh process*: the call also pays Numba's one-time start. CPU columns are the "
        "process's CPU time during the call (robust to a loaded machine).\n"
    )
    print(markdown_table(
        ["loss", "warm, Numba started ms", "CPU ms", "warm, fresh process ms", "CPU ms", "cold cache ms",
         "steady call ms", f"warm (Numba started) <= {TARGET_WARM_MS:g} ms"],
        rows,
    ))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
