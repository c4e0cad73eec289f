"""The loss registry and the call-style spec grammar (``"tweedie(power=1.3)"``)."""

from __future__ import annotations

import ast
import inspect
from typing import Any

from ._base import Loss

_REGISTRY: dict[str, type[Loss]] = {}


def register_loss(cls: type[Loss]) -> type[Loss]:
    """Class decorator adding a loss to the registry under ``cls.name``."""
    if not cls.name or cls.name in _REGISTRY:
        raise ValueError(f"loss name {cls.name!r} is empty or already registered")
    _REGISTRY[cls.name] = cls
    return cls


def available_losses() -> list[str]:
    """Names accepted by :func:`get_loss`, sorted."""
    return sorted(_REGISTRY)


def get_loss(name: str, **params: Any) -> Loss:
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


def _check_param_names(name: str, cls: type[Loss], params: dict[str, Any]) -> None:
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


def get_loss_class(name: str) -> type[Loss]:
    """The registered loss class called ``name`` (a ValueError lists the names otherwise)."""
    if not isinstance(name, str) or name not in _REGISTRY:
        raise ValueError(f"unknown loss {name!r}; available: {', '.join(available_losses())}")
    return _REGISTRY[name]


def as_loss(loss: Loss | str, **params: Any) -> Loss:
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


def parse_loss(spec: Any) -> Loss:
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
            raise ValueError(
                f"loss spec {spec!r}: the value of {kw.arg!r} must be a literal number, string or None"
            ) from exc
    return node.func.id, params
