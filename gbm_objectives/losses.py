"""Loss objects: parameters, label domain, link, start score, loss value and
gradient/Hessian with respect to the booster's raw margin.

Every loss is registered by name; adapters, metrics, the ablation and the test
suite all read losses from :func:`get_loss` / :func:`available_losses`.
"""

from __future__ import annotations

import ast
import inspect
import math
from dataclasses import dataclass
from typing import Any, Callable, ClassVar

import numpy as np

from ._validation import (
    as_float_array,
    check_choice,
    check_sample_weight,
    check_scalar,
    group_offsets,
)
from .domains import ClassLabels, Domain, Interval, RealLine
from .kernels import binary, multiclass, ranking, regression, tweedie
from .links import IdentityLink, Link, LogitLink, LogLink, SoftmaxLink

__all__ = [
    "Loss",
    "LeafRefit",
    "SquaredError",
    "AbsoluteError",
    "Huber",
    "PseudoHuber",
    "LogCosh",
    "Quantile",
    "Poisson",
    "Gamma",
    "Tweedie",
    "Logistic",
    "Focal",
    "Softmax",
    "SoftmaxFocal",
    "InfoNCE",
    "get_loss",
    "get_loss_class",
    "as_loss",
    "parse_loss",
    "available_losses",
    "register_loss",
]

#: Start margins are kept inside +-MARGIN_LIMIT when the optimum is infinite
#: (all-zero Tweedie labels, a class that never occurs).
MARGIN_LIMIT = 30.0

_REGISTRY: dict[str, type["Loss"]] = {}

_CURVATURES = {
    "exact": regression.CURVATURE_EXACT,
    "unit": regression.CURVATURE_UNIT,
    "irls": regression.CURVATURE_IRLS,
}


def register_loss(cls: type["Loss"]) -> type["Loss"]:
    """Class decorator adding a loss to the registry under ``cls.name``."""
    if not cls.name or cls.name in _REGISTRY:
        raise ValueError(f"loss name {cls.name!r} is empty or already registered")
    _REGISTRY[cls.name] = cls
    return cls


def available_losses() -> list[str]:
    """Names accepted by :func:`get_loss`, sorted."""
    return sorted(_REGISTRY)


def get_loss(name: str, **params: Any) -> "Loss":
    """Build the registered loss ``name`` with ``params``.

    ``name`` may also be a call-style spec such as ``"quantile(alpha=0.9)"``
    (see :func:`parse_loss`); its parameters are then given in the spec only.

    Examples
    --------
    >>> get_loss("tweedie", power=1.5)
    Tweedie(power=1.5)
    >>> get_loss("quantile(alpha=0.9)")
    Quantile(alpha=0.9)
    """
    if not isinstance(name, str):
        raise ValueError(f"a loss name must be a string, got {type(name).__name__}")
    if "(" in name:
        if params:
            raise ValueError(
                f"loss spec {name!r} already gives its parameters; pass {', '.join(map(repr, sorted(params)))} "
                "inside the spec or use the plain name"
            )
        return parse_loss(name)
    if name not in _REGISTRY:
        raise ValueError(f"unknown loss {name!r}; available: {', '.join(available_losses())}")
    cls = _REGISTRY[name]
    _check_param_names(name, cls, params)
    return cls(**params)


def _check_param_names(name: str, cls: type["Loss"], params: dict[str, Any]) -> None:
    """A ValueError (not Python's TypeError) for unknown or missing parameters."""

    signature = inspect.signature(cls.__init__)
    accepted = [p for p in signature.parameters.values() if p.name != "self"]
    names = {p.name for p in accepted}
    unknown = sorted(set(params) - names)
    if unknown:
        allowed = ", ".join(sorted(names)) or "none"
        raise ValueError(f"{name} got unknown parameter(s) {', '.join(map(repr, unknown))}; accepted: {allowed}")
    missing = [p.name for p in accepted if p.default is inspect.Parameter.empty and p.name not in params]
    if missing:
        raise ValueError(f"{name} needs parameter(s) {', '.join(map(repr, missing))}")


def get_loss_class(name: str) -> type["Loss"]:
    """The registered loss class called ``name`` (a ValueError lists the names otherwise)."""
    if not isinstance(name, str) or name not in _REGISTRY:
        raise ValueError(f"unknown loss {name!r}; available: {', '.join(available_losses())}")
    return _REGISTRY[name]


def as_loss(loss: "Loss | str", **params: Any) -> "Loss":
    """Return ``loss`` itself if it is a :class:`Loss`, else ``get_loss(loss, **params)``.

    A string may be a registered name or a call-style spec such as
    ``"tweedie(power=1.2)"``.
    """
    if isinstance(loss, Loss):
        if params:
            raise ValueError("parameters can only be given with a loss name, not a loss object")
        return loss
    if isinstance(loss, str):
        return get_loss(loss, **params)
    raise ValueError(
        f"expected a Loss, a registered loss name or a spec such as 'tweedie(power=1.2)', got {type(loss).__name__}"
    )


def parse_loss(spec: Any) -> "Loss":
    """A :class:`Loss` from a spec: a Loss, a name, ``"name(key=value, ...)"`` or ``(name, params)``.

    Values in a call-style spec are Python literals (numbers, strings, tuples,
    None). The ablation tables label their rows in this form
    (:func:`gbm_objectives.ablation.loss_label`), so a label reads back to an
    equal loss.

    Examples
    --------
    >>> parse_loss("tweedie(power=1.2)")
    Tweedie(power=1.2)
    >>> parse_loss(("huber", {"delta": 2.0}))
    Huber(delta=2.0)
    """
    if isinstance(spec, Loss):
        return spec
    if isinstance(spec, tuple):
        if len(spec) != 2 or not isinstance(spec[0], str) or not isinstance(spec[1], dict):
            raise ValueError(f"a loss given as a tuple must be (name, params dict), got {spec!r}")
        return get_loss(spec[0], **spec[1])
    if not isinstance(spec, str):
        raise ValueError(f"a loss spec must be a Loss, a name, 'name(key=value)' or (name, params); got {spec!r}")
    name, params = split_loss_spec(spec)
    return get_loss(name, **params)


def split_loss_spec(spec: str) -> tuple[str, dict[str, Any]]:
    """The name and keyword parameters of ``"name"`` or ``"name(key=value, ...)"``, without building the loss.

    For callers that add parameters first (an estimator fills in
    ``num_class`` from its data).

    >>> split_loss_spec("softmax(label_smoothing=0.1)")
    ('softmax', {'label_smoothing': 0.1})
    """
    text = spec.strip()
    if "(" not in text:
        return text, {}
    try:
        node = ast.parse(text, mode="eval").body
    except SyntaxError as exc:
        raise ValueError(f"cannot parse loss spec {spec!r}: write it as name(key=value, ...)") from exc
    if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name) or node.args:
        raise ValueError(f"cannot parse loss spec {spec!r}: write it as name(key=value, ...) with keyword arguments")
    params = {}
    for kw in node.keywords:
        if kw.arg is None:
            raise ValueError(f"cannot parse loss spec {spec!r}: ** is not allowed")
        if kw.arg in params:
            # Python's parser accepts a repeated keyword (only compiling rejects
            # it), and a dict would silently keep the last value.
            raise ValueError(f"loss spec {spec!r} gives {kw.arg!r} more than once")
        try:
            params[kw.arg] = ast.literal_eval(kw.value)
        except ValueError as exc:
            raise ValueError(f"loss spec {spec!r}: the value of {kw.arg!r} must be a literal number, string or None") from exc
    return node.func.id, params


#: Weights with their largest entry outside [2**-100, 2**100] are rescaled
#: (exactly, by a power of two) before they are summed.
_WEIGHT_RANGE = (2.0**-100, 2.0**100)


def _pow2_exponent(top: float) -> int:
    """``e`` such that ``top * 2**-e`` is in [0.5, 1), for a positive, finite ``top``."""
    return math.frexp(top)[1]


def _tame_weight(weight: np.ndarray) -> np.ndarray:
    """``weight`` rescaled by a power of two when its largest entry is huge or tiny.

    Weighted means, quantiles and minimisers do not change when every weight
    is multiplied by the same factor, and a power of two changes no rounding;
    but sums of weights near 1e308 overflow (a mean of 0 or NaN) and products
    of tiny weights underflow. Weights in the ordinary range are returned as
    they are, so results there are unchanged to the last bit.
    """
    if weight.shape[0] == 0:
        return weight
    top = float(weight.max())
    if top <= 0.0 or _WEIGHT_RANGE[0] <= top <= _WEIGHT_RANGE[1]:
        return weight
    return np.ldexp(np.asarray(weight, np.float64), -_pow2_exponent(top))


def _drop_zero_weight(
    y: np.ndarray, margin: np.ndarray, weight: np.ndarray, offsets: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    """The rows (or groups) of positive weight.

    A row of weight 0 adds nothing to a weighted sum, except where its own
    loss overflows: then ``0 * inf`` is NaN. Dropping the row first changes no
    other partial sum.
    """
    if offsets is None:
        keep = weight > 0.0
        return y[keep], margin[keep], weight[keep], None
    sizes = np.diff(offsets)
    keep_group = weight[offsets[:-1]] > 0.0
    keep = np.repeat(keep_group, sizes)
    new_offsets = np.concatenate(([0], np.cumsum(sizes[keep_group]))).astype(offsets.dtype)
    return y[keep], margin[keep], weight[keep], new_offsets


def _weighted_quantile(y: np.ndarray, weight: np.ndarray, alpha: float) -> float:
    """Smallest label at which the weighted share of labels at or below reaches ``alpha``.

    This is a minimiser of the weighted pinball loss at level ``alpha``.
    """
    order = np.argsort(y, kind="stable")
    ys = np.asarray(y, dtype=np.float64)[order]
    w = np.ones_like(ys) if weight.shape[0] == 0 else np.asarray(_tame_weight(weight), np.float64)[order]
    cum = np.cumsum(w)
    idx = int(np.searchsorted(cum, alpha * cum[-1], side="left"))
    return float(ys[min(idx, ys.shape[0] - 1)])


def _weighted_mean(y: np.ndarray, weight: np.ndarray) -> float:
    """Weighted mean of ``y``; finite for any finite labels and weights.

    Labels near the float64 maximum overflow the plain sum; they are then
    averaged after an exact power-of-two rescaling. The mean is kept inside
    [min(y), max(y)], where it belongs, against the last rounding.
    """
    y64 = np.asarray(y, np.float64)
    w = _tame_weight(weight)
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        mean = float(np.mean(y64)) if w.shape[0] == 0 else float(np.average(y64, weights=w))
        if not math.isfinite(mean):
            exponent = _pow2_exponent(float(np.abs(y64).max()))
            scaled = np.ldexp(y64, -exponent)
            mean = float(np.mean(scaled)) if w.shape[0] == 0 else float(np.average(scaled, weights=w))
            # np.ldexp (inf on overflow, clamped below), not math.ldexp, which
            # raises when the rescaled mean rounds just past the float64 maximum.
            mean = float(np.ldexp(mean, exponent))
    # Rounding (or products of subnormal labels and weights) can step outside.
    return min(max(mean, float(y64.min())), float(y64.max()))


def _objective_weight(weight: np.ndarray, n_rows: int) -> np.ndarray:
    """Weights for a summed objective that must not overflow: rescaled by a
    power of two so that they sum to at most 1, which makes the sum no larger
    than the largest row's loss and leaves every minimiser (and every
    comparison of objective values) exactly as it was."""
    w = np.ones(n_rows) if weight.shape[0] == 0 else np.asarray(weight, np.float64)
    return np.ldexp(w, -_pow2_exponent(float(w.max())) - max(0, math.ceil(math.log2(n_rows))))


def _minimize_1d(fun: Callable[[float], float], low: float, high: float) -> float:
    """Global minimum of a 1-D function on [low, high]: a grid, then Brent's method
    in the cell around the best grid point (robust for non-convex focal loss)."""
    from scipy.optimize import minimize_scalar

    if high <= low:
        return float(low)
    width = high - low
    if math.isfinite(width):
        grid = np.linspace(low, high, 61)
    else:
        # Labels spanning more than the float64 range: interpolate without
        # forming high - low.
        t = np.linspace(0.0, 1.0, 61)
        grid = low * (1.0 - t) + high * t
        grid[0], grid[-1] = low, high
        width = 0.5 * abs(high) + 0.5 * abs(low)
    with np.errstate(over="ignore", invalid="ignore"):
        values = np.array([fun(float(c)) for c in grid])
    best = int(np.argmin(values))
    lo = grid[max(best - 1, 0)]
    hi = grid[min(best + 1, grid.shape[0] - 1)]
    # Brent's arithmetic can overflow harmlessly when labels are near 1e300.
    with np.errstate(over="ignore", invalid="ignore"):
        res = minimize_scalar(fun, bounds=(lo, hi), method="bounded",
                              options={"xatol": 1e-12 * max(1.0, width)})
    return float(res.x) if res.fun <= values[best] else float(grid[best])


@dataclass(frozen=True)
class LeafRefit:
    """A loss whose tree leaves must be refit to a residual quantile.

    Absolute error and quantile losses have (nearly) constant curvature, so
    Newton leaves fall short of the boosters' built-ins, which set every leaf
    to a quantile of its residuals after the tree is grown.

    Attributes
    ----------
    quantile : float
        The residual quantile every leaf is refit to.
    surrogate : Loss
        The smooth majorise-minimise loss that XGBoost >= 3.4's built-in
        trains with instead of a refit.
    """

    quantile: float
    surrogate: "Loss"


_TASKS = ("regression", "binary", "multiclass", "ranking")


class Loss:
    """Base class of all losses: facts as data, kernels behind a fast path.

    A subclass declares the class attributes ``name``, ``link``, ``task`` and
    ``label_domain`` (a :class:`~gbm_objectives.domains.Domain`, or a property
    when it depends on a parameter), stores every constructor argument,
    validated, in an attribute of the same name, and implements the fast
    path :meth:`grad_hess_into`, :meth:`loss_sum` and :meth:`fit_init_score`.
    The public methods validate their inputs and call the fast path;
    adapters call the fast path directly on data they validated once. See
    CONTRIBUTING.md for adding a loss step by step.
    """

    name: ClassVar[str] = ""
    link: ClassVar[Link]
    #: "regression", "binary", "multiclass" or "ranking".
    task: ClassVar[str] = "regression"
    label_domain: Domain = RealLine()
    #: True for losses defined over groups of rows (``group=`` is required).
    needs_group: ClassVar[bool] = False

    def __init__(self) -> None:
        pass

    # -- facts -----------------------------------------------------------------
    @property
    def n_outputs(self) -> int:
        """Margin columns per row (1, or e.g. the number of classes)."""
        return 1

    @property
    def output_names(self) -> tuple[str, ...]:
        """One name per margin column."""
        return (self.name,) if self.n_outputs == 1 else tuple(f"{self.name}_{j}" for j in range(self.n_outputs))

    @property
    def output_links(self) -> tuple[Link, ...]:
        """The link of every margin column."""
        return (self.link,) * self.n_outputs

    @property
    def is_multiclass(self) -> bool:
        """Whether the loss classifies into ``n_outputs`` classes."""
        return self.task == "multiclass"

    @property
    def variance_power(self) -> float | None:
        """The power ``p`` of the Tweedie variance function ``Var(Y) = phi mu^p`` the loss
        is the deviance of (1 Poisson, 2 Gamma), or None for other losses."""
        return None

    @property
    def leaf_refit(self) -> LeafRefit | None:
        """How tree leaves must be refit after each tree, or None when Newton leaves suffice."""
        return None

    @property
    def exact_hessian(self) -> bool:
        """Whether ``hess`` is the true second derivative (up to the 1e-16 floor)."""
        return True

    def builtin_objective(self, booster: str) -> dict[str, Any] | None:
        """The booster's built-in objective for this loss, as booster parameters.

        Models trained with the loss are saved under it (so plain
        ``xgboost`` / ``lightgbm`` continue and predict them like the
        built-in); for losses with :attr:`leaf_refit` it is the built-in
        that refits the leaves. None where the booster has no such
        objective: adapters then use the link's host objective
        (``link.xgboost_objective`` / ``link.lightgbm_objective``).

        Parameters
        ----------
        booster : {"xgboost", "lightgbm"}
        """
        check_choice(booster, "booster", ("xgboost", "lightgbm"))
        return None

    # -- parameters: all read from the constructor's signature ------------------
    @property
    def params(self) -> dict[str, Any]:
        """The parameters that describe this loss in its repr and in labels.

        Numeric parameters always; text, None and other parameters only where
        they differ from the constructor's default. :meth:`get_params` gives
        every constructor argument (what saved models record).
        """
        defaults = self._param_defaults()
        out = {}
        for key, value in self.get_params().items():
            numeric = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
            if numeric or key not in defaults or not _same_value(defaults[key], value):
                out[key] = value
        return out

    @classmethod
    def _param_defaults(cls) -> dict[str, Any]:
        signature = inspect.signature(cls.__init__)
        return {p.name: p.default for p in signature.parameters.values()
                if p.name != "self" and p.default is not inspect.Parameter.empty}

    @classmethod
    def _get_param_names(cls) -> list[str]:
        """The constructor's parameter names, in signature order.

        Every loss stores each constructor argument, validated, in an attribute
        of the same name, so the signature alone tells which attributes are
        parameters (the scikit-learn convention).
        """
        signature = inspect.signature(cls.__init__)
        names = []
        for p in signature.parameters.values():
            if p.name == "self":
                continue
            if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
                raise TypeError(f"{cls.__name__}.__init__ must list its parameters explicitly, not *{p.name}")
            names.append(p.name)
        return names

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Every constructor argument of this loss, defaults included.

        ``type(loss)(**loss.get_params())`` builds an equal loss, which is what
        :func:`sklearn.base.clone` and grid searches over ``loss__<name>`` rely on.

        Parameters
        ----------
        deep : bool, default True
            Accepted for scikit-learn compatibility; losses hold no nested
            estimators, so it changes nothing.

        Returns
        -------
        dict
            Parameter name to value.
        """
        out = {}
        for name in self._get_param_names():
            try:
                out[name] = getattr(self, name)
            except AttributeError:
                raise TypeError(
                    f"{type(self).__name__} does not store its constructor argument {name!r} "
                    f"as an attribute of that name"
                ) from None
        return out

    def set_params(self, **params: Any) -> "Loss":
        """Change constructor parameters in place and return the loss.

        The new parameters are validated by building a fresh loss, so an invalid
        value raises the constructor's ValueError and leaves this loss unchanged.

        Parameters
        ----------
        **params
            Constructor arguments to change, e.g. ``power=1.3``.

        Returns
        -------
        Loss
            ``self``.

        Raises
        ------
        ValueError
            For a name that is not a constructor parameter (the message lists the
            valid ones) or a value the constructor rejects.
        """
        if not params:
            return self
        valid = self._get_param_names()
        unknown = sorted(set(params) - set(valid))
        if unknown:
            allowed = ", ".join(valid) or "none"
            raise ValueError(
                f"invalid parameter(s) {', '.join(map(repr, unknown))} for {type(self).__name__}; "
                f"valid parameters: {allowed}"
            )
        fresh = type(self)(**{**self.get_params(), **params})
        self.__dict__.clear()
        self.__dict__.update(fresh.__dict__)
        return self

    def __sklearn_clone__(self) -> "Loss":
        # A fresh instance from the constructor arguments: scikit-learn's default
        # clone would also demand that the constructor store each argument
        # object unchanged, which validated (converted) parameters are not.
        return type(self)(**self.get_params())

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"{type(self).__name__}({args})"

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and repr(sorted(self.get_params().items())) == repr(
            sorted(other.get_params().items())  # type: ignore[attr-defined]
        )

    def __hash__(self) -> int:
        return hash((type(self).__name__, repr(sorted(self.get_params().items()))))

    # -- validation ----------------------------------------------------------
    def check_labels(self, y: Any) -> np.ndarray:
        """Validate labels: 1-D, finite, inside the loss's domain; return them as an array."""
        arr = as_float_array(y, "y")
        if arr.shape[0] == 0:
            raise ValueError("y is empty")
        self.label_domain.check(arr, self.name)
        return arr

    def check_margin(self, margin: Any, n_rows: int) -> np.ndarray:
        """Validate a margin array against ``n_rows`` labels and the loss's shape."""
        m = as_float_array(margin, "margin", ndim=(1, 2))
        k = self.n_outputs
        if m.ndim == 2 and k == 1 and m.shape[1] == 1:
            m = m.reshape(-1)
        expected = (n_rows, k) if k > 1 else (n_rows,)
        if m.shape != expected:
            raise ValueError(f"margin has shape {m.shape}, expected {expected} for {self!r}")
        return m

    def _offsets(self, group: Any, n_rows: int) -> np.ndarray | None:
        if self.needs_group:
            return group_offsets(group, n_rows)
        if group is not None:
            raise ValueError(f"{self.name} does not use groups; group must be None")
        return None

    def _validate(self, y: Any, margin: Any, sample_weight: Any, group: Any):
        y_arr = self.check_labels(y)
        m = self.check_margin(margin, y_arr.shape[0])
        w = check_sample_weight(sample_weight, y_arr.shape[0])
        offsets = self._offsets(group, y_arr.shape[0])
        if offsets is not None:
            self.check_groups(y_arr, w, offsets)
        return y_arr, m, w, offsets

    def check_groups(self, y: np.ndarray, weight: np.ndarray, offsets: np.ndarray) -> None:
        """Raise ValueError when validated labels or weights break a grouped loss's per-group rules.

        ``offsets`` are the group boundaries ``[0, ..., n]``; nothing to check
        for losses without groups.
        """

    # -- public API ----------------------------------------------------------
    def grad_hess(
        self,
        y: Any,
        margin: Any,
        sample_weight: Any = None,
        *,
        group: Any = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Gradient and Hessian of the loss with respect to the raw margin.

        Parameters
        ----------
        y : array of shape (n,)
            Labels in the loss's domain.
        margin : array of shape (n,) or (n, k)
            Raw scores (before the inverse link).
        sample_weight : array of shape (n,), optional
            Non-negative weights; they multiply both outputs.
        group : array, optional
            Grouped losses only: group sizes, or one query id per row.

        Returns
        -------
        grad, hess : float32 arrays shaped like ``margin``
            ``hess`` is always positive.
        """
        y_arr, m, w, offsets = self._validate(y, margin, sample_weight, group)
        grad = np.empty(m.shape, dtype=np.float32)
        hess = np.empty(m.shape, dtype=np.float32)
        self.grad_hess_into(y_arr, m, w, grad, hess, offsets)
        return grad, hess

    def loss(self, y: Any, margin: Any, sample_weight: Any = None, *, group: Any = None) -> float:
        """Weighted mean loss (per row, or per group for grouped losses), in float64."""
        y_arr, m, w, offsets = self._validate(y, margin, sample_weight, group)
        if w.shape[0] and float(w.min()) == 0.0:
            y_arr, m, w, offsets = _drop_zero_weight(y_arr, m, w, offsets)
        # Weights near 1e308 would overflow their own sum (a mean of 0).
        w = _tame_weight(w)
        total = self.loss_sum(y_arr, m, w, offsets)
        if offsets is not None:
            starts = offsets[:-1]
            denom = float(starts.shape[0]) if w.shape[0] == 0 else float(w[starts].sum())
        else:
            denom = float(y_arr.shape[0]) if w.shape[0] == 0 else float(w.sum())
        if not math.isfinite(total):
            # The sum overflowed though the mean need not: sum the rows with
            # weights normalised to a total of 1 instead.
            w_norm = (np.ones(y_arr.shape[0]) if w.shape[0] == 0 else w) / denom
            mean = float(self.loss_sum(y_arr, m, w_norm, offsets))
            # NaN here is a row whose own loss is beyond float64 meeting a
            # normalised weight that underflowed to 0: the mean is out of range.
            return math.inf if math.isnan(mean) else mean
        return float(total / denom)

    def init_score(self, y: Any, sample_weight: Any = None, *, group: Any = None) -> float | np.ndarray:
        """The constant margin that minimises the weighted loss on ``y``.

        A float, or an array of ``n_outputs`` values for multi-output losses.
        """
        y_arr = self.check_labels(y)
        w = check_sample_weight(sample_weight, y_arr.shape[0])
        offsets = self._offsets(group, y_arr.shape[0])
        if offsets is not None:
            self.check_groups(y_arr, w, offsets)
        return self.fit_init_score(y_arr, w)

    def predict(self, margin: Any, *, group: Any = None) -> np.ndarray:
        """Predictions on the response scale: the inverse link of ``margin``."""
        m = as_float_array(margin, "margin", ndim=(1, 2))
        k = self.n_outputs
        if k > 1 and (m.ndim != 2 or m.shape[1] != k):
            raise ValueError(f"margin has shape {m.shape}, expected (n, {k})")
        if k == 1 and m.ndim == 2:
            if m.shape[1] != 1:
                raise ValueError(f"margin has shape {m.shape}, expected (n,)")
            m = m.reshape(-1)
        return self.link.inverse(m)

    # -- fast path: what adapters call on data they validated once ---------------
    def grad_hess_into(self, y, margin, weight, grad, hess, offsets=None, sums=None) -> None:
        """Write the gradient and curvature of every margin into ``grad`` and ``hess``.

        No validation: ``y`` and ``margin`` are finite float32/float64
        C-contiguous arrays of matching rows, ``weight`` is an empty array
        (unweighted) or one non-negative weight per row, ``grad`` and
        ``hess`` are float32 arrays shaped like ``margin``, ``offsets`` the
        group boundaries of grouped losses. ``sums`` is what
        :meth:`global_sums` returned, added over every worker of a
        distributed training; None computes them from this call's rows.
        """
        raise NotImplementedError

    def loss_sum(self, y, margin, weight, offsets=None) -> float:
        """The weighted sum of the per-row (or per-group) losses; no validation."""
        raise NotImplementedError

    def fit_init_score(self, y: np.ndarray, weight: np.ndarray) -> float | np.ndarray:
        """The constant margin minimising the weighted loss of validated labels."""
        raise NotImplementedError

    def global_sums(self, y, margin, weight) -> np.ndarray | None:
        """Sums over all training rows that the gradients depend on, or None.

        Distributed training adds them over the workers and passes the
        totals to :meth:`grad_hess_into` as ``sums``, so every worker uses
        the statistics of the whole training set, as a single machine does.
        """
        return None

    # The names the fast path had before it was public; kept for callers and
    # code written against earlier releases.
    def _grad_hess_into(self, y, margin, weight, grad, hess, offsets=None) -> None:
        self.grad_hess_into(y, margin, weight, grad, hess, offsets)

    def _loss_sum(self, y, margin, weight, offsets=None) -> float:
        return self.loss_sum(y, margin, weight, offsets)

    def _init_score(self, y: np.ndarray, weight: np.ndarray) -> float | np.ndarray:
        return self.fit_init_score(y, weight)

    def _minimize_constant(self, y: np.ndarray, weight: np.ndarray, low: float, high: float) -> float:
        if weight.shape[0] and float(weight.min()) == 0.0:
            y, _, weight, _ = _drop_zero_weight(y, y, weight, None)
        w = _objective_weight(weight, y.shape[0])

        def fun(c: float) -> float:
            return self.loss_sum(y, np.full(y.shape[0], c), w)

        return _minimize_1d(fun, low, high)


def _same_value(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is b
    try:
        return type(a) is type(b) and bool(a == b)
    except (TypeError, ValueError):
        return False


# ---------------------------------------------------------------------------
# Identity link
# ---------------------------------------------------------------------------


@register_loss
class SquaredError(Loss):
    """Half squared error ``(y - f)^2 / 2``; link: identity; y any real.

    Gradient ``f - y``, Hessian 1 (the gradient of XGBoost's ``reg:squarederror``
    and LightGBM's ``regression``). Targets the conditional mean.
    """

    name = "squared_error"
    link = IdentityLink()

    def builtin_objective(self, booster: str) -> dict[str, Any] | None:
        check_choice(booster, "booster", ("xgboost", "lightgbm"))
        return {"objective": "regression" if booster == "lightgbm" else "reg:squarederror"}

    def grad_hess_into(self, y, margin, weight, grad, hess, offsets=None, sums=None):
        regression.squared_error_grad_hess(y, margin, weight, grad, hess)

    def loss_sum(self, y, margin, weight, offsets=None):
        return regression.squared_error_loss_sum(y, margin, weight)

    def fit_init_score(self, y, weight):
        return _weighted_mean(y, weight)


class _CurvatureMixin:
    _curvature_code: int

    def _set_curvature(self, curvature: str, choices: tuple[str, ...]) -> str:
        check_choice(curvature, "curvature", choices)
        self._curvature_code = _CURVATURES[curvature]
        return curvature


@register_loss
class Quantile(_CurvatureMixin, Loss):
    """Pinball loss ``max(alpha (y - f), (alpha - 1)(y - f))``; link: identity.

    Targets the conditional ``alpha``-quantile. Gradient ``1 - alpha`` above the
    label, ``-alpha`` below, and ``1 - alpha`` at a tie ``f == y`` (a
    subgradient), as both boosters' built-ins (LightGBM's ``quantile`` and
    XGBoost's ``reg:quantileerror`` up to 3.3 take ``f - y >= 0`` as above):
    on zero-inflated targets the start margin equals many labels exactly, and
    a different choice there grows different trees. The true Hessian is zero; the
    curvature used (``curvature="scaled"``) is ``0.5 / (|f - y| + s)`` with ``s``
    the mean absolute residual of the call: the curvature of the check loss's
    quadratic majoriser ``1 / (2|r|)``, kept finite by ``s``, so Newton steps are
    in the target's units and shrink as the fit improves (a constant 1 would
    make a leaf step at most one unit, whatever the scale of ``y``).
    ``curvature="unit"`` uses the constant 0.5 of the boosters' built-ins.
    ``curvature="mm"`` is XGBoost 3.4's smooth MM objective (PR #12386),
    which replaces the gradient as well: with ``S = (sum w sqrt|r| / sum w)^2``
    over the call and ``x = r / (c S)``, ``c = 0.04``, gradient
    ``w S / 2 (tanh x + 1 - 2 alpha)`` (the score of a logistic smoothing of
    the pinball loss, times ``S``) and curvature
    ``w / (2c) max(tanh(x) / x, 3e-4)`` (the secant majoriser of the
    smoothing); a surrogate recomputed each round rather than the derivative
    of one loss, which lets plain Newton leaves reach built-in quality on
    XGBoost >= 3.4, where the built-ins no longer refit leaves.
    Tree boosters reach built-in quality only when leaves are refit to residual
    quantiles, which the adapters' ``train`` functions do (handing the booster
    one unit of curvature per row there, as the built-ins do, since the refit
    sets the leaf values). Without a refit, the scaled curvature per row is
    about ``1 / |y|``: on targets in the thousands lower XGBoost's
    ``min_child_weight`` / LightGBM's ``min_sum_hessian_in_leaf`` accordingly.

    Parameters
    ----------
    alpha : float in (0, 1), default 0.5
    curvature : {"scaled", "unit", "mm"}, default "scaled"
    """

    name = "quantile"
    link = IdentityLink()
    _scale = 1.0

    def __init__(self, alpha: float = 0.5, curvature: str = "scaled") -> None:
        super().__init__()
        self.alpha = check_scalar(alpha, "alpha", low=0.0, high=1.0, low_inclusive=False, high_inclusive=False)
        check_choice(curvature, "curvature", ("scaled", "unit", "mm"))
        self._curvature_code = regression.CURVATURE_UNIT if curvature == "unit" else regression.CURVATURE_IRLS
        self.curvature = curvature

    @property
    def exact_hessian(self) -> bool:
        return False

    @property
    def leaf_refit(self) -> LeafRefit | None:
        if self.curvature == "mm":
            return None
        return LeafRefit(quantile=self.alpha, surrogate=self._mm_surrogate())

    def _mm_surrogate(self) -> "Quantile":
        return Quantile(self.alpha, curvature="mm")

    def builtin_objective(self, booster: str) -> dict[str, Any] | None:
        check_choice(booster, "booster", ("xgboost", "lightgbm"))
        if booster == "lightgbm":
            return {"objective": "quantile", "alpha": float(self.alpha)}
        # XGBoost's built-in refits leaves below 3.4 and is the MM surrogate
        # from 3.4 on: the same loss as the refitting curvatures only.
        if self.curvature == "mm":
            return None
        return {"objective": "reg:quantileerror", "quantile_alpha": float(self.alpha)}

    def grad_hess_into(self, y, margin, weight, grad, hess, offsets=None, sums=None):
        if self.curvature == "mm":
            self._mm_grad_hess_into(y, margin, weight, grad, hess,
                                    self.global_sums(y, margin, weight) if sums is None else sums)
            return
        regression.pinball_grad_hess(
            y, margin, weight, self.alpha, self._scale, self._curvature_code, self._tie_grad, grad, hess
        )

    @property
    def _tie_grad(self) -> float:
        """Gradient (before ``_scale``) at a tie: the built-in quantiles' ``1 - alpha``."""
        return 1.0 - self.alpha

    def global_sums(self, y, margin, weight) -> np.ndarray | None:
        """``[sum w sqrt|r|, sum w]``, the MM surrogate's residual scale (None for other curvatures)."""
        if self.curvature != "mm":
            return None
        return np.array(regression.mm_root_residual_sums(y, margin, weight), dtype=np.float64)

    def _mm_sums(self, y, margin, weight) -> tuple[float, float]:
        # The former name of global_sums, kept for callers written against it.
        sums = self.global_sums(y, margin, weight)
        return (float(sums[0]), float(sums[1])) if sums is not None else (0.0, 0.0)

    def _mm_grad_hess_into(self, y, margin, weight, grad, hess, sums) -> None:
        root_sum, weight_sum = float(sums[0]), float(sums[1])
        # A product, not ** 2: Python's float power raises OverflowError where
        # the kernels take an infinite scale in their stride.
        ratio = root_sum / weight_sum if weight_sum != 0.0 else 0.0
        scale = ratio * ratio
        self._mm_kernel(y, margin, weight, scale, grad, hess)

    def _mm_kernel(self, y, margin, weight, scale, grad, hess) -> None:
        regression.pinball_mm_grad_hess(y, margin, weight, self.alpha, scale, grad, hess)

    def loss_sum(self, y, margin, weight, offsets=None):
        return regression.pinball_loss_sum(y, margin, weight, self.alpha, self._scale)

    def fit_init_score(self, y, weight):
        return _weighted_quantile(y, weight, self.alpha)


@register_loss
class AbsoluteError(Quantile):
    """Absolute error ``|y - f|``; link: identity. Targets the conditional median.

    Equals twice the pinball loss at ``alpha = 0.5``: gradient ``sign(f - y)``,
    0 at a tie, as XGBoost's ``reg:absoluteerror`` and LightGBM's ``l1``;
    curvature ``1 / (|f - y| + s)`` (see :class:`Quantile` for why).
    ``curvature="mm"`` is XGBoost 3.4's smooth MM absolute error (PR
    #12373), a pseudo-Huber surrogate rather than the quantile one: with
    ``delta = (sum w sqrt|r| / sum w)^2`` over the call and
    ``q = sqrt(1 + (r / delta)^2)``, gradient ``w r / q`` and curvature
    ``w / q`` (the IRLS majoriser of pseudo-Huber, not its exact ``1 / q^3``),
    so the gradient tends to ``delta sign(r)`` as ``|r|`` grows.

    Parameters
    ----------
    curvature : {"scaled", "unit", "mm"}, default "scaled"
    """

    name = "absolute_error"
    _scale = 2.0

    def __init__(self, curvature: str = "scaled") -> None:
        super().__init__(alpha=0.5, curvature=curvature)

    def _mm_surrogate(self) -> "AbsoluteError":
        return AbsoluteError(curvature="mm")

    def builtin_objective(self, booster: str) -> dict[str, Any] | None:
        check_choice(booster, "booster", ("xgboost", "lightgbm"))
        if booster == "lightgbm":
            return {"objective": "regression_l1"}
        return None if self.curvature == "mm" else {"objective": "reg:absoluteerror"}

    @property
    def _tie_grad(self) -> float:
        return 0.0

    def _mm_kernel(self, y, margin, weight, scale, grad, hess) -> None:
        regression.absolute_mm_grad_hess(y, margin, weight, scale, grad, hess)


@register_loss
class Huber(_CurvatureMixin, Loss):
    """Huber loss: ``r^2 / 2`` for ``|r| <= delta``, ``delta (|r| - delta/2)`` beyond;
    ``r = f - y``; link: identity.

    In the linear region the true Hessian is zero. ``curvature="unit"`` (default)
    keeps 1 there: the curvature of the quadratic that majorises Huber loss
    everywhere (a guaranteed-descent Newton step; LightGBM's ``huber`` does the
    same). ``curvature="irls"`` uses ``delta / |r|``, the iteratively reweighted
    least-squares weight, whose Newton step reaches an outlying label in one step.

    Scale-free delta
    ----------------
    Huber's 1.35 (for 95% efficiency under Gaussian noise) is in units of the
    residual scale. With ``delta_scale="robust"`` the threshold is
    ``delta * s``, where ``s = 1.4826 * median(|r - median(r)|)`` is the MAD
    of the current residuals (weighted medians over rows of positive weight),
    so ``huber(delta=1.35, delta_scale="robust")`` means the same on costs in
    the thousands as on unit-scale targets. ``s`` is re-estimated at every
    call from ``(y, margin, weight)``, as a robust regression re-estimates its
    scale at every iteration (statsmodels' ``RLM`` with the MAD, Huber's
    proposal 2): no state is kept, so a saved model, both boosters' adapters
    and every fold behave alike, and ``s`` shrinks as the fit improves,
    separating the outliers from the residual noise rather than from the
    spread of ``y`` (which holds the signal too). A scale fixed from the
    labels at the start would need state outside ``(y, margin, weight)``.
    Gradients and curvatures are exact for that call's ``delta * s`` (the
    scale is not differentiated). When more than half the residuals are
    equal (MAD 0) ``s`` is their mean absolute deviation times
    ``sqrt(pi / 2)``; when all are equal, ``|median(r)|`` (one Newton step
    reaches them), or 1 on a perfect fit. The scale is that of the rows
    passed in: an evaluation set gets its own, and distributed training
    (Dask) computes one per worker from the worker's rows.

    Parameters
    ----------
    delta : float > 0, default 1.35
        Where quadratic turns linear: in the units of ``y``, or with
        ``delta_scale="robust"`` in robust standard deviations of the residuals.
    curvature : {"unit", "irls"}, default "unit"
    delta_scale : {None, "robust"}, default None
        None: ``delta`` is absolute. ``"robust"``: ``delta`` times the MAD of
        the current residuals (see above).
    """

    name = "huber"
    link = IdentityLink()

    def __init__(self, delta: float = 1.35, curvature: str = "unit", delta_scale: str | None = None) -> None:
        super().__init__()
        self.delta = check_scalar(delta, "delta", low=0.0, low_inclusive=False)
        self.curvature = self._set_curvature(curvature, ("unit", "irls"))
        if delta_scale not in (None, "robust"):
            raise ValueError(f"delta_scale must be None or 'robust', got {delta_scale!r}")
        self.delta_scale = delta_scale

    def builtin_objective(self, booster: str) -> dict[str, Any] | None:
        check_choice(booster, "booster", ("xgboost", "lightgbm"))
        return {"objective": "huber", "alpha": float(self.delta)} if booster == "lightgbm" else None

    @property
    def exact_hessian(self) -> bool:
        return False

    def _delta_for(self, y, margin, weight) -> float:
        if self.delta_scale is None:
            return self.delta
        return self.delta * _robust_residual_scale(np.asarray(margin, np.float64) - np.asarray(y, np.float64),
                                                   weight)

    def grad_hess_into(self, y, margin, weight, grad, hess, offsets=None, sums=None):
        regression.huber_grad_hess(y, margin, weight, self._delta_for(y, margin, weight), self._curvature_code,
                                   grad, hess)

    def loss_sum(self, y, margin, weight, offsets=None):
        return regression.huber_loss_sum(y, margin, weight, self._delta_for(y, margin, weight))

    def fit_init_score(self, y, weight):
        return self._minimize_constant(y, weight, float(y.min()), float(y.max()))


def _weighted_quantile_half(x: np.ndarray, w: np.ndarray | None) -> float:
    if w is None:
        return float(np.median(x))
    order = np.argsort(x, kind="stable")
    cum = np.cumsum(w[order])
    idx = int(np.searchsorted(cum, 0.5 * cum[-1], side="left"))
    return float(x[order][min(idx, x.shape[0] - 1)])


def _robust_residual_scale(r: np.ndarray, weight: np.ndarray) -> float:
    """``1.4826 * MAD`` of the residuals over rows of positive weight, with fallbacks (see :class:`Huber`)."""
    keep = np.isfinite(r)
    w = None
    if weight.shape[0] > 0:
        w = np.asarray(weight, np.float64)
        keep &= w > 0.0
        w = w[keep]
    r = r[keep]
    if r.shape[0] == 0:
        return 1.0
    med = _weighted_quantile_half(r, w)
    dev = np.abs(r - med)
    mad = 1.4826 * _weighted_quantile_half(dev, w)
    if mad > 0.0 and math.isfinite(mad):
        return mad
    mean_abs = float(np.average(dev, weights=w)) * math.sqrt(math.pi / 2.0)
    if mean_abs > 0.0 and math.isfinite(mean_abs):
        return mean_abs
    return abs(med) if abs(med) > 0.0 and math.isfinite(med) else 1.0


@register_loss
class PseudoHuber(_CurvatureMixin, Loss):
    """Pseudo-Huber loss ``delta^2 (sqrt(1 + (r/delta)^2) - 1)``, ``r = f - y``; link: identity.

    Smooth everywhere; the loss of XGBoost's ``reg:pseudohubererror`` with
    ``huber_slope = delta``. The default ``curvature="irls"`` uses
    ``(1 + (r/delta)^2)^(-1/2)`` (gradient over residual): a majoriser, never
    below the true Hessian, whose Newton step reaches a single label exactly,
    so a leaf's step is a weighted mean of its residuals and stays inside the
    labels' range. ``curvature="exact"`` is the true Hessian
    ``(1 + (r/delta)^2)^(-3/2)`` that ``reg:pseudohubererror`` uses; it decays
    like ``|r|^-3``, so on targets many ``delta`` wide (costs in the
    thousands) a leaf far from its labels gets almost no curvature and, without
    L2 regularisation (LightGBM's default ``lambda_l2 = 0``), Newton steps tens
    of thousands of units long.

    Parameters
    ----------
    delta : float > 0, default 1.0
    curvature : {"irls", "exact"}, default "irls"
        ``"exact"`` reproduces XGBoost's ``reg:pseudohubererror``.
    """

    name = "pseudo_huber"
    link = IdentityLink()

    def __init__(self, delta: float = 1.0, curvature: str = "irls") -> None:
        super().__init__()
        self.delta = check_scalar(delta, "delta", low=0.0, low_inclusive=False)
        self.curvature = self._set_curvature(curvature, ("irls", "exact"))

    def builtin_objective(self, booster: str) -> dict[str, Any] | None:
        check_choice(booster, "booster", ("xgboost", "lightgbm"))
        if booster == "xgboost" and self.curvature == "exact":
            return {"objective": "reg:pseudohubererror", "huber_slope": float(self.delta)}
        return None

    @property
    def exact_hessian(self) -> bool:
        return self.curvature == "exact"

    def grad_hess_into(self, y, margin, weight, grad, hess, offsets=None, sums=None):
        regression.pseudo_huber_grad_hess(y, margin, weight, self.delta, self._curvature_code, grad, hess)

    def loss_sum(self, y, margin, weight, offsets=None):
        return regression.pseudo_huber_loss_sum(y, margin, weight, self.delta)

    def fit_init_score(self, y, weight):
        return self._minimize_constant(y, weight, float(y.min()), float(y.max()))


@register_loss
class LogCosh(_CurvatureMixin, Loss):
    """Log-cosh loss ``log(cosh(f - y))``; link: identity.

    Quadratic near zero, ``|r| - log 2`` in the tails. Gradient ``tanh(r)``.
    The true Hessian ``sech(r)^2`` vanishes exponentially in the tails, so an exact
    Newton step on a label 20 units away would be ~1e16 long. The default
    ``curvature="irls"`` uses ``tanh(r) / r`` instead: equal to the true Hessian
    at ``r = 0``, never below it, ``~1/|r|`` in the tails, and its Newton step
    reaches a single label exactly. ``curvature="exact"`` gives ``sech(r)^2``.

    Parameters
    ----------
    curvature : {"irls", "exact"}, default "irls"
    """

    name = "log_cosh"
    link = IdentityLink()

    def __init__(self, curvature: str = "irls") -> None:
        super().__init__()
        self.curvature = self._set_curvature(curvature, ("irls", "exact"))

    @property
    def exact_hessian(self) -> bool:
        return self.curvature == "exact"

    def grad_hess_into(self, y, margin, weight, grad, hess, offsets=None, sums=None):
        regression.log_cosh_grad_hess(y, margin, weight, self._curvature_code, grad, hess)

    def loss_sum(self, y, margin, weight, offsets=None):
        return regression.log_cosh_loss_sum(y, margin, weight)

    def fit_init_score(self, y, weight):
        return self._minimize_constant(y, weight, float(y.min()), float(y.max()))


# ---------------------------------------------------------------------------
# Log link: the Tweedie family
# ---------------------------------------------------------------------------


@register_loss
class Tweedie(Loss):
    """Half Tweedie deviance with log link, ``mu = exp(f)``; y >= 0 (y > 0 at power 2).

    ``loss = y^(2-p)/((1-p)(2-p)) - y mu^(1-p)/(1-p) + mu^(2-p)/(2-p)``,
    gradient ``-y mu^(1-p) + mu^(2-p)``, Hessian
    ``(p-1) y mu^(1-p) + (2-p) mu^(2-p)`` (always positive for y >= 0). At
    ``power = 1`` and ``2`` the Poisson and Gamma deviances are used exactly.
    Matches XGBoost's ``reg:tweedie`` and LightGBM's ``tweedie`` gradients and
    scikit-learn's ``HalfTweedieLoss``.

    Parameters
    ----------
    power : float in [1, 2], default 1.5
        Variance power: ``Var(Y) = phi mu^power``.
    """

    name = "tweedie"
    link = LogLink()

    def __init__(self, power: float = 1.5) -> None:
        super().__init__()
        self.power = check_scalar(power, "power", low=1.0, high=2.0)

    @property
    def label_domain(self) -> Domain:  # type: ignore[override]
        return Interval(0.0, low_inclusive=self.power < 2.0)

    @property
    def variance_power(self) -> float | None:
        return float(self.power)

    def builtin_objective(self, booster: str) -> dict[str, Any] | None:
        check_choice(booster, "booster", ("xgboost", "lightgbm"))
        if booster == "xgboost":
            return {"objective": "reg:tweedie", "tweedie_variance_power": float(self.power)}
        # LightGBM's tweedie_variance_power must be < 2; power 2 is its gamma deviance.
        if self.power >= 2.0:
            return {"objective": "gamma"}
        return {"objective": "tweedie", "tweedie_variance_power": float(self.power)}

    def grad_hess_into(self, y, margin, weight, grad, hess, offsets=None, sums=None):
        tweedie.tweedie_grad_hess(y, margin, weight, self.power, grad, hess)

    def loss_sum(self, y, margin, weight, offsets=None):
        return tweedie.tweedie_loss_sum(y, margin, weight, self.power)

    def fit_init_score(self, y, weight):
        # For every power the weighted mean is the optimal constant mean.
        mean = _weighted_mean(y, weight)
        if mean <= 0.0:
            return -MARGIN_LIMIT
        return math.log(mean)


@register_loss
class Poisson(Tweedie):
    """Half Poisson deviance ``y log(y/mu) - y + mu``, ``mu = exp(f)``; y >= 0.

    Gradient ``mu - y``. The curvature is ``mu exp(max_delta_step)``, the
    safeguard of both boosters' built-in Poisson objectives (XGBoost's
    ``count:poisson`` ``max_delta_step``, LightGBM's ``poisson_max_delta_step``,
    both 0.7 by default): a leaf whose margin is far below its labels has a
    tiny exact Hessian ``mu`` and would take a log step of ``log(y / mu)``,
    which on heavy-tailed targets sends predictions to millions. The inflated
    curvature shortens such steps (a majoriser; the gradient and the loss are
    unchanged, so the fixed point is the same). ``max_delta_step = 0`` gives
    the exact Hessian ``mu``, as Tweedie at power 1 and scikit-learn's
    ``HalfPoissonLoss``.

    Parameters
    ----------
    max_delta_step : float >= 0, default 0.7
        The Hessian is multiplied by ``exp(max_delta_step)``.
    """

    name = "poisson"

    def __init__(self, max_delta_step: float = 0.7) -> None:
        super().__init__(power=1.0)
        self.max_delta_step = check_scalar(max_delta_step, "max_delta_step", low=0.0)
        self._hess_factor = math.exp(self.max_delta_step) if self.max_delta_step < 700.0 else math.inf

    @property
    def exact_hessian(self) -> bool:
        return self.max_delta_step == 0.0

    def builtin_objective(self, booster: str) -> dict[str, Any] | None:
        # Both built-ins take the same Hessian safeguard exp(f + max_delta_step);
        # XGBoost also caps every leaf step at it.
        check_choice(booster, "booster", ("xgboost", "lightgbm"))
        if booster == "xgboost":
            return {"objective": "count:poisson", "max_delta_step": float(self.max_delta_step)}
        # LightGBM requires poisson_max_delta_step > 0; the smallest normal
        # double changes no Hessian exp(f + step) (f + step == f in double
        # precision for every |f| >= 1e-292), so it stands for no safeguard.
        return {"objective": "poisson",
                "poisson_max_delta_step": max(float(self.max_delta_step), float(np.finfo(np.float64).tiny))}

    def grad_hess_into(self, y, margin, weight, grad, hess, offsets=None, sums=None):
        tweedie.poisson_grad_hess(y, margin, weight, self._hess_factor, grad, hess)


@register_loss
class Gamma(Tweedie):
    """Half Gamma deviance ``y/mu - log(y/mu) - 1``, ``mu = exp(f)``; y > 0.

    Gradient ``1 - y/mu``, Hessian ``y/mu``; equals Tweedie at power 2 and
    XGBoost's ``reg:gamma``.
    """

    name = "gamma"

    def __init__(self) -> None:
        super().__init__(power=2.0)

    def builtin_objective(self, booster: str) -> dict[str, Any] | None:
        check_choice(booster, "booster", ("xgboost", "lightgbm"))
        return {"objective": "reg:gamma" if booster == "xgboost" else "gamma"}


# ---------------------------------------------------------------------------
# Logit link
# ---------------------------------------------------------------------------


#: Binary labels: hard 0 / 1 or soft labels in between.
_UNIT_INTERVAL = Interval(0.0, 1.0)


def _logit_of_mean(p: float) -> float:
    p = min(max(p, 0.0), 1.0)
    if p <= 0.0:
        return -MARGIN_LIMIT
    if p >= 1.0:
        return MARGIN_LIMIT
    return float(np.clip(math.log(p) - math.log1p(-p), -MARGIN_LIMIT, MARGIN_LIMIT))


@register_loss
class Logistic(Loss):
    """Binary cross-entropy on the logit ``f``, ``p = sigmoid(f)``; y in [0, 1].

    With label smoothing ``eps`` the target is ``y (1 - eps) + eps / 2`` (the
    two-class case of softmax smoothing). Gradient ``p - target``, Hessian
    ``p (1 - p)`` (floored at 1e-16, as XGBoost's ``binary:logistic``).

    Parameters
    ----------
    label_smoothing : float in [0, 1), default 0.0
    """

    name = "logistic"
    link = LogitLink()
    task = "binary"
    label_domain = _UNIT_INTERVAL

    def __init__(self, label_smoothing: float = 0.0) -> None:
        super().__init__()
        self.label_smoothing = check_scalar(label_smoothing, "label_smoothing", low=0.0, high=1.0, high_inclusive=False)

    def builtin_objective(self, booster: str) -> dict[str, Any] | None:
        check_choice(booster, "booster", ("xgboost", "lightgbm"))
        if self.label_smoothing:
            return None
        return {"objective": "binary" if booster == "lightgbm" else "binary:logistic"}

    def grad_hess_into(self, y, margin, weight, grad, hess, offsets=None, sums=None):
        binary.logistic_grad_hess(y, margin, weight, self.label_smoothing, grad, hess)

    def loss_sum(self, y, margin, weight, offsets=None):
        return binary.logistic_loss_sum(y, margin, weight, self.label_smoothing)

    def fit_init_score(self, y, weight):
        eps = self.label_smoothing
        return _logit_of_mean(_weighted_mean(y, weight) * (1.0 - eps) + 0.5 * eps)


@register_loss
class Focal(Loss):
    """Binary focal loss ``-alpha_t (1 - p_t)^gamma log(p_t)`` on the logit; y in [0, 1].

    ``p_t`` is ``p`` for a positive, ``1 - p`` for a negative; soft labels mix
    the two linearly. ``gamma = 0`` gives (class-weighted) cross-entropy. Where
    focal loss is concave in the logit (confidently wrong examples) the true
    Hessian is negative; the Hessian used is
    ``max(true, alpha_t (1 - p_t)^gamma p (1 - p))``, the cross-entropy
    curvature times the modulating factor, which keeps Newton steps pointing
    downhill and equals the true Hessian at ``gamma = 0``.

    Parameters
    ----------
    gamma : float >= 0, default 2.0
    alpha : float in (0, 1) or None, default None
        Weight of class 1 (class 0 gets ``1 - alpha``); None weighs both by 1.
    """

    name = "focal"
    link = LogitLink()
    task = "binary"
    label_domain = _UNIT_INTERVAL

    def __init__(self, gamma: float = 2.0, alpha: float | None = None) -> None:
        super().__init__()
        self.gamma = check_scalar(gamma, "gamma", low=0.0)
        if alpha is None:
            self.alpha = None
            self._alpha_pos = self._alpha_neg = 1.0
        else:
            self.alpha = check_scalar(alpha, "alpha", low=0.0, high=1.0, low_inclusive=False, high_inclusive=False)
            self._alpha_pos, self._alpha_neg = self.alpha, 1.0 - self.alpha

    @property
    def exact_hessian(self) -> bool:
        return self.gamma == 0.0

    def grad_hess_into(self, y, margin, weight, grad, hess, offsets=None, sums=None):
        binary.focal_grad_hess(y, margin, weight, self.gamma, self._alpha_pos, self._alpha_neg, grad, hess)

    def loss_sum(self, y, margin, weight, offsets=None):
        return binary.focal_loss_sum(y, margin, weight, self.gamma, self._alpha_pos, self._alpha_neg)

    def fit_init_score(self, y, weight):
        return self._minimize_constant(y, weight, -MARGIN_LIMIT, MARGIN_LIMIT)


# ---------------------------------------------------------------------------
# Softmax link
# ---------------------------------------------------------------------------


class _Multiclass(Loss):
    link = SoftmaxLink()
    task = "multiclass"

    def __init__(self, num_class: int) -> None:
        super().__init__()
        if isinstance(num_class, bool) or not isinstance(num_class, (int, np.integer)) or num_class < 2:
            raise ValueError(f"num_class must be an integer >= 2, got {num_class!r}")
        self.num_class = int(num_class)

    @property
    def label_domain(self) -> Domain:  # type: ignore[override]
        return ClassLabels(self.num_class)

    @property
    def n_outputs(self) -> int:
        return self.num_class

    @property
    def output_names(self) -> tuple[str, ...]:
        return tuple(f"class_{j}" for j in range(self.num_class))

    def builtin_objective(self, booster: str) -> dict[str, Any] | None:
        # The boosters' multiclass objectives only invert the link; their
        # gradients are those of plain softmax with a booster-specific Hessian.
        check_choice(booster, "booster", ("xgboost", "lightgbm"))
        return {"objective": self.link.lightgbm_objective if booster == "lightgbm" else self.link.xgboost_objective,
                "num_class": self.num_class}

    def _class_shares(self, y: np.ndarray, weight: np.ndarray) -> np.ndarray:
        w = None if weight.shape[0] == 0 else _tame_weight(weight)
        counts = np.bincount(y.astype(np.int64), weights=w, minlength=self.num_class)
        return counts / counts.sum()


@register_loss
class Softmax(_Multiclass):
    """Softmax cross-entropy over ``num_class`` logits; integer labels in [0, k).

    Label smoothing ``eps`` targets ``(1 - eps) onehot + eps / k``. Gradient
    ``p - target``. The Hessian diagonal is ``hessian_scale * p (1 - p)``:
    ``"exact"`` (1), ``"xgboost"`` (2, as ``multi:softprob``) or ``"lightgbm"``
    (``k / (k - 1)``, as LightGBM's ``multiclass``); the boosters' factors make
    Newton steps more cautious and reproduce their built-in objectives exactly.

    Parameters
    ----------
    num_class : int >= 2
    label_smoothing : float in [0, 1), default 0.0
    hessian_scale : {"exact", "xgboost", "lightgbm"} or float > 0, default "exact"
    """

    name = "softmax"

    def __init__(self, num_class: int, label_smoothing: float = 0.0, hessian_scale: str | float = "exact") -> None:
        super().__init__(num_class)
        self.label_smoothing = check_scalar(label_smoothing, "label_smoothing", low=0.0, high=1.0, high_inclusive=False)
        if isinstance(hessian_scale, str):
            check_choice(hessian_scale, "hessian_scale", ("exact", "xgboost", "lightgbm"))
            k = self.num_class
            self._hess_factor = {"exact": 1.0, "xgboost": 2.0, "lightgbm": k / (k - 1.0)}[hessian_scale]
        else:
            self._hess_factor = check_scalar(hessian_scale, "hessian_scale", low=0.0, low_inclusive=False)
        self.hessian_scale = hessian_scale

    @property
    def exact_hessian(self) -> bool:
        return self._hess_factor == 1.0

    def grad_hess_into(self, y, margin, weight, grad, hess, offsets=None, sums=None):
        multiclass.softmax_grad_hess(y, margin, weight, self.label_smoothing, self._hess_factor, grad, hess)

    def loss_sum(self, y, margin, weight, offsets=None):
        return multiclass.softmax_loss_sum(y, margin, weight, self.label_smoothing)

    def fit_init_score(self, y, weight):
        eps = self.label_smoothing
        shares = self._class_shares(y, weight) * (1.0 - eps) + eps / self.num_class
        return np.maximum(np.log(np.maximum(shares, 1e-300)), -MARGIN_LIMIT)


@register_loss
class SoftmaxFocal(_Multiclass):
    """Multiclass focal loss ``-alpha_c (1 - p_c)^gamma log(p_c)`` of the true class ``c``.

    Softmax link over ``num_class`` logits. The Hessian diagonal is floored at
    ``alpha_c (1 - p_c)^gamma p_j (1 - p_j)`` where the loss is concave (see
    :class:`Focal`); with 2 classes it matches :class:`Focal` on the margin
    difference.

    Parameters
    ----------
    num_class : int >= 2
    gamma : float >= 0, default 2.0
    alpha : sequence of num_class positive weights, or None (all 1), default None
    """

    name = "softmax_focal"

    def __init__(self, num_class: int, gamma: float = 2.0, alpha: Any = None) -> None:
        super().__init__(num_class)
        self.gamma = check_scalar(gamma, "gamma", low=0.0)
        if alpha is None:
            self._alpha = np.ones(self.num_class)
            self.alpha = None
        else:
            a = as_float_array(alpha, "alpha")
            if a.shape != (self.num_class,) or np.any(a <= 0):
                raise ValueError(f"alpha must hold {self.num_class} positive class weights, got {alpha!r}")
            self._alpha = a.astype(np.float64)
            self.alpha = tuple(float(v) for v in a)

    @property
    def exact_hessian(self) -> bool:
        return self.gamma == 0.0

    def grad_hess_into(self, y, margin, weight, grad, hess, offsets=None, sums=None):
        multiclass.softmax_focal_grad_hess(y, margin, weight, self.gamma, self._alpha, grad, hess)

    def loss_sum(self, y, margin, weight, offsets=None):
        return multiclass.softmax_focal_loss_sum(y, margin, weight, self.gamma, self._alpha)

    def fit_init_score(self, y, weight):
        from scipy.optimize import minimize

        k = self.num_class
        weight = _tame_weight(weight)
        start = np.log(np.maximum(self._class_shares(y, weight), 1e-12))
        start -= start.mean()
        g = np.empty((y.shape[0], k), np.float32)
        h = np.empty_like(g)

        def fun(c):
            m = np.broadcast_to(c, (y.shape[0], k)).copy()
            value = self.loss_sum(y, m, weight)
            self.grad_hess_into(y, m, weight, g, h)
            return value, g.sum(axis=0, dtype=np.float64)

        res = minimize(fun, start, jac=True, method="L-BFGS-B",
                       bounds=[(-MARGIN_LIMIT, MARGIN_LIMIT)] * k, options={"ftol": 1e-15, "gtol": 1e-10})
        return np.asarray(res.x, dtype=np.float64)


# ---------------------------------------------------------------------------
# Grouped: InfoNCE
# ---------------------------------------------------------------------------


@register_loss
class InfoNCE(Loss):
    """InfoNCE: softmax cross-entropy of ``f / temperature`` within each group.

    Rows are candidates grouped by query; labels ``y >= 0`` mark positives (one
    or several, or graded relevance): the target distribution of a group is
    ``y / sum(y)``, and every group needs a positive label. Gradient
    ``(p - t) / temperature``, Hessian ``p (1 - p) / temperature^2``. The loss
    is the weighted mean over groups; a group's weight is that of its rows
    (constant within a group). Shifting all margins of a group changes
    nothing, so the start score is 0.

    Parameters
    ----------
    temperature : float > 0, default 0.1
    """

    name = "infonce"
    link = IdentityLink()
    task = "ranking"
    #: Every group also needs a positive label (checked with the groups).
    label_domain = Interval(0.0)
    needs_group = True

    def __init__(self, temperature: float = 0.1) -> None:
        super().__init__()
        self.temperature = check_scalar(temperature, "temperature", low=0.0, low_inclusive=False)

    def check_groups(self, y, w, offsets):
        sums = np.add.reduceat(np.asarray(y, np.float64), offsets[:-1])
        if np.any(sums <= 0):
            bad = int(np.flatnonzero(sums <= 0)[0])
            raise ValueError(f"infonce needs a positive label in every group; group {bad} has none")
        if w.shape[0]:
            starts = offsets[:-1]
            first = np.repeat(w[starts], np.diff(offsets))
            if np.any(first != w):
                raise ValueError("infonce sample_weight must be constant within each group")

    def grad_hess_into(self, y, margin, weight, grad, hess, offsets=None, sums=None):
        ranking.infonce_grad_hess(y, margin, weight, offsets, self.temperature, grad, hess)

    def loss_sum(self, y, margin, weight, offsets=None):
        return ranking.infonce_loss_sum(y, margin, weight, offsets, self.temperature)

    def fit_init_score(self, y, weight):
        return 0.0

    def predict(self, margin: Any, *, group: Any = None) -> np.ndarray:
        """Within-group softmax probabilities of ``margin / temperature``."""
        m = as_float_array(margin, "margin")
        offsets = group_offsets(group, m.shape[0])
        s = m.astype(np.float64) / self.temperature
        top = np.maximum.reduceat(s, offsets[:-1])
        e = np.exp(s - np.repeat(top, np.diff(offsets)))
        totals = np.add.reduceat(e, offsets[:-1])
        return e / np.repeat(totals, np.diff(offsets))
