"""Bulk loading of a generated log into the adapter's own tables, and the checks that the
loaded store is the generated one.

PostgreSQL: ``COPY`` into the schema ``PostgresEventStore.open`` created (monthly ``events``
partitions through the adapter's ``ensure_partition``, and ``event_index``), the indexes
rebuilt once after the load from the catalog's own definitions; the audit view likewise,
into a schema the audit projection set up, its checkpoint then set to the head. SQLite:
``executemany`` into the adapter's tables, one transaction per chunk.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]

from bench.eventstore.generator import (
    AUDIT_COLUMNS,
    AUDIT_WALLET_COLUMNS,
    EVENT_COLUMNS,
    INDEX_COLUMNS,
    Chunk,
    GeneratedLog,
    LogGenerator,
    check_generated_sample,
)
from bench.eventstore.places import Places, quoted
from bench.report import GcPaused
from storage.events import open_event_store, verify_chain
from storage.projections import AuditProjection, ProjectionRunner, open_projection_db
from storage.projections.checkpoints import Checkpoint, write_checkpoint


def _us_tuple(value: int) -> tuple[int]:
    return (value,)


def _us_untuple(value: tuple[int]) -> int:
    return value[0]


async def _loader_connection(dsn: str) -> Any:
    """A connection for COPY: timestamps bound as microseconds since 2000-01-01 (no datetime
    objects in the hot loop), asynchronous commit (a benchmark's bulk load, never the
    measured appends), and memory for index builds."""
    connection = await asyncpg.connect(dsn)
    await connection.set_type_codec(
        "timestamptz",
        schema="pg_catalog",
        encoder=_us_tuple,
        decoder=_us_untuple,
        format="tuple",
    )
    await connection.execute("SET synchronous_commit = off")
    await connection.execute("SET maintenance_work_mem = '512MB'")
    return connection


async def _deferred_indexes(connection: Any, table: str) -> list[str]:
    """Drop the indexes and unique constraints of ``table`` that a bulk load would maintain
    row by row, returning the statements that recreate them exactly (catalog definitions)."""
    recreate: list[str] = []
    constraints = await connection.fetch(
        "SELECT conname, pg_get_constraintdef(oid) AS definition FROM pg_constraint"
        " WHERE conrelid = $1::regclass AND contype IN ('p', 'u') ORDER BY conname",
        table,
    )
    for row in constraints:
        recreate.append(
            f'ALTER TABLE {table} ADD CONSTRAINT "{row["conname"]}" {row["definition"]}'
        )
        await connection.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{row["conname"]}"')
    indexes = await connection.fetch(
        "SELECT c.relname, pg_get_indexdef(i.indexrelid) AS definition FROM pg_index AS i"
        " JOIN pg_class AS c ON c.oid = i.indexrelid"
        " WHERE i.indrelid = $1::regclass ORDER BY c.relname",
        table,
    )
    schema = table.split(".", 1)[0]
    for row in indexes:
        recreate.append(str(row["definition"]))
        await connection.execute(f'DROP INDEX {schema}."{row["relname"]}"')
    return recreate


@dataclass
class LoadReport:
    backend: str
    log: GeneratedLog
    load_seconds: float
    index_seconds: float
    analyze_seconds: float
    total_seconds: float
    sample_checked: int
    store_bytes: int | None = None
    view_bytes: int | None = None
    verified: list[str] = field(default_factory=list)
    verify_seconds: float = 0.0

    @property
    def events_per_second(self) -> float:
        return self.log.events / self.total_seconds

    def as_json(self) -> dict[str, Any]:
        log = self.log
        return {
            "backend": self.backend,
            "events": log.events,
            "wallets": log.wallets,
            "months": log.months,
            "first_month": log.first_month.strftime("%Y-%m") if log.first_month else None,
            "ceremonies": log.ceremonies,
            "signatures": log.signatures,
            "failed_ceremonies": log.failed,
            "events_by_type": dict(sorted(log.by_type.items())),
            "mean_payload_bytes": round(log.payload_bytes / max(log.events, 1), 1),
            "mean_metadata_bytes": round(log.metadata_bytes / max(log.events, 1), 1),
            "generate_seconds": round(log.seconds, 2),
            "load_seconds": round(self.load_seconds, 2),
            "index_seconds": round(self.index_seconds, 2),
            "analyze_seconds": round(self.analyze_seconds, 2),
            "total_seconds": round(self.total_seconds, 2),
            "events_per_second": round(self.events_per_second),
            "generated_rows_checked_against_compute_event_hash": self.sample_checked,
            "chain_checks": self.verified,
            "chain_check_seconds": round(self.verify_seconds, 2),
            "store_bytes": self.store_bytes,
            "audit_view_bytes": self.view_bytes,
        }


async def _schema_bytes(connection: Any, schema: str) -> int:
    value = await connection.fetchval(
        "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class AS c"
        " WHERE c.relnamespace = $1::regnamespace AND c.relkind IN ('r', 'm')",
        schema,
    )
    return int(value)


async def _create_layout(store_url: str, view_url: str | None) -> None:
    """The adapters create their own layout (migrations, partitions ahead, triggers, role):
    the store's, and the audit projection's in the view database."""
    async with await open_event_store(store_url) as store:
        if view_url is not None:
            async with await open_projection_db(view_url) as db:
                await ProjectionRunner(store, db, [AuditProjection()]).setup()


def _insert(table: str, columns: Sequence[str]) -> str:
    names, marks = ", ".join(columns), ", ".join("?" * len(columns))
    return f"INSERT INTO {table} ({names}) VALUES ({marks})"  # noqa: S608 - constants


async def load_postgres(
    places: Places, generator: LogGenerator, store_schema: str, view_schema: str | None
) -> LoadReport:
    """Generate the log and COPY it into a store schema (and its audit view into another)."""
    assert places.postgres is not None  # noqa: S101 - callers check
    dsn = places.postgres
    started = time.perf_counter()
    view_url = places.pg_url(view_schema) if view_schema is not None else None
    await _create_layout(places.pg_url(store_schema), view_url)
    store = quoted(store_schema)
    connections = [await _loader_connection(dsn) for _ in range(3)]
    events_conn, index_conn, view_conn = connections
    try:
        partitions: set[tuple[int, int]] = set()
        # Indexes on the growing tables are rebuilt once at the end, from the catalog's own
        # definitions, instead of being maintained row by row (random keys: hashes, ids).
        deferred: list[tuple[Any, list[str]]] = [
            (index_conn, await _deferred_indexes(index_conn, f"{store}.event_index"))
        ]
        if view_schema is not None:
            view = quoted(view_schema)
            deferred.append(
                (view_conn, await _deferred_indexes(view_conn, f"{view}.audit_ceremonies"))
            )

        chunks = generator.chunks()
        sample_checked = 0
        # Millions of young tuples: the cyclic collector would only rescan them.
        with GcPaused():
            pending = asyncio.ensure_future(asyncio.to_thread(next, chunks, None))
            while True:
                chunk = await pending
                if chunk is None:
                    break
                pending = asyncio.ensure_future(asyncio.to_thread(next, chunks, None))
                if sample_checked == 0:
                    sample_checked = check_generated_sample(chunk, True)
                await asyncio.gather(
                    _copy_events(events_conn, store_schema, chunk, partitions),
                    index_conn.copy_records_to_table(
                        "event_index",
                        records=chunk.index,
                        columns=INDEX_COLUMNS,
                        schema_name=store_schema,
                    ),
                    _copy_view(view_conn, view_schema, chunk),
                )
        load_seconds = time.perf_counter() - started

        index_started = time.perf_counter()

        async def rebuild(connection: Any, statements: list[str]) -> None:
            for statement in statements:
                await connection.execute(statement)

        await asyncio.gather(*(rebuild(c, statements) for c, statements in deferred))
        index_seconds = time.perf_counter() - index_started

        analyze_started = time.perf_counter()
        analyses = [
            events_conn.execute(f"ANALYZE {store}.events"),
            index_conn.execute(f"ANALYZE {store}.event_index"),
        ]
        if view_schema is not None:
            view = quoted(view_schema)
            analyses.append(
                view_conn.execute(f"ANALYZE {view}.audit_ceremonies, {view}.audit_wallets")
            )
        await asyncio.gather(*analyses)
        analyze_seconds = time.perf_counter() - analyze_started
        store_bytes = await _schema_bytes(events_conn, store_schema)
        view_bytes = await _schema_bytes(view_conn, view_schema) if view_schema else None
    finally:
        for connection in connections:
            await connection.close()

    log = generator.log
    if view_url is not None:
        await _set_audit_checkpoint(places.pg_url(store_schema), view_url)
    total = time.perf_counter() - started
    report = LoadReport(
        backend="PostgreSQL",
        log=log,
        load_seconds=load_seconds,
        index_seconds=index_seconds,
        analyze_seconds=analyze_seconds,
        total_seconds=total,
        sample_checked=sample_checked,
        store_bytes=store_bytes,
        view_bytes=view_bytes,
    )
    await verify_loaded(places.pg_url(store_schema), report)
    return report


async def _copy_events(
    connection: Any, schema: str, chunk: Chunk, partitions: set[tuple[int, int]]
) -> None:
    for (year, month), rows in chunk.events:
        if rows:
            if (year, month) not in partitions:
                # The adapter's own SQL function, as an append into a new month calls it.
                await connection.fetchval(
                    f"SELECT {quoted(schema)}.ensure_partition($1, $2)", year, month
                )
                partitions.add((year, month))
            await connection.copy_records_to_table(
                f"events_y{year:04d}m{month:02d}",
                records=rows,
                columns=EVENT_COLUMNS,
                schema_name=schema,
            )


async def _copy_view(connection: Any, schema: str | None, chunk: Chunk) -> None:
    if schema is None:
        return
    if chunk.audit:
        await connection.copy_records_to_table(
            "audit_ceremonies", records=chunk.audit, columns=AUDIT_COLUMNS, schema_name=schema
        )
    if chunk.wallets:
        await connection.copy_records_to_table(
            "audit_wallets",
            records=chunk.wallets,
            columns=AUDIT_WALLET_COLUMNS,
            schema_name=schema,
        )


async def _set_audit_checkpoint(store_url: str, view_url: str) -> None:
    """The loaded audit view is at the head: say so in its checkpoint, as the runner would."""
    async with await open_event_store(store_url) as store:
        head = await store.head()
    if head is None:
        return
    async with await open_projection_db(view_url) as db, db.transaction() as tx:
        await write_checkpoint(
            tx,
            Checkpoint(
                name=AuditProjection.name,
                version=AuditProjection.version,
                position=head.position,
                last_hash=head.hash,
                last_recorded_at=head.recorded_at,
                updated_at=datetime.now(UTC),
            ),
        )


async def verify_loaded(store_url: str, report: LoadReport, sample: int = 2000) -> None:
    """Read the loaded log back through the adapter and check its chain: the start (from the
    genesis hash), a stretch in the middle and the tail (each from its trusted predecessor);
    the head's hash must be the generator's last one."""
    started = time.perf_counter()
    log = report.log
    async with await open_event_store(store_url) as store:
        head = await store.head()
        if head is None or head.position != log.events or head.hash != log.last_hash:
            raise AssertionError("the loaded store's head is not the generated log's last event")
        first = await store.read_all(after_position=0, limit=sample)
        verify_chain(first)
        report.verified.append(f"positions 1-{first[-1].position} from genesis")
        for start in (log.events // 2, max(log.events - sample, 1)):
            rows = await store.read_all(after_position=start - 1, limit=sample + 1)
            verify_chain(rows[1:], previous=rows[0])
            report.verified.append(f"positions {rows[1].position}-{rows[-1].position}")
    report.verify_seconds = time.perf_counter() - started


def _file_bytes(path: Path) -> int:
    """A SQLite database's size on disk, its write-ahead log included."""
    wal = path.with_name(path.name + "-wal")
    return path.stat().st_size + (wal.stat().st_size if wal.exists() else 0)


async def load_sqlite(
    generator: LogGenerator, store_path: Path, view_path: Path | None
) -> LoadReport:
    """The same log, inserted into a SQLite store file (and audit view file) in one pass."""
    started = time.perf_counter()
    store_url = f"sqlite:///{store_path}"
    view_url = f"sqlite:///{view_path}" if view_path is not None else None
    await _create_layout(store_url, view_url)

    def insert() -> int:
        checked = 0
        events = sqlite3.connect(store_path, isolation_level=None)
        view = sqlite3.connect(view_path, isolation_level=None) if view_path else None
        try:
            for connection in (events, view):
                if connection is not None:
                    connection.execute("PRAGMA synchronous = OFF")
            insert_event = _insert("events", EVENT_COLUMNS)
            insert_index = _insert("event_index", INDEX_COLUMNS)
            insert_audit = _insert("audit_ceremonies", AUDIT_COLUMNS)
            insert_wallet = _insert("audit_wallets", AUDIT_WALLET_COLUMNS)
            for chunk in generator.chunks():
                if checked == 0:
                    checked = check_generated_sample(chunk, False)
                events.execute("BEGIN")
                for _, rows in chunk.events:
                    events.executemany(insert_event, rows)
                events.executemany(insert_index, chunk.index)
                events.execute("COMMIT")
                if view is not None:
                    view.execute("BEGIN")
                    view.executemany(insert_audit, chunk.audit)
                    view.executemany(insert_wallet, chunk.wallets)
                    view.execute("COMMIT")
            events.execute("ANALYZE")
            if view is not None:
                view.execute("ANALYZE")
        finally:
            events.close()
            if view is not None:
                view.close()
        return checked

    with GcPaused():
        checked = await asyncio.to_thread(insert)
    load_seconds = time.perf_counter() - started
    if view_url is not None:
        await _set_audit_checkpoint(store_url, view_url)
    report = LoadReport(
        backend="SQLite",
        log=generator.log,
        load_seconds=load_seconds,
        index_seconds=0.0,
        analyze_seconds=0.0,
        total_seconds=time.perf_counter() - started,
        sample_checked=checked,
        store_bytes=_file_bytes(store_path),
        view_bytes=_file_bytes(view_path) if view_path else None,
    )
    await verify_loaded(store_url, report)
    return report


def print_load(load: LoadReport) -> None:
    """Section 3's first lines: the store generated, and how it was loaded and checked."""
    log = load.log
    first = log.first_month.strftime("%Y-%m") if log.first_month else "?"
    print(
        f"\n3. Audit store, {load.backend}: {log.events:,} events generated by the "
        f"benchmark ({log.wallets:,} wallets, {log.months} months from {first};\n   "
        f"{log.signatures:,} signatures, {log.failed:,} failed ceremonies; mean payload "
        f"{log.payload_bytes / log.events:.0f} B + metadata "
        f"{log.metadata_bytes / log.events:.0f} B)."
    )
    postgres = load.backend == "PostgreSQL"
    how = (
        "COPY into the adapter's partitions + event_index (indexes of event_index and "
        "audit_ceremonies rebuilt after the load)"
        if postgres
        else "executemany into the adapter's tables, one transaction per chunk"
    )
    size = f"{load.store_bytes / 1e9:.2f} GB" if load.store_bytes else "?"
    view_size = f" + audit view {load.view_bytes / 1e9:.2f} GB" if load.view_bytes else ""
    parts = (
        f"; of which index builds {load.index_seconds:.1f} s, ANALYZE {load.analyze_seconds:.1f} s"
        if postgres
        else ", with ANALYZE"
    )
    print(
        f"   Loaded by {how}:\n   {load.total_seconds:.1f} s in all "
        f"({load.events_per_second:,.0f} events/s{parts}), {size}{view_size}.\n   Chain: "
        f"{load.sample_checked} generated rows recomputed with compute_event_hash; "
        f"verify_chain on {', '.join(load.verified)}\n   (read back through the adapter, "
        f"{load.verify_seconds:.1f} s). The audit view was bulk-loaded from the "
        "audit projection's fold, checkpoint at the head."
    )
