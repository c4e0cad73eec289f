"""Timing, statistics and Markdown helpers shared by the benchmark scripts."""

from __future__ import annotations

import gc
import os
import platform
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass


@dataclass
class Stats:
    """Median, min and max of repeated measurements."""

    median: float
    low: float
    high: float

    @classmethod
    def of(cls, values: Sequence[float]) -> Stats:
        if not values:
            raise ValueError("no measurements")
        return cls(statistics.median(values), min(values), max(values))

    def scaled(self, factor: float) -> Stats:
        return Stats(self.median * factor, self.low * factor, self.high * factor)

    def cell(self, digits: int = 2) -> str:
        """``median (min–max)`` with ``digits`` significant decimals."""
        return f"{_fmt(self.median, digits)} ({_fmt(self.low, digits)}–{_fmt(self.high, digits)})"


def _fmt(value: float, digits: int) -> str:
    if value != value:  # NaN
        return "nan"
    if abs(value) >= 100:
        return f"{value:.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.{digits}f}"


def calls_per_repeat(fn: Callable[[], object], min_time: float) -> int:
    """How many calls make one repetition last at least ``min_time`` seconds.

    Runs ``fn`` once (the warm-up: compilation, first-touch page faults).
    """
    start = time.perf_counter()
    fn()
    once = max(time.perf_counter() - start, 1e-7)
    return max(1, int(min_time / once + 0.999))


def interleaved(
    contenders: dict[str, Callable[[], object]],
    repeats: int,
    min_time: float,
) -> dict[str, list[float]]:
    """Seconds per call of every contender, ``repeats`` times, side by side.

    Each repetition times every contender once, in a rotating order, so slow
    drifts of a shared machine hit all of them alike; paired ratios taken
    per repetition are then robust. The garbage collector is off while timing.
    """
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats}")
    loops = {name: calls_per_repeat(fn, min_time) for name, fn in contenders.items()}
    names = list(contenders)
    times: dict[str, list[float]] = {name: [] for name in names}
    enabled = gc.isenabled()
    gc.disable()
    try:
        for rep in range(repeats):
            order = names[rep % len(names):] + names[: rep % len(names)]
            for name in order:
                fn, count = contenders[name], loops[name]
                start = time.perf_counter()
                for _ in range(count):
                    fn()
                times[name].append((time.perf_counter() - start) / count)
    finally:
        if enabled:
            gc.enable()
    return times


def paired_ratio(numerator: Sequence[float], denominator: Sequence[float]) -> Stats:
    """Stats of the per-repetition ratios ``numerator[i] / denominator[i]``."""
    return Stats.of([a / b for a, b in zip(numerator, denominator, strict=True)])


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def machine_line(extra: Sequence[str] = ()) -> str:
    """One Markdown line describing the machine and the versions that matter."""
    import numba
    import numpy

    parts = [
        f"{cpu_model()}, {os.cpu_count()} logical CPUs",
        f"Python {platform.python_version()}",
        f"NumPy {numpy.__version__}",
        f"Numba {numba.__version__}",
        *extra,
    ]
    try:
        load = os.getloadavg()[0]
        parts.append(f"load average {load:.2f} at start")
    except OSError:
        pass
    return "Machine: " + "; ".join(parts) + "."
