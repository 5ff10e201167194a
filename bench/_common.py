"""Helpers shared by the benchmark scripts: statistics, tables, ports, the environment, and
the local topology's run and process logs. Only what more than one script needs, plainly."""

from __future__ import annotations

import asyncio
import gc
import math
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


def note(text: str) -> None:
    """Progress on stderr, so that stdout holds only the figures."""
    print(f"  .. {text}", file=sys.stderr, flush=True)


# -- statistics ----------------------------------------------------------------------------


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """The q-th percentile by nearest rank: the ceil(q/100 n)-th smallest value."""
    rank = math.ceil(q / 100 * len(sorted_values))
    return sorted_values[max(rank, 1) - 1]


@dataclass(frozen=True)
class Stats:
    p50_ms: float
    p95_ms: float
    p99_ms: float
    mean_ms: float
    min_ms: float
    max_ms: float
    runs: int

    @classmethod
    def from_seconds(cls, samples: Sequence[float]) -> Stats:
        if not samples:
            raise ValueError("no samples")
        ms = sorted(s * 1000 for s in samples)
        return cls(
            statistics.median(ms),
            percentile(ms, 95),
            percentile(ms, 99),
            statistics.fmean(ms),
            ms[0],
            ms[-1],
            len(ms),
        )

    def as_json(self) -> dict[str, float | int]:
        return {
            "p50_ms": round(self.p50_ms, 3),
            "p95_ms": round(self.p95_ms, 3),
            "p99_ms": round(self.p99_ms, 3),
            "mean_ms": round(self.mean_ms, 3),
            "min_ms": round(self.min_ms, 3),
            "max_ms": round(self.max_ms, 3),
            "runs": self.runs,
        }


class GcPaused:
    """Collects, then keeps the cyclic garbage collector off while timing (as timeit does)."""

    def __enter__(self) -> None:
        gc.collect()
        self._enabled = gc.isenabled()
        gc.disable()

    def __exit__(self, *exc: object) -> None:
        if self._enabled:
            gc.enable()


# -- tables --------------------------------------------------------------------------------


def _row(cells: Sequence[str], widths: Sequence[int], text_columns: int) -> str:
    # The first ``text_columns`` columns are left-aligned text, the rest right-aligned figures.
    parts = [
        cell.ljust(width) if i < text_columns else cell.rjust(width)
        for i, (cell, width) in enumerate(zip(cells, widths, strict=True))
    ]
    return "  " + "  ".join(parts).rstrip()


def table(header: Sequence[str], rows: Sequence[Sequence[str]], text_columns: int = 1) -> str:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    rule = "  " + "-" * (sum(widths) + 2 * (len(widths) - 1))
    lines = [_row(header, widths, text_columns), rule]
    lines += [_row(r, widths, text_columns) for r in rows]
    return "\n".join(lines)


# -- the system under test -----------------------------------------------------------------


def free_ports(count: int) -> list[int]:
    """Distinct free loopback ports (re-drawn until distinct)."""
    ports: list[int] = []
    while len(ports) < count:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port: int = probe.getsockname()[1]
        if port not in ports:
            ports.append(port)
    return ports


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, from /proc (0 if it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def wait_until_idle(pids: Sequence[int], limit: float, window: float = 5.0) -> float:
    """Waits until the processes together use under 10% of a core over ``window`` seconds
    (party workers fill their safe-prime pools in the background, which would otherwise
    compete with what is timed); returns the seconds waited."""
    start = time.perf_counter()
    while time.perf_counter() - start < limit:
        before = sum(_cpu_seconds(pid) for pid in pids)
        await asyncio.sleep(window)
        if sum(_cpu_seconds(pid) for pid in pids) - before < 0.1 * window:
            break
    return time.perf_counter() - start


def print_logs(data_dir: Path, lines: int = 40) -> None:
    """The tail of every process log: what failed, before the directory goes."""
    for log in sorted((data_dir / "logs").glob("*.log")):
        tail = log.read_text(errors="replace").splitlines()[-lines:]
        print(f"\n==> {log} (last {len(tail)} lines) <==", file=sys.stderr)
        print("\n".join(tail), file=sys.stderr)


def run_in(data_dir: Path, keep_data: bool, main: Coroutine[Any, Any, T]) -> T:
    """Runs ``main``, which starts the local topology in ``data_dir``: if it fails, the process
    logs are printed first; the directory is removed afterwards unless ``keep_data``."""
    try:
        return asyncio.run(main)
    except BaseException:
        print_logs(data_dir)
        if keep_data:
            print(f"\nData directory kept: {data_dir}", file=sys.stderr)
        raise
    finally:
        if not keep_data:
            shutil.rmtree(data_dir, ignore_errors=True)


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
