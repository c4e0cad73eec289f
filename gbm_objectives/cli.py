"""Command line: ``gbm-objectives ablate | sweep-tweedie | recommend`` on a CSV or Parquet table.

Examples
--------
::

    gbm-objectives sweep-tweedie costs.parquet --target cost --out report/
    gbm-objectives ablate claims.csv --target amount --weight exposure \\
        --losses squared_error "tweedie(power=1.5)" poisson "quantile(alpha=0.5)"
    gbm-objectives ablate --builtin tracker --backend lightgbm --out report/
    gbm-objectives ablate claims.csv --target amount \\
        --losses squared_error "multi_quantile(alphas=(0.05, 0.5, 0.95))"
    gbm-objectives recommend claims.csv --target amount

Text columns of the table, and columns named in ``--categorical``, are
categorical features: the boosters split them by sets of categories
(XGBoost's categorical support, LightGBM's ``categorical_feature``).

Problems with the input (a missing file or column, a non-numeric or missing
target, labels a loss cannot take, fewer rows than folds, an ``--out`` that
cannot be written) and errors the booster reports (a bad ``--params`` value)
end the command with one ``gbm-objectives: error: ...`` line and exit status 2.
``--out`` is checked before any model is fitted. Report files are written
to temporary files and moved into place together, so an interrupted or
failed run leaves an earlier report as it was; replacing one is announced in
one line on stderr.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import secrets
import signal
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np
import pandas as pd

PROG = "gbm-objectives"
_MAX_LEVELS = 50
#: The files a report writes into ``--out``: ``<name>.<suffix>`` (the interval panel's table and plot in their own).
_REPORT_SUFFIXES = ("csv", "md", "png", "intervals.csv", "intervals.png")
#: Booster packages whose exceptions are reported as one-line errors.
_BOOSTERS = {"lightgbm": "LightGBM", "xgboost": "XGBoost"}


class _UsageError(Exception):
    """A problem with the command line or the input data, reported in one line."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise _UsageError(f"{message} (see {self.prog} --help)")


# ---------------------------------------------------------------------------
# Reading the table
# ---------------------------------------------------------------------------


def _read_table(path: str) -> pd.DataFrame:
    if not os.path.exists(path):
        raise _UsageError(f"file not found: {path}")
    if os.path.isdir(path):
        raise _UsageError(f"{path} is a directory, not a CSV or Parquet file")
    lower = path.lower()
    try:
        if lower.endswith((".parquet", ".pq")):
            try:
                return pd.read_parquet(path)
            except ImportError as exc:
                raise _UsageError(
                    f"reading Parquet needs pyarrow: pip install 'gbm-objectives[parquet]' ({exc})") from exc
        sep = "\t" if lower.endswith((".tsv", ".tsv.gz")) else ","
        return pd.read_csv(path, sep=sep)
    except _UsageError:
        raise
    except (ValueError, OSError, pd.errors.ParserError) as exc:
        raise _UsageError(f"cannot read {path}: {exc}") from exc


def _column(frame: pd.DataFrame, name: str, what: str, source: str) -> pd.Series:
    if name not in frame.columns:
        cols = ", ".join(map(str, frame.columns[:12])) + (", ..." if frame.shape[1] > 12 else "")
        raise _UsageError(f"{what} column {name!r} not found in {source} (columns: {cols})")
    return frame[name]


def _numeric_column(col: pd.Series, what: str) -> np.ndarray:
    if pd.api.types.is_bool_dtype(col):
        col = col.astype(np.float64)
    if not pd.api.types.is_numeric_dtype(col):
        raise _UsageError(f"{what} column {col.name!r} is not numeric (dtype {col.dtype})")
    missing = int(col.isna().sum())
    if missing:
        raise _UsageError(f"{what} column {col.name!r} has {missing} missing value(s); drop or fill those rows first")
    values = col.to_numpy(dtype=np.float64)
    if not np.isfinite(values).all():
        raise _UsageError(f"{what} column {col.name!r} has infinite values")
    return values


def _features(frame: pd.DataFrame, categorical: Sequence[str] = ()) -> pd.DataFrame:
    """Numeric columns as they are, booleans as 0/1; text columns and those named in ``categorical``
    as pandas categoricals, which the boosters split by sets of categories."""
    out: dict[str, Any] = {}
    for name, col in frame.items():
        if str(name) in categorical or isinstance(col.dtype, pd.CategoricalDtype):
            out[str(name)] = col.astype("category")
        elif pd.api.types.is_bool_dtype(col):
            out[str(name)] = col.astype(np.float64)
        elif pd.api.types.is_numeric_dtype(col):
            out[str(name)] = col.astype(np.float64)
        elif pd.api.types.is_datetime64_any_dtype(col) or pd.api.types.is_timedelta64_dtype(col):
            raise _UsageError(f"feature column {name!r} holds dates or times; convert it to numbers or --drop it")
        else:
            text = col.astype(str).where(col.notna())
            n_levels, n_values = text.nunique(), int(text.notna().sum())
            # Mostly distinct text is an identifier or free text, not a category.
            if n_levels > _MAX_LEVELS and n_levels > n_values // 2:
                raise _UsageError(
                    f"feature column {name!r} is text with {n_levels} distinct values in {n_values} rows (an "
                    "identifier?); --drop it, or name it in --categorical to use it as a category anyway"
                )
            out[str(name)] = text.astype("category")
    if not out:
        raise _UsageError("no feature columns left after removing the target, weight and group columns")
    return pd.DataFrame(out, index=frame.index)


def _load(args: argparse.Namespace) -> tuple[pd.DataFrame, np.ndarray, np.ndarray | None, np.ndarray | None, str]:
    """Features, target, weights, groups and a name for the data source."""
    if args.builtin is not None:
        if args.data is not None:
            raise _UsageError("give either a data file or --builtin, not both")
        if args.weight or args.group or args.target or args.categorical:
            raise _UsageError("--target, --weight, --group and --categorical apply to a data file, not to "
                              "--builtin data")
        from .datasets import load_dataset, make_tracker_costs

        if args.builtin == "tracker":
            n = 10_000 if args.n_samples is None else args.n_samples
            bunch = make_tracker_costs(n, random_state=args.seed, return_bunch=True)
            return bunch.data, bunch.target.to_numpy(np.float64), None, None, "built-in tracker costs"
        if args.n_samples is not None:
            raise _UsageError(f"--n-samples sets the rows of --builtin tracker; {args.builtin} is a real table "
                              "of fixed size")
        try:
            X, y = load_dataset(args.builtin)
        except ImportError as exc:
            raise _UsageError(str(exc)) from exc
        return X, y.to_numpy(np.float64), None, None, f"built-in {args.builtin}"
    if args.data is None:
        raise _UsageError("give a CSV or Parquet file (or --builtin NAME)")
    if not args.target:
        raise _UsageError("--target is required with a data file")
    frame = _read_table(args.data)
    source = os.path.basename(args.data)
    if frame.shape[0] == 0:
        raise _UsageError(f"{source} has no rows")
    y = _numeric_column(_column(frame, args.target, "target", source), "target")
    used = [args.target]
    w = g = None
    if args.weight:
        w = _numeric_column(_column(frame, args.weight, "weight", source), "weight")
        if (w < 0).any():
            raise _UsageError(f"weight column {args.weight!r} has negative values")
        used.append(args.weight)
    if args.group:
        gcol = _column(frame, args.group, "group", source)
        if gcol.isna().any():
            raise _UsageError(f"group column {args.group!r} has {int(gcol.isna().sum())} missing value(s)")
        g = gcol.to_numpy()
        used.append(args.group)
    for name in args.drop or []:
        _column(frame, name, "--drop", source)
    categorical = list(args.categorical or [])
    for name in categorical:
        _column(frame, name, "--categorical", source)
        if name in used or name in (args.drop or []):
            raise _UsageError(f"--categorical column {name!r} is not a feature (it is the target, weight or "
                              "group column, or dropped)")
    X = _features(frame.drop(columns=list(dict.fromkeys(used + list(args.drop or [])))), categorical)
    return X, y, w, g, source


# ---------------------------------------------------------------------------
# Commands
# ---------------------------------------------------------------------------


def _split_specs(items: Sequence[str]) -> list[str]:
    """Split ``a,b(x=1, y=2)`` on commas outside parentheses."""
    out: list[str] = []
    for item in items:
        depth, start = 0, 0
        for i, ch in enumerate(item):
            if ch == "(":
                depth += 1
            elif ch == ")":
                depth -= 1
            elif ch == "," and depth == 0:
                out.append(item[start:i])
                start = i + 1
        out.append(item[start:])
    return [s.strip() for s in out if s.strip()]


def _params(text: str | None) -> dict[str, Any] | None:
    if text is None:
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _UsageError(f"--params must be a JSON object, e.g. '{{\"max_depth\": 4}}': {exc}") from exc
    if not isinstance(value, dict):
        raise _UsageError("--params must be a JSON object, e.g. '{\"max_depth\": 4}'")
    return value


def _common_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "backend": args.backend,
        "params": _params(args.params),
        "num_boost_round": args.rounds,
        "cv": args.cv,
        "random_state": args.seed,
        "n_jobs": args.n_jobs,
        "progress": not args.quiet,
        "baselines": not args.no_baselines,
        "balance": args.balance,
        "deviance_power": args.deviance_power,
    }


# ---------------------------------------------------------------------------
# Output directory: checked before any fit, written atomically
# ---------------------------------------------------------------------------


def _report_paths(out: str, name: str) -> dict[str, str]:
    return {suffix: os.path.join(out, f"{name}.{suffix}") for suffix in _REPORT_SUFFIXES}


def _check_out(out: str | None, name: str) -> None:
    """Fail now, before any model is fitted, if the report cannot be written to ``out``.

    ``out`` must be a directory, or a path whose nearest existing ancestor is a
    directory in which a file can be created; no report file name may be taken
    by a directory. Nothing is created here.
    """
    if out is None:
        return
    if os.path.exists(out) and not os.path.isdir(out):
        raise _UsageError(f"--out {out} is a file, not a directory")
    for path in _report_paths(out, name).values():
        if os.path.isdir(path):
            raise _UsageError(f"cannot write the report: {path} is a directory")
    probe_dir = os.path.abspath(out)
    while not os.path.exists(probe_dir):
        probe_dir = os.path.dirname(probe_dir)
    if not os.path.isdir(probe_dir):
        raise _UsageError(f"cannot create output directory {out}: {probe_dir} is not a directory")
    # Permission bits do not say it all (root, read-only mounts, ACLs): try it.
    try:
        fd, probe = tempfile.mkstemp(dir=probe_dir, prefix=f".{PROG}-", suffix=".probe")
    except OSError as exc:
        raise _UsageError(f"cannot write to {out}: {exc.strerror or exc}") from exc
    os.close(fd)
    os.remove(probe)


@contextlib.contextmanager
def _interrupts_deferred() -> Iterator[None]:
    """Hold back Ctrl-C while the report files are moved into place, so that an
    interrupt cannot leave files from two runs side by side."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    if signal.getsignal(signal.SIGINT) is None:  # pragma: no cover - a handler set outside Python
        yield
        return
    received: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: received.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if received:
        raise KeyboardInterrupt


def _write_report(out: str, name: str, writers: dict[str, Callable[[str], None]]) -> list[str]:
    """Write the report files atomically; return their paths.

    Each file is written to a temporary name in ``out`` first; only when all
    are complete are they moved over the old ones (``os.replace``), with
    interrupts held back. A report file of ``name`` that this run does not
    write (a PNG from an earlier run with matplotlib) is removed with them.
    One line on stderr names the files of an earlier report that were replaced.
    """
    try:
        os.makedirs(out, exist_ok=True)
    except OSError as exc:
        raise _UsageError(f"cannot create output directory {out}: {exc.strerror or exc}") from exc
    paths = _report_paths(out, name)
    temps: dict[str, str] = {}
    final = out
    try:
        for suffix, write in writers.items():
            final = paths[suffix]
            temps[final] = os.path.join(out, f".{name}.{suffix}.{os.getpid()}-{secrets.token_hex(4)}.tmp")
            write(temps[final])
        stale = [p for s, p in paths.items() if s not in writers and os.path.lexists(p)]
        replaced = [p for p in temps if os.path.lexists(p)]
        with _interrupts_deferred():
            for final, temp in temps.items():
                os.replace(temp, final)
            for final in stale:
                os.remove(final)
    except OSError as exc:
        raise _UsageError(f"cannot write {final}: {exc.strerror or exc}") from exc
    finally:
        for temp in temps.values():
            with contextlib.suppress(OSError):
                os.remove(temp)
    if replaced or stale:
        def names(items: list[str]) -> str:
            return ", ".join(os.path.basename(p) for p in items)

        said = [f"replaced {names(replaced)}"] if replaced else []
        said += [f"removed {names(stale)} (not written this time)"] if stale else []
        print(f"{PROG}: note: earlier report in {out}: {'; '.join(said)}", file=sys.stderr)
    return list(temps)


def _report(result: pd.DataFrame | None, name: str, title: str, source: str, out: str | None, plot: str,
            intervals: pd.DataFrame | None = None) -> None:
    """Print and write the point panel ``result`` and / or the interval panel ``intervals`` (one report)."""
    from .ablation import choice_table, interval_table, panel_table, ranking_table, to_markdown

    attrs = (result if result is not None else intervals).attrs  # type: ignore[union-attr]
    settings = (f"{source}: {attrs['n_rows']} rows, {attrs['backend']}, {attrs['cv']}-fold CV, "
                f"{attrs['num_boost_round']} rounds, seed {attrs['random_state']}; ranked by {attrs['metric']}")
    if attrs.get("categorical_features"):
        settings += f"; categorical features: {', '.join(attrs['categorical_features'])}"
    print(f"{title}\n{settings}\n")
    md = [f"# {title}\n\n{settings}\n\n"]
    if result is not None:
        ranking = ranking_table(result)
        panel = panel_table(result)
        print(ranking.to_string(index=False))
        print("\nAll yardsticks (mean ± SD over folds):")
        print(panel.to_string(index=False))
        md.append(f"{to_markdown(ranking)}\n## All yardsticks\n\n{to_markdown(panel)}\n"
                  "Deviances floor predictions at 1e-3 x the training mean (count in *Floored*); calibration is "
                  "mean prediction / mean label; *Wins* counts folds beating the reference row.\n")
        if plot == "sweep":  # MAE cannot compare powers; the likelihood can: show each criterion's pick
            choices = choice_table(result)
            print("\nThe power each criterion picks (the likelihood reads the variance function):")
            print(choices.to_string(index=False))
            md.append(f"\n## The power each criterion picks\n\n{to_markdown(choices)}\n")
    if intervals is not None:
        table = interval_table(intervals)
        about = (f"levels {', '.join(f'{a:g}' for a in intervals.attrs['alphas'])}, same folds, ranked by "
                 f"{intervals.attrs['metric']} (mean ± SD over folds)")
        print(f"{'' if result is None else chr(10)}Prediction intervals: {about}:")
        print(table.to_string(index=False))
        md.append(f"{'' if result is None else chr(10)}## Prediction intervals\n\n{about}.\n\n"
                  f"{to_markdown(table)}\nCoverage, width and interval score read each row's outermost levels "
                  "(sorted where levels cross); pinball per level and the crossing rate read the levels as "
                  "predicted; *separate quantiles* (*separate expectiles*) is one quantile(alpha) (expectile(alpha)) "
                  "model per level, fitted separately.\n")
    if out is None:
        return

    def write_md(path: str) -> None:
        with open(path, "w", encoding="utf-8") as fh:
            fh.write("".join(md))

    writers: dict[str, Callable[[str], None]] = {}
    if result is not None:
        writers["csv"] = lambda path: result.to_csv(path, index=False)
    if intervals is not None:
        writers["intervals.csv"] = lambda path: intervals.to_csv(path, index=False)
    writers["md"] = write_md
    try:
        from . import plotting

        plt = plotting._pyplot()
    except ImportError as exc:
        print(f"{PROG}: note: no PNG written: {exc}", file=sys.stderr)
    else:
        def png(draw: Callable[[], Any]) -> Callable[[str], None]:
            def write(path: str) -> None:
                figure = draw()
                try:
                    figure.savefig(path, dpi=120, format="png")
                finally:
                    plt.close(figure)
            return write

        # One PNG per panel, named like its CSV: the point plot stays as it was, and each figure sizes to its rows.
        if result is not None:
            writers["png"] = png(lambda: (plotting.plot_power_sweep(result) if plot == "sweep"
                                          else plotting.plot_ablation(result)).figure)
        if intervals is not None:
            writers["intervals.png"] = png(lambda: plotting.plot_interval_ablation(intervals)[0].figure)
    written = _write_report(out, name, writers)
    print("\nWrote " + ", ".join(written))


# ---------------------------------------------------------------------------
# Booster errors
# ---------------------------------------------------------------------------


def _booster_of(exc: BaseException) -> str | None:
    """``"LightGBM"`` / ``"XGBoost"`` when ``exc`` was raised by that package."""
    module = (type(exc).__module__ or "").split(".")[0]
    return _BOOSTERS.get(module)


def _one_line(exc: BaseException) -> str:
    text = str(exc)
    # XGBoost appends a native stack trace to its messages.
    text = text.split("Stack trace:")[0]
    return " ".join(text.split()) or type(exc).__name__


@contextlib.contextmanager
def _native_fatal_held_back() -> Iterator[None]:
    """Keep a booster's native copy of a fatal error off the terminal.

    LightGBM prints ``[LightGBM] [Fatal] <message>`` straight to the process's
    stderr (C level, also from worker processes) before raising the same
    message as an exception, which this command reports in one line. While
    fits run, file descriptor 2 points at a temporary file (Python's own
    stderr, with the progress bar and warnings, keeps the terminal); afterwards
    every other captured line is passed on.
    """
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):  # pragma: no cover - no stderr at all
        yield
        return
    python_stderr = sys.stderr
    try:
        uses_fd2 = python_stderr.fileno() == 2
    except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
        uses_fd2 = False
    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), 2)
        if uses_fd2:
            sys.stderr = open(os.dup(saved), "w", buffering=1, encoding=python_stderr.encoding,
                              errors=python_stderr.errors)
        try:
            yield
        finally:
            if uses_fd2:
                sys.stderr.close()
                sys.stderr = python_stderr
            with contextlib.suppress(OSError, ValueError):
                sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            lines = capture.read().decode("utf-8", errors="replace").splitlines()
            kept = [line for line in lines if line.strip() and not line.startswith("[LightGBM] [Fatal]")]
            if kept:
                print("\n".join(kept), file=sys.stderr)


def _check_booster(backend: str) -> None:
    """Fail now, before the data is read, if the booster of ``--backend`` is not installed."""
    from .ablation._inputs import BACKENDS, _check_backend

    try:
        _check_backend(backend)
    except ImportError as exc:
        others = [b for b in BACKENDS if b != backend]
        raise _UsageError(f"{exc}; or choose another booster: --backend {' / '.join(others)}") from exc


def _cmd_ablate(args: argparse.Namespace) -> None:
    from .ablation import ablate_losses, levels_of, parse_loss, recommend_losses
    from .ablation._intervals import INTERVAL_RANKABLE

    _check_booster(args.backend)
    _check_out(args.out, "ablation")
    X, y, w, g, source = _load(args)
    if args.losses:
        losses = _split_specs(args.losses)
    else:
        if isinstance(args.cv, int) and args.cv > len(y):
            raise _UsageError(f"cv={args.cv} folds need at least {args.cv} rows; got {len(y)}")
        advice = recommend_losses(y)
        losses = [a.spec for a in advice]
        print("No --losses given; candidates from recommend_losses:")
        for a in advice:
            print(f"  {a.spec}: {a.reason}")
        print()
    # Level-set losses have their own panel (ablate_losses refuses a mix): two runs on the same folds.
    level_sets = [spec for spec in losses if levels_of(parse_loss(spec)) is not None]
    points = [spec for spec in losses if spec not in level_sets]
    point_metric = interval_metric = args.metric
    if points and level_sets:  # --metric ranks the panel it belongs to
        if args.metric in INTERVAL_RANKABLE:
            point_metric = None
        else:
            interval_metric = None
    with _native_fatal_held_back():
        result = intervals = None
        if points:
            result = ablate_losses(X, y, points, groups=g, sample_weight=w, metric=point_metric,
                                   **_common_kwargs(args))
        if level_sets:
            intervals = ablate_losses(X, y, level_sets, groups=g, sample_weight=w, metric=interval_metric,
                                      **_common_kwargs(args))
    _report(result, "ablation", "Loss ablation", source, args.out, "bars", intervals)


def _cmd_sweep(args: argparse.Namespace) -> None:
    from .ablation import DEFAULT_POWERS, sweep_tweedie_power

    _check_booster(args.backend)
    _check_out(args.out, "tweedie_sweep")
    X, y, w, g, source = _load(args)
    powers: Sequence[float] = DEFAULT_POWERS
    if args.powers:
        try:
            powers = [float(p) for p in _split_specs([args.powers])]
        except ValueError as exc:
            raise _UsageError("--powers must be numbers separated by commas, e.g. 1.2,1.5,1.8; "
                              f"got {args.powers!r}") from exc
    with _native_fatal_held_back():
        result = sweep_tweedie_power(X, y, powers, groups=g, sample_weight=w, metric=args.metric or "mae",
                                     refine=args.refine, **_common_kwargs(args))
    _report(result, "tweedie_sweep", "Tweedie power sweep", source, args.out, "sweep")


def _cmd_recommend(args: argparse.Namespace) -> None:
    from .ablation import describe_target, recommend_losses

    _, y, _, _, source = _load(args)
    d = describe_target(y)
    print(f"{source}: {d['n']} rows; zeros {d['zero_share']:.1%}, negative {d['negative_share']:.1%}, "
          f"skewness {d['skewness']:.2f}, excess kurtosis {d['excess_kurtosis']:.1f}, "
          f"outliers {d['outlier_share']:.2%}, integer {d['is_integer']}")
    for a in recommend_losses(y):
        print(f"{a.spec}\t{a.reason}")


def _build_parser() -> _Parser:
    from . import __version__

    parser = _Parser(prog=PROG, description="Loss ablations for XGBoost and LightGBM on your own table.")
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    def data_args(p: argparse.ArgumentParser) -> None:
        p.add_argument("data", nargs="?", help="CSV (.csv, .tsv) or Parquet (.parquet) file")
        p.add_argument("--target", help="target column")
        p.add_argument("--weight", help="sample-weight column (optional)")
        p.add_argument("--group", help="group column: rows of a group stay in one fold (optional)")
        p.add_argument("--drop", nargs="+", metavar="COL", help="columns to leave out of the features")
        p.add_argument("--categorical", nargs="+", metavar="COL",
                       help="columns to use as categorical features, e.g. numeric codes (text columns are "
                            "categorical already)")
        p.add_argument("--builtin", choices=("tracker", "medical-expenditure", "doctor-visits", "rand-hie"),
                       help="use a built-in dataset instead of a file")
        p.add_argument("--n-samples", type=int, default=None, help="rows of --builtin tracker (default 10000)")
        p.add_argument("--seed", type=int, default=0, help="random seed of folds and boosters (default 0)")

    def run_args(p: argparse.ArgumentParser) -> None:
        p.add_argument("--backend", choices=("xgboost", "lightgbm"), default="xgboost",
                       help="booster that trains every model (default xgboost; needs its extra)")
        p.add_argument("--cv", type=int, default=5, help="cross-validation folds (default 5)")
        p.add_argument("--rounds", type=int, default=200, help="boosting rounds (default 200)")
        p.add_argument("--params", help='booster parameters as JSON, e.g. \'{"max_depth": 4}\'')
        p.add_argument("--metric", help="yardstick that ranks the rows (default mae; log_loss for 0/1 targets; "
                                        "interval_score, pinball or expectile for level-set losses)")
        p.add_argument("--balance", action="store_true", help="add mean-balanced rows for log-link losses")
        p.add_argument("--no-baselines", action="store_true", help="leave out the constant mean/median rows")
        p.add_argument("--deviance-power", type=float, default=1.5, help="power of the Tweedie deviance yardstick")
        p.add_argument("--n-jobs", type=int, default=1,
                       help="fits run at once, in separate processes (default 1; -1: one per core)")
        p.add_argument("--quiet", action="store_true", help="no progress bar")
        p.add_argument("--out", metavar="DIR", help="write CSV, Markdown and PNG here")

    p = sub.add_parser("ablate", help="compare losses on the same model and folds")
    data_args(p)
    run_args(p)
    p.add_argument("--losses", nargs="+", metavar="SPEC",
                   help="losses, e.g. squared_error 'tweedie(power=1.5)' huber (default: recommend_losses); "
                        "level-set losses such as 'multi_quantile(alphas=(0.05, 0.5, 0.95))' get an interval "
                        "panel on the same folds (ablation.intervals.csv and .png in --out)")
    p.set_defaults(func=_cmd_ablate)

    p = sub.add_parser("sweep-tweedie", help="Tweedie power sweep plus squared error")
    data_args(p)
    run_args(p)
    p.add_argument("--powers", help="comma-separated powers in [1, 2] (default 1.1,1.2,...,1.9)")
    p.add_argument("--refine", type=int, default=0, help="extra golden-section power evaluations (default 0)")
    p.set_defaults(func=_cmd_sweep)

    p = sub.add_parser("recommend", help="candidate losses for a target, with reasons")
    data_args(p)
    p.set_defaults(func=_cmd_recommend)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0; 2 on an input or booster error; 130 on Ctrl-C)."""
    try:
        parser = _build_parser()
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help()
            return 2
        args.func(args)
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        booster = _booster_of(exc)
        if booster is None and not isinstance(exc, (_UsageError, ValueError, FileNotFoundError)):
            raise
        prefix = f"{booster}: " if booster is not None else ""
        print(f"{PROG}: error: {prefix}{_one_line(exc)}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
