"""Fits XGBoostLSS and NGBoost models for ``bench_distributions.py``, in their own Python environment.

XGBoostLSS pins its own PyTorch and XGBoost, so it lives in a separate
virtual environment; the benchmark runs this script there as a subprocess.
It imports nothing from ``gbm_objectives``.

Usage::

    python _lss_runner.py --versions
    python _lss_runner.py JOB.json RESULT.json

``JOB.json`` holds ``data`` (an ``.npz`` with ``x``, ``y``, ``xt``, ``yt``:
training and held-out rows), ``fits`` (a list of ``{"tool": "xgboostlss" |
"ngboost", "dist": class name, "options": keyword arguments}``), ``rounds``,
``depth``, ``learning_rate``, ``threads``, ``seed``, ``warmup`` (one
small untimed fit of each first) and ``checkpoints`` (rounds after which the
held-out NLL is also reported, in ``nll_by_round``). ``RESULT.json`` gets one record per fit: the
held-out mean negative log-likelihood (``nll``, by the tool's own
distribution: torch's ``log_prob`` for XGBoostLSS, except zero-adjusted
families, scored as hurdle models; scipy's ``logpdf`` / ``logpmf`` for
NGBoost), the fit time in seconds (``seconds``: data matrix and training,
not prediction), the mean predicted ``P(y = 0)`` (``prob_zero``) for
distributions with mass at zero, or ``error`` when the fit failed.
"""

from __future__ import annotations

import json
import math
import sys
import time
import traceback

import numpy as np

#: Distributions with positive probability at y = 0: P(y = 0) is reported for them.
_MASS_AT_ZERO = {"NegativeBinomial", "Poisson", "ZAGamma", "ZALN", "ZINB", "ZIPoisson"}


def _finite_mean(values: np.ndarray) -> float:
    mean = float(np.mean(values))
    return mean if math.isfinite(mean) else float("inf")


def fit_xgboostlss(name: str, options: dict, data: dict, job: dict) -> dict:
    import importlib

    import torch
    import xgboost as xgb
    from xgboostlss.model import XGBoostLSS

    dist_class = getattr(importlib.import_module(f"xgboostlss.distributions.{name}"), name)
    params = {"tree_method": "hist", "max_depth": job["depth"], "eta": job["learning_rate"],
              "nthread": job["threads"], "seed": job["seed"]}
    start = time.perf_counter()
    # Without options, the distribution's own defaults: no stabilisation, every margin starting at 0.5.
    model = XGBoostLSS(dist_class(**options))
    model.train(params, xgb.DMatrix(data["x"], label=data["y"], nthread=job["threads"]), job["rounds"],
                verbose_eval=False)
    seconds = time.perf_counter() - start
    booster = model.booster
    yt = torch.tensor(data["yt"], dtype=torch.float64)

    def score(rounds: int) -> tuple[float, float]:
        model.booster = booster[:rounds]  # the first ``rounds`` rounds' trees
        frame = model.predict(xgb.DMatrix(data["xt"], nthread=job["threads"]), pred_type="parameters")
        arguments = {column: torch.tensor(frame[column].to_numpy(np.float64)) for column in frame.columns}
        dist = model.dist.distribution(**arguments)
        if name.startswith("ZA"):
            # XGBoostLSS's log_prob of a zero-adjusted distribution at y = 0 adds the
            # positive part's density at machine epsilon to the mass at zero (not a
            # likelihood); score the hurdle model as written: log gate at zero,
            # log(1 - gate) + the positive part's log density elsewhere.
            gate = dist.gate
            positive = torch.log1p(-gate) + dist.base_dist.log_prob(torch.where(yt > 0, yt, torch.ones_like(yt)))
            log_prob = torch.where(yt == 0, torch.log(gate), positive)
            prob_zero = gate
        else:
            log_prob = dist.log_prob(yt)
            prob_zero = torch.exp(dist.log_prob(torch.zeros_like(yt)))
        return _finite_mean(-log_prob.detach().numpy()), float(np.mean(prob_zero.detach().numpy()))

    return _scores(name, seconds, score, job)


def fit_ngboost(name: str, options: dict, data: dict, job: dict) -> dict:
    from ngboost import NGBRegressor, distns
    from sklearn.tree import DecisionTreeRegressor

    # NGBoost's default base learner, one level deeper: depth 4 as the boosters.
    base = DecisionTreeRegressor(criterion="friedman_mse", max_depth=job["depth"], random_state=job["seed"])
    start = time.perf_counter()
    model = NGBRegressor(Dist=getattr(distns, name), Base=base, n_estimators=job["rounds"],
                         learning_rate=job["learning_rate"], verbose=False, random_state=job["seed"], **options)
    model.fit(data["x"], data["y"])
    seconds = time.perf_counter() - start

    def score(rounds: int) -> tuple[float, float]:
        dist = model.pred_dist(data["xt"], max_iter=rounds)
        # NGBoost hands scipy's methods through: counts have a log mass, not a log density.
        log_density = dist.logpmf if getattr(dist, "logpdf", None) is None else dist.logpdf
        prob_zero = float(np.mean(np.exp(log_density(np.zeros_like(data["yt"])))))
        return _finite_mean(-log_density(data["yt"])), prob_zero

    return _scores(name, seconds, score, job)


def _scores(name: str, seconds: float, score, job: dict) -> dict:
    """The record of a fit: NLL after every round and at each checkpoint (``nll_by_round``)."""
    value, prob_zero = score(job["rounds"])
    out = {"nll": value, "seconds": seconds}
    if name in _MASS_AT_ZERO:
        out["prob_zero"] = prob_zero
    checkpoints = [r for r in job.get("checkpoints", []) if 1 <= r < job["rounds"]]
    out["nll_by_round"] = {str(r): score(r)[0] for r in checkpoints} | {str(job["rounds"]): value}
    return out


FITTERS = {"xgboostlss": fit_xgboostlss, "ngboost": fit_ngboost}


def versions() -> dict:
    import importlib.metadata as md

    return {name: md.version(name) for name in ("xgboostlss", "ngboost", "xgboost", "torch", "scikit-learn")}


def main(argv: list[str]) -> int:
    if argv == ["--versions"]:
        print(json.dumps(versions()))
        return 0
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    with open(argv[0]) as fh:
        job = json.load(fh)
    import torch

    torch.set_num_threads(job["threads"])
    with np.load(job["data"]) as npz:
        data = {key: np.asarray(npz[key], dtype=np.float64) for key in ("x", "y", "xt", "yt")}
    results = []
    if job.get("warmup"):
        # One small untimed fit each first: imports, PyTorch's and XGBoost's first-call costs.
        small = {key: value[:200] for key, value in data.items()}
        for fit in job["fits"]:
            try:
                FITTERS[fit["tool"]](fit["dist"], fit.get("options", {}), small, {**job, "rounds": 2})
            except Exception:  # the timed fit reports it
                pass
    for fit in job["fits"]:
        try:
            record = FITTERS[fit["tool"]](fit["dist"], fit.get("options", {}), data, job)
        except Exception as exc:  # a failed fit is a result to report, not a reason to stop
            record = {"error": f"{type(exc).__name__}: {exc}".splitlines()[0][:300]}
            traceback.print_exc(file=sys.stderr)
        results.append({**fit, **record})
    with open(argv[1], "w") as fh:
        json.dump(results, fh)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
