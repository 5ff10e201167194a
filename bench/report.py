"""Statistics and reporting shared by every benchmark.

Percentiles and :class:`Stats`, the timing helpers, tables, ratios against a baseline or a
published reference, the environment a run describes itself with, and the output contract:
the tables on stdout, progress on stderr (:func:`note`), and with ``--json`` one JSON object
as the last line of stdout (:func:`finish`).
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from typing import Any


def note(text: str) -> None:
    """Progress on stderr, so that stdout holds only the figures."""
    print(f"  .. {text}", file=sys.stderr, flush=True)


# -- statistics ----------------------------------------------------------------------------

# The figures a JSON object of :meth:`Stats.as_json` holds (before ``runs``). Every script
# keeps the set it has always printed: the README and other tools quote these keys.
FULL: tuple[str, ...] = ("p50_ms", "p95_ms", "p99_ms", "mean_ms", "min_ms", "max_ms")
MEDIAN_P95: tuple[str, ...] = ("median_ms", "p95_ms")
MEDIAN_RANGE: tuple[str, ...] = ("median_ms", "p95_ms", "min_ms", "max_ms")


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """The q-th percentile by nearest rank: the ceil(q/100 n)-th smallest value."""
    rank = math.ceil(q / 100 * len(sorted_values))
    return sorted_values[max(rank, 1) - 1]


@dataclass(frozen=True)
class Stats:
    """Milliseconds: the median (p50), p95 and p99 by nearest rank, mean, min and max."""

    p50_ms: float
    p95_ms: float
    p99_ms: float
    mean_ms: float
    min_ms: float
    max_ms: float
    runs: int

    @classmethod
    def from_ms(cls, samples: Sequence[float]) -> Stats:
        if not samples:
            raise ValueError("no samples")
        ms = sorted(samples)
        return cls(
            statistics.median(ms),
            percentile(ms, 95),
            percentile(ms, 99),
            statistics.fmean(ms),
            ms[0],
            ms[-1],
            len(ms),
        )

    @classmethod
    def from_seconds(cls, samples: Sequence[float]) -> Stats:
        return cls.from_ms([s * 1000 for s in samples])

    @classmethod
    def from_ns(cls, samples: Sequence[float], divisor: int = 1) -> Stats:
        """From nanoseconds (``time.perf_counter_ns``), each divided by ``divisor`` first."""
        return cls.from_ms([s / divisor / 1e6 for s in samples])

    @property
    def median_ms(self) -> float:
        return self.p50_ms

    def as_json(
        self, figures: Sequence[str] = FULL, digits: int = 3, baseline_ms: float | None = None
    ) -> dict[str, float | int]:
        """``figures`` rounded to ``digits``, then ``runs``; with ``baseline_ms``, also the
        median as a multiple of it (``median_x_baseline``)."""
        out: dict[str, float | int] = {name: round(getattr(self, name), digits) for name in figures}
        out["runs"] = self.runs
        if baseline_ms is not None:
            out["median_x_baseline"] = ratio(self.p50_ms, baseline_ms, 2)
        return out


def ratio(ours: float, baseline: float, digits: int = 4) -> float:
    return round(ours / baseline, digits)


def comparison(
    labels: dict[str, Any],
    ours: float,
    reference: float,
    *,
    names: tuple[str, str] = ("ours_ms", "reference_ms"),
    digits: int = 3,
    reference_digits: int | None = None,
    ratio_digits: int = 4,
) -> dict[str, Any]:
    """One row of a comparison for the JSON: ``labels``, then our figure and the one it is
    compared with (under ``names``), then ``ratio`` = ours / reference."""
    theirs = reference if reference_digits is None else round(reference, reference_digits)
    return {
        **labels,
        names[0]: round(ours, digits),
        names[1]: theirs,
        "ratio": ratio(ours, reference, ratio_digits),
    }


# -- timing --------------------------------------------------------------------------------


class GcPaused:
    """Collects, then keeps the cyclic garbage collector off while timing (as timeit does)."""

    def __enter__(self) -> None:
        gc.collect()
        self._enabled = gc.isenabled()
        gc.disable()

    def __exit__(self, *exc: object) -> None:
        if self._enabled:
            gc.enable()


def time_calls(call: Callable[[int], object], runs: int, warmup: int) -> list[int]:
    """``call(i)`` ``warmup`` times untimed, then ``runs`` times timed (nanoseconds each)."""
    for i in range(warmup):
        call(i)
    samples: list[int] = []
    clock = time.perf_counter_ns
    with GcPaused():
        for i in range(runs):
            start = clock()
            call(i)
            samples.append(clock() - start)
    return samples


# -- tables --------------------------------------------------------------------------------


def _row(cells: Sequence[str], widths: Sequence[int], text_columns: int) -> str:
    # The first ``text_columns`` columns are left-aligned text, the rest right-aligned figures.
    parts = [
        cell.ljust(width) if i < text_columns else cell.rjust(width)
        for i, (cell, width) in enumerate(zip(cells, widths, strict=True))
    ]
    return "  " + "  ".join(parts).rstrip()


def table(
    header: Sequence[str],
    rows: Sequence[Sequence[str]],
    text_columns: int = 1,
    group: int = 0,
) -> str:
    """An aligned text table; with ``group``, a blank line after every ``group`` rows."""
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    rule = "  " + "-" * (sum(widths) + 2 * (len(widths) - 1))
    lines = [_row(header, widths, text_columns), rule]
    for i, r in enumerate(rows):
        if group and i and i % group == 0:
            lines.append("")
        lines.append(_row(r, widths, text_columns))
    return "\n".join(lines)


def print_table(
    title: str,
    header: Sequence[str],
    rows: Sequence[Sequence[str]],
    text_columns: int = 1,
    group: int = 0,
) -> None:
    print(f"\n{title}")
    print(table(header, rows, text_columns, group))
    sys.stdout.flush()


def significant(ms: float) -> str:
    """Milliseconds with about four significant figures."""
    if ms >= 1000:
        return f"{ms:.0f}"
    if ms >= 100:
        return f"{ms:.1f}"
    if ms >= 10:
        return f"{ms:.2f}"
    return f"{ms:.3f}"


def compact(ms: float) -> str:
    """Milliseconds with two decimals under 10, one above."""
    return f"{ms:.2f}" if ms < 10 else f"{ms:.1f}"


def ratio_text(value: float) -> str:
    """Three significant figures, without an exponent."""
    if value >= 100:
        return f"{value:.0f}"
    return f"{value:.3g}" if value >= 0.001 else f"{value:.2e}"


# -- environment ---------------------------------------------------------------------------


def package_version(distribution: str) -> str:
    try:
        return version(distribution)
    except PackageNotFoundError:
        return "not installed"


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def temporal_version() -> str:
    from runtime.temporal_server import temporal_binary

    try:
        completed = subprocess.run(  # noqa: S603 - the CLI the dev server runs
            [temporal_binary(), "--version"], capture_output=True, text=True, timeout=30
        )
    except (OSError, RuntimeError, subprocess.SubprocessError) as error:
        return f"unknown ({error})"
    return completed.stdout.strip() or completed.stderr.strip() or "unknown"


def environment(**extra: Any) -> dict[str, Any]:
    """The machine and the date, then ``extra``: the versions of what the script measures."""
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    return {
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "platform": platform.platform(),
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "usable_cores": usable,
        # Other work on the machine skews every figure: the load when the run started.
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "date": datetime.now(UTC).replace(microsecond=0).isoformat(),
        **extra,
    }


def banner(title: str, env: dict[str, Any], versions: str, mode: str) -> str:
    """The first line of every report: what ran, on what, when, with which versions."""
    load = "/".join(str(x) for x in env["load_average"])
    machine = f"{env['cpu']}, {env['cores']} cores ({env['usable_cores']} usable), load {load}"
    parts = [f"{title} benchmark", env["python"], env["platform"], machine, env["date"]]
    return " | ".join([*parts, versions, f"{mode} mode"])


# -- the command line and the output -------------------------------------------------------


def arguments(module: str, doc: str | None, quick: str) -> argparse.ArgumentParser:
    """The parser every benchmark starts from (``python -m module``): ``--quick`` (``quick``
    says what it does) and ``--json``."""
    parser = argparse.ArgumentParser(
        prog=f"python -m {module}", description=doc.splitlines()[0] if doc else None
    )
    parser.add_argument("--quick", action="store_true", help=quick)
    parser.add_argument(
        "--json", action="store_true", help="also print every figure as one JSON object, last"
    )
    return parser


def system_arguments(parser: argparse.ArgumentParser, timeout: str | None = None) -> None:
    """The options of a benchmark that starts the local topology (bench.topology):
    ``--keep-data``, and the option named ``timeout`` (seconds, default 900) if given."""
    if timeout is not None:
        parser.add_argument(
            timeout,
            type=float,
            default=900.0,
            help="seconds before a workflow that cannot finish is abandoned (default 900)",
        )
    parser.add_argument(
        "--keep-data", action="store_true", help="keep the run's temporary data directory"
    )


def at_least(minimum: int) -> Callable[[str], int]:
    """An argparse ``type``: an integer of at least ``minimum``."""

    def parse(text: str) -> int:
        value = int(text)
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, not {value}")
        return value

    parse.__name__ = f"integer >= {minimum}"
    return parse


def finish(
    wall_start: float,
    json_requested: bool,
    results: Callable[[float], dict[str, Any]],
    total: str = "",
) -> int:
    """The last lines: the total time (``total`` after it), then with ``--json`` the JSON
    object ``results(elapsed seconds)``."""
    elapsed = time.perf_counter() - wall_start
    print(f"\nTotal benchmark time: {elapsed:.1f} s{total}")
    if json_requested:
        print(json.dumps(results(elapsed), separators=(",", ":")))
    return 0
