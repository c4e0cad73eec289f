"""Kernel throughput: ns per row of every registered loss against NumPy, autograd and a copy.

For each loss and size it times, side by side (interleaved repetitions):

* ``fast``: ``loss.grad_hess_into`` into preallocated float32 buffers, the
  call the XGBoost/LightGBM adapters make every round;
* ``grad_hess``: the public, validating ``loss.grad_hess`` (checks labels and
  margins for NaN/inf, allocates its outputs);
* ``NumPy``: the same formulas as whole-array NumPy expressions (a custom
  objective as users write it, returning float64);
* ``autograd``: PyTorch autograd, gradient plus Hessian diagonal (skipped when
  torch is not installed or the margin has more than ``--torch-max-elements``
  entries);
* ``copy``: reading labels and margins and writing two float32 arrays, no
  arithmetic: the memory-traffic floor of a call.

Usage::

    python benchmarks/bench_kernels.py                      # 1e5, 1e6, 1e7 rows
    python benchmarks/bench_kernels.py --sizes 1000000 --losses tweedie logistic
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _reference as ref  # noqa: E402
from _timing import Stats, interleaved, machine_line, markdown_table, paired_ratio  # noqa: E402

import gbm_objectives as go  # noqa: E402

#: Losses held to the copy-bound target.
CHEAP = ("squared_error", "logistic")
TARGET_NUMPY = 2.0
TARGET_AUTOGRAD = 30.0
TARGET_COPY = 3.0


def _max_rel_diff(fast, other) -> str:
    """Largest deviation of the fast path from the NumPy reference, relative to its scale."""
    out = []
    for a, b in zip(fast, other, strict=True):
        b = np.asarray(b, dtype=np.float64)
        scale = float(np.max(np.abs(b))) or 1.0
        out.append(float(np.max(np.abs(np.asarray(a, np.float64) - b))) / scale)
    return " / ".join(f"{v:.0e}" for v in out)


def bench_one(name: str, n: int, args: argparse.Namespace, use_torch: bool) -> dict:
    problem = ref.make_problem(name, n, k=args.k)
    elements = problem.margin.size
    fast = ref.library_into(problem)
    contenders = {"fast": fast, "grad_hess": ref.library_validated(problem), "copy": ref.copy_bound(problem)}
    if elements <= args.numpy_max_elements:
        contenders["numpy"] = ref.numpy_grad_hess(problem)
    if use_torch and elements <= args.torch_max_elements:
        contenders["autograd"] = ref.torch_grad_hess(problem)
    fast()
    diff = _max_rel_diff(fast.outputs, contenders["numpy"]()) if "numpy" in contenders else "–"
    times = interleaved(contenders, args.repeats, args.min_time)
    per_row = 1e9 / problem.rows
    result = {
        "name": name,
        "rows": problem.rows,
        "elements": elements,
        "ns": {key: Stats.of(val).scaled(per_row) for key, val in times.items()},
        "diff": diff,
    }
    result["vs_numpy"] = paired_ratio(times["numpy"], times["fast"]) if "numpy" in times else None
    result["vs_autograd"] = paired_ratio(times["autograd"], times["fast"]) if "autograd" in times else None
    result["vs_copy"] = paired_ratio(times["fast"], times["copy"])
    # The largest speed-up any implementation could show: the contender's time
    # over the memory-traffic floor of the call.
    result["numpy_bound"] = paired_ratio(times["numpy"], times["copy"]) if "numpy" in times else None
    result["autograd_bound"] = paired_ratio(times["autograd"], times["copy"]) if "autograd" in times else None
    return result


def _cell(stats: Stats | None, digits: int = 2) -> str:
    return "–" if stats is None else stats.cell(digits)


def table(results: list[dict]) -> str:
    header = [
        "loss", "fast ns/row", "grad_hess ns/row", "NumPy ns/row", "autograd ns/row", "copy ns/row",
        "NumPy ÷ fast", "autograd ÷ fast", "fast ÷ copy", "max rel. diff g / h",
    ]
    rows = []
    for r in results:
        ns = r["ns"]
        rows.append([
            r["name"], _cell(ns["fast"]), _cell(ns["grad_hess"]), _cell(ns.get("numpy")),
            _cell(ns.get("autograd")), _cell(ns["copy"]), _cell(r["vs_numpy"], 1), _cell(r["vs_autograd"], 0),
            _cell(r["vs_copy"], 1), r["diff"],
        ])
    return markdown_table(header, rows)


def targets(results: list[dict]) -> str:
    """Which losses meet each kernel target, from the medians of the paired ratios."""
    lines = []
    checks = [
        (f"fast >= {TARGET_NUMPY:g}x NumPy", "vs_numpy", lambda s: s.median >= TARGET_NUMPY, None, "numpy_bound"),
        (f"fast >= {TARGET_AUTOGRAD:g}x autograd", "vs_autograd", lambda s: s.median >= TARGET_AUTOGRAD, None,
         "autograd_bound"),
        (f"fast within {TARGET_COPY:g}x of copy", "vs_copy", lambda s: s.median <= TARGET_COPY, CHEAP, None),
    ]
    for label, key, ok, only, bound in checks:
        met, missed, absent = [], [], []
        for r in results:
            if only is not None and r["name"] not in only:
                continue
            stats = r[key]
            if stats is None:
                absent.append(r["name"])
            elif ok(stats):
                met.append(r["name"])
            else:
                limit = f"; at the copy bound it would be {r[bound].median:.1f}" if bound else ""
                missed.append(f"{r['name']} ({stats.median:.2f}{limit})")
        text = f"- {label}: met by {len(met)}/{len(met) + len(missed)}"
        if missed:
            text += "; missed: " + ", ".join(missed)
        if absent:
            text += "; not measured: " + ", ".join(absent)
        lines.append(text)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000, 10_000_000])
    parser.add_argument("--losses", nargs="+", default=go.available_losses(), choices=go.available_losses(),
                        help="default: every registered loss")
    parser.add_argument("--k", type=int, default=10, help="classes of the softmax losses")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--min-time", type=float, default=0.05, help="seconds per repetition and contender")
    parser.add_argument("--no-torch", action="store_true")
    parser.add_argument("--torch-threads", type=int, default=None, help="default: torch's own default")
    parser.add_argument("--torch-max-elements", type=float, default=1e7)
    parser.add_argument("--numpy-max-elements", type=float, default=1e8)
    parser.add_argument("--target-size", type=int, default=1_000_000, help="size the targets are checked at")
    args = parser.parse_args(argv)
    if args.repeats < 1 or args.min_time < 0 or args.k < 2 or min(args.sizes) < 1:
        parser.error("repeats >= 1, min-time >= 0, k >= 2 and sizes >= 1 are required")

    use_torch = not args.no_torch and ref.torch_available()
    extra = []
    if use_torch:
        import torch

        if args.torch_threads:
            torch.set_num_threads(args.torch_threads)
        extra.append(f"torch {torch.__version__} ({torch.get_num_threads()} threads)")
    else:
        extra.append("torch not used")
    print("# Kernel throughput\n")
    print(machine_line(extra) + " Kernels are single-threaded.\n")
    print(
        f"ns per row: median (min–max) of {args.repeats} interleaved repetitions, each at least "
        f"{args.min_time:g} s per contender. Ratios are medians of per-repetition ratios. "
        f"Softmax kinds have k = {args.k} margins per row; infonce has groups of {ref.GROUP_SIZE}.\n"
    )
    by_size = {}
    for n in args.sizes:
        results = [bench_one(name, n, args, use_torch) for name in args.losses]
        by_size[n] = results
        print(f"## n = {n:,} rows\n")
        print(table(results) + "\n", flush=True)
    target_n = args.target_size if args.target_size in by_size else args.sizes[-1]
    print(f"## Targets at n = {target_n:,}\n")
    print(targets(by_size[target_n]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
