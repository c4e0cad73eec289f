"""Peak memory of one objective call, relative to the size of the margin array.

After a warm-up call (kernels loaded, adapter caches and output buffers
built), one call is traced with :mod:`tracemalloc`, which sees every NumPy
array, every Python object and every allocation inside Numba kernels (Numba's
runtime allocates through ``PyMem_RawMalloc``, which tracemalloc traces).

Columns: the margin's size in bytes; the traced peak of the adapter fast path
``loss.grad_hess_into`` (preallocated outputs), of the public
``loss.grad_hess`` (fresh outputs: two float32 arrays, i.e. 1.0x a float64
margin), and of the XGBoost and LightGBM objective callables (a float32
margin as XGBoost passes it, a float64 class-major one as LightGBM does),
each divided by the margin's size; then Numba runtime allocations per call.

Usage::

    python benchmarks/bench_memory.py
    python benchmarks/bench_memory.py --rows 10000 --losses tweedie softmax
"""

from __future__ import annotations

import argparse
import sys
import tracemalloc
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _reference as ref  # noqa: E402
from _timing import machine_line, markdown_table  # noqa: E402

import gbm_objectives as go  # noqa: E402


def traced(fn: Callable[[], object]) -> int:
    """Peak traced bytes of one call of ``fn``, after a warm-up call."""
    fn()
    tracemalloc.start()
    tracemalloc.reset_peak()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _first_call(fn: Callable[[], object], refit_warning: type[Warning]) -> None:
    """Call ``fn`` once with the one-time warning that a booster's plain objective
    path cannot refit leaves silenced: this measures a call, not training."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", refit_warning)
        fn()


def xgboost_call(p: ref.Problem) -> Callable[[], object] | None:
    try:
        import xgboost as xgb

        from gbm_objectives import xgboost as gx
    except ImportError:
        return None
    x = np.zeros((p.rows, 1), dtype=np.float32)
    dtrain = xgb.DMatrix(x, label=p.y, group=p.group)
    obj = gx.objective(p.loss)
    predt = np.ascontiguousarray(p.margin, dtype=np.float32)
    _first_call(lambda: obj(predt, dtrain), gx.LeafRefitWarning)
    # The first call sees margins that vary, so a plain call would not re-read
    # the labels; the warm-up in traced() builds the adapter's caches.
    return lambda: obj(predt, dtrain)


def lightgbm_call(p: ref.Problem) -> Callable[[], object] | None:
    try:
        import lightgbm as lgb

        from gbm_objectives import lightgbm as gl
    except ImportError:
        return None
    x = np.zeros((p.rows, 1), dtype=np.float32)
    ds = lgb.Dataset(x, label=p.y, group=p.group, params={"verbose": -1})
    ds.construct()
    obj = gl.objective(p.loss)
    preds = np.asfortranarray(p.margin, dtype=np.float64)
    _first_call(lambda: obj(preds, ds), gl.LeafRefitWarning)
    return lambda: obj(preds, ds)


def row(name: str, n: int, k: int) -> list[str]:
    p = ref.make_problem(name, n, k=k)
    margin_bytes = p.margin.nbytes
    fast = ref.library_into(p)
    cells = [name, f"{margin_bytes:,}"]
    for fn in (fast, lambda: p.loss.grad_hess(p.y, p.margin, group=p.group), xgboost_call(p), lightgbm_call(p)):
        if fn is None:
            cells.append("–")
            continue
        peak = traced(fn)
        cells.append(f"{peak / margin_bytes:.3f}x ({peak:,} B)")
    return cells


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--k", type=int, default=10, help="classes of the softmax losses")
    parser.add_argument("--losses", nargs="+", default=go.available_losses(), choices=go.available_losses(),
                        help="default: every registered loss")
    args = parser.parse_args(argv)
    if args.rows < 10 or args.k < 2:
        parser.error("rows >= 10 and k >= 2 are required")

    print("# Peak memory of one objective call\n")
    print(machine_line() + "\n")
    print(
        f"{args.rows:,} rows (softmax kinds: k = {args.k}), float64 labels and margins. Peak traced bytes "
        "of one call after a warm-up (NumPy, Python and Numba-runtime allocations), divided by the "
        "margin's size. ``grad_hess`` returns two fresh float32 arrays (1.0x a float64 margin); the "
        "other calls reuse their outputs. The softmax kernels' scratch is bounded by a block of rows "
        "(under 200 KiB in all), whatever the number of rows.\n"
    )
    rows = [row(name, args.rows, args.k) for name in args.losses]
    print(markdown_table(
        ["loss", "margin bytes", "fast path peak", "grad_hess peak", "XGBoost objective peak",
         "LightGBM objective peak"],
        rows,
    ))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
