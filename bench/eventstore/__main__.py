"""Event-store benchmark: append latency, projection lag, a 10M-event audit query, rebuilds.

Runs every measurement of :mod:`bench.eventstore` on PostgreSQL (the primary), then on
SQLite (smaller sizes), and reports them as one run.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import sqlite3
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from bench.eventstore.append import (
    WRITERS,
    AppendResult,
    EventFactory,
    measure_appends,
    print_appends,
)
from bench.eventstore.generator import SEED, LogGenerator
from bench.eventstore.lag import LagResult, measure_lag, print_lag
from bench.eventstore.loader import LoadReport, load_postgres, load_sqlite, print_load
from bench.eventstore.places import DEFAULT_POSTGRES, Places, postgres_version
from bench.eventstore.query import (
    QUERY_NOTE,
    QUERY_VIEW,
    QueryResult,
    measure_queries,
    print_queries,
)
from bench.eventstore.rebuild import (
    RebuildResult,
    compare_views_postgres,
    compare_views_sqlite,
    measure_capped_rebuild,
    measure_rebuild,
    print_rebuilds,
)
from bench.report import (
    arguments,
    at_least,
    banner,
    compact,
    comparison,
    environment,
    finish,
    note,
    package_version,
    print_table,
)
from storage.events import open_event_store

# The design's references (issue 6).
REFERENCE_APPEND_MS = 3.0
REFERENCE_LAG_MS = (20.0, 40.0)
REFERENCE_AUDIT_MS = 40.0
REFERENCE_TEXT = "design: append 3 ms, projection lag 20-40 ms, audit query 40 ms"


@dataclass(frozen=True)
class Sizes:
    """What one backend measures."""

    single_appends: int
    appends_per_writer: int
    lag_loads: tuple[tuple[float, float], ...]  # (events per second, seconds)
    audit_events: int
    rebuild_events: int  # 0: rebuild over the audit store itself
    capped_rebuild_seconds: float = 0.0  # a time-capped one-pass rebuild over the big store


@dataclass(frozen=True)
class Settings:
    mode: str
    postgres: Sizes
    sqlite: Sizes
    warmup_per_writer: int
    query_runs: int
    fold_runs: int


def settings_for(args: argparse.Namespace) -> Settings:
    if args.quick:
        settings = Settings(
            mode="quick",
            postgres=Sizes(400, 40, ((100.0, 8.0),), 200_000, 0),
            sqlite=Sizes(300, 20, ((50.0, 5.0),), 50_000, 0),
            warmup_per_writer=4,
            query_runs=20,
            fold_runs=1,
        )
    else:
        settings = Settings(
            mode="full",
            postgres=Sizes(3000, 200, ((100.0, 15.0), (300.0, 10.0)), 10_000_000, 200_000, 45.0),
            sqlite=Sizes(2000, 100, ((50.0, 10.0),), 1_000_000, 50_000),
            warmup_per_writer=10,
            query_runs=50,
            fold_runs=1,
        )
    postgres, sqlite = settings.postgres, settings.sqlite
    if args.events is not None:
        postgres = dataclasses.replace(postgres, audit_events=args.events)
    if args.sqlite_events is not None:
        sqlite = dataclasses.replace(sqlite, audit_events=args.sqlite_events)
    if args.rebuild_events is not None:
        postgres = dataclasses.replace(postgres, rebuild_events=args.rebuild_events)
        sqlite = dataclasses.replace(sqlite, rebuild_events=args.rebuild_events)
    return dataclasses.replace(settings, postgres=postgres, sqlite=sqlite)


# -- the backends --------------------------------------------------------------------------


class Backend:
    """Where one backend's measurements run: a place (schema or file) per purpose."""

    name: str
    for_postgres: bool

    def __init__(self, places: Places, sizes: Sizes, seed: int) -> None:
        self.places = places
        self.sizes = sizes
        self.seed = seed

    def place(self, purpose: str) -> str:
        raise NotImplementedError

    def url(self, place: str) -> str:
        raise NotImplementedError

    async def load(self, generator: LogGenerator, store: str, view: str) -> LoadReport:
        raise NotImplementedError

    async def free(self, *places: str) -> None:
        raise NotImplementedError

    async def compare(self, loaded: str, rebuilt: str) -> dict[str, int]:
        """Audit-view rows in one place and not in the other, both ways, per table."""
        raise NotImplementedError


class Postgres(Backend):
    name = "PostgreSQL"
    for_postgres = True

    def place(self, purpose: str) -> str:
        return self.places.schema(purpose)

    def url(self, place: str) -> str:
        return self.places.pg_url(place)

    async def load(self, generator: LogGenerator, store: str, view: str) -> LoadReport:
        return await load_postgres(self.places, generator, store, view)

    async def free(self, *places: str) -> None:
        await self.places.drop_now(*places)

    async def compare(self, loaded: str, rebuilt: str) -> dict[str, int]:
        assert self.places.postgres is not None  # noqa: S101 - only made when it is
        return await compare_views_postgres(self.places.postgres, loaded, rebuilt)


class Sqlite(Backend):
    name = "SQLite"
    for_postgres = False

    def place(self, purpose: str) -> str:
        return str(self.places.sqlite_path(purpose))

    def url(self, place: str) -> str:
        return f"sqlite:///{place}"

    async def load(self, generator: LogGenerator, store: str, view: str) -> LoadReport:
        return await load_sqlite(generator, Path(store), Path(view))

    async def free(self, *places: str) -> None:
        for place in places:
            Path(place).unlink(missing_ok=True)

    async def compare(self, loaded: str, rebuilt: str) -> dict[str, int]:
        return compare_views_sqlite(Path(loaded), Path(rebuilt))


# -- the run -------------------------------------------------------------------------------


@dataclass
class Results:
    appends: list[AppendResult] = field(default_factory=list)
    append_event_bytes: float = 0.0
    lag: list[LagResult] = field(default_factory=list)
    loads: list[LoadReport] = field(default_factory=list)
    queries: list[QueryResult] = field(default_factory=list)
    windows: dict[str, tuple[datetime, datetime]] = field(default_factory=dict)
    rebuilds: list[RebuildResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    dropped_schemas: list[str] = field(default_factory=list)


async def run_backend(backend: Backend, settings: Settings, results: Results) -> None:
    name, sizes = backend.name, backend.sizes
    factory = EventFactory(backend.seed)
    appends = backend.url(backend.place("appends"))
    note(f"{name} appends: 1 writer x {sizes.single_appends}, then {WRITERS} writers")
    results.appends += await measure_appends(
        lambda: open_event_store(appends),
        name,
        factory,
        single=sizes.single_appends,
        per_writer=sizes.appends_per_writer,
        warmup=settings.warmup_per_writer,
    )
    if not results.append_event_bytes:
        results.append_event_bytes = statistics.fmean(factory.sizes)
    for rate, seconds in sizes.lag_loads:
        note(f"{name} projection lag at {rate:.0f} events/s for {seconds:.0f} s")
        store_url, view_url = (backend.url(backend.place(p)) for p in ("lag_store", "lag_view"))
        lag = await measure_lag(store_url, view_url, name, factory, rate=rate, seconds=seconds)
        results.lag.append(lag)

    note(f"{name}: generating and loading {sizes.audit_events:,} events")
    generator = LogGenerator(sizes.audit_events, for_postgres=backend.for_postgres)
    store, view = backend.place("audit_store"), backend.place("audit_view")
    report = await backend.load(generator, store, view)
    results.loads.append(report)
    note(f"{name}: audit queries")
    queries, window = await measure_queries(
        backend.url(store),
        backend.url(view),
        generator,
        name,
        runs=settings.query_runs,
        fold_runs=settings.fold_runs,
    )
    results.queries += queries
    results.windows[name] = window

    capped: RebuildResult | None = None
    if sizes.capped_rebuild_seconds and sizes.rebuild_events:
        seconds = sizes.capped_rebuild_seconds
        note(f"{name}: one-pass rebuild over {report.log.events:,} events, {seconds:.0f} s")
        capped = await measure_capped_rebuild(
            backend.url(store),
            backend.url(backend.place("capped_rebuild_view")),
            name,
            report.log.events,
            seconds,
        )
    if sizes.rebuild_events:
        # The big store has served its purpose; free its disk before the next one.
        await backend.free(store, view)
        note(f"{name}: loading a {sizes.rebuild_events:,}-event store to rebuild")
        generator = LogGenerator(sizes.rebuild_events, for_postgres=backend.for_postgres)
        store, view = backend.place("rebuild_store"), backend.place("rebuild_loaded_view")
        await backend.load(generator, store, view)
    rebuilt = backend.place("rebuilt_view")
    note(f"{name}: rebuilding every projection over {generator.log.events:,} events")
    result = await measure_rebuild(
        backend.url(store),
        backend.url(rebuilt),
        name,
        generator.log.events,
        per_projection=settings.mode == "full",
    )
    result.differences = await backend.compare(view, rebuilt)
    results.rebuilds.append(result)
    if capped is not None:
        results.rebuilds.append(capped)


async def measure(settings: Settings, args: argparse.Namespace, env: dict[str, Any]) -> Results:
    results = Results()
    places = Places(args.postgres if env["postgresql"] is not None else None)
    try:
        if places.postgres is not None:
            await run_backend(Postgres(places, settings.postgres, SEED), settings, results)
        if not args.no_sqlite:
            await run_backend(Sqlite(places, settings.sqlite, SEED + 1), settings, results)
    finally:
        results.dropped_schemas = await places.drop()
    return results


# -- report --------------------------------------------------------------------------------


def _reference_rows(results: Results) -> tuple[list[list[str]], list[dict[str, Any]]]:
    rows: list[list[str]] = []
    out: list[dict[str, Any]] = []

    def add(what: str, ours: float, reference: float, reference_text: str) -> None:
        rows.append([what, compact(ours), reference_text, f"{ours / reference:.2f}x"])
        out.append(comparison({"measure": what}, ours, reference, ratio_digits=3))

    for a in results.appends:
        add(f"append p50, {a.backend}, {a.label()}", a.latency.p50_ms, REFERENCE_APPEND_MS, "3")
    high = REFERENCE_LAG_MS[1]
    for lag in results.lag:
        for figure, value in (("p50", lag.lag.p50_ms), ("p95", lag.lag.p95_ms)):
            label = f"projection lag {figure}, {lag.backend}, {lag.rate:.0f} ev/s"
            add(label, value, high, "20-40 (vs 40)")
    for q in results.queries:
        if q.query == QUERY_VIEW and q.stats is not None:
            events = next((x.log.events for x in results.loads if x.backend == q.backend), 0)
            label = f"audit query median, {q.backend}, {events:,} events, {q.role} wallet"
            add(label, q.stats.p50_ms, REFERENCE_AUDIT_MS, "40")
    return rows, out


def print_report(results: Results) -> None:
    print_appends(results.appends, results.append_event_bytes)
    print_lag(results.lag)
    for load in results.loads:
        print_load(load)
        window = results.windows.get(load.backend)
        queries = [q for q in results.queries if q.backend == load.backend]
        if window and queries:
            print_queries(queries, window)
    print(QUERY_NOTE)
    print_rebuilds(results.rebuilds)
    rows, _ = _reference_rows(results)
    if rows:
        print_table(
            f"References ({REFERENCE_TEXT}); ratio = ours / reference",
            ["measure", "ours ms", "reference ms", "ratio"],
            rows,
        )
    for text in results.notes:
        print(f"\nNote: {text}")


def results_json(
    results: Results, settings: Settings, env: dict[str, Any], elapsed: float
) -> dict[str, Any]:
    _, references = _reference_rows(results)
    postgres, sqlite = settings.postgres, settings.sqlite
    return {
        "benchmark": "eventstore",
        "mode": settings.mode,
        "environment": env,
        "settings": {
            "writers": WRITERS,
            "pg_single_appends": postgres.single_appends,
            "pg_appends_per_writer": postgres.appends_per_writer,
            "sqlite_single_appends": sqlite.single_appends,
            "sqlite_appends_per_writer": sqlite.appends_per_writer,
            "lag_loads": [list(x) for x in postgres.lag_loads],
            "sqlite_lag_loads": [list(x) for x in sqlite.lag_loads],
            "audit_events": postgres.audit_events,
            "sqlite_audit_events": sqlite.audit_events,
            "query_runs": settings.query_runs,
            "rebuild_events": postgres.rebuild_events or postgres.audit_events,
            "sqlite_rebuild_events": sqlite.rebuild_events or sqlite.audit_events,
            "capped_rebuild_seconds": postgres.capped_rebuild_seconds,
            "timer": "time.perf_counter",
            "percentiles": "nearest rank",
        },
        "append": [r.as_json() for r in results.appends],
        "append_mean_event_bytes": round(results.append_event_bytes, 1),
        "projection_lag": [r.as_json() for r in results.lag],
        "audit_store": [load.as_json() for load in results.loads],
        "audit_query_window": {
            backend: [start.isoformat(), end.isoformat()]
            for backend, (start, end) in results.windows.items()
        },
        "audit_queries": [q.as_json() for q in results.queries],
        "rebuild": [r.as_json() for r in results.rebuilds],
        "reference": {"text": REFERENCE_TEXT, "comparisons": references},
        "notes": results.notes,
        "dropped_schemas": results.dropped_schemas,
        "total_seconds": round(elapsed, 2),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = arguments("bench.eventstore", __doc__, "200,000 events, fewer runs")
    parser.add_argument(
        "--postgres", default=DEFAULT_POSTGRES, help=f"server URL (default {DEFAULT_POSTGRES})"
    )
    sizes = at_least(1000)
    parser.add_argument("--events", type=sizes, help="events in the PostgreSQL audit store")
    parser.add_argument("--sqlite-events", type=sizes, help="events in the SQLite audit store")
    parser.add_argument(
        "--rebuild-events",
        type=sizes,
        help="events in the stores the rebuilds run over (default: the audit store in quick "
        "mode, 200,000 / 50,000 in full mode)",
    )
    parser.add_argument("--no-sqlite", action="store_true", help="PostgreSQL only")
    args = parser.parse_args(argv)
    settings = settings_for(args)
    wall_start = time.perf_counter()
    pg_version, pg_error = asyncio.run(postgres_version(args.postgres))
    env = environment(
        postgresql=pg_version,
        asyncpg=package_version("asyncpg"),
        sqlite=sqlite3.sqlite_version,
        aiosqlite=package_version("aiosqlite"),
    )

    versions = (
        f"PostgreSQL {pg_version or 'not available'}, asyncpg {env['asyncpg']} | SQLite "
        f"{env['sqlite']}, aiosqlite {env['aiosqlite']}"
    )
    print(banner("Event-store", env, versions, settings.mode))
    print(
        "One process, asyncio; time.perf_counter; p50 = median, p95/p99 by nearest rank, in "
        "milliseconds. PostgreSQL at\n"
        f"{args.postgres} (one fresh schema per measurement), SQLite in temporary files; "
        "all dropped at exit.\nThe store's own code throughout: storage.events adapters "
        "(hash chain, advisory-lock serialized appends, LISTEN/NOTIFY),\nstorage.projections "
        "runner and audit view, storage.audit fold.",
        flush=True,
    )
    if pg_version is None:
        print(f"\nPostgreSQL not available ({pg_error}): its sections are skipped.")
    results = asyncio.run(measure(settings, args, env))
    if pg_version is None:
        results.notes.append(f"PostgreSQL not available at {args.postgres}: {pg_error}")
    print_report(results)
    dropped = len(results.dropped_schemas)
    return finish(
        wall_start,
        args.json,
        lambda elapsed: results_json(results, settings, env, elapsed),
        f"; schemas dropped: {dropped}, temporary files removed.",
    )


if __name__ == "__main__":
    raise SystemExit(main())
