"""Embedded SQLite adapter of the event store: the development and demo default.

Several processes may append to one file (the demo runs one worker process per party):
the database is in WAL mode so readers never block the writer, every append runs in
``BEGIN IMMEDIATE`` so writers queue on SQLite's write lock *before* reading the head (the
chain cannot fork), and a busy timeout makes a writer wait for that lock instead of failing.
Within one process, one connection is shared and an ``asyncio.Lock`` keeps tasks from
interleaving statements inside each other's transactions.

Triggers make the table append-only: SQLite itself refuses ``UPDATE`` and ``DELETE``.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

from storage.events._core import Head, decode_event, encode_json, plan_append
from storage.events.errors import AppendOnlyViolation, EventStoreClosed, EventStoreError
from storage.events.port import (
    Clock,
    EventStore,
    NewEvent,
    StoredEvent,
    canonical_json,
    check_read_window,
    format_recorded_at,
    utc_now,
)

MEMORY = ":memory:"
DEFAULT_BUSY_TIMEOUT_SECONDS = 30.0
APPEND_ONLY_MESSAGE = "quorate event store is append-only"
"""Prefix of the triggers' error messages (spelled out in the SQL below)."""
SCHEMA_VERSION = 1
"""Stored in ``PRAGMA user_version``; bump it with a new entry in ``_MIGRATIONS``."""

# Every query is a literal; values are always bound as parameters. Columns in COLUMNS order.
_EVENT = (
    "SELECT position, stream_id, stream_version, event_type, schema_version, payload, metadata,"
    " idempotency_key, recorded_at, prev_hash, hash FROM events"
)
_INSERT = (
    "INSERT INTO events (position, stream_id, stream_version, event_type, schema_version,"
    " payload, metadata, idempotency_key, recorded_at, prev_hash, hash)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_SELECT_BY_KEYS = _EVENT + " WHERE idempotency_key IN (SELECT value FROM json_each(?))"  # noqa: S608
_SELECT_AFTER = _EVENT + " WHERE position > ? ORDER BY position LIMIT ?"
_SELECT_STREAM = _EVENT + " WHERE stream_id = ? ORDER BY stream_version"
_SELECT_HEAD = _EVENT + " ORDER BY position DESC LIMIT 1"

# Migration 1. Positions are assigned by the adapter under the write lock rather than by
# AUTOINCREMENT, so they are gapless even when a transaction rolls back.
_MIGRATIONS: dict[int, tuple[str, ...]] = {
    1: (
        """
        CREATE TABLE events (
            position        INTEGER PRIMARY KEY CHECK (position >= 1),
            stream_id       TEXT    NOT NULL,
            stream_version  INTEGER NOT NULL CHECK (stream_version >= 1),
            event_type      TEXT    NOT NULL,
            schema_version  INTEGER NOT NULL CHECK (schema_version >= 1),
            payload         TEXT    NOT NULL,
            metadata        TEXT    NOT NULL,
            idempotency_key TEXT    NOT NULL UNIQUE,
            recorded_at     TEXT    NOT NULL,
            prev_hash       TEXT    NOT NULL CHECK (length(prev_hash) = 64),
            hash            TEXT    NOT NULL UNIQUE CHECK (length(hash) = 64),
            UNIQUE (stream_id, stream_version)
        )
        """,
        """
        CREATE TRIGGER events_refuse_update BEFORE UPDATE ON events
        BEGIN
            SELECT RAISE(ABORT, 'quorate event store is append-only: UPDATE refused');
        END
        """,
        """
        CREATE TRIGGER events_refuse_delete BEFORE DELETE ON events
        BEGIN
            SELECT RAISE(ABORT, 'quorate event store is append-only: DELETE refused');
        END
        """,
    ),
}

_T = TypeVar("_T")


def _is_locked(exc: sqlite3.OperationalError) -> bool:
    return "locked" in str(exc) or "busy" in str(exc)


async def _retry_while_locked(operation: Callable[[], Awaitable[_T]], *, timeout: float) -> _T:
    """Run ``operation``, retrying while another process holds a lock.

    Only for start-up: switching to WAL mode needs an exclusive lock and SQLite does not
    always invoke the busy handler for it, so two processes opening a fresh file at the
    same moment would otherwise fail.
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            return await operation()
        except sqlite3.OperationalError as exc:
            if not _is_locked(exc) or time.monotonic() >= deadline:
                raise
            await asyncio.sleep(0.01)


class SQLiteEventStore(EventStore):
    """The event store in one SQLite file (or in memory, for tests). Use :meth:`open`."""

    def __init__(self, connection: aiosqlite.Connection, *, url: str, clock: Clock) -> None:
        self.url = url
        self._connection: aiosqlite.Connection | None = connection
        self._clock = clock
        self._lock = asyncio.Lock()

    @classmethod
    async def open(
        cls,
        path: str | Path,
        *,
        clock: Clock | None = None,
        busy_timeout: float = DEFAULT_BUSY_TIMEOUT_SECONDS,
    ) -> SQLiteEventStore:
        """Open (creating if missing) the store at ``path``; ``":memory:"`` for a private one."""
        database = str(path)
        url = "sqlite:///" + database
        if database != MEMORY:
            # A fresh deployment's data directory may not exist yet; SQLite would not create it.
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: the adapter issues BEGIN IMMEDIATE / COMMIT itself, instead
        # of the sqlite3 module's implicit deferred transactions, which would read the head
        # before taking the write lock. `timeout` is SQLite's busy timeout.
        connection = await aiosqlite.connect(database, timeout=busy_timeout, isolation_level=None)
        try:
            connection.row_factory = sqlite3.Row

            async def configure() -> None:
                if database != MEMORY:
                    await connection.execute("PRAGMA journal_mode = WAL")
                # FULL: a committed event survives power loss; it is an audit log.
                await connection.execute("PRAGMA synchronous = FULL")

            await _retry_while_locked(configure, timeout=busy_timeout)
            await _retry_while_locked(lambda: cls._migrate(connection), timeout=busy_timeout)
        except BaseException:
            await connection.close()
            raise
        return cls(connection, url=url, clock=clock or utc_now)

    @staticmethod
    async def _migrate(connection: aiosqlite.Connection) -> None:
        # BEGIN IMMEDIATE so two processes creating the same file do not both run a migration.
        await connection.execute("BEGIN IMMEDIATE")
        try:
            cursor = await connection.execute("PRAGMA user_version")
            row = await cursor.fetchone()
            current = int(row[0]) if row is not None else 0
            if current > SCHEMA_VERSION:
                raise EventStoreError(
                    f"event store schema version {current} is newer than this code "
                    f"({SCHEMA_VERSION}); upgrade Quorate"
                )
            for version in range(current + 1, SCHEMA_VERSION + 1):
                for statement in _MIGRATIONS[version]:
                    await connection.execute(statement)
                # PRAGMA takes no parameters; the value is an int constant from this module.
                await connection.execute(f"PRAGMA user_version = {int(version)}")
            await connection.execute("COMMIT")
        except BaseException:
            await _rollback(connection)
            raise

    def _conn(self) -> aiosqlite.Connection:
        if self._connection is None:
            raise EventStoreClosed(f"event store {self.url} is closed")
        return self._connection

    async def append_many(self, events: Sequence[NewEvent]) -> list[StoredEvent]:
        if not events:
            return []
        keys = _json_array([event.idempotency_key for event in events])
        streams = _json_array(sorted({event.stream_id for event in events}))
        async with self._lock:
            connection = self._conn()
            await connection.execute("BEGIN IMMEDIATE")
            try:
                existing = {
                    stored.idempotency_key: stored
                    for stored in await self._fetch(
                        connection,
                        _SELECT_BY_KEYS,
                        (keys,),
                    )
                }
                rows = await connection.execute_fetchall(
                    "SELECT stream_id, max(stream_version) FROM events"
                    " WHERE stream_id IN (SELECT value FROM json_each(?)) GROUP BY stream_id",
                    (streams,),
                )
                stream_versions = {str(row[0]): int(row[1]) for row in rows}
                cursor = await connection.execute(
                    "SELECT position, hash FROM events ORDER BY position DESC LIMIT 1"
                )
                head_row = await cursor.fetchone()
                head = Head(int(head_row[0]), str(head_row[1])) if head_row else None
                plan = plan_append(
                    events,
                    head=head,
                    stream_versions=stream_versions,
                    existing=existing,
                    recorded_at=self._clock(),
                )
                if plan.new_events:
                    await connection.executemany(
                        _INSERT, [_to_row(stored) for stored in plan.new_events]
                    )
                await connection.execute("COMMIT")
            except sqlite3.IntegrityError as exc:
                await _rollback(connection)
                raise _translate(exc) from exc
            except BaseException:
                await _rollback(connection)
                raise
        return plan.results

    async def read_all(
        self, after_position: int = 0, limit: int | None = None
    ) -> list[StoredEvent]:
        check_read_window(after_position, limit)
        # LIMIT -1 is SQLite's "no limit".
        return await self._query(
            _SELECT_AFTER,
            (after_position, -1 if limit is None else limit),
        )

    async def read_stream(self, stream_id: str) -> list[StoredEvent]:
        return await self._query(_SELECT_STREAM, (stream_id,))

    async def head(self) -> StoredEvent | None:
        events = await self._query(_SELECT_HEAD, ())
        return events[0] if events else None

    async def count(self) -> int:
        async with self._lock:
            cursor = await self._conn().execute("SELECT count(*) FROM events")
            row = await cursor.fetchone()
        return int(row[0]) if row is not None else 0

    async def close(self) -> None:
        async with self._lock:
            connection, self._connection = self._connection, None
            if connection is not None:
                await connection.close()

    async def _query(self, sql: str, parameters: tuple[Any, ...]) -> list[StoredEvent]:
        # Reads take the lock too: on a shared connection a read issued while another task's
        # transaction is open would see that transaction's uncommitted rows.
        async with self._lock:
            return await self._fetch(self._conn(), sql, parameters)

    @staticmethod
    async def _fetch(
        connection: aiosqlite.Connection, sql: str, parameters: tuple[Any, ...]
    ) -> list[StoredEvent]:
        rows = await connection.execute_fetchall(sql, parameters)
        return [decode_event(_row_mapping(row)) for row in rows]


def _json_array(values: list[str]) -> str:
    """A JSON array bound as one parameter and expanded by ``json_each`` in SQL.

    This keeps ``IN (...)`` queries fully parameterized, with no placeholder lists built
    from the batch size.
    """
    return canonical_json(values)


def _row_mapping(row: sqlite3.Row) -> dict[str, Any]:
    return {key: row[key] for key in row.keys()}  # noqa: SIM118 - sqlite3.Row is no dict


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
        format_recorded_at(event.recorded_at),
        event.prev_hash,
        event.hash,
    )


def _translate(exc: sqlite3.IntegrityError) -> EventStoreError:
    if APPEND_ONLY_MESSAGE in str(exc):
        return AppendOnlyViolation(str(exc))
    # Unique constraints back up the write lock; hitting one means another writer ignored
    # the protocol (or the file was edited by hand).
    return EventStoreError(f"event store constraint violated: {exc}")


async def _rollback(connection: aiosqlite.Connection) -> None:
    # The transaction may already be gone (COMMIT completed before a cancellation arrived,
    # or SQLite rolled back on error); a failed ROLLBACK must not hide the original error.
    with contextlib.suppress(sqlite3.OperationalError):
        await connection.execute("ROLLBACK")
