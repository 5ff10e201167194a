"""4. Full rebuilds of the projections: every default projection from event zero in one
pass (a fresh projection database and ``run_until``), then ``runner.rebuild(name)`` for
each, as ``quorate projections rebuild`` runs them; the rebuilt audit view compared with
the bulk-loaded one, row by row."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]

from bench.eventstore.places import quoted
from bench.report import print_table
from storage.events import open_event_store
from storage.projections import ProjectionRunner, default_projections, open_projection_db

EXTRAPOLATE_EVENTS = 10_000_000  # the rebuild time quoted for the full store size


@dataclass
class RebuildResult:
    backend: str
    events: int
    one_pass_seconds: float
    per_projection_seconds: dict[str, float]
    differences: dict[str, int] | None  # rows differing from the bulk-loaded audit view
    store_events: int | None = None  # set when the pass was stopped early (time cap)

    def as_json(self) -> dict[str, Any]:
        return {
            "backend": self.backend,
            "events": self.events,
            "store_events": self.store_events or self.events,
            "complete": self.store_events is None,
            "all_projections_one_pass_seconds": round(self.one_pass_seconds, 2),
            "events_per_second": round(self.events / self.one_pass_seconds, 1),
            "runner_rebuild_seconds": {
                name: round(value, 2) for name, value in self.per_projection_seconds.items()
            },
            "runner_rebuild_total_seconds": round(sum(self.per_projection_seconds.values()), 2)
            if self.per_projection_seconds
            else None,
            "audit_view_rows_differing_from_bulk_load": self.differences,
        }


async def measure_capped_rebuild(
    store_url: str, view_url: str, backend: str, store_events: int, seconds: float
) -> RebuildResult:
    """The one-pass rebuild over a store too big to finish: run for ``seconds``, then stop
    after the current batch and report how far every projection got."""
    async with await open_event_store(store_url) as store, await open_projection_db(view_url) as db:
        runner = ProjectionRunner(store, db, default_projections())
        await runner.setup()
        head = await store.head_position()

        async def reached() -> int:
            checkpoints = await runner.checkpoints()
            return min((c.position for c in checkpoints.values()), default=0)

        stop = asyncio.Event()
        begin = time.perf_counter()
        task = asyncio.ensure_future(runner.run_forever(stop))
        while time.perf_counter() - begin < seconds and not task.done():
            await asyncio.sleep(0.25)
            if await reached() >= head:
                break
        stop.set()
        await task  # returns after the batch in flight; raises the runner's error if any
        elapsed = time.perf_counter() - begin
        position = await reached()
    return RebuildResult(
        backend, position, elapsed, {}, None, store_events if position < head else None
    )


async def measure_rebuild(
    store_url: str, view_url: str, backend: str, events: int, *, per_projection: bool
) -> RebuildResult:
    """Every default projection from event zero into an empty database, in one pass; then
    (``per_projection``) ``runner.rebuild(name)`` for each, as the CLI does."""
    async with await open_event_store(store_url) as store, await open_projection_db(view_url) as db:
        runner = ProjectionRunner(store, db, default_projections())
        begin = time.perf_counter()
        await runner.run_until()
        one_pass = time.perf_counter() - begin
        timings: dict[str, float] = {}
        if per_projection:
            for projection in runner.projections:
                begin = time.perf_counter()
                await runner.rebuild(projection.name)
                timings[projection.name] = time.perf_counter() - begin
    return RebuildResult(backend, events, one_pass, timings, None)


AUDIT_TABLES = ("audit_ceremonies", "audit_wallets")


async def compare_views_postgres(dsn: str, loaded: str, rebuilt: str) -> dict[str, int]:
    """Rows in one schema's audit tables and not in the other's, both ways, per table."""
    connection = await asyncpg.connect(dsn)
    try:
        differences: dict[str, int] = {}
        for table in AUDIT_TABLES:
            a, b = f"{quoted(loaded)}.{table}", f"{quoted(rebuilt)}.{table}"
            count = await connection.fetchval(
                f"SELECT (SELECT count(*) FROM (SELECT * FROM {a} EXCEPT ALL SELECT * FROM {b}) x)"  # noqa: S608
                f" + (SELECT count(*) FROM (SELECT * FROM {b} EXCEPT ALL SELECT * FROM {a}) y)"
            )
            differences[table] = int(count)
        return differences
    finally:
        await connection.close()


def compare_views_sqlite(loaded: Path, rebuilt: Path) -> dict[str, int]:
    connection = sqlite3.connect(loaded)
    try:
        connection.execute("ATTACH DATABASE ? AS rebuilt", (str(rebuilt),))
        differences: dict[str, int] = {}
        for table in AUDIT_TABLES:
            a, b = f"main.{table}", f"rebuilt.{table}"
            (count,) = connection.execute(
                f"SELECT (SELECT count(*) FROM (SELECT * FROM {a} EXCEPT SELECT * FROM {b}))"  # noqa: S608
                f" + (SELECT count(*) FROM (SELECT * FROM {b} EXCEPT SELECT * FROM {a}))"
            ).fetchone()
            differences[table] = int(count)
        return differences
    finally:
        connection.close()


def _compared(differences: dict[str, int] | None) -> str:
    if differences is None:
        return "not compared"
    return "equal" if not any(differences.values()) else str(differences)


def print_rebuilds(rebuilds: Sequence[RebuildResult]) -> None:
    if not rebuilds:
        return
    rows = []
    for rb in rebuilds:
        per = rb.per_projection_seconds
        rows.append(
            [
                rb.backend,
                f"{rb.events:,}"
                if rb.store_events is None
                else f"{rb.events:,} of {rb.store_events:,} (stopped)",
                f"{rb.one_pass_seconds:.1f}",
                f"{rb.events / rb.one_pass_seconds:,.0f}",
                ", ".join(f"{k} {v:.1f}" for k, v in per.items()) if per else "not run",
                f"{EXTRAPOLATE_EVENTS * rb.one_pass_seconds / rb.events / 60:.0f} min",
                _compared(rb.differences),
            ]
        )
    header = ["backend", "events", "one pass s", "events/s", "runner.rebuild(name) s"]
    print_table(
        "4. Full rebuilds of the projections (from event zero)",
        [*header, "10M extrapolated", "audit view vs bulk load"],
        rows,
    )
    print(
        "  one pass: a fresh projection database, runner.run_until() with all three "
        "projections (one read of the log);\n  runner.rebuild(name): what `quorate "
        "projections rebuild` runs, one projection after another (full mode only);\n  "
        "10M extrapolated: 10,000,000 / one-pass events/s (not measured); (stopped): the "
        "one pass over the big store,\n  stopped after the time cap, as far as every "
        "projection had got."
    )
