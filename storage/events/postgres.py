"""PostgreSQL adapter of the event store (asyncpg): the production store.

Appends. Every append is one transaction that first takes a transaction-scoped advisory
lock keyed by the schema, then reads the head: appends from any number of connections,
processes or hosts are serialized, so positions are gapless, the hash chain never forks,
and of two writers expecting the same stream version exactly one wins (the other gets
:class:`~storage.events.errors.StreamVersionConflict`). An advisory lock (rather than
``LOCK TABLE``) needs no table privilege beyond ``INSERT`` and ``SELECT``. Transactions stay
at READ COMMITTED on purpose: each statement after the lock then sees the previous append's
commit (REPEATABLE READ would freeze the snapshot at the lock statement).

Layout, migrations, triggers, roles and grants: :mod:`storage.events.postgres_schema`.

Retention (:meth:`PostgresEventStore.archive_partitions`) is the one way events leave: it
must run as the owner (a separate credential from the application's), takes an archive
advisory lock, locks the month's partition against writes, exports it (checked against the
chain and the index, flushed to disk), records it in ``event_archives``, then detaches and
drops that partition, all in one transaction per month. Dropping a table fires no row
trigger; ownership is what stands between the application and it.

Notifications: each append issues ``pg_notify('quorate_events_<schema>', <head position>)``
in its transaction, delivered on commit; :meth:`PostgresEventStore.wait_for_events` listens
on a dedicated connection, so followers wake within milliseconds without polling.

Read-only opening (:meth:`PostgresEventStore.open_read_only`, for auditors): one connection
whose session has ``default_transaction_read_only`` on, inside one ``BEGIN ISOLATION LEVEL
REPEATABLE READ READ ONLY`` transaction held until the store is closed, so the server itself
refuses any write and every read sees the same snapshot (a verification of a live store is
not torn by concurrent appends). No migration runs and no partition is created; the schema
must already hold a store of this code's version, else
:class:`~storage.events.errors.NotAnEventStore`.

Each store lives in one schema (``event_store`` by default; tests use a fresh one each);
its SQL is built by :class:`~storage.events.postgres_schema.Sql` from the templates below,
over the checked and quoted schema name; every value is a parameter.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]

from common.urls import redact_url
from storage.events._core import (
    archive_month,
    archive_values,
    check_readable_version,
    decode_event,
    decode_index_entry,
    encode_json,
    plan_append_from_rows,
    prefix_upper_bound,
    streams_to_read,
)
from storage.events.archive import archive_boundary, next_month
from storage.events.errors import (
    AppendOnlyViolation,
    EventStoreClosed,
    EventStoreError,
    EventStoreReadOnly,
    NotAnEventStore,
    RetentionNotPermitted,
)
from storage.events.port import (
    Clock,
    EventStore,
    IndexEntry,
    NewEvent,
    StoredEvent,
    check_expected_versions,
    check_read_window,
    check_time_range,
    check_wait,
    utc_now,
)
from storage.events.postgres_schema import (
    APP_ROLE,
    APPEND_ONLY_SQLSTATE,
    DEFAULT_SCHEMA,
    LOCK_CLASS,
    SCHEMA_TEMPLATES,
    SCHEMA_VERSION,
    Sql,
    create_partitions_ahead,
    migrate,
    partition_month,
    quote_partition,
    quote_schema,
)

__all__ = [
    "APPEND_ONLY_SQLSTATE",
    "APP_ROLE",
    "DEFAULT_SCHEMA",
    "SCHEMA_VERSION",
    "PostgresEventStore",
    "migrate",
    "notify_channel",
    "quote_schema",
]

ARCHIVE_LOCK_CLASS = LOCK_CLASS + 1
"""Serializes retention runs on one schema (appends do not wait for it)."""
ARCHIVE_FETCH_SIZE = 1000
"""Rows per round trip while exporting a month, so a large month is streamed, not loaded."""
SAFETY_POLL_SECONDS = 1.0
"""``wait_for_events`` re-reads the head this often even without a notification, so a lost
listener connection delays a follower by at most this much instead of forever."""
NOTIFY_PREFIX = "quorate_events_"

_PARTITION_MISSING = "no partition of relation"

# Queries over the placeholder {schema}, like the migrations (and with their shared
# SCHEMA_TEMPLATES); columns in COLUMNS order.
_EVENT = (
    "SELECT position, stream_id, stream_version, event_type, schema_version, payload, metadata,"
    " idempotency_key, recorded_at, prev_hash, hash FROM {schema}.events"
)
_QUERY_TEMPLATES = {
    # Keys are looked up in the index, which outlives archiving: a key whose event was
    # archived comes back with NULL event columns. Joining on the partition key as well
    # lets each probe go to one partition only.
    "by_keys": (
        "SELECT i.idempotency_key AS indexed_key, i.position AS indexed_position,"
        " e.position, e.stream_id, e.stream_version, e.event_type, e.schema_version,"
        " e.payload, e.metadata, e.idempotency_key, e.recorded_at, e.prev_hash, e.hash"
        " FROM {schema}.event_index AS i LEFT JOIN {schema}.events AS e"
        " ON e.position = i.position AND e.recorded_at = i.recorded_at"
        " WHERE i.idempotency_key = ANY($1::text[])"
    ),
    # One max() per stream, each answered from the end of the unique index.
    "stream_versions": (
        "SELECT s.stream_id, (SELECT max(x.stream_version) FROM {schema}.event_index AS x"
        " WHERE x.stream_id = s.stream_id) AS version FROM unnest($1::text[]) AS s(stream_id)"
    ),
    "head_link": (
        "SELECT position, hash, recorded_at FROM {schema}.event_index"
        " ORDER BY position DESC LIMIT 1"
    ),
    "head_position": "SELECT coalesce(max(position), 0) FROM {schema}.event_index",
    # One statement writes both tables from one set of arrays and queues the notification
    # (delivered on commit, carrying the new head position): one round trip per batch.
    "insert": (
        "WITH new_rows AS (SELECT * FROM unnest($1::bigint[], $2::text[], $3::integer[],"
        " $4::text[], $5::integer[], $6::text[], $7::text[], $8::text[], $9::timestamptz[],"
        " $10::text[], $11::text[]) AS r(position, stream_id, stream_version, event_type,"
        " schema_version, payload, metadata, idempotency_key, recorded_at, prev_hash, hash)),"
        " indexed AS (INSERT INTO {schema}.event_index (position, stream_id, stream_version,"
        " idempotency_key, hash, recorded_at) SELECT position, stream_id, stream_version,"
        " idempotency_key, hash, recorded_at FROM new_rows),"
        " inserted AS (INSERT INTO {schema}.events (position, stream_id, stream_version,"
        " event_type, schema_version, payload, metadata, idempotency_key, recorded_at,"
        " prev_hash, hash) SELECT position, stream_id, stream_version, event_type,"
        " schema_version, payload, metadata, idempotency_key, recorded_at, prev_hash, hash"
        " FROM new_rows RETURNING position),"
        " new_head AS (SELECT max(position) AS head FROM inserted)"
        " SELECT pg_notify($12, head::text) FROM new_head"
    ),
    "after": _EVENT + " WHERE position > $1 ORDER BY position LIMIT $2",
    "stream": _EVENT + " WHERE stream_id = $1 ORDER BY stream_version",
    "head": _EVENT + " ORDER BY position DESC LIMIT 1",
    "count": "SELECT count(*) FROM {schema}.events",
    "range": _EVENT + " WHERE recorded_at >= $1 AND recorded_at < $2 ORDER BY position",
    "range_prefix": (
        _EVENT + " WHERE recorded_at >= $1 AND recorded_at < $2"
        " AND stream_id >= $3 AND stream_id < $4 ORDER BY position"
    ),
    # Only for a prefix of U+10FFFF characters, which has no upper bound.
    "range_prefix_unbounded": (
        _EVENT + " WHERE recorded_at >= $1 AND recorded_at < $2"
        " AND stream_id >= $3 AND starts_with(stream_id, $3) ORDER BY position"
    ),
    "partitions": (
        "SELECT c.relname FROM pg_catalog.pg_inherits AS i"
        " JOIN pg_catalog.pg_class AS c ON c.oid = i.inhrelid"
        " WHERE i.inhparent = $1::regclass ORDER BY c.relname"
    ),
    "is_owner": (
        "SELECT pg_catalog.pg_has_role(c.relowner, 'USAGE') FROM pg_catalog.pg_class AS c"
        " WHERE c.oid = $1::regclass"
    ),
    "index_at": (
        "SELECT position, stream_id, stream_version, idempotency_key, hash, recorded_at"
        " FROM {schema}.event_index WHERE position = ANY($1::bigint[]) ORDER BY position"
    ),
    "last_archived": "SELECT coalesce(max(last_position), 0) FROM {schema}.event_archives",
    "indexed_hash": "SELECT hash FROM {schema}.event_index WHERE position = $1",
    "insert_archive": (
        "INSERT INTO {schema}.event_archives (first_position, last_position, event_count,"
        " month, first_prev_hash, last_hash, file_name, sha256, archived_at)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
    ),
}
# Statements on one partition, over {schema} and {partition} (a quoted name that passed
# quote_partition).
_PARTITION_TEMPLATES = {
    "lock": "LOCK TABLE {schema}.{partition} IN SHARE MODE",
    "first": "SELECT min(position) FROM {schema}.{partition}",
    "rows": (
        "SELECT position, stream_id, stream_version, event_type, schema_version, payload,"
        " metadata, idempotency_key, recorded_at, prev_hash, hash FROM {schema}.{partition}"
        " ORDER BY position"
    ),
    "detach": "ALTER TABLE {schema}.events DETACH PARTITION {schema}.{partition}",
    "drop": "DROP TABLE {schema}.{partition}",
}


def notify_channel(schema: str) -> str:
    """The LISTEN/NOTIFY channel of ``schema``'s store: ``quorate_events_<schema>``.

    Channel names are identifiers, at most 63 bytes; a long schema name is replaced by a
    digest of it so the channel stays unique per schema and within the limit.
    """
    channel = NOTIFY_PREFIX + schema
    if len(channel) <= 63:
        return channel
    return NOTIFY_PREFIX + hashlib.sha256(schema.encode("utf-8")).hexdigest()[:32]


class _Snapshot:
    """One connection in one read-only transaction, lent out like a pool's connections.

    What a read-only store reads through: every query sees the transaction's snapshot.
    Queries are serialized (asyncpg runs one at a time per connection anyway).
    """

    def __init__(self, connection: Any, transaction: Any) -> None:
        self._connection = connection
        self._transaction = transaction
        self._lock = asyncio.Lock()

    @contextlib.asynccontextmanager
    async def acquire(self) -> Any:
        async with self._lock:
            yield self._connection

    async def close(self) -> None:
        try:
            with contextlib.suppress(asyncpg.PostgresError, asyncpg.InterfaceError):
                await self._transaction.rollback()
        finally:
            await self._connection.close()


async def _check_readable(connection: Any, sql: Sql, url: str) -> None:
    """The schema holds a store of this code's version, or :class:`NotAnEventStore`."""
    for table in ("event_store_migrations", "events", "event_index"):
        if await connection.fetchval(sql["regclass"], f"{sql.quoted_schema}.{table}") is None:
            raise NotAnEventStore(
                f"no Quorate event store in schema {sql.schema!r} at {url} (no {table} table)"
            )
    version = int(await connection.fetchval(sql["migrated_version"]))
    check_readable_version(version, SCHEMA_VERSION, f"{url} (schema {sql.schema!r})")


class PostgresEventStore(EventStore):
    """The event store in one PostgreSQL schema. Use :meth:`open`, or :meth:`open_read_only`
    to audit one."""

    def __init__(
        self,
        pool: Any,
        *,
        schema: str,
        url: str,
        clock: Clock,
        dsn: str,
        partitions: set[tuple[int, int]] | None = None,
    ) -> None:
        self.url = url
        self.schema = schema
        self.channel = notify_channel(schema)
        self._pool: Any = pool
        self._clock = clock
        self._sql = Sql(schema, {**SCHEMA_TEMPLATES, **_QUERY_TEMPLATES}, _PARTITION_TEMPLATES)
        # Kept only to open the listener connection; never shown (it may hold a password).
        self._dsn = dsn
        # Months whose partition this store has seen exist: appends skip the function call.
        self._partitions: set[tuple[int, int]] = set(partitions or ())
        self._listener: Any = None
        self._listener_lock = asyncio.Lock()
        self._notified_position = 0
        self._wakeup = asyncio.Event()
        self._read_only = isinstance(pool, _Snapshot)

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
        """Connect to ``dsn``, migrate the schema if needed, create this and next month's
        partitions if missing."""
        quote_schema(schema)  # A bad name is refused before anything connects.
        pool = await asyncpg.create_pool(
            dsn,
            min_size=min_size,
            max_size=max_size,
            server_settings={"application_name": "quorate-event-store"},
        )
        try:
            async with pool.acquire() as connection:
                await migrate(connection, schema)
                partitions = await create_partitions_ahead(connection, schema)
        except BaseException:
            await pool.close()
            raise
        url = redact_url(dsn)
        if schema != DEFAULT_SCHEMA:
            url += ("&" if "?" in url else "?") + f"schema={schema}"
        return cls(
            pool,
            schema=schema,
            url=url,
            clock=clock or utc_now,
            dsn=dsn,
            partitions=partitions,
        )

    @classmethod
    async def open_read_only(cls, dsn: str, *, schema: str = DEFAULT_SCHEMA) -> PostgresEventStore:
        """Connect to ``dsn`` and read ``schema``'s store in one read-only snapshot.

        Raises :class:`~storage.events.errors.NotAnEventStore` if the schema holds no store;
        nothing is created (not even the schema) or migrated.
        """
        quote_schema(schema)
        url = redact_url(dsn)
        if schema != DEFAULT_SCHEMA:
            url += ("&" if "?" in url else "?") + f"schema={schema}"
        connection = await asyncpg.connect(
            dsn,
            server_settings={
                "application_name": "quorate-event-store-read-only",
                "default_transaction_read_only": "on",
            },
        )
        try:
            transaction = connection.transaction(isolation="repeatable_read", readonly=True)
            await transaction.start()
            await _check_readable(connection, Sql(schema), url)
        except BaseException:
            await connection.close()
            raise
        return cls(
            _Snapshot(connection, transaction),
            schema=schema,
            url=url,
            clock=utc_now,
            dsn=dsn,
        )

    def _writable(self) -> None:
        if self._read_only:
            raise EventStoreReadOnly(f"event store {self.url} is opened read-only")

    def _acquire(self) -> Any:
        if self._pool is None:
            raise EventStoreClosed(f"event store {self.url} is closed")
        return self._pool.acquire()

    # -- appending --------------------------------------------------------------------------

    async def append_many(
        self,
        events: Sequence[NewEvent],
        expected_versions: Mapping[str, int] | None = None,
    ) -> list[StoredEvent]:
        self._writable()
        expected = check_expected_versions(expected_versions)
        if not events:
            return []
        try:
            try:
                return await self._append(events, expected)
            except asyncpg.CheckViolationError as exc:
                # The month's partition was dropped behind this store's back (retention in
                # another process): forget what we knew and let the function recreate it.
                if _PARTITION_MISSING not in str(exc):
                    raise
                self._partitions.clear()
                return await self._append(events, expected)
        except asyncpg.PostgresError as exc:
            translated = _translate(exc)
            if translated is None:
                raise
            raise translated from exc

    async def _append(
        self, events: Sequence[NewEvent], expected: Mapping[str, int]
    ) -> list[StoredEvent]:
        sql = self._sql
        keys = [event.idempotency_key for event in events]
        created: tuple[int, int] | None = None
        async with self._acquire() as connection, connection.transaction():
            # Serialize appends before reading anything the plan depends on.
            await connection.execute(sql["lock"], LOCK_CLASS, self.schema)
            plan = plan_append_from_rows(
                events,
                expected_versions=expected,
                key_rows=await connection.fetch(sql["by_keys"], keys),
                version_rows=await connection.fetch(
                    sql["stream_versions"], streams_to_read(events, expected)
                ),
                head_row=await connection.fetchrow(sql["head_link"]),
                recorded_at=self._clock(),
            )
            if plan.new_events:
                when = plan.new_events[0].recorded_at
                month = (when.year, when.month)
                if month not in self._partitions:
                    # Inside the transaction: if it rolls back, so does the new partition.
                    await connection.fetchval(sql["ensure_partition"], *month)
                    created = month
                await connection.execute(sql["insert"], *_columns(plan.new_events), self.channel)
        if created is not None:
            self._partitions.add(created)
        return plan.results

    # -- reading ----------------------------------------------------------------------------

    async def read_all(
        self, after_position: int = 0, limit: int | None = None
    ) -> list[StoredEvent]:
        check_read_window(after_position, limit)
        # LIMIT NULL is PostgreSQL's "no limit".
        return await self._query(self._sql["after"], after_position, limit)

    async def read_range(
        self, start: datetime, end: datetime, stream_prefix: str | None = None
    ) -> list[StoredEvent]:
        check_time_range(start, end)
        if not stream_prefix:
            return await self._query(self._sql["range"], start, end)
        bound = prefix_upper_bound(stream_prefix)
        if bound is None:
            return await self._query(self._sql["range_prefix_unbounded"], start, end, stream_prefix)
        return await self._query(self._sql["range_prefix"], start, end, stream_prefix, bound)

    async def read_stream(self, stream_id: str) -> list[StoredEvent]:
        return await self._query(self._sql["stream"], stream_id)

    async def head(self) -> StoredEvent | None:
        events = await self._query(self._sql["head"])
        return events[0] if events else None

    async def head_position(self) -> int:
        async with self._acquire() as connection:
            return int(await connection.fetchval(self._sql["head_position"]))

    async def count(self) -> int:
        async with self._acquire() as connection:
            value = await connection.fetchval(self._sql["count"])
        return int(value)

    async def read_index(self, positions: Sequence[int]) -> list[IndexEntry]:
        wanted = [int(position) for position in positions]
        async with self._acquire() as connection:
            rows = await connection.fetch(self._sql["index_at"], wanted)
        return [decode_index_entry(dict(row)) for row in rows]

    async def _query(self, sql: str, *parameters: Any) -> list[StoredEvent]:
        async with self._acquire() as connection:
            return _decode_all(await connection.fetch(sql, *parameters))

    # -- following --------------------------------------------------------------------------

    async def wait_for_events(self, after_position: int, timeout: float) -> bool:
        check_wait(after_position, timeout)
        await self._listen()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            # Take the current wakeup event *before* looking at the head: a notification
            # arriving after the look sets this very event, so it cannot be missed.
            wakeup = self._wakeup
            if self._notified_position > after_position:
                return True
            if await self.head_position() > after_position:
                return True
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wakeup.wait(), min(remaining, SAFETY_POLL_SECONDS))

    async def _listen(self) -> None:
        """Open the listener connection if it is not open (LISTEN before the first look)."""
        if self._pool is None:
            raise EventStoreClosed(f"event store {self.url} is closed")
        async with self._listener_lock:
            if self._listener is not None and not self._listener.is_closed():
                return
            connection = await asyncpg.connect(
                self._dsn, server_settings={"application_name": "quorate-event-listener"}
            )
            try:
                await connection.add_listener(self.channel, self._on_notification)
            except BaseException:
                await connection.close()
                raise
            self._listener = connection

    def _on_notification(self, connection: Any, pid: int, channel: str, payload: str) -> None:
        with contextlib.suppress(ValueError):
            self._notified_position = max(self._notified_position, int(payload))
        # Wake every current waiter, and give later ones a fresh event to wait on.
        wakeup, self._wakeup = self._wakeup, asyncio.Event()
        wakeup.set()

    # -- retention --------------------------------------------------------------------------

    async def archive_partitions(self, older_than: datetime, export_dir: Path) -> list[Path]:
        self._writable()
        boundary = archive_boundary(older_than)
        sql = self._sql
        written: list[Path] = []
        try:
            async with self._acquire() as connection:
                if not await connection.fetchval(sql["is_owner"], sql.events_table):
                    raise RetentionNotPermitted(
                        f"the role connected to {self.url} does not own the events table; "
                        "run retention as the owner"
                    )
                rows = await connection.fetch(sql["partitions"], sql.events_table)
                months = sorted(
                    (month, str(row["relname"]))
                    for row in rows
                    if (month := partition_month(str(row["relname"]))) is not None
                    and next_month(month) <= boundary
                )
                for month, name in months:
                    path = await self._archive_partition(connection, month, name, export_dir)
                    self._partitions.discard((month.year, month.month))
                    if path is not None:
                        written.append(path)
        except asyncpg.InsufficientPrivilegeError as exc:
            raise RetentionNotPermitted(str(exc)) from exc
        except asyncpg.PostgresError as exc:
            translated = _translate(exc)
            if translated is None:
                raise
            raise translated from exc
        return written

    async def _archive_partition(
        self, connection: Any, month: datetime, name: str, export_dir: Path
    ) -> Path | None:
        """Export, record, detach and drop one partition; ``None`` if it held no events."""
        sql = self._sql
        partition = sql.partition(name)
        async with connection.transaction():
            await connection.execute(sql["lock"], ARCHIVE_LOCK_CLASS, self.schema)
            qualified = f"{sql.quoted_schema}.{quote_partition(name)}"
            if await connection.fetchval(sql["regclass"], qualified) is None:
                return None  # Archived by a concurrent run meanwhile.
            # No insert may land in the month while it is exported (appends never target
            # an old month, since times never go back, but a skewed clock must not race).
            await connection.execute(partition["lock"])
            first = await connection.fetchval(partition["first"])
            if first is None:
                await connection.execute(partition["detach"])
                await connection.execute(partition["drop"])
                return None
            manifest, path = await archive_month(
                export_dir,
                month,
                first_position=first,
                last_archived=int(await connection.fetchval(sql["last_archived"])),
                rows=connection.cursor(partition["rows"], prefetch=ARCHIVE_FETCH_SIZE),
                index_lookup=lambda position: connection.fetchval(sql["indexed_hash"], position),
                clock=self._clock,
                source=self.url,
            )
            await connection.execute(
                sql["insert_archive"], *archive_values(manifest, manifest.archived_at)
            )
            await connection.execute(partition["detach"])
            await connection.execute(partition["drop"])
        return path

    # -- lifecycle --------------------------------------------------------------------------

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        listener, self._listener = self._listener, None
        if listener is not None:
            with contextlib.suppress(OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
                await listener.close()
        if pool is not None:
            await pool.close()


def _columns(events: Sequence[StoredEvent]) -> tuple[list[Any], ...]:
    """``events`` as one array per column, in COLUMNS order, for the ``unnest`` insert."""
    return (
        [event.position for event in events],
        [event.stream_id for event in events],
        [event.stream_version for event in events],
        [event.event_type for event in events],
        [event.schema_version for event in events],
        [encode_json(event.payload) for event in events],
        [encode_json(event.metadata) for event in events],
        [event.idempotency_key for event in events],
        [event.recorded_at for event in events],
        [event.prev_hash for event in events],
        [event.hash for event in events],
    )


def _decode_all(rows: Any) -> list[StoredEvent]:
    return [decode_event(dict(row)) for row in rows]


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
