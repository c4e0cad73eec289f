"""End-to-end training time: built-in objectives vs this library's, in XGBoost and LightGBM.

For every size, booster and loss the same data, start margin (``base_margin``
/ ``init_score`` set to the loss's init score, ``loss.init_score(y)``) and
tree settings train twice per repetition, side by side: once with the
booster's built-in objective (``loss.builtin_objective(booster)``), once
with this library's objective callable (the adapters'
``objective()``: validated labels cached, one unvalidated kernel call into
reused float32 buffers per round). The library's Hessians reproduce the
built-ins exactly (softmax uses ``hessian_scale="xgboost"``/``"lightgbm"``),
so both runs grow the same trees up to float rounding; the final training
losses are printed to show it.

Columns: wall time of ``train`` (median, min–max, seconds), the median of
the per-repetition ratios library ÷ built-in of wall time, the ratio of the
fastest runs (noise only ever adds time), the median ratio of process CPU
time (all threads; less sensitive to a busy machine), the ratio with the
time inside the objective callable taken out of the library run (what the
booster's custom-objective path costs compared with its built-in gradient:
above 1 the booster's own overhead alone exceeds parity), the share of the
library run's wall time spent inside the objective callable, and
milliseconds per call.

Usage::

    python benchmarks/bench_training.py                    # 1e6 and 2e5 rows, 100 rounds
    python benchmarks/bench_training.py --rows 2000 --rounds 3 --repeats 1 --features 5
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _timing import Stats, machine_line, markdown_table, paired_ratio  # noqa: E402

import gbm_objectives as go  # noqa: E402

LOSSES = ("tweedie", "logistic", "softmax")
BOOSTERS = ("xgboost", "lightgbm")
TWEEDIE_POWER = 1.5


class Timed:
    """Wraps an objective callable and accumulates the time spent inside it.

    Deep copies return the same object, so LightGBM copying its parameters
    keeps the timer (and the adapter's caches) in place.
    """

    def __init__(self, fn) -> None:
        self.fn = fn
        self.seconds = 0.0
        self.calls = 0

    def __call__(self, *args):
        start = time.perf_counter()
        out = self.fn(*args)
        self.seconds += time.perf_counter() - start
        self.calls += 1
        return out

    def __deepcopy__(self, memo):
        return self


def make_data(name: str, n: int, features: int, k: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Features and labels with real signal (linear and interaction terms)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, features), dtype=np.float32)
    used = min(features, 10)
    beta = rng.normal(0.0, 0.5, used)
    score = x[:, :used].astype(np.float64) @ beta
    if features >= 3:
        score += 0.5 * np.sin(2.0 * x[:, -1]) + 0.3 * x[:, -2] * x[:, -3]
    if name == "tweedie":
        # Compound Poisson-Gamma with dispersion 1.
        mu = np.exp(0.5 * score - 0.5)
        p = TWEEDIE_POWER
        counts = rng.poisson(mu ** (2.0 - p) / (2.0 - p))
        shape = (2.0 - p) / (p - 1.0)
        scale = (p - 1.0) * mu ** (p - 1.0)
        y = np.where(counts > 0, rng.gamma(np.maximum(counts, 1) * shape, scale), 0.0)
    elif name == "logistic":
        y = (rng.random(n) < 1.0 / (1.0 + np.exp(-score))).astype(np.float64)
    elif name == "softmax":
        b = rng.normal(0.0, 0.7, (used, k))
        logits = x[:, :used].astype(np.float64) @ b + rng.gumbel(size=(n, k))
        y = np.argmax(logits, axis=1).astype(np.float64)
    else:
        raise ValueError(f"no data generator for {name!r}")
    return x, y


def make_loss(name: str, booster: str, k: int) -> go.Loss:
    if name == "tweedie":
        return go.get_loss("tweedie", power=TWEEDIE_POWER)
    if name == "softmax":
        return go.get_loss("softmax", num_class=k, hessian_scale=booster)
    return go.get_loss(name)


class XGBoostCase:
    def __init__(self, loss, x, y, args):
        import xgboost as xgb

        from gbm_objectives import xgboost as gx

        self.xgb, self.gx, self.loss, self.y = xgb, gx, loss, y
        start = np.asarray(loss.init_score(y), dtype=np.float64)
        margin = np.broadcast_to(start, (y.shape[0],) + start.shape).astype(np.float32)
        self.dtrain = xgb.QuantileDMatrix(x, label=y, base_margin=margin, nthread=args.threads)
        self.common = {
            "tree_method": "hist", "max_depth": 6, "learning_rate": 0.1, "max_bin": 256,
            "nthread": args.threads, "verbosity": 0,
        }
        self.builtin = {**self.common, **loss.builtin_objective("xgboost")}
        self.custom = {**self.common, **gx.booster_objective(loss)}

    def train_builtin(self, rounds: int):
        return self.xgb.train(self.builtin, self.dtrain, rounds)

    def train_custom(self, timed: Timed, rounds: int):
        return self.xgb.train(self.custom, self.dtrain, rounds, obj=timed)

    def objective(self):
        return self.gx.objective(self.loss)

    def final_loss(self, booster) -> float:
        margin = booster.predict(self.dtrain, output_margin=True)
        return self.loss.loss(self.y, margin)


class LightGBMCase:
    def __init__(self, loss, x, y, args):
        import lightgbm as lgb

        from gbm_objectives import lightgbm as gl

        self.lgb, self.gl, self.loss, self.y = lgb, gl, loss, y
        start = np.asarray(loss.init_score(y), dtype=np.float64)
        # LightGBM's multiclass init_score is class-major.
        self.init = np.repeat(start, y.shape[0]) if start.ndim else np.full(y.shape[0], float(start))
        self.common = {
            "learning_rate": 0.1, "num_leaves": 31, "max_bin": 255, "num_threads": args.threads,
            "verbose": -1, "force_col_wise": True,
        }
        self.x = x
        self.dtrain = lgb.Dataset(x, label=y, init_score=self.init, params=self.common, free_raw_data=False)
        self.dtrain.construct()
        self.builtin = {**self.common, **loss.builtin_objective("lightgbm")}
        self.custom = dict(self.common)
        if loss.n_outputs > 1:
            self.custom["num_class"] = loss.n_outputs

    def train_builtin(self, rounds: int):
        return self.lgb.train(self.builtin, self.dtrain, rounds)

    def train_custom(self, timed: Timed, rounds: int):
        return self.lgb.train({**self.custom, "objective": timed}, self.dtrain, rounds)

    def objective(self):
        return self.gl.objective(self.loss)

    def final_loss(self, booster) -> float:
        raw = booster.predict(self.x, raw_score=True)
        if self.loss.n_outputs > 1:
            raw = raw + self.init.reshape(self.loss.n_outputs, -1).T
        else:
            raw = raw + self.init
        return self.loss.loss(self.y, raw)


CASES = {"xgboost": XGBoostCase, "lightgbm": LightGBMCase}


def bench_case(booster: str, name: str, x, y, args) -> dict:
    loss = make_loss(name, booster, args.k)
    case = CASES[booster](loss, x, y, args)
    # Warm-up: library imports, kernel loading from the Numba cache, booster set-up.
    case.train_builtin(1)
    case.train_custom(Timed(case.objective()), 1)
    built, custom, built_cpu, custom_cpu, inside, per_call, outside = [], [], [], [], [], [], []
    final = {}
    for rep in range(args.repeats):
        order = ("builtin", "custom") if rep % 2 == 0 else ("custom", "builtin")
        for which in order:
            # Process CPU time (all threads) next to wall time: on a shared
            # machine it is far less sensitive to threads being descheduled.
            start, cpu = time.perf_counter(), time.process_time()
            if which == "builtin":
                model = case.train_builtin(args.rounds)
                built.append(time.perf_counter() - start)
                built_cpu.append(time.process_time() - cpu)
            else:
                timed = Timed(case.objective())
                model = case.train_custom(timed, args.rounds)
                custom.append(time.perf_counter() - start)
                custom_cpu.append(time.process_time() - cpu)
                inside.append(timed.seconds / custom[-1])
                outside.append(custom[-1] - timed.seconds)
                per_call.append(timed.seconds / max(timed.calls, 1))
            if rep == 0:
                final[which] = case.final_loss(model)
            del model
    return {
        "booster": booster,
        "loss": repr(loss),
        "builtin": Stats.of(built),
        "custom": Stats.of(custom),
        "ratio": paired_ratio(custom, built),
        "cpu_ratio": paired_ratio(custom_cpu, built_cpu),
        "best_ratio": min(custom) / min(built),
        "rest_ratio": paired_ratio(outside, built),
        "share": Stats.of(inside).scaled(100.0),
        "per_call": Stats.of(per_call).scaled(1e3),
        "final": final,
    }


def table(results: list[dict]) -> str:
    header = [
        "booster", "loss", "built-in s", "library s", "library ÷ built-in", "fastest ÷ fastest",
        "CPU time library ÷ built-in", "(library − objective) ÷ built-in", "objective share %",
        "objective ms/call", "final train loss built-in / library",
    ]
    rows = [
        [
            r["booster"], f"`{r['loss']}`", r["builtin"].cell(3), r["custom"].cell(3), r["ratio"].cell(3),
            f"{r['best_ratio']:.3f}", r["cpu_ratio"].cell(3), r["rest_ratio"].cell(3),
            r["share"].cell(1), r["per_call"].cell(2),
            f"{r['final']['builtin']:.6g} / {r['final']['custom']:.6g}",
        ]
        for r in results
    ]
    return markdown_table(header, rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 200_000])
    parser.add_argument("--features", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--k", type=int, default=5, help="classes of the softmax case")
    parser.add_argument("--boosters", nargs="+", default=list(BOOSTERS), choices=BOOSTERS)
    parser.add_argument("--losses", nargs="+", default=list(LOSSES), choices=LOSSES)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if min(args.rows) < 10 or args.features < 1 or args.rounds < 1 or args.threads < 1 or args.repeats < 1:
        parser.error("rows >= 10, and features, rounds, threads and repeats >= 1 are required")
    if args.k < 3:
        parser.error("k must be >= 3")

    import lightgbm
    import xgboost

    print("# End-to-end training\n")
    print(machine_line([f"XGBoost {xgboost.__version__}", f"LightGBM {lightgbm.__version__}"]) + "\n")
    print(
        f"{args.features} float32 features, {args.rounds} rounds, {args.threads} threads, hist trees "
        f"(XGBoost depth 6, LightGBM 31 leaves, learning rate 0.1), softmax k = {args.k}. "
        f"Median (min–max) of {args.repeats} repetitions, built-in and library runs alternating.\n"
    )
    for n in args.rows:
        results = []
        for name in args.losses:
            x, y = make_data(name, n, args.features, args.k, args.seed)
            for booster in args.boosters:
                results.append(bench_case(booster, name, x, y, args))
                print(table(results[-1:]).splitlines()[-1], file=sys.stderr, flush=True)
            del x, y
        print(f"## n = {n:,} rows\n")
        print(table(results) + "\n", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
