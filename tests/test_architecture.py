"""The layout rules of CONTRIBUTING.md, enforced: module size, the direction of
imports between layers, and no knowledge of particular losses outside them."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import gbm_objectives
from gbm_objectives import available_losses, get_loss_class

PACKAGE = Path(gbm_objectives.__file__).parent
MODULES = sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)
#: "About 600 lines": a module past this should be split by concern.
MAX_LINES = 650

#: Layers, lowest first; a module may import only from its own layer or below.
LAYERS = [
    ("kernels",),
    ("_validation", "_stats", "domains", "links", "distributions"),
    ("losses", "testing", "tweedie_density", "_tweedie_profile"),
    ("_adapters",),
    ("xgboost", "lightgbm", "_xgb_estimators"),
    ("datasets",),
    ("ablation", "tweedie_power", "plotting", "intervals", "_interval_features"),
    ("cli", "__main__"),
]


def _rel(path: Path) -> str:
    return path.relative_to(PACKAGE.parent).as_posix()


def _layer_of(module: str) -> int | None:
    """Layer index of a top-level name inside the package (None for the package root)."""
    for index, names in enumerate(LAYERS):
        if module in names:
            return index
    return None


def _top(path: Path) -> str:
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return parts[0]


@pytest.mark.parametrize("path", MODULES, ids=_rel)
def test_no_module_is_over_about_600_lines(path):
    lines = path.read_text().count("\n")
    assert lines <= MAX_LINES, (
        f"{_rel(path)} has {lines} lines: split it by concern into a package of modules "
        f"(see CONTRIBUTING.md, 'Layout')"
    )


def _imported_tops(path: Path) -> set[str]:
    """Top-level package modules ``path`` imports (relative or absolute), at any depth of the file."""
    tree = ast.parse(path.read_text())
    depth = len(path.relative_to(PACKAGE).parts) - 1  # 0 for a module at the package root
    tops: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                up = node.level - 1
                if up > depth:
                    continue
                base = list(path.relative_to(PACKAGE).parts[: depth - up])
                target = base + (node.module.split(".") if node.module else [])
                if target:
                    tops.add(target[0])
                else:
                    tops.update(alias.name for alias in node.names)
            elif node.module and node.module.startswith("gbm_objectives."):
                tops.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("gbm_objectives."):
                    tops.add(alias.name.split(".")[1])
    return tops


@pytest.mark.parametrize("path", MODULES, ids=_rel)
def test_imports_point_down_the_layers(path):
    own = _layer_of(_top(path).removesuffix(".py"))
    if own is None:  # the package's __init__ re-exports every layer
        return
    for top in _imported_tops(path):
        layer = _layer_of(top)
        assert layer is None or layer <= own, (
            f"{_rel(path)} (layer {LAYERS[own]}) imports {top!r} from a higher layer {LAYERS[layer]}; "
            "move the shared piece down or pass it in (see CONTRIBUTING.md, 'Layers')"
        )


_PRIVATE_LOSS_METHODS = {"_grad_hess_into", "_loss_sum", "_init_score", "_mm_sums", "_mm_grad_hess_into", "_tie_grad"}


def _loss_class_names() -> set[str]:
    return {get_loss_class(name).__name__ for name in available_losses()}


def _is_literal_names(node: ast.AST) -> bool:
    """A string constant, or a tuple / list / set / dict of them."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str)
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        return bool(node.elts) and all(_is_literal_names(e) for e in node.elts)
    return False


def _is_name_of(node: ast.AST, owner: str) -> bool:
    """``<...owner>.name``, e.g. ``loss.name``, ``self.loss.name``, ``loss.link.name``."""
    if not (isinstance(node, ast.Attribute) and node.attr == "name"):
        return False
    inner = node.value
    label = inner.attr if isinstance(inner, ast.Attribute) else getattr(inner, "id", "")
    return owner in label.lower()


def _switches(tree: ast.AST) -> list[tuple[int, str]]:
    classes = _loss_class_names()
    found = []
    for node in ast.walk(tree):
        line = getattr(node, "lineno", 0)
        if isinstance(node, ast.Name) and node.id in classes:
            found.append((line, f"names the loss class {node.id}"))
        elif isinstance(node, ast.alias) and node.name in classes:
            found.append((line, f"imports the loss class {node.name}"))
        elif "_REGISTRY" in (getattr(node, "id", None), getattr(node, "attr", None)):
            found.append((line, "reads the registry; use get_loss / get_loss_class / available_losses"))
        elif isinstance(node, ast.Attribute) and node.attr in _PRIVATE_LOSS_METHODS:
            found.append((line, f"uses the private loss member {node.attr}; use the public fast path "
                                "(grad_hess_into, loss_sum, fit_init_score, global_sums)"))
        elif isinstance(node, ast.Compare):
            sides = [node.left, *node.comparators]
            if any(_is_name_of(s, "loss") or _is_name_of(s, "link") for s in sides) and any(
                _is_literal_names(s) for s in sides
            ):
                found.append((line, "compares a loss or link name with literal names"))
        elif isinstance(node, ast.Subscript) and (_is_name_of(node.slice, "link") or _is_name_of(node.slice, "loss")):
            found.append((line, "looks a loss or link name up in a table"))
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get"
              and node.args and (_is_name_of(node.args[0], "loss") or _is_name_of(node.args[0], "link"))):
            found.append((line, "looks a loss or link name up in a table"))
    return found


@pytest.mark.parametrize(
    "path", [p for p in MODULES if _top(p) not in ("losses", "kernels", "__init__")], ids=_rel
)
def test_no_switch_on_particular_losses_outside_the_losses(path):
    problems = [
        f"{_rel(path)}:{line}: {why}; state what the code needs as a fact of the Loss contract "
        "(see CONTRIBUTING.md, 'Facts the adapters read')"
        for line, why in _switches(ast.parse(path.read_text()))
    ]
    assert not problems, "\n".join(problems)


def test_the_switch_detector_finds_switches():
    code = """
isinstance(loss, Quantile)
from gbm_objectives.losses import AbsoluteError
_REGISTRY.get(name)
loss._grad_hess_into(y, m, w, g, h)
if loss.name == "tweedie": pass
if self.loss.link.name in ("log", "logit"): pass
_TABLE[loss.link.name]
_PARAMS.get(base_loss.name, ())
"""
    assert sorted({line for line, _ in _switches(ast.parse(code))}) == [2, 3, 4, 5, 6, 7, 8, 9]
    assert _switches(ast.parse("if loss.name in _WARNED: pass\nloss.leaf_refit is None")) == []
