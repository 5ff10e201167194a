"""PostgreSQL adapter of the event store (asyncpg): the production store.

Every append is one transaction that first takes a transaction-scoped advisory lock keyed
by the schema, then reads the head: appends from any number of connections, processes or
hosts are serialized, so positions are gapless and the hash chain never forks. An advisory
lock (rather than ``LOCK TABLE``) needs no table privilege beyond ``INSERT`` and
``SELECT``, which is all the application role should be granted in production. Transactions
stay at READ COMMITTED on purpose: each statement after the lock then sees the previous
append's commit (REPEATABLE READ would freeze the snapshot at the lock statement).

A trigger function refuses ``UPDATE``, ``DELETE`` and ``TRUNCATE`` on the events table, so
the database itself keeps the log append-only; dropping the table is kept out of reach by
not granting ownership to the application role.

Each store lives in one schema (``event_store`` by default; tests use a fresh one each).
The schema name is checked against a strict pattern and then quoted, since identifiers
cannot be bound as parameters; every value is a parameter.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import asyncpg  # type: ignore[import-untyped]

from storage.events._core import (
    Head,
    decode_event,
    display_url,
    encode_json,
    plan_append,
)
from storage.events.errors import (
    AppendOnlyViolation,
    EventStoreClosed,
    EventStoreError,
    InvalidSchemaName,
)
from storage.events.port import (
    Clock,
    EventStore,
    NewEvent,
    StoredEvent,
    check_read_window,
    utc_now,
)

DEFAULT_SCHEMA = "event_store"
APPEND_ONLY_SQLSTATE = "QE001"
"""SQLSTATE raised by the append-only trigger, so refusals are recognized reliably."""
LOCK_CLASS = 0x5152_4D45
"""First key of ``pg_advisory_xact_lock(int4, int4)``: Quorate's event store (b"QRME")."""

_SCHEMA_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")

# Each migration is a list of statements over the placeholder {schema} (the quoted,
# pattern-checked schema name); released entries are never edited, only new ones appended.
_MIGRATIONS: dict[int, tuple[str, tuple[str, ...]]] = {
    1: (
        "events table, append-only trigger",
        (
            """
            CREATE TABLE {schema}.events (
                position        bigint      PRIMARY KEY CHECK (position >= 1),
                stream_id       text        NOT NULL,
                stream_version  integer     NOT NULL CHECK (stream_version >= 1),
                event_type      text        NOT NULL,
                schema_version  integer     NOT NULL CHECK (schema_version >= 1),
                payload         text        NOT NULL,
                metadata        text        NOT NULL,
                idempotency_key text        NOT NULL UNIQUE,
                recorded_at     timestamptz NOT NULL,
                prev_hash       text        NOT NULL CHECK (prev_hash ~ '^[0-9a-f]{{64}}$'),
                hash            text        NOT NULL UNIQUE CHECK (hash ~ '^[0-9a-f]{{64}}$'),
                UNIQUE (stream_id, stream_version)
            )
            """,
            """
            CREATE FUNCTION {schema}.events_refuse_change() RETURNS trigger
            LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION 'quorate event store is append-only: % refused on %.%',
                    TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME
                    USING ERRCODE = 'QE001';
            END
            $$
            """,
            """
            CREATE TRIGGER events_refuse_update_delete
            BEFORE UPDATE OR DELETE ON {schema}.events
            FOR EACH ROW EXECUTE FUNCTION {schema}.events_refuse_change()
            """,
            """
            CREATE TRIGGER events_refuse_truncate
            BEFORE TRUNCATE ON {schema}.events
            FOR EACH STATEMENT EXECUTE FUNCTION {schema}.events_refuse_change()
            """,
        ),
    ),
}
SCHEMA_VERSION = max(_MIGRATIONS)

# Queries over the placeholder {schema}, like the migrations; columns in COLUMNS order.
_EVENT = (
    "SELECT position, stream_id, stream_version, event_type, schema_version, payload, metadata,"
    " idempotency_key, recorded_at, prev_hash, hash FROM {schema}.events"
)
_TEMPLATES = {
    "lock": "SELECT pg_advisory_xact_lock($1::int4, hashtext($2))",
    "by_keys": _EVENT + " WHERE idempotency_key = ANY($1::text[])",
    "after": _EVENT + " WHERE position > $1 ORDER BY position LIMIT $2",
    "stream": _EVENT + " WHERE stream_id = $1 ORDER BY stream_version",
    "head": _EVENT + " ORDER BY position DESC LIMIT 1",
    "head_link": "SELECT position, hash FROM {schema}.events ORDER BY position DESC LIMIT 1",
    "stream_versions": (
        "SELECT stream_id, max(stream_version) AS version FROM {schema}.events"
        " WHERE stream_id = ANY($1::text[]) GROUP BY stream_id"
    ),
    "count": "SELECT count(*) FROM {schema}.events",
    "insert": (
        "INSERT INTO {schema}.events (position, stream_id, stream_version, event_type,"
        " schema_version, payload, metadata, idempotency_key, recorded_at, prev_hash, hash)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
    ),
    "create_schema": "CREATE SCHEMA IF NOT EXISTS {schema}",
    "create_migrations": (
        "CREATE TABLE IF NOT EXISTS {schema}.event_store_migrations ("
        " version integer PRIMARY KEY,"
        " description text NOT NULL,"
        " applied_at timestamptz NOT NULL DEFAULT now())"
    ),
    "migrated_version": "SELECT coalesce(max(version), 0) FROM {schema}.event_store_migrations",
    "record_migration": (
        "INSERT INTO {schema}.event_store_migrations (version, description) VALUES ($1, $2)"
    ),
}


class _Queries:
    """The SQL of one schema: each template with ``{schema}`` replaced by the quoted name.

    This is the only place an identifier enters SQL, and it has passed :func:`quote_schema`.
    """

    def __init__(self, quoted_schema: str) -> None:
        self._sql = {name: sql.format(schema=quoted_schema) for name, sql in _TEMPLATES.items()}
        self.migrations = {
            version: (description, tuple(s.format(schema=quoted_schema) for s in statements))
            for version, (description, statements) in _MIGRATIONS.items()
        }

    def __getitem__(self, name: str) -> str:
        return self._sql[name]


def quote_schema(schema: str) -> str:
    """``schema`` as a quoted identifier, after a strict check (no quoting tricks possible)."""
    if not _SCHEMA_NAME.fullmatch(schema) or schema.startswith("pg_"):
        raise InvalidSchemaName(schema)
    return '"' + schema + '"'


class PostgresEventStore(EventStore):
    """The event store in one PostgreSQL schema. Use :meth:`open`."""

    def __init__(self, pool: Any, *, schema: str, url: str, clock: Clock) -> None:
        self.url = url
        self.schema = schema
        self._pool: Any = pool
        self._clock = clock
        self._sql = _Queries(quote_schema(schema))

    @classmethod
    async def open(
        cls,
        dsn: str,
        *,
        schema: str = DEFAULT_SCHEMA,
        clock: Clock | None = None,
        min_size: int = 1,
        max_size: int = 10,
    ) -> PostgresEventStore:
        """Connect to ``dsn`` and create the schema and tables if missing."""
        queries = _Queries(quote_schema(schema))
        pool = await asyncpg.create_pool(
            dsn,
            min_size=min_size,
            max_size=max_size,
            server_settings={"application_name": "quorate-event-store"},
        )
        try:
            async with pool.acquire() as connection:
                await _migrate(connection, schema, queries)
        except BaseException:
            await pool.close()
            raise
        url = display_url(dsn)
        if schema != DEFAULT_SCHEMA:
            url += ("&" if "?" in url else "?") + f"schema={schema}"
        return cls(pool, schema=schema, url=url, clock=clock or utc_now)

    def _acquire(self) -> Any:
        if self._pool is None:
            raise EventStoreClosed(f"event store {self.url} is closed")
        return self._pool.acquire()

    async def append_many(self, events: Sequence[NewEvent]) -> list[StoredEvent]:
        if not events:
            return []
        sql = self._sql
        keys = [event.idempotency_key for event in events]
        streams = sorted({event.stream_id for event in events})
        try:
            async with self._acquire() as connection, connection.transaction():
                # Serialize appends before reading anything the plan depends on.
                await connection.execute(sql["lock"], LOCK_CLASS, self.schema)
                existing = {
                    stored.idempotency_key: stored
                    for stored in _decode_all(await connection.fetch(sql["by_keys"], keys))
                }
                rows = await connection.fetch(sql["stream_versions"], streams)
                stream_versions = {str(row["stream_id"]): int(row["version"]) for row in rows}
                head_row = await connection.fetchrow(sql["head_link"])
                head = (
                    Head(int(head_row["position"]), str(head_row["hash"]))
                    if head_row is not None
                    else None
                )
                plan = plan_append(
                    events,
                    head=head,
                    stream_versions=stream_versions,
                    existing=existing,
                    recorded_at=self._clock(),
                )
                if plan.new_events:
                    await connection.executemany(
                        sql["insert"], [_to_row(stored) for stored in plan.new_events]
                    )
        except asyncpg.PostgresError as exc:
            translated = _translate(exc)
            if translated is None:
                raise
            raise translated from exc
        return plan.results

    async def read_all(
        self, after_position: int = 0, limit: int | None = None
    ) -> list[StoredEvent]:
        check_read_window(after_position, limit)
        # LIMIT NULL is PostgreSQL's "no limit".
        return await self._query(self._sql["after"], after_position, limit)

    async def read_stream(self, stream_id: str) -> list[StoredEvent]:
        return await self._query(self._sql["stream"], stream_id)

    async def head(self) -> StoredEvent | None:
        events = await self._query(self._sql["head"])
        return events[0] if events else None

    async def count(self) -> int:
        async with self._acquire() as connection:
            value = await connection.fetchval(self._sql["count"])
        return int(value)

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.close()

    async def _query(self, sql: str, *parameters: Any) -> list[StoredEvent]:
        async with self._acquire() as connection:
            return _decode_all(await connection.fetch(sql, *parameters))


async def _migrate(connection: Any, schema: str, sql: _Queries) -> None:
    """Bring ``schema`` to :data:`SCHEMA_VERSION`, recording each step.

    The advisory lock is the appends' lock, so two processes starting together do not both
    run a migration, and no append runs against a half-migrated schema.
    """
    async with connection.transaction():
        await connection.execute(sql["lock"], LOCK_CLASS, schema)
        await connection.execute(sql["create_schema"])
        await connection.execute(sql["create_migrations"])
        current = int(await connection.fetchval(sql["migrated_version"]))
        if current > SCHEMA_VERSION:
            raise EventStoreError(
                f"event store schema version {current} is newer than this code "
                f"({SCHEMA_VERSION}); upgrade Quorate"
            )
        for version in range(current + 1, SCHEMA_VERSION + 1):
            description, statements = sql.migrations[version]
            for statement in statements:
                await connection.execute(statement)
            await connection.execute(sql["record_migration"], version, description)


def _decode_all(rows: Any) -> list[StoredEvent]:
    return [decode_event(dict(row)) for row in rows]


def _to_row(event: StoredEvent) -> tuple[Any, ...]:
    return (
        event.position,
        event.stream_id,
        event.stream_version,
        event.event_type,
        event.schema_version,
        encode_json(event.payload),
        encode_json(event.metadata),
        event.idempotency_key,
        event.recorded_at,
        event.prev_hash,
        event.hash,
    )


def _translate(exc: Any) -> EventStoreError | None:
    """The typed error for a refusal by the database; ``None`` for infrastructure errors.

    Connection losses, timeouts and the like stay asyncpg errors, so callers (Temporal
    activities) retry them rather than treat them as a business failure.
    """
    if getattr(exc, "sqlstate", None) == APPEND_ONLY_SQLSTATE:
        return AppendOnlyViolation(str(exc))
    if isinstance(exc, asyncpg.UniqueViolationError):
        # The advisory lock makes this unreachable for writers that use this adapter; a
        # unique violation means a writer bypassed it.
        return EventStoreError(f"event store constraint violated: {exc}")
    return None
