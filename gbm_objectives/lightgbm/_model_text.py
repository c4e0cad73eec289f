"""LightGBM model text: the trees' split arrays, the first iteration's leaf
counts, the host objective in the header and the loss record in the
parameter section, and reading the loss back from a model."""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from typing import Any

import lightgbm as lgb
import numpy as np

from .._adapters import loss_from_json, loss_to_json
from ..losses import Loss, get_loss
from ._params import _MIN_POISSON_STEP, _OBJECTIVE_ALIASES, _host_objective

#: Prefix of the ``objective`` parameter recorded in models trained here.
LOSS_PREFIX = "gbm_objectives."
#: The loss record's line in the model's parameter section, which LightGBM
#: keeps verbatim through loading and saving (it logs "Ignoring unrecognized
#: parameter" when it reads the parameters of a loaded model).
_RECORD_KEY = "gbm_objectives_loss"
#: Where a booster kept for training holds the record (its model text cannot).
_KEPT_RECORD = "_gbm_objectives_loss"

# ---------------------------------------------------------------------------
# Trees
# ---------------------------------------------------------------------------

_TREE_FIELDS = ("num_leaves", "num_cat", "split_feature", "threshold", "decision_type", "left_child", "right_child")
#: The split arrays :func:`~gbm_objectives.kernels.percentiles.tree_leaves` walks, with their types.
_SPLIT_ARRAYS = (
    ("split_feature", np.int64),
    ("threshold", np.float64),
    ("decision_type", np.int64),
    ("left_child", np.int64),
    ("right_child", np.int64),
)


def _parse_tree(text: str) -> dict[str, str] | None:
    """The fields of the single tree in a model text, or None when it cannot be
    walked here (categorical or linear)."""
    start = text.find("\nTree=")
    if start < 0:
        return None
    fields: dict[str, str] = {}
    for line in text[start + 1 :].split("\n")[1:]:
        if not line or line.startswith("Tree=") or line.startswith("end of trees"):
            break
        key, _, value = line.partition("=")
        if key in _TREE_FIELDS or key == "is_linear":
            fields[key] = value
    if fields.get("num_cat", "0") != "0" or fields.get("is_linear", "0") != "0":
        return None
    return fields


def _tree_splits(booster: lgb.Booster, iteration: int) -> tuple[np.ndarray, ...] | None:
    """The split arrays of the single tree of ``iteration`` (empty for a tree
    without splits), or None when it cannot be walked here."""
    fields = _parse_tree(booster.model_to_string(start_iteration=iteration, num_iteration=1))
    if fields is None:
        return None
    if int(fields["num_leaves"]) == 1:
        return ()
    return tuple(np.array(fields[key].split(), dtype=dtype) for key, dtype in _SPLIT_ARRAYS)



def _first_iteration_leaves(booster: lgb.Booster, n_trees: int) -> list[int]:
    text = booster.model_to_string(num_iteration=1)
    counts = [int(v) for v in re.findall(r"^num_leaves=(\d+)$", text, flags=re.MULTILINE)]
    if len(counts) < n_trees:
        raise ValueError("the booster has no first iteration to hold the init score")
    return counts[:n_trees]



# ---------------------------------------------------------------------------
# The loss record
# ---------------------------------------------------------------------------


def _objective_line(host: Mapping[str, Any]) -> str:
    """The model header's ``objective=`` value, as LightGBM writes it."""
    name = host["objective"]
    if name == "binary":
        return "binary sigmoid:1"
    if name == "multiclass":
        return f"multiclass num_class:{host['num_class']}"
    return str(name)


def _encode_loss(loss: Loss) -> str:
    # Parameter values may not hold ':' ']' or quotes, hence base64.
    return base64.urlsafe_b64encode(loss_to_json(loss).encode()).decode().rstrip("=")


def _decode_loss(token: str) -> Loss:
    return loss_from_json(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode())


def _legacy_loss(value: Any) -> Loss | None:
    """The loss recorded as ``objective`` by earlier versions (``gbm_objectives.<name>.<base64>``)."""
    if not isinstance(value, str) or not value.startswith(LOSS_PREFIX):
        return None
    return _decode_loss(value.rsplit(".", 1)[-1])


def _format_param(value: Any) -> str:
    return repr(float(value)) if isinstance(value, float) else str(value)


def _model_text_with_loss(text: str, loss: Loss) -> str:
    """The model text with the host objective in its header and parameters and the loss record."""
    host = _host_objective(loss)
    ends = [at for at in (text.find(mark) for mark in ("\ntree_sizes=", "\nTree=", "\nend of trees")) if at >= 0]
    header_end = min(ends) if ends else len(text)
    head, rest = text[:header_end], text[header_end:]
    line = f"objective={_objective_line(host)}"
    head, n = re.subn(r"^objective=.*$", line, head, count=1, flags=re.MULTILINE)
    if n == 0:
        head, n = re.subn(r"^(max_feature_idx=.*)$", r"\1\n" + line, head, count=1, flags=re.MULTILINE)
        if n == 0:
            raise RuntimeError("unexpected LightGBM model text: no max_feature_idx line")
    start = rest.find("\nparameters:\n")
    stop = rest.find("\nend of parameters", start)
    if start >= 0 and stop >= 0:
        before, params_text, after = rest[:start], rest[start + len("\nparameters:\n") : stop], rest[stop:]
    else:
        # No parameter section (a model text written without one): add it
        # where LightGBM writes it, before the pandas line.
        at = rest.find("\npandas_categorical:")
        at = len(rest) if at < 0 else at
        before, params_text, after = rest[:at], "", "\nend of parameters\n" + rest[at:]
    lines = [ln for ln in params_text.split("\n") if ln and not ln.startswith(f"[{_RECORD_KEY}:")]
    values = {key: _format_param(value) for key, value in host.items()}
    for i, ln in enumerate(lines):
        key = ln[1:].split(":", 1)[0]
        if key in values:
            lines[i] = f"[{key}: {values.pop(key)}]"
    lines[0:0] = [f"[{key}: {value}]" for key, value in values.items()]
    lines.append(f"[{_RECORD_KEY}: {_encode_loss(loss)}]")
    return head + before + "\nparameters:\n" + "\n".join(lines) + after


def _record_loss(booster: lgb.Booster, loss: Loss, *, in_model: bool) -> None:
    """Give the booster the host objective of ``loss`` (so LightGBM predicts the
    response scale) and record the loss.

    ``in_model``: rewrite the model text (header objective, parameters, record
    line), so files, strings, pickles and copies carry both. Otherwise (a
    booster kept for training) switch the live booster's objective to the
    link's plain objective, which LightGBM writes into saved models; the loss
    itself is then recoverable from it where LightGBM has the loss.
    """
    host = _host_objective(loss)
    if in_model:
        booster.model_from_string(_model_text_with_loss(booster.model_to_string(num_iteration=-1), loss))
        booster.__dict__.pop(_KEPT_RECORD, None)
    else:
        # LightGBM takes custom gradients only without an objective: a later
        # update(fobj=...) sets it back to none (raw scores, as LightGBM's
        # own custom-objective boosters give).
        booster.reset_parameter(dict(host))
        # A plain string, so a pickled booster loads without this library.
        booster.__dict__[_KEPT_RECORD] = _encode_loss(loss)
    # A real objective now: LightGBM's refit() may use it.
    booster.__dict__["_Booster__set_objective_to_none"] = False
    params = {key: value for key, value in dict(booster.params or {}).items() if key not in _OBJECTIVE_ALIASES}
    params.update(host)
    booster.params = params


def _model_head(booster: lgb.Booster) -> str:
    """The model text without trees: header and parameters (cheap for large models)."""
    return booster.model_to_string(start_iteration=booster.current_iteration(), num_iteration=1)


def _loss_of_objective(objective: str, params: Mapping[str, str]) -> Loss | None:
    """The library loss equal to a LightGBM objective, where there is one.

    Only models without a loss record (trained on by plain LightGBM) come
    here, so this reads LightGBM's objective names and parameters: a loss
    LightGBM has no built-in for never needs an entry.
    """
    name = objective.split(" ")[0]
    if name == "tweedie":
        return get_loss("tweedie", power=float(params.get("tweedie_variance_power", 1.5)))
    if name == "poisson":
        step = float(params.get("poisson_max_delta_step", 0.7))
        # The smallest step LightGBM accepts stands for a loss without the safeguard.
        return get_loss("poisson", max_delta_step=step if step > _MIN_POISSON_STEP else 0.0)
    if name == "gamma":
        return get_loss(name)
    if name == "regression" and "sqrt" not in objective:
        return get_loss("squared_error")
    if name == "regression_l1":
        return get_loss("absolute_error")
    if name == "quantile":
        return get_loss("quantile", alpha=float(params.get("alpha", 0.9)))
    if name == "huber":
        return get_loss("huber", delta=float(params.get("alpha", 0.9)))
    if name == "binary" and re.search(r"sigmoid:1(\.0*)?(\s|$)", objective):
        return get_loss("logistic")
    if name == "multiclass":
        k = re.search(r"num_class:(\d+)", objective)
        return get_loss("softmax", num_class=int(k.group(1))) if k else None
    return None


def booster_loss(booster: lgb.Booster) -> Loss | None:
    """The loss a booster was trained on by this library (None if unknown).

    Read from the record in the model (so reloaded files and copies know it);
    a model without one, e.g. continued by plain LightGBM, gives the loss
    equal to its LightGBM objective where the library has one.
    """
    legacy = _legacy_loss((getattr(booster, "params", None) or {}).get("objective"))
    if legacy is not None:
        return legacy
    text = _model_head(booster)
    found = re.search(rf"^\[{_RECORD_KEY}: ([A-Za-z0-9_-]+)\]$", text, flags=re.MULTILINE)
    if found:
        return _decode_loss(found.group(1))
    kept = booster.__dict__.get(_KEPT_RECORD)
    if isinstance(kept, str):
        return _decode_loss(kept)
    found = re.search(r"^\[objective: (gbm_objectives\.[^\]\n]*)\]$", text, flags=re.MULTILINE)
    if found:
        return _legacy_loss(found.group(1))
    header = re.search(r"^objective=(.*)$", text, flags=re.MULTILINE)
    if header is None:
        return None
    params = dict(re.findall(r"^\[(\w+): ([^\]\n]*)\]$", text, flags=re.MULTILINE))
    return _loss_of_objective(header.group(1), params)
