"""The :class:`Loss` contract: facts as data, validated public methods and
the unvalidated fast path the adapters call."""

from __future__ import annotations

import inspect
import math
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from .._stats import drop_zero_weight, minimize_1d, objective_weight, tame_weight
from .._validation import as_float_array, check_choice, check_sample_weight, group_offsets
from ..distributions import Distribution
from ..domains import Domain, RealLine
from ..links import Link

#: Init scores are kept inside +-MARGIN_LIMIT when the optimum is infinite
#: (all-zero Tweedie labels, a class that never occurs).
MARGIN_LIMIT = 30.0


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
    surrogate: Loss


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
    #: Parameters that set what the model predicts (a quantile's level), not
    #: how it is fitted: chosen from the question, never tuned by validation.
    target_params: ClassVar[tuple[str, ...]] = ()
    #: True for losses whose outputs are the parameters of a predictive
    #: distribution (:meth:`distribution`); :meth:`predict` is then its mean.
    predicts_distribution: ClassVar[bool] = False
    #: For losses with one output per level of ``alphas`` (level sets): the
    #: statistic each output estimates at its level, "quantile" or
    #: "expectile"; None for every other loss.
    level_statistic: ClassVar[str | None] = None
    #: Values of parameters added after a loss was first recorded in models: a
    #: stored record without one was trained with this value, whatever the
    #: default is now (read by the adapters' :func:`loss_from_json`).
    recorded_defaults: ClassVar[dict[str, Any]] = {}

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
    def level_refit(self) -> tuple[float, ...] | None:
        """Level sets whose trees are refit output by output, or None.

        One residual quantile per output: output ``j``'s leaves are refit so
        that level ``j`` (the ``j``-th column of ``link.inverse(margin)``,
        non-decreasing across outputs) meets that quantile of its residuals in
        each leaf, given the levels below it. Output 0 is the lowest level on
        the label scale.
        """
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

    def booster_defaults(self, booster: str) -> dict[str, Any]:
        """Booster parameters the adapters use for this loss unless the user sets them.

        Parameters
        ----------
        booster : {"xgboost", "lightgbm"}
        """
        check_choice(booster, "booster", ("xgboost", "lightgbm"))
        return {}

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

    def set_params(self, **params: Any) -> Loss:
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

    def __sklearn_clone__(self) -> Loss:
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
            y_arr, m, w, offsets = drop_zero_weight(y_arr, m, w, offsets)
        # Weights near 1e308 would overflow their own sum (a mean of 0).
        w = tame_weight(w)
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

    def parameters(self, margin: Any) -> np.ndarray:
        """Every output on its own scale: the inverse link of ``margin``, column by column.

        For distributional losses the (n, k) distribution parameters; for
        other losses the same as :meth:`predict`.
        """
        m = self.check_margin(margin, np.shape(margin)[0] if np.ndim(margin) else 0)
        return self.link.inverse(m)

    def distribution(self, parameters: Any) -> Distribution:
        """The predictive distributions of (n, k) parameters (:meth:`parameters` of margins).

        Raises
        ------
        ValueError
            For losses that predict no distribution (``predicts_distribution`` is False).
        """
        raise ValueError(
            f"{self.name} predicts no distribution; distributional losses are those with "
            "predicts_distribution = True (such as normal)"
        )

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

    def _minimize_constant(self, y: np.ndarray, weight: np.ndarray, low: float, high: float) -> float:
        if weight.shape[0] and float(weight.min()) == 0.0:
            y, _, weight, _ = drop_zero_weight(y, y, weight, None)
        w = objective_weight(weight, y.shape[0])

        def fun(c: float) -> float:
            return self.loss_sum(y, np.full(y.shape[0], c), w)

        return minimize_1d(fun, low, high)


def _same_value(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is b
    try:
        return type(a) is type(b) and bool(a == b)
    except (TypeError, ValueError):
        return False
