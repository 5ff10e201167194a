"""Embedded SQLite adapter of the event store: the development and demo default.

Several processes may append to one file (the demo runs one worker process per party):
the database is in WAL mode so readers never block the writer, every append runs in
``BEGIN IMMEDIATE`` so writers queue on SQLite's write lock *before* reading the head (the
chain cannot fork, and of two writers expecting the same stream version exactly one wins),
and a busy timeout makes a writer wait for that lock instead of failing. Within one
process, one connection is shared and an ``asyncio.Lock`` keeps tasks from interleaving
statements inside each other's transactions.

Layout (schema version 2; :data:`_MIGRATIONS` holds every version, applied in order and
recorded in ``event_store_migrations`` and ``PRAGMA user_version``):

``events``
    the full rows, indexed by position, ``(stream_id, stream_version)`` and ``recorded_at``.
``event_index``
    position, stream id and version, idempotency key, hash and time of *every* event ever
    appended, archived or not: it keeps those unique for ever and tells an append where the
    chain and each stream stand after their tail was archived (as in the PostgreSQL
    adapter, whose partitioned ``events`` table cannot carry global unique constraints).
``event_archives``
    one row per archived month: positions, hashes, file name and SHA-256 of the export.

Triggers make all three append-only: SQLite itself refuses ``UPDATE`` and ``DELETE``, with
one exception. Retention (SQLite has no partitions) deletes the rows of a month after
exporting them, so the ``DELETE`` trigger lets a row go only when an ``event_archives``
row covers its position. That row is written in the same transaction as the delete, after
the export file is on disk, and can itself never be changed or removed: every deletion
the database allows is recorded, with the digest of where the rows went. (Anyone who can
write the file can drop triggers; SQLite's triggers guard against mistakes and make
tampering deliberate and detectable by the chain, not impossible.)

Read-only opening (:meth:`SQLiteEventStore.open_read_only`, for auditors) never writes to
the target, not even SQLite's side files: the file must exist and start with SQLite's
header; without a ``-wal`` file beside it (a store closed cleanly, or a copy) it is opened
``file:...?mode=ro&immutable=1``, which reads the main file and creates nothing (a plain
``mode=ro`` open of a WAL database creates ``-wal`` and ``-shm`` and leaves them behind); with
``-wal`` and ``-shm`` (a live store, or a writer that crashed) as an ordinary ``mode=ro``
reader, which reads the log and writes neither the file nor its ``-wal`` (only the shared
memory index ``-shm`` sees a reader's marks, as for any reader); with a ``-wal`` but no
``-shm``, the two files are copied to a private temporary directory and the copy is read. The
journal mode is never touched, no schema is created, the tables and schema version are
checked before anything else (:class:`~storage.events.errors.NotAnEventStore` otherwise), and
one read transaction holds one snapshot for every read.
"""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
import tempfile
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiosqlite

from storage.events._core import (
    COLUMNS,
    INDEX_COLUMNS,
    archive_month,
    archive_values,
    check_not_newer,
    check_readable_version,
    decode_event,
    decode_index_entry,
    encode_json,
    plan_append_from_rows,
    prefix_upper_bound,
    streams_to_read,
)
from storage.events.archive import archive_boundary, month_start, next_month
from storage.events.errors import (
    AppendOnlyViolation,
    ArchiveError,
    EventStoreClosed,
    EventStoreError,
    EventStoreReadOnly,
    NotAnEventStore,
)
from storage.events.port import (
    Clock,
    EventStore,
    IndexEntry,
    NewEvent,
    StoredEvent,
    canonical_json,
    check_expected_versions,
    check_read_window,
    check_time_range,
    format_recorded_at,
    utc_now,
)
from storage.sqlite_connection import (
    DEFAULT_BUSY_TIMEOUT_SECONDS,
    MEMORY,
    connect,
    immediate_transaction,
    retry_while_locked,
    row_mapping,
)

APPEND_ONLY_MESSAGE = "quorate event store is append-only"
"""Prefix of the triggers' error messages (spelled out in the SQL below)."""
ARCHIVE_FETCH_SIZE = 1000
"""Rows per fetch while exporting a month, so a large month is streamed, not loaded."""

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
_INSERT_INDEX = (
    "INSERT INTO event_index (position, stream_id, stream_version, idempotency_key, hash,"
    " recorded_at) VALUES (?, ?, ?, ?, ?, ?)"
)
# Keys are looked up in the index, which outlives archiving: a key whose event was archived
# comes back with NULL event columns, and is refused rather than silently reused.
_SELECT_BY_KEYS = (
    "SELECT i.idempotency_key AS indexed_key, i.position AS indexed_position,"
    " e.position, e.stream_id, e.stream_version, e.event_type, e.schema_version, e.payload,"
    " e.metadata, e.idempotency_key, e.recorded_at, e.prev_hash, e.hash"
    " FROM event_index AS i LEFT JOIN events AS e ON e.position = i.position"
    " WHERE i.idempotency_key IN (SELECT value FROM json_each(?))"
)
# One max() per stream, each answered from the end of the (stream_id, stream_version) index.
_SELECT_STREAM_VERSIONS = (
    "SELECT s.value AS stream_id,"
    " (SELECT max(stream_version) FROM event_index WHERE stream_id = s.value) AS version"
    " FROM json_each(?) AS s"
)
_SELECT_HEAD_LINK = (
    "SELECT position, hash, recorded_at FROM event_index ORDER BY position DESC LIMIT 1"
)
_SELECT_HEAD_POSITION = "SELECT coalesce(max(position), 0) FROM event_index"
_SELECT_AFTER = _EVENT + " WHERE position > ? ORDER BY position LIMIT ?"
_SELECT_STREAM = _EVENT + " WHERE stream_id = ? ORDER BY stream_version"
_SELECT_HEAD = _EVENT + " ORDER BY position DESC LIMIT 1"
_SELECT_RANGE = _EVENT + " WHERE recorded_at >= ? AND recorded_at < ? ORDER BY position"
_SELECT_RANGE_PREFIX = (
    _EVENT + " WHERE recorded_at >= ? AND recorded_at < ? AND stream_id >= ? AND stream_id < ?"
    " ORDER BY position"
)
# Only for a prefix of U+10FFFF characters, which has no upper bound (prefix_upper_bound).
_SELECT_RANGE_PREFIX_UNBOUNDED = (
    _EVENT + " WHERE recorded_at >= ? AND recorded_at < ? AND stream_id >= ?"
    " AND substr(stream_id, 1, length(?)) = ? ORDER BY position"
)
_SELECT_OLDEST_BEFORE = "SELECT min(recorded_at) FROM events WHERE recorded_at < ?"
_SELECT_MONTH = _EVENT + " WHERE recorded_at >= ? AND recorded_at < ? ORDER BY position"
_SELECT_LAST_ARCHIVED = "SELECT coalesce(max(last_position), 0) FROM event_archives"
_SELECT_INDEXED_HASH = "SELECT hash FROM event_index WHERE position = ?"
_INSERT_ARCHIVE = (
    "INSERT INTO event_archives (first_position, last_position, event_count, month,"
    " first_prev_hash, last_hash, file_name, sha256, archived_at)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_DELETE_ARCHIVED = "DELETE FROM events WHERE position BETWEEN ? AND ?"
_SELECT_INDEX_AT = (
    "SELECT position, stream_id, stream_version, idempotency_key, hash, recorded_at"
    " FROM event_index WHERE position IN (SELECT value FROM json_each(?)) ORDER BY position"
)
_SELECT_TABLES = "SELECT name FROM sqlite_master WHERE type = 'table'"
# PRAGMA table_info takes no parameters; these are whole literal statements.
_TABLE_INFO = {
    "events": "PRAGMA table_info(events)",
    "event_index": "PRAGMA table_info(event_index)",
}
_SQLITE_HEADER = b"SQLite format 3\x00"
_RECORD_MIGRATION = (
    "INSERT OR IGNORE INTO event_store_migrations (version, description, applied_at)"
    " VALUES (?, ?, ?)"
)


# Each version is a description and its statements; released entries are never edited,
# only new ones appended.
_MIGRATIONS: dict[int, tuple[str, tuple[str, ...]]] = {
    # Positions are assigned by the adapter under the write lock rather than by
    # AUTOINCREMENT, so they are gapless even when a transaction rolls back.
    1: (
        "events table, append-only triggers",
        (
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
    ),
    2: (
        "migrations table, event index, archives, time index, archive-aware delete trigger",
        (
            """
            CREATE TABLE event_store_migrations (
                version     INTEGER PRIMARY KEY,
                description TEXT    NOT NULL,
                applied_at  TEXT    NOT NULL
            )
            """,
            """
            CREATE TABLE event_index (
                position        INTEGER PRIMARY KEY CHECK (position >= 1),
                stream_id       TEXT    NOT NULL,
                stream_version  INTEGER NOT NULL CHECK (stream_version >= 1),
                idempotency_key TEXT    NOT NULL UNIQUE,
                hash            TEXT    NOT NULL UNIQUE CHECK (length(hash) = 64),
                recorded_at     TEXT    NOT NULL,
                UNIQUE (stream_id, stream_version)
            )
            """,
            """
            INSERT INTO event_index
                (position, stream_id, stream_version, idempotency_key, hash, recorded_at)
            SELECT position, stream_id, stream_version, idempotency_key, hash, recorded_at
            FROM events ORDER BY position
            """,
            # recorded_at is fixed-width ISO-8601 UTC text, so text order is time order.
            "CREATE INDEX events_recorded_at ON events (recorded_at)",
            """
            CREATE TABLE event_archives (
                first_position  INTEGER PRIMARY KEY CHECK (first_position >= 1),
                last_position   INTEGER NOT NULL,
                event_count     INTEGER NOT NULL,
                month           TEXT    NOT NULL,
                first_prev_hash TEXT    NOT NULL CHECK (length(first_prev_hash) = 64),
                last_hash       TEXT    NOT NULL CHECK (length(last_hash) = 64),
                file_name       TEXT    NOT NULL,
                sha256          TEXT    NOT NULL CHECK (length(sha256) = 64),
                archived_at     TEXT    NOT NULL,
                CHECK (last_position >= first_position),
                CHECK (event_count = last_position - first_position + 1)
            )
            """,
            "DROP TRIGGER events_refuse_delete",
            # The archive covering a position is the one with the greatest first position
            # at or below it (archives never overlap); found through the primary key.
            """
            CREATE TRIGGER events_refuse_delete BEFORE DELETE ON events
            WHEN NOT EXISTS (
                SELECT 1 FROM (
                    SELECT last_position FROM event_archives
                    WHERE first_position <= OLD.position
                    ORDER BY first_position DESC LIMIT 1
                ) WHERE last_position >= OLD.position
            )
            BEGIN
                SELECT RAISE(
                    ABORT, 'quorate event store is append-only: DELETE refused on events'
                );
            END
            """,
            """
            CREATE TRIGGER event_index_refuse_update BEFORE UPDATE ON event_index
            BEGIN
                SELECT RAISE(
                    ABORT, 'quorate event store is append-only: UPDATE refused on event_index'
                );
            END
            """,
            """
            CREATE TRIGGER event_index_refuse_delete BEFORE DELETE ON event_index
            BEGIN
                SELECT RAISE(
                    ABORT, 'quorate event store is append-only: DELETE refused on event_index'
                );
            END
            """,
            """
            CREATE TRIGGER event_archives_refuse_update BEFORE UPDATE ON event_archives
            BEGIN
                SELECT RAISE(
                    ABORT, 'quorate event store is append-only: UPDATE refused on event_archives'
                );
            END
            """,
            """
            CREATE TRIGGER event_archives_refuse_delete BEFORE DELETE ON event_archives
            BEGIN
                SELECT RAISE(
                    ABORT, 'quorate event store is append-only: DELETE refused on event_archives'
                );
            END
            """,
        ),
    ),
}
SCHEMA_VERSION = max(_MIGRATIONS)
"""Also stored in ``PRAGMA user_version``; bump it with a new entry in ``_MIGRATIONS``."""
_MIGRATIONS_TABLE_SINCE = 2
"""The first version that has ``event_store_migrations``."""


async def migrate(
    connection: aiosqlite.Connection,
    *,
    target_version: int = SCHEMA_VERSION,
    applied_at: datetime | None = None,
) -> None:
    """Bring the database to ``target_version``, recording each step.

    ``target_version`` below :data:`SCHEMA_VERSION` exists for tests that build an older
    store to migrate. ``BEGIN IMMEDIATE`` so two processes creating the same file do not
    both run a migration.
    """
    if not 1 <= target_version <= SCHEMA_VERSION:
        raise ValueError(f"target_version must be in 1..{SCHEMA_VERSION}, got {target_version}")
    async with immediate_transaction(connection):
        cursor = await connection.execute("PRAGMA user_version")
        row = await cursor.fetchone()
        current = int(row[0]) if row is not None else 0
        check_not_newer(current, SCHEMA_VERSION)
        for version in range(current + 1, target_version + 1):
            for statement in _MIGRATIONS[version][1]:
                await connection.execute(statement)
            # PRAGMA takes no parameters; the value is an int from this module's table.
            await connection.execute(f"PRAGMA user_version = {int(version)}")
        if current < target_version and target_version >= _MIGRATIONS_TABLE_SINCE:
            # Versions applied before the table existed are recorded when it is created.
            when = format_recorded_at(applied_at or utc_now())
            for version in range(1, target_version + 1):
                await connection.execute(
                    _RECORD_MIGRATION, (version, _MIGRATIONS[version][0], when)
                )


def _check_sqlite_file(path: Path) -> None:
    """Refuse, before SQLite sees it, what cannot be an event store: nothing is created."""
    if not path.exists():
        raise NotAnEventStore(f"no event store at {path} (no such file)")
    if not path.is_file():
        raise NotAnEventStore(f"no event store at {path} (not a regular file)")
    with path.open("rb") as file:
        header = file.read(len(_SQLITE_HEADER))
    if not header:
        raise NotAnEventStore(f"{path} is not a Quorate event store (an empty file)")
    if header != _SQLITE_HEADER:
        raise NotAnEventStore(f"{path} is not a Quorate event store (not a SQLite database)")


async def _check_event_store(connection: aiosqlite.Connection, where: str) -> None:
    """The tables and schema version of a Quorate event store, or :class:`NotAnEventStore`."""
    cursor = await connection.execute(_SELECT_TABLES)
    tables = {str(row[0]) for row in await cursor.fetchall()}
    expected = {"events": set(COLUMNS), "event_index": set(INDEX_COLUMNS)}
    for table, columns in expected.items():
        if table not in tables:
            raise NotAnEventStore(
                f"{where} is not a Quorate event store (a SQLite database without its "
                f"{table} table)"
            )
        cursor = await connection.execute(_TABLE_INFO[table])
        found = {str(row[1]) for row in await cursor.fetchall()}
        if found != columns:
            raise NotAnEventStore(
                f"{where} is not a Quorate event store (its {table} table has other columns)"
            )
    cursor = await connection.execute("PRAGMA user_version")
    row = await cursor.fetchone()
    check_readable_version(int(row[0]) if row is not None else 0, SCHEMA_VERSION, where)


def _read_only_uri(path: Path, *, immutable: bool) -> str:
    """A ``file:`` URI that SQLite opens read-only (``immutable``: no locks, no side files)."""
    uri = "file:" + quote(str(path.resolve()), safe="/") + "?mode=ro"
    return uri + "&immutable=1" if immutable else uri


class SQLiteEventStore(EventStore):
    """The event store in one SQLite file (or in memory, for tests). Use :meth:`open`, or
    :meth:`open_read_only` to audit one."""

    def __init__(
        self,
        connection: aiosqlite.Connection,
        *,
        url: str,
        clock: Clock,
        read_only: bool = False,
        private_copy: Path | None = None,
    ) -> None:
        self.url = url
        self._connection: aiosqlite.Connection | None = connection
        self._clock = clock
        self._lock = asyncio.Lock()
        self._read_only = read_only
        self._private_copy = private_copy

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
        # FULL: a committed event survives power loss; it is an audit log.
        connection = await connect(database, busy_timeout=busy_timeout, synchronous="FULL")
        try:
            await retry_while_locked(lambda: migrate(connection), timeout=busy_timeout)
        except BaseException:
            await connection.close()
            raise
        return cls(connection, url=url, clock=clock or utc_now)

    @classmethod
    async def open_read_only(
        cls, path: str | Path, *, busy_timeout: float = DEFAULT_BUSY_TIMEOUT_SECONDS
    ) -> SQLiteEventStore:
        """Open the existing store at ``path`` for reading only (see the module docstring).

        Raises :class:`~storage.events.errors.NotAnEventStore` for a missing, empty or foreign
        file, having created and changed nothing.
        """
        database = str(path)
        if database == MEMORY:
            raise NotAnEventStore("an in-memory database holds no event store to open read-only")
        file = Path(database)
        _check_sqlite_file(file)
        wal, shm = Path(database + "-wal"), Path(database + "-shm")
        private: Path | None = None
        if not wal.exists() and not Path(database + "-journal").exists():
            target = _read_only_uri(file, immutable=True)
        elif shm.exists() or not wal.exists():
            target = _read_only_uri(file, immutable=False)
        else:
            # A reader would have to create -shm beside the file: read a private copy.
            private = Path(tempfile.mkdtemp(prefix="quorate-read-only-"))
            copy = private / file.name
            shutil.copyfile(file, copy)
            shutil.copyfile(wal, private / wal.name)
            target = _read_only_uri(copy, immutable=False)
        try:
            connection = await aiosqlite.connect(
                target, uri=True, timeout=busy_timeout, isolation_level=None
            )
        except sqlite3.Error as exc:
            if private is not None:
                shutil.rmtree(private, ignore_errors=True)
            raise NotAnEventStore(f"cannot open {database} read-only: {exc}") from exc
        try:
            connection.row_factory = sqlite3.Row
            await connection.execute("PRAGMA query_only = ON")
            # One read transaction for the store's life: every read sees one snapshot.
            await connection.execute("BEGIN")
            await _check_event_store(connection, database)
        except BaseException as exc:
            await connection.close()
            if private is not None:
                shutil.rmtree(private, ignore_errors=True)
            if isinstance(exc, sqlite3.OperationalError):
                # Locked, busy, I/O: a store that could not be read now, not a foreign file.
                raise EventStoreError(f"cannot read event store {database}: {exc}") from exc
            if isinstance(exc, sqlite3.DatabaseError):
                raise NotAnEventStore(f"{database} is not a Quorate event store ({exc})") from exc
            raise
        return cls(
            connection,
            url="sqlite:///" + database,
            clock=utc_now,
            read_only=True,
            private_copy=private,
        )

    def _conn(self) -> aiosqlite.Connection:
        if self._connection is None:
            raise EventStoreClosed(f"event store {self.url} is closed")
        return self._connection

    def _writable(self) -> None:
        if self._read_only:
            raise EventStoreReadOnly(f"event store {self.url} is opened read-only")

    async def append_many(
        self,
        events: Sequence[NewEvent],
        expected_versions: Mapping[str, int] | None = None,
    ) -> list[StoredEvent]:
        self._writable()
        expected = check_expected_versions(expected_versions)
        if not events:
            return []
        keys = _json_array([event.idempotency_key for event in events])
        streams = _json_array(streams_to_read(events, expected))
        async with self._lock:
            connection = self._conn()
            try:
                async with immediate_transaction(connection):
                    key_rows = await connection.execute_fetchall(_SELECT_BY_KEYS, (keys,))
                    version_rows = await connection.execute_fetchall(
                        _SELECT_STREAM_VERSIONS, (streams,)
                    )
                    cursor = await connection.execute(_SELECT_HEAD_LINK)
                    head = await cursor.fetchone()
                    plan = plan_append_from_rows(
                        events,
                        expected_versions=expected,
                        key_rows=map(row_mapping, key_rows),
                        version_rows=map(row_mapping, version_rows),
                        head_row=None if head is None else row_mapping(head),
                        recorded_at=self._clock(),
                    )
                    if plan.new_events:
                        await connection.executemany(
                            _INSERT_INDEX, [_to_index_row(stored) for stored in plan.new_events]
                        )
                        await connection.executemany(
                            _INSERT, [_to_row(stored) for stored in plan.new_events]
                        )
            except sqlite3.IntegrityError as exc:
                raise _translate(exc) from exc
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

    async def read_range(
        self, start: datetime, end: datetime, stream_prefix: str | None = None
    ) -> list[StoredEvent]:
        check_time_range(start, end)
        window = (format_recorded_at(start), format_recorded_at(end))
        if not stream_prefix:
            return await self._query(_SELECT_RANGE, window)
        bound = prefix_upper_bound(stream_prefix)
        if bound is None:
            return await self._query(
                _SELECT_RANGE_PREFIX_UNBOUNDED,
                (*window, stream_prefix, stream_prefix, stream_prefix),
            )
        return await self._query(_SELECT_RANGE_PREFIX, (*window, stream_prefix, bound))

    async def read_stream(self, stream_id: str) -> list[StoredEvent]:
        return await self._query(_SELECT_STREAM, (stream_id,))

    async def head(self) -> StoredEvent | None:
        events = await self._query(_SELECT_HEAD, ())
        return events[0] if events else None

    async def head_position(self) -> int:
        return await self._scalar(_SELECT_HEAD_POSITION)

    async def count(self) -> int:
        return await self._scalar("SELECT count(*) FROM events")

    async def read_index(self, positions: Sequence[int]) -> list[IndexEntry]:
        wanted = canonical_json([int(position) for position in positions])
        async with self._lock:
            rows = await self._conn().execute_fetchall(_SELECT_INDEX_AT, (wanted,))
        return [decode_index_entry(row_mapping(row)) for row in rows]

    async def archive_partitions(self, older_than: datetime, export_dir: Path) -> list[Path]:
        self._writable()
        boundary = format_recorded_at(archive_boundary(older_than))
        written: list[Path] = []
        # One transaction per month: each month is exported and removed, or left whole.
        while True:
            async with self._lock:
                connection = self._conn()
                try:
                    async with immediate_transaction(connection):
                        path = await self._archive_oldest_month(connection, boundary, export_dir)
                except sqlite3.IntegrityError as exc:
                    raise _translate(exc) from exc
            if path is None:
                return written
            written.append(path)

    async def _archive_oldest_month(
        self, connection: aiosqlite.Connection, boundary: str, export_dir: Path
    ) -> Path | None:
        """Export and delete the oldest month before ``boundary``; ``None`` if there is none."""
        cursor = await connection.execute(_SELECT_OLDEST_BEFORE, (boundary,))
        row = await cursor.fetchone()
        if row is None or row[0] is None:
            return None
        month = month_start(datetime.fromisoformat(str(row[0])))
        window = (format_recorded_at(month), format_recorded_at(next_month(month)))

        async def month_rows() -> AsyncIterator[dict[str, Any]]:
            cursor = await connection.execute(_SELECT_MONTH, window)
            while rows := await cursor.fetchmany(ARCHIVE_FETCH_SIZE):
                for month_row in rows:
                    yield row_mapping(month_row)

        async def index_lookup(position: int) -> object:
            cursor = await connection.execute(_SELECT_INDEXED_HASH, (position,))
            found = await cursor.fetchone()
            return None if found is None else found[0]

        manifest, path = await archive_month(
            export_dir,
            month,
            first_position=await self._first_position_of(connection, month),
            last_archived=await self._scalar_in(connection, _SELECT_LAST_ARCHIVED, ()),
            rows=month_rows(),
            index_lookup=index_lookup,
            clock=self._clock,
            source=self.url,
        )
        await connection.execute(
            _INSERT_ARCHIVE,
            archive_values(manifest, format_recorded_at(manifest.archived_at)),
        )
        cursor = await connection.execute(
            _DELETE_ARCHIVED, (manifest.first_position, manifest.last_position)
        )
        if cursor.rowcount != manifest.count:
            raise ArchiveError(
                f"deleted {cursor.rowcount} events of {manifest.month}, expected {manifest.count}"
            )
        return path

    async def _first_position_of(self, connection: aiosqlite.Connection, month: datetime) -> int:
        cursor = await connection.execute(
            "SELECT min(position) FROM events WHERE recorded_at >= ? AND recorded_at < ?",
            (format_recorded_at(month), format_recorded_at(next_month(month))),
        )
        row = await cursor.fetchone()
        if row is None or row[0] is None:
            raise ArchiveError(f"no events in {month:%Y-%m}")
        return int(row[0])

    async def close(self) -> None:
        async with self._lock:
            connection, self._connection = self._connection, None
            if connection is not None:
                await connection.close()
            private, self._private_copy = self._private_copy, None
            if private is not None:
                shutil.rmtree(private, ignore_errors=True)

    async def _query(self, sql: str, parameters: tuple[Any, ...]) -> list[StoredEvent]:
        # Reads take the lock too: on a shared connection a read issued while another task's
        # transaction is open would see that transaction's uncommitted rows.
        async with self._lock:
            return await self._fetch(self._conn(), sql, parameters)

    async def _scalar(self, sql: str) -> int:
        async with self._lock:
            return await self._scalar_in(self._conn(), sql, ())

    @staticmethod
    async def _scalar_in(
        connection: aiosqlite.Connection, sql: str, parameters: tuple[Any, ...]
    ) -> int:
        cursor = await connection.execute(sql, parameters)
        row = await cursor.fetchone()
        return int(row[0]) if row is not None and row[0] is not None else 0

    @staticmethod
    async def _fetch(
        connection: aiosqlite.Connection, sql: str, parameters: tuple[Any, ...]
    ) -> list[StoredEvent]:
        rows = await connection.execute_fetchall(sql, parameters)
        return [decode_event(row_mapping(row)) for row in rows]


def _json_array(values: list[str]) -> str:
    """A JSON array bound as one parameter and expanded by ``json_each`` in SQL.

    This keeps ``IN (...)`` queries fully parameterized, with no placeholder lists built
    from the batch size.
    """
    return canonical_json(values)


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


def _to_index_row(event: StoredEvent) -> tuple[Any, ...]:
    return (
        event.position,
        event.stream_id,
        event.stream_version,
        event.idempotency_key,
        event.hash,
        format_recorded_at(event.recorded_at),
    )


def _translate(exc: sqlite3.IntegrityError) -> EventStoreError:
    if APPEND_ONLY_MESSAGE in str(exc):
        return AppendOnlyViolation(str(exc))
    # Unique constraints back up the write lock; hitting one means another writer ignored
    # the protocol (or the file was edited by hand).
    return EventStoreError(f"event store constraint violated: {exc}")
