"""PostgreSQL adapter of the event store (asyncpg): the production store.

Appends. Every append is one transaction that first takes a transaction-scoped advisory
lock keyed by the schema, then reads the head: appends from any number of connections,
processes or hosts are serialized, so positions are gapless, the hash chain never forks,
and of two writers expecting the same stream version exactly one wins (the other gets
:class:`~storage.events.errors.StreamVersionConflict`). An advisory lock (rather than
``LOCK TABLE``) needs no table privilege beyond ``INSERT`` and ``SELECT``. Transactions stay
at READ COMMITTED on purpose: each statement after the lock then sees the previous append's
commit (REPEATABLE READ would freeze the snapshot at the lock statement).

Layout (schema version 2). ``events`` is partitioned by month: ``PARTITION BY RANGE
(recorded_at)``, one partition ``events_yYYYYmMM`` per calendar month (UTC), created on
demand by the append that first needs it and ahead of time (this month and the next) when
the store is opened. PostgreSQL requires every unique constraint of a partitioned table to
include the partition key, which would make position, ``(stream_id, stream_version)``,
idempotency key and hash unique only *per month*. So uniqueness lives in ``event_index``,
an ordinary table with one small row per event (position, stream id and version, key,
hash, time) and the four unique constraints, written by the same ``INSERT`` statement as
``events``. It is never archived: positions, stream versions and keys of archived events
stay taken, and appends read the chain's tail and the streams' versions from it. Migration
2 turned a version-1 store (one plain ``events`` table) into this layout by copying, in one
transaction, and dropping the old table; nothing is half-migrated if it fails.

Append-only, twice over:

* triggers refuse ``UPDATE``, ``DELETE`` and ``TRUNCATE`` on ``events``, ``event_index``
  and ``event_archives``, for every role including superusers and owners. Row triggers
  declared on the partitioned parent are cloned onto every partition; a ``TRUNCATE``
  trigger is not, so :func:`ensure_partition` (SQL) adds one to each new partition;
* privileges: the application role :data:`APP_ROLE` (``NOLOGIN``; log-in users are made
  members of it) is granted ``SELECT`` and ``INSERT`` only, plus ``EXECUTE`` on the
  ``SECURITY DEFINER`` function that creates a month's partition. It owns nothing, so it
  cannot ``UPDATE``, ``DELETE`` or ``TRUNCATE`` even with the triggers disabled, nor
  ``ALTER``, ``DETACH`` or ``DROP`` anything.

Retention (:meth:`PostgresEventStore.archive_partitions`) is the one way events leave: it
must run as the owner (a separate credential from the application's), takes an archive
advisory lock, locks the month's partition against writes, exports it (checked against the
chain and the index, flushed to disk), records it in ``event_archives``, then detaches and
drops that partition, all in one transaction per month. Dropping a table fires no row
trigger; ownership is what stands between the application and it.

Notifications: each append issues ``pg_notify('quorate_events_<schema>', <head position>)``
in its transaction, delivered on commit; :meth:`PostgresEventStore.wait_for_events` listens
on a dedicated connection, so followers wake within milliseconds without polling.

Each store lives in one schema (``event_store`` by default; tests use a fresh one each).
The schema and partition names are checked against strict patterns and then quoted, since
identifiers cannot be bound as parameters; every value is a parameter.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]

from storage.events._core import (
    Head,
    decode_event,
    display_url,
    encode_json,
    plan_append,
    prefix_upper_bound,
    streams_to_read,
)
from storage.events.archive import ArchiveWriter, archive_boundary, month_start, next_month
from storage.events.errors import (
    AppendOnlyViolation,
    ArchiveError,
    EventStoreClosed,
    EventStoreError,
    InvalidSchemaName,
    RetentionNotPermitted,
)
from storage.events.port import (
    GENESIS_HASH,
    Clock,
    EventStore,
    NewEvent,
    StoredEvent,
    check_expected_versions,
    check_read_window,
    check_time_range,
    check_wait,
    utc_now,
)

DEFAULT_SCHEMA = "event_store"
APP_ROLE = "quorate_app"
"""The application role: ``SELECT`` and ``INSERT`` only (created ``NOLOGIN`` by migration 2
when the migrating user may create roles; grant it to the application's log-in user)."""
APPEND_ONLY_SQLSTATE = "QE001"
"""SQLSTATE raised by the append-only trigger, so refusals are recognized reliably."""
LOCK_CLASS = 0x5152_4D45
"""First key of ``pg_advisory_xact_lock(int4, int4)``: Quorate's event store (b"QRME")."""
ARCHIVE_LOCK_CLASS = LOCK_CLASS + 1
"""Serializes retention runs on one schema (appends do not wait for it)."""
ARCHIVE_FETCH_SIZE = 1000
"""Rows per round trip while exporting a month, so a large month is streamed, not loaded."""
SAFETY_POLL_SECONDS = 1.0
"""``wait_for_events`` re-reads the head this often even without a notification, so a lost
listener connection delays a follower by at most this much instead of forever."""
NOTIFY_PREFIX = "quorate_events_"

_SCHEMA_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
_PARTITION_NAME = re.compile(r"events_y([0-9]{4})m(0[1-9]|1[0-2])")
_PARTITION_MISSING = "no partition of relation"

# Each migration is a description and a list of statements over the placeholders {schema}
# (the quoted, pattern-checked schema name) and {schema_name} (the same name unquoted, only
# inside SQL string literals, where the pattern [a-z0-9_] cannot break out); released
# entries are never edited, only new ones appended.
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
    2: (
        "monthly partitions, event index, archives, application role (copy-migration)",
        (
            "ALTER TABLE {schema}.events RENAME TO events_v1",
            # Index names are chosen explicitly: version 1's (events_pkey, ...) still exist
            # until events_v1 is dropped at the end of this migration.
            """
            CREATE TABLE {schema}.event_index (
                position        bigint      NOT NULL CHECK (position >= 1),
                stream_id       text        COLLATE "C" NOT NULL,
                stream_version  integer     NOT NULL CHECK (stream_version >= 1),
                idempotency_key text        NOT NULL,
                hash            text        NOT NULL CHECK (hash ~ '^[0-9a-f]{{64}}$'),
                recorded_at     timestamptz NOT NULL,
                CONSTRAINT event_index_position_key PRIMARY KEY (position),
                CONSTRAINT event_index_stream_version_key UNIQUE (stream_id, stream_version),
                CONSTRAINT event_index_idempotency_key_key UNIQUE (idempotency_key),
                CONSTRAINT event_index_hash_key UNIQUE (hash)
            )
            """,
            # stream_id compares bytewise (COLLATE "C"), so "starts with" is an index range.
            """
            CREATE TABLE {schema}.events (
                position        bigint      NOT NULL CHECK (position >= 1),
                stream_id       text        COLLATE "C" NOT NULL,
                stream_version  integer     NOT NULL CHECK (stream_version >= 1),
                event_type      text        NOT NULL,
                schema_version  integer     NOT NULL CHECK (schema_version >= 1),
                payload         text        NOT NULL,
                metadata        text        NOT NULL,
                idempotency_key text        NOT NULL,
                recorded_at     timestamptz NOT NULL,
                prev_hash       text        NOT NULL CHECK (prev_hash ~ '^[0-9a-f]{{64}}$'),
                hash            text        NOT NULL CHECK (hash ~ '^[0-9a-f]{{64}}$'),
                CONSTRAINT events_position_recorded_at_key PRIMARY KEY (position, recorded_at)
            ) PARTITION BY RANGE (recorded_at)
            """,
            "CREATE INDEX events_stream_version ON {schema}.events (stream_id, stream_version)",
            "CREATE INDEX events_recorded_at ON {schema}.events (recorded_at)",
            """
            CREATE TABLE {schema}.event_archives (
                first_position  bigint      PRIMARY KEY CHECK (first_position >= 1),
                last_position   bigint      NOT NULL,
                event_count     bigint      NOT NULL,
                month           text        NOT NULL,
                first_prev_hash text        NOT NULL,
                last_hash       text        NOT NULL,
                file_name       text        NOT NULL,
                sha256          text        NOT NULL,
                archived_at     timestamptz NOT NULL,
                CHECK (last_position >= first_position),
                CHECK (event_count = last_position - first_position + 1)
            )
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
            """
            CREATE TRIGGER event_index_refuse_update_delete
            BEFORE UPDATE OR DELETE ON {schema}.event_index
            FOR EACH ROW EXECUTE FUNCTION {schema}.events_refuse_change()
            """,
            """
            CREATE TRIGGER event_index_refuse_truncate
            BEFORE TRUNCATE ON {schema}.event_index
            FOR EACH STATEMENT EXECUTE FUNCTION {schema}.events_refuse_change()
            """,
            """
            CREATE TRIGGER event_archives_refuse_update_delete
            BEFORE UPDATE OR DELETE ON {schema}.event_archives
            FOR EACH ROW EXECUTE FUNCTION {schema}.events_refuse_change()
            """,
            """
            CREATE TRIGGER event_archives_refuse_truncate
            BEFORE TRUNCATE ON {schema}.event_archives
            FOR EACH STATEMENT EXECUTE FUNCTION {schema}.events_refuse_change()
            """,
            # SECURITY DEFINER: the application role may create next month's partition (and
            # nothing else) without owning anything. A fixed search_path keeps a caller from
            # substituting objects; names are built with format('%I') from the month.
            """
            CREATE FUNCTION {schema}.ensure_partition(p_year integer, p_month integer)
            RETURNS text
            LANGUAGE plpgsql SECURITY DEFINER
            SET search_path = pg_catalog, pg_temp
            SET TimeZone = 'UTC'
            AS $$
            DECLARE
                partition_name text;
                lower_bound timestamptz;
            BEGIN
                IF p_year IS NULL OR p_month IS NULL
                   OR p_year NOT BETWEEN 1 AND 9999 OR p_month NOT BETWEEN 1 AND 12 THEN
                    RAISE EXCEPTION 'no such month: %-%', p_year, p_month
                        USING ERRCODE = '22023';
                END IF;
                partition_name := format(
                    'events_y%sm%s', to_char(p_year, 'FM0000'), to_char(p_month, 'FM00'));
                IF to_regclass(format('%I.%I', '{schema_name}', partition_name)) IS NOT NULL
                THEN
                    RETURN partition_name;
                END IF;
                lower_bound := make_timestamptz(p_year, p_month, 1, 0, 0, 0, 'UTC');
                EXECUTE format(
                    'CREATE TABLE %I.%I PARTITION OF %I.events FOR VALUES FROM (%L) TO (%L)',
                    '{schema_name}', partition_name, '{schema_name}',
                    lower_bound, lower_bound + interval '1 month');
                -- Statement triggers are not cloned onto partitions: without this, TRUNCATE
                -- of the partition itself would go through.
                EXECUTE format(
                    'CREATE TRIGGER events_refuse_truncate BEFORE TRUNCATE ON %I.%I '
                    'FOR EACH STATEMENT EXECUTE FUNCTION %I.events_refuse_change()',
                    '{schema_name}', partition_name, '{schema_name}');
                RETURN partition_name;
            END
            $$
            """,
            "REVOKE ALL ON FUNCTION {schema}.ensure_partition(integer, integer) FROM PUBLIC",
            """
            SELECT {schema}.ensure_partition(months.y, months.m)
            FROM (
                SELECT DISTINCT
                    extract(year FROM recorded_at AT TIME ZONE 'UTC')::integer AS y,
                    extract(month FROM recorded_at AT TIME ZONE 'UTC')::integer AS m
                FROM {schema}.events_v1
            ) AS months
            ORDER BY months.y, months.m
            """,
            """
            INSERT INTO {schema}.event_index
                (position, stream_id, stream_version, idempotency_key, hash, recorded_at)
            SELECT position, stream_id, stream_version, idempotency_key, hash, recorded_at
            FROM {schema}.events_v1 ORDER BY position
            """,
            """
            INSERT INTO {schema}.events
                (position, stream_id, stream_version, event_type, schema_version, payload,
                 metadata, idempotency_key, recorded_at, prev_hash, hash)
            SELECT position, stream_id, stream_version, event_type, schema_version, payload,
                   metadata, idempotency_key, recorded_at, prev_hash, hash
            FROM {schema}.events_v1 ORDER BY position
            """,
            """
            DO $$
            BEGIN
                IF (SELECT count(*) FROM {schema}.events)
                   <> (SELECT count(*) FROM {schema}.events_v1) THEN
                    RAISE EXCEPTION 'copy-migration of the event store lost events';
                END IF;
            END
            $$
            """,
            "DROP TABLE {schema}.events_v1",
            # Roles belong to the cluster: several schemas (deployments, tests) share it, and
            # two migrations may race to create it, which is not an error.
            """
            DO $$
            BEGIN
                IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'quorate_app')
                THEN
                    BEGIN
                        CREATE ROLE quorate_app NOLOGIN;
                    EXCEPTION
                        WHEN duplicate_object OR unique_violation THEN
                            NULL;
                        WHEN insufficient_privilege THEN
                            RAISE WARNING 'cannot create role quorate_app; a DBA must create '
                                'it and grant it SELECT, INSERT on the event store';
                            RETURN;
                    END;
                END IF;
                GRANT USAGE ON SCHEMA {schema} TO quorate_app;
                GRANT SELECT, INSERT ON {schema}.events, {schema}.event_index TO quorate_app;
                GRANT SELECT ON {schema}.event_archives, {schema}.event_store_migrations
                    TO quorate_app;
                GRANT EXECUTE ON FUNCTION {schema}.ensure_partition(integer, integer)
                    TO quorate_app;
            END
            $$
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
    "ensure_partition": "SELECT {schema}.ensure_partition($1, $2)",
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
    "regclass": "SELECT to_regclass($1)::text",
    "partitions": (
        "SELECT c.relname FROM pg_catalog.pg_inherits AS i"
        " JOIN pg_catalog.pg_class AS c ON c.oid = i.inhrelid"
        " WHERE i.inhparent = $1::regclass ORDER BY c.relname"
    ),
    "is_owner": (
        "SELECT pg_catalog.pg_has_role(c.relowner, 'USAGE') FROM pg_catalog.pg_class AS c"
        " WHERE c.oid = $1::regclass"
    ),
    "last_archived": "SELECT coalesce(max(last_position), 0) FROM {schema}.event_archives",
    "indexed_hash": "SELECT hash FROM {schema}.event_index WHERE position = $1",
    "insert_archive": (
        "INSERT INTO {schema}.event_archives (first_position, last_position, event_count,"
        " month, first_prev_hash, last_hash, file_name, sha256, archived_at)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
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
# Statements on one partition, over {schema} and {partition} (a quoted name that matched
# _PARTITION_NAME).
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


class _Queries:
    """The SQL of one schema: each template with ``{schema}`` replaced by the quoted name.

    This is the only place an identifier enters SQL, and it has passed :func:`quote_schema`
    (or, for a partition, :func:`quote_partition`).
    """

    def __init__(self, schema: str) -> None:
        quoted = quote_schema(schema)
        self.quoted_schema = quoted
        self.events_table = f"{quoted}.events"
        """The events table as a ``regclass`` literal (a value, bound as a parameter)."""
        self._sql = {name: sql.format(schema=quoted) for name, sql in _TEMPLATES.items()}
        self.migrations = {
            version: (
                description,
                tuple(s.format(schema=quoted, schema_name=schema) for s in statements),
            )
            for version, (description, statements) in _MIGRATIONS.items()
        }

    def __getitem__(self, name: str) -> str:
        return self._sql[name]

    def partition(self, name: str) -> dict[str, str]:
        """The statements on partition ``name`` (checked by :func:`quote_partition`)."""
        quoted = quote_partition(name)
        return {
            key: sql.format(schema=self.quoted_schema, partition=quoted)
            for key, sql in _PARTITION_TEMPLATES.items()
        }


def quote_schema(schema: str) -> str:
    """``schema`` as a quoted identifier, after a strict check (no quoting tricks possible)."""
    if not _SCHEMA_NAME.fullmatch(schema) or schema.startswith("pg_"):
        raise InvalidSchemaName(schema)
    return '"' + schema + '"'


def quote_partition(name: str) -> str:
    """A monthly partition's name, quoted, after checking it is ``events_yYYYYmMM``."""
    if not _PARTITION_NAME.fullmatch(name):
        raise ValueError(f"not a monthly partition name: {name!r}")
    return '"' + name + '"'


def partition_month(name: str) -> datetime | None:
    """The first instant of the month partition ``name`` holds; ``None`` if not a partition."""
    match = _PARTITION_NAME.fullmatch(name)
    if match is None:
        return None
    return month_start(datetime.fromisoformat(f"{match[1]}-{match[2]}-01T00:00:00+00:00"))


def notify_channel(schema: str) -> str:
    """The LISTEN/NOTIFY channel of ``schema``'s store: ``quorate_events_<schema>``.

    Channel names are identifiers, at most 63 bytes; a long schema name is replaced by a
    digest of it so the channel stays unique per schema and within the limit.
    """
    channel = NOTIFY_PREFIX + schema
    if len(channel) <= 63:
        return channel
    return NOTIFY_PREFIX + hashlib.sha256(schema.encode("utf-8")).hexdigest()[:32]


class PostgresEventStore(EventStore):
    """The event store in one PostgreSQL schema. Use :meth:`open`."""

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
        self._sql = _Queries(schema)
        # Kept only to open the listener connection; never shown (it may hold a password).
        self._dsn = dsn
        # Months whose partition this store has seen exist: appends skip the function call.
        self._partitions: set[tuple[int, int]] = set(partitions or ())
        self._listener: Any = None
        self._listener_lock = asyncio.Lock()
        self._notified_position = 0
        self._wakeup = asyncio.Event()

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
        queries = _Queries(schema)
        pool = await asyncpg.create_pool(
            dsn,
            min_size=min_size,
            max_size=max_size,
            server_settings={"application_name": "quorate-event-store"},
        )
        try:
            async with pool.acquire() as connection:
                await migrate(connection, schema)
                partitions = await _create_partitions_ahead(connection, schema, queries)
        except BaseException:
            await pool.close()
            raise
        url = display_url(dsn)
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
            existing: dict[str, StoredEvent] = {}
            archived: dict[str, int] = {}
            for row in await connection.fetch(sql["by_keys"], keys):
                if row["position"] is None:
                    archived[str(row["indexed_key"])] = int(row["indexed_position"])
                else:
                    stored = decode_event(dict(row))
                    existing[stored.idempotency_key] = stored
            rows = await connection.fetch(sql["stream_versions"], streams_to_read(events, expected))
            stream_versions = {
                str(row["stream_id"]): int(row["version"])
                for row in rows
                if row["version"] is not None
            }
            head_row = await connection.fetchrow(sql["head_link"])
            head = (
                Head(int(head_row["position"]), str(head_row["hash"]), head_row["recorded_at"])
                if head_row is not None
                else None
            )
            plan = plan_append(
                events,
                head=head,
                stream_versions=stream_versions,
                existing=existing,
                archived=archived,
                expected_versions=expected,
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
            last_archived = int(await connection.fetchval(sql["last_archived"]))
            if first != last_archived + 1:
                # Archives must be a prefix of the log, or the live chain gets a hole.
                raise ArchiveError(
                    f"cannot archive {month:%Y-%m}: it starts at position {first}, but the "
                    f"log's oldest unarchived position is {last_archived + 1}"
                )
            prev_hash = await self._indexed_hash(connection, first - 1)
            writer = ArchiveWriter(
                export_dir, month, first_position=first, prev_hash=prev_hash, source=self.url
            )
            try:
                async for row in connection.cursor(partition["rows"], prefetch=ARCHIVE_FETCH_SIZE):
                    writer.add(decode_event(dict(row)))
                if await self._indexed_hash(connection, writer.last_position) != writer.last_hash:
                    raise ArchiveError(
                        f"event {writer.last_position} does not match the event index; "
                        "run `quorate audit verify`"
                    )
                manifest = await asyncio.to_thread(writer.finish, self._clock())
            except BaseException:
                writer.abort()
                raise
            await connection.execute(
                sql["insert_archive"],
                manifest.first_position,
                manifest.last_position,
                manifest.count,
                manifest.month,
                manifest.first_prev_hash,
                manifest.last_hash,
                manifest.file,
                manifest.sha256,
                manifest.archived_at,
            )
            await connection.execute(partition["detach"])
            await connection.execute(partition["drop"])
        return writer.path

    async def _indexed_hash(self, connection: Any, position: int) -> str:
        """The hash of the event at ``position`` per the index; genesis for position 0."""
        if position == 0:
            return GENESIS_HASH
        value = await connection.fetchval(self._sql["indexed_hash"], position)
        if value is None:
            raise ArchiveError(f"position {position} is missing from the event index")
        return str(value)

    # -- lifecycle --------------------------------------------------------------------------

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        listener, self._listener = self._listener, None
        if listener is not None:
            with contextlib.suppress(OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
                await listener.close()
        if pool is not None:
            await pool.close()


async def migrate(connection: Any, schema: str, *, target_version: int = SCHEMA_VERSION) -> None:
    """Bring ``schema`` to ``target_version`` (default: the latest), recording each step.

    A store already at the target is only read (no DDL, no lock), so the application role,
    which may not create anything, can open a migrated store. Otherwise the advisory lock
    is the appends' lock: two processes starting together do not both run a migration,
    and no append runs against a half-migrated schema. ``target_version`` below
    :data:`SCHEMA_VERSION` exists for tests that build an older store to migrate.
    """
    if not 1 <= target_version <= SCHEMA_VERSION:
        raise ValueError(f"target_version must be in 1..{SCHEMA_VERSION}, got {target_version}")
    sql = _Queries(schema)
    if await connection.fetchval(sql["regclass"], f"{sql.quoted_schema}.event_store_migrations"):
        current = int(await connection.fetchval(sql["migrated_version"]))
        _check_not_newer(current)
        if current >= target_version:
            return
    async with connection.transaction():
        await connection.execute(sql["lock"], LOCK_CLASS, schema)
        await connection.execute(sql["create_schema"])
        await connection.execute(sql["create_migrations"])
        current = int(await connection.fetchval(sql["migrated_version"]))
        _check_not_newer(current)
        for version in range(current + 1, target_version + 1):
            description, statements = sql.migrations[version]
            for statement in statements:
                await connection.execute(statement)
            await connection.execute(sql["record_migration"], version, description)


def _check_not_newer(current: int) -> None:
    if current > SCHEMA_VERSION:
        raise EventStoreError(
            f"event store schema version {current} is newer than this code "
            f"({SCHEMA_VERSION}); upgrade Quorate"
        )


async def _create_partitions_ahead(
    connection: Any, schema: str, sql: _Queries
) -> set[tuple[int, int]]:
    """Create this month's and next month's partitions (wall clock) if they are missing.

    Ahead of time so the first append of a month rarely pays for creating its partition.
    A role that may not create partitions (a read-only auditor) skips this quietly.
    """
    this_month = month_start(utc_now())
    months = [(m.year, m.month) for m in (this_month, next_month(this_month))]
    try:
        async with connection.transaction():
            await connection.execute(sql["lock"], LOCK_CLASS, schema)
            for year, month in months:
                await connection.fetchval(sql["ensure_partition"], year, month)
    except asyncpg.InsufficientPrivilegeError:
        return set()
    return set(months)


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
